/*
 * clock.c — the system clock behind struct elog_clock (see clock.h).
 */
#include "common/clock.h"
#include "common/util.h"

static int64_t sys_now(const struct elog_clock *c)
{
	(void)c;
	return elog_now_ns();
}

static int64_t sys_mono(const struct elog_clock *c)
{
	(void)c;
	return elog_mono_ns();
}

static int sys_wait(const struct elog_clock *c, pthread_cond_t *cv, pthread_mutex_t *mu,
		    int64_t deadline)
{
	(void)c;
	return elog_cond_wait_until(cv, mu, deadline);
}

const struct elog_clock elog_clock_system = { sys_now, sys_mono, sys_wait, NULL };

int64_t elog_clock_after(const struct elog_clock *c, int64_t ns)
{
	int64_t now = c->mono_ns(c), d;

	if (ns <= 0)
		return now;
	if (__builtin_add_overflow(now, ns, &d))
		return INT64_MAX;
	return d;
}
