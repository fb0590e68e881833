#!/bin/sh
# serve --cluster on a 3-node nats-server JetStream cluster on 127.0.0.1 (tests/nats/cluster.sh):
#   - records/s of one box into the stream, and into the aggregator's history, next to the
#     same box's local ingest without --cluster (the reference, same data, same run), and the
#     stream's next to libnats alone publishing as many messages with the same headers
#     (bench/nats_publish.c: the NATS servers' ceiling on this machine, same run);
#   - end-to-end latency, `elog send` on the box -> `elog logs -f` on the aggregator
#     (bench/latency.c at LAT_RATE lines/s for LAT_SECONDS).
# Usage: sh bench/cluster.sh [ELOG]   (CLUSTER_N records, default 200000). Bounded loops only.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${1:-${ELOG:-$top/elog}}
M=${CLUSTER_N:-200000}
RATE=${LAT_RATE:-2000}; LSECS=${LAT_SECONDS:-15}
T=$(mktemp -d /tmp/elog-bench-cluster.XXXXXX)
PY=/usr/bin/python3
BG_PIDS=""
PIDS=""
trap 'for p in $PIDS $BG_PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$T"' EXIT
fail() { echo "bench/cluster.sh: $*" >&2; return 1; }
wait_for() {   # DESC SECONDS CMD...
	d=$1 s=$2; shift 2; i=0
	while ! "$@" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge $((s * 20)) ] && { fail "timed out waiting for $d"; return 1; }
		sleep 0.05
	done
}
. "$top/tests/nats/cluster.sh"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
row() { printf '| %-52s | %-40s | %-30s |\n' "$1" "$2" "$3"; }

serve() {   # NAME ARGS...: SRV
	nm=$1; shift
	rm -f "$T/$nm.ready"
	"$ELOG" serve --listen 127.0.0.1:0 --db "$T/$nm.db" --ready-file "$T/$nm.ready" -q "$@" \
		2>"$T/$nm.err" &
	PIDS="$PIDS $!"
	wait_for "serve $nm" 30 test -s "$T/$nm.ready" || exit 1
	SRV=$(head -1 "$T/$nm.ready")
}
stream_ge() { [ "$(nats_stream_msgs ELOG 2>/dev/null || echo 0)" -ge "$1" ]; }
# records a history holds, hot or sealed (elog ps --disk --db)
count() { "$ELOG" ps --disk --db "$T/$1.db" --json 2>/dev/null | sed -n 's/.*"records":\([0-9]*\).*/\1/p'; }
db_ge() { [ "$(count "$1")" -ge "$2" ]; }

python3 "$top/bench/gen.py" "$M" "$T/data" >/dev/null
nats_cluster_start || exit 1
echo "| benchmark ($M JSON lines of ~120 bytes) | serve --cluster | reference |"
echo "|---|---|---|"

serve ref
t0=$(now); "$ELOG" send --server "$SRV" -c bench <"$T/data.jsonl" || exit 1; t1=$(now)
ref=$(secs "$t0" "$t1")

serve box --cluster "$NATS_URLS" --node box
BOX=$SRV
serve agg --cluster "$NATS_URLS" --node agg --aggregate
AGG=$SRV
t0=$(now); "$ELOG" send --server "$BOX" -c bench <"$T/data.jsonl" || exit 1; t1=$(now)
wait_for "the stream" 600 stream_ge "$M"; t2=$(now)
wait_for "the aggregator" 600 db_ge agg "$M"; t3=$(now)
row "local ingest on the box (committed)" \
	"$(printf '%.2f s, %.0f records/s' "$(secs "$t0" "$t1")" "$(echo "$M / $(secs "$t0" "$t1")" | bc -l)")" \
	"$(printf 'no --cluster: %.2f s, %.0f records/s' "$ref" "$(echo "$M / $ref" | bc -l)")"
# the reference: the NATS servers' own ceiling, libnats alone publishing as many messages
# with elog's headers (bench/nats_publish.c, a stream of its own on the same cluster)
cc -O2 -o "$T/nats_publish" "$top/bench/nats_publish.c" -lnats || exit 1
set -- $("$T/nats_publish" "$NATS_URLS" CEIL "$M" 2048 300) || exit 1
row "into the stream (R3, acknowledged)" \
	"$(printf '%.2f s, %.0f records/s' "$(secs "$t0" "$t2")" "$(echo "$M / $(secs "$t0" "$t2")" | bc -l)")" \
	"$(printf 'libnats alone, no elog: %.2f s, %.0f msgs/s' "$1" "$2")"
row "into the aggregator's history (committed)" \
	"$(printf '%.2f s, %.0f records/s' "$(secs "$t0" "$t3")" "$(echo "$M / $(secs "$t0" "$t3")" | bc -l)")" "-"

cc -O2 -o "$T/latency" "$top/bench/latency.c" -lpthread || exit 1
mkfifo "$T/to_send" "$T/from_logs"
"$ELOG" logs --server "$AGG" -f -n 0 -c latency --no-prefix --color=never >"$T/from_logs" &
BG_PIDS="$BG_PIDS $!"
"$ELOG" send --server "$BOX" -c latency <"$T/to_send" &
BG_PIDS="$BG_PIDS $!"
res=$("$T/latency" "$RATE" "$LSECS" 3>"$T/to_send" 4<"$T/from_logs")
row "send on the box -> logs -f on the aggregator" "$res" "-"
