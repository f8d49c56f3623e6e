// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suites for flow control: the window arithmetic of wire.c, fuzzed against
 * a naive model of a sender and a receiver, and the CREDIT frames that
 * tx.c queues as the application consumes.  Included by af_fastrpc_kunit.c.
 */

static void frpc_test_window_add_zero(struct kunit *test)
{
	u32 w = 1000;

	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, w, 1000U);
	w = 0;
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, w, 0U);
}

static void frpc_test_window_add(struct kunit *test)
{
	u32 w = 0;

	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 1), 0);
	KUNIT_EXPECT_EQ(test, w, 1U);
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, FRPC_CALL_WINDOW), 0);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_CALL_WINDOW + 1);
}

static void frpc_test_window_add_wrap(struct kunit *test)
{
	u32 w = 10;

	/* 10 + (2^32 - 5) wraps to 5: must not be taken as a small window */
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, U32_MAX - 4), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, 10U);
	w = FRPC_WINDOW_MAX;
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, U32_MAX), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX);
	w = U32_MAX;
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 1), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, U32_MAX);
}

static void frpc_test_window_add_max(struct kunit *test)
{
	u32 w = FRPC_WINDOW_MAX - 10;

	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 11), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX - 10);
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 0x80000000U), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX - 10);
	/* exactly the maximum is allowed, one more is not */
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 10), 0);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, 1), -EOVERFLOW);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX);
	w = 0;
	KUNIT_EXPECT_EQ(test, frpc_window_add(&w, FRPC_WINDOW_MAX), 0);
	KUNIT_EXPECT_EQ(test, w, (u32)FRPC_WINDOW_MAX);
}

static void frpc_test_window_take(struct kunit *test)
{
	u32 avail = 100;

	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 0), 0);
	KUNIT_EXPECT_EQ(test, avail, 100U);
	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 40), 0);
	KUNIT_EXPECT_EQ(test, avail, 60U);
	/* exactly what is left */
	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 60), 0);
	KUNIT_EXPECT_EQ(test, avail, 0U);
	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 0), 0);
}

static void frpc_test_window_take_overrun(struct kunit *test)
{
	u32 avail = 100;

	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 101), -ENOSPC);
	KUNIT_EXPECT_EQ(test, avail, 100U);
	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, U32_MAX), -ENOSPC);
	KUNIT_EXPECT_EQ(test, avail, 100U);
	avail = 0;
	KUNIT_EXPECT_EQ(test, frpc_window_take(&avail, 1), -ENOSPC);
	KUNIT_EXPECT_EQ(test, avail, 0U);
}

static void frpc_test_credit_due_batch(struct kunit *test)
{
	u32 window = FRPC_CALL_WINDOW;
	u32 quarter = window / FRPC_CREDIT_BATCH_DIV;
	u32 owed = 0;

	KUNIT_EXPECT_EQ(test, frpc_credit_due(&owed, 1, window), 0U);
	KUNIT_EXPECT_EQ(test, owed, 1U);
	KUNIT_EXPECT_EQ(test, frpc_credit_due(&owed, quarter - 2, window), 0U);
	KUNIT_EXPECT_EQ(test, owed, quarter - 1);
	KUNIT_EXPECT_EQ(test, frpc_credit_due(&owed, 0, window), 0U);
	KUNIT_EXPECT_EQ(test, owed, quarter - 1);
}

static void frpc_test_credit_due_threshold(struct kunit *test)
{
	u32 window = FRPC_CONN_WINDOW;
	u32 quarter = window / FRPC_CREDIT_BATCH_DIV;
	u32 owed = 0;

	/* one consumption of exactly a quarter window goes at once */
	KUNIT_EXPECT_EQ(test, frpc_credit_due(&owed, quarter, window), quarter);
	KUNIT_EXPECT_EQ(test, owed, 0U);
	/* more than a quarter: all of it */
	KUNIT_EXPECT_EQ(test, frpc_credit_due(&owed, window, window), window);
	KUNIT_EXPECT_EQ(test, owed, 0U);
}

