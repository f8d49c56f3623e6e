// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections: one kernel TCP socket each, shared by every client socket of
 * a namespace that talks to the same peer.  Setup (connect, HELLO), the
 * transmit queue, receive backpressure and teardown live here.
 *
 * References: the owner (the namespace table for client connections, the
 * server socket for accepted ones) holds one until teardown is finished;
 * every client socket using the connection, every call and every queued
 * work item holds one more.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "frpc.h"

static void frpc_conn_tx_workfn(struct work_struct *work);
static void frpc_conn_fail_workfn(struct work_struct *work);

struct frpc_conn *frpc_conn_alloc(struct frpc_net *fn, bool client)
{
	struct frpc_conn *conn;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return NULL;
	kref_init(&conn->ref);
	conn->fn = fn;
	conn->client = client;
	conn->id = atomic64_inc_return(&fn->next_conn_id);
	INIT_LIST_HEAD(&conn->node);
	spin_lock_init(&conn->lock);
	init_waitqueue_head(&conn->wait);
	hash_init(conn->calls);
	mutex_init(&conn->tx_mutex);
	INIT_LIST_HEAD(&conn->txq);
	INIT_WORK(&conn->tx_work, frpc_conn_tx_workfn);
	INIT_WORK(&conn->fail_work, frpc_conn_fail_workfn);
	conn->state = client ? FRPC_CONN_CONNECTING : FRPC_CONN_HELLO;
	return conn;
}

static void frpc_conn_release(struct kref *ref)
{
	struct frpc_conn *conn = container_of(ref, struct frpc_conn, ref);

	/* teardown ran before the owner dropped its reference */
	WARN_ON_ONCE(conn->tcp || !list_empty(&conn->txq) || conn->ncalls);
	if (conn->server)
		sock_put(&conn->server->sk);
	kfree(conn);
}

void frpc_conn_put(struct frpc_conn *conn)
{
	kref_put(&conn->ref, frpc_conn_release);
}

static void frpc_conn_queue_work(struct frpc_conn *conn,
				 struct work_struct *work)
{
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, work))
		frpc_conn_put(conn);
}

void frpc_addr_from_sk(struct sockaddr_fastrpc *a, struct sock *sk, bool peer)
{
	const struct inet_sock *inet = inet_sk(sk);

	memset(a, 0, sizeof(*a));
	a->sfr_family = frpc_family;
	a->sfr_ip_family = sk->sk_family;
	a->sfr_port = peer ? inet->inet_dport : inet->inet_sport;
#if IS_ENABLED(CONFIG_IPV6)
	/* a dual-stack listener sees IPv4 callers as ::ffff:a.b.c.d */
	if (sk->sk_family == AF_INET6 &&
	    !ipv6_addr_v4mapped(peer ? &sk->sk_v6_daddr : &sk->sk_v6_rcv_saddr)) {
		a->sfr_addr.v6 = peer ? sk->sk_v6_daddr : sk->sk_v6_rcv_saddr;
		if (ipv6_addr_type(&a->sfr_addr.v6) & IPV6_ADDR_LINKLOCAL)
			a->sfr_scope_id = sk->sk_bound_dev_if;
		return;
	}
#endif
	a->sfr_ip_family = AF_INET;
	a->sfr_addr.v4 = peer ? inet->inet_daddr : inet->inet_rcv_saddr;
}

static bool frpc_addr_equal(const struct sockaddr_fastrpc *a,
			    const struct sockaddr_fastrpc *b)
{
	if (a->sfr_ip_family != b->sfr_ip_family || a->sfr_port != b->sfr_port)
		return false;
	if (a->sfr_ip_family == AF_INET)
		return a->sfr_addr.v4 == b->sfr_addr.v4;
	return ipv6_addr_equal(&a->sfr_addr.v6, &b->sfr_addr.v6) &&
	       a->sfr_scope_id == b->sfr_scope_id;
}

/* Transmit. */

void __frpc_conn_queue(struct frpc_conn *conn, struct frpc_txbuf *buf)
{
	lockdep_assert_held(&conn->lock);
	if (conn->torn_down) {
		kvfree(buf);
		return;
	}
	list_add_tail(&buf->node, &conn->txq);
	conn->tx_queued += buf->len;
}

