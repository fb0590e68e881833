/*
 * tailer.c — following files by polling (see tailer.h).
 *
 * Each poll: expand the globs again when due, stat every path, open files not seen before
 * (oldest modification first, so rotated files come before their successors), then read what
 * each open file gained, in the order the files were opened. A file that is no longer found at
 * any watched path (renamed away, deleted) is an orphan: it is drained, and closed once it has
 * not grown for rotate_grace_ns; a new file at an orphan's path waits until the orphan closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "client/tailer.h"
#include "client/tailstate.h"
#include "common/record.h"
#include "common/err.h"
#include "common/util.h"

#define FP_MAX 256
#define CHUNK (64 * 1024)

struct tfile {
	struct tfile *next;
	int fd;
	uint64_t dev, ino;
	int64_t gen;
	int identified;      /* fingerprint fixed, position known */
	int force_new;       /* after a truncation: the next identity is a new generation */
	int initial;         /* found by the first scan */
	int watched;         /* found at a watched path by the last scan */
	int64_t fplen;
	uint64_t fp;
	char ident[96];
	char *path, *component;
	int64_t pos;         /* next byte to read */
	int64_t line_start;  /* offset of the first byte of the buffered line */
	struct elog_buf line;
	int cut;
	int64_t last_growth_ns;
};

struct candidate {
	char *path;
	struct stat st;
};

struct elog_tailer {
	char **patterns;
	size_t npat;
	char **paths;
	size_t npaths;
	int64_t next_glob_ns;
	struct tfile *files;
	struct elog_tailer_opts o;
	struct elog_tailstate *st;
	int scanned;
	int *pfound;           /* pattern i has named a regular file once */
	const char **pwhy;     /* pattern i names no file: why (to report), or NULL */
	int *pnoted;           /* pattern i's reason was reported */
	char buf[CHUNK];
};

/* Hash of the first n bytes of fd; -1 when the file is shorter. */
static int head_hash(int fd, int64_t n, uint64_t *out)
{
	char buf[FP_MAX];
	ssize_t got;

	if (n <= 0 || n > FP_MAX)
		return -1;
	got = pread(fd, buf, (size_t)n, 0);
	if (got != n)
		return -1;
	*out = elog_fnv1a64(buf, (size_t)n);
	return 0;
}

/* "app.log.1" -> "app": strips numeric and compression suffixes, then one extension. */
static char *component_of(const char *path)
{
	const char *base = strrchr(path, '/');
	char *c, *dot;

	c = xstrdup(base ? base + 1 : path);
	for (;;) {
		dot = strrchr(c, '.');
		if (!dot || dot == c)
			break;
		if (dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1))
			*dot = 0;
		else if (strcmp(dot, ".gz") == 0 || strcmp(dot, ".old") == 0)
			*dot = 0;
		else
			break;
	}
	dot = strrchr(c, '.');
	if (dot && dot != c)
		*dot = 0;
	return c;
}

int elog_tailer_new(struct elog_tailer **out, const char *const *patterns, size_t n,
		    const struct elog_tailer_opts *o, struct elog_tailstate *st,
		    struct elog_err *err)
{
	struct elog_tailer *t = xcalloc(1, sizeof(*t));
	size_t i;

	(void)err;
	t->patterns = xcalloc(n ? n : 1, sizeof(char *));
	for (i = 0; i < n; i++)
		t->patterns[i] = xstrdup(patterns[i]);
	t->npat = n;
	t->pfound = xcalloc(n ? n : 1, sizeof(int));
	t->pnoted = xcalloc(n ? n : 1, sizeof(int));
	t->pwhy = xcalloc(n ? n : 1, sizeof(char *));
	if (o)
		t->o = *o;
	if (t->o.partial_delay_ns <= 0)
		t->o.partial_delay_ns = 2000000000LL;
	if (t->o.rotate_grace_ns <= 0)
		t->o.rotate_grace_ns = 1000000000LL;
	if (t->o.reglob_ns <= 0)
		t->o.reglob_ns = 1000000000LL;
	t->st = st;
	*out = t;
	return 0;
}

static void free_paths(struct elog_tailer *t)
{
	size_t i;

	for (i = 0; i < t->npaths; i++)
		free(t->paths[i]);
	free(t->paths);
	t->paths = NULL;
	t->npaths = 0;
}

static void add_path(struct elog_tailer *t, const char *p, size_t *cap)
{
	size_t i;

	for (i = 0; i < t->npaths; i++)
		if (strcmp(t->paths[i], p) == 0)
			return;
	if (t->npaths == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		t->paths = xrealloc(t->paths, *cap * sizeof(char *));
	}
	t->paths[t->npaths++] = xstrdup(p);
}

