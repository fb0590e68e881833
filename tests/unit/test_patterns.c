/*
 * test_patterns.c — the log template miner (src/web/patterns.c).
 */
#include "unit.h"
#include "web/patterns.h"

static void check_mask(const char *msg, const char *want)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_patterns_mask(msg, strlen(msg), &b);
	CHECK_STR(b.data, want);
	elog_buf_release(&b);
}

static void test_mask(void)
{
	check_mask("request 42 failed after 150 ms", "request <*> failed after <*> ms");
	check_mask("user 'bob smith' logged in", "user <*> logged in");
	check_mask("open /var/log/app.log: no such file", "open <*> no such file");
	check_mask("GET api/v1/users done", "GET <*> done");
	check_mask("hash deadbeefcafe seen", "hash <*> seen");
	check_mask("id=7f3a user=\"a b\" ok=true", "id=<*> user=<*> ok=true");
	check_mask("peer 10.0.0.1:443 reset", "peer <*> reset");
	check_mask("  spaced   out  ", "spaced out");
	check_mask("", "");
	/* "added" and "face" are hex letters but short: words stay */
	check_mask("added face", "added face");
}

static void test_groups(void)
{
	struct elog_patterns *p = elog_patterns_new(0);
	struct elog_pattern top[4];
	size_t n;

	CHECK_INT(elog_patterns_add(p, "api", 4, "request 42 failed after 150 ms", 30, 100), 1);
	CHECK_INT(elog_patterns_add(p, "api", 4, "request abc-7 failed after 9 ms", 31, 300), 1);
	CHECK_INT(elog_patterns_add(p, "api", 4, "request 43 failed after 7 ms", 28, 200), 1);
	/* a word that differs (not a number) joins too when most of the line is the same */
	CHECK_INT(elog_patterns_add(p, "api", 2, "user alice logged in", 20, 50), 1);
	CHECK_INT(elog_patterns_add(p, "api", 2, "user bob logged in", 18, 60), 1);
	/* same words, other service: its own group */
	CHECK_INT(elog_patterns_add(p, "db", 4, "request 1 failed after 2 ms", 27, 70), 1);
	CHECK_INT(elog_patterns_groups(p), 3);
	n = elog_patterns_top(p, 4, top);
	CHECK_INT(n, 3);
	CHECK_STR(top[0].pattern, "request <*> failed after <*> ms");
	CHECK_INT(top[0].count, 3);
	CHECK_STR(top[0].service, "api");
	CHECK_INT(top[0].level, 4);
	CHECK_INT(top[0].first_ns, 100);
	CHECK_INT(top[0].last_ns, 300);
	CHECK_STR(top[0].example, "request 42 failed after 150 ms");
	CHECK_STR(top[1].pattern, "user <*> logged in");
	CHECK_INT(top[1].count, 2);
	CHECK_STR(top[2].service, "db");
	CHECK_INT(top[2].count, 1);
	/* k smaller than the groups */
	CHECK_INT(elog_patterns_top(p, 1, top), 1);
	elog_patterns_free(p);
}

static void test_dissimilar(void)
{
	struct elog_patterns *p = elog_patterns_new(0);

	elog_patterns_add(p, "s", 2, "connection opened to cache", 26, 1);
	elog_patterns_add(p, "s", 2, "connection closed by peer", 25, 2);
	/* 1 of 4 tokens in common: below the similarity threshold */
	CHECK_INT(elog_patterns_groups(p), 2);
	elog_patterns_free(p);
}

static void test_bounds(void)
{
	struct elog_patterns *p = elog_patterns_new(2);
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_pattern top[2];
	int i;

	CHECK_INT(elog_patterns_add(p, "s", 2, "alpha beta", 10, 1), 1);
	CHECK_INT(elog_patterns_add(p, "s", 2, "gamma delta epsilon", 19, 1), 1);
	CHECK_INT(elog_patterns_add(p, "s", 2, "one two three four", 18, 1), 0);
	CHECK_INT(elog_patterns_overflow(p), 1);
	/* joining an existing group still works past the bound */
	CHECK_INT(elog_patterns_add(p, "s", 2, "alpha beta", 10, 1), 1);
	elog_patterns_free(p);

	/* a message of 200 words: 64 tokens, the last holds the rest */
	for (i = 0; i < 200; i++)
		elog_buf_adds(&b, "w ");
	p = elog_patterns_new(0);
	elog_patterns_add(p, "s", 2, b.data, b.len, 1);
	CHECK_INT(elog_patterns_top(p, 2, top), 1);
	{
		size_t spaces = 0;
		const char *s;

		for (s = top[0].pattern; *s; s++)
			spaces += *s == ' ';
		CHECK(spaces >= ELOG_PATTERNS_MAX_TOKENS - 1);
		CHECK(strlen(top[0].example) <= ELOG_PATTERNS_EXAMPLE);
	}
	elog_patterns_free(p);
	elog_buf_release(&b);
	elog_patterns_free(NULL);
}

UNIT_MAIN({ "mask", test_mask }, { "groups", test_groups }, { "dissimilar", test_dissimilar },
	  { "bounds", test_bounds })
