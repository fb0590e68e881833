/*
 * svc_relay.c — electrician.RelayService (contracts.md §1): the Electrician relay log sink's
 * receiver. StreamReceive (bidi) takes an open, payloads and a close, and acknowledges them
 * exactly as the reference receiver does (per message, in batches, or not at all), but only
 * once the payloads' records are committed. Receive (unary) takes one payload.
 *
 * Each payload becomes one record: a JSON payload (electrician.log.v1, or any JSON object) is
 * parsed with elog_jsonline_parse; everything else the sender said (id, seq, payload type,
 * headers, channel, trace id, error info...) is kept under "relay" in the record's fields. A
 * payload that cannot be decoded is still stored, as text, flagged with relay.undecodable, and
 * acknowledged as a failure.
 *
 * A stream's receiver thread decodes payloads and collects them (server/ingest.h): a submitter
 * thread hands the group to the hub whenever fewer than RELAY_MAX_INFLIGHT groups wait for
 * their commit, so payloads that arrive back to back share one submission. Acks are sent after
 * each group's commit, which the hub's single writer reports in submission order: ack order is
 * payload order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/svc.h"
#include "server/ingest.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "common/json.h"
#include "common/jsonline.h"
#include "server/convert.h"
#include "electrician.pb-c.h"

#define RELAY_GROUP_MAX 4096       /* payloads held while the hub is busy */
#define RELAY_MAX_INFLIGHT 4       /* groups submitted and not yet committed */
#define RELAY_MAX_QUEUED_ACKS 8192 /* acks waiting to be sent before reading stops */
#define RELAY_DEFAULT_EVERY_N 1024
#define RELAY_MAX_HEADERS 1024     /* headers read of one payload's metadata (README "Limits") */

/* ---- payload -> record ------------------------------------------------------------------- */

/* Appends ,"key":"value" (or "key":"value" right after '{'). */
static void kv_str(struct elog_buf *b, const char *key, const char *val)
{
	if (b->data[b->len - 1] != '{')
		elog_buf_addc(b, ',');
	elog_json_quote(b, key, strlen(key));
	elog_buf_addc(b, ':');
	elog_json_quote_any(b, val);
}

static void kv_key(struct elog_buf *b, const char *key)
{
	if (b->data[b->len - 1] != '{')
		elog_buf_addc(b, ',');
	elog_json_quote(b, key, strlen(key));
	elog_buf_addc(b, ':');
}

/* How many of md's headers are read: the first RELAY_MAX_HEADERS. */
static size_t headers_read(const Electrician__MessageMetadata *md)
{
	if (!md)
		return 0;
	return md->n_headers < RELAY_MAX_HEADERS ? md->n_headers : RELAY_MAX_HEADERS;
}

/* The value of header key (the last one read when repeated), or NULL. */
static const char *header(const Electrician__MessageMetadata *md, const char *key)
{
	size_t i;

	if (!md)
		return NULL;
	for (i = headers_read(md); i > 0; i--) {
		const Electrician__MessageMetadata__HeadersEntry *h = md->headers[i - 1];

		if (h && h->key && strcmp(h->key, key) == 0)
			return h->value ? h->value : "";
	}
	return NULL;
}

/* True for application/json and any "+json" type, parameters and case aside. */
static int is_json_type(const char *ct)
{
	size_t n, i;
	char low[128];

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	for (n = 0; ct[n] && ct[n] != ';' && n < sizeof(low) - 1; n++)
		low[n] = (char)((ct[n] >= 'A' && ct[n] <= 'Z') ? ct[n] + 32 : ct[n]);
	while (n > 0 && (low[n - 1] == ' ' || low[n - 1] == '\t'))
		n--;
	low[n] = '\0';
	if (strcmp(low, "application/json") == 0)
		return 1;
	i = strlen("+json");
	return n > i && strcmp(low + n - i, "+json") == 0;
}

/* Bytes that look like a JSON object or array (leading white space aside). */
static int looks_like_json(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'))
		i++;
	return i < n && (s[i] == '{' || s[i] == '[');
}

/* r->msg = the raw bytes as valid UTF-8 (one trailing newline dropped), cut to ELOG_MAX_LINE. */
static void raw_text(struct elog_record *r, const char *s, size_t n)
{
	if (n && s[n - 1] == '\n')
		n--;
	elog_record_take(&r->msg, elog_record_msg_dup(s, n, NULL));
}

