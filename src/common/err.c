/*
 * err.c — filling a struct elog_err.
 */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>

/* Sets err (when not NULL) to code and the formatted message; returns code. */
int elog_err_set(struct elog_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Resets err to ELOG_OK with an empty message. */
void elog_err_clear(struct elog_err *err)
{
	if (!err)
		return;
	err->code = ELOG_OK;
	err->msg[0] = '\0';
}
