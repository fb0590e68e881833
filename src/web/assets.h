/*
 * assets.h — the web page's files (index.html, app.js, app.css), embedded in the binary.
 * The files live in src/web/assets/ and are built in with the assembler's .incbin (see
 * assets.c): no network, no generator, nothing to install. The data is static and read-only.
 */
#ifndef ELOG_WEB_ASSETS_H
#define ELOG_WEB_ASSETS_H

#include <stddef.h>

struct elog_web_asset {
	const char *path;          /* "/index.html", "/app.js", "/app.css" */
	const char *content_type;  /* for the Content-Type header, with the charset */
	const unsigned char *data; /* the file's bytes, followed by a NUL that len does not count */
	size_t len;
};

/* Returns the asset served at an HTTP path, or NULL. "/" is index.html; a query string
 * ("/?c=api") is ignored. The result is static: never freed, safe from any thread. */
const struct elog_web_asset *elog_web_asset_find(const char *path);

/* The assets in order, ending with an entry whose path is NULL (for listing and tests). */
const struct elog_web_asset *elog_web_asset_list(void);

#endif
