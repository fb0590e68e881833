/*
 * serve.c — `elog serve`: the local log hub.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/resource.h>

#include "cli.h"
#include "hub/hub.h"
#include "rpc/rpc.h"
#include "server/svc.h"
#include "server/sessionlog.h"
#include "server/redisnotify.h"
#include "store/retention.h"
#include "outbound/forward.h"
#include "common/util.h"
#include "common/err.h"
#include "common/redact.h"
#include "outbound/cluster.h"
#include "web/web.h"

static struct {
	struct str_list listen;
	const char *db;
	const char *ready_file;
	int64_t heartbeat_ttl_ns;
	long max_calls;
	int quiet;
	const char *log_dir, *log_compression;
	int64_t log_max_size, log_max_age_ns, log_idle_ns, log_flush_ns;
	long log_backups, log_queue;
	const char *notify_redis, *notify_redis_list;
	long notify_redis_queue;
	int auth;
	const char *tls_cert, *tls_key, *tls_client_ca;
	int64_t retain_size, retain_age_ns;
	int redact;
	const char *redact_rules, *redact_on, *redact_off;
	const char *forward, *forward_ca;
	struct str_list forward_headers;
	const char *cluster, *node, *cluster_creds, *cluster_user, *cluster_password_file,
		*cluster_ca, *cluster_stream;
	long cluster_replicas;
	int aggregate;
	struct str_list http;
} o = { .heartbeat_ttl_ns = 30 * NS_PER_S, .max_calls = RPC_DEFAULT_MAX_CALLS,
	.retain_size = -1, .redact = 1 };

static const struct option serve_options[] = {
	{ 'L', "listen", OPT_LIST, &o.listen, "ADDR",
	  "listen on ADDR, HOST:PORT (repeatable; default " ELOG_DEFAULT_SERVER "; port 0 picks one)",
	  NULL, NULL },
	{ 0, "db", OPT_STRING, &o.db, "PATH", "history database (default $ELOG_DB, else "
	  "$XDG_STATE_HOME/elog/history.db); one serve per history", "file", "ELOG_DB" },
	{ 0, "ready-file", OPT_STRING, &o.ready_file, "PATH",
	  "write the bound addresses, one host:port a line, once calls are accepted", "file", NULL },
	{ 0, "heartbeat-ttl", OPT_DURATION, &o.heartbeat_ttl_ns, "DURATION",
	  "a flowctl service is healthy while its last heartbeat is this recent (default 30s)", NULL, NULL },
	{ 0, "max-calls", OPT_INT, &o.max_calls, "N",
	  "calls served at once, each on a thread (default 1000; follows take at most half); "
	  "more get RESOURCE_EXHAUSTED", NULL, NULL },
	{ 'q', "quiet", OPT_BOOL, &o.quiet, NULL, "print nothing but errors", NULL, NULL },
	{ 0, "retain-size", OPT_SIZE, &o.retain_size, "SIZE",
	  "keep the history (database and WAL) within SIZE, the oldest records removed first "
	  "(default: 10% of its file system, at most 4G; 0: no bound)", NULL, "ELOG_RETAIN_SIZE" },
	{ 0, "retain-age", OPT_DURATION, &o.retain_age_ns, "DURATION",
	  "remove records that arrived longer than DURATION ago (default: kept)", NULL,
	  "ELOG_RETAIN_AGE" },
	/* options of the services: each service adds its block below this line */
	{ 0, "log-dir", OPT_STRING, &o.log_dir, "DIR",
	  "logging.v1 session files go here (default: sessions/ beside the history)", "dir", "LOG_DIR" },
	{ 0, "log-max-size", OPT_SIZE, &o.log_max_size, "SIZE",
	  "rotate a session file before it passes this size (default 64M)", NULL,
	  "LOG_MAX_SIZE_BYTES" },
	{ 0, "log-max-age", OPT_DURATION, &o.log_max_age_ns, "DURATION",
	  "rotate a session file this old (default 1h)", NULL, "LOG_MAX_AGE_SECONDS" },
	{ 0, "log-idle", OPT_DURATION, &o.log_idle_ns, "DURATION",
	  "rotate and close a session file idle this long (default 5m)", NULL, "LOG_IDLE_SECONDS" },
	{ 0, "log-flush-interval", OPT_DURATION_MS, &o.log_flush_ns, "DURATION",
	  "fsync session files this often (default 200ms)", NULL, "LOG_FLUSH_INTERVAL_MS" },
	{ 0, "log-compression", OPT_STRING, &o.log_compression, "MODE",
	  "compress rotated session files: gzip (default) or none", "gzip|none", "LOG_COMPRESSION" },
	{ 0, "log-backup-count", OPT_INT, &o.log_backups, "N",
	  "keep the newest N rotated files per session (default: all)", NULL, "LOG_BACKUP_COUNT" },
	{ 0, "log-queue", OPT_INT, &o.log_queue, "FRAMES",
	  "frames a session may hold not yet fsynced before RESOURCE_EXHAUSTED (default 65536)", NULL,
	  "LOG_QUEUE_FRAMES" },
	{ 0, "notify-redis", OPT_STRING, &o.notify_redis, "URL",
	  "announce each finished session log segment on Redis: redis://[:PASSWORD@]HOST[:PORT][/DB]",
	  NULL, "REDIS_URL" },
	{ 0, "notify-redis-list", OPT_STRING, &o.notify_redis_list, "KEY",
	  "the Redis list segment announcements are pushed to (default elog:segments)", NULL,
	  "LOG_REDIS_LIST" },
	{ 0, "notify-redis-queue", OPT_INT, &o.notify_redis_queue, "N",
	  "announcements held while Redis is unreachable; more are dropped (default 1000)", NULL,
	  NULL },
	{ 0, "auth", OPT_BOOL, &o.auth, NULL,
	  "require an API key (see 'elog keys') on every call but ValidateApiKey", NULL, NULL },
	{ 0, "tls-cert", OPT_STRING, &o.tls_cert, "FILE",
	  "serve TLS with this certificate chain (PEM)", "file", "ELOG_TLS_CERT" },
	{ 0, "tls-key", OPT_STRING, &o.tls_key, "FILE",
	  "private key of --tls-cert (PEM)", "file", "ELOG_TLS_KEY" },
	{ 0, "tls-client-ca", OPT_STRING, &o.tls_client_ca, "FILE",
	  "require client certificates signed by the CAs in FILE (mutual TLS)", "file",
	  "ELOG_TLS_CLIENT_CA" },
	{ 0, "redact", OPT_BOOL, &o.redact, NULL,
	  "redact secrets from every record before it is kept (the default); --no-redact keeps "
	  "records as they arrive, secrets included", NULL, NULL },
	{ 0, "redact-rules", OPT_STRING, &o.redact_rules, "FILE",
	  "redaction rules to add, and built-ins to turn on or off (README, \"Redaction\"; try "
	  "them with 'elog redact --test')", "file", NULL },
	{ 0, "redact-on", OPT_STRING, &o.redact_on, "RULE,...",
	  "turn these redaction rules on (email, ipv4, ipv6, phone are off by default)", NULL,
	  NULL },
	{ 0, "redact-off", OPT_STRING, &o.redact_off, "RULE,...",
	  "turn these redaction rules off", NULL, NULL },
	{ 0, "forward", OPT_STRING, &o.forward, "URL",
	  "send every committed record to an OpenTelemetry collector as OTLP logs: "
	  "otlp://HOST:PORT, or otlps://HOST:PORT over TLS", NULL, NULL },
	{ 0, "forward-ca", OPT_STRING, &o.forward_ca, "FILE",
	  "check the otlps:// collector's certificate with these CAs (default: the system's)",
	  "file", NULL },
	{ 0, "forward-header", OPT_LIST, &o.forward_headers, "KEY=VALUE",
	  "send this gRPC metadata on every forward call (repeatable)", NULL, NULL },
	/* serve --cluster (src/outbound/cluster.c) */
	{ 0, "cluster", OPT_STRING, &o.cluster, "URLS",
	  "publish every record to the NATS JetStream cluster at nats://HOST:PORT[,nats://...]",
	  NULL, "ELOG_CLUSTER" },
	{ 0, "node", OPT_STRING, &o.node, "NAME",
	  "this box's name in the cluster (default: the host name)", NULL, "ELOG_NODE" },
	{ 0, "cluster-creds", OPT_STRING, &o.cluster_creds, "FILE",
	  "NATS credentials file (user JWT and nkey seed)", "file", NULL },
	{ 0, "cluster-user", OPT_STRING, &o.cluster_user, "USER",
	  "NATS user name (with --cluster-password-file); a token comes from $ELOG_CLUSTER_TOKEN",
	  NULL, NULL },
	{ 0, "cluster-password-file", OPT_STRING, &o.cluster_password_file, "FILE",
	  "the NATS password: the first line of FILE", "file", NULL },
	{ 0, "cluster-ca", OPT_STRING, &o.cluster_ca, "FILE",
	  "connect to NATS over TLS, trusting the CAs in FILE (PEM)", "file", NULL },
	{ 0, "cluster-replicas", OPT_INT, &o.cluster_replicas, "N",
	  "replicas of the stream when serve creates it (default 3, fewer if the cluster is "
	  "smaller)", NULL, NULL },
	{ 0, "cluster-stream", OPT_STRING, &o.cluster_stream, "NAME",
	  "the JetStream stream (default ELOG; subjects elog.>)", NULL, NULL },
	{ 0, "aggregate", OPT_BOOL, &o.aggregate, NULL,
	  "also bring every other node's records from the stream into this history", NULL, NULL },
	{ 0, "http", OPT_LIST, &o.http, "ADDR",
	  "serve the web view, its JSON API and the LeadGen WebSocket on ADDR, HOST:PORT "
	  "(repeatable; default " ELOG_WEB_DEFAULT_ADDR ", skipped with a warning when taken; "
	  "none: off); HTTPS with --tls-cert", NULL, NULL },
	OPT_END
};

