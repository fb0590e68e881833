/*
 * hub_seal.c — sealing the hot table's oldest rows into blocks (store/seal.h) in serve.
 *
 * Three steps, so that the costly one holds no lock and no snapshot: the writer, between two
 * ingest transactions, copies the oldest ELOG_BLOCK_MAX_RECORDS hot rows once the table holds
 * ELOG_SEAL_KEEP_HOT more than that (a few ms); the sealer thread compresses them (under a
 * burst it lags, the hot table grows, and it catches up afterwards); the writer then commits the block, between two transactions again (insert
 * the block, delete its rows: a few ms), so nothing competes with it for the write lock. A
 * first version read the rows on the sealer's own connection: starved of CPU at its low
 * priority, it held its read snapshot for long, and the WAL could not start over (it grew to
 * several times its cap). Closing may leave rows unsealed: hot rows are as valid as sealed
 * ones, and the next serve seals them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hub/hub_internal.h"
#include "store/seal.h"
#include "store/block.h"
#include "common/util.h"

/* The writer looks again after this many new records (sealing is in whole blocks). */
#define SEAL_WAKE_RECORDS ELOG_BLOCK_MAX_RECORDS
/* Seal steps (a block's copy, its commit: about 1 and 3 ms) wait until the writer finds no
 * submission queued, so that records already waiting are not held up behind them, unless
 * this many records were committed since the last step (a burst that keeps the queue full
 * still seals a block a commit, as before). At 10k lines/s a step right after each commit
 * held the next batch up to 7 ms, at the follow latency's 99th percentile. */
#define SEAL_DEFER_RECORDS (4 * ELOG_BLOCK_MAX_RECORDS)
/* The sealer's nice value. It was 10 at first: on a shared 2-core machine at load 6 it then
 * got so little CPU that half of a 10M-record burst (ingest at 130k records/s) was still hot
 * when the burst ended, and a query over hot rows has no index (a 1-second --since window took
 * 1.4 s). Compressing costs about a tenth of what ingest costs a record, so it runs at the
 * writer's priority: 2M records sent at full speed, it had caught up 10 s after the send. */
#define SEAL_NICE 0

static void *seal_main(void *arg)
{
	struct elog_hub *h = arg;

	/* Linux: a thread's own nice value; the writer and the readers keep theirs */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SEAL_NICE) != 0) {
		/* not allowed: it runs at the same priority */
	}
	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct elog_seal *p;

		while (!h->seal_job && !h->seal_stop)
			pthread_cond_wait(&h->seal_cv, &h->mu);
		if (h->seal_stop)
			break;
		p = h->seal_job;
		pthread_mutex_unlock(&h->mu);
		if (elog_seal_encode(p, NULL) != 0) {
			elog_seal_free(p);     /* left hot; tried again after more records */
			p = NULL;
		}
		pthread_mutex_lock(&h->mu);
		h->seal_job = NULL;
		if (h->seal_cancel) {    /* a burst's transaction sealed these rows meanwhile */
			h->seal_cancel = 0;
			elog_seal_free(p);
			p = NULL;
		}
		h->seal_ready = p;
		if (p)
			pthread_cond_broadcast(&h->cv_work);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/*
 * The writer's copy of what it committed (hub__seal_stage), so that a block is sealed from
 * memory: reading its 4096 rows back (and counting the table first) took the writer ~4 ms a
 * block at 10k lines/s, a stall every follower saw in its latency. The copies are the hot
 * table's oldest rows exactly when the table's oldest id is the first copy's (one seek);
 * anything else that happened to the table (rows an earlier serve left, a removal by
 * retention or `elog prune`, a seal that failed) shows as another oldest id, or as a count
 * elog_store_seal_commit finds changed, and those rows are read back as before. Bounded: past
 * STAGE_MAX_RECORDS or STAGE_MAX_BYTES the oldest copies are dropped (read back later).
 */
/* (the block the sealer has in hand is still staged: one block more than the table's share) */
#define STAGE_MAX_RECORDS (ELOG_SEAL_KEEP_HOT + 5 * ELOG_BLOCK_MAX_RECORDS)
#define STAGE_MAX_BYTES (32u << 20)

/* One commit's records and their strings, in one allocation. */
struct seal_segment {
	struct seal_segment *next;
	size_t n, used;                  /* records; the first `used` are sealed or dropped */
	size_t bytes;                    /* the allocation's size */
	struct elog_record recs[];
};

static void stage_drop_front(struct elog_hub *h, size_t k)
{
	while (k > 0 && h->stage_head) {
		struct seal_segment *g = h->stage_head;
		size_t left = g->n - g->used, d = k < left ? k : left;

		g->used += d;
		h->stage_records -= d;
		k -= d;
		if (g->used == g->n) {
			h->stage_head = g->next;
			if (!h->stage_head)
				h->stage_tail = NULL;
			h->stage_bytes -= g->bytes;
			free(g);
		}
	}
}

static int64_t stage_first_id(const struct elog_hub *h)
{
	return h->stage_head ? h->stage_head->recs[h->stage_head->used].id : 0;
}

