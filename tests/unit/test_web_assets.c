/* Unit tests for web/assets.c: every page file is embedded, found by its path, non-empty. */
#include "unit.h"
#include "web/assets.h"

static void test_find(void)
{
	static const char *const paths[] = { "/index.html", "/app.js", "/app.css" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const struct elog_web_asset *a = elog_web_asset_find(paths[i]);
		CHECK(a != NULL);
		if (!a)
			continue;
		CHECK_STR(a->path, paths[i]);
		CHECK(a->len > 100);
		CHECK(a->data[a->len] == '\0');               /* the NUL after the bytes */
		CHECK(memchr(a->data, '\0', a->len) == NULL); /* text files: no NUL inside */
		CHECK(strstr(a->content_type, "charset=utf-8") != NULL);
	}
	CHECK(strncmp(elog_web_asset_find("/app.js")->content_type, "text/javascript", 15) == 0);
	CHECK(strncmp(elog_web_asset_find("/app.css")->content_type, "text/css", 8) == 0);
}

static void test_root_and_query(void)
{
	const struct elog_web_asset *idx = elog_web_asset_find("/index.html");
	CHECK(idx != NULL);
	CHECK(elog_web_asset_find("/") == idx);
	CHECK(elog_web_asset_find("/?c=api&level=warn") == idx);
	CHECK(elog_web_asset_find("/app.js?v=1") == elog_web_asset_find("/app.js"));
	CHECK(strncmp(idx->content_type, "text/html", 9) == 0);
	CHECK(strstr((const char *)idx->data, "<!doctype html>") != NULL);
	CHECK(strstr((const char *)idx->data, "app.js") != NULL);
}

static void test_unknown(void)
{
	CHECK(elog_web_asset_find(NULL) == NULL);
	CHECK(elog_web_asset_find("") == NULL);
	CHECK(elog_web_asset_find("/nope.js") == NULL);
	CHECK(elog_web_asset_find("/app.j") == NULL);
	CHECK(elog_web_asset_find("/app.jss") == NULL);
	CHECK(elog_web_asset_find("app.js") == NULL);
	CHECK(elog_web_asset_find("/../Makefile") == NULL);
	int n = 0;
	for (const struct elog_web_asset *a = elog_web_asset_list(); a->path; a++)
		n++;
	CHECK_INT(n, 3);
}

UNIT_MAIN({ "find", test_find }, { "root_and_query", test_root_and_query },
	  { "unknown", test_unknown })