/* serve --cluster: the publisher (and aggregator); NULL when off */
static struct elog_cluster *cluster;

static void cluster_report(void *arg, const char *msg)
{
	(void)arg;
	if (!o.quiet)
		fprintf(stderr, "elog serve: %s\n", msg);
}

static void cluster_state(void *arg, struct elog_svc_cluster *out)
{
	struct elog_cluster_stats st;

	(void)arg;
	elog_cluster_stats(cluster, &st);
	out->connected = st.connected;
	out->cursor = st.cursor;
	out->behind = st.behind;
	out->behind_ns = st.behind_ns;
	out->published = st.published;
	out->aggregated = st.aggregated;
}

/* Starts the cluster threads when --cluster is set; 0 or an exit status. */
static int cluster_start(struct elog_svc *svc, struct elog_hub *hub, const char *db)
{
	extern const struct command cmd_serve;
	struct elog_cluster_opts co;
	struct elog_err err;
	char host[256], *password = NULL;
	int rc;

	if (!o.cluster || !*o.cluster) {
		if (o.aggregate)
			return cli_usage_error(&cmd_serve, "--aggregate needs --cluster");
		return 0;
	}
	if (o.cluster_replicas < 0 || o.cluster_replicas > 5)
		return cli_usage_error(&cmd_serve, "invalid --cluster-replicas '%ld' (1 to 5)",
				       o.cluster_replicas);
	memset(&co, 0, sizeof(co));
	if (!o.node || !*o.node) {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = 0;
	}
	elog_err_clear(&err);
	if (o.cluster_password_file) {
		if (elog_read_file(o.cluster_password_file, &password, &err) != 0) {
			cli_error("--cluster-password-file: %s", err.msg);
			return EXIT_FAIL;
		}
		password[strcspn(password, "\r\n")] = 0;
	}
	co.servers = o.cluster;
	co.node = o.node && *o.node ? o.node : host;
	co.stream = o.cluster_stream;
	co.replicas = (int)o.cluster_replicas;
	co.max_bytes = o.retain_size > 0 ? o.retain_size : 0;   /* README "Several machines" */
	co.max_age_ns = o.retain_age_ns;
	co.creds_file = o.cluster_creds;
	co.user = o.cluster_user;
	co.password = password;
	co.token = getenv("ELOG_CLUSTER_TOKEN");
	co.ca_file = o.cluster_ca;
	co.db_path = db;
	co.hub = hub;
	co.aggregate = o.aggregate;
	co.report = cluster_report;
	rc = elog_cluster_start(&cluster, &co, &err);
	free(password);
	if (rc != 0)
		return cli_usage_error(&cmd_serve, "%s", err.msg);
	svc->cluster_state = cluster_state;
	svc->cluster_node = xstrdup(co.node);
	return 0;
}

