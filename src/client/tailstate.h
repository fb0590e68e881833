/*
 * tailstate.h — the state database of `elog tail`: for each followed file, keyed by device and
 * inode, its identity (generation and a fingerprint of its first bytes) and the offset up to
 * which the server has acknowledged its lines. One SQLite file in WAL mode, schema versioned
 * with PRAGMA user_version. A struct elog_tailstate is one connection, for one thread.
 */
#ifndef ELOG_TAILSTATE_H
#define ELOG_TAILSTATE_H

#include <stdint.h>

struct elog_err;
struct elog_tailstate;

struct elog_tail_row {
	uint64_t dev, ino;
	int64_t gen;        /* bumped each time the inode holds new content (truncation, reuse) */
	int64_t fplen;      /* bytes of the head the fingerprint covers */
	uint64_t fp;        /* FNV-1a 64 of those bytes */
	int64_t offset;     /* acknowledged up to here */
};

/* Opens (creating the directories and the file) the state database at path. */
int elog_tailstate_open(struct elog_tailstate **out, const char *path, struct elog_err *err);
/* Closes; accepts NULL. */
void elog_tailstate_close(struct elog_tailstate *st);

/* Looks up dev/ino: 1 and *row when known, 0 when not, or a negative code. */
int elog_tailstate_get(struct elog_tailstate *st, uint64_t dev, uint64_t ino,
		       struct elog_tail_row *row, struct elog_err *err);
/* Inserts or replaces the row of row->dev/ino; path is kept for people reading the file. */
int elog_tailstate_put(struct elog_tailstate *st, const struct elog_tail_row *row, const char *path,
		       struct elog_err *err);
/* Moves the offset of dev/ino forward to offset, only while the row still has generation gen. */
int elog_tailstate_advance(struct elog_tailstate *st, uint64_t dev, uint64_t ino, int64_t gen,
			   int64_t offset, struct elog_err *err);
/* Drops the row of dev/ino when it still has generation gen (the file is gone). */
int elog_tailstate_forget(struct elog_tailstate *st, uint64_t dev, uint64_t ino, int64_t gen,
			  struct elog_err *err);
/* Groups writes in one transaction. */
int elog_tailstate_begin(struct elog_tailstate *st, struct elog_err *err);
int elog_tailstate_commit(struct elog_tailstate *st, struct elog_err *err);

#endif
