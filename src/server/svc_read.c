/*
 * svc_read.c — the read path shared by the native Read and flowctl GetLogs (see svc.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <protobuf-c/protobuf-c.h>

#include "server/svc.h"
#include "store/store.h"
#include "store/retention.h"
#include "common/err.h"
#include "common/util.h"

#define LIVE_BATCH 1024
/* Pages a live follower may have on the way: with one in flight it takes no more, so what is
 * committed meanwhile goes out together in its next page (it was 2: a follower queued pages
 * of one commit each while gRPC was busy). */
#define LIVE_PAGES_QUEUED 1
#define POLL_NS (200 * 1000000LL)
/*
 * Live pages are paced: a follower sends its next page no sooner than LIVE_GAP_PER_FOLLOWER_NS
 * times the number of followers (at most LIVE_GAP_MAX_NS) after its previous one, and what was
 * committed meanwhile goes in that one page. A page costs serve and the reader much more than
 * a record in it (a gRPC message each way, wake-ups, a write to the terminal), and without the
 * gap each follower got one page per commit: with 50 followers at 10k lines/s the machine
 * spent its time on pages and a backlog of seconds built up. Measured (bench/RESULTS.md,
 * h/fanout): a 5 ms gap at 50 followers cut serve's CPU by ~15% and the clients' by ~8%, and
 * p99 from 2.0-5.1 s to 0.5-1.5 s on the loaded machine. With one follower the gap is 0.1 ms.
 * The first record after a quiet spell goes at once.
 */
#define LIVE_GAP_PER_FOLLOWER_NS (100 * 1000LL)
#define LIVE_GAP_MAX_NS (5 * 1000000LL)

/*
 * History goes out a page at a time, and between pages the reader holds no SQLite statement
 * and so no read transaction: a Read whose client stopped reading used to keep its statement
 * (and snapshot) open while it waited for the client, and no checkpoint could get past it, so
 * the WAL grew without bound (27 -> 368 MB with 240k records). Now the query stops when a
 * page is full, the statement is finalized, and the next page is queried again from the last
 * id sent once the page has left.
 */
#define HIST_PAGE_FULL 1

struct hist_ctx {
	struct elog_read_sink *sink;
	int64_t last_id;
};

static int hist_add(void *ctx, const struct elog_record *r)
{
	struct hist_ctx *h = ctx;

	h->last_id = r->id;
	return h->sink->add(h->sink, r) ? HIST_PAGE_FULL : 0;
}

/* Sends the history's records matching f with ids up to max_id (ELOG_ID_UNBOUNDED: all
 * stored when it starts). Returns RPC_OK, RPC_CANCELLED (the peer is gone) or RPC_INTERNAL
 * (err says why). */
static int send_history(struct elog_svc *svc, struct rpc_call *call, const struct elog_filter *f,
			int64_t max_id, struct elog_read_sink *sink, int *told, struct elog_err *err)
{
	struct elog_store *st = NULL;
	struct elog_filter page = *f;   /* shallow: read-only use of f's lists and pattern */
	struct hist_ctx hc = { sink, 0 };
	int rc;

	rc = elog_store_open(&st, svc->db_path, ELOG_STORE_READONLY, err);
	/* A reader asking for records retention removed is told so, once, before the rest. */
	if (rc == 0 && !*told && sink->removed) {
		int64_t through = 0;

		rc = elog_store_removed_for(st, f, &through, err);
		if (rc == 0 && through > 0) {
			*told = 1;
			if (sink->removed(sink, through + 1) != 0 ||
			    sink->flush(sink, 0, 0, 0, 0) != 0) {
				elog_store_close(st);
				return RPC_CANCELLED;
			}
		}
	}
	/* Pages are separate queries: fix the end now so that they add up to one snapshot's
	 * worth (ids are committed in order and never reused). */
	if (rc == 0 && max_id == ELOG_ID_UNBOUNDED)
		rc = elog_store_max_id(st, &max_id, err);
	while (rc == 0) {
		rc = elog_store_query(st, &page, max_id, hist_add, &hc, err);
		if (rc != HIST_PAGE_FULL)
			break;
		/* No statement is open here: the page leaves while the WAL stays free. */
		if (sink->flush(sink, 0, 0, 0, 0) != 0 || rpc_call_wait_sendable(call, 2, 0) != 0) {
			elog_store_close(st);
			return RPC_CANCELLED;
		}
		page.after_id = hc.last_id;
		page.limit = 0;      /* the first page started at the last f->limit matches */
		rc = 0;
	}
	elog_store_close(st);
	return rc < 0 ? RPC_INTERNAL : RPC_OK;
}

