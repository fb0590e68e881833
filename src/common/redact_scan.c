/*
 * redact_scan.c — the redactor's engine: the checks that confirm a match, the Vectorscan
 * prescan, the PCRE2 spans of each rule and the redaction of a text.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <arpa/inet.h>
#include <yajl/yajl_tree.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/redact_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

/* ---- checks ------------------------------------------------------------------------------ */

static int key_ends(const char *norm, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && memcmp(norm + n - k, w, k) == 0;
}

int elog_redact_key_is_secret(const char *k, size_t n)
{
	static const char *const words[] = {
		"password", "passwd", "pwd", "passphrase", "secret", "secretkey", "token", "apikey",
		"accesskey", "privatekey", "session", "cookie", "authorization",
	};
	char norm[64];
	size_t m = 0, i;

	/* only the last 63 letters and digits matter */
	for (i = n; i > 0 && m < sizeof(norm) - 1; i--) {
		unsigned char c = (unsigned char)k[i - 1];

		if (c == '_' || c == '-' || c == '.' || c == ' ')
			continue;
		norm[m++] = (char)tolower(c);
	}
	/* norm holds the key reversed: turn it around */
	for (i = 0; i < m / 2; i++) {
		char t = norm[i];

		norm[i] = norm[m - 1 - i];
		norm[m - 1 - i] = t;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (key_ends(norm, m, words[i]))
			return 1;
	return 0;
}

/* True when s[0..n) is base64 of a text holding ':' (user:password). */
static int basic_ok(const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n && s[i] != '='; i++) {
		int v = elog_base64_digit((unsigned char)s[i]);

		if (v < 0)
			return 0;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (((acc >> bits) & 0xff) == ':')
				return 1;
		}
	}
	return 0;
}

static int bearer_ok(const char *s, size_t n)
{
	size_t i;

	if (n >= 24)
		return 1;
	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 1;
	return 0;
}

static int aws_secret_ok(const char *s, size_t n)
{
	int up = 0, low = 0, hex = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		up |= isupper(c) != 0;
		low |= islower(c) != 0;
		if (!isxdigit(c))
			hex = 0;
	}
	return up && low && !hex;
}

