// SPDX-License-Identifier: GPL-2.0-only
/*
 * Teardown at scale: tens of thousands of calls, messages and tiny frames
 * that the module must end, cancel or free in one event.
 *
 *  - a client socket closed with its calls open (a CANCEL each);
 *  - cancel storms by tag: calls the server application holds, and calls
 *    started and cancelled batch by batch while CALL and CANCEL frames
 *    interleave on the wire;
 *  - a raw TCP peer that opens thousands of calls, floods 1-byte DATA
 *    frames into them (fragments of unfinished messages, or complete
 *    messages the server application never reads), then resets or closes
 *    the connection;
 *  - a server socket closed with tens of thousands of calls unanswered.
 *
 * The cases assert only what user space sees: every call ends once with
 * the right status, the server is told, its queues and the module's
 * gauges drain, and a fresh call works afterwards.  The harness fails the
 * run on any soft lockup, hung task, WARNING, BUG or KASAN line in the
 * kernel log, which is what the sizes here are chosen to provoke on a
 * module that does this work in one pass.  No timing is asserted; phase
 * times are logged.
 *
 * Each case runs in a network namespace of its own, so the counters of
 * /proc/net/fastrpc are its own and its connections go with it.  Module
 * parameters that cap calls per connection or per peer (newer modules)
 * are raised for the case and restored after it.
 */
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define TD_PORT		9000
/* sendmmsg() batch */
#define TD_BATCH	256
/* calls started between two looks at the server */
#define TD_STEP		1000
/* calls per batch of the interleaved cancel storm */
#define TD_STORM_BATCH	500
/* the most a module parameter is raised to: FASTRPC_MAX_CALLS' ceiling */
#define TD_PARAM_MAX	65536
/* waits: generous, the debug kernel under TCG is 100x slower or more */
#define TD_WAIT_MS	(300 * 1000)
#define TD_RCVTIMEO_MS	(120 * 1000)

/*
 * How much of everything: each case builds its load step by step up to a
 * count or until a time budget is spent, whichever comes first.  Debian's
 * kernels reach the counts in a few seconds.  The debug kernel (KASAN,
 * lockdep, kmemleak) under TCG spends a millisecond or more on every
 * allocation and free, more on a busy host, and there the budgets bind.
 * Tearing a load down costs a fixed share of building it, about a third
 * for calls and about the whole for tiny frames, so a budget also sets how
 * long a teardown that never yields holds its CPU, whatever the host's
 * speed: on the debug kernel 7 to 17 s for these budgets.  make check
 * boots that kernel with watchdog_thresh=5, a soft-lockup threshold of
 * 10 s instead of 20, so the budgets (half of what they were with the
 * default threshold) still straddle it, and the program takes about 80 s
 * there instead of 150.
 */
enum td_limits {
	/* client_close_many_calls */
	TD_CALLS		= 30000,
	TD_CLIENT_CLOSE_MS	= 12500,
	/* server_close_many_pending: TD_CALLS too */
	TD_SERVER_CLOSE_MS	= 25000,
	/* cancel_storm_taken_calls */
	TD_TAKEN_CALLS		= 15000,
	TD_TAKEN_MS		= 6000,
	/* cancel_storm_interleaved */
	TD_STORM_CALLS		= 20000,
	TD_STORM_MS		= 7500,
	/* raw peer: calls, rounds of one 1-byte DATA frame on each call */
	TD_RAW_CALLS		= 2000,
	TD_RAW_ROUNDS		= 40,
	TD_RAW_MS		= 17500,
};

/*
 * Module parameters that may cap calls, and the memory tens of thousands
 * of open calls take (about 1.5 KiB each on a server); raised for each
 * case: this test is about teardown at scale, t_memory about the caps.
 */
static const char *const td_param_names[] = {
	"conn_max_calls",
	"peer_max_calls",
	"conn_rx_mem",
	"net_rx_mem",
};
#define TD_NPARAMS	(sizeof(td_param_names) / sizeof(td_param_names[0]))
#define TD_NCALL_PARAMS	2
#define TD_MEM_MAX	(512u << 20)

struct td_params {
	long saved[TD_NPARAMS];		/* < 0: no such parameter */
	long cap;			/* smallest cap after raising; 0: none */
};

static void td_params_raise(struct __test_metadata *_metadata,
			    struct td_params *p)
{
	size_t i;
	long now;
	int ret;

	p->cap = 0;
	for (i = 0; i < TD_NPARAMS; i++) {
		p->saved[i] = frpc_param_long(td_param_names[i]);
		if (p->saved[i] < 0)
			continue;
		ret = frpc_set_param(td_param_names[i],
				     i < TD_NCALL_PARAMS ? TD_PARAM_MAX :
							   TD_MEM_MAX);
		now = frpc_param_long(td_param_names[i]);
		if (i >= TD_NCALL_PARAMS)
			continue;	/* bytes, not a cap on calls */
		if (ret)
			TH_LOG("%s: cannot raise from %ld: %s",
			       td_param_names[i], p->saved[i], strerror(-ret));
		if (now > 0 && (!p->cap || now < p->cap))
			p->cap = now;
	}
}

static void td_params_restore(struct td_params *p)
{
	size_t i;

	for (i = 0; i < TD_NPARAMS; i++)
		if (p->saved[i] >= 0)
			frpc_set_param(td_param_names[i],
				       (unsigned int)p->saved[i]);
}

