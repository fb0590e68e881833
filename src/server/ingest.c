/*
 * ingest.c — collect -> submit group -> acknowledge after commit (see ingest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/ingest.h"
#include "common/record.h"
#include "common/util.h"
#include "rpc/rpc.h"

#define DEFAULT_GROUP_MAX 4096
#define DEFAULT_GROUP_MAX_BYTES (8u << 20)
#define DEFAULT_MAX_INFLIGHT 4

/* A collected group: the records, the items and the group itself. */
static void group_release(struct elog_ingest_group *g, const struct elog_ingest_spec *sp)
{
	size_t i;

	if (g->items && sp->item_free)
		for (i = 0; i < g->in.n; i++)
			sp->item_free((char *)g->items + i * sp->item_size);
	free(g->items);
	elog_records_free(g->in.recs, g->in.n);
	free(g);
}

struct collected_group {
	struct elog_ingest_group g;
	const struct elog_ingest_spec *spec;
};

static void collected_release(struct elog_ingest_group *g)
{
	group_release(g, ((struct collected_group *)g)->spec);
}

/* Under mu, after a change that may have failed the call: with finish_early, ends the rpc at
 * the first failure, so that a client waiting for an ack (and a receiver waiting for the
 * client) learns it now. */
static void after_failure_locked(struct elog_ingest_call *ic, int was_failed)
{
	if (was_failed || !ic->inf.failed || !ic->spec->finish_early || !ic->call || ic->finished)
		return;
	ic->finished = 1;
	rpc_call_finish(ic->call, ic->inf.fail_status, ic->inf.fail_msg);
}

/* The hub's done callback, on its writer thread in submission order. */
static void group_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct elog_ingest_group *g = (struct elog_ingest_group *)in;
	struct elog_ingest_call *ic = g->ic;
	size_t cost = g->cost;
	int was_failed;

	pthread_mutex_lock(&ic->inf.mu);
	/* a failed commit acknowledges nothing; it fails the call (below) */
	if (rc == 0 && !ic->inf.failed && ic->spec->ack)
		ic->spec->ack(ic, g);
	pthread_mutex_unlock(&ic->inf.mu);
	/* freed while still counted in flight, so that once the call ends nothing of it is left */
	g->release(g);
	pthread_mutex_lock(&ic->inf.mu);
	was_failed = ic->inf.failed;
	ic->inflight_bytes -= cost;
	elog_inflight_done_locked(&ic->inf, rc, msg);
	after_failure_locked(ic, was_failed);
	pthread_mutex_unlock(&ic->inf.mu);
}

/* Under mu: submits g (counted in flight). 0, or -1 when the hub refused (g released). */
static int submit_locked(struct elog_ingest_call *ic, struct elog_ingest_group *g)
{
	int was_failed = ic->inf.failed;

	g->ic = ic;
	g->in.done = group_done;
	ic->inflight_bytes += g->cost;
	if (elog_inflight_submit_locked(&ic->inf, ic->hub, &g->in) == 0)
		return 0;
	ic->inflight_bytes -= g->cost;
	after_failure_locked(ic, was_failed);
	pthread_mutex_unlock(&ic->inf.mu);
	g->release(g);
	pthread_mutex_lock(&ic->inf.mu);
	return -1;
}

/* Hands what add collected to the hub whenever fewer than max_inflight groups wait for their
 * commit; at closing, submits the rest and waits for every commit. */
static void *submitter(void *arg)
{
	struct elog_ingest_call *ic = arg;
	struct elog_record *recs;
	char *items;
	size_t n;

	pthread_mutex_lock(&ic->inf.mu);
	while (elog_inflight_wait_to_submit_locked(&ic->inf, ic->max_inflight, &ic->n, &ic->closing,
						   &ic->sub_waiting)) {
		struct collected_group *cg = xcalloc(1, sizeof(*cg));

		cg->spec = ic->spec;
		cg->g.in.recs = ic->recs;
		cg->g.in.n = ic->n;
		cg->g.items = ic->items;
		cg->g.release = collected_release;
		ic->recs = NULL;
		ic->items = NULL;
		ic->n = ic->cap = ic->bytes = 0;
		submit_locked(ic, &cg->g);
	}
	elog_inflight_wait_locked(&ic->inf);
	/* the call failed: what is still collected goes nowhere */
	recs = ic->recs;
	items = ic->items;
	n = ic->n;
	ic->recs = NULL;
	ic->items = NULL;
	ic->n = ic->cap = ic->bytes = 0;
	pthread_cond_broadcast(&ic->inf.cv);
	pthread_mutex_unlock(&ic->inf.mu);
	if (n) {
		struct collected_group *cg = xcalloc(1, sizeof(*cg));

		cg->spec = ic->spec;
		cg->g.in.recs = recs;
		cg->g.in.n = n;
		cg->g.items = items;
		collected_release(&cg->g);
	} else {
		free(recs);
		free(items);
	}
	return NULL;
}

