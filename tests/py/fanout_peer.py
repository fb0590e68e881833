#!/usr/bin/python3
"""python3-grpcio peers for the read path's hardening tests (t9520..t9523).

Usage: /usr/bin/python3 tests/py/fanout_peer.py MODE HOST:PORT STUBS_DIR [ARGS...]

  after-id              Read and GetLogs with after_id at and past 2^63-1 return nothing
  limits                a Query over the component limit is refused naming it
  follow PATTERN READY  follows with pattern; writes READY once live; then reads until killed
  idle N READY          N followers (follow=True) that never read after their first page;
                        writes READY once all are live, then waits (at most 600 s)
  unread READY          one Read (no follow) that takes one page and never reads again;
                        writes READY, then waits (at most 600 s)
Exits 0 when every check passed, else 1 saying which one failed.
"""
import sys
import time

import grpc

from peerlib import Failure, check  # noqa: E402


def main():
    mode, addr, stubs = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    sys.path.insert(0, stubs)
    import elog_pb2 as pb
    import elog_pb2_grpc as pbg

    # idle followers: no BDP probing, so each stream's window stays at 64 KiB and serve sees
    # a reader that stopped reading soon after
    opts = [("grpc.http2.bdp_probe", 0)] if mode in ("idle", "unread") else []
    ch = grpc.insecure_channel(addr, options=opts)
    grpc.channel_ready_future(ch).result(timeout=10)
    hub = pbg.HubStub(ch)

    def read(**kw):
        recs = []
        for page in hub.Read(pb.Query(**kw), timeout=20):
            recs.extend(page.records)
        return recs

    if mode == "after-id":
        import flowctl_pb2 as fpb
        import flowctl_pb2_grpc as fpbg
        comp = "afterid%d" % int(time.time() * 1000)
        acks = list(hub.Ingest(iter([pb.RecordBatch(seq=1, records=[
            pb.Record(component=comp, msg="m%d" % i) for i in range(5)])]), timeout=20))
        check(len(acks) == 1 and acks[0].stored == 5, "ingest of 5 records: %r" % acks)
        last = acks[0].last_id
        check(len(read(components=[comp])) == 5, "all 5 records without after_id")
        check(len(read(components=[comp], after_id=last - 1)) == 1, "after_id = last - 1")
        fc = fpbg.ControlPlaneStub(ch)
        for a in (2**63 - 2, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1):
            got = read(components=[comp], after_id=a)
            check(got == [], "Read after_id %d returned %d records" % (a, len(got)))
            got = read(after_id=a, limit=3)
            check(got == [], "Read after_id %d limit 3 returned %d records" % (a, len(got)))
            got = list(fc.GetLogs(fpb.StreamLogsRequest(component_ids=[comp], after_id=a),
                                  timeout=20))
            check(got == [], "GetLogs after_id %d returned %d entries" % (a, len(got)))
        check(len(read(components=[comp])) == 5, "serve still answers")
    elif mode == "limits":
        names = ["c%04d" % i for i in range(1025)]
        try:
            read(components=names)
            raise Failure("1025 components were accepted")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "status %s" % e.code())
            check("the limit is 1024" in (e.details() or ""), "details: %r" % e.details())
        check(read(components=names[:1024]) == [], "1024 components are fine")
        try:
            read(pattern="x" * 513)
            raise Failure("a 513-byte pattern was accepted")
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "status %s" % e.code())
            check("limit of 512 bytes" in (e.details() or ""), "details: %r" % e.details())
    elif mode == "follow":
        pattern, ready = args[0], args[1]
        call = hub.Read(pb.Query(pattern=pattern, follow=True), timeout=600)
        for page in call:
            if page.live:
                open(ready, "w").write("live\n")
    elif mode in ("idle", "unread"):
        n = int(args[0]) if mode == "idle" else 1
        ready = args[-1]
        calls = []
        for _ in range(n):
            c = hub.Read(pb.Query(follow=(mode == "idle"), limit=1 if mode == "idle" else 0),
                         timeout=600)
            first = next(c)   # the first page; nothing is read after it
            check(mode == "unread" or first.live, "a follower's first page is not live")
            calls.append(c)
        open(ready, "w").write("%d\n" % n)
        end = time.time() + 600
        while time.time() < end:
            time.sleep(1)
    else:
        raise Failure("unknown mode %s" % mode)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
