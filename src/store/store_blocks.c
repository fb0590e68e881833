/*
 * store_blocks.c — sealed blocks in the history (schema 6): reading them (the iterator the
 * query, stats, lookup and retention code share) and sealing the oldest hot rows into one
 * (seal.h). See store.c's SQL_MIGRATE_V6 for the table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/arena.h"
#include "common/err.h"
#include "common/util.h"
#include "store/store.h"
#include "store/store_internal.h"
#include "store/block.h"
#include "store/seal.h"

/* The summaries only: SQLite computes every result column of a row in sqlite3_step, so a
 * listing that named the filter and data read every block's blobs (their overflow pages), also
 * of the blocks the summary skips: a 1-second window read the whole file. The blobs are read
 * by SQL_BLOCK_FILTER / SQL_BLOCK_DATA for the blocks a query keeps. */
#define BLOCK_COLUMNS \
	"SELECT id_lo, id_hi, ts_lo, ts_hi, arrival_lo, arrival_hi, n, level_mask, nkeys, " \
	"components FROM blocks "
#define SQL_BLOCK_FILTER "SELECT filter FROM blocks WHERE id_lo = ?1;"
#define SQL_BLOCK_DATA   "SELECT data FROM blocks WHERE id_lo = ?1;"
/* The first block that may hold lo: the last one starting at or before it (one seek). */
#define SQL_BLOCKS_ASC BLOCK_COLUMNS \
	"WHERE id_lo >= (SELECT coalesce(max(id_lo), 0) FROM blocks WHERE id_lo <= ?1) " \
	"AND id_lo <= ?2 ORDER BY id_lo;"
#define SQL_BLOCKS_DESC BLOCK_COLUMNS \
	"WHERE id_lo >= (SELECT coalesce(max(id_lo), 0) FROM blocks WHERE id_lo <= ?1) " \
	"AND id_lo <= ?2 ORDER BY id_lo DESC;"
enum { BC_ID_LO, BC_ID_HI, BC_TS_LO, BC_TS_HI, BC_ARR_LO, BC_ARR_HI, BC_N, BC_LEVELS, BC_NKEYS,
       BC_COMPONENTS };

#define SQL_HAS_BLOCKS \
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'blocks';"

int store__has_blocks(sqlite3 *db)
{
	int64_t n = 0;

	return store__one_int(db, SQL_HAS_BLOCKS, 0, NULL, &n) == SQLITE_OK && n > 0;
}

