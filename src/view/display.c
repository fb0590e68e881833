/*
 * display.c — renders records as colored text, JSON Lines or CSV into a caller's buffer (the
 * entry points and the text view here; JSON, CSV, raw and logfmt in display_formats.c).
 *
 * The text view keeps a small open-addressing map of the components it has seen: each
 * entry caches its color (its index in the order the components were first met, which the
 * caller can seed with the history's order, elog_display_color_order) and its rendered
 * prefix (colored, padded, " | "), rebuilt when the common width grows. Fields (a JSON object text) are walked by a small allocation-free scanner,
 * which also validates them for the JSON/CSV outputs. It recurses once per level and refuses
 * more than ELOG_JSON_MAX_DEPTH levels; fields deeper than that (stored before ingest bounded
 * them) are shown with their deep values as strings of their text (json.h).
 */
#include "view/display_int.h"
#include "common/filter.h"
#include "common/json.h"
#include "common/jsontext.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Component colors, in the order they are handed out (a component's index is the order of its
 * first appearance in the history, see elog_store_components_ordered). 256-color codes chosen
 * for separation, consecutive entries far apart in hue or lightness: cyans, blues, purples,
 * magentas and greys only. No red, orange, yellow or green (the ERROR/FATAL, WARN and INFO
 * level colors) and nothing too dark to read. True color uses the same entries as RGB. */
static const unsigned char palette[] = {
	39, 201, 44, 141, 252, 63, 213, 123, 177, 117, 99, 231,
};
/* 8/16-color terminals: cyan, magenta, blue and their bright forms (SGR foreground codes). */
static const unsigned char palette_basic[] = { 36, 35, 34, 96, 95, 94 };
#define PALETTE_BASIC_N (sizeof(palette_basic) / sizeof(palette_basic[0]))
#define PALETTE_N (sizeof(palette) / sizeof(palette[0]))

#define MAX_PAD 24




size_t elog_display_palette(const unsigned char **codes)
{
	if (codes)
		*codes = palette;
	return PALETTE_N;
}

/* ---- small writers ---- */

void dpy_put_i64(struct elog_buf *b, int64_t v)
{
	char tmp[24];
	char *p = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	put(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

void dpy_put_spaces(struct elog_buf *b, int n)
{
	static const char sp[] = "                                ";
	while (n > 0) {
		int k = n < (int)sizeof(sp) - 1 ? n : (int)sizeof(sp) - 1;
		put(b, sp, (size_t)k);
		n -= k;
	}
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}


/* Appends s as a JSON string literal; repairs invalid UTF-8 first. */
void dpy_put_json_str(struct elog_display *d, struct elog_buf *b, const char *s, size_t n)
{
	size_t i = 0;
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			break;
	}
	if (i == n) {                       /* plain ASCII: the common case */
		elog_buf_grow(b, n + 3);
		b->data[b->len++] = '"';
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len++] = '"';
		b->data[b->len] = '\0';
		return;
	}
	if (elog_utf8_valid(s, n)) {
		elog_json_quote(b, s, n);
		return;
	}
	elog_buf_reset(&d->tmp2);
	elog_utf8_append(&d->tmp2, s, n);
	elog_json_quote(b, d->tmp2.data ? d->tmp2.data : "", d->tmp2.len);
}

/* Text output: appends s, escaping terminal control bytes (C0 except tab/newline, DEL and
 * the C1 range) as \xNN so a record can't drive the terminal. */
static void put_sanitized(struct elog_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n, *run = p;
	while (p < e) {
		unsigned c = *p;
		size_t bad = 0;
		if (c < 0x20) {
			if (c != '\t' && c != '\n')
				bad = 1;
		} else if (c == 0x7f) {
			bad = 1;
		} else if (c == 0xC2 && p + 1 < e && p[1] >= 0x80 && p[1] <= 0x9F) {
			bad = 2;
		}
		if (!bad) {
			p++;
			continue;
		}
		put(b, (const char *)run, (size_t)(p - run));
		for (size_t k = 0; k < bad; k++) {
			char esc[4] = { '\\', 'x', hex[p[k] >> 4], hex[p[k] & 15] };
			put(b, esc, 4);
		}
		p += bad;
		run = p;
	}
	put(b, (const char *)run, (size_t)(p - run));
}


