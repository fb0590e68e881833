/* Unit tests for store/block.c: the sealed block codec, its token filter and the tokens a
 * pattern requires. */
#include "unit.h"
#include <zstd.h>
#include "store/block.h"
#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "common/util.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void set(char **slot, const char *s)
{
	elog_record_set(slot, s, strlen(s));
}

static void make_rec(struct elog_record *r, int64_t id, int64_t ts, int64_t arr, int level,
		     const char *comp, const char *msg, const char *fields, const char *source,
		     const char *dedupe)
{
	elog_record_init(r);
	r->id = id;
	r->ts_ns = ts;
	r->arrival_ns = arr;
	r->level = level;
	set(&r->component, comp);
	set(&r->msg, msg);
	set(&r->fields, fields);
	set(&r->source, source);
	set(&r->dedupe_key, dedupe);
}

static int same_rec(const struct elog_record *a, const struct elog_record *b)
{
	return a->id == b->id && a->ts_ns == b->ts_ns && a->arrival_ns == b->arrival_ns &&
	       a->level == b->level && !strcmp(a->component, b->component) &&
	       !strcmp(a->msg, b->msg) && !strcmp(a->fields, b->fields) &&
	       !strcmp(a->source, b->source) && !strcmp(a->dedupe_key, b->dedupe_key);
}

/* Encodes and decodes recs; checks every field came back. */
static void round_trip(struct elog_record *recs, size_t n)
{
	struct elog_block b;
	struct elog_block_view v = { 0 };
	struct elog_err err;
	int rc = elog_block_encode(recs, n, &b, &err);

	CHECK_INT(rc, 0);
	if (rc) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK(b.data && b.data_len > 0 && b.filter && b.filter_len > 0 && b.components);
	CHECK_INT(b.sum.n, n);
	CHECK_INT(b.sum.id_lo, recs[0].id);
	CHECK_INT(b.sum.id_hi, recs[n - 1].id);
	rc = elog_block_decode(&v, b.data, b.data_len, &err);
	CHECK_INT(rc, 0);
	if (rc)
		fprintf(stderr, "  %s\n", err.msg);
	CHECK_INT(v.n, rc ? 0 : n);
	for (size_t i = 0; i < v.n; i++) {
		if (!same_rec(&recs[i], &v.recs[i])) {
			CHECK(!"record differs");
			fprintf(stderr, "  record %zu (id %lld) differs\n", i, (long long)recs[i].id);
			break;
		}
	}
	elog_block_view_free(&v);
	elog_block_free(&b);
}

static void test_round_trip_edges(void)
{
	struct elog_record r[6];

	make_rec(&r[0], 1, 0, 5, 0, "", "", "", "", "");
	make_rec(&r[1], 2, -7, 3, 5, "api", "héllo wörld ✓", "{\"a\":1,\"b\":\"x y\"}", "src",
		 "k1");
	make_rec(&r[2], 1000000, INT64_MAX, INT64_MIN, 2, "web\tx\\y\nz", "line\nnext",
		 "not json", "", "");
	make_rec(&r[3], INT64_MAX - 5, INT64_MIN, INT64_MAX, 255, "api", "x", "{}", "src", "");
	make_rec(&r[4], INT64_MAX - 4, 1, 0, 3, "db", "\xF0\x9F\x98\x80", "", "other", "dk");
	make_rec(&r[5], INT64_MAX, 0, 0, 1, "api", "", "", "src", "");
	round_trip(r, 6);
	round_trip(r, 1);
	round_trip(r + 5, 1);

	struct elog_block b;
	struct elog_err err;

	CHECK_INT(elog_block_encode(r, 6, &b, &err), 0);
	CHECK_INT(b.sum.ts_lo, INT64_MIN);   /* r[3] */
	CHECK_INT(b.sum.ts_hi, INT64_MAX);   /* r[2] */
	CHECK_INT(b.sum.arrival_lo, INT64_MIN);
	CHECK_INT(b.sum.arrival_hi, INT64_MAX);
	CHECK_INT(b.sum.level_mask, (1u << 0) | (1u << 5) | (1u << 2) | (1u << 3) | (1u << 1));
	CHECK_STR(b.components, "\t1\napi\t3\nweb\\tx\\\\y\\nz\t1\ndb\t1\n");
	elog_block_free(&b);
	/* ts 0 counts as arrival in the summary */
	CHECK_INT(elog_block_encode(r, 2, &b, &err), 0);
	CHECK_INT(b.sum.ts_lo, -7);
	CHECK_INT(b.sum.ts_hi, 5);
	elog_block_free(&b);
	for (int i = 0; i < 6; i++)
		elog_record_clear(&r[i]);
}

static char *rand_text(size_t maxlen)
{
	static const char *const pieces[] = { "request", " ", "42", "é", "✓", "\n", "\t", "_",
					      "Timeout", "\"", "\\", "{", "}", "x", "\xF0\x9F\x98\x80",
					      "KEY", "0", "-" };
	size_t n = rnd() % (maxlen + 1);
	struct elog_buf b = ELOG_BUF_INIT;

	while (b.len < n)
		elog_buf_adds(&b, pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))]);
	return elog_buf_detach(&b);
}

