/*
 * rpc.h — elog's small internal API over gRPC core. rpc_server.c and rpc_client.c are the only
 * files that include <grpc/grpc.h>; everything else speaks protobuf-c messages through this.
 *
 * Server: methods are registered with a kind and a handler. Each accepted call runs its
 * handler on a thread of its own with blocking recv and queued, non-blocking send, so a handler
 * reads like a simple loop; the number of such calls is bounded (rpc_server_set_max_calls).
 * A call to a method that is not registered gets UNIMPLEMENTED at once. The call is owned by the framework; the handler must not use it
 * after it returns. A handler that returns without rpc_call_finish gets INTERNAL.
 *
 * Client: a channel per target; calls on it with blocking send/recv (one thread may send while
 * another receives on the same call).
 */
#ifndef ELOG_RPC_H
#define ELOG_RPC_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

struct elog_err;

/* gRPC status codes elog uses (same numbers as grpc_status_code). */
enum rpc_status {
	RPC_OK = 0,
	RPC_CANCELLED = 1,
	RPC_UNKNOWN = 2,
	RPC_INVALID_ARGUMENT = 3,
	RPC_DEADLINE_EXCEEDED = 4,
	RPC_NOT_FOUND = 5,
	RPC_PERMISSION_DENIED = 7,
	RPC_RESOURCE_EXHAUSTED = 8,
	RPC_FAILED_PRECONDITION = 9,
	RPC_UNIMPLEMENTED = 12,
	RPC_INTERNAL = 13,
	RPC_UNAVAILABLE = 14,
	RPC_UNAUTHENTICATED = 16,
};

/* gRPC's own log lines go here (from any thread); set once before rpc_init. */
typedef void (*rpc_log_fn)(int is_error, const char *msg);
void rpc_set_log_sink(rpc_log_fn fn);

/* Reference-counted grpc_init / grpc_shutdown. Every rpc object must be gone before the last
 * rpc_shutdown. */
void rpc_init(void);
void rpc_shutdown(void);

/* ---- server ---------------------------------------------------------------------------- */

enum rpc_kind { RPC_UNARY, RPC_CLIENT_STREAM, RPC_SERVER_STREAM, RPC_BIDI };

struct rpc_server;
struct rpc_call;

typedef void (*rpc_handler_fn)(struct rpc_call *call, void *ctx);

/*
 * Optional check run on the call's thread before the handler, before any message of the call
 * is read (a refused call's payload is never taken in): return RPC_OK to let the call through,
 * or a status (details written to msg) to end it there.
 */
typedef int (*rpc_gate_fn)(struct rpc_call *call, const char *method, void *ctx,
			   char *msg, size_t msgsz);

/*
 * Optional re-check of admitted calls: every interval, for each live call the gate gave a
 * credential (rpc_call_set_credential), fn is called from one server thread; a status other
 * than RPC_OK cancels the call with that status and msg (the handler sees a dead call).
 */
typedef int (*rpc_recheck_fn)(const char *credential, void *ctx, char *msg, size_t msgsz);

/* Limits (README "Limits"). A call past a limit gets RESOURCE_EXHAUSTED at once, naming it. */
#define RPC_DEFAULT_MAX_CALLS 1000          /* calls whose handler runs at once */
#define RPC_MAX_MESSAGE_BYTES (16 << 20)    /* one received message */
#define RPC_HANDLER_STACK (256 * 1024)      /* each handler thread's stack */

struct rpc_tls_server {
	const char *cert_file;
	const char *key_file;
	const char *client_ca_file;   /* NULL: no client certificates; else required */
};

int rpc_server_new(struct rpc_server **out, struct elog_err *err);
/* Registers path ("/pkg.Service/Method"); before rpc_server_start. */
void rpc_server_add_method(struct rpc_server *s, const char *path, enum rpc_kind kind,
			   rpc_handler_fn fn, void *ctx);
void rpc_server_set_gate(struct rpc_server *s, rpc_gate_fn fn, void *ctx);
void rpc_server_set_recheck(struct rpc_server *s, rpc_recheck_fn fn, void *ctx, int interval_ms);
/*
 * At most max_calls calls run a handler at once (each on a thread of its own), and calls of
 * server-streaming methods (follows) at most half of them, so they cannot take the room of
 * ingest. Default RPC_DEFAULT_MAX_CALLS. Before rpc_server_start.
 */
