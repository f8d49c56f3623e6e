// SPDX-License-Identifier: GPL-2.0-only
/*
 * Two network namespaces joined by veth, as two hosts: the server lives in
 * one (a child process that setns()'d into it), the client in the other;
 * calls over IPv4 and IPv6, and isolation between the namespaces.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define PORT		7400

FIXTURE(netns) {
	char ns_srv[32];
	char ns_cli[32];
	pid_t server;
	bool created;
};

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = system(cmd);
	if (ret)
		fprintf(stderr, "# command failed (%d): %s\n", ret, cmd);
	return ret;
}

static int enter_ns(const char *name)
{
	char path[64];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret ? -errno : 0;
}

FIXTURE_SETUP(netns)
{
	const char *a = self->ns_srv, *b = self->ns_cli;
	int sync[2];
	char c;

	self->server = -1;
	snprintf(self->ns_srv, sizeof(self->ns_srv), "frpc_s%d", getpid());
	snprintf(self->ns_cli, sizeof(self->ns_cli), "frpc_c%d", getpid());
	mkdir("/run", 0755);
	ASSERT_EQ(0, sh("ip netns add %s", a));
	self->created = true;
	ASSERT_EQ(0, sh("ip netns add %s", b));
	ASSERT_EQ(0, sh("ip link add frpc_va netns %s type veth peer name "
			"frpc_vb netns %s", a, b));
	ASSERT_EQ(0, sh("ip -n %s link set lo up && ip -n %s link set lo up",
			a, b));
	ASSERT_EQ(0, sh("ip -n %s addr add 10.77.0.1/24 dev frpc_va && "
			"ip -n %s addr add fd77::1/64 dev frpc_va nodad && "
			"ip -n %s link set frpc_va up", a, a, a));
	ASSERT_EQ(0, sh("ip -n %s addr add 10.77.0.2/24 dev frpc_vb && "
			"ip -n %s addr add fd77::2/64 dev frpc_vb nodad && "
			"ip -n %s link set frpc_vb up", b, b, b));

	/* The server: a child in the first namespace, serving until killed. */
	ASSERT_EQ(0, pipe(sync));
	self->server = fork();
	ASSERT_LE(0, self->server);
	if (self->server == 0) {
		struct echo_srv srv;
		int ret;

		close(sync[0]);
		ret = enter_ns(a);
		if (!ret)
			ret = echo_srv_start(&srv, AF_INET6, PORT, 2);
		if (ret)
			fprintf(stderr, "# server in %s: %s\n", a,
				fastrpc_strerror(ret));
		c = ret ? 'E' : 'R';
		if (write(sync[1], &c, 1) != 1 || ret)
			_exit(1);
		for (;;)
			pause();
	}
	close(sync[1]);
	c = 0;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	ASSERT_EQ('R', c);
}

FIXTURE_TEARDOWN(netns)
{
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, NULL, 0);
	}
	if (self->created) {
		sh("ip netns del %s 2>/dev/null", self->ns_srv);
		sh("ip netns del %s 2>/dev/null", self->ns_cli);
	}
}

