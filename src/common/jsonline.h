/*
 * jsonline.h — turning one line of text (or one JSON object) into a record.
 */
#ifndef ELOG_JSONLINE_H
#define ELOG_JSONLINE_H

#include <stddef.h>
#include "common/record.h"

/*
 * Parses line[0..n) (no trailing newline; one is tolerated) into r, which must be
 * initialized. A JSON object takes: level from level/lvl/severity/levelname and the common
 * schemas' keys (log.level, L, @l, Level, loglevel, log_level, level_name, SeverityText,
 * severity_text; text or number), message from msg/message/M/textPayload/@m/@mt/Body/
 * RenderedMessage, time from ts/time/timestamp/@timestamp/T/@t/Timestamp (text or epoch number),
 * component from component (string, or object: name, else id, else type; the object itself is
 * kept in fields), every other key (and nested values) kept in r->fields as a JSON object.
 * Anything else (not JSON, broken JSON, a JSON array or scalar) becomes r->msg as text.
 * An object or array nested deeper than ELOG_JSON_MAX_DEPTH (json.h) is kept in r->fields as
 * a JSON string of its raw text, so stored fields never nest deeper than that.
 * Text is repaired to valid UTF-8; a message longer than ELOG_MAX_LINE is cut with
 * ELOG_TRUNC_MARK. Fields of r already set are overwritten only by what the line has:
 * callers fill defaults (component, level) first, or after, by checking the return flags.
 * Returns a bitmask of ELOG_JL_* saying what the line provided.
 */
enum {
	ELOG_JL_JSON = 1,       /* the line was a JSON object */
	ELOG_JL_LEVEL = 2,
	ELOG_JL_TIME = 4,
	ELOG_JL_COMPONENT = 8,
	ELOG_JL_MSG = 16,
	ELOG_JL_TRUNCATED = 32,
};
int elog_jsonline_parse(const char *line, size_t n, struct elog_record *r);

/* What a line of a text stream does not say, for elog_jsonline_record (strings borrowed). */
struct elog_jsonline_defaults {
	const char *component;       /* of a line that names none */
	int level;                   /* of a line that names none */
	const char *source;          /* of every record */
	const char *extra_fields;    /* "\"k\":\"v\",..." without braces, added to every record's
				      * fields before the line's own; NULL or "": none */
};

/*
 * Fills r (initialized) from line[0..n) as `elog send` and `elog tail` do: elog_jsonline_parse;
 * then elog_levelsniff_refine (levelsniff.h: logfmt lines, the level of text lines and of
 * JSON messages); cut says the line was cut from a longer one, and marks the message with
 * ELOG_TRUNC_MARK unless the parse cut it already; then d's component and level where the
 * line named none,
 * d's source, and d's extra fields.
 */
void elog_jsonline_record(const char *line, size_t n, int cut,
			  const struct elog_jsonline_defaults *d, struct elog_record *r);

/*
 * The same for a caller that makes many records which die together (`elog send`'s batches):
 * r (fresh from elog_record_init) gets its strings allocated in a, or borrowed from d (its
 * component and source, when valid UTF-8), not malloc'd: r must never be cleared
 * (elog_record_clear) and its strings are valid while a (until elog_arena_reset or release)
 * and d's strings are. Records are identical to elog_jsonline_record's. p keeps the parser's
 * buffers from line to line (one p per thread; elog_jsonline_free frees it).
 */
struct elog_arena;
struct elog_jsonline;
struct elog_jsonline *elog_jsonline_new(void);
void elog_jsonline_free(struct elog_jsonline *p);   /* accepts NULL */
void elog_jsonline_record_arena(struct elog_jsonline *p, struct elog_arena *a, const char *line,
				size_t n, int cut, const struct elog_jsonline_defaults *d,
				struct elog_record *r);

#endif
