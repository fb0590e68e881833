/*
 * patterns.c — see patterns.h.
 */
#include <stdlib.h>
#include <string.h>

#include "web/patterns.h"

#define VAR "<*>"
#define NBUCKETS 4096

struct group {
	char *service;
	int level;
	size_t ntok;
	char **tok;              /* ntok malloc'd tokens; VAR for a variable */
	uint64_t count;
	int64_t first_ns, last_ns;
	char *example;
	char *pattern;           /* joined, rebuilt when a token becomes a variable; NULL: stale */
	size_t order;            /* when it was started */
};

struct bucket {
	char *key;               /* service \x1f level \x1f ntok \x1f first token */
	size_t *ids;
	size_t n, cap;
	struct bucket *next;
};

struct elog_patterns {
	struct group *g;
	size_t n, cap, max;
	uint64_t overflow;
	struct bucket *tab[NBUCKETS];
	struct elog_buf kb, tb;  /* scratch: bucket key, masked tokens */
};

struct elog_patterns *elog_patterns_new(size_t max_groups)
{
	struct elog_patterns *p = xcalloc(1, sizeof(*p));

	p->max = max_groups ? max_groups : ELOG_PATTERNS_DEFAULT_GROUPS;
	return p;
}

void elog_patterns_free(struct elog_patterns *p)
{
	size_t i, j;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		struct group *g = &p->g[i];

		for (j = 0; j < g->ntok; j++)
			free(g->tok[j]);
		free(g->tok);
		free(g->service);
		free(g->example);
		free(g->pattern);
	}
	free(p->g);
	for (i = 0; i < NBUCKETS; i++) {
		struct bucket *b = p->tab[i], *nx;

		for (; b; b = nx) {
			nx = b->next;
			free(b->key);
			free(b->ids);
			free(b);
		}
	}
	elog_buf_release(&p->kb);
	elog_buf_release(&p->tb);
	free(p);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Is the value v[0..n) (no key) a variable? */
static int is_variable(const char *v, size_t n)
{
	size_t i, hex = 0;

	if (n == 0)
		return 0;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
		return 1;
	if (v[0] == '/' || (n > 1 && v[0] == '~' && v[1] == '/'))
		return 1;
	for (i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			return 1;
		if (is_hex(v[i]))
			hex++;
		if (v[i] == '/' && i > 0 && i + 1 < n)
			return 1;
	}
	return n >= 8 && hex == n;
}

/*
 * Cuts msg[0..n) into tokens, each masked, appended to out separated by '\0'. A quote at the
 * start of a token, or right after its '=', runs to the matching quote (spaces included).
 * Returns the number of tokens (at most ELOG_PATTERNS_MAX_TOKENS: the rest of the message
 * goes into the last one).
 */
static size_t tokenize(const char *msg, size_t n, struct elog_buf *out)
{
	size_t i = 0, ntok = 0;

	if (n > ELOG_PATTERNS_MAX_MSG)
		n = ELOG_PATTERNS_MAX_MSG;
	elog_buf_reset(out);
	while (i < n) {
		size_t start, end, eq = 0, vstart;
		int have_eq = 0;

		while (i < n && is_space(msg[i]))
			i++;
		if (i >= n)
			break;
		start = i;
		if (ntok + 1 == ELOG_PATTERNS_MAX_TOKENS) {
			end = n;
			while (end > start && is_space(msg[end - 1]))
				end--;
			i = n;
		} else {
			while (i < n && !is_space(msg[i])) {
				char c = msg[i];

				if (c == '=' && !have_eq) {
					have_eq = 1;
					eq = i;
				}
				if ((c == '"' || c == '\'') && (i == start || (have_eq && i == eq + 1))) {
					const char *q = memchr(msg + i + 1, c, n - i - 1);

					if (q) {
						i = (size_t)(q - msg) + 1;
						continue;
					}
				}
				i++;
			}
			end = i;
		}
		vstart = have_eq && eq > start ? eq + 1 : start;
		if (is_variable(msg + vstart, end - vstart)) {
			if (vstart > start)
				elog_buf_add(out, msg + start, vstart - start);
			elog_buf_adds(out, VAR);
		} else {
			elog_buf_add(out, msg + start, end - start);
		}
		elog_buf_addc(out, '\0');
		ntok++;
	}
	return ntok;
}

void elog_patterns_mask(const char *msg, size_t n, struct elog_buf *out)
{
	struct elog_buf t = ELOG_BUF_INIT;
	size_t k = tokenize(msg, n, &t), i, off = 0;

	for (i = 0; i < k; i++) {
		size_t l = strlen(t.data + off);

		if (i)
			elog_buf_addc(out, ' ');
		elog_buf_add(out, t.data + off, l);
		off += l + 1;
	}
	if (!out->data)
		elog_buf_adds(out, "");
	elog_buf_release(&t);
}

static struct bucket *bucket_of(struct elog_patterns *p, const char *key, size_t klen, int make)
{
	uint32_t h = (uint32_t)(elog_fnv1a64(key, klen) % NBUCKETS);
	struct bucket *b;

	for (b = p->tab[h]; b; b = b->next)
		if (memcmp(b->key, key, klen) == 0 && b->key[klen] == '\0')
			return b;
	if (!make)
		return NULL;
	b = xcalloc(1, sizeof(*b));
	b->key = xstrndup(key, klen);
	b->next = p->tab[h];
	p->tab[h] = b;
	return b;
}

