/* libFuzzer target: any bytes as a log line -> record; the record must hold valid UTF-8 and
 * its JSON export must parse back. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>
#include "jsonline.h"
#include "display.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elog_record r;
	struct elog_display_opts o = { ELOG_FMT_JSON, 0, 0, 0, 0 };
	struct elog_display *d;
	struct elog_buf b = ELOG_BUF_INIT;
	char errbuf[128];
	yajl_val v;

	elog_record_init(&r);
	elog_jsonline_parse((const char *)data, size, &r);
	if (!elog_utf8_valid(r.msg, strlen(r.msg)) || !elog_utf8_valid(r.component, strlen(r.component)) ||
	    !elog_utf8_valid(r.fields, strlen(r.fields)))
		__builtin_trap();
	r.id = 1;
	d = elog_display_new(&o);
	elog_display_record(d, &r, &b);
	v = yajl_tree_parse(b.data, errbuf, sizeof(errbuf));
	if (!v)
		__builtin_trap();
	yajl_tree_free(v);
	o.format = ELOG_FMT_TEXT;
	elog_display_free(d);
	d = elog_display_new(&o);
	elog_display_record(d, &r, &b);
	elog_display_free(d);
	elog_buf_release(&b);
	elog_record_clear(&r);
	return 0;
}