/* Raises the soft limit on open files to the hard limit (capped at 1M): every connection
 * takes a descriptor, and the 1024 many systems start with is soon reached. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20))
		rl.rlim_max = 1u << 20;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

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

/* strerror(e), starting lowercase ("permission denied"). */
static const char *why(int e, char *buf, size_t n)
{
	snprintf(buf, n, "%s", strerror(e));
	buf[0] = (char)tolower((unsigned char)buf[0]);
	return buf;
}

/*
 * One serve per history: an exclusive flock(2) on "DB.lock" beside it (created 0600, never
 * removed; it holds the pid of the serve that has it), kept until serve exits. Readers
 * (`elog logs --db`, `elog export --db`) take no part in it. Returns the descriptor, or -1
 * after saying why not.
 */
static int lock_history(const char *db)
{
	struct elog_buf path = ELOG_BUF_INIT;
	char dir[4096], buf[128], pid[32];
	int e, fd;
	ssize_t n;

	e = elog_make_parent_dirs(db, dir, sizeof(dir));
	if (e) {
		cli_error("cannot open history '%s': cannot create directory '%s': %s", db, dir,
			  why(e, buf, sizeof(buf)));
		return -1;
	}
	elog_buf_addf(&path, "%s.lock", db);
	fd = open(path.data, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		cli_error("cannot open history '%s': cannot create its lock file '%s': %s", db,
			  path.data, why(errno, buf, sizeof(buf)));
		elog_buf_release(&path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		e = errno;
		if (e == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			cli_error("history '%s' is in use by another elog serve%s%s (one serve per "
				  "history; lock file '%s')", db, *pid ? ", pid " : "", pid, path.data);
		} else {
			cli_error("cannot lock history '%s' (lock file '%s'): %s", db, path.data,
				  why(e, buf, sizeof(buf)));
		}
		close(fd);
		elog_buf_release(&path);
		return -1;
	}
	/* the lock is what counts; the pid is only for the message of a second serve */
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == 0)
		n = pwrite(fd, pid, (size_t)n, 0);
	elog_buf_release(&path);
	return fd;
}

