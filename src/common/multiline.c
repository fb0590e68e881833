/*
 * multiline.c — joining continuation lines into records (see multiline.h).
 *
 * Auto mode is a small state machine over the lines of one stream, deciding for each line
 * whether it continues the pending record by looking at its first bytes only:
 *  - an indented line continues anything (Java "\tat", Node and .NET "    at", Python
 *    "  File", Go "\t/src/x.go:12", Ruby "\tfrom", wrapped messages);
 *  - "Caused by: " continues (Java);
 *  - an exception line ("java.lang.IllegalStateException: x", "TypeError: x") continues
 *    a log line that names a level (the line a logger prints an exception under), and
 *    "Traceback (most recent call last):" one that names error or fatal (logger.exception);
 *    otherwise they start a record of their own;
 *  - inside a Python traceback every line up to the exception line continues, and so do the
 *    "During handling of the above exception ..." chains; inside a Go panic or goroutine
 *    dump, blank lines, "goroutine N [...]:", function lines and "created by" continue;
 *    after a Node.js "file.js:N" header, its source line, caret, blank line and error follow.
 * Blank lines inside a trace are joined tentatively and dropped if the record ends there.
 * A JSON object line is always a record of its own and goes out at once.
 */
#include "common/multiline.h"

#include <string.h>

#include "common/err.h"
#include "common/levelsniff.h"
#include "common/record.h"

enum {
	ST_PLAIN = 0,   /* an ordinary first line */
	ST_EXC,         /* an exception: frames and "Caused by:" follow */
	ST_PY,          /* in a Python traceback, before its exception line */
	ST_PY_DONE,     /* after a Python exception line */
	ST_PY_CHAIN,    /* after "During handling of the above exception ...": a traceback follows */
	ST_GO,          /* a Go panic or goroutine dump */
	ST_NODE_HDR,    /* Node.js "file.js:N", its source line and caret */
	ST_NODE_EXC,    /* Node.js error after that header: frames, then "Node.js vN" */
};

#define STARTS(s, n, lit) ((n) >= sizeof(lit) - 1 && memcmp((s), (lit), sizeof(lit) - 1) == 0)

static int is_blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static int is_ident(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$';
}

/* "java.lang.IllegalStateException: x", "TypeError: x", "System.Exception", "KeyError":
 * a dotted name ending in Error, Exception or Throwable, then ':' or the end of the line. */
