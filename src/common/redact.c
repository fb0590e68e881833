/*
 * redact.c — rules, the one-pass scan and the rewriting of a record (see redact.h).
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <hs.h>
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

#include "common/redact.h"
#include "common/err.h"
#include "common/json.h"
#include "common/util.h"

enum check {
	CK_NONE = 0,
	CK_BEARER,      /* the credential has a digit or a symbol, or is long */
	CK_BASIC,       /* the credential is base64 of "user:password" */
	CK_KV,          /* key-value: a cookie or authorization header value runs to the line end */
	CK_AWS_SECRET,  /* 40 characters of mixed case, not hex */
	CK_PEM,         /* the block from BEGIN to END (or the end of the text, then stream state) */
	CK_CARD,        /* Luhn, a known issuer prefix, consistent grouping */
	CK_IPV6,        /* inet_pton accepts it */
	CK_PHONE,       /* 9 to 15 digits */
	CK_UNSCANNABLE, /* not a pattern: the notice of a text that could not be scanned */
};

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

struct rule {
	char *name;
	char *pattern;
	const char *hs;             /* built-ins: their scan pattern; NULL: pattern */
	char *repl;                 /* what replaces a match */
	const char *desc;
	int builtin, enabled;
	enum check check;
	pcre2_code *re;
	int group;                  /* capture group replaced (0: the whole match) */
	_Atomic uint64_t records;
};

struct elog_redactor {
	struct rule rules[ELOG_REDACT_MAX_RULES];
	size_t n;
	int unscannable;            /* index of the "unscannable" rule */
	int card;                   /* index of card-number when enabled, else -1 */
	int compiled;
	hs_database_t *db;          /* NULL when no rule is enabled */
	hs_scratch_t *proto;        /* cloned per thread */
	pthread_key_t key;
	int have_key;
	pcre2_match_context *mctx;
};

#define MATCH_LIMIT 10000000u

/* ---- streams: private key blocks across records ----------------------------------------- */

struct pem_stream {
	char *component, *source;
	uint64_t touch;
	struct pem_stream *next;
};

struct elog_redact_streams {
	pthread_mutex_t mu;
	_Atomic size_t n;
	struct pem_stream *list;
	uint64_t clock;
};

struct elog_redact_streams *elog_redact_streams_new(void)
{
	struct elog_redact_streams *st = xcalloc(1, sizeof(*st));

	pthread_mutex_init(&st->mu, NULL);
	return st;
}

void elog_redact_streams_free(struct elog_redact_streams *st)
{
	struct pem_stream *p, *nx;

	if (!st)
		return;
	for (p = st->list; p; p = nx) {
		nx = p->next;
		free(p->component);
		free(p->source);
		free(p);
	}
	pthread_mutex_destroy(&st->mu);
	free(st);
}

/* Under mu: the entry of (c, s), or NULL; *prevp its predecessor. */
static struct pem_stream *stream_find(struct elog_redact_streams *st, const char *c,
				      const char *s, struct pem_stream ***link)
{
	struct pem_stream **pp;

	for (pp = &st->list; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->component, c) == 0 && strcmp((*pp)->source, s) == 0) {
			if (link)
				*link = pp;
			return *pp;
		}
	}
	return NULL;
}

static int stream_in_block(struct elog_redact_streams *st, const char *c, const char *s)
{
	int in;

	if (!st || !c || atomic_load(&st->n) == 0)
		return 0;
	pthread_mutex_lock(&st->mu);
	in = stream_find(st, c, s, NULL) != NULL;
	pthread_mutex_unlock(&st->mu);
	return in;
}

