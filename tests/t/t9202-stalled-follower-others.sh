#!/bin/sh
# A stalled follower does not hold up the others: serve sends every `Read` follower's live
# pages from one thread (server/svc_read.c), which skips a follower whose last page has not
# left instead of waiting for it. One follower's reader never reads; a second follower gets
# every line while the first stays stalled; then the first resumes and gets every line too,
# from the history where its queue dropped them.
#
# The lines are 2 KB, 60 MB in all: more than everything between serve's live list and the
# stalled reader can hold (the hub's live list keeps at most 16 MiB; then the gRPC windows, the
# loopback socket's buffers, which autotune to a few MiB each way, and the 64 KiB FIFO). With
# 4 MB in all, as before, those buffers could take every line on a run where they had grown
# early, and serve then had nothing to drop.
. "$(dirname "$0")/lib.sh"
LINES=30000
start_serve h
pad=$(printf '%01990d' 0)
seq 1 $LINES | sed "s/^/stalled-others $pad /" >"$T/in.txt"

# the stalled one: its output is a FIFO whose reader only starts reading once "$T/resume"
# exists, then counts lines (or gives up after 90 s)
mkfifo "$T/stalled.fifo"
"$ELOG_BIN" logs -f -c others --no-prefix --color=never --ready-file "$T/stalled.ready" \
	>"$T/stalled.fifo" 2>"$T/stalled.err" &
STALLED=$!
BG_PIDS="$BG_PIDS $STALLED"
$PY -c '
import os, sys, time
end = time.time() + 90
while not os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.05)
want, n, buf = int(sys.argv[2]), 0, b""
while n < want and time.time() < end:
    b = os.read(0, 1 << 16)
    if not b:
        break
    n += b.count(b"\n")
print(n)
' "$T/resume" $LINES <"$T/stalled.fifo" >"$T/stalled.count" &
BG_PIDS="$BG_PIDS $!"
"$ELOG_BIN" logs -f -c others --no-prefix --color=never --ready-file "$T/live.ready" \
	>"$T/live.out" 2>"$T/live.err" &
BG_PIDS="$BG_PIDS $!"
wait_for "both followers are live" 30 test -s "$T/stalled.ready" -a -s "$T/live.ready"

elog send -c others <"$T/in.txt" || fail "send with a stalled follower"
lines() { [ "$(wc -l <"$1")" -ge "$2" ]; }
say "the other follower gets all $LINES lines while one is stalled"
wait_for "the live follower's $LINES lines" 60 lines "$T/live.out" $LINES
got=$(wc -l <"$T/live.out")
[ "$got" = "$LINES" ] || fail "the live follower got $got of $LINES lines"
# (--no-prefix leaves the level: "INFO  " and the message)
sed 's/^INFO  //' "$T/live.out" | cmp -s "$T/in.txt" - ||
	fail "the live follower's lines are not the lines sent, in order"
kill -0 "$STALLED" 2>/dev/null || fail "the stalled follower is gone: $(cat "$T/stalled.err")"
[ ! -s "$T/stalled.count" ] || fail "the stalled follower's reader read already"

say "the stalled follower gets every line once it reads again"
touch "$T/resume"
wait_for "the stalled follower's reader" 90 test -s "$T/stalled.count"
n=$(cat "$T/stalled.count")
[ "$n" = "$LINES" ] || fail "the resumed follower got $n of $LINES lines: $(cat "$T/stalled.err")"

say "it had fallen behind: serve sent it records from the history"
stop_serve
dropped=$(sed -n 's/.*; \([0-9]*\) went to slow followers from the history$/\1/p' "$T/h.err")
[ "${dropped:-0}" -gt 0 ] ||
	fail "no record went to the stalled follower from the history: $(tail -3 "$T/h.err")"