/* Drops the copies of records with ids below lo (no longer in the hot table). */
static void stage_drop_below(struct elog_hub *h, int64_t lo)
{
	while (h->stage_head && stage_first_id(h) < lo) {
		const struct seal_segment *g = h->stage_head;
		size_t i = g->used;

		while (i < g->n && g->recs[i].id < lo)
			i++;
		stage_drop_front(h, i - g->used);
	}
}

void hub__seal_stage(struct elog_hub *h, const struct elog_record *recs, size_t n)
{
	struct seal_segment *g;
	size_t k = 0, strs = 0, size, i;
	char *p;

	if (!h->seal_started)
		return;
	for (i = 0; i < n; i++)
		if (recs[i].id > 0) {
			k++;
			strs += hub__record_strs(&recs[i]);
		}
	if (!k)
		return;
	size = sizeof(*g) + k * sizeof(g->recs[0]) + strs;
	g = xmalloc(size);
	g->next = NULL;
	g->n = k;
	g->used = 0;
	g->bytes = size;
	p = (char *)&g->recs[k];
	for (i = 0, k = 0; i < n; i++) {
		const struct elog_record *x = &recs[i];
		struct elog_record *r;

		if (x->id <= 0)
			continue;
		r = &g->recs[k++];
		*r = *x;
		r->component = hub__put_str(&p, x->component);
		r->msg = hub__put_str(&p, x->msg);
		r->fields = hub__put_str(&p, x->fields);
		r->source = hub__put_str(&p, x->source);
		r->dedupe_key = hub__put_str(&p, x->dedupe_key);
		r->redacted_before = 0;
	}
	if (h->stage_tail)
		h->stage_tail->next = g;
	else
		h->stage_head = g;
	h->stage_tail = g;
	h->stage_records += k;
	h->stage_bytes += size;
	while (h->stage_records > STAGE_MAX_RECORDS || h->stage_bytes > STAGE_MAX_BYTES)
		stage_drop_front(h, h->stage_head->n - h->stage_head->used);
}

/*
 * The batch's insert. Under a burst (a batch of at least a block), the hot rows' copies and the
 * batch's oldest records are sealed in its transaction (elog_store_insert_sealing): the
 * records of a burst are written once, into blocks, instead of as rows that the sealer copies,
 * compresses and deletes afterwards (that round trip was most of the writer's time: at 1M
 * lines/s the writer thread was the busiest in serve). Encoding a block in the writer costs
 * about a fifth of what inserting and deleting its rows did.
 */
int hub__seal_insert(struct elog_hub *h, struct elog_record *recs, size_t n, size_t *stored,
		     elog_store_txn_fn extra, void *ctx, struct elog_err *err)
{
	struct elog_record *hot = NULL;
	int64_t through = 0;
	size_t nhot = 0, k = 0, sealed, i;
	int rc;

	if (h->seal_started && n >= ELOG_BLOCK_MAX_RECORDS) {
		const struct seal_segment *g;

		if (h->stage_records)
			hot = xmalloc(h->stage_records * sizeof(*hot));
		for (g = h->stage_head; g; g = g->next)
			for (i = g->used; i < g->n; i++)
				hot[nhot++] = g->recs[i];
		rc = elog_store_insert_sealing(h->store, recs, n, hot, nhot, &through, stored,
					       extra, ctx, err);
		free(hot);
	} else {
		rc = elog_store_insert_txn(h->store, recs, n, stored, extra, ctx, err);
	}
	if (rc != 0)
		return rc;
	if (through > 0) {
		/* every hot row is in a block now: a block of them the sealer has in hand (or
		 * had encoded) would find its rows gone; it is dropped. The copies sealed go;
		 * the rows left hot are copied below. */
		stage_drop_below(h, through + 1);
		sealed = 0;
		while (k < n && recs[k].id <= through)
			sealed += recs[k++].id > 0;
		pthread_mutex_lock(&h->mu);
		elog_seal_free(h->seal_ready);
		h->seal_ready = NULL;
		if (h->seal_job)
			h->seal_cancel = 1;
		h->stats.sealed_direct += sealed;
		pthread_mutex_unlock(&h->mu);
	}
	hub__seal_stage(h, recs + k, n - k);
	for (i = k, sealed = 0; i < n; i++)
		sealed += recs[i].id > 0;      /* here: the rows that went in hot */
	hub__seal_committed(h, sealed);
	return 0;
}

/* The next block from the copies: 1 and *out, 0 when the hot table holds too few rows to
 * seal one, -1 when its oldest rows are not the copies (they are read back). */
static int seal_from_stage(struct elog_hub *h, struct elog_seal **out)
{
	struct elog_record *tmp;
	const struct seal_segment *g;
	int64_t lo;
	size_t i, off;

	*out = NULL;
	if (!h->stage_head || elog_store_hot_first(h->store, &lo, NULL) != 0)
		return -1;
	stage_drop_below(h, lo);
	if (!h->stage_head || stage_first_id(h) != lo)
		return -1;
	if (h->stage_records < ELOG_SEAL_KEEP_HOT + ELOG_BLOCK_MAX_RECORDS)
		return 0;
	tmp = xmalloc(ELOG_BLOCK_MAX_RECORDS * sizeof(*tmp));
	for (g = h->stage_head, i = 0; g && i < ELOG_BLOCK_MAX_RECORDS; g = g->next)
		for (off = g->used; off < g->n && i < ELOG_BLOCK_MAX_RECORDS; off++)
			tmp[i++] = g->recs[off];
	*out = elog_seal_from_records(tmp, i);
	free(tmp);
	/* the copies stay until their rows leave the table (stage_drop_below, above, on the next
	 * look): a burst's transaction may seal them first (hub__seal_insert) */
	return 1;
}

