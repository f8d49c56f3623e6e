// SPDX-License-Identifier: GPL-2.0-only
/*
 * Basic AF_FASTRPC behaviour: round trips over IPv4 and IPv6, the socket
 * options, and every documented error path of sendmsg/recvmsg.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

/*
 * The socket layer copies up to sizeof(struct cmsghdr) + 20 bytes of
 * control data into a stack buffer and allocates for more: a plain call
 * and a plain reply must fit (see linux/fastrpc.h).
 */
_Static_assert(CMSG_SPACE(sizeof(struct fastrpc_call)) <=
	       sizeof(struct cmsghdr) + 20, "fastrpc_call too big");
_Static_assert(CMSG_SPACE(sizeof(struct fastrpc_reply)) <=
	       sizeof(struct cmsghdr) + 20, "fastrpc_reply too big");

#define BASE_PORT 7100

/* Round trips against a threaded echo server, once per IP family. */
FIXTURE(rt) {
	struct echo_srv srv;
	int cfd;
};

FIXTURE_VARIANT(rt) {
	int ipfam;
	const char *ip;
};

FIXTURE_VARIANT_ADD(rt, ipv4) {
	.ipfam = AF_INET,
	.ip = "127.0.0.1",
};

FIXTURE_VARIANT_ADD(rt, ipv6) {
	.ipfam = AF_INET6,
	.ip = "::1",
};

FIXTURE_SETUP(rt)
{
	int ret;

	self->cfd = -1;
	ret = echo_srv_start(&self->srv, variant->ipfam,
			     test_port(BASE_PORT, _metadata->name), 2);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	self->cfd = fastrpc_client_open(variant->ip, self->srv.port,
					SOCK_CLOEXEC);
	ASSERT_LE(0, self->cfd)
		TH_LOG("connect %s port %u: %s", variant->ip, self->srv.port,
		       fastrpc_strerror(self->cfd));
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 10000));
}

FIXTURE_TEARDOWN(rt)
{
	if (self->cfd >= 0)
		close(self->cfd);
	echo_srv_stop(&self->srv);
	EXPECT_EQ(0, atomic_load(&self->srv.errors))
		TH_LOG("server errors, last %d", atomic_load(&self->srv.last_err));
}

TEST_F(rt, roundtrip)
{
	const uint64_t tag = 0x1234567890abcdefull;
	struct fastrpc_result res;
	uint8_t req[100], resp[200];
	bool found;
	int mflags;
	ssize_t n;

	fill_pattern(req, sizeof(req), tag);
	ASSERT_EQ((ssize_t)sizeof(req),
		  fastrpc_send_call(self->cfd, tag, M_ECHO, req, sizeof(req), 0));
	n = raw_recvmsg(self->cfd, FASTRPC_CMSG_RESULT, &res, sizeof(res),
			&found, resp, sizeof(resp), 0, &mflags, NULL);
	ASSERT_EQ((ssize_t)sizeof(req), n) TH_LOG("recv: %s", strerror((int)-n));
	ASSERT_TRUE(found);
	EXPECT_EQ(tag, res.tag);
	EXPECT_EQ(FASTRPC_OK, res.status);
	EXPECT_EQ(0, res.flags);
	EXPECT_TRUE(mflags & MSG_EOR);
	EXPECT_FALSE(mflags & MSG_TRUNC);
	EXPECT_FALSE(mflags & MSG_CTRUNC);
	EXPECT_EQ(0, memcmp(req, resp, sizeof(req)));

	/* An empty request gets an empty reply. */
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 7, M_ECHO, NULL, 0, 0));
	n = raw_recvmsg(self->cfd, FASTRPC_CMSG_RESULT, &res, sizeof(res),
			&found, resp, sizeof(resp), 0, &mflags, NULL);
	ASSERT_EQ(0, n);
	ASSERT_TRUE(found);
	EXPECT_EQ(7, res.tag);
	EXPECT_EQ(FASTRPC_OK, res.status);
	EXPECT_TRUE(mflags & MSG_EOR);
}

/* sendmmsg(): several calls in one system call (MSG_BATCH on all but the last). */
TEST_F(rt, sendmmsg_batch)
{
	enum { N = 8 };
	union {
		char b[CMSG_SPACE(sizeof(struct fastrpc_call))];
		struct cmsghdr align;
	} ctrl[N];
	struct mmsghdr mm[N];
	struct iovec iov[N];
	char req[N][4], resp[8];
	unsigned int seen = 0;
	uint32_t status;
	uint64_t tag;
	int i;

	memset(ctrl, 0, sizeof(ctrl));
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < N; i++) {
		struct fastrpc_call fc = { .tag = 100 + i, .method = M_ECHO };
		struct cmsghdr *cm = &ctrl[i].align;

		snprintf(req[i], sizeof(req[i]), "m%d", i);
		iov[i].iov_base = req[i];
		iov[i].iov_len = 2;
		cm->cmsg_level = SOL_FASTRPC;
		cm->cmsg_type = FASTRPC_CMSG_CALL;
		cm->cmsg_len = CMSG_LEN(sizeof(fc));
		memcpy(CMSG_DATA(cm), &fc, sizeof(fc));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = ctrl[i].b;
		mm[i].msg_hdr.msg_controllen = sizeof(ctrl[i].b);
	}
	ASSERT_EQ(N, sendmmsg(self->cfd, mm, N, MSG_NOSIGNAL))
		TH_LOG("sendmmsg: %s", strerror(errno));
	for (i = 0; i < N; i++) {
		ASSERT_EQ(2, fastrpc_recv_result(self->cfd, &tag, &status, resp,
						 sizeof(resp), 0));
		ASSERT_LE(100, tag);
		ASSERT_GT(100 + N, tag);
		EXPECT_EQ(FASTRPC_OK, status);
		EXPECT_EQ(0, memcmp(resp, req[tag - 100], 2));
		seen |= 1u << (tag - 100);
	}
	EXPECT_EQ((1u << N) - 1, seen);
}

/* Receive results with fastrpc_recv_results() until @n came; mark tags. */
static int batch_collect(int fd, unsigned int n, uint64_t base,
			 const uint8_t (*req)[8], uint64_t *seen)
{
	struct fastrpc_result_buf out[16];
	uint8_t resp[16][8];
	unsigned int got = 0, i;
	int k;

	while (got < n) {
		for (i = 0; i < 16; i++) {
			out[i].buf = resp[i];
			out[i].len = sizeof(resp[i]);
		}
		k = fastrpc_recv_results(fd, out, 16, 0);
		if (k < 0)
			return k;
		for (i = 0; i < (unsigned int)k; i++) {
			uint64_t t = out[i].tag - base;

			if (t >= 64 || out[i].n != 8 || !out[i].eor ||
			    out[i].status != FASTRPC_OK ||
			    memcmp(resp[i], req[t], 8) || (*seen >> t & 1))
				return -EBADMSG;
			*seen |= 1ull << t;
		}
		got += (unsigned int)k;
	}
	return 0;
}

