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
 * every path (stmt_done). Query statements are built from the filter and prepared per query
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
#include "store/spans.h"
#include "common/util.h"

/* The schema this code writes; a history with a larger user_version is refused. */
#define ELOG_SCHEMA_VERSION 5
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
};

#define SQL_STATS_UPSERT \
	"INSERT INTO component_stats (component, source, level, n) VALUES (?1, ?2, ?3, ?4) " \
	"ON CONFLICT DO UPDATE SET n = n + excluded.n;"

#define SQL_BEGIN                "BEGIN;"
#define SQL_BEGIN_IMMEDIATE      "BEGIN IMMEDIATE;"
#define SQL_COMMIT               "COMMIT;"
#define SQL_ROLLBACK             "ROLLBACK;"

/* The id is given (max + 1), as in SQL_INSERT_MULTI: after a removal of the newest records
 * SQLite's own choice would reuse their ids. */
#define SQL_INSERT \
	"INSERT INTO records (ts, arrival, component, level, msg, fields, source, dedupe, id) " \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING;"
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
/* Records without a dedupe key go MULTI_ROWS to a statement, with ids assigned here (max + 1
 * onwards, so still strictly increasing): one statement per row cost a third of ingest. */
#define MULTI_ROWS 32
#define SQL_INSERT_MULTI_HEAD \
	"INSERT INTO records (id, ts, arrival, component, level, msg, fields, source) VALUES "
#define SQL_INSERT_MULTI_ROW     "(?,?,?,?,?,?,?,?)"

/* Distinct components by skipping through records_component: O(k log n), not O(n). */
#define SQL_COMPONENT_FIRST      "SELECT component FROM records ORDER BY component LIMIT 1;"
#define SQL_COMPONENT_NEXT \
	"SELECT component FROM records WHERE component > ?1 ORDER BY component LIMIT 1;"

/* Query pieces; the WHERE clause is built by where_sql from the filter. */
#define SQL_QUERY_COLUMNS \
	"SELECT id, ts, arrival, level, component, msg, fields, source, dedupe FROM records"
#define SQL_QUERY_ORDER          " ORDER BY id;"
/* Lowest id of the last N matches (no pattern): the N-th row counting from the end. */
#define SQL_BOUND_SELECT         "SELECT id FROM records"
#define SQL_BOUND_ORDER          " ORDER BY id DESC LIMIT 1 OFFSET ?;"
/* Same with a pattern: scan backwards, the pattern is applied in C. */
#define SQL_BOUND_RE_SELECT      "SELECT id, msg, fields FROM records"
#define SQL_BOUND_RE_ORDER       " ORDER BY id DESC;"

/* Indexes of the query columns (SQL_QUERY_COLUMNS). */
enum { COL_ID, COL_TS, COL_ARRIVAL, COL_LEVEL, COL_COMPONENT, COL_MSG, COL_FIELDS, COL_SOURCE,
       COL_DEDUPE };

/* ---- the connection ----------------------------------------------------------------- */

struct elog_store {
	sqlite3 *db;
	char *path;
	int readonly;
	sqlite3_stmt *st_begin;
	sqlite3_stmt *st_begin_immediate;
	sqlite3_stmt *st_commit;
	sqlite3_stmt *st_rollback;
	sqlite3_stmt *st_insert;
	sqlite3_stmt *st_insert_multi;
	struct commit_hook_slot {
		void (*fn)(void *ctx, int frames);
		void *ctx;
	} hook;
	sqlite3_stmt *st_max_id;
	sqlite3_stmt *st_component_first;
	sqlite3_stmt *st_component_next;
	struct tail_cache *tc;   /* --tail bounds of the last query with a fixed end (queries) */
	sqlite3_stmt *st_stats_upsert;     /* NULL on a read-only connection */
	struct stats_slot *stats;          /* STATS_SLOTS: the insert's counts per key */
	size_t nstats;
	sqlite3_stmt *st_component_seen;   /* NULL on a read-only connection */
	int64_t version;                   /* the schema's */
};

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

static void tail_cache_free(struct tail_cache *tc);

