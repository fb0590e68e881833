/*
 * prune.c — `elog prune`: removes the oldest records of the history by time or size (as
 * `journalctl --vacuum-time/--vacuum-size`), of every component or of some.
 *
 * It works on the history file directly, whether or not a serve has it open: SQLite's locks
 * let the two take turns, and the removal goes a chunk (ELOG_RETAIN_CHUNK records) per
 * transaction, so a running serve's writer waits a few ms at a time at most. Readers that
 * asked for what went are told (retention.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/util.h"

static struct {
	const char *db;
	const char *before;
	int64_t size;
	struct str_list components;
	int quiet;
} o = { .size = -1 };

static const struct option prune_options[] = {
	{ 0, "db", OPT_STRING, &o.db, "PATH", "the history (default $ELOG_DB, else "
	  "$XDG_STATE_HOME/elog/history.db)", "file", "ELOG_DB" },
	{ 0, "before", OPT_STRING, &o.before, "TIME",
	  "remove the records that arrived before TIME (RFC3339, '2024-01-20 10:00:00', 7d, "
	  "@epoch)", NULL, NULL },
	{ 0, "size", OPT_SIZE, &o.size, "SIZE",
	  "remove the oldest records until the history's data fits in SIZE", NULL, NULL },
	{ 'c', "component", OPT_LIST, &o.components, "COMP",
	  "only records of these components (repeatable)", "component", NULL },
	{ 'q', "quiet", OPT_BOOL, &o.quiet, NULL, "print nothing but errors", NULL, NULL },
	OPT_END
};

extern const struct command cmd_prune;

/* Removes chunks of comp's (NULL: any) oldest records with ids up to through; adds to *n. */
static int remove_through(struct elog_store *st, const char *comp, int64_t through, int64_t *n,
			  struct elog_err *err)
{
	int64_t k;

	do {
		if (elog_store_remove_oldest(st, comp, through, ELOG_RETAIN_CHUNK, &k, err) != 0)
			return -1;
		*n += k;
	} while (k > 0);
	return 0;
}

/* Removes the oldest records (of the components, taking turns) until the pages in use fit
 * in size; adds to *n. */
static int remove_to_size(struct elog_store *st, int64_t size, int64_t *n, struct elog_err *err)
{
	struct elog_history_info hi;
	size_t turn = 0, idle = 0;

	for (;;) {
		const char *comp = o.components.n ? o.components.items[turn % o.components.n] : NULL;
		int64_t per, want, k;

		if (elog_store_history_info(st, &hi, err) != 0)
			return -1;
		if (hi.used_bytes <= size || hi.records == 0)
			return 0;
		per = hi.used_bytes / hi.records;
		want = (hi.used_bytes - size) / (per > 0 ? per : 1) + 1;
		if (want > ELOG_RETAIN_CHUNK)
			want = ELOG_RETAIN_CHUNK;
		if (elog_store_remove_oldest(st, comp, INT64_MAX, want, &k, err) != 0)
			return -1;
		*n += k;
		turn++;
		/* every component asked for has nothing left */
		idle = k ? 0 : idle + 1;
		if (idle >= (o.components.n ? o.components.n : 1))
			return 0;
	}
}

static int run_prune(int argc, char **argv)
{
	struct elog_store *st = NULL;
	struct elog_history_info hi;
	struct elog_err err;
	int64_t before_ns = 0, through = 0, removed = 0;
	char **rest, *db;
	int nrest, rc;
	size_t i;

	rc = cli_parse(&cmd_prune, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (nrest > 0) {
		rc = cli_usage_error(&cmd_prune, "unexpected argument '%s'", rest[0]);
		free(rest);
		return rc;
	}
	free(rest);
	if (!o.before && o.size < 0)
		return cli_usage_error(&cmd_prune, "say what to remove: --before TIME or --size SIZE");
	if (o.before && cli_parse_time(&cmd_prune, "--before", o.before, &before_ns) != 0)
		return EXIT_USAGE;
	db = o.db ? xstrdup(o.db) : cli_default_db();
	elog_err_clear(&err);
	/* read-only first: a missing file is an error, not a new history */
	rc = elog_store_open(&st, db, ELOG_STORE_READONLY, &err);
	elog_store_close(st);
	st = NULL;
	if (rc == 0)
		rc = elog_store_open(&st, db, 0, &err);
	if (rc == 0 && o.before)
		rc = elog_store_id_before(st, before_ns, &through, &err);
	for (i = 0; rc == 0 && through > 0 && i < (o.components.n ? o.components.n : 1); i++)
		rc = remove_through(st, o.components.n ? o.components.items[i] : NULL, through,
				    &removed, &err);
	if (rc == 0 && o.size >= 0)
		rc = remove_to_size(st, o.size, &removed, &err);
	/* the freed pages go back to the file system (a history created with schema 4 on): also
	 * when --size found the data fitting already, as pages a seal freed may still be in the
	 * file, and --size is about the file */
	if (rc == 0 && (removed > 0 || o.size >= 0))
		rc = elog_store_shrink(st, &err);
	if (rc == 0)
		rc = elog_store_history_info(st, &hi, &err);
	elog_store_close(st);
	free(db);
	free(o.components.items);
	if (rc) {
		cli_error("%s", err.msg);
		return cli_exit_of(rc);
	}
	if (!o.quiet)
		printf("removed %lld records; the history holds %lld records in %lld bytes "
		       "(database %lld, WAL %lld)\n", (long long)removed, (long long)hi.records,
		       (long long)(hi.db_bytes + hi.wal_bytes), (long long)hi.db_bytes,
		       (long long)hi.wal_bytes);
	return EXIT_OK;
}

const struct command cmd_prune = {
	.name = "prune",
	.summary = "remove the oldest records of the history by time or size",
	.usage = "(--before TIME | --size SIZE) [-c COMP]... [--db PATH]",
	.options = prune_options,
	.run = run_prune,
	.description =
		"Removes the oldest records of the history, as journalctl --vacuum-time and "
		"--vacuum-size do: with --before, every record that arrived before TIME; with "
		"--size, the oldest records until the history's data fits in SIZE. With -c, only "
		"records of those components go (taking turns for --size). Both may be given.\n"
		"It works on the history file directly, whether or not elog serve has it open: "
		"the removal goes 4096 records per transaction, so a running serve waits a few "
		"milliseconds at a time at most. The pages freed are given back to the file "
		"system (a history created by an elog with schema 4 or later; in an older one "
		"they stay in the file and new records reuse them). Ids are never reused, and a "
		"reader that asks for removed records (logs --since, a follower that fell behind) "
		"is told 'records before id N were removed by retention'.\n"
		"elog serve does the same by itself within --retain-size and --retain-age.",
	.examples =
		"elog prune --before 7d\n"
		"remove the records that arrived more than 7 days ago\n"
		"elog prune --size 500M\n"
		"keep the newest 500 MiB of records\n"
		"elog prune --before '2026-01-01' -c debugsvc\n"
		"remove what component debugsvc logged before 2026\n",
};
