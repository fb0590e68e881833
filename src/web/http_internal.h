/*
 * http_internal.h — what the files of the web listener share (http.c: routes, answers made on
 * the service thread, the libwebsockets callback, lifetime; http_conn.c: connections,
 * their send queues and worker threads; http_io.c: writing, WebSocket frames and handshakes;
 * http_check.c: Host, Origin and key checks of a request). Nothing outside these files includes it.
 */
#ifndef ELOG_HTTP_INTERNAL_H
#define ELOG_HTTP_INTERNAL_H

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

struct web_conn *http__conn_new(struct elog_web *w, enum web_kind kind);
void http__conn_detach(struct elog_web *w, struct pss *p);
void http__enqueue_locked(struct web_conn *c, const char *data, size_t n);
int http__conn_start(struct elog_web *w, struct lws *wsi, struct pss *p, struct web_conn *c);
size_t http__hdr(struct lws *wsi, enum lws_token_indexes t, char *buf, size_t n);
void http__args_load(struct lws *wsi, struct web_args *a);
int http__key_ok(struct elog_web *w, const char *key);
int http__key_transport_ok(struct lws *wsi, int tls);
/* what http__check_request answers when the request may go on (else the HTTP status) */
enum { CHECK_OK = 0 };
int http__check_request(struct elog_web *w, struct lws *wsi, const struct web_args *a,
			 int check_origin, const char **why);

int http__callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len);
int http__http_writable(struct elog_web *w, struct lws *wsi, struct pss *p);
int http__ws_writable(struct elog_web *w, struct lws *wsi, struct pss *p);
void http__ws_received(struct elog_web *w, struct lws *wsi, struct pss *p, const void *in,
			size_t len);
int http__ws_refuse(struct lws *wsi, int status, const char *why);
int http__ws_confirm(struct elog_web *w, struct lws *wsi);
int http__ws_filter(struct lws *wsi, struct pss *p);
int http__ws_established(struct elog_web *w, struct lws *wsi, struct pss *p);

#endif
