/*
 * hub.c — group-commit writer and bounded follower queues (see hub.h).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>

#include "hub.h"
#include "store.h"
#include "err.h"
#include "util.h"

struct fol_slot {
	struct elog_record rec;
	size_t bytes;
};

struct elog_follower {
	struct elog_hub *hub;
	struct elog_filter filter;
	struct fol_slot *ring;      /* capacity hub->fol_cap */
	size_t head, count, bytes;
	uint64_t missed;
	int64_t missed_from, missed_to;
	pthread_cond_t cv;
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
	int closing;
	int followers_stopped;
	struct elog_follower *followers;
	size_t nfollowers;
	size_t max_queued, max_batch, fol_cap, fol_bytes;
	struct elog_record *batch;   /* writer's scratch: shallow copies */
	size_t batch_cap;
	struct elog_hub_stats stats;
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
};

/*
 * Checkpoints. The checkpointer thread copies the WAL into the database on its own connection
 * every CKPT_STEP new frames, so its fsyncs never stall a commit. Under steady load it never
 * quite catches up (the writer appends while it copies), and SQLite starts the WAL over only
 * when a write transaction begins with every frame copied: left alone the WAL grew without
 * bound (35 MB in 10 s at 10k lines/s) and every commit set off another checkpoint. So once the
 * WAL holds CKPT_WAL_CAP frames the writer itself, between two transactions, copies the little
 * the checkpointer left, and the next transaction starts the WAL over.
 */
#define CKPT_STEP 1024              /* 4 MiB of new WAL: wake the checkpointer */
#define CKPT_WAL_CAP 32768          /* 128 MiB of WAL: the writer catches up between batches */

/* Runs on the writer thread after each commit (store's WAL hook). */
static void on_commit(void *ctx, int frames)
{
	struct elog_hub *h = ctx;

	if (frames < h->wal_frames) {   /* the WAL started over */
		h->ckpt_mark = 0;
		h->catchup_mark = 0;
	}
	h->wal_frames = frames;
	/* Near the cap, checkpoint continuously so that the writer's catch-up finds little left;
	 * at the cap, leave the checkpoint lock to the writer (writer_catch_up). */
	if (frames >= h->wal_cap)
		return;
	if (frames - h->ckpt_mark < h->ckpt_step && frames < h->wal_cap - h->ckpt_step / 4)
		return;
	h->ckpt_mark = frames;
	pthread_mutex_lock(&h->ckpt_mu);
	if (!h->ckpt_wanted) {
		h->ckpt_wanted = 1;
		pthread_cond_signal(&h->ckpt_cv);
	}
	pthread_mutex_unlock(&h->ckpt_mu);
}

/* Writer thread, between transactions: once the WAL is CKPT_WAL_CAP frames long, copies what
 * the checkpointer has not (no commit can race this one), so that the next transaction starts
 * the WAL over. If the checkpointer is in a pass, the writer waits for it to end first: on a
 * busy machine the checkpointer can be slow, and skipping let commits go on and the WAL grow to
 * many times the cap (59 MB for a 1 MB cap was seen). So the WAL never holds much more than
 * the cap plus one batch. A reader holding an old snapshot can keep frames from being copied;
 * then it is tried again only after another CKPT_STEP frames. */
static void writer_catch_up(struct elog_hub *h)
{
	int nlog, ndone;

	if (!h->ckpt_started || h->wal_frames < h->wal_cap ||
	    h->wal_frames - h->catchup_mark < h->ckpt_step)
		return;
	pthread_mutex_lock(&h->ckpt_mu);
	while (h->ckpt_running)
		pthread_cond_wait(&h->ckpt_idle_cv, &h->ckpt_mu);
	h->ckpt_running = 1;
	pthread_mutex_unlock(&h->ckpt_mu);
	elog_store_checkpoint(h->store, &nlog, &ndone, NULL);
	pthread_mutex_lock(&h->ckpt_mu);
	h->ckpt_running = 0;
	pthread_cond_broadcast(&h->ckpt_idle_cv);
	pthread_mutex_unlock(&h->ckpt_mu);
	if (nlog >= 0 && ndone == nlog) {   /* all copied: the next commit starts the WAL over */
		pthread_mutex_lock(&h->mu);
		h->stats.catchups++;
		pthread_mutex_unlock(&h->mu);
	}
	h->catchup_mark = h->wal_frames;
}

