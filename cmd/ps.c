/*
 * ps.c — `elog ps`: the components the hub knows, with their record counts, first and last
 * record, records of the last minute, counts per level, sources, and the flowctl services
 * registered for them (elog.v1.Hub/Stats; with --db, the history file without a server).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/record.h"
#include "common/util.h"
#include "elog.pb-c.h"

static struct {
	int json, disk, redaction;
	const char *db;
} o;

static const struct option ps_options[] = {
	{ 0, "json", OPT_BOOL, &o.json, NULL, "print one JSON object per component", NULL, NULL },
	{ 0, "disk", OPT_BOOL, &o.disk, NULL,
	  "show the history as a whole instead: its size on disk, records and time span", NULL,
	  NULL },
	{ 0, "redaction", OPT_BOOL, &o.redaction, NULL,
	  "list serve's redaction rules and how many records each changed since it started "
	  "(with --json: one object per rule)", NULL, NULL },
	{ 0, "db", OPT_STRING, &o.db, "PATH",
	  "read the history file PATH directly, without a server (no flowctl services)", "file",
	  NULL },
	OPT_END
};

extern const struct command cmd_ps;

#define NS 1000000000LL
#define NAME_MAX_SHOWN 40     /* columns of a name in the table; longer ones are cut */

/* ---- the answer, from the server or the file ---------------------------------------------- */

/* The stats of --db as an elog.v1.ComponentStats whose strings point into v. */
struct local_stats {
	Elog__V1__ComponentStats msg;
	Elog__V1__HistoryStats hist;
	Elog__V1__ComponentStat *cs, **cp;
	struct elog_component_stats *v;
	size_t n;
};

static int stats_from_db(struct local_stats *l, const char *path)
{
	struct elog_store *st = NULL;
	struct elog_err err;
	uint64_t omitted = 0;
	int64_t now = elog_now_ns();
	struct elog_history_info hi;
	size_t i;
	int rc;

	memset(l, 0, sizeof(*l));
	elog_err_clear(&err);
	rc = elog_store_open(&st, path, ELOG_STORE_READONLY, &err);
	if (rc == 0)
		rc = elog_store_stats(st, now, &l->v, &l->n, &omitted, &err);
	if (rc == 0)
		rc = elog_store_history_info(st, &hi, &err);
	elog_store_close(st);
	if (rc) {
		cli_error("%s", err.msg);
		return cli_exit_of(rc);
	}
	elog__v1__component_stats__init(&l->msg);
	l->cs = xcalloc(l->n + 1, sizeof(*l->cs));
	l->cp = xcalloc(l->n + 1, sizeof(*l->cp));
	for (i = 0; i < l->n; i++) {
		Elog__V1__ComponentStat *c = &l->cs[i];

		elog__v1__component_stat__init(c);
		c->name = l->v[i].name;
		c->count = l->v[i].count;
		c->first_ns = l->v[i].first_ns;
		c->last_ns = l->v[i].last_ns;
		c->last_minute = l->v[i].last_minute;
		c->levels = l->v[i].levels;
		c->n_levels = ELOG_LEVEL_COUNT;
		c->sources = l->v[i].sources;
		c->n_sources = l->v[i].nsources;
		c->sources_omitted = l->v[i].sources_omitted;
		l->cp[i] = c;
	}
	l->msg.components = l->cp;
	l->msg.n_components = l->n;
	l->msg.omitted = omitted;
	l->msg.now_ns = now;
	elog__v1__history_stats__init(&l->hist);
	l->hist.db_bytes = hi.db_bytes;
	l->hist.wal_bytes = hi.wal_bytes;
	l->hist.records = (uint64_t)hi.records;
	l->hist.first_id = hi.first_id;
	l->hist.last_id = hi.last_id;
	l->hist.first_ns = hi.first_ns;
	l->hist.last_ns = hi.last_ns;
	l->hist.removed_before = hi.removed_through ? hi.removed_through + 1 : 0;
	l->msg.history = &l->hist;
	return 0;
}

static void local_stats_release(struct local_stats *l)
{
	free(l->cs);
	free(l->cp);
	elog_component_stats_free(l->v, l->n);
}

