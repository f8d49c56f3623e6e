// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow control and backpressure: a stream the server does not read stalls
 * alone (EAGAIN, POLLOUT off) while other calls on the connection go on;
 * the module's memory stays under its caps when a peer in another
 * namespace does not read; the server admission limit sheds excess calls
 * with RESOURCE_EXHAUSTED; small calls are not stuck behind a 64 MiB
 * stream on the same connection.
 */
#include <signal.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8300
#define M_SINK		41	/* stream: read all, reply OK with the count */
#define CALL_WINDOW	(256u << 10)
#define CONN_WINDOW	(4u << 20)	/* FRPC_CONN_WINDOW */
/* what a queued message counts against SO_SNDBUF beyond its bytes */
#define TX_MSG_COST	256

/* --- a server thread that sinks streams and echoes small calls --- */
struct sink_srv {
	int fd;
	pthread_t thr;
	atomic_int stop;
	atomic_uint errors;
	atomic_ullong sunk;
};

static void *sink_thread(void *p)
{
	struct sink_srv *s = p;
	struct fastrpc_incoming_info ii = { 0 };
	size_t cap = FASTRPC_MAX_MSG;
	uint8_t *buf = malloc(cap);
	ssize_t n, r;

	if (!buf) {
		atomic_fetch_add(&s->errors, 1);
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		if (wait_events(s->fd, POLLIN, 50) <= 0)
			continue;
		n = fastrpc_recv_call_ex(s->fd, &ii, buf, cap, MSG_DONTWAIT);
		if (n == -EAGAIN)
			continue;
		if (n < 0) {
			atomic_fetch_add(&s->errors, 1);
			continue;
		}
		if (ii.flags & FASTRPC_IN_CANCELLED)
			continue;
		r = 0;
		if (ii.method == M_SINK || (ii.flags & FASTRPC_IN_CONT)) {
			atomic_fetch_add(&s->sunk, (unsigned long long)n);
			if (ii.eor)
				r = fastrpc_send_reply(s->fd, ii.handle,
						       FASTRPC_OK, NULL, 0, 0);
		} else {
			r = fastrpc_send_reply(s->fd, ii.handle, FASTRPC_OK,
					       buf, (size_t)n, 0);
		}
		if (r < 0)
			atomic_fetch_add(&s->errors, 1);
	}
	free(buf);
	return NULL;
}

FIXTURE(fl) {
	int sfd;
	uint16_t port;
};

FIXTURE_SETUP(fl)
{
	self->port = test_port(BASE_PORT, _metadata->name);
	self->sfd = open_server(AF_INET, &self->port);
	ASSERT_LE(0, self->sfd) TH_LOG("server: %s", fastrpc_strerror(self->sfd));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 20000));
}

FIXTURE_TEARDOWN(fl)
{
	if (self->sfd >= 0)
		close(self->sfd);
}

static int client(uint16_t port)
{
	int fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);

	if (fd >= 0)
		set_rcvtimeo(fd, 20000);
	return fd;
}

