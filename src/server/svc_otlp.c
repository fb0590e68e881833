/*
 * svc_otlp.c — the OpenTelemetry collector services (contracts.md §5) on every --listen
 * address: every OTel SDK's OTLP/gRPC exporter is an elog client.
 *
 * LogsService/Export: each LogRecord becomes one record (the mapping is
 * elog_conv_otlp_logs, convert.h; man elog-serve and README give it as a table).
 * TraceService/Export: each span is kept as received (the span and its resource, serialized,
 * under a ULID key: store/spans.h, read back by ReadSpans, svc_readspans.c) and becomes one
 * record too ("span NAME 12.3 ms"), so a request's spans and logs show together in `elog logs`.
 * Spans and their records are written in one transaction (the hub's in_txn hook), submitted
 * the one way services hand records to the hub (server/ingest.h), as one ready group a call.
 * MetricsService/Export: UNIMPLEMENTED (metrics are not kept).
 *
 * A call is answered only after its records (and spans) are committed. Records that cannot be
 * stored (fields or component over ELOG_MAX_LINE) are counted in partial_success with a
 * message naming the limit; the others are stored. A commit that fails fails the call with the
 * status of the failure (UNAVAILABLE, RESOURCE_EXHAUSTED: SDKs retry those).
 * API keys (serve --auth) are checked by svc_auth.c's gate before the request is read.
 * gzip requests are decompressed by gRPC core.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/svc.h"
#include "server/ingest.h"
#include "server/convert.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "common/json.h"
#include "store/spans.h"

#define LOGS_PATH    "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
#define TRACE_PATH   "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
#define METRICS_PATH "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope Scope;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs ResourceLogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs ScopeLogs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans ResourceSpans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans ScopeSpans;
typedef Opentelemetry__Proto__Trace__V1__Span Span;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest LogsRequest;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse LogsResponse;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess LogsPartial;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest TraceRequest;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse TraceResponse;
typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess TracePartial;

/* ---- AnyValue -> JSON ------------------------------------------------------------------ */

static void add_double(struct elog_buf *b, double d)
{
	char t[40];

	if (isnan(d)) {
		elog_buf_adds(b, "\"NaN\"");
		return;
	}
	if (isinf(d)) {
		elog_buf_adds(b, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
		return;
	}
	snprintf(t, sizeof(t), "%.15g", d);
	if (strtod(t, NULL) != d)
		snprintf(t, sizeof(t), "%.17g", d);
	elog_buf_adds(b, t);
}

static void add_base64(struct elog_buf *b, const uint8_t *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	elog_buf_addc(b, '"');
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63], tab[(v >> 6) & 63], tab[v & 63] };

		elog_buf_add(b, q, 4);
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		char q[4] = { tab[v >> 18], tab[(v >> 12) & 63],
			      i + 1 < n ? tab[(v >> 6) & 63] : '=', '=' };

		elog_buf_add(b, q, 4);
	}
	elog_buf_addc(b, '"');
}

static void any_json(struct elog_buf *b, const AnyValue *v);

/* Appends kvs as a JSON object; a key given twice keeps its last value. */
static void kvlist_json(struct elog_buf *b, KeyValue *const *kvs, size_t n)
{
	const char **keys = xcalloc(n ? n : 1, sizeof(*keys));
	size_t *keep = xcalloc(n ? n : 1, sizeof(*keep));
	size_t k, i;

	for (i = 0; i < n; i++)
		keys[i] = kvs[i] && kvs[i]->key ? kvs[i]->key : "";
	k = elog_keys_last_wins(keys, n, keep);
	elog_buf_addc(b, '{');
	for (i = 0; i < k; i++) {
		if (i)
			elog_buf_addc(b, ',');
		elog_json_quote_any(b, keys[keep[i]]);
		elog_buf_addc(b, ':');
		any_json(b, kvs[keep[i]] ? kvs[keep[i]]->value : NULL);
	}
	elog_buf_addc(b, '}');
	free(keys);
	free(keep);
}

