/*
 * cli.c — option parsing, help, errors and client settings shared by every command.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "cli.h"
#include "common/err.h"
#include "store/keys.h"
#include "common/record.h"
#include "common/timeparse.h"
#include "common/util.h"

struct client_settings client_cfg = { .timeout_s = 5 };

const struct option client_options[] = {
	{ 's', "server", OPT_STRING, &client_cfg.server, "ADDR",
	  "hub address (default " ELOG_DEFAULT_SERVER ")", NULL, "ELOG_SERVER" },
	{ 0, "api-key-file", OPT_STRING, &client_cfg.api_key_file, "FILE",
	  "read the API key from FILE (else $ELOG_API_KEY)", "file", "ELOG_API_KEY_FILE" },
	{ 0, "tls-ca", OPT_STRING, &client_cfg.tls_ca, "FILE",
	  "connect with TLS, trusting the CA certificates in FILE", "file", "ELOG_TLS_CA" },
	{ 0, "tls-cert", OPT_STRING, &client_cfg.tls_cert, "FILE",
	  "client certificate for mutual TLS", "file", "ELOG_TLS_CERT" },
	{ 0, "tls-key", OPT_STRING, &client_cfg.tls_key, "FILE",
	  "private key of the client certificate", "file", "ELOG_TLS_KEY" },
	{ 0, "tls-server-name", OPT_STRING, &client_cfg.tls_server_name, "NAME",
	  "expect NAME in the server certificate", NULL, "ELOG_TLS_SERVER_NAME" },
	{ 0, "timeout", OPT_INT, &client_cfg.timeout_s, "SECONDS",
	  "give up connecting after SECONDS (default 5; 0: one attempt, at most 1 s)", NULL, NULL },
	OPT_END
};

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("elog: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "elog %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: elog %s %s\ntry 'elog %s --help' for more\n", cmd->name,
		cmd->usage, cmd->name);
	return EXIT_USAGE;
}

int cli_exit_of(int rc)
{
	switch (rc) {
	case ELOG_OK:
		return EXIT_OK;
	case ELOG_EUSAGE:
		return EXIT_USAGE;
	case ELOG_EUNAVAIL:
	case ELOG_EPROTO:
		return EXIT_UNREACHABLE;
	default:
		return EXIT_FAIL;
	}
}

static void list_add(struct str_list *l, const char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
	}
	l->items[l->n++] = s;
}

static const struct option *find_long(const struct option *tabs[], const char *name, size_t len,
				      int *negated)
{
	int t;

	*negated = 0;
	for (t = 0; tabs[t]; t++) {
		const struct option *o;

		for (o = tabs[t]; o->long_name; o++)
			if (strlen(o->long_name) == len && strncmp(o->long_name, name, len) == 0)
				return o;
	}
	if (len > 3 && strncmp(name, "no-", 3) == 0) {
		for (t = 0; tabs[t]; t++) {
			const struct option *o;

			for (o = tabs[t]; o->long_name; o++)
				if (o->type == OPT_BOOL && strlen(o->long_name) == len - 3 &&
				    strncmp(o->long_name, name + 3, len - 3) == 0) {
					*negated = 1;
					return o;
				}
		}
	}
	return NULL;
}

static const struct option *find_short(const struct option *tabs[], char c)
{
	int t;

	for (t = 0; tabs[t]; t++) {
		const struct option *o;

		for (o = tabs[t]; o->long_name; o++)
			if (o->short_name == c)
				return o;
	}
	return NULL;
}

/* "--NAME" or, for a value taken from the environment, "--NAME (from $ENV)". */
static int bad_value(const struct command *cmd, const struct option *o, const char *v,
		     int from_env, const char *what)
{
	return cli_usage_error(cmd, "invalid value '%s' for --%s%s%s%s: %s", v, o->long_name,
			       from_env ? " (from $" : "", from_env ? o->env : "",
			       from_env ? ")" : "", what);
}

static int set_value(const struct command *cmd, const struct option *o, const char *v,
		     int from_env)
{
	char *end;
	int64_t n;
	struct elog_err err;

	switch (o->type) {
	case OPT_BOOL:
		*(int *)o->value = 1;
		return 0;
	case OPT_STRING:
	case OPT_OPTIONAL:
		*(const char **)o->value = v;
		return 0;
	case OPT_LIST:
		list_add((struct str_list *)o->value, v);
		return 0;
	case OPT_INT:
		errno = 0;
		*(long *)o->value = strtol(v, &end, 10);
		if (errno || end == v || *end || *(long *)o->value < 0)
			return bad_value(cmd, o, v, from_env, "not a number");
		return 0;
	case OPT_SIZE:
		if (elog_size_parse(v, &n) != 0)
			return bad_value(cmd, o, v, from_env, "not a size (bytes, or a number with "
					 "K, M, G or T: 64M)");
		*(int64_t *)o->value = n;
		return 0;
	case OPT_DURATION:
	case OPT_DURATION_MS:
		if (o->type == OPT_DURATION_MS && *v && strspn(v, "0123456789") == strlen(v)) {
			errno = 0;
			n = strtoll(v, &end, 10);
			if (errno || n > INT64_MAX / NS_PER_MS)
				return bad_value(cmd, o, v, from_env, "too long a duration");
			*(int64_t *)o->value = n * NS_PER_MS;
			return 0;
		}
		if (elog_duration_parse(v, &n, &err) != 0)
			return bad_value(cmd, o, v, from_env, "not a duration (like 500ms, 30s, 5m, "
					 "2h, 7d)");
		*(int64_t *)o->value = n;
		return 0;
	}
	return 0;
}

