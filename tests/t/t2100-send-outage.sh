#!/bin/sh
# `some-program | elog send` while serve stops and restarts on the same port: send keeps every
# line until acknowledged, reconnects, stores each line once, never kills the producer and
# exits 0; an outage longer than --retry ends in exit 3 naming how many records were not
# delivered; --no-retry keeps the one-shot behaviour; a line's time is when send read it.
. "$(dirname "$0")/lib.sh"

port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ADDR="127.0.0.1:$port"
export ELOG_SERVER="$ADDR"
# serve_up N: serve on $ADDR with history $T/h.db; its ready file is $T/sN.ready.
serve_up() {
	rm -f "$T/s$1.ready"
	"$ELOG_BIN" serve --listen "$ADDR" --db "$T/h.db" --ready-file "$T/s$1.ready" 2>>"$T/serve.err" &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve $1 ready" 30 test -s "$T/s$1.ready" || fatal "serve: $(cat "$T/serve.err")"
}
# count COMP [DISTINCT]: records of COMP in the history (distinct messages with a 2nd arg).
count() {
	if [ $# -gt 1 ]; then
		sqlite3 "$T/h.db" "select count(distinct msg) from records where component='$1'"
	else
		sqlite3 "$T/h.db" "select count(*) from records where component='$1'"
	fi
}
has_count() { [ "$(count "$1")" -ge "$2" ]; }

# The producer: writes lines "PREFIX i" in steps; before step k it waits (bounded, 60 s) for
# the file $T/PREFIX.gok; after each step it writes $T/PREFIX.wrotek. At the end it writes the
# number of lines written to $T/PREFIX.total. A SIGPIPE would kill it: its exit status shows.
cat >"$T/producer.py" <<'EOF'
import os, sys, time
prefix, d, steps = sys.argv[1], sys.argv[2], [int(x) for x in sys.argv[3:]]
n = 0
for k, m in enumerate(steps):
    if k > 0:
        gate = os.path.join(d, "%s.go%d" % (prefix, k))
        end = time.time() + 60
        while not os.path.exists(gate):
            if time.time() > end:
                sys.exit(5)
            time.sleep(0.02)
    for _ in range(m):
        n += 1
        sys.stdout.write("%s %d\n" % (prefix, n))
    sys.stdout.flush()
    open(os.path.join(d, "%s.wrote%d" % (prefix, k)), "w").close()
open(os.path.join(d, prefix + ".total"), "w").write(str(n))
EOF
# run_pipe PREFIX SEND-ARGS -- STEPS...: `producer | elog send -c PREFIX SEND-ARGS` in the
# background; exit statuses in $T/PREFIX.prc (producer) and $T/PREFIX.src (send).
run_pipe() {
	p=$1; shift
	args=""
	while [ "$1" != -- ]; do args="$args $1"; shift; done
	shift
	( { $PY "$T/producer.py" "$p" "$T" "$@"; echo $? >"$T/$p.prc"; } |
		"$ELOG_BIN" send -c "$p" $args 2>"$T/$p.err"; echo $? >"$T/$p.src" ) &
	BG_PIDS="$BG_PIDS $!"
}

serve_up 1

say "serve stopped and restarted under 'producer | elog send': every line once, producer not killed, exit 0"
run_pipe rs -- 100 50 50
wait_for "first 100 lines stored" 30 has_count rs 100
stop_serve
touch "$T/rs.go1"                         # 50 lines written while serve is down
wait_for "producer wrote during the outage" 30 test -e "$T/rs.wrote1"
wait_for "send to notice the outage" 30 grep -q "keeping the records" "$T/rs.err"
before_restart=$(date +%s%N)
serve_up 2
touch "$T/rs.go2"
wait_for "send to end" 90 test -s "$T/rs.src"
[ "$(cat "$T/rs.src")" = 0 ] || fail "send exited $(cat "$T/rs.src"): $(cat "$T/rs.err")"
[ "$(cat "$T/rs.prc" 2>/dev/null)" = 0 ] || fail "producer exited $(cat "$T/rs.prc" 2>/dev/null) (141: killed by SIGPIPE)"
[ "$(cat "$T/rs.total" 2>/dev/null)" = 200 ] || fail "producer wrote $(cat "$T/rs.total" 2>/dev/null) of 200 lines"
[ "$(count rs)" = 200 ] || fail "$(count rs) records stored, expected 200: $(cat "$T/rs.err")"
[ "$(count rs d)" = 200 ] || fail "$(count rs d) distinct lines stored, expected 200"
grep -q "server '$ADDR'" "$T/rs.err" || fail "outage message does not name the server: $(cat "$T/rs.err")"
grep -q "is back" "$T/rs.err" || fail "no message when serve came back: $(cat "$T/rs.err")"

say "lines read during the outage keep the time they were read, not the delivery time"
late=$(sqlite3 "$T/h.db" "select count(*) from records where component='rs' and msg in ($(seq -s, -f "'rs %g'" 101 150)) and ts >= $before_restart")
[ "$late" = 0 ] || fail "$late of the 50 lines read during the outage carry a time after the restart"
inorder=$(sqlite3 "$T/h.db" "select count(*) from records a join records b on a.component='rs' and b.component='rs' and cast(substr(a.msg,4) as int) + 1 = cast(substr(b.msg,4) as int) and b.ts < a.ts")
[ "$inorder" = 0 ] || fail "$inorder lines carry a time before the line read before them"
elog logs -c rs --until "@$((before_restart / 1000000000 + 1))" --json >"$T/until.jsonl" 2>"$T/until.err" ||
	fail "logs --until: $(cat "$T/until.err")"
grep -q '"rs 150"' "$T/until.jsonl" || fail "logs --until before the restart misses the lines read then"

say "an outage longer than --retry: exit 3 naming how many records were not delivered"
run_pipe lg --retry=2s -- 5 3
wait_for "first 5 lines stored" 30 has_count lg 5
stop_serve
start=$(date +%s)
touch "$T/lg.go1"
wait_for "send to give up" 60 test -s "$T/lg.src"
[ "$(cat "$T/lg.src")" = 3 ] || fail "send exited $(cat "$T/lg.src"), expected 3: $(cat "$T/lg.err")"
[ $(( $(date +%s) - start )) -le 30 ] || fail "send took $(( $(date +%s) - start )) s to give up with --retry=2s"
grep -q "3 of 8 records not delivered" "$T/lg.err" || fail "message: $(cat "$T/lg.err")"
[ "$(grep -c 'not delivered' "$T/lg.err")" = 1 ] || fail "garbled message: $(cat "$T/lg.err")"
grep -q "gave up.*gave up" "$T/lg.err" && fail "nested message: $(cat "$T/lg.err")"
[ "$(cat "$T/lg.prc" 2>/dev/null)" = 0 ] || fail "producer exited $(cat "$T/lg.prc" 2>/dev/null)"

say "a line sent while serve is down is stored once serve is back, with the time it was read"
read_at=$(date +%s%N)
( "$ELOG_BIN" send -c dn "sent while down" 2>"$T/dn.err"; echo $? >"$T/dn.src" ) &
BG_PIDS="$BG_PIDS $!"
wait_for "send to notice the outage" 30 grep -q "keeping the records" "$T/dn.err"
restart_at=$(date +%s%N)
serve_up 3
wait_for "send to end" 60 test -s "$T/dn.src"
[ "$(cat "$T/dn.src")" = 0 ] || fail "send exited $(cat "$T/dn.src"): $(cat "$T/dn.err")"
ts=$(sqlite3 "$T/h.db" "select ts from records where component='dn'")
[ -n "$ts" ] && [ "$ts" -ge "$read_at" ] && [ "$ts" -lt "$restart_at" ] ||
	fail "stored ts '$ts' is not the read time (read $read_at, restart $restart_at)"
[ "$(count dn)" = 1 ] || fail "$(count dn) records stored"

say "--no-retry: one stream, the first failure ends send with exit 3 naming the server"
run_pipe nr --no-retry -- 5 3
wait_for "first 5 lines stored" 30 has_count nr 5
stop_serve
touch "$T/nr.go1"
wait_for "send to end" 60 test -s "$T/nr.src"
[ "$(cat "$T/nr.src")" = 3 ] || fail "send --no-retry exited $(cat "$T/nr.src"), expected 3: $(cat "$T/nr.err")"
grep -q "server '$ADDR'" "$T/nr.err" || fail "message does not name the server: $(cat "$T/nr.err")"
grep -q "keeping the records" "$T/nr.err" && fail "--no-retry retried: $(cat "$T/nr.err")"
serve_up 4
[ "$(count nr)" = 5 ] || fail "$(count nr) records stored, expected the 5 sent before the stop"

say "--retry and --no-retry together: usage error"
must_fail 2 "both" elog send --retry=1s --no-retry x 2>/dev/null
stop_serve
