/*
 * lookup.c — two small questions the cluster publisher and aggregator ask the history
 * (store.h): is a dedupe key stored, and how many records after an id are still to ship.
 */
#include <sqlite3.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "store/store.h"
#include "store/store_internal.h"

static int count_hot(struct elog_store *s, int64_t after_id, const char *skip_prefix,
		     uint64_t cap, uint64_t *n, int64_t *first_arrival_ns, struct elog_err *err);

static int lookup_fail(struct elog_store *s, struct elog_err *err)
{
	return elog_err_set(err, ELOG_EIO, "cannot read history '%s': %s", elog_store_path(s),
			    sqlite3_errmsg(elog_store_db(s)));
}

int elog_store_dedupe_exists(struct elog_store *s, const char *key, int *found,
			     struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	/* schema 6: the dedupe tables (keys of sealed records too; dedupe.c) */
	if (s->version >= 6) {
		if (store__dedupe_exists(s, key, found) != SQLITE_OK)
			return lookup_fail(s, err);
		return 0;
	}
	/* before, the partial unique index on dedupe answers it (dedupe = ? implies NOT NULL) */
	if (sqlite3_prepare_v2(elog_store_db(s), "SELECT 1 FROM records WHERE dedupe = ?1", -1,
			       &st, NULL) != SQLITE_OK)
		return lookup_fail(s, err);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lookup_fail(s, err);
	return 0;
}

int elog_store_count_after(struct elog_store *s, int64_t after_id, const char *skip_prefix,
			   uint64_t cap, uint64_t *n, int64_t *first_arrival_ns, struct elog_err *err)
{
	size_t plen = strlen(skip_prefix);
	uint64_t sealed = 0;
	int in_txn = 0, rc, ret = 0;

	*n = 0;
	*first_arrival_ns = 0;
	if (s->version >= 6 || store__has_blocks(s->db)) {
		/* the sealed records first (older than the hot rows), in one snapshot with them */
		struct store_blocks b;

		if (sqlite3_get_autocommit(s->db)) {
			if (sqlite3_exec(s->db, "BEGIN;", NULL, NULL, NULL) != SQLITE_OK)
				return lookup_fail(s, err);
			in_txn = 1;
		}
		rc = store__blocks_open(s, &b, after_id + 1, INT64_MAX, 0);
		while (rc == SQLITE_OK && sealed < cap && (rc = store__blocks_next(&b)) == SQLITE_ROW) {
			rc = SQLITE_OK;
			if (b.sum.id_hi <= after_id)
				continue;
			if (store__blocks_decode(s, &b, err) != 0) {
				ret = err ? err->code : ELOG_EIO;
				break;
			}
			for (size_t i = 0; i < b.view.n && sealed < cap; i++) {
				const struct elog_record *r = &b.view.recs[i];

				/* as the SQL below: a record with a key that starts with the
				 * prefix is skipped */
				if (r->id <= after_id || (*r->dedupe_key &&
							  strncmp(r->dedupe_key, skip_prefix,
								  plen) == 0))
					continue;
				if (!sealed++)
					*first_arrival_ns = r->arrival_ns;
			}
		}
		store__blocks_close(&b);
		if (ret == 0 && rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
			ret = lookup_fail(s, err);
		if (ret != 0 || sealed >= cap) {
			if (in_txn)
				sqlite3_exec(s->db, "COMMIT;", NULL, NULL, NULL);
			*n = ret ? 0 : sealed;
			if (ret)
				*first_arrival_ns = 0;
			return ret;
		}
		cap -= sealed;
	}
	ret = count_hot(s, after_id, skip_prefix, cap, n, sealed ? NULL : first_arrival_ns, err);
	*n += sealed;
	if (in_txn)
		sqlite3_exec(s->db, "COMMIT;", NULL, NULL, NULL);
	return ret;
}

/* The hot rows' part of elog_store_count_after (first_arrival_ns NULL: not wanted). */
static int count_hot(struct elog_store *s, int64_t after_id, const char *skip_prefix,
		     uint64_t cap, uint64_t *n, int64_t *first_arrival_ns, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*n = 0;
	/* at most cap rows are read: the count stops there */
	if (sqlite3_prepare_v2(elog_store_db(s),
			       "SELECT count(*) FROM (SELECT 1 FROM records WHERE id > ?1 AND "
			       "(dedupe IS NULL OR substr(dedupe, 1, ?3) <> ?2) LIMIT ?4)", -1, &st,
			       NULL) != SQLITE_OK)
		return lookup_fail(s, err);
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_text(st, 2, skip_prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)strlen(skip_prefix));
	sqlite3_bind_int64(st, 4, (sqlite3_int64)cap);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return lookup_fail(s, err);
	if (!*n || !first_arrival_ns)
		return 0;
	/* the first of them, by id: one step of the primary key */
	if (sqlite3_prepare_v2(elog_store_db(s),
			       "SELECT arrival FROM records WHERE id > ?1 AND "
			       "(dedupe IS NULL OR substr(dedupe, 1, ?3) <> ?2) ORDER BY id LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return lookup_fail(s, err);
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_text(st, 2, skip_prefix, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)strlen(skip_prefix));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*first_arrival_ns = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return lookup_fail(s, err);
	return 0;
}
