/*
 * http.c — the HTTP/WebSocket listener of serve (see web.h): libwebsockets on one service
 * thread, the route table, Host/Origin checks, API keys, the page's assets, and the send and
 * receive queues between the service thread and the workers (webint.h).
 *
 * libwebsockets was chosen because Debian ships it (libwebsockets-dev 4.1, with a static
 * archive), it does HTTP/1.1, WebSocket (RFC 6455: framing, fragmentation, close, ping) and TLS
 * through the OpenSSL serve already links, and it is an event loop that never calls back on
 * another thread, so everything it owns stays on the service thread here; the workers reach it
 * only through lws_cancel_service().
 */
#include "web/http_internal.h"

static struct elog_web *web_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- answers made on the service thread (assets, errors, login) ---- */

/* A response with its whole body now, written by the writable callbacks. */
static int respond(struct lws *wsi, struct pss *p, int status, const char *ctype,
		   const char *body, size_t n, const char *location, const char *cookie)
{
	struct elog_web *w = web_of(wsi);
	struct web_conn *c = http__conn_new(w, WEB_API);

	c->wsi = wsi;
	c->refs = 1;
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ctype);
	snprintf(c->location, sizeof(c->location), "%s", location ? location : "");
	snprintf(c->cookie, sizeof(c->cookie), "%s", cookie ? cookie : "");
	c->clen = (int64_t)n;
	pthread_mutex_lock(&w->mu);
	http__enqueue_locked(c, body, n);
	c->finished = 1;
	pthread_mutex_unlock(&w->mu);
	p->c = c;
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_error(struct lws *wsi, struct pss *p, int status, const char *msg)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int rc;

	elog_buf_adds(&b, "{\"error\":");
	elog_json_quote(&b, msg, strlen(msg));
	elog_buf_adds(&b, "}\n");
	rc = respond(wsi, p, status, "application/json", b.data, b.len, NULL, NULL);
	elog_buf_release(&b);
	return rc;
}

static const char login_page[] =
	"<!doctype html><html><head><meta charset=\"utf-8\"><title>elog: sign in</title>"
	"<meta name=\"viewport\" content=\"width=device-width\">"
	"<style>body{font-family:sans-serif;max-width:24em;margin:4em auto;padding:0 1em}"
	"input{width:100%%;padding:.5em;margin:.3em 0;box-sizing:border-box}"
	"@media(prefers-color-scheme:dark){body{background:#111;color:#ddd}}</style></head>"
	"<body><h1>elog</h1><p>This server needs an API key (<code>elog keys create NAME</code>)."
	"</p><form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" "
	"value=\"%s\"><label>API key <input type=\"password\" "
	"name=\"key\" autocomplete=\"current-password\" autofocus></label>"
	"<input type=\"submit\" value=\"Sign in\"></form>%s</body></html>\n";

/* Where to go after signing in: a path of this server made of plain characters (so it needs
 * no escaping in HTML or a header), else "/". */
