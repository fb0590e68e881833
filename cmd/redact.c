/*
 * redact.c — `elog redact --test`: the redaction serve applies, tried on lines of standard
 * input without a server; and cli_redactor, which builds serve's redactor from its options.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/err.h"
#include "common/redact.h"
#include "common/util.h"

static struct {
	int test, list, json;
	const char *rules, *on, *off;
} o;

static const struct option redact_options[] = {
	{ 0, "test", OPT_BOOL, &o.test, NULL,
	  "read lines on standard input, print each one redacted and the rules that fired", NULL,
	  NULL },
	{ 0, "list", OPT_BOOL, &o.list, NULL, "list the rules, on or off, and what they find", NULL,
	  NULL },
	{ 0, "json", OPT_BOOL, &o.json, NULL,
	  "--test: one JSON object a line, {\"line\":...,\"redacted\":[rules]}", NULL, NULL },
	{ 0, "redact-rules", OPT_STRING, &o.rules, "FILE",
	  "add the rules of FILE, as serve --redact-rules does", "file", NULL },
	{ 0, "redact-on", OPT_STRING, &o.on, "RULE,...", "turn these rules on", NULL, NULL },
	{ 0, "redact-off", OPT_STRING, &o.off, "RULE,...", "turn these rules off", NULL, NULL },
	OPT_END
};

int cli_redactor(const struct command *cmd, int on, const char *rules, const char *on_list,
		 const char *off_list, struct elog_redactor **out)
{
	struct elog_redactor *rd;
	struct elog_err err;
	int rc = 0;

	*out = NULL;
	if (!on) {
		if (rules || on_list || off_list)
			return cli_usage_error(cmd, "--no-redact goes with no other --redact option");
		return 0;
	}
	elog_err_clear(&err);
	rd = elog_redactor_new();
	if (rules)
		rc = elog_redactor_load_file(rd, rules, &err);
	if (!rc && on_list)
		rc = elog_redactor_set(rd, on_list, 1, &err);
	if (!rc && off_list)
		rc = elog_redactor_set(rd, off_list, 0, &err);
	if (!rc)
		rc = elog_redactor_compile(rd, &err);
	if (rc) {
		elog_redactor_free(rd);
		if (rc == ELOG_EUSAGE)
			return cli_usage_error(cmd, "%s", err.msg);
		cli_error("%s", err.msg);
		return EXIT_FAIL;
	}
	*out = rd;
	return 0;
}

static void list_rules(struct elog_redactor *rd, struct elog_buf *b)
{
	size_t i;

	for (i = 0; i < elog_redactor_rules(rd); i++) {
		struct elog_redact_rule_info ri;

		elog_redactor_rule(rd, i, &ri);
		elog_buf_addf(b, "%-18s %-3s %-8s %s\n", ri.name, ri.enabled ? "on" : "off",
			      ri.builtin ? "built-in" : "file", ri.description);
	}
}

extern const struct command cmd_redact;

static int run_redact(int argc, char **argv)
{
	struct elog_redactor *rd = NULL;
	struct elog_redact_streams *st;
	struct elog_buf out = ELOG_BUF_INIT;
	char **rest, *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int nrest, rc;

	rc = cli_parse(&cmd_redact, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	free(rest);
	if (nrest > 0)
		return cli_usage_error(&cmd_redact, "unexpected argument (lines are read on standard "
				       "input)");
	if (!o.test && !o.list)
		return cli_usage_error(&cmd_redact, "say what to do: --test or --list");
	rc = cli_redactor(&cmd_redact, 1, o.rules, o.on, o.off, &rd);
	if (rc)
		return rc;
	if (o.list) {
		list_rules(rd, &out);
		rc = cli_write_out(out.data, out.len);
		elog_buf_release(&out);
		elog_redactor_free(rd);
		return rc;
	}
	/* one stream: a private key block over several lines is redacted whole */
	st = elog_redact_streams_new();
	while ((n = getline(&line, &cap, stdin)) > 0) {
		uint64_t fired = 0;
		char *r, *text;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		text = elog_utf8_dup(line, (size_t)n);
		r = elog_redact_text(rd, st, "stdin", text, strlen(text), &fired);
		if (o.json) {
			elog_buf_adds(&out, "{\"line\":");
			elog_json_quote(&out, r ? r : text, strlen(r ? r : text));
			elog_buf_adds(&out, ",\"redacted\":");
			elog_redact_names_json(rd, fired, &out);
			elog_buf_adds(&out, "}\n");
		} else {
			elog_buf_adds(&out, r ? r : text);
			if (fired) {
				struct elog_buf names = ELOG_BUF_INIT;

				/* ["a","b"] -> a,b */
				elog_redact_names_json(rd, fired, &names);
				elog_buf_adds(&out, "\t<- ");
				for (size_t i = 0; i < names.len; i++)
					if (names.data[i] != '"' && names.data[i] != '[' &&
					    names.data[i] != ']')
						elog_buf_addc(&out, names.data[i]);
				elog_buf_release(&names);
			}
			elog_buf_addc(&out, '\n');
		}
		free(r);
		free(text);
		if (out.len >= 65536) {
			rc = cli_write_out(out.data, out.len);
			elog_buf_reset(&out);
			if (rc)
				break;
		}
	}
	if (!rc && out.len)
		rc = cli_write_out(out.data, out.len);
	free(line);
	elog_buf_release(&out);
	elog_redact_streams_free(st);
	elog_redactor_free(rd);
	return rc;
}

const struct command cmd_redact = {
	.name = "redact",
	.summary = "try the redaction rules on lines of standard input",
	.usage = "--test [--json] [--redact-rules FILE] [--redact-on RULE,...] "
		 "[--redact-off RULE,...] | --list",
	.options = redact_options,
	.run = run_redact,
	.description =
		"Applies the redaction that 'elog serve' applies to every record before it keeps it, "
		"with the same rules and options, to each line of standard input, and prints the "
		"line as it would be stored. A line where rules fired ends with a tab, \"<- \" and "
		"their names (--json: one object a line). Consecutive lines are one stream: a "
		"private key block sent line by line is redacted whole. No server is needed.\n"
		"Rules files: one directive a line. \"rule NAME PATTERN\" adds a rule (PATTERN: a "
		"PCRE2 regular expression, the rest of the line; when it has a capturing group, only "
		"the first group is replaced); \"replace NAME TEXT\" sets what replaces its matches "
		"(default [REDACTED:NAME]); \"on NAME\" and \"off NAME\" turn a rule on or off; "
		"lines starting with # are comments.",
	.examples =
		"echo 'login password=hunter2' | elog redact --test\n"
		"prints \"login password=[REDACTED:secret-kv]\" and the rule that fired\n"
		"elog redact --list\n"
		"the rules, whether they are on, and what they find\n"
		"elog redact --test --redact-on email,ipv4 < app.log\n"
		"app.log as serve --redact-on email,ipv4 would store it\n",
};
