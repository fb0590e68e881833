/*
 * sessionlog.c — per-session log files: a few writer threads shared by every session, a
 * sweeper that wakes sessions at their deadlines (fsync, age and idle rotation, closing), a
 * bound on open files (the least recently written session's file is closed), and a compressor
 * thread for rotated files. See sessionlog.h for the promises.
 *
 * Scheduling: a session with work is put on the run queue (kick); a writer takes it, marks it
 * running, does everything due (write, fsync, rotate, close), stores its next deadline and
 * lets it go. One session is run by one thread at a time: whoever set s->running (a writer,
 * or a writer evicting another session's file) owns the session's file state (fd, size,
 * first/last seq, line count, wbuf), and only the owner may free it. Kicks while it runs need
 * nothing: the owner looks at every condition again, under s->mu, before it lets go.
 *
 * Locks, in order: sl->mu (the session table) before sl->lru_mu (the open-file list) before
 * s->mu (a session's queue, counters and flags) before sl->rq_mu (the run queue).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <openssl/sha.h>

#include "server/sessionlog.h"
#include "common/err.h"
#include "common/util.h"

#define DEF_MAX_SIZE (64LL * 1024 * 1024)
#define DEF_MAX_AGE (3600LL * NS_PER_S)
#define DEF_IDLE (300LL * NS_PER_S)
#define DEF_FLUSH (200LL * NS_PER_MS)
#define DEF_QUEUE_MAX 65536
#define DEF_QUEUE_BYTES ((size_t)64 * 1024 * 1024)
#define STEM_MAX 96
#define TIME_LEN 26            /* YYYYMMDDTHHMMSS.nnnnnnnnnZ */
#define WBUF_FLUSH (1024 * 1024)
#define NBUCKETS 256
#define NWORKERS 4               /* writer threads shared by all sessions */
#define DEF_MAX_SESSIONS 4096
#define DEF_MAX_OPEN 256
#define SWEEP_MAX (1000LL * NS_PER_MS)   /* the sweeper looks at least this often */
#define SWEEP_MIN (10LL * NS_PER_MS)     /* and at most this often, unless a deadline says so */
#define ROOM_WAIT (2000LL * NS_PER_MS)   /* how long a new session waits for room */
#define RUN_BUDGET 8             /* steps a writer gives a session before others waiting */

enum { S_LOADING, S_READY, S_CLOSING };

/* A queued line: data[0..head) + seq + data[head..head+tail). */
struct slog_item {
	struct slog_item *next;
	int64_t seq;
	size_t head, tail;
	char data[];
};

struct elog_slog_session {
	struct elog_sessionlog *sl;
	struct elog_slog_session *next;   /* bucket chain, under sl->mu */
	char *id;
	char *stem;
	int state;                        /* under sl->mu */

	pthread_mutex_t mu;
	pthread_cond_t done;              /* elog_slog_sync waits here */
	struct elog_slog_session *rq_next;   /* the run queue, under sl->rq_mu */
	struct elog_slog_session *lru_prev, *lru_next;   /* open files, under sl->lru_mu */
	int in_lru;                       /* under sl->lru_mu */
	int queued, running, again;       /* under s->mu */
	int drop;                         /* close now, not rotated (make_room); under s->mu */
	int64_t deadline;                 /* monotonic; when the sweeper kicks it; under s->mu */
	struct slog_item *head, *tail;
	size_t qbytes;
	uint64_t enq, written, durable;   /* frame counts: queued ever, written, fsynced */
	int64_t max_seq;
	int64_t last_activity;            /* monotonic */
	int refs;
	int sync_req;
	int stop;
	int failed;
	char failmsg[512];

	/* the owner's (see above) */
	int fd;
	int64_t size, first_seq, last_seq;
	uint64_t nlines;
	int64_t opened;                   /* monotonic */
	int64_t last_fsync;               /* monotonic */
	struct elog_buf wbuf;
};

struct cjob {
	struct cjob *next;
	char *name;                       /* rotated file (relative); NULL: retention only */
	char *stem;
	char *id;                         /* the session id; NULL when not known */
};

struct elog_sessionlog {
	struct elog_slog_opts o;
	char *dir;
	int dirfd;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct elog_slog_session *buckets[NBUCKETS];
	size_t nsessions;                 /* in the table, loading ones included */
	int closing;

	/* writers and the sweeper */
	pthread_mutex_t rq_mu;
	pthread_cond_t rq_cv;             /* writers wait here */
	pthread_cond_t sweep_cv;          /* CLOCK_MONOTONIC; the sweeper waits here */
	struct elog_slog_session *rq_head, *rq_tail;
	int wstop;
	pthread_t workers[NWORKERS];
	int nworkers;
	int64_t sweep_at;                 /* when the sweeper wakes; under rq_mu */
	pthread_t sweeper;
	int sweeper_started;

	/* open files, most recently written first */
	pthread_mutex_t lru_mu;
	struct elog_slog_session *lru_head, *lru_tail;
	size_t nopen, nopen_peak;         /* changed under lru_mu; nopen also read atomically */

	pthread_t cth;
	int cth_started;
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	struct cjob *jhead, *jtail;
	int cstop;

	uint64_t rotations, compressed, compress_failures, removed, evictions;   /* atomics */
};

/* ---- names ------------------------------------------------------------------------------- */

static int safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

void elog_slog_file_name(struct elog_buf *out, const char *id, size_t n)
{
	static const char hex[] = "0123456789abcdef", HEX[] = "0123456789ABCDEF";
	size_t start = out->len, i, enc = 0, cut = 0;
	unsigned char md[SHA256_DIGEST_LENGTH];

	for (i = 0; i < n; i++)
		enc += (safe_byte((unsigned char)id[i]) && !(i == 0 && id[i] == '.')) ? 1 : 3;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		size_t w = (safe_byte(c) && !(i == 0 && c == '.')) ? 1 : 3;

		if (enc > STEM_MAX && out->len - start + w > STEM_MAX - 1 - 2 * SHA256_DIGEST_LENGTH)
			break;
		if (w == 1) {
			elog_buf_addc(out, (char)c);
		} else {
			elog_buf_addc(out, '%');
			elog_buf_addc(out, HEX[c >> 4]);
			elog_buf_addc(out, HEX[c & 15]);
		}
		cut = i + 1;
	}
	if (cut < n || enc > STEM_MAX) {
		/* '~' is never emitted by the encoding above, so hashed stems stand apart */
		SHA256((const unsigned char *)id, n, md);
		elog_buf_addc(out, '~');
		for (i = 0; i < sizeof(md); i++) {
			elog_buf_addc(out, hex[md[i] >> 4]);
			elog_buf_addc(out, hex[md[i] & 15]);
		}
	}
}

void elog_slog_rotated_name(struct elog_buf *out, const char *stem, int64_t ns, int64_t first,
			    int64_t last)
{
	time_t sec = (time_t)(ns / NS_PER_S);
	long frac = (long)(ns % NS_PER_S);
	struct tm tm;

	if (frac < 0) {
		frac += NS_PER_S;
		sec--;
	}
	gmtime_r(&sec, &tm);
	elog_buf_addf(out, "%s.%04d%02d%02dT%02d%02d%02d.%09ldZ.%lld-%lld.log", stem,
		      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		      tm.tm_sec, frac, (long long)first, (long long)last);
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 19)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/*
 * Parses "<stem>.<time>.<first>-<last>.log[.gz]" from the right; sets *stemlen. Returns 1 or 0.
 * The time is fixed-width and the range holds no '.', so the split is unique.
 */
