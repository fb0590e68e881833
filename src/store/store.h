/*
 * store.h — the history: one SQLite file in WAL mode, schema versioned with
 * PRAGMA user_version. A struct elog_store is one connection; use it from one thread at a time
 * (the hub's writer owns one, each reader opens its own).
 *
 * Table records(id INTEGER PRIMARY KEY, ts, arrival, component, level, msg, fields, source,
 * dedupe), with indexes on (component, id), (ts) and a partial unique index on dedupe.
 * Schema 2 adds component_stats(component, source, level, n): how many records of each,
 * updated by elog_store_insert in the same transaction (a schema 1 file is migrated, the
 * summary filled from its records, when opened read-write).
 * Ids are assigned by SQLite on insert and are strictly increasing (rows are never deleted).
 * Schema 6 (issue 17): records is the hot table of the newest records, without secondary
 * indexes; older runs of records are sealed into compressed blocks (table blocks, seal.h,
 * block.h) and dedupe keys live in tables dedupe and dedupe_runs (keys "<prefix>:<n>" as runs
 * of n, dedupe.c) until retention removes their record. Every
 * function below reads blocks and hot rows in one snapshot: callers see one history, in id
 * order, whatever has been sealed.
 */
#ifndef ELOG_STORE_H
#define ELOG_STORE_H

#include <stddef.h>
#include <stdint.h>
#include "common/record.h"
#include "common/filter.h"

struct elog_err;
struct elog_store;

enum {
	ELOG_STORE_READONLY = 1,   /* open an existing file read-only (no create, no migrate) */
};

/*
 * Opens (creating directories and the file unless READONLY) the history at path, sets WAL,
 * creates or migrates the schema. A file that is not an elog history (another SQLite
 * database, or not SQLite) is refused and left untouched:
 * "cannot open history 'p': not an elog history file" / "...: file is not a database".
 * Returns 0 and *out, or a negative code with err set.
 */
int elog_store_open(struct elog_store **out, const char *path, int flags, struct elog_err *err);

/* Closes; accepts NULL. */
void elog_store_close(struct elog_store *s);

/* The path the store was opened with (owned by the store). */
const char *elog_store_path(const struct elog_store *s);

/*
 * Inserts recs[0..n) in one transaction. For each record: ts_ns 0 becomes arrival_ns; id is
 * set to the new row id, or to 0 when its non-empty dedupe_key was already stored (a
 * duplicate: nothing inserted). Either every record is committed or none is (on error the
 * transaction is rolled back, ids are left 0 and err says why, e.g. "database or disk is full").
 * *stored (may be NULL) receives the number of rows inserted.
 */
int elog_store_insert(struct elog_store *s, struct elog_record *recs, size_t n,
		      size_t *stored, struct elog_err *err);

/* elog_store_insert with more written in the same transaction: extra(ctx, s, err) runs after
 * the records are inserted (their ids set) and before the commit, also when n is 0; a non-zero
 * return (a negative code, err set) rolls everything back and is returned. */
typedef int (*elog_store_txn_fn)(void *ctx, struct elog_store *s, struct elog_err *err);
int elog_store_insert_txn(struct elog_store *s, struct elog_record *recs, size_t n,
			  size_t *stored, elog_store_txn_fn extra, void *ctx, struct elog_err *err);

/*
 * Calls fn(ctx, r) for each record matching f with id <= max_id (ELOG_ID_UNBOUNDED: no upper
 * bound; 0 matches nothing: a follower that joined an empty history must get no history),
 * in id order. With f->limit, only the last f->limit matching records. The record passed to fn
 * is only valid during the call. fn returns 0 to continue, non-zero to stop (that value is
 * returned). Returns 0 at the end, the non-zero value of fn, or a negative code with err.
 */
#define ELOG_ID_UNBOUNDED (-1)
typedef int (*elog_record_fn)(void *ctx, const struct elog_record *r);
int elog_store_query(struct elog_store *s, const struct elog_filter *f, int64_t max_id,
		     elog_record_fn fn, void *ctx, struct elog_err *err);

/* Largest id stored (0 when empty). */
int elog_store_max_id(struct elog_store *s, int64_t *out, struct elog_err *err);

/* Distinct component names, sorted; *names is a malloc'd array of malloc'd strings. */
int elog_store_components(struct elog_store *s, char ***names, size_t *n, struct elog_err *err);

/* The same in order of first appearance (smallest id first): the order components are given
 * their display colors in, so a component keeps its color in every run and every view. */
int elog_store_components_ordered(struct elog_store *s, char ***names, size_t *n,
				  struct elog_err *err);

