#!/usr/bin/python3
"""A flowctl peer for `elog ps` (t2200): registers services, heartbeats, pushes a few logs.

Usage: /usr/bin/python3 tests/py/ps_flowctl_peer.py HOST:PORT PROTO_DIR

Registers, against `elog serve`:
  flow-src-1   SOURCE     component_id "flowapp", then a heartbeat with 2 metrics
  flow-sink-1  SINK       component_id "flowapp", no heartbeat besides registering
  idle-1       PROCESSOR  component_id "flowidle", sends no log
  lonely-1     PIPELINE   no component_id (listed under its service id)
and pushes on StreamLogs 3 entries of component "flowapp": error, info, info.
Exits 0 once every call succeeded, else 1 saying which failed.
"""
import os
import shutil
import sys
import tempfile

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from peerlib import Failure, check, gen_stubs  # noqa: E402

T = 30


def run(addr):
    import flowctl_pb2 as pb
    import flowctl_pb2_grpc as pbg

    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=T)
    stub = pbg.ControlPlaneStub(ch)
    for sid, typ, comp in (("flow-src-1", pb.SERVICE_TYPE_SOURCE, "flowapp"),
                           ("flow-sink-1", pb.SERVICE_TYPE_SINK, "flowapp"),
                           ("idle-1", pb.SERVICE_TYPE_PROCESSOR, "flowidle"),
                           ("lonely-1", pb.SERVICE_TYPE_PIPELINE, "")):
        ack = stub.Register(pb.ServiceInfo(service_id=sid, service_type=typ, component_id=comp),
                            timeout=T)
        check(ack.service_id == sid, "Register %s: got id %r" % (sid, ack.service_id))
    stub.Heartbeat(pb.ServiceHeartbeat(service_id="flow-src-1", metrics={"rate": 1.5, "lag": 2.0}),
                   timeout=T)
    entries = [pb.LogEntry(component_id="flowapp", level=lv, message="flow %d" % i)
               for i, lv in enumerate(("error", "info", "info"))]
    resp = list(stub.StreamLogs(iter(entries), timeout=T))
    check(resp == [], "StreamLogs: unexpected responses %r" % resp)
    ch.close()


def main():
    if len(sys.argv) != 3:
        print("usage: ps_flowctl_peer.py HOST:PORT PROTO_DIR", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="ps-peer.")
    try:
        gen_stubs(sys.argv[2], tmp, "flowctl.proto")
        run(sys.argv[1])
    except (Failure, grpc.RpcError) as e:
        print("ps flowctl peer: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ps flowctl peer: registered and logged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
