// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the per-connection call table of call.c: link, find, unlink,
 * hash collisions, reuse, accounting, and the deadline list.  Included by
 * af_fastrpc_kunit.c.
 */

static struct frpc_call *frpc_test_find(struct frpc_conn *conn, u32 id)
{
	struct frpc_call *call;

	spin_lock_bh(&conn->lock);
	call = frpc_call_find(conn, id);
	spin_unlock_bh(&conn->lock);
	return call;
}

static void frpc_test_unlink(struct frpc_call *call)
{
	spin_lock_bh(&call->conn->lock);
	frpc_call_unlink(call);
	spin_unlock_bh(&call->conn->lock);
}

static void frpc_test_call_alloc(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	unsigned int ref = kref_read(&conn->ref);
	struct frpc_call *call;

	call = frpc_call_alloc(conn, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, call);
	KUNIT_EXPECT_PTR_EQ(test, call->conn, conn);
	KUNIT_EXPECT_NOT_NULL(test, call->fin);
	KUNIT_EXPECT_PTR_EQ(test, call->fin->conn, conn);
	KUNIT_EXPECT_EQ(test, call->rx_avail, (u32)FRPC_CALL_WINDOW);
	KUNIT_EXPECT_FALSE(test, call->in_conn);
	KUNIT_EXPECT_TRUE(test, list_empty(&call->txq));
	KUNIT_EXPECT_TRUE(test, list_empty(&call->tx_node));
	KUNIT_EXPECT_TRUE(test, hlist_unhashed(&call->conn_node));
	/* the call and its reserved final message each hold the conn */
	KUNIT_EXPECT_EQ(test, kref_read(&conn->ref), ref + 2);
	frpc_call_free(call);
	KUNIT_EXPECT_EQ(test, kref_read(&conn->ref), ref);
}

/*
 * A freed call and message wait in the connection's spare slots and come
 * back from the next allocation as new: zeroed, initialised, charged.
 * The module keeps the slots empty under KASAN, so that a use after free
 * is caught; this suite's copy of call.c uses them for this case only.
 */
static void frpc_test_spares_restore(void *data)
{
	frpc_spares = !IS_ENABLED(CONFIG_KASAN);
}

