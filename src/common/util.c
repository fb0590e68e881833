/*
 * util.c — growable buffers, allocation wrappers, clocks, RFC3339 formatting, UTF-8 repair
 * and JSON string quoting.
 */
#include "common/util.h"
#include "common/err.h"
#include <errno.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

/* Says "elog: out of memory: cannot allocate N bytes" on stderr and aborts. Nothing here may
 * allocate: the digits are formatted by hand and written with write(2). */
static void __attribute__((noreturn)) out_of_memory(size_t n)
{
	static const char head[] = "elog: out of memory: cannot allocate ";
	static const char tail[] = " bytes\n";
	char digits[24];
	size_t i = sizeof(digits);
	ssize_t w;

	do {
		digits[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n && i > 0);
	w = write(2, head, sizeof(head) - 1);
	w = write(2, digits + i, sizeof(digits) - i);
	w = write(2, tail, sizeof(tail) - 1);
	(void)w;
	signal(SIGABRT, SIG_DFL);
	raise(SIGABRT);
	__builtin_trap();
}

/* Returns non-NULL memory of n bytes; an allocation failure is fatal (util.h). */
void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

/* Returns zeroed memory for n*m bytes; an overflow or allocation failure is fatal. */
void *xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		out_of_memory(m && n > SIZE_MAX / m ? SIZE_MAX : n * m);
	return p;
}

/* Resizes p to n bytes; never returns NULL. */
void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		out_of_memory(n);
	return q;
}

/* Returns a malloc'd copy of s. */
char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* Returns a malloc'd NUL-terminated copy of at most n bytes of s. */
char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* Makes room for extra more bytes plus a terminating NUL. */
void elog_buf_grow(struct elog_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need < b->len)
		out_of_memory(SIZE_MAX);
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

