/*
 * tail.c — `elog tail`: follow files (through rotation) or wrap a command, and ship each line
 * to the hub with no loss and no duplicates.
 *
 * Files: the tailer (src/client/tailer.c, polling every 200 ms) hands over lines; each becomes a record
 * with dedupe_key "<file identity>:<offset>", so a line sent twice is stored once. Records go
 * out in sealed batches through a shipper thread that connects, reconnects with backoff and
 * re-sends every batch not yet acknowledged. Once the server acknowledged a batch, the main
 * thread advances the offsets of its files in the state database: a restart resumes there.
 * While the server is away, reading pauses once 32 MiB wait: the files are the buffer.
 *
 * Command (cmd/tail_command.c): the child's stdout and stderr come through two pipes, read
 * with poll(); lines are passed through and queued in read order (at most 64 MiB wait in
 * memory; beyond that lines are counted as undelivered).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli.h"
#include "tail.h"
#include "client/client.h"
#include "common/jsonline.h"
#include "common/multiline.h"
#include "common/record.h"
#include "client/shipper.h"
#include "client/tailer.h"
#include "client/tailstate.h"
#include "common/util.h"


struct tail_options tail_o;

static const struct option tail_options[] = {
	{ 'c', "component", OPT_STRING, &tail_o.component, "COMP",
	  "component of lines that name none (default: file base name, or command name)",
	  "component", NULL },
	{ 0, "from-end", OPT_BOOL, &tail_o.from_end, NULL,
	  "start files present at startup and never seen before at their end", NULL, NULL },
	{ 'q', "quiet", OPT_BOOL, &tail_o.quiet, NULL,
	  "command mode: do not pass the command's output through", NULL, NULL },
	{ 0, "state", OPT_STRING, &tail_o.state, "PATH",
	  "file offsets database (default $XDG_STATE_HOME/elog/tail-state.db)", "file", NULL },
	{ 0, "ready-file", OPT_STRING, &tail_o.ready_file, "PATH",
	  "files: write PATH once the files found at startup are open and positioned", "file", NULL },
	{ 0, "multiline", OPT_STRING, &tail_o.multiline, "MODE",
	  "join continuation lines (stack traces) into one record: auto (default), none, or a REGEX a first line matches", NULL, NULL },
	OPT_END
};

extern const struct command cmd_tail;
extern const char elog_line_formats[];   /* send.c */

/* ---- batches and the shipper thread ------------------------------------------------------ */


/* The batch whose shipper entry sb is. */
static struct batch *batch_of(struct elog_ship_batch *sb)
{
	return (struct batch *)sb;
}

static void batch_free(struct batch *b)
{
	if (!b)
		return;
	elog_records_free(b->recs, b->n);
	free(b->commits);
	free(b);
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	nanosleep(&ts, NULL);
}

/* Queues b (may be empty: then freed) for the shipper. */
void tail_seal(struct shipper *sh, struct batch *b)
{
	if (!b)
		return;
	if (b->n == 0 && b->ncommits == 0) {
		batch_free(b);
		return;
	}
	b->ship.bytes = b->bytes;
	b->ship.lines = b->lines;
	elog_shipper_push(sh->es, &b->ship, b->recs, b->n);
}

static struct batch *take_acked(struct shipper *sh)
{
	struct elog_ship_batch *l = elog_shipper_take_acked(sh->es);

	return l ? batch_of(l) : NULL;
}

size_t tail_pending_bytes(struct shipper *sh)
{
	return elog_shipper_pending_bytes(sh->es);
}

/* The shipper's news (on its thread), once per outage. */
static void on_ship_event(void *ctx, int ev, const struct elog_err *err)
{
	struct shipper *sh = ctx;

	if (ev == ELOG_SHIP_DOWN)
		cli_error("%s; %s until it is back", err->msg, sh->buffer_word);
	else if (ev == ELOG_SHIP_BACK)
		cli_error("server '%s' is back; sending", cli_server());
}

