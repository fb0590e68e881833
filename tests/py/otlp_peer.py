#!/usr/bin/python3
"""OTLP and ReadSpans peers of `elog serve` from another gRPC implementation (Debian's
python3-grpcio), with messages from the official OpenTelemetry .proto files (proto/opentelemetry,
compiled by protoc at test time).

Usage (ADDR host:port, GEN a directory for the generated modules):
  otlp_peer.py mapping ADDR GEN
      one ExportLogsServiceRequest covering the mapping's cases (see the test that checks it).
  otlp_peer.py partial ADDR GEN
      three records, the middle one with 2 MiB of attributes: partial_success counts 1 with a
      message naming the limit; prints the response.
  otlp_peer.py metrics ADDR GEN
      MetricsService/Export: must fail UNIMPLEMENTED; prints the details.
  otlp_peer.py spans ADDR GEN FROM N [--key K]
      N spans named span-FROM .. span-FROM+N-1 (one resource, service.name "pyspan"), one call.
  otlp_peer.py poll ADDR GEN STATE OUT BATCH [--key K]
      Junjo's backend: ReadSpans from the key in STATE (empty: the oldest), BATCH at a time,
      storing the last key in STATE after each batch, until a batch comes back short; every
      span is appended to OUT as "KEYHEX NAME SERVICE". Checks keys strictly increase.
  otlp_peer.py bench ADDR GEN N BATCH CONC
      N records in calls of BATCH records from CONC threads; prints "records/s R".
  otlp_peer.py raw ADDR GEN PATH
      calls PATH with an empty request and prints "STATUS DETAILS" (for error checks).
Exits 0 when every check passed, else 1 with what failed.
"""
import glob
import os
import subprocess
import sys
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peerlib import Failure, check  # noqa: E402

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
TRACE = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
METRICS = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
READSPANS = "/ingestion.InternalIngestionService/ReadSpans"


def gen(out):
    """Compiles the OTLP protos and ingestion.proto into out (once) and imports them."""
    proto = os.path.join(TOP, "proto")
    if not os.path.exists(os.path.join(out, "ingestion_pb2.py")):
        os.makedirs(out, exist_ok=True)
        files = sorted(glob.glob(os.path.join(proto, "opentelemetry", "proto", "**", "*.proto"),
                                 recursive=True))
        files = [os.path.relpath(f, proto) for f in files] + ["ingestion.proto"]
        r = subprocess.run(["protoc", "-I", proto, "--python_out=" + out] + files,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           cwd=proto)
        if r.returncode != 0:
            raise Failure("protoc failed: " + r.stdout)
    sys.path.insert(0, out)


def mods():
    from opentelemetry.proto.collector.logs.v1 import logs_service_pb2 as ls
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as ts
    from opentelemetry.proto.logs.v1 import logs_pb2 as lg
    from opentelemetry.proto.trace.v1 import trace_pb2 as tr
    from opentelemetry.proto.common.v1 import common_pb2 as cm
    from opentelemetry.proto.resource.v1 import resource_pb2 as rs
    import ingestion_pb2 as ing
    return ls, ts, lg, tr, cm, rs, ing


def md(key):
    return [("x-junjo-api-key", key)] if key else None


def kv(cm, k, v):
    a = cm.AnyValue()
    if isinstance(v, bool):
        a.bool_value = v
    elif isinstance(v, int):
        a.int_value = v
    elif isinstance(v, float):
        a.double_value = v
    elif isinstance(v, bytes):
        a.bytes_value = v
    else:
        a.string_value = v
    return cm.KeyValue(key=k, value=a)


def unary(ch, path, req, resp_cls, key=None, timeout=30):
    f = ch.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                       response_deserializer=resp_cls.FromString)
    return f(req, timeout=timeout, metadata=md(key))


