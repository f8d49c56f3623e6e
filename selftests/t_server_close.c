// SPDX-License-Identifier: GPL-2.0-only
/*
 * A server closing with calls unanswered: every caller gets
 * FASTRPC_UNAVAILABLE promptly, and the port serves again afterwards.
 * /proc/net/fastrpc lists server sockets and their connections until then.
 * A server shut down with shutdown(SHUT_RD) drains: what its calls still
 * send is read, then recvmsg() returns 0 (end of file) and poll() says
 * so, waking a thread blocked in recvmsg().  A cancellation notice a
 * reader still owes (its call cancelled while it copied the request out)
 * comes before that end, never after it.
 */
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

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

/* ---- shutdown(SHUT_RD): drain, then end of file ------------------------ */

#define EOF_WAIT_MS	10000	/* a hang, not a slow close: see eof_join() */
#define EOF_BITS	(POLLIN | POLLRDNORM | POLLRDHUP)

/* A thread blocked in recvmsg() on a server socket. */
struct eof_reader {
	int fd;
	ssize_t n;
	bool cfound;
	struct fastrpc_incoming in;
	int mflags;
	pthread_t thr;
};

static void *eof_reader_fn(void *p)
{
	struct eof_reader *r = p;
	char buf[16];

	r->n = raw_recvmsg(r->fd, FASTRPC_CMSG_INCOMING, &r->in, sizeof(r->in),
			   &r->cfound, buf, sizeof(buf), 0, &r->mflags, NULL);
	return NULL;
}

static int eof_start(struct eof_reader *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->n = -EINPROGRESS;
	/* a reader that never wakes still ends, at SO_RCVTIMEO */
	if (set_rcvtimeo(fd, 2 * EOF_WAIT_MS))
		return -errno;
	return pthread_create(&r->thr, NULL, eof_reader_fn, r) ? -EAGAIN : 0;
}

/*
 * Join the reader; false if it was still blocked after EOF_WAIT_MS (a
 * drained connection closes as soon as its last call is over: far less).
 */
static bool eof_join(struct eof_reader *r)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += EOF_WAIT_MS / 1000;
	err = pthread_timedjoin_np(r->thr, NULL, &ts);
	if (err)
		pthread_join(r->thr, NULL);
	return !err;
}

/* What poll() reports for @fd now, of @events. */
static short revents_now(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

/* The end of file, read again without waiting, as poll() and the library. */
static void expect_eof(struct __test_metadata *_metadata, int sfd)
{
	struct fastrpc_call_info info;
	struct fastrpc_incoming in;
	bool cfound = true;
	int mflags = 0;
	char buf[8];

	EXPECT_EQ(0, raw_recvmsg(sfd, FASTRPC_CMSG_INCOMING, &in, sizeof(in),
				 &cfound, buf, sizeof(buf), MSG_DONTWAIT,
				 &mflags, NULL));
	EXPECT_FALSE(cfound);
	EXPECT_EQ(0, mflags & MSG_EOR);
	EXPECT_EQ(EOF_BITS, revents_now(sfd, EOF_BITS));
	EXPECT_EQ(-ESHUTDOWN, fastrpc_recv_call(sfd, &info, buf, sizeof(buf),
						MSG_DONTWAIT));
	/* blocking, too: at once */
	EXPECT_EQ(-ESHUTDOWN, fastrpc_recv_call(sfd, &info, buf, sizeof(buf),
						0));
}

/* Before shutdown(), and while connections drain: no end of file. */
static void expect_no_eof(struct __test_metadata *_metadata, int sfd)
{
	struct fastrpc_incoming in;
	bool cfound;
	int mflags;
	char buf[8];

	EXPECT_EQ(-EAGAIN, raw_recvmsg(sfd, FASTRPC_CMSG_INCOMING, &in,
				       sizeof(in), &cfound, buf, sizeof(buf),
				       MSG_DONTWAIT, &mflags, NULL));
	EXPECT_EQ(0, revents_now(sfd, EOF_BITS));
}

/* No connection: recvmsg() blocked before shutdown() returns 0 at once. */
TEST(shutdown_wakes_recv_no_conns)
{
	uint16_t port = BASE_PORT + 200;
	struct eof_reader r;
	int sfd;

	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd) TH_LOG("server: %s", fastrpc_strerror(sfd));
	expect_no_eof(_metadata, sfd);
	ASSERT_EQ(0, eof_start(&r, sfd));
	usleep(200000);		/* most likely asleep by now; either way works */
	ASSERT_EQ(0, shutdown(sfd, SHUT_RD));
	EXPECT_TRUE(eof_join(&r)) TH_LOG("recvmsg() still blocked");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	EXPECT_FALSE(r.cfound);
	expect_eof(_metadata, sfd);
	/* a second shutdown() changes nothing */
	EXPECT_EQ(0, shutdown(sfd, SHUT_RDWR));
	expect_eof(_metadata, sfd);
	close(sfd);
}

