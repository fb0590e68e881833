/* libFuzzer target: any bytes as lines of a text stream -> the multiline joiner (auto, the
 * first byte picking a clock step) -> records as send makes them (level sniffing, logfmt);
 * every record holds valid UTF-8, stays within the line limit, and renders as text; the
 * arena variant send uses (elog_jsonline_record_arena, its parser kept from input to input)
 * makes the same record, with and without extra fields. */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include "view/display.h"
#include "common/arena.h"
#include "common/err.h"
#include "common/jsonline.h"
#include "common/levelsniff.h"
#include "common/multiline.h"
#include "common/util.h"

struct ctx {
	struct elog_display *d;
	struct elog_buf out;
};

static struct elog_jsonline *jp;   /* kept across inputs, as send keeps it across lines */
static struct elog_arena arena;

static int same(const struct elog_record *a, const struct elog_record *b)
{
	return a->ts_ns == b->ts_ns && a->level == b->level &&
	       strcmp(a->component, b->component) == 0 && strcmp(a->msg, b->msg) == 0 &&
	       strcmp(a->fields, b->fields) == 0 && strcmp(a->source, b->source) == 0 &&
	       strcmp(a->dedupe_key, b->dedupe_key) == 0;
}

/* elog_jsonline_record and elog_jsonline_record_arena agree on rec with defaults def. */
static void check_arena(const struct elog_ml_record *rec, const struct elog_jsonline_defaults *def)
{
	struct elog_record r, ar;

	if (!jp) {
		jp = elog_jsonline_new();
		elog_arena_init(&arena);
	}
	elog_record_init(&r);
	elog_record_init(&ar);
	elog_jsonline_record(rec->text, rec->len, rec->cut, def, &r);
	elog_jsonline_record_arena(jp, &arena, rec->text, rec->len, rec->cut, def, &ar);
	if (!same(&r, &ar))
		__builtin_trap();
	elog_record_clear(&r);
	elog_arena_reset(&arena);
}

static void on_record(void *arg, const struct elog_ml_record *rec)
{
	struct ctx *c = arg;
	const struct elog_jsonline_defaults def = { "fz", elog_multiline_default_level(rec, 2), "fuzz", NULL };
	const struct elog_jsonline_defaults def_extra = { "fz\xff", def.level, "", "\"k\":\"v\"" };
	struct elog_record r;

	if (rec->len > ELOG_MAX_LINE || rec->lines == 0 || rec->lines > ELOG_ML_MAX_LINES)
		__builtin_trap();
	elog_record_init(&r);
	elog_jsonline_record(rec->text, rec->len, rec->cut, &def, &r);
	if (!elog_utf8_valid(r.msg, strlen(r.msg)) || !elog_utf8_valid(r.fields, strlen(r.fields)) ||
	    r.level < 0 || r.level > 5)
		__builtin_trap();
	elog_buf_reset(&c->out);
	elog_display_record(c->d, &r, &c->out);
	elog_record_clear(&r);
	check_arena(rec, &def);
	check_arena(rec, &def_extra);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elog_display_opts o = { ELOG_FMT_TEXT, 1, 1, 0, 1 };
	struct ctx c = { elog_display_new(&o), ELOG_BUF_INIT };
	struct elog_multiline m;
	struct elog_err err;
	const char *p = (const char *)data, *e = p + size;
	int64_t now = 1, step = size ? (int64_t)data[0] * 1000000 : 0;
	int lv;

	lv = elog_level_sniff(p, size);
	if (lv < -1 || lv > 5)
		__builtin_trap();
	elog_multiline_init(&m, "auto", on_record, &c, &err);
	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		elog_multiline_line(&m, p, n, 0, 0, 0, now);
		now += step;
		elog_multiline_tick(&m, now);
		p += n + 1;
	}
	elog_multiline_flush(&m);
	elog_multiline_release(&m);
	elog_buf_release(&c.out);
	elog_display_free(c.d);
	return 0;
}
