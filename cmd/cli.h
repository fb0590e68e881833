/*
 * cli.h — the command table and the option tables that drive parsing, --help, the man pages
 * and the shell completions (tools/gendocs.sh renders them with the build tool tools/gendoc.c).
 *
 * Exit statuses, for every command: 0 ok, 1 failure, 2 usage, 3 server unreachable.
 */
#ifndef ELOG_CLI_H
#define ELOG_CLI_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "rpc/rpc.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

enum opt_type {
	OPT_BOOL,     /* int *; --no-NAME sets 0 */
	OPT_STRING,   /* const char **; last one wins */
	OPT_LIST,     /* struct str_list *; repeatable */
	OPT_INT,      /* long *; decimal, not negative */
	OPT_OPTIONAL, /* const char **; --name alone sets it to "" , --name=V to V */
	OPT_SIZE,     /* int64_t *, bytes: 4096, 64K, 64M, 1G, 2T (powers of 1024; 64MB, 64MiB) */
	OPT_DURATION, /* int64_t *, ns: 500ms, 30s, 5m, 2h, 7d, 1h30m; a bare number is seconds */
	OPT_DURATION_MS, /* the same, but a bare number is milliseconds */
};
/* A bad value of any type is a usage error naming the flag and the value (exit 2). An option
 * with an env variable takes its value from it when the flag is absent, whatever its type. */

struct str_list {
	const char **items;
	size_t n, cap;
};

struct option {
	char short_name;        /* 0: none */
	const char *long_name;
	enum opt_type type;
	void *value;
	const char *argname;    /* "ADDR" */
	const char *help;       /* one line, lowercase start */
	const char *complete;   /* NULL, "file", "dir", "level", "component", "command", or "a|b|c" */
	const char *env;        /* environment variable read when the option is absent */
};
#define OPT_END { 0, NULL, 0, NULL, NULL, NULL, NULL, NULL }

struct command {
	const char *name;
	const char *summary;
	const char *usage;          /* after "elog NAME " */
	const struct option *options;
	int client;                 /* takes the client options (--server, --api-key-file, TLS) */
	int (*run)(int argc, char **argv);
	const char *description;    /* man DESCRIPTION, plain text paragraphs */
	const char *examples;       /* man EXAMPLES: "$ cmd\n  what it does\n" pairs */
	const char *environment;    /* extra ENVIRONMENT lines "NAME\tmeaning\n" */
	const char *files;          /* FILES lines */
	const char *formats;        /* man LINE FORMATS: "FORMAT\texample and what it gives\n" */
	const char *table_title;    /* an extra man section (serve: the OpenTelemetry mapping) */
	const char *table;          /* its "NAME\tmeaning\n" entries */
};

extern const struct command *const elog_commands[];
extern const struct option client_options[];

/* Client option values, filled by the parser for client commands. */
struct client_settings {
	const char *server;
	const char *api_key_file;
	const char *tls_ca, *tls_cert, *tls_key, *tls_server_name;
	long timeout_s;
};
extern struct client_settings client_cfg;

/* Parses argv[1..] for cmd (argv[0] is the command name). Fills option values, collects
 * positional arguments into *rest (argv order, "--" ends options). Returns 0, or prints a
 * usage error and returns EXIT_USAGE. --help prints help and returns -1 (exit 0). */
int cli_parse(const struct command *cmd, int argc, char **argv, int *nrest, char ***rest);

void cli_print_help(const struct command *cmd, FILE *out);

/* "elog: <msg>" on stderr. */
/* The connect timeout in ns (--timeout; 0 means one attempt of at most 1 s). */
int64_t cli_timeout_ns(void);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: "elog CMD: <msg>" and a hint to --help; returns EXIT_USAGE. */
int cli_usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Maps an ELOG_E* code to an exit status. */
int cli_exit_of(int elog_rc);

/* Builds the rpc client options (API key from $ELOG_API_KEY or --api-key-file, TLS). Refuses
 * to send a key in plaintext to a non-loopback address. Returns 0 or an exit status. */
int cli_client_opts(struct rpc_client_opts *o, char **key_storage);
/* True when target names a loopback address (127/8, ::1, localhost) or a unix socket. */
int cli_target_is_loopback(const char *target);
/* The server address to use (--server, $ELOG_SERVER, default). */
const char *cli_server(void);
/* Default history path: $ELOG_DB, else $XDG_STATE_HOME/elog/history.db,
 * else ~/.local/state/elog/history.db. Malloc'd. */
char *cli_default_db(void);

/* Parses a level filter / time for a command's flag, printing a usage error on failure. */
int cli_parse_levels(const struct command *cmd, const char *spec, unsigned *mask);
int cli_parse_time(const struct command *cmd, const char *flag, const char *s, int64_t *out);

/* Writes buf to stdout fully; returns 0, or -1 when stdout is closed (EPIPE) or failed. */
int cli_write_out(const char *buf, size_t len);

/* Writes text to path atomically (a temporary file renamed over it), for the scripts that wait
 * for a --ready-file. Prints the error and returns -1 on failure. */
int cli_write_ready_file(const char *path, const char *text);

/* The redactor of serve and `elog redact` from their options (cmd/redact.c): *out NULL when
 * on is 0 (--no-redact). Returns 0 or an exit status after saying why. */
struct elog_redactor;
int cli_redactor(const struct command *cmd, int on, const char *rules, const char *on_list,
		 const char *off_list, struct elog_redactor **out);

#define ELOG_DEFAULT_SERVER "127.0.0.1:50090"

#endif