/* The session log options; 0 or EXIT_USAGE. dir is malloc'd. */
static int log_settings(const char *db, struct elog_slog_opts *so, char **dir)
{
	extern const struct command cmd_serve;

	memset(so, 0, sizeof(*so));
	if (o.log_dir && *o.log_dir) {
		*dir = xstrdup(o.log_dir);
	} else {
		const char *slash = strrchr(db, '/');
		struct elog_buf b = ELOG_BUF_INIT;

		if (slash)
			elog_buf_addf(&b, "%.*s/sessions", (int)(slash - db), db);
		else
			elog_buf_adds(&b, "sessions");
		*dir = elog_buf_detach(&b);
	}
	so->dir = *dir;
	so->max_size = o.log_max_size;
	so->max_age_ns = o.log_max_age_ns;
	so->idle_ns = o.log_idle_ns;
	so->flush_interval_ns = o.log_flush_ns;
	so->backup_count = o.log_backups > 1000000000 ? 1000000000 : o.log_backups;
	so->queue_max = o.log_queue > 100000000 ? 100000000 : (size_t)o.log_queue;
	if (!o.log_compression || strcmp(o.log_compression, "gzip") == 0)
		so->compression = ELOG_SLOG_GZIP;
	else if (strcmp(o.log_compression, "none") == 0)
		so->compression = ELOG_SLOG_NONE;
	else
		return cli_usage_error(&cmd_serve, "invalid --log-compression '%s' (gzip or none)",
				       o.log_compression);
	return 0;
}

/* Segment announcements (serve --notify-redis); NULL when off. */
static struct elog_rnotify *notifier;

static void notify_report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "elog serve: %s\n", msg);
}

static void notify_segment(void *arg, const struct elog_slog_segment *seg)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_slog_segment_json(&b, seg);
	elog_rnotify_push(arg, b.data, b.len);
	elog_buf_release(&b);
}

/* Starts the notifier when a Redis URL is set and hooks it into so; 0 or an exit status. */
static int notify_start(struct elog_slog_opts *so)
{
	extern const struct command cmd_serve;
	struct elog_rnotify_opts no;
	struct elog_err err;

	if (!o.notify_redis || !*o.notify_redis)
		return 0;
	memset(&no, 0, sizeof(no));
	no.url = o.notify_redis;
	no.list = o.notify_redis_list;
	no.queue_max = o.notify_redis_queue > 10000000 ? 10000000 : (size_t)o.notify_redis_queue;
	no.report = notify_report;
	elog_err_clear(&err);
	if (elog_rnotify_open(&notifier, &no, &err) != 0)
		return cli_usage_error(&cmd_serve, "%s", err.msg);
	so->on_segment = notify_segment;
	so->on_segment_arg = notifier;
	return 0;
}

/* After the session log is closed: pushes what is left (1 s at most), reports the counters. */
static void notify_stop(int report)
{
	struct elog_rnotify_stats st;

	if (!notifier)
		return;
	elog_rnotify_close(notifier, 1000000000LL, &st);
	notifier = NULL;
	if (report)
		fprintf(stderr, "elog serve: redis notifications: %llu sent, %llu dropped, "
			"%llu failed attempts\n", (unsigned long long)st.sent,
			(unsigned long long)st.dropped, (unsigned long long)st.failures);
}

/* The web listener's warnings (the default port taken), printed once serve has started: a
 * serve that fails to start says only why. */
static struct elog_buf web_warnings = ELOG_BUF_INIT;

static void web_report(void *ctx, const char *msg)
{
	(void)ctx;
	elog_buf_addf(&web_warnings, "elog serve: %s\n", msg);
}

/* Binds the --http addresses (the default one when none is given; "none": off). 0 or an exit
 * status; *web is NULL when nothing listens. */
