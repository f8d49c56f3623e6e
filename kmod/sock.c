// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AF_FASTRPC socket: proto_ops glue, socket creation and
 * registration, bind, listen, connect, getname, poll, shutdown and
 * release.  The heavier verbs live beside it: sendmsg() in send.c,
 * recvmsg() in recv.c, control messages in cmsg.c, options in sockopt.c.
 *
 * A client socket starts calls with sendmsg(FASTRPC_CMSG_CALL), streams
 * more with FASTRPC_CMSG_SEND, cancels with FASTRPC_CMSG_CANCEL and reads
 * results with recvmsg().  A server socket reads incoming messages and
 * answers with FASTRPC_CMSG_SEND and FASTRPC_CMSG_REPLY.
 */
#include <linux/capability.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "call.h"
#include "conn.h"
#include "flow.h"
#include "frpc.h"
#include "listener.h"
#include "mem.h"
#include "recv.h"
#include "netlink.h"
#include "ring.h"
#include "send.h"
#include "sock.h"
#include "sockopt.h"
#include "transport.h"
#include "tx.h"

static struct proto frpc_proto = {
	.name		= "AF_FASTRPC",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct frpc_sock),
};

void frpc_sock_wake_out(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM);
	rcu_read_unlock();
}

/*
 * A shut-down server socket drained (frpc_server_drained()): recvmsg()
 * sleepers, the ring's send(MSG_WAITALL) and pollers wake to read the end
 * of file.  With EPOLLRDHUP in the key, so that epoll does not filter the
 * wakeup out for a watcher of only that bit.  Any context, as
 * sk_data_ready(); never under fs->lock.
 */
void frpc_sock_wake_eof(struct frpc_sock *fs)
{
	struct sock *sk = &fs->sk;
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLIN | EPOLLRDNORM |
					   EPOLLRDHUP);
	rcu_read_unlock();
	sk_wake_async(sk, SOCK_WAKE_WAITD, POLL_IN);
}

/* A message is complete: queue it for recvmsg().  conn->lock held. */
void frpc_sock_queue(struct frpc_sock *fs, struct frpc_rxmsg *m,
		     struct frpc_call *call)
{
	struct frpc_ring *ring;

	lockdep_assert_held(&m->conn->lock);
	spin_lock(&fs->lock);
	list_add_tail(&m->node, &fs->rxq);
	if (call)
		list_add_tail(&m->call_node, &call->rxmsgs);
	fs->rxq_len++;
	/* bytes that came while it was in progress are charged already */
	fs->rx_bytes += m->len - m->held;
	m->held = m->len;
	spin_unlock(&fs->lock);
	/* with rings, their work item delivers it and then wakes readers */
	ring = frpc_sock_ring(fs);
	if (ring)
		frpc_ring_queued(ring, m->conn);
	else
		fs->sk.sk_data_ready(&fs->sk);
}

static int frpc_check_addr(const struct sockaddr *uaddr, int len,
			   struct sockaddr_fastrpc *a)
{
	if (len < (int)sizeof(*a))
		return -EINVAL;
	memcpy(a, uaddr, sizeof(*a));
	if (a->sfr_family != frpc_family)
		return -EAFNOSUPPORT;
	if (a->sfr_reserved)
		return -EINVAL;
	if (a->sfr_ip_family == AF_INET) {
		__be32 v4 = a->sfr_addr.v4;

		/* what getpeername() returns holds no bytes but the address */
		memset(&a->sfr_addr, 0, sizeof(a->sfr_addr));
		a->sfr_addr.v4 = v4;
		a->sfr_scope_id = 0;
		return 0;
	}
	if (a->sfr_ip_family == AF_INET6 && IS_ENABLED(CONFIG_IPV6))
		return 0;
	return -EAFNOSUPPORT;
}

