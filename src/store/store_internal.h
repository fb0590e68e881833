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

#endif