static int web_listen(const char *db, struct elog_web **web, struct elog_buf *bound)
{
	extern const struct command cmd_serve;
	static const char *def[] = { ELOG_WEB_DEFAULT_ADDR };
	struct elog_web_opts wo;
	struct elog_err err;
	size_t i;
	int rc;

	*web = NULL;
	memset(&wo, 0, sizeof(wo));
	for (i = 0; i < o.http.n; i++)
		if (strcmp(o.http.items[i], "none") == 0) {
			if (o.http.n > 1)
				return cli_usage_error(&cmd_serve, "--http none cannot be used with "
						       "another --http address");
			return 0;
		}
	wo.addrs = o.http.n ? o.http.items : def;
	wo.naddrs = o.http.n ? o.http.n : 1;
	wo.first_is_default = o.http.n == 0;
	wo.tls_cert = o.tls_cert;
	wo.tls_key = o.tls_key;
	wo.auth = o.auth;
	wo.db_path = db;
	wo.report = web_report;
	elog_err_clear(&err);
	rc = elog_web_listen(web, &wo, bound, &err);
	if (rc == ELOG_EUSAGE)
		return cli_usage_error(&cmd_serve, "%s", err.msg);
	if (rc != 0) {
		cli_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return 0;
}

static int run_serve(int argc, char **argv)
{
	extern const struct command cmd_serve;
	struct elog_svc svc;
	struct elog_hub *hub = NULL;
	struct elog_forwarder *fwd = NULL;
	struct rpc_server *srv = NULL;
	struct elog_buf bound = ELOG_BUF_INIT, httpbound = ELOG_BUF_INIT;
	struct elog_web *web = NULL;
	struct elog_err err;
	struct elog_slog_opts so;
	struct elog_hub_opts ho;
	char **rest, *db, *logdir = NULL;
	int nrest, rc, sig, started = 0, lock_fd = -1;
	size_t i;
	sigset_t sigs;
	struct elog_redactor *redactor = NULL;

	memset(&ho, 0, sizeof(ho));
	rc = cli_parse(&cmd_serve, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 0) {
		rc = cli_usage_error(&cmd_serve, "unexpected argument '%s'", rest[0]);
		free(rest);
		return rc;
	}
	free(rest);
	if (!o.tls_cert != !o.tls_key)
		return cli_usage_error(&cmd_serve, "--tls-cert and --tls-key go together");
	if (o.tls_client_ca && !o.tls_cert)
		return cli_usage_error(&cmd_serve, "--tls-client-ca needs --tls-cert and --tls-key");
	if (o.max_calls < 2 || o.max_calls > 100000)
		return cli_usage_error(&cmd_serve, "invalid --max-calls '%ld' (2 to 100000)", o.max_calls);
	if (o.listen.n == 0) {
		static const char *def[] = { ELOG_DEFAULT_SERVER };

		o.listen.items = def;
		o.listen.n = 1;
	}
	if (o.retain_size > 0 && o.retain_size < ELOG_RETAIN_MIN_BYTES)
		return cli_usage_error(&cmd_serve, "invalid --retain-size '%lld' (0 for no bound, "
				       "else at least 8M)", (long long)o.retain_size);
	db = o.db ? xstrdup(o.db) : cli_default_db();
	ho.retain_bytes = o.retain_size >= 0 ? o.retain_size : elog_retention_default_bytes(db);
	ho.retain_age_ns = o.retain_age_ns;
	/* every setting is checked before anything is made */
	rc = log_settings(db, &so, &logdir);
	if (rc == 0)
		rc = cli_redactor(&cmd_serve, o.redact, o.redact_rules, o.redact_on, o.redact_off,
				  &redactor);
	if (rc) {
		free(logdir);
		free(db);
		return rc;
	}
	if (!redactor)
		fprintf(stderr, "elog serve: WARNING: --no-redact: redaction is OFF. Passwords, "
			"tokens, keys and card numbers in the logs will be stored as they arrive, in "
			"the history, its WAL, the session files and every export.\n");
	so.redact = redactor;
	ho.redact = redactor;

	/* Signals are taken by sigwait in this thread only; every thread started below
	 * inherits the blocked mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	/* past a file-size limit a write fails with EFBIG (reported like a full disk) */
	signal(SIGXFSZ, SIG_IGN);

	raise_nofile();
	rpc_set_log_sink(grpc_log);
	elog_err_clear(&err);

	/* Listen first: an address that is wrong or taken is reported before any file is made. */
	rpc_server_new(&srv, &err);
	rpc_server_set_max_calls(srv, (int)o.max_calls);
	for (i = 0; i < o.listen.n; i++) {
		int port = 0;
		struct rpc_tls_server tls = { o.tls_cert, o.tls_key, o.tls_client_ca };

		rc = rpc_server_listen(srv, o.listen.items[i], o.tls_cert ? &tls : NULL, &port, &err);
		if (rc != 0) {
			if (rc == ELOG_EUSAGE)
				rc = cli_usage_error(&cmd_serve, "--listen: %s", err.msg);
			else {
				cli_error("%s", err.msg);
				rc = EXIT_FAIL;
			}
			goto fail_start;
		}
		bound_address(o.listen.items[i], port, &bound);
		if (!o.tls_cert && !rpc_addr_is_loopback(o.listen.items[i]))
			fprintf(stderr, "elog serve: warning: listening on '%s' in plaintext, without "
				"TLS: logs cross the network in clear and anyone who reaches the port "
				"can read and write them; API keys from other hosts are refused "
				"(use --tls-cert and --tls-key)\n", o.listen.items[i]);
	}

	rc = web_listen(db, &web, &httpbound);
	if (rc != 0)
		goto fail_start;

	/* One serve per history, then the history. */
	lock_fd = lock_history(db);
	if (lock_fd < 0) {
		rc = EXIT_FAIL;
		goto fail_start;
	}
	if (elog_hub_open(&hub, db, &ho, &err) != 0) {
		cli_error("%s", err.msg);
		rc = EXIT_FAIL;
		goto fail_start;
	}
	memset(&svc, 0, sizeof(svc));
	svc.hub = hub;
	svc.db_path = db;
	svc.heartbeat_ttl_ns = o.heartbeat_ttl_ns;
	{
		int lrc = notify_start(&so);

		if (lrc == 0 && elog_slog_open(&svc.slog, &so, &err) != 0) {
			cli_error("%s", err.msg);
			lrc = EXIT_FAIL;
		}
		if (lrc != 0) {
			rc = lrc;
			goto out;
		}
	}
	svc.auth_required = o.auth;
	rc = cluster_start(&svc, hub, db);
	if (rc != 0)
		goto out;

	/* services: one registration line each */
	elog_svc_auth_register(srv, &svc);
	elog_svc_hub_register(srv, &svc);
	elog_svc_flowctl_register(srv, &svc);
	elog_svc_logsvc_register(srv, &svc);
	elog_svc_relay_register(srv, &svc);
	elog_svc_otlp_register(srv, &svc);
	elog_svc_readspans_register(srv, &svc);
	if (o.forward) {
		struct elog_forward_opts fo = { o.forward, o.forward_ca,
			(const char *const *)o.forward_headers.items, o.forward_headers.n, db, hub };

		if (elog_forward_start(&fwd, &fo, &err) != 0) {
			rc = err.code == ELOG_EUSAGE ? cli_usage_error(&cmd_serve, "--forward: %s", err.msg)
						     : (cli_error("%s", err.msg), EXIT_FAIL);
			goto out;
		}
	} else if (o.forward_ca || o.forward_headers.n) {
		rc = cli_usage_error(&cmd_serve, "--forward-ca and --forward-header need --forward");
		goto out;
	}
	if (rpc_server_start(srv, &err) != 0) {
		cli_error("%s", err.msg);
		rc = EXIT_FAIL;
		goto out;
	}
	started = 1;
	if (web && elog_web_run(web, hub, &svc, &err) != 0) {
		cli_error("%s", err.msg);
		rc = EXIT_FAIL;
		goto out;
	}
	if (web_warnings.len)
		fputs(web_warnings.data, stderr);
	if (!o.quiet) {
		struct elog_buf shown = ELOG_BUF_INIT;   /* one line: "a:1, b:2" */

		for (i = 0; i + 1 < bound.len; i++)
			if (bound.data[i] == '\n')
				elog_buf_adds(&shown, ", ");
			else
				elog_buf_addc(&shown, bound.data[i]);
		for (i = 0; i + 1 < httpbound.len; i++) {
			if (i == 0)
				elog_buf_adds(&shown, "; web view on ");
			if (httpbound.data[i] == '\n')
				elog_buf_adds(&shown, ", ");
			else
				elog_buf_addc(&shown, httpbound.data[i]);
		}
		fprintf(stderr, "elog serve: history '%s', listening on %s%s%s\n", db,
			shown.data ? shown.data : "",
			o.tls_cert ? (o.tls_client_ca ? " (mutual TLS)" : " (TLS)") : "",
			o.auth ? ", API key required" : "");
		elog_buf_release(&shown);
	}
	/* gRPC's host:port lines first (scripts read the first line), then the web's URLs */
	if (httpbound.len)
		elog_buf_add(&bound, httpbound.data, httpbound.len);
	if (o.ready_file && cli_write_ready_file(o.ready_file, bound.data) != 0) {
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
	/* The one teardown, in one order: calls stop (followers are ended so their calls can
	 * finish), then what the calls used: session files (their last segments announced),
	 * the Redis notifier, the registry, the key checker; the history last, then its lock. */
	if (started)
		rpc_server_stop_accepting(srv);
	elog_hub_stop_followers(hub);
	elog_web_stop(web);
	rpc_server_shutdown(srv, 2000);
	elog_svc_logsvc_free(&svc);
	notify_stop(!o.quiet);
	elog_svc_flowctl_free(&svc);
	elog_svc_auth_free(&svc);
	elog_forward_stop(fwd);       /* before the hub: it saves its cursor through it */
	elog_cluster_stop(cluster);   /* the aggregator commits through the hub: before it */
	cluster = NULL;
	free(svc.cluster_node);
	{
		struct elog_hub_stats st;

		elog_hub_stats(hub, &st);
		if (!o.quiet && rc == EXIT_OK)
			fprintf(stderr, "elog serve: %llu records committed in %llu transactions "
				"(%llu batches received) this run; %llu went to slow followers from the "
				"history\n",
				(unsigned long long)st.committed, (unsigned long long)st.transactions,
				(unsigned long long)st.submissions,
				(unsigned long long)st.dropped_for_followers);
		if (rpc_server_shed_connections())
			fprintf(stderr, "elog serve: %lu connections were closed at once for want of a "
				"file descriptor (raise the hard limit: ulimit -Hn)\n",
				rpc_server_shed_connections());
	}
	elog_hub_close(hub);
	elog_redactor_free(redactor);
	close(lock_fd);
	if (!o.quiet && rc == EXIT_OK)
		fprintf(stderr, "elog serve: history closed\n");
	goto release;

fail_start:
	/* serve did not start: undo what was made so far, before any call or file of the
	 * history (the full teardown above is for a serve that ran) */
	elog_web_stop(web);
	rpc_server_shutdown(srv, 0);
	if (lock_fd >= 0)
		close(lock_fd);
	elog_redactor_free(redactor);
release:
	elog_buf_release(&bound);
	elog_buf_release(&httpbound);
	elog_buf_release(&web_warnings);
	free(o.listen.cap ? o.listen.items : NULL);
	free(o.http.cap ? o.http.items : NULL);
	free(logdir);
	free(db);
	return rc;
}

const struct command cmd_serve = {
	.name = "serve",
	.summary = "run the local log hub",
	.usage = "[--listen ADDR]... [--http ADDR|none]... [--db PATH] [--ready-file PATH] "
		 "[--auth] [--tls-cert FILE --tls-key FILE]",
	.options = serve_options,
	.run = run_serve,
	.description =
		"Runs the hub: a gRPC server that accepts logs over the Electrician relay, the "
		"logging.v1 session log service, the flowctl control plane and elog's own protocol, "
		"commits them to a SQLite history in batched transactions, and streams them live to "
		"followers. A record is acknowledged to its sender only once committed.\n"
		"Every listen address also answers the OpenTelemetry collector services (OTLP over "
		"gRPC): LogsService/Export and TraceService/Export store logs and spans as mapped "
		"below (gzip-compressed requests too), so any OpenTelemetry SDK's OTLP/gRPC exporter "
		"can send to elog; MetricsService/Export answers UNIMPLEMENTED (metrics are not "
		"kept). A call is answered once its records are committed; a record that cannot be "
		"stored (attributes or service.name over 1 MiB) is counted in partial_success. With "
		"--auth an OTLP call needs a key in x-junjo-api-key, x-api-key or authorization: "
		"Bearer. ingestion.InternalIngestionService/ReadSpans streams the kept spans after a "
		"key, in commit order\n"
		"OTLP over HTTP: the --http listener answers POST /v1/logs and POST /v1/traces, so "
		"'serve --http 127.0.0.1:4318' is the endpoint an SDK's OTLP/HTTP exporter uses by "
		"default. The body is an ExportLogsServiceRequest or ExportTraceServiceRequest as "
		"Content-Type application/x-protobuf, or as application/json (OTLP/JSON: lowerCamelCase "
		"or original field names, trace and span ids in hex, other bytes in base64, 64-bit "
		"integers as strings or numbers, enums as numbers; unknown fields are ignored), "
		"optionally Content-Encoding gzip or chunked; the mapping and the commit are those of "
		"the gRPC services. The answer, once the records are committed, is 200 with an "
		"Export*ServiceResponse in the request's encoding (partial_success when records were "
		"refused); an undecodable body gets 400 with a google.rpc.Status {code, message}, "
		"another content type or encoding 415, a body over 16 MiB (compressed or not) 413, a "
		"failed commit 503. With --auth the key goes in x-junjo-api-key, x-api-key or "
		"Authorization: Bearer; Host and Origin are checked as for the API (SDKs send no "
		"Origin).\n"
		"With --forward, every committed record is also sent to an OpenTelemetry collector "
		"as OTLP logs (the inverse mapping), in batches, from a cursor kept in the history: "
		"a collector that is down or slow never slows ingest, a failed call is retried after "
		"a backoff, and a restart resumes after the last batch the collector acknowledged (a "
		"batch is sent twice only if serve died between the collector's reply and saving the "
		"cursor). elog ps shows how far behind it is.\n"
		"SIGINT or SIGTERM: stop accepting calls, commit what was received, end followers' "
		"calls, close the history and exit 0.\n"
		"The web view: serve also answers HTTP and WebSocket on --http (default "
		ELOG_WEB_DEFAULT_ADDR "; when that port is taken serve says so and runs without it; an "
		"address given with --http must bind or serve exits 1; --http none: off). "
		"http://127.0.0.1:8765/ is a live page of the logs, embedded in elog. With --tls-cert "
		"it is HTTPS and WSS. With --auth every page, API call and socket needs an API key: the "
		"page shows a login form (POST /login sets an HttpOnly, SameSite=Strict cookie), and "
		"scripts send 'Authorization: Bearer KEY' or ?key=KEY. API calls and WebSocket "
		"handshakes whose Origin is not this server's get 403, and those whose Host is neither "
		"the listening address nor (on loopback) localhost get 421, so another web page cannot "
		"read the logs through the browser (DNS rebinding included). --ready-file lists the "
		"gRPC host:port lines first, then one http://HOST:PORT line per web listener.\n"
		"The JSON API: GET /api/components gives {\"components\": [{\"name\", \"count\", "
		"\"last_seen\", \"color\": \"#rrggbb\", \"ansi\": N}]} with the terminal's colours. "
		"GET /api/records?before=ID|after=ID&limit=N&c=A,B&level=L&grep=RE&since=T&until=T "
		"gives {\"records\": [REC...], \"more\": bool}, ascending by id: with before, the newest "
		"N records older than ID; with after, the oldest N newer than ID; with neither, the "
		"newest (limit at most 1000, default 200; level is a minimum; grep and the times as "
		"in elog logs). REC is {\"id\", \"ts\" (RFC 3339, milliseconds, UTC), \"ts_ns\", "
		"\"component\", \"level\", \"msg\", \"fields\": {...}, \"source\", \"stream\" (when "
		"known)}. GET /api/context?id=ID&n=N gives the N records before ID, ID and the N after "
		"from every component. GET /api/export?format=jsonl|csv with the same filters is a "
		"download in elog export's formats. The WebSocket /api/follow?after=ID with the same "
		"filters sends {\"type\": \"records\", \"records\": [...]} as records commit; a socket "
		"that fell behind gets {\"type\": \"gap\", \"message\", \"from\", \"to\"} and that "
		"range read back from the history; reconnecting with after set to the last id resumes "
		"with no gap and no duplicate. Errors are {\"error\": \"...\"} with 400, 401, 403, 404, "
		"421 or 503.\n"
		"The LeadGen contract: a WebSocket client of ws://HOST:8765/ (the root path) receives "
		"every new record as one text message {\"timestamp\": \"2024-03-21T10:30:00.123Z\", "
		"\"source\", \"stream\": \"stdout\"|\"stderr\" (the record's stream field, else stdout), "
		"\"content\": the message, \"level\": \"DEBUG\"|\"INFO\"|\"WARNING\"|\"ERROR\" (trace "
		"and debug are DEBUG, error and fatal ERROR), \"service_name\": the component, "
		"\"metadata\": the fields, \"context\": {\"service_type\": the flowctl component type or "
		"null}}. It may send {\"type\": \"analysis_request\", \"request_id\": \"id\", "
		"\"time_range\": 3600, \"service\": \"backend\", \"level\": \"ERROR\"} (service and "
		"level optional; time_range in seconds back from now, at most 31 days, default 3600) "
		"and gets one {\"type\": \"analysis_response\", \"request_id\", \"time_range\", "
		"\"total\", \"truncated\", \"by_level\": {\"DEBUG\", \"INFO\", \"WARNING\", \"ERROR\"}, "
		"\"by_service\": {component: count}, \"errors_per_minute\": [{\"minute\", \"count\"}] "
		"(minutes with errors), \"top_patterns\": [{\"pattern\": \"request <*> failed after <*> "
		"ms\", \"count\", \"level\", \"service\", \"first\", \"last\", \"example\"}]} (the ten "
		"commonest; messages that differ only in numbers, ids, hex, quoted values and paths "
		"share a pattern, mined in one pass in the manner of Drain; at most the newest 200000 "
		"records of the range are read). Anything else gets {\"type\": \"error\", "
		"\"request_id\", \"error\": \"...\"} and the connection stays open.",
	.examples =
		"elog serve\n"
		"run the hub on " ELOG_DEFAULT_SERVER ", keeping the default history\n"
		"elog serve --listen 127.0.0.1:0 --db ./history.db --ready-file ./ready\n"
		"run a hub on a free port with its history in the current directory; ./ready gets its "
		"address once it accepts calls\n",
	.files = "$XDG_STATE_HOME/elog/history.db\tthe default history\n",
	.table_title = "OPENTELEMETRY MAPPING",
	.table =
		"component\tthe resource attribute service.name, else service.namespace, else the "
		"instrumentation scope name, else otel\n"
		"level\tby severity_number: 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20 error, "
		"21-24 fatal; else severity_text read as a level name; else info\n"
		"msg\tthe body: a string as it is, any other value as compact JSON (bytes as base64); "
		"no body: empty\n"
		"fields\tthe log attributes, the resource attributes as resource.KEY, trace_id and "
		"span_id in hex when set, event_name when set (a key given twice keeps its last value)\n"
		"time\tthe time_unix_nano, else observed_time_unix_nano, else the arrival time\n"
		"source\tthe word otlp\n"
		"span\tone record per span of TraceService/Export: component as above, msg "
		"\"span NAME 12.3 ms\", level error when its status is error (else info), time its "
		"start, fields its attributes, resource.KEY, trace_id, span_id, parent_span_id, "
		"span_kind, status and status_message; source otlp-span. The span and its resource "
		"are also kept as received, for ReadSpans\n",
};