/* Options absent from the command line take their environment variable, when set. */
static int apply_env(const struct command *cmd, const struct option *tabs[],
		     const struct option **seen, int nseen)
{
	int t, i;

	for (t = 0; tabs[t]; t++) {
		const struct option *o;

		for (o = tabs[t]; o->long_name; o++) {
			const char *v;

			if (!o->env || o->type == OPT_BOOL || o->type == OPT_LIST ||
			    o->type == OPT_OPTIONAL)
				continue;
			if (o->type == OPT_STRING && *(const char **)o->value)
				continue;
			for (i = 0; i < nseen && seen[i] != o; i++)
				;
			if (i < nseen)
				continue;
			v = getenv(o->env);
			if (v && *v && set_value(cmd, o, v, 1) != 0)
				return EXIT_USAGE;
		}
	}
	return 0;
}

int cli_parse(const struct command *cmd, int argc, char **argv, int *nrest, char ***rest)
{
	const struct option *tabs[3] = { cmd->options, NULL, NULL };
	char **pos = xcalloc((size_t)argc + 1, sizeof(char *));
	const struct option **seen = xcalloc((size_t)argc + 1, sizeof(*seen));
	int i, np = 0, nseen = 0, only_pos = 0, rc;

	if (cmd->client)
		tabs[cmd->options ? 1 : 0] = client_options;
	for (i = 1; i < argc; i++) {
		char *a = argv[i];

		if (only_pos || a[0] != '-' || a[1] == 0) {
			pos[np++] = a;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_print_help(cmd, stdout);
			free(pos);
			free(seen);
			return -1;
		}
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int negated;
			const struct option *o = find_long(tabs, name, len, &negated);

			if (!o) {
				free(pos);
				free(seen);
				return cli_usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
			}
			if (o->type == OPT_BOOL) {
				if (eq) {
					free(pos);
					free(seen);
					return cli_usage_error(cmd, "option '--%s' takes no value", o->long_name);
				}
				*(int *)o->value = !negated;
				continue;
			}
			if (o->type == OPT_OPTIONAL) {
				*(const char **)o->value = eq ? eq + 1 : "";
				continue;
			}
			if (!eq && i + 1 >= argc) {
				free(pos);
				free(seen);
				return cli_usage_error(cmd, "option '--%s' needs a value", o->long_name);
			}
			seen[nseen++] = o;
			if (set_value(cmd, o, eq ? eq + 1 : argv[++i], 0)) {
				free(pos);
				free(seen);
				return EXIT_USAGE;
			}
			continue;
		}
		/* short options, bundled booleans, -cVALUE or -c VALUE */
		for (a++; *a; a++) {
			const struct option *o = find_short(tabs, *a);

			if (!o) {
				free(pos);
				free(seen);
				return cli_usage_error(cmd, "unknown option '-%c'", *a);
			}
			if (o->type == OPT_BOOL) {
				*(int *)o->value = 1;
				continue;
			}
			seen[nseen++] = o;
			if (a[1]) {
				if (set_value(cmd, o, a + 1, 0)) {
					free(pos);
					free(seen);
					return EXIT_USAGE;
				}
			} else {
				if (i + 1 >= argc) {
					free(pos);
					free(seen);
					return cli_usage_error(cmd, "option '-%c' needs a value", *a);
				}
				if (set_value(cmd, o, argv[++i], 0)) {
					free(pos);
					free(seen);
					return EXIT_USAGE;
				}
			}
			break;
		}
	}
	rc = apply_env(cmd, tabs, seen, nseen);
	free(seen);
	if (rc) {
		free(pos);
		return rc;
	}
	*nrest = np;
	*rest = pos;
	return 0;
}

