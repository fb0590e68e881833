/*
 * svc_logsvc.c — logging.v1.LogService/WriteLogStream (contracts.md §2): each frame is queued
 * to its session's file (sessionlog.h) and submitted to the history as a record (component =
 * session_id, message = content, fields user_id, role, seq, version, metadata; source
 * "logging.v1"). The response {frames_received, "ACKNOWLEDGED"} is sent only once every frame
 * of the call is fsynced to its session file and committed to the history.
 *
 * Refused with INVALID_ARGUMENT (the call ends, earlier frames stay written): a session id that
 * is empty, not valid UTF-8 or holds a NUL byte (distinct ids must keep distinct files and
 * components), and metadata of more than ELOG_LOGSVC_METADATA_MAX entries. A new session past
 * the session log's limit of open sessions gets RESOURCE_EXHAUSTED (sessionlog.h).
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/svc.h"
#include "server/ingest.h"
#include "server/sessionlog.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "server/convert.h"
#include "common/json.h"
#include "common/redact.h"
#include "logging.pb-c.h"

/* Metadata arrives as a google.protobuf.Struct, which rpc_server.c refuses past
 * ELOG_PB_MAX_DEPTH messages before decoding it: the recursion below is bounded by that (3
 * messages a JSON level). What nests deeper than ELOG_JSON_MAX_DEPTH JSON levels is kept as a
 * JSON string of its text, as json.h does for JSON that arrives as text: nothing is dropped. */

/* ---- google.protobuf.Struct as JSON ----------------------------------------------------------- */

static void number_json(struct elog_buf *b, double v)
{
	char tmp[40];

	if (isnan(v) || isinf(v)) {
		elog_buf_adds(b, "null");
		return;
	}
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	elog_buf_adds(b, tmp);
}

static void struct_json(struct elog_buf *b, const Google__Protobuf__Struct *st, int depth,
			int limit);

/* v as JSON; depth is the number of JSON levels (objects, arrays) around it. An object or array
 * that would open level limit + 1 is written as a JSON string holding its compact JSON. */
static void value_json(struct elog_buf *b, const Google__Protobuf__Value *v, int depth, int limit)
{
	size_t i;

	if (!v) {
		elog_buf_adds(b, "null");
		return;
	}
	if ((v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE ||
	     v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE) && depth >= limit) {
		struct elog_buf text = ELOG_BUF_INIT;

		value_json(&text, v, 0, ELOG_PB_MAX_DEPTH);
		elog_json_quote_any(b, text.data ? text.data : "");
		elog_buf_release(&text);
		return;
	}
	switch (v->kind_case) {
	case GOOGLE__PROTOBUF__VALUE__KIND_NUMBER_VALUE:
		number_json(b, v->number_value);
		break;
	case GOOGLE__PROTOBUF__VALUE__KIND_STRING_VALUE:
		elog_json_quote_any(b, v->string_value);
		break;
	case GOOGLE__PROTOBUF__VALUE__KIND_BOOL_VALUE:
		elog_buf_adds(b, v->bool_value ? "true" : "false");
		break;
	case GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE:
		struct_json(b, v->struct_value, depth, limit);
		break;
	case GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE:
		elog_buf_addc(b, '[');
		for (i = 0; v->list_value && i < v->list_value->n_values; i++) {
			if (i)
				elog_buf_addc(b, ',');
			value_json(b, v->list_value->values[i], depth + 1, limit);
		}
		elog_buf_addc(b, ']');
		break;
	default:
		elog_buf_adds(b, "null");
		break;
	}
}

struct key_ix {
	const char *key;
	size_t ix;
};

static int cmp_key_ix(const void *a, const void *b)
{
	const struct key_ix *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : x->ix < y->ix ? -1 : x->ix > y->ix;
}

/* A JSON object; a key given twice keeps its last value (as protobuf map semantics do), at the
 * place of that last entry. O(n log n): the entries sorted by (key, index) find each key's
 * last. */
