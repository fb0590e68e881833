/* test_tailer.c — tailer.c on real files with an injected clock: elog_tailer_poll takes the
 * time as now_ns, so the test plays the clock (seconds pass between two polls without any
 * wait): rotation by rename (the old file drained, including what was written to it after the
 * rename, before the new one at its path), copytruncate (a truncation event, then the file
 * again from its start under a new generation), a last line without newline sent once the
 * file stopped growing, and a restart from the offsets saved in the state database. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "client/tailer.h"
#include "client/tailstate.h"
#include "unit.h"

#define SEC 1000000000LL

static char tmpdir[256];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void mk_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/elog_test_tailer.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		exit(2);
	}
}

static void rm_tmpdir(void)
{
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

/* Appends s to the file name (created when missing). */
static void append(const char *name, const char *s)
{
	char p[512];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "a");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(s, f);
	fclose(f);
}

/* What the callback saw: one line per event, "L <path base> <data> <offset>-<end> [p]",
 * "T <path base> <offset>", "G <path base>", "W <why>". */
struct seen {
	char text[8192];
	size_t len;
	int64_t last_end;
	uint64_t last_dev, last_ino;
	int64_t last_gen;
	char last_ident[96];
};

static int on_event(void *ctx, const struct elog_tail_event *ev)
{
	struct seen *s = ctx;
	const char *base = ev->path ? strrchr(ev->path, '/') : NULL;

	base = base ? base + 1 : ev->path;
	switch (ev->kind) {
	case ELOG_TAIL_LINE:
		s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len,
					   "L %s %.*s %lld-%lld%s\n", base, (int)ev->len, ev->data,
					   (long long)ev->offset, (long long)ev->end,
					   ev->partial ? " p" : "");
		s->last_end = ev->end;
		s->last_dev = ev->dev;
		s->last_ino = ev->ino;
		s->last_gen = ev->gen;
		snprintf(s->last_ident, sizeof(s->last_ident), "%s", ev->ident);
		break;
	case ELOG_TAIL_TRUNCATED:
		s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, "T %s %lld\n",
					   base, (long long)ev->offset);
		break;
	case ELOG_TAIL_GONE:
		s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, "G %s\n", base);
		break;
	case ELOG_TAIL_WAITING:
		s->len += (size_t)snprintf(s->text + s->len, sizeof(s->text) - s->len, "W %.*s\n",
					   (int)ev->len, ev->data);
		break;
	}
	return 0;
}

static void seen_reset(struct seen *s)
{
	s->len = 0;
	s->text[0] = '\0';
}

static void poll_at(struct elog_tailer *t, int64_t now, struct seen *s)
{
	struct elog_err err;

	elog_err_clear(&err);
	CHECK_INT(elog_tailer_poll(t, now, 1 << 20, on_event, s, &err), 0);
}

static struct elog_tailer *tailer_on(const char *name, struct elog_tailstate *st, int from_end)
{
	struct elog_tailer_opts o = { 0 };
	struct elog_tailer *t = NULL;
	struct elog_err err;
	char p[512];
	const char *pats[1];

	path_of(p, sizeof(p), name);
	pats[0] = p;
	o.from_end = from_end;
	o.partial_delay_ns = 2 * SEC;
	o.rotate_grace_ns = 1 * SEC;
	o.reglob_ns = 1 * SEC;
	CHECK_INT(elog_tailer_new(&t, pats, 1, &o, st, &err), 0);
	return t;
}

/* Rotation by rename: app.log -> app.log.1, a new app.log. What the writer still appends to
 * the renamed file comes before anything of the new file, which waits until the old one has
 * not grown for rotate_grace_ns of the injected clock; then the old file is closed. */