static int luhn(const char *d, size_t n)
{
	int sum = 0, dbl = 0;
	size_t i;

	for (i = n; i > 0; i--) {
		int v = d[i - 1] - '0';

		if (dbl) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

static int card_prefix_ok(const char *d, size_t n)
{
	int two = (d[0] - '0') * 10 + (d[1] - '0');

	switch (d[0]) {
	case '4':
		return n == 13 || n == 16 || n == 19;
	case '5':
		return two >= 51 && two <= 55 && n == 16;
	case '2':
		return two >= 22 && two <= 27 && n == 16;
	case '3':
		if (two == 34 || two == 37)
			return n == 15;
		return (two == 30 || two == 36 || two == 38 || two == 39 || two == 35) &&
		       n >= 14 && n <= 16;
	case '6':
		return n >= 16 && n <= 19;
	}
	return 0;
}

/*
 * A card number in text[a..b) (digits, maybe grouped by ' ' or '-'): tries the whole run,
 * then shorter prefixes ending at a group boundary. Sets *end. The run must not be part of a
 * dotted or dashed number (a version, an address, a UUID).
 */
static int card_ok(const char *t, size_t len, size_t a, size_t b, size_t *end)
{
	char digits[24];
	size_t ends[24], nd = 0, ne = 0, i;
	char sep = 0;

	if (a > 0 && (t[a - 1] == '-' || t[a - 1] == '.' || t[a - 1] == ':' || t[a - 1] == '/'))
		return 0;
	if (b < len && (t[b] == '.' || t[b] == '-' || t[b] == ':') && b + 1 < len &&
	    isdigit((unsigned char)t[b + 1]))
		return 0;
	for (i = a; i < b; i++) {
		if (isdigit((unsigned char)t[i])) {
			if (nd >= 19)
				return 0;
			digits[nd++] = t[i];
		} else {
			if (sep && t[i] != sep)
				return 0;       /* mixed separators: not a card */
			sep = t[i];
			ends[ne++] = nd;
		}
	}
	ends[ne++] = nd;
	for (i = ne; i > 0; i--) {
		size_t n = ends[i - 1];

		if (n < 13)
			break;
		if (card_prefix_ok(digits, n) && luhn(digits, n)) {
			/* the text position after the n-th digit */
			size_t k = a, c = 0;

			while (c < n) {
				if (isdigit((unsigned char)t[k]))
					c++;
				k++;
			}
			*end = k;
			return 1;
		}
		if (!sep)
			break;          /* an ungrouped run is all or nothing */
	}
	return 0;
}

static int phone_ok(const char *s, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n; i++)
		d += isdigit((unsigned char)s[i]) != 0;
	return d >= 9 && d <= 15;
}

static int ipv6_ok(const char *s, size_t n)
{
	char buf[64];
	unsigned char addr[16];

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* A line of a PEM block's body: base64, a header ("Proc-Type: ..."), or blank. */
static int pem_body_line(const char *s, size_t n)
{
	size_t i;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0)
		return 1;
	if ((n > 10 && strncmp(s, "Proc-Type:", 10) == 0) ||
	    (n > 9 && strncmp(s, "DEK-Info:", 9) == 0) || (n > 8 && strncmp(s, "Comment:", 8) == 0) ||
	    (n > 8 && strncmp(s, "Version:", 8) == 0))
		return 1;
	if (n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (elog_base64_digit((unsigned char)s[i]) < 0 && s[i] != '=')
			return 0;
	return 1;
}

/* Where the END line after pos ends ("-----END ... PRIVATE KEY...-----"), or 0. */
static size_t pem_end(const char *t, size_t len, size_t pos)
{
	const char *p = t + pos;

	while ((p = memmem(p, len - (size_t)(p - t), "-----END", 8)) != NULL) {
		const char *q = memmem(p + 8, len - (size_t)(p + 8 - t), "-----", 5);

		if (!q || q - p > 80)
			return 0;
		if (memmem(p, (size_t)(q - p), "PRIVATE KEY", 11))
			return (size_t)(q + 5 - t);
		p = q + 5;
	}
	return 0;
}

/* ---- scanning ---------------------------------------------------------------------------- */

struct span {
	size_t a, b;
	int rule;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static void span_add(struct spans *s, size_t a, size_t b, int rule)
{
	if (a >= b)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->v[s->n].rule = rule;
	s->n++;
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->rule - b->rule;
}

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
		       unsigned flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	*(uint64_t *)ctx |= 1ull << id;
	return 0;
}

static struct redact_tls *thread_tls(struct elog_redactor *rd)
{
	struct redact_tls *t = pthread_getspecific(rd->key);

	if (!t) {
		t = xcalloc(1, sizeof(*t));
		if (hs_clone_scratch(rd->proto, &t->scr) != HS_SUCCESS) {
			free(t);
			return NULL;
		}
		pthread_setspecific(rd->key, t);
	}
	return t;
}

/*
 * True when s[0..n) holds 13 digits in a row, or grouped by single spaces or dashes: what a
 * card number needs. Not Vectorscan: a digit class is the costliest thing to ask it for
 * (about 10 us a line for the card pattern, 40 times a literal's cost), as digits are
 * everywhere in logs. Bit-parallel instead, 64 bytes at a time: d marks the digits, v the
 * bytes that may be part of a card (a digit, or one separator between two digits); a card is
 * a run of v holding 13 digits. Most lines hold a date and a time, so counting the digits
 * of the whole line first (what this did before) rarely ended it early; the runs do.
 */
static inline int is_digit(unsigned c)
{
	return c - '0' < 10u;
}

/* The digits and separators of p[0..64) as bit masks (bit i: byte i). */
static inline void masks64(const unsigned char *p, uint64_t *dm, uint64_t *sm)
{
#ifdef __SSE2__
	const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);
	const __m128i sp = _mm_set1_epi8(' '), da = _mm_set1_epi8('-');
	uint64_t d = 0, s = 0;
	int k;

	for (k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + 16 * k));
		__m128i dd = _mm_and_si128(_mm_cmpgt_epi8(x, lo), _mm_cmplt_epi8(x, hi));
		__m128i ss = _mm_or_si128(_mm_cmpeq_epi8(x, sp), _mm_cmpeq_epi8(x, da));

		d |= (uint64_t)(unsigned)_mm_movemask_epi8(dd) << (16 * k);
		s |= (uint64_t)(unsigned)_mm_movemask_epi8(ss) << (16 * k);
	}
	*dm = d;
	*sm = s;
#else
	uint64_t d = 0, s = 0;
	int k;

	for (k = 0; k < 64; k++) {
		d |= (uint64_t)is_digit(p[k]) << k;
		s |= (uint64_t)(p[k] == ' ' || p[k] == '-') << k;
	}
	*dm = d;
	*sm = s;
#endif
}

/* The mask of the bits of the run of ones of v that starts at bit a. */
static inline uint64_t run_at(uint64_t v, int a)
{
	uint64_t rest = ~(v >> a);
	int len = rest ? __builtin_ctzll(rest) : 64 - a;

	return (len >= 64 ? ~0ull : ((1ull << len) - 1)) << a;
}

