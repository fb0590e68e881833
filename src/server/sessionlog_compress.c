/*
 * sessionlog_compress.c — the compressor thread: gzips rotated session files, announces them, and applies retention to a stem's rotated files.
 * Locking: the top of sessionlog.c.
 */
#include "server/sessionlog_internal.h"

/* ---- the compressor -------------------------------------------------------------------------- */

void slog__queue_job(struct elog_sessionlog *sl, const char *name, const char *stem,
		      const char *id)
{
	struct cjob *j = xcalloc(1, sizeof(*j));

	j->name = name ? xstrdup(name) : NULL;
	j->stem = xstrdup(stem);
	j->id = id ? xstrdup(id) : NULL;
	pthread_mutex_lock(&sl->cmu);
	if (sl->jtail)
		sl->jtail->next = j;
	else
		sl->jhead = j;
	sl->jtail = j;
	pthread_cond_signal(&sl->ccv);
	pthread_mutex_unlock(&sl->cmu);
}

/* gzips name to name.gz via name.gz.tmp (fsynced, renamed), then removes name. 0 or -1;
 * a missing name (removed by retention) counts as done (*gzbytes stays -1 then). */
static int gzip_file(struct elog_sessionlog *sl, const char *name, int64_t *gzbytes,
		     int64_t *rawbytes)
{
	struct stat st;
	struct elog_buf tmp = ELOG_BUF_INIT, fin = ELOG_BUF_INIT;
	unsigned char in[65536], out[65536];
	z_stream z;
	int src, dst = -1, rc = -1, zinit = 0, flush = Z_NO_FLUSH;

	*gzbytes = *rawbytes = -1;
	src = slog__dir_open(sl, name, O_RDONLY, &st);
	if (src < 0)
		return errno == ENOENT ? 0 : -1;
	*rawbytes = st.st_size;
	elog_buf_addf(&tmp, "%s.gz.tmp", name);
	elog_buf_addf(&fin, "%s.gz", name);
	/* a new file: whatever sits at the name (a link too) is removed, never written through */
	unlinkat(sl->dirfd, tmp.data, 0);
	dst = slog__dir_open(sl, tmp.data, O_WRONLY | O_CREAT | O_EXCL, NULL);
	if (dst < 0)
		goto out;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto out;
	zinit = 1;
	do {
		ssize_t r = read(src, in, sizeof(in));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		flush = r == 0 ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = in;
		z.avail_in = (uInt)r;
		do {
			int zr;

			z.next_out = out;
			z.avail_out = sizeof(out);
			zr = deflate(&z, flush);
			if (zr == Z_STREAM_ERROR)
				goto out;
			if (slog__write_all(dst, (const char *)out, sizeof(out) - z.avail_out) != 0)
				goto out;
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	if (fsync(dst) != 0)
		goto out;
	if (fstat(dst, &st) == 0)
		*gzbytes = st.st_size;
	if (close(dst) != 0) {
		dst = -1;
		goto out;
	}
	dst = -1;
	if (renameat(sl->dirfd, tmp.data, sl->dirfd, fin.data) != 0)
		goto out;
	fsync(sl->dirfd);
	unlinkat(sl->dirfd, name, 0);
	rc = 0;
out:
	if (zinit)
		deflateEnd(&z);
	if (dst >= 0)
		close(dst);
	if (rc != 0)
		unlinkat(sl->dirfd, tmp.data, 0);
	close(src);
	elog_buf_release(&tmp);
	elog_buf_release(&fin);
	return rc;
}

static int cmp_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Keeps the newest backup_count rotated files of stem (a .log and its .log.gz count once;
 * names sort by time since the time is fixed-width). */
static void apply_retention(struct elog_sessionlog *sl, const char *stem)
{
	char **keys = NULL;
	size_t n = 0, cap = 0, i, kept = 0;
	DIR *d;
	struct dirent *de;

	if (sl->o.backup_count <= 0 || !(d = slog__dir_list(sl)))
		return;
	while ((de = readdir(d)) != NULL) {
		int gz;

		if (!elog_slog_parse_rotated(de->d_name, stem, NULL, NULL, &gz))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			keys = xrealloc(keys, cap * sizeof(*keys));
		}
		keys[n++] = xstrndup(de->d_name, strlen(de->d_name) - (gz ? 3 : 0));
	}
	closedir(d);
	qsort(keys, n, sizeof(*keys), cmp_desc);
	for (i = 0; i < n; i++) {
		if (i > 0 && strcmp(keys[i], keys[i - 1]) == 0)
			continue;
		if (kept < (size_t)sl->o.backup_count) {
			kept++;
			continue;
		}
		{
			struct elog_buf gzname = ELOG_BUF_INIT;

			elog_buf_addf(&gzname, "%s.gz", keys[i]);
			unlinkat(sl->dirfd, keys[i], 0);
			unlinkat(sl->dirfd, gzname.data, 0);
			elog_buf_release(&gzname);
			slog__stat_add(&sl->removed);
		}
	}
	for (i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

/* Percent-decodes a stem back to its session id; NULL for a hashed stem. */
static char *stem_id(const char *stem)
{
	struct elog_buf b = ELOG_BUF_INIT;
	const char *p;

	if (strchr(stem, '~'))
		return NULL;
	for (p = stem; *p; p++) {
		if (p[0] == '%' && isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2])) {
			char h[3] = { p[1], p[2], 0 };

			elog_buf_addc(&b, (char)strtol(h, NULL, 16));
			p += 2;
		} else {
			elog_buf_addc(&b, *p);
		}
	}
	return elog_buf_detach(&b);
}

void elog_slog_segment_json(struct elog_buf *out, const struct elog_slog_segment *seg)
{
	char ts[48];

	elog_format_rfc3339(seg->time_ns, ts, sizeof(ts));
	elog_buf_adds(out, "{\"session\":");
	if (seg->session_id)
		elog_json_quote(out, seg->session_id, strlen(seg->session_id));
	else
		elog_buf_adds(out, "null");
	elog_buf_adds(out, ",\"path\":");
	elog_json_quote(out, seg->path, strlen(seg->path));
	elog_buf_addf(out, ",\"first_seq\":%lld,\"last_seq\":%lld,\"bytes\":%lld,\"raw_bytes\":%lld,"
		      "\"compression\":\"%s\",\"time\":\"%s\"}", (long long)seg->first_seq,
		      (long long)seg->last_seq, (long long)seg->bytes, (long long)seg->raw_bytes,
		      seg->compression == ELOG_SLOG_GZIP ? "gzip" : "none", ts);
}

/* Tells o.on_segment about name (relative, final) of the session id (NULL: from stem). */
void slog__announce(struct elog_sessionlog *sl, const char *name, const char *stem,
		     const char *id, int64_t bytes, int64_t raw)
{
	struct elog_slog_segment seg;
	struct elog_buf path = ELOG_BUF_INIT;
	char *own = NULL;
	size_t stemlen;
	int gz;

	if (!sl->o.on_segment)
		return;
	memset(&seg, 0, sizeof(seg));
	if (!slog__parse_rotated_any(name, &stemlen, &seg.first_seq, &seg.last_seq, &gz))
		return;
	if (!id)
		id = own = stem_id(stem);
	elog_buf_addf(&path, "%s/%s", sl->dir, name);
	seg.session_id = id;
	seg.path = path.data;
	seg.bytes = bytes;
	seg.raw_bytes = raw;
	seg.compression = gz ? ELOG_SLOG_GZIP : ELOG_SLOG_NONE;
	seg.time_ns = elog_now_ns();
	sl->o.on_segment(sl->o.on_segment_arg, &seg);
	elog_buf_release(&path);
	free(own);
}

void *slog__compressor_main(void *arg)
{
	struct elog_sessionlog *sl = arg;

	pthread_mutex_lock(&sl->cmu);
	for (;;) {
		struct cjob *j;

		while (!sl->jhead && !sl->cstop)
			pthread_cond_wait(&sl->ccv, &sl->cmu);
		if (!sl->jhead)
			break;
		j = sl->jhead;
		sl->jhead = j->next;
		if (!sl->jhead)
			sl->jtail = NULL;
		pthread_mutex_unlock(&sl->cmu);
		if (j->name && sl->o.compression == ELOG_SLOG_GZIP) {
			int64_t gzb, raw;

			if (gzip_file(sl, j->name, &gzb, &raw) == 0) {
				slog__stat_add(&sl->compressed);
				if (gzb >= 0) {
					struct elog_buf gzname = ELOG_BUF_INIT;

					elog_buf_addf(&gzname, "%s.gz", j->name);
					slog__announce(sl, gzname.data, j->stem, j->id, gzb, raw);
					elog_buf_release(&gzname);
				}
			} else {
				slog__stat_add(&sl->compress_failures);
			}
		}
		apply_retention(sl, j->stem);
		free(j->name);
		free(j->stem);
		free(j->id);
		free(j);
		pthread_mutex_lock(&sl->cmu);
	}
	pthread_mutex_unlock(&sl->cmu);
	return NULL;
}

