// SPDX-License-Identifier: GPL-2.0-only
/*
 * Connections: one kernel TCP socket each, shared by every client socket of
 * a namespace that talks to the same peer.  Setup (connect with backoff,
 * HELLO), keepalive and idleness, and teardown live here.
 *
 * References: the owner (the namespace table for client connections, the
 * server socket for accepted ones) holds one until teardown is finished;
 * every client socket using the connection, every call, every received
 * message and every queued work item holds one more.  Timers hold none:
 * teardown shuts them down before the owner lets go.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/moduleparam.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "frpc.h"

static int frpc_param_set_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, FRPC_TIMER_MIN_MS, 3600 * 1000);
}

static const struct kernel_param_ops frpc_ms_ops = {
	.set = frpc_param_set_ms,
	.get = param_get_uint,
};

static unsigned int frpc_keepalive_ms = FRPC_KEEPALIVE_MS;
module_param_cb(keepalive_ms, &frpc_ms_ops, &frpc_keepalive_ms, 0644);
MODULE_PARM_DESC(keepalive_ms, "PING interval; 3 silent intervals end a connection");

static unsigned int frpc_idle_ms = FRPC_IDLE_MS;
module_param_cb(idle_ms, &frpc_ms_ops, &frpc_idle_ms, 0644);
MODULE_PARM_DESC(idle_ms, "close a connection without calls after this long");

static void frpc_conn_fail_workfn(struct work_struct *work);
static void frpc_conn_eof_workfn(struct work_struct *work);
static void frpc_ka_timer_fn(struct timer_list *t);

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
	INIT_LIST_HEAD(&conn->ctrlq);
	INIT_LIST_HEAD(&conn->ready);
	INIT_LIST_HEAD(&conn->deadlines);
	INIT_WORK(&conn->tx_work, frpc_conn_tx_workfn);
	INIT_WORK(&conn->fail_work, frpc_conn_fail_workfn);
	INIT_WORK(&conn->eof_work, frpc_conn_eof_workfn);
	timer_setup(&conn->deadline_timer, frpc_deadline_timer_fn, 0);
	timer_setup(&conn->ka_timer, frpc_ka_timer_fn, 0);
	conn->state = client ? FRPC_CONN_CONNECTING : FRPC_CONN_HELLO;
	conn->last_rx = jiffies;
	conn->last_ping = jiffies;
	conn->idle_since = jiffies;
	return conn;
}

static void frpc_conn_release(struct kref *ref)
{
	struct frpc_conn *conn = container_of(ref, struct frpc_conn, ref);

	/* teardown ran before the owner dropped its reference */
	WARN_ON_ONCE(conn->tcp || conn->ncalls || !list_empty(&conn->ctrlq));
	if (conn->server)
		sock_put(&conn->server->sk);
	kfree(conn);
}

void frpc_conn_put(struct frpc_conn *conn)
{
	kref_put(&conn->ref, frpc_conn_release);
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

/*
 * The peer closed its side (FIN) or reset the connection.  TCP reports it
 * before data_ready for the bytes that came with or before it (a last
 * END, GOAWAY or ERROR), and while a user owns the socket strparser reads
 * only later, from its work: so the connection fails once the receive side
 * has read them.  Meanwhile a client connection takes no new calls.
 */
static void frpc_conn_peer_closed(struct frpc_conn *conn, int err)
{
	spin_lock_bh(&conn->lock);
	if (!conn->eof_err)
		conn->eof_err = err;
	if (conn->client && conn->state == FRPC_CONN_READY)
		conn->state = FRPC_CONN_DRAINING;
	spin_unlock_bh(&conn->lock);
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, &conn->eof_work))
		frpc_conn_put(conn);
}

static void frpc_conn_eof_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, eof_work);
	int err;

	mutex_lock(&conn->tx_mutex);	/* keeps conn->tcp */
	if (conn->tcp) {
		/*
		 * The socket lock waits out the softirq or backlog run that
		 * saw the close, and its data_ready with it.
		 */
		lock_sock(conn->tcp->sk);
		release_sock(conn->tcp->sk);
	}
	mutex_unlock(&conn->tx_mutex);
	/* strparser defers reading to its work while the socket is owned */
	flush_work(&conn->strp.work);
	spin_lock_bh(&conn->lock);
	err = conn->eof_err;
	spin_unlock_bh(&conn->lock);
	/* a connection already dead (namespace exit too) is left as it is */
	frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);
	frpc_conn_put(conn);
}

