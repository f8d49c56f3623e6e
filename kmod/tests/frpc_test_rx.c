// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the receive side of rx.c: what frpc_rx_frame() does with a
 * connection-level frame (HELLO, CREDIT, PING, SETTINGS, ERROR, GOAWAY)
 * in each connection state, and which ERROR code each fault gets.  Frames
 * are real skbs, as the reader hands them over.  Included by
 * af_fastrpc_kunit.c.
 */

/* Frames come in the short cut's buffers, not in skbs (frpc_test_rx_buf). */
static bool frpc_test_rx_from_buf;

/* Hand one frame's payload to frpc_rx_frame(); returns the ERROR code. */
static u8 frpc_test_rx_flags(struct kunit *test, struct frpc_conn *conn,
			     u8 type, u32 id, u16 flags, const void *payload,
			     u32 len)
{
	static const u8 none[1];
	struct frpc_rx rx = { .conn = conn, .id = id, .len = len,
			      .flags = flags, .owned = true };
	struct sk_buff *skb;
	u8 werr;

	if (frpc_test_rx_from_buf) {
		/* read-only: the receive side may not write to it */
		rx.buf = payload ? payload : none;
		rx.owned = false;
	} else {
		skb = alloc_skb(len + 1, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, skb);
		skb_put_data(skb, payload, len);
		rx.skb = skb;
	}
	frpc_reap_init(&rx.reap);
	spin_lock_bh(&conn->lock);
	werr = frpc_rx_frame(&rx, type);
	spin_unlock_bh(&conn->lock);
	if (rx.owned)
		kfree_skb(rx.skb);
	frpc_reap(&rx.reap);
	return werr;
}

static u8 frpc_test_rx(struct kunit *test, struct frpc_conn *conn, u8 type,
		       u32 id, const void *payload, u32 len)
{
	return frpc_test_rx_flags(test, conn, type, id, 0, payload, len);
}

static int frpc_test_rx_suite_init(struct kunit_suite *suite)
{
	/* CREDIT kicks the (socketless, so idle) transmit work */
	frpc_wq = alloc_workqueue("frpc_kunit", WQ_UNBOUND, 0);
	if (!frpc_wq)
		return -ENOMEM;
	return frpc_test_suite_init(suite);
}

static void frpc_test_rx_suite_exit(struct kunit_suite *suite)
{
	destroy_workqueue(frpc_wq);
	frpc_wq = NULL;
	frpc_test_suite_exit(suite);
}

static void frpc_test_unset_server(void *data)
{
	struct frpc_conn *conn = data;

	conn->server = NULL;
}

/*
 * A stand-in for the server socket of an accepted connection: zeroed, as
 * a new socket is, and taken off the connection before it is released.
 */
static struct frpc_sock *frpc_test_server(struct kunit *test,
					  struct frpc_conn *conn)
{
	struct frpc_sock *fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, fs);
	spin_lock_init(&fs->lock);
	hash_init(fs->shares);
	/* a share that never empties, so nothing frees it */
	conn->share = kunit_kzalloc(test, sizeof(*conn->share), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, conn->share);
	conn->share->nconns = 1;
	err = kunit_add_action_or_reset(test, frpc_test_unset_server, conn);
	KUNIT_ASSERT_EQ(test, err, 0);
	conn->server = fs;
	return fs;
}

/* A connection that has not yet seen the peer's HELLO. */
static struct frpc_conn *frpc_test_conn_hello(struct kunit *test, bool client)
{
	struct frpc_conn *conn = frpc_test_conn(test, client);

	if (!client)
		frpc_test_server(test, conn);
	conn->state = FRPC_CONN_HELLO;
	conn->version = 0;
	conn->tx_credit = 0;
	conn->rx_avail = 0;
	conn->peer_call_window = 0;
	return conn;
}

static void frpc_test_rx_hello_server(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn_hello(test, false);
	struct fastrpc_wire_hello h, answer;
	struct frpc_txbuf *buf;
	u8 version = 0;

	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX + 3);
	h.call_window = cpu_to_be32(FASTRPC_MIN_CALL_WINDOW);
	h.conn_window = cpu_to_be32(3 << 20);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_READY);
	KUNIT_EXPECT_EQ(test, conn->version, FASTRPC_PROTO_MAX);
	/* the peer's windows are what we may send; ours what it may */
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 3U << 20);
	KUNIT_EXPECT_EQ(test, conn->peer_call_window,
			(u32)FASTRPC_MIN_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, conn->rx_avail, (u32)FRPC_CONN_WINDOW);
	/* the answer names exactly the chosen version */
	buf = frpc_test_pop_ctrl(test, conn);
	memcpy(&answer, frpc_test_ctrl_frame(test, buf, FASTRPC_FRAME_HELLO,
					     0, 0, sizeof(answer)),
	       sizeof(answer));
	KUNIT_EXPECT_EQ(test, answer.min_version, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, answer.max_version, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, frpc_hello_check(&answer, true, &version),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

/*
 * A HELLO that reaches a server socket already shut down (SHUT_RD): the
 * answer is HELLO, then GOAWAY at once, so that the client takes its
 * calls elsewhere instead of having each refused.
 */
static void frpc_test_rx_hello_shut_down(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn_hello(test, false);
	struct fastrpc_wire_error ge;
	struct fastrpc_wire_hello h;
	struct frpc_txbuf *buf;

	conn->server->shut_rd = true;
	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_DRAINING);
	buf = frpc_test_pop_ctrl(test, conn);
	frpc_test_ctrl_frame(test, buf, FASTRPC_FRAME_HELLO, 0, 0, sizeof(h));
	buf = frpc_test_pop_ctrl(test, conn);
	memcpy(&ge, frpc_test_ctrl_frame(test, buf, FASTRPC_FRAME_GOAWAY, 0, 0,
					 sizeof(ge)), sizeof(ge));
	KUNIT_EXPECT_EQ(test, be32_to_cpu(ge.code), (u32)FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(ge.last_id), 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

static void frpc_test_rx_hello_client(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn_hello(test, true);
	struct fastrpc_wire_hello h;

	/* a server must pick one version */
	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_HELLO);
	KUNIT_EXPECT_EQ(test, conn->version, 0);

	frpc_hello_init(&h, FASTRPC_PROTO_MAX, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_READY);
	KUNIT_EXPECT_EQ(test, conn->version, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, (u32)FRPC_CONN_WINDOW);
	/* the client answers nothing */
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

static void frpc_test_rx_hello_bad(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn_hello(test, false);
	struct fastrpc_wire_hello h;
	u8 big[sizeof(h) + 1] = {};

	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	memcpy(big, &h, sizeof(h));
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h) - 1),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   big, sizeof(big)),
			FASTRPC_WERR_PROTOCOL);
	/* the HELLO checks' own codes come through */
	frpc_hello_init(&h, FASTRPC_PROTO_MAX + 1, FASTRPC_PROTO_MAX + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)),
			FASTRPC_WERR_VERSION);
	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	h.call_window = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)), FASTRPC_WERR_FLOW);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_HELLO);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));

	/* once READY, a second HELLO is a protocol error */
	frpc_hello_init(&h, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)), FASTRPC_WERR_NONE);
	frpc_test_pop_ctrl(test, conn);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_HELLO, 0,
					   &h, sizeof(h)),
			FASTRPC_WERR_PROTOCOL);
}

