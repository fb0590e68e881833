/*
 * sessionlog.h — the per-session log files of logging.v1 (contracts.md §2).
 *
 * One writer at a time per session: a session's frames are queued by any number of calls and
 * written by one of 4 writer threads shared by all sessions to `<name>.logtmp` in the log
 * directory, one JSON object a line: {"time","seq","session_id","user_id","role","content",
 * "metadata"}. <name> is the session id made safe for a file name (elog_slog_file_name): no
 * path separators, no control characters, no leading dot, and two ids never share a name.
 * A sweeper thread wakes each session at its next deadline (fsync, age or idle rotation,
 * closing), looking at least once a second (or once a flush interval when shorter).
 *
 * Bounded resources: at most max_sessions sessions are open (acquired, or not yet closed by
 * the idle time). Acquiring a new one at the limit first closes every session no call holds
 * (its file fsynced and closed, not rotated: a session that comes back appends to it) and
 * waits up to 2 s for room; it fails with ELOG_EFULL when every open session is held. At most max_open session files
 * are open (plus one per writer thread at worst): opening one more first fsyncs and closes
 * the file of the session written least recently, which reopens it and appends when written
 * again (its age for rotation is kept).
 *
 * The log directory must belong to this user and be writable by nobody else (elog_slog_open
 * refuses it otherwise), and no file in it is opened through a symbolic link (O_NOFOLLOW on
 * every open; rename replaces a link rather than following it): a planted link makes the
 * session's writes fail ("it is a symbolic link (refused)") and its target is never touched.
 *
 * The writer write()s what is queued at once and fsyncs every flush interval, at rotation, at
 * shutdown, and when a caller asks (elog_slog_sync), so one fsync covers every frame queued
 * before it. A file is rotated when the next line would pass the size limit, when it is older
 * than the age limit, and when the session was idle for the idle time: it is fsynced and
 * renamed to `<name>.<YYYYMMDDTHHMMSS.nnnnnnnnnZ>.<first seq>-<last seq>.log` (UTC rotation
 * time). A separate worker then gzips it (written to `<rotated>.gz.tmp`, fsynced, renamed to
 * `<rotated>.gz`, and only then the `.log` is removed) and applies the retention count;
 * writers never wait for it. An idle session with no call using it closes its file and is
 * forgotten.
 *
 * seq: a frame without one (0) gets the session's counter + 1; a frame with one keeps it. The
 * counter is the highest seq the session has seen, so a seq that goes backwards is written as
 * given and does not move the counter back: assigned numbers stay above every seq seen. After
 * a restart the counter is recovered from the files: every line of the current `.logtmp` and
 * the last seq in the names of rotated files (exact unless a rotated segment's highest seq was
 * not its last line). An incomplete last line left by a crash is cut off when the file is
 * reopened (it was never acknowledged).
 *
 * Bounded memory: each session admits at most queue_max frames that are not yet durable
 * (queued, or written and waiting for the next fsync) and queue_bytes bytes of queued lines;
 * beyond that elog_slog_append fails with ELOG_EFULL instead of waiting (and the writer is
 * asked to fsync at once, so the queue drains without waiting for the flush interval). Set
 * queue_max above the frames a session receives in one flush interval.
 */
#ifndef ELOG_SESSIONLOG_H
#define ELOG_SESSIONLOG_H

#include <stddef.h>
#include <stdint.h>

struct elog_err;
struct elog_buf;
struct elog_sessionlog;
struct elog_slog_session;
struct elog_slog_segment;

enum elog_slog_compression { ELOG_SLOG_GZIP = 0, ELOG_SLOG_NONE = 1 };

struct elog_slog_opts {
	const char *dir;             /* created (mode 0700) when missing */
	int64_t max_size;            /* bytes per file; 0: 64 MiB */
	int64_t max_age_ns;          /* 0: 3600 s */
	int64_t idle_ns;             /* 0: 300 s */
	int64_t flush_interval_ns;   /* 0: 200 ms */
	int compression;             /* enum elog_slog_compression */
	long backup_count;           /* rotated files kept per session; 0: all */
	size_t queue_max;            /* frames not yet durable per session; 0: 65536 */
	size_t queue_bytes;          /* bytes queued per session; 0: 64 MiB */
	size_t max_sessions;         /* sessions open at once; 0: 4096 */
	size_t max_open;             /* session files open at once; 0: 256 */
	/* Called once per finished segment, right after its final rename: on the compressor
	 * thread after `<rotated>.gz` is in place (gzip), on the session's writer thread after the
	 * rotation (none). Must not block. May be NULL. */
	void (*on_segment)(void *arg, const struct elog_slog_segment *seg);
	void *on_segment_arg;
	/* Borrowed, outlives the log; NULL: none. Applied in elog_slog_append to what a line
	 * holds (content, user_id, role, metadata) before it is queued: the files never hold a
	 * secret (the hub redacts the record it stores from the same frame on its own). */
	struct elog_redactor *redact;
};

