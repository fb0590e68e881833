/*
 * svc_flowctl.c — flowctl.ControlPlane (contracts.md §3): the in-memory service registry
 * (Register, Heartbeat, GetServiceStatus, ListServices) and the log RPCs over the hub:
 * StreamLogs (components push LogEntry; committed in groups, nothing sent back) and GetLogs
 * (history and, with follow, live entries, through the shared read path of svc_read.c).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "server/svc.h"
#include "server/inflight.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "server/convert.h"
#include "common/json.h"
#include "flowctl.pb-c.h"

#define STREAM_GROUP_MAX 4096      /* records held while the hub is busy */
#define STREAM_MAX_INFLIGHT 4      /* groups submitted and not yet committed */
#define GETLOGS_MAX_QUEUED 64      /* LogEntry messages waiting to be sent */
#define DEFAULT_HEARTBEAT_TTL_NS (30LL * 1000000000LL)

/* Registry limits (README "Limits"): the registry is memory every client shares, and
 * ListServices must fit in what a default gRPC client accepts. */
#define FLOWCTL_MAX_ID 256              /* bytes of a service_id, component_id, event type */
#define FLOWCTL_MAX_SERVICES 1024       /* entries in the registry */
#define FLOWCTL_MAX_EVENT_TYPES 1024    /* output_event_types of one Register */
#define FLOWCTL_MAX_METRICS 256         /* metrics of one heartbeat */
#define FLOWCTL_MAX_METRIC_KEY 128      /* bytes of a metric's name */
#define FLOWCTL_EXPIRE_TTLS 10          /* no heartbeat for this many TTLs: entry removed */
#define FLOWCTL_LIST_MAX_BYTES (4 << 20) /* ListServices response (gRPC clients' default) */

/* ---- small helpers ----------------------------------------------------------------------- */

static void ns_to_ts(int64_t ns, Google__Protobuf__Timestamp *ts)
{
	int64_t s = ns / NS_PER_S, n = ns % NS_PER_S;

	if (n < 0) {
		n += NS_PER_S;
		s--;
	}
	ts->seconds = s;
	ts->nanos = (int32_t)n;
}

/* A valid-UTF-8 malloc'd copy of a protobuf string field (never NULL). */
static char *pb_strdup(const char *s)
{
	if (!s)
		return xstrdup("");
	return elog_utf8_dup(s, strlen(s));
}

/* ---- the registry ------------------------------------------------------------------------ */

struct reg_metric {
	char *key;
	double value;
};

struct reg_entry {
	char *id;
	int type;
	char *component_id;
	struct reg_metric *metrics;
	size_t nmetrics;
	int64_t last_heartbeat_ns;   /* 0 until registered / heartbeat */
};

struct elog_registry {
	pthread_mutex_t mu;
	struct reg_entry *v;         /* sorted by id */
	size_t n, cap;
};

static void reg_metrics_clear(struct reg_entry *e)
{
	size_t i;

	for (i = 0; i < e->nmetrics; i++)
		free(e->metrics[i].key);
	free(e->metrics);
	e->metrics = NULL;
	e->nmetrics = 0;
}

/* Index of id, or -(insertion point) - 1. Under mu. */
static long reg_find(struct elog_registry *g, const char *id)
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

static int64_t heartbeat_ttl(const struct elog_svc *svc)
{
	return svc->heartbeat_ttl_ns > 0 ? svc->heartbeat_ttl_ns : DEFAULT_HEARTBEAT_TTL_NS;
}

