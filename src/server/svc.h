/*
 * svc.h — the services `elog serve` answers, over one hub. Each svc_*.c registers the methods
 * of one contract on the rpc server; the struct elog_svc is shared and outlives the server.
 */
#ifndef ELOG_SVC_H
#define ELOG_SVC_H

#include <pthread.h>
#include <stdint.h>
#include "hub/hub.h"
#include "rpc/rpc.h"
#include "common/filter.h"

struct elog_registry;
struct elog_sessionlog;
struct elog_auth;

/* What `elog ps` shows of serve --cluster (src/outbound/cluster.h has the meaning). */
struct elog_svc_cluster {
	int connected;
	int64_t cursor;
	uint64_t behind;
	int64_t behind_ns;
	uint64_t published, aggregated;
};

struct elog_svc {
	struct elog_hub *hub;
	const char *db_path;
	struct elog_registry *registry;   /* flowctl services */
	struct elog_sessionlog *slog;      /* logging.v1 session files (sessionlog.h); opened by serve */
	int64_t heartbeat_ttl_ns;          /* healthy = heartbeat within this; default 30 s */
	int auth_required;                 /* serve --auth: every call but ValidateApiKey needs a key */
	struct elog_auth *auth;            /* svc_auth.c's state */
	/* serve --cluster: the publisher's state for Hub/Stats (`elog ps`); NULL: no cluster */
	void (*cluster_state)(void *ctx, struct elog_svc_cluster *out);
	char *cluster_node;
};

void elog_svc_hub_register(struct rpc_server *s, struct elog_svc *svc);      /* elog.v1.Hub */
void elog_svc_flowctl_register(struct rpc_server *s, struct elog_svc *svc);  /* flowctl.ControlPlane */
void elog_svc_relay_register(struct rpc_server *s, struct elog_svc *svc);    /* electrician.RelayService */
/* opentelemetry.proto.collector.{logs,trace,metrics}.v1 Export (svc_otlp.c) */
void elog_svc_otlp_register(struct rpc_server *s, struct elog_svc *svc);
/* ingestion.InternalIngestionService/ReadSpans (svc_readspans.c) */
void elog_svc_readspans_register(struct rpc_server *s, struct elog_svc *svc);
void elog_svc_flowctl_free(struct elog_svc *svc);
/* A read-only copy of one flowctl registry entry (elog_svc_flowctl_snapshot). */
struct elog_flowctl_service {
	char *service_id;
	char *component_id;
	int type;                       /* flowctl.ServiceType */
	int healthy;                    /* heartbeat within svc->heartbeat_ttl_ns */
	int64_t last_heartbeat_ns;      /* registering counts as one */
	size_t nmetrics;                /* metrics of the last heartbeat */
};
/* Copies the registry (expired entries left out) into *out, sorted by service id, as of now_ns;
 * *n is 0 when serve has no registry. Free with elog_flowctl_services_free. */
void elog_svc_flowctl_snapshot(struct elog_svc *svc, int64_t now_ns,
			       struct elog_flowctl_service **out, size_t *n);
void elog_flowctl_services_free(struct elog_flowctl_service *v, size_t n);
/* "source", "processor", ... for a flowctl.ServiceType; "unspecified" for others. */
const char *elog_flowctl_type_name(int type);
/* logging.v1.LogService (needs svc->slog); the free closes svc->slog after the server is shut
 * down: queues written, files fsynced and closed, pending compression finished. */
void elog_svc_logsvc_register(struct rpc_server *s, struct elog_svc *svc);
void elog_svc_logsvc_free(struct elog_svc *svc);
/* ingestion.InternalAuthService, and the API key gate on every other call when auth_required
 * (set it before registering). */
void elog_svc_auth_register(struct rpc_server *s, struct elog_svc *svc);
/* May a call carrying an API key be admitted? Only over TLS, or from a loopback peer
 * (rpc_peer_is_loopback): a key sent in plaintext across the network is refused. */
int elog_auth_key_transport_ok(int secure, const char *peer);
void elog_svc_auth_free(struct elog_svc *svc);

/*
 * The read path shared by elog.v1.Hub/Read and flowctl GetLogs: history matching f (the last
 * f->limit when set), then, with follow, live records with neither gap nor duplicate. Records
 * go to sink->add; sink->flush sends what was added (live marks the end of history, missed
 * reports a gap). Returns when the call dies, the server stops, or history ends without follow.
 * Returns an rpc status to finish the call with, details in msg.
 */
struct elog_read_sink {
	void *ctx;
	/* Adds one record to the message being built; returns 1 when it should be sent now. */
	int (*add)(struct elog_read_sink *s, const struct elog_record *r);
	/* Sends the message being built (possibly empty when live or missed is set). 0 or -1. */
	int (*flush)(struct elog_read_sink *s, int live, uint64_t missed, int64_t missed_from,
		     int64_t missed_to);
	/* Optional (NULL: the contract cannot say it): puts in the message being built that
	 * the records before id `before` that the reader asked for were removed by retention
	 * (called at most once per stream). 0 or -1. */
	int (*removed)(struct elog_read_sink *s, int64_t before);
	/* Optional (NULL: live records go through add): adds a live record already encoded as
	 * field 1 of an elog.v1.RecordPage (hub.h, elog_follower_scan), so a contract whose page
	 * is a RecordPage copies the bytes the hub encoded once for all followers. Returns as
	 * add does. */
	int (*add_wire)(struct elog_read_sink *s, const struct elog_record *r, const void *wire,
			size_t len);
};
int elog_svc_stream_records(struct elog_svc *svc, struct rpc_call *call,
			    const struct elog_filter *f, int follow, struct elog_read_sink *sink,
			    char *msg, size_t msgsz);

/* Receives the request of a method that does not use its content, and drops it. Returns 0,
 * or -1 when it did not decode (the call is then finished with INVALID_ARGUMENT
 * "undecodable <message name>"). */
int elog_svc_recv_ignored(struct rpc_call *call, const ProtobufCMessageDescriptor *d);

/* Maps a store/hub error code to the rpc status a sender should see. */
int elog_svc_status_of(int elog_rc);

/* Takes a protobuf-c string field: returns it (and clears the field) when it is a heap string
 * that is valid UTF-8, else a repaired copy. Never NULL. */
char *elog_svc_take_string(char **pbfield);

#endif