static void stream_set(struct elog_redact_streams *st, const char *c, const char *s, int in)
{
	struct pem_stream **link = NULL, *p;

	if (!st || !c)
		return;
	pthread_mutex_lock(&st->mu);
	p = stream_find(st, c, s, &link);
	if (in && !p) {
		if (atomic_load(&st->n) >= ELOG_REDACT_MAX_STREAMS) {   /* forget the oldest */
			struct pem_stream **pp, **old = NULL;

			for (pp = &st->list; *pp; pp = &(*pp)->next)
				if (!old || (*pp)->touch < (*old)->touch)
					old = pp;
			p = *old;
			*old = p->next;
			free(p->component);
			free(p->source);
			free(p);
			atomic_fetch_sub(&st->n, 1);
		}
		p = xcalloc(1, sizeof(*p));
		p->component = xstrdup(c);
		p->source = xstrdup(s);
		p->next = st->list;
		st->list = p;
		atomic_fetch_add(&st->n, 1);
	} else if (!in && p) {
		*link = p->next;
		free(p->component);
		free(p->source);
		free(p);
		atomic_fetch_sub(&st->n, 1);
		p = NULL;
	}
	if (p)
		p->touch = ++st->clock;
	pthread_mutex_unlock(&st->mu);
}

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

static void scratch_free(void *p)
{
	hs_free_scratch(p);
}

void elog_redactor_free(struct elog_redactor *rd)
{
	size_t i;

	if (!rd)
		return;
	if (rd->have_key) {
		hs_scratch_t *s = pthread_getspecific(rd->key);

		if (s)
			hs_free_scratch(s);
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
		pthread_key_create(&rd->key, scratch_free);
		rd->have_key = 1;
	} else {
		hs_scratch_t *s = pthread_getspecific(rd->key);

		if (s)
			hs_free_scratch(s);
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

/* ---- checks ------------------------------------------------------------------------------ */

static int key_ends(const char *norm, size_t n, const char *w)
{
	size_t k = strlen(w);

	return n >= k && memcmp(norm + n - k, w, k) == 0;
}

int elog_redact_key_is_secret(const char *k, size_t n)
{
	static const char *const words[] = {
		"password", "passwd", "pwd", "passphrase", "secret", "secretkey", "token", "apikey",
		"accesskey", "privatekey", "session", "cookie", "authorization",
	};
	char norm[64];
	size_t m = 0, i;

	/* only the last 63 letters and digits matter */
	for (i = n; i > 0 && m < sizeof(norm) - 1; i--) {
		unsigned char c = (unsigned char)k[i - 1];

		if (c == '_' || c == '-' || c == '.' || c == ' ')
			continue;
		norm[m++] = (char)tolower(c);
	}
	/* norm holds the key reversed: turn it around */
	for (i = 0; i < m / 2; i++) {
		char t = norm[i];

		norm[i] = norm[m - 1 - i];
		norm[m - 1 - i] = t;
	}
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (key_ends(norm, m, words[i]))
			return 1;
	return 0;
}

static int b64val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* True when s[0..n) is base64 of a text holding ':' (user:password). */
static int basic_ok(const char *s, size_t n)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n && s[i] != '='; i++) {
		int v = b64val((unsigned char)s[i]);

		if (v < 0)
			return 0;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (((acc >> bits) & 0xff) == ':')
				return 1;
		}
	}
	return 0;
}

static int bearer_ok(const char *s, size_t n)
{
	size_t i;

	if (n >= 24)
		return 1;
	for (i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 1;
	return 0;
}

static int aws_secret_ok(const char *s, size_t n)
{
	int up = 0, low = 0, hex = 1;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		up |= isupper(c) != 0;
		low |= islower(c) != 0;
		if (!isxdigit(c))
			hex = 0;
	}
	return up && low && !hex;
}

static int luhn(const char *d, size_t n)
{
	int sum = 0, dbl = 0;
	size_t i;

	for (i = n; i > 0; i--) {
		int v = d[i - 1] - '0';

		if (dbl) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
		dbl = !dbl;
	}
	return sum % 10 == 0;
}

