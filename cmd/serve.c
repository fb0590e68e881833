/*
 * serve.c — `elog serve`: the local log hub.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "hub.h"
#include "rpc.h"
#include "svc.h"
#include "util.h"

static struct {
	struct str_list listen;
	const char *db;
	const char *ready_file;
	long heartbeat_ttl;
	int quiet;
} o = { .heartbeat_ttl = 30 };

static const struct option serve_options[] = {
	{ 'L', "listen", OPT_LIST, &o.listen, "ADDR",
	  "listen on ADDR (repeatable; default " ELOG_DEFAULT_SERVER "; port 0 picks one)", NULL, NULL },
	{ 0, "db", OPT_STRING, &o.db, "PATH", "history database (default $ELOG_DB, else "
	  "$XDG_STATE_HOME/elog/history.db)", "file", "ELOG_DB" },
	{ 0, "ready-file", OPT_STRING, &o.ready_file, "PATH",
	  "write the bound addresses, one host:port a line, once calls are accepted", "file", NULL },
	{ 0, "heartbeat-ttl", OPT_INT, &o.heartbeat_ttl, "SECONDS",
	  "a flowctl service is healthy while its last heartbeat is this recent (default 30)", NULL, NULL },
	{ 'q', "quiet", OPT_BOOL, &o.quiet, NULL, "print nothing but errors", NULL, NULL },
	/* options of the services: each service adds its block below this line */
	OPT_END
};

static void grpc_log(int is_error, const char *msg)
{
	if (is_error)
		fprintf(stderr, "elog serve: grpc: %s\n", msg);
}

/* "127.0.0.1:0" + port -> "127.0.0.1:PORT"; the host part as given. */
static void bound_address(const char *addr, int port, struct elog_buf *out)
{
	const char *colon = strrchr(addr, ':');
	const char *close = strrchr(addr, ']');

	if (!colon || (close && colon < close))
		elog_buf_addf(out, "%s:%d\n", addr, port);
	else
		elog_buf_addf(out, "%.*s:%d\n", (int)(colon - addr), addr, port);
}

static int write_ready_file(const char *path, const char *text)
{
	struct elog_buf tmp = ELOG_BUF_INIT;
	FILE *f;
	int rc = 0;

	elog_buf_addf(&tmp, "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp.data, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp.data, path) != 0) {
		cli_error("cannot write ready file '%s': %s", path, strerror(errno));
		rc = -1;
	}
	elog_buf_release(&tmp);
	return rc;
}

static int run_serve(int argc, char **argv)
{
	extern const struct command cmd_serve;
	struct elog_svc svc;
	struct elog_hub *hub = NULL;
	struct rpc_server *srv = NULL;
	struct elog_buf bound = ELOG_BUF_INIT;
	struct elog_err err;
	char **rest, *db;
	int nrest, rc, sig;
	size_t i;
	sigset_t sigs;

	rc = cli_parse(&cmd_serve, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 0) {
		free(rest);
		return cli_usage_error(&cmd_serve, "unexpected argument '%s'", rest[0]);
	}
	free(rest);
	if (o.listen.n == 0) {
		static const char *def[] = { ELOG_DEFAULT_SERVER };

		o.listen.items = def;
		o.listen.n = 1;
	}
	db = o.db ? xstrdup(o.db) : cli_default_db();

	/* Signals are taken by sigwait in this thread only; every thread started below
	 * inherits the blocked mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rpc_set_log_sink(grpc_log);
	elog_err_clear(&err);
	if (elog_hub_open(&hub, db, NULL, &err) != 0) {
		cli_error("%s", err.msg);
		free(db);
		return EXIT_FAIL;
	}
	memset(&svc, 0, sizeof(svc));
	svc.hub = hub;
	svc.db_path = db;
	svc.heartbeat_ttl_ns = o.heartbeat_ttl * 1000000000LL;

	rpc_server_new(&srv, &err);
	/* services: one registration line each */
	elog_svc_hub_register(srv, &svc);
	elog_svc_flowctl_register(srv, &svc);
	for (i = 0; i < o.listen.n; i++) {
		int port = 0;

		if (rpc_server_listen(srv, o.listen.items[i], NULL, &port, &err) != 0) {
			cli_error("%s", err.msg);
			rpc_server_shutdown(srv, 0);
			elog_svc_flowctl_free(&svc);
			elog_hub_close(hub);
			free(db);
			free(o.listen.cap ? o.listen.items : NULL);
			elog_buf_release(&bound);
			return EXIT_FAIL;
		}
		bound_address(o.listen.items[i], port, &bound);
	}
	if (rpc_server_start(srv, &err) != 0) {
		cli_error("%s", err.msg);
		rc = EXIT_FAIL;
		goto out;
	}
	if (!o.quiet)
		fprintf(stderr, "elog serve: history '%s', listening on %.*s\n", db,
			(int)(bound.len ? bound.len - 1 : 0), bound.data ? bound.data : "");
	if (o.ready_file && write_ready_file(o.ready_file, bound.data) != 0) {
		rc = EXIT_FAIL;
		goto out;
	}
	rc = EXIT_OK;
	while (sigwait(&sigs, &sig) != 0)
		;
	if (!o.quiet)
		fprintf(stderr, "elog serve: %s received, shutting down\n",
			sig == SIGINT ? "interrupt" : "terminate");
out:
	rpc_server_stop_accepting(srv);
	elog_hub_stop_followers(hub);
	rpc_server_shutdown(srv, 2000);
	elog_hub_close(hub);
	elog_svc_flowctl_free(&svc);
	if (!o.quiet && rc == EXIT_OK)
		fprintf(stderr, "elog serve: history closed\n");
	elog_buf_release(&bound);
	free(o.listen.cap ? o.listen.items : NULL);
	free(db);
	return rc;
}

const struct command cmd_serve = {
	.name = "serve",
	.summary = "run the local log hub",
	.usage = "[--listen ADDR]... [--db PATH] [--ready-file PATH]",
	.options = serve_options,
	.run = run_serve,
	.description =
		"Runs the hub: a gRPC server that accepts logs over the Electrician relay, the "
		"logging.v1 session log service, the flowctl control plane and elog's own protocol, "
		"commits them to a SQLite history in batched transactions, and streams them live to "
		"followers. A record is acknowledged to its sender only once committed.\n"
		"SIGINT or SIGTERM: stop accepting calls, commit what was received, end followers' "
		"calls, close the history and exit 0.",
	.examples =
		"elog serve --listen 127.0.0.1:0 --db $T/h.db --ready-file $T/ready &\n"
		"run a hub on a free port, writing its address to $T/ready\n",
	.files = "$XDG_STATE_HOME/elog/history.db\tthe default history\n",
};
