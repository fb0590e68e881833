/*
 * shipper.c — batches delivered on a thread of their own, kept until acknowledged (see
 * shipper.h).
 *
 * One mutex guards the queue, the acknowledged list and the state; one condition variable
 * says that something changed (a push, an acknowledgement, the stream's end, a stop, room).
 * Only the shipper's thread numbers, sends or removes queued batches, so it sends a batch
 * without the lock. The sender's receiving thread wakes it after each acknowledgement
 * (elog_sender_open_notify): lock order is shipper, then sender.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/shipper.h"
#include "client/client.h"
#include "common/err.h"
#include "common/util.h"

struct elog_shipper {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct elog_resend_queue q;        /* pushed, not acknowledged, in order */
	struct elog_ship_batch *acked, *acked_tail;
	size_t pending_bytes;
	int stop;                          /* deliver what is queued, then end */
	int64_t deadline_ns;               /* with stop: give up then (monotonic) */
	int failed;                        /* for good: fail_err */
	struct elog_err fail_err;
	struct elog_err last_err;          /* the last failure while retrying */
	int down;                          /* ELOG_SHIP_DOWN reported, not yet back */
	int finished;
	char *target;
	const struct rpc_client_opts *ro;
	int64_t connect_timeout_ns;
	int one_shot;
	int full_ends;
	void (*event)(void *ctx, int ev, const struct elog_err *err);
	void *ctx;
	pthread_t th;
	int started;
};

int64_t elog_shipper_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Waits on cv for at most ns (lock held). */
static void timed_wait(struct elog_shipper *sh, int64_t ns)
{
	struct timespec ts;

	if (ns <= 0)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += ns % 1000000000LL;
	ts.tv_sec += ns / 1000000000LL + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
}

/* The sender's receiving thread: an acknowledgement came, or the stream ended. */
static void on_ack(void *ctx)
{
	struct elog_shipper *sh = ctx;

	pthread_mutex_lock(&sh->mu);
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
}

static void emit(struct elog_shipper *sh, int ev, const struct elog_err *err)
{
	if (!sh->event)
		return;
	pthread_mutex_unlock(&sh->mu);
	sh->event(sh->ctx, ev, err);
	pthread_mutex_lock(&sh->mu);
}

/* A refusal is not retried: the same credentials or batch would be refused again. */
static int permanent(int code)
{
	return code == ELOG_EAUTH || code == ELOG_EUSAGE || code == ELOG_EPROTO;
}

/*
 * A connection attempt or the stream failed with err (lock held). Returns 1 when delivery
 * ends for good; else sets when to try again.
 */
static int failure(struct elog_shipper *sh, const struct elog_err *err, int64_t *backoff,
		   int64_t *next_try)
{
	if (sh->one_shot || permanent(err->code) || (sh->full_ends && err->code == ELOG_EFULL)) {
		sh->failed = 1;
		sh->fail_err = *err;
		pthread_cond_broadcast(&sh->cv);
		return 1;
	}
	sh->last_err = *err;
	*next_try = elog_mono_ns() + *backoff;
	*backoff = *backoff * 2 > ELOG_SHIP_BACKOFF_MAX_NS ? ELOG_SHIP_BACKOFF_MAX_NS : *backoff * 2;
	if (!sh->down) {
		sh->down = 1;
		emit(sh, ELOG_SHIP_DOWN, err);
	}
	return 0;
}

