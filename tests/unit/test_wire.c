/* test_wire.c — wire.c: pages the encoder makes decode to the same records, and the decoders
 * (pages, and the RecordBatch of Hub/Ingest) accept and refuse what protobuf-c (the generated
 * elog.pb-c.c) accepts and refuses; the size limits of a record and a batch (record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "elog.pb-c.h"
#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "common/wire.h"
#include "unit.h"

#define MAXREC 8

struct got {
	size_t n;
	struct elog_record r[MAXREC];
	int stop_after;              /* > 0: fn returns 7 after this many */
};

static int collect(void *ctx, const struct elog_record *r)
{
	struct got *g = ctx;

	if (g->n < MAXREC) {
		g->r[g->n] = *r;
		g->r[g->n].component = strdup(r->component);
		g->r[g->n].msg = strdup(r->msg);
		g->r[g->n].fields = strdup(r->fields);
		g->r[g->n].source = strdup(r->source);
		g->r[g->n].dedupe_key = strdup(r->dedupe_key);
	}
	g->n++;
	return g->stop_after && (int)g->n >= g->stop_after ? 7 : 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < g->n && i < MAXREC; i++) {
		free(g->r[i].component);
		free(g->r[i].msg);
		free(g->r[i].fields);
		free(g->r[i].source);
		free(g->r[i].dedupe_key);
	}
	memset(g, 0, sizeof(*g));
}

/* Decodes bytes (copied, with the writable byte past the end) with wire.c. */
static int decode(const void *bytes, size_t n, struct elog_wire_page *info, struct got *g)
{
	struct elog_buf scratch = ELOG_BUF_INIT;
	char *copy = malloc(n + 1);
	int rc;

	memcpy(copy, bytes, n);
	rc = elog_wire_read_page(copy, n, &scratch, info, collect, g);
	free(copy);
	elog_buf_release(&scratch);
	return rc;
}

/* Checks wire.c against protobuf-c on the same bytes: same verdict, same records. */
static void agree(const void *bytes, size_t n, const char *what)
{
	Elog__V1__RecordPage *p = elog__v1__record_page__unpack(NULL, n, bytes);
	struct elog_wire_page info;
	struct got g = { 0 };
	int rc = decode(bytes, n, &info, &g);

	if ((p != NULL) != (rc == 0)) {
		fprintf(stderr, "  %s: protobuf-c %s, wire.c %d\n", what, p ? "accepts" : "refuses", rc);
		CHECK((p != NULL) == (rc == 0));
	}
	if (p && rc == 0) {
		CHECK_INT(g.n, p->n_records);
		CHECK_INT(info.live, p->live);
		CHECK_INT(info.missed, p->missed);
		CHECK_INT(info.missed_from, p->missed_from);
		CHECK_INT(info.missed_to, p->missed_to);
		for (size_t i = 0; i < g.n && i < MAXREC && i < p->n_records; i++) {
			Elog__V1__Record *pr = p->records[i];

			CHECK_INT(g.r[i].id, (int64_t)pr->id);
			CHECK_INT(g.r[i].ts_ns, pr->ts_ns);
			CHECK_INT(g.r[i].arrival_ns, pr->arrival_ns);
			CHECK_INT(g.r[i].level, pr->level);
			CHECK_STR(g.r[i].component, pr->component);
			CHECK_STR(g.r[i].msg, pr->msg);
			CHECK_STR(g.r[i].fields, pr->fields);
			CHECK_STR(g.r[i].source, pr->source);
			CHECK_STR(g.r[i].dedupe_key, pr->dedupe_key);
		}
	}
	if (p)
		elog__v1__record_page__free_unpacked(p, NULL);
	got_free(&g);
}

