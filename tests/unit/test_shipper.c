/* test_shipper.c — shipper.c: batches delivered on the shipper's thread, kept until
 * acknowledged, resent after serve restarts on the same port (each record stored once), given
 * back as not delivered when the server stays away, and one-shot mode, against an in-process
 * elog.v1.Hub. */
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
#include "client/shipper.h"
#include "rpc/rpc.h"
#include "server/svc.h"
#include "unit.h"
#include "hub_fixture.h"

/* ---- helpers ------------------------------------------------------------------------ */


struct tbatch {
	struct elog_ship_batch ship;   /* first */
	struct elog_record *recs;
	size_t n;
};

/* A batch of n records "tag" with dedupe keys "tag:i" (component "ship"). */
static struct tbatch *tbatch(const char *tag, size_t n)
{
	struct tbatch *b = calloc(1, sizeof(*b));

	b->recs = tagged_records("ship", tag, n);
	b->n = n;
	b->ship.bytes = 100 * (n + 1);
	b->ship.lines = n;
	return b;
}

static void tbatch_free(struct elog_ship_batch *sb)
{
	struct tbatch *b = (struct tbatch *)sb;

	elog_records_free(b->recs, b->n);
	free(b);
}

static void push(struct elog_shipper *sh, struct tbatch *b)
{
	elog_shipper_push(sh, &b->ship, b->recs, b->n);
}

/* Frees the acknowledged batches; returns how many there were. */
static int drain_acked(struct elog_shipper *sh)
{
	struct elog_ship_batch *l = elog_shipper_take_acked(sh);
	int n = 0;

	while (l) {
		struct elog_ship_batch *next = l->next;

		tbatch_free(l);
		n++;
		l = next;
	}
	return n;
}

static int downs, backs;

static void on_event(void *ctx, int ev, const struct elog_err *err)
{
	(void)ctx;
	(void)err;
	if (ev == ELOG_SHIP_DOWN)
		__atomic_add_fetch(&downs, 1, __ATOMIC_SEQ_CST);
	else if (ev == ELOG_SHIP_BACK)
		__atomic_add_fetch(&backs, 1, __ATOMIC_SEQ_CST);
}

static struct elog_shipper *shipper(const char *target, const struct rpc_client_opts *ro,
				    int one_shot)
{
	struct elog_shipper_cfg cfg;
	struct elog_shipper *sh = NULL;
	struct elog_err err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.target = target;
	cfg.ro = ro;
	cfg.connect_timeout_ns = 1000000000LL;
	cfg.one_shot = one_shot;
	cfg.event = on_event;
	if (elog_shipper_start(&sh, &cfg, &err) != 0) {
		fprintf(stderr, "shipper: %s\n", err.msg);
		exit(2);
	}
	return sh;
}

