#!/usr/bin/env python3
"""Writes N JSON log lines (~120 bytes each) to OUT.jsonl and the same rows as OUT.tsv
(ts, component, level, msg, raw line) for the sqlite3 reference."""
import json, random, sys

n = int(sys.argv[1]); out = sys.argv[2]
rnd = random.Random(42)
comps = ["api", "worker", "db", "auth", "billing", "scheduler", "cache", "gateway"]
levels = ["debug", "info", "info", "info", "warn", "error"]
words = "request served user cache miss retry timeout upstream connection pool job done queued".split()
base = 1737951322_000_000_000
with open(out + ".jsonl", "w") as j, open(out + ".tsv", "w") as t:
    for i in range(n):
        ts = base + i * 1_000_000
        sec, ns = divmod(ts, 1_000_000_000)
        import time as _t
        tstr = _t.strftime("%Y-%m-%dT%H:%M:%S", _t.gmtime(sec)) + ".%09dZ" % ns
        c = comps[i % len(comps)]; lv = levels[rnd.randrange(len(levels))]
        msg = " ".join(rnd.choice(words) for _ in range(4))
        line = json.dumps({"ts": tstr, "level": lv, "component": c, "msg": msg,
                           "req": i, "dur_ms": rnd.randrange(1000)}, separators=(",", ":"))
        j.write(line + "\n")
        t.write("%d\t%s\t%s\t%s\t%s\n" % (ts, c, lv, msg, line.replace("\t", " ")))
