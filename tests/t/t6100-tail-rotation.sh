#!/bin/sh
# elog tail through rename rotation, copytruncate, delete + re-create, a restart of tail while
# lines keep coming, and a server that goes away and comes back: every line exactly once, in
# order.
. "$(dirname "$0")/lib.sh"

msgs() { elog export --json -c app | $PY -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l)
    if r.get("fields", {}).get("event") != "truncated": print(r["msg"])'; }
count_is() { [ "$(msgs | wc -l)" -eq "$N" ]; }
count_at_least() { [ "$(msgs | wc -l)" -ge "$N" ]; }
# writer FROM TO [FILE]: appends lines "line FROM".."line TO" to FILE (app.log), 20 ms apart
writer() {
	i=$1
	while [ "$i" -le "$2" ]; do
		echo "line $i" >>"${3:-$T/app.log}"
		i=$((i + 1))
		sleep 0.02
	done
}
# start_tail: tail in the background; $T/tail.ready appears once its first scan is done
start_tail() {
	rm -f "$T/tail.ready"
	"$ELOG_BIN" tail --state "$T/state.db" --ready-file "$T/tail.ready" "$T/app.log" 2>>"$T/tail.err" &
	TAIL=$!
	SERVE_PIDS="$SERVE_PIDS $TAIL"
}
stop_tail() {
	kill -TERM $TAIL
	wait $TAIL || fail "tail exited $?"
}

start_serve h
: >"$T/app.log"
start_tail
writer 1 20
N=20 wait_for "first lines" 10 count_is

say "rename rotation: lines written to the old file after the rename come first"
mv "$T/app.log" "$T/app.log.1"
writer 21 25 "$T/app.log.1"
mv "$T/app.log.1" "$T/app.log.2"
: >"$T/app.log"
(sleep 0.3; writer 26 40) &
W=$!
wait $W
N=40 wait_for "lines after rename" 10 count_is

say "copytruncate: a visible truncation record, then the new lines"
cp "$T/app.log" "$T/app.log.3"
: >"$T/app.log"
# no wait is needed: the 10 new lines are shorter than the 40 truncated ones, so tail sees
# the file shrink whenever it looks (copytruncate loses lines by design only when a file
# regrows past its old size before the reader looks again)
writer 41 50
N=50 wait_for "lines after copytruncate" 10 count_is
[ "$(elog export --json -c app | grep -c '"file truncated: ')" -eq 1 ] ||
	fail "no (or more than one) truncation record"

say "delete and re-create"
rm "$T/app.log"
sleep 0.3
writer 51 60
N=60 wait_for "lines after re-create" 10 count_is

say "tail stopped and restarted while lines keep coming"
writer 61 120 &
W=$!
N=65 wait_for "some of the new lines" 10 count_at_least
stop_tail
sleep 0.3
start_tail
wait $W
N=120 wait_for "lines across the restart" 15 count_is

say "server stopped and started again while lines keep coming"
stop_serve
writer 121 130
wait_for "tail to notice the outage" 10 grep -q "cannot reach\|lost the server" "$T/tail.err"
writer 131 140
# the same address again, so that tail finds it
"$ELOG_BIN" serve --listen "$SERVER" --db "$T/h.db" --ready-file "$T/h2.ready" 2>"$T/h2.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait_for "serve ready again" 20 test -s "$T/h2.ready"
N=140 wait_for "lines after the server came back" 20 count_is
grep -q "cannot reach\|lost the server" "$T/tail.err" || fail "outage not reported: $(cat "$T/tail.err")"
[ "$(grep -c "cannot reach\|lost the server" "$T/tail.err")" -le 2 ] || fail "outage reported per line"

say "a restart with nothing new sends nothing again"
stop_tail
start_tail
# the first scan read every file up to its end: anything tail would send again is sent now
wait_for "tail's first scan" 20 test -s "$T/tail.ready"
elog send -c app "line 141" || fail "send a last line"
N=141 wait_for "the last line" 10 count_is
stop_tail

i=1; : >"$T/exp"
while [ $i -le 141 ]; do echo "line $i" >>"$T/exp"; i=$((i + 1)); done
msgs >"$T/got"
test_cmp "$T/exp" "$T/got"
stop_serve
echo "t6100: ok"