static void frpc_test_call_spares(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	unsigned int ref = kref_read(&conn->ref);
	int mem = atomic_read(&conn->rx_mem);
	struct frpc_call *call, *again, *calls[3], *got[3];
	struct frpc_rxmsg *m, *m2, **ms;
	int err, i, n;

	err = kunit_add_action_or_reset(test, frpc_test_spares_restore, NULL);
	KUNIT_ASSERT_EQ(test, err, 0);
	frpc_spares = true;
	call = frpc_call_alloc(conn, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, call);
	m = frpc_rxmsg_alloc(conn, GFP_KERNEL, true);
	KUNIT_ASSERT_NOT_NULL(test, m);
	/* what a used call and message leave behind */
	call->id = 77;
	call->method = 9;
	call->tx_credit = 1234;
	call->state = FRPC_CALL_DONE;
	m->id = 77;
	m->len = 5;
	m->inl_len = 5;
	memcpy(m->inl, "stale", 5);
	m->meta_len = 3;
	frpc_rxmsg_free(m);
	frpc_call_free(call);
	KUNIT_EXPECT_EQ(test, kref_read(&conn->ref), ref);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
	/* one of each waits in its slot, the stacks stay empty */
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_call, (void *)call);
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_msg, (void *)m);
	KUNIT_EXPECT_NULL(test, conn->spare_call_stack);
	KUNIT_EXPECT_NULL(test, conn->spare_msg_stack);

	again = frpc_call_alloc(conn, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, again);
	KUNIT_EXPECT_PTR_EQ(test, again, call);
	KUNIT_EXPECT_NULL(test, conn->spare_call);
	KUNIT_EXPECT_EQ(test, again->id, 0U);
	KUNIT_EXPECT_EQ(test, again->method, 0U);
	KUNIT_EXPECT_EQ(test, again->tx_credit, 0U);
	KUNIT_EXPECT_EQ(test, (int)again->state, 0);
	KUNIT_EXPECT_EQ(test, again->rx_avail, (u32)FRPC_CALL_WINDOW);
	KUNIT_EXPECT_TRUE(test, list_empty(&again->txq));
	KUNIT_EXPECT_TRUE(test, hlist_unhashed(&again->conn_node));
	KUNIT_EXPECT_PTR_EQ(test, again->conn, conn);

	m2 = frpc_rxmsg_alloc(conn, GFP_KERNEL, true);
	KUNIT_ASSERT_NOT_NULL(test, m2);
	KUNIT_EXPECT_PTR_EQ(test, m2, m);
	KUNIT_EXPECT_NULL(test, conn->spare_msg);
	KUNIT_EXPECT_EQ(test, m2->id, 0ULL);
	KUNIT_EXPECT_EQ(test, m2->len, 0U);
	KUNIT_EXPECT_EQ(test, m2->inl_len, 0U);
	KUNIT_EXPECT_EQ(test, (int)m2->meta_len, 0);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&m2->frags));
	KUNIT_EXPECT_EQ(test, m2->truesize, (u32)sizeof(*m2));
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem),
			mem + (int)sizeof(*again) + (int)sizeof(*m2));

	/*
	 * Freed messages fill the slot, then FRPC_SPARES more the stack; one
	 * more goes back to the slab.  Allocations take the slot's first,
	 * then the stack's, last in first out.
	 */
	frpc_rxmsg_free(m2);
	n = FRPC_SPARES + 2;
	ms = kunit_kcalloc(test, n, sizeof(*ms), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ms);
	for (i = 0; i < n; i++) {
		ms[i] = frpc_rxmsg_alloc(conn, GFP_KERNEL, false);
		KUNIT_ASSERT_NOT_NULL(test, ms[i]);
	}
	for (i = 0; i < n; i++)
		frpc_rxmsg_free(ms[i]);
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_msg, (void *)ms[0]);
	KUNIT_EXPECT_EQ(test, conn->spare_msg_n, FRPC_SPARES);
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_msg_stack,
			    (void *)ms[FRPC_SPARES]);
	m = frpc_rxmsg_alloc(conn, GFP_KERNEL, false);
	KUNIT_EXPECT_PTR_EQ(test, m, ms[0]);
	for (i = FRPC_SPARES; i >= 1; i--) {
		m = frpc_rxmsg_alloc(conn, GFP_KERNEL, false);
		KUNIT_EXPECT_PTR_EQ(test, m, ms[i]);
		ms[i] = m;
	}
	KUNIT_EXPECT_NULL(test, conn->spare_msg);
	KUNIT_EXPECT_NULL(test, conn->spare_msg_stack);
	KUNIT_EXPECT_EQ(test, conn->spare_msg_n, 0);
	for (i = 0; i <= FRPC_SPARES; i++)
		frpc_rxmsg_free(ms[i]);
	/* calls the same way: the slot, then the stack, each back as new */
	calls[0] = again;
	for (i = 1; i < 3; i++) {
		calls[i] = frpc_call_alloc(conn, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, calls[i]);
	}
	for (i = 0; i < 3; i++) {
		calls[i]->id = 100 + i;
		calls[i]->tx_credit = 5;
		frpc_call_free(calls[i]);
	}
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_call, (void *)calls[0]);
	KUNIT_EXPECT_EQ(test, conn->spare_call_n, 2);
	for (i = 0; i < 3; i++) {
		again = frpc_call_alloc(conn, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, again);
		/* slot first, then last in first out */
		KUNIT_EXPECT_PTR_EQ(test, again, calls[i ? 3 - i : 0]);
		KUNIT_EXPECT_EQ(test, again->id, 0U);
		KUNIT_EXPECT_EQ(test, again->tx_credit, 0U);
		KUNIT_EXPECT_TRUE(test, hlist_unhashed(&again->conn_node));
		KUNIT_EXPECT_TRUE(test, list_empty(&again->txq));
		got[i] = again;
	}
	KUNIT_EXPECT_EQ(test, conn->spare_call_n, 0);
	for (i = 0; i < 3; i++)
		frpc_call_free(got[i]);

	/* an idle connection's trim frees the stacks and keeps the slots */
	KUNIT_EXPECT_EQ(test, conn->spare_call_n, 2);
	KUNIT_EXPECT_EQ(test, conn->spare_msg_n, FRPC_SPARES);
	call = (struct frpc_call *)conn->spare_call;
	m = (struct frpc_rxmsg *)conn->spare_msg;
	frpc_call_trim_spares(conn);
	KUNIT_EXPECT_NULL(test, conn->spare_call_stack);
	KUNIT_EXPECT_NULL(test, conn->spare_msg_stack);
	KUNIT_EXPECT_EQ(test, conn->spare_call_n, 0);
	KUNIT_EXPECT_EQ(test, conn->spare_msg_n, 0);
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_call, (void *)call);
	KUNIT_EXPECT_PTR_EQ(test, (void *)conn->spare_msg, (void *)m);
	/* and the stacks fill again */
	got[0] = frpc_call_alloc(conn, GFP_KERNEL);
	got[1] = frpc_call_alloc(conn, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got[0]);
	KUNIT_ASSERT_NOT_NULL(test, got[1]);
	KUNIT_EXPECT_PTR_EQ(test, got[0], call);
	frpc_call_free(got[0]);
	frpc_call_free(got[1]);
	KUNIT_EXPECT_EQ(test, conn->spare_call_n, 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&conn->rx_mem), mem);
	/* the slots are freed with the connection (kmemleak would tell) */
}

