/*
 * redact_internal.h — what the files of the redactor share (redact.c: built-in rules, rule
 * configuration and compiling; redact_scan.c: the checks and the one-pass scan of a text;
 * redact_json.c: the walk of a record's JSON fields and the rewriting of a record;
 * redact_stream.c: the state of private key blocks split over records): the rule and
 * redactor structs and the functions that cross files. Nothing outside src/common/redact*.c
 * includes it.
 */
#ifndef ELOG_REDACT_INTERNAL_H
#define ELOG_REDACT_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "common/redact.h"

enum check {
	CK_NONE = 0,
	CK_BEARER,      /* the credential has a digit or a symbol, or is long */
	CK_BASIC,       /* the credential is base64 of "user:password" */
	CK_KV,          /* key-value: a cookie or authorization header value runs to the line end */
	CK_AWS_SECRET,  /* 40 characters of mixed case, not hex */
	CK_PEM,         /* the block from BEGIN to END (or the end of the text, then stream state) */
	CK_CARD,        /* Luhn, a known issuer prefix, consistent grouping */
	CK_IPV6,        /* inet_pton accepts it */
	CK_PHONE,       /* 9 to 15 digits */
	CK_UNSCANNABLE, /* not a pattern: the notice of a text that could not be scanned */
};

struct rule {
	char *name;
	char *pattern;
	const char *hs;             /* built-ins: their scan pattern; NULL: pattern */
	char *repl;                 /* what replaces a match */
	const char *desc;
	int builtin, enabled;
	enum check check;
	pcre2_code *re;
	int group;                  /* capture group replaced (0: the whole match) */
	_Atomic uint64_t records;
};

struct elog_redactor {
	struct rule rules[ELOG_REDACT_MAX_RULES];
	size_t n;
	int unscannable;            /* index of the "unscannable" rule */
	int card;                   /* index of card-number when enabled, else -1 */
	int compiled;
	hs_database_t *db;          /* NULL when no rule is enabled */
	hs_scratch_t *proto;        /* cloned per thread */
	pthread_key_t key;          /* a thread's struct redact_tls */
	int have_key;
	pcre2_match_context *mctx;
	int combine;                /* only built-ins on: a record's texts may be scanned as one */
};

/* What a thread keeps for a redactor: its Vectorscan scratch, and the buffer in which a
 * record's message and fields are put together for one scan. */
struct redact_tls {
	hs_scratch_t *scr;
	char *buf;
	size_t cap;
	/* the last (component, source) pair found clean, "component\0source" (or NULL): a
	 * stream's records share theirs, so most records skip the scan of both */
	char *clean_names;
	size_t clean_len;
};

void redact__tls_free(void *p);

#define MATCH_LIMIT 10000000u

/* redact_stream.c: is (component, source) inside a private key block; enter or leave one */
int redact__stream_in_block(struct elog_redact_streams *st, const char *c, const char *s);
void redact__stream_set(struct elog_redact_streams *st, const char *c, const char *s, int in);

/* redact_scan.c */
/* The rules that fired in a record's component and source, with their redacted copies in
 * *comp and *src (NULL: unchanged). 0, with nothing fired, for a pair the thread last found
 * clean. */
uint64_t redact__names(struct elog_redactor *rd, const char *c, const char *s, char **comp,
		       char **src);
int redact__prescan(struct elog_redactor *rd, const char *s, size_t n, uint64_t *mask);
int redact__prescan2(struct elog_redactor *rd, const char *a, size_t na, const char *b, size_t nb,
		     uint64_t *mask_a, uint64_t *mask_b);
/* premask (may be NULL): the rules that may match s, from a prescan already made */
char *redact__text(struct elog_redactor *rd, struct elog_redact_streams *st,
		   const char *c, const char *src, const char *s, size_t n, uint64_t *fired,
		   const uint64_t *premask);

#endif
