#!/bin/sh
# A browser that stops reading its follow socket does not slow ingest: the socket's send queue
# is bounded, its follower falls behind the hub's live list, and when it reads again it gets a
# "gap" notice and the records it missed read back from the history — every id once, in order,
# nothing dropped. The same for a LeadGen client that stops reading.
. "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN

start_serve slow --http 127.0.0.1:0
WEB=$(sed -n 2p "$T/slow.ready")
N=45000

say "a follow socket that does not read: ingest goes on, then every record arrives, with a gap notice"
timeout 240 $PY - "$WEB" "$N" >"$T/case.out" 2>&1 <<'EOF' || fail "$(cat "$T/case.out")"
import asyncio, sys, time
from weblib import *
base, n = sys.argv[1], int(sys.argv[2])
pad = "x" * 400
lines = "".join("slow record %d %s\n" % (i, pad) for i in range(n)).encode()
async def main():
    # max_queue=1: the client library stops reading the socket once one message waits
    f = await websockets.connect(ws_url(base, "/api/follow?c=slow"), max_queue=1, max_size=None)
    lg = await websockets.connect(ws_url(base), max_queue=1, max_size=None)
    t0 = time.monotonic()
    await asyncio.get_running_loop().run_in_executor(None, lambda: send("-c", "slow", stdin=lines))
    took = time.monotonic() - t0
    check(took < 120, "ingest took %.1f s with stalled readers" % took)
    last = get_json(base + "/api/records?limit=1&c=slow")["records"][0]["id"]
    ids, gaps = [], 0
    while not ids or ids[-1] < last:
        m = await recv_json(f, 60)
        if m["type"] == "gap":
            gaps += 1
            check(m["from"] <= m["to"] and "history" in m["message"], "gap %r" % m)
        else:
            ids += [r["id"] for r in m["records"]]
    check(ids == list(range(ids[0], last + 1)) and len(ids) == n, "follow ids: %d, first %d last %d" % (len(ids), ids[0], ids[-1]))
    check(gaps >= 1, "no gap notice: the reader never fell behind (raise N?)")
    got = 0
    while got < n:
        e = await recv_json(lg, 60)
        check(e["content"] == "slow record %d %s" % (got, pad), "LeadGen entry %d: %r" % (got, e["content"][:40]))
        if failures:
            break
        got += 1
    await f.close()
    await lg.close()
asyncio.run(main())
done()
EOF
stop_serve
grep -q "records committed" "$T/slow.err" || fail "serve: $(cat "$T/slow.err")"
if grep -q "; 0 went to slow followers" "$T/slow.err"; then
	fail "no follower fell behind: $(cat "$T/slow.err")"
fi
