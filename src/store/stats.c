/*
 * stats.c — what `elog ps` shows of each component (store.h, elog_store_stats): counts from
 * the component_stats summary (schema 2) that elog_store_insert keeps in its transaction,
 * first and last arrival, and the records of the last minute, all in one snapshot.
 */
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "store/store.h"
#include "store/store_internal.h"

/* The largest id stored (a schema 1 to 3 file opened read-only has no horizon table). */
#define SQL_STATS_MAX_ID         "SELECT max(id) FROM records;"

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




/* ---- component statistics (`elog ps`) ------------------------------------------------ */

#define SQL_STATS_HAS_SUMMARY \
	"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'component_stats';"
#define SQL_STATS_SUMMARY \
	"SELECT component, source, level, n FROM component_stats ORDER BY component, source;"
/* A schema 1 history opened read-only has no summary: its records are counted. */
#define SQL_STATS_SCAN \
	"SELECT component, source, level, count(*) FROM records GROUP BY 1, 2, 3 " \
	"ORDER BY 1, 2;"
/* Arrival of the component's first and last record: two lookups in records_component. */
#define SQL_STATS_SEEN \
	"SELECT (SELECT arrival FROM records WHERE id = " \
	"          (SELECT min(id) FROM records WHERE component = ?1)), " \
	"       (SELECT arrival FROM records WHERE id = " \
	"          (SELECT max(id) FROM records WHERE component = ?1));"
/* The first record at or after an id (a step of the search for the window's first id). */
#define SQL_STATS_ARRIVAL_AT \
	"SELECT arrival FROM records WHERE id >= ?1 ORDER BY id LIMIT 1;"
#define SQL_STATS_RECENT \
	"SELECT count(*) FROM records WHERE component = ?1 AND id >= ?2;"

/* Adds a finished source's total to c's busiest ELOG_STATS_MAX_SOURCES; counts the rest. */
struct src_top {
	char *name[ELOG_STATS_MAX_SOURCES];
	uint64_t n[ELOG_STATS_MAX_SOURCES];
	size_t k;
	uint64_t omitted;
};

static void src_top_add(struct src_top *t, const char *name, uint64_t n)
{
	size_t i, min = 0;

	if (t->k < ELOG_STATS_MAX_SOURCES) {
		t->name[t->k] = xstrdup(name);
		t->n[t->k++] = n;
		return;
	}
	t->omitted++;
	for (i = 1; i < t->k; i++)
		if (t->n[i] < t->n[min])
			min = i;
	if (n > t->n[min]) {
		free(t->name[min]);
		t->name[min] = xstrdup(name);
		t->n[min] = n;
	}
}

/* Moves t's names into c, the busiest first (ties by name), while *kept stays within
 * ELOG_STATS_MAX_BYTES; the others are counted as omitted. */
static void src_top_take(struct src_top *t, struct elog_component_stats *c, size_t *kept)
{
	size_t i, j, k = 0;

	for (i = 1; i < t->k; i++)
		for (j = i; j > 0 && (t->n[j] > t->n[j - 1] ||
				      (t->n[j] == t->n[j - 1] &&
				       strcmp(t->name[j], t->name[j - 1]) < 0)); j--) {
			char *nm = t->name[j];
			uint64_t x = t->n[j];

			t->name[j] = t->name[j - 1];
			t->n[j] = t->n[j - 1];
			t->name[j - 1] = nm;
			t->n[j - 1] = x;
		}
	c->sources = xcalloc(t->k + 1, sizeof(char *));
	c->sources_omitted = t->omitted;
	for (i = 0; i < t->k; i++) {
		size_t len = strlen(t->name[i]);

		if (*kept + len > ELOG_STATS_MAX_BYTES) {
			free(t->name[i]);
			c->sources_omitted++;
			continue;
		}
		*kept += len;
		c->sources[k++] = t->name[i];
	}
	c->nsources = k;
	memset(t, 0, sizeof(*t));
}

/* Smallest id whose record arrived at or after since_ns, assuming arrival grows with the id
 * (the hub stamps records as it takes them in, and ids follow commit order): a binary search
 * of O(log n) lookups by id. max_id + 1 when none did. */
