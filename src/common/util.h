/*
 * util.h — small shared helpers: growable byte buffers, clocks, UTF-8 repair.
 * A struct elog_buf owns its memory; elog_buf_release frees it and leaves an empty buffer.
 */
#ifndef ELOG_UTIL_H
#define ELOG_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Nanoseconds in a second and a millisecond: the one definition every file uses. */
#define NS_PER_S 1000000000LL
#define NS_PER_MS 1000000LL

struct elog_buf {
	char *data;   /* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
};

#define ELOG_BUF_INIT { NULL, 0, 0 }

void elog_buf_grow(struct elog_buf *b, size_t extra);   /* aborts only on OOM via xmalloc */
void elog_buf_add_slow(struct elog_buf *b, const void *data, size_t n);
/* Appends n bytes. Inline: the display appends a few bytes at a time, millions of times. */
static inline void elog_buf_add(struct elog_buf *b, const void *data, size_t n)
{
	if (__builtin_expect(b->len + n < b->cap && b->len + n >= b->len, 1)) {
		if (n)
			memcpy(b->data + b->len, data, n);
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	elog_buf_add_slow(b, data, n);
}
void elog_buf_adds(struct elog_buf *b, const char *s);
void elog_buf_addc(struct elog_buf *b, char c);
void elog_buf_addf(struct elog_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void elog_buf_reset(struct elog_buf *b);                 /* len = 0, keeps memory */
void elog_buf_release(struct elog_buf *b);
/* Hands the buffer's string to the caller (never NULL; "" for empty) and resets b. */
char *elog_buf_detach(struct elog_buf *b);

/* malloc wrappers that never return NULL: an allocation failure is fatal by design. It writes
 * "elog: out of memory: cannot allocate N bytes" on stderr (write(2), nothing allocated) and
 * aborts (SIGABRT), so the process does not die as a mysterious "Illegal instruction". */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Wall clock and monotonic clock in nanoseconds. */
int64_t elog_now_ns(void);
int64_t elog_mono_ns(void);

/*
 * Timed waits, on one clock: every condition variable a timed wait uses is initialised with
 * elog_cond_init (its timed waits run on CLOCK_MONOTONIC, so setting the wall clock neither
 * stretches nor cuts a wait), and deadlines are elog_mono_ns() values.
 * elog_cond_wait_until waits until signalled or the deadline (INT64_MAX: none) and returns 0,
 * or ETIMEDOUT once the deadline has passed. elog_mono_after(ns) is the deadline ns from now
 * (now when ns <= 0, INT64_MAX when the sum overflows).
 */
void elog_cond_init(pthread_cond_t *cv);
int elog_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_mono_ns);
int64_t elog_mono_after(int64_t ns);

/*
 * google.protobuf.Timestamp (seconds, nanos) -> ns since the epoch: the one rule of every
 * contract (flowctl, relay, logging.v1; see convert.h for the record time built on it).
 *  - nanos outside [0, 1e9) are normalised into seconds: {5, -1} is 4.999999999 s,
 *    {0, -1} is 1 ns before the epoch, {1, 1500000000} is 2.5 s;
 *  - a time int64 ns cannot hold saturates: after 2262-04-11T23:47:16.854775807Z it is
 *    INT64_MAX, before 1677-09-21T00:12:43.145224192Z it is INT64_MIN.
 * Never overflows, whatever the values.
 */
int64_t elog_pb_time_ns(int64_t seconds, int32_t nanos);

/*
 * The event time of a record from a Timestamp (present: the message had one): what
 * elog_pb_time_ns gives when it is after the epoch, else 0 — an absent, unset ({0, 0}) or
 * before-1970 time means "unknown", and the hub then uses the arrival time.
 */
int64_t elog_pb_event_ns(int present, int64_t seconds, int32_t nanos);

/* Formats ns since the epoch as RFC3339Nano UTC ("2024-01-20T10:00:00.123456789Z", trailing
 * zeros of the fraction trimmed, no fraction when 0) into out (>= 40 bytes). Returns length. */
size_t elog_format_rfc3339(int64_t ns, char *out, size_t outsz);

/* Appends s[0..n) to b as valid UTF-8: each invalid byte becomes U+FFFD, NUL becomes U+FFFD
 * too. Returns the number of bytes replaced. */
size_t elog_utf8_append(struct elog_buf *b, const char *s, size_t n);

/* True when s[0..n) is valid UTF-8 without NUL bytes. */
int elog_utf8_valid(const char *s, size_t n);

/* Returns a malloc'd valid-UTF-8 copy of s[0..n). */
char *elog_utf8_dup(const char *s, size_t n);

struct elog_err;

/* Reads the whole file at path into *out (malloc'd, NUL-terminated). Returns 0, or ELOG_EIO
 * with err "cannot read 'path': why". */
int elog_read_file(const char *path, char **out, struct elog_err *err);

/*
 * Splits a gRPC target ("127.0.0.1:50090", "[::1]:8080", "dns:///host:port", "ipv4:...") into
 * host and port (port "" when there is none). Returns 0, or -1 for a unix: target or a
 * malformed one.
 */
int elog_target_split(const char *target, char *host, size_t hostsz, char *port, size_t portsz);

/*
 * Repeated keys, last one wins, in O(n log n): fills keep[] (room for n) with the indexes of
 * the last occurrence of each distinct key of keys[0..n), in increasing index order, and
 * returns how many. A NULL key is skipped. Keys are compared with strcmp.
 */
size_t elog_keys_last_wins(const char *const *keys, size_t n, size_t *keep);

/*
 * Parses a size typed by a user: decimal bytes with an optional K, M, G or T (powers of 1024,
 * either case) and an optional "B" or "iB" after it: "4096", "64K", "64M", "1G", "64MiB".
 * Returns 0 and *out, or -1 (not a size, negative, or past INT64_MAX bytes).
 */
int elog_size_parse(const char *s, int64_t *out);

/* mkdir -p of the directory part of path, each directory it creates 0700 (the history holds
 * every log line and the key hashes). Returns 0 or an errno, the failing directory in dir. */
int elog_make_parent_dirs(const char *path, char *dir, size_t dirsz);

/* Appends s as a JSON string literal, with quotes and escapes, to b (s must be valid UTF-8). */
void elog_json_quote(struct elog_buf *b, const char *s, size_t n);

/* The value of a hexadecimal digit (either case), or -1. */
int elog_hex_digit(int c);

/* FNV-1a, 64 bits, of p[0..n): stable across runs and builds (the tail state keeps it). */
uint64_t elog_fnv1a64(const void *p, size_t n);

/* The value of a base64 digit, standard or URL-safe alphabet ('+'/'-' 62, '/'/'_' 63), or -1. */
int elog_base64_digit(int c);

#endif
