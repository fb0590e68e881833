/* test_redisnotify.c — URL checks, password masking, and the queue with Redis unreachable
 * (against a real redis-server: tests/t/t4100-logsvc-redis.sh). */
#include <pthread.h>
#include <unistd.h>
#include "unit.h"
#include "server/redisnotify.h"
#include "server/sessionlog.h"
#include "common/err.h"
#include "common/util.h"

static void redacted(const char *url, const char *want)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_rnotify_redacted_url(&b, url);
	CHECK_STR(b.data, want);
	elog_buf_release(&b);
}

static void test_redact(void)
{
	redacted("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2");
	redacted("redis://:pw@h:1", "redis://:***@h:1");
	redacted("redis://user:p@w@h/0", "redis://user:***@h/0");
	redacted("redis://pw@h", "redis://***@h");
	/* a raw '/' or '@' in the password is masked too */
	redacted("redis://:s3cret/PW@h:1/2", "redis://:***@h:1/2");
	redacted("redis://u:a/b@c@h", "redis://u:***@h");
	redacted("http://:pw@h", "http://:***@h");
}

/* Parses url, which must succeed with these parts. */
static void good_url(const char *url, const char *host, int port, const char *user,
		     const char *password, long db)
{
	struct elog_redis_url u;
	struct elog_err err;

	elog_err_clear(&err);
	CHECK_INT(elog_redis_url_parse(&u, url, &err), 0);
	CHECK_STR(u.host, host);
	CHECK_INT(u.port, port);
	if (user)
		CHECK_STR(u.user, user);
	else
		CHECK(u.user == NULL);
	if (password)
		CHECK_STR(u.password, password);
	else
		CHECK(u.password == NULL);
	CHECK_INT(u.db, db);
	elog_redis_url_clear(&u);
}

static void test_url_userinfo(void)
{
	good_url("redis://h", "h", 6379, NULL, NULL, 0);
	good_url("redis://:pw@h:7/3", "h", 7, NULL, "pw", 3);
	/* a '/' in the password, raw or percent-encoded */
	good_url("redis://:s3cret/PW@h:7/2", "h", 7, NULL, "s3cret/PW", 2);
	good_url("redis://:s3cret%2FPW@h:7/2", "h", 7, NULL, "s3cret/PW", 2);
	good_url("redis://:a/b/c@h", "h", 6379, NULL, "a/b/c", 0);
	/* percent-encoding in user and password: ':' '@' '%' */
	good_url("redis://us%3Aer:p%40w%25x%3a@[::1]:6380/1", "::1", 6380, "us:er", "p@w%x:", 1);
	good_url("redis://u:p@w@h", "h", 6379, "u", "p@w", 0);
	good_url("redis://lone%2Fpw@h", "h", 6379, NULL, "lone/pw", 0);
}

/* A usage error about a URL never shows its password. */
static void test_url_error_masked(void)
{
	static const char *urls[] = { "redis://:s3cretPW@h:99999", "redis://:s3cretPW@h/x",
				      "redis://:s3cret/PW@", "http://:s3cretPW@h",
				      "redis://u:s3cretPW@[::1", "redis://s3cretPW@h:1:2" };
	size_t i;

	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		struct elog_redis_url u;
		struct elog_err err;

		elog_err_clear(&err);
		CHECK_INT(elog_redis_url_parse(&u, urls[i], &err), ELOG_EUSAGE);
		elog_redis_url_clear(&u);
		CHECK(strstr(err.msg, "invalid redis URL '") != NULL);
		CHECK(strstr(err.msg, "***") != NULL);
		if (strstr(err.msg, "s3cret"))
			fprintf(stderr, "  password shown: %s\n", err.msg);
		CHECK(strstr(err.msg, "s3cret") == NULL);
	}
}