int store__blocks_open(struct elog_store *s, struct store_blocks *b, int64_t lo, int64_t hi,
		       int desc)
{
	int rc;

	memset(b, 0, sizeof(*b));
	b->db = s->db;
	rc = sqlite3_prepare_v2(s->db, desc ? SQL_BLOCKS_DESC : SQL_BLOCKS_ASC, -1, &b->st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(b->st, 1, lo);
	sqlite3_bind_int64(b->st, 2, hi);
	return SQLITE_OK;
}

int store__blocks_next(struct store_blocks *b)
{
	sqlite3_stmt *st = b->st;
	int rc = sqlite3_step(st);

	if (rc != SQLITE_ROW)
		return rc;
	b->sum.id_lo = sqlite3_column_int64(st, BC_ID_LO);
	b->sum.id_hi = sqlite3_column_int64(st, BC_ID_HI);
	b->sum.ts_lo = sqlite3_column_int64(st, BC_TS_LO);
	b->sum.ts_hi = sqlite3_column_int64(st, BC_TS_HI);
	b->sum.arrival_lo = sqlite3_column_int64(st, BC_ARR_LO);
	b->sum.arrival_hi = sqlite3_column_int64(st, BC_ARR_HI);
	b->sum.n = (uint32_t)sqlite3_column_int64(st, BC_N);
	b->sum.level_mask = (unsigned)sqlite3_column_int64(st, BC_LEVELS);
	b->nkeys = sqlite3_column_int64(st, BC_NKEYS);
	b->components = store__col_text(st, BC_COMPONENTS);
	return rc;
}

/* The current block's blob by *st (prepared from sql on first use): SQLITE_ROW with the
 * statement left on its row, or an SQLite code. */
static int block_blob(struct store_blocks *b, sqlite3_stmt **st, const char *sql)
{
	int rc = SQLITE_OK;

	if (!*st)
		rc = sqlite3_prepare_v2(b->db, sql, -1, st, NULL);
	else
		sqlite3_reset(*st);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(*st, 1, b->sum.id_lo);
	return sqlite3_step(*st);
}

const unsigned char *store__blocks_filter(struct store_blocks *b, size_t *len)
{
	const unsigned char *f = NULL;

	*len = 0;
	if (block_blob(b, &b->st_filter, SQL_BLOCK_FILTER) == SQLITE_ROW) {
		f = sqlite3_column_blob(b->st_filter, 0);
		*len = (size_t)sqlite3_column_bytes(b->st_filter, 0);
	}
	return f;   /* none: the caller decodes the block (a malformed filter may match) */
}

int store__blocks_decode(struct elog_store *s, struct store_blocks *b, struct elog_err *err)
{
	const unsigned char *data = NULL;
	size_t len = 0;
	int rc = block_blob(b, &b->st_data, SQL_BLOCK_DATA);

	if (rc == SQLITE_ROW) {
		data = sqlite3_column_blob(b->st_data, 0);
		len = (size_t)sqlite3_column_bytes(b->st_data, 0);
	} else {
		return elog_err_set(err, ELOG_EIO, "cannot read history '%s': %s", s->path,
				    rc == SQLITE_DONE ? "a block went missing" : sqlite3_errstr(rc));
	}
	if (!data && sqlite3_errcode(s->db) == SQLITE_NOMEM)
		return elog_err_set(err, ELOG_ENOMEM, "cannot read history '%s': out of memory",
				    s->path);
	return elog_block_decode(&b->view, data ? data : (const unsigned char *)"", len, err);
}

void store__blocks_close(struct store_blocks *b)
{
	sqlite3_finalize(b->st);
	sqlite3_finalize(b->st_filter);
	sqlite3_finalize(b->st_data);
	b->st = b->st_filter = b->st_data = NULL;
	elog_block_view_free(&b->view);
}

int store__block_components_each(const char *c,
				 void (*fn)(void *ctx, const char *name, size_t len, int64_t n),
				 void *ctx)
{
	struct elog_buf name = ELOG_BUF_INIT;
	int ret = 0;

	while (*c) {
		const char *p = c;

		/* block.h: a backslash, tab or newline inside a name is written \\, \t, \n;
		 * the first raw tab ends the name */
		elog_buf_reset(&name);
		for (; *p && *p != '\t' && *p != '\n'; p++) {
			char ch = *p;

			if (ch == '\\' && p[1]) {
				p++;
				ch = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p;
			}
			elog_buf_addc(&name, ch);
		}
		if (*p != '\t') {
			ret = -1;
			break;
		}
		fn(ctx, name.data ? name.data : "", name.len, strtoll(p + 1, NULL, 10));
		p = strchr(p, '\n');
		if (!p) {
			ret = -1;
			break;
		}
		c = p + 1;
	}
	elog_buf_release(&name);
	return ret;
}

struct has_ctx {
	const char *name;
	size_t len;
	int found;
};

static void has_one(void *ctx, const char *name, size_t len, int64_t n)
{
	struct has_ctx *h = ctx;

	(void)n;
	if (len == h->len && memcmp(name, h->name, len) == 0)
		h->found = 1;
}

int store__block_has_component(const char *components, const char *name)
{
	struct has_ctx h = { name, strlen(name), 0 };

	if (store__block_components_each(components, has_one, &h) != 0)
		return 1;
	return h.found;
}

/* ---- sealing (seal.h) --------------------------------------------------------------- */

#define SQL_SEAL_COUNT           "SELECT count(*) FROM (SELECT 1 FROM records ORDER BY id LIMIT ?1);"
#define SQL_SEAL_ROWS \
	"SELECT id, ts, arrival, level, component, msg, fields, source, dedupe FROM records " \
	"ORDER BY id LIMIT ?1;"
#define SQL_SEAL_ROWS_BELOW \
	"SELECT id, ts, arrival, level, component, msg, fields, source, dedupe FROM records " \
	"WHERE id < ?2 ORDER BY id LIMIT ?1;"
#define SQL_SEAL_INSERT \
	"INSERT INTO blocks (id_lo, id_hi, ts_lo, ts_hi, arrival_lo, arrival_hi, n, level_mask, " \
	"nkeys, components, filter, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12);"
#define SQL_SEAL_DELETE          "DELETE FROM records WHERE id >= ?1 AND id <= ?2;"

struct elog_seal {
	struct elog_record *recs;    /* read, not yet encoded (owned) */
	size_t n;
	struct elog_arena strs;      /* the recs' strings: one allocation per 64 KiB, not five
				      * per row (the writer reads the rows) */
	struct elog_block blk;       /* encoded */
	int64_t nkeys;
	int encoded;
};

static void seal_rows_free(struct elog_seal *p)
{
	elog_arena_release(&p->strs);
	free(p->recs);
	p->recs = NULL;
	p->n = 0;
}

void elog_seal_free(struct elog_seal *p)
{
	if (!p)
		return;
	seal_rows_free(p);
	elog_block_free(&p->blk);
	free(p);
}

int elog_seal_encode(struct elog_seal *p, struct elog_err *err)
{
	int ret;

	if (p->encoded)
		return 0;
	p->nkeys = 0;
	for (size_t i = 0; i < p->n; i++)
		if (p->recs[i].dedupe_key && *p->recs[i].dedupe_key)
			p->nkeys++;
	ret = elog_block_encode(p->recs, p->n, &p->blk, err);
	if (ret == 0) {
		p->encoded = 1;
		seal_rows_free(p);
	}
	return ret;
}

static int seal_fail(struct elog_store *s, int rc, const char *what, struct elog_err *err)
{
	return elog_err_set(err, store__sqlite_to_elog(rc), "cannot %s history '%s': %s", what,
			    s->path, sqlite3_errmsg(s->db));
}

/* Encodes recs[0..n) into a new seal (ids increasing). */
int store__seal_encode(struct elog_store *s, const struct elog_record *recs, size_t n,
		       struct elog_seal **out, struct elog_err *err)
{
	struct elog_seal *p = xcalloc(1, sizeof(*p));
	int ret;

	(void)s;
	for (size_t i = 0; i < n; i++)
		if (recs[i].dedupe_key && *recs[i].dedupe_key)
			p->nkeys++;
	ret = elog_block_encode(recs, n, &p->blk, err);
	if (ret != 0) {
		elog_seal_free(p);
		return ret;
	}
	p->encoded = 1;
	*out = p;
	return 0;
}

/* Inserts p's block row (inside the caller's write transaction); SQLite code. */
int store__seal_insert(struct elog_store *s, const struct elog_seal *p)
{
	const struct elog_block *b = &p->blk;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, SQL_SEAL_INSERT, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, b->sum.id_lo);
	sqlite3_bind_int64(st, 2, b->sum.id_hi);
	sqlite3_bind_int64(st, 3, b->sum.ts_lo);
	sqlite3_bind_int64(st, 4, b->sum.ts_hi);
	sqlite3_bind_int64(st, 5, b->sum.arrival_lo);
	sqlite3_bind_int64(st, 6, b->sum.arrival_hi);
	sqlite3_bind_int64(st, 7, b->sum.n);
	sqlite3_bind_int64(st, 8, b->sum.level_mask);
	sqlite3_bind_int64(st, 9, p->nkeys);
	sqlite3_bind_text(st, 10, b->components ? b->components : "", -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 11, b->filter ? (const void *)b->filter : "", (int)b->filter_len,
			  SQLITE_STATIC);
	sqlite3_bind_blob(st, 12, b->data ? (const void *)b->data : "", (int)b->data_len,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int elog_store_seal_prepare(struct elog_store *s, int64_t keep, int64_t min_records,
			    struct elog_seal **out, struct elog_err *err)
{
	int ret = elog_store_seal_read(s, keep, min_records, out, err);

	if (ret == 0 && *out && (ret = elog_seal_encode(*out, err)) != 0) {
		elog_seal_free(*out);
		*out = NULL;
	}
	return ret;
}

/* A text column copied into a (never NULL: "" for SQL NULL). */
static char *col_copy(struct elog_arena *a, sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);

	return elog_arena_strndup(a, t ? t : "", t ? (size_t)sqlite3_column_bytes(st, col) : 0);
}

int store__hot_rows(struct elog_store *s, struct elog_record *recs, size_t max, int64_t below,
		    size_t *n, struct elog_arena *strs)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, below ? SQL_SEAL_ROWS_BELOW : SQL_SEAL_ROWS, -1, &st,
				    NULL);

	*n = 0;
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)max);
	if (below)
		sqlite3_bind_int64(st, 2, below);
	while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct elog_record *r = &recs[(*n)++];

		r->id = sqlite3_column_int64(st, 0);
		r->ts_ns = sqlite3_column_int64(st, 1);
		r->arrival_ns = sqlite3_column_int64(st, 2);
		r->level = sqlite3_column_int(st, 3);
		r->component = col_copy(strs, st, 4);
		r->msg = col_copy(strs, st, 5);
		r->fields = col_copy(strs, st, 6);
		r->source = col_copy(strs, st, 7);
		r->dedupe_key = col_copy(strs, st, 8);
		r->redacted_before = 0;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* A record string copied into a ("" for NULL, as a row read back gives it). */
