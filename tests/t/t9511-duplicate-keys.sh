#!/bin/sh
# Repeated-key checks are O(n log n) and capped (README "Limits"): a flowctl Heartbeat of
# 150,000 metrics is refused at once naming its limit while ListServices answers (it held the
# registry lock for 30 s); 256 metrics are kept; a relay payload with 100,000 headers is
# received fast and its record keeps the first 1,024 and counts the rest (200,000 would exceed
# the decoding budget of rpc_server.c and be refused before the headers are looked at).
. "$(dirname "$0")/lib.sh"
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
peer() { timeout 300 $PY "$ELOG_TOP/tests/py/hostile_json_peer.py" "$@"; }

say "a Heartbeat of 150,000 metrics is refused at once, naming the limit; ListServices answers"
start_serve hb
peer heartbeat-big "$SERVER" || fail "heartbeat of 150,000 metrics"
kill -0 "$SERVE_PID" 2>/dev/null || fail "serve died"
stop_serve

say "a relay payload with 100,000 headers is received fast; 1,024 kept, the rest counted"
start_serve rh
peer relay-headers "$SERVER" || fail "relay payload with 100,000 headers"
elog export --json >"$T/h.jsonl" || fail "export"
$PY - "$T/h.jsonl" <<'PY' || fail "the record's headers"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
rows = [r for r in rows if r["msg"] == "many headers"]
assert len(rows) == 1, "%d records" % len(rows)
relay = rows[0]["fields"]["relay"]
assert len(relay["headers"]) == 1024, "%d headers kept" % len(relay["headers"])
assert relay["headers_omitted"] == 100001 - 1024, relay["headers_omitted"]
print("relay: 1024 headers kept, %d omitted" % relay["headers_omitted"])
PY
stop_serve
