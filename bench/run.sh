#!/bin/sh
# make bench: runs each benchmark with its reference in the same invocation and prints a table.
# N (default 1000000) records. Loopback only; every loop is bounded.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/elog}
N=${N:-1000000}
B=$(mktemp -d /tmp/elog-bench.XXXXXX)
trap 'kill $SERVE_PID 2>/dev/null; rm -rf "$B"' EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
row() { printf '| %-44s | %10s | %10s | %8s |\n' "$1" "$2" "$3" "$4"; }

echo "generating $N lines..." >&2
python3 "$top/bench/gen.py" "$N" "$B/data"

start_serve() {
	rm -f "$B/ready"
	"$ELOG" serve --listen 127.0.0.1:0 --db "$1" --ready-file "$B/ready" -q &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
	export ELOG_SERVER=$(head -1 "$B/ready")
}

echo "| benchmark | elog | reference | ratio |"
echo "|---|---|---|---|"

# 1. ingest: elog send -> serve -> committed, vs sqlite3 .import into a WAL table with the
# same indexes as elog's history (component, ts, dedupe).
start_serve "$B/h.db"
t0=$(now); "$ELOG" send -c bench < "$B/data.jsonl" || echo "send failed" >&2; t1=$(now)
elog_ingest=$(secs $t0 $t1)
cat > "$B/ref.sql" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE records(id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, component TEXT NOT NULL, level TEXT NOT NULL, msg TEXT NOT NULL, raw TEXT, dedupe TEXT);
CREATE INDEX records_component ON records(component, id);
CREATE INDEX records_ts ON records(ts);
CREATE UNIQUE INDEX records_dedupe ON records(dedupe) WHERE dedupe IS NOT NULL;
CREATE TEMP TABLE imp(ts INTEGER, component TEXT, level TEXT, msg TEXT, raw TEXT);
.mode tabs
.import $B/data.tsv imp
INSERT INTO records(ts, component, level, msg, raw) SELECT * FROM imp;
SQL
t0=$(now); sqlite3 "$B/ref.db" < "$B/ref.sql" >/dev/null; t1=$(now)
ref_ingest=$(secs $t0 $t1)
row "ingest $N JSON lines (s)" "$(printf %.2f $elog_ingest)" "$(printf %.2f $ref_ingest)" \
	"$(printf %.2fx $(echo "$ref_ingest / $elog_ingest" | bc -l))"
echo "# elog ingest rate: $(printf %.0f $(echo "$N / $elog_ingest" | bc -l)) records/s" >&2
stored=$("$ELOG" ps --disk | awk '/^records:/ { print $2; exit }')
[ "$stored" = "$N" ] || echo "# WARNING: $stored records stored, expected $N" >&2

# 2, 3. `export --json` and `logs --color=always` against sqlite3 reading the same records: in
# bench/history.sh (issue 17's table), against a plain table of its own (reading elog's history
# file with sqlite3 stops being the same thing once records live in sealed blocks).

# 4. one `elog send x`, whole process, vs one sqlite3 INSERT, whole process (median of 21)
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in $(seq 21); do t0=$(now); "$ELOG" send -c one x; t1=$(now); secs $t0 $t1; done | med > "$B/one.elog"
for i in $(seq 21); do t0=$(now); sqlite3 "$B/ref.db" "INSERT INTO records(ts, component, level, msg) VALUES (1, 'one', 'info', 'x')"; t1=$(now); secs $t0 $t1; done | med > "$B/one.ref"
e1=$(cat "$B/one.elog"); r1=$(cat "$B/one.ref")
row "one send, whole process (ms)" "$(printf %.1f $(echo "$e1 * 1000" | bc -l))" "$(printf %.1f $(echo "$r1 * 1000" | bc -l))" \
	"$(printf %.2fx $(echo "$e1 / $r1" | bc -l))"

# 5. serve memory: idle RSS
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
row "serve idle RSS after the runs above (KiB)" "$(rss $SERVE_PID)" "-" "-"
# fresh: five starts on a new history each (one sample is noisy: which code pages a start
# touches varies); the median, and the range
kill $SERVE_PID; wait $SERVE_PID 2>/dev/null
for i in 1 2 3 4 5; do
	start_serve "$B/fresh$i.db"
	sleep 0.5
	rss $SERVE_PID
	kill $SERVE_PID; wait $SERVE_PID 2>/dev/null
done | sort -n > "$B/fresh.rss"
row "serve idle RSS, fresh, median of 5 (KiB)" "$(sed -n 3p "$B/fresh.rss")" "-" \
	"$(head -1 "$B/fresh.rss")..$(tail -1 "$B/fresh.rss")"
start_serve "$B/fresh.db"

# 6. follow latency at 10k lines/s (LAT_SECONDS, default 30)
sh "$top/bench/latency.sh" "$ELOG" "$B"

# 7. relay: one StreamReceive stream from a C peer, RELAY_N payloads (default N)
if [ -x "$top/build/relay_bench" ]; then
	res=$("$top/build/relay_bench" "$ELOG_SERVER" "${RELAY_N:-$N}")
	printf '| %-44s | %s |\n' "relay StreamReceive, one C stream" "$res"
fi

# 8. serve memory while N lines are ingested with a stalled `logs -f` follower
kill $SERVE_PID; wait $SERVE_PID 2>/dev/null
start_serve "$B/stall.db"
sleep 0.3
base=$(rss $SERVE_PID)
"$ELOG" logs -f > "$B/stall.fifo.out" 2>/dev/null &
LP=$!
kill -STOP $LP
peak=$base
"$ELOG" send -c stall < "$B/data.jsonl" &
SDP=$!
while kill -0 $SDP 2>/dev/null; do r=$(rss $SERVE_PID); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2; done
kill -CONT $LP; kill $LP 2>/dev/null
row "serve RSS growth, $N lines + stalled follower (KiB)" "$((peak - base))" "-" "-"

# 9. redaction: its cost on ingest (default rules vs --no-redact, same run) and the engine
kill $SERVE_PID 2>/dev/null; wait $SERVE_PID 2>/dev/null
ELOG="$ELOG" sh "$top/bench/redact.sh"
[ -x "$top/build/redact_engine" ] && "$top/build/redact_engine" \
	"$top/tests/corpus/redact/ordinary.txt" "$top/tests/corpus/redact/secrets.txt"

# 10. serve --cluster (bench/cluster.sh: its own table, its own 3-node nats-server cluster)
if command -v nats-server >/dev/null 2>&1; then
	echo
	ELOG="$ELOG" sh "$top/bench/cluster.sh"
fi

# 11. sealed history blocks (bench/blocks.c: the codec's alternatives, its own tables)
if [ -x "$top/build/blocks" ]; then
	echo
	"$top/build/blocks"
fi