static int digit_run(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char tail[64];
	unsigned carry = 0;         /* digits of the run of v that ends the last block */
	uint64_t prev_digit = 0;    /* the byte before this block is a digit */
	size_t i;

	for (i = 0; i < n; i += 64) {
		const unsigned char *b = p + i;
		uint64_t d, sm, v, r, next_digit;
		unsigned ncarry = 0;

		if (n - i < 64) {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, b, n - i);
			b = tail;
		}
		masks64(b, &d, &sm);
		next_digit = i + 64 < n && is_digit(p[i + 64]);
		/* a separator counts when a digit is on each side of it */
		v = d | (sm & ((d << 1) | prev_digit) & ((d >> 1) | (next_digit << 63)));
		prev_digit = d >> 63;
		/* the run that goes on from the last block */
		if (carry && (v & 1)) {
			uint64_t run = run_at(v, 0);

			carry += (unsigned)__builtin_popcountll(d & run);
			if (carry >= 13)
				return 1;
			if (run == ~0ull) {
				continue;       /* the whole block: carry on */
			}
		}
		/* r: where a run of at least 13 bytes starts (13 digits need 13 bytes) */
		r = v & (v >> 1);
		r &= r >> 2;
		r &= r >> 4;
		r &= r >> 5;
		while (r) {
			uint64_t run = run_at(v, __builtin_ctzll(r));

			if (__builtin_popcountll(d & run) >= 13)
				return 1;
			r &= ~run;
		}
		/* the run that ends this block goes on into the next */
		if (v >> 63) {
			int len = ~v ? __builtin_clzll(~v) : 64;
			uint64_t run = len == 64 ? ~0ull : ~(~0ull >> len);

			ncarry = (unsigned)__builtin_popcountll(d & run) + (len == 64 ? carry : 0);
		}
		carry = ncarry;
	}
	return 0;
}

/* The rules that may match s[0..n) (one Vectorscan pass). -1 when the scan failed. */
int redact__prescan(struct elog_redactor *rd, const char *s, size_t n, uint64_t *mask)
{
	struct redact_tls *t;

	*mask = 0;
	if (n == 0)
		return 0;
	if (rd->card >= 0 && digit_run(s, n))
		*mask |= 1ull << rd->card;
	if (!rd->db)
		return 0;
	t = thread_tls(rd);
	if (!t)
		return -1;
	if (hs_scan(rd->db, s, (unsigned)n, 0, t->scr, on_hs_match, mask) != HS_SUCCESS)
		return -1;
	return 0;
}

struct two_masks {
	uint64_t a, b;
	unsigned long long na;      /* where the first text ends in the scanned buffer */
};

static int on_hs_match2(unsigned id, unsigned long long from, unsigned long long to,
			unsigned flags, void *ctx)
{
	struct two_masks *m = ctx;

	(void)from;
	(void)flags;
	if (to <= m->na)
		m->a |= 1ull << id;
	else
		m->b |= 1ull << id;
	return 0;
}

/*
 * The rules that may match a[0..na) and b[0..nb) (a record's message and fields), with one
 * Vectorscan pass over a '\n' b in the thread's buffer instead of one pass each: a pass has
 * a fixed cost of its own (measured: a 55-byte fields text costs ~160 ns in a pass of its
 * own, ~50 ns joined to a 100-byte message, which costs ~235 ns alone). Only for built-in
 * rules (rd->combine), whose scan patterns have no anchors: a match inside either text is a
 * match in the buffer, and '\n' is a word boundary like the end of a text. A rule reports its
 * first match only, so a rule that matched in a may match in b too: *mask_b gets it as well
 * (what fired in a message is rare; the fields are then walked, as before). -1 when the scan
 * failed.
 */
