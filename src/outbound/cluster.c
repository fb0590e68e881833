/*
 * cluster.c — serve --cluster: the JetStream publisher and the --aggregate consumer
 * (cluster.h says what each promises).
 */
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>
#include <openssl/sha.h>

#include "outbound/cluster.h"
#include "common/err.h"
#include "common/json.h"
#include "common/record.h"
#include "common/util.h"
#include "hub/hub.h"
#include "store/store.h"

#define NS_MS 1000000LL
#define READ_BATCH 512                 /* records read from the history at a time */
#define READ_BYTES (4u << 20)          /* ... or this many bytes of them */
#define POLL_NS (5 * NS_MS)            /* idle publisher: look for new records this often */
#define SAVE_NS (200 * NS_MS)          /* the cursor is saved at most this often */
#define FETCH_BATCH 512
#define LAG_COUNT_CAP 100000           /* lag: records counted exactly up to this many */
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

/* ---- helpers ---- */

static void report(struct elog_cluster *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void report(struct elog_cluster *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!c->o.report)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->o.report(c->o.report_ctx, buf);
}

/* The text of a failed NATS call: the library's last error, else the status. */
static const char *nats_why(natsStatus s, jsErrCode jerr, char *buf, size_t n)
{
	const char *t = nats_GetLastError(NULL);

	if (t && *t)
		snprintf(buf, n, "%s%s", t, jerr ? "" : "");
	else
		snprintf(buf, n, "%s", natsStatus_GetText(s));
	if (jerr) {
		size_t l = strlen(buf);

		snprintf(buf + l, n - l, " (jetstream error %d)", (int)jerr);
	}
	return buf;
}

/* Sleeps up to ns unless stopping; returns 1 when stopping. */
static int pause_ns(struct elog_cluster *c, int64_t ns)
{
	int64_t until = elog_mono_after(ns);
	int stop;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping && elog_mono_ns() < until)
		elog_cond_wait_until(&c->cv, &c->mu, until);
	stop = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return stop;
}

static int is_stopping(struct elog_cluster *c)
{
	int s;

	pthread_mutex_lock(&c->mu);
	s = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return s;
}

void elog_cluster_token(struct elog_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct elog_buf t = ELOG_BUF_INIT;
	const unsigned char *p;

	if (!*s) {
		elog_buf_addc(b, '%');
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-') {
			elog_buf_addc(&t, (char)*p);
		} else {
			elog_buf_addc(&t, '%');
			elog_buf_addc(&t, hex[*p >> 4]);
			elog_buf_addc(&t, hex[*p & 15]);
		}
	}
	if (t.len <= ELOG_CLUSTER_TOKEN_MAX) {
		elog_buf_add(b, t.data, t.len);
	} else {
		unsigned char md[SHA256_DIGEST_LENGTH];
		size_t keep = 31, i;

		/* never cut inside a %XX */
		for (i = keep >= 2 ? keep - 2 : 0; i < keep; i++)
			if (t.data[i] == '%') {
				keep = i;
				break;
			}
		elog_buf_add(b, t.data, keep);
		elog_buf_addc(b, '~');
		SHA256((const unsigned char *)s, strlen(s), md);
		for (i = 0; i < sizeof(md); i++) {
			elog_buf_addc(b, hex[md[i] >> 4]);
			elog_buf_addc(b, hex[md[i] & 15]);
		}
	}
	elog_buf_release(&t);
}

/* The payload: the record as one JSON object (README "Several machines"). */
static void record_json(struct elog_buf *b, const char *node, const struct elog_record *r)
{
	char ts[48];

	elog_buf_adds(b, "{\"node\":");
	elog_json_quote(b, node, strlen(node));
	elog_format_rfc3339(r->ts_ns, ts, sizeof(ts));
	elog_buf_addf(b, ",\"id\":%" PRId64 ",\"ts\":\"%s\",\"ts_ns\":%" PRId64
		      ",\"arrival_ns\":%" PRId64 ",\"level\":\"%s\",\"component\":",
		      r->id, ts, r->ts_ns, r->arrival_ns, elog_level_name(r->level));
	elog_json_quote(b, r->component, strlen(r->component));
	elog_buf_adds(b, ",\"msg\":");
	elog_json_quote(b, r->msg, strlen(r->msg));
	elog_buf_adds(b, ",\"source\":");
	elog_json_quote(b, r->source, strlen(r->source));
	elog_buf_adds(b, ",\"fields\":");
	if (r->fields[0] == '{')
		elog_buf_adds(b, r->fields);
	else if (!r->fields[0])
		elog_buf_adds(b, "{}");
	else
		elog_json_quote(b, r->fields, strlen(r->fields));
	elog_buf_addc(b, '}');
}

/* ---- connection ---- */

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	if (!is_stopping(closure))
		report(closure, "cluster: link to NATS lost, reconnecting (records wait in the history)");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	report(closure, "cluster: reconnected to '%s'", url);
}

static void pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);

