/*
 * record.c — the record model and level names, spellings and filters.
 */
#include "common/record.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/util.h"

/*
 * Empty strings of a record share this one static "" so that init and clear allocate
 * nothing (a cleared record holds no memory). It is never written to or freed.
 */
static char record_empty[1];

/* Frees a record string unless it is the shared empty one. */
void elog_record_str_free(char *s)
{
	if (s != record_empty)
		free(s);
}

/* Initializes r: zero numbers, level info, every string "" (never NULL). No allocation. */
void elog_record_init(struct elog_record *r)
{
	memset(r, 0, sizeof(*r));
	r->level = ELOG_LEVEL_INFO;
	r->component = record_empty;
	r->msg = record_empty;
	r->fields = record_empty;
	r->source = record_empty;
	r->dedupe_key = record_empty;
}

/* Frees r's strings and re-initializes it; afterwards r holds no memory. */
void elog_record_clear(struct elog_record *r)
{
	elog_record_str_free(r->component);
	elog_record_str_free(r->msg);
	elog_record_str_free(r->fields);
	elog_record_str_free(r->source);
	elog_record_str_free(r->dedupe_key);
	elog_record_init(r);
}

void elog_records_free(struct elog_record *recs, size_t n)
{
	size_t i;

	if (!recs)
		return;
	for (i = 0; i < n; i++)
		elog_record_clear(&recs[i]);
	free(recs);
}

/* Replaces *slot (freeing it) with a valid-UTF-8 copy of s[0..n); "" costs no allocation. */
void elog_record_set(char **slot, const char *s, size_t n)
{
	char *p = (!s || n == 0) ? record_empty : elog_utf8_dup(s, n);
	elog_record_str_free(*slot);
	*slot = p;
}

/* Replaces *slot (freeing it) with s, a malloc'd valid-UTF-8 string the record now owns. */
void elog_record_take(char **slot, char *s)
{
	elog_record_str_free(*slot);
	if (s && s[0] == '\0') {
		free(s);
		s = record_empty;
	}
	*slot = s ? s : record_empty;
}

/* record.h */
size_t elog_record_cut_len(const char *s, size_t n, size_t max)
{
	size_t cut = max;

	if (n <= max)
		return n;
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	return cut;
}

/* record.h */
char *elog_record_msg_dup(const char *s, size_t n, int *cut)
{
	struct elog_buf b = ELOG_BUF_INIT;

	/* a few bytes past the limit tell a cut string from one that only grew by repair */
	elog_utf8_append(&b, s ? s : "", n > ELOG_MAX_LINE + 4 ? ELOG_MAX_LINE + 4 : n);
	if (cut)
		*cut = 0;
	if (b.len > ELOG_MAX_LINE) {
		b.len = elog_record_cut_len(b.data, b.len, ELOG_MAX_LINE);
		b.data[b.len] = '\0';
		elog_buf_adds(&b, ELOG_TRUNC_MARK);
		if (cut)
			*cut = 1;
	}
	return b.data ? elog_buf_detach(&b) : xstrdup("");
}

static const char *const level_names[ELOG_LEVEL_COUNT] = {
	"trace", "debug", "info", "warn", "error", "fatal",
};

/* Name of a level; "info" for out-of-range values. */
const char *elog_level_name(int level)
{
	if (level < 0 || level >= ELOG_LEVEL_COUNT)
		return "info";
	return level_names[level];
}

/* A spelling with its length, so a lookup compares lengths before letters. */
#define LV(name, level) { name, sizeof(name) - 1, level }
static const struct {
	const char *name;
	size_t len;
	int level;
} level_spellings[] = {
	LV("trace", ELOG_LEVEL_TRACE), LV("trc", ELOG_LEVEL_TRACE),
	LV("verbose", ELOG_LEVEL_TRACE), LV("finest", ELOG_LEVEL_TRACE),
	LV("finer", ELOG_LEVEL_TRACE),
	LV("debug", ELOG_LEVEL_DEBUG), LV("dbg", ELOG_LEVEL_DEBUG), LV("fine", ELOG_LEVEL_DEBUG),
	LV("info", ELOG_LEVEL_INFO), LV("information", ELOG_LEVEL_INFO),
	LV("informational", ELOG_LEVEL_INFO), LV("notice", ELOG_LEVEL_INFO),
	LV("inf", ELOG_LEVEL_INFO),
	LV("warn", ELOG_LEVEL_WARN), LV("warning", ELOG_LEVEL_WARN), LV("wrn", ELOG_LEVEL_WARN),
	LV("error", ELOG_LEVEL_ERROR), LV("err", ELOG_LEVEL_ERROR), LV("eror", ELOG_LEVEL_ERROR),
	LV("severe", ELOG_LEVEL_ERROR),
	LV("fatal", ELOG_LEVEL_FATAL), LV("critical", ELOG_LEVEL_FATAL),
	LV("crit", ELOG_LEVEL_FATAL), LV("panic", ELOG_LEVEL_FATAL),
	LV("dpanic", ELOG_LEVEL_FATAL), LV("emerg", ELOG_LEVEL_FATAL),
	LV("emergency", ELOG_LEVEL_FATAL), LV("alert", ELOG_LEVEL_FATAL),
	LV("ftl", ELOG_LEVEL_FATAL),
};
#undef LV

