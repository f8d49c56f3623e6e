// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections: one kernel TCP socket each, shared by every client socket of
 * a namespace that talks to the same peer.  Setup (connect, HELLO) and
 * teardown live here; reconnect backoff is peer.c's, keepalive and
 * idleness are timer.c's.
 *
 * References: the owner (the namespace table for client connections, the
 * server socket for accepted ones) holds one until teardown is finished;
 * every client socket using the connection, every call, every received
 * message and every queued work item holds one more.  Timers hold none:
 * teardown shuts them down before the owner lets go.
 */
#include <linux/hashtable.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "loop.h"
#include "mem.h"
#include "netlink.h"
#include "peer.h"
#include "sock.h"
#include "timer.h"
#include "transport.h"
#include "tx.h"
#include "wire.h"

static void frpc_conn_fail_workfn(struct work_struct *work);
static void frpc_conn_eof_workfn(struct work_struct *work);
static void frpc_conn_connect_workfn(struct work_struct *work);

struct frpc_conn *frpc_conn_alloc(struct frpc_net *fn,
				  const struct sockaddr_fastrpc *peer,
				  bool client)
{
	struct frpc_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL_ACCOUNT);
	if (!conn)
		return NULL;
	RB_CLEAR_NODE(&conn->nl_node);	/* in no tree until added */
	/* apart from the connection: 8 KiB embedded made it an order-2 page */
	conn->calls = kvmalloc_array(FRPC_CALL_BUCKETS, sizeof(*conn->calls),
				     GFP_KERNEL_ACCOUNT);
	if (!conn->calls) {
		kfree(conn);
		return NULL;
	}
	__hash_init(conn->calls, FRPC_CALL_BUCKETS);
	conn->hash_mul = get_random_u32() | 1;
	if (client)
		conn->memcg = frpc_memcg_get();
	kref_init(&conn->ref);
	conn->fn = fn;
	conn->client = client;
	if (peer)
		conn->peer = *peer;	/* before dumps see it */
	INIT_LIST_HEAD(&conn->node);
	spin_lock_init(&conn->lock);
	spin_lock_init(&conn->spare_lock);
	init_waitqueue_head(&conn->wait);
	mutex_init(&conn->tx_mutex);
	INIT_LIST_HEAD(&conn->ctrlq);
	INIT_LIST_HEAD(&conn->ready);
	conn->deadlines = RB_ROOT_CACHED;
	INIT_WORK(&conn->tx_work, frpc_conn_tx_workfn);
	INIT_WORK(&conn->fail_work, frpc_conn_fail_workfn);
	INIT_WORK(&conn->eof_work, frpc_conn_eof_workfn);
	INIT_WORK(&conn->connect_work, frpc_conn_connect_workfn);
	INIT_LIST_HEAD(&conn->user_socks);
	frpc_conn_init_timers(conn);
	conn->state = client ? FRPC_CONN_CONNECTING : FRPC_CONN_HELLO;
	conn->last_rx = jiffies;
	conn->last_ping = jiffies;
	conn->idle_since = jiffies;
	conn->tx_mixed_until = jiffies;
	frpc_nl_conn_add(conn);
	return conn;
}

static void frpc_conn_release(struct kref *ref)
{
	struct frpc_conn *conn = container_of(ref, struct frpc_conn, ref);

	/* teardown ran before the owner dropped its reference */
	WARN_ON_ONCE(conn->tcp || conn->loop || conn->ncalls ||
		     !list_empty(&conn->ctrlq));
	frpc_nl_conn_del(conn);
	if (conn->server)
		sock_put(&conn->server->sk);
	frpc_call_free_spares(conn);
	kfree(conn->tx_stage);
	frpc_memcg_put(conn->memcg);
	kvfree(conn->calls);
	kfree(conn);
}

void frpc_conn_put(struct frpc_conn *conn)
{
	kref_put(&conn->ref, frpc_conn_release);
}

/*
 * The peer closed its side (FIN) or reset the connection.  TCP reports it
 * before data_ready for the bytes that came with or before it (a last
 * END, GOAWAY or ERROR), so the connection fails only after a work item
 * has read them.  Meanwhile a client connection takes no new calls.
 */