/* Removes the entries whose last heartbeat is FLOWCTL_EXPIRE_TTLS TTLs old. Under mu. */
static void reg_expire(const struct elog_svc *svc, struct elog_registry *g, int64_t now)
{
	int64_t ttl = heartbeat_ttl(svc), keep_after;
	size_t i, k = 0;

	keep_after = ttl > (INT64_MAX / 2) / FLOWCTL_EXPIRE_TTLS ? INT64_MIN
							       : now - FLOWCTL_EXPIRE_TTLS * ttl;
	for (i = 0; i < g->n; i++) {
		struct reg_entry *e = &g->v[i];

		if (e->last_heartbeat_ns < keep_after) {
			free(e->id);
			free(e->component_id);
			reg_metrics_clear(e);
			continue;
		}
		if (k != i)
			g->v[k] = *e;
		k++;
	}
	g->n = k;
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

static void fill_status(const struct elog_svc *svc, const struct reg_entry *e,
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
		ns_to_ts(e->last_heartbeat_ns, ts);
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
	struct reg_entry *e;
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
	reg_expire(svc, g, now);
	if (info->service_id && *info->service_id) {
		id = pb_strdup(info->service_id);
	} else {
		do
			random_id(idbuf, sizeof(idbuf));
		while (reg_find(g, idbuf) >= 0);
		id = xstrdup(idbuf);
	}
	pos = reg_find(g, id);
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
		size_t at = (size_t)(-pos - 1);

		if (g->n == g->cap) {
			g->cap = g->cap ? 2 * g->cap : 16;
			g->v = xrealloc(g->v, g->cap * sizeof(*g->v));
		}
		memmove(&g->v[at + 1], &g->v[at], (g->n - at) * sizeof(*g->v));
		g->n++;
		e = &g->v[at];
		memset(e, 0, sizeof(*e));
		e->id = id;
		created = 1;
	} else {
		e = &g->v[pos];
		free(id);
		free(e->component_id);
	}
	e->type = info->service_type;
	e->component_id = pb_strdup(info->component_id);
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
static int heartbeat_metrics(const Flowctl__ServiceHeartbeat *hb, struct reg_metric **out,
			     size_t *nout, char *msg, size_t msgsz)
{
	size_t n = hb->n_metrics, i, k;
	const char **keys;
	size_t *keep;
	struct reg_metric *v;

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
		v[i].key = pb_strdup(keys[keep[i]]);
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
	struct reg_metric *mv;
	struct reg_entry old;
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
	pos = reg_find(g, hb->service_id ? hb->service_id : "");
	if (pos >= 0) {
		struct reg_entry *e = &g->v[pos];

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
	reg_metrics_clear(&old);
	if (pos < 0) {
		char *id = pb_strdup(hb->service_id);

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
	reg_expire(svc, g, elog_now_ns());
	pos = reg_find(g, info->service_id ? info->service_id : "");
	if (pos >= 0) {
		struct reg_entry *e = &g->v[pos];
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
		id = pb_strdup(info->service_id);
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
	ProtobufCMessage *m;
	size_t i, nm = 0, off = 0;
	int64_t now = elog_now_ns();
	int rc;

	rc = rpc_call_recv(call, &google__protobuf__empty__descriptor, &m);
	if (rc == 1)
		protobuf_c_message_free_unpacked(m, NULL);
	else if (rc == -2) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable google.protobuf.Empty");
		return;
	}
	pthread_mutex_lock(&g->mu);
	reg_expire(svc, g, now);
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

/* ---- StreamLogs ---------------------------------------------------------------------------- */

struct kv {
	const char *key;
	const char *val;
	size_t order;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Text that is valid UTF-8: s itself, or a repaired copy kept in *tmp (freed by the caller). */
static const char *utf8_ok(const char *s, char **tmp)
{
	size_t n;

	if (!s)
		return "";
	n = strlen(s);
	if (elog_utf8_valid(s, n))
		return s;
	*tmp = elog_utf8_dup(s, n);
	return *tmp;
}

/* The record's fields: the entry's map (keys sorted, the last of a repeated key wins) plus
 * component_type and an unrecognized level's text, which win over map keys of those names. */
static char *entry_fields(const Flowctl__LogEntry *e, const char *ctype, const char *rawlevel)
{
	size_t n = e->n_fields, k = 0, i;
	struct kv *v = xcalloc(n + 2, sizeof(*v));
	char **tmp = xcalloc(2 * (n + 2), sizeof(*tmp));
	struct elog_buf b = ELOG_BUF_INIT;
	int first = 1;

	for (i = 0; i < n; i++) {
		if (!e->fields[i])
			continue;
		v[k].key = utf8_ok(e->fields[i]->key, &tmp[2 * k]);
		v[k].val = utf8_ok(e->fields[i]->value, &tmp[2 * k + 1]);
		v[k].order = k;
		k++;
	}
	if (ctype && *ctype) {
		v[k].key = "component_type";
		v[k].val = utf8_ok(ctype, &tmp[2 * k + 1]);
		v[k].order = k;
		k++;
	}
	if (rawlevel && *rawlevel) {
		v[k].key = "level";
		v[k].val = utf8_ok(rawlevel, &tmp[2 * k + 1]);
		v[k].order = k;
		k++;
	}
	if (k == 0) {
		free(v);
		free(tmp);
		return xstrdup("");
	}
	qsort(v, k, sizeof(*v), kv_cmp);
	elog_buf_addc(&b, '{');
	for (i = 0; i < k; i++) {
		if (i + 1 < k && strcmp(v[i].key, v[i + 1].key) == 0)
			continue;
		if (!first)
			elog_buf_addc(&b, ',');
		first = 0;
		elog_json_quote(&b, v[i].key, strlen(v[i].key));
		elog_buf_addc(&b, ':');
		elog_json_quote(&b, v[i].val, strlen(v[i].val));
	}
	elog_buf_addc(&b, '}');
	for (i = 0; i < 2 * (n + 2); i++)
		free(tmp[i]);
	free(tmp);
	free(v);
	return elog_buf_detach(&b);
}


/* convert.h */
void elog_conv_flowctl_entry(struct elog_record *r, Flowctl__LogEntry *e)
{
	const char *lv = e->level ? e->level : "";
	int level = elog_level_parse(lv, strlen(lv));

	elog_record_init(r);
	r->ts_ns = elog_conv_event_ns(e->timestamp);
	r->level = level >= 0 ? level : ELOG_LEVEL_INFO;
	if (e->component_id && *e->component_id)
		elog_record_take(&r->component, elog_svc_take_string(&e->component_id));
	else if (e->component_type && *e->component_type)
		elog_record_set(&r->component, e->component_type, strlen(e->component_type));
	else
		elog_record_set(&r->component, "flowctl", 7);
	elog_record_take(&r->msg, elog_record_msg_dup(e->message, e->message ? strlen(e->message) : 0, NULL));
	elog_record_take(&r->fields, entry_fields(e, e->component_type, level >= 0 ? NULL : lv));
	elog_record_set(&r->source, "flowctl", 7);
}

struct stream_call {
	struct elog_svc *svc;
	struct elog_inflight inf;    /* its mu guards the rest; its failure ends the call */
	struct elog_record *grp;     /* received, not yet submitted */
	size_t n, cap;
	int closing;                 /* the receiver is done: submit the rest and end */
};

struct stream_req {
	struct elog_ingest in;
	struct stream_call *sc;
};

static void free_records(struct elog_record *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		elog_record_clear(&recs[i]);
	free(recs);
}

static void stream_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct stream_req *req = (struct stream_req *)in;
	struct stream_call *sc = req->sc;

	elog_inflight_done(&sc->inf, rc, msg);
	free_records(in->recs, in->n);
	free(req);
}

/* Submits what the receiver collected whenever fewer than STREAM_MAX_INFLIGHT groups wait for
 * their commit, so a fast stream goes to the hub in large groups and a slow one at once. */
static void *stream_submitter(void *arg)
{
	struct stream_call *sc = arg;

	pthread_mutex_lock(&sc->inf.mu);
	while (elog_inflight_wait_to_submit_locked(&sc->inf, STREAM_MAX_INFLIGHT, &sc->n, &sc->closing,
						   NULL)) {
		struct stream_req *req = xcalloc(1, sizeof(*req));

		req->sc = sc;
		req->in.recs = sc->grp;
		req->in.n = sc->n;
		req->in.done = stream_done;
		sc->grp = NULL;
		sc->n = sc->cap = 0;
		if (elog_inflight_submit_locked(&sc->inf, sc->svc->hub, &req->in) != 0) {
			pthread_mutex_unlock(&sc->inf.mu);
			free_records(req->in.recs, req->in.n);
			free(req);
			pthread_mutex_lock(&sc->inf.mu);
		}
	}
	elog_inflight_wait_locked(&sc->inf);
	free_records(sc->grp, sc->n);
	sc->grp = NULL;
	sc->n = sc->cap = 0;
	pthread_mutex_unlock(&sc->inf.mu);
	return NULL;
}

static void fc_stream_logs(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct stream_call sc;
	pthread_t th;
	int status = RPC_OK;
	const char *details = NULL;

	memset(&sc, 0, sizeof(sc));
	sc.svc = svc;
	elog_inflight_init(&sc.inf);
	if (pthread_create(&th, NULL, stream_submitter, &sc) != 0) {
		elog_inflight_destroy(&sc.inf);
		rpc_call_finish(call, RPC_RESOURCE_EXHAUSTED, "cannot start a thread");
		return;
	}
	for (;;) {
		ProtobufCMessage *m;
		struct elog_record rec;
		int rc = rpc_call_recv(call, &flowctl__log_entry__descriptor, &m);

		if (rc == 0)
			break;
		if (rc == -1) {
			status = RPC_CANCELLED;
			break;
		}
		if (rc == -2) {
			status = RPC_INVALID_ARGUMENT;
			details = "undecodable flowctl.LogEntry";
			break;
		}
		elog_conv_flowctl_entry(&rec, (Flowctl__LogEntry *)m);
		protobuf_c_message_free_unpacked(m, NULL);
		pthread_mutex_lock(&sc.inf.mu);
		while (sc.n >= STREAM_GROUP_MAX && !sc.inf.failed)
			pthread_cond_wait(&sc.inf.cv, &sc.inf.mu);
		if (sc.inf.failed) {
			pthread_mutex_unlock(&sc.inf.mu);
			elog_record_clear(&rec);
			break;
		}
		if (sc.n == sc.cap) {
			sc.cap = sc.cap ? 2 * sc.cap : 64;
			sc.grp = xrealloc(sc.grp, sc.cap * sizeof(*sc.grp));
		}
		sc.grp[sc.n++] = rec;
		pthread_cond_broadcast(&sc.inf.cv);
		pthread_mutex_unlock(&sc.inf.mu);
	}
	pthread_mutex_lock(&sc.inf.mu);
	sc.closing = 1;
	pthread_cond_broadcast(&sc.inf.cv);
	pthread_mutex_unlock(&sc.inf.mu);
	pthread_join(th, NULL);
	if (sc.inf.failed)
		rpc_call_finish(call, sc.inf.fail_status, sc.inf.fail_msg);
	else
		rpc_call_finish(call, status, details);
	elog_inflight_destroy(&sc.inf);
}

/* ---- GetLogs ------------------------------------------------------------------------------- */

struct entry_builder {
	Flowctl__LogEntry e;
	Google__Protobuf__Timestamp ts;
	Flowctl__LogEntry__FieldsEntry *fv;
	Flowctl__LogEntry__FieldsEntry **fp;
	char **owned;                /* strings to free after sending */
	size_t nf, cap, nowned, capowned;
};

static char *own(struct entry_builder *eb, char *s)
{
	if (eb->nowned == eb->capowned) {
		eb->capowned = eb->capowned ? 2 * eb->capowned : 32;
		eb->owned = xrealloc(eb->owned, eb->capowned * sizeof(*eb->owned));
	}
	eb->owned[eb->nowned++] = s;
	return s;
}

static void eb_field(struct entry_builder *eb, const char *k, const char *v)
{
	if (eb->nf == eb->cap) {
		eb->cap = eb->cap ? 2 * eb->cap : 16;
		eb->fv = xrealloc(eb->fv, eb->cap * sizeof(*eb->fv));
		eb->fp = xrealloc(eb->fp, eb->cap * sizeof(*eb->fp));
	}
	flowctl__log_entry__fields_entry__init(&eb->fv[eb->nf]);
	eb->fv[eb->nf].key = (char *)k;
	eb->fv[eb->nf].value = (char *)v;
	eb->nf++;
}

static void eb_reset(struct entry_builder *eb)
{
	size_t i;

	for (i = 0; i < eb->nowned; i++)
		free(eb->owned[i]);
	eb->nowned = 0;
	eb->nf = 0;
	flowctl__log_entry__init(&eb->e);
}

static void eb_release(struct entry_builder *eb)
{
	eb_reset(eb);
	free(eb->owned);
	free(eb->fv);
	free(eb->fp);
	memset(eb, 0, sizeof(*eb));
}

static void eb_finish(struct entry_builder *eb)
{
	size_t i;

	for (i = 0; i < eb->nf; i++)
		eb->fp[i] = &eb->fv[i];
	eb->e.n_fields = eb->nf;
	eb->e.fields = eb->nf ? eb->fp : NULL;
}

struct getlogs_sink {
	struct elog_read_sink base;
	struct rpc_call *call;
	struct entry_builder eb;
	int dead;
};

static int getlogs_send(struct getlogs_sink *g)
{
	eb_finish(&g->eb);
	if (rpc_call_send(g->call, &g->eb.e.base) != 0 ||
	    rpc_call_wait_sendable(g->call, GETLOGS_MAX_QUEUED, 0) != 0)
		g->dead = 1;
	eb_reset(&g->eb);
	return g->dead ? -1 : 0;
}

static int getlogs_add(struct elog_read_sink *s, const struct elog_record *r)
{
	struct getlogs_sink *g = (struct getlogs_sink *)s;
	struct entry_builder *eb = &g->eb;
	yajl_val root = NULL;
	char idbuf[32];
	int64_t ts = r->ts_ns > 0 ? r->ts_ns : r->arrival_ns;
	size_t i;

	if (g->dead)
		return 1;
	eb_reset(eb);
	eb->e.component_id = r->component;
	eb->e.level = (char *)elog_level_name(r->level);
	eb->e.message = r->msg;
	if (strlen(r->msg) > ELOG_MAX_LINE)   /* stored before the limit: sent cut, as Read does */
		eb->e.message = own(eb, elog_record_msg_dup(r->msg, strlen(r->msg), NULL));
	if (ts > 0) {
		google__protobuf__timestamp__init(&eb->ts);
		ns_to_ts(ts, &eb->ts);
		eb->e.timestamp = &eb->ts;
	}
	if (r->fields && *r->fields) {
		root = elog_json_tree_parse(r->fields);
		if (root && YAJL_IS_OBJECT(root)) {
			for (i = 0; i < root->u.object.len; i++) {
				const char *k = root->u.object.keys[i];
				yajl_val v = root->u.object.values[i];
				char *tmp = NULL;
				const char *val;

				if (strcmp(k, "id") == 0 || strcmp(k, "source") == 0)
					continue;
				if (strcmp(k, "component_type") == 0 && YAJL_IS_STRING(v)) {
					eb->e.component_type = (char *)utf8_ok(YAJL_GET_STRING(v), &tmp);
					if (tmp)
						own(eb, tmp);
					continue;
				}
				k = utf8_ok(k, &tmp);
				if (tmp)
					own(eb, tmp);
				tmp = NULL;
				if (YAJL_IS_STRING(v)) {
					val = utf8_ok(YAJL_GET_STRING(v), &tmp);
					if (tmp)
						own(eb, tmp);
				} else {
					struct elog_buf b = ELOG_BUF_INIT;

					elog_json_tree_compact(&b, v);
					val = own(eb, elog_buf_detach(&b));
				}
				eb_field(eb, k, val);
			}
		} else {
			eb_field(eb, "fields", r->fields);
		}
	}
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)r->id);
	eb_field(eb, "id", own(eb, xstrdup(idbuf)));
	eb_field(eb, "source", r->source);
	getlogs_send(g);
	/* the tree's strings are used by the packed message only: free it after sending */
	yajl_tree_free(root);
	return g->dead;
}

static int getlogs_flush(struct elog_read_sink *s, int live, uint64_t missed, int64_t mfrom,
			 int64_t mto)
{
	struct getlogs_sink *g = (struct getlogs_sink *)s;
	char msg[160];

	(void)live;
	if (g->dead)
		return -1;
	if (missed > 0) {
		Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

		eb_reset(&g->eb);
		snprintf(msg, sizeof(msg), "missed %llu entries (ids %lld..%lld)",
			 (unsigned long long)missed, (long long)mfrom, (long long)mto);
		g->eb.e.component_id = (char *)"elog";
		g->eb.e.level = (char *)"warn";
		g->eb.e.message = msg;
		ns_to_ts(elog_now_ns(), &ts);
		g->eb.e.timestamp = &ts;
		return getlogs_send(g);
	}
	return 0;
}

static int filter_from_request(struct elog_filter *f, const Flowctl__StreamLogsRequest *q,
			       struct elog_err *err)
{
	size_t i;

	for (i = 0; i < q->n_component_ids; i++)
		if (elog_filter_add_component(f, q->component_ids[i], err))
			return ELOG_EUSAGE;
	for (i = 0; i < q->n_levels; i++) {
		const char *lv = q->levels[i] ? q->levels[i] : "";
		unsigned mask = 0;

		if (!*lv)
			continue;
		if (!elog_utf8_valid(lv, strlen(lv)))
			return elog_err_set(err, ELOG_EUSAGE, "unknown level");
		if (elog_level_filter_parse(lv, &mask, err) != 0)
			return ELOG_EUSAGE;
		f->level_mask |= mask;
	}
	if (q->since) {
		int64_t ns = elog_conv_time_ns(q->since);

		f->since_ns = ns > 0 ? ns : 0;
	}
	if (q->until) {
		int64_t ns = elog_conv_time_ns(q->until);

		f->until_ns = ns > 0 ? ns : 1;   /* an until before the epoch matches nothing */
	}
	f->limit = q->limit;
	f->after_id = q->after_id > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)q->after_id;
	if (q->pattern && *q->pattern) {
		if (!elog_utf8_valid(q->pattern, strlen(q->pattern)))
			return elog_err_set(err, ELOG_EUSAGE, "invalid pattern: not valid UTF-8");
		return elog_filter_set_pattern(f, q->pattern, err);
	}
	return 0;
}

static void fc_get_logs(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct getlogs_sink sink;
	struct elog_filter f;
	struct elog_err err;
	Flowctl__StreamLogsRequest *q;
	ProtobufCMessage *m;
	char msg[512] = "";
	int status;

	if (rpc_call_recv(call, &flowctl__stream_logs_request__descriptor, &m) != 1) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable flowctl.StreamLogsRequest");
		return;
	}
	q = (Flowctl__StreamLogsRequest *)m;
	elog_filter_init(&f);
	elog_err_clear(&err);
	if (filter_from_request(&f, q, &err) != 0) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, err.msg);
		elog_filter_clear(&f);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	memset(&sink, 0, sizeof(sink));
	sink.base.ctx = &sink;
	sink.base.add = getlogs_add;
	sink.base.flush = getlogs_flush;
	sink.call = call;
	flowctl__log_entry__init(&sink.eb.e);
	status = elog_svc_stream_records(svc, call, &f, q->follow, &sink.base, msg, sizeof(msg));
	rpc_call_finish(call, status, msg[0] ? msg : NULL);
	eb_release(&sink.eb);
	elog_filter_clear(&f);
	protobuf_c_message_free_unpacked(m, NULL);
}

