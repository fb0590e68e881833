#!/bin/bash
# bench/ingest.sh — issue 17's ingest bar alone (bench/history.sh step 1 without the 10M
# phases), with where the CPU goes: N bench lines (bench/hgen.c) through `elog send` into a
# fresh `elog serve --retain-size 0`, timed until send exits (every record acknowledged, so
# committed), next to rsyslogd (imptcp on a loopback port -> omfile, timed until the file holds
# every line) in the same invocation, ROUNDS alternating rounds of each (a shared machine's load
# comes in bursts: the best and the median are printed). ELOG_BENCH_BASE=<elog binary of the code
# before a change> adds its rounds, alternating with the others.
# Per elog round: lines/s, serve's CPU (utime + stime from /proc), its busiest thread's CPU (the
# writer) and that thread's share of serve's, send's CPU (user + sys).
# Environment: ELOG (default build/elog, a release build), ELOG_BENCH_N (default 1M; k, M
# suffixes), ELOG_BENCH_ROUNDS (default 3), ELOG_BENCH_BASE, RSYSLOGD, TMPDIR.
# Loopback only; every wait is bounded; the temp dir is removed at exit.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/build/elog}
BASE=${ELOG_BENCH_BASE:-}
RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
ROUNDS=${ELOG_BENCH_ROUNDS:-3}
count() { case $1 in *[kK]) echo $(( ${1%?} * 1000 )) ;; *[mM]) echo $(( ${1%?} * 1000000 )) ;; *) echo $(( $1 )) ;; esac; }
N=$(count "${ELOG_BENCH_N:-1M}")
[ -x "$ELOG" ] || { echo "no elog binary at '$ELOG' (make -j2 elog first)" >&2; exit 2; }
B=$(mktemp -d "${TMPDIR:-/tmp}/elog-ibench.XXXXXX")
SERVE_PID= RS_PID=
cleanup() {
	[ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null
	[ -n "$RS_PID" ] && kill "$RS_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$B"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
TCK=$(getconf CLK_TCK)
cpu_of() { awk -v t="$TCK" '{ print ($14 + $15) / t }' "$1" 2>/dev/null || echo 0; }

cc -O2 -o "$B/hgen" "$top/bench/hgen.c" || exit 1
"$B/hgen" 0 "$N" "" 0 >"$B/lines.jsonl"

# elog_round BIN LABEL: one send into a fresh serve; prints "label rate serve_cpu writer_cpu send_cpu"
elog_round() {
	local bin=$1 label=$2 i t0 t1 c0 c1 wmax sc
	rm -rf "$B/h" && mkdir -p "$B/h"
	"$bin" serve --listen 127.0.0.1:0 --http none --db "$B/h/h.db" --ready-file "$B/h/ready" -q \
		--retain-size 0 2>>"$B/serve.err" &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/h/ready" ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
	[ -s "$B/h/ready" ] || { echo "serve ($bin) did not start" >&2; exit 1; }
	c0=$(cpu_of "/proc/$SERVE_PID/stat")
	t0=$EPOCHREALTIME
	/usr/bin/time -o "$B/time" -f "%U %S" env ELOG_SERVER="$(head -1 "$B/h/ready")" "$bin" send \
		<"$B/lines.jsonl" >/dev/null 2>"$B/send.err"
	sc=$(tail -1 "$B/time")
	t1=$EPOCHREALTIME
	c1=$(cpu_of "/proc/$SERVE_PID/stat")
	wmax=0
	for f in /proc/"$SERVE_PID"/task/*/stat; do
		wmax=$(calc %.2f "($(cpu_of "$f") > $wmax) ? $(cpu_of "$f") : $wmax")
	done
	kill "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
	echo "$label $(calc %.0f "$N / ($t1 - $t0)") $(calc %.2f "$c1 - $c0") $wmax $(echo "$sc" | awk '{ printf "%.2f", $1 + $2 }')"
}

rsyslog_round() {
	local port i t0
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	rm -rf "$B/rs" && mkdir -p "$B/rs"
	cat >"$B/rs/rsyslog.conf" <<EOF
global(workDirectory="$B/rs" maxMessageSize="64k")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$B/rs/flat.log" template="raw") }
input(type="imptcp" address="127.0.0.1" port="$port" ruleset="bench")
EOF
	"$RSYSLOGD" -n -f "$B/rs/rsyslog.conf" -i "$B/rs/pid" 2>"$B/rs/err" &
	RS_PID=$!
	i=0
	until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge 300 ] && { echo "rsyslogd did not start: $(cat "$B/rs/err")" >&2; exit 1; }
		sleep 0.1
	done
	t0=$EPOCHREALTIME
	python3 "$top/bench/tcp_send.py" "$port" "$B/lines.jsonl"
	i=0
	while [ "$(wc -l <"$B/rs/flat.log" 2>/dev/null || echo 0)" -lt "$N" ] && [ $i -lt 30000 ]; do
		sleep 0.01; i=$((i + 1))
	done
	echo "rsyslog $(calc %.0f "$N / ($EPOCHREALTIME - $t0)") - - -"
	kill "$RS_PID"; wait "$RS_PID" 2>/dev/null; RS_PID=
}

echo "# ingest of $N JSON lines (bench/hgen.c), $ROUNDS rounds; $(date -u '+%F %H:%M UTC'); load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 0; r < ROUNDS; r++)); do
	elog_round "$ELOG" elog
	[ -n "$BASE" ] && elog_round "$BASE" base
	[ -x "$RSYSLOGD" ] && rsyslog_round
done >"$B/rounds"
echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
sed 's/^/#   /' "$B/rounds"
echo
echo "| run | lines/s best | lines/s median | serve CPU s (median) | writer CPU s (median) | writer share | send CPU s (median) |"
echo "|---|---|---|---|---|---|---|"
for label in elog base rsyslog; do
	grep -q "^$label " "$B/rounds" || continue
	med() { grep "^$label " "$B/rounds" | awk -v c="$1" '{ print $c }' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
	best=$(grep "^$label " "$B/rounds" | awk '{ print $2 }' | sort -g | tail -1)
	if [ "$label" = rsyslog ]; then
		echo "| rsyslogd imptcp -> omfile | $best | $(med 2) | - | - | - | - |"
	else
		echo "| $label | $best | $(med 2) | $(med 3) | $(med 4) | $(calc %.0f%% "100 * $(med 4) / $(med 3)") | $(med 5) |"
	fi
done
if grep -q "^rsyslog " "$B/rounds"; then
	eb=$(grep "^elog " "$B/rounds" | awk '{ print $2 }' | sort -g | tail -1)
	rb=$(grep "^rsyslog " "$B/rounds" | awk '{ print $2 }' | sort -g | tail -1)
	echo
	echo "ingest bar (best elog / best rsyslogd, >= 1.0): $(calc %.2f "$eb / $rb")x"
fi
