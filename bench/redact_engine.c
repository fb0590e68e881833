/*
 * redact_engine.c — the engine choice behind common/redact.c, measured: the same lines
 * (ordinary log lines with a secret every 100 lines) through
 *   1. elog_redact_text: one Vectorscan pass with every enabled rule, then PCRE2-JIT on the
 *      texts where a rule fired (what serve does, replacements included);
 *   2. PCRE2-JIT with one alternation of every enabled rule's pattern, detection only (one
 *      pcre2_match a line, no replacement: a lower bound for a PCRE2-only engine).
 *   3. elog_redact_record_new on records of a message (the same lines) and fields (a small
 *      JSON object, as logging.v1 or a JSON line gives): what serve runs for every record.
 * Usage: redact_engine ORDINARY SECRETS [N]. Prints ns per line and MB/s, best of 5 rounds,
 * in CPU time of the thread (CLOCK_THREAD_CPUTIME_ID): on a shared machine the wall clock
 * counts the other processes' time slices too.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/redact.h"
#include "common/err.h"
#include "common/util.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char **load(const char *p, size_t *n)
{
	FILE *f = fopen(p, "r");
	char *l = NULL, **v = NULL;
	size_t c = 0;
	ssize_t k;

	*n = 0;
	if (!f) {
		perror(p);
		exit(1);
	}
	while ((k = getline(&l, &c, f)) > 0) {
		if (l[k - 1] == '\n')
			l[--k] = '\0';
		if (!k || l[0] == '\t' || l[0] == ' ')
			continue;   /* whole lines only: continuation lines need their stream */
		v = xrealloc(v, (*n + 1) * sizeof(*v));
		v[(*n)++] = xstrdup(l);
	}
	free(l);
	fclose(f);
	return v;
}

int main(int argc, char **argv)
{
	size_t no, ns, i, n = argc > 3 ? (size_t)atol(argv[3]) : 200000, bytes = 0, hits;
	char **o, **s, **c;
	struct elog_err err;
	struct elog_redactor *rd;
	struct elog_buf alt = ELOG_BUF_INIT;
	double best, t;
	int r, ec;
	PCRE2_SIZE eo;
	pcre2_code *re;
	pcre2_match_data *md;

	if (argc < 3) {
		fprintf(stderr, "usage: redact_engine ORDINARY SECRETS [N]\n");
		return 2;
	}
	o = load(argv[1], &no);
	s = load(argv[2], &ns);
	c = xmalloc(n * sizeof(*c));
	for (i = 0; i < n; i++) {
		c[i] = i % 100 == 50 ? s[(i / 100) % ns] : o[i % no];
		bytes += strlen(c[i]);
	}
	rd = elog_redactor_new();
	if (elog_redactor_compile(rd, &err) != 0) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	best = 1e9;
	for (r = 0; r < 5; r++) {
		hits = 0;
		t = now();
		for (i = 0; i < n; i++) {
			uint64_t f;
			char *x = elog_redact_text(rd, NULL, NULL, c[i], strlen(c[i]), &f);

			hits += x != NULL;
			free(x);
		}
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("| Vectorscan, one pass of every default rule + PCRE2-JIT where one fired, "
	       "replacing (elog_redact_text) | %.0f ns/line | %.0f MB/s | %zu lines changed |\n",
	       best / (double)n * 1e9, (double)bytes / best / 1e6, hits);
	{
		struct elog_record rec;
		char *fields[1000], *m0, *f0;
		size_t fbytes = 0, k;

		/* made before the clock starts: what a record's fields cost to scan, not to print */
		for (k = 0; k < 1000; k++) {
			struct elog_buf fb = ELOG_BUF_INIT;

			elog_buf_addf(&fb, "{\"user_id\":\"u%zu\",\"role\":\"user\",\"seq\":%zu,"
				      "\"version\":2}", k % 97, 100000 + k);
			fields[k] = elog_buf_detach(&fb);
		}
		for (i = 0; i < n; i++)
			fbytes += strlen(fields[i % 1000]);
		elog_record_init(&rec);
		elog_record_set(&rec.component, "bench", 5);
		elog_record_set(&rec.source, "redact_engine", 13);
		m0 = rec.msg;
		f0 = rec.fields;
		best = 1e9;
		for (r = 0; r < 5; r++) {
			hits = 0;
			t = now();
			for (i = 0; i < n; i++) {
				struct elog_redacted o;

				rec.msg = c[i];
				rec.fields = fields[i % 1000];
				hits += elog_redact_record_new(rd, NULL, &rec, &o) > 0;
				free(o.msg);
				free(o.fields);
				free(o.component);
				free(o.source);
			}
			t = now() - t;
			if (t < best)
				best = t;
		}
		rec.msg = m0;           /* the record's own (empty) strings back before the clear */
		rec.fields = f0;
		elog_record_clear(&rec);
		for (k = 0; k < 1000; k++)
			free(fields[k]);
		printf("| the same lines as records with fields (a %zu-byte JSON object), "
		       "elog_redact_record_new | %.0f ns/record | %.0f MB/s | %zu records changed |\n",
		       fbytes / n, best / (double)n * 1e9, (double)(bytes + fbytes) / best / 1e6,
		       hits);
	}
	for (i = 0; i < elog_redactor_rules(rd); i++) {
		struct elog_redact_rule_info ri;

		elog_redactor_rule(rd, i, &ri);
		if (!ri.enabled || !ri.pattern)
			continue;
		elog_buf_addf(&alt, "%s(?:%s)", alt.len ? "|" : "", ri.pattern);
	}
	re = pcre2_compile((PCRE2_SPTR)alt.data, PCRE2_ZERO_TERMINATED,
			   PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &ec, &eo, NULL);
	if (!re) {
		fprintf(stderr, "alternation does not compile\n");
		return 1;
	}
	pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
	md = pcre2_match_data_create_from_pattern(re, NULL);
	best = 1e9;
	for (r = 0; r < 5; r++) {
		hits = 0;
		t = now();
		for (i = 0; i < n; i++)
			hits += pcre2_match(re, (PCRE2_SPTR)c[i], strlen(c[i]), 0, 0, md, NULL) >= 0;
		t = now() - t;
		if (t < best)
			best = t;
	}
	printf("| PCRE2-JIT, one alternation of the same rules, detection only | %.0f ns/line | "
	       "%.0f MB/s | %zu lines matched (before checks) |\n", best / (double)n * 1e9,
	       (double)bytes / best / 1e6, hits);
	printf("(%zu lines, %.1f MB, 1%% with a secret; CPU time, best of 5)\n", n, (double)bytes / 1e6);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	elog_buf_release(&alt);
	elog_redactor_free(rd);
	for (i = 0; i < no; i++)
		free(o[i]);
	for (i = 0; i < ns; i++)
		free(s[i]);
	free(o);
	free(s);
	free(c);
	return 0;
}
