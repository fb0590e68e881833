/* Unit tests for sessionlog.c: file names of session ids, rotated names, and a round trip
 * through the writer (append, sync, rotation by size, restart keeps the counter). */
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include "unit.h"
#include "server/sessionlog.h"
#include "common/util.h"
#include "common/err.h"

static char *stem_of(const char *id, size_t n)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_slog_file_name(&b, id, n);
	return elog_buf_detach(&b);
}

static void check_stem(const char *id, const char *want)
{
	char *s = stem_of(id, strlen(id));

	CHECK_STR(s, want);
	free(s);
}

static void test_file_name(void)
{
	check_stem("agent-1_run.v2", "agent-1_run.v2");
	check_stem("../x", "%2E.%2Fx");
	check_stem("a/b", "a%2Fb");
	check_stem("a%2Fb", "a%252Fb");
	check_stem(".", "%2E");
	check_stem("..", "%2E.");
	check_stem(".hidden", "%2Ehidden");
	check_stem("c\001d", "c%01d");
	check_stem("nl\nx", "nl%0Ax");
	check_stem("sp ace", "sp%20ace");
	check_stem("~", "%7E");
	check_stem("\xc3\xa9", "%C3%A9");
}

static void test_file_name_long(void)
{
	char id[10001], id2[10001];
	char *a, *b, *c;
	size_t i;

	memset(id, 'x', 10000);
	id[10000] = '\0';
	memcpy(id2, id, sizeof(id));
	id2[9999] = 'y';
	a = stem_of(id, strlen(id));
	b = stem_of(id2, strlen(id2));
	CHECK(strlen(a) <= 96);
	CHECK(strlen(b) <= 96);
	CHECK(strchr(a, '~') != NULL);
	CHECK(strcmp(a, b) != 0);
	for (i = 0; a[i]; i++)
		CHECK(a[i] != '/' && (unsigned char)a[i] >= 32);
	/* 96 safe bytes: no hash; 97: hashed */
	id[96] = '\0';
	c = stem_of(id, 96);
	CHECK_STR(c, id);
	free(c);
	id[96] = 'x';
	id[97] = '\0';
	c = stem_of(id, 97);
	CHECK(strlen(c) == 96 && strchr(c, '~'));
	free(c);
	/* a long id of unsafe bytes: cut at a %XX boundary */
	memset(id, '/', 200);
	id[200] = '\0';
	c = stem_of(id, 200);
	CHECK(strlen(c) <= 96);
	CHECK(strncmp(c, "%2F%2F", 6) == 0);
	CHECK(c[strlen(c) - 65] == '~');
	free(c);
	free(a);
	free(b);
}

static void test_rotated_name(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int64_t first = 0, last = 0;
	int gz = -1;

	/* 2024-01-20T10:00:00.000000123Z */
	elog_slog_rotated_name(&b, "s.x", 1705744800000000123LL, 5, 17);
	CHECK_STR(b.data, "s.x.20240120T100000.000000123Z.5-17.log");
	CHECK(elog_slog_parse_rotated(b.data, "s.x", &first, &last, &gz));
	CHECK_INT(first, 5);
	CHECK_INT(last, 17);
	CHECK_INT(gz, 0);
	CHECK(!elog_slog_parse_rotated(b.data, "s", NULL, NULL, NULL));
	CHECK(!elog_slog_parse_rotated(b.data, "s.x.2", NULL, NULL, NULL));
	elog_buf_adds(&b, ".gz");
	CHECK(elog_slog_parse_rotated(b.data, "s.x", &first, &last, &gz));
	CHECK_INT(gz, 1);
	elog_buf_reset(&b);
	elog_slog_rotated_name(&b, "n", 0, -3, -1);
	CHECK_STR(b.data, "n.19700101T000000.000000000Z.-3--1.log");
	CHECK(elog_slog_parse_rotated(b.data, "n", &first, &last, NULL));
	CHECK_INT(first, -3);
	CHECK_INT(last, -1);
	/* not rotated names */
	CHECK(!elog_slog_parse_rotated("n.logtmp", "n", NULL, NULL, NULL));
	CHECK(!elog_slog_parse_rotated("n.20240120T100000.000000123Z.5-17.log.gz.tmp", "n", NULL,
				       NULL, NULL));
	CHECK(!elog_slog_parse_rotated("n.20240120T100000.00000123Z.5-17.log", "n", NULL, NULL,
				       NULL));
	CHECK(!elog_slog_parse_rotated("n.20240120T100000.000000123Z.517.log", "n", NULL, NULL,
				       NULL));
	CHECK(!elog_slog_parse_rotated(".20240120T100000.000000123Z.5-17.log", "", NULL, NULL,
				       NULL));
	/* a session whose id looks like a rotated name keeps apart */
	CHECK(!elog_slog_parse_rotated("n.20240120T100000.000000123Z.5-17.log.20240120T100000."
				       "000000123Z.1-1.log", "n", NULL, NULL, NULL));
	elog_buf_release(&b);
}

