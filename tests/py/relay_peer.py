#!/usr/bin/python3
"""An Electrician relay log sink against `elog serve` (contracts.md section 1).

Usage: /usr/bin/python3 tests/py/relay_peer.py HOST:PORT ELOG_BIN [PROTO_DIR] [--bench N]
       /usr/bin/python3 tests/py/relay_peer.py HOST:PORT ELOG_BIN --tls CA_PEM --token KEY

Behaves like the Go relay sink (open with ACK_BATCH/1024/8192/omit_payload_metadata, one
electrician.log.v1 JSON payload per record with a trailing newline, close on shutdown) and
checks every acknowledgement, then every ack mode, undecodable payloads, dedupe keys, a
cancelled stream, unary Receive and undecodable protobuf, and finds the records with
`ELOG_BIN export --json`. With --bench N it only measures payloads/s of one StreamReceive
stream of N payloads (ACK_BATCH) and prints the figure. With --tls and --token it dials the
way the Go sink does with a token configured (TLS, `authorization: Bearer <token>`) against
`serve --auth` with TLS, and checks that a stream with the token is stored, and that one
without it, or a plaintext dial, is refused and stores nothing.

Stubs are generated into a temporary directory (grpc_tools when installed, else protoc with
grpc_python_plugin). Exits 0 when every check passed, else 1 saying which one failed.
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time

import grpc

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
T = 30  # per-call timeout, seconds


from peerlib import Failure, check, gen_stubs  # noqa: E402


class Peer:
    def __init__(self, addr, elog_bin, ca=None, token=None):
        import electrician_pb2 as pb
        import electrician_pb2_grpc as pbg
        from google.protobuf import timestamp_pb2
        self.pb = pb
        self.pbg = pbg
        self.ts = timestamp_pb2
        self.addr = addr
        self.elog = elog_bin
        self.ca = ca
        self.token = token
        if ca:
            with open(ca, "rb") as f:
                creds = grpc.ssl_channel_credentials(root_certificates=f.read())
            self.ch = grpc.secure_channel(addr, creds)
        else:
            self.ch = grpc.insecure_channel(addr)
        grpc.channel_ready_future(self.ch).result(timeout=15)
        self.stub = pbg.RelayServiceStub(self.ch)

    # ---- what the Go sink sends ------------------------------------------------------------
    def open_env(self, stream_id, mode, every_n=0, **kw):
        pb = self.pb
        defaults = pb.MessageMetadata(headers={"source": "go"},
                                      content_type="application/octet-stream",
                                      version=pb.VersionInfo(major=1, minor=0))
        return pb.RelayEnvelope(open=pb.StreamOpen(stream_id=stream_id, defaults=defaults,
                                                   ack_mode=mode, ack_every_n=every_n,
                                                   max_in_flight=8192,
                                                   omit_payload_metadata=True, **kw))

    def payload(self, obj=None, raw=None, seq=0, content_type="application/json", nl=True,
                metadata=True, **kw):
        pb = self.pb
        now = time.time_ns()
        if raw is None:
            raw = json.dumps(obj, separators=(",", ":")).encode() + (b"\n" if nl else b"")
        ts = self.ts.Timestamp(seconds=now // 10**9, nanos=now % 10**9)
        md = None
        if metadata:
            md = pb.MessageMetadata(headers={"source": "electrician-logger",
                                             "log_schema": "electrician.log.v1"},
                                    content_type=content_type,
                                    version=pb.VersionInfo(major=1, minor=0))
        idv = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now // 10**9)) + \
            ".%09dZ" % (now % 10**9)
        p = pb.WrappedPayload(id=kw.pop("id", idv), timestamp=ts, payload=raw, seq=seq,
                              payload_type="electrician.log.v1", **kw)
        if md is not None:
            p.metadata.CopyFrom(md)
        return p

    def penv(self, p):
        return self.pb.RelayEnvelope(payload=p)

    def close_env(self, reason="relay stop"):
        return self.pb.RelayEnvelope(close=self.pb.StreamClose(reason=reason))

    def stream(self, envs, trace="0123abcd", token=None, stub=None):
        """Sends envs then half-closes; returns (acks, status code)."""
        md = [("trace-id", trace)]
        if token:
            md.append(("authorization", "Bearer " + token))
        call = (stub or self.stub).StreamReceive(iter(envs), metadata=md, timeout=T)
        try:
            acks = list(call)
        except grpc.RpcError:
            acks = []
        return acks, call.code()

    # ---- the history ---------------------------------------------------------------------
    def export(self, *args):
        cmd = [self.elog, "export", "--json", "--server", self.addr]
        env = dict(os.environ)
        if self.ca:
            cmd += ["--tls-ca", self.ca]
        if self.token:
            env["ELOG_API_KEY"] = self.token
        r = subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=60, env=env)
        check(r.returncode == 0, "elog export failed (%d): %s" % (r.returncode, r.stderr))
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def check_ack(a, what, **want):
    """Every field of the ack: the ones named in want, all the others at their zero value."""
    zero = dict(success=False, message="", stream_id="", id="", seq=0, code=0, retryable=False,
                last_seq=0, ok_count=0, err_count=0)
    zero.update(want)
    for k, v in zero.items():
        got = getattr(a, k)
        if k == "message" and callable(v):
            check(v(got), "%s: message %r" % (what, got))
            continue
        check(got == v, "%s: %s is %r, want %r (ack %s)" % (what, k, got, v,
                                                          str(a).replace("\n", " ")))
    check(len(a.metadata) == 0, "%s: unexpected metadata %r" % (what, dict(a.metadata)))


def rfc3339_ns(s):
    """ns since the epoch of an RFC3339 UTC time with an optional fraction."""
    import calendar
    base, _, frac = s.rstrip("Z").partition(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int((frac + "000000000")[:9])


def unwrap_failed(m):
    return m.startswith("unwrap failed: ")


# ---- scenarios ------------------------------------------------------------------------------

def go_sink(p):
    """The Go sink: ACK_BATCH/1024, 2500 payloads, close, half-close."""
    pb = p.pb
    sid = os.urandom(32).hex()
    levels = ["debug", "info", "warn", "error"]
    objs = []
    for i in range(2500):
        o = {"log_schema": "electrician.log.v1",
             "ts": "2025-01-27T04:15:%02d.%06dZ" % (i % 60, i),
             "level": levels[i % 4], "msg": "go sink %d" % i, "event": "log_emit", "seq": i,
             "logger": "relay", "caller": "main.go:%d" % i}
        k = i % 4
        if k == 0:
            o["component"] = {"type": "WIRE", "id": "w-%d" % (i % 3), "name": "wire-main"}
            comp = "wire-main"
        elif k == 1:
            o["component"] = {"type": "WIRE", "id": "abc123"}
            comp = "abc123"
        elif k == 2:
            o["component"] = "conduit"
            comp = "conduit"
        else:
            comp = "electrician-logger"  # headers["source"]
        objs.append((o, comp))
    envs = [p.open_env(sid, pb.ACK_BATCH, 1024)]
    envs += [p.penv(p.payload(o)) for o, _ in objs]
    envs += [p.close_env()]
    acks, code = p.stream(envs, trace="feedface01")
    check(code == grpc.StatusCode.OK, "go sink: status %s" % code)
    check(len(acks) == 4, "go sink: %d acks, want 4: %r" % (len(acks), acks))
    check_ack(acks[0], "go sink open ack", success=True, message="Stream open accepted",
              stream_id=sid)
    check_ack(acks[1], "go sink batch ack 1", success=True, message="Batch ack", stream_id=sid,
              ok_count=1024)
    check_ack(acks[2], "go sink batch ack 2", success=True, message="Batch ack", stream_id=sid,
              ok_count=1024)
    check_ack(acks[3], "go sink close ack", success=True, message="Stream closed",
              stream_id=sid, ok_count=452)

    recs = [r for r in p.export() if r["fields"].get("relay", {}).get("stream_id") == sid]
    check(len(recs) == 2500, "go sink: %d records in history, want 2500" % len(recs))
    bymsg = {r["msg"]: r for r in recs}
    for i, (o, comp) in enumerate(objs):
        r = bymsg.get(o["msg"])
        check(r is not None, "go sink: record %r missing" % o["msg"])
        check(r["component"] == comp, "go sink %d: component %r want %r" % (i, r["component"], comp))
        check(r["level"] == o["level"], "go sink %d: level %r" % (i, r["level"]))
        check(rfc3339_ns(r["ts"]) == rfc3339_ns(o["ts"]), "go sink %d: ts %r want %r" % (i, r["ts"], o["ts"]))
        check(r["source"] == "electrician", "go sink %d: source %r" % (i, r["source"]))
        f = r["fields"]
        for k in ("log_schema", "event", "seq", "logger", "caller"):
            check(f.get(k) == o[k], "go sink %d: field %s %r" % (i, k, f.get(k)))
        if isinstance(o.get("component"), dict):
            check(f.get("component") == o["component"],
                  "go sink %d: component object %r" % (i, f.get("component")))
        rl = f["relay"]
        check(rl.get("payload_type") == "electrician.log.v1", "go sink %d: relay %r" % (i, rl))
        check(rl.get("headers") == {"source": "electrician-logger",
                                    "log_schema": "electrician.log.v1"},
              "go sink %d: headers %r" % (i, rl.get("headers")))
        check(rl.get("trace_id") == "feedface01", "go sink %d: trace_id %r" % (i, rl.get("trace_id")))
        check(rl.get("content_type") == "application/json", "go sink %d: ct %r" % (i, rl))
        check(rl.get("id", "").endswith("Z") and "undecodable" not in rl,
              "go sink %d: relay %r" % (i, rl))
    print("go sink: 2500 payloads, 4 acks, records checked")


def sink_tls(p):
    """The Go sink with a token: TLS and a bearer token; refused without either."""
    pb = p.pb
    sid = os.urandom(32).hex()
    objs = [{"log_schema": "electrician.log.v1", "ts": "2025-01-27T04:15:00.%06dZ" % i,
             "level": "info", "msg": "tls sink %d" % i, "component": "tls-sink"}
            for i in range(300)]
    envs = [p.open_env(sid, pb.ACK_BATCH, 100)]
    envs += [p.penv(p.payload(o)) for o in objs]
    envs += [p.close_env()]
    acks, code = p.stream(envs, trace="7157", token=p.token)
    check(code == grpc.StatusCode.OK, "tls sink: status %s" % code)
    check(len(acks) == 4, "tls sink: %d acks, want 4: %r" % (len(acks), acks))
    check_ack(acks[0], "tls sink open ack", success=True, message="Stream open accepted",
              stream_id=sid)
    for k in (1, 2, 3):
        check_ack(acks[k], "tls sink batch ack %d" % k, success=True, message="Batch ack",
                  stream_id=sid, ok_count=100)
    recs = [r for r in p.export("-c", "tls-sink")
            if r["fields"].get("relay", {}).get("stream_id") == sid]
    check(len(recs) == 300, "tls sink: %d records in history, want 300" % len(recs))
    check(all(r["fields"]["relay"].get("trace_id") == "7157" for r in recs),
          "tls sink: trace ids %r" % recs[0]["fields"]["relay"])

    # the same stream without the token: refused, nothing stored
    sid2 = os.urandom(32).hex()
    envs = [p.open_env(sid2, pb.ACK_BATCH, 100), p.penv(p.payload(objs[0])), p.close_env()]
    acks, code = p.stream(envs)
    check(code == grpc.StatusCode.UNAUTHENTICATED, "tls sink, no token: status %s" % code)
    check(acks == [], "tls sink, no token: acks %r" % acks)
    # a plaintext dial to the TLS port (what the Go sink refuses to do with a token)
    ch = grpc.insecure_channel(p.addr)
    acks, code = p.stream(envs, token=p.token, stub=p.pbg.RelayServiceStub(ch))
    ch.close()
    check(code == grpc.StatusCode.UNAVAILABLE, "tls sink, plaintext dial: status %s" % code)
    recs = [r for r in p.export("-c", "tls-sink")
            if r["fields"].get("relay", {}).get("stream_id") == sid2]
    check(recs == [], "tls sink: %d records stored from refused streams" % len(recs))
    print("tls sink: 300 payloads with a token over TLS, 4 acks; refused without the token "
          "and over plaintext")


def per_message(p):
    """No open: ACK_PER_MESSAGE; good and undecodable payloads; each ack after its commit."""
    pb = p.pb
    q = queue.Queue()

    def gen():
        while True:
            e = q.get()
            if e is None:
                return
            yield e

    call = p.stub.StreamReceive(gen(), metadata=[("trace-id", "pm-trace")], timeout=T)
    acks = iter(call)
    cases = [
        ("good", p.payload({"level": "warn", "msg": "pm good 1", "component": "pm"}, seq=1,
                           id="pm-1")),
        ("broken json", p.payload(raw=b'{"level":"info","msg":"pm broken', seq=2, id="pm-2")),
        ("gob", p.payload(raw=b"\x0d\xff\x81\x03\x01pm gob", seq=3, id="pm-3",
                          content_type="application/octet-stream",
                          payload_encoding=pb.PAYLOAD_ENCODING_GOB)),
        ("proto", p.payload(raw=b"\x0a\x03pm proto", seq=4, id="pm-4",
                            content_type="application/x-protobuf",
                            payload_encoding=pb.PAYLOAD_ENCODING_PROTO)),
        ("text", p.payload(raw=b"pm plain text \xff\n", seq=5, id="pm-5",
                           content_type="text/plain")),
        ("good +json", p.payload({"level": "error", "msg": "pm good 6"}, seq=6, id="pm-6",
                                 content_type="application/vnd.electrician+json; charset=utf-8")),
        ("no metadata, json-looking", p.payload({"msg": "pm good 7"}, seq=7, id="pm-7",
                                                metadata=False)),
    ]
    for what, pl in cases:
        q.put(p.penv(pl))
        a = next(acks)
        bad = what in ("broken json", "gob", "proto", "text")
        if bad:
            check_ack(a, "per-message %s" % what, success=False, message=unwrap_failed,
                      id=pl.id, seq=pl.seq, code=1, retryable=False)
        else:
            check_ack(a, "per-message %s" % what, success=True, message="OK", id=pl.id,
                      seq=pl.seq, code=0)
        # acknowledged means committed: the record is in history now
        recs = [r for r in p.export() if r["fields"].get("relay", {}).get("id") == pl.id]
        check(len(recs) == 1, "per-message %s: acked but %d records" % (what, len(recs)))
        r = recs[0]
        rl = r["fields"]["relay"]
        check(rl.get("seq") == pl.seq, "per-message %s: relay.seq %r" % (what, rl.get("seq")))
        check(rl.get("trace_id") == "pm-trace", "per-message %s: trace %r" % (what, rl))
        if bad:
            check(rl.get("undecodable") == a.message,
                  "per-message %s: flag %r vs ack %r" % (what, rl.get("undecodable"), a.message))
            want = pl.payload.decode("utf-8", "replace").rstrip("\n")
            check(r["msg"] == want, "per-message %s: msg %r want %r" % (what, r["msg"], want))
            check(r["level"] == "info", "per-message %s: level %r" % (what, r["level"]))
            check(r["component"] == "electrician-logger",
                  "per-message %s: component %r" % (what, r["component"]))
        else:
            check("undecodable" not in rl, "per-message %s: flagged %r" % (what, rl))
    q.put(None)
    rest = list(acks)
    check(rest == [], "per-message: unexpected acks %r" % rest)
    check(call.code() == grpc.StatusCode.OK, "per-message: status %s" % call.code())

    # an explicit ACK_PER_MESSAGE open
    sid = "pm-open-" + os.urandom(4).hex()
    pls = [p.payload({"msg": "pmo %d" % i}, seq=10 + i, id="pmo-%d" % i) for i in range(3)]
    acks2, code = p.stream([p.open_env(sid, pb.ACK_PER_MESSAGE)] + [p.penv(x) for x in pls] +
                           [p.close_env()])
    check(code == grpc.StatusCode.OK, "per-message open: status %s" % code)
    check(len(acks2) == 4, "per-message open: %d acks" % len(acks2))
    check_ack(acks2[0], "per-message open ack", success=True, message="Stream open accepted",
              stream_id=sid)
    for a, x in zip(acks2[1:], pls):
        check_ack(a, "per-message open payload", success=True, message="OK", stream_id=sid,
                  id=x.id, seq=x.seq)
    print("per-message: acks, undecodable payloads, ack-after-commit checked")


def ack_none(p):
    pb = p.pb
    sid = "none-" + os.urandom(4).hex()
    pls = [p.payload({"msg": "none %d" % i, "level": "debug"}, seq=i + 1) for i in range(20)]
    pls.append(p.payload(raw=b"{broken", seq=21))
    acks, code = p.stream([p.open_env(sid, pb.ACK_NONE)] + [p.penv(x) for x in pls] +
                          [p.close_env()])
    check(code == grpc.StatusCode.OK, "ACK_NONE: status %s" % code)
    check(acks == [], "ACK_NONE: got acks %r" % acks)
    recs = [r for r in p.export() if r["fields"].get("relay", {}).get("stream_id") == sid]
    check(len(recs) == 21, "ACK_NONE: %d records" % len(recs))
    check(sum(1 for r in recs if "undecodable" in r["fields"]["relay"]) == 1,
          "ACK_NONE: flagged records")
    print("ACK_NONE: no acks, 21 records")


def batch_small(p):
    """ack_every_n=3: counters reset after each batch ack; EOF flush at half-close."""
    pb = p.pb
    sid = "b3-" + os.urandom(4).hex()
    pls = []
    for i in range(1, 9):
        if i == 2:
            pls.append(p.payload(raw=b"not json", seq=i, content_type="text/plain"))
        else:
            pls.append(p.payload({"msg": "b3 %d" % i}, seq=i))
    acks, code = p.stream([p.open_env(sid, pb.ACK_BATCH, 3)] + [p.penv(x) for x in pls])
    check(code == grpc.StatusCode.OK, "batch 3: status %s" % code)
    check(len(acks) == 4, "batch 3: %d acks: %r" % (len(acks), acks))
    check_ack(acks[0], "batch 3 open", success=True, message="Stream open accepted",
              stream_id=sid)
    check_ack(acks[1], "batch 3 #1", success=False, message="Batch ack", stream_id=sid,
              last_seq=3, ok_count=2, err_count=1)
    check_ack(acks[2], "batch 3 #2", success=True, message="Batch ack", stream_id=sid,
              last_seq=6, ok_count=3)
    check_ack(acks[3], "batch 3 EOF", success=True, message="EOF", stream_id=sid, last_seq=8,
              ok_count=2)

    # close mid-batch: the pending batch ack is flushed, then OK; ack_every_n 0 means 1024
    sid = "b0-" + os.urandom(4).hex()
    pls = [p.payload({"msg": "b0 %d" % i}, seq=100 + i) for i in range(5)]
    acks, code = p.stream([p.open_env(sid, pb.ACK_BATCH, 0)] + [p.penv(x) for x in pls] +
                          [p.close_env("done"), p.penv(p.payload({"msg": "after close"}))])
    check(code == grpc.StatusCode.OK, "batch close: status %s" % code)
    check(len(acks) == 2, "batch close: %d acks: %r" % (len(acks), acks))
    check_ack(acks[1], "batch close", success=True, message="Stream closed", stream_id=sid,
              last_seq=104, ok_count=5)
    recs = [r for r in p.export() if r["fields"].get("relay", {}).get("stream_id") == sid]
    check(len(recs) == 5, "batch close: %d records (nothing after close)" % len(recs))
    print("batch: every 3 with reset, EOF flush, close mid-batch checked")


def dedupe(p):
    pb = p.pb
    sid = "dd-" + os.urandom(4).hex()
    key = "dk-" + os.urandom(4).hex()
    pls = [p.payload({"msg": "dedupe %d" % i}, seq=i + 1, dedupe_key="%s-%d" % (key, i))
           for i in range(3)]
    acks, code = p.stream([p.open_env(sid, pb.ACK_PER_MESSAGE)] + [p.penv(x) for x in pls] +
                          [p.penv(pls[1])])   # resent on the same stream
    check(code == grpc.StatusCode.OK and len(acks) == 5, "dedupe: %s %r" % (code, acks))
    for a in acks[1:]:
        check(a.success and a.code == 0 and a.message == "OK", "dedupe: ack %r" % a)
    a = p.stub.Receive(pls[0], timeout=T)           # resent on unary
    check_ack(a, "dedupe unary", success=True, message="Received", id=pls[0].id, seq=1)
    acks, code = p.stream([p.penv(pls[2])])         # resent on another stream
    check(code == grpc.StatusCode.OK and len(acks) == 1 and acks[0].success,
          "dedupe resend: %s %r" % (code, acks))
    recs = [r for r in p.export() if r["msg"].startswith("dedupe ")]
    got = sorted(r["msg"] for r in recs)
    check(got == ["dedupe 0", "dedupe 1", "dedupe 2"], "dedupe: records %r" % got)
    print("dedupe: resent payloads stored once")


def cancel(p):
    pb = p.pb
    sid = "cx-" + os.urandom(4).hex()
    q = queue.Queue()

    def gen():
        while True:
            e = q.get()
            if e is None:
                return
            yield e

    call = p.stub.StreamReceive(gen(), timeout=T)
    acks = iter(call)
    q.put(p.open_env(sid, pb.ACK_BATCH, 100))
    check(next(acks).message == "Stream open accepted", "cancel: open ack")
    for i in range(250):
        q.put(p.penv(p.payload({"msg": "cancel %d" % i}, seq=i + 1)))
    a1, a2 = next(acks), next(acks)
    check(a1.ok_count == 100 and a1.last_seq == 100 and a2.last_seq == 200,
          "cancel: batch acks %r %r" % (a1, a2))
    time.sleep(0.5)   # the last 50 reach the server
    call.cancel()
    check(call.code() == grpc.StatusCode.CANCELLED, "cancel: status %s" % call.code())
    deadline = time.time() + 10
    while True:
        recs = [r for r in p.export() if r["fields"].get("relay", {}).get("stream_id") == sid]
        if len(recs) == 250 or time.time() > deadline:
            break
        time.sleep(0.1)
    check(len(recs) == 250, "cancel: %d records kept, want 250" % len(recs))
    q.put(None)
    print("cancel: every record received before the cancel kept")


def unary(p):
    pl = p.payload({"msg": "unary one", "level": "error", "component": {"type": "T", "id": "u1"}},
                   seq=77, id="unary-1", channel="ch-1",
                   error_info=p.pb.ErrorInfo(code=5, message="boom", details=["d1", "d2"]))
    a = p.stub.Receive(pl, metadata=[("trace-id", "un-trace")], timeout=T)
    check_ack(a, "unary", success=True, message="Received", id="unary-1", seq=77)
    recs = [r for r in p.export() if r["fields"].get("relay", {}).get("id") == "unary-1"]
    check(len(recs) == 1, "unary: %d records" % len(recs))
    r = recs[0]
    check(r["component"] == "u1" and r["level"] == "error" and r["msg"] == "unary one",
          "unary: record %r" % r)
    rl = r["fields"]["relay"]
    check(rl.get("channel") == "ch-1" and rl.get("seq") == 77 and rl.get("trace_id") == "un-trace",
          "unary: relay %r" % rl)
    check(rl.get("error_info") == {"code": 5, "message": "boom", "details": ["d1", "d2"]},
          "unary: error_info %r" % rl.get("error_info"))
    bad = p.payload(raw=b"\x00\x01binary", seq=78, id="unary-2",
                    content_type="application/octet-stream")
    a = p.stub.Receive(bad, timeout=T)
    check_ack(a, "unary undecodable", success=False, message=unwrap_failed, id="unary-2", seq=78,
              code=1)
    recs = [r for r in p.export() if r["fields"].get("relay", {}).get("id") == "unary-2"]
    check(len(recs) == 1 and "undecodable" in recs[0]["fields"]["relay"],
          "unary undecodable: %r" % recs)
    print("unary Receive checked")


def garbage(p):
    junk = b"\x0a\x05ab"   # field 1, length 5, 2 bytes: truncated
    u = p.ch.unary_unary("/electrician.RelayService/Receive")
    try:
        u(junk, timeout=T)
        raise Failure("garbage Receive succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "garbage Receive: %s" % e.code())
    s = p.ch.stream_stream("/electrician.RelayService/StreamReceive")
    call = s(iter([junk]), timeout=T)
    try:
        list(call)
        raise Failure("garbage StreamReceive succeeded")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "garbage StreamReceive: %s" % e.code())
    a = p.stub.Receive(p.payload({"msg": "still up"}), timeout=T)
    check(a.success, "serve not up after garbage")
    print("garbage: INVALID_ARGUMENT on both methods, serve still up")


def bench(p, n):
    pb = p.pb
    sid = os.urandom(32).hex()
    envs = [p.open_env(sid, pb.ACK_BATCH, 1024).SerializeToString()]
    for i in range(n):
        envs.append(p.penv(p.payload({"log_schema": "electrician.log.v1",
                                      "ts": "2025-01-27T04:15:22.531Z", "level": "info",
                                      "msg": "bench %d" % i, "event": "log_emit", "seq": i,
                                      "component": {"type": "WIRE", "id": "bench"}})
                           ).SerializeToString())
    envs.append(p.close_env().SerializeToString())
    s = p.ch.stream_stream("/electrician.RelayService/StreamReceive",
                           response_deserializer=pb.StreamAcknowledgment.FromString)
    t0 = time.time()
    call = s(iter(envs), timeout=300)
    acks = list(call)
    dt = time.time() - t0
    check(call.code() == grpc.StatusCode.OK, "bench: status %s" % call.code())
    ok = sum(a.ok_count for a in acks)
    check(ok == n and acks[-1].message == "Stream closed", "bench: acked %d of %d" % (ok, n))
    print("bench: %d payloads on one StreamReceive stream in %.2fs: %.0f payloads/s "
          "(committed and acknowledged)" % (n, dt, n / dt))
    recs = p.export("-c", "bench")
    check(len(recs) == n, "bench: %d records in history, want %d" % (len(recs), n))


def main():
    args = [a for a in sys.argv[1:]]
    nbench = 0
    if "--bench" in args:
        i = args.index("--bench")
        nbench = int(args[i + 1])
        del args[i:i + 2]
    ca = token = None
    if "--tls" in args:
        i = args.index("--tls")
        ca = args[i + 1]
        del args[i:i + 2]
    if "--token" in args:
        i = args.index("--token")
        token = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2 or (ca is None) != (token is None):
        print(__doc__, file=sys.stderr)
        return 2
    addr, elog_bin = args[0], args[1]
    proto_dir = args[2] if len(args) > 2 else os.path.join(TOP, "proto")
    tmp = tempfile.mkdtemp(prefix="relay-peer.")
    try:
        gen_stubs(proto_dir, tmp, "electrician.proto")
        p = Peer(addr, elog_bin, ca, token)
        if ca:
            sink_tls(p)
        elif nbench:
            bench(p, nbench)
        else:
            for f in (go_sink, per_message, ack_none, batch_small, dedupe, cancel, unary, garbage):
                f(p)
            print("relay peer: all checks passed")
    except Failure as e:
        print("relay peer: FAIL: %s" % e, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
