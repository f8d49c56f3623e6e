// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpc-bench: round-trip latency and throughput of FastRPC against what
 * a user would otherwise use, in one process.
 *
 *   fastrpc-bench [-n calls] [-s bytes] [-c in-flight] [-w warmup]
 *                 [-t fastrpc,fastrpc-batch,fastrpc-ring,fastrpc-ring-poll,
 *                     fastrpc-ring-busy,fastrpc-tcp,tcp,tcp-pipelined,unix]
 *                 [-p port] [-B ring-spin-us] [-U] [-L ring-lend-bytes]
 *                 [-N netns -a address] [-C] [-H] [-j]
 *
 * For each transport an echo server runs on a thread and the client keeps
 * up to -c calls in flight, timing each call with CLOCK_MONOTONIC from
 * just before its send to just after its reply is received:
 *
 *   fastrpc	AF_FASTRPC (needs af_fastrpc loaded): one sendmsg per
 *		call and one recvmsg per result, and a server that reads
 *		one call and writes one reply per system call; on one host
 *		through the module's same-host short cut unless it is off,
 *		over TCP with -N
 *   fastrpc-batch  the same sockets, but the client starts every free
 *		slot with one fastrpc_send_calls() (sendmmsg) and takes
 *		every ready result with one fastrpc_recv_results()
 *		(recvmmsg); the server takes every ready call with one
 *		fastrpc_recv_calls() and answers them with one
 *		fastrpc_send_replies().  With -c 1 it makes the same
 *		system calls as fastrpc, through the batch functions
 *   fastrpc-ring  the same sockets with rings (FASTRPC_RING): the client
 *		puts a CALL entry in the SQ for every free slot, the request
 *		in a buffer of its own, and reaps RESULT completions in
 *		place, giving each reply's buffer back on its next CALL
 *		(FASTRPC_SQE_RETURN_BUF); the server thread reaps INCOMING
 *		completions from its listening socket's ring and answers
 *		each with a REPLY straight from the buffer the request came
 *		in, giving that back with the same entry.  A system call
 *		only when nothing is ready: then each end submits what it
 *		has and sleeps in one, the submit-and-wait doorbell
 *		send(MSG_WAITALL) (fastrpc_ring_submit_wait())
 *   fastrpc-ring-poll  fastrpc-ring with both ends sleeping in poll()
 *		after a doorbell send(), as an event loop does (not in the
 *		default list)
 *   fastrpc-ring-busy  fastrpc-ring with both ends spinning before they
 *		sleep (-B and -U below; not in the default list)
 *   fastrpc-tcp  fastrpc with FASTRPC_LOOPBACK off on the client
 *		socket: over TCP on one host too (not in the default list)
 *   tcp	TCP, 4-byte big-endian length prefix, TCP_NODELAY: one
 *		write per request and per reply, however many are in flight
 *   tcp-pipelined  the same framing, but the client writes every request
 *		that is ready in one write and the server answers every
 *		complete request it has read in one write
 *   unix	AF_UNIX SOCK_SEQPACKET socket pair (same host only)
 *
 * Topology: by default client and server share the network namespace and
 * talk over loopback ("same-host").  With -N the server's sockets are
 * created in the network namespace -N (a name under /run/netns or a
 * path) and the client reaches them at -a, e.g. over a veth pair
 * ("netns"); unix is left out there.
 *
 * The client is one thread that sends while fewer than -c calls are
 * outstanding and otherwise blocks receiving; every socket's buffers are
 * sized (SOCKBUF) so that -c requests and replies always fit, so blocking
 * sends cannot deadlock, and combinations that would not fit are refused.
 * Exit status: 0 if every transport ran, 1 otherwise.
 *
 * -C pins the client to CPU 0 and every server thread to CPU 1, so that
 * where the scheduler puts them cannot change from run to run (make
 * check's performance gate uses it).  With -H it pins the small calls'
 * client and server threads to CPU 0 and the streamer to CPU 1, for the
 * idle calls and the others alike: the figure is then what the shared
 * connection costs them, not the wait for a CPU the streamer holds.
 *
 * fastrpc-ring sleeps in the kernel's submit-and-wait doorbell
 * (fastrpc_ring_submit_wait(): one system call per call on each end).
 * fastrpc-ring-busy is fastrpc-ring with both ends busy-polling: client
 * and server spin for up to 50 microseconds before they sleep, in the
 * kernel (SO_BUSY_POLL and the submit-and-wait doorbell, which delivers
 * what arrives itself), or with -U in user space on their CQ before
 * poll().  -B sets that time for both ring transports (for fastrpc-ring
 * the default is 0: sleep at once, in the doorbell); a note before the
 * table says it was set.  Spinning costs a CPU on each side: with -C
 * client and server have one each.
 *
 * Both ring transports lend payloads of at least -L bytes (default
 * 16384; 0: none) to the kernel with FASTRPC_SQE_LEND, requests and
 * replies alike: the kernel reads them in place instead of copying them
 * when it consumes the entry, and says when it is done with a
 * FASTRPC_CQE_SENT, which each end reaps and checks.
 *
 * -H adds the head-of-line figure: FastRPC small-call latency (one call
 * in flight, -s bytes) while a second socket of the same process streams
 * 64 MiB (one streaming call of 16 x 4 MiB messages) to the same server
 * over the same shared connection, printed as "fastrpc-hol" below the
 * same calls measured on the idle connection ("fastrpc-idle"); then the
 * same calls again while a thread spins in user space on the other CPU
 * ("fastrpc-hog", the control: see bench_hol_hog()).
 *
 * -j also prints each result as one line "FASTRPC-ROW {json}" (keys
 * topology, transport, size, inflight, calls, p50_us, p90_us, p99_us,
 * p999_us, max_us, calls_per_s and, for -H, background: "idle",
 * "64MiB-stream" or "cpu-hog"), which
 * make bench collects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "libfastrpc.h"

#define ECHO_METHOD	1
#define SINK_METHOD	2	/* streaming call: read all, reply at the end */
#define HOL_MSG		(4u << 20)
#define HOL_MSGS	16
#define SOCKBUF		(40 << 20)
/* Bytes one message may cost in socket accounting beyond its payload. */
#define MSG_OVERHEAD	1024
#define LEN_PREFIX	4

struct run {
	size_t size;		/* payload bytes per call */
	uint64_t inflight;	/* most calls outstanding */
	uint16_t port;		/* fastrpc port to try first */
	int cfd;		/* client socket */
	int sfd;		/* server socket (listener or pair end) */
	pthread_t srv;
	bool srv_started;
	bool srv_blocks;	/* a fastrpc server: stop_blocked_server() */
	atomic_int stop;
	atomic_long srv_errors;
	uint64_t next_rx;	/* in-order transports: index of next reply */
	uint8_t *req, *resp;
	/* fastrpc-batch: the client's calls and results, -c of each */
	struct fastrpc_call_req *creq;
	struct fastrpc_result_buf *rbuf;
	uint8_t *rspace;
	unsigned int rhave, roff;
	/* fastrpc-ring: the client's rings and the server's */
	struct fastrpc_ring cring, sring;
	uint32_t txoff;		/* the request, in a buffer of our own */
	unsigned int spin_us;	/* fastrpc-ring: CQ spin before poll() */
	bool send_wait;		/* fastrpc-ring: sleep in send(MSG_WAITALL) */
	int busy_poll;		/* SO_BUSY_POLL of both sockets, us (not -U) */
	uint32_t *ret_bufs;	/* runs the client still has to give back */
	unsigned int nret;
	/* tcp-pipelined: the client's receive buffer, parsed in place */
	uint8_t *rxbuf;
	size_t rxcap, rxhave, rxoff;
};

struct transport {
	const char *name;
	bool same_host_only;
	int (*setup)(struct run *r);
	/* calls @idx .. @idx + @count - 1; @count > 1 only if batch */
	int (*send)(struct run *r, uint64_t idx, uint64_t count);
	int (*recv)(struct run *r, uint64_t *idx);
	/* a reply is already buffered: recv() needs no system call */
	bool (*ready)(struct run *r);
	void (*teardown)(struct run *r);
	bool batch;
};

/* Server placement (-N, -a): the client's namespace and the server's. */
static int home_ns = -1, srv_ns = -1;
static const char *srv_addr = "127.0.0.1";

static const char *topology(void)
{
	return srv_ns >= 0 ? "netns" : "same-host";
}

/* Server sockets are created between these two; the thread stays put. */
static int enter_srv_ns(void)
{
	if (srv_ns >= 0 && setns(srv_ns, CLONE_NEWNET))
		return -errno;
	return 0;
}

static void leave_srv_ns(void)
{
	if (srv_ns >= 0 && setns(home_ns, CLONE_NEWNET)) {
		perror("fastrpc-bench: setns back");
		exit(1);
	}
}

/* -C: the client on CPU 0, every server thread on CPU 1. */
static bool pin_cpus;

static void pin_to(int cpu)
{
	cpu_set_t set;

	if (!pin_cpus)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("fastrpc-bench: -C: sched_setaffinity");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Larger socket buffers: forced where we may, else as far as allowed. */
static void grow_buffers(int fd)
{
	int v = SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

static int full_write(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, -errno, or 1 for a clean end of stream before the first byte. */
static int full_read(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = recv(fd, p + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return got ? -EPIPE : 1;
		got += (size_t)n;
	}
	return 0;
}

static uint32_t get_len(const uint8_t *p)
{
	uint32_t len;

	memcpy(&len, p, LEN_PREFIX);
	return ntohl(len);
}

/* FastRPC */

/* -H -C: the small calls' server shares CPU 0 with their client */
static int fastrpc_server_cpu = 1;

static void *fastrpc_server(void *arg)
{
	struct run *r = arg;
	struct fastrpc_incoming_info info = { 0 };
	uint8_t *buf = malloc(r->size + 1);
	ssize_t n;
	int st;

	pin_to(fastrpc_server_cpu);
	while (buf && !atomic_load(&r->stop)) {
		/* longer stream messages are cut short; that is all we need */
		n = fastrpc_recv_call_ex(r->sfd, &info, buf, r->size + 1, 0);
		if (n == -EAGAIN || n == -EINTR)
			continue;	/* stop_blocked_server(): look at stop */
		if (n < 0) {
			atomic_fetch_add(&r->srv_errors, 1);
			continue;
		}
		if (info.flags & FASTRPC_IN_CANCELLED)
			continue;
		if (info.method == SINK_METHOD ||
		    (info.flags & FASTRPC_IN_CONT)) {
			if (info.eor && fastrpc_send_reply(r->sfd, info.handle,
							   FASTRPC_OK, NULL, 0,
							   0) < 0)
				atomic_fetch_add(&r->srv_errors, 1);
			continue;
		}
		st = info.method == ECHO_METHOD ? FASTRPC_OK :
						  FASTRPC_UNIMPLEMENTED;
		if (fastrpc_send_reply(r->sfd, info.handle, (uint32_t)st, buf,
				       (size_t)n, 0) < 0)
			atomic_fetch_add(&r->srv_errors, 1);
	}
	free(buf);
	return NULL;
}

/*
 * A client socket connected to the bench server with the same-host short
 * cut off (FASTRPC_LOOPBACK 0): TCP even on one host.
 */
static int fastrpc_tcp_client(uint16_t port)
{
	struct sockaddr_fastrpc a;
	int fd, ret, off = 0;

	ret = fastrpc_addr(&a, srv_addr, port);
	if (ret)
		return ret;
	fd = fastrpc_socket(SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, SOL_FASTRPC, FASTRPC_LOOPBACK, &off, sizeof(off)) ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * The server socket, its thread and the client socket; @prep (may be
 * NULL) runs on the server socket before its thread starts and before
 * any client connects.
 */
static int fastrpc_setup_with(struct run *r, void *(*server)(void *),
			      bool loop, int (*prep)(struct run *r))
{
	uint16_t port = r->port;
	int i, fd = -EADDRINUSE;

	fd = enter_srv_ns();
	if (fd)
		return fd;
	fd = -EADDRINUSE;
	for (i = 0; i < 16 && fd == -EADDRINUSE; i++, port++)
		fd = fastrpc_server_open(AF_INET, port, 128, SOCK_CLOEXEC);
	leave_srv_ns();
	if (fd < 0)
		return fd;
	port--;
	r->sfd = fd;
	grow_buffers(fd);
	r->srv_blocks = true;
	if (prep) {
		fd = prep(r);
		if (fd)
			return fd;
	}
	if (pthread_create(&r->srv, NULL, server, r))
		return -EAGAIN;
	r->srv_started = true;
	fd = loop ? fastrpc_client_open(srv_addr, port, SOCK_CLOEXEC) :
		    fastrpc_tcp_client(port);
	if (fd < 0)
		return fd;
	r->cfd = fd;
	grow_buffers(fd);
	return 0;
}

static int fastrpc_setup(struct run *r)
{
	return fastrpc_setup_with(r, fastrpc_server, true, NULL);
}

static int fastrpc_tcp_setup(struct run *r)
{
	return fastrpc_setup_with(r, fastrpc_server, false, NULL);
}

static int fastrpc_send(struct run *r, uint64_t idx, uint64_t count)
{
	ssize_t n;

	(void)count;
	n = fastrpc_send_call(r->cfd, idx, ECHO_METHOD, r->req, r->size, 0);
	return n < 0 ? (int)n : 0;
}

static int fastrpc_recv(struct run *r, uint64_t *idx)
{
	uint32_t status;
	ssize_t n;

	n = fastrpc_recv_result(r->cfd, idx, &status, r->resp, r->size + 1, 0);
	if (n < 0)
		return (int)n;
	if (status != FASTRPC_OK || (size_t)n != r->size) {
		fprintf(stderr, "fastrpc-bench: result %zd bytes, status %s\n",
			n, fastrpc_status_str(status));
		return -EBADMSG;
	}
	return 0;
}

/* fastrpc-batch */

/* Answer @m replies, counting the ones that fail and going on after them. */
static void fastrpc_batch_answer(struct run *r, struct fastrpc_reply_req *reps,
				 unsigned int m)
{
	unsigned int done = 0;
	int k, err;

	while (done < m) {
		k = fastrpc_send_replies(r->sfd, reps + done, m - done, 0,
					 &err);
		if (k > 0)
			done += (unsigned int)k;
		if (k < 0 || err) {
			atomic_fetch_add(&r->srv_errors, 1);
			done++;		/* skip the failing entry */
		}
	}
}

/* Every ready call with one system call, their replies with another. */
static void *fastrpc_batch_server(void *arg)
{
	struct run *r = arg;
	unsigned int slots = (unsigned int)r->inflight, m, i;
	struct fastrpc_call_buf *cb = calloc(slots, sizeof(*cb));
	struct fastrpc_reply_req *reps = calloc(slots, sizeof(*reps));
	uint8_t *space = malloc(slots * (r->size + 1));
	int got;

	pin_to(1);
	for (i = 0; cb && space && i < slots; i++) {
		cb[i].buf = space + i * (r->size + 1);
		cb[i].len = r->size + 1;
	}
	while (cb && reps && space && !atomic_load(&r->stop)) {
		got = fastrpc_recv_calls(r->sfd, cb, slots, 0);
		if (got == -EAGAIN || got == -EINTR)
			continue;	/* stop_blocked_server(): look at stop */
		if (got < 0) {
			atomic_fetch_add(&r->srv_errors, 1);
			continue;
		}
		for (i = 0, m = 0; i < (unsigned int)got; i++) {
			struct fastrpc_call_buf *c = &cb[i];
			bool sink = c->method == SINK_METHOD ||
				    (c->flags & FASTRPC_IN_CONT);

			if (c->n < 0) {
				atomic_fetch_add(&r->srv_errors, 1);
				continue;
			}
			if ((c->flags & FASTRPC_IN_CANCELLED) ||
			    (sink && !c->eor))
				continue;
			reps[m].handle = c->handle;
			reps[m].status = c->method == ECHO_METHOD || sink ?
					 FASTRPC_OK : FASTRPC_UNIMPLEMENTED;
			reps[m].buf = c->buf;
			reps[m].len = sink ? 0 : (size_t)c->n;
			m++;
		}
		fastrpc_batch_answer(r, reps, m);
	}
	free(space);
	free(reps);
	free(cb);
	return NULL;
}

static int fastrpc_batch_setup(struct run *r)
{
	uint64_t i;

	r->creq = calloc(r->inflight, sizeof(*r->creq));
	r->rbuf = calloc(r->inflight, sizeof(*r->rbuf));
	r->rspace = malloc(r->inflight * (r->size + 1));
	if (!r->creq || !r->rbuf || !r->rspace)
		return -ENOMEM;
	for (i = 0; i < r->inflight; i++) {
		r->creq[i].method = ECHO_METHOD;
		r->creq[i].buf = r->req;
		r->creq[i].len = r->size;
		r->rbuf[i].buf = r->rspace + i * (r->size + 1);
		r->rbuf[i].len = r->size + 1;
	}
	return fastrpc_setup_with(r, fastrpc_batch_server, true, NULL);
}

/* Calls @idx .. @idx + @count - 1 in one fastrpc_send_calls(). */
static int fastrpc_batch_send(struct run *r, uint64_t idx, uint64_t count)
{
	unsigned int done = 0, k = (unsigned int)count, i;
	int n, err;

	for (i = 0; i < k; i++)
		r->creq[i].tag = idx + i;
	while (done < k) {
		n = fastrpc_send_calls(r->cfd, r->creq + done, k - done, 0,
				       &err);
		if (n < 0)
			return n;
		done += (unsigned int)n;
		if (err)
			return err;
	}
	return 0;
}

static bool fastrpc_batch_ready(struct run *r)
{
	return r->roff < r->rhave;
}

/* Next result from those taken; one recvmmsg() only when none is left. */
static int fastrpc_batch_recv(struct run *r, uint64_t *idx)
{
	struct fastrpc_result_buf *o;
	int n;

	if (!fastrpc_batch_ready(r)) {
		n = fastrpc_recv_results(r->cfd, r->rbuf,
					 (unsigned int)r->inflight, 0);
		if (n < 0)
			return n;
		r->rhave = (unsigned int)n;
		r->roff = 0;
	}
	o = &r->rbuf[r->roff++];
	if (o->n < 0)
		return (int)o->n;
	if (o->status != FASTRPC_OK || (size_t)o->n != r->size) {
		fprintf(stderr, "fastrpc-bench: result %zd bytes, status %s\n",
			o->n, fastrpc_status_str(o->status));
		return -EBADMSG;
	}
	*idx = o->tag;
	return 0;
}

/* fastrpc-ring */

static void common_teardown(struct run *r);

/*
 * -B: spin on the CQ this long before sleeping in poll() (both ends), for
 * fastrpc-ring; fastrpc-ring-busy spins RING_BUSY_US when -B is not given.
 * Without a spin, fastrpc-ring sleeps in send(MSG_WAITALL) instead.
 */
static unsigned int ring_spin_us;
#define RING_BUSY_US	50
/*
 * The ring transports' spin is the kernel's: SO_BUSY_POLL on both sockets
 * and the submit-and-wait doorbell, which delivers what arrives itself.
 * -U spins in user space on the CQ before poll() instead, where a message
 * from TCP waits for the ring's work item.
 */
static bool ring_kernel_spin = true;

/* -L: payloads of at least this many bytes are lent (0: none) */
static unsigned long ring_lend_min = 16384;

static bool ring_lends(uint32_t len)
{
	return ring_lend_min && len >= ring_lend_min;
}

static uint32_t pow2_at_least(uint64_t v, uint32_t min)
{
	uint32_t p = min;

	while (p < v)
		p <<= 1;
	return p;
}

/*
 * Ring sizes for -c calls of -s bytes: one buffer holds a message, and
 * the receive buffers hold twice what can be in flight or lent at once
 * (a run stays lent until the next entries give it back); the SQ takes
 * a call and a buffer return per call in flight.  @own: buffers of user
 * space's own past the receive ones.
 */
static struct fastrpc_ring_setup ring_sizes(const struct run *r,
					    uint32_t own)
{
	uint32_t n = pow2_at_least(2 * r->inflight + 2, 8);

	return (struct fastrpc_ring_setup){
		.sq_entries = n,
		.cq_entries = n,
		.buf_size = pow2_at_least(r->size, FASTRPC_RING_MIN_BUF),
		.buf_count = (uint32_t)(2 * r->inflight + 2) + own,
		.rx_bufs = (uint32_t)(2 * r->inflight + 2),
	};
}

/* Server: a message the ring could not take, through the socket calls. */
static void fastrpc_ring_serve_recvmsg(struct run *r, uint8_t *buf)
{
	struct fastrpc_incoming_info info = { 0 };
	ssize_t n;

	n = fastrpc_recv_call_ex(r->sfd, &info, buf, r->size + 1, 0);
	if (n < 0) {
		atomic_fetch_add(&r->srv_errors, 1);
		return;
	}
	if ((info.flags & (FASTRPC_IN_CANCELLED | FASTRPC_IN_CONT)) ||
	    info.method == SINK_METHOD)
		return;
	if (fastrpc_send_reply(r->sfd, info.handle, FASTRPC_OK, buf,
			       (size_t)n, 0) < 0)
		atomic_fetch_add(&r->srv_errors, 1);
}

/*
 * Server: the entry answering one completion, or giving its run back.
 * False when the SQ is full (the completion is left for later).
 */
static bool fastrpc_ring_serve(struct run *r, const struct fastrpc_cqe *c,
			       uint8_t *buf)
{
	bool sink = c->method == SINK_METHOD || (c->flags & FASTRPC_CQE_F_CONT);
	struct fastrpc_sqe *sqe;

	if (c->type == FASTRPC_CQE_SENT) {
		/* a lent reply's bytes are free again (its run went back) */
		if (c->op != FASTRPC_OP_REPLY || c->res)
			atomic_fetch_add(&r->srv_errors, 1);
		return true;
	}
	if (c->type != FASTRPC_CQE_INCOMING) {
		atomic_fetch_add(&r->srv_errors, 1);
		return true;
	}
	if (c->flags & FASTRPC_CQE_F_RECVMSG) {
		fastrpc_ring_serve_recvmsg(r, buf);
		return true;
	}
	if (((c->flags & FASTRPC_CQE_F_CANCELLED) ||
	     (sink && !(c->flags & FASTRPC_CQE_F_EOR))) &&
	    c->buf == FASTRPC_RING_NO_BUF)
		return true;
	sqe = fastrpc_ring_get_sqe(&r->sring);
	if (!sqe)
		return false;
	if ((c->flags & FASTRPC_CQE_F_CANCELLED) ||
	    (sink && !(c->flags & FASTRPC_CQE_F_EOR)))
		fastrpc_ring_prep_buf_return(sqe, c->buf);
	else if (sink)
		fastrpc_ring_prep_reply(sqe, c->id, FASTRPC_OK, 0, 0);
	else
		fastrpc_ring_prep_reply(sqe, c->id,
					c->method == ECHO_METHOD ?
					FASTRPC_OK : FASTRPC_UNIMPLEMENTED,
					fastrpc_ring_cqe_data_off(c), c->len);
	/* the run goes back with the SENT, once the reply is written */
	if (sqe->op == FASTRPC_OP_REPLY && ring_lends(sqe->len))
		fastrpc_ring_sqe_lend(sqe);
	fastrpc_ring_sqe_return_buf(sqe, c->buf);
	return true;
}

/*
 * Every incoming call through the server socket's ring, answered with
 * FASTRPC_OP_REPLY straight from the buffers it came in, which the same
 * entry gives back (FASTRPC_SQE_RETURN_BUF).
 */
static void *fastrpc_ring_server(void *arg)
{
	struct run *r = arg;
	const struct fastrpc_cqe *c;
	uint8_t *buf = malloc(r->size + 1);
	int ret;

	pin_to(1);
	while (buf && !atomic_load(&r->stop)) {
		if (r->send_wait && !fastrpc_ring_sq_pending(&r->sring)) {
			/* the replies go and the next request comes: one call */
			ret = fastrpc_ring_submit_wait(&r->sring);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN)
				atomic_fetch_add(&r->srv_errors, 1);
		} else {
			/* entries the kernel refused: retry soon */
			ret = fastrpc_ring_wait(&r->sring, r->spin_us,
						fastrpc_ring_sq_pending(&r->sring) ?
						1 : -1);
			if (ret < 0 && ret != -EINTR)
				atomic_fetch_add(&r->srv_errors, 1);
		}
		while ((c = fastrpc_ring_peek_cqe(&r->sring)) &&
		       fastrpc_ring_serve(r, c, buf))
			fastrpc_ring_advance(&r->sring, 1);
		/*
		 * Asleep in the kernel: the next submit_wait() hands them
		 * over, unless it waits for the kernel to take refused ones.
		 */
		if (!r->send_wait || fastrpc_ring_sq_pending(&r->sring)) {
			ret = fastrpc_ring_submit(&r->sring);
			if (ret < 0 && ret != -EAGAIN)
				atomic_fetch_add(&r->srv_errors, 1);
		}
	}
	free(buf);
	return NULL;
}

/* The kernel spins in send(MSG_WAITALL) for this long (us) */
static int ring_busy_poll(int fd, int us)
{
	if (us && setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us)))
		return -errno;
	return 0;
}

static int fastrpc_ring_server_prep(struct run *r)
{
	struct fastrpc_ring_setup s = ring_sizes(r, 0);
	int ret = ring_busy_poll(r->sfd, r->busy_poll);

	return ret ? ret : fastrpc_ring_setup(r->sfd, &s, &r->sring);
}

/*
 * May this process give a socket SO_BUSY_POLL @us?  Raising it above
 * net.core.busy_read needs CAP_NET_ADMIN on some kernels (6.1): without
 * it the ring transports spin in user space, as with -U, and say so.
 */
static bool kernel_spin_allowed(int us)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 &&
		  !setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us));
	static bool told;

	if (fd >= 0)
		close(fd);
	if (!ok && !told) {
		told = true;
		fprintf(stderr, "fastrpc-bench: SO_BUSY_POLL %d: %s; the ring "
			"transports spin in user space (-U)\n", us,
			strerror(errno));
	}
	return ok;
}

