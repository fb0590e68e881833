/*
 * latency.c — follow latency: writes "lat <CLOCK_REALTIME ns> <line number>" lines at RATE
 * lines/s for SECONDS into `elog send` and reads them back from `elog logs -f --no-prefix`; prints
 * p50/p90/p99/max of arrival - send time, over every line every follower received.
 *   latency RATE SECONDS
 *	fd 3 is `elog send`'s stdin, fd 4 one follower's stdout (set up by the caller, as
 *	bench/cluster.sh does: sender and follower on different servers)
 *   latency RATE SECONDS FOLLOWERS ELOG DIR
 *	starts `ELOG send -c latency` and FOLLOWERS x `ELOG logs -f -n 0 -c latency`
 *	(ELOG_SERVER from the environment), waits (bounded) until every follower has written
 *	its ready file DIR/lat-ready.K, then measures; stops them all at the end.
 * Bounded in time: about SECONDS + 30 s at most.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAXF 256

static long rate, seconds;
static int send_fd = 3;
static size_t sent;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Paces lines on an absolute schedule with clock_nanosleep: the generator sleeps between lines
 * instead of spinning, so on a 2-core machine it does not take a core away from the processes
 * it measures. It wakes at most once per tick_ns (LAT_TICK_US, default 500 us: a wake-up costs
 * 11-15 us of CPU on the bench VM, and one per line at 10k lines/s was 30% of the generator's
 * CPU) and writes every line that came due meanwhile in one write, each stamped when written
 * (the stamps are the write's time, so latency is measured from when elog could first see a
 * line; `elog send` coalesces for 1 ms anyway). */
static long long tick_ns = 500000;

static void *writer(void *arg)
{
	long long interval = 1000000000LL / rate;
	long long total = rate * seconds, i = 0;
	struct timespec start, due;
	char buf[1 << 16];

	(void)arg;
	prctl(PR_SET_TIMERSLACK, 1000UL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (i < total) {
		/* the next line's due time, or the next tick if that is later */
		long long off = i * interval, now_off, stamp;
		size_t len = 0;
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		now_off = (now.tv_sec - start.tv_sec) * 1000000000LL + (now.tv_nsec - start.tv_nsec);
		if (off > now_off) {
			long long wake = off > now_off + tick_ns ? off : now_off + tick_ns;

			if (tick_ns <= interval)
				wake = off;
			due.tv_sec = start.tv_sec + (start.tv_nsec + wake) / 1000000000LL;
			due.tv_nsec = (start.tv_nsec + wake) % 1000000000LL;
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) != 0)
				;
			clock_gettime(CLOCK_MONOTONIC, &now);
			now_off = (now.tv_sec - start.tv_sec) * 1000000000LL +
				  (now.tv_nsec - start.tv_nsec);
		}
		stamp = now_ns();
		while (i < total && i * interval <= now_off && len + 64 < sizeof(buf)) {
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "lat %lld %lld\n",
						stamp, i);
			i++;
		}
		if (write(send_fd, buf, len) != (ssize_t)len)
			break;
		sent = (size_t)i;
	}
	close(send_fd);
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

/* One follower's stream: its partial line and the send stamps it delivered. */
struct fol {
	int fd;
	pid_t pid;
	char buf[1 << 16];
	size_t have, n;
	long long *stamp;        /* the numbers of the lines it delivered */
};

