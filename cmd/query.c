/*
 * query.c — see query.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "query.h"
#include "client/client.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/util.h"

char *query_case_pattern(const struct query_opts *q, const char *re)
{
	return elog_pattern_with_case(re, q->ignore_case);
}

int query_filter(const struct command *cmd, struct query_opts *q, struct elog_filter *f)
{
	struct elog_err err;
	char *re;
	size_t i;
	int rc;

	elog_err_clear(&err);
	for (i = 0; i < q->components.n; i++)
		if (elog_filter_add_components(f, q->components.items[i], &err))
			return cli_usage_error(cmd, "%s", err.msg);
	for (i = 0; i < q->xcomponents.n; i++)
		if (elog_filter_add_exclude_components(f, q->xcomponents.items[i], &err))
			return cli_usage_error(cmd, "%s", err.msg);
	if (q->levels && cli_parse_levels(cmd, q->levels, &f->level_mask))
		return EXIT_USAGE;
	if (q->since && cli_parse_time(cmd, "since", q->since, &f->since_ns))
		return EXIT_USAGE;
	if (q->until && cli_parse_time(cmd, "until", q->until, &f->until_ns))
		return EXIT_USAGE;
	elog_err_clear(&err);
	if (q->grep) {
		re = query_case_pattern(q, q->grep);
		rc = elog_filter_set_pattern(f, re, &err);
		free(re);
		if (rc)
			return cli_usage_error(cmd, "%s", err.msg);
	}
	if (q->exclude) {
		re = query_case_pattern(q, q->exclude);
		rc = elog_filter_set_exclude(f, re, &err);
		free(re);
		if (rc)
			return cli_usage_error(cmd, "%s", err.msg);
	}
	if (q->last_n != QUERY_ALL && q->last_n < 0)
		return cli_usage_error(cmd, "invalid value '%ld' for --lines: expected a count >= 0",
				       q->last_n);
	if (q->tail != QUERY_ALL) {
		if (q->tail < 0)
			return cli_usage_error(cmd, "invalid value '%ld' for --tail: expected a count >= 0",
					       q->tail);
		if (q->last_n != QUERY_ALL)
			return cli_usage_error(cmd, "--tail and --lines cannot be used together: "
					       "--tail counts per component, --lines in all");
		if (q->tail == 0)
			q->last_n = 0;   /* no history */
		else
			f->tail = (uint64_t)q->tail;
	}
	f->limit = q->last_n > 0 ? (uint64_t)q->last_n : 0;
	return 0;
}

/* -n 0: no history. Sets f->after_id to the last id stored now, so only later records match.
 * Returns 0, or a negative code with err. */
static int skip_history_local(struct elog_store *st, struct elog_filter *f, struct elog_err *err)
{
	int64_t max = 0;
	int rc = elog_store_max_id(st, &max, err);

	if (rc == 0 && max > f->after_id)
		f->after_id = max;
	return rc;
}

static int max_id_fn(void *ctx, const struct elog_record *r)
{
	int64_t *max = ctx;

	if (r->id > *max)
		*max = r->id;
	return 0;
}

static int skip_history_remote(const struct rpc_client_opts *ro, struct elog_filter *f,
			       struct elog_err *err)
{
	struct elog_filter all;
	struct elog_reader *r = NULL;
	int64_t max = 0, mfrom, mto;
	uint64_t missed;
	int live, rc;

	elog_filter_init(&all);
	all.limit = 1;
	rc = elog_reader_open(&r, cli_server(), ro, &all, 0, cli_timeout_ns(), err);
	while (rc == 0 && (rc = elog_reader_next(r, max_id_fn, &max, &live, &missed, &mfrom, &mto,
						 0, err)) == 1)
		rc = 0;
	elog_reader_free(r);
	elog_filter_clear(&all);
	if (rc == 0 && max > f->after_id)
		f->after_id = max;
	return rc;
}

struct track {
	int (*fn)(void *ctx, const struct elog_record *r);
	void *ctx;
	int64_t last_id;
	const char *ready_file;   /* written once, when live records are on the way */
	int ready;
};

