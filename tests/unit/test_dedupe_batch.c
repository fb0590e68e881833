/* test_dedupe_batch.c — the insert's batched dedupe path (store__dedupe_add_batched: a
 * stream's run kept in memory for the transaction, its records through the multi-row
 * statement): batches that mix run keys of several streams (in order, out of order, with
 * gaps, repeated inside the batch), plain keys, records without a key, resends of earlier
 * batches, keys already sealed into blocks, a reopen, and transactions rolled back after the
 * keys were looked at (nothing of them may stay, in the tables or in memory). Every batch is
 * checked against a model, the set of keys stored so far: what is stored, the ids (ascending,
 * no gap), what exists() answers, and that no two runs of a prefix overlap. */
#define _XOPEN_SOURCE 700
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "store/store.h"
#include "store/retention.h"
#include "store/seal.h"
#include "unit.h"
#include "unit_store.h"
#include "unit_tmp.h"

/* ---- the model: a set of strings --------------------------------------------------- */

#define SET_SLOTS 65536
static char *set_slot[SET_SLOTS];

static uint32_t set_hash(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static char **set_find(const char *k)
{
	uint32_t i = set_hash(k) & (SET_SLOTS - 1);

	while (set_slot[i] && strcmp(set_slot[i], k) != 0)
		i = (i + 1) & (SET_SLOTS - 1);
	return &set_slot[i];
}

static int set_has(const char *k)
{
	return *set_find(k) != NULL;
}

static void set_add(const char *k)
{
	char **p = set_find(k);

	if (!*p)
		*p = xstrdup(k);
}

static void set_clear(void)
{
	for (size_t i = 0; i < SET_SLOTS; i++) {
		free(set_slot[i]);
		set_slot[i] = NULL;
	}
}

/* ---- helpers ----------------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static struct elog_store *open_store(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;

	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	return s;
}


static int exists(struct elog_store *s, const char *key)
{
	struct elog_err err;
	int found = -1;

	CHECK_INT(elog_store_dedupe_exists(s, key, &found, &err), 0);
	return found;
}

static int fail_txn(void *ctx, struct elog_store *s, struct elog_err *err)
{
	(void)ctx;
	(void)s;
	return elog_err_set(err, ELOG_EFAIL, "rolled back on purpose");
}

#define MAXB 300
#define STREAMS 5
static const char *const prefixes[STREAMS] = {
	"send:s1", "send:s11", "send:s2", "relay:host:s1", ""
};
static long long next_n[STREAMS];

/* A random key into buf ("" for none). */
static void make_key(char *buf, size_t len)
{
	uint32_t p = rnd(100), st = rnd(STREAMS);

	if (p < 8) {
		buf[0] = 0;
	} else if (p < 16) {
		/* plain keys, some of them with ':' and a non-canonical number */
		snprintf(buf, len, rnd(2) ? "plain-%u" : "plain:0%u", rnd(40));
	} else if (p < 80) {
		snprintf(buf, len, "%s:%lld", prefixes[st], ++next_n[st]);
	} else if (p < 92) {
		/* back or a little ahead: a duplicate, a gap filled, a new run */
		long long n = (long long)rnd((uint32_t)next_n[st] + 8) + 1;

		snprintf(buf, len, "%s:%lld", prefixes[st], n);
	} else {
		next_n[st] += 1 + rnd(5);    /* a gap, then the stream goes on */
		snprintf(buf, len, "%s:%lld", prefixes[st], next_n[st]);
	}
}

/* Inserts keys[0..n) as records, checks the result against the model and adds the stored
 * keys to it. First, when fail is 1, through a transaction that fails after the insert (its
 * extra write), when 2 one that fails at the insert of its last record (a trigger): nothing
 * of it may be stored. */
static void batch(struct elog_store *s, char (*keys)[64], size_t n, int fail, int64_t *last_id)
{
	struct elog_record *r = xcalloc(n, sizeof(*r));
	struct elog_err err;
	size_t stored = 0, want = 0, last = n;
	int64_t id = *last_id;

	for (size_t i = 0; i < n; i++) {
		elog_record_init(&r[i]);
		r[i].component = xstrdup(i % 3 ? "c1" : "c0");
		r[i].msg = xstrdup(keys[i]);
		if (keys[i][0])
			r[i].dedupe_key = xstrdup(keys[i]);
	}
	if (fail == 2) {
		/* fails inside the insert, at the row of its last new record (a trigger): the
		 * keys before it are looked at, their runs still in memory */
		for (size_t i = 0; i < n; i++) {
			int isnew = !keys[i][0] || !set_has(keys[i]);

			for (size_t j = 0; isnew && keys[i][0] && j < i; j++)
				isnew = strcmp(keys[i], keys[j]) != 0;
			if (isnew)
				last = i;
		}
		if (last == n)
			fail = 1;     /* nothing new: no row to fail at */
	}
	if (fail == 2) {
		CHECK_INT(sqlite3_exec(elog_store_db(s), "CREATE TRIGGER boom BEFORE INSERT ON "
				       "records WHEN new.msg = 'boom' BEGIN "
				       "SELECT RAISE(ABORT, 'boom'); END;", NULL, NULL, NULL),
			  SQLITE_OK);
		free(r[last].msg);
		r[last].msg = xstrdup("boom");
		CHECK(elog_store_insert(s, r, n, &stored, &err) != 0);
		free(r[last].msg);
		r[last].msg = xstrdup(keys[last]);
		CHECK_INT(sqlite3_exec(elog_store_db(s), "DROP TRIGGER boom;", NULL, NULL, NULL),
			  SQLITE_OK);
	} else if (fail) {
		CHECK(elog_store_insert_txn(s, r, n, &stored, fail_txn, NULL, &err) != 0);
	}
	if (fail) {
		CHECK_INT(stored, 0);
		for (size_t i = 0; i < n; i++) {
			CHECK_INT(r[i].id, 0);
			if (keys[i][0])
				CHECK_INT(exists(s, keys[i]), set_has(keys[i]));
		}
	}
	CHECK_INT(elog_store_insert(s, r, n, &stored, &err), 0);
	for (size_t i = 0; i < n; i++) {
		int isnew = !keys[i][0] || !set_has(keys[i]);

		if (isnew) {
			want++;
			CHECK_INT(r[i].id, ++id);
			if (keys[i][0])
				set_add(keys[i]);
		} else {
			CHECK_INT(r[i].id, 0);
		}
	}
	CHECK_INT(stored, want);
	*last_id = id;
	elog_records_free(r, n);
}

static void test_model(void)
{
	static char keys[MAXB][64], prev[MAXB][64];
	struct elog_store *s;
	struct elog_err err;
	size_t nprev = 0;
	int64_t last_id = 0, total = 0;
	char probe[64];

	tmp_setup();
	memset(next_n, 0, sizeof(next_n));
	s = open_store();
	if (!s)
		goto out;
	for (int round = 0; round < 120; round++) {
		size_t n = 1 + rnd(rnd(4) ? MAXB : 40);
		uint32_t what = rnd(100);

		if (what < 15 && nprev) {
			/* a resend of the previous batch (send --retry): only the keyless again */
			memcpy(keys, prev, sizeof(keys));
			n = nprev;
		} else {
			for (size_t i = 0; i < n; i++)
				make_key(keys[i], sizeof(keys[i]));
		}
		batch(s, keys, n, what >= 15 && what < 30 ? 1 + (what & 1) : 0, &last_id);
		memcpy(prev, keys, sizeof(keys));
		nprev = n;
		if (rnd(100) < 12)     /* the oldest keys' records go into blocks */
			CHECK_INT(elog_store_seal_now(s, rnd(2) ? 0 : 100, 1, NULL, &err), 0);
		if (rnd(100) < 5) {
			elog_store_close(s);
			s = open_store();
			if (!s)
				goto out;
		}
		/* probes: around every stream's counter, and the plain pool */
		for (int k = 0; k < 8; k++) {
			uint32_t st = rnd(STREAMS);

			snprintf(probe, sizeof(probe), "%s:%lld", prefixes[st],
				 next_n[st] - 4 + (long long)rnd(10));
			CHECK_INT(exists(s, probe), set_has(probe));
			snprintf(probe, sizeof(probe), "plain-%u", rnd(40));
			CHECK_INT(exists(s, probe), set_has(probe));
		}
		CHECK_INT(store_count(s, "SELECT (SELECT count(*) FROM records) + "
			       "(SELECT coalesce(sum(n), 0) FROM blocks)"), last_id);
		CHECK_INT(store_count(s, "SELECT count(*) FROM dedupe_runs a JOIN dedupe_runs b "
			       "ON a.prefix = b.prefix AND a.lo < b.lo AND a.hi >= b.lo"), 0);
	}
	/* every key of every stream, once more */
	for (int st = 0; st < STREAMS; st++)
		for (long long m = 0; m <= next_n[st] + 2; m++) {
			snprintf(probe, sizeof(probe), "%s:%lld", prefixes[st], m);
			CHECK_INT(exists(s, probe), set_has(probe));
		}
	total = store_count(s, "SELECT (SELECT count(*) FROM records) + "
			 "(SELECT coalesce(sum(n), 0) FROM blocks)");
	CHECK_INT(total, last_id);
	CHECK(store_count(s, "SELECT count(*) FROM blocks") > 0);
	/* a stream's in-order keys share a run: far fewer runs than keys */
	CHECK(store_count(s, "SELECT count(*) FROM dedupe_runs") * 4 <
	      store_count(s, "SELECT sum(hi - lo + 1) FROM dedupe_runs"));
out:
	elog_store_close(s);
	set_clear();
	tmp_cleanup();
}

/* One stream's keys past the number of slots kept in memory (64 prefixes) in one batch, so
 * the runs are written back mid-transaction and read again; then the same batch again. */
static void test_many_streams(void)
{
	static char keys[600][64];
	struct elog_store *s;
	int64_t last_id = 0;

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < 600; i++)
			snprintf(keys[i], sizeof(keys[i]), "send:p%zu:%zu", i % 150,
				 (size_t)round * 4 + i / 150 + 1);
		batch(s, keys, 600, round, &last_id);
		batch(s, keys, 600, 0, &last_id);
	}
	CHECK_INT(last_id, 1800);
	CHECK_INT(store_count(s, "SELECT count(*) FROM dedupe_runs"), 150);
	CHECK_INT(store_count(s, "SELECT min(hi) FROM dedupe_runs"), 12);
	CHECK_INT(exists(s, "send:p149:12"), 1);
	CHECK_INT(exists(s, "send:p149:13"), 0);
