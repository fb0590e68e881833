/*
 * store.c — the history in SQLite (see store.h for the contract).
 *
 * Durability: journal_mode=WAL with synchronous=NORMAL. A committed transaction is in the
 * WAL file before COMMIT returns, so a crash of the process (SIGKILL of `elog serve`) loses
 * nothing committed; only a power loss / OS crash may lose the last transactions (never
 * corrupts the database).
 *
 * Statements: every fixed statement is a named macro below and is prepared once per
 * connection; every sqlite3_step is followed by sqlite3_reset + sqlite3_clear_bindings on
 * every path (store__stmt_done). Query statements are built from the filter and prepared per query
 * (not per row).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <fcntl.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/seal.h"
#include "common/arena.h"
#include "store/spans.h"
#include "common/util.h"

/* The schema this code writes; a history with a larger user_version is refused. */
#define ELOG_SCHEMA_VERSION 6
/* PRAGMA application_id: 'elog' in ASCII. */
#define ELOG_APPLICATION_ID 1701605223   /* 0x656c6f67 */
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- SQL ---------------------------------------------------------------------------- */

#define SQL_PRAGMA_USER_VERSION  "PRAGMA user_version;"
#define SQL_PRAGMA_APP_ID        "PRAGMA application_id;"
#define SQL_COUNT_MASTER         "SELECT count(*) FROM sqlite_master;"
#define SQL_HAS_RECORDS_TABLE \
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'records';"
#define SQL_PRAGMA_WAL           "PRAGMA journal_mode = WAL;"
#define SQL_PRAGMA_SYNC          "PRAGMA synchronous = NORMAL;"
#define SQL_PRAGMA_NO_FK         "PRAGMA foreign_keys = OFF;"
#define SQL_PRAGMA_CACHE         "PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;"
/* A WAL that a burst grew past 160 MiB is cut back to that when it starts over (the hub keeps
 * it under 128 MiB; see hub.c). */
#define SQL_PRAGMA_WAL_LIMIT     "PRAGMA journal_size_limit = 167772160;"

/* Schema version 1, created in one transaction together with the PRAGMAs that mark it. */
#define SQL_SCHEMA_V1 \
	"CREATE TABLE IF NOT EXISTS records (" \
	"  id INTEGER PRIMARY KEY," \
	"  ts INTEGER NOT NULL," \
	"  arrival INTEGER NOT NULL," \
	"  component TEXT NOT NULL," \
	"  level INTEGER NOT NULL," \
	"  msg TEXT NOT NULL," \
	"  fields TEXT NOT NULL DEFAULT ''," \
	"  source TEXT NOT NULL DEFAULT ''," \
	"  dedupe TEXT" \
	");" \
	"CREATE INDEX IF NOT EXISTS records_component ON records(component, id);" \
	"CREATE INDEX IF NOT EXISTS records_ts ON records(ts);" \
	"CREATE UNIQUE INDEX IF NOT EXISTS records_dedupe ON records(dedupe) " \
	"  WHERE dedupe IS NOT NULL;" \
	"PRAGMA application_id = " STR(ELOG_APPLICATION_ID) ";" \
	"PRAGMA user_version = 1;"

/* Schema 2: how many records of each component, source and level (`elog ps` reads it
 * instead of counting the records). Kept by elog_store_insert in the insert's transaction;
 * filled here from the records of a schema 1 history. */
#define SQL_MIGRATE_V2 \
	"CREATE TABLE IF NOT EXISTS component_stats (" \
	"  component TEXT NOT NULL," \
	"  source TEXT NOT NULL," \
	"  level INTEGER NOT NULL," \
	"  n INTEGER NOT NULL," \
	"  PRIMARY KEY (component, source, level)" \
	") WITHOUT ROWID;" \
	"INSERT INTO component_stats (component, source, level, n) " \
	"  SELECT component, source, level, count(*) FROM records GROUP BY 1, 2, 3;" \
	"PRAGMA user_version = 2;"
/* Schema 3: the API keys (elog_keys_*, keys.c) and the cursors of whatever reads the history
 * in order on its own (a forwarder, a cluster publisher: elog_store_cursor_*) join the
 * versioned schema; the unused meta table of schema 1 goes. */
#define SQL_MIGRATE_V3 \
	"CREATE TABLE IF NOT EXISTS keys (" \
	"  id INTEGER PRIMARY KEY," \
	"  name TEXT NOT NULL UNIQUE," \
	"  hash TEXT NOT NULL UNIQUE," \
	"  created INTEGER NOT NULL," \
	"  last_used INTEGER," \
	"  revoked INTEGER" \
	");" \
	"CREATE TABLE IF NOT EXISTS cursors (" \
	"  name TEXT PRIMARY KEY," \
	"  last_id INTEGER NOT NULL," \
	"  updated INTEGER NOT NULL" \
	") WITHOUT ROWID;" \
	"DROP TABLE IF EXISTS meta;" \
	"PRAGMA user_version = 3;"
/* Schema 4 (retention.c): components keeps each component's first id forever, so the order
 * of first appearance (colors) survives the removal of old records, and what a removal took
 * of it (`elog prune -c`); horizon (one row) what retention and prune removed of the whole
 * history, and the largest id ever removed, after which ids go on. The components of an
 * older history are listed by skipping through records_component (O(k log n), no scan). */
