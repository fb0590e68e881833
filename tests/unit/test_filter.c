/* test_filter.c — the filter predicate shared by history and live. */
#include "err.h"
#include "filter.h"
#include "record.h"
#include "unit.h"

static struct elog_record rec(int64_t id, int64_t ts, const char *comp, int level,
			      const char *msg)
{
	struct elog_record r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.ts_ns = ts;
	r.arrival_ns = 1000;
	r.level = level;
	r.component = (char *)comp;
	r.msg = (char *)msg;
	r.fields = (char *)"";
	r.source = (char *)"";
	r.dedupe_key = (char *)"";
	return r;
}

static void test_empty_matches_all(void)
{
	struct elog_filter f;
	struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_DEBUG, "hello");

	elog_filter_init(&f);
	CHECK(elog_filter_match(&f, &r));
	r.level = ELOG_LEVEL_FATAL;
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

static void test_components(void)
{
	struct elog_filter f;
	struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_INFO, "hello");

	elog_filter_init(&f);
	elog_filter_add_components(&f, "db,,worker,");
	elog_filter_add_components(&f, "");
	CHECK_INT(f.ncomponents, 2);
	CHECK_STR(f.components[0], "db");
	CHECK_STR(f.components[1], "worker");
	CHECK(!elog_filter_match(&f, &r));
	r.component = (char *)"worker";
	CHECK(elog_filter_match(&f, &r));
	r.component = (char *)"Worker";      /* case-sensitive */
	CHECK(!elog_filter_match(&f, &r));
	r.component = (char *)"work";        /* exact, not prefix */
	CHECK(!elog_filter_match(&f, &r));
	elog_filter_add_components(&f, "api");
	r.component = (char *)"api";
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
	CHECK_INT(f.ncomponents, 0);
	CHECK(f.components == NULL);
}

static void test_levels(void)
{
	struct elog_filter f;
	struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_INFO, "hello");

	elog_filter_init(&f);
	f.level_mask = (1u << ELOG_LEVEL_WARN) | (1u << ELOG_LEVEL_ERROR);
	CHECK(!elog_filter_match(&f, &r));
	r.level = ELOG_LEVEL_WARN;
	CHECK(elog_filter_match(&f, &r));
	r.level = ELOG_LEVEL_ERROR;
	CHECK(elog_filter_match(&f, &r));
	r.level = ELOG_LEVEL_FATAL;
	CHECK(!elog_filter_match(&f, &r));
	r.level = -1;
	CHECK(!elog_filter_match(&f, &r));
	r.level = 99;
	CHECK(!elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

static void test_time_and_id(void)
{
	struct elog_filter f;
	struct elog_record r = rec(10, 500, "api", ELOG_LEVEL_INFO, "hello");

	elog_filter_init(&f);
	f.since_ns = 500;
	f.until_ns = 600;
	CHECK(elog_filter_match(&f, &r));       /* inclusive */
	r.ts_ns = 600;
	CHECK(elog_filter_match(&f, &r));
	r.ts_ns = 601;
	CHECK(!elog_filter_match(&f, &r));
	r.ts_ns = 499;
	CHECK(!elog_filter_match(&f, &r));
	r.ts_ns = 0;                            /* unknown event time: arrival (1000) counts */
	CHECK(!elog_filter_match(&f, &r));
	f.until_ns = 1000;
	CHECK(elog_filter_match(&f, &r));

	f.after_id = 10;
	CHECK(!elog_filter_match(&f, &r));
	r.id = 11;
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

static void test_pattern(void)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_INFO, "GET /users 200 in 12ms");

	elog_filter_init(&f);
	elog_err_clear(&err);
	CHECK_INT(elog_filter_set_pattern(&f, "users [0-9]{3}", &err), 0);
	CHECK(f.has_regex);
	CHECK_STR(f.pattern, "users [0-9]{3}");
	CHECK(elog_filter_match(&f, &r));
	r.msg = (char *)"GET /Users 200";       /* case-sensitive */
	CHECK(!elog_filter_match(&f, &r));

	/* replacing the pattern frees the old one (ASan checks) */
	CHECK_INT(elog_filter_set_pattern(&f, "^GET", &err), 0);
	CHECK(elog_filter_match(&f, &r));
	r.msg = (char *)"POST /x";
	CHECK(!elog_filter_match(&f, &r));

	/* a bad pattern is a usage error and leaves the filter as it was */
	CHECK_INT(elog_filter_set_pattern(&f, "a(b", &err), ELOG_EUSAGE);
	CHECK_INT(err.code, ELOG_EUSAGE);
	CHECK(strncmp(err.msg, "invalid pattern 'a(b': ", 23) == 0);
	CHECK(strlen(err.msg) > 23);
	CHECK_STR(f.pattern, "^GET");
	CHECK(f.has_regex);
	r.msg = (char *)"GET /";
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
	CHECK(!f.has_regex);
	CHECK(f.pattern == NULL);
}

static void test_all_conditions(void)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_record r = rec(7, 50, "db", ELOG_LEVEL_ERROR, "deadlock detected");

	elog_filter_init(&f);
	elog_filter_add_components(&f, "db");
	f.level_mask = 1u << ELOG_LEVEL_ERROR;
	f.since_ns = 10;
	f.until_ns = 100;
	f.after_id = 6;
	CHECK_INT(elog_filter_set_pattern(&f, "dead(lock)?", &err), 0);
	CHECK(elog_filter_match(&f, &r));
	r.msg = (char *)"timeout";
	CHECK(!elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

/* Regression from fuzzing (fuzz_time): glibc regcomp takes memory exponential in stacked
 * quantifiers; such patterns must be refused before they reach regcomp. */
static void test_pattern_blowup_refused(void)
{
	static const char *const bad[] = {
		"2024-01-20T10:00:00.120T11:0r+++++++++++++++++++++++++:00",
		"a**", "(a{1,99}){1,99}", "x{1000}", "((a+)b)+",
	};
	static const char *const good[] = { "error|warn", "(foo )+", "a{2,5}", "[+*]+", "\\++", "^req [0-9]+ ok$" };
	struct elog_filter f;
	struct elog_err err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		elog_filter_init(&f);
		CHECK_INT(elog_filter_set_pattern(&f, bad[i], &err), ELOG_EUSAGE);
		CHECK(strstr(err.msg, "invalid pattern '") == err.msg);
		elog_filter_clear(&f);
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		elog_filter_init(&f);
		CHECK_INT(elog_filter_set_pattern(&f, good[i], &err), 0);
		elog_filter_clear(&f);
	}
}

UNIT_MAIN(
	{ "pattern_blowup_refused", test_pattern_blowup_refused },
	{ "empty_matches_all", test_empty_matches_all },
	{ "components", test_components },
	{ "levels", test_levels },
	{ "time_and_id", test_time_and_id },
	{ "pattern", test_pattern },
	{ "all_conditions", test_all_conditions }
)
