/*
 * rpc_server.c — the gRPC core server behind rpc.h.
 *
 * One completion queue, one thread running grpc_completion_queue_next. A tag is a closure
 * (struct tag { fn }) embedded in the call. Every batch on a call is started under the call's
 * mutex (gRPC core requires start_batch on one call to be serialized), from whichever thread
 * wants it: the handler thread (recv, send, finish) or the queue thread (next send after a
 * send completes). Each call is reference-counted: +1 per pending batch, +1 for the handler
 * thread; freed in call_unref when the count reaches zero.
 *
 * Bounds (README "Limits"): a new call is admitted in on_new only while fewer than max_calls
 * handlers run (server-streaming ones: half of that), else it is answered RESOURCE_EXHAUSTED
 * from the queue thread, without a thread of its own; calls to unregistered methods are
 * requested too and answered UNIMPLEMENTED the same way. Every method is requested without
 * its payload and BDP probing is off, so nothing of a request is read before the gate passed
 * it and the handler asks. A watch thread re-checks the credential the gate gave each call
 * (revoked API keys). accept4 is replaced so gRPC's listener survives EMFILE (see there).
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <ctype.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "rpc/rpc.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

#define MAX_METHODS 32
#define PENDING_PER_METHOD 4
#define PENDING_UNKNOWN 2            /* requests for calls to methods not registered */
/* Threads polling the completion queue. gRPC core does a server's socket I/O on the threads
 * that poll its queue, so one thread capped a busy server (200 clients under ASan missed
 * keepalive pings). Every tag callback locks what it touches, so two may run at once. */
#define LOOP_THREADS 2

struct tag {
	void (*fn)(struct tag *t, int ok);
};

struct method {
	char *path;
	enum rpc_kind kind;
	rpc_handler_fn fn;
	void *ctx;
	void *handle;
};

struct rpc_server {
	grpc_server *srv;
	grpc_completion_queue *cq;
	pthread_t loop_threads[LOOP_THREADS];
	int loop_started;           /* number of queue threads running */
	struct method methods[MAX_METHODS];
	int nmethods;
	struct method unknown;      /* stands for every method not registered */
	rpc_gate_fn gate;
	void *gate_ctx;
	rpc_recheck_fn recheck;
	void *recheck_ctx;
	int recheck_ms;
	pthread_t watch_thread;
	int watch_started;
	int max_calls;              /* handlers running at once */
	int max_streams;            /* of which server-streaming */

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;        /* no more re-arming */
	int shutdown_called;
	int shutdown_done;
	int active_handlers;
	int active_streams;  /* handlers of server-streaming calls */
	int live_calls;      /* call structs not yet freed */
	int watch_stop;
	size_t readahead;           /* bytes received ahead of handlers, all calls (atomic) */
	struct rpc_call *watched;   /* calls with a credential (rpc_call_set_credential) */
	struct tag t_shutdown;
};

struct out_msg {
	grpc_byte_buffer *bb;
	struct out_msg *next;
};

struct rpc_call {
	struct rpc_server *server;
	struct method *method;
	struct tag t_new, t_recv, t_send, t_close;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_call_details details;      /* method of a call to an unregistered method */
	int single;                     /* unary / server-streaming: one request message */
	int initial_taken;
	int recv_count;                 /* messages received */
	int counted_stream;             /* counted in the server's active_streams */
	int secure;                     /* came over TLS */
	char *cred;                     /* rpc_call_set_credential; under the server's mu */
	struct rpc_call *wprev, *wnext;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	int recv_too_deep;              /* a message was refused for its nesting (json.h) */
	int refs;
	int dead;                       /* cancelled, peer gone, or a batch failed */
	int close_cancelled;            /* out-param of RECV_CLOSE_ON_SERVER */

	/* receive side (handler thread only starts it) */
	/* receive side: the queue thread keeps one RECV_MESSAGE in flight and queues what
	 * arrives (up to RECV_AHEAD messages), so a busy handler drains several per wakeup */
	int recv_pending;               /* a RECV_MESSAGE batch is in flight */
	int recv_started;
	grpc_byte_buffer *recv_buf;     /* out-param of the batch in flight */
	struct out_msg *in_head, *in_tail;
	size_t in_len, in_bytes;
	int recv_failed;
	int half_closed;                /* the client half-closed (after the queued messages) */

