/* test_fanout.c — the hub's live fan-out without copies (elog_follower_scan): each live record
 * comes with its wire encoding, made once per commit for every follower and byte for byte what
 * elog_wire_put_record makes of it, so a page of them decodes back to the records; everything
 * committed since a follower's last scan comes in one scan (commits coalesce); a scan stops
 * right after the record its emit function says and the next one resumes there; and many
 * followers scanning on their own threads while records are committed each get every matching
 * record once, in id order. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "common/util.h"
#include "common/wire.h"
#include "hub/hub.h"
#include "unit.h"
#include "hub_fixture.h"

static char tmpdir[256], dbpath[512];

/* Commits n records numbered from first; record i has component comp(i) and a message, fields
 * and source of its own (so that every field of the encoding is exercised). */
static void submit(struct elog_hub *h, int first, int n, const char *(*comp)(int))
{
	struct elog_record *recs = xcalloc((size_t)n, sizeof(*recs));
	struct elog_err err;
	size_t stored = 0;
	int i;

	for (i = 0; i < n; i++) {
		char msg[64], fields[64];

		elog_record_init(&recs[i]);
		snprintf(msg, sizeof(msg), "message %d with \xc3\xa9", first + i);
		snprintf(fields, sizeof(fields), "{\"n\":%d}", first + i);
		elog_record_set(&recs[i].component, comp(first + i), strlen(comp(first + i)));
		elog_record_set(&recs[i].msg, msg, strlen(msg));
		elog_record_set(&recs[i].fields, fields, strlen(fields));
		elog_record_set(&recs[i].source, "host:1", 6);
		recs[i].level = (first + i) % 4;
		recs[i].ts_ns = 1700000000000000000LL + first + i;
	}
	CHECK_INT(elog_hub_submit_wait(h, recs, (size_t)n, &stored, &err), 0);
	CHECK_INT(stored, n);
	elog_records_free(recs, (size_t)n);
}

static const char *comp_ab(int i)
{
	return i % 2 ? "b" : "a";
}

/* What an emit function saw: ids, a page of the wire bytes, and whether each one's bytes were
 * what elog_wire_put_record makes of its record. stop_at: return 1 after that many (0: never). */
struct seen {
	int64_t ids[20000];
	size_t n, stop_at, since_stop;
	int bad_wire;
	struct elog_buf page, mine;
};

static int emit(void *ctx, const struct elog_record *r, const void *wire, size_t len)
{
	struct seen *s = ctx;

	elog_buf_reset(&s->mine);
	elog_wire_put_record(&s->mine, 1, r);
	if (s->mine.len != len || memcmp(s->mine.data, wire, len) != 0)
		s->bad_wire++;
	elog_buf_add(&s->page, wire, len);
	if (s->n < 20000)
		s->ids[s->n] = r->id;
	s->n++;
	return s->stop_at && ++s->since_stop == s->stop_at;
}

struct decoded {
	size_t n;
	int bad;
	int64_t first_id;
};

static int check_decoded(void *ctx, const struct elog_record *r)
{
	struct decoded *d = ctx;
	char msg[64];

	if (d->n == 0)
		d->first_id = r->id;
	/* ids 1.. are records 0..: record i is "message i" of component a or b */
	snprintf(msg, sizeof(msg), "message %lld with \xc3\xa9", (long long)(r->id - 1));
	if (strcmp(r->msg, msg) != 0 || strcmp(r->component, comp_ab((int)(r->id - 1))) != 0 ||
	    strcmp(r->source, "host:1") != 0 || r->level != (int)((r->id - 1) % 4))
		d->bad++;
	d->n++;
	return 0;
}

/* Three commits while the follower is not scanning: one scan takes the "a" records of all
 * three, each with the bytes elog_wire_put_record makes of it; the page made of those bytes
 * decodes back to the records. */
