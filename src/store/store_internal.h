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
struct dk_run;

#define INSERT_SIZES 4
struct elog_store {
	sqlite3 *db;
	char *path;
	int readonly;
	sqlite3_stmt *st_begin;
	sqlite3_stmt *st_begin_immediate;
	sqlite3_stmt *st_commit;
	sqlite3_stmt *st_rollback;
	sqlite3_stmt *st_insert[INSERT_SIZES];   /* store.c's, of 128, 32, 8 and 1 rows */
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
	sqlite3_stmt *st_dk[9];            /* dedupe.c's, prepared on first use */
	struct dk_run *dk_runs;            /* dedupe.c's runs of the current insert (batched) */
	size_t ndk_runs;
};

int store__sqlite_to_elog(int rc);
void store__stmt_done(sqlite3_stmt *st);
int store__stmt_exec(sqlite3_stmt *st);
void store__tail_cache_free(struct tail_cache *tc);
/* One integer from sql, binding a (or t when given and the statement has one parameter) when
 * it has parameters; *out is 0 when there is no row. Returns an SQLite code. */
int store__one_int(sqlite3 *db, const char *sql, int64_t a, const char *t, int64_t *out);

/*
 * Dedupe keys (dedupe.c, schema 6): the only functions that read or write them. A key
 * "<prefix>:<n>" (n canonical decimal, fits int64) is kept in a run of dedupe_runs, any other
 * in dedupe. store__dedupe_split says which (1: *plen is the prefix's length, *n the number).
 * exists sets *found; add stores key for the record id (*added 0: already stored, the record
 * is a duplicate; the same key twice in one transaction is stored once); remove is told that
 * key's record goes, horizon being an id through which every record is gone after the
 * removal (0 when unknown, as for a removal of one component: then runs stay). SQLite codes.
 */
int store__dedupe_split(const char *key, size_t *plen, int64_t *n);
int store__dedupe_exists(struct elog_store *s, const char *key, int *found);
int store__dedupe_add(struct elog_store *s, const char *key, int64_t id, int *added);
int store__dedupe_remove(struct elog_store *s, const char *key, int64_t horizon);
/* store__dedupe_add for the records of one insert transaction, in id order: the runs it
 * extends stay in memory (dedupe.c) until store__dedupe_flush writes them back, which the
 * insert calls before it commits (exists, add and remove call it first); after a rollback,
 * store__dedupe_forget drops them. SQLite codes. */
int store__dedupe_add_batched(struct elog_store *s, const char *key, int64_t id, int *added);
int store__dedupe_flush(struct elog_store *s);
void store__dedupe_forget(struct elog_store *s);
/* Moves the keys of records (schema 5) into the dedupe tables, during the upgrade. */
int store__dedupe_upgrade(struct elog_store *s);
void store__dedupe_close(struct elog_store *s);

/*
 * Sealed blocks (store_blocks.c, schema 6). A query reads them with the hot rows in one read
 * transaction; every block's ids are below every hot row's (the sealer takes the oldest).
 * store__blocks_open lists the blocks whose id range meets [lo, hi], in id order (desc:
 * newest first); store__blocks_next steps (SQLITE_ROW with the summary set, SQLITE_DONE, or an
 * error); store__blocks_decode decodes the current block into b->view (one view reused).
 */
#include "store/block.h"
struct store_blocks {
	sqlite3_stmt *st;               /* the summaries only: a step reads no blob */
	sqlite3 *db;
	sqlite3_stmt *st_filter, *st_data;   /* one block's filter, its data: when asked */
	struct elog_block_summary sum;
	int64_t nkeys;                  /* records with a dedupe key */
	const char *components;         /* "name\tcount\n" lines; valid until the next step */
	struct elog_block_view view;
};
/* 1 when the history has a blocks table (schema 6), 0 when not; inside the caller's
 * transaction, so a reader of a file upgraded meanwhile sees one or the other, whole. */
int store__has_blocks(sqlite3 *db);
int store__blocks_open(struct elog_store *s, struct store_blocks *b, int64_t lo, int64_t hi,
		       int desc);
int store__blocks_next(struct store_blocks *b);
int store__blocks_decode(struct elog_store *s, struct store_blocks *b, struct elog_err *err);
/* The current block's token filter (*len bytes), read only when asked: a query without a
 * pattern never reads the filters (about 9 KiB a block; at 10M records reading them all was
 * most of a 1-second window's time). Valid until the next step. */
const unsigned char *store__blocks_filter(struct store_blocks *b, size_t *len);
void store__blocks_close(struct store_blocks *b);
/* Whether a block's component lines may hold name: 1 (listed, or the list cannot be read
 * with certainty), 0 (certainly not). */
int store__block_has_component(const char *components, const char *name);
/* Calls fn(ctx, name, len, count) for each component line, the name unescaped (block.h) and
 * valid during the call only; returns -1 when a line cannot be read, else 0. */
int store__block_components_each(const char *components,
				 void (*fn)(void *ctx, const char *name, size_t len, int64_t n),
				 void *ctx);
struct elog_seal;
int store__seal_encode(struct elog_store *s, const struct elog_record *recs, size_t n,
		       struct elog_seal **out, struct elog_err *err);
int store__seal_insert(struct elog_store *s, const struct elog_seal *p);
/* The hot table's oldest rows (with ids below `below`, when not 0), at most max, into
 * recs[0..*n) (strings in strs), in id order, inside the caller's transaction. SQLite code. */
struct elog_arena;
int store__hot_rows(struct elog_store *s, struct elog_record *recs, size_t max, int64_t below,
		    size_t *n, struct elog_arena *strs);

/* A text column, never NULL ("" for SQL NULL); valid until the next step. */
static inline char *store__col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return (char *)(t ? (const char *)t : "");
}

#endif
