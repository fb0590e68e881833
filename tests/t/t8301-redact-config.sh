#!/bin/sh
# Redaction without false positives and its configuration: the corpus of ordinary lines
# (tests/corpus/redact/ordinary.txt: access logs, stack traces, SQL, hex ids, UUIDs, times,
# versions, git hashes) comes through serve unchanged and unmarked, and through
# `elog redact --test`; serve --redact-rules / --redact-on / --redact-off; usage errors; a
# record that cannot be scanned is kept with a notice.
. "$(dirname "$0")/lib.sh"
C=$ELOG_TOP/tests/corpus/redact

say "elog redact --test leaves the ordinary corpus unchanged"
elog redact --test <"$C/ordinary.txt" >"$T/ord.out" || fail "redact --test"
test_cmp "$C/ordinary.txt" "$T/ord.out"

say "elog redact --test shows the rules that fired"
printf 'login password=hunter2 ok\nplain line\n' | elog redact --test >"$T/t.out"
printf 'login password=[REDACTED:secret-kv] ok\t<- secret-kv\nplain line\n' >"$T/t.want"
test_cmp "$T/t.want" "$T/t.out"
printf 'x AKIAIOSFODNN7EXAMPLE\n' | elog redact --test --json >"$T/j.out"
echo '{"line":"x [REDACTED:aws-access-key-id]","redacted":["aws-access-key-id"]}' >"$T/j.want"
test_cmp "$T/j.want" "$T/j.out"
elog redact --list | grep -q '^email  *off ' || fail "redact --list: email not off"

say "ordinary lines stored through serve are stored as without redaction, unmarked"
n=$(wc -l <"$C/ordinary.txt")
# the same lines into a serve that redacts and one that does not: the same records
for s in o plain; do
	if [ $s = o ]; then start_serve o; else start_serve plain --no-redact; fi
	elog send -c ord <"$C/ordinary.txt" || fail "send"
	printf '%s\n' '{"msg":"nested","a":{"b":["4006381333931",{"id":"507f1f77bcf86cd799439011"}]}}' |
		elog send -c ord || fail "send json"
	have() { [ "$(elog export --json -c ord | wc -l)" -ge 2 ]; }
	wait_for "records" 30 have
	# records are whole once the last one is in (send waits for its acknowledgements)
	elog export --json -c ord | $PY -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    for k in ("id", "ts", "arrival"):
        o.pop(k, None)
    print(json.dumps(o, sort_keys=True))
' >"$T/$s.json"
	[ $s = o ] && { elog ps | grep -q '^redacted' && fail "ps reports redactions for ordinary lines"; }
	stop_serve
done
# stack traces are joined into one record each
[ "$(wc -l <"$T/o.json")" -ge $((n - 30)) ] || fail "only $(wc -l <"$T/o.json") records of $n lines"
grep -c '"redacted"' "$T/o.json" | grep -qx 0 || fail "records marked redacted: $(grep '"redacted"' "$T/o.json" | head -2)"
test_cmp "$T/plain.json" "$T/o.json"

say "a record that cannot be scanned is kept with a notice"
# a rule whose pattern runs out of its match budget (PCRE2 backtracking) on a line
printf 'rule evil (a|aa)+\\1b\n' >"$T/evil.rules"
start_serve e --redact-rules "$T/evil.rules"
$PY -c 'print("level=warn " + "a" * 40 + "!b")' | elog send -c patho || fail "send"
got() { [ "$(elog export --json -c patho | wc -l)" = 1 ]; }
wait_for "the record" 30 got
elog export --json -c patho >"$T/patho.json"
grep -q '"msg":"\[REDACTED:unscannable\] text not kept: it could not be scanned for secrets (rule .evil. reached its match limit of 10000000 steps)"' "$T/patho.json" ||
	fail "notice: $(cut -c1-300 "$T/patho.json")"
grep -q '"redacted":\["unscannable"\]' "$T/patho.json" || fail "redacted: $(cat "$T/patho.json")"
grep -q 'aaaaaaaaaa' "$T/patho.json" && fail "the unscanned text was kept"
stop_serve

say "serve --redact-rules, --redact-on and --redact-off"
cat >"$T/rules" <<'R'
# internal account ids, and e-mail addresses; card numbers are someone else's problem
rule acct (?i)\bacct-[0-9]{6}\b
replace acct [ACCOUNT]
on email
off card-number
R
start_serve c --redact-rules "$T/rules" --redact-on ipv4 --redact-off jwt
printf 'user ACCT-123456 from 10.1.2.3 mail a@example.org card 4111111111111111 t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fw\n' |
	elog send -c cfg || fail "send"
one() { [ "$(elog export --json -c cfg | wc -l)" = 1 ]; }
wait_for "the record" 30 one
m=$(elog export --json -c cfg)
echo "$m" | grep -q '"msg":"user \[ACCOUNT\] from \[REDACTED:ipv4\] mail \[REDACTED:email\] card 4111111111111111 t eyJhbGciOiJIUzI1NiJ9\.eyJ' ||
	fail "configured rules: $m"
echo "$m" | grep -q '"redacted":\["email","ipv4","acct"\]' || fail "redacted field: $m"
elog ps --redaction | grep -q '^acct  *on  *1$' || fail "ps: $(elog ps --redaction)"
stop_serve

say "usage errors name what is wrong"
must_fail 2 "unknown rule" elog serve --db "$T/u.db" --redact-off nosuch 2>"$T/e1"
grep -q "unknown redaction rule 'nosuch'" "$T/e1" || fail "message: $(cat "$T/e1")"
printf 'rule bad (unclosed\n' >"$T/bad.rules"
must_fail 2 "bad pattern" elog serve --db "$T/u.db" --redact-rules "$T/bad.rules" 2>"$T/e2"
grep -q "rule 'bad': invalid pattern" "$T/e2" || fail "message: $(cat "$T/e2")"
must_fail 2 "--no-redact with rules" elog serve --db "$T/u.db" --no-redact --redact-on email 2>"$T/e3"
grep -q -- "--no-redact goes with no other --redact option" "$T/e3" || fail "message: $(cat "$T/e3")"
must_fail 2 "redact without --test" elog redact 2>/dev/null
[ ! -e "$T/u.db" ] || fail "serve made a history before checking its options"