void frpc_conn_peer_closed(struct frpc_conn *conn, int err)
{
	spin_lock_bh(&conn->lock);
	if (!conn->eof_err)
		conn->eof_err = err;
	if (conn->client && conn->state == FRPC_CONN_READY)
		frpc_conn_set_state(conn, FRPC_CONN_DRAINING);
	spin_unlock_bh(&conn->lock);
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, &conn->eof_work))
		frpc_conn_put(conn);
}

static void frpc_conn_eof_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, eof_work);
	int err;

	frpc_tp_read_rest(conn);
	spin_lock_bh(&conn->lock);
	err = conn->eof_err;
	spin_unlock_bh(&conn->lock);
	/* a connection already dead (namespace exit too) is left as it is */
	frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);
	frpc_conn_put(conn);
}

/*
 * End up to FRPC_REAP_BATCH calls of a dead connection.  An orderly close
 * (no ERROR) still tells the peer's calls they are over.  Returns true if
 * calls are left.  conn->lock held.
 */
static bool frpc_conn_end_some(struct frpc_conn *conn, struct frpc_reap *r)
{
	struct frpc_call *call;
	struct hlist_node *n;
	unsigned int done = 0;
	int bkt;

	lockdep_assert_held(&conn->lock);
	for (bkt = 0; bkt < FRPC_CALL_BUCKETS; bkt++) {
		hlist_for_each_entry_safe(call, n, &conn->calls[bkt], conn_node) {
			if (done++ == FRPC_REAP_BATCH)
				return true;
			/*
			 * A call with a message half sent gets no END: the
			 * client would take the fragment for the reply.
			 * Losing the connection ends it with UNAVAILABLE all
			 * the same.
			 */
			if (!conn->werr && !conn->client &&
			    call->state == FRPC_CALL_OPEN &&
			    !frpc_call_mid_message(call))
				frpc_queue_end(conn, call->id,
					       FASTRPC_UNAVAILABLE);
			if (conn->client)
				frpc_call_finish(call, FASTRPC_UNAVAILABLE, r);
			else
				frpc_call_cancel_server(call,
							FASTRPC_UNAVAILABLE, r);
		}
	}
	return false;
}

/* End every call of a dead connection, a batch at a time. */
static void frpc_conn_end_calls(struct frpc_conn *conn, bool may_sleep)
{
	struct frpc_reap r;
	bool more;

	do {
		frpc_reap_init(&r);
		spin_lock_bh(&conn->lock);
		more = frpc_conn_end_some(conn, &r);
		spin_unlock_bh(&conn->lock);
		frpc_reap(&r);
		if (may_sleep)
			cond_resched();
	} while (more && may_sleep);
}

/*
 * End every call of a dead connection now, from process context: what a
 * failure in softirq left to its work item, too.
 */
void frpc_conn_end_all(struct frpc_conn *conn)
{
	might_sleep();
	frpc_conn_end_calls(conn, true);
}

/*
 * Mark the connection dead and end its calls: at once from process
 * context; from softirq the first batch at once and the rest, with the
 * TCP socket's close, from a work item.  Not under conn->lock.
 * @werr: ERROR code to send the peer first, or FASTRPC_WERR_NONE for an
 * orderly close.
 */
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr)
{
	spin_lock_bh(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	/* first, so that the state change's trace says why */
	conn->err = err;
	conn->werr = werr;
	frpc_conn_set_state(conn, FRPC_CONN_DEAD);
	spin_unlock_bh(&conn->lock);

	frpc_conn_end_calls(conn, preemptible());
	if (werr) {
		atomic64_inc(&conn->fn->proto_errors);
		frpc_nl_conn_event(conn, FASTRPC_CMD_PROTO_ERROR_NTF, err, werr,
				   true);
		trace_proto_error(conn, werr, false);
	}
	frpc_nl_conn_event(conn, FASTRPC_CMD_CONN_DOWN_NTF, err, 0, false);
	wake_up_all(&conn->wait);
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, &conn->fail_work))
		frpc_conn_put(conn);
}

/*
 * Stop taking calls on this connection (GOAWAY) and close it once its
 * calls are done.  conn->lock held.
 */
void __frpc_conn_goaway(struct frpc_conn *conn, u32 code)
{
	struct fastrpc_wire_error ge = {
		.code = cpu_to_be32(code),
		.last_id = cpu_to_be32(conn->max_id),
	};

	lockdep_assert_held(&conn->lock);
	if (conn->state != FRPC_CONN_READY)
		return;
	frpc_conn_set_state(conn, FRPC_CONN_DRAINING);
	frpc_queue_simple(conn, FASTRPC_FRAME_GOAWAY, 0, 0, &ge, sizeof(ge));
	atomic64_inc(&conn->fn->goaways_sent);
	frpc_nl_conn_event(conn, FASTRPC_CMD_GOAWAY_NTF, 0, code, true);
}

