#!/bin/sh
# The web listener against other web pages and DNS rebinding: a WebSocket handshake or API call
# with a foreign Origin (http://evil.example) is refused with 403, one with a foreign Host with
# 421; its own origin and no Origin are served. serve --auth: every page, call and socket needs
# a key (login form and its HttpOnly SameSite=Strict cookie, Authorization: Bearer, ?key=).
. "$(dirname "$0")/lib.sh"
export PYTHONPATH="$ELOG_TOP/tests/py" ELOG_BIN

run_case() {
	timeout 120 $PY "$T/case.py" "$WEB" "$@" >"$T/case.out" 2>&1 || fail "$(cat "$T/case.out")"
}

start_serve sec --http 127.0.0.1:0
WEB=$(sed -n 2p "$T/sec.ready")

say "a handshake with Origin: http://evil.example is refused with 403, on both sockets"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
for path in ("/", "/api/follow"):
    check(handshake_status(ws_url(base, path), origin="http://evil.example") == 403, "evil origin on " + path)
    check(handshake_status(ws_url(base, path), origin="null") == 403, "null origin on " + path)
    check(handshake_status(ws_url(base, path), origin=base) == 101, "own origin on " + path)
    check(handshake_status(ws_url(base, path)) == 101, "no origin on " + path)
st, h, body = http(base + "/api/records", {"Origin": "http://evil.example"})
check(st == 403 and b"Origin" in body, "API with a foreign origin: %s %s" % (st, body))
st, h, body = http(base + "/api/records", {"Origin": base})
check(st == 200, "API with its own origin: %s" % st)
done()
EOF
run_case

say "a handshake with a foreign Host is refused (421); localhost and the address are served"
cat >"$T/case.py" <<'EOF'
import sys
from weblib import *
base = sys.argv[1]
port = base.rsplit(":", 1)[1]
for path in ("/", "/api/follow"):
    # the URL names evil.example (the Host header); the connection goes to 127.0.0.1
    check(handshake_status("ws://evil.example:%s%s" % (port, path), host="127.0.0.1", port=int(port)) == 421,
          "foreign Host on " + path)
    check(handshake_status(ws_url(base, path).replace("127.0.0.1", "localhost")) == 101, "localhost on " + path)
for host in ("evil.example", "evil.example:" + port, "rebind.attacker.test"):
    st, h, body = http(base + "/api/components", {"Host": host})
    check(st == 421, "API with Host %s: %s" % (host, st))
    st, h, body = http(base + "/", {"Host": host})
    check(st == 421, "page with Host %s: %s" % (host, st))
for host in ("localhost:" + port, "127.0.0.1:" + port, "127.0.0.1", "app.localhost:" + port):
    st, h, body = http(base + "/api/components", {"Host": host})
    check(st == 200, "API with Host %s: %s" % (host, st))
done()
EOF
run_case
stop_serve

say "serve --auth: pages show the login form, the API and sockets need a key"
elog keys create web --db "$T/auth.db" >"$T/web.key" 2>/dev/null || fail "keys create"
elog keys create old --db "$T/auth.db" >"$T/old.key" 2>/dev/null || fail "keys create"
elog keys revoke old --db "$T/auth.db" 2>/dev/null || fail "keys revoke"
start_serve auth --auth --http 127.0.0.1:0
WEB=$(sed -n 2p "$T/auth.ready")
cat >"$T/case.py" <<'EOF'
import sys, urllib.parse
from weblib import *
base, key, old = sys.argv[1], open(sys.argv[2]).read().strip(), open(sys.argv[3]).read().strip()
st, h, body = http(base + "/")
check(st == 200 and b'action="/login"' in body and b'type="password"' in body, "login form: %s %s" % (st, body[:200]))
st, h, body = http(base + "/app.js")
check(b'action="/login"' in body, "an asset without a key gives the form")
st, h, body = http(base + "/api/components")
check(st == 401 and b"API key" in body, "API without a key: %s %s" % (st, body))
st, h, body = http(base + "/api/components", {"Authorization": "Bearer " + key})
check(st == 200 and b"components" in body, "Bearer: %s" % st)
st, h, body = http(base + "/api/components?key=" + key)
check(st == 200, "?key=: %s" % st)
for bad in ("elog_wrong", old):
    st, h, body = http(base + "/api/components", {"Authorization": "Bearer " + bad})
    check(st == 401, "bad key %s: %s" % (bad[:8], st))
check(handshake_status(ws_url(base)) == 401, "LeadGen socket without a key")
check(handshake_status(ws_url(base, "/api/follow")) == 401, "follow socket without a key")
check(handshake_status(ws_url(base, "/?key=" + key)) == 101, "socket with ?key=")
check(handshake_status(ws_url(base), extra_headers={"Authorization": "Bearer " + key}) == 101, "socket with Bearer")
# the login form
st, h, body = http(base + "/login", {"Content-Type": "application/x-www-form-urlencoded"},
                   urllib.parse.urlencode({"key": "elog_nope"}).encode(), "POST")
check(st == 200 and b"not accepted" in body and "Set-Cookie" not in h, "wrong key login: %s %s" % (st, body[:100]))
st, h, body = http(base + "/login", {"Content-Type": "application/x-www-form-urlencoded"},
                   urllib.parse.urlencode({"key": key}).encode(), "POST")
cookie = h.get("Set-Cookie", "")
check(st == 303 and h.get("Location") == "/", "login: %s %s" % (st, dict(h)))
check("HttpOnly" in cookie and "SameSite=Strict" in cookie and cookie.startswith("elog_key="), "cookie %r" % cookie)
jar = cookie.split(";")[0]
st, h, body = http(base + "/api/components", {"Cookie": jar})
check(st == 200, "API with the cookie: %s" % st)
st, h, body = http(base + "/", {"Cookie": jar})
check(st == 200 and b'action="/login"' not in body, "page with the cookie")
check(handshake_status(ws_url(base), extra_headers={"Cookie": jar}) == 101, "socket with the cookie")
form = {"Content-Type": "application/x-www-form-urlencoded"}
st, h, body = http(base + "/login", dict(form, Origin="null"), urllib.parse.urlencode({"key": key}).encode(), "POST")
check(st == 403, "login with Origin: null: %s" % st)
st, h, body = http(base + "/login", dict(form, Origin=base), urllib.parse.urlencode({"key": key, "next": "/?c=api&level=warn"}).encode(), "POST")
check(st == 303 and h.get("Location") == "/?c=api&level=warn", "login with next: %s %s" % (st, h.get("Location")))
st, h, body = http(base + "/login", form, urllib.parse.urlencode({"key": key, "next": "//evil.example/"}).encode(), "POST")
check(st == 303 and h.get("Location") == "/", "next to another host: %s" % h.get("Location"))
st, h, body = http(base + "/login?next=/%3Fc%3Dweb")
check(st == 200 and b'name="next" value="/?c=web"' in body, "GET /login keeps next: %s" % body[:400])
check(h.get("Referrer-Policy") == "same-origin", "referrer policy %r" % h.get("Referrer-Policy"))
st, h, body = http(base + "/logout", {"Cookie": jar}, b"", "POST")
check(st == 303 and "Max-Age=0" in h.get("Set-Cookie", ""), "logout clears the cookie: %s" % dict(h))
done()
EOF
run_case "$T/web.key" "$T/old.key"
grep -qF "$(cat "$T/web.key")" "$T/auth.err" && fail "a key in serve's output"
stop_serve
