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
#include "store/seal.h"

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
/* Schema 6: the sealed records are older than the hot rows. */
#define SQL_FIRST_LAST_V6 \
	"SELECT coalesce((SELECT id_lo FROM blocks ORDER BY id_lo LIMIT 1), " \
	"                (SELECT min(id) FROM records), 0), " \
	"       coalesce((SELECT max(id) FROM records), " \
	"                (SELECT id_hi FROM blocks ORDER BY id_lo DESC LIMIT 1), 0);"
#define SQL_FIRST_ARRIVAL_V6 \
	"SELECT coalesce((SELECT arrival_lo FROM blocks ORDER BY id_lo LIMIT 1), " \
	"                (SELECT arrival FROM records ORDER BY id LIMIT 1), 0);"
#define SQL_LAST_ARRIVAL_V6 \
	"SELECT coalesce((SELECT arrival FROM records ORDER BY id DESC LIMIT 1), " \
	"                (SELECT arrival_hi FROM blocks ORDER BY id_lo DESC LIMIT 1), 0);"
/* The newest block with a record that arrived before ?1 (arrival grows with the id). */
#define SQL_BLOCK_BEFORE \
	"SELECT id_lo, id_hi, arrival_hi FROM blocks WHERE arrival_lo < ?1 ORDER BY id_lo DESC " \
	"LIMIT 1;"
/* The block holding id ?1, if any. */
#define SQL_BLOCK_AT \
	"SELECT id_lo FROM blocks WHERE id_lo <= ?1 AND id_hi >= ?1 ORDER BY id_lo DESC LIMIT 1;"
#define SQL_RECORDS_SUM          "SELECT coalesce(sum(n), 0) FROM component_stats;"
#define SQL_RECORDS_COUNT        "SELECT count(*) FROM records;"
#define SQL_HAS_TABLE \
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1;"
#define SQL_COMP_HORIZON_ALL \
	"SELECT coalesce(max(removed_through), 0), coalesce(max(removed_ts), 0) FROM components;"
#define SQL_COMP_HORIZON_ONE \
	"SELECT removed_through, removed_ts FROM components WHERE name = ?1;"

