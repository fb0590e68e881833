/*
 * filter.c — the reader's filter as a predicate. The store turns the same struct into SQL
 * (store.c); both must agree on what matches, so the rules live here in one place:
 *   components: exact, case-sensitive name match against any listed name (binary search)
 *   level_mask: bit (1 << level); 0 means all
 *   since/until: inclusive bounds on the event time (ts_ns, or arrival_ns when ts_ns is 0)
 *   after_id:   id > after_id
 *   pattern:    PCRE2 regex searched in msg, then in each of the first 64 field values as the
 *               text view shows them (unanchored, case as the pattern says, UTF-8), each
 *               search bounded by a match limit: hitting it is no match and ends the search
 *   xpattern:   the same search; a record it matches is out
 *   xcomponents: exact names left out
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jsontext.h"
#include "common/err.h"
#include "common/filter.h"
#include "common/util.h"

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
	struct elog_buf kb, vb;     /* scratch of the field walk */
};

static void regex_free(struct elog_regex *re)
{
	if (!re)
		return;
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mctx);
	pcre2_code_free(re->code);
	elog_buf_release(&re->kb);
	elog_buf_release(&re->vb);
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
	for (size_t i = 0; i < f->nxcomponents; i++)
		free(f->xcomponents[i]);
	free(f->xcomponents);
	free(f->xpattern);
	regex_free(f->xregex);
	elog_filter_init(f);
}

/* Index of name in the sorted list, or where it would go (*found says which). */
static size_t list_pos(char *const *list, size_t nlist, const char *name, int *found)
{
	size_t lo = 0, hi = nlist;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(list[mid], name);

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

static size_t component_pos(const struct elog_filter *f, const char *name, int *found)
{
	return list_pos(f->components, f->ncomponents, name, found);
}

static int list_add_n(char ***list, size_t *nlist, const char *name, size_t n,
		      struct elog_err *err)
{
	char *s;
	size_t at;
	int found;

	if (n == 0)
		return 0;
	s = xstrndup(name, n);
	at = list_pos(*list, *nlist, s, &found);
	if (found) {
		free(s);
		return 0;
	}
	if (*nlist >= ELOG_FILTER_MAX_COMPONENTS) {
		free(s);
		return elog_err_set(err, ELOG_EUSAGE, "too many components: the limit is %d",
				    ELOG_FILTER_MAX_COMPONENTS);
	}
	*list = xrealloc(*list, (*nlist + 1) * sizeof(**list));
	memmove(*list + at + 1, *list + at, (*nlist - at) * sizeof(**list));
	(*list)[at] = s;
	(*nlist)++;
	return 0;
}

static int add_component_n(struct elog_filter *f, const char *name, size_t n,
			   struct elog_err *err)
{
	return list_add_n(&f->components, &f->ncomponents, name, n, err);
}

static int list_add_csv(char ***list, size_t *nlist, const char *names, struct elog_err *err)
{
	const char *p = names;

	if (!names)
		return 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		int rc = list_add_n(list, nlist, p, n, err);

		if (rc)
			return rc;
		if (!comma)
			return 0;
		p = comma + 1;
	}
}

int elog_filter_add_exclude_components(struct elog_filter *f, const char *names,
				       struct elog_err *err)
{
	return list_add_csv(&f->xcomponents, &f->nxcomponents, names, err);
}

int elog_filter_excludes_component(const struct elog_filter *f, const char *name)
{
	int found = 0;

	if (f->nxcomponents)
		list_pos(f->xcomponents, f->nxcomponents, name ? name : "", &found);
	return found;
}

int elog_filter_add_component(struct elog_filter *f, const char *name, struct elog_err *err)
{
	return name ? add_component_n(f, name, strlen(name), err) : 0;
}

int elog_filter_add_components(struct elog_filter *f, const char *names, struct elog_err *err)
{
	return list_add_csv(&f->components, &f->ncomponents, names, err);
}

/* Compiles pattern into *out (bounded as filter.h says). Returns 0 or ELOG_EUSAGE. */
static int regex_compile(struct elog_regex **out, const char *pattern, struct elog_err *err)
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
	*out = re;
	return 0;
}

int elog_filter_set_pattern(struct elog_filter *f, const char *pattern, struct elog_err *err)
{
	struct elog_regex *re = NULL;
	int rc = regex_compile(&re, pattern, err);

	if (rc)
		return rc;   /* f is left as it was */
	regex_free(f->regex);
	free(f->pattern);
	f->pattern = xstrdup(pattern);
	f->regex = re;
	f->has_regex = 1;
	return 0;
}

int elog_filter_set_exclude(struct elog_filter *f, const char *pattern, struct elog_err *err)
{
	struct elog_regex *re = NULL;
	int rc = regex_compile(&re, pattern, err);

	if (rc)
		return rc;
	regex_free(f->xregex);
	free(f->xpattern);
	f->xpattern = xstrdup(pattern);
	f->xregex = re;
	return 0;
}