/* Appends v as compact JSON. protobuf-c unpacked it, so its nesting is bounded
 * (ELOG_PB_MAX_DEPTH, rpc_server.c): the recursion is too. */
static void any_json(struct elog_buf *b, const AnyValue *v)
{
	if (!v) {
		elog_buf_adds(b, "null");
		return;
	}
	switch (v->value_case) {
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
		elog_json_quote_any(b, v->string_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
		elog_buf_adds(b, v->bool_value ? "true" : "false");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
		elog_buf_addf(b, "%" PRId64, v->int_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
		add_double(b, v->double_value);
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
		elog_buf_addc(b, '[');
		if (v->array_value)
			for (size_t i = 0; i < v->array_value->n_values; i++) {
				if (i)
					elog_buf_addc(b, ',');
				any_json(b, v->array_value->values[i]);
			}
		elog_buf_addc(b, ']');
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
		if (v->kvlist_value)
			kvlist_json(b, v->kvlist_value->values, v->kvlist_value->n_values);
		else
			elog_buf_adds(b, "{}");
		break;
	case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
		add_base64(b, v->bytes_value.data, v->bytes_value.len);
		break;
	default:   /* unset, or an index into a dictionary elog is not sent */
		elog_buf_adds(b, "null");
		break;
	}
}

/* The string value of attribute key in kvs, or NULL (also when it is not a non-empty string). */
static const char *attr_str(KeyValue *const *kvs, size_t n, const char *key)
{
	for (size_t i = n; i > 0; i--) {
		const KeyValue *kv = kvs[i - 1];

		if (kv && kv->key && strcmp(kv->key, key) == 0) {
			if (kv->value && kv->value->value_case ==
			    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
			    kv->value->string_value && *kv->value->string_value)
				return kv->value->string_value;
			return NULL;
		}
	}
	return NULL;
}

/* ---- fields ---------------------------------------------------------------------------- */

/*
 * A record's fields being built: keys (borrowed: the request's strings or the resource's
 * prefixed copies) and their JSON values in one buffer; a key given twice keeps its last
 * value. Reused from record to record.
 */
struct fieldset {
	const char **keys;
	size_t *off, *len, *keep;
	size_t n, cap;
	struct elog_buf vals;
};

static void fs_reset(struct fieldset *fs)
{
	fs->n = 0;
	elog_buf_reset(&fs->vals);
}

static void fs_release(struct fieldset *fs)
{
	free(fs->keys);
	free(fs->off);
	free(fs->len);
	free(fs->keep);
	elog_buf_release(&fs->vals);
	memset(fs, 0, sizeof(*fs));
}

/* Opens a value under key: the caller appends its JSON to fs->vals, then fs_close. */
static void fs_open(struct fieldset *fs, const char *key)
{
	if (fs->n == fs->cap) {
		fs->cap = fs->cap ? 2 * fs->cap : 32;
		fs->keys = xrealloc(fs->keys, fs->cap * sizeof(*fs->keys));
		fs->off = xrealloc(fs->off, fs->cap * sizeof(*fs->off));
		fs->len = xrealloc(fs->len, fs->cap * sizeof(*fs->len));
		fs->keep = xrealloc(fs->keep, fs->cap * sizeof(*fs->keep));
	}
	fs->keys[fs->n] = key;
	fs->off[fs->n] = fs->vals.len;
}

static void fs_close(struct fieldset *fs)
{
	fs->len[fs->n] = fs->vals.len - fs->off[fs->n];
	fs->n++;
}

static void fs_any(struct fieldset *fs, const char *key, const AnyValue *v)
{
	fs_open(fs, key);
	any_json(&fs->vals, v);
	fs_close(fs);
}

static void fs_str(struct fieldset *fs, const char *key, const char *s)
{
	fs_open(fs, key);
	elog_json_quote_any(&fs->vals, s);
	fs_close(fs);
}

static void fs_raw(struct fieldset *fs, const char *key, const char *json, size_t n)
{
	fs_open(fs, key);
	elog_buf_add(&fs->vals, json, n);
	fs_close(fs);
}

/* Bytes as lowercase hex, when set (not empty, not all zero; at most 64 bytes read). */
static void fs_hex(struct fieldset *fs, const char *key, const ProtobufCBinaryData *d)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = d->len < 64 ? d->len : 64;
	int zero = 1;

	for (i = 0; i < n; i++)
		if (d->data[i])
			zero = 0;
	if (zero)
		return;
	fs_open(fs, key);
	elog_buf_addc(&fs->vals, '"');
	for (i = 0; i < n; i++) {
		char h[2] = { hex[d->data[i] >> 4], hex[d->data[i] & 15] };

		elog_buf_add(&fs->vals, h, 2);
	}
	elog_buf_addc(&fs->vals, '"');
	fs_close(fs);
}

/* The fields' JSON object text into out (reset first); "" when there are none. Deeper than
 * ELOG_JSON_MAX_DEPTH, the deep values are kept as text (json.h). */
static void fs_emit(struct fieldset *fs, struct elog_buf *out, struct elog_buf *tmp)
{
	size_t k, i;

	elog_buf_reset(out);
	if (fs->n == 0) {
		elog_buf_adds(out, "");
		return;
	}
	k = elog_keys_last_wins(fs->keys, fs->n, fs->keep);
	elog_buf_addc(out, '{');
	for (i = 0; i < k; i++) {
		size_t j = fs->keep[i];

		if (i)
			elog_buf_addc(out, ',');
		elog_json_quote_any(out, fs->keys[j]);
		elog_buf_addc(out, ':');
		elog_buf_add(out, fs->vals.data + fs->off[j], fs->len[j]);
	}
	elog_buf_addc(out, '}');
	if (elog_json_too_deep(out->data, out->len, ELOG_JSON_MAX_DEPTH)) {
		elog_buf_reset(tmp);
		elog_json_bound(out->data, out->len, ELOG_JSON_MAX_DEPTH, tmp);
		elog_buf_reset(out);
		elog_buf_add(out, tmp->data, tmp->len);
	}
}

/* A resource's attributes as fields "resource.KEY", made once for all its records. */
struct res_fields {
	struct elog_buf names;      /* "resource.KEY\0" ... */
	struct fieldset fs;         /* keys point into names once complete */
	const char *component;      /* service.name, else service.namespace, else NULL */
};

static void res_fields_build(struct res_fields *rf, const Resource *res)
{
	size_t i, *name_off;

	memset(rf, 0, sizeof(*rf));
	if (!res)
		return;
	rf->component = attr_str(res->attributes, res->n_attributes, "service.name");
	if (!rf->component)
		rf->component = attr_str(res->attributes, res->n_attributes, "service.namespace");
	name_off = xcalloc(res->n_attributes ? res->n_attributes : 1, sizeof(*name_off));
	for (i = 0; i < res->n_attributes; i++) {
		name_off[i] = rf->names.len;
		elog_buf_adds(&rf->names, "resource.");
		elog_buf_adds(&rf->names, res->attributes[i] && res->attributes[i]->key ?
			      res->attributes[i]->key : "");
		elog_buf_addc(&rf->names, '\0');
	}
	for (i = 0; i < res->n_attributes; i++)
		fs_any(&rf->fs, NULL, res->attributes[i] ? res->attributes[i]->value : NULL);
	for (i = 0; i < res->n_attributes; i++)   /* names no longer move */
		rf->fs.keys[i] = rf->names.data + name_off[i];
	free(name_off);
}

static void res_fields_release(struct res_fields *rf)
{
	elog_buf_release(&rf->names);
	fs_release(&rf->fs);
}

/* Starts a record's fields with the resource's. */
static void fs_start(struct fieldset *fs, const struct res_fields *rf)
{
	fs_reset(fs);
	for (size_t i = 0; i < rf->fs.n; i++)
		fs_raw(fs, rf->fs.keys[i], rf->fs.vals.data + rf->fs.off[i], rf->fs.len[i]);
}

static void fs_attrs(struct fieldset *fs, KeyValue *const *kvs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (kvs[i])
			fs_any(fs, kvs[i]->key ? kvs[i]->key : "", kvs[i]->value);
}

/* ---- requests -> records ----------------------------------------------------------------- */

int elog_conv_otlp_level(int severity_number, const char *severity_text)
{
	int l;

	if (severity_number >= 1 && severity_number <= 24)
		return (severity_number - 1) / 4;   /* TRACE..FATAL, 4 numbers each */
	if (severity_text && *severity_text &&
	    (l = elog_level_parse(severity_text, strlen(severity_text))) >= 0)
		return l;
	return ELOG_LEVEL_INFO;
}

static int64_t ns_of(uint64_t t)
{
	return t > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)t;
}

