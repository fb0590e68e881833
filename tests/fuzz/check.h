/*
 * check.h — the invariants every contract's decoding must keep, whatever the bytes (shared by
 * the fuzz_native, fuzz_flowctl, fuzz_relay and fuzz_logsvc targets). A broken invariant
 * traps, so libFuzzer keeps the input.
 */
#ifndef ELOG_FUZZ_CHECK_H
#define ELOG_FUZZ_CHECK_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>
#include "common/record.h"
#include "view/display.h"
#include "common/util.h"

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

/* s is a valid-UTF-8 string (not NULL). */
static inline void check_str(const char *s)
{
	CHECK(s != NULL);
	CHECK(elog_utf8_valid(s, strlen(s)));
}

/* s is "" or one JSON object yajl parses. */
static inline void check_object_or_empty(const char *s)
{
	char errbuf[128];
	yajl_val v;

	if (!*s)
		return;
	v = yajl_tree_parse(s, errbuf, sizeof(errbuf));
	CHECK(v != NULL);
	CHECK(YAJL_IS_OBJECT(v));
	yajl_tree_free(v);
}

/* The record invariants (fields_object: fields must be "" or a JSON object), then the JSON
 * export of r must parse and the text rendering must not fail. */
static inline void check_record(const struct elog_record *r, int fields_object)
{
	struct elog_display_opts o = { ELOG_FMT_JSON, 0, 0, 0, 0 };
	struct elog_buf b = ELOG_BUF_INIT;
	struct elog_display *d;
	struct elog_record c = *r;
	char errbuf[128];
	yajl_val v;

	check_str(r->component);
	check_str(r->msg);
	check_str(r->fields);
	check_str(r->source);
	check_str(r->dedupe_key);
	CHECK(r->level >= 0 && r->level < ELOG_LEVEL_COUNT);
	CHECK(r->ts_ns >= 0);
	CHECK(strlen(r->msg) <= ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	if (fields_object)
		check_object_or_empty(r->fields);
	c.id = 1;
	d = elog_display_new(&o);
	elog_display_record(d, &c, &b);
	elog_display_free(d);
	v = yajl_tree_parse(b.data, errbuf, sizeof(errbuf));
	CHECK(v != NULL);
	yajl_tree_free(v);
	elog_buf_reset(&b);
	o.format = ELOG_FMT_TEXT;
	d = elog_display_new(&o);
	elog_display_record(d, &c, &b);
	elog_display_free(d);
	elog_buf_release(&b);
}

#endif
