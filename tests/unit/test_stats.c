/* test_stats.c — elog_store_stats (`elog ps`): the component_stats summary kept by
 * elog_store_insert (duplicates not counted, many keys in one transaction), sources cut to the
 * busiest 16, first/last seen, and the window of the last minute. */
#include <stdio.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/record.h"
#include "store/store.h"
#include "store/seal.h"
#include "common/util.h"
#include "unit.h"

#define S 1000000000LL

static struct elog_store *open_mem(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;

	elog_err_clear(&err);
	CHECK_INT(elog_store_open(&s, ":memory:", 0, &err), 0);
	return s;
}

static void rec(struct elog_record *r, const char *comp, const char *src, int level,
		int64_t arrival, const char *dedupe)
{
	memset(r, 0, sizeof(*r));
	r->component = (char *)comp;
	r->source = (char *)src;
	r->level = level;
	r->msg = (char *)"m";
	r->arrival_ns = arrival;
	r->dedupe_key = (char *)dedupe;
}

static const struct elog_component_stats *find(const struct elog_component_stats *v, size_t n,
					       const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, name) == 0)
			return &v[i];
	return NULL;
}

/* n records: record i of component "c<i % distinct>" (four digits), source y or x, level
 * i % 6, arrival base + i * step; names holds the names. */
struct named_recs {
	struct elog_record *r;
	char (*names)[16];
};

static struct named_recs named_recs(size_t n, size_t distinct, int64_t base, int64_t step)
{
	struct named_recs x = { xcalloc(n, sizeof(*x.r)), xcalloc(n, 16) };

	for (size_t i = 0; i < n; i++) {
		snprintf(x.names[i], 16, "c%04u", (unsigned)(i % distinct));
		rec(&x.r[i], x.names[i], i % 2 ? "x" : "y", (int)(i % 6), base + (int64_t)i * step,
		    NULL);
	}
	return x;
}

static void named_recs_free(struct named_recs *x)
{
	free(x->r);
	free(x->names);
}

/* Duplicates (a dedupe key already stored) are not counted; first/last are arrival times. */
static void test_counts_and_duplicates(void)
{
	struct elog_store *s = open_mem();
	struct elog_record r[4];
	struct elog_component_stats *v = NULL;
	const struct elog_component_stats *a;
	struct elog_err err;
	uint64_t omitted = 1;
	size_t n = 0, stored = 0;
	int64_t now = elog_now_ns();

	if (!s)
		return;
	elog_err_clear(&err);
	rec(&r[0], "a", "send", ELOG_LEVEL_ERROR, now - 5 * S, "k1");
	rec(&r[1], "a", "send", ELOG_LEVEL_INFO, now - 4 * S, NULL);
	rec(&r[2], "b", "tail", ELOG_LEVEL_WARN, now - 3 * S, NULL);
	CHECK_INT(elog_store_insert(s, r, 3, &stored, &err), 0);
	rec(&r[0], "a", "send", ELOG_LEVEL_ERROR, now - 2 * S, "k1");   /* a duplicate */
	rec(&r[1], "a", "cron", ELOG_LEVEL_INFO, now - 1 * S, NULL);
	CHECK_INT(elog_store_insert(s, r, 2, &stored, &err), 0);
	CHECK_INT(stored, 1);
	CHECK_INT(elog_store_stats(s, now, &v, &n, &omitted, &err), 0);
	CHECK_INT(n, 2);
	CHECK_INT(omitted, 0);
	a = find(v, n, "a");
	CHECK(a != NULL);
	if (a) {
		CHECK_INT(a->count, 3);
		CHECK_INT(a->levels[ELOG_LEVEL_ERROR], 1);
		CHECK_INT(a->levels[ELOG_LEVEL_INFO], 2);
		CHECK_INT(a->first_ns, now - 5 * S);
		CHECK_INT(a->last_ns, now - 1 * S);
		CHECK_INT(a->last_minute, 3);
		CHECK_INT(a->nsources, 2);
		if (a->nsources == 2) {
			CHECK_STR(a->sources[0], "send");   /* 2 records, then cron's 1 */
			CHECK_STR(a->sources[1], "cron");
		}
	}
	CHECK_STR(v[0].name, "a");
	CHECK_STR(v[1].name, "b");
	elog_component_stats_free(v, n);
	elog_store_close(s);
}

/* One transaction of more distinct keys than the insert's table holds (it is written out
 * when 3/4 full): every key counted once per record. */
static void test_many_keys(void)
{
	struct elog_store *s = open_mem();
	struct named_recs x;
	struct elog_component_stats *v = NULL;
	struct elog_err err;
	uint64_t omitted = 0, total = 0;
	size_t n = 0, i;
	int ok = 1;

	if (!s)
		return;
	elog_err_clear(&err);
	x = named_recs(3000, 700, 0, 0);
	CHECK_INT(elog_store_insert(s, x.r, 3000, NULL, &err), 0);
	CHECK_INT(elog_store_stats(s, elog_now_ns(), &v, &n, &omitted, &err), 0);
	CHECK_INT(n, 700);
	for (i = 0; i < n; i++) {
		total += v[i].count;
		if (v[i].count != (i < 3000 % 700 ? 5u : 4u))
			ok = 0;
	}
	CHECK(ok);
	CHECK_INT(total, 3000);
	elog_component_stats_free(v, n);
	named_recs_free(&x);
	elog_store_close(s);
}