static int parse_rotated_any(const char *name, size_t *stemlen, int64_t *first, int64_t *last,
			     int *gz)
{
	size_t n = strlen(name), i, dash;
	const char *range, *t;
	static const char pat[] = "ddddddddTdddddd.dddddddddZ";
	int64_t a, b;

	*gz = 0;
	if (n > 3 && strcmp(name + n - 3, ".gz") == 0) {
		*gz = 1;
		n -= 3;
	}
	if (n < 4 || memcmp(name + n - 4, ".log", 4) != 0)
		return 0;
	n -= 4;
	i = n;
	while (i > 0 && name[i - 1] != '.')
		i--;
	if (i == 0)
		return 0;
	range = name + i;
	/* first-last, each with an optional sign */
	dash = (range[0] == '-') ? 1 : 0;
	while (i + dash < n && range[dash] != '-')
		dash++;
	if (i + dash >= n || parse_i64(range, dash, &a) != 0 ||
	    parse_i64(range + dash + 1, n - i - dash - 1, &b) != 0)
		return 0;
	/* name[i-1] is '.', the time ends before it */
	if (i - 1 < TIME_LEN + 2)
		return 0;
	t = name + i - 1 - TIME_LEN;
	for (size_t k = 0; k < TIME_LEN; k++) {
		char p = pat[k];

		if (p == 'd' ? (t[k] < '0' || t[k] > '9') : t[k] != p)
			return 0;
	}
	if (t[-1] != '.')
		return 0;
	*stemlen = (size_t)(t - 1 - name);
	if (first)
		*first = a;
	if (last)
		*last = b;
	return *stemlen > 0;
}

int elog_slog_parse_rotated(const char *name, const char *stem, int64_t *first, int64_t *last,
			    int *gz)
{
	size_t sn;
	int g;

	if (!parse_rotated_any(name, &sn, first, last, &g))
		return 0;
	if (sn != strlen(stem) || memcmp(name, stem, sn) != 0)
		return 0;
	if (gz)
		*gz = g;
	return 1;
}

/* ---- small I/O helpers --------------------------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int mkdir_p(const char *path)
{
	char *p = xstrdup(path), *q;
	int rc = 0;

	for (q = p + 1; *q; q++) {
		if (*q != '/')
			continue;
		*q = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*q = '/';
	}
	if (rc == 0 && mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

static void stat_add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Files in the log directory are opened with these: a symbolic link planted there is never
 * followed (ELOOP), and a FIFO never blocks an open (ENXIO without a reader). */
#define DIR_OPEN_FLAGS (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

static const char *errtext(int e)
{
	return e == ELOOP ? "it is a symbolic link (refused)" :
	       e == EINVAL ? "not a regular file (refused)" : strerror(e);
}

