#!/bin/sh
# OTLP/HTTP on the --http listener (POST /v1/logs, /v1/traces): the official OpenTelemetry
# JavaScript SDK's HTTP exporters (exporter-logs-otlp-proto, exporter-logs-otlp-http (JSON),
# exporter-trace-otlp-proto, tests/js; Node sends its bodies chunked) export to `elog serve
# --http`, plain and gzip, and `elog export --json` shows the mapped records; urllib cases:
# an OTLP/JSON body (camelCase names, hex ids, 64-bit ints as strings, enums as numbers),
# partial_success in the response, 415 for another content type or encoding, 400 with a
# google.rpc.Status for an undecodable body (JSON and protobuf), 413 over 16 MiB, gzip JSON.
# Under --auth: no key is 401; x-junjo-api-key, x-api-key and Authorization: Bearer are
# accepted, and the JS SDK with a key header is stored.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 && [ -d "$ELOG_TOP/tests/js/node_modules/@opentelemetry/exporter-logs-otlp-proto" ] || {
	skip_test "node or tests/js/node_modules is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"; }
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN
js() { timeout 120 node "$ELOG_TOP/tests/js/otel_peer.js" "$@"; }
q() {
	f=$1; shift
	$PY - "$f" "$@" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
by = {r["msg"]: r for r in rows}
for e in sys.argv[2:]:
    if not eval(e):
        print("check failed: %s" % e)
        sys.exit(1)
PY
}
run_case() {
	timeout 120 $PY "$T/case.py" "$@" >"$T/case.out" 2>&1 || fail "$(cat "$T/case.out")"
}

start_serve h --http 127.0.0.1:0
WEB=$(grep '^http://' "$T/h.ready" | head -1)
[ -n "$WEB" ] || fatal "no http:// line in the ready file: $(cat "$T/h.ready")"

say "the JS SDK's OTLP/HTTP protobuf log exporter is acknowledged and its records are mapped"
out=$(js logs --target x --http "$WEB" --n 6 --batch 2) || fail "js logs: $out"
elog export --json -c jsdemo >"$T/js.json" || fail "export"
q "$T/js.json" 'len(rows) == 6' \
	'all(r["component"] == "jsdemo" and r["source"] == "otlp" for r in rows)' \
	'[r["level"] for r in rows] == ["warn", "debug", "info", "warn", "error", "fatal"]' \
	'rows[1]["msg"] == "js log 1" and rows[1]["fields"]["seq"] == 1 and rows[1]["fields"]["user.id"] == "u1"' \
	'rows[1]["fields"]["resource.host.name"] == "peerhost"' \
	'json.loads(rows[0]["msg"]) == {"event": "login", "tries": 2, "tags": ["a", "b"]}' \
	'rows[0]["fields"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and rows[0]["fields"]["span_id"] == "b7ad6b7169203331"' \
	'rows[0]["ts"] == "2024-01-02T03:04:05.678Z"' || fail "JS records not as mapped: $(cat "$T/js.json")"

say "the JS SDK's OTLP/JSON log exporter (exporter-logs-otlp-http) gives the same records"
out=$(js logs --target x --http "$WEB" --json --n 6 --service jsjson) || fail "js json: $out"
elog export --json -c jsjson >"$T/jsj.json" || fail "export"
q "$T/jsj.json" 'len(rows) == 6' \
	'[r["level"] for r in rows] == ["warn", "debug", "info", "warn", "error", "fatal"]' \
	'json.loads(rows[0]["msg"]) == {"event": "login", "tries": 2, "tags": ["a", "b"]}' \
	'rows[0]["fields"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and rows[0]["fields"]["span_id"] == "b7ad6b7169203331"' \
	'rows[0]["ts"] == "2024-01-02T03:04:05.678Z" and rows[2]["fields"]["ok"] is True and rows[2]["fields"]["seq"] == 2' ||
	fail "JSON records not as mapped: $(cat "$T/jsj.json")"

say "the JS SDK's OTLP/HTTP trace exporter: spans become records (errors as ERROR)"
out=$(js traces --target x --http "$WEB" --n 4 --service tracer) || fail "js traces: $out"
elog export --json -c tracer >"$T/tr.json" || fail "export"
q "$T/tr.json" 'len(rows) == 8' 'all(r["source"] == "otlp-span" for r in rows)' \
	'sum(1 for r in rows if r["msg"] == "span db query 12.3 ms") == 4' \
	'[r["level"] for r in rows if r["level"] == "error"] == ["error"]' \
	'all(len(r["fields"]["trace_id"]) == 32 for r in rows)' || fail "spans: $(cat "$T/tr.json")"

say "the JS SDK with compression gzip is accepted"
out=$(js logs --target x --http "$WEB" --n 4 --gzip --service gz) || fail "js gzip: $out"
elog export --json -c gz >"$T/gz.json" || fail "export"
q "$T/gz.json" 'len(rows) == 4' || fail "gzip records: $(cat "$T/gz.json")"

