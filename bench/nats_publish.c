/*
 * nats_publish.c — the reference for bench/cluster.sh's "into the stream" row: the NATS
 * servers' own ceiling, measured with libnats alone (no elog): N messages of ~PAYLOAD bytes
 * with the headers elog sets (Nats-Msg-Id and five Elog-*), published asynchronously with at
 * most PENDING unacknowledged into a stream of its own (STREAM, subjects "<stream>.>", R3 or
 * fewer, file storage, 2 min duplicate window: as serve --cluster makes ELOG). Prints
 * "SECONDS MSGS_PER_S". Bounded: gives up after 600 s.
 * Usage: nats_publish URLS STREAM N PENDING PAYLOAD
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

static long acked, failed;

static void on_ack(jsCtx *js, natsMsg *m, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
	(void)js;
	(void)pae;
	(void)closure;
	if (pa)
		__atomic_add_fetch(&acked, 1, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
	natsMsg_Destroy(m);
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	natsConnection *nc = NULL;
	natsOptions *opts = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	jsStreamConfig cfg;
	jsStreamInfo *si = NULL;
	jsPubOptions po;
	jsErrCode jerr = 0;
	natsStatus s;
	char subj[128], pattern[128], *payload, *urls, *u, *save = NULL;
	const char *servers[8], *subjects[1];
	int nservers = 0, r;
	long n, i, pending, size;
	double t0, t1;

	if (argc != 6) {
		fprintf(stderr, "usage: nats_publish URLS STREAM N PENDING PAYLOAD\n");
		return 2;
	}
	urls = strdup(argv[1]);
	for (u = strtok_r(urls, ",", &save); u && nservers < 8; u = strtok_r(NULL, ",", &save))
		servers[nservers++] = u;
	n = atol(argv[3]);
	pending = atol(argv[4]);
	size = atol(argv[5]);
	payload = malloc((size_t)size + 1);
	memset(payload, 'x', (size_t)size);
	snprintf(subj, sizeof(subj), "%s.box.bench", argv[2]);
	snprintf(pattern, sizeof(pattern), "%s.>", argv[2]);
	s = natsOptions_Create(&opts);
	if (s == NATS_OK)
		s = natsOptions_SetServers(opts, servers, nservers);
	if (s == NATS_OK)
		s = natsConnection_Connect(&nc, opts);
	natsOptions_Destroy(opts);
	jsOptions_Init(&jo);
	jo.PublishAsync.MaxPending = pending;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.StallWait = 600000;
	if (s == NATS_OK)
		s = natsConnection_JetStream(&js, nc, &jo);
	for (r = 3; s == NATS_OK && r >= 1; r--) {
		jsStreamConfig_Init(&cfg);
		cfg.Name = argv[2];
		subjects[0] = pattern;
		cfg.Subjects = subjects;
		cfg.SubjectsLen = 1;
		cfg.Storage = js_FileStorage;
		cfg.Replicas = r;
		cfg.Duplicates = 120LL * 1000000000LL;
		if (js_AddStream(&si, js, &cfg, NULL, &jerr) == NATS_OK) {
			jsStreamInfo_Destroy(si);
			break;
		}
	}
	if (s != NATS_OK || r < 1) {
		fprintf(stderr, "nats_publish: %s\n", nats_GetLastError(NULL));
		return 1;
	}
	t0 = now();
	for (i = 1; i <= n; i++) {
		natsMsg *m = NULL;
		char id[64], num[32];

		snprintf(id, sizeof(id), "box/%ld", i);
		snprintf(num, sizeof(num), "%ld", i);
		s = natsMsg_Create(&m, subj, NULL, payload, (int)size);
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Nats-Msg-Id", id);
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Elog-Node", "box");
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Elog-Id", num);
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Elog-Prev", num);
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Elog-Level", "info");
		if (s == NATS_OK)
			s = natsMsgHeader_Set(m, "Elog-Time", "2026-12-03T16:00:00.000000000Z");
		jsPubOptions_Init(&po);
		if (s == NATS_OK)
			s = js_PublishMsgAsync(js, &m, &po);
		natsMsg_Destroy(m);
		if (s != NATS_OK) {
			fprintf(stderr, "nats_publish: message %ld: %s\n", i, natsStatus_GetText(s));
			return 1;
		}
	}
	jsPubOptions_Init(&po);
	po.MaxWait = 600000;
	s = js_PublishAsyncComplete(js, &po);
	t1 = now();
	if (s != NATS_OK || acked != n) {
		fprintf(stderr, "nats_publish: %ld of %ld acknowledged, %ld failed\n", acked, n, failed);
		return 1;
	}
	printf("%.2f %.0f\n", t1 - t0, (double)n / (t1 - t0));
	jsCtx_Destroy(js);
	natsConnection_Destroy(nc);
	free(payload);
	free(urls);
	return 0;
}
