/* Unit tests for level names, spellings and level filters (record.c). */
#include "unit.h"
#include "common/record.h"
#include "common/err.h"

#define LP(s) elog_level_parse((s), strlen(s))

static void test_names(void)
{
	CHECK_STR(elog_level_name(ELOG_LEVEL_TRACE), "trace");
	CHECK_STR(elog_level_name(ELOG_LEVEL_DEBUG), "debug");
	CHECK_STR(elog_level_name(ELOG_LEVEL_INFO), "info");
	CHECK_STR(elog_level_name(ELOG_LEVEL_WARN), "warn");
	CHECK_STR(elog_level_name(ELOG_LEVEL_ERROR), "error");
	CHECK_STR(elog_level_name(ELOG_LEVEL_FATAL), "fatal");
	CHECK_STR(elog_level_name(-1), "info");
	CHECK_STR(elog_level_name(99), "info");
}

static void test_spellings(void)
{
	static const struct { const char *s; int lv; } cases[] = {
		{ "trace", ELOG_LEVEL_TRACE }, { "TRC", ELOG_LEVEL_TRACE },
		{ "Verbose", ELOG_LEVEL_TRACE },
		{ "debug", ELOG_LEVEL_DEBUG }, { "DBG", ELOG_LEVEL_DEBUG },
		{ "fine", ELOG_LEVEL_DEBUG },
		{ "info", ELOG_LEVEL_INFO }, { "INFO", ELOG_LEVEL_INFO },
		{ "Information", ELOG_LEVEL_INFO }, { "notice", ELOG_LEVEL_INFO },
		{ "inf", ELOG_LEVEL_INFO },
		{ "warn", ELOG_LEVEL_WARN }, { "WARNING", ELOG_LEVEL_WARN },
		{ "wrn", ELOG_LEVEL_WARN },
		{ "error", ELOG_LEVEL_ERROR }, { "ERR", ELOG_LEVEL_ERROR },
		{ "severe", ELOG_LEVEL_ERROR },
		{ "fatal", ELOG_LEVEL_FATAL }, { "critical", ELOG_LEVEL_FATAL },
		{ "CRIT", ELOG_LEVEL_FATAL }, { "panic", ELOG_LEVEL_FATAL },
		{ "dpanic", ELOG_LEVEL_FATAL }, { "emerg", ELOG_LEVEL_FATAL },
		{ "Emergency", ELOG_LEVEL_FATAL }, { "alert", ELOG_LEVEL_FATAL },
		{ " info ", ELOG_LEVEL_INFO },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = LP(cases[i].s);
		if (got != cases[i].lv)
			fprintf(stderr, "  level '%s'\n", cases[i].s);
		CHECK_INT(got, cases[i].lv);
	}
	CHECK_INT(LP("bogus"), -1);
	CHECK_INT(LP(""), -1);
	CHECK_INT(LP("inform"), -1);
	CHECK_INT(elog_level_parse("warnx", 4), ELOG_LEVEL_WARN); /* length respected */
}

static void test_numbers(void)
{
	CHECK_INT(LP("0"), ELOG_LEVEL_FATAL);
	CHECK_INT(LP("1"), ELOG_LEVEL_FATAL);
	CHECK_INT(LP("2"), ELOG_LEVEL_FATAL);
	CHECK_INT(LP("3"), ELOG_LEVEL_ERROR);
	CHECK_INT(LP("4"), ELOG_LEVEL_WARN);
	CHECK_INT(LP("5"), ELOG_LEVEL_INFO);
	CHECK_INT(LP("6"), ELOG_LEVEL_INFO);
	CHECK_INT(LP("7"), ELOG_LEVEL_DEBUG);
	CHECK_INT(LP("8"), -1);
	CHECK_INT(LP("10"), ELOG_LEVEL_TRACE);
	CHECK_INT(LP("20"), ELOG_LEVEL_DEBUG);
	CHECK_INT(LP("30"), ELOG_LEVEL_INFO);
	CHECK_INT(LP("40"), ELOG_LEVEL_WARN);
	CHECK_INT(LP("50"), ELOG_LEVEL_ERROR);
	CHECK_INT(LP("60"), ELOG_LEVEL_FATAL);
	CHECK_INT(LP("35"), -1);
	CHECK_INT(LP("99999999999999999999"), -1);
	CHECK_INT(elog_level_from_number(30), ELOG_LEVEL_INFO);
	CHECK_INT(elog_level_from_number(60.0), ELOG_LEVEL_FATAL);
	CHECK_INT(elog_level_from_number(3), ELOG_LEVEL_ERROR);
	CHECK_INT(elog_level_from_number(7), ELOG_LEVEL_DEBUG);
	CHECK_INT(elog_level_from_number(30.5), -1);
	CHECK_INT(elog_level_from_number(-1), -1);
	CHECK_INT(elog_level_from_number(1e300), -1);
}

static void test_filter(void)
{
	struct elog_err err;
	unsigned m = 0;
	CHECK_INT(elog_level_filter_parse("error,warn", &m, &err), 0);
	CHECK_INT(m, (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_WARN));
	m = 0;
	CHECK_INT(elog_level_filter_parse("warn+", &m, &err), 0);
	CHECK_INT(m, (1u << ELOG_LEVEL_WARN) | (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_FATAL));
	m = 0;
	CHECK_INT(elog_level_filter_parse(">=Error", &m, &err), 0);
	CHECK_INT(m, (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_FATAL));
	m = 0;
	CHECK_INT(elog_level_filter_parse("<=debug", &m, &err), 0);
	CHECK_INT(m, (1u << ELOG_LEVEL_TRACE) | (1u << ELOG_LEVEL_DEBUG));
	m = 0;
	CHECK_INT(elog_level_filter_parse("INFO", &m, &err), 0);
	CHECK_INT(m, 1u << ELOG_LEVEL_INFO);
	m = 0;
	CHECK_INT(elog_level_filter_parse("err, WARNING", &m, &err), 0);
	CHECK_INT(m, (1u << ELOG_LEVEL_ERROR) | (1u << ELOG_LEVEL_WARN));

	m = 0;
	CHECK_INT(elog_level_filter_parse("error,bogus", &m, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "unknown level 'bogus'");
	CHECK_INT(m, 0);
	CHECK_INT(elog_level_filter_parse("x+", &m, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "unknown level 'x+'");
	CHECK_INT(elog_level_filter_parse(">=nope", &m, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "unknown level '>=nope'");
	CHECK_INT(elog_level_filter_parse("", &m, &err), ELOG_EUSAGE);
	CHECK_INT(elog_level_filter_parse("error,", &m, &err), ELOG_EUSAGE);
	CHECK_INT(m, 0);
}

static void test_record(void)
{
	struct elog_record r;
	elog_record_init(&r);
	CHECK_STR(r.msg, "");
	CHECK_STR(r.fields, "");
	CHECK_STR(r.component, "");
	CHECK_STR(r.source, "");
	CHECK_STR(r.dedupe_key, "");
	CHECK_INT(r.id, 0);
	elog_record_set(&r.msg, "bad\xff", 4);
	CHECK_STR(r.msg, "bad\xEF\xBF\xBD");
	elog_record_set(&r.component, "comp", 4);
	CHECK_STR(r.component, "comp");
	elog_record_clear(&r);
	CHECK_STR(r.msg, "");
	CHECK_STR(r.component, "");
	elog_record_clear(&r);
}

UNIT_MAIN({ "names", test_names }, { "spellings", test_spellings },
	  { "numbers", test_numbers }, { "filter", test_filter }, { "record", test_record })
