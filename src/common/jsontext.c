/*
 * jsontext.c — scanning JSON text in place: validation without allocation, string decoding,
 * compacting, and walking the members of a fields object. Shared by the views (display.c)
 * and whatever else reads the stored fields text. Recursion is bounded by the depth argument
 * of elog_jt_skip_value (ELOG_JSON_MAX_DEPTH, json.h).
 */
#include "common/util.h"
#include "common/jsontext.h"
#include "common/json.h"

#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (no NUL, no surrogates, no overlongs), 0 if bad. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *e)
{
	unsigned c = p[0];
	if (c < 0x80)
		return c ? 1 : 0;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (e - p < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (e - p < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0;
		if (c == 0xED && p[1] >= 0xA0)
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (e - p < 4 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;
		if (c == 0xF4 && p[1] >= 0x90)
			return 0;
		return 4;
	}
	return 0;
}

/* ---- JSON scanning (validation without allocation) ---- */

const char *elog_jt_skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"'; returns the position after the closing quote, or NULL. */
const char *elog_jt_skip_string(const char *p, const char *e)
{
	p++;
	while (p < e) {
		unsigned char c = (unsigned char)*p;
		if (c == '"')
			return p + 1;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			if (++p >= e)
				return NULL;
			switch (*p) {
			case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
				p++;
				break;
			case 'u':
				if (e - p < 5)
					return NULL;
				for (int k = 1; k <= 4; k++)
					if (elog_hex_digit(p[k]) < 0)
						return NULL;
				p += 5;
				break;
			default:
				return NULL;
			}
		} else if (c < 0x80) {
			p++;
		} else {
			size_t l = utf8_seq((const unsigned char *)p, (const unsigned char *)e);
			if (!l)
				return NULL;
			p += l;
		}
	}
	return NULL;
}

static const char *skip_digits(const char *p, const char *e)
{
	const char *s = p;
	while (p < e && *p >= '0' && *p <= '9')
		p++;
	return p == s ? NULL : p;
}

static const char *skip_number(const char *p, const char *e)
{
	if (p < e && *p == '-')
		p++;
	if (p >= e)
		return NULL;
	if (*p == '0')
		p++;
	else if (!(p = skip_digits(p, e)))
		return NULL;
	if (p < e && *p == '.' && !(p = skip_digits(p + 1, e)))
		return NULL;
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (!(p = skip_digits(p, e)))
			return NULL;
	}
	return p;
}

/* depth: the levels open around p (0 for the top value) */
const char *elog_jt_skip_value(const char *p, const char *e, int depth)
{
	if (p >= e)
		return NULL;
	switch (*p) {
	case '"':
		return elog_jt_skip_string(p, e);
	case '{':
	case '[': {
		if (depth >= ELOG_JSON_MAX_DEPTH)
			return NULL;
		char close = *p == '{' ? '}' : ']';
		int obj = *p == '{';
		p = elog_jt_skip_ws(p + 1, e);
		if (p < e && *p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if (p >= e || *p != '"' || !(p = elog_jt_skip_string(p, e)))
					return NULL;
				p = elog_jt_skip_ws(p, e);
				if (p >= e || *p != ':')
					return NULL;
				p = elog_jt_skip_ws(p + 1, e);
			}
			if (!(p = elog_jt_skip_value(p, e, depth + 1)))
				return NULL;
			p = elog_jt_skip_ws(p, e);
			if (p >= e)
				return NULL;
			if (*p == close)
				return p + 1;
			if (*p != ',')
				return NULL;
			p = elog_jt_skip_ws(p + 1, e);
		}
	}
	case 't':
		return e - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
	case 'f':
		return e - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
	case 'n':
		return e - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
	default:
		return skip_number(p, e);
	}
}

/* True when s[0..n) is exactly one JSON object (surrounding whitespace allowed). */
int elog_jt_valid_object(const char *s, size_t n)
{
	const char *e = s + n, *p = elog_jt_skip_ws(s, e);
	if (p >= e || *p != '{' || !(p = elog_jt_skip_value(p, e, 0)))
		return 0;
	return elog_jt_skip_ws(p, e) == e;
}

