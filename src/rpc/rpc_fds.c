/*
 * rpc_fds.c — the descriptor reserve that keeps gRPC's listener alive through EMFILE.
 */
#include "rpc/rpc_internal.h"

/* ---- descriptors ----------------------------------------------------------------------- */

/*
 * gRPC core 1.51's TCP listener (iomgr tcp_server_posix.cc, on_read) treats any accept4 error
 * but EAGAIN, EWOULDBLOCK and ECONNABORTED as fatal for that listener: after one EMFILE it never
 * accepts again, even once descriptors are free. elog's accept4 below stands in for libc's (the
 * executable's definition wins over the shared library's): on EMFILE or ENFILE it gives up a
 * descriptor held in reserve, accepts and closes the connections waiting (the client sees the
 * connection closed and retries), takes the reserve back and tells gRPC EAGAIN, so the listener
 * stays armed. Other errors it would treat as fatal (ENOBUFS, ENOMEM, EPROTO, EPERM) become
 * EAGAIN too.
 */
static pthread_mutex_t reserve_mu = PTHREAD_MUTEX_INITIALIZER;
static int reserve_fd = -1;
static unsigned long shed_count;

static void reserve_take_locked(void)
{
	if (reserve_fd < 0)
		reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

void rpc__reserve_take(void)
{
	pthread_mutex_lock(&reserve_mu);
	reserve_take_locked();
	pthread_mutex_unlock(&reserve_mu);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags);
int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags)
{
	int c = (int)syscall(SYS_accept4, fd, addr, addrlen, flags);
	int e;

	if (c >= 0)
		return c;
	e = errno;
	switch (e) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
	case EINTR:
	case ECONNABORTED:
	case EBADF:
	case EINVAL:
	case ENOTSOCK:
	case EOPNOTSUPP:
	case EFAULT:
		errno = e;
		return -1;
	case EMFILE:
	case ENFILE: {
		int i;

		pthread_mutex_lock(&reserve_mu);
		if (reserve_fd >= 0) {
			close(reserve_fd);
			reserve_fd = -1;
		}
		for (i = 0; i < 4096; i++) {
			c = (int)syscall(SYS_accept4, fd, NULL, NULL, SOCK_CLOEXEC);
			if (c < 0)
				break;
			close(c);
			shed_count++;
		}
		reserve_take_locked();
		pthread_mutex_unlock(&reserve_mu);
		break;
	}
	default:
		break;
	}
	errno = EAGAIN;
	return -1;
}

unsigned long rpc_server_shed_connections(void)
{
	unsigned long n;

	pthread_mutex_lock(&reserve_mu);
	n = shed_count;
	pthread_mutex_unlock(&reserve_mu);
	return n;
}

