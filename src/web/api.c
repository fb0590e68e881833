/*
 * api.c — the JSON API of the web view (see the serve man page): /api/components,
 * /api/records, /api/context, /api/export, and the /api/follow WebSocket. Each runs on the
 * worker of its request (webint.h) with its own read-only connection to the history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "web/webint.h"
#include "common/err.h"
#include "common/jsontext.h"
#include "common/timeparse.h"
#include "hub/hub.h"
#include "store/store.h"
#include "view/display.h"

#define FOLLOW_BATCH 1024
#define FOLLOW_POLL_NS (200 * NS_PER_MS)
#define HISTORY_PAGE 1000

void web_time_ms(int64_t ns, char *out, size_t outsz)
{
	int64_t sec = ns / NS_PER_S, ms = (ns % NS_PER_S) / NS_PER_MS;
	struct tm tm;
	time_t t;

	if (ns % NS_PER_S < 0) {
		sec--;
		ms += 1000;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(out, outsz, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)ms);
}

struct stream_find {
	const char *found;
};

static int stream_fn(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct stream_find *s = ctx;

	if (kn == 6 && memcmp(k, "stream", 6) == 0) {
		if (vn == 6 && memcmp(v, "stdout", 6) == 0)
			s->found = "stdout";
		else if (vn == 6 && memcmp(v, "stderr", 6) == 0)
			s->found = "stderr";
		return 1;
	}
	return 0;
}

const char *web_record_stream(const struct elog_record *r)
{
	struct stream_find s = { NULL };

	if (!r->fields || !strstr(r->fields, "\"stream\""))
		return NULL;
	elog_fields_walk(r->fields, strlen(r->fields), stream_fn, &s);
	return s.found;
}

void web_record_json(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	char ts[40];
	int64_t ns = r->ts_ns ? r->ts_ns : r->arrival_ns;
	const char *stream = web_record_stream(r);

	web_time_ms(ns, ts, sizeof(ts));
	elog_buf_addf(out, "{\"id\":%lld,\"ts\":\"%s\",\"ts_ns\":%lld,\"component\":",
		      (long long)r->id, ts, (long long)ns);
	elog_json_quote(out, r->component, strlen(r->component));
	elog_buf_addf(out, ",\"level\":\"%s\",\"msg\":", elog_level_name(r->level));
	elog_json_quote(out, r->msg, strlen(r->msg));
	elog_buf_adds(out, ",\"fields\":");
	elog_display_fields_json(d, out, r->fields);
	elog_buf_adds(out, ",\"source\":");
	elog_json_quote(out, r->source, strlen(r->source));
	if (stream)
		elog_buf_addf(out, ",\"stream\":\"%s\"", stream);
	elog_buf_addc(out, '}');
}

static struct elog_display *json_display(void)
{
	struct elog_display_opts o;

	memset(&o, 0, sizeof(o));
	o.format = ELOG_FMT_JSON;
	return elog_display_new(&o);
}

int web_filter_from_args(const struct web_args *a, struct elog_filter *f, struct elog_err *err)
{
	const char *v;
	int64_t now = elog_now_ns();
	int rc;

	if ((v = web_arg(a, "c")) && *v && elog_filter_add_components(f, v, err))
		return ELOG_EUSAGE;
	if ((v = web_arg(a, "level")) && *v) {
		int lv = elog_level_parse(v, strlen(v));

		if (lv >= 0) {
			f->level_mask = 0;
			for (int l = lv; l < ELOG_LEVEL_COUNT; l++)
				f->level_mask |= 1u << l;
		} else if (elog_level_filter_parse(v, &f->level_mask, err) != 0) {
			return ELOG_EUSAGE;
		}
	}
	if ((v = web_arg(a, "grep")) && *v) {
		char *re = elog_pattern_with_case(v, 0);

		rc = elog_filter_set_pattern(f, re, err);
		free(re);
		if (rc)
			return ELOG_EUSAGE;
	}
	if ((v = web_arg(a, "since")) && *v && elog_time_parse(v, now, &f->since_ns, err))
		return ELOG_EUSAGE;
	if ((v = web_arg(a, "until")) && *v && elog_time_parse(v, now, &f->until_ns, err))
		return ELOG_EUSAGE;
	return 0;
}

/* A non-negative integer argument; def when absent. 0, or -1 with err. */
static int int_arg(const struct web_args *a, const char *k, int64_t def, int64_t max,
		   int64_t *out, struct elog_err *err)
{
	const char *v = web_arg(a, k);
	char *end;
	long long x;

	*out = def;
	if (!v || !*v)
		return 0;
	x = strtoll(v, &end, 10);
	if (*end || x < 0 || x > max)
		return elog_err_set(err, ELOG_EUSAGE, "invalid %s '%s': expected 0 to %lld", k, v,
				    (long long)max);
	*out = x;
	return 0;
}

