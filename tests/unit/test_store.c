/* test_store.c — the SQLite history: schema, refusal of foreign files, insert, query. */
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
#include "common/util.h"
#include "unit.h"
#include "unit_tmp.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char *read_all(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long len;

	*n = 0;
	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	data = xmalloc((size_t)len + 1);
	*n = fread(data, 1, (size_t)len, fp);
	fclose(fp);
	return data;
}

static void write_all(const char *path, const void *data, size_t n)
{
	FILE *fp = fopen(path, "wb");

	if (!fp)
		return;
	fwrite(data, 1, n, fp);
	fclose(fp);
}

static int exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void mkrec(struct elog_record *r, int64_t ts, const char *comp, int level,
		  const char *msg, const char *dedupe)
{
	elog_record_init(r);
	r->ts_ns = ts;
	r->arrival_ns = 1000000;
	r->level = level;
	elog_record_set(&r->component, comp, strlen(comp));
	elog_record_set(&r->msg, msg, strlen(msg));
	elog_record_set(&r->source, "test", 4);
	if (dedupe)
		elog_record_set(&r->dedupe_key, dedupe, strlen(dedupe));
}

static int insert_one(struct elog_store *s, int64_t ts, const char *comp, int level,
		      const char *msg, const char *dedupe, int64_t *id)
{
	struct elog_record r;
	struct elog_err err;
	int rc;

	mkrec(&r, ts, comp, level, msg, dedupe);
	rc = elog_store_insert(s, &r, 1, NULL, &err);
	if (id)
		*id = r.id;
	elog_record_clear(&r);
	return rc;
}

struct collect {
	int64_t ids[64];
	char msgs[64][32];
	size_t n;
	size_t stop_after;   /* 0: never stop */
};

static int collect_fn(void *ctx, const struct elog_record *r)
{
	struct collect *c = ctx;

	if (c->n < 64) {
		c->ids[c->n] = r->id;
		snprintf(c->msgs[c->n], sizeof(c->msgs[0]), "%s", r->msg);
	}
	c->n++;
	if (c->stop_after && c->n == c->stop_after)
		return 42;
	return 0;
}

static int run_query(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		     struct collect *c)
{
	struct elog_err err;

	memset(c, 0, sizeof(*c));
	return elog_store_query(s, f, max_id, collect_fn, c, &err);
}

/* A store with 20 records: ids 1..20, ts = id * 100, components cycling api/db/worker,
 * levels cycling 0..5, msg "m<id>" with "even" appended for even ids. */
static struct elog_store *fixture(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_record recs[20];
	const char *comps[] = { "api", "db", "worker" };
	size_t stored = 0;

	CHECK_INT(elog_store_open(&s, tmp_path("fx/history.db"), 0, &err), 0);
	if (!s)
		return NULL;
	for (int i = 0; i < 20; i++) {
		char msg[32];

		snprintf(msg, sizeof(msg), "m%d%s", i + 1, (i + 1) % 2 == 0 ? " even" : "");
		mkrec(&recs[i], (i + 1) * 100, comps[i % 3], i % 6, msg, NULL);
	}
	CHECK_INT(elog_store_insert(s, recs, 20, &stored, &err), 0);
	CHECK_INT(stored, 20);
	for (int i = 0; i < 20; i++) {
		CHECK_INT(recs[i].id, i + 1);
		elog_record_clear(&recs[i]);
	}
	return s;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_schema_created(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	sqlite3_stmt *st;
	const char *path;
	int64_t max = -1;

	tmp_setup();         /* first: tmp_path needs the directory it makes */
	path = tmp_path("a/b/c/history.db");
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	CHECK(s != NULL);
	if (!s) { tmp_cleanup(); return; }
	CHECK_STR(elog_store_path(s), path);
	CHECK(exists(path));

	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "PRAGMA user_version", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 6);
	sqlite3_finalize(st);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "PRAGMA application_id", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 0x656c6f67);
	sqlite3_finalize(st);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "PRAGMA journal_mode", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "PRAGMA synchronous", -1, &st, NULL),
		  SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 1);   /* NORMAL */
	sqlite3_finalize(st);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s),
				     "SELECT group_concat(name, ',') FROM (SELECT name FROM "
				     "sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name)",
				     -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_STR((const char *)sqlite3_column_text(st, 0),
		  "blocks,component_stats,components,cursors,dedupe,dedupe_runs,horizon,keys,records,spans");
	sqlite3_finalize(st);

	CHECK_INT(elog_store_max_id(s, &max, &err), 0);
	CHECK_INT(max, 0);
	elog_store_close(s);
	elog_store_close(NULL);
	tmp_cleanup();
}

