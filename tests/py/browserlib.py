"""browserlib.py — what the web page's browser test and bench/web_follow.sh share: a serve with an
HTTP listener (started, stopped, restarted on the same ports), `elog send`, and Debian's
chromium driven headless by python3-selenium through chromium-driver."""
import json
import os
import signal
import subprocess
import time
import urllib.request

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Failure(Exception):
    pass


def wait_until(what, secs, fn, step=0.05):
    """Calls fn until it returns a true value (returned) or secs pass (Failure)."""
    end = time.monotonic() + secs
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise Failure("timed out after %gs waiting for %s" % (secs, what))
        time.sleep(step)


class Serve:
    """One `elog serve` with its history in tmp/name.db; start() again after stop() reuses
    the same HTTP port (and history), as a restart would."""

    def __init__(self, elog, tmp, name="web", extra=()):
        self.elog, self.tmp, self.name, self.extra = elog, tmp, name, list(extra)
        self.db = os.path.join(tmp, name + ".db")
        self.ready = os.path.join(tmp, name + ".ready")
        self.errpath = os.path.join(tmp, name + ".err")
        self.proc = None
        self.env = None       # the environment of `elog send` (ELOG_API_KEY with --auth)
        self.grpc = None
        self.http = None      # "127.0.0.1:PORT"

    def start(self, http_addr=None, secs=30):
        if http_addr is None:
            http_addr = self.http or "127.0.0.1:0"
        try:
            os.unlink(self.ready)
        except FileNotFoundError:
            pass
        err = open(self.errpath, "ab")
        self.proc = subprocess.Popen(
            [self.elog, "serve", "--listen", "127.0.0.1:0", "--db", self.db,
             "--ready-file", self.ready, "--http", http_addr] + self.extra,
            stdout=subprocess.DEVNULL, stderr=err)
        err.close()

        def ready():
            if self.proc.poll() is not None:
                raise Failure("serve exited %s: %s" % (self.proc.returncode, self.err()))
            try:
                lines = open(self.ready).read().split()
            except FileNotFoundError:
                return None
            http = [x for x in lines if x.startswith("http://")]
            return (lines[0], http[0][len("http://"):]) if lines and http else None
        self.grpc, self.http = wait_until("serve's ready file with an http:// line", secs, ready)
        return self

    def stop(self, secs=15):
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            st = self.proc.wait(secs)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("serve did not stop within %ds after SIGTERM" % secs)
        if st != 0:
            raise Failure("serve exited %d: %s" % (st, self.err()))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def err(self):
        try:
            return open(self.errpath, errors="replace").read()[-2000:]
        except OSError:
            return ""

    def url(self, path="/"):
        return "http://" + self.http + path

    def get_json(self, path):
        with urllib.request.urlopen(self.url(path), timeout=10) as r:
            return json.loads(r.read())

    def all_ids(self, **filters):
        """Every record id the filter matches, ascending, read by pages with after=."""
        ids, after = [], 0
        while True:
            q = "&".join("%s=%s" % (k, urllib.request.quote(str(v))) for k, v in filters.items())
            d = self.get_json("/api/records?after=%d&limit=1000%s" % (after, "&" + q if q else ""))
            ids += [r["id"] for r in d["records"]]
            if not d["records"] or not d.get("more"):
                return ids
            after = ids[-1]

    def send(self, component, lines, secs=60):
        """Sends text lines (or JSON objects) as one component with `elog send`."""
        data = "".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines)
        r = subprocess.run([self.elog, "send", "--server", self.grpc, "-c", component],
                           input=data.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=secs, env=self.env)
        if r.returncode != 0:
            raise Failure("elog send -c %s exited %d: %s" % (component, r.returncode,
                                                             r.stdout.decode(errors="replace")))


def browser(tmp, width=1400, height=900):
    """Debian's chromium, headless, through chromium-driver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=%d,%d" % (width, height), "--user-data-dir=" + os.path.join(tmp, "chromium"),
              "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service(CHROMEDRIVER, log_output=os.path.join(tmp, "chromedriver.log")) \
        if "log_output" in Service.__init__.__code__.co_varnames else \
        Service(CHROMEDRIVER, log_path=os.path.join(tmp, "chromedriver.log"))
    d = webdriver.Chrome(service=svc, options=o)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def state(d):
    return d.execute_script("return window.elog ? elog.state() : null")
