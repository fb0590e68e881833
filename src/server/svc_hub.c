/*
 * svc_hub.c — elog.v1.Hub: batched ingest with per-batch acks after commit, the filtered
 * read with resume cursor and follow, and the component list.
 */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

#include "server/svc.h"
#include "server/ingest.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/wire.h"
#include "common/err.h"
#include "common/util.h"
#include "common/arena.h"
#include "common/redact.h"
#include "hub/hub.h"
#include "elog.pb-c.h"

/* An Ingest call holds at most MAX_INFLIGHT_BATCHES batches, taking at most
 * MAX_INFLIGHT_BYTES together (README "Limits"), between receiving and acknowledging them;
 * beyond, it reads no more (flow control slows the sender). A batch counts its bytes as
 * received, a struct elog_record per record and its repaired strings. */
#define MAX_INFLIGHT_BATCHES 32
#define MAX_INFLIGHT_BYTES (32u << 20)
#define ARENA_CHUNK (64 * 1024)      /* what an arena takes at least once used (arena.c) */
#define MAX_QUEUED_ACKS 4096
#define PAGE_BYTES (256 * 1024)
#define PAGE_RECORDS 2048

/* A page holds up to PAGE_BYTES, then one more record: far below gRPC's 64 MiB. */
_Static_assert(PAGE_BYTES + ELOG_MAX_RECORD + 64 < (16u << 20), "a page fits a gRPC message");

/* One received batch: its records (g.in.recs) are views into its bytes (msg), or into the
 * arena for strings that had to be repaired; all freed after the ack. */
struct ingest_req {
	struct elog_ingest_group g;
	uint64_t seq;
	struct elog_buf msg;
	struct elog_arena arena;
};

static void ingest_req_free(struct elog_ingest_group *g)
{
	struct ingest_req *req = (struct ingest_req *)g;

	free(req->g.in.recs);
	elog_arena_release(&req->arena);
	elog_buf_release(&req->msg);
	free(req);
}

/* After the batch's commit: its ack (seq, stored, duplicates, the last id stored). */
static void ingest_ack(struct elog_ingest_call *ic, struct elog_ingest_group *g)
{
	struct ingest_req *req = (struct ingest_req *)g;
	Elog__V1__IngestAck ack = ELOG__V1__INGEST_ACK__INIT;
	const struct elog_ingest *in = &g->in;
	size_t i;

	ack.seq = req->seq;
	ack.stored = (uint32_t)in->stored;
	ack.duplicates = (uint32_t)(in->n - in->stored);
	for (i = in->n; i > 0; i--)
		if (in->recs[i - 1].id > 0) {
			ack.last_id = (uint64_t)in->recs[i - 1].id;
			break;
		}
	rpc_call_send(ic->call, &ack.base);
}

/* The client makes the groups (one RecordBatch each); a failure ends the call at once, so
 * that a client waiting for its acks learns it. */
static const struct elog_ingest_spec ingest_spec = {
	.max_inflight = MAX_INFLIGHT_BATCHES,
	.max_inflight_bytes = MAX_INFLIGHT_BYTES,
	.ack = ingest_ack,
	.finish_early = 1,
};

