#!/bin/sh
# OTLP traces in (TraceService/Export) and Junjo's ReadSpans out: the OpenTelemetry JavaScript
# trace SDK (@opentelemetry/sdk-trace-base + exporter-trace-otlp-grpc) exports spans; each span
# is one record for `elog logs` ("span NAME 12.3 ms", ERROR on an error status, trace and span
# ids as fields) and is kept as received for ReadSpans. A python3-grpcio poller written the way
# Junjo's backend polls (store the last key, ask again) reads every span exactly once, in
# strictly increasing key order, across a serve restart (SIGTERM) and a kill -9, with spans
# sent between its polls; the span and resource bytes decode as the OTLP messages sent.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null 2>&1 && [ -d "$ELOG_TOP/tests/js/node_modules/@opentelemetry" ] || {
	skip_test "node or tests/js/node_modules/@opentelemetry is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"; }
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
js() { timeout 120 node "$ELOG_TOP/tests/js/otel_peer.js" "$@"; }
py() { timeout 120 $PY "$ELOG_TOP/tests/py/otlp_peer.py" "$@"; }

start_serve h

say "the JS SDK's spans become records: span NAME 12.3 ms, error status, ids as fields"
out=$(js traces --target "$SERVER" --n 4 --service webapp) || fail "js traces: $out"
elog export --json -c webapp >"$T/spans.json" || fail "export"
$PY - "$T/spans.json" <<'PY' || fail "span records: $(cat "$T/spans.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 8, len(rows)
db = [r for r in rows if r["msg"] == "span db query 12.3 ms"]
req = [r for r in rows if r["msg"].startswith("span request ")]
assert len(db) == 4 and len(req) == 4, [r["msg"] for r in rows]
assert all(r["msg"].endswith(" 20.0 ms") for r in req)
assert [r["level"] for r in db] == ["info", "info", "info", "error"], [r["level"] for r in db]
assert db[3]["fields"]["status_message"] == "boom"
for r in rows:
    f = r["fields"]
    assert len(f["trace_id"]) == 32 and len(f["span_id"]) == 16 and r["source"] == "otlp-span"
    assert f["resource.service.name"] == "webapp"
# each child's parent is a request span of the same trace
ids = {r["fields"]["span_id"]: r for r in req}
for r in db:
    p = ids[r["fields"]["parent_span_id"]]
    assert p["fields"]["trace_id"] == r["fields"]["trace_id"]
print("ok")
PY

say "ReadSpans gives the JS spans as sent: Span and Resource bytes, 16-byte increasing keys"
py poll "$SERVER" "$T/gen" "$T/state" "$T/polled" 3 >"$T/poll1.out" 2>&1 || fail "poll: $(cat "$T/poll1.out")"
[ "$(wc -l <"$T/polled")" = 8 ] || fail "polled $(wc -l <"$T/polled") spans, expected 8"
grep -c ' webapp$' "$T/polled" | grep -qx 8 || fail "resource service.name not in the resource bytes"
[ "$(grep -c ' db query ' "$T/polled")" = 4 ] || fail "span names: $(cat "$T/polled")"

say "a poller asking again after its last key gets nothing new, then only what came after"
py poll "$SERVER" "$T/gen" "$T/state" "$T/polled" 3 >"$T/poll2.out" 2>&1 || fail "poll2"
grep -q "poll: 0 spans" "$T/poll2.out" || fail "second poll: $(cat "$T/poll2.out")"
py spans "$SERVER" "$T/gen" 0 20 || fail "send spans 0-19"
py poll "$SERVER" "$T/gen" "$T/state" "$T/polled" 7 >"$T/poll3.out" 2>&1 || fail "poll3: $(cat "$T/poll3.out")"
[ "$(wc -l <"$T/polled")" = 28 ] || fail "polled $(wc -l <"$T/polled") after 20 more"

say "exactly once across a serve restart and a kill -9, spans sent between polls"
py spans "$SERVER" "$T/gen" 20 15 || fail "send 20-34"
stop_serve
start_serve h
py poll "$SERVER" "$T/gen" "$T/state" "$T/polled" 4 >/dev/null 2>&1 || fail "poll after restart"
py spans "$SERVER" "$T/gen" 35 30 || fail "send 35-64"
kill -9 "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null
start_serve h
py spans "$SERVER" "$T/gen" 65 10 || fail "send 65-74"
py poll "$SERVER" "$T/gen" "$T/state" "$T/polled" 9 >/dev/null 2>&1 || fail "poll after kill"
$PY - "$T/polled" <<'PY' || fail "not exactly once"
import sys
lines = [l.split() for l in open(sys.argv[1])]
keys = [l[0] for l in lines]
assert keys == sorted(keys) and len(set(keys)) == len(keys), "keys not strictly increasing"
py = sorted(int(l[1].split("-")[1]) for l in lines if l[1].startswith("span-"))
assert py == list(range(75)), "python spans: %s" % py
assert len(lines) == 83, len(lines)
print("ok: %d spans, each once" % len(lines))
PY

say "the key order is commit order: keys are ULIDs whose time part is the commit time"
$PY - "$T/polled" <<'PY' || fail "ULID time"
import sys, time
ms = [int(l.split()[0][:12], 16) for l in open(sys.argv[1])]
now = time.time() * 1000
assert all(now - 3600e3 < m <= now + 1000 for m in ms), (ms[0], now)
PY

say "ReadSpans: a start key that is not 16 bytes is INVALID_ARGUMENT; batch_size bounds the stream"
$PY - "$SERVER" "$T/gen" <<'PY' || fail "bad key"
import sys, grpc
sys.path.insert(0, sys.argv[2])
import ingestion_pb2 as ing
ch = grpc.insecure_channel(sys.argv[1])
f = ch.unary_stream("/ingestion.InternalIngestionService/ReadSpans",
                    request_serializer=lambda m: m.SerializeToString(),
                    response_deserializer=ing.ReadSpansResponse.FromString)
try:
    list(f(ing.ReadSpansRequest(start_key_ulid=b"abc", batch_size=5), timeout=30))
    sys.exit("accepted a 3-byte key")
except grpc.RpcError as e:
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT and "16 bytes" in e.details(), e.details()
got = list(f(ing.ReadSpansRequest(batch_size=5), timeout=30))
assert len(got) == 5, len(got)
# an empty request: from the oldest, the default batch (1000): all 83
got = list(f(ing.ReadSpansRequest(), timeout=30))
assert len(got) == 83, len(got)
PY
stop_serve

say "serve --auth: ReadSpans and TraceService need a key (x-junjo-api-key)"
elog keys create poller --db "$T/auth.db" >"$T/key" 2>/dev/null || fail "create key"
start_serve auth --auth
out=$(py spans "$SERVER" "$T/gen" 0 3 2>&1) && fail "spans without a key accepted"
case $out in *UNAUTHENTICATED*"x-junjo-api-key is not provided"*) ;; *) fail "no key: $out" ;; esac
py spans "$SERVER" "$T/gen" 0 3 --key "$(cat "$T/key")" || fail "spans with the key"
out=$(py poll "$SERVER" "$T/gen" "$T/astate" "$T/apolled" 10 2>&1) && fail "poll without a key"
py poll "$SERVER" "$T/gen" "$T/astate" "$T/apolled" 10 --key "$(cat "$T/key")" >/dev/null ||
	fail "poll with the key"
[ "$(wc -l <"$T/apolled")" = 3 ] || fail "polled $(wc -l <"$T/apolled") with the key"
stop_serve