/* The batch API: n calls in one fastrpc_send_calls(), all n results back. */
TEST_F(rt, batch_calls)
{
	enum { N = 40 };
	struct fastrpc_call_req c[N];
	uint8_t req[N][8];
	uint64_t seen = 0;
	int i, err = 1;

	for (i = 0; i < N; i++) {
		fill_pattern(req[i], sizeof(req[i]), (uint64_t)i);
		c[i] = (struct fastrpc_call_req){ .tag = 500 + i,
						  .method = M_ECHO,
						  .buf = req[i], .len = 8 };
	}
	ASSERT_EQ(N, fastrpc_send_calls(self->cfd, c, N, 0, &err));
	EXPECT_EQ(0, err);
	ASSERT_EQ(0, batch_collect(self->cfd, N, 500, req, &seen));
	EXPECT_EQ((1ull << N) - 1, seen);
	/* nothing more: a non-blocking receive finds nothing */
	{
		struct fastrpc_result_buf one = { 0 };

		EXPECT_EQ(-EAGAIN, fastrpc_recv_results(self->cfd, &one, 1,
							MSG_DONTWAIT));
	}
	EXPECT_EQ(0, fastrpc_send_calls(self->cfd, c, 0, 0, &err));
	EXPECT_EQ(0, err);
}

/*
 * A batch of calls of every size class: small frames (staged together),
 * one-frame messages from the caller's pages (not batched: written at
 * once, or copied when they must wait), and long ones.  The buffers are
 * overwritten the moment fastrpc_send_calls() returns; every echo is
 * exact.
 */
TEST_F_TIMEOUT(rt, batch_calls_sizes, 60)
{
	static const size_t sizes[] = {
		8, 500, 513, 4096, 16384, 40000, 61440, 61441, 100000, 8,
	};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct fastrpc_call_req c[N];
	struct fastrpc_result_buf out[N];
	uint8_t *req[N], *resp = malloc(N * 100001);
	unsigned int got = 0, seen = 0;
	int i, k, err = 1;

	ASSERT_NE(NULL, resp);
	for (i = 0; i < N; i++) {
		req[i] = malloc(sizes[i]);
		ASSERT_NE(NULL, req[i]);
		fill_pattern(req[i], sizes[i], 900 + i);
		c[i] = (struct fastrpc_call_req){ .tag = 900 + i,
						  .method = M_ECHO,
						  .buf = req[i],
						  .len = sizes[i] };
	}
	ASSERT_EQ(N, fastrpc_send_calls(self->cfd, c, N, 0, &err));
	EXPECT_EQ(0, err);
	for (i = 0; i < N; i++)
		memset(req[i], 0xee, sizes[i]);
	while (got < N) {
		for (i = 0; i < N; i++) {
			out[i].buf = resp + (size_t)i * 100001;
			out[i].len = 100001;
		}
		k = fastrpc_recv_results(self->cfd, out, N, 0);
		ASSERT_LT(0, k) TH_LOG("recv_results: %d", k);
		for (i = 0; i < k; i++) {
			uint64_t t = out[i].tag - 900;

			ASSERT_GT(N, t);
			EXPECT_EQ(FASTRPC_OK, out[i].status);
			ASSERT_EQ((ssize_t)sizes[t], out[i].n);
			EXPECT_TRUE(check_pattern(out[i].buf, sizes[t],
						  900 + t)) TH_LOG("tag %llu",
						  (unsigned long long)out[i].tag);
			EXPECT_FALSE(seen >> t & 1);
			seen |= 1u << t;
		}
		got += (unsigned int)k;
	}
	EXPECT_EQ((1u << N) - 1, seen);
	for (i = 0; i < N; i++)
		free(req[i]);
	free(resp);
}

/*
 * A bad entry in the middle: the calls before it go, the call reports
 * its error, the ones after it are not tried.
 */
TEST_F(rt, batch_partial)
{
	enum { N = 6 };
	struct fastrpc_call_req c[N];
	uint8_t req[N][8];
	uint64_t seen = 0;
	int i, err = 0;

	for (i = 0; i < N; i++) {
		fill_pattern(req[i], sizeof(req[i]), (uint64_t)i);
		c[i] = (struct fastrpc_call_req){ .tag = 600 + i,
						  .method = M_ECHO,
						  .buf = req[i], .len = 8 };
	}
	c[3].flags = 0x80;	/* unknown call flag */
	ASSERT_EQ(3, fastrpc_send_calls(self->cfd, c, N, 0, &err));
	EXPECT_EQ(-EINVAL, err);
	ASSERT_EQ(0, batch_collect(self->cfd, 3, 600, req, &seen));
	EXPECT_EQ(7, seen);

	/* too large, second entry; tags 600.. are free again */
	c[3].flags = 0;
	c[1].len = FASTRPC_MAX_MSG + 1;
	ASSERT_EQ(1, fastrpc_send_calls(self->cfd, c, N, 0, &err));
	EXPECT_EQ(-EMSGSIZE, err);
	seen = 0;
	ASSERT_EQ(0, batch_collect(self->cfd, 1, 600, req, &seen));
	EXPECT_EQ(1, seen);

	/* the first entry bad: nothing went, its error is the return */
	c[0].buf = NULL;
	EXPECT_EQ(-EFAULT, fastrpc_send_calls(self->cfd, c, N, 0, &err));
	EXPECT_EQ(-EFAULT, err);
	EXPECT_EQ(-EFAULT, fastrpc_send_calls(self->cfd, c, N, 0, NULL));

	/* a duplicate tag within the batch, while the first is in flight */
	c[0] = (struct fastrpc_call_req){ .tag = 700, .method = M_HOLD };
	c[1] = (struct fastrpc_call_req){ .tag = 700, .method = M_ECHO };
	ASSERT_EQ(1, fastrpc_send_calls(self->cfd, c, 2, 0, &err));
	EXPECT_EQ(-EEXIST, err);
	EXPECT_EQ(0, fastrpc_cancel(self->cfd, 700));
}

/* Fewer results ready than slots: what is there, without waiting. */
TEST_F(rt, batch_recv_short)
{
	struct fastrpc_result_buf out[8];
	struct fastrpc_call_req c[3];
	struct fastrpc_sock_info si;
	uint8_t req[3][8], resp[8][8];
	uint64_t t0;
	int i, err, k;

	for (i = 0; i < 3; i++) {
		fill_pattern(req[i], sizeof(req[i]), (uint64_t)i);
		c[i] = (struct fastrpc_call_req){ .tag = 800 + i,
						  .method = M_ECHO,
						  .buf = req[i], .len = 8 };
	}
	ASSERT_EQ(3, fastrpc_send_calls(self->cfd, c, 3, 0, &err));
	t0 = now_ms();
	do {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &si));
		if (si.rx_queued < 3)
			usleep(1000);
	} while (si.rx_queued < 3 && now_ms() - t0 < 5000);
	ASSERT_EQ(3, si.rx_queued);
	for (i = 0; i < 8; i++) {
		out[i].buf = resp[i];
		out[i].len = sizeof(resp[i]);
	}
	t0 = now_ms();
	k = fastrpc_recv_results(self->cfd, out, 8, 0);
	/* SO_RCVTIMEO is 10 s: a wait for the other five would show */
	EXPECT_GT(2000, now_ms() - t0);
	ASSERT_EQ(3, k);
	for (i = 0; i < 3; i++) {
		EXPECT_LE(800, out[i].tag);
		EXPECT_GT(803, out[i].tag);
		EXPECT_EQ(8, out[i].n);
		EXPECT_EQ(0, memcmp(resp[i], req[out[i].tag - 800], 8));
	}
	/* a short reply buffer truncates, MSG_TRUNC gives the full length */
	ASSERT_EQ(1, fastrpc_send_calls(self->cfd, c, 1, 0, &err));
	out[0].len = 3;
	ASSERT_EQ(1, fastrpc_recv_results(self->cfd, out, 1, MSG_TRUNC));
	EXPECT_EQ(8, out[0].n);
	EXPECT_TRUE(out[0].msg_flags & MSG_TRUNC);
}

