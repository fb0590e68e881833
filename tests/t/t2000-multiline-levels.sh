#!/bin/sh
# Levels of real programs' lines and stack traces joined into records, through real
# processes: elog send, elog tail FILE and elog tail -- COMMAND, checked with export --json.
# The lines come from tests/corpus: levels.tsv (line -> level) and traces/ (Java, Python,
# Node.js, Go, Ruby and .NET traces with the records they must make, expected.tsv).
. "$(dirname "$0")/lib.sh"

C=$ELOG_TOP/tests/corpus
TR=$C/traces

# mix OUT: the six trace files with an ordinary line before each one and one at the end;
# OUT.exp gets the records they must make (LEVEL<TAB>LINES<TAB>start of first line).
mix() {
	: >"$1"; : >"$1.exp"
	k=0
	for f in java.txt python.txt node.txt go.txt ruby.txt dotnet.txt; do
		echo "step $k done" >>"$1"; printf 'info\t1\tstep %s done\n' $k >>"$1.exp"
		cat "$TR/$f" >>"$1"
		awk -F'\t' -v f=$f '$1 == f { print $2 "\t" $3 "\t" $4 }' "$TR/expected.tsv" >>"$1.exp"
		k=$((k + 1))
	done
	echo "step $k done" >>"$1"; printf 'info\t1\tstep %s done\n' $k >>"$1.exp"
}

# check COMPONENT EXPECTED [FILTER]: the component's records (those whose fields match
# FILTER: stream=stderr, stream=stdout, or all) must be EXPECTED's, in order.
check() {
	elog export --json -c "$1" >"$T/got.json" || { fail "export $1"; return 1; }
	$PY - "$T/got.json" "$2" "${3:-all}" <<'P' || fail "records of $1 differ from $2"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
flt = sys.argv[3]
if flt == "stream=stderr":
    got = [r for r in got if r["fields"].get("stream") == "stderr"]
elif flt == "stream=stdout":
    got = [r for r in got if r["fields"].get("stream") != "stderr" and "exit_status" not in r["fields"]]
exp = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
bad = 0
for i in range(max(len(got), len(exp))):
    g = got[i] if i < len(got) else None
    e = exp[i] if i < len(exp) else None
    ok = g is not None and e is not None and g["level"] == e[0] and \
        g["msg"].count("\n") + 1 == int(e[1]) and g["msg"].startswith(e[2])
    if not ok:
        bad += 1
        print("record %d: expected %s, got %s" % (i, e, g and (g["level"], g["msg"].count("\n") + 1, g["msg"][:300])), file=sys.stderr)
sys.exit(1 if bad else 0)
P
}

start_serve h

say "levels: every line of the corpus gets its level through elog send"
grep -v '^#' "$C/levels.tsv" | grep . >"$T/corpus"
cut -f2- "$T/corpus" | $PY -c 'import sys
for l in sys.stdin:
    sys.stdout.write(l.replace("\\t", "\t").replace("\\e", "\033").replace("\\\\", "\\"))' >"$T/corpus.lines"
elog send -c corpus --multiline none <"$T/corpus.lines" || fail "send: exit $?"
elog export --json -c corpus | $PY -c 'import sys, json
for l in sys.stdin: print(json.loads(l)["level"])' >"$T/corpus.got"
cut -f1 "$T/corpus" | sed 's/^none$/info/' >"$T/corpus.exp"
test_cmp "$T/corpus.exp" "$T/corpus.got"
[ "$(wc -l <"$T/corpus.got")" -ge 100 ] || fail "only $(wc -l <"$T/corpus.got") corpus records"

say "levels: -l fills only what the line does not say"
printf 'plain line\n[WARN] job 7 retrying\nno error found\n' | elog send -c dflt -l debug || fail "send"
elog export --json -c dflt | $PY -c 'import sys, json
print(" ".join(json.loads(l)["level"] for l in sys.stdin))' >"$T/got"
[ "$(cat "$T/got")" = "debug warn debug" ] || fail "levels: $(cat "$T/got")"

say "logfmt lines become message, level, time and fields"
printf 'time=2024-12-03T07:50:02.5Z level=error msg="job failed" job=8 err="dial tcp: refused"\n' |
	elog send -c logfmt || fail "send"