TEST_F_TIMEOUT(fl, per_call_backpressure, 120)
{
	const size_t sz = 64 << 10;
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info sa, sb, ss;
	int rcvbuf = 0;
	socklen_t rl = sizeof(rcvbuf);
	uint8_t *buf = malloc(sz);
	size_t sent = 0, read_stream = 0;
	uint64_t shandle = 0;
	uint32_t status;
	int a, b, i;
	ssize_t n;
	bool got_b = false;

	ASSERT_NE(NULL, buf);
	memset(buf, 7, sz);
	a = client(self->port);
	b = client(self->port);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);

	/* nobody reads the stream: sending stops within a bounded amount */
	ASSERT_EQ((ssize_t)sz, fastrpc_send_call_opts(a, 1, M_SINK, &o, buf,
						      sz, 0));
	sent = sz;
	for (i = 0; i < 1024; i++) {
		n = fastrpc_send_more(a, 1, buf, sz, MSG_DONTWAIT);
		/*
		 * EAGAIN while the kernel still frames what the window
		 * allows is followed by POLLOUT (slow kernels show it);
		 * the stall is EAGAIN with POLLOUT staying off.
		 */
		if (n == -EAGAIN) {
			if (!wait_events(a, POLLOUT, 500))
				break;
			continue;
		}
		ASSERT_EQ((ssize_t)sz, n);
		sent += sz;
	}
	ASSERT_GT(1024, i) TH_LOG("64 MiB accepted without backpressure");
	TH_LOG("stream accepted %zu KiB before EAGAIN", sent >> 10);
	/* window + SO_SNDBUF + one message, with slack: far below 64 MiB */
	EXPECT_GT(8u << 20, sent);
	EXPECT_EQ(0, wait_events(a, POLLOUT, 500));	/* POLLOUT stays off */
	ASSERT_EQ(0, fastrpc_get_sock_info(a, &sa));
	EXPECT_LT(0, sa.tx_queued);
	/*
	 * The server holds at most its SO_RCVBUF (credit stops once unread
	 * messages reach it) plus the call's window still in flight.
	 */
	ASSERT_EQ(0, getsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &rl));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	TH_LOG("server holds %u bytes in %u messages (SO_RCVBUF %d)",
	       ss.rx_bytes, ss.rx_queued, rcvbuf);
	EXPECT_GE((uint32_t)rcvbuf + CALL_WINDOW + sz, ss.rx_bytes);

	/* another call on the same connection still gets through */
	ASSERT_EQ(0, fastrpc_get_sock_info(b, &sb));
	EXPECT_EQ(sa.conn_id, sb.conn_id);
	ASSERT_EQ(5, fastrpc_send_call(b, 2, M_ECHO, "small", 5, 0));
	for (i = 0; i < 200; i++) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		/* both calls handed to the server: the stream and B's */
		if (ss.calls_in_flight >= 2)
			break;
		usleep(50000);
	}
	/* the server reads: a few stream messages, then the small call */
	while (!got_b) {
		n = srv_recv(self->sfd, &ii, buf, sz);
		ASSERT_LE(0, n);
		if (ii.method == M_SINK && !(ii.flags & FASTRPC_IN_CONT))
			shandle = ii.handle;
		if (ii.handle == shandle) {
			read_stream += (size_t)n;
			continue;
		}
		got_b = true;
		ASSERT_EQ(5, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, buf, 5, 0));
	}
	ASSERT_EQ(5, fastrpc_recv_result(b, NULL, &status, buf, sz, 0));
	EXPECT_EQ(FASTRPC_OK, status);
	TH_LOG("read %zu KiB of the stream before the small call",
	       read_stream >> 10);
	EXPECT_GE((size_t)rcvbuf + CALL_WINDOW + sz, read_stream);

	/* reading gave credit back: the stream can send again */
	for (i = 0; i < 200 && wait_events(a, POLLOUT, 0) != 1; i++) {
		n = fastrpc_recv_call_ex(self->sfd, &ii, buf, sz, MSG_DONTWAIT);
		if (n >= 0)
			read_stream += (size_t)n;
		else
			usleep(50000);
	}
	EXPECT_EQ(1, wait_events(a, POLLOUT, 0));
	ASSERT_EQ((ssize_t)sz, fastrpc_send_more(a, 1, buf, sz, MSG_EOR));
	sent += sz;
	while (read_stream < sent) {
		n = srv_recv(self->sfd, &ii, buf, sz);
		ASSERT_LE(0, n);
		read_stream += (size_t)n;
		if (ii.eor)
			break;
	}
	EXPECT_EQ(sent, read_stream);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, shandle, FASTRPC_OK, NULL, 0,
					0));
	ASSERT_EQ(0, fastrpc_recv_result(a, NULL, &status, buf, sz, 0));
	EXPECT_EQ(FASTRPC_OK, status);
	close(a);
	close(b);
	free(buf);
}

/*
 * Queue empty messages on a stream behind one that waits for credit, the
 * server reading nothing, until send fails with EAGAIN.  An empty
 * message is no bytes but is memory: each counts against SO_SNDBUF, so
 * EAGAIN comes after about SO_SNDBUF / TX_MSG_COST of them, where it
 * never came before.  Once the server reads they all go, and once a
 * call is cancelled with them queued they are dropped: either way the
 * socket's tx_queued comes back to zero, costs included.
 */