static void bad_url(const char *url)
{
	struct elog_rnotify_opts o = { .url = url };
	struct elog_rnotify *n = (struct elog_rnotify *)1;
	struct elog_err err;

	elog_err_clear(&err);
	CHECK_INT(elog_rnotify_open(&n, &o, &err), ELOG_EUSAGE);
	CHECK(n == NULL);
	CHECK(strstr(err.msg, "invalid redis URL") != NULL);
}

static void test_urls(void)
{
	bad_url("http://h");
	bad_url("redis://");
	bad_url("redis://h:0");
	bad_url("redis://h:70000");
	bad_url("redis://h:12x");
	bad_url("redis://h/x");
	bad_url("redis://[::1");
}

static pthread_mutex_t rmu = PTHREAD_MUTEX_INITIALIZER;
static int nreports;
static char last[512];

static void on_report(void *arg, const char *msg)
{
	(void)arg;
	pthread_mutex_lock(&rmu);
	nreports++;
	snprintf(last, sizeof(last), "%s", msg);
	pthread_mutex_unlock(&rmu);
}

/* Port 1 on loopback refuses connections: pushes never block, overflow is dropped, the
 * failure is reported once per interval, close gives up after its drain time. */
static void test_unreachable(void)
{
	struct elog_rnotify_opts o = { .url = "redis://:secret@127.0.0.1:1/1", .queue_max = 2,
				       .report = on_report };
	struct elog_rnotify *n;
	struct elog_rnotify_stats st;
	struct elog_err err;
	int64_t t0;
	int i;

	elog_err_clear(&err);
	CHECK_INT(elog_rnotify_open(&n, &o, &err), 0);
	if (!n)
		return;
	t0 = elog_mono_ns();
	for (i = 0; i < 5; i++)
		elog_rnotify_push(n, "{}", 2);
	CHECK(elog_mono_ns() - t0 < 100000000LL);
	for (i = 0; i < 100; i++) {
		elog_rnotify_stats(n, &st);
		if (st.failures > 0)
			break;
		usleep(10000);
	}
	elog_rnotify_stats(n, &st);
	CHECK(st.failures >= 1);
	CHECK_INT(st.sent, 0);
	CHECK_INT(st.dropped, 3);
	CHECK_INT(st.queued, 2);
	t0 = elog_mono_ns();
	elog_rnotify_close(n, 200000000LL, &st);
	CHECK(elog_mono_ns() - t0 < 1500000000LL);
	CHECK_INT(st.dropped, 5);
	CHECK_INT(st.queued, 0);
	pthread_mutex_lock(&rmu);
	CHECK_INT(nreports, 1);
	CHECK(strncmp(last, "redis 'redis://:***@127.0.0.1:1/1' unreachable: ", 48) == 0);
	CHECK(strstr(last, "secret") == NULL);
	pthread_mutex_unlock(&rmu);
}

static void test_segment_json(void)
{
	struct elog_slog_segment s = { "a\"b", "/d/x.log.gz", 3, 7, 120, 400, ELOG_SLOG_GZIP,
				       1700000000123456789LL };
	struct elog_buf b = ELOG_BUF_INIT;

	elog_slog_segment_json(&b, &s);
	CHECK_STR(b.data, "{\"session\":\"a\\\"b\",\"path\":\"/d/x.log.gz\",\"first_seq\":3,"
		  "\"last_seq\":7,\"bytes\":120,\"raw_bytes\":400,\"compression\":\"gzip\","
		  "\"time\":\"2023-11-14T22:13:20.123456789Z\"}");
	elog_buf_reset(&b);
	s.session_id = NULL;
	s.compression = ELOG_SLOG_NONE;
	elog_slog_segment_json(&b, &s);
	CHECK(strncmp(b.data, "{\"session\":null,", 16) == 0);
	CHECK(strstr(b.data, "\"compression\":\"none\"") != NULL);
	elog_buf_release(&b);
}

UNIT_MAIN({ "redact", test_redact }, { "urls", test_urls }, { "url_userinfo", test_url_userinfo },
	  { "url_error_masked", test_url_error_masked }, { "unreachable", test_unreachable },
	  { "segment_json", test_segment_json })
