/* Unit tests for jsonline.c: JSON objects and text lines into records. */
#include "unit.h"
#include "common/arena.h"
#include "common/jsonline.h"
#include "common/util.h"

static int parse(struct elog_record *r, const char *line)
{
	elog_record_clear(r);
	return elog_jsonline_parse(line, strlen(line), r);
}

static void test_electrician(void)
{
	struct elog_record r;
	elog_record_init(&r);
	int f = parse(&r, "{\"log_schema\":\"electrician.log.v1\",\"ts\":\"2025-01-27T04:15:22.531Z\","
			  "\"level\":\"info\",\"msg\":\"relay log sample\",\"event\":\"log_emit\","
			  "\"seq\":42,\"component\":{\"type\":\"WIRE\",\"id\":\"abc123\"}}\n");
	CHECK_INT(f, ELOG_JL_JSON | ELOG_JL_LEVEL | ELOG_JL_TIME | ELOG_JL_COMPONENT | ELOG_JL_MSG);
	CHECK_STR(r.component, "abc123");
	CHECK_INT(r.level, ELOG_LEVEL_INFO);
	CHECK_INT(r.ts_ns, 1737951322531000000LL);
	CHECK_STR(r.msg, "relay log sample");
	CHECK_STR(r.fields, "{\"log_schema\":\"electrician.log.v1\",\"event\":\"log_emit\",\"seq\":42,"
			    "\"component\":{\"type\":\"WIRE\",\"id\":\"abc123\"}}");
	/* name wins over id and type */
	f = parse(&r, "{\"component\":{\"type\":\"T\",\"id\":7,\"name\":\"nm\"},\"msg\":\"x\"}");
	CHECK_STR(r.component, "nm");
	CHECK(f & ELOG_JL_COMPONENT);
	f = parse(&r, "{\"component\":{\"type\":\"T\"}}");
	CHECK_STR(r.component, "T");
	f = parse(&r, "{\"component\":{\"other\":{\"id\":\"deep\"}}}");
	CHECK(!(f & ELOG_JL_COMPONENT));
	CHECK_STR(r.component, "");
	CHECK_STR(r.fields, "{\"component\":{\"other\":{\"id\":\"deep\"}}}");
	f = parse(&r, "{\"component\":\"api\",\"message\":\"hi\"}");
	CHECK_STR(r.component, "api");
	CHECK_STR(r.msg, "hi");
	CHECK_STR(r.fields, "");
	CHECK_INT(f, ELOG_JL_JSON | ELOG_JL_COMPONENT | ELOG_JL_MSG);
	elog_record_clear(&r);
}

static void test_levels_times(void)
{
	struct elog_record r;
	elog_record_init(&r);
	int f = parse(&r, "{\"level\":50,\"time\":1700000000123,\"msg\":\"pino\",\"pid\":1}");
	CHECK(f & ELOG_JL_LEVEL);
	CHECK_INT(r.level, ELOG_LEVEL_ERROR);
	CHECK_INT(r.ts_ns, 1700000000123LL * 1000000);
	CHECK_STR(r.fields, "{\"pid\":1}");
	f = parse(&r, "{\"severity\":\"WARNING\",\"timestamp\":1700000000.5}");
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	CHECK_INT(r.ts_ns, 1700000000500000000LL);
	CHECK(!(f & ELOG_JL_MSG));
	f = parse(&r, "{\"lvl\":\"dbg\",\"@timestamp\":\"2024-01-20 10:00:00\"}");
	CHECK_INT(r.level, ELOG_LEVEL_DEBUG);
	CHECK_INT(r.ts_ns, 1705744800LL * 1000000000LL);
	f = parse(&r, "{\"levelname\":\"CRITICAL\"}");
	CHECK_INT(r.level, ELOG_LEVEL_FATAL);
	/* an unknown level is kept in fields; the record's level is untouched */
	elog_record_clear(&r);
	r.level = ELOG_LEVEL_WARN;
	const char *unk = "{\"level\":\"chatty\",\"ts\":\"not a time\",\"msg\":\"m\"}";
	f = elog_jsonline_parse(unk, strlen(unk), &r);
	CHECK(!(f & ELOG_JL_LEVEL));
	CHECK(!(f & ELOG_JL_TIME));
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	CHECK_INT(r.ts_ns, 0);
	CHECK_STR(r.fields, "{\"level\":\"chatty\",\"ts\":\"not a time\"}");
	f = parse(&r, "{\"level\":35,\"time\":true}");
	CHECK_INT(f, ELOG_JL_JSON);
	CHECK_STR(r.fields, "{\"level\":35,\"time\":true}");
	elog_record_clear(&r);
}

