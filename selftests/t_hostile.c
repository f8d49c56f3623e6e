// SPDX-License-Identifier: GPL-2.0-only
/*
 * Hostile peers.  A raw TCP client speaks broken wire protocol to a
 * FastRPC server port: each case must get an ERROR frame (with the code
 * where the protocol fixes it) and the connection closed, proto_errors in
 * /proc/net/fastrpc must count it, and the server must keep serving.  In
 * reverse, a FastRPC client connecting to a TCP listener that answers
 * garbage must fail cleanly instead of hanging.  And a hostile local
 * application: malformed control messages are refused with EINVAL before
 * anything is sent.
 */
#include <endian.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7600
#define ANY_CODE	-1	/* an ERROR frame or a plain close is enough */

/* A plain TCP socket connected to @port, to play a peer: fd or -errno. */
static int raw_connect(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_rcvtimeo(fd, 5000) ||
	    connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

FIXTURE(hostile) {
	struct echo_srv srv;
	int raw;
};

FIXTURE_SETUP(hostile)
{
	int ret;

	self->raw = -1;
	ret = echo_srv_start(&self->srv, AF_INET,
			     test_port(BASE_PORT, _metadata->name), 1);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	self->raw = raw_connect(self->srv.port);
	ASSERT_LE(0, self->raw) TH_LOG("raw peer: %s", strerror(-self->raw));
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->raw >= 0)
		close(self->raw);
	echo_srv_stop(&self->srv);
}

static uint8_t *put_hdr(uint8_t *p, uint8_t version, uint8_t type,
			uint16_t flags, uint32_t call_id, uint32_t length)
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

static uint8_t *put_hello(uint8_t *p, uint8_t version, uint32_t magic)
{
	struct fastrpc_wire_hello hello = {
		.magic = htonl(magic),
		.min_version = version,
		.max_version = version,
		.max_frame = htonl(FASTRPC_MAX_FRAME),
		.max_msg = htonl(FASTRPC_MAX_MSG),
		.call_window = htonl(FASTRPC_MIN_CALL_WINDOW),
		.conn_window = htonl(FASTRPC_MIN_CONN_WINDOW),
	};

	p = put_hdr(p, version, FASTRPC_FRAME_HELLO, 0, 0, sizeof(hello));
	memcpy(p, &hello, sizeof(hello));
	return p + sizeof(hello);
}

/* A CALL frame with @len request bytes of @data. */
static uint8_t *put_call(uint8_t *p, uint16_t flags, uint32_t id,
			 uint32_t method, const void *data, uint32_t len)
{
	struct fastrpc_wire_call call = { .method = htonl(method) };

	p = put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_CALL, flags, id,
		    (uint32_t)sizeof(call) + len);
	memcpy(p, &call, sizeof(call));
	memcpy(p + sizeof(call), data, len);
	return p + sizeof(call) + len;
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0 with a whole frame, 1 on end of stream, -errno otherwise. */
static int read_frame(int fd, struct fastrpc_frame_hdr *h, uint8_t *payload,
		      size_t cap)
{
	size_t got = 0, len;
	ssize_t n;

	while (got < FASTRPC_FRAME_HDR_LEN) {
		n = recv(fd, (uint8_t *)h + got, FASTRPC_FRAME_HDR_LEN - got, 0);
		if (n == 0)
			return got ? -EPIPE : 1;
		if (n < 0)
			return -errno;
		got += (size_t)n;
	}
	len = ntohl(h->length);
	if (len > cap)
		return -EMSGSIZE;
	for (got = 0; got < len; got += (size_t)n) {
		n = recv(fd, payload + got, len - got, 0);
		if (n == 0)
			return -EPIPE;
		if (n < 0)
			return -errno;
	}
	return 0;
}

/* Handshake as a well-behaved client: HELLO out, HELLO back. */
static int raw_hello(int fd)
{
	struct fastrpc_wire_hello hello;
	struct fastrpc_frame_hdr h;
	uint8_t buf[64], *p;
	int ret;

	p = put_hello(buf, FASTRPC_PROTO_V1, FASTRPC_HELLO_MAGIC);
	ret = send_all(fd, buf, (size_t)(p - buf));
	if (ret)
		return ret;
	ret = read_frame(fd, &h, buf, sizeof(buf));
	if (ret)
		return ret < 0 ? ret : -EPIPE;
	if (h.type != FASTRPC_FRAME_HELLO || ntohl(h.length) < sizeof(hello))
		return -EPROTO;
	memcpy(&hello, buf, sizeof(hello));
	if (ntohl(hello.magic) != FASTRPC_HELLO_MAGIC ||
	    hello.max_version != FASTRPC_PROTO_V1 ||
	    hello.min_version != FASTRPC_PROTO_V1)
		return -EPROTO;
	return 0;
}

/*
 * After a malformed input: read until the server's ERROR frame and the
 * close.  Returns the ERROR code, ANY_CODE if it closed without one, or
 * -errno (-EAGAIN: the server neither answered nor closed in time).
 */
static int wait_error_and_close(int fd)
{
	struct fastrpc_frame_hdr h;
	struct fastrpc_wire_error err;
	int code = ANY_CODE, ret, frames;
	uint8_t buf[FASTRPC_MAX_FRAME];

	for (frames = 0; frames < 16; frames++) {
		ret = read_frame(fd, &h, buf, sizeof(buf));
		if (ret == 1 || ret == -ECONNRESET)
			return code;
		if (ret < 0)
			return ret;
		if (h.type == FASTRPC_FRAME_ERROR &&
		    ntohl(h.length) >= sizeof(err)) {
			memcpy(&err, buf, sizeof(err));
			code = (int)ntohl(err.code);
		}
	}
	return -EPROTO;	/* kept talking: not closed */
}

/* The server is fine: a normal client round trip within @ms. */
static int serving_within(uint16_t port, int ms)
{
	uint32_t status = 99;
	char buf[8];
	ssize_t n;
	int fd;

	fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	set_rcvtimeo(fd, ms);
	n = fastrpc_call(fd, M_ECHO, "alive", 5, buf, sizeof(buf), &status);
	close(fd);
	if (n < 0)
		return (int)n;
	return n == 5 && status == FASTRPC_OK && !memcmp(buf, "alive", 5) ?
	       0 : -EBADMSG;
}

static int still_serving(uint16_t port)
{
	return serving_within(port, 5000);
}

/* proto_errors went past @before within a second. */
static bool proto_errors_counted(long long before)
{
	uint64_t deadline = now_ms() + 1000;

	do {
		if (proc_counter("proto_errors") > before)
			return true;
		usleep(10000);
	} while (now_ms() < deadline);
	return false;
}

/*
 * Send @len bytes of @buf (after a good handshake if @hello), then expect
 * an ERROR frame with @code (ANY_CODE: any code, or just a close), the
 * connection closed, proto_errors counted, and the server still serving.
 */
static void hostile_case(struct __test_metadata *_metadata,
			 FIXTURE_DATA(hostile) *self, bool hello,
			 const uint8_t *buf, size_t len, int code)
{
	long long before = proc_counter("proto_errors");
	int got;

	ASSERT_LE(0, before) TH_LOG("no proto_errors in /proc/net/fastrpc");
	if (hello)
		ASSERT_EQ(0, raw_hello(self->raw));
	ASSERT_EQ(0, send_all(self->raw, buf, len));
	got = wait_error_and_close(self->raw);
	if (code == ANY_CODE) {
		EXPECT_LE(ANY_CODE, got)
			TH_LOG("no ERROR and no close: %s", strerror(-got));
	} else {
		EXPECT_EQ(code, got);
	}
	EXPECT_TRUE(proto_errors_counted(before))
		TH_LOG("proto_errors stayed at %lld", before);
	EXPECT_EQ(0, still_serving(self->srv.port));
}