static void rand_rec(struct elog_record *r, int64_t id)
{
	char *s;

	elog_record_init(r);
	r->id = id;
	r->ts_ns = (int64_t)rnd();
	r->arrival_ns = rnd() % 3 ? (int64_t)(rnd() % 1000000) : 0;
	r->level = (int)(rnd() % 6);
	s = rand_text(3);
	set(&r->component, s);
	free(s);
	elog_record_take(&r->msg, rand_text(80));
	if (rnd() % 2) {
		s = rand_text(20);
		struct elog_buf b = ELOG_BUF_INIT;

		elog_buf_adds(&b, "{\"k\":\"");
		for (const char *p = s; *p; p++) {
			if (*p == '"' || *p == '\\')
				elog_buf_addc(&b, '\\');
			if (*p == '\n')
				elog_buf_adds(&b, "\\n");
			else if (*p == '\t')
				elog_buf_adds(&b, "\\t");
			else
				elog_buf_addc(&b, *p);
		}
		elog_buf_adds(&b, "\",\"n\":7}");
		elog_record_take(&r->fields, elog_buf_detach(&b));
		free(s);
	}
	s = rand_text(4);
	set(&r->source, s);
	free(s);
	if (rnd() % 4 == 0)
		elog_record_take(&r->dedupe_key, rand_text(10));
}

static void test_round_trip_random(void)
{
	static struct elog_record recs[ELOG_BLOCK_MAX_RECORDS];
	int64_t id = 1;

	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++) {
		id += 1 + (int64_t)(rnd() % (i % 7 ? 3 : 100000));
		rand_rec(&recs[i], id);
	}
	round_trip(recs, ELOG_BLOCK_MAX_RECORDS);
	round_trip(recs + 17, 100);
	elog_records_free(NULL, 0);
	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++)
		elog_record_clear(&recs[i]);
}

static void test_round_trip_huge(void)
{
	struct elog_record r[2];
	char *big = xmalloc(ELOG_MAX_STRING + 1);

	for (size_t i = 0; i < ELOG_MAX_STRING; i++)
		big[i] = (char)('a' + rnd() % 26);
	big[ELOG_MAX_STRING] = 0;
	make_rec(&r[0], 10, 1, 2, 2, "c", "m", "", "s", "");
	make_rec(&r[1], 11, 1, 2, 2, "c", "", "", "s", "");
	elog_record_take(&r[1].msg, big);
	elog_record_take(&r[1].fields, xstrdup(big));
	round_trip(r, 2);
	elog_record_clear(&r[0]);
	elog_record_clear(&r[1]);
}

static void test_encode_refuses(void)
{
	struct elog_record r[3];
	struct elog_block b;
	struct elog_err err;

	make_rec(&r[0], 5, 1, 1, 2, "c", "a", "", "", "");
	make_rec(&r[1], 5, 1, 1, 2, "c", "b", "", "", "");
	make_rec(&r[2], 4, 1, 1, 2, "c", "b", "", "", "");
	CHECK_INT(elog_block_encode(r, 0, &b, &err), ELOG_EINVAL);
	CHECK(b.data == NULL && b.filter == NULL && b.components == NULL);
	CHECK_INT(elog_block_encode(r, ELOG_BLOCK_MAX_RECORDS + 1, &b, &err), ELOG_EINVAL);
	CHECK_INT(elog_block_encode(r, 2, &b, &err), ELOG_EINVAL);   /* equal ids */
	CHECK(strstr(err.msg, "ids must increase") != NULL);
	r[1].id = 6;
	CHECK_INT(elog_block_encode(r, 3, &b, &err), ELOG_EINVAL);   /* decreasing */
	r[1].level = 256;
	CHECK_INT(elog_block_encode(r, 2, &b, &err), ELOG_EINVAL);
	r[1].level = -1;
	CHECK_INT(elog_block_encode(r, 2, &b, &err), ELOG_EINVAL);
	r[1].level = 1;
	elog_record_take(&r[1].msg, xstrdup("bad \xC3 utf8"));
	CHECK_INT(elog_block_encode(r, 2, &b, &err), ELOG_EINVAL);
	CHECK(strstr(err.msg, "not valid UTF-8") != NULL);
	CHECK(b.data == NULL);
	elog_block_free(&b);
	elog_block_free(NULL);
	for (int i = 0; i < 3; i++)
		elog_record_clear(&r[i]);
}

/* ---- hostile blobs ---------------------------------------------------------------------- */

static void put_uv(struct elog_buf *b, uint64_t v)
{
	while (v >= 0x80) {
		elog_buf_addc(b, (char)(v | 0x80));
		v >>= 7;
	}
	elog_buf_addc(b, (char)v);
}

/* A blob with the given header values around raw[0..rn) compressed (content size stated). */
static struct elog_buf craft(int version, uint64_t n, int64_t id0, uint64_t raw_len,
			     const void *raw, size_t rn)
{
	struct elog_buf b = ELOG_BUF_INIT;
	size_t bound = ZSTD_compressBound(rn), c;

	elog_buf_addc(&b, (char)version);
	put_uv(&b, n);
	put_uv(&b, ((uint64_t)id0 << 1) ^ (uint64_t)(id0 >> 63));
	put_uv(&b, raw_len);
	elog_buf_grow(&b, bound);
	c = ZSTD_compress(b.data + b.len, bound, raw, rn, 1);
	CHECK(!ZSTD_isError(c));
	b.len += c;
	return b;
}

static int decode_buf(struct elog_block_view *v, struct elog_buf *b, struct elog_err *err)
{
	return elog_block_decode(v, (const unsigned char *)b->data, b->len, err);
}