#define SQL_MIGRATE_V4 \
	"CREATE TABLE IF NOT EXISTS components (" \
	"  name TEXT PRIMARY KEY," \
	"  first_id INTEGER NOT NULL," \
	"  removed_through INTEGER NOT NULL DEFAULT 0," \
	"  removed_ts INTEGER NOT NULL DEFAULT 0" \
	") WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS horizon (" \
	"  one INTEGER PRIMARY KEY CHECK (one = 1)," \
	"  removed_through INTEGER NOT NULL," \
	"  removed_ts INTEGER NOT NULL," \
	"  last_removed INTEGER NOT NULL" \
	");" \
	"INSERT OR IGNORE INTO horizon VALUES (1, 0, 0, 0);" \
	"WITH RECURSIVE c(name) AS (" \
	"  SELECT (SELECT min(component) FROM records) UNION ALL " \
	"  SELECT (SELECT min(component) FROM records WHERE component > c.name) FROM c " \
	"  WHERE c.name IS NOT NULL) " \
	"INSERT OR IGNORE INTO components (name, first_id) " \
	"  SELECT name, (SELECT min(id) FROM records WHERE component = c.name) FROM c " \
	"  WHERE name IS NOT NULL;" \
	"PRAGMA user_version = 4;"

/* Schema 6 (issue 17): records becomes the hot table of the newest records, without its
 * secondary indexes (an insert is one append to the rowid B-tree); the sealer (store_blocks.c)
 * packs runs of its oldest rows into compressed blocks (store/block.h), one row of blocks
 * each: the summary a query skips a block by first, the big data blob last so that reading
 * summaries does not touch its pages. Dedupe keys move to their own table (only a record
 * that carries one pays for it), where they stay when their record is sealed, until
 * retention removes the record: keys "<prefix>:<n>" as runs of n in dedupe_runs (one row per
 * `elog send` stream), the others in dedupe (dedupe.c). The keys of an older history move
 * there in C after this SQL (store__dedupe_upgrade), in the same transaction. */
#define SQL_MIGRATE_V6 \
	"CREATE TABLE IF NOT EXISTS dedupe (" \
	"  key TEXT PRIMARY KEY," \
	"  id INTEGER NOT NULL" \
	") WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS dedupe_runs (" \
	"  prefix TEXT NOT NULL," \
	"  lo INTEGER NOT NULL," \
	"  hi INTEGER NOT NULL," \
	"  id_hi INTEGER NOT NULL," \
	"  PRIMARY KEY (prefix, lo)" \
	") WITHOUT ROWID;" \
	"DROP INDEX IF EXISTS records_component;" \
	"DROP INDEX IF EXISTS records_ts;" \
	"DROP INDEX IF EXISTS records_dedupe;" \
	"CREATE TABLE IF NOT EXISTS blocks (" \
	"  id_lo INTEGER PRIMARY KEY," \
	"  id_hi INTEGER NOT NULL," \
	"  ts_lo INTEGER NOT NULL," \
	"  ts_hi INTEGER NOT NULL," \
	"  arrival_lo INTEGER NOT NULL," \
	"  arrival_hi INTEGER NOT NULL," \
	"  n INTEGER NOT NULL," \
	"  level_mask INTEGER NOT NULL," \
	"  nkeys INTEGER NOT NULL," \
	"  components TEXT NOT NULL," \
	"  filter BLOB," \
	"  data BLOB NOT NULL" \
	");" \
	"PRAGMA user_version = 6;"

/* The migrations, in order: step i brings a history of a smaller user_version to version
 * (each step's SQL ends by setting user_version). A new schema is a new row here, with the
 * next number, and ELOG_SCHEMA_VERSION raised to it. */
static const struct schema_step {
	int version;
	const char *sql;
} schema_steps[] = {
	{ 1, SQL_SCHEMA_V1 },
	{ 2, SQL_MIGRATE_V2 },
	{ 3, SQL_MIGRATE_V3 },
	{ 4, SQL_MIGRATE_V4 },
	{ 5, ELOG_SPANS_SCHEMA_SQL },    /* spans for ReadSpans (store/spans.h) */
	{ 6, SQL_MIGRATE_V6 },           /* hot table + sealed blocks, dedupe keys apart */
};

#define SQL_STATS_UPSERT \
	"INSERT INTO component_stats (component, source, level, n) VALUES (?1, ?2, ?3, ?4) " \
	"ON CONFLICT DO UPDATE SET n = n + excluded.n;"

#define SQL_BEGIN                "BEGIN;"
#define SQL_BEGIN_IMMEDIATE      "BEGIN IMMEDIATE;"
#define SQL_COMMIT               "COMMIT;"
#define SQL_ROLLBACK             "ROLLBACK;"

/* A component's first record (schema 4): ignored when it is known. */
#define SQL_COMPONENT_SEEN \
	"INSERT INTO components (name, first_id) VALUES (?1, ?2) ON CONFLICT (name) " \
	"DO UPDATE SET first_id = excluded.first_id WHERE excluded.first_id < first_id;"

/* The largest id given: the largest stored, or one removed by retention (schema 4), so ids
 * are never reused. */
#define SQL_MAX_ID_V3            "SELECT max(id) FROM records;"
#define SQL_MAX_ID \
	"SELECT max(coalesce((SELECT max(id) FROM records), 0), " \
	"           coalesce((SELECT last_removed FROM horizon), 0));"
/* Schema 6: the newest sealed record too (the last block has the largest ids; the hot table
 * may be empty after a removal of its records). */
#define SQL_MAX_ID_V6 \
	"SELECT max(coalesce((SELECT max(id) FROM records), 0), " \
	"           coalesce((SELECT last_removed FROM horizon), 0), " \
	"           coalesce((SELECT id_hi FROM blocks ORDER BY id_lo DESC LIMIT 1), 0));"
