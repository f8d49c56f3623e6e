// SPDX-License-Identifier: GPL-2.0-only
/*
 * Deadlines and cancellation: the client's DEADLINE_EXCEEDED, the server's
 * cancellation notice, dropped late replies, the raw FASTRPC_CMSG_TIMEOUT, cancel by tag (one call and
 * thousands at once), a server that never replies, and the counters.
 */
#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8200
#define M_SLOW		31
#define MS		1000000ull

FIXTURE(dl) {
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(dl)
{
	int ret = pair_open(BASE_PORT, _metadata->name, 20000, &self->sfd,
			    &self->cfd, &self->port);

	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(dl)
{
	pair_close(self->sfd, self->cfd);
}

TEST_F_TIMEOUT(dl, deadline_exceeded_notice_and_late_reply, 60)
{
	struct fastrpc_call_opts o = { .timeout_ns = 500 * MS };
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri = { 0 };
	long long dl0 = proc_counter("deadlines_exceeded");
	long long drop0 = proc_counter("replies_dropped");
	uint64_t t0, handle, elapsed;
	char buf[16];

	ASSERT_LE(0, dl0);
	t0 = now_ns();
	ASSERT_EQ(3, fastrpc_send_call_opts(self->cfd, 42, M_SLOW, &o, "abc",
					    3, 0));
	/* the call waits in the socket for 200 ms before it is read */
	usleep(200 * 1000);
	ASSERT_EQ(3, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	handle = ii.handle;
	EXPECT_EQ(0, ii.flags);
	/*
	 * The server sees the time left when it reads the call: the wait
	 * in the socket is taken off (not only the wire's transit).
	 */
	EXPECT_LT(0, ii.timeout_ns);
	EXPECT_GE(300 * MS, ii.timeout_ns);
	TH_LOG("server saw %llu ms left", (unsigned long long)(ii.timeout_ns / MS));

	/* no reply: the client's call ends at its deadline */
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	elapsed = now_ns() - t0;
	EXPECT_EQ(42, ri.tag);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, ri.status);
	EXPECT_LE(400 * MS, elapsed);	/* not before (a jiffy of slack) */
	EXPECT_GT(15000 * MS, elapsed);
	TH_LOG("DEADLINE_EXCEEDED after %llu ms",
	       (unsigned long long)(elapsed / MS));

	/* the server's application is told, since it holds the handle, and
	 * told why: the deadline (the client's CANCEL or its own timer)
	 */
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(handle, ii.handle);
	EXPECT_EQ(FASTRPC_IN_CANCELLED | FASTRPC_IN_DEADLINE, ii.flags);
	EXPECT_EQ(1, ii.eor);

	/* its late reply is dropped and counted; the handle is then gone */
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK,
						 "late", 4, 0));
	EXPECT_EQ(-ENOENT, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK,
					      "late", 4, 0));
	EXPECT_LE(dl0 + 1, proc_counter("deadlines_exceeded"));
	EXPECT_EQ(drop0 + 1, proc_counter("replies_dropped"));
	/* exactly one result */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));

	/* a call answered in time is unaffected by its deadline */
	o.timeout_ns = 10000 * MS;
	ASSERT_EQ(1, fastrpc_send_call_opts(self->cfd, 43, M_SLOW, &o, "x", 1,
					    0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	ASSERT_EQ(2, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	EXPECT_EQ(43, ri.tag);
	EXPECT_EQ(FASTRPC_OK, ri.status);
}

/*
 * The deadline as the raw control message FASTRPC_CMSG_TIMEOUT, next to a
 * 16-byte struct fastrpc_call, without the library: it ends the call as
 * timeout_ns did.  A TIMEOUT of 0 means no deadline, like none at all.
 */
TEST_F_TIMEOUT(dl, raw_timeout_cmsg, 60)
{
	struct fastrpc_call fc = { .tag = 77, .method = M_SLOW };
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri = { 0 };
	uint64_t to = 300 * MS, zero = 0, t0, elapsed;
	char buf[16];

	ASSERT_EQ(16, sizeof(fc));
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_CALL, &fc, sizeof(fc) },
					{ FASTRPC_CMSG_TIMEOUT, &to, sizeof(to) } };

		t0 = now_ns();
		ASSERT_EQ(3, raw_sendmsg_n(self->cfd, c, 2, "abc", 3, 0));
	}
	ASSERT_EQ(3, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_LT(0, ii.timeout_ns);
	EXPECT_GE(to, ii.timeout_ns);
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	elapsed = now_ns() - t0;
	EXPECT_EQ(77, ri.tag);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, ri.status);
	EXPECT_LE(200 * MS, elapsed);	/* not before (a jiffy of slack) */
	EXPECT_GT(15000 * MS, elapsed);
	/* the server is told, deadline and all */
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(FASTRPC_IN_CANCELLED | FASTRPC_IN_DEADLINE, ii.flags);

	/* TIMEOUT 0, given first: no deadline; the call waits for its reply */
	fc.tag = 78;
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_TIMEOUT, &zero, 8 },
					{ FASTRPC_CMSG_CALL, &fc, sizeof(fc) } };

		ASSERT_EQ(1, raw_sendmsg_n(self->cfd, c, 2, "z", 1, 0));
	}
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(0, ii.timeout_ns);
	usleep(400000);		/* past the first call's deadline */
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	ASSERT_EQ(2, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	EXPECT_EQ(78, ri.tag);
	EXPECT_EQ(FASTRPC_OK, ri.status);
}