/* raw columns of n=2 records ids id0, id0+1 with the given component dictionary part */
static void raw_two(struct elog_buf *raw, uint64_t id_delta, const char *dict_part, size_t dn,
		    const char *msg2)
{
	put_uv(raw, id_delta);
	put_uv(raw, 2); put_uv(raw, 2);   /* ts 1, 2 */
	put_uv(raw, 0); put_uv(raw, 0);   /* arrival 0, 0 */
	elog_buf_addc(raw, 2); elog_buf_addc(raw, 3);
	elog_buf_add(raw, dict_part, dn);
	elog_buf_add(raw, "\001s\0\0\0", 5);   /* source: 1 name "s", indexes 0 0 */
	elog_buf_add(raw, "a\0", 2);
	elog_buf_add(raw, msg2, strlen(msg2) + 1);
	elog_buf_add(raw, "\0\0\0\0", 4);   /* fields, dedupe */
}

static void expect_corrupt(struct elog_buf *blob, const char *why)
{
	struct elog_block_view v = { 0 };
	struct elog_err err;
	int rc = decode_buf(&v, blob, &err);

	CHECK_INT(rc, ELOG_EINVAL);
	if (rc != ELOG_EINVAL || !strstr(err.msg, why))
		fprintf(stderr, "  expected '%s', got %d '%s'\n", why, rc, rc ? err.msg : "");
	CHECK(strncmp(err.msg, "corrupt history block '", 23) == 0);
	CHECK_INT(v.n, 0);
	elog_block_view_free(&v);
	elog_buf_release(blob);
}

static void test_decode_crafted(void)
{
	struct elog_buf raw = ELOG_BUF_INIT, blob;
	struct elog_block_view v = { 0 };
	struct elog_err err;

	/* a valid crafted block first, so the variants below differ by one thing */
	raw_two(&raw, 1, "\002c\0d\0\0\001", 7, "b");
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	CHECK_INT(decode_buf(&v, &blob, &err), 0);
	CHECK_INT(v.n, 2);
	if (v.n == 2) {
		CHECK_INT(v.recs[0].id, 77);
		CHECK_INT(v.recs[1].id, 78);
		CHECK_INT(v.recs[1].ts_ns, 2);
		CHECK_STR(v.recs[1].component, "d");
		CHECK_STR(v.recs[1].msg, "b");
		CHECK_STR(v.recs[0].source, "s");
	}
	elog_block_view_free(&v);
	elog_buf_release(&blob);

	blob = craft(2, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "unknown version");
	blob = craft(1, 0, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "bad record count");
	blob = craft(1, ELOG_BLOCK_MAX_RECORDS + 1, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "bad record count");
	blob = craft(1, 2, 77, raw.len + 1, raw.data, raw.len);
	expect_corrupt(&blob, "bad frame header");
	blob = craft(1, 2, 77, (uint64_t)1 << 40, raw.data, raw.len);
	expect_corrupt(&blob, "too large");
	blob = craft(1, 3, 77, raw.len, raw.data, raw.len);   /* columns run out */
	expect_corrupt(&blob, "");
	blob = craft(1, 1, 77, raw.len, raw.data, raw.len);   /* bytes left over */
	expect_corrupt(&blob, "");
	blob = craft(1, 2, INT64_MAX, raw.len, raw.data, raw.len);   /* id overflows */
	expect_corrupt(&blob, "bad id");
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	elog_buf_addc(&blob, 0);   /* a byte after the frame */
	expect_corrupt(&blob, "bad frame length");

	elog_buf_reset(&raw);
	raw_two(&raw, 0, "\002c\0d\0\0\001", 7, "b");   /* id delta 0 */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "bad id");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\002c\0d\0\0\002", 7, "b");   /* index 2 of 2 names */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "dictionary index out of range");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\003c\0d\0\0\001", 7, "b");   /* 3 names for 2 records */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "bad dictionary size");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\000\0\0", 3, "b");   /* 0 names */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "bad dictionary size");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\002c\0d\0\0\001", 7, "b\xC3(");   /* invalid UTF-8 in a msg */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "invalid UTF-8");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\002c\xED\xA0\x80\0d\0\0\001", 10, "b");   /* a surrogate in a name */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "invalid UTF-8");
	elog_buf_reset(&raw);
	raw_two(&raw, 1, "\002c\0d\0\0\001", 7, "b");
	raw.len -= 1;   /* the last string has no NUL */
	blob = craft(1, 2, 77, raw.len, raw.data, raw.len);
	expect_corrupt(&blob, "truncated string");

	/* a frame that claims far more content than its blocks can hold */
	{
		unsigned char fr[32];
		size_t fl = ZSTD_compress(fr, sizeof(fr), "", 0, 1);
		struct elog_buf h = ELOG_BUF_INIT;

		CHECK(!ZSTD_isError(fl));
		elog_buf_addc(&h, 1);
		put_uv(&h, 4096);
		put_uv(&h, 2);
		put_uv(&h, 1u << 30);
		elog_buf_add(&h, fr, fl);
		expect_corrupt(&h, "");
	}
	{
		struct elog_buf h = ELOG_BUF_INIT;

		expect_corrupt(&h, "empty");
		elog_buf_adds(&h, "\001\200");
		expect_corrupt(&h, "truncated header");
	}
	elog_buf_release(&raw);
}

/* Every prefix and every one-bit change of a real block: an error or valid records, never a
 * crash (ASan) and never a record that is not valid UTF-8. */