TEST_F(hostile, call_before_hello)
{
	uint8_t buf[64], *p = put_call(buf, FASTRPC_FF_EOM, 1, M_ECHO, "x", 1);

	hostile_case(_metadata, self, false, buf, (size_t)(p - buf),
		     FASTRPC_WERR_PROTOCOL);
}

TEST_F(hostile, bad_version)
{
	uint8_t buf[64], *p = put_hello(buf, 9, FASTRPC_HELLO_MAGIC);

	hostile_case(_metadata, self, false, buf, (size_t)(p - buf),
		     FASTRPC_WERR_VERSION);
}

TEST_F(hostile, bad_magic)
{
	uint8_t buf[64], *p = put_hello(buf, FASTRPC_PROTO_V1, 0xdeadbeef);

	hostile_case(_metadata, self, false, buf, (size_t)(p - buf),
		     FASTRPC_WERR_PROTOCOL);
}

TEST_F(hostile, unknown_frame_type)
{
	uint8_t buf[64], *p = put_hdr(buf, FASTRPC_PROTO_V1, 200, 0, 0, 0);

	hostile_case(_metadata, self, true, buf, (size_t)(p - buf),
		     FASTRPC_WERR_PROTOCOL);
}

TEST_F(hostile, unknown_flags)
{
	uint8_t buf[64], *p = put_call(buf, FASTRPC_FF_EOM | 0x8000, 1, M_ECHO,
				       "x", 1);

	hostile_case(_metadata, self, true, buf, (size_t)(p - buf),
		     FASTRPC_WERR_PROTOCOL);
}

TEST_F(hostile, frame_too_long)
{
	uint8_t buf[64], *p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_CALL,
				      FASTRPC_FF_EOM, 1,
				      FASTRPC_MAX_FRAME + 1);

	/* The header alone must be enough to refuse it. */
	hostile_case(_metadata, self, true, buf, (size_t)(p - buf),
		     FASTRPC_WERR_FRAME_SIZE);
}

TEST_F(hostile, call_id_zero)
{
	uint8_t buf[64], *p = put_call(buf, FASTRPC_FF_EOM, 0, M_ECHO, "x", 1);

	hostile_case(_metadata, self, true, buf, (size_t)(p - buf),
		     FASTRPC_WERR_CALL_ID);
}

TEST_F(hostile, call_id_reused_in_progress)
{
	uint8_t buf[128], *p;

	/* Call 3 started without EOM, then started again. */
	p = put_call(buf, 0, 3, M_ECHO, "part", 4);
	p = put_call(p, FASTRPC_FF_EOM, 3, M_ECHO, "again", 5);
	hostile_case(_metadata, self, true, buf, (size_t)(p - buf),
		     FASTRPC_WERR_CALL_ID);
}

TEST_F(hostile, data_for_unknown_call)
{
	uint8_t buf[64], *p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA,
				      FASTRPC_FF_EOM, 77, 4);

	memcpy(p, "data", 4);
	hostile_case(_metadata, self, true, buf, (size_t)(p + 4 - buf),
		     FASTRPC_WERR_CALL_ID);
}

TEST_F(hostile, end_frame_from_client)
{
	struct fastrpc_wire_end end = { 0 };
	uint8_t buf[64], *p = put_call(buf, 0, 5, M_ECHO, "x", 1);

	/* Only the accepting side may send END. */
	p = put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 5,
		    sizeof(end));
	memcpy(p, &end, sizeof(end));
	p += sizeof(end);
	hostile_case(_metadata, self, true, buf, (size_t)(p - buf), ANY_CODE);
}

TEST_F(hostile, random_garbage)
{
	uint8_t buf[256];

	fill_pattern(buf, sizeof(buf), 0xbad);
	buf[0] = 0x47;	/* not a version, whatever the pattern says */
	hostile_case(_metadata, self, false, buf, sizeof(buf), ANY_CODE);
}

/*
 * Urgent data (MSG_OOB) is no part of the protocol.  The kernel's TCP
 * reader stops at the urgent byte for good, so without a look at it the
 * connection would sit with input unread until keepalive gave up, three
 * times keepalive_ms (30 s), far past the 5 s the raw socket waits here:
 * the server must refuse it at once with PROTOCOL.  A whole CALL frame
 * goes out, its last byte urgent.
 */
TEST_F(hostile, urgent_data)
{
	uint8_t buf[64], *p = put_call(buf, FASTRPC_FF_EOM, 1, M_ECHO, "x", 1);
	long long before = proc_counter("proto_errors");
	ssize_t len = p - buf;

	ASSERT_LE(0, before) TH_LOG("no proto_errors in /proc/net/fastrpc");
	ASSERT_EQ(0, raw_hello(self->raw));
	ASSERT_EQ(len, send(self->raw, buf, (size_t)len, MSG_OOB | MSG_NOSIGNAL));
	EXPECT_EQ(FASTRPC_WERR_PROTOCOL, wait_error_and_close(self->raw));
	EXPECT_TRUE(proto_errors_counted(before))
		TH_LOG("proto_errors stayed at %lld", before);
	/* the call never reached the application */
	EXPECT_EQ(0U, echo_srv_served(&self->srv));
	EXPECT_EQ(0, still_serving(self->srv.port));
}

TEST_F(hostile, truncated_frame_then_close)
{
	uint8_t buf[64], *p;
	int got;

	/* A CALL announcing 100 bytes, 10 sent, then our side closes. */
	ASSERT_EQ(0, raw_hello(self->raw));
	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_CALL, FASTRPC_FF_EOM,
		    1, 100);
	memset(p, 0, 10);
	ASSERT_EQ(0, send_all(self->raw, buf, (size_t)(p + 10 - buf)));
	ASSERT_EQ(0, shutdown(self->raw, SHUT_WR));
	got = wait_error_and_close(self->raw);
	EXPECT_LE(ANY_CODE, got) TH_LOG("server did not close: %d", got);
	/* No call reached the application. */
	usleep(100000);
	EXPECT_EQ(0U, echo_srv_served(&self->srv));
	EXPECT_EQ(0, still_serving(self->srv.port));
}

TEST_F(hostile, raw_call_roundtrip)
{
	long long before = proc_counter("proto_errors");
	struct fastrpc_frame_hdr h;
	struct fastrpc_wire_end end;
	uint8_t buf[256], *p;

	/* The wire format as documented: a call in two fragments. */
	ASSERT_EQ(0, raw_hello(self->raw));
	p = put_call(buf, 0, 1, M_ECHO, "hello ", 6);
	p = put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA, FASTRPC_FF_EOM, 1,
		    5);
	memcpy(p, "world", 5);
	ASSERT_EQ(0, send_all(self->raw, buf, (size_t)(p + 5 - buf)));

	ASSERT_EQ(0, read_frame(self->raw, &h, buf, sizeof(buf)));
	EXPECT_EQ(FASTRPC_PROTO_V1, h.version);
	ASSERT_EQ(FASTRPC_FRAME_END, h.type);
	EXPECT_EQ(FASTRPC_FF_EOM, ntohs(h.flags));
	EXPECT_EQ(1U, ntohl(h.call_id));
	ASSERT_EQ(sizeof(end) + 11, ntohl(h.length));
	memcpy(&end, buf, sizeof(end));
	EXPECT_EQ(FASTRPC_OK, ntohl(end.status));
	EXPECT_EQ(0U, end.meta_len);
	EXPECT_EQ(0U, end.msg_len);
	EXPECT_EQ(0, memcmp(buf + sizeof(end), "hello world", 11));

	/* An unknown method: the status comes back in END. */
	p = put_call(buf, FASTRPC_FF_EOM, 2, 4242, "", 0);
	ASSERT_EQ(0, send_all(self->raw, buf, (size_t)(p - buf)));
	ASSERT_EQ(0, read_frame(self->raw, &h, buf, sizeof(buf)));
	ASSERT_EQ(FASTRPC_FRAME_END, h.type);
	EXPECT_EQ(2U, ntohl(h.call_id));
	memcpy(&end, buf, sizeof(end));
	EXPECT_EQ(FASTRPC_UNIMPLEMENTED, ntohl(end.status));

	/* PING gets its PONG with the same bytes. */
	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_PING, 0, 0, 8);
	memcpy(p, "12345678", 8);
	ASSERT_EQ(0, send_all(self->raw, buf, (size_t)(p + 8 - buf)));
	ASSERT_EQ(0, read_frame(self->raw, &h, buf, sizeof(buf)));
	EXPECT_EQ(FASTRPC_FRAME_PONG, h.type);
	EXPECT_EQ(0, memcmp(buf, "12345678", 8));

	EXPECT_EQ(before, proc_counter("proto_errors"));
}

