/*
 * registry.h — the flowctl service registry, the data structure: services sorted by id, each
 * with its type, component, last heartbeat and the metrics of that heartbeat, in memory that
 * every client shares. An entry expires ELOG_REGISTRY_EXPIRE_TTLS heartbeat TTLs after its
 * last heartbeat. svc_flowctl.c is its RPC glue (Register, Heartbeat, GetServiceStatus,
 * ListServices, and the limits they check); svc_hub.c's Stats (`elog ps`) reads a snapshot.
 *
 * Locking: g->mu guards everything; functions named *_locked expect it held, the others take
 * it. Entries and their strings belong to the registry (malloc'd); elog_registry_free frees
 * them all.
 */
#ifndef ELOG_REGISTRY_H
#define ELOG_REGISTRY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct elog_flowctl_service;

#define ELOG_REGISTRY_EXPIRE_TTLS 10    /* no heartbeat for this many TTLs: entry removed */

struct elog_reg_metric {
	char *key;
	double value;
};

struct elog_reg_entry {
	char *id;
	int type;                       /* flowctl.ServiceType */
	char *component_id;
	struct elog_reg_metric *metrics;
	size_t nmetrics;
	int64_t last_heartbeat_ns;      /* 0 until registered / heartbeat */
};

struct elog_registry {
	pthread_mutex_t mu;
	struct elog_reg_entry *v;       /* sorted by id */
	size_t n, cap;
};

struct elog_registry *elog_registry_new(void);
/* Frees the registry and every entry; accepts NULL. */
void elog_registry_free(struct elog_registry *g);

/* Frees e's metrics (and leaves it with none). */
void elog_reg_metrics_clear(struct elog_reg_entry *e);

/* Index of id, or -(insertion point) - 1. */
long elog_registry_find_locked(const struct elog_registry *g, const char *id);

/* Inserts a zeroed entry for id (malloc'd, taken) at pos, a negative elog_registry_find_locked
 * result for id; returns it. */
struct elog_reg_entry *elog_registry_insert_locked(struct elog_registry *g, long pos, char *id);

/* Removes the entries whose last heartbeat is ELOG_REGISTRY_EXPIRE_TTLS * ttl_ns old. */
void elog_registry_expire_locked(struct elog_registry *g, int64_t ttl_ns, int64_t now_ns);

/* A fresh random id ("svc-" and 16 hex digits) that no entry has, into buf. */
void elog_registry_new_id_locked(const struct elog_registry *g, char *buf, size_t bufsz);

/* Copies the entries (those expire would remove left out, without removing them) into *out,
 * sorted by id, healthy when their last heartbeat is within ttl_ns of now_ns. Free with
 * elog_flowctl_services_free (svc.h). */
void elog_registry_snapshot(struct elog_registry *g, int64_t ttl_ns, int64_t now_ns,
			    struct elog_flowctl_service **out, size_t *n);

/* The registry's RPCs (svc_flowctl_registry.c), registered by elog_svc_flowctl_register. */
struct rpc_server;
struct elog_svc;
void elog_svc_flowctl_registry_register(struct rpc_server *s, struct elog_svc *svc);

#endif
