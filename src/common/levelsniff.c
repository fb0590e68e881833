/*
 * levelsniff.c — the level of a plain-text line, and logfmt lines (see levelsniff.h).
 *
 * The sniffer walks the tokens at the start of the first line. A token is a level when it is
 * a level spelling in one of the forms programs print: upper case followed by a delimiter
 * ("ERROR ", "ERROR:", "WARN|", "ERRO[0000]", "ERROR/MainProcess"), any case followed by ':'
 * ("error: ", "Warning: ", "fail: "), or alone in brackets ("[warn]", "[Note]",
 * "[core:error]"). Tokens that may come before the level are skipped: timestamps and numbers,
 * month and day names, a time zone after a time, separators ("-", "|", "---"), bracketed
 * groups (looked into once: "[2024-12-03T07:50:02Z ERROR app]"), syslog "host tag[pid]:",
 * "file:12:5:" locations, a logger name before a separator, and "PHP"/"npm". Anything else
 * ends the search: the line names no level.
 */
#include "common/levelsniff.h"

#include <string.h>

#include "common/jsonline.h"
#include "common/timeparse.h"
#include "common/util.h"

static inline int is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
static inline int is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
static inline int is_alpha(unsigned char c) { return is_upper(c) || is_lower(c); }
static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int is_alnum(unsigned char c) { return is_alpha(c) || is_digit(c); }
static inline int is_blank(unsigned char c) { return c == ' ' || c == '\t'; }

/* Level spellings, lower case: elog_level_parse's and those only text lines use. Compared by
 * length first: a cheap scan (this runs on every line). */
#define SP(s, lv) { s, sizeof(s) - 1, lv }
static const struct {
	const char *name;
	unsigned char len;
	signed char level;
} spellings[] = {
	SP("info", ELOG_LEVEL_INFO), SP("error", ELOG_LEVEL_ERROR), SP("warn", ELOG_LEVEL_WARN),
	SP("warning", ELOG_LEVEL_WARN), SP("debug", ELOG_LEVEL_DEBUG), SP("trace", ELOG_LEVEL_TRACE),
	SP("fatal", ELOG_LEVEL_FATAL), SP("err", ELOG_LEVEL_ERROR), SP("inf", ELOG_LEVEL_INFO),
	SP("wrn", ELOG_LEVEL_WARN), SP("dbg", ELOG_LEVEL_DEBUG), SP("trc", ELOG_LEVEL_TRACE),
	SP("ftl", ELOG_LEVEL_FATAL), SP("eror", ELOG_LEVEL_ERROR), SP("notice", ELOG_LEVEL_INFO),
	SP("critical", ELOG_LEVEL_FATAL), SP("crit", ELOG_LEVEL_FATAL), SP("severe", ELOG_LEVEL_ERROR),
	SP("panic", ELOG_LEVEL_FATAL), SP("dpanic", ELOG_LEVEL_FATAL), SP("emerg", ELOG_LEVEL_FATAL),
	SP("emergency", ELOG_LEVEL_FATAL), SP("alert", ELOG_LEVEL_FATAL),
	SP("verbose", ELOG_LEVEL_TRACE), SP("finest", ELOG_LEVEL_TRACE), SP("finer", ELOG_LEVEL_TRACE),
	SP("fine", ELOG_LEVEL_DEBUG), SP("information", ELOG_LEVEL_INFO),
	SP("informational", ELOG_LEVEL_INFO),
	SP("fail", ELOG_LEVEL_ERROR),    /* Microsoft.Extensions.Logging console */
	SP("dbug", ELOG_LEVEL_DEBUG),
	SP("trce", ELOG_LEVEL_TRACE),
	SP("erro", ELOG_LEVEL_ERROR),    /* logrus text on a terminal: ERRO[0000] */
	SP("debu", ELOG_LEVEL_DEBUG),
	SP("trac", ELOG_LEVEL_TRACE),
	SP("fata", ELOG_LEVEL_FATAL),
	SP("pani", ELOG_LEVEL_FATAL),
	SP("log", ELOG_LEVEL_INFO),      /* PostgreSQL */
	SP("note", ELOG_LEVEL_INFO),     /* MySQL [Note] */
	SP("system", ELOG_LEVEL_INFO),   /* MySQL [System] */
};
#undef SP

