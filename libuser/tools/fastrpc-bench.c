// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpc-bench: round-trip latency and throughput of FastRPC against what
 * a user would otherwise use, in one process.
 *
 *   fastrpc-bench [-n calls] [-s bytes] [-c in-flight] [-w warmup]
 *                 [-t fastrpc,tcp,unix] [-p port]
 *
 * For each transport an echo server runs on a thread and the client keeps
 * up to -c calls in flight, timing each call with CLOCK_MONOTONIC from
 * just before its send to just after its reply is received:
 *
 *   fastrpc	AF_FASTRPC over loopback TCP (needs af_fastrpc loaded)
 *   tcp	TCP loopback, 4-byte big-endian length prefix, TCP_NODELAY
 *   unix	AF_UNIX SOCK_SEQPACKET socket pair
 *
 * The client is one thread that sends while fewer than -c calls are
 * outstanding and otherwise blocks receiving; the socket buffers are sized
 * so that -c requests and replies always fit, so blocking sends cannot
 * deadlock.  Exit status: 0 if every transport ran, 1 otherwise.
 *
 * -H adds the head-of-line figure: FastRPC small-call latency (one call
 * in flight, -s bytes) while a second socket of the same process streams
 * 64 MiB (one streaming call of 16 x 4 MiB messages) to the same server
 * over the same shared connection, printed as "fastrpc-hol" below the
 * same calls measured on the idle connection ("fastrpc-idle").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
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
#define SOCKBUF		(8 << 20)
/* Bytes one message may cost in socket accounting beyond its payload. */
#define MSG_OVERHEAD	1024

struct run {
	size_t size;		/* payload bytes per call */
	uint16_t port;		/* fastrpc port to try first */
	int cfd;		/* client socket */
	int sfd;		/* server socket (listener or pair end) */
	pthread_t srv;
	bool srv_started;
	atomic_int stop;
	atomic_long srv_errors;
	uint64_t next_rx;	/* in-order transports: index of next reply */
	uint8_t *req, *resp;
};

struct transport {
	const char *name;
	int (*setup)(struct run *r);
	int (*send)(struct run *r, uint64_t idx);
	int (*recv)(struct run *r, uint64_t *idx);
	void (*teardown)(struct run *r);
};

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

/* FastRPC */