static void frpc_tcp_state_change(struct sock *sk)
{
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = sk->sk_user_data;
	if (conn && sk->sk_state != TCP_ESTABLISHED)
		frpc_conn_peer_closed(conn, sk->sk_err ? -sk->sk_err :
							 -ECONNRESET);
	read_unlock_bh(&sk->sk_callback_lock);
}

static unsigned long frpc_ka_tick(void)
{
	unsigned int ms = min(READ_ONCE(frpc_keepalive_ms),
			      READ_ONCE(frpc_idle_ms)) / 4;

	return max_t(unsigned long, HZ / 10, msecs_to_jiffies(ms));
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
	conn->last_rx = jiffies;

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
	mod_timer(&conn->ka_timer, jiffies + frpc_ka_tick());

	/* bytes or a close that arrived before the callbacks were ours */
	strp_check_rcv(&conn->strp);
	if (sk->sk_state != TCP_ESTABLISHED)
		frpc_conn_peer_closed(conn, sk->sk_err ? -sk->sk_err :
							 -ECONNRESET);
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

	strp_stop(&conn->strp);
	strp_done(&conn->strp);
	atomic64_dec(&conn->fn->conns_open);
}

/*
 * Mark the connection dead and end every call on it at once; the TCP
 * socket is closed from a work item.  Any context; not under conn->lock.
 * @werr: ERROR code to send the peer first, or FASTRPC_WERR_NONE for an
 * orderly close, which still tells the peer's calls they are over.
 */
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr)
{
	struct frpc_reap r;

	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	conn->state = FRPC_CONN_DEAD;
	conn->err = err;
	conn->werr = werr;
	if (!werr && !conn->client) {
		struct frpc_call *call;
		struct hlist_node *n;
		int bkt;

		/*
		 * A call with a message half sent gets no END: the client
		 * would take the fragment for the reply.  Losing the
		 * connection ends it with UNAVAILABLE all the same.
		 */
		hash_for_each_safe(conn->calls, bkt, n, call, conn_node)
			if (call->state == FRPC_CALL_OPEN &&
			    !frpc_call_mid_message(call))
				frpc_queue_end(conn, call->id,
					       FASTRPC_UNAVAILABLE);
	}
	frpc_conn_finish_calls(conn, &r);
	spin_unlock_bh(&conn->lock);

	frpc_reap(&r);
	if (werr)
		atomic64_inc(&conn->fn->proto_errors);
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
	conn->state = FRPC_CONN_DRAINING;
	conn->goaway_id = conn->max_id;
	frpc_queue_simple(conn, FASTRPC_FRAME_GOAWAY, 0, 0, &ge, sizeof(ge));
	atomic64_inc(&conn->fn->goaways_sent);
}