def mapping(ch):
    ls, ts, lg, tr, cm, rs, ing = mods()
    req = ls.ExportLogsServiceRequest()
    # 1: service.name wins; every severity number; body kinds; ids; time fallbacks
    r1 = req.resource_logs.add()
    r1.resource.attributes.extend([kv(cm, "service.name", "checkout"),
                                   kv(cm, "service.namespace", "shop"),
                                   kv(cm, "host.name", "h1")])
    sl = r1.scope_logs.add()
    sl.scope.name = "scope-a"
    for n in range(0, 25):
        rec = sl.log_records.add(severity_number=n, time_unix_nano=1700000000000000000 + n)
        rec.body.string_value = "sev %d" % n
    # severity text only; and neither
    rec = sl.log_records.add(severity_text="Warning", time_unix_nano=1700000001000000000)
    rec.body.string_value = "text warning"
    rec = sl.log_records.add(time_unix_nano=1700000001000000001)
    rec.body.string_value = "no severity"
    # number wins over text
    rec = sl.log_records.add(severity_number=17, severity_text="debug",
                             time_unix_nano=1700000001000000002)
    rec.body.string_value = "number wins"
    # body kinds
    rec = sl.log_records.add(time_unix_nano=1700000002000000000)
    rec.body.int_value = 42
    rec = sl.log_records.add(time_unix_nano=1700000002000000001)
    rec.body.double_value = 2.5
    rec = sl.log_records.add(time_unix_nano=1700000002000000002)
    rec.body.bool_value = True
    rec = sl.log_records.add(time_unix_nano=1700000002000000003)
    rec.body.bytes_value = b"\x00\x01hi"
    rec = sl.log_records.add(time_unix_nano=1700000002000000004)
    rec.body.array_value.values.add().string_value = "x"
    rec.body.array_value.values.add().int_value = 7
    rec = sl.log_records.add(time_unix_nano=1700000002000000005)
    rec.body.kvlist_value.values.extend([kv(cm, "a", 1), kv(cm, "b", "two"), kv(cm, "a", 3)])
    inner = rec.body.kvlist_value.values.add(key="nested")
    inner.value.kvlist_value.values.extend([kv(cm, "deep", True)])
    rec = sl.log_records.add(time_unix_nano=1700000002000000006)   # no body
    # attributes, duplicates (last wins), ids, event name
    rec = sl.log_records.add(time_unix_nano=1700000003000000000, severity_number=9,
                             trace_id=bytes(range(1, 17)), span_id=bytes(range(1, 9)),
                             event_name="user.login")
    rec.body.string_value = "with ids"
    rec.attributes.extend([kv(cm, "user", "ann"), kv(cm, "n", 1), kv(cm, "n", 2),
                           kv(cm, "ratio", 0.5), kv(cm, "ok", False)])
    # time fallbacks: observed only; neither (arrival)
    rec = sl.log_records.add(observed_time_unix_nano=1700000004000000000)
    rec.body.string_value = "observed only"
    rec = sl.log_records.add()
    rec.body.string_value = "arrival time"
    # 2: service.namespace only
    r2 = req.resource_logs.add()
    r2.resource.attributes.extend([kv(cm, "service.namespace", "nsonly")])
    rec = r2.scope_logs.add().log_records.add(time_unix_nano=1700000005000000000)
    rec.body.string_value = "from namespace"
    # 3: no resource: the scope name; 4: nothing: "otel"
    r3 = req.resource_logs.add()
    s3 = r3.scope_logs.add()
    s3.scope.name = "my.scope"
    s3.log_records.add(time_unix_nano=1700000006000000000).body.string_value = "from scope"
    r4 = req.resource_logs.add()
    r4.scope_logs.add().log_records.add(
        time_unix_nano=1700000007000000000).body.string_value = "from nothing"
    resp = unary(ch, LOGS, req, ls.ExportLogsServiceResponse)
    check(not resp.HasField("partial_success"), "partial_success set: %s" % resp)
    print("mapping: sent %d records" % sum(len(s.log_records) for r in req.resource_logs
                                          for s in r.scope_logs))


def partial(ch):
    ls, ts, lg, tr, cm, rs, ing = mods()
    req = ls.ExportLogsServiceRequest()
    sl = req.resource_logs.add().scope_logs.add()
    sl.log_records.add().body.string_value = "small one"
    big = sl.log_records.add()
    big.body.string_value = "too big"
    big.attributes.extend([kv(cm, "blob%d" % i, "x" * (512 * 1024)) for i in range(4)])
    sl.log_records.add().body.string_value = "small two"
    resp = unary(ch, LOGS, req, ls.ExportLogsServiceResponse)
    check(resp.HasField("partial_success"), "no partial_success")
    ps = resp.partial_success
    check(ps.rejected_log_records == 1, "rejected %d" % ps.rejected_log_records)
    check("1048576" in ps.error_message and "log record 1" in ps.error_message,
          "message: %r" % ps.error_message)
    print("partial: %d rejected: %s" % (ps.rejected_log_records, ps.error_message))


def raw(ch, path):
    f = ch.unary_unary(path, request_serializer=None, response_deserializer=None)
    try:
        f(b"", timeout=30)
        print("OK")
    except grpc.RpcError as e:
        print("%s %s" % (e.code().name, e.details()))


