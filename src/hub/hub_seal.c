/*
 * hub_seal.c — the sealer thread (store/seal.h). The costly part, reading the hot table's
 * oldest rows and compressing them into a block, runs on its own thread and connection at a
 * lower CPU priority, in no write transaction; the writer then commits the block between two
 * ingest transactions (insert the block, delete its rows: a few ms), so the sealer never
 * competes with it for the write lock. Under a burst the sealer lags (the hot table grows)
 * and catches up afterwards. Closing may leave rows unsealed: hot rows are as valid as
 * sealed ones, and the next serve seals them.
 */
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hub/hub_internal.h"
#include "store/seal.h"
#include "store/block.h"

/* The sealer looks again after this many new records (a block's worth: sealing is in whole
 * blocks). */
#define SEAL_WAKE_RECORDS ELOG_BLOCK_MAX_RECORDS
#define SEAL_NICE 10

static void *seal_main(void *arg)
{
	struct elog_hub *h = arg;

	/* Linux: a thread's own nice value; the writer and the readers keep theirs */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), SEAL_NICE) != 0) {
		/* not allowed: it runs at the same priority */
	}
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->seal_wanted && !h->seal_stop)
			pthread_cond_wait(&h->seal_cv, &h->mu);
		if (h->seal_stop)
			break;
		h->seal_wanted = 0;
		h->seal_failed = 0;
		while (!h->seal_stop && !h->seal_failed) {
			struct elog_seal *p = NULL;

			pthread_mutex_unlock(&h->mu);
			if (elog_store_seal_prepare(h->seal_store, ELOG_SEAL_KEEP_HOT,
						    ELOG_BLOCK_MAX_RECORDS, &p, NULL) != 0)
				p = NULL;
			pthread_mutex_lock(&h->mu);
			if (!p)
				break;
			h->seal_ready = p;
			pthread_cond_broadcast(&h->cv_work);
			while (h->seal_ready && !h->seal_stop)
				pthread_cond_wait(&h->seal_cv, &h->mu);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

void hub__seal_start(struct elog_hub *h)
{
	pthread_cond_init(&h->seal_cv, NULL);
	if (elog_store_open(&h->seal_store, h->path, ELOG_STORE_READONLY, NULL) != 0)
		return;
	h->seal_wanted = 1;    /* what an earlier serve left, or an upgraded history */
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
	elog_seal_free(h->seal_ready);
	h->seal_ready = NULL;
	elog_store_close(h->seal_store);
	h->seal_store = NULL;
	pthread_cond_destroy(&h->seal_cv);
}

void hub__seal_committed(struct elog_hub *h, size_t n)
{
	if (!h->seal_started)
		return;
	h->seal_since += (int64_t)n;
	if (h->seal_since < SEAL_WAKE_RECORDS)
		return;
	h->seal_since = 0;
	pthread_mutex_lock(&h->mu);
	h->seal_wanted = 1;
	pthread_cond_broadcast(&h->seal_cv);
	pthread_mutex_unlock(&h->mu);
}

int hub__seal_apply(struct elog_hub *h)
{
	struct elog_seal *p;
	int64_t sealed = 0;
	int rc;

	pthread_mutex_lock(&h->mu);
	p = h->seal_ready;
	pthread_mutex_unlock(&h->mu);
	if (!p)
		return 0;
	rc = elog_store_seal_commit(h->store, p, &sealed, NULL);
	pthread_mutex_lock(&h->mu);
	h->seal_ready = NULL;
	if (rc != 0)
		h->seal_failed = 1;    /* e.g. a full disk: tried again after more records */
	pthread_cond_broadcast(&h->seal_cv);
	pthread_mutex_unlock(&h->mu);
	elog_seal_free(p);
	return 1;
}
