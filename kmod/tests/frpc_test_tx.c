// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the send scheduler of tx.c: frpc_tx_pick() cuts frames from
 * the control queue and the calls' messages.  Each pick is "written" at
 * once, doing what frpc_conn_tx_flush() does after a frame is out, so the
 * frames a test sees are those TCP would carry.  Included by
 * af_fastrpc_kunit.c.
 */

enum { FRPC_TEST_Q = FRPC_TX_QUANTUM };

/* One frame as it would go on the wire. */
struct frpc_test_frame {
	bool		ctrl;
	u8		version;
	u8		type;
	u16		flags;
	u32		id;
	u32		plen;		/* payload bytes after the header */
	u32		head_len;	/* CALL/END head + metadata */
	u32		data_len;	/* message bytes */
	const u8	*head;
	const u8	*data;
};

struct frpc_test_tx {
	struct kunit		*test;
	struct frpc_conn	*conn;
	u8			*flat;		/* the frame, contiguous */
	/*
	 * Short messages cut long ones into smaller frames for a while
	 * (frpc_tx_quantum()); only the tests of that let it happen, the
	 * others see frames of a quantum whatever they queued before.
	 */
	bool			mixed;
};

static struct frpc_test_tx *frpc_test_tx(struct kunit *test, bool client)
{
	struct frpc_test_tx *tx;

	tx = kunit_kzalloc(test, sizeof(*tx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tx);
	tx->flat = kunit_kzalloc(test, FASTRPC_FRAME_HDR_LEN + FASTRPC_MAX_FRAME,
				 GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tx->flat);
	tx->test = test;
	tx->conn = frpc_test_conn(test, client);
	return tx;
}

/* The byte at @off of the test message of call @id. */
static u8 frpc_test_byte(u32 id, u32 off)
{
	return id * 37 + off * 7 + off / 251;
}

/* Queue a message of @len bytes on @call, built the way sendmsg() does. */
static void frpc_test_msg(struct frpc_test_tx *tx, struct frpc_call *call,
			  u8 head_type, u32 len, u16 meta_len, bool eos)
{
	struct kunit *test = tx->test;
	struct fastrpc_wire_call ch = {
		.method = cpu_to_be32(call->id),
		.meta_len = cpu_to_be16(meta_len),
	};
	struct fastrpc_wire_end eh = {
		.status = cpu_to_be32(FASTRPC_OK),
		.meta_len = cpu_to_be16(meta_len),
	};
	const void *head = NULL;
	struct frpc_txmsg *m;
	struct iov_iter it;
	struct kvec kv;
	u32 head_len = 0, i;
	u8 *data, *meta;

	data = kunit_kmalloc(test, len + 1, GFP_KERNEL);
	meta = kunit_kmalloc(test, meta_len + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, data);
	KUNIT_ASSERT_NOT_NULL(test, meta);
	for (i = 0; i < len; i++)
		data[i] = frpc_test_byte(call->id, i);
	memset(meta, 'm', meta_len);
	if (head_type == FASTRPC_FRAME_CALL) {
		head = &ch;
		head_len = sizeof(ch);
	} else if (head_type == FASTRPC_FRAME_END) {
		head = &eh;
		head_len = sizeof(eh);
	}
	kv.iov_base = data;
	kv.iov_len = len;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	m = frpc_txmsg_build(head_type, head, head_len, meta, meta_len, NULL,
			     0, &it, len, NULL, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(m));
	KUNIT_EXPECT_EQ(test, m->head_len, head_len + meta_len);
	/* big messages keep their bytes apart from the head */
	KUNIT_EXPECT_EQ(test, m->data != m->buf + m->head_len,
			len > FRPC_TX_DATA_APART);
	m->eos = eos;
	spin_lock_bh(&tx->conn->lock);
	frpc_call_queue_msg(call, m);
	spin_unlock_bh(&tx->conn->lock);
}

/* Fill in @fr (ctrl already set) from the @total bytes of a frame at @p. */
static void frpc_test_parse(struct frpc_test_tx *tx, struct frpc_test_frame *fr,
			    const u8 *p, size_t total)
{
	struct kunit *test = tx->test;
	struct fastrpc_frame_hdr hdr;

	KUNIT_ASSERT_GE(test, total, (size_t)FASTRPC_FRAME_HDR_LEN);
	memcpy(&hdr, p, sizeof(hdr));
	fr->version = hdr.version;
	fr->type = hdr.type;
	fr->flags = be16_to_cpu(hdr.flags);
	fr->id = be32_to_cpu(hdr.call_id);
	fr->plen = be32_to_cpu(hdr.length);
	KUNIT_EXPECT_EQ(test, (size_t)fr->plen, total - FASTRPC_FRAME_HDR_LEN);
	KUNIT_EXPECT_LE(test, fr->plen, (u32)FASTRPC_MAX_FRAME);
	fr->head = p + FASTRPC_FRAME_HDR_LEN;
	if (fr->type == FASTRPC_FRAME_CALL && !fr->ctrl) {
		struct fastrpc_wire_call ch;

		memcpy(&ch, fr->head, sizeof(ch));
		fr->head_len = sizeof(ch) + be16_to_cpu(ch.meta_len);
	} else if (fr->type == FASTRPC_FRAME_END) {
		struct fastrpc_wire_end eh;

		memcpy(&eh, fr->head, sizeof(eh));
		fr->head_len = sizeof(eh) + be16_to_cpu(eh.meta_len) +
			       be16_to_cpu(eh.msg_len);
	}
	KUNIT_EXPECT_LE(test, fr->head_len, fr->plen);
	fr->data = fr->head + fr->head_len;
	fr->data_len = fr->plen - fr->head_len;
	if (!fr->ctrl) {
		KUNIT_EXPECT_EQ(test, fr->version, FASTRPC_PROTO_V1);
		KUNIT_EXPECT_LE(test, fr->data_len, (u32)FRPC_TEST_Q);
	}
}

/*
 * The fake transport a test's connection may write to (conn->tcp, only
 * looked at): it takes every write whole and records the bytes, in
 * order, and each write's length and MSG_MORE.  tx.c and txbulk.c call
 * it for frpc_tp_send() and frpc_tp_send_data() (af_fastrpc_kunit.c).
 */
enum {
	FRPC_TEST_TP_BYTES	= 256 << 10,
	FRPC_TEST_TP_WRITES	= 64,
	FRPC_TEST_TP_FRAMES	= 32,
};

struct frpc_test_write {
	u32	off;		/* in the stream */
	u32	len;		/* 0: a push of what MSG_MORE held back */
	bool	more;		/* MSG_MORE */
};

struct frpc_test_tp {
	struct frpc_test_tx	*tx;
	u8			*buf;		/* the stream */
	u32			len;
	struct frpc_test_write	w[FRPC_TEST_TP_WRITES];
	unsigned int		nw;
	bool			bad;		/* more than fits, a short copy */
	/*
	 * A CALL message of @late_len bytes queued on @late at the first
	 * write of bytes, as another sender would queue it while the
	 * writer is in TCP.
	 */
	struct frpc_call	*late;
	u32			late_len;
	/* frpc_test_tp_frames(): the stream cut into frames */
	struct frpc_test_frame	fr[FRPC_TEST_TP_FRAMES];
	u32			end[FRPC_TEST_TP_FRAMES];	/* offsets */
};

static struct frpc_test_tp *frpc_test_tp_on;

static int frpc_test_tp_write(struct frpc_test_tp *tp, struct iov_iter *head,
			      size_t hlen, struct iov_iter *data, size_t dlen,
			      int flags)
{
	size_t total = hlen + dlen;
	struct frpc_test_write *w;
	struct frpc_call *late;

	if (tp->nw == FRPC_TEST_TP_WRITES ||
	    total > FRPC_TEST_TP_BYTES - tp->len) {
		tp->bad = true;
		return total;
	}
	w = &tp->w[tp->nw++];
	w->off = tp->len;
	w->len = total;
	w->more = flags & MSG_MORE;
	if (copy_from_iter(tp->buf + tp->len, hlen, head) != hlen ||
	    (dlen && copy_from_iter(tp->buf + tp->len + hlen, dlen, data) !=
	     dlen))
		tp->bad = true;
	tp->len += total;
	late = tp->late;
	if (total && late) {
		tp->late = NULL;
		frpc_test_msg(tp->tx, late, FASTRPC_FRAME_CALL, tp->late_len, 0,
			      true);
	}
	return total;
}

static int frpc_test_tp_send(struct frpc_conn *conn, struct kvec *iov,
			     int niov, size_t len, long timeo, int flags)
{
	struct frpc_test_tp *tp = frpc_test_tp_on;
	struct iov_iter it;

	if (!tp || conn != tp->tx->conn)
		return frpc_tp_send(conn, iov, niov, len, timeo, flags);
	iov_iter_kvec(&it, ITER_SOURCE, iov, niov, len);
	return frpc_test_tp_write(tp, &it, len, NULL, 0, flags);
}

static int frpc_test_tp_send_data(struct frpc_conn *conn, struct kvec *iov,
				  int niov, size_t head_len,
				  struct iov_iter *data, size_t data_len,
				  int flags)
{
	struct frpc_test_tp *tp = frpc_test_tp_on;
	struct iov_iter it, dit;

	if (!tp || conn != tp->tx->conn)
		return frpc_tp_send_data(conn, iov, niov, head_len, data,
					 data_len, flags);
	iov_iter_kvec(&it, ITER_SOURCE, iov, niov, head_len);
	dit = *data;
	return frpc_test_tp_write(tp, &it, head_len, &dit, data_len, flags);
}

static void frpc_test_tp_detach(void *data)
{
	struct frpc_test_tp *tp = data;

	tp->tx->conn->tcp = NULL;
	frpc_test_tp_on = NULL;
	vfree(tp->buf);
}

/* Give the test's connection the fake transport, until the test ends. */
static struct frpc_test_tp *frpc_test_tp_attach(struct frpc_test_tx *tx)
{
	struct kunit *test = tx->test;
	struct frpc_test_tp *tp;
	struct socket *fake;

