#!/bin/sh
# flowctl.ControlPlane against a real peer: tests/py/flowctl_peer.py (Debian's python3-grpcio)
# registers services, pushes logs on StreamLogs and reads them back with GetLogs (filters,
# follow), against `elog serve`; serve must then stop cleanly on SIGTERM.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t3100: skipped: /usr/bin/python3 has no grpc module (python3-grpcio)"
	exit 0
fi
if ! $PY -c 'import grpc_tools' 2>/dev/null &&
   { ! command -v protoc >/dev/null || [ ! -x /usr/bin/grpc_python_plugin ]; }; then
	echo "t3100: skipped: neither grpc_tools nor protoc + grpc_python_plugin"
	exit 0
fi
start_serve h

say "the python3-grpcio flowctl peer: Register, Heartbeat, StreamLogs, GetLogs (filters, follow)"
timeout 300 $PY "$ELOG_TOP/tests/py/flowctl_peer.py" "$SERVER" "$ELOG_TOP/proto" ||
	fail "flowctl peer failed: $(cat "$T/h.err")"

say "serve stops cleanly on SIGTERM after the peer"
stop_serve