	/* send side */
	struct out_msg *out_head, *out_tail;
	size_t out_len;
	int send_inflight;
	grpc_byte_buffer *send_bb;      /* the message of the batch in flight */
	int finish_requested, finish_started;
	grpc_status_code finish_status;
	grpc_slice finish_details;
	int has_details;
	char *peer;
};

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static int init_refs;
static rpc_log_fn log_sink;
/* Set while rpc_server_listen binds: its failure is said in one line of ours, not gRPC's. */
static __thread int log_muted;

static void gpr_log_to_sink(gpr_log_func_args *args)
{
	if (log_sink && args && args->message && !log_muted)
		log_sink(args->severity == GPR_LOG_SEVERITY_ERROR, args->message);
}

void rpc_set_log_sink(rpc_log_fn fn)
{
	log_sink = fn;
}

void rpc_init(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_refs++ == 0) {
		/* $ELOG_GRPC_DEBUG: leave gRPC's own logging (GRPC_VERBOSITY, GRPC_TRACE) alone. */
		if (!getenv("ELOG_GRPC_DEBUG")) {
			gpr_set_log_function(gpr_log_to_sink);
			gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
		}
		grpc_init();
	}
	pthread_mutex_unlock(&init_mu);
}

void rpc_shutdown(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_refs > 0 && --init_refs == 0)
		grpc_shutdown();
	pthread_mutex_unlock(&init_mu);
}

const char *rpc_status_name(int status)
{
	static const char *const names[] = {
		"ok", "cancelled", "unknown", "invalid argument", "deadline exceeded",
		"not found", "already exists", "permission denied", "resource exhausted",
		"failed precondition", "aborted", "out of range", "unimplemented", "internal",
		"unavailable", "data loss", "unauthenticated",
	};
	if (status < 0 || status >= (int)(sizeof(names) / sizeof(names[0])))
		return "unknown status";
	return names[status];
}

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


/* ---- call lifetime -------------------------------------------------------------------- */

#define CALL_OF(t, member) ((struct rpc_call *)((char *)(t) - offsetof(struct rpc_call, member)))

static void call_free(struct rpc_call *c)
{
	struct rpc_server *s = c->server;
	struct out_msg *m, *next;

	if (c->cred) {
		pthread_mutex_lock(&s->mu);
		if (c->wprev)
			c->wprev->wnext = c->wnext;
		else
			s->watched = c->wnext;
		if (c->wnext)
			c->wnext->wprev = c->wprev;
		pthread_mutex_unlock(&s->mu);
		free(c->cred);
	}
	if (c->call)
		grpc_call_unref(c->call);
	grpc_metadata_array_destroy(&c->md);
	grpc_call_details_destroy(&c->details);
	if (c->recv_buf)
		grpc_byte_buffer_destroy(c->recv_buf);
	for (m = c->in_head; m; m = next) {
		next = m->next;
		grpc_byte_buffer_destroy(m->bb);
		free(m);
	}
	if (c->in_bytes)
		__atomic_sub_fetch(&s->readahead, c->in_bytes, __ATOMIC_RELAXED);
	if (c->send_bb)
		grpc_byte_buffer_destroy(c->send_bb);
	for (m = c->out_head; m; m = next) {
		next = m->next;
		grpc_byte_buffer_destroy(m->bb);
		free(m);
	}
	if (c->has_details)
		grpc_slice_unref(c->finish_details);
	if (c->peer)
		gpr_free(c->peer);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);

	pthread_mutex_lock(&s->mu);
	s->live_calls--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Drops one reference; c->mu must NOT be held. */
static void call_unref(struct rpc_call *c)
{
	int left;

	pthread_mutex_lock(&c->mu);
	left = --c->refs;
	pthread_mutex_unlock(&c->mu);
	if (left == 0)
		call_free(c);
}

/* Starts a batch with c->mu held; takes a reference that the tag's completion drops. */
static int start_locked(struct rpc_call *c, grpc_op *ops, size_t n, struct tag *t)
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
		if (start_locked(c, &op, 1, &c->t_send) == 0)
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
		if (start_locked(c, &op, 1, &c->t_send) == 0)
			c->send_inflight = 1;
	}
}

