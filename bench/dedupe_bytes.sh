#!/bin/sh
# bench/dedupe_bytes.sh — where the bytes of a sealed history go, per table (SQLite's dbstat),
# for N JSON lines (bench/history.sh's generator) through `elog send` (which gives every
# record a dedupe key "send:<stream>:<n>"), once the sealer caught up. Two binaries in one run:
#   ELOG (default build/elog) and ELOG_REF (the reference, e.g. a build of the branch before).
# ELOG_BENCH_N lines (default 200000). Loopback only; every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/build/elog}
ELOG_REF=${ELOG_REF:-}
N=${ELOG_BENCH_N:-200000}
B=$(mktemp -d /tmp/elog-dbytes.XXXXXX)
SERVE_PID=
trap 'kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT

python3 - "$N" >"$B/lines.jsonl" <<'PYEOF'
import json, random, sys
rnd = random.Random(42)
comps = ["api", "worker", "db", "auth"]
levels = ["debug", "info", "warn", "error"]
words = "served user cache miss retry timeout upstream connection pool job done queued".split()
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    w(json.dumps({"ts": "2026-01-27T04:15:%02d.%06dZ" % (i // 1000000 % 60, i % 1000000),
                  "level": levels[rnd.randrange(4)], "component": comps[i % 4],
                  "msg": "request %d %s" % (i, " ".join(rnd.choice(words) for _ in range(3))),
                  "dur_ms": rnd.randrange(1000)}, separators=(",", ":")) + "\n")
PYEOF

one() {   # one LABEL BINARY
	label=$1 bin=$2 db=$B/$1.db
	rm -f "$B/ready"
	"$bin" serve --listen 127.0.0.1:0 --db "$db" --ready-file "$B/ready" -q --retain-size 0 --http none &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	t0=$(date +%s.%N)
	ELOG_SERVER=$(head -1 "$B/ready") "$bin" send < "$B/lines.jsonl" || echo "# send failed" >&2
	t1=$(date +%s.%N)
	# the sealer keeps 4096 hot rows and seals the rest: wait (at most 120 s) for it
	i=0
	while [ "$(sqlite3 "$db" 'SELECT count(*) FROM records;' 2>/dev/null || echo 0)" -gt 8192 ] \
	      && [ $i -lt 1200 ]; do
		sleep 0.1; i=$((i+1))
	done
	kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
	sqlite3 "$db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
	hot=$(sqlite3 "$db" 'SELECT count(*) FROM records;')
	file=$(stat -c %s "$db")
	used=$(sqlite3 "$db" "SELECT (SELECT page_count FROM pragma_page_count) -
	       (SELECT freelist_count FROM pragma_freelist_count);")
	psz=$(sqlite3 "$db" "PRAGMA page_size;")
	echo "## $label ($bin): $N records, $hot hot, file $file bytes = $((file / N)) B/record," \
	     "pages in use $((used * psz)) bytes = $((used * psz / N)) B/record (the rest: free pages the sealer left)"
	echo "| table (with its indexes) | bytes | per record |"
	echo "|---|---|---|"
	sqlite3 -separator ' | ' "$db" \
		"SELECT '| ' || coalesce(m.tbl_name, d.name), sum(d.pgsize),
		        printf('%.1f |', sum(d.pgsize) * 1.0 / $N)
		 FROM dbstat d LEFT JOIN sqlite_master m ON m.name = d.name
		 GROUP BY 1 ORDER BY 2 DESC;"
	echo "# send of $N lines (acknowledged = committed): $(echo "$N / ($t1 - $t0)" | bc) lines/s"
	for t in dedupe dedupe_runs; do
		r=$(sqlite3 "$db" "SELECT count(*) FROM $t;" 2>/dev/null) && echo "# rows in $t: $r"
	done
}

[ -n "$ELOG_REF" ] && one reference "$ELOG_REF"
one elog "$ELOG"
