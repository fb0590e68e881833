#!/bin/sh
# Running out of file descriptors never leaves serve deaf. serve raises its soft limit on
# open files to the hard limit; under a small hard limit (prlimit --nofile=N:N) connections
# that arrive while no descriptor is left are closed at once (gRPC 1.51's listener would stop
# accepting for good after one EMFILE), and once descriptors are free again a new client is
# served.
. "$(dirname "$0")/lib.sh"
command -v prlimit >/dev/null || { echo "t9531: skipped: no prlimit"; exit 0; }
LIMIT=128

# start_limited NAME SOFT HARD [ARGS...]: start_serve under prlimit --nofile=SOFT:HARD
# (prlimit execs serve, so SERVE_PID is serve's).
start_limited() {
	name=$1 soft=$2 hard=$3; shift 3
	rm -f "$T/$name.ready"
	prlimit --nofile="$soft:$hard" "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/$name.db" \
		--ready-file "$T/$name.ready" "$@" 2>"$T/$name.err" &
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve ready" 30 test -s "$T/$name.ready"
	SERVER=$(head -1 "$T/$name.ready")
	export ELOG_SERVER="$SERVER"
}
soft_limit() { awk '/^Max open files/ {print $4}' "/proc/$1/limits"; }

say "serve raises its soft limit on open files to the hard limit"
start_limited r 64 2048
[ "$(soft_limit "$SERVE_PID")" = 2048 ] ||
	fail "soft limit $(soft_limit "$SERVE_PID"), expected 2048"
stop_serve

say "connections past the last descriptor are closed at once, not left waiting"
start_limited h $LIMIT $LIMIT
seq 1 10 | elog send -c warm || fail "warm-up send"
nfds() { ls "/proc/$SERVE_PID/fd" | wc -l; }
say "serve holds $(nfds) descriptors of $LIMIT"
# The holder opens raw TCP connections (serve keeps each until its handshake timeout) until
# serve has no descriptor left, then 20 more; it reports how many of those serve answered, and
# keeps every connection open until the test creates $T/go.
$PY - "$SERVER" "$SERVE_PID" "$LIMIT" "$T/go" >"$T/holder.out" 2>&1 <<'PYEOF' &
import os, select, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
pid, limit, go = sys.argv[2], int(sys.argv[3]), sys.argv[4]
def nfds():
    return len(os.listdir("/proc/%s/fd" % pid))
held = []
deadline = time.monotonic() + 60
while nfds() < limit and len(held) < 2 * limit and time.monotonic() < deadline:
    before = nfds()
    held.append(socket.create_connection((host, int(port)), timeout=10))
    t = time.monotonic() + 5
    while nfds() == before and time.monotonic() < t:
        time.sleep(0.005)
print("serve at %d descriptors with %d connections" % (nfds(), len(held)), flush=True)
extra = [socket.create_connection((host, int(port)), timeout=10) for _ in range(20)]
# each is answered: closed by serve (no descriptor left), or accepted (serve's HTTP/2
# SETTINGS arrive) when a descriptor came free meanwhile
closed, accepted = set(), set()
t = time.monotonic() + 20
while len(closed) + len(accepted) < len(extra) and time.monotonic() < t:
    r, _, _ = select.select([s for s in extra if s not in closed and s not in accepted], [], [], 0.2)
    for s in r:
        try:
            (accepted if s.recv(1) else closed).add(s)
        except OSError:
            closed.add(s)
print("answered by serve: %d of %d (%d closed, %d accepted)"
      % (len(closed) + len(accepted), len(extra), len(closed), len(accepted)), flush=True)
t = time.monotonic() + 120
while not os.path.exists(go) and time.monotonic() < t:
    time.sleep(0.05)
for s in held + extra:
    s.close()
print("released", flush=True)
PYEOF
HOLDER=$!
BG_PIDS="$BG_PIDS $HOLDER"
wait_for "the holder's report" 90 grep -q "answered by serve" "$T/holder.out"
cat "$T/holder.out"
grep -q "answered by serve: 20 of 20" "$T/holder.out" ||
	fail "connections past the limit were left waiting: $(grep answered "$T/holder.out")"

say "once descriptors are free, a new client is served"
touch "$T/go"
wait_for "the holder to release" 30 grep -q released "$T/holder.out"
wait_for "serve to close the released connections" 60 sh -c "[ \$(ls /proc/$SERVE_PID/fd | wc -l) -lt $((LIMIT - 40)) ]"
elog send --timeout 20 -c t after-exhaustion 2>"$T/send.err" || fail "send after exhaustion: $(cat "$T/send.err")"
[ "$(elog logs --timeout 20 -c t)" = "t | INFO  after-exhaustion" ] || fail "logs after exhaustion"
grep -q "Failed accept4" "$T/h.err" && fail "gRPC's listener failed: $(grep accept4 "$T/h.err")"
kill -0 "$SERVE_PID" || fail "serve died"
stop_serve
grep "for want of a file descriptor" "$T/h.err" || fail "serve did not report the connections it closed"