out:
	elog_store_close(s);
	set_clear();
	tmp_cleanup();
}

/* The run found in the table ends right below the start of the next one: the key that would
 * extend the first is the second's, stored. */
static void test_adjacent_runs(void)
{
	static char keys[8][64];
	struct elog_store *s;
	int64_t last_id = 0;

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	snprintf(keys[0], 64, "a:1");
	snprintf(keys[1], 64, "a:2");
	snprintf(keys[2], 64, "a:5");
	snprintf(keys[3], 64, "a:6");
	batch(s, keys, 4, 0, &last_id);    /* runs [1,2] and [5,6] */
	snprintf(keys[0], 64, "a:3");
	snprintf(keys[1], 64, "a:4");
	snprintf(keys[2], 64, "a:5");       /* stored, though it follows the run in memory */
	snprintf(keys[3], 64, "a:6");
	snprintf(keys[4], 64, "a:7");
	snprintf(keys[5], 64, "a:4");
	snprintf(keys[6], 64, "a:8");
	snprintf(keys[7], 64, "a:1");
	batch(s, keys, 8, 0, &last_id);
	CHECK_INT(last_id, 8);
	for (int m = 1; m <= 8; m++) {
		char k[16];

		snprintf(k, sizeof(k), "a:%d", m);
		CHECK_INT(exists(s, k), 1);
	}
	CHECK_INT(exists(s, "a:9"), 0);
	CHECK_INT(store_count(s, "SELECT count(*) FROM dedupe_runs"), 2);
out:
	elog_store_close(s);
	set_clear();
	tmp_cleanup();
}

