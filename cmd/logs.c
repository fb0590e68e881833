/*
 * logs.c — `elog logs`: the multiplexed, color-coded view of the history and live records.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "query.h"
#include "view/display.h"
#include "client/client.h"
#include "store/store.h"
#include "common/util.h"
#include "common/json.h"

static struct query_opts q = { .last_n = QUERY_ALL, .tail = QUERY_ALL };
static struct {
	int json, timestamps, no_prefix, utc;
	const char *color, *output, *highlight;
	struct str_list fields, hide_fields, nodes;
} o;

static const struct option logs_options[] = {
	{ 'f', "follow", OPT_BOOL, &q.follow, NULL, "after the history, show new records as they arrive", NULL, NULL },
	QUERY_OPTIONS(q),
	{ 'o', "output", OPT_STRING, &o.output, "MODE",
	  "short (the default: one colored line per record), raw or cat (the message only), json "
	  "(JSON Lines), json-pretty (indented JSON) or logfmt",
	  "short|raw|cat|json|json-pretty|logfmt", NULL },
	{ 0, "json", OPT_BOOL, &o.json, NULL, "print JSON Lines instead of text (--output json)", NULL, NULL },
	{ 'H', "highlight", OPT_STRING, &o.highlight, "RE",
	  "on a color terminal, show the matches of RE in messages and field values in reverse "
	  "video, without filtering (--grep's matches are shown so too)", NULL, NULL },
	{ 0, "fields", OPT_LIST, &o.fields, "KEY",
	  "print only these fields (comma-separated or repeated)", NULL, NULL },
	{ 0, "hide-fields", OPT_LIST, &o.hide_fields, "KEY",
	  "do not print these fields (comma-separated or repeated)", NULL, NULL },
	{ 0, "color", OPT_STRING, &o.color, "WHEN", "color the output: auto, always or never (default auto)",
	  "auto|always|never", NULL },
	{ 't', "timestamps", OPT_BOOL, &o.timestamps, NULL, "show each record's time", NULL, NULL },
	{ 0, "utc", OPT_BOOL, &o.utc, NULL, "show times in UTC", NULL, NULL },
	{ 0, "no-prefix", OPT_BOOL, &o.no_prefix, NULL, "do not show the component prefix", NULL, NULL },
	{ 'N', "node", OPT_LIST, &o.nodes, "NAME",
	  "only records from these nodes of serve --cluster (the field node; '-' for the box's own "
	  "records, which have none; comma-separated or repeated); applied after -n and --tail",
	  NULL, NULL },
	{ 0, "ready-file", OPT_STRING, &q.ready_file, "PATH",
	  "with -f: write PATH once the history is shown and live records are on the way", "file", NULL },
	OPT_END
};

extern const struct command cmd_logs;

struct out {
	struct elog_display *d;
	struct elog_buf buf;
	int closed;
	int node_prefix;  /* text with a prefix: records from other nodes show "comp@node" */
	uint64_t shown;   /* records printed */
};

static int out_flush(struct out *w)
{
	if (w->buf.len && !w->closed && cli_write_out(w->buf.data, w->buf.len) != 0)
		w->closed = 1;
	elog_buf_reset(&w->buf);
	return w->closed;
}

/* The origin node of a record brought in by serve --aggregate (its field "node"), or NULL;
 * *tree must be freed with yajl_tree_free. */
static const char *record_node(const struct elog_record *r, yajl_val *tree)
{
	static const char *path[] = { "node", NULL };
	yajl_val v;

	*tree = NULL;
	if (!strstr(r->fields, "\"node\""))
		return NULL;
	*tree = elog_json_tree_parse(r->fields);
	v = *tree ? yajl_tree_get(*tree, path, yajl_t_string) : NULL;
	return v ? YAJL_GET_STRING(v) : NULL;
}

static int node_wanted(const char *node)
{
	size_t i;

	for (i = 0; i < o.nodes.n; i++) {
		const char *p = o.nodes.items[i];

		while (*p) {
			size_t n = strcspn(p, ",");

			if (node ? strlen(node) == n && strncmp(node, p, n) == 0 :
			    n == 1 && *p == '-')
				return 1;
			p += n + (p[n] == ',');
		}
	}
	return 0;
}

static int on_record(void *ctx, const struct elog_record *r)
{
	struct out *w = ctx;
	yajl_val tree = NULL;
	const char *node = NULL;

	if (w->closed)
		return 1;
	if (o.nodes.n || w->node_prefix)
		node = record_node(r, &tree);
	if (o.nodes.n && !node_wanted(node)) {
		yajl_tree_free(tree);
		return 0;
	}
	w->shown++;
	if (node && w->node_prefix) {
		/* records from other nodes: "api@box2 |" */
		struct elog_record t = *r;
		struct elog_buf name = ELOG_BUF_INIT;

		elog_buf_addf(&name, "%s@%s", r->component, node);
		t.component = name.data;
		elog_display_record(w->d, &t, &w->buf);
		elog_buf_release(&name);
	} else {
		elog_display_record(w->d, r, &w->buf);
	}
	yajl_tree_free(tree);
	if (w->buf.len >= 64 * 1024)
		return out_flush(w);
	return 0;
}