static const char *component_of(const struct res_fields *rf, const Scope *scope)
{
	if (rf->component)
		return rf->component;
	if (scope && scope->name && *scope->name)
		return scope->name;
	return "otel";
}

static void batch_add(struct elog_otlp_batch *b, struct elog_record *r)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->recs = xrealloc(b->recs, b->cap * sizeof(*b->recs));
	}
	b->recs[b->n++] = *r;
}

static void reject(struct elog_otlp_batch *b, const char *what, size_t index, const char *why)
{
	if (b->rejected++ == 0)
		snprintf(b->why, sizeof(b->why), "%s %zu: %s", what, index, why);
}

/* Fills r's component and fields; 0, or -1 (r cleared, rejected) when one is over the limit. */
static int finish_record(struct elog_otlp_batch *b, struct elog_record *r, const char *component,
			 struct fieldset *fs, struct elog_buf *out, struct elog_buf *tmp,
			 const char *what, size_t index)
{
	size_t cn = strlen(component);

	fs_emit(fs, out, tmp);
	if (cn > ELOG_MAX_LINE || out->len > ELOG_MAX_LINE) {
		reject(b, what, index, cn > ELOG_MAX_LINE
		       ? "component (service.name) over 1048576 bytes (the record size limit)"
		       : "attributes over 1048576 bytes of JSON (the record size limit)");
		elog_record_clear(r);
		return -1;
	}
	elog_record_set(&r->component, component, cn);
	if (out->len)
		elog_record_take(&r->fields, xstrndup(out->data, out->len));
	return 0;
}