static void on_send(struct tag *t, int ok)
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
	call_unref(c);
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
	if (start_locked(c, &op, 1, &c->t_recv) == 0)
		c->recv_pending = 1;
	else
		c->recv_failed = 1;
}

static void on_recv(struct tag *t, int ok)
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
	call_unref(c);
}

static void on_close(struct tag *t, int ok)
{
	struct rpc_call *c = CALL_OF(t, t_close);

	(void)ok;
	pthread_mutex_lock(&c->mu);
	if (c->close_cancelled || !c->finish_started)
		c->dead = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
	call_unref(c);
}

static void arm(struct rpc_server *s, struct method *m);

static void *handler_main(void *arg)
{
	struct rpc_call *c = arg;
	struct rpc_server *s = c->server;
	char gate_msg[256];
	int finished;

	gate_msg[0] = 0;
	if (s->gate) {
		int st = s->gate(c, c->method->path, s->gate_ctx, gate_msg, sizeof(gate_msg));

		if (st != RPC_OK)
			rpc_call_finish(c, st, gate_msg);
	}
	pthread_mutex_lock(&c->mu);
	finished = c->finish_requested;
	pthread_mutex_unlock(&c->mu);
	if (!finished)
		c->method->fn(c, c->method->ctx);
	pthread_mutex_lock(&c->mu);
	finished = c->finish_requested;
	pthread_mutex_unlock(&c->mu);
	if (!finished)
		rpc_call_finish(c, RPC_INTERNAL, "handler ended without a status");

	pthread_mutex_lock(&s->mu);
	s->active_handlers--;
	if (c->counted_stream)
		s->active_streams--;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	call_unref(c);
	return NULL;
}

/* True when the call's transport is TLS. */
static int call_is_secure(grpc_call *call)
{
	grpc_auth_context *ctx = grpc_call_auth_context(call);
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;
	int secure = 0;

	if (!ctx)
		return 0;
	it = grpc_auth_context_find_properties_by_name(ctx, GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME);
	while ((p = grpc_auth_property_iterator_next(&it)) != NULL)
		if (p->value && strncmp(p->value, GRPC_SSL_TRANSPORT_SECURITY_TYPE, p->value_length) == 0 &&
		    p->value_length == strlen(GRPC_SSL_TRANSPORT_SECURITY_TYPE))
			secure = 1;
	grpc_auth_context_release(ctx);
	return secure;
}

/* The method of a call to an unregistered method, printable, into buf. */
static void unknown_method_name(struct rpc_call *c, char *buf, size_t bufsz)
{
	const unsigned char *p = GRPC_SLICE_START_PTR(c->details.method);
	size_t n = GRPC_SLICE_LENGTH(c->details.method), i, o = 0;

	for (i = 0; i < n && o + 1 < bufsz && o < 200; i++)
		buf[o++] = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '?';
	buf[o] = 0;
}

static void arm_unknown(struct rpc_server *s);