/* ---- collecting records ---- */

struct collect {
	struct elog_record *v;
	size_t n, cap, stop_at;   /* stop_at: stop the query after this many (0: never) */
};

static void collect_push(struct collect *c, const struct elog_record *r)
{
	struct elog_record *d;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->v = xrealloc(c->v, c->cap * sizeof(*c->v));
	}
	d = &c->v[c->n++];
	elog_record_init(d);
	d->id = r->id;
	d->ts_ns = r->ts_ns;
	d->arrival_ns = r->arrival_ns;
	d->level = r->level;
	elog_record_set(&d->component, r->component, strlen(r->component));
	elog_record_set(&d->msg, r->msg, strlen(r->msg));
	elog_record_set(&d->fields, r->fields, strlen(r->fields));
	elog_record_set(&d->source, r->source, strlen(r->source));
}

static int collect_fn(void *ctx, const struct elog_record *r)
{
	struct collect *c = ctx;

	collect_push(c, r);
	return c->stop_at && c->n >= c->stop_at ? 1 : 0;
}

static void collect_clear(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		elog_record_clear(&c->v[i]);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static int open_store(struct web_conn *c, struct elog_store **st)
{
	struct elog_err err;

	elog_err_clear(&err);
	if (elog_store_open(st, web_db(c), ELOG_STORE_READONLY, &err) != 0) {
		web_send_error(c, 500, err.msg);
		return -1;
	}
	return 0;
}

/* Sends {"records":[...] (, "more":b)} for v[from..to), within ELOG_WEB_MAX_RESPONSE: past it,
 * the records farthest from the reader's position are left out (keep_newest: the oldest go)
 * and more is set. */
static void send_records(struct web_conn *c, struct elog_record *v, size_t from, size_t to,
			 int more, int with_more, int keep_newest)
{
	struct elog_display *d = json_display();
	struct elog_buf b = ELOG_BUF_INIT, one = ELOG_BUF_INIT;
	size_t i, total = 0;

	/* how many fit, counted from the side that is kept */
	if (keep_newest) {
		for (i = to; i > from; i--) {
			elog_buf_reset(&one);
			web_record_json(d, &v[i - 1], &one);
			if (total + one.len + 1 > ELOG_WEB_MAX_RESPONSE && i < to) {
				from = i;
				more = 1;
				break;
			}
			total += one.len + 1;
		}
	} else {
		for (i = from; i < to; i++) {
			elog_buf_reset(&one);
			web_record_json(d, &v[i], &one);
			if (total + one.len + 1 > ELOG_WEB_MAX_RESPONSE && i > from) {
				to = i;
				more = 1;
				break;
			}
			total += one.len + 1;
		}
	}
	elog_buf_adds(&b, "{\"records\":[");
	for (i = from; i < to; i++) {
		if (i > from)
			elog_buf_addc(&b, ',');
		web_record_json(d, &v[i], &b);
	}
	elog_buf_addc(&b, ']');
	if (with_more)
		elog_buf_addf(&b, ",\"more\":%s", more ? "true" : "false");
	elog_buf_adds(&b, "}\n");
	web_http_begin(c, 200, "application/json", NULL, (int64_t)b.len);
	web_send(c, b.data, b.len, 1);
	elog_buf_release(&b);
	elog_buf_release(&one);
	elog_display_free(d);
}

static void api_records(struct web_conn *c)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_store *st = NULL;
	struct collect col = { 0 };
	int64_t before = 0, after = 0, limit = 200, max_id = ELOG_ID_UNBOUNDED;
	int more = 0, rc;

	elog_filter_init(&f);
	elog_err_clear(&err);
	if (web_filter_from_args(&c->args, &f, &err) != 0 ||
	    int_arg(&c->args, "before", 0, INT64_MAX, &before, &err) != 0 ||
	    int_arg(&c->args, "after", 0, INT64_MAX, &after, &err) != 0 ||
	    int_arg(&c->args, "limit", 200, ELOG_WEB_MAX_LIMIT, &limit, &err) != 0) {
		web_send_error(c, 400, err.msg);
		goto out;
	}
	if (web_arg(&c->args, "before") && web_arg(&c->args, "after")) {
		web_send_error(c, 400, "before and after cannot be used together");
		goto out;
	}
	if (open_store(c, &st) != 0)
		goto out;
	if (web_arg(&c->args, "after")) {
		f.after_id = after;
		col.stop_at = (size_t)limit + 1;
	} else {
		if (web_arg(&c->args, "before"))
			max_id = before > 0 ? before - 1 : 0;
		f.limit = (uint64_t)limit + 1;
	}
	if (limit == 0) {
		send_records(c, NULL, 0, 0, 0, 1, 0);
		goto out;
	}
	rc = elog_store_query(st, &f, max_id, collect_fn, &col, &err);
	if (rc < 0) {
		web_send_error(c, 500, err.msg);
		goto out;
	}
	if (col.n > (size_t)limit) {
		more = 1;
		if (web_arg(&c->args, "after"))
			send_records(c, col.v, 0, (size_t)limit, more, 1, 0);
		else
			send_records(c, col.v, col.n - (size_t)limit, col.n, more, 1, 1);
	} else {
		send_records(c, col.v, 0, col.n, 0, 1, !web_arg(&c->args, "after"));
	}
out:
	collect_clear(&col);
	elog_store_close(st);
	elog_filter_clear(&f);
}

