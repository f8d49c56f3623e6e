// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connection lifecycle: keepalive PING/PONG and its RTT, idle close,
 * GOAWAY from shutdown(SHUT_RD), a link cut between namespaces, a peer
 * namespace deleted, reconnect with backoff after a server restart, and
 * connections opened without blocking (O_NONBLOCK connect, MSG_DONTWAIT
 * sends) or holding the socket lock.
 * Tests that change module parameters restore the defaults.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8400
#define KEEPALIVE_DEF	10000
#define IDLE_DEF	60000

static void restore_params(void)
{
	frpc_set_param("keepalive_ms", KEEPALIVE_DEF);
	frpc_set_param("idle_ms", IDLE_DEF);
}

FIXTURE(lc) {
	struct echo_srv srv;
};

FIXTURE_SETUP(lc)
{
	ASSERT_EQ(0, echo_srv_start(&self->srv, AF_INET,
				    test_port(BASE_PORT, _metadata->name), 2));
}

FIXTURE_TEARDOWN(lc)
{
	restore_params();
	echo_srv_stop(&self->srv);
}

static int cli(uint16_t port)
{
	int fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);

	if (fd >= 0)
		set_rcvtimeo(fd, 20000);
	return fd;
}

TEST_F_TIMEOUT(lc, keepalive_rtt, 60)
{
	long long p0 = proc_counter("pings_sent");
	struct fastrpc_sock_info si;
	uint32_t status;
	char buf[8];
	int fd, i;

	ASSERT_LE(0, p0);
	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 200));
	fd = cli(self->srv.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, fastrpc_call(fd, M_ECHO, "k", 1, buf, sizeof(buf),
				  &status));
	for (i = 0; i < 300; i++) {
		ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
		if (si.rtt_us && proc_counter("pings_sent") > p0)
			break;
		usleep(100000);
	}
	TH_LOG("rtt_us %u after %d00 ms; pings_sent %lld -> %lld", si.rtt_us,
	       i, p0, proc_counter("pings_sent"));
	EXPECT_NE(0, si.rtt_us);
	EXPECT_LT(p0, proc_counter("pings_sent"));
	/* a silent but alive peer is not declared dead */
	usleep(1500000);
	ASSERT_EQ(1, fastrpc_call(fd, M_ECHO, "k", 1, buf, sizeof(buf),
				  &status));
	EXPECT_EQ(FASTRPC_OK, status);
	close(fd);
}

/*
 * Is the test's connection still open?  A TCP client end to @port, or
 * with the same-host short cut, the namespace's open connections above
 * @open0 - 2 (a pair is two of them).
 */
static int lc_conn_open(uint16_t port, long long open0)
{
	if (loop_on())
		return proc_counter("conns_open") > open0 - 2;
	return tcp_established_to(port, false);
}

TEST_F_TIMEOUT(lc, idle_close, 90)
{
	long long open0;
	struct fastrpc_sock_info a, b;
	uint32_t status;
	char buf[8];
	int fd, i, n = -1;

	ASSERT_EQ(0, frpc_set_param("idle_ms", 1000));
	fd = cli(self->srv.port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, fastrpc_call(fd, M_ECHO, "i", 1, buf, sizeof(buf),
				  &status));
	ASSERT_EQ(loop_on() ? 0 : 1, tcp_established_to(self->srv.port, false));
	open0 = proc_counter("conns_open");
	ASSERT_LE(2, open0);	/* both ends live in this namespace */
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &a));

	/* an idle connection goes even while a client socket is open; the
	 * socket's next call simply opens a new one
	 */
	for (i = 0; i < 300; i++) {
		n = lc_conn_open(self->srv.port, open0);
		if (!n)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, n) TH_LOG("connection still open after 30 s");
	TH_LOG("idle connection closed after ~%d00 ms", i);
	EXPECT_GT(open0, proc_counter("conns_open"));
	ASSERT_EQ(1, fastrpc_call(fd, M_ECHO, "j", 1, buf, sizeof(buf),
				  &status));
	EXPECT_EQ(FASTRPC_OK, status);
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &b));
	EXPECT_NE(a.conn_id, b.conn_id);

	/* a closed socket's idle connection goes too */
	open0 = proc_counter("conns_open");
	close(fd);
	for (i = 0; i < 300; i++) {
		n = lc_conn_open(self->srv.port, open0);
		if (!n)
			break;
		usleep(100000);
	}
	EXPECT_EQ(0, n);
}