#define TCP_WMEM "/proc/sys/net/ipv4/tcp_wmem"

/* Write @val to sysctl file @path, the old value to @old (if @old). */
static int proc_swap(const char *path, const char *val, char *old, size_t cap)
{
	FILE *f;
	int ret = 0;

	if (old) {
		f = fopen(path, "r");
		if (!f || !fgets(old, (int)cap, f))
			ret = -1;
		if (f)
			fclose(f);
		if (ret)
			return ret;
	}
	f = fopen(path, "w");
	if (!f)
		return -1;
	if (fputs(val, f) < 0)
		ret = -1;
	if (fclose(f))
		ret = -1;
	return ret;
}

/*
 * A client that reads slowly: its receive buffer is tiny, the server's
 * TCP socket may hold @wmem (tcp_wmem while it is accepted), and it sends
 * @n echo calls of @len bytes before it reads anything, so the server's
 * replies find TCP full.  Every END must come back once, whole, in a
 * well-formed stream, with its request's bytes.
 */
static void slow_reader_case(struct __test_metadata *_metadata,
			     FIXTURE_DATA(hostile) *self, int n, uint32_t len,
			     const char *wmem)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long long before = proc_counter("proto_errors");
	uint8_t *buf = malloc(FASTRPC_FRAME_HDR_LEN + 64 + len), *p;
	uint8_t *frame = malloc(FASTRPC_MAX_FRAME);
	uint8_t *req = malloc(len), *seen = calloc(n + 1, 1);
	int fd, small = 4096, i, ends = 0, frames = 0;
	struct fastrpc_frame_hdr h;
	struct fastrpc_wire_end end;
	char old[128];

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, frame);
	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, seen);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, set_rcvtimeo(fd, 10000));
	sin.sin_port = htons(self->srv.port);
	ASSERT_EQ(0, proc_swap(TCP_WMEM, wmem, old, sizeof(old)));
	i = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	usleep(100 * 1000);	/* accepted by now */
	EXPECT_EQ(0, proc_swap(TCP_WMEM, old, NULL, 0));
	ASSERT_EQ(0, i);
	ASSERT_EQ(0, raw_hello(fd));
	for (i = 1; i <= n; i++) {
		fill_pattern(req, len, i);
		p = put_call(buf, FASTRPC_FF_EOM | FASTRPC_FF_EOS, i, M_ECHO,
			     req, len);
		ASSERT_EQ(0, send_all(fd, buf, (size_t)(p - buf)));
	}
	usleep(200 * 1000);	/* let the replies pile up against TCP */
	while (ends < n && frames < 4 * n) {
		uint32_t id, flen;

		ASSERT_EQ(0, read_frame(fd, &h, frame, FASTRPC_MAX_FRAME));
		frames++;
		if (h.type != FASTRPC_FRAME_END)
			continue;	/* credit for the requests */
		id = ntohl(h.call_id);
		flen = ntohl(h.length);
		ASSERT_LE(1U, id);
		ASSERT_GE((uint32_t)n, id);
		EXPECT_FALSE(seen[id]) TH_LOG("two ENDs for call %u", id);
		seen[id] = 1;
		ASSERT_EQ(sizeof(end) + len, flen);
		memcpy(&end, frame, sizeof(end));
		EXPECT_EQ(FASTRPC_OK, ntohl(end.status));
		EXPECT_TRUE(check_pattern(frame + sizeof(end), len, id))
			TH_LOG("reply to call %u changed", id);
		ends++;
	}
	EXPECT_EQ(n, ends);
	EXPECT_EQ(before, proc_counter("proto_errors"));
	close(fd);
	free(buf);
	free(frame);
	free(req);
	free(seen);
}

/*
 * 48 replies of 16 KiB, two of which fill the server's TCP socket: a
 * reply going out from the server application's own pages (kmod/tx.c,
 * frpc_tx_direct_send()) is then cut short and must be finished from a
 * copy, before any other frame.
 */
TEST_F(hostile, slow_reader_big_replies)
{
	slow_reader_case(_metadata, self, 48, 16384, "4096 16384 32768");
}

/*
 * 600 small replies: they queue behind a full TCP, and the transmit stage
 * (kmod/tx.c, frpc_tx_stage()) copies them into one buffer per write,
 * which TCP takes in pieces.
 */
TEST_F(hostile, slow_reader_small_replies)
{
	slow_reader_case(_metadata, self, 600, 100, "4096 8192 16384");
}

/*
 * Peers that leave a reply waiting: stall_ms 1 s, and keepalive_ms 4 s
 * so that the connection timer, which looks, ticks every second.
 */
FIXTURE(stall) {
	struct echo_srv srv;
	long stall_ms, ka_ms;
	int raw;
};

FIXTURE_SETUP(stall)
{
	int ret;

	self->raw = -1;
	self->stall_ms = frpc_param_long("stall_ms");
	self->ka_ms = frpc_param_long("keepalive_ms");
	ASSERT_LT(0, self->ka_ms);
	/* without the parameter (an older module) the cases show the harm */
	if (self->stall_ms > 0)
		ASSERT_EQ(0, frpc_set_param("stall_ms", 1000));
	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 4000));
	ret = echo_srv_start(&self->srv, AF_INET,
			     test_port(BASE_PORT, _metadata->name), 1);
	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
	self->raw = raw_connect(self->srv.port);
	ASSERT_LE(0, self->raw) TH_LOG("raw peer: %s", strerror(-self->raw));
}

FIXTURE_TEARDOWN(stall)
{
	if (self->raw >= 0)
		close(self->raw);
	echo_srv_stop(&self->srv);
	if (self->stall_ms > 0)
		frpc_set_param("stall_ms", (unsigned int)self->stall_ms);
	if (self->ka_ms > 0)
		frpc_set_param("keepalive_ms", (unsigned int)self->ka_ms);
}

#define STALL_REQ	(128u << 10)

/*
 * The server socket's SO_SNDBUF at its floor: the half of a reply that
 * waits for a stalled peer fills it, and its replies to every other
 * client wait for room; a stall of the peer's credit fails it only then.
 */
static int stall_squeeze(FIXTURE_DATA(stall) *self)
{
	int one = 1;

	return setsockopt(self->srv.fd, SOL_SOCKET, SO_SNDBUF, &one,
			  sizeof(one));
}

/*
 * Another client's call, not waited for: the echo server's reply to it
 * finds SO_SNDBUF full and waits for room, which is the pressure.
 * Returns its socket, or -errno.
 */
static int pressure_call(uint16_t port)
{
	ssize_t n;
	int fd;

	fd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	set_rcvtimeo(fd, 15000);
	n = fastrpc_send_call(fd, 7, M_ECHO, "alive", 5, 0);
	if (n != 5) {
		close(fd);
		return n < 0 ? (int)n : -EIO;
	}
	return fd;
}

/* Its answer, whole, within 15 s; closes @fd. */
static int pressure_done(int fd)
{
	uint32_t status = 99;
	uint64_t tag = 0;
	char buf[8];
	ssize_t n;

	n = fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf), 0);
	close(fd);
	if (n < 0)
		return (int)n;
	return n == 5 && tag == 7 && status == FASTRPC_OK &&
	       !memcmp(buf, "alive", 5) ? 0 : -EBADMSG;
}

