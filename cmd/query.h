/*
 * query.h — what `elog logs` and `elog export` share: the filter flags, and reading records
 * from the hub (with follow and reconnect) or straight from a history file.
 */
#ifndef ELOG_CMD_QUERY_H
#define ELOG_CMD_QUERY_H

#include <limits.h>
#include "cli.h"
#include "common/filter.h"
#include "common/record.h"

struct query_opts {
	struct str_list components;
	struct str_list xcomponents;   /* -E */
	const char *levels, *since, *until, *grep, *exclude, *db;
	long last_n;             /* -n: QUERY_ALL when absent; 0: no history (with -f, live only) */
	long tail;               /* --tail: QUERY_ALL when absent; else the last N per component */
	int ignore_case;         /* -i; else smart case (an all-lowercase pattern: any case) */
	int follow;
	int allow_db_fallback;   /* export: read the default history when no server runs */
	const char *ready_file;  /* with follow: written once live records are on the way */
};

#define QUERY_ALL LONG_MIN

/* The filter options, each pointing into q; every command that reads has these. */
#define QUERY_OPTIONS(q) \
	{ 'c', "component", OPT_LIST, &(q).components, "COMP", \
	  "only these components (comma-separated or repeated; at most 1024)", "component", NULL }, \
	{ 'l', "level", OPT_STRING, &(q).levels, "LEVELS", \
	  "only these levels: a list (error,warn) or a minimum (warn+)", "level", NULL }, \
	{ 0, "since", OPT_STRING, &(q).since, "TIME", \
	  "records at or after TIME (RFC3339, '2024-01-20 10:00:00', 30s, 5m ago, today, @epoch)", NULL, NULL }, \
	{ 0, "until", OPT_STRING, &(q).until, "TIME", "records at or before TIME", NULL, NULL }, \
	{ 'g', "grep", OPT_STRING, &(q).grep, "RE", \
	  "only records whose message or a field value (as shown, up to 64 of them) matches RE, " \
	  "a Perl-compatible regular expression (PCRE2, UTF-8, at most 512 bytes); a record on " \
	  "which RE exceeds its match limit (100000 steps) does not match", NULL, NULL }, \
	{ 'e', "exclude", OPT_STRING, &(q).exclude, "RE", \
	  "leave out records whose message or a field value matches RE (as --grep)", NULL, NULL }, \
	{ 'E', "exclude-component", OPT_LIST, &(q).xcomponents, "COMP", \
	  "leave out these components (comma-separated or repeated; at most 1024)", "component", NULL }, \
	{ 'i', "ignore-case", OPT_BOOL, &(q).ignore_case, NULL, \
	  "patterns match in any case; without -i, a pattern with no upper-case letter matches " \
	  "any case and one with an upper-case letter only that case (smart case)", NULL, NULL }, \
	{ 'n', "lines", OPT_INT, &(q).last_n, "N", "only the last N matching records", NULL, NULL }, \
	{ 0, "tail", OPT_INT, &(q).tail, "N", \
	  "only the last N matching records of each component (at most 4096 components; with " \
	  "-f, then every new one)", NULL, NULL }, \
	{ 0, "db", OPT_STRING, &(q).db, "PATH", "read the history file PATH directly, without a server", "file", NULL }

/* RE as matched: "(?i)" added (after any leading (*VERB)s) with -i, or when RE has no
 * upper-case letter of its own (smart case). Malloc'd. */
char *query_case_pattern(const struct query_opts *q, const char *re);

/* Builds f from q; prints a usage error and returns EXIT_USAGE on bad values. */
int query_filter(const struct command *cmd, struct query_opts *q, struct elog_filter *f);

/*
 * Emits every matching record through fn (history, then live with q->follow). fn returns 0
 * to go on, non-zero to stop (a closed pipe). notice(ctx, text) reports gaps. page_end(ctx)
 * runs after each page (and, following, at least every second): it returns non-zero to stop.
 * notice and page_end may be NULL. Returns an exit status; messages already printed.
 */
int query_run(const struct command *cmd, struct query_opts *q, struct elog_filter *f,
	      int (*fn)(void *ctx, const struct elog_record *r),
	      void (*notice)(void *ctx, const char *text), int (*page_end)(void *ctx), void *ctx);

#endif