TEST_F_TIMEOUT(lc, goaway_on_shutdown_rd, 60)
{
	struct fastrpc_incoming_info ii;
	long long g0 = proc_counter("goaways_sent");
	uint16_t port = test_port(BASE_PORT + 100, "goaway");
	uint32_t status = 0;
	uint64_t tag = 0;
	char buf[8];
	ssize_t n;
	int sfd, fd;

	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, set_rcvtimeo(sfd, 20000));
	fd = cli(port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(1, fastrpc_send_call(fd, 1, M_ECHO, "a", 1, 0));
	ASSERT_EQ(1, srv_recv(sfd, &ii, buf, sizeof(buf)));

	ASSERT_EQ(0, shutdown(sfd, SHUT_RD));
	EXPECT_LT(g0, proc_counter("goaways_sent"));
	usleep(200000);
	/* a new call is refused: at the server, or by a new connection */
	n = fastrpc_send_call(fd, 2, M_ECHO, "b", 1, 0);
	if (n >= 0) {
		ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(2, tag);
		EXPECT_EQ(FASTRPC_UNAVAILABLE, status);
	} else {
		EXPECT_EQ(-ECONNREFUSED, n);
	}
	TH_LOG("new call after GOAWAY: %s",
	       n >= 0 ? fastrpc_status_str(status) : fastrpc_strerror((int)n));
	/* the call received before is still answered */
	ASSERT_EQ(1, fastrpc_send_reply(sfd, ii.handle, FASTRPC_OK, "A", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf),
					 0));
	EXPECT_EQ(1, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ('A', buf[0]);
	close(fd);
	close(sfd);
}

TEST_F_TIMEOUT(lc, reconnect_with_backoff, 90)
{
	uint16_t port = test_port(BASE_PORT + 200, "reconnect");
	long long f0;
	uint64_t t0, worst = 0;
	uint32_t status;
	char buf[8];
	ssize_t n;
	int sfd, fd, i, refused = 0;

	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	fd = cli(port);
	ASSERT_LE(0, fd);
	close(sfd);	/* the server goes away */
	usleep(200000);
	f0 = proc_counter("connect_failures");

	/* calls meanwhile fail fast with the connect error */
	for (i = 0; i < 20; i++) {
		t0 = now_ns();
		n = fastrpc_send_call(fd, (uint64_t)i + 1, M_ECHO, "r", 1, 0);
		if (now_ns() - t0 > worst)
			worst = now_ns() - t0;
		if (n == -ECONNREFUSED)
			refused++;
		else
			EXPECT_EQ(-ECONNREFUSED, n);
	}
	EXPECT_EQ(20, refused);
	EXPECT_GT(1000000000ull, worst);
	/* back-off: 20 quick attempts did not all reach TCP */
	EXPECT_LE(f0 + 1, proc_counter("connect_failures"));
	EXPECT_GT(f0 + 10, proc_counter("connect_failures"));
	TH_LOG("20 refused calls, slowest %llu us, connect_failures +%lld",
	       (unsigned long long)(worst / 1000),
	       proc_counter("connect_failures") - f0);

	/* the server comes back: a later call gets through */
	for (i = 0; i < 50; i++) {
		sfd = fastrpc_server_open(AF_INET, port, 128, SOCK_CLOEXEC);
		if (sfd != -EADDRINUSE)
			break;
		usleep(100000);
	}
	ASSERT_LE(0, sfd);
	t0 = now_ms();
	for (;;) {
		struct fastrpc_incoming_info ii;

		n = fastrpc_send_call(fd, 1000, M_ECHO, "s", 1, 0);
		if (n == 1) {
			ASSERT_EQ(0, set_rcvtimeo(sfd, 20000));
			ASSERT_EQ(1, srv_recv(sfd, &ii, buf, sizeof(buf)));
			ASSERT_EQ(1, fastrpc_send_reply(sfd, ii.handle,
							FASTRPC_OK, "S", 1, 0));
			ASSERT_EQ(1, fastrpc_recv_result(fd, NULL, &status, buf,
							 sizeof(buf), 0));
			EXPECT_EQ(FASTRPC_OK, status);
			break;
		}
		ASSERT_EQ(-ECONNREFUSED, n);
		ASSERT_GT(40000, now_ms() - t0) TH_LOG("never reconnected");
		usleep(50000);
	}
	TH_LOG("reconnected %llu ms after the server came back",
	       (unsigned long long)(now_ms() - t0));
	close(fd);
	close(sfd);
}

/*
 * A TCP listener on loopback @port that never accepts nor reads: our TCP
 * handshake completes in its backlog, our HELLO is never answered.
 */
