/*
 * forward.c — `serve --forward URL` (forward.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "outbound/forward.h"
#include "common/arena.h"
#include "common/err.h"
#include "common/json.h"
#include "common/record.h"
#include "common/filter.h"
#include "common/util.h"
#include "store/store.h"
#include "hub/hub.h"
#include "rpc/rpc.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"

#define LOGS_PATH "/opentelemetry.proto.collector.logs.v1.LogsService/Export"

typedef Opentelemetry__Proto__Common__V1__AnyValue AnyValue;
typedef Opentelemetry__Proto__Common__V1__KeyValue KeyValue;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ArrayValue;
typedef Opentelemetry__Proto__Common__V1__KeyValueList KeyValueList;
typedef Opentelemetry__Proto__Resource__V1__Resource Resource;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs ResourceLogs;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs ScopeLogs;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LogRecord;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest LogsRequest;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse LogsResponse;

struct elog_forwarder {
	struct elog_forward_opts o;
	char *url, *target, *cursor_name;
	char **hkeys, **hvals;
	size_t nh;
	struct rpc_channel *ch;
	struct elog_store *st;          /* the forwarder's read connection */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	struct elog_forward_status status;
	/* the batch being sent (kept across retries) */
	struct elog_record *recs;
	size_t n, bytes;
};

/* ---- reading the history ----------------------------------------------------------------- */

static int collect(void *ctx, const struct elog_record *r)
{
	struct elog_forwarder *f = ctx;
	struct elog_record *c = &f->recs[f->n++];

	elog_record_init(c);
	c->id = r->id;
	c->ts_ns = r->ts_ns;
	c->arrival_ns = r->arrival_ns;
	c->level = r->level;
	elog_record_set(&c->component, r->component, strlen(r->component));
	elog_record_set(&c->msg, r->msg, strlen(r->msg));
	elog_record_set(&c->fields, r->fields, strlen(r->fields));
	elog_record_set(&c->source, r->source, strlen(r->source));
	f->bytes += strlen(r->component) + strlen(r->msg) + strlen(r->fields) + 64;
	return f->n == FORWARD_BATCH_RECORDS || f->bytes >= FORWARD_BATCH_BYTES;
}

static void batch_clear(struct elog_forwarder *f)
{
	for (size_t i = 0; i < f->n; i++)
		elog_record_clear(&f->recs[i]);
	f->n = 0;
	f->bytes = 0;
}

/* Reads the next batch after the cursor. 0 (f->n may be 0), or a negative code with err. */
static int read_batch(struct elog_forwarder *f, struct elog_err *err)
{
	struct elog_filter flt;
	int rc;

	elog_filter_init(&flt);
	flt.after_id = f->status.cursor;
	rc = elog_store_query(f->st, &flt, ELOG_ID_UNBOUNDED, collect, f, err);
	elog_filter_clear(&flt);
	return rc < 0 ? rc : 0;
}

/* ---- records -> ExportLogsServiceRequest ---------------------------------------------------- */

static AnyValue *any_new(struct elog_arena *a)
{
	AnyValue *v = elog_arena_alloc(a, sizeof(*v));

	opentelemetry__proto__common__v1__any_value__init(v);
	return v;
}

static KeyValue *kv_new(struct elog_arena *a, const char *key, AnyValue *v)
{
	KeyValue *kv = elog_arena_alloc(a, sizeof(*kv));

	opentelemetry__proto__common__v1__key_value__init(kv);
	kv->key = elog_arena_strndup(a, key, strlen(key));
	kv->value = v;
	return kv;
}

static AnyValue *any_str(struct elog_arena *a, const char *s)
{
	AnyValue *v = any_new(a);

	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = elog_arena_strndup(a, s, strlen(s));
	return v;
}