void elog_conv_otlp_logs(const LogsRequest *req, struct elog_otlp_batch *b)
{
	struct fieldset fs = { 0 };
	struct elog_buf out = ELOG_BUF_INIT, tmp = ELOG_BUF_INIT;
	size_t index = 0;

	for (size_t i = 0; i < req->n_resource_logs; i++) {
		const ResourceLogs *rl = req->resource_logs[i];
		struct res_fields rf;

		if (!rl)
			continue;
		res_fields_build(&rf, rl->resource);
		for (size_t j = 0; j < rl->n_scope_logs; j++) {
			const ScopeLogs *sl = rl->scope_logs[j];

			if (!sl)
				continue;
			for (size_t k = 0; k < sl->n_log_records; k++, index++) {
				const LogRecord *lr = sl->log_records[k];
				struct elog_record r;

				if (!lr)
					continue;
				elog_record_init(&r);
				r.level = elog_conv_otlp_level(lr->severity_number, lr->severity_text);
				r.ts_ns = ns_of(lr->time_unix_nano ? lr->time_unix_nano
						: lr->observed_time_unix_nano);
				if (lr->body && lr->body->value_case ==
				    OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE) {
					const char *s = lr->body->string_value ? lr->body->string_value : "";

					elog_record_take(&r.msg, elog_record_msg_dup(s, strlen(s), NULL));
				} else if (lr->body && lr->body->value_case !=
					   OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET) {
					elog_buf_reset(&out);
					any_json(&out, lr->body);
					if (elog_json_too_deep(out.data, out.len, ELOG_JSON_MAX_DEPTH)) {
						elog_buf_reset(&tmp);
						elog_json_bound(out.data, out.len, ELOG_JSON_MAX_DEPTH, &tmp);
						elog_record_take(&r.msg, elog_record_msg_dup(tmp.data, tmp.len, NULL));
					} else {
						elog_record_take(&r.msg, elog_record_msg_dup(out.data, out.len, NULL));
					}
				}
				elog_record_set(&r.source, "otlp", 4);
				fs_start(&fs, &rf);
				fs_attrs(&fs, lr->attributes, lr->n_attributes);
				if (lr->event_name && *lr->event_name)
					fs_str(&fs, "event_name", lr->event_name);
				fs_hex(&fs, "trace_id", &lr->trace_id);
				fs_hex(&fs, "span_id", &lr->span_id);
				if (finish_record(b, &r, component_of(&rf, sl->scope), &fs, &out, &tmp,
						  "log record", index) == 0)
					batch_add(b, &r);
			}
		}
		res_fields_release(&rf);
	}
	fs_release(&fs);
	elog_buf_release(&out);
	elog_buf_release(&tmp);
}

