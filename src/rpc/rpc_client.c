/*
 * rpc_client.c — blocking gRPC core client calls behind rpc.h.
 *
 * One pluck completion queue per call. Send and receive use distinct tags, so one thread may
 * send while another receives (gRPC core allows send batches and receive batches to be
 * synchronized independently; each side here has its own mutex). The final status batch is
 * started with the call and plucked by rpc_ccall_finish.
 *
 * That batch also asks for the server's initial metadata: gRPC core (1.51) hands a client
 * call its final status only once its initial metadata was asked for. A server that ends a
 * call before reading it (an API key refused: a Trailers-Only answer and RST_STREAM) makes
 * the request's send fail; a caller that then went straight to rpc_ccall_finish, with no
 * receive started, waited for a status that had arrived but was never handed over.
 */
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rpc/rpc.h"
#include "common/err.h"
#include "common/util.h"

struct rpc_channel {
	grpc_channel *ch;
	char *target;
	char *auth_value;      /* "Bearer <key>" or NULL */
	int tls;
	char **hdr_keys, **hdr_values;   /* extra metadata of every call (lowercase keys) */
	size_t nhdr;
};

struct rpc_ccall {
	grpc_call *call;
	grpc_completion_queue *cq;
	pthread_mutex_t send_mu, recv_mu;
	int recv_pending;
	grpc_byte_buffer *recv_buf;
	int status_plucked;
	grpc_status_code status;
	grpc_slice details;
	grpc_metadata_array initial_md, trailing_md;
	grpc_metadata *md;     /* initial metadata sent: authorization, then the headers */
	size_t nmd;
	int ended;             /* a batch failed: the call is over */
	int half_closed;
};

/* Tags: distinct addresses inside the call. */
#define TAG_START(c)  ((void *)&(c)->call)
#define TAG_SEND(c)   ((void *)&(c)->send_mu)
#define TAG_RECV(c)   ((void *)&(c)->recv_mu)
#define TAG_STATUS(c) ((void *)&(c)->status)

static gpr_timespec deadline_after(int64_t timeout_ns)
{
	if (timeout_ns <= 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_nanos(timeout_ns, GPR_TIMESPAN));
}

int rpc_channel_open(struct rpc_channel **out, const char *target,
		     const struct rpc_client_opts *o, struct elog_err *err)
{
	struct rpc_channel *ch;
	grpc_channel_credentials *creds;
	grpc_arg args[9];
	grpc_channel_args cargs;
	size_t nargs = 0;

	rpc_init();
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, { .integer = 64 << 20 } };
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIME_MS, { .integer = 20000 } };
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_TIMEOUT_MS, { .integer = 20000 } };
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, { .integer = 1 } };
	/* Reconnect quickly after a restarted server (default backoff starts at 1 s). */
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, { .integer = 1000 } };
	args[nargs++] = (grpc_arg){ GRPC_ARG_INTEGER, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, { .integer = 100 } };
	/* Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: it is also the connection attempt's timeout, and
	 * 100 ms failed handshakes with a busy server ("timed out before receiving SETTINGS"). */
	if (o && o->server_name && *o->server_name)
		args[nargs++] = (grpc_arg){ GRPC_ARG_STRING, GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
					    { .string = (char *)o->server_name } };
	cargs.num_args = nargs;
	cargs.args = args;

	if (o && (o->use_tls || o->ca_file)) {
		char *ca = NULL, *cert = NULL, *key = NULL;
		grpc_ssl_pem_key_cert_pair pair;

		if ((o->ca_file && elog_read_file(o->ca_file, &ca, err)) ||
		    (o->cert_file && elog_read_file(o->cert_file, &cert, err)) ||
		    (o->key_file && elog_read_file(o->key_file, &key, err))) {
			free(ca);
			free(cert);
			free(key);
			rpc_shutdown();
			return ELOG_EIO;
		}
		pair.private_key = key;
		pair.cert_chain = cert;
		creds = grpc_ssl_credentials_create(ca, (cert && key) ? &pair : NULL, NULL, NULL);
		free(ca);
		free(cert);
		free(key);
	} else {
		creds = grpc_insecure_credentials_create();
	}
	ch = xcalloc(1, sizeof(*ch));
	ch->target = xstrdup(target);
	ch->tls = o && (o->use_tls || o->ca_file);
	ch->ch = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (o && o->api_key && *o->api_key) {
		struct elog_buf b = ELOG_BUF_INIT;

		elog_buf_addf(&b, "Bearer %s", o->api_key);
		ch->auth_value = elog_buf_detach(&b);
	}
	if (o && o->nheaders) {
		ch->nhdr = o->nheaders;
		ch->hdr_keys = xcalloc(o->nheaders, sizeof(char *));
		ch->hdr_values = xcalloc(o->nheaders, sizeof(char *));
		for (size_t i = 0; i < o->nheaders; i++) {
			ch->hdr_keys[i] = xstrdup(o->header_keys[i]);
			for (char *k = ch->hdr_keys[i]; *k; k++)
				if (*k >= 'A' && *k <= 'Z')
					*k = (char)(*k + 32);
			ch->hdr_values[i] = xstrdup(o->header_values[i]);
		}
	}
	*out = ch;
	return 0;
}

