// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for what ring.c checks of what user space writes: the setup
 * sizes, the indices it reads from the shared pages, each submission
 * entry, and the receive buffers it lends and takes back.  Included by
 * af_fastrpc_kunit.c.
 */

static const struct fastrpc_ring_setup frpc_test_setup_ok = {
	.sq_entries = 64, .cq_entries = 128, .buf_size = 4096,
	.buf_count = 32, .rx_bufs = 16,
};

static void frpc_test_ring_setup(struct kunit *test)
{
	struct fastrpc_ring_setup s;

	KUNIT_EXPECT_EQ(test, frpc_ring_check_setup(&frpc_test_setup_ok), 0);
#define FRPC_BAD(field, val) do {					\
		s = frpc_test_setup_ok;					\
		s.field = (val);					\
		KUNIT_EXPECT_EQ_MSG(test, frpc_ring_check_setup(&s),	\
				    -EINVAL, #field " = " #val);	\
	} while (0)
	FRPC_BAD(sq_entries, 0);
	FRPC_BAD(sq_entries, 48);
	FRPC_BAD(sq_entries, FASTRPC_RING_MAX_ENTRIES * 2);
	FRPC_BAD(cq_entries, 0);
	FRPC_BAD(cq_entries, 3);
	FRPC_BAD(buf_size, FASTRPC_RING_MIN_BUF / 2);
	FRPC_BAD(buf_size, FASTRPC_RING_MAX_BUF * 2);
	FRPC_BAD(buf_size, 1000);
	FRPC_BAD(buf_count, 0);
	FRPC_BAD(buf_count, FASTRPC_RING_MAX_AREA / 4096 + 1);
	/* a product that wraps 32 bits is still too large */
	FRPC_BAD(buf_count, 1U << 20);
	FRPC_BAD(rx_bufs, 0);
	FRPC_BAD(rx_bufs, 33);
	FRPC_BAD(flags, 1);
	FRPC_BAD(reserved, 1);
#undef FRPC_BAD
	s = frpc_test_setup_ok;
	s.buf_count = FASTRPC_RING_MAX_AREA / 4096;
	KUNIT_EXPECT_EQ(test, frpc_ring_check_setup(&s), 0);
}

static void frpc_test_ring_indices(struct kunit *test)
{
	/* ordinary, and across the 2^32 wrap */
	KUNIT_EXPECT_EQ(test, frpc_ring_sq_avail(5, 2, 8), 3U);
	KUNIT_EXPECT_EQ(test, frpc_ring_sq_avail(2, 0xfffffffeU, 8), 4U);
	/* a producer run ahead, or behind the kernel: one ring at most */
	KUNIT_EXPECT_EQ(test, frpc_ring_sq_avail(1000, 0, 8), 8U);
	KUNIT_EXPECT_EQ(test, frpc_ring_sq_avail(0, 1, 8), 8U);
	KUNIT_EXPECT_EQ(test, frpc_ring_sq_avail(7, 7, 8), 0U);

	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(10, 10, 8), 8U);
	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(10, 4, 8), 2U);
	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(12, 4, 8), 0U);
	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(3, 0xfffffffeU, 8), 3U);
	/* a consumer ahead of the producer, or too far behind: no room */
	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(10, 11, 8), 0U);
	KUNIT_EXPECT_EQ(test, frpc_ring_cq_room(100, 0, 8), 0U);
}

static const struct frpc_ring_geom frpc_test_geom = {
	.area_len = 32 * 4096, .buf_shift = 12, .rx_bufs = 16,
};

static void frpc_test_ring_sqe(struct kunit *test)
{
	const struct frpc_ring_geom *g = &frpc_test_geom;
	struct frpc_ring_sqe call = {
		.op = FASTRPC_OP_CALL, .id = 7, .method = 3,
		.addr = 16 * 4096, .len = 100, .meta_len = 8,
	};
	struct frpc_ring_sqe e;

	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &call, false), 0);
	/* a CALL is a client's, a REPLY a server's */
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &call, true), -EINVAL);
	e = call;
	e.op = FASTRPC_OP_REPLY;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), 0);