static void print_options(const struct option *o, FILE *out)
{
	for (; o->long_name; o++) {
		char left[96];
		int n;

		if (o->short_name)
			n = snprintf(left, sizeof(left), "  -%c, --%s", o->short_name, o->long_name);
		else
			n = snprintf(left, sizeof(left), "      --%s", o->long_name);
		if (o->argname && o->type == OPT_OPTIONAL)
			snprintf(left + n, sizeof(left) - (size_t)n, "[=%s]", o->argname);
		else if (o->argname)
			snprintf(left + n, sizeof(left) - (size_t)n, " %s", o->argname);
		if (strlen(left) > 28)
			fprintf(out, "%s\n%30s%s\n", left, "", o->help);
		else
			fprintf(out, "%-30s%s\n", left, o->help);
	}
}

void cli_print_help(const struct command *cmd, FILE *out)
{
	fprintf(out, "usage: elog %s %s\n\n%s\n\noptions:\n", cmd->name, cmd->usage, cmd->summary);
	if (cmd->options)
		print_options(cmd->options, out);
	if (cmd->client) {
		fprintf(out, "\nclient options:\n");
		print_options(client_options, out);
	}
	fprintf(out, "  -h, --help                  show this help\n");
	fprintf(out, "\nexit status: 0 ok, 1 failure, 2 usage, 3 server unreachable\n");
}

/*
 * The hub address: host:port as given; a bare PORT or :PORT means 127.0.0.1:PORT (the
 * default host), so `--server 51234`, `--server :51234` and `--server 127.0.0.1:51234`
 * all name the same hub.
 */
const char *cli_server(void)
{
	static char buf[64];
	const char *s = client_cfg.server && *client_cfg.server ? client_cfg.server
								 : ELOG_DEFAULT_SERVER;
	const char *p = *s == ':' ? s + 1 : s;

	if (*p && strlen(p) <= 5 && strspn(p, "0123456789") == strlen(p)) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", p);
		return buf;
	}
	return s;
}

int64_t cli_timeout_ns(void)
{
	/* 0 (or less): no waiting for a server, one connection attempt of at most 1 s. */
	return (client_cfg.timeout_s > 0 ? client_cfg.timeout_s : 1) * 1000000000LL;
}

/* True when target names a loopback address (or a unix socket). */
int cli_target_is_loopback(const char *t)
{
	char host[256], port[16];
	struct in6_addr a6;
	struct in_addr a4;

	if (strncmp(t, "unix:", 5) == 0)
		return 1;
	if (elog_target_split(t, host, sizeof(host), port, sizeof(port)) != 0)
		return 0;
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return 0;
}

int cli_client_opts(struct rpc_client_opts *o, char **key_storage)
{
	const char *key = NULL;

	memset(o, 0, sizeof(*o));
	*key_storage = NULL;
	if (client_cfg.api_key_file) {
		struct elog_err err;
		if (elog_key_read_file(client_cfg.api_key_file, key_storage, &err) != 0) {
			cli_error("%s", err.msg);
			return EXIT_FAIL;
		}
		key = *key_storage;
	} else if (getenv("ELOG_API_KEY") && *getenv("ELOG_API_KEY")) {
		key = getenv("ELOG_API_KEY");
	}
	o->ca_file = client_cfg.tls_ca;
	o->cert_file = client_cfg.tls_cert;
	o->key_file = client_cfg.tls_key;
	o->server_name = client_cfg.tls_server_name;
	o->use_tls = client_cfg.tls_ca != NULL;
	if (key && *key) {
		if (!o->use_tls && !cli_target_is_loopback(cli_server())) {
			cli_error("refusing to send an API key in plaintext to '%s': use --tls-ca FILE "
				  "(or $ELOG_TLS_CA) to connect with TLS", cli_server());
			free(*key_storage);
			*key_storage = NULL;
			return EXIT_USAGE;
		}
		o->api_key = key;
	}
	return 0;
}

char *cli_default_db(void)
{
	const char *env = getenv("ELOG_DB"), *state = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	struct elog_buf b = ELOG_BUF_INIT;

	if (env && *env)
		return xstrdup(env);
	if (state && *state)
		elog_buf_addf(&b, "%s/elog/history.db", state);
	else
		elog_buf_addf(&b, "%s/.local/state/elog/history.db", home && *home ? home : ".");
	return elog_buf_detach(&b);
}

int cli_parse_levels(const struct command *cmd, const char *spec, unsigned *mask)
{
	struct elog_err err;

	elog_err_clear(&err);
	*mask = 0;
	if (elog_level_filter_parse(spec, mask, &err) != 0)
		return cli_usage_error(cmd, "%s", err.msg);
	return 0;
}

int cli_parse_time(const struct command *cmd, const char *flag, const char *s, int64_t *out)
{
	struct elog_err err;

	elog_err_clear(&err);
	if (elog_time_parse(s, elog_now_ns(), out, &err) != 0)
		return cli_usage_error(cmd, "%s for --%s", err.msg, flag);
	return 0;
}

int cli_write_out(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int cli_write_ready_file(const char *path, const char *text)
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
