/* test_dedupe.c — dedupe keys stored as runs (store/dedupe.c, schema 6): keys "<prefix>:<n>"
 * as `elog send` makes them, in order, out of order, with gaps, duplicated inside a batch and
 * across batches, interleaved streams, across sealing and a reopen, n at the int64 limit,
 * non-canonical digits and keys with ':' but no number (plain keys), and retention removing
 * runs only once every record through their newest is gone. Every case is checked against a
 * model: the set of keys inserted so far. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "store/store.h"
#include "store/retention.h"
#include "store/seal.h"
#include "store/spans.h"
#include "unit.h"
#include "unit_store.h"
#include "unit_tmp.h"
#include "unit_schema5.h"

static struct elog_store *open_store(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;

	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	return s;
}

/* Inserts one batch, a record per key (NULL: no key; component "c<i % 2>"); the count
 * stored. */
static size_t insert(struct elog_store *s, const char *const *keys, size_t n)
{
	struct elog_record *r = xcalloc(n ? n : 1, sizeof(*r));
	struct elog_err err;
	size_t stored = 0;

	for (size_t i = 0; i < n; i++) {
		elog_record_init(&r[i]);
		r[i].component = xstrdup(i % 2 ? "c1" : "c0");
		r[i].msg = xstrdup("m");
		if (keys[i])
			r[i].dedupe_key = xstrdup(keys[i]);
	}
	CHECK_INT(elog_store_insert(s, r, n, &stored, &err), 0);
	elog_records_free(r, n);
	return stored;
}

static size_t insert1(struct elog_store *s, const char *key)
{
	return insert(s, &key, 1);
}

static int exists(struct elog_store *s, const char *key)
{
	struct elog_err err;
	int found = -1;

	CHECK_INT(elog_store_dedupe_exists(s, key, &found, &err), 0);
	return found;
}


#define RUNS(s)    store_count(s, "SELECT count(*) FROM dedupe_runs")
#define PLAIN(s)   store_count(s, "SELECT count(*) FROM dedupe")
#define RECORDS(s) store_count(s, "SELECT (SELECT count(*) FROM records) + " \
			    "(SELECT coalesce(sum(n), 0) FROM blocks)")

static void key(char *buf, size_t len, const char *stream, long long n)
{
	snprintf(buf, len, "send:%s:%lld", stream, n);
}

/* Sends keys from..to of stream in batches of batch; what was stored. */
static size_t send_range(struct elog_store *s, const char *stream, long long from, long long to,
			 size_t batch)
{
	char (*buf)[96] = xcalloc(batch, sizeof(*buf));
	const char **keys = xcalloc(batch, sizeof(*keys));
	size_t stored = 0, k = 0;

	for (long long n = from; n <= to; n++) {
		key(buf[k], sizeof(buf[k]), stream, n);
		keys[k] = buf[k];
		if (++k == batch || n == to) {
			stored += insert(s, keys, k);
			k = 0;
		}
	}
	free(keys);
	free(buf);
	return stored;
}

