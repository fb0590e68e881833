/*
 * tailer.h — following files like `tail -F`, by polling: the set of files matched by paths and
 * globs, each followed by its identity (device, inode, generation, fingerprint of its head)
 * through rename rotation (the old file is drained before the new one at the same path is
 * read), copytruncate (a truncation event, then the file is read from its start again under a
 * new generation), deletion and re-creation, files that appear later, and globs that gain
 * files (re-globbed every second).
 *
 * The tailer never sends anything: elog_tailer_poll hands each complete line to a callback
 * together with its byte range; the caller ships it and, once acknowledged, advances the
 * offset in the state database (tailstate.h) itself. The tailer only reads the state database
 * when it first meets a file, and writes the row of a file it meets for the first time.
 */
#ifndef ELOG_TAILER_H
#define ELOG_TAILER_H

#include <stddef.h>
#include <stdint.h>

struct elog_err;
struct elog_tailstate;
struct elog_tailer;

enum elog_tail_kind {
	ELOG_TAIL_LINE = 0,      /* data[0..len) is a line (without its newline) */
	ELOG_TAIL_TRUNCATED = 1, /* the file shrank: it is read again from its start */
	ELOG_TAIL_GONE = 2,      /* a deleted file was drained and closed: its row may go */
	ELOG_TAIL_WAITING = 3,   /* path is a pattern that names no file to follow yet (it is
				  * watched on); data is why ("no such file", "no file matches",
				  * "is a directory", ...). Once per pattern, only before it first
				  * named a file. */
};

struct elog_tail_event {
	enum elog_tail_kind kind;
	const char *path;        /* where the file was last seen */
	const char *component;   /* base name of the path it was first seen at, without extension */
	const char *ident;       /* "dev:ino:fingerprint" (":gN" appended for generation N > 0) */
	uint64_t dev, ino;
	int64_t gen;
	int64_t offset, end;     /* the line is bytes [offset, end) of the file (newline included) */
	const char *data;
	size_t len;              /* at most ELOG_MAX_LINE */
	int cut;                 /* the line was longer than ELOG_MAX_LINE: data is its head */
	int partial;             /* sent without a newline (the file stopped growing) */
};

struct elog_tailer_opts {
	int from_end;               /* files found by the first scan and unknown to the state
				     * database start at their end */
	int64_t partial_delay_ns;   /* a last line without newline is sent after the file has not
				     * grown for this long (default 2 s) */
	int64_t rotate_grace_ns;    /* a rotated or deleted file is closed after it has not grown
				     * for this long (default 1 s) */
	int64_t reglob_ns;          /* globs are expanded again this often (default 1 s) */
};

/* Creates a tailer for patterns[0..n) (paths or globs; copied). st stays the caller's. */
int elog_tailer_new(struct elog_tailer **out, const char *const *patterns, size_t n,
		    const struct elog_tailer_opts *o, struct elog_tailstate *st,
		    struct elog_err *err);

/*
 * Scans the paths, reads what the files gained and calls fn for each event, in order. Reads at
 * most about max_bytes (then returns 1: more is waiting). fn returns 0, or non-zero to stop
 * (returned). Returns 0 when everything available was read, 1, or a negative code.
 */
int elog_tailer_poll(struct elog_tailer *t, int64_t now_ns, size_t max_bytes,
		     int (*fn)(void *ctx, const struct elog_tail_event *ev), void *ctx,
		     struct elog_err *err);

void elog_tailer_free(struct elog_tailer *t);

#endif
