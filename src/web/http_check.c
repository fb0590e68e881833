/*
 * http_check.c — what a request must pass before it is served: a Host that names this
 * listener (against DNS rebinding), an Origin that is the page's own or none, and with --auth
 * a key (cookie, Bearer, x-junjo-api-key, x-api-key or ?key=) over TLS or from this host.
 */
#include "web/http_internal.h"

/* ---- request checks ---- */

size_t http__hdr(struct lws *wsi, enum lws_token_indexes t, char *buf, size_t n)
{
	int k;

	buf[0] = 0;
	if (lws_hdr_total_length(wsi, t) <= 0)
		return 0;
	k = lws_hdr_copy(wsi, buf, (int)n, t);
	if (k < 0) {
		buf[0] = 0;
		return 0;
	}
	return (size_t)k;
}

void http__args_load(struct lws *wsi, struct web_args *a)
{
	size_t off = 0;
	int i;

	a->n = 0;
	for (i = 0; a->n < WEB_MAX_ARGS; i++) {
		char *s = a->buf + off, *eq;
		int k;

		if (off + 2 >= sizeof(a->buf))
			break;
		k = lws_hdr_copy_fragment(wsi, s, (int)(sizeof(a->buf) - off),
					  WSI_TOKEN_HTTP_URI_ARGS, i);
		if (k < 0)
			break;
		s[k] = 0;
		eq = strchr(s, '=');
		if (eq) {
			*eq = 0;
			a->v[a->n] = eq + 1;
		} else {
			a->v[a->n] = "";
		}
		a->k[a->n] = s;
		a->n++;
		off += (size_t)k + 1;
	}
}

static int is_loopback_text(const char *a)
{
	if (strncmp(a, "::ffff:", 7) == 0)
		a += 7;
	return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0;
}

/* The local address of the connection, numeric, into out; "" when unknown. */
static void local_addr(struct lws *wsi, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = lws_get_socket_fd(wsi);

	out[0] = 0;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, sl, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST) != 0)
		out[0] = 0;
	if (strncmp(out, "::ffff:", 7) == 0)
		memmove(out, out + 7, strlen(out + 7) + 1);
}

/* Does name resolve to the address local? (non-loopback listeners only) */
static int resolves_to(const char *name, const char *local)
{
	struct addrinfo hints, *res = NULL, *ai;
	int ok = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai && !ok; ai = ai->ai_next) {
		char num[INET6_ADDRSTRLEN + 8];

		if (getnameinfo(ai->ai_addr, ai->ai_addrlen, num, sizeof(num), NULL, 0,
				NI_NUMERICHOST) == 0)
			ok = strcmp(num, local) == 0;
	}
	freeaddrinfo(res);
	return ok;
}

/*
 * Host: the literal address the connection came to, "localhost" (or a name under .localhost)
 * when that address is loopback, or — for a listener that is not on loopback — a name that
 * resolves to it. A loopback listener never resolves names: a public name that resolves to
 * 127.0.0.1 is exactly what a DNS rebinding attack uses. 0 when acceptable.
 */
static int host_ok(struct lws *wsi, const char *host)
{
	char name[256], local[INET6_ADDRSTRLEN + 8];
	const char *end;
	size_t len;

	if (!*host)
		return -1;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return -1;
		len = (size_t)(end - host - 1);
		if (len >= sizeof(name))
			return -1;
		memcpy(name, host + 1, len);
	} else {
		end = strchr(host, ':');
		len = end ? (size_t)(end - host) : strlen(host);
		if (len >= sizeof(name))
			return -1;
		memcpy(name, host, len);
	}
	name[len] = 0;
	if (len && name[len - 1] == '.')
		name[--len] = 0;
	local_addr(wsi, local, sizeof(local));
	if (!*local)
		return -1;
	if (strcasecmp(name, local) == 0)
		return 0;
	if (is_loopback_text(local)) {
		if (strcasecmp(name, "localhost") == 0)
			return 0;
		if (len > 10 && strcasecmp(name + len - 10, ".localhost") == 0)
			return 0;
		return -1;
	}
	return resolves_to(name, local) ? 0 : -1;
}