static int card_prefix_ok(const char *d, size_t n)
{
	int two = (d[0] - '0') * 10 + (d[1] - '0');

	switch (d[0]) {
	case '4':
		return n == 13 || n == 16 || n == 19;
	case '5':
		return two >= 51 && two <= 55 && n == 16;
	case '2':
		return two >= 22 && two <= 27 && n == 16;
	case '3':
		if (two == 34 || two == 37)
			return n == 15;
		return (two == 30 || two == 36 || two == 38 || two == 39 || two == 35) &&
		       n >= 14 && n <= 16;
	case '6':
		return n >= 16 && n <= 19;
	}
	return 0;
}

/*
 * A card number in text[a..b) (digits, maybe grouped by ' ' or '-'): tries the whole run,
 * then shorter prefixes ending at a group boundary. Sets *end. The run must not be part of a
 * dotted or dashed number (a version, an address, a UUID).
 */
static int card_ok(const char *t, size_t len, size_t a, size_t b, size_t *end)
{
	char digits[24];
	size_t ends[24], nd = 0, ne = 0, i;
	char sep = 0;

	if (a > 0 && (t[a - 1] == '-' || t[a - 1] == '.' || t[a - 1] == ':' || t[a - 1] == '/'))
		return 0;
	if (b < len && (t[b] == '.' || t[b] == '-' || t[b] == ':') && b + 1 < len &&
	    isdigit((unsigned char)t[b + 1]))
		return 0;
	for (i = a; i < b; i++) {
		if (isdigit((unsigned char)t[i])) {
			if (nd >= 19)
				return 0;
			digits[nd++] = t[i];
		} else {
			if (sep && t[i] != sep)
				return 0;       /* mixed separators: not a card */
			sep = t[i];
			ends[ne++] = nd;
		}
	}
	ends[ne++] = nd;
	for (i = ne; i > 0; i--) {
		size_t n = ends[i - 1];

		if (n < 13)
			break;
		if (card_prefix_ok(digits, n) && luhn(digits, n)) {
			/* the text position after the n-th digit */
			size_t k = a, c = 0;

			while (c < n) {
				if (isdigit((unsigned char)t[k]))
					c++;
				k++;
			}
			*end = k;
			return 1;
		}
		if (!sep)
			break;          /* an ungrouped run is all or nothing */
	}
	return 0;
}

static int phone_ok(const char *s, size_t n)
{
	size_t i, d = 0;

	for (i = 0; i < n; i++)
		d += isdigit((unsigned char)s[i]) != 0;
	return d >= 9 && d <= 15;
}

static int ipv6_ok(const char *s, size_t n)
{
	char buf[64];
	unsigned char addr[16];

	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, addr) == 1;
}

/* A line of a PEM block's body: base64, a header ("Proc-Type: ..."), or blank. */
static int pem_body_line(const char *s, size_t n)
{
	size_t i;

	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0)
		return 1;
	if ((n > 10 && strncmp(s, "Proc-Type:", 10) == 0) ||
	    (n > 9 && strncmp(s, "DEK-Info:", 9) == 0) || (n > 8 && strncmp(s, "Comment:", 8) == 0) ||
	    (n > 8 && strncmp(s, "Version:", 8) == 0))
		return 1;
	if (n > 128)
		return 0;
	for (i = 0; i < n; i++)
		if (b64val((unsigned char)s[i]) < 0 && s[i] != '=')
			return 0;
	return 1;
}

/* Where the END line after pos ends ("-----END ... PRIVATE KEY...-----"), or 0. */
static size_t pem_end(const char *t, size_t len, size_t pos)
{
	const char *p = t + pos;

	while ((p = memmem(p, len - (size_t)(p - t), "-----END", 8)) != NULL) {
		const char *q = memmem(p + 8, len - (size_t)(p + 8 - t), "-----", 5);

		if (!q || q - p > 80)
			return 0;
		if (memmem(p, (size_t)(q - p), "PRIVATE KEY", 11))
			return (size_t)(q + 5 - t);
		p = q + 5;
	}
	return 0;
}

