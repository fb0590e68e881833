#!/bin/sh
# elog logs -f: live records, no gap or duplicate at the history->live seam under continuous
# ingest, a serve restarted on the same port under a running follower, and -n N -f.
. "$(dirname "$0")/lib.sh"

# lines FILE: number of lines in FILE (0 when missing).
lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }

# start_follow NAME ARGS...: `elog logs -f --json ARGS` in the background into $T/NAME.out;
# $T/NAME.ready appears once it is live (wait_live NAME).
start_follow() {
	name=$1; shift
	"$ELOG_BIN" logs -f --json --ready-file "$T/$name.ready" "$@" >"$T/$name.out" 2>"$T/$name.err" &
	FPID=$!
	SERVE_PIDS="$SERVE_PIDS $FPID"
}
wait_live() { wait_for "follower $1 live" 20 test -s "$T/$1.ready"; }
stop_follow() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}
# ids FILE: the ids of the JSON Lines in FILE, one a line.
ids() { $PY -c 'import json, sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$1"; }

start_serve h

say "logs -f receives a record sent after it started"
expect_success "send first" elog send -c live before
start_follow live -c live
wait_for "history record" 10 grep -q '"before"' "$T/live.out"
expect_success "send second" elog send -c live after
wait_for "live record" 5 grep -q '"after"' "$T/live.out"
elog send -c other unrelated || fail "send other"
elog send -c live last || fail "send last"
wait_for "last record" 5 grep -q '"last"' "$T/live.out"
kill -0 $FPID 2>/dev/null || fail "follower exited"
stop_follow $FPID
! grep -q unrelated "$T/live.out" || fail "filter not applied to live records"
[ "$(lines "$T/live.out")" = 3 ] || fail "want 3 lines: $(cat "$T/live.out")"

say "text follow output is line-buffered into a pipe"
"$ELOG_BIN" logs -f -c tx --color=never --ready-file "$T/tx.ready" >"$T/tx.out" 2>&1 &
tpid=$!; SERVE_PIDS="$SERVE_PIDS $tpid"
wait_live tx
[ "$(cat "$T/tx.ready")" = "$SERVER" ] || fail "ready file holds '$(cat "$T/tx.ready")'"
elog send -c tx "text live" || fail "send tx"
wait_for "text live line" 5 grep -q 'tx | INFO  text live' "$T/tx.out"
stop_follow $tpid

say "no gap or duplicate at the history->live seam"
$PY -c '
import sys, time
for i in range(1500):
    sys.stdout.write("seam %d\n" % i); sys.stdout.flush()
    time.sleep(0.002)
' | elog send -c seam &
spid=$!
stored_at_least() { [ "$(elog export --json -c "$1" | wc -l)" -ge "$2" ]; }
wait_for "some history" 10 stored_at_least seam 100
start_follow seam -c seam
wait $spid || fail "seam sender failed"
total=$(elog export --json -c seam | wc -l)
[ "$total" = 1500 ] || fail "stored $total of 1500"
wait_for "follower caught up" 15 has_lines "$T/seam.out" 1500
# a last record after everything: once it arrived, nothing of the 1500 can still be on the way
elog send -c seam "seam end" || fail "send seam end"
wait_for "seam end" 15 grep -q '"seam end"' "$T/seam.out"
stop_follow $FPID
ids "$T/seam.out" >"$T/seam.ids"
elog export --json -c seam >"$T/seam.exp" || fail "export seam"
ids "$T/seam.exp" >"$T/seam.want"
test_cmp "$T/seam.want" "$T/seam.ids"
# The export's ids of one sender are contiguous (nothing else was sent meanwhile).
$PY - "$T/seam.ids" <<'EOF' || fail "ids not contiguous"
import sys
ids = [int(l) for l in open(sys.argv[1])]
assert len(ids) == len(set(ids)) == 1501, "duplicates"
assert ids == list(range(ids[0], ids[0] + 1501)), "gap"
EOF

say "-n 2 -f: the last two, then live"
for i in 1 2 3 4 5; do elog send -c tail "t$i" || fail "send t$i"; done
start_follow tail -n 2 -c tail
wait_for "last two" 10 has_lines "$T/tail.out" 2
wait_live tail
elog send -c tail t6 || fail "send t6"
wait_for "t6" 5 grep -q '"t6"' "$T/tail.out"
stop_follow $FPID
$PY -c 'import json, sys; print(" ".join(json.loads(l)["msg"] for l in open(sys.argv[1])))' \
	"$T/tail.out" >"$T/got"
[ "$(cat "$T/got")" = "t4 t5 t6" ] || fail "-n 2 -f printed: $(cat "$T/got")"

say "-n 0 -f: live records only, over the server and with --db"
start_follow tail0 -n 0 -c tail
"$ELOG_BIN" logs -f --json -n 0 -c tail --db "$T/h.db" --ready-file "$T/tail0db.ready" \
	>"$T/tail0db.out" 2>"$T/tail0db.err" &
dbpid=$!; SERVE_PIDS="$SERVE_PIDS $dbpid"
wait_live tail0
wait_live tail0db
[ "$(cat "$T/tail0db.ready")" = "$T/h.db" ] || fail "--db ready file holds '$(cat "$T/tail0db.ready")'"
elog send -c tail t7 || fail "send t7"
wait_for "t7" 5 grep -q '"t7"' "$T/tail0.out"
wait_for "t7 from --db" 5 grep -q '"t7"' "$T/tail0db.out"
stop_follow $FPID
stop_follow $dbpid
[ "$(lines "$T/tail0.out")" = 1 ] || fail "-n 0 -f printed: $(cat "$T/tail0.out")"
[ "$(lines "$T/tail0db.out")" = 1 ] || fail "-n 0 -f --db printed: $(cat "$T/tail0db.out")"

say "serve restarted on the same port under a running logs -f"
port=${SERVER##*:}
for i in 1 2 3; do elog send -c rs "r$i" || fail "send r$i"; done
start_follow rs -c rs
wait_for "history before restart" 10 has_lines "$T/rs.out" 3
stop_serve
wait_for "follower notices" 10 grep -qi 'lost\|reconnect' "$T/rs.err"
kill -0 $FPID 2>/dev/null || fail "follower exited when serve stopped: $(cat "$T/rs.err")"
"$ELOG_BIN" serve --listen "127.0.0.1:$port" --db "$T/h.db" --ready-file "$T/h2.ready" 2>"$T/h2.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait_for "serve restarted" 20 test -s "$T/h2.ready"
elog send -c rs r4 || fail "send r4"
elog send -c rs r5 || fail "send r5"
wait_for "records after restart" 10 has_lines "$T/rs.out" 5
elog send -c rs-end x || fail "send rs-end"
elog send -c rs r-last || fail "send r-last"
wait_for "last record after restart" 10 grep -q '"r-last"' "$T/rs.out"
kill -0 $FPID 2>/dev/null || fail "follower exited"
stop_follow $FPID
$PY -c 'import json, sys; print(" ".join(json.loads(l)["msg"] for l in open(sys.argv[1])))' \
	"$T/rs.out" >"$T/got"
[ "$(cat "$T/got")" = "r1 r2 r3 r4 r5 r-last" ] || fail "after restart printed: $(cat "$T/got")"
grep -qi reconnected "$T/rs.err" || fail "no reconnect message: $(cat "$T/rs.err")"

say "logs -f ends quietly when its pipe closes"
{ timeout 20 "$ELOG_BIN" logs -f -c rs 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head -1 >/dev/null &
hp=$!
elog send -c rs r6 || fail "send r6"
wait_for "follower exits on closed pipe" 10 test -s "$T/pipe.rc"
[ "$(cat "$T/pipe.rc")" = 0 ] && [ ! -s "$T/pipe.err" ] || fail "pipe: $(cat "$T/pipe.rc" "$T/pipe.err")"
wait $hp

say "SIGTERM of serve ends a follower's call cleanly while serve exits 0"
stop_serve
echo "t1300: ok"
