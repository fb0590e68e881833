/*
 * cluster.c — serve --cluster (cluster.h says what it promises): helpers, the NATS connection
 * and the stream, start and stop. The publisher is in cluster_publish.c, the --aggregate
 * consumer in cluster_aggregate.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "outbound/cluster_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "common/record.h"
#include "common/util.h"
#include "hub/hub.h"
#include "store/store.h"

/* ---- helpers ---- */

void cluster__report(struct elog_cluster *c, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!c->o.report)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	c->o.report(c->o.report_ctx, buf);
}

/* The text of a failed NATS call: the library's last error, else the status. */
static const char *nats_why(natsStatus s, jsErrCode jerr, char *buf, size_t n)
{
	const char *t = nats_GetLastError(NULL);

	if (t && *t)
		snprintf(buf, n, "%s%s", t, jerr ? "" : "");
	else
		snprintf(buf, n, "%s", natsStatus_GetText(s));
	if (jerr) {
		size_t l = strlen(buf);

		snprintf(buf + l, n - l, " (jetstream error %d)", (int)jerr);
	}
	return buf;
}

/* Sleeps up to ns unless stopping; returns 1 when stopping. */
int cluster__pause_ns(struct elog_cluster *c, int64_t ns)
{
	int64_t until = elog_mono_after(ns);
	int stop;

	pthread_mutex_lock(&c->mu);
	while (!c->stopping && elog_mono_ns() < until)
		elog_cond_wait_until(&c->cv, &c->mu, until);
	stop = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return stop;
}

int cluster__is_stopping(struct elog_cluster *c)
{
	int s;

	pthread_mutex_lock(&c->mu);
	s = c->stopping;
	pthread_mutex_unlock(&c->mu);
	return s;
}

void elog_cluster_token(struct elog_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	struct elog_buf t = ELOG_BUF_INIT;
	const unsigned char *p;

	if (!*s) {
		elog_buf_addc(b, '%');
		return;
	}
	for (p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_' || *p == '-') {
			elog_buf_addc(&t, (char)*p);
		} else {
			elog_buf_addc(&t, '%');
			elog_buf_addc(&t, hex[*p >> 4]);
			elog_buf_addc(&t, hex[*p & 15]);
		}
	}
	if (t.len <= ELOG_CLUSTER_TOKEN_MAX) {
		elog_buf_add(b, t.data, t.len);
	} else {
		unsigned char md[SHA256_DIGEST_LENGTH];
		size_t keep = 31, i;

		/* never cut inside a %XX */
		for (i = keep >= 2 ? keep - 2 : 0; i < keep; i++)
			if (t.data[i] == '%') {
				keep = i;
				break;
			}
		elog_buf_add(b, t.data, keep);
		elog_buf_addc(b, '~');
		SHA256((const unsigned char *)s, strlen(s), md);
		for (i = 0; i < sizeof(md); i++) {
			elog_buf_addc(b, hex[md[i] >> 4]);
			elog_buf_addc(b, hex[md[i] & 15]);
		}
	}
	elog_buf_release(&t);
}

/* ---- connection ---- */

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	if (!cluster__is_stopping(closure))
		cluster__report(closure,
				"cluster: link to NATS lost, reconnecting (records wait in the history)");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	char url[256] = "";

	natsConnection_GetConnectedUrl(nc, url, sizeof(url));
	cluster__report(closure, "cluster: reconnected to '%s'", url);
}