/*
 * The payload's own fields may hold a top-level "relay" of their own (found by fuzz_relay):
 * then r->fields loses it and *own receives its value as JSON (malloc'd), which relay_fields
 * keeps as relay.payload_relay, so the record has one "relay" key and loses nothing.
 */
static void take_payload_relay(struct elog_record *r, char **own)
{
	struct elog_buf b = ELOG_BUF_INIT, o = ELOG_BUF_INIT;
	yajl_val v;
	size_t i;
	int first = 1;

	*own = NULL;
	if (!strstr(r->fields, "\"relay\""))
		return;
	v = elog_json_tree_parse(r->fields);
	if (!v || !YAJL_IS_OBJECT(v)) {
		yajl_tree_free(v);
		return;
	}
	elog_buf_addc(&b, '{');
	for (i = 0; i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];

		if (strcmp(k, "relay") == 0) {
			elog_buf_reset(&o);
			elog_json_tree_compact(&o, v->u.object.values[i]);
			continue;
		}
		if (!first)
			elog_buf_addc(&b, ',');
		first = 0;
		elog_json_quote(&b, k, strlen(k));
		elog_buf_addc(&b, ':');
		elog_json_tree_compact(&b, v->u.object.values[i]);
	}
	elog_buf_addc(&b, '}');
	yajl_tree_free(v);
	if (o.len) {
		*own = elog_buf_detach(&o);
		elog_record_take(&r->fields, b.len > 2 ? elog_buf_detach(&b) : NULL);
	}
	elog_buf_release(&b);
	elog_buf_release(&o);
}

/* What a payload is decoded with besides its own bytes. */
struct relay_ctx {
	const char *stream_id;                    /* "" for unary */
	const Electrician__MessageMetadata *defaults;
	const char *call_trace;                   /* the call's trace-id metadata, or "" */
};

static const char *encoding_name(int e)
{
	switch (e) {
	case ELECTRICIAN__PAYLOAD_ENCODING__PAYLOAD_ENCODING_GOB:
		return "GOB";
	case ELECTRICIAN__PAYLOAD_ENCODING__PAYLOAD_ENCODING_PROTO:
		return "PROTO";
	default:
		return NULL;
	}
}

/* The "relay" object: everything the sender said about the payload. */
static void relay_fields(struct elog_buf *b, const struct relay_ctx *x,
			 const Electrician__WrappedPayload *p,
			 const Electrician__MessageMetadata *md, const char *why,
			 const char *payload_relay)
{
	const char *enc = encoding_name(p->payload_encoding);
	const char *trace = md && md->trace_id && *md->trace_id ? md->trace_id : x->call_trace;
	char tbuf[48];
	size_t i, j;

	elog_buf_addc(b, '{');
	if (x->stream_id && *x->stream_id)
		kv_str(b, "stream_id", x->stream_id);
	if (p->id && *p->id)
		kv_str(b, "id", p->id);
	if (p->seq) {
		kv_key(b, "seq");
		elog_buf_addf(b, "%llu", (unsigned long long)p->seq);
	}
	if (elog_conv_event_ns(p->timestamp) > 0) {
		elog_format_rfc3339(elog_conv_event_ns(p->timestamp), tbuf, sizeof(tbuf));
		kv_str(b, "timestamp", tbuf);
	}
	if (p->payload_type && *p->payload_type)
		kv_str(b, "payload_type", p->payload_type);
	if (enc)
		kv_str(b, "payload_encoding", enc);
	else if (p->payload_encoding) {
		kv_key(b, "payload_encoding");
		elog_buf_addf(b, "%d", (int)p->payload_encoding);
	}
	if (p->channel && *p->channel)
		kv_str(b, "channel", p->channel);
	if (md && md->content_type && *md->content_type)
		kv_str(b, "content_type", md->content_type);
	if (md && md->n_headers) {
		size_t n = headers_read(md), k;
		const char **keys = xcalloc(n + 1, sizeof(*keys));
		size_t *keep = xcalloc(n + 1, sizeof(*keep));

		/* a repeated key: the last value wins */
		for (i = 0; i < n; i++)
			keys[i] = md->headers[i] ? md->headers[i]->key : NULL;
		k = elog_keys_last_wins(keys, n, keep);
		kv_key(b, "headers");
		elog_buf_addc(b, '{');
		for (j = 0; j < k; j++) {
			const Electrician__MessageMetadata__HeadersEntry *h = md->headers[keep[j]];

			if (j)
				elog_buf_addc(b, ',');
			elog_json_quote_any(b, h->key);
			elog_buf_addc(b, ':');
			elog_json_quote_any(b, h->value ? h->value : "");
		}
		elog_buf_addc(b, '}');
		if (md->n_headers > n) {
			kv_key(b, "headers_omitted");
			elog_buf_addf(b, "%zu", md->n_headers - n);
		}
		free(keys);
		free(keep);
	}
	if (md && md->version) {
		kv_key(b, "version");
		elog_buf_addf(b, "\"%d.%d\"", (int)md->version->major, (int)md->version->minor);
	}
	if (trace && *trace)
		kv_str(b, "trace_id", trace);
	if (md && md->priority) {
		kv_key(b, "priority");
		elog_buf_addf(b, "%d", (int)md->priority);
	}
	if (p->error_info) {
		kv_key(b, "error_info");
		elog_buf_addf(b, "{\"code\":%d", (int)p->error_info->code);
		kv_str(b, "message", p->error_info->message ? p->error_info->message : "");
		kv_key(b, "details");
		elog_buf_addc(b, '[');
		for (i = 0; i < p->error_info->n_details; i++) {
			if (i)
				elog_buf_addc(b, ',');
			elog_json_quote_any(b, p->error_info->details[i]);
		}
		elog_buf_adds(b, "]}");
	}
	if (p->dedupe_key && *p->dedupe_key)
		kv_str(b, "dedupe_key", p->dedupe_key);
	if (why)
		kv_str(b, "undecodable", why);
	if (payload_relay) {
		kv_key(b, "payload_relay");
		elog_buf_adds(b, payload_relay);
	}
	elog_buf_addc(b, '}');
}