static void test_reopen_keeps_data(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct collect c;
	struct elog_filter f;
	const char *path;
	int64_t id1 = 0, id2 = 0, max = 0;

	tmp_setup();
	path = tmp_path("history.db");
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(insert_one(s, 0, "api", ELOG_LEVEL_INFO, "first", NULL, &id1), 0);
	CHECK_INT(insert_one(s, 5, "api", ELOG_LEVEL_WARN, "second", NULL, &id2), 0);
	CHECK(id1 > 0);
	CHECK(id2 > id1);
	elog_store_close(s);

	s = NULL;
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(elog_store_max_id(s, &max, &err), 0);
	CHECK_INT(max, id2);
	elog_filter_init(&f);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_STR(c.msgs[0], "first");
	CHECK_STR(c.msgs[1], "second");
	elog_store_close(s);

	/* read-only open of an existing history works and cannot write */
	s = NULL;
	CHECK_INT(elog_store_open(&s, path, ELOG_STORE_READONLY, &err), 0);
	if (s) {
		CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
		CHECK_INT(c.n, 2);
		CHECK(insert_one(s, 0, "api", ELOG_LEVEL_INFO, "nope", NULL, NULL) < 0);
		elog_store_close(s);
	}
	elog_filter_clear(&f);
	tmp_cleanup();
}

