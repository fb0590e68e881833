#!/bin/sh
# bench/redact.sh — the cost of redaction on ingest: the same lines into serve with the
# default rules and into serve --no-redact, in the same run, alternating (best of ROUNDS
# each). The lines: tests/corpus/redact/ordinary.txt cycled, with a line of secrets.txt every
# 100 lines (1%). N lines (default 300000). Prints the table row and the ratio (bar: >= 0.9).
# Also prints the scanner alone: `elog redact --test` over the same lines.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/elog}
N=${N:-300000}
ROUNDS=${ROUNDS:-3}
B=$(mktemp -d /tmp/elog-bench-redact.XXXXXX)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }

python3 - "$top/tests/corpus/redact" "$N" "$B/lines" <<'PY'
import sys
d, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ordl = [l for l in open(d + "/ordinary.txt", encoding="utf-8").read().split("\n") if l and not l[0].isspace()]
sec = [l for l in open(d + "/secrets.txt", encoding="utf-8").read().split("\n") if l.startswith(("config", "GET", "jwt", "using", "paid", "AWS"))]
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        f.write((sec[(i // 100) % len(sec)] if i % 100 == 50 else ordl[i % len(ordl)]) + "\n")
PY
bytes=$(wc -c <"$B/lines")

start_serve() {
	rm -f "$B/ready" "$B/h.db" "$B/h.db-wal" "$B/h.db-shm"
	"$ELOG" serve --listen 127.0.0.1:0 --db "$B/h.db" --ready-file "$B/ready" -q "$@" 2>/dev/null &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	export ELOG_SERVER=$(head -1 "$B/ready")
}
run() {   # run ARGS...: seconds to ingest the lines with serve ARGS
	start_serve "$@"
	t0=$(now); "$ELOG" send -c bench --multiline none <"$B/lines" || echo "send failed" >&2
	t1=$(now)
	# serve's CPU time (user + system, clock ticks): less noisy than the wall clock on a
	# shared machine
	awk '{print $14 + $15}' /proc/$SERVE_PID/stat >"$B/cpu"
	kill $SERVE_PID; wait $SERVE_PID 2>/dev/null; SERVE_PID=
	secs $t0 $t1
}
best_on=999999; best_off=999999
r=0
while [ $r -lt "$ROUNDS" ]; do
	off=$(run --no-redact); cpu_off=$(cat "$B/cpu"); on=$(run); cpu_on=$(cat "$B/cpu")
	echo "# round $((r + 1)): redaction on $(printf %.2f $on) s (serve CPU $cpu_on ticks), --no-redact $(printf %.2f $off) s (serve CPU $cpu_off ticks)" >&2
	[ "$(echo "$on < $best_on" | bc -l)" = 1 ] && best_on=$on
	[ "$(echo "$off < $best_off" | bc -l)" = 1 ] && best_off=$off
	r=$((r + 1))
done
ratio=$(echo "$best_off / $best_on" | bc -l)
t0=$(now); "$ELOG" redact --test <"$B/lines" >/dev/null; t1=$(now)
scan=$(secs $t0 $t1)
printf '| ingest %s lines (1%% secrets), default rules vs --no-redact (s, best of %s) | %.2f (%.0f records/s) | %.2f (%.0f records/s) | %.2fx |\n' \
	"$N" "$ROUNDS" "$best_on" "$(echo "$N / $best_on" | bc -l)" "$best_off" "$(echo "$N / $best_off" | bc -l)" "$ratio"
printf '| elog redact --test over the same %s lines (%.1f MB), one thread | %.2f s (%.0f lines/s, %.0f MB/s) | - | - |\n' \
	"$N" "$(echo "$bytes / 1000000" | bc -l)" "$scan" "$(echo "$N / $scan" | bc -l)" "$(echo "$bytes / $scan / 1000000" | bc -l)"
ok=$(echo "$ratio >= 0.9" | bc -l)
[ "$ok" = 1 ] && echo "# bar >= 0.9x: holds" >&2 || echo "# bar >= 0.9x: DOES NOT HOLD" >&2