static void api_context(struct web_conn *c)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_store *st = NULL;
	struct collect col = { 0 };
	int64_t id = 0, n = 10;

	elog_filter_init(&f);
	elog_err_clear(&err);
	if (int_arg(&c->args, "id", 0, INT64_MAX, &id, &err) != 0 ||
	    int_arg(&c->args, "n", 10, ELOG_WEB_MAX_CONTEXT, &n, &err) != 0) {
		web_send_error(c, 400, err.msg);
		goto out;
	}
	if (!web_arg(&c->args, "id") || id <= 0) {
		web_send_error(c, 400, "missing id (the record to show the context of)");
		goto out;
	}
	if (open_store(c, &st) != 0)
		goto out;
	if (n > 0) {
		f.limit = (uint64_t)n;
		if (elog_store_query(st, &f, id - 1, collect_fn, &col, &err) < 0) {
			web_send_error(c, 500, err.msg);
			goto out;
		}
	}
	f.limit = 0;
	f.after_id = id - 1;
	col.stop_at = col.n + (size_t)n + 1;
	if (elog_store_query(st, &f, ELOG_ID_UNBOUNDED, collect_fn, &col, &err) < 0) {
		web_send_error(c, 500, err.msg);
		goto out;
	}
	send_records(c, col.v, 0, col.n, 0, 0, 0);
out:
	collect_clear(&col);
	elog_store_close(st);
	elog_filter_clear(&f);
}

static int find_stats(const void *key, const void *elem)
{
	return strcmp(key, ((const struct elog_component_stats *)elem)->name);
}

