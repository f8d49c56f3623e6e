// SPDX-License-Identifier: GPL-2.0-only
/*
 * The example programs, run as their users run them, so that make check
 * notices when one breaks (make demo only shows them):
 * fastrpc-ring-echo-server, one epoll loop serving every client through
 * the rings of one socket, gets several clients with calls of many sizes
 * in flight (empty ones, which lend no receive buffer, and ones spanning
 * many buffers), each reply checked against its request, then SIGTERM,
 * on which it must exit 0 and report every call answered; once with
 * clients that read while they send, once with clients that send all
 * their calls first.  The same
 * server then answers the worked client of Documentation/rings.rst
 * (doc-rings-client, compiled from the document by selftests/Makefile),
 * whose output must name every call once.
 *
 * The programs are looked up beside this one (build/ on the host,
 * /fastrpc/ in the guest): bin/fastrpc-ring-echo-server and
 * tests/doc-rings-client.
 */
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	9700
#define DOC_PORT	7070	/* the document's client calls this one */
#define DOC_CALLS	10000	/* and makes this many calls */
#define NCLI		4
#define CALLS		16	/* per client, all in flight at once */
#define M_OTHER		2	/* a method the server does not implement */
#define WAIT_MS		60000	/* a lost reply fails instead of hanging */

/* Request sizes: empty, within one 16 KiB receive buffer, across several. */
#define MAX_SIZE	(1024 * 1024)
static const size_t sizes[] = { 0, 1, 100, 3000, 16384, 16385, 200000,
				MAX_SIZE };
#define NSIZES		ARRAY_SIZE(sizes)

/* @rel beside this program's directory: "../bin/x" or "x". */
static int prog_path(char *out, size_t len, const char *rel)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n < 0)
		return -errno;
	exe[n] = '\0';
	if ((size_t)snprintf(out, len, "%s/%s", dirname(exe), rel) >= len)
		return -ENAMETOOLONG;
	return access(out, X_OK) ? -errno : 0;
}

/*
 * Start @path, with "--port @port" unless NULL, its stdout on a pipe,
 * killed if the test dies.  Returns the pid, or -errno; *@out reads its
 * stdout.
 */