static void *ckpt_main(void *arg)
{
	struct elog_hub *h = arg;

	pthread_mutex_lock(&h->ckpt_mu);
	for (;;) {
		while (!h->ckpt_wanted && !h->ckpt_stop)
			pthread_cond_wait(&h->ckpt_cv, &h->ckpt_mu);
		if (h->ckpt_stop)
			break;
		h->ckpt_wanted = 0;
		if (h->ckpt_running)    /* the writer is catching up: nothing left for this pass */
			continue;
		h->ckpt_running = 1;
		pthread_mutex_unlock(&h->ckpt_mu);
		elog_store_checkpoint(h->ckpt_store, NULL, NULL, NULL);
		pthread_mutex_lock(&h->ckpt_mu);
		h->ckpt_running = 0;
		pthread_cond_broadcast(&h->ckpt_idle_cv);
	}
	pthread_mutex_unlock(&h->ckpt_mu);
	return NULL;
}

static size_t record_bytes(const struct elog_record *r)
{
	return sizeof(*r) + strlen(r->component) + strlen(r->msg) + strlen(r->fields) +
	       strlen(r->source) + strlen(r->dedupe_key) + 5;
}

static void record_copy(struct elog_record *dst, const struct elog_record *src)
{
	dst->id = src->id;
	dst->ts_ns = src->ts_ns;
	dst->arrival_ns = src->arrival_ns;
	dst->level = src->level;
	dst->component = xstrdup(src->component);
	dst->msg = xstrdup(src->msg);
	dst->fields = xstrdup(src->fields);
	dst->source = xstrdup(src->source);
	dst->dedupe_key = xstrdup("");
}

/* With h->mu held: copies committed records to every matching follower. */
static void fan_out_locked(struct elog_hub *h, const struct elog_record *recs, size_t n)
{
	struct elog_follower *f;
	size_t i;

	for (f = h->followers; f; f = f->next) {
		int woke = 0;

		for (i = 0; i < n; i++) {
			const struct elog_record *r = &recs[i];
			size_t sz;
			struct fol_slot *slot;

			if (r->id <= 0 || !elog_filter_match(&f->filter, r))
				continue;
			sz = record_bytes(r);
			/* Once it misses one it misses all until it reads: the gap is one id range,
			 * after everything in its queue, which the reader can fill from the history. */
			if (f->missed || f->count >= h->fol_cap || f->bytes + sz > h->fol_bytes) {
				if (f->missed == 0)
					f->missed_from = r->id;
				f->missed++;
				f->missed_to = r->id;
				h->stats.dropped_for_followers++;
				woke = 1;
				continue;
			}
			slot = &f->ring[(f->head + f->count) % h->fol_cap];
			record_copy(&slot->rec, r);
			slot->bytes = sz;
			f->count++;
			f->bytes += sz;
			woke = 1;
		}
		if (woke)
			pthread_cond_signal(&f->cv);
	}
}

