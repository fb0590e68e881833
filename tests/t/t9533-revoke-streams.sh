#!/bin/sh
# Revoking an API key ends the calls still open with it: an `elog logs -f` and a streaming
# ingest (a python3-grpcio Ingest stream, acknowledged once, then idle) using the key both end
# within a few seconds of `elog keys revoke` (serve re-checks each admitted call's key every
# 250 ms; its key cache keeps a key at most 500 ms), told UNAUTHENTICATED with the key's name;
# an `elog send` stream with the key fails at its next line; calls with another key go on.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9533: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
trap '' PIPE        # a reader that died makes a write fail, not the script
# reap PID: its exit status, once it has ended (killed first when the case failed)
reap() { kill -0 "$1" 2>/dev/null && kill -9 "$1"; wait "$1"; }
DB="$T/h.db"
elog keys create doomed --db "$DB" >"$T/doomed.key" 2>/dev/null || fail "create doomed"
elog keys create other --db "$DB" >"$T/other.key" 2>/dev/null || fail "create other"
DOOMED=$(cat "$T/doomed.key")
OTHER=$(cat "$T/other.key")
start_serve h --auth

say "with the key: a follow, an acknowledged ingest stream and a send stream; a follow with another"
ELOG_API_KEY=$DOOMED "$ELOG_BIN" logs -f -c t >"$T/f1.out" 2>"$T/f1.err" &
F1=$!
ELOG_API_KEY=$OTHER "$ELOG_BIN" logs -f -c t >"$T/f2.out" 2>"$T/f2.err" &
F2=$!
mkfifo "$T/in"
ELOG_API_KEY=$DOOMED "$ELOG_BIN" send -c t <"$T/in" 2>"$T/s1.err" &
S1=$!
$PY - "$SERVER" "$DOOMED" >"$T/ingest.out" 2>&1 <<'PYEOF' &
import queue, sys, time
import grpc
ch = grpc.insecure_channel(sys.argv[1])
q = queue.Queue()
def requests():
    while True:
        m = q.get()
        if m is None:
            return
        yield m
# RecordBatch{seq: 1, records: [{component: "t", msg: "from python"}]}
rec = b"\x22\x01t" + b"\x32\x0bfrom python"
q.put(b"\x08\x01" + b"\x12" + bytes([len(rec)]) + rec)
call = ch.stream_stream("/elog.v1.Hub/Ingest")(requests(),
                                               metadata=[("authorization", "Bearer " + sys.argv[2])])
next(call)
print("acked", flush=True)
try:
    for _ in call:
        pass
    print("ended OK", flush=True)
except grpc.RpcError as e:
    print("ended %s %s" % (e.code().name, e.details()), flush=True)
q.put(None)
PYEOF
P1=$!
BG_PIDS="$BG_PIDS $F1 $F2 $S1 $P1"
exec 4>"$T/in"
echo "first line" >&4
wait_for "the ingest stream's ack" 30 grep -q acked "$T/ingest.out"
wait_for "the follow with the key to show the send's line" 30 grep -q "first line" "$T/f1.out"
wait_for "the other follow to show it" 30 grep -q "first line" "$T/f2.out"

say "revoking the key ends its follow and its ingest stream within 5 s"
elog keys revoke doomed --db "$DB" 2>/dev/null || fail "revoke"
start=$(date +%s%N)
gone() { ! kill -0 "$F1" 2>/dev/null && grep -q ended "$T/ingest.out"; }
wait_for "the key's calls to end" 20 gone
took=$(( ($(date +%s%N) - start) / 1000000 ))
say "both ended $took ms after the revocation"
[ "$took" -lt 5000 ] || fail "the key's calls ended $took ms after the revocation"
grep -q "ended UNAUTHENTICATED api key 'doomed' was revoked" "$T/ingest.out" ||
	fail "ingest stream: $(cat "$T/ingest.out")"
reap "$F1"; st=$?
[ "$st" != 0 ] || fail "logs -f exited 0 after its key was revoked"
grep -q "unauthenticated: api key 'doomed' was revoked" "$T/f1.err" ||
	fail "logs -f message: $(cat "$T/f1.err")"

say "the send stream with the key fails at its next line"
echo "after revoke" >&4
exec 4>&-
wait_for "send to end" 20 sh -c "! kill -0 $S1 2>/dev/null"
reap "$S1"; st=$?
[ "$st" != 0 ] || fail "send exited 0 after its key was revoked"
grep -q "api key 'doomed' was revoked" "$T/s1.err" || fail "send message: $(cat "$T/s1.err")"

say "the follow with another key goes on"
kill -0 "$F2" 2>/dev/null || fail "the other follow ended: $(cat "$T/f2.err")"
ELOG_API_KEY=$OTHER elog send -c t "with the other key" || fail "send with the other key"
wait_for "the other follow to show a new line" 30 grep -q "with the other key" "$T/f2.out"
grep -q "after revoke" "$T/f2.out" && fail "a line sent with the revoked key was stored"
ELOG_API_KEY=$DOOMED elog send -c t "revoked" 2>/dev/null && fail "a send with the revoked key was served"
kill "$F2"
stop_serve
