// SPDX-License-Identifier: GPL-2.0-only
/*
 * libfastrpc's ring API (fastrpc_ring_*) against the module: one thread
 * drives a client socket's rings and a server socket's rings, so every
 * step is in the test's hands.  Echoes of every size up to a buffer, many
 * rounds over the same receive buffers (which stall if one is not given
 * back), replies straight from the lent buffers, mapping a ring again,
 * refused entries, cancellation, messages left to recvmsg(), the wait,
 * and a payload lent to the kernel.
 */
#include <sys/mman.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8800
#define BUF		4096
#define RX_BUFS		32
#define TX_BUFS		24
#define WAIT_MS		10000

static const struct fastrpc_ring_setup srv_sizes = {
	.sq_entries = 64, .cq_entries = 64, .buf_size = BUF,
	.buf_count = RX_BUFS, .rx_bufs = RX_BUFS,
};

static const struct fastrpc_ring_setup cli_sizes = {
	.sq_entries = 64, .cq_entries = 64, .buf_size = BUF,
	.buf_count = RX_BUFS + TX_BUFS, .rx_bufs = RX_BUFS,
};

FIXTURE(ring) {
	int sfd, cfd;
	uint16_t port;
	struct fastrpc_ring srv, cli;
	unsigned int served;
};

FIXTURE_SETUP(ring)
{
	struct fastrpc_features f;
	int ret;

	memset(&self->srv, 0, sizeof(self->srv));
	memset(&self->cli, 0, sizeof(self->cli));
	self->served = 0;
	ret = pair_open(BASE_PORT, _metadata->name, 0, &self->sfd, &self->cfd,
			&self->port);
	ASSERT_EQ(0, ret) TH_LOG("pair: %s", fastrpc_strerror(ret));
	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	if (!(f.features & FASTRPC_FEAT_RING))
		SKIP(return, "module without FASTRPC_FEAT_RING");
	ret = fastrpc_ring_setup(self->sfd, &srv_sizes, &self->srv);
	ASSERT_EQ(0, ret) TH_LOG("server ring: %s", fastrpc_strerror(ret));
	ret = fastrpc_ring_setup(self->cfd, &cli_sizes, &self->cli);
	ASSERT_EQ(0, ret) TH_LOG("client ring: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(ring)
{
	fastrpc_ring_unmap(&self->cli);
	fastrpc_ring_unmap(&self->srv);
	pair_close(self->sfd, self->cfd);
}

/*
 * Answer every M_ECHO request the server ring holds with its own bytes,
 * from the buffers it came in; leave others (M_HOLD) unanswered but give
 * their buffers back.  Returns requests answered, or -errno.
 */
static int serve(struct fastrpc_ring *r, unsigned int *cancelled)
{
	const struct fastrpc_cqe *c;
	struct fastrpc_sqe *sqe;
	int n = 0, ret;

	while ((c = fastrpc_ring_peek_cqe(r))) {
		if (c->type != FASTRPC_CQE_INCOMING)
			return -EPROTO;
		if (c->flags & FASTRPC_CQE_F_CANCELLED) {
			if (cancelled)
				(*cancelled)++;
			if (c->buf != FASTRPC_RING_NO_BUF)
				return -EPROTO;
			fastrpc_ring_advance(r, 1);
			continue;
		}
		if (c->method != M_ECHO && c->buf == FASTRPC_RING_NO_BUF) {
			fastrpc_ring_advance(r, 1);	/* held, nothing lent */
			continue;
		}
		sqe = fastrpc_ring_get_sqe(r);
		if (!sqe)
			return -ENOSPC;
		if (c->method == M_ECHO) {
			fastrpc_ring_prep_reply(sqe, c->id, FASTRPC_OK,
						c->buf == FASTRPC_RING_NO_BUF ?
						0 : fastrpc_ring_cqe_data_off(c),
						c->len);
			fastrpc_ring_sqe_return_buf(sqe, c->buf);
			n++;
		} else {
			fastrpc_ring_prep_buf_return(sqe, c->buf);
		}
		fastrpc_ring_advance(r, 1);
	}
	ret = fastrpc_ring_submit(r);
	return ret < 0 && ret != -EAGAIN ? ret : n;
}

/* The length of call @tag in the echo test: 0 .. BUF, 0 and BUF included. */
static uint32_t echo_len(uint64_t tag)
{
	return tag % 7 == 0 ? 0 : tag % 11 == 0 ? BUF : (uint32_t)(tag * 97 % BUF);
}

/*
 * Many rounds of TX_BUFS calls, each with its own bytes in its own
 * buffer of the client's; the rounds together pass through the receive
 * buffers of both ends many times over, so a run not given back stalls
 * the test.  Results give their runs back with BUF_RETURN entries in odd
 * rounds and on the next round's calls in even ones.
 */
TEST_F(ring, echo_rounds)
{
	uint32_t off[TX_BUFS], keep[TX_BUFS], nkeep = 0, spare;
	const struct fastrpc_cqe *cqes[16];
	uint64_t tag = 0, deadline;
	unsigned int round, i, k, got, n;
	struct fastrpc_sqe *sqe;
	bool seen[TX_BUFS];
	int ret;

	for (round = 0; round < 40; round++) {
		for (i = 0; i < TX_BUFS; i++) {
			uint64_t t = tag + i;
			uint8_t *p;

			ASSERT_EQ(0, fastrpc_ring_txbuf_get(&self->cli, &off[i]));
			p = fastrpc_ring_buf(&self->cli, off[i], BUF);
			ASSERT_NE(NULL, p);
			fill_pattern(p, echo_len(t), t);
			sqe = fastrpc_ring_get_sqe(&self->cli);
			ASSERT_NE(NULL, sqe);
			fastrpc_ring_prep_call(sqe, t, M_ECHO, off[i],
					       echo_len(t), 0);
			if (nkeep)
				fastrpc_ring_sqe_return_buf(sqe, keep[--nkeep]);
		}
		ASSERT_EQ(-ENOBUFS, fastrpc_ring_txbuf_get(&self->cli, &spare));
		ASSERT_EQ(0, nkeep);
		/* the calls, and buffer returns of the last round not sent */
		ret = fastrpc_ring_submit(&self->cli);
		ASSERT_TRUE(ret >= TX_BUFS || ret == -EAGAIN)
			TH_LOG("submit: %d", ret);

		memset(seen, 0, sizeof(seen));
		got = 0;
		deadline = now_ms() + WAIT_MS;
		while (got < TX_BUFS) {
			ASSERT_LT(now_ms(), deadline)
				TH_LOG("round %u: %u of %u results", round, got,
				       TX_BUFS);
			fastrpc_ring_submit(&self->cli);	/* retries */
			fastrpc_ring_wait(&self->srv, 0, 1);
			ret = serve(&self->srv, NULL);
			ASSERT_LE(0, ret) TH_LOG("serve: %d", ret);
			self->served += (unsigned int)ret;
			if (fastrpc_ring_wait(&self->cli, 0, 1) <= 0)
				continue;
			n = fastrpc_ring_peek(&self->cli, cqes, 16);
			for (k = 0; k < n; k++) {
				const struct fastrpc_cqe *c = cqes[k];
				uint8_t *d = fastrpc_ring_cqe_data(&self->cli, c);

				ASSERT_EQ(FASTRPC_CQE_RESULT, c->type);
				ASSERT_EQ(FASTRPC_CQE_F_EOR, c->flags);
				ASSERT_EQ(FASTRPC_OK, c->res);
				ASSERT_LE(tag, c->id);
				ASSERT_GT(tag + TX_BUFS, c->id);
				ASSERT_FALSE(seen[c->id - tag]);
				seen[c->id - tag] = true;
				ASSERT_EQ(echo_len(c->id), c->len);
				if (!c->len) {
					ASSERT_EQ(FASTRPC_RING_NO_BUF, c->buf);
					continue;
				}
				ASSERT_NE(NULL, d);
				ASSERT_TRUE(check_pattern(d, c->len, c->id));
				if (round & 1) {
					sqe = fastrpc_ring_get_sqe(&self->cli);
					ASSERT_NE(NULL, sqe);
					fastrpc_ring_prep_buf_return(sqe, c->buf);
				} else {
					keep[nkeep++] = c->buf;
				}
			}
			fastrpc_ring_advance(&self->cli, n);
			got += n;
		}
		for (i = 0; i < TX_BUFS; i++)
			ASSERT_EQ(0, fastrpc_ring_txbuf_put(&self->cli, off[i]));
		ASSERT_EQ(-EINVAL, fastrpc_ring_txbuf_put(&self->cli, off[0]));
		tag += TX_BUFS;
	}
	/* the last round's runs, so that the kernel has them all back */
	while (nkeep) {
		sqe = fastrpc_ring_get_sqe(&self->cli);
		ASSERT_NE(NULL, sqe);
		fastrpc_ring_prep_buf_return(sqe, keep[--nkeep]);
	}
	ASSERT_LE(0, fastrpc_ring_submit(&self->cli));
	EXPECT_EQ(40 * TX_BUFS, self->served);
	EXPECT_EQ(0, fastrpc_ring_sq_pending(&self->cli));
	EXPECT_EQ(0, fastrpc_ring_cq_ready(&self->cli));
}

/* A socket's rings map again, once more in the same process. */
TEST_F(ring, map_again)
{
	struct fastrpc_ring again;
	int fd;

	ASSERT_EQ(-EBUSY, fastrpc_ring_setup(self->cfd, &cli_sizes, &again));
	ASSERT_EQ(-1, again.fd);
	ASSERT_EQ(0, fastrpc_ring_setup(self->cfd, NULL, &again));
	EXPECT_EQ(0, memcmp(&again.setup, &cli_sizes, sizeof(cli_sizes)));
	EXPECT_EQ(self->cli.sq_tail, again.sq_tail);
	EXPECT_EQ((uint32_t)(RX_BUFS + TX_BUFS) * BUF, again.buf_len);
	/* the same pages: a byte written through one shows in the other */
	((uint8_t *)fastrpc_ring_buf(&self->cli, RX_BUFS * BUF, 1))[0] = 0xa5;
	EXPECT_EQ(0xa5, *(uint8_t *)fastrpc_ring_buf(&again, RX_BUFS * BUF, 1));
	fastrpc_ring_unmap(&again);
	EXPECT_EQ(-1, again.fd);

	fd = fastrpc_socket(SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENXIO, fastrpc_ring_setup(fd, NULL, &again));
	EXPECT_EQ(-EINVAL, fastrpc_ring_setup(fd, &(struct fastrpc_ring_setup){
		.sq_entries = 3, .cq_entries = 4, .buf_size = BUF,
		.buf_count = 1, .rx_bufs = 1 }, &again));
	close(fd);
}

/* Entries the kernel refuses complete with FASTRPC_CQE_ERROR; the ring goes on. */
TEST_F(ring, refused_entries)
{
	const struct fastrpc_cqe *c;
	struct fastrpc_sqe *sqe;
	int ret;

	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_call(sqe, 1, M_ECHO, (RX_BUFS + TX_BUFS) * BUF - 8, 64,
			       0);
	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_buf_return(sqe, BUF + 1);	/* not a run's start */
	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_reply(sqe, 7, FASTRPC_OK, 0, 0);	/* client */
	ret = fastrpc_ring_submit(&self->cli);
	ASSERT_EQ(3, ret);
	ASSERT_EQ(3, fastrpc_ring_wait(&self->cli, 0, WAIT_MS));
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_CQE_ERROR, c->type);
	EXPECT_EQ(FASTRPC_OP_CALL, c->op);
	EXPECT_EQ(1, c->id);
	EXPECT_EQ(-EFAULT, c->res);
	fastrpc_ring_advance(&self->cli, 1);
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_OP_BUF_RETURN, c->op);
	EXPECT_EQ(BUF + 1, c->buf);
	EXPECT_EQ(-EINVAL, c->res);
	fastrpc_ring_advance(&self->cli, 1);
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_OP_REPLY, c->op);
	EXPECT_EQ(-EINVAL, c->res);
	fastrpc_ring_advance(&self->cli, 1);
	EXPECT_EQ(0, fastrpc_ring_sq_pending(&self->cli));

	/* and a good call after them */
	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_call(sqe, 2, M_ECHO, 0, 0, 0);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	ASSERT_LT(0, fastrpc_ring_wait(&self->srv, 0, WAIT_MS));
	ASSERT_EQ(1, serve(&self->srv, NULL));
	ASSERT_EQ(1, fastrpc_ring_wait(&self->cli, 0, WAIT_MS));
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_CQE_RESULT, c->type);
	EXPECT_EQ(2, c->id);
	EXPECT_EQ(FASTRPC_OK, c->res);
	fastrpc_ring_advance(&self->cli, 1);
}