static pid_t spawn(const char *path, const char *port, FILE **out)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (!pid) {
		/* a failed ASSERT must not leave a server holding the module */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || dup2(p[1], 1) < 0)
			_exit(126);
		if (port)
			execl(path, path, "--port", port, (char *)NULL);
		else
			execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*out = fdopen(p[0], "r");
	if (!*out) {
		close(p[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -ENOMEM;
	}
	return pid;
}

struct server {
	pid_t pid;
	FILE *out;
	uint16_t port;
};

/*
 * The server on @port, or with @search the first port from there that it
 * could listen on (an earlier run may leave one in TIME_WAIT).  It is
 * ready once it prints its "listening" line; a server that cannot listen
 * exits without one.
 */
static int server_start(struct server *s, uint16_t port, bool search)
{
	char path[PATH_MAX], arg[8], line[256];
	int i, ret;

	ret = prog_path(path, sizeof(path), "../bin/fastrpc-ring-echo-server");
	if (ret)
		return ret;
	for (i = 0; i < (search ? 16 : 1); i++) {
		snprintf(arg, sizeof(arg), "%u", port + i);
		s->pid = spawn(path, arg, &s->out);
		if (s->pid < 0)
			return s->pid;
		if (fgets(line, sizeof(line), s->out) &&
		    strstr(line, "listening")) {
			s->port = (uint16_t)(port + i);
			return 0;
		}
		fclose(s->out);
		s->out = NULL;
		waitpid(s->pid, NULL, 0);
		s->pid = -1;
	}
	return -EADDRINUSE;
}

/*
 * SIGTERM, then the exit status and the count of calls answered that
 * the server prints last (-1 if it printed none).
 */
static int server_stop(struct server *s, long *answered)
{
	char line[256];
	int st = -1;

	*answered = -1;
	kill(s->pid, SIGTERM);
	while (fgets(line, sizeof(line), s->out))
		sscanf(line, "fastrpc-ring-echo-server: %ld calls answered",
		       answered);
	fclose(s->out);
	s->out = NULL;
	waitpid(s->pid, &st, 0);
	s->pid = -1;
	return st;
}

FIXTURE(examples) {
	struct server srv;
};

FIXTURE_SETUP(examples)
{
	self->srv.pid = -1;
	self->srv.out = NULL;
}

FIXTURE_TEARDOWN(examples)
{
	if (self->srv.pid > 0) {
		kill(self->srv.pid, SIGKILL);
		waitpid(self->srv.pid, NULL, 0);
	}
	if (self->srv.out)
		fclose(self->srv.out);
}

/* The bytes of client @c's call @tag: unlike any other call's. */
static void fill(uint8_t *p, size_t len, int c, uint64_t tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(c * 131 + tag * 31 + i * 7 + (i >> 8));
}

struct client {
	int idx;
	uint16_t port;
	bool send_first;	/* every call sent before any result is read */
	char err[160];	/* the first thing wrong; empty if none */
};

/* Keep the first thing a client found wrong. */
static __printf(2, 3) void bad(struct client *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

/*
 * A client's calls, all of them in flight at once, sent from a thread of
 * their own: the client reads its results meanwhile, as a pipelining
 * client must.  One thread that sent every call before reading could
 * wait in send() for credit that only its reading would bring (the
 * kernel withholds credit while SO_RCVBUF's worth of replies waits
 * unread, and the server's later replies queue behind them).
 */
struct sender {
	struct client *c;
	int fd;
	char err[160];
};

static void *client_send(void *arg)
{
	struct sender *sd = arg;
	uint8_t *req = malloc(MAX_SIZE);
	uint64_t tag;
	ssize_t n;

	if (!req) {
		snprintf(sd->err, sizeof(sd->err), "out of memory");
		return NULL;
	}
	for (tag = 0; tag < CALLS; tag++) {
		size_t len = sizes[(sd->c->idx + tag) % NSIZES];

		fill(req, len, sd->c->idx, tag);
		n = fastrpc_send_call(sd->fd, tag, 1, req, len, 0);
		if (n != (ssize_t)len) {
			snprintf(sd->err, sizeof(sd->err), "call %d: %s",
				 (int)tag, fastrpc_strerror((int)n));
			break;
		}
	}
	free(req);
	return NULL;
}

static void *client_run(void *arg)
{
	struct client *c = arg;
	uint8_t *req = malloc(MAX_SIZE), *resp = malloc(MAX_SIZE + 1);
	struct sender sd = { .c = c };
	bool seen[CALLS] = { false }, sending = false;
	uint32_t status = 0;
	pthread_t thr;
	uint64_t tag;
	int fd = -1, i;
	ssize_t n;

	if (!req || !resp) {
		bad(c, "out of memory");
		goto out;
	}
	fd = fastrpc_client_open("127.0.0.1", c->port, SOCK_CLOEXEC);
	if (fd < 0 || set_rcvtimeo(fd, WAIT_MS)) {
		bad(c, "connect: %s", fastrpc_strerror(fd < 0 ? fd : -errno));
		goto out;
	}
	sd.fd = fd;
	if (c->send_first) {
		/*
		 * With room for every request and every reply, nothing
		 * waits for this client's reading: the kernel's credit
		 * alone must get all of it through.
		 */
		int room = 2 * CALLS * MAX_SIZE;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &room,
			       sizeof(room)) ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &room,
			       sizeof(room))) {
			bad(c, "SO_RCVBUFFORCE/SO_SNDBUFFORCE: %s",
			    strerror(errno));
			goto out;
		}
		client_send(&sd);
		if (sd.err[0]) {
			bad(c, "%s", sd.err);
			goto out;
		}
	} else {
		if (pthread_create(&thr, NULL, client_send, &sd)) {
			bad(c, "sender thread");
			goto out;
		}
		sending = true;
	}
	for (i = 0; i < CALLS; i++) {
		size_t len;

		n = fastrpc_recv_result(fd, &tag, &status, resp, MAX_SIZE + 1,
					0);
		if (n < 0) {
			bad(c, "result %d: %s", i, fastrpc_strerror((int)n));
			goto out;
		}
		if (tag >= CALLS || seen[tag]) {
			bad(c, "result %d: unexpected tag %llu", i,
			    (unsigned long long)tag);
			goto out;
		}
		seen[tag] = true;
		len = sizes[(c->idx + tag) % NSIZES];
		fill(req, len, c->idx, tag);
		if (status != FASTRPC_OK || (size_t)n != len ||
		    memcmp(req, resp, len)) {
			bad(c, "call %d: status %u, %zd bytes of %zu, %s",
			    (int)tag, status, n, len,
			    (size_t)n == len ? "bytes differ" : "length differs");
			goto out;
		}
	}
	if (sending)
		pthread_join(thr, NULL);
	sending = false;
	if (sd.err[0]) {
		bad(c, "%s", sd.err);
		goto out;
	}
	/* any method but echo is refused */
	n = fastrpc_call(fd, M_OTHER, "x", 1, resp, MAX_SIZE, &status);
	if (n != 0 || status != FASTRPC_UNIMPLEMENTED)
		bad(c, "method %d: %zd, status %s", M_OTHER, n,
		    fastrpc_status_str(status));
