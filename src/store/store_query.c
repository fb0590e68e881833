/*
 * store_query.c — reading the history: the WHERE clause built from a filter, the --tail bound
 * (the lowest id of the last N matches, cached for a follower that asks again), pages of
 * records, the largest id and the component lists. See store.h for the contract.
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
#include "store/store_internal.h"
#include "common/filter.h"

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

/* ---- sealed blocks (schema 6) --------------------------------------------------------- */

/* What a query knows before it reads any block: the tokens its pattern needs (the blocks'
 * token filters skip those that lack one). */
struct block_query {
	int on;                          /* the history has blocks (this snapshot) */
	char *toks[ELOG_BLOCK_MAX_TOKENS];
	size_t ntoks;
};

static void block_query_init(struct block_query *bq, struct elog_store *s,
			     const struct elog_filter *f)
{
	memset(bq, 0, sizeof(*bq));
	bq->on = s->version >= 6 || store__has_blocks(s->db);
	if (bq->on && f->has_regex && f->pattern)
		bq->ntoks = elog_pattern_tokens(f->pattern, bq->toks, ELOG_BLOCK_MAX_TOKENS);
}

static void block_query_clear(struct block_query *bq)
{
	for (size_t i = 0; i < bq->ntoks; i++)
		free(bq->toks[i]);
	bq->ntoks = 0;
}

struct comp_check {
	const struct elog_filter *f;
	int any_in, any_kept;
};

static void comp_check_one(void *ctx, const char *name, size_t len, int64_t n)
{
	struct comp_check *c = ctx;
	char buf[256], *nm = len < sizeof(buf) ? buf : xmalloc(len + 1);
	const struct elog_filter *f = c->f;

	(void)n;
	memcpy(nm, name, len);
	nm[len] = '\0';
	if (f->ncomponents) {
		for (size_t i = 0; i < f->ncomponents; i++)
			if (strcmp(f->components[i], nm) == 0) {
				c->any_in = 1;
				break;
			}
	}
	if (!elog_filter_excludes_component(f, nm))
		c->any_kept = 1;
	if (nm != buf)
		free(nm);
}

/* 0 when the block's summary shows that none of its records can match f (ids aside). */
static int block_may_match(struct store_blocks *b, const struct elog_filter *f,
			   const struct block_query *bq)
{
	if (f->level_mask && !(f->level_mask & b->sum.level_mask))
		return 0;
	if (f->since_ns && b->sum.ts_hi < f->since_ns)
		return 0;
	if (f->until_ns && b->sum.ts_lo > f->until_ns)
		return 0;
	if (f->ncomponents == 1) {
		if (!store__block_has_component(b->components, f->components[0]))
			return 0;
	} else if (f->ncomponents || f->nxcomponents) {
		struct comp_check c = { f, 0, 0 };

		if (store__block_components_each(b->components, comp_check_one, &c) == 0 &&
		    ((f->ncomponents && !c.any_in) || (f->nxcomponents && !c.any_kept)))
			return 0;
	}
	if (bq->ntoks) {
		size_t flen;
		const unsigned char *filter = store__blocks_filter(b, &flen);

		if (!elog_block_filter_may_match(filter, flen, bq->toks, bq->ntoks))
			return 0;
	}
	return 1;
}

/* With blocks: the id of the f->limit-th last match among the blocks' records with ids in
 * [lo, hi], counting on from *found matches already seen in the hot rows; *bound is set when
 * it is reached. An SQLite code, or -1 with err set (a corrupt block). */
