/*
 * seal.h — the sealer (store_blocks.c): packs the oldest rows of the hot table (records) into
 * one compressed block (store/block.h), in two steps so that the costly one holds no lock:
 *
 *   elog_store_seal_read copies the oldest rows (a few ms; serve's writer does it between
 *   two transactions, so no other connection holds a snapshot meanwhile), then
 *   elog_seal_encode compresses them (no connection: serve's sealer thread, at a lower
 *   priority) — elog_store_seal_prepare does both;
 *   elog_store_seal_commit, on the writer's connection, inserts the block and deletes those
 *   rows in one short write transaction, after checking that they are all still there (a
 *   removal meanwhile: nothing is written, the next prepare reads them again).
 *
 * A crash between or inside the steps loses nothing: the rows stay in the hot table until
 * the transaction that stores their block commits.
 */
#ifndef ELOG_STORE_SEAL_H
#define ELOG_STORE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"
#include "store/store.h"

struct elog_err;
struct elog_store;
struct elog_seal;

/* The newest records the hot table keeps (followers, cursors and exact tail reads stay on
 * plain rows); a block is sealed once the table holds this many more than that. */
#define ELOG_SEAL_KEEP_HOT 4096

/*
 * When the hot table holds at least keep + min_records rows, encodes its oldest (at most
 * ELOG_BLOCK_MAX_RECORDS, leaving keep) into *out; else *out is NULL (nothing to seal; also
 * on a history older than schema 6). min_records >= 1. Returns 0 or a negative code with err.
 */
int elog_store_seal_prepare(struct elog_store *s, int64_t keep, int64_t min_records,
			    struct elog_seal **out, struct elog_err *err);

/* The first half of elog_store_seal_prepare: *out holds the rows, not yet encoded. */
int elog_store_seal_read(struct elog_store *s, int64_t keep, int64_t min_records,
			 struct elog_seal **out, struct elog_err *err);

/* What elog_store_seal_read gives, from the caller's copy instead of the table: a seal of
 * recs[0..n) (n in 1..ELOG_BLOCK_MAX_RECORDS, ids increasing, their strings copied), which
 * must be the hot table's oldest rows as they were committed (serve's writer keeps what it
 * committed: reading 4096 rows back cost it ~4 ms a block, a stall every follower saw).
 * elog_store_seal_commit checks them as it does rows read from the table. */
struct elog_seal *elog_seal_from_records(const struct elog_record *recs, size_t n);

/* The smallest id in the hot table into *id (0: it is empty): one seek. Returns 0 or a
 * negative code with err. */
int elog_store_hot_first(struct elog_store *s, int64_t *id, struct elog_err *err);

/* The second half: encodes p's rows into its block (frees the rows). Pure CPU, any thread.
 * Returns 0 or a negative code with err. */
int elog_seal_encode(struct elog_seal *p, struct elog_err *err);

/* Stores p's block and deletes its rows in one transaction (s read-write); *sealed (may be
 * NULL) gets its record count, or 0 when its rows changed meanwhile (nothing written). p is
 * not freed. Returns 0 or a negative code with err. */
int elog_store_seal_commit(struct elog_store *s, const struct elog_seal *p, int64_t *sealed,
			   struct elog_err *err);

/*
 * elog_store_insert_txn for serve's writer under a burst: the records that, after the hot
 * table's rows, fill whole blocks are sealed in the same transaction instead of going in as
 * rows, and those hot rows deleted, so a record of a burst is written once, into its block
 * (as a row it was inserted, copied, compressed by the sealer and deleted again: most of the
 * writer's time). Only when n >= ELOG_BLOCK_MAX_RECORDS and the hot rows and the new records
 * fill at least one block more than the hot rows: every hot row is sealed (a block's ids are
 * all below every hot row's); the newest records short of a whole block stay rows when they
 * are fewer than half a block, else they make a smaller block of their own. Hot rows the
 * copies lack (an earlier serve's) are read back, up to 16384.
 * hot[0..nhot): the caller's copies of the hot table's rows, oldest first, consecutive ids
 * (not changed; strings borrowed). They are sealed only when the table's id range is theirs;
 * otherwise (rows an earlier serve left, a removal since) everything goes in as rows, as
 * elog_store_insert_txn does. *sealed_through (may be NULL): the largest id sealed, 0 when
 * none; the rows above it are hot. The rest as elog_store_insert_txn.
 */
int elog_store_insert_sealing(struct elog_store *s, struct elog_record *recs, size_t n,
			      const struct elog_record *hot, size_t nhot, int64_t *sealed_through,
			      size_t *stored, elog_store_txn_fn extra, void *ctx,
			      struct elog_err *err);

/* Frees a prepared block; accepts NULL. */
void elog_seal_free(struct elog_seal *p);

/* prepare + commit on s until nothing is left to seal (tests, tools): *sealed (may be NULL)
 * gets the records sealed. Returns 0 or a negative code with err. */
int elog_store_seal_now(struct elog_store *s, int64_t keep, int64_t min_records,
			int64_t *sealed, struct elog_err *err);

/*
 * Gives free pages back to the file system, at most step pages a call: once a burst is sealed,
 * the pages its hot rows took are free, and the file kept them (1.5 GB for a 10M-record
 * history whose pages in use were 13 bytes a record). Only in incremental auto_vacuum (a
 * history created by schema 4 or later; a no-op otherwise) and only while the free pages are
 * over ELOG_TRIM_MIN_FREE and an eighth of the file: a little free space is kept for what the
 * hot table takes next. *more (may be NULL) is set when there is still more to give back.
 * Returns 0 or a negative code with err.
 */
#define ELOG_TRIM_MIN_FREE 2048    /* pages (8 MiB of 4 KiB pages) */
int elog_store_trim_free(struct elog_store *s, int64_t step, int *more, struct elog_err *err);

#endif
