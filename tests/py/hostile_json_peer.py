#!/usr/bin/python3
"""Hostile flowctl and relay calls against `elog serve` (tests t9510..t9512).

Usage: /usr/bin/python3 tests/py/hostile_json_peer.py CASE HOST:PORT [ARGS...]

Cases:
  getlogs-deep N       flowctl GetLogs reads every record (at least N); the deep records'
                       "a" field is JSON no deeper than 64 levels holding all of its brackets
  relay-deep           relay Receive of 40 KB nested JSON payloads (a plain key and "relay"):
                       acknowledged as received
  heartbeat-big        a 150,000-metric Heartbeat is refused at once naming its limit, and
                       ListServices answers meanwhile; 256 metrics with repeats are kept
  relay-headers        a payload with 100,000 headers is acknowledged fast; the record keeps
                       1,024 of them and says how many it omitted
  registry-ids         100 Registers with a 1 MB component_id are refused naming the limit;
                       ListServices still answers
  registry-full        services past 1,024 are refused naming the limit; the known ones
                       still register again
  list-trim            120 services with 256 metrics of 128-byte names: ListServices fits in
                       4 MiB (a default client's limit) and lists all of them
  logsvc-deep-struct   a logging.v1 frame whose metadata Struct nests 20,000 levels (300 KB)
                       is refused naming the protobuf nesting limit; 64 levels are accepted
  expire               a service without heartbeats leaves the registry (serve with
                       --heartbeat-ttl 1: after 10 s)
Exits 0 when the case passed, else 1 with a message saying what failed.
"""
import json
import os
import shutil
import sys
import tempfile
import threading
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from peerlib import Failure, check, gen_stubs  # noqa: E402

T = 60  # per-call timeout, seconds


def depth_of(s):
    """Deepest nesting of a JSON text (a byte scan like json.c's)."""
    d = m = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            i += 1
            while i < len(s) and s[i] != '"':
                i += 2 if s[i] == "\\" else 1
        elif c in "[{":
            d += 1
            m = max(m, d)
        elif c in "]}":
            d -= 1
        i += 1
    return m


def expect_code(code, fn, what):
    try:
        fn()
    except grpc.RpcError as e:
        check(e.code() == code, "%s: want %s, got %s (%s)" % (what, code, e.code(), e.details()))
        return e.details() or ""
    raise Failure("%s: want %s, the call succeeded" % (what, code))


def flowctl(addr):
    import flowctl_pb2 as pb
    import flowctl_pb2_grpc as pbg
    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=15)
    return pb, pbg.ControlPlaneStub(ch)


def relay(addr):
    import electrician_pb2 as pb
    import electrician_pb2_grpc as pbg
    ch = grpc.insecure_channel(addr, options=[("grpc.max_send_message_length", 64 << 20)])
    grpc.channel_ready_future(ch).result(timeout=15)
    return pb, pbg.RelayServiceStub(ch)


def brackets(s):
    return s.count("["), s.count("]")


def case_getlogs_deep(addr, n):
    pb, stub = flowctl(addr)
    got = list(stub.GetLogs(pb.StreamLogsRequest(), timeout=T))
    check(len(got) >= int(n), "GetLogs: %d entries, want at least %s" % (len(got), n))
    deep = [e for e in got if "a" in e.fields and e.message.startswith("d")]
    check(len(deep) >= 1, "GetLogs: no deep record among %d" % len(got))
    for e in got:
        for k, v in e.fields.items():
            if v[:1] in ("[", "{"):
                json.loads(v)
            check(depth_of(v) <= 64, "GetLogs: entry %r field %r nests %d levels"
                  % (e.message[:20], k, depth_of(v)))
    for e in deep:
        v = e.fields["a"]
        json.loads(v)
        check(depth_of(v) <= 64, "GetLogs: field a nests %d levels" % depth_of(v))
        check(brackets(v) == (10000, 10000) or brackets(v) == (20000, 20000),
              "GetLogs: field a lost brackets: %r" % (brackets(v),))
    print("GetLogs: %d entries, %d deep ones bounded" % (len(got), len(deep)))


def case_relay_deep(addr):
    pb, stub = relay(addr)
    deep = "[" * 20000 + "]" * 20000                        # 40 KB
    for key, msg in (("a", "deep relay a"), ("relay", "deep relay own")):
        raw = ('{"msg":"%s","%s":%s}' % (msg, key, deep)).encode()
        p = pb.WrappedPayload(id="deep-" + key, seq=1, payload=raw,
                              metadata=pb.MessageMetadata(content_type="application/json"))
        a = stub.Receive(p, timeout=T)
        check(a.success, "Receive %s: not acknowledged as received: %r" % (key, a))
    print("relay: 2 deep payloads received")


