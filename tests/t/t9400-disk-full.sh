#!/bin/sh
# Disk full: the history sits on a small tmpfs (or, where mounting is not allowed, serve runs
# under a file-size limit and ignores SIGXFSZ). Senders then get an error naming the history
# and the cause (RESOURCE_EXHAUSTED, exit 1), everything acknowledged before stays, serve keeps
# running and answering, and once space returns a new send succeeds; after a restart the
# history passes integrity_check and holds every acknowledged record exactly once.
# ELOG_T9400_MODE=limit forces the file-size-limit variant.
. "$(dirname "$0")/lib.sh"
D="$T/full"
mkdir -p "$D"
MODE=limit
if [ "${ELOG_T9400_MODE:-}" != limit ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m tmpfs "$D" 2>/dev/null; then
	MODE=tmpfs
	trap 'for p in $SERVE_PIDS; do kill -9 "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	      umount "$D"; cleanup' EXIT
	# room for the first batches only; removed later to give the space back
	head -c 5M /dev/zero >"$D/filler" || fail "filler"
elif ! command -v prlimit >/dev/null; then
	say "skipped: cannot mount a tmpfs and no prlimit"; exit 0
fi
say "mode: $MODE"

serve_on() {
	rm -f "$T/ready"
	if [ $MODE = tmpfs ]; then
		"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$D/h.db" --ready-file "$T/ready" 2>>"$T/serve.err" &
	else
		# soft limit 2 MB per file (the WAL hits it), raised later with prlimit --pid
		prlimit --fsize=2000000: "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$D/h.db" \
			--ready-file "$T/ready" 2>>"$T/serve.err" &
	fi
	SERVE_PID=$!
	SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
	wait_for "serve ready" 30 test -s "$T/ready"
	export ELOG_SERVER="$(head -1 "$T/ready")"
}
serve_on

say "fill the disk, one send of 2000 lines at a time"
: >"$T/acked"
full=0
i=0
while [ $i -lt 100 ]; do
	i=$((i + 1))
	seq 1 2000 | sed "s/^/batch $i line padded to take some room on the small disk /" >"$T/batch"
	if elog send -c "b$i" <"$T/batch" 2>"$T/send.err"; then
		echo "$i" >>"$T/acked"
	else
		st=$?
		full=1
		break
	fi
done
[ $full = 1 ] || fail "100 sends and the disk is not full"
say "send $i failed (exit $st): $(cat "$T/send.err")"
[ "$st" = 1 ] || fail "send on a full disk: exit $st, want 1"
grep -q "h.db" "$T/send.err" || fail "error does not name the history"
grep -q "resource exhausted" "$T/send.err" || fail "error is not RESOURCE_EXHAUSTED"
if [ $MODE = tmpfs ]; then
	grep -q "full" "$T/send.err" || fail "error does not say the disk is full"
fi
nacked=$(wc -l <"$T/acked")
[ "$nacked" -ge 1 ] || fail "nothing was acknowledged before the disk filled"

say "still full: another send fails the same way, serve stays up and answers reads"
# (a single small record may still fit: the WAL reuses the room of the failed transaction)
must_fail 1 "send while full" elog send -c still-full <"$T/batch" 2>"$T/send2.err"
grep -q "resource exhausted" "$T/send2.err" || fail "second error: $(cat "$T/send2.err")"
kill -0 "$SERVE_PID" || fail "serve died on a full disk"
elog logs -c b1 >"$T/b1.txt" || fail "read while full"
[ "$(wc -l <"$T/b1.txt")" = 2000 ] || fail "b1 has $(wc -l <"$T/b1.txt") lines while full"

say "space returns: a new send succeeds"
if [ $MODE = tmpfs ]; then
	rm -f "$D/filler"
else
	prlimit --pid "$SERVE_PID" --fsize=unlimited: || fail "prlimit --pid"
fi
seq 1 1000 | sed 's/^/after /' | elog send -c after || fail "send after space returned"

check_history() {
	for b in $(cat "$T/acked"); do
		seq 1 2000 | sed "s/^/batch $b line padded to take some room on the small disk /"
	done >"$T/want"
	seq 1 1000 | sed 's/^/after /' >>"$T/want"
	comps=$(sed 's/^/b/' "$T/acked" | tr '\n' ,)after
	elog logs --json -c "$comps" >"$T/got.json" || fail "logs"
	$PY -c 'import json, sys
for l in sys.stdin: print(json.loads(l)["msg"])' <"$T/got.json" >"$T/got" || fail "logs output"
	sort "$T/want" >"$T/want.s"; sort "$T/got" >"$T/got.s"
	cmp -s "$T/want.s" "$T/got.s" || fail "history differs: want $(wc -l <"$T/want.s") records, got \
$(wc -l <"$T/got.s"), $(comm -3 "$T/want.s" "$T/got.s" | wc -l) differ"
}
check_history
say "$nacked acknowledged sends ($((nacked * 2000)) records) and 1000 after: all present once"

say "restart on the same history: integrity ok, nothing lost"
stop_serve
[ "$(sqlite3 "$D/h.db" 'PRAGMA integrity_check')" = ok ] || fail "integrity_check"
serve_on
check_history
stop_serve
