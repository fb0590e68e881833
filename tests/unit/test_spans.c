/* test_spans.c — the spans table (store/spans.h): keys strictly increasing in write order
 * within and across transactions, above a key "from the future" (a clock stepped back), the
 * time part from the clock; spans and records in one transaction (elog_store_insert_txn) roll
 * back together; reads strictly after a key, at most max, in key order. */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "store/spans.h"
#include "store/store.h"
#include "unit.h"

struct txn {
	struct elog_span_row *rows;
	size_t n;
	int fail;            /* return an error after writing the spans */
};

static int write_spans(void *ctx, struct elog_store *s, struct elog_err *err)
{
	struct txn *t = ctx;
	int rc = elog_spans_insert(s, t->rows, t->n, err);

	if (rc == 0 && t->fail)
		rc = elog_err_set(err, ELOG_EIO, "planned failure");
	return rc;
}

struct got {
	unsigned char keys[64][ELOG_SPAN_KEY_BYTES];
	char names[64][16];
	size_t n;
};

static int collect(void *ctx, const unsigned char *key, const void *span, size_t span_len,
		   const void *res, size_t res_len)
{
	struct got *g = ctx;

	(void)res;
	(void)res_len;
	memcpy(g->keys[g->n], key, ELOG_SPAN_KEY_BYTES);
	snprintf(g->names[g->n], sizeof(g->names[0]), "%.*s", (int)span_len, (const char *)span);
	g->n++;
	return 0;
}

static void rows_of(struct elog_span_row *rows, char names[][16], size_t n, int from)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], 16, "s%d", from + (int)i);
		memset(&rows[i], 0, sizeof(rows[i]));
		rows[i].span = names[i];
		rows[i].span_len = strlen(names[i]);
		rows[i].resource = "R";
		rows[i].resource_len = 1;
	}
}

static void test_keys_and_reads(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_span_row rows[10];
	char names[10][16];
	struct elog_record rec;
	struct txn t = { rows, 5, 0 };
	struct got g;
	int64_t n, now_ms = elog_now_ns() / NS_PER_MS;
	uint64_t key_ms = 0;

	elog_err_clear(&err);
	CHECK_INT(elog_store_open(&s, ":memory:", 0, &err), 0);
	if (!s)
		return;
	memset(&rec, 0, sizeof(rec));
	rec.component = (char *)"c";
	rec.msg = (char *)"span s0";
	rows_of(rows, names, 5, 0);
	CHECK_INT(elog_store_insert_txn(s, &rec, 1, NULL, write_spans, &t, &err), 0);
	CHECK(rec.id > 0);
	rows_of(rows, names, 5, 5);
	CHECK_INT(elog_store_insert_txn(s, NULL, 0, NULL, write_spans, &t, &err), 0);
	for (int i = 0; i < 6; i++)
		key_ms = key_ms << 8 | rows[0].key[i];
	CHECK(key_ms >= (uint64_t)now_ms && key_ms < (uint64_t)now_ms + 60000);

	memset(&g, 0, sizeof(g));
	CHECK_INT(elog_spans_read(s, NULL, 0, 100, collect, &g, &err), 0);
	CHECK_INT(g.n, 10);
	for (size_t i = 0; i < g.n; i++) {
		char want[24];

		snprintf(want, sizeof(want), "s%zu", i);
		CHECK_STR(g.names[i], want);
		if (i)
			CHECK(memcmp(g.keys[i - 1], g.keys[i], ELOG_SPAN_KEY_BYTES) < 0);
	}
	/* strictly after a key, at most max */
	{
		struct got h;

		memset(&h, 0, sizeof(h));
		CHECK_INT(elog_spans_read(s, g.keys[3], ELOG_SPAN_KEY_BYTES, 4, collect, &h, &err), 0);
		CHECK_INT(h.n, 4);
		CHECK_STR(h.names[0], "s4");
		CHECK_STR(h.names[3], "s7");
		memset(&h, 0, sizeof(h));
		CHECK_INT(elog_spans_read(s, g.keys[9], ELOG_SPAN_KEY_BYTES, 4, collect, &h, &err), 0);
		CHECK_INT(h.n, 0);
	}
	/* a failed transaction keeps neither its records nor its spans */
	t.fail = 1;
	rows_of(rows, names, 5, 10);
	CHECK(elog_store_insert_txn(s, &rec, 1, NULL, write_spans, &t, &err) < 0);
	CHECK_INT(elog_spans_count(s, &n, &err), 0);
	CHECK_INT(n, 10);
	t.fail = 0;
	/* a key from the future (the clock stepped back): the next keys still come after it */
	{
		sqlite3_stmt *st = NULL;
		unsigned char fut[ELOG_SPAN_KEY_BYTES];
		struct got h;

		memset(fut, 0xee, sizeof(fut));
		CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "INSERT INTO spans VALUES (?1, 'F', '')",
					     -1, &st, NULL), SQLITE_OK);
		sqlite3_bind_blob(st, 1, fut, sizeof(fut), SQLITE_STATIC);
		CHECK_INT(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		rows_of(rows, names, 2, 20);
		t.n = 2;
		CHECK_INT(elog_store_insert_txn(s, NULL, 0, NULL, write_spans, &t, &err), 0);
		CHECK(memcmp(rows[0].key, fut, sizeof(fut)) > 0);
		CHECK(memcmp(rows[1].key, rows[0].key, sizeof(fut)) > 0);
		memset(&h, 0, sizeof(h));
		CHECK_INT(elog_spans_read(s, fut, sizeof(fut), 10, collect, &h, &err), 0);
		CHECK_INT(h.n, 2);
		CHECK_STR(h.names[0], "s20");
	}
	elog_store_close(s);
}

UNIT_MAIN({ "keys_and_reads", test_keys_and_reads })