/* Connects and makes a JetStream context; 0 or -1 with why. */
static int cluster_connect(struct elog_cluster *c, natsConnection **nc, jsCtx **js, int publisher,
			   char *why, size_t whysz)
{
	natsOptions *opts = NULL;
	jsOptions jo;
	natsStatus s;
	char name[300];

	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, c->servers, c->nservers);
	snprintf(name, sizeof(name), "elog %s %s", publisher ? "publisher" : "aggregator", c->node);
	if (s == NATS_OK)
		s = natsOptions_SetName(opts, name);
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 100);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(opts, 8 << 20);
	if (s == NATS_OK && publisher)
		s = natsOptions_SetDisconnectedCB(opts, on_disconnected, c);
	if (s == NATS_OK && publisher)
		s = natsOptions_SetReconnectedCB(opts, on_reconnected, c);
	if (s == NATS_OK && c->creds)
		s = natsOptions_SetUserCredentialsFromFiles(opts, c->creds, NULL);
	if (s == NATS_OK && c->user)
		s = natsOptions_SetUserInfo(opts, c->user, c->password ? c->password : "");
	if (s == NATS_OK && c->token)
		s = natsOptions_SetToken(opts, c->token);
	if (s == NATS_OK && c->ca)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK && c->ca)
		s = natsOptions_LoadCATrustedCertificates(opts, c->ca);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	if (s != NATS_OK) {
		nats_why(s, 0, why, whysz);
		*nc = NULL;
		return -1;
	}
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	if (publisher) {
		jo.PublishAsync.MaxPending = ELOG_CLUSTER_WINDOW + 64;
		jo.PublishAsync.AckHandler = pub_ack;
		jo.PublishAsync.AckHandlerClosure = c;
	}
	s = natsConnection_JetStream(js, *nc, &jo);
	if (s != NATS_OK) {
		nats_why(s, 0, why, whysz);
		natsConnection_Destroy(*nc);
		*nc = NULL;
		return -1;
	}
	return 0;
}

static void cluster_disconnect(natsConnection **nc, jsCtx **js)
{
	jsCtx_Destroy(*js);
	*js = NULL;
	if (*nc) {
		natsConnection_Close(*nc);
		natsConnection_Destroy(*nc);
	}
	*nc = NULL;
}

/* Makes sure the stream exists: created with --cluster-replicas replicas, fewer when the
 * cluster is smaller (JetStream refuses them). 0 or -1 with why. */
static int ensure_stream(struct elog_cluster *c, jsCtx *js, char *why, size_t whysz)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	natsStatus s;
	const char *subjects[] = { "elog.>" };
	int r;

	s = js_GetStreamInfo(&si, js, c->stream, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND) {
		nats_why(s, jerr, why, whysz);
		return -1;
	}
	for (r = c->o.replicas > 0 ? c->o.replicas : 3; r >= 1; r--) {
		jsStreamConfig_Init(&cfg);
		cfg.Name = c->stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		cfg.Replicas = r;
		cfg.Duplicates = 120LL * 1000000000LL;
		jerr = 0;
		s = js_AddStream(&si, js, &cfg, NULL, &jerr);
		if (s == NATS_OK) {
			jsStreamInfo_Destroy(si);
			report(c, "cluster: created stream '%s' with %d replica%s", c->stream, r,
			       r == 1 ? "" : "s");
			return 0;
		}
		/* 10058: stream name already in use (another box made it meanwhile) */
		if (jerr == 10058)
			return 0;
		/* 10074 replicas > 1 not supported in non-clustered mode; 10023 insufficient
		 * resources (fewer servers than replicas) */
		if (jerr != 10074 && jerr != 10023)
			break;
	}
	nats_why(s, jerr, why, whysz);
	return -1;
}

/* ---- publisher ---- */

static int64_t msg_id_of(natsMsg *msg)
{
	const char *v = NULL, *slash;

	if (!msg || natsMsgHeader_Get(msg, "Nats-Msg-Id", &v) != NATS_OK || !v)
		return 0;
	slash = strrchr(v, '/');
	return slash ? strtoll(slash + 1, NULL, 10) : 0;
}

