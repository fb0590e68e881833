#!/bin/sh
# OTLP logs in over gRPC (opentelemetry.proto.collector.logs.v1.LogsService/Export): the
# official OpenTelemetry JavaScript SDK (@opentelemetry/sdk-logs + exporter-logs-otlp-grpc,
# tests/js) exports to `elog serve`, plain and gzip-compressed, and `elog export --json` shows
# the mapped records; a python3-grpcio peer with the official .proto files covers every row of
# the mapping (severity ranges, severity text, body kinds, component fallbacks, time
# fallbacks, ids, duplicate attributes), partial_success for a record over the size limit, and
# MetricsService answering UNIMPLEMENTED. Under --auth: the JS SDK without a key and with a
# wrong one gets Junjo's UNAUTHENTICATED messages; with a key in x-junjo-api-key, x-api-key or
# authorization: Bearer it is stored.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 && [ -d "$ELOG_TOP/tests/js/node_modules/@opentelemetry" ] || {
	skip_test "node or tests/js/node_modules/@opentelemetry is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"; }
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
js() { timeout 120 node "$ELOG_TOP/tests/js/otel_peer.js" "$@"; }
py() { timeout 120 $PY "$ELOG_TOP/tests/py/otlp_peer.py" "$@"; }
# q FILE EXPR...: python over the JSON lines of FILE as rows (a list); each EXPR must hold
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

start_serve h

say "the JS SDK's log exporter is acknowledged and its records are stored as mapped"
out=$(js logs --target "$SERVER" --n 6) || fail "js logs: $out"
elog export --json -c jsdemo >"$T/js.json" || fail "export"
q "$T/js.json" 'len(rows) == 6' \
	'all(r["component"] == "jsdemo" and r["source"] == "otlp" for r in rows)' \
	'[r["level"] for r in rows] == ["warn", "debug", "info", "warn", "error", "fatal"]' \
	'rows[1]["msg"] == "js log 1" and rows[1]["fields"]["seq"] == 1 and rows[1]["fields"]["user.id"] == "u1"' \
	'rows[1]["fields"]["resource.service.name"] == "jsdemo" and rows[1]["fields"]["resource.host.name"] == "peerhost"' \
	'json.loads(rows[0]["msg"]) == {"event": "login", "tries": 2, "tags": ["a", "b"]}' \
	'rows[0]["fields"]["trace_id"] == "0af7651916cd43dd8448eb211c80319c" and rows[0]["fields"]["span_id"] == "b7ad6b7169203331"' \
	'rows[0]["ts"] == "2024-01-02T03:04:05.678Z"' \
	'"trace_id" not in rows[1]["fields"]' || fail "JS records not as mapped: $(cat "$T/js.json")"

say "gzip-compressed export (the SDK's compression: 'gzip') is accepted"
out=$(js logs --target "$SERVER" --n 4 --gzip --service gzipped) || fail "js gzip: $out"
case $out in *'"gzipped":'[1-9]*) ;; *) fail "the SDK did not compress: $out" ;; esac
elog export --json -c gzipped >"$T/gz.json" || fail "export"
q "$T/gz.json" 'len(rows) == 4' '[r["msg"] for r in rows[1:]] == ["js log 1", "js log 2", "js log 3"]' ||
	fail "gzip records: $(cat "$T/gz.json")"

