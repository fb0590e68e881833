/*
 * wire.c — see wire.h.
 */
#include <string.h>
#include "wire.h"

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static void put_varint(struct elog_buf *b, uint64_t v)
{
	char tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (char)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	tmp[n++] = (char)v;
	elog_buf_add(b, tmp, n);
}

void elog_wire_put_varint_field(struct elog_buf *b, int field_no, uint64_t v)
{
	if (v == 0)
		return;
	put_varint(b, ((uint64_t)field_no << 3) | 0);
	put_varint(b, v);
}

void elog_wire_put_bytes_field(struct elog_buf *b, int field_no, const void *p, size_t n)
{
	if (n == 0)
		return;
	put_varint(b, ((uint64_t)field_no << 3) | 2);
	put_varint(b, n);
	elog_buf_add(b, p, n);
}

static size_t str_field_len(int field_no, size_t n)
{
	return n ? varint_len((uint64_t)field_no << 3) + varint_len(n) + n : 0;
}

static size_t varint_field_len(int field_no, uint64_t v)
{
	return v ? varint_len((uint64_t)field_no << 3) + varint_len(v) : 0;
}

/* Writers into room already reserved (elog_wire_put_record grows the buffer once). */
static inline char *raw_varint(char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (char)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	*p++ = (char)v;
	return p;
}

static inline char *raw_varint_field(char *p, int field_no, uint64_t v)
{
	if (v == 0)
		return p;
	*p++ = (char)(field_no << 3);     /* field numbers here are < 16: one-byte tags */
	return raw_varint(p, v);
}

static inline char *raw_bytes_field(char *p, int field_no, const char *s, size_t n)
{
	if (n == 0)
		return p;
	*p++ = (char)((field_no << 3) | 2);
	p = raw_varint(p, n);
	memcpy(p, s, n);
	return p + n;
}

void elog_wire_put_record(struct elog_buf *b, int field_no, const struct elog_record *r)
{
	size_t lc = strlen(r->component), lm = strlen(r->msg), lf = strlen(r->fields);
	size_t ls = strlen(r->source);
	/* int32 negative values are 10-byte varints; levels are 0..5 so never negative. */
	uint64_t level = (uint64_t)(int64_t)r->level;
	size_t len = varint_field_len(1, (uint64_t)r->id) + varint_field_len(2, (uint64_t)r->ts_ns) +
		     varint_field_len(3, (uint64_t)r->arrival_ns) + str_field_len(4, lc) +
		     varint_field_len(5, level) + str_field_len(6, lm) + str_field_len(7, lf) +
		     str_field_len(8, ls);
	char *p;

	elog_buf_grow(b, len + 2 * 10);
	p = b->data + b->len;
	p = raw_varint(p, ((uint64_t)field_no << 3) | 2);
	p = raw_varint(p, len);
	p = raw_varint_field(p, 1, (uint64_t)r->id);
	p = raw_varint_field(p, 2, (uint64_t)r->ts_ns);
	p = raw_varint_field(p, 3, (uint64_t)r->arrival_ns);
	p = raw_bytes_field(p, 4, r->component, lc);
	p = raw_varint_field(p, 5, level);
	p = raw_bytes_field(p, 6, r->msg, lm);
	p = raw_bytes_field(p, 7, r->fields, lf);
	p = raw_bytes_field(p, 8, r->source, ls);
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
}

/* ---- decoding ------------------------------------------------------------------------ */

struct rd {
	const uint8_t *p, *e;
};

