/*
 * complete.c — `elog __complete components`, a hidden command (not in `elog --help`, not
 * offered as a suggestion) that the shell completion scripts call: the component names known
 * to the server, else to the history file, one a line; nothing when neither answers. (The
 * scripts and man pages themselves are generated at build time by tools/gendoc.c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "client/client.h"
#include "store/store.h"
#include "common/util.h"

#define COMPLETE_TIMEOUT_NS (200 * 1000000LL)

extern const struct command cmd_complete;

static const char *complete_db;

static const struct option complete_options[] = {
	{ 0, "db", OPT_STRING, &complete_db, "PATH", "read the history file PATH, not the server",
	  "file", NULL },
	OPT_END
};

static void free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Names from the server within COMPLETE_TIMEOUT_NS; -1 when it does not answer. */
static int components_from_server(char ***names, size_t *n)
{
	struct rpc_client_opts ro;
	struct elog_err err;
	char *key = NULL;
	int rc;

	if (cli_client_opts(&ro, &key) != 0)
		return -1;
	elog_err_clear(&err);
	rc = elog_client_components(cli_server(), &ro, names, n, COMPLETE_TIMEOUT_NS, &err);
	free(key);
	return rc == 0 ? 0 : -1;
}

/* Names from a history file, opened read-only (a missing file is not created). */
static int components_from_db(const char *path, char ***names, size_t *n)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	int rc;

	elog_err_clear(&err);
	if (elog_store_open(&s, path, ELOG_STORE_READONLY, &err) != 0)
		return -1;
	rc = elog_store_components(s, names, n, &err);
	elog_store_close(s);
	return rc == 0 ? 0 : -1;
}

static int run_complete(int argc, char **argv)
{
	char **rest, **names = NULL, *db;
	size_t n = 0, i;
	int nrest, rc;

	rc = cli_parse(&cmd_complete, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest != 1 || strcmp(rest[0], "components") != 0) {
		free(rest);
		return cli_usage_error(&cmd_complete, "expected 'components'");
	}
	free(rest);
	rc = -1;
	if (!complete_db) {
		rc = components_from_server(&names, &n);
		if (rc != 0) {
			free_names(names, n);
			names = NULL;
			n = 0;
		}
	}
	if (rc != 0) {
		db = complete_db ? xstrdup(complete_db) : cli_default_db();
		rc = components_from_db(db, &names, &n);
		free(db);
	}
	if (rc != 0) {
		free_names(names, n);
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++)
		if (names[i][0] && !strchr(names[i], '\n'))
			printf("%s\n", names[i]);
	free_names(names, n);
	return EXIT_OK;
}

const struct command cmd_complete = {
	.name = "__complete",
	.summary = "print completion candidates for the shell completion scripts",
	.usage = "components [--server ADDR] [--db PATH]",
	.options = complete_options,
	.client = 1,
	.run = run_complete,
};