static void struct_json(struct elog_buf *b, const Google__Protobuf__Struct *st, int depth,
			int limit)
{
	struct key_ix *kv;
	unsigned char *keep;
	size_t i, n = 0;
	int first = 1;

	if (!st) {
		elog_buf_adds(b, "{}");
		return;
	}
	kv = xmalloc((st->n_fields ? st->n_fields : 1) * sizeof(*kv));
	keep = xcalloc(st->n_fields ? st->n_fields : 1, 1);
	for (i = 0; i < st->n_fields; i++) {
		if (!st->fields[i])
			continue;
		kv[n].key = st->fields[i]->key ? st->fields[i]->key : "";
		kv[n].ix = i;
		n++;
	}
	qsort(kv, n, sizeof(*kv), cmp_key_ix);
	for (i = 0; i < n; i++)
		if (i + 1 == n || strcmp(kv[i].key, kv[i + 1].key) != 0)
			keep[kv[i].ix] = 1;
	free(kv);
	elog_buf_addc(b, '{');
	for (i = 0; i < st->n_fields; i++) {
		const Google__Protobuf__Struct__FieldsEntry *e = st->fields[i];

		if (!keep[i])
			continue;
		if (!first)
			elog_buf_addc(b, ',');
		first = 0;
		elog_json_quote_any(b, e->key ? e->key : "");
		elog_buf_addc(b, ':');
		value_json(b, e->value, depth + 1, limit);
	}
	elog_buf_addc(b, '}');
	free(keep);
}

static size_t count_struct(const Google__Protobuf__Struct *st, int depth, size_t budget);

/* Entries (struct fields and list values) in v, counting stops past budget. */
static size_t count_value(const Google__Protobuf__Value *v, int depth, size_t budget)
{
	size_t n = 0, i;

	if (!v || depth > ELOG_PB_MAX_DEPTH)
		return 0;
	if (v->kind_case == GOOGLE__PROTOBUF__VALUE__KIND_STRUCT_VALUE)
		return count_struct(v->struct_value, depth + 1, budget);
	if (v->kind_case != GOOGLE__PROTOBUF__VALUE__KIND_LIST_VALUE || !v->list_value)
		return 0;
	for (i = 0; i < v->list_value->n_values && n <= budget; i++)
		n += 1 + count_value(v->list_value->values[i], depth + 1, budget - n);
	return n;
}

static size_t count_struct(const Google__Protobuf__Struct *st, int depth, size_t budget)
{
	size_t n = 0, i;

	if (!st || depth > ELOG_PB_MAX_DEPTH)
		return 0;
	for (i = 0; i < st->n_fields && n <= budget; i++)
		if (st->fields[i])
			n += 1 + count_value(st->fields[i]->value, depth + 1, budget - n);
	return n;
}

/* ---- the call --------------------------------------------------------------------------------- */

struct touched {
	struct elog_slog_session *s;
	char *id;
	uint64_t ticket;
};

/* The sessions a call holds: an array, and an open-addressing index into it (slots hold
 * array index + 1), so finding a frame's session is O(1) however many sessions the call has. */
struct held {
	struct touched *v;
	size_t n, cap;
	size_t *slots;
	size_t nslots;               /* a power of 2, at least 2 * cap */
};

static size_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return (size_t)h;
}

static void held_index(struct held *h, size_t i)
{
	size_t k = id_hash(h->v[i].id) & (h->nslots - 1);

	while (h->slots[k])
		k = (k + 1) & (h->nslots - 1);
	h->slots[k] = i + 1;
}

/* The session of id among those the call holds, acquiring it on first use. */
static int touch(struct elog_svc *svc, struct held *h, const char *id, struct touched **out,
		 struct elog_err *err)
{
	struct elog_slog_session *s;
	size_t k, i;
	int rc;