/* A call whose deadline passes before the server application read it. */
TEST_F_TIMEOUT(dl, deadline_before_server_reads, 60)
{
	struct fastrpc_call_opts o = { .timeout_ns = 300 * MS };
	struct fastrpc_sock_info si;
	uint32_t status = 0;
	char buf[8];
	int i;

	ASSERT_EQ(1, fastrpc_send_call_opts(self->cfd, 1, M_SLOW, &o, "a", 1,
					    0));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, NULL, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, status);
	/* the server kernel drops it without troubling the application */
	for (i = 0; i < 100; i++) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
		if (!si.rx_queued && !si.calls_in_flight)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, si.rx_queued);
	EXPECT_EQ(0, si.calls_in_flight);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
}

TEST_F_TIMEOUT(dl, cancel_by_tag, 60)
{
	struct fastrpc_incoming_info ii;
	long long c0 = proc_counter("calls_cancelled");
	uint32_t status = 0;
	uint64_t tag = 0;
	char buf[8];

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 0xdead, M_SLOW, "q", 1, 0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(-ENOENT, fastrpc_cancel(self->cfd, 0xbeef));
	ASSERT_EQ(0, fastrpc_cancel(self->cfd, 0xdead));
	EXPECT_EQ(-ENOENT, fastrpc_cancel(self->cfd, 0xdead));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(0xdead, tag);
	EXPECT_EQ(FASTRPC_CANCELLED, status);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));
	/* the server is told, and its reply is refused */
	{
		struct fastrpc_incoming_info n;

		ASSERT_EQ(0, srv_recv(self->sfd, &n, buf, sizeof(buf)));
		EXPECT_EQ(ii.handle, n.handle);
		/* cancelled, not by the deadline */
		EXPECT_EQ(FASTRPC_IN_CANCELLED, n.flags);
		EXPECT_EQ(1, n.eor);
	}
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, ii.handle,
						 FASTRPC_OK, NULL, 0, 0));
	EXPECT_LE(c0 + 1, proc_counter("calls_cancelled"));
	/* the tag is free again */
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 0xdead, M_SLOW, "r", 1, 0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, NULL,
					0, 0));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
}

