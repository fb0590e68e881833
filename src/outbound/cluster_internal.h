/*
 * cluster_internal.h — what the files of serve --cluster share (cluster.c: helpers, the NATS
 * connection, start and stop; cluster_publish.c: the JetStream publisher; cluster_aggregate.c:
 * the --aggregate consumer): the cluster's structs and the functions that cross files.
 * Nothing outside src/outbound/ includes it.
 */
#ifndef ELOG_CLUSTER_INTERNAL_H
#define ELOG_CLUSTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <nats/nats.h>

#include "outbound/cluster.h"
#include "common/record.h"

#define NS_MS 1000000LL
#define DEDUPE_PREFIX "nats:"

struct inflight {
	int64_t id;
	int64_t arrival_ns;
	int state;                      /* 0 pending, 1 acked, -1 failed */
	int own;                        /* 0: another node's record, passed over (acked) */
};

struct held {
	int64_t id, prev;
	struct elog_record rec;
	natsMsg *msg;
};

struct node_state {
	char *node;
	int64_t last;                   /* last id committed (0: unknown) */
	struct held *held;
	size_t nheld, capheld;
	int64_t held_since;             /* mono time the oldest held message came */
};

struct elog_cluster {
	struct elog_cluster_opts o;
	char *servers_buf;
	const char **servers;
	int nservers;
	char *node, *stream, *creds, *user, *password, *token, *ca, *db_path;
	char *node_token;               /* node as a subject token */
	pthread_t pub_thread, agg_thread;
	int pub_started, agg_started;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	/* publisher state under mu (the ack handler runs on a library thread) */
	struct inflight ring[ELOG_CLUSTER_WINDOW];
	size_t head, count;
	size_t npending;                /* entries of the ring not acknowledged yet (state 0) */
	int room_wait;                  /* the publisher waits for room in the ring */
	int failed;
	int connected;
	int64_t cursor;                 /* every record up to it is published or not ours */
	int64_t last_own;               /* the last of ours up to it: the next one's Elog-Prev */
	uint64_t behind;
	int64_t behind_ns;
	uint64_t published, aggregated, gaps;
	int64_t max_payload;            /* the server's, less room for headers; 0: unknown */
	char last_error[256];
};

/* cluster.c */
void cluster__report(struct elog_cluster *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int cluster__pause_ns(struct elog_cluster *c, int64_t ns);
int cluster__is_stopping(struct elog_cluster *c);
int cluster__connect(struct elog_cluster *c, natsConnection **nc, jsCtx **js, int publisher,
		     char *why, size_t whysz);
void cluster__disconnect(natsConnection **nc, jsCtx **js);
int cluster__ensure_stream(struct elog_cluster *c, jsCtx *js, char *why, size_t whysz);

/* cluster_publish.c */
void cluster__pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);
void *cluster__publisher(void *arg);

/* cluster_aggregate.c */
void *cluster__aggregator(void *arg);

#endif