/* Maps an SQLite result code to an ELOG_E* code. */
static int sqlite_to_elog(int rc)
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

/* sqlite_to_elog for a write; sets *cause to what to tell. A write that failed with ENOSPC,
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
	return sqlite_to_elog(rc);
}

/* Resets a statement after a step, whatever the step returned; keeps it ready for reuse. */
static void stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Runs a statement that returns no rows needed (BEGIN, COMMIT, a PRAGMA). Returns the
 * SQLite code: SQLITE_OK when it completed. */
static int stmt_exec(sqlite3_stmt *st)
{
	int rc;

	do
		rc = sqlite3_step(st);
	while (rc == SQLITE_ROW);
	stmt_done(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs one-off SQL returning one integer (a PRAGMA or count). Returns an SQLite code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	*out = 0;
	if (rc != SQLITE_OK)
		return rc;
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

static int prepare_insert_multi(struct elog_store *s)
{
	struct elog_buf sql = ELOG_BUF_INIT;
	int i, rc;

	elog_buf_adds(&sql, SQL_INSERT_MULTI_HEAD);
	for (i = 0; i < MULTI_ROWS; i++) {
		if (i)
			elog_buf_addc(&sql, ',');
		elog_buf_adds(&sql, SQL_INSERT_MULTI_ROW);
	}
	elog_buf_addc(&sql, ';');
	rc = prepare(s, sql.data, &s->st_insert_multi);
	elog_buf_release(&sql);
	return rc;
}

/* Open-time error with the connection's message. */
static int open_fail(struct elog_store *s, int rc, struct elog_err *err)
{
	return elog_err_set(err, sqlite_to_elog(rc), "cannot open history '%s': %s", s->path,
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

	rc = query_int(s->db, SQL_PRAGMA_USER_VERSION, version);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, SQL_PRAGMA_APP_ID, &app_id);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, SQL_COUNT_MASTER, &tables);
	if (rc == SQLITE_OK)
		rc = query_int(s->db, SQL_HAS_RECORDS_TABLE, &has_records);
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
	    (rc = prepare_insert_multi(s)) != SQLITE_OK ||
	    (rc = prepare(s, SQL_INSERT, &s->st_insert)) != SQLITE_OK ||
	    (rc = prepare(s, version >= 4 ? SQL_MAX_ID : SQL_MAX_ID_V3, &s->st_max_id))
	    != SQLITE_OK ||
	    (rc = prepare(s, SQL_COMPONENT_FIRST, &s->st_component_first)) != SQLITE_OK ||
	    (rc = prepare(s, SQL_COMPONENT_NEXT, &s->st_component_next)) != SQLITE_OK ||
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
	sqlite3_finalize(s->st_insert);
	sqlite3_finalize(s->st_insert_multi);
	sqlite3_finalize(s->st_max_id);
	sqlite3_finalize(s->st_component_first);
	sqlite3_finalize(s->st_component_next);
	tail_cache_free(s->tc);
	sqlite3_finalize(s->st_stats_upsert);
	sqlite3_finalize(s->st_component_seen);
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
		return elog_err_set(err, sqlite_to_elog(rc), "cannot checkpoint history '%s': %s",
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
			stmt_done(st);
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
			stmt_done(s->st_component_seen);
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

int elog_store_insert_txn(struct elog_store *s, struct elog_record *recs, size_t n,
			  size_t *stored, elog_store_txn_fn extra, void *ctx, struct elog_err *err)
{
	sqlite3_stmt *st = s->st_insert;
	size_t count = 0, i;
	int64_t max_id;
	const char *cause;
	int rc, ret, code;

	if (stored)
		*stored = 0;
	if (n == 0 && !extra)
		return 0;
	errno = 0;    /* write_error reads it */
	rc = stmt_exec(s->st_begin_immediate);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(s->st_max_id);
	if (rc != SQLITE_ROW) {
		stmt_done(s->st_max_id);
		goto fail;
	}
	max_id = sqlite3_column_int64(s->st_max_id, 0);
	stmt_done(s->st_max_id);
	for (i = 0; i < n;) {
		struct elog_record *r = &recs[i];
		const char *dk = r->dedupe_key;
		size_t k;

		for (k = 0; k < MULTI_ROWS && i + k < n; k++) {
			struct elog_record *x = &recs[i + k];

			if (x->dedupe_key && *x->dedupe_key)
				break;
			if (x->arrival_ns == 0)
				x->arrival_ns = elog_now_ns();
			if (x->ts_ns == 0)
				x->ts_ns = x->arrival_ns;
		}
		if (k == MULTI_ROWS) {
			sqlite3_stmt *m = s->st_insert_multi;

			for (k = 0; k < MULTI_ROWS; k++) {
				struct elog_record *x = &recs[i + k];
				int b = (int)k * 8;

				x->id = 0;
				sqlite3_bind_int64(m, b + 1, max_id + 1 + (int64_t)k);
				sqlite3_bind_int64(m, b + 2, x->ts_ns);
				sqlite3_bind_int64(m, b + 3, x->arrival_ns);
				sqlite3_bind_text(m, b + 4, nz(x->component), -1, SQLITE_STATIC);
				sqlite3_bind_int(m, b + 5, x->level);
				sqlite3_bind_text(m, b + 6, nz(x->msg), -1, SQLITE_STATIC);
				sqlite3_bind_text(m, b + 7, nz(x->fields), -1, SQLITE_STATIC);
				sqlite3_bind_text(m, b + 8, nz(x->source), -1, SQLITE_STATIC);
			}
			rc = sqlite3_step(m);
			if (rc != SQLITE_DONE) {
				code = write_error(s, rc, &cause);
				ret = elog_err_set(err, code, "cannot write history '%s': %s",
						   s->path, cause);
				stmt_done(m);
				goto rollback;
			}
			stmt_done(m);
			for (k = 0; k < MULTI_ROWS; k++)
				recs[i + k].id = ++max_id;
			count += MULTI_ROWS;
			i += MULTI_ROWS;
			continue;
		}
		if (r->arrival_ns == 0)
			r->arrival_ns = elog_now_ns();
		if (r->ts_ns == 0)
			r->ts_ns = r->arrival_ns;
		r->id = 0;
		sqlite3_bind_int64(st, 1, r->ts_ns);
		sqlite3_bind_int64(st, 2, r->arrival_ns);
		sqlite3_bind_text(st, 3, nz(r->component), -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, r->level);
		sqlite3_bind_text(st, 5, nz(r->msg), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, nz(r->fields), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, nz(r->source), -1, SQLITE_STATIC);
		if (dk && *dk)
			sqlite3_bind_text(st, 8, dk, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 8);
		sqlite3_bind_int64(st, 9, max_id + 1);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			/* Reset only after taking the message: reset may replace it. */
			code = write_error(s, rc, &cause);
			ret = elog_err_set(err, code, "cannot write history '%s': %s", s->path,
					   cause);
			stmt_done(st);
			goto rollback;
		}
		/* ON CONFLICT DO NOTHING: no change means a duplicate dedupe key. */
		if (sqlite3_changes(s->db) > 0) {
			r->id = sqlite3_last_insert_rowid(s->db);
			max_id = r->id;
			count++;
		}
		stmt_done(st);
		i++;
	}
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
	rc = stmt_exec(s->st_commit);
	if (rc != SQLITE_OK)
		goto fail;
	if (stored)
		*stored = count;
	return 0;
fail:
	code = write_error(s, rc, &cause);
	ret = elog_err_set(err, code, "cannot write history '%s': %s", s->path, cause);
rollback:
	if (!sqlite3_get_autocommit(s->db))
		stmt_exec(s->st_rollback);
	for (i = 0; i < n; i++)
		recs[i].id = 0;
	return ret;
}

/* ---- queries ------------------------------------------------------------------------ */

/* Appends " WHERE ..." for f, max_id (ELOG_ID_UNBOUNDED: none; id <= max_id) and min_id
 * (0: none; id >= min_id). The placeholders
 * are bound by where_bind in the same order. */
static void where_sql(struct elog_buf *b, const struct elog_filter *f, int64_t max_id,
		      int64_t min_id)
{
	const char *sep = " WHERE ";
	unsigned all = (1u << ELOG_LEVEL_COUNT) - 1;

	if (f->ncomponents) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, f->ncomponents == 1 ? "component = ?" : "component IN (?");
		for (size_t i = 1; i < f->ncomponents; i++)
			elog_buf_adds(b, ", ?");
		if (f->ncomponents > 1)
			elog_buf_addc(b, ')');
		sep = " AND ";
	}
	if (f->nxcomponents) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, "component NOT IN (?");
		for (size_t i = 1; i < f->nxcomponents; i++)
			elog_buf_adds(b, ", ?");
		elog_buf_addc(b, ')');
		sep = " AND ";
	}
	if (f->level_mask && (f->level_mask & all) != all) {
		const char *lsep = "";

		elog_buf_adds(b, sep);
		elog_buf_adds(b, "level IN (");
		for (int l = 0; l < ELOG_LEVEL_COUNT; l++) {
			if (f->level_mask & (1u << l)) {
				elog_buf_addf(b, "%s%d", lsep, l);
				lsep = ", ";
			}
		}
		elog_buf_addc(b, ')');
		sep = " AND ";
	}
	if (f->since_ns) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, "ts >= ?");
		sep = " AND ";
	}
	if (f->until_ns) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, "ts <= ?");
		sep = " AND ";
	}
	if (f->after_id > 0 || min_id > 0) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, "id >= ?");
		sep = " AND ";
	}
	if (max_id != ELOG_ID_UNBOUNDED) {
		elog_buf_adds(b, sep);
		elog_buf_adds(b, "id <= ?");
	}
}

