/*
 * client.c — sender and reader over elog.v1.Hub (see client.h).
 *
 * The sender sends batches from the caller's thread and receives acknowledgements on a
 * thread of its own, so the stream stays full: up to WINDOW batches may await their ack.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "client/client.h"
#include "common/err.h"
#include "common/util.h"
#include "common/wire.h"
#include "elog.pb-c.h"
#include "ingestion.pb-c.h"

#define WINDOW 16

struct elog_sender {
	struct rpc_channel *ch;
	struct rpc_ccall *call;
	pthread_t acker;
	int acker_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t sent_seq, acked_seq;
	int ended;          /* ack stream over */
	int recv_rc;
	char *target;
	void (*notify)(void *ctx);   /* after each acknowledgement and at the end (acker thread) */
	void *notify_ctx;
};

static void *acker_main(void *arg)
{
	struct elog_sender *s = arg;

	for (;;) {
		ProtobufCMessage *m;
		int rc = rpc_ccall_recv(s->call, &elog__v1__ingest_ack__descriptor, &m, 0);

		if (rc != 1) {
			pthread_mutex_lock(&s->mu);
			s->ended = 1;
			s->recv_rc = rc;
			pthread_cond_broadcast(&s->cv);
			pthread_mutex_unlock(&s->mu);
			if (s->notify)
				s->notify(s->notify_ctx);
			return NULL;
		}
		pthread_mutex_lock(&s->mu);
		s->acked_seq = ((Elog__V1__IngestAck *)m)->seq;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		protobuf_c_message_free_unpacked(m, NULL);
		if (s->notify)
			s->notify(s->notify_ctx);
	}
}

/* The call's final status as an error naming the server (rpc_status_error). */
static int status_error(struct rpc_ccall *call, const char *target, const char *dflt,
			struct elog_err *err)
{
	char *details = NULL;
	int st = rpc_ccall_finish(call, &details);
	int code = rpc_status_error(st, details, target, dflt, err);

	free(details);
	return code;
}

int elog_sender_open(struct elog_sender **out, const char *target, const struct rpc_client_opts *o,
		     int64_t connect_timeout_ns, struct elog_err *err)
{
	return elog_sender_open_notify(out, target, o, connect_timeout_ns, NULL, NULL, err);
}

