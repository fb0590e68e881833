/*
 * sessionlog_names.c — the names of session log files: live and rotated, and parsing them back (sessionlog.h).
 * Locking: the top of sessionlog.c.
 */
#include "server/sessionlog_internal.h"

/* ---- names ------------------------------------------------------------------------------- */

static int safe_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

void elog_slog_file_name(struct elog_buf *out, const char *id, size_t n)
{
	static const char hex[] = "0123456789abcdef", HEX[] = "0123456789ABCDEF";
	size_t start = out->len, i, enc = 0, cut = 0;
	unsigned char md[SHA256_DIGEST_LENGTH];

	for (i = 0; i < n; i++)
		enc += (safe_byte((unsigned char)id[i]) && !(i == 0 && id[i] == '.')) ? 1 : 3;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)id[i];
		size_t w = (safe_byte(c) && !(i == 0 && c == '.')) ? 1 : 3;

		if (enc > STEM_MAX && out->len - start + w > STEM_MAX - 1 - 2 * SHA256_DIGEST_LENGTH)
			break;
		if (w == 1) {
			elog_buf_addc(out, (char)c);
		} else {
			elog_buf_addc(out, '%');
			elog_buf_addc(out, HEX[c >> 4]);
			elog_buf_addc(out, HEX[c & 15]);
		}
		cut = i + 1;
	}
	if (cut < n || enc > STEM_MAX) {
		/* '~' is never emitted by the encoding above, so hashed stems stand apart */
		SHA256((const unsigned char *)id, n, md);
		elog_buf_addc(out, '~');
		for (i = 0; i < sizeof(md); i++) {
			elog_buf_addc(out, hex[md[i] >> 4]);
			elog_buf_addc(out, hex[md[i] & 15]);
		}
	}
}

void elog_slog_rotated_name(struct elog_buf *out, const char *stem, int64_t ns, int64_t first,
			    int64_t last)
{
	time_t sec = (time_t)(ns / NS_PER_S);
	long frac = (long)(ns % NS_PER_S);
	struct tm tm;

	if (frac < 0) {
		frac += NS_PER_S;
		sec--;
	}
	gmtime_r(&sec, &tm);
	elog_buf_addf(out, "%s.%04d%02d%02dT%02d%02d%02d.%09ldZ.%lld-%lld.log", stem,
		      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		      tm.tm_sec, frac, (long long)first, (long long)last);
}

static int parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0;

	if (n > 0 && s[0] == '-') {
		neg = 1;
		i = 1;
	}
	if (i == n || n - i > 19)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/*
 * Parses "<stem>.<time>.<first>-<last>.log[.gz]" from the right; sets *stemlen. Returns 1 or 0.
 * The time is fixed-width and the range holds no '.', so the split is unique.
 */
int slog__parse_rotated_any(const char *name, size_t *stemlen, int64_t *first, int64_t *last,
			     int *gz)
{
	size_t n = strlen(name), i, dash;
	const char *range, *t;
	static const char pat[] = "ddddddddTdddddd.dddddddddZ";
	int64_t a, b;

	*gz = 0;
	if (n > 3 && strcmp(name + n - 3, ".gz") == 0) {
		*gz = 1;
		n -= 3;
	}
	if (n < 4 || memcmp(name + n - 4, ".log", 4) != 0)
		return 0;
	n -= 4;
	i = n;
	while (i > 0 && name[i - 1] != '.')
		i--;
	if (i == 0)
		return 0;
	range = name + i;
	/* first-last, each with an optional sign */
	dash = (range[0] == '-') ? 1 : 0;
	while (i + dash < n && range[dash] != '-')
		dash++;
	if (i + dash >= n || parse_i64(range, dash, &a) != 0 ||
	    parse_i64(range + dash + 1, n - i - dash - 1, &b) != 0)
		return 0;
	/* name[i-1] is '.', the time ends before it */
	if (i - 1 < TIME_LEN + 2)
		return 0;
	t = name + i - 1 - TIME_LEN;
	for (size_t k = 0; k < TIME_LEN; k++) {
		char p = pat[k];

		if (p == 'd' ? (t[k] < '0' || t[k] > '9') : t[k] != p)
			return 0;
	}
	if (t[-1] != '.')
		return 0;
	*stemlen = (size_t)(t - 1 - name);
	if (first)
		*first = a;
	if (last)
		*last = b;
	return *stemlen > 0;
}

int elog_slog_parse_rotated(const char *name, const char *stem, int64_t *first, int64_t *last,
			    int *gz)
{
	size_t sn;
	int g;

	if (!slog__parse_rotated_any(name, &sn, first, last, &g))
		return 0;
	if (sn != strlen(stem) || memcmp(name, stem, sn) != 0)
		return 0;
	if (gz)
		*gz = g;
	return 1;
}

