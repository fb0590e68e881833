/*
 * store_internal.h — what the files of the history's connection share (store.c: opening,
 * schema, insert; store_query.c: filtered queries, --tail bounds, components). Nothing
 * outside src/store/ includes it.
 */
#ifndef ELOG_STORE_INTERNAL_H
#define ELOG_STORE_INTERNAL_H

#include <stdint.h>
#include <sqlite3.h>

#include "common/err.h"
#include "store/store.h"

struct tail_cache;
struct stats_slot;

struct elog_store {
	sqlite3 *db;
	char *path;
	int readonly;
	sqlite3_stmt *st_begin;
	sqlite3_stmt *st_begin_immediate;
	sqlite3_stmt *st_commit;
	sqlite3_stmt *st_rollback;
	sqlite3_stmt *st_insert;
	sqlite3_stmt *st_insert_multi;
	struct commit_hook_slot {
		void (*fn)(void *ctx, int frames);
		void *ctx;
	} hook;
	sqlite3_stmt *st_max_id;
	sqlite3_stmt *st_component_first;
	sqlite3_stmt *st_component_next;
	struct tail_cache *tc;   /* --tail bounds of the last query with a fixed end (queries) */
	sqlite3_stmt *st_stats_upsert;     /* NULL on a read-only connection */
	struct stats_slot *stats;          /* STATS_SLOTS: the insert's counts per key */
	size_t nstats;
	sqlite3_stmt *st_component_seen;   /* NULL on a read-only connection */
	int64_t version;                   /* the schema's */
};

int store__sqlite_to_elog(int rc);
void store__stmt_done(sqlite3_stmt *st);
int store__stmt_exec(sqlite3_stmt *st);
void store__tail_cache_free(struct tail_cache *tc);
/* One integer from sql, binding a (or t when given and the statement has one parameter) when
 * it has parameters; *out is 0 when there is no row. Returns an SQLite code. */
int store__one_int(sqlite3 *db, const char *sql, int64_t a, const char *t, int64_t *out);

/* A text column, never NULL ("" for SQL NULL); valid until the next step. */
static inline char *store__col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return (char *)(t ? (const char *)t : "");
}

#endif