/* Binds the placeholders of where_sql; returns the next free index. */
static int where_bind(sqlite3_stmt *st, const struct elog_filter *f, int64_t max_id,
		      int64_t min_id)
{
	int i = 1;

	for (size_t c = 0; c < f->ncomponents; c++)
		sqlite3_bind_text(st, i++, f->components[c], -1, SQLITE_STATIC);
	for (size_t c = 0; c < f->nxcomponents; c++)
		sqlite3_bind_text(st, i++, f->xcomponents[c], -1, SQLITE_STATIC);
	if (f->since_ns)
		sqlite3_bind_int64(st, i++, f->since_ns);
	if (f->until_ns)
		sqlite3_bind_int64(st, i++, f->until_ns);
	if (f->after_id > 0 || min_id > 0) {
		int64_t lo = f->after_id > 0 ? f->after_id + 1 : 0;

		sqlite3_bind_int64(st, i++, lo > min_id ? lo : min_id);
	}
	if (max_id != ELOG_ID_UNBOUNDED)
		sqlite3_bind_int64(st, i++, max_id);
	return i;
}

static int query_prepare(struct elog_store *s, const char *select, const struct elog_filter *f,
			 int64_t max_id, int64_t min_id, const char *order, sqlite3_stmt **st)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int rc;

	elog_buf_adds(&b, select);
	where_sql(&b, f, max_id, min_id);
	elog_buf_adds(&b, order);
	rc = sqlite3_prepare_v2(s->db, b.data, (int)b.len, st, NULL);
	elog_buf_release(&b);
	if (rc == SQLITE_OK)
		where_bind(*st, f, max_id, min_id);
	return rc;
}