/*
 * Decodes payload p into r (initialized by this function). Returns NULL when the payload was
 * decoded, else a static text saying why not (r then holds the raw bytes as text, flagged).
 * The effective metadata is the payload's, or the open's defaults when it has none.
 */
static const char *relay_decode(const struct relay_ctx *x, const Electrician__WrappedPayload *p,
				struct elog_record *r)
{
	const Electrician__MessageMetadata *md = p->metadata ? p->metadata : x->defaults;
	const char *ct = md && md->content_type ? md->content_type : "";
	const char *data = (const char *)p->payload.data;
	size_t n = p->payload.len, jlen;
	const char *why = NULL, *src;
	struct elog_buf b = ELOG_BUF_INIT;
	char *own_relay;
	int flags = 0, json = 0;

	elog_record_init(r);
	r->level = ELOG_LEVEL_INFO;
	if (!data)
		data = "", n = 0;
	if (is_json_type(ct)) {
		json = 1;
		why = "unwrap failed: json decode failed: payload is not one JSON object";
	} else if (p->payload_encoding == ELECTRICIAN__PAYLOAD_ENCODING__PAYLOAD_ENCODING_PROTO) {
		why = "unwrap failed: proto decode failed: protobuf payloads are not supported";
	} else if (p->payload_encoding == ELECTRICIAN__PAYLOAD_ENCODING__PAYLOAD_ENCODING_GOB ||
		   p->payload_encoding == 0) {
		/* the reference receiver's fallback: gob bytes that are in fact JSON */
		json = looks_like_json(data, n);
		why = "unwrap failed: gob decode failed: gob payloads are not supported";
	} else {
		why = "unwrap failed: unsupported payload_encoding";
	}
	if (json) {
		flags = elog_jsonline_parse(data, n, r);
		if (flags & ELOG_JL_JSON)
			why = NULL;
	}
	if (why) {
		/* keep what arrived, as text */
		elog_record_clear(r);
		r->level = ELOG_LEVEL_INFO;
		raw_text(r, data, n);
		flags = 0;
	}
	if (!(flags & ELOG_JL_COMPONENT)) {
		src = header(md, "source");
		if (src && *src)
			elog_record_set(&r->component, src, strlen(src));
		else
			elog_record_set(&r->component, "electrician", 11);
	}
	if (!(flags & ELOG_JL_TIME))
		r->ts_ns = elog_conv_event_ns(p->timestamp);   /* 0: the arrival time */
	if (r->ts_ns < 0)
		r->ts_ns = 0;       /* a time before 1970 in the payload's JSON: the arrival time */
	elog_record_set(&r->source, "electrician", 11);
	if (p->dedupe_key && *p->dedupe_key)
		elog_record_set(&r->dedupe_key, p->dedupe_key, strlen(p->dedupe_key));

