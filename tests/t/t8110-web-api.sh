#!/bin/sh
# The web view's JSON API (urllib) and its follow WebSocket (python3-websockets): components
# with the terminal's colours, records paged by id with no gap and no duplicate, the filters
# (components, level, grep with `elog logs --grep` semantics, time), context, export as JSON
# Lines and CSV, the page itself, and follow resuming after a reconnect with no gap or dup.
. "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN

start_serve api --http 127.0.0.1:0
WEB=$(sed -n 2p "$T/api.ready")

run_case() {
	timeout 120 $PY "$T/case.py" "$WEB" >"$T/case.out" 2>&1 || fail "$(cat "$T/case.out")"
}

# 300 records: web (info), db (every 10th an error), cache (debug)
i=0
while [ $i -lt 100 ]; do
	echo "web line $i"
	i=$((i + 1))
done | elog send -c web || fail "send web"
i=0
while [ $i -lt 100 ]; do
	if [ $((i % 10)) = 0 ]; then
		echo "{\"level\":\"error\",\"msg\":\"Query $i Timed Out\",\"table\":\"t$i\"}"
	else
		echo "{\"level\":\"info\",\"msg\":\"query $i ok\"}"
	fi
	i=$((i + 1))
done | elog send -c db || fail "send db"
i=0
while [ $i -lt 100 ]; do
	echo "cache hit $i"
	i=$((i + 1))
done | elog send -c cache -l debug || fail "send cache"

say "GET / serves the page; an unknown path is 404"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
st, h, body = http(base + "/")
check(st == 200 and h["Content-Type"].startswith("text/html") and b"<html" in body.lower(), "page %s %s" % (st, h["Content-Type"]))
check(h["X-Content-Type-Options"] == "nosniff", "nosniff header")
st, h, body = http(base + "/no/such/file")
check(st == 404, "404: %s" % st)
st, h, body = http(base + "/api/nothing")
check(st == 404 and json.loads(body)["error"], "api 404: %s %s" % (st, body))
done()
EOF
run_case

say "components: counts, last seen, and the terminal's colours in order of first appearance"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
c = get_json(base + "/api/components")["components"]
check([x["name"] for x in c] == ["web", "db", "cache"], "order %r" % c)
check([x["count"] for x in c] == [100, 100, 100], "counts %r" % c)
# the palette of src/view/display.c: 256-colour codes 39, 201, 44 as RGB
check([(x["ansi"], x["color"]) for x in c] == [(39, "#00afff"), (201, "#ff00ff"), (44, "#00d7d7")], "colours %r" % c)
check(all(x["last_seen"].endswith("Z") and len(x["last_seen"]) == 24 for x in c), "last_seen %r" % c)
done()
EOF
run_case

say "the terminal gives the same colours (elog logs --color always)"
TERM=xterm-256color COLORTERM= elog logs --color always --tail 1 >"$T/colors" 2>&1 || fail "logs"
grep -q "$(printf '\033\\[38;5;39mweb')" "$T/colors" || fail "web is not colour 39: $(od -c "$T/colors" | head)"
grep -q "$(printf '\033\\[38;5;201mdb')" "$T/colors" || fail "db is not colour 201"

say "records: the newest page, then older pages by before=ID and newer by after=ID, no gap, no dup"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
r = get_json(base + "/api/records?limit=70")
recs = r["records"]
check(len(recs) == 70 and r["more"] is True, "first page %d %r" % (len(recs), r.get("more")))
check(recs[-1]["id"] == 300 and [x["id"] for x in recs] == sorted(x["id"] for x in recs), "ascending, newest last")
seen = [x["id"] for x in recs]
while r["more"]:
    r = get_json(base + "/api/records?limit=70&before=%d" % seen[0])
    seen = [x["id"] for x in r["records"]] + seen
check(seen == list(range(1, 301)), "all ids once, in order: %d records" % len(seen))
# forward from the start
ids, after = [], 0
while True:
    r = get_json(base + "/api/records?limit=100&after=%d" % after)
    ids += [x["id"] for x in r["records"]]
    if not r["more"]:
        break
    after = ids[-1]
check(ids == list(range(1, 301)), "forward: %d" % len(ids))
rec = get_json(base + "/api/records?limit=1&before=112")["records"][0]
check(rec["id"] == 111 and rec["component"] == "db" and rec["level"] == "error" and rec["msg"] == "Query 10 Timed Out"
      and rec["fields"] == {"table": "t10"} and rec["ts"].endswith("Z") and isinstance(rec["ts_ns"], int)
      and rec["source"] != None, "record %r" % rec)
for bad in ("limit=1001", "limit=x", "before=1&after=2", "level=loud", "grep=(", "since=never"):
    st, h, body = http(base + "/api/records?" + bad)
    check(st == 400 and json.loads(body).get("error"), "%s -> %s %s" % (bad, st, body))
done()
EOF
run_case

