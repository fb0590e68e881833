/*
 * relay_bench.c — one Electrician StreamReceive stream of N payloads, the way the Go sink
 * sends them (open with ACK_BATCH every 1024, JSON payloads, close, half-close); counts the
 * batch acks until every payload is acknowledged (committed) and prints payloads/s.
 * Usage: relay_bench ADDR N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpc/rpc.h"
#include "common/err.h"
#include "common/util.h"
#include "electrician.pb-c.h"

static struct rpc_ccall *call;
static uint64_t acked, failed;

static void *acker(void *arg)
{
	(void)arg;
	for (;;) {
		ProtobufCMessage *m;
		Electrician__StreamAcknowledgment *a;

		if (rpc_ccall_recv(call, &electrician__stream_acknowledgment__descriptor, &m, 0) != 1)
			return NULL;
		a = (Electrician__StreamAcknowledgment *)m;
		acked += a->ok_count;
		failed += a->err_count;
		protobuf_c_message_free_unpacked(m, NULL);
	}
}

int main(int argc, char **argv)
{
	struct rpc_channel *ch;
	struct elog_err err;
	pthread_t th;
	long n, i;
	int64_t t0, t1;
	char *details = NULL;
	int st;

	if (argc < 3)
		return 2;
	n = atol(argv[2]);
	if (rpc_channel_open(&ch, argv[1], NULL, &err) || rpc_channel_wait_ready(ch, 5000000000LL, &err) ||
	    rpc_ccall_start(&call, ch, "/electrician.RelayService/StreamReceive", 0, &err)) {
		fprintf(stderr, "relay_bench: %s\n", err.msg);
		return 1;
	}
	pthread_create(&th, NULL, acker, NULL);
	t0 = elog_mono_ns();
	{
		Electrician__RelayEnvelope env = ELECTRICIAN__RELAY_ENVELOPE__INIT;
		Electrician__StreamOpen op = ELECTRICIAN__STREAM_OPEN__INIT;

		op.stream_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
		op.ack_mode = ELECTRICIAN__ACK_MODE__ACK_BATCH;
		op.ack_every_n = 1024;
		op.max_in_flight = 8192;
		env.msg_case = ELECTRICIAN__RELAY_ENVELOPE__MSG_OPEN;
		env.open = &op;
		rpc_ccall_send(call, &env.base);
	}
	for (i = 0; i < n; i++) {
		Electrician__RelayEnvelope env = ELECTRICIAN__RELAY_ENVELOPE__INIT;
		Electrician__WrappedPayload p = ELECTRICIAN__WRAPPED_PAYLOAD__INIT;
		Electrician__MessageMetadata md = ELECTRICIAN__MESSAGE_METADATA__INIT;
		char json[256];
		int len = snprintf(json, sizeof(json),
			"{\"log_schema\":\"electrician.log.v1\",\"ts\":\"2025-01-27T04:15:22.531Z\","
			"\"level\":\"info\",\"msg\":\"relay log sample %ld\",\"event\":\"log_emit\","
			"\"component\":{\"type\":\"WIRE\",\"id\":\"abc123\"}}\n", i);

		md.content_type = "application/json";
		p.id = "2025-01-27T04:15:22.531Z";
		p.payload.data = (uint8_t *)json;
		p.payload.len = (size_t)len;
		p.payload_type = "electrician.log.v1";
		p.metadata = &md;
		env.msg_case = ELECTRICIAN__RELAY_ENVELOPE__MSG_PAYLOAD;
		env.payload = &p;
		if (rpc_ccall_send(call, &env.base) != 0)
			break;
	}
	{
		Electrician__RelayEnvelope env = ELECTRICIAN__RELAY_ENVELOPE__INIT;
		Electrician__StreamClose cl = ELECTRICIAN__STREAM_CLOSE__INIT;

		cl.reason = "relay stop";
		env.msg_case = ELECTRICIAN__RELAY_ENVELOPE__MSG_CLOSE;
		env.close = &cl;
		rpc_ccall_send(call, &env.base);
	}
	rpc_ccall_close_send(call);
	pthread_join(th, NULL);
	st = rpc_ccall_finish(call, &details);
	t1 = elog_mono_ns();
	printf("%ld payloads in %.2f s: %.0f payloads/s acknowledged (ok %llu, failed %llu, status %d)\n",
	       n, (double)(t1 - t0) / 1e9, (double)acked / ((double)(t1 - t0) / 1e9),
	       (unsigned long long)acked, (unsigned long long)failed, st);
	free(details);
	rpc_ccall_free(call);
	rpc_channel_close(ch);
	return acked == (uint64_t)n ? 0 : 1;
}