/* A loopback port nothing listens on (bound, then closed). */
static void dead_target(char *buf, size_t n)
{
	struct server sv;
	char dir[] = "/tmp/elog_test_shipper_dead.XXXXXX", db[512];

	if (!mkdtemp(dir))
		exit(2);
	snprintf(db, sizeof(db), "%s/h.db", dir);
	server_start(&sv, db);
	snprintf(buf, n, "%s", sv.target);
	server_stop(&sv);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- tests -------------------------------------------------------------------------- */

static void test_deliver_in_order(void)
{
	char dir[] = "/tmp/elog_test_shipper.XXXXXX", db[512];
	struct rpc_client_opts ro;
	struct elog_shipper *sh;
	struct server sv;
	struct elog_err err;
	size_t left = 99;

	alarm(120);
	if (!mkdtemp(dir))
		exit(2);
	snprintf(db, sizeof(db), "%s/history.db", dir);
	server_start(&sv, db);
	memset(&ro, 0, sizeof(ro));
	sh = shipper(sv.target, &ro, 0);
	push(sh, tbatch("a", 3));
	push(sh, tbatch("b", 0));
	push(sh, tbatch("c", 2));
	CHECK_INT(elog_shipper_finish(sh, 30000000000LL, &left, &err), 0);
	CHECK_INT(left, 0);
	CHECK_INT(drain_acked(sh), 3);
	CHECK(elog_shipper_take_left(sh) == NULL);
	elog_shipper_free(sh);
	CHECK_INT(count(db, "select count(*) from records where component='ship'"), 5);
	server_stop(&sv);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	alarm(0);
}

static void test_restart_same_port(void)
{
	char dir[] = "/tmp/elog_test_shipper.XXXXXX", db[512], target[64];
	struct rpc_client_opts ro;
	struct elog_shipper *sh;
	struct server sv;
	struct elog_err err;
	size_t left = 99;
	int i, acked = 0;

	alarm(120);
	if (!mkdtemp(dir))
		exit(2);
	snprintf(db, sizeof(db), "%s/history.db", dir);
	server_start(&sv, db);
	snprintf(target, sizeof(target), "%s", sv.target);
	memset(&ro, 0, sizeof(ro));
	downs = backs = 0;
	sh = shipper(target, &ro, 0);
	push(sh, tbatch("before", 4));
	for (i = 0; i < 1000 && acked < 1; i++) {
		acked += drain_acked(sh);
		usleep(10000);
	}
	CHECK_INT(acked, 1);
	server_stop(&sv);
	push(sh, tbatch("during", 3));       /* the server is away */
	for (i = 0; i < 1000 && !__atomic_load_n(&downs, __ATOMIC_SEQ_CST); i++)
		usleep(10000);
	CHECK_INT(__atomic_load_n(&downs, __ATOMIC_SEQ_CST), 1);
	CHECK(elog_shipper_pending_bytes(sh) > 0);
	server_start_at(&sv, db, target);   /* back on the same port */
	push(sh, tbatch("after", 2));
	CHECK_INT(elog_shipper_finish(sh, 60000000000LL, &left, &err), 0);
	CHECK_INT(left, 0);
	CHECK_INT(drain_acked(sh), 2);
	CHECK_INT(__atomic_load_n(&backs, __ATOMIC_SEQ_CST), 1);
	elog_shipper_free(sh);
	CHECK_INT(count(db, "select count(*) from records where component='ship'"), 9);
	CHECK_INT(count(db, "select count(distinct dedupe) from records where component='ship'"), 9);
	server_stop(&sv);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	alarm(0);
}

static void test_unreachable_gives_back(void)
{
	char target[64];
	struct rpc_client_opts ro;
	struct elog_shipper *sh;
	struct elog_ship_batch *sb;
	struct elog_err err;
	size_t left = 0;
	int n = 0;

	alarm(60);
	dead_target(target, sizeof(target));
	memset(&ro, 0, sizeof(ro));
	sh = shipper(target, &ro, 0);
	push(sh, tbatch("x", 2));
	push(sh, tbatch("y", 3));
	elog_err_clear(&err);
	CHECK_INT(elog_shipper_finish(sh, 300000000LL, &left, &err), ELOG_EUNAVAIL);
	CHECK_INT(left, 5);
	CHECK(strstr(err.msg, target) != NULL);
	CHECK_INT(elog_shipper_failed(sh, NULL), 0);   /* retried, not refused */
	while ((sb = elog_shipper_take_left(sh))) {
		tbatch_free(sb);
		n++;
	}
	CHECK_INT(n, 2);
	elog_shipper_free(sh);
	alarm(0);
}

static void test_one_shot_fails(void)
{
	char target[64];
	struct rpc_client_opts ro;
	struct elog_shipper *sh;
	struct elog_ship_batch *sb;
	struct elog_err err;
	size_t left = 0;

	alarm(60);
	dead_target(target, sizeof(target));
	memset(&ro, 0, sizeof(ro));
	sh = shipper(target, &ro, 1);
	push(sh, tbatch("z", 1));
	elog_err_clear(&err);
	/* wait_room returns once the shipper failed for good, though the batch is not acked */
	CHECK_INT(elog_shipper_wait_room(sh, 0, &err), ELOG_EUNAVAIL);
	CHECK(strstr(err.msg, target) != NULL);
	CHECK_INT(elog_shipper_failed(sh, NULL), ELOG_EUNAVAIL);
	CHECK_INT(elog_shipper_finish(sh, 60000000000LL, &left, &err), ELOG_EUNAVAIL);
	CHECK_INT(left, 1);
	while ((sb = elog_shipper_take_left(sh)))
		tbatch_free(sb);
	elog_shipper_free(sh);
	alarm(0);
}

UNIT_MAIN(
	{ "deliver_in_order", test_deliver_in_order },
	{ "restart_same_port", test_restart_same_port },
	{ "unreachable_gives_back", test_unreachable_gives_back },
	{ "one_shot_fails", test_one_shot_fails }
)