/* Connects and makes a JetStream context; 0 or -1 with why. */
int cluster__connect(struct elog_cluster *c, natsConnection **nc, jsCtx **js, int publisher,
			   char *why, size_t whysz)
{
	natsOptions *opts = NULL;
	jsOptions jo;
	natsStatus s;
	char name[300];

	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, c->servers, c->nservers);
	snprintf(name, sizeof(name), "elog %s %s", publisher ? "publisher" : "aggregator", c->node);
	if (s == NATS_OK)
		s = natsOptions_SetName(opts, name);
	if (s == NATS_OK)
		s = natsOptions_SetNoRandomize(opts, false);
	if (s == NATS_OK)
		s = natsOptions_SetTimeout(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetMaxReconnect(opts, -1);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectWait(opts, 100);
	if (s == NATS_OK)
		s = natsOptions_SetPingInterval(opts, 2000);
	if (s == NATS_OK)
		s = natsOptions_SetReconnectBufSize(opts, 8 << 20);
	if (s == NATS_OK && publisher)
		s = natsOptions_SetDisconnectedCB(opts, on_disconnected, c);
	if (s == NATS_OK && publisher)
		s = natsOptions_SetReconnectedCB(opts, on_reconnected, c);
	if (s == NATS_OK && c->creds)
		s = natsOptions_SetUserCredentialsFromFiles(opts, c->creds, NULL);
	if (s == NATS_OK && c->user)
		s = natsOptions_SetUserInfo(opts, c->user, c->password ? c->password : "");
	if (s == NATS_OK && c->token)
		s = natsOptions_SetToken(opts, c->token);
	if (s == NATS_OK && c->ca)
		s = natsOptions_SetSecure(opts, true);
	if (s == NATS_OK && c->ca)
		s = natsOptions_LoadCATrustedCertificates(opts, c->ca);
	if (s == NATS_OK)
		s = natsConnection_Connect(nc, opts);
	natsOptions_Destroy(opts);
	if (s != NATS_OK) {
		nats_why(s, 0, why, whysz);
		*nc = NULL;
		return -1;
	}
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	if (publisher) {
		jo.PublishAsync.MaxPending = ELOG_CLUSTER_WINDOW + 64;
		jo.PublishAsync.AckHandler = cluster__pub_ack;
		jo.PublishAsync.AckHandlerClosure = c;
	}
	s = natsConnection_JetStream(js, *nc, &jo);
	if (s != NATS_OK) {
		nats_why(s, 0, why, whysz);
		natsConnection_Destroy(*nc);
		*nc = NULL;
		return -1;
	}
	return 0;
}

void cluster__disconnect(natsConnection **nc, jsCtx **js)
{
	jsCtx_Destroy(*js);
	*js = NULL;
	if (*nc) {
		natsConnection_Close(*nc);
		natsConnection_Destroy(*nc);
	}
	*nc = NULL;
}

/* Makes sure the stream exists: created with --cluster-replicas replicas, fewer when the
 * cluster is smaller (JetStream refuses them). 0 or -1 with why. */
