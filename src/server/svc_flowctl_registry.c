/*
 * svc_flowctl_registry.c — flowctl.ControlPlane's registry RPCs (contracts.md §3): Register,
 * Heartbeat, GetServiceStatus and ListServices over the registry of registry.h, with the
 * limits they check, and the registry's snapshot for `elog ps`. The log RPCs are in
 * svc_flowctl.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/svc.h"
#include "server/registry.h"
#include "server/convert.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "common/json.h"
#include "flowctl.pb-c.h"

#define DEFAULT_HEARTBEAT_TTL_NS (30LL * 1000000000LL)

/* Registry limits (README "Limits"): the registry is memory every client shares, and
 * ListServices must fit in what a default gRPC client accepts. */
#define FLOWCTL_MAX_ID 256              /* bytes of a service_id, component_id, event type */
#define FLOWCTL_MAX_SERVICES 1024       /* entries in the registry */
#define FLOWCTL_MAX_EVENT_TYPES 1024    /* output_event_types of one Register */
#define FLOWCTL_MAX_METRICS 256         /* metrics of one heartbeat */
#define FLOWCTL_MAX_METRIC_KEY 128      /* bytes of a metric's name */
#define FLOWCTL_LIST_MAX_BYTES (4 << 20) /* ListServices response (gRPC clients' default) */

static int64_t heartbeat_ttl(const struct elog_svc *svc)
{
	return svc->heartbeat_ttl_ns > 0 ? svc->heartbeat_ttl_ns : DEFAULT_HEARTBEAT_TTL_NS;
}

/* Checks that protobuf string s (named what) is at most FLOWCTL_MAX_ID bytes; else fills msg. */
static int id_ok(const char *what, const char *s, char *msg, size_t msgsz)
{
	size_t n = s ? strlen(s) : 0;

	if (n <= FLOWCTL_MAX_ID)
		return 1;
	snprintf(msg, msgsz, "'%s' is %zu bytes, over the limit of %d (flowctl id length)", what, n,
		 FLOWCTL_MAX_ID);
	return 0;
}

static void fill_status(const struct elog_svc *svc, const struct elog_reg_entry *e,
			Flowctl__ServiceStatus *st, Google__Protobuf__Timestamp *ts,
			Flowctl__ServiceStatus__MetricsEntry *mv,
			Flowctl__ServiceStatus__MetricsEntry **mp, int64_t now)
{
	int64_t ttl = heartbeat_ttl(svc);
	size_t i;

	flowctl__service_status__init(st);
	st->service_id = e->id;
	st->service_type = (Flowctl__ServiceType)e->type;
	st->component_id = e->component_id;
	st->is_healthy = e->last_heartbeat_ns > 0 && now - e->last_heartbeat_ns <= ttl;
	if (e->last_heartbeat_ns > 0) {
		google__protobuf__timestamp__init(ts);
		elog_conv_ts(e->last_heartbeat_ns, ts);
		st->last_heartbeat = ts;
	}
	for (i = 0; i < e->nmetrics; i++) {
		flowctl__service_status__metrics_entry__init(&mv[i]);
		mv[i].key = e->metrics[i].key;
		mv[i].value = e->metrics[i].value;
		mp[i] = &mv[i];
	}
	st->n_metrics = e->nmetrics;
	st->metrics = e->nmetrics ? mp : NULL;
}

/* A history record of a registry event, committed in the background. */
struct note {
	struct elog_ingest in;
	struct elog_record rec;
};

static void note_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct note *n = (struct note *)in;

	(void)rc;
	(void)msg;
	elog_record_clear(&n->rec);
	free(n);
}

static void registry_note(struct elog_svc *svc, const char *fmt, const char *id)
{
	struct note *n;
	struct elog_buf b = ELOG_BUF_INIT;

	if (!svc->hub)
		return;
	n = xcalloc(1, sizeof(*n));
	elog_record_init(&n->rec);
	n->rec.level = ELOG_LEVEL_INFO;
	n->rec.ts_ns = elog_now_ns();
	elog_record_set(&n->rec.component, "flowctl", 7);
	elog_record_set(&n->rec.source, "flowctl", 7);
	elog_buf_addf(&b, fmt, id);
	elog_record_take(&n->rec.msg, elog_buf_detach(&b));
	elog_buf_adds(&b, "{\"service_id\":");
	elog_json_quote(&b, id, strlen(id));
	elog_buf_addc(&b, '}');
	elog_record_take(&n->rec.fields, elog_buf_detach(&b));
	n->in.recs = &n->rec;
	n->in.n = 1;
	n->in.done = note_done;
	if (elog_hub_submit(svc->hub, &n->in) != 0) {
		elog_record_clear(&n->rec);
		free(n);
	}
}