/* @want calls, or fewer when a parameter could not be raised far enough. */
static int td_size(struct __test_metadata *_metadata,
		   const struct td_params *p, int want)
{
	if (p->cap && p->cap - 16 < want) {
		TH_LOG("calls capped at %ld by a module parameter: %d, not %d",
		       p->cap, (int)p->cap - 16, want);
		return (int)p->cap - 16;
	}
	return want;
}

/* Move the calling process into a new network namespace, loopback up. */
static int td_fresh_netns(void)
{
	struct ifreq ifr;
	int fd, ret = 0;

	if (unshare(CLONE_NEWNET))
		return -errno;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		ret = -errno;
	if (!ret) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			ret = -errno;
	}
	close(fd);
	return ret;
}

/* Elapsed milliseconds since @t0 (from now_ms()). */
static unsigned long long td_since(uint64_t t0)
{
	return (unsigned long long)(now_ms() - t0);
}

/*
 * Start @n calls of @method with tags @tag0.. on client @fd, TD_BATCH per
 * sendmmsg(); each carries its tag as 8 request bytes.  Blocking.
 * Returns @n or -errno of the first call that failed.
 */
static int td_start_calls(int fd, uint64_t tag0, int n, uint32_t method)
{
	static struct mmsghdr mm[TD_BATCH];
	static struct iovec iov[TD_BATCH];
	static union {
		char b[CMSG_SPACE(sizeof(struct fastrpc_call))];
		struct cmsghdr align;
	} ctl[TD_BATCH];
	static uint64_t req[TD_BATCH];
	int done = 0, k, i, r;

	while (done < n) {
		k = n - done < TD_BATCH ? n - done : TD_BATCH;
		for (i = 0; i < k; i++) {
			struct fastrpc_call call = {
				.tag = tag0 + (uint64_t)done + (uint64_t)i,
				.method = method,
			};
			struct cmsghdr *cm = &ctl[i].align;

			memset(&ctl[i], 0, sizeof(ctl[i]));
			cm->cmsg_level = SOL_FASTRPC;
			cm->cmsg_type = FASTRPC_CMSG_CALL;
			cm->cmsg_len = CMSG_LEN(sizeof(call));
			memcpy(CMSG_DATA(cm), &call, sizeof(call));
			req[i] = call.tag;
			iov[i].iov_base = &req[i];
			iov[i].iov_len = sizeof(req[i]);
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_control = ctl[i].b;
			mm[i].msg_hdr.msg_controllen = sizeof(ctl[i].b);
		}
		r = sendmmsg(fd, mm, (unsigned int)k, MSG_NOSIGNAL);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += r;	/* a short count: the next round reports why */
	}
	return done;
}

/*
 * Poll FASTRPC_SOCK_INFO of @fd until calls_in_flight is @inflight and
 * rx_queued is @rxq (-1: either may be anything), for up to @ms.
 * 0, -ETIMEDOUT, or the getsockopt error; *@si holds the last reading.
 */
static int td_wait_info(int fd, long inflight, long rxq, int ms,
			struct fastrpc_sock_info *si)
{
	uint64_t t0 = now_ms();
	int ret;

