/* Unit tests for multiline.c: joining stack traces and continuation lines into records,
 * with an injected clock. The trace files of tests/corpus/traces and their expected records
 * (expected.tsv) drive the first test. */
#include "unit.h"
#include "common/err.h"
#include "common/jsonline.h"
#include "common/multiline.h"
#include "common/util.h"

struct got {
	struct elog_record recs[64];
	size_t lines[64];
	int64_t a[64], b[64];
	size_t n;
};

static void on_record(void *ctx, const struct elog_ml_record *rec)
{
	struct got *g = ctx;
	const struct elog_jsonline_defaults d = {
		"c", elog_multiline_default_level(rec, ELOG_LEVEL_INFO), "test", NULL
	};

	if (g->n == 64)
		return;
	elog_record_init(&g->recs[g->n]);
	elog_jsonline_record(rec->text, rec->len, rec->cut, &d, &g->recs[g->n]);
	g->lines[g->n] = rec->lines;
	g->a[g->n] = rec->first_tag;
	g->b[g->n] = rec->last_tag;
	g->n++;
}

static void got_clear(struct got *g)
{
	for (size_t i = 0; i < g->n; i++)
		elog_record_clear(&g->recs[i]);
	g->n = 0;
}

static const char *top(void)
{
	const char *t = getenv("ELOG_TOP");
	return t && *t ? t : ".";
}

/* Feeds a file line by line (1 ms apart) and flushes at the end. */
static void feed_file(struct elog_multiline *m, const char *name)
{
	char path[4096], line[8192];
	FILE *f;
	int64_t now = 1000000000LL, off = 0;

	snprintf(path, sizeof(path), "%s/tests/corpus/traces/%s", top(), name);
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		int64_t start = off;

		off += (int64_t)len;
		if (len && line[len - 1] == '\n')
			len--;
		elog_multiline_line(m, line, len, 0, start, off, now);
		now += 1000000;
	}
	fclose(f);
	elog_multiline_flush(m);
}

static void test_traces(void)
{
	char path[4096], line[1024], cur[64] = "";
	struct elog_multiline m;
	struct elog_err err;
	struct got *g = calloc(1, sizeof(*g));
	size_t k = 0, files = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/corpus/traces/expected.tsv", top());
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f) {
		free(g);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *file, *lv, *nl, *start;
		size_t len = strlen(line);

		if (line[0] == '#')
			continue;
		if (len && line[len - 1] == '\n')
			line[len - 1] = '\0';
		file = strtok(line, "\t");
		lv = strtok(NULL, "\t");
		nl = strtok(NULL, "\t");
		start = strtok(NULL, "");
		CHECK(file && lv && nl && start);
		if (!file || !lv || !nl || !start)
			continue;
		if (strcmp(file, cur) != 0) {
			CHECK_INT(g->n, k);   /* the previous file made no more records */
			got_clear(g);
			k = 0;
			snprintf(cur, sizeof(cur), "%s", file);
			CHECK_INT(elog_multiline_init(&m, "auto", on_record, g, &err), 0);
			feed_file(&m, file);
			elog_multiline_release(&m);
			files++;
		}
		CHECK(k < g->n);
		if (k < g->n) {
			struct elog_record *r = &g->recs[k];
			if (strncmp(r->msg, start, strlen(start)) != 0 ||
			    strcmp(elog_level_name(r->level), lv) != 0 || g->lines[k] != (size_t)atoi(nl)) {
				fprintf(stderr, "  %s record %zu: want %s %s lines '%s', got %s %zu lines:\n%s\n",
					file, k, lv, nl, start, elog_level_name(r->level), g->lines[k],
					r->msg);
				unit_failed_checks++;
			}
		}
		k++;
	}
	CHECK_INT(g->n, k);
	fclose(f);
	got_clear(g);
	free(g);
	CHECK_INT(files, 6);
}

static void feed(struct elog_multiline *m, const char *text, int64_t now)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		elog_multiline_line(m, p, n, 0, 0, 0, now);
		p += n + (nl ? 1 : 0);
	}
}

