/*
 * send.c — `elog send`: ship a message, or every line of stdin, to the hub.
 */
#include <errno.h>
#include <poll.h>
#include <sys/random.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client/client.h"
#include "common/arena.h"
#include "common/jsonline.h"
#include "common/multiline.h"
#include "common/record.h"
#include "client/shipper.h"
#include "common/timeparse.h"
#include "common/util.h"

#define BATCH_RECORDS 2048
#define BATCH_BYTES (1024 * 1024)
/* Records read and not yet acknowledged, at most (README Limits): past it, send stops reading
 * its input, so the producer waits on its pipe (backpressure) instead of being killed. */
#define SEND_BUFFER (64u << 20)
#define RETRY_DEFAULT_NS (60 * 1000000000LL)

static struct {
	const char *component;
	const char *level;
	struct str_list fields;
	const char *source;
	const char *retry;
	int no_retry;
	const char *multiline;
} o;

static const struct option send_options[] = {
	{ 'c', "component", OPT_STRING, &o.component, "COMP",
	  "component of records that name none (default $ELOG_COMPONENT, else 'shell')", "component", NULL },
	{ 'l', "level", OPT_STRING, &o.level, "LEVEL",
	  "level of records that name none (default info)", "level", NULL },
	{ 'F', "field", OPT_LIST, &o.fields, "K=V", "add field K=V to every record (repeatable)", NULL, NULL },
	{ 0, "source", OPT_STRING, &o.source, "NAME", "source recorded with each record (default send)", NULL, NULL },
	{ 0, "retry", OPT_OPTIONAL, &o.retry, "DURATION",
	  "at end of input, wait up to DURATION (default 60s) for the last acknowledgements while reconnecting", NULL, NULL },
	{ 0, "no-retry", OPT_BOOL, &o.no_retry, NULL,
	  "one stream, one try: no reconnecting; fail (exit 3 when unreachable) when the stream breaks", NULL, NULL },
	{ 0, "multiline", OPT_STRING, &o.multiline, "MODE",
	  "join continuation lines (stack traces) into one record: auto (default), none, or a REGEX a first line matches", NULL, NULL },
	OPT_END
};

/*
 * Records go to the hub through the client library's shipper (shipper.h): it keeps every
 * batch until acknowledged, reconnects with backoff and resends what is unacknowledged. Each
 * record carries a dedupe key (a random stream id and its number), so the server's unique
 * index stores it once however often it is sent. With --no-retry the shipper makes one
 * stream and gives up at its first failure (no keys then).
 *
 * A batch's records have their strings in the batch's arena (elog_jsonline_record_arena), or
 * borrowed from the defaults: a batch is freed (or kept for reuse) whole, never a record at a
 * time. Acknowledged batches are kept for the next ones, up to SPARE_BATCHES: allocating,
 * faulting in and freeing a batch's memory was a quarter of send's CPU.
 */
#define SPARE_BATCHES 8

struct sent_batch {
	struct elog_ship_batch ship;   /* first */
	struct elog_arena arena;       /* the records' strings */
	struct elog_record recs[BATCH_RECORDS + 2];   /* + what one joined line can add */
};

struct batch {
	struct sent_batch *cur;   /* the batch being filled: cur->recs[0..n) */
	struct sent_batch *spare; /* acknowledged batches for reuse, linked by ship.next */
	size_t nspare;
	struct elog_jsonline *jp; /* the line parser's buffers */
	size_t n, bytes;
	struct elog_jsonline_defaults line;   /* -c, -l, --field, --source */
	uint64_t total;
	int64_t first_ns;        /* when the batch's first line was read */
	struct elog_multiline ml;   /* joins standard input's continuation lines */
};

extern const struct command cmd_send;

/* An empty batch to fill: a spare one, or a new one. */
static struct sent_batch *batch_new(struct batch *b)
{
	struct sent_batch *p = b->spare;