static char *str_copy(struct elog_arena *a, const char *t)
{
	return elog_arena_strndup(a, t ? t : "", t ? strlen(t) : 0);
}

struct elog_seal *elog_seal_from_records(const struct elog_record *recs, size_t n)
{
	struct elog_seal *p = xcalloc(1, sizeof(*p));

	elog_arena_init(&p->strs);
	p->recs = xcalloc(n ? n : 1, sizeof(*p->recs));
	for (size_t i = 0; i < n; i++) {
		const struct elog_record *x = &recs[i];
		struct elog_record *r = &p->recs[i];

		r->id = x->id;
		r->ts_ns = x->ts_ns;
		r->arrival_ns = x->arrival_ns;
		r->level = x->level;
		r->component = str_copy(&p->strs, x->component);
		r->msg = str_copy(&p->strs, x->msg);
		r->fields = str_copy(&p->strs, x->fields);
		r->source = str_copy(&p->strs, x->source);
		r->dedupe_key = str_copy(&p->strs, x->dedupe_key);
		r->redacted_before = 0;
	}
	p->n = n;
	return p;
}

#define SQL_HOT_FIRST "SELECT coalesce((SELECT id FROM records ORDER BY id LIMIT 1), 0);"

int elog_store_hot_first(struct elog_store *s, int64_t *id, struct elog_err *err)
{
	int rc = store__one_int(s->db, SQL_HOT_FIRST, 0, NULL, id);

	if (rc != SQLITE_OK) {
		*id = 0;
		return seal_fail(s, rc, "read", err);
	}
	return 0;
}