elog export --json -c logfmt >"$T/got"
grep -q '"ts":"2024-12-03T07:50:02.5Z","component":"logfmt","level":"error","msg":"job failed","fields":{"job":"8","err":"dial tcp: refused"}' "$T/got" ||
	fail "logfmt record: $(cat "$T/got")"

say "send: traces of six languages between other lines, one record each"
mix "$T/mix"
elog send -c mix <"$T/mix" || fail "send: exit $?"
check mix "$T/mix.exp"

say "logs: each line of a joined record keeps the component column (grep keeps them)"
elog logs -c mix >"$T/logs.out" || fail "logs: exit $?"
[ "$(wc -l <"$T/logs.out")" = "$(wc -l <"$T/mix")" ] ||
	fail "logs shows $(wc -l <"$T/logs.out") lines for $(wc -l <"$T/mix") input lines"
[ "$(grep -c '^mix |' "$T/logs.out")" = "$(wc -l <"$T/mix")" ] || fail "lines without the prefix:
$(grep -v '^mix |' "$T/logs.out")"
grep -q '^mix |       	at com.example.shop.App.checkout(App.java:5)$' "$T/logs.out" ||
	fail "frame not under the message: $(head -5 "$T/logs.out")"

say "send: a trace arriving line by line in small writes is still one record"
$PY - "$T/mix" <<'P' | elog send -c slow || fail "send: exit $?"
import sys, os, time
data = open(sys.argv[1], "rb").read()
# in pieces of 7 bytes, a few ms apart (under the 200 ms quiet time): lines cut anywhere
for i in range(0, len(data), 7):
    os.write(1, data[i:i + 7])
    if i % 700 == 0:
        time.sleep(0.005)
P
check slow "$T/mix.exp"

say "send: a record is sent after 200 ms without input, while the input stays open"
( printf 'ERROR job 9 failed\n\tat a.B.c(B.java:1)\n'; i=0
  while [ $i -lt 100 ] && ! [ -e "$T/seen" ]; do sleep 0.1; i=$((i + 1)); done ) |
	"$ELOG_BIN" send -c quiet &
P=$!
BG_PIDS="$BG_PIDS $P"
wait_for "the held record" 10 sh -c "\"$ELOG_BIN\" export --json -c quiet | grep -q 'job 9 failed\\\\n\\\\tat a.B.c'" &&
	touch "$T/seen"
touch "$T/seen"
wait $P || fail "send: exit $?"
[ "$(elog export --json -c quiet | wc -l)" = 1 ] || fail "quiet: $(elog export --json -c quiet)"

say "tail -- COMMAND: traces on stderr while stdout prints, joined per stream"
cat >"$T/both.py" <<'P'
import os, sys
data = open(sys.argv[1], "rb").read().splitlines(True)
for i, l in enumerate(data):
    os.write(2, l)                            # the traces on stderr
    if i % 3 == 0:
        os.write(1, b"stdout line %d\n" % i)  # and something else on stdout meanwhile
P
elog tail -q -c both -- $PY "$T/both.py" "$T/mix" || fail "tail: exit $?"
check both "$T/mix.exp" stream=stderr
awk 'NR % 3 == 1 { printf "info\t1\tstdout line %d\n", NR - 1 }' "$T/mix" >"$T/both.out.exp"
check both "$T/both.out.exp" stream=stdout
elog export --json -c both | tail -1 | grep -q '"msg":"both exited with status 0"' ||
	fail "no exit record last"

say "tail -- COMMAND: a Python program's real uncaught traceback is one error record"
printf 'import logging\nlogging.warning("about to fail")\nprint("working", flush=True)\n{}["missing"]\n' >"$T/boom.py"
must_fail 1 "python exit status" elog tail -q -c boom -- $PY "$T/boom.py"
# stdout and stderr are two pipes: which one elog reads first is up to the scheduler, so the
# stderr records are checked in order, and "working" and the exit record on their own
elog export --json -c boom | $PY -c 'import sys, json
rs = [json.loads(l) for l in sys.stdin]
for r in [r for r in rs if r["fields"].get("stream") == "stderr"] + \
         [r for r in rs if r["fields"].get("stream") != "stderr"]:
    print(r["level"], r["msg"].count("\n") + 1, r["msg"].splitlines()[0])' >"$T/got"