static int id_before_rows(struct elog_store *s, int64_t before_ns, int64_t *id,
			  struct elog_err *err);

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
	int in_txn = 0, blocks, rc;

	memset(hi, 0, sizeof(*hi));
	if (sqlite3_get_autocommit(db)) {
		rc = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		in_txn = 1;
	}
	blocks = store__has_blocks(db);
	rc = page_counts(db, &pages, &freep, &psize);
	if (rc == SQLITE_OK)
		rc = store__one_int(db, has_table(db, "component_stats") ? SQL_RECORDS_SUM :
			     SQL_RECORDS_COUNT, 0, NULL, &hi->records);
	if (rc == SQLITE_OK)
		rc = horizon_get(db, &hi->removed_through, &h_ts, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, blocks ? SQL_FIRST_LAST_V6 : SQL_FIRST_LAST, -1, &st,
					NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		hi->first_id = sqlite3_column_int64(st, 0);
		hi->last_id = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (hi->first_id && blocks) {
		rc = store__one_int(db, SQL_FIRST_ARRIVAL_V6, 0, NULL, &hi->first_ns);
		if (rc == SQLITE_OK)
			rc = store__one_int(db, SQL_LAST_ARRIVAL_V6, 0, NULL, &hi->last_ns);
		if (rc != SQLITE_OK)
			goto fail;
	} else if (hi->first_id) {
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

/* Schema 6, when no hot row arrived before before_ns: the answer among the blocks. */
static int id_before_blocks(struct elog_store *s, int64_t before_ns, int64_t *id,
			    struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t id_lo = 0, id_hi = 0, arr_hi = 0;
	int rc = sqlite3_prepare_v2(db, SQL_BLOCK_BEFORE, -1, &st, NULL), ret = 0;

	*id = 0;
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "read", err);
	sqlite3_bind_int64(st, 1, before_ns);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		id_lo = sqlite3_column_int64(st, 0);
		id_hi = sqlite3_column_int64(st, 1);
		arr_hi = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(s, rc, "read", err);
	if (!id_lo)
		return 0;
	if (arr_hi < before_ns) {
		*id = id_hi;
		return 0;
	}
	{
		struct store_blocks b;

		rc = store__blocks_open(s, &b, id_lo, id_lo, 0);
		if (rc == SQLITE_OK && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
			rc = SQLITE_OK;
			if (store__blocks_decode(s, &b, err) != 0)
				ret = err ? err->code : ELOG_EIO;
			for (size_t i = 0; ret == 0 && i < b.view.n; i++)
				if (b.view.recs[i].arrival_ns < before_ns)
					*id = b.view.recs[i].id;
				else
					break;
		}
		store__blocks_close(&b);
	}
	if (ret == 0 && rc != SQLITE_OK && rc != SQLITE_DONE)
		ret = db_fail(s, rc, "read", err);
	return ret;
}

int elog_store_id_before(struct elog_store *s, int64_t before_ns, int64_t *id,
			 struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int64_t arrival0 = 0;
	int rc, in_txn = 0, ret;

	*id = 0;
	if (store__has_blocks(db)) {
		/* the hot rows (first, last) and the blocks in one snapshot */
		if (sqlite3_get_autocommit(db)) {
			rc = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL);
			if (rc != SQLITE_OK)
				return db_fail(s, rc, "read", err);
			in_txn = 1;
		}
		rc = store__one_int(db, "SELECT arrival FROM records ORDER BY id LIMIT 1;", 0, NULL,
				    &arrival0);
		if (rc != SQLITE_OK) {
			ret = db_fail(s, rc, "read", err);
		} else if (arrival0 == 0 || arrival0 >= before_ns) {
			ret = id_before_blocks(s, before_ns, id, err);
		} else {
			ret = id_before_rows(s, before_ns, id, err);
		}
		if (in_txn)
			sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL);
		return ret;
	}
	return id_before_rows(s, before_ns, id, err);
}

