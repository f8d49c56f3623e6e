// SPDX-License-Identifier: GPL-2.0-only
/*
 * Streaming calls (client-, server- and bidirectional streaming, half-close,
 * order kept), status messages, request metadata and reply trailers.
 * Client and server sockets live in one process on loopback; the test
 * plays both sides.
 */
#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8100
#define M_STREAM	21

FIXTURE(st) {
	int sfd;
	int cfd;
	uint16_t port;
};

FIXTURE_SETUP(st)
{
	int ret = pair_open(BASE_PORT, _metadata->name, 10000, &self->sfd,
			    &self->cfd, &self->port);

	ASSERT_EQ(0, ret) TH_LOG("server and client: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(st)
{
	pair_close(self->sfd, self->cfd);
}

TEST_F(st, client_streaming_half_close)
{
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri = { 0 };
	char buf[64], want[64];
	uint64_t handle = 0;
	ssize_t n;
	int i;

	ASSERT_EQ(2, fastrpc_send_call_opts(self->cfd, 5, M_STREAM, &o, "m0",
					    2, 0));
	for (i = 1; i < 10; i++) {
		int len = snprintf(buf, sizeof(buf), "m%d", i);

		ASSERT_EQ(len, fastrpc_send_more(self->cfd, 5, buf, (size_t)len,
						 i == 9 ? MSG_EOR : 0));
	}
	/* the client's side is closed: nothing more may follow */
	EXPECT_EQ(-EINVAL, fastrpc_send_more(self->cfd, 5, "x", 1, 0));
	EXPECT_EQ(-EINVAL, fastrpc_send_more(self->cfd, 5, "x", 1, MSG_EOR));

	for (i = 0; i < 10; i++) {
		int len = snprintf(want, sizeof(want), "m%d", i);

		n = srv_recv(self->sfd, &ii, buf, sizeof(buf));
		ASSERT_EQ(len, n) TH_LOG("message %d: %zd", i, n);
		EXPECT_EQ(0, memcmp(buf, want, (size_t)len)) TH_LOG("order at %d", i);
		if (i == 0) {
			EXPECT_EQ(M_STREAM, ii.method);
			handle = ii.handle;
			EXPECT_EQ(0, ii.flags);
		} else {
			EXPECT_EQ(handle, ii.handle);
			EXPECT_EQ(FASTRPC_IN_CONT, ii.flags);
		}
		EXPECT_EQ(i == 9, ii.eor) TH_LOG("MSG_EOR at %d", i);
	}
	/* the server answers after the half-close */
	ASSERT_EQ(4, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK, "done",
					4, 0));
	n = fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf), 0);
	ASSERT_EQ(4, n);
	EXPECT_EQ(5, ri.tag);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_OK, ri.status);
	EXPECT_EQ(0, memcmp(buf, "done", 4));
	/* the call is over: its tag is unknown now */
	EXPECT_EQ(-ENOENT, fastrpc_send_more(self->cfd, 5, "x", 1, 0));
}

/*
 * struct fastrpc_incoming documents @method as the method sent by the
 * client; a later message of the same call must carry it too, or a server
 * dispatching on method mistakes it for another call.
 */
TEST_F(st, cont_messages_carry_method)
{
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct fastrpc_incoming_info ii;
	char buf[8];

	ASSERT_EQ(1, fastrpc_send_call_opts(self->cfd, 6, M_STREAM, &o, "a", 1,
					    0));
	ASSERT_EQ(1, fastrpc_send_more(self->cfd, 6, "b", 1, MSG_EOR));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(M_STREAM, ii.method);
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(FASTRPC_IN_CONT, ii.flags);
	EXPECT_EQ(M_STREAM, ii.method);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, NULL,
					0, 0));
}

