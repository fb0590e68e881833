/*
 * test_redact_scan.c — the redactor's fast paths (common/redact_scan.c, redact_json.c): the
 * bit-parallel card pre-check wherever a number falls against its 64-byte blocks, and the one
 * scan of a record's message and fields together, which must redact exactly as a scan of each
 * text alone (a redactor with a file rule scans them apart) and leave a record where nothing
 * fired untouched, byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/redact.h"
#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "unit.h"

static struct elog_redactor *rd_new(int with_file_rule)
{
	struct elog_redactor *rd = elog_redactor_new();
	struct elog_err err;

	if (with_file_rule && elog_redactor_add(rd, "acct", "\\bacct-[0-9]{6}\\b", NULL, &err) != 0)
		fprintf(stderr, "add: %s\n", err.msg);
	if (elog_redactor_compile(rd, &err) != 0)
		fprintf(stderr, "compile: %s\n", err.msg);
	return rd;
}

/* A card number (grouped or not) at every offset of a line, across the 64-byte blocks; a run
 * of 12 digits (too short) and a 13-digit run broken by two separators never reach PCRE2's
 * card rule at all, so they stay. */
static void test_card_offsets(void)
{
	struct elog_redactor *rd = rd_new(0);
	static const char *const cards[] = { "4111111111111111", "4111 1111 1111 1111",
					     "5555-5555-5555-4444" };
	char line[400], want[400];
	size_t off, c;

	for (c = 0; c < sizeof(cards) / sizeof(cards[0]); c++) {
		for (off = 0; off < 200; off++) {
			uint64_t fired = 0;
			char *r;

			memset(line, 'x', off);
			line[off] = '\0';
			if (off)
				line[off - 1] = ' ';
			snprintf(line + off, sizeof(line) - off, "%s end", cards[c]);
			snprintf(want, sizeof(want), "%.*s[REDACTED:card-number] end", (int)off, line);
			r = elog_redact_text(rd, NULL, NULL, line, strlen(line), &fired);
			CHECK(r != NULL);
			if (r)
				CHECK_STR(r, want);
			free(r);
		}
	}
	for (off = 0; off < 200; off++) {
		uint64_t fired = 0;
		char *r;

		memset(line, 'y', off);
		if (off)
			line[off - 1] = ' ';
		snprintf(line + off, sizeof(line) - off, "411111111111 and 4111  1111 1111 1 end");
		r = elog_redact_text(rd, NULL, NULL, line, strlen(line), &fired);
		CHECK(r == NULL);
		CHECK_INT(fired, 0);
		free(r);
	}
	elog_redactor_free(rd);
}

/* msg and fields through both redactors: the same record must come out, and what it is */
static void both(struct elog_redactor *a, struct elog_redactor *b, const char *msg,
		 const char *fields, const char *want_msg, const char *want_fields)
{
	struct elog_redacted o1, o2;
	char *m1, *f1, *m2, *f2;
	struct elog_record r;

	elog_record_init(&r);
	elog_record_set(&r.component, "c", 1);
	elog_record_set(&r.msg, msg, strlen(msg));
	elog_record_set(&r.fields, fields, strlen(fields));
	elog_redact_record_new(a, NULL, &r, &o1);
	elog_redact_record_new(b, NULL, &r, &o2);
	m1 = o1.msg;
	f1 = o1.fields;
	m2 = o2.msg;
	f2 = o2.fields;
	CHECK(!o1.component && !o1.source && !o2.component && !o2.source);
	CHECK_STR(m1 ? m1 : r.msg, want_msg);
	CHECK_STR(f1 ? f1 : r.fields, want_fields);
	CHECK_STR(m2 ? m2 : r.msg, want_msg);
	CHECK_STR(f2 ? f2 : r.fields, want_fields);
	/* unchanged: no copy */
	if (strcmp(msg, want_msg) == 0)
		CHECK(m1 == NULL);
	if (strcmp(fields, want_fields) == 0)
		CHECK(f1 == NULL);
	free(m1);
	free(f1);
	free(m2);
	free(f2);
	elog_record_clear(&r);
}

static void test_joint_scan(void)
{
	struct elog_redactor *a = rd_new(0), *b = rd_new(1);

	/* nothing: the record stays as it is, spacing and all */
	both(a, b, "GET /login 200 13405", "{ \"user\" : \"x\",\"seq\":4111 }",
	     "GET /login 200 13405", "{ \"user\" : \"x\",\"seq\":4111 }");
	/* a secret in the message only: the fields keep their bytes, plus "redacted" */
	both(a, b, "called with Bearer abcdef123456789", "{ \"user\" : \"x\" }",
	     "called with Bearer [REDACTED:bearer]", "{ \"user\" : \"x\" ,\"redacted\":[\"bearer\"]}");
	/* a secret in the fields only */
	both(a, b, "login ok", "{\"auth\":{\"password\":\"hunter2\"}}",
	     "login ok", "{\"auth\":{\"password\":\"[REDACTED:secret-kv]\"},\"redacted\":[\"secret-kv\"]}");
	/* in each; a card number in the fields and a 13-digit run in the message's date */
	both(a, b, "2026-12-03 15:58:39 token=abc123", "{\"n\":4111111111111111}",
	     "2026-12-03 15:58:39 token=[REDACTED:secret-kv]",
	     "{\"n\":\"[REDACTED:card-number]\",\"redacted\":[\"secret-kv\",\"card-number\"]}");
	/* a match across the joint (message end, fields start) is no match */
	both(a, b, "see https://user:", "{\"a\":\"@host\"}", "see https://user:", "{\"a\":\"@host\"}");
	/* escapes in the fields are looked at decoded */
	both(a, b, "fine", "{\"pass\\u0077ord\":\"x\"}", "fine",
	     "{\"password\":\"[REDACTED:secret-kv]\",\"redacted\":[\"secret-kv\"]}");
	/* the file rule: only the redactor that has it */
	{
		struct elog_redacted o;
		char *m, *f;
		struct elog_record r;

		elog_record_init(&r);
		elog_record_set(&r.msg, "for acct-123456 now", 19);
		elog_record_set(&r.fields, "{\"k\":1}", 7);
		elog_redact_record_new(b, NULL, &r, &o);
		m = o.msg;
		f = o.fields;
		CHECK_STR(m ? m : "", "for [REDACTED:acct] now");
		CHECK_STR(f ? f : "", "{\"k\":1,\"redacted\":[\"acct\"]}");
		free(m);
		free(f);
		elog_record_clear(&r);
	}
	elog_redactor_free(a);
	elog_redactor_free(b);
}

UNIT_MAIN(
	{ "card_offsets", test_card_offsets },
	{ "joint_scan", test_joint_scan }
)
