/*
 * Unit tests for the shared primitives of util.c: the one protobuf Timestamp rule (and the
 * record-time rule built on it in convert.h), timed waits on the monotonic clock, NS_PER_S.
 */
#include "unit.h"
#include "common/util.h"
#include "server/convert.h"
#include "common/err.h"
#include "store/keys.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under AddressSanitizer a failed malloc must return NULL, as libc's does, for xmalloc to see it. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

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

/* An allocation that cannot succeed: the child says so in words on stderr, then SIGABRT
 * (it used to die of __builtin_trap: SIGILL, "Illegal instruction", and no word). */
static void test_out_of_memory(void)
{
	int pfd[2], st = 0;
	char out[256];
	ssize_t n, got = 0;
	pid_t pid;

	CHECK(pipe(pfd) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		volatile size_t huge = (size_t)1 << 62;

		dup2(pfd[1], 2);
		close(pfd[0]);
		(void)xmalloc(huge);
		_exit(0);
	}
	close(pfd[1]);
	while (got < (ssize_t)sizeof(out) - 1 && (n = read(pfd[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += n;
	out[got] = 0;
	close(pfd[0]);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFSIGNALED(st));
	CHECK_INT(WIFSIGNALED(st) ? WTERMSIG(st) : 0, SIGABRT);
	/* (AddressSanitizer may have warned first) */
	CHECK(strstr(out, "elog: out of memory: cannot allocate 4611686018427387904 bytes\n") != NULL);
}

static char *key_from(const char *content, size_t n, int *rc, struct elog_err *err)
{
	char path[] = "/tmp/elog-test-key-XXXXXX";
	int fd = mkstemp(path);
	char *key = NULL;

	CHECK(fd >= 0);
	CHECK(write(fd, content, n) == (ssize_t)n);
	close(fd);
	*rc = elog_key_read_file(path, &key, err);
	unlink(path);
	return key;
}

/* One API key file reader: first line, trailing spaces, tabs and CR stripped, a limit. */
static void test_key_file(void)
{
	struct elog_err err;
	char *k, big[ELOG_KEY_LINE_MAX + 10];
	int rc;

	k = key_from("elog_abc\n", 9, &rc, &err);
	CHECK_INT(rc, 0);
	CHECK_STR(k, "elog_abc");
	elog_key_free(k);
	/* tabs too (one of the two old readers kept them), and only the first line */
	k = key_from("elog_abc \t\r\nsecond line\n", 25, &rc, &err);
	CHECK_INT(rc, 0);
	CHECK_STR(k, "elog_abc");
	elog_key_free(k);
	k = key_from("elog_abc", 8, &rc, &err);
	CHECK_STR(k, "elog_abc");
	elog_key_free(k);
	k = key_from("", 0, &rc, &err);
	CHECK_INT(rc, 0);
	CHECK_STR(k, "");
	elog_key_free(k);
	/* exactly the limit, then one byte over it */
	memset(big, 'k', sizeof(big));
	big[ELOG_KEY_LINE_MAX] = '\n';
	k = key_from(big, ELOG_KEY_LINE_MAX + 1, &rc, &err);
	CHECK_INT(rc, 0);
	CHECK_INT(k ? strlen(k) : 0, ELOG_KEY_LINE_MAX);
	elog_key_free(k);
	big[ELOG_KEY_LINE_MAX] = 'k';
	k = key_from(big, ELOG_KEY_LINE_MAX + 1, &rc, &err);
	CHECK_INT(rc, ELOG_EUSAGE);
	CHECK(k == NULL);
	CHECK(strstr(err.msg, "longer than the limit of 1024 bytes (API key length)") != NULL);
	rc = elog_key_read_file("/nonexistent/elog.key", &k, &err);
	CHECK_INT(rc, ELOG_EIO);
	CHECK_STR(err.msg, "cannot read API key file '/nonexistent/elog.key': No such file or directory");
	elog_key_free(NULL);
}

/* Sizes typed by users (serve --log-max-size): K/M/G/T are powers of 1024. */
static void test_size_parse(void)
{
	int64_t v = -5;

	CHECK_INT(elog_size_parse("0", &v), 0);
	CHECK_INT(v, 0);
	CHECK_INT(elog_size_parse("4096", &v), 0);
	CHECK_INT(v, 4096);
	CHECK_INT(elog_size_parse("64K", &v), 0);
	CHECK_INT(v, 64 << 10);
	CHECK_INT(elog_size_parse("64m", &v), 0);
	CHECK_INT(v, 64 << 20);
	CHECK_INT(elog_size_parse("64MiB", &v), 0);
	CHECK_INT(v, 64 << 20);
	CHECK_INT(elog_size_parse("1GB", &v), 0);
	CHECK_INT(v, 1LL << 30);
	CHECK_INT(elog_size_parse("2T", &v), 0);
	CHECK_INT(v, 2LL << 40);
	CHECK_INT(elog_size_parse("8388607T", &v), 0);             /* INT64_MAX >> 40 */
	CHECK_INT(v, 8388607LL << 40);
	CHECK_INT(elog_size_parse("9223372036854775807", &v), 0);
	CHECK_INT(v, INT64_MAX);
	v = 7;
	CHECK_INT(elog_size_parse("8388608T", &v), -1);            /* past INT64_MAX */
	CHECK_INT(elog_size_parse("9223372036854775808", &v), -1);
	CHECK_INT(elog_size_parse("", &v), -1);
	CHECK_INT(elog_size_parse("M", &v), -1);
	CHECK_INT(elog_size_parse("-1", &v), -1);
	CHECK_INT(elog_size_parse("1.5G", &v), -1);
	CHECK_INT(elog_size_parse("64Q", &v), -1);
	CHECK_INT(elog_size_parse("64 M", &v), -1);
	CHECK_INT(elog_size_parse("64MBs", &v), -1);
	CHECK_INT(elog_size_parse("64B", &v), -1);                 /* B only after a unit */
	CHECK_INT(v, 7);                                            /* untouched on failure */
}

UNIT_MAIN(
	{ "size_parse", test_size_parse },
	{ "key_file", test_key_file },
	{ "out_of_memory", test_out_of_memory },
	{ "pb_time_plain", test_pb_time_plain },
	{ "pb_time_nanos_normalised", test_pb_time_nanos_normalised },
	{ "pb_time_saturates", test_pb_time_saturates },
	{ "event_time", test_event_time },
	{ "cond_wait", test_cond_wait }
)