static int count_files(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), s = strlen(suffix);

		if (l >= s && strcmp(de->d_name + l - s, suffix) == 0)
			n++;
	}
	closedir(d);
	return n;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[4096];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || !strcmp(de->d_name, "..")))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static int append(struct elog_slog_session *s, int64_t seq, const char *content, int64_t *got,
		  uint64_t *ticket)
{
	struct elog_slog_frame f = { 0 };
	struct elog_err err;

	f.seq = seq;
	f.content = content;
	f.user_id = "u";
	f.role = "r";
	f.time_ns = 1705744800000000000LL;
	return elog_slog_append(s, &f, got, ticket, &err);
}

/* Appends one frame to session id, waits for it to be on disk, and returns its seq. */
static int64_t append_synced(struct elog_sessionlog *sl, const char *id, const char *content)
{
	struct elog_slog_session *s;
	struct elog_err err;
	int64_t seq = -1;
	uint64_t ticket = 0;

	CHECK_INT(elog_slog_acquire(sl, id, &s, &err), 0);
	CHECK_INT(append(s, 0, content, &seq, &ticket), 0);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	elog_slog_release(s);
	return seq;
}

static void test_roundtrip(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *s;
	struct elog_err err;
	struct elog_slog_stats st;
	int64_t seq = 0;
	uint64_t ticket = 0;
	int i;

	CHECK(mkdtemp(dir) != NULL);
	o.dir = dir;
	o.max_size = 300;
	o.compression = ELOG_SLOG_NONE;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(elog_slog_acquire(sl, "", &s, &err), ELOG_EUSAGE);
	CHECK_INT(elog_slog_acquire(sl, "s1", &s, &err), 0);
	for (i = 0; i < 5; i++)
		CHECK_INT(append(s, 0, "hello", &seq, &ticket), 0);
	CHECK_INT(seq, 5);
	CHECK_INT(append(s, 3, "backwards", &seq, &ticket), 0);
	CHECK_INT(seq, 3);
	CHECK_INT(append(s, 0, "next", &seq, &ticket), 0);
	CHECK_INT(seq, 6);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	elog_slog_release(s);
	elog_slog_stats(sl, &st);
	CHECK(st.rotations >= 2);
	CHECK(count_files(dir, ".log") >= 2);
	CHECK_INT(count_files(dir, ".logtmp"), 1);
	elog_slog_close(sl);

	/* a restart recovers the counter from the files */
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(append_synced(sl, "s1", "again"), 7);
	elog_slog_close(sl);
	rm_rf(dir);
}

/* Only rotated (and compressed) files are left of a session, no current file: its counter
 * comes from the highest seq in their names; another session's files do not count. */
static void test_counter_from_rotated_names(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_err err;
	const char *files[] = {
		"s2.20240120T100000.000000123Z.1-39.log.gz",
		"s2.20240120T100500.000000000Z.40-57.log.gz",
		"s2x.20240120T100500.000000000Z.58-900.log.gz",   /* another session */
	};
	char path[4096];

	CHECK(mkdtemp(dir) != NULL);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		f = fopen(path, "w");
		CHECK(f != NULL);
		if (f)
			fclose(f);
	}
	o.dir = dir;
	o.compression = ELOG_SLOG_NONE;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(append_synced(sl, "s2", "after the rotated files"), 58);
	CHECK_INT(append_synced(sl, "s2x", "its own counter"), 901);
	elog_slog_close(sl);
	rm_rf(dir);
}

static void test_queue_full(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *s;
	struct elog_err err;
	int64_t seq = 0;
	uint64_t ticket = 0;

	CHECK(mkdtemp(dir) != NULL);
	o.dir = dir;
	o.queue_max = 2;
	o.flush_interval_ns = 3600LL * 1000000000LL;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(elog_slog_acquire(sl, "q", &s, &err), 0);
	CHECK_INT(append(s, 0, "a", &seq, &ticket), 0);
	CHECK_INT(append(s, 0, "b", &seq, &ticket), 0);
	CHECK_INT(append(s, 0, "c", &seq, &ticket), ELOG_EFULL);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	CHECK_INT(append(s, 0, "c", &seq, &ticket), 0);
	CHECK_INT(seq, 3);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	elog_slog_release(s);
	elog_slog_close(sl);
	rm_rf(dir);
}