/*
 * What `elog ps` shows of one component. Counts come from the component_stats summary
 * (schema 2: one row per component, source and level, kept in the insert's transaction), so
 * they cost O(rows of the summary), not O(records); first/last are the arrival times of the
 * component's first and last record (two index lookups); last_minute counts the records that
 * arrived in the 60 s before now_ns (an index range over those records only).
 */
#define ELOG_STATS_MAX_COMPONENTS 4096   /* components in one answer (README "Limits") */
#define ELOG_STATS_MAX_SOURCES 16        /* sources kept per component, the busiest first */
/* names and sources kept in one answer (64 bytes counted per component besides its name):
 * past it, components are omitted, and sources are (counted in sources_omitted) */
#define ELOG_STATS_MAX_BYTES (4u << 20)
#define ELOG_STATS_WINDOW_NS (60LL * 1000000000LL)
struct elog_component_stats {
	char *name;
	uint64_t count;
	int64_t first_ns, last_ns;            /* arrival of the first and last record; 0: none */
	uint64_t last_minute;
	uint64_t levels[ELOG_LEVEL_COUNT];
	char **sources;                       /* nsources malloc'd strings, most records first */
	size_t nsources;
	uint64_t sources_omitted;             /* distinct sources past ELOG_STATS_MAX_SOURCES */
};

/*
 * Fills *out with up to ELOG_STATS_MAX_COMPONENTS components sorted by name, within
 * ELOG_STATS_MAX_BYTES (*omitted counts the others), all read in one snapshot. A history of schema 1 opened read-only
 * (no summary yet) is counted by a scan of its records instead. Free with
 * elog_component_stats_free. Returns 0 or a negative code with err.
 */
int elog_store_stats(struct elog_store *s, int64_t now_ns, struct elog_component_stats **out,
		     size_t *n, uint64_t *omitted, struct elog_err *err);
void elog_component_stats_free(struct elog_component_stats *v, size_t n);

/*
 * Checkpoints off the writer's path: once called, commits on s no longer checkpoint by
 * themselves; fn(ctx, frames) runs on the committing thread after each commit with the WAL's
 * size in frames, so the owner can hand checkpointing to another thread and connection
 * (elog_store_checkpoint). A checkpoint inside a commit blocked the writer for the length of
 * an fsync (tens to hundreds of ms), which every follower then saw as latency.
 */
void elog_store_on_commit(struct elog_store *s, void (*fn)(void *ctx, int frames), void *ctx);

/* Copies what it can of the WAL into the database without blocking readers or the writer
 * (SQLITE_CHECKPOINT_PASSIVE). *log_frames / *done_frames (either may be NULL) get the WAL's
 * size and how much of it is now in the database; when they are equal the next write
 * transaction starts the WAL over from its beginning. Another checkpoint in progress is not
 * an error: both are then -1. Returns 0 or a negative code with err. */
int elog_store_checkpoint(struct elog_store *s, int *log_frames, int *done_frames,
			  struct elog_err *err);

/* Raw access for other modules of the store's concern (auth keys, tail state, registry):
 * the sqlite3 handle. Owned by the store. */
struct sqlite3 *elog_store_db(struct elog_store *s);

/*
 * Cursors (cursors.c): a named position in the history, for a reader that goes through it in
 * order on its own and must resume there after a restart (an OTLP forwarder, a cluster
 * publisher). elog_store_cursor_get gives 0 in *last_id for a name never set. set writes
 * (name, last_id) in its own transaction on a read-write store; last_id should only grow, but
 * nothing here enforces it. Both return 0 or a negative code with err.
 */
int elog_store_cursor_get(struct elog_store *s, const char *name, int64_t *last_id,
			  struct elog_err *err);
int elog_store_cursor_set(struct elog_store *s, const char *name, int64_t last_id,
			  struct elog_err *err);

/*
 * Lookups (lookup.c), for the cluster publisher and aggregator (src/outbound/cluster_*.c):
 * dedupe_exists sets *found when a record with dedupe key `key` is stored (one index seek);
 * count_after counts the records with id > after_id whose dedupe key does not start with
 * skip_prefix, stopping at cap (it reads at most cap rows), and gives the arrival time of the
 * first of them (0: none). Both return 0 or a negative code with err.
 */
int elog_store_dedupe_exists(struct elog_store *s, const char *key, int *found,
			     struct elog_err *err);
int elog_store_count_after(struct elog_store *s, int64_t after_id, const char *skip_prefix,
			   uint64_t cap, uint64_t *n, int64_t *first_arrival_ns,
			   struct elog_err *err);

#endif
