/*
 * keys.c — API keys in the history database: create, list, revoke, verify, and the cached,
 * thread-safe checker the server's gate uses. No key ever goes into an error message.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/err.h"
#include "store/keys.h"
#include "store/store.h"
#include "common/util.h"

int elog_key_read_file(const char *path, char **key, struct elog_err *err)
{
	char buf[ELOG_KEY_LINE_MAX + 2];
	size_t n = 0;
	char *nl = NULL;
	int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	*key = NULL;
	if (fd < 0)
		return elog_err_set(err, ELOG_EIO, "cannot read API key file '%s': %s", path,
				    strerror(errno));
	/* up to the first newline, and no more than one byte past the limit */
	while (n < ELOG_KEY_LINE_MAX + 1 && !nl) {
		ssize_t r = read(fd, buf + n, ELOG_KEY_LINE_MAX + 1 - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = elog_err_set(err, ELOG_EIO, "cannot read API key file '%s': %s", path,
					  strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		nl = memchr(buf + n, '\n', (size_t)r);
		n += (size_t)r;
	}
	if (nl)
		n = (size_t)(nl - buf);
	if (n > ELOG_KEY_LINE_MAX) {
		rc = elog_err_set(err, ELOG_EUSAGE, "API key file '%s': its first line is longer "
				  "than the limit of %d bytes (API key length)", path,
				  ELOG_KEY_LINE_MAX);
		goto out;
	}
	while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\r'))
		n--;
	*key = xstrndup(buf, n);
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	if (fd > 0)
		close(fd);
	return rc;
}

void elog_key_free(char *key)
{
	if (!key)
		return;
	OPENSSL_cleanse(key, strlen(key));
	free(key);
}

void elog_key_hash(const char *key, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(key, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32) {
		/* Cannot happen with a working libcrypto; a hash no key matches. */
		memset(out, 'x', ELOG_KEY_HASH_HEX);
		out[ELOG_KEY_HASH_HEX] = 0;
		return;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = 0;
	OPENSSL_cleanse(md, sizeof(md));
}

static int db_fail(struct elog_store *s, const char *what, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	int rc = sqlite3_errcode(db) & 0xff;

	return elog_err_set(err, rc == SQLITE_FULL ? ELOG_EFULL : ELOG_EIO,
			    "cannot %s in '%s': %s", what, elog_store_path(s), sqlite3_errmsg(db));
}

static int valid_name(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n > 64)
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-' || c == '@'))
			return 0;
	}
	return 1;
}

/* 20 random bytes as 32 lowercase base32 characters after the prefix. */
static int make_key(char **out, struct elog_err *err)
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[20];
	size_t got = 0, i, plen = strlen(ELOG_KEY_PREFIX);
	char *key;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return elog_err_set(err, ELOG_EFAIL, "cannot get random bytes: %s",
					    strerror(errno));
		}
		got += (size_t)n;
	}
	key = xmalloc(plen + 32 + 1);
	memcpy(key, ELOG_KEY_PREFIX, plen);
	for (i = 0; i < 32; i++) {
		size_t bit = i * 5, byte = bit / 8, shift = bit % 8;
		unsigned v = (unsigned)raw[byte] << 8 | (byte + 1 < sizeof(raw) ? raw[byte + 1] : 0);

		key[plen + i] = b32[(v >> (11 - shift)) & 31];
	}
	key[plen + 32] = 0;
	OPENSSL_cleanse(raw, sizeof(raw));
	*out = key;
	return 0;
}

int elog_keys_create(struct elog_store *s, const char *name, char **key_out,
		     struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	char hash[ELOG_KEY_HASH_HEX + 1], *key = NULL;
	int rc;

	*key_out = NULL;
	if (!valid_name(name))
		return elog_err_set(err, ELOG_EUSAGE, "invalid key name '%.80s': use 1 to 64 letters, "
				    "digits, '.', '_', '-' or '@'", name);
	rc = make_key(&key, err);
	if (rc)
		return rc;
	elog_key_hash(key, strlen(key), hash);
	if (sqlite3_prepare_v2(db, "INSERT INTO keys(name, hash, created) VALUES(?, ?, ?)", -1,
			       &st, NULL) != SQLITE_OK) {
		rc = db_fail(s, "store a key", err);
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, elog_now_ns());
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT) {
		rc = elog_err_set(err, ELOG_EUSAGE, "key '%s' already exists", name);
		goto out;
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(s, "store a key", err);
		goto out;
	}
	rc = 0;
	*key_out = key;
	key = NULL;
