/*
 * display.h — how records look: the colored terminal view, JSON Lines and CSV.
 * A struct elog_display keeps the state of one output (component colors, prefix width);
 * it writes into a caller's buffer, never to a file itself.
 */
#ifndef ELOG_DISPLAY_H
#define ELOG_DISPLAY_H

#include <stdio.h>
#include "record.h"
#include "util.h"

enum elog_format { ELOG_FMT_TEXT, ELOG_FMT_JSON, ELOG_FMT_CSV };

struct elog_display_opts {
	enum elog_format format;
	int color;        /* text: ANSI colors */
	int timestamps;   /* text: show the event time (RFC3339 with ms, local time) */
	int no_prefix;    /* text: no component prefix */
	int utc;          /* text: show times in UTC */
};

struct elog_display;

struct elog_display *elog_display_new(const struct elog_display_opts *o);
void elog_display_free(struct elog_display *d);

/* Tells the display about component names expected on screen so colors and padding settle
 * early (optional). */
void elog_display_hint_components(struct elog_display *d, char **names, size_t n);

/* Appends the header (CSV: the header row; others: nothing) to out. */
void elog_display_header(struct elog_display *d, struct elog_buf *out);

/* Appends one record, newline-terminated, to out. JSON: {"id","ts","component","level","msg",
 * "fields","source"}; CSV: RFC 4180 with the same columns (fields as JSON text). */
void elog_display_record(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);

/* The color index (0..n) chosen for a component; for tests. -1 if no color yet. */
int elog_display_color_of(struct elog_display *d, const char *component);

/* The 256-color palette components are colored from (no red/yellow hues); for tests.
 * Sets *codes (when not NULL) and returns the number of entries. */
size_t elog_display_palette(const unsigned char **codes);

/* Appends a notice line in the text style ("-- 12 entries missed --"); JSON/CSV: nothing. */
void elog_display_notice(struct elog_display *d, const char *text, struct elog_buf *out);

#endif