static void frpc_test_credit_due_accumulate(struct kunit *test)
{
	u32 window = FRPC_CALL_WINDOW;
	u32 quarter = window / FRPC_CREDIT_BATCH_DIV;
	u32 owed = 0, total = 0, due = 0;
	unsigned int i;

	/* 1000-byte messages: credit goes back once per quarter window */
	for (i = 0; i < 1000 && !due; i++) {
		due = frpc_credit_due(&owed, 1000, window);
		total += 1000;
	}
	KUNIT_EXPECT_EQ(test, i, DIV_ROUND_UP(quarter, 1000));
	KUNIT_EXPECT_EQ(test, due, total);
	KUNIT_EXPECT_EQ(test, owed, 0U);
	KUNIT_EXPECT_GE(test, due, quarter);
}

static void frpc_test_credit_due_saturate(struct kunit *test)
{
	u32 owed = U32_MAX - 1;
	u32 due;

	/* owed must not wrap to a small number and lose credit */
	due = frpc_credit_due(&owed, 10, FRPC_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, due, (u32)FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, owed, U32_MAX - (u32)FRPC_WINDOW_MAX);
	/* a grant never exceeds what a window may hold: the rest waits */
	due = frpc_credit_due(&owed, 0, FRPC_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, due, (u32)FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, owed, 1U);
	due = frpc_credit_due(&owed, 0, FRPC_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, due, 0U);
	KUNIT_EXPECT_EQ(test, owed, 1U);
	/* already saturated: stays saturated */
	owed = U32_MAX;
	due = frpc_credit_due(&owed, U32_MAX, FRPC_CALL_WINDOW);
	KUNIT_EXPECT_EQ(test, due, (u32)FRPC_WINDOW_MAX);
	KUNIT_EXPECT_EQ(test, owed, U32_MAX - (u32)FRPC_WINDOW_MAX);
}

static void frpc_test_frame_chunk(struct kunit *test)
{
	/* the quantum bounds one call's frame */
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(1 << 20, U32_MAX, U32_MAX),
			(u32)FRPC_TX_QUANTUM);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(FRPC_TX_QUANTUM + 1, U32_MAX,
					       U32_MAX), (u32)FRPC_TX_QUANTUM);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(100, U32_MAX, U32_MAX), 100U);
	/* then the call's credit, then the connection's */
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(1 << 20, 5000, 1 << 20), 5000U);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(1 << 20, 1 << 20, 3000), 3000U);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(2000, 3000, 1000), 1000U);
	/* and zero whenever anything is zero */
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(0, 100, 100), 0U);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(100, 0, 100), 0U);
	KUNIT_EXPECT_EQ(test, frpc_frame_chunk(100, 100, 0), 0U);
}

/*
 * Fuzz: one connection with a few calls, a sender and a receiver, driven
 * by a fixed-seed xorshift.  Data frames and CREDIT frames are in flight
 * in FIFOs.  The real functions compute chunks, take and add windows and
 * batch credit; a naive model in 64-bit arithmetic predicts every result,
 * and window conservation is checked after every step:
 *   receiver avail == sender credit + data in flight + credit in flight
 *   sender credit + in flight + buffered + owed + credit in flight == window
 */
enum { FRPC_FUZZ_CALLS = 4, FRPC_FUZZ_FIFO = 64, FRPC_FUZZ_STEPS = 20000 };

struct frpc_fuzz_param {
	u32	seed;
	u32	call_window;
	u32	conn_window;
	u32	max_msg;
	bool	stalls;		/* the windows must run dry at times */
};

static const struct frpc_fuzz_param frpc_fuzz_params[] = {
	{ 0x9e3779b9, FRPC_CALL_WINDOW, FRPC_CONN_WINDOW, 1 << 20, true },
	{ 0x12345678, FASTRPC_MIN_CALL_WINDOW, 100000, 300000, true },
	{ 0xdeadbeef, FASTRPC_MIN_CALL_WINDOW, FASTRPC_MIN_CALL_WINDOW,
	  200000, true },
	{ 0x00c0ffee, FRPC_WINDOW_MAX, FRPC_WINDOW_MAX, 64 << 20, false },
	{ 0x0badcafe, FASTRPC_MIN_CALL_WINDOW, FRPC_CONN_WINDOW, 5000, false },
};

static void frpc_fuzz_desc(const struct frpc_fuzz_param *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "seed %#x call %u conn %u",
		 p->seed, p->call_window, p->conn_window);
}