static int is_exception_line(const char *s, size_t n)
{
	size_t i = 0, seg = 0;

	if (n == 0 || !is_ident((unsigned char)s[0]) || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	while (i < n && (is_ident((unsigned char)s[i]) || s[i] == '.')) {
		if (s[i] == '.')
			seg = i + 1;
		i++;
	}
	if (i < n && s[i] != ':')
		return 0;
	(void)seg;
#define ENDS(lit) (i >= sizeof(lit) - 1 && memcmp(s + i - (sizeof(lit) - 1), lit, sizeof(lit) - 1) == 0)
	return ENDS("Error") || ENDS("Exception") || ENDS("Throwable");
#undef ENDS
}

/* Node.js's header of an uncaught error: "/app/x.js:12" (or "file:///...", "node:..."). */
static int is_node_header(const char *s, size_t n)
{
	size_t i = n;

	while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
		i--;
	if (i == n || i < 4 || s[i - 1] != ':')
		return 0;
	i--;
	for (size_t k = 0; k < i; k++)
		if (s[k] == ' ' || s[k] == '\t')
			return 0;
	return (i >= 3 && memcmp(s + i - 3, ".js", 3) == 0) ||
	       (i >= 4 && (memcmp(s + i - 4, ".mjs", 4) == 0 || memcmp(s + i - 4, ".cjs", 4) == 0 ||
			   memcmp(s + i - 3, ".ts", 3) == 0));
}

/* A Go function line of a goroutine stack: "main.main()", "main.(*T).f(0x1, {0x2, 0x3})". */
static int is_go_func(const char *s, size_t n)
{
	const char *paren;

	if (n < 3 || s[n - 1] != ')')
		return 0;
	paren = memchr(s, '(', n);
	if (!paren)
		return 0;
	for (const char *p = s; p < paren; p++)
		if (*p == ' ' || *p == '\t')
			return 0;
	return 1;
}

static int is_go_start(const char *s, size_t n)
{
	if (STARTS(s, n, "panic: ") || STARTS(s, n, "fatal error: "))
		return 1;
	if (STARTS(s, n, "goroutine ") && n > 10 && s[10] >= '0' && s[10] <= '9' &&
	    memchr(s, '[', n))
		return 1;
	return 0;
}

int elog_multiline_trace_line(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i > 0) {
		const char *p = s + i;
		size_t k = n - i;
		if (STARTS(p, k, "at ") && k > 3 && p[3] != ' ' &&
		    (memchr(p, '(', k) || memchr(p, ':', k)))
			return 1;                             /* Java, Node.js, .NET frames */
		if (STARTS(p, k, "from ") && k > 5 && memchr(p, ':', k))
			return 1;                             /* Ruby */
		if (STARTS(p, k, "File \""))
			return 1;                             /* Python */
		if (STARTS(p, k, "... ") && k > 9 && memcmp(p + k - 5, " more", 5) == 0)
			return 1;                             /* Java "... 2 more" */
		if (STARTS(p, k, "--- End of inner exception stack trace ---"))
			return 1;                             /* .NET */
		return 0;
	}
	return STARTS(s, n, "Traceback (most recent call last):") || is_go_start(s, n) ||
	       STARTS(s, n, "Exception in thread \"") || STARTS(s, n, "Caused by: ") ||
	       STARTS(s, n, "Unhandled exception. ") ||
	       (STARTS(s, n, "thread '") && memmem(s, n, "' panicked at ", 14) != NULL);
}

/* The state a record starting with s[0..n) begins in. */
static int first_state(const char *s, size_t n)
{
	if (STARTS(s, n, "Traceback (most recent call last):"))
		return ST_PY;
	if (is_go_start(s, n))
		return ST_GO;
	if (STARTS(s, n, "Exception in thread \"") || STARTS(s, n, "Unhandled exception. ") ||
	    is_exception_line(s, n))
		return ST_EXC;
	if (is_node_header(s, n))
		return ST_NODE_HDR;
	return ST_PLAIN;
}

/* The level the pending record's first line names (a logger's line), -1 when none. */
static int first_level(struct elog_multiline *m)
{
	if (!m->level_known) {
		const char *s = m->buf.data;
		size_t n = m->buf.len;
		const char *nl = memchr(s, '\n', n);

		if (nl)
			n = (size_t)(nl - s);
		m->level = elog_level_sniff(s, n);
		if (m->level < 0 && elog_logfmt_is(s, n))
			m->level = ELOG_LEVEL_INFO;
		m->level_known = 1;
	}
	return m->level;
}

