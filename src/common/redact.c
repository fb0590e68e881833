/*
 * redact.c — the redactor's rules (see redact.h): the built-ins, adding, enabling and loading
 * rules, compiling them, and their names and counts. The scan is in redact_scan.c, the JSON
 * walk and the rewriting of a record in redact_json.c, the PEM stream state in
 * redact_stream.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ctype.h>
#include <arpa/inet.h>
#include <yajl/yajl_tree.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "common/redact_internal.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

struct builtin {
	const char *name;
	int on;
	enum check check;
	const char *desc;
	const char *pattern;        /* PCRE2: what exactly is replaced */
	const char *hs;             /* Vectorscan: a quick "may match" (a superset) */
};

#define KV_KEYS "password|passwd|pwd|passphrase|secret|secret[_-]?key|token|api[_-]?key|" \
		"access[_-]?key|private[_-]?key|session|cookie|authorization"

/* The built-in rules, in priority order: where two matches overlap, the earlier rule names
 * the replacement. A pattern's first capturing group, when it has one, is what is replaced. */
static const struct builtin builtins[] = {
	{ "private-key", 1, CK_PEM, "PEM private key blocks (BEGIN to END), also across records",
	  "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----",
	  "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY" },
	{ "jwt", 1, CK_NONE, "JSON Web Tokens (eyJ... . eyJ... . signature)",
	  "\\beyJ[A-Za-z0-9_-]{10,8192}\\.eyJ[A-Za-z0-9_-]{10,16384}\\.[A-Za-z0-9_-]{0,8192}",
	  "\\beyJ[A-Za-z0-9_-]{10,}\\.eyJ" },
	{ "aws-access-key-id", 1, CK_NONE, "AWS access key ids (AKIA..., ASIA...)",
	  "\\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\\b",
	  "\\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}" },
	{ "aws-secret-key", 1, CK_AWS_SECRET, "AWS secret access keys after an aws...secret key name",
	  "(?i)aws[A-Za-z0-9_.-]{0,40}?(?:secret|sk)[A-Za-z0-9_.-]{0,24}(?:\\\\?[\"'])?[ \\t]*[:=]"
	  "[ \\t]*(?:\\\\?[\"'])?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
	  "(?i)aws[A-Za-z0-9_.-]{0,40}(?:secret|sk)" },
	{ "github-token", 1, CK_NONE, "GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
	  "\\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{50,255})",
	  "\\bgh[pousr]_[A-Za-z0-9]{36}|\\bgithub_pat_" },
	{ "gitlab-token", 1, CK_NONE, "GitLab tokens (glpat-, glptt-, gldt-, glrt-, ...)",
	  "\\bgl(?:pat|ptt|dt|rt|soat|ft|cbt|imt|oas)-[A-Za-z0-9_-]{20,255}",
	  "\\bgl(?:pat|ptt|dt|rt|soat|ft|cbt|imt|oas)-[A-Za-z0-9_-]{20}" },
	{ "slack-token", 1, CK_NONE, "Slack tokens (xoxb-, xoxp-, ...) and webhook URLs",
	  "\\bxox[abposre]-[A-Za-z0-9-]{10,255}|https://hooks\\.slack\\.com/(?:services|workflows)/"
	  "[A-Za-z0-9/_-]{20,255}",
	  "\\bxox[abposre]-[A-Za-z0-9-]{10}|hooks\\.slack\\.com/" },
	{ "stripe-key", 1, CK_NONE, "Stripe secret and restricted keys, webhook secrets",
	  "\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,255}|\\bwhsec_[A-Za-z0-9]{24,255}",
	  "\\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16}|\\bwhsec_[A-Za-z0-9]{24}" },
	{ "google-api-key", 1, CK_NONE, "Google API keys (AIza...) and OAuth access tokens (ya29.)",
	  "\\bAIza[0-9A-Za-z_-]{35}|\\bya29\\.[0-9A-Za-z_-]{20,4096}",
	  "\\bAIza[0-9A-Za-z_-]{35}|\\bya29\\.[0-9A-Za-z_-]{20}" },
	{ "elog-api-key", 1, CK_NONE, "elog's own API keys (elog_ and 32 base32 characters)",
	  "\\belog_[a-z2-7]{32}\\b",
	  "\\belog_[a-z2-7]{32}" },
	{ "bearer", 1, CK_BEARER, "Authorization: Bearer credentials",
	  "(?i)\\bbearer[ \\t]+([A-Za-z0-9._~+/-]{8,8192}=*)",
	  "(?i)\\bbearer[ \\t]+[A-Za-z0-9._~+/-]{8}" },
	{ "basic-auth", 1, CK_BASIC, "Authorization: Basic credentials (base64 of user:password)",
	  "(?i)\\bbasic[ \\t]+([A-Za-z0-9+/]{6,8192}={0,2})(?![A-Za-z0-9+/=])",
	  "(?i)\\bbasic[ \\t]+[A-Za-z0-9+/]{6}" },
	{ "url-password", 1, CK_NONE, "passwords in URLs (scheme://user:password@host)",
	  "(?i)\\b[a-z][a-z0-9+.-]{0,20}://[^\\s/:@]{0,256}:([^\\s/@]{1,1024})@",
	  "://[^\\s/:@]*:[^\\s/@]+@" },
	{ "secret-kv", 1, CK_KV, "values of keys that name a secret: k=v, k: v, logfmt, JSON, URL "
	  "query (password, passwd, pwd, secret, token, api_key, access_key, private_key, "
	  "client_secret, session, cookie, set-cookie, authorization, ...)",
	  "(?i)(?:" KV_KEYS ")(?:\\\\?[\"'])?[ \\t]*[:=][ \\t]*(\"(?:[^\"\\\\]|\\\\.)*\"|"
	  "\\\\\"(?:[^\"\\\\]|\\\\[^\"])*\\\\\"|'[^']*'|[^\\s&\"']+)",
	  "(?i)(?:" KV_KEYS ")(?:\\\\?[\"\'])?[ \\t]*[:=]" },
	{ "card-number", 1, CK_CARD, "payment card numbers that pass the Luhn check",
	  "\\b\\d(?:[ -]?\\d){12,18}\\b",
	  NULL },
	{ "email", 0, CK_NONE, "e-mail addresses",
	  "\\b[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\\.[A-Za-z0-9-]{1,63}){0,8}\\.[A-Za-z]{2,24}\\b",
	  "@[A-Za-z0-9-]+\\.[A-Za-z]{2}" },
	{ "ipv4", 0, CK_NONE, "IPv4 addresses",
	  "(?<![0-9.])(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}"
	  "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?![0-9]|\\.[0-9])",
	  "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}" },
	{ "ipv6", 0, CK_IPV6, "IPv6 addresses",
	  "(?i)(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![0-9a-f:])",
	  "(?i)[0-9a-f]{0,4}:[0-9a-f]{0,4}:[0-9a-f]{0,4}" },
	{ "phone", 0, CK_PHONE, "phone numbers (international or with separators)",
	  "(?<![\\w+])(?:\\+[1-9][0-9]{0,2}[ .-]?)?(?:\\([0-9]{2,4}\\)[ .-]?|[0-9]{2,4}[ .-])"
	  "[0-9]{3,4}[ .-]?[0-9]{3,4}(?![\\w])",
	  "[0-9]{3,4}[ .-]?[0-9]{3,4}" },
	{ "unscannable", 1, CK_UNSCANNABLE, "a text that could not be scanned (kept as a notice)",
	  NULL, NULL },
};
#define NBUILTIN (sizeof(builtins) / sizeof(builtins[0]))

