/*
 * web.h — serve's HTTP/WebSocket listener: the web page, the JSON API, the live follow socket
 * and the LeadGen WebSocket contract (issue 18; the API is in the serve man page).
 *
 * Built on libwebsockets (Debian's libwebsockets-dev): one service thread does all socket I/O
 * for every listener; each API request and each WebSocket gets a worker thread of its own
 * (reads the history, follows the hub, mines patterns) that hands what it produced to the
 * service thread through a send queue bounded in bytes. A worker whose queue is full waits; a
 * follower that waits falls behind the hub's live list and reads the range back from the
 * history afterwards (hub.h), so no client ever slows ingest, and no client's memory grows
 * with ingest.
 *
 * Bounds (README "Limits"): ELOG_WEB_MAX_CONNS requests and sockets with a worker at once
 * (more: 503), ELOG_WEB_SEND_QUEUE bytes queued per connection, ELOG_WEB_MAX_HEADERS bytes of
 * request line and headers, ELOG_WEB_MAX_MESSAGE bytes of a message a client sends on a
 * WebSocket, ELOG_WEB_MAX_BODY bytes of a POST body (ELOG_OTLP_HTTP_MAX_BODY for OTLP/HTTP's
 * POST /v1/logs and /v1/traces, otlphttp.c), ELOG_WEB_MAX_RESPONSE bytes of one
 * /api/records answer.
 *
 * Ownership: struct elog_web owns its threads, sockets and connections; elog_web_stop ends
 * them all (workers included) before it returns. The hub and svc given in the options must
 * outlive it.
 */
#ifndef ELOG_WEB_H
#define ELOG_WEB_H

#include <stddef.h>

#include "common/util.h"

#define ELOG_WEB_DEFAULT_ADDR "127.0.0.1:8765"
#define ELOG_WEB_MAX_CONNS 256
#define ELOG_WEB_SEND_QUEUE (1u << 20)
#define ELOG_WEB_MAX_HEADERS 8192
#define ELOG_WEB_MAX_MESSAGE 65536
#define ELOG_WEB_MAX_BODY 4096
#define ELOG_OTLP_HTTP_MAX_BODY (16u << 20)   /* POST /v1/logs, /v1/traces (also once gunzipped) */
#define ELOG_WEB_MAX_RESPONSE (16u << 20)
#define ELOG_WEB_MAX_LIMIT 1000        /* /api/records limit */
#define ELOG_WEB_MAX_CONTEXT 100       /* /api/context n */
#define ELOG_WEB_ANALYSIS_MAX 200000   /* records an analysis request reads (the newest) */
#define ELOG_WEB_ANALYSIS_MAX_RANGE (31LL * 86400)   /* time_range, seconds */
#define ELOG_WEB_TOP_PATTERNS 10

struct elog_err;
struct elog_hub;
struct elog_svc;
struct elog_web;

struct elog_web_opts {
	const char *const *addrs;     /* HOST:PORT each (port 0: any free one) */
	size_t naddrs;
	int first_is_default;         /* addrs[0] was not named by the user: if it cannot be
				       * bound, report says so and the others go on */
	const char *tls_cert, *tls_key;   /* both or neither: HTTPS and WSS */
	int auth;                     /* every page, API call and socket needs an API key */
	const char *db_path;          /* the history, read by the workers */
	struct elog_hub *hub;         /* live records */
	struct elog_svc *svc;         /* flowctl registry (component types), may be NULL */
	/* warnings (a line without "elog serve: "); called from elog_web_listen only */
	void (*report)(void *ctx, const char *msg);
	void *report_ctx;
};

/*
 * Binds every address (nothing is served yet: connections wait in the listen queue). Appends
 * "http://HOST:PORT\n" (https:// with TLS) to bound for each listener. Returns 0 (*out is NULL
 * when no address is left), or a negative code with err ("cannot listen on 'ADDR' (--http):
 * address already in use"). o->hub and o->svc may still be NULL here.
 */
int elog_web_listen(struct elog_web **out, const struct elog_web_opts *o, struct elog_buf *bound,
		    struct elog_err *err);

/* Starts serving, with the hub and services now open (svc may be NULL). 0, or a negative code
 * with err. */
int elog_web_run(struct elog_web *w, struct elog_hub *hub, struct elog_svc *svc,
		 struct elog_err *err);

/* Closes every connection, waits for the workers and the service thread, frees. Accepts NULL. */
void elog_web_stop(struct elog_web *w);

#endif
