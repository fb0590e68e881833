/*
 * commands.c — the command table: one line per command, in the order `elog --help` lists
 * them. Apart from cmd/main.c (the dispatcher) so that tools/gendoc.c renders the same table.
 */
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

extern const struct command cmd_serve, cmd_send, cmd_logs, cmd_export;
extern const struct command cmd_keys, cmd_validate_key;
extern const struct command cmd_tail;
extern const struct command cmd_ps;
extern const struct command cmd_prune;
extern const struct command cmd_redact;

const struct command *const elog_commands[] = {
	&cmd_serve,
	&cmd_logs,
	&cmd_send,
	&cmd_tail,
	&cmd_export,
	&cmd_ps,
	&cmd_prune,
	&cmd_keys,
	&cmd_validate_key,
	&cmd_redact,
	NULL,
};