static void put_utf8_cp(struct elog_buf *b, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (char)(0xF0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	elog_buf_add(b, u, n);
}

static uint32_t hex4(const char *p)
{
	return (uint32_t)(elog_hex_digit(p[0]) << 12 | elog_hex_digit(p[1]) << 8 | elog_hex_digit(p[2]) << 4 | elog_hex_digit(p[3]));
}

/* Decodes the (validated) JSON string literal [p, e) (quotes included) into b. */
void elog_jt_decode_string(struct elog_buf *b, const char *p, const char *e)
{
	p++;
	e--;
	const char *run = p;
	while (p < e) {
		if (*p != '\\') {
			p++;
			continue;
		}
		elog_buf_add(b, run, (size_t)(p - run));
		p++;
		char c = *p++;
		switch (c) {
		case 'b': elog_buf_addc(b, '\b'); break;
		case 'f': elog_buf_addc(b, '\f'); break;
		case 'n': elog_buf_addc(b, '\n'); break;
		case 'r': elog_buf_addc(b, '\r'); break;
		case 't': elog_buf_addc(b, '\t'); break;
		case 'u': {
			uint32_t cp = hex4(p);
			p += 4;
			if (cp >= 0xD800 && cp < 0xDC00 && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
				uint32_t lo = hex4(p + 2);
				if (lo >= 0xDC00 && lo < 0xE000) {
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				}
			}
			if ((cp >= 0xD800 && cp < 0xE000) || cp == 0)
				cp = 0xFFFD;
			put_utf8_cp(b, cp);
			break;
		}
		default: elog_buf_addc(b, c); break;   /* " \ / */
		}
		run = p;
	}
	elog_buf_add(b, run, (size_t)(p - run));
}

/* Appends the (validated) JSON value [p, e) without insignificant whitespace. */
void elog_jt_put_compact(struct elog_buf *b, const char *p, const char *e)
{
	while (p < e) {
		if (*p == '"') {
			const char *q = elog_jt_skip_string(p, e);
			if (!q)
				q = e;
			elog_buf_add(b, p, (size_t)(q - p));
			p = q;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			p++;
		} else {
			const char *q = p;
			while (q < e && *q != '"' && *q != ' ' && *q != '\t' && *q != '\n' && *q != '\r')
				q++;
			elog_buf_add(b, p, (size_t)(q - p));
			p = q;
		}
	}
}

static int walk_object(const char *s, size_t n, struct elog_buf *k, struct elog_buf *v,
		       int (*fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn),
		       void *ctx)
{
	const char *e = s + n, *p = elog_jt_skip_ws(s, e) + 1;

	p = elog_jt_skip_ws(p, e);
	while (p < e && *p == '"') {
		const char *kq = elog_jt_skip_string(p, e), *vq;

		elog_buf_reset(k);
		elog_jt_decode_string(k, p, kq);
		p = elog_jt_skip_ws(elog_jt_skip_ws(kq, e) + 1, e);
		vq = elog_jt_skip_value(p, e, 0);
		elog_buf_reset(v);
		if (*p == '"')
			elog_jt_decode_string(v, p, vq);
		else
			elog_jt_put_compact(v, p, vq);
		if (fn(ctx, k->data ? k->data : "", k->len, v->data ? v->data : "", v->len))
			break;
		p = elog_jt_skip_ws(vq, e);
		if (p < e && *p == ',')
			p = elog_jt_skip_ws(p + 1, e);
	}
	return 1;
}

int elog_fields_walk_buf(const char *s, size_t n, struct elog_buf *kb, struct elog_buf *vb,
			 int (*fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn),
			 void *ctx)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int ok = 0;

	if (elog_jt_valid_object(s, n))
		return walk_object(s, n, kb, vb, fn, ctx);
	if (elog_json_too_deep(s, n, ELOG_JSON_MAX_DEPTH)) {
		elog_json_bound(s, n, ELOG_JSON_MAX_DEPTH, &b);
		ok = elog_jt_valid_object(b.data, b.len) && walk_object(b.data, b.len, kb, vb, fn, ctx);
	}
	elog_buf_release(&b);
	return ok;
}

int elog_fields_walk(const char *s, size_t n,
		     int (*fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn),
		     void *ctx)
{
	struct elog_buf k = ELOG_BUF_INIT, v = ELOG_BUF_INIT;
	int ok = elog_fields_walk_buf(s, n, &k, &v, fn, ctx);

	elog_buf_release(&k);
	elog_buf_release(&v);
	return ok;
}