/* Records go MULTI_ROWS to a statement, with ids assigned here (max + 1 onwards, so still
 * strictly increasing: after a removal of the newest records SQLite's own choice would reuse
 * their ids); what is left at the end of a batch goes in statements of the smaller sizes of
 * insert_sizes. One statement per row cost a third of ingest; 128 rows a statement took 9%
 * less of the writer's time than 32. A record with a dedupe key goes the same way once its
 * key is stored (store__dedupe_add_batched). Schema 6 has no unique index but the id: no row
 * can conflict. */
#define MULTI_ROWS 128
static const size_t insert_sizes[INSERT_SIZES] = { MULTI_ROWS, 32, 8, 1 };
#define ROW_COLS 9
#define SQL_INSERT_MULTI_HEAD \
	"INSERT INTO records (id, ts, arrival, component, level, msg, fields, source, dedupe) " \
	"VALUES "
#define SQL_INSERT_MULTI_ROW     "(?,?,?,?,?,?,?,?,?)"

/* Distinct components by skipping through records_component: O(k log n), not O(n). */
#define SQL_COMPONENT_FIRST      "SELECT component FROM records ORDER BY component LIMIT 1;"
#define SQL_COMPONENT_NEXT \
	"SELECT component FROM records WHERE component > ?1 ORDER BY component LIMIT 1;"
/* Schema 6 (no index on records.component): the components that have records, from the
 * summary (its primary key starts with the component). */
#define SQL_COMPONENT_FIRST_V6 \
	"SELECT component FROM component_stats ORDER BY component LIMIT 1;"
#define SQL_COMPONENT_NEXT_V6 \
	"SELECT component FROM component_stats WHERE component > ?1 ORDER BY component LIMIT 1;"

/* ---- the connection ----------------------------------------------------------------- */


/* An insert counts its records per (component, source, level) in a small open-addressing
 * table and adds them to component_stats before it commits: one upsert per key, not per
 * record. The table is written out when it is 3/4 full (a batch of many distinct keys costs
 * one upsert per key, nothing more). */
#define STATS_SLOTS 256
struct stats_slot {
	const char *component, *source;    /* the records' strings, valid until the commit */
	int level;
	uint32_t hash;
	int64_t n;                         /* 0: free slot */
	int64_t first_id;                  /* the smallest id counted in it */
};


/* Maps an SQLite result code to an ELOG_E* code. */
int store__sqlite_to_elog(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return ELOG_EFULL;
	case SQLITE_NOMEM:
		return ELOG_ENOMEM;
	default:
		return ELOG_EIO;
	}
}

/* store__sqlite_to_elog for a write; sets *cause to what to tell. A write that failed with ENOSPC,
 * EDQUOT or EFBIG (past a file-size limit, the process ignoring SIGXFSZ) counts as a full disk
 * whatever SQLite calls it: SQLite reports the WAL's failed write as SQLITE_IOERR without
 * keeping its errno, so errno, which nothing between the failed step and here changed, is
 * asked too. Call right after the failed step. */
static int write_error(struct elog_store *s, int rc, const char **cause)
{
	int e = errno, se = sqlite3_system_errno(s->db);

	if (se)
		e = se;
	*cause = sqlite3_errmsg(s->db);
	if ((rc & 0xff) == SQLITE_IOERR && (e == ENOSPC || e == EFBIG || e == EDQUOT)) {
		*cause = strerror(e);
		return ELOG_EFULL;
	}
	return store__sqlite_to_elog(rc);
}

/* Resets a statement after a step, whatever the step returned; keeps it ready for reuse. */
void store__stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows needed (BEGIN, COMMIT, a PRAGMA). Returns the
 * SQLite code: SQLITE_OK when it completed. */