/* The level a word w[0..k) spells (letters, then optional digits: DEBUG1, trace8), or -1. */
static int word_level(const char *w, size_t k)
{
	char low[16];
	size_t letters = 0;

	while (letters < k && letters < sizeof(low) &&
	       ((w[letters] >= 'a' && w[letters] <= 'z') || (w[letters] >= 'A' && w[letters] <= 'Z'))) {
		low[letters] = (char)(w[letters] | 0x20);
		letters++;
	}
	if (letters < 3 || letters > 13)
		return -1;
	if (letters < k) {
		/* postgres DEBUG1..5, apache trace1..8 */
		if (k - letters != 1 || w[letters] < '0' || w[letters] > '9' || letters != 5)
			return -1;
		if (memcmp(low, "debug", 5) == 0)
			return ELOG_LEVEL_DEBUG;
		if (memcmp(low, "trace", 5) == 0)
			return ELOG_LEVEL_TRACE;
		return -1;
	}
	for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
		if (spellings[i].len == letters && memcmp(spellings[i].name, low, letters) == 0)
			return spellings[i].level;
	return -1;
}

/* Skips blanks and ANSI escape sequences (CSI ... final byte). */
static const char *skip_blank(const char *p, const char *e)
{
	while (p < e) {
		if (is_blank((unsigned char)*p)) {
			p++;
		} else if (*p == '\033' && p + 1 < e && p[1] == '[') {
			p += 2;
			while (p < e && !((unsigned char)*p >= 0x40 && (unsigned char)*p <= 0x7e))
				p++;
			if (p < e)
				p++;
		} else {
			break;
		}
	}
	return p;
}

static const char *token_end(const char *p, const char *e)
{
	while (p < e && !is_blank((unsigned char)*p) && *p != '\033')
		p++;
	return p;
}

/* Level of a syslog severity 0-7. */
static int syslog_level(int sev)
{
	static const int map[8] = {
		ELOG_LEVEL_FATAL, ELOG_LEVEL_FATAL, ELOG_LEVEL_FATAL, ELOG_LEVEL_ERROR,
		ELOG_LEVEL_WARN, ELOG_LEVEL_INFO, ELOG_LEVEL_INFO, ELOG_LEVEL_DEBUG,
	};
	return map[sev & 7];
}

/*
 * The level a token starting at t names by the word at its start, given how it is written
 * and what follows it (e is the end of the scanned text). -1 when it names none.
 */
static int word_at(const char *t, const char *e, int in_bracket)
{
	const char *w = t;
	int nup = 0, upper, lower, cap;
	unsigned char a;

	while (w < e && is_alpha((unsigned char)*w)) {
		if (is_upper((unsigned char)*w))
			nup++;
		w++;
	}
	upper = nup == w - t;
	lower = nup == 0;
	cap = nup == 1 && is_upper((unsigned char)*t);
	if (!upper && !lower && !cap)
		return -1;
	while (w < e && is_digit((unsigned char)*w) && w - t < 14)
		w++;
	if (w == t)
		return -1;
	a = w < e ? (unsigned char)*w : '\0';
	if (is_alnum(a) || a == '_' || a == '=' || a == '.' || a == '\'' || a == '"')
		return -1;
	if (in_bracket) {
		if (a != '\0' && a != ' ' && a != ']')
			return -1;
	} else if (upper && w - t >= 3) {
		if (!(a == '\0' || a == ' ' || a == '\t' || a == ':' || a == ']' || a == '|' ||
		      a == '/' || a == '!' || a == ',' || a == '\033' || a == '[' || a == ')' ||
		      a == '-' || a == '>'))
			return -1;
	} else {
		/* lower case or capitalized: only "word:" followed by a blank or the end */
		if (a != ':' || (w + 1 < e && !is_blank((unsigned char)w[1])))
			return -1;
		/* a lower-case "panic:" is Go's panic, a stack trace, not a level word */
		if (w - t == 5 && strncmp(t, "panic", 5) == 0)
			return -1;
	}
	return word_level(t, (size_t)(w - t));
}

/* Timestamps, dates, numbers, process ids: "2024-12-03T07:50:02.123Z", "07:50:02,123:",
 * "1234#1234:", "10:00AM", "+0000", "#1234", "*5". */
