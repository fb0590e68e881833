/*
 * dedupe.c — the stored dedupe keys (schema 6). Every read and write of a key goes through
 * store__dedupe_exists / store__dedupe_add / store__dedupe_remove.
 *
 * A key "<prefix>:<n>", n a canonical decimal (no sign, no leading zero, at most INT64_MAX),
 * is stored as part of a run in dedupe_runs (prefix, lo, hi, id_hi): it is stored when a run
 * of its prefix has lo <= n <= hi (one seek: the run of the largest lo <= n). `elog send`
 * numbers its records 1, 2, 3... within a stream, so a stream costs one row, not one B-tree
 * entry per record. id_hi is the largest record id among the run's keys (a key extends a run
 * only when its record is the newest, so ids grow with hi). Any other key (no ":<digits>"
 * tail, or digits not canonical: "a:007" is not "a:7") is a row of table dedupe.
 */
#include <string.h>

#include <sqlite3.h>

#include "store/store_internal.h"

#define SQL_PLAIN_GET   "SELECT 1 FROM dedupe WHERE key = ?1;"
#define SQL_PLAIN_ADD   "INSERT INTO dedupe (key, id) VALUES (?1, ?2) ON CONFLICT DO NOTHING;"
#define SQL_PLAIN_DEL   "DELETE FROM dedupe WHERE key = ?1;"
#define SQL_RUN_FIND \
	"SELECT lo, hi, id_hi FROM dedupe_runs WHERE prefix = ?1 AND lo <= ?2 " \
	"ORDER BY lo DESC LIMIT 1;"
#define SQL_RUN_EXTEND \
	"UPDATE dedupe_runs SET hi = ?3, id_hi = ?4 WHERE prefix = ?1 AND lo = ?2;"
#define SQL_RUN_NEW \
	"INSERT INTO dedupe_runs (prefix, lo, hi, id_hi) VALUES (?1, ?2, ?2, ?3);"
#define SQL_RUN_DEL     "DELETE FROM dedupe_runs WHERE prefix = ?1 AND lo = ?2;"

int store__dedupe_split(const char *key, size_t *plen, int64_t *n)
{
	const char *c = strrchr(key, ':'), *d;
	uint64_t v = 0;

	if (!c || !c[1] || (c[1] == '0' && c[2]))
		return 0;
	for (d = c + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return 0;
		if (v > ((uint64_t)INT64_MAX - (uint64_t)(*d - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*d - '0');
	}
	*plen = (size_t)(c - key);
	*n = (int64_t)v;
	return 1;
}

/* The connection's statement for sql (prepared on first use, kept until close). */
static int stmt(struct elog_store *s, int which, const char *sql, sqlite3_stmt **out)
{
	if (!s->st_dk[which]) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
					    &s->st_dk[which], NULL);

		if (rc != SQLITE_OK)
			return rc;
	}
	*out = s->st_dk[which];
	return SQLITE_OK;
}

enum { DK_PLAIN_GET, DK_PLAIN_ADD, DK_PLAIN_DEL, DK_RUN_FIND, DK_RUN_EXTEND, DK_RUN_NEW,
       DK_RUN_DEL };

/* The run of prefix with the largest lo <= n: SQLITE_ROW with lo, hi, id_hi set,
 * SQLITE_DONE when none, or an error. */
static int run_find(struct elog_store *s, const char *key, size_t plen, int64_t n, int64_t *lo,
		    int64_t *hi, int64_t *id_hi)
{
	sqlite3_stmt *st;
	int rc = stmt(s, DK_RUN_FIND, SQL_RUN_FIND, &st);

	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, (int)plen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*lo = sqlite3_column_int64(st, 0);
		*hi = sqlite3_column_int64(st, 1);
		*id_hi = sqlite3_column_int64(st, 2);
	}
	store__stmt_done(st);
	return rc;
}

