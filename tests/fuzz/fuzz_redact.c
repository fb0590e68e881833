/* libFuzzer target: any text through the redaction of a record (common/redact.h), with the
 * default rules plus the personal-data ones: the first byte picks where the rest goes (the
 * message of a stream, the fields, or both: split at the first newline); the record must keep
 * check.h's invariants (valid UTF-8, fields "" or a JSON object), whatever matched. And the
 * one scan of a record's message and fields together (built-in rules only) must redact
 * exactly as the scans of each text alone: a second redactor, the same rules plus a file rule
 * that matches nothing (which turns the joint scan off), must give the same record. */
#include <stdint.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "common/redact.h"
#include "common/err.h"
#include "check.h"

static struct elog_redactor *rd, *rd2;
static struct elog_redact_streams *st, *st2;

static struct elog_redactor *redactor(int with_file_rule)
{
	struct elog_redactor *r = elog_redactor_new();
	struct elog_err err;

	elog_redactor_set(r, "email,ipv4,ipv6,phone", 1, &err);
	if (with_file_rule && elog_redactor_add(r, "never", "\\x00never", NULL, &err) != 0)
		__builtin_trap();
	if (elog_redactor_compile(r, &err) != 0)
		__builtin_trap();
	return r;
}

/* s as the record's fields when it is a JSON object, else 0 */
static int take_fields(struct elog_record *r, char *s)
{
	char errbuf[16];
	yajl_val v = yajl_tree_parse(s, errbuf, sizeof(errbuf));
	int ok = v && YAJL_IS_OBJECT(v);

	yajl_tree_free(v);
	if (ok)
		elog_record_take(&r->fields, s);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elog_record r, r2;
	char *s, *nl;

	if (!rd) {
		rd = redactor(0);
		rd2 = redactor(1);
		st = elog_redact_streams_new();
		st2 = elog_redact_streams_new();
	}
	if (size == 0)
		return 0;
	elog_record_init(&r);
	elog_record_set(&r.component, (data[0] & 1) ? "a" : "b", 1);
	s = elog_utf8_dup((const char *)data + 1, size - 1);
	if ((data[0] & 4) && (nl = strchr(s, '\n')) != NULL) {
		/* both: the message before the first newline, the fields after it */
		char *f = xstrdup(nl + 1);

		*nl = '\0';
		elog_record_take(&r.msg, s);
		if (!take_fields(&r, f))
			free(f);
	} else if (data[0] & 2) {
		/* as fields: only a JSON object is a record's fields */
		if (!take_fields(&r, s))
			elog_record_take(&r.msg, s);
	} else {
		elog_record_take(&r.msg, s);
	}
	elog_record_init(&r2);
	elog_record_set(&r2.component, r.component, strlen(r.component));
	elog_record_set(&r2.msg, r.msg, strlen(r.msg));
	elog_record_set(&r2.fields, r.fields, strlen(r.fields));
	elog_redact_record(rd, st, &r);
	elog_redact_record(rd2, st2, &r2);
	check_record(&r, 1);
	if (strcmp(r.msg, r2.msg) != 0 || strcmp(r.fields, r2.fields) != 0)
		__builtin_trap();
	elog_record_clear(&r);
	elog_record_clear(&r2);
	return 0;
}