TEST_F(rt, sync_call_helper)
{
	char resp[64];
	uint32_t status = 99;
	int i;

	for (i = 0; i < 10; i++) {
		char req[32];
		int len = snprintf(req, sizeof(req), "hello %d", i);

		ASSERT_EQ(len, fastrpc_call(self->cfd, M_ECHO, req, (size_t)len,
					    resp, sizeof(resp), &status));
		ASSERT_EQ(FASTRPC_OK, status);
		ASSERT_EQ(0, memcmp(req, resp, (size_t)len));
	}
	/* Unknown method: the server's status comes through. */
	ASSERT_EQ(0, fastrpc_call(self->cfd, 999, "x", 1, resp, sizeof(resp),
				  &status));
	ASSERT_EQ(FASTRPC_UNIMPLEMENTED, status);
}

TEST_F(rt, status_with_payload)
{
	const uint8_t req[] = { FASTRPC_NOT_FOUND, 'n', 'o', 'p', 'e' };
	const uint8_t req16[] = { FASTRPC_UNAUTHENTICATED, 'x' };
	uint32_t status;
	uint64_t tag;
	char resp[16];

	ASSERT_EQ(5, fastrpc_send_call(self->cfd, 42, M_STATUS, req,
				       sizeof(req), 0));
	ASSERT_EQ(4, fastrpc_recv_result(self->cfd, &tag, &status, resp,
					 sizeof(resp), 0));
	EXPECT_EQ(42, tag);
	EXPECT_EQ(FASTRPC_NOT_FOUND, status);
	EXPECT_EQ(0, memcmp(resp, "nope", 4));

	ASSERT_EQ(1, fastrpc_call(self->cfd, M_STATUS, req16, sizeof(req16),
				  resp, sizeof(resp), &status));
	EXPECT_EQ(FASTRPC_UNAUTHENTICATED, status);
	EXPECT_EQ('x', resp[0]);
}

TEST_F(rt, peer_address_and_conn)
{
	char resp[FASTRPC_ADDRSTRLEN + 1], want[FASTRPC_ADDRSTRLEN];
	struct fastrpc_sock_info info;
	uint32_t status;
	unsigned int port;
	ssize_t n;

	n = fastrpc_call(self->cfd, M_PEER, NULL, 0, resp, sizeof(resp) - 1,
			 &status);
	ASSERT_LT(0, n);
	ASSERT_EQ(FASTRPC_OK, status);
	resp[n] = '\0';
	TH_LOG("server saw the caller as %s", resp);
	snprintf(want, sizeof(want), variant->ipfam == AF_INET ? "%s:" : "[%s]:",
		 variant->ip);
	ASSERT_EQ(0, strncmp(resp, want, strlen(want)));
	port = (unsigned int)atoi(resp + strlen(want));
	EXPECT_NE(0, port);
	EXPECT_NE(self->srv.port, port);	/* the client's own TCP port */

	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &info));
	EXPECT_NE(0, info.conn_id);
	EXPECT_EQ(0, info.calls_in_flight);
	EXPECT_EQ(0, info.rx_queued);
}

/*
 * getpeername() gives back the server's address, with the bytes that do
 * not belong to it zeroed even if connect() was handed junk there;
 * getsockname() on a client that never bound is ENOTCONN.
 */
TEST_F(rt, socket_names)
{
	struct sockaddr_fastrpc want, got;
	socklen_t len = sizeof(got);
	int fd;

	ASSERT_EQ(0, fastrpc_addr(&want, variant->ip, self->srv.port));
	memset(&got, 0xa5, sizeof(got));
	ASSERT_EQ(0, getpeername(self->cfd, (struct sockaddr *)&got, &len));
	ASSERT_EQ(sizeof(got), len);
	EXPECT_EQ(0, memcmp(&want, &got, sizeof(got)));

	if (variant->ipfam == AF_INET) {
		struct sockaddr_fastrpc junk = want;

		memset((char *)&junk.sfr_addr + 4, 0x5a,
		       sizeof(junk.sfr_addr) - 4);
		junk.sfr_scope_id = 7;
		fd = fastrpc_socket(SOCK_CLOEXEC);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, connect(fd, (struct sockaddr *)&junk, sizeof(junk)))
			TH_LOG("connect: %s", strerror(errno));
		len = sizeof(got);
		ASSERT_EQ(0, getpeername(fd, (struct sockaddr *)&got, &len));
		EXPECT_EQ(0, memcmp(&want, &got, sizeof(got)));
		close(fd);
	}
	len = sizeof(got);
	EXPECT_EQ(-1, getsockname(self->cfd, (struct sockaddr *)&got, &len));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(rt, truncation)
{
	uint8_t req[100], resp[10];
	struct fastrpc_result res;
	bool found;
	int mflags;
	ssize_t n;

	fill_pattern(req, sizeof(req), 3);
	/* Short buffer: the first bytes, MSG_TRUNC, the rest discarded. */
	ASSERT_EQ(100, fastrpc_send_call(self->cfd, 1, M_ECHO, req, 100, 0));
	n = raw_recvmsg(self->cfd, FASTRPC_CMSG_RESULT, &res, sizeof(res),
			&found, resp, sizeof(resp), 0, &mflags, NULL);
	ASSERT_EQ(10, n);
	ASSERT_TRUE(found);
	EXPECT_EQ(1, res.tag);
	EXPECT_TRUE(mflags & MSG_TRUNC);
	EXPECT_TRUE(mflags & MSG_EOR);
	EXPECT_EQ(0, memcmp(req, resp, 10));

	/* MSG_TRUNC in flags: the full length is returned. */
	ASSERT_EQ(100, fastrpc_send_call(self->cfd, 2, M_ECHO, req, 100, 0));
	n = raw_recvmsg(self->cfd, FASTRPC_CMSG_RESULT, &res, sizeof(res),
			&found, resp, sizeof(resp), MSG_TRUNC, &mflags, NULL);
	ASSERT_EQ(100, n);
	ASSERT_TRUE(found);
	EXPECT_EQ(2, res.tag);
	EXPECT_TRUE(mflags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(req, resp, 10));

	/* Nothing of the discarded parts is left behind. */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, resp,
					       sizeof(resp), MSG_DONTWAIT));
	ASSERT_EQ(3, fastrpc_send_call(self->cfd, 3, M_ECHO, "abc", 3, 0));
	n = raw_recvmsg(self->cfd, FASTRPC_CMSG_RESULT, &res, sizeof(res),
			&found, resp, sizeof(resp), 0, &mflags, NULL);
	ASSERT_EQ(3, n);
	EXPECT_EQ(3, res.tag);
	EXPECT_FALSE(mflags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(resp, "abc", 3));
}

TEST_F_TIMEOUT(rt, max_message, 180)
{
	const size_t len = FASTRPC_MAX_MSG;
	uint8_t *req = malloc(len), *resp = malloc(len + 1);
	uint32_t status;
	uint64_t tag;
	ssize_t n;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp);
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 120000));
	fill_pattern(req, len, 77);
	n = fastrpc_send_call(self->cfd, 77, M_ECHO, req, len, 0);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("send: %s", fastrpc_strerror((int)n));
	n = fastrpc_recv_result(self->cfd, &tag, &status, resp, len + 1, 0);
	ASSERT_EQ((ssize_t)len, n) TH_LOG("recv: %s", fastrpc_strerror((int)n));
	EXPECT_EQ(77, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_TRUE(check_pattern(resp, len, 77));
	free(req);
	free(resp);
}

