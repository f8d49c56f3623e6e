/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the FastRPC selftests: an echo server on threads,
 * raw sendmsg/recvmsg that expose msg_flags, /proc readers and timing.
 *
 * Helpers never assert (some run on server threads); they return values
 * the tests assert on.
 */
#ifndef FRPC_TEST_H
#define FRPC_TEST_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "libfastrpc.h"

/* Methods understood by the test echo server. */
enum frpc_test_method {
	M_ECHO		= 1,	/* OK + the request bytes */
	M_STATUS	= 2,	/* status req[0], payload req[1..] */
	M_PEER		= 3,	/* OK + the caller's address as text */
	M_HOLD		= 4,	/* never answered by the echo server */
};

#define ECHO_MAX_THREADS 8

struct echo_srv {
	int fd;
	uint16_t port;
	int nthreads;
	pthread_t thr[ECHO_MAX_THREADS];
	atomic_int stop;
	atomic_uint served[ECHO_MAX_THREADS];
	atomic_uint errors;
	atomic_int last_err;
	atomic_uint held;
	atomic_uint notices;	/* IN_CANCELLED / IN_CONT skipped */
};

struct echo_thread_arg {
	struct echo_srv *srv;
	int idx;
};

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t now_ms(void)
{
	return now_ns() / 1000000ull;
}

/* A port for one test: @base plus a stable offset from the test name. */
static inline uint16_t test_port(uint16_t base, const char *name)
{
	uint32_t h = 2166136261u;

	while (*name)
		h = (h ^ (uint8_t)*name++) * 16777619u;
	return (uint16_t)(base + h % 80);
}

/*
 * Open a server on the first free port from *@port upwards (a previous
 * test may leave the port in TIME_WAIT); *@port is updated.
 */
static inline int open_server(int ipfam, uint16_t *port)
{
	int fd = -EADDRINUSE;
	int i;

	for (i = 0; i < 64; i++) {
		fd = fastrpc_server_open(ipfam, (uint16_t)(*port + i), 128,
					 SOCK_CLOEXEC);
		if (fd != -EADDRINUSE)
			break;
	}
	if (fd >= 0)
		*port = (uint16_t)(*port + i);
	return fd;
}

