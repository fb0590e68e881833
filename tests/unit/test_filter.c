/* test_filter.c — the filter predicate shared by history and live. */
#include <time.h>

#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
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
	elog_filter_add_components(&f, "db,,worker,", NULL);
	elog_filter_add_components(&f, "", NULL);
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
	elog_filter_add_components(&f, "api", NULL);
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
	elog_filter_add_components(&f, "db", NULL);
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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Regression from fuzzing (fuzz_time): glibc regcomp took memory exponential in stacked
 * quantifiers. PCRE2 compiles such patterns within its compiled-size bound or refuses them;
 * either way compiling and matching them takes little time. Longer than 512 bytes is refused
 * with the limit named. */
static void test_pattern_compile_bounded(void)
{
	static const char *const shapes[] = {
		"2024-01-20T10:00:00.120T11:0r+++++++++++++++++++++++++:00",
		"a**", "(a{1,99}){1,99}", "x{1000}", "((a+)b)+", "((((a{1,65535}){1,65535}){1,65535}))",
	};
	static const char *const good[] = { "error|warn", "(foo )+", "a{2,5}", "[+*]+", "\\++", "^req [0-9]+ ok$" };
	struct elog_filter f;
	struct elog_err err;
	char line[2000], longp[600];
	size_t i;
	double t0 = now_s();

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = 0;
	for (i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_INFO, line);

		elog_filter_init(&f);
		if (elog_filter_set_pattern(&f, shapes[i], &err) == 0)
			(void)elog_filter_match(&f, &r);
		else
			CHECK(strstr(err.msg, "invalid pattern '") == err.msg);
		elog_filter_clear(&f);
	}
	CHECK(now_s() - t0 < 5.0);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		elog_filter_init(&f);
		CHECK_INT(elog_filter_set_pattern(&f, good[i], &err), 0);
		elog_filter_clear(&f);
	}
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = 0;
	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, longp, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "longer than the limit of 512 bytes") != NULL);
	CHECK(!f.has_regex);
	elog_filter_clear(&f);
}

/*
 * Issue #14: "(.*)(.*)(.*)(.*)(.*)(.*)\1\2\3\4\5\6q" on one ordinary 123-byte line kept
 * glibc's regexec busy for minutes (and with it serve's writer). With the match limit a
 * pattern costs at most about ELOG_FILTER_MATCH_LIMIT steps per record; hitting it is no match.
 */
static void test_pattern_match_bounded(void)
{
	struct elog_filter f;
	struct elog_err err;
	struct elog_record r = rec(1, 5, "api", ELOG_LEVEL_INFO,
		"2026-12-03T09:00:00Z GET /api/v1/q/user/12345/orders?page=2&limit=50 200 "
		"in 12.3ms from 10.0.0.7 (user-agent curl/8.1.2) ok");
	double t0, worst = 0;
	int i;

	CHECK_INT(strlen(r.msg), 123);   /* a "q" early: the required-character shortcut cannot help */
	elog_filter_init(&f);
	CHECK_INT(elog_filter_set_pattern(&f, "(.*)(.*)(.*)(.*)(.*)(.*)\\1\\2\\3\\4\\5\\6q", &err), 0);
	for (i = 0; i < 20; i++) {
		double dt;

		t0 = now_s();
		CHECK(!elog_filter_match(&f, &r));
		dt = now_s() - t0;
		if (dt > worst)
			worst = dt;
	}
	printf("  backreference pattern on a %zu-byte line: worst %.2f ms per record\n",
	       strlen(r.msg), worst * 1e3);
	CHECK(worst < 0.5);
	/* backreferences still work where they are cheap */
	CHECK_INT(elog_filter_set_pattern(&f, "(o)\\1", &err), 0);
	r.msg = (char *)"a moon";
	CHECK(elog_filter_match(&f, &r));
	r.msg = (char *)"a mon";
	CHECK(!elog_filter_match(&f, &r));
	/* UTF-8: a dot is one character */
	CHECK_INT(elog_filter_set_pattern(&f, "^caf.$", &err), 0);
	r.msg = (char *)"caf\xc3\xa9";
	CHECK(elog_filter_match(&f, &r));
	/* invalid UTF-8 in a message is not an error, it just does not match there */
	CHECK_INT(elog_filter_set_pattern(&f, "ok", &err), 0);
	r.msg = (char *)"\xff\xfe ok";
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

/* Components: at most 1024, kept sorted and distinct, matched by binary search (issue #14:
 * ten followers with 30,000 components each made 20,000 records take 13 s to fan out). */
static void test_components_bounded(void)
{
	struct elog_filter f, g;
	struct elog_err err;
	struct elog_record r = rec(1, 5, "c-0999", ELOG_LEVEL_INFO, "x");
	char name[32];
	int i, matched = 0;
	double t0;

	elog_filter_init(&f);
	for (i = ELOG_FILTER_MAX_COMPONENTS - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "c-%04d", i);
		CHECK_INT(elog_filter_add_component(&f, name, &err), 0);
	}
	CHECK_INT(elog_filter_add_components(&f, "c-0001,c-0002", &err), 0);   /* already there */
	CHECK_INT(f.ncomponents, ELOG_FILTER_MAX_COMPONENTS);
	for (i = 1; i < (int)f.ncomponents; i++)
		CHECK(strcmp(f.components[i - 1], f.components[i]) < 0);
	elog_err_clear(&err);
	CHECK_INT(elog_filter_add_components(&f, "one-too-many", &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "too many components: the limit is 1024");
	CHECK_INT(f.ncomponents, ELOG_FILTER_MAX_COMPONENTS);
	elog_filter_copy(&g, &f);
	CHECK_INT(g.ncomponents, f.ncomponents);
	t0 = now_s();
	for (i = 0; i < 204800; i++) {
		snprintf(name, sizeof(name), "c-%04d", i % 2048);
		r.component = name;
		matched += elog_filter_match(&g, &r);
	}
	CHECK_INT(matched, 102400);
	printf("  204,800 records against 1024 components: %.0f ms\n", (now_s() - t0) * 1e3);
	CHECK(now_s() - t0 < 5.0);
	elog_filter_clear(&g);
	elog_filter_clear(&f);
}

UNIT_MAIN(
	{ "pattern_compile_bounded", test_pattern_compile_bounded },
	{ "pattern_match_bounded", test_pattern_match_bounded },
	{ "components_bounded", test_components_bounded },
	{ "empty_matches_all", test_empty_matches_all },
	{ "components", test_components },
	{ "levels", test_levels },
	{ "time_and_id", test_time_and_id },
	{ "pattern", test_pattern },
	{ "all_conditions", test_all_conditions }
)
