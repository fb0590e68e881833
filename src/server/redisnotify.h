/*
 * redisnotify.h — announcements pushed to a Redis list (RPUSH), on a thread of their own.
 *
 * elog_rnotify_push never blocks and never fails: it copies the message into a bounded queue
 * and returns. The notifier thread connects (connect and command timeouts), authenticates and
 * selects the database as the URL says, and pushes the queued messages in order. While Redis
 * is unreachable the messages wait in the queue and the thread reconnects with a growing
 * delay; a message that finds the queue full is dropped and counted. A message Redis rejects
 * (an error reply, e.g. WRONGTYPE) is dropped and counted too. Failures are reported through
 * the report callback, at most once per report interval.
 *
 * URL: redis://[[user]:password@]host[:port][/db] (port 6379, db 0 by default; a host may be
 * a bracketed IPv6 address). A password sends AUTH, a db other than 0 sends SELECT. user and
 * password may be percent-encoded (%2F for '/', %40 for '@', %3A for ':' in a user, %25 for
 * '%'); the userinfo ends at the URL's last '@', so a raw '/' or '@' in a password works too.
 * Every message about a URL (usage errors, reports) shows it with the password masked.
 */
#ifndef ELOG_REDISNOTIFY_H
#define ELOG_REDISNOTIFY_H

#include <stddef.h>
#include <stdint.h>

struct elog_err;
struct elog_rnotify;

struct elog_rnotify_opts {
	const char *url;
	const char *list;            /* NULL or "": "elog:segments" */
	size_t queue_max;            /* messages waiting; 0: 1000 */
	int64_t timeout_ns;          /* connect and command timeout; 0: 500 ms */
	int64_t backoff_max_ns;      /* longest wait between reconnects; 0: 2 s */
	int64_t report_interval_ns;  /* 0: 60 s */
	/* Called on the notifier thread with a line such as "redis 'URL' unreachable: connection
	 * refused; 3 notifications dropped" (the password in URL masked), at most once per
	 * report interval. May be NULL. */
	void (*report)(void *arg, const char *msg);
	void *report_arg;
};

struct elog_rnotify_stats {
	uint64_t sent;               /* pushed and acknowledged by Redis */
	uint64_t dropped;            /* queue full, rejected by Redis, or still queued at close */
	uint64_t failures;           /* failed connects and commands */
	size_t queued;               /* waiting now */
};

/* Parses o->url and starts the notifier thread; does not connect before returning. Returns 0,
 * or ELOG_EUSAGE with err for a URL it cannot use. */
int elog_rnotify_open(struct elog_rnotify **out, const struct elog_rnotify_opts *o,
		      struct elog_err *err);

/* Queues a copy of msg[0..n). Never blocks on the network. */
void elog_rnotify_push(struct elog_rnotify *n, const char *msg, size_t len);

/* Gives the thread up to drain_ns to push what is queued (no reconnect wait beyond that),
 * counts what is left as dropped, stops the thread and frees n. *st (may be NULL) gets the
 * final counters. */
void elog_rnotify_close(struct elog_rnotify *n, int64_t drain_ns, struct elog_rnotify_stats *st);

void elog_rnotify_stats(struct elog_rnotify *n, struct elog_rnotify_stats *out);

/* A parsed URL: user and password percent-decoded (NULL when absent), port 6379 and db 0 by
 * default. */
struct elog_redis_url {
	char *host, *user, *password;
	int port;
	long db;
};

/* Parses url into *u (cleared first; release it with elog_redis_url_clear, also after an
 * error). Returns 0, or ELOG_EUSAGE with err naming the URL with its password masked. */
int elog_redis_url_parse(struct elog_redis_url *u, const char *url, struct elog_err *err);
void elog_redis_url_clear(struct elog_redis_url *u);

/* The URL with its password (the whole userinfo when it has no ':') replaced by "***";
 * appends to out. */
struct elog_buf;
void elog_rnotify_redacted_url(struct elog_buf *out, const char *url);

#endif
