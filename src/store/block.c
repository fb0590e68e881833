/*
 * block.c — the sealed history block codec (block.h): column packing + zstd, the token
 * filter (a bloom filter) and the tokens a pattern requires.
 *
 * data: version byte (BLOCK_VERSION), uvarint n, zigzag varint id_lo, uvarint raw_len, then
 * one zstd frame (with its checksum, its content size stated) whose raw_len bytes are:
 *   id       n-1 uvarint deltas (each >= 1; the first id is id_lo)
 *   ts       zigzag varint of the first, then n-1 zigzag varint deltas (wrapping, so any
 *            int64 values round-trip, in any order)
 *   arrival  the same
 *   level    n bytes (0..255)
 *   component  uvarint count d (1..n), d NUL-terminated names, n uvarint indexes (< d)
 *   source     the same
 *   msg      n NUL-terminated strings
 *   fields   n NUL-terminated strings
 *   dedupe   n NUL-terminated strings
 * Every string is valid UTF-8 without NUL (what a record holds), so the decoded buffer is used
 * in place: a view's records point into it. bench/blocks.c measured this layout against a
 * row-wise one and other zstd levels and block sizes (bench/RESULTS.md).
 *
 * filter: version byte (FILTER_VERSION), k (1..FILTER_MAX_K), uint32 little-endian m (bits,
 * a multiple of 8, >= 64), a flags byte, then m/8 bytes: one bloom filter of each distinct
 * token (block.h) and, unless a block has more than TRI_MAX of them (flag FILTER_TRIGRAMS
 * then clear), each distinct trigram of a token (3 consecutive normalized bytes), so that a
 * fragment (a literal that may be part of a longer token) can be checked too. A token is
 * hashed once to 64 bits (FNV-1a over its normalized bytes, then a splitmix64 finish; a
 * trigram: splitmix64 of its 24 bits and a tag); probe i of k is bit
 * ((h1 + i*h2) mod 2^32) * m >> 32 with h1, h2 the low and high halves (h2 odd).
 * m is block_filter_bits bits per distinct token or trigram.
 *
 * Token normalization (both sides): ASCII letters lowercased, and the two non-ASCII
 * characters a caseless PCRE2 pattern matches with an ASCII letter (U+212A KELVIN SIGN with
 * k, U+017F LATIN SMALL LETTER LONG S with s) folded to that letter.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include "store/block.h"
#include "common/jsontext.h"
#include "common/util.h"

#define BLOCK_VERSION 1
#define FILTER_VERSION 2
#define FILTER_HDR 7
#define FILTER_TRIGRAMS 1   /* flags: every trigram of every token is in the filter */
#define FILTER_MAX_K 16
#define FILTER_MIN_BITS 64

/* Tunables (bench/blocks.c includes this file and changes them to compare). */
static int block_zstd_level = 3;
static unsigned block_filter_bits = 12;   /* bits per distinct token */
static unsigned block_filter_k = 8;       /* probes per token (~ bits * ln 2) */

/* ---- varints ------------------------------------------------------------------------- */

struct wbuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static int wb_reserve(struct wbuf *w, size_t extra)
{
	size_t need, cap;
	unsigned char *np;

