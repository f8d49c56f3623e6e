// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for af_fastrpc.
 *
 * The module exports nothing, so this translation unit compiles the
 * module's own sources (every file but main.c) and the suites test that
 * code, unchanged but for where tx.c and txbulk.c write (below).  main.c
 * is replaced by the four definitions below: the tests never register the
 * socket family, never start TCP and never queue work, so a single
 * namespace record stands in for the pernet one.
 *
 * NOTRACE, before any header: af_fastrpc.ko defines the fastrpc: trace
 * events, and this copy of its code calls empty stubs instead of defining
 * the same events a second time.
 */
#define NOTRACE

#include "../wire.c"
#include "../mem.c"
#include "../reader.c"
#include "../call.c"
#include "../flow.c"
#include "../timer.c"
/*
 * tx.c and txbulk.c write through the fake transport of frpc_test_tx.c,
 * which records what a test's connection writes and passes any other
 * connection's writes on to transport.c.
 */
#include "../transport.h"
static int frpc_test_tp_send(struct frpc_conn *conn, struct kvec *iov,
			     int niov, size_t len, long timeo, int flags);
static int frpc_test_tp_send_data(struct frpc_conn *conn, struct kvec *iov,
				  int niov, size_t head_len,
				  struct iov_iter *data, size_t data_len,
				  int flags);
#define frpc_tp_send frpc_test_tp_send
#define frpc_tp_send_data frpc_test_tp_send_data
#include "../tx.c"
#include "../txbulk.c"
#undef frpc_tp_send
#undef frpc_tp_send_data
#include "../rx.c"
#include "../conn.c"
#include "../peer.c"
#include "../transport.c"
#include "../loop.c"
#include "../listener.c"
#include "../sock.c"
#include "../sockopt.c"
#include "../cmsg.c"
#include "../send.c"
#include "../recv.c"
#include "../ring.c"
#include "../netlink.c"

#include <kunit/test.h>
#include <linux/module.h>

int frpc_family = FASTRPC_AF_DEFAULT;
struct workqueue_struct *frpc_wq;

/* set before any suite runs: suites without set-up move counters too */
static DEFINE_PER_CPU(struct frpc_net_pcpu, frpc_test_pcpu);
static struct frpc_net frpc_test_net = { .pcpu = &frpc_test_pcpu };

/* A per-CPU counter of the test namespace, summed but not clamped at 0. */
#define frpc_test_count(field) \
	frpc_pcpu_sum(&frpc_test_net, offsetof(struct frpc_net_pcpu, field))

const struct frpc_stat frpc_stats[] = { { } };

struct frpc_net *frpc_net(struct net *net)
{
	return &frpc_test_net;
}

/* Suites that build connections and calls share this set-up. */
static int frpc_test_suite_init(struct kunit_suite *suite)
{
	memset(&frpc_test_net, 0, sizeof(frpc_test_net));
	mutex_init(&frpc_test_net.lock);
	INIT_LIST_HEAD(&frpc_test_net.conns);
	INIT_LIST_HEAD(&frpc_test_net.peers);
	INIT_LIST_HEAD(&frpc_test_net.servers);
	frpc_nl_net_init(&frpc_test_net);
	frpc_test_net.pcpu = &frpc_test_pcpu;
	return frpc_call_init();
}

static void frpc_test_suite_exit(struct kunit_suite *suite)
{
	frpc_call_exit();
}

/*
 * Undo a test's connection: what a torn-down connection's owner does once
 * TCP is gone.  Runs after the test's calls are released (kunit actions
 * run in reverse order of registration).
 */
static void frpc_test_conn_release(void *data)
{
	struct frpc_conn *conn = data;

	timer_shutdown_sync(&conn->deadline_timer);
	timer_shutdown_sync(&conn->ka_timer);
	mutex_lock(&conn->tx_mutex);
	frpc_conn_tx_purge(conn);
	mutex_unlock(&conn->tx_mutex);
	frpc_conn_put(conn);
}

/* A connection in state READY, version 1, with plenty of credit. */
static struct frpc_conn *frpc_test_conn(struct kunit *test, bool client)
{
	struct frpc_conn *conn;
	int err;

	conn = frpc_conn_alloc(&frpc_test_net, NULL, client);
	KUNIT_ASSERT_NOT_NULL(test, conn);
	err = kunit_add_action_or_reset(test, frpc_test_conn_release, conn);
	KUNIT_ASSERT_EQ(test, err, 0);
	conn->state = FRPC_CONN_READY;
	conn->version = FASTRPC_PROTO_V1;
	conn->tx_credit = FRPC_WINDOW_MAX;
	conn->rx_avail = FRPC_CONN_WINDOW;
	conn->peer_call_window = FRPC_CALL_WINDOW;
	return conn;
}

static void frpc_test_call_release(void *data)
{
	struct frpc_call *call = data;
	struct frpc_conn *conn = call->conn;

	spin_lock_bh(&conn->lock);
	frpc_call_unlink(call);
	frpc_call_drop_tx(call);
	spin_unlock_bh(&conn->lock);
	frpc_call_free(call);
}

/* A call on @conn, freed when the test ends unless the code frees it. */
static struct frpc_call *frpc_test_call(struct kunit *test,
					struct frpc_conn *conn, u32 id,
					u32 tx_credit, bool link)
{
	struct frpc_call *call;
	int err;

	call = frpc_call_alloc(conn, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, call);
	err = kunit_add_action_or_reset(test, frpc_test_call_release, call);
	KUNIT_ASSERT_EQ(test, err, 0);
	call->id = id;
	call->key = id;
	call->tx_credit = tx_credit;
	if (link) {
		spin_lock_bh(&conn->lock);
		frpc_call_link(conn, call);
		spin_unlock_bh(&conn->lock);
	}
	return call;
}

static void frpc_test_kfree(void *p)
{
	kfree(p);
}

/* The next queued control frame, taken off the queue (test-owned). */
static struct frpc_txbuf *frpc_test_pop_ctrl(struct kunit *test,
					     struct frpc_conn *conn)
{
	struct frpc_txbuf *buf;
	int err;

	spin_lock_bh(&conn->lock);
	buf = list_first_entry_or_null(&conn->ctrlq, struct frpc_txbuf, node);
	if (buf) {
		list_del(&buf->node);
		conn->ctrl_bytes -= buf->len;
	}
	spin_unlock_bh(&conn->lock);
	if (buf) {
		err = kunit_add_action_or_reset(test, frpc_test_kfree, buf);
		KUNIT_ASSERT_EQ(test, err, 0);
	}
	return buf;
}

#include "frpc_test_wire.c"
#include "frpc_test_credit.c"
#include "frpc_test_call.c"
#include "frpc_test_tx.c"
#include "frpc_test_rx.c"
#include "frpc_test_peer.c"
#include "frpc_test_netlink.c"
#include "frpc_test_reader.c"
#include "frpc_test_loop.c"
#include "frpc_test_ring.c"

kunit_test_suites(&frpc_hdr_suite, &frpc_hello_suite, &frpc_meta_suite,
		  &frpc_status_suite, &frpc_window_suite, &frpc_credit_suite,
		  &frpc_call_table_suite, &frpc_tx_suite, &frpc_rx_suite,
		  &frpc_peer_suite, &frpc_netlink_suite, &frpc_reader_suite,
		  &frpc_loop_suite, &frpc_ring_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for af_fastrpc");