#define FRPC_SQE(field, val, err, server) do {				\
		e = call;						\
		e.field = (val);					\
		KUNIT_EXPECT_EQ_MSG(test, frpc_ring_sqe_check(g, &e, server), \
				    err, #field " = " #val);		\
	} while (0)
	FRPC_SQE(op, 0, -EINVAL, false);
	FRPC_SQE(op, FASTRPC_OP_MAX + 1, -EINVAL, false);
	FRPC_SQE(op, 0xff, -EINVAL, false);
	FRPC_SQE(flags, 0x80, -EINVAL, false);
	FRPC_SQE(reserved0, 1, -EINVAL, false);
	FRPC_SQE(reserved, 1ULL << 63, -EINVAL, false);
	FRPC_SQE(smsg_len, 1, -EINVAL, false);
	FRPC_SQE(meta_len, FASTRPC_MAX_METADATA + 1, -EINVAL, false);
	FRPC_SQE(len, FASTRPC_MAX_MSG + 1, -EMSGSIZE, false);
	/* bounds: the last byte of the area, one past it, and 32-bit wrap */
	FRPC_SQE(addr, 32 * 4096 - 108, 0, false);
	FRPC_SQE(addr, 32 * 4096 - 107, -EFAULT, false);
	FRPC_SQE(addr, 0xffffffffU, -EFAULT, false);
	e = call;
	e.addr = 0xfffffff0U;
	e.len = 0x20;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EFAULT);
	/* a buffer named without FASTRPC_SQE_RETURN_BUF */
	FRPC_SQE(buf, 4096, -EINVAL, false);
	e = call;
	e.flags = FASTRPC_SQE_RETURN_BUF;
	e.buf = 4096;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), 0);
	/* not a receive buffer's start: misaligned, or a user buffer */
	e.buf = 4097;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e.buf = 16 * 4096;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e.buf = FASTRPC_RING_NO_BUF;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);

	/* what each op carries */
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_CANCEL, .id = 7 };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), 0);
	e.len = 1;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_SEND, .id = 7,
				    .flags = FASTRPC_SQE_EOR };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), 0);
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), -EINVAL);
	e.flags = 0;
	e.timeout_ns = 1;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_SEND, .meta_len = 4 };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_REPLY, .smsg_len = 10 };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), 0);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_BUF_RETURN, .buf = 0 };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), 0);
	e.flags = FASTRPC_SQE_RETURN_BUF;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), -EINVAL);
	e.flags = 0;
	e.buf = 15 * 4096 + 2048;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), -EINVAL);
	e.buf = 0;
	e.addr = 4096;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), -EINVAL);

	/* FASTRPC_SQE_LEND: only on a payload the kernel will read */
	FRPC_SQE(flags, FASTRPC_SQE_LEND, 0, false);
	FRPC_SQE(flags, FASTRPC_SQE_LEND | FASTRPC_SQE_STREAM, 0, false);
	e = call;
	e.flags = FASTRPC_SQE_LEND;
	e.len = 0;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_SEND, .id = 7, .len = 9,
				    .flags = FASTRPC_SQE_LEND };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), 0);
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), 0);
	e.op = FASTRPC_OP_REPLY;
	e.flags |= FASTRPC_SQE_RETURN_BUF;
	e.buf = 4096;
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), 0);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_CANCEL, .id = 7,
				    .flags = FASTRPC_SQE_LEND };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, false), -EINVAL);
	e = (struct frpc_ring_sqe){ .op = FASTRPC_OP_BUF_RETURN,
				    .flags = FASTRPC_SQE_LEND };
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_check(g, &e, true), -EINVAL);
#undef FRPC_SQE
}

/*
 * A message built with a lend points into the caller's bytes, copies
 * none, holds the lend, and says when it was freed with bytes unsent.
 */