/* @spin_us 0 and !@poll: both ends sleep in send(MSG_WAITALL) */
static int fastrpc_ring_setup_spin(struct run *r, unsigned int spin_us,
				   bool poll)
{
	struct fastrpc_ring_setup s;
	uint8_t *p;
	int ret;

	if (spin_us > INT_MAX)
		spin_us = INT_MAX;
	/* before the server thread starts */
	r->spin_us = spin_us;
	r->send_wait = !spin_us && !poll;
	if (spin_us && ring_kernel_spin && kernel_spin_allowed((int)spin_us)) {
		r->busy_poll = (int)spin_us;
		r->spin_us = 0;
		r->send_wait = true;
	}
	r->ret_bufs = calloc(r->inflight, sizeof(*r->ret_bufs));
	if (!r->ret_bufs)
		return -ENOMEM;
	ret = fastrpc_setup_with(r, fastrpc_ring_server, true,
				 fastrpc_ring_server_prep);
	if (ret)
		return ret;
	s = ring_sizes(r, 1);
	ret = ring_busy_poll(r->cfd, r->busy_poll);
	if (!ret)
		ret = fastrpc_ring_setup(r->cfd, &s, &r->cring);
	if (ret)
		return ret;
	/* one request for every call: the kernel copies it as it consumes */
	ret = fastrpc_ring_txbuf_get(&r->cring, &r->txoff);
	if (ret)
		return ret;
	p = fastrpc_ring_buf(&r->cring, r->txoff, (uint32_t)r->size);
	if (!p)
		return -ENOBUFS;
	memset(p, 0x5a, r->size);
	return 0;
}

