/* test_ingest.c — server/ingest.c over a real hub: records added one at a time are committed
 * in groups and acknowledged after their commit, in order, each with its item; ready groups
 * keep to the in-flight bounds; the first failure stops the call, and every record and item
 * is freed once, whatever happened to it. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "hub/hub.h"
#include "rpc/rpc.h"
#include "server/ingest.h"
#include "unit.h"
#include "hub_fixture.h"

static char tmpdir[256], dbpath[512];

static struct elog_hub *hub_open(void)
{
	return tmp_hub_open("ingest", NULL, tmpdir, sizeof(tmpdir), dbpath, sizeof(dbpath));
}

static void hub_close(struct elog_hub *h)
{
	tmp_hub_close(h, tmpdir);
}

static void make_record(struct elog_record *r, int i)
{
	char msg[32];

	elog_record_init(r);
	snprintf(msg, sizeof(msg), "line %d", i);
	elog_record_set(&r->component, "t", 1);
	elog_record_set(&r->msg, msg, strlen(msg));
	r->level = ELOG_LEVEL_INFO;
}

/* What the acks saw (under the call's lock). */
struct acks {
	size_t records, groups, biggest, max_inflight_seen;
	long next_seq;               /* items must come in the order they were added */
	int64_t last_id;
	int out_of_order, no_id;
};

struct item {
	long seq;
	char *owned;                 /* something to free: item_free must run once per item */
};

static int items_freed;
static pthread_mutex_t freed_mu = PTHREAD_MUTEX_INITIALIZER;

static void item_free(void *p)
{
	struct item *it = p;

	free(it->owned);
	pthread_mutex_lock(&freed_mu);
	items_freed++;
	pthread_mutex_unlock(&freed_mu);
}

static void ack(struct elog_ingest_call *ic, struct elog_ingest_group *g)
{
	struct acks *a = ic->ctx;
	const struct item *items = g->items;
	size_t i;

	a->groups++;
	if (g->in.n > a->biggest)
		a->biggest = g->in.n;
	/* this group is counted as in flight until after its ack */
	if ((size_t)ic->inf.count > a->max_inflight_seen)
		a->max_inflight_seen = (size_t)ic->inf.count;
	for (i = 0; i < g->in.n; i++) {
		if (items && items[i].seq != a->next_seq)
			a->out_of_order++;
		a->next_seq++;
		if (g->in.recs[i].id <= a->last_id)
			a->no_id++;
		a->last_id = g->in.recs[i].id;
		a->records++;
	}
}

static const struct elog_ingest_spec collect_spec = {
	.group_max = 256,
	.max_inflight = 2,
	.item_size = sizeof(struct item),
	.ack = ack,
	.item_free = item_free,
	.collect = 1,
};

/* 20,000 records added one at a time: every one acknowledged once, after its commit (it has
 * its id), in the order added, in groups of at most group_max; every item freed. */
static void test_collect_ack_in_order(void)
{
	struct elog_hub *h = hub_open();
	struct elog_ingest_call ic;
	struct elog_hub_stats st;
	struct acks a = { 0 };
	char msg[512];
	int i;

	items_freed = 0;
	CHECK_INT(elog_ingest_call_start(&ic, h, NULL, &collect_spec, &a), 0);
	for (i = 0; i < 20000; i++) {
		struct elog_record r;
		struct item it = { i, xstrdup("x") };

		make_record(&r, i);
		CHECK_INT(elog_ingest_call_add(&ic, &r, &it), 0);
	}
	CHECK_INT(elog_ingest_call_end(&ic, msg, sizeof(msg)), RPC_OK);
	CHECK_STR(msg, "");
	CHECK_INT(a.records, 20000);
	CHECK_INT(a.out_of_order, 0);
	CHECK_INT(a.no_id, 0);
	CHECK_INT(a.last_id, 20000);
	CHECK(a.biggest <= 256);
	CHECK(a.groups >= 20000 / 256);
	CHECK(a.max_inflight_seen <= 2);
	CHECK_INT(items_freed, 20000);
	elog_hub_stats(h, &st);
	CHECK_INT(st.committed, 20000);
	printf("  20,000 records in %zu groups (largest %zu)\n", a.groups, a.biggest);
	hub_close(h);
}

/* A group also ends at group_max_bytes: records of 10 KiB with a bound of 64 KiB go in
 * groups of at most 7 (the one that passes the bound is the last one taken). */
