#!/bin/sh
# The LeadGen WebSocket contract on "/" (issue 18) with Debian's python3-websockets, the library
# LeadGen's client uses: live entries in LeadGen's format, analysis requests and their replies
# (counts, errors per minute, patterns), malformed requests answered with an error and the
# connection kept.
. "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN

start_serve lg --http 127.0.0.1:0
WEB=$(sed -n 2p "$T/lg.ready")
case $WEB in http://127.0.0.1:*) ;; *) fatal "no http line in the ready file: $(cat "$T/lg.ready")" ;; esac

# runs the python case in $T/case.py with the web URL; its failures are this case's
run_case() {
	timeout 120 $PY "$T/case.py" "$WEB" >"$T/case.out" 2>&1 || fail "$(cat "$T/case.out")"
}

say "live entries arrive in LeadGen's format, one message per record"
cat >"$T/case.py" <<'EOF'
import asyncio, json, sys
from weblib import *
base = sys.argv[1]
async def main():
    async with websockets.connect(ws_url(base)) as ws:
        send("-c", "api", "request 42 failed after 150 ms")
        send("-c", "worker", "--level", "warn", "queue is slow")
        send("-c", "db", stdin=b'{"level":"error","msg":"disk full","stream":"stderr","dev":"sda"}\n')
        got = [await recv_json(ws) for _ in range(3)]
        keys = {"timestamp", "source", "stream", "content", "level", "service_name", "metadata", "context"}
        for e in got:
            check(set(e) == keys, "keys %s" % sorted(e))
            check(e["timestamp"].endswith("Z") and len(e["timestamp"]) == 24, "timestamp %r" % e["timestamp"])
            check(isinstance(e["metadata"], dict) and "service_type" in e["context"], "metadata/context %r" % e)
        a, w, d = got
        check(a["content"] == "request 42 failed after 150 ms" and a["service_name"] == "api"
              and a["level"] == "INFO" and a["stream"] == "stdout", "api entry %r" % a)
        check(w["level"] == "WARNING" and w["service_name"] == "worker", "warn entry %r" % w)
        check(d["level"] == "ERROR" and d["content"] == "disk full" and d["stream"] == "stderr"
              and d["metadata"].get("dev") == "sda", "db entry %r" % d)
asyncio.run(main())
done()
EOF
run_case

say "an analysis request gets its reply: totals, levels, services, errors per minute, patterns"
cat >"$T/case.py" <<'EOF'
import asyncio, json, sys
from weblib import *
base = sys.argv[1]
lines = "".join("request %d failed after %d ms\n" % (i, i * 7) for i in range(20)).encode()
send("-c", "backend", "--level", "error", stdin=lines)
send("-c", "backend", stdin=b"user alice logged in\nuser bob logged in\n")
async def main():
    async with websockets.connect(ws_url(base)) as ws:
        await ws.send(json.dumps({"type": "analysis_request", "request_id": "r-1", "time_range": 3600,
                                  "service": "backend"}))
        r = await recv_json(ws)
        while r.get("type") != "analysis_response":   # live entries may come first
            r = await recv_json(ws)
        check(r["request_id"] == "r-1" and r["time_range"] == 3600, "echo %r" % r)
        check(r["total"] == 22, "total %r" % r["total"])
        check(r["by_level"] == {"DEBUG": 0, "INFO": 2, "WARNING": 0, "ERROR": 20}, "by_level %r" % r["by_level"])
        check(r["by_service"] == {"backend": 22}, "by_service %r" % r["by_service"])
        check(sum(m["count"] for m in r["errors_per_minute"]) == 20, "errors_per_minute %r" % r["errors_per_minute"])
        top = r["top_patterns"]
        check(top and top[0]["pattern"] == "request <*> failed after <*> ms" and top[0]["count"] == 20
              and top[0]["level"] == "ERROR" and top[0]["service"] == "backend"
              and top[0]["example"].startswith("request ") and top[0]["first"] <= top[0]["last"], "top %r" % top[:1])
        check(any(p["pattern"] == "user <*> logged in" and p["count"] == 2 for p in top), "user pattern %r" % top)
        # level filter, and a service with nothing
        await ws.send(json.dumps({"type": "analysis_request", "request_id": 7, "time_range": 60,
                                  "service": "backend", "level": "INFO"}))
        r = await recv_json(ws)
        while r.get("type") != "analysis_response":
            r = await recv_json(ws)
        check(r["request_id"] == 7 and r["total"] == 2 and r["level"] == "INFO", "INFO only %r" % r)
        await ws.send(json.dumps({"type": "analysis_request", "request_id": "none", "time_range": 60,
                                  "service": "nothing-here"}))
        r = await recv_json(ws)
        check(r["total"] == 0 and r["top_patterns"] == [] and r["errors_per_minute"] == [], "empty %r" % r)
asyncio.run(main())
done()
EOF
run_case

say "malformed requests get an error with the request id, and the connection stays usable"
cat >"$T/case.py" <<'EOF'
import asyncio, json, sys
from weblib import *
base = sys.argv[1]
async def main():
    async with websockets.connect(ws_url(base)) as ws:
        cases = [
            ("not json", None, "malformed"),
            ("[1,2]", None, "malformed"),
            (json.dumps({"request_id": "a"}), "a", "missing type"),
            (json.dumps({"type": "subscribe", "request_id": "b"}), "b", "unknown request type"),
            (json.dumps({"type": "analysis_request"}), None, "missing request_id"),
            (json.dumps({"type": "analysis_request", "request_id": "c", "time_range": -5}), "c", "time_range"),
            (json.dumps({"type": "analysis_request", "request_id": "d", "time_range": "x"}), "d", "time_range"),
            (json.dumps({"type": "analysis_request", "request_id": "e", "level": "LOUD"}), "e", "level"),
            (json.dumps({"type": "analysis_request", "request_id": "f", "service": 3}), "f", "service"),
            ("x" * 70000, None, "the limit is 65536 bytes"),
        ]
        for text, rid, words in cases:
            await ws.send(text)
            r = await recv_json(ws)
            check(r.get("type") == "error" and r.get("request_id") == rid and words in r.get("error", ""),
                  "%r -> %r" % (text[:60], r))
        # still served
        await ws.send(json.dumps({"type": "analysis_request", "request_id": "ok", "time_range": 10}))
        r = await recv_json(ws)
        check(r.get("type") == "analysis_response" and r.get("request_id") == "ok", "after errors %r" % r)
        send("-c", "after", "still live")
        e = await recv_json(ws)
        check(e.get("content") == "still live", "live after errors %r" % e)
asyncio.run(main())
done()
EOF
run_case

say "serve stops cleanly with LeadGen clients connected"
cat >"$T/case.py" <<'EOF'
import asyncio, json, os, signal, sys
from weblib import *
base = sys.argv[1]
async def main():
    async with websockets.connect(ws_url(base)) as ws:
        os.kill(int(os.environ["SERVE_PID"]), signal.SIGTERM)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 20)
        except websockets.exceptions.ConnectionClosed:
            pass
asyncio.run(main())
done()
EOF
SERVE_PID=$SERVE_PID timeout 60 $PY "$T/case.py" "$WEB" >"$T/case.out" 2>&1 || fail "$(cat "$T/case.out")"
wait "$SERVE_PID"; st=$?
[ "$st" = 0 ] || fail "serve exited $st"
grep -q "history closed" "$T/lg.err" || fail "no clean stop: $(cat "$T/lg.err")"
