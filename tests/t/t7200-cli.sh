#!/bin/sh
# t7200-cli: the dispatcher — --version, help, unknown commands (exit 2, a suggestion),
# unique prefixes, ambiguous prefixes, bad flags (exit 2, usage on stderr), hidden commands.
. "$(dirname "$0")/lib.sh"
# the man page and completion generator, a build tool next to the binary (tools/gendoc.c)
GENDOC=$(dirname "$ELOG_BIN")/gendoc
[ -x "$GENDOC" ] || fatal "no generator at '$GENDOC' (make builds it with elog)"

say "--version"
elog --version >"$T/out" || fail "--version"
echo "elog $(cat "$ELOG_TOP/VERSION")" >"$T/want"
test_cmp "$T/want" "$T/out"

say "no command: usage on stderr, exit 2"
must_fail 2 "no command" elog >"$T/out" 2>"$T/err"
[ -s "$T/out" ] && fail "usage went to stdout"
grep -q '^usage: elog' "$T/err" || fail "no usage on stderr"

say "--help and help list every command"
elog --help >"$T/usage" || fail "--help"
elog help >"$T/usage2" || fail "help"
test_cmp "$T/usage" "$T/usage2"
for c in $("$GENDOC" commands); do
	grep -q "^  $c " "$T/usage" || fail "--help does not list $c"
done

say "help CMD and CMD --help"
elog help logs >"$T/h1" || fail "help logs"
elog logs --help >"$T/h2" || fail "logs --help"
elog logs -h >"$T/h3" || fail "logs -h"
test_cmp "$T/h1" "$T/h2"
test_cmp "$T/h1" "$T/h3"
head -1 "$T/h1" | grep -q '^usage: elog logs ' || fail "help logs: no usage line"
grep -q -- '--color' "$T/h1" || fail "help logs lacks --color"
grep -q -- '--server' "$T/h1" || fail "help logs lacks the client options"
must_fail 2 "help of an unknown command" elog help nosuchthing 2>"$T/err"
grep -q "unknown command 'nosuchthing'" "$T/err" || fail "help nosuchthing: $(cat "$T/err")"

say "unknown command: exit 2 and the closest name"
must_fail 2 "typo" elog lgos >"$T/out" 2>"$T/err"
grep -q "unknown command 'lgos'; did you mean 'logs'?" "$T/err" || fail "no suggestion: $(cat "$T/err")"
[ -s "$T/out" ] && fail "typo wrote to stdout"
must_fail 2 "typo" elog sned 2>"$T/err"
grep -q "did you mean 'send'?" "$T/err" || fail "no suggestion for sned: $(cat "$T/err")"
must_fail 2 "nothing close" elog qqqqqqqqqqqq 2>"$T/err"
grep -q "unknown command 'qqqqqqqqqqqq'" "$T/err" || fail "far typo: $(cat "$T/err")"
grep -q "did you mean" "$T/err" && fail "suggested something for a far typo: $(cat "$T/err")"

say "a unique prefix is the command; an ambiguous one is refused"
elog lo --help >"$T/h4" || fail "prefix lo"
test_cmp "$T/h1" "$T/h4"
elog exp --help | head -1 | grep -q '^usage: elog export ' || fail "prefix exp"
must_fail 2 "ambiguous prefix" elog se 2>"$T/err"
grep -q "ambiguous command 'se'" "$T/err" || fail "ambiguous: $(cat "$T/err")"
grep -q "serve" "$T/err" && grep -q "send" "$T/err" || fail "ambiguous: candidates: $(cat "$T/err")"

say "bad flags: exit 2, usage on stderr, nothing on stdout"
for c in $("$GENDOC" commands); do
	must_fail 2 "$c --no-such-flag" elog "$c" --no-such-flag >"$T/out" 2>"$T/err"
	[ -s "$T/out" ] && fail "$c: bad flag wrote to stdout"
	grep -q "unknown option '--no-such-flag'" "$T/err" || fail "$c: $(cat "$T/err")"
	grep -q "^usage: elog $c " "$T/err" || fail "$c: no usage line: $(cat "$T/err")"
done
must_fail 2 "missing value" elog logs --color 2>"$T/err"
grep -q "needs a value" "$T/err" || fail "missing value: $(cat "$T/err")"
must_fail 2 "bad number" elog logs -n many 2>"$T/err"
grep -q "not a number" "$T/err" || fail "bad number: $(cat "$T/err")"
must_fail 2 "global unknown option" elog --frobnicate 2>"$T/err"
grep -q "unknown option '--frobnicate'" "$T/err" || fail "global option: $(cat "$T/err")"

say "hidden commands: exact name only, never suggested"
must_fail 2 "hidden prefix" elog __gen 2>"$T/err"
grep -q "did you mean '__" "$T/err" && fail "suggested a hidden command"
must_fail 2 "__gendoc is not in the shipped binary" elog __gendoc commands 2>/dev/null
"$GENDOC" commands >/dev/null || fail "gendoc commands"
must_fail 2 "gendoc of an unknown command" "$GENDOC" man nosuch 2>/dev/null
must_fail 2 "gendoc with nothing" "$GENDOC" 2>/dev/null
must_fail 2 "__complete of nothing" elog __complete 2>/dev/null
say "ok"
