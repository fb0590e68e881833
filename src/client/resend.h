/*
 * resend.h — keep-until-acknowledged delivery over senders (client.h): the record batches a
 * client sent, in order, until the server acknowledged them, so that when the stream breaks or
 * the server restarts, every batch not acknowledged goes again, in order, on a new sender
 * (records that carry a dedupe key are then stored once). Used by the shipper (shipper.h),
 * which `elog send` and `elog tail` deliver through.
 *
 * Each batch is numbered on the current sender in the order elog_sender_send accepted it
 * (1, 2, 3..., as elog_sender_acked_seq counts); a batch whose number is at most the sender's
 * last acknowledged number is acknowledged.
 *
 * Ownership: the caller owns every struct elog_resend_batch and its records, and keeps both
 * alive and unchanged from elog_resend_push until the queue gives the batch back
 * (elog_resend_pop_acked, elog_resend_pop). The queue only links and numbers batches: it never
 * frees, never holds a sender, and never locks (a queue shared between threads is guarded by
 * its user). A zeroed struct elog_resend_queue is an empty queue.
 */
#ifndef ELOG_RESEND_H
#define ELOG_RESEND_H

#include <stddef.h>
#include <stdint.h>
#include "common/record.h"

struct elog_err;
struct elog_sender;

struct elog_resend_batch {
	struct elog_record *recs;          /* the caller's; only read here */
	size_t n;                          /* may be 0: an empty batch is acknowledged too */
	uint64_t seq;                      /* number on the current sender; 0: not sent on it */
	struct elog_resend_batch *next;    /* the queue's */
};

struct elog_resend_queue {
	struct elog_resend_batch *head;    /* oldest not acknowledged; NULL: nothing is pending */
	struct elog_resend_batch *tail;
	struct elog_resend_batch *unsent;  /* oldest not sent on the current sender, or NULL */
	uint64_t sent;                     /* batches numbered on the current sender */
};

/* Appends b (recs[0..n)) as not sent yet. */
void elog_resend_push(struct elog_resend_queue *q, struct elog_resend_batch *b,
		      struct elog_record *recs, size_t n);

/* The oldest batch not sent on the current sender, or NULL. Batches before it are sent. */
struct elog_resend_batch *elog_resend_next_unsent(const struct elog_resend_queue *q);

/* Numbers b, which must be elog_resend_next_unsent, as the next batch the sender accepted. */
void elog_resend_mark_sent(struct elog_resend_queue *q, struct elog_resend_batch *b);

/*
 * Sends every batch not sent on s yet, oldest first, numbering each one s accepted. Returns 0,
 * or elog_sender_send's code (err says why) at the first one s refused.
 */
int elog_resend_send_unsent(struct elog_resend_queue *q, struct elog_sender *s,
			    struct elog_err *err);

/*
 * Removes and returns the oldest batch when the current sender acknowledged it (acked_seq from
 * elog_sender_acked_seq), else NULL. Call until NULL to collect every acknowledged batch.
 */
struct elog_resend_batch *elog_resend_pop_acked(struct elog_resend_queue *q, uint64_t acked_seq);

/* Removes and returns the oldest batch, acknowledged or not (to release them), or NULL. */
struct elog_resend_batch *elog_resend_pop(struct elog_resend_queue *q);

/* A new sender replaces the current one (or the current one is lost): every batch is not sent
 * on it, and numbering starts again at 1. */
void elog_resend_restart(struct elog_resend_queue *q);

#endif