/* Before the HELLO exchange only HELLO (and the peer's ERROR) count. */
static void frpc_test_rx_before_hello(struct kunit *test)
{
	static const u8 types[] = {
		FASTRPC_FRAME_SETTINGS, FASTRPC_FRAME_CALL, FASTRPC_FRAME_DATA,
		FASTRPC_FRAME_END, FASTRPC_FRAME_CANCEL, FASTRPC_FRAME_CREDIT,
		FASTRPC_FRAME_PING, FASTRPC_FRAME_PONG, FASTRPC_FRAME_GOAWAY,
	};
	struct frpc_conn *conn = frpc_test_conn_hello(test, false);
	u8 payload[16] = {};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_rx(test, conn, types[i], 0,
						       payload, 8),
				    FASTRPC_WERR_PROTOCOL, "type %u", types[i]);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_ERROR, 0,
					   payload, 8), FRPC_WERR_PEER);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_HELLO);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

/* A dead connection ignores whatever is still in the pipe. */
static void frpc_test_rx_dead(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	u8 payload[8] = {};
	u8 type;

	conn->state = FRPC_CONN_DEAD;
	for (type = FASTRPC_FRAME_HELLO; type <= FASTRPC_FRAME_TYPE_MAX; type++)
		KUNIT_EXPECT_EQ_MSG(test, frpc_test_rx(test, conn, type, 1,
						       payload, 3),
				    FASTRPC_WERR_NONE, "type %u", type);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

static void frpc_test_rx_credit_conn(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct fastrpc_wire_credit c;

	conn->tx_credit = 1000;
	c.increment = cpu_to_be32(500);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, sizeof(c)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 1500U);
	c.increment = 0;
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, sizeof(c)), FASTRPC_WERR_FLOW);
	c.increment = cpu_to_be32(FRPC_WINDOW_MAX - 1499);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, sizeof(c)), FASTRPC_WERR_FLOW);
	c.increment = cpu_to_be32(U32_MAX);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, sizeof(c)), FASTRPC_WERR_FLOW);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 1500U);
	c.increment = cpu_to_be32(FRPC_WINDOW_MAX - 1500);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, sizeof(c)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, (u32)FRPC_WINDOW_MAX);
	/* the payload is exactly four bytes */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   &c, 3), FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 0,
					   "12345", 5), FASTRPC_WERR_PROTOCOL);
}

static void frpc_test_rx_credit_call(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 5, 0, true);
	struct fastrpc_wire_credit c = { .increment = cpu_to_be32(700) };
	struct frpc_test_frame fr;

	conn->next_id = 6;
	/* a call waiting for credit gets back on the ready list */
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 1000, 0, false);
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 5,
					   &c, sizeof(c)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, a->tx_credit, 700U);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 5, 0, 700);
	/* too much for the call's window */
	c.increment = cpu_to_be32((u32)FRPC_WINDOW_MAX + 1);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 5,
					   &c, sizeof(c)), FASTRPC_WERR_FLOW);
	/* credit for a call that already ended is late, not wrong ... */
	c.increment = cpu_to_be32(1);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 3,
					   &c, sizeof(c)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 6,
					   &c, sizeof(c)), FASTRPC_WERR_NONE);
	/* ... but one for a call never started is */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CREDIT, 7,
					   &c, sizeof(c)), FASTRPC_WERR_CALL_ID);
	flush_workqueue(frpc_wq);
}

static void frpc_test_rx_ping(struct kunit *test)
{
	static const u8 ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_txbuf *buf;

	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_PING, 0,
					   ping, sizeof(ping)),
			FASTRPC_WERR_NONE);
	/* the PONG echoes the PING's bytes */
	buf = frpc_test_pop_ctrl(test, conn);
	KUNIT_EXPECT_MEMEQ(test, frpc_test_ctrl_frame(test, buf,
						      FASTRPC_FRAME_PONG, 0, 0,
						      sizeof(ping)),
			   ping, sizeof(ping));
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_PING, 4,
					   ping, sizeof(ping)),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_PING, 0,
					   ping, 7), FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_PONG, 0,
					   ping, 9), FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

