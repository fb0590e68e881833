/* libFuzzer target: any bytes as an elog.v1.RecordBatch (what Hub/Ingest receives), each
 * record converted as the Hub service does (convert.h); every record must keep the record
 * invariants of check.h. The native contract says fields is "" or a JSON object but the
 * service stores what the sender gave, so for fields only the JSON export is checked (it
 * turns non-objects into {"_raw":...}). */
#include <stdint.h>
#include <stddef.h>
#include "convert.h"
#include "check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Elog__V1__RecordBatch *b;
	size_t i;

	b = elog__v1__record_batch__unpack(NULL, size, data);
	if (!b)
		return 0;
	for (i = 0; i < b->n_records; i++) {
		struct elog_record r;

		elog_record_init(&r);
		elog_conv_native_record(&r, b->records[i]);
		check_record(&r, 0);
		CHECK(*r.component && *r.source);
		elog_record_clear(&r);
	}
	elog__v1__record_batch__free_unpacked(b, NULL);
	return 0;
}