	tp = kunit_kzalloc(test, sizeof(*tp), GFP_KERNEL);
	fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, tp);
	KUNIT_ASSERT_NOT_NULL(test, fake);
	tp->buf = vmalloc(FRPC_TEST_TP_BYTES);
	KUNIT_ASSERT_NOT_NULL(test, tp->buf);
	tp->tx = tx;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							frpc_test_tp_detach,
							tp), 0);
	frpc_test_tp_on = tp;
	tx->conn->tcp = fake;
	return tp;
}

/* Cut the stream into frames, tp->fr[i] ending at tp->end[i]; how many. */
static unsigned int frpc_test_tp_frames(struct frpc_test_tp *tp)
{
	struct kunit *test = tp->tx->test;
	struct fastrpc_frame_hdr hdr;
	unsigned int n = 0;
	u32 off = 0, total;

	while (off < tp->len && n < FRPC_TEST_TP_FRAMES) {
		KUNIT_ASSERT_GE(test, tp->len - off, (u32)sizeof(hdr));
		memcpy(&hdr, tp->buf + off, sizeof(hdr));
		total = sizeof(hdr) + be32_to_cpu(hdr.length);
		KUNIT_ASSERT_LE(test, total, tp->len - off);
		memset(&tp->fr[n], 0, sizeof(tp->fr[n]));
		frpc_test_parse(tp->tx, &tp->fr[n], tp->buf + off, total);
		off += total;
		tp->end[n++] = off;
	}
	KUNIT_EXPECT_EQ(test, off, tp->len);
	return n;
}

/* The @k'th write that carried bytes (pushes left out), or NULL. */
static const struct frpc_test_write *
frpc_test_tp_data(struct frpc_test_tp *tp, unsigned int k)
{
	unsigned int i;

	for (i = 0; i < tp->nw; i++)
		if (tp->w[i].len && !k--)
			return &tp->w[i];
	return NULL;
}

/* All recorded, and the last write holds nothing back (no MSG_MORE). */
static void frpc_test_tp_done(struct frpc_test_tp *tp)
{
	struct kunit *test = tp->tx->test;

	KUNIT_EXPECT_FALSE(test, tp->bad);
	KUNIT_ASSERT_GT(test, tp->nw, 0U);
	KUNIT_EXPECT_FALSE_MSG(test, tp->w[tp->nw - 1].more,
			       "the last write went with MSG_MORE");
}

/*
 * Flush as the work item does until nothing is left.  need_resched()
 * may stop a flush early (the work item is queued again then): the
 * frames are the same, only the writes may be cut differently.
 */
static void frpc_test_flush_all(struct frpc_test_tx *tx)
{
	struct frpc_conn *conn = tx->conn;
	unsigned int i;
	bool more = true;

	for (i = 0; more && i < 16; i++) {
		mutex_lock(&conn->tx_mutex);
		more = frpc_conn_tx_flush(conn, FRPC_TX_WORK_BUDGET, NULL,
					  NULL);
		mutex_unlock(&conn->tx_mutex);
	}
	KUNIT_EXPECT_FALSE(tx->test, more);
}

/*
 * One flush of the work item while another task wants the CPU:
 * need_resched() set, with preemption off so that nothing serves it
 * before the flush looks (nothing in such a flush may sleep: the stage
 * must be there already, the messages small).  The CPU is given up
 * afterwards, which clears the flag.
 */
static bool frpc_test_flush_resched(struct frpc_test_tx *tx)
{
	struct frpc_conn *conn = tx->conn;
	bool more;

	mutex_lock(&conn->tx_mutex);
	preempt_disable();
	set_tsk_need_resched(current);
	more = frpc_conn_tx_flush(conn, FRPC_TX_WORK_BUDGET, NULL, NULL);
	preempt_enable();
	mutex_unlock(&conn->tx_mutex);
	schedule();
	return more;
}

/* Pick a frame and copy it out; conn->cur keeps it until "written". */
static bool frpc_test_pick_only(struct frpc_test_tx *tx,
				struct frpc_test_frame *fr)
{
	struct kunit *test = tx->test;
	struct frpc_conn *conn = tx->conn;
	struct frpc_txframe *f = &conn->cur;
	bool picked, yielded = false;
	size_t total = 0;
	int i;

	memset(fr, 0, sizeof(*fr));
	spin_lock_bh(&conn->lock);
	if (!tx->mixed)
		conn->tx_mixed_until = jiffies;
	picked = frpc_tx_pick(conn, NULL, &yielded);
	if (picked) {
		for (i = 0; i < f->niov; i++) {
			if (total + f->iov[i].iov_len >
			    FASTRPC_FRAME_HDR_LEN + FASTRPC_MAX_FRAME)
				break;
			memcpy(tx->flat + total, f->iov[i].iov_base,
			       f->iov[i].iov_len);
			total += f->iov[i].iov_len;
		}
		fr->ctrl = f->ctrl;
	}
	spin_unlock_bh(&conn->lock);
	if (!picked)
		return false;

	KUNIT_ASSERT_EQ(test, i, f->niov);
	KUNIT_ASSERT_EQ(test, total, f->left);
	frpc_test_parse(tx, fr, tx->flat, total);
	return true;
}

/* The frame is out: free what it used, as frpc_conn_tx_flush() does. */
static void frpc_test_written(struct frpc_test_tx *tx)
{
	struct frpc_conn *conn = tx->conn;
	struct frpc_txframe *f = &conn->cur;
	struct frpc_txmsg *done, *orphan;
	struct frpc_call *done_call;
	struct frpc_txbuf *ctrl;

	spin_lock_bh(&conn->lock);
	ctrl = f->ctrl;
	done = f->done;
	orphan = conn->cur_orphan;
	done_call = f->done_call;
	memset(f, 0, sizeof(*f));
	conn->cur_msg = NULL;
	conn->cur_orphan = NULL;
	spin_unlock_bh(&conn->lock);
	kvfree(ctrl);
	frpc_txmsg_free(done);
	frpc_txmsg_free(orphan);
	if (done_call) {
		kunit_remove_action(tx->test, frpc_test_call_release,
				    done_call);
		frpc_call_free(done_call);
	}
}

static bool frpc_test_pick(struct frpc_test_tx *tx, struct frpc_test_frame *fr)
{
	bool picked = frpc_test_pick_only(tx, fr);

	if (picked)
		frpc_test_written(tx);
	return picked;
}

/* Expect a data-carrying frame of call @id with @n message bytes from @off. */
static void frpc_test_expect(struct frpc_test_tx *tx,
			     struct frpc_test_frame *fr, u8 type, u16 flags,
			     u32 id, u32 off, u32 n)
{
	struct kunit *test = tx->test;
	u32 i, bad = 0;

	KUNIT_EXPECT_FALSE(test, fr->ctrl);
	KUNIT_EXPECT_EQ(test, fr->type, type);
	KUNIT_EXPECT_EQ(test, fr->flags, flags);
	KUNIT_EXPECT_EQ(test, fr->id, id);
	KUNIT_EXPECT_EQ(test, fr->data_len, n);
	if (fr->data_len != n)
		return;
	for (i = 0; i < n; i++)
		if (fr->data[i] != frpc_test_byte(id, off + i))
			bad++;
	KUNIT_EXPECT_EQ_MSG(test, bad, 0U, "call %u bytes %u..%u", id, off,
			    off + n);
}

static bool frpc_test_ready(struct frpc_call *call)
{
	return !list_empty(&call->tx_node);
}

static void frpc_test_tx_ctrl_first(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_test_frame fr;
	u8 ping[8] = {};

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 3 * FRPC_TEST_Q, 0, false);
	spin_lock_bh(&conn->lock);
	frpc_queue_simple(conn, FASTRPC_FRAME_CANCEL, 0, 5, NULL, 0);
	frpc_queue_simple(conn, FASTRPC_FRAME_PING, 0, 0, ping, sizeof(ping));
	spin_unlock_bh(&conn->lock);

	/* control frames, in the order queued, before any call data */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, fr.ctrl);
	KUNIT_EXPECT_EQ(test, fr.type, FASTRPC_FRAME_CANCEL);
	KUNIT_EXPECT_EQ(test, fr.id, 5U);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, fr.ctrl);
	KUNIT_EXPECT_EQ(test, fr.type, FASTRPC_FRAME_PING);
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, 0U);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, FRPC_TEST_Q);

	/* one queued mid-message still goes next */
	spin_lock_bh(&conn->lock);
	frpc_queue_end(conn, 9, FASTRPC_OK);
	spin_unlock_bh(&conn->lock);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, fr.ctrl);
	KUNIT_EXPECT_EQ(test, fr.type, FASTRPC_FRAME_END);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, FRPC_TEST_Q,
			 FRPC_TEST_Q);
}

/* Flatten the frame in conn->cur into @to; returns its length. */
static size_t frpc_test_flatten(struct frpc_conn *conn, u8 *to)
{
	struct frpc_txframe *f = &conn->cur;
	size_t n = 0;
	int i;

	for (i = 0; i < f->niov; i++) {
		memcpy(to + n, f->iov[i].iov_base, f->iov[i].iov_len);
		n += f->iov[i].iov_len;
	}
	return n;
}

/*
 * A small frame with others behind it is copied into the stage and counts
 * as written; the stage then goes in front of the next frame that is not
 * staged, bytes in order.  Big frames, a full stage and a lone frame are
 * not staged.
 */
