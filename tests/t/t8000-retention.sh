#!/bin/sh
# Retention (issue #17): serve --retain-size keeps the history (database + WAL on disk) within
# the bound plus 25% at every moment while three times the bound is ingested, the oldest
# records going first; a follower that stalled meanwhile, and a --since reader, are told once
# that records before id N were removed; ps --disk shows the figures; --retain-age removes
# records that arrived too long ago, even with no ingest; a bound under 8M is a usage error.
. "$(dirname "$0")/lib.sh"

BOUND_M=16
BOUND=$((BOUND_M * 1024 * 1024))
SLACK=$((BOUND + BOUND / 4))
# ~215-byte JSON lines, each with 64 random bytes (base64) that no compression takes away:
# 2.6x the bound as input, more than it once stored (since dedupe keys are runs, sealed records
# of compressible lines alone take ~13 bytes: 200k of them stayed under the bound)
N=200000

$PY - "$N" >"$T/lines.jsonl" <<'PYEOF'
import base64, json, random, sys
rnd = random.Random(7)
comps = ["api", "worker", "db", "auth"]
levels = ["debug", "info", "warn", "error"]
words = "request served user cache miss retry timeout upstream connection pool job".split()
for i in range(int(sys.argv[1])):
    print(json.dumps({"level": levels[i % 4], "component": comps[(i // 4) % 4],
                      "msg": " ".join(rnd.choice(words) for _ in range(5)),
                      "req": i, "dur_ms": rnd.randrange(1000),
                      "pad": base64.b64encode(rnd.randbytes(64)).decode()},
                     separators=(",", ":")))
PYEOF

disk() {   # database + WAL of history $1, in bytes
	d=$(stat -c %s "$1" 2>/dev/null || echo 0)
	w=$(stat -c %s "$1-wal" 2>/dev/null || echo 0)
	echo $((d + w))
}

say "serve --retain-size under 8M is a usage error naming the limit"
must_fail 2 "--retain-size 1M" timeout 60 "$ELOG_BIN" serve --listen 127.0.0.1:0 \
	--db "$T/bad/h.db" --retain-size 1M 2>"$T/bad.err"
grep -q "invalid --retain-size .*at least 8M" "$T/bad.err" || fail "message: $(cat "$T/bad.err")"
[ ! -e "$T/bad" ] || fail "serve made $T/bad"

start_serve ret --retain-size "${BOUND_M}M"

say "a follower, then stalled (SIGSTOP) while 3x the bound is ingested"
"$ELOG_BIN" logs -f --ready-file "$T/fol.ready" >"$T/fol.out" 2>"$T/fol.err" &
FOL=$!
BG_PIDS="$BG_PIDS $FOL"
wait_for "follower ready" 30 test -s "$T/fol.ready"
kill -STOP "$FOL"

say "the history stays within the bound + 25% at every moment of the ingest"
"$ELOG_BIN" send <"$T/lines.jsonl" 2>"$T/send.err" &
SEND=$!
max=0 polls=0
# bounded: the send ends (or 600 polls of ~0.1 s, then it is a failure)
while kill -0 "$SEND" 2>/dev/null && [ $polls -lt 6000 ]; do
	s=$(disk "$T/ret.db")
	[ "$s" -gt "$max" ] && max=$s
	polls=$((polls + 1))
	sleep 0.01
done
wait "$SEND" || fail "send: $(cat "$T/send.err")"
s=$(disk "$T/ret.db"); [ "$s" -gt "$max" ] && max=$s
echo "# bound $BOUND, largest seen $max over $polls polls" >&2
[ "$polls" -ge 20 ] || fail "only $polls polls during the ingest"
[ "$max" -le "$SLACK" ] || fail "history reached $max bytes, over $SLACK (bound $BOUND + 25%)"

say "the oldest records went first: what is left is the newest, ids without a hole"
q() { sqlite3 "$T/ret.db" "$1"; }
# schema 6: the records are the hot rows and the sealed blocks' (older)
ALL="SELECT min(lo), max(hi), sum(n) FROM (SELECT min(id_lo) lo, max(id_hi) hi,
	coalesce(sum(n), 0) n FROM blocks UNION ALL SELECT min(id), max(id), count(*) FROM records)"
set -- $(q "$ALL" | tr '|' ' ')
MIN=$1 MAX=$2 CNT=$3
[ "$MAX" = "$N" ] || fail "max id $MAX, not $N"
[ "$MIN" -gt 1 ] || fail "nothing removed (min id $MIN)"
[ "$CNT" = $((MAX - MIN + 1)) ] || fail "$CNT records between $MIN and $MAX"
# (schema 6 seals the records into compressed blocks, ~10x denser than rows: more of the
# N fit in the bound once sealed; the bound bit when the min id is above 1, checked above)
elog export --db "$T/ret.db" --json -n 1 | grep -q "^{\"id\":$N," ||
	fail "the newest record is missing: $(elog export --db "$T/ret.db" --json -n 1)"
# the summary ps reads follows the removals
[ "$(q "SELECT sum(n) FROM component_stats")" = "$CNT" ] ||
	fail "component_stats says $(q "SELECT sum(n) FROM component_stats"), records $CNT"

say "the stalled follower, let go, is told once what retention removed"
kill -CONT "$FOL"
wait_for "follower notice" 30 grep -q "records before id [0-9]* were removed by retention" \
	"$T/fol.err"
wait_for "follower caught up" 30 grep -q "req=$((N - 1)) " "$T/fol.out"
[ "$(grep -c 'were removed by retention' "$T/fol.err")" = 1 ] ||
	fail "told $(grep -c 'were removed by retention' "$T/fol.err") times: $(cat "$T/fol.err")"
kill "$FOL" 2>/dev/null; wait "$FOL" 2>/dev/null

say "logs --since before what is left: told on stderr, once, with the first id left"
elog logs --since @1 -n 1 >"$T/since.out" 2>"$T/since.err" || fail "logs --since"
grep -q "req=$((N - 1)) " "$T/since.out" || fail "since: $(cat "$T/since.out")"
# the horizon may have moved on by one chunk since MIN was read: the id is at least MIN
said=$(sed -n 's/^elog: records before id \([0-9]*\) were removed by retention$/\1/p' "$T/since.err")
[ -n "$said" ] && [ "$said" -ge "$MIN" ] || fail "since stderr: $(cat "$T/since.err")"
[ "$(wc -l <"$T/since.err")" = 1 ] || fail "since stderr: $(cat "$T/since.err")"
elog logs -n 1 2>"$T/plain.err" >/dev/null
[ -s "$T/plain.err" ] && fail "a reader of what is there was told: $(cat "$T/plain.err")"

say "ps --disk: size on disk, records, ids and span, as the files and the table say"
elog ps --disk --json >"$T/disk.json" || fail "ps --disk --json"
set -- $(q "$ALL" | tr '|' ' ')
$PY - "$T/disk.json" "$1" "$2" "$3" "$BOUND" <<'PYEOF' || fail "ps --disk: $(cat "$T/disk.json")"
import json, sys
d = json.loads(open(sys.argv[1]).read())
lo, hi, n, bound = (int(x) for x in sys.argv[2:])
assert d["first_id"] == lo and d["last_id"] == hi and d["records"] == n, d
assert d["removed_before"] == lo, d
assert d["size"] == d["db_bytes"] + d["wal_bytes"] and 0 < d["size"] <= bound * 5 // 4, d
assert 0 < d["first_ns"] <= d["last_ns"], d
PYEOF
elog ps --disk >"$T/disk.txt" || fail "ps --disk"
grep -q "^records:  $3 (ids $1 to $2)$" "$T/disk.txt" || fail "ps --disk: $(cat "$T/disk.txt")"
grep -q "^size: .* on disk (database .*, WAL .*)$" "$T/disk.txt" || fail "ps --disk: $(cat "$T/disk.txt")"
grep -q "^removed:  records before id $1 " "$T/disk.txt" || fail "ps --disk: $(cat "$T/disk.txt")"
stop_serve

say "serve --retain-age: records that arrived too long ago go, with no ingest"
start_serve age --retain-size 0 --retain-age 2s
for i in 1 2 3; do elog send -c old "old $i" || fail "send"; done
cnt() { sqlite3 "$T/age.db" "SELECT count(*) FROM records"; }
[ "$(cnt)" = 3 ] || fail "$(cnt) records right after sending"
none_left() { [ "$(cnt)" = 0 ]; }
wait_for "old records removed" 30 none_left
elog send -c new "new one" || fail "send new"
[ "$(sqlite3 "$T/age.db" "SELECT max(id) FROM records")" = 4 ] || fail "ids reused after removal"
stop_serve
