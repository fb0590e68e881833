/*
 * hub_fixture.h — an in-process elog.v1.Hub for the unit tests of the client side
 * (test_resend.c, test_shipper.c): a hub on a history file served on a loopback port, a
 * count of what the history holds, records with dedupe keys, and removing a test's folder;
 * and a bare hub in a fresh folder for the server side's tests (test_inflight.c,
 * test_ingest.c, test_follower.c).
 * Include it once, after unit.h.
 */
#ifndef ELOG_HUB_FIXTURE_H
#define ELOG_HUB_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "common/err.h"
#include "common/record.h"
#include "hub/hub.h"
#include "rpc/rpc.h"
#include "server/svc.h"

static inline int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

/* Opens a hub (options o, may be NULL) on dir/history.db, dir a fresh folder
 * /tmp/elog_test_<name>.XXXXXX; db receives the history's path. Exits on failure. */
static inline struct elog_hub *tmp_hub_open(const char *name, const struct elog_hub_opts *o,
					    char *dir, size_t dirsz, char *db, size_t dbsz)
{
	struct elog_hub *h = NULL;
	struct elog_err err;

	snprintf(dir, dirsz, "/tmp/elog_test_%s.XXXXXX", name);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		exit(2);
	}
	snprintf(db, dbsz, "%s/history.db", dir);
	if (elog_hub_open(&h, db, o, &err) != 0) {
		fprintf(stderr, "hub: %s\n", err.msg);
		exit(2);
	}
	return h;
}

/* Closes h and removes the folder tmp_hub_open made. */
static inline void tmp_hub_close(struct elog_hub *h, const char *dir)
{
	elog_hub_close(h);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* elog.v1.Hub over a hub on db, on a loopback port. */
struct server {
	struct elog_hub *hub;
	struct elog_svc svc;
	struct rpc_server *srv;
	char target[64];
};

/* Serves on addr ("127.0.0.1:0": a free port); sv->target is where. Exits on failure. */
static inline void server_start_at(struct server *sv, const char *db, const char *addr)
{
	struct elog_err err;
	int port = 0;

	memset(sv, 0, sizeof(*sv));
	if (elog_hub_open(&sv->hub, db, NULL, &err) != 0 || rpc_server_new(&sv->srv, &err) != 0) {
		fprintf(stderr, "server: %s\n", err.msg);
		exit(2);
	}
	sv->svc.hub = sv->hub;
	sv->svc.db_path = db;
	elog_svc_hub_register(sv->srv, &sv->svc);
	if (rpc_server_listen(sv->srv, addr, NULL, &port, &err) != 0 ||
	    rpc_server_start(sv->srv, &err) != 0) {
		fprintf(stderr, "server: %s\n", err.msg);
		exit(2);
	}
	snprintf(sv->target, sizeof(sv->target), "127.0.0.1:%d", port);
}

static inline void server_start(struct server *sv, const char *db)
{
	server_start_at(sv, db, "127.0.0.1:0");
}

static inline void server_stop(struct server *sv)
{
	rpc_server_stop_accepting(sv->srv);
	elog_hub_stop_followers(sv->hub);
	rpc_server_shutdown(sv->srv, 0);
	elog_hub_close(sv->hub);
}

/* The single number sql gives on the history db (-1 on error). */
static inline long long count(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *st;
	long long n = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	return n;
}

/* n records of component comp, message tag, dedupe keys "tag:0".."tag:n-1" (free with
 * elog_records_free). */
static inline struct elog_record *tagged_records(const char *comp, const char *tag, size_t n)
{
	struct elog_record *recs = calloc(n ? n : 1, sizeof(*recs));
	size_t i;

	for (i = 0; i < n; i++) {
		char key[64];

		elog_record_init(&recs[i]);
		elog_record_set(&recs[i].component, comp, strlen(comp));
		elog_record_set(&recs[i].msg, tag, strlen(tag));
		snprintf(key, sizeof(key), "%s:%zu", tag, i);
		elog_record_set(&recs[i].dedupe_key, key, strlen(key));
	}
	return recs;
}

#endif