static void frpc_test_tx_stage(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, U32_MAX >> 1, true);
	struct frpc_call *c = frpc_test_call(test, conn, 3, U32_MAX >> 1, true);
	struct frpc_call *d = frpc_test_call(test, conn, 4, U32_MAX >> 1, true);
	struct frpc_test_frame fr;
	size_t n1, n2, n3, n;
	u8 *exp, *got;

	exp = kunit_kzalloc(test, 4 * FRPC_TX_STAGE, GFP_KERNEL);
	got = kunit_kzalloc(test, 4 * FRPC_TX_STAGE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, exp);
	KUNIT_ASSERT_NOT_NULL(test, got);
	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 10, 0, true);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 20, 3, true);
	frpc_test_msg(tx, c, FASTRPC_FRAME_CALL, 2000, 0, true);
	frpc_test_msg(tx, d, FASTRPC_FRAME_CALL, 30, 0, true);

	mutex_lock(&conn->tx_mutex);
	/* alone (nothing behind, nothing staged): written as it is */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	n1 = frpc_test_flatten(conn, exp);
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage(conn, false));
	KUNIT_EXPECT_EQ(test, conn->cur.left, n1);

	/* with more behind: staged, and the frame counts as written */
	KUNIT_EXPECT_TRUE(test, frpc_tx_stage(conn, true));
	KUNIT_EXPECT_EQ(test, conn->cur.left, (size_t)0);
	KUNIT_EXPECT_EQ(test, conn->tx_stage_len, (u32)n1);
	frpc_test_written(tx);

	/* the last small one joins what is staged */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 2U);
	n2 = frpc_test_flatten(conn, exp + n1);
	KUNIT_EXPECT_TRUE(test, frpc_tx_stage(conn, false));
	KUNIT_EXPECT_EQ(test, conn->tx_stage_len, (u32)(n1 + n2));
	KUNIT_EXPECT_EQ(test, memcmp(conn->tx_stage, exp, n1 + n2), 0);
	frpc_test_written(tx);

	/* too big to copy: the stage goes in front of it */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 3U);
	n3 = frpc_test_flatten(conn, exp + n1 + n2);
	KUNIT_EXPECT_GT(test, n3, (size_t)FRPC_TX_STAGE_FRAME);
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage(conn, true));
	frpc_tx_stage_attach(conn);
	KUNIT_EXPECT_TRUE(test, conn->cur.staged);
	KUNIT_EXPECT_PTR_EQ(test, conn->cur.iov[0].iov_base,
			    (void *)conn->tx_stage);
	KUNIT_EXPECT_EQ(test, conn->cur.left, n1 + n2 + n3);
	n = frpc_test_flatten(conn, got);
	KUNIT_EXPECT_EQ(test, n, n1 + n2 + n3);
	KUNIT_EXPECT_EQ(test, memcmp(got, exp, n), 0);
	/* written in pieces, the stage's bytes stay where they were */
	frpc_txframe_advance(&conn->cur, n1 + 3);
	KUNIT_EXPECT_EQ(test, conn->cur.left, n2 + n3 - 3);
	n = frpc_test_flatten(conn, got);
	KUNIT_EXPECT_EQ(test, memcmp(got, exp + n1 + 3, n), 0);
	frpc_test_written(tx);
	conn->tx_stage_len = 0;

	/* a stage that cannot take the frame is not used */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 4U);
	conn->tx_stage_len = FRPC_TX_STAGE - 8;
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage(conn, true));
	KUNIT_EXPECT_EQ(test, conn->tx_stage_len, (u32)(FRPC_TX_STAGE - 8));
	conn->tx_stage_len = 0;
	frpc_test_written(tx);
	mutex_unlock(&conn->tx_mutex);
}

/* Before HELLO and after failure only control frames go. */
static void frpc_test_tx_state(struct kunit *test)
{
	static const enum frpc_conn_state idle[] = {
		FRPC_CONN_CONNECTING, FRPC_CONN_HELLO, FRPC_CONN_DEAD,
	};
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_test_frame fr;
	unsigned int i;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 10, 0, false);
	for (i = 0; i < ARRAY_SIZE(idle); i++) {
		conn->state = idle[i];
		spin_lock_bh(&conn->lock);
		frpc_queue_simple(conn, FASTRPC_FRAME_CREDIT, 0, 0, "abcd", 4);
		spin_unlock_bh(&conn->lock);
		KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
		KUNIT_EXPECT_TRUE(test, fr.ctrl);
		KUNIT_EXPECT_FALSE_MSG(test, frpc_test_pick(tx, &fr),
				       "state %d", idle[i]);
		KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	}
	/* a draining connection finishes the calls it has */
	conn->state = FRPC_CONN_DRAINING;
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, FASTRPC_FF_EOM, 1, 0, 10);
}

static void frpc_test_tx_single_frame(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 3, 1000, true);
	struct fastrpc_wire_call ch;
	struct frpc_test_frame fr;
	u32 conn_credit = conn->tx_credit;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 100, 10, false);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, FASTRPC_FF_EOM, 3, 0, 100);
	KUNIT_EXPECT_EQ(test, fr.plen, (u32)sizeof(ch) + 10 + 100);
	memcpy(&ch, fr.head, sizeof(ch));
	KUNIT_EXPECT_EQ(test, be32_to_cpu(ch.method), 3U);
	KUNIT_EXPECT_EQ(test, fr.head[sizeof(ch)], 'm');
	KUNIT_EXPECT_EQ(test, a->tx_credit, 900U);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, conn_credit - 100);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->txq));
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	KUNIT_EXPECT_FALSE(test, a->tx_eos);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

/* A big request: CALL head once, then DATA, each at most a quantum. */
static void frpc_test_tx_large_call(struct kunit *test)
{
	enum { LEN = 100000 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;
	u32 off = 0, frames = 0;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, LEN, 0, false);
	while (frpc_test_pick(tx, &fr)) {
		u32 n = min_t(u32, LEN - off, FRPC_TEST_Q);
		bool last = off + n == LEN;

		frpc_test_expect(tx, &fr, frames ? FASTRPC_FRAME_DATA :
				 FASTRPC_FRAME_CALL,
				 last ? FASTRPC_FF_EOM : 0, 1, off, n);
		off += fr.data_len;
		if (++frames > LEN / FRPC_TEST_Q + 1)
			break;
	}
	KUNIT_EXPECT_EQ(test, off, (u32)LEN);
	KUNIT_EXPECT_EQ(test, frames, (u32)DIV_ROUND_UP(LEN, FRPC_TEST_Q));
	KUNIT_EXPECT_EQ(test, a->tx_credit, (U32_MAX >> 1) - LEN);
}

/* The client's last message ends with EOS on its last frame only. */
static void frpc_test_tx_eos(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_call *b = frpc_test_call(test, tx->conn, 2, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;

	/* a unary call: request and half-close in one frame */
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 50, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 50);
	KUNIT_EXPECT_TRUE(test, b->tx_eos);

	/* a stream's last message (no head), in three frames */
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 2 * FRPC_TEST_Q + 5, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, 0, FRPC_TEST_Q);
	KUNIT_EXPECT_FALSE(test, a->tx_eos);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, FRPC_TEST_Q,
			 FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 2 * FRPC_TEST_Q, 5);
	KUNIT_EXPECT_TRUE(test, a->tx_eos);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

/* A call's messages go in order; an empty last message still carries EOS. */
static void frpc_test_tx_messages_in_order(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 4, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, FRPC_TEST_Q + 3616, 0, false);
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 5000, 0, false);
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 0, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 4, 0, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, FASTRPC_FF_EOM, 4,
			 FRPC_TEST_Q, 3616);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, FASTRPC_FF_EOM, 4, 0,
			 5000);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 4, 0, 0);
	KUNIT_EXPECT_EQ(test, fr.plen, 0U);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, a->tx_credit,
			(U32_MAX >> 1) - (FRPC_TEST_Q + 3616 + 5000));
}

/* A server reply: DATA frames first, END carries the last piece. */
static void frpc_test_tx_end_pieces(struct kunit *test)
{
	enum { LEN = 2 * FRPC_TEST_Q + 7232 };
	struct frpc_test_tx *tx = frpc_test_tx(test, false);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 7, U32_MAX >> 1, true);
	struct fastrpc_wire_end eh;
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_END, LEN, 6, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 7, 0, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 7, FRPC_TEST_Q,
			 FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
	/* the END goes unlinked and freed once written */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 7,
			 2 * FRPC_TEST_Q, LEN - 2 * FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, fr.head_len, (u32)sizeof(eh) + 6);
	memcpy(&eh, fr.head, sizeof(eh));
	KUNIT_EXPECT_EQ(test, be32_to_cpu(eh.status), (u32)FASTRPC_OK);
	KUNIT_EXPECT_TRUE(test, a->tx_eos);
	KUNIT_EXPECT_FALSE(test, a->in_conn);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 7));
	KUNIT_EXPECT_PTR_EQ(test, conn->cur.done_call, a);
	frpc_test_written(tx);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

/*
 * An END whose head is at its largest and whose last piece is a
 * quantum: what would take the frame past FASTRPC_MAX_FRAME goes first
 * as a DATA frame, and no frame is too big for the peer's reader.
 */
static void frpc_test_tx_end_big_head(struct kunit *test)
{
	enum {
		HEAD = sizeof(struct fastrpc_wire_end) + FASTRPC_MAX_METADATA,
		ROOM = FASTRPC_MAX_FRAME - HEAD,
	};
	struct frpc_test_tx *tx = frpc_test_tx(test, false);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 3, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;

	/* the case exists only while a quantum and the head exceed a frame */
	KUNIT_ASSERT_GT(test, FRPC_TEST_Q, ROOM);
	frpc_test_msg(tx, a, FASTRPC_FRAME_END, FRPC_TEST_Q,
		      FASTRPC_MAX_METADATA, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 3, 0,
			 FRPC_TEST_Q - ROOM);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 3,
			 FRPC_TEST_Q - ROOM, ROOM);
	KUNIT_EXPECT_EQ(test, fr.head_len, (u32)HEAD);
	KUNIT_EXPECT_EQ(test, fr.plen, (u32)FASTRPC_MAX_FRAME);
	frpc_test_written(tx);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

static void frpc_test_tx_end_small(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, false);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, 0, true);
	struct frpc_test_frame fr;

	/* small: one END frame; empty: END with the head alone, no credit */
	frpc_test_msg(tx, a, FASTRPC_FRAME_END, 100, 0, false);
	frpc_test_msg(tx, b, FASTRPC_FRAME_END, 0, 0, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 1, 0, 100);
	KUNIT_EXPECT_EQ(test, fr.plen, (u32)sizeof(struct fastrpc_wire_end) +
			100);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 2, 0, 0);
	KUNIT_EXPECT_EQ(test, fr.plen, (u32)sizeof(struct fastrpc_wire_end));
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