static void on_notice(void *ctx, const char *text)
{
	struct out *w = ctx;

	elog_display_notice(w->d, text, &w->buf);
}

/* Returns non-zero once standard output is closed (the reader went away), so following
 * ends even while no record arrives. */
static int on_page_end(void *ctx)
{
	struct out *w = ctx;
	struct pollfd p = { STDOUT_FILENO, 0, 0 };
	int wrote = q.follow && w->buf.len > 0;

	/* Following: every page goes out at once (line-buffered even into a pipe). */
	if (q.follow)
		out_flush(w);
	/* A page just written needs no poll: with the reader gone that write (or the next one)
	 * fails, and a quiet follower is still asked once a second (query.c). One system call
	 * less a page: with 50 followers at 10k lines/s, ~10k pages a second. */
	if (!w->closed && !wrote && poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP)))
		w->closed = 1;
	return w->closed;
}

/* --output MODE; -1 when unknown. */
static int output_format(const char *mode)
{
	static const struct { const char *name; enum elog_format fmt; } modes[] = {
		{ "short", ELOG_FMT_TEXT }, { "raw", ELOG_FMT_RAW }, { "cat", ELOG_FMT_RAW },
		{ "json", ELOG_FMT_JSON }, { "json-pretty", ELOG_FMT_JSON_PRETTY },
		{ "logfmt", ELOG_FMT_LOGFMT },
	};

	if (!mode)
		return o.json ? ELOG_FMT_JSON : ELOG_FMT_TEXT;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i].name) == 0)
			return (int)modes[i].fmt;
	return -1;
}

/* Splits the comma-separated items of l into a new NULL-free array (*n entries). */
static char **split_list(const struct str_list *l, size_t *n)
{
	char **v = NULL;

	*n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->items[i];

		for (;;) {
			const char *comma = strchr(p, ',');
			size_t len = comma ? (size_t)(comma - p) : strlen(p);

			if (len) {
				v = xrealloc(v, (*n + 1) * sizeof(*v));
				v[(*n)++] = xstrndup(p, len);
			}
			if (!comma)
				break;
			p = comma + 1;
		}
	}
	return v;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int want_color(const char *when)
{
	const char *term = getenv("TERM");

	if (!when || strcmp(when, "auto") == 0) {
		if (getenv("NO_COLOR") && *getenv("NO_COLOR"))
			return 0;
		if (term && strcmp(term, "dumb") == 0)
			return 0;
		return isatty(STDOUT_FILENO);
	}
	if (strcmp(when, "always") == 0)
		return 1;
	if (strcmp(when, "never") == 0)
		return 0;
	return -1;
}

/* The history's components (--db) or the hub's, in order of first appearance; none when that
 * fails. */
static char **list_components(const struct rpc_client_opts *ro, size_t *n)
{
	struct elog_store *st = NULL;
	struct elog_err err;
	char **names = NULL;

	*n = 0;
	elog_err_clear(&err);
	if (q.db) {
		if (elog_store_open(&st, q.db, ELOG_STORE_READONLY, &err) == 0 &&
		    elog_store_components_ordered(st, &names, n, &err) != 0)
			names = NULL, *n = 0;
		elog_store_close(st);
	} else if (elog_client_components_ordered(cli_server(), ro, &names, n,
						  cli_timeout_ns(), &err) != 0) {
		*n = 0;
	}
	return names;
}

/*
 * Nothing was shown: with -c, say on stderr which components there are (a misspelt name
 * otherwise looks like an empty history); on a terminal, say that there was nothing.
 */
static void say_nothing(const struct elog_filter *f, const struct rpc_client_opts *ro)
{
	char **names;
	size_t n, i;

	if (f->ncomponents) {
		struct elog_buf b = ELOG_BUF_INIT;
		size_t k, nmissing = 0;

		names = list_components(ro, &n);
		for (i = 0; i < f->ncomponents; i++) {
			for (k = 0; k < n && strcmp(names[k], f->components[i]) != 0; k++)
				;
			if (k == n)
				elog_buf_addf(&b, "%s'%s'", nmissing++ ? ", " : "", f->components[i]);
		}
		if (!nmissing) {   /* they all have records: the other filters left none */
			for (i = 0; i < n; i++)
				free(names[i]);
			free(names);
			elog_buf_release(&b);
			if (isatty(STDOUT_FILENO))
				fprintf(stderr, "elog: no records match\n");
			return;
		}
		fprintf(stderr, "elog: no component %s in the history; ", b.data);
		elog_buf_release(&b);
		if (n == 0)
			fprintf(stderr, "the history has no components\n");
		else
			fprintf(stderr, "the components are: ");
		for (i = 0; i < n; i++) {
			fprintf(stderr, "%s%s", i ? ", " : "", names[i]);
			free(names[i]);
		}
		if (n)
			fputc('\n', stderr);
		free(names);
		return;
	}
	if (!isatty(STDOUT_FILENO))
		return;
	if (f->nxcomponents || q.levels || q.since || q.until || q.grep || q.exclude ||
	    q.last_n != QUERY_ALL || q.tail != QUERY_ALL)
		fprintf(stderr, "elog: no records match\n");
	else
		fprintf(stderr, "elog: the history is empty\n");
}