static int fill_with_empty(struct __test_metadata *_metadata, int fd,
			   uint64_t tag, const uint8_t *buf, size_t sz,
			   int sndbuf, size_t *sent)
{
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct fastrpc_sock_info si;
	int i, k, cap = sndbuf / 16;
	ssize_t n;

	/*
	 * Messages of @sz until one stays unsent: with the server over its
	 * SO_RCVBUF, credit comes back no more once the window is used.
	 */
	n = fastrpc_send_call_opts(fd, tag, M_SINK, &o, buf, sz, 0);
	*sent = 0;
	for (i = 0; i < 16 && n == (ssize_t)sz; i++) {
		*sent += sz;
		for (k = 0; k < 20; k++) {
			if (fastrpc_get_sock_info(fd, &si) ||
			    si.tx_queued < sz)
				break;
			usleep(10000);
		}
		if (k == 20)
			break;		/* 200 ms and still queued: stalled */
		n = fastrpc_send_more(fd, tag, buf, sz, 0);
	}
	if (n != (ssize_t)sz || i == 16) {
		TH_LOG("stream: %zu bytes sent, no stall: %s", *sent,
		       n < 0 ? fastrpc_strerror(n) : "");
		return -1;
	}
	for (i = 0; i < cap; i++) {
		n = fastrpc_send_more(fd, tag, NULL, 0, MSG_DONTWAIT);
		/* EAGAIN while framing lags is followed by POLLOUT */
		if (n == -EAGAIN && wait_events(fd, POLLOUT, 500) == 1)
			continue;
		if (n == -EAGAIN)
			break;
		if (n != 0) {
			TH_LOG("empty message %d: %s", i, fastrpc_strerror(n));
			return -1;
		}
	}
	TH_LOG("%d empty messages queued before EAGAIN (SO_SNDBUF %d)", i,
	       sndbuf);
	if (i == cap)
		TH_LOG("%d empty messages queued without backpressure", i);
	return i == cap ? -1 : i;
}

TEST_F_TIMEOUT(fl, empty_messages_count_against_sndbuf, 120)
{
	const size_t sz = 64 << 10;
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info si;
	socklen_t sl = sizeof(int);
	int fd, sndbuf = 0, rcvbuf = 4096, queued, i, eor = 0;
	size_t got = 0, msgs = 0, total = 0;
	uint64_t handle = 0;
	uint32_t status;
	uint64_t tag;
	uint8_t *buf = malloc(sz);
	ssize_t n;

	ASSERT_NE(NULL, buf);
	memset(buf, 3, sz);
	fd = client(self->port);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl));
	/* credit comes back on arrival only up to the server's SO_RCVBUF */
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));

	/* 1: the server reads them all, the call ends: nothing stays */
	queued = fill_with_empty(_metadata, fd, 1, buf, sz, sndbuf, &total);
	ASSERT_LT(0, queued);
	EXPECT_GE((int64_t)sndbuf, (int64_t)queued * TX_MSG_COST);
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	EXPECT_LE((uint32_t)queued * TX_MSG_COST, si.tx_queued);
	for (i = 0; i < 200 && wait_events(fd, POLLOUT, 0) != 1; i++) {
		ii.aux = NULL;
		ii.aux_len = 0;
		n = fastrpc_recv_call_ex(self->sfd, &ii, buf, sz,
					 MSG_DONTWAIT);
		if (n >= 0) {
			got += (size_t)n;
			msgs++;
			handle = ii.handle;
		} else {
			usleep(20000);
		}
	}
	ASSERT_EQ(1, wait_events(fd, POLLOUT, 0)) TH_LOG("no room after reads");
	ASSERT_EQ(0, fastrpc_send_more(fd, 1, NULL, 0, MSG_EOR));
	while (!eor || got < total) {
		n = srv_recv(self->sfd, &ii, buf, sz);
		ASSERT_LE(0, n) TH_LOG("%zu of %zu bytes, %zu messages, eor %d",
				       got, total, msgs, eor);
		got += (size_t)n;
		msgs++;
		handle = ii.handle;
		if (eor && n)
			TH_LOG("message %zu: %zd bytes after the last", msgs, n);
		eor |= !!ii.eor;
		if (ii.eor)
			TH_LOG("message %zu ends the stream, %zu of %zu bytes",
			       msgs, got, total);
	}
	EXPECT_EQ(total, got);
	TH_LOG("server read %zu messages", msgs);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK, NULL,
					0, 0));
	ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf, sz, 0));
	EXPECT_EQ(FASTRPC_OK, status);
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	EXPECT_EQ(0u, si.tx_queued);

	/* 2: a cancelled call drops them unsent: nothing stays either */
	queued = fill_with_empty(_metadata, fd, 2, buf, sz, sndbuf, &total);
	ASSERT_LT(0, queued);
	ASSERT_EQ(0, fastrpc_cancel(fd, 2));
	ASSERT_EQ(0, fastrpc_recv_result(fd, &tag, &status, buf, sz, 0));
	EXPECT_EQ(2u, tag);
	EXPECT_EQ(FASTRPC_CANCELLED, status);
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	EXPECT_EQ(0u, si.tx_queued);
	close(fd);
	free(buf);
}

