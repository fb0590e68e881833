/*
 * json.c — bounded JSON nesting (see json.h).
 */
#include "common/json.h"

#include <limits.h>
#include <stdint.h>
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

void elog_json_quote_any(struct elog_buf *b, const char *s)
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
			elog_json_quote_any(b, YAJL_GET_STRING(v));
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
					elog_json_quote_any(b, f->v->u.object.keys[f->next]);
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

/* Reads a varint at *p (< end) into *v; 0 when it is cut off or longer than 10 bytes. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t x = 0;
	int shift;

	for (shift = 0; shift < 70 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		x |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*v = x;
			return 1;
		}
	}
	return 0;
}

/* The deepest nesting d's type allows (d itself is 1), or INT_MAX when its type graph is
 * recursive (google.protobuf.Struct) or deeper than 32: only those need a scan of the bytes.
 * path holds the n types above d. A few dozen field descriptors for elog's messages. */
static int type_depth(const ProtobufCMessageDescriptor *d, const ProtobufCMessageDescriptor **path,
		      int n)
{
	int i, best = 1;
	unsigned k;

	for (i = 0; i < n; i++)
		if (path[i] == d)
			return INT_MAX;
	if (n >= 32)
		return INT_MAX;
	path[n] = d;
	for (k = 0; k < d->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &d->fields[k];
		int sd;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor)
			continue;
		sd = type_depth(f->descriptor, path, n + 1);
		if (sd == INT_MAX)
			return INT_MAX;
		if (sd + 1 > best)
			best = sd + 1;
	}
	return best;
}

int elog_pb_too_deep(const ProtobufCMessageDescriptor *d, const void *data, size_t n, int max)
{
	struct level {
		const ProtobufCMessageDescriptor *d;
		const uint8_t *end;
	} st[ELOG_PB_MAX_DEPTH + 1];
	const uint8_t *p = data;
	int top = 0;

	if (max > ELOG_PB_MAX_DEPTH)
		max = ELOG_PB_MAX_DEPTH;
	if (max < 1)
		return n > 0;
	{
		const ProtobufCMessageDescriptor *path[32];

		if (type_depth(d, path, 0) <= max)
			return 0;   /* no message of this type can nest deeper: nothing to scan */
	}
	st[0].d = d;
	st[0].end = p + n;
	for (;;) {
		uint64_t tag, len;

		while (p == st[top].end) {
			if (top == 0)
				return 0;
			top--;
		}
		if (!read_varint(&p, st[top].end, &tag))
			return 0;
		switch (tag & 7) {
		case 0:
			if (!read_varint(&p, st[top].end, &len))
				return 0;
			break;
		case 1:
			if (st[top].end - p < 8)
				return 0;
			p += 8;
			break;
		case 5:
			if (st[top].end - p < 4)
				return 0;
			p += 4;
			break;
		case 2: {
			const ProtobufCFieldDescriptor *f;

			if (!read_varint(&p, st[top].end, &len) || len > (uint64_t)(st[top].end - p))
				return 0;
			f = tag >> 3 <= UINT32_MAX
				? protobuf_c_message_descriptor_get_field(st[top].d, (unsigned)(tag >> 3))
				: NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor) {
				if (top + 1 >= max)
					return 1;
				top++;
				st[top].d = f->descriptor;
				st[top].end = p + len;
			} else {
				p += len;
			}
			break;
		}
		default:
			return 0;   /* groups and the rest: protobuf-c refuses them */
		}
	}
}
