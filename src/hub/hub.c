/*
 * hub.c — the group-commit writer (see hub.h): its thread, the checkpointer, retention between
 * transactions, opening and closing the hub, and submissions (with redaction). The live list
 * the writer publishes to and its followers are in hub_live.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>

#include "hub/hub_internal.h"
#include "common/err.h"
#include "common/util.h"

/*
 * Retention runs on the writer thread between two ingest transactions, a chunk of at most
 * ELOG_RETAIN_CHUNK records per transaction: after a commit of n records it removes up to
 * 2n + one chunk (so it outpaces ingest), and while idle a pass a second (age, and a history
 * found over its bound). The WAL is capped within the bound (elog_retention_wal_bytes).
 */
#define RETAIN_IDLE_NS (1000LL * 1000000LL)

static void writer_catch_up(struct elog_hub *h);

static void writer_retain(struct elog_hub *h, size_t stored)
{
	int64_t removed = 0;
	int more = 0;

	int64_t budget = 2 * (int64_t)stored + h->retain_chunk, k = 0, spent = 0;

	if (!h->retain_on)
		return;
	/* a chunk at a time, the WAL caught up between chunks as between ingest batches */
	while (budget > 0) {
		if (elog_store_retain(h->store, &h->retain, elog_now_ns(),
				      budget < h->retain_chunk ? budget : h->retain_chunk, &k,
				      &spent, &more, NULL) != 0)
			more = 0;    /* tried again at the next commit or idle pass */
		removed += k;
		budget -= spent > 0 ? spent : k;   /* blocks count as the bytes they freed */
		writer_catch_up(h);
		if (!more || k == 0)
			break;
	}
	h->retain_more = more;
	h->retain_next_ns = elog_mono_ns() + RETAIN_IDLE_NS;
	if (removed) {
		pthread_mutex_lock(&h->mu);
		h->stats.retained += (uint64_t)removed;
		pthread_mutex_unlock(&h->mu);
	}
}

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

static void undo_all(struct elog_ingest *in);

/* The in_txn writes of a batch's submissions (ctx: the first), in submission order. */
static int run_in_txn(void *ctx, struct elog_store *s, struct elog_err *err)
{
	struct elog_ingest *in;
	int rc;

	for (in = ctx; in; in = in->next)
		if (in->in_txn && (rc = in->in_txn(in, s, err)) != 0)
			return rc;
	return 0;
}