/* Decides whether s[0..n) continues the pending record (updating the state). */
static int continues(struct elog_multiline *m, const char *s, size_t n)
{
	int blank = is_blank_line(s, n), indented = !blank && (s[0] == ' ' || s[0] == '\t');

	switch (m->state) {
	case ST_PY:
		if (!blank && !indented)
			m->state = ST_PY_DONE;   /* the exception line ends the traceback */
		return 1;
	case ST_PY_DONE:
	case ST_PY_CHAIN:
		if (blank || indented)
			return 1;
		if (STARTS(s, n, "During handling of the above exception, another exception occurred:") ||
		    STARTS(s, n, "The above exception was the direct cause of the following exception:")) {
			m->state = ST_PY_CHAIN;
			return 1;
		}
		if (m->state == ST_PY_CHAIN && STARTS(s, n, "Traceback (most recent call last):")) {
			m->state = ST_PY;
			return 1;
		}
		return 0;
	case ST_GO:
		return blank || indented || is_go_func(s, n) || STARTS(s, n, "created by ") ||
		       STARTS(s, n, "goroutine ") || s[0] == '[' ||
		       STARTS(s, n, "...additional frames elided...");
	case ST_NODE_HDR:
		if (m->lines == 1 || blank || indented)
			return 1;
		if (is_exception_line(s, n)) {
			m->state = ST_NODE_EXC;
			return 1;
		}
		return 0;
	case ST_NODE_EXC:
		if (blank || indented)
			return 1;
		if (STARTS(s, n, "Node.js v")) {
			m->state = ST_PLAIN;
			return 1;
		}
		return 0;
	default:
		break;
	}
	if (blank)
		return 0;
	if (indented || STARTS(s, n, "Caused by: "))
		return 1;
	if (is_exception_line(s, n) && (m->state == ST_PLAIN) && first_level(m) >= 0) {
		m->state = ST_EXC;
		return 1;
	}
	/* Python's logger.exception prints its traceback under an ERROR line; an uncaught
	 * exception after a warning is a record of its own */
	if (STARTS(s, n, "Traceback (most recent call last):") && m->state == ST_PLAIN &&
	    first_level(m) >= ELOG_LEVEL_ERROR) {
		m->state = ST_PY;
		return 1;
	}
	return 0;
}

static void emit_pending(struct elog_multiline *m)
{
	struct elog_ml_record rec;

	if (m->lines == 0)
		return;
	rec.text = m->buf.data ? m->buf.data : "";
	rec.len = m->blank_tail ? m->text_end : m->buf.len;
	rec.lines = m->lines;
	rec.cut = m->cut;
	rec.trace = m->trace;
	rec.first_tag = m->first_tag;
	rec.last_tag = m->last_tag;
	m->emit(m->ctx, &rec);
	elog_buf_reset(&m->buf);
	m->lines = 0;
	m->blank_tail = 0;
	m->cut = m->trace = 0;
	m->state = ST_PLAIN;
	m->level_known = 0;
}

static void emit_now(struct elog_multiline *m, const char *s, size_t n, int cut, int64_t a,
		     int64_t b)
{
	struct elog_ml_record rec = { s, n, 1, cut, 0, a, b };

	m->emit(m->ctx, &rec);
}

static void start(struct elog_multiline *m, const char *s, size_t n, int cut, int64_t a, int64_t b)
{
	elog_buf_reset(&m->buf);
	elog_buf_add(&m->buf, s, n);
	m->lines = 1;
	m->blank_tail = 0;
	m->cut = cut;
	m->first_tag = a;
	m->last_tag = b;
	m->level_known = 0;
}

static void append(struct elog_multiline *m, const char *s, size_t n, int cut, int64_t a, int64_t b)
{
	if (m->lines >= ELOG_ML_MAX_LINES || m->buf.len + 1 + n > ELOG_MAX_LINE) {
		/* at a limit: this record is cut here, the rest goes on in the next one */
		int state = m->state, trace = m->trace;

		m->cut = 1;
		emit_pending(m);
		start(m, s, n, cut, a, b);
		m->state = state;
		m->trace = trace;
		return;
	}
	if (is_blank_line(s, n)) {
		if (m->blank_tail == 0)
			m->text_end = m->buf.len;
		m->blank_tail++;
	} else {
		m->blank_tail = 0;
	}
	elog_buf_addc(&m->buf, '\n');
	elog_buf_add(&m->buf, s, n);
	m->lines++;
	m->cut |= cut;
	m->last_tag = b;
}