	for (;;) {
		ret = fastrpc_get_sock_info(fd, si);
		if (ret)
			return ret;
		if ((inflight < 0 || si->calls_in_flight == inflight) &&
		    (rxq < 0 || si->rx_queued == rxq))
			return 0;
		if (now_ms() - t0 > (uint64_t)ms)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

/* Poll counter @name of /proc/net/fastrpc until it is @want, for @ms. */
static int td_wait_counter(const char *name, long long want, int ms,
			   long long *last)
{
	uint64_t t0 = now_ms();

	for (;;) {
		*last = proc_counter(name);
		if (*last == want)
			return 0;
		if (now_ms() - t0 > (uint64_t)ms)
			return -ETIMEDOUT;
		usleep(20000);
	}
}

/*
 * Collect @n final results on client @fd, each a tag in [@tag0, @tag0+@n)
 * exactly once with @status.  Returns how many matched; logs the first
 * few that did not.
 */
static int td_collect(struct __test_metadata *_metadata, int fd,
		      uint64_t tag0, int n, uint32_t status)
{
	uint8_t *seen = calloc((size_t)n, 1);
	struct fastrpc_result_info ri;
	int good = 0, bad = 0, i;
	char buf[16];
	ssize_t r;

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		memset(&ri, 0, sizeof(ri));
		r = fastrpc_recv_result_ex(fd, &ri, buf, sizeof(buf), 0);
		if (r < 0) {
			TH_LOG("result %d of %d: %s", i, n,
			       fastrpc_strerror((int)r));
			break;
		}
		if (ri.tag >= tag0 && ri.tag - tag0 < (uint64_t)n &&
		    !seen[ri.tag - tag0] && ri.eor && ri.status == status) {
			seen[ri.tag - tag0] = 1;
			good++;
		} else if (bad++ < 5) {
			TH_LOG("result %d: tag %llu eor %u status %s (want %s)",
			       i, (unsigned long long)ri.tag, ri.eor,
			       fastrpc_status_str(ri.status),
			       fastrpc_status_str(status));
		}
	}
	free(seen);
	return good;
}

/*
 * Receive @n first messages of calls on server @sfd (the application
 * takes the calls and never answers them).  Handles go to @handles.
 */
static int td_server_take(struct __test_metadata *_metadata, int sfd, int n,
			  uint64_t *handles)
{
	struct fastrpc_incoming_info ii;
	char buf[16];
	ssize_t r;
	int i;

	for (i = 0; i < n; i++) {
		r = srv_recv(sfd, &ii, buf, sizeof(buf));
		if (r < 0 || ii.flags) {
			TH_LOG("call %d of %d: %zd, flags %#x", i, n, r,
			       ii.flags);
			return i;
		}
		handles[i] = ii.handle;
	}
	return n;
}

/*
 * Receive @n cancellation notices on server @sfd, for handles among the
 * @nh in @handles, each once, and answer each (ECANCELED, which frees
 * it).  Returns how many were as expected.
 */
static int td_server_notices(struct __test_metadata *_metadata, int sfd,
			     int n, const uint64_t *handles, int nh)
{
	uint64_t hmin = UINT64_MAX, hmax = 0;
	struct fastrpc_incoming_info ii;
	uint8_t *seen;
	int good = 0, bad = 0, i;
	char buf[16];
	ssize_t r;

	for (i = 0; i < nh; i++) {
		if (handles[i] < hmin)
			hmin = handles[i];
		if (handles[i] > hmax)
			hmax = handles[i];
	}
	if (!nh)
		hmin = hmax = 0;
	seen = calloc((size_t)(hmax - hmin + 1), 1);
	if (!seen)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r = srv_recv(sfd, &ii, buf, sizeof(buf));
		if (r < 0) {
			TH_LOG("notice %d of %d: %s", i, n,
			       fastrpc_strerror((int)r));
			break;
		}
		if (r == 0 && ii.flags == FASTRPC_IN_CANCELLED && ii.eor &&
		    ii.handle >= hmin && ii.handle <= hmax &&
		    !seen[ii.handle - hmin]) {
			seen[ii.handle - hmin] = 1;
			good++;
		} else if (bad++ < 5) {
			TH_LOG("notice %d: handle %llu flags %#x len %zd", i,
			       (unsigned long long)ii.handle, ii.flags, r);
		}
		r = fastrpc_send_reply(sfd, ii.handle, FASTRPC_OK, NULL, 0, 0);
		if (r != -ECANCELED && bad++ < 5)
			TH_LOG("reply to notice %d: %zd, not ECANCELED", i, r);
	}
	free(seen);
	return good;
}

/* A new server and client in this namespace: one echo call answered. */
static int td_fresh_pair(uint16_t port)
{
	struct echo_srv srv;
	uint32_t status = 99;
	char buf[16];
	ssize_t n;
	int fd, ret;

	ret = echo_srv_start(&srv, AF_INET, port, 1);
	if (ret) {
		echo_srv_stop(&srv);
		return ret;
	}
	fd = fastrpc_client_open("127.0.0.1", srv.port, SOCK_CLOEXEC);
	if (fd < 0) {
		echo_srv_stop(&srv);
		return fd;
	}
	set_rcvtimeo(fd, TD_RCVTIMEO_MS);
	n = fastrpc_call(fd, M_ECHO, "fresh", 5, buf, sizeof(buf), &status);
	close(fd);
	echo_srv_stop(&srv);
	if (n < 0)
		return (int)n;
	return n == 5 && status == FASTRPC_OK && !memcmp(buf, "fresh", 5) ?
	       0 : -EBADMSG;
}

/*
 * A server socket and a client socket connected to it, both allowed
 * TD_PARAM_MAX calls, in a namespace of the case's own.
 */
FIXTURE(td) {
	struct td_params params;
	uint64_t t_start;
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(td)
{
	int ret;

	self->t_start = now_ms();
	self->sfd = -1;
	self->cfd = -1;
	self->params.cap = 0;
	memset(self->params.saved, 0xff, sizeof(self->params.saved));
	ret = td_fresh_netns();
	ASSERT_EQ(0, ret) TH_LOG("netns: %s", strerror(-ret));
	td_params_raise(_metadata, &self->params);
	self->port = TD_PORT;
	self->sfd = open_server(AF_INET, &self->port);
	ASSERT_LE(0, self->sfd)
		TH_LOG("server: %s", fastrpc_strerror(self->sfd));
	self->cfd = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, self->cfd)
		TH_LOG("connect: %s", fastrpc_strerror(self->cfd));
	ASSERT_EQ(0, fastrpc_set_max_calls(self->sfd, TD_PARAM_MAX));
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, TD_PARAM_MAX));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, TD_RCVTIMEO_MS));
	ASSERT_EQ(0, set_rcvtimeo(self->cfd, TD_RCVTIMEO_MS));
}

FIXTURE_TEARDOWN(td)
{
	if (self->cfd >= 0)
		close(self->cfd);
	if (self->sfd >= 0)
		close(self->sfd);
	td_params_restore(&self->params);
	TH_LOG("case took %llu ms", td_since(self->t_start));
}

/*
 * Start calls of M_HOLD, tags from 1, on client @cfd, TD_STEP at a time,
 * each step waiting until server @sfd has taken all of them in, until
 * @max are open or @budget_ms has passed.  How many, or -errno.
 */
