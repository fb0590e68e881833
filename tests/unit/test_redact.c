/*
 * test_redact.c — the redaction rules (common/redact.h): each built-in rule on what it must
 * find and on look-alikes it must leave alone; JSON fields at any depth; private key blocks
 * over records of one stream; the "redacted" field; rules files; counters; texts that cannot
 * be scanned.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>

#include "common/redact.h"
#include "common/err.h"
#include "common/record.h"
#include "common/util.h"
#include "unit.h"

static struct elog_redactor *rd_new(const char *on)
{
	struct elog_redactor *rd = elog_redactor_new();
	struct elog_err err;

	if (on && elog_redactor_set(rd, on, 1, &err) != 0)
		fprintf(stderr, "set: %s\n", err.msg);
	if (elog_redactor_compile(rd, &err) != 0)
		fprintf(stderr, "compile: %s\n", err.msg);
	return rd;
}

/* The index of the rule named name (its bit in a fired mask). */
static size_t rule_index(struct elog_redactor *rd, const char *name)
{
	struct elog_redact_rule_info ri;
	size_t i;

	for (i = 0; i < elog_redactor_rules(rd); i++) {
		elog_redactor_rule(rd, i, &ri);
		if (strcmp(ri.name, name) == 0)
			return i;
	}
	fprintf(stderr, "no rule '%s'\n", name);
	exit(2);
}

/* How many records the rule named name changed. */
static uint64_t records_of(struct elog_redactor *rd, const char *name)
{
	struct elog_redact_rule_info ri;

	elog_redactor_rule(rd, rule_index(rd, name), &ri);
	return ri.records;
}

/* The text redacted ("" when unchanged: the caller compares with the input), and the names
 * of the rules that fired in names. */
static char last[4096], names[512];

static const char *red(struct elog_redactor *rd, const char *s)
{
	uint64_t fired = 0;
	char *r = elog_redact_text(rd, NULL, NULL, s, strlen(s), &fired);
	struct elog_buf b = ELOG_BUF_INIT;

	elog_redact_names_json(rd, fired, &b);
	snprintf(names, sizeof(names), "%s", b.data);
	elog_buf_release(&b);
	snprintf(last, sizeof(last), "%s", r ? r : s);
	free(r);
	return last;
}

/* s must come out as want, rule among those that fired */
#define REDACTS(rd, s, want, rule) do { \
	CHECK_STR(red(rd, s), want); \
	if (!strstr(names, "\"" rule "\"")) { unit_failed_checks++; \
		fprintf(stderr, "  %s:%d: rule %s did not fire on '%s' (%s)\n", __FILE__, \
			__LINE__, rule, s, names); } } while (0)
/* s must come out unchanged, no rule fired */
#define KEEPS(rd, s) do { CHECK_STR(red(rd, s), s); CHECK_STR(names, "[]"); } while (0)

static void test_auth_headers(void)
{
	struct elog_redactor *rd = rd_new(NULL);

	REDACTS(rd, "Authorization: Bearer abcDEF123456789xyz", "Authorization: [REDACTED:secret-kv]",
		"bearer");
	REDACTS(rd, "sent bearer eyz12345678.abcd to api", "sent bearer [REDACTED:bearer] to api",
		"bearer");
	/* dXNlcjpodW50ZXIy is base64 of user:hunter2 */
	REDACTS(rd, "curl -H 'X: Basic dXNlcjpodW50ZXIy'", "curl -H 'X: Basic [REDACTED:basic-auth]'",
		"basic-auth");
	KEEPS(rd, "Bearer token validation enabled for /api routes");
	KEEPS(rd, "basic health check ok in 3ms");
	KEEPS(rd, "Basic configuration loaded");          /* base64-looking, no ':' inside */
	elog_redactor_free(rd);
}