/* More than 16 sources: the busiest 16 are kept, most records first, the rest counted. */
static void test_sources_cut(void)
{
	struct elog_store *s = open_mem();
	struct elog_record r[300];
	char src[20][8];
	struct elog_component_stats *v = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	size_t n = 0, k = 0, i, j;

	if (!s)
		return;
	elog_err_clear(&err);
	/* source sNN gets NN + 1 records */
	for (i = 0; i < 20; i++) {
		snprintf(src[i], sizeof(src[i]), "s%02zu", i);
		for (j = 0; j <= i && k < 300; j++)
			rec(&r[k++], "a", src[i], ELOG_LEVEL_INFO, 0, NULL);
	}
	CHECK_INT(elog_store_insert(s, r, k, NULL, &err), 0);
	CHECK_INT(elog_store_stats(s, elog_now_ns(), &v, &n, &omitted, &err), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_INT(v[0].nsources, ELOG_STATS_MAX_SOURCES);
		CHECK_INT(v[0].sources_omitted, 20 - ELOG_STATS_MAX_SOURCES);
		CHECK_STR(v[0].sources[0], "s19");
		CHECK_STR(v[0].sources[15], "s04");
	}
	elog_component_stats_free(v, n);
	elog_store_close(s);
}

/* last_minute: the records that arrived in the 60 s before now, found by id. */
static void test_window(void)
{
	struct elog_store *s = open_mem();
	struct elog_record r[10];
	struct elog_component_stats *v = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	size_t n = 0, i;
	int64_t now = elog_now_ns();

	if (!s)
		return;
	elog_err_clear(&err);
	for (i = 0; i < 10; i++)   /* arrivals 90 s ago .. 0 s ago, 10 s apart */
		rec(&r[i], i % 2 ? "odd" : "even", "send", ELOG_LEVEL_INFO,
		    now - (int64_t)(90 - 10 * i) * S, NULL);
	CHECK_INT(elog_store_insert(s, r, 10, NULL, &err), 0);
	CHECK_INT(elog_store_stats(s, now, &v, &n, &omitted, &err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		/* within 60 s: i = 3..9 (30 s ago .. now); even 4, 6, 8; odd 3, 5, 7, 9 */
		CHECK_STR(v[0].name, "even");
		CHECK_INT(v[0].last_minute, 3);
		CHECK_INT(v[1].last_minute, 4);
		CHECK_INT(v[0].count, 5);
	}
	elog_component_stats_free(v, n);
	/* a minute later nothing is recent */
	CHECK_INT(elog_store_stats(s, now + 61 * S, &v, &n, &omitted, &err), 0);
	for (i = 0; i < n; i++)
		CHECK_INT(v[i].last_minute, 0);
	elog_component_stats_free(v, n);
	elog_store_close(s);
}

/* 4096 components in one sealed block (a burst of new names), the block decoded once for all
 * of them: each one's first and last seen are its record's arrival, and the stats come fast
 * (a decode per component and end, 8192 of them, took `ps` past its deadline under ASan). */
static void test_components_in_one_block(void)
{
	struct elog_store *s = open_mem();
	struct named_recs x;
	struct elog_component_stats *v = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	size_t n = 0, i, bad = 0;
	int64_t sealed = 0, base = 1700000000 * S, t0;

	if (!s)
		return;
	elog_err_clear(&err);
	x = named_recs(4096, 4096, base, 1000);
	CHECK_INT(elog_store_insert(s, x.r, 4096, NULL, &err), 0);
	CHECK_INT(elog_store_seal_now(s, 0, 1, &sealed, &err), 0);
	CHECK_INT(sealed, 4096);
	t0 = elog_now_ns();
	CHECK_INT(elog_store_stats(s, base + 10 * S, &v, &n, &omitted, &err), 0);
	t0 = elog_now_ns() - t0;
	CHECK_INT(n, 4096);
	for (i = 0; i < n; i++)
		bad += v[i].first_ns != base + (int64_t)i * 1000 || v[i].last_ns != v[i].first_ns ||
		       v[i].count != 1;
	CHECK_INT(bad, 0);
	/* one decode takes about a millisecond here, 8192 took seconds */
	if (t0 > 2 * S) {
		fprintf(stderr, "  stats of 4096 components in one block took %.2f s\n",
			(double)t0 / 1e9);
		CHECK(!"stats decode the block once");
	}
	elog_component_stats_free(v, n);
	named_recs_free(&x);
	elog_store_close(s);
}

/* An empty history: no components. */
static void test_empty(void)
{
	struct elog_store *s = open_mem();
	struct elog_component_stats *v = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	size_t n = 9;

	if (!s)
		return;
	elog_err_clear(&err);
	CHECK_INT(elog_store_stats(s, elog_now_ns(), &v, &n, &omitted, &err), 0);
	CHECK_INT(n, 0);
	elog_component_stats_free(v, n);
	elog_store_close(s);
}

UNIT_MAIN({ "counts_and_duplicates", test_counts_and_duplicates },
	  { "many_keys", test_many_keys },
	  { "sources_cut", test_sources_cut },
	  { "window", test_window },
	  { "components_in_one_block", test_components_in_one_block },
	  { "empty", test_empty })
