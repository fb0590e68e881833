/*
 * webint.h — what http.c (the listener), api.c (the JSON API) and leadgen.c (the LeadGen
 * contract) share. Not for use outside src/web/.
 *
 * A struct web_conn is one request or one WebSocket that has a worker thread. It is owned
 * jointly by the service thread (until the socket closes) and the worker (until it returns):
 * refs counts them, under the listener's mutex, and the last one frees it. The worker talks
 * to its client only through web_send* (which queue at most ELOG_WEB_SEND_QUEUE bytes and
 * wait while the queue is full) and web_recv (WebSocket messages from the client).
 */
#ifndef ELOG_WEB_INT_H
#define ELOG_WEB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "common/filter.h"
#include "common/util.h"
#include "web/web.h"

#define WEB_MAX_ARGS 32

/* The query arguments of a request, decoded ("k=v" pairs). */
struct web_args {
	char buf[ELOG_WEB_MAX_HEADERS];
	const char *k[WEB_MAX_ARGS], *v[WEB_MAX_ARGS];
	size_t n;
};

/* The value of argument k, or NULL. */
const char *web_arg(const struct web_args *a, const char *k);

enum web_kind { WEB_API, WEB_FOLLOW, WEB_LEADGEN, WEB_OTLP };

struct web_conn {
	struct elog_web *w;
	enum web_kind kind;
	char path[256];
	struct web_args args;
	int tls;
	/* WEB_OTLP: the request's body (malloc'd, the worker's) and how it is encoded */
	char *body;
	size_t body_len;
	int otlp_traces, otlp_json, otlp_gzip;
	/* under the listener's mutex */
	struct lws *wsi;              /* NULL once the socket closed */
	int refs;
	int closed;                   /* the socket closed: the worker should return */
	struct web_chunk *out_head, *out_tail;
	size_t out_bytes;
	struct web_chunk *in_head, *in_tail;
	size_t in_n;
	int want_write;
	int finished;                 /* HTTP: the last chunk is queued */
	int status;                   /* HTTP response */
	char ctype[64];
	char disposition[128];
	char location[256];           /* a redirect's Location */
	char cookie[256];             /* a Set-Cookie value */
	int close_after;              /* "connection: close": the socket closes after the answer */
	int64_t clen;                 /* -1: unknown (connection closes after) */
	int headers_sent;
	size_t out_off;               /* bytes of out_head already written */
	pthread_cond_t cv;
	struct web_conn *next;        /* the listener's list */
};

/* The worker's side. */
/* HTTP: sets the response (before the first web_send). clen -1: unknown. */
void web_http_begin(struct web_conn *c, int status, const char *ctype, const char *disposition,
		    int64_t clen);
/* Queues data (copied) as one HTTP body piece or one WebSocket text message; last ends the
 * HTTP response. Waits while the queue holds ELOG_WEB_SEND_QUEUE bytes or more. Returns 0, or
 * -1 when the connection closed or the listener stops. */
int web_send(struct web_conn *c, const char *data, size_t n, int last);
/* A JSON error answer {"error": msg} with status (HTTP) or {"type":"error",...} is the
 * caller's; this one is for HTTP. */
int web_send_error(struct web_conn *c, int status, const char *msg);
/* Waits up to timeout_ns for a message from the client; 1 with *msg (malloc'd, NUL-ended,
 * caller frees) and *n, 0 on timeout, -1 when the connection closed or the listener stops. */
int web_recv(struct web_conn *c, char **msg, size_t *n, int64_t timeout_ns);
/* True when the worker should return (socket closed or listener stopping). */
int web_gone(struct web_conn *c);

/* What the workers use of the listener. */
struct elog_hub *web_hub(struct web_conn *c);
struct elog_svc *web_svc(struct web_conn *c);
const char *web_db(struct web_conn *c);

/* api.c: the worker of an /api/ request or the /api/follow socket. */
void web_api_run(struct web_conn *c);
void web_follow_run(struct web_conn *c);
/* leadgen.c: the worker of a socket on "/". */
void web_leadgen_run(struct web_conn *c);

/* otlphttp.c: the worker of a POST /v1/logs or /v1/traces (OTLP/HTTP). */
void web_otlp_run(struct web_conn *c);

/* api.c: the filter of the arguments c, level, grep, since, until. 0, or ELOG_EUSAGE with
 * err (f is then cleared by the caller). */
struct elog_err;
int web_filter_from_args(const struct web_args *a, struct elog_filter *f, struct elog_err *err);
/* One record as the API's REC object. */
struct elog_display;
void web_record_json(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);
/* RFC3339 with milliseconds, UTC, into out (>= 32 bytes). */
void web_time_ms(int64_t ns, char *out, size_t outsz);
/* The value of a record's "stream" field when it is "stdout" or "stderr", else NULL. */
const char *web_record_stream(const struct elog_record *r);

#endif