int redact__prescan2(struct elog_redactor *rd, const char *a, size_t na, const char *b, size_t nb,
		     uint64_t *mask_a, uint64_t *mask_b)
{
	struct redact_tls *t;
	struct two_masks m = { 0, 0, na };
	size_t need = na + 1 + nb;
	hs_error_t rc;

	*mask_a = *mask_b = 0;
	if (!rd->combine || !rd->db || na == 0 || nb == 0 || need > ELOG_REDACT_MAX_TEXT) {
		if (redact__prescan(rd, a, na, mask_a) != 0 || redact__prescan(rd, b, nb, mask_b) != 0)
			return -1;
		return 0;
	}
	t = thread_tls(rd);
	if (!t)
		return -1;
	if (t->cap < need) {
		size_t cap = t->cap ? t->cap : 4096;

		while (cap < need)
			cap *= 2;
		free(t->buf);
		t->buf = xmalloc(cap);
		t->cap = cap;
	}
	memcpy(t->buf, a, na);
	t->buf[na] = '\n';
	memcpy(t->buf + na + 1, b, nb);
	rc = hs_scan(rd->db, t->buf, (unsigned)need, 0, t->scr, on_hs_match2, &m);
	if (t->cap > 65536) {
		/* a large record is rare: its buffer is not kept by every thread that saw one */
		free(t->buf);
		t->buf = NULL;
		t->cap = 0;
	}
	if (rc != HS_SUCCESS)
		return -1;
	if (rd->card >= 0) {
		if (digit_run(a, na))
			m.a |= 1ull << rd->card;
		if (digit_run(b, nb))
			m.b |= 1ull << rd->card;
	}
	*mask_a = m.a;
	*mask_b = m.b | (m.a & ~(rd->card >= 0 ? 1ull << rd->card : 0));
	return 0;
}

uint64_t redact__names(struct elog_redactor *rd, const char *c, const char *s, char **comp,
		       char **src)
{
	struct redact_tls *t = thread_tls(rd);
	size_t cl = strlen(c), sl = strlen(s), n = cl + 1 + sl;
	uint64_t fired = 0, f = 0;

	*comp = *src = NULL;
	if (t && t->clean_names && t->clean_len == n && memcmp(t->clean_names, c, cl + 1) == 0 &&
	    memcmp(t->clean_names + cl + 1, s, sl) == 0)
		return 0;
	if (cl)
		*comp = elog_redact_text(rd, NULL, NULL, c, cl, &f);
	fired |= f;
	f = 0;
	if (sl)
		*src = elog_redact_text(rd, NULL, NULL, s, sl, &f);
	fired |= f;
	if (!fired && t && n <= 512) {
		free(t->clean_names);
		t->clean_names = xmalloc(n);
		memcpy(t->clean_names, c, cl + 1);
		memcpy(t->clean_names + cl + 1, s, sl);
		t->clean_len = n;
	}
	return fired;
}

/* Runs rule i on s[0..n), adding its confirmed matches. Returns 0, or -1 when its match
 * budget ran out. */
static int rule_spans(struct elog_redactor *rd, int i, const char *s, size_t n,
		      struct spans *out, int *pem_open)
{
	struct rule *r = &rd->rules[i];
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);
	PCRE2_SIZE off = 0;
	int rc = 0;

	while (off <= n) {
		int m = pcre2_match(r->re, (PCRE2_SPTR)s, n, off, 0, md, rd->mctx);
		PCRE2_SIZE *ov;
		size_t a, b, ma, mb;

		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0) {
			rc = -1;
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		ma = ov[0];
		mb = ov[1];
		a = ma;
		b = mb;
		if (r->group && (uint32_t)m > (uint32_t)r->group && ov[2 * r->group] != PCRE2_UNSET) {
			a = ov[2 * r->group];
			b = ov[2 * r->group + 1];
		}
		switch (r->check) {
		case CK_BEARER:
			if (!bearer_ok(s + a, b - a))
				a = b;
			break;
		case CK_BASIC:
			if (!basic_ok(s + a, b - a))
				a = b;
			break;
		case CK_AWS_SECRET:
			if (!aws_secret_ok(s + a, b - a))
				a = b;
			break;
		case CK_KV:
			if (s[a] != '"' && s[a] != '\'' && s[a] != '\\') {
				/* a cookie or authorization header: its value runs to the end of the line */
				const char *kw = s + ma;
				size_t kl = 0;

				while (ma + kl < n && (isalnum((unsigned char)kw[kl]) || kw[kl] == '-' ||
						       kw[kl] == '_'))
					kl++;
				if ((kl >= 6 && strncasecmp(kw + kl - 6, "cookie", 6) == 0) ||
				    (kl >= 13 && strncasecmp(kw + kl - 13, "authorization", 13) == 0)) {
					while (b < n && s[b] != '\n' && s[b] != '\r' && s[b] != '"')
						b++;
				}
			}
			break;
		case CK_PEM: {
			size_t e = pem_end(s, n, mb);

			if (e) {
				b = e;
			} else {
				b = n;
				*pem_open = 1;
			}
			break;
		}
		case CK_CARD: {
			size_t e;

			if (card_ok(s, n, a, b, &e))
				b = e;
			else
				a = b;
			break;
		}
		case CK_IPV6:
			if (!ipv6_ok(s + a, b - a))
				a = b;
			break;
		case CK_PHONE:
			if (!phone_ok(s + a, b - a))
				a = b;
			break;
		default:
			break;
		}
		span_add(out, a, b, i);
		if (mb > off)
			off = mb > b ? mb : b;
		else
			off = mb + 1;       /* empty match: step on */
		if (r->check == CK_PEM && b > off)
			off = b;
	}
	pcre2_match_data_free(md);
	return rc;
}

