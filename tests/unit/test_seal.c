/* test_seal.c — the hot table and sealed blocks (store/seal.h, schema 6): a history sealed
 * into many blocks reads back exactly like the same history never sealed (ids, order, every
 * field) through every filter kind, limit and tail; dedupe keys survive sealing; removals
 * (retention, prune -c) through blocks; stats and lookups; a schema 5 file upgraded in place;
 * a reader while blocks are sealed sees neither a gap nor a duplicate. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE    /* memmem */
#endif
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "common/util.h"
#include "store/store.h"
#include "store/retention.h"
#include "store/seal.h"
#include "store/spans.h"
#include "unit.h"
#include "unit_tmp.h"
#include "unit_schema5.h"

static const char *comps[] = { "api", "db", "web", "worker\tx", "rare" };

/* Records [from, from + n) of a deterministic history: record i has component, level, source,
 * ts (not always increasing), message and fields from i; one in 7 has a dedupe key. */
static struct elog_record *make_recs(int from, int n, int64_t base)
{
	struct elog_record *ra = xcalloc((size_t)n, sizeof(*ra));
	char buf[256];

	for (int k = 0; k < n; k++) {
		int i = from + k;

		elog_record_init(&ra[k]);
		ra[k].arrival_ns = base + (int64_t)i * 1000000;
		ra[k].ts_ns = ra[k].arrival_ns - (i % 5) * 3000000;
		ra[k].level = i % 6;
		ra[k].component = xstrdup(i % 997 == 3 ? comps[4] : comps[i % 4]);
		snprintf(buf, sizeof(buf), "request %d took %d ms%s", i, i % 100,
			 i % 50 == 0 ? " Needle" : "");
		ra[k].msg = xstrdup(buf);
		snprintf(buf, sizeof(buf), i % 3 ? "{\"user\":\"u%d\",\"n\":%d}" : "", i % 11, i);
		ra[k].fields = xstrdup(buf);
		snprintf(buf, sizeof(buf), "host%d", i % 3);
		ra[k].source = xstrdup(buf);
		if (i % 7 == 0) {
			snprintf(buf, sizeof(buf), "key-%d", i);
			ra[k].dedupe_key = xstrdup(buf);
		}
	}
	return ra;
}

/* Inserts records [from, from + n) of make_recs into both stores. */
static void fill(struct elog_store *a, struct elog_store *b, int from, int n, int64_t base)
{
	struct elog_record *ra = make_recs(from, n, base), *rb = make_recs(from, n, base);
	struct elog_err err;

	CHECK_INT(elog_store_insert(a, ra, (size_t)n, NULL, &err), 0);
	CHECK_INT(elog_store_insert(b, rb, (size_t)n, NULL, &err), 0);
	for (int k = 0; k < n; k++)
		CHECK_INT(ra[k].id, rb[k].id);
	elog_records_free(ra, (size_t)n);
	elog_records_free(rb, (size_t)n);
}

/* Every record a query gives, as one text (every field). */
static int dump_fn(void *ctx, const struct elog_record *r)
{
	struct elog_buf *b = ctx;

	elog_buf_addf(b, "%lld|%lld|%lld|%d|%s|%s|%s|%s|%s\n", (long long)r->id,
		      (long long)r->ts_ns, (long long)r->arrival_ns, r->level, r->component, r->msg,
		      r->fields, r->source, r->dedupe_key);
	return 0;
}

static size_t lines(const struct elog_buf *b)
{
	size_t n = 0;

	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\n';
	return n;
}

/* The same query on both stores must give the same text. */
static void same(struct elog_store *sealed, struct elog_store *plain, const struct elog_filter *f,
		 int64_t max_id, const char *what, size_t min_lines)
{
	struct elog_buf x = ELOG_BUF_INIT, y = ELOG_BUF_INIT;
	struct elog_err err;

	CHECK_INT(elog_store_query(sealed, f, max_id, dump_fn, &x, &err), 0);
	CHECK_INT(elog_store_query(plain, f, max_id, dump_fn, &y, &err), 0);
	if (x.len != y.len || (x.len && memcmp(x.data, y.data, x.len) != 0)) {
		unit_failed_checks++;
		fprintf(stderr, "  %s: sealed gives %zu records, plain %zu\n", what, lines(&x),
			lines(&y));
	}
	if (lines(&y) < min_lines) {
		unit_failed_checks++;
		fprintf(stderr, "  %s: %zu records, expected at least %zu\n", what, lines(&y),
			min_lines);
	}
	elog_buf_release(&x);
	elog_buf_release(&y);
}

