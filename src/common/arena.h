/*
 * arena.h — a bump allocator for data that dies together (one received batch and the
 * records decoded from it). Allocation is a pointer bump; nothing is freed one by one;
 * elog_arena_release frees every chunk. elog_arena_pb gives a ProtobufCAllocator over it so
 * protobuf_c_message_unpack allocates a whole message without a malloc per field.
 */
#ifndef ELOG_ARENA_H
#define ELOG_ARENA_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>

struct elog_arena_chunk;

struct elog_arena {
	struct elog_arena_chunk *chunks;
	struct elog_arena_chunk *spare;   /* chunks kept by elog_arena_reset for reuse */
	char *cur;
	size_t left;
	ProtobufCAllocator pb;      /* filled by elog_arena_init */
};

void elog_arena_init(struct elog_arena *a);
void *elog_arena_alloc(struct elog_arena *a, size_t n);     /* 16-byte aligned, never NULL */
char *elog_arena_strndup(struct elog_arena *a, const char *s, size_t n);
/* A valid-UTF-8 copy of s[0..n) (invalid bytes and NUL as U+FFFD). */
char *elog_arena_utf8(struct elog_arena *a, const char *s, size_t n);
/* Forgets every allocation (what was allocated is invalid) but keeps the arena's chunks for
 * the next allocations (a block that had a chunk of its own is freed): an arena reused for
 * batch after batch then allocates nothing once it has grown to a batch's size. */
void elog_arena_reset(struct elog_arena *a);
/* Frees every chunk, kept ones too; the arena is empty and usable again. */
void elog_arena_release(struct elog_arena *a);

#endif
