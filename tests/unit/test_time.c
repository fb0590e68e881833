/* Unit tests for timeparse.c: user times, record timestamps, durations, epoch numbers. */
#include <time.h>

#include "unit.h"
#include "common/timeparse.h"
#include "common/err.h"

#define S 1000000000LL
/* 2024-01-20T10:00:00Z */
#define T0 (1705744800LL * S)

static int64_t tp(const char *s, int64_t now, int *rc)
{
	struct elog_err err;
	int64_t out = -42;
	*rc = elog_time_parse(s, now, &out, &err);
	return out;
}

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static void test_rfc3339(void)
{
	int rc;
	CHECK_INT(tp("2024-01-20T10:00:00Z", 0, &rc), T0);
	CHECK_INT(rc, 0);
	CHECK_INT(tp("2024-01-20t10:00:00z", 0, &rc), T0);
	CHECK_INT(tp("2024-01-20T10:00:00.5Z", 0, &rc), T0 + 500000000);
	CHECK_INT(tp("2024-01-20T10:00:00.123456789Z", 0, &rc), T0 + 123456789);
	CHECK_INT(tp("2024-01-20T10:00:00.000001Z", 0, &rc), T0 + 1000);
	CHECK_INT(tp("2024-01-20T12:00:00+02:00", 0, &rc), T0);
	CHECK_INT(tp("2024-01-20T05:30:00-0430", 0, &rc), T0);
	CHECK_INT(tp("2024-01-20 10:00:00Z", 0, &rc), T0);
	CHECK_INT(tp("  2024-01-20T10:00:00Z  ", 0, &rc), T0);
	CHECK_INT(rc, 0);
}

static void test_local(void)
{
	int rc;
	set_tz("XST-2"); /* UTC+2, no DST */
	CHECK_INT(tp("2024-01-20 12:00:00", 0, &rc), T0);
	CHECK_INT(rc, 0);
	CHECK_INT(tp("2024-01-20T12:00:00", 0, &rc), T0);
	CHECK_INT(tp("2024-01-20 12:00", 0, &rc), T0);
	CHECK_INT(tp("2024-01-20", 0, &rc), T0 - 12 * 3600 * S);
	CHECK_INT(rc, 0);
	/* now = 2024-01-20T10:00:00Z = 12:00 local */
	CHECK_INT(tp("today", T0, &rc), T0 - 12 * 3600 * S);
	CHECK_INT(rc, 0);
	CHECK_INT(tp("yesterday", T0, &rc), T0 - 36 * 3600 * S);
	CHECK_INT(tp("Today", T0 + 999, &rc), T0 - 12 * 3600 * S);
	/* record timestamps without a zone are UTC */
	int64_t out = 0;
	CHECK_INT(elog_time_parse_record("2024-01-20 10:00:00", 19, &out), 0);
	CHECK_INT(out, T0);
	set_tz("UTC0");
	CHECK_INT(tp("today", T0, &rc), T0 - 10 * 3600 * S);
}

static void test_relative(void)
{
	int rc;
	int64_t now = T0 + 123;
	CHECK_INT(tp("now", now, &rc), now);
	CHECK_INT(tp("30s", now, &rc), now - 30 * S);
	CHECK_INT(tp("5m", now, &rc), now - 300 * S);
	CHECK_INT(tp("5m ago", now, &rc), now - 300 * S);
	CHECK_INT(tp("5mago", now, &rc), now - 300 * S);
	CHECK_INT(tp("-5m", now, &rc), now - 300 * S);
	CHECK_INT(tp("2h", now, &rc), now - 7200 * S);
	CHECK_INT(tp("1d", now, &rc), now - 86400 * S);
	CHECK_INT(tp("1h30m", now, &rc), now - 5400 * S);
	CHECK_INT(tp("500ms", now, &rc), now - 500000000);
	CHECK_INT(tp("45", now, &rc), now - 45 * S);
	CHECK_INT(rc, 0);
}

static void test_epoch(void)
{
	int rc;
	CHECK_INT(tp("@1700000000", 0, &rc), 1700000000LL * S);
	CHECK_INT(rc, 0);
	CHECK_INT(tp("@1700000000.5", 0, &rc), 1700000000LL * S + 500000000);
	CHECK_INT(rc, 0);
	CHECK_INT(tp("@0", 0, &rc), 0);
	/* @ is always seconds, even for large numbers */
	CHECK_INT(tp("@1700000000000", 0, &rc), -42);
	CHECK(rc != 0);
}