	if (w->oom)
		return -1;
	if (extra > SIZE_MAX - w->len) {
		w->oom = 1;
		return -1;
	}
	need = w->len + extra;
	if (need <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	np = realloc(w->p, cap);
	if (!np) {
		w->oom = 1;
		return -1;
	}
	w->p = np;
	w->cap = cap;
	return 0;
}

static void wb_uv(struct wbuf *w, uint64_t v)
{
	if (wb_reserve(w, 10))
		return;
	while (v >= 0x80) {
		w->p[w->len++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	w->p[w->len++] = (unsigned char)v;
}

static uint64_t zigzag(uint64_t v)   /* v: an int64 as two's complement bits */
{
	return (v << 1) ^ (uint64_t)-(int64_t)(v >> 63);
}

static uint64_t unzigzag(uint64_t v)
{
	return (v >> 1) ^ (uint64_t)-(int64_t)(v & 1);
}

static void wb_str(struct wbuf *w, const char *s, size_t n)
{
	if (wb_reserve(w, n + 1))
		return;
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len++] = 0;
}

/* Reads a uvarint at *pos of p[0..end); -1 when truncated or longer than 64 bits. */
static int rd_uv(const unsigned char *p, size_t end, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = *pos;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		unsigned char c;

		if (i >= end)
			return -1;
		c = p[i++];
		if (shift == 63 && c > 1)
			return -1;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*pos = i;
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80) of at most n bytes, 0 if invalid
 * (the rules of elog_utf8_valid: no overlong forms, no surrogates, at most U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return n >= 2 && (s[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
			return 0;
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/*
 * Scans the NUL-terminated string at p[*pos] within p[0..end): on success *pos is past its
 * NUL and the return is 0; -1 when no NUL comes before end, -2 when it is not valid UTF-8.
 * Eight bytes at a time while they are ASCII without NUL.
 */
static int scan_str(const unsigned char *p, size_t end, size_t *pos)
{
	size_t i = *pos;
	const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;

	for (;;) {
		while (i + 8 <= end) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if (((w - lo) | w) & hi)
				break;   /* a NUL or a byte >= 0x80 in these 8 */
			i += 8;
		}
		if (i >= end)
			return -1;
		if (p[i] == 0) {
			*pos = i + 1;
			return 0;
		}
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_len(p + i, end - i);

		if (!k)
			return -2;
		i += k;
	}
}

/* ---- tokens and hashing ------------------------------------------------------------------ */

#define FNV_OFF 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static const unsigned char tok_class[256] = {
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
	['8'] = 1, ['9'] = 1, ['_'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
	['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
	['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['A'] = 2, ['B'] = 2, ['C'] = 2, ['D'] = 2, ['E'] = 2, ['F'] = 2, ['G'] = 2, ['H'] = 2,
	['I'] = 2, ['J'] = 2, ['K'] = 2, ['L'] = 2, ['M'] = 2, ['N'] = 2, ['O'] = 2, ['P'] = 2,
	['Q'] = 2, ['R'] = 2, ['S'] = 2, ['T'] = 2, ['U'] = 2, ['V'] = 2, ['W'] = 2, ['X'] = 2,
	['Y'] = 2, ['Z'] = 2,
	[0x80 ... 0xff] = 3,
};

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h;
}

/* The normalized byte of the token character at p[0..e) into *c; returns the bytes used. */
static inline size_t norm_byte(const unsigned char *p, const unsigned char *e, unsigned *c)
{
	unsigned ch = p[0];

	if (tok_class[ch] == 2) {
		*c = ch + 32;
	} else if (ch == 0xE2 && e - p >= 3 && p[1] == 0x84 && p[2] == 0xAA) {
		*c = 'k';
		return 3;
	} else if (ch == 0xC5 && e - p >= 2 && p[1] == 0xBF) {
		*c = 's';
		return 2;
	} else {
		*c = ch;
	}
	return 1;
}

/* The hash of one token given as text (normalized here; a query's tokens). */
static uint64_t token_hash(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;
	uint64_t h = FNV_OFF;

	while (p < e) {
		unsigned c;

		p += norm_byte(p, e, &c);
		h = (h ^ c) * FNV_PRIME;
	}
	return mix64(h);
}

/* The hash of a trigram (three normalized bytes of a token, as a 24-bit number). */
static inline uint64_t trigram_hash(uint32_t t)
{
	return mix64(((uint64_t)0x7472693aull << 32) | t);
}

/* A set of 64-bit token hashes (open addressing; 0 is stored as a flag). */
struct hset {
	uint64_t *slots;
	size_t cap, n;
	int has_zero, oom;
};

/* Adds h; returns 1 when it was not in the set yet (or the set is out of memory), else 0. */
static int hset_add(struct hset *s, uint64_t h)
{
	size_t i;

	if (s->oom)
		return 1;
	if (h == 0) {
		if (!s->has_zero) {
			s->has_zero = 1;
			s->n++;
			return 1;
		}
		return 0;
	}
	if ((s->n + 1) * 2 > s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 8192;
		uint64_t *ns = calloc(ncap, sizeof(*ns));

		if (!ns) {
			s->oom = 1;
			return 1;
		}
		for (size_t j = 0; j < s->cap; j++) {
			uint64_t v = s->slots[j];

			if (!v)
				continue;
			i = (size_t)v & (ncap - 1);
			while (ns[i])
				i = (i + 1) & (ncap - 1);
			ns[i] = v;
		}
		free(s->slots);
		s->slots = ns;
		s->cap = ncap;
	}
	i = (size_t)h & (s->cap - 1);
	while (s->slots[i]) {
		if (s->slots[i] == h)
			return 0;
		i = (i + 1) & (s->cap - 1);
	}
	s->slots[i] = h;
	s->n++;
	return 1;
}

/* What a block's texts give its filter: token hashes, and trigrams (every 3 consecutive
 * normalized bytes of a token, as 24-bit numbers) until there are TRI_MAX distinct ones,
 * told apart with an open-addressing table of 2 * TRI_MAX slots (trigram + 1; 128 KiB) and
 * listed in tri.
 * 16384 trigrams at 12 bits are 24 KiB of filter a block (6 B a record) at most; a block with
 * more (text of many scripts, random identifiers) keeps token checks only. */
#define TRI_MAX 16384
#define TRI_SLOTS (2 * TRI_MAX)

struct tokens {
	struct hset tok;
	uint32_t *slots;    /* TRI_SLOTS */
	uint32_t *tri;      /* TRI_MAX */
	size_t ntri;
	int tri_full;
	struct elog_buf kb, vb;   /* scratch for elog_fields_walk_buf */
};

static inline void tri_add(struct tokens *t, uint32_t v)
{
	uint32_t i = (v * 2654435761u) >> 17;   /* 15 bits: TRI_SLOTS */

	while (t->slots[i]) {
		if (t->slots[i] == v + 1)
			return;
		i = (i + 1) & (TRI_SLOTS - 1);
	}
	if (t->ntri == TRI_MAX) {
		t->tri_full = 1;
		return;
	}
	t->slots[i] = v + 1;
	t->tri[t->ntri++] = v;
}

/* Adds the tokens of s[0..n). A token's trigrams are added when the token is new to the block:
 * most tokens of a block repeat (words, keys, levels), and a probe per byte for each was
 * the encoder's largest cost. (Two different tokens of one block with the same 64-bit hash
 * would leave the second's trigrams out: about 1e-12 a block of 6,000 distinct tokens.) */
static void tokenize_into(struct tokens *t, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + n;

	while (p < e) {
		const unsigned char *start;
		uint64_t h;
		size_t nb = 0;

		if (!tok_class[*p]) {
			p++;
			continue;
		}
		h = FNV_OFF;
		start = p;
		while (p < e && tok_class[*p]) {
			unsigned c;

			p += norm_byte(p, e, &c);
			h = (h ^ c) * FNV_PRIME;
			nb++;
		}
		if (hset_add(&t->tok, mix64(h)) && nb >= 3 && !t->tri_full) {
			uint32_t win = 0;

			for (size_t k = 0; start < p && !t->tri_full; k++) {
				unsigned c;

				start += norm_byte(start, p, &c);
				win = ((win << 8) | c) & 0xffffff;
				if (k >= 2)
					tri_add(t, win);
			}
		}
	}
}

static int tokenize_value(void *ctx, const char *k, size_t kn, const char *v, size_t vn)
{
	(void)k;
	(void)kn;
	tokenize_into(ctx, v, vn);
	return 0;
}

/* The texts elog_filter_match_text searches: msg, then the field values (or the fields text
 * itself when it is not an object). */
static void tokenize_record(struct tokens *t, const struct elog_record *r, size_t mn, size_t fn)
{
	const char *msg = r->msg ? r->msg : "", *fields = r->fields ? r->fields : "";

	tokenize_into(t, msg, mn);
	/* Without a backslash the text holds every value's tokens as they are (a string value
	 * between quotes, anything else as compact JSON minus white space): its tokens, keys
	 * included, are a superset, found without decoding. */
	if (fn && !memchr(fields, '\\', fn))
		tokenize_into(t, fields, fn);
	else if (fn && !elog_fields_walk_buf(fields, fn, &t->kb, &t->vb, tokenize_value, t))
		tokenize_into(t, fields, fn);
}

static void tokens_init(struct tokens *t)
{
	memset(t, 0, sizeof(*t));
	t->slots = calloc(TRI_SLOTS, sizeof(*t->slots));
	t->tri = malloc(TRI_MAX * sizeof(*t->tri));
	if (!t->slots || !t->tri)
		t->tri_full = 1;   /* no room for trigrams: this block's fragments are not checked */
}

static void tokens_release(struct tokens *t)
{
	free(t->tok.slots);
	free(t->slots);
	free(t->tri);
	elog_buf_release(&t->kb);
	elog_buf_release(&t->vb);
	memset(t, 0, sizeof(*t));
}

static inline size_t probe_bit(uint64_t h, unsigned i, uint32_t m)
{
	uint32_t x = (uint32_t)h + i * ((uint32_t)(h >> 32) | 1u);

	return (size_t)(((uint64_t)x * m) >> 32);
}

static void bloom_add_set(unsigned char *bits, uint32_t m, unsigned k, const struct hset *set)
{
	for (size_t j = 0; j <= set->cap; j++) {
		uint64_t h;

		if (j == set->cap) {
			if (!set->has_zero)
				break;
			h = 0;
		} else if (!(h = set->slots[j])) {
			continue;
		}
		for (unsigned i = 0; i < k; i++) {
			size_t b = probe_bit(h, i, m);

			bits[b / 8] |= (unsigned char)(1u << (b % 8));
		}
	}
}

/* Builds the filter of t into *out (malloc'd). */
static int filter_build(const struct tokens *t, unsigned char **out, size_t *out_len)
{
	uint64_t bits = ((uint64_t)t->tok.n + (t->tri_full ? 0 : t->ntri)) * block_filter_bits;
	uint32_t m;
	unsigned k = block_filter_k;
	unsigned char *f;

	if (bits < FILTER_MIN_BITS)
		bits = FILTER_MIN_BITS;
	bits = (bits + 7) & ~(uint64_t)7;
	if (bits > UINT32_MAX - 7)
		bits = (uint64_t)UINT32_MAX & ~(uint64_t)7;
	m = (uint32_t)bits;
	if (k < 1)
		k = 1;
	if (k > FILTER_MAX_K)
		k = FILTER_MAX_K;
	f = calloc(1, FILTER_HDR + m / 8);
	if (!f)
		return ELOG_ENOMEM;
	f[0] = FILTER_VERSION;
	f[1] = (unsigned char)k;
	f[2] = (unsigned char)m;
	f[3] = (unsigned char)(m >> 8);
	f[4] = (unsigned char)(m >> 16);
	f[5] = (unsigned char)(m >> 24);
	f[6] = t->tri_full ? 0 : FILTER_TRIGRAMS;
	bloom_add_set(f + FILTER_HDR, m, k, &t->tok);
	for (size_t j = 0; j < t->ntri && !t->tri_full; j++) {
		uint64_t h = trigram_hash(t->tri[j]);

		for (unsigned i = 0; i < k; i++) {
			size_t b = probe_bit(h, i, m);

			f[FILTER_HDR + b / 8] |= (unsigned char)(1u << (b % 8));
		}
	}
	*out = f;
	*out_len = FILTER_HDR + m / 8;
	return 0;
}

static int bloom_has(const unsigned char *bits, uint32_t m, unsigned k, uint64_t h)
{
	for (unsigned i = 0; i < k; i++) {
		size_t b = probe_bit(h, i, m);

		if (!(bits[b / 8] & (1u << (b % 8))))
			return 0;
	}
	return 1;
}

/* 0 when some trigram of the fragment s (normalized here) is certainly missing. */
static int fragment_may_match(const unsigned char *bits, uint32_t m, unsigned k, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + strlen(s);
	uint32_t win = 0;
	size_t nb = 0;

	while (p < e) {
		unsigned c;

		p += norm_byte(p, e, &c);
		win = ((win << 8) | c) & 0xffffff;
		if (++nb >= 3 && !bloom_has(bits, m, k, trigram_hash(win)))
			return 0;
	}
	return 1;
}

int elog_block_filter_may_match(const unsigned char *filter, size_t len, char *const *toks,
				size_t n)
{
	unsigned k;
	uint32_t m;

	if (!n)
		return 1;
	if (!filter || len < FILTER_HDR || filter[0] != FILTER_VERSION)
		return 1;
	k = filter[1];
	m = (uint32_t)filter[2] | (uint32_t)filter[3] << 8 | (uint32_t)filter[4] << 16 |
	    (uint32_t)filter[5] << 24;
	if (k < 1 || k > FILTER_MAX_K || m < FILTER_MIN_BITS || m % 8 ||
	    (size_t)m / 8 != len - FILTER_HDR)
		return 1;
	for (size_t t = 0; t < n; t++) {
		if (!toks[t])
			continue;
		if (toks[t][0] == ELOG_BLOCK_FRAGMENT) {
			if ((filter[6] & FILTER_TRIGRAMS) &&
			    !fragment_may_match(filter + FILTER_HDR, m, k, toks[t] + 1))
				return 0;
			continue;
		}
		if (!bloom_has(filter + FILTER_HDR, m, k, token_hash(toks[t], strlen(toks[t]))))
			return 0;
	}
	return 1;
}

/* ---- encode ------------------------------------------------------------------------------ */

/* A dictionary of distinct strings (component, source) in first-seen order. */
struct dict {
	const char **names;
	uint32_t *counts;
	size_t n;
	uint32_t *slots;   /* open addressing: index + 1, 0 empty */
	size_t cap;
	uint32_t *idx;     /* per record */
};

static uint64_t str_hash(const char *s)
{
	uint64_t h = FNV_OFF;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * FNV_PRIME;
	return h;
}

static int dict_build(struct dict *d, const struct elog_record *recs, size_t n, int source)
{
	d->cap = 16;
	while (d->cap < n * 2)
		d->cap *= 2;
	d->names = calloc(n, sizeof(*d->names));
	d->counts = calloc(n, sizeof(*d->counts));
	d->slots = calloc(d->cap, sizeof(*d->slots));
	d->idx = calloc(n, sizeof(*d->idx));
	if (!d->names || !d->counts || !d->slots || !d->idx)
		return ELOG_ENOMEM;
	for (size_t r = 0; r < n; r++) {
		const char *s = source ? recs[r].source : recs[r].component;
		size_t i;

		if (!s)
			s = "";
		i = (size_t)str_hash(s) & (d->cap - 1);
		while (d->slots[i] && strcmp(d->names[d->slots[i] - 1], s) != 0)
			i = (i + 1) & (d->cap - 1);
		if (!d->slots[i]) {
			d->names[d->n] = s;
			d->slots[i] = (uint32_t)++d->n;
		}
		d->idx[r] = d->slots[i] - 1;
		d->counts[d->slots[i] - 1]++;
	}
	return 0;
}

static void dict_free(struct dict *d)
{
	free(d->names);
	free(d->counts);
	free(d->slots);
	free(d->idx);
}

static void put_dict(struct wbuf *w, const struct dict *d, size_t n)
{
	wb_uv(w, d->n);
	for (size_t i = 0; i < d->n; i++)
		wb_str(w, d->names[i], strlen(d->names[i]));
	for (size_t r = 0; r < n; r++)
		wb_uv(w, d->idx[r]);
}

static const char *field_name(int i)
{
	static const char *const names[] = { "component", "msg", "fields", "source",
					     "dedupe key" };
	return names[i];
}

/* True when s[0..n) is valid UTF-8 without NUL (elog_utf8_valid, 8 ASCII bytes at a time). */
static int utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
	size_t i = 0;

	while (i < n) {
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, p + i, 8);
			if (((w - lo) | w) & hi)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		if (p[i] == 0)
			return 0;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_len(p + i, n - i);

		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* The lengths of a record's msg, fields and dedupe key, taken once (check_record) for the
 * tokenizer and the columns. */
struct rec_lens {
	size_t msg, fields, key;
};

/* Checks the strings of r (valid UTF-8; NULL counts as ""); their lengths into *len. */
static int check_record(const struct elog_record *r, struct rec_lens *len,
			struct elog_err *err)
{
	const char *s[5] = { r->component, r->msg, r->fields, r->source, r->dedupe_key };
	size_t n[5];

	for (int i = 0; i < 5; i++) {
		n[i] = s[i] ? strlen(s[i]) : 0;
		if (s[i] && !utf8_ok(s[i], n[i]))
			return elog_err_set(err, ELOG_EINVAL,
					    "cannot seal record '%lld': its %s is not valid UTF-8",
					    (long long)r->id, field_name(i));
	}
	len->msg = n[1];
	len->fields = n[2];
	len->key = n[4];
	if (r->level < 0 || r->level > 255)
		return elog_err_set(err, ELOG_EINVAL,
				    "cannot seal record '%lld': level %d is out of range",
				    (long long)r->id, r->level);
	return 0;
}

static void put_times(struct wbuf *w, const struct elog_record *recs, size_t n, int arrival)
{
	uint64_t prev = 0;

	for (size_t r = 0; r < n; r++) {
		uint64_t v = (uint64_t)(arrival ? recs[r].arrival_ns : recs[r].ts_ns);

		wb_uv(w, zigzag(v - prev));
		prev = v;
	}
}

static void put_strs(struct wbuf *w, const struct elog_record *recs, const struct rec_lens *len,
		     size_t n, int which)
{
	for (size_t r = 0; r < n; r++) {
		const char *s = which == 0 ? recs[r].msg : which == 1 ? recs[r].fields
			      : recs[r].dedupe_key;

		wb_str(w, s ? s : "", which == 0 ? len[r].msg : which == 1 ? len[r].fields
				      : len[r].key);
	}
}

/* Appends name to the components text, escaping \, tab and newline. */
static void put_component_line(struct elog_buf *b, const char *name, uint32_t count)
{
	for (const char *p = name; *p; p++) {
		if (*p == '\\')
			elog_buf_adds(b, "\\\\");
		else if (*p == '\t')
			elog_buf_adds(b, "\\t");
		else if (*p == '\n')
			elog_buf_adds(b, "\\n");
		else
			elog_buf_addc(b, *p);
	}
	elog_buf_addf(b, "\t%u\n", (unsigned)count);
}

/* Packs the columns of recs[0..n) into w (raw, before compression). */
static int pack_columns(struct wbuf *w, const struct elog_record *recs,
			const struct rec_lens *len, size_t n, const struct dict *comp,
			const struct dict *src)
{
	for (size_t r = 1; r < n; r++)
		wb_uv(w, (uint64_t)recs[r].id - (uint64_t)recs[r - 1].id);
	put_times(w, recs, n, 0);
	put_times(w, recs, n, 1);
	if (!wb_reserve(w, n))
		for (size_t r = 0; r < n; r++)
			w->p[w->len++] = (unsigned char)recs[r].level;
	put_dict(w, comp, n);
	put_dict(w, src, n);
	put_strs(w, recs, len, n, 0);
	put_strs(w, recs, len, n, 1);
	put_strs(w, recs, len, n, 2);
	return w->oom ? ELOG_ENOMEM : 0;
}

int elog_block_encode(const struct elog_record *recs, size_t n, struct elog_block *out,
		      struct elog_err *err)
{
	struct dict comp = { 0 }, src = { 0 };
	struct wbuf raw = { 0 }, hdr = { 0 };
	struct tokens tk = { 0 };
	struct elog_buf ctext = ELOG_BUF_INIT;
	struct elog_block_summary *sum = &out->sum;
	struct rec_lens *len = NULL;
	ZSTD_CCtx *cctx = NULL;
	size_t bound, clen;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!recs || n < 1 || n > ELOG_BLOCK_MAX_RECORDS)
		return elog_err_set(err, ELOG_EINVAL,
				    "cannot seal a block of %zu records: the limit is %d", n,
				    ELOG_BLOCK_MAX_RECORDS);
	if (!(len = malloc(n * sizeof(*len))))
		return elog_err_set(err, ELOG_ENOMEM, "cannot seal records '%lld' to '%lld': "
				    "out of memory", (long long)recs[0].id, (long long)recs[n - 1].id);
	for (size_t r = 0; r < n; r++) {
		if (r && recs[r].id <= recs[r - 1].id) {
			free(len);
			return elog_err_set(err, ELOG_EINVAL,
					    "cannot seal record '%lld': ids must increase (after '%lld')",
					    (long long)recs[r].id, (long long)recs[r - 1].id);
		}
		if ((rc = check_record(&recs[r], &len[r], err))) {
			free(len);
			return rc;
		}
	}
	sum->n = (uint32_t)n;
	sum->id_lo = recs[0].id;
	sum->id_hi = recs[n - 1].id;
	for (size_t r = 0; r < n; r++) {
		int64_t ts = recs[r].ts_ns ? recs[r].ts_ns : recs[r].arrival_ns;

		if (!r || ts < sum->ts_lo)
			sum->ts_lo = ts;
		if (!r || ts > sum->ts_hi)
			sum->ts_hi = ts;
		if (!r || recs[r].arrival_ns < sum->arrival_lo)
			sum->arrival_lo = recs[r].arrival_ns;
		if (!r || recs[r].arrival_ns > sum->arrival_hi)
			sum->arrival_hi = recs[r].arrival_ns;
		if (recs[r].level < 32)
			sum->level_mask |= 1u << recs[r].level;
	}
	if ((rc = dict_build(&comp, recs, n, 0)) || (rc = dict_build(&src, recs, n, 1)))
		goto fail;
	for (size_t i = 0; i < comp.n; i++)
		put_component_line(&ctext, comp.names[i], comp.counts[i]);
	out->components = elog_buf_detach(&ctext);

	tokens_init(&tk);
	for (size_t r = 0; r < n; r++)
		tokenize_record(&tk, &recs[r], len[r].msg, len[r].fields);
	if (tk.tok.oom) {
		rc = ELOG_ENOMEM;
		goto fail;
	}
	if ((rc = filter_build(&tk, &out->filter, &out->filter_len)))
		goto fail;

	if ((rc = pack_columns(&raw, recs, len, n, &comp, &src)))
		goto fail;
	if ((uint64_t)raw.len > (uint64_t)n * 2 * ELOG_MAX_RECORD) {
		rc = elog_err_set(err, ELOG_EINVAL,
				  "cannot seal records '%lld' to '%lld': %zu bytes is over the limit of %llu",
				  (long long)sum->id_lo, (long long)sum->id_hi, raw.len,
				  (unsigned long long)n * 2 * ELOG_MAX_RECORD);
		goto out;
	}
	if (wb_reserve(&hdr, 1)) {
		rc = ELOG_ENOMEM;
		goto fail;
	}
	hdr.p[hdr.len++] = BLOCK_VERSION;
	wb_uv(&hdr, n);
	wb_uv(&hdr, zigzag((uint64_t)recs[0].id));
	wb_uv(&hdr, raw.len);
	bound = ZSTD_compressBound(raw.len);
	if (wb_reserve(&hdr, bound) || !(cctx = ZSTD_createCCtx())) {
		rc = ELOG_ENOMEM;
		goto fail;
	}
	/* the frame states its content size (checked against raw_len) and ends with a checksum:
	 * a corrupt block is refused rather than decoded into other records */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, block_zstd_level);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
	clen = ZSTD_compress2(cctx, hdr.p + hdr.len, bound, raw.p, raw.len);
	if (ZSTD_isError(clen)) {
		rc = elog_err_set(err, ELOG_ENOMEM, "cannot compress records '%lld' to '%lld': %s",
				  (long long)sum->id_lo, (long long)sum->id_hi,
				  ZSTD_getErrorName(clen));
		goto out;
	}
	hdr.len += clen;
	out->data = realloc(hdr.p, hdr.len);
	if (!out->data)
		out->data = hdr.p;
	hdr.p = NULL;
	out->data_len = hdr.len;
	goto out;
fail:
	if (rc == ELOG_ENOMEM || raw.oom || hdr.oom)
		rc = elog_err_set(err, ELOG_ENOMEM, "cannot seal records '%lld' to '%lld': out of memory",
				  (long long)recs[0].id, (long long)recs[n - 1].id);
out:
	if (rc)
		elog_block_free(out);
	ZSTD_freeCCtx(cctx);
	dict_free(&comp);
	dict_free(&src);
	free(raw.p);
	free(hdr.p);
	free(len);
	tokens_release(&tk);
	elog_buf_release(&ctext);
	return rc;
}

void elog_block_free(struct elog_block *b)
{
	if (!b)
		return;
	free(b->components);
	free(b->filter);
	free(b->data);
	b->components = NULL;
	b->filter = NULL;
	b->data = NULL;
	b->filter_len = b->data_len = 0;
}

/* ---- decode ------------------------------------------------------------------------------ */

struct view_priv {
	ZSTD_DCtx *dctx;
	unsigned char *raw;
	size_t raw_cap;
};

#define CORRUPT(why) do { reason = (why); goto corrupt; } while (0)

/* Reads a column of n NUL-terminated strings into the records' slot at offset off. */
static int get_strs(const unsigned char *p, size_t end, size_t *pos, struct elog_record *recs,
		    size_t n, size_t off)
{
	for (size_t r = 0; r < n; r++) {
		size_t start = *pos;
		int rc = scan_str(p, end, pos);

		if (rc)
			return rc;
		*(char **)((char *)&recs[r] + off) = (char *)p + start;
	}
	return 0;
}

/* A dictionary column into the records' slot at offset off. */
static const char *get_dict(const unsigned char *p, size_t end, size_t *pos,
			    struct elog_record *recs, size_t n, size_t off, const char ***names)
{
	uint64_t d, ix;
	const char **nm;

	if (rd_uv(p, end, pos, &d))
		return "truncated dictionary";
	if (d < 1 || d > n)
		return "bad dictionary size";
	nm = realloc(*names, d * sizeof(*nm));
	if (!nm)
		return "out of memory";
	*names = nm;
	for (uint64_t i = 0; i < d; i++) {
		size_t start = *pos;
		int rc = scan_str(p, end, pos);

		if (rc)
			return rc == -2 ? "invalid UTF-8" : "truncated string";
		nm[i] = (const char *)p + start;
	}
	for (size_t r = 0; r < n; r++) {
		if (rd_uv(p, end, pos, &ix))
			return "truncated dictionary index";
		if (ix >= d)
			return "dictionary index out of range";
		*(char **)((char *)&recs[r] + off) = (char *)nm[ix];
	}
	return NULL;
}

int elog_block_decode(struct elog_block_view *v, const unsigned char *data, size_t len,
		      struct elog_err *err)
{
	struct view_priv *pv = v->priv_buf;
	const char *reason = NULL;
	const char **names = NULL;
	char idbuf[32] = "?";
	size_t pos = 0, end, frame_len, got;
	uint64_t n, id0, raw_len;
	unsigned long long fcs;
	struct elog_record *recs;
	const unsigned char *p;

	v->n = 0;
	if (!data || len < 1)
		CORRUPT("empty");
	if (data[0] != BLOCK_VERSION)
		CORRUPT("unknown version");
	pos = 1;
	if (rd_uv(data, len, &pos, &n) || rd_uv(data, len, &pos, &id0))
		CORRUPT("truncated header");
	id0 = unzigzag(id0);
	snprintf(idbuf, sizeof(idbuf), "%lld", (long long)id0);
	if (rd_uv(data, len, &pos, &raw_len))
		CORRUPT("truncated header");
	if (n < 1 || n > ELOG_BLOCK_MAX_RECORDS)
		CORRUPT("bad record count");
	if (raw_len > n * 2 * (uint64_t)ELOG_MAX_RECORD)
		CORRUPT("too large");
	frame_len = len - pos;
	fcs = ZSTD_getFrameContentSize(data + pos, frame_len);
	if (fcs == ZSTD_CONTENTSIZE_ERROR || fcs == ZSTD_CONTENTSIZE_UNKNOWN || fcs != raw_len)
		CORRUPT("bad frame header");
	got = ZSTD_findFrameCompressedSize(data + pos, frame_len);
	if (ZSTD_isError(got) || got != frame_len)
		CORRUPT("bad frame length");
	/* a zstd block holds at most ZSTD_BLOCKSIZE_MAX bytes behind a 3-byte header: a size
	 * the frame cannot hold is refused before anything is allocated */
	if (raw_len > ((uint64_t)frame_len / 3 + 1) * ZSTD_BLOCKSIZE_MAX)
		CORRUPT("size larger than the frame can hold");

	if (!pv) {
		pv = calloc(1, sizeof(*pv));
		if (!pv)
			goto oom;
		v->priv_buf = pv;
	}
	if (!pv->dctx && !(pv->dctx = ZSTD_createDCtx()))
		goto oom;
	if (pv->raw_cap < raw_len + 1) {
		unsigned char *nr = malloc((size_t)raw_len + 1);

		if (!nr)
			goto oom;
		free(pv->raw);
		pv->raw = nr;
		pv->raw_cap = (size_t)raw_len + 1;
		v->priv_cap = pv->raw_cap;
	}
	if (v->recs_cap < n) {
		struct elog_record *nr = malloc(ELOG_BLOCK_MAX_RECORDS * sizeof(*nr));

		if (!nr)
			goto oom;
		free(v->recs);
		v->recs = nr;
		v->recs_cap = ELOG_BLOCK_MAX_RECORDS;
	}
	got = ZSTD_decompressDCtx(pv->dctx, pv->raw, (size_t)raw_len, data + pos, frame_len);
	if (ZSTD_isError(got) || got != raw_len)
		CORRUPT("does not decompress");
	p = pv->raw;
	end = (size_t)raw_len;
	pv->raw[end] = 0;
	recs = v->recs;
	pos = 0;

	recs[0].id = (int64_t)id0;
	for (size_t r = 1; r < n; r++) {
		uint64_t d;

		if (rd_uv(p, end, &pos, &d))
			CORRUPT("truncated ids");
		if (d < 1 || (int64_t)d < 0 || recs[r - 1].id > INT64_MAX - (int64_t)d)
			CORRUPT("bad id");
		recs[r].id = recs[r - 1].id + (int64_t)d;
	}
	for (int col = 0; col < 2; col++) {
		uint64_t prev = 0, d;

		for (size_t r = 0; r < n; r++) {
			if (rd_uv(p, end, &pos, &d))
				CORRUPT("truncated times");
			prev += unzigzag(d);
			if (col)
				recs[r].arrival_ns = (int64_t)prev;
			else
				recs[r].ts_ns = (int64_t)prev;
		}
	}
	if (end - pos < n)
		CORRUPT("truncated levels");
	for (size_t r = 0; r < n; r++)
		recs[r].level = p[pos++];
	if ((reason = get_dict(p, end, &pos, recs, n, offsetof(struct elog_record, component),
			       &names)) ||
	    (reason = get_dict(p, end, &pos, recs, n, offsetof(struct elog_record, source),
			       &names)))
		goto corrupt;
	for (int col = 0; col < 3; col++) {
		static const size_t offs[3] = { offsetof(struct elog_record, msg),
						offsetof(struct elog_record, fields),
						offsetof(struct elog_record, dedupe_key) };
		int rc = get_strs(p, end, &pos, recs, n, offs[col]);

		if (rc)
			CORRUPT(rc == -2 ? "invalid UTF-8" : "truncated string");
	}
	if (pos != end)
		CORRUPT("trailing bytes");
	free(names);
	v->n = (size_t)n;
	return 0;
oom:
	free(names);
	return elog_err_set(err, ELOG_ENOMEM, "cannot decode history block '%s': out of memory",
			    idbuf);
corrupt:
	free(names);
	if (!strcmp(reason, "out of memory"))
		goto oom;
	return elog_err_set(err, ELOG_EINVAL, "corrupt history block '%s': %s", idbuf, reason);
}

void elog_block_view_free(struct elog_block_view *v)
{
	struct view_priv *pv;

	if (!v)
		return;
	pv = v->priv_buf;
	if (pv) {
		ZSTD_freeDCtx(pv->dctx);
		free(pv->raw);
		free(pv);
	}
	free(v->recs);
	memset(v, 0, sizeof(*v));
}

/* ---- the tokens a pattern requires --------------------------------------------------------
 *
 * The pattern is read into a sequence of elements, one per character it matches:
 *   EL_CHAR     a known token character (the byte; a UTF-8 character is several)
 *   EL_SEP      exactly one character that is certainly not a token character
 *   EL_OPT_SEP  zero or more such characters
 *   EL_EDGE     the start or end of the text (^ $ \A \z \Z), zero width
 *   EL_UNK      anything else: unknown characters, maybe none
 * Zero-width items (\b, \B, \G, \K, lookarounds, option settings, verbs) add nothing: they do
 * not change which characters stand next to each other. A maximal run of EL_CHAR whose
 * neighbours (past any EL_OPT_SEP) are EL_SEP or EL_EDGE on both sides is a whole token every
 * match contains; another run of 3 or more bytes is a fragment (some token contains it). A group is inlined; a group with alternatives is EL_UNK, and the tokens
 * every one of its branches requires (each read alone) are required. An optional item (?, *,
 * {0,..}) becomes EL_UNK and its tokens are dropped; a repeated one (+, {n,..}) is followed by
 * EL_UNK (EL_OPT_SEP for a separator). Anything not understood gives up (no tokens at all):
 * extended mode (?x), (*ACCEPT), callouts, nesting deeper than PT_MAX_DEPTH.
 * Caseless matching (any (?i)) keeps only ASCII tokens: PCRE2 folds other letters by Unicode
 * rules the filter's ASCII lowercasing does not follow (the two non-ASCII characters that
 * fold to ASCII letters are folded in the filter as in the pattern). (*UCP) makes \s match
 * non-ASCII spaces, so it is then an unknown character.
 */
enum { EL_CHAR, EL_SEP, EL_OPT_SEP, EL_EDGE, EL_UNK };
#define PT_MAX_DEPTH 64

struct el {
	unsigned char kind, c;
};

struct elseq {
	struct el *v;
	size_t n, cap;
};

struct tokset {
	char **t;
	size_t n, cap;
};

struct pctx {
	const unsigned char *p;
	size_t i, len;
	int caseless, giveup, ucp, depth;
};

static void seq_push(struct elseq *s, int kind, unsigned char c)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].kind = (unsigned char)kind;
	s->v[s->n].c = c;
	s->n++;
}

static void seq_append(struct elseq *dst, const struct elseq *src)
{
	for (size_t i = 0; i < src->n; i++)
		seq_push(dst, src->v[i].kind, src->v[i].c);
}

static void tok_add(struct tokset *t, char *s)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->t[i], s)) {
			free(s);
			return;
		}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->t = xrealloc(t->t, t->cap * sizeof(*t->t));
	}
	t->t[t->n++] = s;
}

