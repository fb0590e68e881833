/*
 * svc_readspans.c — ingestion.InternalIngestionService/ReadSpans (contracts.md §4), the cursor
 * read Junjo's backend polls: the spans kept from OTLP TraceService/Export (svc_otlp.c,
 * store/spans.h) strictly after start_key_ulid (empty: from the oldest), at most batch_size
 * of them, in key order; then the stream ends. Keys are strictly increasing in commit order
 * and stable across restarts, so a poller that asks again after the last key it got reads
 * every span exactly once.
 *
 * The spans are read in chunks of READ_CHUNK, each in a short read transaction of its own
 * connection, and sent while at most SEND_QUEUE wait to go: a slow poller holds neither a
 * snapshot of the history nor more than that in memory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/svc.h"
#include "common/err.h"
#include "common/util.h"
#include "store/store.h"
#include "store/spans.h"
#include "ingestion.pb-c.h"

#define READSPANS_PATH "/ingestion.InternalIngestionService/ReadSpans"
#define READSPANS_DEFAULT_BATCH 1000   /* batch_size 0 */
#define READSPANS_MAX_BATCH 10000      /* spans in one call at most (README "Limits") */
#define READ_CHUNK 256
#define SEND_QUEUE 64

/* One chunk read from the history, sent after its read transaction ended. */
struct chunk {
	struct elog_buf bytes;                     /* the chunk's span and resource bytes */
	struct { unsigned char key[ELOG_SPAN_KEY_BYTES]; size_t span_off, span_len, res_off,
		 res_len; } rows[READ_CHUNK];
	size_t n;
};

static int collect(void *ctx, const unsigned char *key, const void *span, size_t span_len,
		   const void *resource, size_t resource_len)
{
	struct chunk *c = ctx;

	memcpy(c->rows[c->n].key, key, ELOG_SPAN_KEY_BYTES);
	c->rows[c->n].span_off = c->bytes.len;
	c->rows[c->n].span_len = span_len;
	elog_buf_add(&c->bytes, span, span_len);
	c->rows[c->n].res_off = c->bytes.len;
	c->rows[c->n].res_len = resource_len;
	elog_buf_add(&c->bytes, resource, resource_len);
	return ++c->n == READ_CHUNK;
}

/* Sends the chunk's spans; -1 when the call died. */
static int send_chunk(struct rpc_call *call, const struct chunk *c)
{
	for (size_t i = 0; i < c->n; i++) {
		Ingestion__ReadSpansResponse m = INGESTION__READ_SPANS_RESPONSE__INIT;

		if (rpc_call_wait_sendable(call, SEND_QUEUE, 0) != 0)
			return -1;
		m.key_ulid.data = (uint8_t *)c->rows[i].key;
		m.key_ulid.len = ELOG_SPAN_KEY_BYTES;
		m.span_bytes.data = (uint8_t *)c->bytes.data + c->rows[i].span_off;
		m.span_bytes.len = c->rows[i].span_len;
		m.resource_bytes.data = (uint8_t *)c->bytes.data + c->rows[i].res_off;
		m.resource_bytes.len = c->rows[i].res_len;
		if (rpc_call_send(call, &m.base) != 0)
			return -1;
	}
	return 0;
}

static void read_spans(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	Ingestion__ReadSpansRequest *req = NULL;
	struct elog_store *st = NULL;
	struct elog_err err;
	struct chunk *c;
	unsigned char last[ELOG_SPAN_KEY_BYTES];
	uint32_t want, sent = 0;
	size_t after_len;
	int rc, status;

	rc = rpc_call_recv(call, &ingestion__read_spans_request__descriptor,
			   (ProtobufCMessage **)&req);
	if (rc == -2) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "cannot decode ReadSpansRequest");
		return;
	}
	if (rc != 1) {
		rpc_call_finish(call, RPC_CANCELLED, "no request");
		return;
	}
	c = xcalloc(1, sizeof(*c));
	after_len = req->start_key_ulid.len;
	if (after_len != 0 && after_len != ELOG_SPAN_KEY_BYTES) {
		protobuf_c_message_free_unpacked(&req->base, NULL);
		free(c);
		rpc_call_finish(call, RPC_INVALID_ARGUMENT,
				"start_key_ulid must be empty or 16 bytes (a key_ulid ReadSpans sent)");
		return;
	}
	if (after_len)
		memcpy(last, req->start_key_ulid.data, ELOG_SPAN_KEY_BYTES);
	want = req->batch_size ? req->batch_size : READSPANS_DEFAULT_BATCH;
	if (want > READSPANS_MAX_BATCH)
		want = READSPANS_MAX_BATCH;
	protobuf_c_message_free_unpacked(&req->base, NULL);

	elog_err_clear(&err);
	if (elog_store_open(&st, svc->db_path, ELOG_STORE_READONLY, &err) != 0) {
		free(c);
		rpc_call_finish(call, RPC_UNAVAILABLE, err.msg);
		return;
	}
	status = RPC_OK;
	while (sent < want) {
		uint32_t n = want - sent < READ_CHUNK ? want - sent : READ_CHUNK;

		c->n = 0;
		elog_buf_reset(&c->bytes);
		rc = elog_spans_read(st, last, after_len, n, collect, c, &err);
		if (rc < 0) {
			status = RPC_INTERNAL;
			break;
		}
		if (send_chunk(call, c) != 0) {
			status = RPC_CANCELLED;
			break;
		}
		sent += (uint32_t)c->n;
		if (c->n < n)      /* no more spans */
			break;
		memcpy(last, c->rows[c->n - 1].key, ELOG_SPAN_KEY_BYTES);
		after_len = ELOG_SPAN_KEY_BYTES;
	}
	elog_store_close(st);
	elog_buf_release(&c->bytes);
	free(c);
	rpc_call_finish(call, status, status == RPC_INTERNAL ? err.msg : NULL);
}

void elog_svc_readspans_register(struct rpc_server *s, struct elog_svc *svc)
{
	rpc_server_add_method(s, READSPANS_PATH, RPC_SERVER_STREAM, read_spans, svc);
}