KUNIT_ARRAY_PARAM(frpc_fuzz, frpc_fuzz_params, frpc_fuzz_desc);

/* One flow-controlled direction: a call's window or the connection's. */
struct frpc_fuzz_flow {
	u32	window;
	/* the real state, as the module keeps it */
	u32	tx_credit;	/* sender */
	u32	rx_avail;	/* receiver */
	u32	rx_owed;	/* receiver */
	/* the model */
	u64	m_credit, m_avail, m_owed;
	u64	inflight, buffered, granting;
};

struct frpc_fuzz_item {
	u8	flow;
	u32	len;
};

struct frpc_fuzz_fifo {
	struct frpc_fuzz_item	item[FRPC_FUZZ_FIFO];
	unsigned int		head, n;
};

struct frpc_fuzz {
	struct frpc_fuzz_flow	flow[FRPC_FUZZ_CALLS + 1];	/* last: conn */
	u64			left[FRPC_FUZZ_CALLS];	/* message bytes */
	struct frpc_fuzz_fifo	data, credit;
	u32			rng;
	u64			sent, consumed;
	unsigned int		stalls;		/* sends without credit */
};

static u32 frpc_fuzz_rand(struct frpc_fuzz *z)
{
	z->rng ^= z->rng << 13;
	z->rng ^= z->rng >> 17;
	z->rng ^= z->rng << 5;
	return z->rng;
}

static bool frpc_fuzz_push(struct frpc_fuzz_fifo *q, u8 flow, u32 len)
{
	if (q->n == FRPC_FUZZ_FIFO)
		return false;
	q->item[(q->head + q->n++) % FRPC_FUZZ_FIFO] =
		(struct frpc_fuzz_item){ .flow = flow, .len = len };
	return true;
}

static bool frpc_fuzz_pop(struct frpc_fuzz_fifo *q, struct frpc_fuzz_item *it)
{
	if (!q->n)
		return false;
	*it = q->item[q->head];
	q->head = (q->head + 1) % FRPC_FUZZ_FIFO;
	q->n--;
	return true;
}

static void frpc_fuzz_check(struct kunit *test, struct frpc_fuzz *z,
			    unsigned int step)
{
	unsigned int i;

	for (i = 0; i <= FRPC_FUZZ_CALLS; i++) {
		struct frpc_fuzz_flow *f = &z->flow[i];

		KUNIT_ASSERT_EQ_MSG(test, (u64)f->tx_credit, f->m_credit,
				    "step %u flow %u", step, i);
		KUNIT_ASSERT_EQ_MSG(test, (u64)f->rx_avail, f->m_avail,
				    "step %u flow %u", step, i);
		KUNIT_ASSERT_EQ_MSG(test, (u64)f->rx_owed, f->m_owed,
				    "step %u flow %u", step, i);
		KUNIT_ASSERT_LE(test, f->tx_credit, (u32)FRPC_WINDOW_MAX);
		KUNIT_ASSERT_LE(test, f->rx_avail, f->window);
		KUNIT_ASSERT_EQ_MSG(test, f->m_avail,
				    f->m_credit + f->inflight + f->granting,
				    "step %u flow %u", step, i);
		KUNIT_ASSERT_EQ_MSG(test, f->m_credit + f->inflight +
				    f->buffered + f->m_owed + f->granting,
				    (u64)f->window, "step %u flow %u", step, i);
	}
}

/* The sender frames the next piece of a call's message. */
static void frpc_fuzz_send(struct kunit *test, struct frpc_fuzz *z,
			   unsigned int c)
{
	struct frpc_fuzz_flow *call = &z->flow[c];
	struct frpc_fuzz_flow *conn = &z->flow[FRPC_FUZZ_CALLS];
	u32 left = min_t(u64, z->left[c], U32_MAX);
	u64 want = left;
	u32 chunk;

	if (want > FRPC_TX_QUANTUM)
		want = FRPC_TX_QUANTUM;
	if (want > call->m_credit)
		want = call->m_credit;
	if (want > conn->m_credit)
		want = conn->m_credit;
	chunk = frpc_frame_chunk(left, call->tx_credit, conn->tx_credit);
	KUNIT_ASSERT_EQ(test, (u64)chunk, want);
	if (left && !chunk)
		z->stalls++;
	if (!chunk || !frpc_fuzz_push(&z->data, c, chunk))
		return;
	call->tx_credit -= chunk;
	conn->tx_credit -= chunk;
	call->m_credit -= chunk;
	conn->m_credit -= chunk;
	call->inflight += chunk;
	conn->inflight += chunk;
	z->left[c] -= chunk;
	z->sent += chunk;
}