static void on_new(struct tag *t, int ok)
{
	struct rpc_call *c = CALL_OF(t, t_new);
	struct rpc_server *s = c->server;
	pthread_attr_t attr;
	pthread_t th;
	grpc_op ops[1];
	char why[300];
	int stopping, admitted = 0;

	if (!ok) {      /* server shutting down: this request never got a call */
		call_unref(c);
		return;
	}
	pthread_mutex_lock(&s->mu);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->mu);
	if (!stopping) {
		if (c->method == &s->unknown)
			arm_unknown(s);
		else
			arm(s, c->method);
	}

	c->peer = grpc_call_get_peer(c->call);
	c->secure = call_is_secure(c->call);
	pthread_mutex_lock(&c->mu);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[0].data.recv_close_on_server.cancelled = &c->close_cancelled;
	start_locked(c, ops, 1, &c->t_close);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (start_locked(c, ops, 1, &c->t_send) == 0)
		c->send_inflight = 1;
	pthread_mutex_unlock(&c->mu);

	if (c->method == &s->unknown) {
		char name[208];

		unknown_method_name(c, name, sizeof(name));
		snprintf(why, sizeof(why), "method '%s' is not served here", name);
		rpc_call_finish(c, RPC_UNIMPLEMENTED, why);
		call_unref(c);  /* the t_new reference */
		return;
	}

	/* Admission: a call past a limit is answered now, without a thread. */
	pthread_mutex_lock(&s->mu);
	if (s->active_handlers >= s->max_calls) {
		snprintf(why, sizeof(why), "too many calls at once: the limit is %d (serve --max-calls)",
			 s->max_calls);
	} else if (c->method->kind == RPC_SERVER_STREAM && s->active_streams >= s->max_streams) {
		snprintf(why, sizeof(why), "too many streaming reads at once: the limit is %d "
			 "(half of serve --max-calls)", s->max_streams);
	} else {
		admitted = 1;
		s->active_handlers++;
		if (c->method->kind == RPC_SERVER_STREAM) {
			s->active_streams++;
			c->counted_stream = 1;
		}
	}
	pthread_mutex_unlock(&s->mu);
	if (!admitted) {
		rpc_call_finish(c, RPC_RESOURCE_EXHAUSTED, why);
		call_unref(c);  /* the t_new reference */
		return;
	}

	pthread_mutex_lock(&c->mu);
	c->refs++;      /* the handler thread's reference */
	pthread_mutex_unlock(&c->mu);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, RPC_HANDLER_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, handler_main, c) != 0) {
		pthread_mutex_lock(&s->mu);
		s->active_handlers--;
		if (c->counted_stream)
			s->active_streams--;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		rpc_call_finish(c, RPC_RESOURCE_EXHAUSTED, "cannot start a thread for the call");
		call_unref(c);
	}
	pthread_attr_destroy(&attr);
	call_unref(c);  /* the t_new reference */
}

static struct rpc_call *call_new(struct rpc_server *s, struct method *m)
{
	struct rpc_call *c = xcalloc(1, sizeof(*c));

	c->server = s;
	c->method = m;
	c->single = m->kind == RPC_UNARY || m->kind == RPC_SERVER_STREAM;
	c->t_new.fn = on_new;
	c->t_recv.fn = on_recv;
	c->t_send.fn = on_send;
	c->t_close.fn = on_close;
	c->refs = 1;
	pthread_mutex_init(&c->mu, NULL);
	elog_cond_init(&c->cv);
	grpc_metadata_array_init(&c->md);
	grpc_call_details_init(&c->details);
	pthread_mutex_lock(&s->mu);
	s->live_calls++;
	pthread_mutex_unlock(&s->mu);
	return c;
}

/* Every method is requested without its payload: a call's first message is read by the
 * handler, after the gate, so a refused call never has its payload taken in. */
static void arm(struct rpc_server *s, struct method *m)
{
	struct rpc_call *c = call_new(s, m);
	grpc_call_error e;

	e = grpc_server_request_registered_call(s->srv, m->handle, &c->call, &c->deadline, &c->md,
						NULL, s->cq, s->cq, &c->t_new);
	if (e != GRPC_CALL_OK)
		call_unref(c);
}

/* Requests a call to any method that is not registered (answered UNIMPLEMENTED in on_new);
 * without it gRPC core holds such calls until their deadline, or forever. */
static void arm_unknown(struct rpc_server *s)
{
	struct rpc_call *c = call_new(s, &s->unknown);
	grpc_call_error e;

	e = grpc_server_request_call(s->srv, &c->call, &c->details, &c->md, s->cq, s->cq,
				     &c->t_new);
	if (e != GRPC_CALL_OK)
		call_unref(c);
}

/* ---- re-check of admitted calls -------------------------------------------------------- */