out:
	if (sending) {
		/* a failed read: the sender may wait for credit; end it */
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		pthread_join(thr, NULL);
		if (sd.err[0])
			bad(c, "%s", sd.err);
	}
	if (fd >= 0)
		close(fd);
	free(req);
	free(resp);
	return NULL;
}

/* NCLI clients of the ring server at once; each answer checked. */
static void serve_clients(struct __test_metadata *_metadata,
			  struct server *srv, bool send_first)
{
	struct client cli[NCLI];
	pthread_t thr[NCLI];
	long answered;
	int i, ret, st;

	ret = server_start(srv, test_port(BASE_PORT, _metadata->name), true);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	for (i = 0; i < NCLI; i++) {
		cli[i] = (struct client){ .idx = i, .port = srv->port,
					  .send_first = send_first };
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, client_run, &cli[i]));
	}
	for (i = 0; i < NCLI; i++) {
		pthread_join(thr[i], NULL);
		EXPECT_STREQ("", cli[i].err) TH_LOG("client %d", i);
	}
	st = server_stop(srv, &answered);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("server status %#x", st);
	EXPECT_EQ(0, WEXITSTATUS(st));
	/* the echoes and the refused calls, each answered once */
	EXPECT_EQ(NCLI * (CALLS + 1), answered);
}

TEST_F_TIMEOUT(examples, ring_echo_server, 180)
{
	serve_clients(_metadata, &self->srv, false);
}

/*
 * The same, each client sending all its calls before it reads a result,
 * with buffers for all of them.  The four clients share one connection,
 * whose 4 MiB window carries their 10 MiB of requests; the server's
 * socket is over SO_RCVBUF while requests wait for ring buffers.  Before
 * the connection window withheld from messages in progress came back
 * with their call's credit (kmod/flow.c), it stalled here now and then
 * with about six calls unanswered.
 */
TEST_F_TIMEOUT(examples, ring_echo_server_sent_first, 180)
{
	serve_clients(_metadata, &self->srv, true);
}

TEST_F_TIMEOUT(examples, rings_rst_client, 180)
{
	char path[PATH_MAX], line[256];
	static bool seen[DOC_CALLS];
	unsigned long long tag;
	unsigned int i, lines = 0, bad = 0;
	long answered;
	FILE *out;
	pid_t pid;
	int ret, st;

	ret = prog_path(path, sizeof(path), "doc-rings-client");
	ASSERT_EQ(0, ret) TH_LOG("doc-rings-client: %s", strerror(-ret));
	ret = server_start(&self->srv, DOC_PORT, false);
	ASSERT_EQ(0, ret) TH_LOG("server on %d: %s", DOC_PORT,
				 fastrpc_strerror(ret));
	pid = spawn(path, NULL, &out);
	ASSERT_LT(0, pid) TH_LOG("doc-rings-client: %s", strerror(-pid));
	/* "tag T: request I" per reply; the example's T is (I + 1) << 8 | slot */
	while (fgets(line, sizeof(line), out)) {
		lines++;
		if (sscanf(line, "tag %llu: request %u", &tag, &i) != 2 ||
		    i >= DOC_CALLS || (tag >> 8) != i + 1ull || seen[i]) {
			if (!bad++)
				TH_LOG("unexpected line %u: %s", lines, line);
			continue;
		}
		seen[i] = true;
	}
	fclose(out);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("doc-rings-client status %#x", st);
	EXPECT_EQ(DOC_CALLS, lines);
	EXPECT_EQ(0, bad);
	st = server_stop(&self->srv, &answered);
	ASSERT_TRUE(WIFEXITED(st)) TH_LOG("server status %#x", st);
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(DOC_CALLS, answered);
}

TEST_HARNESS_MAIN
