/*
 * filter.c — the reader's filter as a predicate. The store turns the same struct into SQL
 * (store.c); both must agree on what matches, so the rules live here in one place:
 *   components: exact, case-sensitive name match against any listed name (binary search)
 *   level_mask: bit (1 << level); 0 means all
 *   since/until: inclusive bounds on the event time (ts_ns, or arrival_ns when ts_ns is 0)
 *   after_id:   id > after_id
 *   pattern:    PCRE2 regex searched in msg (unanchored, case-sensitive, UTF-8), bounded by
 *               a match limit: hitting it is no match (filter.h)
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "filter.h"
#include "util.h"

/*
 * The pattern used to be a POSIX ERE run by glibc's regexec: a backtracking matcher without
 * any bound, where "(.*)(.*)(.*)(.*)(.*)(.*)\1\2\3\4\5\6q" took minutes on one 123-byte line
 * (and regcomp took memory exponential in stacked quantifiers). PCRE2 bounds both: compiling
 * is limited by the compiled size, matching by MATCH_LIMIT steps, DEPTH_LIMIT nested
 * backtracks and HEAP_LIMIT KiB of backtracking memory (JIT: its 32 KiB stack).
 */
#define DEPTH_LIMIT 10000
#define HEAP_LIMIT_KIB 4096

struct elog_regex {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	int jit;
};

static void regex_free(struct elog_regex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	free(re);
}

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
	regex_free(f->regex);
	elog_filter_init(f);
}

/* Index of name in the sorted list, or where it would go (*found says which). */
static size_t component_pos(const struct elog_filter *f, const char *name, int *found)
{
	size_t lo = 0, hi = f->ncomponents;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(f->components[mid], name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int add_component_n(struct elog_filter *f, const char *name, size_t n,
			   struct elog_err *err)
{
	char *s;
	size_t at;
	int found;

	if (n == 0)
		return 0;
	s = xstrndup(name, n);
	at = component_pos(f, s, &found);
	if (found) {
		free(s);
		return 0;
	}
	if (f->ncomponents >= ELOG_FILTER_MAX_COMPONENTS) {
		free(s);
		return elog_err_set(err, ELOG_EUSAGE, "too many components: the limit is %d",
				    ELOG_FILTER_MAX_COMPONENTS);
	}
	f->components = xrealloc(f->components, (f->ncomponents + 1) * sizeof(*f->components));
	memmove(f->components + at + 1, f->components + at,
		(f->ncomponents - at) * sizeof(*f->components));
	f->components[at] = s;
	f->ncomponents++;
	return 0;
}

int elog_filter_add_component(struct elog_filter *f, const char *name, struct elog_err *err)
{
	return name ? add_component_n(f, name, strlen(name), err) : 0;
}

int elog_filter_add_components(struct elog_filter *f, const char *names, struct elog_err *err)
{
	const char *p = names;

	if (!names)
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		int rc = add_component_n(f, p, n, err);

		if (rc)
			return rc;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err)
{
	struct elog_regex *re;
	int ecode = 0;
	PCRE2_SIZE eoff = 0;
	uint32_t jit = 0;

	if (strlen(pattern) > ELOG_FILTER_MAX_PATTERN)
		return elog_err_set(err, ELOG_EUSAGE,
				    "invalid pattern '%.80s': longer than the limit of %d bytes",
				    pattern, ELOG_FILTER_MAX_PATTERN);
	re = xcalloc(1, sizeof(*re));
	re->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
				 PCRE2_MATCH_INVALID_UTF, &ecode, &eoff, NULL);
	if (!re->code) {
		PCRE2_UCHAR why[256];

		if (pcre2_get_error_message(ecode, why, sizeof(why)) < 0)
			snprintf((char *)why, sizeof(why), "error %d", ecode);
		free(re);
		/* f is left as it was */
		return elog_err_set(err, ELOG_EUSAGE, "invalid pattern '%s': %s at offset %zu",
				    pattern, (const char *)why, (size_t)eoff);
	}
	re->md = pcre2_match_data_create(1, NULL);
	re->mctx = pcre2_match_context_create(NULL);
	if (!re->md || !re->mctx) {
		regex_free(re);
		return elog_err_set(err, ELOG_ENOMEM, "out of memory");
	}
	pcre2_set_match_limit(re->mctx, ELOG_FILTER_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mctx, DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mctx, HEAP_LIMIT_KIB);
	if (pcre2_config(PCRE2_CONFIG_JIT, &jit) >= 0 && jit)
		re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
	regex_free(f->regex);
	free(f->pattern);
	f->pattern = xstrdup(pattern);
	f->regex = re;
	f->has_regex = 1;
	return 0;
}

void elog_filter_copy(struct elog_filter *dst, const struct elog_filter *src)
{
	elog_filter_init(dst);
	if (src->ncomponents) {
		dst->components = xcalloc(src->ncomponents, sizeof(*dst->components));
		for (size_t i = 0; i < src->ncomponents; i++)
			dst->components[i] = xstrdup(src->components[i]);
		dst->ncomponents = src->ncomponents;
	}
	dst->level_mask = src->level_mask;
	dst->since_ns = src->since_ns;
	dst->until_ns = src->until_ns;
	dst->after_id = src->after_id;
	dst->limit = src->limit;
	if (src->pattern)
		elog_filter_set_pattern(dst, src->pattern, NULL);
}

int elog_filter_match_msg(const struct elog_filter *f, const char *msg)
{
	int rc;

	if (!f->has_regex || !f->regex)
		return 1;
	if (!msg)
		msg = "";
	rc = pcre2_match(f->regex->code, (PCRE2_SPTR)msg, strlen(msg), 0, 0, f->regex->md,
			 f->regex->mctx);
	/* rc < 0: no match, or a limit (match, depth, heap, JIT stack) was hit: no match too */
	return rc >= 0;
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
		int found;

		component_pos(f, r->component ? r->component : "", &found);
		if (!found)
			return 0;
	}
	return elog_filter_match_msg(f, r->msg);
}
