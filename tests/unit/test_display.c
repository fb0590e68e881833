/*
 * test_display.c — the text, JSON Lines and CSV renderings of records.
 */
#include "unit.h"

#include <yajl/yajl_tree.h>

#include "view/display.h"
#include "common/record.h"
#include "common/util.h"

static struct elog_display *mk(enum elog_format f, int color)
{
	struct elog_display_opts o = { 0 };
	o.format = f;
	o.color = color;
	return elog_display_new(&o);
}

static void rec(struct elog_record *r, const char *comp, int level, const char *msg,
		const char *fields)
{
	elog_record_clear(r);
	elog_record_set(&r->component, comp, strlen(comp));
	elog_record_set(&r->msg, msg, strlen(msg));
	elog_record_set(&r->fields, fields, strlen(fields));
	r->level = level;
}

/* Renders one record and returns the text (valid until the next call). */
static const char *show(struct elog_display *d, const struct elog_record *r)
{
	static struct elog_buf out = ELOG_BUF_INIT;
	elog_buf_release(&out);
	elog_display_record(d, r, &out);
	static char copy[4096];
	snprintf(copy, sizeof(copy), "%s", out.data ? out.data : "");
	elog_buf_release(&out);
	return copy;
}

static void free_rec(struct elog_record *r)
{
	elog_record_clear(r);   /* frees every string; a cleared record holds no memory */
}

static void test_padding(void)
{
	struct elog_display *d = mk(ELOG_FMT_TEXT, 0);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "api", ELOG_LEVEL_INFO, "hi", "");
	CHECK_STR(show(d, &r), "api | INFO  hi\n");
	char *names[] = { "scheduler", "db" };
	elog_display_hint_components(d, names, 2);
	CHECK_STR(show(d, &r), "api       | INFO  hi\n");
	rec(&r, "scheduler", ELOG_LEVEL_INFO, "x", "");
	CHECK_STR(show(d, &r), "scheduler | INFO  x\n");
	/* a name longer than the cap is shown whole; others pad to 24 */
	const char *longname = "a-really-long-component-name-here";   /* 33 chars */
	rec(&r, longname, ELOG_LEVEL_INFO, "x", "");
	CHECK_STR(show(d, &r), "a-really-long-component-name-here | INFO  x\n");
	rec(&r, "db", ELOG_LEVEL_INFO, "y", "");
	CHECK_STR(show(d, &r), "db                       | INFO  y\n");
	elog_display_free(d);

	struct elog_display_opts o = { 0 };
	o.no_prefix = 1;
	d = elog_display_new(&o);
	CHECK_STR(show(d, &r), "INFO  y\n");
	elog_display_free(d);
	free_rec(&r);
}

static void test_level_tags(void)
{
	static const char *want[] = {
		"c | TRACE m\n", "c | DEBUG m\n", "c | INFO  m\n",
		"c | WARN  m\n", "c | ERROR m\n", "c | FATAL m\n",
	};
	struct elog_display *d = mk(ELOG_FMT_TEXT, 0);
	struct elog_record r;
	elog_record_init(&r);
	for (int lv = 0; lv < ELOG_LEVEL_COUNT; lv++) {
		rec(&r, "c", lv, "m", "");
		CHECK_STR(show(d, &r), want[lv]);
	}
	rec(&r, "c", 99, "m", "");
	CHECK_STR(show(d, &r), "c | INFO  m\n");
	free_rec(&r);
	elog_display_free(d);
}

