/*
 * filter.h — which records a reader wants. Shared by the store (as SQL) and the hub's live
 * fan-out (as a predicate), so history and live agree on what matches.
 * A struct elog_filter owns its component list and compiled pattern; elog_filter_clear frees.
 */
#ifndef ELOG_FILTER_H
#define ELOG_FILTER_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

struct elog_err;

struct elog_filter {
	char **components;     /* NULL-free array of names; ncomponents == 0 means all */
	size_t ncomponents;
	unsigned level_mask;   /* bit (1 << level); 0 means all levels */
	int64_t since_ns;      /* 0: none. event time >= since */
	int64_t until_ns;      /* 0: none. event time <= until */
	int64_t after_id;      /* records with id > after_id */
	uint64_t limit;        /* 0: all; else the last `limit` matching history records */
	char *pattern;         /* NULL: none. POSIX extended regex on msg, case-sensitive */
	int has_regex;
	regex_t regex;
};

void elog_filter_init(struct elog_filter *f);
void elog_filter_clear(struct elog_filter *f);

/* Adds component names; `names` may be a comma-separated list. Empty names are skipped. */
void elog_filter_add_components(struct elog_filter *f, const char *names);

/* Sets and compiles the pattern. Returns 0, or ELOG_EUSAGE ("invalid pattern 'x': why"). */
int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err);

/* True when r matches every condition (id included). */
int elog_filter_match(const struct elog_filter *f, const struct elog_record *r);

#endif