say "the mapping: severity ranges and text, body kinds, component and time fallbacks, ids"
py mapping "$SERVER" "$T/gen" >"$T/map.out" 2>&1 || fail "mapping peer: $(cat "$T/map.out")"
elog export --json >"$T/all.json" || fail "export"
q "$T/all.json" \
	'[by["sev %d" % n]["level"] for n in range(25)] == ["info"] + ["trace"] * 4 + ["debug"] * 4 + ["info"] * 4 + ["warn"] * 4 + ["error"] * 4 + ["fatal"] * 4' \
	'by["text warning"]["level"] == "warn" and by["no severity"]["level"] == "info" and by["number wins"]["level"] == "error"' \
	'by["sev 3"]["component"] == "checkout" and by["sev 3"]["fields"]["resource.service.namespace"] == "shop"' \
	'by["from namespace"]["component"] == "nsonly" and by["from scope"]["component"] == "my.scope" and by["from nothing"]["component"] == "otel"' \
	'"42" in by and "2.5" in by and "true" in by and "\"AAFoaQ==\"" in by and "[\"x\",7]" in by' \
	'json.loads([m for m in by if "nested" in m][0]) == {"a": 3, "b": "two", "nested": {"deep": True}}' \
	'any(r["msg"] == "" and r["ts"] == "2023-11-14T22:13:22.000000006Z" for r in rows)' \
	'by["with ids"]["fields"]["trace_id"] == "0102030405060708090a0b0c0d0e0f10" and by["with ids"]["fields"]["span_id"] == "0102030405060708"' \
	'by["with ids"]["fields"]["n"] == 2 and by["with ids"]["fields"]["ratio"] == 0.5 and by["with ids"]["fields"]["ok"] is False and by["with ids"]["fields"]["event_name"] == "user.login"' \
	'by["sev 0"]["ts"] == "2023-11-14T22:13:20Z" and by["observed only"]["ts"] == "2023-11-14T22:13:24Z"' \
	'by["arrival time"]["ts"] > "2025"' \
	'"fields" not in by["from nothing"] or by["from nothing"]["fields"] in ("", {})' ||
	fail "mapping: $(cat "$T/all.json")"

say "a record over the size limit is counted in partial_success; the others are stored"
py partial "$SERVER" "$T/gen" >"$T/partial.out" 2>&1 || fail "partial: $(cat "$T/partial.out")"
elog export --json >"$T/all2.json" || fail "export"
q "$T/all2.json" '"small one" in by and "small two" in by and "too big" not in by' ||
	fail "partial records"

say "MetricsService/Export answers UNIMPLEMENTED with a clear message"
out=$(py metrics "$SERVER" "$T/gen")
case $out in "UNIMPLEMENTED metrics are not kept"*) ;; *) fail "metrics: $out" ;; esac
stop_serve

say "serve --auth: no key, a wrong key: UNAUTHENTICATED with Junjo's messages, nothing stored"
DB="$T/auth.db"
elog keys create otel --db "$DB" >"$T/key" 2>/dev/null || fail "create key"
KEY=$(cat "$T/key")
start_serve auth --auth
out=$(js logs --target "$SERVER" --n 2 --service nokey) && fail "no key accepted: $out"
case $out in *UNAUTHENTICATED*"x-junjo-api-key is not provided"*) ;; *) fail "no key: $out" ;; esac
out=$(js logs --target "$SERVER" --n 2 --service badkey --header x-junjo-api-key=wrong) &&
	fail "wrong key accepted"
case $out in *UNAUTHENTICATED*"invalid API key"*) ;; *) fail "wrong key: $out" ;; esac

say "serve --auth: the key in x-junjo-api-key, x-api-key or authorization: Bearer is accepted"
js logs --target "$SERVER" --n 2 --service k1 --header "x-junjo-api-key=$KEY" >/dev/null || fail "x-junjo-api-key"
js logs --target "$SERVER" --n 2 --service k2 --header "x-api-key=$KEY" >/dev/null || fail "x-api-key"
js logs --target "$SERVER" --n 2 --service k3 --header "authorization=Bearer $KEY" --gzip >/dev/null ||
	fail "bearer"
ELOG_API_KEY=$KEY elog export --json >"$T/auth.json" || fail "export with key"
q "$T/auth.json" 'sorted(set(r["component"] for r in rows)) == ["k1", "k2", "k3"]' 'len(rows) == 6' ||
	fail "auth records: $(cat "$T/auth.json")"
stop_serve