static void *watch_main(void *arg)
{
	struct rpc_server *s = arg;
	int64_t deadline;

	pthread_mutex_lock(&s->mu);
	while (!s->watch_stop) {
		struct rpc_call **calls = NULL, *c;
		char **creds = NULL;
		size_t n = 0, cap = 0, i;

		deadline = elog_mono_after((int64_t)s->recheck_ms * NS_PER_MS);
		while (!s->watch_stop && elog_cond_wait_until(&s->cv, &s->mu, deadline) != ETIMEDOUT)
			;
		if (s->watch_stop)
			break;
		for (c = s->watched; c; c = c->wnext) {
			pthread_mutex_lock(&c->mu);
			if (c->refs > 0 && !c->dead && !c->finish_started) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					calls = xrealloc(calls, cap * sizeof(*calls));
					creds = xrealloc(creds, cap * sizeof(*creds));
				}
				c->refs++;
				calls[n] = c;
				creds[n] = xstrdup(c->cred);
				n++;
			}
			pthread_mutex_unlock(&c->mu);
		}
		pthread_mutex_unlock(&s->mu);
		for (i = 0; i < n; i++) {
			char msg[256];
			int st;

			msg[0] = 0;
			st = s->recheck(creds[i], s->recheck_ctx, msg, sizeof(msg));
			if (st != RPC_OK) {
				c = calls[i];
				pthread_mutex_lock(&c->mu);
				if (!c->dead && !c->finish_started) {
					grpc_call_cancel_with_status(c->call, (grpc_status_code)st, msg, NULL);
					c->dead = 1;
					pthread_cond_broadcast(&c->cv);
				}
				pthread_mutex_unlock(&c->mu);
			}
			free(creds[i]);
			call_unref(calls[i]);
		}
		free(calls);
		free(creds);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

void rpc_call_set_credential(struct rpc_call *c, const char *credential)
{
	struct rpc_server *s = c->server;

	pthread_mutex_lock(&s->mu);
	if (!c->cred && credential) {
		c->cred = xstrdup(credential);
		c->wprev = NULL;
		c->wnext = s->watched;
		if (s->watched)
			s->watched->wprev = c;
		s->watched = c;
	}
	pthread_mutex_unlock(&s->mu);
}

int rpc_call_secure(struct rpc_call *c)
{
	return c->secure;
}

/* ---- descriptors ----------------------------------------------------------------------- */

/*
 * gRPC core 1.51's TCP listener (iomgr tcp_server_posix.cc, on_read) treats any accept4 error
 * but EAGAIN, EWOULDBLOCK and ECONNABORTED as fatal for that listener: after one EMFILE it never
 * accepts again, even once descriptors are free. elog's accept4 below stands in for libc's (the
 * executable's definition wins over the shared library's): on EMFILE or ENFILE it gives up a
 * descriptor held in reserve, accepts and closes the connections waiting (the client sees the
 * connection closed and retries), takes the reserve back and tells gRPC EAGAIN, so the listener
 * stays armed. Other errors it would treat as fatal (ENOBUFS, ENOMEM, EPROTO, EPERM) become
 * EAGAIN too.
 */
static pthread_mutex_t reserve_mu = PTHREAD_MUTEX_INITIALIZER;
static int reserve_fd = -1;
static unsigned long shed_count;

static void reserve_take_locked(void)
{
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	int c = (int)syscall(SYS_accept4, fd, addr, addrlen, flags);
	int e;

	if (c >= 0)
		return c;
	e = errno;
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED:
	case EBADF:
	case EINVAL:
	case ENOTSOCK:
	case EOPNOTSUPP:
	case EFAULT:
		errno = e;
		return -1;
	case EMFILE:
	case ENFILE: {
		int i;

		pthread_mutex_lock(&reserve_mu);
		if (reserve_fd >= 0) {
			close(reserve_fd);
			reserve_fd = -1;
		}
		for (i = 0; i < 4096; i++) {
			c = (int)syscall(SYS_accept4, fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				break;
			close(c);
			shed_count++;
		}
		reserve_take_locked();
		pthread_mutex_unlock(&reserve_mu);
		break;
	}
	default:
		break;
	}
	errno = EAGAIN;
	return -1;
}

unsigned long rpc_server_shed_connections(void)
{
	unsigned long n;

	pthread_mutex_lock(&reserve_mu);
	n = shed_count;
	pthread_mutex_unlock(&reserve_mu);
	return n;
}

/* ---- addresses ------------------------------------------------------------------------- */

/* host (no brackets, no port) is a loopback address or name. */
static int host_is_loopback(const char *h, size_t n)
{
	if (n >= 4 && strncmp(h, "127.", 4) == 0)
		return 1;
	if (n == 3 && strncmp(h, "::1", 3) == 0)
		return 1;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	if (n > 7 && strncasecmp(h, "::ffff:", 7) == 0 && strncmp(h + 7, "127.", 4) == 0)
		return 1;
	if (n == 15 && strncmp(h, "0:0:0:0:0:0:0:1", 15) == 0)
		return 1;
	return 0;
}

