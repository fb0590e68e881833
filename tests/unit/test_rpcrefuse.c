/*
 * test_rpcrefuse.c — a call that the server refuses before reading it (the gate: serve --auth
 * without a key) ends with the server's status at once, whatever the client was doing when
 * the refusal came: not yet sending, sending, or done sending.
 *
 * gRPC core hands a client call its final status only once the call asked for the server's
 * initial metadata. The refusal (a Trailers-Only answer, then RST_STREAM) can arrive before the
 * client sent its request: the send fails, and a client that went straight to
 * rpc_ccall_finish, without a receive, waited 30 s for a status it had already received
 * ('elog logs' against 'serve --auth' without a key, now and then on a busy machine).
 * "finish_without_receive" makes that order certain (no send at all); "concurrent" runs the
 * client's real orders from several threads at once, as a busy machine interleaves them.
 *
 * Every call has a deadline of CALL_DEADLINE_S: a status withheld shows as a deadline
 * exceeded after that long instead of the refusal, and the test stops at the first one.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/util.h"
#include "rpc/rpc.h"
#include "elog.pb-c.h"
#include "unit.h"

#define CALL_DEADLINE_S 20
#define THREADS 4
#define ROUNDS 25

static const char *const paths[] = {
	"/elog.test.Refuse/Read",     /* server-streaming, as elog logs' Read */
	"/elog.test.Refuse/Unary",
	"/elog.test.Refuse/Ingest",   /* bidi, as elog send's Ingest */
};
static const enum rpc_kind kinds[] = { RPC_SERVER_STREAM, RPC_UNARY, RPC_BIDI };
#define NPATHS (sizeof(paths) / sizeof(paths[0]))

static int handler_runs;   /* atomic: the gate refuses every call, so always 0 */

static void handler(struct rpc_call *call, void *ctx)
{
	(void)ctx;
	__atomic_add_fetch(&handler_runs, 1, __ATOMIC_RELAXED);
	rpc_call_finish(call, RPC_OK, NULL);
}

/* Refuses every call before reading it, as serve --auth refuses a call without a key:
 * Ingest with PERMISSION_DENIED, the others with UNAUTHENTICATED. */
static int gate(struct rpc_call *call, const char *method, void *ctx, char *msg, size_t msgsz)
{
	(void)call;
	(void)ctx;
	if (strstr(method, "Ingest")) {
		snprintf(msg, msgsz, "key 'k' may not send");
		return RPC_PERMISSION_DENIED;
	}
	snprintf(msg, msgsz, "api key is not provided");
	return RPC_UNAUTHENTICATED;
}

static int want_status(size_t i)
{
	return strstr(paths[i], "Ingest") ? RPC_PERMISSION_DENIED : RPC_UNAUTHENTICATED;
}

static const char *want_details(size_t i)
{
	return strstr(paths[i], "Ingest") ? "key 'k' may not send" : "api key is not provided";
}

struct fixture {
	struct rpc_server *srv;
	struct rpc_channel *ch;
};

static int fixture_up(struct fixture *fx)
{
	struct elog_err err;
	char target[64];
	int port = 0;
	size_t i;

	memset(fx, 0, sizeof(*fx));
	elog_err_clear(&err);
	if (rpc_server_new(&fx->srv, &err) != 0)
		return -1;
	for (i = 0; i < NPATHS; i++)
		rpc_server_add_method(fx->srv, paths[i], kinds[i], handler, NULL);
	rpc_server_set_gate(fx->srv, gate, NULL);
	if (rpc_server_listen(fx->srv, "127.0.0.1:0", NULL, &port, &err) != 0 ||
	    rpc_server_start(fx->srv, &err) != 0) {
		fprintf(stderr, "  server: %s\n", err.msg);
		rpc_server_shutdown(fx->srv, 0);
		return -1;
	}
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	if (rpc_channel_open(&fx->ch, target, NULL, &err) != 0 ||
	    rpc_channel_wait_ready(fx->ch, 30 * NS_PER_S, &err) != 0) {
		fprintf(stderr, "  client: %s\n", err.msg);
		rpc_channel_close(fx->ch);
		rpc_server_shutdown(fx->srv, 0);
		return -1;
	}
	return 0;
}