int elog_ingest_call_start(struct elog_ingest_call *ic, struct elog_hub *hub,
			   struct rpc_call *call, const struct elog_ingest_spec *spec, void *ctx)
{
	memset(ic, 0, sizeof(*ic));
	ic->hub = hub;
	ic->call = call;
	ic->spec = spec;
	ic->ctx = ctx;
	ic->group_max = spec->group_max ? spec->group_max : DEFAULT_GROUP_MAX;
	ic->group_max_bytes = spec->group_max_bytes ? spec->group_max_bytes : DEFAULT_GROUP_MAX_BYTES;
	ic->max_inflight = spec->max_inflight > 0 ? spec->max_inflight : DEFAULT_MAX_INFLIGHT;
	elog_inflight_init(&ic->inf);
	if (spec->collect) {
		if (pthread_create(&ic->th, NULL, submitter, ic) != 0) {
			elog_inflight_destroy(&ic->inf);
			return -1;
		}
		ic->threaded = 1;
	}
	return 0;
}

int elog_ingest_call_add(struct elog_ingest_call *ic, struct elog_record *rec, void *item)
{
	const struct elog_ingest_spec *sp = ic->spec;
	size_t bytes = sizeof(*rec) + strlen(rec->component) + strlen(rec->msg) +
		       strlen(rec->fields) + strlen(rec->source) + strlen(rec->dedupe_key);

	pthread_mutex_lock(&ic->inf.mu);
	while ((ic->n >= ic->group_max || (ic->n > 0 && ic->bytes >= ic->group_max_bytes)) &&
	       !ic->inf.failed)
		pthread_cond_wait(&ic->inf.cv, &ic->inf.mu);
	if (ic->inf.failed) {
		pthread_mutex_unlock(&ic->inf.mu);
		elog_record_clear(rec);
		if (item && sp->item_free)
			sp->item_free(item);
		return -1;
	}
	if (ic->n == ic->cap) {
		ic->cap = ic->cap ? 2 * ic->cap : 64;
		ic->recs = xrealloc(ic->recs, ic->cap * sizeof(*ic->recs));
		if (sp->item_size)
			ic->items = xrealloc(ic->items, ic->cap * sp->item_size);
	}
	ic->recs[ic->n] = *rec;
	ic->bytes += bytes;
	if (sp->item_size)
		memcpy(ic->items + ic->n * sp->item_size, item, sp->item_size);
	ic->n++;
	/* wake the submitter only when it can submit now */
	if (ic->sub_waiting && ic->inf.count < ic->max_inflight)
		pthread_cond_broadcast(&ic->inf.cv);
	pthread_mutex_unlock(&ic->inf.mu);
	return 0;
}

int elog_ingest_call_submit(struct elog_ingest_call *ic, struct elog_ingest_group *g)
{
	size_t max_bytes = ic->spec->max_inflight_bytes;
	int rc;

	pthread_mutex_lock(&ic->inf.mu);
	while ((ic->inf.count >= ic->max_inflight ||
		(max_bytes && ic->inf.count > 0 && ic->inflight_bytes + g->cost > max_bytes)) &&
	       !ic->inf.failed)
		pthread_cond_wait(&ic->inf.cv, &ic->inf.mu);
	if (ic->inf.failed) {
		pthread_mutex_unlock(&ic->inf.mu);
		g->release(g);
		return -1;
	}
	rc = submit_locked(ic, g);
	pthread_mutex_unlock(&ic->inf.mu);
	return rc;
}

void elog_ingest_call_drain_locked(struct elog_ingest_call *ic)
{
	while (!ic->inf.failed && (ic->n > 0 || ic->inf.count > 0))
		pthread_cond_wait(&ic->inf.cv, &ic->inf.mu);
}

int elog_ingest_call_failed(struct elog_ingest_call *ic)
{
	int failed;

	pthread_mutex_lock(&ic->inf.mu);
	failed = ic->inf.failed;
	pthread_mutex_unlock(&ic->inf.mu);
	return failed;
}

int elog_ingest_call_end(struct elog_ingest_call *ic, char *msg, size_t msgsz)
{
	int status;

	pthread_mutex_lock(&ic->inf.mu);
	ic->closing = 1;
	pthread_cond_broadcast(&ic->inf.cv);
	pthread_mutex_unlock(&ic->inf.mu);
	if (ic->threaded)
		pthread_join(ic->th, NULL);
	pthread_mutex_lock(&ic->inf.mu);
	elog_inflight_wait_locked(&ic->inf);
	pthread_mutex_unlock(&ic->inf.mu);
	if (msgsz)
		msg[0] = '\0';
	if (ic->finished)
		status = -1;
	else if (ic->inf.failed) {
		status = ic->inf.fail_status;
		if (msgsz)
			snprintf(msg, msgsz, "%s", ic->inf.fail_msg);
	} else {
		status = RPC_OK;
	}
	elog_inflight_destroy(&ic->inf);
	return status;
}
