/*
 * keys.c — `elog keys create|list|revoke`: the API keys `serve --auth` accepts, kept (hashed)
 * in the history database. Works while serve runs on the same file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

#include "cli.h"
#include "store/keys.h"
#include "store/store.h"
#include "common/util.h"

static struct {
	const char *db;
	int json;
} o;

static const struct option keys_options[] = {
	{ 0, "db", OPT_STRING, &o.db, "PATH", "history database holding the keys (default $ELOG_DB, "
	  "else $XDG_STATE_HOME/elog/history.db)", "file", "ELOG_DB" },
	{ 0, "json", OPT_BOOL, &o.json, NULL, "list: one JSON object a line", NULL, NULL },
	OPT_END
};

extern const struct command cmd_keys;

static void put_time(struct elog_buf *b, int64_t ns, int json)
{
	char t[64];

	if (!ns) {
		elog_buf_adds(b, json ? "null" : "-");
		return;
	}
	elog_format_rfc3339(ns, t, sizeof(t));
	if (json)
		elog_json_quote(b, t, strlen(t));
	else
		elog_buf_adds(b, t);
}

static int do_list(struct elog_store *s, struct elog_err *err)
{
	struct elog_key_info *keys;
	struct elog_buf b = ELOG_BUF_INIT;
	size_t n, i;
	int rc;

	rc = elog_keys_list(s, &keys, &n, err);
	if (rc)
		return rc;
	if (!o.json && n > 0)
		elog_buf_addf(&b, "%-20s %-12s %-30s %-30s %s\n", "NAME", "HASH", "CREATED",
			      "LAST USED", "REVOKED");
	for (i = 0; i < n; i++) {
		struct elog_key_info *k = &keys[i];

		if (o.json) {
			elog_buf_adds(&b, "{\"name\":");
			elog_json_quote(&b, k->name, strlen(k->name));
			elog_buf_addf(&b, ",\"hash_prefix\":\"%s\",\"created\":", k->hash_prefix);
			put_time(&b, k->created_ns, 1);
			elog_buf_adds(&b, ",\"last_used\":");
			put_time(&b, k->last_used_ns, 1);
			elog_buf_adds(&b, ",\"revoked\":");
			put_time(&b, k->revoked_ns, 1);
			elog_buf_adds(&b, "}\n");
			continue;
		}
		elog_buf_addf(&b, "%-20s %-12s ", k->name, k->hash_prefix);
		{
			size_t start = b.len;

			put_time(&b, k->created_ns, 0);
			elog_buf_addf(&b, "%*s", (int)(31 - (b.len - start)) > 1 ?
				      (int)(31 - (b.len - start)) : 1, "");
			start = b.len;
			put_time(&b, k->last_used_ns, 0);
			elog_buf_addf(&b, "%*s", (int)(31 - (b.len - start)) > 1 ?
				      (int)(31 - (b.len - start)) : 1, "");
			put_time(&b, k->revoked_ns, 0);
			elog_buf_addc(&b, '\n');
		}
	}
	if (b.len && cli_write_out(b.data, b.len) != 0)
		rc = 0;   /* closed stdout: the dispatcher reports other write errors */
	elog_buf_release(&b);
	elog_keys_list_free(keys, n);
	return rc;
}

static int run_keys(int argc, char **argv)
{
	struct elog_store *s = NULL;
	struct elog_err err;
	char **rest, *db, *key = NULL;
	const char *sub;
	int nrest, rc;

	rc = cli_parse(&cmd_keys, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest == 0) {
		free(rest);
		return cli_usage_error(&cmd_keys, "missing subcommand: create, list or revoke");
	}
	sub = rest[0];
	if (strcmp(sub, "list") == 0 ? nrest != 1 :
	    (strcmp(sub, "create") == 0 || strcmp(sub, "revoke") == 0) ? nrest != 2 : 1) {
		if (strcmp(sub, "list") && strcmp(sub, "create") && strcmp(sub, "revoke"))
			rc = cli_usage_error(&cmd_keys, "unknown subcommand '%s'", sub);
		else if (strcmp(sub, "list") == 0)
			rc = cli_usage_error(&cmd_keys, "'list' takes no argument");
		else
			rc = cli_usage_error(&cmd_keys, "'%s' takes one NAME", sub);
		free(rest);
		return rc;
	}
	db = o.db ? xstrdup(o.db) : cli_default_db();
	elog_err_clear(&err);
	rc = elog_store_open(&s, db, 0, &err);
	if (rc == 0) {
		if (strcmp(sub, "create") == 0) {
			rc = elog_keys_create(s, rest[1], &key, &err);
			if (rc == 0) {
				printf("%s\n", key);
				if (fflush(stdout) != 0)
					rc = ELOG_EIO;
				OPENSSL_cleanse(key, strlen(key));
				free(key);
				if (rc == 0)
					fprintf(stderr, "elog: created key '%s' in '%s'; it is shown only "
						"this once\n", rest[1], db);
				else
					elog_err_set(&err, rc, "cannot write the key to standard output");
			}
		} else if (strcmp(sub, "revoke") == 0) {
			rc = elog_keys_revoke(s, rest[1], &err);
			if (rc == 0)
				fprintf(stderr, "elog: revoked key '%s'\n", rest[1]);
		} else {
			rc = do_list(s, &err);
		}
	}
	if (rc)
		cli_error("%s", err.msg);
	elog_store_close(s);
	free(db);
	free(rest);
	return cli_exit_of(rc == ELOG_EUSAGE ? ELOG_EFAIL : rc);
}

const struct command cmd_keys = {
	.name = "keys",
	.summary = "create, list and revoke the API keys serve --auth accepts",
	.usage = "create NAME | list | revoke NAME [--db PATH]",
	.options = keys_options,
	.run = run_keys,
	.description =
		"Manages API keys in the history database. 'create NAME' makes a random key "
		"(\"elog_\" and 160 random bits in base32), prints it once on standard output and "
		"stores only its SHA-256 hash with the name and the creation time. 'list' shows "
		"each key's name, hash prefix, creation, last use and revocation times, never a "
		"key. 'revoke NAME' makes the key invalid; a running 'elog serve --auth' refuses "
		"it within a second. Safe to run while serve uses the same database.",
	.examples =
		"elog keys create ci > ci.key\n"
		"make a key named ci and keep it in ci.key\n"
		"ELOG_API_KEY=$(cat ci.key) elog send hello\n"
		"send with the key\n"
		"elog keys list\n"
		"names, creation and last use of every key (never the keys)\n"
		"elog keys create laptop > laptop.key\n"
		"make another key\n"
		"elog keys revoke laptop\n"
		"revoke it: calls with it fail within a second\n",
	.files = "$XDG_STATE_HOME/elog/history.db\tthe default history, holding the keys\n",
};
