// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit: the namespace's tree of connections that netlink dumps walk, and
 * where a dump's next part resumes.  Included by af_fastrpc_kunit.c.
 */

#define FRPC_TEST_NL_CONNS	97

/* The least id above @after among the live connections of @conns. */
static u64 frpc_test_nl_next(struct frpc_conn **conns, int n, u64 after)
{
	int i;

	for (i = 0; i < n; i++)
		if (conns[i] && conns[i]->id > after)
			return conns[i]->id;
	return 0;
}

/*
 * Each part of a dump starts at frpc_nl_after(last id sent): the next
 * live id whatever came and went since, and from there rb_next() walks
 * the rest in id order, each once.
 */
static void frpc_test_nl_resume(struct kunit *test)
{
	struct frpc_conn *conns[FRPC_TEST_NL_CONNS];
	struct frpc_net *fn = &frpc_test_net;
	int i, live = 0, seen = 0, wrong = 0;
	u64 base, after, want, prev;
	struct rb_node *node;

	for (i = 0; i < FRPC_TEST_NL_CONNS; i++)
		conns[i] = frpc_test_conn(test, i & 1);
	base = conns[0]->id - 1;
	for (i = 1; i < FRPC_TEST_NL_CONNS; i++)
		KUNIT_ASSERT_GT(test, conns[i]->id, conns[i - 1]->id);
	/* gone since: the first, every third, two in a row, the last */
	for (i = 0; i < FRPC_TEST_NL_CONNS; i++) {
		if (i % 3 && i != 40 && i != 41 && i != FRPC_TEST_NL_CONNS - 1) {
			live++;
			continue;
		}
		kunit_release_action(test, frpc_test_conn_release, conns[i]);
		conns[i] = NULL;
	}

	spin_lock_bh(&fn->nl_lock);
	for (after = base; after <= base + FRPC_TEST_NL_CONNS + 1; after++) {
		want = frpc_test_nl_next(conns, FRPC_TEST_NL_CONNS, after);
		node = frpc_nl_after(fn, &fn->nl_conns, after, frpc_nl_conn_id);
		if (want ? !node || frpc_nl_conn_id(node) != want : !!node)
			wrong++;
	}
	prev = base;
	for (node = frpc_nl_after(fn, &fn->nl_conns, base, frpc_nl_conn_id);
	     node; node = rb_next(node)) {
		want = frpc_test_nl_next(conns, FRPC_TEST_NL_CONNS, prev);
		if (frpc_nl_conn_id(node) != want)
			wrong++;
		prev = frpc_nl_conn_id(node);
		seen++;
	}
	spin_unlock_bh(&fn->nl_lock);

	KUNIT_EXPECT_EQ(test, wrong, 0);
	KUNIT_EXPECT_EQ(test, seen, live);
}

static struct kunit_case frpc_netlink_cases[] = {
	KUNIT_CASE(frpc_test_nl_resume),
	{}
};

static struct kunit_suite frpc_netlink_suite = {
	.name = "frpc_netlink",
	.suite_init = frpc_test_suite_init,
	.suite_exit = frpc_test_suite_exit,
	.test_cases = frpc_netlink_cases,
};
