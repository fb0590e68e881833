/* test_retention.c — removing the oldest records (store/retention.h): chunks, counts,
 * the horizon readers are told of, ids never reused, the size bound, the first-seen order. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/util.h"
#include "unit.h"
#include "unit_tmp.h"

/* Inserts n records of component comp (i-th: arrival base + i ms, message of pad bytes). */
static void fill(struct elog_store *s, const char *comp, int n, int64_t base, size_t pad)
{
	struct elog_record *recs = xcalloc((size_t)n, sizeof(*recs));
	struct elog_err err;
	char *msg = xmalloc(pad + 1);

	memset(msg, 'x', pad);
	msg[pad] = '\0';
	for (int i = 0; i < n; i++) {
		elog_record_init(&recs[i]);
		recs[i].arrival_ns = base + (int64_t)i * 1000000;
		recs[i].ts_ns = recs[i].arrival_ns;
		recs[i].level = 2;
		elog_record_set(&recs[i].component, comp, strlen(comp));
		elog_record_set(&recs[i].msg, msg, pad);
		elog_record_set(&recs[i].source, "test", 4);
	}
	CHECK_INT(elog_store_insert(s, recs, (size_t)n, NULL, &err), 0);
	for (int i = 0; i < n; i++)
		elog_record_clear(&recs[i]);
	free(recs);
	free(msg);
}

