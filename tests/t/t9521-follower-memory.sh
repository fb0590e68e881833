#!/bin/sh
# Issue #14 (7): followers that stop reading hold nothing of their own in serve: live records
# are published once into one shared list (16 MiB / 16384 records), so serve's memory does
# not grow with ingest nor with the number of followers. Before, each follower had its own
# queue of up to 8 MiB (several times that in allocations): 60 such followers and 40 MB of
# ingest made serve 819 MB.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9521: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
if [ -n "${ELOG_TEST_LONG:-}" ]; then LINES=1000000; else LINES=200000; fi
NFOL=40
# The shared list (16 MiB of records), plus per follower 1.5 MiB: its page of 256 KiB being
# built, what it copied out of the list (256 KiB at most), gRPC's buffers for its call (two
# pages queued, HTTP/2 frames); plus 16 MiB of slack for the sanitizers' allocator (its
# quarantine is 8 MiB here). Before, each follower had its own queue: 20 followers took
# +92 MiB, these 40 about twice that.
BOUND_MIB=$((16 + NFOL * 3 / 2 + 16))
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=8:malloc_context_size=4"
py_stubs "$T/py" || fail "generating python stubs"
peer() { PYTHONPATH="$ELOG_TOP/tests/py" $PY "$ELOG_TOP/tests/py/fanout_peer.py" "$@"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
start_serve h
seq 1 $LINES | sed 's/^/a line for the idle followers, padded to look like a real log line: /' \
	> "$T/in.txt"
MB=$(( $(wc -c < "$T/in.txt") / 1048576 ))

say "$NFOL followers that never read: serve grows by at most $BOUND_MIB MiB over $MB MB of ingest"
# The same ingest without followers first: what ingest itself takes (the hub's queue of up to
# 262144 records, SQLite's cache, gRPC's buffers) is then in the baseline.
elog send -c warm < "$T/in.txt" || fail "send without followers"
peer idle "$SERVER" "$T/py" $NFOL "$T/idle.ready" 2>"$T/idle.err" &
BG_PIDS="$BG_PIDS $!"
wait_for "$NFOL followers live" 60 test -s "$T/idle.ready"
base=$(rss)
peak=$base
# ingest in 10 parts, sampling serve's RSS after each
split -n l/10 "$T/in.txt" "$T/part."
t0=$(date +%s.%N)
for p in "$T"/part.*; do
	elog send -c idle < "$p" || fail "send with idle followers"
	r=$(rss); [ "$r" -gt "$peak" ] && peak=$r
done
t1=$(date +%s.%N)
growth=$(( (peak - base) / 1024 ))
say "ingest of $LINES lines ($MB MB) past $NFOL idle followers: $(echo "$t1 - $t0" | bc) s; serve RSS $base KiB -> peak $peak KiB (+$growth MiB)"
[ $growth -le $BOUND_MIB ] || fail "serve grew by $growth MiB with $NFOL idle followers (bound $BOUND_MIB)"
kill -0 "$SERVE_PID" || fail "serve died"
stop_serve
echo "t9521: ok"