static void frpc_test_ring_lend_msg(struct kunit *test)
{
	struct frpc_lend l = { .ring = NULL };
	struct frpc_txmsg *m;
	struct iov_iter it;
	struct kvec kv;
	u8 *area;

	area = kunit_kzalloc(test, 64 << 10, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, area);
	/* two references the test keeps: no put here reaches zero */
	refcount_set(&l.ref, 2);
	kv.iov_base = area + 100;
	kv.iov_len = 40000;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, kv.iov_len);
	iov_iter_advance(&it, 1000);
	m = frpc_txmsg_build(FASTRPC_FRAME_DATA, NULL, 0, NULL, 0, NULL, 0,
			     &it, 30000, &l, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(m));
	KUNIT_EXPECT_PTR_EQ(test, m->data, area + 1100);
	KUNIT_EXPECT_PTR_EQ(test, m->lend, &l);
	KUNIT_EXPECT_EQ(test, refcount_read(&l.ref), 3U);
	KUNIT_EXPECT_EQ(test, iov_iter_count(&it), 9000UL);
	/* not even the head's buffer holds the message */
	KUNIT_EXPECT_LT(test, ksize(m), 1024UL);
	m->off = 29999;
	frpc_txmsg_free(m);
	KUNIT_EXPECT_EQ(test, refcount_read(&l.ref), 2U);
	KUNIT_EXPECT_TRUE(test, l.cut);

	l.cut = false;
	m = frpc_txmsg_build(FASTRPC_FRAME_DATA, NULL, 0, NULL, 0, NULL, 0,
			     &it, 9000, &l, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(m));
	KUNIT_EXPECT_PTR_EQ(test, m->data, area + 31100);
	m->off = m->len;
	frpc_txmsg_free(m);
	KUNIT_EXPECT_EQ(test, refcount_read(&l.ref), 2U);
	KUNIT_EXPECT_FALSE(test, l.cut);
}

/* A done lend for frpc_ring_post_sent(), which frees it. */
static struct frpc_lend *frpc_test_done_lend(struct kunit *test,
					     struct frpc_ring *ring, u64 id,
					     u32 addr, bool cut)
{
	struct frpc_lend *l = kzalloc(sizeof(*l), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, l);
	l->ring = ring;
	l->id = id;
	l->addr = addr;
	l->len = 1000 + (u32)id;
	l->op = FASTRPC_OP_CALL;
	l->cut = cut;
	list_add_tail(&l->node, &ring->sent);
	ring->sent_n++;
	return l;
}

/*
 * SENT completions wait for CQ room, in order, and the room they wait
 * for is not offered to new entries; a lend's deferred run comes back
 * when its SENT is posted.
 */
static void frpc_test_ring_post_sent(struct kunit *test)
{
	struct frpc_ring *ring;
	struct frpc_lend *l;
	u32 cons = 0, run;

	ring = kunit_kzalloc(test, sizeof(*ring), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ring);
	ring->setup.cq_entries = 4;
	ring->cqes = kunit_kcalloc(test, 4, sizeof(*ring->cqes), GFP_KERNEL);
	ring->geom = (struct frpc_ring_geom){
		.area_len = 8 * 256, .buf_shift = 8, .rx_bufs = 4,
	};
	ring->lent = kunit_kzalloc(test, sizeof(long), GFP_KERNEL);
	ring->run = kunit_kcalloc(test, 4, sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ring->cqes);
	KUNIT_ASSERT_NOT_NULL(test, ring->lent);
	KUNIT_ASSERT_NOT_NULL(test, ring->run);
	ring->cq_cons = &cons;
	mutex_init(&ring->lock);
	spin_lock_init(&ring->sent_lock);
	INIT_LIST_HEAD(&ring->sent);
	mutex_lock(&ring->lock);

	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 256, &run), 0);
	/* promised back by a lent entry: user space cannot give it too */
	KUNIT_EXPECT_TRUE(test, frpc_ring_buf_lent(ring, run));
	ring->run[run >> 8] |= FRPC_RING_RUN_BACK;
	KUNIT_EXPECT_FALSE(test, frpc_ring_buf_lent(ring, run));
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, run), -EINVAL);
	frpc_test_done_lend(test, ring, 1, 512, false);
	l = frpc_test_done_lend(test, ring, 2, 1024, true);
	l->give = true;
	l->buf = run;
	frpc_test_done_lend(test, ring, 3, 1536, false);
	ring->cq_tail = 2;		/* two completions not reaped */
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_room(ring), 0U);

	KUNIT_EXPECT_EQ(test, frpc_ring_post_sent(ring, frpc_ring_room(ring)),
			0U);
	KUNIT_EXPECT_EQ(test, ring->cq_tail, 4U);
	KUNIT_EXPECT_EQ(test, ring->sent_n, 1U);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].type, FASTRPC_CQE_SENT);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].id, 1ULL);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].buf, 512U);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].len, 1001U);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].op, FASTRPC_OP_CALL);
	KUNIT_EXPECT_EQ(test, ring->cqes[2].res, 0);
	KUNIT_EXPECT_EQ(test, ring->cqes[3].id, 2ULL);
	KUNIT_EXPECT_EQ(test, ring->cqes[3].res, -ECANCELED);
	/* the run lent with id 2 came back with its SENT */
	KUNIT_EXPECT_TRUE(test, bitmap_empty(ring->lent, 4));
	KUNIT_EXPECT_EQ(test, ring->run[run >> 8], 0U);

	/* user space reaps three: one slot goes to the waiting SENT */
	cons = 3;
	KUNIT_EXPECT_EQ(test, frpc_ring_room(ring), 3U);
	KUNIT_EXPECT_EQ(test, frpc_ring_sqe_room(ring), 2U);
	KUNIT_EXPECT_EQ(test, frpc_ring_post_sent(ring, frpc_ring_room(ring)),
			2U);
	KUNIT_EXPECT_EQ(test, ring->cqes[0].id, 3ULL);
	KUNIT_EXPECT_EQ(test, ring->sent_n, 0U);
	KUNIT_EXPECT_TRUE(test, list_empty(&ring->sent));
	mutex_unlock(&ring->lock);
}

