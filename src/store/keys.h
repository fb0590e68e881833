/*
 * keys.h — API keys, kept in the history database (table keys: name UNIQUE, hash, created,
 * last_used, revoked). Only the SHA-256 of a key is stored; the key itself is returned once by
 * elog_keys_create and never kept, logged or put in an error message by this module.
 *
 * A key is "elog_" followed by 32 base32 characters (160 random bits from getrandom).
 */
#ifndef ELOG_KEYS_H
#define ELOG_KEYS_H

#include <stddef.h>
#include <stdint.h>

struct elog_err;
struct elog_store;

#define ELOG_KEY_PREFIX "elog_"
#define ELOG_KEY_HASH_HEX 64          /* hex characters of a SHA-256 */
#define ELOG_KEY_HASH_SHOWN 12        /* hash prefix shown by list and in logs */

struct elog_key_info {
	char *name;                   /* malloc'd */
	char hash_prefix[ELOG_KEY_HASH_SHOWN + 1];
	int64_t created_ns;
	int64_t last_used_ns;         /* 0: never used */
	int64_t revoked_ns;           /* 0: not revoked */
};

/*
 * The one reader of an API key file (--api-key-file, validate-key --key-file and '-'): the
 * key is the file's first line ("-": standard input's) without its trailing spaces, tabs and
 * CR. What was read is wiped from memory once the key is copied. Returns 0 and *key
 * (malloc'd; the caller wipes and frees it with elog_key_free; "" for an empty line), or
 * ELOG_EIO "cannot read API key file 'path': why", or ELOG_EUSAGE "API key file 'path': its
 * first line is longer than the limit of 1024 bytes (API key length)". A key is 37 bytes.
 */
#define ELOG_KEY_LINE_MAX 1024
int elog_key_read_file(const char *path, char **key, struct elog_err *err);
/* Wipes and frees a key; accepts NULL. */
void elog_key_free(char *key);

/* SHA-256 of key as lowercase hex into out[ELOG_KEY_HASH_HEX + 1]. */
void elog_key_hash(const char *key, size_t len, char *out);

/*
 * Creates a key named name (1..64 characters of [A-Za-z0-9._@-]) in the store. *key_out gets
 * the key (malloc'd, the caller's; show it once and free it). A name already used, revoked or
 * not, is refused ("key 'x' already exists").
 */
int elog_keys_create(struct elog_store *s, const char *name, char **key_out,
		     struct elog_err *err);

/* Every key, ordered by creation; *out is a malloc'd array (elog_keys_list_free). */
int elog_keys_list(struct elog_store *s, struct elog_key_info **out, size_t *n,
		   struct elog_err *err);
void elog_keys_list_free(struct elog_key_info *list, size_t n);

/* Revokes the key named name; ELOG_EUSAGE with "no key named 'x'" when there is none. Revoking
 * a revoked key is not an error. */
int elog_keys_revoke(struct elog_store *s, const char *name, struct elog_err *err);

/*
 * Checks key against the store: 1 when it is a known, unrevoked key (its name copied into name
 * when given), 0 when not, or a negative code with err set on a storage failure. The stored
 * hash is compared in constant time.
 */
int elog_keys_verify(struct elog_store *s, const char *key, char *name, size_t namesz,
		     struct elog_err *err);

/*
 * The server side checker: thread-safe, with its own connection to the history at db_path
 * (opened on first use) and a cache of accepted keys' hashes kept at most
 * ELOG_KEYCHECK_TTL_MS, so a revoked key stops being accepted within that time. last_used is
 * written at most once per ELOG_KEYCHECK_TOUCH_S per key.
 */
#define ELOG_KEYCHECK_TTL_MS 500
#define ELOG_KEYCHECK_TOUCH_S 10
struct elog_keycheck;

/* db_path is copied. */
struct elog_keycheck *elog_keycheck_new(const char *db_path);
/* Same result contract as elog_keys_verify. */
int elog_keycheck_verify(struct elog_keycheck *kc, const char *key, char *name, size_t namesz,
			 struct elog_err *err);
/* The same for a key known by its hash (elog_key_hash): how serve re-checks the key of a call
 * still open, so a revoked key's streams end (within ELOG_KEYCHECK_TTL_MS of the revocation
 * plus the re-check interval). */
int elog_keycheck_verify_hash(struct elog_keycheck *kc, const char *key_hash, char *name,
			      size_t namesz, struct elog_err *err);
/* Accepts NULL. */
void elog_keycheck_free(struct elog_keycheck *kc);

#endif