/* CANCEL: the client's result says CANCELLED, the server hears of it. */
TEST_F(ring, cancel)
{
	const struct fastrpc_cqe *c;
	unsigned int cancelled = 0;
	struct fastrpc_sqe *sqe;
	uint64_t deadline;

	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_call(sqe, 5, M_HOLD, 0, 0, 0);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	ASSERT_LT(0, fastrpc_ring_wait(&self->srv, 0, WAIT_MS));
	ASSERT_EQ(0, serve(&self->srv, &cancelled));

	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_cancel(sqe, 5);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	ASSERT_EQ(1, fastrpc_ring_wait(&self->cli, 0, WAIT_MS));
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_CQE_RESULT, c->type);
	EXPECT_EQ(5, c->id);
	EXPECT_EQ(FASTRPC_CQE_F_EOR, c->flags & FASTRPC_CQE_F_EOR);
	EXPECT_EQ(FASTRPC_CANCELLED, c->res);
	fastrpc_ring_advance(&self->cli, 1);

	deadline = now_ms() + WAIT_MS;
	while (!cancelled && now_ms() < deadline) {
		fastrpc_ring_wait(&self->srv, 0, 100);
		ASSERT_LE(0, serve(&self->srv, &cancelled));
	}
	EXPECT_EQ(1, cancelled);
}