	if (h->nslots) {
		for (k = id_hash(id) & (h->nslots - 1); h->slots[k]; k = (k + 1) & (h->nslots - 1))
			if (strcmp(h->v[h->slots[k] - 1].id, id) == 0) {
				*out = &h->v[h->slots[k] - 1];
				return 0;
			}
	}
	rc = elog_slog_acquire(svc->slog, id, &s, err);
	if (rc != 0)
		return rc;
	if (h->n == h->cap) {
		h->cap = h->cap ? 2 * h->cap : 8;
		h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
		free(h->slots);
		h->nslots = 2 * h->cap;
		h->slots = xcalloc(h->nslots, sizeof(*h->slots));
		for (i = 0; i < h->n; i++)
			held_index(h, i);
	}
	h->v[h->n].s = s;
	h->v[h->n].id = xstrdup(id);
	h->v[h->n].ticket = 0;
	held_index(h, h->n);
	*out = &h->v[h->n++];
	return 0;
}

/* convert.h */
int elog_conv_logsvc_frame(const Logging__V1__LogFrame *fr, struct elog_slog_frame *f,
			   struct elog_buf *meta)
{
	int rc = 0;

	memset(f, 0, sizeof(*f));
	f->time_ns = elog_conv_event_ns(fr->time);   /* 0: the arrival time */
	f->seq = fr->seq;
	f->session_id = elog_conv_strdup(fr->session_id);
	f->user_id = elog_conv_strdup(fr->user_id);
	f->role = elog_conv_strdup(fr->role);
	f->content = elog_conv_strdup(fr->content);
	if (fr->metadata && count_struct(fr->metadata, 0, ELOG_LOGSVC_METADATA_MAX) >
	    ELOG_LOGSVC_METADATA_MAX)
		rc = -1;
	else if (fr->metadata)
		struct_json(meta, fr->metadata, 2, ELOG_JSON_MAX_DEPTH);   /* fields.metadata */
	f->metadata_json = meta->len ? meta->data : NULL;
	return rc;
}

void elog_conv_logsvc_frame_free(struct elog_slog_frame *f)
{
	free((char *)f->session_id);
	free((char *)f->user_id);
	free((char *)f->role);
	free((char *)f->content);
	memset(f, 0, sizeof(*f));
}

void elog_conv_logsvc_record(struct elog_record *r, const struct elog_slog_frame *f,
			     int64_t seq, int32_t version)
{
	struct elog_buf fields = ELOG_BUF_INIT;
	const char *user = f->user_id ? f->user_id : "", *role = f->role ? f->role : "";

	elog_record_init(r);
	r->ts_ns = f->time_ns;
	r->level = ELOG_LEVEL_INFO;
	elog_record_set(&r->component, f->session_id, f->session_id ? strlen(f->session_id) : 0);
	elog_record_take(&r->msg, elog_record_msg_dup(f->content, f->content ? strlen(f->content) : 0, NULL));
	elog_buf_adds(&fields, "{\"user_id\":");
	elog_json_quote(&fields, user, strlen(user));
	elog_buf_adds(&fields, ",\"role\":");
	elog_json_quote(&fields, role, strlen(role));
	elog_buf_addf(&fields, ",\"seq\":%lld,\"version\":%d", (long long)seq, (int)version);
	if (f->metadata_json && *f->metadata_json) {
		elog_buf_adds(&fields, ",\"metadata\":");
		elog_buf_adds(&fields, f->metadata_json);
	}
	elog_buf_addc(&fields, '}');
	elog_record_take(&r->fields, elog_buf_detach(&fields));
	elog_record_set(&r->source, "logging.v1", 10);
}

/*
 * protobuf-c unpacks a string field into a block of its length + 1 bytes (the bytes and a NUL),
 * and the char * it leaves loses the length of a string holding a NUL. The call's messages are
 * unpacked through this allocator, which keeps each block's size in front of it, so that a
 * session id's real length is known (sid_len).
 */
union sized_hdr {
	size_t n;
	max_align_t align;
};

static void *sized_alloc(void *d, size_t n)
{
	union sized_hdr *h = malloc(sizeof(*h) + n);

	(void)d;
	if (!h)
		return NULL;
	h->n = n;
	return h + 1;
}