int tail_shipper_start(struct shipper *sh, const struct rpc_client_opts *ro, const char *word)
{
	struct elog_shipper_cfg cfg;
	struct elog_err err;

	memset(sh, 0, sizeof(*sh));
	memset(&cfg, 0, sizeof(cfg));
	sh->buffer_word = word;
	cfg.target = cli_server();
	cfg.ro = ro;
	cfg.connect_timeout_ns = cli_timeout_ns();
	cfg.event = on_ship_event;
	cfg.ctx = sh;
	if (elog_shipper_start(&sh->es, &cfg, &err) != 0) {
		cli_error("%s", err.msg);
		return EXIT_FAIL;
	}
	return 0;
}

/* True (and says why) once the server refused us for good (a key, a batch). */
int tail_shipper_refused(struct shipper *sh)
{
	struct elog_err err;

	if (!elog_shipper_failed(sh->es, &err))
		return 0;
	cli_error("%s", err.msg);
	return 1;
}

/* Asks the shipper to deliver what is queued within timeout_ns, and waits for it. */
void tail_shipper_stop(struct shipper *sh, int64_t timeout_ns)
{
	elog_shipper_finish(sh->es, timeout_ns, NULL, NULL);
}

/* Frees what is left after tail_shipper_stop; returns the lines that were not delivered. */
size_t tail_shipper_release(struct shipper *sh)
{
	struct elog_ship_batch *sb;
	struct batch *b;
	size_t lines = 0;

	while ((sb = elog_shipper_take_left(sh->es))) {
		lines += sb->lines;
		batch_free(batch_of(sb));
	}
	b = take_acked(sh);
	while (b) {
		struct batch *next = b->ship.next ? batch_of(b->ship.next) : NULL;

		batch_free(b);
		b = next;
	}
	elog_shipper_free(sh->es);
	sh->es = NULL;
	return lines;
}

struct elog_record *tail_batch_add(struct batch **bp)
{
	struct batch *b = *bp;

	if (!b)
		b = *bp = xcalloc(1, sizeof(*b));
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->recs = xrealloc(b->recs, b->cap * sizeof(*b->recs));
	}
	elog_record_init(&b->recs[b->n]);
	return &b->recs[b->n++];
}

static void batch_commit(struct batch **bp, uint64_t dev, uint64_t ino, int64_t gen,
			 int64_t offset, int forget)
{
	struct batch *b = *bp;
	struct commit *c;

	if (!b)
		b = *bp = xcalloc(1, sizeof(*b));
	if (!forget && b->ncommits > 0) {
		c = &b->commits[b->ncommits - 1];
		if (!c->forget && c->dev == dev && c->ino == ino && c->gen == gen) {
			if (offset > c->offset)
				c->offset = offset;
			return;
		}
	}
	if (b->ncommits == b->ccap) {
		b->ccap = b->ccap ? b->ccap * 2 : 8;
		b->commits = xrealloc(b->commits, b->ccap * sizeof(*b->commits));
	}
	c = &b->commits[b->ncommits++];
	c->dev = dev;
	c->ino = ino;
	c->gen = gen;
	c->offset = offset;
	c->forget = forget;
}

/* Fills r from a line as `send` does; extra is "\"k\":\"v\"" pairs added to its fields;
 * level is the level of a line that names none. */
void tail_line_record(struct elog_record *r, const char *line, size_t n, int cut,
			const char *component, const char *extra, int level)
{
	const struct elog_jsonline_defaults d = { component, level, "tail", extra };

	elog_jsonline_record(line, n, cut, &d, r);
	if (r->ts_ns == 0)
		r->ts_ns = elog_shipper_wall_ns();   /* when it was read, not when it is delivered */
}

