/*
 * filter.c — the reader's filter as a predicate. The store turns the same struct into SQL
 * (store.c); both must agree on what matches, so the rules live here in one place:
 *   components: exact, case-sensitive name match against any listed name
 *   level_mask: bit (1 << level); 0 means all
 *   since/until: inclusive bounds on the event time (ts_ns, or arrival_ns when ts_ns is 0)
 *   after_id:   id > after_id
 *   pattern:    POSIX extended regex searched in msg (unanchored, case-sensitive)
 */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "filter.h"
#include "util.h"

void elog_filter_init(struct elog_filter *f)
{
	memset(f, 0, sizeof(*f));
}

void elog_filter_clear(struct elog_filter *f)
{
	for (size_t i = 0; i < f->ncomponents; i++)
		free(f->components[i]);
	free(f->components);
	free(f->pattern);
	if (f->has_regex)
		regfree(&f->regex);
	elog_filter_init(f);
}

void elog_filter_add_components(struct elog_filter *f, const char *names)
{
	const char *p = names;

	if (!names)
		return;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n > 0) {
			f->components = xrealloc(f->components,
						 (f->ncomponents + 1) * sizeof(*f->components));
			f->components[f->ncomponents++] = xstrndup(p, n);
		}
		if (!comma)
			break;
		p = comma + 1;
	}
}

#define MAX_PATTERN 512
#define MAX_REPEAT_BOUND 100

/*
 * glibc's regcomp copies the tree of a repeated expression once per repetition, so patterns
 * such as "a+++++..." or "(a{1,99}){1,99}" take memory exponential in their length. A pattern
 * may come from any client of the hub, so refuse those shapes before compiling: stacked
 * quantifiers, interval bounds above MAX_REPEAT_BOUND, a quantified group that itself holds
 * a quantifier, and patterns longer than MAX_PATTERN. Returns a reason, or NULL when safe.
 */
static const char *pattern_risk(const char *p)
{
	int depth = 0, prev_quant = 0;
	unsigned char group_quant[64] = { 0 };   /* per open group: holds a quantifier */
	int closed_group_quant = 0;              /* the atom just closed was such a group */

	if (strlen(p) > MAX_PATTERN)
		return "longer than 512 bytes";
	for (; *p; p++) {
		int quant = 0;

		switch (*p) {
		case '\\':
			if (p[1])
				p++;
			closed_group_quant = 0;
			prev_quant = 0;
			continue;
		case '[':
			/* skip a bracket expression: "[]...]" and "[^]...]" take ']' literally */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
					char close = p[1];

					p += 2;
					while (*p && !(*p == close && p[1] == ']'))
						p++;
					if (*p)
						p++;
				}
				if (*p)
					p++;
			}
			if (!*p)
				return NULL;    /* regcomp reports the unbalanced bracket */
			closed_group_quant = 0;
			prev_quant = 0;
			continue;
		case '(':
			if (depth < 63)
				group_quant[++depth] = 0;
			closed_group_quant = 0;
			prev_quant = 0;
			continue;
		case ')':
			closed_group_quant = depth > 0 && group_quant[depth];
			if (depth > 0) {
				if (closed_group_quant && depth > 1)
					group_quant[depth - 1] = 1;
				depth--;
			}
			prev_quant = 0;
			continue;
		case '*':
		case '+':
		case '?':
			quant = 1;
			break;
		case '{': {
			const char *q = p + 1;
			long lo = strtol(q, (char **)&q, 10), hi = lo;

			if (*q == ',')
				hi = q[1] == '}' ? 0 : strtol(q + 1, (char **)&q, 10);
			if (lo > MAX_REPEAT_BOUND || hi > MAX_REPEAT_BOUND)
				return "repetition bound above 100";
			while (*p && *p != '}')
				p++;
			if (!*p)
				return NULL;
			quant = 1;
			break;
		}
		default:
			closed_group_quant = 0;
			prev_quant = 0;
			continue;
		}
		if (quant) {
			if (prev_quant)
				return "stacked repetition operators";
			if (closed_group_quant)
				return "repetition of a group that repeats";
			if (depth > 0)
				group_quant[depth] = 1;
			prev_quant = 1;
		}
	}
	return NULL;
}

int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err)
{
	regex_t re;
	const char *risk = pattern_risk(pattern);
	int rc;

	if (risk)
		return elog_err_set(err, ELOG_EUSAGE, "invalid pattern '%.80s': %s", pattern, risk);
	rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);

	if (rc != 0) {
		char why[256];

		regerror(rc, &re, why, sizeof(why));
		/* regcomp leaves nothing to free on failure; f is left as it was. */
		return elog_err_set(err, ELOG_EUSAGE, "invalid pattern '%s': %s", pattern, why);
	}
	if (f->has_regex)
		regfree(&f->regex);
	free(f->pattern);
	f->pattern = xstrdup(pattern);
	f->regex = re;
	f->has_regex = 1;
	return 0;
}

int elog_filter_match(const struct elog_filter *f, const struct elog_record *r)
{
	int64_t ts = r->ts_ns ? r->ts_ns : r->arrival_ns;

	if (r->id <= f->after_id && f->after_id > 0)
		return 0;
	if (f->level_mask && (r->level < 0 || r->level >= 32 ||
			      !(f->level_mask & (1u << r->level))))
		return 0;
	if (f->since_ns && ts < f->since_ns)
		return 0;
	if (f->until_ns && ts > f->until_ns)
		return 0;
	if (f->ncomponents) {
		size_t i;
		const char *c = r->component ? r->component : "";

		for (i = 0; i < f->ncomponents; i++)
			if (strcmp(f->components[i], c) == 0)
				break;
		if (i == f->ncomponents)
			return 0;
	}
	if (f->has_regex && regexec(&f->regex, r->msg ? r->msg : "", 0, NULL, 0) != 0)
		return 0;
	return 1;
}