/*
 * For a limited query: the smallest id among the last f->limit matches, in *bound (0 when
 * there are fewer matches than the limit, i.e. no bound). Without a pattern SQLite counts
 * (OFFSET limit-1); with one, the rows are scanned backwards and the pattern applied here.
 */
static int query_bound(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		       int64_t *bound)
{
	sqlite3_stmt *st = NULL;
	int64_t limit = f->limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)f->limit;
	int rc;

	*bound = 0;
	if (!f->has_regex && !f->xregex) {
		rc = query_prepare(s, SQL_BOUND_SELECT, f, max_id, 0, SQL_BOUND_ORDER, &st);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(st, sqlite3_bind_parameter_count(st), limit - 1);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*bound = sqlite3_column_int64(st, 0);
	} else {
		int64_t found = 0;

		rc = query_prepare(s, SQL_BOUND_RE_SELECT, f, max_id, 0, SQL_BOUND_RE_ORDER, &st);
		if (rc != SQLITE_OK)
			return rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			const char *msg = (const char *)sqlite3_column_text(st, 1);
			const char *fields = (const char *)sqlite3_column_text(st, 2);

			if (!elog_filter_match_text(f, msg, fields))
				continue;
			if (++found == limit) {
				*bound = sqlite3_column_int64(st, 0);
				break;
			}
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static char *col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return (char *)(t ? (const char *)t : "");
}

