/*
 * http_io.c — what the service thread writes and reads: HTTP headers and bodies from a
 * connection's queue, WebSocket frames both ways, and the WebSocket handshake's checks and
 * refusals (written as HTTP/1.1 responses by hand: libwebsockets 4.1 answers "HTTP/1.0" there).
 */
#include "web/http_internal.h"

/* ---- writing ---- */

static int write_headers(struct lws *wsi, struct web_conn *c)
{
	unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *q = start,
		      *end = buf + sizeof(buf) - 1;
	char disp[160];
	int status;
	int64_t clen;

	pthread_mutex_lock(&c->w->mu);
	status = c->status;
	clen = c->clen;
	pthread_mutex_unlock(&c->w->mu);
	if (lws_add_http_common_headers(wsi, (unsigned)status, c->ctype,
					clen < 0 ? LWS_ILLEGAL_HTTP_CONTENT_LEN : (lws_filepos_t)clen,
					&q, end))
		return -1;
#define ADD(name, val) \
	if (lws_add_http_header_by_name(wsi, (const unsigned char *)(name), \
					(const unsigned char *)(val), (int)strlen(val), &q, end)) \
		return -1
	ADD("x-content-type-options:", "nosniff");
	ADD("x-frame-options:", "DENY");
	/* same-origin, not no-referrer: with no-referrer Chrome sends "Origin: null" on the login
	 * form's POST, which the Origin check must refuse */
	ADD("referrer-policy:", "same-origin");
	ADD("cache-control:", "no-store");
	if (c->disposition[0]) {
		snprintf(disp, sizeof(disp), "%s", c->disposition);
		ADD("content-disposition:", disp);
	}
	if (c->location[0])
		ADD("location:", c->location);
	if (c->cookie[0])
		ADD("set-cookie:", c->cookie);
	if (c->close_after)
		ADD("connection:", "close");
#undef ADD
	if (lws_finalize_write_http_header(wsi, start, &q, end))
		return -1;
	c->headers_sent = 1;
	return 0;
}