static int mute_listener(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd, i;

	for (i = 0; i < 50; i++) {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
		    !listen(fd, 16))
			return fd;
		close(fd);
		usleep(100000);	/* the FastRPC server's port is still held */
	}
	return -EADDRINUSE;
}

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) ? -errno : 0;
}

struct blocked_send {
	int fd;
	ssize_t ret;
	uint64_t ms;
};

static void *blocked_send_fn(void *p)
{
	struct blocked_send *b = p;
	uint64_t t0 = now_ms();

	b->ret = fastrpc_send_call(b->fd, 77, M_ECHO, "x", 1, 0);
	b->ms = now_ms() - t0;
	return NULL;
}

/*
 * A send that must open a new connection (the old one died) neither
 * sleeps with MSG_DONTWAIT nor holds the socket lock while it waits: the
 * server is replaced by a TCP listener that never answers HELLO, so the
 * new connection stays opening until that listener goes.
 */
TEST_F_TIMEOUT(lc, reconnect_does_not_block, 60)
{
	uint16_t port = test_port(BASE_PORT + 300, "nbreconnect");
	struct sockaddr_fastrpc sa;
	socklen_t salen = sizeof(sa);
	struct blocked_send b = { 0 };
	pthread_t th;
	uint64_t t0;
	ssize_t n;
	int sfd, fd, lfd;

	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	fd = cli(port);
	ASSERT_LE(0, fd);
	close(sfd);		/* the connection dies with the server */
	usleep(300000);
	lfd = mute_listener(port);
	ASSERT_LE(0, lfd) TH_LOG("listen on %u: %s", port, strerror(-lfd));

	/* MSG_DONTWAIT: EAGAIN at once, not EPOLLOUT while it opens */
	ASSERT_EQ(0, set_nonblock(fd, true));
	t0 = now_ms();
	n = fastrpc_send_call(fd, 1, M_ECHO, "a", 1, 0);
	EXPECT_EQ(-EAGAIN, n) TH_LOG("nonblocking send: %zd", n);
	EXPECT_GT(1000, now_ms() - t0);
	EXPECT_EQ(0, wait_events(fd, POLLOUT, 200));
	n = fastrpc_send_call(fd, 2, M_ECHO, "a", 1, 0);
	EXPECT_EQ(-EAGAIN, n);

	/* a blocking send waits for it, without the socket lock */
	ASSERT_EQ(0, set_nonblock(fd, false));
	b.fd = fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_send_fn, &b));
	usleep(300000);
	t0 = now_ms();
	ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&sa, &salen));
	EXPECT_GT(500, now_ms() - t0) TH_LOG("getpeername waited on the socket lock");

	/* the listener goes: the opening connection fails, both learn it */
	t0 = now_ms();
	close(lfd);
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_GT(0, b.ret);
	EXPECT_NE(-EAGAIN, b.ret);
	EXPECT_GT(5000, now_ms() - t0) TH_LOG("blocked send ended %llu ms after the listener closed",
					      (unsigned long long)(now_ms() - t0));
	EXPECT_EQ(1, wait_events(fd, POLLOUT, 5000));
	TH_LOG("blocked send: %s after %llu ms", fastrpc_strerror((int)b.ret),
	       (unsigned long long)b.ms);
	close(fd);
}

struct spin_send {
	int fd;
	volatile int stop;
	long sends, odd;
	ssize_t last_odd;
};

static void *spin_send_fn(void *p)
{
	struct spin_send *s = p;
	ssize_t n;

	while (!s->stop) {
		n = fastrpc_send_call(s->fd, 9, M_ECHO, "s", 1, MSG_DONTWAIT);
		s->sends++;
		/* not connected yet, opening, or why it failed */
		if (n != -EAGAIN && n != -ENOTCONN && n != -ECONNRESET &&
		    n != -ECONNREFUSED && n != 1) {
			s->odd++;
			s->last_odd = n;
		}
	}
	return NULL;
}

/*
 * A blocking connect() that fails undoes itself (the socket is left
 * unconnected) while another thread sends on the socket all along: the
 * sender sees the socket connected, opening, then unconnected, and must
 * never find it half undone.
 */