	if (p) {
		b->spare = (struct sent_batch *)p->ship.next;
		b->nspare--;
	} else {
		p = xmalloc(sizeof(*p));
		elog_arena_init(&p->arena);
	}
	memset(&p->ship, 0, sizeof(p->ship));
	return p;
}

/* Done with p (acknowledged, or never to be sent): kept for reuse, or freed. */
static void batch_done(struct batch *b, struct sent_batch *p)
{
	if (b->nspare < SPARE_BATCHES) {
		elog_arena_reset(&p->arena);
		p->ship.next = (struct elog_ship_batch *)b->spare;   /* ship is first */
		b->spare = p;
		b->nspare++;
		return;
	}
	elog_arena_release(&p->arena);
	free(p);
}

static void add_line(struct batch *b, const char *line, size_t n, int truncated)
{
	struct elog_record *r = &b->cur->recs[b->n++];

	elog_record_init(r);
	elog_jsonline_record_arena(b->jp, &b->cur->arena, line, n, truncated, &b->line, r);
	if (r->ts_ns == 0)
		r->ts_ns = elog_shipper_wall_ns();   /* when it was read, not when it is delivered */
	if (b->n == 1)
		b->first_ns = elog_mono_ns();
	b->bytes += n + 64;
}

/* A whole record from the joiner: a stack trace is an error unless its text names a level. */
static void add_joined(void *ctx, const struct elog_ml_record *rec)
{
	struct batch *b = ctx;
	struct elog_record *r = &b->cur->recs[b->n++];
	struct elog_jsonline_defaults d = b->line;

	d.level = elog_multiline_default_level(rec, d.level);
	elog_record_init(r);
	elog_jsonline_record_arena(b->jp, &b->cur->arena, rec->text, rec->len, rec->cut, &d, r);
	if (r->ts_ns == 0)
		r->ts_ns = rec->first_tag;   /* when its first line was read (wall clock) */
	if (b->n == 1)
		b->first_ns = elog_mono_ns();
	b->bytes += rec->len + 64;
}

/* Frees b with its batches and parser. */
static void batches_free(struct batch *b)
{
	struct sent_batch *p;

	if (b->cur) {
		elog_arena_release(&b->cur->arena);
		free(b->cur);
	}
	while ((p = b->spare)) {
		b->spare = (struct sent_batch *)p->ship.next;
		elog_arena_release(&p->arena);
		free(p);
	}
	elog_jsonline_free(b->jp);
	free(b);
}

/* The batch is full: it must be sent before the joiner hands over another record. */
static int batch_full(const struct batch *b)
{
	return b->n >= BATCH_RECORDS || b->bytes >= BATCH_BYTES;
}

struct out {
	struct elog_shipper *sh;
	int retry;
	char stream_id[33];
	size_t stream_id_len;
	uint64_t next_rec;
	const char *target;
};

/* Takes back the batches the hub acknowledged. */
static void free_acked(struct batch *b, struct out *ot)
{
	struct elog_ship_batch *l = elog_shipper_take_acked(ot->sh);

	while (l) {
		struct elog_ship_batch *next = l->next;

		batch_done(b, (struct sent_batch *)l);
		l = next;
	}
}

/* The shipper's news, printed once per outage (called on its thread). */
static void on_event(void *ctx, int ev, const struct elog_err *err)
{
	struct out *ot = ctx;

	if (ev == ELOG_SHIP_DOWN)
		cli_error("%s; keeping the records until it is back", err->msg);
	else if (ev == ELOG_SHIP_BACK)
		cli_error("server '%s' is back; sending", ot->target);
}

/* Hands the batch's records to the shipper (recs are left initialised), then waits while
 * SEND_BUFFER bytes are unacknowledged. Fails only when the shipper failed for good. */
