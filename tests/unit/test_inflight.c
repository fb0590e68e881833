/* test_inflight.c — inflight.c: submissions to a real hub counted until their done callback,
 * the first failure kept as an rpc status, and the submitter's wait for a group and room. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "hub/hub.h"
#include "server/inflight.h"
#include "common/record.h"
#include "rpc/rpc.h"
#include "unit.h"
#include "hub_fixture.h"

/* ---- helpers ------------------------------------------------------------------------ */

static char tmpdir[256];

static struct elog_hub *hub_open(void)
{
	char path[512];

	return tmp_hub_open("inflight", NULL, tmpdir, sizeof(tmpdir), path, sizeof(path));
}

static void hub_close(struct elog_hub *h)
{
	tmp_hub_close(h, tmpdir);
}

/* Done callbacks wait for the gate when asked (a commit that takes its time). */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open;

static void gate_set(int open)
{
	pthread_mutex_lock(&gate_mu);
	gate_open = open;
	pthread_cond_broadcast(&gate_cv);
	pthread_mutex_unlock(&gate_mu);
}

/* One submission. The done callback reports fake_rc/fake_msg instead of the hub's outcome
 * when fake is set (a commit that failed). */
struct sub {
	struct elog_ingest in;
	struct elog_record rec;
	struct elog_inflight *f;
	int fake, fake_rc;
	const char *fake_msg;
	int hold;                    /* wait for the gate before reporting */
	int done_ran, hub_rc;
};

static void sub_done(struct elog_ingest *in, int rc, const char *msg)
{
	struct sub *s = (struct sub *)in;

	if (s->hold) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 20;
		pthread_mutex_lock(&gate_mu);
		while (!gate_open && pthread_cond_timedwait(&gate_cv, &gate_mu, &ts) == 0)
			;
		pthread_mutex_unlock(&gate_mu);
	}
	s->done_ran = 1;
	s->hub_rc = rc;
	if (s->fake)
		elog_inflight_done(s->f, s->fake_rc, s->fake_msg);
	else
		elog_inflight_done(s->f, rc, msg);
}

static void sub_init(struct sub *s, struct elog_inflight *f, const char *msg)
{
	memset(s, 0, sizeof(*s));
	elog_record_init(&s->rec);
	elog_record_set(&s->rec.component, "inflight", 8);
	elog_record_set(&s->rec.msg, msg, strlen(msg));
	s->in.recs = &s->rec;
	s->in.n = 1;
	s->in.done = sub_done;
	s->f = f;
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_submit_then_wait(void)
{
	struct elog_hub *h = hub_open();
	struct elog_inflight f;
	struct sub s[3];
	int i;

	elog_inflight_init(&f);
	pthread_mutex_lock(&f.mu);
	for (i = 0; i < 3; i++) {
		sub_init(&s[i], &f, i == 0 ? "one" : i == 1 ? "two" : "three");
		CHECK_INT(elog_inflight_submit_locked(&f, h, &s[i].in), 0);
	}
	elog_inflight_wait_locked(&f);
	CHECK_INT(f.count, 0);
	CHECK_INT(f.failed, 0);
	pthread_mutex_unlock(&f.mu);
	for (i = 0; i < 3; i++) {
		CHECK_INT(s[i].done_ran, 1);
		CHECK_INT(s[i].hub_rc, 0);
		CHECK_INT(s[i].in.stored, 1);
		CHECK(s[i].rec.id > 0);
		elog_record_clear(&s[i].rec);
	}
	elog_inflight_destroy(&f);
	hub_close(h);
}

static void test_first_failure_wins(void)
{
	struct elog_hub *h = hub_open();
	struct elog_inflight f, g;
	struct sub s[3], t;
	size_t collected = 5;
	int closing = 0, i;

	elog_inflight_init(&f);
	pthread_mutex_lock(&f.mu);
	for (i = 0; i < 3; i++) {
		sub_init(&s[i], &f, "x");
		s[i].fake = i > 0;      /* the hub runs done callbacks in submission order */
		s[i].fake_rc = i == 1 ? ELOG_EIO : ELOG_EFULL;
		s[i].fake_msg = i == 1 ? "disk is gone" : "disk is full";
		CHECK_INT(elog_inflight_submit_locked(&f, h, &s[i].in), 0);
	}
	elog_inflight_wait_locked(&f);
	CHECK_INT(f.count, 0);
	CHECK_INT(f.failed, 1);
	CHECK_INT(f.fail_status, RPC_INTERNAL);
	CHECK_STR(f.fail_msg, "disk is gone");
	/* a failed call submits nothing more, whatever was collected */
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 4, &collected, &closing, NULL), 0);
	pthread_mutex_unlock(&f.mu);
	for (i = 0; i < 3; i++)
		elog_record_clear(&s[i].rec);
	elog_inflight_destroy(&f);

	/* no message: "commit failed" */
	elog_inflight_init(&g);
	sub_init(&t, &g, "y");
	t.fake = 1;
	t.fake_rc = ELOG_EUNAVAIL;
	t.fake_msg = NULL;
	pthread_mutex_lock(&g.mu);
	CHECK_INT(elog_inflight_submit_locked(&g, h, &t.in), 0);
	elog_inflight_wait_locked(&g);
	CHECK_INT(g.failed, 1);
	CHECK_INT(g.fail_status, RPC_UNAVAILABLE);
	CHECK_STR(g.fail_msg, "commit failed");
	pthread_mutex_unlock(&g.mu);
	elog_record_clear(&t.rec);
	elog_inflight_destroy(&g);
	hub_close(h);
}