static int is_timeish(const char *t, const char *q)
{
	size_t n = (size_t)(q - t);
	const char *p = t;

	if (n && (*p == '#' || *p == '*' || *p == '+'))
		p++;
	if (p >= q || !is_digit((unsigned char)*p))
		return 0;
	if (q - p >= 2 && (q[-1] == 'M' || q[-1] == 'm') &&
	    (q[-2] == 'A' || q[-2] == 'P' || q[-2] == 'a' || q[-2] == 'p'))
		q -= 2;
	for (; p < q; p++) {
		unsigned char c = (unsigned char)*p;
		if (!(is_digit(c) || c == ':' || c == '-' || c == '.' || c == ',' || c == '/' ||
		      c == '+' || c == 'T' || c == 'Z' || c == '#' || c == '_'))
			return 0;
	}
	return 1;
}

static int is_sep(const char *t, const char *q)
{
	if (q - t > 3)
		return 0;
	for (; t < q; t++)
		if (!*t || !strchr("-|>:=*#~", *t))
			return 0;
	return 1;
}

static int is_month_or_day(const char *t, const char *q)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDecMonTueWedThuFriSatSun";
	size_t n = (size_t)(q - t);

	if (n == 4 && t[3] == ',')
		n = 3;
	if (n != 3)
		return 0;
	for (size_t i = 0; i + 3 <= sizeof(names) - 1; i += 3)
		if (memcmp(names + i, t, 3) == 0)
			return 1;
	return 0;
}

/* "sshd[123]:" — a syslog tag with a process id. */
static int is_pid_tag(const char *t, const char *q)
{
	const char *b = memchr(t, '[', (size_t)(q - t));

	if (!b || b == t || q - t < 4 || q[-1] != ':' || q[-2] != ']')
		return 0;
	for (const char *p = b + 1; p < q - 2; p++)
		if (!is_digit((unsigned char)*p))
			return 0;
	return b + 1 < q - 2;
}

/* "src/main.c:12:5:", "app.py:7:" — a source location before a compiler's "error:". */
static int is_location(const char *t, const char *q)
{
	const char *c = memchr(t, ':', (size_t)(q - t));

	if (!c || c == t || q[-1] != ':' || c + 1 >= q || !is_digit((unsigned char)c[1]))
		return 0;
	for (const char *p = c; p < q; p++)
		if (!(is_digit((unsigned char)*p) || *p == ':'))
			return 0;
	return 1;
}

static int is_hostish(const char *t, const char *q)
{
	for (; t < q; t++)
		if (!(is_alnum((unsigned char)*t) || *t == '.' || *t == '-' || *t == '_'))
			return 0;
	return 1;
}

static int scan(const char *p, const char *e, int depth);

/* The level a bracketed group [b, q) (without the brackets) names, or -1. */
static int bracket_level(const char *b, const char *q, int depth)
{
	const char *s = b, *t = q, *c;
	int lv;

	while (s < t && *s == ' ')
		s++;
	while (t > s && t[-1] == ' ')
		t--;
	if (s == t)
		return -1;
	c = memchr(s, ':', (size_t)(t - s));
	if (c && c + 1 < t && is_alpha((unsigned char)c[1])) {   /* apache [core:error] */
		lv = word_at(c + 1, t, 1);
		if (lv >= 0 && c + 1 + 3 <= t)
			return lv;
	}
	lv = word_at(s, t, 1);
	if (lv >= 0) {
		const char *w = s;
		while (w < t && is_alnum((unsigned char)*w))
			w++;
		if (w == t)
			return lv;
	}
	return depth == 0 ? scan(b, q, depth + 1) : -1;
}