static void test_roundtrip(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_record r[3];
	struct elog_wire_page info;
	struct got g = { 0 };
	size_t i;

	for (i = 0; i < 3; i++)
		elog_record_init(&r[i]);
	r[0].id = 1;
	r[0].ts_ns = 1700000000123456789LL;
	r[0].arrival_ns = 1700000000223456789LL;
	r[0].level = ELOG_LEVEL_ERROR;
	r[0].component = (char *)"api";
	r[0].msg = (char *)"disk \xc3\xa9 full";
	r[0].fields = (char *)"{\"free\":0}";
	r[0].source = (char *)"send";
	r[1].id = 300;                /* two-byte varint */
	r[1].ts_ns = -5;              /* before 1970: a ten-byte varint */
	r[1].component = (char *)"c";
	r[1].msg = (char *)"";        /* absent on the wire */
	r[2].id = 301;
	r[2].msg = (char *)"x";
	for (i = 0; i < 3; i++)
		elog_wire_put_record(&b, 1, &r[i]);
	elog_wire_put_varint_field(&b, 2, 9);
	elog_wire_put_varint_field(&b, 3, 10);
	elog_wire_put_varint_field(&b, 4, 18);
	elog_wire_put_varint_field(&b, 5, 1);

	CHECK_INT(decode(b.data, b.len, &info, &g), 0);
	CHECK_INT(info.nrecords, 3);
	CHECK_INT(info.missed, 9);
	CHECK_INT(info.missed_from, 10);
	CHECK_INT(info.missed_to, 18);
	CHECK_INT(info.live, 1);
	CHECK_INT(g.n, 3);
	CHECK_INT(g.r[0].id, 1);
	CHECK_INT(g.r[0].ts_ns, 1700000000123456789LL);
	CHECK_INT(g.r[0].arrival_ns, 1700000000223456789LL);
	CHECK_INT(g.r[0].level, ELOG_LEVEL_ERROR);
	CHECK_STR(g.r[0].component, "api");
	CHECK_STR(g.r[0].msg, "disk \xc3\xa9 full");
	CHECK_STR(g.r[0].fields, "{\"free\":0}");
	CHECK_STR(g.r[0].source, "send");
	CHECK_STR(g.r[0].dedupe_key, "");
	CHECK_INT(g.r[1].id, 300);
	CHECK_INT(g.r[1].ts_ns, -5);
	CHECK_STR(g.r[1].msg, "");
	CHECK_STR(g.r[2].msg, "x");
	got_free(&g);
	agree(b.data, b.len, "roundtrip");

	/* fn stops: its value comes back, nothing after it is delivered */
	g.stop_after = 2;
	CHECK_INT(decode(b.data, b.len, &info, &g), 7);
	CHECK_INT(g.n, 2);
	got_free(&g);
	elog_buf_release(&b);
}

