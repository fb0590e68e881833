/*
 * redisnotify.c — the Redis notifier: a bounded queue and one thread that owns the hiredis
 * connection. See redisnotify.h for the promises.
 *
 * Locks: n->mu guards the queue, the counters and stop; the connection and the retry schedule
 * belong to the thread alone. The network is never touched with n->mu held.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <hiredis/hiredis.h>

#include "server/redisnotify.h"
#include "common/err.h"
#include "common/util.h"

#define DEF_QUEUE 1000
#define DEF_TIMEOUT (500 * NS_PER_MS)
#define DEF_BACKOFF_MAX (2 * NS_PER_S)
#define BACKOFF_MIN (100 * NS_PER_MS)
#define DEF_REPORT (60 * NS_PER_S)

struct rn_msg {
	struct rn_msg *next;
	size_t len;
	char data[];
};

struct elog_rnotify {
	struct elog_rnotify_opts o;
	char *list, *url_shown;
	struct elog_redis_url u;

	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;                /* CLOCK_MONOTONIC */
	struct rn_msg *head, *tail;
	size_t queued;
	int stop;
	int64_t drain_until;              /* monotonic; set with stop */
	uint64_t sent, dropped, failures;

	/* the thread's */
	redisContext *c;
	int64_t next_try, backoff, last_report;
	int reported;
};

/* ---- URL ------------------------------------------------------------------------------------ */

/* s[0..n) with %XX decoded; malloc'd. */
static char *pct_decode(const char *s, size_t n)
{
	char *out = xmalloc(n + 1), *o = out;
	size_t i;

	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < n &&
		    (hi = elog_hex_digit(s[i + 1])) >= 0 && (lo = elog_hex_digit(s[i + 2])) >= 0) {
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

/* Where the userinfo of url ends: its last '@' (a raw '/' or '@' in a password is taken as
 * part of it, since the path is a database number and holds neither), or NULL. */
static const char *userinfo_end(const char *url)
{
	const char *p = strstr(url, "://");

	p = p ? p + 3 : url;
	return strrchr(p, '@');
}

/* The usage error for url, shown with its password masked. */
static int url_error(const char *url, const char *why, struct elog_err *err)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int rc;

	elog_rnotify_redacted_url(&b, url);
	rc = elog_err_set(err, ELOG_EUSAGE, "invalid redis URL '%s'%s%s", b.data, why ? ": " : "",
			  why ? why : "");
	elog_buf_release(&b);
	return rc;
}

int elog_redis_url_parse(struct elog_redis_url *n, const char *url, struct elog_err *err)
{
	const char *p, *at, *hend, *end, *slash;
	char *e;
	long v;

	memset(n, 0, sizeof(*n));
	if (strncmp(url, "redis://", 8) != 0)
		return url_error(url, "not redis://host:port[/db]", err);
	p = url + 8;
	at = userinfo_end(url);
	if (at) {
		const char *colon = memchr(p, ':', (size_t)(at - p));

		if (colon) {
			if (colon > p)
				n->user = pct_decode(p, (size_t)(colon - p));
			n->password = pct_decode(colon + 1, (size_t)(at - colon - 1));
		} else {
			/* redis://password@host: a lone userinfo is the password */
			n->password = pct_decode(p, (size_t)(at - p));
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	n->port = 6379;
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		if (!hend)
			return url_error(url, "unclosed '['", err);
		n->host = xstrndup(p + 1, (size_t)(hend - p - 1));
		p = hend + 1;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (!hend)
			hend = end;
		n->host = xstrndup(p, (size_t)(hend - p));
		p = hend;
	}
	if (!*n->host)
		return url_error(url, "no host", err);
	if (p < end && *p == ':') {
		errno = 0;
		v = strtol(p + 1, &e, 10);
		if (e == p + 1 || e != end || errno || v <= 0 || v > 65535)
			return url_error(url, "bad port", err);
		n->port = (int)v;
	} else if (p != end) {
		return url_error(url, NULL, err);
	}
	if (slash && slash[1]) {
		errno = 0;
		v = strtol(slash + 1, &e, 10);
		if (e == slash + 1 || *e || errno || v < 0 || v > 1000000)
			return url_error(url, "bad database number", err);
		n->db = v;
	}
	return 0;
}

void elog_redis_url_clear(struct elog_redis_url *u)
{
	free(u->host);
	free(u->user);
	if (u->password) {
		memset(u->password, 0, strlen(u->password));
		free(u->password);
	}
	memset(u, 0, sizeof(*u));
}

void elog_rnotify_redacted_url(struct elog_buf *out, const char *url)
{
	const char *s = strstr(url, "://");
	const char *p = s ? s + 3 : url;
	const char *at = userinfo_end(url);
	const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;

	if (!at) {
		elog_buf_adds(out, url);
		return;
	}
	elog_buf_add(out, url, (size_t)((colon ? colon + 1 : p) - url));
	elog_buf_adds(out, "***");
	elog_buf_adds(out, at);
}

/* ---- the thread ------------------------------------------------------------------------------ */

static struct timeval tv_of(int64_t ns)
{
	struct timeval tv = { (time_t)(ns / NS_PER_S), (suseconds_t)(ns % NS_PER_S / 1000) };

	return tv;
}

/* Reports msg (with the drop count) when the report interval allows. Thread only. */
static void report(struct elog_rnotify *n, const char *what)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int64_t now = elog_mono_ns();
	uint64_t dropped;

	if (!n->o.report || (n->reported && now - n->last_report < n->o.report_interval_ns))
		return;
	pthread_mutex_lock(&n->mu);
	dropped = n->dropped;
	pthread_mutex_unlock(&n->mu);
	elog_buf_addf(&b, "redis '%s' unreachable: %s; %llu notification%s dropped", n->url_shown,
		      what, (unsigned long long)dropped, dropped == 1 ? "" : "s");
	n->o.report(n->o.report_arg, b.data);
	n->reported = 1;
	n->last_report = now;
	elog_buf_release(&b);
}