/* Origin: none, or exactly the page's own (scheme://Host). */
static int origin_ok(struct lws *wsi, const char *host, int tls)
{
	char origin[512], want[300];

	if (!http__hdr(wsi, WSI_TOKEN_ORIGIN, origin, sizeof(origin)))
		return lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 ? -1 : 0;
	snprintf(want, sizeof(want), "%s://%s", tls ? "https" : "http", host);
	return strcasecmp(origin, want) == 0 ? 0 : -1;
}

/* Copies s into dst[n]; -1 (dst "") when it does not fit. */
static int copy_str(char *dst, size_t n, const char *s)
{
	size_t l = strlen(s);

	if (l >= n) {
		dst[0] = 0;
		return -1;
	}
	memcpy(dst, s, l + 1);
	return 0;
}

/* The API key the request carries (Authorization: Bearer, ?key=, the cookie) into key. */
static int request_key(struct lws *wsi, const struct web_args *a, char *key, size_t n)
{
	char buf[1200];
	const char *v;

	if (http__hdr(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, buf, sizeof(buf)) &&
	    strncasecmp(buf, "Bearer ", 7) == 0) {
		return copy_str(key, n, buf + 7) == 0;
	}
	/* the OTLP key headers (as on gRPC: svc_auth.c) */
	if (lws_hdr_custom_copy(wsi, buf, (int)sizeof(buf), "x-junjo-api-key:", 16) > 0 ||
	    lws_hdr_custom_copy(wsi, buf, (int)sizeof(buf), "x-api-key:", 10) > 0)
		return copy_str(key, n, buf) == 0;
	if (a && (v = web_arg(a, "key")) != NULL) {
		return copy_str(key, n, v) == 0;
	}
	if (http__hdr(wsi, WSI_TOKEN_HTTP_COOKIE, buf, sizeof(buf))) {
		const char *s = buf;

		while (s && *s) {
			while (*s == ' ' || *s == ';')
				s++;
			if (strncmp(s, COOKIE_NAME "=", sizeof(COOKIE_NAME)) == 0) {
				size_t l;

				s += sizeof(COOKIE_NAME);
				l = strcspn(s, ";");
				if (l >= n)
					return 0;
				memcpy(key, s, l);
				key[l] = 0;
				return 1;
			}
			s = strchr(s, ';');
		}
	}
	return 0;
}

int http__key_ok(struct elog_web *w, const char *key)
{
	struct elog_err err;

	elog_err_clear(&err);
	return elog_keycheck_verify(w->kc, key, NULL, 0, &err) == 1;
}

/* The key rule of the gRPC side: a key only over TLS or from this host. */
int http__key_transport_ok(struct lws *wsi, int tls)
{
	char peer[128];

	if (tls)
		return 1;
	peer[0] = 0;
	lws_get_peer_simple(wsi, peer, sizeof(peer));
	return is_loopback_text(peer);
}

/*
 * The checks every request and handshake goes through: Host (421), Origin for the API and
 * sockets (403), the API key with --auth (401). Returns 0, or the status with why set.
 */
int http__check_request(struct elog_web *w, struct lws *wsi, const struct web_args *a,
			 int check_origin, const char **why)
{
	char host[256], key[ELOG_KEY_LINE_MAX + 8];
	int tls = lws_is_ssl(wsi);

	if (!http__hdr(wsi, WSI_TOKEN_HOST, host, sizeof(host)) || host_ok(wsi, host) != 0) {
		*why = "the Host header names no address of this server (against DNS rebinding)";
		return 421;
	}
	if (check_origin && origin_ok(wsi, host, tls) != 0) {
		*why = "cross-origin request refused (the Origin is not this server's)";
		return 403;
	}
	if (!w->o.auth)
		return CHECK_OK;
	if (!request_key(wsi, a, key, sizeof(key))) {
		*why = "this server needs an API key (serve --auth): sign in on the page, or send "
		       "Authorization: Bearer KEY";
		return 401;
	}
	if (!http__key_transport_ok(wsi, tls)) {
		*why = "API keys are accepted only over TLS or from this host";
		return 403;
	}
	if (!http__key_ok(w, key)) {
		*why = "API key not accepted";
		return 401;
	}
	return CHECK_OK;
}