static void test_agrees_with_protobuf_c(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
	} cases[] = {
#define C(what, lit) { what, lit, sizeof(lit) - 1 }
		C("empty page", ""),
		C("one empty record", "\x0a\x00"),
		C("unknown varint field in the page", "\x30\x05\x0a\x02\x08\x07"),
		C("unknown fixed64 in a record", "\x0a\x0b\x51\x01\x02\x03\x04\x05\x06\x07\x08\x08\x03"),
		C("unknown fixed32 in a record", "\x0a\x07\x55\x01\x02\x03\x04\x08\x03"),
		C("unknown bytes in a record", "\x0a\x06\x52\x02\x61\x62\x08\x03"),
		C("repeated scalar: the last wins", "\x0a\x04\x08\x01\x08\x02"),
		C("repeated string: the last wins", "\x0a\x06\x32\x01\x61\x32\x01\x62"),
		C("dedupe_key", "\x0a\x03\x4a\x01\x6b"),
		C("negative level", "\x0a\x0b\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("live given twice", "\x28\x01\x28\x00"),
		C("live as fixed64 (found by fuzz_page)", "\x29\x00\x00\x00\x00\x00\x00\x00\x80"),
		C("live as fixed64, set", "\x29\x00\x00\x00\x00\x00\x00\x00\x01"),
		C("live as bytes", "\x2a\x01\x00"),
		C("live as fixed32", "\x2d\x00\x02\x00\x00"),
		C("string with wire type 0", "\x0a\x02\x20\x01"),
		C("varint with wire type 2", "\x0a\x03\x0a\x01\x61"),
		C("records with wire type 0", "\x08\x01"),
		C("group in the page", "\x33\x34"),
		C("group in a record", "\x0a\x02\x5b\x5c"),
		C("wire type 6", "\x0e"),
		C("field number 0", "\x02\x00"),
		C("field number 0 in a longer tag", "\x80\x00\x01"),
		C("field number past 2^29 (found by fuzz_page)", "\xe0\xdf\xdf\xdf\x20\x28"),
		C("tag of 6 bytes", "\x80\x80\x80\x80\x80\x01\x00"),
		C("truncated length", "\x0a\x05\x08"),
		C("truncated varint", "\x0a\x01\x08"),
		C("varint of 11 bytes", "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("varint of 10 bytes", "\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("truncated fixed64", "\x0a\x05\x51\x01\x02\x03\x04"),
		C("string with a NUL", "\x0a\x05\x32\x03\x61\x00\x62"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		agree(cases[i].bytes, cases[i].n, cases[i].what);
}


/* ---- RecordBatch (Hub/Ingest) ---- */

/* Decodes a copy of bytes (with the writable byte past the end) as a RecordBatch. */
static int decode_batch(const void *bytes, size_t n, struct elog_arena *a, char **copy,
			struct elog_wire_batch *out, struct elog_err *err)
{
	struct elog_buf scratch = ELOG_BUF_INIT;
	int rc;

	*copy = malloc(n + 1);
	memcpy(*copy, bytes, n);
	elog_err_clear(err);
	rc = elog_wire_read_batch(*copy, n, a, &scratch, out, err);
	elog_buf_release(&scratch);
	return rc;
}

/* Frees what decode_batch made. */
static void release(struct elog_arena *a, char *copy, struct elog_wire_batch *out)
{
	free(out->recs);
	out->recs = NULL;
	elog_arena_release(a);
	free(copy);
}

/* What Hub/Ingest stores for a string protobuf-c decoded: valid UTF-8, dflt when empty. */
static void check_string(const char *got, const char *pb, const char *dflt)
{
	char *want;

	if (!pb || !*pb) {
		CHECK_STR(got, dflt);
		return;
	}
	want = elog_utf8_dup(pb, strlen(pb));
	CHECK_STR(got, want);
	free(want);
}

/* wire.c against protobuf-c on the same bytes: same verdict, same records as the service
 * keeps them (defaults, repaired text; strings without NUL bytes). */
static void agree_batch(const void *bytes, size_t n, const char *what)
{
	Elog__V1__RecordBatch *p = elog__v1__record_batch__unpack(NULL, n, bytes);
	struct elog_arena a;
	struct elog_wire_batch b;
	struct elog_err err;
	char *copy;
	int rc;

	elog_arena_init(&a);
	rc = decode_batch(bytes, n, &a, &copy, &b, &err);
	if ((p != NULL) != (rc == 0)) {
		fprintf(stderr, "  %s: protobuf-c %s, wire.c %d (%s)\n", what,
			p ? "accepts" : "refuses", rc, err.msg);
		CHECK((p != NULL) == (rc == 0));
	}
	if (rc != 0)
		CHECK_STR(err.msg, "undecodable elog.v1.RecordBatch");
	if (p && rc == 0) {
		CHECK_INT(b.seq, p->seq);
		CHECK_INT(b.n, p->n_records);
		for (size_t i = 0; i < b.n && i < p->n_records; i++) {
			Elog__V1__Record *pr = p->records[i];
			struct elog_record *r = &b.recs[i];

			CHECK_INT(r->id, 0);
			CHECK_INT(r->arrival_ns, 0);
			CHECK_INT(r->ts_ns, pr->ts_ns > 0 ? pr->ts_ns : 0);
			CHECK_INT(r->level, pr->level >= 0 && pr->level < ELOG_LEVEL_COUNT ? pr->level
										: ELOG_LEVEL_INFO);
			check_string(r->component, pr->component, "default");
			check_string(r->msg, pr->msg, "");
			check_string(r->fields, pr->fields, "");
			check_string(r->source, pr->source, "elog");
			check_string(r->dedupe_key, pr->dedupe_key, "");
		}
	}
	if (p)
		elog__v1__record_batch__free_unpacked(p, NULL);
	release(&a, copy, &b);
}

static void test_batch_agrees_with_protobuf_c(void)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
	} cases[] = {
#define C(what, lit) { what, lit, sizeof(lit) - 1 }
		C("empty batch", ""),
		C("seq only", "\x08\x05"),
		C("one empty record", "\x12\x00"),
		C("seq after the records", "\x12\x00\x12\x00\x08\x07"),
		C("a full record",
		  "\x08\x01\x12\x1c\x08\x05\x10\x7f\x18\x01\x22\x03\x61\x70\x69\x28\x04"
		  "\x32\x02\x68\x69\x3a\x02\x7b\x7d\x42\x02\x70\x79\x4a\x01\x6b"),
		C("invalid UTF-8 in msg", "\x12\x04\x32\x02\x61\xff"),
		C("overlong encoding in fields", "\x12\x04\x3a\x02\xc0\xaf"),
		C("unknown varint field in the batch", "\x30\x05\x12\x02\x28\x03"),
		C("unknown fixed64 in a record", "\x12\x0b\x51\x01\x02\x03\x04\x05\x06\x07\x08\x28\x03"),
		C("unknown fixed32 in the batch", "\x1d\x01\x02\x03\x04\x12\x00"),
		C("unknown bytes in a record", "\x12\x06\x52\x02\x61\x62\x28\x03"),
		C("repeated seq: the last wins", "\x08\x01\x08\x02"),
		C("repeated string: the last wins", "\x12\x06\x32\x01\x61\x32\x01\x62"),
		C("negative level", "\x12\x0b\x28\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("level 6", "\x12\x02\x28\x06"),
		C("negative time", "\x12\x0b\x10\xfb\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("level past 32 bits", "\x12\x06\x28\x82\x80\x80\x80\x10"),
		C("string with wire type 0", "\x12\x02\x20\x01"),
		C("varint with wire type 2", "\x12\x03\x2a\x01\x61"),
		C("records with wire type 0", "\x10\x01"),
		C("seq with wire type 2", "\x0a\x01\x61"),
		C("seq as fixed64", "\x09\x01\x02\x03\x04\x05\x06\x07\x08"),
		C("group in the batch", "\x33\x34"),
		C("group in a record", "\x12\x02\x5b\x5c"),
		C("wire type 6", "\x0e"),
		C("field number 0", "\x02\x00"),
		C("field number 0 in a longer tag", "\x80\x00\x01"),
		C("field number past 2^29", "\xe0\xdf\xdf\xdf\x20\x28"),
		C("tag of 6 bytes", "\x80\x80\x80\x80\x80\x01\x00"),
		C("truncated record", "\x12\x05\x08"),
		C("truncated varint", "\x12\x01\x08"),
		C("varint of 11 bytes", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("varint of 10 bytes", "\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
		C("record length past the end", "\x12\x80\x80\x80\x80\x10"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		agree_batch(cases[i].bytes, cases[i].n, cases[i].what);
}

/* Appends a length-delimited field: tag, length, then the n bytes of p. */
static void put_ld(struct elog_buf *b, int field, const void *p, size_t n)
{
	uint8_t head[11];
	size_t k = 0, v = n;

	head[k++] = (uint8_t)(field << 3 | 2);
	do {
		head[k++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		v >>= 7;
	} while (v);
	elog_buf_add(b, head, k);
	elog_buf_add(b, p, n);
}

/* A RecordBatch of one record holding string field `field` = s[0..n). */
static void batch_of_string(struct elog_buf *b, int field, const char *s, size_t n)
{
	struct elog_buf rec = ELOG_BUF_INIT;

	elog_buf_reset(b);
	put_ld(&rec, field, s, n);
	put_ld(b, 2, rec.data, rec.len);
	elog_buf_release(&rec);
}

static void test_batch_limits(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_arena a;
	struct elog_wire_batch out;
	struct elog_err err;
	size_t big = 2 * ELOG_MAX_LINE, i;
	char *s = malloc(big), *copy;

	/* an empty message is an empty batch */
	elog_arena_init(&a);
	CHECK_INT(elog_wire_read_batch(NULL, 0, &a, &b, &out, &err), 0);
	CHECK_INT(out.n, 0);
	CHECK(out.recs != NULL);
	release(&a, NULL, &out);

	/* records per batch: 16384 empty records, then one more */
	for (i = 0; i < ELOG_WIRE_MAX_BATCH_RECORDS; i++)
		elog_buf_add(&b, "\x12\x00", 2);
	elog_arena_init(&a);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), 0);
	CHECK_INT(out.n, ELOG_WIRE_MAX_BATCH_RECORDS);
	CHECK_INT(out.copied, 0);
	CHECK_STR(out.recs[9].component, "default");
	CHECK_STR(out.recs[9].source, "elog");
	release(&a, copy, &out);
	elog_buf_add(&b, "\x12\x00", 2);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "16384") && strstr(err.msg, "records per batch"));
	release(&a, copy, &out);

	/* a message over 1 MiB is cut at a character boundary and marked, as lines are */
	memset(s, 'm', big);
	memcpy(s + ELOG_MAX_LINE - 1, "\xe2\x82\xac", 3);    /* a 3-byte character across the limit */
	batch_of_string(&b, 6, s, big);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), 0);
	CHECK_INT(strlen(out.recs[0].msg), ELOG_MAX_LINE - 1 + strlen(ELOG_TRUNC_MARK));
	CHECK_STR(out.recs[0].msg + ELOG_MAX_LINE - 1, ELOG_TRUNC_MARK);
	CHECK(strlen(out.recs[0].msg) <= ELOG_MAX_STRING);
	release(&a, copy, &out);
	/* exactly 1 MiB is kept whole, in place */
	memset(s, 'm', big);
	batch_of_string(&b, 6, s, ELOG_MAX_LINE);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), 0);
	CHECK_INT(strlen(out.recs[0].msg), ELOG_MAX_LINE);
	CHECK_INT(out.copied, 0);
	release(&a, copy, &out);
	/* invalid UTF-8 that grows past 1 MiB once repaired: cut too */
	memset(s, 0xff, ELOG_MAX_LINE);
	batch_of_string(&b, 6, s, ELOG_MAX_LINE);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), 0);
	CHECK(strlen(out.recs[0].msg) <= ELOG_MAX_STRING);
	CHECK(elog_utf8_valid(out.recs[0].msg, strlen(out.recs[0].msg)));
	release(&a, copy, &out);

	/* the other strings: 1 MiB is kept, more is refused naming the limit */
	memset(s, 'f', big);
	for (int field = 4; field <= 9; field++) {
		if (field == 5 || field == 6)
			continue;
		batch_of_string(&b, field, s, ELOG_MAX_LINE);
		CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), 0);
		release(&a, copy, &out);
		batch_of_string(&b, field, s, ELOG_MAX_LINE + 1);
		CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), ELOG_EUSAGE);
		CHECK(strstr(err.msg, "1048576 bytes per record string") != NULL);
		release(&a, copy, &out);
	}
	batch_of_string(&b, 7, s, big);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), ELOG_EUSAGE);
	CHECK_STR(err.msg, "record 1 of the batch: 'fields' of 2097152 bytes is over the limit of "
		  "1048576 bytes per record string");
	release(&a, copy, &out);
	/* fields of 1 MiB that grow past it once repaired */
	memset(s, 0xff, ELOG_MAX_LINE);
	batch_of_string(&b, 7, s, ELOG_MAX_LINE);
	CHECK_INT(decode_batch(b.data, b.len, &a, &copy, &out, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "'fields'") && strstr(err.msg, "1048576 bytes per record string"));
	release(&a, copy, &out);
	elog_buf_release(&b);
	free(s);
}

