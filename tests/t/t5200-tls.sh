#!/bin/sh
# TLS with certificates made here by the openssl command (a CA, a server certificate for
# 127.0.0.1 and localhost, a client certificate): send/logs/validate-key over TLS (flags and
# environment), a python3-grpcio client over TLS, mutual TLS (no client certificate refused),
# a plaintext client on the TLS port and a TLS client with the wrong CA fail quickly and say
# why; serve's TLS usage errors.
. "$(dirname "$0")/lib.sh"

# must_fail_err STATUS [+]FILE DESC CMD...: like must_fail, CMD's stderr to FILE (+: appended).
must_fail_err() {
	want=$1; errf=$2; desc=$3; shift 3
	case $errf in
	+*) "$@" 2>>"${errf#+}" ;;
	*) "$@" 2>"$errf" ;;
	esac
	got=$?
	[ "$got" = "$want" ] || fail "$desc: exit $got, expected $want: $(cat "${errf#+}")"
}
unset ELOG_TLS_CA ELOG_TLS_CERT ELOG_TLS_KEY ELOG_TLS_CLIENT_CA ELOG_TLS_SERVER_NAME ELOG_API_KEY_FILE

command -v openssl >/dev/null || { say "skipped: no openssl command"; exit 0; }
C="$T/certs"
mkdir -p "$C"
(
	cd "$C" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=elog-test-ca &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 \
		-subj /CN=elog-other-ca &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
		-days 2 -extfile srv.ext &&
	openssl req -newkey rsa:2048 -nodes -keyout cli.key -out cli.csr -subj /CN=client &&
	openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2
) >"$T/openssl.log" 2>&1 || { cat "$T/openssl.log"; fail "openssl"; }

# serve's usage errors
must_fail 2 "cert without key" elog serve --db "$T/x.db" --tls-cert "$C/srv.pem" 2>/dev/null
must_fail 2 "client CA without cert" elog serve --db "$T/x.db" --tls-client-ca "$C/ca.pem" 2>/dev/null
must_fail 1 "missing cert file" elog serve --listen 127.0.0.1:0 --db "$T/x.db" \
	--tls-cert "$C/none.pem" --tls-key "$C/srv.key" 2>"$T/x.err"
grep -q "none.pem" "$T/x.err" || fail "missing cert message: $(cat "$T/x.err")"

elog keys create tls --db "$T/s.db" >"$T/tls.key" 2>/dev/null || fail "keys create"
start_serve s --auth --tls-cert "$C/srv.pem" --tls-key "$C/srv.key"
grep -q "(TLS)" "$T/s.err" || fail "serve does not say TLS: $(cat "$T/s.err")"

expect_success "send over TLS" elog send --tls-ca "$C/ca.pem" --api-key-file "$T/tls.key" -c tls one
ELOG_TLS_CA="$C/ca.pem" ELOG_API_KEY=$(cat "$T/tls.key") expect_success "send, TLS from env" \
	elog send -c tls two
# (by the name in the certificate; "localhost:$PORT" would do too, but gRPC's c-ares resolver
# leaks a few bytes under LeakSanitizer)
ELOG_API_KEY=$(cat "$T/tls.key") elog logs --tls-ca "$C/ca.pem" --tls-server-name localhost -c tls \
	>"$T/logs" || fail "logs over TLS"
printf 'tls | INFO  one\ntls | INFO  two\n' >"$T/want"
test_cmp "$T/want" "$T/logs"
expect_success "validate-key over TLS" elog validate-key -q --tls-ca "$C/ca.pem" \
	--key-file "$T/tls.key"
must_fail 1 "unknown key over TLS" elog validate-key -q --tls-ca "$C/ca.pem" elog_unknown
# TLS without a key over TLS: the server still asks for one
must_fail_err 1 "$T/e0" "no key over TLS" elog send --tls-ca "$C/ca.pem" x
grep -q "api key is not provided" "$T/e0" || fail "no-key message: $(cat "$T/e0")"