/* A live follower's gap: the records matching f with ids from..to, from the history. */
static int backfill(struct elog_svc *svc, struct rpc_call *call, const struct elog_filter *f,
		    int64_t from, int64_t to, struct elog_read_sink *sink, int *told)
{
	struct elog_filter range = *f;   /* shallow: read-only use of f's lists and pattern */

	range.after_id = from - 1;
	range.limit = 0;
	range.tail = 0;
	return send_history(svc, call, &range, to, sink, told, NULL);
}

/* The gap between two live pages of a follower (see LIVE_GAP_PER_FOLLOWER_NS). */
static int64_t live_gap(struct elog_svc *svc)
{
	int64_t gap = (int64_t)elog_hub_followers(svc->hub) * LIVE_GAP_PER_FOLLOWER_NS;

	return gap < LIVE_GAP_MAX_NS ? gap : LIVE_GAP_MAX_NS;
}

/* A follower fell behind the hub's live list: the range mfrom..mto (every committed id in it)
 * is in the history, so what of it matches f goes from there, then the page. Only when the
 * history cannot be read is the follower told what it missed. RPC_OK or RPC_CANCELLED. */
static int send_missed(struct elog_svc *svc, struct rpc_call *call, const struct elog_filter *f,
		       uint64_t missed, int64_t mfrom, int64_t mto, struct elog_read_sink *sink,
		       int *told)
{
	int b = backfill(svc, call, f, mfrom, mto, sink, told);

	if (b == RPC_CANCELLED)
		return RPC_CANCELLED;
	if (b != RPC_OK && sink->flush(sink, 0, missed, mfrom, mto) != 0)
		return RPC_CANCELLED;
	return RPC_OK;
}

/* Waits until the next live page of a follower that sent one at sent_ns may go. */
static void live_pace(struct elog_svc *svc, int64_t sent_ns)
{
	int64_t until = sent_ns + live_gap(svc);
	struct timespec ts;

	if (elog_mono_ns() >= until)
		return;
	ts.tv_sec = (time_t)(until / 1000000000LL);
	ts.tv_nsec = (long)(until % 1000000000LL);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* A live record for a sink that takes the hub's encoding: into the page being built. */
static int live_emit(void *ctx, const struct elog_record *r, const void *wire, size_t len)
{
	struct elog_read_sink *sink = ctx;

	return sink->add_wire(sink, r, wire, len);
}

/*
 * The fan-out: one thread sends the live pages of every follower whose sink takes the hub's
 * encoding (the native Read), in turn, instead of a thread per follower each woken by its own
 * pacing timer. With 50 followers at 10k lines/s that was 10,000 timer wake-ups a second in
 * serve (11-15 us of CPU each on the bench VM); the fan-out wakes when the hub publishes or
 * the earliest follower's gap ends, and sends the pages of every follower due within
 * FANOUT_EARLY_NS of then in the same wake. A follower's own thread waits meanwhile, and takes
 * it back when there is history to send (a range it missed), or when the call ends. A
 * follower with a pattern keeps its own thread (elog_svc_stream_records).
 */
#define FANOUT_EARLY_NS (500 * 1000LL)
#define FANOUT_IDLE_NS (50 * 1000000LL)    /* looks at dead calls at least this often */

struct live_sub {
	struct live_sub *next;
	struct elog_svc *svc;
	struct rpc_call *call;
	struct elog_follower *fol;
	struct elog_read_sink *sink;
	int64_t due_ns;          /* its next page no sooner than this (elog_mono_ns) */
	int handback;            /* the fan-out's own mark: to go back (only it reads this) */
	int done;                /* handed back to its thread (under fanout.mu) */
	int status;              /* then: RPC_OK (a missed range to send) or how the call ends */
	uint64_t missed;
	int64_t mfrom, mto;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv_back;  /* a follower's thread waits for done */
	struct live_sub *subs;
	struct elog_hub *hub;    /* the hub it serves (the first follower's) */
	int running;
} fanout = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0 };

/* Sends one follower's page if it is due, sendable and has records; returns 1 when it goes back
 * to its thread (s->status, s->missed set). Outside fanout.mu: only the fan-out touches s. */