/* Write queued frames without blocking; write_space restarts us. */
static void frpc_conn_tx_flush(struct frpc_conn *conn, int flags)
{
	lockdep_assert_held(&conn->tx_mutex);
	while (conn->tcp) {
		struct msghdr msg = { .msg_flags = flags | MSG_NOSIGNAL };
		struct frpc_txbuf *buf;
		struct kvec iov;
		int ret;

		spin_lock_bh(&conn->lock);
		buf = list_first_entry_or_null(&conn->txq, struct frpc_txbuf, node);
		spin_unlock_bh(&conn->lock);
		if (!buf)
			return;

		iov.iov_base = buf->data + buf->off;
		iov.iov_len = buf->len - buf->off;
		ret = kernel_sendmsg(conn->tcp, &msg, &iov, 1, iov.iov_len);
		if (ret == -EAGAIN)
			return;
		if (ret < 0) {
			frpc_conn_fail(conn, ret, FASTRPC_WERR_NONE);
			return;
		}
		buf->off += ret;
		if (buf->off < buf->len)
			continue;

		spin_lock_bh(&conn->lock);
		list_del(&buf->node);
		conn->tx_queued -= buf->len;
		spin_unlock_bh(&conn->lock);
		kvfree(buf);
		wake_up_all(&conn->wait);
	}
}

static void frpc_conn_tx_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, tx_work);

	mutex_lock(&conn->tx_mutex);
	frpc_conn_tx_flush(conn, MSG_DONTWAIT);
	mutex_unlock(&conn->tx_mutex);
	frpc_conn_put(conn);
}

/*
 * Push queued frames out.  From process context the caller writes them
 * itself unless another writer is busy, which saves a context switch on
 * the latency path; the busy writer's pass, or the work item, sends ours.
 */
void frpc_conn_kick(struct frpc_conn *conn)
{
	if (mutex_trylock(&conn->tx_mutex)) {
		frpc_conn_tx_flush(conn, MSG_DONTWAIT);
		mutex_unlock(&conn->tx_mutex);
		/* a frame queued while we held the mutex found it busy */
		if (!READ_ONCE(conn->tx_queued))
			return;
	}
	frpc_conn_queue_work(conn, &conn->tx_work);
}

void frpc_conn_kick_async(struct frpc_conn *conn)
{
	if (READ_ONCE(conn->tx_queued))
		frpc_conn_queue_work(conn, &conn->tx_work);
}