static void expand(struct elog_tailer *t)
{
	size_t i, cap = 0;

	free_paths(t);
	for (i = 0; i < t->npat; i++) {
		const char *p = t->patterns[i];
		glob_t g;
		size_t k;

		if (!strpbrk(p, "*?[")) {
			add_path(t, p, &cap);
			continue;
		}
		memset(&g, 0, sizeof(g));
		if (glob(p, 0, NULL, &g) == 0)
			for (k = 0; k < g.gl_pathc; k++)
				add_path(t, g.gl_pathv[k], &cap);
		globfree(&g);
	}
}

/* For each pattern that has never named a regular file: why it names none now. */
static void check_patterns(struct elog_tailer *t)
{
	size_t i, k;

	for (i = 0; i < t->npat; i++) {
		const char *p = t->patterns[i];
		struct stat st;
		glob_t g;
		int any = 0, reg = 0;

		if (t->pfound[i])
			continue;
		t->pwhy[i] = NULL;
		if (!strpbrk(p, "*?[")) {
			if (stat(p, &st) != 0)
				t->pwhy[i] = errno == ENOENT || errno == ENOTDIR ? "no such file"
										 : strerror(errno);
			else if (S_ISREG(st.st_mode))
				t->pfound[i] = 1;
			else if (S_ISDIR(st.st_mode))
				t->pwhy[i] = "is a directory";
			else
				t->pwhy[i] = "is not a regular file";
			continue;
		}
		memset(&g, 0, sizeof(g));
		if (glob(p, 0, NULL, &g) == 0) {
			for (k = 0; k < g.gl_pathc; k++) {
				any = 1;
				if (stat(g.gl_pathv[k], &st) == 0 && S_ISREG(st.st_mode))
					reg = 1;
			}
		}
		globfree(&g);
		if (reg)
			t->pfound[i] = 1;
		else
			t->pwhy[i] = any ? "matches no regular file" : "no file matches";
	}
}

static int by_mtime(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;

	if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
		return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? -1 : 1;
	if (x->st.st_mtim.tv_nsec != y->st.st_mtim.tv_nsec)
		return x->st.st_mtim.tv_nsec < y->st.st_mtim.tv_nsec ? -1 : 1;
	return strcmp(x->path, y->path);
}

static struct tfile *find_file(struct elog_tailer *t, uint64_t dev, uint64_t ino)
{
	struct tfile *f;

