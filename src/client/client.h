/*
 * client.h — elog's own client side of elog.v1.Hub: a sender that streams record batches and
 * counts acknowledgements, and a reader that pages through history and follows live records.
 */
#ifndef ELOG_CLIENT_H
#define ELOG_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include "common/record.h"
#include "common/filter.h"
#include "rpc/rpc.h"

struct elog_err;
struct elog_sender;
struct elog_reader;

/*
 * Opens an Ingest stream to target. Waits at most connect_timeout_ns for the connection;
 * an unreachable server gives ELOG_EUNAVAIL ("cannot reach server 'x': ...").
 */
int elog_sender_open(struct elog_sender **out, const char *target, const struct rpc_client_opts *o,
		     int64_t connect_timeout_ns, struct elog_err *err);

/*
 * The same, with notify(ctx) called on the sender's receiving thread after each
 * acknowledgement and once when the stream ends (no lock of the sender is held then), so a
 * caller can wait on its own condition instead of polling elog_sender_acked_seq.
 */
int elog_sender_open_notify(struct elog_sender **out, const char *target,
			    const struct rpc_client_opts *o, int64_t connect_timeout_ns,
			    void (*notify)(void *ctx), void *ctx, struct elog_err *err);

/*
 * Sends recs[0..n) as one batch (the records stay the caller's). Blocks while too many
 * batches wait for their acknowledgement. Returns 0, or a negative code when the stream
 * failed (err says why: the server's status).
 */
int elog_sender_send(struct elog_sender *s, const struct elog_record *recs, size_t n,
		     struct elog_err *err);

/* Half-closes, waits for every acknowledgement and the final status. 0 when all acked. */
int elog_sender_finish(struct elog_sender *s, struct elog_err *err);

/*
 * Batches are numbered 1, 2, 3... in the order elog_sender_send accepted them; the server
 * acknowledges them in order, after commit. Returns the number of the last batch acknowledged
 * (0: none yet), and sets *ended (may be NULL) when the stream is over (server gone or
 * finished): nothing more will be acknowledged on this sender.
 */
uint64_t elog_sender_acked_seq(struct elog_sender *s, int *ended);

void elog_sender_free(struct elog_sender *s);

/* Opens a Read stream with filter f. */
int elog_reader_open(struct elog_reader **out, const char *target, const struct rpc_client_opts *o,
		     const struct elog_filter *f, int follow, int64_t connect_timeout_ns,
		     struct elog_err *err);

/*
 * Receives the next page and calls fn for each record (valid during the call only).
 * *live is set once history is complete; *missed when the server dropped records for this
 * reader (ids missed_from..missed_to). Returns 1 for a page, 0 at the end of the stream,
 * 2 on timeout (timeout_ns > 0), or a negative code with err (ELOG_EUNAVAIL when the server
 * went away), or the non-zero value fn returned.
 */
int elog_reader_next(struct elog_reader *r, int (*fn)(void *ctx, const struct elog_record *rec),
		     void *ctx, int *live, uint64_t *missed, int64_t *missed_from,
		     int64_t *missed_to, int64_t timeout_ns, struct elog_err *err);

/* When the server said that records the reader asked for were removed by retention or prune
 * (once per stream): the id before which they were; 0 otherwise. Taking it clears it. */
int64_t elog_reader_take_removed(struct elog_reader *r);

void elog_reader_free(struct elog_reader *r);

/*
 * A resuming reader: a Read stream that, when following and the server goes away
 * (ELOG_EUNAVAIL), reconnects with backoff (100 ms doubling to 2 s) and reads on after the
 * last record it delivered: ids only grow, so nothing is missed and nothing comes twice.
 * event(ctx, ELOG_RESUME_LOST, err) is called when the stream is lost, and
 * event(ctx, ELOG_RESUME_BACK, NULL) when it is back (on the caller's thread; may be NULL).
 * The filter is copied shallowly: f's strings stay the caller's until elog_resumer_free.
 */
struct elog_resumer;

enum { ELOG_RESUME_LOST = 1, ELOG_RESUME_BACK = 2 };

/* Opens the first stream: its errors are elog_reader_open's (no retry). */
int elog_resumer_open(struct elog_resumer **out, const char *target,
		      const struct rpc_client_opts *o, const struct elog_filter *f, int follow,
		      int64_t connect_timeout_ns,
		      void (*event)(void *ctx, int ev, const struct elog_err *err), void *ev_ctx,
		      struct elog_err *err);

/*
 * As elog_reader_next. When following, a lost server is not an error: it reconnects and goes
 * on (returning 2 when timeout_ns > 0 passes meanwhile, so the caller can check its output).
 * Without follow, or for any other error, the error is returned.
 */
int elog_resumer_next(struct elog_resumer *rs,
		      int (*fn)(void *ctx, const struct elog_record *rec), void *ctx, int *live,
		      uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		      int64_t timeout_ns, struct elog_err *err);

/* As elog_reader_take_removed, over the resumer's streams. */
int64_t elog_resumer_take_removed(struct elog_resumer *rs);

void elog_resumer_free(struct elog_resumer *rs);

/* Component names known to the server. */
int elog_client_components(const char *target, const struct rpc_client_opts *o, char ***names,
			   size_t *n, int64_t timeout_ns, struct elog_err *err);

/* The same in order of first appearance in the history (sorted from an older server). */
int elog_client_components_ordered(const char *target, const struct rpc_client_opts *o,
				   char ***names, size_t *n, int64_t timeout_ns,
				   struct elog_err *err);

/*
 * Asks the server's ingestion.InternalAuthService/ValidateApiKey whether key is valid; sets
 * *valid. Returns 0, or a negative code with err (ELOG_EUNAVAIL: the server could not be
 * reached). The key never appears in err.
 */
int elog_client_validate_key(const char *target, const struct rpc_client_opts *o, const char *key,
			     int *valid, int64_t timeout_ns, struct elog_err *err);

#endif