/* The receiver takes a data frame off the wire. */
static void frpc_fuzz_receive(struct kunit *test, struct frpc_fuzz *z)
{
	struct frpc_fuzz_flow *conn = &z->flow[FRPC_FUZZ_CALLS];
	struct frpc_fuzz_item it;
	struct frpc_fuzz_flow *call;

	if (!frpc_fuzz_pop(&z->data, &it))
		return;
	call = &z->flow[it.flow];
	/* a sender that keeps to its credit never overruns a window */
	KUNIT_ASSERT_EQ(test, frpc_window_take(&conn->rx_avail, it.len), 0);
	KUNIT_ASSERT_EQ(test, frpc_window_take(&call->rx_avail, it.len), 0);
	conn->m_avail -= it.len;
	call->m_avail -= it.len;
	conn->inflight -= it.len;
	call->inflight -= it.len;
	conn->buffered += it.len;
	call->buffered += it.len;
}

/* Naive batching: all of it, once a quarter window is owed. */
static u64 frpc_fuzz_model_due(struct frpc_fuzz_flow *f, u64 consumed)
{
	u64 due;

	f->m_owed += consumed;
	if (f->m_owed * FRPC_CREDIT_BATCH_DIV < f->window - f->window %
	    FRPC_CREDIT_BATCH_DIV)
		return 0;
	due = f->m_owed;
	f->m_owed = 0;
	return due;
}

static void frpc_fuzz_grant(struct kunit *test, struct frpc_fuzz *z, u8 i,
			    u32 n)
{
	struct frpc_fuzz_flow *f = &z->flow[i];
	u64 want;
	u32 due;

	f->buffered -= n;
	due = frpc_credit_due(&f->rx_owed, n, f->window);
	want = frpc_fuzz_model_due(f, n);
	KUNIT_ASSERT_EQ(test, (u64)due, want);
	if (!due)
		return;
	/* the receiver opens its window as it grants (frpc_credit_call) */
	f->rx_avail += due;
	f->m_avail += due;
	f->granting += due;
	KUNIT_ASSERT_TRUE(test, frpc_fuzz_push(&z->credit, i, due));
}

/* The application reads part of what a call has buffered. */
static void frpc_fuzz_consume(struct kunit *test, struct frpc_fuzz *z,
			      unsigned int c)
{
	struct frpc_fuzz_flow *call = &z->flow[c];
	u32 n;

	if (!call->buffered)
		return;
	n = frpc_fuzz_rand(z) % 3 ? frpc_fuzz_rand(z) % (call->buffered + 1) :
				    call->buffered;
	frpc_fuzz_grant(test, z, FRPC_FUZZ_CALLS, n);
	frpc_fuzz_grant(test, z, c, n);
	z->consumed += n;
}

/* The sender takes a CREDIT frame off the wire. */
static void frpc_fuzz_credit(struct kunit *test, struct frpc_fuzz *z)
{
	struct frpc_fuzz_item it;
	struct frpc_fuzz_flow *f;

	if (!frpc_fuzz_pop(&z->credit, &it))
		return;
	f = &z->flow[it.flow];
	KUNIT_ASSERT_EQ(test, frpc_window_add(&f->tx_credit, it.len), 0);
	f->m_credit += it.len;
	f->granting -= it.len;
}

