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
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <libwebsockets.h>

#include "web/web.h"
#include "web/webint.h"
#include "web/assets.h"
#include "common/err.h"
#include "store/keys.h"

#define SLICE 32768                 /* bytes written per writable callback */
#define WEB_MAX_PENDING_IN 16       /* client messages a worker has not taken yet */
#define WORKER_STACK (512 * 1024)
#define COOKIE_NAME "elog_key"

struct web_chunk {
	struct web_chunk *next;
	size_t len;
	char data[];
};

struct listener {
	char host[128];   /* as given ("127.0.0.1", "::1", "localhost", "" or "0.0.0.0": any) */
	int port;
	int loopback;
	struct lws_vhost *vh;
};

struct elog_web {
	struct elog_web_opts o;
	struct lws_context *ctx;
	pthread_t th;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;            /* nworkers changed */
	int stopping;
	struct web_conn *conns;       /* those with a worker */
	size_t nconns;
	struct elog_keycheck *kc;
	struct listener *ls;
	size_t nls;
	char last_error[256];         /* libwebsockets' last error line while starting */
};

/* Per connection data of libwebsockets (user space): an HTTP connection (for each of its
 * requests in turn) or a WebSocket. Zeroed by libwebsockets. */
struct pss {
	struct web_conn *c;
	struct elog_buf rx;           /* a WebSocket message being received */
	int rx_too_big;
	struct elog_buf body;         /* a POST body */
	int body_too_big;
	int post;                     /* 1: /login, 2: /logout, 3: /v1/logs, 4: /v1/traces */
	int otlp_ctype;               /* 1: protobuf, 2: JSON, 0: another (415) */
	int otlp_gzip;                /* 1: gzip, -1: another Content-Encoding (415) */
	/* Transfer-Encoding: chunked (what Node's http sends): libwebsockets 4.1 hands the
	 * encoded bytes to LWS_CALLBACK_HTTP_BODY as if the body were 100 MiB long and never
	 * completes it, so the chunks are decoded here and the last one ends the body. */
	int chunked;                  /* 1: decoding, 2: the last chunk came */
	int ck_state;                 /* 0 size line, 1 data, 2 CRLF after data, 3 trailer */
	uint64_t ck_left;             /* data bytes left in the chunk */
	char ck_line[64];
	size_t ck_len;
	int ck_bad;
	enum web_kind ws_kind;        /* set in the handshake */
	struct web_args *ws_args;
	char ws_path[256];
};

static struct elog_web *web_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

/* ---- connections ---- */

static struct web_conn *conn_new(struct elog_web *w, enum web_kind kind)
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
static void conn_detach(struct elog_web *w, struct pss *p)
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

static void enqueue_locked(struct web_conn *c, const char *data, size_t n)
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
	enqueue_locked(c, data, n);
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
static int conn_start(struct elog_web *w, struct lws *wsi, struct pss *p, struct web_conn *c)
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

/* ---- answers made on the service thread (assets, errors, login) ---- */

/* A response with its whole body now, written by the writable callbacks. */
static int respond(struct lws *wsi, struct pss *p, int status, const char *ctype,
		   const char *body, size_t n, const char *location, const char *cookie)
{
	struct elog_web *w = web_of(wsi);
	struct web_conn *c = conn_new(w, WEB_API);

	c->wsi = wsi;
	c->refs = 1;
	c->status = status;
	snprintf(c->ctype, sizeof(c->ctype), "%s", ctype);
	snprintf(c->location, sizeof(c->location), "%s", location ? location : "");
	snprintf(c->cookie, sizeof(c->cookie), "%s", cookie ? cookie : "");
	c->clen = (int64_t)n;
	pthread_mutex_lock(&w->mu);
	enqueue_locked(c, body, n);
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

/* ---- request checks ---- */

static size_t hdr(struct lws *wsi, enum lws_token_indexes t, char *buf, size_t n)
{
	int k;

	buf[0] = 0;
	if (lws_hdr_total_length(wsi, t) <= 0)
		return 0;
	k = lws_hdr_copy(wsi, buf, (int)n, t);
	if (k < 0) {
		buf[0] = 0;
		return 0;
	}
	return (size_t)k;
}

static void args_load(struct lws *wsi, struct web_args *a)
{
	size_t off = 0;
	int i;

	a->n = 0;
	for (i = 0; a->n < WEB_MAX_ARGS; i++) {
		char *s = a->buf + off, *eq;
		int k;

		if (off + 2 >= sizeof(a->buf))
			break;
		k = lws_hdr_copy_fragment(wsi, s, (int)(sizeof(a->buf) - off),
					  WSI_TOKEN_HTTP_URI_ARGS, i);
		if (k < 0)
			break;
		s[k] = 0;
		eq = strchr(s, '=');
		if (eq) {
			*eq = 0;
			a->v[a->n] = eq + 1;
		} else {
			a->v[a->n] = "";
		}
		a->k[a->n] = s;
		a->n++;
		off += (size_t)k + 1;
	}
}

static int is_loopback_text(const char *a)
{
	if (strncmp(a, "::ffff:", 7) == 0)
		a += 7;
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

/* The local address of the connection, numeric, into out; "" when unknown. */
static void local_addr(struct lws *wsi, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = lws_get_socket_fd(wsi);

	out[0] = 0;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
		out[0] = 0;
	if (strncmp(out, "::ffff:", 7) == 0)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

/* Does name resolve to the address local? (non-loopback listeners only) */
static int resolves_to(const char *name, const char *local)
{
	struct addrinfo hints, *res = NULL, *ai;
	int ok = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && !ok; ai = ai->ai_next) {
		char num[INET6_ADDRSTRLEN + 8];

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num), NULL, 0,
				NI_NUMERICHOST) == 0)
			ok = strcmp(num, local) == 0;
	}
	freeaddrinfo(res);
	return ok;
}