/* One M_PEER call to @ip from the current namespace; the peer as text. */
static ssize_t peer_call(const char *ip, char *out, size_t len)
{
	uint32_t status = 0;
	ssize_t n;
	int fd;

	fd = fastrpc_client_open(ip, PORT, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	set_rcvtimeo(fd, 10000);
	n = fastrpc_call(fd, M_PEER, NULL, 0, out, len - 1, &status);
	close(fd);
	if (n >= 0 && status != FASTRPC_OK)
		return -EPROTO;
	if (n >= 0)
		out[n < (ssize_t)len - 1 ? n : (ssize_t)len - 1] = '\0';
	return n;
}

TEST_F_TIMEOUT(netns, calls_across_namespaces, 60)
{
	char peer[FASTRPC_ADDRSTRLEN + 1];
	ssize_t n;

	ASSERT_EQ(0, enter_ns(self->ns_cli));

	n = peer_call("10.77.0.1", peer, sizeof(peer));
	ASSERT_LT(0, n) TH_LOG("IPv4 call: %s", fastrpc_strerror((int)n));
	TH_LOG("IPv4 caller seen as %s", peer);
	EXPECT_EQ(0, strncmp(peer, "10.77.0.2:", 10));

	n = peer_call("fd77::1", peer, sizeof(peer));
	ASSERT_LT(0, n) TH_LOG("IPv6 call: %s", fastrpc_strerror((int)n));
	TH_LOG("IPv6 caller seen as %s", peer);
	EXPECT_EQ(0, strncmp(peer, "[fd77::2]:", 10));

	/* Bracketed literal with the same result. */
	n = peer_call("[fd77::1]", peer, sizeof(peer));
	EXPECT_LT(0, n);
}

TEST_F(netns, namespaces_are_isolated)
{
	char buf[8];
	int fd;

	/* Nothing listens on the client namespace's own loopback. */
	ASSERT_EQ(0, enter_ns(self->ns_cli));
	fd = fastrpc_client_open("127.0.0.1", PORT, SOCK_CLOEXEC);
	EXPECT_EQ(-ECONNREFUSED, fd);
	if (fd >= 0)
		close(fd);
	/* The server's namespace serves its own loopback too. */
	ASSERT_EQ(0, enter_ns(self->ns_srv));
	EXPECT_LT(0, peer_call("::1", buf, sizeof(buf)));
}

/* Sum of a /proc/net/fastrpc counter over both namespaces. */
static long long both_counters(FIXTURE_DATA(netns) *self, const char *name)
{
	long long a, b;

	if (enter_ns(self->ns_srv))
		return -1;
	a = proc_counter(name);
	if (enter_ns(self->ns_cli))
		return -1;
	b = proc_counter(name);
	return a < 0 || b < 0 ? -1 : a + b;
}

TEST_F(netns, counters_per_namespace)
{
	char peer[FASTRPC_ADDRSTRLEN + 1];
	long long before, after;

	/* Fresh namespaces start at zero, whatever ran elsewhere. */
	before = both_counters(self, "calls_completed");
	ASSERT_EQ(0, before) TH_LOG("calls_completed in fresh namespaces");
	ASSERT_LT(0, peer_call("10.77.0.1", peer, sizeof(peer)));
	after = both_counters(self, "calls_completed");
	EXPECT_LE(1, after);
	EXPECT_GE(2, after);	/* counted once per side at most */
}

/*
 * The same-host short cut stays within a namespace: a call across the
 * veth takes TCP (no loop_conns anywhere), one to the server's own
 * namespace takes the short cut when it is on.
 */
TEST_F(netns, cross_namespace_takes_tcp)
{
	char peer[FASTRPC_ADDRSTRLEN + 1];
	long long srv_loops;

	ASSERT_EQ(0, both_counters(self, "loop_conns"));
	ASSERT_EQ(0, enter_ns(self->ns_cli));
	ASSERT_LT(0, peer_call("10.77.0.1", peer, sizeof(peer)));
	ASSERT_LT(0, peer_call("fd77::1", peer, sizeof(peer)));
	EXPECT_EQ(0, both_counters(self, "loop_conns"));
	EXPECT_EQ(0, both_counters(self, "loop_calls"));

	ASSERT_EQ(0, enter_ns(self->ns_srv));
	ASSERT_LT(0, peer_call("fd77::1", peer, sizeof(peer)));
	TH_LOG("same-namespace caller seen as %s", peer);
	EXPECT_EQ(0, strncmp(peer, "[fd77::1]:", 10));
	srv_loops = proc_counter("loop_conns");
	EXPECT_EQ(loop_on() ? 1 : 0, srv_loops);
	EXPECT_EQ(srv_loops, both_counters(self, "loop_calls"));
}

TEST_HARNESS_MAIN
