/*
 * redact_json.c — the walk of a record's JSON fields (secret keys, string values) and the
 * rewriting of a record's message and fields.
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
		char *r = redact__text(w->rd, NULL, NULL, NULL, s, strlen(s), &f, NULL);

		w->fired |= f;
		elog_json_quote(&w->out, r ? r : s, strlen(r ? r : s));
		free(r);
	} else if (YAJL_IS_NUMBER(v)) {
		const char *s = YAJL_GET_NUMBER(v);
		uint64_t f = 0;
		char *r = redact__text(w->rd, NULL, NULL, NULL, s, strlen(s), &f, NULL);

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
			 int top, const uint64_t *premask)
{
	uint64_t mask = 0;
	yajl_val v;
	struct walk w;

	*fired = 0;
	if (n > ELOG_REDACT_MAX_TEXT) {
		*fired = 1ull << rd->unscannable;
		return NULL;
	}
	if (premask) {
		mask = *premask;
	} else if (redact__prescan(rd, s, n, &mask) != 0) {
		*fired = 1ull << rd->unscannable;
		return NULL;
	}
	/* escapes can hide what the raw text shows: look at the decoded values then */
	if (!mask && !memchr(s, '\\', n) && !(top && memmem(s, n, "\"redacted\"", 10)))
		return NULL;
	v = elog_json_tree_parse(s);
	if (!v) {
		/* not JSON: redact it as text */
		return redact__text(rd, NULL, NULL, NULL, s, n, fired, &mask);
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
	r = redact_json(rd, s, n, fired, 0, NULL);
	if (!r && (*fired & (1ull << rd->unscannable)))
		return xstrdup("{}");
	return r;
}

/* ---- records ----------------------------------------------------------------------------- */

/* True when s[0..n) is one object, '{' to its matching '}', with nothing after it: the
 * braces and brackets outside strings balance and close exactly at the end. A first and a
 * last byte of '{' and '}' are not enough: fields a client sent as text may hold more after
 * the object (yajl takes `{"a":1}"}` as an object and leaves the rest), and "redacted" put
 * before the last '}' would then sit inside that rest. */
static int one_object(const char *s, size_t n)
{
	size_t i, depth = 0;
	int in_str = 0;

	if (n < 2 || s[0] != '{')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = 0;
			continue;
		}
		if (c == '"') {
			in_str = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			if (depth == 0)
				return 0;
			if (--depth == 0)
				return i == n - 1;
		}
	}
	return 0;
}

int elog_redact_record_new(struct elog_redactor *rd, struct elog_redact_streams *st,
			   const struct elog_record *r, struct elog_redacted *out)
{
	uint64_t fired = 0, f = 0, mask_msg = 0, mask_fields = 0, names;
	const uint64_t *pm_msg = NULL, *pm_fields = NULL;
	char *msg = NULL, *fields = NULL;
	size_t fl = strlen(r->fields), ml;
	int nfired = 0, i, has_fields;

	memset(out, 0, sizeof(*out));
	if (!rd || !rd->compiled)
		return 0;
	/* the component and source name the stream: a secret there reaches the disk too; what
	 * fired on a part redacted before (a logging.v1 session id) is listed with the rest */
	names = redact__names(rd, r->component, r->source, &out->component, &out->source) |
		r->redacted_before;
	ml = strlen(r->msg);
	has_fields = fl > 2 || (fl && strcmp(r->fields, "{}") != 0);
	/* the common case: one scan of the message and the fields together, nothing may match,
	 * no private key block goes on, no escape in the fields may hide a secret, no "redacted"
	 * key to drop: nothing to do, nothing copied or allocated */
	if (ml && has_fields) {
		if (redact__prescan2(rd, r->msg, ml, r->fields, fl, &mask_msg, &mask_fields) == 0) {
			if (!mask_msg && !mask_fields && !names &&
			    !redact__stream_in_block(st, r->component, r->source) &&
			    !memchr(r->fields, '\\', fl) && !memmem(r->fields, fl, "\"redacted\"", 10))
				return 0;
			pm_msg = &mask_msg;
			pm_fields = &mask_fields;
		}
	}
	if (ml)
		msg = redact__text(rd, st, r->component, r->source, r->msg, ml, &fired, pm_msg);
	else if (redact__stream_in_block(st, r->component, r->source))
		redact__stream_set(st, r->component, r->source, 0);
	if (has_fields) {
		fields = redact_json(rd, r->fields, fl, &f, 1, pm_fields);
		if (!fields && (f & (1ull << rd->unscannable))) {
			struct elog_buf b = ELOG_BUF_INIT;
			const char *why = "fields not kept: they could not be scanned for secrets";

			elog_buf_adds(&b, "{\"redaction_error\":");
			elog_json_quote(&b, why, strlen(why));
			elog_buf_addc(&b, '}');
			fields = elog_buf_detach(&b);
		}
		fired |= f;
		/* walked (escapes, a "redacted" key, a rule that may match in the message) but nothing
		 * fired in them: keep the text as it was, unless it carried a "redacted" key of its own */
		if (fields && !f && !memmem(r->fields, fl, "\"redacted\"", 10)) {
			free(fields);
			fields = NULL;
		}
	}
	fired |= names;
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
		if (one_object(base + a0, bl - a0)) {
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
	out->msg = msg;
	out->fields = fields;
	for (i = 0; i < 64; i++)
		nfired += (fired >> i) & 1;
	return nfired;
}

int elog_redact_record(struct elog_redactor *rd, struct elog_redact_streams *st,
		       struct elog_record *r)
{
	struct elog_redacted o;
	int n = elog_redact_record_new(rd, st, r, &o);

	if (o.msg)
		elog_record_take(&r->msg, o.msg);
	if (o.fields)
		elog_record_take(&r->fields, o.fields);
	if (o.component)
		elog_record_take(&r->component, o.component);
	if (o.source)
		elog_record_take(&r->source, o.source);
	return n;
}
