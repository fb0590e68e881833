#!/bin/sh
# The history's permissions (hardening #14, finding 14): it holds every log line and the key
# hashes, so the default directory $XDG_STATE_HOME/elog is created 0700 and history.db,
# history.db-wal and history.db-shm 0600, whatever the umask; a --db in new directories too.
. "$(dirname "$0")/lib.sh"

mode() { stat -c %a "$1"; }
umask 022

say "the default history: directory 0700, db, -wal and -shm 0600 after serve starts"
rm -f "$T/d.ready"
"$ELOG_BIN" serve --listen 127.0.0.1:0 --ready-file "$T/d.ready" 2>"$T/d.err" &
SERVE_PID=$!
SERVE_PIDS="$SERVE_PIDS $SERVE_PID"
wait_for "serve ready" 30 test -s "$T/d.ready"
export ELOG_SERVER=$(head -1 "$T/d.ready")
H=$XDG_STATE_HOME/elog
[ "$(mode "$H")" = 700 ] || fail "$H is $(mode "$H")"
for f in history.db history.db-wal history.db-shm; do
	[ -e "$H/$f" ] || continue
	[ "$(mode "$H/$f")" = 600 ] || fail "$f is $(mode "$H/$f") after start"
done

say "and after writes"
seq 1 200 | elog send -c perms || fail "send"
[ "$(elog export --json -c perms | wc -l)" = 200 ] || fail "export"
for f in history.db history.db-wal history.db-shm; do
	[ -e "$H/$f" ] || fail "no $f"
	[ "$(mode "$H/$f")" = 600 ] || fail "$f is $(mode "$H/$f") after writes"
done
stop_serve

say "a --db in directories that do not exist yet"
start_serve unused --db "$T/new/sub/h.db"   # the last --db wins
seq 1 10 | elog send -c p2 || fail "send"
[ "$(mode "$T/new")" = 700 ] || fail "$T/new is $(mode "$T/new")"
[ "$(mode "$T/new/sub")" = 700 ] || fail "$T/new/sub is $(mode "$T/new/sub")"
for f in h.db h.db-wal h.db-shm; do
	[ "$(mode "$T/new/sub/$f")" = 600 ] || fail "$f is $(mode "$T/new/sub/$f")"
done
stop_serve
echo "t9542: ok"
