#!/usr/bin/python3
"""make_seeds.py STUBDIR: writes the seed corpora of the contract fuzz targets (packed example
messages) into tests/fuzz/corpus/{native,flowctl,relay,logsvc}/. STUBDIR holds the python
stubs of proto/*.proto (protoc --python_out). Run again after changing the examples; libFuzzer
grows the corpora from there (make fuzz keeps what it finds in build/fuzz/)."""
import hashlib, os, sys
sys.path.insert(0, sys.argv[1])
import elog_pb2, flowctl_pb2, electrician_pb2, logging_pb2

top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

def put(name, data):
    d = os.path.join(top, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

# elog.v1.RecordBatch
b = elog_pb2.RecordBatch(seq=7)
b.records.add(ts_ns=1700000000123456789, level=4, component="api", msg="disk full",
              fields='{"path":"/var","free":0}', source="elog", dedupe_key="send:abc:1")
b.records.add(msg="plain")
b.records.add(level=99, component="\u00e9t\u00e9", msg="x" * 300, fields="not json", ts_ns=-5)
put("native", b.SerializeToString())
put("native", elog_pb2.RecordBatch(seq=1, records=[elog_pb2.Record(msg="a\nb", fields="{}")]).SerializeToString())

# flowctl.LogEntry
e = flowctl_pb2.LogEntry(component_id="ingest-1", component_type="ingestion", level="ERROR",
                         message="connection refused")
e.timestamp.seconds = 1700000000; e.timestamp.nanos = 5
e.fields["attempt"] = "3"; e.fields["level"] = "shadowed"
put("flowctl", e.SerializeToString())
put("flowctl", flowctl_pb2.LogEntry(component_type="relay", level="notice-ish", message="m").SerializeToString())
e = flowctl_pb2.LogEntry(message="far future"); e.timestamp.seconds = 9223372035; e.timestamp.nanos = 999999999
put("flowctl", e.SerializeToString())
e.timestamp.nanos = 2000000000    # found by review: seconds * 1e9 + nanos overflowed int64
put("flowctl", e.SerializeToString())

# electrician.WrappedPayload, after one selector byte (see fuzz_relay.c)
md = electrician_pb2.MessageMetadata(content_type="application/json", trace_id="t-1", priority=2)
md.headers["source"] = "electrician-logger"; md.headers["log_schema"] = "electrician.log.v1"
md.version.major = 1; md.version.minor = 2
p = electrician_pb2.WrappedPayload(id="2024-01-20T10:00:00.123456789Z", seq=0,
        payload=b'{"level":"warn","msg":"slow","caller":"x.go:1","n":1}\n',
        payload_type="electrician.log.v1", metadata=md)
p.timestamp.seconds = 1705744800
for sel in (0, 3, 4):
    put("relay", bytes([sel]) + p.SerializeToString())
p2 = electrician_pb2.WrappedPayload(id="g", seq=5, payload=b"\x0e\xff\x81gob", payload_encoding=1,
        channel="c", dedupe_key="k")
p2.error_info.code = 3; p2.error_info.message = "m"; p2.error_info.details.extend(["a", "b"])
put("relay", bytes([1]) + p2.SerializeToString())
put("relay", bytes([0]) + electrician_pb2.WrappedPayload(payload=b"[1,2]", payload_encoding=2).SerializeToString())
put("relay", bytes([2]) + electrician_pb2.WrappedPayload(payload=b'  {"msg":"gob but json"}').SerializeToString())
p3 = electrician_pb2.WrappedPayload(payload=b"x")
p3.timestamp.seconds = 9223372035; p3.timestamp.nanos = 2000000000   # int64 overflow (review)
put("relay", bytes([0]) + p3.SerializeToString())

# logging.v1.LogFrame
f = logging_pb2.LogFrame(version=1, session_id="sess-42", user_id="u1", role="assistant", seq=3,
                         content="hello\nworld")
f.time.seconds = 1700000000; f.time.nanos = 1
f.metadata.update({"model": "m1", "tokens": 12, "ok": True, "nested": {"a": [1, "x", None]}})
put("logsvc", f.SerializeToString())
put("logsvc", logging_pb2.LogFrame(session_id="../../etc/passwd", content="x").SerializeToString())
f = logging_pb2.LogFrame(session_id=".hidden", content="y"); f.time.seconds = 1; f.time.nanos = -2000000000
put("logsvc", f.SerializeToString())