static void frpc_test_window_fuzz(struct kunit *test)
{
	const struct frpc_fuzz_param *p = test->param_value;
	struct frpc_fuzz *z;
	unsigned int step, i;

	z = kunit_kzalloc(test, sizeof(*z), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, z);
	z->rng = p->seed;
	for (i = 0; i <= FRPC_FUZZ_CALLS; i++) {
		struct frpc_fuzz_flow *f = &z->flow[i];

		f->window = i < FRPC_FUZZ_CALLS ? p->call_window :
						  p->conn_window;
		f->tx_credit = f->window;
		f->rx_avail = f->window;
		f->m_credit = f->window;
		f->m_avail = f->window;
	}

	for (step = 0; step < FRPC_FUZZ_STEPS; step++) {
		u32 r = frpc_fuzz_rand(z);
		unsigned int c = (r >> 8) % FRPC_FUZZ_CALLS;

		switch (r % 8) {
		case 0:
			if (!z->left[c])
				z->left[c] = 1 + frpc_fuzz_rand(z) % p->max_msg;
			break;
		case 1:
		case 2:
			frpc_fuzz_send(test, z, c);
			break;
		case 3:
		case 4:
			frpc_fuzz_receive(test, z);
			break;
		case 5:
		case 6:
			frpc_fuzz_consume(test, z, c);
			break;
		default:
			frpc_fuzz_credit(test, z);
			break;
		}
		frpc_fuzz_check(test, z, step);
	}

	/* drain: deliver and consume everything, apply every grant */
	while (z->data.n)
		frpc_fuzz_receive(test, z);
	for (i = 0; i < FRPC_FUZZ_CALLS; i++)
		while (z->flow[i].buffered)
			frpc_fuzz_consume(test, z, i);
	while (z->credit.n)
		frpc_fuzz_credit(test, z);
	frpc_fuzz_check(test, z, step);

	/* data moved, windows ran dry at times, and batching never strands
	 * more than it may
	 */
	KUNIT_EXPECT_GT(test, z->sent, 16ULL * FRPC_TX_QUANTUM);
	if (p->stalls)
		KUNIT_EXPECT_GT(test, z->stalls, 0U);
	KUNIT_EXPECT_EQ(test, z->sent, z->consumed);
	for (i = 0; i <= FRPC_FUZZ_CALLS; i++) {
		struct frpc_fuzz_flow *f = &z->flow[i];

		KUNIT_EXPECT_LT(test, f->rx_owed,
				f->window / FRPC_CREDIT_BATCH_DIV);
		KUNIT_EXPECT_EQ(test, f->tx_credit + f->rx_owed, f->window);
	}
}

static struct kunit_case frpc_window_cases[] = {
	KUNIT_CASE(frpc_test_window_add_zero),
	KUNIT_CASE(frpc_test_window_add),
	KUNIT_CASE(frpc_test_window_add_wrap),
	KUNIT_CASE(frpc_test_window_add_max),
	KUNIT_CASE(frpc_test_window_take),
	KUNIT_CASE(frpc_test_window_take_overrun),
	KUNIT_CASE(frpc_test_credit_due_batch),
	KUNIT_CASE(frpc_test_credit_due_threshold),
	KUNIT_CASE(frpc_test_credit_due_accumulate),
	KUNIT_CASE(frpc_test_credit_due_saturate),
	KUNIT_CASE(frpc_test_frame_chunk),
	KUNIT_CASE_PARAM(frpc_test_window_fuzz, frpc_fuzz_gen_params),
	{}
};

static struct kunit_suite frpc_window_suite = {
	.name = "frpc_window",
	.test_cases = frpc_window_cases,
};

/* CREDIT frames ---------------------------------------------------------- */

/* Check a queued control frame's header and return its payload. */
static const u8 *frpc_test_ctrl_frame(struct kunit *test,
				      struct frpc_txbuf *buf, u8 type,
				      u16 flags, u32 id, u32 len)
{
	struct fastrpc_frame_hdr hdr;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, buf->len, FASTRPC_FRAME_HDR_LEN + len);
	memcpy(&hdr, buf->data, sizeof(hdr));
	KUNIT_EXPECT_EQ(test, hdr.version, FASTRPC_PROTO_V1);
	KUNIT_EXPECT_EQ(test, hdr.type, type);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(hdr.flags), flags);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(hdr.call_id), id);
	KUNIT_EXPECT_EQ(test, be32_to_cpu(hdr.length), len);
	return buf->data + FASTRPC_FRAME_HDR_LEN;
}

