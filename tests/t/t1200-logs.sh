#!/bin/sh
# elog logs: the filters (-c, -l, --since/--until, --grep, -n), --json, colors (always, never,
# NO_COLOR on a terminal), --timestamps, --no-prefix, aligned prefixes from the first line,
# --db without a server, a closed pipe, and usage errors.
. "$(dirname "$0")/lib.sh"

start_serve h

# Fixed-time records, and records relative to now (2 h ago, 10 min ago, now).
cat >"$T/in" <<'EOF'
{"ts":"2024-01-20T10:00:00Z","component":"api","level":"debug","msg":"boot api"}
{"ts":"2024-01-20T10:00:01Z","component":"db","level":"info","msg":"db ready","port":5432}
{"ts":"2024-01-20T10:00:02Z","component":"api","level":"warn","msg":"slow request 812ms"}
{"ts":"2024-01-20T10:00:03Z","component":"web","level":"error","msg":"upstream failed"}
{"ts":"2024-01-20T10:00:04Z","component":"db","level":"fatal","msg":"disk gone"}
{"ts":"2024-01-20T10:00:05Z","component":"web","level":"info","msg":"request 200"}
EOF
elog send <"$T/in" || fail "send fixed"
$PY -c '
import datetime as d, json
now = d.datetime.now(d.timezone.utc)
for ago, m in ((7200, "two hours ago"), (600, "ten minutes ago")):
    print(json.dumps({"ts": (now - d.timedelta(seconds=ago)).isoformat(), "component": "rel", "msg": m}))
' | elog send || fail "send relative"
elog send -c rel "just now" || fail "send now"