/* Walks the tokens of [p, e) (see the top of this file). */
static int scan(const char *p, const char *e, int depth)
{
	int ntok = 0, prev_time = 0, after_host = 0, seen_time = 0, redis = 0;

	while (ntok < 12) {
		const char *t, *q;
		int lv, was_time = prev_time, was_host = after_host;

		p = skip_blank(p, e);
		if (p >= e)
			return -1;
		prev_time = after_host = 0;
		ntok++;
		if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(e - p));
			if (!close)
				return -1;
			lv = bracket_level(p + 1, close, depth);
			if (lv >= 0)
				return lv;
			p = close + 1;
			if (p < e && *p == ':')
				p++;
			prev_time = 1;   /* a bracketed time is followed like a time */
			seen_time = 1;
			continue;
		}
		t = p;
		q = token_end(p, e);
		p = q;
		if (redis && q - t == 1 && *t && strchr(".-*#", *t))
			return *t == '#' ? ELOG_LEVEL_WARN : *t == '*' ? ELOG_LEVEL_INFO : ELOG_LEVEL_DEBUG;
		if (is_alpha((unsigned char)*t)) {
			const char *dot, *w;

			lv = word_at(t, e, 0);
			if (lv >= 0)
				return lv;
			/* PHP "Fatal error:", "Parse error:" */
			if (q - t == 5 && (memcmp(t, "Fatal", 5) == 0 || memcmp(t, "Parse", 5) == 0) &&
			    e - q >= 7 && memcmp(q, " error:", 7) == 0)
				return *t == 'F' ? ELOG_LEVEL_FATAL : ELOG_LEVEL_ERROR;
			/* monolog "app.ERROR:" */
			dot = NULL;
			for (w = t; w < q && *w != ':'; w++)
				if (*w == '.')
					dot = w;
			if (dot && dot + 1 < q && is_upper((unsigned char)dot[1])) {
				lv = word_at(dot + 1, e, 0);
				if (lv >= 0) {
					for (w = dot + 1; w < q && is_alpha((unsigned char)*w); w++)
						;
					if (w < q && *w == ':')
						return lv;
				}
			}
		}
		if (is_timeish(t, q)) {
			prev_time = seen_time = 1;
			continue;
		}
		if (is_sep(t, q) || is_month_or_day(t, q))
			continue;
		if (was_time && (q - t) >= 2 && (q - t) <= 5) {      /* time zone: UTC, CET, PST */
			const char *w = t;
			while (w < q && is_upper((unsigned char)*w))
				w++;
			if (w == q) {
				prev_time = 1;
				continue;
			}
		}
		if (ntok == 1 && q - t == 2 && is_upper((unsigned char)t[0]) && t[1] == ',')
			continue;                                    /* ruby "E, [...]" */
		if (ntok == 1 && q - t >= 3 && is_digit((unsigned char)t[0]) &&
		    q[-2] == ':' && q[-1] && strchr("XCSM", q[-1])) {
			const char *w = t;
			while (w < q - 2 && is_digit((unsigned char)*w))
				w++;
			if (w == q - 2) {                            /* redis "1234:M" */
				redis = 1;
				continue;
			}
		}
		if (ntok == 1 && ((q - t == 3 && memcmp(t, "PHP", 3) == 0) ||
				  (q - t == 3 && memcmp(t, "npm", 3) == 0)))
			continue;
		if (ntok == 1 && is_location(t, q))
			continue;
		if (is_pid_tag(t, q))
			continue;
		if (was_host && q[-1] == ':')
			continue;                                    /* syslog tag without pid */
		if (is_hostish(t, q)) {
			const char *n1 = skip_blank(q, e), *n2 = token_end(n1, e);

			if (was_time && n2 > n1 && n2[-1] == ':' && *n1 != '[' &&
			    (is_pid_tag(n1, n2) || is_hostish(n1, n2 - 1))) {
				after_host = 1;                      /* syslog "host tag:" */
				continue;
			}
			if (seen_time && n2 > n1 && is_sep(n1, n2) && (n2 - n1 == 1))
				continue;                            /* "time - logger - LEVEL" */
		}
		return -1;
	}
	return -1;
}

int elog_level_sniff(const char *s, size_t n)
{
	const char *p, *e, *nl;

	if (!s || n == 0)
		return -1;
	if (n > ELOG_SNIFF_MAX)
		n = ELOG_SNIFF_MAX;
	nl = memchr(s, '\n', n);
	e = nl ? nl : s + n;
	if (e > s && e[-1] == '\r')
		e--;
	p = skip_blank(s, e);
	if (p >= e)
		return -1;
	/* syslog priority "<3>" / RFC 5424 "<34>1 " */
	if (*p == '<') {
		int pri = 0, k = 0;
		const char *q = p + 1;
		while (q < e && is_digit((unsigned char)*q) && k < 3) {
			pri = pri * 10 + (*q - '0');
			q++;
			k++;
		}
		if (k > 0 && q < e && *q == '>' && pri <= 191)
			return syslog_level(pri);
		return -1;
	}
	/* klog / glog: "E1203 07:50:02.123456   12345 file.go:12] msg" */
	if (e - p >= 8 && *p && strchr("IWEF", *p) && is_digit((unsigned char)p[1]) &&
	    is_digit((unsigned char)p[2]) && is_digit((unsigned char)p[3]) &&
	    is_digit((unsigned char)p[4]) && p[5] == ' ' && is_digit((unsigned char)p[6]) &&
	    is_digit((unsigned char)p[7])) {
		switch (*p) {
		case 'I': return ELOG_LEVEL_INFO;
		case 'W': return ELOG_LEVEL_WARN;
		case 'E': return ELOG_LEVEL_ERROR;
		default: return ELOG_LEVEL_FATAL;
		}
	}
	return scan(p, e, 0);
}