static int blocks_bound(struct elog_store *s, const struct elog_filter *f, int64_t lo,
			int64_t hi, const struct block_query *bq, int64_t limit, int64_t *found,
			int64_t *bound, struct elog_err *err)
{
	struct store_blocks b;
	int rc = store__blocks_open(s, &b, lo, hi, 1);

	while (rc == SQLITE_OK && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (b.sum.id_hi < lo)
			break;
		if (!block_may_match(&b, f, bq))
			continue;
		if (store__blocks_decode(s, &b, err) != 0) {
			rc = -1;
			break;
		}
		for (size_t i = b.view.n; i > 0; i--) {
			const struct elog_record *r = &b.view.recs[i - 1];

			if (r->id < lo || r->id > hi || !elog_filter_match(f, r))
				continue;
			if (++*found == limit) {
				*bound = r->id;
				break;
			}
		}
		if (*bound)
			break;
	}
	store__blocks_close(&b);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}


/* The rows of the records table, newest first, matched in C (a pattern): the id of the
 * limit-th match, counting on from *found, in *bound (left 0 when there are fewer). */
static int rows_bound(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		      int64_t limit, int64_t *found, int64_t *bound)
{
	sqlite3_stmt *st = NULL;
	int rc = query_prepare(s, SQL_BOUND_RE_SELECT, f, max_id, 0, SQL_BOUND_RE_ORDER, &st);

	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *msg = (const char *)sqlite3_column_text(st, 1);
		const char *fields = (const char *)sqlite3_column_text(st, 2);

		if (!elog_filter_match_text(f, msg, fields))
			continue;
		if (++*found == limit) {
			*bound = sqlite3_column_int64(st, 0);
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * For a limited query: the smallest id among the last f->limit matches, in *bound (0 when
 * there are fewer matches than the limit, i.e. no bound). Without a pattern SQLite counts
 * (OFFSET limit-1); with one, the rows are scanned backwards and the pattern applied here.
 */
static int query_bound(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		       const struct block_query *bq, int64_t *bound, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int64_t limit = f->limit > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)f->limit;
	int rc;

	*bound = 0;
	if (bq->on) {
		/* the hot rows (the newest), then the blocks newest first */
		int64_t found = 0;

		rc = rows_bound(s, f, max_id, limit, &found, bound);
		if (rc != SQLITE_OK)
			return rc;
		if (*bound)
			return SQLITE_OK;
		return blocks_bound(s, f, f->after_id > 0 ? f->after_id + 1 : 1,
				    max_id == ELOG_ID_UNBOUNDED ? INT64_MAX : max_id, bq, limit,
				    &found, bound, err);
	}
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

		return rows_bound(s, f, max_id, limit, &found, bound);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
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
			       const struct block_query *bq, struct tail_bounds *t, int64_t *min_id,
			       struct elog_err *err)
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
		rc = query_bound(s, &one, max_id, bq, &t->bounds[i], err);
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

void store__tail_cache_free(struct tail_cache *tc)
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
	struct block_query bq;
	int64_t bound = 0, tmin_cached = INT64_MAX;
	int in_txn = 0, ret = 0, rc;

	/* No id is above the largest one (and after_id + 1 below would overflow). */
	if (f->after_id == INT64_MAX)
		return 0;
	if (max_id == 0)
		return 0;     /* nothing (ids start at 1) */
	memset(&bq, 0, sizeof(bq));
	/* The statements (bound, blocks, hot rows) must see one snapshot: a block sealed
	 * between two of them would be read twice or not at all. */
	if (sqlite3_get_autocommit(s->db)) {
		rc = store__stmt_exec(s->st_begin);
		if (rc != SQLITE_OK)
			goto fail;
		in_txn = 1;
	}
	block_query_init(&bq, s, f);
	if (f->limit) {
		rc = query_bound(s, f, max_id, &bq, &bound, err);
		if (rc == -1) {
			ret = err ? err->code : ELOG_EIO;
			goto out;
		}
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

		rc = tail_bounds_compute(s, f, max_id, &bq, &tails, &tmin, err);
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
	if (bq.on) {
		/* the sealed records first (their ids are below the hot rows') */
		struct store_blocks b;
		int64_t lo = f->after_id > 0 ? f->after_id + 1 : 1;
		int64_t hi = max_id == ELOG_ID_UNBOUNDED ? INT64_MAX : max_id;

		if (bound > lo)
			lo = bound;
		rc = store__blocks_open(s, &b, lo, hi, 0);
		while (rc == SQLITE_OK && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
			rc = SQLITE_OK;
			if (b.sum.id_hi < lo || !block_may_match(&b, f, &bq))
				continue;
			if (store__blocks_decode(s, &b, err) != 0) {
				ret = err ? err->code : ELOG_EIO;
				break;
			}
			for (size_t i = 0; i < b.view.n && ret == 0; i++) {
				const struct elog_record *x = &b.view.recs[i];

				if (x->id < lo || x->id > hi || !elog_filter_match(f, x))
					continue;
				if (tb->n && x->id < tail_bound(tb, x->component))
					continue;
				ret = fn(ctx, x);
			}
			if (ret != 0)
				break;
		}
		store__blocks_close(&b);
		if (ret != 0) {
			if (in_txn && !sqlite3_get_autocommit(s->db))
				store__stmt_exec(s->st_commit);
			in_txn = 0;
			goto out;
		}
		if (rc != SQLITE_DONE && rc != SQLITE_OK)
			goto fail;
	}
	rc = query_prepare(s, SQL_QUERY_COLUMNS, f, max_id, bound, SQL_QUERY_ORDER, &st);
	if (rc != SQLITE_OK)
		goto fail;
	memset(&r, 0, sizeof(r));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.msg = store__col_text(st, COL_MSG);
		r.fields = store__col_text(st, COL_FIELDS);
		if (!elog_filter_match_text(f, r.msg, r.fields))
			continue;
		r.id = sqlite3_column_int64(st, COL_ID);
		r.component = store__col_text(st, COL_COMPONENT);
		if (tb->n && r.id < tail_bound(tb, r.component))
			continue;
		r.ts_ns = sqlite3_column_int64(st, COL_TS);
		r.arrival_ns = sqlite3_column_int64(st, COL_ARRIVAL);
		r.level = sqlite3_column_int(st, COL_LEVEL);
		r.source = store__col_text(st, COL_SOURCE);
		r.dedupe_key = store__col_text(st, COL_DEDUPE);
		r.redacted_before = 0;
		ret = fn(ctx, &r);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	if (in_txn)
		store__stmt_exec(s->st_commit);
	block_query_clear(&bq);
	if (tails.n && max_id != ELOG_ID_UNBOUNDED) {   /* kept for the next page */
		store__tail_cache_free(s->tc);
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
	ret = elog_err_set(err, store__sqlite_to_elog(rc), "cannot read history '%s': %s", s->path,
			   sqlite3_errmsg(s->db));
out:
	sqlite3_finalize(st);
	if (in_txn && !sqlite3_get_autocommit(s->db))
		store__stmt_exec(s->st_rollback);
	tail_bounds_clear(&tails);
	block_query_clear(&bq);
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
		int ret = elog_err_set(err, store__sqlite_to_elog(rc), "cannot read history '%s': %s",
				       s->path, sqlite3_errmsg(s->db));
		store__stmt_done(s->st_max_id);
		return ret;
	}
	store__stmt_done(s->st_max_id);
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
				ret = elog_err_set(err, store__sqlite_to_elog(rc),
						   "cannot read history '%s': %s", s->path,
						   sqlite3_errmsg(s->db));
			store__stmt_done(st);
			if (rc != SQLITE_DONE)
				goto fail;
			break;
		}
		v = xrealloc(v, (count + 1) * sizeof(*v));
		v[count] = xstrdup(store__col_text(st, 0));
		last = v[count++];
		store__stmt_done(st);
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
			nv[count++] = xstrdup(store__col_text(st, 0));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE && rc != SQLITE_OK) {
			for (i = 0; i < count; i++)
				free(nv[i]);
			free(nv);
			return elog_err_set(err, store__sqlite_to_elog(rc), "cannot read history '%s': %s",
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