static int frpc_bind(struct socket *sock, struct sockaddr *uaddr, int len)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	struct sockaddr_fastrpc a;
	int err;

	err = frpc_check_addr(uaddr, len, &a);
	if (err)
		return err;
	/* any local address, or the wildcard; TCP's bind checks which */

	lock_sock(&fs->sk);
	err = -EINVAL;
	if (fs->role == FRPC_ROLE_NONE) {
		err = frpc_tp_bind(fs, &a);
		if (!err)	/* after the address: dumps read the role first */
			smp_store_release(&fs->role, FRPC_ROLE_BOUND);
	}
	release_sock(&fs->sk);
	return err;
}

static int frpc_listen(struct socket *sock, int backlog)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	int err = 0;

	lock_sock(&fs->sk);
	if (fs->role == FRPC_ROLE_BOUND) {
		err = frpc_tp_listen(fs, backlog);
		if (!err) {
			WRITE_ONCE(fs->role, FRPC_ROLE_SERVER);
			frpc_server_add(fs);
		}
	} else if (fs->role != FRPC_ROLE_SERVER) {
		err = -EINVAL;
	}
	release_sock(&fs->sk);
	return err;
}

/*
 * A socket waiting for its connection saw it ready or failed: EPOLLOUT may
 * be reported again.  connect_work does the same for every socket on the
 * connection, but possibly later than this waiter returns.
 */
void frpc_client_ready(struct frpc_sock *fs, struct frpc_conn *conn)
{
	if (!READ_ONCE(fs->connecting))
		return;
	lock_sock(&fs->sk);
	if (fs->conn == conn && READ_ONCE(conn->state) >= FRPC_CONN_READY)
		WRITE_ONCE(fs->connecting, false);
	release_sock(&fs->sk);
}

static int frpc_connect(struct socket *sock, struct sockaddr *uaddr, int len,
			int flags)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	struct sockaddr_fastrpc a;
	struct frpc_conn *conn;
	int err;

	err = frpc_check_addr(uaddr, len, &a);
	if (err)
		return err;
	if (!a.sfr_port)
		return -EINVAL;

	lock_sock(&fs->sk);
	if (fs->role != FRPC_ROLE_NONE) {
		err = fs->role == FRPC_ROLE_CLIENT ? -EISCONN : -EINVAL;
		release_sock(&fs->sk);
		return err;
	}
	conn = frpc_conn_get_client(frpc_net(sock_net(&fs->sk)), &a, fs, NULL);
	if (IS_ERR(conn)) {
		release_sock(&fs->sk);
		return PTR_ERR(conn);
	}
	WRITE_ONCE(fs->conn, conn);
	fs->peer = a;
	WRITE_ONCE(fs->role, FRPC_ROLE_CLIENT);
	sock->state = SS_CONNECTED;
	kref_get(&conn->ref);
	release_sock(&fs->sk);

	/* the socket lock is not held while the connection opens */
	err = frpc_conn_wait_ready(conn, sock_sndtimeo(&fs->sk,
						       flags & O_NONBLOCK));
	if (err == -EAGAIN)
		err = flags & O_NONBLOCK ? -EINPROGRESS : -ETIMEDOUT;
	if (!err) {
		frpc_client_ready(fs, conn);
	} else if (err != -EINPROGRESS) {
		/* back to unconnected, unless another thread moved it on */
		lock_sock(&fs->sk);
		if (fs->conn == conn) {
			frpc_conn_unuse(conn, fs);
			WRITE_ONCE(fs->conn, NULL);
			frpc_conn_put(conn);
			WRITE_ONCE(fs->role, FRPC_ROLE_NONE);
			sock->state = SS_UNCONNECTED;
			WRITE_ONCE(fs->connecting, false);
		}
		release_sock(&fs->sk);
	}
	frpc_conn_put(conn);
	return err;
}

static int frpc_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	int ret = sizeof(struct sockaddr_fastrpc);

	lock_sock(&fs->sk);
	if (peer && fs->role == FRPC_ROLE_CLIENT)
		memcpy(uaddr, &fs->peer, sizeof(fs->peer));
	else if (!peer && (fs->role == FRPC_ROLE_BOUND ||
			   fs->role == FRPC_ROLE_SERVER))
		memcpy(uaddr, &fs->local, sizeof(fs->local));
	else
		ret = -ENOTCONN;
	release_sock(&fs->sk);
	return ret;
}