/*
 * Echo a message of each of @sizes from a buffer that never starts on a
 * page boundary, overwritten the moment sendmsg() returns: each reply
 * must be its request.
 */
static void echo_sizes(struct __test_metadata *_metadata, int cfd,
		       const size_t *sizes, unsigned int nsizes, size_t max,
		       uint64_t base)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t span = max + 2 * page;
	uint8_t *area, *resp;
	unsigned int i;

	area = mmap(NULL, span, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	resp = malloc(max + 1);
	ASSERT_NE(NULL, resp);
	for (i = 0; i < nsizes; i++) {
		uint8_t *req = area + 100 + i;	/* never page aligned */
		uint32_t status;
		uint64_t tag;
		ssize_t n;

		ASSERT_GE(max, sizes[i]);
		fill_pattern(req, sizes[i], base + i);
		n = fastrpc_send_call(cfd, base + i, M_ECHO, req, sizes[i], 0);
		ASSERT_EQ((ssize_t)sizes[i], n)
			TH_LOG("send %zu: %s", sizes[i], fastrpc_strerror((int)n));
		/* the bytes were taken: what happens to the buffer now is ours */
		memset(req, 0xa5, sizes[i]);
		n = fastrpc_recv_result(cfd, &tag, &status, resp, max + 1, 0);
		ASSERT_EQ((ssize_t)sizes[i], n)
			TH_LOG("recv %zu: %s", sizes[i], fastrpc_strerror((int)n));
		EXPECT_EQ(base + i, tag);
		EXPECT_EQ(FASTRPC_OK, status);
		EXPECT_TRUE(check_pattern(resp, sizes[i], base + i))
			TH_LOG("size %zu came back changed", sizes[i]);
	}
	free(resp);
	munmap(area, span);
}

/*
 * Messages of one frame up to a quantum (60 KiB) go from the sender's own
 * pages, copied once (kmod/tx.c, frpc_txsmall_build_ext()); smaller ones
 * from the stack, bigger ones frame by frame from the pages too
 * (kmod/txbulk.c).  Each size around those limits comes back intact in
 * the echo server's reply, which takes the same paths.
 */
TEST_F(rt, onecopy_sizes)
{
	static const size_t sizes[] = {
		480, 513, 600, 4095, 4096, 4097, 12288, 16383, 16384, 16385,
		61439, 61440, 61441,
		40000, 65536,
	};

	echo_sizes(_metadata, self->cfd, sizes, sizeof(sizes) / sizeof(sizes[0]),
		   65536, 900);
}

/*
 * A message scattered over more pages than one frame's page list holds
 * (30 iovecs of 500 bytes, one per page) is copied instead, and arrives
 * in order.
 */
TEST_F(rt, onecopy_scattered)
{
	enum { NIOV = 30, PIECE = 500 };
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	union {
		char b[CMSG_SPACE(sizeof(struct fastrpc_call))];
		struct cmsghdr align;
	} ctrl;
	struct fastrpc_call fc = { .tag = 31, .method = M_ECHO };
	uint8_t want[NIOV * PIECE], resp[NIOV * PIECE + 1], *area;
	struct iovec iov[NIOV];
	struct msghdr msg = {
		.msg_iov = iov, .msg_iovlen = NIOV,
		.msg_control = ctrl.b, .msg_controllen = sizeof(ctrl.b),
	};
	uint32_t status;
	uint64_t tag;
	ssize_t n;
	int i;

	area = mmap(NULL, NIOV * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	fill_pattern(want, sizeof(want), 31);
	for (i = 0; i < NIOV; i++) {
		iov[i].iov_base = area + i * page + 7;
		iov[i].iov_len = PIECE;
		memcpy(iov[i].iov_base, want + i * PIECE, PIECE);
	}
	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.align.cmsg_level = SOL_FASTRPC;
	ctrl.align.cmsg_type = FASTRPC_CMSG_CALL;
	ctrl.align.cmsg_len = CMSG_LEN(sizeof(fc));
	memcpy(CMSG_DATA(&ctrl.align), &fc, sizeof(fc));
	ASSERT_EQ((ssize_t)sizeof(want), sendmsg(self->cfd, &msg, MSG_NOSIGNAL))
		TH_LOG("sendmsg: %s", strerror(errno));
	n = fastrpc_recv_result(self->cfd, &tag, &status, resp, sizeof(resp), 0);
	ASSERT_EQ((ssize_t)sizeof(want), n);
	EXPECT_EQ(31, tag);
	EXPECT_EQ(0, memcmp(want, resp, sizeof(want)));
	munmap(area, NIOV * page);
}

/*
 * A buffer whose second page is not readable: EFAULT, nothing of the
 * call reaches the wire, and the connection, which other sockets may
 * share, carries the next call as if nothing happened.
 */
TEST_F(rt, onecopy_efault)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *area, resp[64];
	uint32_t status;
	uint64_t tag;
	ssize_t n;

	area = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	memset(area, 1, page);
	ASSERT_EQ(0, mprotect(area + page, page, PROT_NONE));
	n = fastrpc_send_call(self->cfd, 41, M_ECHO, area + 100, 6000, 0);
	EXPECT_EQ(-EFAULT, n);
	/* and a hole in the address space */
	ASSERT_EQ(0, munmap(area + page, page));
	n = fastrpc_send_call(self->cfd, 42, M_ECHO, area + 100, 6000, 0);
	EXPECT_EQ(-EFAULT, n);
	ASSERT_EQ(4, fastrpc_send_call(self->cfd, 43, M_ECHO, "ok!", 4, 0));
	n = fastrpc_recv_result(self->cfd, &tag, &status, resp, sizeof(resp), 0);
	ASSERT_EQ(4, n);
	EXPECT_EQ(43, tag);	/* the first result: 41 and 42 never went */
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(resp, "ok!", 4));
	munmap(area, page);
}

/*
 * @n calls of @len bytes back to back, each buffer overwritten the moment
 * sendmsg() returns; every reply must be its request.
 */
static void backlog_echo(struct __test_metadata *_metadata, int cfd, int n,
			 size_t len, uint64_t base)
{
	uint8_t *req = malloc(len), *resp = malloc(len + 1);
	uint64_t seen = 0;
	int i;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, resp);
	ASSERT_GE(64, n);
	for (i = 0; i < n; i++) {
		ssize_t r;

		fill_pattern(req, len, base + i);
		r = fastrpc_send_call(cfd, base + i, M_ECHO, req, len, 0);
		ASSERT_EQ((ssize_t)len, r)
			TH_LOG("send %d: %s", i, fastrpc_strerror((int)r));
		memset(req, 0x5a, len);
	}
	for (i = 0; i < n; i++) {
		uint32_t status;
		uint64_t tag;
		ssize_t r;

		r = fastrpc_recv_result(cfd, &tag, &status, resp, len + 1, 0);
		ASSERT_EQ((ssize_t)len, r)
			TH_LOG("recv %d: %s", i, fastrpc_strerror((int)r));
		ASSERT_LE(base, tag);
		ASSERT_GT(base + n, tag);
		EXPECT_EQ(FASTRPC_OK, status);
		EXPECT_TRUE(check_pattern(resp, len, tag))
			TH_LOG("reply to %llu changed", (unsigned long long)tag);
		seen |= 1ull << (tag - base);
	}
	EXPECT_EQ(n == 64 ? ~0ull : (1ull << n) - 1, seen);
	free(req);
	free(resp);
}