void frpc_conn_goaway(struct frpc_conn *conn, u32 code)
{
	spin_lock_bh(&conn->lock);
	__frpc_conn_goaway(conn, code);
	frpc_conn_drained(conn);	/* none to wait for: closes now */
	spin_unlock_bh(&conn->lock);
}

static void frpc_conn_fail_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, fail_work);
	struct frpc_net *fn = conn->fn;
	unsigned long until;
	bool owned = false;

	/*
	 * What softirq left, before the connection leaves its owner's
	 * list: a server socket's release ends the calls of the
	 * connections on its list, and must find every call still on one.
	 */
	frpc_conn_end_calls(conn, true);

	if (conn->client) {
		mutex_lock(&fn->lock);
		if (!list_empty(&conn->node)) {
			list_del_init(&conn->node);
			owned = true;
		}
		mutex_unlock(&fn->lock);
	} else {
		struct frpc_sock *fs = conn->server;

		mutex_lock(&fs->conns_lock);
		if (!list_empty(&conn->node)) {
			list_del_init(&conn->node);
			frpc_server_conn_gone(conn);
			owned = true;
		}
		mutex_unlock(&fs->conns_lock);
	}

	frpc_conn_stop_timers(conn);

	mutex_lock(&conn->tx_mutex);
	if (frpc_conn_has_tp(conn)) {
		frpc_tp_detach(conn);
		if (conn->werr) {
			struct fastrpc_wire_error we = {
				.code = cpu_to_be32(conn->werr),
			};
			struct frpc_txbuf *buf;

			buf = frpc_build_ctrl(conn->version ? : FASTRPC_PROTO_V1,
					      FASTRPC_FRAME_ERROR, 0, 0, &we,
					      sizeof(we), GFP_KERNEL);
			if (buf) {
				spin_lock_bh(&conn->lock);
				list_add_tail(&buf->node, &conn->ctrlq);
				spin_unlock_bh(&conn->lock);
			}
		}
		/* last frames (GOAWAY, END, ERROR) get a moment to go out */
		until = jiffies + msecs_to_jiffies(FRPC_LAST_FLUSH_MS);
		frpc_conn_tx_flush(conn, SIZE_MAX, &until, NULL);
		frpc_tp_close(conn, conn->werr);
	}
	frpc_conn_tx_purge(conn);
	mutex_unlock(&conn->tx_mutex);
	wake_up_all(&conn->wait);

	/* nothing more comes from it: a drained server reads end of file */
	if (owned && !conn->client)
		frpc_server_conn_closed(conn->server);
	if (owned)
		frpc_conn_put(conn);
	frpc_conn_put(conn);
}

/* PONG for our last PING: update the smoothed round trip. */
void frpc_conn_pong(struct frpc_conn *conn, u64 sent_ns)
{
	u64 now = ktime_get_ns();
	u32 rtt;

	lockdep_assert_held(&conn->lock);
	if (!conn->ping_sent_ns || sent_ns != conn->ping_sent_ns || now < sent_ns)
		return;		/* not ours, or stale */
	conn->ping_sent_ns = 0;
	rtt = min_t(u64, (now - sent_ns) / NSEC_PER_USEC, U32_MAX);
	conn->srtt_us = conn->srtt_us ? (conn->srtt_us * 7 + rtt) / 8 : rtt ? : 1;
}

/* Undo what frpc_conn_open_tp() opened, before it was attached. */
static void frpc_conn_drop_tp(struct socket *tcp, struct frpc_loop *lp)
{
	if (lp)
		frpc_loop_abandon(lp);
	else
		sock_release(tcp);
}

/*
 * The same-host short cut when a server socket of the namespace serves
 * the peer (@lpp), else a TCP connection (@tcpp).
 */
static int frpc_conn_open_tp(struct frpc_conn *conn, struct socket **tcpp,
			     struct frpc_loop **lpp)
{
	struct frpc_loop *lp;

