#!/usr/bin/python3
"""A logging.v1.LogService peer (Debian's python3-grpcio) for tests/t/t4000-logsvc.sh.

Usage: /usr/bin/python3 tests/py/logsvc_peer.py COMMAND ARGS...

  send ADDR STUBS TAG FRAME...   one WriteLogStream call; FRAME is SID (seq assigned), SID@SEQ
                                 or SID*N (N frames); frame i has content "TAG-i". Prints
                                 "ACK <frames_received> <status>" or "ERR <CODE> <details>".
  dump DIR STEM                  every line of the session's files in order (rotated files by
                                 name, .gz decompressed, then the .logtmp), each checked (keys,
                                 time, session_id), printed as "<seq> <content>".
  files DIR STEM                 "<n rotated .gz> <n rotated .log> <has .logtmp>"
  hostile ADDR STUBS DIR         hostile session ids stay inside DIR and map to distinct files.
  many ADDR STUBS PREFIX N       one call with N frames, each of its own session PREFIX<i>.
  raw ADDR STUBS HEXID...        one call, one frame per HEXID: a session id of any bytes
                                 (hex), sent as raw protobuf (no UTF-8 check on this side).
  meta ADDR STUBS SID N DUP      one frame whose metadata holds N keys k0..k<N-1>, each given
                                 DUP times (values 0..DUP-1, the last DUP-1).
Exits 1 with a message when a check failed.
"""
import gzip
import json
import os
import re
import struct
import sys

ROT = re.compile(r"^\.(\d{8}T\d{6}\.\d{9}Z)\.(-?\d+)-(-?\d+)\.log(\.gz)?$")