static void test_fields_text(void)
{
	struct elog_display *d = mk(ELOG_FMT_TEXT, 0);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "c", ELOG_LEVEL_INFO, "m",
	    "{\"a\": 1, \"b\":\"x y\",\"c\":\"plain\",\"d\":{\"e\":[1, 2, \"z z\"]},"
	    "\"f\":\"k=v\",\"g\":\"\",\"h\":true,\"i\":null,\"j\":\"caf\\u00e9\",\"k\":-1.5e3}");
	CHECK_STR(show(d, &r), "c | INFO  m a=1 b=\"x y\" c=plain d={\"e\":[1,2,\"z z\"]} f=\"k=v\" "
		  "g=\"\" h=true i=null j=caf\xc3\xa9 k=-1.5e3\n");
	rec(&r, "c", ELOG_LEVEL_INFO, "m", "{}");
	CHECK_STR(show(d, &r), "c | INFO  m\n");
	rec(&r, "c", ELOG_LEVEL_INFO, "m", "{bad json");
	CHECK_STR(show(d, &r), "c | INFO  m {bad json\n");
	rec(&r, "c", ELOG_LEVEL_INFO, "m", "[1,2]");
	CHECK_STR(show(d, &r), "c | INFO  m [1,2]\n");
	rec(&r, "c", ELOG_LEVEL_INFO, "m", "{\"a\":1} trailing");
	CHECK_STR(show(d, &r), "c | INFO  m {\"a\":1} trailing\n");
	/* terminal escapes in messages are neutralized */
	rec(&r, "c", ELOG_LEVEL_INFO, "a\033[31mb", "");
	CHECK_STR(show(d, &r), "c | INFO  a\\x1b[31mb\n");
	free_rec(&r);
	elog_display_free(d);
}

static void test_color_only_when_asked(void)
{
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "svc", ELOG_LEVEL_ERROR, "boom", "{\"k\":\"v\"}");
	struct elog_display *d = mk(ELOG_FMT_TEXT, 0);
	CHECK(strchr(show(d, &r), '\033') == NULL);
	struct elog_buf b = ELOG_BUF_INIT;
	elog_display_notice(d, "3 entries missed", &b);
	CHECK_STR(b.data, "-- 3 entries missed --\n");
	elog_buf_release(&b);
	elog_display_free(d);

	d = mk(ELOG_FMT_TEXT, 1);
	const char *s = show(d, &r);
	char want[64];
	const unsigned char *pal;
	elog_display_palette(&pal);
	snprintf(want, sizeof(want), "\033[38;5;%dmsvc\033[0m | ", pal[elog_display_color_of(d, "svc")]);
	CHECK(strncmp(s, want, strlen(want)) == 0);
	CHECK(strstr(s, "\033[31mERROR\033[0m") != NULL);
	CHECK(strstr(s, "\033[2mk=\033[0mv") != NULL);
	CHECK(s[strlen(s) - 1] == '\n');
	elog_display_notice(d, "x", &b);
	CHECK(strchr(b.data, '\033') != NULL);
	elog_buf_release(&b);
	rec(&r, "svc", ELOG_LEVEL_WARN, "w", "");
	CHECK(strstr(show(d, &r), "\033[33mWARN\033[0m  w\n") != NULL);
	elog_display_free(d);

	/* JSON/CSV notices print nothing */
	d = mk(ELOG_FMT_JSON, 1);
	elog_display_notice(d, "x", &b);
	CHECK_INT(b.len, 0);
	elog_display_free(d);
	free_rec(&r);
}

static void test_stable_and_distinct_colors(void)
{
	struct elog_display *a = mk(ELOG_FMT_TEXT, 1), *b = mk(ELOG_FMT_TEXT, 1);
	CHECK_INT(elog_display_color_of(a, "api"), -1);
	char *one[] = { "api" };
	char *other[] = { "zzz", "yyy", "api" };
	elog_display_hint_components(a, one, 1);
	elog_display_hint_components(b, one, 1);
	CHECK(elog_display_color_of(a, "api") >= 0);
	CHECK_INT(elog_display_color_of(a, "api"), elog_display_color_of(b, "api"));
	elog_display_free(a);
	elog_display_free(b);

	/* same first-seen name, fresh display: same color again */
	a = mk(ELOG_FMT_TEXT, 1);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "api", ELOG_LEVEL_INFO, "m", "");
	show(a, &r);
	b = mk(ELOG_FMT_TEXT, 0);
	elog_display_hint_components(b, one, 1);
	CHECK_INT(elog_display_color_of(a, "api"), elog_display_color_of(b, "api"));
	elog_display_free(a);
	elog_display_free(b);

	a = mk(ELOG_FMT_TEXT, 1);
	elog_display_hint_components(a, other, 3);
	char *names[] = { "api", "db", "cache", "worker", "scheduler", "auth", "gateway",
			  "billing", "search", "mailer", "queue", "metrics" };
	size_t n = sizeof(names) / sizeof(names[0]);
	elog_display_hint_components(a, names, n);
	size_t npal = elog_display_palette(NULL);
	for (size_t i = 0; i < n; i++) {
		int ci = elog_display_color_of(a, names[i]);
		CHECK(ci >= 0 && (size_t)ci < npal);
		for (size_t j = 0; j < i; j++)
			CHECK(ci != elog_display_color_of(a, names[j]));
	}
	/* more names than palette entries: still a valid color each */
	char buf[32];
	for (int i = 0; i < 100; i++) {
		snprintf(buf, sizeof(buf), "comp-%d", i);
		char *p = buf;
		elog_display_hint_components(a, &p, 1);
		int ci = elog_display_color_of(a, buf);
		CHECK(ci >= 0 && (size_t)ci < npal);
	}
	elog_display_free(a);
	free_rec(&r);
}

