/*
 * util.h — small shared helpers: growable byte buffers, clocks, UTF-8 repair.
 * A struct elog_buf owns its memory; elog_buf_release frees it and leaves an empty buffer.
 */
#ifndef ELOG_UTIL_H
#define ELOG_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* malloc wrappers that never return NULL (an allocation failure is fatal by design). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Wall clock and monotonic clock in nanoseconds. */
int64_t elog_now_ns(void);
int64_t elog_mono_ns(void);

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

/* Appends s as a JSON string literal, with quotes and escapes, to b (s must be valid UTF-8). */
void elog_json_quote(struct elog_buf *b, const char *s, size_t n);

#endif
