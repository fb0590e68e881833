/*
 * patterns.h — a one-pass log template miner in the manner of Drain (He et al., ICWS 2017).
 *
 * Messages are cut into tokens at white space (a quoted value is one token); a token that is a
 * variable — it holds a digit (numbers, ids, times, addresses), it is quoted, it is a path
 * (starts with '/' or '~/' or holds "/" between names), or it is a long hex string — becomes
 * "<*>" ("key=value" keeps its key: "id=<*>"). Then each message joins the most similar group of
 * the same service, level and token count whose first token matches (similarity: the share of
 * positions with the same token, at least ELOG_PATTERNS_SIM), and the positions where they
 * differ become "<*>"; with no such group it starts one. One pass, no second read.
 *
 * Bounds (README "Limits"): at most max_groups groups (further messages that would start a
 * group are counted in overflow), ELOG_PATTERNS_MAX_TOKENS tokens a message (the rest joins the
 * last token), ELOG_PATTERNS_MAX_MSG bytes of a message mined, examples cut at
 * ELOG_PATTERNS_EXAMPLE bytes, ELOG_PATTERNS_MAX_CANDIDATES groups compared per message.
 * A struct elog_patterns owns everything it holds; one thread at a time.
 */
#ifndef ELOG_WEB_PATTERNS_H
#define ELOG_WEB_PATTERNS_H

#include <stddef.h>
#include <stdint.h>

#include "common/util.h"

#define ELOG_PATTERNS_MAX_TOKENS 64
#define ELOG_PATTERNS_MAX_MSG 4096
#define ELOG_PATTERNS_EXAMPLE 512
#define ELOG_PATTERNS_MAX_CANDIDATES 64
#define ELOG_PATTERNS_SIM 0.5
#define ELOG_PATTERNS_DEFAULT_GROUPS 10000

struct elog_patterns;

/* One group as elog_patterns_top gives it; the strings belong to the miner (valid until the
 * next add or the free). */
struct elog_pattern {
	const char *pattern;     /* tokens joined by one space, variables as "<*>" */
	const char *service;
	const char *example;     /* the first message of the group, cut to ELOG_PATTERNS_EXAMPLE */
	int level;               /* as given to add */
	uint64_t count;
	int64_t first_ns, last_ns;
};

/* max_groups 0: ELOG_PATTERNS_DEFAULT_GROUPS. Never NULL. */
struct elog_patterns *elog_patterns_new(size_t max_groups);
/* Accepts NULL. */
void elog_patterns_free(struct elog_patterns *p);

/* Mines msg[0..n) of service at level, seen at ts_ns. Returns 1 when it joined or started a
 * group, 0 when it would have started one past max_groups (counted in elog_patterns_overflow). */
int elog_patterns_add(struct elog_patterns *p, const char *service, int level, const char *msg,
		      size_t n, int64_t ts_ns);

/* Up to k groups, the most frequent first (ties: the first started first), into out[0..k).
 * Returns how many. */
size_t elog_patterns_top(struct elog_patterns *p, size_t k, struct elog_pattern *out);

/* Groups held; messages not mined for want of a group. */
size_t elog_patterns_groups(const struct elog_patterns *p);
uint64_t elog_patterns_overflow(const struct elog_patterns *p);

/* The template of one message on its own (its variables masked), appended to out; for tests. */
void elog_patterns_mask(const char *msg, size_t n, struct elog_buf *out);

#endif
