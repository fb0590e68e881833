/* libFuzzer target: the block filter never loses a match. The input is a pattern, a NUL, and
 * a text (made valid UTF-8). When the pattern compiles as a filter's pattern (PCRE2, as
 * `logs --grep` gives it) and matches the text, the filter of a block holding a record with
 * that text as its message, and again as a field value, must pass the tokens
 * elog_pattern_tokens gives for the pattern: a refusal would hide a matching record. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include "store/block.h"
#include "common/err.h"
#include "common/filter.h"
#include "common/util.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	char *pattern, *text, *toks[ELOG_BLOCK_MAX_TOKENS];
	struct elog_filter f;
	struct elog_err err;
	size_t n;

	if (!nul || (size_t)(nul - data) > ELOG_FILTER_MAX_PATTERN)
		return 0;
	pattern = xstrndup((const char *)data, (size_t)(nul - data));
	text = elog_utf8_dup((const char *)nul + 1, size - (size_t)(nul - data) - 1);
	n = elog_pattern_tokens(pattern, toks, ELOG_BLOCK_MAX_TOKENS);
	CHECK(n <= ELOG_BLOCK_MAX_TOKENS);
	for (size_t i = 0; i < n; i++)
		CHECK(toks[i] && toks[i][0]);
	elog_filter_init(&f);
	if (elog_filter_set_pattern(&f, pattern, &err) == 0 && elog_filter_match_text(&f, text, "")) {
		struct elog_record r;
		struct elog_block b;
		struct elog_buf fields = ELOG_BUF_INIT;

		elog_record_init(&r);
		r.id = 1;
		elog_record_set(&r.msg, text, strlen(text));
		CHECK(elog_block_encode(&r, 1, &b, &err) == 0);
		CHECK(elog_block_filter_may_match(b.filter, b.filter_len, toks, n));
		elog_block_free(&b);
		/* the text as a field value: {"k":"<text, JSON-escaped>"} */
		elog_buf_adds(&fields, "{\"k\":\"");
		for (const char *p = text; *p; p++) {
			if (*p == '"' || *p == '\\')
				elog_buf_addf(&fields, "\\%c", *p);
			else if ((unsigned char)*p < 0x20)
				elog_buf_addf(&fields, "\\u%04x", (unsigned char)*p);
			else
				elog_buf_addc(&fields, *p);
		}
		elog_buf_adds(&fields, "\"}");
		elog_record_set(&r.msg, "", 0);
		elog_record_set(&r.fields, fields.data, fields.len);
		/* without a backslash the encoder reads the fields text as it is (block.c): only an
		 * escaped text takes the decoding path worth checking here */
		if (memchr(fields.data, '\\', fields.len) && elog_filter_match_text(&f, "", r.fields)) {
			CHECK(elog_block_encode(&r, 1, &b, &err) == 0);
			CHECK(elog_block_filter_may_match(b.filter, b.filter_len, toks, n));
			elog_block_free(&b);
		}
		elog_buf_release(&fields);
		elog_record_clear(&r);
	}
	elog_filter_clear(&f);
	for (size_t i = 0; i < n; i++)
		free(toks[i]);
	free(pattern);
	free(text);
	return 0;
}