/*
 * Echo call @id with STALL_REQ bytes: a CALL frame, then DATA frames.
 * The server's windows (256 KiB a call) take it whole; the reply is
 * twice the 64 KiB call window the raw peer announced, so half of it
 * waits for the peer's credit.
 */
static int send_big_echo(int fd, uint32_t id)
{
	uint32_t chunk = FASTRPC_MAX_FRAME - sizeof(struct fastrpc_wire_call);
	uint8_t *req = malloc(STALL_REQ), *buf = malloc(FASTRPC_MAX_FRAME + 64);
	uint32_t off, n;
	uint8_t *p;
	int ret = -ENOMEM;

	if (!req || !buf)
		goto out;
	fill_pattern(req, STALL_REQ, id);
	p = put_call(buf, 0, id, M_ECHO, req, chunk);
	ret = send_all(fd, buf, (size_t)(p - buf));
	for (off = chunk; !ret && off < STALL_REQ; off += n) {
		n = STALL_REQ - off < FASTRPC_MAX_FRAME ? STALL_REQ - off :
							  FASTRPC_MAX_FRAME;
		p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_DATA,
			    off + n == STALL_REQ ?
			    FASTRPC_FF_EOM | FASTRPC_FF_EOS : 0, id, n);
		memcpy(p, req + off, n);
		ret = send_all(fd, buf, (size_t)(p + n - buf));
	}
out:
	free(req);
	free(buf);
	return ret;
}

static int send_credit(int fd, uint32_t id, uint32_t inc)
{
	struct fastrpc_wire_credit c = { .increment = htonl(inc) };
	uint8_t buf[FASTRPC_FRAME_HDR_LEN + sizeof(c)], *p;

	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_CREDIT, 0, id,
		    sizeof(c));
	memcpy(p, &c, sizeof(c));
	return send_all(fd, buf, sizeof(buf));
}

/*
 * Read frames for up to @ms, granting @grant bytes of call 1's window
 * every @every_ms (none if 0); the reply's bytes go to @reply after the
 * *@got already there.  Returns the ERROR code, 0 if the whole reply
 * came (its END, and its bytes checked), ANY_CODE on a close without
 * ERROR, or -EAGAIN if neither happened in time.
 */
static int stall_read(int fd, uint32_t grant, int every_ms, int ms,
		      uint8_t *reply, uint32_t *got)
{
	uint64_t end = now_ms() + (uint64_t)ms, next = now_ms();
	uint8_t *frame = malloc(FASTRPC_MAX_FRAME);
	struct fastrpc_wire_error err;
	struct fastrpc_frame_hdr h;
	int ret = -EAGAIN;
	uint32_t len, body;

	if (!frame) {
		ret = -ENOMEM;
		goto out;
	}
	/* a frame once begun is read whole: poll() first, then 5 s */
	set_rcvtimeo(fd, 5000);
	while (now_ms() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (grant && now_ms() >= next) {
			if (send_credit(fd, 1, grant))
				break;
			next = now_ms() + (uint64_t)every_ms;
		}
		ret = poll(&pfd, 1, every_ms ? every_ms : 200);
		if (ret <= 0) {
			ret = ret ? -errno : -EAGAIN;
			if (ret == -EAGAIN || ret == -EINTR)
				continue;
			break;
		}
		ret = read_frame(fd, &h, frame, FASTRPC_MAX_FRAME);
		/* closed, maybe mid-frame: what the server wrote is all */
		if (ret == 1 || ret == -ECONNRESET || ret == -EPIPE) {
			ret = ANY_CODE;
			break;
		}
		if (ret < 0)
			break;
		len = ntohl(h.length);
		if (h.type == FASTRPC_FRAME_ERROR && len >= sizeof(err)) {
			memcpy(&err, frame, sizeof(err));
			ret = (int)ntohl(err.code);
			break;
		}
		ret = -EAGAIN;
		if (ntohl(h.call_id) != 1)
			continue;	/* credit for the request, PINGs */
		body = h.type == FASTRPC_FRAME_END ?
		       sizeof(struct fastrpc_wire_end) : 0;
		if (h.type != FASTRPC_FRAME_DATA && !body)
			continue;
		if (len < body || *got + len - body > STALL_REQ) {
			ret = -EPROTO;
			break;
		}
		memcpy(reply + *got, frame + body, len - body);
		*got += len - body;
		if (body) {
			ret = check_pattern(reply, *got, 1) &&
			      *got == STALL_REQ ? 0 : -EBADMSG;
			break;
		}
	}
out:
	free(frame);
	return ret;
}

/* stalled_conns went past @before within @ms. */
static bool stalls_counted(long long before, int ms)
{
	uint64_t deadline = now_ms() + (uint64_t)ms;

	do {
		if (proc_counter("stalled_conns") > before)
			return true;
		usleep(20000);
	} while (now_ms() < deadline);
	return false;
}

/*
 * A peer that reads its reply's first window and then grants nothing:
 * without stall_ms the half left would wait, on the server socket's
 * SO_SNDBUF, for as long as the peer cared to keep answering PINGs.
 */
TEST_F(stall, no_credit_fails_conn)
{
	long long before = proc_counter("stalled_conns");
	uint8_t reply[STALL_REQ];
	uint32_t got = 0;

	/* checked, not assumed: without the counter the harm still shows */
	EXPECT_LE(0, before) TH_LOG("no stalled_conns in /proc/net/fastrpc");
	ASSERT_EQ(0, stall_squeeze(self));
	ASSERT_EQ(0, raw_hello(self->raw));
	ASSERT_EQ(0, send_big_echo(self->raw, 1));
	usleep(200 * 1000);	/* the reply's second half queued by now */
	/*
	 * Another client: the echo server's reply to it waits for room in
	 * SO_SNDBUF, which the stalled half holds until its connection
	 * fails (two or three seconds: stall_ms, then a tick).  Within 8 s:
	 * the raw peer answers no PING, so keepalive (3 x 4 s of silence)
	 * would end it too, later.
	 */
	EXPECT_EQ(0, serving_within(self->srv.port, 8000));
	EXPECT_TRUE(stalls_counted(before, 3000))
		TH_LOG("stalled_conns stayed at %lld", before);
	EXPECT_EQ(FASTRPC_WERR_RESOURCE,
		  stall_read(self->raw, 0, 0, 8000, reply, &got));
	EXPECT_EQ(FASTRPC_MIN_CALL_WINDOW, got);
}

/*
 * The raw peer holds the second half of its reply for three times
 * stall_ms, granting nothing, and nothing fails; then it grants the
 * credit and takes the rest.  @squeeze: the server socket full.
 */
static void holder_lives(struct __test_metadata *_metadata,
			 FIXTURE_DATA(stall) *self, bool squeeze)
{
	long long before = proc_counter("stalled_conns");
	uint8_t reply[STALL_REQ];
	uint32_t got = 0;

	if (squeeze)
		ASSERT_EQ(0, stall_squeeze(self));
	ASSERT_EQ(0, raw_hello(self->raw));
	ASSERT_EQ(0, send_big_echo(self->raw, 1));
	EXPECT_EQ(-EAGAIN, stall_read(self->raw, 0, 0, 3000, reply, &got));
	EXPECT_EQ(FASTRPC_MIN_CALL_WINDOW, got);
	EXPECT_EQ(before, proc_counter("stalled_conns"));
	EXPECT_EQ(0, send_credit(self->raw, 1, STALL_REQ));
	EXPECT_EQ(0, stall_read(self->raw, 0, 0, 5000, reply, &got));
	EXPECT_EQ(STALL_REQ, got);
}

/*
 * The server socket has room to spare: the peer only slows its own
 * call, as a reader that falls behind would.
 */
TEST_F(stall, no_credit_without_pressure_lives)
{
	holder_lives(_metadata, self, false);
}

