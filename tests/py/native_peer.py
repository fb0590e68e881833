#!/usr/bin/python3
"""A python3-grpcio peer for elog.v1.Hub against `elog serve`.

Usage: /usr/bin/python3 tests/py/native_peer.py HOST:PORT STUBS_DIR [CASE ARGS...]

STUBS_DIR holds the python stubs generated from proto/ (lib.sh's py_stubs). Without CASE:
checks Ingest (batches, acks: seq, stored, duplicates, last_id; acknowledged means readable;
dedupe_key resends counted as duplicates), Read (filters, limit, after_id, follow with the
live flag), Components, and that undecodable bytes get INVALID_ARGUMENT while serve stays up.
With CASE, one of the limit checks of t9550 (see the functions named case_*).
Exits 0 when every check passed, else 1 saying which one failed.
"""
import queue
import sys
import threading
import time

import grpc


from peerlib import Failure, check  # noqa: E402


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, data):
    """A length-delimited protobuf field."""
    return varint(field << 3 | 2) + varint(len(data)) + data


MIB = 1 << 20
# README "Limits": records in one RecordBatch, and the longest string of a record.
MAX_BATCH_RECORDS = 16384
STRING_LIMIT = MIB
TRUNC_MARK = " \u2026[truncated]"
EMPTY_RECORD = ld(2, b"")          # one empty Record in a RecordBatch: 2 bytes on the wire