static int td_start_paced(struct __test_metadata *_metadata, int cfd,
			  int sfd, int max, int budget_ms)
{
	struct fastrpc_sock_info si;
	uint64_t t0 = now_ms();
	int n = 0, step, ret;

	while (n < max && now_ms() - t0 < (uint64_t)budget_ms) {
		step = max - n < TD_STEP ? max - n : TD_STEP;
		ret = td_start_calls(cfd, (uint64_t)n + 1, step, M_HOLD);
		if (ret < 0) {
			TH_LOG("starting calls %d..: %s", n + 1,
			       fastrpc_strerror(ret));
			return ret;
		}
		n += step;
		ret = td_wait_info(sfd, n, -1, TD_WAIT_MS, &si);
		if (ret) {
			TH_LOG("server holds %u calls, not %d",
			       si.calls_in_flight, n);
			return ret;
		}
	}
	return n;
}

/*
 * A client socket with up to TD_CALLS calls open at a server that never
 * answers is closed: every call is cancelled, a CANCEL for each goes to
 * the server.  The server application had taken a quarter of them and
 * gets a notice for each; the rest vanish from its queue.
 */
TEST_F_TIMEOUT(td, client_close_many_calls, 600)
{
	struct fastrpc_sock_info si;
	uint64_t *handles, t0;
	int n, k, ret;

	n = td_size(_metadata, &self->params, TD_CALLS);
	t0 = now_ms();
	n = td_start_paced(_metadata, self->cfd, self->sfd, n,
			   TD_CLIENT_CLOSE_MS);
	ASSERT_LT(0, n);
	ret = td_wait_info(self->sfd, n, n, TD_WAIT_MS, &si);
	ASSERT_EQ(0, ret) TH_LOG("server holds %u calls, %u queued, not %d",
				 si.calls_in_flight, si.rx_queued, n);
	TH_LOG("%d calls started and queued at the server in %llu ms", n,
	       td_since(t0));
	k = n / 4;
	handles = calloc((size_t)k + 1, sizeof(*handles));
	ASSERT_NE(NULL, handles);
	t0 = now_ms();
	ASSERT_EQ(k, td_server_take(_metadata, self->sfd, k, handles));
	TH_LOG("server application took %d of them in %llu ms", k,
	       td_since(t0));

	t0 = now_ms();
	close(self->cfd);
	self->cfd = -1;
	TH_LOG("close() of the client with %d calls open: %llu ms", n,
	       td_since(t0));

	/* the unread calls vanish, the taken ones await a reply: notices */
	t0 = now_ms();
	ret = td_wait_info(self->sfd, k, k, TD_WAIT_MS, &si);
	EXPECT_EQ(0, ret) TH_LOG("server: %u calls, %u queued; want %d, %d",
				 si.calls_in_flight, si.rx_queued, k, k);
	TH_LOG("server acted on the %d CANCELs in %llu ms", n, td_since(t0));
	EXPECT_LE(n, proc_counter("calls_cancelled"));
	EXPECT_EQ(k, td_server_notices(_metadata, self->sfd, k, handles, k));
	ret = td_wait_info(self->sfd, 0, 0, TD_WAIT_MS, &si);
	EXPECT_EQ(0, ret) TH_LOG("server left with %u calls, %u queued",
				 si.calls_in_flight, si.rx_queued);
	free(handles);

	t0 = now_ms();
	close(self->sfd);
	self->sfd = -1;
	TH_LOG("close() of the server: %llu ms", td_since(t0));
	EXPECT_EQ(0, td_fresh_pair(TD_PORT + 1));
}

/*
 * Up to TD_TAKEN_CALLS calls, each taken by the server application, are
 * cancelled by tag one at a time: a CANCELLED result for each at the
 * client, a notice for each at the server.
 */
TEST_F_TIMEOUT(td, cancel_storm_taken_calls, 600)
{
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info si;
	uint64_t *handles, t0;
	int n, i, ret;
	char buf[8];

	n = td_size(_metadata, &self->params, TD_TAKEN_CALLS);
	t0 = now_ms();
	n = td_start_paced(_metadata, self->cfd, self->sfd, n, TD_TAKEN_MS);
	ASSERT_LT(0, n);
	handles = calloc((size_t)n, sizeof(*handles));
	ASSERT_NE(NULL, handles);
	ASSERT_EQ(n, td_server_take(_metadata, self->sfd, n, handles));
	TH_LOG("%d calls started and taken by the server in %llu ms", n,
	       td_since(t0));

	t0 = now_ms();
	for (i = 0; i < n; i++) {
		ret = fastrpc_cancel(self->cfd, (uint64_t)i + 1);
		ASSERT_EQ(0, ret) TH_LOG("cancel %d: %s", i + 1,
					 fastrpc_strerror(ret));
	}
	TH_LOG("%d cancels in %llu ms", n, td_since(t0));
	t0 = now_ms();
	EXPECT_EQ(n, td_collect(_metadata, self->cfd, 1, n, FASTRPC_CANCELLED));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &si));
	EXPECT_EQ(0, si.calls_in_flight);
	TH_LOG("%d CANCELLED results read in %llu ms", n, td_since(t0));

	t0 = now_ms();
	EXPECT_EQ(n, td_server_notices(_metadata, self->sfd, n, handles, n));
	TH_LOG("%d notices read and answered in %llu ms", n, td_since(t0));
	EXPECT_LE(n, proc_counter("calls_cancelled"));
	ret = td_wait_info(self->sfd, 0, 0, TD_WAIT_MS, &si);
	EXPECT_EQ(0, ret) TH_LOG("server left with %u calls, %u queued",
				 si.calls_in_flight, si.rx_queued);
	free(handles);

	/* the connection still carries calls */
	ASSERT_EQ(2, fastrpc_send_call(self->cfd, 1, M_ECHO, "ok", 2, 0));
	ASSERT_EQ(2, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(0, ii.flags);
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, buf,
					2, 0));
	EXPECT_EQ(1, td_collect(_metadata, self->cfd, 1, 1, FASTRPC_OK));
}