static void *writer_main(void *arg)
{
	struct elog_hub *h = arg;

	for (;;) {
		struct elog_ingest *take, *in, *last;
		struct pub_chunk *chunks = NULL, *to_free = NULL;
		size_t nrec = 0, off, stored;
		struct elog_err err;
		int rc, publish;

		pthread_mutex_lock(&h->mu);
		while (!h->q_head && !h->closing) {
			if (hub__seal_pending_locked(h)) {    /* sealing (hub_seal.c) */
				pthread_mutex_unlock(&h->mu);
				hub__seal_apply(h);
				/* a seal step is a transaction too (a block, its rows' delete, or
				 * a trim step: about 1 MiB of WAL each): after a burst they run
				 * back to back here, and the WAL must start over between them as
				 * it does between ingest batches, or it outgrows --retain-size's
				 * share (t8000 saw 8 MiB for a 2 MiB share) */
				writer_catch_up(h);
				pthread_mutex_lock(&h->mu);
				continue;
			}
			if (!h->retain_on) {
				pthread_cond_wait(&h->cv_work, &h->mu);
				continue;
			}
			if (h->retain_more || elog_mono_ns() >= h->retain_next_ns) {
				pthread_mutex_unlock(&h->mu);
				writer_retain(h, 0);
				writer_catch_up(h);
				pthread_mutex_lock(&h->mu);
				continue;
			}
			elog_cond_wait_until(&h->cv_work, &h->mu, h->retain_next_ns);
		}
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
		for (in = take; in; in = in->next)
			h->q_bytes -= in->bytes;
		publish = h->nfollowers > 0;
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
		for (in = take; in && !in->in_txn; in = in->next)
			;
		/* in: a submission writes more in the transaction */
		rc = nrec || in ? hub__seal_insert(h, h->batch, nrec, &stored,
						    in ? run_in_txn : NULL, take, &err) : 0;
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
		/* The copy for followers is made outside the lock, once, whatever their number. */
		if (rc == 0 && publish)
			chunks = hub__chunks_build(h->batch, nrec);
		pthread_mutex_lock(&h->mu);
		if (rc == 0) {
			h->stats.committed += stored;
			h->stats.transactions++;
			for (size_t i = nrec; i > 0; i--)
				if (h->batch[i - 1].id > 0) {
					h->last_id = h->batch[i - 1].id;
					break;
				}
			/* a follower that registered meanwhile (rare) needs them too */
			if (!publish && h->nfollowers > 0)
				chunks = hub__chunks_build(h->batch, nrec);
			if (h->nfollowers > 0 && chunks)
				hub__publish_locked(h, chunks, &to_free);
			else
				to_free = chunks;
		}
		pthread_mutex_unlock(&h->mu);
		hub__chunks_free(to_free);
		for (in = take; in;) {
			struct elog_ingest *next = in->next;

			undo_all(in);
			in->done(in, rc, rc ? err.msg : NULL);   /* may free in */
			in = next;
		}
		writer_catch_up(h);
		if (rc == 0)
			writer_retain(h, stored);
		if (hub__seal_now(h))
			hub__seal_apply(h);
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
	h->redact = o ? o->redact : NULL;
	if (h->redact)
		h->redact_streams = elog_redact_streams_new();
	h->clock = o && o->clock ? o->clock : &elog_clock_system;
	h->max_queued = o && o->max_queued_records ? o->max_queued_records : 262144;
	h->max_queued_bytes = o && o->max_queued_bytes ? o->max_queued_bytes : (256u << 20);
	h->max_batch = o && o->max_batch_records ? o->max_batch_records : 16384;
	h->live_max_records = o && o->live_records ? o->live_records : 16384;
	h->live_max_bytes = o && o->live_bytes ? o->live_bytes : (16u << 20);
	h->pub = xcalloc(PUB_SLOTS, sizeof(*h->pub));
	h->pub_head = h->pub_next = 1;
	h->wal_cap = o && o->wal_cap_frames > 0 ? o->wal_cap_frames : CKPT_WAL_CAP;
	if (o && (o->retain_bytes > 0 || o->retain_age_ns > 0)) {
		h->retain_on = 1;
		h->retain_more = 1;    /* a first pass at once: the history may be over already */
		h->retain.max_bytes = o->retain_bytes;
		h->retain.max_age_ns = o->retain_age_ns;
		if (o->retain_bytes > 0) {
			int64_t w = elog_retention_wal_bytes(o->retain_bytes);

			h->retain.wal_bytes = w;
			if (w / 4096 < h->wal_cap)
				h->wal_cap = (int)(w / 4096);
			elog_store_set_wal_limit(h->store, w);
			/* a transaction's records fit in a quarter of the WAL's part */
			if ((size_t)(w / 4 / 256) < h->max_batch)
				h->max_batch = (size_t)(w / 4 / 256) > 64 ? (size_t)(w / 4 / 256) : 64;
		}
		h->retain_chunk = h->max_batch < ELOG_RETAIN_CHUNK ? (int64_t)h->max_batch :
				  ELOG_RETAIN_CHUNK;
	}
	h->ckpt_step = h->wal_cap / 4 < CKPT_STEP ? (h->wal_cap + 3) / 4 : CKPT_STEP;
	pthread_mutex_init(&h->mu, NULL);
	elog_cond_init(&h->cv_work);
	pthread_cond_init(&h->cv_space, NULL);
	elog_cond_init(&h->cv_pub);
	pthread_mutex_init(&h->ckpt_mu, NULL);
	pthread_cond_init(&h->ckpt_cv, NULL);
	pthread_cond_init(&h->ckpt_idle_cv, NULL);
	/* Without a second connection the writer keeps SQLite's inline checkpoints. */
	if (elog_store_open(&h->ckpt_store, db_path, 0, NULL) == 0 &&
	    pthread_create(&h->ckpt_thread, NULL, ckpt_main, h) == 0) {
		h->ckpt_started = 1;
		if (h->retain.wal_bytes)
			elog_store_set_wal_limit(h->ckpt_store, h->retain.wal_bytes);
		elog_store_on_commit(h->store, on_commit, h);
	}
	hub__seal_start(h);
	if (pthread_create(&h->writer, NULL, writer_main, h) != 0) {
		hub__seal_stop(h);
		elog_store_close(h->store);
		elog_redact_streams_free(h->redact_streams);
		free(h->pub);
		free(h->path);
		free(h);
		return elog_err_set(err, ELOG_EFAIL, "cannot start the writer thread");
	}
	*out = h;
	return 0;
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
	hub__seal_stop(h);
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
	while (h->pub_head < h->pub_next)
		hub__chunks_free(hub__pub_drop_head_locked(h));
	free(h->pub);
	pthread_cond_destroy(&h->cv_pub);
	elog_store_close(h->store);
	free(h->batch);
	free(h->path);
	elog_redact_streams_free(h->redact_streams);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv_work);
	pthread_cond_destroy(&h->cv_space);
	free(h);
}

