/* Unit tests for the address decisions behind serve's plaintext rules: which listen addresses
 * are loopback only (serve warns about the others without TLS), which peers are on loopback,
 * and when a call carrying an API key is admitted (TLS, or a loopback peer). */
#include "unit.h"
#include "rpc/rpc.h"
#include "server/svc.h"

static void test_listen_addr(void)
{
	CHECK(rpc_addr_is_loopback("127.0.0.1:0"));
	CHECK(rpc_addr_is_loopback("127.0.0.1:50090"));
	CHECK(rpc_addr_is_loopback("127.1.2.3:1"));
	CHECK(rpc_addr_is_loopback("[::1]:50090"));
	CHECK(rpc_addr_is_loopback("localhost:50090"));
	CHECK(rpc_addr_is_loopback("LOCALHOST:1"));
	CHECK(rpc_addr_is_loopback("ipv4:127.0.0.1:1"));
	CHECK(rpc_addr_is_loopback("unix:/tmp/elog.sock"));
	CHECK(!rpc_addr_is_loopback("0.0.0.0:0"));
	CHECK(!rpc_addr_is_loopback("0.0.0.0:50090"));
	CHECK(!rpc_addr_is_loopback("[::]:50090"));
	CHECK(!rpc_addr_is_loopback(":50090"));
	CHECK(!rpc_addr_is_loopback("10.0.0.5:50090"));
	CHECK(!rpc_addr_is_loopback("192.168.1.1:1"));
	CHECK(!rpc_addr_is_loopback("example.com:50090"));
	CHECK(!rpc_addr_is_loopback("localhost.example.com:1"));
	CHECK(!rpc_addr_is_loopback("[fe80::1]:1"));
	CHECK(!rpc_addr_is_loopback("1270.0.0.1:1"));
	CHECK(!rpc_addr_is_loopback(""));
	CHECK(!rpc_addr_is_loopback(NULL));
}

static void test_peer(void)
{
	CHECK(rpc_peer_is_loopback("ipv4:127.0.0.1:5555"));
	CHECK(rpc_peer_is_loopback("ipv4:127.0.0.2:5555"));
	CHECK(rpc_peer_is_loopback("ipv6:[::1]:5555"));
	CHECK(rpc_peer_is_loopback("ipv6:%5B::1%5D:5555"));         /* newer gRPC's form */
	CHECK(!rpc_peer_is_loopback("ipv6:%5B2001:db8::1%5D:5555"));
	CHECK(rpc_peer_is_loopback("ipv6:[::ffff:127.0.0.1]:5555"));
	CHECK(rpc_peer_is_loopback("unix:/tmp/x.sock"));
	CHECK(!rpc_peer_is_loopback("ipv4:10.1.2.3:5555"));
	CHECK(!rpc_peer_is_loopback("ipv4:128.0.0.1:5555"));
	CHECK(!rpc_peer_is_loopback("ipv6:[2001:db8::1]:5555"));
	CHECK(!rpc_peer_is_loopback("ipv6:[::ffff:10.0.0.1]:5555"));
	CHECK(!rpc_peer_is_loopback("ipv4:0.0.0.0:1"));
	CHECK(!rpc_peer_is_loopback("127.0.0.1:5555"));            /* unknown form */
	CHECK(!rpc_peer_is_loopback("unknown"));
	CHECK(!rpc_peer_is_loopback(NULL));
}

static void test_key_transport(void)
{
	/* plaintext: keys only from loopback peers */
	CHECK(elog_auth_key_transport_ok(0, "ipv4:127.0.0.1:40000"));
	CHECK(elog_auth_key_transport_ok(0, "ipv6:[::1]:40000"));
	CHECK(!elog_auth_key_transport_ok(0, "ipv4:192.168.1.20:40000"));
	CHECK(!elog_auth_key_transport_ok(0, "ipv6:[2001:db8::7]:40000"));
	CHECK(!elog_auth_key_transport_ok(0, "unknown"));
	/* TLS: from anywhere */
	CHECK(elog_auth_key_transport_ok(1, "ipv4:192.168.1.20:40000"));
	CHECK(elog_auth_key_transport_ok(1, "ipv4:127.0.0.1:40000"));
}

UNIT_MAIN({ "listen_addr", test_listen_addr }, { "peer", test_peer },
	  { "key_transport", test_key_transport })
