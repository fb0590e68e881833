#!/usr/bin/python3
"""python3-grpcio peer for t1302: the pacing of a Read follower's live pages.

Usage: /usr/bin/python3 tests/py/pace_peer.py HOST:PORT STUBS_DIR IDLE RECORDS

Opens IDLE followers of a component nobody sends (they count as followers and get nothing),
and one follower of "pace"; then sends RECORDS records of "pace" through Hub/Ingest, one
record a batch, each batch only after the previous one was acknowledged (committed), so that
serve commits about once a record. Checks that the follower gets every record once, in id
order, and that its pages are paced: serve sends a follower's next page no sooner than 0.1 ms
times the number of followers after its previous one (README "Limits"), so the pages that
carry records number at most the time they took over that gap, plus a few; without the pacing
it got one page per commit. Exits 0 when every check passed, else 1 saying which one failed.
"""
import queue
import sys
import threading
import time

import grpc

from peerlib import Failure, check  # noqa: E402

GAP_PER_FOLLOWER = 0.0001
FANOUT_EARLY = 0.0005


def main():
    addr, stubs, idle, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sys.path.insert(0, stubs)
    import elog_pb2 as pb
    import elog_pb2_grpc as pbg

    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    hub = pbg.HubStub(ch)
    idlers = []
    for _ in range(idle):
        it = hub.Read(pb.Query(components=["pace-nobody"], follow=True), timeout=120)
        first = next(it)      # the end of the (empty) history: the follower is registered
        check(first.live, "an idle follower's first page is not marked live")
        idlers.append(it)
    fol = hub.Read(pb.Query(components=["pace"], follow=True), timeout=120)
    first = next(fol)
    check(first.live and not first.records, "the follower's first page: %r" % first)
    pages = []               # (records in the page, arrival time)
    ids = []
    done = threading.Event()

    def follow():
        try:
            for page in fol:
                if page.records:
                    pages.append((len(page.records), time.monotonic()))
                    ids.extend(r.id for r in page.records)
                if len(ids) >= count:
                    break
        except grpc.RpcError:
            pass
        done.set()

    th = threading.Thread(target=follow, daemon=True)
    th.start()

    q = queue.Queue()

    def batches():
        while True:
            b = q.get()
            if b is None:
                return
            yield b

    t0 = time.monotonic()
    acks = hub.Ingest(batches(), timeout=120)
    last_id = 0
    for i in range(count):
        q.put(pb.RecordBatch(seq=i + 1, records=[pb.Record(component="pace", msg="p%d" % i)]))
        ack = next(acks)
        check(ack.seq == i + 1 and ack.stored == 1, "ack of batch %d: %r" % (i + 1, ack))
        last_id = ack.last_id
    q.put(None)
    for _ in acks:
        pass
    sent = time.monotonic() - t0
    check(done.wait(60), "the follower got %d of %d records in 60 s" % (len(ids), count))
    elapsed = pages[-1][1] - t0 if pages else 0
    fol.cancel()
    for it in idlers:
        it.cancel()
    check(len(ids) == count, "the follower got %d records, not %d" % (len(ids), count))
    check(ids == list(range(last_id - count + 1, last_id + 1)),
          "the follower's records are not every id once in order")
    gap = (idle + 1) * GAP_PER_FOLLOWER
    # serve's fan-out thread sends a page up to FANOUT_EARLY (0.5 ms) before it is due, with
    # the other pages due by then (server/svc_read.c; README "Limits")
    bound = int(elapsed / (gap - FANOUT_EARLY)) + 3
    print("pace_peer: %d records sent in %.2f s, one a commit; %d pages with records over "
          "%.2f s; paced at %.1f ms: at most %d pages" % (count, sent, len(pages), elapsed,
                                                         gap * 1000, bound))
    if bound >= count:
        print("pace_peer: this machine committed too slowly for the pacing to show")
    check(len(pages) <= bound, "%d pages for %d records over %.2f s: not paced at %.1f ms"
          % (len(pages), count, elapsed, gap * 1000))


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print("pace_peer: %s" % e, file=sys.stderr)
        sys.exit(1)