static void fc_register(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_registry *g = svc->registry;
	Flowctl__RegistrationAck ack = FLOWCTL__REGISTRATION_ACK__INIT;
	Flowctl__ServiceInfo *info;
	ProtobufCMessage *m;
	struct elog_reg_entry *e;
	char idbuf[64], msg[160];
	char *id;
	long pos;
	int created = 0;
	size_t i;
	int64_t now = elog_now_ns();

	if (rpc_call_recv(call, &flowctl__service_info__descriptor, &m) != 1) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable flowctl.ServiceInfo");
		return;
	}
	info = (Flowctl__ServiceInfo *)m;
	msg[0] = '\0';
	if (info->n_output_event_types > FLOWCTL_MAX_EVENT_TYPES)
		snprintf(msg, sizeof(msg), "'output_event_types' has %zu entries, over the limit of %d "
			 "(flowctl event types)", info->n_output_event_types, FLOWCTL_MAX_EVENT_TYPES);
	for (i = 0; !msg[0] && i < info->n_output_event_types; i++)
		id_ok("output_event_types", info->output_event_types[i], msg, sizeof(msg));
	if (!msg[0] && id_ok("service_id", info->service_id, msg, sizeof(msg)))
		id_ok("component_id", info->component_id, msg, sizeof(msg));
	if (msg[0]) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, msg);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	pthread_mutex_lock(&g->mu);
	elog_registry_expire_locked(g, heartbeat_ttl(svc), now);
	if (info->service_id && *info->service_id) {
		id = elog_conv_strdup(info->service_id);
	} else {
		elog_registry_new_id_locked(g, idbuf, sizeof(idbuf));
		id = xstrdup(idbuf);
	}
	pos = elog_registry_find_locked(g, id);
	if (pos < 0 && g->n >= FLOWCTL_MAX_SERVICES) {
		pthread_mutex_unlock(&g->mu);
		free(id);
		snprintf(msg, sizeof(msg), "registry full: the limit of %d services (flowctl services)",
			 FLOWCTL_MAX_SERVICES);
		rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, msg);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	if (pos < 0) {
		e = elog_registry_insert_locked(g, pos, id);
		created = 1;
	} else {
		e = &g->v[pos];
		free(id);
		free(e->component_id);
	}
	e->type = info->service_type;
	e->component_id = elog_conv_strdup(info->component_id);
	e->last_heartbeat_ns = now;   /* registering counts as a heartbeat */
	id = xstrdup(e->id);
	pthread_mutex_unlock(&g->mu);

	ack.service_id = id;
	ack.n_topic_names = info->n_output_event_types;
	ack.topic_names = info->output_event_types;
	if (rpc_call_send(call, &ack.base) == 0)
		rpc_call_finish(call, RPC_OK, NULL);
	else
		rpc_call_finish(call, RPC_CANCELLED, NULL);
	registry_note(svc, created ? "service '%s' registered" : "service '%s' registered again",
		      id);
	free(id);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* The heartbeat's metrics, a repeated name's last value winning (O(n log n)), into
 * *out / *nout; or 0 with msg filled when they pass a limit. */