/*
 * The server socket full, but no sender waiting for room: the reply's
 * parked half harms no one, and its peer may take its time.
 */
TEST_F(stall, full_without_waiters_lives)
{
	holder_lives(_metadata, self, true);
}

/*
 * Under pressure (the server socket full, another client's reply
 * waiting), the raw peer grants @grant bytes every @every_ms: its
 * connection fails (@fails) or its reply comes whole; the other client
 * is answered either way.
 */
static void pressured_grants(struct __test_metadata *_metadata,
			     FIXTURE_DATA(stall) *self, uint32_t grant,
			     int every_ms, bool fails)
{
	long long before = proc_counter("stalled_conns");
	uint8_t reply[STALL_REQ];
	uint32_t got = 0;
	int other;

	ASSERT_EQ(0, stall_squeeze(self));
	ASSERT_EQ(0, raw_hello(self->raw));
	ASSERT_EQ(0, send_big_echo(self->raw, 1));
	usleep(200 * 1000);
	other = pressure_call(self->srv.port);
	ASSERT_LE(0, other);
	if (fails) {
		EXPECT_EQ(FASTRPC_WERR_RESOURCE,
			  stall_read(self->raw, grant, every_ms, 8000, reply,
				     &got));
		EXPECT_GT(STALL_REQ, got);
		EXPECT_TRUE(stalls_counted(before, 3000));
	} else {
		EXPECT_EQ(0, stall_read(self->raw, grant, every_ms, 20000,
					reply, &got));
		EXPECT_EQ(STALL_REQ, got);
		EXPECT_EQ(before, proc_counter("stalled_conns"));
	}
	EXPECT_EQ(0, pressure_done(other));
}

/* A byte of credit at a time is no progress: the trickle fails too. */
TEST_F(stall, trickle_credit_fails_conn)
{
	pressured_grants(_metadata, self, 1, 100, true);
}

/*
 * A slow reader that grants 8 KiB every 200 ms takes its reply over two
 * seconds, twice stall_ms, and is not failed, though the pressure
 * lasts: each grant is progress.
 */
TEST_F(stall, slow_credit_lives)
{
	pressured_grants(_metadata, self, 8192, 200, false);
}

/*
 * A peer that grants all the credit it could need and then reads nothing
 * from TCP: the reply sits in the server's TCP socket and its transmit
 * queue, and TCP takes nothing more for stall_ms.
 */
TEST_F(stall, tcp_not_read_fails_conn)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	long long before = proc_counter("stalled_conns");
	uint8_t reply[STALL_REQ];
	int fd, small = 4096, ret;
	uint32_t got = 0;
	char old[128];

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small,
				sizeof(small)));
	ASSERT_EQ(0, set_rcvtimeo(fd, 5000));
	sin.sin_port = htons(self->srv.port);
	ASSERT_EQ(0, proc_swap(TCP_WMEM, "4096 8192 16384", old, sizeof(old)));
	ret = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	usleep(100 * 1000);	/* accepted by now */
	EXPECT_EQ(0, proc_swap(TCP_WMEM, old, NULL, 0));
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, raw_hello(fd));
	/* credit for a call the server has not seen would be CALL_ID */
	ASSERT_EQ(0, send_big_echo(fd, 1));
	ASSERT_EQ(0, send_credit(fd, 1, 1u << 20));
	EXPECT_TRUE(stalls_counted(before, 8000))
		TH_LOG("stalled_conns stayed at %lld", before);
	/* what TCP holds, then an ERROR frame if it fit, then the close */
	ret = stall_read(fd, 0, 0, 5000, reply, &got);
	EXPECT_TRUE(ret == FASTRPC_WERR_RESOURCE || ret == ANY_CODE)
		TH_LOG("after the stall: %d", ret);
	EXPECT_GT(STALL_REQ, got);
	close(fd);
	EXPECT_EQ(0, still_serving(self->srv.port));
}

/*
 * Module peers on both ends, a server application that reads nothing for
 * four times stall_ms: its socket (SO_RCVBUF 1) withholds the credit of
 * a long request, so the client's call is short of credit all along.
 * That is flow control, not a stall: no connection fails, and a second
 * client socket sharing the connection gets its answer too.
 */
TEST_F(stall, honest_slow_reader_lives)
{
	const size_t big = 1 << 20, small = 8 << 10;
	long long before = proc_counter("stalled_conns");
	uint16_t port = test_port(BASE_PORT + 200, _metadata->name);
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info ss;
	uint8_t *buf = malloc(big);
	int one = 1, sfd, a, b, i;
	uint32_t status;
	uint64_t t0, tag;
	ssize_t n;

	ASSERT_NE(NULL, buf);
	memset(buf, 5, big);
	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, setsockopt(sfd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)));
	set_rcvtimeo(sfd, 10000);
	a = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	b = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	set_rcvtimeo(a, 20000);
	set_rcvtimeo(b, 20000);
	ASSERT_EQ((ssize_t)small, fastrpc_send_call(a, 1, M_ECHO, buf, small, 0));
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(sfd, &ss));
		if (ss.rx_queued == 1)
			break;
		ASSERT_GT(10000, now_ms() - t0);
	}
	ASSERT_EQ((ssize_t)big, fastrpc_send_call(a, 2, M_ECHO, buf, big, 0));
	ASSERT_EQ(5, fastrpc_send_call(b, 3, M_ECHO, "small", 5, 0));
	sleep(4);	/* the server application is busy */
	for (i = 0; i < 3; i++) {
		n = srv_recv(sfd, &ii, buf, big);
		ASSERT_LE(0, n) TH_LOG("server recv %d: %s", i, strerror((int)-n));
		EXPECT_EQ(2, fastrpc_send_reply(sfd, ii.handle, FASTRPC_OK,
						"ok", 2, 0));
	}
	for (i = 0; i < 2; i++) {
		n = fastrpc_recv_result(a, &tag, &status, buf, big, 0);
		EXPECT_EQ(2, n) TH_LOG("a: %s", strerror((int)-n));
		EXPECT_EQ(FASTRPC_OK, status);
	}
	n = fastrpc_recv_result(b, &tag, &status, buf, big, 0);
	EXPECT_EQ(2, n) TH_LOG("b: %s", strerror((int)-n));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(before, proc_counter("stalled_conns"));
	close(a);
	close(b);
	close(sfd);
	free(buf);
}

/* Malformed control messages from the local application. */

