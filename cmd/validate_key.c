/*
 * validate_key.c — `elog validate-key`: asks the server (ingestion.InternalAuthService/
 * ValidateApiKey) whether a key is valid. The key never appears in any message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "common/err.h"
#include "client/client.h"
#include "store/keys.h"
#include "common/util.h"

static struct {
	const char *key_file;
	int json, quiet;
} o;

static const struct option validate_key_options[] = {
	{ 0, "key-file", OPT_STRING, &o.key_file, "FILE", "read the key to check from FILE", "file", NULL },
	{ 0, "json", OPT_BOOL, &o.json, NULL, "print the verdict as {\"valid\":true|false}", NULL, NULL },
	{ 'q', "quiet", OPT_BOOL, &o.quiet, NULL, "print nothing; the exit status tells", NULL, NULL },
	OPT_END
};

extern const struct command cmd_validate_key;

static int run_validate_key(int argc, char **argv)
{
	struct rpc_client_opts ro;
	struct elog_err err;
	char **rest, *key = NULL, *md_key = NULL;
	const char *env = getenv("ELOG_API_KEY");
	int nrest, rc, valid;

	rc = cli_parse(&cmd_validate_key, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 1 || (nrest == 1 && o.key_file)) {
		free(rest);
		return cli_usage_error(&cmd_validate_key, "give one key: KEY, '-' or --key-file FILE");
	}
	if ((nrest == 1 && strcmp(rest[0], "-") == 0) || o.key_file) {
		/* "-" is standard input: the same reader, the same rules */
		if (elog_key_read_file(o.key_file ? o.key_file : "-", &key, &err) != 0) {
			free(rest);
			cli_error("%s", err.msg);
			return EXIT_FAIL;
		}
	} else if (nrest == 1) {
		key = xstrdup(rest[0]);
	} else if (env && *env) {
		key = xstrdup(env);
	}
	free(rest);
	if (!key || !*key) {
		free(key);
		return cli_usage_error(&cmd_validate_key, "no key: give KEY, '-', --key-file FILE "
				       "or set $ELOG_API_KEY");
	}

	/* The client options (TLS; and a key of our own, which this call does not need). */
	rc = cli_client_opts(&ro, &md_key);
	if (rc)
		goto out;
	ro.api_key = NULL;
	if (!ro.use_tls && !cli_target_is_loopback(cli_server())) {
		cli_error("refusing to send an API key in plaintext to '%s': use --tls-ca FILE "
			  "(or $ELOG_TLS_CA) to connect with TLS", cli_server());
		rc = EXIT_USAGE;
		goto out;
	}
	elog_err_clear(&err);
	rc = elog_client_validate_key(cli_server(), &ro, key, &valid,
				      cli_timeout_ns(), &err);
	if (rc) {
		/* documented: 3 for an unreachable server and for any other error */
		cli_error("cannot validate the key: %s", err.msg);
		rc = EXIT_UNREACHABLE;
		goto out;
	}
	if (o.json)
		printf("{\"valid\":%s}\n", valid ? "true" : "false");
	else if (!o.quiet)
		printf("%s\n", valid ? "valid" : "invalid");
	rc = valid ? EXIT_OK : EXIT_FAIL;
out:
	OPENSSL_cleanse(key, strlen(key));
	free(key);
	if (md_key) {
		OPENSSL_cleanse(md_key, strlen(md_key));
		free(md_key);
	}
	return rc;
}

const struct command cmd_validate_key = {
	.name = "validate-key",
	.summary = "ask the server whether an API key is valid",
	.usage = "[KEY | -] [--key-file FILE] [--json] [-q]",
	.options = validate_key_options,
	.client = 1,
	.run = run_validate_key,
	.description =
		"Sends the key to the server's ingestion.InternalAuthService/ValidateApiKey and "
		"reports the verdict. The key is KEY, the first line of standard input with '-', "
		"the first line of --key-file FILE, else $ELOG_API_KEY (a key on the command line "
		"is visible to other users in the process list: prefer the others). Exit status: 0 "
		"valid, 1 invalid, 2 usage, 3 server unreachable or any other error. The key is "
		"never printed, not even in an error message.",
	.examples =
		"elog validate-key --key-file ci.key\n"
		"check the key in ci.key against the hub\n"
		"elog validate-key -q - < ci.key && echo ok\n"
		"the same, by exit status only\n",
	.environment = "ELOG_API_KEY\tthe key to check when neither KEY nor --key-file is given\n",
};