static void frpc_test_rx_misc(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct fastrpc_wire_error ge = {};

	/* SETTINGS is reserved: ignored on the connection, wrong on a call */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_SETTINGS,
					   0, "abc", 3), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_SETTINGS,
					   3, "abc", 3), FASTRPC_WERR_PROTOCOL);
	/* servers do not cancel, and ERROR closes without an answer */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CANCEL, 1,
					   NULL, 0), FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_ERROR, 0,
					   &ge, sizeof(ge)), FRPC_WERR_PEER);
	/* a CALL to a client is a protocol error */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_CALL, 1,
					   "0123456789abcdef", 16),
			FASTRPC_WERR_PROTOCOL);
	/* GOAWAY: connection frame of fixed size; the client drains */
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY, 1,
					   &ge, sizeof(ge)),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY, 0,
					   &ge, sizeof(ge) - 1),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_READY);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY, 0,
					   &ge, sizeof(ge)), FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_DRAINING);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
}

/*
 * An END refused after its data was taken (the connection is over its
 * memory cap): the call keeps its reserved final message, emptied, and
 * what the frame was charged goes back: memory, held bytes, window.
 */
static void frpc_test_rx_end_refused(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *call = frpc_test_call(test, conn, 1, 0, true);
	struct {
		struct fastrpc_wire_end we;
		u8 data[FRPC_RX_INLINE + 44];	/* kept in an skb, charged */
	} f = {};
	s64 held = frpc_test_count(rx_held_bytes);
	u32 avail = conn->rx_avail;
	int mem = atomic_read(&conn->rx_mem);
	s64 net_mem = atomic64_read(&frpc_test_net.rx_mem);

	frpc_conn_charge(conn, frpc_conn_rx_mem);
	KUNIT_EXPECT_EQ(test, frpc_test_rx_flags(test, conn, FASTRPC_FRAME_END,
						 1, FASTRPC_FF_EOM, &f,
						 sizeof(f)),
			FASTRPC_WERR_RESOURCE);
	frpc_conn_uncharge(conn, frpc_conn_rx_mem);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
	/* the reserved message was never charged: none of it comes off */
	KUNIT_EXPECT_EQ(test, atomic64_read(&frpc_test_net.rx_mem), net_mem);
	KUNIT_EXPECT_EQ(test, frpc_test_count(rx_held_bytes),
			held);
	KUNIT_EXPECT_EQ(test, conn->rx_avail + conn->rx_owed, avail);
	KUNIT_EXPECT_NULL(test, call->rx);
	KUNIT_ASSERT_NOT_NULL(test, call->fin);
	KUNIT_EXPECT_EQ(test, call->fin->len, 0U);
	KUNIT_EXPECT_NULL(test, call->fin->extra);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&call->fin->frags));
	KUNIT_EXPECT_EQ(test, call->fin->inl_len, 0U);
	KUNIT_EXPECT_FALSE(test, call->rx_eos);
}

/*
 * Which payloads are kept as a clone of the TCP skb: a whole small message
 * from a small skb (one allocation instead of two), a big frame that is a
 * good part of its skb; not the pieces of a longer message (they are
 * copied so that tiny ones coalesce), nor a small frame in a big skb.
 */
static void frpc_test_rx_clone_policy(struct kunit *test)
{
	struct frpc_rxmsg m = {};
	struct frpc_rx rx = {};
	struct sk_buff *small, *mid, *huge;

	small = alloc_skb(128, GFP_KERNEL);
	mid = alloc_skb(8192, GFP_KERNEL);
	huge = alloc_skb(65536, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, small);
	KUNIT_ASSERT_NOT_NULL(test, mid);
	KUNIT_ASSERT_NOT_NULL(test, huge);
	skb_put(small, 128);
	skb_put(mid, 8192);
	skb_put(huge, 65536);
	KUNIT_ASSERT_LE(test, small->truesize, (u32)FRPC_RX_CLONE_TRUESIZE);

	rx.skb = small;
	rx.len = 64;
	rx.flags = FASTRPC_FF_EOM;
	KUNIT_EXPECT_TRUE(test, frpc_rx_clone_ok(&rx, &m));
	rx.flags = 0;		/* the first piece of a longer message */
	KUNIT_EXPECT_FALSE(test, frpc_rx_clone_ok(&rx, &m));
	rx.flags = FASTRPC_FF_EOM;
	m.len = 10;		/* the last piece of one */
	KUNIT_EXPECT_FALSE(test, frpc_rx_clone_ok(&rx, &m));
	m.len = 0;

	rx.skb = mid;		/* a small message would pin 8 KiB */
	KUNIT_EXPECT_FALSE(test, frpc_rx_clone_ok(&rx, &m));
	rx.len = 4096;		/* half of the skb */
	rx.flags = 0;
	KUNIT_EXPECT_TRUE(test, frpc_rx_clone_ok(&rx, &m));
	rx.skb = huge;		/* 1/32 of it */
	KUNIT_EXPECT_FALSE(test, frpc_rx_clone_ok(&rx, &m));
	rx.len = 60000;		/* most of it */
	KUNIT_EXPECT_TRUE(test, frpc_rx_clone_ok(&rx, &m));

	kfree_skb(small);
	kfree_skb(mid);
	kfree_skb(huge);
}

/*
 * A small message's bytes are copied into the message itself: no skb is
 * kept or cloned.  Once they no longer fit, the rest goes into skbs after
 * them, and reading gives the bytes back in order.
 */