/* The hot rows' binary search (every record, before schema 6). */
static int id_before_rows(struct elog_store *s, int64_t before_ns, int64_t *id,
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

/* ---- removing sealed records (schema 6) ----------------------------------------------- */

#define SQL_BLOCK_DEL            "DELETE FROM blocks WHERE id_lo = ?1;"
/* The dedupe keys of the hot rows a removal takes (before they go). */
#define SQL_HOT_KEYS_ALL \
	"SELECT dedupe FROM records WHERE id <= ?1 AND dedupe IS NOT NULL AND dedupe <> '';"
#define SQL_HOT_KEYS_COMP \
	"SELECT dedupe FROM records WHERE id <= ?1 AND component = ?2 AND dedupe IS NOT NULL " \
	"AND dedupe <> '';"

/* What a removal took, per (component, source, level), for component_stats. */
struct removed_key {
	char *component, *source;
	int level;
	int64_t n;
};
struct removal {
	struct removed_key *keys;
	size_t nkeys, cap;
	int64_t count, max_ts, max_id;
};

static void removal_add(struct removal *rm, const struct elog_record *r)
{
	size_t i;

	rm->count++;
	if (r->ts_ns > rm->max_ts)
		rm->max_ts = r->ts_ns;
	if (r->id > rm->max_id)
		rm->max_id = r->id;
	for (i = rm->nkeys; i > 0; i--) {
		struct removed_key *k = &rm->keys[i - 1];

		if (k->level == r->level && strcmp(k->component, r->component) == 0 &&
		    strcmp(k->source, r->source) == 0) {
			k->n++;
			return;
		}
	}
	if (rm->nkeys == rm->cap) {
		rm->cap = rm->cap ? 2 * rm->cap : 16;
		rm->keys = xrealloc(rm->keys, rm->cap * sizeof(*rm->keys));
	}
	rm->keys[rm->nkeys].component = xstrdup(r->component);
	rm->keys[rm->nkeys].source = xstrdup(r->source);
	rm->keys[rm->nkeys].level = r->level;
	rm->keys[rm->nkeys++].n = 1;
}

static void removal_clear(struct removal *rm)
{
	for (size_t i = 0; i < rm->nkeys; i++) {
		free(rm->keys[i].component);
		free(rm->keys[i].source);
	}
	free(rm->keys);
	memset(rm, 0, sizeof(*rm));
}

/* Subtracts rm's counts from component_stats; SQLite code. */
static int removal_stats(sqlite3 *db, const struct removal *rm)
{
	sqlite3_stmt *sub = NULL;
	int rc = sqlite3_prepare_v2(db, SQL_STATS_SUB, -1, &sub, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < rm->nkeys; i++) {
		sqlite3_bind_text(sub, 1, rm->keys[i].component, -1, SQLITE_STATIC);
		sqlite3_bind_text(sub, 2, rm->keys[i].source, -1, SQLITE_STATIC);
		sqlite3_bind_int(sub, 3, rm->keys[i].level);
		sqlite3_bind_int64(sub, 4, rm->keys[i].n);
		rc = sqlite3_step(sub);
		sqlite3_reset(sub);
		sqlite3_clear_bindings(sub);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(sub);
	return rc;
}

/* Removes from the block starting at id_lo its records with ids up to through (of comp
 * only, unless NULL): the whole block row goes, or it is written again with the others.
 * Their dedupe keys go too; rm counts them. SQLite code, or -1 with err set. */
static int block_remove(struct elog_store *s, int64_t id_lo, const char *comp, int64_t through,
			struct removal *rm, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	struct store_blocks b;
	struct elog_record *keep = NULL;
	struct elog_seal *p = NULL;
	size_t nkeep = 0, i;
	int64_t horizon = 0;
	int rc = store__blocks_open(s, &b, id_lo, id_lo, 0);

	if (rc == SQLITE_OK) {
		rc = store__blocks_next(&b);
		if (rc == SQLITE_DONE) {
			store__blocks_close(&b);
			return SQLITE_OK;
		}
	}
	if (rc != SQLITE_ROW)
		goto out;
	if (store__blocks_decode(s, &b, err) != 0) {
		rc = -1;
		goto out;
	}
	/* done with the row: the view holds the records */
	sqlite3_finalize(b.st);
	b.st = NULL;
	keep = xcalloc(b.view.n ? b.view.n : 1, sizeof(*keep));
	for (i = 0; i < b.view.n; i++) {
		const struct elog_record *r = &b.view.recs[i];

		if (r->id > through || (comp && strcmp(r->component, comp) != 0)) {
			keep[nkeep++] = *r;
			continue;
		}
		removal_add(rm, r);
		if (!comp && r->id > horizon)
			horizon = r->id;
	}
	/* Their keys. Without comp every record up to the newest removed here is gone (the
	 * older blocks went before this one), the horizon a run of keys goes whole by; with
	 * comp, records of other components may remain below it: no horizon, runs stay
	 * (dedupe.c: keeping keys longer is harmless). */
	for (i = 0, rc = SQLITE_OK; rc == SQLITE_OK && i < b.view.n; i++) {
		const struct elog_record *r = &b.view.recs[i];

		if (r->id <= through && (!comp || strcmp(r->component, comp) == 0) &&
		    *r->dedupe_key)
			rc = store__dedupe_remove(s, r->dedupe_key, horizon);
	}
	if (rc != SQLITE_OK)
		goto out;
	rc = exec3(db, SQL_BLOCK_DEL, id_lo, 0, 0);
	if (rc == SQLITE_OK && nkeep) {
		if (store__seal_encode(s, keep, nkeep, &p, err) != 0) {
			rc = -1;
			goto out;
		}
		rc = store__seal_insert(s, p);
	}
out:
	elog_seal_free(p);
	free(keep);
	store__blocks_close(&b);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

struct comp_count {
	const char *comp;
	int64_t n;
};

static void comp_count_one(void *ctx, const char *name, size_t len, int64_t n)
{
	struct comp_count *c = ctx;

	if (strlen(c->comp) == len && memcmp(c->comp, name, len) == 0)
		c->n += n;
}

/* The blocks' part of a removal: the oldest blocks up to through (holding comp), whole
 * blocks while rm counts fewer than max_n (a block is never cut for the count; for through,
 * or for comp, it is written again without the removed records). */
static int blocks_remove(struct elog_store *s, const char *comp, int64_t through, int64_t max_n,
			 struct removal *rm, struct elog_err *err)
{
	struct store_blocks b;
	int64_t *ids = NULL, want = 0;
	size_t n = 0, cap = 0;
	int rc = store__blocks_open(s, &b, 1, through, 0);

	/* first the list (summaries only), then the changes */
	while (rc == SQLITE_OK && want < max_n && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (comp) {
			struct comp_count c = { comp, 0 };

			if (store__block_components_each(b.components, comp_count_one, &c) != 0)
				c.n = 1;    /* cannot tell: look inside */
			if (!c.n)
				continue;
			want += c.n;
		} else {
			want += b.sum.n;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		ids[n++] = b.sum.id_lo;
	}
	store__blocks_close(&b);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		rc = SQLITE_OK;
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++)
		rc = block_remove(s, ids[i], comp, through, rm, err);
	free(ids);
	return rc;
}

int elog_store_remove_oldest(struct elog_store *s, const char *comp, int64_t through,
			     int64_t max_n, int64_t *n, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL, *sub = NULL;
	struct removal rm;
	int64_t end = through, count = 0, max_ts = 0, max_id = 0;
	int rc;

	memset(&rm, 0, sizeof(rm));
	if (n)
		*n = 0;
	if (max_n <= 0 || through <= 0)
		return 0;
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE;", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(s, rc, "prune", err);
	/* schema 6: the sealed records are the oldest */
	if (store__has_blocks(db)) {
		rc = blocks_remove(s, comp, through, max_n, &rm, err);
		if (rc == -1) {
			removal_clear(&rm);
			if (!sqlite3_get_autocommit(db))
				sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
			return err ? err->code : ELOG_EIO;
		}
		if (rc == SQLITE_OK)
			rc = removal_stats(db, &rm);
		if (rc != SQLITE_OK)
			goto fail;
		count = rm.count;
		max_ts = rm.max_ts;
		max_id = rm.max_id;
		end = rm.max_id;
	}
	if (count >= max_n)
		goto horizon;
	/* the chunk ends at the max_n-th oldest record (or at through, when fewer) */
	rc = sqlite3_prepare_v2(db, comp ? SQL_CHUNK_END_COMP : SQL_CHUNK_END_ALL, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, through);
	sqlite3_bind_int64(st, 2, max_n - count - 1);
	if (comp)
		sqlite3_bind_text(st, 3, comp, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	end = through;
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
	{
		int64_t hot = 0, hot_max = 0;

		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t k = sqlite3_column_int64(st, 3);

			hot += k;
			if (sqlite3_column_int64(st, 4) > max_ts)
				max_ts = sqlite3_column_int64(st, 4);
			if (sqlite3_column_int64(st, 5) > hot_max)
				hot_max = sqlite3_column_int64(st, 5);
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
		if (hot == 0) {
			end = max_id;
			goto horizon;
		}
		count += hot;
		if (hot_max > max_id)
			max_id = hot_max;
		if (end > hot_max)
			end = hot_max;   /* nothing between them: say what was there */
	}
	if (s->version >= 6) {
		/* without comp every record through end is gone after this: the horizon runs of
		 * keys go whole by (see block_remove) */
		rc = sqlite3_prepare_v2(db, comp ? SQL_HOT_KEYS_COMP : SQL_HOT_KEYS_ALL, -1, &st,
					NULL);
		if (rc != SQLITE_OK)
			goto fail;
		sqlite3_bind_int64(st, 1, end);
		if (comp)
			sqlite3_bind_text(st, 2, comp, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			rc = store__dedupe_remove(s, (const char *)sqlite3_column_text(st, 0),
						  comp ? 0 : end);
			if (rc != SQLITE_OK)
				break;
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc != SQLITE_DONE)
			goto fail;
	}
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
horizon:
	if (count == 0) {
		removal_clear(&rm);
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
		return 0;
	}
	rc = sqlite3_exec(db, SQL_STATS_DROP, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
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
	removal_clear(&rm);
	if (n)
		*n = count;
	return 0;
fail:
	rc = db_fail(s, rc, "prune", err);
	removal_clear(&rm);
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
		      int64_t budget, int64_t *removed, int64_t *spent_out, int *more,
		      struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int64_t pages, freep, psize, data_max, through, k;
	/* Schema 6: a sealed record takes a fraction of a hot one, so a budget in records
	 * spent on blocks would free a fraction of what as many new hot rows took. For the size
	 * bound the budget is spent in bytes freed, counted in records of the average size when
	 * the pass began (per0): a removal of whole blocks costs what it freed, not its records.
	 * A removal that took blocks ends the pass (*more set while still over), so that the
	 * caller catches the WAL up before the next: removing a block's dedupe keys and pages
	 * writes hundreds of WAL frames. */
	int64_t spent = 0, used = 0, per0 = 0;
	int rc;

	*removed = 0;
	*more = 0;
	if (spent_out)
		*spent_out = 0;
	data_max = r->max_bytes ? r->max_bytes - r->wal_bytes : 0;
	while (spent < budget) {
		int64_t want = 0, chunk = budget - spent;

		if (chunk > ELOG_RETAIN_CHUNK)
			chunk = ELOG_RETAIN_CHUNK;
		through = INT64_MAX;
		used = 0;
		if (data_max > 0) {
			rc = page_counts(db, &pages, &freep, &psize);
			if (rc != SQLITE_OK)
				return db_fail(s, rc, "read", err);
			used = (pages - freep) * psize;
			if ((pages - freep) * psize > data_max) {
				int64_t recs = 0, per;

				/* down to 95% of the budget: a margin against removing a chunk
				 * after every commit */
				rc = store__one_int(db, SQL_RECORDS_SUM, 0, NULL, &recs);
				if (rc != SQLITE_OK)
					return db_fail(s, rc, "read", err);
				per = recs > 0 ? (pages - freep) * psize / recs : psize;
				if (!per0 && store__has_blocks(db))
					per0 = per > 0 ? per : 1;
				want = ((pages - freep) * psize - data_max * 95 / 100) /
				       (per > 0 ? per : 1) + 1;
			}
		}
		if (want == 0 && r->max_age_ns > 0) {
			if (elog_store_id_before(s, now_ns - r->max_age_ns, &through, err) != 0)
				return err ? err->code : ELOG_EIO;
			/* whole blocks: one that is only partly that old waits for the rest */
			if (through > 0 && store__has_blocks(db)) {
				int64_t at = 0;

				rc = store__one_int(db, SQL_BLOCK_AT, through, NULL, &at);
				if (rc != SQLITE_OK)
					return db_fail(s, rc, "read", err);
				if (at > 0 && through < INT64_MAX) {
					int64_t hi_id = 0;

					rc = store__one_int(db, "SELECT id_hi FROM blocks WHERE id_lo = ?1;",
							    at, NULL, &hi_id);
					if (rc != SQLITE_OK)
						return db_fail(s, rc, "read", err);
					if (through < hi_id)
						through = at - 1;
				}
			}
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
		if (k > chunk && per0 > 0 && used > 0 &&
		    page_counts(db, &pages, &freep, &psize) == SQLITE_OK) {
			/* whole blocks went: what they freed; one transaction a pass */
			int64_t e = (used - (pages - freep) * psize) / per0;

			spent += e < 1 ? 1 : e > k ? k : e;
			*more = (pages - freep) * psize > data_max;
			break;
		} else {
			spent += k;
		}
	}
	if (spent >= budget)
		*more = 1;
	if (spent_out)
		*spent_out = spent;
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
