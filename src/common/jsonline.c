/*
 * jsonline.c — one line of text or one JSON object into a record.
 *
 * JSON is parsed with yajl's event parser in one pass: each top-level key's value is either
 * taken into the record (level, msg, time, component) or re-emitted, compactly and with
 * numbers kept textually, into r->fields. The record is only touched once the whole line
 * parsed, so broken JSON falls back to text cleanly.
 */
#include "common/jsonline.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "common/arena.h"
#include "common/json.h"
#include "common/levelsniff.h"
#include "common/timeparse.h"
#include "common/util.h"

enum vtype { V_STR, V_NUM, V_BOOL, V_NULL, V_OBJ, V_ARR };

enum keyclass { K_OTHER, K_LEVEL, K_MSG, K_TIME, K_COMPONENT };

struct jl {
	int depth;               /* 0 outside the top object, 1 inside it, >1 nested */
	enum keyclass kc;        /* class of the current top-level key */
	struct elog_buf key;     /* current top-level key (raw bytes) */
	struct elog_buf val;     /* JSON text of the current nested top-level value */
	struct elog_buf fields;  /* "{...": the kept keys, closed at the end */
	struct elog_buf msg;     /* message (valid UTF-8) */
	struct elog_buf comp;    /* component (raw bytes) */
	struct elog_buf tmp;     /* scratch for UTF-8 repair */
	int comp_rank;           /* 3 name, 2 id, 1 type found in a component object */
	int comp_subkey;         /* rank of the current key at depth 2 of a component object */
	int level;               /* -1 until found */
	int too_deep;            /* a value nests past ELOG_JSON_MAX_DEPTH: parse stopped */
	int objects;             /* top-level objects begun: more than one is not a record */
	int got_msg, got_time, got_comp;
	int64_t ts;
};

/* The parser's buffers and yajl handle, kept from line to line (jsonline.h). The handle
 * takes several values (yajl_allow_multiple_values), so it parses line after line: the
 * callbacks refuse whatever follows a line's object, and a handle that failed is freed. */
struct elog_jsonline {
	struct jl j;
	yajl_handle h;
};

/* Buffers longer than this are given back after a line, so one long line does not pin its
 * size for the rest of the run. */
#define JL_KEEP (64 * 1024)

/* Appends s[0..n) quoted as a JSON string, repairing invalid UTF-8 and NUL first. */
static void quote_repaired(struct jl *j, struct elog_buf *b, const char *s, size_t n)
{
	if (elog_utf8_valid(s, n)) {
		elog_json_quote(b, s, n);
		return;
	}
	elog_buf_reset(&j->tmp);
	elog_utf8_append(&j->tmp, s, n);
	elog_json_quote(b, j->tmp.data, j->tmp.len);
}

/* Adds a comma unless b is empty or just opened an object/array or wrote a key. */
static void sep(struct elog_buf *b)
{
	if (b->len == 0)
		return;
	char c = b->data[b->len - 1];
	if (c != '{' && c != '[' && c != ':')
		elog_buf_addc(b, ',');
}

/* Compares the length first, with the literal's length known at compile time. */
#define key_is(k, lit) ((k)->len == sizeof(lit) - 1 && memcmp((k)->data, lit, sizeof(lit) - 1) == 0)

static enum keyclass classify(const struct elog_buf *k)
{
	/* common schemas: ECS log.level, zap development L/M/T, GCP severity/textPayload,
	 * Serilog @l/@m/@t, OpenTelemetry SeverityText/Body, monolog level_name */
	if (key_is(k, "level") || key_is(k, "lvl") || key_is(k, "severity") ||
	    key_is(k, "levelname") || key_is(k, "log.level") || key_is(k, "L") ||
	    key_is(k, "@l") || key_is(k, "Level") || key_is(k, "loglevel") ||
	    key_is(k, "log_level") || key_is(k, "level_name") || key_is(k, "SeverityText") ||
	    key_is(k, "severity_text"))
		return K_LEVEL;
	if (key_is(k, "msg") || key_is(k, "message") || key_is(k, "M") ||
	    key_is(k, "textPayload") || key_is(k, "@m") || key_is(k, "@mt") ||
	    key_is(k, "Body") || key_is(k, "RenderedMessage"))
		return K_MSG;
	if (key_is(k, "ts") || key_is(k, "time") || key_is(k, "timestamp") ||
	    key_is(k, "@timestamp") || key_is(k, "T") || key_is(k, "@t") ||
	    key_is(k, "Timestamp"))
		return K_TIME;
	if (key_is(k, "component"))
		return K_COMPONENT;
	return K_OTHER;
}