static int stats_window_start(struct elog_store *s, int64_t since_ns, int64_t max_id,
			      int64_t *out)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = elog_store_db(s);
	int64_t lo = 1, hi = max_id + 1;
	int rc = sqlite3_prepare_v2(db, SQL_STATS_ARRIVAL_AT, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2, arrival;

		sqlite3_bind_int64(st, 1, mid);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		arrival = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
		store__stmt_done(st);
		rc = SQLITE_OK;
		if (arrival >= since_ns)
			hi = mid;
		else
			lo = mid + 1;
	}
	sqlite3_finalize(st);
	*out = lo;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* ---- schema 6: blocks and hot rows ----------------------------------------------------- */

/* Index of the component name[0..len) in v[0..n) (sorted by name), or -1. */
static long comp_find(struct elog_component_stats *v, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strncmp(v[mid].name, name, len);

		if (cmp == 0 && v[mid].name[len])
			cmp = 1;
		if (cmp == 0)
			return (long)mid;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

struct seen6 {
	struct elog_component_stats *v;
	size_t n;
	int64_t *fblk, *lblk;      /* first and last block (id_lo) holding each component */
	int64_t *hfirst, *hlast;   /* arrival of its first and last hot row */
	int64_t id_lo;             /* the block being read */
	int add_counts;            /* the whole block is in the window: add its counts */
};

static void seen6_note(void *ctx, const char *name, size_t len, int64_t k)
{
	struct seen6 *x = ctx;
	long i = comp_find(x->v, x->n, name, len);

	if (i < 0)
		return;
	if (!x->fblk[i])
		x->fblk[i] = x->id_lo;
	x->lblk[i] = x->id_lo;
	if (x->add_counts && k > 0)
		x->v[i].last_minute += (uint64_t)k;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The arrivals of each component's first record (in its first block, x->fblk) and, when it has
 * no hot row, of its last (in its last block, x->lblk): every block that holds one decoded
 * once, whatever the number of components in it (a block of 4096 components, each looked up
 * on its own, was decoded 8192 times: `ps` took over its deadline). */
static int blocks_arrivals(struct elog_store *s, struct seen6 *x, struct elog_err *err)
{
	struct elog_component_stats *v = x->v;
	int64_t *ids = xmalloc((2 * x->n + 1) * sizeof(*ids));
	unsigned char *got_first = xcalloc(x->n + 1, 1);
	size_t m = 0, i, j;
	int ret = 0;

	for (i = 0; i < x->n; i++) {
		if (x->fblk[i])
			ids[m++] = x->fblk[i];
		if (!x->hlast[i] && x->lblk[i])
			ids[m++] = x->lblk[i];
	}
	qsort(ids, m, sizeof(*ids), cmp_i64);
	for (i = 0; i < m && ret == 0; i = j) {
		struct store_blocks b;
		int rc = store__blocks_open(s, &b, ids[i], ids[i], 0);

		for (j = i; j < m && ids[j] == ids[i]; j++)
			;
		if (rc == SQLITE_OK && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
			rc = SQLITE_OK;
			if (store__blocks_decode(s, &b, err) != 0)
				ret = err ? err->code : ELOG_EIO;
			for (size_t r = 0; ret == 0 && r < b.view.n; r++) {
				const struct elog_record *rec = &b.view.recs[r];
				long k = comp_find(v, x->n, rec->component, strlen(rec->component));

				if (k < 0)
					continue;
				if (x->fblk[k] == ids[i] && !got_first[k]) {
					v[k].first_ns = rec->arrival_ns;
					got_first[k] = 1;
				}
				if (!x->hlast[k] && x->lblk[k] == ids[i])
					v[k].last_ns = rec->arrival_ns;   /* the last one wins */
			}
		}
		store__blocks_close(&b);
		if (ret == 0 && rc != SQLITE_OK && rc != SQLITE_DONE)
			ret = elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s",
					   elog_store_path(s), sqlite3_errmsg(elog_store_db(s)));
	}
	free(got_first);
	free(ids);
	return ret;
}

/* first_ns, last_ns and last_minute of v[0..n) from the block summaries (a block is decoded
 * only when the window starts inside it, or for a component's first or last record) and one
 * pass over the hot rows. Inside the caller's transaction. */
static int stats_seen_v6(struct elog_store *s, struct elog_component_stats *v, size_t n,
			 int64_t since, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	struct seen6 x = { v, n, NULL, NULL, NULL, NULL, 0, 0 };
	struct store_blocks b;
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	x.fblk = xcalloc(n + 1, sizeof(int64_t));
	x.lblk = xcalloc(n + 1, sizeof(int64_t));
	x.hfirst = xcalloc(n + 1, sizeof(int64_t));
	x.hlast = xcalloc(n + 1, sizeof(int64_t));
	rc = store__blocks_open(s, &b, 1, INT64_MAX, 0);
	while (rc == SQLITE_OK && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
		int whole = b.sum.arrival_lo >= since;

		rc = SQLITE_OK;
		x.id_lo = b.sum.id_lo;
		x.add_counts = whole;
		if (store__block_components_each(b.components, seen6_note, &x) == 0 &&
		    (whole || b.sum.arrival_hi < since))
			continue;
		/* the window starts in it, or its list cannot be read: its records */
		if (store__blocks_decode(s, &b, err) != 0) {
			ret = err ? err->code : ELOG_EIO;
			break;
		}
		x.add_counts = 0;
		for (size_t i = 0; i < b.view.n; i++) {
			const struct elog_record *r = &b.view.recs[i];
			long k = comp_find(v, n, r->component, strlen(r->component));

			if (k < 0)
				continue;
			if (!x.fblk[k])
				x.fblk[k] = x.id_lo;
			x.lblk[k] = x.id_lo;
			if (!whole && r->arrival_ns >= since)
				v[k].last_minute++;
		}
	}
	store__blocks_close(&b);
	if (ret != 0)
		goto out;
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(db, "SELECT component, arrival FROM records ORDER BY id;", -1, &st,
				NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = store__col_text(st, 0);
		int64_t arrival = sqlite3_column_int64(st, 1);
		long k = comp_find(v, n, c, strlen(c));

		rc = SQLITE_OK;
		if (k < 0)
			continue;
		if (!x.hfirst[k])
			x.hfirst[k] = arrival;
		x.hlast[k] = arrival;
		if (arrival >= since)
			v[k].last_minute++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		v[i].first_ns = x.hfirst[i];
		v[i].last_ns = x.hlast[i];
	}
	ret = blocks_arrivals(s, &x, err);
	goto out;
fail:
	ret = elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s",
			   elog_store_path(s), sqlite3_errmsg(db));
out:
	free(x.fblk);
	free(x.lblk);
	free(x.hfirst);
	free(x.hlast);
	return ret;
}