static void test_invalid(void)
{
	const char *bad[] = {
		"", "garbage", "2024-13-01", "2024-02-30", "2024-01-20T25:00:00Z",
		"2024-01-20T10:00:00+", "2024-01-20T10:00:00.Z", "2024-01-20T10:00:00.1234567890Z",
		"2024-01-20T10:00:00Zjunk", "5x", "@", "@abc", "1h30", "--5m", "ago",
		"2024-01-20X10:00:00",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct elog_err err;
		int64_t out = 0;
		int rc = elog_time_parse(bad[i], 0, &out, &err);
		if (rc != ELOG_EUSAGE)
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
		CHECK_INT(rc, ELOG_EUSAGE);
	}
	struct elog_err err;
	int64_t out;
	CHECK_INT(elog_time_parse("garbage", 0, &out, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "invalid time 'garbage'");
	CHECK_INT(err.code, ELOG_EUSAGE);
}

static void test_duration(void)
{
	struct elog_err err;
	int64_t d = 0;
	CHECK_INT(elog_duration_parse("1h30m", &d, &err), 0);
	CHECK_INT(d, 5400 * S);
	CHECK_INT(elog_duration_parse("200ms", &d, &err), 0);
	CHECK_INT(d, 200000000);
	CHECK_INT(elog_duration_parse("5s", &d, &err), 0);
	CHECK_INT(d, 5 * S);
	CHECK_INT(elog_duration_parse("2d", &d, &err), 0);
	CHECK_INT(d, 2 * 86400 * S);
	CHECK_INT(elog_duration_parse("1w", &d, &err), 0);
	CHECK_INT(d, 7 * 86400 * S);
	CHECK_INT(elog_duration_parse("10", &d, &err), 0);
	CHECK_INT(d, 10 * S);
	CHECK_INT(elog_duration_parse("1.5h", &d, &err), 0);
	CHECK_INT(d, 5400 * S);
	CHECK_INT(elog_duration_parse("3us", &d, &err), 0);
	CHECK_INT(d, 3000);
	CHECK_INT(elog_duration_parse("7ns", &d, &err), 0);
	CHECK_INT(d, 7);
	CHECK_INT(elog_duration_parse("1m1s1ms", &d, &err), 0);
	CHECK_INT(d, 61 * S + 1000000);
	CHECK_INT(elog_duration_parse("5x", &d, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "invalid duration '5x'");
	CHECK_INT(elog_duration_parse("", &d, &err), ELOG_EUSAGE);
	CHECK_INT(elog_duration_parse("h", &d, &err), ELOG_EUSAGE);
	CHECK_INT(elog_duration_parse("99999999999999999999s", &d, &err), ELOG_EUSAGE);
	CHECK_INT(elog_duration_parse("999999999w", &d, &err), ELOG_EUSAGE);
}

static void test_record_ts(void)
{
	int64_t out = 0;
#define PR(s) elog_time_parse_record((s), strlen(s), &out)
	CHECK_INT(PR("2024-01-20T10:00:00Z"), 0);
	CHECK_INT(out, T0);
	CHECK_INT(PR("2024-01-20T10:00:00.25+00:00"), 0);
	CHECK_INT(out, T0 + 250000000);
	CHECK_INT(PR("2024-01-20 10:00:00,123"), 0);
	CHECK_INT(out, T0 + 123000000);
	CHECK_INT(PR("2025-01-27T04:15:22.531Z"), 0);
	CHECK_INT(out, 1737951322531000000LL);
	CHECK_INT(PR("1700000000"), 0);
	CHECK_INT(out, 1700000000LL * S);
	CHECK_INT(PR("1700000000.25"), 0);
	CHECK_INT(out, 1700000000LL * S + 250000000);
	CHECK_INT(PR("1700000000123"), 0);
	CHECK_INT(out, 1700000000123LL * 1000000);
	CHECK_INT(PR("1700000000123456"), 0);
	CHECK_INT(out, 1700000000123456LL * 1000);
	CHECK_INT(PR("1700000000123456789"), 0);
	CHECK_INT(out, 1700000000123456789LL);
	CHECK_INT(PR("yesterday"), -1);
	CHECK_INT(PR(""), -1);
	CHECK_INT(PR("2024-01-20T10:00:00Q"), -1);
#undef PR
}

static void test_epoch_number(void)
{
	CHECK_INT(elog_time_from_epoch_number(1700000000), 1700000000LL * S);
	CHECK_INT(elog_time_from_epoch_number(1700000000.5), 1700000000LL * S + 500000000);
	CHECK_INT(elog_time_from_epoch_number(1700000000123.0), 1700000000123LL * 1000000);
	CHECK_INT(elog_time_from_epoch_number(1700000000123456.0), 1700000000123456LL * 1000);
	CHECK_INT(elog_time_from_epoch_number(1.7e18), 1700000000000000000LL);
	CHECK_INT(elog_time_from_epoch_number(0), 0);
	CHECK_INT(elog_time_from_epoch_number(0.0 / 0.0), 0);
}

UNIT_MAIN({ "rfc3339", test_rfc3339 }, { "local", test_local }, { "relative", test_relative },
	  { "epoch", test_epoch }, { "invalid", test_invalid }, { "duration", test_duration },
	  { "record_ts", test_record_ts }, { "epoch_number", test_epoch_number })