/* EPOLLOUT: a verb would not wait for room now (ring.c's waiter too) */
bool frpc_sock_can_send(struct frpc_sock *fs)
{
	if (READ_ONCE(fs->tx_queued) >= READ_ONCE(fs->sk.sk_sndbuf) ||
	    READ_ONCE(fs->connecting))
		return false;
	return fs->role == FRPC_ROLE_SERVER ||
	       READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls);
}

static __poll_t frpc_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	struct frpc_ring *ring = frpc_sock_ring(fs);
	__poll_t mask = 0;

	/*
	 * Waiting for EPOLLOUT only: the EPOLLIN wakeup that tells a poller
	 * to deliver an arriving message to the rings skips this one, which
	 * stays on the wait queue as if it would (frpc_ring_queued()).
	 * Marked before it joins the queue.
	 */
	if (wait && wait->_qproc && !READ_ONCE(fs->blind_poll) &&
	    !(poll_requested_events(wait) & (EPOLLIN | EPOLLRDNORM))) {
		WRITE_ONCE(fs->blind_poll, true);
		smp_wmb();	/* pairs with the smp_rmb() in frpc_ring_queued() */
	}
	sock_poll_wait(file, sock, wait);
	if (ring ? frpc_ring_readable(ring) : !list_empty_careful(&fs->rxq))
		mask |= EPOLLIN | EPOLLRDNORM;
	/*
	 * Shut down and drained: nothing more comes, recvmsg() reads what
	 * is queued and then 0, so it never blocks (TCP after a FIN).
	 */
	if (frpc_server_drained(fs))
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if ((fs->role == FRPC_ROLE_CLIENT || fs->role == FRPC_ROLE_SERVER) &&
	    frpc_sock_can_send(fs))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

struct frpc_call *frpc_sock_find(struct frpc_sock *fs, u64 key)
{
	struct frpc_call *call;

	lockdep_assert_held(&fs->lock);
	if (fs->role == FRPC_ROLE_SERVER) {
		hash_for_each_possible(fs->pending, call, sock_node, key)
			if (call->key == key)
				return call;
	} else {
		hash_for_each_possible(fs->tags, call, sock_node, key)
			if (call->key == key)
				return call;
	}
	return NULL;
}

/* Take @m off @fs's receive queue and its call's list; fs->lock held. */
void __frpc_sock_unqueue(struct frpc_sock *fs, struct frpc_rxmsg *m)
{
	lockdep_assert_held(&fs->lock);
	list_del_init(&m->node);
	frpc_list_del_init(&m->call_node);
	fs->rxq_len--;
	fs->rx_bytes -= m->held;
	m->held = 0;
}

static int frpc_shutdown(struct socket *sock, int how)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	int err = -ENOTCONN;

	if (how != SHUT_RD && how != SHUT_RDWR && how != SHUT_WR)
		return -EINVAL;
	lock_sock(&fs->sk);
	if (fs->role == FRPC_ROLE_SERVER) {
		err = how == SHUT_WR ? -EOPNOTSUPP : 0;
		if (!err)
			frpc_server_shutdown(fs);
	} else if (fs->role == FRPC_ROLE_CLIENT) {
		err = -EOPNOTSUPP;
	}
	release_sock(&fs->sk);
	return err;
}

/*
 * Free queued messages; their connections' credit goes back if alive.
 * A client closed with tens of thousands of calls open has as many
 * CANCELLED results here, and each spin_unlock_bh() may run the loopback
 * peer's softirq work: yield between messages, or the close is a soft
 * lockup on a slow kernel.
 */
