/* libFuzzer target: any bytes as an elog.v1.RecordPage, decoded by wire.c (what `elog logs`
 * uses) and by protobuf-c (the generated decoder): both must accept or both refuse, and agree
 * on every record and page field. Then the records must display without breaking the text
 * output's invariants (check.h). */
#include <stdint.h>
#include <stddef.h>
#include "check.h"
#include "elog.pb-c.h"
#include "common/wire.h"

struct walk {
	Elog__V1__RecordPage *p;
	size_t i;
};

static int same_record(void *ctx, const struct elog_record *r)
{
	struct walk *w = ctx;
	Elog__V1__Record *pr;

	CHECK(w->i < w->p->n_records);
	pr = w->p->records[w->i++];
	CHECK(r->id == (int64_t)pr->id);
	CHECK(r->ts_ns == pr->ts_ns);
	CHECK(r->arrival_ns == pr->arrival_ns);
	CHECK(r->level == pr->level);
	CHECK(strcmp(r->component, pr->component) == 0);
	CHECK(strcmp(r->msg, pr->msg) == 0);
	CHECK(strcmp(r->fields, pr->fields) == 0);
	CHECK(strcmp(r->source, pr->source) == 0);
	CHECK(strcmp(r->dedupe_key, pr->dedupe_key) == 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Elog__V1__RecordPage *p = elog__v1__record_page__unpack(NULL, size, data);
	struct elog_buf scratch = ELOG_BUF_INIT;
	struct elog_wire_page info;
	struct walk w = { p, 0 };
	uint8_t *copy = malloc(size + 1);
	int rc;

	memcpy(copy, data, size);
	if (p) {
		rc = elog_wire_read_page(copy, size, &scratch, &info, same_record, &w);
		CHECK(rc == 0);
		CHECK(w.i == p->n_records);
		CHECK(info.nrecords == p->n_records);
		CHECK(info.live == p->live);
		CHECK(info.missed == p->missed);
		CHECK(info.missed_from == p->missed_from);
		CHECK(info.missed_to == p->missed_to);
		elog__v1__record_page__free_unpacked(p, NULL);
	} else {
		struct walk none = { NULL, 0 };

		rc = elog_wire_read_page(copy, size, &scratch, &info, same_record, &none);
		CHECK(rc == -1);
	}
	elog_buf_release(&scratch);
	free(copy);
	return 0;
}
