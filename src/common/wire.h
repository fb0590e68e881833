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
#include "common/record.h"
#include "common/util.h"

/* Appends field `field_no` (length-delimited) holding r encoded as elog.v1.Record. */
void elog_wire_put_record(struct elog_buf *b, int field_no, const struct elog_record *r);
/* Appends r as one record (field 2) of an elog.v1.RecordBatch, every field whole, the dedupe
 * key too (what protobuf-c's pack wrote for `elog send`, at a fraction of its cost: it took the
 * strings' lengths twice each). A batch is elog_wire_put_varint_field(b, 1, seq), then this
 * per record. */
void elog_wire_put_batch_record(struct elog_buf *b, const struct elog_record *r);
/* Appends a varint field. */
void elog_wire_put_varint_field(struct elog_buf *b, int field_no, uint64_t v);

/* What a RecordPage says besides its records. */
struct elog_wire_page {
	size_t nrecords;
	uint64_t missed, missed_from, missed_to;
	int live;
	uint64_t removed_before;    /* records before this id were removed (0: none said) */
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

/* ---- elog.v1.RecordBatch, as Hub/Ingest takes it ---- */

/* The most records one RecordBatch may hold (README "Limits"). */
#define ELOG_WIRE_MAX_BATCH_RECORDS 16384

struct elog_arena;
struct elog_err;

/* A decoded RecordBatch: recs[0..n), malloc'd. */
struct elog_wire_batch {
	uint64_t seq;
	struct elog_record *recs;
	size_t n;
	size_t copied;          /* bytes of the strings copied into the arena */
};

/*
 * Decodes the elog.v1.RecordBatch in msg[0..n) into the records Hub/Ingest stores, reading
 * the bytes as protobuf-c does (what it refuses is refused, the last of a repeated scalar or
 * string wins, unknown fields are skipped). out->recs is malloc'd (the caller frees it; NULL
 * on error): sizeof(struct elog_record) per record is all that is allocated besides the
 * strings that had to change. Each string
 * of a record is a view into msg, terminated in place (msg[n] must be writable, and msg is no
 * longer a valid message afterwards), or a copy in a when it had to change: invalid UTF-8 and
 * NUL bytes become U+FFFD, a message over ELOG_MAX_LINE is cut at a character boundary and
 * ends with ELOG_TRUNC_MARK. An empty component is "default", an empty source "elog", a level
 * out of range info, a negative time 0; ids and arrival times are 0. The records' strings
 * live as long as both msg and a. scratch (the caller's, reusable) holds the views while decoding.
 * Returns 0, or ELOG_EUSAGE with err: "undecodable elog.v1.RecordBatch", or a message naming
 * the limit for a batch of more than ELOG_WIRE_MAX_BATCH_RECORDS records or a record whose
 * component, fields, source or dedupe key is over ELOG_MAX_LINE bytes (record.h); the whole
 * batch is refused then.
 */
int elog_wire_read_batch(void *msg, size_t n, struct elog_arena *a, struct elog_buf *scratch,
			 struct elog_wire_batch *out, struct elog_err *err);

#endif