static inline int set_rcvtimeo(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/*
 * The usual fixture: a server on a free port from test_port(@base, @name)
 * and one client connected to it over IPv4, both with an SO_RCVTIMEO of
 * @ms (0: none).  Returns 0 or -errno; whatever was opened is in *@sfd and
 * *@cfd (-1 or -errno otherwise), for pair_close().
 */
static inline int pair_open(uint16_t base, const char *name, int ms,
			    int *sfd, int *cfd, uint16_t *port)
{
	*cfd = -1;
	*port = test_port(base, name);
	*sfd = open_server(AF_INET, port);
	if (*sfd < 0)
		return *sfd;
	*cfd = fastrpc_client_open("127.0.0.1", *port, SOCK_CLOEXEC);
	if (*cfd < 0)
		return *cfd;
	if (ms && (set_rcvtimeo(*cfd, ms) || set_rcvtimeo(*sfd, ms)))
		return -errno;
	return 0;
}

static inline void pair_close(int sfd, int cfd)
{
	if (cfd >= 0)
		close(cfd);
	if (sfd >= 0)
		close(sfd);
}

/* 1 if @fd has @events within @ms, 0 on timeout, -errno on error. */
static inline int wait_events(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n = poll(&p, 1, ms);

	if (n < 0)
		return -errno;
	return n > 0 && (p.revents & events) ? 1 : 0;
}

static inline void *echo_thread(void *p)
{
	struct echo_thread_arg *arg = p;
	struct echo_srv *s = arg->srv;
	int idx = arg->idx;
	size_t cap = FASTRPC_MAX_MSG;
	struct fastrpc_incoming_info info = { 0 };
	uint8_t *buf = malloc(cap);
	ssize_t n, r;

	free(arg);
	if (!buf) {
		atomic_fetch_add(&s->errors, 1);
		return NULL;
	}
	while (!atomic_load(&s->stop)) {
		if (wait_events(s->fd, POLLIN, 50) <= 0)
			continue;
		n = fastrpc_recv_call_ex(s->fd, &info, buf, cap,
					 MSG_DONTWAIT);
		if (n == -EAGAIN)
			continue;	/* another thread took it */
		if (n < 0) {
			atomic_store(&s->last_err, (int)-n);
			atomic_fetch_add(&s->errors, 1);
			usleep(10000);
			continue;
		}
		/* a cancelled call: nothing to answer; stream parts: none */
		if (info.flags & (FASTRPC_IN_CANCELLED | FASTRPC_IN_CONT)) {
			atomic_fetch_add(&s->notices, 1);
			continue;
		}
		switch (info.method) {
		case M_ECHO:
			r = fastrpc_send_reply(s->fd, info.handle, FASTRPC_OK,
					       buf, (size_t)n, 0);
			break;
		case M_STATUS:
			r = fastrpc_send_reply(s->fd, info.handle,
					       n ? buf[0] : FASTRPC_UNKNOWN,
					       buf + 1, n ? (size_t)n - 1 : 0,
					       0);
			break;
		case M_PEER: {
			char str[FASTRPC_ADDRSTRLEN];
			int len = fastrpc_addr_str(&info.peer, str,
						   sizeof(str));

			if (len < 0)
				len = snprintf(str, sizeof(str), "bad:%d", len);
			r = fastrpc_send_reply(s->fd, info.handle, FASTRPC_OK,
					       str, (size_t)len, 0);
			break;
		}
		case M_HOLD:
			atomic_fetch_add(&s->held, 1);
			r = 0;
			break;
		default:
			r = fastrpc_send_reply(s->fd, info.handle,
					       FASTRPC_UNIMPLEMENTED, NULL, 0,
					       0);
			break;
		}
		if (r < 0) {
			atomic_store(&s->last_err, (int)-r);
			atomic_fetch_add(&s->errors, 1);
		}
		atomic_fetch_add(&s->served[idx], 1);
	}
	free(buf);
	return NULL;
}

/* Start a server on @ipfam from port @base upwards with @nthreads. */
static inline int echo_srv_start(struct echo_srv *s, int ipfam,
				 uint16_t base, int nthreads)
{
	int i, fd;

	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->port = base;
	fd = open_server(ipfam, &s->port);
	if (fd < 0)
		return fd;
	s->fd = fd;
	for (i = 0; i < nthreads && i < ECHO_MAX_THREADS; i++) {
		struct echo_thread_arg *arg = malloc(sizeof(*arg));

		if (!arg)
			return -ENOMEM;
		arg->srv = s;
		arg->idx = i;
		if (pthread_create(&s->thr[i], NULL, echo_thread, arg)) {
			free(arg);
			return -EAGAIN;
		}
		s->nthreads++;
	}
	return 0;
}

static inline void echo_srv_stop(struct echo_srv *s)
{
	int i;

	atomic_store(&s->stop, 1);
	for (i = 0; i < s->nthreads; i++)
		pthread_join(s->thr[i], NULL);
	s->nthreads = 0;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static inline unsigned int echo_srv_served(struct echo_srv *s)
{
	unsigned int sum = 0;
	int i;

	for (i = 0; i < ECHO_MAX_THREADS; i++)
		sum += atomic_load(&s->served[i]);
	return sum;
}

/*
 * sendmsg() with an arbitrary SOL_FASTRPC control message of @clen bytes
 * (clen 0: none), to exercise the kernel's checks.  -errno on failure.
 */
static inline ssize_t raw_sendmsg(int fd, int ctype, const void *cdata,
				  size_t clen, const void *buf, size_t len,
				  int flags)
{
	union {
		char b[CMSG_SPACE(64)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm = &ctrl.align;
	ssize_t n;

	memset(&ctrl, 0, sizeof(ctrl));
	if (clen) {
		cm->cmsg_level = SOL_FASTRPC;
		cm->cmsg_type = ctype;
		cm->cmsg_len = CMSG_LEN(clen);
		memcpy(CMSG_DATA(cm), cdata, clen);
		msg.msg_control = ctrl.b;
		msg.msg_controllen = CMSG_SPACE(clen);
	}
	n = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}

/* One SOL_FASTRPC control message for raw_sendmsg_n(). */
struct raw_cmsg {
	int		type;
	const void	*data;
	size_t		len;		/* at most 64 */
};

/*
 * sendmsg() with @n control messages laid out back to back (each
 * CMSG_SPACE() long, zero padding), msg_controllen exactly their sum;
 * returns the length or -errno.
 */
static inline ssize_t raw_sendmsg_n(int fd, const struct raw_cmsg *c, int n,
				    const void *buf, size_t len, int flags)
{
	union {
		char b[4 * CMSG_SPACE(64)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t used = 0;
	ssize_t r;
	int i;

	if (n > 4)
		return -E2BIG;
	memset(&ctrl, 0, sizeof(ctrl));
	for (i = 0; i < n; i++) {
		struct cmsghdr *cm = (struct cmsghdr *)(ctrl.b + used);

		if (c[i].len > 64)
			return -E2BIG;
		cm->cmsg_level = SOL_FASTRPC;
		cm->cmsg_type = c[i].type;
		cm->cmsg_len = CMSG_LEN(c[i].len);
		if (c[i].len)
			memcpy(CMSG_DATA(cm), c[i].data, c[i].len);
		used += CMSG_SPACE(c[i].len);
	}
	msg.msg_control = n ? ctrl.b : NULL;
	msg.msg_controllen = used;
	r = sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
	return r < 0 ? -errno : r;
}

/*
 * recvmsg() of one message, returning its length or -errno, the
 * SOL_FASTRPC control message of @ctype in @cdata (*@cfound set when
 * present and long enough) and msg_flags in *@mflags.
 */
static inline ssize_t raw_recvmsg(int fd, int ctype, void *cdata,
				  size_t clen, bool *cfound, void *buf,
				  size_t len, int flags, int *mflags,
				  struct sockaddr_fastrpc *peer)
{
	union {
		char b[CMSG_SPACE(128)];
		struct cmsghdr align;
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_name = peer,
		.msg_namelen = peer ? sizeof(*peer) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.b,
		.msg_controllen = sizeof(ctrl.b),
	};
	struct cmsghdr *cm;
	ssize_t n;

	*cfound = false;
	n = recvmsg(fd, &msg, flags);
	if (n < 0)
		return -errno;
	*mflags = msg.msg_flags;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_FASTRPC && cm->cmsg_type == ctype &&
		    cm->cmsg_len >= CMSG_LEN(clen)) {
			memcpy(cdata, CMSG_DATA(cm), clen);
			*cfound = true;
		}
	}
	return n;
}

/* Value of counter @name in /proc/net/fastrpc, or -1 if absent. */
static inline long long proc_counter(const char *name)
{
	char line[256], key[128];
	long long val, ret = -1;
	FILE *f = fopen("/proc/net/fastrpc", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %lld", key, &val) == 2 &&
		    !strcmp(key, name)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

/*
 * ESTABLISHED TCP connections in /proc/net/tcp (@v6: tcp6) whose remote
 * port is @port, i.e. client ends of connections to a local server.
 */
static inline int tcp_established_to(uint16_t port, bool v6)
{
	FILE *f = fopen(v6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
	char line[512], local[80], rem[80];
	unsigned int st, rport;
	int count = 0;
	char *colon;

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f)) {	/* header */
		fclose(f);
		return -EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %*d: %79s %79s %x", local, rem, &st) != 3)
			continue;
		colon = strrchr(rem, ':');
		if (!colon || sscanf(colon + 1, "%x", &rport) != 1)
			continue;
		if (st == 0x01 && rport == port)
			count++;
	}
	fclose(f);
	return count;
}

/*
 * Is the same-host short cut on for new connections (module parameter
 * "loopback")?  Then a connection to a server of this namespace shows in
 * the loop_conns counter, not in /proc/net/tcp.
 */
static inline bool loop_on(void)
{
	FILE *f = fopen("/sys/module/af_fastrpc/parameters/loopback", "r");
	int c = 'N';

	if (f) {
		c = fgetc(f);
		fclose(f);
	}
	return c == 'Y' || c == '1';
}

/* A loopback TCP port nothing listens on (bound once, then released). */
static inline int unused_tcp_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int port = -1;

	if (fd < 0)
		return -errno;
	if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)) &&
	    !getsockname(fd, (struct sockaddr *)&sin, &len))
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* Fill @buf with a pattern derived from @seed, and check it. */
static inline void fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
}

static inline bool check_pattern(const uint8_t *buf, size_t len,
				 uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (buf[i] != (uint8_t)x)
			return false;
	}
	return true;
}