/* The one number a query gives (-1 when it fails). */
static int64_t one_int(struct elog_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(elog_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int64_t count_blocks(struct elog_store *s)
{
	return one_int(s, "SELECT count(*) FROM blocks");
}

#define N 20000
#define BASE 1700000000000000000LL

/* sealed: filled in batches, a seal after each (blocks of many sizes, keep 300 hot rows);
 * plain: the same records, never sealed. */
static void two_stores(struct elog_store **sealed, struct elog_store **plain)
{
	struct elog_err err;
	int from = 0, step = 1;

	CHECK_INT(elog_store_open(sealed, tmp_path("sealed.db"), 0, &err), 0);
	CHECK_INT(elog_store_open(plain, tmp_path("plain.db"), 0, &err), 0);
	while (from < N) {
		int n = step * 37 % 2900 + 1;
		int64_t k = 0;

		if (from + n > N)
			n = N - from;
		fill(*sealed, *plain, from, n, BASE);
		from += n;
		step++;
		CHECK_INT(elog_store_seal_now(*sealed, 300, step % 3 ? 1 : 1000, &k, &err), 0);
	}
}

/* Every kind of query gives the same on a (sealed) as on b (never sealed). */
static void check_queries(struct elog_store *a, struct elog_store *b)
{
	struct elog_filter f;
	struct elog_err err;
	int64_t max = 0;

	CHECK_INT(elog_store_max_id(a, &max, &err), 0);
	CHECK_INT(max, N);

	elog_filter_init(&f);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "everything", N);
	same(a, b, &f, 12345, "max_id", 12345);
	same(a, b, &f, 0, "max_id 0", 0);
	f.after_id = 777;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "after_id", N - 777);
	same(a, b, &f, 15000, "after_id and max_id", 15000 - 777);
	f.limit = 100;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "after_id, limit", 100);
	f.after_id = 0;
	f.limit = 5000;
	same(a, b, &f, 9000, "limit 5000 up to 9000", 5000);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	elog_filter_add_components(&f, "db", NULL);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c db", 4000);
	f.limit = 100;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c db -n 100", 100);
	f.limit = 7000;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c db -n 7000", 4000);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	elog_filter_add_components(&f, "rare", NULL);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c rare", 15);
	f.limit = 3;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c rare -n 3", 3);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	elog_filter_add_components(&f, "api,worker\tx", NULL);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "-c api,worker<tab>x", 9000);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	elog_filter_add_exclude_components(&f, "api,db,web", NULL);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "exclude three", 4000);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	f.level_mask = (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_FATAL);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "levels", 6000);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	f.since_ns = BASE + 5000LL * 1000000;
	f.until_ns = BASE + 6000LL * 1000000;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "1 s window", 990);
	f.limit = 10;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "1 s window, limit", 10);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, "request 1999 ", &err), 0);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "a literal", 1);
	elog_filter_clear(&f);
	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, "Needle|u7\\b", &err), 0);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "alternation", 1000);
	f.limit = 50;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "alternation, limit", 50);
	CHECK_INT(elog_filter_set_exclude(&f, "took 1", &err), 0);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "alternation, exclude, limit", 50);
	elog_filter_clear(&f);
	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, "(?i)needle", &err), 0);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "caseless", 390);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	f.tail = 5;
	same(a, b, &f, ELOG_ID_UNBOUNDED, "tail 5", 25);
	f.tail = 3000;
	same(a, b, &f, 17000, "tail 3000 up to 17000", 9000);
	elog_filter_add_exclude_components(&f, "web", NULL);
	CHECK_INT(elog_filter_set_pattern(&f, "took 4", &err), 0);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "tail, exclude, pattern", 500);
	elog_filter_clear(&f);
}

static void test_read_back(void)
{
	struct elog_store *a = NULL, *b = NULL;

	tmp_setup();
	two_stores(&a, &b);
	if (a && b) {
		CHECK(count_blocks(a) > 10);
		CHECK_INT(count_blocks(b), 0);
		check_queries(a, b);
	}
	elog_store_close(a);
	elog_store_close(b);
	tmp_cleanup();
}

static int64_t count_rows(struct elog_store *s)
{
	return one_int(s, "SELECT count(*) FROM records");
}