static int flush(struct batch *b, struct out *ot, struct elog_err *err)
{
	struct sent_batch *p = b->cur;
	size_t i;

	if (b->n == 0)
		return 0;
	for (i = 0; ot->retry && i < b->n; i++) {
		/* "send:<stream id>:<n>", without snprintf (3% of send's CPU) */
		char key[64], digits[24];
		size_t len = 0, nd = 0;
		uint64_t v = ++ot->next_rec;

		memcpy(key, "send:", 5);
		len = 5;
		memcpy(key + len, ot->stream_id, ot->stream_id_len);
		len += ot->stream_id_len;
		key[len++] = ':';
		do
			digits[nd++] = (char)('0' + v % 10);
		while ((v /= 10) != 0);
		while (nd)
			key[len++] = digits[--nd];
		p->recs[i].dedupe_key = elog_arena_strndup(&p->arena, key, len);
	}
	p->ship.bytes = b->bytes;
	p->ship.lines = b->n;
	elog_shipper_push(ot->sh, &p->ship, p->recs, b->n);
	b->total += b->n;
	b->cur = batch_new(b);
	b->n = 0;
	b->bytes = 0;
	free_acked(b, ot);
	return elog_shipper_wait_room(ot->sh, SEND_BUFFER, err);
}

/* True when stdin has data within ns nanoseconds (0: right now). */
static int input_within(int64_t ns)
{
	struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	return ppoll(&p, 1, &ts, NULL) > 0;
}

/*
 * When to send what was read: at once when the input has been quiet (a lone line goes out
 * immediately); while lines keep coming (the last send was under BUSY_NS ago), lines that
 * arrive within COALESCE_NS of the batch's first one travel together, so a steady stream of
 * 10k lines/s costs about a thousand messages and transactions a second, not ten thousand.
 * 1 ms rather than 300 us (BUSY 2 ms rather than 0.5): at 10k lines/s with one follower, on a
 * quiet machine, alternating 15 s runs: follow latency p99 3.0 / 3.3 ms against 5.6 / 5.6 ms,
 * p50 1.14-1.17 against 0.72-0.80 ms (fewer messages and commits on 2 cores); with 50
 * followers no difference beyond the noise (p99 16.5 / 28.4 against 18.1 / 15.0 ms).
 */
#define BUSY_NS (2000 * 1000LL)
#define COALESCE_NS (1000 * 1000LL)
#define BACKLOG_POLL_NS (5 * 1000000LL)

static int64_t last_send_ns;

/* When the batch should go (monotonic; INT64_MAX: it is empty). While the shipper has not
 * sent the last batch yet (window full, or the hub is away) it is looked at again after
 * BACKLOG_POLL_NS: the batch grows with what comes meanwhile rather than queue many small
 * ones. */
static int64_t send_due(const struct batch *b, struct out *ot, int64_t now)
{
	if (b->n == 0)
		return INT64_MAX;
	if (batch_full(b))
		return now;
	if (elog_shipper_backlog(ot->sh))
		return now + BACKLOG_POLL_NS;
	return now - last_send_ns < BUSY_NS ? b->first_ns + COALESCE_NS : now;
}

/* Whether to send the batch now: no more input is waiting and it is due; while it is not,
 * waits for input (returns 0 once some came). */
static int time_to_send(struct batch *b, struct out *ot)
{
	if (b->n == 0 || input_within(0))
		return 0;
	for (;;) {
		int64_t now = elog_mono_ns(), due = send_due(b, ot, now);

		if (due <= now) {
			last_send_ns = now;
			return 1;
		}
		if (input_within(due - now))
			return 0;
	}
}

/*
 * Standard input is quiet and the joiner holds a record that may still grow (the last line
 * read: only the next line, or ELOG_ML_QUIET_NS without one, says it is whole). Until a line
 * comes, the complete records go when send_due says, and the pending one once
 * ELOG_ML_QUIET_NS passed. Sending the complete records at once made one message and one
 * transaction a line at 10k lines/s: the shipper's queue grew and lines waited in it for up
 * to 10 ms (p99 of follow latency); coalesced (0.3 ms then) they went 4-6 a message.
 */
