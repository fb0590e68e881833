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
#include "rpc/rpc_internal.h"

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

/*
 * Debian builds abseil without NDEBUG, so every absl::Mutex gRPC takes ran abseil's deadlock
 * detector (GraphCycles::GetId, DeadlockCheck: 6% of an `elog logs -f` following 10k lines/s,
 * and of serve). It is a debugging aid that a release build of abseil leaves off: so do we.
 * The setter is C++, absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore) with
 * kIgnore = 0, declared here by its mangled name and weak: with an abseil of another inline
 * namespace the name differs, the pointer is NULL and the detector stays as it was.
 */
extern void _ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE(int mode)
	__attribute__((weak));

void rpc_init(void)
{
	pthread_mutex_lock(&init_mu);
	if (init_refs++ == 0) {
		if (_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE)
			_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE(0);
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
void rpc__call_unref(struct rpc_call *c)
{
	int left;

	pthread_mutex_lock(&c->mu);
	left = --c->refs;
	pthread_mutex_unlock(&c->mu);
	if (left == 0)
		call_free(c);
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
	rpc__call_unref(c);
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
		rpc__call_unref(c);
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
	rpc__start_locked(c, ops, 1, &c->t_close);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (rpc__start_locked(c, ops, 1, &c->t_send) == 0)
		c->send_inflight = 1;
	pthread_mutex_unlock(&c->mu);

	if (c->method == &s->unknown) {
		char name[208];

		unknown_method_name(c, name, sizeof(name));
		snprintf(why, sizeof(why), "method '%s' is not served here", name);
		rpc_call_finish(c, RPC_UNIMPLEMENTED, why);
		rpc__call_unref(c);  /* the t_new reference */
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
		rpc__call_unref(c);  /* the t_new reference */
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
		rpc__call_unref(c);
	}
	pthread_attr_destroy(&attr);
	rpc__call_unref(c);  /* the t_new reference */
}

static struct rpc_call *call_new(struct rpc_server *s, struct method *m)
{
	struct rpc_call *c = xcalloc(1, sizeof(*c));

	c->server = s;
	c->method = m;
	c->single = m->kind == RPC_UNARY || m->kind == RPC_SERVER_STREAM;
	c->t_new.fn = on_new;
	c->t_recv.fn = rpc__on_recv;
	c->t_send.fn = rpc__on_send;
	c->t_close.fn = rpc__on_close;
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
		rpc__call_unref(c);
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
		rpc__call_unref(c);
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
			rpc__call_unref(calls[i]);
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
	rpc__reserve_take();   /* also what links rpc_fds.c's accept4 into every server */
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