static void test_idle_release(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *s;
	struct elog_slog_stats st;
	struct elog_err err;
	int64_t seq = 0;
	uint64_t ticket = 0;
	int i;

	CHECK(mkdtemp(dir) != NULL);
	o.dir = dir;
	o.idle_ns = 200000000LL;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(elog_slog_acquire(sl, "idle", &s, &err), 0);
	CHECK_INT(append(s, 0, "a", &seq, &ticket), 0);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	elog_slog_release(s);
	for (i = 0; i < 100; i++) {
		elog_slog_stats(sl, &st);
		if (st.sessions == 0 && st.compressed == 1)
			break;
		usleep(20000);
	}
	CHECK_INT(st.sessions, 0);
	CHECK_INT(st.rotations, 1);
	CHECK_INT(st.compressed, 1);
	CHECK_INT(count_files(dir, ".logtmp"), 0);
	CHECK_INT(count_files(dir, ".1-1.log.gz"), 1);
	/* the writer is gone; the session comes back with its counter */
	CHECK_INT(elog_slog_acquire(sl, "idle", &s, &err), 0);
	CHECK_INT(append(s, 0, "b", &seq, &ticket), 0);
	CHECK_INT(seq, 2);
	CHECK_INT(elog_slog_sync(s, ticket, &err), 0);
	elog_slog_release(s);
	elog_slog_close(sl);
	rm_rf(dir);
}

/* Threads of this process. */
static int count_threads(void)
{
	return count_files("/proc/self/task", "") - 2;   /* "." and ".." */
}