/* ---- scanning ---------------------------------------------------------------------------- */

struct span {
	size_t a, b;
	int rule;
};

struct spans {
	struct span *v;
	size_t n, cap;
};

static void span_add(struct spans *s, size_t a, size_t b, int rule)
{
	if (a >= b)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n].a = a;
	s->v[s->n].b = b;
	s->v[s->n].rule = rule;
	s->n++;
}

static int span_cmp(const void *x, const void *y)
{
	const struct span *a = x, *b = y;

	if (a->a != b->a)
		return a->a < b->a ? -1 : 1;
	return a->rule - b->rule;
}

static int on_hs_match(unsigned id, unsigned long long from, unsigned long long to,
		       unsigned flags, void *ctx)
{
	(void)from;
	(void)to;
	(void)flags;
	*(uint64_t *)ctx |= 1ull << id;
	return 0;
}

static hs_scratch_t *thread_scratch(struct elog_redactor *rd)
{
	hs_scratch_t *s = pthread_getspecific(rd->key);

	if (!s) {
		if (hs_clone_scratch(rd->proto, &s) != HS_SUCCESS)
			return NULL;
		pthread_setspecific(rd->key, s);
	}
	return s;
}

/*
 * True when s[0..n) holds 13 digits in a row, or grouped by single spaces or dashes: what a
 * card number needs. A byte loop: a digit class is the costliest thing to ask Vectorscan for
 * (about 10 us a line for the card pattern, 40 times a literal's cost), as digits are
 * everywhere in logs.
 */
static int digit_run(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, digits = 0;
	int sep = 0;

	/* Most texts have fewer than 13 digits in all: count them 16 bytes at a time. */
#ifdef __SSE2__
	{
		const __m128i lo = _mm_set1_epi8('0' - 1), hi = _mm_set1_epi8('9' + 1);

		for (; i + 16 <= n; i += 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)(p + i));
			__m128i d = _mm_and_si128(_mm_cmpgt_epi8(v, lo), _mm_cmplt_epi8(v, hi));

			digits += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(d));
		}
	}
#endif
	for (; i < n; i++)
		digits += (unsigned)(p[i] - '0') < 10;
	if (digits < 13)
		return 0;
	/* branch-free: digits and separators interleave unpredictably in logs */
	for (i = 0; i < n; i++) {
		unsigned c = p[i];
		unsigned isd = c - '0' < 10u;
		unsigned iss = (c == ' ') | (c == '-');
		unsigned keep = isd | (iss & !sep);   /* one separator between digits */

		run = (run + isd) * keep;
		sep = (int)(iss & !sep & !isd);
		if (run >= 13)
			return 1;
	}
	return 0;
}

/* The rules that may match s[0..n) (one Vectorscan pass). -1 when the scan failed. */
static int prescan(struct elog_redactor *rd, const char *s, size_t n, uint64_t *mask)
{
	hs_scratch_t *scr;

	*mask = 0;
	if (n == 0)
		return 0;
	if (rd->card >= 0 && digit_run(s, n))
		*mask |= 1ull << rd->card;
	if (!rd->db)
		return 0;
	scr = thread_scratch(rd);
	if (!scr)
		return -1;
	if (hs_scan(rd->db, s, (unsigned)n, 0, scr, on_hs_match, mask) != HS_SUCCESS)
		return -1;
	return 0;
}

/* Runs rule i on s[0..n), adding its confirmed matches. Returns 0, or -1 when its match
 * budget ran out. */
