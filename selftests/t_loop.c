// SPDX-License-Identifier: GPL-2.0-only
/*
 * The same-host short cut: a connection to a server socket of the same
 * namespace skips TCP (loop_conns and loop_calls rise, /proc/net/tcp shows
 * nothing), for IPv4 and IPv6 targets; FASTRPC_LOOPBACK and the module
 * parameter "loopback" force TCP; a server that goes away gives the
 * client the same results on both paths.  t_netns checks that a
 * connection across namespaces takes TCP.
 */
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7700

/* A client socket with FASTRPC_LOOPBACK @on, connected to @ip:@port. */
static int loop_client(const char *ip, uint16_t port, int on)
{
	struct sockaddr_fastrpc a;
	int fd, ret;

	ret = fastrpc_addr(&a, ip, port);
	if (ret)
		return ret;
	fd = fastrpc_socket(SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, sizeof(on)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	set_rcvtimeo(fd, 10000);
	return fd;
}

static int echo1(int fd)
{
	uint32_t status = 0;
	char buf[4];
	ssize_t n;

	n = fastrpc_call(fd, M_ECHO, "lo", 2, buf, sizeof(buf), &status);
	if (n < 0)
		return (int)n;
	return n == 2 && status == FASTRPC_OK ? 0 : -EPROTO;
}

FIXTURE(lp) {
	struct echo_srv srv;
	long long conns0, calls0;
	bool param0;
};

FIXTURE_SETUP(lp)
{
	int ret;

	self->param0 = loop_on();
	ret = echo_srv_start(&self->srv, AF_INET6,
			     test_port(BASE_PORT, _metadata->name), 2);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	self->conns0 = proc_counter("loop_conns");
	self->calls0 = proc_counter("loop_calls");
	ASSERT_LE(0, self->conns0) TH_LOG("no loop_conns in /proc/net/fastrpc");
	ASSERT_LE(0, self->calls0);
}

FIXTURE_TEARDOWN(lp)
{
	frpc_set_param("loopback", self->param0);
	echo_srv_stop(&self->srv);
}

TEST_F(lp, feature_and_option)
{
	struct fastrpc_features f;
	socklen_t len = sizeof(int);
	int fd, on = -1;

	fd = fastrpc_socket(SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastrpc_get_features(fd, &f));
	EXPECT_TRUE(f.features & FASTRPC_FEAT_LOOPBACK);
	ASSERT_EQ(0, getsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, &len));
	EXPECT_EQ(1, on);
	on = 0;
	ASSERT_EQ(0, setsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on,
				sizeof(on)));
	on = -1;
	ASSERT_EQ(0, getsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, &len));
	EXPECT_EQ(0, on);
	/* any non-zero value is 1 */
	on = 7;
	ASSERT_EQ(0, setsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on,
				sizeof(on)));
	ASSERT_EQ(0, getsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, &len));
	EXPECT_EQ(1, on);
	EXPECT_EQ(-1, setsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, 1));
	EXPECT_EQ(EINVAL, errno);
	len = 2;
	EXPECT_EQ(-1, getsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &on, &len));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/*
 * IPv6 and IPv4 targets of a dual-stack wildcard IPv6 listener, and the
 * TCP facts.
 */
TEST_F(lp, same_namespace_takes_loop)
{
	uint16_t port = self->srv.port;
	int fd;

	ASSERT_EQ(0, frpc_set_param("loopback", 1));
	fd = loop_client("::1", port, 1);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	EXPECT_EQ(0, echo1(fd));
	EXPECT_EQ(0, echo1(fd));
	EXPECT_EQ(self->conns0 + 1, proc_counter("loop_conns"));
	EXPECT_EQ(self->calls0 + 2, proc_counter("loop_calls"));
	EXPECT_EQ(0, tcp_established_to(port, true));
	EXPECT_EQ(0, tcp_established_to(port, false));
	close(fd);

	fd = loop_client("127.0.0.1", port, 1);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	EXPECT_EQ(0, echo1(fd));
	EXPECT_EQ(self->conns0 + 2, proc_counter("loop_conns"));
	EXPECT_EQ(self->calls0 + 3, proc_counter("loop_calls"));
	EXPECT_EQ(0, tcp_established_to(port, false) +
		     tcp_established_to(port, true));
	close(fd);
}

