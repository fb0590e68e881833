#!/bin/sh
# The session log directory (hardening #14, finding 11): a symbolic link planted in it is never
# followed (the call gets a clear error, the link's target is untouched), and a log directory
# writable by others is refused at start with an error naming it.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null || ! command -v protoc >/dev/null ||
   [ ! -x /usr/bin/grpc_python_plugin ]; then
	echo "t9541: skipped: needs python3-grpcio, protoc and grpc_python_plugin"
	exit 0
fi
py_stubs "$T/stubs" || fail "generating python stubs"
peer() { $PY "$ELOG_TOP/tests/py/logsvc_peer.py" "$@"; }
send() { peer send "$SERVER" "$T/stubs" "$@"; }
D=$T/logs
mkdir -m 700 "$D"
printf 'precious\n' >"$T/outside"

say "a symlink planted as a session's file: refused, its target untouched"
ln -s "$T/outside" "$D/P.logtmp"
start_serve s --log-dir "$D" --log-max-age 1
r=$(send t1 P)
case $r in
"ERR INTERNAL cannot open session log '$D/P.logtmp': it is a symbolic link (refused)") ;;
*) fail "planted link: $r" ;;
esac
[ "$(cat "$T/outside")" = precious ] || fail "the link's target was written: $(cat "$T/outside")"
[ -L "$D/P.logtmp" ] || fail "the link is gone"

say "a symlink planted where a session reopens its file: refused on write, target untouched"
r=$(send t2 Q); [ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "Q: $r"
# rotated by age (1 s): the session stays open, its file is closed until it writes again
wait_for "age rotation of Q" 15 sh -c "[ ! -e '$D/Q.logtmp' ] && ls '$D' | grep -q '^Q\..*\.1-1\.log'"
ln -s "$T/outside" "$D/Q.logtmp"
r=$(send t3 Q)
case $r in
"ERR INTERNAL cannot open session log '$D/Q.logtmp': it is a symbolic link (refused)") ;;
*) fail "link planted for Q: $r" ;;
esac
[ "$(cat "$T/outside")" = precious ] || fail "the link's target was written: $(cat "$T/outside")"
kill -0 "$SERVE_PID" || fail "serve died"
r=$(send t5 R); [ "$r" = "ACK 1 ACKNOWLEDGED" ] || fail "another session after the refusals: $r"
stop_serve

say "a log dir writable by others is refused at start, naming it"
mkdir "$T/open"; chmod 0777 "$T/open"
"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/o.db" --log-dir "$T/open" 2>"$T/open.err" &
pid=$!; SERVE_PIDS="$SERVE_PIDS $pid"
wait "$pid"; st=$?
[ "$st" = 1 ] || fail "serve with a 0777 log dir exited $st"
grep -q "^elog: session log directory '$T/open' is writable by others (mode 0777)" \
	"$T/open.err" || fail "error for a 0777 log dir: $(cat "$T/open.err")"
say "and one writable by its group"
chmod 0770 "$T/open"
must_fail 1 "serve with a 0770 log dir" \
	"$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/o.db" --log-dir "$T/open" 2>"$T/open.err"
grep -q "writable by its group (mode 0770)" "$T/open.err" || fail "0770: $(cat "$T/open.err")"
echo "t9541: ok"