/* --tail: per component (sorted like the store's component list), the smallest id among its
 * last f->tail matches (0: it has fewer, all of them). */
struct tail_bounds {
	char **names;
	int64_t *bounds;
	size_t n;
};

static void tail_bounds_clear(struct tail_bounds *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->bounds);
	memset(t, 0, sizeof(*t));
}

/* The bound of component c; INT64_MAX (nothing) for a component not seen when they were
 * computed. */
static int64_t tail_bound(const struct tail_bounds *t, const char *c)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(t->names[mid], c);

		if (cmp == 0)
			return t->bounds[mid];
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return INT64_MAX;
}

/* Fills t for f (f->tail > 0) and sets *min_id to the smallest bound. Returns a SQLite code,
 * or -1 past ELOG_FILTER_MAX_TAIL_COMPONENTS (err set). */
static int tail_bounds_compute(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
			       struct tail_bounds *t, int64_t *min_id, struct elog_err *err)
{
	size_t i;
	int rc = SQLITE_OK;

	*min_id = INT64_MAX;
	if (f->ncomponents) {
		t->names = xcalloc(f->ncomponents, sizeof(*t->names));
		for (i = 0; i < f->ncomponents; i++)
			t->names[i] = xstrdup(f->components[i]);
		t->n = f->ncomponents;
	} else if (elog_store_components(s, &t->names, &t->n, err) != 0) {
		return -1;
	}
	if (t->n > ELOG_FILTER_MAX_TAIL_COMPONENTS) {
		elog_err_set(err, ELOG_EUSAGE,
			     "too many components for --tail: the limit is %d (choose some with -c)",
			     ELOG_FILTER_MAX_TAIL_COMPONENTS);
		return -1;
	}
	t->bounds = xcalloc(t->n ? t->n : 1, sizeof(*t->bounds));
	for (i = 0; i < t->n; i++) {
		struct elog_filter one = *f;   /* shallow: read-only */
		char *name = t->names[i];

		if (elog_filter_excludes_component(f, name)) {
			t->bounds[i] = INT64_MAX;
			continue;
		}
		one.components = &name;
		one.ncomponents = 1;
		one.limit = f->tail;
		/* the last N up to max_id whatever after_id is: a later page (after_id set) keeps
		 * the same bounds, so each page is the same tail's continuation */
		one.after_id = 0;
		rc = query_bound(s, &one, max_id, &t->bounds[i]);
		if (rc != SQLITE_OK)
			return rc;
		if (t->bounds[i] < *min_id)
			*min_id = t->bounds[i];
	}
	return SQLITE_OK;
}

/*
 * The bounds of one tail query, kept for its next pages: serve reads the history a page at a
 * time (same filter, same max_id, after_id moving on), and recomputing k components' bounds
 * for every page would cost pages x k scans. Only kept when max_id is fixed, so the same key
 * always means the same snapshot; the key holds the filter's own list and regex pointers,
 * which a page's shallow copy shares.
 */
struct tail_cache {
	struct elog_filter key;   /* a copy: compared by content, never by pointer */
	int64_t max_id, min_id;
	struct tail_bounds t;
};

