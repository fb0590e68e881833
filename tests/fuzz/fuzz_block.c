/* libFuzzer target: any bytes as a sealed history block (store/block.c), as the store reads
 * one from its database: elog_block_decode must refuse it (ELOG_EINVAL, the message naming a
 * corrupt history block) or give at most ELOG_BLOCK_MAX_RECORDS records with increasing ids
 * and valid-UTF-8 strings, and the same view must decode the next input too; the bytes as a
 * token filter are checked without a crash. The seeds
 * (corpus/block) are blocks elog_block_encode wrote. Inputs whose header states more than
 * 64 MiB of content are skipped (the decoder accepts up to ~2x ELOG_MAX_RECORD a record, more
 * than libFuzzer's memory limit). */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "store/block.h"
#include "common/util.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static int uv(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned s = 0; s < 64 && *pos < n; s += 7) {
		uint8_t c = p[(*pos)++];

		v |= (uint64_t)(c & 0x7f) << s;
		if (!(c & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct elog_block_view v;
	struct elog_err err;
	size_t pos = 1;
	uint64_t n, id, raw;
	int rc;

	if (size > 0 && !uv(data, size, &pos, &n) && !uv(data, size, &pos, &id) &&
	    !uv(data, size, &pos, &raw) && raw > ((uint64_t)64 << 20))
		return 0;
	{
		/* the same bytes as a block's token filter (also read from the database) */
		char *toks[3] = { "request", "*eque", "5000007" };

		(void)elog_block_filter_may_match(data, size, toks, 3);
	}
	rc = elog_block_decode(&v, data, size, &err);
	CHECK(rc == 0 || rc == ELOG_EINVAL || rc == ELOG_ENOMEM);
	if (rc) {
		CHECK(v.n == 0);
		CHECK(rc != ELOG_EINVAL || strncmp(err.msg, "corrupt history block '", 23) == 0);
		return 0;
	}
	CHECK(v.n >= 1 && v.n <= ELOG_BLOCK_MAX_RECORDS);
	for (size_t i = 0; i < v.n; i++) {
		const struct elog_record *r = &v.recs[i];
		const char *s[5] = { r->component, r->msg, r->fields, r->source, r->dedupe_key };

		CHECK(i == 0 || r->id > v.recs[i - 1].id);
		CHECK(r->level >= 0 && r->level <= 255);
		for (int k = 0; k < 5; k++)
			CHECK(s[k] && elog_utf8_valid(s[k], strlen(s[k])));
	}
	/* a decoded block encodes again, and decodes to the same records */
	{
		struct elog_block b;
		static struct elog_block_view v2;

		CHECK(elog_block_encode(v.recs, v.n, &b, &err) == 0);
		CHECK(elog_block_decode(&v2, b.data, b.data_len, &err) == 0);
		CHECK(v2.n == v.n);
		for (size_t i = 0; i < v.n; i++) {
			const struct elog_record *a = &v.recs[i], *c = &v2.recs[i];

			CHECK(a->id == c->id && a->ts_ns == c->ts_ns && a->arrival_ns == c->arrival_ns &&
			      a->level == c->level && !strcmp(a->component, c->component) &&
			      !strcmp(a->msg, c->msg) && !strcmp(a->fields, c->fields) &&
			      !strcmp(a->source, c->source) && !strcmp(a->dedupe_key, c->dedupe_key));
		}
		elog_block_free(&b);
	}
	return 0;
}