/* ---- logfmt ------------------------------------------------------------------------------ */

static int is_key_start(unsigned char c)
{
	return is_alpha(c) || c == '_' || c == '@';
}

static int is_key_char(unsigned char c)
{
	return is_alnum(c) || c == '_' || c == '.' || c == '-' || c == '/' || c == '@';
}

struct lf_pair {
	const char *k, *v;
	size_t kn, vn;
	int quoted;
};

/* Reads the next pair at *pp (blanks skipped); 1 with *out filled, 0 at the end, -1 when
 * the text is not logfmt. */
static int lf_next(const char **pp, const char *e, struct lf_pair *out)
{
	const char *p = *pp;

	while (p < e && is_blank((unsigned char)*p))
		p++;
	if (p >= e)
		return 0;
	if (!is_key_start((unsigned char)*p))
		return -1;
	out->k = p;
	while (p < e && is_key_char((unsigned char)*p))
		p++;
	out->kn = (size_t)(p - out->k);
	if (p >= e || *p != '=')
		return -1;
	p++;
	if (p < e && *p == '"') {
		p++;
		out->v = p;
		while (p < e && *p != '"') {
			if (*p == '\\' && p + 1 < e)
				p++;
			p++;
		}
		if (p >= e)
			return -1;
		out->vn = (size_t)(p - out->v);
		out->quoted = 1;
		p++;
		if (p < e && !is_blank((unsigned char)*p))
			return -1;
	} else {
		out->v = p;
		while (p < e && !is_blank((unsigned char)*p) && *p != '"')
			p++;
		if (p < e && *p == '"')
			return -1;
		out->vn = (size_t)(p - out->v);
		out->quoted = 0;
	}
	*pp = p;
	return 1;
}

enum { LF_OTHER, LF_LEVEL, LF_MSG, LF_TIME, LF_COMP };

static int lf_class(const char *k, size_t n)
{
#define IS(s) (n == sizeof(s) - 1 && memcmp(k, s, n) == 0)
	if (IS("level") || IS("lvl") || IS("severity") || IS("loglevel") || IS("log.level"))
		return LF_LEVEL;
	if (IS("msg") || IS("message"))
		return LF_MSG;
	if (IS("time") || IS("ts") || IS("timestamp") || IS("t"))
		return LF_TIME;
	if (IS("component"))
		return LF_COMP;
	return LF_OTHER;
#undef IS
}

static const char *first_line_end(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	const char *e = nl ? nl : s + n;

	if (e > s && e[-1] == '\r')
		e--;
	return e;
}

int elog_logfmt_is(const char *s, size_t n)
{
	const char *p = s, *e, *sp;
	struct lf_pair kv;
	int pairs = 0, keyed = 0, rc;

	if (!s || n == 0 || !is_key_start((unsigned char)*s))
		return 0;
	/* cheap gate: the first word must be key=... */
	sp = memchr(s, '=', n < 64 ? n : 64);
	if (!sp)
		return 0;
	for (const char *q = s; q < sp; q++)
		if (!is_key_char((unsigned char)*q))
			return 0;
	e = first_line_end(s, n);
	while ((rc = lf_next(&p, e, &kv)) == 1) {
		int c = lf_class(kv.k, kv.kn);
		pairs++;
		if (c == LF_LEVEL || c == LF_MSG)
			keyed = 1;
	}
	return rc == 0 && pairs >= 2 && keyed;
}

