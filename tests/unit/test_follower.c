/* test_follower.c — the hub's follower queue with an injected clock (elog_hub_opts.clock):
 * arrival times are the clock's; a follower's timed wait ends at the clock's deadline without
 * any real waiting; a follower whose scan reaches its deadline stops there and resumes from
 * where it stopped, losing nothing; a follower that overflows the live list is told the exact
 * id range it missed, and reading that range back from the history with its filter (as
 * server/svc_read.c does) gives every matching record once, in order, with what it then
 * receives live. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "common/util.h"
#include "hub/hub.h"
#include "store/store.h"
#include "unit.h"
#include "hub_fixture.h"

static char tmpdir[256], dbpath[512];

/* The test's clock: wall and monotonic time are what the test says; a timed wait returns at
 * once as if its deadline had come (the monotonic time jumps to it), an untimed one really
 * waits. mono_step is added at every reading of the monotonic clock. */
struct fake {
	int64_t now, mono, mono_step;
	int waits, readings;
};

static int64_t fake_now(const struct elog_clock *c)
{
	return ((struct fake *)c->ctx)->now;
}

static int64_t fake_mono(const struct elog_clock *c)
{
	struct fake *f = c->ctx;

	f->readings++;
	f->mono += f->mono_step;
	return f->mono;
}

static int fake_wait(const struct elog_clock *c, pthread_cond_t *cv, pthread_mutex_t *mu,
		     int64_t deadline)
{
	struct fake *f = c->ctx;

	if (deadline == INT64_MAX) {
		pthread_cond_wait(cv, mu);
		return 0;
	}
	f->waits++;
	if (f->mono < deadline)
		f->mono = deadline;
	return ETIMEDOUT;
}

static struct elog_hub *hub_with(struct elog_hub_opts *o, struct fake *fk, struct elog_clock *clk)
{
	clk->now_ns = fake_now;
	clk->mono_ns = fake_mono;
	clk->wait_until = fake_wait;
	clk->ctx = fk;
	o->clock = clk;
	return tmp_hub_open("follower", o, tmpdir, sizeof(tmpdir), dbpath, sizeof(dbpath));
}

static void hub_done(struct elog_hub *h)
{
	tmp_hub_close(h, tmpdir);
}

/* Commits n records (event time 0: the arrival time), component comp(i) for record i. */
static void submit(struct elog_hub *h, int first, int n, const char *(*comp)(int))
{
	struct elog_record *recs = xcalloc((size_t)n, sizeof(*recs));
	struct elog_err err;
	size_t stored = 0;
	int i;

	for (i = 0; i < n; i++) {
		char msg[32];

		elog_record_init(&recs[i]);
		snprintf(msg, sizeof(msg), "m%d", first + i);
		elog_record_set(&recs[i].component, comp(first + i), strlen(comp(first + i)));
		elog_record_set(&recs[i].msg, msg, strlen(msg));
	}
	CHECK_INT(elog_hub_submit_wait(h, recs, (size_t)n, &stored, &err), 0);
	CHECK_INT(stored, n);
	elog_records_free(recs, (size_t)n);
}

static const char *comp_ab(int i)
{
	return i % 2 ? "b" : "a";
}

static const char *comp_x_then_y(int i)
{
	return i == 3000 ? "y" : "x";
}

struct got {
	int64_t ids[8192];
	size_t n;
	int64_t arrival;
};

static int collect(void *ctx, const struct elog_record *r)
{
	struct got *g = ctx;

	if (g->n < 8192)
		g->ids[g->n] = r->id;
	g->n++;
	g->arrival = r->arrival_ns;
	return 0;
}

static int collect_wire(void *ctx, const struct elog_record *r, const void *wire, size_t len)
{
	(void)wire;
	(void)len;
	return collect(ctx, r);
}

/* The hub stamps arrival with the injected wall clock; a record without event time gets it. */
static void test_arrival_is_the_clock(void)
{
	struct fake fk = { .now = 1234567890123456789LL, .mono = 1000 };
	struct elog_hub_opts o = { 0 };
	struct elog_clock clk;
	struct elog_store *st = NULL;
	struct elog_filter f;
	struct elog_err err;
	struct got g = { .n = 0 };
	struct elog_hub *h = hub_with(&o, &fk, &clk);

	submit(h, 0, 3, comp_ab);
	elog_filter_init(&f);
	CHECK_INT(elog_store_open(&st, dbpath, ELOG_STORE_READONLY, &err), 0);
	CHECK_INT(elog_store_query(st, &f, ELOG_ID_UNBOUNDED, collect, &g, &err), 0);
	CHECK_INT(g.n, 3);
	CHECK_INT(g.arrival, 1234567890123456789LL);
	elog_store_close(st);
	elog_filter_clear(&f);
	hub_done(h);
}

