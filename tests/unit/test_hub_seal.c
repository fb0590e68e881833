/* test_hub_seal.c — hub_seal.c: blocks sealed from the writer's copy of what it committed
 * read back exactly as committed (every field, dedupe keys kept), and the copy steps aside
 * whenever the hot table holds something else: rows an earlier serve left (read back first,
 * then the copy again), rows another connection removed meanwhile (as `elog prune` does). */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "hub/hub.h"
#include "common/record.h"
#include "store/store.h"
#include "store/seal.h"
#include "store/block.h"
#include "unit.h"

#define BASE 1700000000000000000LL
#define THRESHOLD (ELOG_SEAL_KEEP_HOT + ELOG_BLOCK_MAX_RECORDS)

static char tmpdir[256], db[512];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void tmp_history(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/elog_test_hub_seal.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, sizeof(db), "%s/history.db", tmpdir);
}

/* A hub on a new temporary history (db), or on db again (fresh 0); NULL when it failed. */
static struct elog_hub *hub_on(int fresh)
{
	struct elog_hub_opts o = { 0 };
	struct elog_hub *h = NULL;
	struct elog_err err;

	if (fresh)
		tmp_history();
	CHECK_INT(elog_hub_open(&h, db, &o, &err), 0);
	return h;
}

/* Record k's fields, all derived from k (what check_history expects). */
static void make_record(struct elog_record *r, int k, char *msg, size_t msgsz, char *fields,
			size_t fsz, char *key, size_t ksz)
{
	static const char *comps[] = { "api", "db", "web-frontend", "worker" };

	memset(r, 0, sizeof(*r));
	snprintf(msg, msgsz, "record %d says %s", k, k % 7 ? "hello" : "caf\xc3\xa9 \xe2\x9c\x93");
	snprintf(fields, fsz, k % 3 ? "{\"k\":%d,\"s\":\"x\"}" : "", k);
	snprintf(key, ksz, k % 2 ? "test:%d" : "", k);
	r->ts_ns = BASE + (int64_t)k * 1000;
	r->level = k % ELOG_LEVEL_COUNT;
	r->component = (char *)comps[k % 4];
	r->msg = msg;
	r->fields = fields;
	r->source = (char *)(k % 5 ? "send" : "");
	r->dedupe_key = key;
}

/* Commits records from..to-1 in transactions of per_txn. */
static void submit_range(struct elog_hub *h, int from, int to, int per_txn)
{
	struct elog_record *recs = calloc((size_t)per_txn, sizeof(*recs));
	char (*msg)[64] = calloc((size_t)per_txn, 64), (*fld)[64] = calloc((size_t)per_txn, 64);
	char (*key)[32] = calloc((size_t)per_txn, 32);
	struct elog_err err;

	for (int i = from; i < to;) {
		int m = to - i < per_txn ? to - i : per_txn;
		size_t stored = 0;

		for (int k = 0; k < m; k++)
			make_record(&recs[k], i + k, msg[k], 64, fld[k], 64, key[k], 32);
		CHECK_INT(elog_hub_submit_wait(h, recs, (size_t)m, &stored, &err), 0);
		CHECK_INT(stored, m);
		i += m;
	}
	free(recs);
	free(msg);
	free(fld);
	free(key);
}

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

static int64_t hot_rows(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	int64_t n = -1;

	if (elog_store_open(&s, db, ELOG_STORE_READONLY, &err) == 0)
		n = one_int(s, "SELECT count(*) FROM records");
	elog_store_close(s);
	return n;
}

/* Waits (at most 60 s) until the hub sealed what it will: it looks again after every
 * ELOG_BLOCK_MAX_RECORDS new records, and seals while the hot table holds THRESHOLD. */
static void wait_sealed(void)
{
	for (int i = 0; i < 6000; i++) {
		int64_t n = hot_rows();

		if (n >= 0 && n < THRESHOLD + ELOG_BLOCK_MAX_RECORDS)
			return;
		usleep(10000);
	}
	fprintf(stderr, "  %lld hot rows after 60 s\n", (long long)hot_rows());
	CHECK(!"the hub did not seal within 60 s");
}

struct expect {
	int next;             /* the k the next record must have */
	int skip_below;       /* records removed: k < skip_below are not expected */
	int64_t last_id;
	size_t seen, bad;
};