static void tok_truncate(struct tokset *t, size_t n)
{
	while (t->n > n)
		free(t->t[--t->n]);
}

static void tok_free(struct tokset *t)
{
	tok_truncate(t, 0);
	free(t->t);
	t->t = NULL;
	t->cap = 0;
}

/* Keeps in a only the tokens b has too. */
static void tok_intersect(struct tokset *a, const struct tokset *b)
{
	size_t keep = 0;

	for (size_t i = 0; i < a->n; i++) {
		size_t j = 0;

		while (j < b->n && strcmp(a->t[i], b->t[j]))
			j++;
		if (j < b->n)
			a->t[keep++] = a->t[i];
		else
			free(a->t[i]);
	}
	a->n = keep;
}

/* A literal byte (part of a character when >= 0x80). */
static void push_byte(struct elseq *s, unsigned char c)
{
	seq_push(s, tok_class[c] ? EL_CHAR : EL_SEP, c);
}

/* Pushes the literal character at c->p[c->i] (a whole UTF-8 sequence) and moves past it. */
static void push_literal(struct pctx *c, struct elseq *s)
{
	size_t k = 1;

	if (c->p[c->i] >= 0x80) {
		k = utf8_len(c->p + c->i, c->len - c->i);
		if (!k) {   /* not UTF-8: PCRE2 refuses such a pattern; be safe */
			seq_push(s, EL_UNK, 0);
			c->i++;
			return;
		}
	}
	for (size_t j = 0; j < k; j++)
		push_byte(s, c->p[c->i + j]);
	c->i += k;
}

