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
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store_internal.h"
#include "common/util.h"

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
/* The batched path (store__dedupe_add_batched): the start of the prefix's next run, which
 * bounds how far a run may grow in memory, and a run written back once a transaction. */
#define SQL_RUN_NEXT \
	"SELECT lo FROM dedupe_runs WHERE prefix = ?1 AND lo > ?2 ORDER BY lo LIMIT 1;"
#define SQL_RUN_PUT \
	"INSERT INTO dedupe_runs (prefix, lo, hi, id_hi) VALUES (?1, ?2, ?3, ?4) " \
	"ON CONFLICT (prefix, lo) DO UPDATE SET hi = excluded.hi, id_hi = excluded.id_hi;"

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
       DK_RUN_DEL, DK_RUN_NEXT, DK_RUN_PUT, DK_NSTMT };
_Static_assert(DK_NSTMT == sizeof(((struct elog_store *)0)->st_dk) / sizeof(sqlite3_stmt *),
	       "one st_dk slot per statement");

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
	if (s->ndk_runs && (rc = store__dedupe_flush(s)) != SQLITE_OK)
		return rc;
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

/* A key that is not a run's: one row of dedupe. */
static int plain_add(struct elog_store *s, const char *key, int64_t id, int *added)
{
	sqlite3_stmt *st;
	int rc = stmt(s, DK_PLAIN_ADD, SQL_PLAIN_ADD, &st);

	*added = 0;
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

int store__dedupe_add(struct elog_store *s, const char *key, int64_t id, int *added)
{
	sqlite3_stmt *st;
	size_t plen;
	int64_t n, lo, hi, id_hi;
	int rc;

	*added = 0;
	if (s->ndk_runs && (rc = store__dedupe_flush(s)) != SQLITE_OK)
		return rc;
	if (!store__dedupe_split(key, &plen, &n))
		return plain_add(s, key, id, added);
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

	if (s->ndk_runs && (rc = store__dedupe_flush(s)) != SQLITE_OK)
		return rc;
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

/*
 * The batched path. `elog send` numbers a stream's records 1, 2, 3..., so a batch mostly
 * extends one run per stream by one key a record, and store__dedupe_add cost a seek and an
 * UPDATE a record; with them every record of `elog send` took its own INSERT too. Here each
 * prefix's current run stays in memory for the transaction (DK_SLOTS prefixes at a time): a
 * key inside it is a duplicate and the next key extends it (while it stays below the start of
 * the prefix's next run, and its record is the newest), both without SQL. Any other key
 * writes the run back and goes store__dedupe_add's way, whose run is then kept. The changed
 * runs are written back by store__dedupe_flush (one statement a run), which every other read
 * or write of keys calls first: they see what store__dedupe_add alone would have stored.
 */
#define DK_SLOTS 64
struct dk_run {
	const char *prefix;   /* the first key's, valid until the flush; NULL: a free slot */
	size_t plen;
	uint32_t hash;
	int dirty;            /* changed since read: written back by the flush */
	int64_t lo, hi, id_hi;
	int64_t next_lo;      /* where the prefix's next stored run starts (INT64_MAX: none) */
};

static uint32_t prefix_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 16777619u;
	return h;
}

/* Writes r back (inserted, or its bounds updated); SQLite code. */
static int run_put(struct elog_store *s, const struct dk_run *r)
{
	sqlite3_stmt *st;
	int rc = stmt(s, DK_RUN_PUT, SQL_RUN_PUT, &st);

	if (rc == SQLITE_OK)
		rc = run_exec(st, r->prefix, r->plen, 3, r->lo, r->hi, r->id_hi);
	return rc;
}

int store__dedupe_flush(struct elog_store *s)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; s->ndk_runs && i < DK_SLOTS; i++) {
		struct dk_run *r = &s->dk_runs[i];

		if (!r->prefix)
			continue;
		if (r->dirty && rc == SQLITE_OK)
			rc = run_put(s, r);
		r->prefix = NULL;
		s->ndk_runs--;
	}
	s->ndk_runs = 0;
	return rc;
}

void store__dedupe_forget(struct elog_store *s)
{
	for (size_t i = 0; s->ndk_runs && i < DK_SLOTS; i++)
		if (s->dk_runs[i].prefix) {
			s->dk_runs[i].prefix = NULL;
			s->ndk_runs--;
		}
	s->ndk_runs = 0;
}

/* Loads r (its prefix set) from the tables for key n with record id, as store__dedupe_add
 * decides: *added 0 for a stored key, else r is the run that now holds it (dirty). */
static int run_load(struct elog_store *s, struct dk_run *r, int64_t n, int64_t id, int *added)
{
	sqlite3_stmt *st;
	int64_t lo, hi, id_hi;
	int rc;

	r->dirty = 0;
	rc = run_find(s, r->prefix, r->plen, n, &lo, &hi, &id_hi);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	*added = 1;
	r->dirty = 1;
	if (rc == SQLITE_ROW && n <= hi) {
		*added = 0;
		r->dirty = 0;
		r->lo = lo;
		r->hi = hi;
		r->id_hi = id_hi;
	} else if (rc == SQLITE_ROW && n == hi + 1 && id > id_hi) {
		r->lo = lo;
		r->hi = n;
		r->id_hi = id;
	} else {
		r->lo = r->hi = n;
		r->id_hi = id;
	}
	/* no run starts in (lo, n]: the seek would have found it; the next starts after n */
	rc = stmt(s, DK_RUN_NEXT, SQL_RUN_NEXT, &st);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, r->prefix, (int)r->plen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	rc = sqlite3_step(st);
	r->next_lo = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
	store__stmt_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int store__dedupe_add_batched(struct elog_store *s, const char *key, int64_t id, int *added)
{
	struct dk_run *r;
	size_t plen, i;
	int64_t n;
	uint32_t h;
	int rc;

	*added = 0;
	if (!store__dedupe_split(key, &plen, &n))
		return plain_add(s, key, id, added);
	if (!s->dk_runs)
		s->dk_runs = xcalloc(DK_SLOTS, sizeof(*s->dk_runs));
	h = prefix_hash(key, plen);
	for (i = h & (DK_SLOTS - 1);; i = (i + 1) & (DK_SLOTS - 1)) {
		r = &s->dk_runs[i];
		if (!r->prefix)
			break;
		if (r->hash == h && r->plen == plen && memcmp(r->prefix, key, plen) == 0) {
			if (n >= r->lo && n <= r->hi)
				return SQLITE_OK;             /* stored: a duplicate */
			if (n == r->hi + 1 && n < r->next_lo && id > r->id_hi) {
				r->hi = n;
				r->id_hi = id;
				r->dirty = 1;
				*added = 1;
				return SQLITE_OK;
			}
			/* elsewhere: the tables decide, with this run written back */
			if (r->dirty && (rc = run_put(s, r)) != SQLITE_OK)
				return rc;
			return run_load(s, r, n, id, added);
		}
	}
	if (s->ndk_runs >= DK_SLOTS * 3 / 4) {
		if ((rc = store__dedupe_flush(s)) != SQLITE_OK)
			return rc;
		r = &s->dk_runs[h & (DK_SLOTS - 1)];
	}
	r->prefix = key;
	r->plen = plen;
	r->hash = h;
	s->ndk_runs++;
	return run_load(s, r, n, id, added);
}

void store__dedupe_close(struct elog_store *s)
{
	free(s->dk_runs);
	s->dk_runs = NULL;
	s->ndk_runs = 0;
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