static void frpc_test_tx_round_robin(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_test_frame fr;
	struct frpc_call *c[3];
	u32 off[3] = {};
	unsigned int i, n = 0;

	for (i = 0; i < 3; i++) {
		c[i] = frpc_test_call(test, tx->conn, 10 + i, U32_MAX >> 1,
				      true);
		frpc_test_msg(tx, c[i], FASTRPC_FRAME_CALL, 3 * FRPC_TEST_Q, 0,
			      false);
	}
	while (frpc_test_pick(tx, &fr) && n < 20) {
		i = n % 3;
		frpc_test_expect(tx, &fr, n < 3 ? FASTRPC_FRAME_CALL :
				 FASTRPC_FRAME_DATA,
				 n >= 6 ? FASTRPC_FF_EOM : 0, 10 + i, off[i],
				 FRPC_TEST_Q);
		off[i] += fr.data_len;
		n++;
	}
	KUNIT_EXPECT_EQ(test, n, 9U);
}

/* Calls with equal data get frame counts within one of each other. */
static void frpc_test_tx_fairness(struct kunit *test)
{
	enum { N = 3, LEN = 10 * FRPC_TEST_Q + 123 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	unsigned int count[N] = {}, i, lo, hi, total = 0, bad = 0;
	struct frpc_test_frame fr;

	for (i = 0; i < N; i++)
		frpc_test_msg(tx, frpc_test_call(test, tx->conn, i + 1,
						 U32_MAX >> 1, true),
			      FASTRPC_FRAME_CALL, LEN, 0, true);
	while (total < 100 && frpc_test_pick(tx, &fr)) {
		KUNIT_ASSERT_GE(test, fr.id, 1U);
		KUNIT_ASSERT_LE(test, fr.id, (u32)N);
		count[fr.id - 1]++;
		total++;
		lo = min3(count[0], count[1], count[2]);
		hi = max3(count[0], count[1], count[2]);
		if (hi - lo > 1)
			bad++;
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	for (i = 0; i < N; i++)
		KUNIT_EXPECT_EQ(test, count[i],
				(u32)DIV_ROUND_UP(LEN, FRPC_TEST_Q));
}

/* A 100-byte call is not held back by a 1 MiB one already going. */
static void frpc_test_tx_small_not_blocked(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *big = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_call *small = frpc_test_call(test, tx->conn, 2,
						 U32_MAX >> 1, true);
	struct frpc_test_frame fr;
	unsigned int n;

	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_msg(tx, small, FASTRPC_FRAME_CALL, 100, 0, true);
	for (n = 1; n <= 2; n++) {
		KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
		if (fr.id == 2)
			break;
	}
	KUNIT_EXPECT_LE(test, n, 2U);
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 100);
}

/*
 * Short first: a small call queued while a long message is being cut
 * goes at the next pick, ahead of the long one's next quantum.
 */
static void frpc_test_tx_short_first(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *big = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_call *small = frpc_test_call(test, tx->conn, 2,
						 U32_MAX >> 1, true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	/* big is back in conn->ready, ahead of the call queued now */
	frpc_test_msg(tx, small, FASTRPC_FRAME_CALL, 100, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 100);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, FRPC_TEST_Q,
			 FRPC_TEST_Q);
}

/* A short CALL never passes a longer call's CALL frame: ids in order. */
static void frpc_test_tx_short_first_ids(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *big = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_call *small = frpc_test_call(test, tx->conn, 2,
						 U32_MAX >> 1, true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	frpc_test_msg(tx, small, FASTRPC_FRAME_CALL, 100, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 100);
}

/*
 * A flood of small calls cannot starve a long message: once a quantum of
 * short frames went ahead of it, it has its turn.
 */
static void frpc_test_tx_short_first_bounded(struct kunit *test)
{
	enum { N = 40 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *big = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_test_frame fr;
	unsigned int i, first = 0;

	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	for (i = 0; i < N; i++)
		frpc_test_msg(tx, frpc_test_call(test, tx->conn, 2 + i,
						 U32_MAX >> 1, true),
			      FASTRPC_FRAME_CALL, 100, 0, true);
	for (i = 1; i <= N + 1 && frpc_test_pick(tx, &fr); i++) {
		if (fr.id == 1) {
			first = i;
			break;
		}
	}
	/* small ones jumped: without short first, big would be first */
	KUNIT_EXPECT_GT(test, first, 1U);
	/* a quantum of short bytes at most, then big's turn */
	KUNIT_EXPECT_EQ(test, first,
			(unsigned int)(FRPC_TX_QUANTUM / FRPC_TX_SHORT) + 1);
}

/*
 * After a short message, long ones go in smaller frames for a while, in
 * the scheduler's frames and in those a bulk sender writes itself.
 */
static void frpc_test_tx_mixed_quantum(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *big = frpc_test_call(test, conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_call *small = frpc_test_call(test, conn, 2, U32_MAX >> 1,
						 true);
	struct frpc_test_frame fr;

	tx->mixed = true;
	KUNIT_EXPECT_EQ(test, frpc_tx_quantum(conn), (u32)FRPC_TX_QUANTUM);
	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, FRPC_TEST_Q);
	frpc_test_msg(tx, small, FASTRPC_FRAME_CALL, 100, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 2U);
	KUNIT_EXPECT_EQ(test, frpc_tx_quantum(conn),
			(u32)FRPC_TX_QUANTUM_MIXED);
	/* the rest of the test must not depend on how long it takes */
	conn->tx_mixed_until = jiffies + HZ;
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, FRPC_TEST_Q,
			 FRPC_TX_QUANTUM_MIXED);
	/* the while ends: a quantum again */
	conn->tx_mixed_until = jiffies;
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1,
			 FRPC_TEST_Q + FRPC_TX_QUANTUM_MIXED, FRPC_TEST_Q);
}

/* The same for the frames a bulk sender writes from its own pages. */
static void frpc_test_tx_mixed_bulk(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct socket *fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	bool starved;

	KUNIT_ASSERT_NOT_NULL(test, fake);
	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	a->tx_bulk = true;
	conn->tcp = fake;	/* only looked at, never used */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 1 << 20, false, false,
						&starved), (u32)FRPC_TX_QUANTUM);
	frpc_tx_note_short(conn);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 1 << 20, false, false,
						&starved),
			(u32)FRPC_TX_QUANTUM_MIXED);
	conn->tcp = NULL;
	a->tx_bulk = false;
	spin_unlock_bh(&conn->lock);
	mutex_unlock(&conn->tx_mutex);
}

/*
 * A sender writing inline for its socket (@own) leaves another socket's
 * long frame to the work item, but writes a short one; without @own
 * (the work item) the long frame goes.  The calls here have no socket.
 */
static void frpc_test_tx_inline_yield(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *big = frpc_test_call(test, conn, 1, U32_MAX >> 1,
					       true);
	struct frpc_call *small = frpc_test_call(test, conn, 2, U32_MAX >> 1,
						 true);
	const struct frpc_sock *own = (const struct frpc_sock *)tx;
	struct frpc_test_frame fr;
	bool picked, yielded = false;

	frpc_test_msg(tx, big, FASTRPC_FRAME_CALL, 1 << 20, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	spin_lock_bh(&conn->lock);
	picked = frpc_tx_pick(conn, own, &yielded);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_FALSE(test, picked);
	KUNIT_EXPECT_TRUE(test, yielded);
	KUNIT_EXPECT_EQ(test, conn->cur.left, (size_t)0);
	/* a short message of another socket: written inline */
	frpc_test_msg(tx, small, FASTRPC_FRAME_CALL, 100, 0, true);
	yielded = false;
	spin_lock_bh(&conn->lock);
	picked = frpc_tx_pick(conn, own, &yielded);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, picked);
	KUNIT_EXPECT_FALSE(test, yielded);
	frpc_test_written(tx);
	/* the work item writes the long one */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, FRPC_TEST_Q,
			 FRPC_TEST_Q);
}

/* Grant credit to a call, as a CREDIT frame from the peer does. */
static void frpc_test_grant(struct kunit *test, struct frpc_call *call,
			    u32 inc)
{
	int err;

	spin_lock_bh(&call->conn->lock);
	err = frpc_window_add(&call->tx_credit, inc);
	frpc_call_tx_ready(call);
	spin_unlock_bh(&call->conn->lock);
	KUNIT_EXPECT_EQ(test, err, 0);
}

static void frpc_test_tx_call_credit(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, 5000, true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 20000, 0, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, 5000);
	KUNIT_EXPECT_EQ(test, a->tx_credit, 0U);
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	frpc_test_grant(test, a, 20000);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, FASTRPC_FF_EOM, 1, 5000,
			 15000);
	KUNIT_EXPECT_EQ(test, a->tx_credit, 5000U);
}

/* A call without credit waits; the others go on. */
static void frpc_test_tx_out_of_credit(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, 0, true);
	struct frpc_call *b = frpc_test_call(test, tx->conn, 2, 1000, true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 1000, 0, true);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 1000, 0, true);
	/* the CALL head needs no credit: it opens the call on the server */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, 0);
	KUNIT_EXPECT_EQ(test, fr.plen, (u32)sizeof(struct fastrpc_wire_call));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 1000);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	frpc_test_grant(test, a, 600);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, 0, 600);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	frpc_test_grant(test, a, 400);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 600, 400);
}

/* A server reply without credit for its last piece holds its END back. */
static void frpc_test_tx_end_out_of_credit(struct kunit *test)
{
	enum { LEN = 10000 + FRPC_TEST_Q + 5000 };
	struct frpc_test_tx *tx = frpc_test_tx(test, false);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, 10000, true);
	struct frpc_call *b = frpc_test_call(test, tx->conn, 2, 1000, true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_END, LEN, 0, false);
	frpc_test_msg(tx, b, FASTRPC_FRAME_END, 10, 0, false);
	/* b's reply is short: it goes first (frpc_tx_short_first()) */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 2, 0, 10);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, 0, 10000);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, a->in_conn);
	frpc_test_grant(test, a, LEN - 10000);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, 10000, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_END, FASTRPC_FF_EOM, 1,
			 10000 + FRPC_TEST_Q, LEN - 10000 - FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, tx->conn->ncalls, 0U);
}

