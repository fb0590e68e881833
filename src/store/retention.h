/*
 * retention.h — keeping the history within a size and an age: the oldest records are removed
 * first, a chunk (at most ELOG_RETAIN_CHUNK records) per transaction, so that the writer that
 * runs it never holds the write lock for more than a few ms at a time. What was removed is
 * remembered (meta 'removed_through' and 'removed_ts'; components.removed_through for
 * `elog prune -c`), so a reader asking for removed records is told, and ids are never reused.
 *
 * The size is what the files take on disk: the database and its WAL. Pages freed by a removal
 * are reused by the next records (the database file does not grow while they last); a history
 * created with schema 4 or later is in incremental auto_vacuum, so prune and a history found
 * over its bound give pages back to the file system.
 */
#ifndef ELOG_STORE_RETENTION_H
#define ELOG_STORE_RETENTION_H

#include <stdint.h>
#include "common/filter.h"

struct elog_err;
struct elog_store;

#define ELOG_RETAIN_CHUNK 4096                  /* records removed per transaction */
#define ELOG_RETAIN_MIN_BYTES (8LL << 20)       /* smallest --retain-size (README "Limits") */
#define ELOG_RETAIN_DEFAULT_MAX (4LL << 30)     /* default: 10% of the file system, at most */
#define ELOG_RETAIN_DEFAULT_PERCENT 10

/* What `elog ps` shows of the history as a whole. */
struct elog_history_info {
	int64_t db_bytes, wal_bytes;      /* the files' sizes on disk now */
	int64_t used_bytes;               /* pages holding data (page count less free pages) */
	int64_t records;
	int64_t first_id, last_id;        /* 0 when empty */
	int64_t first_ns, last_ns;        /* arrival of the oldest and the newest record */
	int64_t removed_through;          /* every id up to this one was removed (0: none) */
};

/* Fills *hi in one snapshot (O(components + log n)). Returns 0 or a negative code with err. */
int elog_store_history_info(struct elog_store *s, struct elog_history_info *hi,
			    struct elog_err *err);

/*
 * Removes, in one transaction, the oldest records with ids up to through (INT64_MAX: any),
 * of component comp (NULL: every component), at most max_n of them, with their counts in
 * component_stats; remembers what was removed. *n (may be NULL) gets how many were removed
 * (0: none left up to through). Returns 0 or a negative code with err.
 */
int elog_store_remove_oldest(struct elog_store *s, const char *comp, int64_t through,
			     int64_t max_n, int64_t *n, struct elog_err *err);

/* The largest id whose record arrived before before_ns (0: none). O(log n) lookups. */
int elog_store_id_before(struct elog_store *s, int64_t before_ns, int64_t *id,
			 struct elog_err *err);

struct elog_retention {
	int64_t max_bytes;    /* database + WAL on disk; 0: no bound */
	int64_t wal_bytes;    /* part of max_bytes kept for the WAL (the hub caps it there) */
	int64_t max_age_ns;   /* records that arrived longer ago go; 0: no bound */
};

/*
 * One retention pass: while the history is over r's bounds, removes chunks of its oldest
 * records, at most budget records in all (each chunk its own transaction; for the size bound
 * on a history with sealed blocks, a removal counts against the budget as the bytes it freed,
 * in records of the average size: *spent, may be NULL, gets what was counted; a removal of
 * blocks ends the pass, *more set while still over); gives free pages
 * at the end of the file back to the file system while the file is over the size bound (in
 * incremental auto_vacuum only). *removed gets how many records went, *more is set when it
 * is still over a bound. Returns 0 or a negative code with err.
 */
int elog_store_retain(struct elog_store *s, const struct elog_retention *r, int64_t now_ns,
		      int64_t budget, int64_t *removed, int64_t *spent, int *more,
		      struct elog_err *err);

/* The default bound for a history at path: ELOG_RETAIN_DEFAULT_PERCENT of the file system
 * holding it (its directory), at most ELOG_RETAIN_DEFAULT_MAX, at least ELOG_RETAIN_MIN_BYTES;
 * ELOG_RETAIN_DEFAULT_MAX when the file system cannot be asked. */
int64_t elog_retention_default_bytes(const char *path);

/* The part of max_bytes a WAL may take: an eighth, at most 128 MiB, at least 256 KiB. */
int64_t elog_retention_wal_bytes(int64_t max_bytes);

/*
 * For a reader with filter f: the largest removed id that f could have matched, when f asks
 * for records from a point (after_id, or since_ns) the history no longer reaches (0: it
 * reaches it, or nothing was removed). Returns 0 or a negative code with err.
 */
int elog_store_removed_for(struct elog_store *s, const struct elog_filter *f,
			   int64_t *through, struct elog_err *err);

/* Cuts the WAL back to bytes when it starts over (journal_size_limit; the default is
 * 160 MiB). */
void elog_store_set_wal_limit(struct elog_store *s, int64_t bytes);

/* Gives free pages back to the file system (incremental auto_vacuum only) and truncates the
 * WAL when no reader holds it. Returns 0 or a negative code with err. */
int elog_store_shrink(struct elog_store *s, struct elog_err *err);

#endif