static const char *safe_next(const char *next)
{
	size_t n = next ? strlen(next) : 0;

	if (n == 0 || n > 200 || next[0] != '/' || next[1] == '/' || next[1] == '\\' ||
	    strspn(next, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.-~?=&%,:+")
	    != n || strncmp(next, "/login", 6) == 0)
		return "/";
	return next;
}

static int respond_login(struct lws *wsi, struct pss *p, int failed, const char *next)
{
	char page[sizeof(login_page) + 400];
	int n = snprintf(page, sizeof(page), login_page, safe_next(next),
			 failed ? "<p role=\"alert\">That key was not accepted.</p>" : "");

	return respond(wsi, p, 200, "text/html; charset=utf-8", page, (size_t)n, NULL, NULL);
}

/* ---- routes: one row each ---- */

static int route_api(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		     struct web_args *a);
static int route_asset(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		       struct web_args *a);
static int route_post(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		      struct web_args *a);
static int route_login(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		       struct web_args *a);
static int route_otlp(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		      struct web_args *a);

struct route {
	const char *method;      /* "GET" or "POST" */
	const char *path;
	int prefix;              /* path is a prefix */
	int api;                 /* JSON errors, Origin checked */
	int open;                /* no API key needed (the login form itself) */
	int (*fn)(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		  struct web_args *a);
};

static const struct route routes[] = {
	{ "GET", "/api/components", 0, 1, 0, route_api },
	{ "GET", "/api/records", 0, 1, 0, route_api },
	{ "GET", "/api/context", 0, 1, 0, route_api },
	{ "GET", "/api/export", 0, 1, 0, route_api },
	{ "POST", "/login", 0, 0, 1, route_post },
	{ "GET", "/login", 0, 0, 1, route_login },   /* the form (the page goes here on a 401) */
	{ "POST", "/logout", 0, 0, 1, route_post },
	{ "POST", "/v1/logs", 0, 1, 0, route_otlp },     /* OTLP/HTTP (otlphttp.c) */
	{ "POST", "/v1/traces", 0, 1, 0, route_otlp },
	{ "GET", "/api/", 1, 1, 0, NULL },          /* any other /api/ path: 404 */
	{ "GET", "/", 1, 0, 0, route_asset },
};

static int route_api(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		     struct web_args *a)
{
	struct web_conn *c = http__conn_new(w, WEB_API);

	snprintf(c->path, sizeof(c->path), "%s", path);
	c->args = *a;
	/* the copied pointers point into a->buf: rebase them on c->args.buf */
	for (size_t i = 0; i < c->args.n; i++) {
		c->args.k[i] = c->args.buf + (a->k[i] - a->buf);
		c->args.v[i] = a->v[i] >= a->buf && a->v[i] < a->buf + sizeof(a->buf) ?
			       c->args.buf + (a->v[i] - a->buf) : "";
	}
	c->tls = lws_is_ssl(wsi);
	if (http__conn_start(w, wsi, p, c) != 0)
		return respond_error(wsi, p, 503, "too many connections: the limit is 256 "
				     "requests and sockets at once");
	return 0;
}

static int route_asset(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		       struct web_args *a)
{
	const struct elog_web_asset *as = elog_web_asset_find(path);

	(void)w;
	(void)a;
	if (!as)
		return respond_error(wsi, p, 404, "not found");
	return respond(wsi, p, 200, as->content_type, (const char *)as->data, as->len, NULL,
		       NULL);
}

static int route_post(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		      struct web_args *a)
{
	(void)w;
	(void)a;
	(void)wsi;
	p->post = strcmp(path, "/login") == 0 ? 1 : 2;
	elog_buf_reset(&p->body);
	p->body_too_big = 0;
	return 0;   /* the body follows */
}

/* OTLP/HTTP: the body follows (finish_otlp); the content type is looked at now. */
static int route_otlp(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		      struct web_args *a)
{
	char ct[128], ce[64];
	size_t l;

	(void)w;
	(void)a;
	p->post = strcmp(path, "/v1/traces") == 0 ? 4 : 3;
	http__hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct));
	l = strcspn(ct, "; \t");
	if (l == 22 && strncasecmp(ct, "application/x-protobuf", 22) == 0)
		p->otlp_ctype = 1;
	else if (l == 16 && strncasecmp(ct, "application/json", 16) == 0)
		p->otlp_ctype = 2;
	else
		p->otlp_ctype = 0;
	p->otlp_gzip = 0;
	if (http__hdr(wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING, ce, sizeof(ce)) && *ce) {
		if (strcasecmp(ce, "gzip") == 0)
			p->otlp_gzip = 1;
		else if (strcasecmp(ce, "identity") != 0)
			p->otlp_gzip = -1;
	}
	p->chunked = 0;
	p->ck_state = 0;
	p->ck_len = 0;
	p->ck_bad = 0;
	if (http__hdr(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, ce, sizeof(ce)) &&
	    strcasecmp(ce, "chunked") == 0)
		p->chunked = 1;
	elog_buf_reset(&p->body);
	p->body_too_big = 0;
	return 0;
}

/* Appends body bytes (the OTLP limit applies). */
static void body_add(struct pss *p, const char *in, size_t len)
{
	if (p->body.len + len > (p->post >= 3 ? ELOG_OTLP_HTTP_MAX_BODY : ELOG_WEB_MAX_BODY))
		p->body_too_big = 1;
	else if (!p->body_too_big)
		elog_buf_add(&p->body, in, len);
}

