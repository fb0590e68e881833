#!/bin/sh
# t8404-cluster-stream-limits: the stream serve --cluster creates takes its limits from the
# history's retention: max_bytes from --retain-size, max_age from --retain-age (and the
# duplicate window, 2 min, shortened to max_age when that is shorter); without them the stream
# has no such limit. A stream that exists already is left as it is. Checked on the JetStream
# API's view of the stream (nats-server's monitoring endpoint /jsz, with config=true).
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

say "nats-server is installed"
nats_have_server || fatal "no nats-server"

# solo NAME: one nats-server with JetStream on free ports (each case its own: two streams
# cannot both take the subjects elog.>); sets URL and MON
solo() {
	set -- "$1" $(nats_pick_ports)
	mkdir -p "$T/$1"
	"$NATS_SERVER" -a 127.0.0.1 -p "$2" -m "$3" -js -sd "$T/$1" >"$T/$1.log" 2>&1 &
	BG_PIDS="$BG_PIDS $!"
	URL="nats://127.0.0.1:$2" MON=$3
	wait_for "nats-server $1" 30 sh -c "curl -sf http://127.0.0.1:$MON/healthz | grep -q ok" ||
		fatal "nats-server $1: $(tail -3 "$T/$1.log")"
}

# stream_cfg NAME: "max_bytes max_age duplicate_window messages" of stream NAME, from /jsz
stream_cfg() {
	curl -sf "http://127.0.0.1:$MON/jsz?streams=true&config=true" | $PY -c '
import json, sys
d = json.load(sys.stdin)
for a in d.get("account_details") or []:
    for s in a.get("stream_detail") or []:
        if s["name"] == sys.argv[1]:
            c = s["config"]
            print(c.get("max_bytes"), c.get("max_age", 0), c.get("duplicate_window"),
                  s["state"]["messages"]); sys.exit(0)
sys.exit(1)' "$1"
}
has_msgs() { [ "$(stream_cfg "$1" | cut -d' ' -f4)" = "$2" ]; }

say "--retain-size 64M --retain-age 2h: max_bytes 67108864, max_age 2 h, duplicate window 2 min"
solo js1
URL1=$URL MON1=$MON
start_serve a --cluster "$URL" --node a --cluster-stream SIZED --retain-size 64M --retain-age 2h
elog send -c api one || fail "send"
wait_for "the record in stream SIZED" 30 has_msgs SIZED 1
got=$(stream_cfg SIZED)
[ "$got" = "67108864 7200000000000 120000000000 1" ] ||
	fail "stream SIZED: max_bytes max_age duplicate_window messages = '$got'"
grep -q "created stream 'SIZED' with 1 replica, max_bytes 67108864, max_age 7200 s" "$T/a.err" ||
	fail "serve did not say the limits: $(cat "$T/a.err")"
stop_serve

say "--retain-age 30s alone: max_age 30 s, the duplicate window 30 s too, max_bytes unbounded (-1)"
solo js2
start_serve b --cluster "$URL" --node b --cluster-stream AGED --retain-age 30s
elog send -c api two || fail "send"
wait_for "the record in stream AGED" 30 has_msgs AGED 1
got=$(stream_cfg AGED)
[ "$got" = "-1 30000000000 30000000000 1" ] ||
	fail "stream AGED: max_bytes max_age duplicate_window messages = '$got'"
stop_serve

say "no --retain-*: no max_bytes, no max_age (the default history bound is not the stream's)"
solo js3
start_serve c --cluster "$URL" --node c --cluster-stream PLAIN
elog send -c api three || fail "send"
wait_for "the record in stream PLAIN" 30 has_msgs PLAIN 1
got=$(stream_cfg PLAIN)
[ "$got" = "-1 0 120000000000 1" ] ||
	fail "stream PLAIN: max_bytes max_age duplicate_window messages = '$got'"
stop_serve

say "a box with other limits publishes into the existing stream and leaves its limits"
URL=$URL1 MON=$MON1
start_serve d --cluster "$URL" --node d --cluster-stream SIZED --retain-size 16M --retain-age 1h
elog send -c api four || fail "send"
wait_for "the second record in stream SIZED" 30 has_msgs SIZED 2
got=$(stream_cfg SIZED)
[ "$got" = "67108864 7200000000000 120000000000 2" ] ||
	fail "stream SIZED changed: max_bytes max_age duplicate_window messages = '$got'"
stop_serve
