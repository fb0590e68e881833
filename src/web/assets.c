/*
 * assets.c — embeds src/web/assets/ in the binary with the assembler's .incbin.
 *
 * One top-level asm block emits each file's bytes (plus a NUL) in .rodata and the table of
 * struct elog_web_asset in .data.rel.ro (it holds pointers: relocated once at load, then
 * read-only). The assembler reads the files relative to the directory the compiler runs in,
 * the top of the tree (the Makefile runs there); ELOG_WEB_ASSET_DIR overrides it. -MMD does
 * not see .incbin, so the Makefile makes assets.o depend on the files in src/web/assets/ itself.
 * Works with GCC (also under -flto) and clang's integrated assembler.
 */
#include "web/assets.h"

#include <string.h>

#ifndef ELOG_WEB_ASSET_DIR
#define ELOG_WEB_ASSET_DIR "src/web/assets"
#endif

#if __SIZEOF_POINTER__ == 8
#define ASM_PTR ".quad"
#elif __SIZEOF_POINTER__ == 4
#define ASM_PTR ".long"
#endif

/* The asm table below is four pointer-sized words per entry. */
_Static_assert(sizeof(struct elog_web_asset) == 4 * sizeof(void *), "asset entry layout");
_Static_assert(sizeof(size_t) == sizeof(void *), "asset length is pointer-sized");

/* One asset: its bytes, a NUL, its path and type strings, then its table entry. */
#define ASSET(n, file, type) \
	"\t.section .rodata.elog_web_assets,\"a\"\n" \
	".Lelog_web_data" #n ":\n" \
	"\t.incbin \"" ELOG_WEB_ASSET_DIR "/" file "\"\n" \
	".Lelog_web_end" #n ":\n" \
	"\t.byte 0\n" \
	".Lelog_web_path" #n ":\n\t.asciz \"/" file "\"\n" \
	".Lelog_web_type" #n ":\n\t.asciz \"" type "\"\n" \
	"\t.section .data.rel.ro.elog_web_assets,\"aw\"\n" \
	"\t" ASM_PTR " .Lelog_web_path" #n ", .Lelog_web_type" #n ", .Lelog_web_data" #n \
	", .Lelog_web_end" #n " - .Lelog_web_data" #n "\n"

__asm__(
	"\t.pushsection .data.rel.ro.elog_web_assets,\"aw\"\n"
	"\t.balign 16\n"
	"\t.globl elog_web_assets\n"
	"\t.hidden elog_web_assets\n"
	"elog_web_assets:\n"
	ASSET(0, "index.html", "text/html; charset=utf-8")
	ASSET(1, "app.js", "text/javascript; charset=utf-8")
	ASSET(2, "app.css", "text/css; charset=utf-8")
	"\t" ASM_PTR " 0, 0, 0, 0\n"
	"\t.popsection\n");

extern const struct elog_web_asset elog_web_assets[] __attribute__((visibility("hidden")));

const struct elog_web_asset *elog_web_asset_list(void)
{
	return elog_web_assets;
}

const struct elog_web_asset *elog_web_asset_find(const char *path)
{
	if (!path)
		return NULL;
	size_t n = strcspn(path, "?#");
	if (n == 1 && path[0] == '/') {
		path = "/index.html";
		n = strlen(path);
	}
	for (const struct elog_web_asset *a = elog_web_assets; a->path; a++)
		if (strlen(a->path) == n && memcmp(a->path, path, n) == 0)
			return a;
	return NULL;
}
