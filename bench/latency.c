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

static long rate, seconds;
static double *lat;
static size_t nlat, sent;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void *writer(void *arg)
{
	long long start = now_ns(), interval = 1000000000LL / rate;
	long long total = rate * seconds, i;
	char line[64];

	(void)arg;
	for (i = 0; i < total; i++) {
		long long due = start + i * interval, t;
		int n;

		while ((t = now_ns()) < due) {
			if (due - t > 200000) {
				struct timespec ts = { 0, (due - t) - 100000 };
				nanosleep(&ts, NULL);
			}
		}
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

int main(int argc, char **argv)
{
	pthread_t th;
	char buf[1 << 16], *p;
	size_t have = 0;
	long long deadline;

	if (argc < 3)
		return 2;
	rate = atol(argv[1]);
	seconds = atol(argv[2]);
	lat = calloc((size_t)(rate * seconds + 16), sizeof(double));
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
		have += (size_t)n;
		buf[have] = 0;
		p = buf;
		for (;;) {
			char *nl = memchr(p, '\n', have - (size_t)(p - buf)), *q;
			long long t0, t1 = now_ns();

			if (!nl)
				break;
			q = strstr(p, "lat ");
			if (q && q < nl) {
				t0 = atoll(q + 4);
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
	printf("%zu/%zu lines at %ld/s: p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       nlat, sent, rate, lat[nlat / 2], lat[nlat * 90 / 100], lat[nlat * 99 / 100],
	       lat[nlat - 1]);
	return 0;
}
