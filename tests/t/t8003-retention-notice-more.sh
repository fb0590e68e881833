#!/bin/sh
# Issue #17: a reader whose records retention or prune removed is told so once, never
# silently, on the paths t8000 does not cover: flowctl GetLogs (an entry of elog's own, as
# "missed" is: LogEntry has no field for it) and a `logs --db -f` follower that polls the file
# while serve writes it and had not read the records before they went.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t8003: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
py_stubs "$T/py" || fail "generating python stubs"
start_serve h
DB="$T/h.db"
for i in $(seq 1 300); do echo "{\"component\":\"a\",\"msg\":\"old $i\"}"; done | elog send ||
	fail "send old"
for i in $(seq 1 20); do echo "{\"component\":\"b\",\"msg\":\"kept $i\"}"; done | elog send ||
	fail "send kept"
elog prune --db "$DB" -c a --before "@$(($(date +%s) + 60))" >"$T/p1" 2>&1 || fail "prune: $(cat "$T/p1")"
grep -q "^removed 300 records" "$T/p1" || fail "prune: $(cat "$T/p1")"

getlogs() {   # getlogs SINCE_SECONDS COMPONENT...: one line per entry, "component|level|message"
	PYTHONPATH="$T/py" timeout 60 $PY - "$SERVER" "$@" <<'PYEOF'
import sys
import grpc
import flowctl_pb2 as pb
import flowctl_pb2_grpc as pbg
ch = grpc.insecure_channel(sys.argv[1])
stub = pbg.ControlPlaneStub(ch)
req = pb.StreamLogsRequest(component_ids=sys.argv[3:])
if int(sys.argv[2]) > 0:
    req.since.seconds = int(sys.argv[2])
for e in stub.GetLogs(req, timeout=30):
    print("%s|%s|%s" % (e.component_id, e.level, e.message))
PYEOF
}

say "GetLogs since a time before what is left: one warn entry of elog's own first, then the records"
getlogs 1 a b >"$T/g1" || fail "GetLogs: $(cat "$T/g1")"
head -1 "$T/g1" | grep -q "^elog|warn|records before id 301 were removed by retention$" ||
	fail "first entry: $(head -1 "$T/g1")"
[ "$(grep -c 'were removed by retention' "$T/g1")" = 1 ] || fail "told $(grep -c removed "$T/g1") times"
[ "$(grep -c '^b|info|kept ' "$T/g1")" = 20 ] || fail "records after the notice: $(cat "$T/g1")"
[ "$(wc -l <"$T/g1")" = 21 ] || fail "$(wc -l <"$T/g1") entries: $(cat "$T/g1")"

say "GetLogs of a component nothing was removed from, or without since, is not told"
getlogs 1 b >"$T/g2" || fail "GetLogs b"
grep -q removed "$T/g2" && fail "told: $(cat "$T/g2")"
[ "$(wc -l <"$T/g2")" = 20 ] || fail "$(wc -l <"$T/g2") entries"
getlogs 0 >"$T/g3" || fail "GetLogs all"
grep -q removed "$T/g3" && fail "told without since: $(head -1 "$T/g3")"
[ "$(wc -l <"$T/g3")" = 20 ] || fail "$(wc -l <"$T/g3") entries"

say "logs --db -f: records removed before the follower read them are said once, then it goes on"
"$ELOG_BIN" logs --db "$DB" -f -c c --ready-file "$T/fol.ready" >"$T/fol.out" 2>"$T/fol.err" &
FOL=$!
BG_PIDS="$BG_PIDS $FOL"
wait_for "the --db follower to be ready" 30 test -s "$T/fol.ready"
elog send -c c "c first" || fail "send c first"
wait_for "the follower to show 'c first'" 30 grep -q "c first" "$T/fol.out"
kill -STOP "$FOL"
for i in $(seq 1 50); do echo "{\"component\":\"c\",\"msg\":\"unread $i\"}"; done | elog send ||
	fail "send unread"
elog prune --db "$DB" -c c --before "@$(($(date +%s) + 60))" >"$T/p2" 2>&1 || fail "prune c: $(cat "$T/p2")"
grep -q "^removed 51 records" "$T/p2" || fail "prune c: $(cat "$T/p2")"
kill -CONT "$FOL"
elog send -c c "c after" || fail "send c after"
wait_for "the follower to show 'c after'" 30 grep -q "c after" "$T/fol.out"
grep -q "unread" "$T/fol.out" && fail "the follower showed removed records"
[ "$(grep -c 'were removed by retention' "$T/fol.err")" = 1 ] ||
	fail "told $(grep -c 'were removed by retention' "$T/fol.err") times: $(cat "$T/fol.err")"
grep -q "^elog: records before id 372 were removed by retention$" "$T/fol.err" ||
	fail "follower stderr: $(cat "$T/fol.err")"
elog send -c c "c later" || fail "send c later"
wait_for "the follower to show 'c later'" 30 grep -q "c later" "$T/fol.out"
[ "$(grep -c 'were removed by retention' "$T/fol.err")" = 1 ] || fail "told again: $(cat "$T/fol.err")"
kill "$FOL" 2>/dev/null; wait "$FOL" 2>/dev/null
stop_serve
echo "t8003: ok"