TEST_F_TIMEOUT(lc, failed_connect_while_sending, 60)
{
	uint16_t port = test_port(BASE_PORT + 500, "connsend");
	struct spin_send sp = { 0 };
	struct sockaddr_fastrpc sa;
	pthread_t th;
	int fd, lfd, r, round;

	for (round = 0; round < 5; round++) {
		lfd = mute_listener((uint16_t)(port + round));
		ASSERT_LE(0, lfd);
		ASSERT_EQ(0, fastrpc_addr(&sa, "127.0.0.1",
					  (uint16_t)(port + round)));
		fd = fastrpc_socket(SOCK_CLOEXEC);
		ASSERT_LE(0, fd);
		memset(&sp, 0, sizeof(sp));
		sp.fd = fd;
		ASSERT_EQ(0, pthread_create(&th, NULL, spin_send_fn, &sp));
		if (fork() == 0) {
			/* the listener goes while connect() waits for HELLO */
			usleep(200000);
			close(lfd);
			_exit(0);
		}
		close(lfd);	/* the child holds the last reference */
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		EXPECT_EQ(-1, r);
		sp.stop = 1;
		pthread_join(th, NULL);
		wait(NULL);
		EXPECT_EQ(0, sp.odd) TH_LOG("send returned %zd", sp.last_odd);
		TH_LOG("round %d: connect %s, %ld sends meanwhile", round,
		       strerror(errno), sp.sends);
		close(fd);
	}
}

/* connect() on an O_NONBLOCK socket: EINPROGRESS, then EPOLLOUT, then calls. */
TEST_F_TIMEOUT(lc, nonblocking_connect, 60)
{
	struct sockaddr_fastrpc sa;
	struct fastrpc_incoming_info ii;
	uint16_t port = test_port(BASE_PORT + 400, "nbconnect");
	uint32_t status = 0;
	char buf[8];
	int sfd, fd, lfd, r;

	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, set_rcvtimeo(sfd, 20000));
	ASSERT_EQ(0, fastrpc_addr(&sa, "127.0.0.1", port));
	fd = fastrpc_socket(SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	EXPECT_TRUE(r == 0 || errno == EINPROGRESS) TH_LOG("connect: %s", strerror(errno));
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_EQ(EISCONN, errno);
	ASSERT_EQ(1, wait_events(fd, POLLOUT, 10000));
	ASSERT_EQ(1, fastrpc_send_call(fd, 5, M_ECHO, "n", 1, 0));
	ASSERT_EQ(1, srv_recv(sfd, &ii, buf, sizeof(buf)));
	ASSERT_EQ(1, fastrpc_send_reply(sfd, ii.handle, FASTRPC_OK, "N", 1, 0));
	ASSERT_EQ(1, wait_events(fd, POLLIN, 10000));
	ASSERT_EQ(1, fastrpc_recv_result(fd, NULL, &status, buf, sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
	close(fd);
	close(sfd);

	/* a peer that never answers HELLO: EINPROGRESS, no EPOLLOUT, then
	 * EPOLLOUT when it fails and the send reports why
	 */
	lfd = mute_listener(port);
	ASSERT_LE(0, lfd);
	fd = fastrpc_socket(SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, connect(fd, (struct sockaddr *)&sa, sizeof(sa)));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(0, wait_events(fd, POLLOUT, 300));
	close(lfd);
	EXPECT_EQ(1, wait_events(fd, POLLOUT, 5000));
	r = (int)fastrpc_send_call(fd, 6, M_ECHO, "m", 1, 0);
	EXPECT_GT(0, r);
	EXPECT_NE(-EAGAIN, r);
	TH_LOG("send after the failed connect: %s", fastrpc_strerror(r));
	close(fd);
}

/*
 * Backoff records are bounded: connects to more refused ports than the
 * module keeps records for leave at most FRPC_MAX_PEERS of them (1024).
 * In a namespace of its own (the test is a process of its own), so that
 * the records go with it and no other test meets them.
 */
TEST_F_TIMEOUT(lc, backoff_records_bounded, 120)
{
	enum { MAX_PEERS = 1024, PORTS = MAX_PEERS + 100 };
	uint16_t port = 20000;
	uint64_t t0;
	long long f0;
	int i, fd, refused = 0;

	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	ASSERT_EQ(0, frpc_sh("ip link set lo up"));
	f0 = proc_counter("connect_failures");
	ASSERT_EQ(0, f0);
	ASSERT_EQ(0, proc_counter("backoff_peers"));
	t0 = now_ms();
	for (i = 0; i < PORTS; i++) {
		/* nobody listens on these: each is refused at once */
		fd = fastrpc_client_open("127.0.0.1", (uint16_t)(port + i),
					 SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (fd == -ECONNREFUSED)
			refused++;
	}
	EXPECT_LT(PORTS - 50, refused);
	EXPECT_LE(f0 + refused, proc_counter("connect_failures"));
	EXPECT_GE(MAX_PEERS, proc_counter("backoff_peers"));
	/* records also go 20 s after their backoff: only a quick run keeps most */
	if (now_ms() - t0 < 15000)
		EXPECT_LT(MAX_PEERS / 2, proc_counter("backoff_peers"));
	TH_LOG("%d refused, %lld backoff records", refused,
	       proc_counter("backoff_peers"));
}

/* Two namespaces, the echo server a child process in the first. */
FIXTURE(two) {
	char ns_s[32];
	char ns_c[32];
	pid_t server;
};

#define TWO_PORT	(BASE_PORT + 90)

FIXTURE_SETUP(two)
{
	int sync[2];
	char c;

	self->server = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "frpc_ls%d", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "frpc_lc%d", getpid());
	ASSERT_EQ(0, frpc_netns_pair(self->ns_s, self->ns_c, "frpc_la",
				     "frpc_lb", 79));
	ASSERT_EQ(0, pipe(sync));
	self->server = fork();
	ASSERT_LE(0, self->server);
	if (self->server == 0) {
		struct echo_srv srv;
		int ret;

		close(sync[0]);
		ret = frpc_enter_ns(self->ns_s);
		if (!ret)
			ret = echo_srv_start(&srv, AF_INET, TWO_PORT, 2);
		c = ret || srv.port != TWO_PORT ? 'E' : 'R';
		if (write(sync[1], &c, 1) != 1 || c != 'R')
			_exit(1);
		for (;;)
			pause();
	}
	close(sync[1]);
	c = 0;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	ASSERT_EQ('R', c);
	ASSERT_EQ(0, frpc_enter_ns(self->ns_c));
}

FIXTURE_TEARDOWN(two)
{
	restore_params();
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, NULL, 0);
	}
	frpc_sh("ip netns del %s 2>/dev/null", self->ns_s);
	frpc_sh("ip netns del %s 2>/dev/null", self->ns_c);
}