static void test_key_values(void)
{
	struct elog_redactor *rd = rd_new(NULL);

	REDACTS(rd, "password=hunter2 user=bob", "password=[REDACTED:secret-kv] user=bob", "secret-kv");
	REDACTS(rd, "db_password: \"s3cr3t p4ss\" ok", "db_password: [REDACTED:secret-kv] ok",
		"secret-kv");
	REDACTS(rd, "level=warn passwd='a b' x=1", "level=warn passwd=[REDACTED:secret-kv] x=1",
		"secret-kv");
	REDACTS(rd, "{\"api_key\":\"k-123\",\"n\":1}", "{\"api_key\":[REDACTED:secret-kv],\"n\":1}",
		"secret-kv");
	REDACTS(rd, "{\\\"client_secret\\\":\\\"abc\\\"}",
		"{\\\"client_secret\\\":[REDACTED:secret-kv]}", "secret-kv");
	REDACTS(rd, "X-Api-Key: abc123", "X-Api-Key: [REDACTED:secret-kv]", "secret-kv");
	REDACTS(rd, "pwd=x1 session=s2 token=t3", "pwd=[REDACTED:secret-kv] session=[REDACTED:secret-kv] "
		"token=[REDACTED:secret-kv]", "secret-kv");
	REDACTS(rd, "Cookie: a=1; sid=xyz", "Cookie: [REDACTED:secret-kv]", "secret-kv");
	REDACTS(rd, "Set-Cookie: sid=abc; Path=/", "Set-Cookie: [REDACTED:secret-kv]", "secret-kv");
	REDACTS(rd, "GET /cb?code=1&access_token=abc&state=x",
		"GET /cb?code=1&access_token=[REDACTED:secret-kv]&state=x", "secret-kv");
	KEEPS(rd, "prompt_tokens=812 completion_tokens=120 max_tokens: 4096");
	KEEPS(rd, "password policy updated: min length 12");
	KEEPS(rd, "sessions active: 1422");
	KEEPS(rd, "token bucket refilled: 120 tokens available");
	CHECK(elog_redact_key_is_secret("X-Auth-Token", 12));
	CHECK(elog_redact_key_is_secret("set-cookie", 10));
	CHECK(elog_redact_key_is_secret("AWS_SECRET_ACCESS_KEY", 21));
	CHECK(elog_redact_key_is_secret("apiKey", 6));
	CHECK(!elog_redact_key_is_secret("token_count", 11));
	CHECK(!elog_redact_key_is_secret("session_id", 10));
	CHECK(!elog_redact_key_is_secret("secret_name", 11));
	elog_redactor_free(rd);
}

static void test_urls(void)
{
	struct elog_redactor *rd = rd_new(NULL);

	REDACTS(rd, "db postgres://admin:Sup3r@db:5432/app", "db postgres://admin:[REDACTED:url-password]@db:5432/app",
		"url-password");
	REDACTS(rd, "GET /v1?api_key=abcdef&x=1", "GET /v1?api_key=[REDACTED:secret-kv]&x=1", "secret-kv");
	KEEPS(rd, "fetch https://example.com:8443/path?q=1 ok");
	KEEPS(rd, "mailto:ops@example.com and http://host/a@b");
	elog_redactor_free(rd);
}

static void test_token_formats(void)
{
	struct elog_redactor *rd = rd_new(NULL);

	REDACTS(rd, "t eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fw end",
		"t [REDACTED:jwt] end", "jwt");
	REDACTS(rd, "key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED:aws-access-key-id] used",
		"aws-access-key-id");
	REDACTS(rd, "aws_secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
		"aws_secret: [REDACTED:aws-secret-key]", "aws-secret-key");
	REDACTS(rd, "ghp_abcdefghijklmnopqrstuvwxyz0123456789 x", "[REDACTED:github-token] x",
		"github-token");
	REDACTS(rd, "glpat-abcdefghij0123456789", "[REDACTED:gitlab-token]", "gitlab-token");
	REDACTS(rd, "xoxb-1234567890-abcdefghij", "[REDACTED:slack-token]", "slack-token");
	REDACTS(rd, "sk_live_abcdefghijklmnop1234", "[REDACTED:stripe-key]", "stripe-key");
	REDACTS(rd, "k AIzaSyA-abcdefghijklmnopqrstuvwxyz12345", "k [REDACTED:google-api-key]",
		"google-api-key");
	REDACTS(rd, "elog_abcdefghijklmnopqrstuvwxyz234567", "[REDACTED:elog-api-key]", "elog-api-key");
	/* look-alikes */
	KEEPS(rd, "eyJhbGciOiJIUzI1NiJ9 alone is a header, not a token");
	KEEPS(rd, "AKIA is a prefix; AKIA123 too short");
	KEEPS(rd, "aws region eu-west-1, commit 8f14e45fceea167a5a36dedd4bea2543cd4a1c7e");
	KEEPS(rd, "ghp_short and sk_test_x and xoxb- and elog_tooshort");
	KEEPS(rd, "github.com/acme/widgets@v0.14.2 downloaded");
	KEEPS(rd, "glpat-short gldt- and the gl-pat-abcdefghij0123456789 id");
	KEEPS(rd, "AIzaShort and ya29 and ya29.x");
	KEEPS(rd, "sk_staging_abcdefghijklmnop1234 pk_live_abcdefghijklmnop1234");
	KEEPS(rd, "xoxz-1234567890-abcdefghij and hooks.slack.com/about");
	elog_redactor_free(rd);
}

