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
 * Command: the child's stdout and stderr come through two pipes, read with poll(); lines are
 * passed through and queued in read order (at most 64 MiB wait in memory; beyond that lines are
 * counted as undelivered).
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
#include "client/client.h"
#include "common/jsonline.h"
#include "common/multiline.h"
#include "common/record.h"
#include "client/shipper.h"
#include "client/tailer.h"
#include "client/tailstate.h"
#include "common/util.h"

#define POLL_NS (200 * 1000000LL)
#define PARTIAL_DELAY_NS (2000 * 1000000LL)
#define BATCH_RECORDS 1024
#define BATCH_BYTES (1024 * 1024)
#define FILE_BUDGET (32u << 20)
#define CMD_BUDGET (64u << 20)
#define READ_PER_POLL (4u << 20)

static struct {
	const char *component;
	int from_end;
	int quiet;
	const char *state;
	const char *ready_file;
	const char *multiline;
} o;

static const struct option tail_options[] = {
	{ 'c', "component", OPT_STRING, &o.component, "COMP",
	  "component of lines that name none (default: file base name, or command name)",
	  "component", NULL },
	{ 0, "from-end", OPT_BOOL, &o.from_end, NULL,
	  "start files present at startup and never seen before at their end", NULL, NULL },
	{ 'q', "quiet", OPT_BOOL, &o.quiet, NULL,
	  "command mode: do not pass the command's output through", NULL, NULL },
	{ 0, "state", OPT_STRING, &o.state, "PATH",
	  "file offsets database (default $XDG_STATE_HOME/elog/tail-state.db)", "file", NULL },
	{ 0, "ready-file", OPT_STRING, &o.ready_file, "PATH",
	  "files: write PATH once the files found at startup are open and positioned", "file", NULL },
	{ 0, "multiline", OPT_STRING, &o.multiline, "MODE",
	  "join continuation lines (stack traces) into one record: auto (default), none, or a REGEX a first line matches", NULL, NULL },
	OPT_END
};

extern const struct command cmd_tail;
extern const char elog_line_formats[];   /* send.c */

/* ---- batches and the shipper thread ------------------------------------------------------ */

struct commit {
	uint64_t dev, ino;
	int64_t gen, offset;
	int forget;
};

struct batch {
	struct elog_ship_batch ship;     /* first (see batch_of): its entry in the shipper */
	struct elog_record *recs;
	size_t n, cap, bytes, lines;
	struct commit *commits;
	size_t ncommits, ccap;
};

/* The client library's shipper (shipper.h) delivers sealed batches on its own thread,
 * reconnecting with backoff and resending what is unacknowledged. */
struct shipper {
	struct elog_shipper *es;
	const char *buffer_word;       /* where lines wait meanwhile, for the message */
};

/* The batch whose shipper entry sb is. */
static struct batch *batch_of(struct elog_ship_batch *sb)
{
	return (struct batch *)sb;
}

static void batch_free(struct batch *b)
{
	size_t i;

	if (!b)
		return;
	for (i = 0; i < b->n; i++)
		elog_record_clear(&b->recs[i]);
	free(b->recs);
	free(b->commits);
	free(b);
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };

	nanosleep(&ts, NULL);
}

/* Queues b (may be empty: then freed) for the shipper. */
static void seal(struct shipper *sh, struct batch *b)
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

static size_t pending_bytes(struct shipper *sh)
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

static int shipper_start(struct shipper *sh, const struct rpc_client_opts *ro, const char *word)
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
static int shipper_refused(struct shipper *sh)
{
	struct elog_err err;

	if (!elog_shipper_failed(sh->es, &err))
		return 0;
	cli_error("%s", err.msg);
	return 1;
}

/* Asks the shipper to deliver what is queued within timeout_ns, and waits for it. */
static void shipper_stop(struct shipper *sh, int64_t timeout_ns)
{
	elog_shipper_finish(sh->es, timeout_ns, NULL, NULL);
}

/* Frees what is left after shipper_stop; returns the lines that were not delivered. */
static size_t shipper_release(struct shipper *sh)
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