/* Keeps the current top-level key with value text v[0..n) (already JSON) in fields. */
static void keep(struct jl *j, const char *v, size_t n)
{
	if (j->fields.len == 0)
		elog_buf_addc(&j->fields, '{');
	sep(&j->fields);
	quote_repaired(j, &j->fields, j->key.data ? j->key.data : "", j->key.len);
	elog_buf_addc(&j->fields, ':');
	elog_buf_add(&j->fields, v, n);
}

/* Keeps a top-level scalar: strings are quoted, other scalars are already JSON text. */
static void keep_scalar(struct jl *j, enum vtype t, const char *s, size_t n)
{
	if (t == V_STR) {
		elog_buf_reset(&j->val);
		quote_repaired(j, &j->val, s, n);
		keep(j, j->val.data, j->val.len);
	} else {
		keep(j, s, n);
	}
}

/* Sets the message from s[0..n), as text when it was a string or JSON text otherwise. */
static void take_msg(struct jl *j, const char *s, size_t n)
{
	elog_buf_reset(&j->msg);
	elog_utf8_append(&j->msg, s, n);
	j->got_msg = 1;
}

/* Routes one complete top-level value: s[0..n) is the raw string for V_STR, the JSON text
 * otherwise. */
static void finish_value(struct jl *j, enum vtype t, const char *s, size_t n)
{
	switch (j->kc) {
	case K_LEVEL:
		if (j->level < 0 && (t == V_STR || t == V_NUM)) {
			int lv = elog_level_parse(s, n);
			if (lv < 0 && t == V_NUM) {
				char nb[64];
				if (n < sizeof(nb)) {
					memcpy(nb, s, n);
					nb[n] = '\0';
					lv = elog_level_from_number(strtod(nb, NULL));
				}
			}
			if (lv >= 0) {
				j->level = lv;
				return;
			}
		}
		break;
	case K_MSG:
		if (!j->got_msg) {
			take_msg(j, s, n);
			return;
		}
		break;
	case K_TIME:
		if (!j->got_time && (t == V_STR || t == V_NUM)) {
			int64_t ts;
			int ok = elog_time_parse_record(s, n, &ts) == 0;
			if (!ok && t == V_NUM) {
				char nb[64];
				if (n < sizeof(nb)) {
					memcpy(nb, s, n);
					nb[n] = '\0';
					ts = elog_time_from_epoch_number(strtod(nb, NULL));
					ok = 1;
				}
			}
			if (ok) {
				j->ts = ts;
				j->got_time = 1;
				return;
			}
		}
		break;
	case K_COMPONENT:
		if (!j->got_comp && t == V_STR) {
			elog_buf_reset(&j->comp);
			elog_buf_add(&j->comp, s, n);
			j->got_comp = 1;
			return;
		}
		if (t == V_OBJ && j->comp_rank > 0)
			j->got_comp = 1;
		break;
	case K_OTHER:
		break;
	}
	if (t == V_STR)
		keep_scalar(j, t, s, n);
	else
		keep(j, s, n);
}

/* Emits a nested scalar (already JSON text, or a raw string when str) into val. */
static void nested_scalar(struct jl *j, enum vtype t, const char *s, size_t n)
{
	sep(&j->val);
	if (t == V_STR)
		quote_repaired(j, &j->val, s, n);
	else
		elog_buf_add(&j->val, s, n);
	if (j->depth == 2 && j->kc == K_COMPONENT && !j->got_comp &&
	    (t == V_STR || t == V_NUM) && j->comp_subkey > j->comp_rank) {
		elog_buf_reset(&j->comp);
		elog_buf_add(&j->comp, s, n);
		j->comp_rank = j->comp_subkey;
	}
}

static int on_scalar(struct jl *j, enum vtype t, const char *s, size_t n)
{
	if (j->depth == 0)
		return 0;   /* a value after the object (a kept handle takes several): not a record */
	if (j->depth == 1)
		finish_value(j, t, s, n);
	else
		nested_scalar(j, t, s, n);
	return 1;
}

