/* test_wire.c — wire.c: pages the encoder makes decode to the same records, and the decoder
 * accepts and refuses what protobuf-c (the generated elog.pb-c.c) accepts and refuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elog.pb-c.h"
#include "record.h"
#include "util.h"
#include "wire.h"
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

UNIT_MAIN(
	{ "roundtrip", test_roundtrip },
	{ "agrees_with_protobuf_c", test_agrees_with_protobuf_c }
)