/*
 * A request larger than every receive buffer of the server is left to
 * recvmsg(): its completion says so and lends nothing.
 */
TEST_F(ring, too_big_for_buffers)
{
	static uint8_t req[RX_BUFS * BUF + 1], back[sizeof(req)];
	struct fastrpc_incoming_info ii = { 0 };
	const struct fastrpc_cqe *c;
	uint32_t status;
	uint64_t tag;
	ssize_t n;

	fill_pattern(req, sizeof(req), 9);
	ASSERT_EQ((ssize_t)sizeof(req),
		  fastrpc_send_call(self->cfd, 9, M_ECHO, req, sizeof(req), 0));
	ASSERT_EQ(1, fastrpc_ring_wait(&self->srv, 0, WAIT_MS));
	c = fastrpc_ring_peek_cqe(&self->srv);
	EXPECT_EQ(FASTRPC_CQE_INCOMING, c->type);
	EXPECT_EQ(FASTRPC_CQE_F_RECVMSG, c->flags & FASTRPC_CQE_F_RECVMSG);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c->buf);
	EXPECT_EQ(NULL, fastrpc_ring_cqe_data(&self->srv, c));
	fastrpc_ring_advance(&self->srv, 1);
	n = fastrpc_recv_call_ex(self->sfd, &ii, back, sizeof(back),
				 MSG_DONTWAIT);
	ASSERT_EQ((ssize_t)sizeof(req), n);
	ASSERT_EQ(0, memcmp(req, back, sizeof(req)));
	ASSERT_EQ((ssize_t)sizeof(req),
		  fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, back,
				     sizeof(back), 0));
	/* too big for the client's receive buffers too */
	ASSERT_EQ(1, fastrpc_ring_wait(&self->cli, 0, WAIT_MS));
	c = fastrpc_ring_peek_cqe(&self->cli);
	EXPECT_EQ(FASTRPC_CQE_RESULT, c->type);
	EXPECT_EQ(FASTRPC_CQE_F_RECVMSG, c->flags & FASTRPC_CQE_F_RECVMSG);
	fastrpc_ring_advance(&self->cli, 1);
	memset(back, 0, sizeof(back));
	n = fastrpc_recv_result(self->cfd, &tag, &status, back, sizeof(back),
				MSG_DONTWAIT);
	ASSERT_EQ((ssize_t)sizeof(req), n);
	EXPECT_EQ(9, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_TRUE(check_pattern(back, sizeof(back), 9));
}