/*
 * Many 16 KiB calls in flight fill TCP (or the credit), so that frames
 * from the sender's pages are cut short and finished from a copy, or
 * queued.
 */
TEST_F(rt, onecopy_backlog)
{
	backlog_echo(_metadata, self->cfd, 64, 16384, 2000);
}

/*
 * A message over a quantum is written to the connection by its sender,
 * frame by frame, straight from its own pages, while the connection has
 * nothing else to send (kmod/txbulk.c); what credit or TCP does not take
 * at once is copied and queued.  Sizes around the frame, window and
 * message limits, from buffers that start mid-page and are overwritten the
 * moment sendmsg() returns, come back intact in the echo server's replies,
 * which go the same way; tx_bulk_bytes shows that they did.
 */
TEST_F_TIMEOUT(rt, bulk_sizes, 120)
{
	static const size_t sizes[] = {
		61441, 65536 + 3, 100000, (256 << 10) + 7, 1 << 20,
		FASTRPC_MAX_MSG - 1,
	};
	long long b0 = proc_counter("tx_bulk_bytes");

	ASSERT_LE(0, b0) TH_LOG("no tx_bulk_bytes in /proc/net/fastrpc");
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 60000));
	echo_sizes(_metadata, self->cfd, sizes, sizeof(sizes) / sizeof(sizes[0]),
		   FASTRPC_MAX_MSG, 1300);
	/*
	 * Each first frame finds the connection idle but for a collision
	 * with a credit frame now and then: at least one frame of the
	 * twelve messages went from a sender's memory.
	 */
	EXPECT_LE(b0 + 61441, proc_counter("tx_bulk_bytes"));
}

/*
 * A long message whose buffer has an unreadable page past its first
 * frame: EFAULT before any of it is on the wire (the pages are taken
 * first), and the connection carries the next call as if nothing
 * happened.  A half-sent message would break the stream for every socket
 * sharing the connection.
 */
TEST_F(rt, bulk_efault)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	const size_t len = 30 * page;
	uint8_t *area, resp[64];
	uint32_t status;
	uint64_t tag;
	ssize_t n;

	area = mmap(NULL, len + page, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, area);
	memset(area, 1, len + page);
	ASSERT_EQ(0, mprotect(area + 20 * page, page, PROT_NONE));
	n = fastrpc_send_call(self->cfd, 51, M_ECHO, area + 10, len, 0);
	EXPECT_EQ(-EFAULT, n);
	/* a hole in the address space, and the last page missing */
	ASSERT_EQ(0, munmap(area + 20 * page, page));
	n = fastrpc_send_call(self->cfd, 52, M_ECHO, area + 10, len, 0);
	EXPECT_EQ(-EFAULT, n);
	ASSERT_EQ(0, munmap(area + len, page));
	n = fastrpc_send_call(self->cfd, 53, M_ECHO, area + 21 * page + 10,
			      len - 21 * page, 0);
	EXPECT_EQ(-EFAULT, n);
	ASSERT_EQ(4, fastrpc_send_call(self->cfd, 54, M_ECHO, "ok!", 4, 0));
	n = fastrpc_recv_result(self->cfd, &tag, &status, resp, sizeof(resp), 0);
	ASSERT_EQ(4, n);
	EXPECT_EQ(54, tag);	/* the first result: 51 to 53 never went */
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(resp, "ok!", 4));
	munmap(area, 20 * page);
	munmap(area + 21 * page, len - 21 * page);
}

/*
 * Long calls back to back: the first finds the connection idle, the next
 * ones find its rest queued (or credit short) and are copied, or go from
 * the sender's pages in turn.
 */
TEST_F_TIMEOUT(rt, bulk_backlog, 120)
{
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 60000));
	backlog_echo(_metadata, self->cfd, 12, (300 << 10) + 11, 3000);
}

/*
 * Error paths, against a server socket the test drives by hand, so that
 * calls stay unanswered for as long as a test needs.
 */
FIXTURE(err) {
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(err)
{
	int ret = pair_open(BASE_PORT + 100, _metadata->name, 10000, &self->sfd,
			    &self->cfd, &self->port);

	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(err)
{
	pair_close(self->sfd, self->cfd);
}

/* Receive one call on @sfd and answer it with @status and its bytes. */
static ssize_t serve_one(int sfd, uint32_t status)
{
	struct fastrpc_call_info info;
	char buf[256];
	ssize_t n;

	n = fastrpc_recv_call(sfd, &info, buf, sizeof(buf), 0);
	if (n < 0)
		return n;
	return fastrpc_send_reply(sfd, info.handle, status, buf, (size_t)n, 0);
}

/*
 * A read whose buffer or control buffer faults fails with EFAULT and
 * leaves the message where it was: the next read gets it, a request on
 * the server and a result on the client, once each.  Before, the message
 * was taken first and lost with the fault: the call's result never came.
 */
TEST_F(err, efault_read_keeps_message)
{
	const size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct fastrpc_incoming_info ii = { 0 };
	struct fastrpc_result_info ri = { 0 };
	char buf[16];
	uint8_t *bad;
	ssize_t n;

	bad = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	/* one call at a time: a call slot counted wrong shows below */
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 1));
	ASSERT_EQ(5, fastrpc_send_call(self->cfd, 5, M_ECHO, "hello", 5, 0));

	/* the server: bytes into a page it may not write, then the info */
	EXPECT_EQ(-EFAULT, fastrpc_recv_call_ex(self->sfd, &ii, bad, 5, 0));
	ii.aux = bad;
	ii.aux_len = page;
	EXPECT_EQ(-EFAULT, fastrpc_recv_call_ex(self->sfd, &ii, buf,
						sizeof(buf), 0));
	n = srv_recv(self->sfd, &ii, buf, sizeof(buf));
	ASSERT_EQ(5, n) TH_LOG("the request was lost: %s",
			       fastrpc_strerror(n));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(M_ECHO, ii.method);
	EXPECT_EQ(0, ii.flags);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call_ex(self->sfd, &ii, buf,
						sizeof(buf), MSG_DONTWAIT));
	ASSERT_EQ(5, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					"world", 5, 0));

	/* the client, the same two ways */
	EXPECT_EQ(-EFAULT, fastrpc_recv_result(self->cfd, NULL, NULL, bad, 5,
					       0));
	ri.aux = bad;
	ri.aux_len = page;
	EXPECT_EQ(-EFAULT, fastrpc_recv_result_ex(self->cfd, &ri, buf,
						  sizeof(buf), 0));
	ri.aux = NULL;
	ri.aux_len = 0;
	n = fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf), 0);
	ASSERT_EQ(5, n) TH_LOG("the result was lost: %s", fastrpc_strerror(n));
	EXPECT_EQ(5, ri.tag);
	EXPECT_EQ(FASTRPC_OK, ri.status);
	EXPECT_EQ(0, memcmp(buf, "world", 5));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));

	/* the socket goes on: its one call slot is free again, once */
	ASSERT_EQ(2, fastrpc_send_call(self->cfd, 6, M_ECHO, "ok", 2,
				       MSG_DONTWAIT));
	EXPECT_EQ(-EAGAIN, fastrpc_send_call(self->cfd, 7, M_ECHO, "no", 2,
					     MSG_DONTWAIT));
	ASSERT_EQ(2, serve_one(self->sfd, FASTRPC_OK));
	n = fastrpc_recv_result(self->cfd, NULL, NULL, buf, sizeof(buf), 0);
	EXPECT_EQ(2, n);
	munmap(bad, page);
}

