#!/bin/sh
# serve --notify-redis with a password (hardening #14, finding 16): a usage error about the URL
# never shows the password (it shows '***'), and a password holding '/' or '@', raw or
# percent-encoded, authenticates (against a real redis-server when there is one).
. "$(dirname "$0")/lib.sh"

# bad_url URL: serve refuses it with exit 2, and stderr has neither password nor its encoding
bad_url() {
	must_fail 2 "bad URL $1" elog serve --listen 127.0.0.1:0 --db "$T/u.db" \
		--notify-redis "$1" 2>"$T/u.err"
	grep -q "invalid redis URL '.*\*\*\*" "$T/u.err" || fail "no masked URL for $1: $(cat "$T/u.err")"
	! grep -q "s3cret" "$T/u.err" || fail "the password of $1 shows: $(cat "$T/u.err")"
}

say "the password never shows in a usage error"
bad_url 'redis://:s3cretPW@127.0.0.1:99999'
bad_url 'redis://:s3cret/PW@127.0.0.1:99999/1'
bad_url 'redis://user:s3cret%2FPW@127.0.0.1/x'
bad_url 'redis://s3cretPW@[::1'
bad_url 'http://:s3cretPW@127.0.0.1'
grep -q "^elog serve: invalid redis URL 'http://:\*\*\*@127.0.0.1'" "$T/u.err" ||
	fail "message for a non-redis URL: $(cat "$T/u.err")"

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null ||
   ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t9544: redis part skipped: needs redis-server, redis-cli, python3-grpcio and protoc"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
P=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$P" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
	--requirepass 'p/w@x%y' --dir "$T" >"$T/redis.out" 2>&1 &
RPID=$!
BG_PIDS="$BG_PIDS $RPID"
wait_for "redis-server on $P" 10 sh -c "redis-cli -p $P ping 2>&1 | grep -q NOAUTH"
# announced LIST: Redis holds at least one announcement on LIST
announced() { [ "$(redis-cli -a 'p/w@x%y' --no-auth-warning -p "$P" -n 2 LLEN "$1")" -ge 1 ]; }

for url in "redis://:p/w@x%y@127.0.0.1:$P/2" "redis://:p%2Fw%40x%25y@127.0.0.1:$P/2"; do
	say "a password with '/' and '@' authenticates: $url"
	list=l$(printf %s "$url" | cksum | cut -d' ' -f1)
	start_serve s --log-max-size 300 --notify-redis "$url" --notify-redis-list "$list"
	r=$(peer send "$SERVER" "$T/stubs" t 'A*4'); [ "$r" = "ACK 4 ACKNOWLEDGED" ] || fail "send: $r"
	wait_for "announcements on $list" 15 announced "$list"
	stop_serve
	! grep -q 'p/w\|p%2Fw' "$T/s.err" || fail "the password shows: $(cat "$T/s.err")"
done
kill "$RPID" 2>/dev/null

echo "t9544: ok"