static int stats_from_server(Elog__V1__ComponentStats **out)
{
	Elog__V1__StatsRequest req = ELOG__V1__STATS_REQUEST__INIT;
	struct rpc_client_opts ro;
	struct rpc_channel *ch = NULL;
	struct elog_err err;
	char *key = NULL;
	int64_t timeout = cli_timeout_ns();
	int rc, st;

	*out = NULL;
	memset(&ro, 0, sizeof(ro));
	rc = cli_client_opts(&ro, &key);
	if (rc)
		return rc;
	elog_err_clear(&err);
	rc = rpc_channel_open(&ch, cli_server(), &ro, &err);
	if (rc == 0)
		rc = rpc_channel_wait_ready(ch, timeout, &err);
	if (rc) {
		cli_error("%s", err.msg);
		rc = EXIT_UNREACHABLE;
		goto out;
	}
	st = rpc_unary(ch, "/elog.v1.Hub/Stats", &req.base, &elog__v1__component_stats__descriptor,
		       (ProtobufCMessage **)out, timeout, &err);
	if (st != RPC_OK) {
		*out = NULL;
		if (st == RPC_UNIMPLEMENTED)
			cli_error("server '%s' does not answer elog.v1.Hub/Stats: it is an older elog "
				  "serve", cli_server());
		else
			cli_error("cannot list the components of server '%s': %s", cli_server(),
				  err.msg);
		rc = st == RPC_UNAVAILABLE || st == RPC_DEADLINE_EXCEEDED ? EXIT_UNREACHABLE
									    : EXIT_FAIL;
	}
out:
	rpc_channel_close(ch);
	free(key);
	return rc;
}

/* ---- output -------------------------------------------------------------------------------- */

static const char level_letter[ELOG_LEVEL_COUNT] = { 'T', 'D', 'I', 'W', 'E', 'F' };

/* A name as the table shows it: control bytes as '?', cut to NAME_MAX_SHOWN characters
 * (marked with '~'). Returns the number of characters (UTF-8 sequences) written. */
static size_t add_shown(struct elog_buf *b, const char *s, size_t max)
{
	size_t chars = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xc0) == 0x80) {
			elog_buf_addc(b, (char)c);
			continue;
		}
		if (chars + 1 == max && s[1]) {
			elog_buf_addc(b, '~');
			return chars + 1;
		}
		elog_buf_addc(b, c < 0x20 || c == 0x7f ? '?' : (char)c);
		chars++;
	}
	return chars;
}

static void add_pad(struct elog_buf *b, size_t have, size_t want)
{
	while (have++ < want)
		elog_buf_addc(b, ' ');
}

/* "3s ago", "5m ago", "2h ago", "4d ago"; "-" for none. */
static void add_ago(struct elog_buf *b, int64_t now, int64_t t)
{
	int64_t d;

	if (t <= 0) {
		elog_buf_addc(b, '-');
		return;
	}
	d = (now - t) / NS;
	if (d < 1)
		elog_buf_adds(b, "now");
	else if (d < 60)
		elog_buf_addf(b, "%llds ago", (long long)d);
	else if (d < 3600)
		elog_buf_addf(b, "%lldm ago", (long long)(d / 60));
	else if (d < 86400)
		elog_buf_addf(b, "%lldh ago", (long long)(d / 3600));
	else
		elog_buf_addf(b, "%lldd ago", (long long)(d / 86400));
}

/* "E:2 W:5 I:120", the most severe first; "-" for none. */
static void add_levels(struct elog_buf *b, const Elog__V1__ComponentStat *c)
{
	const char *sep = "";
	int l;

	for (l = ELOG_LEVEL_COUNT - 1; l >= 0; l--)
		if ((size_t)l < c->n_levels && c->levels[l]) {
			elog_buf_addf(b, "%s%c:%llu", sep, level_letter[l],
				      (unsigned long long)c->levels[l]);
			sep = " ";
		}
	if (!*sep)
		elog_buf_addc(b, '-');
}

