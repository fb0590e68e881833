/*
 * redact.h — secrets out of records before anything keeps them.
 *
 * A redactor holds rules: built-in ones (credentials, tokens, key blocks, card numbers; the
 * personal-data ones off by default) and rules from a file. Each rule is a PCRE2 pattern and,
 * for the one-pass scan, a Vectorscan (Hyperscan) pattern: all enabled rules are compiled into
 * one Vectorscan database, and every text of a record is scanned once with it. Almost every
 * text matches nothing and is left untouched after that one pass; only the rules that fired
 * run their PCRE2 pattern (JIT) on that text to find exactly what to replace, and a rule's
 * check (Luhn for card numbers, a ':' in a Basic credential, ...) confirms each match.
 *
 * What is replaced: the secret itself (a key-value pair keeps its key, a URL its user name),
 * by "[REDACTED:RULE]" or the rule's own replacement. In the fields (a JSON object), every
 * string value at any depth is scanned, and the value of a key that names a secret (password,
 * token, api_key, cookie, ... see elog_redact_key_is_secret) is replaced whatever its type.
 * A record that was changed gets a field "redacted": the names of the rules that fired.
 *
 * A private key block (PEM) is replaced whole, from its BEGIN line to its END line. When a
 * stream sends it as one record per line, the block's state lives in a struct
 * elog_redact_streams, keyed by the record's component and source: after a BEGIN line with
 * no END, the next records of that stream are replaced while they look like the block's
 * lines (base64, its headers, blank), up to and including the END line.
 *
 * A text the scan cannot handle (longer than ELOG_REDACT_MAX_TEXT, or a pattern that ran out
 * of its match budget on it) is not kept: a message is replaced by a notice with the reason
 * (rule "unscannable"), fields by {"redaction_error": reason}. The record is never dropped.
 *
 * Thread safety: once compiled, a redactor is read-only except for its counters (atomic) and
 * per-thread scratch space; any number of threads may redact at once. A streams table has its
 * own lock.
 */
#ifndef ELOG_REDACT_H
#define ELOG_REDACT_H

#include <stddef.h>
#include <stdint.h>

#include "common/record.h"

struct elog_err;
struct elog_buf;
struct elog_redactor;
struct elog_redact_streams;

#define ELOG_REDACT_MAX_RULES 64           /* built-in and file rules together */
#define ELOG_REDACT_MAX_TEXT (16u << 20)   /* longer texts are not scanned (notice) */
#define ELOG_REDACT_MAX_STREAMS 4096       /* streams inside a private key block at once */
#define ELOG_REDACT_NAME_MAX 64            /* length of a rule name */

/* A new redactor with the built-in rules at their defaults (not compiled yet). */
struct elog_redactor *elog_redactor_new(void);
void elog_redactor_free(struct elog_redactor *rd);

/*
 * Reads a rules file (format in README "Redaction"; lines: "# comment", "on NAME",
 * "off NAME", "rule NAME PATTERN", "replace NAME TEXT"). Returns 0 or ELOG_EUSAGE with err
 * naming the file and line.
 */
int elog_redactor_load_file(struct elog_redactor *rd, const char *path, struct elog_err *err);

/* Adds a rule (enabled). replacement NULL: "[REDACTED:NAME]". Returns 0 or ELOG_EUSAGE. */
int elog_redactor_add(struct elog_redactor *rd, const char *name, const char *pattern,
		      const char *replacement, struct elog_err *err);

/* Turns the comma-separated rules of list on or off. Returns 0, or ELOG_EUSAGE naming an
 * unknown rule (and listing the known ones). */
int elog_redactor_set(struct elog_redactor *rd, const char *list, int on, struct elog_err *err);

/* Compiles the enabled rules. Returns 0, or ELOG_EUSAGE naming the rule whose pattern does
 * not compile. Must be called once before the redactor is used. */
int elog_redactor_compile(struct elog_redactor *rd, struct elog_err *err);

/*
 * Redacts r in place (message, fields, component, source; a "redacted" field is added when
 * anything changed, listing also the rules in r->redacted_before).
 * st (may be NULL) carries private key blocks from one record of a stream to the next.
 * Counts, per rule, the records it changed. Returns the number of rules that fired.
 */
int elog_redact_record(struct elog_redactor *rd, struct elog_redact_streams *st,
		       struct elog_record *r);

/* The same without touching r (whose strings may belong to a buffer): out gets the new
 * malloc'd strings (the caller's to free), NULL for one that is unchanged. */
struct elog_redacted {
	char *msg, *fields, *component, *source;
};
int elog_redact_record_new(struct elog_redactor *rd, struct elog_redact_streams *st,
			   const struct elog_record *r, struct elog_redacted *out);

/*
 * Redacts one text s[0..n): returns a malloc'd redacted copy, or NULL when nothing fired.
 * *fired (not NULL) gets a bit per rule that fired (rule index). stream (may be NULL, with st)
 * keys the private key block state. On a text that cannot be scanned, returns the notice and
 * sets the bit of "unscannable". Counts nothing.
 */
char *elog_redact_text(struct elog_redactor *rd, struct elog_redact_streams *st,
		       const char *stream, const char *s, size_t n, uint64_t *fired);

/* The same for a JSON value's text (string values at any depth, secret keys' values). */
char *elog_redact_json(struct elog_redactor *rd, const char *s, size_t n, uint64_t *fired);

/* Appends the names of the rules in fired to out as a JSON array. */
void elog_redact_names_json(struct elog_redactor *rd, uint64_t fired, struct elog_buf *out);

/* Adds one to the counter of each rule in fired (what elog_redact_record does). */
void elog_redact_count(struct elog_redactor *rd, uint64_t fired);

/* True when a key (of a JSON object, or before '=' or ':') names a secret: its letters and
 * digits (case folded, '_' '-' '.' left out) end with password, passwd, pwd, passphrase,
 * secret, secretkey, token, apikey, accesskey, privatekey, session, cookie or
 * authorization. */
int elog_redact_key_is_secret(const char *k, size_t n);

/* The rules, in order: index i < elog_redactor_rules(rd). */
size_t elog_redactor_rules(const struct elog_redactor *rd);
struct elog_redact_rule_info {
	const char *name;
	const char *description;   /* built-ins: what they find; file rules: the pattern */
	const char *pattern;       /* its PCRE2 pattern (NULL for "unscannable") */
	int builtin;
	int enabled;
	uint64_t records;          /* records it changed */
};
void elog_redactor_rule(const struct elog_redactor *rd, size_t i,
			struct elog_redact_rule_info *out);

/* The private key block state of streams (see above). */
struct elog_redact_streams *elog_redact_streams_new(void);
void elog_redact_streams_free(struct elog_redact_streams *st);

#endif