static void frpc_test_rx_inline(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	u32 first = FRPC_RX_INLINE - 56, total = FRPC_RX_INLINE + 200;
	struct frpc_rx rx = { .conn = conn, .owned = false };
	struct msghdr msg = {};
	struct frpc_rxmsg *m;
	struct sk_buff *skb;
	struct kvec kv;
	u8 *in, *out;
	u32 i;

	in = kunit_kmalloc(test, total, GFP_KERNEL);
	out = kunit_kzalloc(test, total, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_ASSERT_NOT_NULL(test, out);
	for (i = 0; i < total; i++)
		in[i] = (u8)(i * 7 + 3);
	skb = alloc_skb(total, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, skb);
	skb_put_data(skb, in, total);
	m = frpc_rxmsg_alloc(conn, GFP_KERNEL, true);
	KUNIT_ASSERT_NOT_NULL(test, m);

	rx.skb = skb;
	rx.len = first;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	KUNIT_EXPECT_EQ(test, m->inl_len, first);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&m->frags));
	KUNIT_EXPECT_FALSE(test, skb_cloned(skb));
	rx.off = first;		/* does not fit behind the first piece */
	rx.len = total - first;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	KUNIT_EXPECT_EQ(test, m->inl_len, first);
	KUNIT_EXPECT_FALSE(test, skb_queue_empty(&m->frags));
	KUNIT_EXPECT_EQ(test, m->len, total);

	kv.iov_base = out;
	kv.iov_len = total;
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, total);
	KUNIT_EXPECT_EQ(test, frpc_rxmsg_copy_out(m, &msg, total), (int)total);
	KUNIT_EXPECT_EQ(test, memcmp(in, out, total), 0);

	frpc_rxmsg_free(m);
	kfree_skb(skb);
}

/*
 * A message's bytes from a writer's buffer (the short cut) are copied
 * wherever they are kept: into the message, onto its last skb, into an
 * skb of their own (paged when big); none refers to the buffer, which is
 * gone once the frame has been handled.
 */
static void frpc_test_rx_keep_buf(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	u32 big = FRPC_RX_LINEAR_MAX + 500, total, i;
	struct frpc_rx rx = { .conn = conn };
	struct msghdr msg = {};
	struct frpc_rxmsg *m;
	struct sk_buff *tail;
	struct kvec kv;
	bool room;
	u8 *in, *out;

	total = 100 + FRPC_RX_INLINE + 10 + big;
	in = kunit_kmalloc(test, total, GFP_KERNEL);
	out = kunit_kzalloc(test, total, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_ASSERT_NOT_NULL(test, out);
	for (i = 0; i < total; i++)
		in[i] = (u8)(i * 7 + 3);
	m = frpc_rxmsg_alloc(conn, GFP_KERNEL, true);
	KUNIT_ASSERT_NOT_NULL(test, m);
	rx.buf = in;

	rx.len = 100;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	KUNIT_EXPECT_EQ(test, m->inl_len, 100U);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&m->frags));
	/* too much for what is left inline: a linear copy of its own */
	rx.off = 100;
	rx.len = FRPC_RX_INLINE;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	KUNIT_ASSERT_EQ(test, skb_queue_len(&m->frags), 1U);
	tail = skb_peek_tail(&m->frags);
	KUNIT_EXPECT_FALSE(test, skb_is_nonlinear(tail));
	KUNIT_EXPECT_EQ(test, frpc_skb_cb(tail)->off, 0U);
	/* a tiny piece goes on behind it, if it has room */
	room = skb_tailroom(tail) >= 10;
	rx.off += rx.len;
	rx.len = 10;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&m->frags), room ? 1U : 2U);
	/* bigger than FRPC_RX_LINEAR_MAX: page frags */
	rx.off += rx.len;
	rx.len = big;
	KUNIT_EXPECT_EQ(test, frpc_rx_keep(&rx, m), 0);
	tail = skb_peek_tail(&m->frags);
	KUNIT_EXPECT_TRUE(test, skb_is_nonlinear(tail));
	KUNIT_EXPECT_EQ(test, m->len, total);

	kv.iov_base = out;
	kv.iov_len = total;
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, total);
	KUNIT_EXPECT_EQ(test, frpc_rxmsg_copy_out(m, &msg, total), (int)total);
	KUNIT_EXPECT_EQ(test, memcmp(in, out, total), 0);
	frpc_rxmsg_free(m);
}

static void frpc_test_rx_skbs_again(void *data)
{
	frpc_test_rx_from_buf = false;
}

/*
 * Frames in a writer's buffer, as the short cut hands over small ones,
 * are read as the same frames in an skb: the cases above again.
 */
static void frpc_test_rx_buf(struct kunit *test)
{
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							frpc_test_rx_skbs_again,
							NULL), 0);
	frpc_test_rx_from_buf = true;
	frpc_test_rx_hello_server(test);
	frpc_test_rx_hello_bad(test);
	frpc_test_rx_credit_conn(test);
	frpc_test_rx_credit_call(test);
	frpc_test_rx_ping(test);
	frpc_test_rx_misc(test);
	frpc_test_rx_end_refused(test);
}

static void frpc_test_data_ready(struct sock *sk)
{
}

/* The server stand-in of frpc_test_server(), able to queue and admit. */
static struct frpc_sock *frpc_test_server_rxq(struct kunit *test,
					      struct frpc_conn *conn)
{
	struct frpc_sock *fs = frpc_test_server(test, conn);

	fs->role = FRPC_ROLE_SERVER;
	fs->max_calls = 16;
	INIT_LIST_HEAD(&fs->rxq);
	INIT_LIST_HEAD(&fs->owed);
	hash_init(fs->pending);
	fs->sk.sk_data_ready = frpc_test_data_ready;
	return fs;
}

