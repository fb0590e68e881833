"""web_browser.py ELOG_BIN TMPDIR SCREENSHOT — the web page (issue 18) in a real browser:
Debian's chromium headless, driven by python3-selenium through chromium-driver, against a real
`elog serve --http` on loopback. Prints "CASE <what>" before each case and "FAIL <why>" for a
failed check (tests/t/t8150-web-browser.sh turns them into its cases); a failed case does not
stop the next ones unless nothing is left to test."""
import json
import os
import socket
import subprocess
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browserlib import Failure, Serve, browser, state, wait_until  # noqa: E402

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

ELOG, TMP, SHOT = sys.argv[1], sys.argv[2], sys.argv[3]
HIST = 1200          # records of component "hist": more than two pages of 500
failed = 0


def case(what):
    print("CASE " + what, flush=True)


def fail(why):
    global failed
    failed += 1
    print("FAIL " + why.replace("\n", " | "), flush=True)


def check(cond, why):
    if not cond:
        raise Failure(why)


def js(script, *args):
    return d.execute_script(script, *args)


def row_texts(token):
    """ids of the rows in the view whose text holds token"""
    return js("""return Array.from(document.querySelectorAll('#rows .row'))
        .filter(r => r.textContent.includes(arguments[0])).map(r => Number(r.dataset.id));""", token)


def row_el(token):
    """the first row whose text holds token (textContent: rows out of sight are not rendered)"""
    return js("""return Array.from(document.querySelectorAll('#rows .row'))
        .find(r => r.textContent.includes(arguments[0])) || null;""", token)


def view_ids():
    return js("return elog.ids()")


def dom_ids():
    return js("return Array.from(document.querySelectorAll('#rows .row')).map(r => Number(r.dataset.id))")


def fetch_text(url):
    """the body of url, fetched by the page (with its cookies and origin)"""
    return d.execute_async_script("var cb = arguments[arguments.length - 1]; "
                                  "fetch(arguments[0]).then(r => r.text()).then(cb, e => cb('ERR ' + e))", url)


def wait_connected(secs=15):
    wait_until("the page to be live (connected over the WebSocket)", secs,
               lambda: (state(d) or {}).get("connected"))


def open_page(path="/"):
    d.get(srv.url(path))
    wait_connected()


def comp_li(name):
    return d.find_element(By.CSS_SELECTOR, '#comps li[data-name="%s"]' % name)


