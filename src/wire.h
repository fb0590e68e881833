/*
 * wire.h — hand-written protobuf encoding of elog.v1.Record for the bulk read path, so a
 * page of thousands of records is built in one buffer without an allocation per record, and
 * the matching decoder of elog.v1.RecordPage for the reading client (protobuf-c's generic
 * unpack was a quarter of `elog logs`). Must stay byte-compatible with proto/elog.proto: the
 * python peer test decodes what the encoder makes, and fuzz_page checks that the decoder
 * agrees with protobuf-c on any input.
 */
#ifndef ELOG_WIRE_H
#define ELOG_WIRE_H

#include <stdint.h>
#include "record.h"
#include "util.h"

/* Appends field `field_no` (length-delimited) holding r encoded as elog.v1.Record. */
void elog_wire_put_record(struct elog_buf *b, int field_no, const struct elog_record *r);
/* Appends a varint field. */
void elog_wire_put_varint_field(struct elog_buf *b, int field_no, uint64_t v);
/* Appends a length-delimited field. */
void elog_wire_put_bytes_field(struct elog_buf *b, int field_no, const void *p, size_t n);

/* What a RecordPage says besides its records. */
struct elog_wire_page {
	size_t nrecords;
	uint64_t missed, missed_from, missed_to;
	int live;
};

/*
 * Decodes the elog.v1.RecordPage in page[0..n) and calls fn(ctx, r) for each record in order.
 * The strings of r point into the page, terminated in place: page[n] must be writable, and the
 * page's bytes are no longer a valid message afterwards. r is valid only during the call.
 * scratch (the caller's, reusable) holds the decoded views. The whole page is checked before
 * the first call, so a malformed page delivers nothing. Accepts what protobuf-c accepts here:
 * unknown fields are skipped, the last of a repeated scalar or string wins, a known field
 * with another wire type or a group is an error (but for bool `live`, which protobuf-c reads
 * from any wire type). Fills *info (page fields and the number of
 * records) even when fn stops early. Returns 0 when every record was delivered, fn's non-zero
 * value when it stopped, or -1 for a malformed page.
 */
int elog_wire_read_page(void *page, size_t n, struct elog_buf *scratch,
			struct elog_wire_page *info,
			int (*fn)(void *ctx, const struct elog_record *r), void *ctx);

#endif