static void test_insert_ids_and_ts(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_record recs[100];
	struct collect c;
	struct elog_filter f;
	size_t stored = 0;
	int64_t prev = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++)
			mkrec(&recs[i], i % 2 ? 777 : 0, "c", ELOG_LEVEL_INFO, "x", NULL);
		CHECK_INT(elog_store_insert(s, recs, 100, &stored, &err), 0);
		CHECK_INT(stored, 100);
		for (int i = 0; i < 100; i++) {
			CHECK(recs[i].id > prev);
			prev = recs[i].id;
			/* ts 0 becomes arrival */
			CHECK_INT(recs[i].ts_ns, i % 2 ? 777 : 1000000);
			elog_record_clear(&recs[i]);
		}
	}
	CHECK_INT(elog_store_insert(s, recs, 0, &stored, &err), 0);
	CHECK_INT(stored, 0);

	elog_filter_init(&f);
	f.until_ns = 777;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 150);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_dedupe(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_record recs[4];
	size_t stored = 0;
	int64_t id = -1, max = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(insert_one(s, 1, "c", 2, "a", "key-1", &id), 0);
	CHECK_INT(id, 1);
	CHECK_INT(insert_one(s, 1, "c", 2, "a again", "key-1", &id), 0);
	CHECK_INT(id, 0);
	/* empty keys are never duplicates */
	CHECK_INT(insert_one(s, 1, "c", 2, "b", "", &id), 0);
	CHECK_INT(id, 2);
	CHECK_INT(insert_one(s, 1, "c", 2, "b", "", &id), 0);
	CHECK_INT(id, 3);

	/* within one batch: the second copy is a duplicate of the first */
	mkrec(&recs[0], 1, "c", 2, "x", "key-2");
	mkrec(&recs[1], 1, "c", 2, "y", "key-2");
	mkrec(&recs[2], 1, "c", 2, "z", "key-1");
	mkrec(&recs[3], 1, "c", 2, "w", NULL);
	CHECK_INT(elog_store_insert(s, recs, 4, &stored, &err), 0);
	CHECK_INT(stored, 2);
	CHECK_INT(recs[0].id, 4);
	CHECK_INT(recs[1].id, 0);
	CHECK_INT(recs[2].id, 0);
	CHECK_INT(recs[3].id, 5);
	for (int i = 0; i < 4; i++)
		elog_record_clear(&recs[i]);
	CHECK_INT(elog_store_max_id(s, &max, &err), 0);
	CHECK_INT(max, 5);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_query_components(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct collect c;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	elog_filter_init(&f);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 20);
	for (size_t i = 0; i < c.n; i++)
		CHECK_INT(c.ids[i], i + 1);

	elog_filter_add_components(&f, "db", NULL);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 7);                      /* ids 2,5,8,...,20 */
	CHECK_INT(c.ids[0], 2);
	CHECK_INT(c.ids[6], 20);

	elog_filter_add_components(&f, "worker,nosuch", NULL);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 13);
	for (size_t i = 1; i < c.n && i < 64; i++)
		CHECK(c.ids[i] > c.ids[i - 1]);   /* id order across components */
	CHECK_INT(c.ids[0], 2);
	CHECK_INT(c.ids[1], 3);
	elog_filter_clear(&f);

	elog_filter_init(&f);
	elog_filter_add_components(&f, "nosuch", NULL);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 0);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_query_levels(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct collect c;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	elog_filter_init(&f);
	f.level_mask = (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_FATAL);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	/* level = (id-1) % 6: error at ids 5,11,17; fatal at 6,12,18 */
	CHECK_INT(c.n, 6);
	CHECK_INT(c.ids[0], 5);
	CHECK_INT(c.ids[1], 6);
	CHECK_INT(c.ids[5], 18);
	f.level_mask = (1u << ELOG_LEVEL_COUNT) - 1;   /* every level */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 20);
	f.level_mask = 1u << ELOG_LEVEL_TRACE;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 4);                       /* 1,7,13,19 */
	CHECK_INT(c.ids[3], 19);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_query_time_and_ids(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct collect c;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	elog_filter_init(&f);
	f.since_ns = 500;      /* inclusive: ids 5..20 */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 16);
	CHECK_INT(c.ids[0], 5);
	f.until_ns = 800;      /* ids 5..8 */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 4);
	CHECK_INT(c.ids[3], 8);
	f.since_ns = 0;
	f.until_ns = 0;

	f.after_id = 15;       /* 16..20 */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 5);
	CHECK_INT(c.ids[0], 16);
	/* max_id bounds from above, inclusive: 16..18 */
	CHECK_INT(run_query(s, &f, 18, &c), 0);
	CHECK_INT(c.n, 3);
	CHECK_INT(c.ids[2], 18);
	f.after_id = 0;
	CHECK_INT(run_query(s, &f, 3, &c), 0);
	CHECK_INT(c.n, 3);
	/* max_id 0 is a bound like any other (a follower that joined an empty history): nothing
	 * (it once meant "unbounded", and such a follower got its first live records twice) */
	CHECK_INT(run_query(s, &f, 0, &c), 0);
	CHECK_INT(c.n, 0);

	/* stop early: fn's value is returned */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, collect_fn, &c, NULL), 42);
	CHECK_INT(c.n, 2);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_query_limit(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct elog_err err;
	struct collect c;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	elog_filter_init(&f);
	f.limit = 3;           /* last three, ascending */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 3);
	CHECK_INT(c.ids[0], 18);
	CHECK_INT(c.ids[2], 20);
	CHECK_INT(run_query(s, &f, 10, &c), 0);   /* with max_id */
	CHECK_INT(c.n, 3);
	CHECK_INT(c.ids[0], 8);
	CHECK_INT(c.ids[2], 10);
	f.limit = 100;         /* more than there are */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 20);
	CHECK_INT(c.ids[0], 1);

	elog_filter_add_components(&f, "api", NULL);   /* 1,4,7,10,13,16,19 */
	f.limit = 2;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.ids[0], 16);
	CHECK_INT(c.ids[1], 19);

	/* limit with a pattern: the last 2 even api records (4,10,16) -> 10,16 */
	CHECK_INT(elog_filter_set_pattern(&f, "even$", &err), 0);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.ids[0], 10);
	CHECK_INT(c.ids[1], 16);
	CHECK_STR(c.msgs[1], "m16 even");
	f.limit = 10;          /* fewer matches than the limit */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 3);
	CHECK_INT(c.ids[0], 4);
	f.limit = 0;           /* pattern without limit */
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 3);
	elog_filter_clear(&f);

	/* pattern + limit without other filters; m1x even: 10,12,14,16,18 -> last 2 are 16,18 */
	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, "^m1[0-9] even", &err), 0);
	f.limit = 2;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 2);
	CHECK_INT(c.ids[0], 16);
	CHECK_INT(c.ids[1], 18);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static int check_fn(void *ctx, const struct elog_record *q)
{
	int *n = ctx;

	(*n)++;
	CHECK_INT(q->id, 1);
	CHECK_INT(q->ts_ns, 123);
	CHECK_INT(q->arrival_ns, 456);
	CHECK_INT(q->level, ELOG_LEVEL_WARN);
	CHECK_STR(q->component, "api");
	CHECK_STR(q->msg, "h\xc3\xa9llo");
	CHECK_STR(q->fields, "{\"a\":1}");
	CHECK_STR(q->source, "test");
	CHECK_STR(q->dedupe_key, "k");
	return 0;
}