static void test_decode_truncated_and_flipped(void)
{
	struct elog_record r[40];
	struct elog_block b;
	struct elog_block_view v = { 0 };
	struct elog_err err;
	unsigned char *copy;
	size_t ok_flips = 0;

	for (int i = 0; i < 40; i++)
		rand_rec(&r[i], 100 + i * 3);
	CHECK_INT(elog_block_encode(r, 40, &b, &err), 0);
	copy = xmalloc(b.data_len);
	for (size_t cut = 0; cut < b.data_len; cut++) {
		memcpy(copy, b.data, cut);
		CHECK_INT(elog_block_decode(&v, copy, cut, &err), ELOG_EINVAL);
		CHECK_INT(v.n, 0);
	}
	for (size_t bit = 0; bit < b.data_len * 8; bit++) {
		int rc;

		memcpy(copy, b.data, b.data_len);
		copy[bit / 8] ^= (unsigned char)(1u << (bit % 8));
		rc = elog_block_decode(&v, copy, b.data_len, &err);
		CHECK(rc == 0 || rc == ELOG_EINVAL);
		if (rc == 0) {
			ok_flips++;
			CHECK(v.n >= 1 && v.n <= ELOG_BLOCK_MAX_RECORDS);
			for (size_t i = 0; i < v.n; i++) {
				const char *s[5] = { v.recs[i].component, v.recs[i].msg,
						     v.recs[i].fields, v.recs[i].source,
						     v.recs[i].dedupe_key };

				for (int k = 0; k < 5; k++)
					CHECK(s[k] && elog_utf8_valid(s[k], strlen(s[k])));
			}
		}
	}
	/* the frame's checksum catches a change inside it; only the id in the header and the
	 * like may pass */
	CHECK(ok_flips < 64);
	/* the view still decodes the intact block after all that */
	CHECK_INT(elog_block_decode(&v, b.data, b.data_len, &err), 0);
	CHECK_INT(v.n, 40);
	for (size_t i = 0; i < v.n; i++)
		CHECK(same_rec(&r[i], &v.recs[i]));
	free(copy);
	elog_block_view_free(&v);
	elog_block_free(&b);
	for (int i = 0; i < 40; i++)
		elog_record_clear(&r[i]);
}

static void test_view_reuse(void)
{
	struct elog_record a[3], big[1];
	struct elog_block ba, bb;
	struct elog_block_view v = { 0 };
	struct elog_err err;
	char *s = xmalloc(100001);

	memset(s, 'q', 100000);
	s[100000] = 0;
	for (int i = 0; i < 3; i++)
		make_rec(&a[i], 1 + i, i, i, 1, "c", "small", "", "", "");
	make_rec(&big[0], 9, 1, 1, 1, "c", "", "", "", "");
	elog_record_take(&big[0].msg, s);
	CHECK_INT(elog_block_encode(a, 3, &ba, &err), 0);
	CHECK_INT(elog_block_encode(big, 1, &bb, &err), 0);
	CHECK_INT(elog_block_decode(&v, ba.data, ba.data_len, &err), 0);
	CHECK_INT(v.n, 3);
	CHECK_INT(elog_block_decode(&v, bb.data, bb.data_len, &err), 0);
	CHECK_INT(v.n, 1);
	CHECK(v.n == 1 && strlen(v.recs[0].msg) == 100000);
	CHECK_INT(elog_block_decode(&v, ba.data, ba.data_len, &err), 0);
	CHECK(v.n == 3 && !strcmp(v.recs[2].msg, "small") && v.recs[2].id == 3);
	elog_block_view_free(&v);
	elog_block_view_free(&v);   /* twice is fine: the view is zeroed */
	elog_block_free(&ba);
	elog_block_free(&bb);
	for (int i = 0; i < 3; i++)
		elog_record_clear(&a[i]);
	elog_record_clear(&big[0]);
}

/* ---- the filter ------------------------------------------------------------------------- */

static int may(const struct elog_block *b, const char *tok)
{
	char *t[1] = { (char *)tok };

	return elog_block_filter_may_match(b->filter, b->filter_len, t, 1);
}