static void pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	struct elog_cluster *c = closure;
	int64_t id = msg_id_of(msg);
	size_t lo = 0, hi;

	(void)js;
	pthread_mutex_lock(&c->mu);
	/* ring entries are in increasing id order: binary search */
	hi = c->count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (c->ring[(c->head + mid) % ELOG_CLUSTER_WINDOW].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->count && c->ring[(c->head + lo) % ELOG_CLUSTER_WINDOW].id == id) {
		struct inflight *e = &c->ring[(c->head + lo) % ELOG_CLUSTER_WINDOW];

		if (pa) {
			e->state = 1;
		} else {
			e->state = -1;
			c->failed = 1;
			if (pae)
				snprintf(c->last_error, sizeof(c->last_error), "%s",
					 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
		}
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	natsMsg_Destroy(msg);
}

struct batch {
	struct elog_record *recs;
	unsigned char *foreign;   /* recs[i] came from the stream: only its id is kept */
	size_t n, cap, bytes;
	int64_t last_id;          /* the last id looked at (published or skipped) */
};

static int collect(void *ctx, const struct elog_record *r)
{
	struct batch *b = ctx;
	struct elog_record *d;

	b->last_id = r->id;
	d = &b->recs[b->n];
	elog_record_init(d);
	d->id = r->id;
	b->foreign[b->n++] = strncmp(r->dedupe_key, DEDUPE_PREFIX,
				     sizeof(DEDUPE_PREFIX) - 1) == 0;
	if (b->foreign[b->n - 1])   /* from the stream: passed over, in order */
		return b->n >= b->cap || b->bytes >= READ_BYTES;
	d->ts_ns = r->ts_ns;
	d->arrival_ns = r->arrival_ns;
	d->level = r->level;
	elog_record_set(&d->component, r->component, strlen(r->component));
	elog_record_set(&d->msg, r->msg, strlen(r->msg));
	elog_record_set(&d->fields, r->fields, strlen(r->fields));
	elog_record_set(&d->source, r->source, strlen(r->source));
	b->bytes += strlen(r->msg) + strlen(r->fields) + 64;
	return b->n >= b->cap || b->bytes >= READ_BYTES;
}

/* How many records after the cursor are still to publish, and the age of the first. */
static void measure_lag(struct elog_cluster *c, struct elog_store *st, int64_t cursor)
{
	struct elog_err err;
	uint64_t n = 0;
	int64_t first = 0;

	elog_err_clear(&err);
	if (elog_store_count_after(st, cursor, DEDUPE_PREFIX, LAG_COUNT_CAP, &n, &first, &err) != 0)
		return;
	if (n >= LAG_COUNT_CAP) {
		/* far behind: the ids committed after the cursor (records from other nodes
		 * included), rather than a count that would read them all twice a second */
		int64_t max = 0;

		if (elog_store_max_id(st, &max, &err) == 0 && max - cursor > (int64_t)n)
			n = (uint64_t)(max - cursor);
	}
	pthread_mutex_lock(&c->mu);
	c->behind = n;
	c->behind_ns = n && first ? elog_now_ns() - first : 0;
	if (c->behind_ns < 0)
		c->behind_ns = 0;
	pthread_mutex_unlock(&c->mu);
}

/*
 * A record whose JSON passes the server's max_payload (1 MiB by default, less the room kept
 * for headers) could never be published, and would hold the cursor for ever: it goes cut,
 * in steps, until it fits: its message cut at a character boundary (ending with
 * ELOG_TRUNC_MARK), then its fields dropped, then its component and source cut to 1 KiB;
 * the payload then carries "cut":true.
 */
static void fit_payload(struct elog_cluster *c, const struct elog_record *r,
			struct elog_buf *payload)
{
	struct elog_record t = *r;
	char *msg = NULL, *comp = NULL, *src = NULL;
	size_t max = (size_t)c->max_payload, step;

	for (step = 0; step < 3 && payload->len > max; step++) {
		if (step == 0) {
			size_t over = payload->len - max + sizeof(ELOG_TRUNC_MARK) + 16, n = strlen(r->msg);
			size_t keep = n > over ? elog_record_cut_len(r->msg, n, n - over) : 0;
			struct elog_buf m = ELOG_BUF_INIT;

			elog_buf_add(&m, r->msg, keep);
			elog_buf_adds(&m, ELOG_TRUNC_MARK);
			msg = elog_buf_detach(&m);
			t.msg = msg;
		} else if (step == 1) {
			t.fields = (char *)"";
		} else {
			comp = xstrndup(r->component, elog_record_cut_len(r->component,
					strlen(r->component), 1024));
			src = xstrndup(r->source, elog_record_cut_len(r->source, strlen(r->source),
								      1024));
			t.component = comp;
			t.source = src;
		}
		elog_buf_reset(payload);
		record_json(payload, c->node, &t);
		payload->len--;   /* the closing brace */
		elog_buf_adds(payload, ",\"cut\":true}");
	}
	free(msg);
	free(comp);
	free(src);
}

static int publish_one(struct elog_cluster *c, jsCtx *js, const struct elog_record *r, int64_t prev,
		       struct elog_buf *subj, struct elog_buf *payload)
{
	natsMsg *m = NULL;
	natsStatus s;
	jsPubOptions po;
	char id[64], prevs[32], ts[48];
	struct elog_buf mid = ELOG_BUF_INIT;

	elog_buf_reset(subj);
	elog_buf_addf(subj, "elog.%s.", c->node_token);
	elog_cluster_token(subj, r->component);
	elog_buf_reset(payload);
	record_json(payload, c->node, r);
	if (c->max_payload > 0 && payload->len > (size_t)c->max_payload)
		fit_payload(c, r, payload);
	elog_buf_addf(&mid, "%s/%" PRId64, c->node, r->id);
	snprintf(id, sizeof(id), "%" PRId64, r->id);
	snprintf(prevs, sizeof(prevs), "%" PRId64, prev);
	elog_format_rfc3339(r->ts_ns, ts, sizeof(ts));
	s = natsMsg_Create(&m, subj->data, NULL, payload->data, (int)payload->len);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Nats-Msg-Id", mid.data);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Elog-Node", c->node);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Elog-Id", id);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Elog-Prev", prevs);
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Elog-Level", elog_level_name(r->level));
	if (s == NATS_OK)
		s = natsMsgHeader_Set(m, "Elog-Time", ts);
	elog_buf_release(&mid);
	if (s != NATS_OK) {
		natsMsg_Destroy(m);
		return -1;
	}
	/* in the ring before it can be acknowledged */
	pthread_mutex_lock(&c->mu);
	{
		struct inflight *e = &c->ring[(c->head + c->count) % ELOG_CLUSTER_WINDOW];

		e->id = r->id;
		e->arrival_ns = r->arrival_ns;
		e->state = 0;
		e->own = 1;
		c->count++;
	}
	pthread_mutex_unlock(&c->mu);
	jsPubOptions_Init(&po);
	po.MaxWait = ELOG_CLUSTER_ACK_WAIT_MS;
	s = js_PublishMsgAsync(js, &m, &po);
	natsMsg_Destroy(m);   /* a no-op when the library took it */
	if (s != NATS_OK) {
		pthread_mutex_lock(&c->mu);
		c->ring[(c->head + c->count - 1) % ELOG_CLUSTER_WINDOW].state = -1;
		c->failed = 1;
		snprintf(c->last_error, sizeof(c->last_error), "%s", natsStatus_GetText(s));
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	return 0;
}

/* Pops acknowledged entries off the ring's head: the cursor moves over them. Under mu. */
static int64_t advance_locked(struct elog_cluster *c)
{
	while (c->count && c->ring[c->head].state == 1) {
		c->cursor = c->ring[c->head].id;
		if (c->ring[c->head].own) {
			c->last_own = c->cursor;
			c->published++;
		}
		c->head = (c->head + 1) % ELOG_CLUSTER_WINDOW;
		c->count--;
	}
	return c->cursor;
}

