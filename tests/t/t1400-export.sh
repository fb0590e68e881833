#!/bin/sh
# elog export: --json and --csv columns and escaping (checked with python's json and csv),
# -o FILE, filters, --db PATH, the fallback to the default history once serve stopped, id
# order, and usage errors.
. "$(dirname "$0")/lib.sh"

# serve on the default history ($XDG_STATE_HOME/elog/history.db): no --db.
rm -f "$T/def.ready"
"$ELOG_BIN" serve --listen 127.0.0.1:0 --ready-file "$T/def.ready" 2>"$T/def.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait_for "serve ready" 20 test -s "$T/def.ready"
export ELOG_SERVER=$(head -1 "$T/def.ready")
DB=$XDG_STATE_HOME/elog/history.db

cat >"$T/in" <<'EOF'
{"ts":"2024-01-20T10:00:00.123456789Z","component":"csv,comp","level":"warn","msg":"comma, \"quotes\" and\nnewline\r\nCRLF","k":"v,\"x\"","n":[1,{"a":null}]}
{"ts":"2024-01-20T10:00:01Z","component":"plain","level":"error","msg":"tab\there; unicode é ✓ 🎉"}
{"ts":"2024-01-20T09:00:00Z","component":"plain","msg":"older event time, later id"}
leading space and trailing space 
EOF
elog send -c plain <"$T/in" || fail "send"
elog send -c plain --source script 'from --source' || fail "send --source"

say "--json: columns, values, escaping, id order"
elog export --json >"$T/out.jsonl" || fail "export --json"
$PY - "$T/out.jsonl" <<'EOF' || fail "json check"
import json, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")
recs = [json.loads(l) for l in raw.decode().splitlines()]
assert len(recs) == 5, recs
for r in recs:
    assert list(r) == ["id", "ts", "component", "level", "msg", "fields", "source"], list(r)
    assert isinstance(r["id"], int) and isinstance(r["fields"], dict)
    assert r["ts"].endswith("Z"), r["ts"]
ids = [r["id"] for r in recs]
assert ids == sorted(ids) and len(set(ids)) == 5, ids
a, b, c, d, e = recs
assert a["component"] == "csv,comp" and a["level"] == "warn"
assert a["msg"] == 'comma, "quotes" and\nnewline\r\nCRLF', repr(a["msg"])
assert a["fields"] == {"k": 'v,"x"', "n": [1, {"a": None}]}, a["fields"]
assert a["ts"] == "2024-01-20T10:00:00.123456789Z", a["ts"]
assert a["source"] == "send"
assert b["msg"] == "tab\there; unicode é ✓ 🎉" and b["level"] == "error"
assert c["ts"] == "2024-01-20T09:00:00Z" and c["id"] > b["id"]
assert d["msg"] == "leading space and trailing space ", repr(d["msg"])
assert e["source"] == "script" and e["msg"] == "from --source"
EOF

say "--csv: RFC 4180, header, same columns, fields as JSON text"
elog export --csv >"$T/out.csv" || fail "export --csv"
$PY - "$T/out.csv" "$T/out.jsonl" <<'EOF' || fail "csv check"
import csv, json, sys
raw = open(sys.argv[1], "rb").read()
text = raw.decode("utf-8")
assert text.startswith("id,ts,component,level,msg,fields,source\r\n"), text[:60]
assert text.endswith("\r\n")
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8", newline=""), strict=True))
recs = [json.loads(l) for l in open(sys.argv[2], encoding="utf-8")]
assert rows[0] == ["id", "ts", "component", "level", "msg", "fields", "source"], rows[0]
assert len(rows) == 1 + len(recs), len(rows)
for row, r in zip(rows[1:], recs):
    assert row[0] == str(r["id"]) and row[1] == r["ts"] and row[2] == r["component"], (row, r)
    assert row[3] == r["level"] and row[4] == r["msg"] and row[6] == r["source"], (row, r)
    assert json.loads(row[5]) == r["fields"], (row[5], r["fields"])
EOF

say "-o FILE, filters"
elog export --json -o "$T/o.jsonl" -c plain -l error+ || fail "export -o"
[ "$(wc -l <"$T/o.jsonl")" = 1 ] && grep -q '"tab\\there' "$T/o.jsonl" || fail "-o content: $(cat "$T/o.jsonl")"
elog export --csv --output "$T/o.csv" --since 2024-01-20T09:30:00Z --until 2024-01-21T00:00:00Z || fail "export --output"
[ "$(wc -l <"$T/o.csv")" -ge 3 ] || fail "csv -o lines"
$PY -c 'import csv, sys; rows = list(csv.reader(open(sys.argv[1], newline=""))); assert len(rows) == 3, rows' "$T/o.csv" ||
	fail "csv -o rows"
elog export --json -n 1 >"$T/n1" || fail "export -n 1"
grep -q '"from --source"' "$T/n1" && [ "$(wc -l <"$T/n1")" = 1 ] || fail "-n 1: $(cat "$T/n1")"
must_fail 1 "unwritable -o" "$ELOG_BIN" export --json -o "$T/nodir/x.jsonl" 2>"$T/err"
grep -q "nodir/x.jsonl" "$T/err" || fail "unwritable -o message: $(cat "$T/err")"

say "bulk: many records stream out in id order"
seq 1 30000 | elog send -c bulk || fail "send bulk"
elog export --csv -c bulk >"$T/bulk.csv" || fail "export bulk"
$PY - "$T/bulk.csv" <<'EOF' || fail "bulk check"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))[1:]
assert [r[4] for r in rows] == [str(i) for i in range(1, 30001)]
ids = [int(r[0]) for r in rows]
assert ids == sorted(ids) and len(set(ids)) == len(ids)
EOF
elog export --json >"$T/live.jsonl" || fail "export all live"

say "after serve stopped: --db PATH, and the default history"
stop_serve
elog export --json --db "$DB" >"$T/db.jsonl" || fail "export --db"
test_cmp "$T/live.jsonl" "$T/db.jsonl"
elog export --json 2>"$T/err" >"$T/fallback.jsonl" || fail "export fallback: $(cat "$T/err")"
test_cmp "$T/live.jsonl" "$T/fallback.jsonl"
grep -q "history.db" "$T/err" || fail "fallback does not say which file: $(cat "$T/err")"
elog export --csv -c plain --timeout 1 >"$T/fb.csv" 2>/dev/null || fail "export csv fallback"
[ "$(wc -l <"$T/fb.csv")" -ge 5 ] || fail "csv fallback rows"
mv "$DB" "$T/moved.db"
must_fail 3 "no server, no history" "$ELOG_BIN" export --json --timeout 1 2>"$T/err" >/dev/null
grep -q "$ELOG_SERVER" "$T/err" || fail "unreachable message: $(cat "$T/err")"
must_fail 1 "--db missing" "$ELOG_BIN" export --json --db "$T/nosuch.db" 2>"$T/err"
grep -q "nosuch.db" "$T/err" || fail "missing --db not named: $(cat "$T/err")"

say "usage errors: exit 2"
must_fail 2 "neither --json nor --csv" "$ELOG_BIN" export --db "$T/moved.db" 2>/dev/null
must_fail 2 "both --json and --csv" "$ELOG_BIN" export --json --csv --db "$T/moved.db" 2>/dev/null
must_fail 2 "bad --since" "$ELOG_BIN" export --json --since nope --db "$T/moved.db" 2>/dev/null
must_fail 2 "stray argument" "$ELOG_BIN" export --json stray --db "$T/moved.db" 2>/dev/null
must_fail 2 "bad flag" "$ELOG_BIN" export --xml 2>/dev/null
echo "t1400: ok"
