/*
 * multiline.h — joining the continuation lines of a text stream (stack traces, indented
 * lines) into the record they belong to. One joiner per stream: `elog send` has one for
 * standard input, `elog tail` one per followed file and one per stream of a command.
 *
 * Lines go in with elog_multiline_line; whole records come out through the emit callback,
 * in order. A record ends when a line arrives that is not a continuation, at the caller's
 * elog_multiline_tick once ELOG_ML_QUIET_NS passed without a line (the caller's clock: now_ns
 * is whatever monotonic time it passes), or at elog_multiline_flush. A record never holds
 * more than ELOG_ML_MAX_LINES lines nor more than ELOG_MAX_LINE bytes: at a limit it is
 * emitted marked as cut, and the rest goes on in the next record.
 *
 * Modes: "auto" (the default) knows Java, Python, Go, Node.js, Ruby and .NET stack traces
 * and indented continuation lines; "none" emits every line as it comes (no copy, no wait);
 * any other text is a POSIX extended regular expression saying what a first line looks like
 * (every other line continues the record before it).
 */
#ifndef ELOG_MULTILINE_H
#define ELOG_MULTILINE_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>

#include "common/record.h"
#include "common/util.h"

#define ELOG_ML_QUIET_NS (200 * 1000000LL)   /* a record ends after this long without a line */
#define ELOG_ML_MAX_LINES 1000               /* lines in one record, at most */

struct elog_err;

/* A record as the joiner hands it out; everything is borrowed for the callback's duration. */
struct elog_ml_record {
	const char *text;     /* its lines joined with '\n' (no trailing newline) */
	size_t len;
	size_t lines;         /* how many input lines it holds */
	int cut;              /* a line of it was cut, or it was cut at a limit */
	int trace;            /* it looks like a stack trace */
	int64_t first_tag;    /* tag_a of its first line */
	int64_t last_tag;     /* tag_b of its last line */
};

typedef void (*elog_ml_emit_fn)(void *ctx, const struct elog_ml_record *rec);

enum elog_ml_mode { ELOG_ML_AUTO = 0, ELOG_ML_NONE = 1, ELOG_ML_REGEX = 2 };

struct elog_multiline {
	enum elog_ml_mode mode;
	regex_t re;
	int has_re;
	elog_ml_emit_fn emit;
	void *ctx;
	struct elog_buf buf;      /* the pending record's text */
	size_t lines;             /* lines in buf; 0: nothing pending */
	size_t blank_tail;        /* trailing blank lines joined tentatively (dropped at emit) */
	size_t text_end;          /* buf length before those blank lines */
	int cut, trace, state, level_known, level;
	int64_t first_tag, last_tag, last_ns;
};

/*
 * Parses spec ("auto", "none" or a regular expression; NULL is "auto") into m, which sends
 * records to emit(ctx, ...). Returns 0, or ELOG_EUSAGE with err set for a bad expression.
 * Release with elog_multiline_release (also after a failure).
 */
int elog_multiline_init(struct elog_multiline *m, const char *spec, elog_ml_emit_fn emit,
			void *ctx, struct elog_err *err);

/* Checks a --multiline value the same way (for option parsing); 0 or ELOG_EUSAGE. */
int elog_multiline_check(const char *spec, struct elog_err *err);

/*
 * One line line[0..n) (no newline; a trailing '\r' is dropped) read at now_ns; cut says it was
 * cut from a longer one. tag_a/tag_b are the caller's (a file's line offsets): a record
 * carries its first line's tag_a and its last line's tag_b. May emit the pending record, and
 * this line (JSON objects and mode none go out at once).
 */
void elog_multiline_line(struct elog_multiline *m, const char *line, size_t n, int cut,
			 int64_t tag_a, int64_t tag_b, int64_t now_ns);

/* When the pending record is due (its last line's time + ELOG_ML_QUIET_NS); 0: none. */
int64_t elog_multiline_due(const struct elog_multiline *m);

/* Emits the pending record when it is due at now_ns. */
void elog_multiline_tick(struct elog_multiline *m, int64_t now_ns);

/* Emits the pending record, if any. */
void elog_multiline_flush(struct elog_multiline *m);

/* Frees m's memory (a pending record is dropped: flush first). */
void elog_multiline_release(struct elog_multiline *m);

/* The level for a record whose text names none: a stack trace is an error, anything else
 * gets dflt (the sender's -l). What the record's first line names wins over both. */
static inline int elog_multiline_default_level(const struct elog_ml_record *rec, int dflt)
{
	return rec->trace ? ELOG_LEVEL_ERROR : dflt;
}

/* True when the line s[0..n) marks a stack trace (a frame, "Traceback", "panic:", ...). */
int elog_multiline_trace_line(const char *s, size_t n);

#endif
