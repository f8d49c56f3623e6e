// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the same-host short cut of loop.c: which listener serves a
 * target, and a pair of connections passing frames: whole, several in one
 * write (small writes with no skb), one split over writes, a big one in
 * page fragments, none after the reading end detached.  Included by
 * af_fastrpc_kunit.c.
 */

static void frpc_test_loop_v4(struct sockaddr_fastrpc *a, u32 ip, u16 port)
{
	memset(a, 0, sizeof(*a));
	a->sfr_ip_family = AF_INET;
	a->sfr_addr.v4 = cpu_to_be32(ip);
	a->sfr_port = cpu_to_be16(port);
}

static void frpc_test_loop_v6(struct sockaddr_fastrpc *a, u8 last, u16 port)
{
	memset(a, 0, sizeof(*a));
	a->sfr_ip_family = AF_INET6;
	a->sfr_addr.v6.s6_addr[15] = last;
	a->sfr_port = cpu_to_be16(port);
}

static void frpc_test_loop_match(struct kunit *test)
{
	struct sockaddr_fastrpc l, to;

	frpc_test_loop_v4(&to, 0x7f000001, 7000);
	frpc_test_loop_v4(&l, 0x7f000001, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_EXACT);
	frpc_test_loop_v4(&l, 0, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_WILDCARD);
	/* another port, another address, another family */
	frpc_test_loop_v4(&l, 0, 7001);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_NONE);
	frpc_test_loop_v4(&l, 0x7f000002, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_NONE);
	/* a dual-stack IPv6 wildcard listener takes IPv4 too */
	frpc_test_loop_v6(&l, 0, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to),
			FRPC_LOOP_WILDCARD);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, true, &to), FRPC_LOOP_NONE);
	frpc_test_loop_v6(&l, 1, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_NONE);

	frpc_test_loop_v6(&to, 1, 7000);
	frpc_test_loop_v6(&l, 0, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_WILDCARD);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, true, &to), FRPC_LOOP_WILDCARD);
	frpc_test_loop_v6(&l, 1, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_EXACT);
	frpc_test_loop_v6(&l, 2, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_NONE);
	frpc_test_loop_v4(&l, 0, 7000);
	KUNIT_EXPECT_EQ(test, frpc_loop_match(&l, false, &to), FRPC_LOOP_NONE);
}

/* What the reading end's reader handed on. */
struct frpc_test_loop_rx {
	u32	frames;
	u32	bytes;
	u32	bad;		/* payload bytes not as written */
	u32	bufs;		/* frames that came in a buffer, no skb */
	bool	owned;		/* a frame was gathered over writes */
};

static u8 frpc_test_loop_frame(void *ctx, const struct fastrpc_frame_hdr *hdr,
			       struct sk_buff *skb, const u8 *buf, u32 off,
			       u32 len, bool owned)
{
	struct frpc_test_loop_rx *rx = ctx;
	u8 b;
	u32 i;

	rx->frames++;
	rx->bytes += len;
	if (buf)
		rx->bufs++;
	for (i = 0; i < len; i++) {
		if (buf)
			b = buf[off + i];
		else if (skb_copy_bits(skb, off + i, &b, 1))
			b = ~(u8)(i * 7);
		if (b != (u8)(i * 7))
			rx->bad++;
	}
	if (owned) {
		rx->owned = true;
		kfree_skb(skb);
	}
	return 0;
}

/* A PING-typed frame of @len payload bytes (pattern i * 7) at @buf. */
static u32 frpc_test_loop_put(u8 *buf, u32 len)
{
	u32 i;

	frpc_put_hdr(buf, FASTRPC_PROTO_V1, FASTRPC_FRAME_PING, 0, 0, len);
	for (i = 0; i < len; i++)
		buf[FASTRPC_FRAME_HDR_LEN + i] = (u8)(i * 7);
	return FASTRPC_FRAME_HDR_LEN + len;
}

/* Write @len bytes at @buf in @niov pieces (1 or 2). */
static int frpc_test_loop_sendv(struct frpc_conn *conn, u8 *buf, u32 len,
				int niov)
{
	u32 first = niov == 1 ? len : len / 2;
	struct kvec iov[2] = {
		{ .iov_base = buf, .iov_len = first },
		{ .iov_base = buf + first, .iov_len = len - first },
	};
	int ret;

	mutex_lock(&conn->tx_mutex);
	ret = frpc_tp_send(conn, iov, niov, len, 0, 0);
	mutex_unlock(&conn->tx_mutex);
	return ret;
}

