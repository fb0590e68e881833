#!/bin/sh
# elog serve: port 0 and --ready-file, several --listen, the default history path, WAL and
# user_version, clean exit on SIGTERM/SIGINT with everything committed, and clear errors for
# a corrupt or foreign database (left untouched), an unwritable directory and a port in use.
. "$(dirname "$0")/lib.sh"

count_db() { history_count "$1"; }

# run_serve_bg NAME ARGS...: serve in the background, PID in BGPID, stderr in $T/NAME.err.
run_serve_bg() {
	name=$1; shift
	rm -f "$T/$name.ready"
	"$ELOG_BIN" serve --ready-file "$T/$name.ready" "$@" 2>"$T/$name.err" &
	BGPID=$!
	SERVE_PIDS="$SERVE_PIDS $BGPID"
	wait_for "serve $name ready" 20 test -s "$T/$name.ready"
}

# stop_with SIG PID: serve must exit 0 within 15 s.
stop_with() {
	kill -"$1" "$2" || fail "kill -$1 $2"
	i=0
	while kill -0 "$2" 2>/dev/null; do
		i=$((i + 1)); [ $i -ge 150 ] && { fail "serve did not stop on SIG$1"; return 1; }
		sleep 0.1
	done
	wait "$2"; st=$?
	[ "$st" = 0 ] || fail "serve exited $st on SIG$1"
}

say "port 0 and --ready-file"
start_serve h
grep -Eq '^127\.0\.0\.1:[1-9][0-9]*$' "$T/h.ready" || fail "ready file: $(cat "$T/h.ready")"
expect_success "send" elog send -c a one
stop_serve

say "several --listen; IPv6 loopback when available"
v6=0
if $PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	v6=1
fi
if [ $v6 = 1 ]; then
	run_serve_bg multi --db "$T/multi.db" --http none --listen 127.0.0.1:0 --listen '[::1]:0'
	[ "$(wc -l <"$T/multi.ready")" = 2 ] || fail "want 2 lines in ready file: $(cat "$T/multi.ready")"
	a4=$(sed -n 1p "$T/multi.ready"); a6=$(sed -n 2p "$T/multi.ready")
	echo "$a6" | grep -Eq '^\[::1\]:[1-9][0-9]*$' || fail "v6 line: $a6"
	expect_success "send v4" elog send --server "$a4" -c v4 over-v4
	expect_success "send v6" elog send --server "$a6" -c v6 over-v6
else
	say "no IPv6 loopback: two IPv4 listeners only"
	run_serve_bg multi --db "$T/multi.db" --http none --listen 127.0.0.1:0 --listen 127.0.0.1:0
	[ "$(wc -l <"$T/multi.ready")" = 2 ] || fail "want 2 lines in ready file"
	a4=$(sed -n 1p "$T/multi.ready"); a6=$(sed -n 2p "$T/multi.ready")
	[ "$a4" != "$a6" ] || fail "same address twice"
	expect_success "send 1" elog send --server "$a4" -c v4 over-v4
	expect_success "send 2" elog send --server "$a6" -c v6 over-v6
fi
stop_with TERM $BGPID
[ "$(count_db "$T/multi.db")" = 2 ] || fail "multi: want 2 records"

say "default history under \$XDG_STATE_HOME, directories created"
[ ! -e "$XDG_STATE_HOME" ] || fail "state dir exists before the test"
run_serve_bg def --listen 127.0.0.1:0
ELOG_SERVER=$(head -1 "$T/def.ready")
expect_success "send default" elog send --server "$ELOG_SERVER" -c d to-default
stop_with TERM $BGPID
test -f "$XDG_STATE_HOME/elog/history.db" || fail "no $XDG_STATE_HOME/elog/history.db"
[ "$(count_db "$XDG_STATE_HOME/elog/history.db")" = 1 ] || fail "default db: want 1 record"

say "ELOG_DB honoured"
ELOG_DB="$T/envdir/sub/env.db" run_serve_bg env --listen 127.0.0.1:0
expect_success "send env" elog send --server "$(head -1 "$T/env.ready")" -c e to-env
stop_with TERM $BGPID
[ "$(count_db "$T/envdir/sub/env.db")" = 1 ] || fail "ELOG_DB file: want 1 record"
[ "$(count_db "$XDG_STATE_HOME/elog/history.db")" = 1 ] || fail "default db touched"