def case_heartbeat_big(addr):
    pb, stub = flowctl(addr)
    from google.protobuf import empty_pb2
    stub.Register(pb.ServiceInfo(service_id="hb-big"), timeout=T)
    big = {"metric-%06d" % i: float(i) for i in range(150000)}
    done = {}

    def lister():
        t0 = time.monotonic()
        stub.ListServices(empty_pb2.Empty(), timeout=T)
        done["list"] = time.monotonic() - t0
    t0 = time.monotonic()
    th = threading.Thread(target=lister)
    th.start()
    d = expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                    lambda: stub.Heartbeat(pb.ServiceHeartbeat(service_id="hb-big", metrics=big),
                                           timeout=T), "Heartbeat of 150,000 metrics")
    took = time.monotonic() - t0
    th.join()
    check("flowctl metrics" in d and "256" in d, "Heartbeat details %r name no limit" % d)
    check(took < 10, "Heartbeat of 150,000 metrics took %.1f s" % took)
    check(done.get("list", 99) < 10, "ListServices took %.1f s meanwhile" % done.get("list", 99))
    ok = {"m%03d" % i: float(i) for i in range(256)}
    stub.Heartbeat(pb.ServiceHeartbeat(service_id="hb-big", metrics=ok), timeout=T)
    st = stub.GetServiceStatus(pb.ServiceInfo(service_id="hb-big"), timeout=T)
    check(dict(st.metrics) == ok, "GetServiceStatus: %d metrics, want 256" % len(st.metrics))
    d = expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                    lambda: stub.Heartbeat(pb.ServiceHeartbeat(service_id="hb-big",
                                                               metrics={"x" * 129: 1.0}),
                                           timeout=T), "Heartbeat of a 129-byte metric name")
    check("flowctl metric name length" in d, "metric name details %r" % d)
    print("heartbeat: 150,000 metrics refused in %.2f s, ListServices meanwhile %.2f s"
          % (took, done["list"]))


def case_relay_headers(addr):
    pb, stub = relay(addr)
    hdr = {"h%06d" % i: "v" for i in range(100000)}
    hdr["source"] = "hdr-test"
    p = pb.WrappedPayload(id="many-headers", seq=1, payload=b'{"msg":"many headers"}',
                          metadata=pb.MessageMetadata(content_type="application/json",
                                                      headers=hdr))
    t0 = time.monotonic()
    a = stub.Receive(p, timeout=T)
    took = time.monotonic() - t0
    check(a.success, "Receive with 100,000 headers: %r" % a)
    check(took < 10, "Receive with 100,000 headers took %.1f s" % took)
    print("relay: 100,000 headers received in %.2f s" % took)


def case_registry_ids(addr):
    pb, stub = flowctl(addr)
    from google.protobuf import empty_pb2
    big = "c" * (1 << 20)
    for i in range(100):
        d = expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                        lambda: stub.Register(pb.ServiceInfo(service_id="big-%d" % i,
                                                             component_id=big), timeout=T),
                        "Register %d with a 1 MB component_id" % i)
    check("flowctl id length" in d and "256" in d, "Register details %r name no limit" % d)
    expect_code(grpc.StatusCode.INVALID_ARGUMENT,
                lambda: stub.Register(pb.ServiceInfo(service_id="s" * 257), timeout=T),
                "Register with a 257-byte service_id")
    stub.Register(pb.ServiceInfo(service_id="s" * 256, component_id="c" * 256), timeout=T)
    lst = stub.ListServices(empty_pb2.Empty(), timeout=T)
    check([s.service_id for s in lst.services] == ["s" * 256],
          "ListServices: %r" % [s.service_id[:20] for s in lst.services])
    print("registry: 100 Registers with 1 MB ids refused; ListServices %d bytes"
          % lst.ByteSize())


def case_registry_full(addr):
    pb, stub = flowctl(addr)
    from google.protobuf import empty_pb2
    for i in range(1024):
        stub.Register(pb.ServiceInfo(service_id="full-%04d" % i), timeout=T)
    d = expect_code(grpc.StatusCode.RESOURCE_EXHAUSTED,
                    lambda: stub.Register(pb.ServiceInfo(service_id="one-more"), timeout=T),
                    "Register of service 1025")
    check("flowctl services" in d and "1024" in d, "registry full details %r" % d)
    stub.Register(pb.ServiceInfo(service_id="full-0007", component_id="again"), timeout=T)
    lst = stub.ListServices(empty_pb2.Empty(), timeout=T)
    check(len(lst.services) == 1024, "ListServices: %d services" % len(lst.services))
    print("registry: 1,024 services, the next refused")


