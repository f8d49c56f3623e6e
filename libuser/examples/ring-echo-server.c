// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpc-ring-echo-server: the echo server of echo-server.c, on rings.
 *
 *   fastrpc-ring-echo-server [--port P] [--ipv6]
 *
 * One thread serves every client through the rings of one listening
 * socket: an epoll loop over the socket and a signalfd reaps the
 * FASTRPC_CQE_INCOMING completions and answers each with a
 * FASTRPC_OP_REPLY whose payload is the request itself, in the receive
 * buffers the kernel lent with it; FASTRPC_SQE_RETURN_BUF on the same
 * entry gives those buffers back once the reply is copied.  Method 1 is
 * echo; any other method gets FASTRPC_UNIMPLEMENTED.  Cancellation
 * notices and later messages of streaming calls (which this server does
 * not take) only give their buffers back.  A message too large for the
 * receive buffers (FASTRPC_CQE_F_RECVMSG) is read and answered with the
 * socket calls instead.  SIGINT or SIGTERM ends it cleanly.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "libfastrpc.h"

#define ECHO_METHOD	1
#define DEFAULT_PORT	7070
#define REAP_BATCH	64

/*
 * Ring sizes: 8 MiB of 16 KiB receive buffers, so any message up to
 * FASTRPC_MAX_MSG fits; the SQ has room for a reply to every completion
 * the CQ can hold, twice over, so that a full CQ can always be reaped.
 */
static const struct fastrpc_ring_setup ring_sizes = {
	.sq_entries = 1024,
	.cq_entries = 512,
	.buf_size = 16384,
	.buf_count = 512,
	.rx_bufs = 512,
};

struct server {
	int fd;
	struct fastrpc_ring ring;
	unsigned long answered;
	bool sq_blocked;	/* entries refused: wait for POLLOUT too */
};

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--port P] [--ipv6]\n", prog);
	exit(2);
}

static void report(const char *what, int err)
{
	/* The caller may have gone away meanwhile: not worth a line. */
	if (err == -ENOENT || err == -ECANCELED)
		return;
	fprintf(stderr, "fastrpc-ring-echo-server: %s: %s\n", what,
		fastrpc_strerror(err));
}

/* A message the ring could not take: the socket calls, as echo-server.c. */
static void serve_by_recvmsg(struct server *s)
{
	static char buf[FASTRPC_MAX_MSG];
	struct fastrpc_incoming_info info = { 0 };
	ssize_t n, r;
	bool echo;

	n = fastrpc_recv_call_ex(s->fd, &info, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0) {
		report("recvmsg", (int)n);
		return;
	}
	if (info.flags & (FASTRPC_IN_CANCELLED | FASTRPC_IN_CONT))
		return;
	echo = info.method == ECHO_METHOD;
	r = fastrpc_send_reply(s->fd, info.handle,
			       echo ? FASTRPC_OK : FASTRPC_UNIMPLEMENTED, buf,
			       echo ? (size_t)n : 0, MSG_DONTWAIT);
	if (r < 0)
		report("reply", (int)r);
	else
		s->answered++;
}

/*
 * One completion: an entry to answer it or give its buffers back, if it
 * needs one.  Returns false when the SQ has no room (nothing consumed).
 */
static bool serve_one(struct server *s, const struct fastrpc_cqe *cqe)
{
	struct fastrpc_sqe *sqe;

	if (cqe->type == FASTRPC_CQE_ERROR) {
		/* a failed entry's buffers went back all the same */
		report(cqe->op == FASTRPC_OP_REPLY ? "reply" : "buffer return",
		       cqe->res);
		return true;
	}
	if (cqe->type != FASTRPC_CQE_INCOMING)
		return true;
	if (cqe->flags & FASTRPC_CQE_F_RECVMSG) {
		serve_by_recvmsg(s);
		return true;
	}
	if ((cqe->flags & (FASTRPC_CQE_F_CANCELLED | FASTRPC_CQE_F_CONT)) &&
	    cqe->buf == FASTRPC_RING_NO_BUF)
		return true;

	sqe = fastrpc_ring_get_sqe(&s->ring);
	if (!sqe)
		return false;
	if (cqe->flags & (FASTRPC_CQE_F_CANCELLED | FASTRPC_CQE_F_CONT)) {
		fastrpc_ring_prep_buf_return(sqe, cqe->buf);
		return true;
	}
	/* an empty request lends no run: no offset to echo from */
	if (cqe->method == ECHO_METHOD && cqe->buf == FASTRPC_RING_NO_BUF)
		fastrpc_ring_prep_reply(sqe, cqe->id, FASTRPC_OK, 0, 0);
	else if (cqe->method == ECHO_METHOD)
		fastrpc_ring_prep_reply(sqe, cqe->id, FASTRPC_OK,
					fastrpc_ring_cqe_data_off(cqe),
					cqe->len);
	else
		fastrpc_ring_prep_reply(sqe, cqe->id, FASTRPC_UNIMPLEMENTED,
					0, 0);
	fastrpc_ring_sqe_return_buf(sqe, cqe->buf);
	s->answered++;
	return true;
}