/* With the connection window shut nothing goes, and nothing is lost. */
static void frpc_test_tx_conn_credit_zero(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_test_frame fr;

	conn->tx_credit = 0;
	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 1000, 0, false);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	KUNIT_EXPECT_FALSE(test, list_empty(&conn->ready));
	KUNIT_EXPECT_EQ(test, a->tx_credit, U32_MAX >> 1);

	conn->tx_credit = 500;
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, 500);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 0U);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));

	conn->tx_credit = 1000;
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, FASTRPC_FF_EOM, 1, 500,
			 500);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 500U);
	KUNIT_EXPECT_EQ(test, a->tx_credit, (U32_MAX >> 1) - 1000);
}

/* The connection window is shared: what one call uses the next lacks. */
static void frpc_test_tx_conn_credit_shared(struct kunit *test)
{
	enum { L = FRPC_TEST_Q + 3616 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, U32_MAX >> 1, true);
	struct frpc_test_frame fr;

	conn->tx_credit = L;
	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, L, 0, false);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, L, 0, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 2, 0,
			 L - FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 0U);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(b));
	KUNIT_EXPECT_EQ(test, a->tx_credit, (U32_MAX >> 1) - FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, b->tx_credit,
			(U32_MAX >> 1) - (L - FRPC_TEST_Q));
}

/* An empty message needs no credit at all. */
static void frpc_test_tx_empty_message(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, 0, true);
	struct frpc_test_frame fr;

	tx->conn->tx_credit = 0;
	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 0, 4, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 0, 0);
	KUNIT_EXPECT_EQ(test, fr.plen,
			(u32)sizeof(struct fastrpc_wire_call) + 4);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
}

/*
 * The largest CALL head and as much of a quantum of data as fits after
 * it in one frame; the DATA frames after it carry a quantum each.
 */
static void frpc_test_tx_big_metadata(struct kunit *test)
{
	enum { HEAD = sizeof(struct fastrpc_wire_call) + FASTRPC_MAX_METADATA };
	const u32 first = min_t(u32, FRPC_TEST_Q, FASTRPC_MAX_FRAME - HEAD);
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 3 * FRPC_TEST_Q,
		      FASTRPC_MAX_METADATA, false);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 1, 0, first);
	KUNIT_EXPECT_EQ(test, fr.head_len, (u32)HEAD);
	KUNIT_EXPECT_LE(test, fr.plen, (u32)FASTRPC_MAX_FRAME);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_DATA, 0, 1, first,
			 FRPC_TEST_Q);
}

/* A call dropped while its frame is half written leaves an orphan. */
static void frpc_test_tx_drop_orphan(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, U32_MAX >> 1, true);
	struct frpc_test_frame fr;
	struct frpc_txmsg *m;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 100000, 0, false);
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 100, 0, true);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 100000, 0, false);
	m = list_first_entry(&a->txq, struct frpc_txmsg, node);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick_only(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 1U);
	KUNIT_EXPECT_PTR_EQ(test, conn->cur_msg, m);

	spin_lock_bh(&conn->lock);
	frpc_call_drop_tx(a);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_PTR_EQ(test, conn->cur_orphan, m);
	KUNIT_EXPECT_TRUE(test, list_empty(&a->txq));
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	/* the half-written frame still points into the kept message */
	KUNIT_EXPECT_EQ(test, *(u8 *)conn->cur.iov[conn->cur.niov - 1].iov_base,
			frpc_test_byte(1, 0));
	frpc_test_written(tx);

	/* only the other call is left */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	frpc_test_expect(tx, &fr, FASTRPC_FRAME_CALL, 0, 2, 0, FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, fr.id, 2U);
}

/* Mixed traffic: credits drop by exactly the data bytes framed. */
static void frpc_test_tx_credit_accounting(struct kunit *test)
{
	static const u32 lens[] = { 1, 999, FRPC_TEST_Q, 3 * FRPC_TEST_Q + 7,
				    70000 };
	struct frpc_test_tx *tx = frpc_test_tx(test, false);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *c[ARRAY_SIZE(lens)];
	u32 sent[ARRAY_SIZE(lens)] = {}, total = 0, frames = 0;
	struct frpc_test_frame fr;
	unsigned int i;

	conn->tx_credit = FRPC_CONN_WINDOW;
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		c[i] = frpc_test_call(test, conn, i + 1, FRPC_CALL_WINDOW, true);
		frpc_test_msg(tx, c[i], i % 2 ? FASTRPC_FRAME_END :
			      FASTRPC_FRAME_DATA, lens[i], 0, false);
	}
	while (frames < 100 && frpc_test_pick(tx, &fr)) {
		KUNIT_ASSERT_GE(test, fr.id, 1U);
		KUNIT_ASSERT_LE(test, fr.id, (u32)ARRAY_SIZE(lens));
		sent[fr.id - 1] += fr.data_len;
		total += fr.data_len;
		frames++;
	}
	for (i = 0; i < ARRAY_SIZE(lens); i++) {
		KUNIT_EXPECT_EQ(test, sent[i], lens[i]);
		/* END calls are freed once written; the others keep count */
		if (!(i % 2))
			KUNIT_EXPECT_EQ(test, c[i]->tx_credit,
					FRPC_CALL_WINDOW - lens[i]);
	}
	KUNIT_EXPECT_EQ(test, conn->tx_credit, FRPC_CONN_WINDOW - total);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 3U);
}

/*
 * SO_SNDBUF accounting: each frame gives its data bytes back to the
 * socket, a message's last frame its FRPC_TX_MSG_COST as well, and
 * dropping a call gives back what it never sent, costs included.
 */
static void frpc_test_tx_sndbuf(struct kunit *test)
{
	enum {
		LEN = 3 * FRPC_TEST_Q + 100,
		MSG = LEN + FRPC_TX_MSG_COST,	/* what it counts, queued */
	};
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_test_frame fr;
	struct frpc_sock *fs;
	s64 queued;

	fs = kunit_kzalloc(test, sizeof(*fs), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fs);
	spin_lock_init(&fs->lock);
	fs->sk.sk_sndbuf = 1 << 20;
	a->fs = fs;
	/* what sendmsg() charged for three messages, the last one empty */
	fs->tx_queued = 2 * MSG + FRPC_TX_MSG_COST;
	frpc_count_add(&frpc_test_net, tx_queued_bytes,
		       2 * MSG + FRPC_TX_MSG_COST);
	queued = frpc_test_count(tx_queued_bytes);

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, LEN, 0, false);
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, LEN, 0, false);
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 0, 0, true);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, fs->tx_queued,
			2 * MSG + FRPC_TX_MSG_COST - FRPC_TEST_Q);
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, fs->tx_queued,
			2 * MSG + FRPC_TX_MSG_COST - 2 * FRPC_TEST_Q);
	KUNIT_EXPECT_EQ(test, frpc_test_count(tx_queued_bytes),
			queued - 2 * FRPC_TEST_Q);
	/* the first message's last two frames: its cost comes back too */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	KUNIT_EXPECT_EQ(test, fs->tx_queued, MSG + FRPC_TX_MSG_COST);

	/* the second message half framed, the empty one not at all */
	KUNIT_ASSERT_TRUE(test, frpc_test_pick(tx, &fr));
	spin_lock_bh(&tx->conn->lock);
	frpc_call_drop_tx(a);
	spin_unlock_bh(&tx->conn->lock);
	KUNIT_EXPECT_EQ(test, fs->tx_queued, 0U);
	KUNIT_EXPECT_EQ(test, frpc_test_count(tx_queued_bytes),
			queued - 2 * MSG - FRPC_TX_MSG_COST);
	KUNIT_EXPECT_FALSE(test, frpc_test_pick(tx, &fr));
	a->fs = NULL;
}

/*
 * Thousands of tiny control frames (a server closing on as many calls
 * queues an END for each) spend little of a pass's byte budget: the pass
 * stops at FRPC_TX_FRAMES frames all the same, with nothing held back
 * by MSG_MORE, and the next passes write the rest.
 */
static void frpc_test_tx_frame_cap(struct kunit *test)
{
	enum { N = 3 * FRPC_TX_FRAMES };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_test_tp *tp = frpc_test_tp_attach(tx);
	unsigned int i;
	bool more;
	int err = 0;

	spin_lock_bh(&conn->lock);
	for (i = 0; i < N && !err; i++)
		err = frpc_queue_simple(conn, FASTRPC_FRAME_CANCEL, 0, i + 1,
					NULL, 0);
	spin_unlock_bh(&conn->lock);
	KUNIT_ASSERT_EQ(test, err, 0);

	mutex_lock(&conn->tx_mutex);
	more = frpc_conn_tx_flush(conn, FRPC_TX_WORK_BUDGET, NULL, NULL);
	mutex_unlock(&conn->tx_mutex);
	KUNIT_EXPECT_TRUE(test, more);
	KUNIT_EXPECT_LT(test, tp->len, N * FASTRPC_FRAME_HDR_LEN);
	/* at most the cap and a stage's worth of frames */
	KUNIT_EXPECT_LE(test, tp->len,
			FRPC_TX_FRAMES * FASTRPC_FRAME_HDR_LEN + FRPC_TX_STAGE);
	frpc_test_tp_done(tp);

	frpc_test_flush_all(tx);
	KUNIT_EXPECT_EQ(test, tp->len, N * FASTRPC_FRAME_HDR_LEN);
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, 0U);
	frpc_test_tp_done(tp);
}

