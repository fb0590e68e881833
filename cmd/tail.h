/*
 * tail.h — what the two halves of `elog tail` share: cmd/tail.c (options, batches and the
 * shipper, files) and cmd/tail_command.c (wrapping a command). Internal to them.
 */
#ifndef ELOG_CMD_TAIL_H
#define ELOG_CMD_TAIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli.h"
#include "client/shipper.h"
#include "common/record.h"

#define POLL_NS (200 * 1000000LL)
#define PARTIAL_DELAY_NS (2000 * 1000000LL)
#define BATCH_RECORDS 1024
#define BATCH_BYTES (1024 * 1024)
#define FILE_BUDGET (32u << 20)
#define CMD_BUDGET (64u << 20)
#define READ_PER_POLL (4u << 20)

struct tail_options {
	const char *component;
	int from_end;
	int quiet;
	const char *state;
	const char *ready_file;
	const char *multiline;
};
extern struct tail_options tail_o;

struct commit {
	uint64_t dev, ino;
	int64_t gen, offset;
	int forget;
};

struct batch {
	struct elog_ship_batch ship;     /* first (see batch_of): its entry in the shipper */
	struct elog_record *recs;
	size_t n, cap, bytes, lines;
	struct commit *commits;
	size_t ncommits, ccap;
};

/* The client library's shipper (shipper.h) delivers sealed batches on its own thread,
 * reconnecting with backoff and resending what is unacknowledged. */
struct shipper {
	struct elog_shipper *es;
	const char *buffer_word;       /* where lines wait meanwhile, for the message */
};

extern volatile pid_t tail_child_pid;   /* the wrapped command, for the signal handler */

void tail_shipper_stop(struct shipper *sh, int64_t timeout_ns);
void tail_seal(struct shipper *sh, struct batch *b);
size_t tail_shipper_release(struct shipper *sh);
void tail_set_key(struct elog_record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tail_shipper_refused(struct shipper *sh);
int tail_shipper_start(struct shipper *sh, const struct rpc_client_opts *ro, const char *word);
size_t tail_pending_bytes(struct shipper *sh);
void tail_catch_signals(void);
void tail_line_record(struct elog_record *r, const char *line, size_t n, int cut,
			const char *component, const char *extra, int level);
struct elog_record *tail_batch_add(struct batch **bp);
int tail_run_command(char **argv, const struct rpc_client_opts *ro);

#endif