/* ---- rules ------------------------------------------------------------------------------- */

static void set_repl(struct rule *r, const char *repl)
{
	struct elog_buf b = ELOG_BUF_INIT;

	free(r->repl);
	if (repl) {
		r->repl = xstrdup(repl);
		return;
	}
	elog_buf_addf(&b, "[REDACTED:%s]", r->name);
	r->repl = elog_buf_detach(&b);
}

struct elog_redactor *elog_redactor_new(void)
{
	struct elog_redactor *rd = xcalloc(1, sizeof(*rd));
	size_t i;

	for (i = 0; i < NBUILTIN; i++) {
		struct rule *r = &rd->rules[rd->n++];

		r->name = xstrdup(builtins[i].name);
		r->pattern = builtins[i].pattern ? xstrdup(builtins[i].pattern) : NULL;
		r->desc = builtins[i].desc;
		r->hs = builtins[i].hs;
		r->builtin = 1;
		r->enabled = builtins[i].on;
		r->check = builtins[i].check;
		if (r->check == CK_UNSCANNABLE)
			rd->unscannable = (int)i;
		set_repl(r, NULL);
	}
	return rd;
}

void redact__tls_free(void *p)
{
	struct redact_tls *t = p;

	if (!t)
		return;
	hs_free_scratch(t->scr);
	free(t->buf);
	free(t->clean_names);
	free(t);
}