static void cut_example(struct group *g, const char *msg, size_t n)
{
	size_t k = n;

	if (k > ELOG_PATTERNS_EXAMPLE) {
		k = ELOG_PATTERNS_EXAMPLE;
		/* at a character boundary */
		while (k > 0 && ((unsigned char)msg[k] & 0xC0) == 0x80)
			k--;
	}
	g->example = elog_utf8_dup(msg, k);
}

int elog_patterns_add(struct elog_patterns *p, const char *service, int level, const char *msg,
		      size_t n, int64_t ts_ns)
{
	const char *toks[ELOG_PATTERNS_MAX_TOKENS];
	size_t ntok, i, off = 0, best = (size_t)-1, tried = 0;
	double best_sim = -1;
	struct bucket *b;
	struct group *g;

	ntok = tokenize(msg, n, &p->tb);
	for (i = 0; i < ntok; i++) {
		toks[i] = p->tb.data + off;
		off += strlen(toks[i]) + 1;
	}
	elog_buf_reset(&p->kb);
	elog_buf_addf(&p->kb, "%s\x1f%d\x1f%zu\x1f%s", service, level, ntok,
		      ntok ? toks[0] : "");
	b = bucket_of(p, p->kb.data, p->kb.len, 0);
	/* a first token that is a variable, or a group whose first token became one, is looked
	 * for under "<*>" too */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			if (ntok == 0 || strcmp(toks[0], VAR) == 0)
				break;
			elog_buf_reset(&p->kb);
			elog_buf_addf(&p->kb, "%s\x1f%d\x1f%zu\x1f%s", service, level, ntok, VAR);
			b = bucket_of(p, p->kb.data, p->kb.len, 0);
		}
		if (!b)
			continue;
		/* the newest groups first: they are the likelier match for a burst */
		for (i = b->n; i-- > 0 && tried < ELOG_PATTERNS_MAX_CANDIDATES; tried++) {
			struct group *c = &p->g[b->ids[i]];
			size_t same = 0, j;
			double sim;

			for (j = 0; j < ntok; j++)
				if (strcmp(c->tok[j], toks[j]) == 0)
					same++;
			sim = ntok ? (double)same / (double)ntok : 1.0;
			if (sim > best_sim) {
				best_sim = sim;
				best = b->ids[i];
			}
		}
	}
	if (best != (size_t)-1 && best_sim >= ELOG_PATTERNS_SIM) {
		g = &p->g[best];
		for (i = 0; i < ntok; i++)
			if (strcmp(g->tok[i], toks[i]) != 0 && strcmp(g->tok[i], VAR) != 0) {
				free(g->tok[i]);
				g->tok[i] = xstrdup(VAR);
				free(g->pattern);
				g->pattern = NULL;
			}
		g->count++;
		if (ts_ns < g->first_ns)
			g->first_ns = ts_ns;
		if (ts_ns > g->last_ns)
			g->last_ns = ts_ns;
		return 1;
	}
	if (p->n >= p->max) {
		p->overflow++;
		return 0;
	}
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->g = xrealloc(p->g, p->cap * sizeof(*p->g));
	}
	g = &p->g[p->n];
	memset(g, 0, sizeof(*g));
	g->service = xstrdup(service);
	g->level = level;
	g->ntok = ntok;
	g->tok = xcalloc(ntok ? ntok : 1, sizeof(char *));
	for (i = 0; i < ntok; i++)
		g->tok[i] = xstrdup(toks[i]);
	g->count = 1;
	g->first_ns = g->last_ns = ts_ns;
	g->order = p->n;
	cut_example(g, msg, n);
	elog_buf_reset(&p->kb);
	elog_buf_addf(&p->kb, "%s\x1f%d\x1f%zu\x1f%s", service, level, ntok, ntok ? toks[0] : "");
	b = bucket_of(p, p->kb.data, p->kb.len, 1);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 4;
		b->ids = xrealloc(b->ids, b->cap * sizeof(*b->ids));
	}
	b->ids[b->n++] = p->n;
	p->n++;
	return 1;
}

static int by_count(const void *a, const void *b)
{
	const struct group *x = *(const struct group *const *)a, *y = *(const struct group *const *)b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *pattern_of(struct group *g)
{
	struct elog_buf b = ELOG_BUF_INIT;
	size_t i;

	if (g->pattern)
		return g->pattern;
	for (i = 0; i < g->ntok; i++) {
		if (i)
			elog_buf_addc(&b, ' ');
		elog_buf_adds(&b, g->tok[i]);
	}
	g->pattern = elog_buf_detach(&b);
	return g->pattern;
}

size_t elog_patterns_top(struct elog_patterns *p, size_t k, struct elog_pattern *out)
{
	struct group **v;
	size_t i, m;

	if (p->n == 0 || k == 0)
		return 0;
	v = xmalloc(p->n * sizeof(*v));
	for (i = 0; i < p->n; i++)
		v[i] = &p->g[i];
	qsort(v, p->n, sizeof(*v), by_count);
	m = k < p->n ? k : p->n;
	for (i = 0; i < m; i++) {
		out[i].pattern = pattern_of(v[i]);
		out[i].service = v[i]->service;
		out[i].example = v[i]->example;
		out[i].level = v[i]->level;
		out[i].count = v[i]->count;
		out[i].first_ns = v[i]->first_ns;
		out[i].last_ns = v[i]->last_ns;
	}
	free(v);
	return m;
}

size_t elog_patterns_groups(const struct elog_patterns *p)
{
	return p->n;
}

uint64_t elog_patterns_overflow(const struct elog_patterns *p)
{
	return p->overflow;
}
