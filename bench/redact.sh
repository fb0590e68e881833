#!/bin/sh
# bench/redact.sh — the cost of redaction on ingest: the same lines into serve with the
# default rules and into serve --no-redact, in the same run. The lines:
# tests/corpus/redact/ordinary.txt cycled, with a line of secrets.txt every 100 lines (1%).
#   ELOG_BENCH_N (or N)   lines a run (default 200000)
#   FORMAT=json           send JSON lines instead: {"msg": LINE, "user_id", "role", "seq"},
#                         i.e. records with a message and fields (the joint scan)
#   ROUNDS                rounds (default 5); a round runs both, in alternating order
#                         (off, on / on, off, ...) so that a drift of the machine's load
#                         falls on both sides alike
# For each run: the wall time of `elog send` and serve's CPU time (user + system, clock
# ticks, from /proc: on a shared machine less noisy than the wall clock, and what redaction
# adds to). Prints each round, then best and median of each, the distribution of the
# per-round ratios, and the bar (>= 0.9x, on the best and on the median ratio). Also prints
# the scanner alone: `elog redact --test` over the same lines.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/elog}
N=${ELOG_BENCH_N:-${N:-200000}}
ROUNDS=${ROUNDS:-5}
B=$(mktemp -d /tmp/elog-bench-redact.XXXXXX)
SERVE_PID=
trap '[ -n "$SERVE_PID" ] && kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT
now() { date +%s.%N; }

FORMAT=${FORMAT:-text}
python3 - "$top/tests/corpus/redact" "$N" "$B/lines" "$FORMAT" <<'PY'
import json, sys
d, n, out, fmt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ordl = [l for l in open(d + "/ordinary.txt", encoding="utf-8").read().split("\n") if l and not l[0].isspace()]
sec = [l for l in open(d + "/secrets.txt", encoding="utf-8").read().split("\n") if l.startswith(("config", "GET", "jwt", "using", "paid", "AWS"))]
with open(out, "w", encoding="utf-8") as f:
    for i in range(n):
        line = sec[(i // 100) % len(sec)] if i % 100 == 50 else ordl[i % len(ordl)]
        if fmt == "json":
            line = json.dumps({"msg": line, "user_id": "u%d" % (i % 97), "role": "user", "seq": i})
        f.write(line + "\n")
PY
bytes=$(wc -c <"$B/lines")

start_serve() {
	rm -f "$B/ready" "$B/h.db" "$B/h.db-wal" "$B/h.db-shm"
	rm -rf "$B/sessions"
	"$ELOG" serve --listen 127.0.0.1:0 --db "$B/h.db" --ready-file "$B/ready" --http none \
		-q "$@" 2>/dev/null &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	ELOG_SERVER=$(head -1 "$B/ready")
	export ELOG_SERVER
}
# run MODE (on|off): appends "MODE seconds serve-ticks" to $B/runs
run() {
	if [ "$1" = off ]; then start_serve --no-redact; else start_serve; fi
	c0=$(awk '{print $14 + $15}' /proc/$SERVE_PID/stat)
	t0=$(now)
	"$ELOG" send -c bench --multiline none <"$B/lines" || echo "send failed" >&2
	t1=$(now)
	c1=$(awk '{print $14 + $15}' /proc/$SERVE_PID/stat)
	kill $SERVE_PID; wait $SERVE_PID 2>/dev/null; SERVE_PID=
	echo "$1 $(echo "$t1 - $t0" | bc -l) $((c1 - c0))" >>"$B/runs"
}
: >"$B/runs"
r=1
while [ $r -le "$ROUNDS" ]; do
	if [ $((r % 2)) = 1 ]; then run off; run on; else run on; run off; fi
	on=$(grep '^on ' "$B/runs" | tail -1); off=$(grep '^off ' "$B/runs" | tail -1)
	echo "# round $r ($(uptime | sed 's/.*load average: //;s/,.*//') load): redaction on $(echo "$on" | awk '{printf "%.2f s, serve CPU %d ticks", $2, $3}'); --no-redact $(echo "$off" | awk '{printf "%.2f s, serve CPU %d ticks", $2, $3}')" >&2
	r=$((r + 1))
done
t0=$(now); "$ELOG" redact --test <"$B/lines" >/dev/null; t1=$(now)
scan=$(echo "$t1 - $t0" | bc -l)

# the figures: best and median of each side; the per-round ratios (off / on: >= 0.9 is the bar)
awk -v n="$N" -v fmt="$FORMAT" -v rounds="$ROUNDS" -v scan="$scan" -v bytes="$bytes" '
function sort(a, k,   i, j, t) { for (i = 2; i <= k; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t } }
function med(a, k) { sort(a, k); return k % 2 ? a[(k+1)/2] : (a[k/2] + a[k/2+1]) / 2 }
$1 == "on"  { non++; won[non] = $2; con[non] = $3 }
$1 == "off" { noff++; woff[noff] = $2; coff[noff] = $3 }
END {
	for (i = 1; i <= non; i++) { rw[i] = woff[i] / won[i]; rc[i] = con[i] ? coff[i] / con[i] : 0; w1[i] = won[i]; w2[i] = woff[i]; c1[i] = con[i]; c2[i] = coff[i] }
	mon = med(w1, non); moff = med(w2, noff); bon = w1[1]; boff = w2[1]
	mcon = med(c1, non); mcoff = med(c2, noff); bcon = c1[1]; bcoff = c2[1]
	mrw = med(rw, non); mrc = med(rc, non)
	printf "| ingest %d %s lines (1%% secrets), default rules vs --no-redact, %d rounds: wall s, best / median | %.2f / %.2f (%.0f records/s best) | %.2f / %.2f (%.0f records/s best) | best %.2fx, median %.2fx |\n", n, fmt, rounds, bon, mon, n / bon, boff, moff, n / boff, boff / bon, moff / mon
	printf "| per-round wall ratio (--no-redact / default), min / median / max | - | - | %.2fx / %.2fx / %.2fx |\n", rw[1], mrw, rw[non]
	printf "| serve CPU (ticks of 10 ms), best / median | %d / %d (%.1f us a record, median) | %d / %d (%.1f us a record, median) | best %.2fx, median %.2fx |\n", bcon, mcon, mcon * 10000 / n, bcoff, mcoff, mcoff * 10000 / n, bcoff / bcon, mcoff / mcon
	printf "| per-round serve CPU ratio (--no-redact / default), min / median / max | - | - | %.2fx / %.2fx / %.2fx |\n", rc[1], mrc, rc[non]
	printf "| elog redact --test over the same %d lines (%.1f MB), one thread | %.2f s (%.0f lines/s, %.0f MB/s) | - | - |\n", n, bytes / 1e6, scan, n / scan, bytes / scan / 1e6
	bar = boff / bon >= 0.9 && moff / mon >= 0.9
	printf "# bar >= 0.9x (wall, best and median): %s; serve CPU cost of redaction (median): %+.0f%%\n", bar ? "holds" : "DOES NOT HOLD", (mcon / mcoff - 1) * 100 > "/dev/stderr"
}' "$B/runs"