static int is_hex(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 32) >= 'a' && (ch | 32) <= 'f');
}

static int is_digit(unsigned char ch)
{
	return ch >= '0' && ch <= '9';
}

/* Skips to just past the byte `close` (or to the end). */
static void skip_past(struct pctx *c, unsigned char close)
{
	while (c->i < c->len && c->p[c->i] != close)
		c->i++;
	if (c->i < c->len)
		c->i++;
}

/* An escape outside a class; c->i is past the backslash. Sets *atom to the index of the
 * last item's first element (for a quantifier). */
static void parse_escape(struct pctx *c, struct elseq *s, size_t *atom)
{
	unsigned char e;

	*atom = s->n;
	if (c->i >= c->len) {
		seq_push(s, EL_UNK, 0);
		return;
	}
	e = c->p[c->i++];
	switch (e) {
	case 'Q':   /* literal up to \E */
		while (c->i < c->len) {
			if (c->p[c->i] == '\\' && c->i + 1 < c->len && c->p[c->i + 1] == 'E') {
				c->i += 2;
				return;
			}
			*atom = s->n;
			push_literal(c, s);
		}
		return;
	case 'E': case 'b': case 'B': case 'G': case 'K':
		return;   /* zero width */
	case 'A': case 'z': case 'Z':
		seq_push(s, EL_EDGE, 0);
		return;
	case 't': case 'n': case 'r': case 'f': case 'e': case 'a':
		seq_push(s, EL_SEP, 0);
		return;
	case 's':
		seq_push(s, c->ucp ? EL_UNK : EL_SEP, 0);
		return;
	case 'x': {
		unsigned long v = 0;
		int digits = 0, ok = 1;

		if (c->i < c->len && c->p[c->i] == '{') {
			c->i++;
			while (c->i < c->len && c->p[c->i] != '}') {
				if (!is_hex(c->p[c->i]) || ++digits > 8)
					ok = 0;
				else
					v = v * 16 + (unsigned long)(is_digit(c->p[c->i]) ? c->p[c->i] - '0'
								     : (c->p[c->i] | 32) - 'a' + 10);
				c->i++;
			}
			if (c->i < c->len)
				c->i++;
			else
				ok = 0;
		} else {
			while (digits < 2 && c->i < c->len && is_hex(c->p[c->i])) {
				v = v * 16 + (unsigned long)(is_digit(c->p[c->i]) ? c->p[c->i] - '0'
							     : (c->p[c->i] | 32) - 'a' + 10);
				digits++;
				c->i++;
			}
		}
		if (ok && v >= 1 && v < 0x80)
			push_byte(s, (unsigned char)v);
		else
			seq_push(s, EL_UNK, 0);
		return;
	}
	case 'p': case 'P': case 'N': case 'o':
		if (c->i < c->len && c->p[c->i] == '{')
			skip_past(c, '}');
		else if (e == 'p' || e == 'P')
			c->i += c->i < c->len;
		seq_push(s, EL_UNK, 0);
		return;
	case 'g': case 'k':   /* back references and subroutine calls */
		if (c->i < c->len && (c->p[c->i] == '{' || c->p[c->i] == '<' || c->p[c->i] == '\'')) {
			unsigned char open = c->p[c->i++];

			skip_past(c, open == '{' ? '}' : open == '<' ? '>' : '\'');
		} else {
			if (c->i < c->len && (c->p[c->i] == '+' || c->p[c->i] == '-'))
				c->i++;
			while (c->i < c->len && is_digit(c->p[c->i]))
				c->i++;
		}
		seq_push(s, EL_UNK, 0);
		return;
	case 'c':
		c->i += c->i < c->len;
		seq_push(s, EL_UNK, 0);
		return;
	default:
		break;
	}
	if (is_digit(e)) {   /* a back reference or an octal character */
		while (c->i < c->len && is_digit(c->p[c->i]))
			c->i++;
		seq_push(s, EL_UNK, 0);
	} else if (e >= 0x80) {
		c->i--;
		push_literal(c, s);
	} else if (tok_class[e]) {
		seq_push(s, EL_UNK, 0);   /* \d \w \D \W \S \h \v \R \X \C and others */
	} else {
		push_byte(s, e);          /* an escaped punctuation character or space */
	}
}