/* The wait: nothing ready and no time is 0 at once; spinning finds a result. */
TEST_F(ring, wait)
{
	struct fastrpc_sqe *sqe;
	uint64_t t0;
	int n;

	t0 = now_ms();
	EXPECT_EQ(0, fastrpc_ring_wait(&self->cli, 0, 0));
	EXPECT_EQ(0, fastrpc_ring_wait(&self->cli, 1000, 0));
	EXPECT_EQ(0, fastrpc_ring_wait(&self->cli, 0, 50));
	EXPECT_GE(now_ms() - t0, 50);

	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_call(sqe, 3, M_ECHO, 0, 0, 0);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	ASSERT_LT(0, fastrpc_ring_wait(&self->srv, 0, WAIT_MS));
	ASSERT_EQ(1, serve(&self->srv, NULL));
	/* spin long enough for the reply to come while spinning, then sleep */
	n = fastrpc_ring_wait(&self->cli, 200000, WAIT_MS);
	EXPECT_EQ(1, n);
	EXPECT_EQ(1, fastrpc_ring_cq_ready(&self->cli));
	fastrpc_ring_advance(&self->cli, 1);
	EXPECT_EQ(0, fastrpc_ring_cq_ready(&self->cli));
}

/*
 * A server shut down with a call in progress: the wait still brings what
 * is to come (the reply's completion goes, nothing else), and once the
 * connection has closed the socket stays readable for good (end of
 * file): fastrpc_ring_wait() says -ESHUTDOWN rather than 0, which would
 * make a caller's loop spin.
 */