/* 5000 calls in flight at the server, all cancelled at once. */
TEST_F_TIMEOUT(dl, cancel_thousands, 120)
{
	const int n = 5000;
	struct fastrpc_sock_info si;
	uint8_t *seen = calloc((size_t)n, 1);
	uint32_t status;
	uint64_t tag, t0;
	char buf[8];
	int i, got = 0;

	ASSERT_NE(NULL, seen);
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 8192));
	ASSERT_EQ(0, fastrpc_set_max_calls(self->sfd, 8192));
	for (i = 0; i < n; i++)
		ASSERT_EQ(4, fastrpc_send_call(self->cfd, (uint64_t)i + 1,
					       M_SLOW, &i, 4, 0));
	/* wait until the server holds them all (not read by its app) */
	t0 = now_ms();
	do {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
		if (si.calls_in_flight == (uint32_t)n)
			break;
		usleep(50000);
	} while (now_ms() - t0 < 30000);
	ASSERT_EQ(n, si.calls_in_flight);

	for (i = 0; i < n; i++)
		ASSERT_EQ(0, fastrpc_cancel(self->cfd, (uint64_t)i + 1));
	for (i = 0; i < n; i++) {
		ssize_t r = fastrpc_recv_result(self->cfd, &tag, &status, buf,
						sizeof(buf), 0);

		ASSERT_EQ(0, r) TH_LOG("result %d: %zd", i, r);
		ASSERT_EQ(FASTRPC_CANCELLED, status);
		ASSERT_LE(1, tag);
		ASSERT_GE((uint64_t)n, tag);
		ASSERT_EQ(0, seen[tag - 1]) TH_LOG("tag %llu twice",
						   (unsigned long long)tag);
		seen[tag - 1] = 1;
		got++;
	}
	EXPECT_EQ(n, got);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &si));
	EXPECT_EQ(0, si.calls_in_flight);
	/* the server forgets them all, never having handed them out */
	t0 = now_ms();
	do {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
		if (!si.calls_in_flight && !si.rx_queued)
			break;
		usleep(50000);
	} while (now_ms() - t0 < 30000);
	EXPECT_EQ(0, si.calls_in_flight);
	EXPECT_EQ(0, si.rx_queued);
	/* and the connection still works */
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 9999999, M_ECHO, NULL, 0, 0));
	{
		struct fastrpc_incoming_info ii;

		ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
		EXPECT_EQ(0, ii.flags);
		ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, NULL, 0, 0));
	}
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(9999999, tag);
	free(seen);
}

/* The threaded echo server never answers M_HOLD: deadlines end the calls. */
TEST_F_TIMEOUT(dl, server_never_replies, 60)
{
	struct fastrpc_call_opts o = { .timeout_ns = 400 * MS };
	struct echo_srv srv;
	uint32_t status;
	uint64_t tag;
	char buf[8];
	int fd, i, ret;

	ret = echo_srv_start(&srv, AF_INET,
			     test_port(BASE_PORT + 100, _metadata->name), 2);
	ASSERT_EQ(0, ret);
	fd = fastrpc_client_open("127.0.0.1", srv.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_rcvtimeo(fd, 20000));
	for (i = 0; i < 10; i++)
		ASSERT_EQ(0, fastrpc_send_call_opts(fd, (uint64_t)i, M_HOLD,
						    &o, NULL, 0, 0));
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, status);
	}
	/* the server saw the calls, then a notice for each */
	for (i = 0; i < 100 && atomic_load(&srv.notices) < 10; i++)
		usleep(100000);
	EXPECT_EQ(10, atomic_load(&srv.held));
	EXPECT_EQ(10, atomic_load(&srv.notices));
	/* and keeps serving */
	ASSERT_EQ(2, fastrpc_call(fd, M_ECHO, "ok", 2, buf, sizeof(buf),
				  &status));
	EXPECT_EQ(FASTRPC_OK, status);
	close(fd);
	echo_srv_stop(&srv);
	EXPECT_EQ(0, atomic_load(&srv.errors));
}

TEST_HARNESS_MAIN
