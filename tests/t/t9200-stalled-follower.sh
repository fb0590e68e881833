#!/bin/sh
# A stalled follower (`elog logs -f` whose reader stops reading) never slows ingest, never
# grows serve's memory without bound, and is told how many entries it missed when it resumes.
. "$(dirname "$0")/lib.sh"
if [ -n "${ELOG_TEST_LONG:-}" ]; then LINES=1000000; else LINES=150000; fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8:malloc_context_size=4"
start_serve h
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
seq 1 $LINES | sed 's/^/stalled follower test line with some padding to look like a log /' > "$T/in.txt"
# warm up (first allocations of the writer, SQLite's cache) before the baseline
head -20000 "$T/in.txt" | elog send -c warm || fail "warm-up send"
base=$(rss)
# The reader sleeps first (the pipe fills, logs blocks, serve's queue for it fills), then
# reads for a while and exits.
elog logs -f --json -c stall 2>"$T/follow.err" | $PY -c '
import os, select, sys, time
time.sleep(float(sys.argv[1]))
n = 0
end = time.time() + 3
while time.time() < end:
    r, _, _ = select.select([0], [], [], 0.2)
    if r:
        b = os.read(0, 1 << 16)
        if not b:
            break
        n += b.count(b"\n")
print(n)
' 12 > "$T/reader.out" &
sleep 1
t0=$(date +%s.%N)
elog send -c stall < "$T/in.txt" || fail "send while a follower is stalled"
t1=$(date +%s.%N)
peak=$(rss)
say "ingest of $LINES lines with a stalled follower: $(echo "$t1 - $t0" | bc) s; serve RSS $base KiB -> $peak KiB"
growth=$(( (peak - base) / 1024 ))
[ $growth -le 64 ] || fail "serve grew by $growth MiB with a stalled follower"
wait_for "the reader to finish" 40 test -s "$T/reader.out"
grep -q "entries missed" "$T/follow.err" || { cat "$T/follow.err"; fail "the follower was not told it missed entries"; }
say "follower: $(grep -m1 'entries missed' "$T/follow.err")"
stop_serve