static void test_commits_coalesce_into_one_scan(void)
{
	struct elog_hub *h = tmp_hub_open("fanout", NULL, tmpdir, sizeof(tmpdir), dbpath,
					  sizeof(dbpath));
	static struct seen s;
	struct elog_follower *fol;
	struct elog_filter f;
	struct elog_err err;
	struct elog_buf scratch = ELOG_BUF_INIT;
	struct elog_wire_page info;
	struct decoded d = { 0, 0, 0 };
	uint64_t missed = 9;
	int64_t mf = 0, mt = 0, live_after = -1;
	size_t n = 0, i;

	memset(&s, 0, sizeof(s));
	elog_filter_init(&f);
	CHECK_INT(elog_filter_add_components(&f, "a", &err), 0);
	fol = elog_hub_follow(h, &f, &live_after);
	CHECK_INT(live_after, 0);
	submit(h, 0, 10, comp_ab);
	submit(h, 10, 1, comp_ab);
	submit(h, 11, 30, comp_ab);
	CHECK_INT(elog_follower_scan(fol, emit, &s, &n, &missed, &mf, &mt, 1000000000LL), 1);
	CHECK_INT(missed, 0);
	CHECK_INT(n, 21);            /* a: ids 1, 3, ..., 41 */
	CHECK_INT(s.n, 21);
	CHECK_INT(s.bad_wire, 0);
	for (i = 0; i < s.n && i < 21; i++)
		CHECK_INT(s.ids[i], 1 + 2 * (int64_t)i);
	elog_buf_grow(&s.page, 1);   /* the decoder terminates strings in place: one more byte */
	CHECK_INT(elog_wire_read_page(s.page.data, s.page.len, &scratch, &info, check_decoded, &d),
		  0);
	CHECK_INT(info.nrecords, 21);
	CHECK_INT(d.n, 21);
	CHECK_INT(d.bad, 0);
	CHECK_INT(d.first_id, 1);
	/* nothing more: a short wait times out */
	CHECK_INT(elog_follower_scan(fol, emit, &s, &n, &missed, &mf, &mt, 1000000LL), 0);
	CHECK_INT(n, 0);
	elog_buf_release(&scratch);
	elog_buf_release(&s.page);
	elog_buf_release(&s.mine);
	elog_follower_close(fol);
	elog_filter_clear(&f);
	tmp_hub_close(h, tmpdir);
}

/* An emit function that says "full" after every 7 records: each scan stops right after the
 * 7th, the next one resumes with the record after it, and together they give every record
 * once, in order (a page boundary never loses or repeats a record). */
static void test_scan_stops_after_emit_and_resumes(void)
{
	struct elog_hub *h = tmp_hub_open("fanout", NULL, tmpdir, sizeof(tmpdir), dbpath,
					  sizeof(dbpath));
	static struct seen s;
	struct elog_follower *fol;
	struct elog_filter f;
	int64_t mf = 0, mt = 0, live_after = -1;
	uint64_t missed = 0;
	size_t n = 0, i;
	int scans = 0, bad = 0;

	memset(&s, 0, sizeof(s));
	s.stop_at = 7;
	elog_filter_init(&f);
	fol = elog_hub_follow(h, &f, &live_after);
	submit(h, 0, 50, comp_ab);
	submit(h, 50, 50, comp_ab);
	while (s.n < 100 && scans++ < 100) {
		s.since_stop = 0;
		if (elog_follower_scan(fol, emit, &s, &n, &missed, &mf, &mt, 1000000000LL) != 1)
			break;
		CHECK(n <= 7);
	}
	CHECK_INT(s.n, 100);
	CHECK_INT(scans, 15);        /* 14 full scans of 7, then the last 2 */
	for (i = 0; i < s.n && i < 100; i++)
		if (s.ids[i] != (int64_t)i + 1)
			bad++;
	CHECK_INT(bad, 0);
	CHECK_INT(s.bad_wire, 0);
	elog_buf_release(&s.page);
	elog_buf_release(&s.mine);
	elog_follower_close(fol);
	elog_filter_clear(&f);
	tmp_hub_close(h, tmpdir);
}

/* Many followers on their own threads while 300 commits of 1 to 40 records go in: each gets
 * every record of its component after its registration, once, in id order. */
#define FOLLOWERS 24
#define COMMITS 300

struct fol_thread {
	struct elog_hub *h;
	struct elog_follower *fol;
	const char *comp;
	int64_t last_id;             /* set by the main thread once every commit is in */
	struct seen *s;
	pthread_mutex_t *mu;
	int done, scans;
};