static int save_cursor(struct elog_store *st, int64_t v, int64_t last_own)
{
	struct elog_err err;

	elog_err_clear(&err);
	if (elog_store_cursor_set(st, ELOG_CLUSTER_CURSOR_LAST, last_own, &err) != 0)
		return -1;
	return elog_store_cursor_set(st, ELOG_CLUSTER_CURSOR, v, &err);
}

/* After a failure: waits for what is in flight (acked or failed, or the ack wait passed),
 * forgets the rest. Returns the cursor to start again from. */
static int64_t drain(struct elog_cluster *c, jsCtx *js)
{
	int64_t until = elog_mono_after((ELOG_CLUSTER_ACK_WAIT_MS + 2000) * NS_MS), cur;
	size_t i;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		int pending = 0;

		for (i = 0; i < c->count; i++)
			if (c->ring[(c->head + i) % ELOG_CLUSTER_WINDOW].state == 0)
				pending = 1;
		if (!pending || c->stopping || elog_mono_ns() >= until)
			break;
		elog_cond_wait_until(&c->cv, &c->mu, until);
	}
	advance_locked(c);
	c->head = 0;
	c->count = 0;
	c->failed = 0;
	cur = c->cursor;
	pthread_mutex_unlock(&c->mu);
	if (js) {
		natsMsgList l;

		if (js_PublishAsyncGetPendingList(&l, js) == NATS_OK)
			natsMsgList_Destroy(&l);
	}
	return cur;
}

static void *publisher(void *arg)
{
	struct elog_cluster *c = arg;
	struct elog_store *st = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	struct elog_err err;
	struct elog_buf subj = ELOG_BUF_INIT, payload = ELOG_BUF_INIT;
	struct batch b;
	int64_t next = 0, saved = -1, last_save = 0, last_lag = 0, prev = 0, backoff = 100 * NS_MS;
	int ready = 0, said_down = 0;
	char why[512];

	memset(&b, 0, sizeof(b));
	b.cap = READ_BATCH;
	b.recs = xcalloc(b.cap, sizeof(*b.recs));
	b.foreign = xcalloc(b.cap, 1);
	elog_err_clear(&err);
	while (!is_stopping(c)) {
		if (!st) {
			if (elog_store_open(&st, c->db_path, 0, &err) != 0 ||
			    elog_store_cursor_get(st, ELOG_CLUSTER_CURSOR, &next, &err) != 0 ||
			    elog_store_cursor_get(st, ELOG_CLUSTER_CURSOR_LAST, &prev, &err) != 0) {
				report(c, "cluster: cannot read the history: %s", err.msg);
				elog_store_close(st);
				st = NULL;
				pause_ns(c, 1000 * NS_MS);
				continue;
			}
			pthread_mutex_lock(&c->mu);
			c->cursor = next;
			c->last_own = prev;
			pthread_mutex_unlock(&c->mu);
			saved = next;
		}
		if (elog_mono_ns() - last_lag >= 500 * NS_MS) {
			int64_t cur;

			pthread_mutex_lock(&c->mu);
			cur = c->cursor;
			pthread_mutex_unlock(&c->mu);
			measure_lag(c, st, cur);
			last_lag = elog_mono_ns();
		}
		if (!nc) {
			if (cluster_connect(c, &nc, &js, 1, why, sizeof(why)) != 0) {
				if (!said_down)
					report(c, "cluster: cannot connect to '%s': %s (retrying; records "
					       "wait in the history)", c->o.servers, why);
				said_down = 1;
				pause_ns(c, backoff);
				backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
				continue;
			}
			ready = 0;
			c->max_payload = natsConnection_GetMaxPayload(nc) - 8192;
		}
		if (!ready) {
			if (ensure_stream(c, js, why, sizeof(why)) != 0) {
				if (!said_down)
					report(c, "cluster: stream '%s' not available: %s (retrying)",
					       c->stream, why);
				said_down = 1;
				pause_ns(c, backoff);
				backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
				continue;
			}
			ready = 1;
			backoff = 100 * NS_MS;
			if (said_down || !c->connected)
				report(c, "cluster: publishing to stream '%s' as node '%s'", c->stream,
				       c->node);
			said_down = 0;
			pthread_mutex_lock(&c->mu);
			c->connected = 1;
			pthread_mutex_unlock(&c->mu);
		}
		/* a failure: start again from the cursor once what is in flight is settled */
		pthread_mutex_lock(&c->mu);
		if (c->failed) {
			char e[256];

			snprintf(e, sizeof(e), "%s", c->last_error);
			c->connected = 0;
			pthread_mutex_unlock(&c->mu);
			if (!said_down)
				report(c, "cluster: publish failed: %s (resending from record %" PRId64
				       ")", e, c->cursor + 1);
			said_down = 1;
			next = drain(c, js);
			pthread_mutex_lock(&c->mu);
			prev = c->last_own;
			pthread_mutex_unlock(&c->mu);
			ready = 0;
			pause_ns(c, backoff);
			backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
			continue;
		}
		advance_locked(c);
		{
			int64_t cur = c->cursor, own = c->last_own;
			size_t room = ELOG_CLUSTER_WINDOW - c->count;

			pthread_mutex_unlock(&c->mu);
			if (cur != saved && elog_mono_ns() - last_save >= SAVE_NS) {
				if (save_cursor(st, cur, own) == 0)
					saved = cur;
				last_save = elog_mono_ns();
			}
			if (room < READ_BATCH / 4) {
				/* the window is full: wait for acks */
				pthread_mutex_lock(&c->mu);
				if (!c->stopping && !c->failed &&
				    c->count && c->ring[c->head].state != 1)
					elog_cond_wait_until(&c->cv, &c->mu, elog_mono_after(POLL_NS));
				pthread_mutex_unlock(&c->mu);
				continue;
			}
			b.cap = room < READ_BATCH ? room : READ_BATCH;
		}
		{
			struct elog_filter f;
			int64_t max = 0;
			size_t i;
			int rc;

			if (elog_store_max_id(st, &max, &err) != 0 || max <= next) {
				pause_ns(c, POLL_NS);
				continue;
			}
			elog_filter_init(&f);
			f.after_id = next;
			b.n = 0;
			b.bytes = 0;
			b.last_id = next;
			rc = elog_store_query(st, &f, max, collect, &b, &err);
			elog_filter_clear(&f);
			if (rc < 0) {
				report(c, "cluster: cannot read the history: %s", err.msg);
				for (i = 0; i < b.n; i++)
					elog_record_clear(&b.recs[i]);
				pause_ns(c, 1000 * NS_MS);
				continue;
			}
			for (i = 0; i < b.n; i++) {
				if (b.foreign[i]) {
					pthread_mutex_lock(&c->mu);
					{
						struct inflight *e = &c->ring[(c->head + c->count) %
									   ELOG_CLUSTER_WINDOW];

						e->id = b.recs[i].id;
						e->arrival_ns = 0;
						e->state = 1;
						e->own = 0;
						c->count++;
					}
					pthread_mutex_unlock(&c->mu);
					elog_record_clear(&b.recs[i]);
					continue;
				}
				if (publish_one(c, js, &b.recs[i], prev, &subj, &payload) != 0) {
					size_t j;

					for (j = i; j < b.n; j++)
						elog_record_clear(&b.recs[j]);
					break;
				}
				prev = b.recs[i].id;
				elog_record_clear(&b.recs[i]);
			}
			if (i == b.n)
				next = b.last_id;
			if (b.n == 0 && b.last_id == next)
				next = max;   /* no record up to max */
		}
	}
	/* stopping: give what is in flight a second, save the cursor */
	if (js) {
		int64_t until = elog_mono_after(1000 * NS_MS);

		pthread_mutex_lock(&c->mu);
		while (c->count && !c->failed && elog_mono_ns() < until) {
			advance_locked(c);
			if (!c->count)
				break;
			elog_cond_wait_until(&c->cv, &c->mu, elog_mono_after(20 * NS_MS));
		}
		advance_locked(c);
		pthread_mutex_unlock(&c->mu);
	}
	if (st) {
		int64_t cur, own;

		pthread_mutex_lock(&c->mu);
		cur = c->cursor;
		own = c->last_own;
		pthread_mutex_unlock(&c->mu);
		if (cur != saved)
			save_cursor(st, cur, own);
	}
	cluster_disconnect(&nc, &js);
	/* acks that come after this are for entries no longer tracked */
	pthread_mutex_lock(&c->mu);
	c->count = 0;
	pthread_mutex_unlock(&c->mu);
	elog_store_close(st);
	elog_buf_release(&subj);
	elog_buf_release(&payload);
	free(b.recs);
	free(b.foreign);
	return NULL;
}