static int send_while_quiet(struct batch *b, struct out *ot, struct elog_err *err)
{
	for (;;) {
		int64_t ml = elog_multiline_due(&b->ml), now = elog_mono_ns();
		int64_t due = send_due(b, ot, now), next;
		int rc;

		if (!ml && b->n == 0)
			return 0;
		next = ml && ml < due ? ml : due;
		if (next > now && input_within(next - now))
			return 0;
		now = elog_mono_ns();
		if (ml && ml <= now)
			elog_multiline_flush(&b->ml);      /* whole: it goes with the batch, now */
		else if (send_due(b, ot, now) > now)
			continue;
		last_send_ns = now;
		if ((rc = flush(b, ot, err)))
			return rc;
	}
}

/* Reads stdin to EOF, sending a batch whenever it is full or the input pauses. Lines go
 * through the joiner, which hands whole records to the batch (add_joined); a record that
 * may still grow is sent once the input has been quiet for ELOG_ML_QUIET_NS. */
static uint64_t lines_cut;   /* input lines longer than ELOG_MAX_LINE (1 MiB), cut */

static int send_stdin(struct batch *b, struct out *s, struct elog_err *err)
{
	size_t cap = 256 * 1024, len = 0, start;
	char *buf = xmalloc(cap);
	int skipping = 0, rc = 0;
	int64_t now = elog_mono_ns(), wall;

	for (;;) {
		ssize_t n;
		size_t i;

		if (len == cap) {
			/* A line longer than the buffer: grow up to the cap, then cut it. */
			if (cap < ELOG_MAX_LINE + 1) {
				cap *= 2;
				buf = xrealloc(buf, cap);
			} else {
				if (!skipping) {
					elog_multiline_line(&b->ml, buf, ELOG_MAX_LINE, 1,
							    elog_shipper_wall_ns(), 0, now);
					lines_cut++;
				}
				skipping = 1;
				len = 0;
				if (batch_full(b) && (rc = flush(b, s, err)))
					break;
			}
		}
		n = read(STDIN_FILENO, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = elog_err_set(err, ELOG_EIO, "cannot read standard input: %s", strerror(errno));
			break;
		}
		now = elog_mono_ns();
		wall = elog_shipper_wall_ns();
		if (n == 0) {
			if (len > 0 && !skipping) {
				if (len > ELOG_MAX_LINE)
					lines_cut++;
				elog_multiline_line(&b->ml, buf, len, 0, wall, 0, now);
			}
			if (batch_full(b) && (rc = flush(b, s, err)))
				break;
			elog_multiline_flush(&b->ml);
			rc = flush(b, s, err);
			break;
		}
		start = 0;
		for (i = len; i < len + (size_t)n; i++) {
			/* memchr: the byte loop was 8% of send's CPU */
			const char *nl = memchr(buf + i, '\n', len + (size_t)n - i);

			if (!nl)
				break;
			i = (size_t)(nl - buf);
			if (skipping) {
				skipping = 0;
			} else {
				if (i - start > ELOG_MAX_LINE)
					lines_cut++;
				elog_multiline_line(&b->ml, buf + start, i - start, 0, wall, 0, now);
			}
			start = i + 1;
			if (batch_full(b) && (rc = flush(b, s, err)))
				goto out;
		}
		len += (size_t)n;
		memmove(buf, buf + start, len - start);
		len -= start;
		if (elog_multiline_due(&b->ml) && !input_within(0)) {
			if ((rc = send_while_quiet(b, s, err)))
				break;
			continue;
		}
		if (time_to_send(b, s) && (rc = flush(b, s, err)))
			break;
	}
out:
	free(buf);
	return rc;
}

