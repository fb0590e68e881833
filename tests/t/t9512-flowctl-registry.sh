#!/bin/sh
# The flowctl registry is bounded (README "Limits"): ids of at most 256 bytes (100 Registers
# with a 1 MB component_id used to make ListServices too big for everyone), at most 1,024
# services, entries without a heartbeat for 10 TTLs expire, and a ListServices response stays
# within 4 MiB, the receive limit of a default gRPC client.
. "$(dirname "$0")/lib.sh"
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
peer() { timeout 300 $PY "$ELOG_TOP/tests/py/hostile_json_peer.py" "$@"; }

say "100 Registers with a 1 MB component_id are refused naming the limit; ListServices answers"
start_serve ids
peer registry-ids "$SERVER" || fail "Registers with 1 MB ids"
stop_serve

say "the registry holds 1,024 services; the next is refused naming the limit"
start_serve full
peer registry-full "$SERVER" || fail "a full registry"
stop_serve

say "120 services with 256 metrics each: ListServices fits in 4 MiB and lists them all"
start_serve trim
peer list-trim "$SERVER" || fail "ListServices of large services"
stop_serve

say "a service without heartbeats expires after 10 TTLs (--heartbeat-ttl 1)"
start_serve exp --heartbeat-ttl 1
peer expire "$SERVER" || fail "expiry"
stop_serve
