#!/bin/sh
# Many `elog logs -f` at once while records keep coming (the live fan-out shares one encoding
# of each commit and paces each follower's pages): every follower gets every record of its
# filter once, in id order, with neither gap nor duplicate between history and live; and a
# follower that stops reading for a while gets what it missed afterwards, all of it, in order.
. "$(dirname "$0")/lib.sh"

lines() { if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
# ids FILE: the ids of the JSON Lines in FILE, one a line.
ids() { $PY -c 'import json, sys; [print(json.loads(l)["id"]) for l in open(sys.argv[1])]' "$1"; }
stored_at_least() { [ "$(elog export --json -c "$1" | wc -l)" -ge "$2" ]; }

start_serve h
N=${FOLLOW_N:-30}
LINES=3000

say "$N followers while $LINES lines are sent in small batches: each gets all, once, in order"
elog send -c many "before 1" || fail "send before 1"
elog send -c many "before 2" || fail "send before 2"
k=0
while [ $k -lt $N ]; do
	"$ELOG_BIN" logs -f --json -c many --ready-file "$T/f$k.ready" >"$T/f$k.out" 2>"$T/f$k.err" &
	eval "fp$k=$!"
	SERVE_PIDS="$SERVE_PIDS $!"
	k=$((k + 1))
done
k=0
while [ $k -lt $N ]; do
	wait_for "follower $k live" 30 test -s "$T/f$k.ready"
	k=$((k + 1))
done
# about 1,000 lines a second, flushed one at a time (one small batch per few lines), and an
# unrelated component in between that no follower may print
$PY -c '
import sys, time
t0 = time.monotonic()
for i in range(int(sys.argv[1])):
    sys.stdout.write("many %d\n" % i); sys.stdout.flush()
    due = t0 + (i + 1) / 1000.0
    while time.monotonic() < due and time.monotonic() - t0 < 30:
        time.sleep(0.0005)
' $LINES | elog send -c many &
spid=$!
$PY -c '
import sys
for i in range(300):
    print("other %d" % i)
' | elog send -c other || fail "send other"
wait $spid || fail "sender failed"
elog send -c many "many end" || fail "send many end"
k=0
while [ $k -lt $N ]; do
	wait_for "follower $k has everything" 60 grep -q '"many end"' "$T/f$k.out"
	k=$((k + 1))
done
k=0
while [ $k -lt $N ]; do
	eval "kill \$fp$k 2>/dev/null"
	k=$((k + 1))
done
elog export --json -c many >"$T/want.json" || fail "export many"
ids "$T/want.json" >"$T/want.ids"
[ "$(lines "$T/want.ids")" = $((LINES + 3)) ] || fail "stored $(lines "$T/want.ids") of $((LINES + 3))"
k=0
while [ $k -lt $N ]; do
	ids "$T/f$k.out" >"$T/f$k.ids"
	cmp -s "$T/want.ids" "$T/f$k.ids" ||
		fail "follower $k: $(lines "$T/f$k.ids") records, not the $(lines "$T/want.ids") stored, in order"
	! grep -q '"other ' "$T/f$k.out" || fail "follower $k printed another component"
	k=$((k + 1))
done

say "a follower that stops reading gets everything committed meanwhile, in order"
mkfifo "$T/slow.fifo"
"$ELOG_BIN" logs -f --json -n 0 -c slow --ready-file "$T/slow.ready" >"$T/slow.fifo" 2>"$T/slow.err" &
slowpid=$!
SERVE_PIDS="$SERVE_PIDS $slowpid"
# the reader: takes one line, then reads nothing until told, then the rest
$PY - "$T/slow.fifo" "$T/slow.out" "$T/slow.go" <<'EOF' &
import os, sys, time
src, out, go = sys.argv[1:4]
with open(src, "rb", buffering=0) as f, open(out, "wb") as o:
    first = b""
    while not first.endswith(b"\n"):
        b = f.read(1)
        if not b:
            sys.exit(1)
        first += b
    o.write(first); o.flush()
    deadline = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.01)
    while True:
        b = f.read(65536)
        if not b:
            break
        o.write(b); o.flush()
EOF
rdpid=$!
SERVE_PIDS="$SERVE_PIDS $rdpid"
wait_for "slow follower live" 30 test -s "$T/slow.ready"
elog send -c slow "slow first" || fail "send slow first"
wait_for "slow follower's first line" 15 grep -q '"slow first"' "$T/slow.out"
# 20,000 records (2.6 MB of JSON: more than the pipe and the sockets hold) while it reads nothing
$PY -c '
for i in range(20000):
    print("slow %d %s" % (i, "x" * 60))
' | elog send -c slow || fail "send slow"
stored_at_least slow 20001 || fail "slow records not stored"
elog send -c slow "slow end" || fail "send slow end"
touch "$T/slow.go"
wait_for "slow follower has everything" 60 grep -q '"slow end"' "$T/slow.out"
kill $slowpid 2>/dev/null
wait $rdpid 2>/dev/null
elog export --json -c slow >"$T/slow.want" || fail "export slow"
ids "$T/slow.want" >"$T/slow.want.ids"
ids "$T/slow.out" >"$T/slow.ids"
[ "$(lines "$T/slow.want.ids")" = 20002 ] || fail "stored $(lines "$T/slow.want.ids") of 20002"
cmp -s "$T/slow.want.ids" "$T/slow.ids" ||
	fail "slow follower: $(lines "$T/slow.ids") records, not the 20002 stored, in order"

stop_serve
echo "t1301: ok"