void elog_multiline_line(struct elog_multiline *m, const char *line, size_t n, int cut,
			 int64_t tag_a, int64_t tag_b, int64_t now_ns)
{
	if (!line)
		line = "", n = 0;
	if (!cut && n > 0 && line[n - 1] == '\r')
		n--;
	if (m->mode == ELOG_ML_NONE) {
		emit_now(m, line, n, cut, tag_a, tag_b);
		return;
	}
	m->last_ns = now_ns;
	if (m->mode == ELOG_ML_REGEX) {
		int first = m->lines == 0;

		if (!first) {
			regmatch_t pm[1];

			pm[0].rm_so = 0;
			pm[0].rm_eo = (regoff_t)n;
			first = regexec(&m->re, line, 1, pm, REG_STARTEND) == 0;
		}
		if (first) {
			emit_pending(m);
			start(m, line, n, cut, tag_a, tag_b);
			m->trace = elog_multiline_trace_line(line, n);
		} else {
			append(m, line, n, cut, tag_a, tag_b);
			m->trace |= elog_multiline_trace_line(line, n);
		}
		return;
	}
	if (n > 0 && line[0] == '{') {
		/* a JSON object is a record of its own */
		emit_pending(m);
		emit_now(m, line, n, cut, tag_a, tag_b);
		return;
	}
	if (m->lines > 0 && continues(m, line, n)) {
		append(m, line, n, cut, tag_a, tag_b);
		if (!m->trace && elog_multiline_trace_line(line, n))
			m->trace = 1;
		return;
	}
	emit_pending(m);
	start(m, line, n, cut, tag_a, tag_b);
	m->state = first_state(line, n);
	m->trace = m->state == ST_PY || m->state == ST_GO ||
		   (m->state == ST_EXC && !is_exception_line(line, n)) ||
		   (line[0] != ' ' && line[0] != '\t' && n > 0 && elog_multiline_trace_line(line, n));
}

int64_t elog_multiline_due(const struct elog_multiline *m)
{
	return m->lines ? m->last_ns + ELOG_ML_QUIET_NS : 0;
}

void elog_multiline_tick(struct elog_multiline *m, int64_t now_ns)
{
	if (m->lines && now_ns - m->last_ns >= ELOG_ML_QUIET_NS)
		emit_pending(m);
}

void elog_multiline_flush(struct elog_multiline *m)
{
	emit_pending(m);
}

static int parse_spec(const char *spec, enum elog_ml_mode *mode, regex_t *re, int *has_re,
		      struct elog_err *err)
{
	int rc;

	*has_re = 0;
	if (!spec || strcmp(spec, "auto") == 0) {
		*mode = ELOG_ML_AUTO;
		return 0;
	}
	if (strcmp(spec, "none") == 0) {
		*mode = ELOG_ML_NONE;
		return 0;
	}
	if (!*spec)
		return elog_err_set(err, ELOG_EUSAGE, "invalid --multiline '': expected auto, none or a regular expression");
	rc = regcomp(re, spec, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char msg[128];

		regerror(rc, re, msg, sizeof(msg));
		return elog_err_set(err, ELOG_EUSAGE, "invalid --multiline regular expression '%s': %s",
				    spec, msg);
	}
	*mode = ELOG_ML_REGEX;
	*has_re = 1;
	return 0;
}

int elog_multiline_check(const char *spec, struct elog_err *err)
{
	enum elog_ml_mode mode;
	regex_t re;
	int has_re, rc = parse_spec(spec, &mode, &re, &has_re, err);

	if (has_re)
		regfree(&re);
	return rc;
}

int elog_multiline_init(struct elog_multiline *m, const char *spec, elog_ml_emit_fn emit,
			void *ctx, struct elog_err *err)
{
	memset(m, 0, sizeof(*m));
	m->emit = emit;
	m->ctx = ctx;
	return parse_spec(spec, &m->mode, &m->re, &m->has_re, err);
}

void elog_multiline_release(struct elog_multiline *m)
{
	if (m->has_re)
		regfree(&m->re);
	m->has_re = 0;
	elog_buf_release(&m->buf);
	m->lines = 0;
}
