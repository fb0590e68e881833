/*
 * leadgen.c — the LeadGen WebSocket contract on "/" (issue 18; messages in the serve man page):
 * every new record as one LeadGen log entry, analysis_request -> analysis_response (counts by
 * level, service and minute, and the top message patterns from patterns.c in one pass over
 * the range), anything else -> {"type":"error"}. The connection is never dropped for a bad
 * message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yajl/yajl_tree.h>

#include "web/webint.h"
#include "web/patterns.h"
#include "common/err.h"
#include "common/json.h"
#include "hub/hub.h"
#include "server/svc.h"
#include "store/store.h"
#include "view/display.h"

#define BATCH 1024
#define POLL_NS (100 * NS_PER_MS)
#define TYPES_TTL_NS (2 * NS_PER_S)
#define NLEVELS 4

/* LeadGen's four level names, and elog's levels mapped onto them. */
static const char *const lg_names[NLEVELS] = { "DEBUG", "INFO", "WARNING", "ERROR" };

static int lg_level(int level)
{
	switch (level) {
	case ELOG_LEVEL_TRACE:
	case ELOG_LEVEL_DEBUG:
		return 0;
	case ELOG_LEVEL_WARN:
		return 2;
	case ELOG_LEVEL_ERROR:
	case ELOG_LEVEL_FATAL:
		return 3;
	default:
		return 1;
	}
}

/* The component types of the flowctl registry (service_id or component_id -> type name),
 * copied at most every TYPES_TTL_NS. */
struct types {
	struct elog_flowctl_service *v;
	size_t n;
	int64_t at;
};

static const char *type_of(struct web_conn *c, struct types *t, const char *component)
{
	int64_t now = elog_mono_ns();
	size_t i;

	if (!web_svc(c))
		return NULL;
	if (!t->at || now - t->at > TYPES_TTL_NS) {
		elog_flowctl_services_free(t->v, t->n);
		t->v = NULL;
		t->n = 0;
		elog_svc_flowctl_snapshot(web_svc(c), elog_now_ns(), &t->v, &t->n);
		t->at = now;
	}
	for (i = 0; i < t->n; i++)
		if ((t->v[i].component_id && strcmp(t->v[i].component_id, component) == 0) ||
		    (t->v[i].service_id && strcmp(t->v[i].service_id, component) == 0))
			return elog_flowctl_type_name(t->v[i].type);
	return NULL;
}

static void entry_json(struct elog_display *d, struct web_conn *c, struct types *t,
		       const struct elog_record *r, struct elog_buf *b)
{
	char ts[40];
	const char *stream = web_record_stream(r), *type;

	web_time_ms(r->ts_ns ? r->ts_ns : r->arrival_ns, ts, sizeof(ts));
	elog_buf_addf(b, "{\"timestamp\":\"%s\",\"source\":", ts);
	elog_json_quote(b, r->source, strlen(r->source));
	elog_buf_addf(b, ",\"stream\":\"%s\",\"content\":", stream ? stream : "stdout");
	elog_json_quote(b, r->msg, strlen(r->msg));
	elog_buf_addf(b, ",\"level\":\"%s\",\"service_name\":", lg_names[lg_level(r->level)]);
	elog_json_quote(b, r->component, strlen(r->component));
	elog_buf_adds(b, ",\"metadata\":");
	elog_display_fields_json(d, b, r->fields);
	elog_buf_adds(b, ",\"context\":{\"service_type\":");
	type = type_of(c, t, r->component);
	if (type)
		elog_json_quote(b, type, strlen(type));
	else
		elog_buf_adds(b, "null");
	elog_buf_adds(b, "}}");
}

/* ---- analysis ---- */

struct count {
	char *name;
	uint64_t n;
};

struct analysis {
	int64_t since_ns;
	uint64_t total;
	uint64_t by_level[NLEVELS];
	struct count *svc;
	size_t nsvc, capsvc;
	uint32_t *per_minute;      /* errors, one slot a minute from since_ns */
	size_t nminutes;
	struct elog_patterns *pat;
};

static void count_service(struct analysis *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->nsvc; i++)
		if (strcmp(a->svc[i].name, name) == 0) {
			a->svc[i].n++;
			return;
		}
	if (a->nsvc == a->capsvc) {
		a->capsvc = a->capsvc ? a->capsvc * 2 : 16;
		a->svc = xrealloc(a->svc, a->capsvc * sizeof(*a->svc));
	}
	a->svc[a->nsvc].name = xstrdup(name);
	a->svc[a->nsvc].n = 1;
	a->nsvc++;
}