/*
 * The server socket is over SO_RCVBUF, so the calls that arrive then have
 * their credit withheld; each is read and answered while the others keep
 * it over.  An answered call must leave the list of calls owed credit:
 * the room the last read makes would otherwise go to freed calls (KASAN
 * reports that in the debug tier).  Every call still gets its answer.
 */
TEST_F_TIMEOUT(fl, reply_while_credit_withheld, 60)
{
	enum { N = 4 };
	const size_t sz = 8 << 10;
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info ss;
	uint8_t *buf = malloc(sz);
	unsigned int seen = 0;
	uint32_t status;
	uint64_t t0, tag;
	int one = 1, c, i;

	ASSERT_NE(NULL, buf);
	memset(buf, 3, sz);
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &one,
				sizeof(one)));
	c = client(self->port);
	ASSERT_LE(0, c);
	for (i = 0; i < N; i++)
		ASSERT_EQ((ssize_t)sz, fastrpc_send_call(c, (uint64_t)i + 1, 1,
							 buf, sz, 0));
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		if (ss.rx_queued == N)
			break;
		ASSERT_GT(10000, now_ms() - t0)
			TH_LOG("%u of %d calls queued", ss.rx_queued, N);
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ((ssize_t)sz, srv_recv(self->sfd, &ii, buf, sz));
		ASSERT_EQ(4, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, "done", 4, 0));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(4, fastrpc_recv_result(c, &tag, &status, buf, sz, 0));
		EXPECT_EQ(FASTRPC_OK, status);
		ASSERT_LE(1, tag);
		ASSERT_GE(N, tag);
		seen |= 1u << (tag - 1);
	}
	EXPECT_EQ((1u << N) - 1, seen);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	EXPECT_EQ(0, ss.calls_in_flight);
	close(c);
	free(buf);
}

/*
 * Credit withheld under SO_RCVBUF must come back when room comes back
 * without a read.  A whole request keeps the server over its buffer, so a
 * long request on a second call gets its first window and no more; then
 * the client cancels the first call, whose unread request is dropped.
 * Nothing is left to read, so no recvmsg() would grant the credit: the
 * module must, or the long request never completes.
 */
TEST_F_TIMEOUT(fl, credit_back_after_unread_drop, 60)
{
	const size_t big = 1 << 20, small = 8 << 10;
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info ss;
	uint8_t *buf = malloc(big);
	uint32_t status;
	uint64_t t0, tag;
	int one = 1, c, i;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	memset(buf, 5, big);
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &one,
				sizeof(one)));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 5000));
	c = client(self->port);
	ASSERT_LE(0, c);
	ASSERT_EQ((ssize_t)small, fastrpc_send_call(c, 1, 1, buf, small, 0));
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		if (ss.rx_queued == 1)
			break;
		ASSERT_GT(10000, now_ms() - t0) TH_LOG("first request not queued");
	}
	/* accepted whole; it goes out as far as the credit lets it */
	ASSERT_EQ((ssize_t)big, fastrpc_send_call(c, 2, 1, buf, big, 0));
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		if (ss.rx_bytes >= small + CALL_WINDOW)
			break;
		ASSERT_GT(10000, now_ms() - t0)
			TH_LOG("server holds %u bytes", ss.rx_bytes);
	}
	usleep(100000);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	EXPECT_GT(small + 2 * CALL_WINDOW, ss.rx_bytes)
		TH_LOG("credit was not withheld: %u bytes held", ss.rx_bytes);
	ASSERT_EQ(0, fastrpc_cancel(c, 1));
	n = srv_recv(self->sfd, &ii, buf, big);
	ASSERT_EQ((ssize_t)big, n)
		TH_LOG("the long request: %s", n < 0 ? strerror((int)-n) : "short");
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					"ok", 2, 0));
	for (i = 0; i < 2; i++) {
		n = fastrpc_recv_result(c, &tag, &status, buf, big, 0);
		ASSERT_LE(0, n) TH_LOG("result: %s", strerror((int)-n));
		if (tag == 1) {
			EXPECT_EQ(FASTRPC_CANCELLED, status);
		} else {
			EXPECT_EQ(2U, tag);
			EXPECT_EQ(FASTRPC_OK, status);
		}
	}
	close(c);
	free(buf);
}

