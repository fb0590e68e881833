#!/bin/sh
# logging.v1 with many sessions at once (hardening #14, finding 3): one WriteLogStream with
# 1,100 distinct session ids under `ulimit -n 1024` is acknowledged (the session log keeps at
# most 256 files open and has no thread per session), every session has its own file with its
# frame, and serve's threads and descriptors stay bounded; past 4096 sessions held at once a
# new session is refused with RESOURCE_EXHAUSTED naming the limit.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t9540: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
D=$T/sessions

# serve with at most 1024 descriptors (soft and hard: it cannot raise them)
rm -f "$T/m.ready"
(ulimit -n 1024 && exec "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/m.db" \
	--ready-file "$T/m.ready") 2>"$T/m.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait_for "serve ready" 30 test -s "$T/m.ready"
SERVER=$(head -1 "$T/m.ready")
export ELOG_SERVER="$SERVER"
threads() { ls "/proc/$SERVE_PID/task" | wc -l; }
fds() { ls "/proc/$SERVE_PID/fd" | wc -l; }

say "1100 sessions in one call under ulimit -n 1024"
r=$(peer many "$SERVER" "$T/stubs" m 1100)
[ "$r" = "ACK 1100 ACKNOWLEDGED" ] || fail "1100 sessions: $r ($(tail -3 "$T/m.err"))"
n=$(ls "$D" | grep -c '^m[0-9]*\.logtmp$')
[ "$n" = 1100 ] || fail "$n session files for 1100 sessions"
for i in 0 549 1099; do
	grep -q "\"session_id\":\"m$i\".*\"content\":\"c-$i\"" "$D/m$i.logtmp" ||
		fail "m$i.logtmp: $(cat "$D/m$i.logtmp")"
done

say "threads and descriptors stay bounded while the 1100 sessions are open"
th=$(threads); fd=$(fds)
say "serve has $th threads and $fd descriptors"
[ "$th" -lt 100 ] || fail "$th threads for 1100 open sessions"
[ "$fd" -lt 400 ] || fail "$fd descriptors for 1100 open sessions"

say "a second call to the same sessions appends to their files"
r=$(peer many "$SERVER" "$T/stubs" m 1100)
[ "$r" = "ACK 1100 ACKNOWLEDGED" ] || fail "again: $r"
[ "$(wc -l <"$D/m7.logtmp")" = 2 ] || fail "m7.logtmp: $(cat "$D/m7.logtmp")"
grep -q '"seq":2,' "$D/m7.logtmp" || fail "m7's second frame has not seq 2: $(cat "$D/m7.logtmp")"
[ "$(elog export --json -c m1099 | wc -l)" = 2 ] || fail "history of m1099"
kill -0 "$SERVE_PID" || fail "serve died"

say "past 4096 sessions held by calls: RESOURCE_EXHAUSTED naming the limit"
# the 1100 sessions above are held by no call: they are closed to make room
r=$(peer many "$SERVER" "$T/stubs" h 4100)
case $r in
"ERR RESOURCE_EXHAUSTED too many open sessions: 4096 (limit of open sessions: 4096)") ;;
*) fail "4100 sessions in one call: $r" ;;
esac
[ "$(ls "$D" | grep -c '^h[0-9]*\.logtmp$')" = 4096 ] || fail "$(ls "$D" | grep -c '^h[0-9]*\.logtmp$') files of h"
say "and a new call is served once the sessions are released"
r=$(peer many "$SERVER" "$T/stubs" z 3); [ "$r" = "ACK 3 ACKNOWLEDGED" ] || fail "after the limit: $r"
kill -0 "$SERVE_PID" || fail "serve died"
stop_serve
echo "t9540: ok"
