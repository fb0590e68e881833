#!/bin/sh
# flowctl.ControlPlane against a real peer: tests/py/flowctl_peer.py (Debian's python3-grpcio)
# registers services, pushes logs on StreamLogs and reads them back with GetLogs (filters,
# follow), against `elog serve`; serve must then stop cleanly on SIGTERM.
top=${ELOG_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
ELOG_BIN=${ELOG_BIN:-$top/build/elog}
if [ -f "$top/tests/t/lib.sh" ]; then
	. "$top/tests/t/lib.sh"
fi

fail() { echo "t3100: FAIL: $*" >&2; exit 1; }

if ! /usr/bin/python3 -c 'import grpc' 2>/dev/null; then
	echo "t3100: skipped: /usr/bin/python3 has no grpc module (python3-grpcio)"
	exit 0
fi
if ! /usr/bin/python3 -c 'import grpc_tools' 2>/dev/null &&
   { ! command -v protoc >/dev/null || [ ! -x /usr/bin/grpc_python_plugin ]; }; then
	echo "t3100: skipped: neither grpc_tools nor protoc + grpc_python_plugin"
	exit 0
fi
[ -x "$ELOG_BIN" ] || fail "no elog binary at $ELOG_BIN"

tmp=$(mktemp -d /tmp/t3100.XXXXXX) || fail "mktemp"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$tmp/h.db" --ready-file "$tmp/ready" \
	>"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
i=0
while [ ! -s "$tmp/ready" ]; do
	if ! kill -0 "$pid" 2>/dev/null; then
		cat "$tmp/serve.err" >&2
		pid=
		fail "elog serve exited before it was ready"
	fi
	i=$((i + 1))
	[ "$i" -le 300 ] || fail "elog serve not ready after 30 s"
	sleep 0.1
done
addr=$(head -n 1 "$tmp/ready")
echo "serve listening on $addr"

if ! timeout 300 /usr/bin/python3 "$top/tests/py/flowctl_peer.py" "$addr" "$top/proto"; then
	echo "--- serve stderr" >&2
	cat "$tmp/serve.err" >&2
	fail "flowctl peer failed"
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
p=$pid
pid=
if [ "$rc" -ne 0 ]; then
	cat "$tmp/serve.err" >&2
	fail "elog serve (pid $p) exited $rc after SIGTERM, want 0"
fi
echo "t3100: ok"