static void test_cards(void)
{
	struct elog_redactor *rd = rd_new(NULL);

	REDACTS(rd, "paid 4111 1111 1111 1111 ok", "paid [REDACTED:card-number] ok", "card-number");
	REDACTS(rd, "card=5555-5555-5555-4444", "card=[REDACTED:card-number]", "card-number");
	REDACTS(rd, "amex 378282246310005", "amex [REDACTED:card-number]", "card-number");
	REDACTS(rd, "4111111111111111 2024", "[REDACTED:card-number] 2024", "card-number");
	KEEPS(rd, "not luhn 4111 1111 1111 1112");
	KEEPS(rd, "epoch_ns=1733230012345678901 seq=9876543210");
	KEEPS(rd, "uuid 12345678-1234-1234-1234-123456789012");
	KEEPS(rd, "version 4111.1111.1111.1111");
	KEEPS(rd, "isbn 978-3-16-148410-0");
	elog_redactor_free(rd);
}

static void test_pem(void)
{
	struct elog_redactor *rd = rd_new(NULL);
	struct elog_redact_streams *st = elog_redact_streams_new();
	const char *lines[] = { "-----BEGIN RSA PRIVATE KEY-----", "MIIEowIBAAKCAQEA1234567890",
				"abcdefgh+/==", "-----END RSA PRIVATE KEY-----", "after the key" };
	uint64_t fired;
	char *r;
	size_t i;

	REDACTS(rd, "key: -----BEGIN PRIVATE KEY-----\nMIIE\nabc=\n-----END PRIVATE KEY----- done",
		"key: [REDACTED:private-key] done", "private-key");
	KEEPS(rd, "-----BEGIN CERTIFICATE-----");
	/* one line a record, one stream: the whole block */
	for (i = 0; i < 4; i++) {
		r = elog_redact_text(rd, st, "s1", lines[i], strlen(lines[i]), &fired);
		CHECK_STR(r, "[REDACTED:private-key]");
		free(r);
		/* another stream is not inside a block */
		r = elog_redact_text(rd, st, "s2", "MIIEowIBAAKCAQEA", 16, &fired);
		CHECK(r == NULL);
		free(r);
	}
	r = elog_redact_text(rd, st, "s1", lines[4], strlen(lines[4]), &fired);
	CHECK(r == NULL);
	free(r);
	/* a block cut short: the first line that is not base64 ends it */
	r = elog_redact_text(rd, st, "s3", lines[0], strlen(lines[0]), &fired);
	free(r);
	r = elog_redact_text(rd, st, "s3", "level=info next", 15, &fired);
	CHECK(r == NULL);
	free(r);
	r = elog_redact_text(rd, st, "s3", "MIIEowIBAAKCAQEA", 16, &fired);
	CHECK(r == NULL);
	free(r);
	elog_redact_streams_free(st);
	elog_redactor_free(rd);
}

static void test_personal_data_off(void)
{
	struct elog_redactor *rd = rd_new(NULL), *on = rd_new("email,ipv4,ipv6,phone");

	KEEPS(rd, "mail bob@example.com from 10.1.2.3 or fe80::1 call +1 415 555 2671");
	REDACTS(on, "mail bob@example.com now", "mail [REDACTED:email] now", "email");
	REDACTS(on, "from 10.1.2.3 ok", "from [REDACTED:ipv4] ok", "ipv4");
	REDACTS(on, "from 2001:db8::8a2e:370:7334 ok", "from [REDACTED:ipv6] ok", "ipv6");
	REDACTS(on, "call +1 415 555 2671 now", "call [REDACTED:phone] now", "phone");
	CHECK_STR(red(on, "at 12:30:45 version 1.2.3"), "at 12:30:45 version 1.2.3");
	elog_redactor_free(rd);
	elog_redactor_free(on);
}