/* Appends n bytes of data; keeps the buffer NUL-terminated. */
void elog_buf_add_slow(struct elog_buf *b, const void *data, size_t n)
{
	if (b->len + n + 1 > b->cap || b->len + n < b->len)
		elog_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends the C string s. */
void elog_buf_adds(struct elog_buf *b, const char *s)
{
	elog_buf_add(b, s, strlen(s));
}

/* Appends one byte. */
void elog_buf_addc(struct elog_buf *b, char c)
{
	if (b->len + 2 > b->cap)
		elog_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/* Appends printf-formatted text. */
void elog_buf_addf(struct elog_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		elog_buf_add(b, small, (size_t)n);
		return;
	}
	elog_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Empties the buffer but keeps its memory. */
void elog_buf_reset(struct elog_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/* Frees the buffer's memory and leaves it empty. */
void elog_buf_release(struct elog_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

/* Hands the buffer's string to the caller (never NULL) and resets b to empty. */
char *elog_buf_detach(struct elog_buf *b)
{
	char *s = b->data;
	if (!s)
		s = xstrdup("");
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return s;
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	if (clock_gettime(id, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Wall-clock time in ns since the epoch. */
int64_t elog_now_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* Monotonic clock in ns (arbitrary origin). */
int64_t elog_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

void elog_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

int elog_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_mono_ns)
{
	struct timespec ts;

	if (deadline_mono_ns == INT64_MAX) {
		pthread_cond_wait(cv, mu);
		return 0;
	}
	if (deadline_mono_ns < 0)
		deadline_mono_ns = 0;
	ts.tv_sec = (time_t)(deadline_mono_ns / NS_PER_S);
	ts.tv_nsec = (long)(deadline_mono_ns % NS_PER_S);
	return pthread_cond_timedwait(cv, mu, &ts) == ETIMEDOUT ? ETIMEDOUT : 0;
}

int64_t elog_mono_after(int64_t ns)
{
	int64_t now = elog_mono_ns(), d;

	if (ns <= 0)
		return now;
	if (__builtin_add_overflow(now, ns, &d))
		return INT64_MAX;
	return d;
}

int64_t elog_pb_time_ns(int64_t seconds, int32_t nanos)
{
	int64_t carry = nanos / NS_PER_S, rem = nanos % NS_PER_S, ns;

	if (rem < 0) {          /* negative nanos: borrow a second */
		rem += NS_PER_S;
		carry--;
	}
	if (__builtin_add_overflow(seconds, carry, &seconds))
		return carry > 0 ? INT64_MAX : INT64_MIN;
	if (seconds < 0 && rem > 0) {   /* same signs: the product overflows only if the sum does */
		seconds++;
		rem -= NS_PER_S;
	}
	if (__builtin_mul_overflow(seconds, NS_PER_S, &ns) || __builtin_add_overflow(ns, rem, &ns))
		return seconds > 0 ? INT64_MAX : INT64_MIN;
	return ns;
}

int64_t elog_pb_event_ns(int present, int64_t seconds, int32_t nanos)
{
	int64_t ns;

	if (!present)
		return 0;
	ns = elog_pb_time_ns(seconds, nanos);
	return ns > 0 ? ns : 0;
}

int elog_size_parse(const char *s, int64_t *out)
{
	int64_t n = 0;
	int shift = 0;
	const char *p = s;

	if (!(*p >= '0' && *p <= '9'))
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	switch (*p) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	case 't': case 'T': shift = 40; break;
	}
	if (shift)
		p++;
	if (shift && (strcmp(p, "B") == 0 || strcmp(p, "iB") == 0))
		p += strlen(p);
	if (*p || n > (INT64_MAX >> shift))
		return -1;
	*out = n << shift;
	return 0;
}

/* Formats ns as RFC3339Nano UTC, fraction trimmed of trailing zeros; returns the length. */
size_t elog_format_rfc3339(int64_t ns, char *out, size_t outsz)
{
	int64_t sec = ns / 1000000000LL;
	int64_t frac = ns % 1000000000LL;
	if (frac < 0) {
		frac += 1000000000LL;
		sec -= 1;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		if (outsz)
			out[0] = '\0';
		return 0;
	}
	char fracs[16] = "";
	if (frac) {
		char digits[10];
		snprintf(digits, sizeof(digits), "%09lld", (long long)frac);
		int k = 9;
		while (k > 0 && digits[k - 1] == '0')
			k--;
		digits[k] = '\0';
		snprintf(fracs, sizeof(fracs), ".%s", digits);
	}
	int n = snprintf(out, outsz, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fracs);
	if (n < 0)
		return 0;
	if ((size_t)n >= outsz)
		return outsz ? outsz - 1 : 0;
	return (size_t)n;
}

/*
 * Length of the valid UTF-8 sequence (without NUL) starting at s[0] within n bytes, or 0
 * when s[0] does not start one. Rejects overlongs, surrogates and code points > U+10FFFF.
 */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && s[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && s[1] >= 0xA0)
			return 0; /* surrogate */
		return 3;
	}
	if (c < 0xF5) {
		if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
		    (s[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && s[1] < 0x90)
			return 0; /* overlong */
		if (c == 0xF4 && s[1] >= 0x90)
			return 0; /* > U+10FFFF */
		return 4;
	}
	return 0;
}

/* True when s[0..n) is valid UTF-8 without NUL bytes. */
int elog_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < n) {
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq_len(p + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

/* Appends s[0..n) as valid UTF-8, each invalid byte or NUL becoming U+FFFD; returns the
 * number of bytes replaced. */
size_t elog_utf8_append(struct elog_buf *b, const char *s, size_t n)
{
	static const char repl[] = "\xEF\xBF\xBD";
	const unsigned char *p = (const unsigned char *)s;
	size_t replaced = 0, i = 0, run = 0;
	elog_buf_grow(b, n);
	while (i < n) {
		if (p[i] >= 0x01 && p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = utf8_seq_len(p + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		elog_buf_add(b, s + run, i - run);
		elog_buf_add(b, repl, 3);
		replaced++;
		i++;
		run = i;
	}
	elog_buf_add(b, s + run, n - run);
	return replaced;
}

/* Returns a malloc'd valid-UTF-8 copy of s[0..n). */
char *elog_utf8_dup(const char *s, size_t n)
{
	if (elog_utf8_valid(s, n)) {
		char *p = xmalloc(n + 1);
		if (n)
			memcpy(p, s, n);
		p[n] = '\0';
		return p;
	}
	struct elog_buf b = ELOG_BUF_INIT;
	elog_utf8_append(&b, s, n);
	return elog_buf_detach(&b);
}

/* Appends s[0..n) as a quoted JSON string literal with the standard escapes. */
void elog_json_quote(struct elog_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t run = 0;
	elog_buf_grow(b, n + 2);
	elog_buf_addc(b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		const char *esc = NULL;
		char ubuf[7];
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			ubuf[0] = '\\'; ubuf[1] = 'u'; ubuf[2] = '0'; ubuf[3] = '0';
			ubuf[4] = hex[c >> 4]; ubuf[5] = hex[c & 15]; ubuf[6] = '\0';
			esc = ubuf;
			break;
		}
		elog_buf_add(b, s + run, i - run);
		elog_buf_adds(b, esc);
		run = i + 1;
	}
	elog_buf_add(b, s + run, n - run);
	elog_buf_addc(b, '"');
}

int elog_read_file(const char *path, char **out, struct elog_err *err)
{
	FILE *f = fopen(path, "rb");
	struct elog_buf b = ELOG_BUF_INIT;
	char chunk[4096];
	size_t n;

	if (!f)
		return elog_err_set(err, ELOG_EIO, "cannot read '%s': %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		elog_buf_add(&b, chunk, n);
	if (ferror(f)) {
		int e = errno;

		fclose(f);
		elog_buf_release(&b);
		return elog_err_set(err, ELOG_EIO, "cannot read '%s': %s", path, strerror(e));
	}
	fclose(f);
	*out = elog_buf_detach(&b);
	return 0;
}

int elog_target_split(const char *target, char *host, size_t hostsz, char *port, size_t portsz)
{
	const char *p = target, *end, *colon;

	if (strncmp(p, "unix:", 5) == 0)
		return -1;
	if (strncmp(p, "dns:///", 7) == 0)
		p += 7;
	else if (strncmp(p, "ipv4:", 5) == 0 || strncmp(p, "ipv6:", 5) == 0)
		p += 5;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -1;
		snprintf(host, hostsz, "%.*s", (int)(end - p - 1), p + 1);
		colon = end[1] ? end + 1 : NULL;
	} else {
		colon = strrchr(p, ':');
		snprintf(host, hostsz, "%.*s", colon ? (int)(colon - p) : (int)strlen(p), p);
	}
	snprintf(port, portsz, "%s", colon ? colon + 1 : "");
	return 0;
}

/* One key of elog_keys_last_wins and where it was. */
struct keyed {
	const char *key;
	size_t at;
};

static int keyed_cmp(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->at < y->at ? -1 : x->at > y->at;
}

static int size_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

size_t elog_keys_last_wins(const char *const *keys, size_t n, size_t *keep)
{
	struct keyed *v = xmalloc((n ? n : 1) * sizeof(*v));
	size_t i, k = 0, out = 0;

	for (i = 0; i < n; i++)
		if (keys[i]) {
			v[k].key = keys[i];
			v[k].at = i;
			k++;
		}
	qsort(v, k, sizeof(*v), keyed_cmp);
	for (i = 0; i < k; i++)
		if (i + 1 == k || strcmp(v[i].key, v[i + 1].key) != 0)
			keep[out++] = v[i].at;
	free(v);
	qsort(keep, out, sizeof(*keep), size_cmp);
	return out;
}

/* mkdir -p of the directory part of path, each directory it creates 0700 (the history holds
 * every log line and the key hashes). Returns 0 or errno, with the failing directory in dir. */
int elog_make_parent_dirs(const char *path, char *dir, size_t dirsz)
{
	const char *slash = strrchr(path, '/');
	size_t n;
	struct stat sb;

	if (!slash || slash == path)
		return 0;
	n = (size_t)(slash - path);
	if (n >= dirsz)
		return ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (stat(dir, &sb) == 0)
		return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
	for (char *p = dir + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				return errno;
			*p = c;
			if (c == '\0')
				break;
		}
	}
	if (stat(dir, &sb) != 0)
		return errno;
	return S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
}

int elog_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int elog_base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

uint64_t elog_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211ULL;
	}
	return h;
}
