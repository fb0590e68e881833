/*
 * json.c — bounded JSON nesting (see json.h).
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* The index just past the string literal that opens at s[i] ('"'), or n when unclosed. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

int elog_json_too_deep(const char *s, size_t n, int max)
{
	size_t i = 0;
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i);
			continue;
		}
		if (c == '{' || c == '[') {
			if (++depth > max)
				return 1;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
		i++;
	}
	return 0;
}

/* The index just past the value that opens at s[i] ('{' or '['), or n when it is unclosed
 * (*closed = 0). Brackets are counted without matching their kinds: in well-formed text they
 * match; in malformed text the result stays malformed either way. */
static size_t skip_nested(const char *s, size_t n, size_t i, int *closed)
{
	size_t depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i);
			continue;
		}
		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (--depth == 0) {
				*closed = 1;
				return i + 1;
			}
		}
		i++;
	}
	*closed = 0;
	return n;
}

size_t elog_json_bound(const char *s, size_t n, int max, struct elog_buf *out)
{
	struct elog_buf tmp = ELOG_BUF_INIT;
	size_t i = 0, run = 0, replaced = 0;
	int depth = 0;

	elog_buf_grow(out, n + 16);
	while (i < n) {
		char c = s[i];

		if (c == '"') {
			i = skip_string(s, n, i);
			continue;
		}
		if ((c == '{' || c == '[') && depth >= max) {
			int closed;
			size_t end = skip_nested(s, n, i, &closed);

			if (!closed)
				break;    /* copied as it is below */
			elog_buf_add(out, s + run, i - run);
			elog_buf_reset(&tmp);
			elog_utf8_append(&tmp, s + i, end - i);
			elog_json_quote(out, tmp.data ? tmp.data : "", tmp.len);
			replaced++;
			i = run = end;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if ((c == '}' || c == ']') && depth > 0)
			depth--;
		i++;
	}
	elog_buf_add(out, s + run, n - run);
	elog_buf_release(&tmp);
	return replaced;
}

yajl_val elog_json_tree_parse(const char *s)
{
	struct elog_buf b = ELOG_BUF_INIT;
	size_t n = s ? strlen(s) : 0;
	yajl_val v;

	if (!s)
		return NULL;
	if (!elog_json_too_deep(s, n, ELOG_JSON_MAX_DEPTH))
		return yajl_tree_parse(s, NULL, 0);
	elog_json_bound(s, n, ELOG_JSON_MAX_DEPTH, &b);
	v = yajl_tree_parse(b.data ? b.data : "", NULL, 0);
	elog_buf_release(&b);
	return v;
}

/* Appends s quoted, repaired to valid UTF-8 first when it is not. */
static void quote_any(struct elog_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *tmp;

	if (!s || elog_utf8_valid(s, n)) {
		elog_json_quote(b, s ? s : "", n);
		return;
	}
	tmp = elog_utf8_dup(s, n);
	elog_json_quote(b, tmp, strlen(tmp));
	free(tmp);
}

/* One open object or array of elog_json_tree_compact: the next member to write. */
struct frame {
	yajl_val v;
	size_t next;
};

void elog_json_tree_compact(struct elog_buf *b, yajl_val v)
{
	struct frame *st = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		/* write v: a scalar, or open a container and push it */
		if (!v) {
			elog_buf_adds(b, "null");
		} else if (YAJL_IS_STRING(v)) {
			quote_any(b, YAJL_GET_STRING(v));
		} else if (YAJL_IS_NUMBER(v)) {
			elog_buf_adds(b, YAJL_GET_NUMBER(v));
		} else if (YAJL_IS_TRUE(v)) {
			elog_buf_adds(b, "true");
		} else if (YAJL_IS_FALSE(v)) {
			elog_buf_adds(b, "false");
		} else if (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v)) {
			elog_buf_addc(b, YAJL_IS_OBJECT(v) ? '{' : '[');
			if (n == cap) {
				cap = cap ? 2 * cap : 16;
				st = xrealloc(st, cap * sizeof(*st));
			}
			st[n].v = v;
			st[n].next = 0;
			n++;
		} else {
			elog_buf_adds(b, "null");
		}
		/* find the next value to write, closing finished containers */
		v = NULL;
		while (n > 0) {
			struct frame *f = &st[n - 1];
			int obj = YAJL_IS_OBJECT(f->v);
			size_t len = obj ? f->v->u.object.len : f->v->u.array.len;

			if (f->next < len) {
				if (f->next)
					elog_buf_addc(b, ',');
				if (obj) {
					quote_any(b, f->v->u.object.keys[f->next]);
					elog_buf_addc(b, ':');
					v = f->v->u.object.values[f->next];
				} else {
					v = f->v->u.array.values[f->next];
				}
				f->next++;
				break;
			}
			elog_buf_addc(b, obj ? '}' : ']');
			n--;
		}
		if (n == 0 && !v)
			break;
	}
	free(st);
}