static void test_msg_nested(void)
{
	struct elog_record r;
	elog_record_init(&r);
	int f = parse(&r, "{\"msg\":{\"a\":[1,2.50,{\"b\":null}],\"c\":\"d\\n\"},"
			  "\"ctx\":{\"user\":{\"id\":1e3,\"tags\":[\"x\",true,false]}},\"e\":[]}");
	CHECK(f & ELOG_JL_MSG);
	CHECK_STR(r.msg, "{\"a\":[1,2.50,{\"b\":null}],\"c\":\"d\\n\"}");
	CHECK_STR(r.fields, "{\"ctx\":{\"user\":{\"id\":1e3,\"tags\":[\"x\",true,false]}},\"e\":[]}");
	f = parse(&r, "{\"msg\":12345678901234567890}");
	CHECK_STR(r.msg, "12345678901234567890");
	f = parse(&r, "  {\"msg\":\"a\\u00e9\\\"q\\\"\"}  \r\n");
	CHECK_INT(f, ELOG_JL_JSON | ELOG_JL_MSG);
	CHECK_STR(r.msg, "a\xC3\xA9\"q\"");
	f = parse(&r, "{\"msg\":\"first\",\"message\":\"second\"}");
	CHECK_STR(r.msg, "first");
	CHECK_STR(r.fields, "{\"message\":\"second\"}");
	f = parse(&r, "{}");
	CHECK_INT(f, ELOG_JL_JSON);
	CHECK_STR(r.fields, "");
	f = parse(&r, "{\"k\\\"ey\":\"v\\tq\"}");
	CHECK_STR(r.fields, "{\"k\\\"ey\":\"v\\tq\"}");
	elog_record_clear(&r);
}

static void test_text(void)
{
	struct elog_record r;
	elog_record_init(&r);
	int f = parse(&r, "plain text line\n");
	CHECK_INT(f, ELOG_JL_MSG);
	CHECK_STR(r.msg, "plain text line");
	f = parse(&r, "crlf\r\n");
	CHECK_STR(r.msg, "crlf");
	const char *broken[] = { "{\"a\":", "{\"a\":1} trailing", "{not json}", "{\"a\":1",
				 "{\"a\" 1}" };
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		r.level = ELOG_LEVEL_DEBUG;
		f = parse(&r, broken[i]);
		CHECK_INT(f, ELOG_JL_MSG);
		CHECK_STR(r.msg, broken[i]);
		CHECK_STR(r.fields, "");
		CHECK_STR(r.component, "");
	}
	f = parse(&r, "[1,2]");
	CHECK_INT(f, ELOG_JL_MSG);
	CHECK_STR(r.msg, "[1,2]");
	f = parse(&r, "{\"level\":\"error\",\"msg\":");
	CHECK_INT(r.level, ELOG_LEVEL_INFO);
	f = parse(&r, "");
	CHECK_INT(f, ELOG_JL_MSG);
	CHECK_STR(r.msg, "");
	elog_record_clear(&r);
}