# Plaintext client on the TLS port: a clear error, well before the 5 s connect timeout.
start=$(date +%s%N)
ELOG_API_KEY=$(cat "$T/tls.key") must_fail 3 "plaintext on TLS" elog send x 2>"$T/e1"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "plaintext client took $ms ms"
grep -q "does it require TLS" "$T/e1" || fail "plaintext message: $(cat "$T/e1")"
grep -qF "$(cat "$T/tls.key")" "$T/e1" && fail "key in the message"
# Wrong CA: handshake failure, said so.
start=$(date +%s%N)
must_fail_err 3 "$T/e2" "wrong CA" elog logs --tls-ca "$C/other-ca.pem" --api-key-file "$T/tls.key"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 3000 ] || fail "wrong-CA client took $ms ms"
grep -q "TLS handshake failed" "$T/e2" || fail "wrong-CA message: $(cat "$T/e2")"
must_fail 3 "wrong server name" elog validate-key -q --tls-ca "$C/ca.pem" \
	--tls-server-name nothere.example --key-file "$T/tls.key" 2>/dev/null

# python3-grpcio over TLS
if $PY -c 'import grpc' 2>/dev/null && command -v protoc >/dev/null &&
   [ -x /usr/bin/grpc_python_plugin ]; then
	py_stubs "$T/stubs" || fail "py_stubs"
	elog keys create revoked --db "$T/s.db" >"$T/rev.key" 2>/dev/null || fail "create"
	elog keys revoke revoked --db "$T/s.db" 2>/dev/null || fail "revoke"
	timeout 60 $PY "$ELOG_TOP/tests/py/auth_peer.py" validate "$SERVER" "$T/stubs" \
		"$(cat "$T/tls.key")" "$(cat "$T/rev.key")" --ca "$C/ca.pem" || fail "python over TLS"
	timeout 60 $PY "$ELOG_TOP/tests/py/auth_peer.py" enforce "$SERVER" "$T/stubs" \
		"$(cat "$T/tls.key")" --ca "$C/ca.pem" || fail "python enforcement over TLS"
	# the Electrician Go sink's dial with a token: TLS and a bearer token
	timeout 60 $PY "$ELOG_TOP/tests/py/relay_peer.py" "$SERVER" "$ELOG_BIN" \
		--tls "$C/ca.pem" --token "$(cat "$T/tls.key")" || fail "relay sink with token over TLS"
fi
stop_serve
grep -qF "$(cat "$T/tls.key")" "$T/s.err" && fail "key in serve's stderr"

# Mutual TLS, configured from the environment.
export ELOG_TLS_CERT="$C/srv.pem" ELOG_TLS_KEY="$C/srv.key" ELOG_TLS_CLIENT_CA="$C/ca.pem"
start_serve m
unset ELOG_TLS_CERT ELOG_TLS_KEY ELOG_TLS_CLIENT_CA
grep -q "(mutual TLS)" "$T/m.err" || fail "serve does not say mutual TLS: $(cat "$T/m.err")"
must_fail_err 3 "$T/e3" "no client certificate" elog send --tls-ca "$C/ca.pem" x
grep -q "TLS handshake failed" "$T/e3" || fail "mTLS message: $(cat "$T/e3")"
expect_success "client certificate" elog send --tls-ca "$C/ca.pem" --tls-cert "$C/cli.pem" \
	--tls-key "$C/cli.key" -c m ok
ELOG_TLS_CA="$C/ca.pem" ELOG_TLS_CERT="$C/cli.pem" ELOG_TLS_KEY="$C/cli.key" \
	elog logs -c m >"$T/mlogs" || fail "logs over mTLS from env"
printf 'm | INFO  ok\n' >"$T/want"
test_cmp "$T/want" "$T/mlogs"
if [ -d "$T/stubs" ]; then
	elog keys create mk --db "$T/m.db" >"$T/mk.key" 2>/dev/null || fail "create mk"
	elog keys create mr --db "$T/m.db" >"$T/mr.key" 2>/dev/null || fail "create mr"
	elog keys revoke mr --db "$T/m.db" 2>/dev/null || fail "revoke mr"
	timeout 60 $PY "$ELOG_TOP/tests/py/auth_peer.py" validate "$SERVER" "$T/stubs" \
		"$(cat "$T/mk.key")" "$(cat "$T/mr.key")" --ca "$C/ca.pem" --cert "$C/cli.pem" \
		--key "$C/cli.key" || fail "python over mutual TLS"
fi
stop_serve
say "ok"
