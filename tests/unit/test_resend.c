/* test_resend.c — resend.c: batches kept in order until acknowledged, numbered per sender,
 * and sent again on a new sender after a lost stream, against an in-process elog.v1.Hub. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "client/client.h"
#include "common/err.h"
#include "hub/hub.h"
#include "common/record.h"
#include "client/resend.h"
#include "rpc/rpc.h"
#include "server/svc.h"
#include "unit.h"
#include "hub_fixture.h"

/* ---- helpers ------------------------------------------------------------------------ */

static struct elog_sender *sender_open(const char *target)
{
	struct rpc_client_opts ro;
	struct elog_sender *s = NULL;
	struct elog_err err;

	memset(&ro, 0, sizeof(ro));
	if (elog_sender_open(&s, target, &ro, 5000000000LL, &err) != 0) {
		fprintf(stderr, "sender: %s\n", err.msg);
		exit(2);
	}
	return s;
}

/* Waits (at most 10 s) until s acknowledged batch seq, or its stream ended. */
static uint64_t wait_acked(struct elog_sender *s, uint64_t seq)
{
	uint64_t acked = 0;
	int i, ended = 0;

	for (i = 0; i < 1000; i++) {
		acked = elog_sender_acked_seq(s, &ended);
		if (acked >= seq || ended)
			break;
		usleep(10000);
	}
	return acked;
}

/* n records with dedupe keys "tag:0".."tag:n-1" (component "resend"). */
static struct elog_record *records(const char *tag, size_t n)
{
	return tagged_records("resend", tag, n);
}

static void records_free(struct elog_resend_batch *b)
{
	elog_records_free(b->recs, b->n);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_queue_order_and_numbering(void)
{
	struct elog_resend_queue q;
	struct elog_resend_batch a, b, c;
	struct elog_record r[2];

	memset(&q, 0, sizeof(q));
	CHECK(elog_resend_next_unsent(&q) == NULL);
	CHECK(elog_resend_pop_acked(&q, 100) == NULL);
	CHECK(elog_resend_pop(&q) == NULL);
	elog_resend_push(&q, &a, r, 2);
	elog_resend_push(&q, &b, r, 0);
	elog_resend_push(&q, &c, r + 1, 1);
	CHECK(a.recs == r && a.n == 2 && a.seq == 0);
	CHECK(elog_resend_next_unsent(&q) == &a);
	elog_resend_mark_sent(&q, &a);
	CHECK(elog_resend_next_unsent(&q) == &b);
	elog_resend_mark_sent(&q, &b);
	CHECK_INT(a.seq, 1);
	CHECK_INT(b.seq, 2);
	CHECK(elog_resend_next_unsent(&q) == &c);
	/* acknowledged means numbered at most the sender's last ack, oldest first */
	CHECK(elog_resend_pop_acked(&q, 0) == NULL);
	CHECK(elog_resend_pop_acked(&q, 1) == &a);
	CHECK(elog_resend_pop_acked(&q, 1) == NULL);
	CHECK(q.head == &b);
	/* a new sender: everything left goes again, numbered from 1 */
	elog_resend_restart(&q);
	CHECK_INT(b.seq, 0);
	CHECK(elog_resend_next_unsent(&q) == &b);
	elog_resend_mark_sent(&q, &b);
	CHECK_INT(b.seq, 1);
	/* a batch not sent on this sender is never acknowledged by it */
	CHECK(elog_resend_pop_acked(&q, 5) == &b);
	CHECK(elog_resend_pop_acked(&q, 5) == NULL);
	CHECK(elog_resend_pop(&q) == &c);
	CHECK(q.head == NULL && q.tail == NULL);
	elog_resend_push(&q, &a, r, 1);
	CHECK(q.head == &a && q.tail == &a && a.next == NULL);
	CHECK(elog_resend_pop(&q) == &a);
}

static void test_resend_after_lost_stream(void)
{
	char dir[] = "/tmp/elog_test_resend.XXXXXX", db[512];
	struct elog_resend_queue q;
	struct elog_resend_batch b[6];
	struct elog_sender *s;
	struct server sv;
	struct elog_err err;
	int i, ended = 0;

	alarm(120);                  /* a wait that never ends fails the test */
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, sizeof(db), "%s/history.db", dir);
	server_start(&sv, db);
	memset(&q, 0, sizeof(q));

	/* sent and acknowledged: given back in order (an empty batch too) */
	s = sender_open(sv.target);
	elog_resend_push(&q, &b[0], records("one", 2), 2);
	elog_resend_push(&q, &b[1], records("two", 1), 1);
	elog_resend_push(&q, &b[2], records("empty", 0), 0);
	CHECK_INT(elog_resend_send_unsent(&q, s, &err), 0);
	CHECK(elog_resend_next_unsent(&q) == NULL);
	CHECK_INT(b[2].seq, 3);
	CHECK_INT(wait_acked(s, 3), 3);
	for (i = 0; i < 3; i++)
		CHECK(elog_resend_pop_acked(&q, elog_sender_acked_seq(s, NULL)) == &b[i]);
	CHECK(q.head == NULL);

	/* sent, then the stream is lost before any ack was looked at: both go again */
	elog_resend_push(&q, &b[3], records("three", 2), 2);
	elog_resend_push(&q, &b[4], records("four", 1), 1);
	CHECK_INT(elog_resend_send_unsent(&q, s, &err), 0);
	CHECK_INT(b[4].seq, 5);
	elog_sender_free(s);
	elog_resend_restart(&q);
	s = sender_open(sv.target);
	CHECK(elog_resend_next_unsent(&q) == &b[3]);
	CHECK_INT(elog_resend_send_unsent(&q, s, &err), 0);
	CHECK_INT(b[3].seq, 1);
	CHECK_INT(b[4].seq, 2);
	CHECK_INT(wait_acked(s, 2), 2);
	CHECK(elog_resend_pop_acked(&q, 2) == &b[3]);
	CHECK(elog_resend_pop_acked(&q, 2) == &b[4]);
	CHECK(q.head == NULL);
	CHECK_INT(elog_sender_finish(s, &err), 0);
	elog_sender_free(s);

	/* a sender whose server is gone: the batch stays unsent, and the error is returned */
	s = sender_open(sv.target);
	server_stop(&sv);
	for (i = 0; i < 1000 && !ended; i++) {
		elog_sender_acked_seq(s, &ended);
		usleep(10000);
	}
	CHECK_INT(ended, 1);
	elog_resend_push(&q, &b[5], records("five", 1), 1);
	elog_err_clear(&err);
	CHECK(elog_resend_send_unsent(&q, s, &err) != 0);
	CHECK(err.msg[0] != '\0');
	CHECK_INT(b[5].seq, 0);
	CHECK(elog_resend_next_unsent(&q) == &b[5]);
	CHECK(elog_resend_pop(&q) == &b[5]);
	elog_sender_free(s);

	/* each record stored once, resent ones included */
	CHECK_INT(count(db, "select count(*) from records where component='resend'"), 6);
	CHECK_INT(count(db, "select count(distinct dedupe) from records where component='resend'"), 6);
	for (i = 0; i < 6; i++)
		records_free(&b[i]);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	alarm(0);
}

