/*
 * export.c — `elog export`: the history as JSON Lines or CSV, streamed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli.h"
#include "query.h"
#include "view/display.h"
#include "common/util.h"

static struct query_opts q = { .allow_db_fallback = 1, .last_n = QUERY_ALL, .tail = QUERY_ALL };
static struct {
	int json, csv;
	const char *output;
} o;

static const struct option export_options[] = {
	{ 0, "json", OPT_BOOL, &o.json, NULL, "JSON Lines: id, ts, component, level, msg, fields, source", NULL, NULL },
	{ 0, "csv", OPT_BOOL, &o.csv, NULL, "CSV (RFC 4180) with a header row and the same columns", NULL, NULL },
	{ 'o', "output", OPT_STRING, &o.output, "FILE", "write to FILE instead of standard output", "file", NULL },
	QUERY_OPTIONS(q),
	OPT_END
};

extern const struct command cmd_export;

struct out {
	struct elog_display *d;
	struct elog_buf buf;
	int fd;
	int failed;
};

static int out_flush(struct out *w)
{
	const char *p = w->buf.data;
	size_t len = w->buf.len;

	while (len > 0 && !w->failed) {
		ssize_t n = write(w->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			w->failed = errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	elog_buf_reset(&w->buf);
	return w->failed != 0;
}

static int on_record(void *ctx, const struct elog_record *r)
{
	struct out *w = ctx;

	elog_display_record(w->d, r, &w->buf);
	if (w->buf.len >= 256 * 1024)
		return out_flush(w);
	return 0;
}

static int run_export(int argc, char **argv)
{
	struct elog_display_opts dopts;
	struct elog_filter f;
	struct out w;
	char **rest;
	int nrest, rc;

	rc = cli_parse(&cmd_export, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	free(rest);
	if (nrest > 0)
		return cli_usage_error(&cmd_export, "unexpected argument");
	if (o.json == o.csv)
		return cli_usage_error(&cmd_export, "choose one of --json and --csv");
	elog_filter_init(&f);
	rc = query_filter(&cmd_export, &q, &f);
	if (rc) {
		elog_filter_clear(&f);
		free(q.components.items);
		free(q.xcomponents.items);
		return rc;
	}
	memset(&w, 0, sizeof(w));
	w.fd = STDOUT_FILENO;
	if (o.output) {
		w.fd = open(o.output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (w.fd < 0) {
			cli_error("cannot write '%s': %s", o.output, strerror(errno));
			elog_filter_clear(&f);
			return EXIT_FAIL;
		}
	}
	memset(&dopts, 0, sizeof(dopts));
	dopts.format = o.json ? ELOG_FMT_JSON : ELOG_FMT_CSV;
	w.d = elog_display_new(&dopts);
	elog_display_header(w.d, &w.buf);
	rc = query_run(&cmd_export, &q, &f, on_record, NULL, NULL, &w);
	out_flush(&w);
	if (w.failed && !(w.failed == EPIPE && !o.output)) {
		cli_error("cannot write '%s': %s", o.output ? o.output : "standard output",
			  strerror(w.failed));
		rc = EXIT_FAIL;
	}
	if (o.output && close(w.fd) != 0 && rc == 0) {
		cli_error("cannot write '%s': %s", o.output, strerror(errno));
		rc = EXIT_FAIL;
	}
	elog_buf_release(&w.buf);
	elog_display_free(w.d);
	elog_filter_clear(&f);
	free(q.components.items);
	free(q.xcomponents.items);
	return rc;
}

const struct command cmd_export = {
	.name = "export",
	.summary = "write the history as JSON Lines or CSV",
	.usage = "--json|--csv [-c COMP]... [-E COMP]... [-l LEVELS] [--since T] [--until T] [--grep RE] "
		 "[-e RE] [-i] [-n N | --tail N] [-o FILE] [--db PATH]",
	.options = export_options,
	.client = 1,
	.run = run_export,
	.description =
		"Streams the matching records in id order, over the server, or straight from the "
		"history file with --db (or from the default history when no server runs). Output "
		"is always valid UTF-8, whatever bytes came in: times are RFC3339Nano in UTC, fields "
		"a JSON object (a JSON string in CSV).",
	.examples =
		"elog export --json -l error+ -o errors.jsonl\n"
		"every error record, as JSON Lines, into a file\n"
		"elog export --db ./history.db --csv --since 1d\n"
		"the last day of a history file as CSV\n"
		"elog export --json --db ./history.db --tail 100 -E healthcheck\n"
		"the last 100 records of each component but healthcheck, as JSON Lines\n",
};
