/*
 * display_formats.c — the machine-readable views of display.h: JSON Lines (and pretty JSON),
 * CSV, raw and logfmt. The fields of JSON and CSV are validated and bounded by the scanner of
 * common/jsontext.h, as for the text view (display.c).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "view/display_int.h"
#include "common/json.h"
#include "common/jsontext.h"

/* RFC3339Nano UTC as elog_format_rfc3339 writes it, with the date part cached per second.
 * out holds >= 64 bytes. */
static size_t rfc3339(struct elog_display *d, int64_t ns, char *out)
{
	if (ns < INT64_MIN + 1000000000)
		return elog_format_rfc3339(ns, out, 64);
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	if (frac < 0) {
		frac += 1000000000;
		sec--;
	}
	if (!d->rvalid || d->rsec != sec) {
		size_t n = elog_format_rfc3339(sec * 1000000000, d->rbuf, sizeof(d->rbuf));
		d->rlen = n && d->rbuf[n - 1] == 'Z' ? n - 1 : n;
		d->rsec = sec;
		d->rvalid = 1;
	}
	memcpy(out, d->rbuf, d->rlen);
	size_t len = d->rlen;
	if (frac) {
		char digits[9];
		int k = 9;
		for (int i = 8; i >= 0; i--) {
			digits[i] = (char)('0' + frac % 10);
			frac /= 10;
		}
		while (digits[k - 1] == '0')
			k--;
		out[len++] = '.';
		memcpy(out + len, digits, (size_t)k);
		len += (size_t)k;
	}
	out[len++] = 'Z';
	return len;
}

/* The members of the (valid) object s[0..n) that dpy_field_shown keeps, as a compact object. */
static void put_fields_selected(struct elog_display *d, struct elog_buf *out, const char *s,
				size_t n)
{
	const char *e = s + n, *p = elog_jt_skip_ws(elog_jt_skip_ws(s, e) + 1, e);
	int first = 1;

	elog_buf_addc(out, '{');
	while (p < e && *p == '"') {
		const char *kq = elog_jt_skip_string(p, e), *v, *vq;

		elog_buf_reset(&d->tmp3);
		elog_jt_decode_string(&d->tmp3, p, kq);
		v = elog_jt_skip_ws(elog_jt_skip_ws(kq, e) + 1, e);
		vq = elog_jt_skip_value(v, e, 0);
		if (dpy_field_shown(d, d->tmp3.data ? d->tmp3.data : "", d->tmp3.len)) {
			if (!first)
				elog_buf_addc(out, ',');
			first = 0;
			put(out, p, (size_t)(kq - p));
			elog_buf_addc(out, ':');
			elog_jt_put_compact(out, v, vq);
		}
		p = elog_jt_skip_ws(vq, e);
		if (p < e && *p == ',')
			p = elog_jt_skip_ws(p + 1, e);
	}
	elog_buf_addc(out, '}');
}

/* The fields column of JSON/CSV: the object text, "{}" when empty, {"_raw":...} if invalid. */
static void put_fields_json(struct elog_display *d, struct elog_buf *out, const char *f)
{
	size_t n = f ? strlen(f) : 0;
	if (n == 0) {
		PUTS(out, "{}");
	} else if ((d->o.nshow || d->o.nhide) && elog_jt_valid_object(f, n)) {
		put_fields_selected(d, out, f, n);
	} else if (elog_jt_valid_object(f, n)) {
		put(out, f, n);
	} else if (elog_json_too_deep(f, n, ELOG_JSON_MAX_DEPTH)) {
		struct elog_buf b = ELOG_BUF_INIT;

		elog_json_bound(f, n, ELOG_JSON_MAX_DEPTH, &b);
		if (elog_jt_valid_object(b.data, b.len)) {
			put(out, b.data, b.len);
		} else {
			PUTS(out, "{\"_raw\":");
			dpy_put_json_str(d, out, f, n);
			elog_buf_addc(out, '}');
		}
		elog_buf_release(&b);
	} else {
		PUTS(out, "{\"_raw\":");
		dpy_put_json_str(d, out, f, n);
		elog_buf_addc(out, '}');
	}
}

void dpy_record_json(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	char ts[64];
	size_t tl = rfc3339(d, r->ts_ns ? r->ts_ns : r->arrival_ns, ts);
	const char *comp = r->component ? r->component : "";
	const char *msg = r->msg ? r->msg : "";
	const char *src = r->source ? r->source : "";
	PUTS(out, "{\"id\":");
	dpy_put_i64(out, r->id);
	PUTS(out, ",\"ts\":\"");
	put(out, ts, tl);
	PUTS(out, "\",\"component\":");
	dpy_put_json_str(d, out, comp, strlen(comp));
	PUTS(out, ",\"level\":\"");
	elog_buf_adds(out, elog_level_name(r->level));
	PUTS(out, "\",\"msg\":");
	dpy_put_json_str(d, out, msg, strlen(msg));
	PUTS(out, ",\"fields\":");
	put_fields_json(d, out, r->fields);
	PUTS(out, ",\"source\":");
	dpy_put_json_str(d, out, src, strlen(src));
	PUTS(out, "}\n");
}

/* One CSV cell (RFC 4180), as valid UTF-8. */
static void put_csv(struct elog_display *d, struct elog_buf *out, const char *s, size_t n)
{
	if (!elog_utf8_valid(s, n)) {
		elog_buf_reset(&d->tmp2);
		elog_utf8_append(&d->tmp2, s, n);
		s = d->tmp2.data ? d->tmp2.data : "";
		n = d->tmp2.len;
	}
	const char *q = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') {
			q = s + i;
			break;
		}
	if (!q) {
		put(out, s, n);
		return;
	}
	elog_buf_addc(out, '"');
	const char *run = s, *e = s + n;
	for (const char *p = q; p < e; p++)
		if (*p == '"') {
			put(out, run, (size_t)(p + 1 - run));
			elog_buf_addc(out, '"');
			run = p + 1;
		}
	put(out, run, (size_t)(e - run));
	elog_buf_addc(out, '"');
}