def proc_status(pid, key):
    """A size field of /proc/PID/status (VmRSS, VmHWM) in bytes."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise Failure("no %s in /proc/%d/status" % (key, pid))


def reset_peak(pid):
    """Starts VmHWM over at the current RSS (Linux: 5 > /proc/PID/clear_refs); returns the
    RSS to measure growth from."""
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")
    except OSError:
        pass    # then VmHWM is the peak since serve started: the check is only stricter
    return proc_status(pid, "VmRSS")


def raw_ingest(ch):
    ident = lambda b: b  # noqa: E731
    return ch.stream_stream("/elog.v1.Hub/Ingest", request_serializer=ident,
                            response_deserializer=ident)


def ingest_raw(ch, messages, timeout=120):
    """Sends the messages (bytes) on one Ingest call; returns (acks, None) or (acks, RpcError)."""
    import elog_pb2 as pb
    acks = []
    try:
        for a in raw_ingest(ch)(iter(messages), timeout=timeout):
            acks.append(pb.IngestAck.FromString(a))
    except grpc.RpcError as e:
        return acks, e
    return acks, None


def case_memory(ch, pid, bound):
    """Memory of Ingest with batches of empty records stays under bound bytes above what serve
    held before (VmHWM, the peak, against VmRSS at the start)."""
    base = reset_peak(pid)
    # One 4 MiB message of 2M empty records: over the records-per-batch limit.
    n = 2 * MIB
    msg = b"\x08\x01" + EMPTY_RECORD * n
    acks, err = ingest_raw(ch, [msg])
    grown = proc_status(pid, "VmHWM") - base
    check(grown <= bound, "peak RSS grew %.1f MiB for a %.1f MiB message (bound %.1f MiB)"
          % (grown / MIB, len(msg) / MIB, bound / MIB))
    check(err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT and
          str(MAX_BATCH_RECORDS) in (err.details() or ""),
          "a batch of %d records: want INVALID_ARGUMENT naming %d, got %s %s (%d acks)"
          % (n, MAX_BATCH_RECORDS, err and err.code(), err and err.details(), len(acks)))
    print("ok memory: a %.1f MiB batch of %d empty records refused (%s); peak RSS grew %.1f MiB"
          % (len(msg) / MIB, n, err.details(), grown / MIB))
    # Batches at the limit, as fast as the peer can send them: what the call holds is
    # bounded by the call's bytes in flight.
    base = reset_peak(pid)
    count = 64
    msgs = (b"\x08" + varint(i + 1) + EMPTY_RECORD * MAX_BATCH_RECORDS for i in range(count))
    acks, err = ingest_raw(ch, msgs)
    check(err is None, "batches at the limit: %s" % err)
    check(len(acks) == count and all(a.stored == MAX_BATCH_RECORDS for a in acks),
          "batches at the limit: %d acks" % len(acks))
    grown = proc_status(pid, "VmHWM") - base
    print("ok memory: %d batches of %d empty records (%.1f MiB) stored; peak RSS grew %.1f MiB"
          % (count, MAX_BATCH_RECORDS, count * (2 * MAX_BATCH_RECORDS + 3) / MIB, grown / MIB))
    check(grown <= bound, "peak RSS grew %.1f MiB (bound %.1f MiB)" % (grown / MIB, bound / MIB))


# README "Limits": a page of Read is at most this long (256 KiB of records, then one more).
MAX_PAGE = 6 * MIB
CUT_MSG = "x" * STRING_LIMIT + TRUNC_MARK


def read_pages(ch, query):
    """Reads with Hub/Read; returns (records, largest page in bytes)."""
    import elog_pb2 as pb
    ident = lambda b: b  # noqa: E731
    call = ch.unary_stream("/elog.v1.Hub/Read", request_serializer=pb.Query.SerializeToString,
                           response_deserializer=ident)
    recs, largest = [], 0
    try:
        for raw in call(query, timeout=120):
            largest = max(largest, len(raw))
            recs.extend(pb.RecordPage.FromString(raw).records)
    except grpc.RpcError as e:
        raise Failure("Read failed: %s %s" % (e.code(), e.details()))
    return recs, largest


def expect_refused(ch, msg, what, words):
    acks, err = ingest_raw(ch, [msg])
    check(err is not None and err.code() == grpc.StatusCode.INVALID_ARGUMENT and
          all(w in (err.details() or "") for w in words),
          "%s: want INVALID_ARGUMENT naming %s, got %s %s (%d acks)"
          % (what, words, err and err.code(), err and err.details(), len(acks)))
    print("ok %s refused: %s" % (what, err.details()))


def case_sizes_ingest(ch, tag):
    """A record of almost 16 MiB (serve's limit of one message) after a page's worth of small
    ones: kept with its message cut as a line's; a message over 16 MiB is refused by gRPC
    naming the limit; a fields or component over the limit refuses the batch."""
    import elog_pb2 as pb
    small = pb.RecordBatch(seq=1, records=[pb.Record(component=tag + "-small", msg="s" * 2048)
                                           for _ in range(200)]).SerializeToString()
    n = 16 * MIB - 4096
    huge = b"\x08\x01" + ld(2, ld(4, (tag + "-huge").encode()) + ld(6, b"x" * n))
    acks, err = ingest_raw(ch, [small, huge])
    check(err is None and [a.stored for a in acks] == [200, 1],
          "a %d-byte message: %s, acks %s" % (n, err, [a.stored for a in acks]))
    recs, largest = read_pages(ch, pb.Query())
    huge = [r for r in recs if r.component == tag + "-huge"]
    check(len(huge) == 1 and huge[0].msg == CUT_MSG,
          "the huge record: %s" % [(len(r.msg), r.msg[-20:]) for r in huge])
    check(largest <= MAX_PAGE, "a page of %d bytes" % largest)
    print("ok a %.1f MiB message stored cut to %d bytes; %d records read, largest page %d bytes"
          % (n / MIB, len(huge[0].msg.encode()), len(recs), largest))
    over = b"\x08\x01" + ld(2, ld(4, (tag + "-over").encode()) + ld(6, b"x" * (64 * MIB - 4096)))
    acks, err = ingest_raw(ch, [over])
    check(err is not None and err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and
          "16777216" in (err.details() or ""),
          "a 64 MiB message: want RESOURCE_EXHAUSTED naming 16777216, got %s %s"
          % (err and err.code(), err and err.details()))
    print("ok a 64 MiB message refused: %s" % err.details())
    big = b"{\"k\":\"" + b"y" * (2 * MIB) + b"\"}"
    expect_refused(ch, b"\x08\x01" + ld(2, ld(4, (tag + "-bad").encode()) + ld(7, big)),
                   "fields of 2 MiB", ["'fields'", "1048576 bytes per record string"])
    expect_refused(ch, b"\x08\x01" + ld(2, ld(4, b"c" * (STRING_LIMIT + 1))),
                   "a component of 1 MiB + 1", ["'component'", "1048576 bytes per record string"])
    recs, _ = read_pages(ch, pb.Query(components=[tag + "-bad"]))
    check(recs == [], "a refused record was stored")


def case_sizes_pages(ch, tag):
    """Records with every string at the limit: pages stay under MAX_PAGE."""
    import elog_pb2 as pb
    count, per_batch = 12, 3
    comp = tag + "-near-" + "c" * (STRING_LIMIT - len(tag) - 6)
    fields = '{"k":"' + "f" * (STRING_LIMIT - 8) + '"}'
    batches = []
    for b in range(count // per_batch):
        batches.append(pb.RecordBatch(seq=b + 1, records=[
            pb.Record(component=comp, msg="m" * STRING_LIMIT, fields=fields, source="s" * STRING_LIMIT,
                      dedupe_key="%s-%d-" % (tag, b * per_batch + i) + "d" * (STRING_LIMIT - 64))
            for i in range(per_batch)]).SerializeToString())
    acks, err = ingest_raw(ch, batches)
    check(err is None and sum(a.stored for a in acks) == count,
          "near-limit records: %s, acks %s" % (err, [a.stored for a in acks]))
    recs, largest = read_pages(ch, pb.Query(components=[comp]))
    check(len(recs) == count and all(len(r.msg) == STRING_LIMIT and r.fields == fields for r in recs),
          "near-limit records read back: %d" % len(recs))
    check(largest <= MAX_PAGE, "a page of %d bytes (bound %d)" % (largest, MAX_PAGE))
    print("ok %d records of 4 strings of 1 MiB: largest page %d bytes" % (count, largest))


def case_sizes_old(ch, component):
    """A record over the limit already in the history (written before it): sent cut."""
    import elog_pb2 as pb
    recs, largest = read_pages(ch, pb.Query(components=[component]))
    check(len(recs) == 1 and recs[0].msg == CUT_MSG and recs[0].fields == CUT_MSG,
          "the old record: %s" % [(len(r.msg), len(r.fields)) for r in recs])
    check(largest <= MAX_PAGE, "a page of %d bytes" % largest)
    print("ok a record of 8 MB strings in the history is read cut: page of %d bytes" % largest)


def case_decode_budget(ch, pid, bound):
    """The other contracts' streams, decoded by protobuf-c: a 4 MiB message of 2M empty map
    entries is refused (RESOURCE_EXHAUSTED naming the decoding limit) before it costs ~185 MiB;
    peak RSS stays under bound bytes above where it was."""
    ident = lambda b: b  # noqa: E731
    n = 2 * MIB
    entries = b"\x0a\x00" * n
    floods = [
        ("flowctl.LogEntry", ch.stream_stream("/flowctl.ControlPlane/StreamLogs", ident, ident),
         ld(1, b"c") + ld(5, b"m") + b"\x32\x00" * n),
        ("electrician.RelayEnvelope",
         ch.stream_stream("/electrician.RelayService/StreamReceive", ident, ident),
         ld(2, ld(1, b"id") + ld(3, b"p") + ld(4, entries))),
        ("logging.v1.LogFrame", ch.stream_unary("/logging.v1.LogService/WriteLogStream", ident, ident),
         ld(3, b"sess") + b"\x30\x01" + ld(7, b"hello") + ld(8, entries)),
    ]
    for name, call, msg in floods:
        base = reset_peak(pid)
        try:
            r = call(iter([msg]), timeout=60)
            if not isinstance(r, bytes):
                list(r)
            raise Failure("%s of %d map entries accepted" % (name, n))
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and name in (e.details() or "") and
                  "bytes per byte received" in (e.details() or ""),
                  "%s flood: want RESOURCE_EXHAUSTED naming the limit, got %s %s"
                  % (name, e.code(), e.details()))
        grown = proc_status(pid, "VmHWM") - base
        check(grown <= bound, "%s flood: peak RSS grew %.1f MiB (bound %.1f MiB)"
              % (name, grown / MIB, bound / MIB))
        print("ok %s: a %.1f MiB message of %d map entries refused; peak RSS grew %.1f MiB"
              % (name, len(msg) / MIB, n, grown / MIB))


def main():
    addr, stubs = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        sys.path.insert(0, stubs)
        ch = grpc.insecure_channel(addr, options=[("grpc.max_receive_message_length", 64 * MIB),
                                                  ("grpc.max_send_message_length", 64 * MIB)])
        grpc.channel_ready_future(ch).result(timeout=10)
        if sys.argv[3] == "memory":
            case_memory(ch, int(sys.argv[4]), int(sys.argv[5]) * MIB)
        elif sys.argv[3] == "decode-budget":
            case_decode_budget(ch, int(sys.argv[4]), int(sys.argv[5]) * MIB)
        elif sys.argv[3] == "sizes-ingest":
            case_sizes_ingest(ch, sys.argv[4])
        elif sys.argv[3] == "sizes-pages":
            case_sizes_pages(ch, sys.argv[4])
        elif sys.argv[3] == "sizes-old":
            case_sizes_old(ch, sys.argv[4])
        else:
            raise Failure("unknown case %s" % sys.argv[3])
        ch.close()
        return 0
    sys.path.insert(0, stubs)
    import elog_pb2 as pb
    import elog_pb2_grpc as pbg

    ch = grpc.insecure_channel(addr)
    grpc.channel_ready_future(ch).result(timeout=10)
    hub = pbg.HubStub(ch)
    tag = "py%d" % int(time.time() * 1000)

    def comp(name):
        return tag + "-" + name

    def read(**kw):
        recs = []
        for page in hub.Read(pb.Query(**kw), timeout=10):
            recs.extend(page.records)
        return recs

    def ingest(batches):
        """Sends the batches on one Ingest call, returns the acks."""
        return list(hub.Ingest(iter(batches), timeout=20))

    # ---- Ingest: batches and acks -------------------------------------------------------
    t0 = 1705744800 * 10**9   # 2024-01-20T10:00:00Z
    sizes = [1, 5, 1000, 0, 3]
    batches = []
    n = 0
    for seq, size in enumerate(sizes, 1):
        recs = []
        for i in range(size):
            recs.append(pb.Record(ts_ns=t0 + n * 10**9, component=comp("a" if n % 2 else "b"),
                                  level=n % 6, msg="m%d" % n, fields='{"n":%d}' % n,
                                  source="pypeer"))
            n += 1
        batches.append(pb.RecordBatch(seq=seq, records=recs))
    acks = ingest(batches)
    check([a.seq for a in acks] == list(range(1, len(sizes) + 1)), "ack seqs %s" % [a.seq for a in acks])
    check([a.stored for a in acks] == sizes, "ack stored %s" % [a.stored for a in acks])
    check(all(a.duplicates == 0 for a in acks), "unexpected duplicates")
    last = [a.last_id for a in acks if a.stored]
    check(last == sorted(last) and len(set(last)) == len(last), "last_id not increasing: %s" % last)
    mine = read(components=[comp("a"), comp("b")])
    check(len(mine) == n, "read back %d of %d" % (len(mine), n))
    ids = [r.id for r in mine]
    check(ids == sorted(ids) and ids[-1] == last[-1], "ids vs last_id")
    check(ids == list(range(ids[0], ids[0] + n)), "ids of one call not contiguous")
    check([r.msg for r in mine] == ["m%d" % i for i in range(n)], "messages out of order")
    r0 = mine[0]
    check(r0.ts_ns == t0 and r0.arrival_ns > 0 and r0.source == "pypeer" and r0.fields == '{"n":0}',
          "record 0 round trip: %s" % r0)
    print("ok ingest: %d records in %d batches, acks %s" % (n, len(sizes), [(a.seq, a.stored) for a in acks]))

    # An ack means committed: each ack's last_id is readable when the ack arrives.
    def gen_slow(q):
        for seq in range(1, 4):
            yield pb.RecordBatch(seq=seq, records=[pb.Record(component=comp("acked"), msg="x%d" % seq)])
            q.get(timeout=10)
    q = queue.Queue()
    for ack in hub.Ingest(gen_slow(q), timeout=20):
        got = read(components=[comp("acked")])
        check(got and got[-1].id == ack.last_id and len(got) == ack.seq,
              "acked batch %d not readable" % ack.seq)
        q.put(1)
    print("ok ack after commit")

    # ---- dedupe ------------------------------------------------------------------------
    def drec(k, m):
        return pb.Record(component=comp("dd"), msg=m, dedupe_key=tag + k)
    a1 = ingest([pb.RecordBatch(seq=1, records=[drec("k1", "one"), drec("k2", "two")])])
    check(a1[0].stored == 2 and a1[0].duplicates == 0, "first dedupe batch %s" % a1[0])
    a2 = ingest([pb.RecordBatch(seq=1, records=[drec("k1", "one again"), drec("k2", "two"),
                                                drec("k3", "three")])])
    check(a2[0].stored == 1 and a2[0].duplicates == 2, "resend: %s" % a2[0])
    check(a2[0].last_id > a1[0].last_id, "resend last_id")
    a3 = ingest([pb.RecordBatch(seq=1, records=[drec("k4", "four"), drec("k4", "four")]),
                 pb.RecordBatch(seq=2, records=[drec("k4", "four"), pb.Record(component=comp("dd"), msg="nokey")]),
                 pb.RecordBatch(seq=3, records=[pb.Record(component=comp("dd"), msg="nokey")])])
    check([(a.stored, a.duplicates) for a in a3] == [(1, 1), (1, 1), (1, 0)],
          "dedupe within and across batches: %s" % [(a.stored, a.duplicates) for a in a3])
    dd = read(components=[comp("dd")])
    check([r.msg for r in dd] == ["one", "two", "three", "four", "nokey", "nokey"],
          "stored once: %s" % [r.msg for r in dd])
    print("ok dedupe")

    # ---- Read: filters, limit, after_id -----------------------------------------------
    A, B = comp("a"), comp("b")
    got = read(components=[A])
    check(len(got) == n // 2 and all(r.component == A for r in got), "components filter")
    got = read(components=[A, B], levels=[4, 5])
    check(got and all(r.level in (4, 5) for r in got) and len(got) == sum(1 for i in range(n) if i % 6 in (4, 5)),
          "levels filter")
    got = read(components=[A, B], since_ns=t0 + 10 * 10**9, until_ns=t0 + 19 * 10**9)
    check([r.msg for r in got] == ["m%d" % i for i in range(10, 20)], "since/until: %s" % [r.msg for r in got])
    got = read(components=[A, B], pattern="^m(7|77|777)$")
    check([r.msg for r in got] == ["m7", "m77", "m777"], "pattern: %s" % [r.msg for r in got])
    got = read(components=[A, B], limit=3)
    check([r.msg for r in got] == ["m%d" % i for i in range(n - 3, n)], "limit: %s" % [r.msg for r in got])
    got = read(components=[A], levels=[1], limit=2)
    want = [i for i in range(n) if i % 2 == 1 and i % 6 == 1][-2:]
    check([r.msg for r in got] == ["m%d" % i for i in want], "limit with filters")
    got = read(components=[A, B], after_id=ids[n - 5])
    check([r.id for r in got] == ids[n - 4:], "after_id")
    got = read(components=[A, B], after_id=ids[10], limit=2)
    check([r.id for r in got] == ids[-2:], "after_id with limit")
    check(read(components=[comp("none")]) == [], "unknown component")
    print("ok read filters")

    # ---- Read: follow ------------------------------------------------------------------
    F = comp("follow")
    ingest([pb.RecordBatch(seq=1, records=[pb.Record(component=F, msg="hist")])])
    pages = queue.Queue()
    call = hub.Read(pb.Query(components=[F], follow=True), timeout=30)

    def reader():
        try:
            for page in call:
                pages.put(page)
        except grpc.RpcError as e:
            pages.put(e)
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    seen, live = [], False
    deadline = time.time() + 10
    while not live:
        p = pages.get(timeout=max(0.1, deadline - time.time()))
        check(not isinstance(p, Exception), "follow failed: %s" % p)
        seen.extend(r.msg for r in p.records)
        live = p.live
    check(seen == ["hist"], "history before live: %s" % seen)
    ingest([pb.RecordBatch(seq=1, records=[pb.Record(component=comp("other"), msg="not mine"),
                                           pb.Record(component=F, msg="live1")]),
            pb.RecordBatch(seq=2, records=[pb.Record(component=F, msg="live2")])])
    while len(seen) < 3:
        p = pages.get(timeout=max(0.1, deadline - time.time()))
        check(not isinstance(p, Exception), "follow failed: %s" % p)
        check(p.missed == 0, "missed records on an idle follower")
        seen.extend(r.msg for r in p.records)
    check(seen == ["hist", "live1", "live2"], "follow: %s" % seen)
    call.cancel()
    th.join(timeout=5)
    print("ok follow")

    # ---- Components --------------------------------------------------------------------
    names = list(hub.Components(pb.ComponentsRequest(), timeout=10).names)
    check(names == sorted(names) and len(set(names)) == len(names), "components sorted, distinct")
    for c in (A, B, comp("dd"), F, comp("other")):
        check(c in names, "component %s missing" % c)
    print("ok components (%d names)" % len(names))

    # ---- bad input ----------------------------------------------------------------------
    ident = lambda b: b  # noqa: E731
    garbage = b"\xff\xff\xff\xff\x0f\x12\x80"

    def expect_invalid(what, fn):
        try:
            fn()
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT,
                  "%s: want INVALID_ARGUMENT, got %s (%s)" % (what, e.code(), e.details()))
            return
        raise Failure("%s: the call succeeded" % what)
    raw_read = ch.unary_stream("/elog.v1.Hub/Read", request_serializer=ident, response_deserializer=ident)
    expect_invalid("undecodable Query", lambda: list(raw_read(garbage, timeout=10)))
    raw_ingest = ch.stream_stream("/elog.v1.Hub/Ingest", request_serializer=ident,
                                  response_deserializer=pb.IngestAck.FromString)
    expect_invalid("undecodable RecordBatch", lambda: list(raw_ingest(iter([garbage]), timeout=10)))
    # A good batch, then garbage: the good one is acknowledged, then the call fails.
    good = pb.RecordBatch(seq=1, records=[pb.Record(component=comp("bad"), msg="before garbage")])
    got_acks = []

    def good_then_garbage():
        for a in raw_ingest(iter([good.SerializeToString(), garbage]), timeout=10):
            got_acks.append(a)
    expect_invalid("garbage after a good batch", good_then_garbage)
    check([r.msg for r in read(components=[comp("bad")])] == ["before garbage"], "good batch kept")
    expect_invalid("invalid pattern", lambda: read(pattern="a(("))
    # Invalid UTF-8 inside string fields: accepted, stored as valid text.
    rec = ld(4, comp("utf8").encode()) + ld(6, b"bad \xff\xfe bytes") + ld(7, b'{"k":"\xc3"}')
    batch = b"\x08\x01" + ld(2, rec)
    acks = list(raw_ingest(iter([batch]), timeout=10))
    check(len(acks) == 1 and acks[0].stored == 1, "invalid UTF-8 batch: %s" % acks)
    got = read(components=[comp("utf8")])
    check(len(got) == 1 and got[0].msg.startswith("bad ") and got[0].msg.endswith(" bytes"),
          "repaired text: %r" % (got[0].msg if got else None))
    # serve is still up.
    names = hub.Components(pb.ComponentsRequest(), timeout=10).names
    check(comp("utf8") in names, "serve answers after bad input")
    print("ok bad input")
    ch.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print("native_peer: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
