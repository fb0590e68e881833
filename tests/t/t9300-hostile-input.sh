#!/bin/sh
# Hostile input on the port: random bytes, an HTTP/1.1 request, broken HTTP/2 (bad preface,
# oversized and malformed frames, broken HPACK, gRPC messages with impossible lengths or an
# unannounced compression flag), and undecodable protobuf on every method of every service
# (INVALID_ARGUMENT each time). serve must stay up, answer afterwards, keep what it had, and
# hold no more file descriptors than before. (A corrupt or foreign --db is t1000's.)
. "$(dirname "$0")/lib.sh"
$PY -c 'import grpc' 2>/dev/null || { say "skipped: /usr/bin/python3 has no grpc module"; exit 0; }
start_serve h
fds() { ls "/proc/$SERVE_PID/fd" | wc -l; }
seq 1 100 | elog send -c before || fail "send before"
# one call of each kind first, so that lazily created threads and files exist in the baseline
elog logs -c before >/dev/null || fail "logs before"
fd0=$(fds)

cat >"$T/hostile.py" <<'PY'
import os, random, socket, struct, sys, time
import grpc

host, port = sys.argv[1].rsplit(":", 1)
port = int(port)
random.seed(9300)

def conn():
    s = socket.create_connection((host, port), timeout=3)
    return s

def drain(s, secs=1.0):
    """Reads what the server says until it closes or goes quiet; returns the bytes."""
    out = b""
    s.settimeout(secs)
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    return out

def raw(data, secs=0.5):
    s = conn()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return drain(s, secs)

# ---- garbage on the port ----
for i in range(20):
    raw(os.urandom(random.randint(1, 4096)), 0.2)