/* openat in the log directory, refusing links and anything but a regular file. */
static int dir_open(struct elog_sessionlog *sl, const char *name, int flags, struct stat *st)
{
	struct stat tmp;
	int fd = openat(sl->dirfd, name, flags | DIR_OPEN_FLAGS, 0600);

	if (!st)
		st = &tmp;
	if (fd < 0)
		return -1;
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		int e = S_ISREG(st->st_mode) ? errno : EINVAL;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- the compressor -------------------------------------------------------------------------- */

static void queue_job(struct elog_sessionlog *sl, const char *name, const char *stem,
		      const char *id)
{
	struct cjob *j = xcalloc(1, sizeof(*j));

	j->name = name ? xstrdup(name) : NULL;
	j->stem = xstrdup(stem);
	j->id = id ? xstrdup(id) : NULL;
	pthread_mutex_lock(&sl->cmu);
	if (sl->jtail)
		sl->jtail->next = j;
	else
		sl->jhead = j;
	sl->jtail = j;
	pthread_cond_signal(&sl->ccv);
	pthread_mutex_unlock(&sl->cmu);
}

/* gzips name to name.gz via name.gz.tmp (fsynced, renamed), then removes name. 0 or -1;
 * a missing name (removed by retention) counts as done (*gzbytes stays -1 then). */
static int gzip_file(struct elog_sessionlog *sl, const char *name, int64_t *gzbytes,
		     int64_t *rawbytes)
{
	struct stat st;
	struct elog_buf tmp = ELOG_BUF_INIT, fin = ELOG_BUF_INIT;
	unsigned char in[65536], out[65536];
	z_stream z;
	int src, dst = -1, rc = -1, zinit = 0, flush = Z_NO_FLUSH;

	*gzbytes = *rawbytes = -1;
	src = dir_open(sl, name, O_RDONLY, &st);
	if (src < 0)
		return errno == ENOENT ? 0 : -1;
	*rawbytes = st.st_size;
	elog_buf_addf(&tmp, "%s.gz.tmp", name);
	elog_buf_addf(&fin, "%s.gz", name);
	/* a new file: whatever sits at the name (a link too) is removed, never written through */
	unlinkat(sl->dirfd, tmp.data, 0);
	dst = dir_open(sl, tmp.data, O_WRONLY | O_CREAT | O_EXCL, NULL);
	if (dst < 0)
		goto out;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	zinit = 1;
	do {
		ssize_t r = read(src, in, sizeof(in));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = in;
		z.avail_in = (uInt)r;
		do {
			int zr;

			z.next_out = out;
			z.avail_out = sizeof(out);
			zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR)
				goto out;
			if (write_all(dst, (const char *)out, sizeof(out) - z.avail_out) != 0)
				goto out;
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	if (fsync(dst) != 0)
		goto out;
	if (fstat(dst, &st) == 0)
		*gzbytes = st.st_size;
	if (close(dst) != 0) {
		dst = -1;
		goto out;
	}
	dst = -1;
	if (renameat(sl->dirfd, tmp.data, sl->dirfd, fin.data) != 0)
		goto out;
	fsync(sl->dirfd);
	unlinkat(sl->dirfd, name, 0);
	rc = 0;
out:
	if (zinit)
		deflateEnd(&z);
	if (dst >= 0)
		close(dst);
	if (rc != 0)
		unlinkat(sl->dirfd, tmp.data, 0);
	close(src);
	elog_buf_release(&tmp);
	elog_buf_release(&fin);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Keeps the newest backup_count rotated files of stem (a .log and its .log.gz count once;
 * names sort by time since the time is fixed-width). */
static void apply_retention(struct elog_sessionlog *sl, const char *stem)
{
	char **keys = NULL;
	size_t n = 0, cap = 0, i, kept = 0;
	int fd = dup(sl->dirfd);
	DIR *d;
	struct dirent *de;

	if (sl->o.backup_count <= 0 || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		int gz;

		if (!elog_slog_parse_rotated(de->d_name, stem, NULL, NULL, &gz))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		keys[n++] = xstrndup(de->d_name, strlen(de->d_name) - (gz ? 3 : 0));
	}
	closedir(d);
	qsort(keys, n, sizeof(*keys), cmp_desc);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		if (kept < (size_t)sl->o.backup_count) {
			kept++;
			continue;
		}
		{
			struct elog_buf gzname = ELOG_BUF_INIT;

			elog_buf_addf(&gzname, "%s.gz", keys[i]);
			unlinkat(sl->dirfd, keys[i], 0);
			unlinkat(sl->dirfd, gzname.data, 0);
			elog_buf_release(&gzname);
			stat_add(&sl->removed);
		}
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Percent-decodes a stem back to its session id; NULL for a hashed stem. */
static char *stem_id(const char *stem)
{
	struct elog_buf b = ELOG_BUF_INIT;
	const char *p;

	if (strchr(stem, '~'))
		return NULL;
	for (p = stem; *p; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char h[3] = { p[1], p[2], 0 };

			elog_buf_addc(&b, (char)strtol(h, NULL, 16));
			p += 2;
		} else {
			elog_buf_addc(&b, *p);
		}
	}
	return elog_buf_detach(&b);
}

void elog_slog_segment_json(struct elog_buf *out, const struct elog_slog_segment *seg)
{
	char ts[48];

	elog_format_rfc3339(seg->time_ns, ts, sizeof(ts));
	elog_buf_adds(out, "{\"session\":");
	if (seg->session_id)
		elog_json_quote(out, seg->session_id, strlen(seg->session_id));
	else
		elog_buf_adds(out, "null");
	elog_buf_adds(out, ",\"path\":");
	elog_json_quote(out, seg->path, strlen(seg->path));
	elog_buf_addf(out, ",\"first_seq\":%lld,\"last_seq\":%lld,\"bytes\":%lld,\"raw_bytes\":%lld,"
		      "\"compression\":\"%s\",\"time\":\"%s\"}", (long long)seg->first_seq,
		      (long long)seg->last_seq, (long long)seg->bytes, (long long)seg->raw_bytes,
		      seg->compression == ELOG_SLOG_GZIP ? "gzip" : "none", ts);
}

/* Tells o.on_segment about name (relative, final) of the session id (NULL: from stem). */
static void announce(struct elog_sessionlog *sl, const char *name, const char *stem,
		     const char *id, int64_t bytes, int64_t raw)
{
	struct elog_slog_segment seg;
	struct elog_buf path = ELOG_BUF_INIT;
	char *own = NULL;
	size_t stemlen;
	int gz;

	if (!sl->o.on_segment)
		return;
	memset(&seg, 0, sizeof(seg));
	if (!parse_rotated_any(name, &stemlen, &seg.first_seq, &seg.last_seq, &gz))
		return;
	if (!id)
		id = own = stem_id(stem);
	elog_buf_addf(&path, "%s/%s", sl->dir, name);
	seg.session_id = id;
	seg.path = path.data;
	seg.bytes = bytes;
	seg.raw_bytes = raw;
	seg.compression = gz ? ELOG_SLOG_GZIP : ELOG_SLOG_NONE;
	seg.time_ns = elog_now_ns();
	sl->o.on_segment(sl->o.on_segment_arg, &seg);
	elog_buf_release(&path);
	free(own);
}

static void *compressor_main(void *arg)
{
	struct elog_sessionlog *sl = arg;

	pthread_mutex_lock(&sl->cmu);
	for (;;) {
		struct cjob *j;

		while (!sl->jhead && !sl->cstop)
			pthread_cond_wait(&sl->ccv, &sl->cmu);
		if (!sl->jhead)
			break;
		j = sl->jhead;
		sl->jhead = j->next;
		if (!sl->jhead)
			sl->jtail = NULL;
		pthread_mutex_unlock(&sl->cmu);
		if (j->name && sl->o.compression == ELOG_SLOG_GZIP) {
			int64_t gzb, raw;

			if (gzip_file(sl, j->name, &gzb, &raw) == 0) {
				stat_add(&sl->compressed);
				if (gzb >= 0) {
					struct elog_buf gzname = ELOG_BUF_INIT;

					elog_buf_addf(&gzname, "%s.gz", j->name);
					announce(sl, gzname.data, j->stem, j->id, gzb, raw);
					elog_buf_release(&gzname);
				}
			} else {
				stat_add(&sl->compress_failures);
			}
		}
		apply_retention(sl, j->stem);
		free(j->name);
		free(j->stem);
		free(j->id);
		free(j);
		pthread_mutex_lock(&sl->cmu);
	}
	pthread_mutex_unlock(&sl->cmu);
	return NULL;
}

/* ---- a session's file ------------------------------------------------------------------------ */

static void set_failed(struct elog_slog_session *s, const char *what, int e)
{
	if (s->failed)
		return;
	s->failed = 1;
	snprintf(s->failmsg, sizeof(s->failmsg), "cannot %s session log '%.200s/%.120s.logtmp': %s",
		 what, s->sl->dir, s->stem, errtext(e));
}

/* ---- open files: at most max_open, the least recently written closed first ------------------- */

/* Under sl->lru_mu. */
static void lru_unlink(struct elog_sessionlog *sl, struct elog_slog_session *s)
{
	if (!s->in_lru)
		return;
	if (s->lru_prev)
		s->lru_prev->lru_next = s->lru_next;
	else
		sl->lru_head = s->lru_next;
	if (s->lru_next)
		s->lru_next->lru_prev = s->lru_prev;
	else
		sl->lru_tail = s->lru_prev;
	s->lru_prev = s->lru_next = NULL;
	s->in_lru = 0;
}

/* Under sl->lru_mu. */
static void lru_push(struct elog_sessionlog *sl, struct elog_slog_session *s)
{
	s->lru_prev = NULL;
	s->lru_next = sl->lru_head;
	if (sl->lru_head)
		sl->lru_head->lru_prev = s;
	else
		sl->lru_tail = s;
	sl->lru_head = s;
	s->in_lru = 1;
}

/* s was written: it moves to the front. Owner only. */
static void lru_touch(struct elog_slog_session *s)
{
	struct elog_sessionlog *sl = s->sl;

	pthread_mutex_lock(&sl->lru_mu);
	if (s->in_lru) {
		lru_unlink(sl, s);
		lru_push(sl, s);
	}
	pthread_mutex_unlock(&sl->lru_mu);
}

/* Closes s's file (already fsynced, or failed). Owner only. */
static void file_close(struct elog_slog_session *s)
{
	struct elog_sessionlog *sl = s->sl;

	if (s->fd < 0)
		return;
	close(s->fd);
	s->fd = -1;
	pthread_mutex_lock(&sl->lru_mu);
	lru_unlink(sl, s);
	__atomic_sub_fetch(&sl->nopen, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&sl->lru_mu);
}

static void kick(struct elog_slog_session *s);

/* More files open than max_open. Read without sl->lru_mu: the caller may hold a session's mu,
 * which comes after it. */
static int over_open(struct elog_sessionlog *sl)
{
	return __atomic_load_n(&sl->nopen, __ATOMIC_RELAXED) > sl->o.max_open;
}

/*
 * Makes room for one more open file: takes the least recently written session whose file is
 * open and that nobody runs, fsyncs and closes its file (its frames written so far become
 * durable; it reopens the file and appends when written again). Called by the owner of self,
 * without locks. When every open file belongs to a running session nothing is closed: the
 * count then passes max_open by at most the number of writers.
 */
static void evict_one(struct elog_sessionlog *sl, struct elog_slog_session *self)
{
	struct elog_slog_session *v;
	int rc = 0, e = 0, need;

	pthread_mutex_lock(&sl->lru_mu);
	if (sl->nopen < sl->o.max_open) {
		pthread_mutex_unlock(&sl->lru_mu);
		return;
	}
	for (v = sl->lru_tail; v; v = v->lru_prev) {
		if (v == self)
			continue;
		pthread_mutex_lock(&v->mu);
		if (!v->running) {
			v->running = 1;
			pthread_mutex_unlock(&v->mu);
			break;
		}
		pthread_mutex_unlock(&v->mu);
	}
	pthread_mutex_unlock(&sl->lru_mu);
	if (!v)
		return;
	/* v is ours now: its writes are done (write_items leaves wbuf empty) */
	pthread_mutex_lock(&v->mu);
	need = v->written > v->durable && !v->failed;
	pthread_mutex_unlock(&v->mu);
	if (v->fd >= 0) {
		if (need) {
			rc = fsync(v->fd);
			e = errno;
			v->last_fsync = elog_mono_ns();
		}
		file_close(v);
	}
	pthread_mutex_lock(&v->mu);
	if (rc != 0)
		set_failed(v, "fsync", e);
	else if (v->written > v->durable)
		v->durable = v->written;
	pthread_cond_broadcast(&v->done);
	v->running = 0;
	kick(v);                          /* it may have work that arrived meanwhile */
	pthread_mutex_unlock(&v->mu);
	stat_add(&sl->evictions);
}

/* Opens <stem>.logtmp for appending (creating it and syncing the directory). Owner only. */
static int file_open(struct elog_slog_session *s, int *e)
{
	struct elog_sessionlog *sl = s->sl;
	struct elog_buf name = ELOG_BUF_INIT;
	struct stat st;
	int fd;

	evict_one(sl, s);
	elog_buf_addf(&name, "%s.logtmp", s->stem);
	fd = dir_open(sl, name.data, O_WRONLY | O_APPEND, &st);
	if (fd < 0 && errno == ENOENT) {
		fd = dir_open(sl, name.data, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, &st);
		if (fd >= 0)
			fsync(sl->dirfd);     /* a new file: its name made durable */
	}
	elog_buf_release(&name);
	if (fd < 0) {
		*e = errno;
		return -1;
	}
	s->fd = fd;
	s->size = st.st_size;
	if (s->nlines == 0)
		s->opened = elog_mono_ns();   /* a file reopened after eviction keeps its age */
	pthread_mutex_lock(&sl->lru_mu);
	lru_push(sl, s);
	if (__atomic_add_fetch(&sl->nopen, 1, __ATOMIC_RELAXED) > sl->nopen_peak)
		sl->nopen_peak = sl->nopen;
	pthread_mutex_unlock(&sl->lru_mu);
	return 0;
}

static int wbuf_flush(struct elog_slog_session *s, int *e)
{
	if (s->wbuf.len == 0)
		return 0;
	if (write_all(s->fd, s->wbuf.data, s->wbuf.len) != 0) {
		*e = errno;
		/* keep whole lines only */
		if (ftruncate(s->fd, s->size - (int64_t)s->wbuf.len) != 0) {
			/* nothing more to do */
		}
		s->size -= (int64_t)s->wbuf.len;
		elog_buf_reset(&s->wbuf);
		return -1;
	}
	elog_buf_reset(&s->wbuf);
	return 0;
}

/* fsyncs, closes and renames the current file to its rotated name; queues it for the
 * compressor. Owner only; 0 or -1 with *e. */
static int file_rotate(struct elog_slog_session *s, int *e)
{
	struct elog_sessionlog *sl = s->sl;
	struct elog_buf cur = ELOG_BUF_INIT, to = ELOG_BUF_INIT;
	int64_t ns = elog_now_ns();
	struct stat st;
	int rc = -1, tries;

	if (s->nlines == 0)
		return 0;
	if (s->fd >= 0) {
		if (wbuf_flush(s, e) != 0)
			return -1;
		if (fsync(s->fd) != 0) {
			*e = errno;
			return -1;
		}
		s->last_fsync = elog_mono_ns();
		file_close(s);
	}
	elog_buf_addf(&cur, "%s.logtmp", s->stem);
	for (tries = 0; tries < 1000; tries++) {
		elog_buf_reset(&to);
		elog_slog_rotated_name(&to, s->stem, ns + tries, s->first_seq, s->last_seq);
		elog_buf_adds(&to, ".gz");
		if (fstatat(sl->dirfd, to.data, &st, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		to.data[to.len - 3] = '\0';
		to.len -= 3;
		if (fstatat(sl->dirfd, to.data, &st, AT_SYMLINK_NOFOLLOW) != 0)
			break;
	}
	/* rename never follows a link at either name */
	if (renameat(sl->dirfd, cur.data, sl->dirfd, to.data) != 0) {
		*e = errno;
		goto out;
	}
	fsync(sl->dirfd);
	s->nlines = 0;
	s->size = 0;
	stat_add(&sl->rotations);
	if (sl->o.compression != ELOG_SLOG_GZIP &&
	    fstatat(sl->dirfd, to.data, &st, AT_SYMLINK_NOFOLLOW) == 0)
		announce(sl, to.data, s->stem, s->id, st.st_size, st.st_size);
	if (sl->o.compression == ELOG_SLOG_GZIP || sl->o.backup_count > 0)
		queue_job(sl, to.data, s->stem, s->id);
	rc = 0;
out:
	elog_buf_release(&cur);
	elog_buf_release(&to);
	return rc;
}

static size_t seq_digits(char *buf, size_t bufsz, int64_t seq)
{
	return (size_t)snprintf(buf, bufsz, "%lld", (long long)seq);
}

/* Writes items (and frees them), rotating by size between lines. Owner only. */
static int write_items(struct elog_slog_session *s, struct slog_item *it, int *e, const char **what)
{
	struct elog_sessionlog *sl = s->sl;
	int rc = 0;

	while (it) {
		struct slog_item *next = it->next;
		char num[24];
		size_t nd = seq_digits(num, sizeof(num), it->seq);
		int64_t len = (int64_t)(it->head + nd + it->tail);

		if (rc == 0 && s->nlines > 0 && s->size + len > sl->o.max_size &&
		    file_rotate(s, e) != 0) {
			*what = "rotate";
			rc = -1;
		}
		if (rc == 0 && s->fd < 0 && file_open(s, e) != 0) {
			*what = "open";
			rc = -1;
		}
		if (rc == 0) {
			elog_buf_add(&s->wbuf, it->data, it->head);
			elog_buf_add(&s->wbuf, num, nd);
			elog_buf_add(&s->wbuf, it->data + it->head, it->tail);
			s->size += len;
			if (s->nlines == 0)
				s->first_seq = it->seq;
			s->last_seq = it->seq;
			s->nlines++;
			if (s->wbuf.len >= WBUF_FLUSH && wbuf_flush(s, e) != 0) {
				*what = "write";
				rc = -1;
			}
		}
		free(it);
		it = next;
	}
	if (rc == 0 && s->fd >= 0 && wbuf_flush(s, e) != 0) {
		*what = "write";
		rc = -1;
	}
	if (s->fd >= 0)
		lru_touch(s);
	return rc;
}

static void free_items(struct slog_item *it)
{
	while (it) {
		struct slog_item *next = it->next;

		free(it);
		it = next;
	}
}

static void session_free(struct elog_slog_session *s)
{
	free_items(s->head);
	elog_buf_release(&s->wbuf);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->done);
	free(s->id);
	free(s->stem);
	free(s);
}

static unsigned bucket_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % NBUCKETS;
}

/* Under sl->mu. */
static void table_remove(struct elog_sessionlog *sl, struct elog_slog_session *s)
{
	struct elog_slog_session **pp = &sl->buckets[bucket_of(s->id)];

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = s->next;
		sl->nsessions--;
	}
}

/* ---- writers and the sweeper ---------------------------------------------------------------- */

/* s has something to do: onto the run queue, unless it is there or running (its owner looks
 * again before it lets go). Under s->mu. */
static void kick(struct elog_slog_session *s)
{
	struct elog_sessionlog *sl = s->sl;

	if (s->running) {
		s->again = 1;
		return;
	}
	if (s->queued)
		return;
	s->queued = 1;
	pthread_mutex_lock(&sl->rq_mu);
	s->rq_next = NULL;
	if (sl->rq_tail)
		sl->rq_tail->rq_next = s;
	else
		sl->rq_head = s;
	sl->rq_tail = s;
	pthread_cond_signal(&sl->rq_cv);
	pthread_mutex_unlock(&sl->rq_mu);
}

/*
 * Does what is due for s: writes what is queued, fsyncs, rotates, closes an idle session.
 * Called by a writer with s->mu held and s->running set; returns with s->mu released, and s
 * either let go (its next deadline stored for the sweeper) or, when it closed, freed.
 */
static void session_run(struct elog_slog_session *s)
{
	struct elog_sessionlog *sl = s->sl;
	int64_t fi = sl->o.flush_interval_ns;
	const char *what;
	int e = 0, budget = RUN_BUDGET, need_sync;

	for (;;) {
		int64_t now = elog_mono_ns(), deadline = INT64_MAX;

		s->again = 0;
		if (budget-- <= 0) {
			int others;

			pthread_mutex_lock(&sl->rq_mu);
			others = sl->rq_head != NULL;
			pthread_mutex_unlock(&sl->rq_mu);
			if (others) {
				/* fair to the sessions waiting: to the back of the queue */
				s->running = 0;
				kick(s);
				pthread_mutex_unlock(&s->mu);
				return;
			}
			budget = RUN_BUDGET;
		}
		if (s->head) {
			struct slog_item *list = s->head;
			uint64_t upto = s->enq;

			s->head = s->tail = NULL;
			s->qbytes = 0;
			if (s->failed) {
				free_items(list);
				continue;
			}
			pthread_mutex_unlock(&s->mu);
			what = "write";
			if (write_items(s, list, &e, &what) != 0) {
				pthread_mutex_lock(&s->mu);
				set_failed(s, what, e);
				pthread_cond_broadcast(&s->done);
			} else {
				pthread_mutex_lock(&s->mu);
				s->written = upto;
			}
			continue;
		}
		/* (when the log closes, one syncfs covers every session: no fsync each) */
		if (s->written > s->durable && !s->failed && !s->stop &&
		    (s->sync_req || now - s->last_fsync >= fi)) {
			uint64_t upto = s->written;
			int rc = 0;

			pthread_mutex_unlock(&s->mu);
			if (s->fd >= 0) {
				rc = fsync(s->fd);
				e = errno;
			}
			s->last_fsync = elog_mono_ns();
			pthread_mutex_lock(&s->mu);
			if (rc != 0)
				set_failed(s, "fsync", e);
			else if (upto > s->durable)
				s->durable = upto;
			s->sync_req = 0;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		if (s->sync_req) {
			s->sync_req = 0;
			pthread_cond_broadcast(&s->done);
		}
		if (s->stop)
			break;
		if (!s->failed && s->nlines > 0 && !s->drop &&
		    (now - s->opened >= sl->o.max_age_ns || now - s->last_activity >= sl->o.idle_ns)) {
			uint64_t upto = s->written;
			int rc;

			pthread_mutex_unlock(&s->mu);
			rc = file_rotate(s, &e);
			pthread_mutex_lock(&s->mu);
			if (rc != 0)
				set_failed(s, "rotate", e);
			else if (upto > s->durable)
				s->durable = upto;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		if ((now - s->last_activity >= sl->o.idle_ns || s->drop) && s->refs == 0) {
			int release = 0;

			pthread_mutex_unlock(&s->mu);
			pthread_mutex_lock(&sl->mu);
			pthread_mutex_lock(&s->mu);
			if (s->refs == 0 && !s->head && !s->stop) {
				s->state = S_CLOSING;
				release = 1;
			}
			pthread_mutex_unlock(&sl->mu);
			if (release)
				break;
			continue;
		}
		if (s->fd >= 0 && over_open(sl)) {
			/* more files are open than max_open (evictions found only running
			 * sessions): the one letting go closes its own */
			uint64_t upto = s->written;
			int rc;

			pthread_mutex_unlock(&s->mu);
			rc = fsync(s->fd);
			e = errno;
			s->last_fsync = elog_mono_ns();
			file_close(s);
			stat_add(&sl->evictions);
			pthread_mutex_lock(&s->mu);
			if (rc != 0)
				set_failed(s, "fsync", e);
			else if (upto > s->durable)
				s->durable = upto;
			pthread_cond_broadcast(&s->done);
			continue;
		}
		if (s->written > s->durable && !s->failed)
			deadline = s->last_fsync + fi;
		if (s->nlines > 0 && s->opened + sl->o.max_age_ns < deadline)
			deadline = s->opened + sl->o.max_age_ns;
		if ((s->nlines > 0 || s->refs == 0) && s->last_activity + sl->o.idle_ns < deadline)
			deadline = s->last_activity + sl->o.idle_ns;
		/* let go: the sweeper kicks it at its deadline, a caller sooner */
		s->deadline = deadline;
		s->running = 0;
		pthread_mutex_unlock(&s->mu);
		if (deadline != INT64_MAX) {
			pthread_mutex_lock(&sl->rq_mu);
			if (deadline < sl->sweep_at)
				pthread_cond_signal(&sl->sweep_cv);
			pthread_mutex_unlock(&sl->rq_mu);
		}
		return;
	}
	/* stopping or released: everything written is durable (or the session failed). When the
	 * log closes, one syncfs in elog_slog_close covers every file, not an fsync each. */
	need_sync = !s->failed && s->written > s->durable && !s->stop;
	if (!s->failed && s->written > s->durable)
		s->durable = s->written;
	s->stop = 1;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->mu);
	if (s->fd >= 0) {
		if (need_sync)
			fsync(s->fd);
		file_close(s);
	}
	pthread_mutex_lock(&sl->mu);
	table_remove(sl, s);
	pthread_cond_broadcast(&sl->cv);
	pthread_mutex_unlock(&sl->mu);
	session_free(s);
}

static void *writer_main(void *arg)
{
	struct elog_sessionlog *sl = arg;

	pthread_mutex_lock(&sl->rq_mu);
	for (;;) {
		struct elog_slog_session *s;

		while (!sl->rq_head && !sl->wstop)
			pthread_cond_wait(&sl->rq_cv, &sl->rq_mu);
		if (!sl->rq_head)
			break;
		s = sl->rq_head;
		sl->rq_head = s->rq_next;
		if (!sl->rq_head)
			sl->rq_tail = NULL;
		pthread_mutex_unlock(&sl->rq_mu);
		pthread_mutex_lock(&s->mu);
		s->queued = 0;
		if (s->running) {
			/* an evictor holds it; it puts s back when done */
			s->again = 1;
			pthread_mutex_unlock(&s->mu);
		} else {
			s->running = 1;
			session_run(s);
		}
		pthread_mutex_lock(&sl->rq_mu);
	}
	pthread_mutex_unlock(&sl->rq_mu);
	return NULL;
}

/* Kicks every session whose deadline has come; sleeps until the next one (or a second). */
static void *sweeper_main(void *arg)
{
	struct elog_sessionlog *sl = arg;
	int64_t tick = sl->o.flush_interval_ns < SWEEP_MAX ? sl->o.flush_interval_ns : SWEEP_MAX;

	if (tick < SWEEP_MIN)
		tick = SWEEP_MIN;

	pthread_mutex_lock(&sl->rq_mu);
	while (!sl->wstop) {
		int64_t now = elog_mono_ns(), next = now + tick;
		unsigned i;

		sl->sweep_at = INT64_MIN;     /* no wake-ups while we look (we sleep a tick at most) */
		pthread_mutex_unlock(&sl->rq_mu);
		pthread_mutex_lock(&sl->mu);
		for (i = 0; i < NBUCKETS; i++) {
			struct elog_slog_session *s;

			for (s = sl->buckets[i]; s; s = s->next) {
				if (s->state != S_READY)
					continue;
				pthread_mutex_lock(&s->mu);
				if (s->deadline <= now)
					kick(s);
				else if (s->deadline < next)
					next = s->deadline;
				pthread_mutex_unlock(&s->mu);
			}
		}
		pthread_mutex_unlock(&sl->mu);
		pthread_mutex_lock(&sl->rq_mu);
		if (sl->wstop)
			break;
		sl->sweep_at = next;
		elog_cond_wait_until(&sl->sweep_cv, &sl->rq_mu, next);
	}
	pthread_mutex_unlock(&sl->rq_mu);
	return NULL;
}

/* Highest seq of the rotated files of s. */
static int64_t scan_rotated(struct elog_sessionlog *sl, const char *stem)
{
	int fd = dup(sl->dirfd);
	int64_t max = 0, last;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return 0;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return 0;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (elog_slog_parse_rotated(de->d_name, stem, NULL, &last, NULL) && last > max)
			max = last;
	closedir(d);
	return max;
}

/* Reads the current file if there is one: counter, first/last seq, lines; cuts an incomplete
 * last line; leaves it closed. Before the session is ready. */
static int session_load(struct elog_slog_session *s, struct elog_err *err)
{
	struct elog_sessionlog *sl = s->sl;
	struct elog_buf name = ELOG_BUF_INIT, line = ELOG_BUF_INIT;
	char buf[65536];
	int64_t max = scan_rotated(sl, s->stem), off = 0, good = 0;
	int fd, rc = 0;

	s->fd = -1;
	elog_buf_addf(&name, "%s.logtmp", s->stem);
	fd = dir_open(sl, name.data, O_RDWR | O_APPEND, NULL);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = elog_err_set(err, ELOG_EIO, "cannot open session log '%s/%s': %s",
					  sl->dir, name.data, errtext(errno));
		goto out;
	}
	for (;;) {
		ssize_t r = pread(fd, buf, sizeof(buf), off);
		ssize_t i, start = 0;

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = elog_err_set(err, ELOG_EIO, "cannot read session log '%s/%s': %s",
					  sl->dir, name.data, strerror(errno));
			close(fd);
			goto out;
		}
		if (r == 0)
			break;
		for (i = 0; i < r; i++) {
			const char *p;
			int64_t seq;

			if (buf[i] != '\n')
				continue;
			elog_buf_add(&line, buf + start, (size_t)(i - start));
			start = i + 1;
			good = off + i + 1;
			p = line.data ? memmem(line.data, line.len, "\"seq\":", 6) : NULL;
			if (p) {
				char *end;

				seq = strtoll(p + 6, &end, 10);
				if (end != p + 6) {
					if (s->nlines == 0)
						s->first_seq = seq;
					s->last_seq = seq;
					if (seq > max)
						max = seq;
				}
			}
			s->nlines++;
			elog_buf_reset(&line);
		}
		if (start < r)
			elog_buf_add(&line, buf + start, (size_t)(r - start));
		off += r;
	}
	if (good < off && ftruncate(fd, good) != 0) {
		rc = elog_err_set(err, ELOG_EIO, "cannot repair session log '%s/%s': %s", sl->dir,
				  name.data, strerror(errno));
		close(fd);
		goto out;
	}
	/* the file is opened again when the session writes (open files are bounded) */
	close(fd);
	s->size = good;
	s->opened = elog_mono_ns();
out:
	s->max_seq = max;
	elog_buf_release(&name);
	elog_buf_release(&line);
	return rc;
}

/* At the limit of open sessions: every session no call holds is told to close now (its file
 * fsynced and closed, not rotated: it is reopened and appended to when the session comes
 * back). Returns how many. Under sl->mu. */
static size_t make_room(struct elog_sessionlog *sl)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < NBUCKETS; i++) {
		struct elog_slog_session *s;

		for (s = sl->buckets[i]; s; s = s->next) {
			if (s->state != S_READY)
				continue;
			pthread_mutex_lock(&s->mu);
			if (s->refs == 0 && !s->stop) {
				s->drop = 1;
				kick(s);
				n++;
			}
			pthread_mutex_unlock(&s->mu);
		}
	}
	return n;
}