/* Decodes chunked bytes into the body; 1 once the last chunk and its trailer came. */
static int chunks_add(struct pss *p, const char *in, size_t len)
{
	size_t i = 0;

	while (i < len && p->chunked == 1) {
		if (p->ck_state == 1) {
			size_t k = len - i < p->ck_left ? len - i : (size_t)p->ck_left;

			body_add(p, in + i, k);
			i += k;
			p->ck_left -= k;
			if (!p->ck_left)
				p->ck_state = 2;
			continue;
		}
		/* a line: the size, the CRLF after data, or a trailer line */
		if (in[i] != '\n') {
			if (p->ck_len + 1 < sizeof(p->ck_line))
				p->ck_line[p->ck_len++] = in[i];
			else
				p->ck_bad = 1;
			i++;
			continue;
		}
		i++;
		if (p->ck_len && p->ck_line[p->ck_len - 1] == '\r')
			p->ck_len--;
		p->ck_line[p->ck_len] = 0;
		p->ck_len = 0;
		if (p->ck_state == 2) {
			if (p->ck_line[0])
				p->ck_bad = 1;
			p->ck_state = 0;
		} else if (p->ck_state == 0) {
			char *end;
			unsigned long long n = strtoull(p->ck_line, &end, 16);

			if (end == p->ck_line || (*end && *end != ';'))
				p->ck_bad = 1;
			if (p->ck_bad || n == 0) {
				p->ck_state = 3;
			} else {
				p->ck_left = n;
				p->ck_state = 1;
			}
		} else if (!p->ck_line[0]) {   /* the empty line ending the trailer */
			p->chunked = 2;
		}
	}
	return p->chunked == 2 || p->ck_bad;
}

static int route_login(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path,
		       struct web_args *a)
{
	(void)w;
	(void)path;
	return respond_login(wsi, p, 0, web_arg(a, "next"));
}

/* The value of field name in an application/x-www-form-urlencoded body, decoded. */
static int form_value(const char *body, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *s = body;

	while (s && *s) {
		if (strncmp(s, name, nl) == 0 && s[nl] == '=') {
			size_t o = 0;

			for (s += nl + 1; *s && *s != '&' && o + 1 < n; s++) {
				if (*s == '+')
					out[o++] = ' ';
				else if (*s == '%' && elog_hex_digit(s[1]) >= 0 && elog_hex_digit(s[2]) >= 0) {
					out[o++] = (char)(elog_hex_digit(s[1]) * 16 + elog_hex_digit(s[2]));
					s += 2;
				} else
					out[o++] = *s;
			}
			out[o] = 0;
			return 1;
		}
		s = strchr(s, '&');
		if (s)
			s++;
	}
	return 0;
}

static int finish_post(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	char key[ELOG_KEY_LINE_MAX + 8], cookie[256];
	const char *secure = lws_is_ssl(wsi) ? "; Secure" : "";
	static const char see[] = "see /\n";
	char next[256];
	const char *to;

	if (p->post == 2) {
		snprintf(cookie, sizeof(cookie), COOKIE_NAME "=; Path=/; Max-Age=0; HttpOnly; "
			 "SameSite=Strict%s", secure);
		return respond(wsi, p, 303, "text/plain", see, sizeof(see) - 1, "/", cookie);
	}
	if (p->body_too_big || !form_value(p->body.data ? p->body.data : "", "next", next,
					   sizeof(next)))
		next[0] = 0;
	to = safe_next(next);
	if (p->body_too_big || !form_value(p->body.data ? p->body.data : "", "key", key,
					   sizeof(key)))
		return respond_login(wsi, p, 1, to);
	if (!w->o.auth)
		return respond(wsi, p, 303, "text/plain", see, sizeof(see) - 1, to, NULL);
	if (!http__key_transport_ok(wsi, lws_is_ssl(wsi)))
		return respond_error(wsi, p, 403, "API keys are accepted only over TLS or from "
				     "this host");
	if (strlen(key) > 128 || strcspn(key, ";, \t\r\n\"") != strlen(key) || !http__key_ok(w, key))
		return respond_login(wsi, p, 1, to);
	snprintf(cookie, sizeof(cookie), COOKIE_NAME "=%.128s; Path=/; HttpOnly; SameSite=Strict%s",
		 key, secure);
	return respond(wsi, p, 303, "text/plain", see, sizeof(see) - 1, to, cookie);
}

static int finish_otlp1(struct elog_web *w, struct lws *wsi, struct pss *p);

