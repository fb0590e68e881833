/*
 * latency.c — follow latency: writes "lat <CLOCK_REALTIME ns>" lines at RATE lines/s for
 * SECONDS into `elog send` (its stdin is our stdout pipe, given as fd 3) and reads
 * `elog logs -f --no-prefix` (fd 4); prints p50/p90/p99/max of arrival - send time.
 * Usage: latency RATE SECONDS  (fds 3 and 4 set up by bench/latency.sh). Bounded in time.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/prctl.h>

static long rate, seconds;
static double *lat;
static long long *stamp;   /* send stamps seen, to count duplicates */
static size_t nlat, sent;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Paces lines on an absolute schedule with clock_nanosleep: the generator sleeps between lines
 * instead of spinning, so on a 2-core machine it does not take a core away from the processes
 * it measures. A line that comes due while it slept is written at once, stamped when written. */
static void *writer(void *arg)
{
	long long interval = 1000000000LL / rate;
	long long total = rate * seconds, i;
	struct timespec start, due;
	char line[64];

	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1000UL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < total; i++) {
		long long off = i * interval;
		int n;

		due.tv_sec = start.tv_sec + (start.tv_nsec + off) / 1000000000LL;
		due.tv_nsec = (start.tv_nsec + off) % 1000000000LL;
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
			;
		n = snprintf(line, sizeof(line), "lat %lld\n", now_ns());
		if (write(3, line, (size_t)n) != n)
			break;
		sent++;
	}
	close(3);
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	size_t dups = 0;
	FILE *dump = getenv("LAT_DUMP") ? fopen(getenv("LAT_DUMP"), "w") : NULL;   /* debugging */
	pthread_t th;
	char buf[1 << 16], *p;
	size_t have = 0;
	long long deadline;

	if (argc < 3)
		return 2;
	rate = atol(argv[1]);
	seconds = atol(argv[2]);
	lat = calloc((size_t)(rate * seconds + 16), sizeof(double));
	stamp = calloc((size_t)(rate * seconds + 16), sizeof(long long));
	pthread_create(&th, NULL, writer, NULL);
	deadline = now_ns() + (seconds + 10) * 1000000000LL;
	while (nlat < (size_t)(rate * seconds) && now_ns() < deadline) {
		struct pollfd pf = { 4, POLLIN, 0 };
		ssize_t n;

		if (poll(&pf, 1, 200) <= 0)
			continue;
		n = read(4, buf + have, sizeof(buf) - have - 1);
		if (n <= 0)
			break;
		if (dump)
			fwrite(buf + have, 1, (size_t)n, dump);
		have += (size_t)n;
		buf[have] = 0;
		p = buf;
		for (;;) {
			char *nl = memchr(p, '\n', have - (size_t)(p - buf)), *q;
			long long t0, t1 = now_ns();

			if (!nl || nlat >= (size_t)(rate * seconds) + 16)
				break;
			q = strstr(p, "lat ");
			if (q && q < nl) {
				t0 = atoll(q + 4);
				stamp[nlat] = t0;
				lat[nlat++] = (double)(t1 - t0) / 1e6;
			}
			p = nl + 1;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
	}
	pthread_join(th, NULL);
	if (!nlat) {
		printf("no lines came back\n");
		return 1;
	}
	qsort(lat, nlat, sizeof(double), cmp);
	qsort(stamp, nlat, sizeof(long long), cmp_ll);
	for (size_t i = 1; i < nlat; i++)
		dups += stamp[i] == stamp[i - 1];
	if (dups)
		printf("DUPLICATES: %zu lines came back twice; ", dups);
	printf("%zu/%zu lines at %ld/s: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       nlat, sent, rate, lat[nlat / 2], lat[nlat * 90 / 100], lat[nlat * 99 / 100],
	       lat[nlat - 1]);
	return 0;
}