static int cb_null(void *ctx)
{
	return on_scalar(ctx, V_NULL, "null", 4);
}

static int cb_boolean(void *ctx, int v)
{
	return on_scalar(ctx, V_BOOL, v ? "true" : "false", v ? 4 : 5);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
	return on_scalar(ctx, V_NUM, s, n);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
	return on_scalar(ctx, V_STR, (const char *)s, n);
}

/* An object or array ('{' or '[') opens inside the record: kept as the text of its value. */
static int open_nested(struct jl *j, char c)
{
	if (j->depth >= ELOG_JSON_MAX_DEPTH) {
		j->too_deep = 1;
		return 0;
	}
	if (j->depth == 1)
		elog_buf_reset(&j->val);
	sep(&j->val);
	elog_buf_addc(&j->val, c);
	j->depth++;
	return 1;
}

/* It closes ('}' or ']'); back at the record's level, it is the value of kind. */
static int close_nested(struct jl *j, char c, enum vtype kind)
{
	elog_buf_addc(&j->val, c);
	j->depth--;
	if (j->depth == 2 && j->kc == K_COMPONENT)
		j->comp_subkey = 0;
	if (j->depth == 1)
		finish_value(j, kind, j->val.data, j->val.len);
	return 1;
}

static int cb_start_map(void *ctx)
{
	struct jl *j = ctx;
	if (j->depth == 0) {
		if (j->objects++)
			return 0;   /* a second object on the line */
		j->depth = 1;
		return 1;
	}
	return open_nested(j, '{');
}

static int cb_map_key(void *ctx, const unsigned char *key, size_t n)
{
	struct jl *j = ctx;
	const char *k = (const char *)key;
	if (j->depth == 1) {
		elog_buf_reset(&j->key);
		elog_buf_add(&j->key, k, n);
		j->kc = classify(&j->key);
		return 1;
	}
	sep(&j->val);
	quote_repaired(j, &j->val, k, n);
	elog_buf_addc(&j->val, ':');
	if (j->depth == 2 && j->kc == K_COMPONENT) {
		j->comp_subkey = 0;
		if (n == 4 && memcmp(k, "name", 4) == 0)
			j->comp_subkey = 3;
		else if (n == 2 && memcmp(k, "id", 2) == 0)
			j->comp_subkey = 2;
		else if (n == 4 && memcmp(k, "type", 4) == 0)
			j->comp_subkey = 1;
	}
	return 1;
}

static int cb_end_map(void *ctx)
{
	struct jl *j = ctx;
	if (j->depth == 1) {
		j->depth = 0;
		return 1;
	}
	return close_nested(j, '}', V_OBJ);
}

static int cb_start_array(void *ctx)
{
	struct jl *j = ctx;
	if (j->depth == 0)
		return 0; /* only objects are records */
	return open_nested(j, '[');
}

static int cb_end_array(void *ctx)
{
	return close_nested(ctx, ']', V_ARR);
}

/*
 * yajl allocates its handle, lexer and buffers (about 5 KiB, five allocations) per parse, that
 * is per line: a twelfth of `elog send`'s CPU went to malloc and free for them. They come from
 * a bump heap of the thread's instead, emptied when a parse starts (nothing of the last one is
 * alive then: its handle is freed before the next is made); what does not fit (a long string)
 * comes from malloc and goes back to free.
 */
#define JL_HEAP 8192
struct jl_heap {
	size_t used;
	_Alignas(16) char buf[JL_HEAP];
};
static _Thread_local struct jl_heap jl_heap;

static int jh_owns(const struct jl_heap *h, const void *p)
{
	return (const char *)p >= h->buf && (const char *)p < h->buf + JL_HEAP;
}

/* Each block is preceded by its size (16 bytes, to keep the alignment). */
static void *jh_malloc(void *ctx, size_t n)
{
	struct jl_heap *h = ctx;
	size_t need = ((n + 15) & ~(size_t)15) + 16;

	if (n < JL_HEAP && JL_HEAP - h->used >= need) {
		char *p = h->buf + h->used;

		*(size_t *)p = n;
		h->used += need;
		return p + 16;
	}
	return malloc(n);
}