# msgs ARGS...: the messages `elog logs --no-prefix ARGS` prints, one a line, in $T/got.
msgs() {
	elog logs --json "$@" >"$T/json" || fail "logs $*"
	$PY -c 'import json, sys; [print(json.loads(l)["msg"]) for l in open(sys.argv[1])]' "$T/json" >"$T/got"
}
# want LINES...: $T/got must be exactly these lines.
want() {
	: >"$T/want"
	[ $# = 0 ] || printf '%s\n' "$@" >"$T/want"
	test_cmp "$T/want" "$T/got"
}

say "-c: repeated and comma-separated"
msgs -c db
want "db ready" "disk gone"
msgs -c db -c web
want "db ready" "upstream failed" "disk gone" "request 200"
msgs -c db,web
want "db ready" "upstream failed" "disk gone" "request 200"
msgs -c nosuch
want

say "-l: a list and a minimum"
msgs -l error,warn
want "slow request 812ms" "upstream failed"
msgs -l warn+ --until 2024-01-21T00:00:00Z
want "slow request 812ms" "upstream failed" "disk gone"
msgs -l debug -c api
want "boot api"

say "--since/--until: absolute"
msgs --since 2024-01-20T10:00:02Z --until 2024-01-20T10:00:04Z
want "slow request 812ms" "upstream failed" "disk gone"
msgs --since '2024-01-20 10:00:04' --until 2024-01-20T10:00:05.000000001Z
want "disk gone" "request 200"
msgs --until 2024-01-20T10:00:00.5Z
want "boot api"

say "--since/--until: relative"
msgs --since 1h
want "ten minutes ago" "just now"
msgs --since '5m ago'
want "just now"
msgs --since 1h30m --until -5m
want "ten minutes ago"
msgs -c rel --until 1h
want "two hours ago"
msgs -c rel --since 1d
want "two hours ago" "ten minutes ago" "just now"

say "--grep and -n"
msgs --grep 'request [0-9]+'
want "slow request 812ms" "request 200"
msgs --grep '^d'
want "db ready" "disk gone"
msgs -n 2
want "ten minutes ago" "just now"
msgs -n 2 -c api,db
want "slow request 812ms" "disk gone"

msgs -n 0
want
must_fail 2 "negative -n" "$ELOG_BIN" logs -n -3 2>/dev/null

say "--json: one object per record, in id order"
elog logs --json -c db >"$T/json" || fail "logs --json"
$PY - "$T/json" <<'EOF' || fail "json check"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 2, recs
assert set(recs[0]) == {"id", "ts", "component", "level", "msg", "fields", "source"}, recs[0]
assert recs[0]["fields"] == {"port": 5432} and recs[0]["ts"] == "2024-01-20T10:00:01Z", recs[0]
assert recs[0]["id"] < recs[1]["id"]
EOF

say "text: prefixes aligned from the first line, level, message, fields"
elog logs --color=never -c web,db >"$T/text" || fail "logs text"
cat >"$T/want" <<'EOF'
db  | INFO  db ready port=5432
web | ERROR upstream failed
db  | FATAL disk gone
web | INFO  request 200
EOF
test_cmp "$T/want" "$T/text"
elog logs --color=never --since 2024-01-20T10:00:01Z --until 2024-01-20T10:00:01Z >"$T/text" ||
	fail "logs all"
[ "$(cat "$T/text")" = "db  | INFO  db ready port=5432" ] || fail "padding without -c: $(cat "$T/text")"
elog logs --color=never -n 1 >"$T/text" || fail "logs -n 1"
[ "$(cat "$T/text")" = "rel | INFO  just now" ] || fail "-n 1: $(cat "$T/text")"

say "--no-prefix and --timestamps"
elog logs --color=never --no-prefix -c db >"$T/text" || fail "logs --no-prefix"
printf 'INFO  db ready port=5432\nFATAL disk gone\n' >"$T/want"
test_cmp "$T/want" "$T/text"
TZ=UTC elog logs --color=never --timestamps -c web >"$T/text" || fail "logs --timestamps"
grep -q '^web | 2024-01-20[T ]10:00:03' "$T/text" || fail "no timestamp: $(cat "$T/text")"
elog logs --color=never --timestamps --utc --no-prefix -c web >"$T/text" || fail "logs --utc"
grep -q '^2024-01-20T10:00:05.*request 200$' "$T/text" || fail "utc timestamp: $(cat "$T/text")"

say "colors: always, never"
elog logs --color=always >"$T/color" || fail "logs --color=always"
grep -q "$(printf '\033')\[" "$T/color" || fail "no ANSI codes with --color=always"
$PY - "$T/color" <<'EOF' || fail "component colors"
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
col = {}
for line in text.splitlines():
    m = re.match(r"\x1b\[([0-9;]+)m(\w+)", line)
    assert m, "line starts without a color: %r" % line
    col.setdefault(m.group(2), set()).add(m.group(1))
assert set(col) == {"api", "db", "web", "rel"}, col
for name, codes in col.items():
    assert len(codes) == 1, "%s has several colors %s" % (name, codes)
codes = [next(iter(c)) for c in col.values()]
assert len(set(codes)) == len(codes), "components share a color: %s" % col
for c in codes:
    assert c not in ("31", "33", "91", "93", "1;31", "1;33"), "reserved color %s" % c
EOF
elog logs --color=never >"$T/plain" || fail "logs --color=never"
! grep -q "$(printf '\033')" "$T/plain" || fail "ANSI codes with --color=never"
NO_COLOR=1 elog logs --color=always >"$T/color2" || fail "NO_COLOR with always"
grep -q "$(printf '\033')\[" "$T/color2" || fail "--color=always must win over NO_COLOR"
must_fail 2 "bad --color" "$ELOG_BIN" logs --color=sometimes 2>/dev/null

say "color auto: on a terminal unless NO_COLOR or TERM=dumb; never into a pipe"
elog logs >"$T/auto" || fail "logs auto"
! grep -q "$(printf '\033')" "$T/auto" || fail "colors into a file with auto"
# ontty ENV...: runs `elog logs` on a pseudo-terminal, prints 1 when its output has ANSI codes.
ontty() {
	$PY - "$ELOG_BIN" "$@" <<'EOF'
import os, pty, sys
elog, envs = sys.argv[1], sys.argv[2:]
env = dict(os.environ)
env.pop("NO_COLOR", None)
env["TERM"] = "xterm-256color"
for e in envs:
    k, v = e.split("=", 1)
    env[k] = v
pid, fd = pty.fork()
if pid == 0:
    os.execve(elog, [elog, "logs", "-c", "db"], env)
out = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, st = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(st) == 0, out
assert b"disk gone" in out, out
print(1 if b"\x1b[" in out else 0)
EOF
}
[ "$(ontty)" = 1 ] || fail "no colors on a terminal"
[ "$(ontty NO_COLOR=1)" = 0 ] || fail "colors on a terminal with NO_COLOR"
[ "$(ontty TERM=dumb)" = 0 ] || fail "colors on a terminal with TERM=dumb"

say "--db PATH without a server"
cp "$T/h.db" "$T/copy.db" 2>/dev/null
stop_serve
elog logs --db "$T/h.db" --json -c db -l fatal >"$T/json" || fail "logs --db"
[ "$(wc -l <"$T/json")" = 1 ] && grep -q '"disk gone"' "$T/json" || fail "logs --db: $(cat "$T/json")"
ELOG_SERVER=127.0.0.1:1 elog logs --db "$T/h.db" --color=never -c api >"$T/text" 2>"$T/err" ||
	fail "logs --db with a dead server"
[ "$(wc -l <"$T/text")" = 2 ] && [ ! -s "$T/err" ] || fail "logs --db: $(cat "$T/text" "$T/err")"
elog logs --db "$T/h.db" --color=never -c db -n 1 -l fatal >"$T/text" || fail "logs --db text"
[ "$(cat "$T/text")" = "db | FATAL disk gone" ] || fail "--db -c db: $(cat "$T/text")"
elog logs --db "$T/h.db" --color=never -n 1 -l fatal >"$T/text" || fail "logs --db text"
[ "$(cat "$T/text")" = "db  | FATAL disk gone" ] || fail "--db padding: $(cat "$T/text")"
must_fail 1 "logs --db missing file" "$ELOG_BIN" logs --db "$T/nosuch.db" 2>"$T/err"
grep -q "nosuch.db" "$T/err" || fail "missing file not named: $(cat "$T/err")"

say "a closed pipe ends quietly with exit 0"
start_serve big
seq 1 30000 | elog send -c big || fail "send big"
{ elog logs 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head -1 >"$T/first"
[ "$(cat "$T/pipe.rc")" = 0 ] || fail "logs | head -1 exited $(cat "$T/pipe.rc")"
[ ! -s "$T/pipe.err" ] || fail "logs | head -1 wrote: $(cat "$T/pipe.err")"
[ "$(cat "$T/first")" = "big | INFO  1" ] || fail "first line: $(cat "$T/first")"
{ elog logs --db "$T/big.db" --json 2>"$T/pipe.err"; echo $? >"$T/pipe.rc"; } | head -1 >/dev/null
[ "$(cat "$T/pipe.rc")" = 0 ] && [ ! -s "$T/pipe.err" ] || fail "logs --db | head: $(cat "$T/pipe.rc" "$T/pipe.err")"

say "usage errors: exit 2"
must_fail 2 "bad --since" "$ELOG_BIN" logs --since yesterdayish 2>"$T/err"
grep -q "yesterdayish" "$T/err" || fail "bad --since message: $(cat "$T/err")"
must_fail 2 "bad --until" "$ELOG_BIN" logs --until 2024-13-45T99:00:00Z 2>/dev/null
must_fail 2 "bad level" "$ELOG_BIN" logs -l loud 2>/dev/null
must_fail 2 "bad regex" "$ELOG_BIN" logs --grep 'a(' 2>/dev/null
must_fail 2 "bad -n" "$ELOG_BIN" logs -n x 2>/dev/null
must_fail 2 "stray arg" "$ELOG_BIN" logs stray 2>/dev/null
must_fail 2 "bad flag" "$ELOG_BIN" logs --bogus 2>/dev/null
stop_serve
echo "t1200: ok"