out:
	sqlite3_finalize(st);
	if (key) {
		OPENSSL_cleanse(key, strlen(key));
		free(key);
	}
	return rc;
}

int elog_keys_list(struct elog_store *s, struct elog_key_info **out, size_t *n,
		   struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	struct elog_key_info *list = NULL;
	size_t cnt = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(elog_store_db(s), "SELECT name, hash, created, last_used, revoked "
			       "FROM keys ORDER BY created, id", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "list keys", err);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct elog_key_info *k;
		const char *h = (const char *)sqlite3_column_text(st, 1);

		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			list = xrealloc(list, cap * sizeof(*list));
		}
		k = &list[cnt++];
		memset(k, 0, sizeof(*k));
		k->name = xstrdup((const char *)sqlite3_column_text(st, 0));
		snprintf(k->hash_prefix, sizeof(k->hash_prefix), "%s", h ? h : "");
		k->created_ns = sqlite3_column_int64(st, 2);
		k->last_used_ns = sqlite3_column_int64(st, 3);
		k->revoked_ns = sqlite3_column_int64(st, 4);
	}
	if (rc != SQLITE_DONE) {
		rc = db_fail(s, "list keys", err);
		sqlite3_finalize(st);
		elog_keys_list_free(list, cnt);
		return rc;
	}
	sqlite3_finalize(st);
	*out = list;
	*n = cnt;
	return 0;
}

void elog_keys_list_free(struct elog_key_info *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

int elog_keys_revoke(struct elog_store *s, const char *name, struct elog_err *err)
{
	sqlite3 *db = elog_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "UPDATE keys SET revoked = coalesce(revoked, ?) WHERE name = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "revoke a key", err);
	sqlite3_bind_int64(st, 1, elog_now_ns());
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "revoke a key", err);
	if (sqlite3_changes(db) == 0)
		return elog_err_set(err, ELOG_EUSAGE, "no key named '%.80s'", name);
	return 0;
}

/* Looks the hash up: 1 valid (name filled), 0 unknown or revoked, negative on error. */
static int lookup(struct elog_store *s, const char *hash, char *name, size_t namesz,
		  struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc, valid = 0;

	if (sqlite3_prepare_v2(elog_store_db(s), "SELECT name, hash, revoked FROM keys "
			       "WHERE hash = ?", -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "check an API key", err);
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 1);

		valid = h && strlen(h) == ELOG_KEY_HASH_HEX &&
			CRYPTO_memcmp(h, hash, ELOG_KEY_HASH_HEX) == 0 &&
			sqlite3_column_type(st, 2) == SQLITE_NULL;
		if (valid && name && namesz)
			snprintf(name, namesz, "%s", (const char *)sqlite3_column_text(st, 0));
	} else if (rc != SQLITE_DONE) {
		rc = db_fail(s, "check an API key", err);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return valid;
}

static int touch(struct elog_store *s, const char *hash, int64_t now, struct elog_err *err)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(elog_store_db(s), "UPDATE keys SET last_used = ? WHERE hash = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return db_fail(s, "record a key's use", err);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, "record a key's use", err);
	return 0;
}

int elog_keys_verify(struct elog_store *s, const char *key, char *name, size_t namesz,
		     struct elog_err *err)
{
	char hash[ELOG_KEY_HASH_HEX + 1];
	int rc;

	if (!key || !*key)
		return 0;
	elog_key_hash(key, strlen(key), hash);
	rc = lookup(s, hash, name, namesz, err);
	if (rc == 1)
		touch(s, hash, elog_now_ns(), NULL);
	return rc;
}

/* ---- the server's cached checker ------------------------------------------------------- */

#define KC_SLOTS 64

struct kc_slot {
	char hash[ELOG_KEY_HASH_HEX + 1];   /* "" when free */
	char name[72];
	int64_t checked_mono;               /* when the store last said valid */
	int64_t touched_mono;               /* when last_used was last written */
};