/* Wait until the connection's transmit queue has room. */
int frpc_conn_wait_tx(struct frpc_conn *conn, long *timeo)
{
	long ret;

	if (READ_ONCE(conn->tx_queued) < FRPC_CONN_TX_HIGH)
		return 0;
	if (!*timeo)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(conn->wait,
		READ_ONCE(conn->tx_queued) < FRPC_CONN_TX_HIGH ||
		READ_ONCE(conn->state) == FRPC_CONN_DEAD, *timeo);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

/* Receive backpressure: stop reading TCP while too much is held. */

void frpc_conn_rx_hold(struct frpc_conn *conn, u32 bytes)
{
	if (atomic_add_return(bytes, &conn->rx_held) > FRPC_CONN_RX_HIGH &&
	    !xchg(&conn->rx_paused, 1))
		strp_pause(&conn->strp);
}

void frpc_conn_rx_release(struct frpc_conn *conn, u32 bytes)
{
	if (!bytes)
		return;
	if (atomic_sub_return(bytes, &conn->rx_held) >= FRPC_CONN_RX_LOW ||
	    !READ_ONCE(conn->rx_paused))
		return;
	spin_lock_bh(&conn->lock);
	if (!conn->torn_down && xchg(&conn->rx_paused, 0))
		strp_unpause(&conn->strp);
	spin_unlock_bh(&conn->lock);
}

/* TCP socket callbacks; sk_callback_lock keeps sk_user_data stable. */

static void frpc_tcp_data_ready(struct sock *sk)
{
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn)
		strp_data_ready(&conn->strp);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void frpc_tcp_write_space(struct sock *sk)
{
	void (*saved)(struct sock *sk) = NULL;
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		saved = conn->saved_write_space;
		frpc_conn_kick_async(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
	if (saved)
		saved(sk);
}

static void frpc_tcp_state_change(struct sock *sk)
{
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn) {
		switch (sk->sk_state) {
		case TCP_CLOSE:
		case TCP_CLOSE_WAIT:
		case TCP_LAST_ACK:
		case TCP_FIN_WAIT1:
		case TCP_FIN_WAIT2:
			frpc_conn_fail(conn, sk->sk_err ? -sk->sk_err : -ECONNRESET,
				       FASTRPC_WERR_NONE);
			break;
		}
	}
	read_unlock_bh(&sk->sk_callback_lock);
}

/* Take over a connected TCP socket and start reading frames from it. */
int frpc_conn_attach(struct frpc_conn *conn, struct socket *tcp)
{
	struct sock *sk = tcp->sk;
	int err;

	tcp_sock_set_nodelay(sk);
	err = strp_init(&conn->strp, sk, &frpc_strp_cb);
	if (err)
		return err;
	frpc_addr_from_sk(&conn->peer, sk, true);
	conn->tcp = tcp;

	write_lock_bh(&sk->sk_callback_lock);
	conn->saved_data_ready = sk->sk_data_ready;
	conn->saved_write_space = sk->sk_write_space;
	conn->saved_state_change = sk->sk_state_change;
	sk->sk_user_data = conn;
	sk->sk_data_ready = frpc_tcp_data_ready;
	sk->sk_write_space = frpc_tcp_write_space;
	sk->sk_state_change = frpc_tcp_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	atomic64_inc(&conn->fn->conns_open);
	atomic64_inc(&conn->fn->conns_total);

	/* bytes or a close that arrived before the callbacks were ours */
	strp_check_rcv(&conn->strp);
	if (sk->sk_state != TCP_ESTABLISHED)
		frpc_conn_fail(conn, -ECONNRESET, FASTRPC_WERR_NONE);
	return 0;
}

static void frpc_conn_detach(struct frpc_conn *conn)
{
	struct sock *sk = conn->tcp->sk;

	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_write_space = conn->saved_write_space;
	sk->sk_state_change = conn->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	spin_lock_bh(&conn->lock);
	conn->torn_down = true;
	spin_unlock_bh(&conn->lock);
	strp_stop(&conn->strp);
	strp_done(&conn->strp);
	atomic64_dec(&conn->fn->conns_open);
}

/*
 * Mark the connection dead and finish every call on it at once; the TCP
 * socket is closed from a work item.  Any context; not under conn->lock.
 * @werr: ERROR code to send the peer first, or FASTRPC_WERR_NONE.
 */
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr)
{
	LIST_HEAD(dead);
	struct frpc_call *call, *tmp;

	spin_lock_bh(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	conn->state = FRPC_CONN_DEAD;
	conn->err = err;
	conn->werr = werr;
	if (werr) {
		struct frpc_txbuf *buf, *next;

		/* nothing more goes to a peer that broke the protocol */
		list_for_each_entry_safe(buf, next, &conn->txq, node) {
			if (buf->off)
				continue;
			list_del(&buf->node);
			conn->tx_queued -= buf->len;
			kvfree(buf);
		}
	}
	frpc_conn_finish_calls(conn, &dead);
	spin_unlock_bh(&conn->lock);

	list_for_each_entry_safe(call, tmp, &dead, rx_node) {
		list_del_init(&call->rx_node);
		frpc_call_free(call);
	}
	if (werr)
		atomic64_inc(&conn->fn->proto_errors);
	wake_up_all(&conn->wait);
	frpc_conn_queue_work(conn, &conn->fail_work);
}

/* Read and drop what the peer still sends, so that close sends FIN, not RST. */
static void frpc_conn_drain(struct socket *tcp)
{
	unsigned long end = jiffies + msecs_to_jiffies(FRPC_DRAIN_MS);
	char scratch[128];
	struct kvec iov = { scratch, sizeof(scratch) };
	struct msghdr msg = {};
	int ret;

	tcp->sk->sk_rcvtimeo = msecs_to_jiffies(FRPC_DRAIN_MS);
	do {
		ret = kernel_recvmsg(tcp, &msg, &iov, 1, iov.iov_len, 0);
	} while (ret > 0 && time_before(jiffies, end));
}

static void frpc_conn_fail_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, fail_work);
	struct frpc_net *fn = conn->fn;
	struct frpc_txbuf *buf, *next;
	struct socket *tcp;
	bool owned = false;

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
			fs->nconns--;
			owned = true;
		}
		mutex_unlock(&fs->conns_lock);
	}

	mutex_lock(&conn->tx_mutex);
	tcp = conn->tcp;
	if (tcp) {
		frpc_conn_detach(conn);
		if (conn->werr) {
			struct fastrpc_wire_error we = {
				.code = cpu_to_be32(conn->werr),
			};

			buf = frpc_build_ctrl(conn->version ? : FASTRPC_PROTO_V1,
					      FASTRPC_FRAME_ERROR, 0, &we,
					      sizeof(we), GFP_KERNEL);
			if (buf) {
				spin_lock_bh(&conn->lock);
				list_add_tail(&buf->node, &conn->txq);
				conn->tx_queued += buf->len;
				spin_unlock_bh(&conn->lock);
			}
		}
		/* last frames (END for closed servers, ERROR) get a second */
		tcp->sk->sk_sndtimeo = HZ;
		frpc_conn_tx_flush(conn, 0);
		kernel_sock_shutdown(tcp, SHUT_WR);
		if (conn->werr)
			frpc_conn_drain(tcp);
		conn->tcp = NULL;
		sock_release(tcp);
	}
	spin_lock_bh(&conn->lock);
	conn->torn_down = true;
	list_for_each_entry_safe(buf, next, &conn->txq, node) {
		list_del(&buf->node);
		kvfree(buf);
	}
	conn->tx_queued = 0;
	spin_unlock_bh(&conn->lock);
	mutex_unlock(&conn->tx_mutex);
	wake_up_all(&conn->wait);

	if (owned)
		frpc_conn_put(conn);
	frpc_conn_put(conn);
}