static void sized_free(void *d, void *p)
{
	(void)d;
	if (p)
		free((union sized_hdr *)p - 1);
}

static ProtobufCAllocator sized_allocator = { sized_alloc, sized_free, NULL };

/* The length of a string field of a message unpacked with sized_allocator. */
static size_t sid_len(const char *s)
{
	size_t n;

	if (!s || s == protobuf_c_empty_string || !*s)
		return s ? strlen(s) : 0;
	n = ((const union sized_hdr *)s - 1)->n;
	if (n == 0 || s[n - 1] != '\0' || n - 1 < strlen(s))
		return strlen(s);
	return n - 1;
}

/*
 * A session id names a file and a history component, so distinct ids must stay distinct: an
 * id that is not valid UTF-8 (proto3 strings must be) or that holds a NUL byte could only be
 * kept by mapping it onto another id, and is refused. 0 or RPC_INVALID_ARGUMENT with msg.
 */
static int check_session_id(const char *id, size_t n, char *msg, size_t msgsz)
{
	if (memchr(id, '\0', n)) {
		snprintf(msg, msgsz, "session_id '%.200s' holds a NUL byte", id);
		return RPC_INVALID_ARGUMENT;
	}
	if (!elog_utf8_valid(id, n)) {
		char *t = elog_utf8_dup(id, n);

		snprintf(msg, msgsz, "session_id '%.200s' is not valid UTF-8", t);
		free(t);
		return RPC_INVALID_ARGUMENT;
	}
	return RPC_OK;
}

/*
 * A session id names the session's files and is its records' component, so a secret in it
 * would reach the file names, the files and the history: it is redacted first, and the
 * session is the redacted id's (ids that differ only by their secrets share one session: the
 * secret is what is not kept). Returns the rules that fired: the hub lists them in the
 * record's "redacted" field and counts them with the record's.
 */
static uint64_t redact_session_id(struct elog_svc *svc, struct elog_slog_frame *f)
{
	struct elog_redactor *rd = elog_hub_redactor(svc->hub);
	uint64_t fired = 0;
	char *red;

	if (!rd || !f->session_id || !*f->session_id)
		return 0;
	red = elog_redact_text(rd, NULL, NULL, f->session_id, strlen(f->session_id), &fired);
	if (!red)
		return 0;
	free((char *)f->session_id);
	f->session_id = red;
	return fired;
}

/* Writes one frame to its session file and collects its history record. 0, or an rpc status
 * with msg (a failure of the history is the ingest call's, not returned here). */
static int take_frame(struct elog_svc *svc, struct elog_ingest_call *ic, Logging__V1__LogFrame *fr,
		      struct held *h, char *msg, size_t msgsz)
{
	struct elog_slog_frame f;
	struct elog_buf meta = ELOG_BUF_INIT;
	struct elog_record rec;
	struct touched *t;
	struct elog_err err;
	int64_t seq = 0;
	uint64_t fired;
	int status = RPC_OK, rc;

	elog_err_clear(&err);
	if (fr->session_id) {
		status = check_session_id(fr->session_id, sid_len(fr->session_id), msg, msgsz);
		if (status != RPC_OK)
			return status;
	}
	if (elog_conv_logsvc_frame(fr, &f, &meta) != 0) {
		snprintf(msg, msgsz, "metadata of session '%.200s' holds more than %d entries "
			 "(limit of metadata entries per frame: %d)", f.session_id,
			 ELOG_LOGSVC_METADATA_MAX, ELOG_LOGSVC_METADATA_MAX);
		status = RPC_INVALID_ARGUMENT;
		goto out;
	}
	fired = redact_session_id(svc, &f);
	rc = touch(svc, h, f.session_id, &t, &err);
	if (rc == 0)
		rc = elog_slog_append(t->s, &f, &seq, &t->ticket, &err);
	if (rc != 0) {
		status = rc == ELOG_EUSAGE ? RPC_INVALID_ARGUMENT :
			 rc == ELOG_EFULL ? RPC_RESOURCE_EXHAUSTED :
			 rc == ELOG_EIO ? RPC_INTERNAL : RPC_UNAVAILABLE;
		snprintf(msg, msgsz, "%s", err.msg);
		goto out;
	}
	elog_conv_logsvc_record(&rec, &f, seq, fr->version);
	rec.redacted_before = fired;
	elog_ingest_call_add(ic, &rec, NULL);   /* -1: the call failed, the loop ends on it */
out:
	elog_conv_logsvc_frame_free(&f);
	elog_buf_release(&meta);
	return status;
}