void rpc_channel_close(struct rpc_channel *ch)
{
	if (!ch)
		return;
	grpc_channel_destroy(ch->ch);
	free(ch->target);
	free(ch->auth_value);
	for (size_t i = 0; i < ch->nhdr; i++) {
		free(ch->hdr_keys[i]);
		free(ch->hdr_values[i]);
	}
	free(ch->hdr_keys);
	free(ch->hdr_values);
	free(ch);
	rpc_shutdown();
}

/*
 * True when a TCP connection to target (host:port, [v6]:port, dns:///, ipv4:, ipv6:) is
 * accepted within 200 ms. Used only after gRPC failed to connect to that same target: a
 * listener that accepts TCP but not our handshake speaks the other protocol (TLS vs plaintext).
 */
static int tcp_accepts(const char *target)
{
	char host[256], port[16];
	struct addrinfo hints, *ai = NULL, *a;
	int ok = 0;

	if (elog_target_split(target, host, sizeof(host), port, sizeof(port)) != 0 || !*port)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return 0;
	for (a = ai; a && !ok; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		struct pollfd pf;
		int soerr = 0;
		socklen_t len = sizeof(soerr);

		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			ok = 1;
		} else if (errno == EINPROGRESS) {
			pf.fd = fd;
			pf.events = POLLOUT;
			if (poll(&pf, 1, 200) == 1 &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
				ok = 1;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return ok;
}

int rpc_channel_wait_ready(struct rpc_channel *ch, int64_t timeout_ns, struct elog_err *err)
{
	grpc_completion_queue *cq;
	gpr_timespec dl = deadline_after(timeout_ns);
	grpc_connectivity_state st = grpc_channel_check_connectivity_state(ch->ch, 1);
	int rc = 0, probed = 0;
	gpr_timespec mismatch_dl = gpr_inf_future(GPR_CLOCK_REALTIME);

	if (st == GRPC_CHANNEL_READY)
		return 0;
	cq = grpc_completion_queue_create_for_next(NULL);
	while (st != GRPC_CHANNEL_READY) {
		grpc_event ev;

		if (st == GRPC_CHANNEL_SHUTDOWN) {
			rc = -1;
			break;
		}
		/* Failed to connect while the port takes TCP: after 40% of the timeout (2 s of the
		 * default 5), call it a protocol mismatch rather than wait out the whole timeout. A
		 * longer --timeout gives a busy server (slow handshakes) proportionally longer. */
		if (st == GRPC_CHANNEL_TRANSIENT_FAILURE && !probed) {
			probed = 1;
			if (tcp_accepts(ch->target)) {
				mismatch_dl = deadline_after(timeout_ns > 0 ? timeout_ns / 5 * 2 : 2000000000LL);
			} else {
				/* Nothing listens there (connection refused, or no route): waiting
				 * out the timeout for gRPC's reconnect backoff helps nobody. */
				rc = -3;
				break;
			}
		}
		grpc_channel_watch_connectivity_state(ch->ch, st,
			gpr_time_cmp(mismatch_dl, dl) < 0 ? mismatch_dl : dl, cq, ch);
		ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		st = grpc_channel_check_connectivity_state(ch->ch, 1);
		if (!ev.success && st != GRPC_CHANNEL_READY) {
			rc = gpr_time_cmp(mismatch_dl, dl) < 0 &&
			     gpr_time_cmp(gpr_now(GPR_CLOCK_REALTIME), mismatch_dl) >= 0 ? -2 : -1;
			break;
		}
	}
	grpc_completion_queue_shutdown(cq);
	while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type
	       != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(cq);
	if (rc == -2 && ch->tls)
		return elog_err_set(err, ELOG_EPROTO, "cannot reach server '%s': the TLS handshake "
				    "failed (check the CA, the server name and the client certificate; "
				    "or the server does not use TLS)", ch->target);
	if (rc == -2)
		return elog_err_set(err, ELOG_EPROTO, "cannot reach server '%s': it accepts "
				    "connections but not plaintext gRPC (does it require TLS? then "
				    "connect with --tls-ca)", ch->target);
	if (rc == -3)
		return elog_err_set(err, ELOG_EUNAVAIL, "cannot reach server '%s': connection refused "
				    "(is 'elog serve' running?)", ch->target);
	if (rc)
		return elog_err_set(err, ELOG_EUNAVAIL, "cannot reach server '%s': %s", ch->target,
				    st == GRPC_CHANNEL_TRANSIENT_FAILURE ? "connection failed"
									 : "timed out connecting");
	return 0;
}

static grpc_event pluck_tag(struct rpc_ccall *c, void *tag, int64_t timeout_ns)
{
	return grpc_completion_queue_pluck(c->cq, tag, deadline_after(timeout_ns), NULL);
}

int rpc_ccall_start(struct rpc_ccall **out, struct rpc_channel *ch, const char *method,
		    int64_t timeout_ns, struct elog_err *err)
{
	struct rpc_ccall *c = xcalloc(1, sizeof(*c));
	grpc_slice mslice = grpc_slice_from_copied_string(method);
	grpc_op ops[2];
	grpc_event ev;

	c->cq = grpc_completion_queue_create_for_pluck(NULL);
	c->call = grpc_channel_create_call(ch->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq, mslice,
					   NULL, deadline_after(timeout_ns), NULL);
	grpc_slice_unref(mslice);
	pthread_mutex_init(&c->send_mu, NULL);
	pthread_mutex_init(&c->recv_mu, NULL);
	grpc_metadata_array_init(&c->initial_md);
	grpc_metadata_array_init(&c->trailing_md);
	c->details = grpc_empty_slice();

	/* The initial metadata with the status, asked for at once (see the opening comment). */
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[0].data.recv_initial_metadata.recv_initial_metadata = &c->initial_md;
	ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[1].data.recv_status_on_client.trailing_metadata = &c->trailing_md;
	ops[1].data.recv_status_on_client.status = &c->status;
	ops[1].data.recv_status_on_client.status_details = &c->details;
	if (grpc_call_start_batch(c->call, ops, 2, TAG_STATUS(c), NULL) != GRPC_CALL_OK) {
		rpc_ccall_free(c);
		return elog_err_set(err, ELOG_EFAIL, "cannot start call '%s'", method);
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (ch->auth_value || ch->nhdr) {
		c->md = xcalloc(ch->nhdr + 1, sizeof(*c->md));
		if (ch->auth_value) {
			c->md[c->nmd].key = grpc_slice_from_static_string("authorization");
			c->md[c->nmd++].value = grpc_slice_from_copied_string(ch->auth_value);
		}
		for (size_t i = 0; i < ch->nhdr; i++) {
			c->md[c->nmd].key = grpc_slice_from_copied_string(ch->hdr_keys[i]);
			c->md[c->nmd++].value = grpc_slice_from_copied_string(ch->hdr_values[i]);
		}
		ops[0].data.send_initial_metadata.count = c->nmd;
		ops[0].data.send_initial_metadata.metadata = c->md;
	}
	if (grpc_call_start_batch(c->call, ops, 1, TAG_START(c), NULL) != GRPC_CALL_OK) {
		rpc_ccall_free(c);
		return elog_err_set(err, ELOG_EFAIL, "cannot start call '%s'", method);
	}
	ev = pluck_tag(c, TAG_START(c), 0);
	if (!ev.success)
		c->ended = 1;
	*out = c;
	return 0;
}

static int ccall_send_slice(struct rpc_ccall *c, grpc_slice s);

int rpc_ccall_send(struct rpc_ccall *c, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	grpc_slice s = grpc_slice_malloc(n);

	protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
	return ccall_send_slice(c, s);
}

int rpc_ccall_send_raw(struct rpc_ccall *c, const void *data, size_t n)
{
	grpc_slice s = grpc_slice_malloc(n);

	if (n)
		memcpy(GRPC_SLICE_START_PTR(s), data, n);
	return ccall_send_slice(c, s);
}

/* Sends the message in s (its reference is taken). */
static int ccall_send_slice(struct rpc_ccall *c, grpc_slice s)
{
	grpc_byte_buffer *bb;
	grpc_op op;
	grpc_event ev;
	int rc = 0;

	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	pthread_mutex_lock(&c->send_mu);
	if (c->ended || c->half_closed) {
		rc = -1;
	} else {
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_SEND_MESSAGE;
		op.data.send_message.send_message = bb;
		if (grpc_call_start_batch(c->call, &op, 1, TAG_SEND(c), NULL) != GRPC_CALL_OK) {
			rc = -1;
		} else {
			ev = pluck_tag(c, TAG_SEND(c), 0);
			if (!ev.success) {
				c->ended = 1;
				rc = -1;
			}
		}
	}
	pthread_mutex_unlock(&c->send_mu);
	grpc_byte_buffer_destroy(bb);
	return rc;
}

int rpc_ccall_close_send(struct rpc_ccall *c)
{
	grpc_op op;
	grpc_event ev;
	int rc = 0;

	pthread_mutex_lock(&c->send_mu);
	if (!c->half_closed && !c->ended) {
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		if (grpc_call_start_batch(c->call, &op, 1, TAG_SEND(c), NULL) == GRPC_CALL_OK) {
			ev = pluck_tag(c, TAG_SEND(c), 0);
			if (!ev.success)
				rc = -1;
		} else {
			rc = -1;
		}
		c->half_closed = 1;
	}
	pthread_mutex_unlock(&c->send_mu);
	return rc;
}


/* Receives one message's byte buffer: 1 (in *bbp), 0 end of stream, -1 failed, 2 timed out. */
static int recv_buffer(struct rpc_ccall *c, grpc_byte_buffer **bbp, int64_t timeout_ns)
{
	grpc_op op;
	grpc_event ev;
	grpc_byte_buffer *bb;

	*bbp = NULL;
	pthread_mutex_lock(&c->recv_mu);
	if (!c->recv_pending) {
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_RECV_MESSAGE;
		op.data.recv_message.recv_message = &c->recv_buf;
		if (grpc_call_start_batch(c->call, &op, 1, TAG_RECV(c), NULL) != GRPC_CALL_OK) {
			pthread_mutex_unlock(&c->recv_mu);
			return -1;
		}
		c->recv_pending = 1;
	}
	ev = pluck_tag(c, TAG_RECV(c), timeout_ns);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		pthread_mutex_unlock(&c->recv_mu);
		return 2;
	}
	c->recv_pending = 0;
	bb = c->recv_buf;
	c->recv_buf = NULL;
	pthread_mutex_unlock(&c->recv_mu);
	if (!ev.success) {
		if (bb)
			grpc_byte_buffer_destroy(bb);
		return -1;
	}
	if (!bb)
		return 0;
	*bbp = bb;
	return 1;
}

int rpc_ccall_recv(struct rpc_ccall *c, const ProtobufCMessageDescriptor *d,
		   ProtobufCMessage **out, int64_t timeout_ns)
{
	grpc_byte_buffer *bb;
	grpc_byte_buffer_reader r;
	grpc_slice s;
	int rc;

	*out = NULL;
	rc = recv_buffer(c, &bb, timeout_ns);
	if (rc != 1)
		return rc;
	if (!grpc_byte_buffer_reader_init(&r, bb)) {
		grpc_byte_buffer_destroy(bb);
		return -2;
	}
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	*out = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	grpc_byte_buffer_destroy(bb);
	return *out ? 1 : -2;
}

int rpc_ccall_recv_bytes(struct rpc_ccall *c, struct elog_buf *out, int64_t timeout_ns)
{
	grpc_byte_buffer *bb;
	grpc_byte_buffer_reader r;
	grpc_slice s;
	int rc;

	elog_buf_reset(out);
	rc = recv_buffer(c, &bb, timeout_ns);
	if (rc != 1)
		return rc;
	if (!grpc_byte_buffer_reader_init(&r, bb)) {
		grpc_byte_buffer_destroy(bb);
		return -1;
	}
	while (grpc_byte_buffer_reader_next(&r, &s)) {
		elog_buf_add(out, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s));
		grpc_slice_unref(s);
	}
	grpc_byte_buffer_reader_destroy(&r);
	grpc_byte_buffer_destroy(bb);
	return 1;
}

/* How long rpc_ccall_finish waits for a status the server owes: it comes at once after the
 * stream ended or failed; past this the call is cancelled rather than waited on forever. */
#define STATUS_WAIT_NS (30 * 1000000000LL)

int rpc_ccall_finish(struct rpc_ccall *c, char **details)
{
	if (!c->status_plucked) {
		grpc_event ev = pluck_tag(c, TAG_STATUS(c), STATUS_WAIT_NS);

		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			grpc_call_cancel(c->call, NULL);
			pluck_tag(c, TAG_STATUS(c), 0);
			c->status = GRPC_STATUS_UNAVAILABLE;
			grpc_slice_unref(c->details);
			c->details = grpc_slice_from_static_string("no status from the server within 30 s");
		}
		c->status_plucked = 1;
	}
	if (details) {
		size_t n = GRPC_SLICE_LENGTH(c->details);

		*details = xstrndup((const char *)GRPC_SLICE_START_PTR(c->details), n);
	}
	return (int)c->status;
}

