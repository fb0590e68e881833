/*
 * hub_internal.h — what the files of the hub share (hub.c: the writer thread, checkpoints,
 * retention, submissions; hub_live.c: the published list and its followers): the hub's and
 * the list's structs, and the few list functions the writer calls. Nothing outside src/hub/
 * includes it.
 */
#ifndef ELOG_HUB_INTERNAL_H
#define ELOG_HUB_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/hub.h"
#include "common/clock.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/redact.h"

#define PUB_SLOTS 8192              /* chunks in the list at most (ring of pointers) */

struct pub_chunk {
	uint64_t seq;
	int refs;                   /* under mu: the list's, plus one per follower scanning it */
	uint64_t first_index;       /* records published before it (all chunks, ever) */
	size_t n, bytes;
	struct elog_record *recs;   /* n records, ids > 0, strings in the same allocation */
	const char *wire;           /* the n records encoded once for every follower, as field 1
				     * of an elog.v1.RecordPage (elog_wire_put_record), one after
				     * the other; same allocation */
	const uint32_t *wire_end;   /* record i is wire[i ? wire_end[i - 1] : 0 .. wire_end[i]) */
	struct pub_chunk *next;     /* writer's: chunks built, not yet published; or to free */
};

struct elog_follower {
	struct elog_hub *hub;
	struct elog_filter filter;  /* used on the follower's thread only */
	uint64_t seq;               /* chunk it reads next */
	size_t pos;                 /* record in that chunk it examines next */
	int64_t seen_id;            /* last id it examined (matching or not) */
	uint64_t seen_index;        /* records examined, counted as first_index does */
	struct elog_follower *prev, *next;
};

struct elog_hub {
	struct elog_store *store;
	char *path;
	pthread_t writer;
	pthread_mutex_t mu;          /* queue and followers */
	pthread_cond_t cv_work;      /* writer waits for work */
	pthread_cond_t cv_space;     /* submitters wait for queue space */
	struct elog_ingest *q_head, *q_tail;
	size_t q_records;
	size_t q_bytes;
	size_t max_queued_bytes;
	int closing;
	int followers_stopped;
	struct elog_forward_status fwd;   /* under mu: what the forwarder published */
	int has_fwd;
	struct elog_follower *followers;
	size_t nfollowers;
	size_t max_queued, max_batch, live_max_records, live_max_bytes;
	/* the published list (under mu): sequences [pub_head, pub_next) in pub[seq % PUB_SLOTS] */
	struct pub_chunk **pub;
	uint64_t pub_head, pub_next, pub_index;
	uint64_t kicks;          /* elog_hub_kick calls (under mu), for elog_hub_wait_publish */
	size_t pub_records, pub_bytes;
	pthread_cond_t cv_pub;       /* followers wait for the next chunk */
	struct elog_record *batch;   /* writer's scratch: shallow copies */
	size_t batch_cap;
	struct elog_hub_stats stats;
	const struct elog_clock *clock;
	int64_t last_id;             /* largest id committed (under mu) */

	/* checkpointer: its own connection and thread, woken by the writer's commit hook */
	struct elog_store *ckpt_store;
	pthread_t ckpt_thread;
	int ckpt_started;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	pthread_cond_t ckpt_idle_cv;     /* a checkpoint pass ended */
	int ckpt_wanted, ckpt_stop;
	int ckpt_running;                /* a pass is under way (checkpointer or writer) */
	int wal_cap, ckpt_step;     /* CKPT_WAL_CAP and CKPT_STEP unless opts say otherwise */
	int wal_frames, ckpt_mark, catchup_mark;   /* writer thread only */

	/* retention (writer thread only but for the settings) */
	struct elog_retention retain;
	int retain_on, retain_more;
	int64_t retain_chunk;            /* records per removal: ELOG_RETAIN_CHUNK, or a batch */
	int64_t retain_next_ns;          /* monotonic: the next pass while idle */
	/* the sealer (hub_seal.c): the writer copies the oldest hot rows between two
	 * transactions, the sealer thread compresses them, the writer commits the block */
	pthread_t seal_thread;
	int seal_started, seal_stop;     /* under mu */
	pthread_cond_t seal_cv;          /* with mu: a job for the sealer */
	struct elog_seal *seal_job;      /* under mu: rows to encode */
	struct elog_seal *seal_ready;    /* under mu: encoded, for the writer to commit */
	int seal_cancel;                 /* under mu: seal_job's rows were sealed otherwise: the
					  * sealer drops it when done */
	int64_t seal_since;              /* writer: records committed since the last look */
	int64_t seal_deferred;           /* writer: records committed since the last seal step */
	/* writer: a copy of what it committed and has not sealed yet, oldest first (hub_seal.c
	 * seal_stage), so a block's rows need not be read back */
	struct seal_segment *stage_head, *stage_tail;
	size_t stage_records, stage_bytes;
	int trim_pending;                /* under mu: sealing caught up, free pages to give back */
	struct elog_redactor *redact;               /* NULL: none */
	struct elog_redact_streams *redact_streams; /* PEM blocks split over records */
};

struct seal_segment;

/* hub_seal.c: the sealer. start/stop at open/close; on the writer thread: committed(h, n)
 * after it committed n records (counts them), apply(h) between transactions (a seal step:
 * commits a block the sealer left, if any, and hands it the oldest hot rows when there are
 * enough; returns whether it committed one), in an idle pass or when seal_now says so. */
void hub__seal_start(struct elog_hub *h);
void hub__seal_stop(struct elog_hub *h);
void hub__seal_committed(struct elog_hub *h, size_t n);
/* Writer thread: inserts the batch recs[0..n) as elog_store_insert_txn does (same contract),
 * sealing whole blocks of it in the same transaction under a burst; then keeps the copies of
 * what went in as rows (seal_stage) and counts them (seal_committed). */
int hub__seal_insert(struct elog_hub *h, struct elog_record *recs, size_t n, size_t *stored,
		     elog_store_txn_fn extra, void *ctx, struct elog_err *err);
/* Writer thread, after a commit: keeps a copy of recs[0..n) (those stored: id > 0). */
void hub__seal_stage(struct elog_hub *h, const struct elog_record *recs, size_t n);
int hub__seal_apply(struct elog_hub *h);
/* Writer thread, after a commit: whether to run a seal step now although submissions may be
 * queued (too many records committed since the last one); else it waits for an idle pass. */
int hub__seal_now(const struct elog_hub *h);
/* Under mu, on the writer thread: whether apply has something to do. */
int hub__seal_pending_locked(const struct elog_hub *h);

/* hub_live.c: a record's string bytes with their terminators (what a packed copy needs
 * besides the struct), and s copied to *p (advanced past its terminator), returning the copy:
 * the live list's chunks and the sealer's copies pack records this way. */
size_t hub__record_strs(const struct elog_record *r);
char *hub__put_str(char **p, const char *s);

/* hub_live.c: the live list (see the comment at its top) */
struct pub_chunk *hub__chunks_build(const struct elog_record *recs, size_t n);
void hub__publish_locked(struct elog_hub *h, struct pub_chunk *chunks, struct pub_chunk **to_free);
struct pub_chunk *hub__pub_drop_head_locked(struct elog_hub *h);
void hub__chunks_free(struct pub_chunk *c);

#endif
