/* test_time_arith.c — a date with a zone (or Z) converts by arithmetic (timeparse.c's
 * days_from_civil), not timegm: every day of 1678..2261 (the int64 nanosecond range) at a
 * few times and zones, also days past their month's end where the parser takes them, gives
 * what timegm gives. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/timeparse.h"
#include "unit.h"

static int64_t want_ns(int y, int mo, int d, int h, int mi, int s, int zone_sec)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return ((int64_t)timegm(&tm) - zone_sec) * 1000000000LL;
}

static void test_days(void)
{
	static const char *const zones[] = { "Z", "+05:30", "-11:00" };
	static const int zsec[] = { 0, 5 * 3600 + 1800, -11 * 3600 };
	char buf[64];
	long checked = 0, wrong = 0;

	for (int y = 1678; y <= 2261; y++)
		for (int mo = 1; mo <= 12; mo++)
			for (int d = 1; d <= 31; d++) {
				int k = (y + mo + d) % 3, h = (y * 7 + d) % 24, mi = (d * 13) % 60;
				int s = (mo * 17 + d) % 60;
				int64_t got = 0;

				snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.25%s", y, mo,
					 d, h, mi, s, zones[k]);
				if (elog_time_parse_record(buf, strlen(buf), &got) != 0) {
					/* only a day past its month's end may be refused */
					CHECK(d > 28);
					continue;
				}
				checked++;
				if (got != want_ns(y, mo, d, h, mi, s, zsec[k]) + 250000000LL &&
				    wrong++ < 5)
					CHECK_STR(buf, "converted as timegm does");
			}
	CHECK(checked > 580 * 12 * 28);
	CHECK_INT(wrong, 0);
}

UNIT_MAIN(
	{ "days", test_days }
)