static void test_in_order(void)
{
	struct elog_store *s;
	char b[96];

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	CHECK_INT(send_range(s, "aaaa", 1, 1000, 100), 1000);
	CHECK_INT(RUNS(s), 1);
	CHECK_INT(PLAIN(s), 0);
	CHECK_INT(RECORDS(s), 1000);
	for (long long n = 0; n <= 1001; n++) {
		key(b, sizeof(b), "aaaa", n);
		CHECK_INT(exists(s, b), n >= 1 && n <= 1000);
	}
	/* a resend of any batch (send --retry) stores nothing */
	CHECK_INT(send_range(s, "aaaa", 201, 300, 100), 0);
	CHECK_INT(send_range(s, "aaaa", 995, 1010, 7), 10);
	CHECK_INT(RUNS(s), 1);
	CHECK_INT(RECORDS(s), 1010);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_out_of_order_and_gaps(void)
{
	static const long long order[] = { 5, 3, 4, 1, 10, 2, 7, 12, 11, 9 };
	struct elog_store *s;
	int model[16] = { 0 };
	char b[96];

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		key(b, sizeof(b), "g", order[i]);
		CHECK_INT(insert1(s, b), 1);
		model[order[i]] = 1;
		for (long long n = 0; n < 16; n++) {
			key(b, sizeof(b), "g", n);
			CHECK_INT(exists(s, b), model[n]);
		}
	}
	/* everything again, in another order: nothing stored */
	for (size_t i = sizeof(order) / sizeof(order[0]); i > 0; i--) {
		key(b, sizeof(b), "g", order[i - 1]);
		CHECK_INT(insert1(s, b), 0);
	}
	/* the gaps filled */
	CHECK_INT(send_range(s, "g", 1, 15, 4), 5);   /* 6, 8, 13, 14, 15 */
	for (long long n = 1; n < 16; n++) {
		key(b, sizeof(b), "g", n);
		CHECK_INT(exists(s, b), 1);
	}
	CHECK_INT(RECORDS(s), 15);
	CHECK(RUNS(s) <= 10);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_duplicates_in_batch(void)
{
	static const char *const batch[] = {
		"send:d:1", "send:d:2", "send:d:1", NULL, "send:d:2", "send:d:3", "plain",
		"plain", "send:d:3", NULL, "send:d:5", "send:d:5", "send:d:4", "send:d:4"
	};
	struct elog_store *s;

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	/* once each: d:1..5, plain, and the two without a key */
	CHECK_INT(insert(s, batch, sizeof(batch) / sizeof(batch[0])), 8);
	CHECK_INT(insert(s, batch, sizeof(batch) / sizeof(batch[0])), 2);
	CHECK_INT(RECORDS(s), 10);
	CHECK_INT(PLAIN(s), 1);
	CHECK_INT(exists(s, "send:d:4"), 1);
	CHECK_INT(exists(s, "send:d:6"), 0);
	/* the stored ids go up by one, keys or not */
	CHECK_INT(store_count(s, "SELECT max(id) - min(id) + 1 FROM records"), 10);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_interleaved_streams(void)
{
	struct elog_store *s;
	const char *keys[64];
	char b[64][96];

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < 64; i++) {
			/* four streams, each counting up, interleaved in one batch */
			key(b[i], sizeof(b[i]), (const char *[]){ "s0", "s1", "s2", "s3" }[i % 4],
			    round * 16 + i / 4 + 1);
			keys[i] = b[i];
		}
		CHECK_INT(insert(s, keys, 64), 64);
		CHECK_INT(insert(s, keys, 64), 0);
	}
	CHECK_INT(RUNS(s), 4);
	CHECK_INT(exists(s, "send:s2:64"), 1);
	CHECK_INT(exists(s, "send:s2:65"), 0);
	/* s1's number says nothing of s4's, nor of a prefix of it */
	CHECK_INT(exists(s, "send:s4:1"), 0);
	CHECK_INT(exists(s, "send:s:1"), 0);
	CHECK_INT(exists(s, "send:s11:1"), 0);
	CHECK_INT(insert1(s, "send:s4:1"), 1);
	CHECK_INT(RECORDS(s), 257);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_odd_keys(void)
{
	static const char *const plain[] = {
		"x:007", "x:07", "x:00", "x:-1", "x:+1", "x: 1", "x:1 ", "x:", ":", "abc",
		"a:b:c", "send:abc", "x:1a", "x:9223372036854775808", "x:99999999999999999999",
		"x:0x10", "x:1.5"
	};
	struct elog_store *s;

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	/* canonical numbers, the largest int64 included */
	CHECK_INT(insert1(s, "x:7"), 1);
	CHECK_INT(insert1(s, "x:0"), 1);
	CHECK_INT(insert1(s, "h:9223372036854775806"), 1);
	CHECK_INT(insert1(s, "h:9223372036854775807"), 1);
	CHECK_INT(insert1(s, "h:9223372036854775807"), 0);
	CHECK_INT(exists(s, "h:9223372036854775807"), 1);
	CHECK_INT(exists(s, "h:9223372036854775805"), 0);
	CHECK_INT(insert1(s, ":5"), 1);        /* an empty prefix is a prefix */
	CHECK_INT(exists(s, ":5"), 1);
	CHECK_INT(exists(s, ":4"), 0);
	CHECK_INT(RUNS(s), 4);                 /* x:0, x:7, h (extended), "" */
	/* none of these is a number of a run: "x:007" is not "x:7" */
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		CHECK_INT(exists(s, plain[i]), 0);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		CHECK_INT(insert1(s, plain[i]), 1);
		CHECK_INT(insert1(s, plain[i]), 0);
		CHECK_INT(exists(s, plain[i]), 1);
	}
	CHECK_INT(PLAIN(s), (long long)(sizeof(plain) / sizeof(plain[0])));
	CHECK_INT(exists(s, "x:6"), 0);
	CHECK_INT(exists(s, "x:8"), 0);
	CHECK_INT(exists(s, "x:1"), 0);
	CHECK_INT(exists(s, "x:7"), 1);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_sealing_and_reopen(void)
{
	struct elog_store *s;
	struct elog_err err;
	char b[96];

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	CHECK_INT(send_range(s, "r", 1, 9000, 500), 9000);
	CHECK_INT(insert1(s, "relay-key-1"), 1);
	CHECK_INT(elog_store_seal_now(s, 0, 1, NULL, &err), 0);
	CHECK(store_count(s, "SELECT count(*) FROM blocks") >= 2);
	CHECK_INT(store_count(s, "SELECT count(*) FROM records"), 0);
	elog_store_close(s);
	s = open_store();
	if (!s)
		goto out;
	CHECK_INT(send_range(s, "r", 8001, 9000, 250), 0);
	CHECK_INT(insert1(s, "relay-key-1"), 0);
	key(b, sizeof(b), "r", 1);
	CHECK_INT(exists(s, b), 1);
	/* the stream goes on after the restart: the same run */
	CHECK_INT(send_range(s, "r", 8990, 9100, 50), 100);
	CHECK_INT(RUNS(s), 1);
	CHECK_INT(RECORDS(s), 9101);
	key(b, sizeof(b), "r", 9101);
	CHECK_INT(exists(s, b), 0);
out:
	elog_store_close(s);
	tmp_cleanup();
}

static void test_retention(void)
{
	struct elog_store *s;
	struct elog_err err;
	int64_t n = 0;
	char b[96];

	tmp_setup();
	s = open_store();
	if (!s)
		goto out;
	/* ids 1..1000 stream "a" (sealed), 1001..1002 plain keys, 1003..2002 stream "b" (hot);
	 * the records of a batch alternate between components c0 and c1 */
	CHECK_INT(send_range(s, "a", 1, 1000, 100), 1000);
	CHECK_INT(elog_store_seal_now(s, 0, 1, NULL, &err), 0);
	CHECK_INT(insert1(s, "p1"), 1);
	CHECK_INT(insert1(s, "p2"), 1);
	CHECK_INT(send_range(s, "b", 1, 1000, 100), 1000);
	CHECK_INT(RUNS(s), 2);
	/* half of stream a: its run stays (its newest record is still there), every key of it
	 * still answers stored */
	CHECK_INT(elog_store_remove_oldest(s, NULL, 500, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 500);
	CHECK_INT(RUNS(s), 2);
	CHECK_INT(exists(s, "send:a:1"), 1);
	CHECK_INT(exists(s, "send:a:1000"), 1);
	/* a removal of one component (c0: p1, p2 and every other record of the streams) takes
	 * no run (records of c1 remain below), but the plain keys of its records */
	CHECK_INT(elog_store_remove_oldest(s, "c0", 2002, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 250 + 2 + 500);
	CHECK_INT(RUNS(s), 2);
	CHECK_INT(exists(s, "send:b:1"), 1);
	CHECK_INT(exists(s, "p1"), 0);
	CHECK_INT(exists(s, "p2"), 0);
	CHECK_INT(PLAIN(s), 0);
	/* through p1: the rest of stream a (sealed), whose run goes with it */
	CHECK_INT(elog_store_remove_oldest(s, NULL, 1001, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 250);
	CHECK_INT(RUNS(s), 1);
	CHECK_INT(exists(s, "send:a:1"), 0);
	CHECK_INT(exists(s, "send:a:1000"), 0);
	CHECK_INT(exists(s, "send:b:1"), 1);
	/* stream b (hot rows) up to but not through its newest: kept; through it: gone */
	CHECK_INT(elog_store_remove_oldest(s, NULL, 2001, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 499);
	CHECK_INT(RUNS(s), 1);
	key(b, sizeof(b), "b", 1000);
	CHECK_INT(exists(s, b), 1);
	CHECK_INT(elog_store_remove_oldest(s, NULL, 2002, INT64_MAX, &n, &err), 0);
	CHECK_INT(n, 1);
	CHECK_INT(RUNS(s), 0);
	CHECK_INT(exists(s, b), 0);
	CHECK_INT(RECORDS(s), 0);
out:
	elog_store_close(s);
	tmp_cleanup();
}

/* A schema 5 history (keys in records.dedupe) upgraded in place: keys of the run form go
 * into runs, the others into dedupe, and all of them still answer stored. */
static void test_upgrade_v5(void)
{
	struct elog_store *s = NULL;
	sqlite3 *db = NULL;

	tmp_setup();
	CHECK_INT(sqlite3_open(tmp_path("h.db"), &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
		UNIT_SCHEMA5_SQL
		"INSERT INTO records (ts, arrival, component, level, msg, dedupe) VALUES"
		" (5, 5, 'c0', 2, 'a', 'send:u:1'), (6, 6, 'c0', 2, 'b', 'send:u:2'),"
		" (7, 7, 'c0', 2, 'c', 'send:u:4'), (8, 8, 'c0', 2, 'd', 'k:07'),"
		" (9, 9, 'c0', 2, 'e', 'plain'), (10, 10, 'c0', 2, 'f', NULL);"
		"INSERT INTO component_stats VALUES ('c0', '', 2, 6);"
		"INSERT INTO components (name, first_id) VALUES ('c0', 1);"
		"PRAGMA application_id = 1701605223; PRAGMA user_version = 5;",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	s = open_store();
	if (!s)
		goto out;
	CHECK_INT(store_count(s, "PRAGMA user_version"), 6);
	CHECK_INT(RUNS(s), 2);
	CHECK_INT(PLAIN(s), 2);
	CHECK_INT(store_count(s, "SELECT id_hi FROM dedupe_runs WHERE prefix = 'send:u' AND lo = 1"), 2);
	CHECK_INT(exists(s, "send:u:2"), 1);
	CHECK_INT(exists(s, "send:u:3"), 0);
	CHECK_INT(exists(s, "k:07"), 1);
	CHECK_INT(exists(s, "k:7"), 0);
	CHECK_INT(insert1(s, "send:u:1"), 0);
	CHECK_INT(insert1(s, "send:u:3"), 1);
	CHECK_INT(insert1(s, "send:u:4"), 0);
	CHECK_INT(insert1(s, "send:u:5"), 1);
	CHECK_INT(insert1(s, "plain"), 0);
	CHECK_INT(insert1(s, "k:07"), 0);
	CHECK_INT(insert1(s, "k:7"), 1);
	CHECK_INT(RECORDS(s), 9);
out:
	elog_store_close(s);
	tmp_cleanup();
}

UNIT_MAIN(
	{ "in_order", test_in_order },
	{ "out_of_order_and_gaps", test_out_of_order_and_gaps },
	{ "duplicates_in_batch", test_duplicates_in_batch },
	{ "interleaved_streams", test_interleaved_streams },
	{ "odd_keys", test_odd_keys },
	{ "sealing_and_reopen", test_sealing_and_reopen },
	{ "retention", test_retention },
	{ "upgrade_v5", test_upgrade_v5 }
)
