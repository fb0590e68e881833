#!/bin/sh
# serve --auth: ValidateApiKey from a python3-grpcio peer (valid, unknown, revoked); every
# other call needs a key (each accepted header, on each registered service); elog send/logs
# with no key, a wrong key, $ELOG_API_KEY and --api-key-file; revocation while serving takes
# effect within about a second; validate-key's exit statuses; no key in serve's output; a key
# is refused in plaintext to a non-loopback address before any connection; failures slowed.
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

DB="$T/a.db"
elog keys create good --db "$DB" >"$T/good.key" 2>/dev/null || fail "create good"
elog keys create gone --db "$DB" >"$T/gone.key" 2>/dev/null || fail "create gone"
elog keys revoke gone --db "$DB" 2>/dev/null || fail "revoke gone"
GOOD=$(cat "$T/good.key")
# A second address, [::1], is a peer of its own for the failure throttle test.
start_serve a --auth --listen '[::1]:0'
SERVER6=$(sed -n 2p "$T/a.ready")

# elog send / logs
must_fail_err 1 "$T/e1" "send without a key" elog send -c t nokey
grep -q "unauthenticated: api key is not provided" "$T/e1" || fail "no-key message: $(cat "$T/e1")"
ELOG_API_KEY=elog_wrong must_fail_err 1 "$T/e2" "send with a wrong key" elog send -c t wrong
grep -q "unauthenticated: invalid API key" "$T/e2" || fail "wrong-key message: $(cat "$T/e2")"
ELOG_API_KEY=$(cat "$T/gone.key") must_fail 1 "send with a revoked key" elog send -c t gone 2>/dev/null
ELOG_API_KEY=$GOOD expect_success "send with \$ELOG_API_KEY" elog send -c t env-key
expect_success "send with --api-key-file" elog send -c t --api-key-file "$T/good.key" file-key
must_fail_err 1 "$T/e3" "logs without a key" elog logs -n 5
grep -q "api key is not provided" "$T/e3" || fail "logs message: $(cat "$T/e3")"
grep -q "reading history" "$T/e3" && fail "logs fell back to the database on an auth error"
ELOG_API_KEY=$GOOD elog logs -c t >"$T/logs" || fail "logs with a key"
printf 't | INFO  env-key\nt | INFO  file-key\n' >"$T/want"
test_cmp "$T/want" "$T/logs"
ELOG_API_KEY=$GOOD elog export --json -c t | grep -c '"msg"' | grep -qx 2 || fail "export with a key"
must_fail 1 "missing --api-key-file" elog send --api-key-file "$T/none" x 2>/dev/null

# validate-key
expect_success "validate-key KEY" elog validate-key -q "$GOOD"
elog validate-key - <"$T/good.key" >"$T/v1" || fail "validate-key -"
[ "$(cat "$T/v1")" = valid ] || fail "validate-key output: $(cat "$T/v1")"
ELOG_API_KEY=$GOOD expect_success "validate-key \$ELOG_API_KEY" elog validate-key -q
must_fail 1 "unknown key" elog validate-key --json elog_unknown >"$T/v2"
[ "$(cat "$T/v2")" = '{"valid":false}' ] || fail "validate-key --json: $(cat "$T/v2")"
must_fail 1 "revoked key" elog validate-key -q --key-file "$T/gone.key"
[ -z "$(elog validate-key -q elog_unknown)" ] || fail "-q printed something"
must_fail 2 "no key" elog validate-key 2>/dev/null
must_fail 2 "two keys" elog validate-key a b 2>/dev/null
must_fail 2 "key and --key-file" elog validate-key a --key-file "$T/good.key" 2>/dev/null
must_fail_err 3 "$T/e4" "unreachable" elog validate-key --timeout 1 --server 127.0.0.1:1 "$GOOD"
grep -qF "$GOOD" "$T/e4" && fail "key in an error message"
grep -q "cannot reach server" "$T/e4" || fail "unreachable message: $(cat "$T/e4")"

# python3-grpcio peer
if $PY -c 'import grpc' 2>/dev/null && command -v protoc >/dev/null &&
   [ -x /usr/bin/grpc_python_plugin ]; then
	py_stubs "$T/stubs" || fail "py_stubs"
	timeout 60 $PY "$ELOG_TOP/tests/py/auth_peer.py" validate "$SERVER" "$T/stubs" \
		"$GOOD" "$(cat "$T/gone.key")" || fail "ValidateApiKey peer"
	timeout 90 $PY "$ELOG_TOP/tests/py/auth_peer.py" enforce "$SERVER" "$T/stubs" "$GOOD" ||
		fail "enforcement peer"
else
	say "python3-grpcio or protoc missing: peer checks skipped"
fi

# Revocation while serving: refused within about a second.
elog keys create soon --db "$DB" >"$T/soon.key" 2>/dev/null || fail "create soon"
ELOG_API_KEY=$(cat "$T/soon.key") expect_success "fresh key" elog send -c t soon
elog keys revoke soon --db "$DB" 2>/dev/null || fail "revoke soon"
start=$(date +%s%N)
while :; do
	# the time the refused attempt started (its answer may be held by the failure throttle)
	at=$(( ($(date +%s%N) - start) / 1000000 ))
	ELOG_API_KEY=$(cat "$T/soon.key") elog send -c t soon 2>/dev/null || break
	[ "$at" -lt 1500 ] || fail "revoked key still accepted after 1.5 s"
	sleep 0.05
done
say "revoked key refused from ${at} ms after revoke"

# A key is never sent in plaintext to a non-loopback address; refused before connecting. The
# three refusals together take less than the 5 s (--timeout) one attempt to connect to
# 10.1.2.3 would wait; under ASan on a busy machine one start of elog alone took 400 ms.
start=$(date +%s%N)
ELOG_API_KEY=$GOOD must_fail_err 2 "$T/e5" "plaintext key to 10.1.2.3" elog send --server 10.1.2.3:1 x
must_fail_err 2 +"$T/e5" "validate-key to 10.1.2.3" elog validate-key --server 10.1.2.3:1 "$GOOD"
must_fail_err 2 +"$T/e5" "logs to 10.1.2.3" elog logs --server 10.1.2.3:1 --api-key-file "$T/good.key"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 4000 ] || fail "refusal was not immediate: three took $ms ms"
[ "$(grep -c "refusing to send an API key in plaintext to '10.1.2.3:1': use --tls-ca" "$T/e5")" = 3 ] ||
	fail "refusal message: $(cat "$T/e5")"
grep -qF "$GOOD" "$T/e5" && fail "key in the refusal"

# Repeated failures from one peer are slowed down (last: it slows this peer for a while).
if [ -d "$T/stubs" ]; then
	timeout 60 $PY "$ELOG_TOP/tests/py/auth_peer.py" throttle "$SERVER6" "$T/stubs" fresh ||
		fail "throttle"
fi

kill -0 "$SERVE_PID" || fail "serve died"
stop_serve
for k in "$GOOD" "$(cat "$T/gone.key")" "$(cat "$T/soon.key")"; do
	grep -qF "$k" "$T/a.err" && fail "a key in serve's stderr"
done
say "ok"
