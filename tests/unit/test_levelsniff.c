/* Unit tests for levelsniff.c: the level of plain-text lines in real programs' formats (the
 * corpus tests/corpus/levels.tsv), logfmt lines into records, JSON schemas. */
#include "unit.h"
#include "common/jsonline.h"
#include "common/levelsniff.h"
#include "common/util.h"

/* The level elog_jsonline_record gives line, or -1 when the line names none. */
static int level_of(const char *line, size_t n)
{
	const struct elog_jsonline_defaults d = { "c", -1, "test", NULL };
	struct elog_record r;
	int lv;

	elog_record_init(&r);
	elog_jsonline_record(line, n, 0, &d, &r);
	lv = r.level;
	elog_record_clear(&r);
	return lv;
}

static int level_named(const char *s)
{
	if (strcmp(s, "none") == 0)
		return -1;
	return elog_level_parse(s, strlen(s));
}

/* Un-escapes \t, \e and \\ of a corpus line in place; returns its length. */
static size_t unescape(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++) {
		if (*p == '\\' && (p[1] == 't' || p[1] == 'e' || p[1] == '\\')) {
			p++;
			*w++ = *p == 't' ? '\t' : *p == 'e' ? '\033' : '\\';
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

static void test_corpus(void)
{
	const char *top = getenv("ELOG_TOP");
	char path[4096], line[8192];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/corpus/levels.tsv", top && *top ? top : ".");
	f = fopen(path, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		char *tab;
		int want, got;

		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		tab = strchr(line, '\t');
		CHECK(tab != NULL);
		if (!tab)
			continue;
		*tab = '\0';
		want = level_named(line);
		CHECK(want >= 0 || strcmp(line, "none") == 0);
		len = unescape(tab + 1);
		got = level_of(tab + 1, len);
		if (got != want) {
			fprintf(stderr, "  corpus: want %s, got %s: %s\n", line,
				got < 0 ? "none" : elog_level_name(got), tab + 1);
			unit_failed_checks++;
		}
		n++;
	}
	fclose(f);
	CHECK(n >= 100);
}

static void test_only_first_line(void)
{
	const char *s = "job done\nERROR: this is the second line";
	CHECK_INT(elog_level_sniff(s, strlen(s)), -1);
	s = "ERROR: first\nsecond";
	CHECK_INT(elog_level_sniff(s, strlen(s)), ELOG_LEVEL_ERROR);
	/* the length given is respected (no NUL needed) */
	CHECK_INT(elog_level_sniff("WARN xyz", 3), -1);
	CHECK_INT(elog_level_sniff("WARN xyz", 4), ELOG_LEVEL_WARN);
	CHECK_INT(elog_level_sniff("", 0), -1);
	CHECK_INT(elog_level_sniff("<", 1), -1);
	CHECK_INT(elog_level_sniff("[", 1), -1);
	CHECK_INT(elog_level_sniff("[ERROR", 6), -1);
	CHECK_INT(elog_level_sniff("<999>x", 6), -1);
	/* a level word past ELOG_SNIFF_MAX does not count */
	char big[600];
	memset(big, ' ', sizeof(big));
	memcpy(big + 300, "ERROR x", 7);
	CHECK_INT(elog_level_sniff(big, sizeof(big)), -1);
}

static void test_logfmt(void)
{
	const struct elog_jsonline_defaults d = { "dflt", ELOG_LEVEL_INFO, "test", NULL };
	struct elog_record r;
	const char *s = "time=2024-12-03T07:50:02.5Z level=error msg=\"job \\\"8\\\" failed\" "
			"job=8 component=worker err=\"dial tcp: refused\" empty=";

	elog_record_init(&r);
	elog_jsonline_record(s, strlen(s), 0, &d, &r);
	CHECK_INT(r.level, ELOG_LEVEL_ERROR);
	CHECK_STR(r.msg, "job \"8\" failed");
	CHECK_STR(r.component, "worker");
	CHECK_INT(r.ts_ns, 1733212202500000000LL);
	CHECK_STR(r.fields, "{\"job\":\"8\",\"err\":\"dial tcp: refused\",\"empty\":\"\"}");
	elog_record_clear(&r);

	/* a multi-line record whose first line is logfmt: the rest follows the message */
	s = "level=warn msg=retrying\n\tat a.b(C.java:1)";
	elog_jsonline_record(s, strlen(s), 0, &d, &r);
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	CHECK_STR(r.msg, "retrying\n\tat a.b(C.java:1)");
	elog_record_clear(&r);

	/* not logfmt: text */
	s = "a=1 b=\"unterminated";
	CHECK(!elog_logfmt_is(s, strlen(s)));
	s = "just=1 pairs=2";
	CHECK(!elog_logfmt_is(s, strlen(s)));   /* no level or msg key */
	s = "level=info";
	CHECK(!elog_logfmt_is(s, strlen(s)));   /* one pair is not enough */
	s = "x = y level=info msg=a";
	CHECK(!elog_logfmt_is(s, strlen(s)));
	s = "level=info msg=a";
	CHECK(elog_logfmt_is(s, strlen(s)));
	s = "level=bogus msg=a";
	elog_jsonline_record(s, strlen(s), 0, &d, &r);
	CHECK_INT(r.level, ELOG_LEVEL_INFO);
	CHECK_STR(r.fields, "{\"level\":\"bogus\"}");
	elog_record_clear(&r);

	/* -c and --field still apply */
	const struct elog_jsonline_defaults d2 = { "dflt", ELOG_LEVEL_DEBUG, "test", "\"host\":\"h\"" };
	s = "lvl=warn msg=hi k=v";
	elog_jsonline_record(s, strlen(s), 0, &d2, &r);
	CHECK_STR(r.component, "dflt");
	CHECK_STR(r.fields, "{\"host\":\"h\",\"k\":\"v\"}");
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	elog_record_clear(&r);
}

static void test_default_kept(void)
{
	const struct elog_jsonline_defaults d = { "c", ELOG_LEVEL_DEBUG, "test", NULL };
	struct elog_record r;

	elog_record_init(&r);
	elog_jsonline_record("plain text", 10, 0, &d, &r);
	CHECK_INT(r.level, ELOG_LEVEL_DEBUG);
	elog_record_clear(&r);
	elog_jsonline_record("WARN: x", 7, 0, &d, &r);
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	CHECK_STR(r.msg, "WARN: x");   /* the message is kept whole */
	elog_record_clear(&r);
}

UNIT_MAIN(
	{ "corpus", test_corpus },
	{ "only_first_line", test_only_first_line },
	{ "logfmt", test_logfmt },
	{ "default_kept", test_default_kept }
)