/* A character class; c->i is past the '['. EL_SEP when it matches only ASCII non-token
 * characters it lists one by one, else EL_UNK. */
static void parse_class(struct pctx *c, struct elseq *s)
{
	int sep = 1, first = 1;

	if (c->i < c->len && c->p[c->i] == '^') {
		sep = 0;
		c->i++;
	}
	while (c->i < c->len) {
		unsigned char ch = c->p[c->i];

		if (ch == ']' && !first) {
			c->i++;
			seq_push(s, sep ? EL_SEP : EL_UNK, 0);
			return;
		}
		first = 0;
		if (ch == '[' && c->i + 1 < c->len &&
		    (c->p[c->i + 1] == ':' || c->p[c->i + 1] == '.' || c->p[c->i + 1] == '=')) {
			size_t start = c->i + 2, j = start;

			while (j + 1 < c->len && !(c->p[j] == c->p[c->i + 1] && c->p[j + 1] == ']'))
				j++;
			if (j + 1 >= c->len) {   /* not a POSIX class: a literal '[' */
				c->i++;
				continue;
			}
			if (!(c->p[c->i + 1] == ':' && j - start == 5 &&
			      !memcmp(c->p + start, "space", 5) && !c->ucp))
				sep = 0;
			c->i = j + 2;
			continue;
		}
		if (ch == '\\') {
			unsigned char e;

			c->i++;
			if (c->i >= c->len)
				break;
			e = c->p[c->i++];
			if (e == 'Q') {
				while (c->i < c->len && !(c->p[c->i] == '\\' && c->i + 1 < c->len &&
							  c->p[c->i + 1] == 'E')) {
					if (c->p[c->i] >= 0x80 || tok_class[c->p[c->i]])
						sep = 0;
					c->i++;
				}
				c->i += c->i < c->len ? 2 : 0;
			} else if (e == 'E' || strchr("tnrfea", e) || (e == 's' && !c->ucp)) {
				/* a separator */
			} else if (e < 0x80 && !tok_class[e]) {
				/* an escaped punctuation character */
			} else {
				sep = 0;
			}
			continue;
		}
		if (ch == '-' && c->i + 1 < c->len && c->p[c->i + 1] != ']')
			sep = 0;   /* a range */
		else if (ch >= 0x80 || tok_class[ch])
			sep = 0;
		c->i++;
	}
	c->giveup = 1;   /* unterminated: PCRE2 refuses it */
}

