/*
 * main.c — `elog`: the dispatcher (git.c style) over the command table of cmd/commands.c.
 * The dispatcher, not each command, resolves unique prefixes, suggests the closest name for
 * a typo, and checks that stdout was written without error once the command returns.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Hidden (cmd/complete.c): exact name only, never listed nor suggested. */
extern const struct command cmd_complete;

static void usage(FILE *out)
{
	const struct command *const *c;

	fprintf(out, "usage: elog [--version] [--help] COMMAND [ARGS]\n\n"
		"elog keeps, shows and ships the logs of every process on a box.\n\ncommands:\n");
	for (c = elog_commands; *c; c++)
		fprintf(out, "  %-14s %s\n", (*c)->name, (*c)->summary);
	fprintf(out, "\n'elog help COMMAND' or 'elog COMMAND --help' for a command's options.\n"
		"exit status: 0 ok, 1 failure, 2 usage, 3 server unreachable\n");
}

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64], prev, tmp;

	if (lb >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (a[i - 1] != b[j - 1]);

			tmp = row[j];
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

/* Exact name, else a unique prefix. NULL with a message on stderr otherwise. */
static const struct command *find_command(const char *name)
{
	const struct command *const *c, *match = NULL, *closest = NULL;
	size_t nmatch = 0, best = 99, len = strlen(name);

	if (strcmp(name, cmd_complete.name) == 0)
		return &cmd_complete;
	for (c = elog_commands; *c; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	for (c = elog_commands; *c; c++)
		if (len > 0 && strncmp((*c)->name, name, len) == 0) {
			match = *c;
			nmatch++;
		}
	if (nmatch == 1)
		return match;
	if (nmatch > 1) {
		fprintf(stderr, "elog: ambiguous command '%s', could be:", name);
		for (c = elog_commands; *c; c++)
			if (strncmp((*c)->name, name, len) == 0)
				fprintf(stderr, " %s", (*c)->name);
		fputc('\n', stderr);
		return NULL;
	}
	for (c = elog_commands; *c; c++) {
		size_t d = edit_distance(name, (*c)->name);

		if (d < best) {
			best = d;
			closest = *c;
		}
	}
	if (closest && best <= 3)
		fprintf(stderr, "elog: unknown command '%s'; did you mean '%s'?\n", name, closest->name);
	else
		fprintf(stderr, "elog: unknown command '%s'; see 'elog --help'\n", name);
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	int rc;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("elog %s\n", ELOG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			usage(stdout);
			return 0;
		}
		cmd = find_command(argv[2]);
		if (!cmd)
			return EXIT_USAGE;
		cli_print_help(cmd, stdout);
		return 0;
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "elog: unknown option '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = find_command(argv[1]);
	if (!cmd)
		return EXIT_USAGE;
	/* A closed pipe is reported by write() as EPIPE, and commands end quietly on it. */
	signal(SIGPIPE, SIG_IGN);
	rc = cmd->run(argc - 1, argv + 1);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		if (errno != EPIPE) {
			fprintf(stderr, "elog: cannot write to standard output: %s\n", strerror(errno));
			return EXIT_FAIL;
		}
	}
	return rc;
}
