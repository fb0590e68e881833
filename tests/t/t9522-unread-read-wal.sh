#!/bin/sh
# Issue #14 (6): a Read whose client stops reading lets go of the history. It used to keep its
# SQLite statement (a read transaction on an old snapshot) open while it waited for the
# client, so no checkpoint could copy the WAL past it and the WAL never started over: it grew
# with everything ingested after (27 -> 368 MB with 240k records). Now history goes out a page
# at a time and the statement is finalized before each page is sent; the next page is queried
# again from the last id sent.
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9522: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
command -v sqlite3 >/dev/null || { echo "t9522: skipped: no sqlite3"; exit 0; }
py_stubs "$T/py" || fail "generating python stubs"
peer() { PYTHONPATH="$ELOG_TOP/tests/py" $PY "$ELOG_TOP/tests/py/fanout_peer.py" "$@"; }
start_serve h
DB="$T/h.db"
# ckpt: "busy|frames in the WAL|frames copied into the database" (a passive checkpoint)
ckpt() { sqlite3 "$DB" 'PRAGMA wal_checkpoint(PASSIVE);'; }
all_copied() { c=$(ckpt) && [ "${c%%|*}" = 0 ] && r=${c#*|} && [ "${r%|*}" = "${r#*|}" ]; }
wal_kib() { echo $(( $(stat -c %s "$DB-wal") / 1024 )); }

say "a Read that stopped reading does not keep the WAL from being copied and starting over"
# a history far larger than what gRPC's windows and queues hold for one call
seq 1 200000 | sed 's/^/history line for a reader that stops reading, padded a little: /' |
	elog send -c hist || fail "history send"
peer unread "$SERVER" "$T/py" "$T/unread.ready" 2>"$T/unread.err" &
BG_PIDS="$BG_PIDS $!"
wait_for "the reader to take its first page" 30 test -s "$T/unread.ready"
seq 1 100000 | sed 's/^/later line written while the reader does not read, padded a little: /' |
	elog send -c later || fail "send while the reader does not read"
# A commit starts the WAL over when every frame was copied as its transaction began and no
# reader still uses the WAL. serve's sealer commits on its own while it packs the 300k records
# into blocks, so one commit may begin between a copy and the next: poll (a copy, then one
# more line) until the WAL starts over, for at most 60 s; the stopped reader must not keep it
# from ever starting over.
i=0 restarted=
while [ $i -lt 600 ]; do
	i=$((i + 1))
	if all_copied; then
		copied=$(ckpt)
		elog send -c after "one more line $i" || fail "send after"
		c=$(ckpt); r=${c#*|}
		if [ "${r%|*}" -lt 1000 ]; then restarted=$c; break; fi
	fi
	sleep 0.1
done
if [ -n "$restarted" ]; then
	say "the WAL was copied ($copied: busy|frames|copied) and one more commit started it over: $restarted"
else
	fail "the WAL did not start over in 60 s: $(ckpt) (busy|frames|copied), file $(wal_kib) KiB"
fi
kill -0 "$SERVE_PID" || fail "serve died"

say "history read page by page is complete and in order; -n N across pages gives the last N"
check_ids() {   # FILE COUNT LAST: COUNT records, ids strictly ascending, the last msg ends LAST
	$PY - "$@" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ids = [r["id"] for r in recs]
assert len(recs) == int(sys.argv[2]), "%d records, expected %s" % (len(recs), sys.argv[2])
assert all(a < b for a, b in zip(ids, ids[1:])), "ids not strictly ascending"
assert recs[-1]["msg"].endswith(" " + sys.argv[3]), recs[-1]["msg"]
PYEOF
}
elog logs --json -c hist >"$T/all.json" || fail "logs of the whole history"
check_ids "$T/all.json" 200000 200000 || fail "the whole history through pages"
elog logs --json -c later -n 5000 >"$T/last.json" || fail "logs -n 5000"
check_ids "$T/last.json" 5000 100000 || fail "the last 5000 through pages"
elog logs --json -n 4097 --grep '^later line' >"$T/grep.json" || fail "logs -n 4097 --grep"
check_ids "$T/grep.json" 4097 100000 || fail "the last 4097 matching a pattern through pages"
stop_serve
echo "t9522: ok"