void rpc_server_set_max_calls(struct rpc_server *s, int max_calls);
/* Binds addr ("127.0.0.1:0", "[::1]:50090", "unix:PATH"); tls may be NULL for plaintext.
 * Fills the bound port. Before rpc_server_start. Returns 0; ELOG_EUSAGE "invalid address 'x':
 * ..." when addr is not HOST:PORT with a port from 0 to 65535 or its host does not resolve;
 * ELOG_EIO "cannot listen on 'x': address already in use ..." (permission denied, ...) in one
 * line: gRPC's own report of the failure is not passed to the log sink. */
int rpc_server_listen(struct rpc_server *s, const char *addr, const struct rpc_tls_server *tls,
		      int *port, struct elog_err *err);
int rpc_server_start(struct rpc_server *s, struct elog_err *err);
/* Stops accepting new calls; calls in progress go on. */
void rpc_server_stop_accepting(struct rpc_server *s);
/* Waits up to grace_ms for calls in progress to end, cancels the rest, waits for every handler
 * to return, and frees the server. */
void rpc_server_shutdown(struct rpc_server *s, int grace_ms);
/* Connections closed at once because serve had no file descriptor left (all servers). */
unsigned long rpc_server_shed_connections(void);

/* True when a listen address binds only this host's loopback ("127.0.0.1:0", "[::1]:1",
 * "localhost:50090", "unix:/path"); "0.0.0.0:1", "[::]:1", a host name or an address of a
 * network interface are not. */
int rpc_addr_is_loopback(const char *addr);
/* True when a peer as gRPC names it ("ipv4:127.0.0.1:5555", "ipv6:[::1]:5555",
 * "ipv6:[::ffff:127.0.0.1]:1", "unix:/path") is on this host's loopback. */
int rpc_peer_is_loopback(const char *peer);

/*
 * Receives the next message of the call into *out (free it with protobuf_c_message_free_unpacked).
 * For unary and server-streaming calls the request is the first message.
 * Returns 1 with a message, 0 when the client half-closed (no more messages), -1 when the call
 * is dead (cancelled, deadline, peer gone, server shutdown), -2 when the bytes did not decode
 * as d (the call is still alive: finish it with RPC_INVALID_ARGUMENT).
 */
int rpc_call_recv(struct rpc_call *c, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);

/* The same, with protobuf-c allocating through alloc; the message is freed with the same
 * allocator. */
int rpc_call_recv_with(struct rpc_call *c, const ProtobufCMessageDescriptor *d,
		       ProtobufCAllocator *alloc, ProtobufCMessage **out);

/* The same for a streaming call without decoding: the message's bytes replace the contents
 * of out (the caller's; out->data[out->len] is a writable NUL). Returns 1, 0 or -1 as above,
 * or -2 when the bytes could not be read (compressed with an unknown algorithm). */
struct elog_buf;
int rpc_call_recv_bytes(struct rpc_call *c, struct elog_buf *out);

/* Queues m to be sent (packed now; m stays the caller's). Never blocks. Returns 0, or -1 when
 * the call is dead or finished. */
int rpc_call_send(struct rpc_call *c, const ProtobufCMessage *m);

/* Queues len bytes that are already a packed protobuf message. Same contract as rpc_call_send. */
int rpc_call_send_raw(struct rpc_call *c, const void *data, size_t len);

/* Blocks until at most max_queued messages wait to be sent. Returns 0, or -1 when the call is
 * dead. timeout_ns > 0 bounds the wait (returns 1 on timeout). */
int rpc_call_wait_sendable(struct rpc_call *c, size_t max_queued, int64_t timeout_ns);

/* Whether at most max_queued messages wait to be sent (rpc_call_wait_sendable without the
 * wait): 1 yes, 0 no, -1 the call is dead. */
int rpc_call_sendable(struct rpc_call *c, size_t max_queued);

/* Ends the call with status (after the queued messages); details may be NULL. Once only. */
void rpc_call_finish(struct rpc_call *c, int status, const char *details);

/* True once the call was cancelled or the peer went away. */
int rpc_call_dead(struct rpc_call *c);

/* Copies the first value of metadata key (lowercase) into buf; returns its length, or -1. */
int rpc_call_metadata(struct rpc_call *c, const char *key, char *buf, size_t bufsz);

/* The peer's address ("ipv4:127.0.0.1:5555"), owned by the call. */
const char *rpc_call_peer(struct rpc_call *c);

/* True when the server is shutting down (handlers of long calls should end). */
int rpc_call_server_stopping(struct rpc_call *c);

