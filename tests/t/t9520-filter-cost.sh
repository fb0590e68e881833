#!/bin/sh
# Issue #14 (2): a follower's filter is matched on the follower's own time, never on serve's
# writer, and what a client's filter may cost is bounded. A follower with
# --grep '(.*)(.*)(.*)(.*)(.*)(.*)\1\2\3\4\5\6q' and one ordinary 123-byte line used to stop
# every other sender (glibc's regexec on the writer thread, for minutes) and serve ignored
# SIGTERM; now patterns run under PCRE2's match limit, and on the follower's thread.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9520: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
py_stubs "$T/py" || fail "generating python stubs"
peer() { PYTHONPATH="$ELOG_TOP/tests/py" $PY "$ELOG_TOP/tests/py/fanout_peer.py" "$@"; }
start_serve h
BACKREF='(.*)(.*)(.*)(.*)(.*)(.*)\1\2\3\4\5\6q'
LINE='2026-12-03T09:00:00Z GET /api/v1/q/user/12345/orders?page=2&limit=50 200 in 12.3ms from 10.0.0.7 (user-agent curl/8.1.2) ok'
[ ${#LINE} = 123 ] || fail "the test line is ${#LINE} bytes"

say "a follower with a backreference pattern does not stop other senders"
peer follow "$SERVER" "$T/py" "$BACKREF" "$T/f1.ready" 2>"$T/f1.err" &
BG_PIDS="$BG_PIDS $!"
# the same through elog logs -f, as in the issue (no ready signal: it only adds load)
"$ELOG_BIN" logs -f --grep "$BACKREF" >"$T/logs.out" 2>"$T/logs.err" &
BG_PIDS="$BG_PIDS $!"
wait_for "the follower to be live" 30 test -s "$T/f1.ready"
t0=$(date +%s.%N)
timeout 30 "$ELOG_BIN" send -c victim "$LINE" || fail "send of the 123-byte line"
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
	timeout 30 "$ELOG_BIN" send -c other "other sender line $i" && ok=$((ok + 1))
done
t1=$(date +%s.%N)
say "the line and 10 other sends: $(echo "$t1 - $t0" | bc) s, $ok of 10 acknowledged"
[ $ok = 10 ] || fail "only $ok of 10 other sends were acknowledged"
[ "$(elog logs -n 100 -c other | grep -c 'other sender line')" = 10 ] ||
	fail "the other lines are not all in the history"

say "serve stops on SIGTERM with such followers connected"
stop_serve

say "a filter over the limits is refused, naming the limit"
start_serve h2
peer limits "$SERVER" "$T/py" || fail "component and pattern limits over the wire"
names=$(seq -f 'c%04g' 0 1024 | paste -sd, -)
must_fail 2 "logs -c with 1025 names" "$ELOG_BIN" logs -c "$names" 2>"$T/many.err"
grep -q "too many components: the limit is 1024" "$T/many.err" ||
	{ cat "$T/many.err"; fail "logs -c: the message does not name the limit"; }
stop_serve
echo "t9520: ok"
