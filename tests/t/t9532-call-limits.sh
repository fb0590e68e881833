#!/bin/sh
# Concurrent calls are bounded: past `serve --max-calls N` a call gets RESOURCE_EXHAUSTED at
# once naming the limit, follows (server-streaming reads) take at most half of N so an
# ordinary send still works while they are at their limit, and serve's thread count stays
# under the bound README's Limits states. With --auth, an unauthenticated call's payload is
# never taken in: 10 x 12 MB Receive calls without a key get UNAUTHENTICATED and serve's peak
# RSS does not grow by their size.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9532: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
MAX=40
trap '' PIPE        # if the holder died, writing it a command fails instead of ending the script
threads() { awk '/^Threads:/ {print $2}' "/proc/$SERVE_PID/status"; }
hwm() { awk '/^VmHWM:/ {print $2}' "/proc/$SERVE_PID/status"; }

# The holder opens idle calls on command and reports how each ended. Commands on its stdin
# (a fifo): "follow N", "ingest N", "close". It prints "ended KIND CODE DETAILS" per call that
# ended and "open KIND N" after each command, once the calls it expects to be refused are.
cat >"$T/holder.py" <<'PYEOF'
import sys, threading, time
import grpc

ch = grpc.insecure_channel(sys.argv[1])
grpc.channel_ready_future(ch).result(timeout=30)
lock = threading.Lock()
calls = []
gates = []

def out(line):
    # one write per line, under the lock: the main thread's "sent" lines and the callbacks'
    # "ended" lines come from different threads, and print()'s text and newline are two
    # writes that another thread's line could land between
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

def report(kind):
    def cb(call):
        out("ended %s %s %s" % (kind, call.code().name, call.details()))
    return cb

def idle_requests(ev):
    ev.wait()
    return
    yield b""

for line in sys.stdin:
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "follow":
        for _ in range(int(cmd[1])):
            c = ch.unary_stream("/elog.v1.Hub/Read")(b"\x40\x01")  # Query{follow: true}
            c.add_done_callback(report("follow"))
            calls.append(c)
    elif cmd[0] == "ingest":
        for _ in range(int(cmd[1])):
            ev = threading.Event()
            gates.append(ev)
            c = ch.stream_stream("/elog.v1.Hub/Ingest")(idle_requests(ev))
            c.add_done_callback(report("ingest"))
            calls.append(c)
    elif cmd[0] == "close":
        for c in calls:
            c.cancel()
        for ev in gates:
            ev.set()
        out("closed")
        break
    out("sent %s" % line.strip())
PYEOF

start_serve h --max-calls $MAX
seq 1 10 | elog send -c warm || fail "warm-up send"
elog logs -c warm >/dev/null || fail "warm-up logs"
t0=$(threads)
say "serve runs $t0 threads idle"
mkfifo "$T/cmd"
$PY "$T/holder.py" "$SERVER" <"$T/cmd" >"$T/holder.out" 2>&1 &
HOLDER=$!
BG_PIDS="$BG_PIDS $HOLDER"
exec 3>"$T/cmd"
count() { grep -c "^ended $1 RESOURCE_EXHAUSTED" "$T/holder.out"; }

say "30 idle follows: $((MAX / 2)) are served, 10 get RESOURCE_EXHAUSTED at once naming the limit"
echo "follow 30" >&3
wait_for "10 follows refused" 30 sh -c "[ \$(grep -c '^ended follow RESOURCE_EXHAUSTED' '$T/holder.out') -ge 10 ]"
grep "^ended follow" "$T/holder.out" | sort | uniq -c
[ "$(count follow)" = 10 ] || fail "$(count follow) follows refused, expected 10"
grep "^ended follow RESOURCE_EXHAUSTED" "$T/holder.out" | grep -q "limit is $((MAX / 2))" ||
	fail "the refusal does not name the limit: $(grep -m1 '^ended' "$T/holder.out")"
[ "$(grep -c '^ended follow' "$T/holder.out")" = 10 ] || fail "a follow within the limit ended"
n=$(threads)
say "serve runs $n threads with $((MAX / 2)) follows open"
[ "$n" -le $((t0 + MAX / 2 + 8)) ] || fail "$n threads with $((MAX / 2)) follows (idle: $t0)"

say "an ordinary send still works while follows are at their limit"
elog send --timeout 20 -c t during-limit 2>"$T/send.err" || fail "send: $(cat "$T/send.err")"

say "idle ingest streams past --max-calls $MAX get RESOURCE_EXHAUSTED naming the limit"
echo "ingest 25" >&3
wait_for "5 ingest streams refused" 30 sh -c "[ \$(grep -c '^ended ingest RESOURCE_EXHAUSTED' '$T/holder.out') -ge 5 ]"
if [ "$(count ingest)" != 5 ]; then
	fail "$(count ingest) ingest streams refused, expected 5"
	sed 's/^/    holder: /' "$T/holder.out" | sort | uniq -c >&2
fi
grep "^ended ingest RESOURCE_EXHAUSTED" "$T/holder.out" | grep -q "limit is $MAX (serve --max-calls)" ||
	fail "the refusal does not name the limit: $(grep -m1 '^ended ingest' "$T/holder.out")"
n=$(threads)
say "serve runs $n threads with $MAX calls open"
[ "$n" -le $((t0 + MAX + 8)) ] || fail "$n threads with $MAX calls (idle: $t0)"
elog send --timeout 20 -c t at-limit 2>"$T/send2.err" && fail "a send past the limit was served"
grep -q "resource exhausted: too many calls at once: the limit is $MAX" "$T/send2.err" ||
	fail "send past the limit: $(cat "$T/send2.err")"

say "once the calls end, sends are served again"
echo close >&3
exec 3>&-
wait_for "the holder to close" 30 grep -q closed "$T/holder.out"
wait_for "a send to be served" 30 elog send --timeout 20 -c t after-limit
elog logs -c t >"$T/logs" || fail "logs"
printf 't | INFO  during-limit\nt | INFO  after-limit\n' >"$T/want"
test_cmp "$T/want" "$T/logs"
stop_serve

say "--auth: 10 x 12 MB Receive calls without a key get UNAUTHENTICATED, payloads not taken in"
start_serve a --auth
elog send -c warm x 2>/dev/null
h0=$(hwm)
timeout 120 $PY - "$SERVER" >"$T/big.out" 2>&1 <<'PYEOF' || fail "big unauthenticated calls: $(tail -3 "$T/big.out")"
import sys, threading
import grpc
ch = grpc.insecure_channel(sys.argv[1], options=[("grpc.max_send_message_length", 64 << 20)])
grpc.channel_ready_future(ch).result(timeout=30)
payload = b"\x0a" + bytes([0x80, 0x80, 0x80, 0x06]) + b"x" * (12 << 20)   # field 1, 12 MiB
codes = []
def one():
    try:
        ch.unary_unary("/electrician.RelayService/Receive")(payload, timeout=60)
        codes.append("OK")
    except grpc.RpcError as e:
        codes.append(e.code().name + " " + (e.details() or ""))
ts = [threading.Thread(target=one) for _ in range(10)]
for t in ts: t.start()
for t in ts: t.join()
print("\n".join(codes))
sys.exit(0 if all(c.startswith("UNAUTHENTICATED") for c in codes) else 1)
PYEOF
h1=$(hwm)
say "serve's peak RSS: $h0 KiB before, $h1 KiB after 120 MiB of refused payloads"
[ $((h1 - h0)) -lt 40960 ] || fail "peak RSS grew by $(((h1 - h0) / 1024)) MiB"
stop_serve
