/*
 * shipper.h — delivery of record batches to the hub on a thread of its own, for `elog send`
 * and `elog tail`: it connects, sends every queued batch in order, collects acknowledgements,
 * and when the server cannot be reached, the stream breaks or the server restarts, it
 * reconnects with backoff (100 ms doubling to 2 s) and sends again, in order, every batch not
 * acknowledged (resend.h); records that carry a dedupe key are then stored once.
 *
 * A server that refuses the client (UNAUTHENTICATED, PERMISSION_DENIED), a batch
 * (INVALID_ARGUMENT), or speaks another protocol (ELOG_EPROTO: TLS on one side only) is not
 * retried: the shipper fails for good (elog_shipper_failed); so does RESOURCE_EXHAUSTED when
 * the caller asks (full_ends). In one-shot mode the first failure of any kind ends delivery
 * the same way.
 *
 * The shipper never prints: it reports an outage and the server's return through the
 * caller's event function (called on the shipper's thread, no lock held).
 *
 * Ownership: the caller allocates each struct elog_ship_batch (usually as the first member of
 * its own batch) and its records, and keeps both alive and unchanged from elog_shipper_push
 * until the shipper gives the batch back: acknowledged through elog_shipper_take_acked, or
 * not delivered through elog_shipper_take_left after elog_shipper_finish. The shipper never
 * frees a batch.
 */
#ifndef ELOG_SHIPPER_H
#define ELOG_SHIPPER_H

#include <stddef.h>
#include <stdint.h>
#include "common/record.h"
#include "client/resend.h"

struct elog_err;
struct rpc_client_opts;
struct elog_shipper;

#define ELOG_SHIP_BACKOFF_MIN_NS (100 * 1000000LL)
#define ELOG_SHIP_BACKOFF_MAX_NS (2000 * 1000000LL)

struct elog_ship_batch {
	struct elog_resend_batch q;      /* the shipper's; first member */
	struct elog_ship_batch *next;    /* links the list elog_shipper_take_acked returns */
	size_t bytes;                    /* counted in elog_shipper_pending_bytes until acked */
	size_t lines;                    /* what the batch counts for when not delivered */
};

enum elog_ship_event {
	ELOG_SHIP_DOWN = 1,   /* the server cannot be reached or was lost (err says why); retrying.
			       * Once per outage. */
	ELOG_SHIP_BACK = 2,   /* connected again after ELOG_SHIP_DOWN */
};

struct elog_shipper_cfg {
	const char *target;                 /* copied */
	const struct rpc_client_opts *ro;   /* the caller's, alive until elog_shipper_free */
	int64_t connect_timeout_ns;         /* per connection attempt (0: 5 s) */
	int one_shot;                       /* no reconnect: the first failure ends delivery */
	int full_ends;                      /* RESOURCE_EXHAUSTED (ELOG_EFULL: the server's disk
					     * or a limit) ends delivery too, instead of waiting */
	void (*event)(void *ctx, int ev, const struct elog_err *err);   /* may be NULL */
	void *ctx;
};

/* Starts the shipper's thread; it connects at once. 0, or ELOG_EFAIL (no thread). */
int elog_shipper_start(struct elog_shipper **out, const struct elog_shipper_cfg *cfg,
		       struct elog_err *err);

/*
 * Queues b with recs[0..n) (b->bytes and b->lines set by the caller) after every batch pushed
 * before. An empty batch pushed while nothing is queued is acknowledged at once.
 */
void elog_shipper_push(struct elog_shipper *sh, struct elog_ship_batch *b,
		       struct elog_record *recs, size_t n);

/*
 * Backpressure: waits until at most max_bytes of pushed batches wait for their
 * acknowledgement. Returns 0, or the failure's code (err) when the shipper failed for good.
 */
int elog_shipper_wait_room(struct elog_shipper *sh, size_t max_bytes, struct elog_err *err);

/* True while a pushed batch waits to be sent (the stream's window is full, or the server is
 * away): a caller may then let its next batch grow instead of pushing many small ones. */
int elog_shipper_backlog(struct elog_shipper *sh);

/* Bytes of pushed batches not acknowledged yet. */
size_t elog_shipper_pending_bytes(struct elog_shipper *sh);

/* 0 while delivering (or retrying); the failure's code (err, may be NULL) once failed for good. */
int elog_shipper_failed(struct elog_shipper *sh, struct elog_err *err);

/* Removes and returns the batches acknowledged so far, oldest first, linked by next; NULL: none. */
struct elog_ship_batch *elog_shipper_take_acked(struct elog_shipper *sh);

/*
 * Lets the shipper deliver what is queued for at most timeout_ns more, then stops its thread.
 * Returns 0 when every batch was acknowledged; else the code of the last failure with err
 * (a server that stayed unreachable: ELOG_EUNAVAIL) and *left_lines (may be NULL) the lines of
 * the batches not delivered (elog_shipper_take_left gives them back). Acknowledged batches
 * stay for elog_shipper_take_acked. Once only.
 */
int elog_shipper_finish(struct elog_shipper *sh, int64_t timeout_ns, size_t *left_lines,
			struct elog_err *err);

/* After elog_shipper_finish: removes and returns the oldest batch not delivered, or NULL. */
struct elog_ship_batch *elog_shipper_take_left(struct elog_shipper *sh);

/* Stops the thread (when elog_shipper_finish was not called: at once) and frees the shipper.
 * Batches still held are not freed: take them first. Accepts NULL. */
void elog_shipper_free(struct elog_shipper *sh);

/* The wall clock in ns since the epoch: the time a line was read, stamped on its record. */
int64_t elog_shipper_wall_ns(void);

#endif
