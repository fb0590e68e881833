/*
 * timeparse.h — the times users type.
 */
#ifndef ELOG_TIMEPARSE_H
#define ELOG_TIMEPARSE_H

#include <stdint.h>
#include <stddef.h>

struct elog_err;

/*
 * Parses a user time relative to now_ns into ns since the epoch. Accepts RFC3339 and
 * RFC3339Nano ("2024-01-20T10:00:00Z", "...+02:00", fraction up to 9 digits),
 * "2024-01-20 10:00:00" and "2024-01-20" (local time), durations meaning "that long ago"
 * ("30s", "5m", "2h", "1d", "1h30m", "500ms", "5m ago", "-5m"), "now", "today", "yesterday"
 * (local midnight), "@1700000000" and "@1700000000.5" (epoch seconds).
 * Returns 0, or ELOG_EUSAGE with err "invalid time 'x'".
 */
int elog_time_parse(const char *s, int64_t now_ns, int64_t *out_ns, struct elog_err *err);

/*
 * Parses a timestamp found in a log record: RFC3339/RFC3339Nano, "YYYY-MM-DD HH:MM:SS[.frac]"
 * (UTC when no zone), epoch numbers as text. Returns 0 and sets *out_ns, or -1.
 */
int elog_time_parse_record(const char *s, size_t n, int64_t *out_ns);

/* Epoch number found in a record (seconds, or ms / us / ns judged by magnitude). */
int64_t elog_time_from_epoch_number(double v);

/* Parses a duration ("1h30m", "200ms", "5s", "2d"; a bare number is seconds) to ns.
 * Returns 0, or ELOG_EUSAGE with err "invalid duration 'x'". */
int elog_duration_parse(const char *s, int64_t *out_ns, struct elog_err *err);

#endif
