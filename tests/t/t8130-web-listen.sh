#!/bin/sh
# serve --http: the ready file keeps gRPC's host:port lines first, then http:// lines; --http
# none turns the listener off; the default port taken: a warning and serve runs without it; an
# address the user named and that is taken: serve fails (exit 1) before making any file; a bad
# address is a usage error; --tls-cert makes the listener HTTPS/WSS.
. "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN

# holds a loopback port for the length of the test: prints it, then waits for stdin to close
hold_port() {
	$PY -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
except OSError:
    pass   # already taken by someone else: taken all the same
print(s.getsockname()[1] if s.getsockname()[1] else sys.argv[1], flush=True)
sys.stdin.read()' "$1"
}

say "the ready file: gRPC lines first, then one http:// line per --http"
start_serve two --http 127.0.0.1:0 --http '[::1]:0' --listen 127.0.0.1:0
sed -n 1p "$T/two.ready" | grep -qx '127.0.0.1:[0-9]*' || fail "line 1: $(cat "$T/two.ready")"
sed -n 2p "$T/two.ready" | grep -qx '127.0.0.1:[0-9]*' || fail "line 2: $(cat "$T/two.ready")"
sed -n 3p "$T/two.ready" | grep -qx 'http://127.0.0.1:[0-9]*' || fail "line 3: $(cat "$T/two.ready")"
sed -n 4p "$T/two.ready" | grep -qx 'http://\[::1\]:[0-9]*' || fail "line 4: $(cat "$T/two.ready")"
grep -q "web view on http://127.0.0.1:" "$T/two.err" || fail "start message: $(cat "$T/two.err")"
for u in $(grep '^http' "$T/two.ready"); do
	$PY -c "
import sys
from weblib import *
st, h, b = http(sys.argv[1] + '/api/components')
sys.exit(0 if st == 200 else 1)" "$u" || fail "no answer on $u"
done
stop_serve

say "--http none: no listener, no http line"
start_serve none --http none
[ "$(wc -l <"$T/none.ready")" = 1 ] || fail "ready: $(cat "$T/none.ready")"
grep -q "web view" "$T/none.err" && fail "web view started: $(cat "$T/none.err")"
stop_serve
must_fail 2 "--http none with another" elog serve --db "$T/x.db" --http none --http 127.0.0.1:0 2>/dev/null

say "the default port taken: serve says so and runs without the web view"
mkfifo "$T/hold1"
hold_port 8765 <"$T/hold1" >"$T/hold1.port" &
BG_PIDS="$BG_PIDS $!"
exec 7>"$T/hold1"
wait_for "port held" 10 test -s "$T/hold1.port"
SERVE_WEB_DEFAULT=1
start_serve dflt
SERVE_WEB_DEFAULT=
grep -q "warning: cannot listen on '127.0.0.1:8765' for the web view: address already in use; running without it" "$T/dflt.err" ||
	fail "no warning: $(cat "$T/dflt.err")"
[ "$(wc -l <"$T/dflt.ready")" = 1 ] || fail "ready: $(cat "$T/dflt.ready")"
elog send -c x "still serving" || fail "serve does not work"
stop_serve
exec 7>&-

say "a named address that is taken: serve fails with exit 1 and makes no file"
mkfifo "$T/hold2"
hold_port 0 <"$T/hold2" >"$T/hold2.port" &
BG_PIDS="$BG_PIDS $!"
exec 8>"$T/hold2"
wait_for "port held" 10 test -s "$T/hold2.port"
P=$(cat "$T/hold2.port")
must_fail 1 "taken --http" elog serve --listen 127.0.0.1:0 --db "$T/named.db" --http "127.0.0.1:$P" \
	--ready-file "$T/named.ready" 2>"$T/named.err"
grep -q "cannot listen on '127.0.0.1:$P' (--http): address already in use" "$T/named.err" ||
	fail "message: $(cat "$T/named.err")"
[ -e "$T/named.db" ] && fail "the history was made"
[ -e "$T/named.ready" ] && fail "a ready file was written"
exec 8>&-
must_fail 2 "bad address" elog serve --db "$T/x.db" --http nonsense 2>"$T/bad.err"
grep -q "invalid --http address 'nonsense'" "$T/bad.err" || fail "bad address message: $(cat "$T/bad.err")"

say "--tls-cert: the listener speaks HTTPS and WSS"
command -v openssl >/dev/null || fatal "no openssl command"
(
	cd "$T" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=t-ca &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
		-days 2 -extfile srv.ext
) >"$T/openssl.log" 2>&1 || fatal "openssl: $(cat "$T/openssl.log")"
start_serve tls --http 127.0.0.1:0 --tls-cert "$T/srv.pem" --tls-key "$T/srv.key"
WEB=$(sed -n 2p "$T/tls.ready")
case $WEB in https://127.0.0.1:*) ;; *) fail "ready: $(cat "$T/tls.ready")" ;; esac
ELOG_TLS_CA="$T/ca.pem" timeout 60 $PY - "$WEB" "$T/ca.pem" >"$T/case.out" 2>&1 <<'EOF' || fail "$(cat "$T/case.out")"
import asyncio, ssl, sys, urllib.request
from weblib import *
base, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
with urllib.request.urlopen(base + "/api/components", context=ctx, timeout=30) as r:
    check(r.status == 200 and b"components" in r.read(), "https")
async def main():
    async with websockets.connect(ws_url(base), ssl=ctx) as ws:
        send("-c", "tls", "over wss")
        check((await recv_json(ws))["content"] == "over wss", "wss entry")
asyncio.run(main())
done()
EOF
stop_serve