cat >"$T/exp" <<'X'
warn 1 WARNING:root:about to fail
error 5 Traceback (most recent call last):
info 1 working
error 1 boom exited with status 1
X
# python 3.11+ adds a caret line under the failing expression
sed 's/^error 6 Traceback/error 5 Traceback/' "$T/got" >"$T/got2"
test_cmp "$T/exp" "$T/got2"

if command -v node >/dev/null 2>&1; then
say "tail -- COMMAND: a Node.js program's caught and uncaught errors (node is installed)"
cat >"$T/t.js" <<'J'
function parse(s) { if (!s) throw new TypeError("bad input: " + s); return s; }
console.log("listening on :8080");
try { parse(""); } catch (e) { console.error(e); }
parse(null);
J
must_fail 1 "node exit status" elog tail -q -c nodejs -- node "$T/t.js"
elog export --json -c nodejs | $PY -c 'import sys, json
for l in sys.stdin:
    r = json.loads(l); print(r["level"], r["msg"].splitlines()[0])' >"$T/got"
printf 'info listening on :8080\nerror TypeError: bad input: \nerror %s:1\nerror nodejs exited with status 1\n' "$T/t.js" >"$T/exp"
test_cmp "$T/exp" "$T/got"
elog export --json -c nodejs | grep -q 'Node.js v' || fail "the uncaught error's record lacks its Node.js trailer"
fi

say "tail FILE: traces written in pieces are joined; restart stores nothing twice"
: >"$T/app.log"
"$ELOG_BIN" tail -c app --state "$T/tail.db" --ready-file "$T/tail.ready" "$T/app.log" 2>"$T/tail.err" &
P=$!
BG_PIDS="$BG_PIDS $P"
wait_for "tail ready" 20 test -e "$T/tail.ready"
$PY - "$T/mix" "$T/app.log" <<'P'
import sys
data = open(sys.argv[1], "rb").read()
with open(sys.argv[2], "ab", buffering=0) as f:
    for i in range(0, len(data), 4096):
        f.write(data[i:i + 4096])
P
n=$(wc -l <"$T/mix.exp")
wait_for "all records of app.log" 30 sh -c "[ \$(\"$ELOG_BIN\" export --json -c app | wc -l) -ge $n ]"
kill -TERM $P; wait $P
check app "$T/mix.exp"
elog export --json -c app | grep -q '"file":"'"$T"'/app.log"' || fail "no file field"
# a restart resumes after what was acknowledged: nothing is sent again
cat "$TR/go.txt" >>"$T/app.log"
rm -f "$T/tail.ready"
"$ELOG_BIN" tail -c app --state "$T/tail.db" --ready-file "$T/tail.ready" "$T/app.log" 2>>"$T/tail.err" &
P=$!
BG_PIDS="$BG_PIDS $P"
wait_for "tail ready again" 20 test -e "$T/tail.ready"
wait_for "the appended trace" 30 sh -c "[ \$(\"$ELOG_BIN\" export --json -c app | wc -l) -ge $((n + 2)) ]"
kill -TERM $P; wait $P
cp "$T/mix.exp" "$T/app2.exp"
awk -F'\t' '$1 == "go.txt" { print $2 "\t" $3 "\t" $4 }' "$TR/expected.tsv" >>"$T/app2.exp"
check app "$T/app2.exp"

say "--multiline none keeps every line a record; REGEX says what a first line is"
printf 'ERROR x\n\tat a.B(B.java:1)\n' | elog send -c none --multiline none || fail "send none"
[ "$(elog export --json -c none | wc -l)" = 2 ] || fail "none: $(elog export --json -c none)"
printf '2024-12-03 a\nnot indented\n2024-12-03 b\n' | elog send -c rx --multiline '^[0-9]{4}-' || fail "send rx"
elog export --json -c rx | $PY -c 'import sys, json
print("|".join(json.loads(l)["msg"] for l in sys.stdin))' >"$T/got"
[ "$(cat "$T/got")" = "2024-12-03 a
not indented|2024-12-03 b" ] || fail "regex: $(cat "$T/got")"
must_fail 2 "bad regex" elog send --multiline '(' x 2>"$T/err"
grep -q "invalid --multiline regular expression '('" "$T/err" || fail "message: $(cat "$T/err")"
must_fail 2 "tail bad regex" elog tail --multiline '(' -- true 2>"$T/err"

stop_serve