/* Returns what the http__callback should return. */
int http__http_writable(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	static unsigned char buf[LWS_PRE + SLICE];   /* the service thread's only */
	struct web_conn *c = p->c;
	struct web_chunk *ch;
	size_t n = 0;
	int last = 0, more;

	if (!c)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (!c->headers_sent && !c->status) {
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	pthread_mutex_unlock(&w->mu);
	if (!c->headers_sent) {
		if (write_headers(wsi, c) != 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	pthread_mutex_lock(&w->mu);
	ch = c->out_head;
	if (ch) {
		n = ch->len - c->out_off;
		if (n > SLICE)
			n = SLICE;
		memcpy(buf + LWS_PRE, ch->data + c->out_off, n);
		c->out_off += n;
		if (c->out_off == ch->len) {
			c->out_head = ch->next;
			if (!c->out_head)
				c->out_tail = NULL;
			c->out_bytes -= ch->len;
			c->out_off = 0;
			free(ch);
			pthread_cond_broadcast(&c->cv);
		}
	}
	last = c->finished && !c->out_head;
	more = c->out_head != NULL;
	pthread_mutex_unlock(&w->mu);
	if (!ch && !last)
		return 0;
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) <
	    (int)n)
		return -1;
	if (last) {
		int close_after = c->close_after;

		http__conn_detach(w, p);
		if (close_after)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

int http__ws_writable(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	static unsigned char buf[LWS_PRE + SLICE];
	struct web_conn *c = p->c;
	struct web_chunk *ch;
	size_t n;
	int first, fin, more, done;

	if (!c)
		return 0;
	pthread_mutex_lock(&w->mu);
	ch = c->out_head;
	if (!ch) {
		done = c->finished;
		pthread_mutex_unlock(&w->mu);
		if (done) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
			return -1;
		}
		return 0;
	}
	n = ch->len - c->out_off;
	if (n > SLICE)
		n = SLICE;
	memcpy(buf + LWS_PRE, ch->data + c->out_off, n);
	first = c->out_off == 0;
	c->out_off += n;
	fin = c->out_off == ch->len;
	if (fin) {
		c->out_head = ch->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_bytes -= ch->len;
		c->out_off = 0;
		free(ch);
		pthread_cond_broadcast(&c->cv);
	}
	more = c->out_head != NULL || c->finished;
	pthread_mutex_unlock(&w->mu);
	if (lws_write(wsi, buf + LWS_PRE, n,
		      (enum lws_write_protocol)lws_write_ws_flags(LWS_WRITE_TEXT, first, fin)) <
	    (int)n)
		return -1;
	if (more || !fin)
		lws_callback_on_writable(wsi);
	return 0;
}

/* A message for the client straight from the service thread (never waits). */
static void ws_say(struct elog_web *w, struct lws *wsi, struct web_conn *c, const char *msg)
{
	pthread_mutex_lock(&w->mu);
	http__enqueue_locked(c, msg, strlen(msg));
	pthread_mutex_unlock(&w->mu);
	lws_callback_on_writable(wsi);
}

void http__ws_received(struct elog_web *w, struct lws *wsi, struct pss *p, const void *in,
			size_t len)
{
	struct web_conn *c = p->c;

	if (!c)
		return;
	if (!p->rx_too_big) {
		if (p->rx.len + len > ELOG_WEB_MAX_MESSAGE)
			p->rx_too_big = 1;
		else
			elog_buf_add(&p->rx, in, len);
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	if (c->kind != WEB_LEADGEN) {
		/* the follow socket takes nothing from the client */
	} else if (p->rx_too_big) {
		ws_say(w, wsi, c, "{\"type\":\"error\",\"request_id\":null,\"error\":\"message too "
		       "long: the limit is 65536 bytes\"}");
	} else {
		int full;

		pthread_mutex_lock(&w->mu);
		full = c->in_n >= WEB_MAX_PENDING_IN;
		if (!full) {
			struct web_chunk *ch = xmalloc(sizeof(*ch) + p->rx.len + 1);

			ch->next = NULL;
			ch->len = p->rx.len;
			if (p->rx.len)
				memcpy(ch->data, p->rx.data, p->rx.len);
			ch->data[p->rx.len] = 0;
			if (c->in_tail)
				c->in_tail->next = ch;
			else
				c->in_head = ch;
			c->in_tail = ch;
			c->in_n++;
			pthread_cond_broadcast(&c->cv);
		}
		pthread_mutex_unlock(&w->mu);
		if (full)
			ws_say(w, wsi, c, "{\"type\":\"error\",\"request_id\":null,\"error\":\"too "
			       "many requests waiting: the limit is 16 a connection\"}");
	}
	elog_buf_reset(&p->rx);
	p->rx_too_big = 0;
}

/* Refuses a WebSocket handshake with status and a JSON body. libwebsockets' own status
 * answer says "HTTP/1.0" at this point of the request (its version is not parsed yet), which
 * WebSocket clients refuse to read, so the answer is written here as it is. Returns 1 (the
 * http__callback's "answered"). */
int http__ws_refuse(struct lws *wsi, int status, const char *why)
{
	static unsigned char buf[LWS_PRE + 2048];
	struct elog_buf body = ELOG_BUF_INIT;
	const char *reason = status == 400 ? "Bad Request" : status == 401 ? "Unauthorized" :
			     status == 403 ? "Forbidden" : status == 404 ? "Not Found" :
			     status == 421 ? "Misdirected Request" : "Service Unavailable";
	int n;

	elog_buf_adds(&body, "{\"error\":");
	elog_json_quote(&body, why, strlen(why));
	elog_buf_adds(&body, "}\n");
	n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		     "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n"
		     "connection: close\r\n\r\n%s", status, reason, body.len, body.data);
	elog_buf_release(&body);
	if (n > 0 && (size_t)n < sizeof(buf) - LWS_PRE)
		lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP_HEADERS);
	return 1;
}

/* The handshake of a WebSocket: which endpoint, and the checks. 0 to go on, else 1 after an
 * HTTP answer was written (libwebsockets then ends the request). The per-connection data is
 * made anew for the WebSocket after this (http__ws_filter keeps what it needs). */
int http__ws_confirm(struct elog_web *w, struct lws *wsi)
{
	char path[256];
	const char *why = NULL;
	struct web_args *a;
	int st, follow;

	http__hdr(wsi, WSI_TOKEN_GET_URI, path, sizeof(path));
	if (strcmp(path, "/") == 0) {
		follow = 0;
	} else if (strcmp(path, "/api/follow") == 0) {
		follow = 1;
	} else {
		return http__ws_refuse(wsi, 404, "no WebSocket endpoint here (/ and /api/follow)");
	}
	a = xmalloc(sizeof(*a));
	http__args_load(wsi, a);
	st = http__check_request(w, wsi, a, 1, &why);
	if (st == CHECK_OK && follow) {
		struct elog_filter f;
		struct elog_err err;

		elog_filter_init(&f);
		elog_err_clear(&err);
		if (web_filter_from_args(a, &f, &err) != 0) {
			elog_filter_clear(&f);
			free(a);
			http__ws_refuse(wsi, 400, err.msg);
			return 1;
		}
		elog_filter_clear(&f);
	}
	free(a);
	if (st != CHECK_OK) {
		http__ws_refuse(wsi, st, why);
		return 1;
	}
	pthread_mutex_lock(&w->mu);
	st = w->nconns >= ELOG_WEB_MAX_CONNS;
	pthread_mutex_unlock(&w->mu);
	if (st) {
		http__ws_refuse(wsi, 503, "too many connections: the limit is 256 requests "
				       "and sockets at once");
		return 1;
	}
	return 0;
}

/* The WebSocket's own per-connection data: its endpoint and arguments. */
int http__ws_filter(struct lws *wsi, struct pss *p)
{
	http__hdr(wsi, WSI_TOKEN_GET_URI, p->ws_path, sizeof(p->ws_path));
	p->ws_kind = strcmp(p->ws_path, "/") == 0 ? WEB_LEADGEN : WEB_FOLLOW;
	free(p->ws_args);
	p->ws_args = xmalloc(sizeof(*p->ws_args));
	http__args_load(wsi, p->ws_args);
	return 0;
}

int http__ws_established(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	struct web_conn *c;

	c = http__conn_new(w, p->ws_kind);
	snprintf(c->path, sizeof(c->path), "%s", p->ws_path);
	if (p->ws_args) {
		c->args = *p->ws_args;
		for (size_t i = 0; i < c->args.n; i++) {
			c->args.k[i] = c->args.buf + (p->ws_args->k[i] - p->ws_args->buf);
			c->args.v[i] = c->args.buf + (p->ws_args->v[i] - p->ws_args->buf);
		}
		free(p->ws_args);
		p->ws_args = NULL;
	}
	c->tls = lws_is_ssl(wsi);
	if (http__conn_start(w, wsi, p, c) != 0) {
		lws_close_reason(wsi, (enum lws_close_status)1013,
				 (unsigned char *)"too many connections", 20);
		return -1;
	}
	return 0;
}