/* Cancel calls @first..@first+@cnt-1 (tags from 1) one by one. */
static int td_cancel_range(struct __test_metadata *_metadata, int fd,
			   int first, int cnt)
{
	int i, ret;

	for (i = first; i < first + cnt; i++) {
		ret = fastrpc_cancel(fd, (uint64_t)i + 1);
		if (ret) {
			TH_LOG("cancel %d: %s", i + 1, fastrpc_strerror(ret));
			return ret;
		}
	}
	return 0;
}

/*
 * Up to TD_STORM_CALLS calls started in batches of TD_STORM_BATCH, each
 * batch cancelled by tag once the next one went out, so that the server
 * parses CALL and CANCEL frames mixed in one stream while its application
 * does not read: the calls it queued vanish again.  Every call ends
 * CANCELLED exactly once.
 */
TEST_F_TIMEOUT(td, cancel_storm_interleaved, 600)
{
	struct fastrpc_sock_info si;
	int n, max, cnt, prev = 0;
	long long held;
	uint64_t t0;

	max = td_size(_metadata, &self->params, TD_STORM_CALLS);
	t0 = now_ms();
	for (n = 0; n < max && now_ms() - t0 < TD_STORM_MS; n += cnt) {
		cnt = max - n < TD_STORM_BATCH ? max - n : TD_STORM_BATCH;
		ASSERT_EQ(cnt, td_start_calls(self->cfd, (uint64_t)n + 1, cnt,
					      M_HOLD));
		if (n)
			ASSERT_EQ(0, td_cancel_range(_metadata, self->cfd,
						     n - prev, prev));
		prev = cnt;
	}
	ASSERT_EQ(0, td_cancel_range(_metadata, self->cfd, n - prev, prev));
	TH_LOG("%d calls started and cancelled in batches of %d in %llu ms",
	       n, TD_STORM_BATCH, td_since(t0));
	t0 = now_ms();
	EXPECT_EQ(n, td_collect(_metadata, self->cfd, 1, n, FASTRPC_CANCELLED));
	TH_LOG("%d CANCELLED results read in %llu ms", n, td_since(t0));

	/* nothing reached the application; nothing stays at the server */
	t0 = now_ms();
	EXPECT_EQ(0, td_wait_info(self->sfd, 0, 0, TD_WAIT_MS, &si))
		TH_LOG("server left with %u calls, %u queued",
		       si.calls_in_flight, si.rx_queued);
	EXPECT_EQ(0, td_wait_counter("rx_held_bytes", 0, TD_WAIT_MS, &held))
		TH_LOG("rx_held_bytes stays at %lld", held);
	TH_LOG("server drained in %llu ms; calls_cancelled %lld (client "
	       "and server side)", td_since(t0),
	       proc_counter("calls_cancelled"));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, NULL, 0,
					     MSG_DONTWAIT));
	EXPECT_EQ(0, td_fresh_pair(TD_PORT + 1));
}

/*
 * A server socket with up to TD_CALLS calls unanswered (a tenth taken by
 * the application, the rest still queued) is closed: every call ends
 * UNAVAILABLE at the client.
 */
TEST_F_TIMEOUT(td, server_close_many_pending, 600)
{
	struct fastrpc_sock_info si;
	uint64_t *handles, t0;
	int n, k, ret;

	n = td_size(_metadata, &self->params, TD_CALLS);
	t0 = now_ms();
	n = td_start_paced(_metadata, self->cfd, self->sfd, n,
			   TD_SERVER_CLOSE_MS);
	ASSERT_LT(0, n);
	ret = td_wait_info(self->sfd, n, n, TD_WAIT_MS, &si);
	ASSERT_EQ(0, ret) TH_LOG("server holds %u calls, %u queued, not %d",
				 si.calls_in_flight, si.rx_queued, n);
	k = n / 10;
	handles = calloc((size_t)k + 1, sizeof(*handles));
	ASSERT_NE(NULL, handles);
	ASSERT_EQ(k, td_server_take(_metadata, self->sfd, k, handles));
	free(handles);
	TH_LOG("%d calls started, %d taken by the server in %llu ms", n, k,
	       td_since(t0));

	t0 = now_ms();
	close(self->sfd);
	self->sfd = -1;
	TH_LOG("close() of the server with %d calls open: %llu ms", n,
	       td_since(t0));
	t0 = now_ms();
	EXPECT_EQ(n, td_collect(_metadata, self->cfd, 1, n,
				FASTRPC_UNAVAILABLE));
	TH_LOG("%d UNAVAILABLE results read in %llu ms", n, td_since(t0));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->cfd, &si));
	EXPECT_EQ(0, si.calls_in_flight);
	EXPECT_EQ(0, si.rx_queued);
	EXPECT_EQ(0, td_fresh_pair(TD_PORT + 1));
}