/* Runs st (bound with key's prefix as ?1 and up to three integers) to completion. */
static int run_exec(sqlite3_stmt *st, const char *key, size_t plen, int nints, int64_t a,
		    int64_t b, int64_t c)
{
	int rc;

	sqlite3_bind_text(st, 1, key, (int)plen, SQLITE_STATIC);
	if (nints > 0)
		sqlite3_bind_int64(st, 2, a);
	if (nints > 1)
		sqlite3_bind_int64(st, 3, b);
	if (nints > 2)
		sqlite3_bind_int64(st, 4, c);
	rc = sqlite3_step(st);
	store__stmt_done(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store__dedupe_exists(struct elog_store *s, const char *key, int *found)
{
	sqlite3_stmt *st;
	size_t plen;
	int64_t n, lo, hi, id_hi;
	int rc;

	*found = 0;
	if (store__dedupe_split(key, &plen, &n)) {
		rc = run_find(s, key, plen, n, &lo, &hi, &id_hi);
		if (rc == SQLITE_ROW)
			*found = n <= hi;
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	rc = stmt(s, DK_PLAIN_GET, SQL_PLAIN_GET, &st);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	store__stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store__dedupe_add(struct elog_store *s, const char *key, int64_t id, int *added)
{
	sqlite3_stmt *st;
	size_t plen;
	int64_t n, lo, hi, id_hi;
	int rc;

	*added = 0;
	if (!store__dedupe_split(key, &plen, &n)) {
		rc = stmt(s, DK_PLAIN_ADD, SQL_PLAIN_ADD, &st);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st);
		store__stmt_done(st);
		if (rc != SQLITE_DONE)
			return rc;
		*added = sqlite3_changes(s->db) > 0;
		return SQLITE_OK;
	}
	rc = run_find(s, key, plen, n, &lo, &hi, &id_hi);
	if (rc == SQLITE_ROW && n <= hi)
		return SQLITE_OK;                /* stored: a duplicate */
	if (rc == SQLITE_ROW && n == hi + 1 && id > id_hi) {
		/* the next key of the run (n > hi, so hi < INT64_MAX): extend it; a run of
		 * lo == n cannot exist, the seek would have found it */
		rc = stmt(s, DK_RUN_EXTEND, SQL_RUN_EXTEND, &st);
		if (rc == SQLITE_OK)
			rc = run_exec(st, key, plen, 3, lo, n, id);
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		rc = stmt(s, DK_RUN_NEW, SQL_RUN_NEW, &st);
		if (rc == SQLITE_OK)
			rc = run_exec(st, key, plen, 2, n, id, 0);
	}
	if (rc == SQLITE_OK)
		*added = 1;
	return rc;
}

int store__dedupe_remove(struct elog_store *s, const char *key, int64_t horizon)
{
	sqlite3_stmt *st;
	size_t plen;
	int64_t n, lo, hi, id_hi;
	int rc;

	if (!store__dedupe_split(key, &plen, &n)) {
		rc = stmt(s, DK_PLAIN_DEL, SQL_PLAIN_DEL, &st);
		if (rc != SQLITE_OK)
			return rc;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		store__stmt_done(st);
		return rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	/* A run goes whole once every record up to its newest (id_hi) is gone; until then its
	 * removed keys stay stored with the others. Keeping a removed record's key longer is
	 * harmless: it only answers "stored" to a resend of a record that was stored once. A
	 * run whose newest record went by a removal of one component (horizon 0) may outlive
	 * all its records: a later removal drops it only when one of its keys goes in a pass
	 * whose horizon reaches id_hi. One row per such stream stays (a known leak of
	 * prune -c, bounded by the streams it cut). */
	if (horizon <= 0)
		return SQLITE_OK;
	rc = run_find(s, key, plen, n, &lo, &hi, &id_hi);
	if (rc == SQLITE_DONE || (rc == SQLITE_ROW && (n > hi || id_hi > horizon)))
		return SQLITE_OK;
	if (rc != SQLITE_ROW)
		return rc;
	rc = stmt(s, DK_RUN_DEL, SQL_RUN_DEL, &st);
	if (rc == SQLITE_OK)
		rc = run_exec(st, key, plen, 1, lo, 0, 0);
	return rc;
}

void store__dedupe_close(struct elog_store *s)
{
	for (size_t i = 0; i < sizeof(s->st_dk) / sizeof(s->st_dk[0]); i++) {
		sqlite3_finalize(s->st_dk[i]);
		s->st_dk[i] = NULL;
	}
}

int store__dedupe_upgrade(struct elog_store *s)
{
	sqlite3_stmt *st = NULL;
	int added, rc = sqlite3_prepare_v2(s->db,
					   "SELECT id, dedupe FROM records WHERE dedupe IS NOT NULL "
					   "AND dedupe <> '' ORDER BY id;", -1, &st, NULL);

	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = store__dedupe_add(s, (const char *)sqlite3_column_text(st, 1),
				       sqlite3_column_int64(st, 0), &added);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}