static pid_t spawn(char *const argv[], int in_fd, int out_fd)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (in_fd >= 0)
			dup2(in_fd, 0);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	static struct fol f[MAXF];
	size_t nf = 1, dups = 0, nlat = 0, cap, per, least;
	int ep, open_ = 0;
	double *lat;
	pthread_t th;
	long long deadline;
	pid_t sender = -1;
	FILE *dump = getenv("LAT_DUMP") ? fopen(getenv("LAT_DUMP"), "w") : NULL;   /* debugging */

	if (argc != 3 && argc != 6) {
		fprintf(stderr, "usage: latency RATE SECONDS [FOLLOWERS ELOG DIR]\n");
		return 2;
	}
	rate = atol(argv[1]);
	if (getenv("LAT_TICK_US"))
		tick_ns = atoll(getenv("LAT_TICK_US")) * 1000;
	seconds = atol(argv[2]);
	if (rate <= 0 || seconds <= 0)
		return 2;
	per = (size_t)(rate * seconds) + 16;
	f[0].fd = 4;
	f[0].pid = -1;
	if (argc == 6) {
		char *elog = argv[4], *dir = argv[5], path[4096];
		int p[2];

		nf = (size_t)atol(argv[3]);
		if (nf < 1 || nf > MAXF) {
			fprintf(stderr, "latency: 1 to %d followers\n", MAXF);
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		for (size_t k = 0; k < nf; k++) {
			char *av[] = { elog, "logs", "-f", "-n", "0", "-c", "latency", "--no-prefix",
				       "--color=never", "--ready-file", path, NULL };

			snprintf(path, sizeof(path), "%s/lat-ready.%zu", dir, k);
			unlink(path);
			if (pipe(p))
				return 1;
			f[k].pid = spawn(av, -1, p[1]);
			close(p[1]);
			f[k].fd = p[0];
		}
		deadline = now_ns() + 10000000000LL;   /* followers ready within 10 s */
		for (size_t k = 0; k < nf; k++) {
			struct stat st;

			snprintf(path, sizeof(path), "%s/lat-ready.%zu", dir, k);
			while ((stat(path, &st) || st.st_size == 0) && now_ns() < deadline)
				usleep(2000);
			if (stat(path, &st) || st.st_size == 0)
				fprintf(stderr, "latency: follower %zu not ready after 10 s\n", k);
		}
		{
			char *av[] = { elog, "send", "-c", "latency", NULL };

			if (pipe(p))
				return 1;
			sender = spawn(av, p[0], -1);
			close(p[0]);
			send_fd = p[1];
		}
	}
	cap = per * nf;
	lat = calloc(cap, sizeof(double));
	for (size_t k = 0; k < nf; k++)
		f[k].stamp = calloc(per, sizeof(long long));
	if (!lat || !f[nf - 1].stamp)
		return 1;
	pthread_create(&th, NULL, writer, NULL);
	deadline = now_ns() + (seconds + 10) * 1000000000LL;
	/* epoll, not poll: a poll of 50 pipes per page that arrives was most of the harness's own
	 * CPU at 50 followers */
	ep = epoll_create1(0);
	for (size_t k = 0; k < nf; k++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = k };

		if (f[k].fd < 0)
			continue;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, f[k].fd, &ev) != 0) {   /* a regular file */
			fprintf(stderr, "latency: cannot watch follower %zu's output: %s\n", k,
				strerror(errno));
			return 1;
		}
		open_++;
	}
	while (open_ > 0 && nlat < (size_t)(rate * seconds) * nf && now_ns() < deadline) {
		struct epoll_event evs[MAXF];
		int ne = epoll_wait(ep, evs, MAXF, 200);

		for (int e = 0; e < ne; e++) {
			struct fol *w = &f[evs[e].data.u64];
			ssize_t n;
			char *p;
			long long t1 = now_ns();

			if (w->fd < 0)
				continue;
			n = read(w->fd, w->buf + w->have, sizeof(w->buf) - w->have - 1);
			if (n <= 0) {
				epoll_ctl(ep, EPOLL_CTL_DEL, w->fd, NULL);
				close(w->fd);
				w->fd = -1;
				open_--;
				continue;
			}
			if (dump && w == &f[0])
				fwrite(w->buf + w->have, 1, (size_t)n, dump);
			w->have += (size_t)n;
			w->buf[w->have] = 0;
			p = w->buf;
			for (;;) {
				char *nl = memchr(p, '\n', w->have - (size_t)(p - w->buf)), *q;
				long long t0;

				if (!nl)
					break;
				*nl = 0;
				q = strstr(p, "lat ");
				if (q && w->n < per && nlat < cap) {
					char *end;

					t0 = strtoll(q + 4, &end, 10);
					/* the line's number, for duplicates (a write's lines share a stamp) */
					w->stamp[w->n++] = strtoll(end, NULL, 10);
					lat[nlat++] = (double)(t1 - t0) / 1e6;
				}
				p = nl + 1;
			}
			w->have -= (size_t)(p - w->buf);
			memmove(w->buf, p, w->have);
		}
	}
	close(ep);
	pthread_join(th, NULL);
	for (size_t k = 0; k < nf; k++) {
		if (f[k].pid > 0)
			kill(f[k].pid, SIGTERM);
		if (f[k].fd >= 0)
			close(f[k].fd);
	}
	if (sender > 0) {   /* it waits for the last acknowledgements: 10 s at most, then stopped */
		long long until = now_ns() + 10000000000LL;

		while (waitpid(sender, NULL, WNOHANG) == 0) {
			if (now_ns() > until) {
				fprintf(stderr, "latency: elog send still waiting for acknowledgements "
					"after 10 s; stopped\n");
				kill(sender, SIGTERM);
				waitpid(sender, NULL, 0);
				break;
			}
			usleep(10000);
		}
	}
	for (size_t k = 0; k < nf; k++)
		if (f[k].pid > 0)
			waitpid(f[k].pid, NULL, 0);
	if (!nlat) {
		printf("no lines came back\n");
		return 1;
	}
	least = f[0].n;
	for (size_t k = 0; k < nf; k++) {
		qsort(f[k].stamp, f[k].n, sizeof(long long), cmp_ll);
		for (size_t i = 1; i < f[k].n; i++)
			dups += f[k].stamp[i] == f[k].stamp[i - 1];
		if (f[k].n < least)
			least = f[k].n;
	}
	qsort(lat, nlat, sizeof(double), cmp);
	if (dups)
		printf("DUPLICATES: %zu lines came back twice; ", dups);
	if (nf > 1)
		printf("%zu followers, each got %zu+ of %zu lines at %ld/s: ", nf, least, sent, rate);
	else
		printf("%zu/%zu lines at %ld/s: ", nlat, sent, rate);
	/* a line that never came back counts as slower than any that did: a percentile that
	 * falls among them is "lost", not a figure computed over the lines that arrived */
	{
		size_t want = sent * nf > nlat ? sent * nf : nlat;
		size_t at[3] = { want / 2, want * 90 / 100, want * 99 / 100 };
		const char *name[3] = { "p50", "p90", "p99" };

		for (int i = 0; i < 3; i++) {
			if (at[i] < nlat)
				printf("%s %.3f ms, ", name[i], lat[at[i]]);
			else
				printf("%s lost, ", name[i]);
		}
		if (nlat < want)
			printf("max lost (%zu of %zu lines never came back)\n", want - nlat, want);
		else
			printf("max %.3f ms\n", lat[nlat - 1]);
	}
	return 0;
}