say "filters: components, minimum level, grep as elog logs --grep (smart case), time"
cat >"$T/case.py" <<'EOF'
import sys, subprocess, os, urllib.parse
from weblib import *
base = sys.argv[1]
def ids(q):
    return [x["id"] for x in get_json(base + "/api/records?limit=1000&" + q)["records"]]
def cli(*args):
    out = subprocess.run([os.environ["ELOG_BIN"], "logs", "--json"] + list(args), capture_output=True, check=True).stdout
    return [json.loads(l)["id"] for l in out.splitlines()]
check(ids("c=cache") == list(range(201, 301)), "c=cache")
check(ids("c=web,cache") == list(range(1, 101)) + list(range(201, 301)), "c=web,cache")
check(ids("level=error") == cli("-l", "error+"), "level=error")
check(len(ids("level=info")) == 200, "level=info is a minimum: %d" % len(ids("level=info")))
for pat in ("timed out", "Timed", "query [0-9]+ ok", "t1\\d"):
    check(ids("grep=" + urllib.parse.quote(pat)) == cli("--grep", pat), "grep %r" % pat)
check(ids("grep=" + urllib.parse.quote("timed out")) and not ids("grep=" + urllib.parse.quote("TIMED")), "smart case")
check(ids("since=1h") == list(range(1, 301)) and ids("until=1h") == [], "since/until")
done()
EOF
run_case

say "context: the records around one, from every component"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
r = get_json(base + "/api/context?id=101&n=3")
check([x["id"] for x in r["records"]] == [98, 99, 100, 101, 102, 103, 104], "context %r" % [x["id"] for x in r["records"]])
check({x["component"] for x in r["records"]} == {"web", "db"}, "components")
r = get_json(base + "/api/context?id=1&n=2")
check([x["id"] for x in r["records"]] == [1, 2, 3], "at the start")
st, h, body = http(base + "/api/context?id=5&n=101")
check(st == 400, "n over the limit: %s" % st)
done()
EOF
run_case

say "export: JSON Lines and CSV as elog export writes them, as a download"
cat >"$T/case.py" <<'EOF'
import sys, subprocess, os
from weblib import *
base = sys.argv[1]
for fmt, flag in (("jsonl", "--json"), ("csv", "--csv")):
    st, h, body = http(base + "/api/export?format=%s&c=db&level=error" % fmt)
    check(st == 200 and "attachment" in h.get("Content-Disposition", "") and fmt in h["Content-Disposition"], "%s headers %s" % (fmt, dict(h)))
    want = subprocess.run([os.environ["ELOG_BIN"], "export", flag, "-c", "db", "-l", "error+"], capture_output=True, check=True).stdout
    check(body == want, "%s body differs:\n%r\n%r" % (fmt, body[:300], want[:300]))
st, h, body = http(base + "/api/export?format=xml")
check(st == 400, "format xml: %s" % st)
st, h, body = http(base + "/api/export?format=jsonl")
check(body.count(b"\n") == 300, "everything: %d lines" % body.count(b"\n"))
done()
EOF
run_case

say "follow: records as they commit, filtered; a reconnect with after= resumes with no gap or dup"
cat >"$T/case.py" <<'EOF'
import asyncio, sys
from weblib import *
base = sys.argv[1]
async def take(ws, n):
    got = []
    while len(got) < n:
        m = await recv_json(ws)
        check(m["type"] == "records", "message type %r" % m.get("type"))
        got += m.get("records", [])
    return got
async def main():
    async with websockets.connect(ws_url(base, "/api/follow?c=live&grep=keep")) as ws:
        send("-c", "other", "keep but other component")
        send("-c", "live", stdin=b"".join(b"keep %d\n" % i if i % 2 == 0 else b"drop %d\n" % i for i in range(10)))
        got = await take(ws, 5)
        check([x["msg"] for x in got] == ["keep %d" % i for i in range(0, 10, 2)], "live %r" % [x["msg"] for x in got])
        last = got[-1]["id"]
    # sent while nobody follows
    send("-c", "live", stdin=b"".join(b"keep again %d\n" % i for i in range(5)))
    async with websockets.connect(ws_url(base, "/api/follow?c=live&grep=keep&after=%d" % last)) as ws:
        got = await take(ws, 5)
        check([x["msg"] for x in got] == ["keep again %d" % i for i in range(5)], "resumed %r" % [x["msg"] for x in got])
        send("-c", "live", "keep last")
        got2 = await take(ws, 1)
        check([x["msg"] for x in got2] == ["keep last"] and got2[0]["id"] > got[-1]["id"], "then live %r" % got2)
asyncio.run(main())
check(handshake_status(ws_url(base, "/api/follow?grep=(")) == 400, "bad pattern refused")
check(handshake_status(ws_url(base, "/elsewhere")) == 404, "unknown socket path")
done()
EOF
run_case

stop_serve
