#!/bin/sh
# Many clients at once: SENDERS long-lived `elog send` streams and FOLLOWERS `elog logs -f`
# for DURATION seconds (ELOG_TEST_LONG: 200 senders, 50 followers, 60 s; default 20, 5, 8 s),
# each sender writing CHUNK lines every 0.1 s (about 10k lines/s in all, either way).
# Every sender's lines are in the history exactly once; every follower received every line
# sent after it started, or was told how many it missed; serve's memory stays bounded and it
# holds no more file descriptors afterwards than before. Then overload: fast senders push more
# than the disk commits, and serve's RSS must stay bounded (backpressure, see hub.c).
. "$(dirname "$0")/lib.sh"
if [ -n "${ELOG_TEST_LONG:-}" ]; then
	SENDERS=200 FOLLOWERS=50 DURATION=60 FAST=8 FAST_LINES=150000 CHUNK=5
else
	SENDERS=20 FOLLOWERS=5 DURATION=8 FAST=4 FAST_LINES=100000 CHUNK=50
fi
ulimit -n 4096 2>/dev/null
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16:malloc_context_size=4"
start_serve h
rss() { awk '/VmRSS/ {print $2}' "/proc/$SERVE_PID/status"; }
# Descriptors other than the history file itself. SQLite's unix VFS keeps a closed
# connection's descriptor of h.db open while another connection of the process holds a lock
# on the file (closing it would drop that connection's POSIX locks) and reuses it later, so
# those are bounded by the readers that were open at once, not leaked: dbfds counts them.
fds() { ls -l "/proc/$SERVE_PID/fd" | grep -v -c '/h\.db$'; }
dbfds() { ls -l "/proc/$SERVE_PID/fd" | grep -c '/h\.db$'; }
# warm-up: one of each call, so threads and files created on first use are in the baseline
seq 1 1000 | elog send -c warm || fail "warm-up send"
elog logs -c warm >/dev/null || fail "warm-up logs"
fd0=$(fds); rss0=$(rss)
say "baseline: $fd0 fds, RSS $rss0 KiB"

peak=$rss0
sample() { r=$(rss); [ "${r:-0}" -gt "$peak" ] && peak=$r; }

say "$FOLLOWERS followers"
k=0
while [ $k -lt $FOLLOWERS ]; do
	k=$((k + 1))
	"$ELOG_BIN" logs --timeout 30 -f --json -c load >"$T/f$k.out" 2>"$T/f$k.err" &
	echo $! >>"$T/fpids"
done
# every follower is live once it shows a record sent after it started
elog send -c load "start marker" || fail "marker"
k=0
while [ $k -lt $FOLLOWERS ]; do
	k=$((k + 1))
	wait_for "follower $k live" 30 grep -q "start marker" "$T/f$k.out"
done

say "$SENDERS senders for $DURATION s"
end=$(( $(date +%s) + DURATION ))
i=0
while [ $i -lt $SENDERS ]; do
	i=$((i + 1))
	(
		j=0
		while [ "$(date +%s)" -lt $end ]; do
			j=$((j + 1))
			seq -f "sender $i chunk $j line %g" 1 $CHUNK
			sleep 0.1
		done | tee "$T/sent.$i" | elog send --timeout 30 -c load 2>"$T/send.$i.err"
		echo $? >"$T/send.$i.rc"
	) &
done
while [ "$(date +%s)" -lt $end ]; do sample; sleep 0.5; done
k=0
while [ $k -lt $SENDERS ]; do
	k=$((k + 1))
	wait_for "sender $k" 60 test -s "$T/send.$k.rc"
	[ "$(cat "$T/send.$k.rc")" = 0 ] || fail "sender $k: exit $(cat "$T/send.$k.rc"): $(cat "$T/send.$k.err")"
done
sample
echo "start marker" >"$T/want"
cat "$T"/sent.* >>"$T/want"
sort "$T/want" >"$T/want.s"
total=$(wc -l <"$T/want.s")
say "$total lines sent by $SENDERS senders; serve RSS peak $peak KiB"