/* A decoded string needs its JSON-quoted form in the text view. */
static int needs_quote(const char *s, size_t n)
{
	if (n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '"' || c == '=' || c == 0x7f)
			return 1;
	}
	return 0;
}

/* Appends a string (literal span [p, q)) in the text view: unquoted when plain. */
static void put_text_string(struct elog_display *d, struct elog_buf *out, const char *p,
			    const char *q)
{
	elog_buf_reset(&d->tmp);
	elog_jt_decode_string(&d->tmp, p, q);
	const char *s = d->tmp.data ? d->tmp.data : "";
	if (needs_quote(s, d->tmp.len))
		put_sanitized(out, p, (size_t)(q - p));
	else
		put_sanitized(out, s, d->tmp.len);
}

/* Highlighting: at most this many matches are marked in one string. */
#define MAX_HL 1000

/* Text output: put_sanitized, with the matches of the highlight patterns (color only) in
 * reverse video. Matches are found in the raw text; each search is bounded (filter.h). */
void dpy_put_hl(struct elog_display *d, struct elog_buf *b, const char *s, size_t n)
{
	size_t done = 0, pos = 0;
	int guard = 0;

	if (!d->o.color || (!d->o.highlight[0] && !d->o.highlight[1])) {
		put_sanitized(b, s, n);
		return;
	}
	while (pos <= n && guard++ < MAX_HL) {
		size_t bs = 0, be = 0, ms, me;
		int found = 0;

		for (int i = 0; i < 2; i++)
			if (d->o.highlight[i] &&
			    elog_regex_find(d->o.highlight[i], s, n, pos, &ms, &me) &&
			    (!found || ms < bs || (ms == bs && me > be))) {
				bs = ms;
				be = me;
				found = 1;
			}
		if (!found || bs < done)
			break;
		if (be == bs) {          /* an empty match: look again one character on */
			pos = bs + 1;
			while (pos < n && ((unsigned char)s[pos] & 0xC0) == 0x80)
				pos++;
			continue;
		}
		put_sanitized(b, s + done, bs - done);
		PUTS(b, ELOG_HL_ON);
		put_sanitized(b, s + bs, be - bs);
		PUTS(b, ELOG_HL_OFF);
		done = pos = be;
	}
	put_sanitized(b, s + done, n - done);
}

/* A string value (literal span [p, q)) in the text view, highlighted: unquoted when plain. */
static void put_text_value(struct elog_display *d, struct elog_buf *out, const char *p,
			   const char *q)
{
	elog_buf_reset(&d->tmp);
	elog_jt_decode_string(&d->tmp, p, q);
	const char *s = d->tmp.data ? d->tmp.data : "";
	if (needs_quote(s, d->tmp.len))
		dpy_put_hl(d, out, p, (size_t)(q - p));
	else
		dpy_put_hl(d, out, s, d->tmp.len);
}

static int in_list(char **l, size_t n, const char *k, size_t kn)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(l[i]) == kn && memcmp(l[i], k, kn) == 0)
			return 1;
	return 0;
}

/* --fields / --hide-fields */
int dpy_field_shown(const struct elog_display *d, const char *k, size_t kn)
{
	if (d->o.nshow && !in_list(d->o.show_fields, d->o.nshow, k, kn))
		return 0;
	return !in_list(d->o.hide_fields, d->o.nhide, k, kn);
}


/* String fields holding newlines (a "stack"), shown under the record's line, not inline. */
#define MAX_LATER 8
struct later {
	const char *k, *kq, *v, *vq;   /* the key's and the value's JSON string literals */
};

/* Renders fields as key=value pairs; returns 0 when the text isn't a JSON object. String
 * values holding a newline go to later[0..*nlater) (up to MAX_LATER) when later is given. */
