/*
 * wire.h — hand-written protobuf encoding of elog.v1.Record for the bulk read path, so a
 * page of thousands of records is built in one buffer without an allocation per record.
 * Must stay byte-compatible with proto/elog.proto (the python peer test decodes it).
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

#endif