static int check_fn(void *ctx, const struct elog_record *r)
{
	struct expect *e = ctx;
	struct elog_record w;
	char msg[64], fld[64], key[32];

	if (e->next < e->skip_below)
		e->next = e->skip_below;
	make_record(&w, e->next, msg, sizeof(msg), fld, sizeof(fld), key, sizeof(key));
	if (r->id <= e->last_id || r->ts_ns != w.ts_ns || r->level != w.level ||
	    strcmp(r->component, w.component) || strcmp(r->msg, w.msg) ||
	    strcmp(r->fields, w.fields) || strcmp(r->source, w.source)) {
		if (e->bad++ < 3)
			fprintf(stderr, "  record %d (id %lld): got '%s' '%s' '%s'\n", e->next,
				(long long)r->id, r->component, r->msg, r->fields);
	}
	e->last_id = r->id;
	e->next++;
	e->seen++;
	return 0;
}

/* Counts records, their ids strictly increasing (no record twice). */
static int count_fn(void *ctx, const struct elog_record *r)
{
	struct expect *e = ctx;

	if (r->id <= e->last_id)
		e->bad++;
	e->last_id = r->id;
	e->seen++;
	return 0;
}

/* The whole history, in id order, must be records skip_below..n-1, each as made. Every odd
 * one's dedupe key is still known (a resend would be a duplicate). */
static void check_history(int n, int skip_below)
{
	struct elog_store *s = NULL;
	struct elog_filter f;
	struct elog_err err;
	struct expect e = { 0, skip_below, 0, 0, 0 };

	CHECK_INT(elog_store_open(&s, db, ELOG_STORE_READONLY, &err), 0);
	if (!s)
		return;
	elog_filter_init(&f);
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, check_fn, &e, &err), 0);
	CHECK_INT(e.seen, n - skip_below);
	CHECK_INT(e.bad, 0);
	for (int k = skip_below + 1; k < n; k += 997) {
		char key[32];
		int found = 0;

		snprintf(key, sizeof(key), "test:%d", k | 1);
		CHECK_INT(elog_store_dedupe_exists(s, key, &found, &err), 0);
		CHECK(found);
	}
	CHECK(one_int(s, "SELECT count(*) FROM blocks") > 0);
	elog_filter_clear(&f);
	elog_store_close(s);
}