/*
 * Host: the literal address the connection came to, "localhost" (or a name under .localhost)
 * when that address is loopback, or — for a listener that is not on loopback — a name that
 * resolves to it. A loopback listener never resolves names: a public name that resolves to
 * 127.0.0.1 is exactly what a DNS rebinding attack uses. 0 when acceptable.
 */
static int host_ok(struct lws *wsi, const char *host)
{
	char name[256], local[INET6_ADDRSTRLEN + 8];
	const char *end;
	size_t len;

	if (!*host)
		return -1;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return -1;
		len = (size_t)(end - host - 1);
		if (len >= sizeof(name))
			return -1;
		memcpy(name, host + 1, len);
	} else {
		end = strchr(host, ':');
		len = end ? (size_t)(end - host) : strlen(host);
		if (len >= sizeof(name))
			return -1;
		memcpy(name, host, len);
	}
	name[len] = 0;
	if (len && name[len - 1] == '.')
		name[--len] = 0;
	local_addr(wsi, local, sizeof(local));
	if (!*local)
		return -1;
	if (strcasecmp(name, local) == 0)
		return 0;
	if (is_loopback_text(local)) {
		if (strcasecmp(name, "localhost") == 0)
			return 0;
		if (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0)
			return 0;
		return -1;
	}
	return resolves_to(name, local) ? 0 : -1;
}

/* Origin: none, or exactly the page's own (scheme://Host). */
static int origin_ok(struct lws *wsi, const char *host, int tls)
{
	char origin[512], want[300];

	if (!hdr(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)))
		return lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 ? -1 : 0;
	snprintf(want, sizeof(want), "%s://%s", tls ? "https" : "http", host);
	return strcasecmp(origin, want) == 0 ? 0 : -1;
}

/* Copies s into dst[n]; -1 (dst "") when it does not fit. */
static int copy_str(char *dst, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n) {
		dst[0] = 0;
		return -1;
	}
	memcpy(dst, s, l + 1);
	return 0;
}

/* The API key the request carries (Authorization: Bearer, ?key=, the cookie) into key. */
static int request_key(struct lws *wsi, const struct web_args *a, char *key, size_t n)
{
	char buf[1200];
	const char *v;

	if (hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, buf, sizeof(buf)) &&
	    strncasecmp(buf, "Bearer ", 7) == 0) {
		return copy_str(key, n, buf + 7) == 0;
	}
	/* the OTLP key headers (as on gRPC: svc_auth.c) */
	if (lws_hdr_custom_copy(wsi, buf, (int)sizeof(buf), "x-junjo-api-key:", 16) > 0 ||
	    lws_hdr_custom_copy(wsi, buf, (int)sizeof(buf), "x-api-key:", 10) > 0)
		return copy_str(key, n, buf) == 0;
	if (a && (v = web_arg(a, "key")) != NULL) {
		return copy_str(key, n, v) == 0;
	}
	if (hdr(wsi, WSI_TOKEN_HTTP_COOKIE, buf, sizeof(buf))) {
		const char *s = buf;

		while (s && *s) {
			while (*s == ' ' || *s == ';')
				s++;
			if (strncmp(s, COOKIE_NAME "=", sizeof(COOKIE_NAME)) == 0) {
				size_t l;

				s += sizeof(COOKIE_NAME);
				l = strcspn(s, ";");
				if (l >= n)
					return 0;
				memcpy(key, s, l);
				key[l] = 0;
				return 1;
			}
			s = strchr(s, ';');
		}
	}
	return 0;
}