/* The copies of the hot rows a sealing insert needs (serve's writer keeps them): the records
 * of a batch above what it sealed join them, those it sealed leave. */
struct hot_copies {
	struct elog_record *r;
	size_t n, cap;
};

static void hot_update(struct hot_copies *h, const struct elog_record *recs, size_t n,
		       int64_t through)
{
	size_t k = 0;

	if (through > 0) {
		CHECK(h->n == 0 || h->r[h->n - 1].id <= through);   /* every hot row sealed */
		elog_records_free(h->r, h->n);
		h->r = NULL;
		h->n = h->cap = 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct elog_record *c;

		if (recs[i].id <= through || recs[i].id == 0)
			continue;
		if (h->n == h->cap) {
			h->cap = h->cap ? 2 * h->cap : 1024;
			h->r = xrealloc(h->r, h->cap * sizeof(*h->r));
		}
		c = &h->r[h->n++];
		*c = recs[i];
		c->component = xstrdup(recs[i].component);
		c->msg = xstrdup(recs[i].msg);
		c->fields = xstrdup(recs[i].fields);
		c->source = xstrdup(recs[i].source);
		c->dedupe_key = xstrdup(recs[i].dedupe_key ? recs[i].dedupe_key : "");
		k++;
	}
	(void)k;
}

/*
 * elog_store_insert_sealing, as serve's writer uses it under a burst: batches of many sizes go
 * into a through the sealing insert (whole blocks sealed in the batch's own transaction, the
 * newest records short of a block left hot) and into b as rows; every query gives the same,
 * the hot table holds exactly the copies, duplicates are found in blocks so sealed, and copies
 * that are not the hot table (one missing) make it insert rows only.
 */
