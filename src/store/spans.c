/*
 * spans.c — the spans table (schema 5; spans.h).
 */
#include <string.h>
#include <sys/random.h>
#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "store/spans.h"
#include "store/store.h"

#define SQL_SPANS_LAST   "SELECT key FROM spans ORDER BY key DESC LIMIT 1"
#define SQL_SPANS_INSERT "INSERT INTO spans (key, span, resource) VALUES (?1, ?2, ?3)"
#define SQL_SPANS_READ   "SELECT key, span, resource FROM spans WHERE key > ?1 ORDER BY key LIMIT ?2"
#define SQL_SPANS_COUNT  "SELECT count(*) FROM spans"

static int spans_fail(struct elog_store *s, const char *what, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int rc = sqlite3_errcode(db) & 0xff;

	return elog_err_set(err, rc == SQLITE_FULL ? ELOG_EFULL : ELOG_EIO,
			    "cannot %s spans in '%s': %s", what, elog_store_path(s),
			    sqlite3_errmsg(db));
}

/* key += 1, as one 128-bit big-endian number. */
static void key_inc(unsigned char *k)
{
	for (int i = ELOG_SPAN_KEY_BYTES - 1; i >= 0; i--)
		if (++k[i] != 0)
			break;
}

/* The next key after last (all zero: none yet), from the clock when it is greater. */
static void key_next(unsigned char *key, const unsigned char *last)
{
	uint64_t ms = (uint64_t)(elog_now_ns() / NS_PER_MS);
	size_t got = 0;

	for (int i = 0; i < 6; i++)
		key[i] = (unsigned char)(ms >> (8 * (5 - i)));
	while (got < 10) {
		ssize_t r = getrandom(key + 6 + got, 10 - got, 0);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (got < 10)   /* no randomness: the counter still makes it unique */
		memset(key + 6 + got, 0, 10 - got);
	if (memcmp(key, last, ELOG_SPAN_KEY_BYTES) <= 0) {
		memcpy(key, last, ELOG_SPAN_KEY_BYTES);
		key_inc(key);
	}
}

int elog_spans_insert(struct elog_store *s, struct elog_span_row *rows, size_t n,
		      struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	unsigned char last[ELOG_SPAN_KEY_BYTES] = { 0 };
	int rc;

	if (n == 0)
		return 0;
	if (sqlite3_prepare_v2(db, SQL_SPANS_LAST, -1, &st, NULL) != SQLITE_OK)
		return spans_fail(s, "write", err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(st, 0) == ELOG_SPAN_KEY_BYTES)
		memcpy(last, sqlite3_column_blob(st, 0), ELOG_SPAN_KEY_BYTES);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return spans_fail(s, "write", err);
	if (sqlite3_prepare_v2(db, SQL_SPANS_INSERT, -1, &st, NULL) != SQLITE_OK)
		return spans_fail(s, "write", err);
	for (size_t i = 0; i < n; i++) {
		key_next(rows[i].key, last);
		memcpy(last, rows[i].key, ELOG_SPAN_KEY_BYTES);
		sqlite3_bind_blob(st, 1, rows[i].key, ELOG_SPAN_KEY_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, rows[i].span_len ? rows[i].span : "", (int)rows[i].span_len,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, rows[i].resource_len ? rows[i].resource : "",
				  (int)rows[i].resource_len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			rc = spans_fail(s, "write", err);
			sqlite3_finalize(st);
			return rc;
		}
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
	sqlite3_finalize(st);
	return 0;
}

/* True when the history has no spans table (schema before 5, opened read-only). */
static int no_table(struct elog_store *s)
{
	return strstr(sqlite3_errmsg(elog_store_db(s)), "no such table") != NULL;
}

int elog_spans_read(struct elog_store *s, const void *after, size_t after_len, uint32_t max,
		    elog_span_fn fn, void *ctx, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (max == 0)
		return 0;
	if (sqlite3_prepare_v2(db, SQL_SPANS_READ, -1, &st, NULL) != SQLITE_OK)
		return no_table(s) ? 0 : spans_fail(s, "read", err);
	/* a zero-length blob compares greater than NULL and less than every key */
	sqlite3_bind_blob(st, 1, after_len ? after : "", (int)after_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *k = sqlite3_column_blob(st, 0);
		unsigned char key[ELOG_SPAN_KEY_BYTES] = { 0 };
		int kn = sqlite3_column_bytes(st, 0);
		const void *span = sqlite3_column_blob(st, 1);
		size_t span_len = (size_t)sqlite3_column_bytes(st, 1);
		const void *res = sqlite3_column_blob(st, 2);
		size_t res_len = (size_t)sqlite3_column_bytes(st, 2);

		memcpy(key, k, kn < ELOG_SPAN_KEY_BYTES ? (size_t)kn : ELOG_SPAN_KEY_BYTES);
		ret = fn(ctx, key, span ? span : "", span_len, res ? res : "", res_len);
		if (ret)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = spans_fail(s, "read", err);
	sqlite3_finalize(st);
	return ret;
}

int elog_spans_count(struct elog_store *s, int64_t *n, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	if (sqlite3_prepare_v2(elog_store_db(s), SQL_SPANS_COUNT, -1, &st, NULL) != SQLITE_OK)
		return no_table(s) ? 0 : spans_fail(s, "count", err);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : spans_fail(s, "count", err);
}