	*tcpp = NULL;
	lp = frpc_loop_connect(conn);
	if (IS_ERR(lp))
		return PTR_ERR(lp);
	*lpp = lp;
	if (lp)
		return 0;
	return frpc_tp_connect(conn, tcpp);
}

static int frpc_conn_connect(struct frpc_conn *conn)
{
	struct fastrpc_wire_hello hello;
	struct frpc_loop *lp = NULL;
	struct frpc_txbuf *buf;
	struct socket *tcp;
	int err;

	err = frpc_conn_open_tp(conn, &tcp, &lp);
	if (err)
		return err;
	frpc_hello_init(&hello, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	buf = frpc_build_ctrl(FASTRPC_PROTO_MAX, FASTRPC_FRAME_HELLO, 0, 0,
			      &hello, sizeof(hello), GFP_KERNEL);
	if (!buf) {
		frpc_conn_drop_tp(tcp, lp);
		return -ENOMEM;
	}
	/*
	 * Under tx_mutex, so that a failure (namespace exit, say) either
	 * comes first and is seen here, or finds the transport attached
	 * when its work closes it.
	 */
	mutex_lock(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD) {
		err = conn->err ? : -ESHUTDOWN;
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		kfree(buf);
		frpc_conn_drop_tp(tcp, lp);
		return err;
	}
	frpc_conn_set_state(conn, FRPC_CONN_HELLO);
	frpc_queue_ctrl(conn, buf);
	spin_unlock_bh(&conn->lock);
	if (lp)
		frpc_loop_attach_client(conn, lp);
	else
		err = frpc_tp_attach(conn, tcp);
	mutex_unlock(&conn->tx_mutex);
	if (err) {
		sock_release(tcp);
		return err;
	}
	frpc_conn_kick(conn);
	return 0;
}

/*
 * How opening client connection @conn went, once its wait for READY is
 * over (@left: what the wait returned): 0 if the HELLO exchange completed.
 * Not what its state says now: connect_work may run only after the
 * connection was ready, used and lost (its server closed, say), which is
 * no failed connect, and a backoff record for it would make new connects
 * to that peer, a server restarted on the port, fail fast.  The agreed
 * version is set with READY and never cleared.
 */
static int frpc_conn_connect_result(struct frpc_conn *conn, long left)
{
	int err;

	spin_lock_bh(&conn->lock);
	if (conn->version)
		err = 0;
	else if (!left)
		err = -ETIMEDOUT;
	else
		err = conn->err ? : -ECONNRESET;	/* it is DEAD */
	spin_unlock_bh(&conn->lock);
	return err;
}

/*
 * Open a client connection: the same-host pair or a TCP connect, HELLO,
 * and the wait for the answer, in a work item so that no socket call
 * sleeps through it with its socket locked.  The outcome (ready, failed,
 * timed out) is recorded for the peer's backoff and every socket using
 * the connection is woken, so that a non-blocking sender polling for
 * EPOLLOUT learns it.
 */
static void frpc_conn_connect_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn,
					      connect_work);
	struct frpc_net *fn = conn->fn;
	struct frpc_sock *fs;
	int err;
	long ret;

	err = frpc_conn_connect(conn);
	if (!err) {
		ret = wait_event_timeout(conn->wait,
					 READ_ONCE(conn->state) >= FRPC_CONN_READY,
					 msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS));
		err = frpc_conn_connect_result(conn, ret);
	}
	/*
	 * Recorded first, so that a caller woken by the failure sees it; not
	 * for a namespace or module going away (frpc_net_close_all() has
	 * dropped the records already, and a new one would outlive them).
	 */
	if (err != -ESHUTDOWN)
		frpc_peer_result(fn, &conn->peer, err);
	if (err)
		frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);

	mutex_lock(&fn->lock);
	list_for_each_entry(fs, &conn->user_socks, conn_node) {
		WRITE_ONCE(fs->connecting, false);
		frpc_sock_wake_out(&fs->sk);
		cond_resched();		/* as many as the user has sockets */
	}
	mutex_unlock(&fn->lock);
	put_net(fn->net);
	frpc_conn_put(conn);
}

/*
 * Find or start the namespace's connection to @peer for client socket @fs,
 * which moves to it from @old (or NULL) on success and stays otherwise.
 * Never waits for the connection: a new one is opened by a work item, and
 * frpc_conn_wait_ready() waits for it.  Returns it with a reference and
 * @fs on its users, or ERR_PTR.  After failed attempts, new ones wait out
 * a backoff and fail fast meanwhile with the last error.
 */
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer,
				       struct frpc_sock *fs,
				       struct frpc_conn *old)
{
	struct frpc_conn *conn, *found = NULL;
	struct frpc_peer *p;
	bool loop_ok;
	int err;