static void count_failure(struct elog_rnotify *n)
{
	pthread_mutex_lock(&n->mu);
	n->failures++;
	pthread_mutex_unlock(&n->mu);
}

/* Drops the connection and schedules the next attempt. Thread only. */
static void fail_conn(struct elog_rnotify *n, const char *what)
{
	if (n->c) {
		redisFree(n->c);
		n->c = NULL;
	}
	count_failure(n);
	n->backoff = n->backoff ? n->backoff * 2 : BACKOFF_MIN;
	if (n->backoff > n->o.backoff_max_ns)
		n->backoff = n->o.backoff_max_ns;
	n->next_try = elog_mono_ns() + n->backoff;
	report(n, what);
}

/* Runs one command on the connection; 0 when the reply is not an error. what gets the
 * reason otherwise; *io says whether the connection itself failed. */
static int command(struct elog_rnotify *n, int argc, const char **argv, const size_t *lens,
		   char *what, size_t whatsz, int *io)
{
	redisReply *r = redisCommandArgv(n->c, argc, argv, lens);
	int rc = 0;

	*io = 0;
	if (!r) {
		*io = 1;
		snprintf(what, whatsz, "%s", n->c->errstr[0] ? n->c->errstr : "connection lost");
		return -1;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(what, whatsz, "%s: %.*s", argv[0], (int)r->len, r->str);
		rc = -1;
	}
	freeReplyObject(r);
	return rc;
}

/* Connects, authenticates, selects. 0, or -1 with the connection failed. Thread only. */
static int connect_now(struct elog_rnotify *n)
{
	char what[300], dbs[24];
	int io;

	n->c = redisConnectWithTimeout(n->u.host, n->u.port, tv_of(n->o.timeout_ns));
	if (!n->c || n->c->err) {
		snprintf(what, sizeof(what), "%s", n->c ? n->c->errstr : "out of memory");
		fail_conn(n, what);
		return -1;
	}
	if (redisSetTimeout(n->c, tv_of(n->o.timeout_ns)) != REDIS_OK) {
		fail_conn(n, "cannot set the command timeout");
		return -1;
	}
	if (n->u.password) {
		const char *av[3] = { "AUTH", n->u.user, n->u.password };
		size_t lv[3] = { 4, n->u.user ? strlen(n->u.user) : 0, strlen(n->u.password) };

		if (!n->u.user) {
			av[1] = n->u.password;
			lv[1] = lv[2];
		}
		if (command(n, n->u.user ? 3 : 2, av, lv, what, sizeof(what), &io) != 0) {
			fail_conn(n, what);
			return -1;
		}
	}
	if (n->u.db != 0) {
		const char *av[2] = { "SELECT", dbs };
		size_t lv[2] = { 6, 0 };

		lv[1] = (size_t)snprintf(dbs, sizeof(dbs), "%ld", n->u.db);
		if (command(n, 2, av, lv, what, sizeof(what), &io) != 0) {
			fail_conn(n, what);
			return -1;
		}
	}
	return 0;
}