int elog_slog_acquire(struct elog_sessionlog *sl, const char *session_id,
		      struct elog_slog_session **out, struct elog_err *err)
{
	struct elog_slog_session *s;
	struct elog_buf stem = ELOG_BUF_INIT;
	unsigned b;
	int rc, waited = 0;

	*out = NULL;
	if (!session_id || !*session_id)
		return elog_err_set(err, ELOG_EUSAGE, "log frame has no session_id");
	b = bucket_of(session_id);
	pthread_mutex_lock(&sl->mu);
	for (;;) {
		if (sl->closing) {
			pthread_mutex_unlock(&sl->mu);
			return elog_err_set(err, ELOG_EUNAVAIL, "session log is closing");
		}
		for (s = sl->buckets[b]; s; s = s->next)
			if (strcmp(s->id, session_id) == 0)
				break;
		if (!s && sl->nsessions < sl->o.max_sessions)
			break;
		if (!s) {
			size_t n = sl->nsessions;

			if (!waited && make_room(sl)) {
				/* sessions no call holds close now, as they would when idle */
				int64_t until = elog_mono_ns() + ROOM_WAIT;

				waited = 1;
				while (sl->nsessions >= sl->o.max_sessions && !sl->closing &&
				       elog_mono_ns() < until)
					elog_cond_wait_until(&sl->cv, &sl->mu, until);
				continue;
			}
			pthread_mutex_unlock(&sl->mu);
			return elog_err_set(err, ELOG_EFULL, "too many open sessions: %zu (limit of "
					    "open sessions: %zu)", n, sl->o.max_sessions);
		}
		if (s->state != S_READY) {
			pthread_cond_wait(&sl->cv, &sl->mu);
			continue;
		}
		pthread_mutex_lock(&s->mu);
		s->refs++;
		s->drop = 0;
		s->last_activity = elog_mono_ns();
		pthread_mutex_unlock(&s->mu);
		pthread_mutex_unlock(&sl->mu);
		*out = s;
		return 0;
	}
	s = xcalloc(1, sizeof(*s));
	s->sl = sl;
	s->id = xstrdup(session_id);
	elog_slog_file_name(&stem, session_id, strlen(session_id));
	s->stem = elog_buf_detach(&stem);
	s->state = S_LOADING;
	s->refs = 1;
	s->fd = -1;
	s->deadline = INT64_MAX;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->done, NULL);
	s->next = sl->buckets[b];
	sl->buckets[b] = s;
	sl->nsessions++;
	pthread_mutex_unlock(&sl->mu);

	rc = session_load(s, err);
	s->last_activity = elog_mono_ns();
	s->last_fsync = s->last_activity;
	pthread_mutex_lock(&sl->mu);
	if (rc != 0) {
		table_remove(sl, s);
		pthread_cond_broadcast(&sl->cv);
		pthread_mutex_unlock(&sl->mu);
		session_free(s);
		return rc;
	}
	s->state = S_READY;
	pthread_cond_broadcast(&sl->cv);
	pthread_mutex_unlock(&sl->mu);
	*out = s;
	return 0;
}