static void test_insert_sealing(void)
{
	static const int sizes[] = { 5000, 300, 9000, 4096, 100, 1504 };
	struct elog_store *a = NULL, *b = NULL;
	struct hot_copies hot = { NULL, 0, 0 };
	struct elog_err err;
	int from = 0, sealed_batches = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&a, tmp_path("sealing.db"), 0, &err), 0);
	CHECK_INT(elog_store_open(&b, tmp_path("rows.db"), 0, &err), 0);
	if (!a || !b)
		goto out;
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		int n = sizes[z];
		struct elog_record *ra = make_recs(from, n, BASE), *rb = make_recs(from, n, BASE);
		size_t sa = 0, sb = 0, nhot = hot.n;
		int64_t through = -1;

		/* the fourth batch: copies without their first row are not the hot table (it is
		 * read back and sealed all the same) */
		if (z == 3 && nhot > 0)
			nhot--;
		CHECK_INT(elog_store_insert_sealing(a, ra, (size_t)n, z == 3 ? hot.r + 1 : hot.r,
						    nhot, &through, &sa, NULL, NULL, &err), 0);
		CHECK_INT(elog_store_insert(b, rb, (size_t)n, &sb, &err), 0);
		CHECK_INT(sa, sb);
		for (int k = 0; k < n; k++)
			CHECK_INT(ra[k].id, rb[k].id);
		if (n < 4096)
			CHECK_INT(through, 0);
		else
			CHECK(through > 0);
		sealed_batches += through > 0;
		hot_update(&hot, ra, (size_t)n, through);
		CHECK_INT(count_rows(a), (int64_t)hot.n);
		elog_records_free(ra, (size_t)n);
		elog_records_free(rb, (size_t)n);
		from += n;
	}
	CHECK_INT(from, N);
	CHECK_INT(sealed_batches, 3);    /* 5000, 9000 (after 300 + 904 hot), 4096 */
	CHECK(count_blocks(a) >= 3);
	check_queries(a, b);
	{
		/* the first 4096 again: those with a key (in blocks now) are duplicates */
		struct elog_record *ra = make_recs(0, 4096, BASE), *rb = make_recs(0, 4096, BASE);
		size_t sa = 0, sb = 0;
		int64_t through = -1;

		CHECK_INT(elog_store_insert_sealing(a, ra, 4096, hot.r, hot.n, &through, &sa, NULL,
						    NULL, &err), 0);
		CHECK_INT(elog_store_insert(b, rb, 4096, &sb, &err), 0);
		CHECK_INT(sa, sb);
		CHECK_INT(sa, 4096 - 586);     /* 0, 7, ..., 4095: 586 keys */
		for (int k = 0; k < 4096; k++)
			CHECK_INT(ra[k].id, rb[k].id);
		hot_update(&hot, ra, 4096, through);
		elog_records_free(ra, 4096);
		elog_records_free(rb, 4096);
	}
	{
		/* a row removed from the middle of the hot table (as `elog prune -c` does): the
		 * copies are stale, the delete counts one row less, the table is read back and
		 * sealed without it */
		struct elog_record *ra = make_recs(50000, 4096, BASE);
		struct elog_filter f;
		struct elog_buf all = ELOG_BUF_INIT;
		size_t sa = 0;
		int64_t through = -1, gone = hot.n > 2 ? hot.r[hot.n / 2].id : 0;
		char sql[96], needle[64];

		CHECK(gone > 0);
		snprintf(sql, sizeof(sql), "DELETE FROM records WHERE id = %lld", (long long)gone);
		CHECK_INT(sqlite3_exec(elog_store_db(a), sql, NULL, NULL, NULL), SQLITE_OK);
		CHECK_INT(elog_store_insert_sealing(a, ra, 4096, hot.r, hot.n, &through, &sa, NULL,
						    NULL, &err), 0);
		CHECK(through > gone);
		CHECK_INT(sa, 4096);
		elog_filter_init(&f);
		CHECK_INT(elog_store_query(a, &f, ELOG_ID_UNBOUNDED, dump_fn, &all, &err), 0);
		snprintf(needle, sizeof(needle), "\n%lld|", (long long)gone);
		CHECK(all.len > 0 && !memmem(all.data, all.len, needle, strlen(needle)));
		snprintf(needle, sizeof(needle), "\n%lld|", (long long)gone + 1);
		CHECK(all.len > 0 && memmem(all.data, all.len, needle, strlen(needle)));
		elog_buf_release(&all);
		elog_filter_clear(&f);
		hot_update(&hot, ra, 4096, through);
		CHECK_INT(count_rows(a), (int64_t)hot.n);
		elog_records_free(ra, 4096);
	}
	{
		/* more than 16384 hot rows and no copies: not read back, rows (the sealer's) */
		struct elog_record *ra = make_recs(N, 17000, BASE), *rb;
		size_t sa = 0;
		int64_t through = -1, hot_before;

		CHECK_INT(elog_store_insert(a, ra, 17000, &sa, &err), 0);
		elog_records_free(ra, 17000);
		hot_before = count_rows(a);
		CHECK(hot_before > 16384);
		rb = make_recs(N + 17000, 5000, BASE);
		CHECK_INT(elog_store_insert_sealing(a, rb, 5000, NULL, 0, &through, &sa, NULL, NULL,
						    &err), 0);
		CHECK_INT(through, 0);
		CHECK_INT(sa, 5000);
		CHECK_INT(count_rows(a), hot_before + (int64_t)sa);
		elog_records_free(rb, 5000);
	}
out:
	elog_records_free(hot.r, hot.n);
	elog_store_close(a);
	elog_store_close(b);
	tmp_cleanup();
}

static void test_dedupe_across_sealing(void)
{
	struct elog_store *a = NULL, *b = NULL;
	struct elog_record r[2];
	struct elog_err err;
	size_t stored = 9;
	int found = 0;

	tmp_setup();
	two_stores(&a, &b);
	if (!a || !b)
		goto out;
	/* key-7 is sealed; key-new is new */
	CHECK_INT(elog_store_dedupe_exists(a, "key-7", &found, &err), 0);
	CHECK_INT(found, 1);
	for (int i = 0; i < 2; i++) {
		elog_record_init(&r[i]);
		r[i].component = xstrdup("api");
		r[i].msg = xstrdup("again");
		r[i].dedupe_key = xstrdup(i ? "key-new" : "key-7");
	}
	CHECK_INT(elog_store_insert(a, r, 2, &stored, &err), 0);
	CHECK_INT(stored, 1);
	CHECK_INT(r[0].id, 0);
	CHECK_INT(r[1].id, N + 1);
	for (int i = 0; i < 2; i++)
		elog_record_clear(&r[i]);
out:
	elog_store_close(a);
	elog_store_close(b);
	tmp_cleanup();
}