static int analyse_fn(void *ctx, const struct elog_record *r)
{
	struct analysis *a = ctx;
	int lv = lg_level(r->level);
	int64_t ts = r->ts_ns ? r->ts_ns : r->arrival_ns;

	a->total++;
	a->by_level[lv]++;
	count_service(a, r->component);
	if (lv == 3 && ts >= a->since_ns) {
		size_t m = (size_t)((ts - a->since_ns) / (60 * NS_PER_S));

		if (m < a->nminutes)
			a->per_minute[m]++;
	}
	elog_patterns_add(a->pat, r->component, lv, r->msg, strlen(r->msg), ts);
	return 0;
}

static void put_request_id(struct elog_buf *b, yajl_val id)
{
	if (id && (YAJL_IS_STRING(id) || YAJL_IS_NUMBER(id)))
		elog_json_tree_compact(b, id);
	else
		elog_buf_adds(b, "null");
}

static void send_error(struct web_conn *c, yajl_val id, const char *msg)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_buf_adds(&b, "{\"type\":\"error\",\"request_id\":");
	put_request_id(&b, id);
	elog_buf_adds(&b, ",\"error\":");
	elog_json_quote(&b, msg, strlen(msg));
	elog_buf_addc(&b, '}');
	web_send(c, b.data, b.len, 0);
	elog_buf_release(&b);
}

static yajl_val member(yajl_val o, const char *k)
{
	size_t i;

	for (i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], k) == 0)
			return o->u.object.values[i];
	return NULL;
}