static void add_sources(struct elog_buf *b, const Elog__V1__ComponentStat *c)
{
	size_t i;

	for (i = 0; i < c->n_sources; i++) {
		if (i)
			elog_buf_addc(b, ',');
		add_shown(b, c->sources[i], NAME_MAX_SHOWN);
	}
	if (c->sources_omitted)
		elog_buf_addf(b, "%s+%llu more", c->n_sources ? "," : "",
			      (unsigned long long)c->sources_omitted);
	if (!c->n_sources && !c->sources_omitted)
		elog_buf_addc(b, '-');
}

/* "svc-1 sink healthy (3s ago)", one per service, ", "-separated; "-" for none. */
static void add_services(struct elog_buf *b, const Elog__V1__ComponentStat *c, int64_t now)
{
	size_t i;

	for (i = 0; i < c->n_services; i++) {
		const Elog__V1__FlowctlService *s = c->services[i];

		if (i)
			elog_buf_adds(b, ", ");
		add_shown(b, s->service_id, NAME_MAX_SHOWN);
		elog_buf_addf(b, " %s %s (heartbeat ", s->service_type,
			      s->healthy ? "healthy" : "unhealthy");
		add_ago(b, now, s->last_heartbeat_ns);
		elog_buf_addc(b, ')');
	}
	if (!c->n_services)
		elog_buf_addc(b, '-');
}

/* Display width of a cell: UTF-8 sequences. */
static size_t width_of(const char *s, size_t n)
{
	size_t w = 0, i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

enum { COL_NAME, COL_RECORDS, COL_MIN, COL_FIRST, COL_LAST, COL_LEVELS, COL_SOURCES, COL_FLOWCTL,
       NCOLS };
static const char *const col_title[NCOLS] = {
	"COMPONENT", "RECORDS", "LAST MIN", "FIRST", "LAST", "LEVELS", "SOURCES", "FLOWCTL",
};
/* numbers are right-aligned */
static const int col_right[NCOLS] = { 0, 1, 1, 0, 0, 0, 0, 0 };

static void print_table(const Elog__V1__ComponentStats *s, struct elog_buf *out, int flowctl)
{
	size_t n = s->n_components, i, k, ncols = flowctl ? NCOLS : NCOLS - 1;
	struct elog_buf *cell = xcalloc((n + 1) * NCOLS, sizeof(*cell));
	size_t width[NCOLS];

	for (k = 0; k < NCOLS; k++) {
		elog_buf_adds(&cell[k], col_title[k]);
		width[k] = strlen(col_title[k]);
	}
	for (i = 0; i < n; i++) {
		const Elog__V1__ComponentStat *c = s->components[i];
		struct elog_buf *row = &cell[(i + 1) * NCOLS];

		add_shown(&row[COL_NAME], c->name, NAME_MAX_SHOWN);
		elog_buf_addf(&row[COL_RECORDS], "%llu", (unsigned long long)c->count);
		elog_buf_addf(&row[COL_MIN], "%llu", (unsigned long long)c->last_minute);
		add_ago(&row[COL_FIRST], s->now_ns, c->first_ns);
		add_ago(&row[COL_LAST], s->now_ns, c->last_ns);
		add_levels(&row[COL_LEVELS], c);
		add_sources(&row[COL_SOURCES], c);
		add_services(&row[COL_FLOWCTL], c, s->now_ns);
		for (k = 0; k < NCOLS; k++) {
			size_t w = width_of(row[k].data ? row[k].data : "", row[k].len);

			if (w > width[k])
				width[k] = w;
		}
	}
	for (i = 0; i <= n; i++) {
		struct elog_buf *row = &cell[i * NCOLS];

		for (k = 0; k < ncols; k++) {
			size_t w = width_of(row[k].data ? row[k].data : "", row[k].len);
			int last = k + 1 == ncols;

			if (col_right[k])
				add_pad(out, w, width[k]);
			if (row[k].len)
				elog_buf_add(out, row[k].data, row[k].len);
			if (!col_right[k] && !last)
				add_pad(out, w, width[k]);
			if (!last)
				elog_buf_adds(out, "  ");
		}
		elog_buf_addc(out, '\n');
	}
	for (i = 0; i < (n + 1) * NCOLS; i++)
		elog_buf_release(&cell[i]);
	free(cell);
}

/* A time as "2026-12-03T10:31:02.123Z", or null for none. */
static void json_time(struct elog_buf *b, int64_t ns)
{
	time_t secs;
	struct tm tm;
	char buf[64];

	if (ns <= 0) {
		elog_buf_adds(b, "null");
		return;
	}
	secs = (time_t)(ns / NS);
	if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
		elog_buf_adds(b, "null");
		return;
	}
	elog_buf_addf(b, "\"%s.%03dZ\"", buf, (int)(ns % NS / 1000000));
}