static int64_t one(struct elog_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(elog_store_db(s), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void test_remove_chunks_and_horizon(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_filter f;
	struct elog_history_info hi;
	int64_t n = 0, through = 0, id = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	fill(s, "a", 100, 1000000000LL, 10);
	fill(s, "b", 100, 2000000000LL, 10);
	/* a chunk of 30 from the oldest, counts follow */
	CHECK_INT(elog_store_remove_oldest(s, NULL, INT64_MAX, 30, &n, &err), 0);
	CHECK_INT(n, 30);
	CHECK_INT(one(s, "SELECT min(id) FROM records"), 31);
	CHECK_INT(one(s, "SELECT n FROM component_stats WHERE component = 'a'"), 70);
	CHECK_INT(one(s, "SELECT removed_through FROM horizon"), 30);
	/* up to an id: stops there */
	CHECK_INT(elog_store_remove_oldest(s, NULL, 100, 4096, &n, &err), 0);
	CHECK_INT(n, 70);
	CHECK_INT(one(s, "SELECT count(*) FROM component_stats WHERE component = 'a'"), 0);
	/* readers: after_id before the horizon is told, after it not; since likewise */
	elog_filter_init(&f);
	f.after_id = 50;
	CHECK_INT(elog_store_removed_for(s, &f, &through, &err), 0);
	CHECK_INT(through, 100);
	f.after_id = 100;
	CHECK_INT(elog_store_removed_for(s, &f, &through, &err), 0);
	CHECK_INT(through, 0);
	f.after_id = 0;
	f.since_ns = 1000000000LL + 5000000;
	CHECK_INT(elog_store_removed_for(s, &f, &through, &err), 0);
	CHECK_INT(through, 100);
	f.since_ns = 2000000000LL;
	CHECK_INT(elog_store_removed_for(s, &f, &through, &err), 0);
	CHECK_INT(through, 0);
	elog_filter_clear(&f);
	/* by arrival */
	CHECK_INT(elog_store_id_before(s, 2000000000LL + 10 * 1000000, &id, &err), 0);
	CHECK_INT(id, 110);
	/* everything: ids go on after the last one removed */
	CHECK_INT(elog_store_remove_oldest(s, NULL, INT64_MAX, 4096, &n, &err), 0);
	CHECK_INT(n, 100);
	CHECK_INT(elog_store_history_info(s, &hi, &err), 0);
	CHECK_INT(hi.records, 0);
	CHECK_INT(hi.removed_through, 200);
	fill(s, "c", 1, 3000000000LL, 10);
	CHECK_INT(one(s, "SELECT id FROM records"), 201);
	elog_store_close(s);
	/* and after a reopen */
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (s) {
		CHECK_INT(elog_store_remove_oldest(s, NULL, INT64_MAX, 4096, &n, &err), 0);
		fill(s, "c", 1, 3000000000LL, 10);
		CHECK_INT(one(s, "SELECT id FROM records"), 202);
	}
	elog_store_close(s);
	tmp_cleanup();
}

static void test_component_order_kept(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	char **names = NULL;
	size_t n = 0;
	int64_t k = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	fill(s, "zz", 10, 1000000000LL, 10);
	fill(s, "mm", 10, 1100000000LL, 10);
	fill(s, "aa", 10, 1200000000LL, 10);
	CHECK_INT(elog_store_remove_oldest(s, "zz", INT64_MAX, 4096, &k, &err), 0);
	CHECK_INT(k, 10);
	CHECK_INT(one(s, "SELECT count(*) FROM records"), 20);
	CHECK_INT(elog_store_components_ordered(s, &names, &n, &err), 0);
	CHECK_INT(n, 3);
	if (n == 3) {
		CHECK_STR(names[0], "zz");
		CHECK_STR(names[1], "mm");
		CHECK_STR(names[2], "aa");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	CHECK_INT(one(s, "SELECT removed_through FROM components WHERE name = 'zz'"), 10);
	CHECK_INT(one(s, "SELECT removed_through FROM horizon"), 0);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_retain_size(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_retention r = { 0, 0, 0 };
	struct elog_history_info hi;
	int64_t removed = 0, pages;
	int more = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	for (int i = 0; i < 20; i++)
		fill(s, "a", 1000, 1000000000LL + i * 1000000000LL, 200);
	CHECK_INT(elog_store_history_info(s, &hi, &err), 0);
	/* to a third of what is used */
	r.max_bytes = hi.used_bytes / 3;
	r.wal_bytes = 0;
	CHECK_INT(elog_store_retain(s, &r, 0, INT64_MAX, &removed, NULL, &more, &err), 0);
	CHECK(removed > 10000);
	CHECK_INT(more, 0);
	CHECK_INT(elog_store_history_info(s, &hi, &err), 0);
	CHECK(hi.used_bytes <= r.max_bytes);
	CHECK_INT(hi.last_id, 20000);
	CHECK_INT(hi.first_id, 20000 - hi.records + 1);
	/* the file, over the bound, gave its free pages back */
	CHECK(one(s, "PRAGMA page_count") * 4096 <= r.max_bytes + r.max_bytes / 10);
	/* pages a removal freed are reused by new records: the file does not grow */
	CHECK_INT(elog_store_remove_oldest(s, NULL, INT64_MAX, 2000, &removed, &err), 0);
	pages = one(s, "PRAGMA page_count");
	fill(s, "a", 1000, 30000000000LL, 200);
	CHECK(one(s, "PRAGMA page_count") == pages);
	/* a budget stops it and says there is more */
	r.max_bytes = 4096 * 4;
	CHECK_INT(elog_store_retain(s, &r, 0, 10, &removed, NULL, &more, &err), 0);
	CHECK_INT(removed, 10);
	CHECK_INT(more, 1);
	/* age: records that arrived before now - age go */
	r.max_bytes = 0;
	r.max_age_ns = 1000000000LL;
	CHECK_INT(elog_store_retain(s, &r, 30000000000LL + 500000000LL, INT64_MAX, &removed, NULL, &more,
				    &err), 0);
	CHECK_INT(one(s, "SELECT min(arrival) >= 29500000000 FROM records"), 1);
	CHECK_INT(one(s, "SELECT count(*) FROM records"), 1000);
	elog_store_close(s);
	tmp_cleanup();
}

UNIT_MAIN(
	{ "remove_chunks_and_horizon", test_remove_chunks_and_horizon },
	{ "component_order_kept", test_component_order_kept },
	{ "retain_size", test_retain_size }
)