static void test_quiet_flush(void)
{
	struct elog_multiline m;
	struct elog_err err;
	struct got g = { 0 };
	int64_t t0 = 5000000000LL;

	CHECK_INT(elog_multiline_init(&m, NULL, on_record, &g, &err), 0);
	feed(&m, "[WARN] job 7 retrying\n\tat a.B.c(B.java:1)", t0);
	CHECK_INT(g.n, 0);                                   /* held: more may come */
	CHECK_INT(elog_multiline_due(&m), t0 + ELOG_ML_QUIET_NS);
	elog_multiline_tick(&m, t0 + ELOG_ML_QUIET_NS - 1);
	CHECK_INT(g.n, 0);
	elog_multiline_tick(&m, t0 + ELOG_ML_QUIET_NS);
	CHECK_INT(g.n, 1);                                   /* quiet: out */
	CHECK_INT(g.recs[0].level, ELOG_LEVEL_WARN);         /* a WARN line with frames stays warn */
	CHECK_STR(g.recs[0].msg, "[WARN] job 7 retrying\n\tat a.B.c(B.java:1)");
	CHECK_INT(elog_multiline_due(&m), 0);
	/* an indented line after the quiet flush starts a record of its own */
	feed(&m, "\tat late(X.java:2)", t0 + ELOG_ML_QUIET_NS + 5);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	got_clear(&g);
	elog_multiline_release(&m);
}

static void test_not_joined(void)
{
	struct elog_multiline m;
	struct elog_err err;
	struct got g = { 0 };

	CHECK_INT(elog_multiline_init(&m, "auto", on_record, &g, &err), 0);
	/* an exception line under a line without a level is a record of its own; a JSON line is
	 * never joined; blank lines between plain lines stay records */
	feed(&m, "processing 3 items\njava.lang.IllegalStateException: boom\n\tat a.b(C.java:1)\n"
		 "{\"level\":\"warn\",\"msg\":\"j\"}\n  indented after json\nplain\n\nplain2", 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 7);
	if (g.n == 7) {
		CHECK_STR(g.recs[0].msg, "processing 3 items");
		CHECK_INT(g.recs[0].level, ELOG_LEVEL_INFO);
		CHECK_STR(g.recs[1].msg, "java.lang.IllegalStateException: boom\n\tat a.b(C.java:1)");
		CHECK_INT(g.recs[1].level, ELOG_LEVEL_ERROR);
		CHECK_STR(g.recs[2].msg, "j");
		CHECK_INT(g.recs[2].level, ELOG_LEVEL_WARN);
		CHECK_STR(g.recs[3].msg, "  indented after json");
		CHECK_STR(g.recs[4].msg, "plain");
		CHECK_STR(g.recs[5].msg, "");
		CHECK_STR(g.recs[6].msg, "plain2");
	}
	got_clear(&g);
	/* a plain line with indented continuation lines: one record, not a trace */
	feed(&m, "config:\n  a: 1\n  b: 2\nnext", 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.recs[0].msg, "config:\n  a: 1\n  b: 2");
	CHECK_INT(g.recs[0].level, ELOG_LEVEL_INFO);
	got_clear(&g);
	elog_multiline_release(&m);
}

