#!/bin/sh
# t8402-cluster-partition: every NATS node stopped for 10 s while a box keeps ingesting: the
# box's ingest goes on (rates with the cluster up and down are printed; the ratio itself is
# measured by bench/cluster.sh, where timing is the point), `elog ps` shows the lag, and once the nodes are back nothing is lost: the stream and the aggregator
# get every record once, in order.
. "$(dirname "$0")/lib.sh"
. "$ELOG_TOP/tests/nats/cluster.sh"

say "nats-server is installed (tools/deps.sh)"
nats_have_server || fatal "no nats-server"
if [ -n "${ELOG_TEST_LONG:-}" ]; then M=200000; else M=20000; fi

nats_cluster_start || fatal "the NATS cluster did not start"
start_serve agg --cluster "$NATS_URLS" --node agg --aggregate
AGG=$SERVER
start_serve box --cluster "$NATS_URLS" --node box
BOX=$SERVER
stream_is() { [ "$(nats_stream_msgs ELOG 2>/dev/null)" = "$1" ]; }
count_at() { history_count "$T/$1.db"; }
agg_has() { [ "$(count_at agg)" -ge "$1" ]; }
ps_cluster() {
	"$ELOG_BIN" ps --server "$BOX" --json 2>/dev/null | $PY -c '
import json, sys
for l in sys.stdin:
    d = json.loads(l)
    if "cluster" in d:
        c = d["cluster"]; print(eval(sys.argv[1])); break' "$1"
}
# ingest FIRST LAST: sends those lines to the box; prints the seconds it took
ingest() {
	t0=$(date +%s%N)
	seq -f "box %07.0f" "$1" "$2" | "$ELOG_BIN" send --server "$BOX" -c api --multiline none ||
		fail "send $1..$2"
	echo "$(( $(date +%s%N) - t0 ))"
}

say "ingest with the cluster up (reference rate)"
up_ns=$(ingest 1 $M)
wait_for "the stream to hold $M" 60 stream_is $M

say "every NATS node stopped: ingest goes on, ps shows the lag"
for k in 1 2 3; do nats_node_stop "$k"; done
down_at=$(date +%s)
down_ns=$(ingest $((M + 1)) $((2 * M)))
rate_up=$(( M * 1000000000 / up_ns )); rate_down=$(( M * 1000000000 / down_ns ))
echo "# ingest: $rate_up records/s with the cluster up, $rate_down records/s with it down"
# The rates are printed, not compared closely: on a busy 2-core machine two timed runs differ
# by 2x and more (13k against 32k records/s was seen with nothing wrong). What is asserted is
# what a blocking publisher would break: ingest with the cluster away goes on at a tenth of
# the rate at least (a send waiting on NATS would stall, its connect timeouts are seconds).
[ "$rate_down" -ge $((rate_up / 10)) ] ||
	fail "ingest stalled with the cluster away: $rate_down records/s against $rate_up"
wait_for "ps to show the lag" 10 sh -c "[ \"\$(\"$ELOG_BIN\" ps --server $BOX --json |
	grep -c '\"connected\":false,.*\"behind\":$M,')\" = 1 ]" ||
	fail "ps: $("$ELOG_BIN" ps --server "$BOX" 2>&1 | tail -1)"
# the box goes on ingesting in small sends until the nodes have been away 10 s
n=$((2 * M)); sends=0
while [ $(( $(date +%s) - down_at )) -lt 10 ] && [ $sends -lt 1000 ]; do
	seq -f "box %07.0f" $((n + 1)) $((n + 100)) |
		"$ELOG_BIN" send --server "$BOX" -c api --multiline none || fail "send during outage"
	n=$((n + 100)); sends=$((sends + 1))
done
echo "# $n records ingested, $((n - M)) of them with the cluster away for $(( $(date +%s) - down_at )) s"
[ "$(count_at box)" = "$n" ] || fail "the box holds $(count_at box) records, expected $n"

say "the nodes come back: nothing is lost, each record once and in order"
for k in 1 2 3; do nats_node_launch "$k"; done
for k in 1 2 3; do nats_node_wait "$k" || fail "node n$k did not come back"; done
wait_for "the stream to hold $n" 90 stream_is "$n"
wait_for "the aggregator to hold $n" 90 agg_has "$n"
wait_for "ps to show no lag" 30 sh -c "\"$ELOG_BIN\" ps --server $BOX --json |
	grep -q '\"connected\":true,.*\"behind\":0,'" || fail "ps: $("$ELOG_BIN" ps --server "$BOX" | tail -1)"
"$ELOG_BIN" export --server "$AGG" --json >"$T/agg.jsonl" || fail "export"
$PY - "$T/agg.jsonl" "$n" <<'PYEOF' || fail "exactly once in order"
import json, sys
got = [json.loads(l)["msg"] for l in open(sys.argv[1])]
want = ["box %07d" % i for i in range(1, int(sys.argv[2]) + 1)]
if got != want:
    print("%d records, %d distinct, %d missing, ordered %s" % (len(got), len(set(got)),
          len(set(want) - set(got)), sorted(got) == got))
    sys.exit(1)
PYEOF
stop_serve
