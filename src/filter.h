/*
 * filter.h — which records a reader wants. Shared by the store (as SQL) and the hub's live
 * fan-out (as a predicate), so history and live agree on what matches.
 * A struct elog_filter owns its component list and compiled pattern; elog_filter_clear frees.
 *
 * A filter may come from any client of serve, so its cost is bounded:
 *   - at most ELOG_FILTER_MAX_COMPONENTS component names, kept sorted and distinct, matched
 *     by binary search (O(log n) per record);
 *   - the pattern is a PCRE2 regular expression of at most ELOG_FILTER_MAX_PATTERN bytes,
 *     matched with a match limit of ELOG_FILTER_MATCH_LIMIT backtracking steps and a depth
 *     limit (no pattern, backreferences included, can take more than about a millisecond
 *     per record); a record on which the limit is hit counts as not matching.
 * Matching uses scratch space inside the filter: one thread at a time per filter (serve gives
 * each reader and each follower its own).
 */
#ifndef ELOG_FILTER_H
#define ELOG_FILTER_H

#include <stddef.h>
#include <stdint.h>
#include "record.h"

struct elog_err;
struct elog_regex;

#define ELOG_FILTER_MAX_COMPONENTS 1024
#define ELOG_FILTER_MAX_PATTERN 512
#define ELOG_FILTER_MATCH_LIMIT 100000

struct elog_filter {
	char **components;     /* sorted (strcmp), distinct; ncomponents == 0 means all */
	size_t ncomponents;
	unsigned level_mask;   /* bit (1 << level); 0 means all levels */
	int64_t since_ns;      /* 0: none. event time >= since */
	int64_t until_ns;      /* 0: none. event time <= until */
	int64_t after_id;      /* records with id > after_id (INT64_MAX: none) */
	uint64_t limit;        /* 0: all; else the last `limit` matching history records */
	char *pattern;         /* NULL: none. PCRE2 regex searched in msg, case-sensitive */
	int has_regex;
	struct elog_regex *regex;   /* compiled pattern and its match scratch (filter.c) */
};

void elog_filter_init(struct elog_filter *f);
void elog_filter_clear(struct elog_filter *f);

/* Adds one component name (kept sorted and distinct; "" is skipped). Returns 0, or
 * ELOG_EUSAGE past the limit: "too many components: the limit is 1024". */
int elog_filter_add_component(struct elog_filter *f, const char *name, struct elog_err *err);

/* Adds component names; `names` may be a comma-separated list. Empty names are skipped.
 * Returns 0 or ELOG_EUSAGE as elog_filter_add_component (names before the limit are added). */
int elog_filter_add_components(struct elog_filter *f, const char *names, struct elog_err *err);

/* Sets and compiles the pattern. Returns 0, or ELOG_EUSAGE ("invalid pattern 'x': why");
 * on error f is left as it was. */
int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err);

/* Makes dst an independent copy of src (dst is initialized first; src's pattern and list were
 * valid, so this cannot fail). */
void elog_filter_copy(struct elog_filter *dst, const struct elog_filter *src);

/* True when msg matches the pattern (or there is none). A match that hits the match limit
 * counts as no match. */
int elog_filter_match_msg(const struct elog_filter *f, const char *msg);

/* True when r matches every condition (id included). */
int elog_filter_match(const struct elog_filter *f, const struct elog_record *r);

#endif