static void *shipper_main(void *arg)
{
	struct elog_shipper *sh = arg;
	struct elog_sender *s = NULL;
	int64_t backoff = ELOG_SHIP_BACKOFF_MIN_NS, next_try = 0;
	struct elog_err err;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		struct elog_resend_batch *rb;
		uint64_t acked;
		int ended = 0, rc, popped;
		int64_t now = elog_mono_ns();

		if (sh->failed)
			break;
		if (sh->stop && (!sh->q.head || now >= sh->deadline_ns))
			break;
		if (!s) {
			int64_t tmo = sh->connect_timeout_ns;

			if (now < next_try) {
				int64_t w = next_try - now;

				if (sh->stop && sh->deadline_ns - now < w)
					w = sh->deadline_ns - now;
				timed_wait(sh, w);
				continue;
			}
			if (sh->stop && now + tmo > sh->deadline_ns)
				tmo = sh->deadline_ns - now > 100000000LL ? sh->deadline_ns - now : 100000000LL;
			pthread_mutex_unlock(&sh->mu);
			elog_err_clear(&err);
			rc = elog_sender_open_notify(&s, sh->target, sh->ro, tmo, on_ack, sh, &err);
			pthread_mutex_lock(&sh->mu);
			if (rc) {
				s = NULL;
				if (failure(sh, &err, &backoff, &next_try))
					break;
				continue;
			}
			backoff = ELOG_SHIP_BACKOFF_MIN_NS;
			elog_resend_restart(&sh->q);
			if (sh->down) {
				sh->down = 0;
				emit(sh, ELOG_SHIP_BACK, NULL);
			}
			continue;
		}
		rb = elog_resend_next_unsent(&sh->q);
		if (rb) {
			/* unlocked, rb stays queued: only this thread numbers or removes batches */
			pthread_mutex_unlock(&sh->mu);
			elog_err_clear(&err);
			rc = elog_sender_send(s, rb->recs, rb->n, &err);
			pthread_mutex_lock(&sh->mu);
			if (rc == 0) {
				elog_resend_mark_sent(&sh->q, rb);
				continue;
			}
			/* unlocked: the sender's thread may be waiting for the lock in on_ack */
			pthread_mutex_unlock(&sh->mu);
			elog_sender_free(s);
			pthread_mutex_lock(&sh->mu);
			s = NULL;
			elog_resend_restart(&sh->q);
			if (failure(sh, &err, &backoff, &next_try))
				break;
			continue;
		}
		acked = elog_sender_acked_seq(s, &ended);
		popped = 0;
		while ((rb = elog_resend_pop_acked(&sh->q, acked))) {
			struct elog_ship_batch *b = (struct elog_ship_batch *)rb;

			sh->pending_bytes -= b->bytes;
			b->next = NULL;
			if (sh->acked_tail)
				sh->acked_tail->next = b;
			else
				sh->acked = b;
			sh->acked_tail = b;
			popped = 1;
		}
		if (popped) {
			/* room for the reader; and the stop condition may hold now */
			pthread_cond_broadcast(&sh->cv);
			continue;
		}
		if (ended) {
			/* the stream is over: its final status says why */
			pthread_mutex_unlock(&sh->mu);
			elog_err_clear(&err);
			rc = elog_sender_finish(s, &err);
			elog_sender_free(s);
			pthread_mutex_lock(&sh->mu);
			s = NULL;
			elog_resend_restart(&sh->q);
			if (rc == 0)
				elog_err_set(&err, ELOG_EUNAVAIL, "server '%s': ended the stream", sh->target);
			if (!sh->q.head && !sh->one_shot && !permanent(err.code)) {
				/* nothing was waiting: connect again when there is */
				next_try = elog_mono_ns() + backoff;
				continue;
			}
			if (failure(sh, &err, &backoff, &next_try))
				break;
			continue;
		}
		timed_wait(sh, 1000000000LL);
	}
	pthread_mutex_unlock(&sh->mu);
	if (s && !sh->q.head)
		elog_sender_finish(s, &err);
	elog_sender_free(s);
	return NULL;
}

int elog_shipper_start(struct elog_shipper **out, const struct elog_shipper_cfg *cfg,
		       struct elog_err *err)
{
	struct elog_shipper *sh = xcalloc(1, sizeof(*sh));

	pthread_mutex_init(&sh->mu, NULL);
	pthread_cond_init(&sh->cv, NULL);
	sh->target = xstrdup(cfg->target);
	sh->ro = cfg->ro;
	sh->connect_timeout_ns = cfg->connect_timeout_ns > 0 ? cfg->connect_timeout_ns
				 : 5000000000LL;
	sh->one_shot = cfg->one_shot;
	sh->full_ends = cfg->full_ends;
	sh->event = cfg->event;
	sh->ctx = cfg->ctx;
	if (pthread_create(&sh->th, NULL, shipper_main, sh) != 0) {
		elog_shipper_free(sh);
		return elog_err_set(err, ELOG_EFAIL, "cannot start a thread");
	}
	sh->started = 1;
	*out = sh;
	return 0;
}