TEST_F(st, unary_call_takes_no_more)
{
	struct fastrpc_incoming_info ii;
	char buf[16];

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 9, M_ECHO, "a", 1, 0));
	EXPECT_EQ(-EINVAL, fastrpc_send_more(self->cfd, 9, "b", 1, 0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	EXPECT_EQ(1, ii.eor);	/* a non-stream call's first message is its last */
	EXPECT_EQ(0, ii.flags);
	/* a server never ends a call with MSG_EOR on CMSG_SEND */
	EXPECT_EQ(-EINVAL, fastrpc_send_more(self->sfd, ii.handle, "c", 1,
					     MSG_EOR));
	EXPECT_EQ(-ENOENT, fastrpc_send_more(self->sfd, ii.handle + 1000, "c",
					     1, 0));
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					NULL, 0, 0));
	ASSERT_EQ(0, fastrpc_recv_result(self->cfd, NULL, NULL, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(-ENOENT, fastrpc_send_more(self->sfd, ii.handle, "c", 1, 0));
}

/* Server streaming: 8 messages of 200 KiB, order and content kept. */
TEST_F(st, server_streaming)
{
	const size_t sz = 200 << 10;
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri = { 0 };
	uint8_t *buf = malloc(sz);
	uint8_t req[4];
	ssize_t n;
	int i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 77, M_STREAM, NULL, 0, 0));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, req, sizeof(req)));
	/* interleave: the server sends, the client reads, so windows turn */
	for (i = 0; i < 8; i++) {
		fill_pattern(buf, sz, (uint64_t)i);
		ASSERT_EQ((ssize_t)sz, fastrpc_send_more(self->sfd, ii.handle,
							 buf, sz, 0));
		memset(buf, 0, sz);
		n = fastrpc_recv_result_ex(self->cfd, &ri, buf, sz, 0);
		ASSERT_EQ((ssize_t)sz, n) TH_LOG("message %d: %zd", i, n);
		EXPECT_EQ(77, ri.tag);
		EXPECT_EQ(0, ri.eor);
		EXPECT_EQ(0, ri.status);
		EXPECT_TRUE(check_pattern(buf, sz, (uint64_t)i));
	}
	ASSERT_EQ(3, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					"end", 3, 0));
	n = fastrpc_recv_result_ex(self->cfd, &ri, buf, sz, 0);
	ASSERT_EQ(3, n);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_OK, ri.status);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, buf, sz,
					       MSG_DONTWAIT));
	free(buf);
}

struct bidi_srv {
	int sfd;
	int msgs;
	size_t sz;
	int err;
	int got;
	bool saw_eor;
};

/* Echo every stream message back as it comes, reply once the client ends. */
static void *bidi_thread(void *p)
{
	struct bidi_srv *b = p;
	struct fastrpc_incoming_info ii;
	uint8_t *buf = malloc(b->sz);
	ssize_t n, r;

	if (!buf) {
		b->err = ENOMEM;
		return NULL;
	}
	for (;;) {
		n = srv_recv(b->sfd, &ii, buf, b->sz);
		if (n < 0) {
			b->err = (int)-n;
			break;
		}
		if (ii.flags & FASTRPC_IN_CANCELLED) {
			b->err = ECANCELED;
			break;
		}
		if ((size_t)n != b->sz || !check_pattern(buf, b->sz,
							 (uint64_t)b->got)) {
			b->err = EBADMSG;
			break;
		}
		b->got++;
		r = fastrpc_send_more(b->sfd, ii.handle, buf, b->sz, 0);
		if (r < 0) {
			b->err = (int)-r;
			break;
		}
		if (ii.eor) {
			b->saw_eor = true;
			r = fastrpc_send_reply(b->sfd, ii.handle, FASTRPC_OK,
					       NULL, 0, 0);
			if (r < 0)
				b->err = (int)-r;
			break;
		}
	}
	free(buf);
	return NULL;
}

/*
 * Bidirectional: 64 messages of 64 KiB (4 MiB, many times the 256 KiB call
 * window) each way at once; the client writes everything before reading,
 * from two threads, so both directions are flow controlled concurrently.
 */
struct bidi_cli {
	int cfd;
	int msgs;
	size_t sz;
	int err;
};

