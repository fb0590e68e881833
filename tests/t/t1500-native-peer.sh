#!/bin/sh
# elog.v1.Hub against another gRPC implementation: tests/py/native_peer.py (Debian's
# python3-grpcio, stubs generated from proto/) ingests in batches, checks the acks, dedupe,
# Read's filters, limit, after_id and follow, Components, and undecodable input; then what
# it stored is checked through `elog export`, and serve must stop cleanly.
. "$(dirname "$0")/lib.sh"

if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t1500: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
command -v protoc >/dev/null && [ -x /usr/bin/grpc_python_plugin ] ||
	{ echo "t1500: skipped: no protoc + grpc_python_plugin"; exit 0; }

py_stubs "$T/py" || fail "generating python stubs"
start_serve h
timeout 120 $PY "$ELOG_TOP/tests/py/native_peer.py" "$SERVER" "$T/py" ||
	{ cat "$T/h.err" >&2; fail "native peer"; }
kill -0 $SERVE_PID || fail "serve died"

say "what the peer stored, through elog export"
elog export --json -l error+ -c "$(elog export --json -n 1 | $PY -c 'import json, sys; print(json.load(sys.stdin)["component"].split("-")[0])')-a" >"$T/out" ||
	fail "export"
$PY - "$T/out" <<'EOF' || fail "export check"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs and all(r["level"] in ("error", "fatal") and r["source"] == "pypeer" for r in recs), recs[:3]
assert all(isinstance(r["fields"], dict) and "n" in r["fields"] for r in recs)
EOF
elog export --json --grep '^bad ' >"$T/utf8" || fail "export utf8"
$PY -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$T/utf8" ||
	fail "export of repaired text is not valid UTF-8 JSON"
stop_serve
echo "t1500: ok"
