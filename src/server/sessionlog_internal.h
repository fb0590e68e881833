/*
 * sessionlog_internal.h — what the files of the session logs share (sessionlog.c: open, close,
 * acquire, append, sync; sessionlog_run.c: a session's file, the open-file bound, the writers
 * and the sweeper; sessionlog_compress.c: the compressor and retention of rotated files;
 * sessionlog_names.c: file names). Nothing outside these files includes it. The scheduling
 * and lock order are described at the top of sessionlog.c.
 */
#ifndef ELOG_SESSIONLOG_INTERNAL_H
#define ELOG_SESSIONLOG_INTERNAL_H

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

	struct elog_redact_streams *redact_streams;   /* PEM blocks split over frames */

	pthread_t cth;
	int cth_started;
	pthread_mutex_t cmu;
	pthread_cond_t ccv;
	struct cjob *jhead, *jtail;
	int cstop;

	uint64_t rotations, compressed, compress_failures, removed, evictions;   /* atomics */
};


int slog__write_all(int fd, const char *p, size_t n);
void slog__stat_add(uint64_t *c);
const char *slog__errtext(int e);
int slog__dir_open(struct elog_sessionlog *sl, const char *name, int flags, struct stat *st);
int slog__parse_rotated_any(const char *name, size_t *stemlen, int64_t *first, int64_t *last,
			     int *gz);
void slog__queue_job(struct elog_sessionlog *sl, const char *name, const char *stem,
		      const char *id);
void slog__announce(struct elog_sessionlog *sl, const char *name, const char *stem,
		     const char *id, int64_t bytes, int64_t raw);
void *slog__compressor_main(void *arg);
void slog__session_free(struct elog_slog_session *s);
unsigned slog__bucket_of(const char *id);
void slog__table_remove(struct elog_sessionlog *sl, struct elog_slog_session *s);
void slog__kick(struct elog_slog_session *s);
DIR *slog__dir_list(struct elog_sessionlog *sl);
void slog__each_ready(struct elog_sessionlog *sl,
		      void (*fn)(struct elog_slog_session *s, void *ctx), void *ctx);
void *slog__writer_main(void *arg);
void *slog__sweeper_main(void *arg);

#endif
