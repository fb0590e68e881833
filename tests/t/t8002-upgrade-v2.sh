#!/bin/sh
# A history written by the previous release (schema 2: records, meta, component_stats) is
# upgraded in place on first open for writing (issue #17): schema 4 adds components (each
# component's first id, in first-seen order, listed without scanning the records) and horizon;
# every record and count is kept, readers work on the old file before and after, and ids go on.
# The schema 2 file is made with sqlite3 from the SQL that release wrote.
. "$(dirname "$0")/lib.sh"

H="$T/old.db"
sqlite3 "$H" <<'SQL' || fatal "making the schema 2 history"
PRAGMA journal_mode = WAL;
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  arrival INTEGER NOT NULL,
  component TEXT NOT NULL,
  level INTEGER NOT NULL,
  msg TEXT NOT NULL,
  fields TEXT NOT NULL DEFAULT '',
  source TEXT NOT NULL DEFAULT '',
  dedupe TEXT
);
CREATE INDEX records_component ON records(component, id);
CREATE INDEX records_ts ON records(ts);
CREATE UNIQUE INDEX records_dedupe ON records(dedupe) WHERE dedupe IS NOT NULL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
PRAGMA application_id = 1701605223;
CREATE TABLE component_stats (
  component TEXT NOT NULL,
  source TEXT NOT NULL,
  level INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (component, source, level)
) WITHOUT ROWID;
-- 3000 records of three components, zeta first, then alpha, then mid
WITH RECURSIVE i(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 3000)
INSERT INTO records (id, ts, arrival, component, level, msg, source, dedupe)
  SELECT n, 1700000000000000000 + n * 1000000, 1700000000000000000 + n * 1000000,
         CASE WHEN n = 1 THEN 'zeta' WHEN n < 100 THEN 'alpha' ELSE
              CASE n % 3 WHEN 0 THEN 'zeta' WHEN 1 THEN 'alpha' ELSE 'mid' END END,
         2, 'old record ' || n, 'send', CASE WHEN n = 7 THEN 'key-seven' END FROM i;
INSERT INTO component_stats SELECT component, source, level, count(*) FROM records GROUP BY 1, 2, 3;
PRAGMA user_version = 2;
SQL
[ "$(sqlite3 "$H" 'PRAGMA user_version')" = 2 ] || fatal "not a schema 2 file"

say "readers work on the schema 2 file as it is, without changing it"
elog logs --db "$H" -n 2 -o cat >"$T/r1" 2>"$T/r1.err" || fail "logs --db: $(cat "$T/r1.err")"
printf 'old record 2999\nold record 3000\n' | test_cmp - "$T/r1"
elog ps --db "$H" --disk --json >"$T/d1" || fail "ps --disk on schema 2"
grep -q '"records":3000,"first_id":1,"last_id":3000' "$T/d1" || fail "ps --disk: $(cat "$T/d1")"
[ "$(sqlite3 "$H" 'PRAGMA user_version')" = 2 ] || fail "a reader changed the schema"

say "serve upgrades it in place (schema 4, then 5 and 6): records and counts kept"
mv "$H" "$T/up.db"; mv "$H-wal" "$T/up.db-wal" 2>/dev/null; mv "$H-shm" "$T/up.db-shm" 2>/dev/null
H="$T/up.db"
start_serve up --retain-size 0
q() { sqlite3 "$H" "$1"; }
[ "$(q 'PRAGMA user_version')" = 6 ] || fail "user_version $(q 'PRAGMA user_version')"
[ "$(q 'SELECT count(*) FROM records')" = 3000 ] || fail "records lost"
[ "$(q 'SELECT sum(n) FROM component_stats')" = 3000 ] || fail "counts changed"
[ "$(q "SELECT group_concat(name || ':' || first_id) FROM (SELECT * FROM components ORDER BY first_id)")" = "zeta:1,alpha:2,mid:101" ] ||
	fail "components: $(q 'SELECT * FROM components')"
[ "$(q 'SELECT removed_through, last_removed FROM horizon')" = "0|0" ] || fail "horizon"

say "after the upgrade: ids go on, components listed in first-seen order"
elog send -c alpha "new record" || fail "send"
[ "$(q "SELECT id FROM records WHERE msg = 'new record'")" = 3001 ] || fail "id not 3001"
# the Components answer lists first-seen order: zeta, alpha, mid
elog logs -n 1 -c nosuch 2>"$T/none.err" >/dev/null
grep -q "zeta.*alpha.*mid" "$T/none.err" || fail "components hint: $(cat "$T/none.err")"
elog logs -n 2 -o cat >"$T/r2" || fail "logs after upgrade"
printf 'old record 3000\nnew record\n' | test_cmp - "$T/r2"
stop_serve

say "prune on the upgraded file: the oldest go, free pages stay for reuse (no auto_vacuum)"
elog prune --db "$H" --before @1700000001 >"$T/p" || fail "prune"
grep -q "^removed 999 records" "$T/p" || fail "$(cat "$T/p")"
[ "$(q 'SELECT min(id) FROM records')" = 1000 ] || fail "min id $(q 'SELECT min(id) FROM records')"
[ "$(q 'SELECT sum(n) FROM component_stats')" = 2002 ] || fail "counts $(q 'SELECT sum(n) FROM component_stats')"
