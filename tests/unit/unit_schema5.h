/*
 * unit_schema5.h — a history as schema 5 (the release before the hot table and sealed
 * blocks) wrote it, for the unit tests that check its upgrade in place (test_seal,
 * test_dedupe): UNIT_SCHEMA5_SQL creates its tables in an empty SQLite file; the test then
 * inserts its records and sets PRAGMA user_version = 5. Needs store/spans.h.
 */
#ifndef ELOG_UNIT_SCHEMA5_H
#define ELOG_UNIT_SCHEMA5_H

#define UNIT_SCHEMA5_SQL \
	"PRAGMA journal_mode = WAL;" \
	"CREATE TABLE records (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL," \
	" arrival INTEGER NOT NULL, component TEXT NOT NULL, level INTEGER NOT NULL," \
	" msg TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT ''," \
	" dedupe TEXT);" \
	"CREATE INDEX records_component ON records(component, id);" \
	"CREATE INDEX records_ts ON records(ts);" \
	"CREATE UNIQUE INDEX records_dedupe ON records(dedupe) WHERE dedupe IS NOT NULL;" \
	"CREATE TABLE component_stats (component TEXT NOT NULL, source TEXT NOT NULL," \
	" level INTEGER NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (component, source, level))" \
	" WITHOUT ROWID;" \
	"CREATE TABLE keys (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE," \
	" hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, last_used INTEGER," \
	" revoked INTEGER);" \
	"CREATE TABLE cursors (name TEXT PRIMARY KEY, last_id INTEGER NOT NULL," \
	" updated INTEGER NOT NULL) WITHOUT ROWID;" \
	"CREATE TABLE components (name TEXT PRIMARY KEY, first_id INTEGER NOT NULL," \
	" removed_through INTEGER NOT NULL DEFAULT 0, removed_ts INTEGER NOT NULL DEFAULT 0)" \
	" WITHOUT ROWID;" \
	"CREATE TABLE horizon (one INTEGER PRIMARY KEY CHECK (one = 1)," \
	" removed_through INTEGER NOT NULL, removed_ts INTEGER NOT NULL," \
	" last_removed INTEGER NOT NULL);" \
	"INSERT INTO horizon VALUES (1, 0, 0, 0);" \
	ELOG_SPANS_SCHEMA_SQL

#endif