void elog_shipper_push(struct elog_shipper *sh, struct elog_ship_batch *b,
		       struct elog_record *recs, size_t n)
{
	pthread_mutex_lock(&sh->mu);
	b->next = NULL;
	if (n == 0 && !sh->q.head) {
		b->q.recs = recs;
		b->q.n = 0;
		if (sh->acked_tail)
			sh->acked_tail->next = b;
		else
			sh->acked = b;
		sh->acked_tail = b;
	} else {
		elog_resend_push(&sh->q, &b->q, recs, n);
		sh->pending_bytes += b->bytes;
	}
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
}

int elog_shipper_wait_room(struct elog_shipper *sh, size_t max_bytes, struct elog_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&sh->mu);
	while (!sh->failed && sh->pending_bytes > max_bytes)
		pthread_cond_wait(&sh->cv, &sh->mu);
	if (sh->failed) {
		rc = sh->fail_err.code ? sh->fail_err.code : ELOG_EFAIL;
		if (err)
			*err = sh->fail_err;
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

int elog_shipper_backlog(struct elog_shipper *sh)
{
	int busy;

	pthread_mutex_lock(&sh->mu);
	busy = elog_resend_next_unsent(&sh->q) != NULL;
	pthread_mutex_unlock(&sh->mu);
	return busy;
}

size_t elog_shipper_pending_bytes(struct elog_shipper *sh)
{
	size_t n;

	pthread_mutex_lock(&sh->mu);
	n = sh->pending_bytes;
	pthread_mutex_unlock(&sh->mu);
	return n;
}

int elog_shipper_failed(struct elog_shipper *sh, struct elog_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&sh->mu);
	if (sh->failed) {
		rc = sh->fail_err.code ? sh->fail_err.code : ELOG_EFAIL;
		if (err)
			*err = sh->fail_err;
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

struct elog_ship_batch *elog_shipper_take_acked(struct elog_shipper *sh)
{
	struct elog_ship_batch *b;

	pthread_mutex_lock(&sh->mu);
	b = sh->acked;
	sh->acked = sh->acked_tail = NULL;
	pthread_mutex_unlock(&sh->mu);
	return b;
}

static void stop_thread(struct elog_shipper *sh, int64_t timeout_ns)
{
	if (!sh->started)
		return;
	pthread_mutex_lock(&sh->mu);
	sh->stop = 1;
	sh->deadline_ns = elog_mono_ns() + timeout_ns;
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	pthread_join(sh->th, NULL);
	sh->started = 0;
}

int elog_shipper_finish(struct elog_shipper *sh, int64_t timeout_ns, size_t *left_lines,
			struct elog_err *err)
{
	struct elog_resend_batch *rb;
	size_t lines = 0;

	stop_thread(sh, timeout_ns);
	sh->finished = 1;
	for (rb = sh->q.head; rb; rb = rb->next)
		lines += ((struct elog_ship_batch *)rb)->lines;
	if (left_lines)
		*left_lines = lines;
	if (!sh->q.head)
		return 0;
	if (sh->failed) {
		if (err)
			*err = sh->fail_err;
		return sh->fail_err.code ? sh->fail_err.code : ELOG_EFAIL;
	}
	if (!sh->last_err.code)
		elog_err_set(&sh->last_err, ELOG_EUNAVAIL, "server '%s': no acknowledgement in time",
			     sh->target);
	if (err)
		*err = sh->last_err;
	return sh->last_err.code;
}

struct elog_ship_batch *elog_shipper_take_left(struct elog_shipper *sh)
{
	return (struct elog_ship_batch *)elog_resend_pop(&sh->q);
}

void elog_shipper_free(struct elog_shipper *sh)
{
	if (!sh)
		return;
	stop_thread(sh, 0);
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->cv);
	free(sh->target);
	free(sh);
}
