#!/bin/sh
# Issue #16 (5): the flags journalctl, stern, docker compose logs and lnav users reach for.
# --grep over the message and field values (PCRE2, smart case, -i), -e/--exclude,
# -E/--exclude-component, --tail N per component (history, then live with -f; -n stays
# global), -o short|raw|cat|json|json-pretty|logfmt, -H/--highlight and --grep's highlight on a
# color terminal, --fields/--hide-fields; over a real serve, and with --db; export's filters;
# the Query of a newer client refused by an older server instead of ignored.
# Before this change every one of these flags was "unknown option" (exit 2).
. "$(dirname "$0")/lib.sh"

start_serve h
H_PID=$SERVE_PID

cat >"$T/in" <<'EOF'
{"ts":"2024-01-20T10:00:00Z","component":"api","level":"info","msg":"request done in 812ms","trace_id":"abc0151","status":200}
{"ts":"2024-01-20T10:00:01Z","component":"api","level":"warn","msg":"Timeout talking to db","trace_id":"abc0152"}
{"ts":"2024-01-20T10:00:02Z","component":"api","level":"error","msg":"TIMEOUT again","host":"h1"}
{"ts":"2024-01-20T10:00:03Z","component":"db","level":"info","msg":"db ready","port":5432}
{"ts":"2024-01-20T10:00:04Z","component":"db","level":"info","msg":"db two"}
{"ts":"2024-01-20T10:00:05Z","component":"web","level":"info","msg":"GET /metrics 200","path":"/metrics x"}
{"ts":"2024-01-20T10:00:06Z","component":"api","level":"info","msg":"timeout budget 30s"}
{"ts":"2024-01-20T10:00:07Z","component":"web","level":"info","msg":"GET /home 200"}
EOF
elog send <"$T/in" || fatal "send"

