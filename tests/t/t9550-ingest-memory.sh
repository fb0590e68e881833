#!/bin/sh
# Ingest holds memory in proportion to what it received (README "Limits"): a python3-grpcio
# peer sends elog.v1.Hub/Ingest batches of empty records (2 bytes each on the wire), then
# messages of 2M empty map entries to the streams of the other contracts (decoded by
# protobuf-c), and serve's peak RSS (VmHWM in /proc/PID/status) must stay under MEM_BOUND MiB
# above where it started.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9550: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
command -v protoc >/dev/null && [ -x /usr/bin/grpc_python_plugin ] ||
	{ echo "t9550: skipped: no protoc + grpc_python_plugin"; exit 0; }
py_stubs "$T/py" || fail "generating python stubs"

# What a call may hold: 32 MiB of batches in flight, one message being decoded, gRPC's
# read-ahead (8 MiB), and the hub's queue; the bound leaves room for the allocator.
MEM_BOUND=${ELOG_T9550_MIB:-160}
# AddressSanitizer keeps freed memory in quarantine (256 MiB by default) and would count it:
# keep its quarantine small for this serve so that what is measured is serve's own memory.
old_asan=${ASAN_OPTIONS:-}
export ASAN_OPTIONS="${old_asan:+$old_asan:}quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
start_serve h --log-dir "$T/logs"
export ASAN_OPTIONS="$old_asan"

say "batches of empty records: refused over the records limit, memory bounded"
timeout 300 $PY "$ELOG_TOP/tests/py/native_peer.py" "$SERVER" "$T/py" memory "$SERVE_PID" "$MEM_BOUND" ||
	{ tail -5 "$T/h.err" >&2; fail "memory of Ingest"; }
kill -0 "$SERVE_PID" || fail "serve died"

say "the other contracts' streams: a message too costly to decode is refused, memory bounded"
timeout 300 $PY "$ELOG_TOP/tests/py/native_peer.py" "$SERVER" "$T/py" decode-budget "$SERVE_PID" "$MEM_BOUND" ||
	{ tail -5 "$T/h.err" >&2; fail "memory of the other streams"; }
kill -0 "$SERVE_PID" || fail "serve died"
stop_serve
echo "t9550: ok"