/*
 * Gives the text display the history's components in order of first appearance, so each has
 * the same color in every run and every view (filtered or not), and tells it which to expect
 * on screen so the prefix padding is the same from the first line: the -c names when given,
 * else the history's components that the filter lets through (those met later widen it).
 * From the server, or the file with --db. Best effort: a failure here is reported by the
 * read itself.
 */
static void hint_components(struct elog_display *d, const struct elog_filter *f,
			    const struct rpc_client_opts *ro)
{
	char **names;
	size_t n = 0, i;

	names = list_components(ro, &n);
	elog_display_color_order(d, names, n);
	if (f->ncomponents) {
		elog_display_hint_components(d, f->components, f->ncomponents);
	} else {
		for (i = 0; i < n; i++)   /* the components the filter leaves out take no room */
			if (!elog_filter_excludes_component(f, names[i]))
				elog_display_hint_components(d, &names[i], 1);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The colors the terminal can show: COLORTERM=truecolor|24bit, TERM with "256color", or the
 * basic eight. */
static int color_depth(void)
{
	const char *ct = getenv("COLORTERM"), *term = getenv("TERM");

	if (ct && (strcmp(ct, "truecolor") == 0 || strcmp(ct, "24bit") == 0))
		return ELOG_COLOR_TRUE;
	if (term && strstr(term, "256col"))
		return ELOG_COLOR_256;
	return ELOG_COLOR_BASIC;
}

static int run_logs(int argc, char **argv)
{
	struct elog_display_opts dopts;
	struct elog_filter f, hl_grep, hl;
	struct rpc_client_opts ro;
	struct elog_err err;
	struct out w;
	char **rest, *key = NULL, *re;
	int nrest, rc, color, fmt;

	rc = cli_parse(&cmd_logs, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 0) {
		rc = cli_usage_error(&cmd_logs, "unexpected argument '%s'", rest[0]);
		free(rest);
		return rc;
	}
	free(rest);
	color = want_color(o.color);
	if (color < 0)
		return cli_usage_error(&cmd_logs, "invalid value '%s' for --color: expected auto, always or never",
				       o.color);
	fmt = output_format(o.output);
	if (fmt < 0)
		return cli_usage_error(&cmd_logs, "invalid value '%s' for --output: expected short, raw, "
				       "cat, json, json-pretty or logfmt", o.output);
	if (o.json && fmt != ELOG_FMT_JSON)
		return cli_usage_error(&cmd_logs, "--json and --output '%s' cannot be used together",
				       o.output);
	elog_filter_init(&f);
	elog_filter_init(&hl_grep);
	elog_filter_init(&hl);
	rc = query_filter(&cmd_logs, &q, &f);
	elog_err_clear(&err);
	/* highlighting: filters of their own (their match scratch is not the reader's) */
	if (rc == 0 && o.highlight) {
		re = query_case_pattern(&q, o.highlight);
		if (elog_filter_set_pattern(&hl, re, &err))
			rc = cli_usage_error(&cmd_logs, "%s", err.msg);
		free(re);
	}
	if (rc == 0 && f.pattern && color)
		elog_filter_set_pattern(&hl_grep, f.pattern, NULL);
	if (rc == 0) {
		memset(&dopts, 0, sizeof(dopts));
		dopts.format = (enum elog_format)fmt;
		dopts.color = color;
		dopts.color_depth = color_depth();
		dopts.highlight[0] = hl_grep.regex;
		dopts.highlight[1] = hl.regex;
		dopts.show_fields = split_list(&o.fields, &dopts.nshow);
		dopts.hide_fields = split_list(&o.hide_fields, &dopts.nhide);
		dopts.timestamps = o.timestamps;
		dopts.no_prefix = o.no_prefix;
		dopts.utc = o.utc;
		memset(&w, 0, sizeof(w));
		memset(&ro, 0, sizeof(ro));
		w.d = elog_display_new(&dopts);
		w.node_prefix = fmt == ELOG_FMT_TEXT && !o.no_prefix;
		/* Bad client options (say, a key for a plaintext remote): report them once, here. */
		if (!q.db && (rc = cli_client_opts(&ro, &key)) != 0)
			goto done;
		if (fmt == ELOG_FMT_TEXT && !o.no_prefix)
			hint_components(w.d, &f, &ro);
		rc = query_run(&cmd_logs, &q, &f, on_record, on_notice, on_page_end, &w);
		if (rc == EXIT_OK && !q.follow && w.shown == 0 && !w.closed)
			say_nothing(&f, &ro);
done:
		free(key);
		out_flush(&w);
		elog_buf_release(&w.buf);
		elog_display_free(w.d);
		free_list(dopts.show_fields, dopts.nshow);
		free_list(dopts.hide_fields, dopts.nhide);
	}
	elog_filter_clear(&f);
	elog_filter_clear(&hl_grep);
	elog_filter_clear(&hl);
	free(q.components.items);
	free(q.xcomponents.items);
	free(o.fields.items);
	free(o.hide_fields.items);
	free(o.nodes.items);
	return rc;
}

const struct command cmd_logs = {
	.name = "logs",
	.summary = "show the history and follow live records",
	.usage = "[-f] [-c COMP]... [-E COMP]... [-l LEVELS] [--since T] [--until T] [--grep RE] "
		 "[-e RE] [-i] [-H RE] [-n N | --tail N] [-o MODE] [--fields K,...] [--hide-fields K,...] "
		 "[--color=WHEN] [--timestamps] [--no-prefix] [--db PATH] [--ready-file PATH]",
	.options = logs_options,
	.client = 1,
	.run = run_logs,
	.description =
		"Prints one line per record: the component, padded to a common width and in a "
		"color of its own, then the level, the message and the fields.\n"
		"With -f, the history is followed by live records with neither gap nor duplicate "
		"between the two; output is flushed as records arrive even into a pipe. If the "
		"server goes away, elog says so on standard error, reconnects, and resumes after the "
		"last record it printed. A follower that falls behind (a slow terminal, a paused "
		"pager) never slows the senders: the server keeps a bounded list of recent records "
		"that all followers share, and sends what left it from the history once the "
		"follower reads again, so it still gets every record, once and in order. Only if the history cannot be read is it "
		"told how many records it missed.\n"
		"A script that starts a follower and then makes the records it waits for can pass "
		"--ready-file: the file is written (atomically, with the server address or the "
		"history path) once the history is shown and every later record will reach the "
		"follower.\n"
		"Levels: a list (error,warn), a minimum (warn+ or >=warn) or a maximum (<=debug). "
		"Color is used on a terminal unless NO_COLOR is set or TERM is dumb. Components are "
		"colored in the order they first appeared in the history, from a palette without the "
		"level colors (red, yellow, green), so a component has the same color in every run "
		"and every view; 256 colors when TERM names them, 24-bit when COLORTERM is truecolor "
		"or 24bit, else six basic ones. The prefix is as wide as the longest component in "
		"the view (-c names, or the history's components the filter keeps).\n"
		"Patterns (--grep, --exclude, --highlight) are PCRE2 regular expressions searched in "
		"the message and in the field values as shown (the first 64 of a record), so --grep "
		"abc0151 finds trace_id=abc0151. Smart case: a pattern with no upper-case letter "
		"matches any case; -i makes every pattern match any case; (?i) and (?-i) work inside "
		"one. On a color terminal, the matches of --grep and --highlight are shown in "
		"reverse video.\n"
		"-n N shows the last N records in all; --tail N the last N of each component (as "
		"docker compose logs and stern do), then, with -f, every new one.\n"
		"A server older than this elog refuses --grep, --exclude, -E and --tail with "
		"\"invalid pattern '(*elog: this server is too old...'\" instead of ignoring them.",
	.examples =
		"elog logs -c deploy -l info+\n"
		"show the info and more severe records of component deploy\n"
		"elog logs --since 1h --grep 'release [0-9.]+' --json\n"
		"the last hour's records about a release, as JSON Lines\n"
		"elog logs --tail 20 -E healthcheck -e 'GET /metrics'\n"
		"the last 20 records of each component but healthcheck, without metrics scrapes\n"
		"elog logs --grep 'timeout|refused' -H '\\d+ms' --hide-fields pid,host\n"
		"records about timeouts in any case, durations highlighted, without pid and host\n"
		"elog logs -c api -o logfmt --fields trace_id,status\n"
		"component api as logfmt lines, with only two of the fields\n",
	.environment = "NO_COLOR\tno color with --color=auto\n"
		"TERM\tdumb: no color with --color=auto; a name with 256color: 256 colors\n"
		"COLORTERM\ttruecolor or 24bit: 24-bit colors\n",
};