/* Build a small frame of @len message bytes the way sendmsg() does. */
static void frpc_test_small(struct kunit *test, struct frpc_txsmall *sm,
			    u8 head_type, u32 len)
{
	struct fastrpc_wire_end eh = { .status = cpu_to_be32(FASTRPC_OK) };
	struct fastrpc_wire_call ch = {};
	u8 data[64] = { 1, 2, 3 };
	struct iov_iter it;
	struct kvec kv = { .iov_base = data, .iov_len = len };
	bool call = head_type == FASTRPC_FRAME_CALL;

	KUNIT_ASSERT_LE(test, len, (u32)sizeof(data));
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	KUNIT_ASSERT_TRUE(test, frpc_txsmall_fits(sizeof(ch), 0, len));
	KUNIT_ASSERT_EQ(test, frpc_txsmall_build(sm, head_type,
						 call ? (void *)&ch : &eh,
						 call ? sizeof(ch) : sizeof(eh),
						 NULL, 0, NULL, 0, &it, len), 0);
	KUNIT_EXPECT_EQ(test, sm->head_len,
			call ? (u32)sizeof(ch) : (u32)sizeof(eh));
}

static struct frpc_txsmall *frpc_test_small_new(struct kunit *test,
						u8 head_type, u32 len)
{
	struct frpc_txsmall *sm = kunit_kzalloc(test, sizeof(*sm), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sm);
	frpc_test_small(test, sm, head_type, len);
	return sm;
}

/*
 * Small frames staged in front of a long one go in a write of their own,
 * without MSG_MORE (f->push): in one write with it they would leave only
 * once TCP had taken the long frame too.  The long frame follows alone,
 * with MSG_MORE as another is ready behind it.
 */
static void frpc_test_tx_stage_push(struct kunit *test)
{
	enum { LONG = 2 * FRPC_TX_SHORT };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, U32_MAX >> 1, true);
	struct frpc_call *c = frpc_test_call(test, conn, 3, U32_MAX >> 1, true);
	struct frpc_call *d = frpc_test_call(test, conn, 4, U32_MAX >> 1, true);
	struct frpc_test_tp *tp = frpc_test_tp_attach(tx);
	const struct frpc_test_write *w;

	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 100, 0, true);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 200, 0, true);
	frpc_test_msg(tx, c, FASTRPC_FRAME_CALL, LONG, 0, true);
	frpc_test_msg(tx, d, FASTRPC_FRAME_CALL, LONG, 0, true);
	frpc_test_flush_all(tx);

	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), 4U);
	frpc_test_expect(tx, &tp->fr[0], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 0, 100);
	frpc_test_expect(tx, &tp->fr[1], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 200);
	frpc_test_expect(tx, &tp->fr[2], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 3, 0, LONG);
	frpc_test_expect(tx, &tp->fr[3], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 4, 0, LONG);
	/* the two staged frames, alone and pushed */
	w = frpc_test_tp_data(tp, 0);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w->off, 0U);
	KUNIT_EXPECT_EQ(test, w->len, tp->end[1]);
	KUNIT_EXPECT_FALSE(test, w->more);
	/* then the long one, another behind it */
	w = frpc_test_tp_data(tp, 1);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w->off, tp->end[1]);
	KUNIT_EXPECT_EQ(test, w->len, tp->end[2] - tp->end[1]);
	KUNIT_EXPECT_TRUE(test, w->more);
	w = frpc_test_tp_data(tp, 2);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w->off, tp->end[2]);
	KUNIT_EXPECT_NULL(test, frpc_test_tp_data(tp, 3));
	frpc_test_tp_done(tp);
}

/*
 * Another task wants the CPU: the flush stops between frames once it
 * wrote one, pushes what it corked, and leaves the rest queued for the
 * work item, whose next flush writes it: in order, nothing lost, nothing
 * written twice.
 */
static void frpc_test_tx_resched_stop(struct kunit *test)
{
	enum { N = 3, LEN = 1000 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *c[N];
	struct frpc_test_tp *tp;
	unsigned int i;

	for (i = 0; i < N; i++)
		c[i] = frpc_test_call(test, tx->conn, i + 1, U32_MAX >> 1,
				      true);
	tp = frpc_test_tp_attach(tx);
	/* not staged (too big), small enough for kmalloc() */
	for (i = 0; i < N; i++)
		frpc_test_msg(tx, c[i], FASTRPC_FRAME_CALL, LEN, 0, true);

	KUNIT_EXPECT_TRUE(test, frpc_test_flush_resched(tx));
	/* one frame, with MSG_MORE for the next; pushed as it stops */
	KUNIT_ASSERT_EQ(test, tp->nw, 2U);
	KUNIT_EXPECT_TRUE(test, tp->w[0].more);
	KUNIT_EXPECT_EQ(test, tp->w[1].len, 0U);
	KUNIT_EXPECT_FALSE(test, tp->w[1].more);
	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), 1U);
	frpc_test_expect(tx, &tp->fr[0], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 0, LEN);
	KUNIT_EXPECT_EQ(test, tx->conn->cur.left, (size_t)0);
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(c[0]));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(c[1]));
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(c[2]));

	frpc_test_flush_all(tx);
	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), (unsigned int)N);
	for (i = 0; i < N; i++)
		frpc_test_expect(tx, &tp->fr[i], FASTRPC_FRAME_CALL,
				 FASTRPC_FF_EOM | FASTRPC_FF_EOS, i + 1, 0, LEN);
	frpc_test_tp_done(tp);
}

/*
 * A flush that stops for need_resched() after writing staged frames has
 * emptied the stage: frames a batch stages before the work item runs go
 * out, ahead of what is queued.  (Stopping before the last frame's state
 * was cleared left the stage marked written, and the next flush dropped
 * the frames staged meanwhile.)
 */
static void frpc_test_tx_resched_staged(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, U32_MAX >> 1, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, U32_MAX >> 1, true);
	struct frpc_call *c = frpc_test_call(test, conn, 3, U32_MAX >> 1, true);
	struct frpc_call *d = frpc_test_call(test, conn, 4, 1000, true);
	struct frpc_test_tp *tp = frpc_test_tp_attach(tx);
	struct frpc_tx_plug plug = {};
	struct frpc_txsmall *sm;
	bool claimed;

	sm = frpc_test_small_new(test, FASTRPC_FRAME_END, 40);
	frpc_test_msg(tx, a, FASTRPC_FRAME_CALL, 100, 0, true);
	frpc_test_msg(tx, b, FASTRPC_FRAME_CALL, 1000, 0, true);
	frpc_test_msg(tx, c, FASTRPC_FRAME_CALL, 1000, 0, true);
	/* the stage, before preemption is off */
	mutex_lock(&conn->tx_mutex);
	KUNIT_EXPECT_TRUE(test, frpc_tx_stage_alloc(conn));
	mutex_unlock(&conn->tx_mutex);

	/* a staged, written in front of b; then the stop */
	KUNIT_EXPECT_TRUE(test, frpc_test_flush_resched(tx));
	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), 2U);
	KUNIT_EXPECT_EQ(test, tp->fr[0].id, 1U);
	KUNIT_EXPECT_EQ(test, tp->fr[1].id, 2U);
	KUNIT_ASSERT_GE(test, tp->nw, 1U);
	KUNIT_EXPECT_EQ(test, tp->w[0].len, tp->end[1]);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(c));

	/* a batch stages d's reply before the work item runs */
	KUNIT_ASSERT_TRUE(test, frpc_tx_stage_begin(conn, sm->len));
	spin_lock_bh(&conn->lock);
	claimed = frpc_tx_stage_claim(d, sm);
	spin_unlock_bh(&conn->lock);
	if (!claimed)
		mutex_unlock(&conn->tx_mutex);
	KUNIT_ASSERT_TRUE(test, claimed);
	frpc_tx_stage_put(conn, sm, 4, FASTRPC_FF_EOM, &plug);
	/* no work item here: the plug's reference goes by hand */
	KUNIT_EXPECT_PTR_EQ(test, plug.conn, conn);
	plug.conn = NULL;
	frpc_conn_put(conn);

	/* the work item: d, staged, goes first, then c */
	frpc_test_flush_all(tx);
	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), 4U);
	frpc_test_expect(tx, &tp->fr[0], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 1, 0, 100);
	frpc_test_expect(tx, &tp->fr[1], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 1000);
	KUNIT_EXPECT_EQ(test, tp->fr[2].type, (u8)FASTRPC_FRAME_END);
	KUNIT_EXPECT_EQ(test, tp->fr[2].id, 4U);
	KUNIT_EXPECT_EQ(test, tp->end[2] - tp->end[1], sm->len);
	KUNIT_EXPECT_EQ(test, memcmp(tp->buf + tp->end[1], sm->data, sm->len),
			0);
	frpc_test_expect(tx, &tp->fr[3], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 3, 0, 1000);
	frpc_test_tp_done(tp);
}

/*
 * A long message of call 1 written by its sender (frpc_txbulk_write(),
 * the sender of socket @own) from a kernel buffer, with a CALL of
 * @late_len bytes queued on @late by another socket's sender while the
 * first frame is in TCP.  Returns what the bulk sender wrote.
 */
static u32 frpc_test_bulk(struct frpc_test_tx *tx, struct frpc_test_tp *tp,
			  struct frpc_call *a, u32 len, struct frpc_call *late,
			  u32 late_len)
{
	struct kunit *test = tx->test;
	struct frpc_conn *conn = tx->conn;
	struct frpc_sock *own = kunit_kzalloc(test, sizeof(*own), GFP_KERNEL);
	u8 *data = kunit_kmalloc(test, len, GFP_KERNEL);
	struct frpc_txbulk b;
	struct iov_iter it;
	struct kvec kv;
	u32 i, sent;

	KUNIT_ASSERT_NOT_NULL(test, own);	/* only compared */
	KUNIT_ASSERT_NOT_NULL(test, data);
	for (i = 0; i < len; i++)
		data[i] = frpc_test_byte(a->id, i);
	kv.iov_base = data;
	kv.iov_len = len;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	KUNIT_ASSERT_EQ(test, frpc_txbulk_get(&b, &it, len), 0);
	tp->late = late;
	tp->late_len = late_len;
	spin_lock_bh(&conn->lock);
	a->tx_bulk = true;
	spin_unlock_bh(&conn->lock);
	mutex_lock(&conn->tx_mutex);
	sent = frpc_txbulk_write(conn, own, a->id, &b, FASTRPC_FF_EOM, false,
				 0);
	mutex_unlock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	a->tx_bulk = false;
	spin_unlock_bh(&conn->lock);
	frpc_txbulk_release(&b);
	KUNIT_EXPECT_NULL(test, tp->late);	/* it was queued */
	return sent;
}

