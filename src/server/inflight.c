/*
 * inflight.c — a service call's submissions waiting for their commit (see inflight.h).
 */
#include <stdio.h>
#include <string.h>

#include "server/inflight.h"
#include "rpc/rpc.h"
#include "server/svc.h"

void elog_inflight_init(struct elog_inflight *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
}

void elog_inflight_destroy(struct elog_inflight *f)
{
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
}

/* Under mu: keeps the first failure only. */
static void fail_locked(struct elog_inflight *f, int status, const char *msg)
{
	if (f->failed)
		return;
	f->failed = 1;
	f->fail_status = status;
	snprintf(f->fail_msg, sizeof(f->fail_msg), "%s", msg);
}

int elog_inflight_submit_locked(struct elog_inflight *f, struct elog_hub *hub,
				struct elog_ingest *in)
{
	int rc;

	f->count++;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	rc = elog_hub_submit(hub, in);
	pthread_mutex_lock(&f->mu);
	if (rc != 0) {
		f->count--;
		fail_locked(f, RPC_UNAVAILABLE, "server is shutting down");
		pthread_cond_broadcast(&f->cv);
	}
	return rc;
}

void elog_inflight_done_locked(struct elog_inflight *f, int rc, const char *msg)
{
	if (rc != 0)
		fail_locked(f, elog_svc_status_of(rc), msg ? msg : "commit failed");
	f->count--;
	pthread_cond_broadcast(&f->cv);
}

void elog_inflight_done(struct elog_inflight *f, int rc, const char *msg)
{
	pthread_mutex_lock(&f->mu);
	elog_inflight_done_locked(f, rc, msg);
	pthread_mutex_unlock(&f->mu);
}

int elog_inflight_wait_to_submit_locked(struct elog_inflight *f, int max, const size_t *collected,
					const int *closing, int *waiting)
{
	while (!f->failed && !(*closing && *collected == 0) &&
	       (*collected == 0 || f->count >= max)) {
		if (waiting)
			*waiting = 1;
		pthread_cond_wait(&f->cv, &f->mu);
		if (waiting)
			*waiting = 0;
	}
	return !f->failed && *collected > 0;
}

void elog_inflight_wait_locked(struct elog_inflight *f)
{
	while (f->count > 0)
		pthread_cond_wait(&f->cv, &f->mu);
}