/* Follow: every later record reaches this reader from now on; tell a waiting script once. */
static int mark_live(struct track *t, const char *what)
{
	char text[1100];

	if (t->ready || !t->ready_file)
		return 0;
	t->ready = 1;
	snprintf(text, sizeof(text), "%s\n", what);
	return cli_write_ready_file(t->ready_file, text);
}

/* What track_fn returns when the caller's fn asked to stop: distinct from elog_reader_next's
 * 1 (a page) and 2 (a timeout), so a closed pipe is never taken for a page. */
#define STOPPED 3

static int track_fn(void *ctx, const struct elog_record *r)
{
	struct track *t = ctx;

	if (r->id > t->last_id)
		t->last_id = r->id;
	return t->fn(t->ctx, r) ? STOPPED : 0;
}

/* The resuming reader's news (client.h), in the words `logs -f` always used. */
static void on_resume(void *ctx, int ev, const struct elog_err *err)
{
	(void)ctx;
	if (ev == ELOG_RESUME_LOST)
		fprintf(stderr, "elog: lost connection to server '%s' (%s); reconnecting\n",
			cli_server(), err->msg);
	else if (ev == ELOG_RESUME_BACK)
		fprintf(stderr, "elog: reconnected to server '%s'\n", cli_server());
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Records the reader asked for were removed by retention or prune: said once, on stderr (and
 * to the display, as a gap is). */
static void say_removed(int64_t before, void (*notice)(void *ctx, const char *text), void *ctx)
{
	char text[160];

	snprintf(text, sizeof(text), "records before id %lld were removed by retention",
		 (long long)before);
	fprintf(stderr, "elog: %s\n", text);
	if (notice)
		notice(ctx, text);
}

/* Reads the history file directly; with follow, polls it for new records. */
static int run_local(struct query_opts *q, const char *path, struct elog_filter *f,
		     struct track *t, void (*notice)(void *ctx, const char *text),
		     int (*page_end)(void *ctx))
{
	struct elog_store *st = NULL;
	struct elog_err err;
	int64_t removed = 0;
	int rc;

	elog_err_clear(&err);
	if (elog_store_open(&st, path, ELOG_STORE_READONLY, &err) != 0) {
		cli_error("%s", err.msg);
		return EXIT_FAIL;
	}
	rc = q->last_n != 0 ? elog_store_removed_for(st, f, &removed, &err) : 0;
	if (rc == 0 && removed > 0)
		say_removed(removed + 1, notice, t->ctx);
	if (rc == 0)
		rc = q->last_n == 0 ? skip_history_local(st, f, &err) : 0;
	if (f->after_id > t->last_id)
		t->last_id = f->after_id;
	if (rc == 0 && q->last_n != 0)
		rc = elog_store_query(st, f, ELOG_ID_UNBOUNDED, track_fn, t, &err);
	/* The next poll reads every record committed after the last one read. */
	if (rc == 0 && q->follow && mark_live(t, path) != 0) {
		elog_store_close(st);
		return EXIT_FAIL;
	}
	while (rc == 0 && q->follow) {
		if (page_end && page_end(t->ctx))
			break;
		sleep_ms(200);
		f->limit = 0;
		f->tail = 0;
		f->after_id = t->last_id;
		if (removed == 0 && t->last_id > 0) {
			/* retention or prune may remove records this follower has not read yet
			 * (serve writes while the file is polled): said once, as at the start;
			 * asked from the last id read only (a --since the reader is past of
			 * says nothing) */
			struct elog_filter from = *f;   /* shallow: read-only use */

			from.since_ns = 0;
			rc = elog_store_removed_for(st, &from, &removed, &err);
			if (rc == 0 && removed > 0)
				say_removed(removed + 1, notice, t->ctx);
			if (rc != 0)
				break;
		}
		rc = elog_store_query(st, f, ELOG_ID_UNBOUNDED, track_fn, t, &err);
	}
	elog_store_close(st);
	if (rc < 0) {
		cli_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int query_run(const struct command *cmd, struct query_opts *q, struct elog_filter *f,
	      int (*fn)(void *ctx, const struct elog_record *r),
	      void (*notice)(void *ctx, const char *text), int (*page_end)(void *ctx), void *ctx)
{
	struct track t = { fn, ctx, 0, q->ready_file, 0 };
	struct rpc_client_opts ro;
	struct elog_resumer *r = NULL;
	struct elog_err err;
	char *key = NULL;
	int rc;

	(void)cmd;
	if (q->db)
		return run_local(q, q->db, f, &t, notice, page_end);
	rc = cli_client_opts(&ro, &key);
	if (rc)
		return rc;
	if (q->last_n == 0) {
		elog_err_clear(&err);
		rc = skip_history_remote(&ro, f, &err);
		if ((rc == ELOG_EUNAVAIL || rc == ELOG_EPROTO) && q->allow_db_fallback) {
			free(key);
			return EXIT_OK;   /* no server: nothing new to export */
		}
		if (rc) {
			cli_error("%s", err.msg);
			free(key);
			return cli_exit_of(rc);
		}
		if (!q->follow) {
			free(key);
			return EXIT_OK;
		}
		t.last_id = f->after_id;   /* resume point if the first connection is lost */
	}
	elog_err_clear(&err);
	rc = elog_resumer_open(&r, cli_server(), &ro, f, q->follow,
			       cli_timeout_ns(), on_resume, NULL, &err);
	if ((rc == ELOG_EUNAVAIL || rc == ELOG_EPROTO) && q->allow_db_fallback) {
		char *def = cli_default_db();
		struct stat sb;

		if (stat(def, &sb) == 0) {
			fprintf(stderr, "elog: server '%s' unreachable; reading history '%s' directly\n",
				cli_server(), def);
			rc = run_local(q, def, f, &t, notice, page_end);
			free(def);
			free(key);
			return rc;
		}
		free(def);
	}
	if (rc) {
		size_t len = strlen(err.msg);

		/* Reading can also be done without a server: say so. */
		if (rc == ELOG_EUNAVAIL && len > 2 && strcmp(err.msg + len - 2, "?)") == 0)
			cli_error("%.*s or read a file with --db)", (int)(len - 1), err.msg);
		else
			cli_error("%s", err.msg);
		free(key);
		return cli_exit_of(rc);
	}
	for (;;) {
		int live = 0;
		uint64_t missed = 0;
		int64_t mfrom = 0, mto = 0, removed;

		/* Following, wake up every second so page_end can notice a closed output even
		 * while no record arrives (or while reconnecting). */
		rc = elog_resumer_next(r, track_fn, &t, &live, &missed, &mfrom, &mto,
				       q->follow ? 1000000000LL : 0, &err);
		if (rc == 2) {
			if (page_end && page_end(ctx)) {
				rc = STOPPED;
				break;
			}
			continue;
		}
		if (rc != 1)
			break;
		if (live && q->follow && mark_live(&t, cli_server()) != 0) {
			elog_resumer_free(r);
			free(key);
			return EXIT_FAIL;
		}
		removed = elog_resumer_take_removed(r);
		if (removed)
			say_removed(removed, notice, ctx);
		if (missed) {
			char text[160];

			snprintf(text, sizeof(text),
				 "%llu entries missed (ids %lld..%lld): this reader fell behind; "
				 "they are in the history", (unsigned long long)missed,
				 (long long)mfrom, (long long)mto);
			fprintf(stderr, "elog: %s\n", text);
			if (notice)
				notice(ctx, text);
		}
		if (page_end && page_end(ctx)) {
			rc = STOPPED;
			break;
		}
	}
	elog_resumer_free(r);
	free(key);
	if (rc >= 0)   /* the end, or fn stopped it (closed pipe) */
		return EXIT_OK;
	cli_error("%s", err.msg);
	return cli_exit_of(rc);
}