TEST_F_TIMEOUT(fl, admission_limit, 60)
{
	long long rej0 = proc_counter("rejected_calls");
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info ss;
	uint32_t status, max = 0;
	uint64_t tag, t0;
	char buf[8];
	int c, i;

	ASSERT_EQ(0, fastrpc_set_max_calls(self->sfd, 4));
	ASSERT_EQ(0, fastrpc_get_max_calls(self->sfd, &max));
	EXPECT_EQ(4, max);
	c = client(self->port);
	ASSERT_LE(0, c);
	/* one at a time so that arrival order is submission order */
	for (i = 1; i <= 10; i++) {
		ASSERT_EQ(1, fastrpc_send_call(c, (uint64_t)i, M_ECHO, "x", 1,
					       0));
		if (i <= 4) {
			t0 = now_ms();
			do {
				fastrpc_get_sock_info(self->sfd, &ss);
			} while (ss.calls_in_flight < (uint32_t)i &&
				 now_ms() - t0 < 10000);
		}
	}
	/* the excess ends at once, the server's application never sees it */
	t0 = now_ms();
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, fastrpc_recv_result(c, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(FASTRPC_RESOURCE_EXHAUSTED, status);
		EXPECT_LT(4, tag);
	}
	TH_LOG("6 RESOURCE_EXHAUSTED in %llu ms",
	       (unsigned long long)(now_ms() - t0));
	EXPECT_GT(10000, now_ms() - t0);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(c, NULL, NULL, buf, sizeof(buf),
					       MSG_DONTWAIT));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	EXPECT_EQ(4, ss.calls_in_flight);
	EXPECT_EQ(4, ss.rx_queued);
	EXPECT_EQ(rej0 + 6, proc_counter("rejected_calls"));

	/* answering one makes room for one more */
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	ASSERT_EQ(1, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "y",
					1, 0));
	ASSERT_EQ(1, fastrpc_recv_result(c, &tag, &status, buf, sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
	ASSERT_EQ(1, fastrpc_send_call(c, 11, M_ECHO, "z", 1, 0));
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
		ASSERT_EQ(1, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, buf, 1, 0));
	}
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(1, fastrpc_recv_result(c, &tag, &status, buf,
						 sizeof(buf), 0));
		EXPECT_EQ(FASTRPC_OK, status);
	}
	close(c);
}

struct streamer {
	int fd;
	int err;
	atomic_int done;
	uint64_t ns;
};