/*
 * Overload: when senders offer more than the disk commits, the queue reaches max_queued and
 * submitters block here, on their call's receiving thread. A blocked receiver reads no more
 * messages, so gRPC's read-ahead (rpc_server.c, a fixed number of messages per call) fills,
 * then HTTP/2 flow control stops the sender's writes and its client blocks: load above the
 * disk's rate becomes backpressure, not memory. What serve holds for ingest is bounded by
 * max_queued records and max_queued_bytes (whichever comes first: many small records or a few
 * large ones) plus, per call, the service's in-flight submissions and the read-ahead.
 * tests/t/t9500-many-clients.sh checks the bound with fast senders.
 */
/*
 * Redaction replaces a record's message or fields with strings of its own, and the
 * submitter's strings (which may live in its receive buffer) are put back, and ours freed,
 * just before done: the submitter frees its records as it made them, and the history, the
 * live list and every follower only ever saw the redacted ones.
 */
struct redact_undo {
	char **slot;
	char *orig;
	struct redact_undo *next;
};

static void undo_push(struct elog_ingest *in, char **slot, char *mine)
{
	struct redact_undo *u = xmalloc(sizeof(*u));

	u->slot = slot;
	u->orig = *slot;
	u->next = in->undo;
	in->undo = u;
	*slot = mine;
}

static void undo_all(struct elog_ingest *in)
{
	while (in->undo) {
		struct redact_undo *u = in->undo;

		in->undo = u->next;
		free(*u->slot);
		*u->slot = u->orig;
		free(u);
	}
}

static void redact_one(struct elog_hub *h, struct elog_ingest *in, struct elog_record *r)
{
	struct elog_redacted o;

	elog_redact_record_new(h->redact, h->redact_streams, r, &o);
	if (o.msg)
		undo_push(in, &r->msg, o.msg);
	if (o.fields)
		undo_push(in, &r->fields, o.fields);
	if (o.component)
		undo_push(in, &r->component, o.component);
	if (o.source)
		undo_push(in, &r->source, o.source);
}

int elog_hub_submit(struct elog_hub *h, struct elog_ingest *in)
{
	int64_t now = h->clock->now_ns(h->clock);
	size_t i;

	in->bytes = 0;
	in->undo = NULL;
	for (i = 0; i < in->n; i++) {
		const struct elog_record *r = &in->recs[i];

		if (h->redact)
			redact_one(h, in, &in->recs[i]);
		in->recs[i].arrival_ns = now;
		in->recs[i].id = 0;
		in->bytes += sizeof(*r) + strlen(r->component) + strlen(r->msg) + strlen(r->fields) +
			     strlen(r->source) + strlen(r->dedupe_key);
	}
	in->next = NULL;
	pthread_mutex_lock(&h->mu);
	while (!h->closing && h->q_records > 0 &&
	       (h->q_records + in->n > h->max_queued || h->q_bytes + in->bytes > h->max_queued_bytes))
		pthread_cond_wait(&h->cv_space, &h->mu);
	if (h->closing) {
		pthread_mutex_unlock(&h->mu);
		undo_all(in);
		return ELOG_EUNAVAIL;
	}
	if (h->q_tail)
		h->q_tail->next = in;
	else
		h->q_head = in;
	h->q_tail = in;
	h->q_records += in->n;
	h->q_bytes += in->bytes;
	h->stats.submissions++;
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

struct elog_redactor *elog_hub_redactor(struct elog_hub *h)
{
	return h->redact;
}

void elog_hub_stats(struct elog_hub *h, struct elog_hub_stats *out)
{
	pthread_mutex_lock(&h->mu);
	*out = h->stats;
	out->followers = h->nfollowers;
	out->live_records = h->pub_records;
	out->live_bytes = h->pub_bytes;
	pthread_mutex_unlock(&h->mu);
}

void elog_hub_set_forward_status(struct elog_hub *h, const struct elog_forward_status *st)
{
	pthread_mutex_lock(&h->mu);
	h->fwd = *st;
	h->has_fwd = 1;
	pthread_mutex_unlock(&h->mu);
}

int elog_hub_forward_status(struct elog_hub *h, struct elog_forward_status *out)
{
	int has;

	pthread_mutex_lock(&h->mu);
	has = h->has_fwd;
	if (has)
		*out = h->fwd;
	pthread_mutex_unlock(&h->mu);
	return has;
}