static void test_query_record_fields(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_record r;
	struct elog_filter f;
	int n = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	mkrec(&r, 123, "api", ELOG_LEVEL_WARN, "h\xc3\xa9llo", "k");
	elog_record_set(&r.fields, "{\"a\":1}", 7);
	r.arrival_ns = 456;
	CHECK_INT(elog_store_insert(s, &r, 1, NULL, &err), 0);
	elog_record_clear(&r);

	elog_filter_init(&f);
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, check_fn, &n, &err), 0);
	CHECK_INT(n, 1);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_foreign_sqlite_refused(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	sqlite3 *db;
	const char *path;
	char *before, *after;
	size_t nb, na;

	tmp_setup();
	path = tmp_path("other.db");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES (1);", NULL, NULL,
			       NULL), SQLITE_OK);
	sqlite3_close(db);
	before = read_all(path, &nb);
	CHECK(nb > 0);

	CHECK(elog_store_open(&s, path, 0, &err) < 0);
	CHECK(s == NULL);
	char want[600];
	snprintf(want, sizeof(want), "cannot open history '%s': not an elog history file", path);
	CHECK_STR(err.msg, want);
	after = read_all(path, &na);
	CHECK_INT(na, nb);
	CHECK(before && after && memcmp(before, after, nb) == 0);
	CHECK(!exists(tmp_path("other.db-wal")));
	free(after);
	/* read-only is refused too */
	CHECK(elog_store_open(&s, path, ELOG_STORE_READONLY, &err) < 0);
	CHECK_STR(err.msg, want);

	/* another app's database that uses user_version and its own application_id */
	path = tmp_path("app.db");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA application_id = 42; PRAGMA user_version = 1;"
			       "CREATE TABLE records(x);", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	free(before);
	before = read_all(path, &nb);
	CHECK(elog_store_open(&s, path, 0, &err) < 0);
	CHECK(strstr(err.msg, "not an elog history file") != NULL);
	after = read_all(path, &na);
	CHECK_INT(na, nb);
	CHECK(before && after && memcmp(before, after, nb) == 0);
	free(before);
	free(after);
	tmp_cleanup();
}