say "nothing lost, nothing twice"
tomsg() { $PY -c 'import json, sys
for l in sys.stdin:
    if l.startswith("{"): print(json.loads(l)["msg"])'; }
elog logs --json -c load | tomsg | sort >"$T/got.s"
cmp -s "$T/want.s" "$T/got.s" || fail "history: want $total lines, got $(wc -l <"$T/got.s"), \
$(sort -u "$T/got.s" | wc -l) distinct, $(comm -23 "$T/want.s" "$T/got.s" | wc -l) missing"

say "followers saw every line, or were told what they missed"
k=0
while [ $k -lt $FOLLOWERS ]; do
	k=$((k + 1))
	wait_for "follower $k to catch up" 30 sh -c "[ \$(grep -c '^{' '$T/f$k.out') -ge $total ] || grep -q 'entries missed' '$T/f$k.err'"
	n=$(tomsg <"$T/f$k.out" | sort | tee "$T/f$k.s" | wc -l)
	[ -z "$(comm -13 "$T/want.s" "$T/f$k.s")" ] || fail "follower $k got lines never sent"
	[ "$(sort -u "$T/f$k.s" | wc -l)" = "$n" ] || fail "follower $k got duplicates"
	if [ "$n" != "$total" ]; then
		grep -q "entries missed" "$T/f$k.err" || fail "follower $k: $n of $total lines and no notice"
		say "follower $k: $n of $total, $(grep -m1 'entries missed' "$T/f$k.err")"
	fi
done
for p in $(cat "$T/fpids"); do kill "$p" 2>/dev/null; done
say "all $FOLLOWERS followers consistent"

say "overload: $FAST senders of $FAST_LINES lines as fast as they go"
seq -f "fast line %g with padding so that the disk has something to write" 1 $FAST_LINES >"$T/fast.txt"
before=$(rss); fpeak=$before
i=0
while [ $i -lt $FAST ]; do
	i=$((i + 1))
	( elog send --timeout 30 -c "fast$i" <"$T/fast.txt" 2>"$T/fast.$i.err"; echo $? >"$T/fast.$i.rc" ) &
done
t0=$(date +%s)
while :; do
	r=$(rss); [ "$r" -gt "$fpeak" ] && fpeak=$r
	done_n=$(ls "$T"/fast.*.rc 2>/dev/null | wc -l)
	[ "$done_n" -ge $FAST ] && break
	[ $(( $(date +%s) - t0 )) -lt 120 ] || { fail "fast senders did not finish in 120 s"; break; }
	sleep 0.2
done
i=0
while [ $i -lt $FAST ]; do
	i=$((i + 1))
	[ "$(cat "$T/fast.$i.rc")" = 0 ] || fail "fast sender $i: $(cat "$T/fast.$i.err")"
done
# through elog: schema 6 keeps the older records in sealed blocks, the newest as rows
fc=$(i=1; while [ $i -le $FAST ]; do printf 'fast%d,' $i; i=$((i + 1)); done)
n=$("$ELOG_BIN" logs --db "$T/h.db" -c "$fc" -o cat 2>"$T/fastcount.err" | wc -l)
[ "$n" = $((FAST * FAST_LINES)) ] || fail "fast: want $((FAST * FAST_LINES)) records, got $n"
growth=$(( (fpeak - before) / 1024 ))
say "overload: $((FAST * FAST_LINES)) records in $(( $(date +%s) - t0 )) s; RSS $before -> $fpeak KiB (+$growth MiB)"
# the hub queue holds at most 262144 records (~100 MiB with ASan's redzones); more means
# the load went to memory instead of back to the senders
[ $growth -le 400 ] || fail "serve grew by $growth MiB under overload"

say "no file descriptor leak"
# Connections of killed clients are torn down asynchronously by gRPC: allow it time.
i=0
while [ "$(fds)" -gt $((fd0 + 2)) ]; do
	i=$((i + 1))
	if [ $i -ge 300 ]; then
		ls -l "/proc/$SERVE_PID/fd" >&2
		fail "file descriptors leaked: $(fds) open, $fd0 at the start"
	fi
	sleep 0.1
done
[ "$(dbfds)" -le $((FOLLOWERS + 16)) ] || fail "$(dbfds) descriptors of the history open"
say "fds: $fd0 before, $(fds) after"
stop_serve
