"""weblib.py — helpers for the web listener's tests (t81NN): HTTP with urllib, WebSockets with
Debian's python3-websockets (the library LeadGen's client uses). Every wait is bounded."""
import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

import websockets

failures = 0


def check(cond, what):
    """Records a failed check (printed; the script exits 1 at the end)."""
    global failures
    if not cond:
        failures += 1
        print("FAIL: " + what, file=sys.stderr)
    return cond


def done():
    sys.exit(1 if failures else 0)


def http(url, headers=None, data=None, method=None):
    """(status, headers, body bytes); never raises for an HTTP status."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def get_json(url, headers=None):
    st, h, body = http(url, headers)
    check(st == 200, "GET %s: status %s: %s" % (url, st, body[:300]))
    return json.loads(body) if st == 200 else {}


def ws_url(base, path="/"):
    return base.replace("https://", "wss://").replace("http://", "ws://") + path


def send(*args, stdin=None):
    """elog send ... (ELOG_SERVER from the environment)."""
    subprocess.run([os.environ["ELOG_BIN"], "send"] + list(args), check=True,
                   input=stdin, stdout=subprocess.DEVNULL, timeout=120)


async def recv_json(ws, timeout=20):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def handshake_status(url, **kw):
    """The HTTP status a WebSocket handshake got: 101 when accepted."""
    async def go():
        try:
            async with websockets.connect(url, open_timeout=20, **kw):
                return 101
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code
    return asyncio.run(go())