static void fixture_down(struct fixture *fx)
{
	rpc_channel_close(fx->ch);
	rpc_server_shutdown(fx->srv, 1000);
}

/* How a client goes about a call the server refuses. */
enum order {
	NO_SEND,        /* start, then the status at once */
	READER,         /* send the request; on failure the status, else half-close, receive */
	UNARY,          /* rpc_unary's order: send, half-close, receive whatever the send did */
	SENDS,          /* two sends and no receive at all */
	ORDERS
};

/* One call on path i in the given order: 0 when it ended with the refusal, else -1 with a
 * line on stderr. */
static int refused_call(struct rpc_channel *ch, size_t i, enum order order)
{
	Elog__V1__Query q = ELOG__V1__QUERY__INIT;
	struct rpc_ccall *c = NULL;
	struct elog_err err;
	ProtobufCMessage *m = NULL;
	char *details = NULL;
	int st, rc = 0, ok;

	elog_err_clear(&err);
	q.limit = 5;
	if (rpc_ccall_start(&c, ch, paths[i], (int64_t)CALL_DEADLINE_S * NS_PER_S, &err) != 0) {
		fprintf(stderr, "  start %s: %s\n", paths[i], err.msg);
		return -1;
	}
	switch (order) {
	case NO_SEND:
		break;
	case READER:
		if (rpc_ccall_send(c, &q.base) == 0 && rpc_ccall_close_send(c) == 0)
			rc = rpc_ccall_recv(c, &elog__v1__query__descriptor, &m, 0);
		break;
	case UNARY:
		rpc_ccall_send(c, &q.base);
		rpc_ccall_close_send(c);
		rc = rpc_ccall_recv(c, &elog__v1__query__descriptor, &m, 0);
		break;
	case SENDS:
		if (rpc_ccall_send(c, &q.base) == 0)
			rpc_ccall_send(c, &q.base);
		break;
	case ORDERS:
		break;
	}
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	st = rpc_ccall_finish(c, &details);
	ok = st == want_status(i) && details && strcmp(details, want_details(i)) == 0 && rc != 1;
	if (!ok)
		fprintf(stderr, "  %s (order %d): status %d '%s', expected %d '%s' (recv %d)\n",
			paths[i], (int)order, st, details ? details : "", want_status(i),
			want_details(i), rc);
	free(details);
	rpc_ccall_free(c);
	return ok ? 0 : -1;
}

/* The deterministic case: the status is asked for before anything else. */
static void test_finish_without_receive(void)
{
	struct fixture fx;
	size_t i;
	int n;

	if (fixture_up(&fx) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (n = 0; n < 5; n++)
		for (i = 0; i < NPATHS; i++)
			if (refused_call(fx.ch, i, NO_SEND) != 0) {
				CHECK(!"refused call without a receive ended with the refusal");
				goto out;
			}
out:
	fixture_down(&fx);
	CHECK_INT(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED), 0);
}

struct worker {
	struct rpc_channel *ch;
	int id;
	int failed;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int r;

	for (r = 0; r < ROUNDS && !w->failed; r++) {
		size_t i = (size_t)(r + w->id) % NPATHS;
		enum order o = (enum order)((r / (int)NPATHS + w->id) % ORDERS);

		if (refused_call(w->ch, i, o) != 0)
			w->failed = 1;
	}
	return NULL;
}

/* Several threads at once, every order on every kind of method, on one channel. */
static void test_concurrent(void)
{
	struct fixture fx;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int i, started = 0, failed = 0;

	if (fixture_up(&fx) != 0) {
		CHECK(!"fixture");
		return;
	}
	for (i = 0; i < THREADS; i++) {
		w[i].ch = fx.ch;
		w[i].id = i;
		w[i].failed = 0;
		if (pthread_create(&th[i], NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	CHECK_INT(started, THREADS);
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		failed += w[i].failed;
	}
	CHECK_INT(failed, 0);
	fixture_down(&fx);
	CHECK_INT(__atomic_load_n(&handler_runs, __ATOMIC_RELAXED), 0);
}

UNIT_MAIN({ "finish_without_receive", test_finish_without_receive },
	  { "concurrent", test_concurrent })