/* A steady stream: every block comes from the copy, none is read back. */
static void test_sealed_from_the_copy(void)
{
	const int n = 4 * THRESHOLD;
	struct elog_hub_stats st;
	struct elog_hub *h = hub_on(1);

	if (!h)
		return;
	submit_range(h, 0, n, 37);
	wait_sealed();
	elog_hub_stats(h, &st);
	elog_hub_close(h);
	CHECK(st.seals_copied >= 3);
	CHECK_INT(st.seals_read_back, 0);
	check_history(n, 0);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Rows an earlier hub left hot are read back first; then the copy takes over. */
static void test_rows_left_by_an_earlier_serve(void)
{
	const int first = THRESHOLD - 100, n = first + 4 * THRESHOLD;
	struct elog_hub_stats st;
	struct elog_hub *h = hub_on(1);

	if (!h)
		return;
	submit_range(h, 0, first, 100);
	elog_hub_close(h);
	CHECK_INT(hot_rows(), first);
	if (!(h = hub_on(0)))
		return;
	submit_range(h, first, n, 64);
	wait_sealed();
	elog_hub_stats(h, &st);
	elog_hub_close(h);
	CHECK(st.seals_read_back >= 1);
	CHECK(st.seals_copied >= 1);
	check_history(n, 0);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Another connection removes the oldest hot rows while the hub runs: the copies of them are
 * dropped, no block holds a removed record, nothing else is lost. */
static void test_rows_removed_meanwhile(void)
{
	const int part = THRESHOLD - 1000, n = part + 3 * THRESHOLD;
	struct elog_store *s = NULL;
	struct elog_hub *h = hub_on(1);
	struct elog_err err;
	int64_t cut;
	char sql[128];

	if (!h)
		return;
	submit_range(h, 0, part, 50);
	CHECK_INT(elog_store_open(&s, db, 0, &err), 0);
	if (s) {
		cut = one_int(s, "SELECT id FROM records ORDER BY id LIMIT 1 OFFSET 499");
		snprintf(sql, sizeof(sql), "DELETE FROM records WHERE id <= %lld", (long long)cut);
		CHECK_INT(sqlite3_exec(elog_store_db(s), sql, NULL, NULL, NULL), SQLITE_OK);
		elog_store_close(s);
	}
	submit_range(h, part, n, 50);
	wait_sealed();
	elog_hub_close(h);
	check_history(n, 500);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A burst (submissions of a block or more): whole blocks are sealed in the ingest
 * transactions themselves (sealed_direct), only the newest records short of half a block stay hot,
 * and the history reads back whole and in order. */
static void test_burst_sealed_in_its_transaction(void)
{
	const int n = 6 * 5000;
	struct elog_hub_stats st;
	struct elog_hub *h = hub_on(1);

	if (!h)
		return;
	submit_range(h, 0, n, 5000);
	elog_hub_stats(h, &st);
	elog_hub_close(h);
	/* 30000 records: batches 1, 2, 4 and 5 leave 904, 1808, 904 and 1808 rows hot (under
	 * half a block; each then sealed with the next batch); 3 and 6 seal everything, the
	 * 2712 short of a whole block as a smaller block */
	CHECK_INT(st.sealed_direct, 30000 - (904 + 1808 + 904 + 1808));
	CHECK_INT(hot_rows(), 0);
	check_history(n, 0);
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A trickle that sets the sealer going, then bursts while its block may be in hand (it is
 * dropped: the burst's transaction seals those rows), then a trickle again, then a burst
 * after another connection removed hot rows (the copies are not the table: rows, sealed
 * later by reading them back): nothing lost, nothing twice, in order. */
static void test_burst_after_trickle_and_removal(void)
{
	const int a = THRESHOLD + 3000, b = a + 4 * 4500, c = b + 2000, n = c + 3 * 6000;
	struct elog_store *s = NULL;
	struct elog_hub_stats st;
	struct elog_hub *h = hub_on(1);
	struct elog_err err;

	if (!h)
		return;
	submit_range(h, 0, a, 41);
	submit_range(h, a, b, 4500);
	submit_range(h, b, c, 41);
	CHECK_INT(elog_store_open(&s, db, 0, &err), 0);
	if (s) {
		CHECK_INT(sqlite3_exec(elog_store_db(s), "DELETE FROM records WHERE id IN "
				       "(SELECT id FROM records ORDER BY id LIMIT 10)", NULL, NULL,
				       NULL), SQLITE_OK);
		elog_store_close(s);
	}
	submit_range(h, c, n, 6000);
	wait_sealed();
	elog_hub_stats(h, &st);
	elog_hub_close(h);
	/* each burst submission leaves fewer than a block of its records hot */
	CHECK(st.sealed_direct >= 4 * (4500 - 4095) + 3 * (6000 - 4095));
	{
		struct elog_store *r = NULL;
		struct elog_filter f;
		struct expect e = { 0, 0, 0, 0, 0 };
		int64_t rows = -1, sealed = -1;

		CHECK_INT(elog_store_open(&r, db, ELOG_STORE_READONLY, &err), 0);
		if (r) {
			/* 10 records gone (somewhere among the hot rows then): every other one
			 * is there once, in order */
			elog_filter_init(&f);
			CHECK_INT(elog_store_query(r, &f, ELOG_ID_UNBOUNDED, count_fn, &e, &err), 0);
			CHECK_INT(e.seen, n - 10);
			CHECK_INT(e.bad, 0);
			rows = one_int(r, "SELECT count(*) FROM records");
			sealed = one_int(r, "SELECT coalesce(sum(n), 0) FROM blocks");
			CHECK_INT(rows + sealed, n - 10);
			elog_filter_clear(&f);
			elog_store_close(r);
		}
	}
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

UNIT_MAIN({ "sealed_from_the_copy", test_sealed_from_the_copy },
	  { "burst_sealed_in_its_transaction", test_burst_sealed_in_its_transaction },
	  { "burst_after_trickle_and_removal", test_burst_after_trickle_and_removal },
	  { "rows_left_by_an_earlier_serve", test_rows_left_by_an_earlier_serve },
	  { "rows_removed_meanwhile", test_rows_removed_meanwhile })