/*
 * A raw TCP peer speaking the wire protocol: HELLO, then up to
 * TD_RAW_CALLS calls, then rounds of one 1-byte DATA frame on each call,
 * all within the windows the server announced, then a reset or a close.
 */
struct raw_peer {
	int fd;
	pthread_t thr;
	bool running;
	atomic_int stop;
	atomic_int eof;			/* 1: end of stream, <0: -errno */
	atomic_int error_code;		/* ERROR frame's code, -1: none */
	atomic_uint pongs;
	atomic_uint ends;
	atomic_uint ends_unavailable;
	atomic_uint other;
	uint32_t call_window;		/* from the server's HELLO */
	uint32_t conn_window;
	uint8_t in[2 * (FASTRPC_FRAME_HDR_LEN + FASTRPC_MAX_FRAME)];
	size_t have;
};

/* TCP connection and HELLO exchange with the server at @port. */
static int td_raw_connect(struct raw_peer *rp, uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct fastrpc_wire_hello hello = {
		.magic = htonl(FASTRPC_HELLO_MAGIC),
		.min_version = FASTRPC_PROTO_V1,
		.max_version = FASTRPC_PROTO_V1,
		.max_frame = htonl(FASTRPC_MAX_FRAME),
		.max_msg = htonl(FASTRPC_MAX_MSG),
		.call_window = htonl(FASTRPC_MIN_CALL_WINDOW),
		.conn_window = htonl(FASTRPC_MIN_CONN_WINDOW),
	};
	uint8_t buf[FASTRPC_FRAME_HDR_LEN + sizeof(hello)];
	struct fastrpc_frame_hdr h;
	struct timeval tv = { .tv_sec = TD_RCVTIMEO_MS / 1000 };
	int one = 1, ret;

	rp->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rp->fd < 0)
		return -errno;
	setsockopt(rp->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(rp->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(rp->fd, (struct sockaddr *)&sin, sizeof(sin)))
		return -errno;
	memcpy(frpc_put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_HELLO, 0, 0,
			    sizeof(hello)), &hello, sizeof(hello));
	ret = frpc_send_all(rp->fd, buf, sizeof(buf));
	if (ret)
		return ret;
	ret = frpc_recv_all(rp->fd, &h, sizeof(h));
	if (ret)
		return ret;
	if (h.type != FASTRPC_FRAME_HELLO || ntohl(h.length) != sizeof(hello))
		return -EPROTO;
	ret = frpc_recv_all(rp->fd, &hello, sizeof(hello));
	if (ret)
		return ret;
	if (ntohl(hello.magic) != FASTRPC_HELLO_MAGIC)
		return -EPROTO;
	rp->call_window = ntohl(hello.call_window);
	rp->conn_window = ntohl(hello.conn_window);
	return 0;
}

/* Count one frame from the server. */
static void td_raw_frame(struct raw_peer *rp, const struct fastrpc_frame_hdr *h,
			 const uint8_t *payload)
{
	struct fastrpc_wire_error we;
	struct fastrpc_wire_end end;
	uint32_t len = ntohl(h->length);

	switch (h->type) {
	case FASTRPC_FRAME_PONG:
		atomic_fetch_add(&rp->pongs, 1);
		break;
	case FASTRPC_FRAME_END:
		atomic_fetch_add(&rp->ends, 1);
		if (len >= sizeof(end)) {
			memcpy(&end, payload, sizeof(end));
			if (ntohl(end.status) == FASTRPC_UNAVAILABLE)
				atomic_fetch_add(&rp->ends_unavailable, 1);
		}
		break;
	case FASTRPC_FRAME_ERROR:
		if (len >= sizeof(we)) {
			memcpy(&we, payload, sizeof(we));
			atomic_store(&rp->error_code, (int)ntohl(we.code));
		}
		break;
	case FASTRPC_FRAME_PING:
	case FASTRPC_FRAME_CREDIT:
	case FASTRPC_FRAME_GOAWAY:
		break;
	default:
		atomic_fetch_add(&rp->other, 1);
		break;
	}
}

/* Read and count the server's frames until end of stream or stop. */
static void *td_raw_reader(void *arg)
{
	struct raw_peer *rp = arg;
	struct fastrpc_frame_hdr h;
	size_t off, len;
	ssize_t n;
	int ret;

	while (!atomic_load(&rp->stop)) {
		ret = wait_events(rp->fd, POLLIN, 100);
		if (ret < 0) {
			atomic_store(&rp->eof, ret);
			break;
		}
		if (!ret)
			continue;
		n = recv(rp->fd, rp->in + rp->have, sizeof(rp->in) - rp->have,
			 MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			atomic_store(&rp->eof, n < 0 ? -errno : 1);
			break;
		}
		rp->have += (size_t)n;
		for (off = 0; rp->have - off >= FASTRPC_FRAME_HDR_LEN;
		     off += len) {
			memcpy(&h, rp->in + off, sizeof(h));
			len = FASTRPC_FRAME_HDR_LEN + ntohl(h.length);
			if (len > sizeof(rp->in) / 2) {
				atomic_store(&rp->eof, -EMSGSIZE);
				return NULL;
			}
			if (rp->have - off < len)
				break;
			td_raw_frame(rp, &h, rp->in + off + sizeof(h));
		}
		memmove(rp->in, rp->in + off, rp->have - off);
		rp->have -= off;
	}
	return NULL;
}