static void test_filter_basics(void)
{
	struct elog_record r[2];
	struct elog_block b;
	struct elog_err err;
	char *none[1] = { NULL };

	make_rec(&r[0], 1, 1, 1, 2, "api", "GET /Users/42 took_ms=17 Straße ſtop \xE2\x84\xAA" "ey",
		 "{\"path\":\"/a\\u0042c/d\",\"n\":12345,\"o\":{\"deep\":\"Inner Word\"}}", "", "");
	make_rec(&r[1], 2, 1, 1, 2, "api", "x", "plain text fields", "", "");
	CHECK_INT(elog_block_encode(r, 2, &b, &err), 0);
	/* message tokens, lowercased; U+017F and U+212A fold to s and k */
	CHECK(may(&b, "get"));
	CHECK(may(&b, "users"));
	CHECK(may(&b, "42"));
	CHECK(may(&b, "took_ms"));
	CHECK(may(&b, "17"));
	CHECK(may(&b, "straße"));
	CHECK(may(&b, "stop"));
	CHECK(may(&b, "key"));
	CHECK(may(&b, "KEY"));   /* the query's tokens are normalized too */
	/* field values as the walk gives them: decoded, nested objects as compact JSON */
	CHECK(may(&b, "abc"));
	CHECK(may(&b, "12345"));
	CHECK(may(&b, "deep"));
	CHECK(may(&b, "inner"));
	CHECK(may(&b, "plain"));   /* not an object: the text itself */
	CHECK(!may(&b, "zebra"));
	CHECK(!may(&b, "4"));   /* part of a token is not a token */
	/* fragments: some token contains them (their trigrams are all there) */
	CHECK(may(&b, "*user"));
	CHECK(may(&b, "*sers"));
	CHECK(may(&b, "*ook_m"));
	CHECK(may(&b, "*USERS"));
	CHECK(may(&b, "*traß"));
	CHECK(may(&b, "*top"));   /* from U+017F "ſtop" */
	CHECK(may(&b, "*ke"));    /* too short to check: maybe */
	CHECK(may(&b, "*"));
	CHECK(may(&b, "*\xE2\x84\xAA" "ey"));
	CHECK(may(&b, "*nner"));
	CHECK(!may(&b, "*zebra"));
	CHECK(!may(&b, "*userz"));
	{
		char *two[2] = { "get", "zebra" };

		CHECK(!elog_block_filter_may_match(b.filter, b.filter_len, two, 2));
		CHECK(elog_block_filter_may_match(b.filter, b.filter_len, two, 1));
		CHECK(elog_block_filter_may_match(b.filter, b.filter_len, two, 0));
	}
	CHECK(elog_block_filter_may_match(b.filter, b.filter_len, none, 1));
	/* malformed filters answer "maybe" */
	{
		char *z[1] = { "zebra" };
		unsigned char *bad = xmalloc(b.filter_len);

		CHECK(!elog_block_filter_may_match(b.filter, b.filter_len, z, 1));
		CHECK(elog_block_filter_may_match(NULL, 0, z, 1));
		CHECK(elog_block_filter_may_match(b.filter, 3, z, 1));
		CHECK(elog_block_filter_may_match(b.filter, b.filter_len - 1, z, 1));
		memcpy(bad, b.filter, b.filter_len);
		bad[0] = 9;   /* version */
		CHECK(elog_block_filter_may_match(bad, b.filter_len, z, 1));
		memcpy(bad, b.filter, b.filter_len);
		bad[1] = 0;   /* k */
		CHECK(elog_block_filter_may_match(bad, b.filter_len, z, 1));
		bad[1] = 17;
		CHECK(elog_block_filter_may_match(bad, b.filter_len, z, 1));
		memcpy(bad, b.filter, b.filter_len);
		bad[2] ^= 8;   /* m no longer matches the length */
		CHECK(elog_block_filter_may_match(bad, b.filter_len, z, 1));
		free(bad);
	}
	/* garbage of every length as a filter: no crash (ASan), an answer either way */
	{
		char *z[2] = { "zebra", "*zebr" };
		unsigned char junk[300];

		for (size_t len = 0; len < sizeof(junk); len++) {
			for (size_t i = 0; i < len; i++)
				junk[i] = (unsigned char)rnd();
			if (len > 6) {
				junk[0] = 2;
				junk[1] = (unsigned char)(1 + rnd() % 16);
				junk[2] = (unsigned char)(((len - 7) * 8) & 0xff);
				junk[3] = (unsigned char)(((len - 7) * 8) >> 8);
				junk[4] = junk[5] = 0;
			}
			CHECK(elog_block_filter_may_match(junk, len, z, 2) <= 1);
		}
	}
	elog_block_free(&b);
	elog_record_clear(&r[0]);
	elog_record_clear(&r[1]);
}

/* Every token of every record is in its block's filter (no false negatives), and tokens that
 * are not there are mostly rejected. */
static void test_filter_no_false_negatives(void)
{
	static struct elog_record recs[ELOG_BLOCK_MAX_RECORDS];
	char words[ELOG_BLOCK_MAX_RECORDS][24];
	struct elog_block b;
	struct elog_err err;
	size_t fp = 0, trials = 20000;

	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++) {
		char msg[64], fields[64];

		snprintf(words[i], sizeof(words[i]), "w%llx", (unsigned long long)(rnd() >> 16));
		snprintf(msg, sizeof(msg), "request %zu %s", i, words[i]);
		snprintf(fields, sizeof(fields), "{\"dur_ms\":%llu}",
			 (unsigned long long)(rnd() % 1000));
		make_rec(&recs[i], (int64_t)i + 1, 1, 1, 2, "api", msg, fields, "", "");
	}
	CHECK_INT(elog_block_encode(recs, ELOG_BLOCK_MAX_RECORDS, &b, &err), 0);
	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++) {
		char num[24];

		snprintf(num, sizeof(num), "%zu", i);
		CHECK(may(&b, words[i]));
		CHECK(may(&b, num));
		/* every fragment of 3 or more bytes of a token */
		for (size_t a = 0; words[i][a]; a++)
			for (size_t e = a + 3; e <= strlen(words[i]); e++) {
				char frag[32];

				snprintf(frag, sizeof(frag), "*%.*s", (int)(e - a), words[i] + a);
				CHECK(may(&b, frag));
			}
		snprintf(num, sizeof(num), "%.*s", (int)(strlen(recs[i].fields) - 11),
			 recs[i].fields + 10);   /* {"dur_ms":N} */
		CHECK(may(&b, num));
	}
	CHECK(may(&b, "request"));
	for (size_t t = 0; t < trials; t++) {
		char absent[24];

		snprintf(absent, sizeof(absent), "z%llx", (unsigned long long)rnd());
		fp += may(&b, absent);
	}
	/* ~12 bits a token: well under 1% */
	CHECK(fp < trials / 100);
	fp = 0;
	for (size_t t = 0; t < trials; t++) {
		char absent[24];

		snprintf(absent, sizeof(absent), "*z%llx", (unsigned long long)rnd());
		fp += may(&b, absent);
	}
	CHECK(fp < trials / 100);
	elog_block_free(&b);
	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++)
		elog_record_clear(&recs[i]);
}

/* ---- the tokens of a pattern ------------------------------------------------------------ */

/* The tokens of pattern, sorted and joined with ',' (a static buffer). */
static const char *ptoks(const char *pattern)
{
	static char out[1024];
	char *t[ELOG_BLOCK_MAX_TOKENS];
	size_t n = elog_pattern_tokens(pattern, t, ELOG_BLOCK_MAX_TOKENS), o = 0;

	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && strcmp(t[j - 1], t[j]) > 0; j--) {
			char *x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s", i ? "," : "", t[i]);
		free(t[i]);
	}
	return out;
}

