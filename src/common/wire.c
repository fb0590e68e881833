/*
 * wire.c — see wire.h.
 */
#include <stdlib.h>
#include <string.h>
#include "common/wire.h"
#include "common/arena.h"
#include "common/err.h"

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

/* A string as the encoder writes it: s[0..n), then ELOG_TRUNC_MARK when it was cut. */
struct out_str {
	const char *s;
	size_t n, len;          /* bytes of s written; length on the wire */
};

/* A string of the history sent as at most ELOG_MAX_STRING bytes (see record.h). */
static inline void out_str(struct out_str *o, const char *s)
{
	size_t n = strlen(s);

	o->s = s;
	if (n <= ELOG_MAX_STRING) {
		o->n = o->len = n;
		return;
	}
	o->n = elog_record_cut_len(s, n, ELOG_MAX_LINE);
	o->len = o->n + strlen(ELOG_TRUNC_MARK);
}

static inline char *raw_bytes_field(char *p, int field_no, const struct out_str *o)
{
	if (o->len == 0)
		return p;
	*p++ = (char)((field_no << 3) | 2);
	p = raw_varint(p, o->len);
	memcpy(p, o->s, o->n);
	p += o->n;
	if (o->n < o->len) {
		memcpy(p, ELOG_TRUNC_MARK, o->len - o->n);
		p += o->len - o->n;
	}
	return p;
}

/* A string written whole (the ingest batch: the server applies the limits). */
static inline void whole_str(struct out_str *o, const char *s)
{
	o->s = s ? s : "";
	o->n = o->len = strlen(o->s);
}

/*
 * r as field field_no of the message being written, its strings as str[0..nstr) gives them:
 * component, msg, fields, source and, when nstr is 5, dedupe_key (fields 4, 6, 7, 8, 9), in
 * field order as protobuf-c packs them. The buffer grows once.
 */
static void put_record(struct elog_buf *b, int field_no, const struct elog_record *r,
		       const struct out_str *str, int nstr)
{
	static const int num[5] = { 4, 6, 7, 8, 9 };
	/* int32 negative values are 10-byte varints; levels are 0..5 so never negative. */
	uint64_t level = (uint64_t)(int64_t)r->level;
	size_t len;
	char *p;
	int i;

	len = varint_field_len(1, (uint64_t)r->id) + varint_field_len(2, (uint64_t)r->ts_ns) +
	      varint_field_len(3, (uint64_t)r->arrival_ns) + varint_field_len(5, level);
	for (i = 0; i < nstr; i++)
		len += str_field_len(num[i], str[i].len);
	elog_buf_grow(b, len + 2 * 10);
	p = b->data + b->len;
	p = raw_varint(p, ((uint64_t)field_no << 3) | 2);
	p = raw_varint(p, len);
	p = raw_varint_field(p, 1, (uint64_t)r->id);
	p = raw_varint_field(p, 2, (uint64_t)r->ts_ns);
	p = raw_varint_field(p, 3, (uint64_t)r->arrival_ns);
	p = raw_bytes_field(p, 4, &str[0]);
	p = raw_varint_field(p, 5, level);
	for (i = 1; i < nstr; i++)
		p = raw_bytes_field(p, num[i], &str[i]);
	b->len = (size_t)(p - b->data);
	b->data[b->len] = '\0';
}

void elog_wire_put_record(struct elog_buf *b, int field_no, const struct elog_record *r)
{
	struct out_str str[4];

	out_str(&str[0], r->component);
	out_str(&str[1], r->msg);
	out_str(&str[2], r->fields);
	out_str(&str[3], r->source);
	put_record(b, field_no, r, str, 4);
}

void elog_wire_put_batch_record(struct elog_buf *b, const struct elog_record *r)
{
	struct out_str str[5];

	whole_str(&str[0], r->component);
	whole_str(&str[1], r->msg);
	whole_str(&str[2], r->fields);
	whole_str(&str[3], r->source);
	whole_str(&str[4], r->dedupe_key);
	put_record(b, 2, r, str, 5);     /* RecordBatch.records = 2 */
}