/* A unary CALL of @len request bytes from the client; its server call. */
static struct frpc_call *frpc_test_rx_unary(struct kunit *test,
					    struct frpc_conn *conn,
					    struct frpc_sock *fs, u32 id,
					    u32 len)
{
	struct fastrpc_wire_call *wc;
	struct frpc_call *call;
	u8 *p;

	p = kunit_kzalloc(test, sizeof(*wc) + len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	wc = (void *)p;
	wc->method = cpu_to_be32(7);
	wc->timeout_ns = cpu_to_be64(60 * NSEC_PER_SEC);
	memset(p + sizeof(*wc), 0x5a, len);
	KUNIT_ASSERT_EQ(test, frpc_test_rx_flags(test, conn, FASTRPC_FRAME_CALL,
						 id, FASTRPC_FF_EOM |
						 FASTRPC_FF_EOS, p,
						 sizeof(*wc) + len),
			FASTRPC_WERR_NONE);
	spin_lock_bh(&fs->lock);
	call = frpc_sock_find(fs, fs->next_handle);
	spin_unlock_bh(&fs->lock);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_EQ(test, call->id, id);
	/* no reserved message until the application has read the request */
	KUNIT_EXPECT_NULL(test, call->fin);
	return call;
}

/* recvmsg() on @fs, into @data; returns its result, *@in the cmsg. */
static int frpc_test_recvmsg(struct frpc_sock *fs, void *data, u32 len,
			     struct fastrpc_incoming *in, int *msg_flags)
{
	u8 cbuf[CMSG_SPACE(sizeof(*in))] __aligned(8) = {};
	struct socket sock = { .sk = &fs->sk };
	struct msghdr msg = {
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	struct kvec kv = { .iov_base = data, .iov_len = len };
	int ret;

	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, len);
	ret = frpc_recvmsg(&sock, &msg, len, MSG_DONTWAIT);
	memcpy(in, CMSG_DATA((struct cmsghdr *)cbuf), sizeof(*in));
	*msg_flags = msg.msg_flags;
	return ret;
}

/* Take the first queued message off @fs as recvmsg() does, marking seen. */
static struct frpc_rxmsg *frpc_test_dequeue(struct frpc_sock *fs)
{
	struct frpc_rxmsg *m;
	struct frpc_call *call;

	spin_lock_bh(&fs->lock);
	m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
	if (m) {
		__frpc_sock_unqueue(fs, m);
		call = frpc_sock_find(fs, m->id);
		if (call)
			call->seen = true;
	}
	spin_unlock_bh(&fs->lock);
	return m;
}

/* The end of a cancelled call: the application's reply frees it. */
static void frpc_test_server_call_gone(struct frpc_sock *fs,
				       struct frpc_call *call)
{
	spin_lock_bh(&fs->lock);
	__frpc_call_leave_sock(call);
	spin_unlock_bh(&fs->lock);
	frpc_call_free(call);
}

static void frpc_test_rx_cancel(struct frpc_conn *conn, struct frpc_call *call)
{
	struct frpc_reap r;

	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	frpc_call_cancel_server(call, FASTRPC_CANCELLED, &r);
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
}

/*
 * A server call has no reserved message of its own: the request, once
 * the application read it, is kept (emptied, charged as a message and no
 * more) to tell of a cancel; reading that notice frees it.
 */
static void frpc_test_rx_request_kept(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_sock *fs = frpc_test_server_rxq(test, conn);
	int mem = atomic_read(&conn->rx_mem), flags;
	struct fastrpc_incoming in;
	struct frpc_call *call;
	u8 buf[400];

	/* bigger than FRPC_RX_INLINE: the request holds an skb too */
	call = frpc_test_rx_unary(test, conn, fs, 1, 300);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, buf, sizeof(buf), &in,
						&flags), 300);
	KUNIT_EXPECT_EQ(test, in.handle, call->key);
	KUNIT_EXPECT_EQ(test, in.flags, 0U);
	KUNIT_EXPECT_TRUE(test, call->seen);
	KUNIT_ASSERT_NOT_NULL(test, call->fin);
	KUNIT_EXPECT_EQ(test, call->fin->len, 0U);
	KUNIT_EXPECT_EQ(test, call->fin->inl_len, 0U);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&call->fin->frags));
	KUNIT_EXPECT_EQ(test, call->fin->timeout_ns, 0ULL);
	KUNIT_EXPECT_FALSE(test, call->fin->eor);
	KUNIT_EXPECT_TRUE(test, list_empty(&fs->rxq));
	/* what the call holds now: itself and one empty message */
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem),
			mem + (int)sizeof(struct frpc_call) +
			(int)sizeof(struct frpc_rxmsg));

	/* cancelled: the kept message is the notice */
	frpc_test_rx_cancel(conn, call);
	KUNIT_EXPECT_EQ(test, call->state, FRPC_CALL_CANCELLED);
	KUNIT_EXPECT_NULL(test, call->fin);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, buf, sizeof(buf), &in,
						&flags), 0);
	KUNIT_EXPECT_EQ(test, in.handle, call->key);
	KUNIT_EXPECT_EQ(test, in.method, 7U);
	KUNIT_EXPECT_EQ(test, in.flags, FASTRPC_IN_CANCELLED);
	KUNIT_EXPECT_EQ(test, in.timeout_ns, 0ULL);
	KUNIT_EXPECT_TRUE(test, flags & MSG_EOR);
	/* a notice read is not kept again */
	KUNIT_EXPECT_NULL(test, call->fin);
	frpc_test_server_call_gone(fs, call);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
}

/*
 * The bytes of a message in progress that came while the socket was full
 * hold connection window as well as the call's; the read that makes room
 * gives both back.  Were the connection's held until the message is read,
 * a message that needs that window to become whole would never be (a
 * 64 MiB stream and small calls on one connection stalled so).
 */