	for (f = t->files; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

static void scan(struct elog_tailer *t, int64_t now)
{
	struct candidate *cand = NULL;
	struct tfile *f, **tail;
	size_t i, nc = 0;

	if (now >= t->next_glob_ns || !t->scanned) {
		expand(t);
		check_patterns(t);
		t->next_glob_ns = now + t->o.reglob_ns;
	}
	for (f = t->files; f; f = f->next)
		f->watched = 0;
	for (i = 0; i < t->npaths; i++) {
		struct stat st;

		if (stat(t->paths[i], &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		f = find_file(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		if (f) {
			if (!f->watched && strcmp(f->path, t->paths[i]) != 0) {
				free(f->path);
				f->path = xstrdup(t->paths[i]);
			}
			f->watched = 1;
			continue;
		}
		cand = xrealloc(cand, (nc + 1) * sizeof(*cand));
		cand[nc].path = t->paths[i];
		cand[nc].st = st;
		nc++;
	}
	if (nc > 1)
		qsort(cand, nc, sizeof(*cand), by_mtime);
	for (tail = &t->files; *tail; tail = &(*tail)->next)
		;
	for (i = 0; i < nc; i++) {
		struct stat st;
		int fd = open(cand[i].path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || find_file(t, (uint64_t)st.st_dev, (uint64_t)st.st_ino)) {
			close(fd);
			continue;
		}
		f = xcalloc(1, sizeof(*f));
		f->fd = fd;
		f->dev = (uint64_t)st.st_dev;
		f->ino = (uint64_t)st.st_ino;
		f->path = xstrdup(cand[i].path);
		f->component = component_of(cand[i].path);
		f->initial = !t->scanned;
		f->watched = 1;
		f->last_growth_ns = now;
		*tail = f;
		tail = &f->next;
	}
	free(cand);
	t->scanned = 1;
}

static void set_ident(struct tfile *f)
{
	if (f->gen > 0)
		snprintf(f->ident, sizeof(f->ident), "%llu:%llu:%016llx:g%lld",
			 (unsigned long long)f->dev, (unsigned long long)f->ino,
			 (unsigned long long)f->fp, (long long)f->gen);
	else
		snprintf(f->ident, sizeof(f->ident), "%llu:%llu:%016llx",
			 (unsigned long long)f->dev, (unsigned long long)f->ino,
			 (unsigned long long)f->fp);
}

/* Fixes the identity of a non-empty file and where to start reading it. */
static int identify(struct elog_tailer *t, struct tfile *f, int64_t size, struct elog_err *err)
{
	struct elog_tail_row row;
	uint64_t h;
	int found = 0, rc;

	if (t->st) {
		found = elog_tailstate_get(t->st, f->dev, f->ino, &row, err);
		if (found < 0)
			return found;
	}
	if (found && !f->force_new && row.fplen > 0 && row.fplen <= size &&
	    head_hash(f->fd, row.fplen, &h) == 0 && h == row.fp && row.offset <= size) {
		f->gen = row.gen;
		f->fplen = row.fplen;
		f->fp = row.fp;
		f->pos = row.offset;
	} else {
		int64_t gen = found ? row.gen + 1 : 0;

		if (f->force_new && gen <= f->gen)
			gen = f->gen + 1;
		f->gen = gen;
		f->fplen = size < FP_MAX ? size : FP_MAX;
		if (head_hash(f->fd, f->fplen, &f->fp) != 0)
			return 0;   /* shrank meanwhile: try again next poll */
		f->pos = f->initial && t->o.from_end && !found ? size : 0;
		row.dev = f->dev;
		row.ino = f->ino;
		row.gen = f->gen;
		row.fplen = f->fplen;
		row.fp = f->fp;
		row.offset = f->pos;
		if (t->st && (rc = elog_tailstate_put(t->st, &row, f->path, err)) != 0)
			return rc;
	}
	f->line_start = f->pos;
	f->identified = 1;
	f->force_new = 0;
	set_ident(f);
	return 0;
}

static void fill_event(struct elog_tail_event *ev, struct tfile *f, enum elog_tail_kind kind)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->path = f->path;
	ev->component = f->component;
	ev->ident = f->ident;
	ev->dev = f->dev;
	ev->ino = f->ino;
	ev->gen = f->gen;
}

/* Hands the buffered line to fn as [line_start, end). */
static int emit_line(struct tfile *f, int64_t end, int partial,
		     int (*fn)(void *, const struct elog_tail_event *), void *ctx)
{
	struct elog_tail_event ev;
	int rc;

	fill_event(&ev, f, ELOG_TAIL_LINE);
	ev.offset = f->line_start;
	ev.end = end;
	ev.data = f->line.data ? f->line.data : "";
	ev.len = f->line.len;
	ev.cut = f->cut;
	ev.partial = partial;
	if (!ev.cut && ev.len > 0 && ev.data[ev.len - 1] == '\r')
		ev.len--;
	rc = fn(ctx, &ev);
	elog_buf_reset(&f->line);
	f->cut = 0;
	f->line_start = end;
	return rc;
}

/* Splits buf[0..n) (read at f->pos) into lines. */
static int take_bytes(struct tfile *f, const char *buf, size_t n,
		      int (*fn)(void *, const struct elog_tail_event *), void *ctx)
{
	size_t i = 0;
	int rc;

	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t seg = nl ? (size_t)(nl - (buf + i)) : n - i;

		if (!f->cut) {
			size_t room = ELOG_MAX_LINE - f->line.len;

			if (seg > room) {
				elog_buf_add(&f->line, buf + i, room);
				f->cut = 1;
			} else {
				elog_buf_add(&f->line, buf + i, seg);
			}
		}
		i += seg;
		if (nl) {
			i++;
			rc = emit_line(f, f->pos + (int64_t)i, 0, fn, ctx);
			if (rc)
				return rc;
		}
	}
	f->pos += (int64_t)n;
	return 0;
}

static void close_file(struct tfile *f)
{
	close(f->fd);
	elog_buf_release(&f->line);
	free(f->path);
	free(f->component);
	free(f);
}

/* True when an orphan still open was last seen at f's path (f must wait for it). */
static int waits_for_orphan(struct elog_tailer *t, struct tfile *f)
{
	struct tfile *g;

	for (g = t->files; g && g != f; g = g->next)
		if (!g->watched && strcmp(g->path, f->path) == 0)
			return 1;
	return 0;
}

/*
 * Reads what f gained. Returns 0, 1 when the budget ran out, 2 when f is done (an orphan
 * drained: the caller closes it), fn's non-zero value, or a negative code.
 */
static int read_file(struct elog_tailer *t, struct tfile *f, int64_t now, size_t *budget,
		     int (*fn)(void *, const struct elog_tail_event *), void *ctx,
		     struct elog_err *err)
{
	struct stat st;
	int rc, truncated = 0;
	uint64_t h;

	if (fstat(f->fd, &st) != 0)
		return elog_err_set(err, ELOG_EIO, "cannot stat '%s': %s", f->path, strerror(errno));
	if (f->identified) {
		if (st.st_size < f->pos || st.st_size < f->fplen)
			truncated = 1;
		else if (head_hash(f->fd, f->fplen, &h) != 0 || h != f->fp)
			truncated = 1;
	}
	if (truncated) {
		struct elog_tail_event ev;

		if (f->line.len > 0 || f->cut) {
			rc = emit_line(f, f->pos, 1, fn, ctx);
			if (rc)
				return rc;
		}
		fill_event(&ev, f, ELOG_TAIL_TRUNCATED);
		ev.offset = ev.end = f->pos;
		rc = fn(ctx, &ev);
		if (rc)
			return rc;
		f->identified = 0;
		f->force_new = 1;
		f->initial = 0;
		f->pos = f->line_start = 0;
		f->last_growth_ns = now;
	}
	if (!f->identified && st.st_size > 0) {
		rc = identify(t, f, st.st_size, err);
		if (rc)
			return rc;
	}
	if (f->identified) {
		while (*budget > 0) {
			size_t want = *budget < CHUNK ? *budget : CHUNK;
			ssize_t n = pread(f->fd, t->buf, want, f->pos);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return elog_err_set(err, ELOG_EIO, "cannot read '%s': %s", f->path,
						    strerror(errno));
			if (n == 0)
				break;
			*budget -= (size_t)n;
			f->last_growth_ns = now;
			rc = take_bytes(f, t->buf, (size_t)n, fn, ctx);
			if (rc)
				return rc;
		}
		if (*budget == 0)
			return 1;
	}
	if ((f->line.len > 0 || f->cut) &&
	    (now - f->last_growth_ns >= t->o.partial_delay_ns ||
	     (!f->watched && now - f->last_growth_ns >= t->o.rotate_grace_ns))) {
		rc = emit_line(f, f->pos, 1, fn, ctx);
		if (rc)
			return rc;
	}
	if (!f->watched && now - f->last_growth_ns >= t->o.rotate_grace_ns) {
		if (st.st_nlink == 0 && f->identified) {
			struct elog_tail_event ev;

			fill_event(&ev, f, ELOG_TAIL_GONE);
			ev.offset = ev.end = f->pos;
			rc = fn(ctx, &ev);
			if (rc)
				return rc;
		}
		return 2;
	}
	return 0;
}

int elog_tailer_poll(struct elog_tailer *t, int64_t now_ns, size_t max_bytes,
		     int (*fn)(void *ctx, const struct elog_tail_event *ev), void *ctx,
		     struct elog_err *err)
{
	struct tfile **pf;
	size_t budget = max_bytes ? max_bytes : 1;
	int more = 0;
	size_t i;

	scan(t, now_ns);
	for (i = 0; i < t->npat; i++) {
		struct elog_tail_event ev;
		int rc;

		if (t->pfound[i] || !t->pwhy[i] || t->pnoted[i])
			continue;
		t->pnoted[i] = 1;
		memset(&ev, 0, sizeof(ev));
		ev.kind = ELOG_TAIL_WAITING;
		ev.path = t->patterns[i];
		ev.data = t->pwhy[i];
		ev.len = strlen(t->pwhy[i]);
		if ((rc = fn(ctx, &ev)) != 0)
			return rc;
	}
	pf = &t->files;
	while (*pf) {
		struct tfile *f = *pf;
		int rc;

		if (f->watched && waits_for_orphan(t, f)) {
			pf = &f->next;
			continue;
		}
		rc = read_file(t, f, now_ns, &budget, fn, ctx, err);
		if (rc == 2) {
			*pf = f->next;
			close_file(f);
			continue;
		}
		if (rc == 1) {
			more = 1;
			break;
		}
		if (rc)
			return rc;
		pf = &f->next;
	}
	return more;
}


void elog_tailer_free(struct elog_tailer *t)
{
	size_t i;

	if (!t)
		return;
	while (t->files) {
		struct tfile *f = t->files;

		t->files = f->next;
		close_file(f);
	}
	for (i = 0; i < t->npat; i++)
		free(t->patterns[i]);
	free(t->patterns);
	free(t->pfound);
	free(t->pnoted);
	free(t->pwhy);
	free_paths(t);
	free(t);
}
