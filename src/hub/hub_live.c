/*
 * hub_live.c — the hub's live fan-out: the published list of committed records (built and
 * appended by the writer in hub.c) and the followers that read it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <stdio.h>

#include "hub/hub_internal.h"
#include "common/err.h"
#include "common/util.h"
#include "common/wire.h"

/*
 * Live fan-out. The writer never runs a follower's filter: after each commit it copies the
 * committed records once into immutable chunks (at most PUB_CHUNK_RECORDS records and about
 * PUB_CHUNK_BYTES each) and appends them to one shared list, numbered by a global sequence.
 * The list is bounded by live_records and live_bytes: past them the oldest chunks leave it
 * (freed once no follower is scanning them). Each follower keeps its own position (sequence,
 * record) and, on its own thread, takes the lock only to find and reference its next chunk,
 * matches outside the lock and copies out what matches. A follower whose position left the
 * list is told the id range it missed (every committed id in it), which the reader fills from
 * the history. What serve holds for followers is the list plus, for each follower inside
 * elog_follower_next, one chunk and what it copies out: it does not grow with ingest.
 */
#define PUB_CHUNK_RECORDS 1024
#define PUB_CHUNK_BYTES (1u << 20)
#define OUT_BYTES (256u << 10)      /* elog_follower_next returns once it copied this much */

size_t hub__record_strs(const struct elog_record *r)
{
	return strlen(r->component) + strlen(r->msg) + strlen(r->fields) + strlen(r->source) +
	       strlen(r->dedupe_key) + 5;
}

static size_t record_bytes(const struct elog_record *r)
{
	return sizeof(*r) + hub__record_strs(r);
}

static void record_copy(struct elog_record *dst, const struct elog_record *src)
{
	dst->id = src->id;
	dst->ts_ns = src->ts_ns;
	dst->arrival_ns = src->arrival_ns;
	dst->level = src->level;
	dst->component = xstrdup(src->component);
	dst->msg = xstrdup(src->msg);
	dst->fields = xstrdup(src->fields);
	dst->source = xstrdup(src->source);
	dst->dedupe_key = xstrdup("");
	dst->redacted_before = 0;
}

char *hub__put_str(char **p, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = *p;

	memcpy(d, s, n);
	*p += n;
	return d;
}

/* One chunk of recs[0..n) (every id > 0) and their wire encoding, in one allocation; wire is
 * the caller's scratch. Each record is encoded here, once for every follower: a Read follower
 * copies the bytes of those it matches into its page (elog_follower_scan). */
static struct pub_chunk *chunk_make(const struct elog_record *recs, size_t n, size_t bytes,
				    struct elog_buf *wire)
{
	size_t strs = 0, i;
	struct pub_chunk *c;
	uint32_t *ends;
	char *p;

	elog_buf_reset(wire);
	ends = xmalloc(n * sizeof(*ends));
	for (i = 0; i < n; i++) {
		strs += strlen(recs[i].component) + strlen(recs[i].msg) + strlen(recs[i].fields) +
			strlen(recs[i].source) + 5;
		elog_wire_put_record(wire, 1, &recs[i]);
		ends[i] = (uint32_t)wire->len;
	}
	c = xcalloc(1, sizeof(*c) + n * (sizeof(*c->recs) + sizeof(*ends)) + strs + wire->len);
	c->recs = (struct elog_record *)(c + 1);
	memcpy(c->recs + n, ends, n * sizeof(*ends));
	free(ends);
	ends = (uint32_t *)(c->recs + n);
	c->wire_end = ends;
	c->n = n;
	c->bytes = bytes + wire->len;
	p = (char *)(ends + n);
	for (i = 0; i < n; i++) {
		struct elog_record *d = &c->recs[i];

		d->id = recs[i].id;
		d->ts_ns = recs[i].ts_ns;
		d->arrival_ns = recs[i].arrival_ns;
		d->level = recs[i].level;
		d->component = hub__put_str(&p, recs[i].component);
		d->msg = hub__put_str(&p, recs[i].msg);
		d->fields = hub__put_str(&p, recs[i].fields);
		d->source = hub__put_str(&p, recs[i].source);
		d->dedupe_key = hub__put_str(&p, "");
		d->redacted_before = 0;
	}
	if (wire->len)
		memcpy(p, wire->data, wire->len);
	c->wire = p;
	return c;
}

/* The committed records of recs[0..n) as a list of chunks (NULL when none was stored). */
struct pub_chunk *hub__chunks_build(const struct elog_record *recs, size_t n)
{
	struct pub_chunk *first = NULL, **tail = &first;
	struct elog_buf wire = ELOG_BUF_INIT;
	size_t i = 0;