/*
 * A bulk sender that finds another socket's short message waiting
 * writes it (frpc_conn_tx_flush() with its socket) and goes on with its
 * own frames, to the last, which goes without MSG_MORE.
 */
static void frpc_test_tx_bulk_flush(struct kunit *test)
{
	enum { LEN = 2 * FRPC_TEST_Q + 100 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_call *s = frpc_test_call(test, tx->conn, 2, U32_MAX >> 1,
					     true);
	struct frpc_test_tp *tp = frpc_test_tp_attach(tx);
	const struct frpc_test_write *w;
	unsigned int i, n;
	u32 off;

	KUNIT_EXPECT_EQ(test, frpc_test_bulk(tx, tp, a, LEN, s, 100),
			(u32)LEN);
	n = frpc_test_tp_frames(tp);
	KUNIT_ASSERT_GE(test, n, 3U);
	/* a's first frame, the short CALL, then the rest of a's message */
	frpc_test_expect(tx, &tp->fr[0], FASTRPC_FRAME_DATA, 0, 1, 0,
			 FRPC_TEST_Q);
	frpc_test_expect(tx, &tp->fr[1], FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM | FASTRPC_FF_EOS, 2, 0, 100);
	off = FRPC_TEST_Q;
	for (i = 2; i < n; i++) {
		frpc_test_expect(tx, &tp->fr[i], FASTRPC_FRAME_DATA,
				 i == n - 1 ? FASTRPC_FF_EOM : 0, 1, off,
				 tp->fr[i].data_len);
		off += tp->fr[i].data_len;
	}
	KUNIT_EXPECT_EQ(test, off, (u32)LEN);
	/* a's first frame went with MSG_MORE, the short one pushed it */
	w = frpc_test_tp_data(tp, 0);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w->len, tp->end[0]);
	KUNIT_EXPECT_TRUE(test, w->more);
	w = frpc_test_tp_data(tp, 1);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_EQ(test, w->len, tp->end[1] - tp->end[0]);
	KUNIT_EXPECT_FALSE(test, w->more);
	frpc_test_tp_done(tp);
}

/*
 * What waits is another socket's long message: the bulk sender's flush
 * leaves it to the work item and writes nothing, and the sender stops
 * (its caller queues the rest).  Its frame that went with MSG_MORE is
 * pushed all the same.
 */
static void frpc_test_tx_bulk_flush_nothing(struct kunit *test)
{
	enum { LEN = 2 * FRPC_TEST_Q + 100 };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_call *a = frpc_test_call(test, tx->conn, 1, U32_MAX >> 1,
					     true);
	struct frpc_call *l = frpc_test_call(test, tx->conn, 2, U32_MAX >> 1,
					     true);
	struct frpc_test_tp *tp = frpc_test_tp_attach(tx);
	const struct frpc_test_write *w;

	KUNIT_EXPECT_EQ(test, frpc_test_bulk(tx, tp, a, LEN, l,
					     2 * FRPC_TX_SHORT),
			(u32)FRPC_TEST_Q);
	KUNIT_ASSERT_EQ(test, frpc_test_tp_frames(tp), 1U);
	frpc_test_expect(tx, &tp->fr[0], FASTRPC_FRAME_DATA, 0, 1, 0,
			 FRPC_TEST_Q);
	w = frpc_test_tp_data(tp, 0);
	KUNIT_ASSERT_NOT_NULL(test, w);
	KUNIT_EXPECT_TRUE(test, w->more);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(l));
	frpc_test_tp_done(tp);
}

/*
 * When a small message may skip the queues and go to TCP at once: only
 * with the connection writable, no frame half written, no control frame
 * queued, nothing of the call's own queued, credit for all of it, and for
 * a CALL no earlier call whose CALL frame is still queued (the server
 * takes ids in rising order).  A refused claim takes no credit.
 */
static void frpc_test_tx_direct_claim(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, 1000, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, 1000, true);
	struct frpc_txsmall *call_sm, *end_sm;
	struct socket *fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	u32 conn_credit;

	KUNIT_ASSERT_NOT_NULL(test, fake);
	call_sm = frpc_test_small_new(test, FASTRPC_FRAME_CALL, 40);
	end_sm = frpc_test_small_new(test, FASTRPC_FRAME_END, 40);

	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	/* no TCP socket: nowhere to write */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	conn->tcp = fake;	/* only looked at, never used */
	conn->cur.left = 5;	/* a frame half written must finish first */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	conn->cur.left = 0;
	conn_credit = conn->tx_credit;
	conn->tx_credit = 39;	/* the connection window is short */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	KUNIT_EXPECT_EQ(test, conn->tx_credit, 39U);
	conn->tx_credit = conn_credit;
	a->tx_credit = 39;	/* so is the call's */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	a->tx_credit = 1000;
	/* a queued control frame (a server's HELLO: its first) goes first */
	KUNIT_ASSERT_EQ(test, frpc_queue_simple(conn, FASTRPC_FRAME_PING, 0, 0,
						NULL, 0), 0);
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, end_sm));
	spin_unlock_bh(&conn->lock);
	frpc_conn_tx_purge(conn);	/* tx_mutex held */
	spin_lock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, frpc_tx_direct_claim(a, call_sm));
	KUNIT_EXPECT_EQ(test, a->tx_credit, 960U);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, conn_credit - 40);
	KUNIT_EXPECT_TRUE(test, a->wire_started);
	spin_unlock_bh(&conn->lock);

	/* b has a message queued: its next one must go behind it */
	frpc_test_msg(tx, b, FASTRPC_FRAME_DATA, 10, 0, false);
	spin_lock_bh(&conn->lock);
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(b, end_sm));
	/* a CALL may not pass another call's queued frames ... */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(a, call_sm));
	/* ... an END may */
	KUNIT_EXPECT_TRUE(test, frpc_tx_direct_claim(a, end_sm));
	conn->tcp = NULL;
	spin_unlock_bh(&conn->lock);
	mutex_unlock(&conn->tx_mutex);
}

/*
 * A batch's small messages are staged (frpc_tx_stage_begin(),
 * frpc_tx_stage_claim(), frpc_tx_stage_put()): only with tx_mutex free,
 * a transport and no frame half written, and only what fits a staged
 * frame.  Staged frames are the next on the wire: no direct or bulk claim
 * may pass them, while later small messages join them behind, and a kick
 * finds them to write.
 */
static void frpc_test_tx_stage_claim(struct kunit *test)
{
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, 1000, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, 1000, true);
	struct socket *fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	const struct fastrpc_frame_hdr *h;
	struct frpc_txsmall *call_sm, *end_sm;
	struct frpc_tx_plug plug = {};
	u32 conn_credit, n, refs;
	bool starved;

	KUNIT_ASSERT_NOT_NULL(test, fake);
	call_sm = frpc_test_small_new(test, FASTRPC_FRAME_CALL, 40);
	end_sm = frpc_test_small_new(test, FASTRPC_FRAME_END, 40);

	/* no TCP socket, or a frame too big to stage: not taken */
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage_begin(conn, call_sm->len));
	KUNIT_EXPECT_FALSE(test, mutex_is_locked(&conn->tx_mutex));
	conn->tcp = fake;	/* only looked at: nothing is written here */
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage_begin(conn, FRPC_TX_STAGE_FRAME + 1));
	KUNIT_EXPECT_FALSE(test, mutex_is_locked(&conn->tx_mutex));
	/* another writer holds tx_mutex */
	mutex_lock(&conn->tx_mutex);
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage_begin(conn, call_sm->len));
	/* a frame half written must finish first */
	conn->cur.left = 5;
	mutex_unlock(&conn->tx_mutex);
	KUNIT_EXPECT_FALSE(test, frpc_tx_stage_begin(conn, call_sm->len));
	KUNIT_EXPECT_FALSE(test, mutex_is_locked(&conn->tx_mutex));
	conn->cur.left = 0;

	KUNIT_ASSERT_TRUE(test, frpc_tx_stage_begin(conn, call_sm->len));
	KUNIT_EXPECT_TRUE(test, mutex_is_locked(&conn->tx_mutex));
	KUNIT_ASSERT_NOT_NULL(test, conn->tx_stage);
	spin_lock_bh(&conn->lock);
	conn_credit = conn->tx_credit;
	KUNIT_EXPECT_TRUE(test, frpc_tx_stage_claim(a, call_sm));
	KUNIT_EXPECT_EQ(test, a->tx_credit, 960U);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, conn_credit - 40);
	spin_unlock_bh(&conn->lock);
	refs = kref_read(&conn->ref);
	frpc_tx_stage_put(conn, call_sm, 1, FASTRPC_FF_EOM | FASTRPC_FF_EOS,
			  &plug);
	/* tx_mutex goes with it; the plug holds the connection for its end */
	KUNIT_EXPECT_FALSE(test, mutex_is_locked(&conn->tx_mutex));
	KUNIT_EXPECT_PTR_EQ(test, plug.conn, conn);
	KUNIT_EXPECT_EQ(test, kref_read(&conn->ref), refs + 1);
	mutex_lock(&conn->tx_mutex);
	n = call_sm->len;
	KUNIT_EXPECT_EQ(test, conn->tx_stage_len, n);
	h = (const void *)conn->tx_stage;
	KUNIT_EXPECT_EQ(test, h->type, (u8)FASTRPC_FRAME_CALL);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->call_id), 1U);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(h->flags),
			(u16)(FASTRPC_FF_EOM | FASTRPC_FF_EOS));
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->length),
			n - FASTRPC_FRAME_HDR_LEN);
	KUNIT_EXPECT_EQ(test, memcmp(conn->tx_stage + FASTRPC_FRAME_HDR_LEN,
				     call_sm->data + FASTRPC_FRAME_HDR_LEN,
				     n - FASTRPC_FRAME_HDR_LEN), 0);
	/* what is staged is pending: a kick writes it */
	KUNIT_EXPECT_TRUE(test, frpc_tx_pending(conn));

	spin_lock_bh(&conn->lock);
	/* nothing goes in front of it: no direct CALL, END or bulk frame */
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(b, call_sm));
	KUNIT_EXPECT_FALSE(test, frpc_tx_direct_claim(b, end_sm));
	KUNIT_EXPECT_EQ(test, b->tx_credit, 1000U);
	b->tx_bulk = true;
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 2, 100, false, true,
						&starved), 0U);
	KUNIT_EXPECT_FALSE(test, starved);
	b->tx_bulk = false;
	/* behind it is fine */
	KUNIT_EXPECT_TRUE(test, frpc_tx_stage_claim(b, end_sm));
	spin_unlock_bh(&conn->lock);
	frpc_tx_stage_put(conn, end_sm, 2, FASTRPC_FF_EOM, &plug);
	/* the same connection: the plug holds it once */
	KUNIT_EXPECT_EQ(test, kref_read(&conn->ref), refs + 1);
	mutex_lock(&conn->tx_mutex);
	KUNIT_EXPECT_EQ(test, conn->tx_stage_len, n + end_sm->len);
	h = (const void *)(conn->tx_stage + n);
	KUNIT_EXPECT_EQ(test, h->type, (u8)FASTRPC_FRAME_END);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(h->call_id), 2U);

	/* once written (the flush empties the stage), direct claims go */
	conn->tx_stage_len = 0;
	spin_lock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, frpc_tx_direct_claim(b, end_sm));
	conn->tcp = NULL;
	spin_unlock_bh(&conn->lock);
	mutex_unlock(&conn->tx_mutex);
	/* no transport to write to: the plug's reference goes by hand */
	plug.conn = NULL;
	frpc_conn_put(conn);
}