/* A block whose rows changed between its read and its commit (a removal meanwhile) is not
 * written, and its rows stay; the next seal reads them again. The keys stay stored. */
static void test_seal_after_removal(void)
{
	static char keys[5000][64];
	struct elog_store *s;
	struct elog_seal *p = NULL;
	struct elog_err err;
	int64_t last_id = 0, sealed = -1, n = 0;

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	for (size_t i = 0; i < 5000; i++)
		snprintf(keys[i], sizeof(keys[i]), "send:r:%zu", i + 1);
	batch(s, keys, 5000, 0, &last_id);
	CHECK_INT(elog_store_seal_read(s, 0, 1, &p, &err), 0);
	CHECK(p != NULL);
	if (!p)
		goto out;
	CHECK_INT(elog_seal_encode(p, &err), 0);
	CHECK_INT(elog_store_remove_oldest(s, NULL, 10, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 10);
	CHECK_INT(elog_store_seal_commit(s, p, &sealed, &err), 0);
	CHECK_INT(sealed, 0);
	CHECK_INT(store_count(s, "SELECT count(*) FROM blocks"), 0);
	CHECK_INT(store_count(s, "SELECT count(*) FROM records"), 4990);
	CHECK_INT(elog_store_seal_now(s, 0, 1, &sealed, &err), 0);
	CHECK_INT(sealed, 4990);
	CHECK_INT(store_count(s, "SELECT count(*) FROM records"), 0);
	CHECK_INT(exists(s, "send:r:5000"), 1);
	batch(s, keys, 5000, 0, &last_id);
	CHECK_INT(last_id, 5000);
out:
	elog_seal_free(p);
	elog_store_close(s);
	set_clear();
	tmp_cleanup();
}

UNIT_MAIN(
	{ "model", test_model },
	{ "many_streams", test_many_streams },
	{ "adjacent_runs", test_adjacent_runs },
	{ "seal_after_removal", test_seal_after_removal }
)