TEST_F(lp, ipv4_listener)
{
	uint16_t port = test_port(BASE_PORT + 100, _metadata->name);
	int sfd, fd, one = 1;
	struct fastrpc_call_info ci;
	uint32_t status;
	char buf[8];

	ASSERT_EQ(0, frpc_set_param("loopback", 1));
	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	set_rcvtimeo(sfd, 10000);
	fd = loop_client("127.0.0.1", port, one);
	ASSERT_LE(0, fd);
	ASSERT_EQ(2, fastrpc_send_call(fd, 9, M_ECHO, "hi", 2, 0));
	ASSERT_EQ(2, fastrpc_recv_call(sfd, &ci, buf, sizeof(buf), 0));
	/* the caller's address: the target's, and a port of its own */
	EXPECT_EQ(AF_INET, ci.peer.sfr_ip_family);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), ci.peer.sfr_addr.v4);
	EXPECT_NE(0, ci.peer.sfr_port);
	ASSERT_EQ(2, fastrpc_send_reply(sfd, ci.handle, FASTRPC_OK, "ok", 2,
					0));
	ASSERT_EQ(2, fastrpc_recv_result(fd, NULL, &status, buf, sizeof(buf),
					 0));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(self->conns0 + 1, proc_counter("loop_conns"));
	EXPECT_EQ(0, tcp_established_to(port, false));
	close(fd);
	close(sfd);
}

TEST_F(lp, option_forces_tcp)
{
	uint16_t port = self->srv.port;
	int fd, fd2;

	ASSERT_EQ(0, frpc_set_param("loopback", 1));
	/* a socket that may take the short cut opens the pair first ... */
	fd2 = loop_client("::1", port, 1);
	ASSERT_LE(0, fd2);
	/* ... and one with the option off does not share it */
	fd = loop_client("::1", port, 0);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	EXPECT_EQ(0, echo1(fd));
	EXPECT_EQ(self->conns0 + 1, proc_counter("loop_conns"));
	EXPECT_EQ(self->calls0, proc_counter("loop_calls"));
	EXPECT_EQ(1, tcp_established_to(port, true));
	EXPECT_EQ(0, echo1(fd2));
	EXPECT_EQ(self->calls0 + 1, proc_counter("loop_calls"));
	close(fd);
	close(fd2);
}

TEST_F(lp, param_forces_tcp)
{
	uint16_t port = self->srv.port;
	int fd;

	ASSERT_EQ(0, frpc_set_param("loopback", 0));
	EXPECT_FALSE(loop_on());
	fd = loop_client("::1", port, 1);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	EXPECT_EQ(0, echo1(fd));
	EXPECT_EQ(self->conns0, proc_counter("loop_conns"));
	EXPECT_EQ(self->calls0, proc_counter("loop_calls"));
	EXPECT_EQ(1, tcp_established_to(port, true));
	close(fd);
}

/* What a client sees when its server socket closes with a call taken. */
struct close_outcome {
	ssize_t recv;		/* the taken call's result */
	uint32_t status;
	ssize_t send2;		/* a call after the close */
	ssize_t recv2;
	uint32_t status2;
	long long loops;	/* loop_conns it opened */
};