FIXTURE(cm) {
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(cm)
{
	int ret = pair_open(BASE_PORT, _metadata->name, 10000, &self->sfd,
			    &self->cfd, &self->port);

	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(cm)
{
	pair_close(self->sfd, self->cfd);
}

/* The layouts before FASTRPC_FEAT_CMSG_TIMEOUT: 32- and 24-byte verbs. */
struct old_call {
	uint64_t tag;
	uint32_t method;
	uint32_t flags;
	uint64_t timeout_ns;
	uint64_t reserved;
};

struct old_reply {
	uint64_t handle;
	uint32_t status;
	uint32_t flags;
	uint64_t reserved;
};

TEST_F(cm, timeout_cmsg_malformed)
{
	struct fastrpc_call fc = { .tag = 1, .method = M_ECHO };
	struct fastrpc_send snd = { .id = 1 };
	struct old_call oc = { .tag = 1, .method = M_ECHO,
			       .timeout_ns = 1000000000ull };
	uint64_t to = 1000000000ull, tag = 1, to2[2] = { to, 0 };
	uint32_t to4 = 1000;
	struct fastrpc_incoming_info ii;
	struct fastrpc_features f;
	struct old_reply orp;
	struct fastrpc_reply rp;
	uint32_t status;
	char buf[8];

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	ASSERT_TRUE(f.features & FASTRPC_FEAT_CMSG_TIMEOUT);

	/* TIMEOUT without CALL, alone or with another verb */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_TIMEOUT, &to, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 1, "x", 1, 0));
	}
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_SEND, &snd, sizeof(snd) },
					{ FASTRPC_CMSG_TIMEOUT, &to, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
	}
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_TIMEOUT, &to, 8 },
					{ FASTRPC_CMSG_CANCEL, &tag, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, NULL, 0, 0));
	}
	/* TIMEOUT twice, even with the same value */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_CALL, &fc, sizeof(fc) },
					{ FASTRPC_CMSG_TIMEOUT, &to, 8 },
					{ FASTRPC_CMSG_TIMEOUT, &to, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 3, "x", 1, 0));
	}
	/* TIMEOUT of the wrong length: 0, 4 and 16 bytes */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_CALL, &fc, sizeof(fc) },
					{ FASTRPC_CMSG_TIMEOUT, &to, 0 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
		c[1].data = &to4;
		c[1].len = sizeof(to4);
		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
		c[1].data = to2;
		c[1].len = sizeof(to2);
		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
	}
	/* The old 32-byte struct fastrpc_call, with or without a TIMEOUT */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_CALL, &oc, sizeof(oc) },
					{ FASTRPC_CMSG_TIMEOUT, &to, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 1, "x", 1, 0));
		oc.timeout_ns = 0;
		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 1, "x", 1, 0));
		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
	}
	/* None of them started a call. */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					       sizeof(buf), MSG_DONTWAIT));

	/* A good call with a deadline, TIMEOUT first: order does not matter. */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_TIMEOUT, &to, 8 },
					{ FASTRPC_CMSG_CALL, &fc, sizeof(fc) } };

		ASSERT_EQ(1, raw_sendmsg_n(self->cfd, c, 2, "x", 1, 0));
	}
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_LT(0, ii.timeout_ns);
	EXPECT_GE(to, ii.timeout_ns);

	/* The server: TIMEOUT with REPLY, and the old 24-byte reply. */
	rp = (struct fastrpc_reply){ .handle = ii.handle,
				     .status = FASTRPC_OK };
	orp = (struct old_reply){ .handle = ii.handle, .status = FASTRPC_OK };
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_REPLY, &rp, sizeof(rp) },
					{ FASTRPC_CMSG_TIMEOUT, &to, 8 } };

		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->sfd, c, 2, "y", 1, 0));
		c[0].data = &orp;
		c[0].len = sizeof(orp);
		EXPECT_EQ(-EINVAL, raw_sendmsg_n(self->sfd, c, 1, "y", 1, 0));
	}
	/* The handle is still good: the refused replies did nothing. */
	{
		struct raw_cmsg c[] = { { FASTRPC_CMSG_REPLY, &rp, sizeof(rp) } };

		ASSERT_EQ(1, raw_sendmsg_n(self->sfd, c, 1, "y", 1, 0));
	}
	ASSERT_EQ(1, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(1, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ('y', buf[0]);
}

/* Reverse: a TCP listener that is not a FastRPC server. */

struct fake_server {
	int lfd;
	uint16_t port;
	const uint8_t *answer;		/* to the client's HELLO */
	size_t answer_len;
	const uint8_t *answer2;		/* then to its CALL, if set */
	size_t answer2_len;
	bool fin_with_answer2;		/* FIN in answer2's segment */
	pthread_t thr;
};

static void *fake_thread(void *p)
{
	struct fake_server *f = p;
	uint8_t buf[256];
	int fd;

	fd = accept(f->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	set_rcvtimeo(fd, 10000);
	if (recv(fd, buf, sizeof(buf), 0) > 0)	/* the client's HELLO */
		send_all(fd, f->answer, f->answer_len);
	if (f->answer2 && recv(fd, buf, sizeof(buf), 0) > 0) {
		if (f->fin_with_answer2) {
			/* held back by MSG_MORE, so the FIN joins it */
			send(fd, f->answer2, f->answer2_len, MSG_MORE);
			shutdown(fd, SHUT_WR);
		} else {
			send_all(fd, f->answer2, f->answer2_len);
		}
	}
	usleep(300000);
	close(fd);
	return NULL;
}

static int fake_start2(struct fake_server *f, const uint8_t *answer,
		       size_t len, const uint8_t *answer2, size_t len2,
		       bool fin_with_answer2)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);

	f->answer = answer;
	f->answer_len = len;
	f->answer2 = answer2;
	f->answer2_len = len2;
	f->fin_with_answer2 = fin_with_answer2;
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 ||
	    bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(f->lfd, (struct sockaddr *)&sin, &slen) ||
	    listen(f->lfd, 4))
		return -errno;
	f->port = ntohs(sin.sin_port);
	return pthread_create(&f->thr, NULL, fake_thread, f) ? -EAGAIN : 0;
}

/*
 * Connect to a fake server that answers HELLO with @answer and the first
 * call with @answer2 (if not NULL): EPROTO, or calls that end UNAVAILABLE.
 */
static void expect_client_fails2(struct __test_metadata *_metadata,
				 const uint8_t *answer, size_t len,
				 const uint8_t *answer2, size_t len2)
{
	struct fake_server f;
	uint32_t status = FASTRPC_OK;
	uint64_t t0 = now_ms();
	char buf[8];
	ssize_t n;
	int fd;

	ASSERT_EQ(0, fake_start2(&f, answer, len, answer2, len2, false));
	fd = fastrpc_client_open("127.0.0.1", f.port, SOCK_CLOEXEC);
	if (fd >= 0) {
		TH_LOG("connect succeeded; the call must fail");
		ASSERT_EQ(0, set_rcvtimeo(fd, 5000));
		n = fastrpc_call(fd, M_ECHO, "x", 1, buf, sizeof(buf), &status);
		EXPECT_TRUE(n < 0 || status == FASTRPC_UNAVAILABLE)
			TH_LOG("call: %zd, status %s", n,
			       fastrpc_status_str(status));
		close(fd);
	} else {
		EXPECT_EQ(-EPROTO, fd)
			TH_LOG("connect: %s", fastrpc_strerror(fd));
	}
	EXPECT_GT(10000U, now_ms() - t0);
	pthread_join(f.thr, NULL);
	close(f.lfd);
}

static void expect_client_fails(struct __test_metadata *_metadata,
				const uint8_t *answer, size_t len)
{
	expect_client_fails2(_metadata, answer, len, NULL, 0);
}

/*
 * The deadline mark on CANCEL (FASTRPC_FF_DEADLINE) is an extension of v1
 * that goes only to a server whose HELLO offered to take it
 * (FASTRPC_HELLO_F_CANCEL_DEADLINE): a server from before it would take
 * the bit for a protocol error and drop the connection.  A raw server
 * answers HELLO with or without the bit, takes a call with a 200 ms
 * deadline and reads what the client sends when it passes.
 */
struct cancel_peer {
	int lfd;
	uint16_t port;
	uint64_t features;		/* the HELLO feature bits it sends */
	int cancel_flags;		/* of the CANCEL it got; -1: none */
	pthread_t thr;
};

