// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection sharing: 64 client sockets to one server use one TCP
 * connection, visible as a single ESTABLISHED client end in /proc/net/tcp;
 * with the same-host short cut on, one pair (loop_conns rises by one) and
 * no TCP connection at all.
 */
#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7300
#define NSOCKS		64

FIXTURE(shared) {
	struct echo_srv srv;
	int fds[NSOCKS];
	long long loops0;
};

/* Connections the test's sockets opened: TCP client ends, or pairs. */
static int conns_opened(FIXTURE_DATA(shared) *self, bool v6)
{
	if (loop_on())
		return (int)(proc_counter("loop_conns") - self->loops0);
	return tcp_established_to(self->srv.port, v6);
}

FIXTURE_VARIANT(shared) {
	int ipfam;
	const char *ip;
};

FIXTURE_VARIANT_ADD(shared, ipv4) {
	.ipfam = AF_INET,
	.ip = "127.0.0.1",
};

FIXTURE_VARIANT_ADD(shared, ipv6) {
	.ipfam = AF_INET6,
	.ip = "::1",
};

FIXTURE_SETUP(shared)
{
	int i, ret;

	for (i = 0; i < NSOCKS; i++)
		self->fds[i] = -1;
	self->loops0 = proc_counter("loop_conns");
	ret = echo_srv_start(&self->srv, variant->ipfam,
			     test_port(BASE_PORT, _metadata->name), 2);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(shared)
{
	int i;

	for (i = 0; i < NSOCKS; i++)
		if (self->fds[i] >= 0)
			close(self->fds[i]);
	echo_srv_stop(&self->srv);
	EXPECT_EQ(0U, atomic_load(&self->srv.errors));
}

TEST_F_TIMEOUT(shared, one_tcp_connection, 120)
{
	bool v6 = variant->ipfam == AF_INET6;
	struct fastrpc_sock_info si;
	uint64_t conn_id = 0;
	int i, n;

	for (i = 0; i < NSOCKS; i++) {
		self->fds[i] = fastrpc_client_open(variant->ip, self->srv.port,
						   SOCK_CLOEXEC);
		ASSERT_LE(0, self->fds[i])
			TH_LOG("socket %d: %s", i,
			       fastrpc_strerror(self->fds[i]));
		ASSERT_EQ(0, set_rcvtimeo(self->fds[i], 20000));
		ASSERT_EQ(0, fastrpc_get_sock_info(self->fds[i], &si));
		ASSERT_NE(0ULL, si.conn_id);
		if (!i)
			conn_id = si.conn_id;
		EXPECT_EQ(conn_id, si.conn_id) TH_LOG("socket %d", i);
	}

	n = conns_opened(self, v6);
	EXPECT_EQ(1, n) TH_LOG("%d connections to port %u (%s)",
			       n, self->srv.port, loop_on() ? "loop_conns" :
			       v6 ? "/proc/net/tcp6" : "/proc/net/tcp");
	/* Whatever the family, no IPv4 or IPv6 extra connection either. */
	EXPECT_EQ(0, tcp_established_to(self->srv.port, !v6));
	if (loop_on())
		EXPECT_EQ(0, tcp_established_to(self->srv.port, v6));

	/* All 64 in flight at once, then all received. */
	for (i = 0; i < NSOCKS; i++) {
		uint64_t tag = 100 + (uint64_t)i;

		ASSERT_EQ(8, fastrpc_send_call(self->fds[i], tag, M_ECHO, &tag,
					       8, 0));
	}
	for (i = 0; i < NSOCKS; i++) {
		uint64_t tag, body = 0;
		uint32_t status;

		ASSERT_EQ(8, fastrpc_recv_result(self->fds[i], &tag, &status,
						 &body, 8, 0))
			TH_LOG("socket %d", i);
		EXPECT_EQ(100 + (uint64_t)i, tag);
		EXPECT_EQ(tag, body);
		EXPECT_EQ(FASTRPC_OK, status);
	}
	/* Still the one connection after the traffic. */
	EXPECT_EQ(1, conns_opened(self, v6));
}

TEST_F(shared, closing_some_keeps_connection)
{
	bool v6 = variant->ipfam == AF_INET6;
	struct fastrpc_sock_info a, b;
	uint32_t status;
	char buf[4];
	int i;

	for (i = 0; i < 4; i++) {
		self->fds[i] = fastrpc_client_open(variant->ip, self->srv.port,
						   SOCK_CLOEXEC);
		ASSERT_LE(0, self->fds[i]);
		ASSERT_EQ(0, set_rcvtimeo(self->fds[i], 20000));
	}
	ASSERT_EQ(0, fastrpc_get_sock_info(self->fds[3], &a));
	for (i = 0; i < 3; i++) {
		close(self->fds[i]);
		self->fds[i] = -1;
	}
	ASSERT_EQ(2, fastrpc_call(self->fds[3], M_ECHO, "ok", 2, buf,
				  sizeof(buf), &status));
	EXPECT_EQ(FASTRPC_OK, status);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->fds[3], &b));
	EXPECT_EQ(a.conn_id, b.conn_id);
	EXPECT_EQ(1, conns_opened(self, v6));
}

TEST_HARNESS_MAIN