static void *bidi_writer(void *p)
{
	struct bidi_cli *c = p;
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	uint8_t *buf = malloc(c->sz);
	ssize_t r;
	int i;

	if (!buf) {
		c->err = ENOMEM;
		return NULL;
	}
	for (i = 0; i < c->msgs; i++) {
		fill_pattern(buf, c->sz, (uint64_t)i);
		if (i == 0)
			r = fastrpc_send_call_opts(c->cfd, 1234, M_STREAM, &o,
						   buf, c->sz, 0);
		else
			r = fastrpc_send_more(c->cfd, 1234, buf, c->sz,
					      i == c->msgs - 1 ? MSG_EOR : 0);
		if (r != (ssize_t)c->sz) {
			c->err = r < 0 ? (int)-r : EIO;
			break;
		}
	}
	free(buf);
	return NULL;
}

TEST_F_TIMEOUT(st, bidi_order_and_half_close, 120)
{
	struct bidi_srv b = { .sfd = self->sfd, .msgs = 64, .sz = 64 << 10 };
	struct bidi_cli c = { .cfd = self->cfd, .msgs = 64, .sz = 64 << 10 };
	struct fastrpc_result_info ri = { 0 };
	pthread_t st, wt;
	uint8_t *buf = malloc(c.sz);
	ssize_t n;
	int i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, pthread_create(&st, NULL, bidi_thread, &b));
	ASSERT_EQ(0, pthread_create(&wt, NULL, bidi_writer, &c));
	for (i = 0; i < c.msgs; i++) {
		n = fastrpc_recv_result_ex(self->cfd, &ri, buf, c.sz, 0);
		ASSERT_EQ((ssize_t)c.sz, n) TH_LOG("reply %d: %zd", i, n);
		ASSERT_EQ(0, ri.eor) TH_LOG("reply %d ended the call, status %u",
					    i, ri.status);
		ASSERT_TRUE(check_pattern(buf, c.sz, (uint64_t)i))
			TH_LOG("reply %d out of order", i);
	}
	n = fastrpc_recv_result_ex(self->cfd, &ri, buf, c.sz, 0);
	ASSERT_EQ(0, n);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_OK, ri.status);
	pthread_join(wt, NULL);
	pthread_join(st, NULL);
	EXPECT_EQ(0, c.err);
	EXPECT_EQ(0, b.err);
	EXPECT_EQ(64, b.got);
	EXPECT_TRUE(b.saw_eor);
	free(buf);
}

