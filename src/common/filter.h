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
#include "common/record.h"

struct elog_err;
struct elog_regex;

#define ELOG_FILTER_MAX_COMPONENTS 1024
#define ELOG_FILTER_MAX_PATTERN 512
#define ELOG_FILTER_MATCH_LIMIT 100000
/* The pattern (and the exclude pattern) is searched in the message, then in at most this many
 * field values of a record (as the text view shows them), each search bounded as above. */
#define ELOG_FILTER_MAX_FIELD_VALUES 64
/* --tail: the history's last N records of each of at most this many components. */
#define ELOG_FILTER_MAX_TAIL_COMPONENTS 4096

/*
 * What a client that uses the later Query fields (grep, exclude_pattern, exclude_components,
 * tail) puts in the old `pattern` field: a pattern with an unclosed parenthesis, which an
 * older server (PCRE2 or POSIX ERE alike) refuses with "invalid pattern '(*elog: this server
 * is too old...': ...", so that it fails loudly instead of ignoring them.
 */
#define ELOG_QUERY_V2_SENTINEL "(*elog: this server is too old for this query; upgrade it"

struct elog_filter {
	char **components;     /* sorted (strcmp), distinct; ncomponents == 0 means all */
	size_t ncomponents;
	unsigned level_mask;   /* bit (1 << level); 0 means all levels */
	int64_t since_ns;      /* 0: none. event time >= since */
	int64_t until_ns;      /* 0: none. event time <= until */
	int64_t after_id;      /* records with id > after_id (INT64_MAX: none) */
	uint64_t limit;        /* 0: all; else the last `limit` matching history records */
	char *pattern;         /* NULL: none. PCRE2 regex searched in msg and field values */
	int has_regex;
	struct elog_regex *regex;   /* compiled pattern and its match scratch (filter.c) */
	char *xpattern;        /* NULL: none. records it matches (msg or a field value) are out */
	struct elog_regex *xregex;
	char **xcomponents;    /* sorted, distinct: these components are out */
	size_t nxcomponents;
	uint64_t tail;         /* 0: none; else the last `tail` matching history records of each
	                        * component (history only, like limit) */
};

void elog_filter_init(struct elog_filter *f);
void elog_filter_clear(struct elog_filter *f);

/* Adds one component name (kept sorted and distinct; "" is skipped). Returns 0, or
 * ELOG_EUSAGE past the limit: "too many components: the limit is 1024". */
int elog_filter_add_component(struct elog_filter *f, const char *name, struct elog_err *err);

/* Adds component names; `names` may be a comma-separated list. Empty names are skipped.
 * Returns 0 or ELOG_EUSAGE as elog_filter_add_component (names before the limit are added). */
int elog_filter_add_components(struct elog_filter *f, const char *names, struct elog_err *err);

/* Adds component names to leave out (comma-separated); same rules and limit as above. */
int elog_filter_add_exclude_components(struct elog_filter *f, const char *names,
				       struct elog_err *err);

/* True when name is one of the components left out. */
int elog_filter_excludes_component(const struct elog_filter *f, const char *name);

/* Sets and compiles the exclude pattern (same rules and bounds as the pattern). */
int elog_filter_set_exclude(struct elog_filter *f, const char *pattern, struct elog_err *err);

/* Smart case: true when pattern has no upper-case letter of its own (escapes such as \D or
 * \p{Lu} and group names do not count), i.e. it should match any case. */
int elog_pattern_is_lowercase(const char *pattern);
/* The pattern a reader runs for re: re itself, or "(?i)" put in (after any opening verbs
 * such as (*UTF)) when ignore_case is set or re is lowercase (smart case). Malloc'd. */
char *elog_pattern_with_case(const char *re, int ignore_case);

/*
 * The next match of re in s[0..n) at or after byte from: 1 with [*ms, *me), or 0 (none, or a
 * limit was hit). For highlighting; re is a filter's regex (f->regex, f->xregex).
 */
int elog_regex_find(struct elog_regex *re, const char *s, size_t n, size_t from, size_t *ms,
		    size_t *me);

/* Sets and compiles the pattern. Returns 0, or ELOG_EUSAGE ("invalid pattern 'x': why");
 * on error f is left as it was. */
int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err);

/* Makes dst an independent copy of src (dst is initialized first; src's pattern and list were
 * valid, so this cannot fail). */
void elog_filter_copy(struct elog_filter *dst, const struct elog_filter *src);

/* True when msg matches the pattern (or there is none). A match that hits the match limit
 * counts as no match. */
int elog_filter_match_msg(const struct elog_filter *f, const char *msg);

/* The pattern and exclude pattern on a record's text: true when the pattern (if any) matches
 * msg or one of the first ELOG_FILTER_MAX_FIELD_VALUES values of fields (a JSON object text;
 * not an object: the text itself) and the exclude pattern (if any) matches none of them. */
int elog_filter_match_text(const struct elog_filter *f, const char *msg, const char *fields);

/* True when r matches every condition (id included). */
int elog_filter_match(const struct elog_filter *f, const struct elog_record *r);

#endif
