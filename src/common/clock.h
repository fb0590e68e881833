/*
 * clock.h — an injectable clock. Code that reads the time or waits with a deadline and that a
 * test must drive without waiting takes a const struct elog_clock * (NULL means
 * elog_clock_system, the real clocks of util.h), so that the test plays the clock: it says
 * what time it is and what a timed wait does when nobody signals.
 *
 * Users: hub/hub.c (elog_hub_opts.clock: arrival times, and the deadline of
 * elog_follower_next). client/tailer.c takes the time as an argument of elog_tailer_poll
 * (now_ns) instead, which is the same thing for code that never waits.
 */
#ifndef ELOG_CLOCK_H
#define ELOG_CLOCK_H

#include <pthread.h>
#include <stdint.h>

struct elog_clock {
	int64_t (*now_ns)(const struct elog_clock *c);    /* wall clock, ns since the epoch */
	int64_t (*mono_ns)(const struct elog_clock *c);   /* monotonic ns: deadlines */
	/* Waits on cv (mu held, cv from elog_cond_init) until signalled or mono_ns() reaches
	 * deadline (INT64_MAX: none). 0, or ETIMEDOUT once the deadline passed. */
	int (*wait_until)(const struct elog_clock *c, pthread_cond_t *cv, pthread_mutex_t *mu,
			  int64_t deadline);
	void *ctx;                                        /* the clock's own state */
};

/* elog_now_ns, elog_mono_ns and elog_cond_wait_until. */
extern const struct elog_clock elog_clock_system;

/* The deadline ns after c's monotonic now (now when ns <= 0, INT64_MAX on overflow). */
int64_t elog_clock_after(const struct elog_clock *c, int64_t ns);

#endif