/* The xterm 256-color code as RGB (cube and gray ramp only). */
static int code_rgb(int code, int *r, int *g, int *b)
{
	static const int lv[6] = { 0, 95, 135, 175, 215, 255 };
	if (code >= 16 && code <= 231) {
		code -= 16;
		*r = lv[code / 36];
		*g = lv[code / 6 % 6];
		*b = lv[code % 6];
		return 1;
	}
	if (code >= 232) {
		*r = *g = *b = 8 + 10 * (code - 232);
		return 1;
	}
	return 0;
}

static void test_palette_no_red_yellow(void)
{
	const unsigned char *pal;
	size_t n = elog_display_palette(&pal);
	CHECK(n >= 12);
	for (size_t i = 0; i < n; i++) {
		int r = 0, g = 0, b = 0;
		CHECK(code_rgb(pal[i], &r, &g, &b));
		int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
		int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
		CHECK(mx >= 175);                   /* readable on a dark background */
		if (mx - mn < 60)
			continue;                       /* grey/white */
		double h;
		double c = mx - mn;
		if (mx == r)
			h = 60.0 * ((g - b) / c);
		else if (mx == g)
			h = 60.0 * ((b - r) / c + 2);
		else
			h = 60.0 * ((r - g) / c + 4);
		if (h < 0)
			h += 360;
		/* red, orange, yellow, green (INFO) and pink hues are reserved */
		if (!(h >= 160 && h <= 305))
			fprintf(stderr, "  palette code %d hue %.0f\n", pal[i], h);
		CHECK(h >= 160 && h <= 305);
		for (size_t j = 0; j < i; j++)
			CHECK(pal[i] != pal[j]);
	}
}

/* Colors follow the order given by elog_display_color_order, whatever is shown or hinted;
 * the basic and true-color forms. */
static void test_color_order_and_depth(void)
{
	struct elog_display_opts o = { 0 };
	o.format = ELOG_FMT_TEXT;
	o.color = 1;
	struct elog_display *a = elog_display_new(&o);
	char *order[] = { "web", "db", "api" };
	elog_display_color_order(a, order, 3);
	char *only[] = { "api" };
	elog_display_hint_components(a, only, 1);
	CHECK_INT(elog_display_color_of(a, "web"), 0);
	CHECK_INT(elog_display_color_of(a, "db"), 1);
	CHECK_INT(elog_display_color_of(a, "api"), 2);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "api", ELOG_LEVEL_INFO, "m", "");
	const unsigned char *pal;
	elog_display_palette(&pal);
	char want[64];
	/* the width comes from the hinted/shown names only: "api", not "web"/"db" */
	snprintf(want, sizeof(want), "\033[38;5;%dmapi\033[0m | ", pal[2]);
	CHECK(strncmp(show(a, &r), want, strlen(want)) == 0);
	rec(&r, "new", ELOG_LEVEL_INFO, "m", "");
	show(a, &r);
	CHECK_INT(elog_display_color_of(a, "new"), 3);
	elog_display_free(a);

	o.color_depth = ELOG_COLOR_BASIC;
	a = elog_display_new(&o);
	rec(&r, "api", ELOG_LEVEL_INFO, "m", "");
	CHECK(strncmp(show(a, &r), "\033[36mapi\033[0m | ", 15) == 0);
	elog_display_free(a);

	o.color_depth = ELOG_COLOR_TRUE;
	a = elog_display_new(&o);
	CHECK(strncmp(show(a, &r), "\033[38;2;0;175;255mapi", 20) == 0);
	elog_display_free(a);
	free_rec(&r);
}