static void tail_cache_free(struct tail_cache *tc)
{
	if (!tc)
		return;
	elog_filter_clear(&tc->key);
	tail_bounds_clear(&tc->t);
	free(tc);
}

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_list(char **a, size_t na, char **b, size_t nb)
{
	if (na != nb)
		return 0;
	for (size_t i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return 1;
}

/* The same query but for after_id and limit, on the same snapshot. */
static int tail_cache_hit(const struct tail_cache *tc, const struct elog_filter *f, int64_t max_id)
{
	const struct elog_filter *k = tc ? &tc->key : NULL;

	return k && max_id != ELOG_ID_UNBOUNDED && tc->max_id == max_id && k->tail == f->tail &&
	       k->level_mask == f->level_mask && k->since_ns == f->since_ns &&
	       k->until_ns == f->until_ns && same_str(k->pattern, f->pattern) &&
	       same_str(k->xpattern, f->xpattern) &&
	       same_list(k->components, k->ncomponents, f->components, f->ncomponents) &&
	       same_list(k->xcomponents, k->nxcomponents, f->xcomponents, f->nxcomponents);
}

/*
 * The record handed to fn points into SQLite's row buffers (no copy, no allocation per row):
 * it is valid only during the call and must not be kept, modified or cleared.
 */
int elog_store_query(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		     elog_record_fn fn, void *ctx, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	struct elog_record r;
	struct tail_bounds tails = { NULL, NULL, 0 };
	const struct tail_bounds *tb = &tails, *cached = NULL;
	int64_t bound = 0, tmin_cached = INT64_MAX;
	int in_txn = 0, ret = 0, rc;

	/* No id is above the largest one (and after_id + 1 below would overflow). */
	if (f->after_id == INT64_MAX)
		return 0;
	if (f->limit || f->tail) {
		/* Two statements (bound, then rows) must see one snapshot. */
		if (sqlite3_get_autocommit(s->db)) {
			rc = stmt_exec(s->st_begin);
			if (rc != SQLITE_OK)
				goto fail;
			in_txn = 1;
		}
		rc = f->limit ? query_bound(s, f, max_id, &bound) : SQLITE_OK;
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (f->tail && tail_cache_hit(s->tc, f, max_id)) {
		/* a later page of the same tail query: the bounds computed for its first page */
		cached = &s->tc->t;
		tb = cached;
		if (s->tc->min_id == INT64_MAX)
			goto out;    /* every component left out */
		if (s->tc->min_id > bound)
			bound = s->tc->min_id;
	} else if (f->tail) {
		int64_t tmin = 0;

		rc = tail_bounds_compute(s, f, max_id, &tails, &tmin, err);
		if (rc == -1) {
			ret = err ? err->code : ELOG_EUSAGE;
			goto out;
		}
		if (rc != SQLITE_OK)
			goto fail;
		tmin_cached = tmin;
		if (tails.n == 0)
			goto out;    /* no component: nothing */
		if (tmin == INT64_MAX)
			goto out;    /* every component left out */
		if (tmin > bound)
			bound = tmin;
	}
	rc = query_prepare(s, SQL_QUERY_COLUMNS, f, max_id, bound, SQL_QUERY_ORDER, &st);
	if (rc != SQLITE_OK)
		goto fail;
	memset(&r, 0, sizeof(r));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.msg = col_text(st, COL_MSG);
		r.fields = col_text(st, COL_FIELDS);
		if (!elog_filter_match_text(f, r.msg, r.fields))
			continue;
		r.id = sqlite3_column_int64(st, COL_ID);
		r.component = col_text(st, COL_COMPONENT);
		if (tb->n && r.id < tail_bound(tb, r.component))
			continue;
		r.ts_ns = sqlite3_column_int64(st, COL_TS);
		r.arrival_ns = sqlite3_column_int64(st, COL_ARRIVAL);
		r.level = sqlite3_column_int(st, COL_LEVEL);
		r.source = col_text(st, COL_SOURCE);
		r.dedupe_key = col_text(st, COL_DEDUPE);
		ret = fn(ctx, &r);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (in_txn)
		stmt_exec(s->st_commit);
	if (tails.n && max_id != ELOG_ID_UNBOUNDED) {   /* kept for the next page */
		tail_cache_free(s->tc);
		s->tc = xcalloc(1, sizeof(*s->tc));
		elog_filter_copy(&s->tc->key, f);
		s->tc->max_id = max_id;
		s->tc->min_id = tmin_cached;
		s->tc->t = tails;
		memset(&tails, 0, sizeof(tails));
	}
	tail_bounds_clear(&tails);
	return ret;
fail:
	ret = elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s", s->path,
			   sqlite3_errmsg(s->db));
out:
	sqlite3_finalize(st);
	if (in_txn && !sqlite3_get_autocommit(s->db))
		stmt_exec(s->st_rollback);
	tail_bounds_clear(&tails);
	return ret;
}

int elog_store_max_id(struct elog_store *s, int64_t *out, struct elog_err *err)
{
	int rc = sqlite3_step(s->st_max_id);

	*out = 0;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(s->st_max_id, 0);   /* NULL (empty) reads as 0 */
		rc = SQLITE_DONE;
	}
	if (rc != SQLITE_DONE) {
		int ret = elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s",
				       s->path, sqlite3_errmsg(s->db));
		stmt_done(s->st_max_id);
		return ret;
	}
	stmt_done(s->st_max_id);
	return 0;
}

