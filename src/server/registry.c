/*
 * registry.c — the flowctl service registry (see registry.h).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/registry.h"
#include "server/svc.h"
#include "common/util.h"

struct elog_registry *elog_registry_new(void)
{
	struct elog_registry *g = xcalloc(1, sizeof(*g));

	pthread_mutex_init(&g->mu, NULL);
	return g;
}

static void entry_clear(struct elog_reg_entry *e)
{
	free(e->id);
	free(e->component_id);
	elog_reg_metrics_clear(e);
}

void elog_registry_free(struct elog_registry *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++)
		entry_clear(&g->v[i]);
	free(g->v);
	pthread_mutex_destroy(&g->mu);
	free(g);
}

void elog_reg_metrics_clear(struct elog_reg_entry *e)
{
	size_t i;

	for (i = 0; i < e->nmetrics; i++)
		free(e->metrics[i].key);
	free(e->metrics);
	e->metrics = NULL;
	e->nmetrics = 0;
}

long elog_registry_find_locked(const struct elog_registry *g, const char *id)
{
	size_t lo = 0, hi = g->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(g->v[mid].id, id);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

struct elog_reg_entry *elog_registry_insert_locked(struct elog_registry *g, long pos, char *id)
{
	size_t at = (size_t)(-pos - 1);
	struct elog_reg_entry *e;

	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->v = xrealloc(g->v, g->cap * sizeof(*g->v));
	}
	memmove(&g->v[at + 1], &g->v[at], (g->n - at) * sizeof(*g->v));
	g->n++;
	e = &g->v[at];
	memset(e, 0, sizeof(*e));
	e->id = id;
	return e;
}

/* Entries whose last heartbeat is before this are expired. */
static int64_t keep_after(int64_t ttl, int64_t now)
{
	return ttl > (INT64_MAX / 2) / ELOG_REGISTRY_EXPIRE_TTLS ? INT64_MIN
								 : now - ELOG_REGISTRY_EXPIRE_TTLS * ttl;
}

void elog_registry_expire_locked(struct elog_registry *g, int64_t ttl_ns, int64_t now_ns)
{
	int64_t keep = keep_after(ttl_ns, now_ns);
	size_t i, k = 0;

	for (i = 0; i < g->n; i++) {
		struct elog_reg_entry *e = &g->v[i];

		if (e->last_heartbeat_ns < keep) {
			entry_clear(e);
			continue;
		}
		if (k != i)
			g->v[k] = *e;
		k++;
	}
	g->n = k;
}

static void random_id(char *buf, size_t bufsz)
{
	unsigned char b[8];
	size_t i, got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t r = read(fd, b, sizeof(b));

		got = r > 0 ? (size_t)r : 0;
		close(fd);
	}
	if (got < sizeof(b)) {
		uint64_t x = (uint64_t)elog_now_ns() ^ ((uint64_t)getpid() << 32) ^
			     (uint64_t)elog_mono_ns() * 0x9E3779B97F4A7C15ull;

		for (i = 0; i < sizeof(b); i++) {
			x ^= x >> 33;
			x *= 0xff51afd7ed558ccdull;
			b[i] = (unsigned char)(x >> 56);
		}
	}
	snprintf(buf, bufsz, "svc-");
	for (i = 0; i < sizeof(b) && 4 + 2 * i + 2 < bufsz; i++)
		snprintf(buf + 4 + 2 * i, bufsz - 4 - 2 * i, "%02x", b[i]);
}

void elog_registry_new_id_locked(const struct elog_registry *g, char *buf, size_t bufsz)
{
	do
		random_id(buf, bufsz);
	while (elog_registry_find_locked(g, buf) >= 0);
}

void elog_registry_snapshot(struct elog_registry *g, int64_t ttl_ns, int64_t now_ns,
			    struct elog_flowctl_service **out, size_t *n)
{
	int64_t keep = keep_after(ttl_ns, now_ns);
	struct elog_flowctl_service *v;
	size_t i, k = 0;

	pthread_mutex_lock(&g->mu);
	v = xcalloc(g->n + 1, sizeof(*v));
	for (i = 0; i < g->n; i++) {
		const struct elog_reg_entry *e = &g->v[i];

		if (e->last_heartbeat_ns < keep)
			continue;
		v[k].service_id = xstrdup(e->id);
		v[k].component_id = xstrdup(e->component_id ? e->component_id : "");
		v[k].type = e->type;
		v[k].healthy = e->last_heartbeat_ns > 0 && now_ns - e->last_heartbeat_ns <= ttl_ns;
		v[k].last_heartbeat_ns = e->last_heartbeat_ns;
		v[k].nmetrics = e->nmetrics;
		k++;
	}
	pthread_mutex_unlock(&g->mu);
	*out = v;
	*n = k;
}

void elog_flowctl_services_free(struct elog_flowctl_service *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].service_id);
		free(v[i].component_id);
	}
	free(v);
}
