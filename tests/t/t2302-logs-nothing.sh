#!/bin/sh
# t2302-logs-nothing: elog logs that shows nothing says why: -c naming a component the history
# lacks lists the components there are (on stderr); an empty history on a terminal says so,
# and nothing is said when standard output is not a terminal.
. "$(dirname "$0")/lib.sh"

start_serve h

say "an empty history on a terminal says so"
script -qec "$ELOG_BIN logs --server $SERVER" /dev/null >"$T/tty.out" 2>&1 || fail "logs on a tty failed: $(cat "$T/tty.out")"
grep -q "elog: the history is empty" "$T/tty.out" || fail "no empty-history message: $(cat "$T/tty.out")"

say "an empty history into a pipe says nothing"
elog logs >"$T/out" 2>"$T/err" || fail "logs failed: $(cat "$T/err")"
[ -s "$T/out" ] && fail "stdout not empty"
[ -s "$T/err" ] && fail "stderr not empty: $(cat "$T/err")"

elog send -c web "hello" || fail "send web"
elog send -c worker -l error "boom" || fail "send worker"

say "-c with a component the history lacks lists the components (stderr, exit 0)"
elog logs -c nosuch >"$T/out" 2>"$T/err" || fail "logs -c nosuch: exit $?"
[ -s "$T/out" ] && fail "stdout not empty: $(cat "$T/out")"
grep -qx "elog: no component 'nosuch' in the history; the components are: web, worker" "$T/err" ||
	fail "components hint: $(cat "$T/err")"

say "-c API (no records of it) with another that exists: names only the missing one"
elog logs -c API,web -l error >"$T/out" 2>"$T/err" || fail "logs -c API,web: exit $?"
grep -qx "elog: no component 'API' in the history; the components are: web, worker" "$T/err" ||
	fail "components hint: $(cat "$T/err")"

say "-c with existing components and a filter that leaves nothing: no list; on a tty 'no records match'"
elog logs -c web -l error >"$T/out" 2>"$T/err" || fail "logs -c web -l error: exit $?"
[ -s "$T/err" ] && fail "stderr not empty: $(cat "$T/err")"
script -qec "$ELOG_BIN logs --server $SERVER -c web -l error" /dev/null >"$T/tty.out" 2>&1 ||
	fail "tty: $(cat "$T/tty.out")"
grep -q "elog: no records match" "$T/tty.out" || fail "tty: $(cat "$T/tty.out")"

say "records shown: nothing said"
script -qec "$ELOG_BIN logs --server $SERVER -c web" /dev/null >"$T/tty.out" 2>&1 || fail "tty"
grep -q "hello" "$T/tty.out" || fail "no record: $(cat "$T/tty.out")"
grep -q "elog:" "$T/tty.out" && fail "a message with records: $(cat "$T/tty.out")"

say "--db: the same hint from a history file"
stop_serve
elog logs --db "$T/h.db" -c nosuch >"$T/out" 2>"$T/err" || fail "logs --db: exit $?"
grep -qx "elog: no component 'nosuch' in the history; the components are: web, worker" "$T/err" ||
	fail "--db hint: $(cat "$T/err")"