/* Run a shell command built like printf; its exit status (0 = success). */
static inline int frpc_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int frpc_sh(const char *fmt, ...)
{
	char cmd[768];
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

/* Move the calling thread into network namespace /run/netns/@name. */
static inline int frpc_enter_ns(const char *name)
{
	char path[96];
	int fd, ret;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = setns(fd, CLONE_NEWNET);
	close(fd);
	return ret ? -errno : 0;
}

/*
 * Two namespaces @a (10.@net.0.1, interface @ifa) and @b (10.@net.0.2,
 * @ifb) joined by veth, loopbacks up.  0 or the failing command's status.
 */
static inline int frpc_netns_pair(const char *a, const char *b,
				  const char *ifa, const char *ifb, int net)
{
	mkdir("/run", 0755);
	mkdir("/run/netns", 0755);
	return frpc_sh("ip netns add %s && ip netns add %s && "
		       "ip link add %s netns %s type veth peer name %s netns %s && "
		       "ip -n %s link set lo up && ip -n %s link set lo up && "
		       "ip -n %s addr add 10.%d.0.1/24 dev %s && "
		       "ip -n %s addr add 10.%d.0.2/24 dev %s && "
		       "ip -n %s link set %s up && ip -n %s link set %s up",
		       a, b, ifa, a, ifb, b, a, b, a, net, ifa, b, net, ifb,
		       a, ifa, b, ifb);
}

/* Write a module parameter of af_fastrpc; 0 or -errno. */
static inline int frpc_set_param(const char *name, unsigned int val)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/module/af_fastrpc/parameters/%s",
		 name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fprintf(f, "%u\n", val) < 0 ? -EIO : 0;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/*
 * Read a module parameter of af_fastrpc into *@val: 0, or -errno
 * (-ENOENT: the loaded module has no such parameter).
 */
static inline int frpc_get_param(const char *name, long long *val)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/module/af_fastrpc/parameters/%s",
		 name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ret = fscanf(f, "%lld", val) == 1 ? 0 : -EIO;
	fclose(f);
	return ret;
}