/* One record per frame, collected into groups; the one response comes after them all. */
static const struct elog_ingest_spec logsvc_spec = {
	.collect = 1,
};

static void ls_write_log_stream(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_ingest_call ic;
	struct held h = { 0 };
	size_t i;
	uint32_t frames = 0;
	char msg[600] = "", imsg[512];
	int status = RPC_OK, ingest;

	if (!svc->slog || !svc->hub) {
		rpc_call_finish(call, RPC_UNAVAILABLE, "the session log service is not running");
		return;
	}
	if (elog_ingest_call_start(&ic, svc->hub, call, &logsvc_spec, NULL) != 0) {
		rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, "cannot start a thread");
		return;
	}
	for (;;) {
		ProtobufCMessage *m;
		int rc = rpc_call_recv_with(call, &logging__v1__log_frame__descriptor,
					    &sized_allocator, &m);

		if (rc == 0)
			break;
		if (rc == -1) {
			status = RPC_CANCELLED;
			break;
		}
		if (rc == -2) {
			status = RPC_INVALID_ARGUMENT;
			snprintf(msg, sizeof(msg), "undecodable logging.v1.LogFrame");
			break;
		}
		status = take_frame(svc, &ic, (Logging__V1__LogFrame *)m, &h, msg, sizeof(msg));
		protobuf_c_message_free_unpacked(m, &sized_allocator);
		if (status != RPC_OK)
			break;
		frames++;
		if (elog_ingest_call_failed(&ic))
			break;
	}
	/* durable: every session file fsynced up to the call's last frame ... (also before an
	 * error is answered: the frames before it stay written, and are on disk by then) */
	for (i = 0; i < h.n; i++) {
		struct elog_err err;

		if (h.v[i].ticket && elog_slog_sync(h.v[i].s, h.v[i].ticket, &err) != 0 &&
		    status == RPC_OK) {
			status = RPC_INTERNAL;
			snprintf(msg, sizeof(msg), "%s", err.msg);
		}
	}
	/* ... and every record committed */
	ingest = elog_ingest_call_end(&ic, imsg, sizeof(imsg));
	for (i = 0; i < h.n; i++) {
		elog_slog_release(h.v[i].s);
		free(h.v[i].id);
	}
	free(h.v);
	free(h.slots);
	if (status == RPC_OK && ingest != RPC_OK) {
		status = ingest;
		snprintf(msg, sizeof(msg), "%s", imsg);
	}
	if (status == RPC_OK) {
		Logging__V1__WriteLogResponse resp = LOGGING__V1__WRITE_LOG_RESPONSE__INIT;

		resp.frames_received = frames;
		resp.status = (char *)"ACKNOWLEDGED";
		if (rpc_call_send(call, &resp.base) == 0)
			rpc_call_finish(call, RPC_OK, NULL);
		else
			rpc_call_finish(call, RPC_CANCELLED, NULL);
	} else {
		rpc_call_finish(call, status, msg[0] ? msg : NULL);
	}
}

void elog_svc_logsvc_register(struct rpc_server *s, struct elog_svc *svc)
{
	rpc_server_add_method(s, "/logging.v1.LogService/WriteLogStream", RPC_CLIENT_STREAM,
			      ls_write_log_stream, svc);
}

void elog_svc_logsvc_free(struct elog_svc *svc)
{
	if (!svc || !svc->slog)
		return;
	elog_slog_close(svc->slog);
	svc->slog = NULL;
}