void rpc_ccall_cancel(struct rpc_ccall *c)
{
	grpc_call_cancel(c->call, NULL);
}

void rpc_ccall_free(struct rpc_ccall *c)
{
	if (!c)
		return;
	if (c->call) {
		grpc_call_cancel(c->call, NULL);
		if (c->recv_pending) {
			pluck_tag(c, TAG_RECV(c), 0);
			if (c->recv_buf)
				grpc_byte_buffer_destroy(c->recv_buf);
		}
		if (!c->status_plucked)
			pluck_tag(c, TAG_STATUS(c), 0);
		grpc_call_unref(c->call);
	}
	grpc_completion_queue_shutdown(c->cq);
	while (grpc_completion_queue_pluck(c->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type
	       != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(c->cq);
	grpc_slice_unref(c->details);
	for (size_t i = 0; i < c->nmd; i++) {
		grpc_slice_unref(c->md[i].key);
		grpc_slice_unref(c->md[i].value);
	}
	free(c->md);
	grpc_metadata_array_destroy(&c->initial_md);
	grpc_metadata_array_destroy(&c->trailing_md);
	pthread_mutex_destroy(&c->send_mu);
	pthread_mutex_destroy(&c->recv_mu);
	free(c);
}

int rpc_unary(struct rpc_channel *ch, const char *method, const ProtobufCMessage *req,
	      const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
	      int64_t timeout_ns, struct elog_err *err)
{
	struct rpc_ccall *c;
	char *details = NULL;
	int st, rc;

	*resp = NULL;
	if (rpc_ccall_start(&c, ch, method, timeout_ns, err))
		return RPC_INTERNAL;
	rpc_ccall_send(c, req);
	rpc_ccall_close_send(c);
	rc = rpc_ccall_recv(c, resp_desc, resp, 0);
	st = rpc_ccall_finish(c, &details);
	if (st == RPC_OK && rc != 1) {
		st = RPC_INTERNAL;
		elog_err_set(err, ELOG_EFAIL, "server '%s': '%s': %s", ch->target, method,
			     rc == -2 ? "undecodable response" : "no response");
	} else if (st != RPC_OK) {
		rpc_status_error(st, details, ch->target, "no details", err);
	}
	if (st != RPC_OK && *resp) {
		protobuf_c_message_free_unpacked(*resp, NULL);
		*resp = NULL;
	}
	free(details);
	rpc_ccall_free(c);
	return st;
}

int rpc_status_error(int status, const char *details, const char *target, const char *dflt,
		     struct elog_err *err)
{
	int code;

	switch (status) {
	case RPC_UNAVAILABLE:
	case RPC_DEADLINE_EXCEEDED:
		code = ELOG_EUNAVAIL;
		break;
	case RPC_UNAUTHENTICATED:
	case RPC_PERMISSION_DENIED:
		code = ELOG_EAUTH;
		break;
	case RPC_RESOURCE_EXHAUSTED:
		code = ELOG_EFULL;
		break;
	case RPC_INVALID_ARGUMENT:
		code = ELOG_EUSAGE;
		break;
	default:
		code = ELOG_EFAIL;
		break;
	}
	return elog_err_set(err, code, "server '%s': %s: %s", target ? target : "?",
			    rpc_status_name(status), details && *details ? details : dflt);
}

const char *rpc_channel_target(const struct rpc_channel *ch)
{
	return ch->target;
}
