/*
 * svc_auth.c — ingestion.InternalAuthService/ValidateApiKey (contracts.md §4) and, with
 * svc->auth_required (`serve --auth`), the gate that asks every other call for a valid key in
 * its metadata: "authorization: Bearer <key>", "x-junjo-api-key" or "x-api-key".
 *
 * Failed checks are slowed down per peer address (ValidateApiKey's is_valid=false included,
 * or it would be a free oracle). Keys are never logged nor put in a status message.
 *
 * A key is refused when it came in plaintext from another host (it crossed the network in
 * clear): over plaintext only loopback peers may use keys. An admitted call keeps its key's
 * hash (rpc_call_set_credential); the server re-checks it every RECHECK_MS, so revoking a key
 * ends its open streams (ingest and follow) within about a second.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <openssl/crypto.h>

#include "common/err.h"
#include "store/keys.h"
#include "server/svc.h"
#include "common/util.h"
#include "ingestion.pb-c.h"

#define VALIDATE_PATH "/ingestion.InternalAuthService/ValidateApiKey"
#define KEY_MAX 512                      /* longer metadata values are not keys */
#define PEERS 256
#define FAIL_WINDOW_NS (10LL * 1000000000LL)
#define FREE_FAILURES 20                 /* failures in the window before any delay */
#define DELAY_STEP_MS 25
#define DELAY_MAX_MS 1000
#define RECHECK_MS 250                   /* + ELOG_KEYCHECK_TTL_MS: revoked key's calls end */

struct peer_fails {
	char ip[64];
	int count;
	int64_t last_mono;
};

struct elog_auth {
	struct elog_keycheck *kc;
	pthread_mutex_t mu;                  /* guards peers */
	struct peer_fails peers[PEERS];
};

/* "ipv4:127.0.0.1:5555" -> "127.0.0.1", "ipv6:[::1]:5555" -> "::1". */
static void peer_ip(const char *peer, char *out, size_t outsz)
{
	const char *p = strchr(peer, ':'), *end;

	p = p ? p + 1 : peer;
	if (*p == '[') {
		end = strchr(p, ']');
		snprintf(out, outsz, "%.*s", end ? (int)(end - p - 1) : (int)strlen(p + 1), p + 1);
		return;
	}
	end = strrchr(p, ':');
	snprintf(out, outsz, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
}

/* Notes a failed check from the call's peer and returns how long to hold it (ms). */
static int note_failure(struct elog_auth *a, struct rpc_call *call)
{
	char ip[64];
	int64_t now = elog_mono_ns();
	struct peer_fails *p = NULL, *oldest = &a->peers[0];
	int i, delay;

	peer_ip(rpc_call_peer(call), ip, sizeof(ip));
	pthread_mutex_lock(&a->mu);
	for (i = 0; i < PEERS; i++) {
		if (a->peers[i].ip[0] && strcmp(a->peers[i].ip, ip) == 0) {
			p = &a->peers[i];
			break;
		}
		if (a->peers[i].last_mono < oldest->last_mono)
			oldest = &a->peers[i];
	}
	if (!p) {
		p = oldest;
		memset(p, 0, sizeof(*p));
		snprintf(p->ip, sizeof(p->ip), "%s", ip);
	}
	if (now - p->last_mono > FAIL_WINDOW_NS)
		p->count = 0;
	p->count++;
	p->last_mono = now;
	delay = p->count <= FREE_FAILURES ? 0 : (p->count - FREE_FAILURES) * DELAY_STEP_MS;
	pthread_mutex_unlock(&a->mu);
	return delay > DELAY_MAX_MS ? DELAY_MAX_MS : delay;
}

static void hold(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) != 0)
		;
}

/*
 * The key the call carries, into buf: 1 found, 0 none. A value too long to be a key counts as
 * a (wrong) key.
 */
static int call_key(struct rpc_call *call, char *buf, size_t bufsz)
{
	static const char *const headers[] = { "authorization", "x-junjo-api-key", "x-api-key" };
	size_t i;

	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		int n = rpc_call_metadata(call, headers[i], NULL, 0);

		if (n < 0)
			continue;
		if ((size_t)n >= bufsz) {
			snprintf(buf, bufsz, "-");
			return 1;
		}
		rpc_call_metadata(call, headers[i], buf, bufsz);
		if (i == 0) {
			char *v = buf;

			if (strncasecmp(v, "bearer ", 7) != 0)
				continue;   /* another scheme: not an API key */
			v += 7;
			while (*v == ' ')
				v++;
			memmove(buf, v, strlen(v) + 1);
		}
		if (*buf)
			return 1;
	}
	return 0;
}

int elog_auth_key_transport_ok(int secure, const char *peer)
{
	return secure || rpc_peer_is_loopback(peer);
}

/* The server's re-check of an admitted call's key: cred is "HASH NAME". A storage failure
 * keeps the call (the key was valid when checked). */
