#!/bin/sh
# One size limit for a record (README "Limits"): no string of a record is over 1 MiB. A
# python3-grpcio peer sends a record of almost 16 MiB (one message at most) through
# elog.v1.Hub/Ingest: its message is kept cut as a line's, and `elog logs` and `elog export` go on working; a fields
# or component over the limit is refused naming it; pages of Read stay under 6 MiB with
# records at the limit, and with a record over it stored by an older serve.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t9551: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
command -v protoc >/dev/null && [ -x /usr/bin/grpc_python_plugin ] ||
	{ echo "t9551: skipped: no protoc + grpc_python_plugin"; exit 0; }
py_stubs "$T/py" || fail "generating python stubs"
peer() { timeout 300 $PY "$ELOG_TOP/tests/py/native_peer.py" "$SERVER" "$T/py" "$@"; }
MARK=" …[truncated]"

start_serve h

say "a record of almost 16 MiB: stored with its message cut; 64 MiB and over-limit fields refused"
peer sizes-ingest t || { tail -5 "$T/h.err" >&2; fail "ingest of a record over the limit"; }

say "elog logs and elog export still work after it"
elog logs >"$T/logs" 2>"$T/logs.err" || { cat "$T/logs.err" >&2; fail "elog logs after a huge record"; }
grep -q 'xxxx …\[truncated\]' "$T/logs" || fail "elog logs does not show the cut message"
elog export --json >"$T/export" 2>"$T/export.err" || { cat "$T/export.err" >&2; fail "elog export after a huge record"; }
$PY - "$T/export" "$MARK" <<'EOF' || fail "export of the cut record"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
huge = [r for r in recs if r["component"] == "t-huge"]
assert len(huge) == 1 and huge[0]["msg"] == "x" * (1 << 20) + sys.argv[2], [len(r["msg"]) for r in huge]
assert sum(1 for r in recs if r["component"] == "t-small") == 200
EOF
elog export --csv >/dev/null || fail "elog export --csv after a huge record"

say "records with every string at the limit: pages stay under 6 MiB"
peer sizes-pages t || fail "pages of near-limit records"

say "a record over the limit in an older history: read cut, logs and export work"
stop_serve
sqlite3 "$T/h.db" "INSERT INTO records (ts, arrival, component, level, msg, fields, source)
	VALUES (1, 1, 'old', 2, replace(hex(zeroblob(4000000)), '0', 'x'),
		replace(hex(zeroblob(4000000)), '0', 'x'), 'old');" || fail "sqlite3 insert"
start_serve h
peer sizes-old old || fail "reading an old record over the limit"
elog logs -c old >"$T/old" || fail "elog logs of the old record"
[ "$(wc -c <"$T/old")" -lt 3000000 ] || fail "elog logs printed the old record whole"
elog export --json >/dev/null || fail "elog export with the old record"
stop_serve
echo "t9551: ok"