static void *writer_main(void *arg)
{
	struct elog_hub *h = arg;

	for (;;) {
		struct elog_ingest *take, *in, *last;
		size_t nrec = 0, off, stored;
		struct elog_err err;
		int rc;

		pthread_mutex_lock(&h->mu);
		while (!h->q_head && !h->closing)
			pthread_cond_wait(&h->cv_work, &h->mu);
		if (!h->q_head && h->closing) {
			pthread_mutex_unlock(&h->mu);
			break;
		}
		/* Take whole submissions up to the batch size (at least one). */
		take = h->q_head;
		last = NULL;
		for (in = h->q_head; in; in = in->next) {
			if (last && nrec + in->n > h->max_batch)
				break;
			nrec += in->n;
			last = in;
		}
		h->q_head = last->next;
		if (!h->q_head)
			h->q_tail = NULL;
		last->next = NULL;
		h->q_records -= nrec;
		pthread_cond_broadcast(&h->cv_space);
		pthread_mutex_unlock(&h->mu);

		if (nrec > h->batch_cap) {
			h->batch_cap = nrec;
			h->batch = xrealloc(h->batch, nrec * sizeof(*h->batch));
		}
		off = 0;
		for (in = take; in; in = in->next) {
			if (in->n)
				memcpy(h->batch + off, in->recs, in->n * sizeof(*h->batch));
			off += in->n;
		}
		elog_err_clear(&err);
		stored = 0;
		rc = nrec ? elog_store_insert(h->store, h->batch, nrec, &stored, &err) : 0;
		off = 0;
		for (in = take; in; in = in->next) {
			size_t i;

			in->stored = 0;
			for (i = 0; i < in->n; i++) {
				in->recs[i].id = h->batch[off + i].id;
				in->recs[i].ts_ns = h->batch[off + i].ts_ns;
				if (rc == 0 && in->recs[i].id > 0)
					in->stored++;
			}
			off += in->n;
		}
		pthread_mutex_lock(&h->mu);
		if (rc == 0) {
			h->stats.committed += stored;
			h->stats.transactions++;
			for (size_t i = nrec; i > 0; i--)
				if (h->batch[i - 1].id > 0) {
					h->last_id = h->batch[i - 1].id;
					break;
				}
			if (h->followers)
				fan_out_locked(h, h->batch, nrec);
		}
		pthread_mutex_unlock(&h->mu);
		for (in = take; in;) {
			struct elog_ingest *next = in->next;

			in->done(in, rc, rc ? err.msg : NULL);   /* may free in */
			in = next;
		}
		writer_catch_up(h);
	}
	return NULL;
}

int elog_hub_open(struct elog_hub **out, const char *db_path, const struct elog_hub_opts *o,
		  struct elog_err *err)
{
	struct elog_hub *h = xcalloc(1, sizeof(*h));
	int rc;

	rc = elog_store_open(&h->store, db_path, 0, err);
	if (rc) {
		free(h);
		return rc;
	}
	rc = elog_store_max_id(h->store, &h->last_id, err);
	if (rc) {
		elog_store_close(h->store);
		free(h);
		return rc;
	}
	h->path = xstrdup(db_path);
	h->max_queued = o && o->max_queued_records ? o->max_queued_records : 262144;
	h->max_batch = o && o->max_batch_records ? o->max_batch_records : 16384;
	h->fol_cap = o && o->follower_queue ? o->follower_queue : 8192;
	h->fol_bytes = o && o->follower_bytes ? o->follower_bytes : (8u << 20);
	h->wal_cap = o && o->wal_cap_frames > 0 ? o->wal_cap_frames : CKPT_WAL_CAP;
	h->ckpt_step = h->wal_cap / 4 < CKPT_STEP ? (h->wal_cap + 3) / 4 : CKPT_STEP;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv_work, NULL);
	pthread_cond_init(&h->cv_space, NULL);
	pthread_mutex_init(&h->ckpt_mu, NULL);
	pthread_cond_init(&h->ckpt_cv, NULL);
	pthread_cond_init(&h->ckpt_idle_cv, NULL);
	/* Without a second connection the writer keeps SQLite's inline checkpoints. */
	if (elog_store_open(&h->ckpt_store, db_path, 0, NULL) == 0 &&
	    pthread_create(&h->ckpt_thread, NULL, ckpt_main, h) == 0) {
		h->ckpt_started = 1;
		elog_store_on_commit(h->store, on_commit, h);
	}
	if (pthread_create(&h->writer, NULL, writer_main, h) != 0) {
		elog_store_close(h->store);
		free(h->path);
		free(h);
		return elog_err_set(err, ELOG_EFAIL, "cannot start the writer thread");
	}
	*out = h;
	return 0;
}

