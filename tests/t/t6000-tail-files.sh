#!/bin/sh
# elog tail on files: globs gaining files, files that appear later, a partial last line,
# binary junk, a 10 MB line, --from-end, usage errors.
. "$(dirname "$0")/lib.sh"

msgs() { elog export --json "$@" | $PY -c 'import sys, json
for l in sys.stdin: print(json.loads(l)["msg"])'; }
count_is() { [ "$(msgs "$@" | wc -l)" -eq "$N" ]; }

must_fail 2 "tail without files" elog tail 2>"$T/u.err"
grep -q "no file to follow" "$T/u.err" || fail "usage: $(cat "$T/u.err")"
must_fail 2 "tail with files and a command" elog tail a.log -- true 2>"$T/u.err"
grep -q "not both" "$T/u.err" || fail "usage: $(cat "$T/u.err")"
must_fail 2 "tail with no command after --" elog tail -- 2>"$T/u.err"
grep -q "no command" "$T/u.err" || fail "usage: $(cat "$T/u.err")"
must_fail 2 "--ready-file with a command" elog tail --ready-file "$T/r" -- true 2>"$T/u.err"
grep -q "ready-file is for files" "$T/u.err" || fail "usage: $(cat "$T/u.err")"

start_serve h
mkdir -p "$T/logs"
cd "$T/logs" || fail cd
printf 'a1\na2\n' >a.log
"$ELOG_BIN" tail --state "$T/s.db" "$T/logs/*.log" "$T/logs/later.txt" 2>"$T/tail.err" &
TAIL=$!
SERVE_PIDS="$SERVE_PIDS $TAIL"

say "existing file, then a file the glob gains, then a literal path that appears later"
N=2 wait_for "a.log lines" 10 count_is -c a
printf 'b1\n' >b.log
N=1 wait_for "b.log, gained by the glob" 10 count_is -c b
printf 'l1\nl2\n' >later.txt
N=2 wait_for "later.txt, appearing later" 10 count_is -c later

say "a partial last line is held, then sent after the delay (2 s without growth)"
t0=$(date +%s%N)
printf 'part' >>a.log
N=3 wait_for "partial line after its delay" 10 count_is -c a
held=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$held" -ge 1900 ] || fail "partial line sent after $held ms, before its delay"
printf 'ial\nnext\n' >>a.log
N=5 wait_for "rest of the line" 10 count_is -c a
msgs -c a >"$T/a.out"
printf 'a1\na2\npart\nial\nnext\n' >"$T/a.exp"
test_cmp "$T/a.exp" "$T/a.out"

say "binary junk is stored as valid text"
printf 'bin\001\377\376ok\000z\n' >junk.log
N=1 wait_for "junk line" 10 count_is -c junk
elog export --json -c junk >"$T/junk.json"
$PY -c 'import json,sys; m=json.loads(open(sys.argv[1]).read())["msg"]
assert m.startswith("bin") and "ok" in m and "\ufffd" in m, m' "$T/junk.json" ||
	fail "junk not repaired: $(cat "$T/junk.json")"

say "a 10 MB line is cut with the marker, the next line is whole"
$PY -c 'import sys; sys.stdout.write("x" * (10 << 20) + "\nafter\n")' >big.log
N=2 wait_for "big lines" 20 count_is -c big
elog export --json -c big | $PY -c 'import sys, json
r = [json.loads(l)["msg"] for l in sys.stdin]
assert r[0].endswith("…[truncated]") and r[0].startswith("xxxx"), r[0][-40:]
assert len(r[0].encode()) <= (1 << 20) + 64, len(r[0])
assert r[1] == "after", r[1]' || fail "10 MB line"

kill -TERM $TAIL
wait $TAIL || fail "tail exited $?"
# the one thing tail says: later.txt is not there yet (t2301 checks these messages)
grep -v "^elog: '$T/logs/later.txt': no such file; waiting for it to appear\$" "$T/tail.err" >"$T/tail.err2"
[ ! -s "$T/tail.err2" ] || fail "tail said: $(cat "$T/tail.err2")"

say "--from-end skips what new files hold at startup, a new state file"
printf 'old1\nold2\n' >fe.log
"$ELOG_BIN" tail --state "$T/s2.db" --from-end --ready-file "$T/fe.ready" "$T/logs/fe.log" 2>"$T/tail2.err" &
TAIL=$!
SERVE_PIDS="$SERVE_PIDS $TAIL"
wait_for "tail scanned" 20 test -s "$T/fe.ready"
printf 'new1\n' >>fe.log
N=1 wait_for "fe.log from its end" 10 count_is -c fe
[ "$(msgs -c fe)" = new1 ] || fail "from-end: $(msgs -c fe)"
kill -TERM $TAIL
wait $TAIL || fail "tail exited $?"

say "the default state database lives beside the history"
[ -f "$XDG_STATE_HOME/elog/tail-state.db" ] && fail "state written to default although --state"
printf 'd1\n' >d.log
"$ELOG_BIN" tail -c dee "$T/logs/d.log" 2>/dev/null &
TAIL=$!
SERVE_PIDS="$SERVE_PIDS $TAIL"
N=1 wait_for "d.log" 10 count_is -c dee
kill -TERM $TAIL
wait $TAIL
[ -f "$XDG_STATE_HOME/elog/tail-state.db" ] || fail "no default state database"
stop_serve
echo "t6000: ok"