static void jh_free(void *ctx, void *p)
{
	if (p && !jh_owns(ctx, p))
		free(p);
}

static void *jh_realloc(void *ctx, void *p, size_t n)
{
	void *q;
	size_t old;

	if (!p)
		return jh_malloc(ctx, n);
	if (!jh_owns(ctx, p))
		return realloc(p, n);
	old = *(size_t *)((char *)p - 16);
	if (n <= old)
		return p;
	q = jh_malloc(ctx, n);
	if (q)
		memcpy(q, p, old);
	return q;
}

/* yajl_alloc with the thread's heap, emptied first. */
static yajl_handle jl_yajl_alloc(const yajl_callbacks *cb, void *ctx)
{
	yajl_alloc_funcs af = { jh_malloc, jh_realloc, jh_free, &jl_heap };

	jl_heap.used = 0;
	return yajl_alloc(cb, &af, ctx);
}

static const yajl_callbacks callbacks = {
	cb_null, cb_boolean, NULL, NULL, cb_number, cb_string,
	cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

/* Cuts b (valid UTF-8) as elog_record_msg_dup does (record.h), in place; returns 1 when it
 * cut. */
static int truncate_msg(struct elog_buf *b)
{
	if (b->len <= ELOG_MAX_LINE)
		return 0;
	b->len = elog_record_cut_len(b->data, b->len, ELOG_MAX_LINE);
	b->data[b->len] = '\0';
	elog_buf_adds(b, ELOG_TRUNC_MARK);
	return 1;
}

/* The whole line as text. */
static int parse_text(const char *line, size_t n, struct elog_record *r)
{
	int cut;

	elog_record_take(&r->msg, elog_record_msg_dup(line, n, &cut));
	return ELOG_JL_MSG | (cut ? ELOG_JL_TRUNCATED : 0);
}

/* What to do with each of j's buffers: release every one, release those a long line grew past
 * JL_KEEP, or empty them and keep their memory. */
enum jl_bufs_op { JL_RELEASE, JL_TRIM, JL_RESET };

static void jl_bufs(struct jl *j, enum jl_bufs_op op)
{
	struct elog_buf *bufs[] = { &j->key, &j->val, &j->fields, &j->msg, &j->comp, &j->tmp };

	for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++) {
		if (op == JL_RESET)
			elog_buf_reset(bufs[i]);
		else if (op == JL_RELEASE || bufs[i]->cap > JL_KEEP)
			elog_buf_release(bufs[i]);
	}
}

static void jl_free(struct jl *j)
{
	jl_bufs(j, JL_RELEASE);
}

/* Readies j for a line, its buffers emptied but kept. */
static void jl_start(struct jl *j)
{
	j->depth = 0;
	j->kc = K_OTHER;
	jl_bufs(j, JL_RESET);
	j->comp_rank = 0;
	j->comp_subkey = 0;
	j->level = -1;
	j->too_deep = 0;
	j->objects = 0;
	j->got_msg = j->got_time = j->got_comp = 0;
	j->ts = 0;
}

/*
 * A record's strings, set one way or the other: without an arena (a NULL) malloc'd strings the
 * record owns (record.h), the old one freed; with one, copies in a (the old one is a's, d's or
 * the record's static "", and is left alone).
 */
static char jl_empty[1];

/* s[0..n), repaired to valid UTF-8, into *slot. */
static void rec_set(struct elog_arena *a, char **slot, const char *s, size_t n)
{
	if (!a)
		elog_record_set(slot, s, n);
	else
		*slot = s && n ? elog_arena_utf8(a, s, n) : jl_empty;
}

/* b's contents (valid UTF-8) into *slot: taken (b is emptied) without a, copied into a. */
static void rec_set_buf(struct elog_arena *a, char **slot, struct elog_buf *b)
{
	if (!a)
		elog_record_take(slot, elog_buf_detach(b));
	else
		*slot = b->len ? elog_arena_strndup(a, b->data, b->len) : jl_empty;
}

/* The default string s into *slot: with a, s itself when it is valid UTF-8 (borrowed). */
static void rec_set_default(struct elog_arena *a, char **slot, const char *s)
{
	size_t n = strlen(s);

	if (a && elog_utf8_valid(s, n))
		*slot = n ? (char *)s : jl_empty;
	else
		rec_set(a, slot, s, n);
}

