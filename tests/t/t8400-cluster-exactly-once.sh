#!/bin/sh
# t8400-cluster-exactly-once: serve --cluster on a real 3-node nats-server JetStream cluster
# (127.0.0.1): two "boxes" publish, one serve --aggregate brings both in. Along the way the
# stream's leader node is killed -9 mid-stream and restarted, one box's serve is killed -9
# mid-publish and restarted, and the aggregator is killed -9 mid-consume and restarted.
# Afterwards the stream holds each record once, and the aggregator holds each record of each
# box exactly once, in each box's order, with the field node.
# N records per box (ELOG_TEST_LONG=1: 1M per box, and the leader killed 5 times).
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

if ! nats_have_server; then
	say "nats-server is installed (tools/deps.sh)"
	fail "no nats-server: the cluster tests need it"
	exit 1
fi
# (ELOG_TEST_LONG: the leader is killed 5 times during the second quarter)
if [ -n "${ELOG_TEST_LONG:-}" ]; then N=1000000; WAIT=900; LEADER_KILLS=5
else N=${T8400_N:-8000}; WAIT=90; LEADER_KILLS=${T8400_KILLS:-1}; fi
Q=$((N / 4))

# lines LO HI NAME: "NAME 000123" for LO..HI
lines() { seq -f "$3 %07.0f" "$1" "$2"; }
# send_to SERVER LO HI NAME
send_to() { lines "$2" "$3" "$4" | "$ELOG_BIN" send --server "$1" -c api --multiline none; }
# json_field SERVER EXPR: a value of `elog ps --json`'s cluster line (python expression on c)
ps_cluster() {
	"$ELOG_BIN" ps --server "$1" --json 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if "cluster" in d:
        c = d["cluster"]; print(eval(sys.argv[1])); break' "$2"
}
# records held by the history NAME (read from the file: cheap at 1M records too)
count_at() { history_count "$T/$1.db"; }
stream_is() { [ "$(nats_stream_msgs ELOG 2>/dev/null)" = "$1" ]; }
agg_has() { [ "$(count_at agg)" -ge "$1" ]; }