TEST_F(st, metadata_trailers_status_message)
{
	static const uint8_t bin[] = { 0, 1, 2, 0xff, 0 };
	uint8_t meta[FASTRPC_MAX_METADATA], trl[256];
	_Alignas(struct cmsghdr) char aux[FASTRPC_AUX_SPACE];
	_Alignas(struct cmsghdr) char aux2[FASTRPC_AUX_SPACE];
	struct fastrpc_incoming_info ii = { .aux = aux, .aux_len = sizeof(aux) };
	struct fastrpc_result_info ri = { .aux = aux2, .aux_len = sizeof(aux2) };
	struct fastrpc_call_opts o = { 0 };
	struct fastrpc_reply_opts ro = { 0 };
	char smsg[FASTRPC_MAX_STATUS_MSG];
	size_t mlen = 0, tlen = 0, vlen, klen;
	struct fastrpc_meta_iter it;
	const void *val;
	const char *key;
	char buf[32];
	int count = 0;

	ASSERT_EQ(0, fastrpc_meta_add(meta, sizeof(meta), &mlen, "trace-id",
				      "abc123", 6));
	ASSERT_EQ(0, fastrpc_meta_add(meta, sizeof(meta), &mlen, "bin", bin,
				      sizeof(bin)));
	ASSERT_EQ(0, fastrpc_meta_add(meta, sizeof(meta), &mlen, "empty",
				      NULL, 0));
	EXPECT_EQ(-EINVAL, fastrpc_meta_add(meta, sizeof(meta), &mlen, "",
					    NULL, 0));
	o.metadata = meta;
	o.metadata_len = mlen;
	ASSERT_EQ(2, fastrpc_send_call_opts(self->cfd, 3, M_ECHO, &o, "hi", 2,
					    0));
	ASSERT_EQ(2, fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf), 0));
	EXPECT_FALSE(ii.msg_flags & MSG_CTRUNC);
	ASSERT_NE(NULL, ii.metadata);
	ASSERT_EQ(mlen, ii.metadata_len);
	EXPECT_EQ(0, memcmp(meta, ii.metadata, mlen));	/* bytes unchanged */
	ASSERT_EQ(0, fastrpc_meta_get(ii.metadata, ii.metadata_len, "bin",
				      &val, &vlen));
	EXPECT_EQ(sizeof(bin), vlen);
	EXPECT_EQ(0, memcmp(val, bin, sizeof(bin)));
	EXPECT_EQ(-ENOENT, fastrpc_meta_get(ii.metadata, ii.metadata_len,
					    "nope", &val, &vlen));
	fastrpc_meta_iter_init(&it, ii.metadata, ii.metadata_len);
	while (fastrpc_meta_next(&it, &key, &klen, &val, &vlen) > 0)
		count++;
	EXPECT_EQ(3, count);

	/* trailers and the longest status message allowed come back */
	ASSERT_EQ(0, fastrpc_meta_add(trl, sizeof(trl), &tlen, "retry-after",
				      "5", 1));
	memset(smsg, 'e', sizeof(smsg));
	memcpy(smsg, "no such key", 11);
	ro.trailers = trl;
	ro.trailers_len = tlen;
	ro.status_msg = smsg;
	ro.status_msg_len = sizeof(smsg);
	ASSERT_EQ(1, fastrpc_send_reply_opts(self->sfd, ii.handle,
					     FASTRPC_NOT_FOUND, &ro, "!", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	EXPECT_EQ(3, ri.tag);
	EXPECT_EQ(FASTRPC_NOT_FOUND, ri.status);
	EXPECT_EQ(1, ri.eor);
	ASSERT_NE(NULL, ri.trailers);
	ASSERT_EQ(tlen, ri.trailers_len);
	EXPECT_EQ(0, memcmp(trl, ri.trailers, tlen));
	ASSERT_NE(NULL, ri.status_msg);
	ASSERT_EQ(sizeof(smsg), ri.status_msg_len);
	EXPECT_EQ(0, memcmp(smsg, ri.status_msg, sizeof(smsg)));

	/* a call without extras has none */
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 4, M_ECHO, NULL, 0, 0));
	ASSERT_EQ(0, fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf), 0));
	EXPECT_EQ(NULL, ii.metadata);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, NULL,
					0, 0));
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	EXPECT_EQ(NULL, ri.trailers);
	EXPECT_EQ(NULL, ri.status_msg);
}

/*
 * Replies whose END head is at its largest (trailers near the limit,
 * the longest status message) with payloads around a frame's data: the
 * sender cuts them so that no frame exceeds FASTRPC_MAX_FRAME, and every
 * byte, trailer and status message arrives.
 */