static u32 frpc_test_credit_inc(struct kunit *test, struct frpc_txbuf *buf,
				u32 id)
{
	struct fastrpc_wire_credit c;

	memcpy(&c, frpc_test_ctrl_frame(test, buf, FASTRPC_FRAME_CREDIT, 0, id,
					sizeof(c)), sizeof(c));
	return be32_to_cpu(c.increment);
}

static void frpc_test_credit_call_batched(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *call = frpc_test_call(test, conn, 9, 0, true);
	struct frpc_txbuf *buf;
	u32 quarter = FRPC_CALL_WINDOW / FRPC_CREDIT_BATCH_DIV;

	KUNIT_EXPECT_EQ(test, call->rx_avail, (u32)FRPC_CALL_WINDOW);
	call->rx_avail = 0;	/* the peer used the whole window */
	spin_lock_bh(&conn->lock);
	frpc_credit_call(call, 1000);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, call->rx_owed, 1000U);
	KUNIT_EXPECT_EQ(test, call->rx_avail, 0U);

	spin_lock_bh(&conn->lock);
	frpc_credit_call(call, quarter - 1000);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, call->rx_owed, 0U);
	KUNIT_EXPECT_EQ(test, call->rx_avail, quarter);
	buf = frpc_test_pop_ctrl(test, conn);
	KUNIT_EXPECT_EQ(test, frpc_test_credit_inc(test, buf, 9), quarter);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, 0U);
}

static void frpc_test_credit_call_ended(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *call = frpc_test_call(test, conn, 3, 0, true);

	spin_lock_bh(&conn->lock);
	frpc_credit_call(call, 0);
	call->rx_eos = true;		/* the peer has finished sending */
	frpc_credit_call(call, FRPC_CALL_WINDOW);
	call->rx_eos = false;
	call->state = FRPC_CALL_DONE;
	frpc_credit_call(call, FRPC_CALL_WINDOW);
	call->state = FRPC_CALL_OPEN;
	conn->state = FRPC_CONN_DEAD;
	frpc_credit_call(call, FRPC_CALL_WINDOW);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, call->rx_owed, 0U);
	KUNIT_EXPECT_EQ(test, call->rx_avail, (u32)FRPC_CALL_WINDOW);
}

static void frpc_test_credit_conn_batched(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	u32 quarter = FRPC_CONN_WINDOW / FRPC_CREDIT_BATCH_DIV;
	struct frpc_txbuf *buf;
	s64 held;

	conn->rx_avail = 0;
	held = frpc_test_count(rx_held_bytes);
	spin_lock_bh(&conn->lock);
	frpc_credit_conn(conn, quarter - 1);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, conn->rx_owed, quarter - 1);
	/* window only: the held-bytes gauge follows messages, not credit */
	KUNIT_EXPECT_EQ(test, frpc_test_count(rx_held_bytes),
			held);

	spin_lock_bh(&conn->lock);
	frpc_credit_conn(conn, 1);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, conn->rx_avail, quarter);
	KUNIT_EXPECT_EQ(test, conn->rx_owed, 0U);
	buf = frpc_test_pop_ctrl(test, conn);
	KUNIT_EXPECT_EQ(test, frpc_test_credit_inc(test, buf, 0), quarter);
	KUNIT_EXPECT_EQ(test, frpc_test_count(rx_held_bytes),
			held);
}

static void frpc_test_credit_conn_dead(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	s64 held = frpc_test_count(rx_held_bytes);

	conn->state = FRPC_CONN_DEAD;
	spin_lock_bh(&conn->lock);
	frpc_credit_conn(conn, FRPC_CONN_WINDOW);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, conn->rx_owed, 0U);
	KUNIT_EXPECT_EQ(test, frpc_test_count(rx_held_bytes),
			held);
}

/*
 * A message read or dropped: the gauge loses all of it, the connection
 * window gets back only what was not credited on arrival (SO_RCVBUF).
 */
static void frpc_test_rxmsg_consumed(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_rxmsg *m;
	s64 held;

	m = frpc_rxmsg_alloc(conn, GFP_KERNEL, true);
	KUNIT_ASSERT_NOT_NULL(test, m);
	m->len = 5000;
	m->conn_credited = 3000;
	frpc_count_add(&frpc_test_net, rx_held_bytes, m->len);
	held = frpc_test_count(rx_held_bytes);

	spin_lock_bh(&conn->lock);
	frpc_rxmsg_consumed(m);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, conn->rx_owed, 2000U);
	KUNIT_EXPECT_EQ(test, m->conn_credited, 5000U);
	KUNIT_EXPECT_EQ(test, frpc_test_count(rx_held_bytes),
			held - 5000);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	frpc_rxmsg_free(m);
}