static const char *kind_name(int kind)
{
	static const char *const names[] = { "unspecified", "internal", "server", "client",
					     "producer", "consumer" };

	return kind >= 0 && kind < 6 ? names[kind] : "unspecified";
}

/* Packs m into a malloc'd buffer (*len its size). */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *p;

	*len = protobuf_c_message_get_packed_size(m);
	p = xmalloc(*len ? *len : 1);
	protobuf_c_message_pack(m, p);
	return p;
}

static void span_add(struct elog_otlp_batch *b, uint8_t *span, size_t span_len, size_t res)
{
	if (b->nspans == b->spans_cap) {
		b->spans_cap = b->spans_cap ? 2 * b->spans_cap : 64;
		b->spans = xrealloc(b->spans, b->spans_cap * sizeof(*b->spans));
		b->span_res = xrealloc(b->span_res, b->spans_cap * sizeof(*b->span_res));
	}
	memset(&b->spans[b->nspans], 0, sizeof(b->spans[b->nspans]));
	b->spans[b->nspans].span = span;
	b->spans[b->nspans].span_len = span_len;
	b->span_res[b->nspans] = res;
	b->nspans++;
}

void elog_conv_otlp_spans(const TraceRequest *req, struct elog_otlp_batch *b)
{
	struct fieldset fs = { 0 };
	struct elog_buf out = ELOG_BUF_INIT, tmp = ELOG_BUF_INIT;
	size_t index = 0;

	for (size_t i = 0; i < req->n_resource_spans; i++) {
		const ResourceSpans *rs = req->resource_spans[i];
		struct res_fields rf;
		size_t res_index;

		if (!rs)
			continue;
		res_fields_build(&rf, rs->resource);
		/* the resource's bytes, once for all its spans */
		b->resources = xrealloc(b->resources, (b->nresources + 1) * sizeof(*b->resources));
		b->resource_lens = xrealloc(b->resource_lens,
					    (b->nresources + 1) * sizeof(*b->resource_lens));
		res_index = b->nresources++;
		if (rs->resource) {
			b->resources[res_index] = pack(&rs->resource->base, &b->resource_lens[res_index]);
		} else {
			b->resources[res_index] = NULL;
			b->resource_lens[res_index] = 0;
		}
		for (size_t j = 0; j < rs->n_scope_spans; j++) {
			const ScopeSpans *ss = rs->scope_spans[j];

			if (!ss)
				continue;
			for (size_t k = 0; k < ss->n_spans; k++, index++) {
				const Span *sp = ss->spans[k];
				struct elog_record r;
				struct elog_buf msg = ELOG_BUF_INIT;
				double ms = 0;
				int error;
				uint8_t *bytes;
				size_t len;

				if (!sp)
					continue;
				error = sp->status && sp->status->code ==
					OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
				if (sp->start_time_unix_nano && sp->end_time_unix_nano >= sp->start_time_unix_nano)
					ms = (double)(sp->end_time_unix_nano - sp->start_time_unix_nano) / 1e6;
				elog_record_init(&r);
				r.level = error ? ELOG_LEVEL_ERROR : ELOG_LEVEL_INFO;
				r.ts_ns = ns_of(sp->start_time_unix_nano);
				elog_buf_adds(&msg, "span ");
				elog_buf_adds(&msg, sp->name ? sp->name : "");
				elog_buf_addf(&msg, " %.1f ms", ms);
				elog_record_take(&r.msg, elog_record_msg_dup(msg.data, msg.len, NULL));
				elog_buf_release(&msg);
				elog_record_set(&r.source, "otlp-span", 9);
				fs_start(&fs, &rf);
				fs_attrs(&fs, sp->attributes, sp->n_attributes);
				fs_hex(&fs, "trace_id", &sp->trace_id);
				fs_hex(&fs, "span_id", &sp->span_id);
				fs_hex(&fs, "parent_span_id", &sp->parent_span_id);
				fs_str(&fs, "span_kind", kind_name(sp->kind));
				if (error)
					fs_str(&fs, "status", "error");
				if (sp->status && sp->status->message && *sp->status->message)
					fs_str(&fs, "status_message", sp->status->message);
				if (finish_record(b, &r, component_of(&rf, ss->scope), &fs, &out, &tmp,
						  "span", index) != 0)
					continue;
				batch_add(b, &r);
				bytes = pack(&sp->base, &len);
				span_add(b, bytes, len, res_index);
			}
		}
		res_fields_release(&rf);
	}
	/* resource pointers, now that the array no longer moves */
	for (size_t i = 0; i < b->nspans; i++) {
		b->spans[i].resource = b->resources[b->span_res[i]];
		b->spans[i].resource_len = b->resource_lens[b->span_res[i]];
	}
	fs_release(&fs);
	elog_buf_release(&out);
	elog_buf_release(&tmp);
}