/*
 * A 4 MiB request the server has not read yet: its frames, written back
 * to back, share TCP's segments, and the receiver keeps them as clones.
 * The namespace's rx_mem gauge must charge the shared data once per
 * segment, not once per frame: that counted the message 3.5 times over
 * TCP, and with a second one in flight reached conn_rx_mem (32 MiB) and
 * failed the connection.  A frame cut by a segment boundary still
 * charges both segments (kmod/reader.c keeps its pieces as clones),
 * hence the bound of 2.5 times.
 */
TEST_F_TIMEOUT(err, long_message_charged_once, 60)
{
	const size_t len = FASTRPC_MAX_MSG;
	long long mem0 = proc_counter("rx_mem"), held;
	uint8_t *req = malloc(len), *got = malloc(len + 1);
	struct fastrpc_call_info info;
	ssize_t n;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, got);
	ASSERT_LE(0, mem0);
	fill_pattern(req, len, 61);
	ASSERT_EQ((ssize_t)len, fastrpc_send_call(self->cfd, 61, M_ECHO, req,
						  len, 0));
	ASSERT_EQ(1, wait_events(self->sfd, POLLIN, 20000));
	held = proc_counter("rx_mem") - mem0;
	TH_LOG("a %zu-byte message unread: rx_mem +%lld", len, held);
	EXPECT_LE((long long)len, held);
	EXPECT_GE((long long)len * 5 / 2, held);
	n = fastrpc_recv_call(self->sfd, &info, got, len + 1, 0);
	ASSERT_EQ((ssize_t)len, n);
	EXPECT_TRUE(check_pattern(got, len, 61));
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, info.handle, FASTRPC_OK, NULL,
					0, 0));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, NULL, NULL, got, len, 0));
	free(req);
	free(got);
}

TEST_F(err, features)
{
	struct fastrpc_features f;
	socklen_t len;
	uint32_t head[2];

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	EXPECT_EQ(sizeof(f), f.size);
	EXPECT_LE(f.proto_min, FASTRPC_PROTO_V1);
	EXPECT_GE(f.proto_max, FASTRPC_PROTO_V1);
	EXPECT_EQ(FASTRPC_MAX_MSG, f.max_msg);
	EXPECT_LE(1, f.max_calls);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_IPV6);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_SHARED_CONN);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_STREAMING);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_DEADLINES);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_METADATA);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_FLOW);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_CMSG_TIMEOUT);
	EXPECT_TRUE(f.features & FASTRPC_FEAT_IN_DEADLINE);
	EXPECT_EQ(0, f.reserved0 | f.reserved[0] | f.reserved[1] |
		     f.reserved[2]);
	TH_LOG("proto %u..%u max_msg %u max_calls %u features %#llx",
	       f.proto_min, f.proto_max, f.max_msg, f.max_calls,
	       (unsigned long long)f.features);

	/* A shorter buffer is filled as far as it goes. */
	memset(head, 0xff, sizeof(head));
	len = sizeof(head);
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_FASTRPC, FASTRPC_FEATURES,
				head, &len));
	EXPECT_EQ(sizeof(head), len);
	EXPECT_EQ(sizeof(f), head[0]);

	/* Any socket answers, connected or not. */
	{
		int fd = fastrpc_socket(SOCK_CLOEXEC);

		ASSERT_LE(0, fd);
		EXPECT_EQ(0, fastrpc_get_features(fd, &f));
		close(fd);
	}
}

TEST_F(err, max_calls_option)
{
	struct fastrpc_features f;
	uint32_t v, bad = 0;
	uint16_t shortv = 4;
	socklen_t len;

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	ASSERT_EQ(0, fastrpc_get_max_calls(self->cfd, &v));
	EXPECT_EQ(f.default_calls, v);
	EXPECT_LE(f.default_calls, f.max_calls);
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 7));
	ASSERT_EQ(0, fastrpc_get_max_calls(self->cfd, &v));
	EXPECT_EQ(7, v);
	EXPECT_EQ(-EINVAL, fastrpc_set_max_calls(self->cfd, 0));
	EXPECT_EQ(-EINVAL, fastrpc_set_max_calls(self->cfd, f.max_calls + 1));
	EXPECT_EQ(-1, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_MAX_CALLS,
				 &shortv, sizeof(shortv)));
	EXPECT_EQ(EINVAL, errno);
	len = 2;
	EXPECT_EQ(-1, getsockopt(self->cfd, SOL_FASTRPC, FASTRPC_MAX_CALLS,
				 &bad, &len));
	EXPECT_EQ(EINVAL, errno);
	/* Failed sets left the value alone; servers take the option too. */
	ASSERT_EQ(0, fastrpc_get_max_calls(self->cfd, &v));
	EXPECT_EQ(7, v);
	EXPECT_EQ(0, fastrpc_set_max_calls(self->sfd, 3));
	ASSERT_EQ(0, fastrpc_get_max_calls(self->sfd, &v));
	EXPECT_EQ(3, v);
}

TEST_F(err, unknown_option)
{
	uint32_t v = 1;
	socklen_t len = sizeof(v);

	EXPECT_EQ(-1, getsockopt(self->cfd, SOL_FASTRPC, 999, &v, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, setsockopt(self->cfd, SOL_FASTRPC, 999, &v, sizeof(v)));
	EXPECT_EQ(ENOPROTOOPT, errno);
}

TEST_F(err, bad_call_cmsg)
{
	struct fastrpc_call call = { .tag = 1, .method = M_ECHO };
	struct fastrpc_call c;
	uint64_t big[4];	/* the 32 bytes of the old struct */
	uint32_t status;
	char buf[8];

	/* No control message, a short one, a long one, the wrong type. */
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->cfd, 0, NULL, 0, "x", 1, 0));
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->cfd, FASTRPC_CMSG_CALL, &call,
				       sizeof(call) - 8, "x", 1, 0));
	memset(big, 0, sizeof(big));
	memcpy(big, &call, sizeof(call));
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->cfd, FASTRPC_CMSG_CALL, big,
				       sizeof(big), "x", 1, 0));
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->cfd, FASTRPC_CMSG_REPLY, &call,
				       sizeof(call), "x", 1, 0));
	/* Unknown flags are refused. */
	c = call;
	c.flags = 0x80;		/* not a FASTRPC_CALL_* bit */
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->cfd, FASTRPC_CMSG_CALL, &c,
				       sizeof(c), "x", 1, 0));
	/* None of them started a call; a good one still works. */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
	ASSERT_EQ(1, raw_sendmsg(self->cfd, FASTRPC_CMSG_CALL, &call,
				 sizeof(call), "x", 1, 0));
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, NULL, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
}

TEST_F(err, emsgsize)
{
	size_t len = (size_t)FASTRPC_MAX_MSG + 1;
	char *big = calloc(1, len);
	struct fastrpc_call_info info;
	char buf[8];

	ASSERT_NE(NULL, big);
	EXPECT_EQ(-EMSGSIZE, fastrpc_send_call(self->cfd, 1, M_ECHO, big, len,
					       0));
	/* A reply over the limit is refused too, and the call survives. */
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 2, M_ECHO, "y", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf), 0));
	EXPECT_EQ(-EMSGSIZE, fastrpc_send_reply(self->sfd, info.handle,
						FASTRPC_OK, big, len, 0));
	EXPECT_EQ(1, fastrpc_send_reply(self->sfd, info.handle, FASTRPC_OK,
					"z", 1, 0));
	free(big);
}