TEST_F_TIMEOUT(st, biggest_end_heads, 60)
{
	static const size_t sizes[] = { 60000, 61440, 61441, 65536, 122000 };
	_Alignas(struct cmsghdr) char aux[FASTRPC_AUX_SPACE];
	struct fastrpc_result_info ri = { .aux = aux, .aux_len = sizeof(aux) };
	struct fastrpc_reply_opts ro = { 0 };
	uint8_t trl[FASTRPC_MAX_METADATA], val[FASTRPC_MAX_METADATA];
	char smsg[FASTRPC_MAX_STATUS_MSG], buf[8];
	uint8_t *out = malloc(122000), *in = malloc(122001);
	size_t tlen = 0, v;
	unsigned int i;

	ASSERT_NE(NULL, out);
	ASSERT_NE(NULL, in);
	memset(val, 'v', sizeof(val));
	/* one trailer as long as the limit allows */
	for (v = sizeof(val); v > 0; v--) {
		tlen = 0;
		if (!fastrpc_meta_add(trl, sizeof(trl), &tlen, "k", val, v))
			break;
	}
	ASSERT_LT(FASTRPC_MAX_METADATA - 16, tlen);
	memset(smsg, 's', sizeof(smsg));
	ro.trailers = trl;
	ro.trailers_len = tlen;
	ro.status_msg = smsg;
	ro.status_msg_len = sizeof(smsg);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fastrpc_incoming_info ii = { 0 };

		fill_pattern(out, sizes[i], 40 + i);
		ASSERT_EQ(0, fastrpc_send_call(self->cfd, 40 + i, M_ECHO, NULL,
					       0, 0));
		ASSERT_EQ(0, fastrpc_recv_call_ex(self->sfd, &ii, buf,
						  sizeof(buf), 0));
		ASSERT_EQ((ssize_t)sizes[i],
			  fastrpc_send_reply_opts(self->sfd, ii.handle,
						  FASTRPC_OK, &ro, out,
						  sizes[i], 0));
		ASSERT_EQ((ssize_t)sizes[i],
			  fastrpc_recv_result_ex(self->cfd, &ri, in, 122001, 0))
			TH_LOG("reply of %zu bytes", sizes[i]);
		EXPECT_EQ(40 + i, ri.tag);
		EXPECT_EQ(FASTRPC_OK, ri.status);
		EXPECT_TRUE(check_pattern(in, sizes[i], 40 + i));
		ASSERT_EQ(tlen, ri.trailers_len);
		EXPECT_EQ(0, memcmp(trl, ri.trailers, tlen));
		ASSERT_EQ(sizeof(smsg), ri.status_msg_len);
		EXPECT_EQ(0, memcmp(smsg, ri.status_msg, sizeof(smsg)));
	}
	free(out);
	free(in);
}

/*
 * An aux buffer too small for what came (a status message of 200 bytes
 * after the trailers): the extras are dropped whole rather than handed
 * over cut short, MSG_CTRUNC says so, and the status is intact.
 */
TEST_F(st, small_aux_drops_extras_whole)
{
	_Alignas(struct cmsghdr) char aux[112];
	struct fastrpc_result_info ri = { .aux = aux, .aux_len = sizeof(aux) };
	struct fastrpc_incoming_info ii = { 0 };
	struct fastrpc_reply_opts ro = { 0 };
	uint8_t trl[32];
	size_t tlen = 0;
	char smsg[200], buf[8];

	ASSERT_EQ(0, fastrpc_meta_add(trl, sizeof(trl), &tlen, "k", "v", 1));
	memset(smsg, 's', sizeof(smsg));
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 5, M_ECHO, NULL, 0, 0));
	ASSERT_EQ(0, fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf), 0));
	ro.trailers = trl;
	ro.trailers_len = tlen;
	ro.status_msg = smsg;
	ro.status_msg_len = sizeof(smsg);
	ASSERT_EQ(1, fastrpc_send_reply_opts(self->sfd, ii.handle,
					     FASTRPC_NOT_FOUND, &ro, "!", 1, 0));
	ASSERT_EQ(1, fastrpc_recv_result_ex(self->cfd, &ri, buf, sizeof(buf),
					    0));
	EXPECT_EQ(5, ri.tag);
	EXPECT_EQ(FASTRPC_NOT_FOUND, ri.status);
	EXPECT_EQ(1, ri.eor);
	EXPECT_TRUE(ri.msg_flags & MSG_CTRUNC);
	EXPECT_EQ(NULL, ri.trailers);
	EXPECT_EQ(NULL, ri.status_msg);
	EXPECT_EQ(0, ri.status_msg_len);
}

