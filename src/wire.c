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

	elog_buf_grow(b, len + 16);
	put_varint(b, ((uint64_t)field_no << 3) | 2);
	put_varint(b, len);
	elog_wire_put_varint_field(b, 1, (uint64_t)r->id);
	elog_wire_put_varint_field(b, 2, (uint64_t)r->ts_ns);
	elog_wire_put_varint_field(b, 3, (uint64_t)r->arrival_ns);
	elog_wire_put_bytes_field(b, 4, r->component, lc);
	elog_wire_put_varint_field(b, 5, level);
	elog_wire_put_bytes_field(b, 6, r->msg, lm);
	elog_wire_put_bytes_field(b, 7, r->fields, lf);
	elog_wire_put_bytes_field(b, 8, r->source, ls);
}