say "OTLP/JSON by hand: camelCase, hex ids, 64-bit ints as strings, enums, partial_success"
cat >"$T/case.py" <<'EOF'
import gzip, json, sys
from weblib import *
base = sys.argv[1]
J = {"Content-Type": "application/json"}
def rec(body, **kw):
    r = {"body": {"stringValue": body}}
    r.update(kw)
    return r
req = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "hand"}}]},
    "scopeLogs": [{"scope": {"name": "s"}, "logRecords": [
        rec("one", timeUnixNano="1700000000000000006", severityNumber=17,
            traceId="0102030405060708090a0b0c0d0e0f10", spanId="0102030405060708",
            attributes=[{"key": "n", "value": {"intValue": "9007199254740993"}},
                        {"key": "d", "value": {"doubleValue": 0.5}},
                        {"key": "b", "value": {"bytesValue": "AAFoaQ=="}},
                        {"key": "l", "value": {"arrayValue": {"values": [{"stringValue": "x"}, {"intValue": 7}]}}},
                        {"key": "unknownish", "value": {"boolValue": True}, "futureField": 1}]),
        rec("two", observed_time_unix_nano=1700000002000000000, severityText="warning"),
        rec("too big", attributes=[{"key": "big", "value": {"stringValue": "x" * (1100 * 1024)}}]),
    ]}]}]}
st, h, body = http(base + "/v1/logs", J, json.dumps(req).encode(), "POST")
check(st == 200 and h.get("Content-Type", "").startswith("application/json"), "json export: %s %s" % (st, body[:300]))
r = json.loads(body)
check(r.get("partialSuccess", {}).get("rejectedLogRecords") in ("1", 1) and "1048576" in r["partialSuccess"].get("errorMessage", ""),
      "partial success: %s" % body[:300])
# gzip JSON
req2 = {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "hand"}}]},
        "scopeLogs": [{"logRecords": [rec("zipped")]}]}]}
st, h, body = http(base + "/v1/logs", dict(J, **{"Content-Encoding": "gzip"}), gzip.compress(json.dumps(req2).encode()), "POST")
check(st == 200 and json.loads(body) == {}, "gzip json: %s %s" % (st, body[:200]))
# traces in JSON: kind and status code as numbers
tr = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "hand"}}]},
      "scopeSpans": [{"spans": [{"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331",
        "name": "GET /x", "kind": 2, "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": 1700000000012300000, "status": {"code": 2, "message": "boom"}}]}]}]}
st, h, body = http(base + "/v1/traces", J, json.dumps(tr).encode(), "POST")
check(st == 200 and json.loads(body) == {}, "json traces: %s %s" % (st, body[:200]))
done()
EOF
run_case "$WEB"
elog export --json -c hand >"$T/hand.json" || fail "export"
q "$T/hand.json" 'len(rows) == 4' \
	'by["one"]["level"] == "error" and by["one"]["ts"] == "2023-11-14T22:13:20.000000006Z"' \
	'by["one"]["fields"]["n"] == 9007199254740993 and by["one"]["fields"]["d"] == 0.5 and by["one"]["fields"]["b"] == "AAFoaQ=="' \
	'by["one"]["fields"]["l"] == ["x", 7] and by["one"]["fields"]["unknownish"] is True' \
	'by["one"]["fields"]["trace_id"] == "0102030405060708090a0b0c0d0e0f10" and by["one"]["fields"]["span_id"] == "0102030405060708"' \
	'by["two"]["level"] == "warn" and by["two"]["ts"] == "2023-11-14T22:13:22Z"' \
	'"too big" not in by and "zipped" in by' \
	'by["span GET /x 12.3 ms"]["level"] == "error" and by["span GET /x 12.3 ms"]["fields"]["span_kind"] == "server" and by["span GET /x 12.3 ms"]["fields"]["status_message"] == "boom"' ||
	fail "hand-made JSON records: $(cat "$T/hand.json")"

