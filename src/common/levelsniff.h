/*
 * levelsniff.h — the level of a plain-text log line, and logfmt lines into records.
 *
 * Programs print their level as a word near the start of the line: "[WARN] ...",
 * "2024-12-03 07:50:02,123 ERROR worker: ...", "E1203 07:50:02.1 ..." (klog), "<3>..."
 * (syslog priority), "ERROR:root:..." (Python), "level=error ..." (logfmt). The sniffer looks
 * only there: it skips what programs put before the level (timestamps, process ids, bracketed
 * thread or logger names, syslog host and tag, ANSI colors) and stops at the first word that
 * is neither such a prefix nor a level, so a level word later in the message ("no error
 * found") never counts. It is a byte scan over at most the first ELOG_SNIFF_MAX bytes of the
 * first line; no allocation, no regex.
 */
#ifndef ELOG_LEVELSNIFF_H
#define ELOG_LEVELSNIFF_H

#include <stddef.h>

#include "common/record.h"

/* How far into a line the sniffer looks for the level. */
#define ELOG_SNIFF_MAX 256

/*
 * The level s[0..n) names at its start (see above), or -1 when it names none. Only the first
 * line of s counts.
 */
int elog_level_sniff(const char *s, size_t n);

/*
 * True when the first line of s[0..n) is a logfmt line: space-separated key=value pairs
 * (values bare or double-quoted with backslash escapes) with a level or msg key.
 */
int elog_logfmt_is(const char *s, size_t n);

/*
 * What elog_jsonline_record adds to elog_jsonline_parse for lines that are not JSON, given
 * the line, whether it was cut, the ELOG_JL_* flags of the parse and the record it filled:
 * a logfmt first line (not cut) becomes message (msg/message; later lines of a multi-line
 * record follow it), level (level/lvl/severity/loglevel), time (time/ts/timestamp), component
 * and fields (every other key, as strings); other text gets the level elog_level_sniff finds.
 * A JSON object with a message but no level gets the level its message starts with.
 * Returns the flags with what was found added.
 */
int elog_levelsniff_refine(const char *line, size_t n, int cut, int flags,
			   struct elog_record *r);

#endif
