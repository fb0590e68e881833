/*
 * test_displaylines.c — records of several lines in the text view: continuation lines keep
 * the prefix column (so `elog logs | grep api` keeps them) and sit under the message; a field
 * holding newlines (a stack) is shown the same way, not escaped on one line.
 */
#include "unit.h"

#include "view/display.h"
#include "common/record.h"
#include "common/util.h"

static const char *show(struct elog_display *d, const char *comp, int level, const char *msg,
			const char *fields)
{
	static char copy[4096];
	struct elog_buf out = ELOG_BUF_INIT;
	struct elog_record r;

	elog_record_init(&r);
	elog_record_set(&r.component, comp, strlen(comp));
	elog_record_set(&r.msg, msg, strlen(msg));
	elog_record_set(&r.fields, fields, strlen(fields));
	r.level = level;
	elog_display_record(d, &r, &out);
	snprintf(copy, sizeof(copy), "%s", out.data ? out.data : "");
	elog_buf_release(&out);
	elog_record_clear(&r);
	return copy;
}

static void test_message_lines(void)
{
	struct elog_display_opts o = { 0 };
	struct elog_display *d = elog_display_new(&o);

	CHECK_STR(show(d, "api", ELOG_LEVEL_ERROR, "boom\n\tat a.B(B.java:1)\nCaused by: x", "{\"k\":1}"),
		  "api | ERROR boom k=1\n"
		  "api |       \tat a.B(B.java:1)\n"
		  "api |       Caused by: x\n");
	/* a control byte in a continuation line is still escaped */
	CHECK_STR(show(d, "api", ELOG_LEVEL_INFO, "a\nb\033c", ""),
		  "api | INFO  a\napi |       b\\x1bc\n");
	elog_display_free(d);

	o.no_prefix = 1;
	o.timestamps = 1;
	o.utc = 1;
	d = elog_display_new(&o);
	CHECK_STR(show(d, "api", ELOG_LEVEL_INFO, "a\nb", ""),
		  "                         INFO  a\n"
		  "                               b\n");
	elog_display_free(d);
}

static void test_field_lines(void)
{
	struct elog_display_opts o = { 0 };
	struct elog_display *d = elog_display_new(&o);

	CHECK_STR(show(d, "web", ELOG_LEVEL_ERROR, "request failed",
		       "{\"user\":7,\"stack\":\"TypeError: x\\n    at f (/a.js:1:2)\",\"path\":\"/p\"}"),
		  "web | ERROR request failed user=7 path=/p\n"
		  "web |       stack=TypeError: x\n"
		  "web |             at f (/a.js:1:2)\n");
	/* an escaped backslash before an n is not a newline: inline */
	CHECK_STR(show(d, "web", ELOG_LEVEL_INFO, "m", "{\"p\":\"C:\\\\new\"}"),
		  "web | INFO  m p=C:\\new\n");
	elog_display_free(d);
}

UNIT_MAIN(
	{ "message_lines", test_message_lines },
	{ "field_lines", test_field_lines }
)