static void json_str(struct elog_buf *b, const char *s)
{
	elog_json_quote(b, s ? s : "", s ? strlen(s) : 0);
}

/* serve --cluster: how far the publisher is (a last line; with --json an object of its own,
 * {"cluster":{...}}). */
static void print_cluster(const Elog__V1__ClusterState *c, struct elog_buf *out, int json)
{
	if (!c)
		return;
	if (json) {
		elog_buf_adds(out, "{\"cluster\":{\"node\":");
		json_str(out, c->node);
		elog_buf_addf(out, ",\"connected\":%s,\"cursor\":%lld,\"behind\":%llu,"
			      "\"behind_seconds\":%.3f,\"published\":%llu,\"aggregated\":%llu}}\n",
			      c->connected ? "true" : "false", (long long)c->cursor,
			      (unsigned long long)c->behind, (double)c->behind_ns / 1e9,
			      (unsigned long long)c->published, (unsigned long long)c->aggregated);
		return;
	}
	elog_buf_adds(out, "cluster: node '");
	elog_buf_adds(out, c->node ? c->node : "");
	elog_buf_addf(out, "' %s, %llu records (%.1f s) behind, %llu published",
		      c->connected ? "connected" : "not connected", (unsigned long long)c->behind,
		      (double)c->behind_ns / 1e9, (unsigned long long)c->published);
	if (c->aggregated)
		elog_buf_addf(out, ", %llu aggregated", (unsigned long long)c->aggregated);
	elog_buf_adds(out, " this run\n");
}

static void print_json(const Elog__V1__ComponentStats *s, struct elog_buf *out, int flowctl)
{
	size_t i, j;
	int l;

	for (i = 0; i < s->n_components; i++) {
		const Elog__V1__ComponentStat *c = s->components[i];

		elog_buf_adds(out, "{\"component\":");
		json_str(out, c->name);
		elog_buf_addf(out, ",\"count\":%llu,\"first_seen\":", (unsigned long long)c->count);
		json_time(out, c->first_ns);
		elog_buf_adds(out, ",\"last_seen\":");
		json_time(out, c->last_ns);
		elog_buf_addf(out, ",\"first_seen_ns\":%lld,\"last_seen_ns\":%lld,\"last_minute\":%llu",
			      (long long)c->first_ns, (long long)c->last_ns,
			      (unsigned long long)c->last_minute);
		elog_buf_adds(out, ",\"levels\":{");
		for (l = 0; l < ELOG_LEVEL_COUNT; l++)
			elog_buf_addf(out, "%s\"%s\":%llu", l ? "," : "", elog_level_name(l),
				      (unsigned long long)((size_t)l < c->n_levels ? c->levels[l] : 0));
		elog_buf_adds(out, "},\"sources\":[");
		for (j = 0; j < c->n_sources; j++) {
			if (j)
				elog_buf_addc(out, ',');
			json_str(out, c->sources[j]);
		}
		elog_buf_addf(out, "],\"sources_omitted\":%llu",
			      (unsigned long long)c->sources_omitted);
		if (flowctl) {
			elog_buf_adds(out, ",\"flowctl\":[");
			for (j = 0; j < c->n_services; j++) {
				const Elog__V1__FlowctlService *f = c->services[j];

				elog_buf_adds(out, j ? ",{\"service_id\":" : "{\"service_id\":");
				json_str(out, f->service_id);
				elog_buf_adds(out, ",\"type\":");
				json_str(out, f->service_type);
				elog_buf_addf(out, ",\"healthy\":%s,\"last_heartbeat\":",
					      f->healthy ? "true" : "false");
				json_time(out, f->last_heartbeat_ns);
				elog_buf_addf(out, ",\"last_heartbeat_ns\":%lld,\"metrics\":%u}",
					      (long long)f->last_heartbeat_ns, f->metrics);
			}
			elog_buf_addc(out, ']');
		}
		elog_buf_adds(out, "}\n");
	}
}

