#!/bin/sh
# t8403-cluster-auth-tls: serve --cluster against NATS servers that want credentials: a user
# and password (--cluster-user, --cluster-password-file), a token ($ELOG_CLUSTER_TOKEN), and TLS
# (--cluster-ca); a wrong password is reported and retried while local ingest goes on; the
# options serve refuses.
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

say "nats-server and openssl are installed"
nats_have_server || fatal "no nats-server"
command -v openssl >/dev/null || fatal "no openssl"

# solo NAME ARGS...: one nats-server with JetStream on free ports; sets PORT and MON
solo() {
	nm=$1; shift
	set -- $(nats_pick_ports) "$@"
	PORT=$1 MON=$2; shift 9
	mkdir -p "$T/$nm"
	"$NATS_SERVER" -a 127.0.0.1 -p "$PORT" -m "$MON" -js -sd "$T/$nm" "$@" >"$T/$nm.log" 2>&1 &
	BG_PIDS="$BG_PIDS $!"
	wait_for "nats-server $nm" 30 sh -c "curl -sf http://127.0.0.1:$MON/healthz | grep -q ok" ||
		fatal "nats-server $nm: $(tail -3 "$T/$nm.log")"
}
msgs_at() {
	curl -sf "http://127.0.0.1:$1/jsz?streams=true" | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(sum(s["state"]["messages"] for a in d.get("account_details") or [] for s in a.get("stream_detail") or []))'
}
msgs_are() { [ "$(msgs_at "$1")" = "$2" ]; }

say "usage errors: --aggregate without --cluster, a URL that is not nats://, a node with /"
must_fail 2 "--aggregate alone" elog serve --db "$T/u.db" --aggregate 2>"$T/u.err"
grep -q "needs --cluster" "$T/u.err" || fail "$(cat "$T/u.err")"
must_fail 2 "http URL" elog serve --listen 127.0.0.1:0 --db "$T/u.db" --cluster http://x:1 2>"$T/u.err"
grep -q "nats://HOST:PORT" "$T/u.err" || fail "$(cat "$T/u.err")"
must_fail 2 "node with /" elog serve --listen 127.0.0.1:0 --db "$T/u.db" \
	--cluster nats://127.0.0.1:1 --node a/b 2>"$T/u.err"
must_fail 2 "replicas 9" elog serve --listen 127.0.0.1:0 --db "$T/u.db" \
	--cluster nats://127.0.0.1:1 --cluster-replicas 9 2>"$T/u.err"

say "user and password from a file"
solo up --user elog --pass 's3cret pass'
UP_PORT=$PORT UP_MON=$MON
printf 's3cret pass\n' >"$T/pw"
start_serve up --cluster "nats://127.0.0.1:$UP_PORT" --node up --cluster-user elog \
	--cluster-password-file "$T/pw"
elog send -c api one || fail "send"
wait_for "the record in the stream" 30 msgs_are "$UP_MON" 1
stop_serve

say "a wrong password: serve says why, keeps retrying, and ingests locally"
printf 'wrong\n' >"$T/pw2"
start_serve bad --cluster "nats://127.0.0.1:$UP_PORT" --node bad --cluster-user elog \
	--cluster-password-file "$T/pw2"
elog send -c api two || fail "send while NATS refuses"
wait_for "the refusal on stderr" 30 grep -qi "cannot connect.*author" "$T/bad.err" ||
	fail "$(cat "$T/bad.err")"
[ "$(elog logs --color never | wc -l)" = 1 ] || fail "local ingest with NATS refusing"
msgs_are "$UP_MON" 1 || fail "the stream got a record from a refused login"
stop_serve

say "a token from \$ELOG_CLUSTER_TOKEN"
solo tok --auth 'tok-123'
ELOG_CLUSTER_TOKEN=tok-123 start_serve tok --cluster "nats://127.0.0.1:$PORT" --node tok
elog send -c api three || fail "send"
wait_for "the record in the token stream" 30 msgs_are "$MON" 1
stop_serve

say "TLS with --cluster-ca"
C="$T/certs"
mkdir -p "$C"
(
	cd "$C" &&
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 \
		-subj /CN=elog-nats-ca &&
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
		-days 2 -extfile srv.ext
) >"$T/openssl.log" 2>&1 || fail "openssl: $(cat "$T/openssl.log")"
solo tls --tls --tlscert "$C/srv.pem" --tlskey "$C/srv.key"
start_serve tls --cluster "tls://127.0.0.1:$PORT" --node tls --cluster-ca "$C/ca.pem"
elog send -c api four || fail "send"
wait_for "the record in the TLS stream" 30 msgs_are "$MON" 1
stop_serve