	/* a socket with the short cut off does not share one that may take it */
	loop_ok = frpc_limit(fn, FRPC_LIM_LOOPBACK) && READ_ONCE(fs->loopback);
	mutex_lock(&fn->lock);
	list_for_each_entry(conn, &fn->conns, node) {
		if (READ_ONCE(conn->state) < FRPC_CONN_DRAINING &&
		    conn->loop_ok == loop_ok &&
		    frpc_addr_equal(&conn->peer, peer)) {
			found = conn;
			break;
		}
	}
	if (!found) {
		p = frpc_peer_find(fn, peer);
		if (p && time_before(jiffies, p->retry_at)) {
			err = p->err;
			mutex_unlock(&fn->lock);
			return ERR_PTR(err);
		}
		conn = frpc_conn_alloc(fn, peer, true);
		if (!conn) {
			mutex_unlock(&fn->lock);
			return ERR_PTR(-ENOMEM);
		}
		conn->loop_ok = loop_ok;
		list_add(&conn->node, &fn->conns);	/* the table's reference */
		/* connect_work's: the namespace stays while it connects */
		kref_get(&conn->ref);
		get_net(fn->net);
		queue_work(frpc_wq, &conn->connect_work);
	}
	list_move_tail(&fs->conn_node, &conn->user_socks);
	WRITE_ONCE(conn->users, conn->users + 1);
	if (old)
		WRITE_ONCE(old->users, old->users - 1);
	/* connect_work clears it, under fn->lock, once the outcome is known */
	WRITE_ONCE(fs->connecting, READ_ONCE(conn->state) < FRPC_CONN_READY);
	kref_get(&conn->ref);
	mutex_unlock(&fn->lock);
	return conn;
}

/*
 * Wait until @conn is ready, without any socket lock held: 0, -EAGAIN if
 * it is still opening when @timeo (jiffies, 0: do not wait) runs out, or
 * why it failed.  A connection that
 * was ready and now drains counts as ready; sending on it tries anew.
 */
int frpc_conn_wait_ready(struct frpc_conn *conn, long timeo)
{
	long ret;

	if (READ_ONCE(conn->state) < FRPC_CONN_READY) {
		if (!timeo)
			return -EAGAIN;
		/* connect_work ends the wait within its own timeout */
		timeo = min_t(long, timeo,
			      2 * msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS));
		ret = wait_event_interruptible_timeout(conn->wait,
						       READ_ONCE(conn->state) >= FRPC_CONN_READY,
						       timeo);
		if (ret < 0)
			return -EINTR;
		if (!ret)
			return -EAGAIN;
	}
	if (READ_ONCE(conn->state) == FRPC_CONN_DEAD)
		return READ_ONCE(conn->err) ? : -ECONNRESET;
	return 0;
}

/* Client socket @fs stops using @conn; idleness closes it later. */
void frpc_conn_unuse(struct frpc_conn *conn, struct frpc_sock *fs)
{
	struct frpc_net *fn = conn->fn;

	mutex_lock(&fn->lock);
	list_del_init(&fs->conn_node);
	WRITE_ONCE(conn->users, conn->users - 1);
	mutex_unlock(&fn->lock);
}

/* Namespace or module going away: close every connection left. */
void frpc_net_close_all(struct frpc_net *fn)
{
	struct frpc_conn *conn, *tmp;
	struct frpc_peer *p, *pn;
	LIST_HEAD(conns);

	mutex_lock(&fn->lock);
	list_for_each_entry_safe(conn, tmp, &fn->conns, node) {
		kref_get(&conn->ref);
		list_add_tail(&conn->close_node, &conns);
	}
	list_for_each_entry_safe(p, pn, &fn->peers, node)
		frpc_peer_del(fn, p);
	mutex_unlock(&fn->lock);

	list_for_each_entry_safe(conn, tmp, &conns, close_node) {
		list_del(&conn->close_node);
		frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
		frpc_conn_fail(conn, -ESHUTDOWN, FASTRPC_WERR_NONE);
		frpc_conn_put(conn);
		cond_resched();
	}
}