static int frpc_conn_connect(struct frpc_conn *conn)
{
	struct sockaddr_storage ss = {};
	struct frpc_txbuf *hello;
	struct socket *tcp;
	int len, err;

	if (conn->peer.sfr_ip_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = conn->peer.sfr_port;
		sin->sin_addr.s_addr = conn->peer.sfr_addr.v4;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = conn->peer.sfr_port;
		sin6->sin6_addr = conn->peer.sfr_addr.v6;
		sin6->sin6_scope_id = conn->peer.sfr_scope_id;
		len = sizeof(*sin6);
	}

	err = sock_create_kern(conn->fn->net, conn->peer.sfr_ip_family,
			       SOCK_STREAM, IPPROTO_TCP, &tcp);
	if (err)
		return err;
	tcp->sk->sk_sndtimeo = msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS);
	err = kernel_connect(tcp, (struct sockaddr *)&ss, len, 0);
	if (err)
		goto err_release;
	tcp->sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;

	hello = frpc_build_hello(FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX, GFP_KERNEL);
	if (!hello) {
		err = -ENOMEM;
		goto err_release;
	}
	spin_lock_bh(&conn->lock);
	conn->state = FRPC_CONN_HELLO;
	__frpc_conn_queue(conn, hello);
	spin_unlock_bh(&conn->lock);

	err = frpc_conn_attach(conn, tcp);
	if (err) {
		spin_lock_bh(&conn->lock);
		list_del(&hello->node);
		conn->tx_queued = 0;
		spin_unlock_bh(&conn->lock);
		kvfree(hello);
		goto err_release;
	}
	frpc_conn_kick(conn);
	return 0;

err_release:
	sock_release(tcp);
	return err;
}

/*
 * Find or open the namespace's connection to @peer and wait until it is
 * ready.  Returns it with a reference and counted as used, or ERR_PTR.
 */
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer)
{
	struct frpc_conn *conn, *found = NULL;
	long ret;
	int err;

	mutex_lock(&fn->lock);
	list_for_each_entry(conn, &fn->conns, node) {
		if (READ_ONCE(conn->state) != FRPC_CONN_DEAD &&
		    frpc_addr_equal(&conn->peer, peer)) {
			found = conn;
			break;
		}
	}
	if (!found) {
		conn = frpc_conn_alloc(fn, true);
		if (!conn) {
			mutex_unlock(&fn->lock);
			return ERR_PTR(-ENOMEM);
		}
		conn->peer = *peer;
		list_add(&conn->node, &fn->conns);	/* the table's reference */
	}
	conn->users++;
	kref_get(&conn->ref);
	mutex_unlock(&fn->lock);

	if (!found) {
		err = frpc_conn_connect(conn);
		if (err)
			frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);
	}

	ret = wait_event_interruptible_timeout(conn->wait,
		READ_ONCE(conn->state) == FRPC_CONN_READY ||
		READ_ONCE(conn->state) == FRPC_CONN_DEAD,
		msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS));
	err = 0;
	if (ret < 0)
		err = -EINTR;
	else if (!ret)
		err = -ETIMEDOUT;
	else if (READ_ONCE(conn->state) == FRPC_CONN_DEAD)
		err = READ_ONCE(conn->err) ? : -ECONNRESET;
	if (err) {
		if (!found && err != -EINTR)
			frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);
		frpc_conn_unuse(conn);
		frpc_conn_put(conn);
		return ERR_PTR(err);
	}
	return conn;
}

/* A client socket stops using the connection; the last one closes it. */
void frpc_conn_unuse(struct frpc_conn *conn)
{
	struct frpc_net *fn = conn->fn;
	bool last;

	mutex_lock(&fn->lock);
	last = --conn->users == 0;
	mutex_unlock(&fn->lock);
	if (last)
		frpc_conn_fail(conn, -ESHUTDOWN, FASTRPC_WERR_NONE);
}