static void test_newer_schema_refused(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	sqlite3 *db;
	const char *path;

	tmp_setup();
	path = tmp_path("h.db");
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	elog_store_close(s);
	s = NULL;
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "PRAGMA user_version = 7;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	CHECK(elog_store_open(&s, path, 0, &err) < 0);
	CHECK(s == NULL);
	CHECK(strstr(err.msg, "was written by a newer elog (schema 7)") != NULL);
	tmp_cleanup();
}

static void test_garbage_refused(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	const char *path;
	char garbage[3000], *after;
	size_t na;

	tmp_setup();
	path = tmp_path("notes.txt");
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (char)('a' + i % 26);
	write_all(path, garbage, sizeof(garbage));
	CHECK(elog_store_open(&s, path, 0, &err) < 0);
	CHECK(s == NULL);
	char want[600];
	snprintf(want, sizeof(want), "cannot open history '%s': file is not a database", path);
	CHECK_STR(err.msg, want);
	after = read_all(path, &na);
	CHECK_INT(na, sizeof(garbage));
	CHECK(after && memcmp(after, garbage, sizeof(garbage)) == 0);
	free(after);
	CHECK(!exists(tmp_path("notes.txt-wal")));
	CHECK(!exists(tmp_path("notes.txt-shm")));

	/* a short text file too */
	write_all(path, "hello\n", 6);
	CHECK(elog_store_open(&s, path, 0, &err) < 0);
	CHECK_STR(err.msg, want);
	after = read_all(path, &na);
	CHECK_INT(na, 6);
	CHECK(after && memcmp(after, "hello\n", 6) == 0);
	free(after);

	/* an empty file becomes a history */
	write_all(path, "", 0);
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_readonly_missing(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	const char *path;

	tmp_setup();
	path = tmp_path("sub/missing.db");
	CHECK(elog_store_open(&s, path, ELOG_STORE_READONLY, &err) < 0);
	CHECK(s == NULL);
	CHECK(strncmp(err.msg, "cannot open history '", 21) == 0);
	CHECK(strstr(err.msg, "no such file or directory") != NULL);
	CHECK(!exists(path));
	CHECK(!exists(tmp_path("sub")));     /* no directories made either */
	tmp_cleanup();
}

static void test_disk_full(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	struct elog_record recs[200];
	struct elog_filter f;
	struct collect c;
	char big[2000];
	size_t stored = 99;
	int64_t max = 0, id = 0;
	sqlite3_stmt *st;
	int64_t pages = 0;

	tmp_setup();
	CHECK_INT(elog_store_open(&s, tmp_path("h.db"), 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(insert_one(s, 1, "c", 2, "before", NULL, &id), 0);
	CHECK_INT(id, 1);

	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), "PRAGMA page_count", -1, &st, NULL),
		  SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		pages = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %lld", (long long)pages + 2);
	CHECK_INT(sqlite3_exec(elog_store_db(s), sql, NULL, NULL, NULL), SQLITE_OK);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (int i = 0; i < 200; i++)
		mkrec(&recs[i], 1, "c", 2, big, NULL);
	CHECK_INT(elog_store_insert(s, recs, 200, &stored, &err), ELOG_EFULL);
	CHECK_INT(err.code, ELOG_EFULL);
	CHECK_INT(stored, 0);
	char want[600];
	snprintf(want, sizeof(want), "cannot write history '%s': database or disk is full",
		 tmp_path("h.db"));
	CHECK_STR(err.msg, want);
	for (int i = 0; i < 200; i++)
		CHECK_INT(recs[i].id, 0);
	CHECK(sqlite3_get_autocommit(elog_store_db(s)));   /* no transaction left open */
	CHECK_INT(elog_store_max_id(s, &max, &err), 0);
	CHECK_INT(max, 1);                                  /* nothing partially committed */
	elog_filter_init(&f);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 1);

	CHECK_INT(sqlite3_exec(elog_store_db(s), "PRAGMA max_page_count = 1000000", NULL, NULL,
			       NULL), SQLITE_OK);
	CHECK_INT(elog_store_insert(s, recs, 200, &stored, &err), 0);
	CHECK_INT(stored, 200);
	CHECK_INT(recs[0].id, 2);
	CHECK_INT(recs[199].id, 201);
	for (int i = 0; i < 200; i++)
		elog_record_clear(&recs[i]);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 201);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_components_list(void)
{
	struct elog_store *s;
	struct elog_err err;
	char **names = NULL;
	size_t n = 0;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(insert_one(s, 1, "", 2, "no component", NULL, NULL), 0);
	CHECK_INT(insert_one(s, 1, "Zeta", 2, "x", NULL, NULL), 0);
	CHECK_INT(elog_store_components(s, &names, &n, &err), 0);
	CHECK_INT(n, 5);
	if (n == 5) {
		CHECK_STR(names[0], "");
		CHECK_STR(names[1], "Zeta");
		CHECK_STR(names[2], "api");
		CHECK_STR(names[3], "db");
		CHECK_STR(names[4], "worker");
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	elog_store_close(s);

	/* empty history */
	s = NULL;
	CHECK_INT(elog_store_open(&s, tmp_path("empty.db"), 0, &err), 0);
	if (s) {
		CHECK_INT(elog_store_components(s, &names, &n, &err), 0);
		CHECK_INT(n, 0);
		CHECK(names == NULL);
		elog_store_close(s);
	}
	tmp_cleanup();
}

/* Captures the SQL of the SELECTs on records the store runs (sqlite3_trace_v2). */
struct traced {
	char sql[8][512];
	int n;
};

static int trace_fn(unsigned type, void *ctx, void *p, void *x)
{
	struct traced *t = ctx;
	const char *sql = sqlite3_sql(p);

	(void)type; (void)x;
	if (sql && strncmp(sql, "SELECT", 6) == 0 && strstr(sql, "FROM records") && t->n < 8)
		snprintf(t->sql[t->n++], sizeof(t->sql[0]), "%s", sql);
	return 0;
}

/* The EXPLAIN QUERY PLAN text of sql, one detail per line, in b. */
static void plan_of(struct elog_store *s, const char *sql, struct elog_buf *b)
{
	sqlite3_stmt *st;
	char eqp[600];

	elog_buf_reset(b);
	elog_buf_adds(b, "");
	snprintf(eqp, sizeof(eqp), "EXPLAIN QUERY PLAN %s", sql);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s), eqp, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		elog_buf_adds(b, (const char *)sqlite3_column_text(st, 3));
		elog_buf_addc(b, '\n');
	}
	sqlite3_finalize(st);
}

