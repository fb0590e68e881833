/*
 * display_int.h — what display.c (the text view, the component colors, the entry points) and
 * display_formats.c (JSON, pretty JSON, CSV, raw, logfmt) share. Internal to view/.
 */
#ifndef ELOG_DISPLAY_INT_H
#define ELOG_DISPLAY_INT_H

#include <stdint.h>
#include <string.h>

#include "view/display.h"
#include "common/util.h"

#define ANSI_RESET "\033[0m"
#define ANSI_DIM "\033[2m"

struct comp {
	char *name;          /* NULL: empty slot */
	size_t len;
	uint32_t hash;
	int color;           /* index in the order of first appearance */
	int shown;           /* counted in the prefix width */
	int chars;           /* display width (code points) */
	int prefix_width;    /* width the cached prefix was built for; -1: none */
	char *prefix;
	size_t prefix_len;
};

struct elog_display {
	struct elog_display_opts o;
	struct comp *tab;
	size_t cap, n;
	int width;
	int next_color;       /* the color index the next new component gets */
	struct elog_buf tmp, tmp2, tmp3, pretty;
	int64_t tsec;         /* second of the cached time text */
	int tvalid;
	char tbuf[24];        /* "2006-01-02T15:04:05" */
	int64_t rsec;         /* second of the cached RFC3339 text (JSON/CSV) */
	int rvalid;
	size_t rlen;
	char rbuf[48];        /* "2006-01-02T15:04:05", without the 'Z' */
};

static inline void put(struct elog_buf *b, const char *s, size_t n)
{
	elog_buf_add(b, s, n);
}
#define PUTS(b, lit) put((b), (lit), sizeof(lit) - 1)

void dpy_put_i64(struct elog_buf *b, int64_t v);
void dpy_put_spaces(struct elog_buf *b, int n);
void dpy_put_json_str(struct elog_display *d, struct elog_buf *b, const char *s, size_t n);
void dpy_put_hl(struct elog_display *d, struct elog_buf *b, const char *s, size_t n);
int dpy_field_shown(const struct elog_display *d, const char *k, size_t kn);
void dpy_record_json(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);
void dpy_record_csv(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);
void dpy_record_raw(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);
void dpy_put_pretty(struct elog_buf *out, const char *s, size_t n);
void dpy_record_logfmt(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);

#endif