static void test_modes(void)
{
	struct elog_multiline m;
	struct elog_err err;
	struct got g = { 0 };

	CHECK_INT(elog_multiline_init(&m, "none", on_record, &g, &err), 0);
	feed(&m, "a\n\tat b(C.java:1)", 1);
	CHECK_INT(g.n, 2);                 /* out at once, no wait */
	CHECK_INT(g.recs[1].level, ELOG_LEVEL_INFO);
	got_clear(&g);
	elog_multiline_release(&m);

	CHECK_INT(elog_multiline_init(&m, "^[0-9]{4}-", on_record, &g, &err), 0);
	feed(&m, "2024-12-03 first\nmore\n  more\n2024-12-03 second\n\tat x.y(Z.java:3)", 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	CHECK_STR(g.recs[0].msg, "2024-12-03 first\nmore\n  more");
	CHECK_INT(g.recs[0].level, ELOG_LEVEL_INFO);
	CHECK_STR(g.recs[1].msg, "2024-12-03 second\n\tat x.y(Z.java:3)");
	CHECK_INT(g.recs[1].level, ELOG_LEVEL_ERROR);
	got_clear(&g);
	elog_multiline_release(&m);

	CHECK_INT(elog_multiline_init(&m, "(", on_record, &g, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "invalid --multiline regular expression '('") != NULL);
	elog_multiline_release(&m);
	CHECK_INT(elog_multiline_check("", &err), ELOG_EUSAGE);
	CHECK_INT(elog_multiline_check("auto", &err), 0);
}

static void test_limits(void)
{
	struct elog_multiline m;
	struct elog_err err;
	struct got g = { 0 };
	char *big = malloc(ELOG_MAX_LINE);

	/* more lines than ELOG_ML_MAX_LINES: cut, marked, the rest goes on in the next record */
	CHECK_INT(elog_multiline_init(&m, "auto", on_record, &g, &err), 0);
	elog_multiline_line(&m, "Exception in thread \"main\" x.Y", 31, 0, 0, 0, 1);
	for (int i = 0; i < ELOG_ML_MAX_LINES + 10; i++)
		elog_multiline_line(&m, "\tat a.b(C.java:1)", 17, 0, 0, 0, 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.lines[0], ELOG_ML_MAX_LINES);
	CHECK_INT(g.lines[1], 11);
	CHECK(strstr(g.recs[0].msg, ELOG_TRUNC_MARK) != NULL);
	CHECK_INT(g.recs[1].level, ELOG_LEVEL_ERROR);       /* still the trace */
	got_clear(&g);

	/* bytes: a record never exceeds ELOG_MAX_LINE */
	memset(big, 'x', ELOG_MAX_LINE);
	big[0] = ' ';
	elog_multiline_line(&m, "Traceback (most recent call last):", 34, 0, 0, 0, 1);
	elog_multiline_line(&m, big, ELOG_MAX_LINE - 100, 0, 0, 0, 1);
	elog_multiline_line(&m, big, 200, 0, 0, 0, 1);
	elog_multiline_line(&m, "ValueError: x", 13, 0, 0, 0, 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	CHECK(strlen(g.recs[0].msg) <= ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	CHECK(strstr(g.recs[0].msg, ELOG_TRUNC_MARK) != NULL);
	CHECK_INT(g.lines[1], 2);
	got_clear(&g);
	elog_multiline_release(&m);
	free(big);
}

static void test_tags(void)
{
	struct elog_multiline m;
	struct elog_err err;
	struct got g = { 0 };

	CHECK_INT(elog_multiline_init(&m, "auto", on_record, &g, &err), 0);
	elog_multiline_line(&m, "ERROR x", 7, 0, 0, 8, 1);
	elog_multiline_line(&m, "\tat a(B.java:1)\r", 16, 0, 8, 25, 1);
	elog_multiline_line(&m, "next", 4, 0, 25, 30, 1);
	elog_multiline_flush(&m);
	CHECK_INT(g.n, 2);
	CHECK_INT(g.a[0], 0);
	CHECK_INT(g.b[0], 25);
	CHECK_INT(g.a[1], 25);
	CHECK_INT(g.b[1], 30);
	CHECK_STR(g.recs[0].msg, "ERROR x\n\tat a(B.java:1)");   /* '\r' dropped */
	got_clear(&g);
	elog_multiline_release(&m);
}

UNIT_MAIN(
	{ "traces", test_traces },
	{ "quiet_flush", test_quiet_flush },
	{ "not_joined", test_not_joined },
	{ "modes", test_modes },
	{ "limits", test_limits },
	{ "tags", test_tags }
)