/* "host:port", "[v6]:port", or a bare host: the host part. */
static void split_host(const char *a, const char **h, size_t *n)
{
	const char *colon;

	if (*a == '[') {
		const char *close = strchr(a, ']');

		*h = a + 1;
		*n = close ? (size_t)(close - a - 1) : strlen(a + 1);
		return;
	}
	colon = strrchr(a, ':');
	if (colon && strchr(a, ':') != colon) {   /* bare IPv6 without a port */
		*h = a;
		*n = strlen(a);
		return;
	}
	*h = a;
	*n = colon ? (size_t)(colon - a) : strlen(a);
}

int rpc_addr_is_loopback(const char *addr)
{
	const char *h;
	size_t n;

	if (!addr)
		return 0;
	if (strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0)
		return 1;
	if (strncmp(addr, "ipv4:", 5) == 0 || strncmp(addr, "ipv6:", 5) == 0)
		addr += 5;
	else if (strncmp(addr, "dns:", 4) == 0)
		addr += 4;
	while (*addr == '/')
		addr++;
	split_host(addr, &h, &n);
	return host_is_loopback(h, n);
}

int rpc_peer_is_loopback(const char *peer)
{
	char buf[128];
	const char *h;
	size_t n, o = 0;

	if (!peer)
		return 0;
	if (strncmp(peer, "unix:", 5) == 0 || strncmp(peer, "unix-abstract:", 14) == 0)
		return 1;
	if (strncmp(peer, "ipv4:", 5) != 0 && strncmp(peer, "ipv6:", 5) != 0)
		return 0;     /* unknown form: not trusted */
	/* newer gRPC versions percent-encode the brackets: "ipv6:%5B::1%5D:5555" */
	for (peer += 5; *peer && o + 1 < sizeof(buf); peer++) {
		if (strncasecmp(peer, "%5B", 3) == 0 || strncasecmp(peer, "%5D", 3) == 0) {
			buf[o++] = peer[2] == 'B' || peer[2] == 'b' ? '[' : ']';
			peer += 2;
		} else {
			buf[o++] = *peer;
		}
	}
	buf[o] = 0;
	split_host(buf, &h, &n);
	return host_is_loopback(h, n);
}

static void on_shutdown(struct tag *t, int ok)
{
	struct rpc_server *s = (struct rpc_server *)((char *)t - offsetof(struct rpc_server, t_shutdown));

	(void)ok;
	pthread_mutex_lock(&s->mu);
	s->shutdown_done = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *loop_main(void *arg)
{
	struct rpc_server *s = arg;

	for (;;) {
		grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type == GRPC_OP_COMPLETE) {
			struct tag *t = ev.tag;

			t->fn(t, ev.success);
		}
	}
	return NULL;
}

/* ---- server API ------------------------------------------------------------------------ */

int rpc_server_new(struct rpc_server **out, struct elog_err *err)
{
	struct rpc_server *s = xcalloc(1, sizeof(*s));
	grpc_arg args[7];
	grpc_channel_args cargs;

	(void)err;
	args[0] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, { .integer = RPC_MAX_MESSAGE_BYTES } };
	args[1] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, { .integer = 1000 } };
	args[2] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, { .integer = 1 } };
	args[3] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_MAX_PING_STRIKES, { .integer = 0 } };
	args[4] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, { .integer = 64 << 20 } };
	/* No SO_REUSEPORT: a port another process (or another hub) holds is an error, not a
	 * silently shared port. */
	args[5] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, { .integer = 0 } };
	/* No bandwidth-delay probing: it raises every stream's receive window to megabytes, so
	 * a call's payload flows in before anything asked for it (before the API key was
	 * checked, or past the bound on calls). A stream takes in 64 KiB ahead of a read. */
	args[6] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_HTTP2_BDP_PROBE, { .integer = 0 } };
	cargs.num_args = 7;
	cargs.args = args;
	rpc_init();
	pthread_mutex_init(&s->mu, NULL);
	elog_cond_init(&s->cv);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	s->srv = grpc_server_create(&cargs, NULL);
	grpc_server_register_completion_queue(s->srv, s->cq, NULL);
	s->t_shutdown.fn = on_shutdown;
	s->unknown.kind = RPC_UNARY;
	s->max_calls = RPC_DEFAULT_MAX_CALLS;
	*out = s;
	return 0;
}

