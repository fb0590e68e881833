/*
 * cursors.c — named positions in the history (table cursors, schema 3; store.h).
 */
#include <sqlite3.h>

#include "common/err.h"
#include "common/util.h"
#include "store/store.h"

static int cursor_fail(struct elog_store *s, const char *what, const char *name,
		       struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int rc = sqlite3_errcode(db) & 0xff;

	return elog_err_set(err, rc == SQLITE_FULL ? ELOG_EFULL : ELOG_EIO,
			    "cannot %s cursor '%s' in '%s': %s", what, name, elog_store_path(s),
			    sqlite3_errmsg(db));
}

int elog_store_cursor_get(struct elog_store *s, const char *name, int64_t *last_id,
			  struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*last_id = 0;
	if (sqlite3_prepare_v2(elog_store_db(s), "SELECT last_id FROM cursors WHERE name = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return cursor_fail(s, "read", name, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*last_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return cursor_fail(s, "read", name, err);
	return 0;
}

int elog_store_cursor_set(struct elog_store *s, const char *name, int64_t last_id,
			  struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(elog_store_db(s),
			       "INSERT INTO cursors (name, last_id, updated) VALUES (?1, ?2, ?3) "
			       "ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id, "
			       "updated = excluded.updated", -1, &st, NULL) != SQLITE_OK)
		return cursor_fail(s, "save", name, err);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, last_id);
	sqlite3_bind_int64(st, 3, elog_now_ns());
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return cursor_fail(s, "save", name, err);
	return 0;
}