void frpc_conn_goaway(struct frpc_conn *conn, u32 code)
{
	spin_lock_bh(&conn->lock);
	__frpc_conn_goaway(conn, code);
	spin_unlock_bh(&conn->lock);
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
	unsigned long until;
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

	spin_lock_bh(&conn->lock);
	conn->torn_down = true;		/* timers stop re-arming */
	spin_unlock_bh(&conn->lock);
	timer_shutdown_sync(&conn->ka_timer);
	timer_shutdown_sync(&conn->deadline_timer);

	mutex_lock(&conn->tx_mutex);
	tcp = conn->tcp;
	if (tcp) {
		frpc_conn_detach(conn);
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
		frpc_conn_tx_flush(conn, SIZE_MAX, &until);
		kernel_sock_shutdown(tcp, SHUT_WR);
		if (conn->werr)
			frpc_conn_drain(tcp);
		conn->tcp = NULL;
		sock_release(tcp);
	}
	frpc_conn_tx_purge(conn);
	mutex_unlock(&conn->tx_mutex);
	wake_up_all(&conn->wait);

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

/*
 * Keepalive and idleness, every tick: PING a silent peer, give up on one
 * silent for too long, close a connection that has had no calls for
 * idle_ms (and, on a client, no sockets).
 */
static void frpc_ka_timer_fn(struct timer_list *t)
{
	struct frpc_conn *conn = from_timer(conn, t, ka_timer);
	unsigned long ka = msecs_to_jiffies(READ_ONCE(frpc_keepalive_ms));
	unsigned long now = jiffies;
	u8 werr = FASTRPC_WERR_NONE;
	bool kick = false;
	int fail = 0;

	spin_lock_bh(&conn->lock);
	if (conn->torn_down || conn->state == FRPC_CONN_DEAD) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	if (conn->ctrl_overflow) {
		fail = -ENOBUFS;
		werr = FASTRPC_WERR_RESOURCE;
	} else if (conn->state == FRPC_CONN_HELLO &&
		   time_after(now, conn->last_rx +
		       msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS))) {
		fail = -ETIMEDOUT;
	} else if (time_after(now, conn->last_rx +
			      msecs_to_jiffies(3 * READ_ONCE(frpc_keepalive_ms)))) {
		fail = -ETIMEDOUT;
	} else if (conn->state != FRPC_CONN_HELLO) {
		/*
		 * On a schedule, so that busy connections get an RTT too; a
		 * PONG that never came (peers may skip them) stops nothing.
		 */
		if ((!conn->ping_sent_ns ||
		     time_after(now, conn->last_ping + 2 * ka)) &&
		    time_after(now, conn->last_ping + ka)) {
			__be64 ns;

			conn->last_ping = now;
			conn->ping_sent_ns = ktime_get_ns();
			ns = cpu_to_be64(conn->ping_sent_ns);
			frpc_queue_simple(conn, FASTRPC_FRAME_PING, 0, 0, &ns,
					  sizeof(ns));
			atomic64_inc(&conn->fn->pings_sent);
			kick = true;
		}
		if (conn->state == FRPC_CONN_DRAINING && !conn->ncalls)
			fail = -ESHUTDOWN;	/* GOAWAY done: its calls are over */
		else if (!conn->ncalls &&
			 (!conn->client || !READ_ONCE(conn->users)) &&
			 time_after(now, conn->idle_since +
				    msecs_to_jiffies(READ_ONCE(frpc_idle_ms)))) {
			if (!conn->client)
				__frpc_conn_goaway(conn, FASTRPC_WERR_IDLE);
			fail = -ESHUTDOWN;
		}
	}
	if (!fail)
		mod_timer(&conn->ka_timer, now + frpc_ka_tick());
	spin_unlock_bh(&conn->lock);

	if (fail)
		frpc_conn_fail(conn, fail, werr);
	else if (kick)
		frpc_conn_kick_async(conn);
}

/* Reconnect backoff: exponential with jitter, per peer. fn->lock held. */

static struct frpc_peer *frpc_peer_find(struct frpc_net *fn,
					const struct sockaddr_fastrpc *addr)
{
	struct frpc_peer *p;

	lockdep_assert_held(&fn->lock);
	list_for_each_entry(p, &fn->peers, node)
		if (frpc_addr_equal(&p->addr, addr))
			return p;
	return NULL;
}

static void frpc_peer_del(struct frpc_net *fn, struct frpc_peer *p)
{
	lockdep_assert_held(&fn->lock);
	list_del(&p->node);
	kfree(p);
	fn->npeers--;
	atomic64_set(&fn->backoff_peers, fn->npeers);
}

/*
 * Make room for a new record: a peer whose backoff ended long ago starts
 * afresh, and past FRPC_MAX_PEERS the oldest records go, so that connects
 * to ever new addresses cannot grow the list without bound.
 */
static void frpc_peer_prune(struct frpc_net *fn)
{
	unsigned long stale = msecs_to_jiffies(2 * FRPC_BACKOFF_MAX_MS);
	struct frpc_peer *p, *pn;

	list_for_each_entry_safe(p, pn, &fn->peers, node)
		if (time_after(jiffies, p->retry_at + stale))
			frpc_peer_del(fn, p);
	while (fn->npeers >= FRPC_MAX_PEERS)
		frpc_peer_del(fn, list_last_entry(&fn->peers, struct frpc_peer,
						  node));
}