/* The plans of the queries elog_store_query really builds: a component filter uses the
 * (component, id) index (also for the limit's bound), a time range uses records_ts, and
 * no filter walks the table in id order without sorting. */
static void test_query_plan(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct elog_err err;
	struct traced t;
	struct elog_buf plan = ELOG_BUF_INIT;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	memset(&t, 0, sizeof(t));
	sqlite3_trace_v2(elog_store_db(s), SQLITE_TRACE_STMT, trace_fn, &t);

	elog_filter_init(&f);
	elog_filter_add_components(&f, "db", NULL);
	f.after_id = 2;
	f.limit = 2;
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, collect_fn, &(struct collect){ 0 }, &err), 0);
	CHECK_INT(t.n, 2);      /* the bound, then the rows */
	/* schema 6: the hot table has no secondary index (it stays small: the sealer keeps it
	 * to a few blocks' worth); its rows are read by the primary key from after_id, never
	 * sorted */
	for (int i = 0; i < t.n; i++) {
		plan_of(s, t.sql[i], &plan);
		CHECK(strstr(plan.data, "INTEGER PRIMARY KEY") != NULL);
		CHECK(!strstr(plan.data, "TEMP B-TREE"));
		if (!strstr(plan.data, "INTEGER PRIMARY KEY") || strstr(plan.data, "TEMP B-TREE"))
			fprintf(stderr, "  %s\n%s", t.sql[i], plan.data);
	}
	elog_filter_clear(&f);

	t.n = 0;
	elog_filter_init(&f);
	elog_filter_add_components(&f, "db,api", NULL);
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, collect_fn, &(struct collect){ 0 }, &err), 0);
	CHECK_INT(t.n, 1);
	plan_of(s, t.sql[0], &plan);
	CHECK(!strstr(plan.data, "TEMP B-TREE"));
	elog_filter_clear(&f);

	t.n = 0;
	elog_filter_init(&f);
	f.since_ns = 100;
	f.until_ns = 200;
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, collect_fn, &(struct collect){ 0 }, &err), 0);
	CHECK_INT(t.n, 1);
	plan_of(s, t.sql[0], &plan);
	CHECK(!strstr(plan.data, "TEMP B-TREE"));
	elog_filter_clear(&f);

	t.n = 0;
	elog_filter_init(&f);
	f.after_id = 5;
	CHECK_INT(elog_store_query(s, &f, ELOG_ID_UNBOUNDED, collect_fn, &(struct collect){ 0 }, &err), 0);
	CHECK_INT(t.n, 1);
	plan_of(s, t.sql[0], &plan);
	CHECK(strstr(plan.data, "INTEGER PRIMARY KEY") != NULL);
	CHECK(!strstr(plan.data, "TEMP B-TREE"));
	elog_filter_clear(&f);

	sqlite3_trace_v2(elog_store_db(s), 0, NULL, NULL);
	elog_buf_release(&plan);
	elog_store_close(s);
	tmp_cleanup();
}