# msgs ARGS...: the messages `elog logs --json ARGS` prints, one a line, in $T/got; both over
# the server and with --db (which must agree).
msgs() {
	elog logs --json "$@" >"$T/json" || { fail "logs $*"; return 1; }
	$PY -c 'import json, sys; [print(json.loads(l)["msg"]) for l in open(sys.argv[1])]' "$T/json" >"$T/got"
	elog logs --db "$T/h.db" --json "$@" >"$T/json.db" || { fail "logs --db $*"; return 1; }
	$PY -c 'import json, sys; [print(json.loads(l)["msg"]) for l in open(sys.argv[1])]' "$T/json.db" >"$T/got.db"
	test_cmp "$T/got" "$T/got.db"
}
want() {
	: >"$T/want"
	[ $# = 0 ] || printf '%s\n' "$@" >"$T/want"
	test_cmp "$T/want" "$T/got"
}

say "--grep finds a field value as shown (trace_id=abc0151)"
msgs --grep abc0151 && want "request done in 812ms"
msgs --grep '^abc015\d$' && want "request done in 812ms" "Timeout talking to db"
msgs --grep '/metrics x' && want "GET /metrics 200"

say "--grep is PCRE2: \\d, (?i) and lookarounds"
msgs --grep '\d{3}ms' && want "request done in 812ms"
msgs --grep '(?i)GET /HOME' && want "GET /home 200"
msgs --grep 'GET (?!/metrics)' && want "GET /home 200"

say "smart case: an all-lowercase pattern matches any case, one with upper case only that case"
msgs --grep timeout && want "Timeout talking to db" "TIMEOUT again" "timeout budget 30s"
msgs --grep Timeout && want "Timeout talking to db"
msgs --grep TIMEOUT && want "TIMEOUT again"
# an escape such as \D or \S is not an upper-case letter
msgs --grep 'timeout\s\S' && want "Timeout talking to db" "TIMEOUT again" "timeout budget 30s"

say "-i: every pattern in any case"
msgs -i --grep Timeout && want "Timeout talking to db" "TIMEOUT again" "timeout budget 30s"
msgs --ignore-case --grep 'GET /HOME' && want "GET /home 200"
msgs -i -e DB -c db,api && want "request done in 812ms" "TIMEOUT again" "timeout budget 30s"

say "-e/--exclude leaves out records whose message or a field value matches"
msgs -e metrics -c web && want "GET /home 200"
msgs --exclude abc015 -c api && want "TIMEOUT again" "timeout budget 30s"
msgs --grep timeout -e again && want "Timeout talking to db" "timeout budget 30s"

say "-E/--exclude-component leaves out components (comma-separated or repeated)"
msgs -E api,db && want "GET /metrics 200" "GET /home 200"
msgs -E api -E web && want "db ready" "db two"
msgs --exclude-component web -l warn+ && want "Timeout talking to db" "TIMEOUT again"
# the prefix is as wide as the components shown, not those left out
elog logs -E api,web -n 1 >"$T/got" || fail "-E prefix"
want "db | INFO  db two"

say "--tail N: the last N of each component, in id order; -n N stays global"
msgs --tail 1 && want "db two" "timeout budget 30s" "GET /home 200"
msgs --tail 2 -E web && want "TIMEOUT again" "db ready" "db two" "timeout budget 30s"
msgs --tail 1 --grep timeout && want "timeout budget 30s"
msgs --tail 1 -c db && want "db two"
msgs -n 2 && want "timeout budget 30s" "GET /home 200"
msgs --tail 100 && want "request done in 812ms" "Timeout talking to db" "TIMEOUT again" \
	"db ready" "db two" "GET /metrics 200" "timeout budget 30s" "GET /home 200"
must_fail 2 "--tail with -n" elog logs --tail 1 -n 1 2>"$T/err"
grep -q "cannot be used together" "$T/err" || fail "--tail -n: $(cat "$T/err")"
must_fail 2 "--tail -1" elog logs --tail -1 2>/dev/null

say "--tail N -f: the last N of each component, then every new record"
rm -f "$T/f.ready"
"$ELOG_BIN" logs -f --tail 1 -c db,api --no-prefix --ready-file "$T/f.ready" >"$T/f.out" 2>"$T/f.err" &
FPID=$!
BG_PIDS="$BG_PIDS $FPID"
wait_for "the follower to be live" 30 test -s "$T/f.ready"
for m in live1 live2 live3; do elog send -c db "$m" || fail "send $m"; done
elog send -c web "not followed" || fail "send web"
elog send -c api "live4" || fail "send api"
wait_for "5 live lines" 30 sh -c "[ \$(wc -l <'$T/f.out') -ge 6 ]"
kill "$FPID" 2>/dev/null
printf '%s\n' "INFO  db two" "INFO  timeout budget 30s" "INFO  live1" "INFO  live2" "INFO  live3" \
	"INFO  live4" >"$T/want"
test_cmp "$T/want" "$T/f.out"

say "-o raw and -o cat print the message only"
elog logs -o raw -c db >"$T/got" || fail "logs -o raw"
want "db ready" "db two" "live1" "live2" "live3"
elog logs --output cat -n 1 -c web >"$T/got" || fail "logs -o cat"
want "not followed"

say "-o json is --json; -o json-pretty is indented JSON that parses"
elog logs -o json -n 3 >"$T/a" && elog logs --json -n 3 >"$T/b" || fail "logs -o json"
test_cmp "$T/a" "$T/b"
elog logs -o json-pretty -c api -n 2 >"$T/pretty" || fail "logs -o json-pretty"
$PY - "$T/pretty" "$T/b" <<'EOF' || fail "json-pretty does not parse as the same objects"
import json, sys
text = open(sys.argv[1]).read()
dec, pos, objs = json.JSONDecoder(), 0, []
while pos < len(text):
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos == len(text):
        break
    o, pos = dec.raw_decode(text, pos)
    objs.append(o)
assert len(objs) == 2, objs
assert [o["msg"] for o in objs] == ["timeout budget 30s", "live4"], objs
assert "\n  \"msg\": " in text, text
EOF
elog logs -o json-pretty --grep abc0151 >"$T/pretty" || fail "json-pretty with fields"
$PY -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["fields"]=={"trace_id":"abc0151","status":200}, o' \
	"$T/pretty" || fail "json-pretty fields"

say "-o logfmt: one logfmt line a record that parses back to the record"
elog logs -o logfmt -c api,web --tail 3 >"$T/lf" || fail "logs -o logfmt"
elog logs --json -c api,web --tail 3 >"$T/lj" || fail "logs --json"
$PY - "$T/lf" "$T/lj" <<'EOF' || fail "logfmt does not parse back"
import json, re, sys
tok = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')
def parse(line):
    out, pos = {}, 0
    while pos < len(line):
        m = tok.match(line, pos)
        assert m, (line, pos)
        v = m.group(2)
        out[m.group(1)] = json.loads(v) if v.startswith('"') else v
        pos = m.end()
    return out
lf = [parse(l.rstrip("\n")) for l in open(sys.argv[1])]
js = [json.loads(l) for l in open(sys.argv[2])]
assert len(lf) == len(js) == 6, (lf, js)
for a, b in zip(lf, js):
    assert a["msg"] == b["msg"] and a["component"] == b["component"], (a, b)
    assert a["level"] == b["level"] and a["ts"] == b["ts"], (a, b)
    for k, v in b["fields"].items():
        assert a[k] == (v if isinstance(v, str) else json.dumps(v)), (k, a, b)
EOF
grep -q 'msg="GET /metrics 200" path="/metrics x"$' "$T/lf" || fail "logfmt quoting: $(cat "$T/lf")"

say "-H/--highlight colors matches with --color=always, without filtering"
elog logs --color=always --no-prefix -c api -H '\d+ms' >"$T/hl" || fail "logs -H"
[ "$(wc -l <"$T/hl")" = 5 ] || fail "-H filtered: $(cat "$T/hl")"
ESC=$(printf '\033')
grep -q "request done in ${ESC}\[7m812ms${ESC}\[27m" "$T/hl" || fail "no highlight: $(cat -v "$T/hl")"
elog logs --color=always --no-prefix --highlight abc0151 -c api >"$T/hl" || fail "logs --highlight"
grep -q "trace_id=${ESC}\[0m${ESC}\[7mabc0151${ESC}\[27m" "$T/hl" || fail "field value not highlighted: $(cat -v "$T/hl")"
elog logs --color=never -c api -H '\d+ms' >"$T/hl" || fail "logs -H never"
grep -q "$ESC" "$T/hl" && fail "escape codes with --color=never"

say "--grep highlights its match on a color terminal (smart case included), not in a pipe"
elog logs --color=always --no-prefix --grep timeout >"$T/hl" || fail "logs --grep color"
grep -q "${ESC}\[7mTimeout${ESC}\[27m talking" "$T/hl" || fail "grep match not highlighted: $(cat -v "$T/hl")"
grep -q "${ESC}\[7mTIMEOUT${ESC}\[27m again" "$T/hl" || fail "grep match (upper case) not highlighted"
elog logs --grep timeout >"$T/hl" || fail "logs --grep pipe"
grep -q "$ESC" "$T/hl" && fail "escape codes in a pipe"

say "--fields and --hide-fields choose the fields printed (text, json, logfmt)"
elog logs --no-prefix --grep abc0151 --fields trace_id >"$T/got" || fail "--fields"
want "INFO  request done in 812ms trace_id=abc0151"
elog logs --no-prefix --grep abc0151 --hide-fields trace_id >"$T/got" || fail "--hide-fields"
want "INFO  request done in 812ms status=200"
elog logs --json --grep abc0151 --hide-fields trace_id,nope >"$T/json" || fail "--hide-fields json"
$PY -c 'import json,sys; o=json.loads(open(sys.argv[1]).read()); assert o["fields"]=={"status":200}, o' \
	"$T/json" || fail "--hide-fields json: $(cat "$T/json")"
elog logs -o logfmt --grep abc0151 --fields status >"$T/got" || fail "--fields logfmt"
grep -q ' msg="request done in 812ms" status=200$' "$T/got" || fail "--fields logfmt: $(cat "$T/got")"

say "export has the filter flags too"
elog export --json --tail 1 -E web --grep 'live|budget' >"$T/json" || fail "export"
$PY -c 'import json, sys; [print(json.loads(l)["msg"]) for l in open(sys.argv[1])]' "$T/json" >"$T/got"
want "live3" "live4"
elog export --csv --db "$T/h.db" -i -e LIVE -c db >"$T/csv" || fail "export --db"
[ "$(grep -c live "$T/csv")" = 0 ] || fail "export -e: $(cat "$T/csv")"

say "usage errors name the value"
must_fail 2 "-o bogus" elog logs -o bogus 2>"$T/err"
grep -q "invalid value 'bogus' for --output" "$T/err" || fail "-o bogus: $(cat "$T/err")"
must_fail 2 "-e bad" elog logs -e '(' 2>"$T/err"
grep -q "invalid pattern" "$T/err" || fail "-e (: $(cat "$T/err")"
must_fail 2 "-H bad" elog logs -H '[' 2>"$T/err"
grep -q "invalid pattern" "$T/err" || fail "-H [: $(cat "$T/err")"

say "--tail over more than 4096 components is refused, naming the limit"
start_serve many
$PY -c '
import json
for i in range(4097):
    print(json.dumps({"component": "c%04d" % i, "msg": "m"}))
' | elog send || fail "send 4097 components"
must_fail 1 "--tail over 4097 components" elog logs --tail 1 2>"$T/err"
grep -q "too many components for --tail: the limit is 4096" "$T/err" || fail "server: $(cat "$T/err")"
must_fail 1 "--tail --db over 4097 components" elog logs --db "$T/many.db" --tail 1 2>"$T/err"
grep -q "too many components for --tail: the limit is 4096" "$T/err" || fail "--db: $(cat "$T/err")"
[ "$(elog logs --tail 1 -E c0000 -c c0001,c0002 | wc -l)" = 2 ] || fail "--tail with -c under the limit"
stop_serve

say "an older server refuses the newer Query instead of ignoring it"
# What an older server does with the `pattern` field a newer client sends along with the new
# fields: it compiles it (PCRE2, like this one does with a pattern) and refuses it.
must_fail 2 "the sentinel as a pattern" elog logs --db "$T/h.db" \
	--grep '(*elog: this server is too old for this query; upgrade it' 2>"$T/err"
grep -q "invalid pattern '.*(\*elog: this server is too old" "$T/err" || fail "sentinel: $(cat "$T/err")"
# and a POSIX ERE (the even older servers) refuses it too
$PY -c '
import ctypes, ctypes.util, sys
libc = ctypes.CDLL(ctypes.util.find_library("c"))
buf = ctypes.create_string_buffer(1024)
sys.exit(0 if libc.regcomp(buf, sys.argv[1].encode(), 1) != 0 else 1)
' '(*elog: this server is too old for this query; upgrade it' || fail "regcomp accepts the sentinel"

stop_serve "$H_PID"