static void test_utf8(void)
{
	struct elog_record r;
	elog_record_init(&r);
	int f = elog_jsonline_parse("bad \xff byte\0nul", 14, &r);
	CHECK_INT(f, ELOG_JL_MSG);
	CHECK_STR(r.msg, "bad \xEF\xBF\xBD byte\xEF\xBF\xBDnul");
	elog_record_clear(&r);
	f = parse(&r, "{\"msg\":\"x\xc0y\",\"k\xff\":\"v\xfe\",\"n\":\"\\u0000\"}");
	CHECK(f & ELOG_JL_JSON);
	CHECK_STR(r.msg, "x\xEF\xBF\xBDy");
	CHECK_STR(r.fields, "{\"k\xEF\xBF\xBD\":\"v\xEF\xBF\xBD\",\"n\":\"\xEF\xBF\xBD\"}");
	f = parse(&r, "{\"component\":\"c\xff\"}");
	CHECK_STR(r.component, "c\xEF\xBF\xBD");
	elog_record_clear(&r);
}

static void test_truncation(void)
{
	struct elog_record r;
	elog_record_init(&r);
	size_t n = ELOG_MAX_LINE + 100;
	char *line = malloc(n + 32);
	/* text: a 3-byte character straddles the limit */
	memset(line, 'a', n);
	memcpy(line + ELOG_MAX_LINE - 1, "\xE2\x82\xAC", 3);
	int f = elog_jsonline_parse(line, n, &r);
	CHECK_INT(f, ELOG_JL_MSG | ELOG_JL_TRUNCATED);
	size_t want = ELOG_MAX_LINE - 1 + strlen(ELOG_TRUNC_MARK);
	CHECK_INT(strlen(r.msg), want);
	CHECK(strcmp(r.msg + ELOG_MAX_LINE - 1, ELOG_TRUNC_MARK) == 0);
	CHECK(elog_utf8_valid(r.msg, strlen(r.msg)));
	/* exactly the limit is not cut */
	elog_record_clear(&r);
	memset(line, 'b', ELOG_MAX_LINE);
	f = elog_jsonline_parse(line, ELOG_MAX_LINE, &r);
	CHECK_INT(f, ELOG_JL_MSG);
	CHECK_INT(strlen(r.msg), ELOG_MAX_LINE);
	/* JSON message */
	elog_record_clear(&r);
	memcpy(line, "{\"msg\":\"", 8);
	memset(line + 8, 'c', n - 8);
	memcpy(line + n - 2, "\"}", 2);
	f = elog_jsonline_parse(line, n, &r);
	CHECK_INT(f, ELOG_JL_JSON | ELOG_JL_MSG | ELOG_JL_TRUNCATED);
	CHECK_INT(strlen(r.msg), ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	CHECK(strcmp(r.msg + ELOG_MAX_LINE, ELOG_TRUNC_MARK) == 0);
	free(line);
	elog_record_clear(&r);
}

/* elog_jsonline_record: what send and tail add to a parsed line */
static void test_line_record(void)
{
	const struct elog_jsonline_defaults d = { "comp", ELOG_LEVEL_WARN, "src", "\"k\":\"v\"" };
	const struct elog_jsonline_defaults plain = { "comp", ELOG_LEVEL_DEBUG, "tail", NULL };
	struct elog_record r;

	/* text: every default applies; the extra fields are the only fields */
	elog_record_init(&r);
	elog_jsonline_record("hello", 5, 0, &d, &r);
	CHECK_STR(r.msg, "hello");
	CHECK_STR(r.component, "comp");
	CHECK_INT(r.level, ELOG_LEVEL_WARN);
	CHECK_STR(r.source, "src");
	CHECK_STR(r.fields, "{\"k\":\"v\"}");
	/* what the line says wins; its fields follow the extra ones */
	elog_record_clear(&r);
	const char *json = "{\"level\":\"error\",\"component\":\"db\",\"msg\":\"m\",\"x\":1}";
	elog_jsonline_record(json, strlen(json), 0, &d, &r);
	CHECK_STR(r.component, "db");
	CHECK_INT(r.level, ELOG_LEVEL_ERROR);
	CHECK_STR(r.source, "src");
	CHECK_STR(r.fields, "{\"k\":\"v\",\"x\":1}");
	/* a line cut from a longer one is marked; no extra fields: the line's own, or none */
	elog_record_clear(&r);
	elog_jsonline_record("part", 4, 1, &plain, &r);
	CHECK_STR(r.msg, "part" ELOG_TRUNC_MARK);
	CHECK_INT(r.level, ELOG_LEVEL_DEBUG);
	CHECK_STR(r.source, "tail");
	CHECK_STR(r.fields, "");
	elog_record_clear(&r);
	json = "{\"msg\":\"j\",\"y\":2}";
	elog_jsonline_record(json, strlen(json), 0, &plain, &r);
	CHECK_STR(r.fields, "{\"y\":2}");
	elog_record_clear(&r);
	/* a line the parse cut already is not marked twice */
	size_t n = ELOG_MAX_LINE + 10;
	char *line = malloc(n);
	memset(line, 'a', n);
	elog_jsonline_record(line, n, 1, &plain, &r);
	CHECK_INT(strlen(r.msg), ELOG_MAX_LINE + strlen(ELOG_TRUNC_MARK));
	free(line);
	elog_record_clear(&r);
}

/* elog_jsonline_record_arena: send's records, the same as elog_jsonline_record's, with one
 * parser and one arena reused from line to line */
static void test_line_record_arena(void)
{
	const struct elog_jsonline_defaults d = { "comp", ELOG_LEVEL_WARN, "src", "\"k\":\"v\"" };
	const struct elog_jsonline_defaults plain = { "c\xff", ELOG_LEVEL_DEBUG, "", NULL };
	const char *lines[] = {
		"{\"ts\":\"2026-01-27T00:00:00.5Z\",\"level\":\"error\",\"component\":\"api\","
		"\"msg\":\"request 0\",\"dur_ms\":496}",
		"{\"msg\":\"WARN: sniffed\",\"k\\u00e9y\":\"v\\n\",\"n\":{\"a\":[1,true,null]}}",
		"{\"component\":{\"name\":\"svc\",\"id\":7},\"level\":30,\"bad\":\"\xff\"}",
		"{\"a\":1} trailing", "{\"a\":1}{\"b\":2}", "{\"a\":1} 5", "{\"a\":", "[1,2]", "",
		"level=error msg=\"logfmt line\" user=bob", "ERROR: plain text", "{}", " {\"x\":\"y\"}\r\n",
	};
	struct elog_jsonline *p = elog_jsonline_new();
	struct elog_arena a;
	size_t i, k;

	elog_arena_init(&a);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
			const struct elog_jsonline_defaults *df = i % 2 ? &d : &plain;
			struct elog_record r, ar;

			elog_record_init(&r);
			elog_record_init(&ar);
			elog_jsonline_record(lines[i], strlen(lines[i]), (int)k == 2, df, &r);
			elog_jsonline_record_arena(p, &a, lines[i], strlen(lines[i]), (int)k == 2, df,
						   &ar);
			CHECK_INT(ar.ts_ns, r.ts_ns);
			CHECK_INT(ar.level, r.level);
			CHECK_STR(ar.component, r.component);
			CHECK_STR(ar.msg, r.msg);
			CHECK_STR(ar.fields, r.fields);
			CHECK_STR(ar.source, r.source);
			CHECK_STR(ar.dedupe_key, "");
			elog_record_clear(&r);
		}
		elog_arena_reset(&a);
	}
	elog_arena_release(&a);
	elog_jsonline_free(p);
}

UNIT_MAIN({ "electrician", test_electrician }, { "levels_times", test_levels_times },
	  { "msg_nested", test_msg_nested }, { "text", test_text }, { "utf8", test_utf8 },
	  { "truncation", test_truncation }, { "line_record", test_line_record },
	  { "line_record_arena", test_line_record_arena })
