#!/bin/sh
# Follow latency and serve's CPU with 1 and with many followers, elog next to a reference build,
# runs alternating (issue 17: p99 <= 5 ms with one follower, <= 10 ms with 50).
# Usage: REF=/path/to/other/elog sh bench/fanout.sh [ELOG]
#   env: FOLLOWERS="1 50", ROUNDS=2, RATE=10000, LAT_SECONDS=10
# Each run: a fresh `serve --http none` on a loopback port, bench/latency.c's sender at RATE
# lines/s for LAT_SECONDS and K `elog logs -f -n 0` followers; prints one row per run with the
# load average at its start, serve's CPU (user + system, from /proc), the CPU of the clients
# (send, the followers and the generator, from time(1)), serve's transactions, and latency.
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${1:-$top/build/elog}
REF=${REF:-}
FOLLOWERS=${FOLLOWERS:-"1 50"}
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-10000}
SECS=${LAT_SECONDS:-10}
B=$(mktemp -d /tmp/elog-fanout.XXXXXX)
trap 'rm -rf "$B"' EXIT
cc -O2 -o "$B/latency" "$top/bench/latency.c" -lpthread || exit 1

# one BIN K: prints a table row
one() {
	bin=$1; k=$2; d="$B/run"
	rm -rf "$d"; mkdir -p "$d"
	"$bin" serve --listen 127.0.0.1:0 --http none --db "$d/db" --ready-file "$d/R" 2>"$d/serve.err" &
	sp=$!
	i=0
	while [ ! -s "$d/R" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
	load=$(cut -d' ' -f1 /proc/loadavg)
	res=$(ELOG_SERVER=$(head -1 "$d/R") /usr/bin/time -f 'CLIENTS %U %S' -o "$d/time" \
		"$B/latency" "$RATE" "$SECS" "$k" "$bin" "$d" 2>/dev/null)
	cpu=$(awk '{printf "%.1f", ($14 + $15) / 100}' "/proc/$sp/stat")
	kill "$sp"; wait "$sp"
	cl=$(awk '/CLIENTS/ {printf "%.1f", $2 + $3}' "$d/time")
	tx=$(sed -n 's/.* in \([0-9]*\) transactions.*/\1/p' "$d/serve.err")
	printf '| %s | %s | %s | %s s | %s s | %s | %s |\n' "$3" "$k" "$load" "$cpu" "$cl" "$tx" \
		"${res#*: }"
}

echo "| build | followers | load | serve CPU | clients CPU | transactions | latency over every line every follower got |"
echo "|---|---|---|---|---|---|---|"
for k in $FOLLOWERS; do
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		[ -n "$REF" ] && one "$REF" "$k" ref
		one "$ELOG" "$k" elog
		r=$((r + 1))
	done
done