void elog_hub_stop_followers(struct elog_hub *h)
{
	struct elog_follower *f;

	pthread_mutex_lock(&h->mu);
	h->followers_stopped = 1;
	for (f = h->followers; f; f = f->next)
		pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&h->mu);
}

void elog_hub_close(struct elog_hub *h)
{
	if (!h)
		return;
	elog_hub_stop_followers(h);
	pthread_mutex_lock(&h->mu);
	h->closing = 1;
	pthread_cond_broadcast(&h->cv_work);
	pthread_cond_broadcast(&h->cv_space);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->writer, NULL);
	if (h->ckpt_started) {
		pthread_mutex_lock(&h->ckpt_mu);
		h->ckpt_stop = 1;
		pthread_cond_signal(&h->ckpt_cv);
		pthread_mutex_unlock(&h->ckpt_mu);
		pthread_join(h->ckpt_thread, NULL);
	}
	elog_store_close(h->ckpt_store);
	pthread_mutex_destroy(&h->ckpt_mu);
	pthread_cond_destroy(&h->ckpt_cv);
	pthread_cond_destroy(&h->ckpt_idle_cv);
	/* Followers still registered belong to handlers that are gone by now (serve shuts the
	 * server down first); nothing to free here beyond the hub's own state. */
	elog_store_close(h->store);
	free(h->batch);
	free(h->path);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv_work);
	pthread_cond_destroy(&h->cv_space);
	free(h);
}

const char *elog_hub_db_path(struct elog_hub *h)
{
	return h->path;
}

/*
 * Overload: when senders offer more than the disk commits, the queue reaches max_queued and
 * submitters block here, on their call's receiving thread. A blocked receiver reads no more
 * messages, so gRPC's read-ahead (rpc_server.c, a fixed number of messages per call) fills,
 * then HTTP/2 flow control stops the sender's writes and its client blocks: load above the
 * disk's rate becomes backpressure, not memory. What serve holds for ingest is bounded by
 * max_queued records plus, per call, the service's in-flight submissions and the read-ahead.
 * tests/t/t9500-many-clients.sh checks the bound with fast senders.
 */
int elog_hub_submit(struct elog_hub *h, struct elog_ingest *in)
{
	int64_t now = elog_now_ns();
	size_t i;

	for (i = 0; i < in->n; i++) {
		in->recs[i].arrival_ns = now;
		in->recs[i].id = 0;
	}
	in->next = NULL;
	pthread_mutex_lock(&h->mu);
	while (!h->closing && h->q_records > 0 && h->q_records + in->n > h->max_queued)
		pthread_cond_wait(&h->cv_space, &h->mu);
	if (h->closing) {
		pthread_mutex_unlock(&h->mu);
		return ELOG_EUNAVAIL;
	}
	if (h->q_tail)
		h->q_tail->next = in;
	else
		h->q_head = in;
	h->q_tail = in;
	h->q_records += in->n;
	pthread_cond_signal(&h->cv_work);
	pthread_mutex_unlock(&h->mu);
	return 0;
}

struct wait_ctx {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
	char msg[512];
};

static void wait_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct wait_ctx *w = in->ctx;

	pthread_mutex_lock(&w->mu);
	w->done = 1;
	w->rc = rc;
	if (msg)
		snprintf(w->msg, sizeof(w->msg), "%s", msg);
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

int elog_hub_submit_wait(struct elog_hub *h, struct elog_record *recs, size_t n, size_t *stored,
			 struct elog_err *err)
{
	struct wait_ctx w;
	struct elog_ingest in;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	in.recs = recs;
	in.n = n;
	in.done = wait_done;
	in.ctx = &w;
	rc = elog_hub_submit(h, &in);
	if (rc) {
		elog_err_set(err, rc, "server is shutting down");
	} else {
		pthread_mutex_lock(&w.mu);
		while (!w.done)
			pthread_cond_wait(&w.cv, &w.mu);
		pthread_mutex_unlock(&w.mu);
		rc = w.rc;
		if (rc)
			elog_err_set(err, rc, "%s", w.msg);
		if (stored)
			*stored = in.stored;
	}
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return rc;
}

