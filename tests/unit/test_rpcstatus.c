/* test_rpcstatus.c — the one mapping of a call's final status to an elog error
 * (rpc_status_error): every client path gets the same code and a message naming the server. */
#include "common/err.h"
#include "rpc/rpc.h"
#include "unit.h"

static void test_codes(void)
{
	struct elog_err e;

	CHECK_INT(rpc_status_error(RPC_UNAVAILABLE, "x", "h:1", "d", &e), ELOG_EUNAVAIL);
	CHECK_INT(rpc_status_error(RPC_DEADLINE_EXCEEDED, "x", "h:1", "d", &e), ELOG_EUNAVAIL);
	CHECK_INT(rpc_status_error(RPC_UNAUTHENTICATED, "x", "h:1", "d", &e), ELOG_EAUTH);
	CHECK_INT(rpc_status_error(RPC_PERMISSION_DENIED, "x", "h:1", "d", &e), ELOG_EAUTH);
	CHECK_INT(rpc_status_error(RPC_RESOURCE_EXHAUSTED, "x", "h:1", "d", &e), ELOG_EFULL);
	CHECK_INT(rpc_status_error(RPC_INVALID_ARGUMENT, "x", "h:1", "d", &e), ELOG_EUSAGE);
	CHECK_INT(rpc_status_error(RPC_INTERNAL, "x", "h:1", "d", &e), ELOG_EFAIL);
	CHECK_INT(rpc_status_error(RPC_OK, NULL, "h:1", "d", &e), ELOG_EFAIL);
	CHECK_INT(e.code, ELOG_EFAIL);
}

static void test_message(void)
{
	struct elog_err e;

	rpc_status_error(RPC_UNAVAILABLE, "Cancelling all calls", "127.0.0.1:5555", "no details", &e);
	CHECK_STR(e.msg, "server '127.0.0.1:5555': unavailable: Cancelling all calls");
	rpc_status_error(RPC_DEADLINE_EXCEEDED, "", "127.0.0.1:5555", "no details", &e);
	CHECK_STR(e.msg, "server '127.0.0.1:5555': deadline exceeded: no details");
}

UNIT_MAIN({ "codes", test_codes }, { "message", test_message })