TEST_F(ring, wait_shutdown)
{
	struct fastrpc_features f = { 0 };
	struct fastrpc_sqe *sqe;
	uint64_t deadline;
	int n;

	ASSERT_EQ(0, fastrpc_get_features(self->sfd, &f));
	if (!(f.features & FASTRPC_FEAT_SHUTDOWN_EOF))
		SKIP(return, "module without FASTRPC_FEAT_SHUTDOWN_EOF");
	sqe = fastrpc_ring_get_sqe(&self->cli);
	fastrpc_ring_prep_call(sqe, 5, M_ECHO, 0, 0, 0);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	ASSERT_LT(0, fastrpc_ring_wait(&self->srv, 0, WAIT_MS));
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));
	/* the call was admitted: still answered */
	ASSERT_EQ(1, serve(&self->srv, NULL));
	ASSERT_EQ(1, fastrpc_ring_wait(&self->cli, 0, WAIT_MS));
	fastrpc_ring_advance(&self->cli, 1);
	/* until the connection is gone: 0 (timeout) or -ESHUTDOWN */
	deadline = now_ms() + WAIT_MS;
	do {
		n = fastrpc_ring_wait(&self->srv, 0, 100);
		if (n == -ESHUTDOWN)
			break;
		EXPECT_EQ(0, n);
		if (n > 0)
			fastrpc_ring_advance(&self->srv, (unsigned int)n);
	} while (now_ms() < deadline);
	EXPECT_EQ(-ESHUTDOWN, n);
	/* and at once from then on, whatever the time limit */
	EXPECT_EQ(-ESHUTDOWN, fastrpc_ring_wait(&self->srv, 0, -1));
	EXPECT_EQ(-ESHUTDOWN, fastrpc_ring_submit_wait(&self->srv));
}

