#!/usr/bin/python3
"""redact_peer.py — sends a corpus through one of serve's ingest paths (t8300).

  redact_peer.py MODE ADDR STUBS FILE COMPONENT

MODE: native (elog.v1.Hub/Ingest), relay (electrician.RelayService/StreamReceive),
logsvc (logging.v1.LogService/WriteLogStream, one session named COMPONENT), flowctl
(flowctl.ControlPlane/StreamLogs). Each line of FILE is one record: a JSON object line
(FILE ending in .jsonl) gives the message ("msg") and the rest as fields/metadata, any other
line is the message. Prints "sent N" once everything was acknowledged.
"""
import json
import sys
import time

import grpc

from peerlib import Failure, check

T = 60


def items(path):
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if path.endswith(".jsonl"):
                o = json.loads(line)
                msg = o.pop("msg", "")
                out.append((msg, o))
            else:
                out.append((line, None))
    return out


def ts_now():
    from google.protobuf import timestamp_pb2
    now = time.time_ns()
    return timestamp_pb2.Timestamp(seconds=now // 10**9, nanos=now % 10**9)


def native(ch, recs, comp):
    import elog_pb2 as pb
    batch = pb.RecordBatch(seq=1, records=[
        pb.Record(component=comp, msg=m, fields=json.dumps(f) if f else "", source="redact-peer")
        for m, f in recs])
    call = ch.stream_stream("/elog.v1.Hub/Ingest", request_serializer=lambda b: b,
                            response_deserializer=lambda b: b)
    acks = [pb.IngestAck.FromString(a) for a in call(iter([batch.SerializeToString()]),
                                                      timeout=T)]
    check(len(acks) == 1 and acks[0].seq == 1, "native: acks %r" % acks)


def relay(ch, recs, comp):
    import electrician_pb2 as pb
    import electrician_pb2_grpc as pbg
    stub = pbg.RelayServiceStub(ch)
    envs = [pb.RelayEnvelope(open=pb.StreamOpen(stream_id=comp, ack_mode=pb.ACK_PER_MESSAGE))]
    for i, (m, f) in enumerate(recs):
        obj = dict(f or {})
        obj["msg"] = m
        md = pb.MessageMetadata(headers={"source": comp}, content_type="application/json")
        p = pb.WrappedPayload(id="%s-%d" % (comp, i), timestamp=ts_now(), seq=i + 1,
                              payload=json.dumps(obj).encode() + b"\n",
                              payload_type="electrician.log.v1")
        p.metadata.CopyFrom(md)
        envs.append(pb.RelayEnvelope(payload=p))
    envs.append(pb.RelayEnvelope(close=pb.StreamClose(reason="done")))
    acks = list(stub.StreamReceive(iter(envs), metadata=[("trace-id", "redact")], timeout=T))
    check(all(a.success for a in acks), "relay: failed acks %r" % [a for a in acks
                                                                  if not a.success][:2])


def logsvc(ch, recs, comp):
    import logging_pb2 as pb
    import logging_pb2_grpc as pbg

    def frames():
        for m, f in recs:
            fr = pb.LogFrame(version=2, session_id=comp, user_id="u", role="user", content=m,
                             time=ts_now())
            if f:
                fr.metadata.update(f)
            yield fr
    r = pbg.LogServiceStub(ch).WriteLogStream(frames(), timeout=T)
    check(r.frames_received == len(recs), "logsvc: %r" % r)


def flowctl(ch, recs, comp):
    import flowctl_pb2 as pb
    import flowctl_pb2_grpc as pbg

    def entries():
        for m, f in recs:
            fields = {}
            for k, v in (f or {}).items():
                fields[k] = v if isinstance(v, str) else json.dumps(v)
            yield pb.LogEntry(component_id=comp, level="info", message=m, fields=fields,
                              timestamp=ts_now())
    list(pbg.ControlPlaneStub(ch).StreamLogs(entries(), timeout=T))


def main():
    mode, addr, stubs, path, comp = sys.argv[1:6]
    sys.path.insert(0, stubs)
    recs = items(path)
    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=15)
    {"native": native, "relay": relay, "logsvc": logsvc, "flowctl": flowctl}[mode](ch, recs, comp)
    print("sent %d" % len(recs))


if __name__ == "__main__":
    try:
        main()
    except (Failure, grpc.RpcError) as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
