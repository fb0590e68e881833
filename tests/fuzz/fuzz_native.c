/* libFuzzer target: any bytes as the elog.v1.RecordBatch Hub/Ingest receives, decoded as the
 * service decodes it (elog_wire_read_batch, wire.h). The decoder must refuse as undecodable
 * exactly what protobuf-c (the generated elog.pb-c.c) refuses; a batch it takes must hold the
 * records protobuf-c reads, each keeping the record invariants of check.h and the size limit
 * of record.h. The native contract says fields is "" or a JSON object but the service stores
 * what the sender gave, so for fields only the JSON export is checked (it turns non-objects
 * into {"_raw":...}). */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "common/arena.h"
#include "elog.pb-c.h"
#include "common/err.h"
#include "common/wire.h"
#include "check.h"

/* A string of the batch against protobuf-c's: equal unless it had to be repaired (then it
 * holds U+FFFD: protobuf-c's copy ends at the first NUL) or cut. */
static void same_string(const char *got, const char *pb, const char *dflt)
{
	if (!pb || !*pb) {
		if (!strstr(got, "\xef\xbf\xbd"))
			CHECK(strcmp(got, dflt) == 0);
		return;
	}
	if (!strstr(got, "\xef\xbf\xbd") && strlen(got) <= ELOG_MAX_LINE)
		CHECK(strcmp(got, pb) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Elog__V1__RecordBatch *b = elog__v1__record_batch__unpack(NULL, size, data);
	struct elog_buf scratch = ELOG_BUF_INIT;
	struct elog_wire_batch out;
	struct elog_arena a;
	struct elog_err err;
	char *copy = malloc(size + 1);
	size_t i;
	int rc;

	memcpy(copy, data, size);
	elog_arena_init(&a);
	elog_err_clear(&err);
	rc = elog_wire_read_batch(copy, size, &a, &scratch, &out, &err);
	if (rc != 0) {
		CHECK(rc == ELOG_EUSAGE && err.msg[0]);
		if (strcmp(err.msg, "undecodable elog.v1.RecordBatch") == 0)
			CHECK(b == NULL);
	} else {
		CHECK(b != NULL);
		CHECK(out.seq == b->seq && out.n == b->n_records);
		CHECK(out.n <= ELOG_WIRE_MAX_BATCH_RECORDS);
		for (i = 0; i < out.n; i++) {
			const struct elog_record *r = &out.recs[i];
			const Elog__V1__Record *p = b->records[i];

			check_record(r, 0);
			CHECK(*r->component && *r->source);
			CHECK(strlen(r->component) <= ELOG_MAX_LINE && strlen(r->fields) <= ELOG_MAX_LINE &&
			      strlen(r->source) <= ELOG_MAX_LINE && strlen(r->dedupe_key) <= ELOG_MAX_LINE);
			CHECK(r->id == 0 && r->arrival_ns == 0);
			CHECK(r->ts_ns == (p->ts_ns > 0 ? p->ts_ns : 0));
			CHECK(r->level == (p->level >= 0 && p->level < ELOG_LEVEL_COUNT ? p->level
										: ELOG_LEVEL_INFO));
			same_string(r->component, p->component, "default");
			same_string(r->msg, p->msg, "");
			same_string(r->fields, p->fields, "");
			same_string(r->source, p->source, "elog");
			same_string(r->dedupe_key, p->dedupe_key, "");
		}
	}
	if (b)
		elog__v1__record_batch__free_unpacked(b, NULL);
	elog_buf_release(&scratch);
	free(out.recs);
	elog_arena_release(&a);
	free(copy);
	return 0;
}