/*
 * fastrpc_ring_submit_wait() on both ends, as a ring client and a ring
 * server that each make one system call per call: the server thread
 * replies and waits for the next request in one, the client submits a
 * call and sleeps until its result in one.  Every echo comes back whole;
 * SO_RCVTIMEO ends the server's wait, so that it sees the stop flag.
 */
struct lib_srv {
	struct fastrpc_ring *r;
	atomic_int stop;
	atomic_int err;
	atomic_uint served;
};

/* serve() without its submit: the next submit_wait() hands them over */
static void *lib_srv_thread(void *p)
{
	struct lib_srv *s = p;
	const struct fastrpc_cqe *c;
	struct fastrpc_sqe *sqe;
	int ret;

	while (!atomic_load(&s->stop)) {
		ret = fastrpc_ring_submit_wait(s->r);
		if (ret < 0 && ret != -EAGAIN && ret != -EINTR) {
			atomic_store(&s->err, ret);
			return NULL;
		}
		while ((c = fastrpc_ring_peek_cqe(s->r))) {
			sqe = fastrpc_ring_get_sqe(s->r);
			if (c->type != FASTRPC_CQE_INCOMING || !sqe) {
				atomic_store(&s->err, -EPROTO);
				return NULL;
			}
			fastrpc_ring_prep_reply(sqe, c->id, FASTRPC_OK,
						c->buf == FASTRPC_RING_NO_BUF ?
						0 : fastrpc_ring_cqe_data_off(c),
						c->len);
			fastrpc_ring_sqe_return_buf(sqe, c->buf);
			fastrpc_ring_advance(s->r, 1);
			atomic_fetch_add(&s->served, 1);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(ring, submit_wait, 60)
{
	enum { N = 300 };
	struct timeval tv = { .tv_usec = 50 * 1000 };
	struct lib_srv s = { .r = &self->srv };
	const struct fastrpc_cqe *c;
	struct fastrpc_sqe *sqe;
	bool lent = false;	/* did the last result lend a buffer? */
	uint64_t tag;
	uint32_t off;
	pthread_t thr;
	uint8_t *p;
	int n;

	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, pthread_create(&thr, NULL, lib_srv_thread, &s));
	ASSERT_EQ(0, fastrpc_ring_txbuf_get(&self->cli, &off));
	for (tag = 1; tag <= N; tag++) {
		uint32_t len = echo_len(tag);

		p = fastrpc_ring_buf(&self->cli, off, BUF);
		ASSERT_NE(NULL, p);
		fill_pattern(p, len, tag);
		sqe = fastrpc_ring_get_sqe(&self->cli);
		ASSERT_NE(NULL, sqe);
		fastrpc_ring_prep_call(sqe, tag, M_ECHO, off, len, 0);
		/* the kernel copied the request once the call returns */
		do
			n = fastrpc_ring_submit_wait(&self->cli);
		while (n == 0 || n == -EINTR);
		ASSERT_EQ(1, n) TH_LOG("call %llu: %s", (unsigned long long)tag,
				       fastrpc_strerror(n));
		c = fastrpc_ring_peek_cqe(&self->cli);
		ASSERT_NE(NULL, c);
		ASSERT_EQ(FASTRPC_CQE_RESULT, c->type);
		ASSERT_EQ(tag, c->id);
		ASSERT_EQ(FASTRPC_OK, c->res);
		ASSERT_EQ(len, c->len);
		if (len)
			ASSERT_TRUE(check_pattern(fastrpc_ring_cqe_data(&self->cli, c),
						  len, tag));
		/* an empty result lends no buffer */
		lent = c->buf != FASTRPC_RING_NO_BUF;
		if (lent) {
			sqe = fastrpc_ring_get_sqe(&self->cli);
			ASSERT_NE(NULL, sqe);
			fastrpc_ring_prep_buf_return(sqe, c->buf);
		}
		fastrpc_ring_advance(&self->cli, 1);
	}
	/*
	 * The last buffer return goes, and nothing comes: the wait ends at
	 * SO_RCVTIMEO, with no completion (0, an entry was consumed), then
	 * with EAGAIN when there was nothing to submit either.
	 */
	tv.tv_usec = 20 * 1000;
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	if (lent)
		EXPECT_EQ(0, fastrpc_ring_submit_wait(&self->cli));
	EXPECT_EQ(0, fastrpc_ring_sq_pending(&self->cli));
	EXPECT_EQ(-EAGAIN, fastrpc_ring_submit_wait(&self->cli));
	atomic_store(&s.stop, 1);
	pthread_join(thr, NULL);
	EXPECT_EQ(0, atomic_load(&s.err));
	EXPECT_EQ(N, atomic_load(&s.served));
}

/*
 * A lent call (fastrpc_ring_sqe_lend()): its result, and one
 * FASTRPC_CQE_SENT naming the entry, after which the buffer is put back;
 * fastrpc_ring_cqe_data() finds no payload in a SENT.
 */
TEST_F(ring, lend)
{
	const struct fastrpc_cqe *c;
	struct fastrpc_features f;
	struct fastrpc_sqe *sqe;
	unsigned int results = 0, sents = 0;
	uint64_t deadline;
	uint32_t off;

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	if (!(f.features & FASTRPC_FEAT_RING_LEND))
		SKIP(return, "module without FASTRPC_FEAT_RING_LEND");
	ASSERT_EQ(0, fastrpc_ring_txbuf_get(&self->cli, &off));
	fill_pattern(fastrpc_ring_buf(&self->cli, off, BUF), BUF, 21);
	sqe = fastrpc_ring_get_sqe(&self->cli);
	ASSERT_NE(NULL, sqe);
	fastrpc_ring_prep_call(sqe, 21, M_ECHO, off, BUF, 0);
	fastrpc_ring_sqe_lend(sqe);
	EXPECT_EQ(FASTRPC_SQE_LEND, sqe->flags);
	ASSERT_EQ(1, fastrpc_ring_submit(&self->cli));
	deadline = now_ms() + WAIT_MS;
	while (!results || !sents) {
		ASSERT_LT(now_ms(), deadline)
			TH_LOG("%u results, %u SENT", results, sents);
		fastrpc_ring_wait(&self->srv, 0, 1);
		ASSERT_LE(0, serve(&self->srv, NULL));
		if (fastrpc_ring_wait(&self->cli, 0, 1) <= 0)
			continue;
		c = fastrpc_ring_peek_cqe(&self->cli);
		if (c->type == FASTRPC_CQE_SENT) {
			EXPECT_EQ(FASTRPC_OP_CALL, c->op);
			EXPECT_EQ(21, c->id);
			EXPECT_EQ(off, c->buf);
			EXPECT_EQ(BUF, c->len);
			EXPECT_EQ(0, c->res);
			EXPECT_EQ(NULL, fastrpc_ring_cqe_data(&self->cli, c));
			sents++;
		} else {
			const uint8_t *d;

			ASSERT_EQ(FASTRPC_CQE_RESULT, c->type);
			EXPECT_EQ(21, c->id);
			EXPECT_EQ(FASTRPC_OK, c->res);
			ASSERT_EQ(BUF, c->len);
			d = fastrpc_ring_cqe_data(&self->cli, c);
			ASSERT_NE(NULL, d);
			EXPECT_TRUE(check_pattern(d, BUF, 21));
			sqe = fastrpc_ring_get_sqe(&self->cli);
			ASSERT_NE(NULL, sqe);
			fastrpc_ring_prep_buf_return(sqe, c->buf);
			results++;
		}
		fastrpc_ring_advance(&self->cli, 1);
	}
	EXPECT_EQ(1, results);
	EXPECT_EQ(1, sents);
	/* the bytes are ours again */
	ASSERT_EQ(0, fastrpc_ring_txbuf_put(&self->cli, off));
	ASSERT_LE(0, fastrpc_ring_submit(&self->cli));
	EXPECT_EQ(0, fastrpc_ring_wait(&self->cli, 0, 100));
}

TEST_HARNESS_MAIN