/* Stats, history info and lookups agree with the unsealed history. */
static void test_stats_and_lookups(void)
{
	struct elog_store *a = NULL, *b = NULL;
	struct elog_component_stats *va = NULL, *vb = NULL;
	struct elog_history_info ha, hb;
	struct elog_err err;
	size_t na = 0, nb = 0;
	uint64_t om = 0, ca = 0, cb = 0;
	int64_t fa = 0, fb = 0, ia = 0, ib = 0;
	int64_t now = BASE + (int64_t)N * 1000000 + 20LL * 1000000000;

	tmp_setup();
	two_stores(&a, &b);
	if (!a || !b)
		goto out;
	CHECK_INT(elog_store_stats(a, now, &va, &na, &om, &err), 0);
	CHECK_INT(elog_store_stats(b, now, &vb, &nb, &om, &err), 0);
	CHECK_INT(na, nb);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECK_STR(va[i].name, vb[i].name);
		CHECK_INT(va[i].count, vb[i].count);
		CHECK_INT(va[i].first_ns, vb[i].first_ns);
		CHECK_INT(va[i].last_ns, vb[i].last_ns);
		CHECK_INT(va[i].last_minute, vb[i].last_minute);
		CHECK(va[i].last_minute > 0);
	}
	elog_component_stats_free(va, na);
	elog_component_stats_free(vb, nb);
	CHECK_INT(elog_store_history_info(a, &ha, &err), 0);
	CHECK_INT(elog_store_history_info(b, &hb, &err), 0);
	CHECK_INT(ha.records, N);
	CHECK_INT(ha.first_id, hb.first_id);
	CHECK_INT(ha.last_id, hb.last_id);
	CHECK_INT(ha.first_ns, hb.first_ns);
	CHECK_INT(ha.last_ns, hb.last_ns);
	CHECK(ha.used_bytes < hb.used_bytes);   /* the scratch codec does not compress */
	for (int64_t t = BASE - 5; t < BASE + (int64_t)(N + 10) * 1000000; t += 777777777) {
		CHECK_INT(elog_store_id_before(a, t, &ia, &err), 0);
		CHECK_INT(elog_store_id_before(b, t, &ib, &err), 0);
		CHECK_INT(ia, ib);
	}
	for (int64_t after = 0; after < N; after += 3333) {
		CHECK_INT(elog_store_count_after(a, after, "key-1", 5000, &ca, &fa, &err), 0);
		CHECK_INT(elog_store_count_after(b, after, "key-1", 5000, &cb, &fb, &err), 0);
		CHECK_INT(ca, cb);
		CHECK_INT(fa, fb);
	}
out:
	elog_store_close(a);
	elog_store_close(b);
	tmp_cleanup();
}

/* Removals through blocks: up to an id (a block cut in two), of one component (blocks
 * written again), by chunks (whole blocks); keys go with their records. */
static void test_remove(void)
{
	struct elog_store *a = NULL, *b = NULL;
	struct elog_filter f;
	struct elog_err err;
	int64_t k1 = 0, k2 = 0, through = 0;
	int found = 1;

	tmp_setup();
	two_stores(&a, &b);
	if (!a || !b)
		goto out;
	CHECK_INT(elog_store_remove_oldest(a, NULL, 5001, INT64_MAX, &k1, &err), 0);
	CHECK_INT(elog_store_remove_oldest(b, NULL, 5001, INT64_MAX, &k2, &err), 0);
	CHECK_INT(k1, 5001);
	CHECK_INT(k2, 5001);
	CHECK_INT(elog_store_remove_oldest(a, "db", 12000, INT64_MAX, &k1, &err), 0);
	CHECK_INT(elog_store_remove_oldest(b, "db", 12000, INT64_MAX, &k2, &err), 0);
	CHECK_INT(k1, k2);
	CHECK(k1 > 1000);
	elog_filter_init(&f);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "after removals", 13000);
	f.after_id = 10;
	CHECK_INT(elog_store_removed_for(a, &f, &through, &err), 0);
	CHECK_INT(through, 11998);    /* the last db record up to 12000 (ids 2 mod 4) */
	CHECK_INT(elog_store_removed_for(b, &f, &through, &err), 0);
	CHECK_INT(through, 11998);
	elog_filter_clear(&f);
	CHECK_INT(elog_store_dedupe_exists(a, "key-700", &found, &err), 0);
	CHECK_INT(found, 0);
	CHECK_INT(elog_store_dedupe_exists(a, "key-7007", &found, &err), 0);
	CHECK_INT(found, 1);     /* 7007 % 4 == 3: worker, kept */
	/* by chunks: whole blocks, oldest first, never fewer than asked */
	CHECK_INT(elog_store_remove_oldest(a, NULL, INT64_MAX, 10, &k1, &err), 0);
	CHECK(k1 >= 10);
	CHECK_INT(elog_store_remove_oldest(b, NULL, INT64_MAX, k1, &k2, &err), 0);
	CHECK_INT(k2, k1);
	elog_filter_init(&f);
	same(a, b, &f, ELOG_ID_UNBOUNDED, "after a chunk", 1000);
	elog_filter_clear(&f);