static void filter_copy(struct elog_filter *dst, const struct elog_filter *src)
{
	size_t i;

	elog_filter_init(dst);
	for (i = 0; i < src->ncomponents; i++)
		elog_filter_add_components(dst, src->components[i]);
	dst->level_mask = src->level_mask;
	dst->since_ns = src->since_ns;
	dst->until_ns = src->until_ns;
	dst->after_id = src->after_id;
	if (src->pattern)
		elog_filter_set_pattern(dst, src->pattern, NULL);
}

struct elog_follower *elog_hub_follow(struct elog_hub *h, const struct elog_filter *f,
				      int64_t *live_after)
{
	struct elog_follower *fol = xcalloc(1, sizeof(*fol));

	fol->hub = h;
	filter_copy(&fol->filter, f);
	fol->filter.after_id = 0;
	fol->ring = xcalloc(h->fol_cap, sizeof(*fol->ring));
	pthread_cond_init(&fol->cv, NULL);
	/* last_id and fan-out change together under h->mu: every record with a larger id is
	 * committed later and reaches this follower. */
	pthread_mutex_lock(&h->mu);
	*live_after = h->last_id;
	fol->next = h->followers;
	if (h->followers)
		h->followers->prev = fol;
	h->followers = fol;
	h->nfollowers++;
	pthread_mutex_unlock(&h->mu);
	return fol;
}

static void deadline_after_ns(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec += ns % 1000000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

int elog_follower_next(struct elog_follower *f, struct elog_record *out, size_t max, size_t *n,
		       uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		       int64_t timeout_ns)
{
	struct elog_hub *h = f->hub;
	struct timespec ts;
	size_t k = 0;

	*n = 0;
	*missed = 0;
	deadline_after_ns(&ts, timeout_ns);
	pthread_mutex_lock(&h->mu);
	while (f->count == 0 && f->missed == 0 && !h->followers_stopped) {
		if (pthread_cond_timedwait(&f->cv, &h->mu, &ts) == ETIMEDOUT)
			break;
	}
	if (f->count == 0 && f->missed == 0) {
		int stopped = h->followers_stopped;

		pthread_mutex_unlock(&h->mu);
		return stopped ? -1 : 0;
	}
	while (k < max && f->count > 0) {
		struct fol_slot *slot = &f->ring[f->head];

		out[k++] = slot->rec;
		f->bytes -= slot->bytes;
		f->head = (f->head + 1) % h->fol_cap;
		f->count--;
	}
	/* The gap comes after everything queued before it (fan_out_locked): report it with the
	 * last of those, so the reader can fill it in order. */
	if (f->missed && f->count == 0) {
		*missed = f->missed;
		*missed_from = f->missed_from;
		*missed_to = f->missed_to;
		f->missed = 0;
	}
	*n = k;
	pthread_mutex_unlock(&h->mu);
	return 1;
}

void elog_follower_close(struct elog_follower *f)
{
	struct elog_hub *h;

	if (!f)
		return;
	h = f->hub;
	pthread_mutex_lock(&h->mu);
	if (f->prev)
		f->prev->next = f->next;
	else
		h->followers = f->next;
	if (f->next)
		f->next->prev = f->prev;
	h->nfollowers--;
	pthread_mutex_unlock(&h->mu);
	while (f->count > 0) {
		elog_record_clear(&f->ring[f->head].rec);
		f->head = (f->head + 1) % h->fol_cap;
		f->count--;
	}
	free(f->ring);
	elog_filter_clear(&f->filter);
	pthread_cond_destroy(&f->cv);
	free(f);
}

void elog_hub_stats(struct elog_hub *h, struct elog_hub_stats *out)
{
	pthread_mutex_lock(&h->mu);
	*out = h->stats;
	out->followers = h->nfollowers;
	pthread_mutex_unlock(&h->mu);
}
