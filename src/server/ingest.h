/*
 * ingest.h — collect -> submit group -> acknowledge after commit: the one way a service call
 * hands records to the hub (elog.v1 Ingest, flowctl StreamLogs, electrician StreamReceive,
 * logging.v1 WriteLogStream, and every contract added after them).
 *
 * A call decodes what it receives into records and gives them to its struct elog_ingest_call
 * in one of two ways:
 *  - one at a time (elog_ingest_call_add): they are collected into a group, and a submitter
 *    thread hands the group to the hub whenever fewer than spec->max_inflight groups wait for
 *    their commit, so a fast stream goes to the hub in large groups and a slow one at once;
 *  - as a group the client already made (elog_ingest_call_submit: an elog.v1 RecordBatch),
 *    submitted at once once fewer than max_inflight groups (and max_inflight_bytes) are in
 *    flight.
 * After a group's commit, on the hub's writer thread and in submission order, spec->ack sees
 * the group (its records with their ids, its per-record items) and acknowledges it to the
 * client; then the group is freed. The first failure (a commit that failed, a hub that is
 * closing) is kept: nothing is acknowledged after it, add and submit refuse from then on, and
 * it is the status the call finishes with (at once when spec->finish_early, so that a client
 * waiting for an ack learns it). elog_ingest_call_end submits what is still collected, waits
 * until every group's commit ran and returns the status to finish with.
 *
 * A new contract is a decoder plus a table row. For example:
 *
 *	struct my_item { uint64_t seq; };             // what one record's ack needs
 *	static void my_ack(struct elog_ingest_call *ic, struct elog_ingest_group *g)
 *	{
 *		const struct my_item *it = g->items;  // g->in.n of them; g->in.recs have ids
 *		...rpc_call_send(ic->call, ...)...
 *	}
 *	static const struct elog_ingest_spec my_spec = {
 *		.group_max = 4096, .max_inflight = 4, .item_size = sizeof(struct my_item),
 *		.collect = 1, .ack = my_ack,
 *	};
 *
 *	struct elog_ingest_call ic;
 *	if (elog_ingest_call_start(&ic, svc->hub, call, &my_spec, NULL) != 0) -> RESOURCE_EXHAUSTED
 *	while (rpc_call_recv(call, &my__descriptor, &m) == 1) {
 *		struct elog_record rec; struct my_item it;
 *		my_decode(m, &rec, &it);                    // rec and it now belong to ic
 *		if (elog_ingest_call_add(&ic, &rec, &it) != 0) break;
 *	}
 *	status = elog_ingest_call_end(&ic, msg, sizeof(msg));
 *	rpc_call_finish(call, status, msg)  (unless status is -1: already finished)
 *
 * Locking: ic->inf.mu guards the collected group and the in-flight count; ack runs with it
 * held, so a service may keep its own ack state (counters, mode) under it too and change it
 * under it (after elog_ingest_call_drain_locked, when nothing is collected or in flight).
 * Ownership: records and items given to add/submit are the call's from then on, in every case
 * (freed after their ack, or at once when refused); when elog_ingest_call_end returns, all are
 * freed. The struct lives on the call's stack from start to end.
 */
#ifndef ELOG_INGEST_H
#define ELOG_INGEST_H

#include <pthread.h>
#include <stddef.h>

#include "hub/hub.h"
#include "server/inflight.h"

struct rpc_call;
struct elog_ingest_call;

/* One submission: records and, for collected groups, one item per record. */
struct elog_ingest_group {
	struct elog_ingest in;          /* in.recs/in.n: the records; ids and in.stored after commit */
	struct elog_ingest_call *ic;
	void *items;                    /* in.n items of spec->item_size (collected), or NULL */
	size_t cost;                    /* bytes counted against spec->max_inflight_bytes */
	/* Frees the group once acknowledged or refused. For elog_ingest_call_submit: the
	 * service's (it owns how the records are held); collected groups use the default, which
	 * frees the records (elog_records_free), the items (spec->item_free each) and the group. */
	void (*release)(struct elog_ingest_group *g);
};

struct elog_ingest_spec {
	size_t group_max;               /* records collected before add waits; 0: 4096 */
	size_t group_max_bytes;         /* or bytes collected (a record's strings and struct);
					 * 0: 8 MiB (README "Limits") */
	int max_inflight;               /* groups submitted, commit not yet run; 0: 4 */
	size_t max_inflight_bytes;      /* their cost together; 0: no bound (one group always goes) */
	size_t item_size;               /* bytes of one record's item, copied by add; 0: none */
	/* Acknowledges a committed group (with ic->inf.mu held, on the hub's writer thread, in
	 * submission order). Not called after the call failed. May be NULL. */
	void (*ack)(struct elog_ingest_call *ic, struct elog_ingest_group *g);
	void (*item_free)(void *item);  /* frees what one item holds (not the item); may be NULL */
	int collect;                    /* records come one at a time (add): a submitter thread
					 * groups them; else groups come ready (submit) */
	int finish_early;               /* finish ic->call at the first failure */
};

struct elog_ingest_call {
	struct elog_inflight inf;       /* its mu guards what follows; its failure ends the call */
	struct elog_hub *hub;
	struct rpc_call *call;          /* may be NULL (tests); finished only with finish_early */
	const struct elog_ingest_spec *spec;
	void *ctx;                      /* the service's */
	size_t group_max, group_max_bytes;
	int max_inflight;
	size_t inflight_bytes;
	/* collected, not yet submitted */
	struct elog_record *recs;
	char *items;
	size_t n, cap, bytes;
	int closing, sub_waiting, threaded, finished;
	pthread_t th;
};

/*
 * Starts a call's ingest over hub with spec (kept, not copied) and ctx (the service's, as
 * ic->ctx). Starts the submitter thread when spec->collect. Returns 0, or -1 when the thread
 * could not be started (nothing to undo).
 */
int elog_ingest_call_start(struct elog_ingest_call *ic, struct elog_hub *hub,
			   struct rpc_call *call, const struct elog_ingest_spec *spec, void *ctx);

/*
 * Collects one record and its item (item_size bytes, copied; NULL when item_size is 0).
 * Waits while group_max records or group_max_bytes are collected. Returns 0, or -1 when the call failed (rec
 * and item are then freed).
 */
int elog_ingest_call_add(struct elog_ingest_call *ic, struct elog_record *rec, void *item);

/*
 * Submits a group the service built (g->in.recs/n, g->cost and g->release set; g->in.done
 * and g->ic are set here). Waits while max_inflight groups (or max_inflight_bytes, unless
 * none is in flight) are in flight, then submits (elog_hub_submit may wait on the hub's own
 * bound). Returns 0, or -1 when the call failed or fails now (g is then released).
 */
int elog_ingest_call_submit(struct elog_ingest_call *ic, struct elog_ingest_group *g);

/* Under ic->inf.mu: waits until everything added or submitted so far was committed and
 * acknowledged, or the call failed. */
void elog_ingest_call_drain_locked(struct elog_ingest_call *ic);

/* True once the call failed (takes ic->inf.mu). */
int elog_ingest_call_failed(struct elog_ingest_call *ic);

/*
 * Submits what is collected, waits for every commit and stops the submitter. Returns RPC_OK,
 * or the failure's rpc status with its message in msg; -1 when the call was already finished
 * (finish_early). The struct is released after it.
 */
int elog_ingest_call_end(struct elog_ingest_call *ic, char *msg, size_t msgsz);

#endif