out:
	elog_store_close(a);
	elog_store_close(b);
	tmp_cleanup();
}

/* A reader inside one query while blocks are sealed on another connection, and a reader
 * going through the history a page at a time with sealing between pages: every id once. */
struct pager {
	struct elog_store *w;
	int64_t last, count;
	int bad, sealed;
};

static int page_fn(void *ctx, const struct elog_record *r)
{
	struct pager *p = ctx;
	struct elog_err err;
	int64_t k = 0;

	if (r->id != p->last + 1)
		p->bad++;
	p->last = r->id;
	p->count++;
	/* mid-query: another connection seals (the reader's snapshot holds) */
	if (p->count % 1500 == 0 && elog_store_seal_now(p->w, 0, 1, &k, &err) == 0 && k > 0)
		p->sealed++;
	return p->count % 400 == 0 ? 7 : 0;    /* end of a page */
}

static void test_reader_during_sealing(void)
{
	struct elog_store *w = NULL, *r = NULL, *plain = NULL;
	struct elog_filter f;
	struct elog_err err;
	struct pager p = { NULL, 0, 0, 0, 0 };
	int rc;

	tmp_setup();
	CHECK_INT(elog_store_open(&w, tmp_path("h.db"), 0, &err), 0);
	CHECK_INT(elog_store_open(&plain, tmp_path("p.db"), 0, &err), 0);
	if (!w || !plain)
		goto out;
	fill(w, plain, 0, 12000, BASE);
	CHECK_INT(elog_store_open(&r, tmp_path("h.db"), ELOG_STORE_READONLY, &err), 0);
	if (!r)
		goto out;
	p.w = w;
	elog_filter_init(&f);
	do {
		f.after_id = p.last;
		rc = elog_store_query(r, &f, 12000, page_fn, &p, &err);
		if (p.count == 6000)
			fill(w, plain, 12000, 5000, BASE);   /* more, past max_id */
	} while (rc == 7);
	CHECK_INT(rc, 0);
	CHECK_INT(p.bad, 0);
	CHECK_INT(p.count, 12000);
	CHECK_INT(p.last, 12000);
	CHECK(p.sealed >= 2);
	CHECK(count_blocks(w) >= 2);
	elog_filter_clear(&f);
out:
	elog_store_close(r);
	elog_store_close(w);
	elog_store_close(plain);
	tmp_cleanup();
}

/* A schema 5 history (records with its three indexes, dedupe keys in records) upgraded in
 * place on the first read-write open; a read-only reader of it before works as before. */