void elog_redactor_free(struct elog_redactor *rd)
{
	size_t i;

	if (!rd)
		return;
	if (rd->have_key) {
		redact__tls_free(pthread_getspecific(rd->key));
		pthread_setspecific(rd->key, NULL);
		pthread_key_delete(rd->key);
	}
	for (i = 0; i < rd->n; i++) {
		free(rd->rules[i].name);
		free(rd->rules[i].pattern);
		free(rd->rules[i].repl);
		pcre2_code_free(rd->rules[i].re);
	}
	hs_free_scratch(rd->proto);
	hs_free_database(rd->db);
	pcre2_match_context_free(rd->mctx);
	free(rd);
}

static struct rule *rule_find(struct elog_redactor *rd, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < rd->n; i++)
		if (strlen(rd->rules[i].name) == n && memcmp(rd->rules[i].name, name, n) == 0)
			return &rd->rules[i];
	return NULL;
}

static int name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > ELOG_REDACT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

int elog_redactor_add(struct elog_redactor *rd, const char *name, const char *pattern,
		      const char *replacement, struct elog_err *err)
{
	struct rule *r;

	if (!name_ok(name, strlen(name)))
		return elog_err_set(err, ELOG_EUSAGE, "invalid rule name '%.80s': letters, digits, "
				    "'-', '_' and '.', at most %d bytes", name, ELOG_REDACT_NAME_MAX);
	if (rule_find(rd, name, strlen(name)))
		return elog_err_set(err, ELOG_EUSAGE, "rule '%s' is defined twice", name);
	if (!pattern || !*pattern)
		return elog_err_set(err, ELOG_EUSAGE, "rule '%s' has no pattern", name);
	if (rd->n >= ELOG_REDACT_MAX_RULES)
		return elog_err_set(err, ELOG_EUSAGE, "rule '%s': more than %d rules (the limit of "
				    "redaction rules, built-ins included)", name,
				    ELOG_REDACT_MAX_RULES);
	r = &rd->rules[rd->n++];
	r->name = xstrdup(name);
	r->pattern = xstrdup(pattern);
	r->desc = NULL;
	r->enabled = 1;
	r->check = CK_NONE;
	set_repl(r, replacement);
	rd->compiled = 0;
	return 0;
}

static void known_names(struct elog_redactor *rd, char *out, size_t outsz)
{
	size_t i, len = 0;

	out[0] = '\0';
	for (i = 0; i < rd->n && len < outsz; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s", i ? ", " : "",
					rd->rules[i].name);
}

