/* libFuzzer target: any text through the redaction of a record (common/redact.h), with the
 * default rules plus the personal-data ones: the first byte picks where the rest goes (the
 * message of a stream, or the fields); the record must keep check.h's invariants (valid
 * UTF-8, fields "" or a JSON object), whatever matched. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include "common/redact.h"
#include "common/err.h"
#include "check.h"

static struct elog_redactor *rd;
static struct elog_redact_streams *st;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elog_record r;
	char *s;

	if (!rd) {
		struct elog_err err;

		rd = elog_redactor_new();
		elog_redactor_set(rd, "email,ipv4,ipv6,phone", 1, &err);
		if (elog_redactor_compile(rd, &err) != 0)
			__builtin_trap();
		st = elog_redact_streams_new();
	}
	if (size == 0)
		return 0;
	elog_record_init(&r);
	elog_record_set(&r.component, (data[0] & 1) ? "a" : "b", 1);
	s = elog_utf8_dup((const char *)data + 1, size - 1);
	if (data[0] & 2) {
		/* as fields: only a JSON object is a record's fields */
		char errbuf[16];
		yajl_val v = yajl_tree_parse(s, errbuf, sizeof(errbuf));

		if (v && YAJL_IS_OBJECT(v))
			elog_record_take(&r.fields, s);
		else
			elog_record_take(&r.msg, s);
		yajl_tree_free(v);
	} else {
		elog_record_take(&r.msg, s);
	}
	elog_redact_record(rd, st, &r);
	check_record(&r, 1);
	elog_record_clear(&r);
	return 0;
}