static void test_rotation_by_rename(void)
{
	struct seen s = { 0 };
	struct elog_tailer *t;
	char a[512], b[512];
	int fd;

	mk_tmpdir();
	append("app.log", "one\ntwo\n");
	t = tailer_on("app.log", NULL, 0);
	poll_at(t, 100 * SEC, &s);
	CHECK_STR(s.text, "L app.log one 0-4\nL app.log two 4-8\n");

	/* the writer keeps its descriptor: it appends to the renamed file */
	path_of(a, sizeof(a), "app.log");
	path_of(b, sizeof(b), "app.log.1");
	fd = open(a, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	CHECK_INT(rename(a, b), 0);
	append("app.log", "new-1\n");
	CHECK_INT(write(fd, "three\n", 6), 6);
	seen_reset(&s);
	poll_at(t, 100 * SEC + SEC / 10, &s);
	/* the old file is drained (it still has the path app.log for the tailer), the new one
	 * waits for it */
	CHECK_STR(s.text, "L app.log three 8-14\n");
	CHECK_INT(write(fd, "four\n", 5), 5);
	close(fd);
	seen_reset(&s);
	poll_at(t, 100 * SEC + SEC / 2, &s);
	CHECK_STR(s.text, "L app.log four 14-19\n");
	/* half a second later nothing changed: the grace has not passed, the new file waits */
	seen_reset(&s);
	poll_at(t, 101 * SEC, &s);
	CHECK_STR(s.text, "");
	/* a second after its last growth the old file closes; the new one is read */
	poll_at(t, 101 * SEC + SEC / 2 + 1, &s);
	CHECK_STR(s.text, "L app.log new-1 0-6\n");
	seen_reset(&s);
	append("app.log", "new-2\n");
	poll_at(t, 102 * SEC, &s);
	CHECK_STR(s.text, "L app.log new-2 6-12\n");
	elog_tailer_free(t);
	rm_tmpdir();
}

/* copytruncate: the file is copied away and truncated in place. The tailer reports the
 * truncation, then reads the file again from its start under the next generation (":g1"), so
 * that the offsets of the old content are never applied to the new. */
static void test_copytruncate(void)
{
	struct seen s = { 0 };
	struct elog_tailstate *st = NULL;
	struct elog_tailer *t;
	struct elog_tail_row row;
	struct elog_err err;
	char p[512], state[512];
	char ident0[96];
	uint64_t dev, ino;

	mk_tmpdir();
	path_of(state, sizeof(state), "state.db");
	CHECK_INT(elog_tailstate_open(&st, state, &err), 0);
	append("app.log", "alpha\nbeta\n");
	t = tailer_on("app.log", st, 0);
	poll_at(t, 10 * SEC, &s);
	CHECK_STR(s.text, "L app.log alpha 0-6\nL app.log beta 6-11\n");
	CHECK_INT(s.last_gen, 0);
	snprintf(ident0, sizeof(ident0), "%s", s.last_ident);
	dev = s.last_dev;
	ino = s.last_ino;
	CHECK_INT(elog_tailstate_advance(st, dev, ino, 0, 11, &err), 0);

	path_of(p, sizeof(p), "app.log");
	CHECK_INT(truncate(p, 0), 0);
	append("app.log", "gamma\n");
	seen_reset(&s);
	poll_at(t, 11 * SEC, &s);
	CHECK_STR(s.text, "T app.log 11\nL app.log gamma 0-6\n");
	CHECK_INT(s.last_gen, 1);
	CHECK(strstr(s.last_ident, ":g1") != NULL);
	CHECK(strcmp(s.last_ident, ident0) != 0);
	CHECK_INT(s.last_ino, ino);
	/* the state has the new generation from its start: an advance for generation 0 is void */
	CHECK_INT(elog_tailstate_get(st, dev, ino, &row, &err), 1);
	CHECK_INT(row.gen, 1);
	CHECK_INT(row.offset, 0);
	CHECK_INT(elog_tailstate_advance(st, dev, ino, 0, 11, &err), 0);
	CHECK_INT(elog_tailstate_get(st, dev, ino, &row, &err), 1);
	CHECK_INT(row.offset, 0);

	/* a truncation to a shorter content that keeps growing past the old size is one too */
	CHECK_INT(elog_tailstate_advance(st, dev, ino, 1, 6, &err), 0);
	CHECK_INT(truncate(p, 0), 0);
	append("app.log", "delta-longer-than-before\n");
	seen_reset(&s);
	poll_at(t, 12 * SEC, &s);
	CHECK_STR(s.text, "T app.log 6\nL app.log delta-longer-than-before 0-25\n");
	CHECK_INT(s.last_gen, 2);
	elog_tailer_free(t);
	elog_tailstate_close(st);
	rm_tmpdir();
}

/* A last line without newline waits: it is sent (flagged partial) once the file has not
 * grown for partial_delay_ns of the injected clock, and what follows it starts after it. */
static void test_partial_line_after_quiet_time(void)
{
	struct seen s = { 0 };
	struct elog_tailer *t;

	mk_tmpdir();
	append("p.log", "whole\nhalf");
	t = tailer_on("p.log", NULL, 0);
	poll_at(t, 50 * SEC, &s);
	CHECK_STR(s.text, "L p.log whole 0-6\n");
	poll_at(t, 51 * SEC, &s);          /* one second: still waiting */
	CHECK_STR(s.text, "L p.log whole 0-6\n");
	seen_reset(&s);
	poll_at(t, 52 * SEC, &s);          /* two seconds without growth */
	CHECK_STR(s.text, "L p.log half 6-10 p\n");
	seen_reset(&s);
	append("p.log", "-more\nnext\n");
	poll_at(t, 53 * SEC, &s);
	CHECK_STR(s.text, "L p.log -more 10-16\nL p.log next 16-21\n");
	elog_tailer_free(t);
	rm_tmpdir();
}

/* Restart: a new tailer over the same state database starts each known file at the offset
 * saved for it (the acknowledged lines are not read again, the others are), even with
 * from_end; a file it has never seen starts at its end with from_end, at its start without. */
static void test_restart_from_saved_offsets(void)
{
	struct seen s = { 0 };
	struct elog_tailstate *st = NULL;
	struct elog_tailer *t;
	struct elog_err err;
	char state[512];
	uint64_t dev, ino;

	mk_tmpdir();
	path_of(state, sizeof(state), "state.db");
	CHECK_INT(elog_tailstate_open(&st, state, &err), 0);
	append("r.log", "l1\nl2\nl3\n");
	t = tailer_on("r.log", st, 0);
	poll_at(t, 5 * SEC, &s);
	CHECK_STR(s.text, "L r.log l1 0-3\nL r.log l2 3-6\nL r.log l3 6-9\n");
	dev = s.last_dev;
	ino = s.last_ino;
	/* only l1 and l2 were acknowledged when tail stopped */
	CHECK_INT(elog_tailstate_advance(st, dev, ino, 0, 6, &err), 0);
	elog_tailer_free(t);
	elog_tailstate_close(st);
	st = NULL;

	append("r.log", "l4\n");
	CHECK_INT(elog_tailstate_open(&st, state, &err), 0);
	t = tailer_on("r.log", st, 1);
	seen_reset(&s);
	poll_at(t, 1000 * SEC, &s);
	CHECK_STR(s.text, "L r.log l3 6-9\nL r.log l4 9-12\n");
	elog_tailer_free(t);

	/* a file the state does not know starts at its end with from_end */
	append("fresh.log", "old-1\nold-2\n");
	t = tailer_on("fresh.log", st, 1);
	seen_reset(&s);
	poll_at(t, 1001 * SEC, &s);
	CHECK_STR(s.text, "");
	append("fresh.log", "new\n");
	poll_at(t, 1002 * SEC, &s);
	CHECK_STR(s.text, "L fresh.log new 12-16\n");
	elog_tailer_free(t);

	/* the state's fingerprint no longer matches (the inode holds other content): start over
	 * under the next generation */
	{
		char p[512];

		path_of(p, sizeof(p), "r.log");
		CHECK_INT(truncate(p, 0), 0);
		append("r.log", "X1\n");
	}
	t = tailer_on("r.log", st, 1);
	seen_reset(&s);
	poll_at(t, 1003 * SEC, &s);
	CHECK_STR(s.text, "L r.log X1 0-3\n");
	CHECK_INT(s.last_gen, 1);
	elog_tailer_free(t);
	elog_tailstate_close(st);
	rm_tmpdir();
}

/* A path that names no file yet is reported once, then followed from its start when it
 * appears (the next scan, a reglob_ns of the injected clock later for a glob). */
static void test_file_that_appears_later(void)
{
	struct seen s = { 0 };
	struct elog_tailer_opts o = { 0 };
	struct elog_tailer *t = NULL;
	struct elog_err err;
	char pat[512];
	const char *pats[1];

	mk_tmpdir();
	path_of(pat, sizeof(pat), "*.log");
	pats[0] = pat;
	o.reglob_ns = 10 * SEC;
	CHECK_INT(elog_tailer_new(&t, pats, 1, &o, NULL, &err), 0);
	poll_at(t, 1 * SEC, &s);
	CHECK_STR(s.text, "W no file matches\n");
	append("late.log", "hello\n");
	seen_reset(&s);
	poll_at(t, 5 * SEC, &s);           /* before the next glob: not seen yet */
	CHECK_STR(s.text, "");
	poll_at(t, 11 * SEC, &s);
	CHECK_STR(s.text, "L late.log hello 0-6\n");
	elog_tailer_free(t);
	rm_tmpdir();
}

UNIT_MAIN(
	{ "rotation_by_rename", test_rotation_by_rename },
	{ "copytruncate", test_copytruncate },
	{ "partial_line_after_quiet_time", test_partial_line_after_quiet_time },
	{ "restart_from_saved_offsets", test_restart_from_saved_offsets },
	{ "file_that_appears_later", test_file_that_appears_later }
)
