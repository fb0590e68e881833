/*
 * resend.c — batches kept until acknowledged, sent again on a new sender (see resend.h).
 */
#include "client/resend.h"
#include "client/client.h"

void elog_resend_push(struct elog_resend_queue *q, struct elog_resend_batch *b,
		      struct elog_record *recs, size_t n)
{
	b->recs = recs;
	b->n = n;
	b->seq = 0;
	b->next = NULL;
	if (q->tail)
		q->tail->next = b;
	else
		q->head = b;
	q->tail = b;
	if (!q->unsent)
		q->unsent = b;
}

struct elog_resend_batch *elog_resend_next_unsent(const struct elog_resend_queue *q)
{
	/* kept, not searched for: a queue of many in-flight batches made it a walk per send */
	return q->unsent;
}

void elog_resend_mark_sent(struct elog_resend_queue *q, struct elog_resend_batch *b)
{
	b->seq = ++q->sent;
	q->unsent = b->next;
}

int elog_resend_send_unsent(struct elog_resend_queue *q, struct elog_sender *s,
			    struct elog_err *err)
{
	struct elog_resend_batch *b;

	/* the unsent batches are the queue's end: numbering follows the queue's order */
	for (b = elog_resend_next_unsent(q); b; b = b->next) {
		int rc = elog_sender_send(s, b->recs, b->n, err);

		if (rc)
			return rc;
		elog_resend_mark_sent(q, b);
	}
	return 0;
}

struct elog_resend_batch *elog_resend_pop_acked(struct elog_resend_queue *q, uint64_t acked_seq)
{
	if (!q->head || !q->head->seq || q->head->seq > acked_seq)
		return NULL;
	return elog_resend_pop(q);
}

struct elog_resend_batch *elog_resend_pop(struct elog_resend_queue *q)
{
	struct elog_resend_batch *b = q->head;

	if (!b)
		return NULL;
	q->head = b->next;
	if (!q->head)
		q->tail = NULL;
	if (q->unsent == b)
		q->unsent = b->next;
	b->next = NULL;
	return b;
}

void elog_resend_restart(struct elog_resend_queue *q)
{
	struct elog_resend_batch *b;

	for (b = q->head; b; b = b->next)
		b->seq = 0;
	q->unsent = q->head;
	q->sent = 0;
}