static int recheck(const char *cred, void *ctx, char *msg, size_t msgsz)
{
	struct elog_svc *svc = ctx;
	struct elog_err err;
	int rc;

	if (strlen(cred) <= ELOG_KEY_HASH_HEX || cred[ELOG_KEY_HASH_HEX] != ' ')
		return RPC_OK;
	{
		char hash[ELOG_KEY_HASH_HEX + 1];

		memcpy(hash, cred, ELOG_KEY_HASH_HEX);
		hash[ELOG_KEY_HASH_HEX] = 0;
		elog_err_clear(&err);
		rc = elog_keycheck_verify_hash(svc->auth->kc, hash, NULL, 0, &err);
		OPENSSL_cleanse(hash, sizeof(hash));
	}
	if (rc != 0)
		return RPC_OK;
	snprintf(msg, msgsz, "api key '%s' was revoked", cred + ELOG_KEY_HASH_HEX + 1);
	return RPC_UNAUTHENTICATED;
}

static int gate(struct rpc_call *call, const char *method, void *ctx, char *msg, size_t msgsz)
{
	struct elog_svc *svc = ctx;
	struct elog_auth *a = svc->auth;
	struct elog_err err;
	char key[KEY_MAX], hash[ELOG_KEY_HASH_HEX + 1], name[72];
	int rc;

	if (strcmp(method, VALIDATE_PATH) == 0)
		return RPC_OK;
	if (!call_key(call, key, sizeof(key))) {
		hold(note_failure(a, call));
		/* Junjo's own words on the contracts it serves (contracts.md §4, §5) */
		snprintf(msg, msgsz, "%s is not provided",
			 strncmp(method, "/opentelemetry.", 15) == 0 ||
			 strncmp(method, "/ingestion.", 11) == 0 ? "x-junjo-api-key" : "api key");
		return RPC_UNAUTHENTICATED;
	}
	if (!elog_auth_key_transport_ok(rpc_call_secure(call), rpc_call_peer(call))) {
		OPENSSL_cleanse(key, sizeof(key));
		hold(note_failure(a, call));
		snprintf(msg, msgsz, "api key refused: it was sent in plaintext from another host "
			 "(serve takes keys over the network only with TLS: --tls-cert, --tls-key)");
		return RPC_UNAUTHENTICATED;
	}
	elog_err_clear(&err);
	elog_key_hash(key, strlen(key), hash);
	OPENSSL_cleanse(key, sizeof(key));
	rc = elog_keycheck_verify_hash(a->kc, hash, name, sizeof(name), &err);
	if (rc == 1) {
		char cred[ELOG_KEY_HASH_HEX + 1 + sizeof(name)];

		snprintf(cred, sizeof(cred), "%s %s", hash, name);
		rpc_call_set_credential(call, cred);
		OPENSSL_cleanse(cred, sizeof(cred));
		OPENSSL_cleanse(hash, sizeof(hash));
		return RPC_OK;
	}
	OPENSSL_cleanse(hash, sizeof(hash));
	if (rc < 0) {
		snprintf(msg, msgsz, "cannot check the API key: %s", err.msg);
		return RPC_INTERNAL;
	}
	hold(note_failure(a, call));
	snprintf(msg, msgsz, "invalid API key");
	return RPC_UNAUTHENTICATED;
}

static void validate_api_key(struct rpc_call *call, void *ctx)
{
	struct elog_svc *svc = ctx;
	Ingestion__ValidateApiKeyRequest *req = NULL;
	Ingestion__ValidateApiKeyResponse resp = INGESTION__VALIDATE_API_KEY_RESPONSE__INIT;
	struct elog_err err;
	int rc;

	rc = rpc_call_recv(call, &ingestion__validate_api_key_request__descriptor,
			   (ProtobufCMessage **)&req);
	if (rc == -2) {
		rpc_call_finish(call, RPC_INVALID_ARGUMENT, "cannot decode ValidateApiKeyRequest");
		return;
	}
	if (rc != 1) {
		rpc_call_finish(call, RPC_CANCELLED, "no request");
		return;
	}
	elog_err_clear(&err);
	rc = 0;
	if (req->api_key && *req->api_key && strlen(req->api_key) < KEY_MAX)
		rc = elog_keycheck_verify(svc->auth->kc, req->api_key, NULL, 0, &err);
	if (req->api_key)
		OPENSSL_cleanse(req->api_key, strlen(req->api_key));
	protobuf_c_message_free_unpacked((ProtobufCMessage *)req, NULL);
	if (rc < 0) {
		char msg[600];

		snprintf(msg, sizeof(msg), "cannot check the API key: %s", err.msg);
		rpc_call_finish(call, RPC_INTERNAL, msg);
		return;
	}
	if (rc == 0)
		hold(note_failure(svc->auth, call));
	resp.is_valid = rc == 1;
	rpc_call_send(call, &resp.base);
	rpc_call_finish(call, RPC_OK, NULL);
}

void elog_svc_auth_register(struct rpc_server *s, struct elog_svc *svc)
{
	struct elog_auth *a = xcalloc(1, sizeof(*a));

	pthread_mutex_init(&a->mu, NULL);
	a->kc = elog_keycheck_new(svc->db_path);
	svc->auth = a;
	rpc_server_add_method(s, VALIDATE_PATH, RPC_UNARY, validate_api_key, svc);
	if (svc->auth_required) {
		rpc_server_set_gate(s, gate, svc);
		rpc_server_set_recheck(s, recheck, svc, RECHECK_MS);
	}
}

void elog_svc_auth_free(struct elog_svc *svc)
{
	struct elog_auth *a = svc->auth;

	if (!a)
		return;
	elog_keycheck_free(a->kc);
	pthread_mutex_destroy(&a->mu);
	free(a);
	svc->auth = NULL;
}