/* ---- decoding ------------------------------------------------------------------------ */

struct rd {
	const uint8_t *p, *e;
};

/* A varint of at most 10 bytes (protobuf-c's limit). */
static inline int get_varint(struct rd *r, uint64_t *v)
{
	const uint8_t *p = r->p;
	uint64_t x;
	int i;

	if (p < r->e && *p < 0x80) {     /* most varints here are one byte */
		*v = *p;
		r->p = p + 1;
		return 0;
	}
	if (r->e - p >= 10) {           /* no bound to check byte by byte (timestamps: 9 bytes) */
		x = p[0] & 0x7f;
		for (i = 1; i < 10; i++) {
			x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
			if (!(p[i] & 0x80)) {
				*v = x;
				r->p = p + i + 1;
				return 0;
			}
		}
		return -1;
	}
	x = 0;
	for (i = 0; i < 10 && p < r->e; i++) {
		uint8_t c = *p++;

		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			r->p = p;
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

	v->id = v->ts = v->arrival = v->level = 0;
	v->str[0] = v->str[1] = v->str[2] = v->str[3] = v->str[4] = NULL;
	v->len[0] = v->len[1] = v->len[2] = v->len[3] = v->len[4] = 0;
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
			struct rec_view *v;

			/* decoded in place, into the next slot of scratch */
			if (scratch->cap - scratch->len <= sizeof(*v))
				elog_buf_grow(scratch, sizeof(*v));
			v = (struct rec_view *)(void *)(scratch->data + scratch->len);
			if (wt != 2 || get_bytes(&r, &q, &len) != 0 || decode_record(q, len, v) != 0)
				return -1;
			scratch->len += sizeof(*v);
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
		} else if (field == 6) {
			if (wt != 0 || get_varint(&r, &x) != 0)
				return -1;
			info->removed_before = x;
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
		rec.redacted_before = 0;
		rc = fn(ctx, &rec);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- a RecordBatch, as Hub/Ingest takes it ------------------------------------------- */

static const char *const string_names[5] = { "component", "msg", "fields", "source", "dedupe_key" };

/* Pass 1 of elog_wire_read_batch: checks the whole batch and keeps each record's views in
 * scratch. */
static int scan_batch(const uint8_t *p, size_t n, struct elog_buf *scratch, uint64_t *seq,
		      size_t *count, struct elog_err *err)
{
	struct rd r = { p, p + n };

	while (r.p < r.e) {
		uint32_t field;
		int wt, k;

		if (get_tag(&r, &field, &wt) != 0)
			goto bad;
		if (field == 1) {
			if (wt != 0 || get_varint(&r, seq) != 0)
				goto bad;
		} else if (field == 2) {
			const uint8_t *q;
			size_t len;
			struct rec_view v;

			if (wt != 2 || get_bytes(&r, &q, &len) != 0 || decode_record(q, len, &v) != 0)
				goto bad;
			if (*count >= ELOG_WIRE_MAX_BATCH_RECORDS)
				return elog_err_set(err, ELOG_EUSAGE,
						    "batch of more than %d records: over the limit of %d "
						    "records per batch", ELOG_WIRE_MAX_BATCH_RECORDS,
						    ELOG_WIRE_MAX_BATCH_RECORDS);
			for (k = 0; k < 5; k++)
				if (k != 1 && v.len[k] > ELOG_MAX_LINE)
					goto too_long;
			elog_buf_add(scratch, &v, sizeof(v));
			(*count)++;
			continue;
too_long:
			return elog_err_set(err, ELOG_EUSAGE,
					    "record %zu of the batch: '%s' of %zu bytes is over the "
					    "limit of %d bytes per record string", *count + 1,
					    string_names[k], v.len[k], ELOG_MAX_LINE);
		} else if (skip_field(&r, wt) != 0) {
			goto bad;
		}
	}
	return 0;
bad:
	return elog_err_set(err, ELOG_EUSAGE, "undecodable elog.v1.RecordBatch");
}

/* String k of a record: a view terminated in place when it can be kept as it is, else a
 * repaired (and for the message, cut) copy in the arena; dflt when empty. 0, or -1 when a
 * repaired string other than the message is over ELOG_MAX_LINE. */
static int batch_string(struct elog_arena *a, uint8_t *s, size_t n, int k, const char *dflt,
			char **out, size_t *copied)
{
	struct elog_buf b = ELOG_BUF_INIT;
	size_t cut, len;

	if (!s || n == 0) {
		*out = (char *)dflt;
		return 0;
	}
	if (n <= ELOG_MAX_LINE && elog_utf8_valid((const char *)s, n)) {
		s[n] = '\0';
		*out = (char *)s;
		return 0;
	}
	/* at most 4 bytes past the limit can still end in a character that ends before it */
	elog_utf8_append(&b, (const char *)s, k == 1 && n > ELOG_MAX_LINE + 4 ? ELOG_MAX_LINE + 4 : n);
	cut = elog_record_cut_len(b.data, b.len, ELOG_MAX_LINE);
	if (cut < b.len && k != 1) {
		elog_buf_release(&b);
		return -1;
	}
	len = cut + (cut < b.len ? strlen(ELOG_TRUNC_MARK) : 0);
	*out = elog_arena_alloc(a, len + 1);
	*copied += len + 1;
	memcpy(*out, b.data, cut);
	memcpy(*out + cut, ELOG_TRUNC_MARK, len - cut);
	(*out)[len] = '\0';
	elog_buf_release(&b);
	return 0;
}

int elog_wire_read_batch(void *msg, size_t n, struct elog_arena *a, struct elog_buf *scratch,
			 struct elog_wire_batch *out, struct elog_err *err)
{
	static const char *const dflt[5] = { "default", "", "", "elog", "" };
	uint8_t *p = msg;
	struct rec_view *views;
	size_t i, k;
	int rc;

	memset(out, 0, sizeof(*out));
	elog_buf_reset(scratch);
	if (n == 0) {                /* an empty batch (msg may be NULL) */
		out->recs = xmalloc(sizeof(*out->recs));
		return 0;
	}
	if (!p)
		return elog_err_set(err, ELOG_EUSAGE, "undecodable elog.v1.RecordBatch");
	rc = scan_batch(p, n, scratch, &out->seq, &out->n, err);
	if (rc)
		return rc;
	/* Pass 2: every byte after a string is a tag, a length or the end, all read already. */
	views = (struct rec_view *)(void *)scratch->data;
	out->recs = xmalloc((out->n ? out->n : 1) * sizeof(*out->recs));
	for (i = 0; i < out->n; i++) {
		struct rec_view *v = &views[i];
		struct elog_record *r = &out->recs[i];
		char **slot[5] = { &r->component, &r->msg, &r->fields, &r->source, &r->dedupe_key };
		int64_t ts = (int64_t)v->ts;
		int level = (int)(int32_t)(uint32_t)v->level;

		r->id = 0;
		r->ts_ns = ts > 0 ? ts : 0;
		r->arrival_ns = 0;
		r->redacted_before = 0;
		r->level = level >= 0 && level < ELOG_LEVEL_COUNT ? level : ELOG_LEVEL_INFO;
		for (k = 0; k < 5; k++)
			if (batch_string(a, v->str[k] ? p + (v->str[k] - p) : NULL, v->len[k],
					 (int)k, dflt[k], slot[k], &out->copied) != 0) {
				free(out->recs);
				out->recs = NULL;
				out->n = 0;
				return elog_err_set(err, ELOG_EUSAGE,
						    "record %zu of the batch: '%s' of more than %d "
						    "bytes once made valid UTF-8 is over the limit of "
						    "%d bytes per record string", i + 1,
						    string_names[k], ELOG_MAX_LINE, ELOG_MAX_LINE);
			}
	}
	return 0;
}