int store__stmt_exec(sqlite3_stmt *st)
{
	int rc;

	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	store__stmt_done(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}


/* One integer from sql with up to one int64 and one text parameter; SQLite code. */
int store__one_int(sqlite3 *db, const char *sql, int64_t a, const char *t, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	*out = 0;
	if (rc != SQLITE_OK)
		return rc;
	if (sqlite3_bind_parameter_count(st) >= 1) {
		if (t && sqlite3_bind_parameter_count(st) == 1)
			sqlite3_bind_text(st, 1, t, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 1, a);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* strerror with a lowercase first letter, as our messages are lowercase. */
static const char *errno_text(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	if (buf[0])
		buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

static int prepare(struct elog_store *s, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL);
}

/* The insert statement of insert_sizes[k] rows, prepared on first use (a reader never
 * inserts). */
static sqlite3_stmt *insert_stmt(struct elog_store *s, size_t k, int *rc)
{
	struct elog_buf sql = ELOG_BUF_INIT;

	*rc = SQLITE_OK;
	if (s->st_insert[k])
		return s->st_insert[k];
	elog_buf_adds(&sql, SQL_INSERT_MULTI_HEAD);
	for (size_t i = 0; i < insert_sizes[k]; i++) {
		if (i)
			elog_buf_addc(&sql, ',');
		elog_buf_adds(&sql, SQL_INSERT_MULTI_ROW);
	}
	elog_buf_addc(&sql, ';');
	*rc = prepare(s, sql.data, &s->st_insert[k]);
	elog_buf_release(&sql);
	return s->st_insert[k];
}

/* Open-time error with the connection's message. */
static int open_fail(struct elog_store *s, int rc, struct elog_err *err)
{
	return elog_err_set(err, store__sqlite_to_elog(rc), "cannot open history '%s': %s", s->path,
			    sqlite3_errmsg(s->db));
}

/*
 * Checks that the open file is an elog history (or an empty database) without writing.
 * Sets *version to its schema version (0: empty, to be created).
 */
static int check_history(struct elog_store *s, int64_t *version, struct elog_err *err)
{
	int64_t app_id, tables, has_records;
	int rc;

	rc = store__one_int(s->db, SQL_PRAGMA_USER_VERSION, 0, NULL, version);
	if (rc == SQLITE_OK)
		rc = store__one_int(s->db, SQL_PRAGMA_APP_ID, 0, NULL, &app_id);
	if (rc == SQLITE_OK)
		rc = store__one_int(s->db, SQL_COUNT_MASTER, 0, NULL, &tables);
	if (rc == SQLITE_OK)
		rc = store__one_int(s->db, SQL_HAS_RECORDS_TABLE, 0, NULL, &has_records);
	if (rc != SQLITE_OK)
		return open_fail(s, rc, err);

	if (app_id != 0 && app_id != ELOG_APPLICATION_ID)
		goto foreign;
	if (*version == 0) {
		if (tables > 0)
			goto foreign;
		return 0;
	}
	if (app_id == 0 && !has_records)
		goto foreign;
	if (*version > ELOG_SCHEMA_VERSION)
		return elog_err_set(err, ELOG_EFAIL,
				    "cannot open history '%s': was written by a newer elog "
				    "(schema %lld)", s->path, (long long)*version);
	return 0;
foreign:
	return elog_err_set(err, ELOG_EFAIL, "cannot open history '%s': not an elog history file",
			    s->path);
}

/* Creates the schema in an empty database, or migrates an older one (re-checking under the
 * write lock, in case another process created or migrated it meanwhile). */
static int create_schema(struct elog_store *s, struct elog_err *err)
{
	int64_t version;
	int rc = sqlite3_exec(s->db, SQL_BEGIN_IMMEDIATE, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return open_fail(s, rc, err);
	if (check_history(s, &version, err) != 0) {
		sqlite3_exec(s->db, SQL_ROLLBACK, NULL, NULL, NULL);
		return err ? err->code : ELOG_EFAIL;
	}
	for (size_t i = 0; rc == SQLITE_OK && i < sizeof(schema_steps) / sizeof(schema_steps[0]);
	     i++)
		if (version < schema_steps[i].version)
			rc = sqlite3_exec(s->db, schema_steps[i].sql, NULL, NULL, NULL);
	if (rc == SQLITE_OK && version >= 1 && version < 6)
		rc = store__dedupe_upgrade(s);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, SQL_COMMIT, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int ret = open_fail(s, rc, err);

		if (!sqlite3_get_autocommit(s->db))
			sqlite3_exec(s->db, SQL_ROLLBACK, NULL, NULL, NULL);
		return ret;
	}
	return 0;
}

/* Sets WAL and the connection PRAGMAs (read-write connections only). */
static int set_pragmas(struct elog_store *s, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, SQL_PRAGMA_WAL, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return open_fail(s, rc, err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		/* An in-memory database reports "memory"; a file must really be in WAL. */
		if (!mode || (strcmp(mode, "wal") != 0 && strcmp(s->path, ":memory:") != 0)) {
			sqlite3_finalize(st);
			return elog_err_set(err, ELOG_EIO,
					    "cannot open history '%s': cannot enable WAL mode",
					    s->path);
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK && rc != SQLITE_DONE)
		return open_fail(s, rc, err);
	rc = sqlite3_exec(s->db, SQL_PRAGMA_SYNC SQL_PRAGMA_NO_FK SQL_PRAGMA_CACHE SQL_PRAGMA_WAL_LIMIT, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return open_fail(s, rc, err);
	return 0;
}

int elog_store_open(struct elog_store **out, const char *path, int flags, struct elog_err *err)
{
	struct elog_store *s;
	struct stat sb;
	int readonly = (flags & ELOG_STORE_READONLY) != 0;
	int exists, oflags, rc, ret;
	int64_t version = 0;
	char buf[4096], ebuf[128];

	*out = NULL;
	if (!path || !*path)
		return elog_err_set(err, ELOG_EUSAGE, "cannot open history '': empty path");
	if (!readonly && strcmp(path, ":memory:") != 0) {
		int e = elog_make_parent_dirs(path, buf, sizeof(buf));

		if (e)
			return elog_err_set(err, ELOG_EIO,
					    "cannot open history '%s': cannot create directory "
					    "'%s': %s", path, buf, errno_text(e, ebuf, sizeof(ebuf)));
	}
	exists = stat(path, &sb) == 0;
	if (!exists && (readonly || errno != ENOENT))
		return elog_err_set(err, ELOG_EIO, "cannot open history '%s': %s", path,
				    errno_text(errno, ebuf, sizeof(ebuf)));
	if (exists && S_ISDIR(sb.st_mode))
		return elog_err_set(err, ELOG_EIO, "cannot open history '%s': is a directory",
				    path);

	if (!exists && strcmp(path, ":memory:") != 0) {
		/* created 0600 before SQLite opens it: SQLite gives -wal and -shm the mode of the
		 * database file, so the three stay private whatever the umask */
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0 && errno != EEXIST)
			return elog_err_set(err, ELOG_EIO, "cannot open history '%s': %s", path,
					    errno_text(errno, ebuf, sizeof(ebuf)));
		if (fd >= 0) {
			if (fchmod(fd, 0600) != 0) {
				/* the mode from open() stands */
			}
			close(fd);
		}
		exists = 1;
	}

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->readonly = readonly;
	/* An existing file is opened without CREATE and validated before anything is set. */
	oflags = readonly ? SQLITE_OPEN_READONLY
		: exists ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		ret = s->db ? open_fail(s, rc, err)
			: elog_err_set(err, ELOG_ENOMEM, "cannot open history '%s': out of memory",
				       path);
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 0);
	sqlite3_busy_timeout(s->db, 5000);

	ret = check_history(s, &version, err);
	if (ret != 0)
		goto fail;
	if (readonly) {
		if (version == 0) {
			ret = elog_err_set(err, ELOG_EIO, "cannot open history '%s': empty history",
					   path);
			goto fail;
		}
	} else {
		/* A new history gives pages freed by retention back to the file system when
		 * asked (retention.c); only settable before the first table, and before WAL. */
		if (version == 0)
			sqlite3_exec(s->db, "PRAGMA auto_vacuum = INCREMENTAL;", NULL, NULL, NULL);
		ret = set_pragmas(s, err);
		if (ret == 0 && version < ELOG_SCHEMA_VERSION)
			ret = create_schema(s, err);
		if (ret != 0)
			goto fail;
		version = ELOG_SCHEMA_VERSION;
	}
	s->version = version;

	if ((rc = prepare(s, SQL_BEGIN, &s->st_begin)) != SQLITE_OK ||
	    (rc = prepare(s, SQL_BEGIN_IMMEDIATE, &s->st_begin_immediate)) != SQLITE_OK ||
	    (rc = prepare(s, SQL_COMMIT, &s->st_commit)) != SQLITE_OK ||
	    (rc = prepare(s, SQL_ROLLBACK, &s->st_rollback)) != SQLITE_OK ||
	    (rc = prepare(s, version >= 6 ? SQL_MAX_ID_V6 : version >= 4 ? SQL_MAX_ID :
			  SQL_MAX_ID_V3, &s->st_max_id)) != SQLITE_OK ||
	    (rc = prepare(s, version >= 6 ? SQL_COMPONENT_FIRST_V6 : SQL_COMPONENT_FIRST,
			  &s->st_component_first)) != SQLITE_OK ||
	    (rc = prepare(s, version >= 6 ? SQL_COMPONENT_NEXT_V6 : SQL_COMPONENT_NEXT,
			  &s->st_component_next)) != SQLITE_OK ||
	    (!readonly && (rc = prepare(s, SQL_STATS_UPSERT, &s->st_stats_upsert)) != SQLITE_OK) ||
	    (!readonly && (rc = prepare(s, SQL_COMPONENT_SEEN, &s->st_component_seen))
	     != SQLITE_OK)) {
		ret = open_fail(s, rc, err);
		goto fail;
	}
	if (!readonly)
		s->stats = xcalloc(STATS_SLOTS, sizeof(*s->stats));
	*out = s;
	return 0;
fail:
	elog_store_close(s);
	return ret;
}

void elog_store_close(struct elog_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->st_begin);
	sqlite3_finalize(s->st_begin_immediate);
	sqlite3_finalize(s->st_commit);
	sqlite3_finalize(s->st_rollback);
	for (size_t k = 0; k < INSERT_SIZES; k++)
		sqlite3_finalize(s->st_insert[k]);
	sqlite3_finalize(s->st_max_id);
	sqlite3_finalize(s->st_component_first);
	sqlite3_finalize(s->st_component_next);
	store__tail_cache_free(s->tc);
	sqlite3_finalize(s->st_stats_upsert);
	sqlite3_finalize(s->st_component_seen);
	store__dedupe_close(s);
	free(s->stats);
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

const char *elog_store_path(const struct elog_store *s)
{
	return s->path;
}

static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct commit_hook_slot *h = arg;

	(void)db;
	(void)name;
	h->fn(h->ctx, frames);
	return SQLITE_OK;
}

void elog_store_on_commit(struct elog_store *s, void (*fn)(void *ctx, int frames), void *ctx)
{
	s->hook.fn = fn;
	s->hook.ctx = ctx;
	/* Replaces SQLite's own auto-checkpoint hook. */
	sqlite3_wal_hook(s->db, wal_hook, &s->hook);
}

int elog_store_checkpoint(struct elog_store *s, int *log_frames, int *done_frames,
			  struct elog_err *err)
{
	int nlog = -1, ndone = -1;
	int rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &nlog, &ndone);

	if (rc == SQLITE_BUSY)
		nlog = ndone = -1;
	if (log_frames)
		*log_frames = nlog;
	if (done_frames)
		*done_frames = ndone;
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return elog_err_set(err, store__sqlite_to_elog(rc), "cannot checkpoint history '%s': %s",
				    s->path, sqlite3_errmsg(s->db));
	return 0;
}

struct sqlite3 *elog_store_db(struct elog_store *s)
{
	return s->db;
}

/* ---- insert ------------------------------------------------------------------------- */

static const char *nz(const char *s)
{
	return s ? s : "";
}

/* Writes the counted keys to component_stats and empties the table. An SQLite code. */
static int stats_flush(struct elog_store *s)
{
	sqlite3_stmt *st = s->st_stats_upsert;
	int rc = SQLITE_DONE;
	size_t i;

	for (i = 0; i < STATS_SLOTS && s->nstats; i++) {
		struct stats_slot *x = &s->stats[i];

		if (!x->n)
			continue;
		if (rc == SQLITE_DONE) {
			sqlite3_bind_text(st, 1, x->component, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, x->source, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, x->level);
			sqlite3_bind_int64(st, 4, x->n);
			rc = sqlite3_step(st);
			if (rc != SQLITE_DONE)
				rc = sqlite3_errcode(s->db);
			store__stmt_done(st);
		}
		if (rc == SQLITE_DONE) {
			/* a component's first record, kept once for the order of first
			 * appearance */
			sqlite3_bind_text(s->st_component_seen, 1, x->component, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(s->st_component_seen, 2, x->first_id);
			rc = sqlite3_step(s->st_component_seen);
			if (rc != SQLITE_DONE)
				rc = sqlite3_errcode(s->db);
			store__stmt_done(s->st_component_seen);
		}
		x->n = 0;
		s->nstats--;
	}
	s->nstats = 0;
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static uint32_t str_hash(uint32_t h, const char *p)
{
	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h * 16777619u;
}

/* Counts one stored record. An SQLite code (a flush may write). */
static int stats_count(struct elog_store *s, const struct elog_record *r)
{
	const char *c = nz(r->component), *src = nz(r->source);
	uint32_t h = str_hash(str_hash(2166136261u ^ (uint32_t)r->level, c), src);
	size_t i = h & (STATS_SLOTS - 1);
	int rc;

	for (;;) {
		struct stats_slot *x = &s->stats[i];

		if (!x->n)
			break;
		if (x->hash == h && x->level == r->level && strcmp(x->component, c) == 0 &&
		    strcmp(x->source, src) == 0) {
			x->n++;
			return SQLITE_OK;
		}
		i = (i + 1) & (STATS_SLOTS - 1);
	}
	if (s->nstats >= STATS_SLOTS * 3 / 4) {
		rc = stats_flush(s);
		if (rc != SQLITE_OK)
			return rc;
		i = h & (STATS_SLOTS - 1);
	}
	s->stats[i].component = c;
	s->stats[i].source = src;
	s->stats[i].level = r->level;
	s->stats[i].hash = h;
	s->stats[i].n = 1;
	s->stats[i].first_id = r->id;
	s->nstats++;
	return SQLITE_OK;
}

int elog_store_insert(struct elog_store *s, struct elog_record *recs, size_t n,
		      size_t *stored, struct elog_err *err)
{
	return elog_store_insert_txn(s, recs, n, stored, NULL, NULL, err);
}

/* Binds recs[pend[0..k)] to st (k rows of ROW_COLS) with ids from id0 and runs it; SQLite
 * code. */
static int insert_rows(sqlite3_stmt *st, const struct elog_record *recs, const size_t *pend,
		       size_t k, int64_t id0)
{
	int rc;

	for (size_t j = 0; j < k; j++) {
		const struct elog_record *x = &recs[pend[j]];
		int b = (int)j * ROW_COLS;

		sqlite3_bind_int64(st, b + 1, id0 + (int64_t)j);
		sqlite3_bind_int64(st, b + 2, x->ts_ns);
		sqlite3_bind_int64(st, b + 3, x->arrival_ns);
		sqlite3_bind_text(st, b + 4, nz(x->component), -1, SQLITE_STATIC);
		sqlite3_bind_int(st, b + 5, x->level);
		sqlite3_bind_text(st, b + 6, nz(x->msg), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, b + 7, nz(x->fields), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, b + 8, nz(x->source), -1, SQLITE_STATIC);
		if (x->dedupe_key && *x->dedupe_key)
			sqlite3_bind_text(st, b + 9, x->dedupe_key, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, b + 9);
	}
	rc = sqlite3_step(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Inserts recs[idx[0..k)] as rows with ids id0 onwards, in statements of insert_sizes, and sets
 * their ids. Returns 0 or a negative code with err ("cannot write history ..."). */
static int insert_run(struct elog_store *s, struct elog_record *recs, const size_t *idx,
		      size_t k, int64_t id0, struct elog_err *err)
{
	const char *cause;
	size_t j = 0;
	int rc = SQLITE_OK, ret, code;

	for (size_t z = 0; z < INSERT_SIZES; z++) {
		size_t m = insert_sizes[z];
		sqlite3_stmt *st;

		for (; k - j >= m; j += m) {
			if (!(st = insert_stmt(s, z, &rc)))
				goto fail;
			rc = insert_rows(st, recs, idx + j, m, id0 + (int64_t)j);
			if (rc != SQLITE_OK) {
				/* the message before the reset, which may replace it */
				code = write_error(s, rc, &cause);
				ret = elog_err_set(err, code, "cannot write history '%s': %s",
						   s->path, cause);
				store__stmt_done(st);
				return ret;
			}
			store__stmt_done(st);
			for (size_t q = 0; q < m; q++)
				recs[idx[j + q]].id = id0 + (int64_t)(j + q);
		}
	}
	return 0;
fail:
	code = write_error(s, rc, &cause);
	return elog_err_set(err, code, "cannot write history '%s': %s", s->path, cause);
}

/* A record about to be inserted with id `id` if it is new: its times filled in, its dedupe key
 * (if any) stored. *keep: 0 for a duplicate (a key stored before, or earlier in the batch).
 * SQLite code. */
static int insert_prepare(struct elog_store *s, struct elog_record *r, int64_t id, int *keep)
{
	r->id = 0;
	if (r->arrival_ns == 0)
		r->arrival_ns = elog_now_ns();
	if (r->ts_ns == 0)
		r->ts_ns = r->arrival_ns;
	*keep = 1;
	if (r->dedupe_key && *r->dedupe_key)
		return store__dedupe_add_batched(s, r->dedupe_key, id, keep);
	return SQLITE_OK;
}

/* The hot table's smallest and largest ids (0 when empty): two seeks (min() and max() in one
 * SELECT would scan the table). */
#define SQL_HOT_RANGE \
	"SELECT coalesce((SELECT id FROM records ORDER BY id LIMIT 1), 0), " \
	"coalesce((SELECT id FROM records ORDER BY id DESC LIMIT 1), 0);"
#define SQL_HOT_DELETE_UPTO "DELETE FROM records WHERE id <= ?1;"
/* Hot rows the caller has no copies of (rows an earlier serve left, say) are read back, at
 * most this many: once, then the caller's copies match again. More (a history just upgraded)
 * are left to the sealer. */
#define READ_BACK_MAX (4 * ELOG_BLOCK_MAX_RECORDS)
/*
 * The sealing insert (elog_store_insert_sealing), inside the write transaction begun by
 * insert_impl with max_id read: decides each record's key and id first, then seals hot[0..nhot)
 * (hot rows it lacks read back) followed by the new records into blocks, deleting those hot
 * rows, and inserts the rest as rows. With more hot rows than it reads back, or fewer than a
 * block of new records, everything goes in as rows. Returns 0 or a negative code with err;
 * *count the rows stored, *through the largest id sealed (0: none); the records' ids set.
 */
static int insert_sealing(struct elog_store *s, struct elog_record *recs, size_t n,
			  const struct elog_record *hot, size_t nhot, int64_t max_id,
			  size_t *count, int64_t *through, struct elog_err *err)
{
	const size_t block = ELOG_BLOCK_MAX_RECORDS;
	size_t *acc = xmalloc(n * sizeof(*acc)), na = 0, nseal = 0, first_row = 0;
	struct elog_record *tmp = NULL, *back = NULL;
	struct elog_arena back_strs;   /* the strings of rows read back */
	int64_t lo = 0, hi = 0;
	const char *cause;
	int rc = SQLITE_OK, ret = 0, ok;

	elog_arena_init(&back_strs);
	for (size_t i = 0; i < n; i++) {
		int keep;

		rc = insert_prepare(s, &recs[i], max_id + 1 + (int64_t)na, &keep);
		if (rc != SQLITE_OK)
			goto out;
		if (keep)
			acc[na++] = i;
	}
	if (s->version < 6 || na < block)
		goto rows;
	{
		sqlite3_stmt *st = NULL;

		rc = sqlite3_prepare_v2(s->db, SQL_HOT_RANGE, -1, &st, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			lo = sqlite3_column_int64(st, 0);
			hi = sqlite3_column_int64(st, 1);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_OK)
			goto out;
	}
	/* The copies are the table's newest rows when their ids are consecutive and end at its
	 * largest; rows below them (an earlier serve's, or copies dropped past the bound) are
	 * read back and go first. Anything else, or copies of rows removed meanwhile (`elog prune
	 * -c` takes rows from the middle; the delete's count below tells): the whole table is
	 * read back. */
	for (int attempt = 0;; attempt++) {
		size_t nb = 0;

		ok = attempt == 0 && nhot && hot[0].id > 0 && hi == hot[nhot - 1].id &&
		     hot[nhot - 1].id - hot[0].id + 1 == (int64_t)nhot;
		if (attempt == 0 && (ok ? lo == hot[0].id : nhot == 0 && lo == 0))
			goto copies_ok;
		if (!back)
			back = xmalloc((READ_BACK_MAX + nhot) * sizeof(*back));
		rc = store__hot_rows(s, back, READ_BACK_MAX, ok ? hot[0].id : 0, &nb, &back_strs);
		if (rc != SQLITE_OK)
			goto out;
		if (nb == READ_BACK_MAX && (ok ? hot[0].id - 1 : hi) > back[nb - 1].id)
			goto rows;                  /* more than that: the sealer's */
		if (ok)
			memcpy(back + nb, hot, nhot * sizeof(*hot));
		nhot = nb + (ok ? nhot : 0);
		hot = back;
copies_ok:
		/* every hot row goes into a block, with new records after it: a block's ids must
		 * all be below every hot row's. What is left short of a whole block stays hot
		 * when it is less than half a block, else it is sealed as a smaller block: left
		 * hot, those rows were written and deleted again by every transaction of a burst
		 * (a third more WAL at 3,000 of them), and half a block compresses nearly as well */
		nseal = (nhot + na) / block * block;
		if (nhot + na - nseal >= block / 2)
			nseal = nhot + na;
		if (nseal <= nhot) {
			nseal = 0;
			goto rows;
		}
		if (!nhot)
			break;
		/* hot[] is every row up to its last when the delete takes as many */
		rc = sqlite3_exec(s->db, "SAVEPOINT seal_hot;", NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_stmt *st = NULL;

			rc = sqlite3_prepare_v2(s->db, SQL_HOT_DELETE_UPTO, -1, &st, NULL);
			if (rc == SQLITE_OK) {
				sqlite3_bind_int64(st, 1, hot[nhot - 1].id);
				rc = sqlite3_step(st);
				rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
			}
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_OK)
			goto out;
		if (sqlite3_changes(s->db) == (int)nhot) {
			rc = sqlite3_exec(s->db, "RELEASE seal_hot;", NULL, NULL, NULL);
			if (rc != SQLITE_OK)
				goto out;
			break;
		}
		rc = sqlite3_exec(s->db, "ROLLBACK TO seal_hot; RELEASE seal_hot;", NULL, NULL,
				  NULL);
		if (rc != SQLITE_OK)
			goto out;
		if (attempt > 0) {     /* rows read in this transaction: cannot be */
			ret = elog_err_set(err, ELOG_EIO, "cannot write history '%s': "
					   "the hot table changed while sealing", s->path);
			goto out;
		}
	}
	if (nseal) {
		tmp = xmalloc(block * sizeof(*tmp));
		for (size_t b = 0; b < nseal; b += block) {
			struct elog_seal *p = NULL;
			size_t bn = nseal - b < block ? nseal - b : block;

			for (size_t k = 0; k < bn; k++) {
				size_t at = b + k;

				if (at < nhot) {
					tmp[k] = hot[at];
				} else {
					struct elog_record *r = &recs[acc[at - nhot]];

					r->id = max_id + 1 + (int64_t)(at - nhot);
					tmp[k] = *r;
				}
			}
			if ((ret = store__seal_encode(s, tmp, bn, &p, err)) != 0)
				goto out;
			rc = store__seal_insert(s, p);
			elog_seal_free(p);
			if (rc != SQLITE_OK)
				goto out;
		}
		first_row = nseal - nhot;
		*through = max_id + (int64_t)first_row;
	}
rows:
	ret = insert_run(s, recs, acc + first_row, na - first_row,
			 max_id + 1 + (int64_t)first_row, err);
	if (ret == 0)
		*count = na;
out:
	if (rc != SQLITE_OK) {
		int code = write_error(s, rc, &cause);

		ret = elog_err_set(err, code, "cannot write history '%s': %s", s->path, cause);
	}
	free(tmp);
	free(acc);
	free(back);
	elog_arena_release(&back_strs);
	return ret;
}

static int insert_impl(struct elog_store *s, struct elog_record *recs, size_t n,
		       const struct elog_record *hot, size_t nhot, int64_t *through,
		       size_t *stored, elog_store_txn_fn extra, void *ctx, struct elog_err *err)
{
	size_t count = 0, i, np = 0, pend[MULTI_ROWS];
	int64_t max_id;
	const char *cause;
	int rc, ret, code;

	if (stored)
		*stored = 0;
	if (through)
		*through = 0;
	if (n == 0 && !extra)
		return 0;
	errno = 0;    /* write_error reads it */
	rc = store__stmt_exec(s->st_begin_immediate);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s->st_max_id);
	if (rc != SQLITE_ROW) {
		store__stmt_done(s->st_max_id);
		goto fail;
	}
	max_id = sqlite3_column_int64(s->st_max_id, 0);
	store__stmt_done(s->st_max_id);
	if (through && n >= ELOG_BLOCK_MAX_RECORDS) {
		int64_t sealed_to = 0;

		ret = insert_sealing(s, recs, n, hot, nhot, max_id, &count, &sealed_to, err);
		if (ret != 0)
			goto rollback;
		*through = sealed_to;
		goto rows_done;
	}
	/* Each record in order: its key first (stored already, before or earlier in this batch:
	 * a duplicate, not inserted), then it waits for a full statement; what is left at the
	 * end goes in smaller ones. Ids follow the order, each max + 1. */
	for (i = 0; i <= n; i++) {
		if (i < n) {
			int keep;

			rc = insert_prepare(s, &recs[i], max_id + 1 + (int64_t)np, &keep);
			if (rc != SQLITE_OK)
				goto fail;
			if (!keep)
				continue;
			pend[np++] = i;
			if (np < MULTI_ROWS)
				continue;
		}
		if (np && (ret = insert_run(s, recs, pend, np, max_id + 1, err)) != 0)
			goto rollback;
		max_id += (int64_t)np;
		count += np;
		np = 0;
	}
rows_done:
	rc = store__dedupe_flush(s);
	if (rc != SQLITE_OK)
		goto fail;
	/* The summary `elog ps` reads, in the same transaction. */
	for (i = 0, rc = SQLITE_OK; i < n && rc == SQLITE_OK; i++)
		if (recs[i].id > 0)
			rc = stats_count(s, &recs[i]);
	if (rc == SQLITE_OK)
		rc = stats_flush(s);
	if (rc != SQLITE_OK) {
		code = write_error(s, rc, &cause);
		ret = elog_err_set(err, code, "cannot write history '%s': %s", s->path, cause);
		for (i = 0; i < STATS_SLOTS; i++)
			s->stats[i].n = 0;
		s->nstats = 0;
		goto rollback;
	}
	if (extra && (ret = extra(ctx, s, err)) != 0)
		goto rollback;
	rc = store__stmt_exec(s->st_commit);
	if (rc != SQLITE_OK)
		goto fail;
	if (stored)
		*stored = count;
	return 0;
fail:
	code = write_error(s, rc, &cause);
	ret = elog_err_set(err, code, "cannot write history '%s': %s", s->path, cause);
rollback:
	store__dedupe_forget(s);
	if (!sqlite3_get_autocommit(s->db))
		store__stmt_exec(s->st_rollback);
	for (i = 0; i < n; i++)
		recs[i].id = 0;
	if (through)
		*through = 0;
	return ret;
}

int elog_store_insert_txn(struct elog_store *s, struct elog_record *recs, size_t n,
			  size_t *stored, elog_store_txn_fn extra, void *ctx, struct elog_err *err)
{
	return insert_impl(s, recs, n, NULL, 0, NULL, stored, extra, ctx, err);
}

int elog_store_insert_sealing(struct elog_store *s, struct elog_record *recs, size_t n,
			      const struct elog_record *hot, size_t nhot, int64_t *sealed_through,
			      size_t *stored, elog_store_txn_fn extra, void *ctx,
			      struct elog_err *err)
{
	int64_t through = 0;
	int rc = insert_impl(s, recs, n, hot, nhot, &through, stored, extra, ctx, err);

	if (sealed_through)
		*sealed_through = through;
	return rc;
}