static void frpc_sock_purge_rxq(struct frpc_sock *fs)
{
	struct frpc_rxmsg *m;
	u32 ctrl;

	for (;;) {
		spin_lock_bh(&fs->lock);
		m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
		if (m)
			__frpc_sock_unqueue(fs, m);
		spin_unlock_bh(&fs->lock);
		if (!m)
			return;
		spin_lock_bh(&m->conn->lock);
		ctrl = m->conn->ctrl_bytes;
		frpc_rxmsg_consumed(m);
		ctrl = m->conn->ctrl_bytes != ctrl;
		spin_unlock_bh(&m->conn->lock);
		/* a CREDIT for a connection that may not be fs->conn */
		if (ctrl)
			frpc_conn_kick_async(m->conn);
		frpc_rxmsg_free(m);
		cond_resched();
	}
}

/* The connection of any call still in a client socket's table, or NULL. */
static struct frpc_conn *frpc_sock_any_conn(struct frpc_sock *fs)
{
	struct frpc_call *call;
	int bkt;

	lockdep_assert_held(&fs->lock);
	hash_for_each(fs->tags, bkt, call, sock_node)
		return call->conn;
	return NULL;
}

/*
 * Cancel a client socket's calls on @conn.  A call leaves the socket's
 * table only under its own connection's lock, so with conn->lock held the
 * calls gathered here stay until they are finished.
 */
static void frpc_client_release_conn(struct frpc_sock *fs,
				     struct frpc_conn *conn)
{
	struct frpc_call *call;
	struct hlist_node *n;
	unsigned int taken = 0;
	struct frpc_reap r;
	HLIST_HEAD(calls);
	int bkt;

	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	/* a batch at a time: the caller comes back for the rest */
	hash_for_each_safe(fs->tags, bkt, n, call, sock_node) {
		if (call->conn != conn)
			continue;
		hash_del(&call->sock_node);
		hlist_add_head(&call->sock_node, &calls);
		if (++taken == FRPC_REAP_BATCH)
			break;
	}
	spin_unlock(&fs->lock);
	hlist_for_each_entry_safe(call, n, &calls, sock_node) {
		frpc_call_send_cancel(call, false);
		frpc_call_finish(call, FASTRPC_CANCELLED, &r);
	}
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
	frpc_conn_kick(conn);
}

/*
 * Cancel a client socket's open calls: on its connection, and on older
 * ones that still drain after a GOAWAY moved the socket to a new one.
 */
static void frpc_client_release(struct frpc_sock *fs)
{
	struct frpc_conn *conn;

	spin_lock_bh(&fs->lock);
	WRITE_ONCE(fs->dead, true);
	spin_unlock_bh(&fs->lock);
	for (;;) {
		spin_lock_bh(&fs->lock);
		conn = frpc_sock_any_conn(fs);
		if (conn)
			kref_get(&conn->ref);
		spin_unlock_bh(&fs->lock);
		if (!conn)
			break;
		frpc_client_release_conn(fs, conn);
		frpc_conn_put(conn);
		cond_resched();
	}
	frpc_sock_purge_rxq(fs);
	conn = fs->conn;
	frpc_conn_kick(conn);
	frpc_conn_unuse(conn, fs);
	WRITE_ONCE(fs->conn, NULL);
	frpc_conn_put(conn);
}

/* After its connections are gone: free calls cancelled but not answered. */
static void frpc_server_release(struct frpc_sock *fs)
{
	struct frpc_call *call;
	struct hlist_node *n;
	struct frpc_reap r;
	unsigned int taken;
	int bkt;

	if (fs->role == FRPC_ROLE_SERVER)
		frpc_server_del(fs);
	spin_lock_bh(&fs->lock);
	WRITE_ONCE(fs->dead, true);
	spin_unlock_bh(&fs->lock);
	frpc_nl_sock_dead(fs);
	frpc_server_close(fs);
	frpc_sock_purge_rxq(fs);

	do {
		taken = 0;
		frpc_reap_init(&r);
		spin_lock_bh(&fs->lock);
		hash_for_each_safe(fs->pending, bkt, n, call, sock_node) {
			/* dead: no end of file to wake for a notice owed */
			__frpc_call_leave_sock(call);
			list_add(&call->tx_node, &r.calls);
			if (++taken == FRPC_REAP_BATCH)
				break;
		}
		spin_unlock_bh(&fs->lock);
		frpc_reap(&r);
		cond_resched();
	} while (taken == FRPC_REAP_BATCH);
}