/* The OTLP/HTTP body is complete: 415, 413, or the worker (otlphttp.c). */
static int finish_otlp(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	int rc = finish_otlp1(w, wsi, p);

	/* after a chunked body libwebsockets still waits for the rest of its 100 MiB: the
	 * connection cannot carry another request, so it closes after this answer */
	if (p->chunked && p->c)
		p->c->close_after = 1;
	return rc;
}

static int finish_otlp1(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	struct web_conn *c;

	if (p->otlp_ctype == 0)
		return respond_error(wsi, p, 415, "unsupported Content-Type: OTLP/HTTP takes "
				     "application/x-protobuf or application/json");
	if (p->otlp_gzip < 0)
		return respond_error(wsi, p, 415, "unsupported Content-Encoding: OTLP/HTTP takes "
				     "gzip or none");
	if (p->ck_bad)
		return respond_error(wsi, p, 400, "malformed chunked body");
	if (p->body_too_big)
		return respond_error(wsi, p, 413, "request body over 16777216 bytes (the OTLP/HTTP "
				     "body limit)");
	c = http__conn_new(w, WEB_OTLP);
	snprintf(c->path, sizeof(c->path), "%s", p->post == 4 ? "/v1/traces" : "/v1/logs");
	c->otlp_traces = p->post == 4;
	c->otlp_json = p->otlp_ctype == 2;
	c->otlp_gzip = p->otlp_gzip == 1;
	c->body = p->body.data;
	c->body_len = p->body.len;
	memset(&p->body, 0, sizeof(p->body));
	c->tls = lws_is_ssl(wsi);
	if (http__conn_start(w, wsi, p, c) != 0)
		return respond_error(wsi, p, 503, "too many connections: the limit is 256 "
				     "requests and sockets at once");
	return 0;
}

static int handle_http(struct elog_web *w, struct lws *wsi, struct pss *p, const char *path)
{
	struct web_args *a = xmalloc(sizeof(*a));
	const char *method = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0 ? "POST" : "GET";
	const struct route *r = NULL;
	const char *why = NULL;
	size_t i;
	int rc, st;

	http__args_load(wsi, a);
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t l = strlen(routes[i].path);

		if (strcmp(routes[i].method, method) != 0)
			continue;
		if (routes[i].prefix ? strncmp(path, routes[i].path, l) == 0 :
		    strcmp(path, routes[i].path) == 0) {
			r = &routes[i];
			break;
		}
	}
	if (!r) {
		rc = respond_error(wsi, p, strcmp(method, "GET") ? 405 : 404,
				   strcmp(method, "GET") ? "method not allowed" : "not found");
		goto out;
	}
	st = http__check_request(w, wsi, a, r->api || strcmp(method, "POST") == 0, &why);
	if (st == 401 && (r->open || !r->api)) {
		/* the page and its assets: the login form instead */
		if (r->open)
			rc = r->fn(w, wsi, p, path, a);
		else
			rc = respond_login(wsi, p, 0, path);
		goto out;
	}
	if (st != CHECK_OK) {
		rc = respond_error(wsi, p, st, why);
		goto out;
	}
	if (!r->fn) {
		rc = respond_error(wsi, p, 404, "not found");
		goto out;
	}
	rc = r->fn(w, wsi, p, path, a);
out:
	free(a);
	return rc;
}


static void pss_release(struct elog_web *w, struct pss *p)
{
	if (!p)
		return;
	http__conn_detach(w, p);
	elog_buf_release(&p->rx);
	elog_buf_release(&p->body);
	free(p->ws_args);
	p->ws_args = NULL;
}