/* Metadata on a later message of a stream stays on the first only. */
TEST_F(st, metadata_on_first_message_only)
{
	uint8_t meta[64];
	size_t mlen = 0;
	_Alignas(struct cmsghdr) char aux[FASTRPC_AUX_SPACE];
	struct fastrpc_incoming_info ii = { .aux = aux, .aux_len = sizeof(aux) };
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	char buf[8];

	ASSERT_EQ(0, fastrpc_meta_add(meta, sizeof(meta), &mlen, "k", "v", 1));
	o.metadata = meta;
	o.metadata_len = mlen;
	ASSERT_EQ(1, fastrpc_send_call_opts(self->cfd, 8, M_STREAM, &o, "a", 1,
					    0));
	ASSERT_EQ(1, fastrpc_send_more(self->cfd, 8, "b", 1, MSG_EOR));
	ASSERT_EQ(1, fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf), 0));
	EXPECT_EQ(mlen, ii.metadata_len);
	ASSERT_EQ(1, fastrpc_recv_call_ex(self->sfd, &ii, buf, sizeof(buf), 0));
	EXPECT_EQ(FASTRPC_IN_CONT, ii.flags);
	EXPECT_EQ(NULL, ii.metadata);
	EXPECT_EQ(1, ii.eor);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, NULL,
					0, 0));
}

TEST_F(st, invalid_metadata_and_status)
{
	struct fastrpc_call_opts o = { 0 };
	struct fastrpc_reply_opts ro = { 0 };
	struct fastrpc_incoming_info ii;
	uint8_t bad[16] = { 0 };
	char big[FASTRPC_MAX_STATUS_MSG + 1];
	char buf[8];

	/* key length 0 */
	bad[0] = 0;
	o.metadata = bad;
	o.metadata_len = 8;
	EXPECT_EQ(-EINVAL, fastrpc_send_call_opts(self->cfd, 1, M_ECHO, &o,
						  NULL, 0, 0));
	/* entry overruns the sequence */
	bad[0] = 3;
	bad[3] = 20;
	EXPECT_EQ(-EINVAL, fastrpc_send_call_opts(self->cfd, 1, M_ECHO, &o,
						  NULL, 0, 0));
	/* reserved byte set */
	memset(bad, 0, sizeof(bad));
	bad[0] = 1;
	bad[1] = 1;
	o.metadata_len = 5;
	EXPECT_EQ(-EINVAL, fastrpc_send_call_opts(self->cfd, 1, M_ECHO, &o,
						  NULL, 0, 0));
	/* a trailing partial entry head */
	bad[1] = 0;
	o.metadata_len = 7;
	EXPECT_EQ(-EINVAL, fastrpc_send_call_opts(self->cfd, 1, M_ECHO, &o,
						  NULL, 0, 0));
	/* unknown call flags */
	memset(&o, 0, sizeof(o));
	o.flags = 0x80;
	EXPECT_EQ(-EINVAL, fastrpc_send_call_opts(self->cfd, 1, M_ECHO, &o,
						  NULL, 0, 0));
	/* nothing of the refused calls reached the server */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));

	/* a status message is for replies only; over 1024 bytes is refused */
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 2, M_ECHO, NULL, 0, 0));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	memset(big, 'x', sizeof(big));
	ro.status_msg = big;
	ro.status_msg_len = sizeof(big);
	EXPECT_EQ(-EINVAL, fastrpc_send_reply_opts(self->sfd, ii.handle,
						   FASTRPC_INTERNAL, &ro,
						   NULL, 0, 0));
	ro.status_msg_len = 0;
	ro.trailers = bad;
	ro.trailers_len = 3;
	EXPECT_EQ(-EINVAL, fastrpc_send_reply_opts(self->sfd, ii.handle,
						   FASTRPC_INTERNAL, &ro,
						   NULL, 0, 0));
	/* the handle is still good after refused replies */
	ro.trailers = NULL;
	ro.trailers_len = 0;
	ro.status_msg = "boom";
	ro.status_msg_len = 4;
	EXPECT_EQ(0, fastrpc_send_reply_opts(self->sfd, ii.handle,
					     FASTRPC_INTERNAL, &ro, NULL, 0,
					     0));
	{
		_Alignas(struct cmsghdr) char aux[FASTRPC_AUX_SPACE];
		struct fastrpc_result_info ri = { .aux = aux,
						  .aux_len = sizeof(aux) };

		ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, buf,
						    sizeof(buf), 0));
		EXPECT_EQ(2, ri.tag);
		EXPECT_EQ(FASTRPC_INTERNAL, ri.status);
		ASSERT_EQ(4, ri.status_msg_len);
		EXPECT_EQ(0, memcmp(ri.status_msg, "boom", 4));
	}
}