/* A quantifier at c->i: 1 with its minimum in *min (c->i past it, lazy and possessive
 * marks included), or 0 when there is none. A brace that is not a quantifier is literal. */
static int parse_quant(struct pctx *c, unsigned long *min)
{
	size_t j = c->i;
	unsigned char ch;

	if (j >= c->len)
		return 0;
	ch = c->p[j];
	if (ch == '?' || ch == '*' || ch == '+') {
		*min = ch == '+';
		j++;
	} else if (ch == '{') {
		unsigned long lo = 0;
		int lo_digits = 0, hi_digits = 0, comma = 0;

		j++;
		while (j < c->len && c->p[j] == ' ')
			j++;
		while (j < c->len && is_digit(c->p[j])) {
			if (lo < 100000)
				lo = lo * 10 + (c->p[j] - '0');
			lo_digits++;
			j++;
		}
		while (j < c->len && c->p[j] == ' ')
			j++;
		if (j < c->len && c->p[j] == ',') {
			comma = 1;
			j++;
			while (j < c->len && c->p[j] == ' ')
				j++;
			while (j < c->len && is_digit(c->p[j])) {
				hi_digits++;
				j++;
			}
			while (j < c->len && c->p[j] == ' ')
				j++;
		}
		if (j >= c->len || c->p[j] != '}' || (!lo_digits && !hi_digits) ||
		    (!comma && !lo_digits))
			return 0;
		j++;
		*min = lo;
	} else {
		return 0;
	}
	if (j < c->len && (c->p[j] == '?' || c->p[j] == '+'))
		j++;
	c->i = j;
	return 1;
}

