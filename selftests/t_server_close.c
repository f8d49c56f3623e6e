// SPDX-License-Identifier: GPL-2.0-only
/*
 * A server closing with calls unanswered: every caller gets
 * FASTRPC_UNAVAILABLE promptly, and the port serves again afterwards.
 * /proc/net/fastrpc lists server sockets and their connections until then.
 */
#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7500
#define NPENDING	16

FIXTURE(sclose) {
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(sclose)
{
	int ret = pair_open(BASE_PORT, _metadata->name, 0, &self->sfd,
			    &self->cfd, &self->port);

	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(sclose)
{
	pair_close(self->sfd, self->cfd);
}

/* Collect NPENDING results, all UNAVAILABLE, within @ms. */
static int expect_unavailable(struct __test_metadata *_metadata, int fd,
			      int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms, tag;
	uint8_t seen[NPENDING] = { 0 };
	uint32_t status;
	int got = 0;
	char buf[8];
	ssize_t n;

	while (got < NPENDING) {
		int left = (int)(deadline - now_ms());

		if (left <= 0 || wait_events(fd, POLLIN, left) != 1)
			break;
		n = fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf),
					MSG_DONTWAIT);
		if (n == -EAGAIN)
			continue;
		EXPECT_LE(0, n) TH_LOG("recv: %s", fastrpc_strerror((int)n));
		if (n < 0)
			break;
		EXPECT_EQ(FASTRPC_UNAVAILABLE, status)
			TH_LOG("tag %llu status %s", (unsigned long long)tag,
			       fastrpc_status_str(status));
		EXPECT_GT(NPENDING + 1, tag);
		if (tag >= 1 && tag <= NPENDING) {
			EXPECT_EQ(0, seen[tag - 1]);
			seen[tag - 1] = 1;
		}
		got++;
	}
	return got;
}

static void send_pending(struct __test_metadata *_metadata, int cfd)
{
	uint64_t t;

	for (t = 1; t <= NPENDING; t++)
		ASSERT_EQ(1, fastrpc_send_call(cfd, t, M_ECHO, "u", 1, 0));
}

TEST_F(sclose, pending_calls_get_unavailable)
{
	struct fastrpc_call_info info;
	uint64_t t0, ms;
	char buf[8];
	uint32_t status;
	int i, fd2;

	send_pending(_metadata, self->cfd);
	/* The server takes them all and answers none. */
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	for (i = 0; i < NPENDING; i++)
		ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf,
					       sizeof(buf), 0));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 100));

	t0 = now_ms();
	close(self->sfd);
	self->sfd = -1;
	EXPECT_EQ(NPENDING, expect_unavailable(_metadata, self->cfd, 2000));
	ms = now_ms() - t0;
	TH_LOG("%d results %llu ms after the server closed", NPENDING,
	       (unsigned long long)ms);

	/* A new server on the same port, a new client socket: it works. */
	self->sfd = fastrpc_server_open(AF_INET, self->port, 16, SOCK_CLOEXEC);
	ASSERT_LE(0, self->sfd)
		TH_LOG("rebind port %u: %s", self->port,
		       fastrpc_strerror(self->sfd));
	fd2 = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd2) TH_LOG("reconnect: %s", fastrpc_strerror(fd2));
	ASSERT_EQ(0, set_rcvtimeo(fd2, 5000));
	ASSERT_EQ(2, fastrpc_send_call(fd2, 1, M_ECHO, "hi", 2, 0));
	ASSERT_EQ(2, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf), 0));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, info.handle, FASTRPC_OK,
					"yo", 2, 0));
	ASSERT_EQ(2, fastrpc_recv_result(fd2, NULL, &status, buf, sizeof(buf),
					 0));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(buf, "yo", 2));
	close(fd2);
}

TEST_F(sclose, queued_calls_get_unavailable)
{
	/* Calls still queued in the server socket, never received. */
	send_pending(_metadata, self->cfd);
	usleep(200000);
	close(self->sfd);
	self->sfd = -1;
	EXPECT_EQ(NPENDING, expect_unavailable(_metadata, self->cfd, 2000));
}

TEST_F(sclose, new_calls_after_close_fail)
{
	uint32_t status;
	char buf[8];
	ssize_t n;

	close(self->sfd);
	self->sfd = -1;
	usleep(200000);
	/* The old connection is gone: refused now, or the call fails. */
	n = fastrpc_send_call(self->cfd, 1, M_ECHO, "z", 1, 0);
	if (n == 1) {
		ASSERT_EQ(1, wait_events(self->cfd, POLLIN, 2000));
		ASSERT_LE(0, fastrpc_recv_result(self->cfd, NULL, &status, buf,
						 sizeof(buf), MSG_DONTWAIT));
		EXPECT_EQ(FASTRPC_UNAVAILABLE, status);
	} else {
		TH_LOG("send after server close: %s",
		       fastrpc_strerror((int)n));
		EXPECT_GT(0, n);
	}
}

/* Poll a /proc/net/fastrpc line until it reads @want or @ms pass. */
static long long proc_wait(const char *name, long long want, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;
	long long v;

	while ((v = proc_counter(name)) != want && now_ms() < deadline)
		usleep(10000);
	return v;
}

/*
 * /proc/net/fastrpc's server_sockets and server_conns walk the namespace's
 * list of server sockets and each one's accepted connections.  In a fresh
 * namespace: two servers, three client sockets.  Client sockets of one
 * namespace share a connection per server address, so two of them on the
 * first server and one on the second make two accepted connections.
 */
TEST(proc_lists_servers)
{
	uint16_t pa = BASE_PORT + 100, pb;
	int sa, sb, c[3], i;

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	ASSERT_EQ(0, frpc_sh("ip link set lo up"));
	EXPECT_EQ(0, proc_counter("server_sockets"));
	EXPECT_EQ(0, proc_counter("server_conns"));

	sa = open_server(AF_INET, &pa);
	ASSERT_LE(0, sa) TH_LOG("server a: %s", fastrpc_strerror(sa));
	pb = (uint16_t)(pa + 1);
	sb = open_server(AF_INET, &pb);
	ASSERT_LE(0, sb) TH_LOG("server b: %s", fastrpc_strerror(sb));
	EXPECT_EQ(2, proc_counter("server_sockets"));
	EXPECT_EQ(0, proc_counter("server_conns"));

	for (i = 0; i < 3; i++) {
		c[i] = fastrpc_client_open("127.0.0.1", i < 2 ? pa : pb,
					   SOCK_CLOEXEC);
		ASSERT_LE(0, c[i]) TH_LOG("connect %d: %s", i,
					  fastrpc_strerror(c[i]));
	}
	EXPECT_EQ(2, proc_wait("server_conns", 2, 2000));
	EXPECT_EQ(2, proc_counter("server_sockets"));

	/* the first server goes, and its connection with it */
	close(sa);
	EXPECT_EQ(1, proc_wait("server_sockets", 1, 2000));
	EXPECT_EQ(1, proc_wait("server_conns", 1, 2000));

	for (i = 0; i < 3; i++)
		close(c[i]);
	close(sb);
	EXPECT_EQ(0, proc_wait("server_sockets", 0, 2000));
	EXPECT_EQ(0, proc_wait("server_conns", 0, 2000));
}

TEST_HARNESS_MAIN