/* A follower with nothing to read waits until the clock's deadline: an hour of the injected
 * clock passes at once, and the wait ends exactly at the deadline. */
static void test_wait_ends_at_the_clock_deadline(void)
{
	struct fake fk = { .now = 1, .mono = 5000 };
	struct elog_hub_opts o = { 0 };
	struct elog_clock clk;
	struct elog_follower *fol;
	struct elog_record out[4];
	struct elog_filter f;
	uint64_t missed = 0;
	int64_t mf = 0, mt = 0, live_after = -1, t0 = elog_mono_ns();
	size_t n = 9;
	struct elog_hub *h = hub_with(&o, &fk, &clk);

	elog_filter_init(&f);
	fol = elog_hub_follow(h, &f, &live_after);
	CHECK_INT(live_after, 0);
	CHECK_INT(elog_follower_next(fol, out, 4, &n, &missed, &mf, &mt, 3600LL * 1000000000),
		  0);
	CHECK_INT(n, 0);
	CHECK_INT(missed, 0);
	CHECK_INT(fk.waits, 1);
	CHECK_INT(fk.mono, 5000 + 3600LL * 1000000000);
	CHECK(elog_mono_ns() - t0 < 5LL * 1000000000);   /* no real hour went by */
	elog_follower_close(fol);
	elog_filter_clear(&f);
	hub_done(h);
}

/* 3,000 records that do not match, then one that does: with every clock reading 1 ms later
 * and a 5 ms timeout, the scan stops at its deadline (nothing returned though a match is
 * published), and the next calls resume from the record it stopped at: the match comes, with
 * no gap reported. */
static void test_scan_stops_at_deadline_and_resumes(void)
{
	struct fake fk = { .now = 1, .mono = 0 };
	struct elog_hub_opts o = { 0 };
	struct elog_clock clk;
	struct elog_follower *fol;
	struct elog_record out[4];
	struct elog_filter f;
	struct elog_err err;
	uint64_t missed = 0;
	int64_t mf = 0, mt = 0, live_after = -1;
	size_t n = 0;
	int calls = 0, r = 0;
	struct elog_hub *h = hub_with(&o, &fk, &clk);

	elog_filter_init(&f);
	CHECK_INT(elog_filter_add_components(&f, "y", &err), 0);
	fol = elog_hub_follow(h, &f, &live_after);
	submit(h, 0, 3001, comp_x_then_y);
	fk.mono_step = 1000000;
	r = elog_follower_next(fol, out, 4, &n, &missed, &mf, &mt, 5 * 1000000LL);
	CHECK_INT(r, 0);
	CHECK_INT(n, 0);
	CHECK(fk.readings < 20);      /* it stopped within the deadline, not after the scan */
	while (r == 0 && calls++ < 100)
		r = elog_follower_next(fol, out, 4, &n, &missed, &mf, &mt, 5 * 1000000LL);
	CHECK_INT(r, 1);
	CHECK_INT(n, 1);
	CHECK_INT(missed, 0);
	CHECK(calls > 1);             /* 3,000 records take several 5 ms slices */
	if (n == 1) {
		CHECK_INT(out[0].id, 3001);
		CHECK_STR(out[0].component, "y");
		elog_record_clear(&out[0]);
	}
	elog_follower_close(fol);
	elog_filter_clear(&f);
	hub_done(h);
}

/* Overflow: a follower of "a" that reads nothing while 6,000 records are committed past a live
 * list of 1,000. It gets the missed range first (every committed id from the one after its
 * registration to just before the oldest still listed), then the rest live. Reading the range
 * back from the history with its filter, as svc_read.c's backfill does, and appending the live
 * records, gives every "a" record exactly once, in id order. */