static void td_raw_stop_reader(struct raw_peer *rp)
{
	if (!rp->running)
		return;
	atomic_store(&rp->stop, 1);
	pthread_join(rp->thr, NULL);
	rp->running = false;
}

/* Wait for end of stream from the server; 0 or -ETIMEDOUT. */
static int td_raw_wait_eof(struct raw_peer *rp, int ms)
{
	uint64_t t0 = now_ms();

	while (!atomic_load(&rp->eof)) {
		if (now_ms() - t0 > (uint64_t)ms)
			return -ETIMEDOUT;
		usleep(20000);
	}
	return 0;
}

enum td_raw_end {
	TD_END_RST,	/* SO_LINGER 0 and close(): the server sees a reset */
	TD_END_FIN,	/* shutdown(SHUT_WR): an orderly close */
};

FIXTURE(raw) {
	struct td_params params;
	uint64_t t_start;
	struct raw_peer *rp;
	int sfd;
	uint16_t port;
};

FIXTURE_VARIANT(raw) {
	bool messages;		/* each DATA frame ends a message (EOM) */
	enum td_raw_end end;
};

/* Fragments of unfinished first messages, then a reset. */
FIXTURE_VARIANT_ADD(raw, fragments_reset) {
	.messages = false,
	.end = TD_END_RST,
};

/* Fragments of unfinished first messages, then FIN. */
FIXTURE_VARIANT_ADD(raw, fragments_fin) {
	.messages = false,
	.end = TD_END_FIN,
};

/* Complete 1-byte messages the application never reads, then a reset. */
FIXTURE_VARIANT_ADD(raw, messages_reset) {
	.messages = true,
	.end = TD_END_RST,
};

FIXTURE_SETUP(raw)
{
	int ret;

	self->t_start = now_ms();
	self->sfd = -1;
	self->rp = NULL;
	self->params.cap = 0;
	memset(self->params.saved, 0xff, sizeof(self->params.saved));
	ret = td_fresh_netns();
	ASSERT_EQ(0, ret) TH_LOG("netns: %s", strerror(-ret));
	td_params_raise(_metadata, &self->params);
	self->port = TD_PORT;
	self->sfd = open_server(AF_INET, &self->port);
	ASSERT_LE(0, self->sfd)
		TH_LOG("server: %s", fastrpc_strerror(self->sfd));
	ASSERT_EQ(0, fastrpc_set_max_calls(self->sfd, TD_PARAM_MAX));
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, TD_RCVTIMEO_MS));
	self->rp = calloc(1, sizeof(*self->rp));
	ASSERT_NE(NULL, self->rp);
	self->rp->fd = -1;
	atomic_store(&self->rp->error_code, -1);
}

FIXTURE_TEARDOWN(raw)
{
	if (self->rp) {
		td_raw_stop_reader(self->rp);
		if (self->rp->fd >= 0)
			close(self->rp->fd);
		free(self->rp);
	}
	if (self->sfd >= 0)
		close(self->sfd);
	td_params_restore(&self->params);
	TH_LOG("case took %llu ms", td_since(self->t_start));
}

/*
 * Send a PING after what went before and wait for its PONG: the server
 * has then acted on every frame before it.  0, or -errno (-EPIPE: the
 * server closed, -ETIMEDOUT).
 */
static int td_raw_sync(struct raw_peer *rp, unsigned int *pings)
{
	uint8_t buf[FASTRPC_FRAME_HDR_LEN + 8], *p;
	uint64_t t0 = now_ms();
	int ret;

	p = frpc_put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_PING, 0, 0, 8);
	memcpy(p, "teardown", 8);
	ret = frpc_send_all(rp->fd, buf, sizeof(buf));
	if (ret)
		return ret;
	++*pings;
	while (atomic_load(&rp->pongs) < *pings) {
		if (atomic_load(&rp->eof))
			return -EPIPE;
		if (now_ms() - t0 > TD_WAIT_MS)
			return -ETIMEDOUT;
		usleep(5000);
	}
	return 0;
}

