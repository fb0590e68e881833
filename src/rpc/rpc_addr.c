/*
 * rpc_addr.c — which addresses and peers are loopback (rpc.h).
 */
#include <string.h>
#include <strings.h>

#include "rpc/rpc.h"

/* ---- addresses ------------------------------------------------------------------------- */

/* host (no brackets, no port) is a loopback address or name. */
static int host_is_loopback(const char *h, size_t n)
{
	if (n >= 4 && strncmp(h, "127.", 4) == 0)
		return 1;
	if (n == 3 && strncmp(h, "::1", 3) == 0)
		return 1;
	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return 1;
	if (n > 7 && strncasecmp(h, "::ffff:", 7) == 0 && strncmp(h + 7, "127.", 4) == 0)
		return 1;
	if (n == 15 && strncmp(h, "0:0:0:0:0:0:0:1", 15) == 0)
		return 1;
	return 0;
}

/* "host:port", "[v6]:port", or a bare host: the host part. */
static void split_host(const char *a, const char **h, size_t *n)
{
	const char *colon;

	if (*a == '[') {
		const char *close = strchr(a, ']');

		*h = a + 1;
		*n = close ? (size_t)(close - a - 1) : strlen(a + 1);
		return;
	}
	colon = strrchr(a, ':');
	if (colon && strchr(a, ':') != colon) {   /* bare IPv6 without a port */
		*h = a;
		*n = strlen(a);
		return;
	}
	*h = a;
	*n = colon ? (size_t)(colon - a) : strlen(a);
}

int rpc_addr_is_loopback(const char *addr)
{
	const char *h;
	size_t n;

	if (!addr)
		return 0;
	if (strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "unix-abstract:", 14) == 0)
		return 1;
	if (strncmp(addr, "ipv4:", 5) == 0 || strncmp(addr, "ipv6:", 5) == 0)
		addr += 5;
	else if (strncmp(addr, "dns:", 4) == 0)
		addr += 4;
	while (*addr == '/')
		addr++;
	split_host(addr, &h, &n);
	return host_is_loopback(h, n);
}

int rpc_peer_is_loopback(const char *peer)
{
	char buf[128];
	const char *h;
	size_t n, o = 0;

	if (!peer)
		return 0;
	if (strncmp(peer, "unix:", 5) == 0 || strncmp(peer, "unix-abstract:", 14) == 0)
		return 1;
	if (strncmp(peer, "ipv4:", 5) != 0 && strncmp(peer, "ipv6:", 5) != 0)
		return 0;     /* unknown form: not trusted */
	/* newer gRPC versions percent-encode the brackets: "ipv6:%5B::1%5D:5555" */
	for (peer += 5; *peer && o + 1 < sizeof(buf); peer++) {
		if (strncasecmp(peer, "%5B", 3) == 0 || strncasecmp(peer, "%5D", 3) == 0) {
			buf[o++] = peer[2] == 'B' || peer[2] == 'b' ? '[' : ']';
			peer += 2;
		} else {
			buf[o++] = *peer;
		}
	}
	buf[o] = 0;
	split_host(buf, &h, &n);
	return host_is_loopback(h, n);
}