/* ---- aggregator ---- */

static const char *hdr(natsMsg *m, const char *key)
{
	const char *v = NULL;

	if (natsMsgHeader_Get(m, key, &v) != NATS_OK)
		return NULL;
	return v;
}

/* The string t[key], "" when absent or not a string. */
static const char *jstr(yajl_val t, const char *key)
{
	const char *path[2] = { key, NULL };
	yajl_val v = yajl_tree_get(t, path, yajl_t_string);
	const char *s = v ? YAJL_GET_STRING(v) : NULL;

	return s ? s : "";
}

/* The record a message carries, with the field "node" and the dedupe key; 0 or -1. */
static int msg_record(natsMsg *m, struct elog_record *r, char **node, int64_t *id, int64_t *prev)
{
	const char *data = natsMsg_GetData(m), *path[2] = { NULL, NULL };
	int len = natsMsg_GetDataLength(m);
	char *text;
	yajl_val t, v;
	struct elog_buf b = ELOG_BUF_INIT;
	const char *p;

	text = xstrndup(data ? data : "", (size_t)(len > 0 ? len : 0));
	t = elog_json_tree_parse(text);
	free(text);
	if (!t || !YAJL_IS_OBJECT(t)) {
		if (t)
			yajl_tree_free(t);
		return -1;
	}
	path[0] = "node";
	v = yajl_tree_get(t, path, yajl_t_string);
	path[0] = "id";
	if (!v || !yajl_tree_get(t, path, yajl_t_number)) {
		yajl_tree_free(t);
		return -1;
	}
	*node = xstrdup(jstr(t, "node"));
	*id = YAJL_GET_INTEGER(yajl_tree_get(t, path, yajl_t_number));
	p = hdr(m, "Elog-Prev");
	*prev = p ? strtoll(p, NULL, 10) : 0;
	elog_record_init(r);
	elog_record_set(&r->component, jstr(t, "component"), strlen(jstr(t, "component")));
	elog_record_set(&r->msg, jstr(t, "msg"), strlen(jstr(t, "msg")));
	elog_record_set(&r->source, jstr(t, "source"), strlen(jstr(t, "source")));
	r->level = elog_level_parse(jstr(t, "level"), strlen(jstr(t, "level")));
	if (r->level < 0)
		r->level = ELOG_LEVEL_INFO;
	path[0] = "ts_ns";
	v = yajl_tree_get(t, path, yajl_t_number);
	r->ts_ns = v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
	/* fields: the box's object, then "node" */
	path[0] = "fields";
	v = yajl_tree_get(t, path, yajl_t_object);
	if (v && YAJL_GET_OBJECT(v)->len) {
		elog_json_tree_compact(&b, v);
		b.len--;   /* the closing brace */
		elog_buf_addc(&b, ',');
	} else {
		elog_buf_addc(&b, '{');
	}
	elog_buf_adds(&b, "\"node\":");
	elog_json_quote(&b, *node, strlen(*node));
	elog_buf_addc(&b, '}');
	elog_record_take(&r->fields, elog_buf_detach(&b));
	elog_buf_addf(&b, DEDUPE_PREFIX "%s/%" PRId64, *node, *id);
	elog_record_take(&r->dedupe_key, elog_buf_detach(&b));
	yajl_tree_free(t);
	return 0;
}

