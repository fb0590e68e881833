/*
 * spans.h — OpenTelemetry spans as kept for ingestion.InternalIngestionService/ReadSpans
 * (contracts.md §5; schema 5): one row per span, the span and its resource serialized as
 * received, under a 16-byte ULID key assigned when the span is written inside a history
 * transaction.
 *
 * Keys: the first 6 bytes are the milliseconds since the epoch at the write (big-endian), the
 * other 10 random; a key is always greater than every key already stored (when the clock
 * gives no greater one, the largest key plus one), so keys are strictly increasing in commit
 * order, across restarts and clock steps back. With one writer, a reader that saw key K has
 * seen every key below K: a poller that asks for the keys after the last one it got gets
 * every span exactly once.
 */
#ifndef ELOG_SPANS_H
#define ELOG_SPANS_H

#include <stddef.h>
#include <stdint.h>

struct elog_store;
struct elog_err;

#define ELOG_SPAN_KEY_BYTES 16

/* Schema 5 (a row of store.c's migration steps). */
#define ELOG_SPANS_SCHEMA_SQL \
	"CREATE TABLE IF NOT EXISTS spans (" \
	"  key BLOB PRIMARY KEY," \
	"  span BLOB NOT NULL," \
	"  resource BLOB NOT NULL" \
	") WITHOUT ROWID;" \
	"PRAGMA user_version = 5;"

struct elog_span_row {
	const void *span;       /* a serialized opentelemetry.proto.trace.v1.Span */
	size_t span_len;
	const void *resource;   /* a serialized resource.v1.Resource (may be 0 bytes) */
	size_t resource_len;
	unsigned char key[ELOG_SPAN_KEY_BYTES];   /* set by elog_spans_insert */
};

/* Writes rows[0..n) inside the transaction open on s (the hub writer's: elog_store_insert_txn),
 * assigning each its key in order. Returns 0 or a negative code with err. */
int elog_spans_insert(struct elog_store *s, struct elog_span_row *rows, size_t n,
		      struct elog_err *err);

/* One span as read back; valid only during the callback. */
typedef int (*elog_span_fn)(void *ctx, const unsigned char *key, const void *span,
			    size_t span_len, const void *resource, size_t resource_len);

/*
 * Calls fn for up to max spans whose key is greater than after[0..after_len) (after_len 0:
 * from the oldest), in key order, all from one snapshot. fn returns 0 to go on, non-zero to
 * stop (returned). Returns 0, fn's value, or a negative code with err. A history of a schema
 * before 5 has no spans: nothing is read.
 */
int elog_spans_read(struct elog_store *s, const void *after, size_t after_len, uint32_t max,
		    elog_span_fn fn, void *ctx, struct elog_err *err);

/* Counts spans stored (for tests and `elog ps`). */
int elog_spans_count(struct elog_store *s, int64_t *n, struct elog_err *err);

#endif