void elog_otlp_batch_free(struct elog_otlp_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		elog_record_clear(&b->recs[i]);
	free(b->recs);
	for (size_t i = 0; i < b->nspans; i++)
		free((void *)b->spans[i].span);
	free(b->spans);
	free(b->span_res);
	for (size_t i = 0; i < b->nresources; i++)
		free(b->resources[i]);
	free(b->resources);
	free(b->resource_lens);
	memset(b, 0, sizeof(*b));
}

/* ---- commit ------------------------------------------------------------------------------ */

/* A request's one submission: the ingest pattern's group (first: the hub hands back &g.in)
 * and the batch whose spans the transaction writes. */
struct otlp_group {
	struct elog_ingest_group g;
	struct elog_otlp_batch *b;
};

static int commit_spans(struct elog_ingest *in, struct elog_store *s, struct elog_err *err)
{
	struct otlp_group *og = (struct otlp_group *)(void *)in;

	return elog_spans_insert(s, og->b->spans, og->b->nspans, err);
}

/* The records stay the batch's: the handler frees it once the call's ingest ended. */
static void group_release(struct elog_ingest_group *g)
{
	(void)g;
}

/* One group a call, submitted ready-made; the reply waits for its commit. */
static const struct elog_ingest_spec otlp_spec = { .max_inflight = 1 };

int elog_otlp_commit(struct elog_hub *hub, struct rpc_call *call, struct elog_otlp_batch *b,
		     char *msg, size_t msgsz)
{
	struct elog_ingest_call ic;
	struct otlp_group og;

	if (b->n == 0 && b->nspans == 0)
		return RPC_OK;
	if (elog_ingest_call_start(&ic, hub, call, &otlp_spec, NULL) != 0) {
		snprintf(msg, msgsz, "cannot start the call's ingest");
		return RPC_RESOURCE_EXHAUSTED;
	}
	memset(&og, 0, sizeof(og));
	og.b = b;
	og.g.in.recs = b->recs;
	og.g.in.n = b->n;
	og.g.release = group_release;
	if (b->nspans)
		og.g.in.in_txn = commit_spans;
	elog_ingest_call_submit(&ic, &og.g);
	return elog_ingest_call_end(&ic, msg, msgsz);
}

/* ---- handlers ---------------------------------------------------------------------------- */

