// SPDX-License-Identifier: GPL-2.0-only
/*
 * Suite for the reconnect backoff records of peer.c: what a failure
 * records, what a success forgets, and the bound on how many a namespace
 * keeps (stale records pruned, the oldest evicted past FRPC_MAX_PEERS).
 * Included by af_fastrpc_kunit.c.
 */

static void frpc_test_peer_addr(struct sockaddr_fastrpc *a, u32 n)
{
	memset(a, 0, sizeof(*a));
	a->sfr_family = frpc_family;
	a->sfr_ip_family = AF_INET;
	a->sfr_addr.v4 = cpu_to_be32(0x0a000000 | (n >> 16));
	a->sfr_port = cpu_to_be16(1 + (n & 0xffff));
}

static void frpc_test_peers_free(void *data)
{
	struct frpc_net *fn = data;
	struct frpc_peer *p, *pn;

	mutex_lock(&fn->lock);
	list_for_each_entry_safe(p, pn, &fn->peers, node)
		frpc_peer_del(fn, p);
	mutex_unlock(&fn->lock);
}

/* The test's records are freed when it ends, whatever it asserted. */
static int frpc_test_peers_cleanup(struct kunit *test, struct frpc_net *fn)
{
	return kunit_add_action_or_reset(test, frpc_test_peers_free, fn);
}

static struct frpc_peer *frpc_test_peer_find(struct frpc_net *fn, u32 n)
{
	struct sockaddr_fastrpc a;
	struct frpc_peer *p;

	frpc_test_peer_addr(&a, n);
	mutex_lock(&fn->lock);
	p = frpc_peer_find(fn, &a);
	mutex_unlock(&fn->lock);
	return p;
}

static void frpc_test_peer_fail(struct frpc_net *fn, u32 n, int err)
{
	struct sockaddr_fastrpc a;

	frpc_test_peer_addr(&a, n);
	frpc_peer_result(fn, &a, err);
}

/* A failure starts a backoff; more double it; a success forgets it. */
static void frpc_test_peer_backoff(struct kunit *test)
{
	struct frpc_net *fn = &frpc_test_net;
	struct frpc_peer *p;
	unsigned long before;

	KUNIT_ASSERT_EQ(test, frpc_test_peers_cleanup(test, fn), 0);
	/* 100 ms plus up to half again */
	before = jiffies;
	frpc_test_peer_fail(fn, 1, -ECONNREFUSED);
	p = frpc_test_peer_find(fn, 1);
	KUNIT_ASSERT_NOT_NULL(test, p);
	KUNIT_EXPECT_EQ(test, p->failures, 1U);
	KUNIT_EXPECT_EQ(test, p->err, -ECONNREFUSED);
	KUNIT_EXPECT_TRUE(test, time_after_eq(p->retry_at, before +
			  msecs_to_jiffies(FRPC_BACKOFF_MIN_MS)));
	KUNIT_EXPECT_TRUE(test, time_before_eq(p->retry_at, jiffies +
			  msecs_to_jiffies(FRPC_BACKOFF_MIN_MS * 3 / 2) + 1));
	/* then 200 ms plus up to half again */
	before = jiffies;
	frpc_test_peer_fail(fn, 1, -ETIMEDOUT);
	KUNIT_EXPECT_EQ(test, p->failures, 2U);
	KUNIT_EXPECT_EQ(test, p->err, -ETIMEDOUT);
	KUNIT_EXPECT_TRUE(test, time_after_eq(p->retry_at, before +
			  msecs_to_jiffies(2 * FRPC_BACKOFF_MIN_MS)));
	KUNIT_EXPECT_TRUE(test, time_before_eq(p->retry_at, jiffies +
			  msecs_to_jiffies(3 * FRPC_BACKOFF_MIN_MS) + 1));
	/* a signal is nobody's failure */
	frpc_test_peer_fail(fn, 1, -EINTR);
	KUNIT_EXPECT_EQ(test, p->failures, 2U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&fn->backoff_peers), 1);
	frpc_test_peer_fail(fn, 1, 0);
	KUNIT_EXPECT_NULL(test, frpc_test_peer_find(fn, 1));
	KUNIT_EXPECT_EQ(test, fn->npeers, 0U);
	KUNIT_EXPECT_EQ(test, atomic64_read(&fn->backoff_peers), 0);
}

/* Past FRPC_MAX_PEERS the oldest record goes, never the list's bound. */
static void frpc_test_peer_cap(struct kunit *test)
{
	struct frpc_net *fn = &frpc_test_net;
	u32 n;

	KUNIT_ASSERT_EQ(test, frpc_test_peers_cleanup(test, fn), 0);
	for (n = 0; n < FRPC_MAX_PEERS; n++)
		frpc_test_peer_fail(fn, n, -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, fn->npeers, (unsigned int)FRPC_MAX_PEERS);
	frpc_test_peer_fail(fn, FRPC_MAX_PEERS, -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, fn->npeers, (unsigned int)FRPC_MAX_PEERS);
	KUNIT_EXPECT_EQ(test, atomic64_read(&fn->backoff_peers),
			(s64)FRPC_MAX_PEERS);
	KUNIT_EXPECT_NULL(test, frpc_test_peer_find(fn, 0));
	KUNIT_EXPECT_NOT_NULL(test, frpc_test_peer_find(fn, 1));
	KUNIT_EXPECT_NOT_NULL(test, frpc_test_peer_find(fn, FRPC_MAX_PEERS));
	/* a failure of a peer already recorded adds nothing */
	frpc_test_peer_fail(fn, 1, -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, fn->npeers, (unsigned int)FRPC_MAX_PEERS);
}

/* A record whose backoff ended long ago is dropped when one is added. */
static void frpc_test_peer_stale(struct kunit *test)
{
	struct frpc_net *fn = &frpc_test_net;
	struct frpc_peer *p;

	KUNIT_ASSERT_EQ(test, frpc_test_peers_cleanup(test, fn), 0);
	frpc_test_peer_fail(fn, 1, -ECONNREFUSED);
	frpc_test_peer_fail(fn, 2, -ECONNREFUSED);
	p = frpc_test_peer_find(fn, 1);
	KUNIT_ASSERT_NOT_NULL(test, p);
	/* ended just over 2 x FRPC_BACKOFF_MAX_MS ago */
	p->retry_at = jiffies - msecs_to_jiffies(2 * FRPC_BACKOFF_MAX_MS) - 2;
	frpc_test_peer_fail(fn, 3, -ECONNREFUSED);
	KUNIT_EXPECT_NULL(test, frpc_test_peer_find(fn, 1));
	KUNIT_EXPECT_NOT_NULL(test, frpc_test_peer_find(fn, 2));
	KUNIT_EXPECT_NOT_NULL(test, frpc_test_peer_find(fn, 3));
	KUNIT_EXPECT_EQ(test, fn->npeers, 2U);
}

static struct kunit_case frpc_peer_cases[] = {
	KUNIT_CASE(frpc_test_peer_backoff),
	KUNIT_CASE(frpc_test_peer_cap),
	KUNIT_CASE(frpc_test_peer_stale),
	{}
};

static struct kunit_suite frpc_peer_suite = {
	.name = "frpc_peer",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_peer_cases,
};