static void frpc_test_rx_grant_in_progress(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_sock *fs = frpc_test_server_rxq(test, conn);
	struct fastrpc_wire_call *wc;
	struct fastrpc_incoming in;
	struct frpc_call *a, *b;
	u32 owed, avail;
	int flags;
	u8 *p;

	p = kunit_kzalloc(test, 2000, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	fs->sk.sk_rcvbuf = 1000;
	/* credited as it came (nothing to read yet), then the socket is full */
	a = frpc_test_rx_unary(test, conn, fs, 1, 2000);
	KUNIT_EXPECT_EQ(test, fs->rx_bytes, 2000U);
	/* the first 600 bytes of a streaming call's message: withheld */
	wc = (void *)p;
	wc->method = cpu_to_be32(7);
	KUNIT_ASSERT_EQ(test, frpc_test_rx_flags(test, conn, FASTRPC_FRAME_CALL,
						 2, 0, p, sizeof(*wc) + 600),
			FASTRPC_WERR_NONE);
	spin_lock_bh(&conn->lock);
	b = frpc_call_find(conn, 2);
	spin_unlock_bh(&conn->lock);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, b->rx);
	KUNIT_EXPECT_EQ(test, b->rx_withheld, 600U);
	KUNIT_EXPECT_EQ(test, b->rx->conn_credited, 0U);
	KUNIT_EXPECT_FALSE(test, list_empty(&fs->owed));
	owed = conn->rx_owed;
	avail = conn->rx_avail;

	/* reading the request makes room: the call's and the window's */
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, p, 2000, &in, &flags),
			2000);
	/* (an owed call left behind would oops the cancel below) */
	KUNIT_ASSERT_TRUE(test, list_empty(&fs->owed));
	KUNIT_EXPECT_EQ(test, b->rx_withheld, 0U);
	KUNIT_EXPECT_EQ(test, b->rx_owed, 600U);
	KUNIT_EXPECT_EQ(test, b->rx->conn_credited, 600U);
	KUNIT_EXPECT_EQ(test, conn->rx_owed + conn->rx_avail,
			owed + avail + 600);
	/* and only once: the rest goes back when the message is dropped */
	frpc_test_rx_cancel(conn, b);
	KUNIT_EXPECT_EQ(test, conn->rx_owed + conn->rx_avail,
			owed + avail + 600);

	frpc_test_rx_cancel(conn, a);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags), 0);
	KUNIT_EXPECT_EQ(test, in.flags, FASTRPC_IN_CANCELLED);
	frpc_test_server_call_gone(fs, a);
	KUNIT_EXPECT_EQ(test, fs->rx_bytes, 0U);
}

/*
 * A cancel while the application reads the request (seen, no reserved
 * message yet) is owed: the request becomes the notice once read, queued
 * behind it.  A request whose call was answered meanwhile is not kept.
 */
static void frpc_test_rx_cancel_while_read(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_sock *fs = frpc_test_server_rxq(test, conn);
	int mem = atomic_read(&conn->rx_mem), flags;
	struct fastrpc_incoming in;
	struct frpc_rxmsg *m, *n;
	struct frpc_call *call;

	call = frpc_test_rx_unary(test, conn, fs, 1, 20);
	m = frpc_test_dequeue(fs);
	KUNIT_ASSERT_NOT_NULL(test, m);
	frpc_test_rx_cancel(conn, call);
	KUNIT_EXPECT_EQ(test, call->state, FRPC_CALL_CANCELLED);
	KUNIT_EXPECT_TRUE(test, call->cancel_owed);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 1U);
	KUNIT_EXPECT_TRUE(test, list_empty(&fs->rxq));
	/* what recvmsg() does once it copied the request out */
	spin_lock_bh(&conn->lock);
	frpc_rxmsg_consumed(m);
	n = frpc_call_keep_request(fs, m);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_NULL(test, n);
	KUNIT_EXPECT_FALSE(test, call->cancel_owed);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 0U);
	KUNIT_EXPECT_NULL(test, call->fin);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags), 0);
	KUNIT_EXPECT_EQ(test, in.handle, call->key);
	KUNIT_EXPECT_EQ(test, in.flags, FASTRPC_IN_CANCELLED);
	KUNIT_EXPECT_TRUE(test, flags & MSG_EOR);
	frpc_test_server_call_gone(fs, call);

	/* answered (gone from the socket) while read: freed, not kept */
	call = frpc_test_rx_unary(test, conn, fs, 2, 20);
	m = frpc_test_dequeue(fs);
	KUNIT_ASSERT_NOT_NULL(test, m);
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	__frpc_call_leave_sock(call);
	spin_unlock(&fs->lock);
	call->state = FRPC_CALL_DONE;
	frpc_call_unlink(call);
	frpc_rxmsg_consumed(m);
	KUNIT_EXPECT_PTR_EQ(test, frpc_call_keep_request(fs, m), m);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_NULL(test, call->fin);
	frpc_rxmsg_free(m);
	frpc_call_free(call);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
}

/*
 * An owed notice holds the end of file of a socket shut down meanwhile
 * back (fs->ncancel_owed): none while the request is read, the notice once it
 * is, then the end.  A reply while the request is read settles it too,
 * and says so (__frpc_call_leave_sock()), for the end to be woken.
 */