/*
 * Two threads send long messages on one streaming call at once.  Each
 * message over a quantum is written by its sender from its own pages
 * (kmod/txbulk.c) and may wait for credit half way; the other sender of
 * the call waits until the rest is queued, so every message arrives whole
 * (their order between the threads is unspecified).
 */
struct cc_sender {
	int fd;
	int t;
	int err;
};

enum { CC_MSGS = 6, CC_HDR = 8 };

static size_t cc_len(uint64_t id)
{
	return (100 << 10) + (id % 100) * 4099 + (id / 100) * 17;
}

static void *cc_send(void *p)
{
	struct cc_sender *cs = p;
	uint8_t *buf = malloc(cc_len(199) + 1);
	int i;

	if (!buf) {
		cs->err = ENOMEM;
		return NULL;
	}
	for (i = 0; i < CC_MSGS && !cs->err; i++) {
		uint64_t id = (uint64_t)cs->t * 100 + (uint64_t)i;
		size_t len = cc_len(id);
		ssize_t n;

		memcpy(buf, &id, CC_HDR);
		fill_pattern(buf + CC_HDR, len - CC_HDR, id);
		n = fastrpc_send_more(cs->fd, 90, buf, len, 0);
		if (n != (ssize_t)len)
			cs->err = n < 0 ? (int)-n : EIO;
		memset(buf, 0xee, len);	/* taken: ours again */
	}
	free(buf);
	return NULL;
}

TEST_F_TIMEOUT(st, concurrent_long_sends, 120)
{
	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM };
	struct cc_sender cs[2] = {
		{ .fd = self->cfd, .t = 0 }, { .fd = self->cfd, .t = 1 },
	};
	struct fastrpc_incoming_info ii;
	size_t cap = cc_len(199) + 1;
	uint8_t *buf = malloc(cap);
	unsigned int seen[2] = { 0, 0 };
	pthread_t thr[2];
	uint64_t handle;
	uint32_t status;
	ssize_t n;
	int i;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, fastrpc_send_call_opts(self->cfd, 90, M_STREAM, &o, NULL,
					    0, 0));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, cap));
	handle = ii.handle;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, cc_send, &cs[i]));
	for (i = 0; i < 2 * CC_MSGS; i++) {
		uint64_t id;

		n = srv_recv(self->sfd, &ii, buf, cap);
		ASSERT_LT(CC_HDR, n) TH_LOG("message %d: %zd", i, n);
		EXPECT_EQ(handle, ii.handle);
		EXPECT_TRUE(ii.flags & FASTRPC_IN_CONT);
		memcpy(&id, buf, CC_HDR);
		ASSERT_GT(200, id) TH_LOG("message %d starts with %llu", i,
					  (unsigned long long)id);
		ASSERT_GT(CC_MSGS, id % 100);
		EXPECT_EQ((ssize_t)cc_len(id), n) TH_LOG("message %llu",
						       (unsigned long long)id);
		EXPECT_TRUE(check_pattern(buf + CC_HDR, (size_t)n - CC_HDR, id))
			TH_LOG("message %llu mixed up", (unsigned long long)id);
		seen[id / 100] |= 1u << (id % 100);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(thr[i], NULL);
		EXPECT_EQ(0, cs[i].err);
		EXPECT_EQ((1u << CC_MSGS) - 1, seen[i]);
	}
	/* the stream ends and is answered as usual */
	ASSERT_EQ(0, fastrpc_send_more(self->cfd, 90, NULL, 0, MSG_EOR));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, buf, cap));
	EXPECT_EQ(1, ii.eor);
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, handle, FASTRPC_OK, NULL, 0,
					0));
	n = fastrpc_recv_result(self->cfd, NULL, &status, buf, cap, 0);
	EXPECT_EQ(0, n);
	EXPECT_EQ(FASTRPC_OK, status);
	free(buf);
}

TEST_HARNESS_MAIN