static struct elog_record *batch_add(struct batch **bp)
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
static void line_record(struct elog_record *r, const char *line, size_t n, int cut,
			const char *component, const char *extra, int level)
{
	const struct elog_jsonline_defaults d = { component, level, "tail", extra };

	elog_jsonline_record(line, n, cut, &d, r);
	if (r->ts_ns == 0)
		r->ts_ns = elog_shipper_wall_ns();   /* when it was read, not when it is delivered */
}

static void set_key(struct elog_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_key(struct elog_record *r, const char *fmt, ...)
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
static volatile pid_t child_pid;

static void on_signal(int sig)
{
	if (child_pid > 0)
		kill(child_pid, sig);
	else
		stop_signal = sig;
}

static void catch_signals(void)
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
		seal(fc->sh, fc->cur);
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
	r = batch_add(&fc->cur);
	line_record(r, rec->text, rec->len, rec->cut, fj->component, extra.data,
		    elog_multiline_default_level(rec, ELOG_LEVEL_INFO));
	set_key(r, "%s:%lld", fj->ident, (long long)rec->first_tag);
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
	fj->component = xstrdup(o.component ? o.component : ev->component);
	fj->dev = ev->dev;
	fj->ino = ev->ino;
	fj->gen = ev->gen;
	elog_multiline_init(&fj->ml, o.multiline, file_record, fj, &err);   /* checked at startup */
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
	const char *comp = o.component ? o.component : ev->component;

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
	r = batch_add(&fc->cur);
	if (ev->kind == ELOG_TAIL_TRUNCATED) {
		struct elog_buf m = ELOG_BUF_INIT;

		elog_buf_addf(&m, "file truncated: %s", ev->path);
		elog_buf_adds(&extra, ",\"event\":\"truncated\"");
		line_record(r, "", 0, 0, comp, extra.data, ELOG_LEVEL_INFO);
		elog_record_take(&r->msg, elog_utf8_dup(m.data, m.len));
		elog_buf_release(&m);
		r->level = ELOG_LEVEL_WARN;
		set_key(r, "%s:truncated:%lld", ev->ident, (long long)ev->offset);
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
	char *state = o.state ? xstrdup(o.state) : default_state();
	int rc, ready = 0;

	elog_err_clear(&err);
	rc = elog_tailstate_open(&st, state, &err);
	if (rc) {
		cli_error("%s", err.msg);
		free(state);
		return cli_exit_of(rc);
	}
	to.from_end = o.from_end;
	to.partial_delay_ns = PARTIAL_DELAY_NS;
	elog_tailer_new(&t, (const char *const *)paths, (size_t)n, &to, st, &err);
	catch_signals();
	if (shipper_start(&sh, ro, "lines wait in the files") != 0) {
		elog_tailer_free(t);
		elog_tailstate_close(st);
		free(state);
		return EXIT_FAIL;
	}
	fc.sh = &sh;
	rc = 0;
	while (!stop_signal) {
		int more = 0;

		if (apply_acked(&sh, st) != 0 || shipper_refused(&sh)) {
			rc = EXIT_FAIL;
			break;
		}
		if (pending_bytes(&sh) < FILE_BUDGET) {
			fc.now = elog_mono_ns();
			more = elog_tailer_poll(t, fc.now, READ_PER_POLL, on_tail_event, &fc, &err);
			if (more < 0) {
				cli_error("%s", err.msg);
				rc = cli_exit_of(more);
				break;
			}
			fjoin_tick(&fc, elog_mono_ns(), 0);
			seal(&sh, fc.cur);
			fc.cur = NULL;
			/* After the first scan every file found at startup is open at its start
			 * position: whatever is written to it from now on will be shipped. */
			if (o.ready_file && !ready) {
				ready = 1;
				if (cli_write_ready_file(o.ready_file, "files open\n") != 0) {
					rc = EXIT_FAIL;
					break;
				}
			}
		}
		if (!more)
			sleep_ns(POLL_NS);
	}
	fjoin_tick(&fc, elog_mono_ns(), 1);
	seal(&sh, fc.cur);
	fc.cur = NULL;
	shipper_stop(&sh, 2000000000LL);
	apply_acked(&sh, st);
	shipper_release(&sh);
	elog_tailer_free(t);
	elog_tailstate_close(st);
	free(state);
	return rc;
}

/* ---- command ----------------------------------------------------------------------------- */

struct stream {
	int fd;               /* -1 once at end of file */
	int out;              /* pass through to this fd */
	int is_err;
	struct elog_buf line;
	int cut;
	int64_t last_ns;
	struct cmd_ctx *cc;
	struct elog_multiline ml;   /* joins this stream's continuation lines */
};

/* A finished record of a stream, waiting for the records the other stream started before it. */
struct held {
	int64_t seq;              /* read order of its first line */
	size_t lines, bytes;
	struct elog_record r;
};

#define HELD_MAX_RECORDS 4096
#define HELD_MAX_BYTES (8u << 20)

struct cmd_ctx {
	struct shipper *sh;
	struct batch *cur;
	struct stream *streams;   /* [2] */
	struct held *held;        /* sorted by seq */
	size_t nheld, held_cap, held_bytes;
	int64_t line_seq;         /* lines read so far, both streams */
	const char *component;
	char keybase[96];
	uint64_t nseq;
	size_t dropped;
	int pass;             /* pass output through */
};

/*
 * Records go out in the order their first lines were read, across both streams: a record
 * that ended waits (held) while the other stream has a record pending that started before
 * it (at most ELOG_ML_QUIET_NS; and at most HELD_MAX_RECORDS / HELD_MAX_BYTES wait).
 */
static void cmd_release(struct cmd_ctx *cc, int all)
{
	int64_t min_pending = INT64_MAX;
	size_t i, k = 0;

	for (i = 0; i < 2; i++)
		if (cc->streams[i].ml.lines > 0 && cc->streams[i].ml.first_tag < min_pending)
			min_pending = cc->streams[i].ml.first_tag;
	if (cc->nheld > HELD_MAX_RECORDS || cc->held_bytes > HELD_MAX_BYTES)
		all = 1;
	for (; k < cc->nheld && (all || cc->held[k].seq < min_pending); k++) {
		struct held *h = &cc->held[k];
		struct elog_record *r;

		if (pending_bytes(cc->sh) + (cc->cur ? cc->cur->bytes : 0) > CMD_BUDGET) {
			cc->dropped += h->lines;
			elog_record_clear(&h->r);
		} else {
			r = batch_add(&cc->cur);
			*r = h->r;
			set_key(r, "%s:%llu", cc->keybase, (unsigned long long)++cc->nseq);
			cc->cur->lines += h->lines;
			cc->cur->bytes += h->bytes;
			if (cc->cur->n >= BATCH_RECORDS || cc->cur->bytes >= BATCH_BYTES) {
				seal(cc->sh, cc->cur);
				cc->cur = NULL;
			}
		}
		cc->held_bytes -= h->bytes;
	}
	if (k == 0)
		return;
	memmove(cc->held, cc->held + k, (cc->nheld - k) * sizeof(*cc->held));
	cc->nheld -= k;
}

/* A whole record of a stream (from its joiner): held in read order, then released. */
static void cmd_record(void *ctx, const struct elog_ml_record *rec)
{
	struct stream *s = ctx;
	struct cmd_ctx *cc = s->cc;
	struct held *h;
	size_t at;

	if (cc->nheld == cc->held_cap) {
		cc->held_cap = cc->held_cap ? cc->held_cap * 2 : 16;
		cc->held = xrealloc(cc->held, cc->held_cap * sizeof(*cc->held));
	}
	at = cc->nheld;
	while (at > 0 && cc->held[at - 1].seq > rec->first_tag)
		at--;
	if (at < cc->nheld)
		memmove(cc->held + at + 1, cc->held + at, (cc->nheld - at) * sizeof(*cc->held));
	cc->nheld++;
	h = &cc->held[at];
	h->seq = rec->first_tag;
	h->lines = rec->lines;
	h->bytes = rec->len + 128;
	cc->held_bytes += h->bytes;
	elog_record_init(&h->r);
	line_record(&h->r, rec->text, rec->len, rec->cut, cc->component,
		    s->is_err ? "\"stream\":\"stderr\"" : NULL,
		    elog_multiline_default_level(rec, ELOG_LEVEL_INFO));
}

static void cmd_line(struct cmd_ctx *cc, struct stream *s, int64_t now)
{
	++cc->line_seq;
	elog_multiline_line(&s->ml, s->line.data ? s->line.data : "", s->line.len, s->cut,
			    cc->line_seq, cc->line_seq, now);
	elog_buf_reset(&s->line);
	s->cut = 0;
}

static void pass_through(struct cmd_ctx *cc, int fd, const char *p, size_t n)
{
	while (cc->pass && n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			cc->pass = 0;   /* our output is gone: keep shipping */
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void cmd_bytes(struct cmd_ctx *cc, struct stream *s, const char *buf, size_t n, int64_t now)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(buf + i, '\n', n - i);
		size_t seg = nl ? (size_t)(nl - (buf + i)) : n - i;

		if (!s->cut) {
			size_t room = ELOG_MAX_LINE - s->line.len;

			elog_buf_add(&s->line, buf + i, seg > room ? room : seg);
			if (seg > room)
				s->cut = 1;
		}
		i += seg;
		if (nl) {
			i++;
			cmd_line(cc, s, now);
		}
	}
}

static void exit_record(struct cmd_ctx *cc, int status, const char *cmd)
{
	struct elog_record *r = batch_add(&cc->cur);
	struct elog_buf m = ELOG_BUF_INIT, f = ELOG_BUF_INIT;

	if (WIFSIGNALED(status)) {
		elog_buf_addf(&m, "%s killed by signal %d (%s)", cmd, WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		elog_buf_addf(&f, "\"signal\":%d", WTERMSIG(status));
	} else {
		elog_buf_addf(&m, "%s exited with status %d", cmd, WEXITSTATUS(status));
		elog_buf_addf(&f, "\"exit_status\":%d", WEXITSTATUS(status));
	}
	line_record(r, "", 0, 0, cc->component, f.data, ELOG_LEVEL_INFO);
	elog_record_take(&r->msg, elog_utf8_dup(m.data, m.len));
	r->level = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ELOG_LEVEL_INFO : ELOG_LEVEL_ERROR;
	set_key(r, "%s:exit", cc->keybase);
	cc->cur->lines++;
	cc->cur->bytes += 256;
	elog_buf_release(&m);
	elog_buf_release(&f);
}

static int run_command(char **argv, const struct rpc_client_opts *ro)
{
	struct shipper sh;
	struct cmd_ctx cc;
	struct stream st[2];
	int po[2], pe[2], status = 0, exited = 0, i, rc;
	char buf[65536], host[64] = "";
	const char *base = strrchr(argv[0], '/');
	int64_t exited_at = 0;
	size_t undelivered;
	pid_t pid;

	memset(&cc, 0, sizeof(cc));
	cc.component = o.component ? o.component : base ? base + 1 : argv[0];
	cc.pass = !o.quiet;
	cc.sh = &sh;
	gethostname(host, sizeof(host) - 1);
	if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		cli_error("cannot create a pipe: %s", strerror(errno));
		return EXIT_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("cannot start '%s': %s", argv[0], strerror(errno));
		return EXIT_FAIL;
	}
	if (pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(po[1], STDOUT_FILENO);
		dup2(pe[1], STDERR_FILENO);
		execvp(argv[0], argv);
		dprintf(STDERR_FILENO, "elog: cannot run '%s': %s\n", argv[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}
	child_pid = pid;
	catch_signals();
	close(po[1]);
	close(pe[1]);
	snprintf(cc.keybase, sizeof(cc.keybase), "cmd:%s:%d:%lld", host, (int)pid,
		 (long long)elog_now_ns());
	if (shipper_start(&sh, ro, "lines are kept in memory") != 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return EXIT_FAIL;
	}
	memset(st, 0, sizeof(st));
	cc.streams = st;
	for (i = 0; i < 2; i++) {
		struct elog_err err;

		st[i].cc = &cc;
		elog_multiline_init(&st[i].ml, o.multiline, cmd_record, &st[i], &err);   /* checked */
	}
	st[0].fd = po[0];
	st[0].out = STDOUT_FILENO;
	st[1].fd = pe[0];
	st[1].out = STDERR_FILENO;
	st[1].is_err = 1;
	for (;;) {
		struct pollfd pfd[2];
		int nfd = 0, idx[2];
		int64_t now;

		for (i = 0; i < 2; i++)
			if (st[i].fd >= 0) {
				pfd[nfd].fd = st[i].fd;
				pfd[nfd].events = POLLIN;
				pfd[nfd].revents = 0;
				idx[nfd++] = i;
			}
		if (nfd == 0 && exited)
			break;
		if (!exited) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exited = 1;
				exited_at = elog_mono_ns();
				child_pid = 0;
			}
		}
		/* a child gone while a descendant keeps its pipes: give up on them after a while */
		if (exited && elog_mono_ns() - exited_at > 500000000LL && nfd > 0) {
			for (i = 0; i < 2; i++)
				if (st[i].fd >= 0) {
					close(st[i].fd);
					st[i].fd = -1;
					elog_multiline_flush(&st[i].ml);
				}
			continue;
		}
		if (nfd == 0) {
			if (waitpid(pid, &status, 0) == pid) {
				exited = 1;
				child_pid = 0;
			}
			continue;
		}
		rc = poll(pfd, (nfds_t)nfd, 100);
		now = elog_mono_ns();
		for (i = 0; rc > 0 && i < nfd; i++) {
			struct stream *s = &st[idx[i]];
			ssize_t n;

			if (!pfd[i].revents)
				continue;
			n = read(s->fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				if (s->line.len > 0 || s->cut)
					cmd_line(&cc, s, now);
				elog_multiline_flush(&s->ml);
				close(s->fd);
				s->fd = -1;
				continue;
			}
			pass_through(&cc, s->out, buf, (size_t)n);
			cmd_bytes(&cc, s, buf, (size_t)n, now);
			s->last_ns = now;
		}
		for (i = 0; i < 2; i++) {
			if (st[i].fd >= 0 && (st[i].line.len > 0 || st[i].cut) &&
			    now - st[i].last_ns >= PARTIAL_DELAY_NS)
				cmd_line(&cc, &st[i], now);
			elog_multiline_tick(&st[i].ml, elog_mono_ns());
		}
		cmd_release(&cc, 0);
		seal(&sh, cc.cur);
		cc.cur = NULL;
	}
	for (i = 0; i < 2; i++)
		elog_multiline_flush(&st[i].ml);
	cmd_release(&cc, 1);
	free(cc.held);
	exit_record(&cc, status, cc.component);
	seal(&sh, cc.cur);
	cc.cur = NULL;
	for (i = 0; i < 2; i++) {
		elog_buf_release(&st[i].line);
		elog_multiline_release(&st[i].ml);
	}
	shipper_stop(&sh, cli_timeout_ns());
	shipper_refused(&sh);   /* says why, when the server refused us */
	undelivered = shipper_release(&sh) + cc.dropped;
	if (undelivered)
		cli_error("%zu line%s of '%s' could not be delivered to '%s'", undelivered,
			  undelivered == 1 ? "" : "s", cc.component, cli_server());
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
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
	if (dash >= 0 && o.ready_file) {
		rc = cli_usage_error(&cmd_tail, "--ready-file is for files, not '-- COMMAND'");
		goto out;
	}
	{
		struct elog_err err;

		if (elog_multiline_check(o.multiline, &err) != 0) {
			rc = cli_usage_error(&cmd_tail, "%s", err.msg);
			goto out;
		}
	}
	rc = cli_client_opts(&ro, &key);
	if (rc)
		goto out;
	if (dash >= 0)
		rc = run_command(argv + dash + 1, &ro);
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