static int heartbeat_metrics(const Flowctl__ServiceHeartbeat *hb, struct elog_reg_metric **out,
			     size_t *nout, char *msg, size_t msgsz)
{
	size_t n = hb->n_metrics, i, k;
	const char **keys;
	size_t *keep;
	struct elog_reg_metric *v;

	*out = NULL;
	*nout = 0;
	if (n > FLOWCTL_MAX_METRICS) {
		snprintf(msg, msgsz, "heartbeat has %zu metrics, over the limit of %d (flowctl metrics)",
			 n, FLOWCTL_MAX_METRICS);
		return 0;
	}
	if (n == 0)
		return 1;
	keys = xcalloc(n, sizeof(*keys));
	keep = xcalloc(n, sizeof(*keep));
	for (i = 0; i < n; i++) {
		const char *key = hb->metrics[i] && hb->metrics[i]->key ? hb->metrics[i]->key : NULL;

		if (key && strlen(key) > FLOWCTL_MAX_METRIC_KEY) {
			snprintf(msg, msgsz, "metric name of %zu bytes, over the limit of %d "
				 "(flowctl metric name length)", strlen(key), FLOWCTL_MAX_METRIC_KEY);
			free(keys);
			free(keep);
			return 0;
		}
		keys[i] = key;
	}
	k = elog_keys_last_wins(keys, n, keep);
	v = xcalloc(k + 1, sizeof(*v));
	for (i = 0; i < k; i++) {
		v[i].key = elog_conv_strdup(keys[keep[i]]);
		v[i].value = hb->metrics[keep[i]]->value;
	}
	free(keys);
	free(keep);
	*out = v;
	*nout = k;
	return 1;
}

static void fc_heartbeat(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_registry *g = svc->registry;
	Google__Protobuf__Empty empty = GOOGLE__PROTOBUF__EMPTY__INIT;
	Flowctl__ServiceHeartbeat *hb;
	ProtobufCMessage *m;
	struct elog_reg_metric *mv;
	struct elog_reg_entry old;
	char msg[600];
	long pos;
	size_t nm;

	if (rpc_call_recv(call, &flowctl__service_heartbeat__descriptor, &m) != 1) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable flowctl.ServiceHeartbeat");
		return;
	}
	hb = (Flowctl__ServiceHeartbeat *)m;
	if (!heartbeat_metrics(hb, &mv, &nm, msg, sizeof(msg))) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, msg);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	memset(&old, 0, sizeof(old));
	pthread_mutex_lock(&g->mu);
	pos = elog_registry_find_locked(g, hb->service_id ? hb->service_id : "");
	if (pos >= 0) {
		struct elog_reg_entry *e = &g->v[pos];

		/* swapped under the lock, freed after it */
		old.metrics = e->metrics;
		old.nmetrics = e->nmetrics;
		e->metrics = mv;
		e->nmetrics = nm;
		e->last_heartbeat_ns = elog_now_ns();
	} else {
		old.metrics = mv;
		old.nmetrics = nm;
	}
	pthread_mutex_unlock(&g->mu);
	elog_reg_metrics_clear(&old);
	if (pos < 0) {
		char *id = elog_conv_strdup(hb->service_id);

		snprintf(msg, sizeof(msg), "service '%.500s' is not registered", id);
		free(id);
		rpc_call_finish(call, RPC_NOT_FOUND, msg);
	} else {
		rpc_call_send(call, &empty.base);
		rpc_call_finish(call, RPC_OK, NULL);
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

static void fc_status(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_registry *g = svc->registry;
	Flowctl__ServiceInfo *info;
	ProtobufCMessage *m;
	char msg[600];
	long pos;

	if (rpc_call_recv(call, &flowctl__service_info__descriptor, &m) != 1) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable flowctl.ServiceInfo");
		return;
	}
	info = (Flowctl__ServiceInfo *)m;
	pthread_mutex_lock(&g->mu);
	elog_registry_expire_locked(g, heartbeat_ttl(svc), elog_now_ns());
	pos = elog_registry_find_locked(g, info->service_id ? info->service_id : "");
	if (pos >= 0) {
		struct elog_reg_entry *e = &g->v[pos];
		Flowctl__ServiceStatus st;
		Google__Protobuf__Timestamp ts;
		Flowctl__ServiceStatus__MetricsEntry *mv = xcalloc(e->nmetrics + 1, sizeof(*mv));
		Flowctl__ServiceStatus__MetricsEntry **mp = xcalloc(e->nmetrics + 1, sizeof(*mp));

		fill_status(svc, e, &st, &ts, mv, mp, elog_now_ns());
		rpc_call_send(call, &st.base);   /* packed now */
		pthread_mutex_unlock(&g->mu);
		free(mv);
		free(mp);
		rpc_call_finish(call, RPC_OK, NULL);
	} else {
		char *id;

		pthread_mutex_unlock(&g->mu);
		id = elog_conv_strdup(info->service_id);
		snprintf(msg, sizeof(msg), "service '%.500s' is not registered", id);
		free(id);
		rpc_call_finish(call, RPC_NOT_FOUND, msg);
	}
	protobuf_c_message_free_unpacked(m, NULL);
}

