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

int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err)
{
	regex_t re;
	int rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB);

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