/*
 * A connection with no call: it gets GOAWAY and closes, and the reader
 * blocked since before the shutdown() wakes with 0 then.
 */
TEST_F(sclose, shutdown_idle_conn_eof)
{
	uint32_t status;
	struct eof_reader r;
	char buf[8];

	/* the connection is there, and serves */
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 5000));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "p", 1, 0));
	{
		struct fastrpc_call_info info;

		ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf,
					       sizeof(buf), 0));
		ASSERT_EQ(1, fastrpc_send_reply(self->sfd, info.handle,
						FASTRPC_OK, "q", 1, 0));
	}
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, NULL, &status, buf,
					 sizeof(buf), 0));
	expect_no_eof(_metadata, self->sfd);

	ASSERT_EQ(0, eof_start(&r, self->sfd));
	usleep(200000);
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RDWR));
	EXPECT_TRUE(eof_join(&r)) TH_LOG("recvmsg() still blocked");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	EXPECT_FALSE(r.cfound);
	expect_eof(_metadata, self->sfd);
}

/*
 * A streaming call admitted before shutdown(): its later messages are
 * still read, its reply reaches the client, and only once its connection
 * has closed does recvmsg() return 0.
 */
TEST_F(sclose, shutdown_drains_call_then_eof)
{
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct fastrpc_incoming_info ii;
	struct eof_reader r;
	uint32_t status = 0;
	uint64_t tag = 0, handle;
	char buf[8];

	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 5000));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	ASSERT_EQ(1, fastrpc_send_call_opts(self->cfd, 7, M_ECHO, &o, "a", 1,
					    0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ('a', buf[0]);
	handle = ii.handle;

	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));
	usleep(100000);
	/* the call holds its connection open: no end of file yet */
	expect_no_eof(_metadata, self->sfd);

	/* what the call still sends arrives */
	ASSERT_EQ(1, fastrpc_send_more(self->cfd, 7, "b", 1, MSG_EOR));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ('b', buf[0]);
	EXPECT_EQ(handle, ii.handle);
	EXPECT_TRUE(ii.flags & FASTRPC_IN_CONT);
	expect_no_eof(_metadata, self->sfd);

	/* a reader waits meanwhile; the reply ends the call */
	ASSERT_EQ(0, eof_start(&r, self->sfd));
	ASSERT_EQ(1, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK, "A", 1,
					0));
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(7, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ('A', buf[0]);

	/* the connection closes after its last call: end of file */
	EXPECT_TRUE(eof_join(&r)) TH_LOG("recvmsg() still blocked");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	EXPECT_FALSE(r.cfound);
	expect_eof(_metadata, self->sfd);
}

/* Messages queued before shutdown() are read first, then the end of file. */
TEST_F(sclose, shutdown_queued_first)
{
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info si = { 0 };
	uint64_t deadline;
	char buf[8];
	ssize_t n;
	int i;

	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, fastrpc_send_call(self->cfd, (uint64_t)i + 1,
					       M_ECHO, "q", 1, 0));
	deadline = now_ms() + EOF_WAIT_MS;
	do {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
		if (si.rx_queued == 3)
			break;
		usleep(10000);
	} while (now_ms() < deadline);
	ASSERT_EQ(3, si.rx_queued);
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));
	for (i = 0; i < 3; i++) {
		n = srv_recv(self->sfd, &ii, buf, sizeof(buf));
		ASSERT_EQ(1, n) TH_LOG("call %d: %s", i,
				       fastrpc_strerror((int)n));
		ASSERT_EQ(1, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, "r", 1, 0));
	}
	/* with MSG_DONTWAIT: EAGAIN until the connection is gone, then 0 */
	deadline = now_ms() + EOF_WAIT_MS;
	do {
		n = fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf),
					 MSG_DONTWAIT);
		if (n != -EAGAIN)
			break;
		usleep(20000);
	} while (now_ms() < deadline);
	EXPECT_EQ(-ESHUTDOWN, n) TH_LOG("%s", fastrpc_strerror((int)n));
	expect_eof(_metadata, self->sfd);
}

/* ---- a cancellation notice owed by a reader: before the end ---------- */

/*
 * A recvmsg() held while it copies a request out: its data buffer is a
 * page that userfaultfd leaves missing until held_release(), so the copy
 * waits in the page fault, after the request was taken off the queue and
 * its handle written to the control buffer.
 */
struct held_reader {
	int fd;
	int uffd;
	char *page;
	size_t psize;
	union {
		char b[CMSG_SPACE(sizeof(struct fastrpc_incoming))];
		struct cmsghdr align;
	} ctrl;
	ssize_t n;
	int mflags;
	pthread_t thr;
	bool started;
};