static int put_fields_text(struct elog_display *d, struct elog_buf *out, const char *s, size_t n,
			   struct later *later, int *nlater)
{
	if (!elog_jt_valid_object(s, n)) {
		struct elog_buf b = ELOG_BUF_INIT;
		int ok = 0;

		if (elog_json_too_deep(s, n, ELOG_JSON_MAX_DEPTH)) {
			elog_json_bound(s, n, ELOG_JSON_MAX_DEPTH, &b);
			ok = elog_jt_valid_object(b.data, b.len) && put_fields_text(d, out, b.data, b.len, NULL, NULL);
		}
		elog_buf_release(&b);
		return ok;
	}
	const char *e = s + n, *p = elog_jt_skip_ws(s, e) + 1;
	int first = 1;
	p = elog_jt_skip_ws(p, e);
	while (p < e && *p == '"') {
		const char *kq = elog_jt_skip_string(p, e);
		if (d->o.nshow || d->o.nhide) {
			elog_buf_reset(&d->tmp3);
			elog_jt_decode_string(&d->tmp3, p, kq);
			if (!dpy_field_shown(d, d->tmp3.data ? d->tmp3.data : "", d->tmp3.len)) {
				p = elog_jt_skip_ws(elog_jt_skip_ws(kq, e) + 1, e);
				p = elog_jt_skip_ws(elog_jt_skip_value(p, e, 0), e);
				if (p < e && *p == ',')
					p = elog_jt_skip_ws(p + 1, e);
				continue;
			}
		}
		if (later && *nlater < MAX_LATER) {
			const char *v = elog_jt_skip_ws(elog_jt_skip_ws(kq, e) + 1, e);
			const char *vq = elog_jt_skip_value(v, e, 0);
			int lines = 0;
			if (vq && *v == '"' && memmem(v, (size_t)(vq - v), "\\n", 2)) {
				elog_buf_reset(&d->tmp2);
				elog_jt_decode_string(&d->tmp2, v, vq);
				lines = d->tmp2.len && memchr(d->tmp2.data, '\n', d->tmp2.len);
			}
			if (lines) {
				later[(*nlater)++] = (struct later){ p, kq, v, vq };
				p = elog_jt_skip_ws(vq, e);
				if (p < e && *p == ',')
					p = elog_jt_skip_ws(p + 1, e);
				continue;
			}
		}
		if (!first)
			elog_buf_addc(out, ' ');
		first = 0;
		if (d->o.color)
			PUTS(out, ANSI_DIM);
		put_text_string(d, out, p, kq);
		elog_buf_addc(out, '=');
		if (d->o.color)
			PUTS(out, ANSI_RESET);
		p = elog_jt_skip_ws(kq, e);
		p = elog_jt_skip_ws(p + 1, e);                  /* ':' */
		const char *vq = elog_jt_skip_value(p, e, 0);
		if (*p == '"') {
			put_text_value(d, out, p, vq);
		} else {
			elog_buf_reset(&d->tmp);
			elog_jt_put_compact(&d->tmp, p, vq);
			dpy_put_hl(d, out, d->tmp.data ? d->tmp.data : "", d->tmp.len);
		}
		p = elog_jt_skip_ws(vq, e);
		if (p < e && *p == ',')
			p = elog_jt_skip_ws(p + 1, e);
	}
	return 1;
}

/* ---- components ---- */

static int utf8_chars(const char *s, size_t n)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static void tab_insert(struct comp *tab, size_t cap, struct comp *c)
{
	size_t i = c->hash & (cap - 1);
	while (tab[i].name)
		i = (i + 1) & (cap - 1);
	tab[i] = *c;
}

static struct comp *comp_get(struct elog_display *d, const char *name, size_t len)
{
	uint32_t h = fnv1a(name, len);
	size_t i = h & (d->cap - 1);
	while (d->tab[i].name) {
		struct comp *c = &d->tab[i];
		if (c->hash == h && c->len == len && !memcmp(c->name, name, len))
			return c;
		i = (i + 1) & (d->cap - 1);
	}
	if ((d->n + 1) * 2 > d->cap) {
		size_t ncap = d->cap * 2;
		struct comp *nt = xcalloc(ncap, sizeof(*nt));
		for (size_t k = 0; k < d->cap; k++)
			if (d->tab[k].name)
				tab_insert(nt, ncap, &d->tab[k]);
		free(d->tab);
		d->tab = nt;
		d->cap = ncap;
	}
	struct comp c = { 0 };
	c.name = xstrndup(name, len);
	c.len = len;
	c.hash = h;
	c.chars = utf8_chars(name, len);
	c.prefix_width = -1;
	c.color = d->next_color++;
	d->n++;
	tab_insert(d->tab, d->cap, &c);
	return comp_get(d, name, len);
}

