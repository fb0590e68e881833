#!/bin/sh
# t8401-cluster-stream-format: what serve --cluster puts in the stream, read by an independent
# client (the `nats` package from npm, tests/js/read-stream.mjs, not libnats): subjects
# elog.<node>.<component> with the documented subject-safe mapping, Nats-Msg-Id <node>/<id>,
# the Elog-* headers, and the JSON payload (README "Several machines").
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

say "nats-server, node and the npm nats package are there (tools/deps.sh)"
nats_have_server || fatal "no nats-server"
command -v node >/dev/null || fatal "no node (nodejs)"
[ -d "$ELOG_TOP/tests/js/node_modules/nats" ] ||
	skip_test "tests/js/node_modules/nats is missing: tools/deps.sh (make test) runs npm ci, which failed or has no network"

nats_cluster_start || fatal "the NATS cluster did not start"
NODE='rack1.box 1'
start_serve box --cluster "$NATS_URLS" --node "$NODE"
LONG=$(printf 'c%.0s' $(seq 1 200))
elog send -c api 'plain line' || fail "send api"
printf '{"level":"warn","msg":"disk full","disk":"/dev/sda","n":3}\n' | elog send -c web.api ||
	fail "send web.api"
elog send -c 'a b' -l error 'spaced' || fail "send a b"
elog send -c 'ünï*>' -l debug 'unicode' || fail "send unicode"
elog send -c "$LONG" 'long component' || fail "send long"
stream_is() { [ "$(nats_stream_msgs ELOG 2>/dev/null)" = "$1" ]; }
wait_for "5 messages in the stream" 60 stream_is 5

say "an independent client reads every message; subjects, ids, headers and payload check out"
node "$ELOG_TOP/tests/js/read-stream.mjs" "$NATS_URLS" ELOG >"$T/msgs.jsonl" 2>"$T/js.err" ||
	fail "read-stream.mjs: $(cat "$T/js.err")"
[ "$(wc -l <"$T/msgs.jsonl")" = 5 ] || fail "read $(wc -l <"$T/msgs.jsonl") messages, expected 5"

say "the subject-safe mapping of node and component names"
$PY - "$T/msgs.jsonl" "$LONG" <<'PYEOF' || fail "subjects"
import hashlib, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {r["payload"]["component"]: r for r in rows}
want = {
    "api": "elog.rack1%2Ebox%201.api",
    "web.api": "elog.rack1%2Ebox%201.web%2Eapi",
    "a b": "elog.rack1%2Ebox%201.a%20b",
    "ünï*>": "elog.rack1%2Ebox%201.%C3%BCn%C3%AF%2A%3E",
}
bad = 0
for comp, subj in want.items():
    got = by.get(comp, {}).get("subject")
    if got != subj:
        print("component %r: subject %r, expected %r" % (comp, got, subj)); bad = 1
long = sys.argv[2]
subj = by.get(long, {}).get("subject")
exp = "elog.rack1%2Ebox%201." + long[:31] + "~" + hashlib.sha256(long.encode()).hexdigest().upper()
if subj != exp:
    print("long component: subject %r, expected %r" % (subj, exp)); bad = 1
w = by.get("web.api", {}).get("payload", {})
if w.get("level") != "warn" or w.get("msg") != "disk full" or \
   w.get("fields") != {"disk": "/dev/sda", "n": 3} or w.get("node") != "rack1.box 1":
    print("web.api payload: %r" % w); bad = 1
if by.get("a b", {}).get("headers", {}).get("Elog-Level") != "error":
    print("a b: Elog-Level %r" % by.get("a b", {}).get("headers")); bad = 1
ids = [r["payload"]["id"] for r in rows]
if ids != [1, 2, 3, 4, 5]:
    print("ids in stream order: %r" % ids); bad = 1
sys.exit(bad)
PYEOF

say "a record larger than NATS's max payload goes cut, and the publisher goes on"
$PY -c 'print("x" * (1200 * 1024))' | elog send -c big || fail "send big"
elog send -c api 'after the big one' || fail "send after"
wait_for "7 messages in the stream" 60 stream_is 7 ||
	fail "the stream holds $(nats_stream_msgs ELOG): $(tail -3 "$T/box.err")"
node "$ELOG_TOP/tests/js/read-stream.mjs" "$NATS_URLS" ELOG >"$T/msgs2.jsonl" 2>"$T/js2.err" ||
	fail "read-stream.mjs: $(cat "$T/js2.err")"
$PY - "$T/msgs2.jsonl" <<'PYEOF' || fail "the big record"
import json, sys
rows = [json.loads(l)["payload"] for l in open(sys.argv[1])]
big = [r for r in rows if r["component"] == "big"]
ok = len(big) == 1 and big[0].get("cut") is True and big[0]["msg"].endswith(" …[truncated]") \
     and 900 * 1024 < len(big[0]["msg"]) < 1024 * 1024 and rows[-1]["msg"] == "after the big one"
if not ok:
    print("big: %r, last: %r" % ([(r.get("cut"), len(r["msg"])) for r in big], rows[-1]["msg"]))
sys.exit(0 if ok else 1)
PYEOF
stop_serve

say "one NATS server without a cluster: the stream is made with 1 replica, not 3"
set -- $(nats_pick_ports)
mkdir -p "$T/solo"
"$NATS_SERVER" -a 127.0.0.1 -p "$1" -m "$2" -js -sd "$T/solo" >"$T/solo.log" 2>&1 &
BG_PIDS="$BG_PIDS $!"
solo_up() { curl -sf "http://127.0.0.1:$2/healthz" | grep -q ok; }
wait_for "the single nats-server" 30 solo_up "$1" "$2"
start_serve solo --cluster "nats://127.0.0.1:$1" --node solo
elog send -c api 'one' || fail "send to solo"
wait_for "the stream with 1 replica" 30 grep -q "created stream 'ELOG' with 1 replica" "$T/solo.err" ||
	fail "$(cat "$T/solo.err")"
solo_msgs() {
	curl -sf "http://127.0.0.1:$1/jsz?streams=true" | $PY -c '
import json, sys
d = json.load(sys.stdin)
print(sum(s["state"]["messages"] for a in d.get("account_details") or [] for s in a.get("stream_detail") or []))'
}
solo_has() { [ "$(solo_msgs "$1")" = 1 ]; }
wait_for "the record in the one-server stream" 30 solo_has "$2"
stop_serve