static int fastrpc_ring_setup_run(struct run *r)
{
	return fastrpc_ring_setup_spin(r, ring_spin_us, false);
}

static int fastrpc_ring_poll_setup_run(struct run *r)
{
	return fastrpc_ring_setup_spin(r, 0, true);
}

static int fastrpc_ring_busy_setup_run(struct run *r)
{
	return fastrpc_ring_setup_spin(r, ring_spin_us ? ring_spin_us :
					  RING_BUSY_US, false);
}

/* Calls @idx .. @idx + @count - 1, each giving back a run reaped before. */
static int fastrpc_ring_send(struct run *r, uint64_t idx, uint64_t count)
{
	struct fastrpc_sqe *sqe;
	uint64_t i;
	int ret;

	for (i = 0; i < count; i++) {
		sqe = fastrpc_ring_get_sqe(&r->cring);
		if (!sqe)
			return -ENOSPC;		/* sized not to happen */
		fastrpc_ring_prep_call(sqe, idx + i, ECHO_METHOD, r->txoff,
				       (uint32_t)r->size, 0);
		/* every request is the same bytes: lent ones never change */
		if (ring_lends((uint32_t)r->size))
			fastrpc_ring_sqe_lend(sqe);
		if (r->nret)
			fastrpc_ring_sqe_return_buf(sqe,
						    r->ret_bufs[--r->nret]);
	}
	/* waiting in the kernel: recv's submit_wait() hands them over */
	if (r->send_wait)
		return 0;
	/* -EAGAIN: the calls wait in the SQ, and recv retries them */
	ret = fastrpc_ring_submit(&r->cring);
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

static bool fastrpc_ring_ready(struct run *r)
{
	return fastrpc_ring_cq_ready(&r->cring) != 0;
}

/* Client: a result too large for the ring, through recvmsg(). */
static int fastrpc_ring_recvmsg(struct run *r, uint64_t *idx)
{
	uint32_t status;
	ssize_t n;

	n = fastrpc_recv_result(r->cfd, idx, &status, r->resp, r->size + 1, 0);
	if (n < 0)
		return (int)n;
	if (status != FASTRPC_OK || (size_t)n != r->size)
		return -EBADMSG;
	return 0;
}

/* The next result: from the CQ, waiting (-B: spinning first) if none. */
static int fastrpc_ring_recv(struct run *r, uint64_t *idx)
{
	const struct fastrpc_cqe *c;
	struct fastrpc_sqe *sqe;
	int ret;

	for (;;) {
		c = fastrpc_ring_peek_cqe(&r->cring);
		if (c && c->type == FASTRPC_CQE_SENT) {
			/* a lent request is written: nothing to reuse here */
			ret = c->op == FASTRPC_OP_CALL && !c->res &&
			      c->buf == r->txoff && c->len == r->size ?
			      0 : -EBADMSG;
			fastrpc_ring_advance(&r->cring, 1);
			if (ret)
				return ret;
			continue;
		}
		if (c)
			break;
		if (r->send_wait) {
			/* submit what send() left and sleep, in one call */
			ret = fastrpc_ring_submit_wait(&r->cring);
			if (ret < 0 && ret != -EINTR && ret != -EAGAIN)
				return ret;
			if (ret != -EAGAIN || !fastrpc_ring_sq_pending(&r->cring))
				continue;
			/* the kernel took none and none came: poll for room */
		}
		/* calls the kernel refused before: try them again */
		ret = fastrpc_ring_submit(&r->cring);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
		ret = fastrpc_ring_wait(&r->cring, r->spin_us,
					fastrpc_ring_sq_pending(&r->cring) ?
					1 : -1);
		if (ret < 0 && ret != -EINTR)
			return ret;
	}
	if (c->type == FASTRPC_CQE_ERROR) {
		ret = c->res < 0 ? c->res : -EPROTO;
		fastrpc_ring_advance(&r->cring, 1);
		return ret;
	}
	if (c->flags & FASTRPC_CQE_F_RECVMSG) {
		fastrpc_ring_advance(&r->cring, 1);
		return fastrpc_ring_recvmsg(r, idx);
	}
	ret = 0;
	if (c->type != FASTRPC_CQE_RESULT || !(c->flags & FASTRPC_CQE_F_EOR) ||
	    c->res != FASTRPC_OK || c->len != r->size ||
	    !fastrpc_ring_cqe_data(&r->cring, c)) {
		fprintf(stderr, "fastrpc-bench: ring result type %u flags %#x, "
			"%u bytes, status %s\n", c->type, c->flags, c->len,
			fastrpc_status_str((uint32_t)c->res));
		ret = -EBADMSG;
	}
	*idx = c->id;
	/*
	 * The run goes back on the next call; no more can be waiting than
	 * calls in flight, but should they, one entry of its own.
	 */
	if (c->buf != FASTRPC_RING_NO_BUF && r->nret < r->inflight)
		r->ret_bufs[r->nret++] = c->buf;
	else if (c->buf != FASTRPC_RING_NO_BUF &&
		 (sqe = fastrpc_ring_get_sqe(&r->cring)))
		fastrpc_ring_prep_buf_return(sqe, c->buf);
	fastrpc_ring_advance(&r->cring, 1);
	return ret;
}

static void fastrpc_ring_teardown(struct run *r)
{
	common_teardown(r);
	fastrpc_ring_unmap(&r->cring);
	fastrpc_ring_unmap(&r->sring);
}

/* The server end of a tcp or tcp-pipelined run, set up as the client's. */
static int tcp_accept(struct run *r)
{
	int one = 1, fd = accept(r->sfd, NULL, NULL);

	if (fd >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		grow_buffers(fd);
	}
	return fd;
}

/* TCP with a length prefix: one read of the prefix, one of the payload,
 * one write of the reply, per call.
 */
static void *tcp_server(void *arg)
{
	struct run *r = arg;
	uint8_t *buf = malloc(r->size + LEN_PREFIX);
	int fd, ret;
	uint32_t len;

	pin_to(1);
	fd = tcp_accept(r);
	if (fd < 0 || !buf) {
		atomic_fetch_add(&r->srv_errors, 1);
		goto out;
	}
	for (;;) {
		ret = full_read(fd, buf, LEN_PREFIX);
		if (ret == 1)
			break;		/* client done */
		len = get_len(buf);
		if (ret < 0 || len > r->size ||
		    full_read(fd, buf + LEN_PREFIX, len) != 0 ||
		    full_write(fd, buf, len + LEN_PREFIX) < 0) {
			atomic_fetch_add(&r->srv_errors, 1);
			break;
		}
	}
	close(fd);
out:
	free(buf);
	return NULL;
}

/* tcp-pipelined: read what is there, answer every complete request in
 * one write (an echo server's replies are its requests' bytes), keep the
 * partial rest for the next read.  At most -c requests are ever
 * unanswered, so -c framed requests is all the buffer must hold.
 */
static void *tcp_pipe_server(void *arg)
{
	struct run *r = arg;
	size_t cap = r->inflight * (r->size + LEN_PREFIX), have = 0, off;
	uint8_t *buf = malloc(cap);
	int fd;
	uint32_t len;
	ssize_t n;

	pin_to(1);
	fd = tcp_accept(r);
	if (fd < 0 || !buf) {
		atomic_fetch_add(&r->srv_errors, 1);
		goto out;
	}
	for (;;) {
		n = recv(fd, buf + have, cap - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && !have)
			break;		/* client done */
		if (n <= 0) {
			atomic_fetch_add(&r->srv_errors, 1);
			break;
		}
		have += (size_t)n;
		off = 0;
		while (have - off >= LEN_PREFIX) {
			len = get_len(buf + off);
			if (len > r->size)
				goto bad;
			if (have - off < LEN_PREFIX + len)
				break;
			off += LEN_PREFIX + len;
		}
		if (off && full_write(fd, buf, off) < 0)
			goto bad;
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	goto done;
bad:
	atomic_fetch_add(&r->srv_errors, 1);
done:
	close(fd);
out:
	free(buf);
	return NULL;
}

static int tcp_listen_connect(struct run *r, void *(*server)(void *))
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	int one = 1, ret;

	ret = enter_srv_ns();
	if (ret)
		return ret;
	if (srv_ns >= 0)
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
	r->sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->sfd < 0 || bind(r->sfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(r->sfd, (struct sockaddr *)&sin, &slen) ||
	    listen(r->sfd, 1))
		ret = -errno;
	leave_srv_ns();
	if (ret)
		return ret;
	if (pthread_create(&r->srv, NULL, server, r))
		return -EAGAIN;
	r->srv_started = true;
	r->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->cfd < 0)
		return -errno;
	setsockopt(r->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	grow_buffers(r->cfd);
	if (inet_pton(AF_INET, srv_addr, &sin.sin_addr) != 1)
		return -EINVAL;
	if (connect(r->cfd, (struct sockaddr *)&sin, sizeof(sin)))
		return -errno;
	return 0;
}

static int tcp_setup(struct run *r)
{
	return tcp_listen_connect(r, tcp_server);
}

static int tcp_send(struct run *r, uint64_t idx, uint64_t count)
{
	(void)idx;
	(void)count;
	/* One write per call: prefix and payload share a buffer. */
	return full_write(r->cfd, r->req, r->size + LEN_PREFIX);
}

static int tcp_recv(struct run *r, uint64_t *idx)
{
	int ret;

	ret = full_read(r->cfd, r->resp, LEN_PREFIX);
	if (ret)
		return ret < 0 ? ret : -EPIPE;
	if (get_len(r->resp) != r->size)
		return -EBADMSG;
	ret = full_read(r->cfd, r->resp + LEN_PREFIX, r->size);
	if (ret)
		return ret < 0 ? ret : -EPIPE;
	*idx = r->next_rx++;
	return 0;
}

static int tcp_pipe_setup(struct run *r)
{
	r->rxcap = r->inflight * (r->size + LEN_PREFIX);
	r->rxbuf = malloc(r->rxcap);
	if (!r->rxbuf)
		return -ENOMEM;
	return tcp_listen_connect(r, tcp_pipe_server);
}

/* r->req holds -c framed requests back to back: one write sends @count. */
static int tcp_pipe_send(struct run *r, uint64_t idx, uint64_t count)
{
	(void)idx;
	return full_write(r->cfd, r->req, count * (r->size + LEN_PREFIX));
}

static bool tcp_pipe_ready(struct run *r)
{
	size_t left = r->rxhave - r->rxoff;

	return left >= LEN_PREFIX &&
	       left >= LEN_PREFIX + (size_t)get_len(r->rxbuf + r->rxoff);
}

/* Next reply from the buffer; one recv() only when none is complete. */
static int tcp_pipe_recv(struct run *r, uint64_t *idx)
{
	ssize_t n;

	while (!tcp_pipe_ready(r)) {
		if (r->rxoff) {
			memmove(r->rxbuf, r->rxbuf + r->rxoff,
				r->rxhave - r->rxoff);
			r->rxhave -= r->rxoff;
			r->rxoff = 0;
		}
		if (r->rxhave >= LEN_PREFIX &&
		    get_len(r->rxbuf) != r->size)
			return -EBADMSG;
		n = recv(r->cfd, r->rxbuf + r->rxhave, r->rxcap - r->rxhave,
			 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		r->rxhave += (size_t)n;
	}
	if (get_len(r->rxbuf + r->rxoff) != r->size)
		return -EBADMSG;
	r->rxoff += LEN_PREFIX + r->size;
	*idx = r->next_rx++;
	return 0;
}

/* AF_UNIX SOCK_SEQPACKET */

static void *unix_server(void *arg)
{
	struct run *r = arg;
	uint8_t *buf = malloc(r->size + 1);
	ssize_t n;

	pin_to(1);
	while (buf) {
		n = recv(r->sfd, buf, r->size + 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			break;		/* client closed */
		if (n < 0 || send(r->sfd, buf, (size_t)n, MSG_NOSIGNAL) != n) {
			atomic_fetch_add(&r->srv_errors, 1);
			break;
		}
	}
	free(buf);
	return NULL;
}

static int unix_setup(struct run *r)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	r->cfd = sv[0];
	r->sfd = sv[1];
	grow_buffers(r->cfd);
	grow_buffers(r->sfd);
	if (pthread_create(&r->srv, NULL, unix_server, r))
		return -EAGAIN;
	r->srv_started = true;
	return 0;
}

static int unix_send(struct run *r, uint64_t idx, uint64_t count)
{
	ssize_t n;

	(void)idx;
	(void)count;
	do {
		n = send(r->cfd, r->req, r->size, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

static int unix_recv(struct run *r, uint64_t *idx)
{
	ssize_t n;

	do {
		n = recv(r->cfd, r->resp, r->size + 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != r->size)
		return -EBADMSG;
	*idx = r->next_rx++;
	return 0;
}

static void stop_wake(int sig)
{
	(void)sig;
}

/*
 * The fastrpc servers block in recvmsg() or poll() without a timeout, as
 * the tcp and unix ones block in read(): a timeout (SO_RCVTIMEO, as they
 * had) arms and cancels a kernel timer on every wait, work the other
 * transports do not pay for.  Once @stop is set, SIGUSR1, handled without
 * SA_RESTART, makes the blocked call fail with EINTR; it goes again until
 * the thread has ended, in case one came before the thread blocked.
 */
static void stop_blocked_server(struct run *r)
{
	struct sigaction sa = { .sa_handler = stop_wake };
	struct timespec ts;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	do {
		pthread_kill(r->srv, SIGUSR1);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	} while (pthread_timedjoin_np(r->srv, NULL, &ts) == ETIMEDOUT);
}

/* Closing the client ends the tcp and unix servers; see stop_blocked_server(). */
static void common_teardown(struct run *r)
{
	atomic_store(&r->stop, 1);
	if (r->cfd >= 0)
		shutdown(r->cfd, SHUT_RDWR);
	if (r->cfd >= 0)
		close(r->cfd);
	r->cfd = -1;
	if (r->srv_started && r->srv_blocks)
		stop_blocked_server(r);
	else if (r->srv_started)
		pthread_join(r->srv, NULL);
	r->srv_started = false;
	r->srv_blocks = false;
	if (r->sfd >= 0)
		close(r->sfd);
	r->sfd = -1;
}

enum { T_FASTRPC, T_FASTRPC_BATCH, T_FASTRPC_RING, T_FASTRPC_RING_POLL,
       T_FASTRPC_RING_BUSY,
       T_FASTRPC_TCP, T_TCP, T_TCP_PIPE, T_UNIX };

static const struct transport transports[] = {
	[T_FASTRPC] = { .name = "fastrpc", .setup = fastrpc_setup,
			.send = fastrpc_send, .recv = fastrpc_recv,
			.teardown = common_teardown },
	[T_FASTRPC_BATCH] = { .name = "fastrpc-batch",
			      .setup = fastrpc_batch_setup,
			      .send = fastrpc_batch_send,
			      .recv = fastrpc_batch_recv,
			      .ready = fastrpc_batch_ready,
			      .teardown = common_teardown, .batch = true },
	[T_FASTRPC_RING] = { .name = "fastrpc-ring",
			     .setup = fastrpc_ring_setup_run,
			     .send = fastrpc_ring_send,
			     .recv = fastrpc_ring_recv,
			     .ready = fastrpc_ring_ready,
			     .teardown = fastrpc_ring_teardown, .batch = true },
	[T_FASTRPC_RING_POLL] = { .name = "fastrpc-ring-poll",
				  .setup = fastrpc_ring_poll_setup_run,
				  .send = fastrpc_ring_send,
				  .recv = fastrpc_ring_recv,
				  .ready = fastrpc_ring_ready,
				  .teardown = fastrpc_ring_teardown,
				  .batch = true },
	[T_FASTRPC_RING_BUSY] = { .name = "fastrpc-ring-busy",
				  .setup = fastrpc_ring_busy_setup_run,
				  .send = fastrpc_ring_send,
				  .recv = fastrpc_ring_recv,
				  .ready = fastrpc_ring_ready,
				  .teardown = fastrpc_ring_teardown,
				  .batch = true },
	[T_FASTRPC_TCP] = { .name = "fastrpc-tcp", .setup = fastrpc_tcp_setup,
			    .send = fastrpc_send, .recv = fastrpc_recv,
			    .teardown = common_teardown },
	[T_TCP] = { .name = "tcp", .setup = tcp_setup, .send = tcp_send,
		    .recv = tcp_recv, .teardown = common_teardown },
	[T_TCP_PIPE] = { .name = "tcp-pipelined", .setup = tcp_pipe_setup,
			 .send = tcp_pipe_send, .recv = tcp_pipe_recv,
			 .ready = tcp_pipe_ready,
			 .teardown = common_teardown, .batch = true },
	[T_UNIX] = { .name = "unix", .same_host_only = true,
		     .setup = unix_setup, .send = unix_send, .recv = unix_recv,
		     .teardown = common_teardown },
};

/*
 * @total calls, at most r->inflight outstanding; latencies of calls from
 * index 0 are stored in @lat (may be NULL).  Replies already buffered are
 * taken before sending, so a batching transport sends every free slot in
 * one write.  Returns 0 or -errno.
 */
static int run_calls(const struct transport *t, struct run *r,
		     uint64_t total, uint64_t *sent_at, uint64_t *lat)
{
	uint64_t sent = 0, done = 0, idx, k, i, ts;
	int ret;

	while (done < total) {
		while (sent < total && sent - done < r->inflight) {
			k = t->batch ? r->inflight - (sent - done) : 1;
			if (k > total - sent)
				k = total - sent;
			ts = now_ns();
			for (i = 0; i < k; i++)
				sent_at[sent + i] = ts;
			ret = t->send(r, sent, k);
			if (ret)
				return ret;
			sent += k;
		}
		do {
			ret = t->recv(r, &idx);
			if (ret)
				return ret;
			if (idx >= sent)
				return -EBADMSG;
			if (lat)
				lat[done] = now_ns() - sent_at[idx];
			done++;
		} while (done < total && t->ready && t->ready(r));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @v, in microseconds. */
static double pct_us(const uint64_t *v, uint64_t n, double p)
{
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return (double)v[rank - 1] / 1000.0;
}

static bool json_rows;

/* One result: a table line and, with -j, a FASTRPC-ROW line. */
static void print_row(const char *name, const char *transport,
		      const char *background, bool json, size_t size,
		      uint64_t inflight, uint64_t *lat, uint64_t n, uint64_t ns)
{
	double p50, p90, p99, p999, max, rate;

	qsort(lat, n, sizeof(*lat), cmp_u64);
	p50 = pct_us(lat, n, 50);
	p90 = pct_us(lat, n, 90);
	p99 = pct_us(lat, n, 99);
	p999 = pct_us(lat, n, 99.9);
	max = (double)lat[n - 1] / 1000.0;
	rate = (double)n * 1e9 / (double)ns;
	printf("%-13s %8zu %8llu %7llu %9.1f %9.1f %9.1f %9.1f %9.1f %9.0f\n",
	       name, size, (unsigned long long)inflight, (unsigned long long)n,
	       p50, p90, p99, p999, max, rate);
	if (json)
		printf("FASTRPC-ROW {\"topology\": \"%s\", \"transport\": \"%s\", "
		       "\"size\": %zu, \"inflight\": %llu, \"calls\": %llu, "
		       "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "
		       "\"p999_us\": %.1f, \"max_us\": %.1f, "
		       "\"calls_per_s\": %.0f%s%s%s}\n", topology(), transport,
		       size, (unsigned long long)inflight,
		       (unsigned long long)n, p50, p90, p99, p999, max, rate,
		       background ? ", \"background\": \"" : "",
		       background ? background : "", background ? "\"" : "");
	fflush(stdout);
}

static void print_header(const char *first)
{
	printf("%-13s %8s %8s %7s %9s %9s %9s %9s %9s %9s\n", first, "bytes",
	       "inflight", "calls", "p50_us", "p90_us", "p99_us", "p99.9_us",
	       "max_us", "calls/s");
}

static int alloc_bufs(struct run *r, uint64_t n, uint64_t warmup,
		      uint64_t **sent_at, uint64_t **lat)
{
	size_t framed = r->size + LEN_PREFIX;

	*sent_at = calloc(n > warmup ? n : warmup, sizeof(**sent_at));
	*lat = calloc(n, sizeof(**lat));
	/* room for -c framed requests (tcp-pipelined writes them at once) */
	r->req = malloc(r->inflight * framed);
	r->resp = calloc(1, framed);
	if (!*sent_at || !*lat || !r->req || !r->resp)
		return -ENOMEM;
	memset(r->req, 0x5a, r->inflight * framed);
	return 0;
}

static void free_bufs(struct run *r, uint64_t *sent_at, uint64_t *lat)
{
	free(sent_at);
	free(lat);
	free(r->req);
	free(r->resp);
	free(r->rxbuf);
	free(r->creq);
	free(r->rbuf);
	free(r->rspace);
	free(r->ret_bufs);
}

static int bench_one(const struct transport *t, size_t size, uint64_t n,
		     uint64_t inflight, uint64_t warmup, uint16_t port)
{
	struct run r = { .size = size, .inflight = inflight, .port = port,
			 .cfd = -1, .sfd = -1 };
	uint32_t be = htonl((uint32_t)size);
	uint64_t *sent_at = NULL, *lat = NULL, t0, t1, i;
	int ret;

	ret = alloc_bufs(&r, n, warmup, &sent_at, &lat);
	if (ret)
		goto out;
	/* the length-framed transports send prefix and payload together */
	if (t == &transports[T_TCP] || t == &transports[T_TCP_PIPE])
		for (i = 0; i < inflight; i++)
			memcpy(r.req + i * (size + LEN_PREFIX), &be,
			       LEN_PREFIX);

	ret = t->setup(&r);
	if (ret)
		goto out;
	ret = run_calls(t, &r, warmup, sent_at, NULL);
	if (ret)
		goto out;
	r.next_rx = 0;
	t0 = now_ns();
	ret = run_calls(t, &r, n, sent_at, lat);
	t1 = now_ns();
	if (ret)
		goto out;
	if (atomic_load(&r.srv_errors)) {
		ret = -EIO;
		goto out;
	}
	print_row(t->name, t->name, NULL, json_rows, size, inflight, lat, n,
		  t1 - t0);
out:
	t->teardown(&r);
	free_bufs(&r, sent_at, lat);
	return ret;
}

/*
 * Head-of-line control: a thread that only spins in user space, on CPU 1
 * with -C.  It shares nothing with the calls but a CPU the guest has: in
 * icount mode QEMU runs the vCPUs in turn, so whatever delay it alone
 * puts in the calls' tail is the emulator's, not the connection's.
 */
static atomic_int hog_stop;

static void *hog_spin(void *arg)
{
	volatile uint64_t x = 0;

	(void)arg;
	pin_to(1);
	while (!atomic_load(&hog_stop))
		x++;
	return NULL;
}

/* -H: the same small calls while hog_spin() runs: the "cpu-hog" row. */
static int bench_hol_hog(const struct transport *t, struct run *r,
			 uint64_t n, uint64_t *sent_at, uint64_t *lat)
{
	uint64_t t0, done = 0, idx;
	pthread_t thr;
	int ret = 0;

	atomic_store(&hog_stop, 0);
	if (pthread_create(&thr, NULL, hog_spin, NULL))
		return -EAGAIN;
	t0 = now_ns();
	while (done < n) {
		sent_at[0] = now_ns();
		ret = t->send(r, done, 1);
		if (!ret)
			ret = t->recv(r, &idx);
		if (ret)
			break;
		lat[done++] = now_ns() - sent_at[0];
	}
	atomic_store(&hog_stop, 1);
	pthread_join(thr, NULL);
	if (!ret && done)
		print_row("fastrpc-hog", "fastrpc", "cpu-hog", json_rows,
			  r->size, 1, lat, done, now_ns() - t0);
	return ret;
}

/* Head-of-line: the streaming side of -H. */
struct hol_stream {
	int fd;
	int err;
	atomic_int done;
	uint64_t ns;
};

static void *hol_streamer(void *arg)
{
	struct hol_stream *h = arg;
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	uint8_t *buf = malloc(HOL_MSG);
	uint64_t t0 = now_ns();
	uint32_t status = 0;
	ssize_t n = 0;
	int i;

	pin_to(1);
	if (!buf)
		h->err = -ENOMEM;
	for (i = 0; buf && i < HOL_MSGS; i++) {
		memset(buf, i, HOL_MSG);
		if (!i)
			n = fastrpc_send_call_opts(h->fd, 1, SINK_METHOD, &o,
						   buf, HOL_MSG, 0);
		else
			n = fastrpc_send_more(h->fd, 1, buf, HOL_MSG,
					      i == HOL_MSGS - 1 ? MSG_EOR : 0);
		if (n < 0) {
			h->err = (int)n;
			break;
		}
	}
	if (!h->err) {
		n = fastrpc_recv_result(h->fd, NULL, &status, NULL, 0, 0);
		if (n < 0 || status != FASTRPC_OK)
			h->err = n < 0 ? (int)n : -EPROTO;
	}
	h->ns = now_ns() - t0;
	atomic_store(&h->done, 1);
	free(buf);
	return NULL;
}

/*
 * Small calls on an idle connection, then while 64 MiB streams from a
 * second socket over the same connection.
 */
static int bench_hol(size_t size, uint64_t n, uint64_t warmup, uint16_t port)
{
	const struct transport *t = &transports[T_FASTRPC];
	struct run r = { .size = size, .inflight = 1, .port = port,
			 .cfd = -1, .sfd = -1 };
	struct hol_stream h = { .fd = -1 };
	struct fastrpc_sock_info a, b;
	struct sockaddr_fastrpc peer;
	socklen_t plen = sizeof(peer);
	uint64_t *sent_at = NULL, *lat = NULL, t0, done = 0, idx;
	pthread_t thr;
	int ret;

	ret = alloc_bufs(&r, n, warmup, &sent_at, &lat);
	if (ret)
		goto out;
	fastrpc_server_cpu = 0;
	ret = t->setup(&r);
	if (ret)
		goto out;
	ret = run_calls(t, &r, warmup, sent_at, NULL);
	if (ret)
		goto out;
	t0 = now_ns();
	ret = run_calls(t, &r, n, sent_at, lat);
	if (ret)
		goto out;
	/* with -C not where the plain fastrpc row has its threads */
	print_row("fastrpc-idle", "fastrpc", "idle", json_rows, size, 1, lat,
		  n, now_ns() - t0);

	/* the streamer shares the client's connection */
	if (getpeername(r.cfd, (struct sockaddr *)&peer, &plen) < 0) {
		ret = -errno;
		goto out;
	}
	h.fd = fastrpc_socket(SOCK_CLOEXEC);
	if (h.fd < 0) {
		ret = h.fd;
		goto out;
	}
	grow_buffers(h.fd);
	if (connect(h.fd, (struct sockaddr *)&peer, sizeof(peer)) < 0) {
		ret = -errno;
		goto out;
	}
	if (fastrpc_get_sock_info(r.cfd, &a) || fastrpc_get_sock_info(h.fd, &b)
	    || a.conn_id != b.conn_id) {
		fprintf(stderr, "fastrpc-bench: -H: not one connection\n");
		ret = -EPROTO;
		goto out;
	}
	if (pthread_create(&thr, NULL, hol_streamer, &h)) {
		ret = -EAGAIN;
		goto out;
	}
	t0 = now_ns();
	while (!atomic_load(&h.done) && done < n) {
		sent_at[0] = now_ns();
		ret = t->send(&r, done, 1);
		if (!ret)
			ret = t->recv(&r, &idx);
		if (ret)
			break;
		lat[done++] = now_ns() - sent_at[0];
	}
	pthread_join(thr, NULL);
	if (!ret)
		ret = h.err;
	if (!ret && atomic_load(&r.srv_errors))
		ret = -EIO;
	if (ret)
		goto out;
	if (done)
		print_row("fastrpc-hol", "fastrpc", "64MiB-stream", json_rows,
			  size, 1, lat, done, now_ns() - t0);
	printf("# 64 MiB stream (16 x 4 MiB) took %.1f ms, %.1f MiB/s; "
	       "%llu small calls meanwhile\n", (double)h.ns / 1e6,
	       64.0 * 1e9 / (double)h.ns, (unsigned long long)done);
	ret = bench_hol_hog(t, &r, n, sent_at, lat);
out:
	if (h.fd >= 0)
		close(h.fd);
	t->teardown(&r);
	free_bufs(&r, sent_at, lat);
	return ret;
}

/* -N: a name under /run/netns, or a path. */
static int open_netns(const char *ns)
{
	char path[256];

	if (strchr(ns, '/'))
		snprintf(path, sizeof(path), "%s", ns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", ns);
	srv_ns = open(path, O_RDONLY | O_CLOEXEC);
	home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (srv_ns < 0 || home_ns < 0) {
		fprintf(stderr, "fastrpc-bench: -N %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Is @name an item of the comma-separated @list? */
static bool listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name))) {
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
		p += len;
	}
	return false;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n calls] [-s bytes] [-c in-flight] [-w warmup]\n"
		"          [-t fastrpc,fastrpc-batch,fastrpc-ring,fastrpc-ring-poll,\n"
		"              fastrpc-ring-busy,fastrpc-tcp,tcp,tcp-pipelined,unix]\n"
		"          [-p fastrpc-port] [-B ring-spin-us] [-U] [-L ring-lend-bytes]\n"
		"          [-N server-netns -a server-address] [-C] [-H] [-j]\n",
		prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long n = 10000, inflight = 1, warmup = 1000;
	const char *which =
		"fastrpc,fastrpc-batch,fastrpc-ring,tcp,tcp-pipelined,unix";
	const char *ns = NULL;
	unsigned long size = 64, port = 7072;
	int c, failed = 0, ran = 0;
	bool hol = false;
	size_t i;

	while ((c = getopt(argc, argv, "n:s:c:w:t:p:N:a:B:L:UCHjh")) != -1) {
		switch (c) {
		case 'L':
			ring_lend_min = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			ring_spin_us = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'U':
			ring_kernel_spin = false;
			break;
		case 'H':
			hol = true;
			break;
		case 'j':
			json_rows = true;
			break;
		case 'C':
			pin_cpus = true;
			break;
		case 'n':
			n = strtoull(optarg, NULL, 0);
			break;
		case 's':
			size = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			inflight = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			warmup = strtoull(optarg, NULL, 0);
			break;
		case 't':
			which = optarg;
			break;
		case 'p':
			port = strtoul(optarg, NULL, 0);
			break;
		case 'N':
			ns = optarg;
			break;
		case 'a':
			srv_addr = optarg;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (!n || !inflight || !size || size > FASTRPC_MAX_MSG || !port ||
	    port > 65535 || optind != argc)
		usage(argv[0]);
	if (inflight * (size + MSG_OVERHEAD) > SOCKBUF / 2) {
		fprintf(stderr, "fastrpc-bench: -c %llu x -s %lu does not fit "
			"the socket buffers; lower one of them\n",
			inflight, size);
		return 2;
	}
	if (ns && open_netns(ns))
		return 2;
	pin_to(0);

	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const struct transport *t = &transports[i];
		int ret;

		if (!listed(which, t->name))
			continue;
		if (!ran++) {
			if (ring_spin_us && (listed(which, "fastrpc-ring") ||
					     listed(which, "fastrpc-ring-busy")))
				printf("# fastrpc-ring, fastrpc-ring-busy: "
				       "busy-poll %u us (-B)\n", ring_spin_us);
			if (!ring_kernel_spin &&
			    (listed(which, "fastrpc-ring-busy") ||
			     (ring_spin_us && listed(which, "fastrpc-ring"))))
				printf("# fastrpc-ring, fastrpc-ring-busy: "
				       "spinning in user space (-U)\n");
			print_header("transport");
		}
		if (t->same_host_only && ns) {
			printf("# %s: same host only, left out with -N\n",
			       t->name);
			continue;
		}
		ret = bench_one(t, size, n, inflight, warmup, (uint16_t)port);
		if (ret) {
			fprintf(stderr, "fastrpc-bench: %s: %s\n", t->name,
				fastrpc_strerror(ret));
			printf("%-13s %s\n", t->name, "failed");
			failed++;
		}
	}
	if (hol) {
		int ret;

		print_header("hol");
		ret = bench_hol(size, n, warmup, (uint16_t)port);
		ran++;
		if (ret) {
			fprintf(stderr, "fastrpc-bench: -H: %s\n",
				fastrpc_strerror(ret));
			failed++;
		}
	}
	if (!ran) {
		fprintf(stderr, "fastrpc-bench: no known transport in '%s'\n",
			which);
		return 2;
	}
	return failed ? 1 : 0;
}