TEST_F_TIMEOUT(raw, tiny_frames_then_close, 600)
{
	struct raw_peer *rp = self->rp;
	const uint16_t data_flags = variant->messages ? FASTRPC_FF_EOM : 0;
	struct fastrpc_wire_call wc = { .method = htonl(M_HOLD) };
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info si;
	unsigned int pings = 0;
	long long held, conns;
	uint64_t t0, frames;
	uint8_t *buf, *p;
	int c, ncalls, rounds, ret, cfd;
	uint32_t status = 99;
	char rbuf[16];

	ncalls = td_size(_metadata, &self->params, TD_RAW_CALLS);
	ret = td_raw_connect(rp, self->port);
	ASSERT_EQ(0, ret) TH_LOG("raw connect: %s", strerror(-ret));
	/* every byte within the windows: no CREDIT needed from the server */
	ASSERT_LE(TD_RAW_ROUNDS + 1, rp->call_window);
	ASSERT_LE((uint64_t)ncalls * (TD_RAW_ROUNDS + 1), rp->conn_window);
	ASSERT_EQ(0, pthread_create(&rp->thr, NULL, td_raw_reader, rp));
	rp->running = true;
	buf = malloc((size_t)ncalls * (FASTRPC_FRAME_HDR_LEN + sizeof(wc) + 1));
	ASSERT_NE(NULL, buf);

	/* calls 1..ncalls, each with 1 byte of an unfinished first message */
	t0 = now_ms();
	for (p = buf, c = 1; c <= ncalls; c++) {
		p = frpc_put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_CALL, 0,
				 (uint32_t)c, sizeof(wc) + 1);
		memcpy(p, &wc, sizeof(wc));
		p += sizeof(wc);
		*p++ = 'c';
	}
	ret = frpc_send_all(rp->fd, buf, (size_t)(p - buf));
	if (!ret)
		ret = td_raw_sync(rp, &pings);
	ASSERT_EQ(0, ret) TH_LOG("calls: %s; ERROR code %d", strerror(-ret),
				 atomic_load(&rp->error_code));
	/* then rounds of one 1-byte DATA frame on every call */
	for (rounds = 0; rounds < TD_RAW_ROUNDS &&
	     now_ms() - t0 < TD_RAW_MS; rounds++) {
		for (p = buf, c = 1; c <= ncalls; c++) {
			p = frpc_put_hdr(p, FASTRPC_PROTO_V1,
					 FASTRPC_FRAME_DATA, data_flags,
					 (uint32_t)c, 1);
			*p++ = (uint8_t)rounds;
		}
		ret = frpc_send_all(rp->fd, buf, (size_t)(p - buf));
		if (!ret)
			ret = td_raw_sync(rp, &pings);
		ASSERT_EQ(0, ret) TH_LOG("round %d: %s; ERROR code %d", rounds,
					 strerror(-ret),
					 atomic_load(&rp->error_code));
	}
	free(buf);
	frames = (uint64_t)ncalls * (uint64_t)rounds;
	held = proc_counter("rx_held_bytes");
	TH_LOG("%d calls and %llu 1-byte DATA frames%s taken in %llu ms; "
	       "rx_held_bytes %lld", ncalls, (unsigned long long)frames,
	       variant->messages ? " (each a message)" : "", td_since(t0),
	       held);
	/* nothing was refused: the server holds every call and byte */
	EXPECT_EQ(0, atomic_load(&rp->ends));
	EXPECT_EQ(-1, atomic_load(&rp->error_code));
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &si));
	EXPECT_EQ(ncalls, si.calls_in_flight);
	EXPECT_EQ(variant->messages ? frames : 0, si.rx_queued);
	EXPECT_EQ((long long)(frames + (uint64_t)ncalls), held);

	t0 = now_ms();
	if (variant->end == TD_END_RST) {
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		td_raw_stop_reader(rp);
		ASSERT_EQ(0, setsockopt(rp->fd, SOL_SOCKET, SO_LINGER, &lg,
					sizeof(lg)));
		close(rp->fd);
		rp->fd = -1;
	} else {
		/* FIN: the server ends every call and closes its side */
		ASSERT_EQ(0, shutdown(rp->fd, SHUT_WR));
		EXPECT_EQ(0, td_raw_wait_eof(rp, TD_WAIT_MS));
		TH_LOG("server closed after our FIN in %llu ms with %u END "
		       "frames (%u UNAVAILABLE)", td_since(t0),
		       atomic_load(&rp->ends),
		       atomic_load(&rp->ends_unavailable));
	}

	/* the server lets go of every call, message and byte */
	ret = td_wait_info(self->sfd, 0, 0, TD_WAIT_MS, &si);
	EXPECT_EQ(0, ret) TH_LOG("server left with %u calls, %u queued",
				 si.calls_in_flight, si.rx_queued);
	EXPECT_EQ(0, td_wait_counter("rx_held_bytes", 0, TD_WAIT_MS, &held))
		TH_LOG("rx_held_bytes stays at %lld", held);
	EXPECT_EQ(0, td_wait_counter("conns_open", 0, TD_WAIT_MS, &conns))
		TH_LOG("conns_open stays at %lld", conns);
	TH_LOG("server freed it all in %llu ms after the %s", td_since(t0),
	       variant->end == TD_END_RST ? "reset" : "FIN");
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, rbuf,
					     sizeof(rbuf), MSG_DONTWAIT));

	/* and answers a normal client */
	cfd = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, cfd) TH_LOG("connect: %s", fastrpc_strerror(cfd));
	ASSERT_EQ(0, set_rcvtimeo(cfd, TD_RCVTIMEO_MS));
	ASSERT_EQ(5, fastrpc_send_call(cfd, 7, M_ECHO, "fresh", 5, 0));
	ASSERT_EQ(5, srv_recv(self->sfd, &ii, rbuf, sizeof(rbuf)));
	EXPECT_EQ(0, ii.flags);
	ASSERT_EQ(5, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					rbuf, 5, 0));
	ASSERT_EQ(5, fastrpc_recv_result(cfd, NULL, &status, rbuf,
					 sizeof(rbuf), 0));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(rbuf, "fresh", 5));
	close(cfd);
}

TEST_HARNESS_MAIN
