/*
 * http_conn.c — a web connection: its send queue (bounded, web_send waits), the messages a
 * client sent, and the worker thread that runs its request or socket. webint.h has the
 * contract the handlers (api.c, leadgen.c, otlphttp.c) use.
 */
#include "web/http_internal.h"

/* ---- connections ---- */

struct web_conn *http__conn_new(struct elog_web *w, enum web_kind kind)
{
	struct web_conn *c = xcalloc(1, sizeof(*c));

	c->w = w;
	c->kind = kind;
	c->clen = -1;
	elog_cond_init(&c->cv);
	return c;
}

static void chunks_free(struct web_chunk *ch)
{
	while (ch) {
		struct web_chunk *nx = ch->next;

		free(ch);
		ch = nx;
	}
}

static void conn_free(struct web_conn *c)
{
	chunks_free(c->out_head);
	chunks_free(c->in_head);
	free(c->body);
	pthread_cond_destroy(&c->cv);
	free(c);
}

/* Drops one reference; called with w->mu held. The last one takes c off the listener's
 * list (where the service thread finds the connections that have something to write). */
static void conn_unref_locked(struct web_conn *c)
{
	struct web_conn **pp;

	if (--c->refs > 0)
		return;
	for (pp = &c->w->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	conn_free(c);
}

/* The socket side is gone: the worker (if any) is told, the reference dropped. */
void http__conn_detach(struct elog_web *w, struct pss *p)
{
	struct web_conn *c = p->c;

	if (!c)
		return;
	p->c = NULL;
	pthread_mutex_lock(&w->mu);
	c->wsi = NULL;
	c->closed = 1;
	pthread_cond_broadcast(&c->cv);
	conn_unref_locked(c);
	pthread_mutex_unlock(&w->mu);
}

void http__enqueue_locked(struct web_conn *c, const char *data, size_t n)
{
	struct web_chunk *ch = xmalloc(sizeof(*ch) + n + 1);

	ch->next = NULL;
	ch->len = n;
	if (n)
		memcpy(ch->data, data, n);
	ch->data[n] = 0;
	if (c->out_tail)
		c->out_tail->next = ch;
	else
		c->out_head = ch;
	c->out_tail = ch;
	c->out_bytes += n;
}

static void wake(struct elog_web *w, struct web_conn *c)
{
	c->want_write = 1;
	lws_cancel_service(w->ctx);
}

void web_http_begin(struct web_conn *c, int status, const char *ctype, const char *disposition,
		    int64_t clen)
{
	pthread_mutex_lock(&c->w->mu);
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ctype);
	snprintf(c->disposition, sizeof(c->disposition), "%s", disposition ? disposition : "");
	c->clen = clen;
	pthread_mutex_unlock(&c->w->mu);
}

int web_gone(struct web_conn *c)
{
	int gone;

	pthread_mutex_lock(&c->w->mu);
	gone = c->closed || c->w->stopping;
	pthread_mutex_unlock(&c->w->mu);
	return gone;
}

int web_send(struct web_conn *c, const char *data, size_t n, int last)
{
	struct elog_web *w = c->w;

	pthread_mutex_lock(&w->mu);
	while (!c->closed && !w->stopping && c->out_bytes >= ELOG_WEB_SEND_QUEUE)
		elog_cond_wait_until(&c->cv, &w->mu, elog_mono_after(200 * NS_PER_MS));
	if (c->closed || w->stopping) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	http__enqueue_locked(c, data, n);
	if (last)
		c->finished = 1;
	wake(w, c);
	pthread_mutex_unlock(&w->mu);
	return 0;
}

int web_send_error(struct web_conn *c, int status, const char *msg)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int rc;

	elog_buf_adds(&b, "{\"error\":");
	elog_json_quote(&b, msg, strlen(msg));
	elog_buf_adds(&b, "}\n");
	web_http_begin(c, status, "application/json", NULL, (int64_t)b.len);
	rc = web_send(c, b.data, b.len, 1);
	elog_buf_release(&b);
	return rc;
}

int web_recv(struct web_conn *c, char **msg, size_t *n, int64_t timeout_ns)
{
	struct elog_web *w = c->w;
	int64_t deadline = elog_mono_after(timeout_ns);
	struct web_chunk *ch;

	pthread_mutex_lock(&w->mu);
	while (!c->closed && !w->stopping && !c->in_head)
		if (elog_cond_wait_until(&c->cv, &w->mu, deadline) == ETIMEDOUT)
			break;
	if (c->closed || w->stopping) {
		pthread_mutex_unlock(&w->mu);
		return -1;
	}
	ch = c->in_head;
	if (!ch) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	c->in_head = ch->next;
	if (!c->in_head)
		c->in_tail = NULL;
	c->in_n--;
	pthread_mutex_unlock(&w->mu);
	*n = ch->len;
	*msg = xmalloc(ch->len + 1);
	memcpy(*msg, ch->data, ch->len + 1);
	free(ch);
	return 1;
}

struct elog_hub *web_hub(struct web_conn *c)
{
	return c->w->o.hub;
}

struct elog_svc *web_svc(struct web_conn *c)
{
	return c->w->o.svc;
}

const char *web_db(struct web_conn *c)
{
	return c->w->o.db_path;
}

const char *web_arg(const struct web_args *a, const char *k)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->k[i], k) == 0)
			return a->v[i];
	return NULL;
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
	struct web_conn *c = arg;
	struct elog_web *w = c->w;

	switch (c->kind) {
	case WEB_API:
		web_api_run(c);
		break;
	case WEB_FOLLOW:
		web_follow_run(c);
		break;
	case WEB_LEADGEN:
		web_leadgen_run(c);
		break;
	case WEB_OTLP:
		web_otlp_run(c);
		break;
	}
	pthread_mutex_lock(&w->mu);
	/* a WebSocket whose worker ended is closed once what it queued has left */
	c->finished = 1;
	if (c->wsi)
		wake(w, c);
	w->nconns--;
	conn_unref_locked(c);
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the worker of c (bound to wsi, already in p->c). Returns 0, or -1 past
 * ELOG_WEB_MAX_CONNS or when no thread can be made (c is then freed and p->c cleared). */
int http__conn_start(struct elog_web *w, struct lws *wsi, struct pss *p, struct web_conn *c)
{
	pthread_attr_t at;
	pthread_t th;
	int rc;

	pthread_mutex_lock(&w->mu);
	if (w->nconns >= ELOG_WEB_MAX_CONNS || w->stopping) {
		pthread_mutex_unlock(&w->mu);
		conn_free(c);
		return -1;
	}
	c->wsi = wsi;
	c->refs = 2;
	c->next = w->conns;
	w->conns = c;
	w->nconns++;
	p->c = c;
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, WORKER_STACK);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, worker_main, c);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		w->conns = c->next;
		w->nconns--;
		p->c = NULL;
		pthread_mutex_unlock(&w->mu);
		conn_free(c);
		return -1;
	}
	pthread_mutex_unlock(&w->mu);
	return 0;
}

