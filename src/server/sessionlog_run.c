/*
 * sessionlog_run.c — a session's file (open, write, rotate, close), the bound on open files (least recently written closed first), the writer threads and the sweeper.
 * Locking: the top of sessionlog.c.
 */
#include "server/sessionlog_internal.h"

/* ---- a session's file ------------------------------------------------------------------------ */

static void set_failed(struct elog_slog_session *s, const char *what, int e)
{
	if (s->failed)
		return;
	s->failed = 1;
	snprintf(s->failmsg, sizeof(s->failmsg), "cannot %s session log '%.200s/%.120s.logtmp': %s",
		 what, s->sl->dir, s->stem, slog__errtext(e));
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
	slog__kick(v);                          /* it may have work that arrived meanwhile */
	pthread_mutex_unlock(&v->mu);
	slog__stat_add(&sl->evictions);
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
	fd = slog__dir_open(sl, name.data, O_WRONLY | O_APPEND, &st);
	if (fd < 0 && errno == ENOENT) {
		fd = slog__dir_open(sl, name.data, O_WRONLY | O_APPEND | O_CREAT | O_EXCL, &st);
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
	if (slog__write_all(s->fd, s->wbuf.data, s->wbuf.len) != 0) {
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
	slog__stat_add(&sl->rotations);
	if (sl->o.compression != ELOG_SLOG_GZIP &&
	    fstatat(sl->dirfd, to.data, &st, AT_SYMLINK_NOFOLLOW) == 0)
		slog__announce(sl, to.data, s->stem, s->id, st.st_size, st.st_size);
	if (sl->o.compression == ELOG_SLOG_GZIP || sl->o.backup_count > 0)
		slog__queue_job(sl, to.data, s->stem, s->id);
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

void slog__session_free(struct elog_slog_session *s)
{
	free_items(s->head);
	elog_buf_release(&s->wbuf);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->done);
	free(s->id);
	free(s->stem);
	free(s);
}

unsigned slog__bucket_of(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % NBUCKETS;
}

/* Under sl->mu. */
void slog__table_remove(struct elog_sessionlog *sl, struct elog_slog_session *s)
{
	struct elog_slog_session **pp = &sl->buckets[slog__bucket_of(s->id)];

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
void slog__kick(struct elog_slog_session *s)
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
				slog__kick(s);
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
			slog__stat_add(&sl->evictions);
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
	slog__table_remove(sl, s);
	pthread_cond_broadcast(&sl->cv);
	pthread_mutex_unlock(&sl->mu);
	slog__session_free(s);
}

void *slog__writer_main(void *arg)
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
struct sweep {
	int64_t now, next;      /* in: now and the latest wake-up; out: the earliest deadline */
};

static void sweep_one(struct elog_slog_session *s, void *ctx)
{
	struct sweep *sw = ctx;

	if (s->deadline <= sw->now)
		slog__kick(s);
	else if (s->deadline < sw->next)
		sw->next = s->deadline;
}

void *slog__sweeper_main(void *arg)
{
	struct elog_sessionlog *sl = arg;
	int64_t tick = sl->o.flush_interval_ns < SWEEP_MAX ? sl->o.flush_interval_ns : SWEEP_MAX;

	if (tick < SWEEP_MIN)
		tick = SWEEP_MIN;

	pthread_mutex_lock(&sl->rq_mu);
	while (!sl->wstop) {
		int64_t now = elog_mono_ns(), next = now + tick;

		sl->sweep_at = INT64_MIN;     /* no wake-ups while we look (we sleep a tick at most) */
		pthread_mutex_unlock(&sl->rq_mu);
		pthread_mutex_lock(&sl->mu);
		struct sweep sw = { now, next };

		slog__each_ready(sl, sweep_one, &sw);
		next = sw.next;
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
