/*
 * hub.h — the ingest path and live fan-out of `elog serve`.
 *
 * One writer thread owns the history's write connection and commits everything submitted to it
 * in batched transactions (group commit). A submission's done callback runs on the writer
 * thread after its transaction committed (or failed): that is the only point at which a sender
 * may be acknowledged. Committed records are then published once, into one shared list bounded
 * in records and bytes (live_records, live_bytes); the writer never runs a follower's filter.
 * Each follower matches on a reader's thread (its own, elog_follower_next, or one that serves
 * many in turn, elog_follower_scan and elog_hub_wait_publish: serve's fan-out,
 * server/svc_read.c) from its own position in the list; one that falls so far behind that its
 * position left the list is told the id range it missed (it reads it from the history). So no
 * follower slows ingest, and memory for followers is the list plus, per follower inside
 * elog_follower_next, a reference to one shared chunk (at most 1024 records, about 1 MiB, and
 * their wire encoding, freed by the last reader once it left the list) and what it copies out
 * (at most `max` records, about 256 KiB; elog_follower_scan copies nothing, its caller takes
 * the bytes it wants): it does not grow with ingest, whatever the followers' number or speed.
 * Each record is encoded for the wire once, when its chunk is built (the list's byte bound
 * counts the encoding too).
 */
#ifndef ELOG_HUB_H
#define ELOG_HUB_H

#include <stddef.h>
#include <stdint.h>
#include "common/record.h"
#include "common/filter.h"

struct elog_err;
struct elog_store;
struct elog_hub;
struct elog_follower;
struct elog_clock;

struct elog_ingest;
/* Called on the writer thread; rc 0 or negative with msg. The records still belong to the
 * submitter, who may free them from here on. */
typedef void (*elog_ingest_done_fn)(struct elog_ingest *in, int rc, const char *msg);

struct elog_ingest {
	struct elog_record *recs;   /* owned by the submitter; ids filled on commit */
	size_t n;
	elog_ingest_done_fn done;
	void *ctx;
	size_t stored;              /* set before done: rows inserted (duplicates excluded) */
	/* Optional, for writes that must commit with the records (spans, svc_otlp.c): runs on
	 * the writer thread inside the transaction that commits recs, after they are inserted
	 * (ids set in the hub's copy) and before the commit. Non-zero (a negative code, err set)
	 * rolls the transaction back: every submission of it gets done with that error. */
	int (*in_txn)(struct elog_ingest *in, struct elog_store *s, struct elog_err *err);
	struct elog_ingest *next;   /* hub's */
	size_t bytes;               /* hub's: what the records hold, counted against the bound */
	struct redact_undo *undo;   /* hub's: strings redaction replaced, put back before done */
};

struct elog_hub_opts {
	size_t max_queued_records;  /* submit blocks beyond this (backpressure); 0: 262144 */
	size_t max_queued_bytes;    /* and beyond this many bytes of records; 0: 256 MiB */
	size_t max_batch_records;   /* records per transaction; 0: 16384 */
	size_t live_records;        /* records the shared live list keeps; 0: 16384 */
	size_t live_bytes;          /* bytes it keeps (records' sizes); 0: 16 MiB */
	int wal_cap_frames;         /* WAL frames before the writer makes it start over (see
				     * hub.c); 0: 32768 (128 MiB) */
	struct elog_redactor *redact;   /* borrowed, outlives the hub; NULL: records are kept
					 * as submitted (serve --no-redact) */
	const struct elog_clock *clock;  /* arrival times and followers' deadlines (common/clock.h);
				     * NULL: the system's. Kept, not copied. */
	int64_t retain_bytes;       /* history (database + WAL) bound; 0: none (retention.h) */
	int64_t retain_age_ns;      /* records older than this go; 0: kept */
};

/* Opens the history at db_path for writing and starts the writer. */
int elog_hub_open(struct elog_hub **out, const char *db_path, const struct elog_hub_opts *o,
		  struct elog_err *err);

/* Commits everything submitted, stops the writer, ends followers, closes the history. */
void elog_hub_close(struct elog_hub *h);

/* Submits in for commit; sets arrival times. Redacts the records first (common/redact.h),
 * on the caller's thread, before anything stores, queues or publishes them: every ingest
 * path goes through here, so this is the one place redaction happens for the history. Blocks
 * while the hub holds more than its queue bound (backpressure). Returns 0, or ELOG_EUNAVAIL
 * when the hub is closing (done not called). */
int elog_hub_submit(struct elog_hub *h, struct elog_ingest *in);

/* Submits recs and waits for their commit. Returns 0 or a negative code with err. */
int elog_hub_submit_wait(struct elog_hub *h, struct elog_record *recs, size_t n, size_t *stored,
			 struct elog_err *err);

/* Registers a follower with a copy of filter f. *live_after receives the largest id committed
 * at registration: history up to it comes from the store, everything after through the
 * follower, so there is neither gap nor duplicate between the two. */