/*
 * When the next frame of a long message may go from the sender's pages
 * (txbulk.c): a small message's conditions, one frame at a time (at most
 * a quantum, and what credit is left), only for the call the sender
 * marked (tx_bulk), and never while another call is ready (from there the
 * scheduler takes turns).  Only a call short of its own credit is marked
 * to be woken when credit comes.  While marked, the call's queued
 * messages wait: the rest of the half-written one goes first.
 */
static void frpc_test_tx_bulk_claim(struct kunit *test)
{
	enum { Q = FRPC_TX_QUANTUM, LEFT = 3 * Q };
	struct frpc_test_tx *tx = frpc_test_tx(test, true);
	struct frpc_conn *conn = tx->conn;
	struct frpc_call *a = frpc_test_call(test, conn, 1, 2 * Q + 100, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, 1000, true);
	struct socket *fake = kunit_kzalloc(test, sizeof(*fake), GFP_KERNEL);
	bool starved;
	u32 conn_credit;

	KUNIT_ASSERT_NOT_NULL(test, fake);
	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	a->tx_bulk = true;
	/* no TCP socket: nowhere to write */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, LEFT, false, true, &starved),
			0U);
	conn->tcp = fake;	/* only looked at, never used */
	conn->cur.left = 5;	/* a frame half written must finish first */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, LEFT, false, true, &starved),
			0U);
	KUNIT_EXPECT_FALSE(test, starved);
	conn->cur.left = 0;
	/* a call that is gone */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 9, LEFT, false, true, &starved),
			0U);
	/* a quantum, another, then the credit that is left */
	conn_credit = conn->tx_credit;
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, LEFT, false, true, &starved),
			(u32)Q);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, LEFT - Q, false, true,
						&starved), (u32)Q);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, LEFT - 2 * Q, false, true,
						&starved), 100U);
	KUNIT_EXPECT_EQ(test, a->tx_credit, 0U);
	KUNIT_EXPECT_EQ(test, conn->tx_credit, conn_credit - 2 * Q - 100);
	KUNIT_EXPECT_FALSE(test, a->tx_waiting);
	/* out of the call's credit: starved, and marked */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 500, false, true, &starved),
			0U);
	KUNIT_EXPECT_TRUE(test, starved);
	KUNIT_EXPECT_TRUE(test, a->tx_waiting);
	a->tx_waiting = false;
	/* the connection's window shut is no reason to wait for the call's */
	a->tx_credit = 1000;
	conn_credit = conn->tx_credit;
	conn->tx_credit = 0;
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 500, false, true, &starved),
			0U);
	KUNIT_EXPECT_FALSE(test, starved);
	KUNIT_EXPECT_FALSE(test, a->tx_waiting);
	conn->tx_credit = conn_credit;
	/* the last piece: what is left, less than a quantum */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 500, false, true, &starved),
			500U);
	/* a queued control frame goes first */
	KUNIT_ASSERT_EQ(test, frpc_queue_simple(conn, FASTRPC_FRAME_PING, 0, 0,
						NULL, 0), 0);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 400, false, true, &starved),
			0U);
	spin_unlock_bh(&conn->lock);
	frpc_conn_tx_purge(conn);	/* tx_mutex held */

	/* another call ready: its turn, and the sender's rest is queued */
	frpc_test_msg(tx, b, FASTRPC_FRAME_DATA, 10, 0, false);
	spin_lock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 400, false, true, &starved),
			0U);
	KUNIT_EXPECT_FALSE(test, starved);
	list_del_init(&b->tx_node);
	/* b is not marked: nobody writes a message of it from its pages */
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 2, 400, false, true, &starved),
			0U);
	KUNIT_EXPECT_EQ(test, frpc_txbulk_claim(conn, 1, 400, false, true, &starved),
			400U);
	conn->tcp = NULL;
	spin_unlock_bh(&conn->lock);
	mutex_unlock(&conn->tx_mutex);

	/* a message queued on a marked call waits for the mark to go */
	frpc_test_msg(tx, a, FASTRPC_FRAME_DATA, 10, 0, false);
	KUNIT_EXPECT_FALSE(test, frpc_test_ready(a));
	spin_lock_bh(&conn->lock);
	a->tx_bulk = false;
	frpc_call_tx_ready(a);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, frpc_test_ready(a));
}

/*
 * Which messages frpc_txbulk takes: over a quantum, at most a message,
 * from user or kernel memory.  Kernel memory (a ring's buffer area) is
 * taken as it is, no pages held, and the source moves past it.
 */
static void frpc_test_tx_bulk_get(struct kunit *test)
{
	enum { LEN = FRPC_TX_QUANTUM + 1 };
	u8 *data = kunit_kzalloc(test, LEN + 10, GFP_KERNEL);
	struct frpc_txbulk b;
	struct iov_iter it;
	struct kvec kv;

	KUNIT_ASSERT_NOT_NULL(test, data);
	kv.iov_base = data;
	kv.iov_len = LEN + 10;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, LEN + 10);
	KUNIT_EXPECT_FALSE(test, frpc_txbulk_fits(FRPC_TX_QUANTUM, &it));
	KUNIT_EXPECT_TRUE(test, frpc_txbulk_fits(LEN, &it));
	KUNIT_EXPECT_FALSE(test, frpc_txbulk_fits(FASTRPC_MAX_MSG + 1, &it));
	KUNIT_ASSERT_EQ(test, frpc_txbulk_get(&b, &it, LEN), 0);
	KUNIT_EXPECT_EQ(test, b.nr_pages, 0U);
	KUNIT_EXPECT_EQ(test, iov_iter_count(&b.it), (size_t)LEN);
	KUNIT_EXPECT_EQ(test, iov_iter_count(&it), (size_t)10);
	frpc_txbulk_release(&b);
}

static struct kunit_case frpc_tx_cases[] = {
	KUNIT_CASE(frpc_test_tx_ctrl_first),
	KUNIT_CASE(frpc_test_tx_stage),
	KUNIT_CASE(frpc_test_tx_direct_claim),
	KUNIT_CASE(frpc_test_tx_stage_claim),
	KUNIT_CASE(frpc_test_tx_bulk_claim),
	KUNIT_CASE(frpc_test_tx_bulk_get),
	KUNIT_CASE(frpc_test_tx_state),
	KUNIT_CASE(frpc_test_tx_single_frame),
	KUNIT_CASE(frpc_test_tx_large_call),
	KUNIT_CASE(frpc_test_tx_eos),
	KUNIT_CASE(frpc_test_tx_messages_in_order),
	KUNIT_CASE(frpc_test_tx_end_pieces),
	KUNIT_CASE(frpc_test_tx_end_small),
	KUNIT_CASE(frpc_test_tx_end_big_head),
	KUNIT_CASE(frpc_test_tx_round_robin),
	KUNIT_CASE(frpc_test_tx_fairness),
	KUNIT_CASE(frpc_test_tx_small_not_blocked),
	KUNIT_CASE(frpc_test_tx_short_first),
	KUNIT_CASE(frpc_test_tx_short_first_ids),
	KUNIT_CASE(frpc_test_tx_short_first_bounded),
	KUNIT_CASE(frpc_test_tx_mixed_quantum),
	KUNIT_CASE(frpc_test_tx_mixed_bulk),
	KUNIT_CASE(frpc_test_tx_inline_yield),
	KUNIT_CASE(frpc_test_tx_stage_push),
	KUNIT_CASE(frpc_test_tx_resched_stop),
	KUNIT_CASE(frpc_test_tx_resched_staged),
	KUNIT_CASE(frpc_test_tx_bulk_flush),
	KUNIT_CASE(frpc_test_tx_bulk_flush_nothing),
	KUNIT_CASE(frpc_test_tx_call_credit),
	KUNIT_CASE(frpc_test_tx_out_of_credit),
	KUNIT_CASE(frpc_test_tx_end_out_of_credit),
	KUNIT_CASE(frpc_test_tx_conn_credit_zero),
	KUNIT_CASE(frpc_test_tx_conn_credit_shared),
	KUNIT_CASE(frpc_test_tx_empty_message),
	KUNIT_CASE(frpc_test_tx_big_metadata),
	KUNIT_CASE(frpc_test_tx_drop_orphan),
	KUNIT_CASE(frpc_test_tx_credit_accounting),
	KUNIT_CASE(frpc_test_tx_sndbuf),
	KUNIT_CASE(frpc_test_tx_frame_cap),
	{}
};

static struct kunit_suite frpc_tx_suite = {
	.name = "frpc_tx_sched",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_tx_cases,
};