TEST_F(err, duplicate_tag)
{
	uint64_t tag;
	char buf[8];

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 5, M_ECHO, "a", 1, 0));
	EXPECT_EQ(-EEXIST, fastrpc_send_call(self->cfd, 5, M_ECHO, "b", 1, 0));
	/* Once the call has finished its tag is free again. */
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, &tag, NULL, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(5, tag);
	EXPECT_EQ('a', buf[0]);
	EXPECT_EQ(1, fastrpc_send_call(self->cfd, 5, M_ECHO, "c", 1, 0));
}

TEST_F(err, bad_reply)
{
	struct fastrpc_call_info info;
	uint32_t status;
	uint64_t tag;
	char buf[8];

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 9, M_ECHO, "q", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf), 0));
	EXPECT_EQ(M_ECHO, info.method);
	EXPECT_EQ(-ENOENT, fastrpc_send_reply(self->sfd, info.handle + 12345,
					      FASTRPC_OK, NULL, 0, 0));
	EXPECT_EQ(-ENOENT, fastrpc_send_reply(self->sfd, 0, FASTRPC_OK, NULL,
					      0, 0));
	EXPECT_EQ(-EINVAL, fastrpc_send_reply(self->sfd, info.handle,
					      FASTRPC_STATUS_MAX + 1, NULL, 0,
					      0));
	EXPECT_EQ(-EINVAL, raw_sendmsg(self->sfd, 0, NULL, 0, "r", 1, 0));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, info.handle,
					FASTRPC_ABORTED, "ok", 2, 0));
	/* Replying twice: the handle is gone. */
	EXPECT_EQ(-ENOENT, fastrpc_send_reply(self->sfd, info.handle,
					      FASTRPC_OK, NULL, 0, 0));

	ASSERT_EQ(2, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(9, tag);
	EXPECT_EQ(FASTRPC_ABORTED, status);
	/* Exactly one result per call. */
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 300));
}

TEST_F(err, not_connected)
{
	int fd = fastrpc_socket(SOCK_CLOEXEC);
	char buf[4];

	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTCONN, fastrpc_send_call(fd, 1, M_ECHO, "x", 1, 0));
	/* neither client nor server: nothing can ever arrive */
	EXPECT_EQ(-ENOTCONN, fastrpc_recv_result(fd, NULL, NULL, buf,
						 sizeof(buf), MSG_DONTWAIT));
	close(fd);
}

TEST_F(err, connection_refused)
{
	int port = unused_tcp_port();
	int fd;

	ASSERT_LT(0, port);
	fd = fastrpc_client_open("127.0.0.1", (uint16_t)port, SOCK_CLOEXEC);
	EXPECT_EQ(-ECONNREFUSED, fd) {
		if (fd >= 0)
			close(fd);
	}
	fd = fastrpc_client_open("::1", (uint16_t)port, SOCK_CLOEXEC);
	EXPECT_EQ(-ECONNREFUSED, fd) {
		if (fd >= 0)
			close(fd);
	}
	EXPECT_EQ(-EINVAL, fastrpc_client_open("not-an-ip", 1, 0));
}

TEST_F(err, nonblocking)
{
	char buf[8];
	int nb;

	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
	nb = fastrpc_client_open("127.0.0.1", self->port,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(nb, NULL, NULL, buf,
					       sizeof(buf), 0));
	/* A non-blocking socket still sends and receives. */
	ASSERT_EQ(1, fastrpc_send_call(nb, 1, M_ECHO, "n", 1, 0));
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	ASSERT_EQ(1, wait_events(nb, POLLIN, 5000));
	EXPECT_EQ(1, fastrpc_recv_result(nb, NULL, NULL, buf, sizeof(buf), 0));
	close(nb);
}

TEST_F(err, max_calls_backpressure)
{
	struct fastrpc_sock_info info;
	uint64_t t;
	char buf[8];

	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 4));
	EXPECT_EQ(1, wait_events(self->cfd, POLLOUT, 0));
	for (t = 1; t <= 4; t++)
		ASSERT_EQ(1, fastrpc_send_call(self->cfd, t, M_ECHO, "m", 1,
					       MSG_DONTWAIT));
	EXPECT_EQ(-EAGAIN, fastrpc_send_call(self->cfd, 5, M_ECHO, "m", 1,
					     MSG_DONTWAIT));
	EXPECT_EQ(0, wait_events(self->cfd, POLLOUT, 200));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &info));
	EXPECT_EQ(4, info.calls_in_flight);

	/* One answered and received: a slot opens. */
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, &t, NULL, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(1, wait_events(self->cfd, POLLOUT, 2000));
	EXPECT_EQ(1, fastrpc_send_call(self->cfd, 5, M_ECHO, "m", 1,
				       MSG_DONTWAIT));
}

TEST_F(err, poll_readiness)
{
	char buf[8];

	EXPECT_EQ(1, wait_events(self->cfd, POLLOUT, 0));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 0));
	EXPECT_EQ(0, wait_events(self->sfd, POLLIN, 0));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "p", 1, 0));
	/* The server sees the call; the client nothing until answered. */
	EXPECT_EQ(1, wait_events(self->sfd, POLLIN, 5000));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 200));
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	EXPECT_EQ(0, wait_events(self->sfd, POLLIN, 0));
	EXPECT_EQ(1, wait_events(self->cfd, POLLIN, 5000));
	EXPECT_EQ(1, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 0));
}

TEST_F(err, rcvtimeo)
{
	uint64_t t0, ms;
	char buf[8];

	ASSERT_EQ(0, set_rcvtimeo(self->cfd, 300));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "t", 1, 0));
	t0 = now_ms();
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), 0));
	ms = now_ms() - t0;
	TH_LOG("SO_RCVTIMEO 300 ms returned after %llu ms",
	       (unsigned long long)ms);
	EXPECT_LE(250, ms);
	EXPECT_GE(10000, ms);

	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 300));
	EXPECT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	t0 = now_ms();
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     0));
	EXPECT_LE(250, now_ms() - t0);
}

/* SO_SNDTIMEO bounds a blocking send that waits for a FASTRPC_MAX_CALLS slot. */
TEST_F(err, sndtimeo)
{
	struct timeval tv = { .tv_usec = 300000 };
	uint64_t t0, ms;

	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 1));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "a", 1, 0));
	t0 = now_ms();
	EXPECT_EQ(-EAGAIN, fastrpc_send_call(self->cfd, 2, M_ECHO, "b", 1, 0));
	ms = now_ms() - t0;
	TH_LOG("SO_SNDTIMEO 300 ms returned after %llu ms",
	       (unsigned long long)ms);
	EXPECT_LE(250, ms);
	EXPECT_GE(10000, ms);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

TEST_F(err, eintr)
{
	struct itimerval it = { .it_value = { .tv_usec = 200000 } };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	char buf[8];

	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	/* A server waiting for calls. */
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					    0));
	EXPECT_EQ(1, alarms);
	/* A client waiting for a result. */
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "i", 1, 0));
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	EXPECT_EQ(-EINTR, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					      sizeof(buf), 0));
	EXPECT_EQ(2, alarms);
	/* The interrupted call is still in flight and completes. */
	ASSERT_EQ(1, serve_one(self->sfd, FASTRPC_OK));
	EXPECT_EQ(1, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					 sizeof(buf), 0));
}