static void frpc_test_rx_owed_eof(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_sock *fs = frpc_test_server_rxq(test, conn);
	int mem = atomic_read(&conn->rx_mem), flags;
	struct fastrpc_incoming in;
	struct frpc_rxmsg *m, *n;
	struct frpc_call *call;
	bool eof;

	/* no connection is live here (nlive 0): only the debt counts */
	call = frpc_test_rx_unary(test, conn, fs, 1, 20);
	fs->shut_rd = true;		/* shutdown() after the call came */
	m = frpc_test_dequeue(fs);
	KUNIT_ASSERT_NOT_NULL(test, m);
	KUNIT_EXPECT_TRUE(test, frpc_server_drained(fs));
	frpc_test_rx_cancel(conn, call);
	KUNIT_EXPECT_TRUE(test, call->cancel_owed);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 1U);
	KUNIT_EXPECT_FALSE(test, frpc_server_drained(fs));
	/* no end of file while the notice is owed */
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags),
			-EAGAIN);
	spin_lock_bh(&conn->lock);
	frpc_rxmsg_consumed(m);
	n = frpc_call_keep_request(fs, m);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_NULL(test, n);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 0U);
	KUNIT_EXPECT_TRUE(test, frpc_server_drained(fs));
	/* the notice first, then the end (no control message) */
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags), 0);
	KUNIT_EXPECT_EQ(test, in.handle, call->key);
	KUNIT_EXPECT_EQ(test, in.flags, FASTRPC_IN_CANCELLED);
	KUNIT_EXPECT_TRUE(test, flags & MSG_EOR);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags), 0);
	KUNIT_EXPECT_EQ(test, in.handle, 0ULL);
	KUNIT_EXPECT_FALSE(test, flags & MSG_EOR);
	frpc_test_server_call_gone(fs, call);

	/* answered while read: the debt goes with the call */
	fs->shut_rd = false;
	call = frpc_test_rx_unary(test, conn, fs, 2, 20);
	fs->shut_rd = true;
	m = frpc_test_dequeue(fs);
	KUNIT_ASSERT_NOT_NULL(test, m);
	frpc_test_rx_cancel(conn, call);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 1U);
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	eof = __frpc_call_leave_sock(call);
	spin_unlock(&fs->lock);
	KUNIT_EXPECT_TRUE(test, eof);
	KUNIT_EXPECT_FALSE(test, call->cancel_owed);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 0U);
	frpc_rxmsg_consumed(m);
	KUNIT_EXPECT_PTR_EQ(test, frpc_call_keep_request(fs, m), m);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 0U);
	frpc_rxmsg_free(m);
	frpc_call_free(call);
	KUNIT_EXPECT_EQ(test, frpc_test_recvmsg(fs, NULL, 0, &in, &flags), 0);
	KUNIT_EXPECT_EQ(test, in.handle, 0ULL);

	/* not shut down: settled all the same, nothing to wake */
	fs->shut_rd = false;
	call = frpc_test_rx_unary(test, conn, fs, 3, 20);
	m = frpc_test_dequeue(fs);
	KUNIT_ASSERT_NOT_NULL(test, m);
	frpc_test_rx_cancel(conn, call);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 1U);
	spin_lock_bh(&fs->lock);
	eof = __frpc_call_leave_sock(call);
	spin_unlock_bh(&fs->lock);
	KUNIT_EXPECT_FALSE(test, eof);
	KUNIT_EXPECT_EQ(test, fs->ncancel_owed, 0U);
	spin_lock_bh(&conn->lock);
	frpc_rxmsg_consumed(m);
	KUNIT_EXPECT_PTR_EQ(test, frpc_call_keep_request(fs, m), m);
	spin_unlock_bh(&conn->lock);
	frpc_rxmsg_free(m);
	frpc_call_free(call);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
}

#define FRPC_TEST_TAG	42

/* -1, or whether the tag was still taken when the reader was woken. */
static int frpc_test_tag_taken = -1;

/* A reader woken by a client's result: could it send on the same tag? */
static void frpc_test_tag_ready(struct sock *sk)
{
	struct frpc_sock *fs = container_of(sk, struct frpc_sock, sk);

	spin_lock_bh(&fs->lock);
	frpc_test_tag_taken = !!frpc_sock_find(fs, FRPC_TEST_TAG);
	spin_unlock_bh(&fs->lock);
}

/* A stand-in for a client socket: zeroed, with its tag table and queue. */
static struct frpc_sock *frpc_test_client_sock(struct kunit *test)
{
	struct frpc_sock *fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, fs);
	spin_lock_init(&fs->lock);
	fs->role = FRPC_ROLE_CLIENT;
	INIT_LIST_HEAD(&fs->rxq);
	INIT_LIST_HEAD(&fs->owed);
	hash_init(fs->tags);
	fs->sk.sk_data_ready = frpc_test_tag_ready;
	return fs;
}

/*
 * Client call @id of @fs on @conn, as sendmsg() starts one; the code
 * frees it when it ends (frpc_test_client_end() those left).
 */
static struct frpc_call *frpc_test_client_call(struct kunit *test,
					       struct frpc_conn *conn,
					       struct frpc_sock *fs, u32 id,
					       u64 tag)
{
	struct frpc_call *call = frpc_call_alloc(conn, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, call);
	call->id = id;
	call->key = tag;
	call->fs = fs;
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	hash_add(fs->tags, &call->sock_node, tag);
	call->in_sock = true;
	fs->ncalls++;
	spin_unlock(&fs->lock);
	frpc_call_link(conn, call);
	conn->next_id = max(conn->next_id, id);
	spin_unlock_bh(&conn->lock);
	return call;
}

/* Read and free @fs's queued results; how many there were. */
static unsigned int frpc_test_client_drain(struct frpc_sock *fs)
{
	struct frpc_rxmsg *m;
	unsigned int n = 0;

	while ((m = frpc_test_dequeue(fs))) {
		spin_lock_bh(&m->conn->lock);
		frpc_rxmsg_consumed(m);
		spin_unlock_bh(&m->conn->lock);
		frpc_rxmsg_free(m);
		n++;
	}
	return n;
}

/* End the calls left on @conn, then drop their results. */
static void frpc_test_client_end(struct frpc_conn *conn, struct frpc_sock *fs)
{
	struct frpc_call *call;
	struct hlist_node *n;
	struct frpc_reap r;
	int bkt;

	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	for (bkt = 0; bkt < FRPC_CALL_BUCKETS; bkt++)
		hlist_for_each_entry_safe(call, n, &conn->calls[bkt], conn_node)
			frpc_call_finish(call, FASTRPC_UNAVAILABLE, &r);
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
	frpc_test_client_drain(fs);
}