int http__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct elog_web *w = web_of(wsi);
	struct pss *p = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!p)
			return -1;
		http__conn_detach(w, p);   /* a previous request of this connection */
		p->chunked = 0;
		p->ck_bad = 0;
		return handle_http(w, wsi, p, in ? (const char *)in : "/") ? -1 : 0;
	case LWS_CALLBACK_HTTP_BODY:
		if (p && p->post && p->chunked == 1) {
			if (chunks_add(p, in, len)) {   /* the body ends here */
				int rc = finish_otlp(w, wsi, p);

				p->post = 0;
				return rc ? -1 : 0;
			}
		} else if (p && p->post && !p->chunked) {
			body_add(p, in, len);
		}
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (p && p->post) {
			int rc = p->post >= 3 ? finish_otlp(w, wsi, p) : finish_post(w, wsi, p);

			p->post = 0;
			return rc ? -1 : 0;
		}
		return 0;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return p ? http__http_writable(w, wsi, p) : 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!in || strcmp((const char *)in, "websocket") != 0) {
			return http__ws_refuse(wsi, 400, "unsupported upgrade");
		}
		return http__ws_confirm(w, wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return p ? http__ws_filter(wsi, p) : -1;
	case LWS_CALLBACK_ESTABLISHED:
		return p ? http__ws_established(w, wsi, p) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return p ? http__ws_writable(w, wsi, p) : 0;
	case LWS_CALLBACK_RECEIVE:
		if (p)
			http__ws_received(w, wsi, p, in, len);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
		struct web_conn *c;

		pthread_mutex_lock(&w->mu);
		for (c = w->conns; c; c = c->next)
			if (c->want_write && c->wsi) {
				c->want_write = 0;
				lws_callback_on_writable(c->wsi);
			}
		pthread_mutex_unlock(&w->mu);
		return 0;
	}
	case LWS_CALLBACK_CLOSED:
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
	case LWS_CALLBACK_WSI_DESTROY:
		pss_release(w, p);
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "elog", http__callback, sizeof(struct pss), ELOG_WEB_MAX_MESSAGE, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* ---- lifetime ---- */

static struct elog_web *logging_web;   /* whose start is running (errors are kept) */

static void lws_log(int level, const char *line)
{
	const char *s;
	size_t n;

	if (!(level & LLL_ERR) || !logging_web)
		return;
	/* "[2024/..] E: ERROR on binding fd 5 to port 8765 (-1 98)" */
	s = strstr(line, "E: ");
	s = s ? s + 3 : line;
	n = strcspn(s, "\n");
	if (!logging_web->last_error[0] || strstr(s, "binding"))
		snprintf(logging_web->last_error, sizeof(logging_web->last_error), "%.*s", (int)n,
			 s);
}

/* "address already in use" from "... (-1 98)", else the line. */
static const char *bind_error(struct elog_web *w, char *buf, size_t n)
{
	const char *s = strrchr(w->last_error, ' ');
	int e;

	if (s && sscanf(s, " %d)", &e) == 1 && e > 0) {
		snprintf(buf, n, "%s", strerror(e));
		buf[0] = (char)(buf[0] >= 'A' && buf[0] <= 'Z' ? buf[0] - 'A' + 'a' : buf[0]);
		return buf;
	}
	return w->last_error[0] ? w->last_error : "cannot bind";
}

static void *service_main(void *arg)
{
	struct elog_web *w = arg;
	int stop = 0;

	while (!stop) {
		lws_service(w->ctx, 0);
		pthread_mutex_lock(&w->mu);
		stop = w->stopping;
		pthread_mutex_unlock(&w->mu);
	}
	return NULL;
}

