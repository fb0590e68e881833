#!/bin/sh
# A stalled follower (`elog logs -f` whose reader stops reading) never slows ingest, never
# grows serve's memory without bound, and when it resumes gets every record, once and in
# order: what its bounded queue dropped is read back from the history.
. "$(dirname "$0")/lib.sh"
if [ -n "${ELOG_TEST_LONG:-}" ]; then LINES=1000000; else LINES=150000; fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8:malloc_context_size=4"
start_serve h
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
seq 1 $LINES | sed 's/^/stalled follower test line with some padding to look like a log /' > "$T/in.txt"
# warm up (first allocations of the writer, SQLite's cache) before the baseline
head -20000 "$T/in.txt" | elog send -c warm || fail "warm-up send"
base=$(rss)
# The reader reads nothing until every line is committed (the pipe fills, logs blocks, serve's
# queue for it fills), then reads until it has every line (or 60 s) and prints: count,
# distinct ids, ids in order.
mkfifo "$T/follow.fifo"
"$ELOG_BIN" logs -f --json -c stall --ready-file "$T/follow.ready" >"$T/follow.fifo" 2>"$T/follow.err" &
BG_PIDS="$BG_PIDS $!"
$PY -c '
import json, os, select, sys, time
end = time.time() + 300
while not os.path.exists(sys.argv[1]) and time.time() < end:
    time.sleep(0.05)
want = int(sys.argv[2])
ids = []
buf = b""
end = time.time() + 60
while len(ids) < want and time.time() < end:
    r, _, _ = select.select([0], [], [], 0.2)
    if r:
        b = os.read(0, 1 << 16)
        if not b:
            break
        buf += b
        *lines, buf = buf.split(b"\n")
        ids += [json.loads(l)["id"] for l in lines if l.startswith(b"{")]
print(len(ids), len(set(ids)), int(ids == sorted(ids)))
' "$T/sent" $LINES <"$T/follow.fifo" >"$T/reader.out" &
BG_PIDS="$BG_PIDS $!"
wait_for "the follower is live" 30 test -s "$T/follow.ready"
t0=$(date +%s.%N)
elog send -c stall < "$T/in.txt" || fail "send while a follower is stalled"
t1=$(date +%s.%N)
touch "$T/sent"
peak=$(rss)
say "ingest of $LINES lines with a stalled follower: $(echo "$t1 - $t0" | bc) s; serve RSS $base KiB -> $peak KiB"
growth=$(( (peak - base) / 1024 ))
[ $growth -le 64 ] || fail "serve grew by $growth MiB with a stalled follower"
wait_for "the reader to finish" 90 test -s "$T/reader.out"
read got distinct ordered < "$T/reader.out"
say "follower after resuming: $got of $LINES lines, $distinct distinct, in order: $ordered"
[ "$got" = "$LINES" ] || { cat "$T/follow.err"; fail "the resumed follower got $got of $LINES lines"; }
[ "$distinct" = "$LINES" ] || fail "the resumed follower got duplicates"
[ "$ordered" = 1 ] || fail "the resumed follower got records out of order"
! grep -q "entries missed" "$T/follow.err" || fail "told of missed entries though the history had them"

say "the stalled follower's path ran: serve dropped records for it, and it got them from the history"
stop_serve
dropped=$(sed -n 's/.*; \([0-9]*\) went to slow followers from the history$/\1/p' "$T/h.err")
say "records serve sent the follower from the history instead of its queue: ${dropped:-none}"
[ "${dropped:-0}" -gt 0 ] || fail "no record was dropped for the stalled follower: $(tail -3 "$T/h.err")"