void tail_set_key(struct elog_record *r, const char *fmt, ...)
{
	char key[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	elog_record_set(&r->dedupe_key, key, n < 0 ? 0 : (size_t)n < sizeof(key) ? (size_t)n : sizeof(key) - 1);
}

static volatile sig_atomic_t stop_signal;
volatile pid_t tail_child_pid;

static void on_signal(int sig)
{
	if (tail_child_pid > 0)
		kill(tail_child_pid, sig);
	else
		stop_signal = sig;
}

void tail_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

/* ---- files ------------------------------------------------------------------------------- */

/* The joiner of one file (by identity): its lines become records here. */
struct fjoin {
	struct fjoin *next;
	struct file_ctx *fc;
	char *ident, *path, *component;
	uint64_t dev, ino;
	int64_t gen;
	int64_t last_ns;          /* last line seen; idle joiners are freed */
	struct elog_multiline ml;
};

struct file_ctx {
	struct batch *cur;
	struct shipper *sh;
	struct fjoin *joins;
	int64_t now;              /* the clock of the current poll */
};

#define FJOIN_IDLE_NS (10 * 1000000000LL)

static void maybe_seal(struct file_ctx *fc)
{
	if (fc->cur && (fc->cur->n >= BATCH_RECORDS || fc->cur->bytes >= BATCH_BYTES)) {
		tail_seal(fc->sh, fc->cur);
		fc->cur = NULL;
	}
}

/* A whole record of a file: key "identity:offset of its first line", and once acknowledged
 * the file's offset advances past its last line. */
static void file_record(void *ctx, const struct elog_ml_record *rec)
{
	struct fjoin *fj = ctx;
	struct file_ctx *fc = fj->fc;
	struct elog_buf extra = ELOG_BUF_INIT;
	struct elog_record *r;

	elog_buf_adds(&extra, "\"file\":");
	elog_json_quote(&extra, fj->path, strlen(fj->path));
	r = tail_batch_add(&fc->cur);
	tail_line_record(r, rec->text, rec->len, rec->cut, fj->component, extra.data,
		    elog_multiline_default_level(rec, ELOG_LEVEL_INFO));
	tail_set_key(r, "%s:%lld", fj->ident, (long long)rec->first_tag);
	batch_commit(&fc->cur, fj->dev, fj->ino, fj->gen, rec->last_tag, 0);
	fc->cur->lines += rec->lines;
	fc->cur->bytes += rec->len + 128;
	elog_buf_release(&extra);
	maybe_seal(fc);
}

static void fjoin_free(struct fjoin *fj)
{
	elog_multiline_release(&fj->ml);
	free(fj->ident);
	free(fj->path);
	free(fj->component);
	free(fj);
}

/* The joiner of ev's file, created on its first line. */
static struct fjoin *fjoin_get(struct file_ctx *fc, const struct elog_tail_event *ev)
{
	struct fjoin *fj;
	struct elog_err err;

	for (fj = fc->joins; fj; fj = fj->next)
		if (strcmp(fj->ident, ev->ident) == 0) {
			if (strcmp(fj->path, ev->path) != 0) {
				free(fj->path);
				fj->path = xstrdup(ev->path);
			}
			return fj;
		}
	fj = xcalloc(1, sizeof(*fj));
	fj->fc = fc;
	fj->ident = xstrdup(ev->ident);
	fj->path = xstrdup(ev->path);
	fj->component = xstrdup(tail_o.component ? tail_o.component : ev->component);
	fj->dev = ev->dev;
	fj->ino = ev->ino;
	fj->gen = ev->gen;
	elog_multiline_init(&fj->ml, tail_o.multiline, file_record, fj, &err);   /* checked at startup */
	fj->next = fc->joins;
	fc->joins = fj;
	return fj;
}

/* Ends the pending records of the file dev:ino (every generation); with drop, forgets them. */
static void fjoin_end(struct file_ctx *fc, uint64_t dev, uint64_t ino, int drop)
{
	struct fjoin **pp = &fc->joins;

	while (*pp) {
		struct fjoin *fj = *pp;

		if (fj->dev == dev && fj->ino == ino) {
			elog_multiline_flush(&fj->ml);
			if (drop) {
				*pp = fj->next;
				fjoin_free(fj);
				continue;
			}
		}
		pp = &fj->next;
	}
}

/* Emits the records that were quiet long enough; frees joiners idle for a while. With all,
 * emits everything and frees every joiner. */
static void fjoin_tick(struct file_ctx *fc, int64_t now, int all)
{
	struct fjoin **pp = &fc->joins;

	while (*pp) {
		struct fjoin *fj = *pp;

		if (all)
			elog_multiline_flush(&fj->ml);
		else
			elog_multiline_tick(&fj->ml, now);
		if (all || (!elog_multiline_due(&fj->ml) && now - fj->last_ns > FJOIN_IDLE_NS)) {
			*pp = fj->next;
			fjoin_free(fj);
			continue;
		}
		pp = &fj->next;
	}
}

static int on_tail_event(void *ctx, const struct elog_tail_event *ev)
{
	struct file_ctx *fc = ctx;
	struct elog_buf extra = ELOG_BUF_INIT;
	struct elog_record *r;
	const char *comp = tail_o.component ? tail_o.component : ev->component;

	if (ev->kind == ELOG_TAIL_WAITING) {   /* once per pattern: tail goes on watching it */
		if (strcmp(ev->data, "is a directory") == 0)
			fprintf(stderr, "elog: '%s' is a directory: tail follows files (try '%s/*'); "
				"waiting for a file at that path\n", ev->path, ev->path);
		else
			fprintf(stderr, "elog: '%s': %s; waiting for %s\n", ev->path, ev->data,
				strpbrk(ev->path, "*?[") ? "a matching file" : "it to appear");
		return 0;
	}
	if (ev->kind == ELOG_TAIL_GONE) {
		fjoin_end(fc, ev->dev, ev->ino, 1);
		batch_commit(&fc->cur, ev->dev, ev->ino, ev->gen, ev->end, 1);
		return 0;
	}
	if (ev->kind == ELOG_TAIL_LINE) {
		struct fjoin *fj = fjoin_get(fc, ev);

		fj->last_ns = fc->now;
		elog_multiline_line(&fj->ml, ev->data, ev->len, ev->cut, ev->offset, ev->end, fc->now);
		return 0;
	}
	fjoin_end(fc, ev->dev, ev->ino, 1);   /* truncated: what came before ends here */
	elog_buf_adds(&extra, "\"file\":");
	elog_json_quote(&extra, ev->path, strlen(ev->path));
	r = tail_batch_add(&fc->cur);
	if (ev->kind == ELOG_TAIL_TRUNCATED) {
		struct elog_buf m = ELOG_BUF_INIT;

		elog_buf_addf(&m, "file truncated: %s", ev->path);
		elog_buf_adds(&extra, ",\"event\":\"truncated\"");
		tail_line_record(r, "", 0, 0, comp, extra.data, ELOG_LEVEL_INFO);
		elog_record_take(&r->msg, elog_utf8_dup(m.data, m.len));
		elog_buf_release(&m);
		r->level = ELOG_LEVEL_WARN;
		tail_set_key(r, "%s:truncated:%lld", ev->ident, (long long)ev->offset);
	}
	fc->cur->bytes += ev->len + 128;
	elog_buf_release(&extra);
	maybe_seal(fc);
	return 0;
}

/* Writes the offsets of acknowledged batches to the state database. */
static int apply_acked(struct shipper *sh, struct elog_tailstate *st)
{
	struct batch *list = take_acked(sh);
	struct elog_err err;
	int rc = 0;

	if (!list)
		return 0;
	elog_err_clear(&err);
	rc = elog_tailstate_begin(st, &err);
	while (list) {
		struct batch *b = list;
		size_t i;

		list = b->ship.next ? batch_of(b->ship.next) : NULL;
		for (i = 0; i < b->ncommits && rc == 0; i++) {
			struct commit *c = &b->commits[i];

			rc = c->forget ? elog_tailstate_forget(st, c->dev, c->ino, c->gen, &err)
			     : elog_tailstate_advance(st, c->dev, c->ino, c->gen, c->offset, &err);
		}
		batch_free(b);
	}
	if (rc == 0)
		rc = elog_tailstate_commit(st, &err);
	if (rc)
		cli_error("%s", err.msg);
	return rc;
}

static char *default_state(void)
{
	char *db = cli_default_db(), *slash = strrchr(db, '/');
	struct elog_buf b = ELOG_BUF_INIT;

	if (slash)
		elog_buf_add(&b, db, (size_t)(slash - db + 1));
	elog_buf_adds(&b, "tail-state.db");
	free(db);
	return elog_buf_detach(&b);
}

static int run_files(char **paths, int n, const struct rpc_client_opts *ro)
{
	struct elog_tailer_opts to = { 0 };
	struct elog_tailstate *st = NULL;
	struct elog_tailer *t = NULL;
	struct shipper sh;
	struct file_ctx fc = { 0 };
	struct elog_err err;
	char *state = tail_o.state ? xstrdup(tail_o.state) : default_state();
	int rc, ready = 0;

	elog_err_clear(&err);
	rc = elog_tailstate_open(&st, state, &err);
	if (rc) {
		cli_error("%s", err.msg);
		free(state);
		return cli_exit_of(rc);
	}
	to.from_end = tail_o.from_end;
	to.partial_delay_ns = PARTIAL_DELAY_NS;
	elog_tailer_new(&t, (const char *const *)paths, (size_t)n, &to, st, &err);
	tail_catch_signals();
	if (tail_shipper_start(&sh, ro, "lines wait in the files") != 0) {
		elog_tailer_free(t);
		elog_tailstate_close(st);
		free(state);
		return EXIT_FAIL;
	}
	fc.sh = &sh;
	rc = 0;
	while (!stop_signal) {
		int more = 0;

		if (apply_acked(&sh, st) != 0 || tail_shipper_refused(&sh)) {
			rc = EXIT_FAIL;
			break;
		}
		if (tail_pending_bytes(&sh) < FILE_BUDGET) {
			fc.now = elog_mono_ns();
			more = elog_tailer_poll(t, fc.now, READ_PER_POLL, on_tail_event, &fc, &err);
			if (more < 0) {
				cli_error("%s", err.msg);
				rc = cli_exit_of(more);
				break;
			}
			fjoin_tick(&fc, elog_mono_ns(), 0);
			tail_seal(&sh, fc.cur);
			fc.cur = NULL;
			/* After the first scan every file found at startup is open at its start
			 * position: whatever is written to it from now on will be shipped. */
			if (tail_o.ready_file && !ready) {
				ready = 1;
				if (cli_write_ready_file(tail_o.ready_file, "files open\n") != 0) {
					rc = EXIT_FAIL;
					break;
				}
			}
		}
		if (!more)
			sleep_ns(POLL_NS);
	}
	fjoin_tick(&fc, elog_mono_ns(), 1);
	tail_seal(&sh, fc.cur);
	fc.cur = NULL;
	tail_shipper_stop(&sh, 2000000000LL);
	apply_acked(&sh, st);
	tail_shipper_release(&sh);
	elog_tailer_free(t);
	elog_tailstate_close(st);
	free(state);
	return rc;
}

static int run_tail(int argc, char **argv)
{
	struct rpc_client_opts ro;
	char **rest = NULL, *key = NULL;
	int nrest = 0, rc, i, dash = -1;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			dash = i;
			break;
		}
	rc = cli_parse(&cmd_tail, dash >= 0 ? dash : argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (dash >= 0 && nrest > 0) {
		rc = cli_usage_error(&cmd_tail, "give files or '-- COMMAND', not both");
		goto out;
	}
	if (dash >= 0 && dash + 1 >= argc) {
		rc = cli_usage_error(&cmd_tail, "no command after '--'");
		goto out;
	}
	if (dash < 0 && nrest == 0) {
		rc = cli_usage_error(&cmd_tail, "no file to follow");
		goto out;
	}
	if (dash >= 0 && tail_o.ready_file) {
		rc = cli_usage_error(&cmd_tail, "--ready-file is for files, not '-- COMMAND'");
		goto out;
	}
	{
		struct elog_err err;

		if (elog_multiline_check(tail_o.multiline, &err) != 0) {
			rc = cli_usage_error(&cmd_tail, "%s", err.msg);
			goto out;
		}
	}
	rc = cli_client_opts(&ro, &key);
	if (rc)
		goto out;
	if (dash >= 0)
		rc = tail_run_command(argv + dash + 1, &ro);
	else
		rc = run_files(rest, nrest, &ro);
out:
	free(key);
	free(rest);
	return rc;
}

const struct command cmd_tail = {
	.name = "tail",
	.summary = "follow files (through rotation) or wrap a command, shipping each line to the hub",
	.usage = "[-c COMP] [--multiline MODE] [--from-end] [--state PATH] [--ready-file PATH] FILE|GLOB... | [-c COMP] [--multiline MODE] [--quiet] -- COMMAND [ARGS...]",
	.options = tail_options,
	.client = 1,
	.run = run_tail,
	.description =
		"With files, follows them like 'tail -F' (polling every 200 ms; globs are expanded "
		"again every second) and sends each line as a record, parsed as 'elog send' does; "
		"the component defaults to the file's base name without extension ('app.log.1' "
		"gives 'app'), and each record has the field file.\n"
		"Rotation by rename: the old file is read until it has not grown for 1 s, then the "
		"new one. Copytruncate: the truncation is noticed (the file shrank or its first bytes "
		"changed), a warning record 'file truncated: PATH' is sent, and the file is read from "
		"its start. Deleted and re-created files, files that do not exist yet and files that "
		"a glob gains are followed too. A last line without newline is held until its "
		"newline arrives, or sent as it is once the file has not grown for 2 s. Lines longer "
		"than 1 MiB are cut and marked with '…[truncated]'; bytes that are not UTF-8 are "
		"replaced.\n"
		"Each file is known by its device, inode and a fingerprint of its first bytes (up "
		"to 256); the offset up to which the server acknowledged its lines is kept in the "
		"state database, and each line carries the key 'identity:offset', which the server "
		"stores once. Stopping and restarting 'elog tail', or the server, loses no line and "
		"stores none twice. With --from-end, files found at startup that the state database "
		"does not know start at their end; files that appear later are read from the start. "
		"While the server is unreachable, elog tail says so once, stops reading after 32 MiB "
		"(the files are the buffer), and reconnects with backoff.\n"
		"Lines are parsed and continuation lines (stack traces, indented lines) joined as "
		"'elog send' does (see --multiline and LINE FORMATS); a joined record of a file has "
		"the key of its first line, and the file's offset advances past its last line once "
		"it is acknowledged. Records of a command keep the order their first lines were "
		"read in, across standard output and error.\n"
		"With '-- COMMAND', runs COMMAND with its standard output and error on two pipes, "
		"passes them through (unless --quiet) and sends each line in the order read; lines "
		"of standard error have the field stream=stderr. SIGINT, SIGTERM and SIGHUP are "
		"forwarded to COMMAND. When it ends, a last record gives its exit status or signal, "
		"and elog tail exits with the same status (128+N for signal N). If the server is "
		"unreachable, COMMAND still runs and its output still passes through; elog tail "
		"tries to deliver for --timeout seconds at the end, then says how many lines could "
		"not be delivered.",
	.examples =
		"elog tail app.log\n"
		"follow app.log through rotation, resuming where the last run stopped\n"
		"elog tail 'app*.log'\n"
		"follow every matching file, including ones created later\n"
		"elog tail -c build -- make\n"
		"run make, showing its output and shipping each line\n",
	.files = "$XDG_STATE_HOME/elog/tail-state.db\toffsets of followed files\n",
	.formats = elog_line_formats,
};