/* Node states are allocated one by one: pointers to them stay valid while the array grows. */
static struct node_state *node_get(struct node_state ***v, size_t *n, const char *node)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i]->node, node) == 0)
			return (*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n] = xcalloc(1, sizeof(***v));
	(*v)[*n]->node = xstrdup(node);
	return (*v)[(*n)++];
}

/* Is "nats:<node>/<id>" committed already? */
static int committed(struct elog_store *st, const char *node, int64_t id)
{
	struct elog_buf k = ELOG_BUF_INIT;
	struct elog_err err;
	int found = 0;

	elog_err_clear(&err);
	elog_buf_addf(&k, DEDUPE_PREFIX "%s/%" PRId64, node, id);
	if (elog_store_dedupe_exists(st, k.data, &found, &err) != 0)
		found = 0;
	elog_buf_release(&k);
	return found;
}

struct ready {
	struct elog_record *recs;
	natsMsg **msgs;         /* to ack once committed (also duplicates: recs NULL-free) */
	size_t nrecs, nmsgs, caprecs, capmsgs;
	struct { struct node_state *ns; int64_t id; } *last;   /* per record: new last */
};

static void ready_msg(struct ready *rd, natsMsg *m)
{
	if (rd->nmsgs == rd->capmsgs) {
		rd->capmsgs = rd->capmsgs ? rd->capmsgs * 2 : 256;
		rd->msgs = xrealloc(rd->msgs, rd->capmsgs * sizeof(*rd->msgs));
	}
	rd->msgs[rd->nmsgs++] = m;
}

static void ready_rec(struct ready *rd, struct elog_record *r, struct node_state *ns, int64_t id)
{
	if (rd->nrecs == rd->caprecs) {
		rd->caprecs = rd->caprecs ? rd->caprecs * 2 : 256;
		rd->recs = xrealloc(rd->recs, rd->caprecs * sizeof(*rd->recs));
		rd->last = xrealloc(rd->last, rd->caprecs * sizeof(*rd->last));
	}
	rd->recs[rd->nrecs] = *r;           /* moved */
	rd->last[rd->nrecs].ns = ns;
	rd->last[rd->nrecs].id = id;
	rd->nrecs++;
	elog_record_init(r);
}

/* The chain of a node: moves held messages whose predecessor is now `id` into rd. */
static void release_chain(struct ready *rd, struct node_state *ns, int64_t id)
{
	size_t i;

	for (;;) {
		for (i = 0; i < ns->nheld; i++)
			if (ns->held[i].prev == id || ns->held[i].id <= id)
				break;
		if (i == ns->nheld)
			return;
		/* one with a lower id is committed already, unless a give_up went past it: it is
		 * submitted again either way, and its dedupe key keeps it once */
		ready_rec(rd, &ns->held[i].rec, ns, ns->held[i].id);
		if (ns->held[i].id > id)
			id = ns->held[i].id;
		ready_msg(rd, ns->held[i].msg);
		ns->held[i] = ns->held[--ns->nheld];
		if (!ns->nheld)
			ns->held_since = 0;
	}
}

/* Where the node's chain stands now, batch included. */
static int64_t chain_last(struct ready *rd, struct node_state *ns)
{
	int64_t last = ns->last;
	size_t i;

	for (i = 0; i < rd->nrecs; i++)
		if (rd->last[i].ns == ns && rd->last[i].id > last)
			last = rd->last[i].id;
	return last;
}

/* Gives up waiting: the oldest held message of ns (lowest id) goes on, and its chain. */
static void give_up(struct elog_cluster *c, struct ready *rd, struct node_state *ns)
{
	size_t i, lo = 0;
	int64_t id;

	if (!ns->nheld)
		return;
	for (i = 1; i < ns->nheld; i++)
		if (ns->held[i].id < ns->held[lo].id)
			lo = i;
	id = ns->held[lo].id;
	ready_rec(rd, &ns->held[lo].rec, ns, id);
	ready_msg(rd, ns->held[lo].msg);
	ns->held[lo] = ns->held[--ns->nheld];
	ns->held_since = ns->nheld ? elog_mono_ns() : 0;
	pthread_mutex_lock(&c->mu);
	c->gaps++;
	pthread_mutex_unlock(&c->mu);
	report(c, "cluster: aggregator: gave up waiting for the record before %s/%" PRId64
	       " (not in the stream within %d s)", ns->node, id,
	       (int)(ELOG_CLUSTER_HOLD_NS / 1000000000LL));
	release_chain(rd, ns, id);
}