static void test_record_fields(void)
{
	struct elog_redactor *rd = rd_new(NULL);
	struct elog_record r;

	elog_record_init(&r);
	elog_record_set(&r.component, "c", 1);
	elog_record_set(&r.msg, "login ok", 8);
	elog_record_take(&r.fields, xstrdup("{\"user\":\"x\",\"a\":{\"b\":[{\"Password\":123},"
					    "\"token=abc\"]},\"n\":4111111111111111,\"k\":null}"));
	CHECK_INT(elog_redact_record(rd, NULL, &r), 2);
	CHECK_STR(r.msg, "login ok");
	CHECK_STR(r.fields, "{\"user\":\"x\",\"a\":{\"b\":[{\"Password\":\"[REDACTED:secret-kv]\"},"
		  "\"token=[REDACTED:secret-kv]\"]},\"n\":\"[REDACTED:card-number]\",\"k\":null,"
		  "\"redacted\":[\"secret-kv\",\"card-number\"]}");
	/* a message secret on a record without fields; a "redacted" key of the sender's own is
	 * replaced */
	elog_record_set(&r.msg, "password=x", 10);
	elog_record_set(&r.fields, "", 0);
	elog_redact_record(rd, NULL, &r);
	CHECK_STR(r.fields, "{\"redacted\":[\"secret-kv\"]}");
	elog_record_set(&r.msg, "fine", 4);
	elog_record_set(&r.fields, "{\"redacted\":\"fake\",\"a\":1}", 25);
	CHECK_INT(elog_redact_record(rd, NULL, &r), 0);
	CHECK_STR(r.fields, "{\"a\":1}");
	/* an object with spaces around, and an empty one */
	elog_record_set(&r.msg, "token=abc", 9);
	elog_record_set(&r.fields, " { \"a\":1 } ", 11);
	elog_redact_record(rd, NULL, &r);
	CHECK_STR(r.fields, "{ \"a\":1 ,\"redacted\":[\"secret-kv\"]}");
	elog_record_set(&r.msg, "token=abc", 9);
	elog_record_set(&r.fields, "{ }", 3);
	elog_redact_record(rd, NULL, &r);
	CHECK_STR(r.fields, "{ \"redacted\":[\"secret-kv\"]}");
	elog_record_set(&r.msg, "fine", 4);
	/* escapes cannot hide a key */
	elog_record_set(&r.fields, "{\"pass\\u0077ord\":\"x\"}", 21);
	elog_redact_record(rd, NULL, &r);
	CHECK_STR(r.fields, "{\"password\":\"[REDACTED:secret-kv]\",\"redacted\":[\"secret-kv\"]}");
	/* fields a client sent as text, an object with more after it (yajl takes it as the
	 * object): "redacted" is not put inside the rest, the text is kept as a string */
	elog_record_set(&r.msg, "token=abc", 9);
	elog_record_set(&r.fields, "{\"a\":\"}\"}\"}", 11);
	elog_redact_record(rd, NULL, &r);
	CHECK_STR(r.fields, "{\"fields\":\"{\\\"a\\\":\\\"}\\\"}\\\"}\",\"redacted\":[\"secret-kv\"]}");
	elog_record_set(&r.msg, "fine", 4);
	/* fields with nothing to redact stay byte for byte */
	elog_record_set(&r.fields, "{ \"a\" : 1.50,\"s\":\"x\\ny\" }", 25);
	CHECK_INT(elog_redact_record(rd, NULL, &r), 0);
	CHECK_STR(r.fields, "{ \"a\" : 1.50,\"s\":\"x\\ny\" }");
	CHECK_INT(records_of(rd, "secret-kv"), 6);
	CHECK_INT(records_of(rd, "card-number"), 1);
	CHECK_INT(records_of(rd, "jwt"), 0);
	elog_record_clear(&r);
	elog_redactor_free(rd);
}

/* A record's component and source name its stream and reach the disk like its message: a
 * secret there is redacted and listed; a pair found clean is not scanned again (the same
 * result); rules that fired on a part redacted before (a session id) are listed and counted. */