static void test_upgrade_v5(void)
{
	const char *path;
	struct elog_store *s = NULL, *ro = NULL;
	struct elog_record r;
	struct elog_filter f;
	struct elog_buf out = ELOG_BUF_INIT;
	struct elog_err err;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t stored = 9;
	int found = 0;

	tmp_setup();
	path = tmp_path("v5.db");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
		UNIT_SCHEMA5_SQL
		"INSERT INTO records (ts, arrival, component, level, msg, dedupe) VALUES"
		" (5, 5, 'api', 2, 'one', NULL), (6, 6, 'db', 3, 'two', 'k2'),"
		" (7, 7, 'api', 4, 'three', 'k3');"
		"INSERT INTO component_stats VALUES ('api', '', 2, 1), ('db', '', 3, 1),"
		" ('api', '', 4, 1);"
		"INSERT INTO components (name, first_id) VALUES ('api', 1), ('db', 2);"
		"PRAGMA application_id = 1701605223; PRAGMA user_version = 5;",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* a reader of the schema 5 file (no blocks table): its records */
	CHECK_INT(elog_store_open(&ro, path, ELOG_STORE_READONLY, &err), 0);
	elog_filter_init(&f);
	if (ro)
		CHECK_INT(elog_store_query(ro, &f, ELOG_ID_UNBOUNDED, dump_fn, &out, &err), 0);
	CHECK_INT(lines(&out), 3);

	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	if (!s)
		goto out;
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s),
		"SELECT (SELECT user_version FROM pragma_user_version),"
		" (SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_%'),"
		" (SELECT group_concat(key || '=' || id, ',') FROM dedupe),"
		" (SELECT count(*) FROM blocks)", -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 6);
	CHECK_INT(sqlite3_column_int(st, 1), 0);
	CHECK_STR((const char *)sqlite3_column_text(st, 2), "k2=2,k3=3");
	CHECK_INT(sqlite3_column_int(st, 3), 0);
	sqlite3_finalize(st);
	/* the same reader goes on reading the upgraded file */
	elog_buf_reset(&out);
	if (ro)
		CHECK_INT(elog_store_query(ro, &f, ELOG_ID_UNBOUNDED, dump_fn, &out, &err), 0);
	CHECK_INT(lines(&out), 3);
	/* a key stored before the upgrade is still a duplicate */
	elog_record_init(&r);
	r.component = xstrdup("api");
	r.msg = xstrdup("again");
	r.dedupe_key = xstrdup("k3");
	CHECK_INT(elog_store_insert(s, &r, 1, &stored, &err), 0);
	CHECK_INT(stored, 0);
	elog_record_clear(&r);
	CHECK_INT(elog_store_dedupe_exists(s, "k2", &found, &err), 0);
	CHECK_INT(found, 1);
	/* sealed (keep nothing hot), then read back */
	CHECK_INT(elog_store_seal_now(s, 0, 1, NULL, &err), 0);
	CHECK_INT(count_blocks(s), 1);
	elog_buf_reset(&out);
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, dump_fn, &out, &err), 0);
	CHECK_STR(out.data, "1|5|5|2|api|one|||\n2|6|6|3|db|two|||k2\n3|7|7|4|api|three|||k3\n");
out:
	elog_filter_clear(&f);
	elog_buf_release(&out);
	elog_store_close(ro);
	elog_store_close(s);
	tmp_cleanup();
}

static int64_t pragma_int(struct elog_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(elog_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Once a burst is sealed, the pages its hot rows took go back to the file system
 * (elog_store_trim_free), a step at a time, and every record still reads back. */
static void test_trim_free(void)
{
	struct elog_store *s, *plain;
	struct elog_err err;
	int64_t pages0 = 0, pages1 = 0, freep = 0, freep0 = 0, k = 0;
	int more = 1, passes = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("t.db"), 0, &err), 0);
	CHECK_INT(elog_store_open(&plain, tmp_path("p.db"), 0, &err), 0);
	for (int i = 0; i < 160000; i += 5000)
		fill(s, plain, i, 5000, 1700000000000000000LL);
	CHECK_INT(elog_store_checkpoint(s, NULL, NULL, &err), 0);
	CHECK_INT(elog_store_seal_now(s, 0, 1, &k, &err), 0);
	CHECK_INT(k, 160000);
	pages0 = pragma_int(s, "PRAGMA page_count;");
	freep = pragma_int(s, "PRAGMA freelist_count;");
	CHECK(freep > ELOG_TRIM_MIN_FREE);   /* enough for trimming to act */
	freep0 = freep;
	while (more && passes < 1000) {
		CHECK_INT(elog_store_trim_free(s, 64, &more, &err), 0);
		passes++;
	}
	CHECK(!more);
	pages1 = pragma_int(s, "PRAGMA page_count;");
	freep = pragma_int(s, "PRAGMA freelist_count;");
	CHECK(freep <= ELOG_TRIM_MIN_FREE || freep <= pages1 / 8);
	/* all went back but the slack kept for the hot table (within a step) */
	CHECK(pages0 - pages1 >= freep0 - ELOG_TRIM_MIN_FREE - 64);
	{
		struct elog_filter f;

		elog_filter_init(&f);
		same(s, plain, &f, ELOG_ID_UNBOUNDED, "after trimming", 160000);
		elog_filter_clear(&f);
	}
	elog_store_close(plain);
	elog_store_close(s);
	tmp_cleanup();
}

UNIT_MAIN(
	{ "read_back", test_read_back },
	{ "insert_sealing", test_insert_sealing },
	{ "dedupe_across_sealing", test_dedupe_across_sealing },
	{ "stats_and_lookups", test_stats_and_lookups },
	{ "remove", test_remove },
	{ "reader_during_sealing", test_reader_during_sealing },
	{ "upgrade_v5", test_upgrade_v5 },
	{ "trim_free", test_trim_free }
)
