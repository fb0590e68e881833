/*
 * hgen.c — the history bench's data (bench/history.sh): N JSON lines of ~125 bytes, 4
 * components, 4 levels, one record a millisecond from 2026-01-27T00:00:00Z, a message
 * "request I w w w" (three of 12 words), a field dur_ms. Deterministic (fixed seed).
 *   hgen FIRST COUNT [TSV] [NEEDLE_AT]
 * writes lines FIRST..FIRST+COUNT-1 to stdout; with TSV, also the same records as tab-separated
 * rows (id, ts ns, component, level, msg, fields, source) for a sqlite3 reference table; line
 * NEEDLE_AT (if within the range) has the word "quokka" in its message, a word no other line has.
 * The words are drawn from a generator seeded by the line number, so any range of lines is the
 * same wherever it is cut.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *comps[] = { "api", "worker", "db", "auth" };
static const char *levels[] = { "debug", "info", "warn", "error" };
static const char *words[] = { "served", "user", "cache", "miss", "retry", "timeout", "upstream",
			       "connection", "pool", "job", "done", "queued" };

static uint64_t mix(uint64_t x)   /* splitmix64 */
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static char *put(char *p, const char *s)
{
	while (*s)
		*p++ = *s++;
	return p;
}

static char *put2(char *p, int v)   /* two digits */
{
	*p++ = (char)('0' + v / 10 % 10);
	*p++ = (char)('0' + v % 10);
	return p;
}

static char *putn(char *p, long long v)   /* v >= 0 */
{
	char d[24];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	while (n)
		*p++ = d[--n];
	return p;
}

int main(int argc, char **argv)
{
	long long first, count, needle = -1;
	FILE *tsv = NULL;
	const long long base_s = 1769472000LL;   /* 2026-01-27T00:00:00Z */
	static char obuf[1 << 20], tbuf[1 << 20];

	if (argc < 3) {
		fprintf(stderr, "usage: hgen FIRST COUNT [TSV] [NEEDLE_AT]\n");
		return 2;
	}
	first = atoll(argv[1]);
	count = atoll(argv[2]);
	if (argc > 3 && argv[3][0] && !(tsv = fopen(argv[3], "w"))) {
		perror(argv[3]);
		return 1;
	}
	if (argc > 4)
		needle = atoll(argv[4]);
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	if (tsv)
		setvbuf(tsv, tbuf, _IOFBF, sizeof(tbuf));
	for (long long i = first; i < first + count; i++) {
		uint64_t r = mix((uint64_t)i);
		long long ms = i, s = base_s + ms / 1000;
		int hh = (int)(s / 3600 % 24), mm = (int)(s / 60 % 60), ss = (int)(s % 60);
		const char *lv = levels[r & 3], *c = comps[i & 3];
		char line[256], *p = line, *msg;
		int dur = (int)((r >> 40) % 1000);

		/* by hand, not printf: 10M lines are generated for each run */
		p = put(p, "{\"ts\":\"2026-01-");
		p = put2(p, 27 + (int)(ms / 86400000));
		*p++ = 'T';
		p = put2(p, hh);
		*p++ = ':';
		p = put2(p, mm);
		*p++ = ':';
		p = put2(p, ss);
		*p++ = '.';
		p = put2(p, (int)(ms % 1000 / 10));
		*p++ = (char)('0' + ms % 10);
		p = put(p, "000Z\",\"level\":\"");
		p = put(p, lv);
		p = put(p, "\",\"component\":\"");
		p = put(p, c);
		p = put(p, "\",\"msg\":\"");
		msg = p;
		p = put(p, "request ");
		p = putn(p, i);
		*p++ = ' ';
		if (i == needle)
			p = put(p, "quokka ");
		p = put(p, words[(r >> 8) % 12]);
		*p++ = ' ';
		p = put(p, words[(r >> 16) % 12]);
		*p++ = ' ';
		p = put(p, words[(r >> 24) % 12]);
		*p = 0;
		if (tsv)
			fprintf(tsv, "%lld\t%lld\t%s\t%d\t%s\t{\"dur_ms\":%d}\t\n", i + 1,
				(s * 1000 + ms % 1000) * 1000000LL, c, (int)(r & 3) + 1, msg, dur);
		p = put(p, "\",\"dur_ms\":");
		p = putn(p, dur);
		p = put(p, "}\n");
		fwrite(line, 1, (size_t)(p - line), stdout);
	}
	if (fflush(stdout) || (tsv && fclose(tsv))) {
		perror("hgen");
		return 1;
	}
	return 0;
}
