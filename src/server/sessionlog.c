/*
 * sessionlog.c — per-session log files: a few writer threads shared by every session, a
 * sweeper that wakes sessions at their deadlines (fsync, age and idle rotation, closing), a
 * bound on open files (the least recently written session's file is closed), and a compressor
 * thread for rotated files. See sessionlog.h for the promises.
 *
 * Scheduling: a session with work is put on the run queue (slog__kick); a writer takes it, marks it
 * running, does everything due (write, fsync, rotate, close), stores its next deadline and
 * lets it go. One session is run by one thread at a time: whoever set s->running (a writer,
 * or a writer evicting another session's file) owns the session's file state (fd, size,
 * first/last seq, line count, wbuf), and only the owner may free it. Kicks while it runs need
 * nothing: the owner looks at every condition again, under s->mu, before it lets go.
 *
 * Locks, in order: sl->mu (the session table) before sl->lru_mu (the open-file list) before
 * s->mu (a session's queue, counters and flags) before sl->rq_mu (the run queue).
 */
#include "server/sessionlog_internal.h"
#include "common/redact.h"

/* ---- small I/O helpers --------------------------------------------------------------------- */

int slog__write_all(int fd, const char *p, size_t n)
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

void slog__stat_add(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* Files in the log directory are opened with these: a symbolic link planted there is never
 * followed (ELOOP), and a FIFO never blocks an open (ENXIO without a reader). */
#define DIR_OPEN_FLAGS (O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)

const char *slog__errtext(int e)
{
	return e == ELOOP ? "it is a symbolic link (refused)" :
	       e == EINVAL ? "not a regular file (refused)" : strerror(e);
}

/* openat in the log directory, refusing links and anything but a regular file. */
int slog__dir_open(struct elog_sessionlog *sl, const char *name, int flags, struct stat *st)
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

/* A listing of the log directory from its start, on a descriptor of its own (closedir
 * closes it); NULL when none can be opened. */
DIR *slog__dir_list(struct elog_sessionlog *sl)
{
	int fd = dup(sl->dirfd);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return NULL;
	}
	rewinddir(d);
	return d;
}

/* Runs fn on every loaded session (state S_READY) with its mu held. Under sl->mu. */
void slog__each_ready(struct elog_sessionlog *sl,
		      void (*fn)(struct elog_slog_session *s, void *ctx), void *ctx)
{
	for (unsigned i = 0; i < NBUCKETS; i++)
		for (struct elog_slog_session *s = sl->buckets[i]; s; s = s->next) {
			if (s->state != S_READY)
				continue;
			pthread_mutex_lock(&s->mu);
			fn(s, ctx);
			pthread_mutex_unlock(&s->mu);
		}
}

static int64_t scan_rotated(struct elog_sessionlog *sl, const char *stem)
{
	int64_t max = 0, last;
	DIR *d = slog__dir_list(sl);
	struct dirent *de;

	if (!d)
		return 0;
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
	fd = slog__dir_open(sl, name.data, O_RDWR | O_APPEND, NULL);
	if (fd < 0) {
		if (errno != ENOENT)
			rc = elog_err_set(err, ELOG_EIO, "cannot open session log '%s/%s': %s",
					  sl->dir, name.data, slog__errtext(errno));
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
static void drop_unheld(struct elog_slog_session *s, void *ctx)
{
	if (s->refs == 0 && !s->stop) {
		s->drop = 1;
		slog__kick(s);
		++*(size_t *)ctx;
	}
}

static size_t make_room(struct elog_sessionlog *sl)
{
	size_t n = 0;

	slog__each_ready(sl, drop_unheld, &n);
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
	b = slog__bucket_of(session_id);
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
		slog__table_remove(sl, s);
		pthread_cond_broadcast(&sl->cv);
		pthread_mutex_unlock(&sl->mu);
		slog__session_free(s);
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
		slog__kick(s);                  /* its idle deadline starts now */
	pthread_mutex_unlock(&s->mu);
}

static void add_field(struct elog_buf *b, const char *key, const char *v)
{
	elog_buf_adds(b, key);
	if (!v)
		v = "";
	elog_json_quote(b, v, strlen(v));
}

/* The frame's texts redacted (owned[] holds what was replaced, for the caller to free). A
 * private key block sent over several frames of a session is followed per session id. */
static void redact_frame(struct elog_sessionlog *sl, const char *id, struct elog_slog_frame *f,
			 char *owned[4])
{
	const char **slots[3] = { &f->content, &f->user_id, &f->role };
	uint64_t fired;

	for (int k = 0; k < 3; k++) {
		const char *t = *slots[k] ? *slots[k] : "";

		owned[k] = elog_redact_text(sl->o.redact, k == 0 ? sl->redact_streams : NULL, id, t,
					    strlen(t), &fired);
		if (owned[k])
			*slots[k] = owned[k];
	}
	if (f->metadata_json && *f->metadata_json) {
		owned[3] = elog_redact_json(sl->o.redact, f->metadata_json,
					    strlen(f->metadata_json), &fired);
		if (owned[3])
			f->metadata_json = owned[3];
	}
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

	struct elog_slog_frame red = *f;
	char *owned[4] = { NULL, NULL, NULL, NULL };

	if (sl->o.redact)
		redact_frame(sl, s->id, &red, owned);
	f = &red;
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
	for (int k = 0; k < 4; k++)
		free(owned[k]);
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
		slog__kick(s);
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
		slog__kick(s);
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
		slog__kick(s);
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
	DIR *d = slog__dir_list(sl);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		size_t n = strlen(nm), stemlen;
		int64_t a, b;
		int gz;

		if (n > 7 && strcmp(nm + n - 7, ".gz.tmp") == 0) {
			unlinkat(sl->dirfd, nm, 0);
		} else if (slog__parse_rotated_any(nm, &stemlen, &a, &b, &gz) && !gz) {
			struct elog_buf g = ELOG_BUF_INIT;
			struct stat st;
			char *stem = xstrndup(nm, stemlen);

			elog_buf_addf(&g, "%s.gz", nm);
			if (fstatat(sl->dirfd, g.data, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode))
				unlinkat(sl->dirfd, nm, 0);   /* its .gz was complete */
			else if (sl->o.compression == ELOG_SLOG_GZIP)
				slog__queue_job(sl, nm, stem, NULL);
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
	if (sl->o.redact)
		sl->redact_streams = elog_redact_streams_new();
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
	if (pthread_create(&sl->cth, NULL, slog__compressor_main, sl) == 0)
		sl->cth_started = 1;
	for (sl->nworkers = 0; sl->nworkers < NWORKERS; sl->nworkers++)
		if (pthread_create(&sl->workers[sl->nworkers], NULL, slog__writer_main, sl) != 0)
			break;
	if (pthread_create(&sl->sweeper, NULL, slog__sweeper_main, sl) == 0)
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
			slog__kick(s);
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
	elog_redact_streams_free(sl->redact_streams);
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