# paced LO HI NAME SECONDS: the lines of lines(), spread over about SECONDS (a producer's pace)
paced() {
	$PY - "$@" <<'PYEOF'
import sys, time
lo, hi, name, secs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
n = hi - lo + 1; chunk = max(1, n // 50); t0 = time.monotonic()
for i in range(lo, hi + 1):
    sys.stdout.write("%s %07d\n" % (name, i))
    if (i - lo + 1) % chunk == 0:
        sys.stdout.flush()
        time.sleep(max(0, t0 + secs * (i - lo + 1) / n - time.monotonic()))
sys.stdout.flush()
PYEOF
}
box_has() { [ "$(count_at "$1")" -ge "$2" ]; }
# restart_box NAME ADDR [ARGS]: serve NAME again on the same address (senders reconnect)
restart_box() {
	nm=$1 addr=$2; shift 2
	rm -f "$T/$nm.ready"
	"$ELOG_BIN" serve --listen "$addr" --db "$T/$nm.db" --ready-file "$T/$nm.ready" \
		--cluster "$NATS_URLS" --node "$nm" "$@" 2>>"$T/$nm.err" &
	eval "PID_$nm=\$!"
	SERVE_PIDS="$SERVE_PIDS $!"
	wait_for "$nm to restart" 30 test -s "$T/$nm.ready" || fatal "$nm did not restart: $(tail -3 "$T/$nm.err")"
}

start_box() {   # start_box NAME [ARGS]: sets PID_<NAME> and SRV_<NAME>
	nm=$1; shift
	start_serve "$nm" --cluster "$NATS_URLS" --node "$nm" "$@"
	eval "PID_$nm=\$SERVE_PID SRV_$nm=\$SERVER"
}

nats_cluster_start || fatal "the NATS cluster did not start"
start_box box1
start_box box2
start_box agg --aggregate
B1=$SRV_box1 B2=$SRV_box2 AGG=$SRV_agg

say "a first quarter reaches the stream and the aggregator"
send_to "$B1" 1 $Q box1 || fail "send box1"
send_to "$B2" 1 $Q box2 || fail "send box2"
wait_for "the stream to hold $((2 * Q))" $WAIT stream_is $((2 * Q))
wait_for "the aggregator to hold $((2 * Q))" $WAIT agg_has $((2 * Q))

say "kill -9 of the stream's leader node mid-stream, and its restart"
send_to "$B1" $((Q + 1)) $((2 * Q)) box1 &
s1=$!
send_to "$B2" $((Q + 1)) $((2 * Q)) box2 &
s2=$!
BG_PIDS="$BG_PIDS $s1 $s2"
has_leader() { nats_stream_leader ELOG >/dev/null; }
kills=0   # (not k: tests/nats/cluster.sh's functions use k)
while [ $kills -lt "$LEADER_KILLS" ]; do
	kills=$((kills + 1))
	wait_for "the stream to have a leader" 60 has_leader
	leader=$(nats_stream_leader ELOG) || fail "no leader of ELOG in /jsz"
	echo "# stream leader: n$leader (kill $kills of $LEADER_KILLS)"
	nats_node_kill "$leader"
	nats_node_start "$leader" || fail "node n$leader did not come back"
done
wait "$s1" || fail "send to box1 while the leader was killed"
wait "$s2" || fail "send to box2 while the leader was killed"
wait_for "the stream to have a leader" 60 has_leader
echo "# stream leader after: n$(nats_stream_leader ELOG)"
wait_for "the stream to hold $((4 * Q))" $WAIT stream_is $((4 * Q))

say "kill -9 of a box's serve mid-publish, and its restart"
# box1 ingests the third quarter over ~3 s (a paced sender that rides out the restart: serve
# comes back on the same port), and is killed -9 halfway, while it publishes
paced $((2 * Q + 1)) $((3 * Q)) box1 3 | "$ELOG_BIN" send --server "$B1" -c api --multiline none &
s1=$!
BG_PIDS="$BG_PIDS $s1"
# halfway, at a moment when the box holds records its saved cursor has not passed
mid_publish() {
	c=$(sqlite3 "$T/box1.db" "SELECT last_id FROM cursors WHERE name = 'cluster-publish'" \
		2>/dev/null)
	[ "$(history_count "$T/box1.db")" -ge "$1" ] &&
		[ "$(history_last_id "$T/box1.db")" -gt "${c:-0}" ]
}
wait_for "box1 to hold $((2 * Q + Q / 2)), not all published" $WAIT mid_publish $((2 * Q + Q / 2))
# the publisher may catch up between that look and a kill: look again with serve stopped
# (SIGSTOP: its files hold still), kill -9 it then if it still holds unpublished records,
# else let it go on and look again (at most 200 times)
tries=0
while :; do
	kill -STOP "$PID_box1"
	if mid_publish 0; then break; fi
	kill -CONT "$PID_box1"
	tries=$((tries + 1))
	[ $tries -ge 200 ] && break
	sleep 0.02
done
kill -9 "$PID_box1"
wait "$PID_box1" 2>/dev/null
cur=$(sqlite3 "$T/box1.db" "SELECT last_id FROM cursors WHERE name='cluster-publish'")
max=$(history_last_id "$T/box1.db")
echo "# box1 killed with its saved cursor at ${cur:-0} of $max"
[ "${cur:-0}" -lt "$max" ] || fail "box1 was not killed mid-publish (cursor $cur, max id $max)"
restart_box box1 "$B1"
wait "$s1" || fail "the sender to box1 did not deliver everything across the restart"
send_to "$B2" $((2 * Q + 1)) $((3 * Q)) box2 || fail "send box2 third quarter"
wait_for "the stream to hold $((6 * Q))" $WAIT stream_is $((6 * Q))

say "kill -9 of the aggregator mid-consume, and its restart"
paced $((3 * Q + 1)) $N box1 2 | "$ELOG_BIN" send --server "$B1" -c api --multiline none &
s1=$!
paced $((3 * Q + 1)) $N box2 2 | "$ELOG_BIN" send --server "$B2" -c api --multiline none &
s2=$!
BG_PIDS="$BG_PIDS $s1 $s2"
wait_for "the aggregator to hold $((6 * Q + Q / 2))" $WAIT agg_has $((6 * Q + Q / 2))
kill -9 "$PID_agg"
wait "$PID_agg" 2>/dev/null
have=$(history_count "$T/agg.db")
echo "# aggregator killed holding $have of $((2 * N))"
[ "$have" -lt $((2 * N)) ] || fail "the aggregator was not killed mid-consume ($have records)"
restart_box agg "$AGG" --aggregate
wait "$s1" || fail "send box1 last quarter"
wait "$s2" || fail "send box2 last quarter"
wait_for "the aggregator to hold $((2 * N))" $WAIT agg_has $((2 * N))

say "the stream holds each record once (the duplicate window dropped the resends)"
wait_for "the stream to hold $((2 * N))" 30 stream_is $((2 * N))
got=$(nats_stream_msgs ELOG)
[ "$got" = $((2 * N)) ] || fail "the stream holds $got messages, expected $((2 * N))"

say "the aggregator holds each record of each box exactly once, in each box's order"
"$ELOG_BIN" export --server "$AGG" --json >"$T/agg.jsonl" || fail "export agg"
"$ELOG_BIN" export --server "$B1" --json >"$T/b1.jsonl" || fail "export box1"
"$ELOG_BIN" export --server "$B2" --json >"$T/b2.jsonl" || fail "export box2"
$PY - "$T" "$N" <<'PYEOF' || fail "exactly once in order"
import json, sys
T, N = sys.argv[1], int(sys.argv[2])
def load(p):
    return [json.loads(l) for l in open(p)]
agg = load(T + "/agg.jsonl")
bad = 0
for box in ("box1", "box2"):
    own = [r["msg"] for r in load("%s/%s.jsonl" % (T, "b1" if box == "box1" else "b2"))]
    want = ["%s %07d" % (box, i) for i in range(1, N + 1)]
    if own != want:
        print("%s's own history is not 1..N in order (%d records)" % (box, len(own))); bad = 1
    got = [r["msg"] for r in agg if (r.get("fields") or {}).get("node") == box]
    if got != want:
        dup = len(got) - len(set(got)); miss = len(set(want) - set(got))
        print("%s on the aggregator: %d records, %d duplicates, %d missing, in order: %s"
              % (box, len(got), dup, miss, sorted(got) == got))
        bad = 1
other = [r for r in agg if (r.get("fields") or {}).get("node") not in ("box1", "box2")]
if other:
    print("%d records without a box's node: %r" % (len(other), other[:2])); bad = 1
sys.exit(bad)
PYEOF

say "logs --node (-N) keeps one origin; other nodes' records show comp@node"
n1=$("$ELOG_BIN" logs --server "$AGG" -N box1 --color never | wc -l)
[ "$n1" = "$N" ] || fail "logs -N box1 shows $n1 records, expected $N"
"$ELOG_BIN" logs --server "$AGG" --node box2 --color never -g 'box2 0000001$' >"$T/one.txt"
grep -q '^api@box2 *| .*box2 0000001' "$T/one.txt" || fail "no 'api@box2 |' prefix: $(cat "$T/one.txt")"
[ "$(wc -l <"$T/one.txt")" = 1 ] || fail "logs -N box2 -g: $(cat "$T/one.txt")"
n0=$("$ELOG_BIN" logs --server "$AGG" -N - --color never | wc -l)
[ "$n0" = 0 ] || fail "logs -N - on the aggregator shows $n0 records of its own, expected 0"
"$ELOG_BIN" logs --server "$B1" --color never -n 1 >"$T/b1last.txt"
grep -q '^api *| .*box1 '"$(printf %07d "$N")" "$T/b1last.txt" ||
	fail "a box's own records lost their plain prefix: $(cat "$T/b1last.txt")"

say "the aggregator publishes its own records, not those it took from the stream"
printf 'own 1\nown 2\nown 3\n' | "$ELOG_BIN" send --server "$AGG" -c self --multiline none ||
	fail "send to the aggregator"
wait_for "the stream to hold $((2 * N + 3))" $WAIT stream_is $((2 * N + 3))
agg_caught_up() { [ "$(ps_cluster "$AGG" 'c["behind"]')" = 0 ] &&
	[ "$(ps_cluster "$AGG" 'c["cursor"]')" = "$(count_at agg)" ]; }
wait_for "the aggregator's cursor past every record" 30 agg_caught_up ||
	fail "aggregator: $("$ELOG_BIN" ps --server "$AGG" | tail -1)"
[ "$(nats_stream_msgs ELOG)" = $((2 * N + 3)) ] || fail "the stream holds $(nats_stream_msgs ELOG)"

say "serve stops cleanly with --cluster (exit 0, cursor saved)"
stop_serve "$PID_agg"
stop_serve "$PID_box2"
cur=$(sqlite3 "$T/box2.db" "SELECT last_id FROM cursors WHERE name='cluster-publish'")
[ "$cur" = "$N" ] || fail "box2's cursor is '$cur' after a clean stop, expected $N"
stop_serve "$PID_box1"