static int key_ok(struct elog_web *w, const char *key)
{
	struct elog_err err;

	elog_err_clear(&err);
	return elog_keycheck_verify(w->kc, key, NULL, 0, &err) == 1;
}

/* The key rule of the gRPC side: a key only over TLS or from this host. */
static int key_transport_ok(struct lws *wsi, int tls)
{
	char peer[128];

	if (tls)
		return 1;
	peer[0] = 0;
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	return is_loopback_text(peer);
}

enum { CHECK_OK = 0 };

/*
 * The checks every request and handshake goes through: Host (421), Origin for the API and
 * sockets (403), the API key with --auth (401). Returns 0, or the status with why set.
 */
static int check_request(struct elog_web *w, struct lws *wsi, const struct web_args *a,
			 int check_origin, const char **why)
{
	char host[256], key[ELOG_KEY_LINE_MAX + 8];
	int tls = lws_is_ssl(wsi);

	if (!hdr(wsi, WSI_TOKEN_HOST, host, sizeof(host)) || host_ok(wsi, host) != 0) {
		*why = "the Host header names no address of this server (against DNS rebinding)";
		return 421;
	}
	if (check_origin && origin_ok(wsi, host, tls) != 0) {
		*why = "cross-origin request refused (the Origin is not this server's)";
		return 403;
	}
	if (!w->o.auth)
		return CHECK_OK;
	if (!request_key(wsi, a, key, sizeof(key))) {
		*why = "this server needs an API key (serve --auth): sign in on the page, or send "
		       "Authorization: Bearer KEY";
		return 401;
	}
	if (!key_transport_ok(wsi, tls)) {
		*why = "API keys are accepted only over TLS or from this host";
		return 403;
	}
	if (!key_ok(w, key)) {
		*why = "API key not accepted";
		return 401;
	}
	return CHECK_OK;
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
	struct web_conn *c = conn_new(w, WEB_API);

	snprintf(c->path, sizeof(c->path), "%s", path);
	c->args = *a;
	/* the copied pointers point into a->buf: rebase them on c->args.buf */
	for (size_t i = 0; i < c->args.n; i++) {
		c->args.k[i] = c->args.buf + (a->k[i] - a->buf);
		c->args.v[i] = a->v[i] >= a->buf && a->v[i] < a->buf + sizeof(a->buf) ?
			       c->args.buf + (a->v[i] - a->buf) : "";
	}
	c->tls = lws_is_ssl(wsi);
	if (conn_start(w, wsi, p, c) != 0)
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
	hdr(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof(ct));
	l = strcspn(ct, "; \t");
	if (l == 22 && strncasecmp(ct, "application/x-protobuf", 22) == 0)
		p->otlp_ctype = 1;
	else if (l == 16 && strncasecmp(ct, "application/json", 16) == 0)
		p->otlp_ctype = 2;
	else
		p->otlp_ctype = 0;
	p->otlp_gzip = 0;
	if (hdr(wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING, ce, sizeof(ce)) && *ce) {
		if (strcasecmp(ce, "gzip") == 0)
			p->otlp_gzip = 1;
		else if (strcasecmp(ce, "identity") != 0)
			p->otlp_gzip = -1;
	}
	p->chunked = 0;
	p->ck_state = 0;
	p->ck_len = 0;
	p->ck_bad = 0;
	if (hdr(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING, ce, sizeof(ce)) &&
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

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
				else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
					out[o++] = (char)(hexval(s[1]) * 16 + hexval(s[2]));
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
	if (!key_transport_ok(wsi, lws_is_ssl(wsi)))
		return respond_error(wsi, p, 403, "API keys are accepted only over TLS or from "
				     "this host");
	if (strlen(key) > 128 || strcspn(key, ";, \t\r\n\"") != strlen(key) || !key_ok(w, key))
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
	c = conn_new(w, WEB_OTLP);
	snprintf(c->path, sizeof(c->path), "%s", p->post == 4 ? "/v1/traces" : "/v1/logs");
	c->otlp_traces = p->post == 4;
	c->otlp_json = p->otlp_ctype == 2;
	c->otlp_gzip = p->otlp_gzip == 1;
	c->body = p->body.data;
	c->body_len = p->body.len;
	memset(&p->body, 0, sizeof(p->body));
	c->tls = lws_is_ssl(wsi);
	if (conn_start(w, wsi, p, c) != 0)
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

	args_load(wsi, a);
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
	st = check_request(w, wsi, a, r->api || strcmp(method, "POST") == 0, &why);
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

/* Returns what the callback should return. */
static int http_writable(struct elog_web *w, struct lws *wsi, struct pss *p)
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

		conn_detach(w, p);
		if (close_after)
			return -1;
		return lws_http_transaction_completed(wsi) ? -1 : 0;
	}
	if (more)
		lws_callback_on_writable(wsi);
	return 0;
}

