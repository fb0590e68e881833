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
#include <yajl/yajl_tree.h>

#include "util.h"

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

#endif