static void *fol_main(void *arg)
{
	struct fol_thread *t = arg;
	int rounds = 0;

	for (;;) {
		uint64_t missed = 0;
		int64_t mf = 0, mt = 0, last;
		size_t n = 0;
		int r = elog_follower_scan(t->fol, emit, t->s, &n, &missed, &mf, &mt,
					   100 * 1000000LL);

		if (r < 0 || missed || ++rounds > 100000)
			break;
		t->scans += r == 1;
		pthread_mutex_lock(t->mu);
		last = t->last_id;
		pthread_mutex_unlock(t->mu);
		if (last && t->s->n && t->s->n <= 20000 && t->s->ids[t->s->n - 1] >= last)
			break;
		if (last && r == 0)     /* everything is in and nothing more came */
			break;
	}
	t->done = 1;
	return NULL;
}

static void test_many_followers_every_record_once(void)
{
	struct elog_hub *h = tmp_hub_open("fanout", NULL, tmpdir, sizeof(tmpdir), dbpath,
					  sizeof(dbpath));
	static struct seen s[FOLLOWERS];
	struct fol_thread t[FOLLOWERS];
	pthread_t th[FOLLOWERS];
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct elog_filter f;
	struct elog_err err;
	int64_t live_after[FOLLOWERS], last_a = 0, last_b = 0;
	int i, k, next = 0, bad = 0, total = 0;

	submit(h, next, 5, comp_ab);     /* history: not for the followers */
	next += 5;
	for (k = 0; k < FOLLOWERS; k++) {
		memset(&s[k], 0, sizeof(s[k]));
		elog_filter_init(&f);
		t[k].comp = k % 3 == 2 ? NULL : comp_ab(k);   /* a third follow everything */
		if (t[k].comp)
			CHECK_INT(elog_filter_add_components(&f, t[k].comp, &err), 0);
		t[k].fol = elog_hub_follow(h, &f, &live_after[k]);
		elog_filter_clear(&f);
		CHECK_INT(live_after[k], 5);
		t[k].h = h;
		t[k].s = &s[k];
		t[k].mu = &mu;
		t[k].last_id = 0;
		t[k].done = 0;
		t[k].scans = 0;
		pthread_create(&th[k], NULL, fol_main, &t[k]);
	}
	for (i = 0; i < COMMITS; i++) {
		int n = 1 + (i * 7) % 40;

		submit(h, next, n, comp_ab);
		next += n;
	}
	/* ids are 1 + record number: the last "a" (even record) and "b" (odd) */
	last_a = (next - 1) % 2 ? next - 1 : next;
	last_b = (next - 1) % 2 ? next : next - 1;
	pthread_mutex_lock(&mu);
	for (k = 0; k < FOLLOWERS; k++)
		t[k].last_id = !t[k].comp ? next : t[k].comp[0] == 'a' ? last_a : last_b;
	pthread_mutex_unlock(&mu);
	for (k = 0; k < FOLLOWERS; k++)
		pthread_join(th[k], NULL);
	for (k = 0; k < FOLLOWERS; k++) {
		int64_t want = t[k].comp && t[k].comp[0] == 'a' ? 7 : 6;   /* first id after 5 */
		int step = t[k].comp ? 2 : 1;
		size_t count = (size_t)((t[k].last_id - want) / step + 1);

		if (s[k].n != count) {
			fprintf(stderr, "follower %d (%s): %zu records, want %zu\n", k,
				t[k].comp ? t[k].comp : "all", s[k].n, count);
			bad++;
		}
		for (size_t j = 0; j < s[k].n && j < 20000; j++, want += step)
			if (s[k].ids[j] != want) {
				fprintf(stderr, "follower %d: record %zu has id %lld, want %lld\n",
					k, j, (long long)s[k].ids[j], (long long)want);
				bad++;
				break;
			}
		bad += s[k].bad_wire;
		total += t[k].scans;
		elog_follower_close(t[k].fol);
		elog_buf_release(&s[k].page);
		elog_buf_release(&s[k].mine);
	}
	CHECK_INT(bad, 0);
	CHECK(total > 0);
	tmp_hub_close(h, tmpdir);
}

UNIT_MAIN(
	{ "commits_coalesce_into_one_scan", test_commits_coalesce_into_one_scan },
	{ "scan_stops_after_emit_and_resumes", test_scan_stops_after_emit_and_resumes },
	{ "many_followers_every_record_once", test_many_followers_every_record_once }
)
