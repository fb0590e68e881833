/*
 * test_json.c — bounded JSON nesting (json.c) and where it is used: a line that nests
 * deeper than ELOG_JSON_MAX_DEPTH is stored with its deep value as a string of its text
 * (jsonline), fields stored deep before that are displayed the same way (display), and
 * elog_keys_last_wins (util.c).
 */
#include "unit.h"

#include <yajl/yajl_tree.h>

#include "view/display.h"
#include "common/json.h"
#include "common/jsonline.h"
#include "common/record.h"
#include "common/util.h"
#include "google/protobuf/struct.pb-c.h"

/* {"msg":"d","a": + depth x '[' + depth x ']' + } */
static char *deep_line(int depth)
{
	struct elog_buf b = ELOG_BUF_INIT;
	int i;

	elog_buf_adds(&b, "{\"msg\":\"d\",\"a\":");
	for (i = 0; i < depth; i++)
		elog_buf_addc(&b, '[');
	for (i = 0; i < depth; i++)
		elog_buf_addc(&b, ']');
	elog_buf_addc(&b, '}');
	return elog_buf_detach(&b);
}

static void test_too_deep(void)
{
	CHECK(!elog_json_too_deep("{}", 2, 1));
	CHECK(elog_json_too_deep("{\"a\":[]}", 8, 1));
	CHECK(!elog_json_too_deep("{\"a\":[]}", 8, 2));
	/* brackets inside strings, escaped quotes, do not count */
	const char *s = "{\"a\":\"[[[\\\"[[[\"}";
	CHECK(!elog_json_too_deep(s, strlen(s), 1));
	char *d = deep_line(10000);
	CHECK(elog_json_too_deep(d, strlen(d), ELOG_JSON_MAX_DEPTH));
	free(d);
}

static void test_bound(void)
{
	struct elog_buf b = ELOG_BUF_INIT;
	const char *s = "{\"a\":[1,{\"b\":[2]}],\"c\":\"x[\"}";

	CHECK_INT(elog_json_bound(s, strlen(s), 2, &b), 1);
	CHECK_STR(b.data, "{\"a\":[1,\"{\\\"b\\\":[2]}\"],\"c\":\"x[\"}");
	elog_buf_reset(&b);
	CHECK_INT(elog_json_bound(s, strlen(s), 3, &b), 1);
	CHECK_STR(b.data, "{\"a\":[1,{\"b\":\"[2]\"}],\"c\":\"x[\"}");
	elog_buf_reset(&b);
	CHECK_INT(elog_json_bound(s, strlen(s), 4, &b), 0);
	CHECK_STR(b.data, s);
	/* unclosed: copied as it is */
	elog_buf_reset(&b);
	CHECK_INT(elog_json_bound("{\"a\":[[", 7, 1, &b), 0);
	CHECK_STR(b.data, "{\"a\":[[");
	/* invalid UTF-8 in a deep value is repaired in its string */
	elog_buf_reset(&b);
	CHECK_INT(elog_json_bound("{\"a\":[\"\xff\"]}", 11, 1, &b), 1);
	CHECK_STR(b.data, "{\"a\":\"[\\\"\xef\xbf\xbd\\\"]\"}");
	elog_buf_release(&b);
}

static int tree_depth(yajl_val v)
{
	int d = 0;

	while (v && (YAJL_IS_OBJECT(v) || YAJL_IS_ARRAY(v))) {
		d++;
		if (YAJL_IS_OBJECT(v))
			v = v->u.object.len ? v->u.object.values[v->u.object.len - 1] : NULL;
		else
			v = v->u.array.len ? v->u.array.values[0] : NULL;
	}
	return d;
}

static void test_tree_parse(void)
{
	char *d = deep_line(10000);
	yajl_val v = elog_json_tree_parse(d);
	struct elog_buf b = ELOG_BUF_INIT;

	CHECK(v && YAJL_IS_OBJECT(v));
	CHECK_INT(tree_depth(v), ELOG_JSON_MAX_DEPTH);
	elog_json_tree_compact(&b, v);
	CHECK(!elog_json_too_deep(b.data, b.len, ELOG_JSON_MAX_DEPTH));
	CHECK(strstr(b.data, "\"[[[[") != NULL);   /* the deep part kept, as text */
	yajl_tree_free(v);
	/* a shallow one is parsed as it is, and compacts back */
	v = elog_json_tree_parse("{ \"a\" : [1, {\"b\":null}], \"c\":true }");
	elog_buf_reset(&b);
	elog_json_tree_compact(&b, v);
	CHECK_STR(b.data, "{\"a\":[1,{\"b\":null}],\"c\":true}");
	yajl_tree_free(v);
	CHECK(elog_json_tree_parse("{\"a\":[[") == NULL);
	elog_buf_release(&b);
	free(d);
}