static void *held_reader_fn(void *p)
{
	struct held_reader *h = p;
	struct iovec iov = { .iov_base = h->page, .iov_len = 16 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = h->ctrl.b,
		.msg_controllen = sizeof(h->ctrl.b),
	};

	h->n = recvmsg(h->fd, &msg, 0);
	if (h->n < 0)
		h->n = -errno;
	h->mflags = msg.msg_flags;
	return NULL;
}

/*
 * Start a reader of @fd's next message and wait until it is held in the
 * copy.  0, 1 if no userfaultfd for kernel faults is to be had here (no
 * syscall, or not allowed), or -errno.
 */
static int held_start(struct held_reader *h, int fd)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffd_msg um;
	struct pollfd p;

	memset(h, 0, sizeof(*h));
	h->fd = fd;
	h->psize = (size_t)sysconf(_SC_PAGESIZE);
	h->uffd = (int)syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (h->uffd < 0 || ioctl(h->uffd, UFFDIO_API, &api))
		return 1;
	h->page = mmap(NULL, h->psize, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->page == MAP_FAILED) {
		h->page = NULL;
		return -errno;
	}
	reg.range.start = (unsigned long)h->page;
	reg.range.len = h->psize;
	if (ioctl(h->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	if (pthread_create(&h->thr, NULL, held_reader_fn, h))
		return -EAGAIN;
	h->started = true;
	p.fd = h->uffd;
	p.events = POLLIN;
	if (poll(&p, 1, EOF_WAIT_MS) != 1)
		return -ETIMEDOUT;
	if (read(h->uffd, &um, sizeof(um)) != sizeof(um))
		return -errno;
	if (um.event != UFFD_EVENT_PAGEFAULT ||
	    um.arg.pagefault.address < (unsigned long)h->page ||
	    um.arg.pagefault.address >= (unsigned long)h->page + h->psize)
		return -EIO;
	return 0;
}

/* The handle the held reader has put in its control buffer already. */
static uint64_t held_handle(struct held_reader *h)
{
	struct cmsghdr *cm = &h->ctrl.align;
	struct fastrpc_incoming in;

	if (cm->cmsg_level != SOL_FASTRPC ||
	    cm->cmsg_type != FASTRPC_CMSG_INCOMING)
		return 0;
	memcpy(&in, CMSG_DATA(cm), sizeof(in));
	return in.handle;
}

/* Let the copy go on, and join the reader: what its recvmsg() returned. */
static ssize_t held_release(struct held_reader *h)
{
	struct uffdio_copy cp = { .len = 0 };
	static char zero[65536];

	if (h->started) {
		cp.dst = (unsigned long)h->page;
		cp.src = (unsigned long)zero;
		cp.len = h->psize <= sizeof(zero) ? h->psize : sizeof(zero);
		if (ioctl(h->uffd, UFFDIO_COPY, &cp)) {
			struct uffdio_range rg = {
				.start = cp.dst,
				.len = h->psize,
			};

			/* unregistered, the page is simply faulted in */
			ioctl(h->uffd, UFFDIO_UNREGISTER, &rg);
		}
		pthread_join(h->thr, NULL);
		h->started = false;
	}
	if (h->page)
		munmap(h->page, h->psize);
	if (h->uffd >= 0)
		close(h->uffd);
	h->page = NULL;
	h->uffd = -1;
	return h->n;
}

/*
 * Start a held reader of the request of call @tag, sent now, and cancel
 * the call; shut the server down: its connection closes at once, the
 * cancel having ended its last call.  The reader owes the notice, which
 * holds the end of file back.  False if userfaultfd is not there.
 */
static bool owed_setup(struct __test_metadata *_metadata,
		       FIXTURE_DATA(sclose) *self, struct held_reader *h,
		       uint64_t tag)
{
	uint32_t status = 0;
	uint64_t got = 0;
	char buf[8];
	int err;

	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 5000));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, tag, M_ECHO, "o", 1, 0));
	ASSERT_EQ(1, wait_events(self->sfd, POLLIN, EOF_WAIT_MS));
	err = held_start(h, self->sfd);
	if (err > 0) {
		TH_LOG("userfaultfd: %s", strerror(errno));
		held_release(h);
		return false;
	}
	ASSERT_EQ(0, err) TH_LOG("held reader: %s", strerror(-err));
	EXPECT_NE(0, held_handle(h));

	/* cancelled while the request is being copied out: owed */
	ASSERT_EQ(0, fastrpc_cancel(self->cfd, tag));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, &got, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(tag, got);
	EXPECT_EQ(FASTRPC_CANCELLED, status);
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));
	/* it leaves the list once the cancel ended its call... */
	EXPECT_EQ(0, proc_wait("server_conns", 0, EOF_WAIT_MS));
	/*
	 * ...and its teardown is over soon after, its last flush included
	 * (at most FRPC_LAST_FLUSH_MS, 1 s): still no end of file
	 */
	EXPECT_EQ(0, wait_events(self->sfd, POLLRDHUP, 2500))
		TH_LOG("end of file with a cancellation notice owed");
	expect_no_eof(_metadata, self->sfd);
	return true;
}