/* The oldest unsent batch is kept, not searched for: it follows every push, mark, pop and
 * restart, also when the batch popped is the unsent one (a queue released unsent). */
static void test_unsent_pointer(void)
{
	struct elog_resend_queue q;
	struct elog_resend_batch b[4];

	memset(&q, 0, sizeof(q));
	CHECK(elog_resend_next_unsent(&q) == NULL);
	elog_resend_push(&q, &b[0], NULL, 0);
	elog_resend_push(&q, &b[1], NULL, 0);
	CHECK(elog_resend_next_unsent(&q) == &b[0]);
	elog_resend_mark_sent(&q, &b[0]);
	elog_resend_mark_sent(&q, &b[1]);
	CHECK(elog_resend_next_unsent(&q) == NULL);
	elog_resend_push(&q, &b[2], NULL, 0);     /* pushed after all were sent */
	CHECK(elog_resend_next_unsent(&q) == &b[2]);
	CHECK(elog_resend_pop_acked(&q, 1) == &b[0]);
	CHECK(elog_resend_pop_acked(&q, 1) == NULL);
	elog_resend_restart(&q);                  /* a new sender: b[1] goes again first */
	CHECK(elog_resend_next_unsent(&q) == &b[1]);
	CHECK(elog_resend_pop(&q) == &b[1]);      /* popped while unsent */
	CHECK(elog_resend_next_unsent(&q) == &b[2]);
	CHECK(elog_resend_pop(&q) == &b[2]);
	CHECK(elog_resend_next_unsent(&q) == NULL);
	elog_resend_push(&q, &b[3], NULL, 0);     /* an emptied queue starts over */
	CHECK(elog_resend_next_unsent(&q) == &b[3]);
	elog_resend_mark_sent(&q, &b[3]);
	CHECK_INT(b[3].seq, 1);
	CHECK(elog_resend_pop_acked(&q, 1) == &b[3]);
	CHECK(q.head == NULL && q.tail == NULL && q.unsent == NULL);
}

UNIT_MAIN(
	{ "unsent_pointer", test_unsent_pointer },
	{ "queue_order_and_numbering", test_queue_order_and_numbering },
	{ "resend_after_lost_stream", test_resend_after_lost_stream }
)