def fail(msg):
    print("logsvc_peer: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def stubs(path):
    sys.path.insert(0, path)
    import grpc  # noqa: F401
    import logging_pb2
    import logging_pb2_grpc
    return logging_pb2, logging_pb2_grpc


def frames_of(pb, tag, specs):
    i = 0
    for spec in specs:
        sid, n, seq = spec, 1, 0
        if "*" in spec:
            sid, n = spec.rsplit("*", 1)
            n = int(n)
        elif "@" in spec:
            sid, seq = spec.rsplit("@", 1)
            seq = int(seq)
        for _ in range(n):
            f = pb.LogFrame(version=2, session_id=sid, user_id="u-" + sid,
                            role="user" if i % 2 == 0 else "assistant", seq=seq,
                            content="%s-%d" % (tag, i))
            f.time.FromNanoseconds(1700000000 * 10**9 + i * 1000 + 123)
            f.metadata.update({"i": i, "tag": tag, "nested": {"ok": True, "l": [1, "x", None]}})
            i += 1
            yield f


def call(addr, stubdir, tag, specs):
    import grpc
    pb, pbg = stubs(stubdir)
    with grpc.insecure_channel(addr) as ch:
        stub = pbg.LogServiceStub(ch)
        try:
            r = stub.WriteLogStream(frames_of(pb, tag, specs), timeout=60)
        except grpc.RpcError as e:
            return "ERR %s %s" % (e.code().name, e.details())
    return "ACK %d %s" % (r.frames_received, r.status)


def session_files(d, stem):
    rot = []
    for name in os.listdir(d):
        if name.startswith(stem + ".") and ROT.match(name[len(stem):]):
            rot.append(name)
    rot.sort(key=lambda n: n[:-3] if n.endswith(".gz") else n)
    cur = stem + ".logtmp"
    return rot, cur if os.path.exists(os.path.join(d, cur)) else None


def read_lines(d, stem):
    rot, cur = session_files(d, stem)
    for name in rot + ([cur] if cur else []):
        p = os.path.join(d, name)
        if name.endswith(".gz"):
            with gzip.open(p, "rb") as f:
                data = f.read()
        else:
            with open(p, "rb") as f:
                data = f.read()
        if data and not data.endswith(b"\n"):
            fail("%s does not end with a newline" % name)
        for line in data.splitlines():
            yield name, line


def check_line(name, line, sid=None):
    try:
        o = json.loads(line)
    except ValueError as e:
        fail("%s: not JSON (%s): %r" % (name, e, line[:200]))
    keys = ["time", "seq", "session_id", "user_id", "role", "content", "metadata"]
    if list(o.keys()) != keys:
        fail("%s: keys %s, want %s" % (name, list(o.keys()), keys))
    if not re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$", o["time"]):
        fail("%s: time %r is not RFC3339Nano" % (name, o["time"]))
    if sid is not None and o["session_id"] != sid:
        fail("%s: session_id %r, want %r" % (name, o["session_id"], sid))
    if o["user_id"] != "u-" + o["session_id"]:
        fail("%s: user_id %r" % (name, o["user_id"]))
    if not isinstance(o["metadata"], dict) or o["metadata"].get("nested") != \
            {"ok": True, "l": [1, "x", None]}:
        fail("%s: metadata %r" % (name, o["metadata"]))
    m = re.match(r"^.*-(\d+)$", o["content"])
    if not m or o["metadata"]["i"] != int(m.group(1)):
        fail("%s: metadata.i %r does not match content %r" % (name, o["metadata"], o["content"]))
    frac = ("%09d" % (int(m.group(1)) * 1000 + 123)).rstrip("0")
    if o["time"] != "2023-11-14T22:13:20." + frac + "Z":
        fail("%s: time %r for frame %s" % (name, o["time"], m.group(1)))
    return o


def cmd_dump(d, stem):
    for name, line in read_lines(d, stem):
        o = check_line(name, line)
        print("%d %s" % (o["seq"], o["content"]))


def cmd_files(d, stem):
    rot, cur = session_files(d, stem)
    gz = sum(1 for n in rot if n.endswith(".gz"))
    print("%d %d %d" % (gz, len(rot) - gz, 1 if cur else 0))
    # a rotated name's range must match its lines
    for n in rot:
        m = ROT.match(n[len(stem):])
        p = os.path.join(d, n)
        data = gzip.open(p, "rb").read() if n.endswith(".gz") else open(p, "rb").read()
        seqs = [json.loads(x)["seq"] for x in data.splitlines()]
        if not seqs or seqs[0] != int(m.group(2)) or seqs[-1] != int(m.group(3)):
            fail("%s: lines have seqs %s" % (n, seqs))


def cmd_hostile(addr, stubdir, d):
    ids = ["../x", "a/b", "a%2Fb", "c\x01d", "..", ".", ".hidden", "%", "~", "x" * 10000,
           "x" * 9999 + "y", "tab\there", "nl\nhere", "sp ace", "\u00e9t\u00e9", "Zz", "zz"]
    for sid in ids:
        r = call(addr, stubdir, "h", [sid])
        if not r.startswith("ACK 1 ACKNOWLEDGED"):
            fail("session %r: %s" % (sid[:40], r))
    r = call(addr, stubdir, "h", [""])
    if not r.startswith("ERR INVALID_ARGUMENT"):
        fail("empty session id: %s" % r)
    parent = os.path.dirname(os.path.abspath(d))
    for stray in ["x.logtmp", "x", "b.logtmp"]:
        if os.path.exists(os.path.join(parent, stray)):
            fail("%s escaped the log directory" % stray)
    seen = {}
    for root, dirs, names in os.walk(d):
        if dirs:
            fail("subdirectories were created in the log dir: %s" % dirs)
        for n in names:
            if not n.endswith(".logtmp"):
                continue
            if any(ord(c) < 32 or ord(c) == 127 for c in n) or "/" in n or n.startswith("."):
                fail("unsafe file name %r" % n)
            if len(n.encode()) > 255:
                fail("file name too long: %d" % len(n.encode()))
            with open(os.path.join(root, n), "rb") as f:
                lines = f.read().splitlines()
            sids = {json.loads(x)["session_id"] for x in lines}
            if len(sids) != 1:
                fail("%s holds sessions %r" % (n, sids))
            sid = sids.pop()
            if sid in seen:
                fail("session %r in two files" % sid[:40])
            seen[sid] = n
    missing = [s[:40] for s in ids if s not in seen]
    if missing:
        fail("no file for sessions %r (have %r)" % (missing, [s[:40] for s in seen]))
    print("hostile ok: %d ids, %d files" % (len(ids), len(seen)))


def cmd_many(addr, stubdir, prefix, n):
    import grpc
    pb, pbg = stubs(stubdir)

    def frames():
        for i in range(n):
            yield pb.LogFrame(version=1, session_id="%s%d" % (prefix, i), user_id="u",
                              role="user", content="c-%d" % i)
    with grpc.insecure_channel(addr) as ch:
        try:
            r = pbg.LogServiceStub(ch).WriteLogStream(frames(), timeout=300)
        except grpc.RpcError as e:
            return "ERR %s %s" % (e.code().name, e.details())
    return "ACK %d %s" % (r.frames_received, r.status)


def varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cmd_raw(addr, stubdir, hexids):
    import grpc
    pb, _ = stubs(stubdir)

    def frames():
        for i, h in enumerate(hexids):
            sid = bytes.fromhex(h)
            content = ("raw-%d" % i).encode()
            yield (b"\x08\x01" + b"\x1a" + varint(len(sid)) + sid +
                   b"\x3a" + varint(len(content)) + content)
    with grpc.insecure_channel(addr) as ch:
        call = ch.stream_unary("/logging.v1.LogService/WriteLogStream",
                               request_serializer=lambda b: b,
                               response_deserializer=pb.WriteLogResponse.FromString)
        try:
            r = call(frames(), timeout=60)
        except grpc.RpcError as e:
            return "ERR %s %s" % (e.code().name, e.details())
    return "ACK %d %s" % (r.frames_received, r.status)


def cmd_meta(addr, stubdir, sid, n, dup):
    import grpc
    pb, pbg = stubs(stubdir)
    f = pb.LogFrame(version=1, session_id=sid, user_id="u", role="user", content="meta")
    # Struct.fields is a map: repeated keys only exist on the wire, so build them there
    entries = []
    for d in range(dup):
        for i in range(n):
            entries.append((("k%d" % i).encode(), d))
    parts = []
    for k, d in entries:
        val = b"\x11" + struct.pack("<d", float(d))   # Value.number_value = 2
        ent = b"\x0a" + varint(len(k)) + k + b"\x12" + varint(len(val)) + val
        parts.append(b"\x0a" + varint(len(ent)) + ent)
    body = b"".join(parts)
    raw = f.SerializeToString() + b"\x42" + varint(len(body)) + body
    with grpc.insecure_channel(addr) as ch:
        call = ch.stream_unary("/logging.v1.LogService/WriteLogStream",
                               request_serializer=lambda b: b,
                               response_deserializer=pb.WriteLogResponse.FromString)
        try:
            r = call(iter([raw]), timeout=120)
        except grpc.RpcError as e:
            return "ERR %s %s" % (e.code().name, e.details())
    return "ACK %d %s" % (r.frames_received, r.status)


def main():
    a = sys.argv[1:]
    if not a:
        fail("usage: see the docstring")
    if a[0] == "send":
        print(call(a[1], a[2], a[3], a[4:]))
    elif a[0] == "dump":
        cmd_dump(a[1], a[2])
    elif a[0] == "files":
        cmd_files(a[1], a[2])
    elif a[0] == "hostile":
        cmd_hostile(a[1], a[2], a[3])
    elif a[0] == "many":
        print(cmd_many(a[1], a[2], a[3], int(a[4])))
    elif a[0] == "raw":
        print(cmd_raw(a[1], a[2], a[3:]))
    elif a[0] == "meta":
        print(cmd_meta(a[1], a[2], a[3], int(a[4]), int(a[5])))
    else:
        fail("unknown command " + a[0])


if __name__ == "__main__":
    main()
