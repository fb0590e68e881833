/*
 * test_cluster.c — the subject-safe mapping of node and component names (outbound/cluster.h),
 * and the cluster options refused before anything starts.
 */
#include "unit.h"
#include "outbound/cluster.h"
#include "common/err.h"
#include "common/util.h"

static char *token(const char *s)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_cluster_token(&b, s);
	elog_buf_addc(&b, 0);
	return elog_buf_detach(&b);
}

static void test_token_kept_and_escaped(void)
{
	char *t;

	t = token("api-v2_x");
	CHECK_STR(t, "api-v2_x");
	free(t);
	t = token("web.api");
	CHECK_STR(t, "web%2Eapi");
	free(t);
	t = token("a b*>%");
	CHECK_STR(t, "a%20b%2A%3E%25");
	free(t);
	t = token("\xc3\xbc");   /* ü */
	CHECK_STR(t, "%C3%BC");
	free(t);
	t = token("");
	CHECK_STR(t, "%");
	free(t);
}

static void test_token_long(void)
{
	char name[201], *t, *u;

	memset(name, 'c', 200);
	name[200] = 0;
	t = token(name);
	CHECK_INT(strlen(t), 31 + 1 + 64);
	CHECK(strncmp(t, name, 31) == 0);
	CHECK(t[31] == '~');
	name[199] = 'd';                 /* another long name: another token */
	u = token(name);
	CHECK(strcmp(t, u) != 0);
	free(u);
	free(t);
	/* escapes: the kept prefix never ends inside a %XX */
	memset(name, '.', 100);
	name[100] = 0;
	t = token(name);
	CHECK(strchr(t, '~') != NULL);
	CHECK_INT((strchr(t, '~') - t) % 3, 0);
	free(t);
	/* exactly 96 bytes is kept as it is */
	memset(name, 'x', 96);
	name[96] = 0;
	t = token(name);
	CHECK_STR(t, name);
	free(t);
}

static void test_start_refuses(void)
{
	struct elog_cluster *c = NULL;
	struct elog_cluster_opts o;
	struct elog_err err;

	memset(&o, 0, sizeof(o));
	o.servers = "localhost:4222";
	o.node = "box";
	o.db_path = "/nonexistent/h.db";
	elog_err_clear(&err);
	CHECK_INT(elog_cluster_start(&c, &o, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "nats://HOST:PORT") != NULL);
	CHECK(c == NULL);
	o.servers = "nats://127.0.0.1:4222";
	o.node = "a/b";
	CHECK_INT(elog_cluster_start(&c, &o, &err), ELOG_EUSAGE);
	o.node = "box";
	o.aggregate = 1;
	CHECK_INT(elog_cluster_start(&c, &o, &err), ELOG_EUSAGE);
	CHECK(c == NULL);
}

UNIT_MAIN({ "token_kept_and_escaped", test_token_kept_and_escaped },
	  { "token_long", test_token_long },
	  { "start_refuses", test_start_refuses })