/* Writer thread: hands the sealer the oldest hot rows when there are enough and it is idle. */
static void seal_feed(struct elog_hub *h)
{
	struct elog_seal *p = NULL;
	int busy, copied;

	pthread_mutex_lock(&h->mu);
	busy = h->seal_job || h->seal_ready;
	pthread_mutex_unlock(&h->mu);
	if (busy || !h->seal_started)
		return;
	h->seal_since = 0;
	copied = seal_from_stage(h, &p);
	if (copied < 0 && elog_store_seal_read(h->store, ELOG_SEAL_KEEP_HOT,
					       ELOG_BLOCK_MAX_RECORDS, &p, NULL) != 0)
		return;
	if (!p) {   /* caught up: the pages the sealed rows took can go back (hub__seal_apply) */
		pthread_mutex_lock(&h->mu);
		h->trim_pending = 1;
		pthread_mutex_unlock(&h->mu);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->seal_job = p;
	if (copied > 0)
		h->stats.seals_copied++;
	else
		h->stats.seals_read_back++;
	pthread_cond_broadcast(&h->seal_cv);
	pthread_mutex_unlock(&h->mu);
}

/* Writer thread, between transactions, once sealing caught up: gives back SEAL_TRIM_STEP
 * free pages (1 MiB: a few ms of the writer's time) a pass, until few are left. */
#define SEAL_TRIM_STEP 256
static void trim_step(struct elog_hub *h)
{
	int pending, more = 0;

	pthread_mutex_lock(&h->mu);
	pending = h->trim_pending;
	pthread_mutex_unlock(&h->mu);
	if (!pending)
		return;
	if (elog_store_trim_free(h->store, SEAL_TRIM_STEP, &more, NULL) != 0)
		more = 0;       /* a full disk: nothing to give back now; looked at after the next seal */
	if (!more) {
		pthread_mutex_lock(&h->mu);
		h->trim_pending = 0;
		pthread_mutex_unlock(&h->mu);
	}
}

void hub__seal_start(struct elog_hub *h)
{
	pthread_cond_init(&h->seal_cv, NULL);
	/* what an earlier serve left, or an upgraded history: looked at after the first
	 * commit, or the first idle pass */
	h->seal_since = SEAL_WAKE_RECORDS;
	if (pthread_create(&h->seal_thread, NULL, seal_main, h) == 0)
		h->seal_started = 1;
}

void hub__seal_stop(struct elog_hub *h)
{
	if (h->seal_started) {
		pthread_mutex_lock(&h->mu);
		h->seal_stop = 1;
		pthread_cond_broadcast(&h->seal_cv);
		pthread_mutex_unlock(&h->mu);
		pthread_join(h->seal_thread, NULL);
		h->seal_started = 0;
	}
	elog_seal_free(h->seal_job);
	elog_seal_free(h->seal_ready);
	h->seal_job = h->seal_ready = NULL;
	stage_drop_front(h, h->stage_records);
	pthread_cond_destroy(&h->seal_cv);
}

void hub__seal_committed(struct elog_hub *h, size_t n)
{
	h->seal_since += (int64_t)n;
	h->seal_deferred += (int64_t)n;
}

int hub__seal_now(const struct elog_hub *h)
{
	return h->seal_deferred >= SEAL_DEFER_RECORDS;
}

int hub__seal_pending_locked(const struct elog_hub *h)
{
	return h->seal_ready || h->trim_pending ||
	       (h->seal_started && !h->seal_job && h->seal_since >= SEAL_WAKE_RECORDS);
}

int hub__seal_apply(struct elog_hub *h)
{
	struct elog_seal *p;
	int64_t sealed = 0;

	h->seal_deferred = 0;
	pthread_mutex_lock(&h->mu);
	p = h->seal_ready;
	h->seal_ready = NULL;
	pthread_mutex_unlock(&h->mu);
	if (!p) {
		if (h->seal_since >= SEAL_WAKE_RECORDS)
			seal_feed(h);
		trim_step(h);
		return 0;
	}
	/* an error (a full disk) leaves the rows hot: tried again after more records */
	if (elog_store_seal_commit(h->store, p, &sealed, NULL) == 0) {
		if (sealed > 0)
			h->seal_since = SEAL_WAKE_RECORDS;   /* more may be waiting: look now */
		else     /* the rows changed meanwhile: the copies may not match them either */
			stage_drop_front(h, h->stage_records);
	}
	elog_seal_free(p);
	if (h->seal_since >= SEAL_WAKE_RECORDS)
		seal_feed(h);
	return 1;
}
