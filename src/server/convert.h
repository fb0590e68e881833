/*
 * convert.h — each contract's messages decoded into records, as the services do it. The
 * conversions live with their service (svc_*.c); they are declared here so the fuzz targets
 * (tests/fuzz/fuzz_flowctl.c, fuzz_relay.c, fuzz_logsvc.c) can drive them
 * with arbitrary decoded messages. (elog's own RecordBatch is decoded from its bytes by
 * elog_wire_read_batch, wire.h, which tests/fuzz/fuzz_native.c drives.)
 *
 * Every conversion promises, whatever the message holds: the record's strings are valid
 * UTF-8, its level is in range, its fields are "" or one JSON object, its message is at most
 * ELOG_MAX_LINE bytes plus ELOG_TRUNC_MARK.
 */
#ifndef ELOG_CONVERT_H
#define ELOG_CONVERT_H

#include <stdint.h>
#include <string.h>
#include "common/record.h"
#include "common/util.h"
#include "elog.pb-c.h"
#include "flowctl.pb-c.h"
#include "electrician.pb-c.h"
#include "logging.pb-c.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"
#include "store/spans.h"

struct elog_buf;
struct elog_slog_frame;

/*
 * Every contract's google.protobuf.Timestamp is read by one rule (util.h, elog_pb_time_ns:
 * nanos normalised into seconds, times past what int64 ns holds saturate).
 * elog_conv_event_ns is a record's event time: 0 ("unknown": the hub uses the arrival time)
 * when ts is absent, unset or at or before 1970-01-01T00:00:00Z. elog_conv_time_ns is a query
 * bound: the signed time (ts must not be NULL).
 */
static inline int64_t elog_conv_event_ns(const Google__Protobuf__Timestamp *ts)
{
	return ts ? elog_pb_event_ns(1, ts->seconds, ts->nanos) : 0;
}

static inline int64_t elog_conv_time_ns(const Google__Protobuf__Timestamp *ts)
{
	return elog_pb_time_ns(ts->seconds, ts->nanos);
}

/* ns since the epoch -> google.protobuf.Timestamp (nanos in [0, 1e9), also before 1970). */
static inline void elog_conv_ts(int64_t ns, Google__Protobuf__Timestamp *ts)
{
	int64_t s = ns / NS_PER_S, n = ns % NS_PER_S;

	if (n < 0) {
		n += NS_PER_S;
		s--;
	}
	ts->seconds = s;
	ts->nanos = (int32_t)n;
}

/* A valid-UTF-8 malloc'd copy of a protobuf string field (never NULL). */
static inline char *elog_conv_strdup(const char *s)
{
	return s ? elog_utf8_dup(s, strlen(s)) : xstrdup("");
}

/* flowctl.LogEntry -> r, initialized here (svc_flowctl.c). May take e's component_id. */
void elog_conv_flowctl_entry(struct elog_record *r, Flowctl__LogEntry *e);

/*
 * electrician.WrappedPayload -> r, initialized here (svc_relay.c). stream_id ("" or NULL for
 * unary calls), the open's default metadata (or NULL) and the call's trace-id metadata (or
 * NULL) are what the payload is decoded with besides itself. Returns NULL when the payload was
 * decoded, else a static text saying why not (r then holds its bytes as text, flagged).
 */
const char *elog_conv_relay_payload(const char *stream_id,
				    const Electrician__MessageMetadata *defaults,
				    const char *call_trace, const Electrician__WrappedPayload *p,
				    struct elog_record *r);

/*
 * logging.v1.LogFrame (svc_logsvc.c), in two steps because the session file decides the seq:
 * elog_conv_logsvc_frame fills f with malloc'd valid-UTF-8 copies of fr's strings (free them
 * with elog_conv_logsvc_frame_free), its time (elog_conv_event_ns: 0 when unset) and its metadata
 * as JSON text kept in meta (f->metadata_json NULL when there is none); a key given twice
 * in one object keeps its last value. Returns 0, or -1 when the metadata holds more than
 * ELOG_LOGSVC_METADATA_MAX entries (struct fields and list values at every depth, counted
 * together): f's strings are set, its metadata is not, and the frame is to be refused.
 * elog_conv_logsvc_record then builds the history record of f as stored with seq.
 */
#define ELOG_LOGSVC_METADATA_MAX 10000
int elog_conv_logsvc_frame(const Logging__V1__LogFrame *fr, struct elog_slog_frame *f,
			   struct elog_buf *meta);
void elog_conv_logsvc_frame_free(struct elog_slog_frame *f);
void elog_conv_logsvc_record(struct elog_record *r, const struct elog_slog_frame *f,
			     int64_t seq, int32_t version);

/*
 * OpenTelemetry OTLP (svc_otlp.c). elog_conv_otlp_logs appends one record per LogRecord of
 * req to b (zeroed by the caller); elog_conv_otlp_spans one record per span, and the span and
 * its resource serialized (b->spans, resource bytes shared by the spans of one resource).
 * A record whose component or fields would be over ELOG_MAX_LINE is not added (nor its span):
 * b->rejected counts them and b->why says why for the first (its index in the request).
 * elog_otlp_batch_free frees everything b holds (req may be freed before).
 */
struct elog_otlp_batch {
	struct elog_record *recs;
	size_t n, cap;
	struct elog_span_row *spans;        /* span bytes malloc'd, resource bytes in resources */
	size_t *span_res;                   /* each span's index in resources */
	size_t nspans, spans_cap;
	uint8_t **resources;
	size_t *resource_lens;
	size_t nresources;
	size_t rejected;
	char why[256];
};
void elog_conv_otlp_logs(const Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest *req,
			 struct elog_otlp_batch *b);
void elog_conv_otlp_spans(const Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req,
			  struct elog_otlp_batch *b);
void elog_otlp_batch_free(struct elog_otlp_batch *b);
/* A record's level from an OTLP severity: numbers 1-24 by range (TRACE 1-4 ... FATAL 21-24),
 * else the text (elog_level_parse), else info. */
int elog_conv_otlp_level(int severity_number, const char *severity_text);
/* Commits b's records (and spans) through the ingest pattern (server/ingest.h) and waits for
 * the commit: the OTLP/gRPC handlers and OTLP/HTTP (web/otlphttp.c, call NULL) share it.
 * Returns RPC_OK (0), or the status that failed (RESOURCE_EXHAUSTED, UNAVAILABLE...) with msg. */
struct elog_hub;
struct rpc_call;
int elog_otlp_commit(struct elog_hub *hub, struct rpc_call *call, struct elog_otlp_batch *b,
		     char *msg, size_t msgsz);

#endif