static void analyse(struct web_conn *c, yajl_val req)
{
	yajl_val id = member(req, "request_id"), tr = member(req, "time_range"),
		 svc = member(req, "service"), lvl = member(req, "level");
	struct elog_filter f;
	struct elog_err err;
	struct elog_store *st = NULL;
	struct analysis a;
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_pattern top[ELOG_WEB_TOP_PATTERNS];
	double range = 3600;
	int64_t now = elog_now_ns();
	size_t i, ntop;
	int rc, first, req_level = -1;

	memset(&a, 0, sizeof(a));
	elog_filter_init(&f);
	elog_err_clear(&err);
	if (!id || !(YAJL_IS_STRING(id) || YAJL_IS_NUMBER(id))) {
		send_error(c, NULL, "missing request_id (a string or a number)");
		goto out;
	}
	if (tr) {
		if (!YAJL_IS_NUMBER(tr) || !YAJL_IS_DOUBLE(tr) || tr->u.number.d <= 0 ||
		    tr->u.number.d > (double)ELOG_WEB_ANALYSIS_MAX_RANGE) {
			if (YAJL_IS_INTEGER(tr) && tr->u.number.i > 0 &&
			    tr->u.number.i <= ELOG_WEB_ANALYSIS_MAX_RANGE) {
				range = (double)tr->u.number.i;
			} else {
				send_error(c, id, "invalid time_range: expected seconds, more than 0 "
					   "and at most 2678400 (31 days)");
				goto out;
			}
		} else {
			range = tr->u.number.d;
		}
	}
	if (svc && !YAJL_IS_NULL(svc)) {
		if (!YAJL_IS_STRING(svc)) {
			send_error(c, id, "invalid service: expected a string");
			goto out;
		}
		if (*svc->u.string && elog_filter_add_component(&f, svc->u.string, &err) != 0) {
			send_error(c, id, err.msg);
			goto out;
		}
	}
	if (lvl && !YAJL_IS_NULL(lvl)) {
		int k = -1, lv;

		if (YAJL_IS_STRING(lvl)) {
			for (i = 0; i < NLEVELS; i++)
				if (strcasecmp(lvl->u.string, lg_names[i]) == 0)
					k = (int)i;
			if (k < 0 && (lv = elog_level_parse(lvl->u.string,
							    strlen(lvl->u.string))) >= 0)
				k = lg_level(lv);
		}
		if (k < 0) {
			send_error(c, id, "invalid level: expected DEBUG, INFO, WARNING or ERROR");
			goto out;
		}
		req_level = k;
		for (lv = 0; lv < ELOG_LEVEL_COUNT; lv++)
			if (lg_level(lv) == k)
				f.level_mask |= 1u << lv;
	}
	a.since_ns = now - (int64_t)(range * 1e9);
	f.since_ns = a.since_ns;
	f.limit = ELOG_WEB_ANALYSIS_MAX;
	a.nminutes = (size_t)(range / 60) + 2;
	a.per_minute = xcalloc(a.nminutes, sizeof(*a.per_minute));
	a.pat = elog_patterns_new(0);
	if (elog_store_open(&st, web_db(c), ELOG_STORE_READONLY, &err) != 0 ||
	    (rc = elog_store_query(st, &f, ELOG_ID_UNBOUNDED, analyse_fn, &a, &err)) < 0) {
		send_error(c, id, err.msg);
		goto out;
	}
	elog_buf_adds(&b, "{\"type\":\"analysis_response\",\"request_id\":");
	put_request_id(&b, id);
	elog_buf_adds(&b, ",\"time_range\":");
	if (tr)
		elog_json_tree_compact(&b, tr);
	else
		elog_buf_adds(&b, "3600");
	if (svc && YAJL_IS_STRING(svc)) {
		elog_buf_adds(&b, ",\"service\":");
		elog_json_quote(&b, svc->u.string, strlen(svc->u.string));
	}
	if (req_level >= 0)
		elog_buf_addf(&b, ",\"level\":\"%s\"", lg_names[req_level]);
	elog_buf_addf(&b, ",\"total\":%llu,\"truncated\":%s,\"by_level\":{",
		      (unsigned long long)a.total, a.total >= ELOG_WEB_ANALYSIS_MAX ? "true" : "false");
	for (i = 0; i < NLEVELS; i++)
		elog_buf_addf(&b, "%s\"%s\":%llu", i ? "," : "", lg_names[i],
			      (unsigned long long)a.by_level[i]);
	elog_buf_adds(&b, "},\"by_service\":{");
	for (i = 0; i < a.nsvc; i++) {
		if (i)
			elog_buf_addc(&b, ',');
		elog_json_quote(&b, a.svc[i].name, strlen(a.svc[i].name));
		elog_buf_addf(&b, ":%llu", (unsigned long long)a.svc[i].n);
	}
	elog_buf_adds(&b, "},\"errors_per_minute\":[");
	first = 1;
	for (i = 0; i < a.nminutes; i++) {
		char ts[40];
		int64_t m = a.since_ns + (int64_t)i * 60 * NS_PER_S;

		if (!a.per_minute[i])
			continue;
		m -= m % (60 * NS_PER_S);
		web_time_ms(m, ts, sizeof(ts));
		elog_buf_addf(&b, "%s{\"minute\":\"%s\",\"count\":%u}", first ? "" : ",", ts,
			      a.per_minute[i]);
		first = 0;
	}
	elog_buf_adds(&b, "],\"top_patterns\":[");
	ntop = elog_patterns_top(a.pat, ELOG_WEB_TOP_PATTERNS, top);
	for (i = 0; i < ntop; i++) {
		char t1[40], t2[40];

		web_time_ms(top[i].first_ns, t1, sizeof(t1));
		web_time_ms(top[i].last_ns, t2, sizeof(t2));
		if (i)
			elog_buf_addc(&b, ',');
		elog_buf_adds(&b, "{\"pattern\":");
		elog_json_quote(&b, top[i].pattern, strlen(top[i].pattern));
		elog_buf_addf(&b, ",\"count\":%llu,\"level\":\"%s\",\"service\":",
			      (unsigned long long)top[i].count, lg_names[top[i].level]);
		elog_json_quote(&b, top[i].service, strlen(top[i].service));
		elog_buf_addf(&b, ",\"first\":\"%s\",\"last\":\"%s\",\"example\":", t1, t2);
		elog_json_quote(&b, top[i].example, strlen(top[i].example));
		elog_buf_addc(&b, '}');
	}
	elog_buf_adds(&b, "]}");
	web_send(c, b.data, b.len, 0);
out:
	elog_store_close(st);
	elog_filter_clear(&f);
	for (i = 0; i < a.nsvc; i++)
		free(a.svc[i].name);
	free(a.svc);
	free(a.per_minute);
	elog_patterns_free(a.pat);
	elog_buf_release(&b);
}

