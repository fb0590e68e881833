#!/bin/sh
# serve's start-up errors (issue #16 item 8): a port in use is one clear line (no raw gRPC
# dump) and no history file is made; a --listen that is not HOST:PORT with a port from 0 to
# 65535 is a usage error (exit 2: 127.0.0.1:99999 used to wrap silently to port 34463); a
# second serve on the same --db is refused while `elog logs --db` still reads it; a history in
# a directory serve may not write says "permission denied".
# Each serve that must fail runs under `timeout 60`: one that wrongly starts ends as a failure.
. "$(dirname "$0")/lib.sh"

# only_one_line FILE: the file holds exactly one line and nothing of gRPC's error dump
only_one_line() {
	[ "$(wc -l <"$1")" = 1 ] || { fail "expected one line, got: $(cat "$1")"; return 1; }
	! grep -q 'file_line\|{file:\|grpc' "$1" || fail "gRPC's dump leaked: $(cat "$1")"
}

say "a port in use: exit 1, one line 'address already in use', no history file made"
# a plain TCP listener (not elog) holds a port; it writes the port once listening
$PY - "$T/held.port" <<'PYEOF' &
import socket, sys, time, os
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
tmp = sys.argv[1] + ".tmp"
open(tmp, "w").write("%d\n" % s.getsockname()[1])
os.rename(tmp, sys.argv[1])
time.sleep(600)
PYEOF
BG_PIDS="$BG_PIDS $!"
wait_for "port holder" 20 test -s "$T/held.port"
P=$(cat "$T/held.port")
must_fail 1 "serve on a port in use" timeout 60 "$ELOG_BIN" serve --listen "127.0.0.1:$P" --db "$T/pu/h.db" 2>"$T/pu.err"
only_one_line "$T/pu.err"
grep -q "cannot listen on '127.0.0.1:$P': address already in use" "$T/pu.err" ||
	fail "message: $(cat "$T/pu.err")"
[ ! -e "$T/pu" ] || fail "serve made $(ls -R "$T/pu") though it could not listen"

say "the second of two --listen in use: still nothing made"
must_fail 1 "second address in use" timeout 60 "$ELOG_BIN" serve --listen 127.0.0.1:0 --listen "127.0.0.1:$P" \
	--db "$T/pu2/h.db" 2>"$T/pu2.err"
only_one_line "$T/pu2.err"
[ ! -e "$T/pu2" ] || fail "serve made $T/pu2"

say "--listen nonsense, 127.0.0.1:99999, a missing or negative port: usage errors (exit 2)"
for a in nonsense 127.0.0.1:99999 127.0.0.1:65536 127.0.0.1: 127.0.0.1:-1 :0 127.0.0.1:12x \
	'[::1]:100000'; do
	rm -f "$T/bad.ready"
	must_fail 2 "--listen $a" timeout 60 "$ELOG_BIN" serve --listen "$a" --db "$T/bad/h.db" \
		--ready-file "$T/bad.ready" 2>"$T/bad.err"
	grep -qF -- "--listen: invalid address '$a'" "$T/bad.err" || fail "$a: $(cat "$T/bad.err")"
	! grep -q 'file_line\|{file:' "$T/bad.err" || fail "$a: gRPC's dump: $(cat "$T/bad.err")"
	[ ! -e "$T/bad.ready" ] || fail "$a: serve started, listening on $(cat "$T/bad.ready")"
	[ ! -e "$T/bad" ] || fail "$a: serve made $T/bad"
done

say "a host that does not resolve: usage error naming it"
must_fail 2 "unresolvable host" timeout 60 "$ELOG_BIN" serve --listen no-such-host.invalid:50090 \
	--db "$T/bad/h.db" 2>"$T/res.err"
grep -q "cannot resolve 'no-such-host.invalid'" "$T/res.err" || fail "message: $(cat "$T/res.err")"
[ ! -e "$T/bad" ] || fail "serve made $T/bad"

say "a second serve on the same --db is refused, naming the first one's pid"
start_serve one
echo first | elog send -c lock || fail "send to the first serve"
must_fail 1 "second serve, same db" timeout 60 "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/one.db" \
	--ready-file "$T/two.ready" 2>"$T/two.err"
only_one_line "$T/two.err"
grep -q "history '$T/one.db' is in use by another elog serve, pid $SERVE_PID" "$T/two.err" ||
	fail "message: $(cat "$T/two.err")"
[ ! -e "$T/two.ready" ] || fail "the second serve started"

say "the first serve goes on, and logs --db reads the history meanwhile"
echo second | elog send -c lock || fail "send after the refused serve"
n=$(elog logs --db "$T/one.db" -c lock --json | wc -l)
[ "$n" = 2 ] || fail "logs --db read $n records while serve runs, expected 2"
n=$(elog export --db "$T/one.db" --json -c lock | wc -l)
[ "$n" = 2 ] || fail "export --db read $n records, expected 2"

say "once the first serve has stopped, the history is free again"
FIRST=$SERVE_PID
stop_serve "$FIRST"
start_serve one
n=$(elog logs -c lock --json | wc -l)
[ "$n" = 2 ] || fail "the restarted serve has $n records"
stop_serve

say "a serve killed with SIGKILL leaves the history free"
start_serve one
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
start_serve one
stop_serve

say "a history in a directory serve may not write: 'permission denied', exit 1"
# root writes anywhere: run serve as nobody then (setpriv), on a directory nobody may not write
RO=$(mktemp -d /tmp/elog-ro.XXXXXX)
chmod 755 "$RO"
mkdir "$RO/ro" && chmod 555 "$RO/ro"
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null 2>&1; then
		AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	else
		AS=""
		echo "# skipped: root without setpriv"
	fi
else
	AS="env"
fi
if [ -n "$AS" ]; then
	for db in "$RO/ro/h.db" "$RO/ro/sub/h.db"; do
		must_fail 1 "serve --db $db" timeout 60 $AS "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$db" \
			2>"$T/perm.err"
		only_one_line "$T/perm.err"
		grep -q "cannot open history '$db': .*permission denied" "$T/perm.err" ||
			fail "message: $(cat "$T/perm.err")"
	done
	[ -z "$(ls -A "$RO/ro")" ] || fail "files made: $(ls -A "$RO/ro")"
fi
chmod 755 "$RO/ro"
rm -rf "$RO"
echo "t2250: ok"