/* Level for a syslog (0-7) or bunyan/pino (10-60) integer; -1 otherwise. */
static int level_from_int(long v)
{
	switch (v) {
	case 0: case 1: case 2: return ELOG_LEVEL_FATAL;
	case 3: return ELOG_LEVEL_ERROR;
	case 4: return ELOG_LEVEL_WARN;
	case 5: case 6: return ELOG_LEVEL_INFO;
	case 7: return ELOG_LEVEL_DEBUG;
	case 10: return ELOG_LEVEL_TRACE;
	case 20: return ELOG_LEVEL_DEBUG;
	case 30: return ELOG_LEVEL_INFO;
	case 40: return ELOG_LEVEL_WARN;
	case 50: return ELOG_LEVEL_ERROR;
	case 60: return ELOG_LEVEL_FATAL;
	default: return -1;
	}
}

/* Normalizes a textual level (names, syslog and pino numbers); -1 when not recognized.
 * Surrounding spaces are ignored. */
int elog_level_parse(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || n > 16)
		return -1;
	if (isdigit((unsigned char)s[0])) {
		long v = 0;
		for (size_t i = 0; i < n; i++) {
			if (!isdigit((unsigned char)s[i]))
				return -1;
			v = v * 10 + (s[i] - '0');
			if (v > 1000)
				return -1;
		}
		return level_from_int(v);
	}
	for (size_t i = 0; i < sizeof(level_spellings) / sizeof(level_spellings[0]); i++) {
		const char *name = level_spellings[i].name;
		if (level_spellings[i].len == n && (name[0] | 0x20) == (s[0] | 0x20) &&
		    strncasecmp(name, s, n) == 0)
			return level_spellings[i].level;
	}
	return -1;
}

/* Level for a JSON number: syslog 0-7, bunyan/pino 10-60; -1 when not recognized. */
int elog_level_from_number(double v)
{
	if (!(v >= 0 && v <= 1000))
		return -1;
	long i = (long)v;
	if ((double)i != v)
		return -1;
	return level_from_int(i);
}

/* Parses one level name in a filter spec, trimming spaces; -1 when unknown. */
static int filter_level(const char *s, size_t n)
{
	return elog_level_parse(s, n);
}

/* Parses a level filter (list, "x+", ">=x", "<=x") into bit mask *mask. */
int elog_level_filter_parse(const char *spec, unsigned *mask, struct elog_err *err)
{
	const char *s = spec ? spec : "";
	size_t n = strlen(s);
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	unsigned m = 0;
	if (n >= 2 && s[0] == '>' && s[1] == '=') {
		int lv = filter_level(s + 2, n - 2);
		if (lv < 0)
			goto bad;
		for (int i = lv; i < ELOG_LEVEL_COUNT; i++)
			m |= 1u << i;
	} else if (n >= 2 && s[0] == '<' && s[1] == '=') {
		int lv = filter_level(s + 2, n - 2);
		if (lv < 0)
			goto bad;
		for (int i = 0; i <= lv; i++)
			m |= 1u << i;
	} else if (n >= 1 && s[n - 1] == '+') {
		int lv = filter_level(s, n - 1);
		if (lv < 0)
			goto bad;
		for (int i = lv; i < ELOG_LEVEL_COUNT; i++)
			m |= 1u << i;
	} else {
		const char *p = s, *end = s + n;
		if (n == 0)
			goto bad;
		while (p <= end) {
			const char *c = memchr(p, ',', (size_t)(end - p));
			if (!c)
				c = end;
			int lv = filter_level(p, (size_t)(c - p));
			if (lv < 0)
				return elog_err_set(err, ELOG_EUSAGE, "unknown level '%.*s'",
						    (int)(c - p), p);
			m |= 1u << lv;
			p = c + 1;
		}
	}
	*mask |= m;
	return 0;
bad:
	return elog_err_set(err, ELOG_EUSAGE, "unknown level '%.*s'", (int)n, s);
}