/* True when the call came over TLS. */
int rpc_call_secure(struct rpc_call *c);

/* Records what the call was admitted with (copied; e.g. a key's hash, never a key), for the
 * server's re-check (rpc_server_set_recheck). Once, from the gate. */
void rpc_call_set_credential(struct rpc_call *c, const char *credential);

/* ---- client ---------------------------------------------------------------------------- */

struct rpc_channel;
struct rpc_ccall;

struct rpc_client_opts {
	const char *ca_file;          /* TLS when set (or when use_tls) */
	const char *cert_file;        /* client certificate for mutual TLS */
	const char *key_file;
	const char *server_name;      /* TLS name override */
	int use_tls;
	const char *api_key;          /* sent as "authorization: Bearer <key>" when set */
	const char *const *header_keys;   /* more metadata sent on every call (copied) */
	const char *const *header_values;
	size_t nheaders;
};

/* Creates a channel to target ("127.0.0.1:50090"). Connects lazily. */
int rpc_channel_open(struct rpc_channel **out, const char *target,
		     const struct rpc_client_opts *o, struct elog_err *err);
void rpc_channel_close(struct rpc_channel *ch);
/* Connects and waits until the channel is ready, at most timeout_ns. Returns 0, or
 * ELOG_EUNAVAIL with err "cannot reach server 'x': connection failed", or ELOG_EPROTO when
 * it takes connections but the handshake fails (TLS on one side only, a wrong CA). */
int rpc_channel_wait_ready(struct rpc_channel *ch, int64_t timeout_ns, struct elog_err *err);

/* Starts a call on method path with an optional overall deadline (0: none) and sends the
 * initial metadata. */
int rpc_ccall_start(struct rpc_ccall **out, struct rpc_channel *ch, const char *method,
		    int64_t timeout_ns, struct elog_err *err);
/* Blocking send; -1 when the call ended (then rpc_ccall_finish tells why). */
int rpc_ccall_send(struct rpc_ccall *c, const ProtobufCMessage *m);
/* The same with a message already encoded (data[0..n), copied). */
int rpc_ccall_send_raw(struct rpc_ccall *c, const void *data, size_t n);
/* Half-close. */
int rpc_ccall_close_send(struct rpc_ccall *c);
/* Blocking receive with a timeout (0: none). 1 message, 0 end of stream, -1 call failed,
 * -2 undecodable, 2 timed out (the receive stays pending; call again). */
int rpc_ccall_recv(struct rpc_ccall *c, const ProtobufCMessageDescriptor *d,
		   ProtobufCMessage **out, int64_t timeout_ns);
/* The same without decoding: the message's bytes replace the contents of out (owned by the
 * caller, reused across calls). Returns 1, 0, -1 or 2 as above. */
struct elog_buf;
int rpc_ccall_recv_bytes(struct rpc_ccall *c, struct elog_buf *out, int64_t timeout_ns);
/* Waits for the call's final status; *details (may be NULL) is malloc'd. Returns the status. */
int rpc_ccall_finish(struct rpc_ccall *c, char **details);
void rpc_ccall_cancel(struct rpc_ccall *c);
/* Cancels if still running, then frees. Accepts NULL. */
void rpc_ccall_free(struct rpc_ccall *c);

/* Unary helper: sends req, receives into *resp. Returns the status (RPC_OK ...) and sets err
 * for anything else. */
int rpc_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	      int64_t timeout_ns, struct elog_err *err);

/* Name of a status code ("unavailable"). */
const char *rpc_status_name(int status);

/*
 * The one mapping of a call's final status to an elog error, for every client call:
 * UNAVAILABLE and DEADLINE_EXCEEDED are ELOG_EUNAVAIL (the server could not be reached: exit 3),
 * UNAUTHENTICATED and PERMISSION_DENIED ELOG_EAUTH, RESOURCE_EXHAUSTED ELOG_EFULL (a server
 * limit or its disk: the details say which), INVALID_ARGUMENT ELOG_EUSAGE, any other ELOG_EFAIL
 * (RPC_OK too: the caller expected more). err gets "server 'TARGET': STATUS: DETAILS", with
 * dflt when the server sent no details. Returns the code.
 */
int rpc_status_error(int status, const char *details, const char *target, const char *dflt,
		     struct elog_err *err);

/* The target the channel was opened with ("127.0.0.1:50090"), owned by the channel. */
const char *rpc_channel_target(const struct rpc_channel *ch);

#endif