static int frpc_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct frpc_sock *fs;

	if (!sk)
		return 0;
	fs = frpc_sk(sk);

	/* gone from dumps before its fields start to go */
	frpc_nl_sock_del(fs);
	/* its work item takes the socket lock: stopped before it is held */
	frpc_ring_stop(fs);
	lock_sock(sk);
	if (fs->role == FRPC_ROLE_CLIENT)
		frpc_client_release(fs);
	else
		frpc_server_release(fs);
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	/* queued by the last messages release cancelled, a no-op now */
	if (fs->ring)
		cancel_work_sync(&fs->ring->work);
	sock_put(sk);
	return 0;
}

static int frpc_mmap(struct file *file, struct socket *sock,
		     struct vm_area_struct *vma)
{
	return frpc_ring_mmap(frpc_sk(sock->sk), vma);
}

static struct proto_ops frpc_ops = {
	/* .family is the module parameter, set at registration */
	.owner		= THIS_MODULE,
	.release	= frpc_release,
	.bind		= frpc_bind,
	.connect	= frpc_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= frpc_getname,
	.poll		= frpc_poll,
	.ioctl		= sock_no_ioctl,
	.listen		= frpc_listen,
	.shutdown	= frpc_shutdown,
	.setsockopt	= frpc_setsockopt,
	.getsockopt	= frpc_getsockopt,
	.sendmsg	= frpc_sendmsg,
	.recvmsg	= frpc_recvmsg,
	.mmap		= frpc_mmap,
};

static void frpc_sock_destruct(struct sock *sk)
{
	frpc_ring_free(frpc_sk(sk)->ring);
	frpc_memcg_put(frpc_sk(sk)->memcg);
}

static int frpc_create(struct net *net, struct socket *sock, int protocol,
		       int kern)
{
	struct frpc_sock *fs;
	struct sock *sk;

	if (sock->type != SOCK_SEQPACKET)
		return -ESOCKTNOSUPPORT;
	if (protocol)
		return -EPROTONOSUPPORT;

	sk = sk_alloc(net, frpc_family, GFP_KERNEL, &frpc_proto, kern);
	if (!sk)
		return -ENOMEM;
	sock->ops = &frpc_ops;
	sock_init_data(sock, sk);

	fs = frpc_sk(sk);
	/* the number fstat() and /proc/PID/fd show; trace events use it */
	fs->ino = SOCK_INODE(sock)->i_ino;
	spin_lock_init(&fs->lock);
	RB_CLEAR_NODE(&fs->nl_node);	/* in no tree until added */
	INIT_LIST_HEAD(&fs->rxq);
	INIT_LIST_HEAD(&fs->owed);
	INIT_WORK(&fs->grant_work, frpc_sock_grant_workfn);
	INIT_LIST_HEAD(&fs->conn_node);
	INIT_LIST_HEAD(&fs->server_node);
	hash_init(fs->tags);
	hash_init(fs->pending);
	fs->max_calls = frpc_limit(frpc_net(net), FRPC_LIM_DEFAULT_CALLS);
	fs->loopback = true;
	mutex_init(&fs->conns_lock);
	INIT_LIST_HEAD(&fs->conns);
	hash_init(fs->shares);
	fs->memcg = frpc_memcg_get();
	fs->reject_ntf_at = jiffies - HZ;
	sk->sk_destruct = frpc_sock_destruct;
	frpc_nl_sock_add(fs);
	return 0;
}

static struct net_proto_family frpc_family_ops = {
	.create	= frpc_create,
	.owner	= THIS_MODULE,
};

int frpc_sock_register(void)
{
	int err;

	err = proto_register(&frpc_proto, 1);
	if (err)
		return err;
	frpc_family_ops.family = frpc_family;
	frpc_ops.family = frpc_family;
	err = sock_register(&frpc_family_ops);
	if (err)
		proto_unregister(&frpc_proto);
	return err;
}

void frpc_sock_unregister(void)
{
	sock_unregister(frpc_family);
	proto_unregister(&frpc_proto);
}