/* True when line[0..n) is well-formed JSON (yajl's event parser keeps its nesting on the heap:
 * any depth is safe here). */
static int valid_json(const char *line, size_t n)
{
	yajl_handle h = jl_yajl_alloc(NULL, NULL);
	int ok;

	if (!h)
		return 0;
	yajl_config(h, yajl_dont_validate_strings, 1);
	ok = yajl_parse(h, (const unsigned char *)line, n) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok;
	yajl_free(h);
	return ok;
}

/* Parses line[0..n), which starts with an object, into j: 1, 0 when it is not well-formed
 * JSON, -1 when it nests deeper than ELOG_JSON_MAX_DEPTH. With kept (j's), a handle made
 * once, else one made for the line. */
static int parse_json(struct jl *j, yajl_handle *kept, const char *line, size_t n)
{
	yajl_handle h = kept ? *kept : NULL;
	int ok;

	jl_start(j);
	elog_buf_grow(&j->fields, n + 16); /* one allocation for the usual case */
	elog_buf_grow(&j->key, 64);
	if (!h) {
		h = kept ? yajl_alloc(&callbacks, NULL, j) : jl_yajl_alloc(&callbacks, j);
		if (!h)
			return 0;
		yajl_config(h, yajl_dont_validate_strings, 1);
		if (kept) {
			yajl_config(h, yajl_allow_multiple_values, 1);
			*kept = h;
		}
	}
	ok = yajl_parse(h, (const unsigned char *)line, n) == yajl_status_ok &&
	     yajl_complete_parse(h) == yajl_status_ok && j->depth == 0;
	/* a handle that failed stays failed; one that took a long line keeps its buffers */
	if (!kept || !ok || n > JL_KEEP) {
		yajl_free(h);
		if (kept)
			*kept = NULL;
	}
	if (!ok)
		return j->too_deep ? -1 : 0;
	return 1;
}

/* line[0..*n) without its trailing newline (and a CR before it): *n shortened. */
static const char *strip_eol(const char *line, size_t *n)
{
	if (!line)
		line = "", *n = 0;
	if (*n && line[*n - 1] == '\n') {
		(*n)--;
		if (*n && line[*n - 1] == '\r')
			(*n)--;
	}
	return line;
}

/* Parses line[0..n) (no trailing newline) into j when it is a JSON object: 1; 0 when it is
 * text (not an object, or broken). */
static int parse_object(struct jl *j, yajl_handle *kept, const char *line, size_t n)
{
	size_t i = 0;
	int rc;

	while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
		i++;
	if (i == n || line[i] != '{')
		return 0;
	rc = parse_json(j, kept, line, n);
	if (rc >= 0)
		return rc;
	/* what nests deeper than the bound is kept as text (json.h); broken JSON stays text */
	if (!valid_json(line, n))
		return 0;
	struct elog_buf b = ELOG_BUF_INIT;
	elog_json_bound(line, n, ELOG_JSON_MAX_DEPTH, &b);
	rc = parse_json(j, kept, b.data, b.len);
	elog_buf_release(&b);
	return rc > 0;
}

/* Stores what j parsed into r (strings as rec_set says); returns ELOG_JL_* flags. */
static int json_store(struct jl *j, struct elog_arena *a, struct elog_record *r)
{
	int flags = ELOG_JL_JSON;

	if (j->level >= 0) {
		r->level = j->level;
		flags |= ELOG_JL_LEVEL;
	}
	if (j->got_time) {
		r->ts_ns = j->ts;
		flags |= ELOG_JL_TIME;
	}
	if (j->got_comp) {
		rec_set(a, &r->component, j->comp.data, j->comp.len);
		flags |= ELOG_JL_COMPONENT;
	}
	if (j->got_msg) {
		flags |= ELOG_JL_MSG | (truncate_msg(&j->msg) ? ELOG_JL_TRUNCATED : 0);
		rec_set_buf(a, &r->msg, &j->msg);
	}
	if (j->fields.len) {
		elog_buf_addc(&j->fields, '}');
		rec_set_buf(a, &r->fields, &j->fields);
	} else {
		rec_set(a, &r->fields, "", 0);
	}
	return flags;
}