static int rule_spans(struct elog_redactor *rd, int i, const char *s, size_t n,
		      struct spans *out, int *pem_open)
{
	struct rule *r = &rd->rules[i];
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->re, NULL);
	PCRE2_SIZE off = 0;
	int rc = 0;

	while (off <= n) {
		int m = pcre2_match(r->re, (PCRE2_SPTR)s, n, off, 0, md, rd->mctx);
		PCRE2_SIZE *ov;
		size_t a, b, ma, mb;

		if (m == PCRE2_ERROR_NOMATCH)
			break;
		if (m < 0) {
			rc = -1;
			break;
		}
		ov = pcre2_get_ovector_pointer(md);
		ma = ov[0];
		mb = ov[1];
		a = ma;
		b = mb;
		if (r->group && (uint32_t)m > (uint32_t)r->group && ov[2 * r->group] != PCRE2_UNSET) {
			a = ov[2 * r->group];
			b = ov[2 * r->group + 1];
		}
		switch (r->check) {
		case CK_BEARER:
			if (!bearer_ok(s + a, b - a))
				a = b;
			break;
		case CK_BASIC:
			if (!basic_ok(s + a, b - a))
				a = b;
			break;
		case CK_AWS_SECRET:
			if (!aws_secret_ok(s + a, b - a))
				a = b;
			break;
		case CK_KV:
			if (s[a] != '"' && s[a] != '\'' && s[a] != '\\') {
				/* a cookie or authorization header: its value runs to the end of the line */
				const char *kw = s + ma;
				size_t kl = 0;

				while (ma + kl < n && (isalnum((unsigned char)kw[kl]) || kw[kl] == '-' ||
						       kw[kl] == '_'))
					kl++;
				if ((kl >= 6 && strncasecmp(kw + kl - 6, "cookie", 6) == 0) ||
				    (kl >= 13 && strncasecmp(kw + kl - 13, "authorization", 13) == 0)) {
					while (b < n && s[b] != '\n' && s[b] != '\r' && s[b] != '"')
						b++;
				}
			}
			break;
		case CK_PEM: {
			size_t e = pem_end(s, n, mb);

			if (e) {
				b = e;
			} else {
				b = n;
				*pem_open = 1;
			}
			break;
		}
		case CK_CARD: {
			size_t e;

			if (card_ok(s, n, a, b, &e))
				b = e;
			else
				a = b;
			break;
		}
		case CK_IPV6:
			if (!ipv6_ok(s + a, b - a))
				a = b;
			break;
		case CK_PHONE:
			if (!phone_ok(s + a, b - a))
				a = b;
			break;
		default:
			break;
		}
		span_add(out, a, b, i);
		if (mb > off)
			off = mb > b ? mb : b;
		else
			off = mb + 1;       /* empty match: step on */
		if (r->check == CK_PEM && b > off)
			off = b;
	}
	pcre2_match_data_free(md);
	return rc;
}

/* The lines at the start of s that continue an open private key block: their length, and
 * *closed when the END line was among them. */
static size_t pem_continue(const char *s, size_t n, int *closed)
{
	size_t pos = 0;

	*closed = 0;
	while (pos < n) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t e = nl ? (size_t)(nl - s) : n;
		const char *line = s + pos;
		size_t ll = e - pos;

		if (ll >= 8 && memcmp(line, "-----END", 8) == 0) {
			*closed = 1;
			return e;
		}
		if (!pem_body_line(line, ll)) {
			*closed = 1;    /* not part of the block: the block is over */
			return pos ? pos - 1 : 0;
		}
		pos = nl ? e + 1 : n;
	}
	return n;
}

static char *notice(struct elog_redactor *rd, const char *why)
{
	struct elog_buf b = ELOG_BUF_INIT;

	elog_buf_addf(&b, "%s text not kept: it could not be scanned for secrets (%s)",
		      rd->rules[rd->unscannable].repl, why);
	return elog_buf_detach(&b);
}

