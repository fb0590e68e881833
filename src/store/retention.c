/*
 * retention.c — removing the oldest records (see retention.h).
 *
 * A removal is a range of ids from the oldest: ids follow commit order, so "oldest first" is
 * "smallest ids first", and `DELETE ... WHERE id <= ?` walks the front of the rowid B-tree.
 * The counts of the removed records leave component_stats in the same transaction; the
 * horizon (every id up to removed_through is gone, removed_ts the largest ts among the removed,
 * last_removed the largest id ever removed) goes to table horizon (schema 4), so that ids go
 * on from there even when every record was removed (store.c's SQL_MAX_ID reads it).
 *
 * Statements here are prepared per call: a call is a chunk of up to ELOG_RETAIN_CHUNK
 * records, so preparing costs nothing next to it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/retention.h"

#define SQL_CHUNK_END_ALL \
	"SELECT id FROM records WHERE id <= ?1 ORDER BY id LIMIT 1 OFFSET ?2;"
#define SQL_CHUNK_END_COMP \
	"SELECT id FROM records WHERE component = ?3 AND id <= ?1 ORDER BY id LIMIT 1 OFFSET ?2;"
#define SQL_CHUNK_COUNTS_ALL \
	"SELECT component, source, level, count(*), max(ts), max(id) FROM records " \
	"WHERE id <= ?1 GROUP BY 1, 2, 3;"
#define SQL_CHUNK_COUNTS_COMP \
	"SELECT component, source, level, count(*), max(ts), max(id) FROM records " \
	"WHERE component = ?2 AND id <= ?1 GROUP BY 1, 2, 3;"
#define SQL_STATS_SUB \
	"UPDATE component_stats SET n = n - ?4 WHERE component = ?1 AND source = ?2 AND " \
	"level = ?3;"
#define SQL_STATS_DROP           "DELETE FROM component_stats WHERE n <= 0;"
#define SQL_DELETE_ALL           "DELETE FROM records WHERE id <= ?1;"
#define SQL_DELETE_COMP          "DELETE FROM records WHERE component = ?2 AND id <= ?1;"
#define SQL_HORIZON_GET \
	"SELECT removed_through, removed_ts, last_removed FROM horizon;"
#define SQL_HORIZON_ALL \
	"UPDATE horizon SET removed_through = max(removed_through, ?1), " \
	"removed_ts = max(removed_ts, ?2), last_removed = max(last_removed, ?3);"
#define SQL_HORIZON_LAST         "UPDATE horizon SET last_removed = max(last_removed, ?1);"
#define SQL_COMP_REMOVED \
	"UPDATE components SET removed_through = max(removed_through, ?2), " \
	"removed_ts = max(removed_ts, ?3) WHERE name = ?1;"
#define SQL_ARRIVAL_AT           "SELECT arrival FROM records WHERE id >= ?1 ORDER BY id LIMIT 1;"
#define SQL_FIRST_LAST \
	"SELECT (SELECT min(id) FROM records), (SELECT max(id) FROM records);"
#define SQL_ARRIVAL_OF           "SELECT arrival FROM records WHERE id = ?1;"
#define SQL_RECORDS_SUM          "SELECT coalesce(sum(n), 0) FROM component_stats;"
#define SQL_RECORDS_COUNT        "SELECT count(*) FROM records;"
#define SQL_HAS_TABLE \
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1;"
#define SQL_COMP_HORIZON_ALL \
	"SELECT coalesce(max(removed_through), 0), coalesce(max(removed_ts), 0) FROM components;"
#define SQL_COMP_HORIZON_ONE \
	"SELECT removed_through, removed_ts FROM components WHERE name = ?1;"

static int db_fail(struct elog_store *s, int rc, const char *what, struct elog_err *err)
{
	int code = (rc & 0xff) == SQLITE_FULL ? ELOG_EFULL
		: (rc & 0xff) == SQLITE_NOMEM ? ELOG_ENOMEM : ELOG_EIO;

	return elog_err_set(err, code, "cannot %s history '%s': %s", what, elog_store_path(s),
			    sqlite3_errmsg(elog_store_db(s)));
}


static int has_table(sqlite3 *db, const char *name)
{
	int64_t n = 0;

	return store__one_int(db, SQL_HAS_TABLE, 0, name, &n) == SQLITE_OK && n > 0;
}

/* The horizon (zeros for a history older than schema 4, which never removed anything). */
static int horizon_get(sqlite3 *db, int64_t *through, int64_t *ts, int64_t *last)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*through = *ts = 0;
	if (last)
		*last = 0;
	if (!has_table(db, "horizon"))
		return SQLITE_OK;
	rc = sqlite3_prepare_v2(db, SQL_HORIZON_GET, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*through = sqlite3_column_int64(st, 0);
		*ts = sqlite3_column_int64(st, 1);
		if (last)
			*last = sqlite3_column_int64(st, 2);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs sql binding ?1..?3 to a, b, c (those it has); SQLite code. */
static int exec3(sqlite3 *db, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL), k;

	if (rc != SQLITE_OK)
		return rc;
	k = sqlite3_bind_parameter_count(st);
	if (k >= 1)
		sqlite3_bind_int64(st, 1, a);
	if (k >= 2)
		sqlite3_bind_int64(st, 2, b);
	if (k >= 3)
		sqlite3_bind_int64(st, 3, c);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int64_t file_size(const char *path, const char *suffix)
{
	char buf[4096];
	struct stat sb;

	snprintf(buf, sizeof(buf), "%s%s", path, suffix);
	return stat(buf, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int64_t elog_retention_default_bytes(const char *path)
{
	struct statvfs sv;
	char dir[4096];
	char *slash;
	int64_t b;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	if (statvfs(dir, &sv) != 0)
		return ELOG_RETAIN_DEFAULT_MAX;
	b = (int64_t)((uint64_t)sv.f_blocks * sv.f_frsize / 100 * ELOG_RETAIN_DEFAULT_PERCENT);
	if (b > ELOG_RETAIN_DEFAULT_MAX)
		b = ELOG_RETAIN_DEFAULT_MAX;
	if (b < ELOG_RETAIN_MIN_BYTES)
		b = ELOG_RETAIN_MIN_BYTES;
	return b;
}

int64_t elog_retention_wal_bytes(int64_t max_bytes)
{
	int64_t w = max_bytes / 8;

	if (w > (128LL << 20))
		w = 128LL << 20;
	if (w < (256LL << 10))
		w = 256LL << 10;
	return w;
}

/* Pages in the database and free among them (the WAL's view); SQLite codes. */
static int page_counts(sqlite3 *db, int64_t *pages, int64_t *free_pages, int64_t *page_size)
{
	int rc = store__one_int(db, "PRAGMA page_count;", 0, NULL, pages);

	if (rc == SQLITE_OK)
		rc = store__one_int(db, "PRAGMA freelist_count;", 0, NULL, free_pages);
	if (rc == SQLITE_OK)
		rc = store__one_int(db, "PRAGMA page_size;", 0, NULL, page_size);
	return rc;
}

int elog_store_history_info(struct elog_store *s, struct elog_history_info *hi,
			    struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t pages = 0, freep = 0, psize = 0, h_ts;
	int in_txn = 0, rc;

	memset(hi, 0, sizeof(*hi));
	if (sqlite3_get_autocommit(db)) {
		rc = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		in_txn = 1;
	}
	rc = page_counts(db, &pages, &freep, &psize);
	if (rc == SQLITE_OK)
		rc = store__one_int(db, has_table(db, "component_stats") ? SQL_RECORDS_SUM :
			     SQL_RECORDS_COUNT, 0, NULL, &hi->records);
	if (rc == SQLITE_OK)
		rc = horizon_get(db, &hi->removed_through, &h_ts, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, SQL_FIRST_LAST, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		hi->first_id = sqlite3_column_int64(st, 0);
		hi->last_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (hi->first_id) {
		rc = store__one_int(db, SQL_ARRIVAL_OF, hi->first_id, NULL, &hi->first_ns);
		if (rc == SQLITE_OK)
			rc = store__one_int(db, SQL_ARRIVAL_OF, hi->last_id, NULL, &hi->last_ns);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (in_txn)
		sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL);
	hi->used_bytes = (pages - freep) * psize;
	hi->db_bytes = file_size(elog_store_path(s), "");
	hi->wal_bytes = file_size(elog_store_path(s), "-wal");
	return 0;
fail:
	rc = db_fail(s, rc, "read", err);
	sqlite3_finalize(st);
	if (in_txn && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc;
}

int elog_store_id_before(struct elog_store *s, int64_t before_ns, int64_t *id,
			 struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t lo, hi, first = 0, last = 0;
	int rc = sqlite3_prepare_v2(db, SQL_FIRST_LAST, -1, &st, NULL);

	*id = 0;
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "read", err);
	if (sqlite3_step(st) == SQLITE_ROW) {
		first = sqlite3_column_int64(st, 0);
		last = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (!first)
		return 0;
	/* the smallest id that arrived at or after before_ns, by arrival growing with the id */
	rc = sqlite3_prepare_v2(db, SQL_ARRIVAL_AT, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "read", err);
	lo = first;
	hi = last + 1;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2, arrival;

		sqlite3_bind_int64(st, 1, mid);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		arrival = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
		sqlite3_reset(st);
		if (arrival >= before_ns)
			hi = mid;
		else
			lo = mid + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, rc, "read", err);
	*id = lo - 1 >= first ? lo - 1 : 0;
	return 0;
}

int elog_store_remove_oldest(struct elog_store *s, const char *comp, int64_t through,
			     int64_t max_n, int64_t *n, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL, *sub = NULL;
	int64_t end = through, count = 0, max_ts = 0, max_id = 0;
	int rc;

	if (n)
		*n = 0;
	if (max_n <= 0 || through <= 0)
		return 0;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "prune", err);
	/* the chunk ends at the max_n-th oldest record (or at through, when fewer) */
	rc = sqlite3_prepare_v2(db, comp ? SQL_CHUNK_END_COMP : SQL_CHUNK_END_ALL, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, through);
	sqlite3_bind_int64(st, 2, max_n - 1);
	if (comp)
		sqlite3_bind_text(st, 3, comp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		end = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;

	rc = sqlite3_prepare_v2(db, comp ? SQL_CHUNK_COUNTS_COMP : SQL_CHUNK_COUNTS_ALL, -1, &st,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, SQL_STATS_SUB, -1, &sub, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, end);
	if (comp)
		sqlite3_bind_text(st, 2, comp, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(st, 3);

		count += k;
		if (sqlite3_column_int64(st, 4) > max_ts)
			max_ts = sqlite3_column_int64(st, 4);
		if (sqlite3_column_int64(st, 5) > max_id)
			max_id = sqlite3_column_int64(st, 5);
		sqlite3_bind_value(sub, 1, sqlite3_column_value(st, 0));
		sqlite3_bind_value(sub, 2, sqlite3_column_value(st, 1));
		sqlite3_bind_value(sub, 3, sqlite3_column_value(st, 2));
		sqlite3_bind_int64(sub, 4, k);
		rc = sqlite3_step(sub);
		sqlite3_reset(sub);
		sqlite3_clear_bindings(sub);
		if (rc != SQLITE_DONE)
			goto fail;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	sqlite3_finalize(sub);
	st = sub = NULL;
	if (count == 0) {
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		return 0;
	}
	if (end > max_id)
		end = max_id;   /* nothing between them: say what was there */
	rc = sqlite3_exec(db, SQL_STATS_DROP, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, comp ? SQL_DELETE_COMP : SQL_DELETE_ALL, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, end);
	if (comp)
		sqlite3_bind_text(st, 2, comp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	/* what was removed, for readers and for the ids to come */
	if (comp) {
		rc = sqlite3_prepare_v2(db, SQL_COMP_REMOVED, -1, &st, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		sqlite3_bind_text(st, 1, comp, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, max_id);
		sqlite3_bind_int64(st, 3, max_ts);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			goto fail;
		/* the newest record may have gone: ids must go on after it */
		rc = exec3(db, SQL_HORIZON_LAST, max_id, 0, 0);
	} else {
		rc = exec3(db, SQL_HORIZON_ALL, end, max_ts, max_id);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (n)
		*n = count;
	return 0;
fail:
	rc = db_fail(s, rc, "prune", err);
	sqlite3_finalize(st);
	sqlite3_finalize(sub);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	return rc;
}

void elog_store_set_wal_limit(struct elog_store *s, int64_t bytes)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit = %lld;", (long long)bytes);
	sqlite3_exec(elog_store_db(s), sql, NULL, NULL, NULL);
}

int elog_store_shrink(struct elog_store *s, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int64_t mode = 0;
	int rc = store__one_int(db, "PRAGMA auto_vacuum;", 0, NULL, &mode);

	if (rc == SQLITE_OK && mode == 2)
		rc = sqlite3_exec(db, "PRAGMA incremental_vacuum;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "shrink", err);
	/* best effort: a reader (or serve's writer) may hold the WAL */
	sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	return 0;
}

int elog_store_retain(struct elog_store *s, const struct elog_retention *r, int64_t now_ns,
		      int64_t budget, int64_t *removed, int *more, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int64_t pages, freep, psize, data_max, through, k;
	int rc;

	*removed = 0;
	*more = 0;
	data_max = r->max_bytes ? r->max_bytes - r->wal_bytes : 0;
	while (*removed < budget) {
		int64_t want = 0, chunk = budget - *removed;

		if (chunk > ELOG_RETAIN_CHUNK)
			chunk = ELOG_RETAIN_CHUNK;
		through = INT64_MAX;
		if (data_max > 0) {
			rc = page_counts(db, &pages, &freep, &psize);
			if (rc != SQLITE_OK)
				return db_fail(s, rc, "read", err);
			if ((pages - freep) * psize > data_max) {
				int64_t recs = 0, per;

				/* down to 95% of the budget: a margin against removing a chunk
				 * after every commit */
				rc = store__one_int(db, SQL_RECORDS_SUM, 0, NULL, &recs);
				if (rc != SQLITE_OK)
					return db_fail(s, rc, "read", err);
				per = recs > 0 ? (pages - freep) * psize / recs : psize;
				want = ((pages - freep) * psize - data_max * 95 / 100) /
				       (per > 0 ? per : 1) + 1;
			}
		}
		if (want == 0 && r->max_age_ns > 0) {
			if (elog_store_id_before(s, now_ns - r->max_age_ns, &through, err) != 0)
				return err ? err->code : ELOG_EIO;
			if (through > 0)
				want = chunk;
			else
				through = INT64_MAX;
		}
		if (want == 0)
			break;
		if (want < chunk)
			chunk = want;
		if (elog_store_remove_oldest(s, NULL, through, chunk, &k, err) != 0)
			return err ? err->code : ELOG_EIO;
		if (k == 0)
			break;
		*removed += k;
	}
	if (*removed >= budget)
		*more = 1;
	/* a file over the bound (grown before the bound was set) gives its free pages back;
	 * not one that a batch took just past the data's part (it stays within the slack, and
	 * moving pages to give them back, only to grow again, costs ingest) */
	if (data_max > 0 && !*more) {
		rc = page_counts(db, &pages, &freep, &psize);
		if (rc == SQLITE_OK && freep > 0 && pages * psize > data_max + r->wal_bytes / 2) {
			int64_t mode = 0;

			if (store__one_int(db, "PRAGMA auto_vacuum;", 0, NULL, &mode) == SQLITE_OK &&
			    mode == 2)
				sqlite3_exec(db, "PRAGMA incremental_vacuum(1024);", NULL, NULL,
					     NULL);
		}
	}
	return 0;
}

int elog_store_removed_for(struct elog_store *s, const struct elog_filter *f,
			   int64_t *through, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int64_t h_id = 0, h_ts = 0;
	int rc;

	*through = 0;
	if (f->after_id <= 0 && f->since_ns <= 0)
		return 0;
	rc = horizon_get(db, &h_id, &h_ts, NULL);
	if (rc == SQLITE_OK && has_table(db, "components")) {
		sqlite3_stmt *st = NULL;
		size_t i, nc = f->ncomponents ? f->ncomponents : 1;

		rc = sqlite3_prepare_v2(db, f->ncomponents ? SQL_COMP_HORIZON_ONE :
					SQL_COMP_HORIZON_ALL, -1, &st, NULL);
		for (i = 0; rc == SQLITE_OK && i < nc; i++) {
			if (f->ncomponents)
				sqlite3_bind_text(st, 1, f->components[i], -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW) {
				if (sqlite3_column_int64(st, 0) > h_id)
					h_id = sqlite3_column_int64(st, 0);
				if (sqlite3_column_int64(st, 1) > h_ts)
					h_ts = sqlite3_column_int64(st, 1);
			}
			sqlite3_reset(st);
		}
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "read", err);
	if ((f->after_id > 0 && f->after_id < h_id) || (f->since_ns > 0 && f->since_ns <= h_ts))
		*through = h_id;
	return 0;
}