static void test_overflow_missed_range_read_back(void)
{
	struct fake fk = { .now = 1700000000000000000LL, .mono = 0 };
	struct elog_hub_opts o = { .live_records = 1000, .live_bytes = 1u << 20 };
	struct elog_clock clk;
	struct elog_follower *fol;
	static struct elog_record out[512];
	static struct got all;
	struct elog_filter f, range;
	struct elog_store *st = NULL;
	struct elog_hub_stats hs;
	struct elog_err err;
	int64_t live_after = -1, from = 0, to = 0;
	size_t reports = 0, i;
	int rounds = 0, bad = 0;
	struct elog_hub *h = hub_with(&o, &fk, &clk);

	submit(h, 0, 10, comp_ab);            /* history before the follower: ids 1..10 */
	elog_filter_init(&f);
	CHECK_INT(elog_filter_add_components(&f, "a", &err), 0);
	fol = elog_hub_follow(h, &f, &live_after);
	CHECK_INT(live_after, 10);
	for (i = 0; i < 60; i++)
		submit(h, 10 + (int)i * 100, 100, comp_ab);   /* ids 11..6010 */
	elog_hub_stats(h, &hs);
	CHECK(hs.live_records <= 1100);
	memset(&all, 0, sizeof(all));
	CHECK_INT(elog_store_open(&st, dbpath, ELOG_STORE_READONLY, &err), 0);
	for (;;) {
		uint64_t missed = 0;
		int64_t mf = 0, mt = 0;
		size_t n = 0;
		int r = elog_follower_next(fol, out, 512, &n, &missed, &mf, &mt, 1000000);

		if (r <= 0 || rounds++ > 1000)
			break;
		for (i = 0; i < n; i++) {
			collect(&all, &out[i]);
			elog_record_clear(&out[i]);
		}
		if (missed) {
			reports++;
			from = mf;
			to = mt;
			CHECK_INT(missed, (uint64_t)(mt - mf + 1));   /* every committed id in it */
			/* read back from the history: f's matches with ids from..to */
			range = f;
			range.after_id = mf - 1;
			range.limit = 0;
			range.tail = 0;
			CHECK_INT(elog_store_query(st, &range, mt, collect, &all, &err), 0);
		}
	}
	elog_store_close(st);
	CHECK_INT(reports, 1);
	CHECK_INT(from, 11);
	CHECK(to > 11 && to < 6010);
	/* every "a" record after registration (odd ids 11..6009: i = id - 1 even), once, in order */
	CHECK_INT(all.n, 3000);
	for (i = 0; i < all.n && i < 8192; i++)
		if (all.ids[i] != 11 + 2 * (int64_t)i)
			bad++;
	CHECK_INT(bad, 0);
	elog_hub_stats(h, &hs);
	CHECK_INT(hs.dropped_for_followers, (uint64_t)(to - from + 1));
	elog_follower_close(fol);
	elog_filter_clear(&f);
	hub_done(h);
}

/* elog_hub_wait_publish (what serve's fan-out waits on): a zeroed mark returns at once; then
 * nothing published waits until the clock's deadline; a commit or elog_hub_kick ends the wait
 * with the mark moved on; once the followers are stopped it returns -1. A scan without a
 * timeout does not wait: nothing there, it returns 0 at once; a commit, it returns it. */
static void test_wait_publish_and_kick(void)
{
	struct fake fk = { .now = 1, .mono = 1000 };
	struct elog_hub_opts o = { 0 };
	struct elog_clock clk;
	struct elog_hub_mark mark = { 0, 0 };
	struct elog_follower *fol;
	struct elog_filter f;
	struct got g = { .n = 0 };
	uint64_t missed = 0, published;
	int64_t mf = 0, mt = 0, live_after = -1;
	size_t n = 9;
	struct elog_hub *h = hub_with(&o, &fk, &clk);

	elog_filter_init(&f);
	fol = elog_hub_follow(h, &f, &live_after);
	CHECK_INT(elog_hub_wait_publish(h, &mark, 1000000), 0);       /* zeroed: at once */
	CHECK_INT(fk.waits, 0);
	CHECK_INT(elog_follower_scan(fol, collect_wire, &g, &n, &missed, &mf, &mt, 0), 0);
	CHECK_INT(n, 0);
	CHECK_INT(fk.waits, 0);                       /* no timeout: it did not wait */
	CHECK_INT(elog_hub_wait_publish(h, &mark, 7000), 0);          /* nothing: the deadline */
	CHECK_INT(fk.waits, 1);
	CHECK_INT(fk.mono, 1000 + 7000);
	published = mark.published;
	submit(h, 0, 3, comp_ab);
	CHECK_INT(elog_hub_wait_publish(h, &mark, 7000), 0);          /* published: no wait */
	CHECK_INT(fk.waits, 1);
	CHECK(mark.published > published);
	CHECK_INT(elog_follower_scan(fol, collect_wire, &g, &n, &missed, &mf, &mt, 0), 1);
	CHECK_INT(n, 3);
	CHECK_INT(g.n, 3);
	elog_hub_kick(h);
	CHECK_INT(elog_hub_wait_publish(h, &mark, 7000), 0);          /* kicked: no wait */
	CHECK_INT(fk.waits, 1);
	elog_hub_stop_followers(h);
	CHECK_INT(elog_hub_wait_publish(h, &mark, 7000), -1);
	CHECK_INT(elog_follower_scan(fol, collect_wire, &g, &n, &missed, &mf, &mt, 0), -1);
	elog_follower_close(fol);
	elog_filter_clear(&f);
	hub_done(h);
}

UNIT_MAIN(
	{ "arrival_is_the_clock", test_arrival_is_the_clock },
	{ "wait_ends_at_the_clock_deadline", test_wait_ends_at_the_clock_deadline },
	{ "scan_stops_at_deadline_and_resumes", test_scan_stops_at_deadline_and_resumes },
	{ "overflow_missed_range_read_back", test_overflow_missed_range_read_back },
	{ "wait_publish_and_kick", test_wait_publish_and_kick }
)