/* The redaction of s[0..n) into *out (NULL: unchanged); the stream is (c, src) when st. */
static char *redact_text(struct elog_redactor *rd, struct elog_redact_streams *st,
			 const char *c, const char *src, const char *s, size_t n, uint64_t *fired)
{
	struct spans sp = { NULL, 0, 0 };
	uint64_t mask = 0;
	int pem_open = 0, in_block;
	size_t i;
	struct elog_buf b = ELOG_BUF_INIT;
	size_t pos;

	*fired = 0;
	if (n > ELOG_REDACT_MAX_TEXT) {
		char why[128];

		snprintf(why, sizeof(why), "%zu bytes, over the limit of %u bytes (redaction scan "
			 "limit)", n, ELOG_REDACT_MAX_TEXT);
		*fired = 1ull << rd->unscannable;
		return notice(rd, why);
	}
	in_block = stream_in_block(st, c, src);
	if (in_block) {
		struct rule *pr = NULL;
		int closed;
		size_t e = pem_continue(s, n, &closed);

		for (i = 0; i < rd->n; i++)
			if (rd->rules[i].check == CK_PEM)
				pr = &rd->rules[i];
		if (pr && pr->enabled && e > 0)
			span_add(&sp, 0, e, (int)(pr - rd->rules));
		if (closed || !(pr && pr->enabled))
			stream_set(st, c, src, 0);
	}
	if (prescan(rd, s, n, &mask) != 0) {
		free(sp.v);
		*fired = 1ull << rd->unscannable;
		return notice(rd, "the scanner failed");
	}
	for (i = 0; mask && i < rd->n; i++) {
		if (!(mask & (1ull << i)))
			continue;
		if (rule_spans(rd, (int)i, s, n, &sp, &pem_open) != 0) {
			char why[160];

			snprintf(why, sizeof(why), "rule '%s' reached its match limit of %u steps",
				 rd->rules[i].name, MATCH_LIMIT);
			free(sp.v);
			*fired = 1ull << rd->unscannable;
			return notice(rd, why);
		}
	}
	if (pem_open)
		stream_set(st, c, src, 1);
	if (sp.n == 0)
		return NULL;
	qsort(sp.v, sp.n, sizeof(*sp.v), span_cmp);
	pos = 0;
	for (i = 0; i < sp.n;) {
		size_t a = sp.v[i].a, e = sp.v[i].b;
		int r = sp.v[i].rule;
		size_t j = i + 1;

		while (j < sp.n && sp.v[j].a < e) {
			if (sp.v[j].b > e)
				e = sp.v[j].b;
			*fired |= 1ull << sp.v[j].rule;
			j++;
		}
		*fired |= 1ull << r;
		elog_buf_add(&b, s + pos, a - pos);
		elog_buf_adds(&b, rd->rules[r].repl);
		pos = e;
		i = j;
	}
	elog_buf_add(&b, s + pos, n - pos);
	free(sp.v);
	return elog_buf_detach(&b);
}

char *elog_redact_text(struct elog_redactor *rd, struct elog_redact_streams *st,
		       const char *stream, const char *s, size_t n, uint64_t *fired)
{
	return redact_text(rd, st, stream, "", s, n, fired);
}

/* ---- JSON -------------------------------------------------------------------------------- */

struct walk {
	struct elog_redactor *rd;
	struct elog_buf out;
	uint64_t fired;
	int failed;
	int kv;                     /* index of secret-kv (-1 when off) */
};

