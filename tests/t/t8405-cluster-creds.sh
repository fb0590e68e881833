#!/bin/sh
# t8405-cluster-creds: serve --cluster-creds FILE against a nats-server in operator mode (JWT
# authentication: an operator, an account with JetStream, a user; resolver MEMORY with the
# accounts preloaded). The keys and JWTs are made by tests/js/make-creds.mjs with the npm nats
# client's nkeys. A box logs in with the user's .creds file and publishes; an independent
# client (the npm nats package, logged in with the same file) reads the stream back; a user of
# an account the server does not know is refused, and serve says so and keeps its records; an
# unreadable file is a usage error.
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

say "nats-server, node and the npm nats package (with nkeys.js) are there (tools/deps.sh)"
nats_have_server || fatal "no nats-server"
command -v node >/dev/null || fatal "no node (nodejs)"
[ -d "$ELOG_TOP/tests/js/node_modules/nkeys.js" ] ||
	skip_test "tests/js/node_modules/nkeys.js is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"

say "an operator-mode nats-server with JetStream starts with the generated JWTs"
mkdir -p "$T/cr" "$T/js"
node "$ELOG_TOP/tests/js/make-creds.mjs" "$T/cr" 2>"$T/mk.err" || fatal "make-creds.mjs: $(cat "$T/mk.err")"
set -- $(nats_pick_ports)
PORT=$1 MON=$2
{
	echo "listen: 127.0.0.1:$PORT"
	echo "http: 127.0.0.1:$MON"
	echo "jetstream: { store_dir: \"$T/js\" }"
	cat "$T/cr/server.conf.inc"
} >"$T/nats.conf"
"$NATS_SERVER" -c "$T/nats.conf" >"$T/nats.log" 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_for "nats-server in operator mode" 30 sh -c "curl -sf http://127.0.0.1:$MON/healthz | grep -q ok" ||
	fatal "nats-server: $(tail -5 "$T/nats.log")"
grep -q 'Operator: "elog-test-operator"' "$T/nats.log" || fail "the server is not in operator mode"
URL="nats://127.0.0.1:$PORT"

# messages of every stream of every account, from /jsz
msgs_at() {
	curl -sf "http://127.0.0.1:$MON/jsz?accounts=true&streams=true" | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(sum(s["state"]["messages"] for a in d.get("account_details") or [] for s in a.get("stream_detail") or []))'
}
msgs_are() { [ "$(msgs_at)" = "$1" ]; }

say "--cluster-creds: the box logs in with the user's JWT and seed and publishes"
start_serve box --cluster "$URL" --node box --cluster-creds "$T/cr/user.creds"
elog send -c api one || fail "send"
elog send -c api two || fail "send"
elog send -c web -l warn three || fail "send"
wait_for "3 records in the stream" 30 msgs_are 3 || fail "$(cat "$T/box.err")"
grep -q "publishing to stream 'ELOG' as node 'box'" "$T/box.err" || fail "$(cat "$T/box.err")"

say "an independent client with the same .creds reads the three messages back"
NATS_CREDS="$T/cr/user.creds" node "$ELOG_TOP/tests/js/read-stream.mjs" "$URL" ELOG \
	>"$T/msgs.jsonl" 2>"$T/read.err" || fail "read-stream.mjs: $(cat "$T/read.err")"
$PY - "$T/msgs.jsonl" <<'PYEOF' || fail "the messages read back: $(cat "$T/msgs.jsonl")"
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
assert [x["payload"]["msg"] for x in m] == ["one", "two", "three"], m
assert [x["headers"]["Nats-Msg-Id"] for x in m] == ["box/1", "box/2", "box/3"], m
assert m[2]["subject"] == "elog.box.web", m[2]
PYEOF
stop_serve

say "a user of an account the server does not know: refused, said on stderr, records kept"
start_serve stranger --cluster "$URL" --node stranger --cluster-creds "$T/cr/stranger.creds"
elog send -c api four || fail "send while NATS refuses"
wait_for "the refusal on stderr" 30 grep -qi "cannot connect.*author" "$T/stranger.err" ||
	fail "$(cat "$T/stranger.err")"
[ "$(elog logs --color never | wc -l)" = 1 ] || fail "local ingest with NATS refusing"
msgs_are 3 || fail "the stream got a record from a refused login ($(msgs_at))"
stop_serve

say "--cluster-creds with a file that cannot be read is a usage error"
must_fail 2 "missing creds" elog serve --listen 127.0.0.1:0 --db "$T/u.db" --cluster "$URL" \
	--cluster-creds "$T/cr/nope.creds" 2>"$T/u.err"
grep -q "cluster-creds '.*nope.creds'" "$T/u.err" || fail "$(cat "$T/u.err")"
