/*
 * jsontext.h — JSON text scanned in place (no tree, no allocation): the stored fields of a
 * record are a JSON object text, and the views, the filter and the services read it with
 * these. Spans are [p, e) pointers into the caller's text; nothing here owns memory except
 * what it appends to a caller's struct elog_buf.
 */
#ifndef ELOG_JSONTEXT_H
#define ELOG_JSONTEXT_H

#include <stddef.h>
#include "common/util.h"

/* Skips JSON white space; returns the first other character (or e). */
const char *elog_jt_skip_ws(const char *p, const char *e);

/* p at a '"': returns the character after the closing quote, or NULL when the string is not
 * valid (bad escape, control character, invalid UTF-8, unterminated). */
const char *elog_jt_skip_string(const char *p, const char *e);

/* Skips one JSON value starting at p (white space already skipped); NULL when invalid or
 * nested deeper than ELOG_JSON_MAX_DEPTH counting from depth. */
const char *elog_jt_skip_value(const char *p, const char *e, int depth);

/* 1 when s is exactly one valid JSON object (white space around allowed). */
int elog_jt_valid_object(const char *s, size_t n);

/* Appends the decoded content of the string literal [p, e) (quotes included) to b. */
void elog_jt_decode_string(struct elog_buf *b, const char *p, const char *e);

/* Appends the valid JSON value [p, e) to b without white space outside strings. */
void elog_jt_put_compact(struct elog_buf *b, const char *p, const char *e);

/*
 * Walks a fields text (a JSON object): fn(ctx, key, keylen, value, valuelen) for each
 * top-level member in order, the key decoded and the value as the text view shows it (a
 * string decoded, anything else as compact JSON). fn returns non-zero to stop. Returns 0 when
 * s is not a JSON object (nothing called), else 1. Objects deeper than ELOG_JSON_MAX_DEPTH are
 * bounded first (json.h).
 */
int elog_fields_walk(const char *s, size_t n,
		     int (*fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn),
		     void *ctx);

/* The same with the caller's scratch buffers for the key and the value (reused, not freed). */
int elog_fields_walk_buf(const char *s, size_t n, struct elog_buf *kb, struct elog_buf *vb,
			 int (*fn)(void *ctx, const char *k, size_t kn, const char *v, size_t vn),
			 void *ctx);

#endif
