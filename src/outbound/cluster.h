/*
 * cluster.h — `serve --cluster`: ships this box's history to a NATS JetStream stream, and
 * with --aggregate brings every other box's records from it into this history.
 *
 * Publisher (one thread, its own NATS connection and its own history connection): reads the
 * records committed after a cursor kept in the history (cursor "cluster-publish"), publishes
 * each to "elog.<node>.<component>" with the JetStream message id "<node>/<record id>",
 * asynchronously with at most ELOG_CLUSTER_WINDOW unacknowledged, and advances the cursor
 * only over records JetStream acknowledged, in order. Any failure (link down, no stream
 * leader, an ack timed out) waits for what is in flight, then starts again from the cursor:
 * what is published again is dropped by the stream's duplicate window. It reads the history,
 * never the hub's queue, so the cluster being away never slows ingest or followers.
 * Records that came from the stream (--aggregate: their dedupe key starts with "nats:") are
 * not published again: the cursor passes over them in order.
 *
 * Aggregator (one thread, its own connection): a durable pull consumer named after the node
 * on the whole stream, explicit acks. Each message of another node becomes a record with the
 * field "node" and the dedupe key "nats:<node>/<id>" (so a redelivery is stored once), is
 * submitted to the hub and acknowledged once committed. A node's records are committed in the
 * node's order: a message whose predecessor (header Elog-Prev) is neither committed nor 0 is
 * held (at most ELOG_CLUSTER_HOLD messages, ELOG_CLUSTER_HOLD_NS) until it comes; past that
 * it goes on without it, and the predecessor, if it comes later, is still stored (once:
 * nothing the stream delivers is dropped, only its order can suffer).
 *
 * Wire format (for other NATS clients): README "Several machines".
 */
#ifndef ELOG_CLUSTER_H
#define ELOG_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

struct elog_err;
struct elog_hub;
struct elog_buf;
struct elog_cluster;

#define ELOG_CLUSTER_WINDOW 2048            /* publishes not yet acknowledged */
#define ELOG_CLUSTER_ACK_WAIT_MS 5000       /* a publish not acknowledged by then failed */
#define ELOG_CLUSTER_HOLD 8192              /* aggregator: messages delivered and not yet
					     * acknowledged (the consumer's MaxAckPending), so
					     * also those held for their predecessor */
#define ELOG_CLUSTER_HOLD_NS (30LL * 1000000000LL)   /* ... and for at most this long (more
						      * than the ack wait: a message a killed
						      * aggregator had is redelivered by then) */
#define ELOG_CLUSTER_ACK_WAIT_NS (5LL * 1000000000LL)  /* aggregator: JetStream redelivers a
						      * message not acknowledged by then */
#define ELOG_CLUSTER_DUP_WINDOW_NS (120LL * 1000000000LL)  /* the stream's duplicate window */
#define ELOG_CLUSTER_TOKEN_MAX 96           /* bytes of one subject token (see _token) */
#define ELOG_CLUSTER_CURSOR "cluster-publish"            /* every record up to it is in the
							   * stream or came from it */
#define ELOG_CLUSTER_CURSOR_LAST "cluster-publish-last"  /* the last record of ours up to it */

struct elog_cluster_opts {
	const char *servers;       /* "nats://HOST:PORT[,nats://...]" */
	const char *node;          /* this box's name */
	const char *stream;        /* NULL: "ELOG" */
	int replicas;              /* 0: 3; fewer when the cluster has fewer servers */
	int64_t max_bytes;         /* the stream's max_bytes when serve creates it (0: none) */
	int64_t max_age_ns;        /* ... its max_age (0: none); its duplicate window is
				    * ELOG_CLUSTER_DUP_WINDOW_NS, or max_age when shorter */
	const char *creds_file;    /* NATS credentials (JWT + nkey seed) */
	const char *user, *password;
	const char *token;
	const char *ca_file;       /* TLS: trust these CAs (implies TLS) */
	const char *db_path;       /* the history the hub writes */
	struct elog_hub *hub;      /* for --aggregate */
	int aggregate;
	/* state changes worth a line on serve's stderr ("cluster: connected to ..."); called
	 * from the cluster's threads */
	void (*report)(void *ctx, const char *msg);
	void *report_ctx;
};

/* Checks the options and starts the threads; connecting happens in the background (a cluster
 * that is down is retried for ever). Returns 0, or ELOG_EUSAGE with err (a bad URL, node). */
int elog_cluster_start(struct elog_cluster **out, const struct elog_cluster_opts *o,
		       struct elog_err *err);

/* Stops both threads (waits up to 1 s for acks in flight, saves the cursor), closes the
 * connections; accepts NULL. */
void elog_cluster_stop(struct elog_cluster *c);

struct elog_cluster_stats {
	int connected;              /* the publisher's link is up and the stream exists */
	int64_t cursor;             /* last record id acknowledged by the stream, in order */
	uint64_t behind;            /* records committed after it (to publish) */
	int64_t behind_ns;          /* age of the oldest of them (0: none) */
	uint64_t published;         /* acknowledged this run */
	uint64_t aggregated;        /* records of other nodes committed this run */
	uint64_t gaps;              /* aggregator: predecessors given up on */
};
void elog_cluster_stats(struct elog_cluster *c, struct elog_cluster_stats *st);

/* Appends s as one NATS subject token: bytes [A-Za-z0-9_-] as they are, every other byte as
 * %XX (upper-case hex), "" as "%"; a token that would pass ELOG_CLUSTER_TOKEN_MAX bytes keeps
 * its first 31 bytes (never a cut %XX), then "~" and the SHA-256 of s in hex. */
void elog_cluster_token(struct elog_buf *b, const char *s);

#endif