static void test_record_names(void)
{
	struct elog_redactor *rd = rd_new(NULL);
	struct elog_record r;
	size_t i;

	elog_record_init(&r);
	elog_record_set(&r.component, "api password=hunter2", 20);
	elog_record_set(&r.source, "ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 40);
	elog_record_set(&r.msg, "fine", 4);
	elog_record_set(&r.fields, "{\"a\":1}", 7);
	CHECK_INT(elog_redact_record(rd, NULL, &r), 2);
	CHECK_STR(r.component, "api password=[REDACTED:secret-kv]");
	CHECK_STR(r.source, "[REDACTED:github-token]");
	CHECK_STR(r.msg, "fine");
	CHECK_STR(r.fields, "{\"a\":1,\"redacted\":[\"github-token\",\"secret-kv\"]}");
	/* a clean pair, twice (the second from the thread's cache): nothing changes */
	for (i = 0; i < 2; i++) {
		elog_record_set(&r.component, "api", 3);
		elog_record_set(&r.source, "send", 4);
		elog_record_set(&r.fields, "{\"a\":1}", 7);
		CHECK_INT(elog_redact_record(rd, NULL, &r), 0);
		CHECK_STR(r.component, "api");
		CHECK_STR(r.source, "send");
		CHECK_STR(r.fields, "{\"a\":1}");
	}
	/* the same component after a clean one with another source: scanned again */
	elog_record_set(&r.component, "api", 3);
	elog_record_set(&r.source, "token=abc", 9);
	CHECK_INT(elog_redact_record(rd, NULL, &r), 1);
	CHECK_STR(r.source, "token=[REDACTED:secret-kv]");
	/* a rule that fired before the hub (a logging.v1 session id) */
	elog_record_set(&r.component, "[REDACTED:jwt]", 14);
	elog_record_set(&r.source, "logging.v1", 10);
	elog_record_set(&r.fields, "", 0);
	r.redacted_before = 1ull << rule_index(rd, "jwt");
	CHECK_INT(elog_redact_record(rd, NULL, &r), 1);
	CHECK_STR(r.fields, "{\"redacted\":[\"jwt\"]}");
	CHECK_INT(records_of(rd, "jwt"), 1);
	CHECK_INT(records_of(rd, "secret-kv"), 2);
	CHECK_INT(records_of(rd, "github-token"), 1);
	elog_record_clear(&r);
	elog_redactor_free(rd);
}

static void test_unscannable(void)
{
	struct elog_redactor *rd = rd_new(NULL);
	size_t n = ELOG_REDACT_MAX_TEXT + 1;
	char *big = xmalloc(n + 1);
	uint64_t fired = 0;
	char *r;

	memset(big, 'a', n);
	big[n] = '\0';
	r = elog_redact_text(rd, NULL, NULL, big, n, &fired);
	CHECK(r != NULL && strncmp(r, "[REDACTED:unscannable] text not kept", 36) == 0);
	CHECK(r && strstr(r, "over the limit of 16777216 bytes (redaction scan limit)"));
	CHECK(fired != 0);
	free(r);
	free(big);
	elog_redactor_free(rd);
}

static void test_rules_file(void)
{
	struct elog_redactor *rd = elog_redactor_new();
	struct elog_err err;
	char path[] = "/tmp/elog-redact-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# my rules\n"
			   "rule acct (?i)\\bacct-[0-9]{6}\\b\n"
			   "rule pin pin ([0-9]{4})\n"
			   "replace pin ****\n"
			   "off card-number\n"
			   "on email\n";

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CHECK_INT(elog_redactor_load_file(rd, path, &err), 0);
	CHECK_INT(elog_redactor_compile(rd, &err), 0);
	REDACTS(rd, "user ACCT-123456 ok", "user [REDACTED:acct] ok", "acct");
	REDACTS(rd, "pin 1234 entered", "pin **** entered", "pin");
	REDACTS(rd, "to a@example.org", "to [REDACTED:email]", "email");
	KEEPS(rd, "paid 4111 1111 1111 1111");
	elog_redactor_free(rd);

	/* errors name the file and line */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(write(fd, "rule ok x\nfrobnicate y\n", 23) == 23);
	close(fd);
	rd = elog_redactor_new();
	CHECK_INT(elog_redactor_load_file(rd, path, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "line 2: unknown directive 'frobnicate'") != NULL);
	elog_redactor_free(rd);
	rd = elog_redactor_new();
	CHECK_INT(elog_redactor_set(rd, "jwt,nosuch", 0, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "unknown redaction rule 'nosuch'") != NULL);
	CHECK_INT(elog_redactor_add(rd, "bad", "(unclosed", NULL, &err), 0);
	CHECK_INT(elog_redactor_compile(rd, &err), ELOG_EUSAGE);
	CHECK(strstr(err.msg, "rule 'bad': invalid pattern") != NULL);
	elog_redactor_free(rd);
	unlink(path);
}

static void test_ordinary_corpus(void)
{
	struct elog_redactor *rd = rd_new(NULL);
	FILE *f = fopen("tests/corpus/redact/ordinary.txt", "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	CHECK(f != NULL);
	while (f && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		KEEPS(rd, line);
		n++;
	}
	CHECK(n > 100);
	free(line);
	if (f)
		fclose(f);
	elog_redactor_free(rd);
}

UNIT_MAIN(
	{ "record_names", test_record_names },
	{ "auth_headers", test_auth_headers },
	{ "key_values", test_key_values },
	{ "urls", test_urls },
	{ "token_formats", test_token_formats },
	{ "cards", test_cards },
	{ "pem", test_pem },
	{ "personal_data_off", test_personal_data_off },
	{ "record_fields", test_record_fields },
	{ "unscannable", test_unscannable },
	{ "rules_file", test_rules_file },
	{ "ordinary_corpus", test_ordinary_corpus }
)