struct elog_keycheck {
	pthread_mutex_t mu;                 /* guards everything, and the store's connection */
	char *db_path;
	struct elog_store *store;           /* opened on first use */
	struct kc_slot slots[KC_SLOTS];
};

struct elog_keycheck *elog_keycheck_new(const char *db_path)
{
	struct elog_keycheck *kc = xcalloc(1, sizeof(*kc));

	pthread_mutex_init(&kc->mu, NULL);
	kc->db_path = xstrdup(db_path);
	return kc;
}

void elog_keycheck_free(struct elog_keycheck *kc)
{
	if (!kc)
		return;
	elog_store_close(kc->store);
	pthread_mutex_destroy(&kc->mu);
	free(kc->db_path);
	OPENSSL_cleanse(kc->slots, sizeof(kc->slots));
	free(kc);
}

/* The slot holding hash (compared in constant time against every slot), or NULL. */
static struct kc_slot *kc_find(struct elog_keycheck *kc, const char *hash)
{
	struct kc_slot *found = NULL;
	int i;

	for (i = 0; i < KC_SLOTS; i++)
		if (kc->slots[i].hash[0] &&
		    CRYPTO_memcmp(kc->slots[i].hash, hash, ELOG_KEY_HASH_HEX) == 0)
			found = &kc->slots[i];
	return found;
}

/* A free slot, else the one checked longest ago. */
static struct kc_slot *kc_victim(struct elog_keycheck *kc)
{
	struct kc_slot *v = &kc->slots[0];
	int i;

	for (i = 0; i < KC_SLOTS; i++) {
		if (!kc->slots[i].hash[0])
			return &kc->slots[i];
		if (kc->slots[i].checked_mono < v->checked_mono)
			v = &kc->slots[i];
	}
	return v;
}

int elog_keycheck_verify(struct elog_keycheck *kc, const char *key, char *name, size_t namesz,
			 struct elog_err *err)
{
	char hash[ELOG_KEY_HASH_HEX + 1];
	int rc;

	if (!key || !*key)
		return 0;
	elog_key_hash(key, strlen(key), hash);
	rc = elog_keycheck_verify_hash(kc, hash, name, namesz, err);
	OPENSSL_cleanse(hash, sizeof(hash));
	return rc;
}

int elog_keycheck_verify_hash(struct elog_keycheck *kc, const char *key_hash, char *name,
			      size_t namesz, struct elog_err *err)
{
	char hash[ELOG_KEY_HASH_HEX + 1];
	int64_t now = elog_mono_ns();
	struct kc_slot *slot;
	int rc;

	if (!key_hash || strlen(key_hash) != ELOG_KEY_HASH_HEX)
		return 0;
	memcpy(hash, key_hash, sizeof(hash));
	pthread_mutex_lock(&kc->mu);
	slot = kc_find(kc, hash);
	if (slot && now - slot->checked_mono < ELOG_KEYCHECK_TTL_MS * 1000000LL) {
		if (name && namesz)
			snprintf(name, namesz, "%s", slot->name);
		pthread_mutex_unlock(&kc->mu);
		return 1;
	}
	if (!kc->store) {
		rc = elog_store_open(&kc->store, kc->db_path, 0, err);
		if (rc) {
			kc->store = NULL;
			pthread_mutex_unlock(&kc->mu);
			return rc < 0 ? rc : ELOG_EIO;
		}
	}
	if (!slot)
		slot = kc_victim(kc);
	rc = lookup(kc->store, hash, slot->name, sizeof(slot->name), err);
	if (rc != 1) {
		memset(slot, 0, sizeof(*slot));
		pthread_mutex_unlock(&kc->mu);
		return rc;
	}
	if (memcmp(slot->hash, hash, sizeof(hash)) != 0) {
		memcpy(slot->hash, hash, sizeof(hash));
		slot->touched_mono = 0;
	}
	slot->checked_mono = now;
	if (!slot->touched_mono || now - slot->touched_mono >= ELOG_KEYCHECK_TOUCH_S * 1000000000LL) {
		/* Best effort: a busy database must not refuse a valid key. */
		if (touch(kc->store, hash, elog_now_ns(), NULL) == 0)
			slot->touched_mono = now;
	}
	if (name && namesz)
		snprintf(name, namesz, "%s", slot->name);
	pthread_mutex_unlock(&kc->mu);
	return 1;
}