int elog_redactor_set(struct elog_redactor *rd, const char *list, int on, struct elog_err *err)
{
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		struct rule *r;

		while (n && isspace((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		if (n) {
			r = rule_find(rd, p, n);
			if (!r) {
				char names[400];

				known_names(rd, names, sizeof(names));
				return elog_err_set(err, ELOG_EUSAGE, "unknown redaction rule '%.*s' "
						    "(rules: %s)", (int)(n > 80 ? 80 : n), p, names);
			}
			if (r->check == CK_UNSCANNABLE && !on)
				return elog_err_set(err, ELOG_EUSAGE, "rule 'unscannable' cannot be "
						    "turned off (use --no-redact)");
			r->enabled = on;
			rd->compiled = 0;
		}
		p = e ? e + 1 : NULL;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int elog_redactor_load_file(struct elog_redactor *rd, const char *path, struct elog_err *err)
{
	char *text = NULL, *line, *next;
	int lineno = 0, rc = 0;
	struct elog_err e2;

	rc = elog_read_file(path, &text, err);
	if (rc)
		return rc;
	for (line = text; line && !rc; line = next) {
		char *word, *rest, *sp;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		word = line;
		sp = word + strcspn(word, " \t");
		rest = *sp ? sp + 1 : sp;
		*sp = '\0';
		rest = trim(rest);
		elog_err_clear(&e2);
		if (strcmp(word, "on") == 0 || strcmp(word, "off") == 0) {
			if (!*rest)
				rc = elog_err_set(&e2, ELOG_EUSAGE, "'%s' needs a rule name", word);
			else
				rc = elog_redactor_set(rd, rest, word[1] == 'n', &e2);
		} else if (strcmp(word, "rule") == 0 || strcmp(word, "replace") == 0) {
			char *name = rest, *arg;

			sp = name + strcspn(name, " \t");
			arg = *sp ? sp + 1 : sp;
			*sp = '\0';
			arg = trim(arg);
			if (!*name || !*arg) {
				rc = elog_err_set(&e2, ELOG_EUSAGE, "'%s' needs a name and a %s", word,
						  word[1] == 'u' ? "pattern" : "replacement");
			} else if (word[1] == 'u') {
				rc = elog_redactor_add(rd, name, arg, NULL, &e2);
			} else {
				struct rule *r = rule_find(rd, name, strlen(name));

				if (!r)
					rc = elog_err_set(&e2, ELOG_EUSAGE, "replace: no rule '%.80s' "
							  "(define it with 'rule' first)", name);
				else
					set_repl(r, arg);
			}
		} else {
			rc = elog_err_set(&e2, ELOG_EUSAGE, "unknown directive '%.40s' (expected "
					  "rule, replace, on, off or # comment)", word);
		}
		if (rc)
			elog_err_set(err, ELOG_EUSAGE, "redaction rules '%s', line %d: %s", path, lineno,
				     e2.msg);
	}
	free(text);
	return rc;
}

int elog_redactor_compile(struct elog_redactor *rd, struct elog_err *err)
{
	const char *pats[ELOG_REDACT_MAX_RULES];
	unsigned flags[ELOG_REDACT_MAX_RULES], ids[ELOG_REDACT_MAX_RULES];
	unsigned n = 0;
	hs_compile_error_t *cerr = NULL;
	size_t i;

	hs_free_scratch(rd->proto);
	hs_free_database(rd->db);
	rd->proto = NULL;
	rd->db = NULL;
	rd->card = -1;
	rd->combine = 1;
	if (!rd->mctx) {
		rd->mctx = pcre2_match_context_create(NULL);
		pcre2_set_match_limit(rd->mctx, MATCH_LIMIT);
		pcre2_set_depth_limit(rd->mctx, 10000);
	}
	for (i = 0; i < rd->n; i++) {
		struct rule *r = &rd->rules[i];
		int ecode;
		PCRE2_SIZE eoff;
		uint32_t caps = 0;

		if (!r->pattern || !r->enabled)
			continue;
		if (!r->builtin)
			rd->combine = 0;   /* a file rule's anchors see only its own text */
		if (!r->re) {
			r->re = pcre2_compile((PCRE2_SPTR)r->pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF |
					      PCRE2_MATCH_INVALID_UTF, &ecode, &eoff, NULL);
			if (!r->re) {
				PCRE2_UCHAR msg[200];

				pcre2_get_error_message(ecode, msg, sizeof(msg));
				return elog_err_set(err, ELOG_EUSAGE, "rule '%s': invalid pattern at "
						    "offset %zu: %s", r->name, (size_t)eoff, msg);
			}
			pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
			pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &caps);
			r->group = caps > 0 ? 1 : 0;
		}
		if (r->check == CK_CARD) {
			rd->card = (int)i;  /* found by digit_run, not by Vectorscan */
			continue;
		}
		/* Vectorscan answers "may match", PCRE2 then finds exactly what matched. A
		 * built-in has a scan pattern of its own (Vectorscan's syntax); a file rule's
		 * pattern is scanned in prefilter mode (lookarounds and the like approximated). */
		pats[n] = r->hs ? r->hs : r->pattern;
		flags[n] = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY |
			   (r->hs ? 0 : HS_FLAG_PREFILTER);
		ids[n] = (unsigned)i;
		n++;
	}
	if (n == 0) {
		rd->compiled = 1;
		return 0;
	}
	if (hs_compile_multi(pats, flags, ids, n, HS_MODE_BLOCK, NULL, &rd->db, &cerr) !=
	    HS_SUCCESS) {
		int rc;

		if (cerr && cerr->expression >= 0)
			rc = elog_err_set(err, ELOG_EUSAGE, "rule '%s': pattern not supported by the "
					  "scanner: %s", rd->rules[ids[cerr->expression]].name,
					  cerr->message);
		else
			rc = elog_err_set(err, ELOG_EUSAGE, "cannot compile the redaction rules: %s",
					  cerr ? cerr->message : "unknown error");
		hs_free_compile_error(cerr);
		return rc;
	}
	if (hs_alloc_scratch(rd->db, &rd->proto) != HS_SUCCESS)
		return elog_err_set(err, ELOG_ENOMEM, "cannot allocate the redaction scanner");
	if (!rd->have_key) {
		pthread_key_create(&rd->key, redact__tls_free);
		rd->have_key = 1;
	} else {
		redact__tls_free(pthread_getspecific(rd->key));
		pthread_setspecific(rd->key, NULL);
	}
	rd->compiled = 1;
	return 0;
}

size_t elog_redactor_rules(const struct elog_redactor *rd)
{
	return rd->n;
}

void elog_redactor_rule(const struct elog_redactor *rd, size_t i,
			struct elog_redact_rule_info *out)
{
	const struct rule *r = &rd->rules[i];

	out->name = r->name;
	out->description = r->desc ? r->desc : r->pattern;
	out->pattern = r->pattern;
	out->builtin = r->builtin;
	out->enabled = r->enabled;
	out->records = atomic_load(&((struct rule *)r)->records);
}

void elog_redact_count(struct elog_redactor *rd, uint64_t fired)
{
	size_t i;

	for (i = 0; i < rd->n && fired; i++, fired >>= 1)
		if (fired & 1)
			atomic_fetch_add_explicit(&rd->rules[i].records, 1, memory_order_relaxed);
}

void elog_redact_names_json(struct elog_redactor *rd, uint64_t fired, struct elog_buf *out)
{
	size_t i;
	int first = 1;

	elog_buf_addc(out, '[');
	for (i = 0; i < rd->n; i++) {
		if (!(fired & (1ull << i)))
			continue;
		if (!first)
			elog_buf_addc(out, ',');
		first = 0;
		elog_json_quote(out, rd->rules[i].name, strlen(rd->rules[i].name));
	}
	elog_buf_addc(out, ']');
}
