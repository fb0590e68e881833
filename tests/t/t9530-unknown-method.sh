#!/bin/sh
# A call to a method serve does not serve gets UNIMPLEMENTED at once (as from any gRPC
# server), even from a caller without a deadline: unary and streaming, on an unknown service
# and on a known one, with and without --auth; such calls do not pile up in serve.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9530: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi

# unknown_calls ADDR: calls unknown methods without a deadline (the test's own timeout bounds
# them); each must end with UNIMPLEMENTED within 10 s, its message naming the method.
cat >"$T/unknown.py" <<'PYEOF'
import sys, threading, time
import grpc

ch = grpc.insecure_channel(sys.argv[1])
grpc.channel_ready_future(ch).result(timeout=30)
bad = []

def expect_unimplemented(what, fn, path):
    t0 = time.monotonic()
    try:
        fn()
        bad.append("%s: no error" % what)
        return
    except grpc.RpcError as e:
        took = time.monotonic() - t0
        if e.code() != grpc.StatusCode.UNIMPLEMENTED:
            bad.append("%s: %s %s" % (what, e.code(), e.details()))
        elif path not in (e.details() or ""):
            bad.append("%s: message does not name the method: %s" % (what, e.details()))
        elif took > 10:
            bad.append("%s: took %.1f s" % (what, took))
        else:
            print("%s: %s '%s' in %.3f s" % (what, e.code(), e.details(), took))

for path in ("/nope.Service/Nothing", "/elog.v1.Hub/Nope", "/ingestion.InternalAuthService/Nope"):
    expect_unimplemented("unary " + path, lambda: ch.unary_unary(path)(b"\x0a\x01x"), path)
p = "/nope.Service/Stream"
expect_unimplemented("bidi " + p, lambda: list(ch.stream_stream(p)(iter([b"a", b"b"]))), p)
p = "/nope.Service/Follow"
expect_unimplemented("server stream " + p, lambda: list(ch.unary_stream(p)(b"")), p)
# 50 at once, none left waiting
def one(i):
    path = "/nope.Service/Many%d" % i
    expect_unimplemented("parallel " + path, lambda: ch.unary_unary(path)(b""), path)
ts = [threading.Thread(target=one, args=(i,)) for i in range(50)]
for t in ts: t.start()
for t in ts: t.join()
if bad:
    print("\n".join(bad))
    sys.exit(1)
PYEOF

say "unknown methods get UNIMPLEMENTED at once, callers without a deadline"
start_serve h
timeout 60 $PY "$T/unknown.py" "$SERVER" >"$T/out" 2>&1 ||
	fail "unknown methods (exit $?): $(tail -5 "$T/out")"
grep "Nothing" "$T/out"

say "serve still answers its own methods after them"
elog send -c t after-unknown || fail "send after unknown calls"
[ "$(elog logs -c t)" = "t | INFO  after-unknown" ] || fail "logs after unknown calls"
stop_serve

say "with --auth too, without a key"
start_serve a --auth
timeout 60 $PY "$T/unknown.py" "$SERVER" >"$T/out2" 2>&1 ||
	fail "unknown methods under --auth (exit $?): $(tail -5 "$T/out2")"
stop_serve