static void walk(struct walk *w, yajl_val v, int top)
{
	size_t i;

	if (!v) {
		elog_buf_adds(&w->out, "null");
	} else if (YAJL_IS_STRING(v)) {
		const char *s = YAJL_GET_STRING(v);
		uint64_t f = 0;
		char *r = redact_text(w->rd, NULL, NULL, NULL, s, strlen(s), &f);

		w->fired |= f;
		elog_json_quote(&w->out, r ? r : s, strlen(r ? r : s));
		free(r);
	} else if (YAJL_IS_NUMBER(v)) {
		const char *s = YAJL_GET_NUMBER(v);
		uint64_t f = 0;
		char *r = redact_text(w->rd, NULL, NULL, NULL, s, strlen(s), &f);

		w->fired |= f;
		if (r)
			elog_json_quote(&w->out, r, strlen(r));
		else
			elog_buf_adds(&w->out, s);
		free(r);
	} else if (YAJL_IS_TRUE(v)) {
		elog_buf_adds(&w->out, "true");
	} else if (YAJL_IS_FALSE(v)) {
		elog_buf_adds(&w->out, "false");
	} else if (YAJL_IS_OBJECT(v)) {
		int first = 1;

		elog_buf_addc(&w->out, '{');
		for (i = 0; i < v->u.object.len; i++) {
			const char *k = v->u.object.keys[i];

			if (top && strcmp(k, "redacted") == 0)
				continue;
			if (!first)
				elog_buf_addc(&w->out, ',');
			first = 0;
			elog_json_quote(&w->out, k, strlen(k));
			elog_buf_addc(&w->out, ':');
			if (w->kv >= 0 && elog_redact_key_is_secret(k, strlen(k)) &&
			    !YAJL_IS_NULL(v->u.object.values[i])) {
				struct rule *r = &w->rd->rules[w->kv];

				elog_json_quote(&w->out, r->repl, strlen(r->repl));
				w->fired |= 1ull << w->kv;
			} else {
				walk(w, v->u.object.values[i], 0);
			}
		}
		elog_buf_addc(&w->out, '}');
	} else if (YAJL_IS_ARRAY(v)) {
		elog_buf_addc(&w->out, '[');
		for (i = 0; i < v->u.array.len; i++) {
			if (i)
				elog_buf_addc(&w->out, ',');
			walk(w, v->u.array.values[i], 0);
		}
		elog_buf_addc(&w->out, ']');
	} else {
		elog_buf_adds(&w->out, "null");
	}
}

static int kv_index(struct elog_redactor *rd)
{
	size_t i;

	for (i = 0; i < rd->n; i++)
		if (rd->rules[i].check == CK_KV)
			return rd->rules[i].enabled ? (int)i : -1;
	return -1;
}

/*
 * Redacts the JSON text s[0..n) (NUL-terminated at n). top: it is a record's fields (a
 * top-level "redacted" key is dropped, and has_redacted tells whether there was one). Returns
 * the new text, or NULL when unchanged.
 */
static char *redact_json(struct elog_redactor *rd, const char *s, size_t n, uint64_t *fired,
			 int top)
{
	uint64_t mask = 0;
	yajl_val v;
	struct walk w;

	*fired = 0;
	if (n > ELOG_REDACT_MAX_TEXT) {
		*fired = 1ull << rd->unscannable;
		return NULL;
	}
	if (prescan(rd, s, n, &mask) != 0) {
		*fired = 1ull << rd->unscannable;
		return NULL;
	}
	/* escapes can hide what the raw text shows: look at the decoded values then */
	if (!mask && !memchr(s, '\\', n) && !(top && memmem(s, n, "\"redacted\"", 10)))
		return NULL;
	v = elog_json_tree_parse(s);
	if (!v) {
		/* not JSON: redact it as text */
		return redact_text(rd, NULL, NULL, NULL, s, n, fired);
	}
	memset(&w, 0, sizeof(w));
	w.rd = rd;
	w.kv = kv_index(rd);
	walk(&w, v, top);
	yajl_tree_free(v);
	*fired = w.fired;
	if (!w.fired && !top) {
		elog_buf_release(&w.out);
		return NULL;
	}
	return elog_buf_detach(&w.out);
}

char *elog_redact_json(struct elog_redactor *rd, const char *s, size_t n, uint64_t *fired)
{
	char *r;

	if (n > ELOG_REDACT_MAX_TEXT) {
		*fired = 1ull << rd->unscannable;
		return xstrdup("{}");
	}
	r = redact_json(rd, s, n, fired, 0);
	if (!r && (*fired & (1ull << rd->unscannable)))
		return xstrdup("{}");
	return r;
}