static void *cancel_peer_thread(void *arg)
{
	struct cancel_peer *cp = arg;
	struct fastrpc_wire_hello *hello;
	struct fastrpc_frame_hdr h;
	uint8_t buf[512], *p;
	int fd, i;

	fd = accept(cp->lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	set_rcvtimeo(fd, 10000);
	if (read_frame(fd, &h, buf, sizeof(buf)) || h.type != FASTRPC_FRAME_HELLO)
		goto out;
	p = put_hello(buf, FASTRPC_PROTO_V1, FASTRPC_HELLO_MAGIC);
	hello = (struct fastrpc_wire_hello *)(buf + FASTRPC_FRAME_HDR_LEN);
	hello->features = htobe64(cp->features);
	if (send_all(fd, buf, (size_t)(p - buf)))
		goto out;
	/* the CALL, then (its deadline passing) the CANCEL */
	for (i = 0; i < 16; i++) {
		if (read_frame(fd, &h, buf, sizeof(buf)))
			break;
		if (h.type == FASTRPC_FRAME_CANCEL) {
			cp->cancel_flags = ntohs(h.flags);
			break;
		}
	}
out:
	close(fd);
	return NULL;
}

static void cancel_flag_case(struct __test_metadata *_metadata,
			     uint64_t features, int want)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct fastrpc_call_opts o = { .timeout_ns = 200 * 1000 * 1000ull };
	struct cancel_peer cp = { .features = features, .cancel_flags = -1 };
	struct fastrpc_result_info ri = { 0 };
	socklen_t slen = sizeof(sin);
	char buf[8];
	int fd;

	cp.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, cp.lfd);
	ASSERT_EQ(0, bind(cp.lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(cp.lfd, (struct sockaddr *)&sin, &slen));
	ASSERT_EQ(0, listen(cp.lfd, 4));
	cp.port = ntohs(sin.sin_port);
	ASSERT_EQ(0, pthread_create(&cp.thr, NULL, cancel_peer_thread, &cp));
	fd = fastrpc_client_open("127.0.0.1", cp.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(1, fastrpc_send_call_opts(fd, 5, M_ECHO, &o, "x", 1, 0));
	ASSERT_EQ(0, set_rcvtimeo(fd, 10000));
	ASSERT_EQ(0, fastrpc_recv_result_ex(fd, &ri, buf, sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, ri.status);
	pthread_join(cp.thr, NULL);
	close(fd);
	close(cp.lfd);
	EXPECT_EQ(want, cp.cancel_flags)
		TH_LOG("HELLO features %#llx: CANCEL flags %#x, want %#x",
		       (unsigned long long)features, cp.cancel_flags, want);
}

TEST(deadline_cancel_mark_only_when_offered)
{
	cancel_flag_case(_metadata, 0, 0);
	cancel_flag_case(_metadata, FASTRPC_HELLO_F_CANCEL_DEADLINE,
			 FASTRPC_FF_DEADLINE);
	/* unknown bits beside it change nothing */
	cancel_flag_case(_metadata, ~0ULL, FASTRPC_FF_DEADLINE);
}

TEST(client_vs_http_server)
{
	static const char http[] = "HTTP/1.1 400 Bad Request\r\n"
				   "Content-Length: 0\r\n\r\n";

	expect_client_fails(_metadata, (const uint8_t *)http,
			    sizeof(http) - 1);
}

TEST(client_vs_bad_magic_hello)
{
	uint8_t buf[64], *p = put_hello(buf, FASTRPC_PROTO_V1, 0x12345678);

	expect_client_fails(_metadata, buf, (size_t)(p - buf));
}

TEST(client_vs_error_frame)
{
	struct fastrpc_wire_error err = { .code = htonl(FASTRPC_WERR_VERSION) };
	uint8_t buf[64], *p = put_hdr(buf, FASTRPC_PROTO_V1,
				      FASTRPC_FRAME_ERROR, 0, 0, sizeof(err));

	memcpy(p, &err, sizeof(err));
	expect_client_fails(_metadata, buf, (size_t)(p + sizeof(err) - buf));
}

/*
 * A server that answers the call with an END whose trailers are cut short
 * (meta_len 1 cannot hold an entry): the client's connection fails, and
 * the call still ends, UNAVAILABLE, in the message reserved for its end.
 */
TEST(client_vs_bad_end_trailers)
{
	struct fastrpc_wire_end end = { .status = htonl(FASTRPC_OK),
					.meta_len = htons(1) };
	uint8_t hello[64], *h = put_hello(hello, FASTRPC_PROTO_V1,
					  FASTRPC_HELLO_MAGIC);
	uint8_t buf[64], *p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_END,
				      FASTRPC_FF_EOM, 1, sizeof(end) + 1);

	memcpy(p, &end, sizeof(end));
	p[sizeof(end)] = 0;
	expect_client_fails2(_metadata, hello, (size_t)(h - hello), buf,
			     (size_t)(p + sizeof(end) + 1 - buf));
}

/*
 * A server that answers the call and closes at once, its FIN in the same
 * TCP segment as the END: TCP reports the FIN before the bytes that came
 * with it are parsed, and the answer must still count.
 */
TEST(client_reply_with_fin)
{
	struct fastrpc_wire_end end = { .status = htonl(FASTRPC_OK) };
	uint8_t hello[64], *h = put_hello(hello, FASTRPC_PROTO_V1,
					  FASTRPC_HELLO_MAGIC);
	uint8_t ans[64], *p = put_hdr(ans, FASTRPC_PROTO_V1, FASTRPC_FRAME_END,
				      FASTRPC_FF_EOM, 1, sizeof(end) + 4);
	struct fake_server f;
	uint32_t status = FASTRPC_UNKNOWN;
	char buf[8];
	ssize_t n;
	int fd;

	memcpy(p, &end, sizeof(end));
	memcpy(p + sizeof(end), "last", 4);
	ASSERT_EQ(0, fake_start2(&f, hello, (size_t)(h - hello), ans,
				(size_t)(p + sizeof(end) + 4 - ans), true));
	fd = fastrpc_client_open("127.0.0.1", f.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(0, set_rcvtimeo(fd, 5000));
	n = fastrpc_call(fd, M_ECHO, "x", 1, buf, sizeof(buf), &status);
	EXPECT_EQ(4, n) TH_LOG("call: %zd, status %s", n,
			       fastrpc_status_str(status));
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(buf, "last", 4));
	close(fd);
	pthread_join(f.thr, NULL);
	close(f.lfd);
}

/*
 * A server played by hand that takes two connections: the first gets our
 * HELLO answered and, in the same segment, an ERROR; the second is served
 * properly and answers one call.
 */
struct lost_server {
	int lfd;
	uint16_t port;
	int errors;
	pthread_t thr;
};

/* Accept, read the client's HELLO, send @out; the connection or -1. */
static int lost_accept(struct lost_server *s, const uint8_t *out, size_t len)
{
	struct fastrpc_frame_hdr h;
	uint8_t buf[64];
	int fd;

	fd = accept(s->lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	set_rcvtimeo(fd, 5000);
	if (read_frame(fd, &h, buf, sizeof(buf)) ||
	    h.type != FASTRPC_FRAME_HELLO || send_all(fd, out, len)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void *lost_thread(void *arg)
{
	struct fastrpc_wire_error err = {
		.code = htonl(FASTRPC_WERR_RESOURCE) };
	struct fastrpc_wire_end end = { .status = htonl(FASTRPC_OK) };
	struct lost_server *s = arg;
	struct fastrpc_frame_hdr h;
	uint8_t buf[256], *p;
	int fd;

	p = put_hello(buf, FASTRPC_PROTO_V1, FASTRPC_HELLO_MAGIC);
	p = put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_ERROR, 0, 0,
		    sizeof(err));
	memcpy(p, &err, sizeof(err));
	fd = lost_accept(s, buf, (size_t)(p + sizeof(err) - buf));
	if (fd < 0)
		goto fail;
	/* the client closes on the ERROR */
	while (recv(fd, buf, sizeof(buf), 0) > 0)
		;
	close(fd);

	p = put_hello(buf, FASTRPC_PROTO_V1, FASTRPC_HELLO_MAGIC);
	fd = lost_accept(s, buf, (size_t)(p - buf));
	if (fd < 0)
		goto fail;
	if (read_frame(fd, &h, buf, sizeof(buf)) ||
	    h.type != FASTRPC_FRAME_CALL) {
		close(fd);
		goto fail;
	}
	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_END, FASTRPC_FF_EOM,
		    ntohl(h.call_id), sizeof(end) + 2);
	memcpy(p, &end, sizeof(end));
	memcpy(p + sizeof(end), "ok", 2);
	if (send_all(fd, buf, (size_t)(p + sizeof(end) + 2 - buf)))
		s->errors++;
	close(fd);	/* the client keeps its idle connection open */
	return NULL;
fail:
	s->errors++;
	return NULL;
}

/*
 * A connection that completed its HELLO exchange was a successful
 * connect, however soon it is lost: no backoff record, and the next
 * connect to that server goes through at once.  With HELLO and ERROR in
 * one segment the connection is dead before the work that opened it
 * looks at the outcome, as when a server closes a connection that was
 * used and idle before that work got to run: a new server on the same
 * port then had its first connects fail fast for 100 ms or more.
 */
TEST(ready_then_lost_no_backoff)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct lost_server s = { 0 };
	long long f0 = proc_counter("connect_failures");
	uint32_t status = FASTRPC_UNKNOWN;
	char buf[8];
	ssize_t n;
	int fd;

	ASSERT_LE(0, f0);
	s.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, s.lfd);
	ASSERT_EQ(0, bind(s.lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(s.lfd, (struct sockaddr *)&sin, &slen));
	ASSERT_EQ(0, listen(s.lfd, 4));
	ASSERT_EQ(0, set_rcvtimeo(s.lfd, 10000));	/* bounds accept() */
	s.port = ntohs(sin.sin_port);
	ASSERT_EQ(0, pthread_create(&s.thr, NULL, lost_thread, &s));

	/* connect() itself may fail or not: it may look before the ERROR */
	fd = fastrpc_client_open("127.0.0.1", s.port, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	/* well within a backoff, and time for the opening work to finish */
	usleep(50000);
	fd = fastrpc_client_open("127.0.0.1", s.port, SOCK_CLOEXEC);
	EXPECT_LE(0, fd) TH_LOG("second connect: %s", fastrpc_strerror(fd));
	if (fd >= 0) {
		ASSERT_EQ(0, set_rcvtimeo(fd, 5000));
		n = fastrpc_call(fd, M_ECHO, "x", 1, buf, sizeof(buf), &status);
		EXPECT_EQ(2, n) TH_LOG("call: %zd, status %s", n,
				       fastrpc_status_str(status));
		EXPECT_EQ(FASTRPC_OK, status);
		close(fd);
	} else {
		shutdown(s.lfd, SHUT_RDWR);	/* no second accept coming */
	}
	pthread_join(s.thr, NULL);
	close(s.lfd);
	EXPECT_EQ(fd >= 0 ? 0 : 1, s.errors);
	EXPECT_EQ(f0, proc_counter("connect_failures"));
}

/*
 * A FastRPC server played by hand over TCP, for a client that must cope
 * with GOAWAY: the first connection takes call 1 and sends GOAWAY while
 * keeping it, the second takes the next call; once the test has closed
 * its client socket, call 1 is answered on the first connection.
 */
struct goaway_server {
	int lfd;
	uint16_t port;
	atomic_int stage;	/* 1: GOAWAY taken in, 2: second call read */
	int errors;
	pthread_t thr;
};

static int goaway_accept(struct goaway_server *g)
{
	struct fastrpc_frame_hdr h;
	uint8_t buf[256], *p;
	int fd;

	fd = accept(g->lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	set_rcvtimeo(fd, 10000);
	p = put_hello(buf, FASTRPC_PROTO_V1, FASTRPC_HELLO_MAGIC);
	if (read_frame(fd, &h, buf + 64, sizeof(buf) - 64) ||
	    h.type != FASTRPC_FRAME_HELLO ||
	    send_all(fd, buf, (size_t)(p - buf)) ||
	    read_frame(fd, &h, buf, sizeof(buf)) ||
	    h.type != FASTRPC_FRAME_CALL || ntohl(h.call_id) != 1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Read frames from @fd until one of @type; 0, or -1 on error or close. */
static int goaway_wait_frame(int fd, uint8_t type)
{
	struct fastrpc_frame_hdr h;
	uint8_t buf[256];
	int i;

	for (i = 0; i < 64; i++) {
		if (read_frame(fd, &h, buf, sizeof(buf)))
			return -1;
		if (h.type == type)
			return 0;
	}
	return -1;
}

static void *goaway_thread(void *arg)
{
	struct fastrpc_wire_error ge = { .last_id = htonl(1) };
	struct fastrpc_wire_end end = { .status = htonl(FASTRPC_OK) };
	struct goaway_server *g = arg;
	uint8_t buf[64], *p;
	int c1, c2 = -1;

	c1 = goaway_accept(g);
	if (c1 < 0)
		goto fail;
	/* GOAWAY, then a PING: its PONG shows the GOAWAY was taken in */
	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_GOAWAY, 0, 0,
		    sizeof(ge));
	memcpy(p, &ge, sizeof(ge));
	p += sizeof(ge);
	p = put_hdr(p, FASTRPC_PROTO_V1, FASTRPC_FRAME_PING, 0, 0, 8);
	memcpy(p, "goawaypp", 8);
	if (send_all(c1, buf, (size_t)(p + 8 - buf)) ||
	    goaway_wait_frame(c1, FASTRPC_FRAME_PONG))
		goto fail;
	atomic_store(&g->stage, 1);
	c2 = goaway_accept(g);
	if (c2 < 0)
		goto fail;
	atomic_store(&g->stage, 2);
	/* close() cancels call 1 on this connection too: then answer it */
	if (goaway_wait_frame(c1, FASTRPC_FRAME_CANCEL))
		g->errors++;
	p = put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_END, FASTRPC_FF_EOM,
		    1, sizeof(end));
	memcpy(p, &end, sizeof(end));
	if (send_all(c1, buf, (size_t)(p + sizeof(end) - buf)))
		g->errors++;
	usleep(300000);
	close(c1);
	close(c2);
	return NULL;
fail:
	g->errors++;
	atomic_store(&g->stage, 3);
	if (c1 >= 0)
		close(c1);
	return NULL;
}

/*
 * After GOAWAY the client socket moves its next call to a new connection
 * while call 1 stays open on the old, draining one.  close() must end
 * call 1 there too: the answer that comes afterwards is a late reply for
 * a call that is gone, not a message for a socket that is gone.
 */
TEST(client_close_after_goaway)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct goaway_server g = { 0 };
	long long late0 = proc_counter("late_replies");
	uint64_t t0;
	int fd;

	ASSERT_LE(0, late0);
	/*
	 * The old connection closes at the first keepalive tick once close()
	 * ended its call; a slow tick (15 s) keeps it open for the answer.
	 */
	ASSERT_EQ(0, frpc_set_param("keepalive_ms", 60000));
	g.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, g.lfd);
	ASSERT_EQ(0, bind(g.lfd, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(g.lfd, (struct sockaddr *)&sin, &slen));
	ASSERT_EQ(0, listen(g.lfd, 4));
	ASSERT_EQ(0, set_rcvtimeo(g.lfd, 10000));	/* bounds accept() */
	g.port = ntohs(sin.sin_port);
	ASSERT_EQ(0, pthread_create(&g.thr, NULL, goaway_thread, &g));

	fd = fastrpc_client_open("127.0.0.1", g.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(1, fastrpc_send_call(fd, 1, M_ECHO, "a", 1, 0));
	for (t0 = now_ms(); atomic_load(&g.stage) < 1 &&
	     now_ms() - t0 < 10000;)
		usleep(10000);
	ASSERT_EQ(1, atomic_load(&g.stage));
	ASSERT_EQ(1, fastrpc_send_call(fd, 2, M_ECHO, "b", 1, 0));
	for (t0 = now_ms(); atomic_load(&g.stage) < 2 &&
	     now_ms() - t0 < 10000;)
		usleep(10000);
	EXPECT_EQ(2, atomic_load(&g.stage))
		TH_LOG("the second call did not come on a new connection");
	close(fd);
	pthread_join(g.thr, NULL);
	close(g.lfd);
	EXPECT_EQ(0, g.errors);
	EXPECT_LT(late0, proc_counter("late_replies"))
		TH_LOG("call 1 was still open after close()");
	EXPECT_EQ(0, frpc_set_param("keepalive_ms", 10000));
}

TEST_HARNESS_MAIN