static void parse_alt(struct pctx *c, struct elseq *out, struct tokset *tout);

/* Parses a group's alternatives up to and past its ')' into throwaway space (a lookaround
 * or a condition). */
static void skip_group(struct pctx *c)
{
	struct elseq s = { 0 };
	struct tokset t = { 0 };

	parse_alt(c, &s, &t);
	if (c->i < c->len && c->p[c->i] == ')')
		c->i++;
	else
		c->giveup = 1;
	free(s.v);
	tok_free(&t);
}

/* A group's alternatives up to and past its ')', into s and t. */
static void parse_group_body(struct pctx *c, struct elseq *s, struct tokset *t)
{
	parse_alt(c, s, t);
	if (c->i < c->len && c->p[c->i] == ')')
		c->i++;
	else
		c->giveup = 1;
}

/* c->i is past a '('. */
static void parse_paren(struct pctx *c, struct elseq *s, struct tokset *t)
{
	const unsigned char *p = c->p;
	unsigned char ch;

	if (c->i < c->len && p[c->i] == '*') {   /* (*VERB), (*VERB:NAME), (*pla:...) */
		size_t start = ++c->i;
		int lower = 1;

		while (c->i < c->len && (tok_class[p[c->i]] || p[c->i] == '=')) {
			if (!(p[c->i] >= 'a' && p[c->i] <= 'z') && p[c->i] != '_')
				lower = 0;
			c->i++;
		}
		if (lower && c->i > start && c->i < c->len && p[c->i] == ':') {
			size_t nl = c->i - start;
			const char *nm = (const char *)p + start;
			int assertion = memmem(nm, nl, "look", 4) || (nl == 3 && (!memcmp(nm, "pla", 3) ||
				!memcmp(nm, "plb", 3) || !memcmp(nm, "nla", 3) || !memcmp(nm, "nlb", 3))) ||
				(nl == 5 && (!memcmp(nm, "napla", 5) || !memcmp(nm, "naplb", 5)));

			c->i++;
			skip_group(c);   /* an assertion (zero width) or an atomic/script-run group */
			if (!assertion)
				seq_push(s, EL_UNK, 0);
			return;
		}
		if (c->i - start == 6 && !memcmp(p + start, "ACCEPT", 6))
			c->giveup = 1;
		if (c->i - start == 3 && !memcmp(p + start, "UCP", 3))
			c->ucp = 1;
		skip_past(c, ')');
		return;
	}
	if (c->i >= c->len || p[c->i] != '?') {
		parse_group_body(c, s, t);
		return;
	}
	c->i++;
	if (c->i >= c->len) {
		c->giveup = 1;
		return;
	}
	ch = p[c->i];
	switch (ch) {
	case '#':
		skip_past(c, ')');
		return;
	case ':': case '|': case '>':
		c->i++;
		parse_group_body(c, s, t);
		return;
	case '=': case '!': case '*':
		c->i++;
		skip_group(c);
		return;
	case '<':
		if (c->i + 1 < c->len && (p[c->i + 1] == '=' || p[c->i + 1] == '!' ||
					  p[c->i + 1] == '*')) {
			c->i += 2;
			skip_group(c);
			return;
		}
		skip_past(c, '>');
		parse_group_body(c, s, t);
		return;
	case '\'':
		c->i++;
		skip_past(c, '\'');
		parse_group_body(c, s, t);
		return;
	case 'P':
		if (c->i + 1 < c->len && p[c->i + 1] == '<') {
			skip_past(c, '>');
			parse_group_body(c, s, t);
			return;
		}
		if (c->i + 1 < c->len && (p[c->i + 1] == '=' || p[c->i + 1] == '>')) {
			skip_past(c, ')');
			seq_push(s, EL_UNK, 0);
			return;
		}
		c->giveup = 1;
		return;
	case '(':   /* a condition, then the branches */
		c->i++;
		if (c->i < c->len && p[c->i] == '?') {
			/* the condition is an assertion: parse it as a group */
			struct elseq ts = { 0 };
			struct tokset tt = { 0 };

			if (++c->depth > PT_MAX_DEPTH)
				c->giveup = 1;
			else
				parse_paren(c, &ts, &tt);
			c->depth--;
			free(ts.v);
			tok_free(&tt);
			if (c->giveup)
				return;
		} else {
			skip_past(c, ')');
		}
		skip_group(c);
		seq_push(s, EL_UNK, 0);
		return;
	case 'R': case '&': case '+':
		skip_past(c, ')');
		seq_push(s, EL_UNK, 0);
		return;
	case 'C':
		c->giveup = 1;
		return;
	default:
		break;
	}
	if (is_digit(ch) || (ch == '-' && c->i + 1 < c->len && is_digit(p[c->i + 1]))) {
		skip_past(c, ')');   /* a subroutine call */
		seq_push(s, EL_UNK, 0);
		return;
	}
	/* options: (?imsx-imsx) or (?imsx-imsx:...) */
	while (c->i < c->len && (tok_class[p[c->i]] == 1 || tok_class[p[c->i]] == 2 ||
				 p[c->i] == '^' || p[c->i] == '-')) {
		if (p[c->i] == 'x')
			c->giveup = 1;
		else if (p[c->i] == 'i')
			c->caseless = 1;
		else if (!((p[c->i] | 32) >= 'a' && (p[c->i] | 32) <= 'z') && p[c->i] != '^' &&
			 p[c->i] != '-')
			c->giveup = 1;
		c->i++;
	}
	if (c->i < c->len && p[c->i] == ')') {
		c->i++;
		return;
	}
	if (c->i < c->len && p[c->i] == ':') {
		c->i++;
		parse_group_body(c, s, t);
		return;
	}
	c->giveup = 1;
}