	/* fields: the payload's own, plus "relay" */
	take_payload_relay(r, &own_relay);
	jlen = r->fields ? strlen(r->fields) : 0;
	if (jlen >= 2 && r->fields[jlen - 1] == '}') {
		elog_buf_add(&b, r->fields, jlen - 1);
		if (jlen > 2)
			elog_buf_addc(&b, ',');
	} else {
		elog_buf_addc(&b, '{');
	}
	elog_buf_adds(&b, "\"relay\":");
	relay_fields(&b, x, p, md, why, own_relay);
	elog_buf_addc(&b, '}');
	if (own_relay && elog_json_too_deep(b.data, b.len, ELOG_JSON_MAX_DEPTH)) {
		/* relay.payload_relay sits one level deeper than it did in the payload */
		struct elog_buf bb = ELOG_BUF_INIT;

		elog_json_bound(b.data, b.len, ELOG_JSON_MAX_DEPTH, &bb);
		elog_buf_release(&b);
		b = bb;
	}
	elog_record_take(&r->fields, elog_buf_detach(&b));
	free(own_relay);
	return why;
}

/* convert.h */
const char *elog_conv_relay_payload(const char *stream_id,
				    const Electrician__MessageMetadata *defaults,
				    const char *call_trace, const Electrician__WrappedPayload *p,
				    struct elog_record *r)
{
	struct relay_ctx x;

	x.stream_id = stream_id ? stream_id : "";
	x.defaults = defaults;
	x.call_trace = call_trace ? call_trace : "";
	return relay_decode(&x, p, r);
}

/* ---- StreamReceive ----------------------------------------------------------------------- */

/* What one payload's ack needs. */
struct relay_item {
	char *id;                    /* the payload's id (malloc'd) */
	uint64_t seq;
	const char *why;             /* NULL: decoded; else static failure text */
};

struct relay_stream {
	struct rpc_call *call;
	struct elog_ingest_call ic;  /* its inf.mu guards the rest; its failure ends the stream */
	/* ack state. mode, every_n and stream_id change only while nothing is collected or in
	 * flight; the counters belong to whoever holds ic.inf.mu. */
	int mode;
	uint32_t every_n;
	char *stream_id;
	uint32_t ok, err;
	uint64_t last_seq;
};

static void item_free(void *item)
{
	free(((struct relay_item *)item)->id);
}

/* Sends the pending batch ack (ACK_BATCH, something unacknowledged) and resets the counters.
 * Under rs->ic.inf.mu, or once the stream's ingest ended. */
static void flush_batch(struct relay_stream *rs, const char *reason)
{
	Electrician__StreamAcknowledgment a = ELECTRICIAN__STREAM_ACKNOWLEDGMENT__INIT;

	if (rs->mode != ELECTRICIAN__ACK_MODE__ACK_BATCH || (rs->ok == 0 && rs->err == 0))
		return;
	a.success = rs->err == 0;
	a.message = (char *)reason;
	a.stream_id = rs->stream_id;
	a.last_seq = rs->last_seq;
	a.ok_count = rs->ok;
	a.err_count = rs->err;
	rpc_call_send(rs->call, &a.base);
	rs->ok = rs->err = 0;
}

/* On the hub's writer thread, in submission order, under rs->ic.inf.mu: acknowledges the
 * committed payloads. */