/* What the read path sends of a record with strings over the limit (stored before it). */
static void test_page_strings_capped(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_wire_page info;
	struct elog_record r;
	struct got g = { 0 };
	size_t big = 5 * ELOG_MAX_LINE;
	char *s = malloc(big + 1);

	memset(s, 'x', big);
	s[big] = '\0';
	elog_record_init(&r);
	r.id = 1;
	r.component = r.msg = r.fields = r.source = r.dedupe_key = s;
	elog_wire_put_record(&b, 1, &r);
	CHECK(b.len <= ELOG_MAX_RECORD);
	CHECK_INT(decode(b.data, b.len, &info, &g), 0);
	CHECK_INT(g.n, 1);
	CHECK_INT(strlen(g.r[0].msg), ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	CHECK_STR(g.r[0].msg + ELOG_MAX_LINE, ELOG_TRUNC_MARK);
	CHECK_INT(strlen(g.r[0].fields), ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	CHECK_INT(strlen(g.r[0].component), ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	got_free(&g);
	/* a message already cut at ingest is sent as it is */
	s[ELOG_MAX_STRING] = '\0';
	r.component = (char *)"c";
	r.fields = r.source = (char *)"";
	elog_buf_reset(&b);
	elog_wire_put_record(&b, 1, &r);
	CHECK_INT(decode(b.data, b.len, &info, &g), 0);
	CHECK_INT(strlen(g.r[0].msg), ELOG_MAX_STRING);
	CHECK(strchr(g.r[0].msg, ' ') == NULL);
	got_free(&g);
	elog_buf_release(&b);
	free(s);
}

UNIT_MAIN(
	{ "roundtrip", test_roundtrip },
	{ "agrees_with_protobuf_c", test_agrees_with_protobuf_c },
	{ "batch_agrees_with_protobuf_c", test_batch_agrees_with_protobuf_c },
	{ "batch_limits", test_batch_limits },
	{ "page_strings_capped", test_page_strings_capped }
)