static int server_close_run(uint16_t base, int on, struct close_outcome *o)
{
	long long loops0 = proc_counter("loop_conns");
	struct fastrpc_call_info ci;
	uint16_t port = base;
	char buf[8];
	int sfd, fd;

	memset(o, 0, sizeof(*o));
	sfd = open_server(AF_INET, &port);
	if (sfd < 0)
		return sfd;
	set_rcvtimeo(sfd, 10000);
	fd = loop_client("127.0.0.1", port, on);
	if (fd < 0) {
		close(sfd);
		return fd;
	}
	o->loops = proc_counter("loop_conns") - loops0;
	if (fastrpc_send_call(fd, 1, M_ECHO, "a", 1, 0) != 1 ||
	    fastrpc_recv_call(sfd, &ci, buf, sizeof(buf), 0) != 1) {
		close(fd);
		close(sfd);
		return -EIO;
	}
	close(sfd);
	o->recv = fastrpc_recv_result(fd, NULL, &o->status, buf, sizeof(buf),
				      0);
	o->send2 = fastrpc_send_call(fd, 2, M_ECHO, "b", 1, 0);
	if (o->send2 == 1)
		o->recv2 = fastrpc_recv_result(fd, NULL, &o->status2, buf,
					       sizeof(buf), 0);
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(lp, server_close_same_on_both_paths, 60)
{
	struct close_outcome lo, tcp;

	ASSERT_EQ(0, frpc_set_param("loopback", 1));
	ASSERT_EQ(0, server_close_run(test_port(BASE_PORT + 200, "lo"), 1,
				      &lo));
	ASSERT_EQ(0, server_close_run(test_port(BASE_PORT + 300, "tcp"), 0,
				      &tcp));
	EXPECT_EQ(1, lo.loops);
	EXPECT_EQ(0, tcp.loops);
	TH_LOG("loop: %zd/%u, then %zd, %zd/%u; tcp: %zd/%u, then %zd, %zd/%u",
	       lo.recv, lo.status, lo.send2, lo.recv2, lo.status2,
	       tcp.recv, tcp.status, tcp.send2, tcp.recv2, tcp.status2);
	EXPECT_EQ(0, lo.recv);
	EXPECT_EQ(FASTRPC_UNAVAILABLE, lo.status);
	EXPECT_EQ(tcp.recv, lo.recv);
	EXPECT_EQ(tcp.status, lo.status);
	EXPECT_EQ(tcp.send2, lo.send2);
	EXPECT_EQ(tcp.recv2, lo.recv2);
	EXPECT_EQ(tcp.status2, lo.status2);
}

/* A connection refused by the server's limit fails the same way. */
TEST_F(lp, admission_refusal_same_on_both_paths)
{
	uint16_t port = self->srv.port;
	int fd, lo_err;

	ASSERT_EQ(0, frpc_set_param("loopback", 1));
	ASSERT_EQ(0, frpc_set_param("server_max_conns", 1));
	/* the server's one connection, over TCP */
	fd = loop_client("::1", port, 0);
	ASSERT_LE(0, fd);
	lo_err = loop_client("::1", port, 1);
	EXPECT_GT(0, lo_err);
	if (lo_err >= 0)
		close(lo_err);
	close(fd);
	ASSERT_EQ(0, frpc_set_param("server_max_conns", 1024));
	/* what a TCP client sees when the accepted socket is closed at once */
	TH_LOG("refused: %s", fastrpc_strerror(lo_err));
	EXPECT_EQ(-ECONNRESET, lo_err);
	EXPECT_EQ(self->conns0, proc_counter("loop_conns"));
}

/*
 * A server socket closed while a short-cut connect is making its
 * connection: the connect work holds the new server connection only by
 * its own reference, and close() ends and frees the socket's.  Run many
 * times so that close() lands inside the connect work now and then; the
 * debug kernel's KASAN would report a use of the freed connection.  Each
 * client must still learn an outcome: a call either completes or fails,
 * within its timeout, never hangs.
 */
TEST_F_TIMEOUT(lp, connect_close_race, 120)
{
	/* above every test file's ports: each refused one backs off */
	uint16_t base = 9100, port;
	struct sockaddr_fastrpc sa;
	int i, sfd, fd, r, outcomes = 0, sent = 0, pairs = 0;
	long long paired;
	uint32_t status;
	char buf[4];
	ssize_t n;

	for (i = 0; i < 200; i++) {
		port = (uint16_t)(base + 2 * i);
		sfd = open_server(AF_INET, &port);
		ASSERT_LE(0, sfd);
		ASSERT_EQ(0, fastrpc_addr(&sa, "127.0.0.1", port));
		fd = fastrpc_socket(SOCK_NONBLOCK | SOCK_CLOEXEC);
		ASSERT_LE(0, fd);
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		ASSERT_TRUE(r == 0 || errno == EINPROGRESS)
			TH_LOG("connect: %s", strerror(errno));
		/*
		 * The connect work is running or about to: close at
		 * delays from 0 to 5 ms, so that some closes come before
		 * it finds the socket, some after it is done, and some
		 * in between.
		 */
		paired = proc_counter("loop_conns");
		if (i % 50)
			usleep((useconds_t)(i % 50) * 100);
		close(sfd);
		ASSERT_EQ(1, wait_events(fd, POLLOUT, 10000));
		pairs += proc_counter("loop_conns") > paired;
		status = 0;
		n = fastrpc_send_call(fd, 1, M_ECHO, "r", 1, 0);
		if (n == 1) {
			sent++;
			/* nobody answers: the closed server's END or the
			 * connection's loss ends the call
			 */
			ASSERT_EQ(1, wait_events(fd, POLLIN, 10000));
			n = fastrpc_recv_result(fd, NULL, &status, buf,
						sizeof(buf), 0);
			EXPECT_TRUE(n >= 0 && status != FASTRPC_OK)
				TH_LOG("call after close: %zd, status %u", n,
				       status);
		} else {
			EXPECT_TRUE(n < 0) TH_LOG("send: %zd", n);
		}
		outcomes++;
		close(fd);
	}
	EXPECT_EQ(200, outcomes);
	TH_LOG("%d of 200 took the short cut, %d calls sent, %d refused",
	       pairs, sent, outcomes - sent);
}

/* One call from a new client to @ip:@port, answered by server @sfd here. */
static int call_bound(int sfd, const char *ip, uint16_t port, int on)
{
	struct fastrpc_call_info ci;
	uint32_t status = 99;
	uint64_t tag = 0;
	char buf[16];
	ssize_t n;
	int fd;

	fd = loop_client(ip, port, on);
	if (fd < 0)
		return fd;
	n = fastrpc_send_call(fd, 7, M_ECHO, "bound", 5, 0);
	if (n == 5)
		n = fastrpc_recv_call(sfd, &ci, buf, sizeof(buf), 0);
	if (n == 5)
		n = fastrpc_send_reply(sfd, ci.handle, FASTRPC_OK, buf, 5, 0);
	if (n == 5)
		n = fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0)
		return (int)n;
	return n == 5 && tag == 7 && status == FASTRPC_OK &&
	       !memcmp(buf, "bound", 5) ? 0 : -EIO;
}