int elog_sender_open_notify(struct elog_sender **out, const char *target,
			    const struct rpc_client_opts *o, int64_t connect_timeout_ns,
			    void (*notify)(void *ctx), void *ctx, struct elog_err *err)
{
	struct elog_sender *s = xcalloc(1, sizeof(*s));
	int rc;

	s->target = xstrdup(target);
	s->notify = notify;
	s->notify_ctx = ctx;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	rc = rpc_channel_open(&s->ch, target, o, err);
	if (rc == 0)
		rc = rpc_channel_wait_ready(s->ch, connect_timeout_ns, err);
	if (rc == 0)
		rc = rpc_ccall_start(&s->call, s->ch, "/elog.v1.Hub/Ingest", 0, err);
	if (rc == 0) {
		if (pthread_create(&s->acker, NULL, acker_main, s) != 0)
			rc = elog_err_set(err, ELOG_EFAIL, "cannot start a thread");
		else
			s->acker_started = 1;
	}
	if (rc) {
		elog_sender_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int elog_sender_send(struct elog_sender *s, const struct elog_record *recs, size_t n,
		     struct elog_err *err)
{
	struct elog_buf msg = ELOG_BUF_INIT;
	uint64_t seq;
	size_t i;
	int rc;

	pthread_mutex_lock(&s->mu);
	while (!s->ended && s->sent_seq - s->acked_seq >= WINDOW)
		pthread_cond_wait(&s->cv, &s->mu);
	rc = s->ended;
	seq = ++s->sent_seq;
	pthread_mutex_unlock(&s->mu);
	if (!rc) {
		/* elog.v1.RecordBatch encoded by hand (wire.h): protobuf-c's packing was a tenth
		 * of `elog send`'s CPU */
		elog_wire_put_varint_field(&msg, 1, seq);
		for (i = 0; i < n; i++)
			elog_wire_put_batch_record(&msg, &recs[i]);
		rc = rpc_ccall_send_raw(s->call, msg.data ? msg.data : "", msg.len);
	}
	elog_buf_release(&msg);
	if (rc) {
		pthread_mutex_lock(&s->mu);
		while (!s->ended)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		return status_error(s->call, s->target, "stream ended early", err);
	}
	return 0;
}

int elog_sender_finish(struct elog_sender *s, struct elog_err *err)
{
	char *details = NULL;
	int st, complete;

	rpc_ccall_close_send(s->call);
	pthread_mutex_lock(&s->mu);
	while (!s->ended)
		pthread_cond_wait(&s->cv, &s->mu);
	complete = s->acked_seq == s->sent_seq;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->acker, NULL);
	s->acker_started = 0;
	st = rpc_ccall_finish(s->call, &details);
	if (st != RPC_OK) {
		int code = rpc_status_error(st, details, s->target, "no details", err);

		free(details);
		return code;
	}
	free(details);
	if (!complete)
		return elog_err_set(err, ELOG_EFAIL, "server '%s': ended the stream before "
				    "acknowledging everything", s->target);
	return 0;
}

uint64_t elog_sender_acked_seq(struct elog_sender *s, int *ended)
{
	uint64_t n;

	pthread_mutex_lock(&s->mu);
	n = s->acked_seq;
	if (ended)
		*ended = s->ended;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void elog_sender_free(struct elog_sender *s)
{
	if (!s)
		return;
	if (s->call && s->acker_started) {
		rpc_ccall_cancel(s->call);
		pthread_join(s->acker, NULL);
	}
	rpc_ccall_free(s->call);
	rpc_channel_close(s->ch);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s->target);
	free(s);
}

/* ---- reader ---------------------------------------------------------------------------- */

struct elog_reader {
	struct rpc_channel *ch;
	struct rpc_ccall *call;
	char *target;
	struct elog_buf page;        /* the last page received, reused */
	struct elog_buf scratch;     /* the page's decoded record views */
	int64_t removed_before;      /* said by the server, not yet taken */
};

int elog_reader_open(struct elog_reader **out, const char *target, const struct rpc_client_opts *o,
		     const struct elog_filter *f, int follow, int64_t connect_timeout_ns,
		     struct elog_err *err)
{
	struct elog_reader *r = xcalloc(1, sizeof(*r));
	Elog__V1__Query q = ELOG__V1__QUERY__INIT;
	int32_t levels[ELOG_LEVEL_COUNT];
	size_t nl = 0;
	int i, rc;

	r->target = xstrdup(target);
	for (i = 0; i < ELOG_LEVEL_COUNT; i++)
		if (f->level_mask & (1u << i))
			levels[nl++] = i;
	q.components = f->components;
	q.n_components = f->ncomponents;
	q.levels = levels;
	q.n_levels = nl;
	q.since_ns = f->since_ns;
	q.until_ns = f->until_ns;
	q.pattern = f->pattern ? f->pattern : (char *)"";
	/* The later fields (elog.proto): an older server must refuse them, not ignore them. */
	if (f->pattern || f->xpattern || f->nxcomponents || f->tail) {
		q.pattern = (char *)ELOG_QUERY_V2_SENTINEL;
		q.grep = f->pattern ? f->pattern : (char *)"";
		q.exclude_pattern = f->xpattern ? f->xpattern : (char *)"";
		q.exclude_components = f->xcomponents;
		q.n_exclude_components = f->nxcomponents;
		q.tail = f->tail;
	}
	q.after_id = f->after_id > 0 ? (uint64_t)f->after_id : 0;
	q.limit = f->limit;
	q.follow = follow;
	rc = rpc_channel_open(&r->ch, target, o, err);
	if (rc == 0)
		rc = rpc_channel_wait_ready(r->ch, connect_timeout_ns, err);
	if (rc == 0)
		rc = rpc_ccall_start(&r->call, r->ch, "/elog.v1.Hub/Read", 0, err);
	if (rc == 0 && (rpc_ccall_send(r->call, &q.base) != 0 || rpc_ccall_close_send(r->call) != 0))
		rc = status_error(r->call, target, "stream ended early", err);
	if (rc) {
		elog_reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int elog_reader_next(struct elog_reader *r, int (*fn)(void *ctx, const struct elog_record *rec),
		     void *ctx, int *live, uint64_t *missed, int64_t *missed_from,
		     int64_t *missed_to, int64_t timeout_ns, struct elog_err *err)
{
	struct elog_wire_page info;
	int rc;

	rc = rpc_ccall_recv_bytes(r->call, &r->page, timeout_ns);
	if (rc == 2)
		return 2;
	if (rc == 0) {
		char *details = NULL;
		int st = rpc_ccall_finish(r->call, &details);

		if (st == RPC_OK) {
			free(details);
			return 0;
		}
		rc = rpc_status_error(st, details, r->target, "no details", err);
		free(details);
		return rc;
	}
	if (rc < 0)
		return status_error(r->call, r->target, "stream ended early", err);
	/* Decoded in place (wire.c): the page is checked whole before the first record. */
	elog_buf_grow(&r->page, 1);          /* page[len] is written */
	rc = elog_wire_read_page(r->page.data, r->page.len, &r->scratch, &info, fn, ctx);
	if (rc == -1)
		return elog_err_set(err, ELOG_EFAIL, "server '%s': undecodable page", r->target);
	*live = info.live;
	*missed = info.missed;
	*missed_from = (int64_t)info.missed_from;
	*missed_to = (int64_t)info.missed_to;
	if (info.removed_before)
		r->removed_before = info.removed_before > (uint64_t)INT64_MAX ? INT64_MAX :
				    (int64_t)info.removed_before;
	return rc ? rc : 1;
}

int64_t elog_reader_take_removed(struct elog_reader *r)
{
	int64_t v = r->removed_before;

	r->removed_before = 0;
	return v;
}

void elog_reader_free(struct elog_reader *r)
{
	if (!r)
		return;
	rpc_ccall_free(r->call);
	rpc_channel_close(r->ch);
	elog_buf_release(&r->page);
	elog_buf_release(&r->scratch);
	free(r->target);
	free(r);
}

/* ---- resuming reader ------------------------------------------------------------------- */

#define RESUME_BACKOFF_MIN_NS (100 * 1000000LL)
#define RESUME_BACKOFF_MAX_NS (2000 * 1000000LL)
#define RESUME_CONNECT_NS (1000 * 1000000LL)   /* per attempt while reconnecting */

struct elog_resumer {
	struct elog_reader *r;          /* NULL while reconnecting */
	char *target;
	const struct rpc_client_opts *o;
	struct elog_filter f;           /* shallow copy: after_id and limit change on resume */
	int follow;
	int64_t last_id;
	int64_t backoff, next_try;
	void (*event)(void *ctx, int ev, const struct elog_err *err);
	void *ev_ctx;
	int (*fn)(void *ctx, const struct elog_record *rec);   /* during elog_resumer_next */
	void *fn_ctx;
	int64_t removed_before;         /* taken from the readers */
};

static int resume_fn(void *ctx, const struct elog_record *rec)
{
	struct elog_resumer *rs = ctx;

	if (rec->id > rs->last_id)
		rs->last_id = rec->id;
	return rs->fn(rs->fn_ctx, rec);
}

int elog_resumer_open(struct elog_resumer **out, const char *target,
		      const struct rpc_client_opts *o, const struct elog_filter *f, int follow,
		      int64_t connect_timeout_ns,
		      void (*event)(void *ctx, int ev, const struct elog_err *err), void *ev_ctx,
		      struct elog_err *err)
{
	struct elog_resumer *rs = xcalloc(1, sizeof(*rs));
	int rc;

	rs->f = *f;
	rs->o = o;
	rs->follow = follow;
	rs->event = event;
	rs->ev_ctx = ev_ctx;
	rs->last_id = f->after_id > 0 ? f->after_id : 0;
	rs->backoff = RESUME_BACKOFF_MIN_NS;
	rc = elog_reader_open(&rs->r, target, o, f, follow, connect_timeout_ns, err);
	if (rc) {
		free(rs);
		return rc;
	}
	rs->target = xstrdup(target);
	*out = rs;
	return 0;
}

static void nap_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	if (ns > 0)
		nanosleep(&ts, NULL);
}

int elog_resumer_next(struct elog_resumer *rs,
		      int (*fn)(void *ctx, const struct elog_record *rec), void *ctx, int *live,
		      uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		      int64_t timeout_ns, struct elog_err *err)
{
	int64_t deadline = timeout_ns > 0 ? elog_mono_ns() + timeout_ns : 0;

	rs->fn = fn;
	rs->fn_ctx = ctx;
	for (;;) {
		int64_t now = elog_mono_ns();
		int rc;

		if (!rs->r) {
			struct elog_err e;

			if (deadline && now >= deadline)
				return 2;
			if (now < rs->next_try) {
				int64_t w = rs->next_try - now;

				if (deadline && deadline - now < w)
					w = deadline - now;
				nap_ns(w);
				continue;
			}
			rs->f.after_id = rs->last_id;
			rs->f.limit = 0;
			rs->f.tail = 0;
			elog_err_clear(&e);
			rc = elog_reader_open(&rs->r, rs->target, rs->o, &rs->f, rs->follow,
					      RESUME_CONNECT_NS, &e);
			if (rc == ELOG_EUNAVAIL) {
				rs->r = NULL;
				rs->next_try = elog_mono_ns() + rs->backoff;
				rs->backoff = rs->backoff * 2 > RESUME_BACKOFF_MAX_NS
					      ? RESUME_BACKOFF_MAX_NS : rs->backoff * 2;
				continue;
			}
			if (rc) {
				rs->r = NULL;
				if (err)
					*err = e;
				return rc;
			}
			rs->backoff = RESUME_BACKOFF_MIN_NS;
			if (rs->event)
				rs->event(rs->ev_ctx, ELOG_RESUME_BACK, NULL);
		}
		now = elog_mono_ns();
		if (deadline && now >= deadline)
			return 2;
		rc = elog_reader_next(rs->r, resume_fn, rs, live, missed, missed_from, missed_to,
				      deadline ? deadline - now : 0, err);
		if (rs->r->removed_before)
			rs->removed_before = elog_reader_take_removed(rs->r);
		if (rc == ELOG_EUNAVAIL && rs->follow) {
			if (rs->event)
				rs->event(rs->ev_ctx, ELOG_RESUME_LOST, err);
			elog_reader_free(rs->r);
			rs->r = NULL;
			rs->next_try = 0;            /* the first attempt at once */
			continue;
		}
		return rc;
	}
}

int64_t elog_resumer_take_removed(struct elog_resumer *rs)
{
	int64_t v = rs->removed_before;

	rs->removed_before = 0;
	return v;
}

void elog_resumer_free(struct elog_resumer *rs)
{
	if (!rs)
		return;
	elog_reader_free(rs->r);
	free(rs->target);
	free(rs);
}

static int components(const char *target, const struct rpc_client_opts *o, char ***names,
		      size_t *n, int64_t timeout_ns, int ordered, struct elog_err *err)
{
	Elog__V1__ComponentsRequest req = ELOG__V1__COMPONENTS_REQUEST__INIT;
	struct rpc_channel *ch;
	ProtobufCMessage *resp;
	size_t i;
	int st;

	*names = NULL;
	*n = 0;
	if (rpc_channel_open(&ch, target, o, err))
		return ELOG_EFAIL;
	st = rpc_unary(ch, "/elog.v1.Hub/Components", &req.base,
		       &elog__v1__component_list__descriptor, &resp, timeout_ns, err);
	if (st == RPC_OK) {
		Elog__V1__ComponentList *l = (Elog__V1__ComponentList *)resp;

		char **v = l->names;
		size_t k = l->n_names;

		if (ordered && l->n_first_seen) {
			v = l->first_seen;
			k = l->n_first_seen;
		}
		*names = xcalloc(k + 1, sizeof(char *));
		for (i = 0; i < k; i++)
			(*names)[i] = xstrdup(v[i]);
		*n = k;
		protobuf_c_message_free_unpacked(resp, NULL);
	}
	rpc_channel_close(ch);
	return st == RPC_OK ? 0 : (err->code ? err->code : ELOG_EFAIL);
}

int elog_client_components(const char *target, const struct rpc_client_opts *o, char ***names,
			   size_t *n, int64_t timeout_ns, struct elog_err *err)
{
	return components(target, o, names, n, timeout_ns, 0, err);
}

int elog_client_components_ordered(const char *target, const struct rpc_client_opts *o,
				   char ***names, size_t *n, int64_t timeout_ns,
				   struct elog_err *err)
{
	return components(target, o, names, n, timeout_ns, 1, err);
}

int elog_client_validate_key(const char *target, const struct rpc_client_opts *o, const char *key,
			     int *valid, int64_t timeout_ns, struct elog_err *err)
{
	Ingestion__ValidateApiKeyRequest req = INGESTION__VALIDATE_API_KEY_REQUEST__INIT;
	Ingestion__ValidateApiKeyResponse *resp = NULL;
	struct rpc_channel *ch = NULL;
	int rc, st;

	*valid = 0;
	rc = rpc_channel_open(&ch, target, o, err);
	if (rc == 0)
		rc = rpc_channel_wait_ready(ch, timeout_ns, err);
	if (rc == 0) {
		req.api_key = (char *)key;
		st = rpc_unary(ch, "/ingestion.InternalAuthService/ValidateApiKey", &req.base,
			       &ingestion__validate_api_key_response__descriptor,
			       (ProtobufCMessage **)&resp, timeout_ns, err);
		if (st != RPC_OK)
			rc = err->code ? err->code : ELOG_EFAIL;
		else
			*valid = resp->is_valid;
	}
	if (resp)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	rpc_channel_close(ch);
	return rc;
}