TEST_F_TIMEOUT(two, link_cut_ends_calls, 90)
{
	uint32_t status = 0;
	uint64_t t0, tag = 0;
	char buf[8];
	int fd, i;

	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 300));
	fd = fastrpc_client_open("10.79.0.1", TWO_PORT, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(0, set_rcvtimeo(fd, 40000));
	ASSERT_EQ(1, fastrpc_call(fd, M_ECHO, "x", 1, buf, sizeof(buf),
				  &status));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, fastrpc_send_call(fd, (uint64_t)i + 1, M_HOLD,
					       NULL, 0, 0));
	usleep(300000);
	ASSERT_EQ(0, frpc_sh("ip -n %s link set frpc_lb down", self->ns_c));
	t0 = now_ms();
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(FASTRPC_UNAVAILABLE, status);
	}
	TH_LOG("8 held calls ended UNAVAILABLE %llu ms after the link went down",
	       (unsigned long long)(now_ms() - t0));
	EXPECT_GT(30000, now_ms() - t0);
	close(fd);
}

TEST_F_TIMEOUT(two, peer_namespace_deleted, 90)
{
	uint32_t status = 0;
	uint64_t t0, tag = 0;
	char buf[8];
	ssize_t n;
	int fd, i;

	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 300));
	fd = fastrpc_client_open("10.79.0.1", TWO_PORT, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(0, set_rcvtimeo(fd, 40000));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, fastrpc_send_call(fd, (uint64_t)i + 1, M_HOLD,
					       NULL, 0, 0));
	usleep(300000);
	kill(self->server, SIGKILL);
	waitpid(self->server, NULL, 0);
	self->server = -1;
	ASSERT_EQ(0, frpc_sh("ip netns del %s", self->ns_s));
	t0 = now_ms();
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(FASTRPC_UNAVAILABLE, status);
	}
	EXPECT_GT(30000, now_ms() - t0);
	/* and nothing hangs afterwards: a new call fails, fast */
	t0 = now_ms();
	n = fastrpc_send_call(fd, 100, M_ECHO, "y", 1, 0);
	if (n >= 0) {
		ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_NE(FASTRPC_OK, status);
	}
	TH_LOG("call after deletion: %s in %llu ms",
	       n >= 0 ? fastrpc_status_str(status) : fastrpc_strerror((int)n),
	       (unsigned long long)(now_ms() - t0));
	EXPECT_GT(35000, now_ms() - t0);
	close(fd);
}

TEST_HARNESS_MAIN