/* 64 MiB as one streaming call: 16 messages of 4 MiB. */
static void *stream_64m(void *p)
{
	struct streamer *st = p;
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	size_t sz = 4u << 20;
	uint8_t *buf = malloc(sz);
	uint64_t t0 = now_ns();
	uint32_t status = 0;
	ssize_t n;
	int i;

	if (!buf) {
		st->err = ENOMEM;
		atomic_store(&st->done, 1);
		return NULL;
	}
	memset(buf, 0x5a, sz);
	for (i = 0; i < 16; i++) {
		if (i == 0)
			n = fastrpc_send_call_opts(st->fd, 64, M_SINK, &o, buf,
						   sz, 0);
		else
			n = fastrpc_send_more(st->fd, 64, buf, sz,
					      i == 15 ? MSG_EOR : 0);
		if (n != (ssize_t)sz) {
			st->err = n < 0 ? (int)-n : EIO;
			break;
		}
	}
	if (!st->err) {
		n = fastrpc_recv_result(st->fd, NULL, &status, NULL, 0, 0);
		if (n < 0 || status != FASTRPC_OK)
			st->err = n < 0 ? (int)-n : EPROTO;
	}
	st->ns = now_ns() - t0;
	atomic_store(&st->done, 1);
	free(buf);
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

TEST_F_TIMEOUT(fl, no_head_of_line_blocking, 300)
{
	struct sink_srv s = { .fd = self->sfd };
	struct streamer st = { 0 };
	struct fastrpc_sock_info ia, ib;
	uint64_t lat[4096], t, idle[64];
	uint32_t status;
	pthread_t thr, sthr;
	char buf[64];
	int b, i, nl = 0;

	ASSERT_EQ(0, pthread_create(&sthr, NULL, sink_thread, &s));
	st.fd = client(self->port);
	b = client(self->port);
	ASSERT_LE(0, st.fd);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, fastrpc_get_sock_info(st.fd, &ia));
	ASSERT_EQ(0, fastrpc_get_sock_info(b, &ib));
	ASSERT_EQ(ia.conn_id, ib.conn_id);	/* one TCP connection */

	for (i = 0; i < 64; i++) {
		t = now_ns();
		ASSERT_EQ(32, fastrpc_call(b, M_ECHO, buf, 32, buf, sizeof(buf),
					   &status));
		idle[i] = now_ns() - t;
	}
	ASSERT_EQ(0, pthread_create(&thr, NULL, stream_64m, &st));
	usleep(100000);
	while (!atomic_load(&st.done) && nl < 4096) {
		ssize_t r;

		t = now_ns();
		status = 0;
		r = fastrpc_call(b, M_ECHO, buf, 32, buf, sizeof(buf), &status);
		ASSERT_EQ(32, r) TH_LOG("small call %d: %zd status %s", nl, r,
					fastrpc_status_str(status));
		lat[nl] = now_ns() - t;
		ASSERT_EQ(FASTRPC_OK, status);
		/* generous: a small call never waits for the whole stream */
		ASSERT_GT(5000000000ull, lat[nl]) TH_LOG("call %d took %llu ms",
			nl, (unsigned long long)(lat[nl] / 1000000));
		nl++;
	}
	pthread_join(thr, NULL);
	atomic_store(&s.stop, 1);
	pthread_join(sthr, NULL);
	EXPECT_EQ(0, st.err);
	EXPECT_EQ(64ull << 20, atomic_load(&s.sunk));
	EXPECT_EQ(0, atomic_load(&s.errors));
	/* small calls completed while the stream was running */
	EXPECT_LE(5, nl);
	qsort(idle, 64, sizeof(idle[0]), cmp_u64);
	if (nl) {
		qsort(lat, (size_t)nl, sizeof(lat[0]), cmp_u64);
		TH_LOG("64 MiB stream took %llu ms; %d small calls meanwhile: "
		       "p50 %llu us, p99 %llu us, max %llu us; idle p50 %llu us",
		       (unsigned long long)(st.ns / 1000000), nl,
		       (unsigned long long)(lat[nl / 2] / 1000),
		       (unsigned long long)(lat[nl * 99 / 100] / 1000),
		       (unsigned long long)(lat[nl - 1] / 1000),
		       (unsigned long long)(idle[32] / 1000));
	}
	close(st.fd);
	close(b);
}

/*
 * Memory caps across hosts: a client in one namespace sends as fast as it
 * can for a few seconds to a server in another that does not read.  The
 * server host holds at most the connection window (4 MiB) of data, the
 * client host at most its sockets' SO_SNDBUF (plus one message each), and
 * both gauges go back to zero when it is over.
 */
FIXTURE(mem) {
	char ns_s[32];
	char ns_c[32];
	pid_t server;
	bool created;
};

FIXTURE_SETUP(mem)
{
	int sync[2];
	char c;

	self->server = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "frpc_ms%d", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "frpc_mc%d", getpid());
	self->created = true;
	ASSERT_EQ(0, frpc_netns_pair(self->ns_s, self->ns_c, "frpc_ma",
				     "frpc_mb", 78));
	ASSERT_EQ(0, pipe(sync));
	self->server = fork();
	ASSERT_LE(0, self->server);
	if (self->server == 0) {
		uint16_t port = BASE_PORT + 90;
		int fd = -1, ret;

		close(sync[0]);
		ret = frpc_enter_ns(self->ns_s);
		if (!ret) {
			fd = fastrpc_server_open(AF_INET, port, 128,
						 SOCK_CLOEXEC);
			ret = fd < 0 ? fd : 0;
		}
		c = ret ? 'E' : 'R';
		if (write(sync[1], &c, 1) != 1 || ret)
			_exit(1);
		for (;;)	/* never reads */
			pause();
	}
	close(sync[1]);
	c = 0;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	ASSERT_EQ('R', c);
}