/* Parses one line into r (see jsonline.h); returns ELOG_JL_* flags. */
int elog_jsonline_parse(const char *line, size_t n, struct elog_record *r)
{
	struct jl j;
	int flags;

	memset(&j, 0, sizeof(j));
	line = strip_eol(line, &n);
	if (parse_object(&j, NULL, line, n))
		flags = json_store(&j, NULL, r);
	else
		flags = parse_text(line, n, r);
	jl_free(&j);
	return flags;
}

/* What elog_jsonline_record adds to the parse's flags (see jsonline.h), strings as rec_set
 * says; tmp is scratch. With a, r must hold a JSON line's record (the text of other lines is
 * refined on malloc'd strings). */
static void add_defaults(struct elog_arena *a, struct elog_buf *tmp, const char *line, size_t n,
			 int cut, int flags, const struct elog_jsonline_defaults *d,
			 struct elog_record *r)
{
	flags = elog_levelsniff_refine(line, n, cut, flags, r);   /* text levels, logfmt */

	if (cut && !(flags & ELOG_JL_TRUNCATED)) {
		elog_buf_reset(tmp);
		elog_buf_adds(tmp, r->msg);
		elog_buf_adds(tmp, ELOG_TRUNC_MARK);
		rec_set_buf(a, &r->msg, tmp);
	}
	if (!(flags & ELOG_JL_COMPONENT))
		rec_set_default(a, &r->component, d->component);
	if (!(flags & ELOG_JL_LEVEL))
		r->level = d->level;
	rec_set_default(a, &r->source, d->source);
	if (d->extra_fields && *d->extra_fields) {
		elog_buf_reset(tmp);
		elog_buf_addc(tmp, '{');
		elog_buf_adds(tmp, d->extra_fields);
		if (r->fields[0] == '{' && r->fields[1] != '}') {
			elog_buf_addc(tmp, ',');
			elog_buf_adds(tmp, r->fields + 1);
		} else {
			elog_buf_addc(tmp, '}');
		}
		rec_set_buf(a, &r->fields, tmp);
	}
}

/* A line of a text stream into a record (see jsonline.h). */
void elog_jsonline_record(const char *line, size_t n, int cut,
			  const struct elog_jsonline_defaults *d, struct elog_record *r)
{
	struct elog_buf tmp = ELOG_BUF_INIT;
	int flags = elog_jsonline_parse(line, n, r);

	add_defaults(NULL, &tmp, line, n, cut, flags, d, r);
	elog_buf_release(&tmp);
}

struct elog_jsonline *elog_jsonline_new(void)
{
	return xcalloc(1, sizeof(struct elog_jsonline));
}

void elog_jsonline_free(struct elog_jsonline *p)
{
	if (!p)
		return;
	jl_free(&p->j);
	if (p->h)
		yajl_free(p->h);
	free(p);
}

/* s (valid UTF-8, NUL-terminated) copied into a; the shared "" stays itself. */
static char *arena_copy(struct elog_arena *a, const char *s)
{
	size_t n = strlen(s);

	return n ? elog_arena_strndup(a, s, n) : jl_empty;
}

/* elog_jsonline_record with r's strings in a (see jsonline.h). */
void elog_jsonline_record_arena(struct elog_jsonline *p, struct elog_arena *a, const char *line,
				size_t n, int cut, const struct elog_jsonline_defaults *d,
				struct elog_record *r)
{
	struct jl *j = &p->j;
	size_t m = n;
	const char *s = strip_eol(line, &m);
	struct elog_record t;

	if (parse_object(j, &p->h, s, m)) {
		add_defaults(a, &j->tmp, line, n, cut, json_store(j, a, r), d, r);
		jl_bufs(j, JL_TRIM);
		return;
	}
	jl_bufs(j, JL_TRIM);
	/* text: the sniffer and logfmt work on a record of malloc'd strings, copied then */
	elog_record_init(&t);
	elog_jsonline_record(line, n, cut, d, &t);
	r->ts_ns = t.ts_ns;
	r->level = t.level;
	r->component = arena_copy(a, t.component);
	r->msg = arena_copy(a, t.msg);
	r->fields = arena_copy(a, t.fields);
	r->source = arena_copy(a, t.source);
	elog_record_clear(&t);
}