int cluster__ensure_stream(struct elog_cluster *c, jsCtx *js, char *why, size_t whysz)
{
	jsStreamInfo *si = NULL;
	jsStreamConfig cfg;
	jsErrCode jerr = 0;
	natsStatus s;
	const char *subjects[] = { "elog.>" };
	int r;

	s = js_GetStreamInfo(&si, js, c->stream, NULL, &jerr);
	if (s == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (s != NATS_NOT_FOUND) {
		nats_why(s, jerr, why, whysz);
		return -1;
	}
	for (r = c->o.replicas > 0 ? c->o.replicas : 3; r >= 1; r--) {
		jsStreamConfig_Init(&cfg);
		cfg.Name = c->stream;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		cfg.Replicas = r;
		/* the history's retention (--retain-size, --retain-age) bounds the stream;
		 * JetStream wants the duplicate window within max_age */
		cfg.MaxBytes = c->o.max_bytes > 0 ? c->o.max_bytes : -1;
		cfg.MaxAge = c->o.max_age_ns > 0 ? c->o.max_age_ns : 0;
		cfg.Duplicates = ELOG_CLUSTER_DUP_WINDOW_NS;
		if (cfg.MaxAge > 0 && cfg.MaxAge < cfg.Duplicates)
			cfg.Duplicates = cfg.MaxAge;
		jerr = 0;
		s = js_AddStream(&si, js, &cfg, NULL, &jerr);
		if (s == NATS_OK) {
			jsStreamInfo_Destroy(si);
			cluster__report(c, "cluster: created stream '%s' with %d replica%s, max_bytes "
					"%lld, max_age %lld s", c->stream, r, r == 1 ? "" : "s",
					(long long)cfg.MaxBytes,
					(long long)(cfg.MaxAge / 1000000000LL));
			return 0;
		}
		/* 10058: stream name already in use (another box made it meanwhile) */
		if (jerr == 10058)
			return 0;
		/* 10074 replicas > 1 not supported in non-clustered mode; 10023 insufficient
		 * resources (fewer servers than replicas) */
		if (jerr != 10074 && jerr != 10023)
			break;
	}
	nats_why(s, jerr, why, whysz);
	return -1;
}

/* ---- lifecycle ---- */

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

int elog_cluster_start(struct elog_cluster **out, const struct elog_cluster_opts *o,
		       struct elog_err *err)
{
	struct elog_cluster *c;
	struct elog_buf t = ELOG_BUF_INIT;
	char *p, *save = NULL;

	*out = NULL;
	if (!o->node || !*o->node)
		return elog_err_set(err, ELOG_EUSAGE, "--node: a node name is needed");
	if (strlen(o->node) > 256)
		return elog_err_set(err, ELOG_EUSAGE, "--node '%.32s...' is longer than the limit "
				    "of 256 bytes (node name)", o->node);
	if (!elog_utf8_valid(o->node, strlen(o->node)) || strchr(o->node, '/'))
		return elog_err_set(err, ELOG_EUSAGE, "--node '%s': a name in UTF-8 without '/'",
				    o->node);
	if (o->aggregate && !o->hub)
		return elog_err_set(err, ELOG_EUSAGE, "--aggregate needs the hub");
	if (o->creds_file && *o->creds_file) {
		/* read when connecting, again at each reconnection: a path that cannot be
		 * read now would only show as a refused login, retried for ever */
		FILE *f = fopen(o->creds_file, "r");

		if (!f)
			return elog_err_set(err, ELOG_EUSAGE, "--cluster-creds '%s': %s",
					    o->creds_file, strerror(errno));
		fclose(f);
	}
	c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->servers_buf = xstrdup(o->servers);
	for (p = strtok_r(c->servers_buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		while (*p == ' ')
			p++;
		if (!*p)
			continue;
		if (strncmp(p, "nats://", 7) != 0 && strncmp(p, "tls://", 6) != 0) {
			elog_err_set(err, ELOG_EUSAGE, "--cluster '%s': each server is "
				     "nats://HOST:PORT (or tls://HOST:PORT)", p);
			free(c->servers);
			free(c->servers_buf);
			free(c);
			return ELOG_EUSAGE;
		}
		c->servers = xrealloc(c->servers, (size_t)(c->nservers + 1) * sizeof(*c->servers));
		c->servers[c->nservers++] = p;
	}
	if (!c->nservers) {
		free(c->servers_buf);
		free(c);
		return elog_err_set(err, ELOG_EUSAGE, "--cluster: no server given");
	}
	c->node = xstrdup(o->node);
	c->stream = xstrdup(o->stream && *o->stream ? o->stream : "ELOG");
	c->creds = dup_or_null(o->creds_file);
	c->user = dup_or_null(o->user);
	c->password = dup_or_null(o->password);
	c->token = dup_or_null(o->token);
	c->ca = dup_or_null(o->ca_file);
	c->db_path = xstrdup(o->db_path);
	elog_cluster_token(&t, c->node);
	c->node_token = elog_buf_detach(&t);
	pthread_mutex_init(&c->mu, NULL);
	elog_cond_init(&c->cv);
	if (pthread_create(&c->pub_thread, NULL, cluster__publisher, c) == 0)
		c->pub_started = 1;
	if (o->aggregate && pthread_create(&c->agg_thread, NULL, cluster__aggregator, c) == 0)
		c->agg_started = 1;
	*out = c;
	return 0;
}

void elog_cluster_stop(struct elog_cluster *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	c->stopping = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (c->agg_started)
		pthread_join(c->agg_thread, NULL);
	if (c->pub_started)
		pthread_join(c->pub_thread, NULL);
	nats_CloseAndWait(2000);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c->servers);
	free(c->servers_buf);
	free(c->node);
	free(c->node_token);
	free(c->stream);
	free(c->creds);
	free(c->user);
	free(c->password);
	free(c->token);
	free(c->ca);
	free(c->db_path);
	free(c);
}

void elog_cluster_stats(struct elog_cluster *c, struct elog_cluster_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	pthread_mutex_lock(&c->mu);
	st->connected = c->connected;
	st->cursor = c->cursor;
	st->behind = c->behind;
	st->behind_ns = c->behind_ns;
	st->published = c->published;
	st->aggregated = c->aggregated;
	st->gaps = c->gaps;
	pthread_mutex_unlock(&c->mu);
}
