/*
 * record.h — the one record model every protocol maps to.
 * A struct elog_record owns its strings (malloc'd or the shared static "", valid UTF-8, never
 * NULL after elog_record_init). elog_record_clear frees them and re-initializes the record;
 * neither init nor clear allocates, so a cleared record holds no memory. The exception: a
 * record made by elog_jsonline_record_arena (jsonline.h) has its strings in an arena and is
 * never cleared.
 */
#ifndef ELOG_RECORD_H
#define ELOG_RECORD_H

#include <stddef.h>
#include <stdint.h>

enum elog_level {
	ELOG_LEVEL_TRACE = 0,
	ELOG_LEVEL_DEBUG = 1,
	ELOG_LEVEL_INFO = 2,
	ELOG_LEVEL_WARN = 3,
	ELOG_LEVEL_ERROR = 4,
	ELOG_LEVEL_FATAL = 5,
};
#define ELOG_LEVEL_COUNT 6

/* Longest message kept; longer ones are cut and end with ELOG_TRUNC_MARK. */
#define ELOG_MAX_LINE (1024 * 1024)
#define ELOG_TRUNC_MARK " …[truncated]"

/*
 * The size limit of one record, meant for every path (README "Limits"): no string of a
 * record is longer than ELOG_MAX_STRING bytes. Every ingest path cuts a message over
 * ELOG_MAX_LINE with ELOG_TRUNC_MARK (so a message is at most ELOG_MAX_STRING), as lines are
 * cut; Hub/Ingest refuses a component, fields, source or dedupe key over ELOG_MAX_LINE (it
 * cannot be cut without changing what it means). Hub/Read (elog_wire_put_record) sends any
 * longer string of the history (stored before the limit, or by a path that does not keep it
 * yet) cut the same way, so that one record, encoded, takes at most ELOG_MAX_RECORD bytes and
 * a page of records always fits a gRPC message.
 */
#define ELOG_MAX_STRING (ELOG_MAX_LINE + sizeof(ELOG_TRUNC_MARK) - 1)
#define ELOG_MAX_RECORD (5 * (ELOG_MAX_STRING + 6) + 4 * 11 + 16)

/*
 * Where to cut the valid-UTF-8 string s of n bytes to fit max bytes: n when n <= max, else
 * the length of its longest prefix of at most max bytes that ends at a character boundary
 * (a cut string is then followed by ELOG_TRUNC_MARK).
 */
size_t elog_record_cut_len(const char *s, size_t n, size_t max);

/* A message as every ingest path keeps it: s[0..n) as valid UTF-8 (a NUL-terminated malloc'd
 * copy), cut at a character boundary to ELOG_MAX_LINE and ended with ELOG_TRUNC_MARK when
 * longer; *cut (may be NULL) is set to whether it was. The one place that rule lives. */
char *elog_record_msg_dup(const char *s, size_t n, int *cut);

struct elog_record {
	int64_t id;          /* server-assigned, > 0 once stored; 0 before */
	int64_t ts_ns;       /* event time; 0 = unknown (the store uses arrival) */
	int64_t arrival_ns;  /* set by the hub */
	int level;           /* enum elog_level */
	char *component;
	char *msg;
	char *fields;        /* JSON object text; "" when there are none */
	char *source;
	char *dedupe_key;    /* "" when none */
	/* rules (redact.h bits) that fired on a part of it redacted before the hub saw it (a
	 * logging.v1 session id, its component): the hub lists them in "redacted" too */
	uint64_t redacted_before;
};

void elog_record_init(struct elog_record *r);
void elog_record_clear(struct elog_record *r);
/* Clears recs[0..n) and frees the array (malloc'd); accepts NULL. The one function that frees
 * an array of records. */
void elog_records_free(struct elog_record *recs, size_t n);
/* Replaces *slot (freeing it) with a valid-UTF-8 copy of s[0..n). */
void elog_record_set(char **slot, const char *s, size_t n);

/*
 * Empty record strings point to one shared static "" (so init/clear allocate nothing and a
 * cleared record holds no memory): never free() a record string directly. Use
 * elog_record_set, elog_record_take, or elog_record_str_free.
 */
/* Replaces *slot (freeing it) with s, a malloc'd valid-UTF-8 string the record now owns. */
void elog_record_take(char **slot, char *s);
/* Frees one record string (a no-op for the shared empty string). */
void elog_record_str_free(char *s);

/* Name of a level: "trace" ... "fatal"; "info" for out-of-range values. */
const char *elog_level_name(int level);

/*
 * Normalizes a level given as text: trace/debug/info/warn/error/fatal and their usual
 * spellings (warning, err, critical, crit, panic, dpanic, emerg, alert, notice, verbose,
 * information, fine...), case-insensitive; syslog numbers 0-7 ("0".."7") and bunyan/pino
 * numbers (10,20,30,40,50,60). Returns the level, or -1 when it is not recognized.
 */
int elog_level_parse(const char *s, size_t n);

/* The same for a JSON number: syslog 0-7, bunyan/pino 10-60. -1 when not recognized. */
int elog_level_from_number(double v);

/*
 * Parses a level filter: a comma list ("error,warn"), a minimum ("warn+" or ">=warn"), or a
 * maximum ("<=debug"). Sets bit (1 << level) in *mask for each selected level.
 * Returns 0, or ELOG_EUSAGE with err set ("unknown level 'x'").
 */
struct elog_err;
int elog_level_filter_parse(const char *spec, unsigned *mask, struct elog_err *err);

#endif