void elog_component_stats_free(struct elog_component_stats *v, size_t n)
{
	size_t i, j;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].name);
		for (j = 0; j < v[i].nsources; j++)
			free(v[i].sources[j]);
		free(v[i].sources);
	}
	free(v);
}

int elog_store_stats(struct elog_store *s, int64_t now_ns, struct elog_component_stats **out,
		     size_t *n, uint64_t *omitted, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	struct elog_component_stats *v = NULL, *c = NULL;
	struct src_top top;
	sqlite3_stmt *st = NULL, *seen = NULL, *recent = NULL;
	char *src = NULL, *skipname = NULL;
	uint64_t src_n = 0, skipped = 0;
	int64_t has_summary = 0, max_id = 0, window = 0;
	size_t count = 0, cap = 0, kept = 0, i;
	int in_txn = 0, skipping = 0, rc, ret;

	*out = NULL;
	*n = 0;
	*omitted = 0;
	memset(&top, 0, sizeof(top));
	/* Every statement below reads one snapshot. */
	if (sqlite3_get_autocommit(db)) {
		rc = sqlite3_exec(db, "BEGIN;", NULL, NULL, NULL);
		if (rc != SQLITE_OK)
			goto fail;
		in_txn = 1;
	}
	rc = store__one_int(db, SQL_STATS_HAS_SUMMARY, 0, NULL, &has_summary);
	if (rc == SQLITE_OK)
		rc = store__one_int(db, SQL_STATS_MAX_ID, 0, NULL, &max_id);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, has_summary ? SQL_STATS_SUMMARY : SQL_STATS_SCAN, -1,
					&st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *comp = store__col_text(st, 0), *source = store__col_text(st, 1);
		int level = sqlite3_column_int(st, 2);
		int64_t k = sqlite3_column_int64(st, 3);

		if (skipping) {
			/* past the limit: the components are counted, not kept */
			if (strcmp(skipname, comp) != 0) {
				skipped++;
				free(skipname);
				skipname = xstrdup(comp);
			}
			continue;
		}
		if (!c || strcmp(c->name, comp) != 0) {
			if (c) {
				if (src)
					src_top_add(&top, src, src_n);
				src_top_take(&top, c, &kept);
			}
			free(src);
			src = NULL;
			if (count >= ELOG_STATS_MAX_COMPONENTS ||
			    kept + strlen(comp) + 64 > ELOG_STATS_MAX_BYTES) {
				skipping = 1;
				skipped = 1;
				skipname = xstrdup(comp);
				continue;
			}
			if (count == cap) {
				cap = cap ? 2 * cap : 16;
				v = xrealloc(v, cap * sizeof(*v));
			}
			c = &v[count++];
			memset(c, 0, sizeof(*c));
			c->name = xstrdup(comp);
			kept += strlen(comp) + 64;
		}
		if (k > 0) {
			c->count += (uint64_t)k;
			if (level >= 0 && level < ELOG_LEVEL_COUNT)
				c->levels[level] += (uint64_t)k;
		}
		if (src && strcmp(src, source) != 0) {
			src_top_add(&top, src, src_n);
			free(src);
			src = NULL;
		}
		if (!src) {
			src = xstrdup(source);
			src_n = 0;
		}
		src_n += k > 0 ? (uint64_t)k : 0;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	if (c && !skipping) {
		if (src)
			src_top_add(&top, src, src_n);
		src_top_take(&top, c, &kept);
	}
	free(src);
	src = NULL;
	free(skipname);
	skipname = NULL;
	sqlite3_finalize(st);
	st = NULL;

	if (s->version >= 6 || store__has_blocks(db)) {
		ret = stats_seen_v6(s, v, count, now_ns - ELOG_STATS_WINDOW_NS, err);
		if (ret != 0)
			goto fail_set;
		goto done;
	}
	rc = stats_window_start(s, now_ns - ELOG_STATS_WINDOW_NS, max_id, &window);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, SQL_STATS_SEEN, -1, &seen, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(db, SQL_STATS_RECENT, -1, &recent, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	for (i = 0; i < count; i++) {
		sqlite3_bind_text(seen, 1, v[i].name, -1, SQLITE_STATIC);
		rc = sqlite3_step(seen);
		if (rc == SQLITE_ROW) {
			v[i].first_ns = sqlite3_column_int64(seen, 0);
			v[i].last_ns = sqlite3_column_int64(seen, 1);
		}
		store__stmt_done(seen);
		if (rc != SQLITE_ROW)
			goto fail;
		if (window > max_id)
			continue;
		sqlite3_bind_text(recent, 1, v[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(recent, 2, window);
		rc = sqlite3_step(recent);
		if (rc == SQLITE_ROW)
			v[i].last_minute = (uint64_t)sqlite3_column_int64(recent, 0);
		store__stmt_done(recent);
		if (rc != SQLITE_ROW)
			goto fail;
	}
	sqlite3_finalize(seen);
	sqlite3_finalize(recent);
done:
	if (in_txn)
		sqlite3_exec(db, "COMMIT;", NULL, NULL, NULL);
	*out = v;
	*n = count;
	*omitted = skipped;
	return 0;
fail:
	ret = elog_err_set(err, sqlite_to_elog(rc), "cannot read history '%s': %s", elog_store_path(s),
			   sqlite3_errmsg(db));
fail_set:
	sqlite3_finalize(st);
	sqlite3_finalize(seen);
	sqlite3_finalize(recent);
	if (in_txn && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK;", NULL, NULL, NULL);
	free(src);
	free(skipname);
	for (i = 0; i < top.k; i++)
		free(top.name[i]);
	elog_component_stats_free(v, count);
	return ret;
}