static void hub_ingest(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct elog_ingest_call ic;
	struct elog_buf scratch = ELOG_BUF_INIT;
	struct elog_err err;
	int status = RPC_OK, end;
	const char *details = NULL;
	char msg[512];

	elog_ingest_call_start(&ic, svc->hub, call, &ingest_spec, NULL);   /* no thread: cannot fail */
	elog_err_clear(&err);
	for (;;) {
		struct ingest_req *req = xcalloc(1, sizeof(*req));
		struct elog_wire_batch b;
		int rc;

		elog_arena_init(&req->arena);
		/* A client that does not read its acks stops being read (bounded ack queue). */
		if (rpc_call_wait_sendable(call, MAX_QUEUED_ACKS, 0) != 0) {
			free(req);
			status = RPC_CANCELLED;
			break;
		}
		rc = rpc_call_recv_bytes(call, &req->msg);
		if (rc == 1 && elog_wire_read_batch(req->msg.data, req->msg.len, &req->arena, &scratch,
						    &b, &err) != 0)
			rc = -3;
		if (rc != 1) {
			ingest_req_free(&req->g);
			if (rc == 0)
				break;
			status = rc == -1 ? RPC_CANCELLED : RPC_INVALID_ARGUMENT;
			details = rc == -1 ? NULL : rc == -2 ? "undecodable elog.v1.RecordBatch" : err.msg;
			break;
		}
		req->seq = b.seq;
		req->g.in.n = b.n;
		req->g.in.recs = b.recs;
		req->g.release = ingest_req_free;
		req->g.cost = sizeof(*req) + req->msg.cap + b.n * sizeof(struct elog_record) +
			      (b.copied ? b.copied + ARENA_CHUNK : 0);
		if (elog_ingest_call_submit(&ic, &req->g) != 0)
			break;   /* the call failed, and is finished */
	}
	elog_buf_release(&scratch);
	end = elog_ingest_call_end(&ic, msg, sizeof(msg));
	if (end == RPC_OK)
		rpc_call_finish(call, status, details);
	else if (end > 0)
		rpc_call_finish(call, end, msg);
}

/* ---- Read -------------------------------------------------------------------------------- */

struct page_sink {
	struct elog_read_sink base;
	struct rpc_call *call;
	struct elog_buf buf;
	size_t count;
	int64_t removed_before;     /* to be sent with the next flush (0: none) */
};

static int page_removed(struct elog_read_sink *s, int64_t before)
{
	((struct page_sink *)s)->removed_before = before;
	return 0;
}

static int page_add(struct elog_read_sink *s, const struct elog_record *r)
{
	struct page_sink *p = (struct page_sink *)s;

	elog_wire_put_record(&p->buf, 1, r);
	p->count++;
	return p->buf.len >= PAGE_BYTES || p->count >= PAGE_RECORDS;
}

static int page_add_wire(struct elog_read_sink *s, const struct elog_record *r, const void *wire,
			 size_t len)
{
	struct page_sink *p = (struct page_sink *)s;

	(void)r;
	elog_buf_add(&p->buf, wire, len);
	p->count++;
	return p->buf.len >= PAGE_BYTES || p->count >= PAGE_RECORDS;
}

static int page_flush(struct elog_read_sink *s, int live, uint64_t missed, int64_t mfrom,
		      int64_t mto)
{
	struct page_sink *p = (struct page_sink *)s;
	int rc;

	if (!p->count && !live && !missed && !p->removed_before)
		return 0;
	if (p->removed_before)
		elog_wire_put_varint_field(&p->buf, 6, (uint64_t)p->removed_before);
	p->removed_before = 0;
	elog_wire_put_varint_field(&p->buf, 2, missed);
	elog_wire_put_varint_field(&p->buf, 3, (uint64_t)mfrom);
	elog_wire_put_varint_field(&p->buf, 4, (uint64_t)mto);
	elog_wire_put_varint_field(&p->buf, 5, live ? 1 : 0);
	rc = rpc_call_send_raw(p->call, p->buf.data ? p->buf.data : "", p->buf.len);
	elog_buf_reset(&p->buf);
	p->count = 0;
	return rc;
}