static int ws_writable(struct elog_web *w, struct lws *wsi, struct pss *p)
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
	enqueue_locked(c, msg, strlen(msg));
	pthread_mutex_unlock(&w->mu);
	lws_callback_on_writable(wsi);
}

static void ws_received(struct elog_web *w, struct lws *wsi, struct pss *p, const void *in,
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
 * callback's "answered"). */
static int ws_refuse(struct lws *wsi, int status, const char *why)
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
 * made anew for the WebSocket after this (ws_filter keeps what it needs). */
static int ws_confirm(struct elog_web *w, struct lws *wsi)
{
	char path[256];
	const char *why = NULL;
	struct web_args *a;
	int st, follow;

	hdr(wsi, WSI_TOKEN_GET_URI, path, sizeof(path));
	if (strcmp(path, "/") == 0) {
		follow = 0;
	} else if (strcmp(path, "/api/follow") == 0) {
		follow = 1;
	} else {
		return ws_refuse(wsi, 404, "no WebSocket endpoint here (/ and /api/follow)");
	}
	a = xmalloc(sizeof(*a));
	args_load(wsi, a);
	st = check_request(w, wsi, a, 1, &why);
	if (st == CHECK_OK && follow) {
		struct elog_filter f;
		struct elog_err err;

		elog_filter_init(&f);
		elog_err_clear(&err);
		if (web_filter_from_args(a, &f, &err) != 0) {
			elog_filter_clear(&f);
			free(a);
			ws_refuse(wsi, 400, err.msg);
			return 1;
		}
		elog_filter_clear(&f);
	}
	free(a);
	if (st != CHECK_OK) {
		ws_refuse(wsi, st, why);
		return 1;
	}
	pthread_mutex_lock(&w->mu);
	st = w->nconns >= ELOG_WEB_MAX_CONNS;
	pthread_mutex_unlock(&w->mu);
	if (st) {
		ws_refuse(wsi, 503, "too many connections: the limit is 256 requests "
				       "and sockets at once");
		return 1;
	}
	return 0;
}

/* The WebSocket's own per-connection data: its endpoint and arguments. */
static int ws_filter(struct lws *wsi, struct pss *p)
{
	hdr(wsi, WSI_TOKEN_GET_URI, p->ws_path, sizeof(p->ws_path));
	p->ws_kind = strcmp(p->ws_path, "/") == 0 ? WEB_LEADGEN : WEB_FOLLOW;
	free(p->ws_args);
	p->ws_args = xmalloc(sizeof(*p->ws_args));
	args_load(wsi, p->ws_args);
	return 0;
}

static int ws_established(struct elog_web *w, struct lws *wsi, struct pss *p)
{
	struct web_conn *c;

	c = conn_new(w, p->ws_kind);
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
	if (conn_start(w, wsi, p, c) != 0) {
		lws_close_reason(wsi, (enum lws_close_status)1013,
				 (unsigned char *)"too many connections", 20);
		return -1;
	}
	return 0;
}

static void pss_release(struct elog_web *w, struct pss *p)
{
	if (!p)
		return;
	conn_detach(w, p);
	elog_buf_release(&p->rx);
	elog_buf_release(&p->body);
	free(p->ws_args);
	p->ws_args = NULL;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	struct elog_web *w = web_of(wsi);
	struct pss *p = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		if (!p)
			return -1;
		conn_detach(w, p);   /* a previous request of this connection */
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
		return p ? http_writable(w, wsi, p) : 0;
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (!in || strcmp((const char *)in, "websocket") != 0) {
			return ws_refuse(wsi, 400, "unsupported upgrade");
		}
		return ws_confirm(w, wsi);
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		return p ? ws_filter(wsi, p) : -1;
	case LWS_CALLBACK_ESTABLISHED:
		return p ? ws_established(w, wsi, p) : -1;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return p ? ws_writable(w, wsi, p) : 0;
	case LWS_CALLBACK_RECEIVE:
		if (p)
			ws_received(w, wsi, p, in, len);
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
	{ "elog", callback, sizeof(struct pss), ELOG_WEB_MAX_MESSAGE, 0, NULL, 0 },
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