/* ---- registration ------------------------------------------------------------------------ */

void elog_svc_flowctl_register(struct rpc_server *s, struct elog_svc *svc)
{
	if (!svc->registry) {
		struct elog_registry *g = xcalloc(1, sizeof(*g));

		pthread_mutex_init(&g->mu, NULL);
		svc->registry = g;
	}
	rpc_server_add_method(s, "/flowctl.ControlPlane/Register", RPC_UNARY, fc_register, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/Heartbeat", RPC_UNARY, fc_heartbeat, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/GetServiceStatus", RPC_UNARY, fc_status,
			      svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/ListServices", RPC_UNARY, fc_list, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/StreamLogs", RPC_BIDI, fc_stream_logs, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/GetLogs", RPC_SERVER_STREAM, fc_get_logs,
			      svc);
}

void elog_svc_flowctl_free(struct elog_svc *svc)
{
	struct elog_registry *g = svc ? svc->registry : NULL;
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->n; i++) {
		free(g->v[i].id);
		free(g->v[i].component_id);
		reg_metrics_clear(&g->v[i]);
	}
	free(g->v);
	pthread_mutex_destroy(&g->mu);
	free(g);
	svc->registry = NULL;
}

/* ---- read-only snapshot (`elog ps`) ------------------------------------------------------ */