/* A JSON value (yajl tree, its depth bounded by elog_json_tree_parse) as an AnyValue. */
static AnyValue *any_of_json(struct elog_arena *a, yajl_val j)
{
	AnyValue *v = any_new(a);
	size_t i;

	if (!j || YAJL_IS_NULL(j))
		return v;   /* unset: null */
	if (YAJL_IS_STRING(j)) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
		v->string_value = elog_arena_strndup(a, j->u.string, strlen(j->u.string));
	} else if (YAJL_IS_TRUE(j) || YAJL_IS_FALSE(j)) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
		v->bool_value = YAJL_IS_TRUE(j);
	} else if (YAJL_IS_INTEGER(j)) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
		v->int_value = YAJL_GET_INTEGER(j);
	} else if (YAJL_IS_NUMBER(j)) {
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
		v->double_value = YAJL_GET_DOUBLE(j);
	} else if (YAJL_IS_ARRAY(j)) {
		ArrayValue *av = elog_arena_alloc(a, sizeof(*av));

		opentelemetry__proto__common__v1__array_value__init(av);
		av->n_values = j->u.array.len;
		av->values = elog_arena_alloc(a, (av->n_values + 1) * sizeof(*av->values));
		for (i = 0; i < av->n_values; i++)
			av->values[i] = any_of_json(a, j->u.array.values[i]);
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
		v->array_value = av;
	} else if (YAJL_IS_OBJECT(j)) {
		KeyValueList *kl = elog_arena_alloc(a, sizeof(*kl));

		opentelemetry__proto__common__v1__key_value_list__init(kl);
		kl->n_values = j->u.object.len;
		kl->values = elog_arena_alloc(a, (kl->n_values + 1) * sizeof(*kl->values));
		for (i = 0; i < kl->n_values; i++)
			kl->values[i] = kv_new(a, j->u.object.keys[i],
					       any_of_json(a, j->u.object.values[i]));
		v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
		v->kvlist_value = kl;
	}
	return v;
}