static void relay_ack(struct elog_ingest_call *ic, struct elog_ingest_group *g)
{
	struct relay_stream *rs = ic->ctx;
	const struct relay_item *items = g->items;
	size_t i;

	for (i = 0; i < g->in.n; i++) {
		const struct relay_item *it = &items[i];

		rs->last_seq = it->seq;
		if (rs->mode == ELECTRICIAN__ACK_MODE__ACK_PER_MESSAGE) {
			Electrician__StreamAcknowledgment a = ELECTRICIAN__STREAM_ACKNOWLEDGMENT__INIT;

			a.success = it->why == NULL;
			a.message = (char *)(it->why ? it->why : "OK");
			a.stream_id = rs->stream_id;
			a.id = it->id;
			a.seq = it->seq;
			a.code = it->why ? 1 : 0;
			a.retryable = 0;
			rpc_call_send(rs->call, &a.base);
		} else if (rs->mode == ELECTRICIAN__ACK_MODE__ACK_BATCH) {
			if (it->why)
				rs->err++;
			else
				rs->ok++;
			if (rs->ok + rs->err >= rs->every_n)
				flush_batch(rs, "Batch ack");
		}
	}
}

/* Payloads are collected into groups; each payload's item is what its ack needs. */
static const struct elog_ingest_spec relay_spec = {
	.group_max = RELAY_GROUP_MAX,
	.max_inflight = RELAY_MAX_INFLIGHT,
	.item_size = sizeof(struct relay_item),
	.ack = relay_ack,
	.item_free = item_free,
	.collect = 1,
};

/* Applies an open: drains what earlier payloads still owe, then sets the ack mode and
 * stream id, and sends the open ack. */
static void apply_open(struct relay_stream *rs, Electrician__StreamOpen *op)
{
	Electrician__StreamAcknowledgment a = ELECTRICIAN__STREAM_ACKNOWLEDGMENT__INIT;

	pthread_mutex_lock(&rs->ic.inf.mu);
	elog_ingest_call_drain_locked(&rs->ic);
	free(rs->stream_id);
	rs->stream_id = elog_svc_take_string(&op->stream_id);
	if (op->ack_mode != ELECTRICIAN__ACK_MODE__ACK_MODE_UNSPECIFIED)
		rs->mode = op->ack_mode;
	rs->every_n = 0;
	if (rs->mode == ELECTRICIAN__ACK_MODE__ACK_BATCH)
		rs->every_n = op->ack_every_n ? op->ack_every_n : RELAY_DEFAULT_EVERY_N;
	if (rs->mode != ELECTRICIAN__ACK_MODE__ACK_NONE && !rs->ic.inf.failed) {
		a.success = 1;
		a.message = (char *)"Stream open accepted";
		a.stream_id = rs->stream_id;
		rpc_call_send(rs->call, &a.base);
	}
	pthread_mutex_unlock(&rs->ic.inf.mu);
}

enum stream_end { END_EOF, END_CLOSE, END_CANCEL, END_INVALID };