/* Issue #14 (15): after_id at the top of the range. after_id + 1 overflowed at INT64_MAX
 * (UBSan stops there; without it the bound wrapped to INT64_MIN and the whole history came
 * back). Nothing is above the largest id. */
static void test_query_after_id_max(void)
{
	struct elog_store *s;
	struct elog_filter f;
	struct collect c;

	tmp_setup();
	s = fixture();
	if (!s) { tmp_cleanup(); return; }
	elog_filter_init(&f);
	f.after_id = INT64_MAX;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 0);
	f.limit = 3;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 0);
	CHECK_INT(elog_filter_set_pattern(&f, "e", NULL), 0);
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 0);
	f.after_id = INT64_MAX - 1;
	f.limit = 0;
	CHECK_INT(run_query(s, &f, ELOG_ID_UNBOUNDED, &c), 0);
	CHECK_INT(c.n, 0);
	elog_filter_clear(&f);
	elog_store_close(s);
	tmp_cleanup();
}

static void test_cursors(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	int64_t id = -1;
	const char *path;

	tmp_setup();
	path = tmp_path("cursors.db");
	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(elog_store_cursor_get(s, "forward", &id, &err), 0);
	CHECK_INT(id, 0);                       /* never set */
	CHECK_INT(elog_store_cursor_set(s, "forward", 41, &err), 0);
	CHECK_INT(elog_store_cursor_set(s, "forward", 42, &err), 0);
	CHECK_INT(elog_store_cursor_set(s, "cluster", 7, &err), 0);
	elog_store_close(s);
	s = NULL;
	CHECK_INT(elog_store_open(&s, path, ELOG_STORE_READONLY, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(elog_store_cursor_get(s, "forward", &id, &err), 0);
	CHECK_INT(id, 42);                      /* the last set, after a reopen */
	CHECK_INT(elog_store_cursor_get(s, "cluster", &id, &err), 0);
	CHECK_INT(id, 7);
	/* a read-only store cannot save one, and says which */
	CHECK(elog_store_cursor_set(s, "forward", 43, &err) != 0);
	CHECK(strstr(err.msg, "cannot save cursor 'forward'") != NULL);
	elog_store_close(s);
	tmp_cleanup();
}

/* A history written by the release before schema 3 (records, component_stats, meta, and the
 * keys table that keys.c used to create on its own) is upgraded in place: its records and
 * keys stay, meta goes, cursors arrive. */
static void test_upgrade_from_v2(void)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	sqlite3 *db = NULL;
	sqlite3_stmt *st;
	const char *path;
	int64_t max = -1;

	tmp_setup();
	path = tmp_path("v2.db");
	CHECK_INT(sqlite3_open(path, &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db,
		"PRAGMA journal_mode = WAL;"
		"CREATE TABLE records (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL,"
		" arrival INTEGER NOT NULL, component TEXT NOT NULL, level INTEGER NOT NULL,"
		" msg TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',"
		" dedupe TEXT);"
		"CREATE INDEX records_component ON records(component, id);"
		"CREATE INDEX records_ts ON records(ts);"
		"CREATE UNIQUE INDEX records_dedupe ON records(dedupe) WHERE dedupe IS NOT NULL;"
		"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
		"CREATE TABLE component_stats (component TEXT NOT NULL, source TEXT NOT NULL,"
		" level INTEGER NOT NULL, n INTEGER NOT NULL,"
		" PRIMARY KEY (component, source, level)) WITHOUT ROWID;"
		"CREATE TABLE keys(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
		" hash TEXT NOT NULL UNIQUE, created INTEGER NOT NULL, last_used INTEGER,"
		" revoked INTEGER);"
		"INSERT INTO records (ts, arrival, component, level, msg) VALUES (5, 5, 'api', 2, 'hi');"
		"INSERT INTO component_stats VALUES ('api', '', 2, 1);"
		"INSERT INTO keys (name, hash, created) VALUES ('ci', 'abc', 1);"
		"PRAGMA application_id = 1701605223; PRAGMA user_version = 2;",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	CHECK_INT(elog_store_open(&s, path, 0, &err), 0);
	if (!s) { tmp_cleanup(); return; }
	CHECK_INT(elog_store_max_id(s, &max, &err), 0);
	CHECK_INT(max, 1);
	CHECK_INT(sqlite3_prepare_v2(elog_store_db(s),
				     "SELECT (SELECT user_version FROM pragma_user_version),"
				     " (SELECT name FROM keys),"
				     " (SELECT count(*) FROM sqlite_master WHERE name = 'meta'),"
				     " (SELECT count(*) FROM cursors)", -1, &st, NULL), SQLITE_OK);
	CHECK_INT(sqlite3_step(st), SQLITE_ROW);
	CHECK_INT(sqlite3_column_int(st, 0), 6);
	CHECK_STR((const char *)sqlite3_column_text(st, 1), "ci");
	CHECK_INT(sqlite3_column_int(st, 2), 0);
	CHECK_INT(sqlite3_column_int(st, 3), 0);
	sqlite3_finalize(st);
	elog_store_close(s);
	tmp_cleanup();
}

UNIT_MAIN(
	{ "cursors", test_cursors },
	{ "upgrade_from_v2", test_upgrade_from_v2 },
	{ "schema_created", test_schema_created },
	{ "reopen_keeps_data", test_reopen_keeps_data },
	{ "insert_ids_and_ts", test_insert_ids_and_ts },
	{ "dedupe", test_dedupe },
	{ "query_components", test_query_components },
	{ "query_levels", test_query_levels },
	{ "query_time_and_ids", test_query_time_and_ids },
	{ "query_limit", test_query_limit },
	{ "query_record_fields", test_query_record_fields },
	{ "foreign_sqlite_refused", test_foreign_sqlite_refused },
	{ "newer_schema_refused", test_newer_schema_refused },
	{ "garbage_refused", test_garbage_refused },
	{ "readonly_missing", test_readonly_missing },
	{ "disk_full", test_disk_full },
	{ "components_list", test_components_list },
	{ "query_plan", test_query_plan },
	{ "query_after_id_max", test_query_after_id_max }
)