/* "12.3 MiB" */
static void add_bytes(struct elog_buf *b, int64_t n)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		elog_buf_addf(b, "%lld B", (long long)n);
	else
		elog_buf_addf(b, "%.1f %s", v, unit[u]);
}

/* "2m13s", "4h2m", "3d4h" */
static void add_span(struct elog_buf *b, int64_t ns)
{
	int64_t s = ns / NS;

	if (s < 60)
		elog_buf_addf(b, "%llds", (long long)s);
	else if (s < 3600)
		elog_buf_addf(b, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		elog_buf_addf(b, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		elog_buf_addf(b, "%lldd%lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* ps --disk: the history as a whole, as text or one JSON object. */
static int print_disk(const Elog__V1__ComponentStats *s, struct elog_buf *out)
{
	const Elog__V1__HistoryStats *h = s->history;

	if (!h) {
		cli_error("server '%s' does not say what its history takes on disk: it is an older "
			  "elog serve", cli_server());
		return EXIT_FAIL;
	}
	if (o.json) {
		elog_buf_addf(out, "{\"size\":%lld,\"db_bytes\":%lld,\"wal_bytes\":%lld,"
			      "\"records\":%llu,\"first_id\":%lld,\"last_id\":%lld,\"first\":",
			      (long long)(h->db_bytes + h->wal_bytes), (long long)h->db_bytes,
			      (long long)h->wal_bytes, (unsigned long long)h->records,
			      (long long)h->first_id, (long long)h->last_id);
		json_time(out, h->first_ns);
		elog_buf_adds(out, ",\"last\":");
		json_time(out, h->last_ns);
		elog_buf_addf(out, ",\"first_ns\":%lld,\"last_ns\":%lld,\"removed_before\":%lld}\n",
			      (long long)h->first_ns, (long long)h->last_ns,
			      (long long)h->removed_before);
		return 0;
	}
	elog_buf_adds(out, "size:     ");
	add_bytes(out, h->db_bytes + h->wal_bytes);
	elog_buf_adds(out, " on disk (database ");
	add_bytes(out, h->db_bytes);
	elog_buf_adds(out, ", WAL ");
	add_bytes(out, h->wal_bytes);
	elog_buf_addf(out, ")\nrecords:  %llu", (unsigned long long)h->records);
	if (h->first_id)
		elog_buf_addf(out, " (ids %lld to %lld)", (long long)h->first_id,
			      (long long)h->last_id);
	elog_buf_addc(out, '\n');
	if (h->first_ns) {
		char a[64], b[64];
		time_t t0 = (time_t)(h->first_ns / NS), t1 = (time_t)(h->last_ns / NS);
		struct tm tm0, tm1;

		gmtime_r(&t0, &tm0);
		gmtime_r(&t1, &tm1);
		strftime(a, sizeof(a), "%Y-%m-%d %H:%M:%S", &tm0);
		strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S", &tm1);
		elog_buf_addf(out, "span:     %s to %s UTC (", a, b);
		add_span(out, h->last_ns - h->first_ns);
		elog_buf_adds(out, ")\n");
	}
	if (h->removed_before)
		elog_buf_addf(out, "removed:  records before id %lld (retention or prune)\n",
			      (long long)h->removed_before);
	return 0;
}

/* `ps --redaction`: every rule, on or off, and the records it changed. */
static void print_redaction(const Elog__V1__ComponentStats *s, struct elog_buf *out)
{
	size_t i;

	if (s->redaction_off && !o.json) {
		elog_buf_adds(out, "redaction is off (serve --no-redact)\n");
		return;
	}
	if (!o.json)
		elog_buf_addf(out, "%-20s %-4s %s\n", "RULE", "ON", "RECORDS");
	for (i = 0; i < s->n_redaction; i++) {
		const Elog__V1__RedactionRule *r = s->redaction[i];

		if (o.json) {
			elog_buf_adds(out, "{\"rule\":");
			elog_json_quote(out, r->name, strlen(r->name));
			elog_buf_addf(out, ",\"enabled\":%s,\"builtin\":%s,\"records\":%llu}\n",
				      r->enabled ? "true" : "false", r->builtin ? "true" : "false",
				      (unsigned long long)r->records);
		} else {
			elog_buf_addf(out, "%-20s %-4s %llu\n", r->name, r->enabled ? "on" : "off",
				      (unsigned long long)r->records);
		}
	}
}

/* Under the table: the rules that changed records, when any did (or that redaction is off). */
static void redaction_footer(const Elog__V1__ComponentStats *s, struct elog_buf *out)
{
	size_t i;
	int any = 0;

	if (s->redaction_off) {
		elog_buf_adds(out, "redaction: OFF (serve --no-redact)\n");
		return;
	}
	for (i = 0; i < s->n_redaction; i++) {
		const Elog__V1__RedactionRule *r = s->redaction[i];

		if (!r->records)
			continue;
		elog_buf_addf(out, "%s%s %llu", any ? ", " : "redacted (records changed per rule): ",
			      r->name, (unsigned long long)r->records);
		any = 1;
	}
	if (any)
		elog_buf_addc(out, '\n');
}

/* serve --forward: one line per forwarder after the components (JSON: an object with a
 * "forward" key). */
static void print_forwarders(const Elog__V1__ComponentStats *s, struct elog_buf *out, int json)
{
	for (size_t i = 0; i < s->n_forwarders; i++) {
		const Elog__V1__Forwarder *f = s->forwarders[i];
		double behind = (double)f->behind_ns / 1e9;

		if (json) {
			elog_buf_adds(out, "{\"forward\":");
			elog_json_quote(out, f->target, strlen(f->target));
			elog_buf_addf(out, ",\"cursor\":%lld,\"behind_records\":%llu,"
				      "\"behind_seconds\":%.3f,\"sent\":%llu,\"rejected\":%llu,"
				      "\"failures\":%llu,\"last_error\":", (long long)f->cursor,
				      (unsigned long long)f->behind_records, behind,
				      (unsigned long long)f->sent, (unsigned long long)f->rejected,
				      (unsigned long long)f->failures);
			elog_json_quote(out, f->last_error, strlen(f->last_error));
			elog_buf_adds(out, "}\n");
			continue;
		}
		elog_buf_addf(out, "forward %s: ", f->target);
		if (f->behind_records)
			elog_buf_addf(out, "%llu records, %.1f s behind",
				      (unsigned long long)f->behind_records, behind);
		else
			elog_buf_adds(out, "caught up");
		elog_buf_addf(out, " (%llu sent this run", (unsigned long long)f->sent);
		if (f->rejected)
			elog_buf_addf(out, ", %llu refused by the collector",
				      (unsigned long long)f->rejected);
		elog_buf_adds(out, ")");
		if (*f->last_error)
			elog_buf_addf(out, "; last error: %s", f->last_error);
		elog_buf_addc(out, '\n');
	}
}

static int run_ps(int argc, char **argv)
{
	Elog__V1__ComponentStats *remote = NULL;
	const Elog__V1__ComponentStats *s;
	struct local_stats local;
	struct elog_buf out = ELOG_BUF_INIT;
	char **rest;
	int nrest, rc;

	rc = cli_parse(&cmd_ps, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 0) {
		rc = cli_usage_error(&cmd_ps, "unexpected argument '%s'", rest[0]);
		free(rest);
		return rc;
	}
	free(rest);
	memset(&local, 0, sizeof(local));
	if (o.db) {
		rc = stats_from_db(&local, o.db);
		s = &local.msg;
	} else {
		rc = stats_from_server(&remote);
		s = remote;
	}
	if (rc == 0 && o.redaction && o.db) {
		rc = cli_usage_error(&cmd_ps, "--redaction asks serve: it goes without --db");
	} else if (rc == 0 && o.redaction) {
		print_redaction(s, &out);
		if (out.len && cli_write_out(out.data, out.len) != 0)
			rc = 0;
	} else if (rc == 0) {
		if (o.disk)
			rc = print_disk(s, &out);
		else if (o.json)
			print_json(s, &out, !o.db);
		else
			print_table(s, &out, !o.db);
		if (!o.json && !o.disk)
			redaction_footer(s, &out);
		print_forwarders(s, &out, o.json);
		print_cluster(s->cluster, &out, o.json);
		if (out.len && cli_write_out(out.data, out.len) != 0)
			rc = 0;   /* a closed pipe ends quietly; the dispatcher reports other errors */
		if (s->omitted && !o.disk)
			cli_error("%llu more components not shown: the limit is %d components "
				  "(or %u MiB of names and sources) per answer",
				  (unsigned long long)s->omitted, ELOG_STATS_MAX_COMPONENTS,
				  ELOG_STATS_MAX_BYTES >> 20);
	}
	elog_buf_release(&out);
	if (remote)
		protobuf_c_message_free_unpacked(&remote->base, NULL);
	local_stats_release(&local);
	return rc;
}

const struct command cmd_ps = {
	.name = "ps",
	.summary = "list the components the hub knows, with counts, rates, levels and health",
	.usage = "[--json] [--disk] [--db PATH]",
	.options = ps_options,
	.client = 1,
	.run = run_ps,
	.description =
		"Prints one row per component of the history, sorted by name: how many records "
		"it has, how many arrived in the last minute, when its first and last record "
		"arrived, its records per level (F fatal, E error, W warn, I info, D debug, "
		"T trace; levels without records are left out), and the sources that sent them "
		"(send, tail, electrician, flowctl, logging.v1, or what send --source said), the "
		"busiest first, at most 16. A component that a flowctl service registered with the hub is "
		"listed even before it sent a record, and its FLOWCTL column shows each such "
		"service: its id, type, whether it is healthy (a heartbeat within serve "
		"--heartbeat-ttl) and when its last heartbeat came. Services without a "
		"component_id are listed under their service id.\n"
		"Counts come from a summary the hub keeps as it commits records, so they cost the "
		"same whatever the size of the history. An answer holds at most 4096 components "
		"and 4 MiB of names and sources; elog says on standard error how many more there "
		"are.\n"
		"With --json, one JSON object per component, one a line, with the keys: component, "
		"count, first_seen and last_seen (UTC, RFC 3339 with milliseconds, null when "
		"none), first_seen_ns and last_seen_ns (ns since the Unix epoch, 0 when none), "
		"last_minute (records that arrived in the 60 s before the count), levels (an "
		"object of the six level names and their counts), sources (an array), "
		"sources_omitted (distinct sources past the 16 shown), and flowctl: an array of "
		"objects with service_id, type (source, processor, sink, pipeline or unspecified), "
		"healthy, last_heartbeat, last_heartbeat_ns and metrics (how many the last "
		"heartbeat carried).\n"
		"With --db, the history file is read directly, without a server: there is no "
		"flowctl registry then, so the FLOWCTL column and the flowctl key are left out.\n"
		"With --disk, the history as a whole instead: its size on disk (the database "
		"file and its WAL), how many records it holds and their ids, when the oldest and "
		"the newest arrived, and before which id records were removed by retention (serve "
		"--retain-size, --retain-age) or elog prune. With --json, one object with the keys "
		"size, db_bytes, wal_bytes, records, first_id, last_id, first, last, first_ns, "
		"last_ns and removed_before (0: none removed). "
		"Under the table, when serve's redaction changed records since it started, one line "
		"names the rules that did and how many records each changed; --redaction lists "
		"every rule, on or off, with its count. "
		"When serve runs with --forward, a last line shows the forwarder: \"forward URL: "
		"caught up\" or \"N records, S s behind\" (committed records the collector has not "
		"acknowledged yet, and how long ago the oldest of them arrived), how many were sent "
		"this run and refused by the collector, and the last error while calls fail. With "
		"--json it is an object with the keys forward, cursor, behind_records, "
		"behind_seconds, sent, rejected, failures and last_error.",
	.examples =
		"elog ps\n"
		"list the components with their counts, levels, sources and flowctl health\n"
		"elog ps --json\n"
		"the same, one JSON object per component\n"
		"elog ps --disk\n"
		"how much the history takes on disk, its records and time span\n",
};