print("random bytes: 20 connections")
r = raw(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print("HTTP/1.1 request: %d bytes back" % len(r))
raw(b"POST /elog.v1.Hub/Ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
raw(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n")                       # a preface that is wrong
raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")                       # preface, then nothing
s = conn(); s.sendall(b"PRI * HTT"); s.close()                  # preface cut off
print("broken prefaces: 3")

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
def frame(typ, flags, sid, payload, length=None):
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([typ, flags]) + struct.pack(">I", sid) + payload
SETTINGS = frame(4, 0, 0, b"")

def hpack_lit(name, value):
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value

def headers(path):
    h = b"".join(hpack_lit(k, v) for k, v in [
        (b":method", b"POST"), (b":scheme", b"http"), (b":path", path),
        (b":authority", b"x"), (b"content-type", b"application/grpc"), (b"te", b"trailers")])
    return frame(1, 4, 1, h)   # END_HEADERS, stream 1

cases = [
    ("oversized frame length", frame(0, 0, 1, b"", length=0xFFFFFF)),
    ("DATA on stream 0", frame(0, 0, 0, b"abc")),
    ("SETTINGS of bad length", frame(4, 0, 0, b"\x00\x01\x00")),
    ("WINDOW_UPDATE of 0", frame(8, 0, 0, b"\x00\x00\x00\x00")),
    ("broken HPACK", frame(1, 5, 1, os.urandom(64))),
    ("HEADERS on an even stream", frame(1, 5, 2, hpack_lit(b":method", b"POST"))),
    ("random frames", os.urandom(2048)),
    ("gRPC length beyond the data", headers(b"/elog.v1.Hub/Components")
        + frame(0, 1, 1, b"\x00\xff\xff\xff\xff" + b"x" * 10)),
    ("gRPC 4 GiB message announced, connection dropped", headers(b"/elog.v1.Hub/Ingest")
        + frame(0, 0, 1, b"\x00\xff\xff\xff\xf0" + os.urandom(1000))),
    ("gRPC compressed flag without an encoding", headers(b"/elog.v1.Hub/Components")
        + frame(0, 1, 1, b"\x01\x00\x00\x00\x03abc")),
    ("gRPC message prefix cut off", headers(b"/flowctl.ControlPlane/Register")
        + frame(0, 1, 1, b"\x00\x00")),
    ("unknown method", headers(b"/no.Such/Method") + frame(0, 1, 1, b"\x00\x00\x00\x00\x00")),
]
for name, data in cases:
    raw(PREFACE + SETTINGS + data, 0.5)
    print("HTTP/2: " + name)

# ---- undecodable protobuf on every method ----
ch = grpc.insecure_channel("%s:%d" % (host, port))
grpc.channel_ready_future(ch).result(timeout=10)
BAD = [b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",   # a tag varint that never ends
       b"\x0a\x05ab",                                      # a length beyond the message
       b"\x0b\x0c"]                                        # groups (start/end of another field)
methods = {
    "/elog.v1.Hub/Ingest": "ss", "/elog.v1.Hub/Read": "us", "/elog.v1.Hub/Components": "uu",
    "/electrician.RelayService/Receive": "uu", "/electrician.RelayService/StreamReceive": "ss",
    "/logging.v1.LogService/WriteLogStream": "su",
    "/flowctl.ControlPlane/Register": "uu", "/flowctl.ControlPlane/Heartbeat": "uu",
    "/flowctl.ControlPlane/GetServiceStatus": "uu", "/flowctl.ControlPlane/ListServices": "uu",
    "/flowctl.ControlPlane/StreamLogs": "ss", "/flowctl.ControlPlane/GetLogs": "us",
    "/ingestion.InternalAuthService/ValidateApiKey": "uu",
}
bad = 0
calls = 0
for path, kind in methods.items():
    for body in BAD:
        calls += 1
        try:
            if kind == "uu":
                ch.unary_unary(path)(body, timeout=10)
            elif kind == "us":
                list(ch.unary_stream(path)(body, timeout=10))
            elif kind == "su":
                ch.stream_unary(path)(iter([body]), timeout=10)
            else:
                list(ch.stream_stream(path)(iter([body]), timeout=10))
            print("%s %r: no error" % (path, body)); bad += 1
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                print("%s %r: %s %s" % (path, body, e.code(), e.details())); bad += 1
# a good message, then an undecodable one, on the streaming methods that store
import importlib
for path, good in [("/elog.v1.Hub/Ingest", b"\x08\x01\x12\x05\x32\x03abc"),   # seq 1, records [{msg:"abc"}]
                   ("/flowctl.ControlPlane/StreamLogs", b"\x2a\x03abc")]:        # LogEntry{message:"abc"}
    calls += 1
    try:
        list(ch.stream_stream(path)(iter([good, BAD[0]]), timeout=10))
        print("%s good+bad: no error" % path); bad += 1
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
            print("%s good+bad: %s %s" % (path, e.code(), e.details())); bad += 1
ch.close()
print("undecodable protobuf: %d calls, %d without INVALID_ARGUMENT" % (calls, bad))
sys.exit(1 if bad else 0)
PY
timeout 120 $PY "$T/hostile.py" "$SERVER" >"$T/py.out" 2>&1; rc=$?
sed 's/^/# /' "$T/py.out"
[ $rc = 0 ] || fail "hostile peer: exit $rc"
kill -0 "$SERVE_PID" 2>/dev/null || { cat "$T/h.err"; fail "serve died"; }

say "serve still answers"
seq 101 200 | elog send -c after || fail "send after"
elog logs --json -c before,after >"$T/all.json" || fail "logs after"
[ "$(wc -l <"$T/all.json")" = 200 ] || fail "want 200 records, got $(wc -l <"$T/all.json")"

say "no file descriptor leak"
wait_for "connections to close" 10 sh -c "[ \$(ls /proc/$SERVE_PID/fd | wc -l) -le $((fd0 + 2)) ]" ||
	fail "fds $fd0 -> $(fds)"
say "fds: $fd0 before, $(fds) after"
stop_serve