void elog_svc_flowctl_snapshot(struct elog_svc *svc, int64_t now_ns,
			       struct elog_flowctl_service **out, size_t *n)
{
	struct elog_registry *g = svc ? svc->registry : NULL;
	int64_t ttl = heartbeat_ttl(svc), keep_after;
	struct elog_flowctl_service *v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (!g)
		return;
	/* the entries reg_expire would remove are left out, without writing the registry */
	keep_after = ttl > (INT64_MAX / 2) / FLOWCTL_EXPIRE_TTLS ? INT64_MIN
							       : now_ns - FLOWCTL_EXPIRE_TTLS * ttl;
	pthread_mutex_lock(&g->mu);
	v = xcalloc(g->n + 1, sizeof(*v));
	for (i = 0; i < g->n; i++) {
		const struct reg_entry *e = &g->v[i];

		if (e->last_heartbeat_ns < keep_after)
			continue;
		v[k].service_id = xstrdup(e->id);
		v[k].component_id = xstrdup(e->component_id ? e->component_id : "");
		v[k].type = e->type;
		v[k].healthy = e->last_heartbeat_ns > 0 && now_ns - e->last_heartbeat_ns <= ttl;
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

const char *elog_flowctl_type_name(int type)
{
	switch (type) {
	case FLOWCTL__SERVICE_TYPE__SERVICE_TYPE_SOURCE:
		return "source";
	case FLOWCTL__SERVICE_TYPE__SERVICE_TYPE_PROCESSOR:
		return "processor";
	case FLOWCTL__SERVICE_TYPE__SERVICE_TYPE_SINK:
		return "sink";
	case FLOWCTL__SERVICE_TYPE__SERVICE_TYPE_PIPELINE:
		return "pipeline";
	default:
		return "unspecified";
	}
}