/* Receives the request; returns it, or NULL after finishing the call. */
static ProtobufCMessage *recv_request(struct rpc_call *call, const ProtobufCMessageDescriptor *d,
				      const char *name)
{
	ProtobufCMessage *m = NULL;
	int rc = rpc_call_recv(call, d, &m);
	char msg[128];

	if (rc == 1)
		return m;
	if (rc == -2) {
		snprintf(msg, sizeof(msg), "cannot decode %s", name);
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, msg);
	} else {
		rpc_call_finish(call, RPC_CANCELLED, "no request");
	}
	return NULL;
}

/* What differs between the Export calls: the request, its mapping, and the response. */
struct otlp_export {
	const ProtobufCMessageDescriptor *request;
	const char *request_name;
	void (*convert)(const ProtobufCMessage *req, struct elog_otlp_batch *b);
	/* sends the response: partial_success when records were refused */
	void (*answer)(struct rpc_call *call, const struct elog_otlp_batch *b);
};

/* The one Export: receive, map, commit, and answer only after the commit. */
static void export_call(struct rpc_call *call, struct elog_svc *svc, const struct otlp_export *k)
{
	struct elog_otlp_batch b;
	ProtobufCMessage *req;
	char msg[512];
	int status;

	req = recv_request(call, k->request, k->request_name);
	if (!req)
		return;
	memset(&b, 0, sizeof(b));
	k->convert(req, &b);
	protobuf_c_message_free_unpacked(req, NULL);
	status = elog_otlp_commit(svc->hub, call, &b, msg, sizeof(msg));
	if (status != RPC_OK) {
		rpc_call_finish(call, status, msg);
	} else {
		k->answer(call, &b);
		rpc_call_finish(call, RPC_OK, NULL);
	}
	elog_otlp_batch_free(&b);
}

static void logs_convert(const ProtobufCMessage *req, struct elog_otlp_batch *b)
{
	elog_conv_otlp_logs((const LogsRequest *)req, b);
}

static void logs_answer(struct rpc_call *call, const struct elog_otlp_batch *b)
{
	LogsResponse resp = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
	LogsPartial partial = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;

	if (b->rejected) {
		partial.rejected_log_records = (int64_t)b->rejected;
		partial.error_message = (char *)b->why;   /* protobuf-c strings are not const */
		resp.partial_success = &partial;
	}
	rpc_call_send(call, &resp.base);
}

static void spans_convert(const ProtobufCMessage *req, struct elog_otlp_batch *b)
{
	elog_conv_otlp_spans((const TraceRequest *)req, b);
}

static void spans_answer(struct rpc_call *call, const struct elog_otlp_batch *b)
{
	TraceResponse resp = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
	TracePartial partial = OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;

	if (b->rejected) {
		partial.rejected_spans = (int64_t)b->rejected;
		partial.error_message = (char *)b->why;   /* protobuf-c strings are not const */
		resp.partial_success = &partial;
	}
	rpc_call_send(call, &resp.base);
}

static const struct otlp_export logs_export_k = {
	&opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor,
	"ExportLogsServiceRequest", logs_convert, logs_answer,
};
static const struct otlp_export trace_export_k = {
	&opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor,
	"ExportTraceServiceRequest", spans_convert, spans_answer,
};

static void logs_export(struct rpc_call *call, void *ctx)
{
	export_call(call, ctx, &logs_export_k);
}

static void trace_export(struct rpc_call *call, void *ctx)
{
	export_call(call, ctx, &trace_export_k);
}

static void metrics_export(struct rpc_call *call, void *ctx)
{
	(void)ctx;
	rpc_call_finish(call, RPC_UNIMPLEMENTED,
			"metrics are not kept: elog stores OTLP logs (LogsService) and traces "
			"(TraceService) only");
}

void elog_svc_otlp_register(struct rpc_server *s, struct elog_svc *svc)
{
	rpc_server_add_method(s, LOGS_PATH, RPC_UNARY, logs_export, svc);
	rpc_server_add_method(s, TRACE_PATH, RPC_UNARY, trace_export, svc);
	rpc_server_add_method(s, METRICS_PATH, RPC_UNARY, metrics_export, svc);
}