/*
 * A client call's result is queued only once its tag is free: by the
 * peer's END, and by a GOAWAY that ends it (frpc_call_finish()).  The
 * reader may reuse the tag at once, on another connection.
 */
static void frpc_test_rx_result_frees_tag(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct fastrpc_wire_end we = { .status = cpu_to_be32(FASTRPC_OK) };
	struct frpc_sock *fs = frpc_test_client_sock(test);
	struct frpc_call *call;
	struct frpc_rxmsg *m;
	struct frpc_reap r;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		call = frpc_test_client_call(test, conn, fs, i + 1,
					     FRPC_TEST_TAG);
		frpc_test_tag_taken = -1;
		if (!i) {
			KUNIT_EXPECT_EQ(test,
					frpc_test_rx_flags(test, conn,
							   FASTRPC_FRAME_END,
							   call->id,
							   FASTRPC_FF_EOM, &we,
							   sizeof(we)),
					FASTRPC_WERR_NONE);
		} else {
			frpc_reap_init(&r);
			spin_lock_bh(&conn->lock);
			frpc_call_finish(call, FASTRPC_UNAVAILABLE, &r);
			spin_unlock_bh(&conn->lock);
			frpc_reap(&r);
		}
		KUNIT_EXPECT_EQ(test, frpc_test_tag_taken, 0);
		m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
		KUNIT_ASSERT_NOT_NULL(test, m);
		KUNIT_EXPECT_EQ(test, m->id, (u64)FRPC_TEST_TAG);
		KUNIT_EXPECT_EQ(test, m->status,
				i ? (u32)FASTRPC_UNAVAILABLE : (u32)FASTRPC_OK);
		KUNIT_EXPECT_EQ(test, frpc_test_client_drain(fs), 1U);
	}
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
}

/*
 * GOAWAYs from a server: one ends the calls above its last_id; repeats
 * that lower nothing change nothing; the fifth that lowers it fails the
 * connection, so that a server cannot make each frame walk the table.
 */
static void frpc_test_rx_goaway_repeated(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_sock *fs = frpc_test_client_sock(test);
	struct fastrpc_wire_error ge = {};
	unsigned int i;

	for (i = 1; i <= 10; i++)
		frpc_test_client_call(test, conn, fs, i, 100 + i);
	/* nothing above 10: the connection drains, no call ends */
	ge.last_id = cpu_to_be32(10);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY,
					   0, &ge, sizeof(ge)),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->state, FRPC_CONN_DRAINING);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 10U);
	ge.last_id = cpu_to_be32(8);
	for (i = 0; i < 100; i++)
		KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn,
						   FASTRPC_FRAME_GOAWAY, 0,
						   &ge, sizeof(ge)),
				FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 8U);
	KUNIT_EXPECT_EQ(test, conn->goaway_cuts, 1U);
	KUNIT_EXPECT_EQ(test, frpc_test_client_drain(fs), 2U);
	/* higher again: nothing */
	ge.last_id = cpu_to_be32(9);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY,
					   0, &ge, sizeof(ge)),
			FASTRPC_WERR_NONE);
	KUNIT_EXPECT_EQ(test, conn->goaway_cuts, 1U);
	/* lower, one id at a time: three more are taken */
	for (i = 7; i >= 5; i--) {
		ge.last_id = cpu_to_be32(i);
		KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn,
						   FASTRPC_FRAME_GOAWAY, 0,
						   &ge, sizeof(ge)),
				FASTRPC_WERR_NONE);
		KUNIT_EXPECT_EQ(test, conn->ncalls, i);
	}
	KUNIT_EXPECT_EQ(test, frpc_test_client_drain(fs), 3U);
	ge.last_id = cpu_to_be32(4);
	KUNIT_EXPECT_EQ(test, frpc_test_rx(test, conn, FASTRPC_FRAME_GOAWAY,
					   0, &ge, sizeof(ge)),
			FASTRPC_WERR_PROTOCOL);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 5U);
	frpc_test_client_end(conn, fs);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
}

static struct kunit_case frpc_rx_cases[] = {
	KUNIT_CASE(frpc_test_rx_hello_server),
	KUNIT_CASE(frpc_test_rx_hello_shut_down),
	KUNIT_CASE(frpc_test_rx_end_refused),
	KUNIT_CASE(frpc_test_rx_hello_client),
	KUNIT_CASE(frpc_test_rx_hello_bad),
	KUNIT_CASE(frpc_test_rx_before_hello),
	KUNIT_CASE(frpc_test_rx_dead),
	KUNIT_CASE(frpc_test_rx_credit_conn),
	KUNIT_CASE(frpc_test_rx_credit_call),
	KUNIT_CASE(frpc_test_rx_ping),
	KUNIT_CASE(frpc_test_rx_misc),
	KUNIT_CASE(frpc_test_rx_clone_policy),
	KUNIT_CASE(frpc_test_rx_inline),
	KUNIT_CASE(frpc_test_rx_keep_buf),
	KUNIT_CASE(frpc_test_rx_buf),
	KUNIT_CASE(frpc_test_rx_request_kept),
	KUNIT_CASE(frpc_test_rx_grant_in_progress),
	KUNIT_CASE(frpc_test_rx_cancel_while_read),
	KUNIT_CASE(frpc_test_rx_owed_eof),
	KUNIT_CASE(frpc_test_rx_result_frees_tag),
	KUNIT_CASE(frpc_test_rx_goaway_repeated),
	{}
};

static struct kunit_suite frpc_rx_suite = {
	.name = "frpc_rx",
	.suite_init = frpc_test_rx_suite_init,
	.suite_exit = frpc_test_rx_suite_exit,
	.test_cases = frpc_rx_cases,
};