/*
 * The reader done, the notice it owed is queued: a reader blocked
 * meanwhile gets it, not the end of file, which comes only after it.
 */
TEST_F(sclose, shutdown_owed_notice_before_eof)
{
	struct held_reader h;
	struct eof_reader r;
	uint64_t handle;
	ssize_t n;

	if (!owed_setup(_metadata, self, &h, 11))
		SKIP(return, "no userfaultfd for kernel faults");
	handle = held_handle(&h);
	ASSERT_EQ(0, eof_start(&r, self->sfd));
	usleep(100000);		/* most likely asleep by now; either way works */
	n = held_release(&h);
	EXPECT_EQ(1, n) TH_LOG("held recvmsg: %s", strerror((int)-n));
	EXPECT_TRUE(h.mflags & MSG_EOR);

	EXPECT_TRUE(eof_join(&r)) TH_LOG("recvmsg() still blocked");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	EXPECT_TRUE(r.cfound) TH_LOG("the end of file before the notice");
	EXPECT_EQ(handle, r.in.handle);
	EXPECT_TRUE(r.in.flags & FASTRPC_IN_CANCELLED);
	EXPECT_TRUE(r.mflags & MSG_EOR);
	/* the handle is still held: a reply frees it */
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK,
						 "r", 1, 0));
	expect_eof(_metadata, self->sfd);
}

/*
 * A reply to the call while its request is still being copied out
 * settles the debt: the end of file comes then, and wakes a reader
 * blocked for it.  The held reader still gets the request it took before.
 */
TEST_F(sclose, shutdown_owed_reply_eof)
{
	struct held_reader h;
	struct eof_reader r;
	uint64_t handle;
	ssize_t n;

	if (!owed_setup(_metadata, self, &h, 12))
		SKIP(return, "no userfaultfd for kernel faults");
	handle = held_handle(&h);
	ASSERT_EQ(0, eof_start(&r, self->sfd));
	usleep(100000);
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK,
						 "r", 1, 0));
	EXPECT_TRUE(eof_join(&r)) TH_LOG("recvmsg() still blocked");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	EXPECT_FALSE(r.cfound);
	expect_eof(_metadata, self->sfd);

	n = held_release(&h);
	EXPECT_EQ(1, n) TH_LOG("held recvmsg: %s", strerror((int)-n));
	/* no notice: the call is gone */
	expect_eof(_metadata, self->sfd);
}

/*
 * Keepalive ticks 15 s apart (keepalive_ms 60 s): a drained connection
 * still closes as soon as its last call is over, not at the next tick,
 * so the end of file comes well within EOF_WAIT_MS.
 */
FIXTURE(slowtick) {
	int sfd;
	int cfd;
	uint16_t port;
	long ka;
};

FIXTURE_SETUP(slowtick)
{
	int ret;

	self->sfd = self->cfd = -1;
	self->ka = frpc_param_long("keepalive_ms");
	ASSERT_LT(0, self->ka) TH_LOG("keepalive_ms: %ld", self->ka);
	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 60000));
	ret = pair_open(BASE_PORT + 300, _metadata->name, 0, &self->sfd,
			&self->cfd, &self->port);
	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(slowtick)
{
	if (self->sfd >= 0)
		pair_close(self->sfd, self->cfd);
	EXPECT_EQ(0, frpc_set_param("keepalive_ms", (unsigned int)self->ka));
}

TEST_F(slowtick, shutdown_eof_without_tick)
{
	struct fastrpc_features f = { 0 };
	struct fastrpc_call_info info;
	struct eof_reader r;
	uint32_t status = 0;
	char buf[8];

	ASSERT_EQ(0, fastrpc_get_features(self->sfd, &f));
	EXPECT_TRUE(f.features & FASTRPC_FEAT_SHUTDOWN_EOF);
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 5000));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 9, M_ECHO, "c", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf), 0));
	/* admitted before shutdown(): answered after it */
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));
	ASSERT_EQ(0, eof_start(&r, self->sfd));
	ASSERT_EQ(1, fastrpc_send_reply(self->sfd, info.handle, FASTRPC_OK,
					"C", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, NULL, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_TRUE(eof_join(&r))
		TH_LOG("no end of file before the next keepalive tick");
	EXPECT_EQ(0, r.n) TH_LOG("recvmsg: %s", strerror((int)-r.n));
	expect_eof(_metadata, self->sfd);
}

TEST_HARNESS_MAIN