def spans(ch, start, n, key):
    ls, ts, lg, tr, cm, rs, ing = mods()
    req = ts.ExportTraceServiceRequest()
    r = req.resource_spans.add()
    r.resource.attributes.extend([kv(cm, "service.name", "pyspan")])
    ss = r.scope_spans.add()
    ss.scope.name = "py"
    now = time.time_ns()
    for i in range(start, start + n):
        sp = ss.spans.add(name="span-%d" % i, trace_id=os.urandom(16), span_id=os.urandom(8),
                          kind=2, start_time_unix_nano=now, end_time_unix_nano=now + 1500000)
        if i % 5 == 4:
            sp.status.code = 2
    resp = unary(ch, TRACE, req, ts.ExportTraceServiceResponse, key)
    check(not resp.HasField("partial_success"), "partial_success: %s" % resp)


def poll(ch, state, out, batch, key):
    ls, ts, lg, tr, cm, rs, ing = mods()
    last = b""
    if os.path.exists(state):
        last = bytes.fromhex(open(state).read().strip())
    f = ch.unary_stream(READSPANS, request_serializer=lambda m: m.SerializeToString(),
                        response_deserializer=ing.ReadSpansResponse.FromString)
    total = 0
    while True:
        got = 0
        lines = []
        for m in f(ing.ReadSpansRequest(start_key_ulid=last, batch_size=batch), timeout=30,
                   metadata=md(key)):
            check(len(m.key_ulid) == 16, "key of %d bytes" % len(m.key_ulid))
            check(m.key_ulid > last, "key %s not after %s" % (m.key_ulid.hex(), last.hex()))
            sp = tr.Span.FromString(m.span_bytes)
            res = rs.Resource.FromString(m.resource_bytes)
            svc = [a.value.string_value for a in res.attributes if a.key == "service.name"]
            lines.append("%s %s %s\n" % (m.key_ulid.hex(), sp.name, svc[0] if svc else "-"))
            last = m.key_ulid
            got += 1
        check(got <= batch, "batch of %d for %d" % (got, batch))
        with open(out, "a") as o:
            o.writelines(lines)
        with open(state + ".tmp", "w") as s:
            s.write(last.hex())
        os.replace(state + ".tmp", state)
        total += got
        if got < batch:
            break
    print("poll: %d spans" % total)


def bench(addr, n, batch, conc):
    ls, ts, lg, tr, cm, rs, ing = mods()
    per = n // conc
    reqs = []
    calls = (per + batch - 1) // batch
    req = ls.ExportLogsServiceRequest()
    r = req.resource_logs.add()
    r.resource.attributes.extend([kv(cm, "service.name", "bench")])
    sl = r.scope_logs.add()
    now = time.time_ns()
    for i in range(batch):
        rec = sl.log_records.add(time_unix_nano=now + i, severity_number=9)
        rec.body.string_value = "bench line %d with some text to carry" % i
        rec.attributes.extend([kv(cm, "i", i)])
    data = req.SerializeToString()
    errors = []

    def run():
        try:
            ch = grpc.insecure_channel(addr)
            f = ch.unary_unary(LOGS, request_serializer=None, response_deserializer=None)
            for _ in range(calls):
                f(data, timeout=60)
            ch.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)
    threads = [threading.Thread(target=run) for _ in range(conc)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.monotonic() - t0
    check(not errors, "errors: %s" % errors[:1])
    total = calls * batch * conc
    print("records %d seconds %.3f records/s %.0f" % (total, dt, total / dt))
    reqs.clear()


def main():
    a = sys.argv[1:]
    key = None
    if "--key" in a:
        i = a.index("--key")
        key = a[i + 1]
        del a[i:i + 2]
    cmd, addr, g = a[0], a[1], a[2]
    gen(g)
    ch = grpc.insecure_channel(addr)
    if cmd == "mapping":
        mapping(ch)
    elif cmd == "partial":
        partial(ch)
    elif cmd == "metrics":
        raw(ch, METRICS)
    elif cmd == "raw":
        raw(ch, a[3])
    elif cmd == "spans":
        spans(ch, int(a[3]), int(a[4]), key)
    elif cmd == "poll":
        poll(ch, a[3], a[4], int(a[5]), key)
    elif cmd == "bench":
        bench(addr, int(a[3]), int(a[4]), int(a[5]))
    else:
        raise Failure("unknown command " + cmd)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    except grpc.RpcError as e:
        print("FAIL: rpc %s: %s" % (e.code().name, e.details()), file=sys.stderr)
        sys.exit(1)