int elog_pattern_is_lowercase(const char *p)
{
	for (; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				break;
			p++;
			/* \p{Lu}, \P{..}, \N{U+..}, \x{..}, \o{..}, \g{..}, \k{..}: the braces' text */
			if (strchr("pPNxogk", *p) && p[1] == '{') {
				const char *close = strchr(p, '}');

				if (!close)
					break;
				p = close;
			} else if (*p == 'k' && (p[1] == '<' || p[1] == '\'')) {
				const char *close = strchr(p + 2, p[1] == '<' ? '>' : '\'');

				if (!close)
					break;
				p = close;
			}
			continue;
		}
		/* group names and verbs: (?<Name>, (?P<Name>, (?'Name', (?P=Name), (*VERB) */
		if (p[0] == '(' && (p[1] == '?' || p[1] == '*')) {
			const char *q = p + 2;

			if (p[1] == '*' || (q[0] == 'P' && (q[1] == '<' || q[1] == '=' || q[1] == '>')) ||
			    (q[0] == '<' && q[1] != '=' && q[1] != '!') || q[0] == '\'' ||
			    q[0] == '&') {
				while (*q && *q != '>' && *q != '\'' && *q != ')' && *q != ':')
					q++;
				if (!*q)
					break;
				p = q;
				continue;
			}
		}
		if (*p >= 'A' && *p <= 'Z')
			return 0;
	}
	return 1;
}

int elog_regex_find(struct elog_regex *re, const char *s, size_t n, size_t from, size_t *ms,
		    size_t *me)
{
	PCRE2_SIZE *ov;
	int rc;

	if (!re || from > n)
		return 0;
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, from, 0, re->md, re->mctx);
	if (rc < 0)
		return 0;
	ov = pcre2_get_ovector_pointer(re->md);
	if (ov[0] > n || ov[1] > n || ov[1] < ov[0])
		return 0;   /* \K tricks */
	*ms = ov[0];
	*me = ov[1];
	return 1;
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
	if (src->xpattern)
		elog_filter_set_exclude(dst, src->xpattern, NULL);
	for (size_t i = 0; i < src->nxcomponents; i++)
		list_add_n(&dst->xcomponents, &dst->nxcomponents, src->xcomponents[i],
			   strlen(src->xcomponents[i]), NULL);
	dst->tail = src->tail;
}

/* 1 match, 0 no match, -1 a limit (match, depth, heap, JIT stack) was hit. */
static int regex_test(struct elog_regex *re, const char *s, size_t n)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, re->md, re->mctx);

	if (rc >= 0)
		return 1;
	return rc == PCRE2_ERROR_NOMATCH || rc == PCRE2_ERROR_PARTIAL ? 0 : -1;
}

int elog_filter_match_msg(const struct elog_filter *f, const char *msg)
{
	if (!f->has_regex || !f->regex)
		return 1;
	if (!msg)
		msg = "";
	/* no match, or a limit was hit: no match too */
	return regex_test(f->regex, msg, strlen(msg)) == 1;
}

struct value_search {
	struct elog_regex *re;
	int result;          /* 1 found, -1 a limit was hit, 0 neither */
	int values;
};

static int search_value(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	struct value_search *vs = ctx;

	(void)k;
	(void)kn;
	if (vs->values++ >= ELOG_FILTER_MAX_FIELD_VALUES)
		return 1;
	vs->result = regex_test(vs->re, v, vn);
	return vs->result != 0;
}

/* 1: re matches msg or a field value; 0: none; -1: a limit was hit first. */
static int search_text(struct elog_regex *re, const char *msg, const char *fields)
{
	struct value_search vs = { re, 0, 0 };
	int rc = regex_test(re, msg ? msg : "", msg ? strlen(msg) : 0);

	if (rc != 0 || !fields || !*fields)
		return rc;
	if (!elog_fields_walk_buf(fields, strlen(fields), &re->kb, &re->vb, search_value, &vs))
		return regex_test(re, fields, strlen(fields));
	return vs.result;
}

int elog_filter_match_text(const struct elog_filter *f, const char *msg, const char *fields)
{
	if (f->has_regex && f->regex && search_text(f->regex, msg, fields) != 1)
		return 0;
	/* a pattern hitting its limit is no match, for the exclude pattern too: kept */
	if (f->xregex && search_text(f->xregex, msg, fields) == 1)
		return 0;
	return 1;
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
	if (elog_filter_excludes_component(f, r->component))
		return 0;
	return elog_filter_match_text(f, r->msg, r->fields);
}

char *elog_pattern_with_case(const char *re, int ignore_case)
{
	size_t lead = 0;
	char *out;

	if (!ignore_case && !elog_pattern_is_lowercase(re))
		return xstrdup(re);
	/* (?i) goes after the verbs that must open a pattern, such as (*UTF) */
	while (re[lead] == '(' && re[lead + 1] == '*') {
		const char *close = strchr(re + lead, ')');

		if (!close)
			break;
		lead = (size_t)(close - re) + 1;
	}
	out = xmalloc(strlen(re) + 5);
	memcpy(out, re, lead);
	memcpy(out + lead, "(?i)", 4);
	memcpy(out + lead + 4, re + lead, strlen(re + lead) + 1);
	return out;
}
