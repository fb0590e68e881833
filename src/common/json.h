/*
 * json.h — JSON whose nesting is bounded, for every path that walks JSON text.
 *
 * yajl's event parser keeps its nesting on the heap, but everything that walks a value
 * recursively (yajl_tree_free, a compact re-encoder, a validator) uses one stack frame per
 * level, and serve's handlers run on 512 KiB stacks. So no JSON deeper than
 * ELOG_JSON_MAX_DEPTH is ever stored or turned into a tree: an object or array that opens
 * deeper than that is kept as a JSON string holding its raw text (repaired to valid UTF-8),
 * never dropped. Depth counts the enclosing objects and arrays: in {"a":[1]} the object is
 * level 1 and the array level 2.
 */
#ifndef ELOG_JSON_H
#define ELOG_JSON_H

#include <stddef.h>
#include <protobuf-c/protobuf-c.h>
#include <yajl/yajl_tree.h>

#include "common/util.h"

#define ELOG_JSON_MAX_DEPTH 64

/*
 * True when s[0..n) has an object or array nested deeper than max levels. A byte scan (string
 * literals and escapes aware, no allocation, no recursion); it does not validate the text.
 */
int elog_json_too_deep(const char *s, size_t n, int max);

/*
 * Appends s[0..n) to out with every object or array that opens at a level deeper than max
 * replaced by a JSON string holding its raw text, repaired to valid UTF-8. Everything else is
 * copied byte for byte. A well-formed text stays well-formed and has no level deeper than max;
 * a malformed one stays malformed (an unclosed deep value is copied as it is). Returns how
 * many values were replaced.
 */
size_t elog_json_bound(const char *s, size_t n, int max, struct elog_buf *out);

/*
 * yajl_tree_parse of the NUL-terminated s, bounded first when it nests deeper than
 * ELOG_JSON_MAX_DEPTH: the tree returned (NULL when s is not JSON) is never deeper than that.
 * The caller frees it with yajl_tree_free.
 */
yajl_val elog_json_tree_parse(const char *s);

/*
 * Appends v as compact JSON; strings and keys are repaired to valid UTF-8, NULL is written as
 * null. Iterative (its stack is on the heap), so any tree's depth is safe here.
 */
void elog_json_tree_compact(struct elog_buf *b, yajl_val v);

/* Appends the C string s (NULL: "") as a JSON string literal, repaired to valid UTF-8 first
 * when it is not (a protobuf string may hold any bytes). */
void elog_json_quote_any(struct elog_buf *b, const char *s);

/*
 * The same bound for JSON in protobuf form (google.protobuf.Struct, in logging.v1 frames):
 * protobuf-c unpacks and frees a message recursively, several hundred bytes of stack a level,
 * so a 2.4 KB frame nesting Structs 200 deep overflowed a handler's stack. A message nested
 * deeper than ELOG_PB_MAX_DEPTH messages is refused before it is unpacked; a Struct of
 * ELOG_JSON_MAX_DEPTH JSON levels takes 3 messages a level (Struct, its entry, Value), so it
 * still fits.
 */
#define ELOG_PB_MAX_DEPTH (3 * ELOG_JSON_MAX_DEPTH + 8)

/*
 * True when the encoded message data[0..n) of type d holds a message nested deeper than max
 * levels (the message itself is level 1). Types that cannot nest that deep (no recursive
 * field) are answered from their descriptors alone; the others by an iterative scan of the
 * wire format guided by the descriptors (its stack: max entries on its own frame). Malformed
 * bytes are left for protobuf_c_message_unpack to refuse (false).
 */
int elog_pb_too_deep(const ProtobufCMessageDescriptor *d, const void *data, size_t n, int max);

#endif
