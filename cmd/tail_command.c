/*
 * tail_command.c — `elog tail -- COMMAND`: the child's stdout and stderr come through two
 * pipes, read with poll(); lines are passed through and queued in read order (at most 64 MiB
 * wait in memory; beyond that lines are counted as undelivered). Batches and the shipper are
 * tail.c's (tail.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "cli.h"
#include "tail.h"
#include "client/client.h"
#include "common/multiline.h"
#include "common/record.h"
#include "common/util.h"
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

		if (tail_pending_bytes(cc->sh) + (cc->cur ? cc->cur->bytes : 0) > CMD_BUDGET) {
			cc->dropped += h->lines;
			elog_record_clear(&h->r);
		} else {
			r = tail_batch_add(&cc->cur);
			*r = h->r;
			tail_set_key(r, "%s:%llu", cc->keybase, (unsigned long long)++cc->nseq);
			cc->cur->lines += h->lines;
			cc->cur->bytes += h->bytes;
			if (cc->cur->n >= BATCH_RECORDS || cc->cur->bytes >= BATCH_BYTES) {
				tail_seal(cc->sh, cc->cur);
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
	tail_line_record(&h->r, rec->text, rec->len, rec->cut, cc->component,
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
	struct elog_record *r = tail_batch_add(&cc->cur);
	struct elog_buf m = ELOG_BUF_INIT, f = ELOG_BUF_INIT;

	if (WIFSIGNALED(status)) {
		elog_buf_addf(&m, "%s killed by signal %d (%s)", cmd, WTERMSIG(status),
			      strsignal(WTERMSIG(status)));
		elog_buf_addf(&f, "\"signal\":%d", WTERMSIG(status));
	} else {
		elog_buf_addf(&m, "%s exited with status %d", cmd, WEXITSTATUS(status));
		elog_buf_addf(&f, "\"exit_status\":%d", WEXITSTATUS(status));
	}
	tail_line_record(r, "", 0, 0, cc->component, f.data, ELOG_LEVEL_INFO);
	elog_record_take(&r->msg, elog_utf8_dup(m.data, m.len));
	r->level = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ELOG_LEVEL_INFO : ELOG_LEVEL_ERROR;
	tail_set_key(r, "%s:exit", cc->keybase);
	cc->cur->lines++;
	cc->cur->bytes += 256;
	elog_buf_release(&m);
	elog_buf_release(&f);
}

int tail_run_command(char **argv, const struct rpc_client_opts *ro)
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
	cc.component = tail_o.component ? tail_o.component : base ? base + 1 : argv[0];
	cc.pass = !tail_o.quiet;
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
	tail_child_pid = pid;
	tail_catch_signals();
	close(po[1]);
	close(pe[1]);
	snprintf(cc.keybase, sizeof(cc.keybase), "cmd:%s:%d:%lld", host, (int)pid,
		 (long long)elog_now_ns());
	if (tail_shipper_start(&sh, ro, "lines are kept in memory") != 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		return EXIT_FAIL;
	}
	memset(st, 0, sizeof(st));
	cc.streams = st;
	for (i = 0; i < 2; i++) {
		struct elog_err err;

		st[i].cc = &cc;
		elog_multiline_init(&st[i].ml, tail_o.multiline, cmd_record, &st[i], &err);   /* checked */
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
				tail_child_pid = 0;
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
				tail_child_pid = 0;
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
		tail_seal(&sh, cc.cur);
		cc.cur = NULL;
	}
	for (i = 0; i < 2; i++)
		elog_multiline_flush(&st[i].ml);
	cmd_release(&cc, 1);
	free(cc.held);
	exit_record(&cc, status, cc.component);
	tail_seal(&sh, cc.cur);
	cc.cur = NULL;
	for (i = 0; i < 2; i++) {
		elog_buf_release(&st[i].line);
		elog_multiline_release(&st[i].ml);
	}
	tail_shipper_stop(&sh, cli_timeout_ns());
	tail_shipper_refused(&sh);   /* says why, when the server refused us */
	undelivered = tail_shipper_release(&sh) + cc.dropped;
	if (undelivered)
		cli_error("%zu line%s of '%s' could not be delivered to '%s'", undelivered,
			  undelivered == 1 ? "" : "s", cc.component, cli_server());
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