static void test_pattern_tokens(void)
{
	static const char *const cases[][2] = {
		{ "request 999999 ", "*request,999999" },
		{ "999999", "*999999" },
		{ " 999999 ", "999999" },
		{ "request 999999", "*999999,*request" },
		{ "^request 999999 ", "999999,request" },
		{ "^request$", "request" },
		{ "\\Arequest\\z", "request" },
		{ "^Request\\b", "*request" },
		{ "\\bfoo\\b", "*foo" },
		{ " foo\\b ", "foo" },
		{ " foo\\.bar ", "bar,foo" },
		{ " foo.bar ", "*bar,*foo" },
		{ " foo\\d+ ", "*foo" },
		{ " \\d+ foo ", "foo" },
		{ " \\w+ foo ", "foo" },
		{ "request \\d+ served ", "*request,served" },
		{ " fo?o ", "" },
		{ " foo? ", "" },
		{ " foo+ ", "*foo" },
		{ " foo* ", "" },
		{ " a{2} ", "" },
		{ " ab{0} ", "" },
		{ " ab{0,1} ", "" },
		{ " x{,3} ", "" },
		{ " x{1,}y ", "" },
		{ " x{2}{3} ", "" },
		{ " {3} ", "" },
		{ " x{y} ", "x,y" },
		{ " x{ } ", "x" },
		{ " (ab){1,3} ", "" },
		{ " (foo) ", "foo" },
		{ "( foo )?", "" },
		{ "( foo )*x", "" },
		{ "( foo )+", "foo" },
		{ "( foo ){2}", "foo" },
		{ "( foo ){0,2}", "" },
		{ " (?:foo|bar) ", "" },
		{ "(?: foo | foo bar )", "foo" },
		{ " foo | foo ", "foo" },
		{ " foo | bar ", "" },
		{ " foo | foo bar |", "" },
		{ "foo|", "" },
		{ "", "" },
		{ " ((a|b) c) ", "c" },
		{ "(?|( foo )|( foo ))", "foo" },
		{ "(?i) Foo ", "foo" },
		{ " (?i:Foo) ", "foo" },
		{ " FOO (?i)", "foo" },
		{ "(?i) Straße ", "" },
		{ " Straße ", "straße" },
		{ " ✓ ", "✓" },
		{ " \xE2\x84\xAA ", "k" },
		{ " \xC5\xBFtop ", "stop" },
		{ " [ab] x ", "x" },
		{ " x[ ,]y ", "x,y" },
		{ " x[^ ]y ", "" },
		{ " x[a-z]y ", "" },
		{ " x[ -]y ", "x,y" },
		{ " x[!--]y ", "" },
		{ "[]] foo ", "foo" },
		{ " [[:space:]]foo[[:space:]]", "foo" },
		{ " [[:alpha:]]foo ", "*foo" },
		{ " [[:punct:]]foo ", "*foo" },
		{ " x[\\s.]y ", "x,y" },
		{ " x[\\w]y ", "" },
		{ " x[\\Q.\\E]y ", "x,y" },
		{ "\\Q a.b \\E", "a,b" },
		{ "\\Q a.b ", "a,b" },
		{ "\\Q a.b \\E?", "a" },
		{ " foo\\s+bar ", "bar,foo" },
		{ " foo\\s*bar ", "*bar,*foo" },
		{ " foo\\s*\\. ", "foo" },
		{ " foo\\t", "foo" },
		{ " foo\\h", "*foo" },
		{ " foo\\R", "*foo" },
		{ "(*UCP) foo\\sbar ", "*bar,*foo" },
		{ " foo\\sbar ", "bar,foo" },
		{ " \\x41bc ", "abc" },
		{ " a\\x20b ", "a,b" },
		{ " a\\x{2e}b ", "a,b" },
		{ " a\\x{e9}b ", "" },
		{ " a\\N{U+2e}b ", "" },
		{ " a\\pLb ", "" },
		{ " a\\p{Lu}b ", "" },
		{ " \\1 foo ", "foo" },
		{ "(a) \\1foo ", "*foo" },
		{ " \\g{1}foo ", "*foo" },
		{ " \\k<n>foo ", "*foo" },
		{ "(?<n> foo ) ", "foo" },
		{ "(?P<n> foo ) ", "foo" },
		{ "(?'n' foo ) ", "foo" },
		{ " foo(?= )", "*foo" },
		{ " foo(?= ) ", "foo" },
		{ " foo(?! )bar ", "foobar" },
		{ " foo(?<=o)bar ", "foobar" },
		{ " foo(*pla: ) ", "foo" },
		{ " foo\\Kbar ", "foobar" },
		{ " foo(?# comment) ", "foo" },
		{ "(?(1) foo | foo ) x ", "x" },
		{ "(?(?= )a|b) x ", "x" },
		{ "(?x) foo ", "" },
		{ " foo (?x)", "" },
		{ " foo (*ACCEPT) bar ", "" },
		{ " foo (?C1) ", "" },
		{ "(*COMMIT) foo ", "foo" },
		{ "(*MARK:x) foo ", "foo" },
		{ " (?1) foo ", "foo" },
		{ " (?R) foo ", "foo" },
		{ "\\\\ foo \\\\", "foo" },
		{ "$ foo ^", "foo" },
		{ " foo \\", "foo" },
		{ " foo (", "" },
		{ " foo ) ", "" },
		{ " foo [ ", "" },
		{ " (?", "" },
		{ " a b c ", "a,b,c" },
		{ " foo(*napla: ) ", "foo" },
		{ " foo(*atomic: x) ", "*foo" },
		{ " foo(*atomic: x) y ", "*foo,y" },
		{ "\n foo\r", "foo" },
		{ " a_1 ", "a_1" },
		{ " a-1 ", "1,a" },
		{ " Foo FOO foo ", "foo" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = ptoks(cases[i][0]);

		if (strcmp(got, cases[i][1])) {
			unit_failed_checks++;
			fprintf(stderr, "  pattern '%s': tokens '%s', expected '%s'\n", cases[i][0], got,
				cases[i][1]);
		}
	}
	/* at most max tokens: whole ones first, the longest first */
	{
		char *t[3];
		size_t n = elog_pattern_tokens("xyzw ab abc zzzzzzz abcd$", t, 3);

		CHECK_INT(n, 3);
		if (n == 3) {
			CHECK_STR(t[0], "zzzzzzz");
			CHECK_STR(t[1], "abcd");
			CHECK_STR(t[2], "abc");
		}
		for (size_t i = 0; i < n; i++)
			free(t[i]);
		n = elog_pattern_tokens("xyzw ab$", t, 3);
		CHECK_INT(n, 2);
		if (n == 2) {
			CHECK_STR(t[0], "ab");
			CHECK_STR(t[1], "*xyzw");
		}
		for (size_t i = 0; i < n; i++)
			free(t[i]);
		n = elog_pattern_tokens("^a b c d$", t, 2);
		CHECK_INT(n, 2);
		for (size_t i = 0; i < n; i++)
			free(t[i]);
		CHECK_INT(elog_pattern_tokens("^a b$", t, 0), 0);
		CHECK_INT(elog_pattern_tokens(NULL, t, 2), 0);
	}
	/* deep nesting gives up, without crashing */
	{
		char deep[1200];
		size_t o = 0;

		o += (size_t)snprintf(deep, sizeof(deep), " x ");
		for (int i = 0; i < 300; i++)
			deep[o++] = '(';
		for (int i = 0; i < 300; i++)
			deep[o++] = ')';
		deep[o] = 0;
		CHECK_STR(ptoks(deep), "");
	}
	/* long hostile patterns (longer than a filter accepts): bounded recursion, no crash */
	{
		static const char *const units[] = { "(?(", "(?", "(", "(?:", "(?=", "[", "\\", "(*pla:",
						     "a|", "(?(?=", "{", "x{1,", "\\Q" };
		size_t len = 200000;
		char *p = xmalloc(len + 8);

		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			size_t o = 0, ul = strlen(units[u]);

			o += (size_t)snprintf(p, 8, " x ");
			while (o + ul < len) {
				memcpy(p + o, units[u], ul);
				o += ul;
			}
			p[o] = 0;
			(void)ptoks(p);
		}
		free(p);
	}
}