static void api_components(struct web_conn *c)
{
	struct elog_store *st = NULL;
	struct elog_err err;
	struct elog_component_stats *stats = NULL;
	size_t nstats = 0, nnames = 0, i;
	uint64_t omitted = 0;
	char **names = NULL;
	struct elog_buf b = ELOG_BUF_INIT;

	elog_err_clear(&err);
	if (open_store(c, &st) != 0)
		return;
	if (elog_store_components_ordered(st, &names, &nnames, &err) != 0 ||
	    elog_store_stats(st, elog_now_ns(), &stats, &nstats, &omitted, &err) != 0) {
		web_send_error(c, 500, err.msg);
		goto out;
	}
	elog_buf_adds(&b, "{\"components\":[");
	for (i = 0; i < nnames; i++) {
		const struct elog_component_stats *s = bsearch(names[i], stats, nstats,
							       sizeof(*stats), find_stats);
		char hex[8], ts[40];
		int ansi = elog_display_palette_color(i, hex);

		if (i)
			elog_buf_addc(&b, ',');
		elog_buf_adds(&b, "{\"name\":");
		elog_json_quote(&b, names[i], strlen(names[i]));
		elog_buf_addf(&b, ",\"count\":%llu,\"last_seen\":",
			      (unsigned long long)(s ? s->count : 0));
		if (s && s->last_ns) {
			web_time_ms(s->last_ns, ts, sizeof(ts));
			elog_buf_addf(&b, "\"%s\"", ts);
		} else {
			elog_buf_adds(&b, "null");
		}
		elog_buf_addf(&b, ",\"color\":\"%s\",\"ansi\":%d}", hex, ansi);
	}
	elog_buf_adds(&b, "]}\n");
	web_http_begin(c, 200, "application/json", NULL, (int64_t)b.len);
	web_send(c, b.data, b.len, 1);
out:
	for (i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	elog_component_stats_free(stats, nstats);
	elog_buf_release(&b);
	elog_store_close(st);
}

/* ---- export: pages of the history, streamed ---- */

struct page_out {
	struct elog_display *d;
	struct elog_buf b;
	int64_t last_id;
	size_t n;
};

static int page_fn(void *ctx, const struct elog_record *r)
{
	struct page_out *p = ctx;

	elog_display_record(p->d, r, &p->b);
	p->last_id = r->id;
	return ++p->n >= HISTORY_PAGE || p->b.len >= ELOG_WEB_SEND_QUEUE ? 1 : 0;
}

static void api_export(struct web_conn *c)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_store *st = NULL;
	struct elog_display_opts o;
	struct page_out p;
	const char *fmt = web_arg(&c->args, "format");
	int csv, rc;
	int64_t max_id = 0;

	elog_filter_init(&f);
	elog_err_clear(&err);
	memset(&p, 0, sizeof(p));
	if (!fmt || !*fmt)
		fmt = "jsonl";
	if (strcmp(fmt, "jsonl") != 0 && strcmp(fmt, "csv") != 0) {
		web_send_error(c, 400, "invalid format: expected jsonl or csv");
		goto out;
	}
	csv = fmt[0] == 'c';
	if (web_filter_from_args(&c->args, &f, &err) != 0) {
		web_send_error(c, 400, err.msg);
		goto out;
	}
	if (open_store(c, &st) != 0)
		goto out;
	if (elog_store_max_id(st, &max_id, &err) != 0) {
		web_send_error(c, 500, err.msg);
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.format = csv ? ELOG_FMT_CSV : ELOG_FMT_JSON;
	p.d = elog_display_new(&o);
	web_http_begin(c, 200, csv ? "text/csv; charset=utf-8" : "application/x-ndjson",
		       csv ? "attachment; filename=\"elog-export.csv\"" :
		       "attachment; filename=\"elog-export.jsonl\"", -1);
	elog_display_header(p.d, &p.b);
	for (;;) {
		p.n = 0;
		rc = elog_store_query(st, &f, max_id, page_fn, &p, &err);
		if (rc < 0) {
			/* the headers are gone: end the body with what was sent */
			break;
		}
		if (p.b.len && web_send(c, p.b.data, p.b.len, 0) != 0)
			goto out;
		elog_buf_reset(&p.b);
		if (rc == 0)
			break;
		f.after_id = p.last_id;
	}
	web_send(c, "", 0, 1);
out:
	elog_display_free(p.d);
	elog_buf_release(&p.b);
	elog_store_close(st);
	elog_filter_clear(&f);
}

void web_api_run(struct web_conn *c)
{
	if (strcmp(c->path, "/api/records") == 0)
		api_records(c);
	else if (strcmp(c->path, "/api/context") == 0)
		api_context(c);
	else if (strcmp(c->path, "/api/components") == 0)
		api_components(c);
	else if (strcmp(c->path, "/api/export") == 0)
		api_export(c);
	else
		web_send_error(c, 404, "not found");
}

/* ---- the follow socket ---- */

struct follow_out {
	struct web_conn *c;
	struct elog_display *d;
	struct elog_buf b;
	size_t n;
	int64_t last_id;
	int dead;
	int in_query;      /* a history query is open: send nothing until it returns */
};

static void follow_flush(struct follow_out *o)
{
	if (o->n) {
		elog_buf_adds(&o->b, "]}");
		if (web_send(o->c, o->b.data, o->b.len, 0) != 0)
			o->dead = 1;
	}
	elog_buf_reset(&o->b);
	o->n = 0;
}

static void follow_add(struct follow_out *o, const struct elog_record *r)
{
	if (o->n == 0)
		elog_buf_adds(&o->b, "{\"type\":\"records\",\"records\":[");
	else
		elog_buf_addc(&o->b, ',');
	web_record_json(o->d, r, &o->b);
	o->n++;
	o->last_id = r->id;
	if (!o->in_query && (o->n >= HISTORY_PAGE || o->b.len >= ELOG_WEB_SEND_QUEUE / 2))
		follow_flush(o);
}

/* A page of history: the query stops when the message is full, so that no SQLite read
 * transaction stays open while the client is slow to take the message (the WAL could not be
 * checkpointed past it). */
static int follow_hist_fn(void *ctx, const struct elog_record *r)
{
	struct follow_out *o = ctx;

	follow_add(o, r);
	return o->n >= HISTORY_PAGE || o->b.len >= ELOG_WEB_SEND_QUEUE / 2 ? 1 : 0;
}

/* Records matching f with ids in (after, to] from the history, in messages. 0 or -1. */
static int follow_history(struct follow_out *o, const struct elog_filter *f, int64_t after,
			  int64_t to)
{
	struct elog_store *st = NULL;
	struct elog_filter range = *f;   /* shallow: read-only use of f's lists and pattern */
	struct elog_err err;
	int rc;

	if (to <= after)
		return 0;
	elog_err_clear(&err);
	if (elog_store_open(&st, web_db(o->c), ELOG_STORE_READONLY, &err) != 0)
		return -1;
	range.after_id = after;
	range.limit = 0;
	range.tail = 0;
	for (;;) {
		o->in_query = 1;
		rc = elog_store_query(st, &range, to, follow_hist_fn, o, &err);
		o->in_query = 0;
		follow_flush(o);
		if (rc != 1 || o->dead)
			break;
		range.after_id = o->last_id;
	}
	elog_store_close(st);
	return rc < 0 || o->dead ? -1 : 0;
}

void web_follow_run(struct web_conn *c)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_follower *fol;
	struct follow_out o;
	struct elog_record *batch = NULL;
	int64_t live_after = 0, after = -1;

	elog_filter_init(&f);
	elog_err_clear(&err);
	memset(&o, 0, sizeof(o));
	o.c = c;
	o.d = json_display();
	if (web_filter_from_args(&c->args, &f, &err) != 0 ||
	    int_arg(&c->args, "after", 0, INT64_MAX, &after, &err) != 0) {
		struct elog_buf e = ELOG_BUF_INIT;

		elog_buf_adds(&e, "{\"type\":\"error\",\"error\":");
		elog_json_quote(&e, err.msg, strlen(err.msg));
		elog_buf_addc(&e, '}');
		web_send(c, e.data, e.len, 0);
		elog_buf_release(&e);
		goto out;
	}
	if (!web_arg(&c->args, "after"))
		after = -1;
	fol = elog_hub_follow(web_hub(c), &f, &live_after);
	/* what was committed between the client's last id and now comes from the history */
	if (after >= 0 && follow_history(&o, &f, after, live_after) != 0) {
		elog_follower_close(fol);
		goto out;
	}
	batch = xcalloc(FOLLOW_BATCH, sizeof(*batch));
	while (!web_gone(c) && !o.dead) {
		uint64_t missed = 0;
		int64_t mfrom = 0, mto = 0;
		size_t n = 0, i;
		int r = elog_follower_next(fol, batch, FOLLOW_BATCH, &n, &missed, &mfrom, &mto,
					   FOLLOW_POLL_NS);

		if (r < 0)
			break;
		if (r == 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!o.dead)
				follow_add(&o, &batch[i]);
			elog_record_clear(&batch[i]);
		}
		follow_flush(&o);
		if (missed && !o.dead) {
			struct elog_buf g = ELOG_BUF_INIT;

			elog_buf_addf(&g, "{\"type\":\"gap\",\"message\":\"this connection fell "
				      "behind the live stream: records %lld to %lld were read back "
				      "from the history\",\"from\":%lld,\"to\":%lld}",
				      (long long)mfrom, (long long)mto, (long long)mfrom,
				      (long long)mto);
			if (web_send(c, g.data, g.len, 0) != 0)
				o.dead = 1;
			elog_buf_release(&g);
			if (!o.dead && follow_history(&o, &f, mfrom - 1, mto) != 0)
				o.dead = 1;
		}
	}
	free(batch);
	elog_follower_close(fol);
out:
	elog_buf_release(&o.b);
	elog_display_free(o.d);
	elog_filter_clear(&f);
}