void rpc_server_add_method(struct rpc_server *s, const char *path, enum rpc_kind kind,
			   rpc_handler_fn fn, void *ctx)
{
	struct method *m;

	if (s->nmethods >= MAX_METHODS)
		return;
	m = &s->methods[s->nmethods++];
	m->path = xstrdup(path);
	m->kind = kind;
	m->fn = fn;
	m->ctx = ctx;
	m->handle = grpc_server_register_method(s->srv, m->path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
}

void rpc_server_set_gate(struct rpc_server *s, rpc_gate_fn fn, void *ctx)
{
	s->gate = fn;
	s->gate_ctx = ctx;
}

void rpc_server_set_recheck(struct rpc_server *s, rpc_recheck_fn fn, void *ctx, int interval_ms)
{
	s->recheck = fn;
	s->recheck_ctx = ctx;
	s->recheck_ms = interval_ms > 0 ? interval_ms : 250;
}

void rpc_server_set_max_calls(struct rpc_server *s, int max_calls)
{
	s->max_calls = max_calls > 0 ? max_calls : RPC_DEFAULT_MAX_CALLS;
}

/* Why addr's host:port cannot be bound, found by binding it ourselves once gRPC could not:
 * 0 when it can be (then the reason is gRPC's own). */
static int bind_errno(const struct addrinfo *ai)
{
	int e = 0;

	for (; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
			e = errno;
		close(fd);
		if (e)
			return e;
	}
	return e;
}

int rpc_server_listen(struct rpc_server *s, const char *addr, const struct rpc_tls_server *tls,
		      int *port, struct elog_err *err)
{
	grpc_server_credentials *creds;
	struct addrinfo hints, *ai = NULL;
	char host[256], portstr[16];
	int p, unix_socket = strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0;

	if (!unix_socket) {
		/* gRPC takes "host:99999" as another port (the number wraps) and prints its parser's
		 * complaints: check HOST:PORT here, and resolve the host, first. */
		size_t nd;

		if (elog_target_split(addr, host, sizeof(host), portstr, sizeof(portstr)) != 0 ||
		    !*host || !*portstr || (nd = strspn(portstr, "0123456789")) != strlen(portstr) ||
		    nd > 5 || atol(portstr) > 65535)
			return elog_err_set(err, ELOG_EUSAGE, "invalid address '%s': expected HOST:PORT "
					    "with a port from 0 to 65535", addr);
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
		p = getaddrinfo(host, portstr, &hints, &ai);
		if (p != 0) {
			char why[128];

			snprintf(why, sizeof(why), "%s", gai_strerror(p));
			why[0] = (char)tolower((unsigned char)why[0]);
			return elog_err_set(err, p == EAI_AGAIN ? ELOG_EIO : ELOG_EUSAGE,
					    "invalid address '%s': cannot resolve '%s': %s", addr, host,
					    why);
		}
	}
	if (tls && tls->cert_file) {
		char *cert = NULL, *key = NULL, *ca = NULL;
		grpc_ssl_pem_key_cert_pair pair;

		if (elog_read_file(tls->cert_file, &cert, err) ||
		    elog_read_file(tls->key_file, &key, err) ||
		    (tls->client_ca_file && elog_read_file(tls->client_ca_file, &ca, err))) {
			free(cert);
			free(key);
			free(ca);
			if (ai)
				freeaddrinfo(ai);
			return ELOG_EIO;
		}
		pair.private_key = key;
		pair.cert_chain = cert;
		creds = grpc_ssl_server_credentials_create_ex(ca, &pair, 1,
			ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
			   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE, NULL);
		free(cert);
		free(key);
		free(ca);
	} else {
		creds = grpc_insecure_server_credentials_create();
	}
	log_muted = 1;
	p = grpc_server_add_http2_port(s->srv, addr, creds);
	log_muted = 0;
	grpc_server_credentials_release(creds);
	if (p <= 0) {
		int e = ai ? bind_errno(ai) : 0;

		if (ai)
			freeaddrinfo(ai);
		if (e == EADDRINUSE)
			return elog_err_set(err, ELOG_EIO, "cannot listen on '%s': address already in use "
					    "(another process listens there)", addr);
		if (e == EACCES)
			return elog_err_set(err, ELOG_EIO, "cannot listen on '%s': permission denied "
					    "(ports below 1024 need privileges)", addr);
		if (e == EADDRNOTAVAIL)
			return elog_err_set(err, ELOG_EIO, "cannot listen on '%s': the address is not "
					    "one of this host's", addr);
		if (e)
			return elog_err_set(err, ELOG_EIO, "cannot listen on '%s': %s", addr,
					    strerror(e));
		return elog_err_set(err, ELOG_EIO, "cannot listen on '%s': address unusable", addr);
	}
	if (ai)
		freeaddrinfo(ai);
	if (port)
		*port = p;
	return 0;
}

int rpc_server_start(struct rpc_server *s, struct elog_err *err)
{
	int i, j;

	s->max_streams = s->max_calls / 2 > 0 ? s->max_calls / 2 : 1;
	pthread_mutex_lock(&reserve_mu);
	reserve_take_locked();
	pthread_mutex_unlock(&reserve_mu);
	grpc_server_start(s->srv);
	for (i = 0; i < s->nmethods; i++)
		for (j = 0; j < PENDING_PER_METHOD; j++)
			arm(s, &s->methods[i]);
	for (j = 0; j < PENDING_UNKNOWN; j++)
		arm_unknown(s);
	if (s->recheck && pthread_create(&s->watch_thread, NULL, watch_main, s) == 0)
		s->watch_started = 1;
	for (i = 0; i < LOOP_THREADS; i++) {
		if (pthread_create(&s->loop_threads[i], NULL, loop_main, s) != 0)
			break;
		s->loop_started++;
	}
	if (!s->loop_started)
		return elog_err_set(err, ELOG_EFAIL, "cannot start the server thread");
	return 0;
}

void rpc_server_stop_accepting(struct rpc_server *s)
{
	pthread_mutex_lock(&s->mu);
	if (s->shutdown_called) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->stopping = 1;
	s->shutdown_called = 1;
	pthread_mutex_unlock(&s->mu);
	grpc_server_shutdown_and_notify(s->srv, s->cq, &s->t_shutdown);
}

void rpc_server_shutdown(struct rpc_server *s, int grace_ms)
{
	int64_t deadline;
	int i;

	if (!s)
		return;
	if (s->watch_started) {
		pthread_mutex_lock(&s->mu);
		s->watch_stop = 1;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->watch_thread, NULL);
		s->watch_started = 0;
	}
	if (s->loop_started) {
		rpc_server_stop_accepting(s);
		deadline = elog_mono_after((int64_t)grace_ms * NS_PER_MS);
		pthread_mutex_lock(&s->mu);
		while (s->active_handlers > 0 &&
		       elog_cond_wait_until(&s->cv, &s->mu, deadline) != ETIMEDOUT)
			;
		pthread_mutex_unlock(&s->mu);
		grpc_server_cancel_all_calls(s->srv);
		pthread_mutex_lock(&s->mu);
		while (s->active_handlers > 0 || !s->shutdown_done || s->live_calls > 0)
			pthread_cond_wait(&s->cv, &s->mu);
		pthread_mutex_unlock(&s->mu);
		grpc_completion_queue_shutdown(s->cq);
		for (i = 0; i < s->loop_started; i++)
			pthread_join(s->loop_threads[i], NULL);
	} else {
		grpc_server_shutdown_and_notify(s->srv, s->cq, &s->t_shutdown);
		grpc_server_cancel_all_calls(s->srv);
		grpc_completion_queue_shutdown(s->cq);
		loop_main(s);   /* drains the pending request tags */
	}
	grpc_server_destroy(s->srv);
	grpc_completion_queue_destroy(s->cq);
	for (i = 0; i < s->nmethods; i++)
		free(s->methods[i].path);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
	rpc_shutdown();
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

int rpc_call_wait_sendable(struct rpc_call *c, size_t max_queued, int64_t timeout_ns)
{
	int rc = 0;

	int64_t deadline = timeout_ns > 0 ? elog_mono_after(timeout_ns) : INT64_MAX;

	pthread_mutex_lock(&c->mu);
	while (!c->dead && c->out_len + (size_t)c->send_inflight > max_queued) {
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
