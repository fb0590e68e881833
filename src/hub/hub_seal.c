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

/* The writer looks again after this many new records (sealing is in whole blocks). */
#define SEAL_WAKE_RECORDS ELOG_BLOCK_MAX_RECORDS
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
		h->seal_ready = p;
		if (p)
			pthread_cond_broadcast(&h->cv_work);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* Writer thread: hands the sealer the oldest hot rows when there are enough and it is idle. */
static void seal_feed(struct elog_hub *h)
{
	struct elog_seal *p = NULL;
	int busy;

	pthread_mutex_lock(&h->mu);
	busy = h->seal_job || h->seal_ready;
	pthread_mutex_unlock(&h->mu);
	if (busy || !h->seal_started)
		return;
	h->seal_since = 0;
	if (elog_store_seal_read(h->store, ELOG_SEAL_KEEP_HOT, ELOG_BLOCK_MAX_RECORDS, &p,
				 NULL) != 0)
		return;
	if (!p) {   /* caught up: the pages the sealed rows took can go back (hub__seal_apply) */
		pthread_mutex_lock(&h->mu);
		h->trim_pending = 1;
		pthread_mutex_unlock(&h->mu);
		return;
	}
	pthread_mutex_lock(&h->mu);
	h->seal_job = p;
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
	pthread_cond_destroy(&h->seal_cv);
}

void hub__seal_committed(struct elog_hub *h, size_t n)
{
	h->seal_since += (int64_t)n;
	if (h->seal_since >= SEAL_WAKE_RECORDS)
		seal_feed(h);
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
	if (elog_store_seal_commit(h->store, p, &sealed, NULL) == 0 && sealed > 0)
		h->seal_since = SEAL_WAKE_RECORDS;   /* more may be waiting: look now */
	elog_seal_free(p);
	if (h->seal_since >= SEAL_WAKE_RECORDS)
		seal_feed(h);
	return 1;
}