/* ---- records ----------------------------------------------------------------------------- */

int elog_redact_record_new(struct elog_redactor *rd, struct elog_redact_streams *st,
			   const struct elog_record *r, char **msg_out, char **fields_out)
{
	uint64_t fired = 0, f = 0;
	char *msg = NULL, *fields = NULL;
	size_t fl = strlen(r->fields);
	int nfired = 0, i;

	*msg_out = NULL;
	*fields_out = NULL;
	if (!rd || !rd->compiled)
		return 0;
	if (*r->msg)
		msg = redact_text(rd, st, r->component, r->source, r->msg, strlen(r->msg), &fired);
	else if (stream_in_block(st, r->component, r->source))
		stream_set(st, r->component, r->source, 0);
	if (fl > 2 || (fl && strcmp(r->fields, "{}") != 0)) {
		fields = redact_json(rd, r->fields, fl, &f, 1);
		if (!fields && (f & (1ull << rd->unscannable))) {
			struct elog_buf b = ELOG_BUF_INIT;
			const char *why = "fields not kept: they could not be scanned for secrets";

			elog_buf_adds(&b, "{\"redaction_error\":");
			elog_json_quote(&b, why, strlen(why));
			elog_buf_addc(&b, '}');
			fields = elog_buf_detach(&b);
		}
		fired |= f;
		/* walked (escapes, a "redacted" key) but nothing fired: keep the text as it was,
		 * unless it carried a "redacted" key of its own */
		if (fields && !fired && !memmem(r->fields, fl, "\"redacted\"", 10)) {
			free(fields);
			fields = NULL;
		}
	}
	if (fired) {
		struct elog_buf b = ELOG_BUF_INIT;
		const char *base = fields ? fields : r->fields;
		size_t bl = strlen(base);

		size_t a0 = 0;

		/* base is an object text "{...}": add "redacted" before its '}'; anything else
		 * (not expected: fields are objects) is kept as a string beside it */
		while (bl && (base[bl - 1] == ' ' || base[bl - 1] == '\n' || base[bl - 1] == '\t' ||
			      base[bl - 1] == '\r'))
			bl--;
		while (a0 < bl && (base[a0] == ' ' || base[a0] == '\n' || base[a0] == '\t' ||
				   base[a0] == '\r'))
			a0++;
		if (bl - a0 >= 2 && base[bl - 1] == '}' && base[a0] == '{') {
			size_t k = bl - 1;

			elog_buf_add(&b, base + a0, k - a0);
			while (k > a0 + 1 && (base[k - 1] == ' ' || base[k - 1] == '\n' ||
					      base[k - 1] == '\t' || base[k - 1] == '\r'))
				k--;
			if (k > a0 + 1)
				elog_buf_addc(&b, ',');
		} else {
			elog_buf_addc(&b, '{');
			if (bl > a0) {
				elog_buf_adds(&b, "\"fields\":");
				elog_json_quote(&b, base + a0, bl - a0);
				elog_buf_addc(&b, ',');
			}
		}
		elog_buf_adds(&b, "\"redacted\":");
		elog_redact_names_json(rd, fired, &b);
		elog_buf_addc(&b, '}');
		free(fields);
		fields = elog_buf_detach(&b);
		elog_redact_count(rd, fired);
	}
	*msg_out = msg;
	*fields_out = fields;
	for (i = 0; i < 64; i++)
		nfired += (fired >> i) & 1;
	return nfired;
}

int elog_redact_record(struct elog_redactor *rd, struct elog_redact_streams *st,
		       struct elog_record *r)
{
	char *msg, *fields;
	int n = elog_redact_record_new(rd, st, r, &msg, &fields);

	if (msg)
		elog_record_take(&r->msg, msg);
	if (fields)
		elog_record_take(&r->fields, fields);
	return n;
}