static void relay_stream_receive(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct relay_stream rs;
	Electrician__RelayEnvelope *open_env = NULL;   /* keeps the open's defaults alive */
	struct relay_ctx x;
	char trace[512];
	enum stream_end end = END_EOF;
	int status = RPC_OK, ingest;
	const char *details = NULL;
	char msg[512];

	memset(&rs, 0, sizeof(rs));
	rs.call = call;
	rs.mode = ELECTRICIAN__ACK_MODE__ACK_PER_MESSAGE;
	if (elog_ingest_call_start(&rs.ic, svc->hub, call, &relay_spec, &rs) != 0) {
		rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, "cannot start a thread");
		return;
	}
	rs.stream_id = xstrdup("");
	if (rpc_call_metadata(call, "trace-id", trace, sizeof(trace)) < 0)
		trace[0] = '\0';
	memset(&x, 0, sizeof(x));
	x.call_trace = trace;
	x.stream_id = rs.stream_id;
	for (;;) {
		ProtobufCMessage *m;
		Electrician__RelayEnvelope *env;
		int rc;

		/* a peer that does not read its acks stops being read */
		if (rs.mode != ELECTRICIAN__ACK_MODE__ACK_NONE &&
		    rpc_call_wait_sendable(call, RELAY_MAX_QUEUED_ACKS, 0) < 0) {
			end = END_CANCEL;
			break;
		}
		rc = rpc_call_recv(call, &electrician__relay_envelope__descriptor, &m);
		if (rc == 0)
			break;
		if (rc == -1) {
			end = END_CANCEL;
			break;
		}
		if (rc == -2) {
			end = END_INVALID;
			break;
		}
		env = (Electrician__RelayEnvelope *)m;
		if (env->msg_case == ELECTRICIAN__RELAY_ENVELOPE__MSG_OPEN && env->open) {
			apply_open(&rs, env->open);
			x.stream_id = rs.stream_id;
			if (open_env)
				protobuf_c_message_free_unpacked(&open_env->base, NULL);
			open_env = env;
			x.defaults = env->open->defaults;
			continue;
		}
		if (env->msg_case == ELECTRICIAN__RELAY_ENVELOPE__MSG_CLOSE) {
			protobuf_c_message_free_unpacked(m, NULL);
			end = END_CLOSE;
			break;
		}
		if (env->msg_case == ELECTRICIAN__RELAY_ENVELOPE__MSG_PAYLOAD && env->payload) {
			struct elog_record rec;
			struct relay_item it;

			it.why = relay_decode(&x, env->payload, &rec);
			it.id = elog_svc_take_string(&env->payload->id);
			it.seq = env->payload->seq;
			protobuf_c_message_free_unpacked(m, NULL);
			if (elog_ingest_call_add(&rs.ic, &rec, &it) != 0)
				break;
			continue;
		}
		protobuf_c_message_free_unpacked(m, NULL);
	}

	/* every payload received is committed (and acknowledged) before the call ends */
	ingest = elog_ingest_call_end(&rs.ic, msg, sizeof(msg));
	if (ingest == RPC_OK) {
		switch (end) {
		case END_EOF:
			flush_batch(&rs, "EOF");
			break;
		case END_CLOSE:
			flush_batch(&rs, "Stream closed");
			break;
		case END_CANCEL:
			flush_batch(&rs, "context done");
			if (rpc_call_server_stopping(call)) {
				status = RPC_UNAVAILABLE;
				details = "server is shutting down";
			} else {
				status = RPC_CANCELLED;
			}
			break;
		case END_INVALID:
			status = RPC_INVALID_ARGUMENT;
			details = "undecodable electrician.RelayEnvelope";
			break;
		}
	}
	if (ingest != RPC_OK)
		rpc_call_finish(call, ingest, msg);
	else
		rpc_call_finish(call, status, details);
	if (open_env)
		protobuf_c_message_free_unpacked(&open_env->base, NULL);
	free(rs.stream_id);
}

/* ---- Receive ----------------------------------------------------------------------------- */

static void relay_receive(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	Electrician__StreamAcknowledgment a = ELECTRICIAN__STREAM_ACKNOWLEDGMENT__INIT;
	Electrician__WrappedPayload *p;
	ProtobufCMessage *m;
	struct elog_record rec;
	struct relay_ctx x;
	struct elog_err err;
	const char *why;
	char trace[512];
	char *id;
	int rc;

	rc = rpc_call_recv(call, &electrician__wrapped_payload__descriptor, &m);
	if (rc != 1) {
		rpc_call_finish(call, rc == -2 ? RPC_INVALID_ARGUMENT : RPC_CANCELLED,
				rc == -2 ? "undecodable electrician.WrappedPayload" : NULL);
		return;
	}
	p = (Electrician__WrappedPayload *)m;
	if (rpc_call_metadata(call, "trace-id", trace, sizeof(trace)) < 0)
		trace[0] = '\0';
	memset(&x, 0, sizeof(x));
	x.stream_id = "";
	x.call_trace = trace;
	why = relay_decode(&x, p, &rec);
	elog_err_clear(&err);
	rc = elog_hub_submit_wait(svc->hub, &rec, 1, NULL, &err);
	elog_record_clear(&rec);
	if (rc != 0) {
		rpc_call_finish(call, elog_svc_status_of(rc), err.msg);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	id = elog_svc_take_string(&p->id);
	a.success = why == NULL;
	a.message = (char *)(why ? why : "Received");
	a.id = id;
	a.seq = p->seq;
	a.code = why ? 1 : 0;
	if (rpc_call_send(call, &a.base) == 0)
		rpc_call_finish(call, RPC_OK, NULL);
	else
		rpc_call_finish(call, RPC_CANCELLED, NULL);
	free(id);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* ---- registration ------------------------------------------------------------------------ */

void elog_svc_relay_register(struct rpc_server *s, struct elog_svc *svc)
{
	rpc_server_add_method(s, "/electrician.RelayService/Receive", RPC_UNARY, relay_receive,
			      svc);
	rpc_server_add_method(s, "/electrician.RelayService/StreamReceive", RPC_BIDI,
			      relay_stream_receive, svc);
}