FIXTURE_TEARDOWN(mem)
{
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, NULL, 0);
	}
	if (self->created) {
		frpc_sh("ip netns del %s 2>/dev/null", self->ns_s);
		frpc_sh("ip netns del %s 2>/dev/null", self->ns_c);
	}
}

static long long counter_in(const char *ns, const char *home, const char *name)
{
	long long v;

	if (frpc_enter_ns(ns))
		return -1;
	v = proc_counter(name);
	if (frpc_enter_ns(home))
		return -1;
	return v;
}

TEST_F_TIMEOUT(mem, memory_cap_when_peer_does_not_read, 120)
{
	enum { NSOCK = 4 };
	/* many small calls: each opens a fresh call window, so only the
	 * connection window bounds what the server host holds
	 */
	const size_t sz = 64u << 10;
	long long held, queued, max_held = 0, max_queued = 0;
	uint8_t *buf = malloc(sz);
	int fds[NSOCK], sndbuf = 0, i;
	socklen_t sl = sizeof(sndbuf);
	uint64_t t0, tag = 1, calls = 0;

	ASSERT_NE(NULL, buf);
	memset(buf, 1, sz);
	ASSERT_EQ(0, frpc_enter_ns(self->ns_c));
	for (i = 0; i < NSOCK; i++) {
		fds[i] = fastrpc_client_open("10.78.0.1", BASE_PORT + 90,
					     SOCK_CLOEXEC);
		ASSERT_LE(0, fds[i]) TH_LOG("connect: %s",
					    fastrpc_strerror(fds[i]));
	}
	ASSERT_EQ(0, getsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl));

	t0 = now_ms();
	while (now_ms() - t0 < 4000) {
		for (i = 0; i < NSOCK; i++) {
			ssize_t n = fastrpc_send_call(fds[i], tag, M_ECHO, buf,
						      sz, MSG_DONTWAIT);

			if (n == (ssize_t)sz) {
				tag++;
				calls++;
			} else if (n != -EAGAIN) {
				ASSERT_EQ((ssize_t)sz, n);
			}
		}
		queued = proc_counter("tx_queued_bytes");
		held = counter_in(self->ns_s, self->ns_c, "rx_held_bytes");
		if (queued > max_queued)
			max_queued = queued;
		if (held > max_held)
			max_held = held;
		usleep(2000);
	}
	TH_LOG("%llu calls of 64 KiB accepted; server rx_held_bytes max %lld "
	       "(cap %u); client tx_queued_bytes max %lld (SO_SNDBUF %d x %d "
	       "sockets)", (unsigned long long)calls, max_held, CONN_WINDOW,
	       max_queued, sndbuf, NSOCK);
	TH_LOG("server: calls_received %lld rejected_calls %lld proto_errors %lld mem_failures %lld rx_mem %lld",
	       counter_in(self->ns_s, self->ns_c, "calls_received"),
	       counter_in(self->ns_s, self->ns_c, "rejected_calls"),
	       counter_in(self->ns_s, self->ns_c, "proto_errors"),
	       counter_in(self->ns_s, self->ns_c, "mem_failures"),
	       counter_in(self->ns_s, self->ns_c, "rx_mem"));
	EXPECT_LT(1 << 20, max_held);		/* the test did load it */
	EXPECT_GE((long long)CONN_WINDOW + (1 << 20), max_held);
	EXPECT_GE((long long)NSOCK * ((long long)sndbuf + (long long)sz +
				     TX_MSG_COST), max_queued);
	EXPECT_LE(0, max_queued);

	/* all over: both gauges drain to zero */
	for (i = 0; i < NSOCK; i++)
		close(fds[i]);
	kill(self->server, SIGKILL);
	waitpid(self->server, NULL, 0);
	self->server = -1;
	t0 = now_ms();
	do {
		queued = proc_counter("tx_queued_bytes");
		held = counter_in(self->ns_s, self->ns_c, "rx_held_bytes");
		if (!queued && !held)
			break;
		usleep(100000);
	} while (now_ms() - t0 < 20000);
	EXPECT_EQ(0, queued);
	EXPECT_EQ(0, held);
	free(buf);
}

TEST_HARNESS_MAIN