say "WAL and user_version"
[ "$(sqlite3 "$T/multi.db" 'PRAGMA journal_mode')" = wal ] || fail "journal_mode not wal"
uv=$(sqlite3 "$T/multi.db" 'PRAGMA user_version')
[ "$uv" -ge 1 ] 2>/dev/null || fail "user_version '$uv'"

say "SIGTERM and SIGINT: exit 0, everything acknowledged is committed"
for sig in TERM INT; do
	run_serve_bg sig$sig --db "$T/sig$sig.db" --listen 127.0.0.1:0
	seq 1 5000 | elog send --server "$(head -1 "$T/sig$sig.ready")" -c bulk ||
		fail "bulk send before SIG$sig"
	stop_with $sig $BGPID
	[ "$(count_db "$T/sig$sig.db")" = 5000 ] || fail "SIG$sig: want 5000 records, got $(count_db "$T/sig$sig.db")"
	grep -q 'history closed' "$T/sig$sig.err" || fail "SIG$sig: no 'history closed' in stderr"
done

say "a corrupt file as --db: clear error, exit 1, file untouched"
head -c 8192 /dev/urandom >"$T/corrupt.db"
printf 'not a database at all\n' >>"$T/corrupt.db"
cp "$T/corrupt.db" "$T/corrupt.orig"
must_fail 1 "corrupt db" "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/corrupt.db" 2>"$T/err"
grep -q "corrupt.db" "$T/err" || fail "error does not name the file: $(cat "$T/err")"
grep -q "^elog: " "$T/err" || fail "error not prefixed: $(cat "$T/err")"
cmp "$T/corrupt.db" "$T/corrupt.orig" || fail "corrupt file modified"
for f in "$T/corrupt.db-wal" "$T/corrupt.db-shm" "$T/corrupt.db-journal"; do
	[ ! -s "$f" ] || fail "left $f behind"
done

say "a foreign SQLite database as --db: refused, untouched"
sqlite3 "$T/foreign.db" 'CREATE TABLE t(a, b); INSERT INTO t VALUES (1, 2);'
cp "$T/foreign.db" "$T/foreign.orig"
must_fail 1 "foreign db" "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/foreign.db" 2>"$T/err"
grep -q "foreign.db" "$T/err" || fail "error does not name the file: $(cat "$T/err")"
grep -q "not an elog history" "$T/err" || fail "no cause: $(cat "$T/err")"
cmp "$T/foreign.db" "$T/foreign.orig" || fail "foreign file modified"
[ "$(sqlite3 "$T/foreign.db" 'PRAGMA journal_mode')" = delete ] || fail "foreign db switched to WAL"

say "an unwritable history directory: clear error"
printf x >"$T/plainfile"
must_fail 1 "db under a file" "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/plainfile/h.db" 2>"$T/err"
grep -q "plainfile" "$T/err" || fail "error does not name the path: $(cat "$T/err")"
if [ "$(id -u)" != 0 ]; then
	mkdir "$T/ro"; chmod 555 "$T/ro"
	must_fail 1 "read-only dir" "$ELOG_BIN" serve --listen 127.0.0.1:0 --db "$T/ro/h.db" 2>"$T/err"
	grep -q "ro/h.db" "$T/err" || fail "error does not name the file: $(cat "$T/err")"
	chmod 755 "$T/ro"
else
	say "running as root: read-only directory case skipped"
fi

say "port in use: clear error"
start_serve busy
port=${SERVER##*:}
must_fail 1 "port in use" "$ELOG_BIN" serve --listen "127.0.0.1:$port" --db "$T/busy2.db" 2>"$T/err"
grep -q "127.0.0.1:$port" "$T/err" || fail "error does not name the address: $(cat "$T/err")"
grep -q "in use" "$T/err" || fail "error gives no cause: $(cat "$T/err")"
expect_success "first serve still works" elog send -c still here
stop_serve

say "bad usage"
must_fail 2 "unknown flag" "$ELOG_BIN" serve --bogus 2>/dev/null
must_fail 2 "stray argument" "$ELOG_BIN" serve stray 2>/dev/null
echo "t1000: ok"