static void frpc_test_call_link_find(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *a = frpc_test_call(test, conn, 1, 0, true);
	struct frpc_call *b = frpc_test_call(test, conn, 2, 0, true);

	KUNIT_EXPECT_TRUE(test, a->in_conn);
	KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, 1), a);
	KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, 2), b);
	frpc_test_unlink(a);
	KUNIT_EXPECT_FALSE(test, a->in_conn);
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 1));
	KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, 2), b);
}

static void frpc_test_call_find_unknown(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);

	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 0));
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 1));
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, U32_MAX));
	frpc_test_call(test, conn, 5, 0, true);
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 4));
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 6));
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 5 + (1U << 31)));
	/* an allocated but unlinked call is not found */
	frpc_test_call(test, conn, 7, 0, false);
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, 7));
}

/* Ids that share a bucket are told apart by the full id. */
static void frpc_test_call_collisions(struct kunit *test)
{
	enum { N = 8 };
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_call *calls[N];
	u32 ids[N], bucket, id;
	unsigned int n = 0, i;

	bucket = frpc_call_hash(conn, 1);
	for (id = 1; n < N; id++)
		if (frpc_call_hash(conn, id) == bucket)
			ids[n++] = id;
	for (i = 0; i < N; i++)
		calls[i] = frpc_test_call(test, conn, ids[i], 0, true);
	for (i = 0; i < N; i++)
		KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, ids[i]),
				    calls[i]);
	/* take one out of the middle of the chain, then the head */
	frpc_test_unlink(calls[N / 2]);
	frpc_test_unlink(calls[N - 1]);
	for (i = 0; i < N; i++) {
		if (i == N / 2 || i == N - 1)
			KUNIT_EXPECT_NULL(test, frpc_test_find(conn, ids[i]));
		else
			KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, ids[i]),
					    calls[i]);
	}
	/* an id in the same bucket that was never linked */
	for (; frpc_call_hash(conn, id) != bucket; id++)
		;
	KUNIT_EXPECT_NULL(test, frpc_test_find(conn, id));
	KUNIT_EXPECT_EQ(test, conn->ncalls, (u32)N - 2);
}

static void frpc_test_call_reuse(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_call *old = frpc_test_call(test, conn, 42, 0, true);
	struct frpc_call *new;

	frpc_test_unlink(old);
	new = frpc_test_call(test, conn, 42, 0, true);
	KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, 42), new);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
	/* unlinking the old call again does not touch the new one */
	frpc_test_unlink(old);
	KUNIT_EXPECT_PTR_EQ(test, frpc_test_find(conn, 42), new);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
}

static void frpc_test_call_accounting(struct kunit *test)
{
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *a, *b;
	unsigned long before;

	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
	conn->idle_since = 0;	/* a marker: only the last unlink sets it */
	a = frpc_test_call(test, conn, 1, 0, true);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
	b = frpc_test_call(test, conn, 3, 0, true);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 2U);
	frpc_test_unlink(b);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
	KUNIT_EXPECT_EQ(test, conn->idle_since, 0UL);
	/* a second unlink of the same call changes nothing */
	frpc_test_unlink(b);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
	KUNIT_EXPECT_EQ(test, conn->idle_since, 0UL);
	before = jiffies;
	frpc_test_unlink(a);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
	KUNIT_EXPECT_TRUE(test, time_in_range(conn->idle_since, before,
					      jiffies));
	/* busy again: idleness is judged by ncalls, not by idle_since */
	frpc_test_call(test, conn, 5, 0, true);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 1U);
}