/* Reap what is ready, as far as the SQ has room, and submit the answers. */
static int serve_ready(struct server *s)
{
	const struct fastrpc_cqe *cqes[REAP_BATCH];
	unsigned int n, i;
	int ret;

	do {
		n = fastrpc_ring_peek(&s->ring, cqes, REAP_BATCH);
		for (i = 0; i < n && serve_one(s, cqes[i]); i++)
			;
		fastrpc_ring_advance(&s->ring, i);
		ret = fastrpc_ring_submit(&s->ring);
		if (ret == -EAGAIN)
			break;
		if (ret < 0)
			return ret;
	} while (n == REAP_BATCH && i == n);
	s->sq_blocked = fastrpc_ring_sq_pending(&s->ring) != 0;
	return 0;
}

static int watch(int ep, int op, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, op, fd, &ev) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct server s = { .fd = -1 };
	struct epoll_event evs[2];
	int ipfam = AF_INET, port = DEFAULT_PORT;
	int ep = -1, sfd = -1, c, n, i, ret = 1, err;
	bool blocked = false, stop = false;
	sigset_t sigs;

	while ((c = getopt_long(argc, argv, "p:6h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			if (port <= 0 || port > 65535)
				usage(argv[0]);
			break;
		case '6':
			ipfam = AF_INET6;
			break;
		default:
			usage(argv[0]);
		}
	}

	/* Signals come through the epoll set, never as handlers. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		perror("fastrpc-ring-echo-server: signalfd");
		return 1;
	}

	s.fd = fastrpc_server_open(ipfam, (uint16_t)port, 128,
				   SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (s.fd < 0) {
		fprintf(stderr, "fastrpc-ring-echo-server: port %d: %s\n", port,
			fastrpc_strerror(s.fd));
		goto out;
	}
	err = fastrpc_ring_setup(s.fd, &ring_sizes, &s.ring);
	if (err) {
		fprintf(stderr, "fastrpc-ring-echo-server: rings: %s\n",
			fastrpc_strerror(err));
		goto out;
	}
	/*
	 * The kernel takes an SQ entry only with CQ room for the errors it
	 * may report, and fills the CQ with requests first: with at most
	 * half a CQ of calls open (a request and a cancellation notice
	 * each), replies never wait behind a CQ we cannot reap for want of
	 * SQ room.  Calls past that fail at once with RESOURCE_EXHAUSTED.
	 */
	err = fastrpc_set_max_calls(s.fd, ring_sizes.cq_entries / 2);
	if (err) {
		fprintf(stderr, "fastrpc-ring-echo-server: max calls: %s\n",
			fastrpc_strerror(err));
		goto out;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || watch(ep, EPOLL_CTL_ADD, sfd, EPOLLIN) ||
	    watch(ep, EPOLL_CTL_ADD, fastrpc_ring_fd(&s.ring), EPOLLIN)) {
		perror("fastrpc-ring-echo-server: epoll");
		goto out;
	}
	printf("fastrpc-ring-echo-server: listening on %s port %d\n",
	       ipfam == AF_INET6 ? "IPv6" : "IPv4", port);
	fflush(stdout);

	while (!stop) {
		n = epoll_wait(ep, evs, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("fastrpc-ring-echo-server: epoll_wait");
			goto out;
		}
		for (i = 0; i < n; i++)
			if (evs[i].data.fd == sfd)
				stop = true;
		if (stop)
			break;
		err = serve_ready(&s);
		if (err) {
			fprintf(stderr,
				"fastrpc-ring-echo-server: submit: %s\n",
				fastrpc_strerror(err));
			goto out;
		}
		/* Entries the kernel refused wait for send room, too. */
		if (s.sq_blocked != blocked) {
			blocked = s.sq_blocked;
			if (watch(ep, EPOLL_CTL_MOD, fastrpc_ring_fd(&s.ring),
				  EPOLLIN | (blocked ? EPOLLOUT : 0))) {
				perror("fastrpc-ring-echo-server: epoll");
				goto out;
			}
		}
	}
	printf("fastrpc-ring-echo-server: %lu calls answered, exiting\n",
	       s.answered);
	ret = 0;
out:
	if (ep >= 0)
		close(ep);
	if (s.ring.buf)
		fastrpc_ring_unmap(&s.ring);
	if (s.fd >= 0)
		close(s.fd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
