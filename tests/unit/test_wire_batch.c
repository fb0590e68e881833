/* test_wire_batch.c — the hand-written elog.v1.RecordBatch of `elog send` (client.c through
 * wire.c's elog_wire_put_batch_record) is byte for byte what protobuf-c packs from the same
 * records: empty and NULL strings, zero and negative numbers, every level, dedupe keys, long
 * strings (multi-byte lengths), and many records in one batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elog.pb-c.h"
#include "common/record.h"
#include "common/util.h"
#include "common/wire.h"
#include "unit.h"

static char *nz(char *s)
{
	return s ? s : "";
}

static void same_as_protobuf_c(const struct elog_record *recs, size_t n, uint64_t seq)
{
	Elog__V1__RecordBatch batch = ELOG__V1__RECORD_BATCH__INIT;
	Elog__V1__Record *pr = xcalloc(n ? n : 1, sizeof(*pr));
	Elog__V1__Record **pp = xcalloc(n ? n : 1, sizeof(*pp));
	struct elog_buf b = ELOG_BUF_INIT;
	size_t want_n;
	uint8_t *want;

	for (size_t i = 0; i < n; i++) {
		elog__v1__record__init(&pr[i]);
		pr[i].id = (uint64_t)recs[i].id;
		pr[i].ts_ns = recs[i].ts_ns;
		pr[i].arrival_ns = recs[i].arrival_ns;
		pr[i].level = recs[i].level;
		pr[i].component = nz(recs[i].component);
		pr[i].msg = nz(recs[i].msg);
		pr[i].fields = nz(recs[i].fields);
		pr[i].source = nz(recs[i].source);
		pr[i].dedupe_key = nz(recs[i].dedupe_key);
		pp[i] = &pr[i];
	}
	batch.seq = seq;
	batch.records = pp;
	batch.n_records = n;
	want_n = elog__v1__record_batch__get_packed_size(&batch);
	want = xmalloc(want_n + 1);
	elog__v1__record_batch__pack(&batch, want);
	elog_wire_put_varint_field(&b, 1, seq);
	for (size_t i = 0; i < n; i++)
		elog_wire_put_batch_record(&b, &recs[i]);
	CHECK_INT(b.len, want_n);
	CHECK(b.len == want_n && (want_n == 0 || memcmp(b.data, want, want_n) == 0));
	elog_buf_release(&b);
	free(want);
	free(pp);
	free(pr);
}

static void test_cases(void)
{
	static char big[70000];
	struct elog_record r[8];

	memset(big, 'x', sizeof(big) - 1);
	memset(r, 0, sizeof(r));
	/* all defaults: an empty record */
	same_as_protobuf_c(r, 1, 0);
	same_as_protobuf_c(r, 0, 7);
	r[0].ts_ns = 1769472000500000000LL;
	r[0].level = 3;
	r[0].component = "api";
	r[0].msg = "request 1 quokka";
	r[0].fields = "{\"dur_ms\":496}";
	r[0].source = "send";
	r[0].dedupe_key = "send:c81bf905922b894cf649131de1d18890:1";
	r[1].ts_ns = -5;
	r[1].level = -1;
	r[1].id = 42;
	r[1].arrival_ns = 1;
	r[1].msg = "";
	r[1].dedupe_key = "";
	r[2].msg = big;                  /* a length of three varint bytes */
	r[2].fields = big + sizeof(big) - 200;
	r[2].level = 5;
	r[3].component = "\xc3\xa9t\xc3\xa9";
	r[3].dedupe_key = "plain";
	same_as_protobuf_c(r, 4, 1);
	same_as_protobuf_c(r, 8, 300);
	same_as_protobuf_c(r, 8, UINT64_MAX);
}

static void test_many(void)
{
	enum { N = 2000 };
	struct elog_record *r = xcalloc(N, sizeof(*r));
	char (*keys)[64] = xcalloc(N, sizeof(*keys)), (*msgs)[200] = xcalloc(N, sizeof(*msgs));

	for (size_t i = 0; i < N; i++) {
		snprintf(keys[i], sizeof(keys[i]), "send:abc:%zu", i + 1);
		memset(msgs[i], 'a' + (int)(i % 26), i % 199);
		r[i].ts_ns = (int64_t)(i * 1000003u);
		r[i].level = (int)(i % 6);
		r[i].component = i % 3 ? "worker" : "api";
		r[i].msg = msgs[i];
		r[i].fields = i % 2 ? "{}" : "";
		r[i].source = "send";
		r[i].dedupe_key = i % 5 ? keys[i] : NULL;
	}
	same_as_protobuf_c(r, N, 12345);
	free(msgs);
	free(keys);
	free(r);
}

UNIT_MAIN(
	{ "cases", test_cases },
	{ "many", test_many }
)