static void *aggregator(void *arg)
{
	struct elog_cluster *c = arg;
	struct elog_store *st = NULL;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	natsSubscription *sub = NULL;
	struct node_state **nodes = NULL;
	size_t nnodes = 0, nheld_total = 0, i;
	int fetch_errors = 0;
	struct ready rd;
	struct elog_err err;
	int64_t backoff = 100 * NS_MS;
	char why[512], *durable;
	struct elog_buf d = ELOG_BUF_INIT;

	memset(&rd, 0, sizeof(rd));
	elog_cluster_token(&d, c->node);
	durable = elog_buf_detach(&d);
	elog_err_clear(&err);
	while (!is_stopping(c)) {
		natsMsgList list;
		natsStatus s;
		jsErrCode jerr = 0;

		if (!st && elog_store_open(&st, c->db_path, 0, &err) != 0) {
			report(c, "cluster: aggregator cannot read the history: %s", err.msg);
			st = NULL;
			pause_ns(c, 1000 * NS_MS);
			continue;
		}
		if (!nc && cluster_connect(c, &nc, &js, 0, why, sizeof(why)) != 0) {
			pause_ns(c, backoff);
			backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
			continue;
		}
		if (!sub) {
			jsSubOptions so;

			jsSubOptions_Init(&so);
			so.Stream = c->stream;
			so.Config.Durable = durable;
			so.Config.AckPolicy = js_AckExplicit;
			so.Config.DeliverPolicy = js_DeliverAll;
			so.Config.AckWait = ELOG_CLUSTER_ACK_WAIT_NS;
			/* what is held counts as pending: the server delivers no more than this
			 * unacknowledged, so the hold never passes it (a give-up on count alone
			 * broke a box's order after a restart, while the messages the killed
			 * aggregator had were still to be redelivered) */
			so.Config.MaxAckPending = ELOG_CLUSTER_HOLD;
			s = NATS_ERR;
			if (ensure_stream(c, js, why, sizeof(why)) == 0)
				s = js_PullSubscribe(&sub, js, "elog.>", durable, NULL, &so, &jerr);
			if (s != NATS_OK) {
				sub = NULL;
				pause_ns(c, backoff);
				backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
				continue;
			}
			report(c, "cluster: aggregating stream '%s' (durable consumer '%s')", c->stream,
			       durable);
			backoff = 100 * NS_MS;
		}
		memset(&list, 0, sizeof(list));
		s = natsSubscription_Fetch(&list, sub, FETCH_BATCH, 500, &jerr);
		if (s != NATS_OK && s != NATS_TIMEOUT) {
			/* the link or the consumer's leader went away: fetch again after a pause
			 * (unacknowledged messages are redelivered) */
			natsMsgList_Destroy(&list);
			if (natsConnection_Status(nc) == NATS_CONN_STATUS_CLOSED) {
				natsSubscription_Destroy(sub);
				sub = NULL;
				cluster_disconnect(&nc, &js);
			} else if (++fetch_errors >= 5) {
				/* bind to the durable consumer again (Destroy leaves it on the
				 * server; it is made again if it was lost) */
				natsSubscription_Destroy(sub);
				sub = NULL;
				fetch_errors = 0;
			}
			pause_ns(c, backoff);
			backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
			continue;
		}
		backoff = 100 * NS_MS;
		fetch_errors = 0;
		for (i = 0; i < (size_t)list.Count; i++) {
			natsMsg *m = list.Msgs[i];
			struct elog_record r;
			struct node_state *ns;
			char *node = NULL;
			int64_t id, prev, last;

			list.Msgs[i] = NULL;
			if (msg_record(m, &r, &node, &id, &prev) != 0) {
				/* not ours to read: leave it acknowledged, it will never parse */
				ready_msg(&rd, m);
				continue;
			}
			if (strcmp(node, c->node) == 0) {
				elog_record_clear(&r);
				free(node);
				ready_msg(&rd, m);
				continue;
			}
			ns = node_get(&nodes, &nnodes, node);
			free(node);
			last = chain_last(&rd, ns);
			if (id <= last) {
				/* committed already (a redelivery), or late after a give_up: the
				 * dedupe key stores it once either way, so it is never dropped */
				ready_rec(&rd, &r, ns, id);
				ready_msg(&rd, m);
			} else if (prev == 0 || prev == last || committed(st, ns->node, prev)) {
				ready_rec(&rd, &r, ns, id);
				ready_msg(&rd, m);
				release_chain(&rd, ns, id);
			} else {
				size_t k;

				for (k = 0; k < ns->nheld; k++)
					if (ns->held[k].id == id)
						break;
				if (k < ns->nheld) {   /* a redelivery of a held one */
					natsMsg_Destroy(ns->held[k].msg);
					ns->held[k].msg = m;
					elog_record_clear(&r);
					continue;
				}
				if (ns->nheld == ns->capheld) {
					ns->capheld = ns->capheld ? ns->capheld * 2 : 64;
					ns->held = xrealloc(ns->held, ns->capheld * sizeof(*ns->held));
				}
				ns->held[ns->nheld].id = id;
				ns->held[ns->nheld].prev = prev;
				ns->held[ns->nheld].rec = r;
				ns->held[ns->nheld].msg = m;
				if (!ns->nheld)
					ns->held_since = elog_mono_ns();
				ns->nheld++;
			}
		}
		natsMsgList_Destroy(&list);
		/* held too long or too many: give up on the missing predecessor */
		nheld_total = 0;
		for (i = 0; i < nnodes; i++)
			nheld_total += nodes[i]->nheld;
		for (i = 0; i < nnodes; i++)
			while (nodes[i]->nheld &&
			       (elog_mono_ns() - nodes[i]->held_since > ELOG_CLUSTER_HOLD_NS ||
				nheld_total > 2 * ELOG_CLUSTER_HOLD)) {
				size_t before = nodes[i]->nheld;

				give_up(c, &rd, nodes[i]);
				nheld_total -= before - nodes[i]->nheld;
			}
		if (rd.nmsgs) {
			size_t stored = 0;
			int rc = 0;

			if (rd.nrecs)
				rc = elog_hub_submit_wait(c->o.hub, rd.recs, rd.nrecs, &stored, &err);
			if (rc == 0) {
				for (i = 0; i < rd.nrecs; i++)
					if (rd.last[i].id > rd.last[i].ns->last)
						rd.last[i].ns->last = rd.last[i].id;
				for (i = 0; i < rd.nmsgs; i++)
					natsMsg_Ack(rd.msgs[i], NULL);
				pthread_mutex_lock(&c->mu);
				c->aggregated += stored;
				pthread_mutex_unlock(&c->mu);
			} else {
				report(c, "cluster: aggregator cannot commit: %s", err.msg);
			}
			for (i = 0; i < rd.nrecs; i++)
				elog_record_clear(&rd.recs[i]);
			for (i = 0; i < rd.nmsgs; i++)
				natsMsg_Destroy(rd.msgs[i]);
			rd.nrecs = rd.nmsgs = 0;
			if (rc != 0)
				pause_ns(c, 1000 * NS_MS);
		}
	}
	for (i = 0; i < nnodes; i++) {
		size_t k;

		for (k = 0; k < nodes[i]->nheld; k++) {
			elog_record_clear(&nodes[i]->held[k].rec);
			natsMsg_Destroy(nodes[i]->held[k].msg);
		}
		free(nodes[i]->held);
		free(nodes[i]->node);
		free(nodes[i]);
	}
	free(nodes);
	free(rd.recs);
	free(rd.msgs);
	free(rd.last);
	natsSubscription_Destroy(sub);
	cluster_disconnect(&nc, &js);
	elog_store_close(st);
	free(durable);
	return NULL;
}