int elog_store_components(struct elog_store *s, char ***names, size_t *n, struct elog_err *err)
{
	char **v = NULL;
	size_t count = 0;
	char *last = NULL;
	int rc, ret = 0;

	*names = NULL;
	*n = 0;
	for (;;) {
		sqlite3_stmt *st = last ? s->st_component_next : s->st_component_first;

		if (last)
			sqlite3_bind_text(st, 1, last, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			if (rc != SQLITE_DONE)
				ret = elog_err_set(err, sqlite_to_elog(rc),
						   "cannot read history '%s': %s", s->path,
						   sqlite3_errmsg(s->db));
			stmt_done(st);
			if (rc != SQLITE_DONE)
				goto fail;
			break;
		}
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count] = xstrdup(col_text(st, 0));
		last = v[count++];
		stmt_done(st);
	}
	*names = v;
	*n = count;
	return 0;
fail:
	for (size_t i = 0; i < count; i++)
		free(v[i]);
	free(v);
	return ret;
}

struct first_seen {
	int64_t id;
	char *name;
};

static int cmp_first_seen(const void *a, const void *b)
{
	const struct first_seen *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

int elog_store_components_ordered(struct elog_store *s, char ***names, size_t *n,
				  struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	struct first_seen *v;
	size_t i;
	int rc;

	if (s->version >= 4) {
		/* schema 4 keeps every component's first id, removed records or not */
		char **nv = NULL;
		size_t count = 0;

		*names = NULL;
		*n = 0;
		rc = sqlite3_prepare_v2(s->db, "SELECT name FROM components ORDER BY first_id;",
					-1, &st, NULL);
		while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			nv = xrealloc(nv, (count + 1) * sizeof(*nv));
			nv[count++] = xstrdup(col_text(st, 0));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE && rc != SQLITE_OK) {
			for (i = 0; i < count; i++)
				free(nv[i]);
			free(nv);
			return elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s",
					    s->path, sqlite3_errmsg(s->db));
		}
		*names = nv;
		*n = count;
		return 0;
	}
	if (elog_store_components(s, names, n, err) != 0)
		return -1;
	if (*n < 2)
		return 0;
	/* one index probe per component (records_component is (component, id)) */
	rc = sqlite3_prepare_v2(s->db, "SELECT min(id) FROM records WHERE component = ?1;", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		return 0;       /* keep the sorted order */
	v = xcalloc(*n, sizeof(*v));
	for (i = 0; i < *n; i++) {
		v[i].name = (*names)[i];
		v[i].id = INT64_MAX;
		sqlite3_bind_text(st, 1, v[i].name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
			v[i].id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	qsort(v, *n, sizeof(*v), cmp_first_seen);
	for (i = 0; i < *n; i++)
		(*names)[i] = v[i].name;
	free(v);
	return 0;
}