static void test_collect_bounded_in_bytes(void)
{
	static const struct elog_ingest_spec spec = {
		.group_max = 4096,
		.group_max_bytes = 64 << 10,
		.max_inflight = 1,
		.ack = ack,
		.collect = 1,
	};
	struct elog_hub *h = hub_open();
	struct elog_ingest_call ic;
	struct acks a = { 0 };
	char *big = xmalloc(10 << 10), msg[512];
	int i;

	memset(big, 'x', (10 << 10) - 1);
	big[(10 << 10) - 1] = '\0';
	CHECK_INT(elog_ingest_call_start(&ic, h, NULL, &spec, &a), 0);
	for (i = 0; i < 500; i++) {
		struct elog_record r;

		make_record(&r, i);
		elog_record_set(&r.msg, big, strlen(big));
		CHECK_INT(elog_ingest_call_add(&ic, &r, NULL), 0);
	}
	CHECK_INT(elog_ingest_call_end(&ic, msg, sizeof(msg)), RPC_OK);
	CHECK_INT(a.records, 500);
	CHECK(a.biggest <= 7);
	CHECK(a.groups >= 500 / 7);
	free(big);
	hub_close(h);
}

/* Ready groups (as elog.v1 Ingest makes them): acknowledged in submission order, never more
 * than max_inflight groups in flight nor more than max_inflight_bytes (one group alone always
 * goes), each released once by the service's release function. */
struct ready {
	struct elog_ingest_group g;
	int *released;
};

static void ready_release(struct elog_ingest_group *g)
{
	struct ready *r = (struct ready *)g;

	elog_records_free(g->in.recs, g->in.n);
	__atomic_add_fetch(r->released, 1, __ATOMIC_SEQ_CST);
	free(r);
}

static void test_ready_groups_bounded(void)
{
	static const struct elog_ingest_spec spec = {
		.max_inflight = 3,
		.max_inflight_bytes = 1000,
		.ack = ack,
	};
	struct elog_hub *h = hub_open();
	struct elog_ingest_call ic;
	struct acks a = { 0 };
	int released = 0, i, j;
	char msg[512];

	CHECK_INT(elog_ingest_call_start(&ic, h, NULL, &spec, &a), 0);
	for (i = 0; i < 200; i++) {
		struct ready *r = xcalloc(1, sizeof(*r));

		r->released = &released;
		r->g.in.n = 10;
		r->g.in.recs = xcalloc(10, sizeof(struct elog_record));
		for (j = 0; j < 10; j++)
			make_record(&r->g.in.recs[j], i * 10 + j);
		r->g.cost = i == 100 ? 5000 : 300;   /* one group over the bound alone */
		r->g.release = ready_release;
		CHECK_INT(elog_ingest_call_submit(&ic, &r->g), 0);
		pthread_mutex_lock(&ic.inf.mu);
		CHECK(ic.inf.count <= 3);
		CHECK(ic.inflight_bytes <= 1000 || ic.inf.count == 1);
		pthread_mutex_unlock(&ic.inf.mu);
	}
	CHECK_INT(elog_ingest_call_end(&ic, msg, sizeof(msg)), RPC_OK);
	CHECK_INT(a.records, 2000);
	CHECK_INT(a.groups, 200);
	CHECK_INT(a.no_id, 0);
	CHECK(a.max_inflight_seen <= 3);
	CHECK_INT(released, 200);
	hub_close(h);
}

/* A commit that fails (another connection holds the history's write lock past the busy
 * timeout) fails the call: nothing is acknowledged from then on, add refuses, end returns the
 * failure with its message, and every record and item is freed once. */
static void test_first_failure_stops_the_call(void)
{
	struct elog_hub *h = hub_open();
	struct elog_ingest_call ic;
	struct acks a = { 0 };
	sqlite3 *db = NULL;
	char msg[512];
	int i, refused = 0, added = 0, end;
	double t0 = elog_mono_ns() / 1e9;

	items_freed = 0;
	CHECK_INT(sqlite3_open(dbpath, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
	CHECK_INT(elog_ingest_call_start(&ic, h, NULL, &collect_spec, &a), 0);
	/* adds until the first commit failed (it waits for the busy timeout, 5 s) */
	for (i = 0; i < 1000000 && elog_mono_ns() / 1e9 - t0 < 30; i++) {
		struct elog_record r;
		struct item it = { i, xstrdup("y") };

		make_record(&r, i);
		if (elog_ingest_call_add(&ic, &r, &it) != 0) {
			refused++;
			break;
		}
		added++;
	}
	CHECK_INT(refused, 1);
	CHECK(elog_ingest_call_failed(&ic));
	end = elog_ingest_call_end(&ic, msg, sizeof(msg));
	CHECK(end != RPC_OK && end > 0);
	CHECK(strstr(msg, "locked") != NULL);
	printf("  failed with %d: %s (%d added, %.1f s)\n", end, msg, added,
	       elog_mono_ns() / 1e9 - t0);
	CHECK_INT(a.records, 0);
	CHECK_INT(items_freed, added + refused);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	hub_close(h);
}

UNIT_MAIN(
	{ "collect_ack_in_order", test_collect_ack_in_order },
	{ "collect_bounded_in_bytes", test_collect_bounded_in_bytes },
	{ "ready_groups_bounded", test_ready_groups_bounded },
	{ "first_failure_stops_the_call", test_first_failure_stops_the_call }
)