/* Appends a logfmt value, unescaping a quoted one, as valid UTF-8. */
static void lf_value(struct elog_buf *b, const struct lf_pair *kv)
{
	if (!kv->quoted || !memchr(kv->v, '\\', kv->vn)) {
		elog_utf8_append(b, kv->v, kv->vn);
		return;
	}
	struct elog_buf raw = ELOG_BUF_INIT;
	for (size_t i = 0; i < kv->vn; i++) {
		char c = kv->v[i];
		if (c == '\\' && i + 1 < kv->vn) {
			c = kv->v[++i];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
		}
		elog_buf_addc(&raw, c);
	}
	elog_utf8_append(b, raw.data ? raw.data : "", raw.len);
	elog_buf_release(&raw);
}

/* Fills r from a logfmt line (elog_logfmt_is said yes); returns the ELOG_JL_* flags found. */
static int logfmt_record(const char *s, size_t n, struct elog_record *r)
{
	const char *p = s, *e = first_line_end(s, n), *rest;
	struct elog_buf fields = ELOG_BUF_INIT, msg = ELOG_BUF_INIT, v = ELOG_BUF_INIT;
	struct lf_pair kv;
	int flags = ELOG_JL_MSG, got_msg = 0, got_level = 0, got_time = 0, got_comp = 0;

	while (lf_next(&p, e, &kv) == 1) {
		int c = lf_class(kv.k, kv.kn);

		elog_buf_reset(&v);
		lf_value(&v, &kv);
		if (c == LF_MSG && !got_msg) {
			elog_buf_add(&msg, v.data ? v.data : "", v.len);
			got_msg = 1;
			continue;
		}
		if (c == LF_LEVEL && !got_level) {
			int lv = word_level(v.data ? v.data : "", v.len);
			if (lv < 0)   /* numbers: syslog 0-7, pino 10-60 */
				lv = elog_level_parse(v.data ? v.data : "", v.len);
			if (lv >= 0) {
				r->level = lv;
				got_level = 1;
				flags |= ELOG_JL_LEVEL;
				continue;
			}
		}
		if (c == LF_TIME && !got_time) {
			int64_t ts;
			if (v.len && elog_time_parse_record(v.data, v.len, &ts) == 0) {
				r->ts_ns = ts;
				got_time = 1;
				flags |= ELOG_JL_TIME;
				continue;
			}
		}
		if (c == LF_COMP && !got_comp && v.len) {
			elog_record_set(&r->component, v.data, v.len);
			got_comp = 1;
			flags |= ELOG_JL_COMPONENT;
			continue;
		}
		elog_buf_addc(&fields, fields.len ? ',' : '{');
		elog_buf_reset(&v);
		elog_utf8_append(&v, kv.k, kv.kn);
		elog_json_quote(&fields, v.data ? v.data : "", v.len);
		elog_buf_addc(&fields, ':');
		elog_buf_reset(&v);
		lf_value(&v, &kv);
		elog_json_quote(&fields, v.data ? v.data : "", v.len);
	}
	/* the later lines of a multi-line record follow the message */
	rest = memchr(s, '\n', n);
	if (rest) {
		if (msg.len)
			elog_buf_addc(&msg, '\n');
		elog_utf8_append(&msg, rest + 1, n - (size_t)(rest + 1 - s));
	}
	elog_record_take(&r->msg, elog_buf_detach(&msg));
	if (fields.len) {
		elog_buf_addc(&fields, '}');
		elog_record_take(&r->fields, elog_buf_detach(&fields));
	}
	elog_buf_release(&v);
	return flags;
}

int elog_levelsniff_refine(const char *line, size_t n, int cut, int flags, struct elog_record *r)
{
	int lv;

	if (flags & ELOG_JL_JSON) {
		if (!(flags & ELOG_JL_LEVEL) && (flags & ELOG_JL_MSG) && r->msg[0]) {
			lv = elog_level_sniff(r->msg, strnlen(r->msg, ELOG_SNIFF_MAX));
			if (lv >= 0) {
				r->level = lv;
				flags |= ELOG_JL_LEVEL;
			}
		}
		return flags;
	}
	if (!line)
		return flags;
	if (!cut && n <= ELOG_MAX_LINE && elog_logfmt_is(line, n))
		return (flags & ~ELOG_JL_TRUNCATED) | logfmt_record(line, n, r);
	lv = elog_level_sniff(line, n);
	if (lv >= 0) {
		r->level = lv;
		flags |= ELOG_JL_LEVEL;
	}
	return flags;
}