/* ---- lifecycle ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int elog_cluster_start(struct elog_cluster **out, const struct elog_cluster_opts *o,
		       struct elog_err *err)
{
	struct elog_cluster *c;
	struct elog_buf t = ELOG_BUF_INIT;
	char *p, *save = NULL;

	*out = NULL;
	if (!o->node || !*o->node)
		return elog_err_set(err, ELOG_EUSAGE, "--node: a node name is needed");
	if (strlen(o->node) > 256)
		return elog_err_set(err, ELOG_EUSAGE, "--node '%.32s...' is longer than the limit "
				    "of 256 bytes (node name)", o->node);
	if (!elog_utf8_valid(o->node, strlen(o->node)) || strchr(o->node, '/'))
		return elog_err_set(err, ELOG_EUSAGE, "--node '%s': a name in UTF-8 without '/'",
				    o->node);
	if (o->aggregate && !o->hub)
		return elog_err_set(err, ELOG_EUSAGE, "--aggregate needs the hub");
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->servers_buf = xstrdup(o->servers);
	for (p = strtok_r(c->servers_buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (!*p)
			continue;
		if (strncmp(p, "nats://", 7) != 0 && strncmp(p, "tls://", 6) != 0) {
			elog_err_set(err, ELOG_EUSAGE, "--cluster '%s': each server is "
				     "nats://HOST:PORT (or tls://HOST:PORT)", p);
			free(c->servers);
			free(c->servers_buf);
			free(c);
			return ELOG_EUSAGE;
		}
		c->servers = xrealloc(c->servers, (size_t)(c->nservers + 1) * sizeof(*c->servers));
		c->servers[c->nservers++] = p;
	}
	if (!c->nservers) {
		free(c->servers_buf);
		free(c);
		return elog_err_set(err, ELOG_EUSAGE, "--cluster: no server given");
	}
	c->node = xstrdup(o->node);
	c->stream = xstrdup(o->stream && *o->stream ? o->stream : "ELOG");
	c->creds = dup_or_null(o->creds_file);
	c->user = dup_or_null(o->user);
	c->password = dup_or_null(o->password);
	c->token = dup_or_null(o->token);
	c->ca = dup_or_null(o->ca_file);
	c->db_path = xstrdup(o->db_path);
	elog_cluster_token(&t, c->node);
	c->node_token = elog_buf_detach(&t);
	pthread_mutex_init(&c->mu, NULL);
	elog_cond_init(&c->cv);
	if (pthread_create(&c->pub_thread, NULL, publisher, c) == 0)
		c->pub_started = 1;
	if (o->aggregate && pthread_create(&c->agg_thread, NULL, aggregator, c) == 0)
		c->agg_started = 1;
	*out = c;
	return 0;
}

void elog_cluster_stop(struct elog_cluster *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->agg_started)
		pthread_join(c->agg_thread, NULL);
	if (c->pub_started)
		pthread_join(c->pub_thread, NULL);
	nats_CloseAndWait(2000);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->servers);
	free(c->servers_buf);
	free(c->node);
	free(c->node_token);
	free(c->stream);
	free(c->creds);
	free(c->user);
	free(c->password);
	free(c->token);
	free(c->ca);
	free(c->db_path);
	free(c);
}

void elog_cluster_stats(struct elog_cluster *c, struct elog_cluster_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	st->connected = c->connected;
	st->cursor = c->cursor;
	st->behind = c->behind;
	st->behind_ns = c->behind_ns;
	st->published = c->published;
	st->aggregated = c->aggregated;
	st->gaps = c->gaps;
	pthread_mutex_unlock(&c->mu);
}