/* The iterative encoder takes a tree of any depth (built here by hand). */
static void test_compact_deep_tree(void)
{
	enum { N = 200000 };
	struct yajl_val_s *nodes = calloc(N, sizeof(*nodes));
	yajl_val *slots = calloc(N, sizeof(*slots));
	struct elog_buf b = ELOG_BUF_INIT;
	int i;

	for (i = 0; i < N; i++) {
		nodes[i].type = yajl_t_array;
		if (i + 1 < N) {
			slots[i] = &nodes[i + 1];
			nodes[i].u.array.values = &slots[i];
			nodes[i].u.array.len = 1;
		}
	}
	elog_json_tree_compact(&b, &nodes[0]);
	CHECK_INT(b.len, 2 * N);
	CHECK(b.data[0] == '[' && b.data[N] == ']');
	elog_buf_release(&b);
	free(nodes);
	free(slots);
}

/* Ingest: a line deeper than the bound is stored, its deep value as a string of its text. */
static void test_jsonline_deep(void)
{
	struct elog_record r;
	char *d = deep_line(10000);
	int f;

	elog_record_init(&r);
	f = elog_jsonline_parse(d, strlen(d), &r);
	CHECK(f & ELOG_JL_JSON);
	CHECK_STR(r.msg, "d");
	CHECK(!elog_json_too_deep(r.fields, strlen(r.fields), ELOG_JSON_MAX_DEPTH));
	/* nothing dropped: the 10,000 brackets are all in the text */
	{
		size_t i, open = 0, close = 0;

		for (i = 0; r.fields[i]; i++) {
			open += r.fields[i] == '[';
			close += r.fields[i] == ']';
		}
		CHECK_INT(open, 10000);
		CHECK_INT(close, 10000);
	}
	elog_record_clear(&r);
	/* exactly at the bound: kept as JSON */
	free(d);
	d = deep_line(ELOG_JSON_MAX_DEPTH - 1);
	f = elog_jsonline_parse(d, strlen(d), &r);
	CHECK(f & ELOG_JL_JSON);
	CHECK(strstr(r.fields, "\"a\":[[") != NULL);
	elog_record_clear(&r);
	/* broken deep JSON stays text */
	d[strlen(d) - 2] = '}';
	f = elog_jsonline_parse(d, strlen(d), &r);
	CHECK(!(f & ELOG_JL_JSON));
	CHECK_STR(r.msg, d);
	elog_record_clear(&r);
	free(d);
}

/* Display: fields stored deep (before ingest bounded them) are shown bounded, not as _raw. */
static void test_display_deep(void)
{
	struct elog_display_opts o = { 0 };
	struct elog_display *dj, *dt;
	struct elog_record r;
	struct elog_buf out = ELOG_BUF_INIT;
	char *d = deep_line(10000);
	yajl_val v;

	o.format = ELOG_FMT_JSON;
	dj = elog_display_new(&o);
	o.format = ELOG_FMT_TEXT;
	dt = elog_display_new(&o);
	elog_record_init(&r);
	elog_record_set(&r.component, "c", 1);
	elog_record_set(&r.msg, "m", 1);
	d[10] = '{';
	elog_record_set(&r.fields, d + 10, strlen(d + 10));   /* {"a":[[...]]}, unbounded */
	elog_display_record(dj, &r, &out);
	CHECK(strstr(out.data, "\"_raw\"") == NULL);
	CHECK(strstr(out.data, "\"fields\":{\"a\":[[") != NULL);
	v = yajl_tree_parse(out.data, NULL, 0);
	CHECK(v != NULL);
	yajl_tree_free(v);
	elog_buf_reset(&out);
	elog_display_record(dt, &r, &out);
	CHECK(strstr(out.data, " a=[[") != NULL);
	elog_buf_release(&out);
	elog_record_clear(&r);
	elog_display_free(dj);
	elog_display_free(dt);
	free(d);
}