static void *notifier_main(void *arg)
{
	struct elog_rnotify *n = arg;

	pthread_mutex_lock(&n->mu);
	for (;;) {
		int64_t now = elog_mono_ns();
		struct rn_msg *m;
		char what[300];
		int io, rc;

		if (n->stop && (!n->head || now >= n->drain_until))
			break;
		if (!n->head || (!n->c && now < n->next_try)) {
			int64_t dl = n->head ? n->next_try : INT64_MAX;

			if (n->stop && n->drain_until < dl)
				dl = n->drain_until;
			elog_cond_wait_until(&n->cv, &n->mu, dl);
			continue;
		}
		m = n->head;
		pthread_mutex_unlock(&n->mu);
		if (!n->c && connect_now(n) != 0) {
			pthread_mutex_lock(&n->mu);
			continue;
		}
		{
			const char *av[3] = { "RPUSH", n->list, m->data };
			size_t lv[3] = { 5, strlen(n->list), m->len };

			rc = command(n, 3, av, lv, what, sizeof(what), &io);
		}
		if (rc != 0 && io) {
			fail_conn(n, what);   /* m stays queued for the next connection */
			pthread_mutex_lock(&n->mu);
			continue;
		}
		if (rc != 0) {
			count_failure(n);
			report(n, what);
		} else {
			n->backoff = 0;
		}
		pthread_mutex_lock(&n->mu);
		n->head = m->next;
		if (!n->head)
			n->tail = NULL;
		n->queued--;
		if (rc == 0)
			n->sent++;
		else
			n->dropped++;
		free(m);
	}
	while (n->head) {
		struct rn_msg *m = n->head;

		n->head = m->next;
		n->dropped++;
		n->queued--;
		free(m);
	}
	n->tail = NULL;
	pthread_mutex_unlock(&n->mu);
	if (n->c) {
		redisFree(n->c);
		n->c = NULL;
	}
	return NULL;
}

/* ---- API ------------------------------------------------------------------------------------ */

static void rn_free(struct elog_rnotify *n)
{
	free(n->list);
	free(n->url_shown);
	elog_redis_url_clear(&n->u);
	free(n);
}

int elog_rnotify_open(struct elog_rnotify **out, const struct elog_rnotify_opts *o,
		      struct elog_err *err)
{
	struct elog_rnotify *n = xcalloc(1, sizeof(*n));
	struct elog_buf shown = ELOG_BUF_INIT;
	int rc;

	*out = NULL;
	n->o = *o;
	n->o.url = NULL;
	n->o.list = NULL;
	if (!o->url || (rc = elog_redis_url_parse(&n->u, o->url, err)) != 0) {
		rc = o->url ? rc : elog_err_set(err, ELOG_EUSAGE, "no redis URL");
		rn_free(n);
		return rc;
	}
	n->list = xstrdup(o->list && *o->list ? o->list : "elog:segments");
	elog_rnotify_redacted_url(&shown, o->url);
	n->url_shown = elog_buf_detach(&shown);
	if (n->o.queue_max == 0)
		n->o.queue_max = DEF_QUEUE;
	if (n->o.timeout_ns <= 0)
		n->o.timeout_ns = DEF_TIMEOUT;
	if (n->o.backoff_max_ns <= 0)
		n->o.backoff_max_ns = DEF_BACKOFF_MAX;
	if (n->o.report_interval_ns <= 0)
		n->o.report_interval_ns = DEF_REPORT;
	pthread_mutex_init(&n->mu, NULL);
	elog_cond_init(&n->cv);
	if (pthread_create(&n->th, NULL, notifier_main, n) != 0) {
		pthread_mutex_destroy(&n->mu);
		pthread_cond_destroy(&n->cv);
		rn_free(n);
		return elog_err_set(err, ELOG_EFAIL, "cannot start the redis notifier");
	}
	*out = n;
	return 0;
}

void elog_rnotify_push(struct elog_rnotify *n, const char *msg, size_t len)
{
	struct rn_msg *m;

	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	if (n->queued >= n->o.queue_max || n->stop) {
		n->dropped++;
		pthread_mutex_unlock(&n->mu);
		return;
	}
	pthread_mutex_unlock(&n->mu);
	m = xmalloc(sizeof(*m) + len + 1);
	m->next = NULL;
	m->len = len;
	memcpy(m->data, msg, len);
	m->data[len] = '\0';
	pthread_mutex_lock(&n->mu);
	if (n->tail)
		n->tail->next = m;
	else
		n->head = m;
	n->tail = m;
	n->queued++;
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
}

void elog_rnotify_stats(struct elog_rnotify *n, struct elog_rnotify_stats *out)
{
	pthread_mutex_lock(&n->mu);
	out->sent = n->sent;
	out->dropped = n->dropped;
	out->failures = n->failures;
	out->queued = n->queued;
	pthread_mutex_unlock(&n->mu);
}

void elog_rnotify_close(struct elog_rnotify *n, int64_t drain_ns, struct elog_rnotify_stats *st)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->mu);
	n->stop = 1;
	n->drain_until = elog_mono_ns() + (drain_ns > 0 ? drain_ns : 0);
	pthread_cond_signal(&n->cv);
	pthread_mutex_unlock(&n->mu);
	pthread_join(n->th, NULL);
	if (st)
		elog_rnotify_stats(n, st);
	pthread_mutex_destroy(&n->mu);
	pthread_cond_destroy(&n->cv);
	rn_free(n);
}