/* Many calls: all found, then all gone, in a scrambled order. */
static void frpc_test_call_many(struct kunit *test)
{
	enum { N = 10000 };
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_call **calls;
	unsigned int i, bad = 0;
	u32 id;

	calls = kunit_kcalloc(test, N, sizeof(*calls), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, calls);
	/* ids spread over the whole space, as a long-lived client's are */
	for (i = 0; i < N; i++)
		calls[i] = frpc_test_call(test, conn, 1 + i * 429497U, 0,
					  true);
	KUNIT_EXPECT_EQ(test, conn->ncalls, (u32)N);
	spin_lock_bh(&conn->lock);
	for (i = 0; i < N; i++)
		if (frpc_call_find(conn, calls[i]->id) != calls[i])
			bad++;
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, bad, 0U);

	/* i * 7919 mod N visits every index once: N and 7919 are coprime */
	for (i = 0; i < N; i++) {
		struct frpc_call *call = calls[(i * 7919U) % N];

		spin_lock_bh(&conn->lock);
		frpc_call_unlink(call);
		id = call->id;
		if (frpc_call_find(conn, id))
			bad++;
		spin_unlock_bh(&conn->lock);
		if (conn->ncalls != N - 1 - i)
			bad++;
	}
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_EQ(test, conn->ncalls, 0U);
	KUNIT_EXPECT_TRUE(test, __hash_empty(conn->calls, FRPC_CALL_BUCKETS));
}

/* Deadlines stay sorted, equal ones in arrival order; the timer follows. */
static void frpc_test_call_deadlines(struct kunit *test)
{
	static const unsigned int secs[] = { 3000, 1000, 2000, 1000, 4000 };
	static const unsigned int order[] = { 1, 3, 2, 0, 4 };
	struct frpc_conn *conn = frpc_test_conn(test, true);
	struct frpc_call *calls[ARRAY_SIZE(secs)], *pos;
	struct rb_node *node;
	unsigned int i = 0;

	for (i = 0; i < ARRAY_SIZE(secs); i++) {
		calls[i] = frpc_test_call(test, conn, i + 1, 0, true);
		spin_lock_bh(&conn->lock);
		frpc_call_set_deadline(calls[i], secs[i] * NSEC_PER_SEC);
		spin_unlock_bh(&conn->lock);
	}
	i = 0;
	spin_lock_bh(&conn->lock);
	for (node = rb_first_cached(&conn->deadlines); node;
	     node = rb_next(node)) {
		pos = rb_entry(node, struct frpc_call, dl_node);
		if (i < ARRAY_SIZE(order))
			KUNIT_EXPECT_PTR_EQ(test, pos, calls[order[i]]);
		i++;
	}
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, i, (unsigned int)ARRAY_SIZE(order));
	KUNIT_EXPECT_TRUE(test, timer_pending(&conn->deadline_timer));
	KUNIT_EXPECT_EQ(test, conn->deadline_timer.expires,
			calls[1]->deadline);
	/* unlink takes a call out of the deadline tree */
	frpc_test_unlink(calls[1]);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_NODE(&calls[1]->dl_node));
	KUNIT_EXPECT_PTR_EQ(test, rb_entry(rb_first_cached(&conn->deadlines),
					   struct frpc_call, dl_node),
			    calls[3]);
	/* deadlines are timeouts from now, in jiffies */
	KUNIT_EXPECT_TRUE(test, time_in_range(calls[4]->deadline,
					      jiffies + 3999 * HZ,
					      jiffies + 4000 * HZ));
}

/*
 * Ids a server's peer would choose if the hash were fixed: 4096 that
 * hash_32() puts in one bucket.  With the connection's own multiplier
 * they spread: the calls a lookup of each of them walks past, summed
 * (the sum of the squares of the chain lengths), stay near N, far from
 * the N * N of one chain.
 */