static int split_addr(const char *addr, char *host, size_t hn, int *port)
{
	char p[32];
	char *end;
	long v;

	if (elog_target_split(addr, host, hn, p, sizeof(p)) != 0 || !*p)
		return -1;
	v = strtol(p, &end, 10);
	if (*end || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int elog_web_listen(struct elog_web **out, const struct elog_web_opts *o, struct elog_buf *bound,
		    struct elog_err *err)
{
	struct lws_context_creation_info info;
	struct elog_web *w = xcalloc(1, sizeof(*w));
	size_t i, nbound = 0;

	*out = NULL;
	w->o = *o;
	pthread_mutex_init(&w->mu, NULL);
	elog_cond_init(&w->cv);
	w->ls = xcalloc(o->naddrs ? o->naddrs : 1, sizeof(*w->ls));
	for (i = 0; i < o->naddrs; i++) {
		struct listener *l = &w->ls[i];

		if (split_addr(o->addrs[i], l->host, sizeof(l->host), &l->port) != 0) {
			elog_err_set(err, ELOG_EUSAGE, "invalid --http address '%s' (HOST:PORT)",
				     o->addrs[i]);
			goto fail;
		}
	}
	logging_web = w;
	lws_set_log_level(LLL_ERR, lws_log);
	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	if (o->tls_cert)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.user = w;
	info.max_http_header_data = ELOG_WEB_MAX_HEADERS;
	info.max_http_header_pool = ELOG_WEB_MAX_CONNS;
	info.fd_limit_per_thread = 0;
	w->ctx = lws_create_context(&info);
	if (!w->ctx) {
		elog_err_set(err, ELOG_EFAIL, "cannot start the HTTP listener: %s",
			     w->last_error[0] ? w->last_error : "libwebsockets failed");
		goto fail;
	}
	w->nls = o->naddrs;
	for (i = 0; i < o->naddrs; i++) {
		struct listener *l = &w->ls[i];
		char vname[32], why[128];
		const char *iface = l->host;

		memset(&info, 0, sizeof(info));
		snprintf(vname, sizeof(vname), "elog%zu", i);
		info.vhost_name = vname;
		info.port = l->port;
		if (!*iface || strcmp(iface, "0.0.0.0") == 0 || strcmp(iface, "::") == 0)
			iface = NULL;
		else if (strcmp(iface, "localhost") == 0)
			iface = "127.0.0.1";
		info.iface = iface;
		if (iface && strchr(iface, ':') == NULL)
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
		info.protocols = protocols;
		if (o->tls_cert)   /* a vhost without this option is not TLS */
			info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = o->tls_cert;
		info.ssl_private_key_filepath = o->tls_key;
		info.keepalive_timeout = 30;
		info.timeout_secs = 30;
		w->last_error[0] = 0;
		l->vh = lws_create_vhost(w->ctx, &info);
		if (!l->vh) {
			if (i == 0 && o->first_is_default) {
				char msg[400];

				snprintf(msg, sizeof(msg), "warning: cannot listen on '%s' for the web "
					 "view: %s; running without it (--http ADDR to choose "
					 "another address, --http none to turn it off)", o->addrs[i],
					 bind_error(w, why, sizeof(why)));
				if (o->report)
					o->report(o->report_ctx, msg);
				continue;
			}
			elog_err_set(err, ELOG_EFAIL, "cannot listen on '%s' (--http): %s",
				     o->addrs[i], bind_error(w, why, sizeof(why)));
			goto fail;
		}
		l->port = lws_get_vhost_listen_port(l->vh);
		nbound++;
		l->loopback = iface && (strncmp(iface, "127.", 4) == 0 || strcmp(iface, "::1") == 0);
		if (strchr(l->host, ':'))
			elog_buf_addf(bound, "%s://[%s]:%d\n", o->tls_cert ? "https" : "http",
				      l->host, l->port);
		else
			elog_buf_addf(bound, "%s://%s:%d\n", o->tls_cert ? "https" : "http",
				      *l->host ? l->host : "0.0.0.0", l->port);
	}
	logging_web = NULL;
	if (nbound == 0) {
		/* nothing bound (the default address was taken) */
		lws_context_destroy(w->ctx);
		free(w->ls);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return 0;
	}
	if (o->auth)
		w->kc = elog_keycheck_new(o->db_path);
	*out = w;
	return 0;
fail:
	logging_web = NULL;
	if (w->ctx)
		lws_context_destroy(w->ctx);
	elog_keycheck_free(w->kc);
	free(w->ls);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	return err ? err->code : ELOG_EFAIL;
}

int elog_web_run(struct elog_web *w, struct elog_hub *hub, struct elog_svc *svc,
		 struct elog_err *err)
{
	w->o.hub = hub;
	w->o.svc = svc;
	if (pthread_create(&w->th, NULL, service_main, w) != 0)
		return elog_err_set(err, ELOG_EFAIL, "cannot start the HTTP listener: no thread");
	w->running = 1;
	return 0;
}

void elog_web_stop(struct elog_web *w)
{
	struct web_conn *c;

	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	for (c = w->conns; c; c = c->next)
		pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&w->mu);
	if (w->running) {
		lws_cancel_service(w->ctx);
		pthread_join(w->th, NULL);
	}
	/* closes every socket: their callbacks detach the workers' connections */
	lws_context_destroy(w->ctx);
	pthread_mutex_lock(&w->mu);
	while (w->nconns > 0) {
		for (c = w->conns; c; c = c->next)
			pthread_cond_broadcast(&c->cv);
		elog_cond_wait_until(&w->cv, &w->mu, elog_mono_after(100 * NS_PER_MS));
	}
	pthread_mutex_unlock(&w->mu);
	elog_keycheck_free(w->kc);
	free(w->ls);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}