static void *fastrpc_server(void *arg)
{
	struct run *r = arg;
	struct fastrpc_incoming_info info = { 0 };
	uint8_t *buf = malloc(r->size + 1);
	ssize_t n;
	int st;

	while (buf && !atomic_load(&r->stop)) {
		/* longer stream messages are cut short; that is all we need */
		n = fastrpc_recv_call_ex(r->sfd, &info, buf, r->size + 1, 0);
		if (n == -EAGAIN || n == -EINTR)
			continue;	/* SO_RCVTIMEO: look at stop */
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

static int fastrpc_setup(struct run *r)
{
	struct timeval tv = { .tv_usec = 100000 };
	uint16_t port = r->port;
	int i, fd = -EADDRINUSE;

	for (i = 0; i < 16 && fd == -EADDRINUSE; i++, port++)
		fd = fastrpc_server_open(AF_INET, port, 128, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	port--;
	r->sfd = fd;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (pthread_create(&r->srv, NULL, fastrpc_server, r))
		return -EAGAIN;
	r->srv_started = true;
	fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	r->cfd = fd;
	return 0;
}

static int fastrpc_send(struct run *r, uint64_t idx)
{
	ssize_t n = fastrpc_send_call(r->cfd, idx, ECHO_METHOD, r->req,
				      r->size, 0);

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

/* TCP loopback with a length prefix */

static void *tcp_server(void *arg)
{
	struct run *r = arg;
	uint8_t *buf = malloc(r->size + 4);
	int one = 1, fd, ret;
	uint32_t len;

	fd = accept(r->sfd, NULL, NULL);
	if (fd < 0 || !buf) {
		atomic_fetch_add(&r->srv_errors, 1);
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	grow_buffers(fd);
	for (;;) {
		ret = full_read(fd, buf, 4);
		if (ret == 1)
			break;		/* client done */
		memcpy(&len, buf, 4);
		len = ntohl(len);
		if (ret < 0 || len > r->size ||
		    full_read(fd, buf + 4, len) != 0 ||
		    full_write(fd, buf, len + 4) < 0) {
			atomic_fetch_add(&r->srv_errors, 1);
			break;
		}
	}
	close(fd);
out:
	free(buf);
	return NULL;
}

static int tcp_setup(struct run *r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	int one = 1;

	r->sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->sfd < 0 || bind(r->sfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(r->sfd, (struct sockaddr *)&sin, &slen) ||
	    listen(r->sfd, 1))
		return -errno;
	if (pthread_create(&r->srv, NULL, tcp_server, r))
		return -EAGAIN;
	r->srv_started = true;
	r->cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (r->cfd < 0)
		return -errno;
	setsockopt(r->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	grow_buffers(r->cfd);
	if (connect(r->cfd, (struct sockaddr *)&sin, sizeof(sin)))
		return -errno;
	return 0;
}

static int tcp_send(struct run *r, uint64_t idx)
{
	uint32_t len = htonl((uint32_t)r->size);

	(void)idx;
	/* One write per call: prefix and payload share a buffer. */
	memcpy(r->req, &len, 4);
	return full_write(r->cfd, r->req, r->size + 4);
}

static int tcp_recv(struct run *r, uint64_t *idx)
{
	uint32_t len;
	int ret;

	ret = full_read(r->cfd, r->resp, 4);
	if (ret)
		return ret < 0 ? ret : -EPIPE;
	memcpy(&len, r->resp, 4);
	if (ntohl(len) != r->size)
		return -EBADMSG;
	ret = full_read(r->cfd, r->resp + 4, r->size);
	if (ret)
		return ret < 0 ? ret : -EPIPE;
	*idx = r->next_rx++;
	return 0;
}

/* AF_UNIX SOCK_SEQPACKET */

static void *unix_server(void *arg)
{
	struct run *r = arg;
	uint8_t *buf = malloc(r->size + 1);
	ssize_t n;

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

static int unix_send(struct run *r, uint64_t idx)
{
	ssize_t n;

	(void)idx;
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

/* Closing the client ends the tcp and unix servers; fastrpc polls stop. */
static void common_teardown(struct run *r)
{
	atomic_store(&r->stop, 1);
	if (r->cfd >= 0)
		shutdown(r->cfd, SHUT_RDWR);
	if (r->cfd >= 0)
		close(r->cfd);
	r->cfd = -1;
	if (r->srv_started)
		pthread_join(r->srv, NULL);
	r->srv_started = false;
	if (r->sfd >= 0)
		close(r->sfd);
	r->sfd = -1;
}

static const struct transport transports[] = {
	{ "fastrpc", fastrpc_setup, fastrpc_send, fastrpc_recv, common_teardown },
	{ "tcp", tcp_setup, tcp_send, tcp_recv, common_teardown },
	{ "unix", unix_setup, unix_send, unix_recv, common_teardown },
};

/*
 * @total calls, at most @inflight outstanding; latencies of calls from
 * index 0 are stored in @lat (may be NULL).  Returns 0 or -errno.
 */
static int run_calls(const struct transport *t, struct run *r,
		     uint64_t total, uint64_t inflight, uint64_t *sent_at,
		     uint64_t *lat)
{
	uint64_t sent = 0, done = 0, idx;
	int ret;

	while (done < total) {
		while (sent < total && sent - done < inflight) {
			sent_at[sent] = now_ns();
			ret = t->send(r, sent);
			if (ret)
				return ret;
			sent++;
		}
		ret = t->recv(r, &idx);
		if (ret)
			return ret;
		if (idx >= sent)
			return -EBADMSG;
		if (lat)
			lat[done] = now_ns() - sent_at[idx];
		done++;
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
	return (double)v[rank - 1] / 1000.0;
}

static int bench_one(const struct transport *t, size_t size, uint64_t n,
		     uint64_t inflight, uint64_t warmup, uint16_t port)
{
	struct run r = { .size = size, .port = port, .cfd = -1, .sfd = -1 };
	uint64_t *sent_at, *lat, t0, t1;
	int ret;

	sent_at = calloc(n > warmup ? n : warmup, sizeof(*sent_at));
	lat = calloc(n, sizeof(*lat));
	r.req = calloc(1, size + 4);
	r.resp = calloc(1, size + 4);
	if (!sent_at || !lat || !r.req || !r.resp) {
		ret = -ENOMEM;
		goto out;
	}
	memset(r.req + 4, 0x5a, size);
	if (t != &transports[1])
		memset(r.req, 0x5a, size);

	ret = t->setup(&r);
	if (ret)
		goto out;
	ret = run_calls(t, &r, warmup, inflight, sent_at, NULL);
	if (ret)
		goto out;
	r.next_rx = 0;
	t0 = now_ns();
	ret = run_calls(t, &r, n, inflight, sent_at, lat);
	t1 = now_ns();
	if (ret)
		goto out;
	if (atomic_load(&r.srv_errors)) {
		ret = -EIO;
		goto out;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%-9s %9zu %9llu %9llu %10.1f %10.1f %10.1f %12.0f\n", t->name,
	       size, (unsigned long long)inflight, (unsigned long long)n,
	       pct_us(lat, n, 50), pct_us(lat, n, 99), pct_us(lat, n, 99.9),
	       (double)n * 1e9 / (double)(t1 - t0));
	fflush(stdout);
out:
	t->teardown(&r);
	free(sent_at);
	free(lat);
	free(r.req);
	free(r.resp);
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

static void print_lat(const char *name, size_t size, uint64_t *lat,
		      uint64_t n, uint64_t ns)
{
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("%-13s %5zu %9d %9llu %10.1f %10.1f %10.1f %12.0f\n", name,
	       size, 1, (unsigned long long)n, pct_us(lat, n, 50),
	       pct_us(lat, n, 99), pct_us(lat, n, 99.9),
	       (double)n * 1e9 / (double)ns);
}

/*
 * Small calls on an idle connection, then while 64 MiB streams from a
 * second socket over the same connection.
 */
static int bench_hol(size_t size, uint64_t n, uint64_t warmup, uint16_t port)
{
	const struct transport *t = &transports[0];
	struct run r = { .size = size, .port = port, .cfd = -1, .sfd = -1 };
	struct hol_stream h = { .fd = -1 };
	struct fastrpc_sock_info a, b;
	struct sockaddr_fastrpc peer;
	socklen_t plen = sizeof(peer);
	uint64_t *sent_at, *lat, t0, done = 0, idx;
	pthread_t thr;
	int ret;

	sent_at = calloc(n > warmup ? n : warmup, sizeof(*sent_at));
	lat = calloc(n, sizeof(*lat));
	r.req = calloc(1, size + 4);
	r.resp = calloc(1, size + 4);
	if (!sent_at || !lat || !r.req || !r.resp) {
		ret = -ENOMEM;
		goto out;
	}
	ret = t->setup(&r);
	if (ret)
		goto out;
	ret = run_calls(t, &r, warmup, 1, sent_at, NULL);
	if (ret)
		goto out;
	t0 = now_ns();
	ret = run_calls(t, &r, n, 1, sent_at, lat);
	if (ret)
		goto out;
	print_lat("fastrpc-idle", size, lat, n, now_ns() - t0);

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
		ret = t->send(&r, done);
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
		print_lat("fastrpc-hol", size, lat, done, now_ns() - t0);
	printf("# 64 MiB stream (16 x 4 MiB) took %.1f ms, %.1f MiB/s; "
	       "%llu small calls meanwhile\n", (double)h.ns / 1e6,
	       64.0 * 1e9 / (double)h.ns, (unsigned long long)done);
out:
	if (h.fd >= 0)
		close(h.fd);
	t->teardown(&r);
	free(sent_at);
	free(lat);
	free(r.req);
	free(r.resp);
	return ret;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n calls] [-s bytes] [-c in-flight] [-w warmup]\n"
		"          [-t fastrpc,tcp,unix] [-p fastrpc-port] [-H]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long n = 10000, inflight = 1, warmup = 1000;
	const char *which = "fastrpc,tcp,unix";
	unsigned long size = 64, port = 7072;
	int c, failed = 0, ran = 0;
	bool hol = false;
	size_t i;

	while ((c = getopt(argc, argv, "n:s:c:w:t:p:Hh")) != -1) {
		switch (c) {
		case 'H':
			hol = true;
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
		default:
			usage(argv[0]);
		}
	}
	if (!n || !inflight || size > FASTRPC_MAX_MSG || !port ||
	    port > 65535 || optind != argc)
		usage(argv[0]);
	if (inflight * (size + MSG_OVERHEAD) > SOCKBUF / 2) {
		fprintf(stderr, "fastrpc-bench: -c %llu x -s %lu does not fit "
			"the socket buffers; lower one of them\n",
			inflight, size);
		return 2;
	}

	printf("%-9s %9s %9s %9s %10s %10s %10s %12s\n", "transport",
	       "bytes", "inflight", "calls", "p50_us", "p99_us", "p99.9_us",
	       "calls/s");
	for (i = 0; i < sizeof(transports) / sizeof(transports[0]); i++) {
		const struct transport *t = &transports[i];
		size_t len = strlen(t->name);
		const char *p = which;
		bool want = false;
		int ret;

		/* Is t->name an item of the comma-separated list? */
		while ((p = strstr(p, t->name))) {
			if ((p == which || p[-1] == ',') &&
			    (p[len] == ',' || p[len] == '\0'))
				want = true;
			p += len;
		}
		if (!want)
			continue;
		ret = bench_one(t, size, n, inflight, warmup, (uint16_t)port);
		ran++;
		if (ret) {
			fprintf(stderr, "fastrpc-bench: %s: %s\n", t->name,
				fastrpc_strerror(ret));
			printf("%-9s %s\n", t->name, "failed");
			failed++;
		}
	}
	if (hol) {
		int ret;

		printf("%-13s %5s %9s %9s %10s %10s %10s %12s\n", "hol",
		       "bytes", "inflight", "calls", "p50_us", "p99_us",
		       "p99.9_us", "calls/s");
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