/* Lines of dir/name (-1 when it cannot be read). */
static int count_lines(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;
	int c, n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* 60 sessions held at once, each written: no thread per session, at most max_open files (plus
 * one per writer) open at any time, the least recently written closed and reopened for
 * append when written again. */
static void test_bounded_files(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *s[60];
	struct elog_slog_stats st;
	struct elog_err err;
	uint64_t ticket[60];
	int64_t seq;
	char id[32];
	int i, ok = 1, threads;

	CHECK(mkdtemp(dir) != NULL);
	o.dir = dir;
	o.max_open = 4;
	o.compression = ELOG_SLOG_NONE;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	threads = count_threads();
	for (i = 0; i < 60; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		if (elog_slog_acquire(sl, id, &s[i], &err) != 0) {
			CHECK(!"acquire");
			ok = 0;
			break;
		}
		CHECK_INT(append(s[i], 0, "one", &seq, &ticket[i]), 0);
	}
	if (ok) {
		CHECK_INT(count_threads(), threads);
		for (i = 0; i < 60; i++)
			CHECK_INT(elog_slog_sync(s[i], ticket[i], &err), 0);
		/* written again after its file was closed: appended to the same file */
		CHECK_INT(append(s[0], 0, "two", &seq, &ticket[0]), 0);
		CHECK_INT(seq, 2);
		CHECK_INT(elog_slog_sync(s[0], ticket[0], &err), 0);
		elog_slog_stats(sl, &st);
		CHECK_INT(st.sessions, 60);
		CHECK(st.evictions >= 50);
		CHECK(st.open_files <= 4);
		if (st.open_files_peak > 4 + 4)
			fprintf(stderr, "  open files peaked at %zu\n", st.open_files_peak);
		CHECK(st.open_files_peak <= 4 + 4);
		for (i = 0; i < 60; i++)
			elog_slog_release(s[i]);
	}
	elog_slog_close(sl);
	CHECK_INT(count_lines(dir, "b0.logtmp"), 2);
	CHECK_INT(count_lines(dir, "b59.logtmp"), 1);
	CHECK_INT(count_files(dir, ".logtmp"), 60);
	rm_rf(dir);
}

/* Past max_sessions a new session is refused with ELOG_EFULL naming the limit while every open
 * session is held; one that no call holds is closed to make room. */
static void test_session_limit(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *a, *b, *c = NULL;
	struct elog_slog_stats st;
	struct elog_err err;
	int64_t seq = 0;
	uint64_t ticket = 0;

	CHECK(mkdtemp(dir) != NULL);
	o.dir = dir;
	o.max_sessions = 2;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	CHECK_INT(elog_slog_acquire(sl, "l1", &a, &err), 0);
	CHECK_INT(elog_slog_acquire(sl, "l2", &b, &err), 0);
	elog_err_clear(&err);
	CHECK_INT(elog_slog_acquire(sl, "l3", &c, &err), ELOG_EFULL);
	CHECK(c == NULL);
	CHECK(strstr(err.msg, "limit of open sessions: 2") != NULL);
	elog_slog_release(c);
	/* one already open is still there */
	CHECK_INT(elog_slog_acquire(sl, "l1", &c, &err), 0);
	elog_slog_release(c);
	/* a session no call holds makes room at once (closed, its file kept as it is) */
	CHECK_INT(append(b, 0, "x", &seq, &ticket), 0);
	CHECK_INT(elog_slog_sync(b, ticket, &err), 0);
	elog_slog_release(b);
	c = NULL;
	CHECK_INT(elog_slog_acquire(sl, "l3", &c, &err), 0);
	elog_slog_stats(sl, &st);
	CHECK_INT(st.sessions, 2);
	CHECK_INT(count_lines(dir, "l2.logtmp"), 1);
	CHECK_INT(st.rotations, 0);
	elog_slog_release(c);
	/* and it comes back where it was (l3, no longer held, makes room for it) */
	CHECK_INT(elog_slog_acquire(sl, "l2", &b, &err), 0);
	CHECK_INT(append(b, 0, "y", &seq, &ticket), 0);
	CHECK_INT(seq, 2);
	CHECK_INT(elog_slog_sync(b, ticket, &err), 0);
	elog_slog_release(b);
	CHECK_INT(count_lines(dir, "l2.logtmp"), 2);
	elog_slog_release(a);
	elog_slog_close(sl);
	rm_rf(dir);
}

static int read_file(const char *path, char *buf, size_t n)
{
	FILE *f = fopen(path, "r");
	size_t r;

	if (!f)
		return -1;
	r = fread(buf, 1, n - 1, f);
	buf[r] = '\0';
	fclose(f);
	return (int)r;
}

/* A symbolic link planted in the log directory is never followed: the session's open fails
 * with a clear error and the link's target is untouched. */
static void test_symlink_refused(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX", out[] = "/tmp/elog-slog-out-XXXXXX";
	char path[4096], target[4096], buf[256];
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl;
	struct elog_slog_session *s;
	struct elog_err err;
	int64_t seq = 0;
	uint64_t ticket = 0;
	FILE *f;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(mkdtemp(out) != NULL);
	snprintf(target, sizeof(target), "%s/victim", out);
	f = fopen(target, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("precious\n", f);
		fclose(f);
	}
	/* planted before the session is opened: its current file is a link */
	snprintf(path, sizeof(path), "%s/L.logtmp", dir);
	CHECK_INT(symlink(target, path), 0);
	o.dir = dir;
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	elog_err_clear(&err);
	CHECK_INT(elog_slog_acquire(sl, "L", &s, &err), ELOG_EIO);
	CHECK(strstr(err.msg, "symbolic link") != NULL);
	/* planted after the session was opened, before it writes */
	CHECK_INT(elog_slog_acquire(sl, "M", &s, &err), 0);
	snprintf(path, sizeof(path), "%s/M.logtmp", dir);
	CHECK_INT(symlink(target, path), 0);
	CHECK_INT(append(s, 0, "x", &seq, &ticket), 0);
	elog_err_clear(&err);
	CHECK_INT(elog_slog_sync(s, ticket, &err), ELOG_EIO);
	CHECK(strstr(err.msg, "M.logtmp") != NULL);
	CHECK(strstr(err.msg, "symbolic link") != NULL);
	elog_slog_release(s);
	elog_slog_close(sl);
	CHECK_INT(read_file(target, buf, sizeof(buf)), 9);
	CHECK_STR(buf, "precious\n");
	rm_rf(dir);
	rm_rf(out);
}

/* A log directory writable by others is refused, naming it. */
static void test_dir_mode(void)
{
	char dir[] = "/tmp/elog-slog-XXXXXX";
	struct elog_slog_opts o = { 0 };
	struct elog_sessionlog *sl = NULL;
	struct elog_err err;

	CHECK(mkdtemp(dir) != NULL);
	CHECK_INT(chmod(dir, 0777), 0);
	o.dir = dir;
	elog_err_clear(&err);
	CHECK_INT(elog_slog_open(&sl, &o, &err), ELOG_EUSAGE);
	CHECK(sl == NULL);
	CHECK(strstr(err.msg, dir) != NULL);
	CHECK(strstr(err.msg, "writable by others") != NULL);
	CHECK_INT(chmod(dir, 0770), 0);
	CHECK_INT(elog_slog_open(&sl, &o, &err), ELOG_EUSAGE);
	CHECK_INT(chmod(dir, 0700), 0);
	CHECK_INT(elog_slog_open(&sl, &o, &err), 0);
	elog_slog_close(sl);
	rm_rf(dir);
}

UNIT_MAIN({ "counter_from_rotated_names", test_counter_from_rotated_names },
	  { "file_name", test_file_name }, { "file_name_long", test_file_name_long },
	  { "rotated_name", test_rotated_name }, { "roundtrip", test_roundtrip },
	  { "queue_full", test_queue_full }, { "idle_release", test_idle_release },
	  { "bounded_files", test_bounded_files }, { "session_limit", test_session_limit },
	  { "symlink_refused", test_symlink_refused }, { "dir_mode", test_dir_mode })