static void test_keys_last_wins(void)
{
	const char *keys[] = { "b", "a", NULL, "b", "c", "a", "b" };
	size_t keep[7];
	size_t n = elog_keys_last_wins(keys, 7, keep);

	CHECK_INT(n, 3);
	CHECK_INT(keep[0], 4);   /* c */
	CHECK_INT(keep[1], 5);   /* a */
	CHECK_INT(keep[2], 6);   /* b */
	CHECK_INT(elog_keys_last_wins(keys, 0, keep), 0);
}

/* Prepends field's tag and length to b[0..*n) (built back to front in a buffer of cap). */
static void wrap(uint8_t *b, size_t cap, size_t *start, int field)
{
	size_t len = cap - *start;
	uint8_t v[16];
	size_t k = 0, i;

	v[k++] = (uint8_t)(field << 3 | 2);
	do {
		v[k] = (uint8_t)(len & 0x7f);
		len >>= 7;
		if (len)
			v[k] |= 0x80;
		k++;
	} while (len);
	for (i = k; i > 0; i--)
		b[--*start] = v[i - 1];
}

/* A google.protobuf.Struct {"a":{"a":...}} depth levels deep, encoded at b + *start. */
static void deep_struct(uint8_t *b, size_t cap, size_t *start, int depth)
{
	int i;

	*start = cap;
	for (i = 0; i < depth; i++) {
		wrap(b, cap, start, 5);          /* Value.struct_value */
		wrap(b, cap, start, 2);          /* FieldsEntry.value */
		b[--*start] = 'a';
		b[--*start] = 1;
		b[--*start] = (uint8_t)(1 << 3 | 2);   /* FieldsEntry.key "a" */
		wrap(b, cap, start, 1);          /* Struct.fields */
	}
}

static void test_pb_too_deep(void)
{
	size_t cap = 1 << 20, start;
	uint8_t *b = malloc(cap);
	ProtobufCMessage *m;

	deep_struct(b, cap, &start, 64);
	CHECK(!elog_pb_too_deep(&google__protobuf__struct__descriptor, b + start, cap - start,
				ELOG_PB_MAX_DEPTH));
	m = protobuf_c_message_unpack(&google__protobuf__struct__descriptor, NULL, cap - start,
				      b + start);
	CHECK(m != NULL);
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	/* 3 messages a level and the innermost empty Struct: 66 levels are 199, 67 are 202 */
	deep_struct(b, cap, &start, 66);
	CHECK(!elog_pb_too_deep(&google__protobuf__struct__descriptor, b + start, cap - start,
				ELOG_PB_MAX_DEPTH));
	deep_struct(b, cap, &start, 67);
	CHECK(elog_pb_too_deep(&google__protobuf__struct__descriptor, b + start, cap - start,
			       ELOG_PB_MAX_DEPTH));
	deep_struct(b, cap, &start, 20000);
	CHECK(elog_pb_too_deep(&google__protobuf__struct__descriptor, b + start, cap - start,
			       ELOG_PB_MAX_DEPTH));
	/* cut off or garbage: left to protobuf-c */
	CHECK(!elog_pb_too_deep(&google__protobuf__struct__descriptor, b + start, 3,
				ELOG_PB_MAX_DEPTH));
	CHECK(!elog_pb_too_deep(&google__protobuf__struct__descriptor, "\xff\xff", 2,
				ELOG_PB_MAX_DEPTH));
	CHECK(!elog_pb_too_deep(&google__protobuf__struct__descriptor, "", 0, ELOG_PB_MAX_DEPTH));
	free(b);
}

UNIT_MAIN(
	{ "pb_too_deep", test_pb_too_deep },
	{ "too_deep", test_too_deep },
	{ "bound", test_bound },
	{ "tree_parse", test_tree_parse },
	{ "compact_deep_tree", test_compact_deep_tree },
	{ "jsonline_deep", test_jsonline_deep },
	{ "display_deep", test_display_deep },
	{ "keys_last_wins", test_keys_last_wins }
)