static int run_send(int argc, char **argv)
{
	struct rpc_client_opts ro;
	struct elog_shipper_cfg cfg;
	struct out ot;
	struct elog_ship_batch *p;
	struct batch *b;
	struct elog_err err;
	struct elog_buf extra = ELOG_BUF_INIT;
	char **rest, *key = NULL;
	int nrest, rc, i;
	int64_t retry_ns = RETRY_DEFAULT_NS;
	size_t k, left = 0;

	rc = cli_parse(&cmd_send, argc, argv, &nrest, &rest);
	if (rc)
		return rc < 0 ? 0 : rc;
	memset(&ot, 0, sizeof(ot));
	b = xcalloc(1, sizeof(*b));
	b->cur = batch_new(b);
	b->jp = elog_jsonline_new();
	b->line.level = ELOG_LEVEL_INFO;
	b->line.source = o.source ? o.source : "send";
	if (o.level) {
		b->line.level = elog_level_parse(o.level, strlen(o.level));
		if (b->line.level < 0) {
			free(rest);
			batches_free(b);
			return cli_usage_error(&cmd_send, "unknown level '%s'", o.level);
		}
	}
	b->line.component = o.component ? o.component
			  : getenv("ELOG_COMPONENT") && *getenv("ELOG_COMPONENT") ? getenv("ELOG_COMPONENT")
			  : "shell";
	for (k = 0; k < o.fields.n; k++) {
		const char *kv = o.fields.items[k], *eq = strchr(kv, '=');

		if (!eq || eq == kv) {
			free(rest);
			batches_free(b);
			elog_buf_release(&extra);
			return cli_usage_error(&cmd_send, "invalid field '%s': expected K=V", kv);
		}
		if (extra.len)
			elog_buf_addc(&extra, ',');
		elog_json_quote(&extra, kv, (size_t)(eq - kv));
		elog_buf_addc(&extra, ':');
		elog_json_quote(&extra, eq + 1, strlen(eq + 1));
	}
	if (extra.len)
		b->line.extra_fields = extra.data;
	if (elog_multiline_init(&b->ml, o.multiline, add_joined, b, &err) != 0) {
		rc = cli_usage_error(&cmd_send, "%s", err.msg);
		goto out;
	}
	if (o.retry && o.no_retry) {
		rc = cli_usage_error(&cmd_send, "--retry and --no-retry exclude each other");
		goto out;
	}
	if (o.retry && *o.retry && elog_duration_parse(o.retry, &retry_ns, &err) != 0) {
		rc = cli_usage_error(&cmd_send, "%s for --retry", err.msg);
		goto out;
	}
	rc = cli_client_opts(&ro, &key);
	if (rc)
		goto out;
	ot.retry = !o.no_retry;
	ot.target = cli_server();
	if (ot.retry) {
		unsigned char rnd[16];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			memset(rnd, 0, sizeof(rnd));
		for (k = 0; k < sizeof(rnd); k++)
			snprintf(ot.stream_id + 2 * k, 3, "%02x", rnd[k]);
		ot.stream_id_len = strlen(ot.stream_id);
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.target = cli_server();
	cfg.ro = &ro;
	cfg.connect_timeout_ns = cli_timeout_ns();
	cfg.one_shot = !ot.retry;
	cfg.full_ends = 1;     /* a full disk or a server limit is reported, not waited out */
	cfg.event = on_event;
	cfg.ctx = &ot;
	elog_err_clear(&err);
	if (elog_shipper_start(&ot.sh, &cfg, &err) != 0) {
		cli_error("%s", err.msg);
		rc = EXIT_FAIL;
		goto out;
	}
	if (nrest > 0) {
		struct elog_buf msg = ELOG_BUF_INIT;

		for (i = 0; i < nrest; i++) {
			if (i)
				elog_buf_addc(&msg, ' ');
			elog_buf_adds(&msg, rest[i]);
		}
		add_line(b, msg.data, msg.len, 0);
		elog_buf_release(&msg);
		rc = flush(b, &ot, &err);
	} else {
		rc = send_stdin(b, &ot, &err);
	}
	/* End of input (or a refusal): the last acknowledgements, for up to --retry */
	if (rc == 0 || rc == ELOG_EIO) {
		struct elog_err ferr;
		int frc;

		elog_err_clear(&ferr);
		frc = elog_shipper_finish(ot.sh, ot.retry ? retry_ns : INT64_MAX / 4, &left, &ferr);
		if (rc == 0 && frc) {
			rc = frc;
			err = ferr;
		}
	} else {
		elog_shipper_finish(ot.sh, 0, &left, NULL);
	}
	free_acked(b, &ot);
	if (lines_cut)   /* a warning: the exit status stays what delivery says */
		fprintf(stderr, "elog: %llu line%s longer than 1 MiB %s cut\n",
			(unsigned long long)lines_cut, lines_cut == 1 ? "" : "s",
			lines_cut == 1 ? "was" : "were");
	if (rc) {
		if (rc == ELOG_EIO)
			cli_error("%s", err.msg);
		else
			cli_error("%zu of %llu records not delivered: %s", left,
				  (unsigned long long)b->total, err.msg);
		rc = cli_exit_of(rc);
	}
out:
	if (ot.sh) {
		free_acked(b, &ot);
		while ((p = elog_shipper_take_left(ot.sh)))
			batch_done(b, (struct sent_batch *)p);
		elog_shipper_free(ot.sh);
	}
	elog_multiline_release(&b->ml);
	batches_free(b);
	free(key);
	free(rest);
	elog_buf_release(&extra);
	free(o.fields.items);
	return rc;
}

/* The text line formats whose level elog recognises (the LINE FORMATS of send and tail). */
const char elog_line_formats[] =
	"[WARN] ... / [error] ...\ta level word in brackets, any case, at the start or after a "
	"timestamp: gunicorn, nginx ('2024/12/03 07:50:02 [error] 12#12: ...'), Elixir, MySQL "
	"('[ERROR]', '[Warning]', '[Note]'), Apache ('[core:error]')\n"
	"2024-12-03 07:50:02,123 ERROR worker: ...\tan upper-case level word after a timestamp, "
	"bracketed thread, process id or logger name: logback, log4j, Spring Boot, Python "
	"logging with asctime, zap console, zerolog console ('10:00AM ERR'), Rust env_logger and "
	"tracing (ANSI colors are skipped), Ruby Logger ('E, [...] ERROR -- :'), celery "
	"('ERROR/MainProcess'), loguru ('| ERROR |')\n"
	"ERROR:root:...\tPython logging's default format; also 'WARNING:', 'CRITICAL:'\n"
	"error: ... / Warning: ... / fail: ...\ta level word with a colon in any case, at the "
	"start or after a 'file.c:12:5:' location: compilers, git ('fatal:'), .NET console "
	"('fail:', 'crit:', 'warn:', 'info:', 'dbug:', 'trce:'), PHP ('PHP Fatal error:'), "
	"PostgreSQL ('ERROR:  ...', 'LOG:', 'FATAL:', 'DEBUG1:')\n"
	"E1203 07:50:02.123456 1 main.go:12] ...\tKubernetes' klog and glog: I info, W warn, E error, F fatal\n"
	"<3>...\tsyslog priority (also RFC 5424 '<11>1 ...'): its severity 0-2 fatal, 3 error, "
	"4 warn, 5-6 info, 7 debug\n"
	"Dec  3 07:50:02 host app[123]: error: ...\tsyslog files and journalctl: the level word "
	"after host and tag\n"
	"level=error msg=\"...\"\tlogfmt (Go slog, logrus, Docker, Grafana): level, lvl, severity "
	"or loglevel; also msg, time and the other keys as fields\n"
	"ERRO[0000] ...\tlogrus on a terminal (ERRO, WARN, INFO, DEBU, TRAC, FATA, PANI)\n"
	"1234:M 03 Dec 2024 07:50:02.123 # ...\tRedis: '#' warn, '*' info, '.' and '-' debug\n"
	"npm ERR! ...\tThe npm client (ERR!, WARN)\n"
	"Spellings\tLevel words: trace, trc, verbose, finest, finer; debug, dbg, fine, dbug; info, inf, "
	"information, notice, log, note; warn, warning, wrn; error, err, eror, erro, severe, "
	"fail; fatal, critical, crit, emerg, emergency, alert, panic (upper case), ftl. A "
	"lower-case 'panic:' is Go's panic, a stack trace.\n";

const struct command cmd_send = {
	.name = "send",
	.summary = "send a message, or each line of standard input, to the hub",
	.usage = "[-c COMP] [-l LEVEL] [--field K=V]... [--multiline MODE] [--retry[=DURATION] | --no-retry] [MESSAGE...]",
	.options = send_options,
	.client = 1,
	.run = run_send,
	.description =
		"With MESSAGE, sends one record; without, one record per line of standard input "
		"until end of file, sent as lines arrive (a pause in the input sends what is "
		"buffered) and batched when input is fast.\n"
		"A line that is a JSON object is parsed: level from level, lvl, severity, levelname, "
		"log.level (ECS), L (zap), @l (Serilog), Level, loglevel, level_name or SeverityText; "
		"message from msg, message, M, textPayload (Google Cloud), @m, @mt, Body or "
		"RenderedMessage; time from ts, time, timestamp, @timestamp, T, @t or Timestamp; "
		"component from component (a string, or an object with name, id or type); every "
		"other key is kept as a field. A logfmt line (key=value pairs with a level or msg "
		"key) is parsed the same way. Any other line is kept as text, and its level is the "
		"level word it starts with, in the formats of LINE FORMATS: only at the start of the "
		"line or right after its timestamp, process id, bracketed thread or logger name or "
		"syslog host and tag, so a level word later in the message ('no error found') does "
		"not count. What a line says wins over -c and -l, which only fill what the line "
		"lacks. Lines longer than 1 MiB are cut and marked with '…[truncated]'.\n"
		"Continuation lines join the record they belong to (--multiline auto): indented "
		"lines, and the stack traces of Java (the log line the exception is printed under, "
		"the exception line, '\\tat ...', 'Caused by:', '... N more'), Python ('Traceback "
		"(most recent call last):' through the exception line, chained exceptions, under "
		"an ERROR line from logger.exception), Go ('panic:' and 'goroutine N [...]:' "
		"blocks), Node.js (an Error line and its '    at' frames, with the 'file.js:N' "
		"header of an uncaught error), Ruby ('\\tfrom ...') and .NET ('Unhandled "
		"exception.', '   at ...', inner exceptions). A record ends when a line arrives "
		"that is not a continuation, or after 200 ms without input. A stack trace is an "
		"error unless its first line names another level (a WARN line followed by frames "
		"stays a warning). A joined record holds at most 1000 lines and 1 MiB; beyond "
		"that it is cut, marked with '…[truncated]', and the rest goes on in the next "
		"record. --multiline none sends every line as a record; --multiline REGEX says what "
		"a first line looks like (a POSIX extended regular expression), every other line "
		"continues the record before it.\n"
		"Every record is kept until the hub acknowledged it, that is committed it to the "
		"history: when the hub is unreachable or restarts, send reconnects (backoff 100 ms "
		"to 2 s) and sends again what is unacknowledged, and each record is stored once. "
		"While the hub is away send keeps reading into a buffer of 64 MiB, then stops "
		"reading, so the program writing to it waits (it is never killed). A record's time "
		"is when send read its line, unless the line carries its own. At end of input send "
		"waits up to --retry (default 60s) for the last acknowledgements; then it exits 3 "
		"and says how many records were not delivered. A refused key, a full disk or a "
		"server limit (RESOURCE_EXHAUSTED) is not waited out: send stops and exits 1. "
		"--no-retry makes one stream and fails at once when it breaks.\n"
		"Exits 0 only when every record was acknowledged.",
	.formats = elog_line_formats,
	.examples =
		"elog send -c deploy 'release 1.4 started'\n"
		"send one record from a script\n"
		"printf '{\"level\":\"warn\",\"msg\":\"disk 91%% full\"}\\n' | elog send -c disk\n"
		"send a JSON line\n"
		"make 2>&1 | elog send -c build -l debug\n"
		"ship each line of a build's output as a debug record\n",
	.environment = "ELOG_COMPONENT\tdefault component\n",
};