static int fanout_serve(struct live_sub *s, int64_t now, int64_t *wake, int stopped)
{
	size_t n = 0;
	int r, ok;

	if (rpc_call_dead(s->call)) {
		s->status = RPC_CANCELLED;
		return 1;
	}
	if (stopped) {     /* the hub stopped its followers: serve is shutting down */
		s->status = RPC_UNAVAILABLE;
		return 1;
	}
	if (s->due_ns > now + FANOUT_EARLY_NS) {
		if (s->due_ns < *wake)
			*wake = s->due_ns;
		return 0;
	}
	ok = rpc_call_sendable(s->call, LIVE_PAGES_QUEUED);
	if (ok < 0) {
		s->status = RPC_CANCELLED;
		return 1;
	}
	if (!ok) {     /* its last page has not left: looked at again after the gap */
		if (now + LIVE_GAP_MAX_NS < *wake)
			*wake = now + LIVE_GAP_MAX_NS;
		return 0;
	}
	r = elog_follower_scan(s->fol, live_emit, s->sink, &n, &s->missed, &s->mfrom, &s->mto, 0);
	if (r < 0 || (r == 0 && rpc_call_server_stopping(s->call))) {
		s->status = RPC_UNAVAILABLE;
		return 1;
	}
	if (n > 0) {
		if (s->sink->flush(s->sink, 0, 0, 0, 0) != 0) {
			s->status = RPC_CANCELLED;
			return 1;
		}
		s->due_ns = elog_mono_ns() + live_gap(s->svc);
		if (s->due_ns < *wake)
			*wake = s->due_ns;
	}
	if (s->missed) {
		s->status = RPC_OK;
		return 1;
	}
	return 0;
}

static void *fanout_main(void *arg)
{
	struct elog_hub_mark mark = { 0, 0 };
	int stopped = 0;

	(void)arg;
	for (;;) {
		int64_t now = elog_mono_ns(), wake = now + FANOUT_IDLE_NS;
		struct live_sub **pp, *s;
		struct elog_hub *hub;
		int back = 0;

		/* the list changes only here and in fanout_follow (which adds at the head) */
		pthread_mutex_lock(&fanout.mu);
		s = fanout.subs;
		pthread_mutex_unlock(&fanout.mu);
		for (; s; s = s->next)
			if (fanout_serve(s, now, &wake, stopped)) {
				s->handback = 1;      /* below, under the lock */
				back = 1;
			}
		pthread_mutex_lock(&fanout.mu);
		for (pp = &fanout.subs; back && *pp;) {
			s = *pp;
			if (s->handback) {
				*pp = s->next;
				s->done = 1;
			} else {
				pp = &s->next;
			}
		}
		if (back)
			pthread_cond_broadcast(&fanout.cv_back);
		if (!fanout.subs) {
			/* nobody left: the thread ends (the next follower starts another), and does
			 * not touch the hub again, which a follower's call keeps open */
			fanout.running = 0;
			pthread_mutex_unlock(&fanout.mu);
			return NULL;
		}
		hub = fanout.hub;
		pthread_mutex_unlock(&fanout.mu);
		now = elog_mono_ns();
		if (wake > now && elog_hub_wait_publish(hub, &mark, wake - now) < 0)
			stopped = 1;
	}
	return NULL;
}

/* Hands the follower's live pages to the fan-out until there is something only its thread can
 * do; returns with s->status and s->missed set. 1 when the fan-out cannot take it (another
 * hub's follower, or no thread): the caller sends its pages itself. */
static int fanout_follow(struct live_sub *s)
{
	pthread_t th;

	pthread_mutex_lock(&fanout.mu);
	if (fanout.hub && fanout.hub != s->svc->hub && fanout.running) {
		pthread_mutex_unlock(&fanout.mu);
		return 1;
	}
	s->done = 0;
	s->handback = 0;
	s->next = fanout.subs;
	fanout.subs = s;
	if (!fanout.running) {
		pthread_attr_t at;

		fanout.hub = s->svc->hub;
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &at, fanout_main, NULL) != 0) {
			fanout.subs = s->next;
			pthread_attr_destroy(&at);
			pthread_mutex_unlock(&fanout.mu);
			return 1;
		}
		pthread_attr_destroy(&at);
		fanout.running = 1;
	}
	pthread_mutex_unlock(&fanout.mu);
	/* records may wait for it already: the fan-out looks now, not at the next commit */
	elog_hub_kick(s->svc->hub);
	pthread_mutex_lock(&fanout.mu);
	while (s->done != 1)
		pthread_cond_wait(&fanout.cv_back, &fanout.mu);
	pthread_mutex_unlock(&fanout.mu);
	return 0;
}