static void test_wait_to_submit_at_once(void)
{
	struct elog_inflight f;
	size_t collected = 0;
	int closing = 1, waiting = 7;

	elog_inflight_init(&f);
	pthread_mutex_lock(&f.mu);
	/* closing with nothing collected: nothing more will go */
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 4, &collected, &closing, &waiting), 0);
	/* something collected and room: it goes, closing or not */
	collected = 3;
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 4, &collected, &closing, &waiting), 1);
	closing = 0;
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 1, &collected, &closing, &waiting), 1);
	CHECK_INT(waiting, 7);      /* never waited: left alone */
	pthread_mutex_unlock(&f.mu);
	elog_inflight_destroy(&f);
}

/* A producer thread: once the submitter waits, does what it is told. */
struct producer {
	struct elog_inflight *f;
	int *closing, *waiting;
	int open_gate;               /* 1: let the held commit finish; 0: close the stream */
	int saw_waiting;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	int i;

	for (i = 0; i < 2000; i++) {         /* up to 20 s */
		pthread_mutex_lock(&p->f->mu);
		p->saw_waiting = *p->waiting;
		if (p->saw_waiting && !p->open_gate) {
			*p->closing = 1;
			pthread_cond_broadcast(&p->f->cv);
		}
		pthread_mutex_unlock(&p->f->mu);
		if (p->saw_waiting)
			break;
		usleep(10000);
	}
	if (p->open_gate)
		gate_set(1);
	return NULL;
}

static void test_wait_to_submit_waits_for_room(void)
{
	struct elog_hub *h = hub_open();
	struct elog_inflight f;
	struct producer p;
	struct sub s;
	pthread_t th;
	size_t collected = 1;
	int closing = 0, waiting = 0;

	alarm(60);                  /* a wait that never ends fails the test */
	gate_set(0);
	elog_inflight_init(&f);
	sub_init(&s, &f, "slow");
	s.hold = 1;
	memset(&p, 0, sizeof(p));
	p.f = &f;
	p.closing = &closing;
	p.waiting = &waiting;
	p.open_gate = 1;
	pthread_mutex_lock(&f.mu);
	CHECK_INT(elog_inflight_submit_locked(&f, h, &s.in), 0);
	CHECK_INT(pthread_create(&th, NULL, producer_main, &p), 0);
	/* one in flight, at most one allowed: waits until the held commit is done */
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 1, &collected, &closing, &waiting), 1);
	CHECK_INT(f.count, 0);
	CHECK_INT(waiting, 0);
	CHECK_INT(s.done_ran, 1);
	pthread_mutex_unlock(&f.mu);
	pthread_join(th, NULL);
	CHECK_INT(p.saw_waiting, 1);
	elog_record_clear(&s.rec);
	elog_inflight_destroy(&f);
	hub_close(h);
	alarm(0);
}

static void test_wait_to_submit_wakes_on_closing(void)
{
	struct elog_inflight f;
	struct producer p;
	pthread_t th;
	size_t collected = 0;
	int closing = 0, waiting = 0;

	alarm(60);
	elog_inflight_init(&f);
	memset(&p, 0, sizeof(p));
	p.f = &f;
	p.closing = &closing;
	p.waiting = &waiting;
	CHECK_INT(pthread_create(&th, NULL, producer_main, &p), 0);
	pthread_mutex_lock(&f.mu);
	CHECK_INT(elog_inflight_wait_to_submit_locked(&f, 4, &collected, &closing, &waiting), 0);
	CHECK_INT(closing, 1);
	CHECK_INT(waiting, 0);
	pthread_mutex_unlock(&f.mu);
	pthread_join(th, NULL);
	CHECK_INT(p.saw_waiting, 1);
	elog_inflight_destroy(&f);
	alarm(0);
}

UNIT_MAIN(
	{ "submit_then_wait", test_submit_then_wait },
	{ "first_failure_wins", test_first_failure_wins },
	{ "wait_to_submit_at_once", test_wait_to_submit_at_once },
	{ "wait_to_submit_waits_for_room", test_wait_to_submit_waits_for_room },
	{ "wait_to_submit_wakes_on_closing", test_wait_to_submit_wakes_on_closing }
)