/* A component on screen (or expected there): its name counts in the prefix width. */
static struct comp *comp_show(struct elog_display *d, const char *name, size_t len)
{
	struct comp *c = comp_get(d, name, len);
	if (!c->shown) {
		int w = c->chars > MAX_PAD ? MAX_PAD : c->chars;
		c->shown = 1;
		if (w > d->width)
			d->width = w;
	}
	return c;
}

/* The xterm 256-color code as RGB (cube and grey ramp). */
static void code_rgb(int code, int rgb[3])
{
	static const int lv[6] = { 0, 95, 135, 175, 215, 255 };
	if (code >= 232) {
		rgb[0] = rgb[1] = rgb[2] = 8 + 10 * (code - 232);
		return;
	}
	code -= 16;
	rgb[0] = lv[code / 36];
	rgb[1] = lv[code / 6 % 6];
	rgb[2] = lv[code % 6];
}

static void put_comp_color(struct elog_display *d, struct elog_buf *b, int idx)
{
	if (d->o.color_depth == ELOG_COLOR_BASIC) {
		PUTS(b, "\033[");
		dpy_put_i64(b, palette_basic[(size_t)idx % PALETTE_BASIC_N]);
	} else if (d->o.color_depth == ELOG_COLOR_TRUE) {
		int rgb[3];
		code_rgb(palette[(size_t)idx % PALETTE_N], rgb);
		PUTS(b, "\033[38;2;");
		for (int k = 0; k < 3; k++) {
			if (k)
				elog_buf_addc(b, ';');
			dpy_put_i64(b, rgb[k]);
		}
	} else {
		PUTS(b, "\033[38;5;");
		dpy_put_i64(b, palette[(size_t)idx % PALETTE_N]);
	}
	elog_buf_addc(b, 'm');
}

static void build_prefix(struct elog_display *d, struct comp *c)
{
	struct elog_buf b = ELOG_BUF_INIT;
	if (d->o.color)
		put_comp_color(d, &b, c->color);
	put_sanitized(&b, c->name, c->len);
	if (d->o.color)
		PUTS(&b, ANSI_RESET);
	if (c->chars < d->width)
		dpy_put_spaces(&b, d->width - c->chars);
	PUTS(&b, " | ");
	free(c->prefix);
	c->prefix_len = b.len;
	c->prefix = elog_buf_detach(&b);
	c->prefix_width = d->width;
}

/* ---- public ---- */

struct elog_display *elog_display_new(const struct elog_display_opts *o)
{
	struct elog_display *d = xcalloc(1, sizeof(*d));
	if (o)
		d->o = *o;
	d->cap = 32;
	d->tab = xcalloc(d->cap, sizeof(*d->tab));
	return d;
}

void elog_display_free(struct elog_display *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->cap; i++) {
		free(d->tab[i].name);
		free(d->tab[i].prefix);
	}
	free(d->tab);
	elog_buf_release(&d->tmp);
	elog_buf_release(&d->tmp2);
	elog_buf_release(&d->tmp3);
	elog_buf_release(&d->pretty);
	free(d);
}

void elog_display_hint_components(struct elog_display *d, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i])
			comp_show(d, names[i], strlen(names[i]));
}

void elog_display_color_order(struct elog_display *d, char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (names[i])
			comp_get(d, names[i], strlen(names[i]));
}

int elog_display_color_of(struct elog_display *d, const char *component)
{
	size_t len = strlen(component);
	uint32_t h = fnv1a(component, len);
	for (size_t i = h & (d->cap - 1); d->tab[i].name; i = (i + 1) & (d->cap - 1)) {
		struct comp *c = &d->tab[i];
		if (c->hash == h && c->len == len && !memcmp(c->name, component, len))
			return (int)((size_t)c->color % PALETTE_N);
	}
	return -1;
}