/*
 * A server bound to 127.0.0.1 serves that address only, on both paths:
 * a caller of another address of the namespace is refused, as by a TCP
 * listener bound so.  In a namespace of its own, to add that address.
 */
static int loopback_only_child(void)
{
	struct sockaddr_fastrpc a;
	uint16_t port = 7890;
	int sfd, bad = 0, on, ret;

	if (unshare(CLONE_NEWNET) ||
	    frpc_sh("ip link set lo up && ip addr add 10.55.0.1/32 dev lo"))
		return 100;
	/* a port per round: a refused peer is remembered (backoff) */
	for (on = 0; on <= 1; on++, port++) {
		sfd = fastrpc_socket(SOCK_CLOEXEC);
		if (sfd < 0 || fastrpc_addr(&a, "127.0.0.1", port) ||
		    bind(sfd, (struct sockaddr *)&a, sizeof(a)) ||
		    listen(sfd, 16))
			return 101;
		set_rcvtimeo(sfd, 10000);
		ret = call_bound(sfd, "127.0.0.1", port, on);
		if (ret) {
			fprintf(stderr, "# loopback %d: call to 127.0.0.1: %s\n",
				on, strerror(-ret));
			bad++;
		}
		ret = loop_client("10.55.0.1", port, on);
		if (ret >= 0 || ret != -ECONNREFUSED) {
			fprintf(stderr, "# loopback %d: connect to 10.55.0.1: %s\n",
				on, ret >= 0 ? "connected" : strerror(-ret));
			bad++;
		}
		if (ret >= 0)
			close(ret);
		close(sfd);
	}
	/* the wildcard, for contrast: the other address is served */
	sfd = fastrpc_server_open(AF_INET, port, 16, SOCK_CLOEXEC);
	if (sfd < 0)
		return 102;
	set_rcvtimeo(sfd, 10000);
	ret = call_bound(sfd, "10.55.0.1", port, 1);
	if (ret) {
		fprintf(stderr, "# wildcard: call to 10.55.0.1: %s\n", strerror(-ret));
		bad++;
	}
	close(sfd);
	return bad;
}

TEST(loopback_only_server)
{
	int status;
	pid_t pid = fork();

	ASSERT_LE(0, pid);
	if (!pid)
		_exit(loopback_only_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
