#!/bin/sh
# One protobuf Timestamp rule for every contract (issue #15 item 4): the same Timestamp sent to
# the Electrician relay (Receive), flowctl (StreamLogs) and logging.v1 (WriteLogStream) gives
# the same record time. The rule (util.h elog_pb_time_ns, convert.h elog_conv_event_ns):
# nanos outside [0, 1e9) are normalised into the seconds; a time past what int64 ns holds
# saturates (2262-04-11T23:47:16.854775807Z); unset, at or before 1970 means "unknown": the
# record takes its arrival time. Before, relay and logging.v1 took a far-future time as
# unknown while flowctl saturated it, and logging.v1 took seconds 0 with nanos 1 as unknown.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t2252: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fatal "generating python stubs"
start_serve ts

say "the same Timestamps through relay, flowctl and logging.v1 give the same record times"
PYTHONPATH="$T/stubs" $PY - "$SERVER" "$T/ts.db" <<'PYEOF' || fail "timestamp peer"
import sqlite3, sys, time
import grpc
import electrician_pb2 as epb, electrician_pb2_grpc as egrpc
import flowctl_pb2 as fpb, flowctl_pb2_grpc as fgrpc
import logging_pb2 as lpb, logging_pb2_grpc as lgrpc
from google.protobuf import timestamp_pb2

MAX = 2**63 - 1
ARRIVAL = "arrival"
# name, seconds, nanos, the record's ts
CASES = [
    ("plain", 1700000000, 5, 1700000000000000005),
    ("negnanos", 5, -1, 4999999999),
    ("bignanos", 1, 1500000000, 2500000000),
    ("firstns", 0, 1, 1),
    ("lastns", 9223372036, 854775807, MAX),
    ("past2262", 10**12, 0, MAX),
    ("maxsec", 2**63 - 1, 999999999, MAX),
    ("before1970", -5, 0, ARRIVAL),
    ("epochminus1", 0, -1, ARRIVAL),
    ("minsec", -2**63, -2**31, ARRIVAL),
]

ch = grpc.insecure_channel(sys.argv[1])
grpc.channel_ready_future(ch).result(timeout=30)

def ts(s, n):
    t = timestamp_pb2.Timestamp()
    t.seconds = s
    t.nanos = n
    return t

relay = egrpc.RelayServiceStub(ch)
for name, s, n, _ in CASES:
    md = epb.MessageMetadata(headers={"source": "relay-" + name}, content_type="text/plain")
    relay.Receive(epb.WrappedPayload(id="id-" + name, timestamp=ts(s, n), payload=b"x\n",
                                     metadata=md), timeout=60)

flow = fgrpc.ControlPlaneStub(ch)
entries = [fpb.LogEntry(component_id="flowctl-" + name, timestamp=ts(s, n), level="info",
                        message="x") for name, s, n, _ in CASES]
list(flow.StreamLogs(iter(entries), timeout=60))

logs = lgrpc.LogServiceStub(ch)
frames = [lpb.LogFrame(session_id="logsvc-" + name, time=ts(s, n), role="user", content="x")
          for name, s, n, _ in CASES]
logs.WriteLogStream(iter(frames), timeout=60)

want = 3 * len(CASES)
db = sqlite3.connect(sys.argv[2], timeout=30)
deadline = time.time() + 60
while True:
    rows = db.execute("select component, ts, arrival from records").fetchall()
    if len(rows) >= want or time.time() > deadline:
        break
    time.sleep(0.1)
got = {c: (t, a) for c, t, a in rows}
bad = []
for svc in ("relay", "flowctl", "logsvc"):
    for name, s, n, exp in CASES:
        c = svc + "-" + name
        if c not in got:
            bad.append("%s: no record" % c)
            continue
        t, a = got[c]
        if exp == ARRIVAL:
            if t != a:
                bad.append("%s {%d, %d}: ts %d, expected the arrival time %d" % (c, s, n, t, a))
        elif t != exp:
            bad.append("%s {%d, %d}: ts %d, expected %d" % (c, s, n, t, exp))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

say "the saturated time is shown as 2262-04-11T23:47:16.854775807Z"
elog export --json -c relay-past2262 -c flowctl-past2262 -c logsvc-past2262 >"$T/far.json" ||
	fail "export"
n=$(grep -c '2262-04-11T23:47:16.854775807Z' "$T/far.json")
[ "$n" = 3 ] || fail "$n of 3 records at the saturated time: $(cat "$T/far.json")"
stop_serve
echo "t2252: ok"
