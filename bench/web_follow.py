"""web_follow.py ELOG TMPDIR — the web page following RATE records/s for SECS seconds (issue 18).

Two runs on one serve, the same load each time (`elog send` fed RATE JSON lines a second):
  reference: nobody watching (serve's CPU for ingest alone), the page open but idle for its
             frame times without load;
  page:      headless chromium on the page, following everything.
Serve's CPU is read from /proc/PID/stat (user+system ticks over the wall time); the page's
frame times are requestAnimationFrame deltas collected in the page (elog.measure) and read with
selenium; records shown vs sent from the page's counters; the page's responsiveness as the
round trip of a selenium script call (it runs on the page's main thread) once a second."""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "py"))
from browserlib import Serve, browser, state, wait_until  # noqa: E402

ELOG, TMP = sys.argv[1], sys.argv[2]
RATE = int(os.environ.get("RATE", "5000"))
SKIP_REF = os.environ.get("SKIP_REF") == "1"   # (for quick comparisons) no reference run
SECS = int(os.environ.get("WEB_FOLLOW_SECS", "60"))
TICK = 0.01
HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return int(parts[11]) + int(parts[12])   # utime, stime (fields 14 and 15)


def tree_ticks(pid):
    """CPU ticks of pid and its descendants (chromium's processes under chromium-driver)"""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += cpu_ticks(p)
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo += [int(x) for x in f.read().split()]
        except (OSError, ValueError, IndexError):
            pass
    return total


def load(srv, tag):
    """feeds `elog send` RATE lines/s for SECS s (bounded by count and time); returns sent"""
    p = subprocess.Popen([ELOG, "send", "--server", srv.grpc, "-c", "bench"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    total = RATE * SECS
    per = max(1, int(RATE * TICK))
    comps = ["api", "worker", "db", "auth", "billing", "cache"]
    levels = ["debug", "info", "info", "info", "warn", "error"]
    sent = 0
    t0 = time.monotonic()
    while sent < total and time.monotonic() - t0 < SECS + 30:
        due = min(total, int((time.monotonic() - t0) * RATE) + per)
        buf = []
        while sent < due:
            buf.append(json.dumps({"component": comps[sent % 6], "level": levels[sent % 6],
                                   "msg": "%s request %d served in %d ms" % (tag, sent, sent % 997),
                                   "req": sent, "user": "u%d" % (sent % 50)}))
            sent += 1
        p.stdin.write(("\n".join(buf) + "\n").encode())
        p.stdin.flush()
        time.sleep(TICK)
    p.stdin.close()
    p.wait(120)
    return sent, time.monotonic() - t0


def serve_cpu(srv, fn):
    c0, w0 = cpu_ticks(srv.proc.pid), time.monotonic()
    r = fn()
    c1, w1 = cpu_ticks(srv.proc.pid), time.monotonic()
    return r, 100.0 * (c1 - c0) / HZ / (w1 - w0)


def fr(m):
    return "p50 %.1f ms, p95 %.1f, p99 %.1f, max %.0f; %d of %d frames > 50 ms; ~%d frames dropped" % (
        m["p50"], m["p95"], m["p99"], m["max"], m["over50"], m["frames"], m["dropped"])


def main():
    srv = Serve(ELOG, TMP, "bench", extra=["-q"]).start()
    d = None
    try:
        # reference: ingest with nobody watching
        (sent_ref, wall_ref), cpu_ref = serve_cpu(srv, lambda: load(srv, "ref")) if not SKIP_REF else ((0, 1), 0)
        d = browser(TMP, 1400, 900)
        d.get(srv.url("/"))
        wait_until("the page to be live", 30, lambda: (state(d) or {}).get("connected"))
        d.execute_script("elog.measure(true)")
        time.sleep(10)  # the idle page's frames: a measurement period, not a synchronisation
        idle = d.execute_script("return elog.measure(false)")
        s0 = state(d)
        d.execute_script("elog.measure(true)")
        rtts = []
        stop = threading.Event()
        ch0 = tree_ticks(d.service.process.pid)

        def probe():
            while not stop.is_set():
                t = time.monotonic()
                d.execute_script("return elog.state().rows")
                rtts.append((time.monotonic() - t) * 1000)
                stop.wait(1.0)
        th = threading.Thread(target=probe)
        th.start()
        (sent, wall), cpu = serve_cpu(srv, lambda: load(srv, "page"))
        stop.set()
        th.join()
        last = srv.get_json("/api/records?limit=1")["records"][-1]["id"]
        t = time.monotonic()
        wait_until("the page to show the last record", 60, lambda: state(d)["lastId"] >= last, 0.2)
        catch_up = time.monotonic() - t
        ch1 = tree_ticks(d.service.process.pid)
        m = d.execute_script("return elog.measure(false)")
        s1 = state(d)
        ids = d.execute_script("return elog.ids()")
        rtts.sort()
        got = s1["received"] - s0["received"]
        print("| web follow, %d records/s for %d s | page following | reference |" % (RATE, SECS))
        print("|---|---|---|")
        print("| records sent (elog send) | %d in %.1f s | %d in %.1f s |" % (sent, wall, sent_ref, wall_ref))
        print("| serve CPU (/proc, user+system) | %.0f%% of a core | %.0f%% (nobody watching) |" % (cpu, cpu_ref))
        print("| records the page received / duplicates | %d / %d | - |" % (got, s1["dups"] - s0["dups"]))
        print("| records received but not drawn (more than 2,000 waiting, or a frame over 200 rows) | %d + %d | - |" % (
            s1["droppedPending"] - s0["droppedPending"], s1["skipped"] - s0["skipped"]))
        print("| page caught up with the last record | %.1f s after the load ended | - |" % catch_up)
        print("| rows in the DOM at the end (cap 2000), contiguous ids | %d, %s | - |" % (
            len(ids), "yes" if ids == sorted(set(ids)) else "NO"))
        print("| page frame times (rAF deltas) | %s | idle page, 10 s: %s |" % (fr(m), fr(idle)))
        print("| selenium script round trip (main thread free), once a second | p50 %.0f ms, max %.0f ms (%d) | - |" % (
            rtts[len(rtts) // 2] if rtts else 0, rtts[-1] if rtts else 0, len(rtts)))
        print("| chromium CPU (all its processes) | %.0f%% of a core | - |" % (
            100.0 * (ch1 - ch0) / HZ / (wall + catch_up)))
        if got != sent:
            print("NOTE: the page received %d records, %d were sent" % (got, sent))
    finally:
        if d:
            d.quit()
        srv.kill()


main()
