/*
 * rpc_call.c — one server call's message I/O (the queue thread's receive-ahead and send
 * batches) and the call API its handler thread uses (rpc.h: rpc_call_*), with the codec
 * that packs and unpacks protobuf-c messages in gRPC byte buffers under a decode budget.
 * Locking: rpc_server.c's opening comment.
 */
#include "rpc/rpc_internal.h"

/* ---- codec --------------------------------------------------------------------------- */

static grpc_byte_buffer *pack_message(const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(n);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

/*
 * protobuf-c takes a struct for each message, map entry and repeated element it decodes (and
 * a scan entry for each field while decoding): tens of times the bytes for many small
 * elements (a 4 MiB map of empty entries took 185 MiB). Decoding a message may take at most
 * RPC_DECODE_PER_BYTE times its size plus RPC_DECODE_EXTRA (README "Limits"); past that the
 * allocator refuses, protobuf-c gives up, and the call ends RESOURCE_EXHAUSTED naming the
 * limit. The blocks come from the caller's allocator (malloc when none), so the message is
 * freed as any other; what protobuf-c frees while it gives up is not given back to the budget.
 */
#define RPC_DECODE_PER_BYTE 4
#define RPC_DECODE_EXTRA (16u << 20)
#define RPC_DECODE_BLOCK_OVERHEAD 16    /* malloc's header, counted with each block */

struct decode_budget {
	const ProtobufCAllocator *inner;   /* NULL: malloc and free */
	size_t used, limit;
	int over;
};

static void *budget_alloc(void *ctx, size_t n)
{
	struct decode_budget *b = ctx;
	size_t cost = n + RPC_DECODE_BLOCK_OVERHEAD;
	void *p;

	if (b->over || cost > b->limit - b->used) {
		b->over = 1;
		return NULL;
	}
	p = b->inner ? b->inner->alloc(b->inner->allocator_data, n) : malloc(n ? n : 1);
	if (p)
		b->used += cost;
	return p;
}

static void budget_free(void *ctx, void *p)
{
	struct decode_budget *b = ctx;

	if (!p)
		return;
	if (b->inner)
		b->inner->free(b->inner->allocator_data, p);
	else
		free(p);
}

/* Returns 0 and *out; -2 when the bytes do not decode; -3 when decoding them would take more
 * than the budget; -4 when they nest deeper than ELOG_PB_MAX_DEPTH (protobuf-c would recurse
 * that deep). *len: the message's size. alloc: NULL for malloc, else what the caller frees
 * the message with. */
static int unpack_message(const ProtobufCMessageDescriptor *d, const ProtobufCAllocator *alloc,
			  grpc_byte_buffer *bb, ProtobufCMessage **out, size_t *len)
{
	struct decode_budget b = { alloc, 0, 0, 0 };
	ProtobufCAllocator budget = { budget_alloc, budget_free, &b };
	grpc_byte_buffer_reader r;
	grpc_slice s;

	*out = NULL;
	if (!grpc_byte_buffer_reader_init(&r, bb))
		return -2;
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	*len = GRPC_SLICE_LENGTH(s);
	if (elog_pb_too_deep(d, GRPC_SLICE_START_PTR(s), *len, ELOG_PB_MAX_DEPTH)) {
		grpc_slice_unref(s);
		return -4;
	}
	b.limit = RPC_DECODE_PER_BYTE * *len + RPC_DECODE_EXTRA;
	*out = protobuf_c_message_unpack(d, &budget, *len, GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	if (*out)
		return 0;
	return b.over ? -3 : -2;
}

/* unpack_message for the call: a message over the decoding budget finishes the call with
 * RESOURCE_EXHAUSTED naming the limit (the handler's own finish then changes nothing), one
 * nesting too deep makes the handler's INVALID_ARGUMENT name the nesting limit; both are
 * reported to the handler as undecodable. */
static int unpack_for_call(struct rpc_call *c, const ProtobufCMessageDescriptor *d,
			   const ProtobufCAllocator *alloc, grpc_byte_buffer *bb,
			   ProtobufCMessage **out)
{
	char msg[256];
	size_t len = 0;
	int rc = unpack_message(d, alloc, bb, out, &len);

	if (rc == -3) {
		snprintf(msg, sizeof(msg), "'%s' of %zu bytes takes more than %zu bytes to decode: "
			 "over the limit of %d bytes per byte received plus %u MiB", d->name, len,
			 RPC_DECODE_PER_BYTE * len + RPC_DECODE_EXTRA, RPC_DECODE_PER_BYTE,
			 RPC_DECODE_EXTRA >> 20);
		rpc_call_finish(c, RPC_RESOURCE_EXHAUSTED, msg);
		rc = -2;
	} else if (rc == -4) {
		pthread_mutex_lock(&c->mu);
		c->recv_too_deep = 1;
		pthread_mutex_unlock(&c->mu);
		rc = -2;
	}
	return rc;
}

/* Starts a batch with c->mu held; takes a reference that the tag's completion drops. */
int rpc__start_locked(struct rpc_call *c, grpc_op *ops, size_t n, struct tag *t)
{
	grpc_call_error e;

	c->refs++;
	e = grpc_call_start_batch(c->call, ops, n, t, NULL);
	if (e != GRPC_CALL_OK) {
		c->refs--;
		c->dead = 1;
		return -1;
	}
	return 0;
}

/* With c->mu held: starts the next send (message or status) if nothing is in flight. */
static void pump_send_locked(struct rpc_call *c)
{
	grpc_op op;

	if (c->send_inflight || c->finish_started)
		return;
	memset(&op, 0, sizeof(op));
	if (c->out_head && !c->dead) {
		struct out_msg *m = c->out_head;

		c->out_head = m->next;
		if (!c->out_head)
			c->out_tail = NULL;
		c->out_len--;
		c->send_bb = m->bb;
		free(m);
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = c->send_bb;
		if (rpc__start_locked(c, &op, 1, &c->t_send) == 0)
			c->send_inflight = 1;
		pthread_cond_broadcast(&c->cv);
		return;
	}
	if (c->finish_requested && !c->out_head) {
		op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		op.data.send_status_from_server.status = c->finish_status;
		op.data.send_status_from_server.status_details =
			c->has_details ? &c->finish_details : NULL;
		c->finish_started = 1;
		if (rpc__start_locked(c, &op, 1, &c->t_send) == 0)
			c->send_inflight = 1;
	}
}

void rpc__on_send(struct tag *t, int ok)
{
	struct rpc_call *c = CALL_OF(t, t_send);

	pthread_mutex_lock(&c->mu);
	c->send_inflight = 0;
	if (c->send_bb) {
		grpc_byte_buffer_destroy(c->send_bb);
		c->send_bb = NULL;
	}
	if (!ok)
		c->dead = 1;
	if (c->finish_started && c->recv_pending) {
		/* The status is out; a read-ahead receive still pending would keep the call
		 * alive: cancel it (the peer already has its status). */
		grpc_call_cancel(c->call, NULL);
	}
	if (c->dead) {
		/* Drop what cannot be sent any more. */
		struct out_msg *m, *next;

		for (m = c->out_head; m; m = next) {
			next = m->next;
			grpc_byte_buffer_destroy(m->bb);
			free(m);
		}
		c->out_head = c->out_tail = NULL;
		c->out_len = 0;
	}
	pump_send_locked(c);
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	rpc__call_unref(c);
}

#define RECV_AHEAD 64
#define RECV_AHEAD_BYTES (8u << 20)
/* Read-ahead of all calls together: past it a call receives only when its handler has
 * nothing queued, so memory stays bounded however many calls are open. */
#define RECV_AHEAD_SERVER_BYTES (64u << 20)

/* With c->mu held: starts a RECV_MESSAGE unless one is in flight, the stream ended, or the
 * queue is full. */
static void pump_recv_locked(struct rpc_call *c)
{
	grpc_op op;

	if (c->recv_pending || c->half_closed || c->recv_failed || c->dead || c->in_len >= RECV_AHEAD ||
	    c->in_bytes >= RECV_AHEAD_BYTES || (c->single && c->recv_count > 0))
		return;
	if (c->in_len > 0 &&
	    __atomic_load_n(&c->server->readahead, __ATOMIC_RELAXED) >= RECV_AHEAD_SERVER_BYTES)
		return;
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->recv_buf;
	if (rpc__start_locked(c, &op, 1, &c->t_recv) == 0)
		c->recv_pending = 1;
	else
		c->recv_failed = 1;
}

void rpc__on_recv(struct tag *t, int ok)
{
	struct rpc_call *c = CALL_OF(t, t_recv);

	pthread_mutex_lock(&c->mu);
	c->recv_pending = 0;
	if (!ok) {
		c->recv_failed = 1;
		c->dead = 1;
		if (c->recv_buf) {
			grpc_byte_buffer_destroy(c->recv_buf);
			c->recv_buf = NULL;
		}
	} else if (!c->recv_buf) {
		c->half_closed = 1;
	} else {
		struct out_msg *m = xmalloc(sizeof(*m));

		m->bb = c->recv_buf;
		m->next = NULL;
		c->recv_buf = NULL;
		if (c->in_tail)
			c->in_tail->next = m;
		else
			c->in_head = m;
		c->in_tail = m;
		c->in_len++;
		c->recv_count++;
		c->in_bytes += grpc_byte_buffer_length(m->bb);
		__atomic_add_fetch(&c->server->readahead, grpc_byte_buffer_length(m->bb), __ATOMIC_RELAXED);
		pump_recv_locked(c);
	}
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	rpc__call_unref(c);
}

void rpc__on_close(struct tag *t, int ok)
{
	struct rpc_call *c = CALL_OF(t, t_close);

	(void)ok;
	pthread_mutex_lock(&c->mu);
	if (c->close_cancelled || !c->finish_started)
		c->dead = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	rpc__call_unref(c);
}

/* ---- call API (handler thread) ---------------------------------------------------------- */

/* The next message of a streaming call: 1 with *bb (the caller destroys it), 0 when the
 * client half-closed, -1 when the call is dead. */
static int next_message(struct rpc_call *c, grpc_byte_buffer **bb)
{
	int rc;

	if (c->single) {
		/* One request: the first message, or -2 when the client sent none. */
		if (c->initial_taken)
			return 0;
		c->initial_taken = 1;
	}
	pthread_mutex_lock(&c->mu);
	if (!c->recv_started) {
		c->recv_started = 1;
		pump_recv_locked(c);
	}
	while (!c->in_head && !c->half_closed && !c->recv_failed && !c->dead)
		pthread_cond_wait(&c->cv, &c->mu);
	if (!c->in_head) {
		rc = c->half_closed && !c->recv_failed ? 0 : -1;
		pthread_mutex_unlock(&c->mu);
		return rc == 0 && c->single ? -2 : rc;
	}
	{
		struct out_msg *m = c->in_head;

		c->in_head = m->next;
		if (!c->in_head)
			c->in_tail = NULL;
		c->in_len--;
		*bb = m->bb;
		c->in_bytes -= grpc_byte_buffer_length(*bb);
		__atomic_sub_fetch(&c->server->readahead, grpc_byte_buffer_length(*bb), __ATOMIC_RELAXED);
		free(m);
	}
	pump_recv_locked(c);
	pthread_mutex_unlock(&c->mu);
	return 1;
}

int rpc_call_recv(struct rpc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
	return rpc_call_recv_with(c, d, NULL, out);
}

int rpc_call_recv_with(struct rpc_call *c, const ProtobufCMessageDescriptor *d,
		       ProtobufCAllocator *alloc, ProtobufCMessage **out)
{
	grpc_byte_buffer *bb;
	int rc;

	*out = NULL;
	rc = next_message(c, &bb);
	if (rc != 1)
		return rc;
	rc = unpack_for_call(c, d, alloc, bb, out);
	grpc_byte_buffer_destroy(bb);
	return rc == 0 ? 1 : rc;
}

int rpc_call_recv_bytes(struct rpc_call *c, struct elog_buf *out)
{
	grpc_byte_buffer_reader r;
	grpc_byte_buffer *bb;
	grpc_slice s;
	int rc;

	elog_buf_reset(out);
	if (c->method->kind == RPC_UNARY || c->method->kind == RPC_SERVER_STREAM)
		return -2;
	rc = next_message(c, &bb);
	if (rc != 1)
		return rc;
	rc = -2;
	if (grpc_byte_buffer_reader_init(&r, bb)) {
		size_t need = grpc_byte_buffer_length(bb) + 1;

		if (out->cap < need) {         /* exactly: a message's buffer may be kept a while */
			out->data = xrealloc(out->data, need);
			out->cap = need;
		}
		while (grpc_byte_buffer_reader_next(&r, &s)) {
			elog_buf_add(out, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
			grpc_slice_unref(s);
		}
		grpc_byte_buffer_reader_destroy(&r);
		rc = 1;
	}
	grpc_byte_buffer_destroy(bb);
	return rc;
}

static int enqueue(struct rpc_call *c, grpc_byte_buffer *bb)
{
	struct out_msg *om;

	pthread_mutex_lock(&c->mu);
	if (c->dead || c->finish_requested) {
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	om = xmalloc(sizeof(*om));
	om->bb = bb;
	om->next = NULL;
	if (c->out_tail)
		c->out_tail->next = om;
	else
		c->out_head = om;
	c->out_tail = om;
	c->out_len++;
	pump_send_locked(c);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int rpc_call_send(struct rpc_call *c, const ProtobufCMessage *m)
{
	grpc_byte_buffer *bb = pack_message(m);

	if (enqueue(c, bb) != 0) {
		grpc_byte_buffer_destroy(bb);
		return -1;
	}
	return 0;
}

int rpc_call_send_raw(struct rpc_call *c, const void *data, size_t len)
{
	grpc_slice s = grpc_slice_from_copied_buffer(data, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);

	grpc_slice_unref(s);
	if (enqueue(c, bb) != 0) {
		grpc_byte_buffer_destroy(bb);
		return -1;
	}
	return 0;
}

/* More than max_queued messages wait to be sent (c->mu held). */
static int over_queued(const struct rpc_call *c, size_t max_queued)
{
	return c->out_len + (size_t)c->send_inflight > max_queued;
}

int rpc_call_wait_sendable(struct rpc_call *c, size_t max_queued, int64_t timeout_ns)
{
	int rc = 0;

	int64_t deadline = timeout_ns > 0 ? elog_mono_after(timeout_ns) : INT64_MAX;

	pthread_mutex_lock(&c->mu);
	while (!c->dead && over_queued(c, max_queued)) {
		if (timeout_ns > 0) {
			if (elog_cond_wait_until(&c->cv, &c->mu, deadline) == ETIMEDOUT) {
				rc = 1;
				break;
			}
		} else {
			pthread_cond_wait(&c->cv, &c->mu);
		}
	}
	if (c->dead)
		rc = -1;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

int rpc_call_sendable(struct rpc_call *c, size_t max_queued)
{
	int rc;

	pthread_mutex_lock(&c->mu);
	rc = c->dead ? -1 : !over_queued(c, max_queued);
	pthread_mutex_unlock(&c->mu);
	return rc;
}

void rpc_call_finish(struct rpc_call *c, int status, const char *details)
{
	pthread_mutex_lock(&c->mu);
	if (c->finish_requested) {
		pthread_mutex_unlock(&c->mu);
		return;
	}
	c->finish_requested = 1;
	c->finish_status = (grpc_status_code)status;
	if (c->recv_too_deep && status == RPC_INVALID_ARGUMENT) {
		/* the service says "undecodable X"; the client learns which limit it passed */
		char why[300];

		snprintf(why, sizeof(why), "%.160s: messages nest deeper than %d levels "
			 "(protobuf nesting limit)", details && *details ? details : "undecodable",
			 ELOG_PB_MAX_DEPTH);
		c->finish_details = grpc_slice_from_copied_string(why);
		c->has_details = 1;
	} else if (details && *details) {
		c->finish_details = grpc_slice_from_copied_string(details);
		c->has_details = 1;
	}
	if (c->dead) {
		/* Nothing can reach the peer; make sure the call ends. */
		grpc_call_cancel(c->call, NULL);
	} else {
		pump_send_locked(c);
	}
	pthread_mutex_unlock(&c->mu);
}

int rpc_call_dead(struct rpc_call *c)
{
	int d;

	pthread_mutex_lock(&c->mu);
	d = c->dead;
	pthread_mutex_unlock(&c->mu);
	return d;
}

int rpc_call_metadata(struct rpc_call *c, const char *key, char *buf, size_t bufsz)
{
	size_t i, klen = strlen(key);

	for (i = 0; i < c->md.count; i++) {
		const grpc_slice *k = &c->md.metadata[i].key;
		const grpc_slice *v = &c->md.metadata[i].value;

		if (GRPC_SLICE_LENGTH(*k) == klen && memcmp(GRPC_SLICE_START_PTR(*k), key, klen) == 0) {
			size_t n = GRPC_SLICE_LENGTH(*v);

			if (bufsz == 0)
				return (int)n;
			if (n >= bufsz)
				n = bufsz - 1;
			memcpy(buf, GRPC_SLICE_START_PTR(*v), n);
			buf[n] = 0;
			return (int)n;
		}
	}
	return -1;
}

const char *rpc_call_peer(struct rpc_call *c)
{
	return c->peer ? c->peer : "unknown";
}

int rpc_call_server_stopping(struct rpc_call *c)
{
	int st;

	pthread_mutex_lock(&c->server->mu);
	st = c->server->stopping;
	pthread_mutex_unlock(&c->server->mu);
	return st;
}

