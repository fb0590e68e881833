/*
 * rpc_internal.h — what the files of the gRPC core server (rpc_server.c: lifetime and
 * admission; rpc_call.c: a call's message I/O and the handler's call API; rpc_fds.c: the
 * descriptor reserve) share. Not part of rpc.h: nothing outside src/rpc/ includes it.
 *
 * Locking and ownership are described in rpc_server.c's opening comment.
 */
#ifndef ELOG_RPC_INTERNAL_H
#define ELOG_RPC_INTERNAL_H

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


#define CALL_OF(t, member) ((struct rpc_call *)((char *)(t) - offsetof(struct rpc_call, member)))

/* rpc_server.c */
void rpc__call_unref(struct rpc_call *c);      /* drops one reference; c->mu NOT held */

/* rpc_call.c */
int rpc__start_locked(struct rpc_call *c, grpc_op *ops, size_t n, struct tag *t);
void rpc__on_send(struct tag *t, int ok);
void rpc__on_recv(struct tag *t, int ok);
void rpc__on_close(struct tag *t, int ok);

/* rpc_fds.c */
void rpc__reserve_take(void);   /* holds the reserve descriptor (again) */

#endif