/* One branch, up to '|', ')' or the end. */
static void parse_branch(struct pctx *c, struct elseq *s, struct tokset *t)
{
	while (c->i < c->len && !c->giveup) {
		unsigned char ch = c->p[c->i];
		size_t atom = s->n, tmark = t->n;
		unsigned long min;

		if (ch == '|' || ch == ')')
			return;
		switch (ch) {
		case '\\':
			c->i++;
			parse_escape(c, s, &atom);
			break;
		case '[':
			c->i++;
			parse_class(c, s);
			break;
		case '(':
			c->i++;
			parse_paren(c, s, t);
			break;
		case '.':
			c->i++;
			seq_push(s, EL_UNK, 0);
			break;
		case '^': case '$':
			c->i++;
			seq_push(s, EL_EDGE, 0);
			break;
		case '*': case '+': case '?':
			c->i++;   /* nothing to repeat: PCRE2 refuses it */
			seq_push(s, EL_UNK, 0);
			continue;
		case '{':
			if (parse_quant(c, &min)) {   /* a quantifier after a quantifier */
				seq_push(s, EL_UNK, 0);
				continue;
			}
			push_literal(c, s);
			break;
		default:
			push_literal(c, s);
			break;
		}
		if (!parse_quant(c, &min))
			continue;
		{
			int one_sep = s->n - atom == 1 && s->v[atom].kind == EL_SEP;

			if (min == 0) {
				s->n = atom;
				tok_truncate(t, tmark);
			}
			seq_push(s, one_sep ? EL_OPT_SEP : EL_UNK, 0);
		}
	}
}

/* The whole tokens of the sequence s (see above) into t. */
static void extract_tokens(struct pctx *c, const struct elseq *s, struct tokset *t)
{
	size_t i = 0;

	(void)c;
	while (i < s->n) {
		size_t a, j, o;
		int ok;
		char *tok;

		if (s->v[i].kind != EL_CHAR) {
			i++;
			continue;
		}
		a = i;
		while (i < s->n && s->v[i].kind == EL_CHAR)
			i++;
		j = a;
		while (j > 0 && s->v[j - 1].kind == EL_OPT_SEP)
			j--;
		ok = j > 0 && (s->v[j - 1].kind == EL_SEP || s->v[j - 1].kind == EL_EDGE);
		j = i;
		while (j < s->n && s->v[j].kind == EL_OPT_SEP)
			j++;
		ok = ok && j < s->n && (s->v[j].kind == EL_SEP || s->v[j].kind == EL_EDGE);
		tok = xmalloc(i - a + 2);
		o = 0;
		if (!ok)
			tok[o++] = ELOG_BLOCK_FRAGMENT;   /* maybe part of a longer token */
		for (j = a; j < i; j++) {
			unsigned char ch = s->v[j].c;

			if (ch == 0xE2 && j + 2 < i && s->v[j + 1].c == 0x84 && s->v[j + 2].c == 0xAA) {
				ch = 'k';
				j += 2;
			} else if (ch == 0xC5 && j + 1 < i && s->v[j + 1].c == 0xBF) {
				ch = 's';
				j += 1;
			} else if (tok_class[ch] == 2) {
				ch = (unsigned char)(ch + 32);
			}
			tok[o++] = (char)ch;
		}
		tok[o] = 0;
		if (!ok && o - 1 < 3) {
			free(tok);   /* no trigram in it */
			continue;
		}
		tok_add(t, tok);
	}
}

static void parse_alt(struct pctx *c, struct elseq *out, struct tokset *tout)
{
	struct elseq br = { 0 };
	struct tokset acc = { 0 }, bt = { 0 };
	int branches = 0;

	if (++c->depth > PT_MAX_DEPTH) {
		c->giveup = 1;
		c->depth--;
		return;
	}
	for (;;) {
		br.n = 0;
		tok_truncate(&bt, 0);
		parse_branch(c, &br, &bt);
		branches++;
		if (c->i < c->len && c->p[c->i] == '|') {
			/* more than one branch: each is read alone */
			extract_tokens(c, &br, &bt);
			if (branches == 1) {
				acc = bt;
				bt = (struct tokset){ 0 };
			} else {
				tok_intersect(&acc, &bt);
			}
			c->i++;
			continue;
		}
		break;
	}
	if (branches == 1) {
		seq_append(out, &br);
		for (size_t i = 0; i < bt.n; i++)
			tok_add(tout, bt.t[i]);
		bt.n = 0;
	} else {
		extract_tokens(c, &br, &bt);
		tok_intersect(&acc, &bt);
		seq_push(out, EL_UNK, 0);
		for (size_t i = 0; i < acc.n; i++)
			tok_add(tout, acc.t[i]);
		acc.n = 0;
	}
	free(br.v);
	tok_free(&bt);
	tok_free(&acc);
	c->depth--;
}

static size_t token_rank(const char *t)
{
	return t[0] == ELOG_BLOCK_FRAGMENT ? strlen(t) : strlen(t) + 100000;
}

size_t elog_pattern_tokens(const char *pattern, char **toks, size_t max)
{
	struct pctx c = { 0 };
	struct elseq s = { 0 };
	struct tokset t = { 0 };
	size_t n = 0;

	if (!pattern || !max)
		return 0;
	c.p = (const unsigned char *)pattern;
	c.len = strlen(pattern);
	parse_alt(&c, &s, &t);
	if (c.i < c.len)
		c.giveup = 1;   /* an unbalanced ')' */
	extract_tokens(&c, &s, &t);
	/* whole tokens first, then fragments, the longest first in each: the most selective
	 * are checked first, and kept when there are more than max */
	for (size_t i = 1; i < t.n; i++)
		for (size_t j = i; j > 0 && token_rank(t.t[j - 1]) < token_rank(t.t[j]); j--) {
			char *x = t.t[j];

			t.t[j] = t.t[j - 1];
			t.t[j - 1] = x;
		}
	for (size_t i = 0; i < t.n && !c.giveup && n < max; i++) {
		int ascii = 1;

		for (const char *q = t.t[i]; *q; q++)
			if ((unsigned char)*q >= 0x80)
				ascii = 0;
		if (c.caseless && !ascii)
			continue;
		toks[n++] = t.t[i];
		t.t[i] = NULL;
	}
	for (size_t i = 0; i < t.n; i++)
		free(t.t[i]);
	free(t.t);
	free(s.v);
	return n;
}
