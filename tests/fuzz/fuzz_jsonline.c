/* libFuzzer target: any bytes as a log line -> record; the record must hold valid UTF-8, its
 * fields nest no deeper than ELOG_JSON_MAX_DEPTH, and its JSON export must parse back. The
 * bytes as JSON through elog_json_tree_parse: a tree no deeper than the bound, whose compact
 * form parses back. The bytes as a google.protobuf.Struct (JSON in protobuf form): the nesting
 * scan of elog_pb_too_deep reads them safely, and what it lets through unpacks. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>
#include "common/json.h"
#include "common/jsonline.h"
#include "view/display.h"
#include "common/util.h"
#include "google/protobuf/struct.pb-c.h"

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
	if (elog_json_too_deep(r.fields, strlen(r.fields), ELOG_JSON_MAX_DEPTH))
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

	elog_buf_add(&b, data, size);   /* NUL-terminated (a NUL inside ends the text) */
	v = elog_json_tree_parse(b.data ? b.data : "");
	if (v) {
		struct elog_buf c = ELOG_BUF_INIT;
		yajl_val w;

		elog_json_tree_compact(&c, v);
		yajl_tree_free(v);
		if (elog_json_too_deep(c.data, c.len, ELOG_JSON_MAX_DEPTH))
			__builtin_trap();
		w = yajl_tree_parse(c.data, errbuf, sizeof(errbuf));
		if (!w)
			__builtin_trap();
		yajl_tree_free(w);
		elog_buf_release(&c);
	}
	elog_buf_release(&b);

	if (!elog_pb_too_deep(&google__protobuf__struct__descriptor, data, size, ELOG_PB_MAX_DEPTH)) {
		ProtobufCMessage *m = protobuf_c_message_unpack(&google__protobuf__struct__descriptor,
							      NULL, size, data);

		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
	}
	return 0;
}