static const char *obj_str(yajl_val v, const char *key)
{
	const char *path[] = { key, NULL };
	yajl_val s = yajl_tree_get(v, path, yajl_t_string);
	return s ? YAJL_GET_STRING(s) : NULL;
}

static void test_json_lines(void)
{
	struct elog_display *d = mk(ELOG_FMT_JSON, 1);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "api", ELOG_LEVEL_WARN, "disk \"full\"", "{\"pct\": 99}");
	r.id = 42;
	r.ts_ns = 1705744800123456789LL;
	elog_record_set(&r.source, "host:1", 6);
	struct elog_buf out = ELOG_BUF_INIT;
	elog_display_header(d, &out);
	CHECK_INT(out.len, 0);
	elog_display_record(d, &r, &out);
	CHECK_STR(out.data, "{\"id\":42,\"ts\":\"2024-01-20T10:00:00.123456789Z\",\"component\":\"api\","
		  "\"level\":\"warn\",\"msg\":\"disk \\\"full\\\"\",\"fields\":{\"pct\": 99},"
		  "\"source\":\"host:1\"}\n");
	elog_buf_reset(&out);
	r.ts_ns = 1705744800000000000LL;
	rec(&r, "api", ELOG_LEVEL_INFO, "m", "");
	r.ts_ns = 1705744800100000000LL;
	elog_display_record(d, &r, &out);
	CHECK(strstr(out.data, "\"ts\":\"2024-01-20T10:00:00.1Z\"") != NULL);
	CHECK(strstr(out.data, "\"fields\":{},") != NULL);
	elog_buf_reset(&out);
	r.ts_ns = 1705744800000000000LL;
	elog_display_record(d, &r, &out);
	CHECK(strstr(out.data, "\"ts\":\"2024-01-20T10:00:00Z\"") != NULL);

	/* bytes that aren't UTF-8, NULs and control characters still give valid JSON */
	elog_buf_reset(&out);
	elog_record_clear(&r);
	elog_record_take(&r.component, xstrdup("c\xc3"));          /* bypass the repair */
	elog_record_set(&r.msg, "a\0b\xff\x01\x7f\n", 7);
	elog_record_take(&r.fields, xstrdup("{\"a\":\"\xff\"}"));
	elog_record_take(&r.source, xstrdup("s\xed\xa0\x80"));
	elog_display_record(d, &r, &out);
	CHECK(out.len > 0 && out.data[out.len - 1] == '\n');
	CHECK(elog_utf8_valid(out.data, out.len));
	char errbuf[256];
	yajl_val v = yajl_tree_parse(out.data, errbuf, sizeof(errbuf));
	CHECK(v != NULL && YAJL_IS_OBJECT(v));
	if (v) {
		CHECK_STR(obj_str(v, "component"), "c\xef\xbf\xbd");
		CHECK_STR(obj_str(v, "msg"), "a\xef\xbf\xbd" "b\xef\xbf\xbd\x01\x7f\n");
		const char *fp[] = { "fields", "_raw", NULL };
		yajl_val raw = yajl_tree_get(v, fp, yajl_t_string);
		CHECK(raw != NULL);
		CHECK_STR(obj_str(v, "level"), "info");
		yajl_tree_free(v);
	}

	/* fields that aren't a JSON object are wrapped */
	const char *bad[] = { "not json", "[1,2]", "{\"a\":}", "{\"a\":1}x", "{\"a\":\"\x01\"}",
			      "{\"a\":01}", "{\"a\":\"\\q\"}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		elog_buf_reset(&out);
		elog_record_take(&r.fields, xstrdup(bad[i]));
		elog_display_record(d, &r, &out);
		v = yajl_tree_parse(out.data, errbuf, sizeof(errbuf));
		CHECK(v != NULL);
		if (v) {
			const char *fp[] = { "fields", "_raw", NULL };
			yajl_val raw = yajl_tree_get(v, fp, yajl_t_string);
			CHECK(raw != NULL);
			yajl_tree_free(v);
		}
	}
	/* a nested valid object is passed through */
	elog_buf_reset(&out);
	elog_record_take(&r.fields, xstrdup(" {\"a\":{\"b\":[true,false,null,\"\\ud83d\\ude00\",-0.5E+2]}} "));
	elog_display_record(d, &r, &out);
	v = yajl_tree_parse(out.data, errbuf, sizeof(errbuf));
	CHECK(v != NULL);
	if (v) {
		const char *fp[] = { "fields", "a", "b", NULL };
		CHECK(yajl_tree_get(v, fp, yajl_t_array) != NULL);
		yajl_tree_free(v);
	}
	elog_buf_release(&out);
	free_rec(&r);
	elog_display_free(d);
}