static void frpc_test_queue_end(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct fastrpc_wire_end end;
	int err;

	spin_lock_bh(&conn->lock);
	err = frpc_queue_end(conn, 77, FASTRPC_NOT_FOUND);
	spin_unlock_bh(&conn->lock);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes,
			(u32)(FASTRPC_FRAME_HDR_LEN + sizeof(end)));
	memcpy(&end, frpc_test_ctrl_frame(test, frpc_test_pop_ctrl(test, conn),
					  FASTRPC_FRAME_END, FASTRPC_FF_EOM,
					  77, sizeof(end)), sizeof(end));
	KUNIT_EXPECT_EQ(test, be32_to_cpu(end.status), (u32)FASTRPC_NOT_FOUND);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(end.meta_len), 0);
	KUNIT_EXPECT_EQ(test, be16_to_cpu(end.msg_len), 0);
}

/* A peer flooding PINGs cannot grow the control queue without bound. */
static void frpc_test_pong_bounded(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	u8 ping[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	u32 pong = FASTRPC_FRAME_HDR_LEN + sizeof(ping);
	unsigned int n = 0;
	int err;

	spin_lock_bh(&conn->lock);
	do {
		err = frpc_queue_simple(conn, FASTRPC_FRAME_PONG, 0, 0, ping,
					sizeof(ping));
	} while (!err && ++n < 1000000);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, err, -ENOBUFS);
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, n * pong);
	KUNIT_EXPECT_LE(test, conn->ctrl_bytes, (u32)FRPC_CTRL_MAX + pong);
	/* not refused early either: a burst of PINGs is answered */
	KUNIT_EXPECT_GE(test, conn->ctrl_bytes, (u32)FRPC_CTRL_MAX / 4);
	/* other control frames still queue */
	spin_lock_bh(&conn->lock);
	err = frpc_queue_end(conn, 1, FASTRPC_OK);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, n * pong +
			FASTRPC_FRAME_HDR_LEN +
			(u32)sizeof(struct fastrpc_wire_end));
}

/* After teardown nothing more is queued (and nothing leaks). */
static void frpc_test_ctrl_torn_down(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	int err;

	conn->torn_down = true;
	spin_lock_bh(&conn->lock);
	err = frpc_queue_simple(conn, FASTRPC_FRAME_CANCEL, 0, 5, NULL, 0);
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, err, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&conn->ctrlq));
	KUNIT_EXPECT_EQ(test, conn->ctrl_bytes, 0U);
}

static void frpc_test_build_ctrl(struct kunit *test)
{
	static const u8 payload[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3 };
	struct frpc_txbuf *buf;
	const u8 *p;

	buf = frpc_build_ctrl(1, FASTRPC_FRAME_PING, 0, 0, payload,
			      sizeof(payload), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, frpc_test_kfree,
							buf), 0);
	p = frpc_test_ctrl_frame(test, buf, FASTRPC_FRAME_PING, 0, 0,
				 sizeof(payload));
	KUNIT_EXPECT_MEMEQ(test, p, payload, sizeof(payload));
}

static struct kunit_case frpc_credit_cases[] = {
	KUNIT_CASE(frpc_test_credit_call_batched),
	KUNIT_CASE(frpc_test_credit_call_ended),
	KUNIT_CASE(frpc_test_credit_conn_batched),
	KUNIT_CASE(frpc_test_credit_conn_dead),
	KUNIT_CASE(frpc_test_rxmsg_consumed),
	KUNIT_CASE(frpc_test_queue_end),
	KUNIT_CASE_SLOW(frpc_test_pong_bounded),
	KUNIT_CASE(frpc_test_ctrl_torn_down),
	KUNIT_CASE(frpc_test_build_ctrl),
	{}
};

static struct kunit_suite frpc_credit_suite = {
	.name = "frpc_credit",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_credit_cases,
};
