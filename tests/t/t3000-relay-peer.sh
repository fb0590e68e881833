#!/bin/sh
# electrician.RelayService against a real peer: tests/py/relay_peer.py (Debian's python3-grpcio)
# behaves like the Electrician Go relay sink and checks every ack of every mode, undecodable
# payloads, dedupe keys, a cancelled stream, unary Receive and undecodable protobuf, then finds
# the records with `elog export --json`; then one stream of 20000 payloads is timed (the figure
# is printed, not asserted). serve must stop cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null; then
	say "skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
if ! $PY -c 'import grpc_tools' 2>/dev/null &&
   { ! command -v protoc >/dev/null || [ ! -x /usr/bin/grpc_python_plugin ]; }; then
	say "skipped: neither grpc_tools nor protoc + grpc_python_plugin"
	exit 0
fi

start_serve relay
if ! timeout 120 $PY "$ELOG_TOP/tests/py/relay_peer.py" "$SERVER" "$ELOG_BIN" "$ELOG_TOP/proto"; then
	cat "$T/relay.err" >&2
	fail "relay peer failed"
fi
kill -0 "$SERVE_PID" || fail "serve died"
stop_serve

start_serve bench
if ! timeout 120 $PY "$ELOG_TOP/tests/py/relay_peer.py" "$SERVER" "$ELOG_BIN" "$ELOG_TOP/proto" \
	--bench "${RELAY_BENCH_N:-20000}"; then
	cat "$T/bench.err" >&2
	fail "relay bench failed"
fi
stop_serve
say "t3000: ok"