static void test_csv(void)
{
	struct elog_display *d = mk(ELOG_FMT_CSV, 1);
	struct elog_buf out = ELOG_BUF_INIT;
	elog_display_header(d, &out);
	CHECK_STR(out.data, "id,ts,component,level,msg,fields,source\r\n");
	elog_buf_reset(&out);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "api", ELOG_LEVEL_ERROR, "say \"hi\", then\nleave", "{\"a\":1,\"b\":\"x\"}");
	r.id = 7;
	r.ts_ns = 1705744800000000000LL;
	elog_display_record(d, &r, &out);
	CHECK_STR(out.data, "7,2024-01-20T10:00:00Z,api,error,\"say \"\"hi\"\", then\nleave\","
		  "\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\",\r\n");
	elog_buf_reset(&out);
	rec(&r, "a,b", ELOG_LEVEL_DEBUG, "plain", "");
	elog_record_set(&r.source, "cr\r", 3);
	r.id = 8;
	r.ts_ns = 1705744800000000000LL;
	elog_display_record(d, &r, &out);
	CHECK_STR(out.data, "8,2024-01-20T10:00:00Z,\"a,b\",debug,plain,{},\"cr\r\"\r\n");
	CHECK(strchr(out.data, '\033') == NULL);
	elog_buf_release(&out);
	free_rec(&r);
	elog_display_free(d);
}

static void test_timestamps(void)
{
	struct elog_display_opts o = { 0 };
	o.timestamps = 1;
	o.utc = 1;
	struct elog_display *d = elog_display_new(&o);
	struct elog_record r;
	elog_record_init(&r);
	rec(&r, "c", ELOG_LEVEL_INFO, "m", "");
	r.ts_ns = 1705744800123456789LL;
	CHECK_STR(show(d, &r), "c | 2024-01-20T10:00:00.123Z INFO  m\n");
	r.ts_ns = 1705744801005000000LL;
	CHECK_STR(show(d, &r), "c | 2024-01-20T10:00:01.005Z INFO  m\n");
	r.ts_ns = 0;
	r.arrival_ns = 1705744802000000000LL;
	CHECK_STR(show(d, &r), "c | 2024-01-20T10:00:02.000Z INFO  m\n");
	elog_display_free(d);

	o.utc = 0;
	d = elog_display_new(&o);
	const char *s = show(d, &r);
	/* local time: same shape, no 'Z' */
	CHECK(strlen(s) == strlen("c | 2024-01-20T10:00:02.000 INFO  m\n"));
	CHECK(s[4 + 10] == 'T' && s[4 + 19] == '.' && s[4 + 23] == ' ');
	elog_display_free(d);
	free_rec(&r);
}

UNIT_MAIN(
	{ "padding", test_padding },
	{ "level_tags", test_level_tags },
	{ "fields_text", test_fields_text },
	{ "color_only_when_asked", test_color_only_when_asked },
	{ "stable_and_distinct_colors", test_stable_and_distinct_colors },
	{ "palette_no_red_yellow", test_palette_no_red_yellow },
	{ "color_order_and_depth", test_color_order_and_depth },
	{ "json_lines", test_json_lines },
	{ "csv", test_csv },
	{ "timestamps", test_timestamps }
)