def case_list_trim(addr):
    pb, stub = flowctl(addr)
    from google.protobuf import empty_pb2
    n = 120
    for i in range(n):
        sid = "trim-%03d" % i
        stub.Register(pb.ServiceInfo(service_id=sid, component_id="c" * 256), timeout=T)
        m = {("%03d-" % k) + "k" * 124: float(k) for k in range(256)}
        stub.Heartbeat(pb.ServiceHeartbeat(service_id=sid, metrics=m), timeout=T)
    lst = stub.ListServices(empty_pb2.Empty(), timeout=T)   # a default client: 4 MiB at most
    size = lst.ByteSize()
    check(size <= 4 << 20, "ListServices: %d bytes" % size)
    check(len(lst.services) == n, "ListServices: %d services, want %d" % (len(lst.services), n))
    with_m = [s for s in lst.services if len(s.metrics) == 256]
    check(len(with_m) >= 100, "ListServices: only %d services with their metrics" % len(with_m))
    st = stub.GetServiceStatus(pb.ServiceInfo(service_id="trim-%03d" % (n - 1)), timeout=T)
    check(len(st.metrics) == 256, "GetServiceStatus: %d metrics" % len(st.metrics))
    print("ListServices: %d services in %d bytes, %d with metrics" % (n, size, len(with_m)))


def case_expire(addr):
    pb, stub = flowctl(addr)
    from google.protobuf import empty_pb2
    stub.Register(pb.ServiceInfo(service_id="gone-soon"), timeout=T)
    t0 = time.monotonic()
    while True:
        ids = [s.service_id for s in stub.ListServices(empty_pb2.Empty(), timeout=T).services]
        if "gone-soon" not in ids:
            break
        check(time.monotonic() - t0 < 90, "gone-soon still listed after 90 s")
        time.sleep(0.5)   # polling a condition, bounded above
    took = time.monotonic() - t0
    check(took >= 5, "gone-soon expired after %.1f s, before 10 TTLs" % took)
    expect_code(grpc.StatusCode.NOT_FOUND,
                lambda: stub.GetServiceStatus(pb.ServiceInfo(service_id="gone-soon"), timeout=T),
                "GetServiceStatus of an expired service")
    print("expire: gone after %.1f s" % took)


def struct_frame(depth):
    """A logging.v1.LogFrame (raw bytes) whose metadata is {"a":{"a":...}} depth levels deep."""
    def varint(n):
        b = bytearray()
        while True:
            x = n & 0x7f
            n >>= 7
            if n:
                b.append(x | 0x80)
            else:
                b.append(x)
                return bytes(b)

    def ld(field, payload):
        return varint(field << 3 | 2) + varint(len(payload)) + payload
    s = b""
    for _ in range(depth):
        entry = ld(1, b"a") + ld(2, ld(5, s))   # FieldsEntry{key, Value{struct_value}}
        s = ld(1, entry)                        # Struct{fields}
    return ld(3, b"deep-session") + ld(4, b"u") + ld(5, b"user") + ld(7, b"hello") + ld(8, s)


def case_logsvc_deep_struct(addr):
    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=15)
    call = ch.stream_unary("/logging.v1.LogService/WriteLogStream")
    frame = struct_frame(20000)
    d = expect_code(grpc.StatusCode.INVALID_ARGUMENT, lambda: call(iter([frame]), timeout=T),
                    "a frame nesting 20,000 Structs")
    check("protobuf nesting limit" in d, "details %r name no limit" % d)
    call(iter([struct_frame(64)]), timeout=T)
    print("logsvc: a %d-byte frame nesting 20,000 Structs refused; 64 levels accepted" % len(frame))


CASES = {
    "logsvc-deep-struct": case_logsvc_deep_struct,
    "getlogs-deep": case_getlogs_deep, "relay-deep": case_relay_deep,
    "heartbeat-big": case_heartbeat_big, "relay-headers": case_relay_headers,
    "registry-ids": case_registry_ids, "registry-full": case_registry_full,
    "list-trim": case_list_trim, "expire": case_expire,
}


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in CASES:
        print("usage: hostile_json_peer.py CASE HOST:PORT [ARGS...]", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="hostile-json.")
    try:
        gen_stubs(os.path.join(TOP, "proto"), tmp, "flowctl.proto")
        gen_stubs(os.path.join(TOP, "proto"), tmp, "electrician.proto")
        CASES[sys.argv[1]](sys.argv[2], *sys.argv[3:])
    except Failure as e:
        print("hostile_json_peer %s: FAIL: %s" % (sys.argv[1], e), file=sys.stderr)
        return 1
    except grpc.RpcError as e:
        print("hostile_json_peer %s: FAIL: %s %s" % (sys.argv[1], e.code(), e.details()),
              file=sys.stderr)
        return 1
    except grpc.FutureTimeoutError:
        print("hostile_json_peer %s: FAIL: no connection to %s in 15 s" % (sys.argv[1], sys.argv[2]),
              file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