/* A finished segment (valid during the on_segment call only). */
struct elog_slog_segment {
	const char *session_id;      /* NULL for a file left by an earlier run whose name is hashed */
	const char *path;            /* "<dir>/<rotated name>[.gz]" */
	int64_t first_seq, last_seq;
	int64_t bytes;               /* size of path */
	int64_t raw_bytes;           /* size before compression */
	int compression;             /* enum elog_slog_compression */
	int64_t time_ns;             /* when it was finished */
};

/* The segment as one JSON object, no newline: {"session","path","first_seq","last_seq",
 * "bytes","raw_bytes","compression","time"}. Appends to out. */
void elog_slog_segment_json(struct elog_buf *out, const struct elog_slog_segment *seg);

/* One frame as received. Strings are valid UTF-8 (NULL counts as ""); metadata_json is a
 * JSON value written as is ({} when NULL or ""). */
struct elog_slog_frame {
	int64_t time_ns;             /* 0: now */
	int64_t seq;                 /* 0: assign the next one */
	const char *session_id;      /* not empty */
	const char *user_id;
	const char *role;
	const char *content;
	const char *metadata_json;
};

/* Opens the log directory: creates it (0700), refuses it (ELOG_EUSAGE, naming it) when it is
 * not this user's or is writable by its group or others, removes unfinished `.gz.tmp` files,
 * and queues for compression the rotated files an earlier run left uncompressed. Starts the
 * writers, the sweeper and the compressor. */
int elog_slog_open(struct elog_sessionlog **out, const struct elog_slog_opts *o,
		   struct elog_err *err);

/* Ends every session (its queue written, fsynced and the file closed, not rotated), stops the
 * writers, lets the compressor finish its queue, and frees everything. No session may still
 * be acquired. */
void elog_slog_close(struct elog_sessionlog *sl);

/* The session of id, opened (files scanned, counter recovered) on first use; the caller holds
 * it until elog_slog_release. Returns 0 or ELOG_EIO / ELOG_EUSAGE (empty id) / ELOG_EFULL
 * (max_sessions open: "too many open sessions ... (limit of open sessions: N ...)") with
 * err. */
int elog_slog_acquire(struct elog_sessionlog *sl, const char *session_id,
		      struct elog_slog_session **out, struct elog_err *err);
void elog_slog_release(struct elog_slog_session *s);

/* Queues f (f->session_id is ignored: s decides). Sets *seq to the frame's seq and *ticket to
 * what elog_slog_sync waits for. Never blocks on I/O. Returns 0, ELOG_EFULL when the session's
 * queue is full, or ELOG_EIO when its file failed; err says which. */
int elog_slog_append(struct elog_slog_session *s, const struct elog_slog_frame *f,
		     int64_t *seq, uint64_t *ticket, struct elog_err *err);

/* Waits until every frame up to ticket is written and fsynced (asking the writer to fsync
 * now). Returns 0, or ELOG_EIO with err when the file failed or the log is closing. */
int elog_slog_sync(struct elog_slog_session *s, uint64_t ticket, struct elog_err *err);

/* The file name stem of a session id: bytes outside [A-Za-z0-9._-] and a leading '.' become
 * %XX; an id whose stem would pass 96 bytes keeps a prefix of it followed by '~' and the
 * SHA-256 of the id in hex. Appends to out. */
void elog_slog_file_name(struct elog_buf *out, const char *id, size_t n);

/* The name of a rotated file: "<stem>.<YYYYMMDDTHHMMSS.nnnnnnnnnZ>.<first>-<last>.log". */
void elog_slog_rotated_name(struct elog_buf *out, const char *stem, int64_t ns, int64_t first,
			    int64_t last);

/* Parses name as a rotated file of stem ("….log" or "….log.gz"): returns 1 and sets *first,
 * *last (either may be NULL) and *gz, or 0 when name is not one. */
int elog_slog_parse_rotated(const char *name, const char *stem, int64_t *first, int64_t *last,
			    int *gz);

/* Counters for tests. */
struct elog_slog_stats {
	uint64_t rotations;
	uint64_t compressed;
	uint64_t compress_failures;
	uint64_t removed;            /* by retention */
	uint64_t evictions;          /* files closed to make room for another */
	size_t sessions;             /* open now */
	size_t open_files;           /* session files open now */
	size_t open_files_peak;      /* the most open at once */
};
void elog_slog_stats(struct elog_sessionlog *sl, struct elog_slog_stats *out);

#endif
