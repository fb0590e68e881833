/*
 * err.h — how src/ reports failure. src/ never prints and never exits: a function that can
 * fail returns 0 on success or a negative ELOG_E* code, and fills the caller's struct elog_err
 * with a one-line message (lowercase, no trailing period, subject quoted). cmd/ prints it.
 */
#ifndef ELOG_ERR_H
#define ELOG_ERR_H

#include <stddef.h>

enum {
	ELOG_OK = 0,
	ELOG_EFAIL = -1,      /* generic failure */
	ELOG_EUSAGE = -2,     /* bad input from the user (flag value, filter, time) */
	ELOG_EUNAVAIL = -3,   /* server unreachable */
	ELOG_ENOMEM = -4,
	ELOG_EIO = -5,        /* file or database I/O */
	ELOG_EFULL = -6,      /* disk full / resource exhausted */
	ELOG_EAUTH = -7,      /* rejected credentials */
	ELOG_EPROTO = -8,     /* server unreachable: it speaks another protocol (TLS or not);
			       * retrying does not help */
	ELOG_EINVAL = -9,     /* invalid or corrupt data (a history block that does not decode) */
};

struct elog_err {
	int code;
	char msg[512];
};

/* Sets err (when not NULL) to code and a formatted message; returns code. */
int elog_err_set(struct elog_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clears err to ELOG_OK and an empty message. */
void elog_err_clear(struct elog_err *err);

#endif