static void handle_message(struct web_conn *c, const char *msg)
{
	yajl_val v = elog_json_tree_parse(msg), type, id;

	if (!v || !YAJL_IS_OBJECT(v)) {
		send_error(c, NULL, "malformed request: expected a JSON object");
		goto out;
	}
	type = member(v, "type");
	id = member(v, "request_id");
	if (!type || !YAJL_IS_STRING(type)) {
		send_error(c, id, "malformed request: missing type (\"analysis_request\")");
		goto out;
	}
	if (strcmp(type->u.string, "analysis_request") != 0) {
		char m[200];

		snprintf(m, sizeof(m), "unknown request type '%.100s' (expected analysis_request)",
			 type->u.string);
		send_error(c, id, m);
		goto out;
	}
	analyse(c, v);
out:
	if (v)
		yajl_tree_free(v);
}

/* ---- the socket ---- */

struct lg_out {
	struct web_conn *c;
	struct elog_display *d;
	struct types *t;
	struct elog_buf b;
	struct elog_buf page;    /* entries read back from the history, NUL-separated */
	size_t npage;
	int64_t last_id;
	int dead;
};

static void send_entry(struct lg_out *o, const struct elog_record *r)
{
	if (o->dead)
		return;
	elog_buf_reset(&o->b);
	entry_json(o->d, o->c, o->t, r, &o->b);
	if (web_send(o->c, o->b.data, o->b.len, 0) != 0)
		o->dead = 1;
}

/* A page of entries read back: NUL-separated in o->page; the query stops when it is full so
 * that no read transaction stays open while the client is slow (see api.c). */
static int lg_hist_fn(void *ctx, const struct elog_record *r)
{
	struct lg_out *o = ctx;

	entry_json(o->d, o->c, o->t, r, &o->page);
	elog_buf_addc(&o->page, '\0');
	o->last_id = r->id;
	return ++o->npage >= 1000 || o->page.len >= ELOG_WEB_SEND_QUEUE / 2 ? 1 : 0;
}

/* A range the follower missed, read back from the history (nothing is dropped). */
static void read_back(struct lg_out *o, int64_t from, int64_t to)
{
	struct elog_store *st = NULL;
	struct elog_filter f;
	struct elog_err err;
	int rc = 1;

	elog_filter_init(&f);
	elog_err_clear(&err);
	f.after_id = from - 1;
	if (elog_store_open(&st, web_db(o->c), ELOG_STORE_READONLY, &err) != 0)
		rc = -1;
	while (rc == 1 && !o->dead) {
		size_t off = 0;

		elog_buf_reset(&o->page);
		o->npage = 0;
		rc = elog_store_query(st, &f, to, lg_hist_fn, o, &err);
		while (off < o->page.len && !o->dead) {
			size_t l = strlen(o->page.data + off);

			if (web_send(o->c, o->page.data + off, l, 0) != 0)
				o->dead = 1;
			off += l + 1;
		}
		f.after_id = o->last_id;
	}
	elog_store_close(st);
	elog_filter_clear(&f);
}

void web_leadgen_run(struct web_conn *c)
{
	struct elog_filter all;
	struct elog_follower *fol;
	struct elog_record *batch = xcalloc(BATCH, sizeof(*batch));
	struct types t = { NULL, 0, 0 };
	struct lg_out o;
	int64_t live_after = 0;
	struct elog_display_opts dopt;

	memset(&o, 0, sizeof(o));
	memset(&dopt, 0, sizeof(dopt));
	dopt.format = ELOG_FMT_JSON;
	o.c = c;
	o.d = elog_display_new(&dopt);
	o.t = &t;
	elog_filter_init(&all);
	fol = elog_hub_follow(web_hub(c), &all, &live_after);
	while (!o.dead) {
		uint64_t missed = 0;
		int64_t mfrom = 0, mto = 0;
		size_t n = 0, i, len;
		char *msg;
		int r;

		while ((r = web_recv(c, &msg, &len, 0)) == 1) {
			handle_message(c, msg);
			free(msg);
		}
		if (r < 0)
			break;
		r = elog_follower_next(fol, batch, BATCH, &n, &missed, &mfrom, &mto, POLL_NS);
		if (r < 0)
			break;
		for (i = 0; i < n; i++) {
			send_entry(&o, &batch[i]);
			elog_record_clear(&batch[i]);
		}
		if (missed && !o.dead)
			read_back(&o, mfrom, mto);
	}
	elog_follower_close(fol);
	elog_filter_clear(&all);
	elog_flowctl_services_free(t.v, t.n);
	elog_buf_release(&o.b);
	elog_buf_release(&o.page);
	elog_display_free(o.d);
	free(batch);
}
