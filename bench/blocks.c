/*
 * bench/blocks.c — the sealed block codec (src/store/block.c) on bench/history.sh's data, with
 * the alternatives it was chosen from (issue 17): zstd levels, block sizes, columns against
 * rows, and the token filter's bits per token against its false-positive rate.
 * Reference, same run: the same records as JSON lines (the flat file's bytes), and those
 * lines zstd-compressed in chunks of the same number of lines.
 *   build/blocks [RECORDS [FIRST_INDEX]]   (default 1000000 records from index 5000000, so
 *   numbers have the 7 digits most records of a 10M history have)
 * Prints a markdown table. Not a test.
 */
#include "store/block.c"   /* the codec with its tunables (static) */
#include <math.h>
#include <stdio.h>
#include <time.h>

static uint64_t rs = 42;

static uint64_t rnd64(void)
{
	uint64_t z = (rs += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);   /* CPU time: the machine is shared */
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static const char *const comps[] = { "api", "worker", "db", "auth" };
static const char *const words[] = { "served", "user", "cache", "miss", "retry", "timeout",
				     "upstream", "connection", "pool", "job", "done", "queued" };
static const int levels[] = { 1, 2, 3, 4 };   /* debug info warn error */

/* Record i as bench/history.sh's generator makes it, as `elog send` stores it. */
static void gen(struct elog_record *r, long i, struct elog_buf *line)
{
	char msg[128], fields[32];
	int64_t base = 1769487300LL * NS_PER_S;   /* 2026-01-27T04:15:00Z */
	int64_t ts = base + (i / 1000000 % 60) * NS_PER_S + (i % 1000000) * 1000;
	int lv = levels[rnd64() % 4], dur;

	snprintf(msg, sizeof(msg), "request %ld %s %s %s", i, words[rnd64() % 12],
		 words[rnd64() % 12], words[rnd64() % 12]);
	dur = (int)(rnd64() % 1000);
	snprintf(fields, sizeof(fields), "{\"dur_ms\":%d}", dur);
	elog_record_init(r);
	r->id = i + 1;
	r->ts_ns = ts;
	r->arrival_ns = base + 3600 * NS_PER_S + i * 1100 + (int64_t)(rnd64() % 700);
	r->level = lv;
	elog_record_set(&r->component, comps[i % 4], strlen(comps[i % 4]));
	elog_record_set(&r->msg, msg, strlen(msg));
	elog_record_set(&r->fields, fields, strlen(fields));
	elog_record_set(&r->source, "send", 4);
	if (line) {
		static const char *const lvn[] = { "trace", "debug", "info", "warn", "error" };

		elog_buf_addf(line, "{\"ts\":\"2026-01-27T04:15:%02ld.%06ldZ\",\"level\":\"%s\","
			      "\"component\":\"%s\",\"msg\":\"%s\",\"dur_ms\":%d}\n",
			      i / 1000000 % 60, i % 1000000, lvn[lv], comps[i % 4], msg, dur);
	}
}

/* Row-wise packing, the alternative to pack_columns. */
static void pack_rows(struct wbuf *w, const struct elog_record *recs, size_t n,
		      const struct dict *comp, const struct dict *src)
{
	for (size_t r = 0; r < n; r++) {
		wb_uv(w, r ? (uint64_t)(recs[r].id - recs[r - 1].id) : 0);
		wb_uv(w, zigzag((uint64_t)recs[r].ts_ns - (r ? (uint64_t)recs[r - 1].ts_ns : 0)));
		wb_uv(w, zigzag((uint64_t)recs[r].arrival_ns -
				(r ? (uint64_t)recs[r - 1].arrival_ns : 0)));
		wb_uv(w, (uint64_t)recs[r].level);
		wb_uv(w, comp->idx[r]);
		wb_uv(w, src->idx[r]);
		wb_str(w, recs[r].msg, strlen(recs[r].msg));
		wb_str(w, recs[r].fields, strlen(recs[r].fields));
		wb_str(w, recs[r].dedupe_key, strlen(recs[r].dedupe_key));
	}
}

struct cfg_result {
	double bytes;    /* compressed data */
	double secs;     /* pack + compress */
};

/* Packs and compresses recs[0..n) as one block (any n: the API's limit is not applied). */
static void one_block(const struct elog_record *recs, size_t n, int rows, int level,
		      struct cfg_result *res)
{
	struct dict comp = { 0 }, src = { 0 };
	struct wbuf raw = { 0 };
	double t0 = now_s();
	size_t bound, c;
	void *out;

	dict_build(&comp, recs, n, 0);
	dict_build(&src, recs, n, 1);
	if (rows)
		pack_rows(&raw, recs, n, &comp, &src);
	else {
		struct rec_lens *len = xmalloc(n * sizeof(*len));

		for (size_t r = 0; r < n; r++) {
			len[r].msg = strlen(recs[r].msg ? recs[r].msg : "");
			len[r].fields = strlen(recs[r].fields ? recs[r].fields : "");
			len[r].key = strlen(recs[r].dedupe_key ? recs[r].dedupe_key : "");
		}
		pack_columns(&raw, recs, len, n, &comp, &src);
		free(len);
	}
	bound = ZSTD_compressBound(raw.len);
	out = xmalloc(bound);
	c = ZSTD_compress(out, bound, raw.p, raw.len, level);
	res->secs += now_s() - t0;
	res->bytes += (double)c + 16;   /* + header and checksum */
	free(out);
	free(raw.p);
	dict_free(&comp);
	dict_free(&src);
}

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 1000000, first = argc > 2 ? atol(argv[2]) : 5000000;
	static const int zlevels[] = { 1, 3, 6, 9 };
	static const size_t bsizes[] = { 1024, 4096, 16384 };
	static const unsigned fbits[] = { 6, 8, 10, 12, 16, 20 };
	struct elog_record *recs;
	struct elog_buf lines = ELOG_BUF_INIT;
	double json_bytes = 0, ref_zstd = 0, ref_secs = 0;
	long nblocks;

	if (total < 16384)
		total = 16384;
	total -= total % 16384;
	recs = xcalloc((size_t)total, sizeof(*recs));
	for (long i = 0; i < total; i++) {
		elog_buf_reset(&lines);
		gen(&recs[i], first + i, &lines);
		json_bytes += (double)lines.len;
	}
	/* reference: the JSON lines, zstd -3 in chunks of 4096 lines */
	for (long b = 0; b < total; b += 4096) {
		struct elog_buf chunk = ELOG_BUF_INIT;
		double t0;
		size_t bound, c;
		void *out;

		rs = 42 + (uint64_t)b;
		for (long i = b; i < b + 4096; i++) {
			struct elog_record tmp;

			gen(&tmp, first + i, &chunk);
			elog_record_clear(&tmp);
		}
		t0 = now_s();
		bound = ZSTD_compressBound(chunk.len);
		out = xmalloc(bound);
		c = ZSTD_compress(out, bound, chunk.data, chunk.len, 3);
		ref_secs += now_s() - t0;
		ref_zstd += (double)c;
		free(out);
		elog_buf_release(&chunk);
	}
	printf("# %ld records (indexes %ld..%ld), JSON lines %.1f bytes a line\n\n", total, first,
	       first + total - 1, json_bytes / (double)total);
	printf("| layout | zstd | records/block | data B/record | encode MB/s (of JSON) |\n");
	printf("|---|---|---|---|---|\n");
	printf("| reference: JSON lines, flat | - | - | %.1f | - |\n", json_bytes / (double)total);
	printf("| reference: JSON lines, zstd chunks | 3 | 4096 | %.2f | %.0f |\n",
	       ref_zstd / (double)total, json_bytes / ref_secs / 1e6);
	for (int rows = 0; rows < 2; rows++)
		for (size_t zi = 0; zi < sizeof(zlevels) / sizeof(zlevels[0]); zi++)
			for (size_t bi = 0; bi < sizeof(bsizes) / sizeof(bsizes[0]); bi++) {
				struct cfg_result res = { 0, 0 };

				if (rows && bsizes[bi] != 4096)
					continue;
				for (long b = 0; b + (long)bsizes[bi] <= total; b += (long)bsizes[bi])
					one_block(recs + b, bsizes[bi], rows, zlevels[zi], &res);
				printf("| %s | %d | %zu | %.2f | %.0f |\n", rows ? "rows" : "columns",
				       zlevels[zi], bsizes[bi], res.bytes / (double)total,
				       json_bytes / res.secs / 1e6);
			}

	/* the API as built (4096 records, the chosen level): encode, decode, filter */
	{
		struct elog_block *blocks;
		struct elog_block_view v = { 0 };
		struct elog_err err;
		double t0, enc, dec, zdec, filter_bytes = 0, data_bytes = 0, tokens = 0;

		nblocks = total / 4096;
		blocks = xcalloc((size_t)nblocks, sizeof(*blocks));
		t0 = now_s();
		for (long b = 0; b < nblocks; b++)
			if (elog_block_encode(recs + b * 4096, 4096, &blocks[b], &err))
				fprintf(stderr, "encode: %s\n", err.msg);
		enc = now_s() - t0;
		t0 = now_s();
		for (long b = 0; b < nblocks; b++)
			if (elog_block_decode(&v, blocks[b].data, blocks[b].data_len, &err))
				fprintf(stderr, "decode: %s\n", err.msg);
		dec = now_s() - t0;
		{
			/* of which zstd alone */
			ZSTD_DCtx *dc = ZSTD_createDCtx();
			unsigned char *tmp = xmalloc(64u << 20);

			t0 = now_s();
			for (long b = 0; b < nblocks; b++) {
				size_t pos = 1;
				uint64_t x;

				rd_uv(blocks[b].data, blocks[b].data_len, &pos, &x);
				rd_uv(blocks[b].data, blocks[b].data_len, &pos, &x);
				rd_uv(blocks[b].data, blocks[b].data_len, &pos, &x);
				ZSTD_decompressDCtx(dc, tmp, 64u << 20, blocks[b].data + pos,
						    blocks[b].data_len - pos);
			}
			zdec = now_s() - t0;
			ZSTD_freeDCtx(dc);
			free(tmp);
		}
		for (long b = 0; b < nblocks; b++) {
			filter_bytes += (double)blocks[b].filter_len;
			data_bytes += (double)blocks[b].data_len;
			tokens += (double)(blocks[b].filter_len - FILTER_HDR) * 8 / block_filter_bits;
		}
		printf("\n## as built: columns, zstd %d, 4096 records a block, filter %u bits/token k=%u\n\n",
		       block_zstd_level, block_filter_bits, block_filter_k);
		printf("| measure | value |\n|---|---|\n");
		printf("| data B/record | %.2f |\n", data_bytes / (double)total);
		printf("| filter B/record | %.2f |\n", filter_bytes / (double)total);
		printf("| components text B/block | %zu |\n", strlen(blocks[0].components));
		printf("| distinct tokens and trigrams per block | %.0f |\n", tokens / (double)nblocks);
		printf("| encode (pack, tokenize, filter, zstd) MB/s of JSON | %.0f (%.0f krecords/s) |\n",
		       json_bytes / enc / 1e6, (double)total / enc / 1e3);
		printf("| decode (zstd, UTF-8 check, records) MB/s of JSON | %.0f (%.0f krecords/s) |\n",
		       json_bytes / dec / 1e6, (double)total / dec / 1e3);
		printf("| of which zstd alone | %.0f %% |\n", 100.0 * zdec / dec);
		elog_block_view_free(&v);

		/* filter: bits per token against false positives for absent (rare) words, whole
		 * and as fragments (some token contains it) */
		printf("\n| filter bits/token | k | filter B/record | false positives: absent number, whole | absent word, whole | absent word, fragment | tokenize ms/block | build ms/block |\n");
		printf("|---|---|---|---|---|---|---|---|\n");
		for (size_t fi = 0; fi < sizeof(fbits) / sizeof(fbits[0]); fi++) {
			unsigned saved_bits = block_filter_bits, saved_k = block_filter_k;
			double fb = 0, tok_s = 0, build = 0;
			long fp_num = 0, fp_word = 0, fp_frag = 0, probes = 0;

			block_filter_bits = fbits[fi];
			block_filter_k = (unsigned)lround(fbits[fi] * 0.6931);
			for (long b = 0; b < nblocks; b++) {
				struct tokens tk = { 0 };
				unsigned char *f;
				size_t fl;

				t0 = now_s();
				tokens_init(&tk);
				for (long r = 0; r < 4096; r++)
					tokenize_record(&tk, &recs[b * 4096 + r],
							strlen(recs[b * 4096 + r].msg),
							strlen(recs[b * 4096 + r].fields));
				tok_s += now_s() - t0;
				t0 = now_s();
				filter_build(&tk, &f, &fl);
				build += now_s() - t0;
				fb += (double)fl;
				for (int q = 0; q < 1000; q++) {
					char num[32], word[32], frag[32], *t[1];

					/* words of the data's shape that are nowhere in it */
					snprintf(num, sizeof(num), "%ld", first + total + 1000 +
						 (long)(rnd64() % 100000000));
					for (int c = 0; c < 6; c++)
						word[c] = (char)('a' + rnd64() % 26);
					word[6] = 0;
					snprintf(frag, sizeof(frag), "*%s", word);
					t[0] = num;
					fp_num += elog_block_filter_may_match(f, fl, t, 1);
					t[0] = word;
					fp_word += elog_block_filter_may_match(f, fl, t, 1);
					t[0] = frag;
					fp_frag += elog_block_filter_may_match(f, fl, t, 1);
					probes++;
				}
				free(f);
				tokens_release(&tk);
			}
			printf("| %u | %u | %.2f | %.4f%% | %.4f%% | %.4f%% | %.2f | %.2f |\n", fbits[fi],
			       block_filter_k, fb / (double)total, 100.0 * (double)fp_num / (double)probes,
			       100.0 * (double)fp_word / (double)probes,
			       100.0 * (double)fp_frag / (double)probes,
			       tok_s * 1e3 / (double)nblocks, build * 1e3 / (double)nblocks);
			block_filter_bits = saved_bits;
			block_filter_k = saved_k;
		}
		for (long b = 0; b < nblocks; b++)
			elog_block_free(&blocks[b]);
		free(blocks);
	}
	for (long i = 0; i < total; i++)
		elog_record_clear(&recs[i]);
	free(recs);
	elog_buf_release(&lines);
	return 0;
}