struct elog_follower *elog_hub_follow(struct elog_hub *h, const struct elog_filter *f,
				      int64_t *live_after);

/*
 * Waits up to timeout_ns for live records, and matches them against the follower's filter on
 * the caller's thread. Copies up to max matching records (about 256 KiB at most) into out
 * (caller frees each with elog_record_clear) and sets *n. When the follower fell so far behind
 * that the records after its position left the shared list, *missed counts the committed
 * records it did not see (matching or not) and *missed_from..*missed_to is their id range
 * (every committed id in it); it is reported after the records in out (all of lower ids), so
 * reading the range from the history with the filter after *out keeps id order. Returns 1 when
 * something is returned (records or a missed count), 0 on timeout, -1 when the hub is closing.
 */
int elog_follower_next(struct elog_follower *f, struct elog_record *out, size_t max, size_t *n,
		       uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		       int64_t timeout_ns);

/*
 * What elog_follower_scan hands over for each live record that matches the follower's filter:
 * the record (r and its strings valid only during the call) and the same record encoded as
 * field 1 of an elog.v1.RecordPage (common/wire.h: the bytes elog_wire_put_record(b, 1, r)
 * appends), encoded once per commit for every follower. Runs on the caller's thread with no
 * lock held. Returns non-zero to stop after this record (a page is full): the follower's
 * position is then just after it.
 */
typedef int (*elog_follower_emit_fn)(void *ctx, const struct elog_record *r, const void *wire,
				     size_t wire_len);

/*
 * elog_follower_next without a copy: waits as it does, then calls emit for each matching
 * record of everything published since the follower's position (all of it, across commits,
 * until emit returns non-zero, the timeout passes, or a missed range must be reported), so a
 * follower that comes back after a while takes what accumulated in one go. *n counts the
 * records emitted; *missed.. and the return value as elog_follower_next's. timeout_ns <= 0:
 * does not wait, and scans what is published for 2 ms at most.
 */
int elog_follower_scan(struct elog_follower *f, elog_follower_emit_fn emit, void *ctx,
		       size_t *n, uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		       int64_t timeout_ns);

/* How many followers are registered now (read without the hub's lock: it may be a moment
 * old). */
size_t elog_hub_followers(struct elog_hub *h);

/*
 * For a thread that serves many followers: waits until the hub publishes, or elog_hub_kick is
 * called, after what *mark saw (zeroed at first: returns at once), timeout_ns passes, or the
 * followers are stopped (elog_hub_stop_followers: returns -1). Updates *mark; returns 0 or -1.
 */
struct elog_hub_mark {
	uint64_t published, kicks;
};
int elog_hub_wait_publish(struct elog_hub *h, struct elog_hub_mark *mark, int64_t timeout_ns);

/* Wakes elog_hub_wait_publish (a follower was handed to the thread that waits there). */
void elog_hub_kick(struct elog_hub *h);

/* Unregisters and frees the follower. */
void elog_follower_close(struct elog_follower *f);

/* Wakes every follower with -1 (server shutting down); later follows return closing too. */
void elog_hub_stop_followers(struct elog_hub *h);

/* The redactor the hub applies (NULL when none): serve's Stats reads its counters. */
struct elog_redactor *elog_hub_redactor(struct elog_hub *h);

/* Counters for tests and benchmarks. */
struct elog_hub_stats {
	uint64_t committed;
	uint64_t submissions;        /* elog_hub_submit calls: batches received, as sent */
	uint64_t transactions;
	uint64_t dropped_for_followers;  /* records followers skipped (reported as missed) */
	uint64_t catchups;           /* checkpoints the writer finished itself (WAL started over) */
	uint64_t retained;           /* records removed by retention */
	uint64_t seals_copied;       /* blocks sealed from the writer's copy of what it committed */
	uint64_t seals_read_back;    /* blocks whose rows were read back from the hot table */
	uint64_t sealed_direct;      /* records sealed by their own ingest transaction (a
				      * burst's: never a row) */
	size_t followers;
	size_t live_records, live_bytes;   /* what the shared live list holds now */
};
void elog_hub_stats(struct elog_hub *h, struct elog_hub_stats *out);

/*
 * What `serve --forward`'s forwarder (outbound/forward.c) last published, for `elog ps`
 * (elog.v1.Hub/Stats works out its lag from cursor and the history). The hub only keeps it.
 */
struct elog_forward_status {
	char target[256];           /* the URL it sends to */
	int64_t cursor;             /* the last id the collector acknowledged (saved in cursors) */
	uint64_t sent;              /* records acknowledged since serve started */
	uint64_t rejected;          /* of those, what the collector's partial_success refused */
	uint64_t failures;          /* calls that failed (each retried) */
	char last_error[256];       /* the last failure, "" once a call succeeds again */
};
void elog_hub_set_forward_status(struct elog_hub *h, const struct elog_forward_status *st);
/* Copies it into *out; returns 0 (nothing written) when no forwarder published one. */
int elog_hub_forward_status(struct elog_hub *h, struct elog_forward_status *out);

#endif