TEST_F(err, server_side)
{
	struct fastrpc_incoming in;
	struct sockaddr_fastrpc peer;
	struct fastrpc_sock_info si;
	uint8_t req[100], buf[10];
	uint64_t deadline;
	bool found;
	int mflags;
	ssize_t n;

	fill_pattern(req, sizeof(req), 11);
	ASSERT_EQ(100, fastrpc_send_call(self->cfd, 1, 321, req, 100, 0));
	ASSERT_EQ(100, fastrpc_send_call(self->cfd, 2, 322, req, 100, 0));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &si));
	EXPECT_EQ(2, si.calls_in_flight);

	/* Both calls get queued at the server. */
	deadline = now_ms() + 5000;
	do {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	} while (si.rx_queued < 2 && now_ms() < deadline && !usleep(10000));
	EXPECT_EQ(2, si.rx_queued);

	/* Short buffer: truncated, caller address and INCOMING present. */
	memset(&peer, 0, sizeof(peer));
	n = raw_recvmsg(self->sfd, FASTRPC_CMSG_INCOMING, &in, sizeof(in),
			&found, buf, sizeof(buf), 0, &mflags, &peer);
	ASSERT_EQ(10, n);
	ASSERT_TRUE(found);
	EXPECT_TRUE(mflags & MSG_TRUNC);
	EXPECT_TRUE(mflags & MSG_EOR);
	EXPECT_EQ(0, memcmp(req, buf, 10));
	EXPECT_EQ(0, in.flags);
	EXPECT_EQ(0, in.timeout_ns);
	EXPECT_EQ(0, in.reserved);
	EXPECT_EQ(fastrpc_family(), peer.sfr_family);
	EXPECT_EQ(AF_INET, peer.sfr_ip_family);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), peer.sfr_addr.v4);
	EXPECT_NE(0, peer.sfr_port);
	EXPECT_EQ(1, fastrpc_send_reply(self->sfd, in.handle, FASTRPC_OK, "1",
					1, 0));

	/* MSG_TRUNC in flags: full length. */
	n = raw_recvmsg(self->sfd, FASTRPC_CMSG_INCOMING, &in, sizeof(in),
			&found, buf, sizeof(buf), MSG_TRUNC, &mflags, NULL);
	ASSERT_EQ(100, n);
	ASSERT_TRUE(found);
	EXPECT_TRUE(mflags & MSG_TRUNC);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	EXPECT_EQ(1, si.calls_in_flight);
	EXPECT_EQ(1, fastrpc_send_reply(self->sfd, in.handle, FASTRPC_OK, "2",
					1, 0));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	EXPECT_EQ(0, si.calls_in_flight);
}

TEST_F(err, client_close_cancels)
{
	struct fastrpc_call_info info;
	uint64_t h;
	struct fastrpc_sock_info si;
	char buf[8];
	ssize_t n;

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_ECHO, "c", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf), 0));
	h = info.handle;
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 2, M_ECHO, "d", 1, 0));
	close(self->cfd);
	self->cfd = -1;
	usleep(500000);
	/*
	 * The delivered call was cancelled: the server is told with an
	 * empty CANCELLED message for its handle, and a late reply is
	 * refused.  The undelivered one is withdrawn without a trace.
	 */
	{
		struct fastrpc_incoming in;
		bool found;
		int mflags;

		n = raw_recvmsg(self->sfd, FASTRPC_CMSG_INCOMING, &in,
				sizeof(in), &found, buf, sizeof(buf),
				MSG_DONTWAIT, &mflags, NULL);
		ASSERT_EQ(0, n);
		ASSERT_TRUE(found);
		EXPECT_EQ(h, in.handle);
		EXPECT_TRUE(in.flags & FASTRPC_IN_CANCELLED);
		EXPECT_TRUE(mflags & MSG_EOR);
	}
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, &info, buf, sizeof(buf),
					     MSG_DONTWAIT));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	EXPECT_EQ(1, si.calls_in_flight);
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, h, FASTRPC_OK,
						 "x", 1, 0));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	EXPECT_EQ(0, si.calls_in_flight);
}

/*
 * Server side: every ready call with one fastrpc_recv_calls(), answers
 * with one fastrpc_send_replies(); a stale handle in the middle reports
 * its error after the replies before it went.
 */
TEST(batch_server)
{
	enum { N = 5 };
	struct fastrpc_call_buf in[8];
	struct fastrpc_reply_req rep[N + 1];
	struct fastrpc_call_req c[N];
	struct fastrpc_result_buf out[8];
	uint8_t req[N][8], sbuf[8][16], cbuf[8][16];
	unsigned int got = 0, seen = 0;
	int sfd, cfd, i, k, err;
	uint16_t port;

	ASSERT_EQ(0, pair_open(BASE_PORT, _metadata->name, 10000, &sfd, &cfd,
			       &port));
	for (i = 0; i < N; i++) {
		fill_pattern(req[i], sizeof(req[i]), (uint64_t)i);
		c[i] = (struct fastrpc_call_req){ .tag = 900 + i,
						  .method = 42,
						  .buf = req[i], .len = 8 };
	}
	ASSERT_EQ(N, fastrpc_send_calls(cfd, c, N, 0, &err));
	while (got < N) {
		for (i = 0; i < 8; i++) {
			in[i].buf = sbuf[i];
			in[i].len = sizeof(sbuf[i]);
		}
		k = fastrpc_recv_calls(sfd, in, 8, 0);
		ASSERT_LT(0, k) TH_LOG("recv_calls: %s", fastrpc_strerror(k));
		ASSERT_GE(N - got, (unsigned int)k);
		for (i = 0; i < k; i++) {
			EXPECT_EQ(42, in[i].method);
			EXPECT_EQ(8, in[i].n);
			EXPECT_EQ(1, in[i].eor);
			EXPECT_EQ(0, in[i].flags);
			EXPECT_EQ(AF_INET, in[i].peer.sfr_ip_family);
			memcpy(cbuf[got + i], sbuf[i], 8);
			rep[got + i + (got + i >= 2)] = (struct fastrpc_reply_req){
				.handle = in[i].handle, .status = FASTRPC_OK,
				.buf = cbuf[got + i], .len = 8 };
		}
		got += (unsigned int)k;
	}
	/* entry 2 is a handle nobody was given */
	rep[2] = (struct fastrpc_reply_req){ .handle = ~0ull,
					     .status = FASTRPC_OK };
	ASSERT_EQ(2, fastrpc_send_replies(sfd, rep, N + 1, 0, &err));
	EXPECT_EQ(-ENOENT, err);
	ASSERT_EQ(N - 2, fastrpc_send_replies(sfd, rep + 3, N - 2, 0, &err));
	EXPECT_EQ(0, err);

	for (got = 0; got < N; got += (unsigned int)k) {
		for (i = 0; i < 8; i++) {
			out[i].buf = cbuf[i];
			out[i].len = sizeof(cbuf[i]);
		}
		k = fastrpc_recv_results(cfd, out, 8, 0);
		ASSERT_LT(0, k) TH_LOG("recv_results: %s", fastrpc_strerror(k));
		for (i = 0; i < k; i++) {
			uint64_t t = out[i].tag - 900;

			ASSERT_GT(N, t);
			EXPECT_EQ(FASTRPC_OK, out[i].status);
			EXPECT_EQ(8, out[i].n);
			EXPECT_EQ(0, memcmp(cbuf[i], req[t], 8));
			seen |= 1u << t;
		}
	}
	EXPECT_EQ((1u << N) - 1, seen);
	pair_close(sfd, cfd);
}

TEST_HARNESS_MAIN