	while (i < n) {
		size_t j = i, cnt = 0, bytes = 0;
		const struct elog_record *start;

		while (j < n && recs[j].id <= 0)
			j++;
		if (j == n)
			break;
		start = &recs[j];
		/* a run of stored records (duplicates, id 0, end a chunk) */
		while (j < n && recs[j].id > 0 && cnt < PUB_CHUNK_RECORDS &&
		       (cnt == 0 || bytes < PUB_CHUNK_BYTES)) {
			bytes += record_bytes(&recs[j]);
			cnt++;
			j++;
		}
		*tail = chunk_make(start, cnt, bytes, &wire);
		tail = &(*tail)->next;
		i = j;
	}
	elog_buf_release(&wire);
	return first;
}

/* With h->mu held: takes the oldest chunk off the list; returns it when nobody else holds it
 * (the caller frees it after unlocking), else NULL (its last reader frees it). */
struct pub_chunk *hub__pub_drop_head_locked(struct elog_hub *h)
{
	struct pub_chunk *c = h->pub[h->pub_head % PUB_SLOTS];

	h->pub[h->pub_head % PUB_SLOTS] = NULL;
	h->pub_head++;
	h->pub_records -= c->n;
	h->pub_bytes -= c->bytes;
	c->next = NULL;
	return --c->refs == 0 ? c : NULL;
}

/* With h->mu held: appends the chunks to the list, trims it to its bounds (the newest chunk
 * always stays) and wakes the followers. Chunks to free are put on *to_free. */
void hub__publish_locked(struct elog_hub *h, struct pub_chunk *chunks, struct pub_chunk **to_free)
{
	struct pub_chunk *c, *next, *d;

	for (c = chunks; c; c = next) {
		next = c->next;
		c->next = NULL;
		if (h->pub_next - h->pub_head == PUB_SLOTS && (d = hub__pub_drop_head_locked(h))) {
			d->next = *to_free;
			*to_free = d;
		}
		c->seq = h->pub_next++;
		c->refs = 1;
		c->first_index = h->pub_index;
		h->pub_index += c->n;
		h->pub[c->seq % PUB_SLOTS] = c;
		h->pub_records += c->n;
		h->pub_bytes += c->bytes;
		while (h->pub_next - h->pub_head > 1 &&
		       (h->pub_records > h->live_max_records || h->pub_bytes > h->live_max_bytes))
			if ((d = hub__pub_drop_head_locked(h))) {
				d->next = *to_free;
				*to_free = d;
			}
	}
	pthread_cond_broadcast(&h->cv_pub);
}

void hub__chunks_free(struct pub_chunk *c)
{
	while (c) {
		struct pub_chunk *next = c->next;

		free(c);
		c = next;
	}
}

void elog_hub_stop_followers(struct elog_hub *h)
{
	pthread_mutex_lock(&h->mu);
	h->followers_stopped = 1;
	pthread_cond_broadcast(&h->cv_pub);
	pthread_mutex_unlock(&h->mu);
}

int elog_hub_wait_publish(struct elog_hub *h, struct elog_hub_mark *mark, int64_t timeout_ns)
{
	const struct elog_clock *clk = h->clock;
	int64_t deadline = elog_clock_after(clk, timeout_ns);
	int rc = 0;

	pthread_mutex_lock(&h->mu);
	while (!h->followers_stopped && h->pub_next == mark->published && h->kicks == mark->kicks)
		if (clk->wait_until(clk, &h->cv_pub, &h->mu, deadline) == ETIMEDOUT)
			break;
	if (h->followers_stopped)
		rc = -1;
	mark->published = h->pub_next;
	mark->kicks = h->kicks;
	pthread_mutex_unlock(&h->mu);
	return rc;
}

void elog_hub_kick(struct elog_hub *h)
{
	pthread_mutex_lock(&h->mu);
	h->kicks++;
	pthread_cond_broadcast(&h->cv_pub);
	pthread_mutex_unlock(&h->mu);
}

struct elog_follower *elog_hub_follow(struct elog_hub *h, const struct elog_filter *f,
				      int64_t *live_after)
{
	struct elog_follower *fol = xcalloc(1, sizeof(*fol));

	fol->hub = h;
	elog_filter_copy(&fol->filter, f);
	fol->filter.after_id = 0;
	fol->filter.limit = 0;
	/* last_id and publishing change together under h->mu: every record with a larger id is
	 * committed later and published at or after pub_next. */
	pthread_mutex_lock(&h->mu);
	*live_after = h->last_id;
	fol->seen_id = h->last_id;
	fol->seq = h->pub_next;
	fol->seen_index = h->pub_index;
	fol->next = h->followers;
	if (h->followers)
		h->followers->prev = fol;
	h->followers = fol;
	__atomic_store_n(&h->nfollowers, h->nfollowers + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&h->mu);
	return fol;
}

#define SCAN_NOWAIT_NS (2 * 1000000LL)