/* A module parameter of af_fastrpc: its value, or -errno (-ENOENT: none). */
static inline long frpc_param_long(const char *name)
{
	long long v;
	int ret = frpc_get_param(name, &v);

	return ret ? ret : (long)v;
}

/*
 * Raw wire protocol, for tests that play a peer over plain TCP: write a
 * frame header at @p, return where its payload goes.
 */
static inline uint8_t *frpc_put_hdr(uint8_t *p, uint8_t version,
				    uint8_t type, uint16_t flags,
				    uint32_t call_id, uint32_t length)
{
	struct fastrpc_frame_hdr h = {
		.version = version,
		.type = type,
		.flags = htons(flags),
		.call_id = htonl(call_id),
		.length = htonl(length),
	};

	memcpy(p, &h, FASTRPC_FRAME_HDR_LEN);
	return p + FASTRPC_FRAME_HDR_LEN;
}

/* send() all of @buf on a stream socket; 0 or -errno. */
static inline int frpc_send_all(int fd, const void *buf, size_t len)
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

/* recv() exactly @len bytes from a stream socket; 0, -EPIPE at its end. */
static inline int frpc_recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Server side, same process: one message with its info, blocking. */
static inline ssize_t srv_recv(int sfd, struct fastrpc_incoming_info *ii,
			       void *buf, size_t len)
{
	ii->aux = NULL;
	ii->aux_len = 0;
	return fastrpc_recv_call_ex(sfd, ii, buf, len, 0);
}

#endif /* FRPC_TEST_H */