int elog_svc_stream_records(struct elog_svc *svc, struct rpc_call *call,
			    const struct elog_filter *f, int follow, struct elog_read_sink *sink,
			    char *msg, size_t msgsz)
{
	struct elog_follower *fol = NULL;
	struct elog_err err;
	int64_t live_after = 0;
	int rc, told = 0;

	elog_err_clear(&err);
	if (follow)
		fol = elog_hub_follow(svc->hub, f, &live_after);
	rc = send_history(svc, call, f, follow ? live_after : ELOG_ID_UNBOUNDED, sink, &told,
			  &err);
	if (rc != RPC_OK) {
		elog_follower_close(fol);
		if (rc == RPC_INTERNAL)
			snprintf(msg, msgsz, "%s", err.msg);
		return rc;
	}
	if (sink->flush(sink, follow, 0, 0, 0) != 0) {
		elog_follower_close(fol);
		return RPC_CANCELLED;
	}
	if (!follow)
		return RPC_OK;

	/* Its live pages from the fan-out, unless it has a pattern: a regex costs what the client
	 * chose (bounded by PCRE2's match limit, still up to seconds for a hostile one, t9520) and
	 * runs on the follower's own thread, where it slows nobody else. */
	if (sink->add_wire && !f->pattern && !f->xpattern) {
		struct live_sub sub;

		memset(&sub, 0, sizeof(sub));
		sub.svc = svc;
		sub.call = call;
		sub.fol = fol;
		sub.sink = sink;
		while (fanout_follow(&sub) == 0) {
			int st = sub.status;

			if (st == RPC_OK) {     /* a range it missed, from the history */
				st = send_missed(svc, call, f, sub.missed, sub.mfrom, sub.mto, sink,
						 &told);
				if (st == RPC_OK && sink->flush(sink, 0, 0, 0, 0) != 0)
					st = RPC_CANCELLED;
				sub.missed = 0;
				if (st == RPC_OK)
					continue;
			}
			if (st == RPC_UNAVAILABLE)
				snprintf(msg, msgsz, "server is shutting down");
			elog_follower_close(fol);
			return st;
		}
		/* the fan-out could not take it: its own thread sends, as below */
	}
	{
		struct elog_record *batch = xcalloc(LIVE_BATCH, sizeof(*batch));
		int status = RPC_OK;
		int64_t sent_ns = 0;

		for (;;) {
			uint64_t missed = 0;
			int64_t mfrom = 0, mto = 0;
			size_t n = 0, i;
			int r;

			if (rpc_call_dead(call)) {
				status = RPC_CANCELLED;
				break;
			}
			if (sent_ns)
				live_pace(svc, sent_ns);
			if (sink->add_wire)
				r = elog_follower_scan(fol, live_emit, sink, &n, &missed, &mfrom, &mto,
						       POLL_NS);
			else
				r = elog_follower_next(fol, batch, LIVE_BATCH, &n, &missed, &mfrom,
						       &mto, POLL_NS);
			if (r < 0 || (r == 0 && rpc_call_server_stopping(call))) {
				status = RPC_UNAVAILABLE;
				snprintf(msg, msgsz, "server is shutting down");
				break;
			}
			if (r == 0)
				continue;
			for (i = 0; i < n && !sink->add_wire; i++) {
				if (status == RPC_OK && sink->add(sink, &batch[i]) &&
				    sink->flush(sink, 0, 0, 0, 0) != 0)
					status = RPC_CANCELLED;
				elog_record_clear(&batch[i]);
			}
			/* this follower fell behind the hub's live list after those records */
			if (status == RPC_OK && missed)
				status = send_missed(svc, call, f, missed, mfrom, mto, sink, &told);
			if (status == RPC_OK && sink->flush(sink, 0, 0, 0, 0) != 0)
				status = RPC_CANCELLED;
			sent_ns = elog_mono_ns();
			/* Wait for the message to leave before taking more: what bounds a slow
			 * follower is the hub's shared live list, not gRPC's queue. */
			if (status == RPC_OK && rpc_call_wait_sendable(call, LIVE_PAGES_QUEUED, 0) != 0)
				status = RPC_CANCELLED;
			if (status != RPC_OK)
				break;
		}
		free(batch);
		elog_follower_close(fol);
		return status;
	}
}

int elog_svc_recv_ignored(struct rpc_call *call, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m;
	char msg[200];
	int rc = rpc_call_recv(call, d, &m);

	if (rc == 1)
		protobuf_c_message_free_unpacked(m, NULL);
	if (rc != -2)
		return 0;
	snprintf(msg, sizeof(msg), "undecodable %s", d->name);
	rpc_call_finish(call, RPC_INVALID_ARGUMENT, msg);
	return -1;
}

int elog_svc_status_of(int rc)
{
	switch (rc) {
	case ELOG_OK:
		return RPC_OK;
	case ELOG_EUSAGE:
		return RPC_INVALID_ARGUMENT;
	case ELOG_EUNAVAIL:
		return RPC_UNAVAILABLE;
	case ELOG_EFULL:
		return RPC_RESOURCE_EXHAUSTED;
	case ELOG_EAUTH:
		return RPC_UNAUTHENTICATED;
	case ELOG_EIO:
		return RPC_INTERNAL;
	default:
		return RPC_UNAVAILABLE;
	}
}

char *elog_svc_take_string(char **pbfield)
{
	char *s = *pbfield;
	size_t n;

	if (!s || !*s)
		return xstrdup("");
	n = strlen(s);
	if (elog_utf8_valid(s, n)) {
		*pbfield = NULL;
		return s;
	}
	return elog_utf8_dup(s, n);
}
