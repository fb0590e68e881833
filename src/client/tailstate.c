/*
 * tailstate.c — the state database of `elog tail` (see tailstate.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>

#include "client/tailstate.h"
#include "common/err.h"
#include "common/util.h"

#define TAILSTATE_VERSION 1

#define SQL_SCHEMA \
	"CREATE TABLE IF NOT EXISTS tail_files(" \
	" dev INTEGER NOT NULL, ino INTEGER NOT NULL, gen INTEGER NOT NULL," \
	" fplen INTEGER NOT NULL, fp INTEGER NOT NULL, off INTEGER NOT NULL," \
	" path TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY(dev, ino));" \
	"PRAGMA user_version = 1;"
#define SQL_GET "SELECT gen, fplen, fp, off FROM tail_files WHERE dev = ?1 AND ino = ?2"
#define SQL_PUT "INSERT OR REPLACE INTO tail_files(dev, ino, gen, fplen, fp, off, path, updated)" \
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
#define SQL_ADVANCE "UPDATE tail_files SET off = ?4, updated = ?5" \
		    " WHERE dev = ?1 AND ino = ?2 AND gen = ?3 AND off < ?4"
#define SQL_FORGET "DELETE FROM tail_files WHERE dev = ?1 AND ino = ?2 AND gen = ?3"

struct elog_tailstate {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *get, *put, *advance, *forget;
};

static int db_error(struct elog_tailstate *st, const char *what, struct elog_err *err)
{
	int code = sqlite3_errcode(st->db);

	return elog_err_set(err, code == SQLITE_FULL ? ELOG_EFULL : ELOG_EIO,
			    "cannot %s tail state '%s': %s", what, st->path, sqlite3_errmsg(st->db));
}

/* mkdir -p of the directory part of path. */
static int make_parent(const char *path)
{
	char *dir = xstrdup(path), *p;

	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

int elog_tailstate_open(struct elog_tailstate **out, const char *path, struct elog_err *err)
{
	struct elog_tailstate *st = xcalloc(1, sizeof(*st));
	sqlite3_stmt *v = NULL;
	int version = 0;

	st->path = xstrdup(path);
	if (make_parent(path) != 0) {
		elog_err_set(err, ELOG_EIO, "cannot create the directory of tail state '%s': %s",
			     path, strerror(errno));
		goto fail;
	}
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		if (!st->db) {
			elog_err_set(err, ELOG_ENOMEM, "cannot open tail state '%s'", path);
			goto fail;
		}
		db_error(st, "open", err);
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &v, NULL) != SQLITE_OK ||
	    sqlite3_step(v) != SQLITE_ROW) {
		sqlite3_finalize(v);
		db_error(st, "open", err);
		goto fail;
	}
	version = sqlite3_column_int(v, 0);
	sqlite3_finalize(v);
	if (version > TAILSTATE_VERSION) {
		elog_err_set(err, ELOG_EIO, "cannot open tail state '%s': made by a newer elog "
			     "(version %d)", path, version);
		goto fail;
	}
	if (sqlite3_exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(st->db, SQL_SCHEMA, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, SQL_GET, -1, &st->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, SQL_PUT, -1, &st->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, SQL_ADVANCE, -1, &st->advance, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, SQL_FORGET, -1, &st->forget, NULL) != SQLITE_OK) {
		db_error(st, "open", err);
		goto fail;
	}
	*out = st;
	return 0;
fail:
	elog_tailstate_close(st);
	return err && err->code ? err->code : ELOG_EIO;
}

void elog_tailstate_close(struct elog_tailstate *st)
{
	if (!st)
		return;
	sqlite3_finalize(st->get);
	sqlite3_finalize(st->put);
	sqlite3_finalize(st->advance);
	sqlite3_finalize(st->forget);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

/* Steps a prepared write statement once, then resets it. */
static int step_done(struct elog_tailstate *st, sqlite3_stmt *s, const char *what,
		     struct elog_err *err)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? 0 : db_error(st, what, err);
}

int elog_tailstate_get(struct elog_tailstate *st, uint64_t dev, uint64_t ino,
		       struct elog_tail_row *row, struct elog_err *err)
{
	int rc;

	sqlite3_bind_int64(st->get, 1, (sqlite3_int64)dev);
	sqlite3_bind_int64(st->get, 2, (sqlite3_int64)ino);
	rc = sqlite3_step(st->get);
	if (rc == SQLITE_ROW) {
		row->dev = dev;
		row->ino = ino;
		row->gen = sqlite3_column_int64(st->get, 0);
		row->fplen = sqlite3_column_int64(st->get, 1);
		row->fp = (uint64_t)sqlite3_column_int64(st->get, 2);
		row->offset = sqlite3_column_int64(st->get, 3);
	}
	sqlite3_reset(st->get);
	sqlite3_clear_bindings(st->get);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_error(st, "read", err);
}

int elog_tailstate_put(struct elog_tailstate *st, const struct elog_tail_row *row, const char *path,
		       struct elog_err *err)
{
	sqlite3_bind_int64(st->put, 1, (sqlite3_int64)row->dev);
	sqlite3_bind_int64(st->put, 2, (sqlite3_int64)row->ino);
	sqlite3_bind_int64(st->put, 3, row->gen);
	sqlite3_bind_int64(st->put, 4, row->fplen);
	sqlite3_bind_int64(st->put, 5, (sqlite3_int64)row->fp);
	sqlite3_bind_int64(st->put, 6, row->offset);
	sqlite3_bind_text(st->put, 7, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st->put, 8, elog_now_ns());
	return step_done(st, st->put, "write", err);
}

int elog_tailstate_advance(struct elog_tailstate *st, uint64_t dev, uint64_t ino, int64_t gen,
			   int64_t offset, struct elog_err *err)
{
	sqlite3_bind_int64(st->advance, 1, (sqlite3_int64)dev);
	sqlite3_bind_int64(st->advance, 2, (sqlite3_int64)ino);
	sqlite3_bind_int64(st->advance, 3, gen);
	sqlite3_bind_int64(st->advance, 4, offset);
	sqlite3_bind_int64(st->advance, 5, elog_now_ns());
	return step_done(st, st->advance, "write", err);
}

int elog_tailstate_forget(struct elog_tailstate *st, uint64_t dev, uint64_t ino, int64_t gen,
			  struct elog_err *err)
{
	sqlite3_bind_int64(st->forget, 1, (sqlite3_int64)dev);
	sqlite3_bind_int64(st->forget, 2, (sqlite3_int64)ino);
	sqlite3_bind_int64(st->forget, 3, gen);
	return step_done(st, st->forget, "write", err);
}

int elog_tailstate_begin(struct elog_tailstate *st, struct elog_err *err)
{
	return sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK ? 0
	       : db_error(st, "write", err);
}

int elog_tailstate_commit(struct elog_tailstate *st, struct elog_err *err)
{
	return sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
	       : db_error(st, "write", err);
}
