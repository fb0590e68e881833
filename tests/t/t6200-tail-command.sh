#!/bin/sh
# elog tail -- CMD: stdout and stderr lines in read order, stderr marked, output passed
# through, exit statuses (0, 3, signal), a child closing stdout early, a child that never
# prints, signals forwarded, and an unreachable server.
. "$(dirname "$0")/lib.sh"

recs() { elog export --json -c "$1" | $PY -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l)
    print(("E " if r.get("fields", {}).get("stream") == "stderr" else "O ") + r["msg"])'; }

start_serve h

say "interleaved stdout and stderr, in order, passed through"
cat >"$T/inter.sh" <<'E'
echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; sleep 0.1; echo err2 >&2
sleep 0.1; printf 'no newline at the end'
E
elog tail -- sh "$T/inter.sh" >"$T/out" 2>"$T/err" || fail "exit $?"
printf 'out1\nout2\nno newline at the end' >"$T/out.exp"
printf 'err1\nerr2\n' >"$T/err.exp"
test_cmp "$T/out.exp" "$T/out"
test_cmp "$T/err.exp" "$T/err"
recs sh >"$T/got"
printf 'O out1\nE err1\nO out2\nE err2\nO no newline at the end\nO sh exited with status 0\n' >"$T/exp"
test_cmp "$T/exp" "$T/got"

say "--quiet, -c, exit status 3"
must_fail 3 "exit status passed on" elog tail -q -c three -- sh -c 'echo bye; exit 3' >"$T/out"
[ ! -s "$T/out" ] || fail "--quiet printed: $(cat "$T/out")"
recs three >"$T/got"
printf 'O bye\nO three exited with status 3\n' >"$T/exp"
test_cmp "$T/exp" "$T/got"
elog export --json -c three | grep -q '"exit_status":3' || fail "no exit_status field"

say "killed by a signal: 128+N"
must_fail 137 "killed child" elog tail -c killed -- sh -c 'echo before; kill -9 $$' >/dev/null
recs killed | grep -q "^O killed killed by signal 9" || fail "no signal record: $(recs killed)"

say "signals are forwarded"
"$ELOG_BIN" tail -c fwd -- sh -c 'trap "echo got term; exit 5" TERM; echo ready; while :; do sleep 0.05; done' \
	>"$T/fwd.out" &
P=$!
wait_for "child ready" 10 grep -q ready "$T/fwd.out"
kill -TERM $P
wait $P; st=$?
[ "$st" = 5 ] || fail "forwarded TERM: exit $st"
recs fwd >"$T/got"
printf 'O ready\nO got term\nO fwd exited with status 5\n' >"$T/exp"
test_cmp "$T/exp" "$T/got"

say "a child that closes stdout early, one that never prints"
elog tail -c early -- sh -c 'echo first; exec >&-; sleep 0.3; echo later >&2' >/dev/null 2>&1 ||
	fail "early close: exit $?"
recs early >"$T/got"
printf 'O first\nE later\nO early exited with status 0\n' >"$T/exp"
test_cmp "$T/exp" "$T/got"
elog tail -c silent -- sleep 0.2 || fail "silent: exit $?"
[ "$(recs silent)" = "O silent exited with status 0" ] || fail "silent: $(recs silent)"

say "command not found"
must_fail 127 "missing command" elog tail -c nf -- /nonexistent/cmd 2>"$T/err"
grep -q "cannot run" "$T/err" || fail "no message: $(cat "$T/err")"

say "server unreachable: the command runs, output passes through, undelivered lines counted"
ADDR=$SERVER
stop_serve
must_fail 4 "exit status with the server down" \
	"$ELOG_BIN" tail --server "$ADDR" --timeout 1 -c down -- sh -c 'echo a; echo b >&2; exit 4' \
	>"$T/out" 2>"$T/err"
[ "$(cat "$T/out")" = a ] || fail "passthrough: $(cat "$T/out")"
grep -q '^b$' "$T/err" || fail "stderr passthrough: $(cat "$T/err")"
grep -q "3 lines of 'down' could not be delivered" "$T/err" || fail "no count: $(cat "$T/err")"
[ "$(grep -c 'cannot reach' "$T/err")" = 1 ] || fail "unreachable said more than once: $(cat "$T/err")"

say "server coming up while the command runs: everything delivered"
"$ELOG_BIN" tail --server "$ADDR" -c late -- sh -c 'echo l1; sleep 1.5; echo l2' >/dev/null 2>"$T/err" &
P=$!
wait_for "tail to find no server" 10 grep -q 'cannot reach' "$T/err"
"$ELOG_BIN" serve --listen "$ADDR" --db "$T/h.db" --ready-file "$T/h2.ready" 2>"$T/h2.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait $P || fail "late: exit $?"
recs late >"$T/got"
printf 'O l1\nO l2\nO late exited with status 0\n' >"$T/exp"
test_cmp "$T/exp" "$T/got"
grep -q "could not be delivered" "$T/err" && fail "undelivered: $(cat "$T/err")"
stop_serve
echo "t6200: ok"
