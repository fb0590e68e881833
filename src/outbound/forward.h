/*
 * forward.h — `serve --forward URL`: a thread that sends every committed record of the history
 * to an OpenTelemetry collector as OTLP logs (LogsService/Export over gRPC), in id order, in
 * batches, from a cursor kept in the history (store.h cursors, name "forward URL").
 *
 * It reads the history on a connection of its own after the cursor and never touches the
 * ingest path: a collector that is down or slow only makes it fall behind (elog ps shows by
 * how much), never slows ingest. A failed call is retried with the same records after a
 * backoff (FORWARD_BACKOFF_MIN_MS doubling to FORWARD_BACKOFF_MAX_MS), whatever the status:
 * nothing committed is skipped. The cursor is saved through the hub's writer (in a transaction
 * of its own, after the collector acknowledged the batch), so a restart resumes after the last
 * acknowledged batch: a batch is sent twice only when serve died between the collector's reply
 * and that save. Records the collector refuses in partial_success are counted, not resent.
 *
 * The inverse of the OTLP mapping (svc_otlp.c): a batch groups its records by component and
 * resource.* fields; each group is one ResourceLogs with service.name = component and the
 * resource.* fields as resource attributes; each record one LogRecord: time_unix_nano = its
 * time, observed_time_unix_nano = its arrival, severity_number 1/5/9/13/17/21 and
 * severity_text TRACE..FATAL from its level, body = its message, attributes = its other
 * fields (JSON objects and arrays as kvlist and array values) plus elog.source, trace_id and
 * span_id from the hex fields, event_name from the field.
 */
#ifndef ELOG_FORWARD_H
#define ELOG_FORWARD_H

#include <stddef.h>

struct elog_hub;
struct elog_err;
struct elog_forwarder;

#define FORWARD_BATCH_RECORDS 1000          /* records per Export call at most */
#define FORWARD_BATCH_BYTES (4u << 20)      /* and about this many bytes of records */
#define FORWARD_BACKOFF_MIN_MS 100
#define FORWARD_BACKOFF_MAX_MS 5000
#define FORWARD_CALL_TIMEOUT_MS 10000
#define FORWARD_IDLE_POLL_MS 100            /* how often an idle forwarder looks for records */
#define FORWARD_MAX_HEADERS 64

struct elog_forward_opts {
	const char *url;            /* otlp://HOST:PORT (plaintext) or otlps://HOST:PORT (TLS) */
	const char *ca_file;        /* otlps: the CA to check the collector with (else system) */
	const char *const *headers; /* "KEY=VALUE" metadata sent on every call */
	size_t nheaders;
	const char *db_path;        /* the history (read on a connection of the forwarder's own) */
	struct elog_hub *hub;       /* saves the cursor; holds the status for elog ps */
};

/* Checks the options (URL form, headers), opens the channel and starts the thread. Returns 0,
 * or ELOG_EUSAGE with err ("--forward: 'x' is not otlp://HOST:PORT or otlps://HOST:PORT"). */
int elog_forward_start(struct elog_forwarder **out, const struct elog_forward_opts *o,
		       struct elog_err *err);

/* Stops the thread (a call in flight is abandoned: its batch is sent again next time) and
 * frees. Before the hub closes. Accepts NULL. */
void elog_forward_stop(struct elog_forwarder *f);

#endif