/*
 * Keeps a ListServices response within FLOWCTL_LIST_MAX_BYTES: every service is listed, and
 * the services' metrics are included in id order while they fit; the rest are listed without
 * metrics (GetServiceStatus has them). The limits on ids and services keep the services
 * alone far below it (1024 x ~600 bytes).
 */
static void list_trim(Flowctl__ServiceStatus *sts, size_t n)
{
	size_t i, bare = 0, budget;
	size_t *full = xcalloc(n + 1, sizeof(*full));

	for (i = 0; i < n; i++) {
		size_t nm = sts[i].n_metrics;

		full[i] = protobuf_c_message_get_packed_size(&sts[i].base);
		sts[i].n_metrics = 0;
		bare += protobuf_c_message_get_packed_size(&sts[i].base) + 6;  /* + tag, length */
		sts[i].n_metrics = nm;
	}
	budget = bare < FLOWCTL_LIST_MAX_BYTES ? FLOWCTL_LIST_MAX_BYTES - bare : 0;
	for (i = 0; i < n; i++) {
		size_t nm = sts[i].n_metrics, extra;

		sts[i].n_metrics = 0;
		extra = full[i] - protobuf_c_message_get_packed_size(&sts[i].base);
		if (extra > budget)
			break;
		budget -= extra;
		sts[i].n_metrics = nm;
	}
	for (; i < n; i++) {
		sts[i].n_metrics = 0;
		sts[i].metrics = NULL;
	}
	free(full);
}

static void fc_list(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_registry *g = svc->registry;
	Flowctl__ServiceList list = FLOWCTL__SERVICE_LIST__INIT;
	Flowctl__ServiceStatus *sts, **stp;
	Google__Protobuf__Timestamp *tss;
	Flowctl__ServiceStatus__MetricsEntry *mv, **mp;
	size_t i, nm = 0, off = 0;
	int64_t now = elog_now_ns();
	int rc;

	if (elog_svc_recv_ignored(call, &google__protobuf__empty__descriptor) != 0)
		return;
	pthread_mutex_lock(&g->mu);
	elog_registry_expire_locked(g, heartbeat_ttl(svc), now);
	for (i = 0; i < g->n; i++)
		nm += g->v[i].nmetrics;
	sts = xcalloc(g->n + 1, sizeof(*sts));
	stp = xcalloc(g->n + 1, sizeof(*stp));
	tss = xcalloc(g->n + 1, sizeof(*tss));
	mv = xcalloc(nm + 1, sizeof(*mv));
	mp = xcalloc(nm + 1, sizeof(*mp));
	for (i = 0; i < g->n; i++) {
		fill_status(svc, &g->v[i], &sts[i], &tss[i], mv + off, mp + off, now);
		off += g->v[i].nmetrics;
		stp[i] = &sts[i];
	}
	list_trim(sts, g->n);
	list.n_services = g->n;
	list.services = g->n ? stp : NULL;
	rc = rpc_call_send(call, &list.base);
	pthread_mutex_unlock(&g->mu);
	free(sts);
	free(stp);
	free(tss);
	free(mv);
	free(mp);
	rpc_call_finish(call, rc == 0 ? RPC_OK : RPC_CANCELLED, NULL);
}

void elog_svc_flowctl_free(struct elog_svc *svc)
{
	if (!svc)
		return;
	elog_registry_free(svc->registry);
	svc->registry = NULL;
}

void elog_svc_flowctl_registry_register(struct rpc_server *s, struct elog_svc *svc)
{
	if (!svc->registry)
		svc->registry = elog_registry_new();
	rpc_server_add_method(s, "/flowctl.ControlPlane/Register", RPC_UNARY, fc_register, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/Heartbeat", RPC_UNARY, fc_heartbeat, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/GetServiceStatus", RPC_UNARY, fc_status,
			      svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/ListServices", RPC_UNARY, fc_list, svc);
}

/* ---- read-only snapshot (`elog ps`) ------------------------------------------------------ */

void elog_svc_flowctl_snapshot(struct elog_svc *svc, int64_t now_ns,
			       struct elog_flowctl_service **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (svc && svc->registry)
		elog_registry_snapshot(svc->registry, heartbeat_ttl(svc), now_ns, out, n);
}
