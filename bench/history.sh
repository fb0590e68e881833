#!/bin/sh
# bench/history.sh — the history engine next to its references, in one run (issue #17):
#  1. ingest: N JSON lines (~125 bytes, 4 components, 4 levels) through `elog send` into serve,
#     acknowledged = committed; then the same lines through rsyslogd (Debian's rsyslog, its own
#     config: imptcp on a loopback port -> omfile, a flat file, no index, no end-to-end ack),
#     timed until the file holds every line.
#  2. the history's bytes per record on disk (database + WAL after serve stopped) next to the
#     flat file's bytes per line.
#  3. `logs --grep` of a literal found in one record, and of a word in about a fifth of them,
#     next to `grep -c` over the flat file.
#  4. ingest with a retention bound of a third of what is ingested (the writer removing the
#     oldest records as it goes) next to ingest without one.
# ELOG_BENCH_N lines (default 1000000); ELOG the binary (default build/elog, a release build).
# Loopback only; every wait is bounded.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
ELOG=${ELOG:-$top/build/elog}
[ -x "$ELOG" ] || ELOG=$top/elog
N=${ELOG_BENCH_N:-1000000}
RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}
B=$(mktemp -d /tmp/elog-hbench.XXXXXX)
SERVE_PID= RS_PID=
trap 'kill $SERVE_PID $RS_PID 2>/dev/null; rm -rf "$B"' EXIT
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
row() { printf '| %-52s | %12s | %12s | %7s |\n' "$1" "$2" "$3" "$4"; }
ratio() { printf %.2fx "$(echo "$1 / $2" | bc -l)"; }

echo "generating $N lines..." >&2
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
LINE_BYTES=$(($(stat -c %s "$B/lines.jsonl") / N))
echo "# $N lines, $LINE_BYTES bytes a line on average; elog: $ELOG" >&2

start_serve() {   # start_serve DB [ARGS...]
	db=$1; shift
	rm -f "$B/ready"
	"$ELOG" serve --listen 127.0.0.1:0 --db "$db" --ready-file "$B/ready" -q "$@" &
	SERVE_PID=$!
	i=0; while [ ! -s "$B/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
	ELOG_SERVER=$(head -1 "$B/ready"); export ELOG_SERVER
}
stop_serve() { kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=; }

echo "| measure | elog | reference | ratio |"
echo "|---|---|---|---|"

# 1. ingest
start_serve "$B/h.db" --retain-size 0
t0=$(now); "$ELOG" send < "$B/lines.jsonl" || echo "# send failed" >&2; t1=$(now)
e_ingest=$(secs "$t0" "$t1")
stop_serve

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$B/rs"
cat >"$B/rsyslog.conf" <<EOF
global(workDirectory="$B/rs" maxMessageSize="64k")
module(load="imptcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$B/flat.log" template="raw") }
input(type="imptcp" address="127.0.0.1" port="$PORT" ruleset="bench")
EOF
"$RSYSLOGD" -n -f "$B/rsyslog.conf" -i "$B/rs/pid" 2>"$B/rs/err" &
RS_PID=$!
i=0; until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()" 2>/dev/null; do
	i=$((i+1)); [ $i -ge 100 ] && { echo "# rsyslogd did not start: $(cat "$B/rs/err")" >&2; break; }
	sleep 0.1
done
t0=$(now)
python3 - "$PORT" "$B/lines.jsonl" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "rb") as f:
    while True:
        b = f.read(1 << 20)
        if not b:
            break
        s.sendall(b)
s.close()
PYEOF
# rsyslog acknowledges nothing: done when the file holds every line (polled, bounded)
i=0
while [ "$(wc -l <"$B/flat.log" 2>/dev/null || echo 0)" -lt "$N" ] && [ $i -lt 6000 ]; do
	sleep 0.01; i=$((i+1))
done
t1=$(now)
r_ingest=$(secs "$t0" "$t1")
kill "$RS_PID"; wait "$RS_PID" 2>/dev/null; RS_PID=
got=$(wc -l <"$B/flat.log")
[ "$got" = "$N" ] || echo "# WARNING: rsyslog wrote $got of $N lines" >&2
row "ingest $N lines (lines/s)" "$(printf %.0f "$(echo "$N / $e_ingest" | bc -l)")" \
	"$(printf %.0f "$(echo "$N / $r_ingest" | bc -l)")" "$(ratio "$r_ingest" "$e_ingest")"
stored=$(sqlite3 "$B/h.db" 'SELECT count(*) FROM records')
[ "$stored" = "$N" ] || echo "# WARNING: $stored records stored, expected $N" >&2

# 2. bytes per record
hb=$(( $(stat -c %s "$B/h.db") + $(stat -c %s "$B/h.db-wal" 2>/dev/null || echo 0) ))
fb=$(stat -c %s "$B/flat.log")
row "on disk, bytes per record (history / flat file)" "$((hb / N))" "$((fb / N))" \
	"$(ratio "$fb" "$hb")"

# 3. grep: a literal in one record, a word in about a fifth of the records
lit="request $((N / 2 + 7)) "
t0=$(now); c1=$("$ELOG" logs --db "$B/h.db" --grep "$lit" -o cat | wc -l); t1=$(now)
e_lit=$(secs "$t0" "$t1")
t0=$(now); c2=$(grep -c "$lit" "$B/flat.log"); t1=$(now)
r_lit=$(secs "$t0" "$t1")
[ "$c1" = "$c2" ] || echo "# WARNING: logs --grep found $c1, grep -c $c2" >&2
row "logs --grep '$lit' ($c1 found) (s)" "$(printf %.3f "$e_lit")" "$(printf %.3f "$r_lit")" \
	"$(ratio "$r_lit" "$e_lit")"
t0=$(now); c1=$("$ELOG" logs --db "$B/h.db" --grep "upstream" -o cat | wc -l); t1=$(now)
e_word=$(secs "$t0" "$t1")
t0=$(now); c2=$(grep -c "upstream" "$B/flat.log"); t1=$(now)
r_word=$(secs "$t0" "$t1")
row "logs --grep upstream ($c1 found) (s)" "$(printf %.3f "$e_word")" "$(printf %.3f "$r_word")" \
	"$(ratio "$r_word" "$e_word")"

# 4. retention: a bound of a third of the history just measured
bound=$((hb / 3 / 1048576))
[ "$bound" -lt 8 ] && bound=8
start_serve "$B/r.db" --retain-size "${bound}M"
max=0
"$ELOG" send < "$B/lines.jsonl" &
SEND=$!
t0=$(now)
i=0
while kill -0 "$SEND" 2>/dev/null && [ $i -lt 60000 ]; do
	s=$(( $(stat -c %s "$B/r.db" 2>/dev/null || echo 0) + $(stat -c %s "$B/r.db-wal" 2>/dev/null || echo 0) ))
	[ "$s" -gt "$max" ] && max=$s
	sleep 0.05; i=$((i+1))
done
wait "$SEND"; t1=$(now)
r_ingest2=$(secs "$t0" "$t1")
stop_serve
row "ingest with --retain-size ${bound}M (lines/s)" "$(printf %.0f "$(echo "$N / $r_ingest2" | bc -l)")" \
	"$(printf %.0f "$(echo "$N / $e_ingest" | bc -l)")" "$(ratio "$e_ingest" "$r_ingest2")"
row "  largest history seen / bound (MiB)" "$(printf %.1f "$(echo "$max / 1048576" | bc -l)")" \
	"$bound" "$(ratio "$max" "$((bound * 1048576))")"
