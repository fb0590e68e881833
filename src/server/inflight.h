/*
 * inflight.h — a service call's submissions to the hub that still wait for their commit.
 *
 * A streaming call (flowctl StreamLogs, electrician StreamReceive, logging.v1 WriteLogStream)
 * hands records to the hub without waiting for them (elog_hub_submit), yet must not answer
 * before every one of them is committed, and must stop once one could not be. struct
 * elog_inflight counts the submissions whose done callback has not run yet and keeps the
 * first failure — a commit that failed, or a submission the closing hub refused — as the rpc
 * status and message the call finishes with.
 *
 * Ownership: the call owns the struct (usually on its stack) from elog_inflight_init until
 * elog_inflight_destroy, which it may reach only once count is 0 (elog_inflight_wait_locked).
 * The submissions (struct elog_ingest and their records) stay the call's; nothing here frees
 * them. mu and cv are the call's lock and condition: the call keeps its own state under mu
 * too and may wait on cv; every change made here broadcasts cv. The fields may be read under
 * mu; only these functions change them. Functions named *_locked expect mu held.
 */
#ifndef ELOG_INFLIGHT_H
#define ELOG_INFLIGHT_H

#include <pthread.h>
#include "hub/hub.h"

struct elog_inflight {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int count;                   /* submitted, done callback not run yet */
	int failed;                  /* set by the first failure, never cleared */
	int fail_status;             /* with failed: the rpc status (rpc.h) to finish with */
	char fail_msg[512];          /* with failed: its details */
};

/* Starts with nothing in flight and no failure. */
void elog_inflight_init(struct elog_inflight *f);

/* Releases mu and cv; count must be 0. */
void elog_inflight_destroy(struct elog_inflight *f);

/*
 * Under mu: submits in to hub. Counts it, releases mu for elog_hub_submit (which may block
 * on the hub's backpressure, and whose done callback may run before it returns) and holds mu
 * again on return. When the hub refuses (it is closing: done will never run), uncounts it and
 * fails with RPC_UNAVAILABLE "server is shutting down"; in and its records are then the
 * caller's to free. Returns elog_hub_submit's code.
 */
int elog_inflight_submit_locked(struct elog_inflight *f, struct elog_hub *hub,
				struct elog_ingest *in);

/*
 * Under mu, from a submission's done callback: uncounts it and, when rc != 0, fails with the
 * rpc status of rc (elog_svc_status_of) and msg ("commit failed" when NULL).
 */
void elog_inflight_done_locked(struct elog_inflight *f, int rc, const char *msg);

/* elog_inflight_done_locked taking and releasing mu. */
void elog_inflight_done(struct elog_inflight *f, int rc, const char *msg);

/*
 * Under mu, for a thread that submits what a producer collects, in groups: waits until the
 * next group may go, that is *collected > 0 and fewer than max submissions are in flight, and
 * returns 1; returns 0 when nothing more will go: the call failed, or *closing is set and
 * nothing is collected. *collected and *closing are the caller's, changed under mu with a
 * broadcast of cv. While it waits, *waiting (when not NULL) is 1, so that a producer can
 * broadcast only when the submitter would act.
 */
int elog_inflight_wait_to_submit_locked(struct elog_inflight *f, int max, const size_t *collected,
					const int *closing, int *waiting);

/* Under mu: waits until every submission's done callback has run (count is 0). */
void elog_inflight_wait_locked(struct elog_inflight *f);

#endif