int elog_follower_scan(struct elog_follower *f, elog_follower_emit_fn emit, void *ctx,
		       size_t *n, uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		       int64_t timeout_ns)
{
	struct elog_hub *h = f->hub;
	const struct elog_clock *clk = h->clock;
	int nowait = timeout_ns <= 0;    /* what is there now, scanned for SCAN_NOWAIT_NS at most */
	int64_t deadline = elog_clock_after(clk, nowait ? SCAN_NOWAIT_NS : timeout_ns);
	size_t k = 0;
	int timed_out = 0, full = 0;

	*n = 0;
	*missed = 0;
	pthread_mutex_lock(&h->mu);
	while (!h->followers_stopped) {
		struct pub_chunk *c;
		size_t scanned = 0;

		if (f->seq < h->pub_head) {
			/* Its position left the list: every committed id from the last one it
			 * examined to the oldest still published is for the history to send, after
			 * what it returns now (all of which has lower ids). */
			c = h->pub[h->pub_head % PUB_SLOTS];
			*missed = c->first_index - f->seen_index;
			*missed_from = f->seen_id + 1;
			*missed_to = c->recs[0].id - 1;
			h->stats.dropped_for_followers += *missed;
			f->seq = c->seq;
			f->pos = 0;
			f->seen_id = *missed_to;
			f->seen_index = c->first_index;
			if (*missed)
				break;
			continue;
		}
		if (f->seq == h->pub_next) {
			if (k > 0 || timed_out || nowait)
				break;
			if (clk->wait_until(clk, &h->cv_pub, &h->mu, deadline) == ETIMEDOUT)
				timed_out = 1;
			continue;
		}
		/* Match outside the lock: the chunk is immutable and our reference keeps it. */
		c = h->pub[f->seq % PUB_SLOTS];
		c->refs++;
		pthread_mutex_unlock(&h->mu);
		while (f->pos < c->n && !full) {
			size_t i = f->pos++;
			const struct elog_record *r = &c->recs[i];
			uint32_t from = i ? c->wire_end[i - 1] : 0;

			f->seen_id = r->id;
			f->seen_index++;
			if (elog_filter_match(&f->filter, r)) {
				k++;
				full = emit(ctx, r, c->wire + from, c->wire_end[i] - from);
			}
			if (++scanned % 256 == 0 && clk->mono_ns(clk) >= deadline) {
				timed_out = 1;
				break;
			}
		}
		pthread_mutex_lock(&h->mu);
		if (f->pos == c->n) {
			f->seq++;
			f->pos = 0;
		}
		if (--c->refs == 0) {       /* it left the list while we read it */
			pthread_mutex_unlock(&h->mu);
			free(c);
			pthread_mutex_lock(&h->mu);
		}
		if (full || timed_out)
			break;
	}
	if (k == 0 && *missed == 0) {
		int stopped = h->followers_stopped;

		pthread_mutex_unlock(&h->mu);
		return stopped ? -1 : 0;
	}
	pthread_mutex_unlock(&h->mu);
	*n = k;
	return 1;
}

/* elog_follower_next's copies: into out[0..max), at most OUT_BYTES of records */
struct copy_out {
	struct elog_record *out;
	size_t k, max, bytes;
};

static int copy_emit(void *ctx, const struct elog_record *r, const void *wire, size_t len)
{
	struct copy_out *c = ctx;

	(void)wire;
	(void)len;
	record_copy(&c->out[c->k++], r);
	c->bytes += record_bytes(r);
	return c->k == c->max || c->bytes >= OUT_BYTES;
}

int elog_follower_next(struct elog_follower *f, struct elog_record *out, size_t max, size_t *n,
		       uint64_t *missed, int64_t *missed_from, int64_t *missed_to,
		       int64_t timeout_ns)
{
	struct copy_out c = { out, 0, max, 0 };

	if (max == 0) {
		*n = 0;
		*missed = 0;
		return 0;
	}
	return elog_follower_scan(f, copy_emit, &c, n, missed, missed_from, missed_to, timeout_ns);
}

size_t elog_hub_followers(struct elog_hub *h)
{
	/* without the lock, which is the writer's: a follower asks once a page */
	return __atomic_load_n(&h->nfollowers, __ATOMIC_RELAXED);
}

void elog_follower_close(struct elog_follower *f)
{
	struct elog_hub *h;
	struct pub_chunk *to_free = NULL, *d;

	if (!f)
		return;
	h = f->hub;
	pthread_mutex_lock(&h->mu);
	if (f->prev)
		f->prev->next = f->next;
	else
		h->followers = f->next;
	if (f->next)
		f->next->prev = f->prev;
	__atomic_store_n(&h->nfollowers, h->nfollowers - 1, __ATOMIC_RELAXED);
	/* With nobody following, the list only holds memory: let it go. */
	if (h->nfollowers == 0)
		while (h->pub_head < h->pub_next)
			if ((d = hub__pub_drop_head_locked(h))) {
				d->next = to_free;
				to_free = d;
			}
	pthread_mutex_unlock(&h->mu);
	hub__chunks_free(to_free);
	elog_filter_clear(&f->filter);
	free(f);
}
