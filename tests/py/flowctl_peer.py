#!/usr/bin/python3
"""A flowctl peer against `elog serve`: the ControlPlane registry and the log RPCs.

Usage: /usr/bin/python3 tests/py/flowctl_peer.py HOST:PORT [PROTO_DIR]

Stubs are generated into a temporary directory from proto/flowctl.proto (grpc_tools when
installed, else protoc with grpc_python_plugin). Exits 0 when every check passed, else 1
with a message saying which one failed.
"""
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


from peerlib import Failure, check, gen_stubs  # noqa: E402


def expect_code(code, fn, what):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "%s: want %s, got %s (%s)" % (what, code, e.code(), e.details()))
        return e.details()
    raise Failure("%s: want %s, the call succeeded" % (what, code))


def main():
    if len(sys.argv) < 2:
        print("usage: flowctl_peer.py HOST:PORT [PROTO_DIR]", file=sys.stderr)
        return 2
    addr = sys.argv[1]
    proto_dir = sys.argv[2] if len(sys.argv) > 2 else os.path.join(TOP, "proto")
    tmp = tempfile.mkdtemp(prefix="flowctl-peer.")
    try:
        gen_stubs(proto_dir, tmp, "flowctl.proto")
        run(addr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("flowctl peer: all checks passed")
    return 0


def run(addr):
    import flowctl_pb2 as pb
    import flowctl_pb2_grpc as pbg
    from google.protobuf import empty_pb2, timestamp_pb2

    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=15)
    stub = pbg.ControlPlaneStub(ch)
    T = 20  # per-call timeout, seconds

    # ---- registry ------------------------------------------------------------------------
    ack = stub.Register(pb.ServiceInfo(service_id="src-1", service_type=pb.SERVICE_TYPE_SOURCE,
                                       output_event_types=["a.out", "b.out"],
                                       component_id="comp-src"), timeout=T)
    check(ack.service_id == "src-1", "Register: service_id %r" % ack.service_id)
    check(list(ack.topic_names) == ["a.out", "b.out"],
          "Register: topic_names %r" % list(ack.topic_names))
    ack2 = stub.Register(pb.ServiceInfo(service_type=pb.SERVICE_TYPE_SINK,
                                        component_id="comp-sink"), timeout=T)
    gen_id = ack2.service_id
    check(re.fullmatch(r"svc-[0-9a-f]+", gen_id), "Register: generated id %r" % gen_id)

    stub.Heartbeat(pb.ServiceHeartbeat(service_id="src-1", metrics={"rate": 1.5, "lag": 2.0},
                                       timestamp=timestamp_pb2.Timestamp(seconds=int(time.time()))),
                   timeout=T)
    st = stub.GetServiceStatus(pb.ServiceInfo(service_id="src-1"), timeout=T)
    check(st.service_id == "src-1", "GetServiceStatus: id %r" % st.service_id)
    check(st.is_healthy, "GetServiceStatus: src-1 not healthy after a heartbeat")
    check(st.service_type == pb.SERVICE_TYPE_SOURCE, "GetServiceStatus: type %r" % st.service_type)
    check(st.component_id == "comp-src", "GetServiceStatus: component_id %r" % st.component_id)
    check(dict(st.metrics) == {"rate": 1.5, "lag": 2.0}, "GetServiceStatus: metrics %r" % dict(st.metrics))
    hb = st.last_heartbeat.seconds + st.last_heartbeat.nanos / 1e9
    check(st.HasField("last_heartbeat") and abs(hb - time.time()) < 60,
          "GetServiceStatus: last_heartbeat %r" % hb)
    st2 = stub.GetServiceStatus(pb.ServiceInfo(service_id=gen_id), timeout=T)
    check(st2.is_healthy, "GetServiceStatus: a fresh registration is not healthy")

    lst = stub.ListServices(empty_pb2.Empty(), timeout=T)
    ids = [s.service_id for s in lst.services]
    check(ids == sorted(ids), "ListServices: not sorted: %r" % ids)
    check("src-1" in ids and gen_id in ids, "ListServices: %r lacks src-1 or %s" % (ids, gen_id))

    d = expect_code(grpc.StatusCode.NOT_FOUND,
                    lambda: stub.GetServiceStatus(pb.ServiceInfo(service_id="nope"), timeout=T),
                    "GetServiceStatus of an unknown service")
    check("nope" in (d or ""), "NOT_FOUND details %r" % d)
    expect_code(grpc.StatusCode.NOT_FOUND,
                lambda: stub.Heartbeat(pb.ServiceHeartbeat(service_id="nope"), timeout=T),
                "Heartbeat of an unknown service")

    # ---- StreamLogs ----------------------------------------------------------------------
    N = 500
    base = int(time.time()) - 3600                  # an hour ago, whole seconds
    levels_in = ["debug", "info", "warn", "error", "WARNING", "bogus", "", "fatal", "trace", "err"]
    norm = {"debug": "debug", "info": "info", "warn": "warn", "error": "error",
            "WARNING": "warn", "bogus": "info", "": "info", "fatal": "fatal", "trace": "trace",
            "err": "error"}
    sent = []
    for i in range(N):
        if i % 50 == 7:
            comp_id, comp_type, comp = "", "worker", "worker"
        else:
            comp_id = "peer-a" if i % 2 == 0 else "peer-b"
            comp_type = "processor" if i % 3 == 0 else ""
            comp = comp_id
        lv = levels_in[i % len(levels_in)]
        ts_ns = (base + i) * 1000000000 + 123456789
        msg = "msg %d" % i + (" h\u00e9llo \u2603" if i % 100 == 0 else "")
        fields = {"i": str(i), "k": "v %d" % (i % 7)}
        sent.append(dict(i=i, comp=comp, comp_type=comp_type, lv=lv, level=norm[lv], ts_ns=ts_ns,
                         msg=msg, fields=fields))

    def entry(s):
        return pb.LogEntry(component_id=s["comp"] if s["comp"] != "worker" else "",
                           component_type=s["comp_type"],
                           timestamp=timestamp_pb2.Timestamp(seconds=s["ts_ns"] // 10**9,
                                                             nanos=s["ts_ns"] % 10**9),
                           level=s["lv"], message=s["msg"], fields=s["fields"])

    t0 = time.time()
    resp = list(stub.StreamLogs(iter([entry(s) for s in sent]), timeout=60))
    check(resp == [], "StreamLogs: unexpected responses %r" % resp[:3])
    print("StreamLogs: %d entries committed in %.3fs" % (N, time.time() - t0))

    def get(**kw):
        return list(stub.GetLogs(pb.StreamLogsRequest(**kw), timeout=T))

    def check_entries(got, want, what):
        check(len(got) == len(want), "%s: %d entries, want %d" % (what, len(got), len(want)))
        last_id = 0
        for g, w in zip(got, want):
            ctx = "%s: entry %d" % (what, w["i"])
            check(g.component_id == w["comp"], "%s: component_id %r" % (ctx, g.component_id))
            check(g.component_type == w["comp_type"], "%s: component_type %r" % (ctx, g.component_type))
            check(g.level == w["level"], "%s: level %r want %r" % (ctx, g.level, w["level"]))
            check(g.message == w["msg"], "%s: message %r" % (ctx, g.message))
            ts = g.timestamp.seconds * 10**9 + g.timestamp.nanos
            check(ts == w["ts_ns"], "%s: timestamp %d want %d" % (ctx, ts, w["ts_ns"]))
            f = dict(g.fields)
            check(f.get("i") == w["fields"]["i"] and f.get("k") == w["fields"]["k"],
                  "%s: fields %r" % (ctx, f))
            check(f.get("source") == "flowctl", "%s: source %r" % (ctx, f.get("source")))
            check(f.get("id", "").isdigit() and int(f["id"]) > last_id,
                  "%s: id %r not increasing after %d" % (ctx, f.get("id"), last_id))
            last_id = int(f["id"])
            if w["level"] == "info" and w["lv"] not in ("info", ""):
                check(f.get("level") == w["lv"], "%s: original level kept as %r" % (ctx, f.get("level")))
            else:
                check("level" not in f, "%s: unexpected level field %r" % (ctx, f.get("level")))

    got = get(component_ids=["peer-a"])
    check_entries(got, [s for s in sent if s["comp"] == "peer-a"], "GetLogs peer-a")
    got = get(component_ids=["worker"])
    check_entries(got, [s for s in sent if s["comp"] == "worker"], "GetLogs worker")
    got = get(component_ids=["peer-a", "peer-b"], levels=["error", "fatal"])
    check_entries(got, [s for s in sent if s["comp"] in ("peer-a", "peer-b")
                        and s["level"] in ("error", "fatal")], "GetLogs levels error,fatal")
    got = get(component_ids=["peer-b"], levels=["warn+"])
    check_entries(got, [s for s in sent if s["comp"] == "peer-b"
                        and s["level"] in ("warn", "error", "fatal")], "GetLogs level warn+")
    since = sent[400]["ts_ns"]
    got = get(component_ids=["peer-a", "peer-b", "worker"],
              since=timestamp_pb2.Timestamp(seconds=since // 10**9, nanos=since % 10**9))
    check_entries(got, sent[400:], "GetLogs since")
    until = sent[99]["ts_ns"]
    got = get(component_ids=["peer-a", "peer-b", "worker"],
              until=timestamp_pb2.Timestamp(seconds=until // 10**9, nanos=until % 10**9))
    check_entries(got, sent[:100], "GetLogs until")
    got = get(component_ids=["peer-a"], limit=10)
    check_entries(got, [s for s in sent if s["comp"] == "peer-a"][-10:], "GetLogs limit")
    got = get(component_ids=["peer-a", "peer-b", "worker"], pattern="^msg 1[0-9]$")
    check_entries(got, sent[10:20], "GetLogs pattern")
    cursor = int(get(component_ids=["peer-b"], limit=1)[0].fields["id"])
    got = get(component_ids=["peer-a", "peer-b", "worker"], after_id=cursor)
    check(len(got) == 0, "GetLogs after_id past the end: %d entries" % len(got))

    d = expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: get(levels=["loud"]),
                    "GetLogs with an unknown level")
    check("loud" in (d or ""), "unknown level details %r" % d)
    expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: get(pattern="("),
                "GetLogs with an invalid pattern")

    # registration is noted in the history (asynchronously)
    for _ in range(50):
        notes = [e.message for e in get(component_ids=["flowctl"])]
        if any("src-1" in m and "registered" in m for m in notes):
            break
        time.sleep(0.1)
    else:
        raise Failure("no history record of the registration of src-1: %r" % notes)

    # undecodable LogEntry on StreamLogs
    raw = ch.stream_stream("/flowctl.ControlPlane/StreamLogs",
                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
    expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                lambda: list(raw(iter([b"\x0a\xff\xff\xff"]), timeout=T)),
                "StreamLogs with an undecodable message")

    # ---- follow --------------------------------------------------------------------------
    q = queue.Queue()
    call = stub.GetLogs(pb.StreamLogsRequest(component_ids=["peer-live"], follow=True), timeout=60)

    def reader():
        try:
            for e in call:
                q.put(e)
        except grpc.RpcError as e:
            q.put(e)

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(0.5)
    now = time.time()
    live = [pb.LogEntry(component_id="peer-live", level="error", message="live %d" % k,
                        timestamp=timestamp_pb2.Timestamp(seconds=int(now), nanos=k),
                        fields={"n": str(k)}) for k in range(3)]
    resp = list(stub.StreamLogs(iter(live), timeout=T))
    check(resp == [], "StreamLogs (live): unexpected responses")
    seen = []
    deadline = time.time() + 15
    while len(seen) < 3 and time.time() < deadline:
        try:
            e = q.get(timeout=max(0.1, deadline - time.time()))
        except queue.Empty:
            break
        if isinstance(e, grpc.RpcError):
            raise Failure("GetLogs follow ended: %s %s" % (e.code(), e.details()))
        seen.append(e)
    check([e.message for e in seen] == ["live 0", "live 1", "live 2"],
          "GetLogs follow: got %r" % [e.message for e in seen])
    check(all(e.level == "error" and e.component_id == "peer-live" for e in seen),
          "GetLogs follow: entries %r" % seen)
    call.cancel()
    th.join(timeout=10)
    check(not th.is_alive(), "GetLogs follow: reader did not end after cancel")
    ch.close()


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("flowctl peer: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    except grpc.RpcError as e:
        print("flowctl peer: FAIL: unexpected rpc error %s: %s" % (e.code(), e.details()),
              file=sys.stderr)
        sys.exit(1)
    except Exception as e:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        print("flowctl peer: FAIL: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)