void elog_slog_release(struct elog_slog_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	if (--s->refs == 0)
		kick(s);                  /* its idle deadline starts now */
	pthread_mutex_unlock(&s->mu);
}

static void add_field(struct elog_buf *b, const char *key, const char *v)
{
	elog_buf_adds(b, key);
	if (!v)
		v = "";
	elog_json_quote(b, v, strlen(v));
}

int elog_slog_append(struct elog_slog_session *s, const struct elog_slog_frame *f,
		     int64_t *seq, uint64_t *ticket, struct elog_err *err)
{
	struct elog_sessionlog *sl = s->sl;
	struct elog_buf b = ELOG_BUF_INIT;
	struct slog_item *it;
	char ts[48];
	size_t head, size;
	int rc = 0;

	elog_format_rfc3339(f->time_ns ? f->time_ns : elog_now_ns(), ts, sizeof(ts));
	elog_buf_addf(&b, "{\"time\":\"%s\",\"seq\":", ts);
	head = b.len;
	add_field(&b, ",\"session_id\":", s->id);
	add_field(&b, ",\"user_id\":", f->user_id);
	add_field(&b, ",\"role\":", f->role);
	add_field(&b, ",\"content\":", f->content);
	elog_buf_adds(&b, ",\"metadata\":");
	elog_buf_adds(&b, f->metadata_json && *f->metadata_json ? f->metadata_json : "{}");
	elog_buf_adds(&b, "}\n");
	size = sizeof(*it) + b.len;
	it = xmalloc(size);
	it->next = NULL;
	it->head = head;
	it->tail = b.len - head;
	memcpy(it->data, b.data, b.len);
	elog_buf_release(&b);

	pthread_mutex_lock(&s->mu);
	if (s->failed) {
		rc = elog_err_set(err, ELOG_EIO, "%s", s->failmsg);
	} else if (s->stop) {
		rc = elog_err_set(err, ELOG_EUNAVAIL, "session log is closing");
	} else if (s->enq - s->durable >= sl->o.queue_max ||
		   (s->qbytes > 0 && s->qbytes + size > sl->o.queue_bytes)) {
		rc = elog_err_set(err, ELOG_EFULL,
				  "session '%.200s' is overloaded: %llu frames waiting to be written "
				  "(queue limit %zu frames, %zu bytes)",
				  s->id, (unsigned long long)(s->enq - s->durable), sl->o.queue_max,
				  sl->o.queue_bytes);
		/* make room now rather than at the next flush interval */
		s->sync_req = 1;
		kick(s);
	} else {
		it->seq = f->seq ? f->seq : s->max_seq + 1;
		if (it->seq > s->max_seq)
			s->max_seq = it->seq;
		if (s->tail)
			s->tail->next = it;
		else
			s->head = it;
		s->tail = it;
		s->qbytes += size;
		*ticket = ++s->enq;
		*seq = it->seq;
		s->last_activity = elog_mono_ns();
		kick(s);
		it = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	free(it);
	return rc;
}

int elog_slog_sync(struct elog_slog_session *s, uint64_t ticket, struct elog_err *err)
{
	int rc = 0;

	pthread_mutex_lock(&s->mu);
	while (s->durable < ticket && !s->failed && !(s->stop && s->written == s->durable &&
						     !s->head)) {
		s->sync_req = 1;
		kick(s);
		pthread_cond_wait(&s->done, &s->mu);
	}
	if (s->durable < ticket)
		rc = elog_err_set(err, ELOG_EIO, "%s",
				  s->failed ? s->failmsg : "session log closed before the frames were written");
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- the log directory ----------------------------------------------------------------------- */

/* Removes unfinished .gz.tmp files and queues rotated .log files left uncompressed. */
static void startup_scan(struct elog_sessionlog *sl)
{
	int fd = dup(sl->dirfd);
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t n = strlen(nm), stemlen;
		int64_t a, b;
		int gz;

		if (n > 7 && strcmp(nm + n - 7, ".gz.tmp") == 0) {
			unlinkat(sl->dirfd, nm, 0);
		} else if (parse_rotated_any(nm, &stemlen, &a, &b, &gz) && !gz) {
			struct elog_buf g = ELOG_BUF_INIT;
			struct stat st;
			char *stem = xstrndup(nm, stemlen);

			elog_buf_addf(&g, "%s.gz", nm);
			if (fstatat(sl->dirfd, g.data, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				unlinkat(sl->dirfd, nm, 0);   /* its .gz was complete */
			else if (sl->o.compression == ELOG_SLOG_GZIP)
				queue_job(sl, nm, stem, NULL);
			free(stem);
			elog_buf_release(&g);
		}
	}
	closedir(d);
}

/* The log directory must be ours and writable by nobody else: whoever can write in it could
 * plant links or files where the session logs go. */
static int check_dir(struct elog_sessionlog *sl, struct elog_err *err)
{
	struct stat st;

	if (fstat(sl->dirfd, &st) != 0)
		return elog_err_set(err, ELOG_EIO, "cannot open session log directory '%s': %s",
				    sl->dir, strerror(errno));
	if (st.st_uid != geteuid())
		return elog_err_set(err, ELOG_EUSAGE, "session log directory '%s' is owned by uid %ld, "
				    "not by this user (uid %ld): refused", sl->dir, (long)st.st_uid,
				    (long)geteuid());
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return elog_err_set(err, ELOG_EUSAGE, "session log directory '%s' is writable by "
				    "%s (mode %04o): refused (chmod go-w '%s')", sl->dir,
				    (st.st_mode & S_IWOTH) ? "others" : "its group",
				    (unsigned)(st.st_mode & 07777), sl->dir);
	return 0;
}

int elog_slog_open(struct elog_sessionlog **out, const struct elog_slog_opts *o,
		   struct elog_err *err)
{
	struct elog_sessionlog *sl;

	*out = NULL;
	if (!o->dir || !*o->dir)
		return elog_err_set(err, ELOG_EUSAGE, "no session log directory");
	if (mkdir_p(o->dir) != 0)
		return elog_err_set(err, ELOG_EIO, "cannot create session log directory '%s': %s",
				    o->dir, strerror(errno));
	sl = xcalloc(1, sizeof(*sl));
	sl->o = *o;
	sl->dir = xstrdup(o->dir);
	sl->o.dir = sl->dir;
	if (sl->o.max_size <= 0)
		sl->o.max_size = DEF_MAX_SIZE;
	if (sl->o.max_age_ns <= 0)
		sl->o.max_age_ns = DEF_MAX_AGE;
	if (sl->o.idle_ns <= 0)
		sl->o.idle_ns = DEF_IDLE;
	if (sl->o.flush_interval_ns <= 0)
		sl->o.flush_interval_ns = DEF_FLUSH;
	if (sl->o.queue_max == 0)
		sl->o.queue_max = DEF_QUEUE_MAX;
	if (sl->o.queue_bytes == 0)
		sl->o.queue_bytes = DEF_QUEUE_BYTES;
	if (sl->o.max_sessions == 0)
		sl->o.max_sessions = DEF_MAX_SESSIONS;
	if (sl->o.max_open == 0)
		sl->o.max_open = DEF_MAX_OPEN;
	sl->dirfd = open(sl->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sl->dirfd < 0) {
		int rc = elog_err_set(err, ELOG_EIO, "cannot open session log directory '%s': %s",
				      sl->dir, strerror(errno));

		free(sl->dir);
		free(sl);
		return rc;
	}
	if (check_dir(sl, err) != 0) {
		int rc = check_dir(sl, NULL);

		close(sl->dirfd);
		free(sl->dir);
		free(sl);
		return rc;
	}
	pthread_mutex_init(&sl->mu, NULL);
	elog_cond_init(&sl->cv);
	pthread_mutex_init(&sl->cmu, NULL);
	pthread_cond_init(&sl->ccv, NULL);
	pthread_mutex_init(&sl->rq_mu, NULL);
	pthread_cond_init(&sl->rq_cv, NULL);
	elog_cond_init(&sl->sweep_cv);
	pthread_mutex_init(&sl->lru_mu, NULL);
	sl->sweep_at = INT64_MAX;
	startup_scan(sl);
	if (pthread_create(&sl->cth, NULL, compressor_main, sl) == 0)
		sl->cth_started = 1;
	for (sl->nworkers = 0; sl->nworkers < NWORKERS; sl->nworkers++)
		if (pthread_create(&sl->workers[sl->nworkers], NULL, writer_main, sl) != 0)
			break;
	if (pthread_create(&sl->sweeper, NULL, sweeper_main, sl) == 0)
		sl->sweeper_started = 1;
	if (sl->nworkers == 0 || !sl->sweeper_started) {
		elog_slog_close(sl);
		return elog_err_set(err, ELOG_EFAIL, "cannot start the session log writers");
	}
	*out = sl;
	return 0;
}

void elog_slog_close(struct elog_sessionlog *sl)
{
	unsigned i;

	if (!sl)
		return;
	pthread_mutex_lock(&sl->mu);
	sl->closing = 1;
	for (i = 0; i < NBUCKETS; i++) {
		struct elog_slog_session *s;

		for (s = sl->buckets[i]; s; s = s->next) {
			pthread_mutex_lock(&s->mu);
			s->stop = 1;
			kick(s);
			pthread_mutex_unlock(&s->mu);
		}
	}
	while (sl->nsessions > 0 && sl->nworkers > 0)
		pthread_cond_wait(&sl->cv, &sl->mu);
	pthread_mutex_unlock(&sl->mu);
	/* what the sessions wrote since their last fsync, all at once */
	syncfs(sl->dirfd);
	pthread_mutex_lock(&sl->rq_mu);
	sl->wstop = 1;
	pthread_cond_broadcast(&sl->rq_cv);
	pthread_cond_signal(&sl->sweep_cv);
	pthread_mutex_unlock(&sl->rq_mu);
	for (i = 0; i < (unsigned)sl->nworkers; i++)
		pthread_join(sl->workers[i], NULL);
	if (sl->sweeper_started)
		pthread_join(sl->sweeper, NULL);
	if (sl->cth_started) {
		pthread_mutex_lock(&sl->cmu);
		sl->cstop = 1;
		pthread_cond_signal(&sl->ccv);
		pthread_mutex_unlock(&sl->cmu);
		pthread_join(sl->cth, NULL);
	}
	while (sl->jhead) {
		struct cjob *j = sl->jhead;

		sl->jhead = j->next;
		free(j->name);
		free(j->stem);
		free(j->id);
		free(j);
	}
	close(sl->dirfd);
	pthread_mutex_destroy(&sl->mu);
	pthread_cond_destroy(&sl->cv);
	pthread_mutex_destroy(&sl->cmu);
	pthread_cond_destroy(&sl->ccv);
	pthread_mutex_destroy(&sl->rq_mu);
	pthread_cond_destroy(&sl->rq_cv);
	pthread_cond_destroy(&sl->sweep_cv);
	pthread_mutex_destroy(&sl->lru_mu);
	free(sl->dir);
	free(sl);
}

void elog_slog_stats(struct elog_sessionlog *sl, struct elog_slog_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->rotations = __atomic_load_n(&sl->rotations, __ATOMIC_RELAXED);
	out->compressed = __atomic_load_n(&sl->compressed, __ATOMIC_RELAXED);
	out->compress_failures = __atomic_load_n(&sl->compress_failures, __ATOMIC_RELAXED);
	out->removed = __atomic_load_n(&sl->removed, __ATOMIC_RELAXED);
	out->evictions = __atomic_load_n(&sl->evictions, __ATOMIC_RELAXED);
	pthread_mutex_lock(&sl->mu);
	out->sessions = sl->nsessions;
	pthread_mutex_unlock(&sl->mu);
	pthread_mutex_lock(&sl->lru_mu);
	out->open_files = sl->nopen;
	out->open_files_peak = sl->nopen_peak;
	pthread_mutex_unlock(&sl->lru_mu);
}
