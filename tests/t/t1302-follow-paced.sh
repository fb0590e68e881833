#!/bin/sh
# A Read follower's live pages are paced by the number of followers (README "Limits": the next
# page no sooner than 0.1 ms x followers, at most 5 ms, after the previous): with 40 followers
# and a sender that makes serve commit once a record, the follower still gets every record
# once, in order, in few pages (without the pacing it got one page per commit).
. "$(dirname "$0")/lib.sh"
if ! $PY -c 'import grpc' 2>/dev/null; then
	echo "t1302: skipped: $PY has no grpc module (python3-grpcio)"
	exit 0
fi
py_stubs "$T/py" || fail "generating python stubs"
start_serve h

say "40 followers, 600 commits of one record: every record once, in order, in paced pages"
PYTHONPATH="$ELOG_TOP/tests/py" timeout 150 $PY "$ELOG_TOP/tests/py/pace_peer.py" \
	"$SERVER" "$T/py" 39 600 >"$T/pace.out" 2>"$T/pace.err" ||
	fail "pace peer: $(cat "$T/pace.err")"
cat "$T/pace.out"

stop_serve
echo "t1302: ok"