int elog_store_seal_read(struct elog_store *s, int64_t keep, int64_t min_records,
			 struct elog_seal **out, struct elog_err *err)
{
	struct elog_seal *p = NULL;
	sqlite3_stmt *st = NULL;
	int64_t count = 0, take;
	int in_txn = 0, rc, ret = 0;

	*out = NULL;
	if (min_records < 1)
		min_records = 1;
	if (sqlite3_get_autocommit(s->db)) {
		rc = store__stmt_exec(s->st_begin);
		if (rc != SQLITE_OK)
			return seal_fail(s, rc, "read", err);
		in_txn = 1;
	}
	if (!store__has_blocks(s->db))
		goto out;
	rc = store__one_int(s->db, SQL_SEAL_COUNT, keep + ELOG_BLOCK_MAX_RECORDS, NULL, &count);
	if (rc != SQLITE_OK)
		goto fail;
	if (count - keep < min_records)
		goto out;
	take = count - keep;
	if (take > ELOG_BLOCK_MAX_RECORDS)
		take = ELOG_BLOCK_MAX_RECORDS;
	p = xcalloc(1, sizeof(*p));
	elog_arena_init(&p->strs);
	p->recs = xcalloc((size_t)take, sizeof(*p->recs));
	rc = store__hot_rows(s, p->recs, (size_t)take, 0, &p->n, &p->strs);
	if (rc != SQLITE_OK)
		goto fail;
	/* the rows are copied: the encoding holds no transaction */
	if (in_txn) {
		store__stmt_exec(s->st_commit);
		in_txn = 0;
	}
	if (p->n) {
		*out = p;
		p = NULL;
	}
	goto out;
fail:
	ret = seal_fail(s, rc, "read", err);
out:
	sqlite3_finalize(st);
	if (in_txn && !sqlite3_get_autocommit(s->db))
		store__stmt_exec(s->st_commit);
	elog_seal_free(p);
	return ret;
}