void dpy_record_csv(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	char ts[64];
	size_t tl = rfc3339(d, r->ts_ns ? r->ts_ns : r->arrival_ns, ts);
	const char *comp = r->component ? r->component : "";
	const char *msg = r->msg ? r->msg : "";
	const char *src = r->source ? r->source : "";
	dpy_put_i64(out, r->id);
	elog_buf_addc(out, ',');
	put(out, ts, tl);
	elog_buf_addc(out, ',');
	put_csv(d, out, comp, strlen(comp));
	elog_buf_addc(out, ',');
	elog_buf_adds(out, elog_level_name(r->level));
	elog_buf_addc(out, ',');
	put_csv(d, out, msg, strlen(msg));
	elog_buf_addc(out, ',');
	size_t mark = out->len;
	put_fields_json(d, out, r->fields);
	/* the fields text sits at the end of out; quote it in place via a copy */
	elog_buf_reset(&d->tmp);
	put(&d->tmp, out->data + mark, out->len - mark);
	out->len = mark;
	out->data[mark] = '\0';
	put_csv(d, out, d->tmp.data, d->tmp.len);
	elog_buf_addc(out, ',');
	put_csv(d, out, src, strlen(src));
	PUTS(out, "\r\n");
}

/* --output raw: the message only (every line of it), sanitized and highlighted. */
void dpy_record_raw(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	const char *msg = r->msg ? r->msg : "";

	dpy_put_hl(d, out, msg, strlen(msg));
	elog_buf_addc(out, '\n');
}

/* Re-indents the (valid, compact) JSON text s[0..n) two spaces a level. */
void dpy_put_pretty(struct elog_buf *out, const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	int level = 0;

	while (p < e) {
		char c = *p;

		if (c == '"') {
			const char *q = elog_jt_skip_string(p, e);
			if (!q)
				q = e;
			put(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if ((c == '{' || c == '[') && p + 1 < e && (p[1] == '}' || p[1] == ']')) {
			put(out, p, 2);
			p += 2;
			continue;
		}
		if (c == '{' || c == '[') {
			elog_buf_addc(out, c);
			elog_buf_addc(out, '\n');
			dpy_put_spaces(out, 2 * ++level);
		} else if (c == '}' || c == ']') {
			elog_buf_addc(out, '\n');
			level = level > 0 ? level - 1 : 0;
			dpy_put_spaces(out, 2 * level);
			elog_buf_addc(out, c);
		} else if (c == ',') {
			PUTS(out, ",\n");
			dpy_put_spaces(out, 2 * level);
		} else if (c == ':') {
			PUTS(out, ": ");
		} else if (c != '\n') {
			elog_buf_addc(out, c);
		}
		p++;
	}
	elog_buf_addc(out, '\n');
}

/* A logfmt value: bare when plain, else quoted with \" \\ \n \r \t and \u00XX escapes. */
static void put_logfmt_value(struct elog_display *d, struct elog_buf *out, const char *s, size_t n)
{
	int quote = n == 0;

	if (!elog_utf8_valid(s, n)) {
		elog_buf_reset(&d->tmp2);
		elog_utf8_append(&d->tmp2, s, n);
		s = d->tmp2.data ? d->tmp2.data : "";
		n = d->tmp2.len;
	}
	for (size_t i = 0; i < n && !quote; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
			quote = 1;
	}
	if (!quote) {
		put(out, s, n);
		return;
	}
	elog_json_quote(out, s, n);
}

struct logfmt_ctx {
	struct elog_display *d;
	struct elog_buf *out;
};

static int logfmt_field(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct logfmt_ctx *lc = ctx;

	if (!dpy_field_shown(lc->d, k, kn))
		return 0;
	elog_buf_addc(lc->out, ' ');
	if (kn == 0)
		elog_buf_addc(lc->out, '_');
	for (size_t i = 0; i < kn; i++) {
		unsigned char c = (unsigned char)k[i];
		elog_buf_addc(lc->out, c <= ' ' || c == '"' || c == '=' || c == 0x7f ? '_' : (char)c);
	}
	elog_buf_addc(lc->out, '=');
	put_logfmt_value(lc->d, lc->out, v, vn);
	return 0;
}

void dpy_record_logfmt(struct elog_display *d, const struct elog_record *r, struct elog_buf *out)
{
	char ts[64];
	size_t tl = rfc3339(d, r->ts_ns ? r->ts_ns : r->arrival_ns, ts);
	const char *comp = r->component ? r->component : "";
	const char *msg = r->msg ? r->msg : "";
	struct logfmt_ctx lc = { d, out };

	PUTS(out, "ts=");
	put(out, ts, tl);
	PUTS(out, " level=");
	elog_buf_adds(out, elog_level_name(r->level));
	PUTS(out, " component=");
	put_logfmt_value(d, out, comp, strlen(comp));
	PUTS(out, " msg=");
	put_logfmt_value(d, out, msg, strlen(msg));
	if (r->fields && r->fields[0] && !elog_fields_walk(r->fields, strlen(r->fields), logfmt_field, &lc)) {
		PUTS(out, " fields=");
		put_logfmt_value(d, out, r->fields, strlen(r->fields));
	}
	elog_buf_addc(out, '\n');
}

void elog_display_fields_json(struct elog_display *d, struct elog_buf *out, const char *fields)
{
	put_fields_json(d, out, fields);
}