static int frpc_test_loop_send(struct frpc_conn *conn, u8 *buf, u32 len)
{
	return frpc_test_loop_sendv(conn, buf, len, 2);
}

static void frpc_test_loop_frames(struct kunit *test)
{
	struct frpc_conn *a = frpc_test_conn(test, true);
	struct frpc_conn *b = frpc_test_conn(test, true);
	struct frpc_test_loop_rx rx = {};
	u32 len, big = 20000;
	struct frpc_loop *lp;
	u8 *buf;

	buf = kunit_kzalloc(test, 2 * FASTRPC_FRAME_HDR_LEN + big + 64,
			    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	lp = frpc_loop_alloc();
	KUNIT_ASSERT_NOT_NULL(test, lp);
	mutex_lock(&a->tx_mutex);
	frpc_loop_attach(a, lp, FRPC_LOOP_CLIENT);
	mutex_unlock(&a->tx_mutex);
	mutex_lock(&b->tx_mutex);
	frpc_loop_attach(b, lp, FRPC_LOOP_SERVER);
	b->rd.frame = frpc_test_loop_frame;
	b->rd.ctx = &rx;
	mutex_unlock(&b->tx_mutex);

	/* one frame; then two in one write: small, so no skb */
	len = frpc_test_loop_put(buf, 8);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_sendv(a, buf, len, 1), (int)len);
	KUNIT_EXPECT_EQ(test, rx.frames, 1U);
	len += frpc_test_loop_put(buf + len, 40);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf, len), (int)len);
	KUNIT_EXPECT_EQ(test, rx.frames, 3U);
	KUNIT_EXPECT_EQ(test, rx.bytes, 56U);
	KUNIT_EXPECT_EQ(test, rx.bufs, 3U);

	/*
	 * A frame split over two writes, as a partial TCP write leaves it:
	 * both halves take the skb path, the second because the reader is
	 * mid-frame.
	 */
	len = frpc_test_loop_put(buf, 100);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf, 30), 30);
	KUNIT_EXPECT_EQ(test, rx.frames, 3U);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf + 30, len - 30),
			(int)(len - 30));
	KUNIT_EXPECT_EQ(test, rx.frames, 4U);
	KUNIT_EXPECT_TRUE(test, rx.owned);
	KUNIT_EXPECT_EQ(test, rx.bufs, 3U);

	/* a whole frame and half of the next: the first goes with no skb */
	len = frpc_test_loop_put(buf, 20);
	len += frpc_test_loop_put(buf + len, 60);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_sendv(a, buf, len - 25, 1),
			(int)(len - 25));
	KUNIT_EXPECT_EQ(test, rx.frames, 5U);
	KUNIT_EXPECT_EQ(test, rx.bufs, 4U);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf + len - 25, 25), 25);
	KUNIT_EXPECT_EQ(test, rx.frames, 6U);
	KUNIT_EXPECT_EQ(test, rx.bufs, 4U);

	/* bigger than FRPC_RX_LINEAR_MAX: the skb is page fragments */
	len = frpc_test_loop_put(buf, big);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf, len), (int)len);
	KUNIT_EXPECT_EQ(test, rx.frames, 7U);
	KUNIT_EXPECT_EQ(test, rx.bytes, 56U + 100 + 80 + big);
	KUNIT_EXPECT_EQ(test, rx.bad, 0U);
	KUNIT_EXPECT_EQ(test, b->rd.frames, 7ULL);

	/* a detached end reads nothing more; the writer still succeeds */
	mutex_lock(&b->tx_mutex);
	frpc_tp_detach(b);
	mutex_unlock(&b->tx_mutex);
	len = frpc_test_loop_put(buf, 8);
	KUNIT_EXPECT_EQ(test, frpc_test_loop_send(a, buf, len), (int)len);
	KUNIT_EXPECT_EQ(test, rx.frames, 7U);

	/* both ends gone: the pair is freed (kmemleak would tell) */
	mutex_lock(&a->tx_mutex);
	frpc_tp_detach(a);
	frpc_tp_close(a, false);
	mutex_unlock(&a->tx_mutex);
	mutex_lock(&b->tx_mutex);
	frpc_tp_close(b, false);
	mutex_unlock(&b->tx_mutex);
	KUNIT_EXPECT_NULL(test, a->loop);
	KUNIT_EXPECT_NULL(test, b->loop);
}

static struct kunit_case frpc_loop_cases[] = {
	KUNIT_CASE(frpc_test_loop_match),
	KUNIT_CASE(frpc_test_loop_frames),
	{}
};

static struct kunit_suite frpc_loop_suite = {
	.name = "frpc_loop",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_loop_cases,
};