/* A varint of at most 10 bytes (protobuf-c's limit). */
static inline int get_varint(struct rd *r, uint64_t *v)
{
	uint64_t x = 0;
	int i;

	if (r->p < r->e && *r->p < 0x80) {     /* most varints here are one byte */
		*v = *r->p++;
		return 0;
	}
	for (i = 0; i < 10 && r->p < r->e; i++) {
		uint8_t c = *r->p++;

		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/* A tag, read as protobuf-c reads it (so both decoders agree on any input): at most 5
 * bytes, the field number kept to 32 bits, a first byte without field bits refused (a
 * longer tag can still make field number 0, which is then just an unknown field). */
static inline int get_tag(struct rd *r, uint32_t *field, int *wt)
{
	uint32_t f;
	unsigned shift = 4, i;

	if (r->p >= r->e || (r->p[0] & 0xf8) == 0)
		return -1;
	*wt = r->p[0] & 7;
	f = (uint32_t)(r->p[0] & 0x7f) >> 3;
	if (!(r->p[0] & 0x80)) {
		r->p++;
		*field = f;
		return 0;
	}
	for (i = 1; i < 5 && r->p + i < r->e; i++) {
		uint32_t b = r->p[i];

		f |= (b & 0x7f) << shift;
		if (!(b & 0x80)) {
			r->p += i + 1;
			*field = f;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

/* A length-delimited payload: *q..*q+*len inside r. */
static inline int get_bytes(struct rd *r, const uint8_t **q, size_t *len)
{
	uint64_t l;

	if (get_varint(r, &l) != 0 || l > (uint64_t)(r->e - r->p))
		return -1;
	*q = r->p;
	*len = (size_t)l;
	r->p += l;
	return 0;
}

/* Skips an unknown field's value of wire type wt. */
static int skip_field(struct rd *r, int wt)
{
	uint64_t v;
	const uint8_t *q;
	size_t len;

	switch (wt) {
	case 0:
		return get_varint(r, &v);
	case 1:
		if (r->e - r->p < 8)
			return -1;
		r->p += 8;
		return 0;
	case 2:
		return get_bytes(r, &q, &len);
	case 5:
		if (r->e - r->p < 4)
			return -1;
		r->p += 4;
		return 0;
	default:             /* groups (3, 4) and 6, 7: protobuf-c refuses them too */
		return -1;
	}
}

/* A decoded Record: scalars, and its strings as views into the page. */
struct rec_view {
	uint64_t id, ts, arrival, level;
	const uint8_t *str[5];       /* component, msg, fields, source, dedupe_key; NULL: "" */
	size_t len[5];
};

static int decode_record(const uint8_t *p, size_t n, struct rec_view *v)
{
	struct rd r = { p, p + n };

	memset(v, 0, sizeof(*v));
	while (r.p < r.e) {
		uint32_t field;
		int wt, si;
		uint64_t *scalar;

		if (get_tag(&r, &field, &wt) != 0)
			return -1;
		switch (field) {
		case 1: scalar = &v->id; goto varint;
		case 2: scalar = &v->ts; goto varint;
		case 3: scalar = &v->arrival; goto varint;
		case 5: scalar = &v->level; goto varint;
		case 4: si = 0; goto string;
		case 6: si = 1; goto string;
		case 7: si = 2; goto string;
		case 8: si = 3; goto string;
		case 9: si = 4; goto string;
		default:
			if (skip_field(&r, wt) != 0)
				return -1;
			continue;
		}
varint:
		if (wt != 0 || get_varint(&r, scalar) != 0)
			return -1;
		continue;
string:
		if (wt != 2 || get_bytes(&r, &v->str[si], &v->len[si]) != 0)
			return -1;
	}
	return 0;
}

int elog_wire_read_page(void *page, size_t n, struct elog_buf *scratch,
			struct elog_wire_page *info,
			int (*fn)(void *ctx, const struct elog_record *r), void *ctx)
{
	uint8_t *p = page;
	struct rd r = { p, p + n };
	struct rec_view *views;
	size_t i, k;

	memset(info, 0, sizeof(*info));
	if (n && !p)
		return -1;
	/* Pass 1: check the whole page, keeping each record's views in scratch. */
	elog_buf_reset(scratch);
	while (r.p < r.e) {
		uint32_t field;
		int wt;
		uint64_t x;

		if (get_tag(&r, &field, &wt) != 0)
			return -1;
		if (field == 1) {
			const uint8_t *q;
			size_t len;
			struct rec_view v;

			if (wt != 2 || get_bytes(&r, &q, &len) != 0 || decode_record(q, len, &v) != 0)
				return -1;
			elog_buf_add(scratch, &v, sizeof(v));
			info->nrecords++;
		} else if (field >= 2 && field <= 4) {
			if (wt != 0 || get_varint(&r, &x) != 0)
				return -1;
			if (field == 2)
				info->missed = x;
			else if (field == 3)
				info->missed_from = x;
			else
				info->missed_to = x;
		} else if (field == 5) {
			/* bool: protobuf-c takes any wire type here, true when any byte of the
			 * value (with its length prefix) has a bit set outside 0x80 */
			const uint8_t *start = r.p, *q;

			if (skip_field(&r, wt) != 0)
				return -1;
			info->live = 0;
			for (q = start; q < r.p; q++)
				if (*q & 0x7f)
					info->live = 1;
		} else if (skip_field(&r, wt) != 0) {
			return -1;
		}
	}
	/* Pass 2: every byte after a string is a tag, a length or the end, all read already:
	 * terminate the strings in place (p[n] is writable) and hand the records out. */
	views = (struct rec_view *)(void *)scratch->data;
	for (i = 0; i < info->nrecords; i++) {
		struct rec_view *v = &views[i];
		char *str[5];
		struct elog_record rec;
		int rc;

		for (k = 0; k < 5; k++) {
			if (v->str[k]) {
				str[k] = (char *)(p + (v->str[k] - p));
				str[k][v->len[k]] = '\0';
			} else {
				str[k] = (char *)"";
			}
		}
		rec.id = (int64_t)v->id;
		rec.ts_ns = (int64_t)v->ts;
		rec.arrival_ns = (int64_t)v->arrival;
		rec.level = (int)(int32_t)(uint32_t)v->level;
		rec.component = str[0];
		rec.msg = str[1];
		rec.fields = str[2];
		rec.source = str[3];
		rec.dedupe_key = str[4];
		rc = fn(ctx, &rec);
		if (rc)
			return rc;
	}
	return 0;
}