static void frpc_peer_result(struct frpc_net *fn,
			     const struct sockaddr_fastrpc *addr, int err)
{
	struct frpc_peer *p;
	unsigned long delay;

	mutex_lock(&fn->lock);
	p = frpc_peer_find(fn, addr);
	if (!err || err == -EINTR) {
		if (p && !err)
			frpc_peer_del(fn, p);
		goto out;
	}
	atomic64_inc(&fn->connect_failures);
	if (!p) {
		frpc_peer_prune(fn);
		p = kzalloc(sizeof(*p), GFP_KERNEL);
		if (!p)
			goto out;
		p->addr = *addr;
		list_add(&p->node, &fn->peers);	/* newest first */
		fn->npeers++;
		atomic64_set(&fn->backoff_peers, fn->npeers);
	}
	p->failures = min(p->failures + 1, 16U);
	p->err = err;
	delay = min_t(unsigned long, FRPC_BACKOFF_MAX_MS,
		      FRPC_BACKOFF_MIN_MS << (p->failures - 1));
	/* up to half again, so that many clients do not retry in step */
	delay += get_random_u32() % (delay / 2 + 1);
	p->retry_at = jiffies + msecs_to_jiffies(delay);
out:
	mutex_unlock(&fn->lock);
}

static int frpc_conn_connect(struct frpc_conn *conn)
{
	struct sockaddr_storage ss = {};
	struct fastrpc_wire_hello hello;
	struct frpc_txbuf *buf;
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
	if (err == -EINPROGRESS)	/* the send timeout ran out */
		err = -ETIMEDOUT;
	if (err)
		goto err_release;
	tcp->sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;

	frpc_hello_init(&hello, FASTRPC_PROTO_MIN, FASTRPC_PROTO_MAX);
	buf = frpc_build_ctrl(FASTRPC_PROTO_MAX, FASTRPC_FRAME_HELLO, 0, 0,
			      &hello, sizeof(hello), GFP_KERNEL);
	if (!buf) {
		err = -ENOMEM;
		goto err_release;
	}
	spin_lock_bh(&conn->lock);
	conn->state = FRPC_CONN_HELLO;
	frpc_queue_ctrl(conn, buf);
	spin_unlock_bh(&conn->lock);

	err = frpc_conn_attach(conn, tcp);
	if (err)
		goto err_release;
	frpc_conn_kick(conn);
	return 0;

err_release:
	sock_release(tcp);
	return err;
}

/*
 * Find or open the namespace's connection to @peer and wait until it is
 * ready.  Returns it with a reference and counted as used, or ERR_PTR.
 * After failed attempts, new ones wait out a backoff and fail fast
 * meanwhile with the last error.
 */
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer)
{
	struct frpc_conn *conn, *found = NULL;
	struct frpc_peer *p;
	int err, cerr = 0;
	long ret;

	mutex_lock(&fn->lock);
	list_for_each_entry(conn, &fn->conns, node) {
		if (READ_ONCE(conn->state) < FRPC_CONN_DRAINING &&
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
		cerr = frpc_conn_connect(conn);
		if (cerr == -ERESTARTSYS)
			cerr = -EINTR;
		/* a signal to this caller is not the other waiters' error */
		if (cerr)
			frpc_conn_fail(conn, cerr == -EINTR ? -ECONNABORTED : cerr,
				       FASTRPC_WERR_NONE);
	}

	ret = wait_event_interruptible_timeout(conn->wait,
					       READ_ONCE(conn->state) >= FRPC_CONN_READY,
					       msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS));
	err = 0;
	if (ret < 0 || cerr == -EINTR)
		err = -EINTR;
	else if (!ret)
		err = -ETIMEDOUT;
	else if (READ_ONCE(conn->state) == FRPC_CONN_DEAD)
		err = READ_ONCE(conn->err) ? : -ECONNRESET;
	if (!found)
		frpc_peer_result(fn, peer, err);
	if (err) {
		if (!found && err != -EINTR)
			frpc_conn_fail(conn, err, FASTRPC_WERR_NONE);
		frpc_conn_unuse(conn);
		frpc_conn_put(conn);
		return ERR_PTR(err);
	}
	return conn;
}

/* A client socket stops using the connection; idleness closes it later. */
void frpc_conn_unuse(struct frpc_conn *conn)
{
	struct frpc_net *fn = conn->fn;

	mutex_lock(&fn->lock);
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
	}
}
