#!/bin/sh
# t2301-tail-waiting: elog tail says once, on stderr, which paths name no file yet (a glob with
# no match, a missing file, a directory), keeps watching them, and follows the file once it
# appears.
. "$(dirname "$0")/lib.sh"

msgs() { elog export --json "$@" | $PY -c 'import sys, json
for l in sys.stdin: print(json.loads(l)["msg"])'; }
count_is() { [ "$(msgs "$@" | wc -l)" -eq "$N" ]; }

start_serve h
mkdir -p "$T/logs" "$T/adir"
"$ELOG_BIN" tail --state "$T/s.db" --ready-file "$T/tail.ready" "$T/logs/*.log" "$T/missing.txt" \
	"$T/adir" 2>"$T/tail.err" &
TAIL=$!
BG_PIDS="$BG_PIDS $TAIL"
wait_for "tail ready" 30 test -e "$T/tail.ready" || fatal "tail did not start: $(cat "$T/tail.err")"

say "a glob with no match, a missing file and a directory are each reported"
wait_for "the three messages" 10 sh -c "[ \$(wc -l <'$T/tail.err') -ge 3 ]"
grep -qx "elog: '$T/logs/\*.log': no file matches; waiting for a matching file" "$T/tail.err" ||
	fail "glob: $(cat "$T/tail.err")"
grep -qx "elog: '$T/missing.txt': no such file; waiting for it to appear" "$T/tail.err" ||
	fail "missing: $(cat "$T/tail.err")"
grep -q "^elog: '$T/adir' is a directory: tail follows files (try '$T/adir/\*')" "$T/tail.err" ||
	fail "directory: $(cat "$T/tail.err")"

say "tail keeps waiting: the file that appears is followed"
printf 'm1\nm2\n' >"$T/missing.txt"
N=2 wait_for "missing.txt lines" 15 count_is -c missing
printf 'g1\n' >"$T/logs/new.log"
N=1 wait_for "the glob's first match" 15 count_is -c new
kill -0 "$TAIL" 2>/dev/null || fail "tail exited"

say "each message was printed once, not at every poll"
# several re-globs (one a second) have passed while the files above were picked up
[ "$(wc -l <"$T/tail.err")" = 3 ] || fail "stderr has more than the three messages: $(cat "$T/tail.err")"
[ "$(grep -c "missing.txt" "$T/tail.err")" = 1 ] || fail "missing.txt reported more than once"

say "a file that is rotated away after it was found is not reported as missing"
mv "$T/missing.txt" "$T/missing.txt.1"
printf 'm3\n' >"$T/missing.txt"
N=3 wait_for "the rotated file's successor" 15 count_is -c missing
[ "$(grep -c "missing.txt" "$T/tail.err")" = 1 ] || fail "rotation reported: $(cat "$T/tail.err")"

kill "$TAIL" 2>/dev/null
wait "$TAIL" 2>/dev/null
stop_serve
