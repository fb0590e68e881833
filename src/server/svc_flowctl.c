/*
 * svc_flowctl.c — flowctl.ControlPlane (contracts.md §3): the log RPCs over the hub (the
 * registry's RPCs, Register, Heartbeat, GetServiceStatus and ListServices, are in
 * svc_flowctl_registry.c over the data structure of registry.c):
 * StreamLogs (components push LogEntry; committed in groups, nothing sent back) and GetLogs
 * (history and, with follow, live entries, through the shared read path of svc_read.c).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "server/svc.h"
#include "server/ingest.h"
#include "server/registry.h"
#include "common/err.h"
#include "common/util.h"
#include "common/record.h"
#include "server/convert.h"
#include "common/json.h"
#include "flowctl.pb-c.h"

#define STREAM_GROUP_MAX 4096      /* records held while the hub is busy */
#define STREAM_MAX_INFLIGHT 4      /* groups submitted and not yet committed */
#define GETLOGS_MAX_QUEUED 64      /* LogEntry messages waiting to be sent */

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

/* Collected one entry at a time; nothing is sent back. */
static const struct elog_ingest_spec stream_spec = {
	.group_max = STREAM_GROUP_MAX,
	.max_inflight = STREAM_MAX_INFLIGHT,
	.collect = 1,
};

static void fc_stream_logs(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_ingest_call ic;
	int status = RPC_OK, end;
	const char *details = NULL;
	char msg[512];

	if (elog_ingest_call_start(&ic, svc->hub, call, &stream_spec, NULL) != 0) {
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
		if (elog_ingest_call_add(&ic, &rec, NULL) != 0)
			break;
	}
	end = elog_ingest_call_end(&ic, msg, sizeof(msg));
	if (end == RPC_OK)
		rpc_call_finish(call, status, details);
	else
		rpc_call_finish(call, end, msg);
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
		elog_conv_ts(ts, &eb->ts);
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

/* Sends an entry of elog's own (component "elog", level "warn", now) saying msg: what the
 * reader should know and LogEntry has no field for. 0 or -1. */
static int getlogs_notice(struct getlogs_sink *g, const char *msg)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	if (g->dead)
		return -1;
	eb_reset(&g->eb);
	g->eb.e.component_id = (char *)"elog";
	g->eb.e.level = (char *)"warn";
	g->eb.e.message = (char *)msg;
	elog_conv_ts(elog_now_ns(), &ts);
	g->eb.e.timestamp = &ts;
	return getlogs_send(g);
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
		snprintf(msg, sizeof(msg), "missed %llu entries (ids %lld..%lld)",
			 (unsigned long long)missed, (long long)mfrom, (long long)mto);
		return getlogs_notice(g, msg);
	}
	return 0;
}

/* The records before id `before` the reader asked for were removed by retention or prune:
 * LogEntry has no field for it, so it is said as "missed" is, in an entry of elog's own
 * (component "elog", level "warn"), before the records that are left. */
static int getlogs_removed(struct elog_read_sink *s, int64_t before)
{
	char msg[96];

	snprintf(msg, sizeof(msg), "records before id %lld were removed by retention",
		 (long long)before);
	return getlogs_notice((struct getlogs_sink *)s, msg);
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
	sink.base.removed = getlogs_removed;
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
	elog_svc_flowctl_registry_register(s, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/StreamLogs", RPC_BIDI, fc_stream_logs, svc);
	rpc_server_add_method(s, "/flowctl.ControlPlane/GetLogs", RPC_SERVER_STREAM, fc_get_logs,
			      svc);
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