void elog_display_header(struct elog_display *d, struct elog_buf *out)
{
	if (d->o.format == ELOG_FMT_CSV)
		PUTS(out, "id,ts,component,level,msg,fields,source\r\n");
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

static void put_text_time(struct elog_display *d, struct elog_buf *out, int64_t ns)
{
	if (ns == 0) {
		dpy_put_spaces(out, d->o.utc ? 24 : 23);
		return;
	}
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (!d->tvalid || sec != d->tsec) {
		time_t t = (time_t)sec;
		struct tm tm;
		if (!(d->o.utc ? gmtime_r(&t, &tm) : localtime_r(&t, &tm)))
			memset(&tm, 0, sizeof(tm));
		int y = tm.tm_year + 1900;
		if (y < 0)
			y = 0;
		char *p = d->tbuf;
		p[0] = (char)('0' + y / 1000 % 10);
		p[1] = (char)('0' + y / 100 % 10);
		put2(p + 2, y);
		p[4] = '-';
		put2(p + 5, tm.tm_mon + 1);
		p[7] = '-';
		put2(p + 8, tm.tm_mday);
		p[10] = 'T';
		put2(p + 11, tm.tm_hour);
		p[13] = ':';
		put2(p + 14, tm.tm_min);
		p[16] = ':';
		put2(p + 17, tm.tm_sec);
		d->tsec = sec;
		d->tvalid = 1;
	}
	char ms[5];
	int m = (int)(frac / 1000000);
	ms[0] = '.';
	ms[1] = (char)('0' + m / 100);
	put2(ms + 2, m);
	ms[4] = 'Z';
	put(out, d->tbuf, 19);
	put(out, ms, d->o.utc ? 5 : 4);
}

static const char *const level_tag[ELOG_LEVEL_COUNT] = {
	"TRACE", "DEBUG", "INFO ", "WARN ", "ERROR", "FATAL",
};
static const char *const level_color[ELOG_LEVEL_COUNT] = {
	ANSI_DIM, ANSI_DIM, "\033[32m", "\033[33m", "\033[31m", "\033[1;97;41m",
};

/* The start of a continuation line: the record's prefix column, then indent spaces. */
static void put_cont_prefix(struct elog_display *d, const struct elog_record *r,
			    struct elog_buf *out, int indent)
{
	if (!d->o.no_prefix) {
		const char *comp = r->component ? r->component : "";
		struct comp *c = comp_show(d, comp, strlen(comp));
		if (c->prefix_width != d->width)
			build_prefix(d, c);
		put(out, c->prefix, c->prefix_len);
	}
	dpy_put_spaces(out, indent);
}

/* The lines of s[0..n) (after a record's first line), each on a line of its own that starts
 * with the prefix column, so `elog logs | grep COMPONENT` keeps them. */
static void put_lines(struct elog_display *d, const struct elog_record *r, struct elog_buf *out,
		      const char *s, size_t n, int indent, int lv)
{
	const char *p = s, *e = s + n;
	while (p <= e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
		elog_buf_addc(out, '\n');
		put_cont_prefix(d, r, out, indent);
		if (d->o.color && lv >= ELOG_LEVEL_ERROR)
			elog_buf_adds(out, lv == ELOG_LEVEL_FATAL ? "\033[1;31m" : "\033[31m");
		dpy_put_hl(d, out, p, len);
		if (d->o.color && lv >= ELOG_LEVEL_ERROR)
			PUTS(out, ANSI_RESET);
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void record_text(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	const char *comp = r->component ? r->component : "";
	if (!d->o.no_prefix) {
		struct comp *c = comp_show(d, comp, strlen(comp));
		if (c->prefix_width != d->width)
			build_prefix(d, c);
		put(out, c->prefix, c->prefix_len);
	}
	if (d->o.timestamps) {
		put_text_time(d, out, r->ts_ns ? r->ts_ns : r->arrival_ns);
		elog_buf_addc(out, ' ');
	}
	int lv = r->level >= 0 && r->level < ELOG_LEVEL_COUNT ? r->level : ELOG_LEVEL_INFO;
	if (d->o.color) {
		elog_buf_adds(out, level_color[lv]);
		put(out, level_tag[lv], lv == ELOG_LEVEL_INFO || lv == ELOG_LEVEL_WARN ? 4 : 5);
		PUTS(out, ANSI_RESET);
		if (lv == ELOG_LEVEL_INFO || lv == ELOG_LEVEL_WARN)
			elog_buf_addc(out, ' ');
	} else {
		put(out, level_tag[lv], 5);
	}
	elog_buf_addc(out, ' ');
	const char *msg = r->msg ? r->msg : "";
	size_t mlen = strlen(msg);
	const char *nl = memchr(msg, '\n', mlen);
	size_t first = nl ? (size_t)(nl - msg) : mlen;
	/* continuation lines: the prefix column again, then under the message */
	int indent = (d->o.timestamps ? (d->o.utc ? 25 : 24) : 0) + 6;
	struct later later[MAX_LATER];
	int nlater = 0;
	if (d->o.color && lv >= ELOG_LEVEL_ERROR)
		elog_buf_adds(out, lv == ELOG_LEVEL_FATAL ? "\033[1;31m" : "\033[31m");
	dpy_put_hl(d, out, msg, first);
	if (d->o.color && lv >= ELOG_LEVEL_ERROR)
		PUTS(out, ANSI_RESET);
	if (r->fields && r->fields[0]) {
		size_t flen = strlen(r->fields);
		size_t mark = out->len;
		elog_buf_addc(out, ' ');
		if (!put_fields_text(d, out, r->fields, flen, later, &nlater)) {
			out->len = mark + 1;
			put_sanitized(out, r->fields, flen);
		} else if (out->len == mark + 1) {
			out->len = mark;             /* "{}": nothing to show */
			out->data[mark] = '\0';
		}
	}
	if (nl)
		put_lines(d, r, out, msg + first + 1, mlen - first - 1, indent, lv);
	for (int i = 0; i < nlater; i++) {
		elog_buf_addc(out, '\n');
		put_cont_prefix(d, r, out, indent);
		if (d->o.color)
			PUTS(out, ANSI_DIM);
		put_text_string(d, out, later[i].k, later[i].kq);
		elog_buf_addc(out, '=');
		if (d->o.color)
			PUTS(out, ANSI_RESET);
		/* the value, decoded, line by line under its key */
		elog_buf_reset(&d->tmp2);
		elog_jt_decode_string(&d->tmp2, later[i].v, later[i].vq);
		const char *v = d->tmp2.data ? d->tmp2.data : "";
		const char *vnl = memchr(v, '\n', d->tmp2.len);
		size_t vf = vnl ? (size_t)(vnl - v) : d->tmp2.len;
		dpy_put_hl(d, out, v, vf);
		if (vnl)
			put_lines(d, r, out, vnl + 1, d->tmp2.len - vf - 1, indent + 2, ELOG_LEVEL_INFO);
	}
	elog_buf_addc(out, '\n');
}

void elog_display_record(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	switch (d->o.format) {
	case ELOG_FMT_JSON:
		dpy_record_json(d, r, out);
		break;
	case ELOG_FMT_RAW:
		dpy_record_raw(d, r, out);
		break;
	case ELOG_FMT_LOGFMT:
		dpy_record_logfmt(d, r, out);
		break;
	case ELOG_FMT_JSON_PRETTY:
		elog_buf_reset(&d->pretty);
		dpy_record_json(d, r, &d->pretty);
		dpy_put_pretty(out, d->pretty.data, d->pretty.len);
		break;
	case ELOG_FMT_CSV:
		dpy_record_csv(d, r, out);
		break;
	default:
		record_text(d, r, out);
		break;
	}
}

void elog_display_notice(struct elog_display *d, const char *text, struct elog_buf *out)
{
	if (d->o.format != ELOG_FMT_TEXT)
		return;
	if (d->o.color)
		PUTS(out, ANSI_DIM);
	PUTS(out, "-- ");
	put_sanitized(out, text, strlen(text));
	PUTS(out, " --");
	if (d->o.color)
		PUTS(out, ANSI_RESET);
	elog_buf_addc(out, '\n');
}

int elog_display_palette_color(size_t idx, char hex[8])
{
	int code = palette[idx % PALETTE_N], rgb[3];

	if (hex) {
		code_rgb(code, rgb);
		snprintf(hex, 8, "#%02x%02x%02x", rgb[0] & 0xff, rgb[1] & 0xff, rgb[2] & 0xff);
	}
	return code;
}
