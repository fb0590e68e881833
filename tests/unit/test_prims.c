/*
 * Unit tests for the shared primitives of util.c: the one protobuf Timestamp rule (and the
 * record-time rule built on it in convert.h), timed waits on the monotonic clock, NS_PER_S.
 */
#include "unit.h"
#include "util.h"
#include "convert.h"

#include <errno.h>
#include <pthread.h>

static void test_pb_time_plain(void)
{
	CHECK_INT(elog_pb_time_ns(0, 0), 0);
	CHECK_INT(elog_pb_time_ns(1, 0), NS_PER_S);
	CHECK_INT(elog_pb_time_ns(1700000000, 123456789), 1700000000123456789LL);
	CHECK_INT(elog_pb_time_ns(-1, 0), -NS_PER_S);
	CHECK_INT(elog_pb_time_ns(-1, 500000000), -500000000);
}

static void test_pb_time_nanos_normalised(void)
{
	/* negative nanos borrow from the seconds */
	CHECK_INT(elog_pb_time_ns(5, -1), 5 * NS_PER_S - 1);
	CHECK_INT(elog_pb_time_ns(0, -1), -1);
	CHECK_INT(elog_pb_time_ns(1, -1500000000), -500000000);
	/* nanos of a second or more carry into the seconds */
	CHECK_INT(elog_pb_time_ns(1, 1500000000), 2500000000LL);
	CHECK_INT(elog_pb_time_ns(0, INT32_MAX), INT32_MAX);
	CHECK_INT(elog_pb_time_ns(0, INT32_MIN), INT32_MIN);
}

static void test_pb_time_saturates(void)
{
	int64_t max_s = INT64_MAX / NS_PER_S;             /* 9223372036 */

	/* the last representable ns, exactly */
	CHECK_INT(elog_pb_time_ns(max_s, 854775807), INT64_MAX);
	CHECK_INT(elog_pb_time_ns(max_s, 854775808), INT64_MAX);
	CHECK_INT(elog_pb_time_ns(max_s, 854775806), INT64_MAX - 1);
	CHECK_INT(elog_pb_time_ns(max_s + 1, 0), INT64_MAX);
	CHECK_INT(elog_pb_time_ns(253402300799LL, 999999999), INT64_MAX);  /* 9999-12-31 */
	CHECK_INT(elog_pb_time_ns(INT64_MAX, INT32_MAX), INT64_MAX);
	CHECK_INT(elog_pb_time_ns(INT64_MAX, 0), INT64_MAX);
	CHECK_INT(elog_pb_time_ns(INT64_MAX - 1, 999999999), INT64_MAX);
	/* the first representable ns, exactly, and below */
	CHECK_INT(elog_pb_time_ns(-max_s - 1, 145224192), INT64_MIN);
	CHECK_INT(elog_pb_time_ns(-max_s - 1, 145224193), INT64_MIN + 1);
	CHECK_INT(elog_pb_time_ns(-max_s - 1, 999999999), -(max_s * NS_PER_S) - 1);
	CHECK_INT(elog_pb_time_ns(-max_s - 1, 145224191), INT64_MIN);
	CHECK_INT(elog_pb_time_ns(-62135596800LL, 0), INT64_MIN);           /* 0001-01-01 */
	CHECK_INT(elog_pb_time_ns(INT64_MIN, 0), INT64_MIN);
	CHECK_INT(elog_pb_time_ns(INT64_MIN, INT32_MIN), INT64_MIN);
	CHECK_INT(elog_pb_time_ns(INT64_MIN, INT32_MAX), INT64_MIN);
}

static void test_event_time(void)
{
	Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

	/* absent and unset: unknown (0: the hub uses the arrival time) */
	CHECK_INT(elog_conv_event_ns(NULL), 0);
	CHECK_INT(elog_conv_event_ns(&ts), 0);
	CHECK_INT(elog_pb_event_ns(0, 1700000000, 0), 0);
	/* before 1970, by seconds or by negative nanos: unknown */
	ts.seconds = -5;
	CHECK_INT(elog_conv_event_ns(&ts), 0);
	ts.seconds = 0;
	ts.nanos = -1;
	CHECK_INT(elog_conv_event_ns(&ts), 0);
	ts.seconds = INT64_MIN;
	ts.nanos = INT32_MIN;
	CHECK_INT(elog_conv_event_ns(&ts), 0);
	/* just after the epoch */
	ts.seconds = 0;
	ts.nanos = 1;
	CHECK_INT(elog_conv_event_ns(&ts), 1);
	ts.seconds = 1;
	ts.nanos = -999999999;
	CHECK_INT(elog_conv_event_ns(&ts), 1);
	/* far future: saturated, not wrapped and not dropped */
	ts.seconds = INT64_MAX;
	ts.nanos = 0;
	CHECK_INT(elog_conv_event_ns(&ts), INT64_MAX);
	CHECK_INT(elog_conv_time_ns(&ts), INT64_MAX);
	ts.seconds = 1700000000;
	ts.nanos = 5;
	CHECK_INT(elog_conv_event_ns(&ts), 1700000000000000005LL);
	ts.seconds = -1;
	ts.nanos = 0;
	CHECK_INT(elog_conv_time_ns(&ts), -NS_PER_S);
}

static void test_cond_wait(void)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	int64_t t0, dl;

	CHECK_INT(NS_PER_S, 1000000000LL);
	CHECK_INT(NS_PER_MS, 1000000LL);
	elog_cond_init(&cv);
	pthread_mutex_lock(&mu);
	/* a deadline already passed returns at once */
	t0 = elog_mono_ns();
	CHECK_INT(elog_cond_wait_until(&cv, &mu, t0 - NS_PER_S), ETIMEDOUT);
	CHECK_INT(elog_cond_wait_until(&cv, &mu, INT64_MIN), ETIMEDOUT);
	/* a deadline 20 ms away is waited for (on the monotonic clock) */
	dl = elog_mono_after(20 * NS_PER_MS);
	CHECK(dl >= t0 + 20 * NS_PER_MS);
	while (elog_cond_wait_until(&cv, &mu, dl) != ETIMEDOUT)
		;
	CHECK(elog_mono_ns() >= dl);
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
	/* deadlines: now for <= 0, none when the sum overflows */
	CHECK(elog_mono_after(0) <= elog_mono_ns());
	CHECK(elog_mono_after(-5) <= elog_mono_ns());
	CHECK_INT(elog_mono_after(INT64_MAX), INT64_MAX);
}

UNIT_MAIN(
	{ "pb_time_plain", test_pb_time_plain },
	{ "pb_time_nanos_normalised", test_pb_time_nanos_normalised },
	{ "pb_time_saturates", test_pb_time_saturates },
	{ "event_time", test_event_time },
	{ "cond_wait", test_cond_wait }
)
