#!/bin/sh
# JSON nested deeper than the bound (64 levels, README "Limits") on every path: a record
# 10,000 levels deep sent with `elog send`, read back by `elog logs`, `elog export` and flowctl
# GetLogs; 40 KB nested relay payloads; a logging.v1 frame whose metadata Struct nests 20,000
# levels (protobuf-c unpacks recursively: refused before unpacking); and a history that already holds unbounded deep fields
# (stored before the bound) read after a restart. serve stays up; the deep values are kept as
# text, every bracket of them.
. "$(dirname "$0")/lib.sh"
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
peer() { timeout 300 $PY "$ELOG_TOP/tests/py/hostile_json_peer.py" "$@"; }
# alive NAME: serve NAME still runs
alive() { kill -0 "$SERVE_PID" 2>/dev/null || fail "serve died: $(grep -m1 ERROR "$T/$1.err")"; }

# {"msg":"d...","a": + N '[' + N ']' + }
deep() {
	$PY -c 'import sys; n = int(sys.argv[2]); print("{\"msg\":\"%s\",\"a\":%s%s}" % (sys.argv[1], "[" * n, "]" * n))' "$@"
}
# check_deep FILE: every line of an export --json is JSON, its fields nest at most 64 levels
# and the deep one holds all its brackets
check_deep() {
	$PY - "$1" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
def depth(v):
    if isinstance(v, dict):
        return 1 + max([depth(x) for x in v.values()] or [0])
    if isinstance(v, list):
        return 1 + max([depth(x) for x in v] or [0])
    return 0
deep = [r for r in rows if r["msg"].startswith("d") and "a" in r["fields"]]
assert deep, "no deep record among %d" % len(rows)
for r in rows:
    assert depth(r["fields"]) <= 64, "fields nest %d levels" % depth(r["fields"])
for r in deep:
    t = json.dumps(r["fields"]["a"])
    assert t.count("[") == 10000 and t.count("]") == 10000, "brackets lost"
print("export: %d rows, %d deep, bounded" % (len(rows), len(deep)))
PY
}

start_serve h

say "a record 10,000 levels deep is stored with its deep part as text; logs and export show it"
deep d1 10000 >"$T/deep.json"
elog send -c deep <"$T/deep.json" || fail "send of the deep record"
elog logs -c deep >"$T/logs.out" || fail "logs"
grep -q 'a=' "$T/logs.out" || fail "logs shows no field a: $(head -c 200 "$T/logs.out")"
elog export --json >"$T/exp.jsonl" || fail "export --json"
check_deep "$T/exp.jsonl" || fail "export --json of the deep record"
alive h

say "flowctl GetLogs reads the deep record, bounded, and serve stays up"
peer getlogs-deep "$SERVER" 1 || fail "GetLogs of the deep record"
peer getlogs-deep "$SERVER" 1 || fail "GetLogs again"
alive h
stop_serve

say "relay Receive of 40 KB nested JSON (a plain key and a \"relay\" key) is received"
start_serve r
peer relay-deep "$SERVER" || fail "relay Receive of deep payloads"
alive r
peer getlogs-deep "$SERVER" 2 || fail "GetLogs after the deep relay payloads"
alive r
stop_serve

say "a logging.v1 frame nesting Structs 20,000 deep is refused naming the limit; serve stays up"
start_serve ls
peer logsvc-deep-struct "$SERVER" || fail "logging.v1 frame with deep Structs"
alive ls

say "a logging.v1 frame whose metadata nests 64 levels is stored whole: past the JSON bound as text"
elog export --json -c deep-session >"$T/ls.json" || fail "export deep-session"
$PY - "$T/ls.json" <<'PY' || fail "metadata levels lost: $(head -c 600 "$T/ls.json")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1, len(recs)
v, levels = recs[0]["fields"]["metadata"], 0
while True:
    if isinstance(v, str):          # past the bound: the rest is its JSON text
        v = json.loads(v)
        continue
    if not isinstance(v, dict) or "a" not in v:
        break
    levels += 1
    v = v["a"]
assert levels == 64, levels
PY
stop_serve

say "a history holding unbounded deep fields (stored before the bound) is read after a restart"
start_serve old
stop_serve
$PY - "$T/old.db" <<'PY' || fail "inserting an unbounded record"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
f = '{"a":' + "[" * 10000 + "]" * 10000 + "}"
db.execute("INSERT INTO records (ts, arrival, component, level, msg, fields, source) "
           "VALUES (0, 1700000000000000000, 'old', 2, 'd-old', ?, 'test')", (f,))
db.commit()
PY
start_serve old
peer getlogs-deep "$SERVER" 1 || fail "GetLogs of a stored unbounded record"
alive old
elog logs -c old >"$T/logs2.out" || fail "logs of the stored unbounded record"
grep -q 'd-old a=\[\[' "$T/logs2.out" || fail "logs: $(head -c 200 "$T/logs2.out")"
elog export --json -c old >"$T/exp2.jsonl" || fail "export of the stored unbounded record"
check_deep "$T/exp2.jsonl" || fail "export --json of the stored unbounded record"
alive old
stop_serve