/* Random texts and patterns derived from them: whenever PCRE2 (as the filter compiles it,
 * smart case included) matches a text, the block filter of that text must pass the pattern's
 * tokens. */
static const char *const tpieces[] = { "ab", "Ab", "c", "K", " ", ".", "_", "1", "22", "é",
				       "É", "\n", "-", "\xE2\x84\xAA", "\xC5\xBF", "s", "k", "\t",
				       "(", "|", "\xC4\xB0", "\xC4\xB1", "i", "I" };
#define NTP (sizeof(tpieces) / sizeof(tpieces[0]))

static void add_piece_pattern(struct elog_buf *p, const char *piece)
{
	unsigned r = (unsigned)(rnd() % 16);

	if (r == 0) {
		elog_buf_addc(p, '.');
	} else if (r == 1 && (piece[0] == ' ' || piece[0] == '\t' || piece[0] == '\n')) {
		elog_buf_adds(p, "\\s");
	} else if (r == 2 && piece[0] >= '0' && piece[0] <= '9') {
		elog_buf_adds(p, "\\d+");
	} else if (r == 3 && strlen(piece) == 1) {
		elog_buf_addf(p, "[%s%s]", strchr("\\]^-[", piece[0]) ? "\\" : "", piece);
	} else if (r == 4) {
		elog_buf_addf(p, "(?:%s|zz)", piece[0] == '(' ? "\\(" : piece[0] == '|' ? "\\|"
				     : piece[0] == '.' ? "\\." : piece);
	} else if (r == 5 && strlen(piece) == 1 && (piece[0] | 32) >= 'a' && (piece[0] | 32) <= 'z') {
		elog_buf_addf(p, "(?i:%c)", piece[0] ^ 32);
	} else if (r == 6) {
		elog_buf_adds(p, "\\b");
		elog_buf_adds(p, strchr(".(|", piece[0]) ? "\\" : "");
		elog_buf_adds(p, piece);
	} else {
		if (strchr(".(|", piece[0]))
			elog_buf_addc(p, '\\');
		elog_buf_adds(p, piece);
	}
	r = (unsigned)(rnd() % 12);
	if (r == 0)
		elog_buf_addc(p, '?');
	else if (r == 1)
		elog_buf_addc(p, '+');
	else if (r == 2)
		elog_buf_addc(p, '*');
	else if (r == 3)
		elog_buf_adds(p, "{1,2}");
}