int elog_store_seal_commit(struct elog_store *s, const struct elog_seal *p, int64_t *sealed,
			   struct elog_err *err)
{
	const struct elog_block_summary *sum = &p->blk.sum;
	sqlite3_stmt *st = NULL;
	int64_t have = 0;
	int rc;

	if (sealed)
		*sealed = 0;
	if (!p->encoded)
		return elog_err_set(err, ELOG_EFAIL, "cannot write history '%s': block not encoded",
				    s->path);
	rc = store__stmt_exec(s->st_begin_immediate);
	if (rc != SQLITE_OK)
		return seal_fail(s, rc, "write", err);
	/* rows are only ever deleted from the hot table and new ids are larger: the same count
	 * in the same range is the same rows. The delete counts them (a count first scanned
	 * them once more); another count rolls it back. */
	rc = sqlite3_prepare_v2(s->db, SQL_SEAL_DELETE, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, sum->id_lo);
		sqlite3_bind_int64(st, 2, sum->id_hi);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			have = sqlite3_changes(s->db);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (rc != SQLITE_OK)
		goto fail;
	if (have != (int64_t)sum->n) {
		store__stmt_exec(s->st_rollback);
		return 0;
	}
	rc = store__seal_insert(s, p);
	if (rc == SQLITE_OK)
		rc = store__stmt_exec(s->st_commit);
	if (rc != SQLITE_OK)
		goto fail;
	if (sealed)
		*sealed = sum->n;
	return 0;
fail:
	rc = seal_fail(s, rc, "write", err);
	if (!sqlite3_get_autocommit(s->db))
		store__stmt_exec(s->st_rollback);
	return rc;
}

int elog_store_seal_now(struct elog_store *s, int64_t keep, int64_t min_records,
			int64_t *sealed, struct elog_err *err)
{
	int64_t total = 0;

	for (;;) {
		struct elog_seal *p = NULL;
		int64_t k = 0;
		int ret = elog_store_seal_prepare(s, keep, min_records, &p, err);

		if (ret == 0 && p)
			ret = elog_store_seal_commit(s, p, &k, err);
		elog_seal_free(p);
		if (ret != 0)
			return ret;
		if (!p || k == 0)
			break;
		total += k;
	}
	if (sealed)
		*sealed = total;
	return 0;
}

int elog_store_trim_free(struct elog_store *s, int64_t step, int *more, struct elog_err *err)
{
	int64_t mode = 0, pages = 0, freep = 0, left = 0;
	char sql[64];
	int rc;

	if (more)
		*more = 0;
	rc = store__one_int(s->db, "PRAGMA auto_vacuum;", 0, NULL, &mode);
	if (rc == SQLITE_OK && mode == 2)
		rc = store__one_int(s->db, "PRAGMA page_count;", 0, NULL, &pages);
	if (rc == SQLITE_OK && mode == 2)
		rc = store__one_int(s->db, "PRAGMA freelist_count;", 0, NULL, &freep);
	if (rc != SQLITE_OK)
		return seal_fail(s, rc, "write", err);
	if (mode != 2 || freep <= ELOG_TRIM_MIN_FREE || freep <= pages / 8)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld);", (long long)step);
	rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return seal_fail(s, rc, "write", err);
	/* more only when this pass gave something back: never a loop that cannot progress */
	if (store__one_int(s->db, "PRAGMA freelist_count;", 0, NULL, &left) == SQLITE_OK &&
	    store__one_int(s->db, "PRAGMA page_count;", 0, NULL, &pages) == SQLITE_OK && more)
		*more = left < freep && left > ELOG_TRIM_MIN_FREE && left > pages / 8;
	return 0;
}
