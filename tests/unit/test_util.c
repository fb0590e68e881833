/* Unit tests for util.c: buffers, UTF-8 repair, RFC3339 formatting, JSON quoting. */
#include "unit.h"
#include "common/util.h"
#include "common/err.h"

static void test_buf(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	elog_buf_adds(&b, "abc");
	elog_buf_addc(&b, 'd');
	elog_buf_addf(&b, "-%d-", 42);
	CHECK_STR(b.data, "abcd-42-");
	CHECK_INT(b.len, 8);
	char big[1000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	elog_buf_addf(&b, "%s", big);
	CHECK_INT(b.len, 8 + 999);
	CHECK_INT(strlen(b.data), b.len);
	elog_buf_reset(&b);
	CHECK_INT(b.len, 0);
	CHECK_STR(b.data, "");
	elog_buf_release(&b);
	CHECK(b.data == NULL);
	char *s = elog_buf_detach(&b);
	CHECK_STR(s, "");
	free(s);
	elog_buf_adds(&b, "hi");
	s = elog_buf_detach(&b);
	CHECK_STR(s, "hi");
	CHECK(b.data == NULL && b.len == 0);
	free(s);
}

static void test_err(void)
{
	struct elog_err e;
	CHECK_INT(elog_err_set(&e, ELOG_EUSAGE, "bad '%s'", "x"), ELOG_EUSAGE);
	CHECK_STR(e.msg, "bad 'x'");
	CHECK_INT(e.code, ELOG_EUSAGE);
	elog_err_clear(&e);
	CHECK_INT(e.code, 0);
	CHECK_STR(e.msg, "");
	CHECK_INT(elog_err_set(NULL, ELOG_EIO, "x"), ELOG_EIO);
}

static void test_utf8(void)
{
	CHECK(elog_utf8_valid("héllo €𝄞", strlen("héllo €𝄞")));
	CHECK(!elog_utf8_valid("a\0b", 3));
	CHECK(!elog_utf8_valid("\xff", 1));
	CHECK(!elog_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
	CHECK(!elog_utf8_valid("\xe0\x80\xaf", 3));     /* overlong */
	CHECK(!elog_utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
	CHECK(!elog_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!elog_utf8_valid("\xe2\x82", 2));         /* truncated */

	struct elog_buf b = ELOG_BUF_INIT;
	CHECK_INT(elog_utf8_append(&b, "a\xffz", 3), 1);
	CHECK_STR(b.data, "a\xEF\xBF\xBDz");
	elog_buf_reset(&b);
	CHECK_INT(elog_utf8_append(&b, "a\0b", 3), 1);
	CHECK_STR(b.data, "a\xEF\xBF\xBD" "b");
	elog_buf_reset(&b);
	CHECK_INT(elog_utf8_append(&b, "\xc0\xaf", 2), 2);
	CHECK_STR(b.data, "\xEF\xBF\xBD\xEF\xBF\xBD");
	elog_buf_reset(&b);
	CHECK_INT(elog_utf8_append(&b, "x\xe2\x82", 3), 2);
	CHECK_STR(b.data, "x\xEF\xBF\xBD\xEF\xBF\xBD");
	elog_buf_reset(&b);
	CHECK_INT(elog_utf8_append(&b, "ok €", strlen("ok €")), 0);
	CHECK_STR(b.data, "ok €");
	elog_buf_release(&b);

	char *d = elog_utf8_dup("\xed\xa0\x80!", 4);
	CHECK_STR(d, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD!");
	free(d);
	d = elog_utf8_dup("plain", 5);
	CHECK_STR(d, "plain");
	free(d);
}

static void test_rfc3339(void)
{
	char out[64];
	CHECK_INT(elog_format_rfc3339(0, out, sizeof(out)), 20);
	CHECK_STR(out, "1970-01-01T00:00:00Z");
	elog_format_rfc3339(1705744800LL * 1000000000LL, out, sizeof(out));
	CHECK_STR(out, "2024-01-20T10:00:00Z");
	elog_format_rfc3339(1705744800LL * 1000000000LL + 123456789, out, sizeof(out));
	CHECK_STR(out, "2024-01-20T10:00:00.123456789Z");
	elog_format_rfc3339(1705744800LL * 1000000000LL + 500000000, out, sizeof(out));
	CHECK_STR(out, "2024-01-20T10:00:00.5Z");
	elog_format_rfc3339(1705744800LL * 1000000000LL + 120000, out, sizeof(out));
	CHECK_STR(out, "2024-01-20T10:00:00.00012Z");
	elog_format_rfc3339(-1, out, sizeof(out));
	CHECK_STR(out, "1969-12-31T23:59:59.999999999Z");
}

static void test_json_quote(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	const char in[] = "a\"b\\c\nd\re\tf\bg\fh\x01i\x1fj€";
	elog_json_quote(&b, in, sizeof(in) - 1);
	CHECK_STR(b.data, "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\\u0001i\\u001fj€\"");
	elog_buf_reset(&b);
	elog_json_quote(&b, "", 0);
	CHECK_STR(b.data, "\"\"");
	elog_buf_reset(&b);
	elog_json_quote(&b, "x\0y", 3);
	CHECK_STR(b.data, "\"x\\u0000y\"");
	elog_buf_release(&b);
}

static void test_clocks(void)
{
	int64_t now = elog_now_ns();
	CHECK(now > 1600000000LL * 1000000000LL);
	int64_t a = elog_mono_ns(), c = elog_mono_ns();
	CHECK(a > 0 && c >= a);
	char *s = xstrndup("abcdef", 3);
	CHECK_STR(s, "abc");
	free(s);
}

UNIT_MAIN({ "buf", test_buf }, { "err", test_err }, { "utf8", test_utf8 },
	  { "rfc3339", test_rfc3339 }, { "json_quote", test_json_quote },
	  { "clocks", test_clocks })