static void frpc_test_call_hostile_ids(struct kunit *test)
{
	enum { N = 4096 };
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_conn *other = frpc_test_conn(test, false);
	u32 bucket = hash_32(1, FRPC_CALL_HASH_BITS), id;
	struct frpc_call *call;
	unsigned int n = 0, b;
	u64 walk = 0;

	KUNIT_EXPECT_TRUE(test, conn->hash_mul & 1);
	/* each connection draws its own (equal once in 2^31 runs) */
	KUNIT_EXPECT_NE(test, conn->hash_mul, other->hash_mul);
	for (id = 1; n < N; id++) {
		if (hash_32(id, FRPC_CALL_HASH_BITS) != bucket)
			continue;
		frpc_test_call(test, conn, id, 0, true);
		n++;
	}
	spin_lock_bh(&conn->lock);
	for (b = 0; b < FRPC_CALL_BUCKETS; b++) {
		u64 len = 0;

		hlist_for_each_entry(call, &conn->calls[b], conn_node)
			len++;
		walk += len * len;
	}
	spin_unlock_bh(&conn->lock);
	/* about 5 N in practice; 4096 N with hash_32() */
	KUNIT_EXPECT_LE(test, walk, 256ULL * N);
	KUNIT_EXPECT_EQ(test, conn->ncalls, (u32)N);
}

static unsigned int frpc_test_rb_height(const struct rb_node *node)
{
	if (!node)
		return 0;
	return 1 + max(frpc_test_rb_height(node->rb_left),
		       frpc_test_rb_height(node->rb_right));
}

/*
 * A peer's timeouts that shrink call by call, the order that made the
 * sorted list walk every call at each insertion: the tree stays
 * balanced, sorted, and the timer follows its soonest call.
 */
static void frpc_test_call_deadlines_shrinking(struct kunit *test)
{
	enum { N = 4096 };
	struct frpc_conn *conn = frpc_test_conn(test, false);
	struct frpc_call **calls, *pos, *prev = NULL;
	unsigned int i, n = 0, bad = 0;
	struct rb_node *node;

	calls = kunit_kcalloc(test, N, sizeof(*calls), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, calls);
	for (i = 0; i < N; i++) {
		calls[i] = frpc_test_call(test, conn, i + 1, 0, true);
		spin_lock_bh(&conn->lock);
		frpc_call_set_deadline(calls[i], (u64)(2 * N - i) * NSEC_PER_SEC);
		spin_unlock_bh(&conn->lock);
	}
	spin_lock_bh(&conn->lock);
	/* a red-black tree of N nodes is at most 2 log2(N + 1) high: 26 */
	KUNIT_EXPECT_LE(test, frpc_test_rb_height(conn->deadlines.rb_root.rb_node),
			2U * (ilog2(N) + 1));
	for (node = rb_first_cached(&conn->deadlines); node;
	     node = rb_next(node)) {
		pos = rb_entry(node, struct frpc_call, dl_node);
		if (prev && time_before(pos->deadline, prev->deadline))
			bad++;
		prev = pos;
		n++;
	}
	spin_unlock_bh(&conn->lock);
	KUNIT_EXPECT_EQ(test, n, (unsigned int)N);
	KUNIT_EXPECT_EQ(test, bad, 0U);
	KUNIT_EXPECT_PTR_EQ(test, rb_entry(rb_first_cached(&conn->deadlines),
					   struct frpc_call, dl_node),
			    calls[N - 1]);
	KUNIT_EXPECT_EQ(test, conn->deadline_timer.expires,
			calls[N - 1]->deadline);
	/* out in a scattered order: i * 7919 mod N visits each once */
	for (i = 0; i < N; i++)
		frpc_test_unlink(calls[(i * 7919U) % N]);
	KUNIT_EXPECT_TRUE(test, RB_EMPTY_ROOT(&conn->deadlines.rb_root));
	KUNIT_EXPECT_NULL(test, rb_first_cached(&conn->deadlines));
}

static struct kunit_case frpc_call_table_cases[] = {
	KUNIT_CASE(frpc_test_call_alloc),
	KUNIT_CASE(frpc_test_call_spares),
	KUNIT_CASE(frpc_test_call_link_find),
	KUNIT_CASE(frpc_test_call_find_unknown),
	KUNIT_CASE(frpc_test_call_collisions),
	KUNIT_CASE(frpc_test_call_reuse),
	KUNIT_CASE(frpc_test_call_accounting),
	KUNIT_CASE_SLOW(frpc_test_call_many),
	KUNIT_CASE(frpc_test_call_deadlines),
	KUNIT_CASE(frpc_test_call_hostile_ids),
	KUNIT_CASE(frpc_test_call_deadlines_shrinking),
	{}
};

static struct kunit_suite frpc_call_table_suite = {
	.name = "frpc_call_table",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_call_table_cases,
};
