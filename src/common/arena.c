/*
 * arena.c — see arena.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "common/arena.h"
#include "common/util.h"

#define CHUNK (64 * 1024)

struct elog_arena_chunk {
	struct elog_arena_chunk *next;
	size_t size;
	char data[];
};

static void *pb_alloc(void *ctx, size_t n)
{
	return elog_arena_alloc(ctx, n);
}

static void pb_free(void *ctx, void *p)
{
	(void)ctx;
	(void)p;
}

void elog_arena_init(struct elog_arena *a)
{
	memset(a, 0, sizeof(*a));
	a->pb.alloc = pb_alloc;
	a->pb.free = pb_free;
	a->pb.allocator_data = a;
}

void *elog_arena_alloc(struct elog_arena *a, size_t n)
{
	char *p;

	n = (n + 15) & ~(size_t)15;
	if (n > a->left) {
		size_t size = n > CHUNK / 4 ? n : CHUNK;
		struct elog_arena_chunk *c;

		if (size == CHUNK && a->spare) {
			c = a->spare;
			a->spare = c->next;
		} else {
			c = xmalloc(sizeof(*c) + size + 16);
		}

		c->next = a->chunks;
		c->size = size;
		a->chunks = c;
		a->cur = (char *)(((uintptr_t)c->data + 15) & ~(uintptr_t)15);
		a->left = size;
		if (n > CHUNK / 4) {
			/* a big block gets a chunk of its own; keep filling the previous one */
			p = a->cur;
			a->cur = NULL;
			a->left = 0;
			return p;
		}
	}
	p = a->cur;
	a->cur += n;
	a->left -= n;
	return p;
}

char *elog_arena_strndup(struct elog_arena *a, const char *s, size_t n)
{
	char *p = elog_arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *elog_arena_utf8(struct elog_arena *a, const char *s, size_t n)
{
	struct elog_buf b = ELOG_BUF_INIT;
	char *p;

	if (elog_utf8_valid(s, n))
		return elog_arena_strndup(a, s, n);
	elog_utf8_append(&b, s, n);
	p = elog_arena_strndup(a, b.data ? b.data : "", b.len);
	elog_buf_release(&b);
	return p;
}

void elog_arena_reset(struct elog_arena *a)
{
	struct elog_arena_chunk *c = a->chunks, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->size == CHUNK) {
			c->next = a->spare;
			a->spare = c;
		} else {
			free(c);
		}
	}
	a->chunks = NULL;
	a->cur = NULL;
	a->left = 0;
}

void elog_arena_release(struct elog_arena *a)
{
	struct elog_arena_chunk *c, *next;

	elog_arena_reset(a);
	for (c = a->spare; c; c = next) {
		next = c->next;
		free(c);
	}
	a->spare = NULL;
}
