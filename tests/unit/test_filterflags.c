/* test_filterflags.c — issue #16 (5): patterns over field values, exclusions, smart case, the
 * old-server sentinel, and the display's highlight, field selection, raw, logfmt and
 * json-pretty outputs. */
#include "view/display.h"
#include "common/err.h"
#include "common/filter.h"
#include "common/record.h"
#include "unit.h"

static struct elog_record rec(const char *comp, const char *msg, const char *fields)
{
	struct elog_record r;

	memset(&r, 0, sizeof(r));
	r.id = 7;
	r.ts_ns = 1705744800000000000LL;   /* 2024-01-20T10:00:00Z */
	r.level = ELOG_LEVEL_INFO;
	r.component = (char *)comp;
	r.msg = (char *)msg;
	r.fields = (char *)fields;
	r.source = (char *)"send";
	r.dedupe_key = (char *)"";
	return r;
}

static void test_pattern_on_field_values(void)
{
	struct elog_filter f;
	struct elog_record r = rec("api", "request done", "{\"trace_id\":\"abc0151\",\"n\":42}");

	elog_filter_init(&f);
	CHECK(elog_filter_set_pattern(&f, "abc0151", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	CHECK(elog_filter_set_pattern(&f, "^abc\\d+$", NULL) == 0);   /* the value as shown */
	CHECK(elog_filter_match(&f, &r));
	CHECK(elog_filter_set_pattern(&f, "^42$", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	CHECK(elog_filter_set_pattern(&f, "trace_id", NULL) == 0);     /* keys are not values */
	CHECK(!elog_filter_match(&f, &r));
	/* fields that are not an object: the text itself */
	r.fields = (char *)"not json abc0151";
	CHECK(elog_filter_set_pattern(&f, "abc0151", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

static void test_field_value_cap(void)
{
	struct elog_filter f;
	char fields[4096];
	size_t n = 0;
	struct elog_record r;

	n += (size_t)snprintf(fields + n, sizeof(fields) - n, "{");
	for (int i = 0; i < ELOG_FILTER_MAX_FIELD_VALUES + 1; i++)
		n += (size_t)snprintf(fields + n, sizeof(fields) - n, "%s\"k%d\":\"v%d\"",
				      i ? "," : "", i, i);
	snprintf(fields + n, sizeof(fields) - n, "}");
	r = rec("api", "m", fields);
	elog_filter_init(&f);
	CHECK(elog_filter_set_pattern(&f, "^v63$", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	CHECK(elog_filter_set_pattern(&f, "^v64$", NULL) == 0);   /* the 65th: not searched */
	CHECK(!elog_filter_match(&f, &r));
	elog_filter_clear(&f);
}

static void test_exclude(void)
{
	struct elog_filter f, g;
	struct elog_record r = rec("web", "GET /metrics", "{\"path\":\"/x\"}");

	elog_filter_init(&f);
	CHECK(elog_filter_set_exclude(&f, "metrics", NULL) == 0);
	CHECK(!elog_filter_match(&f, &r));
	CHECK(elog_filter_set_exclude(&f, "^/x$", NULL) == 0);
	CHECK(!elog_filter_match(&f, &r));
	CHECK(elog_filter_set_exclude(&f, "nothing", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	/* a pattern hitting its match limit is no match: the record is kept */
	r.msg = (char *)"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
	CHECK(elog_filter_set_exclude(&f, "(a|a)*(a|a)*(a|a)*(a|a)*c", NULL) == 0);
	CHECK(elog_filter_match(&f, &r));
	CHECK(elog_filter_add_exclude_components(&f, "db,web", NULL) == 0);
	CHECK(!elog_filter_match(&f, &r));
	CHECK(elog_filter_excludes_component(&f, "db"));
	CHECK(!elog_filter_excludes_component(&f, "api"));
	f.tail = 3;
	elog_filter_copy(&g, &f);
	CHECK_INT(g.nxcomponents, 2);
	CHECK_INT(g.tail, 3);
	CHECK(g.xpattern && strcmp(g.xpattern, f.xpattern) == 0);
	elog_filter_clear(&g);
	elog_filter_clear(&f);
}

static void test_smart_case(void)
{
	CHECK(elog_pattern_is_lowercase("timeout"));
	CHECK(elog_pattern_is_lowercase("time\\Sout\\d\\D\\W\\B"));
	CHECK(elog_pattern_is_lowercase("\\p{Lu}x"));
	CHECK(elog_pattern_is_lowercase("(?<Name>abc)\\k<Name>"));
	CHECK(elog_pattern_is_lowercase("(*UTF)abc"));
	CHECK(!elog_pattern_is_lowercase("Timeout"));
	CHECK(!elog_pattern_is_lowercase("a[A-Z]"));
	CHECK(!elog_pattern_is_lowercase("(?<n>X)"));
}

static void test_sentinel_refused(void)
{
	struct elog_filter f;
	struct elog_err err;

	/* what an older server does with the `pattern` a newer client sends */
	elog_filter_init(&f);
	elog_err_clear(&err);
	CHECK(elog_filter_set_pattern(&f, ELOG_QUERY_V2_SENTINEL, &err) == ELOG_EUSAGE);
	CHECK(strstr(err.msg, "this server is too old") != NULL);
	elog_filter_clear(&f);
}

static void render(const struct elog_display_opts *o, const struct elog_record *r,
		   struct elog_buf *out)
{
	struct elog_display *d = elog_display_new(o);

	elog_buf_reset(out);
	elog_display_record(d, r, out);
	elog_display_free(d);
}

static void test_display_highlight_and_fields(void)
{
	struct elog_display_opts o;
	struct elog_filter hl;
	struct elog_buf out = ELOG_BUF_INIT;
	struct elog_record r = rec("api", "took 812ms", "{\"trace_id\":\"abc0151\",\"pid\":9}");
	char *hide[] = { (char *)"pid" };

	elog_filter_init(&hl);
	CHECK(elog_filter_set_pattern(&hl, "\\d+", NULL) == 0);
	memset(&o, 0, sizeof(o));
	o.no_prefix = 1;
	o.color = 1;
	o.highlight[1] = hl.regex;
	render(&o, &r, &out);
	CHECK(strstr(out.data, "took " ELOG_HL_ON "812" ELOG_HL_OFF "ms") != NULL);
	CHECK(strstr(out.data, "abc" ELOG_HL_ON "0151" ELOG_HL_OFF) != NULL);
	o.color = 0;
	o.hide_fields = hide;
	o.nhide = 1;
	render(&o, &r, &out);
	CHECK_STR(out.data, "INFO  took 812ms trace_id=abc0151\n");
	o.hide_fields = NULL;
	o.nhide = 0;
	o.show_fields = hide;
	o.nshow = 1;
	render(&o, &r, &out);
	CHECK_STR(out.data, "INFO  took 812ms pid=9\n");
	o.format = ELOG_FMT_JSON;
	render(&o, &r, &out);
	CHECK(strstr(out.data, ",\"fields\":{\"pid\":9},") != NULL);
	elog_buf_release(&out);
	elog_filter_clear(&hl);
}

static void test_display_outputs(void)
{
	struct elog_display_opts o;
	struct elog_buf out = ELOG_BUF_INIT;
	struct elog_record r = rec("api", "two\nlines", "{\"k\":\"a b\",\"n\":1,\"o\":{\"x\":[1,2]}}");

	memset(&o, 0, sizeof(o));
	o.format = ELOG_FMT_RAW;
	render(&o, &r, &out);
	CHECK_STR(out.data, "two\nlines\n");
	o.format = ELOG_FMT_LOGFMT;
	render(&o, &r, &out);
	CHECK_STR(out.data, "ts=2024-01-20T10:00:00Z level=info component=api msg=\"two\\nlines\" "
			    "k=\"a b\" n=1 o=\"{\\\"x\\\":[1,2]}\"\n");
	o.format = ELOG_FMT_JSON_PRETTY;
	render(&o, &r, &out);
	CHECK_STR(out.data, "{\n  \"id\": 7,\n  \"ts\": \"2024-01-20T10:00:00Z\",\n"
			    "  \"component\": \"api\",\n  \"level\": \"info\",\n"
			    "  \"msg\": \"two\\nlines\",\n  \"fields\": {\n    \"k\": \"a b\",\n"
			    "    \"n\": 1,\n    \"o\": {\n      \"x\": [\n        1,\n        2\n"
			    "      ]\n    }\n  },\n  \"source\": \"send\"\n}\n");
	elog_buf_release(&out);
}

UNIT_MAIN(
	{ "pattern_on_field_values", test_pattern_on_field_values },
	{ "field_value_cap", test_field_value_cap },
	{ "exclude", test_exclude },
	{ "smart_case", test_smart_case },
	{ "sentinel_refused", test_sentinel_refused },
	{ "display_highlight_and_fields", test_display_highlight_and_fields },
	{ "display_outputs", test_display_outputs }
)
