/*
 * cluster_publish.c — the --cluster publisher: reads the history after its cursor and
 * publishes each record to JetStream (acked asynchronously), saving the cursor as acks come.
 */
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbound/cluster_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "common/record.h"
#include "common/util.h"
#include "hub/hub.h"
#include "store/store.h"

#define READ_BATCH 512                 /* records read from the history at a time */
#define READ_BYTES (4u << 20)          /* ... or this many bytes of them */
#define POLL_NS (5 * NS_MS)            /* idle publisher: look for new records this often */
#define SAVE_NS (200 * NS_MS)          /* the cursor is saved at most this often */
#define LAG_COUNT_CAP 100000           /* lag: records counted exactly up to this many */

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

/* ---- publisher ---- */

static int64_t msg_id_of(natsMsg *msg)
{
	const char *v = NULL, *slash;

	if (!msg || natsMsgHeader_Get(msg, "Nats-Msg-Id", &v) != NATS_OK || !v)
		return 0;
	slash = strrchr(v, '/');
	return slash ? strtoll(slash + 1, NULL, 10) : 0;
}

static int64_t advance_locked(struct elog_cluster *c);

/*
 * The ack handler (a library thread): marks the entry, moves the cursor over the acknowledged
 * head of the ring, and wakes the publisher only when that matters to it (a failure, nothing
 * pending any more, or room for a batch it waits for): one wake-up per ack cost more than the
 * publishing.
 */
void cluster__pub_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
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

		if (e->state == 0 && c->npending)
			c->npending--;
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
	advance_locked(c);
	if (c->failed || !c->npending ||
	    (c->room_wait && ELOG_CLUSTER_WINDOW - c->count >= READ_BATCH))
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
		c->npending++;
	}
	pthread_mutex_unlock(&c->mu);
	jsPubOptions_Init(&po);
	po.MaxWait = ELOG_CLUSTER_ACK_WAIT_MS;
	s = js_PublishMsgAsync(js, &m, &po);
	natsMsg_Destroy(m);   /* a no-op when the library took it */
	if (s != NATS_OK) {
		pthread_mutex_lock(&c->mu);
		struct inflight *e = &c->ring[(c->head + c->count - 1) % ELOG_CLUSTER_WINDOW];

		/* the library did not take it: unless its ack came meanwhile, no ack will */
		if (e->id == r->id && e->state == 0) {
			e->state = -1;
			if (c->npending)
				c->npending--;
		}
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
	c->npending = 0;
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

void *cluster__publisher(void *arg)
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
	while (!cluster__is_stopping(c)) {
		if (!st) {
			if (elog_store_open(&st, c->db_path, 0, &err) != 0 ||
			    elog_store_cursor_get(st, ELOG_CLUSTER_CURSOR, &next, &err) != 0 ||
			    elog_store_cursor_get(st, ELOG_CLUSTER_CURSOR_LAST, &prev, &err) != 0) {
				cluster__report(c, "cluster: cannot read the history: %s", err.msg);
				elog_store_close(st);
				st = NULL;
				cluster__pause_ns(c, 1000 * NS_MS);
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
			if (cluster__connect(c, &nc, &js, 1, why, sizeof(why)) != 0) {
				if (!said_down)
					cluster__report(c, "cluster: cannot connect to '%s': %s (retrying; records "
					       "wait in the history)", c->o.servers, why);
				said_down = 1;
				cluster__pause_ns(c, backoff);
				backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
				continue;
			}
			ready = 0;
			c->max_payload = natsConnection_GetMaxPayload(nc) - 8192;
		}
		if (!ready) {
			if (cluster__ensure_stream(c, js, why, sizeof(why)) != 0) {
				if (!said_down)
					cluster__report(c, "cluster: stream '%s' not available: %s (retrying)",
					       c->stream, why);
				said_down = 1;
				cluster__pause_ns(c, backoff);
				backoff = backoff * 2 > 2000 * NS_MS ? 2000 * NS_MS : backoff * 2;
				continue;
			}
			ready = 1;
			backoff = 100 * NS_MS;
			if (said_down || !c->connected)
				cluster__report(c, "cluster: publishing to stream '%s' as node '%s'", c->stream,
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
				cluster__report(c, "cluster: publish failed: %s (resending from record %" PRId64
				       ")", e, c->cursor + 1);
			said_down = 1;
			next = drain(c, js);
			pthread_mutex_lock(&c->mu);
			prev = c->last_own;
			pthread_mutex_unlock(&c->mu);
			ready = 0;
			cluster__pause_ns(c, backoff);
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
			if (room < READ_BATCH) {
				/* the window is full: wait until acks made room for a whole batch
				 * (the ack handler wakes this; 100 ms bounds a lost wake-up) */
				int64_t until = elog_mono_after(100 * NS_MS);

				pthread_mutex_lock(&c->mu);
				c->room_wait = 1;
				while (!c->stopping && !c->failed && elog_mono_ns() < until &&
				       ELOG_CLUSTER_WINDOW - c->count < READ_BATCH)
					elog_cond_wait_until(&c->cv, &c->mu, until);
				c->room_wait = 0;
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
				cluster__pause_ns(c, POLL_NS);
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
				cluster__report(c, "cluster: cannot read the history: %s", err.msg);
				for (i = 0; i < b.n; i++)
					elog_record_clear(&b.recs[i]);
				cluster__pause_ns(c, 1000 * NS_MS);
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
	cluster__disconnect(&nc, &js);
	/* acks that come after this are for entries no longer tracked */
	pthread_mutex_lock(&c->mu);
	c->count = 0;
	c->npending = 0;
	pthread_mutex_unlock(&c->mu);
	elog_store_close(st);
	elog_buf_release(&subj);
	elog_buf_release(&payload);
	free(b.recs);
	free(b.foreign);
	return NULL;
}