/* The lines at the start of s that continue an open private key block: their length, and
 * *closed when the END line was among them. */
static size_t pem_continue(const char *s, size_t n, int *closed)
{
	size_t pos = 0;

	*closed = 0;
	while (pos < n) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t e = nl ? (size_t)(nl - s) : n;
		const char *line = s + pos;
		size_t ll = e - pos;

		if (ll >= 8 && memcmp(line, "-----END", 8) == 0) {
			*closed = 1;
			return e;
		}
		if (!pem_body_line(line, ll)) {
			*closed = 1;    /* not part of the block: the block is over */
			return pos ? pos - 1 : 0;
		}
		pos = nl ? e + 1 : n;
	}
	return n;
}

static char *notice(struct elog_redactor *rd, const char *why)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_buf_addf(&b, "%s text not kept: it could not be scanned for secrets (%s)",
		      rd->rules[rd->unscannable].repl, why);
	return elog_buf_detach(&b);
}

/* The redaction of s[0..n) into *out (NULL: unchanged); the stream is (c, src) when st. */
char *redact__text(struct elog_redactor *rd, struct elog_redact_streams *st,
		   const char *c, const char *src, const char *s, size_t n, uint64_t *fired,
		   const uint64_t *premask)
{
	struct spans sp = { NULL, 0, 0 };
	uint64_t mask = 0;
	int pem_open = 0, in_block;
	size_t i;
	struct elog_buf b = ELOG_BUF_INIT;
	size_t pos;

	*fired = 0;
	if (n > ELOG_REDACT_MAX_TEXT) {
		char why[128];

		snprintf(why, sizeof(why), "%zu bytes, over the limit of %u bytes (redaction scan "
			 "limit)", n, ELOG_REDACT_MAX_TEXT);
		*fired = 1ull << rd->unscannable;
		return notice(rd, why);
	}
	in_block = redact__stream_in_block(st, c, src);
	if (in_block) {
		struct rule *pr = NULL;
		int closed;
		size_t e = pem_continue(s, n, &closed);

		for (i = 0; i < rd->n; i++)
			if (rd->rules[i].check == CK_PEM)
				pr = &rd->rules[i];
		if (pr && pr->enabled && e > 0)
			span_add(&sp, 0, e, (int)(pr - rd->rules));
		if (closed || !(pr && pr->enabled))
			redact__stream_set(st, c, src, 0);
	}
	if (premask) {
		mask = *premask;
	} else if (redact__prescan(rd, s, n, &mask) != 0) {
		free(sp.v);
		*fired = 1ull << rd->unscannable;
		return notice(rd, "the scanner failed");
	}
	for (i = 0; mask && i < rd->n; i++) {
		if (!(mask & (1ull << i)))
			continue;
		if (rule_spans(rd, (int)i, s, n, &sp, &pem_open) != 0) {
			char why[160];

			snprintf(why, sizeof(why), "rule '%s' reached its match limit of %u steps",
				 rd->rules[i].name, MATCH_LIMIT);
			free(sp.v);
			*fired = 1ull << rd->unscannable;
			return notice(rd, why);
		}
	}
	if (pem_open)
		redact__stream_set(st, c, src, 1);
	if (sp.n == 0)
		return NULL;
	qsort(sp.v, sp.n, sizeof(*sp.v), span_cmp);
	pos = 0;
	for (i = 0; i < sp.n;) {
		size_t a = sp.v[i].a, e = sp.v[i].b;
		int r = sp.v[i].rule;
		size_t j = i + 1;

		while (j < sp.n && sp.v[j].a < e) {
			if (sp.v[j].b > e)
				e = sp.v[j].b;
			*fired |= 1ull << sp.v[j].rule;
			j++;
		}
		*fired |= 1ull << r;
		elog_buf_add(&b, s + pos, a - pos);
		elog_buf_adds(&b, rd->rules[r].repl);
		pos = e;
		i = j;
	}
	elog_buf_add(&b, s + pos, n - pos);
	free(sp.v);
	return elog_buf_detach(&b);
}

char *elog_redact_text(struct elog_redactor *rd, struct elog_redact_streams *st,
		       const char *stream, const char *s, size_t n, uint64_t *fired)
{
	return redact__text(rd, st, stream, "", s, n, fired, NULL);
}