static void frpc_test_ring_bufs(struct kunit *test)
{
	struct frpc_ring *ring;
	u32 off, a, b, c;

	ring = kunit_kzalloc(test, sizeof(*ring), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ring);
	ring->geom = (struct frpc_ring_geom){
		.area_len = 8 * 256, .buf_shift = 8, .rx_bufs = 4,
	};
	ring->lent = kunit_kzalloc(test, sizeof(long), GFP_KERNEL);
	ring->run = kunit_kcalloc(test, 4, sizeof(u32), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ring->lent);
	KUNIT_ASSERT_NOT_NULL(test, ring->run);

	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 1, &a), 0);
	KUNIT_EXPECT_EQ(test, a, 0U);
	/* 300 bytes take two buffers, in one run */
	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 300, &b), 0);
	KUNIT_EXPECT_EQ(test, b, 256U);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_get(ring, 257, &off), -ENOSPC);
	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 256, &c), 0);
	KUNIT_EXPECT_EQ(test, c, 768U);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_get(ring, 1, &off), -ENOSPC);

	/* only the start of a lent run comes back, and only once */
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, 512), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, 257), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, 1024), -EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, FASTRPC_RING_NO_BUF),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, b), 0);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, b), -EINVAL);
	/* the freed pair is found again after the search wrapped */
	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 512, &off), 0);
	KUNIT_EXPECT_EQ(test, off, 256U);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, a), 0);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, c), 0);
	KUNIT_EXPECT_EQ(test, frpc_ring_buf_put(ring, off), 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(ring->lent, 4));
	/* all four at once */
	KUNIT_ASSERT_EQ(test, frpc_ring_buf_get(ring, 1024, &off), 0);
	KUNIT_EXPECT_EQ(test, off, 0U);
	KUNIT_EXPECT_EQ(test, ring->run[0], 4U);
}

static struct kunit_case frpc_ring_cases[] = {
	KUNIT_CASE(frpc_test_ring_setup),
	KUNIT_CASE(frpc_test_ring_indices),
	KUNIT_CASE(frpc_test_ring_sqe),
	KUNIT_CASE(frpc_test_ring_bufs),
	KUNIT_CASE(frpc_test_ring_lend_msg),
	KUNIT_CASE(frpc_test_ring_post_sent),
	{}
};

static struct kunit_suite frpc_ring_suite = {
	.name = "af_fastrpc_ring",
	.test_cases = frpc_ring_cases,
};