/* Hex text of exactly n bytes into out; 0, or -1 when s is not that. */
static int unhex(const char *s, uint8_t *out, size_t n)
{
	if (strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi, lo;
		char c1 = s[2 * i], c2 = s[2 * i + 1];

		hi = c1 >= '0' && c1 <= '9' ? c1 - '0' : c1 >= 'a' && c1 <= 'f' ? c1 - 'a' + 10
			: c1 >= 'A' && c1 <= 'F' ? c1 - 'A' + 10 : -1;
		lo = c2 >= '0' && c2 <= '9' ? c2 - '0' : c2 >= 'a' && c2 <= 'f' ? c2 - 'a' + 10
			: c2 >= 'A' && c2 <= 'F' ? c2 - 'A' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* One group of the batch: records of one component and resource. */
struct group {
	const char *component;
	char *res_sig;              /* the resource.* fields as JSON text (arena) */
	Resource *res;
	LogRecord **recs;           /* arena, sized in a first pass */
	size_t n;
};

static const int severity_of_level[ELOG_LEVEL_COUNT] = { 1, 5, 9, 13, 17, 21 };
static const char *const severity_text[ELOG_LEVEL_COUNT] = {
	"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"
};

/* Builds r's LogRecord, its resource attributes and their signature (arena). */
static LogRecord *log_record(struct elog_arena *a, const struct elog_record *r, KeyValue ***res_kv,
			     size_t *nres, struct elog_buf *sig)
{
	LogRecord *lr = elog_arena_alloc(a, sizeof(*lr));
	yajl_val j = NULL;
	size_t i, nattr = 0, cap;

	opentelemetry__proto__logs__v1__log_record__init(lr);
	lr->time_unix_nano = r->ts_ns > 0 ? (uint64_t)r->ts_ns : 0;
	lr->observed_time_unix_nano = r->arrival_ns > 0 ? (uint64_t)r->arrival_ns : 0;
	if (r->level >= 0 && r->level < ELOG_LEVEL_COUNT) {
		lr->severity_number = severity_of_level[r->level];
		lr->severity_text = (char *)severity_text[r->level];
	}
	lr->body = any_str(a, r->msg);
	*res_kv = NULL;
	*nres = 0;
	elog_buf_reset(sig);
	if (r->fields && *r->fields)
		j = elog_json_tree_parse(r->fields);
	cap = (j && YAJL_IS_OBJECT(j) ? j->u.object.len : 0) + 2;
	lr->attributes = elog_arena_alloc(a, cap * sizeof(*lr->attributes));
	*res_kv = elog_arena_alloc(a, cap * sizeof(**res_kv));
	if (j && YAJL_IS_OBJECT(j)) {
		for (i = 0; i < j->u.object.len; i++) {
			const char *k = j->u.object.keys[i];
			yajl_val v = j->u.object.values[i];

			if (strncmp(k, "resource.", 9) == 0 && k[9]) {
				if (strcmp(k + 9, "service.name") == 0)
					continue;          /* service.name is the component */
				(*res_kv)[(*nres)++] = kv_new(a, k + 9, any_of_json(a, v));
				elog_json_quote(sig, k, strlen(k));
				elog_buf_addc(sig, ':');
				elog_json_tree_compact(sig, v);
				elog_buf_addc(sig, ',');
				continue;
			}
			if (YAJL_IS_STRING(v) && strcmp(k, "trace_id") == 0) {
				uint8_t id[16];

				if (unhex(v->u.string, id, 16) == 0) {
					lr->trace_id.data = elog_arena_alloc(a, 16);
					memcpy(lr->trace_id.data, id, 16);
					lr->trace_id.len = 16;
					continue;
				}
			}
			if (YAJL_IS_STRING(v) && strcmp(k, "span_id") == 0) {
				uint8_t id[8];

				if (unhex(v->u.string, id, 8) == 0) {
					lr->span_id.data = elog_arena_alloc(a, 8);
					memcpy(lr->span_id.data, id, 8);
					lr->span_id.len = 8;
					continue;
				}
			}
			if (YAJL_IS_STRING(v) && strcmp(k, "event_name") == 0) {
				lr->event_name = elog_arena_strndup(a, v->u.string, strlen(v->u.string));
				continue;
			}
			lr->attributes[nattr++] = kv_new(a, k, any_of_json(a, v));
		}
	} else if (r->fields && *r->fields) {
		/* not an object (never stored so by elog's paths): kept as text */
		lr->attributes[nattr++] = kv_new(a, "fields", any_str(a, r->fields));
	}
	if (r->source && *r->source)
		lr->attributes[nattr++] = kv_new(a, "elog.source", any_str(a, r->source));
	lr->n_attributes = nattr;
	yajl_tree_free(j);
	return lr;
}

/* Builds the batch's request in a (req's parts live in the arena). */
static void build_request(struct elog_forwarder *f, struct elog_arena *a, LogsRequest *req)
{
	struct group *g;
	LogRecord **lrs;
	size_t *gi, ng = 0, i, k;
	struct elog_buf sig = ELOG_BUF_INIT;

	g = elog_arena_alloc(a, (f->n + 1) * sizeof(*g));
	lrs = elog_arena_alloc(a, (f->n + 1) * sizeof(*lrs));
	gi = elog_arena_alloc(a, (f->n + 1) * sizeof(*gi));
	for (i = 0; i < f->n; i++) {
		const struct elog_record *r = &f->recs[i];
		KeyValue **res_kv;
		size_t nres;
		const char *s;

		lrs[i] = log_record(a, r, &res_kv, &nres, &sig);
		s = sig.len ? sig.data : "";
		for (k = 0; k < ng; k++)
			if (strcmp(g[k].component, r->component) == 0 && strcmp(g[k].res_sig, s) == 0)
				break;
		if (k == ng) {
			Resource *res = elog_arena_alloc(a, sizeof(*res));

			opentelemetry__proto__resource__v1__resource__init(res);
			res->attributes = elog_arena_alloc(a, (nres + 1) * sizeof(*res->attributes));
			res->attributes[0] = kv_new(a, "service.name", any_str(a, r->component));
			memcpy(res->attributes + 1, res_kv, nres * sizeof(*res_kv));
			res->n_attributes = nres + 1;
			g[k].component = r->component;
			g[k].res_sig = elog_arena_strndup(a, s, strlen(s));
			g[k].res = res;
			g[k].n = 0;
			ng++;
		}
		gi[i] = k;
		g[k].n++;
	}
	for (k = 0; k < ng; k++) {
		g[k].recs = elog_arena_alloc(a, g[k].n * sizeof(*g[k].recs));
		g[k].n = 0;
	}
	for (i = 0; i < f->n; i++)
		g[gi[i]].recs[g[gi[i]].n++] = lrs[i];
	req->n_resource_logs = ng;
	req->resource_logs = elog_arena_alloc(a, (ng + 1) * sizeof(*req->resource_logs));
	for (k = 0; k < ng; k++) {
		ResourceLogs *rl = elog_arena_alloc(a, sizeof(*rl));
		ScopeLogs *sl = elog_arena_alloc(a, sizeof(*sl));
		Opentelemetry__Proto__Common__V1__InstrumentationScope *sc =
			elog_arena_alloc(a, sizeof(*sc));

		opentelemetry__proto__logs__v1__resource_logs__init(rl);
		opentelemetry__proto__logs__v1__scope_logs__init(sl);
		opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
		sc->name = "elog";
		sl->scope = sc;
		sl->log_records = g[k].recs;
		sl->n_log_records = g[k].n;
		rl->resource = g[k].res;
		rl->scope_logs = elog_arena_alloc(a, sizeof(*rl->scope_logs));
		rl->scope_logs[0] = sl;
		rl->n_scope_logs = 1;
		req->resource_logs[k] = rl;
	}
	elog_buf_release(&sig);
}

/* ---- sending --------------------------------------------------------------------------------- */

static int stopping(struct elog_forwarder *f)
{
	int s;

	pthread_mutex_lock(&f->mu);
	s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

/* Sends the batch; RPC_OK with *rejected, or the call's status (msg says why). */
static int send_batch(struct elog_forwarder *f, uint64_t *rejected, char *msg, size_t msgsz)
{
	struct rpc_ccall *c = NULL;
	struct elog_err err;
	LogsResponse *resp = NULL;
	LogsRequest req = OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_REQUEST__INIT;
	struct elog_arena a;
	char *details = NULL;
	int rc, st;

	*rejected = 0;
	elog_err_clear(&err);
	if (rpc_ccall_start(&c, f->ch, LOGS_PATH, (int64_t)FORWARD_CALL_TIMEOUT_MS * NS_PER_MS,
			    &err) != 0) {
		snprintf(msg, msgsz, "%.240s", err.msg);
		return RPC_UNAVAILABLE;
	}
	elog_arena_init(&a);
	build_request(f, &a, &req);
	rc = rpc_ccall_send(c, &req.base);
	elog_arena_release(&a);
	if (rc == 0)
		rpc_ccall_close_send(c);
	for (;;) {
		if (rc != 0)
			break;
		rc = rpc_ccall_recv(c, &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor,
				    (ProtobufCMessage **)&resp, 100 * NS_PER_MS);
		if (rc == 2) {
			if (stopping(f)) {
				rpc_ccall_cancel(c);
				rc = -1;
				break;
			}
			rc = 0;
			continue;
		}
		break;
	}
	if (rc == 1 && resp) {
		if (resp->partial_success)
			*rejected = resp->partial_success->rejected_log_records > 0
				? (uint64_t)resp->partial_success->rejected_log_records : 0;
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	st = rpc_ccall_finish(c, &details);
	if (st == RPC_OK && rc != 1)
		st = RPC_UNKNOWN;
	snprintf(msg, msgsz, "%s: %s", rpc_status_name(st), details && *details ? details
		 : st == RPC_UNKNOWN ? "no response" : "(no details)");
	free(details);
	rpc_ccall_free(c);
	return st;
}

/* ---- the cursor, saved by the hub's writer --------------------------------------------------- */

struct cursor_save {
	struct elog_ingest in;
	const char *name;
	int64_t id;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int done, rc;
	char msg[256];
};

static int save_in_txn(struct elog_ingest *in, struct elog_store *s, struct elog_err *err)
{
	struct cursor_save *cs = in->ctx;

	return elog_store_cursor_set(s, cs->name, cs->id, err);
}

static void save_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct cursor_save *cs = in->ctx;

	pthread_mutex_lock(&cs->mu);
	cs->done = 1;
	cs->rc = rc;
	snprintf(cs->msg, sizeof(cs->msg), "%s", msg ? msg : "");
	pthread_cond_signal(&cs->cv);
	pthread_mutex_unlock(&cs->mu);
}

static int save_cursor(struct elog_forwarder *f, int64_t id, char *msg, size_t msgsz)
{
	struct cursor_save cs;
	int rc;

	memset(&cs, 0, sizeof(cs));
	cs.name = f->cursor_name;
	cs.id = id;
	cs.in.done = save_done;
	cs.in.ctx = &cs;
	cs.in.in_txn = save_in_txn;
	pthread_mutex_init(&cs.mu, NULL);
	pthread_cond_init(&cs.cv, NULL);
	rc = elog_hub_submit(f->o.hub, &cs.in);
	if (rc == 0) {
		pthread_mutex_lock(&cs.mu);
		while (!cs.done)
			pthread_cond_wait(&cs.cv, &cs.mu);
		pthread_mutex_unlock(&cs.mu);
		rc = cs.rc;
		if (rc)
			snprintf(msg, msgsz, "cannot save the forward cursor: %.180s", cs.msg);
	} else {
		snprintf(msg, msgsz, "server is shutting down");
	}
	pthread_mutex_destroy(&cs.mu);
	pthread_cond_destroy(&cs.cv);
	return rc;
}

/* ---- the thread ------------------------------------------------------------------------------ */

/* Waits ms, or less when stopped; returns 1 when stopping. */
static int pause_ms(struct elog_forwarder *f, int ms)
{
	int64_t until = elog_mono_after((int64_t)ms * NS_PER_MS);
	int s;

	pthread_mutex_lock(&f->mu);
	while (!f->stop && elog_cond_wait_until(&f->cv, &f->mu, until) == 0)
		;
	s = f->stop;
	pthread_mutex_unlock(&f->mu);
	return s;
}

static void publish(struct elog_forwarder *f)
{
	elog_hub_set_forward_status(f->o.hub, &f->status);
}

static void *forward_main(void *arg)
{
	struct elog_forwarder *f = arg;
	int backoff = FORWARD_BACKOFF_MIN_MS;
	char msg[256];

	while (!stopping(f)) {
		struct elog_err err;
		uint64_t rejected;
		int st;

		if (f->n == 0) {
			elog_err_clear(&err);
			if (read_batch(f, &err) != 0) {
				snprintf(f->status.last_error, sizeof(f->status.last_error), "%.240s",
					 err.msg);
				publish(f);
				batch_clear(f);
				if (pause_ms(f, FORWARD_BACKOFF_MAX_MS))
					break;
				continue;
			}
			if (f->n == 0) {
				if (pause_ms(f, FORWARD_IDLE_POLL_MS))
					break;
				continue;
			}
		}
		st = send_batch(f, &rejected, msg, sizeof(msg));
		if (st != RPC_OK) {
			if (stopping(f))
				break;
			f->status.failures++;
			snprintf(f->status.last_error, sizeof(f->status.last_error), "%s", msg);
			publish(f);
			if (pause_ms(f, backoff))
				break;
			backoff = backoff * 2 > FORWARD_BACKOFF_MAX_MS ? FORWARD_BACKOFF_MAX_MS
								    : backoff * 2;
			continue;      /* the same batch again */
		}
		backoff = FORWARD_BACKOFF_MIN_MS;
		if (save_cursor(f, f->recs[f->n - 1].id, msg, sizeof(msg)) != 0) {
			snprintf(f->status.last_error, sizeof(f->status.last_error), "%s", msg);
			publish(f);
			if (pause_ms(f, backoff))
				break;
			continue;      /* resent: the collector may get it twice */
		}
		f->status.cursor = f->recs[f->n - 1].id;
		f->status.sent += f->n;
		f->status.rejected += rejected;
		f->status.last_error[0] = '\0';
		publish(f);
		batch_clear(f);
	}
	return NULL;
}

/* ---- start / stop ---------------------------------------------------------------------------- */

static void forwarder_free(struct elog_forwarder *f)
{
	batch_clear(f);
	free(f->recs);
	rpc_channel_close(f->ch);
	elog_store_close(f->st);
	for (size_t i = 0; i < f->nh; i++) {
		free(f->hkeys[i]);
		free(f->hvals[i]);
	}
	free(f->hkeys);
	free(f->hvals);
	free(f->url);
	free(f->target);
	free(f->cursor_name);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	rpc_shutdown();
}

int elog_forward_start(struct elog_forwarder **out, const struct elog_forward_opts *o,
		       struct elog_err *err)
{
	struct elog_forwarder *f;
	struct rpc_client_opts ro;
	const char *rest;
	char host[256], port[16];
	int tls, rc;

	*out = NULL;
	if (strncmp(o->url, "otlp://", 7) == 0) {
		tls = 0;
		rest = o->url + 7;
	} else if (strncmp(o->url, "otlps://", 8) == 0) {
		tls = 1;
		rest = o->url + 8;
	} else {
		return elog_err_set(err, ELOG_EUSAGE, "'%s' is not otlp://HOST:PORT or "
				    "otlps://HOST:PORT", o->url);
	}
	if (!*rest || strchr(rest, '/') ||
	    elog_target_split(rest, host, sizeof(host), port, sizeof(port)) != 0 || !*host ||
	    !*port)
		return elog_err_set(err, ELOG_EUSAGE, "'%s' is not otlp://HOST:PORT or "
				    "otlps://HOST:PORT", o->url);
	if (o->ca_file && !tls)
		return elog_err_set(err, ELOG_EUSAGE, "--forward-ca needs an otlps:// URL");
	if (o->nheaders > FORWARD_MAX_HEADERS)
		return elog_err_set(err, ELOG_EUSAGE, "more than %d --forward-header (the limit of "
				    "forward headers)", FORWARD_MAX_HEADERS);
	f = xcalloc(1, sizeof(*f));
	pthread_mutex_init(&f->mu, NULL);
	elog_cond_init(&f->cv);
	rpc_init();
	f->o = *o;
	f->url = xstrdup(o->url);
	f->target = xstrdup(rest);
	f->o.url = f->url;
	f->cursor_name = xmalloc(strlen(o->url) + 16);
	snprintf(f->cursor_name, strlen(o->url) + 16, "forward %s", o->url);
	f->hkeys = xcalloc(o->nheaders + 1, sizeof(char *));
	f->hvals = xcalloc(o->nheaders + 1, sizeof(char *));
	for (size_t i = 0; i < o->nheaders; i++) {
		const char *eq = strchr(o->headers[i], '=');

		if (!eq || eq == o->headers[i]) {
			elog_err_set(err, ELOG_EUSAGE, "--forward-header '%s' is not KEY=VALUE",
				     o->headers[i]);
			forwarder_free(f);
			return ELOG_EUSAGE;
		}
		f->hkeys[f->nh] = xstrndup(o->headers[i], (size_t)(eq - o->headers[i]));
		f->hvals[f->nh++] = xstrdup(eq + 1);
	}
	memset(&ro, 0, sizeof(ro));
	ro.use_tls = tls;
	ro.ca_file = o->ca_file;
	ro.header_keys = (const char *const *)f->hkeys;
	ro.header_values = (const char *const *)f->hvals;
	ro.nheaders = f->nh;
	rc = rpc_channel_open(&f->ch, f->target, &ro, err);
	if (rc == 0)
		rc = elog_store_open(&f->st, o->db_path, ELOG_STORE_READONLY, err);
	if (rc == 0)
		rc = elog_store_cursor_get(f->st, f->cursor_name, &f->status.cursor, err);
	if (rc) {
		forwarder_free(f);
		return rc;
	}
	f->recs = xcalloc(FORWARD_BATCH_RECORDS, sizeof(*f->recs));
	snprintf(f->status.target, sizeof(f->status.target), "%s", o->url);
	publish(f);
	if (pthread_create(&f->thread, NULL, forward_main, f) != 0) {
		forwarder_free(f);
		return elog_err_set(err, ELOG_EFAIL, "cannot start the forwarder thread");
	}
	*out = f;
	return 0;
}

void elog_forward_stop(struct elog_forwarder *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->mu);
	f->stop = 1;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	forwarder_free(f);
}