/* Fills f from a Query; returns 0 or an error message in err. */
static int filter_from_query(struct elog_filter *f, const Elog__V1__Query *q, struct elog_err *err)
{
	size_t i;

	for (i = 0; i < q->n_components; i++)
		if (elog_filter_add_components(f, q->components[i], err))
			return ELOG_EUSAGE;
	for (i = 0; i < q->n_levels; i++)
		if (q->levels[i] >= 0 && q->levels[i] < ELOG_LEVEL_COUNT)
			f->level_mask |= 1u << q->levels[i];
	f->since_ns = q->since_ns;
	f->until_ns = q->until_ns;
	f->after_id = q->after_id > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)q->after_id;
	f->limit = q->limit;
	f->tail = q->tail;
	for (i = 0; i < q->n_exclude_components; i++)
		if (elog_filter_add_exclude_components(f, q->exclude_components[i], err))
			return ELOG_EUSAGE;
	if (q->exclude_pattern && *q->exclude_pattern &&
	    elog_filter_set_exclude(f, q->exclude_pattern, err))
		return ELOG_EUSAGE;
	/* A newer client's pattern is in `grep`; `pattern` then holds the sentinel that makes an
	 * older server refuse the query (filter.h). */
	if (q->grep && *q->grep)
		return elog_filter_set_pattern(f, q->grep, err);
	if (q->pattern && *q->pattern && strcmp(q->pattern, ELOG_QUERY_V2_SENTINEL) != 0)
		return elog_filter_set_pattern(f, q->pattern, err);
	return 0;
}

