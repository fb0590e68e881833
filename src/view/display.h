/*
 * display.h — how records look: the colored terminal view, JSON Lines and CSV.
 * A struct elog_display keeps the state of one output (component colors, prefix width);
 * it writes into a caller's buffer, never to a file itself.
 */
#ifndef ELOG_DISPLAY_H
#define ELOG_DISPLAY_H

#include <stdio.h>
#include "common/record.h"
#include "common/util.h"

enum elog_format {
	ELOG_FMT_TEXT,         /* the colored one-line view ("short") */
	ELOG_FMT_JSON,         /* JSON Lines */
	ELOG_FMT_CSV,
	ELOG_FMT_RAW,          /* the message only, as it is (sanitized), one per line */
	ELOG_FMT_JSON_PRETTY,  /* the JSON object, indented, one per record */
	ELOG_FMT_LOGFMT,       /* ts=... level=... component=... msg=... key=value... */
};

struct elog_regex;

/* What a terminal can show: 256 colors (the default), the 8/16 basic ones, or 24-bit RGB. */
enum { ELOG_COLOR_256 = 0, ELOG_COLOR_BASIC = 1, ELOG_COLOR_TRUE = 2 };

struct elog_display_opts {
	enum elog_format format;
	int color;        /* text: ANSI colors */
	int color_depth;  /* with color: ELOG_COLOR_256 (0), ELOG_COLOR_BASIC or ELOG_COLOR_TRUE */
	int timestamps;   /* text: show the event time (RFC3339 with ms, local time) */
	int no_prefix;    /* text: no component prefix */
	int utc;          /* text: show times in UTC */
	/* text with color: matches of these (NULL: none) in messages and field values are shown
	 * in reverse video. The caller owns them (a filter's regex, filter.h). */
	struct elog_regex *highlight[2];
	/* which fields are printed (text, raw excluded, JSON, logfmt): when nshow, only these keys;
	 * never the nhide keys. The caller owns the lists. */
	char **show_fields;
	size_t nshow;
	char **hide_fields;
	size_t nhide;
};

/* ANSI codes around a highlighted match (reverse video: it shows on any line color). */
#define ELOG_HL_ON "\033[7m"
#define ELOG_HL_OFF "\033[27m"

struct elog_display;

struct elog_display *elog_display_new(const struct elog_display_opts *o);
void elog_display_free(struct elog_display *d);

/* Tells the display about component names expected on screen so colors and padding settle
 * early (optional). */
void elog_display_hint_components(struct elog_display *d, char **names, size_t n);

/* Gives components their colors in this order (index i: the i-th palette entry, wrapping),
 * without counting them in the prefix width; components met later take the next indexes.
 * Call it first, with the history's components in order of first appearance, so a component
 * has the same color in every run and every view (optional). */
void elog_display_color_order(struct elog_display *d, char **names, size_t n);

/* Appends the header (CSV: the header row; others: nothing) to out. */
void elog_display_header(struct elog_display *d, struct elog_buf *out);

/* Appends one record, newline-terminated, to out. JSON: {"id","ts","component","level","msg",
 * "fields","source"}; CSV: RFC 4180 with the same columns (fields as JSON text). */
void elog_display_record(struct elog_display *d, const struct elog_record *r, struct elog_buf *out);

/* The palette index (0..elog_display_palette()-1) chosen for a component; for tests. -1 if no color yet. */
int elog_display_color_of(struct elog_display *d, const char *component);

/* The 256-color palette components are colored from (no red/yellow/green hues); for tests.
 * Sets *codes (when not NULL) and returns the number of entries. */
size_t elog_display_palette(const unsigned char **codes);

/* The color of the idx-th component in order of first appearance (wrapping), as the terminal
 * shows it: its 256-color code (returned) and, when hex is not NULL, "#rrggbb" (8 bytes). */
int elog_display_palette_color(size_t idx, char hex[8]);

/* Appends the fields column of the JSON output for a record's fields text: the object, "{}"
 * when empty, {"_raw":"..."} when it is not a JSON object (so the output is always JSON). */
void elog_display_fields_json(struct elog_display *d, struct elog_buf *out, const char *fields);

/* Appends a notice line in the text style ("-- 12 entries missed --"); JSON/CSV: nothing. */
void elog_display_notice(struct elog_display *d, const char *text, struct elog_buf *out);

#endif
