/*
 * block.h — sealed history blocks: runs of up to ELOG_BLOCK_MAX_RECORDS consecutive records
 * packed column by column into one zstd frame, with a summary and a token filter a query
 * reads without decompressing (issue 17). Pure code: no SQLite, no threads, no printing.
 * The API contract between the codec (block.c) and the store's sealer.
 */
#ifndef ELOG_STORE_BLOCK_H
#define ELOG_STORE_BLOCK_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "common/record.h"

#define ELOG_BLOCK_MAX_RECORDS 4096      /* at most this many records in one block */
#define ELOG_BLOCK_MAX_TOKENS 64         /* tokens a query checks against a filter, at most */

/* What a query can know of a block without decompressing it (stored as plain columns). */
struct elog_block_summary {
	int64_t id_lo, id_hi;             /* first, last record id (increasing, not contiguous) */
	int64_t ts_lo, ts_hi;             /* event time range (ns): of ts_ns, or arrival_ns where
	                                   * ts_ns is 0, as elog_filter_match reads it */
	int64_t arrival_lo, arrival_hi;   /* arrival time range (ns) */
	uint32_t n;                       /* records */
	unsigned level_mask;              /* bit (1 << level) for each level present */
};

/* A sealed block, as the sealer writes it to SQLite; every buffer malloc'd, owned here. */
struct elog_block {
	struct elog_block_summary sum;
	char *components;      /* the distinct components, "name\tcount\n" lines in first-seen
	                        * order (text, so SQL or C can read it); a backslash, tab or
	                        * newline inside a name is written \\, \t, \n */
	unsigned char *filter; /* the token filter (a bloom filter with its own small header) */
	size_t filter_len;
	unsigned char *data;   /* columns (id, ts, arrival, level, component, msg, fields, source,
	                        * dedupe) packed and zstd-compressed, with a version byte first */
	size_t data_len;
};

/* Encodes recs[0..n), n in 1..ELOG_BLOCK_MAX_RECORDS, ids strictly increasing, into *out.
 * Returns 0, or a negative code with err set (ELOG_ENOMEM, ELOG_EINVAL for bad input). */
int elog_block_encode(const struct elog_record *recs, size_t n, struct elog_block *out,
		      struct elog_err *err);
void elog_block_free(struct elog_block *b);   /* frees the buffers; accepts NULL fields */

/* A decoded block: n records whose strings point into one buffer owned by the view
 * (valid until elog_block_view_free or the next decode into the same view, which reuses
 * its buffers). recs[i].id etc. are set; strings are NUL-terminated, never NULL.
 * Never elog_record_clear or free them: copy a record out (elog_record_set) to keep it. */
struct elog_block_view {
	struct elog_record *recs;
	size_t n;
	/* private: buffers reused between decodes */
	void *priv_buf; size_t priv_cap; size_t recs_cap;
};
/* Decodes data[0..len) (untrusted: a corrupt or hostile blob gives ELOG_EINVAL and
 * "corrupt history block 'ID_LO': why", never a crash, never more than
 * ELOG_BLOCK_MAX_RECORDS records or ~2x ELOG_MAX_RECORD*ELOG_BLOCK_MAX_RECORDS bytes). */
int elog_block_decode(struct elog_block_view *v, const unsigned char *data, size_t len,
		      struct elog_err *err);
void elog_block_view_free(struct elog_block_view *v);

/* Tokens: maximal runs of ASCII letters, digits and '_' (bytes >= 0x80 also count as token
 * characters), ASCII-lowercased, taken from the message and from each field value as
 * elog_fields_walk_buf gives it (the texts elog_filter_match_text searches). */

/* The tokens every match of pattern must contain as WHOLE tokens (so a block whose filter
 * lacks one of them cannot hold a match). Conservative: when unsure, return fewer tokens
 * (0 tokens = the filter cannot help). A literal "request 999999 " gives {"999999"} ("request"
 * could be the end of a longer token). Handles regex syntax: escapes, classes, quantifiers
 * (a char followed by ?, *, {0,..} is optional), groups and top-level alternation (give up
 * or intersect), (?i) etc. Writes up to max tokens (lowercased, malloc'd) into toks.
 * Returns the count.
 * A literal of 3 or more token characters that may be part of a longer token is given as a
 * fragment: ELOG_BLOCK_FRAGMENT then the text ("needle" alone gives {"*needle"}: some token
 * contains "needle"); the filter checks its trigrams (when the block has at most 16384
 * distinct ones). Callers pass the strings on as they are. */
#define ELOG_BLOCK_FRAGMENT '*'
size_t elog_pattern_tokens(const char *pattern, char **toks, size_t max);

/* 1 when the filter may contain every token of toks[0..n) (n == 0: 1), 0 when it certainly
 * lacks one. A malformed filter gives 1 (the block is then decoded and checked).
 * Use: the tokens of the filter's pattern (f->pattern as compiled, smart case's (?i)
 * included; never the exclude pattern) once per query, then this per block before decoding
 * it; a block it passes is decoded and every record still goes through elog_filter_match. */
int elog_block_filter_may_match(const unsigned char *filter, size_t len,
				char *const *toks, size_t n);

#endif