def run(fn):
    """runs one case; a Failure or an exception fails it and the script goes on"""
    t0 = time.monotonic()
    try:
        fn()
        print("# %.1f s" % (time.monotonic() - t0), flush=True)
    except Failure as e:
        fail(str(e))
    except Exception as e:  # a selenium error is a failed check too, with its trace
        fail("%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        traceback.print_exc(file=sys.stderr)


srv = Serve(ELOG, TMP)
d = None


def setup():
    srv.start()
    # history: more than two pages of one component (one multi-line record in it), two others
    lines = []
    for i in range(HIST):
        if i == 700:
            lines.append("Traceback (most recent call last):")
            lines.append('  File "worker.py", line 42, in run')
            lines.append("ValueError: hist multi-line %d" % i)
        else:
            lines.append(json.dumps({"level": "warn" if i % 10 == 0 else "info",
                                     "msg": "hist record %d" % i, "seq": i, "user": "u %d" % (i % 7)}))
    srv.send("hist", lines)
    srv.send("alpha", [json.dumps({"level": "info", "msg": "alpha hello", "port": 8080})])
    srv.send("beta", [json.dumps({"level": "error", "msg": "beta disk full", "disk": "/dev/sda"})])


def t_loads():
    case("the page loads from serve --http, lists the components with the terminal's colours")
    open_page("/")
    title = d.title
    check(title == "elog", "page title %r" % title)
    api = {c["name"]: c for c in srv.get_json("/api/components")["components"]}
    check({"hist", "alpha", "beta"} <= set(api), "components from the API: %s" % sorted(api))
    wait_until("the side list of components", 10,
               lambda: len(d.find_elements(By.CSS_SELECTOR, "#comps li")) >= 3)
    for name in ("hist", "alpha", "beta"):
        li = comp_li(name)
        sw = js("return getComputedStyle(arguments[0].querySelector('.sw')).backgroundColor", li)
        h = api[name]["color"]
        want = "rgb(%d, %d, %d)" % (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16))
        check(sw == want, "%s's swatch is %s, the API's colour %s is %s" % (name, sw, h, want))
        check(str(api[name]["count"]) in li.text.replace(",", ""),
              "%s's count %d not in %r" % (name, api[name]["count"], li.text))
    st = state(d)
    check(st["rows"] == 500, "first view holds one page of 500 records, got %d" % st["rows"])
    ids = view_ids()
    check(ids == sorted(set(ids)), "the view's ids are not ascending and unique")
    errs = [e for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    check(not errs, "errors in the browser's console: %s" % errs[:3])


def t_live():
    case("a record sent with elog send appears in the followed view within a second")
    for i in range(3):
        token = "live-%d-%d" % (os.getpid(), i)
        srv.send("alpha", [json.dumps({"level": "warn", "msg": "alpha " + token, "attempt": i})])
        t0 = time.monotonic()
        wait_until("%s in the view" % token, 10, lambda: row_texts(token), step=0.02)
        dt = time.monotonic() - t0
        print("# %s shown %.0f ms after elog send returned" % (token, dt * 1000), flush=True)
        check(dt < 1.0, "%s took %.2fs to appear (limit 1 s)" % (token, dt))
    st = state(d)
    check(st["following"], "follow is on by default")
    check(js("return elog.ids().length") == len(dom_ids()), "the view's list and the DOM differ")
    dist = js("var l = document.getElementById('log'); return l.scrollHeight - l.scrollTop - l.clientHeight")
    check(dist < 5, "following keeps the newest row in sight (%d px from the bottom)" % dist)


def t_toggle():
    case("a component toggle hides and shows its records; alt-click shows only it; the URL says so")
    open_page("/")
    wait_until("beta's record", 10, lambda: row_texts("beta disk full"))
    comp_li("beta").click()
    wait_until("the view without beta", 10,
               lambda: not row_texts("beta disk full") and row_texts("alpha hello") and state(d)["connected"])
    check("beta" not in js("return new URLSearchParams(location.search).get('c') || ''").split(","),
          "URL still names beta: %s" % d.current_url)
    check("off" in comp_li("beta").get_attribute("class"), "beta's toggle is not shown off")
    token = "beta-hidden-%d" % os.getpid()
    srv.send("beta", [token])
    srv.send("alpha", ["alpha after " + token])
    wait_until("alpha's new record", 10, lambda: row_texts("alpha after " + token))
    check(set(row_texts(token)) == set(row_texts("alpha after " + token)),
          "a hidden component's live record was shown")
    ActionChains(d).key_down(Keys.ALT).click(comp_li("beta")).key_up(Keys.ALT).perform()
    wait_until("only beta", 10, lambda: row_texts("beta disk full") and not row_texts("alpha hello")
               and state(d)["connected"])
    check(js("return new URLSearchParams(location.search).get('c')") == "beta", "URL: %s" % d.current_url)
    check(row_texts(token), "beta's record sent while hidden is in the history when shown")
    d.find_element(By.ID, "comp-all").click()
    wait_until("all components again", 10,
               lambda: row_texts("beta disk full") and row_texts("alpha hello") and state(d)["connected"])
    check("c=" not in d.current_url, "URL after 'all': %s" % d.current_url)


def t_search_level():
    case("the search box (grep on the server), the level filter and the time range narrow the view, live too")
    box = d.find_element(By.ID, "search")
    box.click()
    box.send_keys("disk full" + Keys.ENTER)
    wait_until("the search to apply", 10, lambda: state(d)["filter"]["grep"] == "disk full" and state(d)["connected"])
    wait_until("only matching rows", 10, lambda: row_texts("beta disk full") and len(dom_ids()) == len(row_texts("disk full")))
    check(js("return new URLSearchParams(location.search).get('grep')") == "disk full", "URL: %s" % d.current_url)
    srv.send("alpha", ["no match here %d" % os.getpid(), "alpha disk full %d" % os.getpid()])
    wait_until("the matching live record", 10, lambda: row_texts("alpha disk full"))
    check(not row_texts("no match here"), "a record that does not match the search was shown")
    box.send_keys(Keys.ESCAPE)
    wait_until("Esc to clear the search", 10, lambda: state(d)["filter"]["grep"] == "" and state(d)["connected"])
    check(box.get_attribute("value") == "", "the search box is not empty after Esc")
    sel = d.find_element(By.ID, "level")
    sel.find_element(By.CSS_SELECTOR, 'option[value="error"]').click()
    wait_until("the level filter to apply", 10, lambda: state(d)["filter"]["level"] == "error" and state(d)["connected"])
    wait_until("error rows only", 10, lambda: row_texts("beta disk full"))
    lv = js("return Array.from(document.querySelectorAll('#rows .row .lv')).map(e => e.textContent)")
    check(lv and set(lv) <= {"ERROR", "FATAL"}, "levels shown with error and up: %s" % sorted(set(lv)))
    check(js("return new URLSearchParams(location.search).get('level')") == "error", "URL: %s" % d.current_url)
    sel.find_element(By.CSS_SELECTOR, 'option[value=""]').click()
    wait_until("all levels", 10, lambda: state(d)["filter"]["level"] == "" and state(d)["connected"])
    rng = d.find_element(By.ID, "range")
    rng.find_element(By.CSS_SELECTOR, 'option[value="5m"]').click()
    wait_until("the last 5 minutes", 10, lambda: state(d)["filter"]["since"] == "5m" and state(d)["connected"])
    wait_until("recent rows", 10, lambda: row_texts("beta disk full"))
    check(js("return new URLSearchParams(location.search).get('since')") == "5m", "URL: %s" % d.current_url)
    rng.find_element(By.CSS_SELECTOR, 'option[value="custom"]').click()
    since, until = d.find_element(By.ID, "since"), d.find_element(By.ID, "until")
    since.clear()
    since.send_keys("2000-01-01T00:00:00Z" + Keys.TAB)
    until.send_keys("2000-01-02T00:00:00Z" + Keys.TAB)
    wait_until("a range in 2000", 10, lambda: state(d)["filter"]["until"] == "2000-01-02T00:00:00Z" and
               state(d)["olderDone"] and not state(d)["loadingOlder"])
    check(not dom_ids(), "records shown for a range in the year 2000: %s" % dom_ids()[:5])
    check("no records match" in d.find_element(By.ID, "top-marker").text,
          "empty range: %r" % d.find_element(By.ID, "top-marker").text)
    rng.find_element(By.CSS_SELECTOR, 'option[value=""]').click()
    wait_until("all time", 10, lambda: state(d)["filter"]["since"] == "" and state(d)["rows"] > 0)


def t_history():
    case("a link reproduces the view; scrolling back loads older pages by id: no gap, no duplicate")
    d.get(srv.url("/?c=hist&level=info"))
    wait_connected()
    check(d.find_element(By.ID, "level").get_attribute("value") == "info", "level control not set from the URL")
    check(js("return elog.state().filter.c") == ["hist"], "component filter not set from the URL")
    check("off" in comp_li("alpha").get_attribute("class"), "alpha not shown off for ?c=hist")
    want = srv.all_ids(c="hist", level="info")
    check(len(want) == HIST, "the server has %d hist records, sent %d" % (len(want), HIST))
    check(state(d)["rows"] == 500, "one page first: %d rows" % state(d)["rows"])
    pages = 0
    while not state(d)["olderDone"]:
        pages += 1
        check(pages < 20, "scrolling back did not reach the beginning in 20 pages")
        before = state(d)["rows"]
        js("document.getElementById('log').scrollTop = 0; document.getElementById('log').dispatchEvent(new Event('scroll'))")
        wait_until("an older page", 10, lambda: state(d)["rows"] > before or state(d)["olderDone"])
    ids, dom = view_ids(), dom_ids()
    check(ids == dom, "the view's list and the DOM differ")
    check(ids == want, "ids after scrolling back: %d (first %s) vs the server's %d (first %s); missing %s, extra %s"
          % (len(ids), ids[:3], len(want), want[:3], sorted(set(want) - set(ids))[:5],
             sorted(set(ids) - set(want))[:5]))
    check(pages >= 2, "only %d older pages were loaded" % pages)
    check(not state(d)["following"], "scrolling up did not pause follow")
    multi = js("""var r = Array.from(document.querySelectorAll('#rows .row'))
        .find(e => e.textContent.includes('hist multi-line 700'));
        return r ? [r.querySelector('.body').textContent, r.getBoundingClientRect().height] : null""")
    check(multi and "\n" in multi[0], "the multi-line record is not shown on several lines: %r" % (multi,))
    check(multi and multi[1] > 40, "the multi-line record is one line high: %r" % (multi,))


def t_details():
    case("clicking a record shows all its fields as JSON, copy copies it, show context lists its neighbours")
    row = wait_until("the row of hist record 600", 5, lambda: row_el("hist record 600 "))
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    pre = wait_until("the details", 5, lambda: d.find_element(By.ID, "detail-json").text)
    rec = json.loads(pre)
    check(rec["msg"] == "hist record 600" and rec["fields"].get("seq") == 600 and rec["component"] == "hist",
          "details: %s" % pre[:300])
    for k in ("id", "ts", "ts_ns", "level", "source"):
        check(k in rec, "details lack %s: %s" % (k, pre[:300]))
    d.execute_cdp_cmd("Browser.grantPermissions", {"origin": srv.url("").rstrip("/"),
                                                   "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    d.find_element(By.ID, "detail-copy").click()
    wait_until("'copied'", 5, lambda: d.find_element(By.ID, "detail-copy").text == "copied")
    clip = d.execute_async_script("var cb = arguments[arguments.length - 1]; "
                                  "navigator.clipboard.readText().then(cb, e => cb('ERR ' + e))")
    check(json.loads(clip) == rec, "clipboard: %r" % clip[:200])
    d.find_element(By.ID, "detail-context").click()
    ctx = wait_until("the context rows", 10, lambda: js(
        "return Array.from(document.querySelectorAll('#context-rows .row')).map(r => Number(r.dataset.id))"))
    want = [r["id"] for r in srv.get_json("/api/context?id=%d&n=20" % rec["id"])["records"]]
    check(ctx == want and rec["id"] in ctx and len(ctx) >= 21, "context ids %s vs the server's %s" % (ctx, want))
    check(js("return document.querySelector('#context-rows .row.focus').dataset.id") == str(rec["id"]),
          "the record itself is not marked in its context")
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    wait_until("Esc to close the details", 5, lambda: not d.find_element(By.ID, "detail").is_displayed())


def t_download():
    case("download gives the current filter as JSON Lines and CSV")
    href = d.find_element(By.ID, "dl-jsonl").get_attribute("href")
    check("c=hist" in href and "level=info" in href and "format=jsonl" in href, "jsonl link: %s" % href)
    body = fetch_text(href)
    recs = [json.loads(x) for x in body.splitlines() if x.strip()]
    check(len(recs) == HIST and all(r.get("component", r.get("c")) == "hist" for r in recs[:5]),
          "jsonl export: %d lines, first %s" % (len(recs), body[:200]))
    href = d.find_element(By.ID, "dl-csv").get_attribute("href")
    check("format=csv" in href and "c=hist" in href, "csv link: %s" % href)
    body = fetch_text(href)
    check(body.count("\n") >= HIST and "hist record 5" in body, "csv export: %s" % body[:200])


def t_pause():
    case("scrolling up pauses follow and counts 'N new'; back to live shows them (also after more than a paused page keeps); keys / f Esc")
    open_page("/?c=alpha")
    js("var l = document.getElementById('log'); l.scrollTop = 0; l.dispatchEvent(new Event('scroll'))")
    # few rows may not fill the screen: then f pauses
    if state(d)["following"]:
        d.find_element(By.TAG_NAME, "body").send_keys("f")
    wait_until("follow off", 5, lambda: not state(d)["following"])
    check("on" not in d.find_element(By.ID, "follow").get_attribute("class"), "follow button still on")
    token = "paused-%d" % os.getpid()
    srv.send("alpha", ["%s %d" % (token, i) for i in range(5)])
    wait_until("'5 new'", 10, lambda: d.find_element(By.ID, "new-count").text.startswith("5 new"))
    check(not row_texts(token), "records were added to a paused view")
    d.find_element(By.ID, "new-count").click()
    wait_until("the 5 new rows", 5, lambda: len(row_texts(token)) == 5)
    check(state(d)["following"], "follow is not on after 'N new'")
    # more than the 2,000 new records a paused page keeps: back to live loads the newest page
    d.find_element(By.TAG_NAME, "body").send_keys("f")
    wait_until("f to pause", 5, lambda: not state(d)["following"])
    srv.send("alpha", ["flood %d" % i for i in range(2600)])
    wait_until("'2,600 new'", 15, lambda: d.find_element(By.ID, "new-count").text.startswith("2,600 new"))
    d.find_element(By.ID, "new-count").click()
    last = srv.get_json("/api/records?c=alpha&limit=1")["records"][-1]["id"]
    wait_until("the newest record after back to live", 15,
               lambda: state(d)["following"] and dom_ids() and dom_ids()[-1] == last)
    ids = dom_ids()
    want = [i for i in srv.all_ids(c="alpha") if i >= ids[0]]
    check(ids == want, "after back to live: %d rows %d..%d, the server has %d in that range" % (
        len(ids), ids[0], ids[-1], len(want)))
    # the mouse wheel: up pauses, back down to the newest follows again
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    log = d.find_element(By.ID, "log")
    ActionChains(d).scroll_from_origin(ScrollOrigin.from_element(log), 0, -1500).perform()
    wait_until("the wheel to pause", 5, lambda: not state(d)["following"])
    ActionChains(d).scroll_from_origin(ScrollOrigin.from_element(log), 0, 100000).perform()
    wait_until("the wheel back down to follow", 5, lambda: state(d)["following"])
    body = d.find_element(By.TAG_NAME, "body")
    body.send_keys("f")
    wait_until("f to pause", 5, lambda: not state(d)["following"])
    body.send_keys("f")
    wait_until("f to follow", 5, lambda: state(d)["following"])
    body.send_keys("/")
    check(js("return document.activeElement.id") == "search", "/ does not focus the search box")
    d.switch_to.active_element.send_keys("abc")
    d.switch_to.active_element.send_keys(Keys.ESCAPE)
    check(js("return document.activeElement.id") != "search" and
          d.find_element(By.ID, "search").get_attribute("value") == "", "Esc does not clear and leave the search")
    th = js("return document.documentElement.dataset.theme")
    d.find_element(By.ID, "theme").click()
    th2 = js("return document.documentElement.dataset.theme")
    check({th, th2} == {"dark", "light"}, "theme toggle: %s -> %s" % (th, th2))
    if th2 != "dark":
        d.find_element(By.ID, "theme").click()


def t_restart():
    case("a serve restart is survived: the page says so and resumes after the last id, no gap, no dup")
    open_page("/")
    srv.send("rs", ["before restart %d" % i for i in range(20)])
    wait_until("the records before the restart", 10, lambda: len(row_texts("before restart")) == 20)
    port = srv.http
    srv.stop()
    wait_until("the page to notice", 10, lambda: not state(d)["connected"])
    wait_until("the lost-connection notice", 5, lambda: "lost" in d.find_element(By.ID, "notice").text)
    srv.start(port)
    # sent at once: the page is still reconnecting, so these come from after=ID
    srv.send("rs", ["after restart %d" % i for i in range(20)])
    wait_until("the page to reconnect", 15, lambda: state(d)["connected"])
    wait_until("the records after the restart", 10, lambda: len(row_texts("after restart")) == 20)
    srv.send("rs", ["live again %d" % i for i in range(5)])
    wait_until("live records again", 10, lambda: len(row_texts("live again")) == 5)
    note = d.find_element(By.ID, "notice").text
    check("reconnected" in note and "resumed after record #" in note, "notice after reconnecting: %r" % note)
    ids = dom_ids()
    check(ids == sorted(set(ids)), "duplicate or unordered rows after the restart")
    want = [i for i in srv.all_ids() if i >= ids[0]]
    check(ids == want, "rows %d..%d (%d) vs the server's %d: missing %s, extra %s" % (
        ids[0], ids[-1], len(ids), len(want), sorted(set(want) - set(ids))[:5], sorted(set(ids) - set(want))[:5]))
    st = state(d)
    check(st["dups"] == 0, "the server sent %d records twice after the reconnect" % st["dups"])
    check(st["reconnects"] == 1, "reconnects counted: %d" % st["reconnects"])


def t_origin():
    case("WebSocket handshakes with Origin: http://evil.example or a foreign Host are refused")
    host, port = srv.http.rsplit(":", 1)

    def handshake(origin, hosthdr):
        s = socket.create_connection((host, int(port)), timeout=10)
        req = ("GET /api/follow HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" % hosthdr)
        if origin:
            req += "Origin: %s\r\n" % origin
        s.sendall((req + "\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.split(b"\r\n", 1)[0].decode(errors="replace")
    good = handshake("http://" + srv.http, srv.http)
    check(" 101 " in good, "the page's own origin is refused: %r" % good)
    evil = handshake("http://evil.example", srv.http)
    check(" 403 " in evil, "Origin evil.example: %r" % evil)
    foreign = handshake(None, "evil.example:%s" % port)
    check(" 101 " not in foreign and foreign.startswith("HTTP/1.1 4"), "Host evil.example: %r" % foreign)


def t_auth():
    case("serve --auth: the page's login form sets the cookie, the page then follows; a revoked key leads back to it")
    a = Serve(ELOG, TMP, "auth", extra=["--auth"])
    r = subprocess.run([ELOG, "keys", "create", "web", "--db", a.db], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    check(r.returncode == 0 and r.stdout.strip(), "keys create: %s" % r.stderr)
    key = r.stdout.strip().splitlines()[-1]
    a.env = dict(os.environ, ELOG_API_KEY=key)
    try:
        a.start()
        a.send("authc", ["behind the login %d" % os.getpid()])
        d.get(a.url("/"))
        box = wait_until("the login form", 10, lambda: d.find_elements(By.CSS_SELECTOR, 'input[name="key"]'))[0]
        check(not js("return !!window.elog"), "the page was served without a key")
        box.send_keys(key + Keys.ENTER)
        wait_until("the page after the login", 10, lambda: (state(d) or {}).get("connected"))
        wait_until("the record behind the login", 10, lambda: row_texts("behind the login"))
        a.send("authc", ["live behind the login %d" % os.getpid()])
        wait_until("a live record behind the login", 10, lambda: row_texts("live behind the login"))
        r = subprocess.run([ELOG, "keys", "revoke", "web", "--db", a.db], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
        check(r.returncode == 0, "keys revoke: %s" % r.stdout)
        wait_until("the page to go to the login form once its key is revoked", 15,
                   lambda: "/login" in d.current_url or d.find_elements(By.CSS_SELECTOR, 'input[name="key"]'))
    finally:
        a.kill()


def shot():
    case("a screenshot of the page is kept: " + SHOT)
    open_page("/?level=warn")
    wait_until("rows", 10, lambda: state(d)["rows"] > 50)
    # paused while clicking (a row near the bottom scrolled into view may resume follow by
    # itself, so the button is pressed only when the state needs it)
    js("if (elog.state().following) document.getElementById('follow').click()")
    row = wait_until("beta's row", 5, lambda: row_el("beta disk full"))
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    row.click()
    wait_until("the details", 5, lambda: d.find_element(By.ID, "detail-json").text)
    js("if (!elog.state().following) document.getElementById('follow').click()")
    wait_until("follow on again", 5, lambda: state(d)["following"])
    time.sleep(0.3)  # not a synchronisation: lets the last frame paint for the picture
    os.makedirs(os.path.dirname(SHOT), exist_ok=True)
    check(d.save_screenshot(SHOT) and os.path.getsize(SHOT) > 10000, "screenshot not written")
    print("# screenshot: " + SHOT, flush=True)


def main():
    global d
    case("serve with an HTTP listener starts; history is sent; chromium starts")
    try:
        setup()
        d = browser(TMP)
    except Exception as e:
        fail("setup: %s" % e)
        return 1
    try:
        for t in (t_loads, t_live, t_toggle, t_search_level, t_history, t_details, t_download, t_pause,
                  t_origin, shot, t_restart, t_auth):
            run(t)
    finally:
        try:
            d.quit()
        finally:
            srv.kill()
    return 1 if failed else 0


sys.exit(main())