static void test_pattern_tokens_sound(void)
{
	size_t matched = 0, with_tokens = 0;

	for (int round = 0; round < 300; round++) {
		size_t np = 3 + rnd() % 12, idx[16];
		struct elog_buf text = ELOG_BUF_INIT;
		struct elog_record r;
		struct elog_block b;
		struct elog_err err;

		for (size_t i = 0; i < np; i++) {
			idx[i] = rnd() % NTP;
			elog_buf_adds(&text, tpieces[idx[i]]);
		}
		struct elog_record rf;
		struct elog_block bf;
		struct elog_buf fields = ELOG_BUF_INIT;

		/* the text as a message, and as a field value (escaped in the JSON text) */
		make_rec(&r, 1, 1, 1, 2, "c", text.data, "", "", "");
		CHECK_INT(elog_block_encode(&r, 1, &b, &err), 0);
		elog_buf_adds(&fields, "{\"n\":1,\"k\":\"");
		for (const char *p = text.data; *p; p++) {
			if (*p == '"' || *p == '\\')
				elog_buf_addf(&fields, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				elog_buf_addf(&fields, "\\u%04x", (unsigned char)*p);
			else
				elog_buf_addc(&fields, *p);
		}
		elog_buf_adds(&fields, "\"}");
		make_rec(&rf, 1, 1, 1, 2, "c", "", fields.data, "", "");
		CHECK_INT(elog_block_encode(&rf, 1, &bf, &err), 0);
		for (int k = 0; k < 40; k++) {
			size_t a = rnd() % np, e = a + 1 + rnd() % (np - a);
			struct elog_buf pat = ELOG_BUF_INIT;
			struct elog_filter f;
			char *t[ELOG_BLOCK_MAX_TOKENS];
			size_t n;

			if (rnd() % 5 == 0)
				elog_buf_adds(&pat, "(?i)");
			if (a == 0 && rnd() % 2)
				elog_buf_addc(&pat, '^');
			for (size_t i = a; i < e; i++)
				add_piece_pattern(&pat, tpieces[idx[i]]);
			if (e == np && rnd() % 2)
				elog_buf_addc(&pat, '$');
			if (rnd() % 6 == 0)
				elog_buf_adds(&pat, "|x y z");
			elog_filter_init(&f);
			if (elog_filter_set_pattern(&f, pat.data, &err) == 0 &&
			    elog_filter_match_text(&f, text.data, "")) {
				matched++;
				n = elog_pattern_tokens(pat.data, t, ELOG_BLOCK_MAX_TOKENS);
				with_tokens += n > 0;
				if (elog_filter_match_text(&f, "", fields.data) &&
				    !elog_block_filter_may_match(bf.filter, bf.filter_len, t, n)) {
					unit_failed_checks++;
					fprintf(stderr, "  pattern '%s' matches fields '%s' but the filter"
						" refuses its tokens\n", pat.data, fields.data);
				}
				if (!elog_block_filter_may_match(b.filter, b.filter_len, t, n)) {
					unit_failed_checks++;
					fprintf(stderr, "  pattern '%s' matches '%s' but the filter refuses"
						" its tokens:", pat.data, text.data);
					for (size_t i = 0; i < n; i++)
						fprintf(stderr, " '%s'", t[i]);
					fprintf(stderr, "\n");
				}
				for (size_t i = 0; i < n; i++)
					free(t[i]);
			}
			elog_filter_clear(&f);
			elog_buf_release(&pat);
		}
		elog_block_free(&b);
		elog_block_free(&bf);
		elog_record_clear(&r);
		elog_record_clear(&rf);
		elog_buf_release(&fields);
		elog_buf_release(&text);
	}
	/* the test means something: many matches, some of them with tokens */
	CHECK(matched > 2000);
	CHECK(with_tokens > 200);
	printf("  %zu matches, %zu with tokens\n", matched, with_tokens);
}

/* A block with more distinct trigrams than the filter keeps: fragments are then not
 * checked (always "maybe"), whole tokens still are. */
static void test_filter_many_trigrams(void)
{
	static struct elog_record recs[ELOG_BLOCK_MAX_RECORDS];
	struct elog_block b;
	struct elog_err err;
	char first[128] = "";

	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++) {
		char msg[128];
		size_t o = 0;

		for (int c = 0; c < 30; c++) {   /* one token of 30 random 2-byte characters */
			unsigned cp = 0x100 + (unsigned)(rnd() % 0x700);

			msg[o++] = (char)(0xC0 | (cp >> 6));
			msg[o++] = (char)(0x80 | (cp & 0x3f));
		}
		msg[o] = 0;
		if (!i)
			memcpy(first, msg, o + 1);
		make_rec(&recs[i], (int64_t)i + 1, 1, 1, 2, "c", msg, "", "", "");
	}
	CHECK_INT(elog_block_encode(recs, ELOG_BLOCK_MAX_RECORDS, &b, &err), 0);
	CHECK(may(&b, first));
	CHECK(may(&b, "*zebra"));   /* not checked */
	CHECK(!may(&b, "zebra"));
	elog_block_free(&b);
	for (size_t i = 0; i < ELOG_BLOCK_MAX_RECORDS; i++)
		elog_record_clear(&recs[i]);
}

UNIT_MAIN(
	{ "round_trip_edges", test_round_trip_edges },
	{ "round_trip_random", test_round_trip_random },
	{ "round_trip_huge", test_round_trip_huge },
	{ "encode_refuses", test_encode_refuses },
	{ "decode_crafted", test_decode_crafted },
	{ "decode_truncated_and_flipped", test_decode_truncated_and_flipped },
	{ "view_reuse", test_view_reuse },
	{ "filter_basics", test_filter_basics },
	{ "filter_no_false_negatives", test_filter_no_false_negatives },
	{ "filter_many_trigrams", test_filter_many_trigrams },
	{ "pattern_tokens", test_pattern_tokens },
	{ "pattern_tokens_sound", test_pattern_tokens_sound }
)