say "415 for another content type or encoding, 400 (google.rpc.Status) for an undecodable body, 413 over 16 MiB"
cat >"$T/case.py" <<'EOF'
import gzip, json, sys
from weblib import *
base = sys.argv[1]
J = {"Content-Type": "application/json"}
P = {"Content-Type": "application/x-protobuf"}
st, h, body = http(base + "/v1/logs", {"Content-Type": "text/plain"}, b"hello", "POST")
check(st == 415 and b"application/x-protobuf" in body, "text/plain: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", dict(J, **{"Content-Encoding": "br"}), b"{}", "POST")
check(st == 415 and b"Content-Encoding" in body, "br: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, b"{not json", "POST")
r = json.loads(body) if st == 400 else {}
check(st == 400 and r.get("code") == 3 and "OTLP/JSON" in r.get("message", ""), "bad json: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"traceId": "xyz"}]}]}]}).encode(), "POST")
check(st == 400 and b"trace_id" in body, "bad hex id: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, json.dumps({"resourceLogs": {"x": 1}}).encode(), "POST")
check(st == 400 and b"not an array" in body, "object for an array: %s %s" % (st, body))
# decoder error paths (the server runs under ASan in the tests): a failure deep inside a
# repeated message after other values were decoded, a wrong type, a oneof given twice
recs = [{"body": {"stringValue": "a"}, "attributes": [{"key": "k", "value": {"stringValue": "v", "intValue": "5"}}]},
        {"body": {"kvlistValue": {"values": [{"key": "x", "value": {"arrayValue": {"values": [{"intValue": "1.5"}]}}}]}}}]
st, h, body = http(base + "/v1/logs", J, json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": recs}]}]}).encode(), "POST")
check(st == 400 and b"int_value" in body, "bad int deep down: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityNumber": "high", "body": {"stringValue": "x"}}]}]}]}).encode(), "POST")
check(st == 400 and b"severity_number" in body, "string for an enum: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"severityText": 5}]}]}]}).encode(), "POST")
check(st == 400 and b"severity_text" in body, "number for a string: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, b'{"resourceLogs": null, "x": [1, {"y": 2}]}', "POST")
check(st == 200, "null and unknown fields: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", J, b"[" * 200 + b"]" * 200, "POST")
check(st == 400 and b"deeper" in body, "deep json: %s %s" % (st, body))
# protobuf: field 1 (resource_logs) claims 100 bytes it does not have
st, h, body = http(base + "/v1/traces", P, b"\x0a\x64\x01\x02", "POST")
check(st == 400 and h.get("Content-Type") == "application/x-protobuf" and body[:2] == b"\x08\x03" and b"cannot decode ExportTraceServiceRequest" in body,
      "bad protobuf: %s %r" % (st, body))
st, h, body = http(base + "/v1/logs", dict(P, **{"Content-Encoding": "gzip"}), b"not gzip at all", "POST")
check(st == 400 and b"gzip" in body, "bad gzip: %s %r" % (st, body))
# an empty protobuf request is a valid one (nothing to store)
st, h, body = http(base + "/v1/logs", P, b"", "POST")
check(st == 200 and body == b"", "empty protobuf request: %s %r" % (st, body))
big = b" " * (16 * 1024 * 1024 + 1)
st, h, body = http(base + "/v1/logs", J, big, "POST")
check(st == 413 and b"16777216" in body, "over the limit: %s %s" % (st, body[:200]))
bomb = gzip.compress(b" " * (17 * 1024 * 1024))
st, h, body = http(base + "/v1/logs", dict(J, **{"Content-Encoding": "gzip"}), bomb, "POST")
check(st == 413 and b"decompressed" in body, "gzip over the limit: %s %s" % (st, body[:200]))
st, h, body = http(base + "/v1/logs", dict(J, Origin="http://evil.example"), b"{}", "POST")
check(st == 403, "a foreign Origin: %s" % st)
st, h, body = http(base + "/v1/metrics", P, b"", "POST")
check(st in (404, 405), "metrics: %s" % st)
done()
EOF
run_case "$WEB"
stop_serve

say "serve --auth: OTLP/HTTP needs a key in x-junjo-api-key, x-api-key or Authorization: Bearer"
elog keys create otel --db "$T/auth.db" >"$T/k" 2>/dev/null || fail "keys create"
start_serve auth --auth --http 127.0.0.1:0
WEB=$(grep '^http://' "$T/auth.ready" | head -1)
cat >"$T/case.py" <<'EOF'
import json, sys
from weblib import *
base, key = sys.argv[1], open(sys.argv[2]).read().strip()
J = {"Content-Type": "application/json"}
def req(msg):
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "authd"}}]},
        "scopeLogs": [{"logRecords": [{"body": {"stringValue": msg}}]}]}]}).encode()
st, h, body = http(base + "/v1/logs", J, req("no key"), "POST")
check(st == 401, "no key: %s %s" % (st, body))
st, h, body = http(base + "/v1/logs", dict(J, **{"x-api-key": "elog_wrong"}), req("wrong key"), "POST")
check(st == 401, "wrong key: %s %s" % (st, body))
for hdr, val in (("x-junjo-api-key", key), ("x-api-key", key), ("Authorization", "Bearer " + key)):
    st, h, body = http(base + "/v1/logs", dict(J, **{hdr: val}), req("via " + hdr), "POST")
    check(st == 200, "%s: %s %s" % (hdr, st, body))
done()
EOF
run_case "$WEB" "$T/k"
out=$(js logs --target x --http "$WEB" --n 3 --service authjs) && fail "JS SDK without a key accepted: $out"
out=$(js logs --target x --http "$WEB" --n 3 --service authjs --header "x-junjo-api-key=$(cat "$T/k")") ||
	fail "JS SDK with x-junjo-api-key: $out"
ELOG_API_KEY=$(cat "$T/k") elog export --json >"$T/auth.json" 2>"$T/auth.exerr" || fail "export: $(cat "$T/auth.exerr")"
q "$T/auth.json" \
	'sorted(r["msg"] for r in rows if r["component"] == "authd") == ["via Authorization", "via x-api-key", "via x-junjo-api-key"]' \
	'sum(1 for r in rows if r["component"] == "authjs") == 3' || fail "auth records: $(cat "$T/auth.json")"
stop_serve