static void hub_read(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	struct page_sink sink;
	struct elog_filter f;
	struct elog_err err;
	ProtobufCMessage *m;
	Elog__V1__Query *q;
	char msg[512] = "";
	int rc, status;

	rc = rpc_call_recv(call, &elog__v1__query__descriptor, &m);
	if (rc != 1) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "undecodable elog.v1.Query");
		return;
	}
	q = (Elog__V1__Query *)m;
	elog_filter_init(&f);
	elog_err_clear(&err);
	if (filter_from_query(&f, q, &err) != 0) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, err.msg);
		elog_filter_clear(&f);
		protobuf_c_message_free_unpacked(m, NULL);
		return;
	}
	memset(&sink, 0, sizeof(sink));
	sink.base.add = page_add;
	sink.base.flush = page_flush;
	sink.base.removed = page_removed;
	sink.base.add_wire = page_add_wire;
	sink.call = call;
	status = elog_svc_stream_records(svc, call, &f, q->follow, &sink.base, msg, sizeof(msg));
	rpc_call_finish(call, status, msg);
	elog_buf_release(&sink.buf);
	elog_filter_clear(&f);
	protobuf_c_message_free_unpacked(m, NULL);
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void hub_components(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	Elog__V1__ComponentList resp = ELOG__V1__COMPONENT_LIST__INIT;
	struct elog_store *st = NULL;
	struct elog_err err;
	char **names = NULL;
	size_t n = 0, i;
	int rc;

	if (elog_svc_recv_ignored(call, &elog__v1__components_request__descriptor) != 0)
		return;
	elog_err_clear(&err);
	rc = elog_store_open(&st, svc->db_path, ELOG_STORE_READONLY, &err);
	if (rc == 0)
		rc = elog_store_components_ordered(st, &names, &n, &err);
	elog_store_close(st);
	if (rc) {
		rpc_call_finish(call, RPC_INTERNAL, err.msg);
		return;
	}
	resp.first_seen = names;
	resp.n_first_seen = n;
	resp.names = n ? xcalloc(n, sizeof(char *)) : NULL;
	if (n)
		memcpy(resp.names, names, n * sizeof(char *));
	resp.n_names = n;
	if (n)
		qsort(resp.names, n, sizeof(char *), cmp_name);
	rpc_call_send(call, &resp.base);
	free(resp.names);
	rpc_call_finish(call, RPC_OK, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ---- Stats (`elog ps`) ------------------------------------------------------------------- */

/* The component a flowctl service is shown under: its component_id, else its service id. */
static const char *service_component(const struct elog_flowctl_service *f)
{
	return f->component_id && *f->component_id ? f->component_id : f->service_id;
}

static int service_cmp(const void *a, const void *b)
{
	const struct elog_flowctl_service *x = a, *y = b;
	int c = strcmp(service_component(x), service_component(y));

	return c ? c : strcmp(x->service_id, y->service_id);
}

/* The redaction rules and their counters (common/redact.h) into resp; the caller frees
 * resp->redaction[0] (one array of all) and resp->redaction. */
static void redaction_stats(struct elog_svc *svc, Elog__V1__ComponentStats *resp)
{
	struct elog_redactor *rd = elog_hub_redactor(svc->hub);
	Elog__V1__RedactionRule *rr;
	size_t i, n;

	if (!rd) {
		resp->redaction_off = 1;
		return;
	}
	n = elog_redactor_rules(rd);
	rr = xcalloc(n + 1, sizeof(*rr));
	resp->redaction = xcalloc(n + 1, sizeof(*resp->redaction));
	for (i = 0; i < n; i++) {
		struct elog_redact_rule_info ri;

		elog_redactor_rule(rd, i, &ri);
		elog__v1__redaction_rule__init(&rr[i]);
		rr[i].name = (char *)ri.name;
		rr[i].enabled = ri.enabled;
		rr[i].records = ri.records;
		rr[i].builtin = ri.builtin;
		resp->redaction[i] = &rr[i];
	}
	resp->n_redaction = n;
}

/*
 * Every component of the history (counts from the store's summary) and every component a
 * flowctl service registered, merged by name; a component's services are joined to it.
 */
static int first_arrival(void *ctx, const struct elog_record *r)
{
	*(int64_t *)ctx = r->arrival_ns;
	return 1;
}

/* serve --forward's status and its lag, worked out from the history now. */
static void forward_lag(struct elog_svc *svc, struct elog_store *st, int64_t now,
			Elog__V1__Forwarder *fw, Elog__V1__Forwarder **fwp)
{
	struct elog_forward_status fs;
	struct elog_filter f;
	struct elog_err err;
	int64_t max_id = 0, arrival = 0;

	*fwp = NULL;
	if (!elog_hub_forward_status(svc->hub, &fs))
		return;
	elog__v1__forwarder__init(fw);
	elog_err_clear(&err);
	if (elog_store_max_id(st, &max_id, &err) != 0)
		max_id = fs.cursor;
	elog_filter_init(&f);
	f.after_id = fs.cursor;
	if (max_id > fs.cursor)
		elog_store_query(st, &f, ELOG_ID_UNBOUNDED, first_arrival, &arrival, &err);
	elog_filter_clear(&f);
	fw->target = xstrdup(fs.target);
	fw->cursor = fs.cursor;
	fw->behind_records = max_id > fs.cursor ? (uint64_t)(max_id - fs.cursor) : 0;
	fw->behind_ns = arrival > 0 && now > arrival ? now - arrival : 0;
	fw->sent = fs.sent;
	fw->rejected = fs.rejected;
	fw->failures = fs.failures;
	fw->last_error = xstrdup(fs.last_error);
	*fwp = fw;
}

static void hub_stats(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	Elog__V1__ComponentStats resp = ELOG__V1__COMPONENT_STATS__INIT;
	Elog__V1__ClusterState cl;
	Elog__V1__ComponentStat *cs = NULL, **cp = NULL;
	Elog__V1__FlowctlService *fs = NULL, **fp = NULL;
	Elog__V1__Forwarder fw, *fwp = NULL;
	struct elog_component_stats *v = NULL;
	struct elog_flowctl_service *f = NULL;
	struct elog_store *st = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	int64_t now = elog_now_ns();
	size_t n = 0, nf = 0, i = 0, j = 0, k = 0;
	struct elog_history_info hi;
	Elog__V1__HistoryStats hs = ELOG__V1__HISTORY_STATS__INIT;
	int rc;

	if (elog_svc_recv_ignored(call, &elog__v1__stats_request__descriptor) != 0)
		return;
	elog_err_clear(&err);
	rc = elog_store_open(&st, svc->db_path, ELOG_STORE_READONLY, &err);
	if (rc == 0)
		rc = elog_store_stats(st, now, &v, &n, &omitted, &err);
	if (rc == 0)
		rc = elog_store_history_info(st, &hi, &err);
	if (rc == 0)
		forward_lag(svc, st, now, &fw, &fwp);
	elog_store_close(st);
	if (rc) {
		rpc_call_finish(call, RPC_INTERNAL, err.msg);
		return;
	}
	elog_svc_flowctl_snapshot(svc, now, &f, &nf);
	qsort(f, nf, sizeof(*f), service_cmp);
	cs = xcalloc(n + nf + 1, sizeof(*cs));
	cp = xcalloc(n + nf + 1, sizeof(*cp));
	fs = xcalloc(nf + 1, sizeof(*fs));
	fp = xcalloc(nf + 1, sizeof(*fp));
	for (i = 0; i < nf; i++) {
		elog__v1__flowctl_service__init(&fs[i]);
		fs[i].service_id = f[i].service_id;
		fs[i].service_type = (char *)elog_flowctl_type_name(f[i].type);
		fs[i].healthy = f[i].healthy;
		fs[i].last_heartbeat_ns = f[i].last_heartbeat_ns;
		fs[i].metrics = (uint32_t)f[i].nmetrics;
		fp[i] = &fs[i];
	}
	/* merge the two lists, both sorted by component name */
	i = 0;
	while (i < n || j < nf) {
		Elog__V1__ComponentStat *c = &cs[k];
		int cmp = i >= n ? 1 : j >= nf ? -1 : strcmp(v[i].name, service_component(&f[j]));

		elog__v1__component_stat__init(c);
		if (cmp <= 0) {
			c->name = v[i].name;
			c->count = v[i].count;
			c->first_ns = v[i].first_ns;
			c->last_ns = v[i].last_ns;
			c->last_minute = v[i].last_minute;
			c->levels = v[i].levels;
			c->n_levels = ELOG_LEVEL_COUNT;
			c->sources = v[i].sources;
			c->n_sources = v[i].nsources;
			c->sources_omitted = v[i].sources_omitted;
			i++;
		} else {
			c->name = (char *)service_component(&f[j]);
		}
		if (cmp >= 0) {
			c->services = &fp[j];
			while (j < nf && strcmp(service_component(&f[j]), c->name) == 0) {
				c->n_services++;
				j++;
			}
		}
		cp[k++] = c;
	}
	resp.components = cp;
	resp.n_components = k;
	resp.omitted = omitted;
	resp.now_ns = now;
	hs.db_bytes = hi.db_bytes;
	hs.wal_bytes = hi.wal_bytes;
	hs.records = (uint64_t)hi.records;
	hs.first_id = hi.first_id;
	hs.last_id = hi.last_id;
	hs.first_ns = hi.first_ns;
	hs.last_ns = hi.last_ns;
	hs.removed_before = hi.removed_through ? hi.removed_through + 1 : 0;
	resp.history = &hs;
	redaction_stats(svc, &resp);
	if (fwp) {
		resp.forwarders = &fwp;
		resp.n_forwarders = 1;
	}
	if (svc->cluster_state) {
		struct elog_svc_cluster c;

		memset(&c, 0, sizeof(c));
		svc->cluster_state(NULL, &c);
		elog__v1__cluster_state__init(&cl);
		cl.node = svc->cluster_node;
		cl.connected = c.connected;
		cl.cursor = c.cursor;
		cl.behind = c.behind;
		cl.behind_ns = c.behind_ns;
		cl.published = c.published;
		cl.aggregated = c.aggregated;
		resp.cluster = &cl;
	}
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, RPC_OK, NULL);
	free(resp.redaction ? resp.redaction[0] : NULL);
	free(resp.redaction);
	if (fwp) {
		free(fw.target);
		free(fw.last_error);
	}
	free(cs);
	free(cp);
	free(fs);
	free(fp);
	elog_flowctl_services_free(f, nf);
	elog_component_stats_free(v, n);
}

void elog_svc_hub_register(struct rpc_server *s, struct elog_svc *svc)
{
	rpc_server_add_method(s, "/elog.v1.Hub/Ingest", RPC_BIDI, hub_ingest, svc);
	rpc_server_add_method(s, "/elog.v1.Hub/Read", RPC_SERVER_STREAM, hub_read, svc);
	rpc_server_add_method(s, "/elog.v1.Hub/Components", RPC_UNARY, hub_components, svc);
	rpc_server_add_method(s, "/elog.v1.Hub/Stats", RPC_UNARY, hub_stats, svc);
}
