#!/bin/sh
# Issue #14 (15): a Read or GetLogs resume cursor at or past 2^63-1 is past every record, so
# it returns nothing. It used to return the whole history: the wire's uint64 after_id was
# cast to int64 (2^63 and up became negative: "no cursor"), and after_id + 1 overflowed at
# 2^63-1 (under UBSan serve stopped there).
. "$(dirname "$0")/lib.sh"
start_serve h
py_stubs "$T/py" || fail "generating python stubs"

say "Read and GetLogs with after_id 2^63-2 .. 2^64-1 return no record; serve stays up"
PYTHONPATH="$ELOG_TOP/tests/py" timeout 120 $PY "$ELOG_TOP/tests/py/fanout_peer.py" after-id \
	"$SERVER" "$T/py" || fail "after_id at the top of the range"
kill -0 "$SERVE_PID" || fail "serve died"

stop_serve
echo "t9523: ok"
