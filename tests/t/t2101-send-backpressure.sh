#!/bin/sh
# While serve is away, `elog send` reads into its 64 MiB buffer and then stops reading: the
# producer waits in write(2) on its pipe (it is not killed), and once serve is back every line
# is stored once and the producer ends normally. `elog tail` stamps a line with the time it
# read it, not the time serve got it.
. "$(dirname "$0")/lib.sh"

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR="127.0.0.1:$port"
export ELOG_SERVER="$ADDR"
serve_up() {
	rm -f "$T/s$1.ready"
	"$ELOG_BIN" serve --listen "$ADDR" --db "$T/h.db" --ready-file "$T/s$1.ready" 2>>"$T/serve.err" &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve $1 ready" 30 test -s "$T/s$1.ready" || fatal "serve: $(cat "$T/serve.err")"
}
# the records of component $1 as JSON Lines, read from the file (sealed or not: the hot table
# alone misses what serve has already packed into blocks)
recs() { "$ELOG_BIN" export --json --db "$T/h.db" -c "$1" 2>/dev/null; }
count() { recs "$1" | wc -l; }
distinct_msgs() { recs "$1" | $PY -c 'import json, sys; print(len({json.loads(l)["msg"] for l in sys.stdin}))'; }
has_n() { [ "$(count "$1")" = "$2" ]; }

# 12000 lines of 8000 bytes (96 MB) against a 64 MiB buffer (8000 + 64 bytes a line counted:
# about 8300 lines fit). The producer writes its pid to $T/bp.pid and, every 100 lines, the
# count written so far to $T/bp.n.
cat >"$T/producer.py" <<'EOF'
import os, sys
d = sys.argv[1]
open(os.path.join(d, "bp.pid"), "w").write(str(os.getpid()))
pad = "x" * 7980
for i in range(1, 12001):
    sys.stdout.write("bp %05d %s\n" % (i, pad))
    if i % 100 == 0:
        sys.stdout.flush()
        with open(os.path.join(d, "bp.n.tmp"), "w") as f:
            f.write(str(i))
        os.replace(os.path.join(d, "bp.n.tmp"), os.path.join(d, "bp.n"))
sys.stdout.flush()
EOF
# blocked_in_write: the producer is asleep in write(2) (syscall 1 on x86-64, 64 on arm64).
blocked_in_write() {
	pid=$(cat "$T/bp.pid")
	sc=$(cut -d' ' -f1 "/proc/$pid/syscall" 2>/dev/null)
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
	{ [ "$sc" = 1 ] || [ "$sc" = 64 ]; } && [ "$st" = S ]
}
n_written() { cat "$T/bp.n" 2>/dev/null || echo 0; }
# stalled: blocked in write with the same count for 30 looks in a row (3 s of wait_for's polls)
STALL_K=0
stalled() {
	a=$(n_written)
	if blocked_in_write && [ "$a" = "${LAST_N:-}" ]; then
		STALL_K=$((STALL_K + 1))
	else
		STALL_K=0
	fi
	LAST_N=$a
	[ "$STALL_K" -ge 30 ]
}

serve_up 1
say "serve away: send stops reading once its 64 MiB buffer is full, the producer waits (not killed)"
stop_serve
( { $PY "$T/producer.py" "$T"; echo $? >"$T/bp.prc"; } |
	"$ELOG_BIN" send -c bp 2>"$T/bp.err"; echo $? >"$T/bp.src" ) &
BG_PIDS="$BG_PIDS $!"
wait_for "the producer to block in write" 120 stalled
n=$(n_written)
echo "# producer blocked after $n of 12000 lines"
[ "$n" -lt 12000 ] || fail "the producer wrote everything while serve was away"
[ "$n" -ge 7000 ] || fail "send stopped reading after $n lines, before its 64 MiB buffer was full"
[ "$n" -le 10000 ] || fail "send read $n lines (over 64 MiB) while serve was away"
[ ! -s "$T/bp.prc" ] || fail "the producer ended: $(cat "$T/bp.prc")"
[ ! -s "$T/bp.src" ] || fail "send ended: $(cat "$T/bp.src"): $(cat "$T/bp.err")"
serve_up 2
wait_for "send to end" 240 test -s "$T/bp.src"
[ "$(cat "$T/bp.src")" = 0 ] || fail "send exited $(cat "$T/bp.src"): $(cat "$T/bp.err")"
[ "$(cat "$T/bp.prc" 2>/dev/null)" = 0 ] || fail "producer exited $(cat "$T/bp.prc" 2>/dev/null)"
[ "$(count bp)" = 12000 ] || fail "$(count bp) records stored, expected 12000"
[ "$(distinct_msgs bp)" = 12000 ] || fail "$(distinct_msgs bp) distinct lines, expected 12000"

say "tail: a line written while serve is away keeps the time tail read it"
: >"$T/app.log"
"$ELOG_BIN" tail --state "$T/tail.db" --ready-file "$T/tail.ready" "$T/app.log" 2>"$T/tail.err" &
TP=$!
BG_PIDS="$BG_PIDS $TP"
wait_for "tail ready" 30 test -s "$T/tail.ready"
echo "first" >>"$T/app.log"
wait_for "first line stored" 30 has_n app 1
stop_serve
wait_for "tail to notice the outage" 30 grep -q "until it is back" "$T/tail.err"
written_at=$(date +%s%N)
echo "during the outage" >>"$T/app.log"
# The outage lasts 3 s: that is the scenario (a line read long before it can be delivered),
# not a wait for tail. Tail reads and stamps the line within its poll and quiet times (0.2 s
# each; 0.4 s was seen on a loaded machine), so the stamp falls inside the outage.
sleep 3
restart_at=$(date +%s%N)
serve_up 3
wait_for "the outage line stored" 60 has_n app 2
ts=$(recs app | $PY -c '
import datetime, json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["msg"] == "during the outage":
        t = r["ts"].rstrip("Z")
        base, _, frac = t.partition(".")
        s = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
        print(int(s.timestamp()) * 1000000000 + int((frac + "000000000")[:9]))')
[ -n "$ts" ] && [ "$ts" -ge "$written_at" ] && [ "$ts" -lt "$restart_at" ] ||
	fail "stored ts '$ts' is not the read time (written $written_at, restart $restart_at)"
kill "$TP" 2>/dev/null
wait "$TP" 2>/dev/null
stop_serve
