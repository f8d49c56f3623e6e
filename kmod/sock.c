// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AF_FASTRPC socket: proto_ops, control messages and socket options.
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

#include "frpc.h"

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

/* A message is complete: queue it for recvmsg().  conn->lock held. */
void frpc_sock_queue(struct frpc_sock *fs, struct frpc_rxmsg *m,
		     struct frpc_call *call)
{
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
		if (!err)
			fs->role = FRPC_ROLE_BOUND;
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
		if (!err)
			fs->role = FRPC_ROLE_SERVER;
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
static void frpc_client_ready(struct frpc_sock *fs, struct frpc_conn *conn)
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
	fs->conn = conn;
	fs->peer = a;
	fs->role = FRPC_ROLE_CLIENT;
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
			frpc_conn_put(conn);
			fs->conn = NULL;
			fs->role = FRPC_ROLE_NONE;
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

static bool frpc_can_send(struct frpc_sock *fs)
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
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	if (!list_empty_careful(&fs->rxq))
		mask |= EPOLLIN | EPOLLRDNORM;
	if ((fs->role == FRPC_ROLE_CLIENT || fs->role == FRPC_ROLE_SERVER) &&
	    frpc_can_send(fs))
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

/* The control messages of one sendmsg(): one verb, optional extras. */
struct frpc_cmsgs {
	int			type;
	union {
		struct fastrpc_call	call;
		struct fastrpc_reply	reply;
		struct fastrpc_send	send;
		u64			tag;
	};
	const void		*meta;
	u32			meta_len;
	const void		*smsg;
	u32			smsg_len;
};

static int frpc_verb_len(int type)
{
	switch (type) {
	case FASTRPC_CMSG_CALL:
		return sizeof(struct fastrpc_call);
	case FASTRPC_CMSG_REPLY:
		return sizeof(struct fastrpc_reply);
	case FASTRPC_CMSG_SEND:
		return sizeof(struct fastrpc_send);
	case FASTRPC_CMSG_CANCEL:
		return sizeof(u64);
	default:
		return -1;
	}
}

static int frpc_parse_cmsgs(struct msghdr *msg, struct frpc_cmsgs *c)
{
	struct cmsghdr *cmsg;

	memset(c, 0, sizeof(*c));
	for_each_cmsghdr(cmsg, msg) {
		int len;

		if (!CMSG_OK(msg, cmsg) || cmsg->cmsg_level != SOL_FASTRPC)
			return -EINVAL;
		len = cmsg->cmsg_len - CMSG_LEN(0);
		switch (cmsg->cmsg_type) {
		case FASTRPC_CMSG_METADATA:
			if (c->meta || len > FASTRPC_MAX_METADATA ||
			    frpc_meta_check(CMSG_DATA(cmsg), len))
				return -EINVAL;
			c->meta = CMSG_DATA(cmsg);
			c->meta_len = len;
			break;
		case FASTRPC_CMSG_STATUS_MSG:
			if (c->smsg || len > FASTRPC_MAX_STATUS_MSG)
				return -EINVAL;
			c->smsg = CMSG_DATA(cmsg);
			c->smsg_len = len;
			break;
		default:
			if (c->type || len != frpc_verb_len(cmsg->cmsg_type))
				return -EINVAL;
			c->type = cmsg->cmsg_type;
			memcpy(&c->call, CMSG_DATA(cmsg), len);
			break;
		}
	}
	return c->type ? 0 : -EINVAL;
}

/*
 * Use the socket's connection, opening a new one if it died or drains.
 * Waits for a connection still opening without the socket lock, up to
 * @timeo; -EAGAIN if it is not ready by then (at once for MSG_DONTWAIT).
 */
static struct frpc_conn *frpc_client_conn(struct frpc_sock *fs, long timeo)
{
	struct frpc_conn *conn;
	int err;

	lock_sock(&fs->sk);
	conn = fs->conn;
	if (READ_ONCE(conn->state) >= FRPC_CONN_DRAINING) {
		conn = frpc_conn_get_client(frpc_net(sock_net(&fs->sk)),
					    &fs->peer, fs, fs->conn);
		if (IS_ERR(conn)) {
			release_sock(&fs->sk);
			return conn;
		}
		frpc_conn_put(fs->conn);
		fs->conn = conn;
	}
	kref_get(&conn->ref);
	release_sock(&fs->sk);

	err = frpc_conn_wait_ready(conn, timeo);
	if (err != -EAGAIN)
		frpc_client_ready(fs, conn);
	if (err) {
		frpc_conn_put(conn);
		return ERR_PTR(err);
	}
	return conn;
}

static struct frpc_call *frpc_sock_find(struct frpc_sock *fs, u64 key)
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

/*
 * The connection of the socket's call @key, referenced, or NULL.  Callers
 * then take conn->lock and fs->lock and find the call again, since it may
 * have ended in between (frpc_sock_relookup()).
 */
static struct frpc_conn *frpc_sock_call_conn(struct frpc_sock *fs, u64 key)
{
	struct frpc_conn *conn = NULL;
	struct frpc_call *call;

	spin_lock_bh(&fs->lock);
	call = frpc_sock_find(fs, key);
	if (call) {
		conn = call->conn;
		kref_get(&conn->ref);
	}
	spin_unlock_bh(&fs->lock);
	return conn;
}

/* The call @key if it still exists on @conn; both locks held. */
static struct frpc_call *frpc_sock_relookup(struct frpc_sock *fs, u64 key,
					    struct frpc_conn *conn)
{
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	call = frpc_sock_find(fs, key);
	return call && call->conn == conn ? call : NULL;
}

/* Wait for room: SO_SNDBUF and, for a new call, MAX_CALLS. */
static int frpc_wait_send(struct frpc_sock *fs, bool new_call, long *timeo)
{
	long ret;

#define FRPC_ROOM (READ_ONCE(fs->tx_queued) < READ_ONCE(fs->sk.sk_sndbuf) && \
		   (!new_call || READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls)))
	if (FRPC_ROOM)
		return 0;
	if (!*timeo)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk), FRPC_ROOM,
					       *timeo);
#undef FRPC_ROOM
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

static void frpc_charge_tx(struct frpc_sock *fs, u32 len)
{
	lockdep_assert_held(&fs->lock);
	fs->tx_queued += len;
	atomic64_add(len, &frpc_net(sock_net(&fs->sk))->tx_queued_bytes);
}

static int frpc_client_call(struct frpc_sock *fs, struct frpc_cmsgs *c,
			    struct msghdr *msg, u32 len, long timeo)
{
	const struct fastrpc_call *fc = &c->call;
	struct fastrpc_wire_call wc = {
		.method = cpu_to_be32(fc->method),
		.meta_len = cpu_to_be16(c->meta_len),
		.timeout_ns = cpu_to_be64(fc->timeout_ns),
	};
	bool stream = fc->flags & FASTRPC_CALL_STREAM;
	struct frpc_txmsg *m;
	struct frpc_conn *conn;
	struct frpc_call *call;
	int err, tries = 0;

	if ((fc->flags & ~FASTRPC_CALL_ALL) || fc->reserved || c->smsg)
		return -EINVAL;
	err = frpc_wait_send(fs, true, &timeo);
	if (err)
		return err;
	m = frpc_txmsg_build(FASTRPC_FRAME_CALL, &wc, sizeof(wc), c->meta,
			     c->meta_len, NULL, 0, &msg->msg_iter, len);
	if (IS_ERR(m))
		return PTR_ERR(m);
	m->eos = !stream || (msg->msg_flags & MSG_EOR);

retry:
	err = 0;
	conn = frpc_client_conn(fs, timeo);
	if (IS_ERR(conn)) {
		kvfree(m);
		return PTR_ERR(conn);
	}
	call = frpc_call_alloc(conn, GFP_KERNEL);
	if (!call) {
		err = -ENOMEM;
		goto err_put;
	}
	call->key = fc->tag;
	call->method = fc->method;
	call->fs = fs;
	call->stream = stream;

	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	if (conn->state == FRPC_CONN_READY && conn->next_id == U32_MAX)
		frpc_conn_set_state(conn, FRPC_CONN_DRAINING);	/* ids used up */
	if (conn->state != FRPC_CONN_READY)
		err = -EAGAIN;
	else if (frpc_sock_find(fs, fc->tag))
		err = -EEXIST;
	else if (fs->ncalls >= fs->max_calls)
		err = -EAGAIN;
	if (err) {
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		goto err_call;
	}
	call->id = ++conn->next_id;
	call->tx_credit = conn->peer_call_window;
	call->tx_closed = m->eos;
	hash_add(fs->tags, &call->sock_node, fc->tag);
	call->in_sock = true;
	fs->ncalls++;
	frpc_charge_tx(fs, len);
	spin_unlock(&fs->lock);
	frpc_call_link(conn, call);
	if (fc->timeout_ns)
		frpc_call_set_deadline(call, fc->timeout_ns);
	frpc_call_queue_msg(call, m);
	spin_unlock_bh(&conn->lock);

	atomic64_inc(&conn->fn->calls_started);
	frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return len;

err_call:
	frpc_call_free(call);
err_put:
	frpc_conn_put(conn);
	/* the connection began draining or died under us: one more try */
	if (err == -EAGAIN && fs->ncalls < fs->max_calls && !tries++)
		goto retry;
	kvfree(m);
	return err;
}

/* Another message on an open call: client by tag, server by handle. */
static int frpc_send_more(struct frpc_sock *fs, struct frpc_cmsgs *c,
			  struct msghdr *msg, u32 len, long timeo)
{
	bool server = fs->role == FRPC_ROLE_SERVER;
	bool eor = msg->msg_flags & MSG_EOR;
	struct frpc_conn *conn;
	struct frpc_call *call;
	struct frpc_txmsg *m;
	int err;

	if (c->send.flags || c->send.reserved || c->meta || c->smsg ||
	    (server && eor))
		return -EINVAL;
	err = frpc_wait_send(fs, false, &timeo);
	if (err)
		return err;
	m = frpc_txmsg_build(FASTRPC_FRAME_DATA, NULL, 0, NULL, 0, NULL, 0,
			     &msg->msg_iter, len);
	if (IS_ERR(m))
		return PTR_ERR(m);
	m->eos = eor;

	conn = frpc_sock_call_conn(fs, c->send.id);
	if (!conn) {
		kvfree(m);
		return -ENOENT;
	}
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_relookup(fs, c->send.id, conn);
	err = 0;
	if (!call)
		err = -ENOENT;
	else if (server ? call->state != FRPC_CALL_OPEN || !call->seen :
			  !call->stream || call->tx_closed)
		err = server && call->state == FRPC_CALL_CANCELLED ?
		      -ECANCELED : -EINVAL;
	if (!err) {
		call->tx_closed = eor;
		frpc_charge_tx(fs, len);
	}
	spin_unlock(&fs->lock);
	if (!err)
		frpc_call_queue_msg(call, m);
	spin_unlock_bh(&conn->lock);
	if (err)
		kvfree(m);
	else
		frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return err ? err : len;
}

static int frpc_client_cancel(struct frpc_sock *fs, struct frpc_cmsgs *c,
			      u32 len)
{
	struct frpc_conn *conn;
	struct frpc_call *call;
	struct frpc_reap r;

	if (len || c->meta || c->smsg)
		return -EINVAL;
	conn = frpc_sock_call_conn(fs, c->tag);
	if (!conn)
		return -ENOENT;
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_relookup(fs, c->tag, conn);
	spin_unlock(&fs->lock);
	if (!call) {
		spin_unlock_bh(&conn->lock);
		frpc_conn_put(conn);
		return -ENOENT;
	}
	frpc_reap_init(&r);
	frpc_call_send_cancel(call);
	frpc_call_finish(call, FASTRPC_CANCELLED, &r);
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
	atomic64_inc(&conn->fn->calls_cancelled);
	frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return 0;
}

static int frpc_server_reply(struct frpc_sock *fs, struct frpc_cmsgs *c,
			     struct msghdr *msg, u32 len, long timeo)
{
	const struct fastrpc_reply *rp = &c->reply;
	struct fastrpc_wire_end we = {
		.status = cpu_to_be32(rp->status),
		.meta_len = cpu_to_be16(c->meta_len),
		.msg_len = cpu_to_be16(c->smsg_len),
	};
	struct frpc_conn *conn;
	struct frpc_call *call;
	struct frpc_txmsg *m;
	struct frpc_reap r;
	int err = 0;

	if (rp->flags || rp->reserved || rp->status > FASTRPC_STATUS_MAX ||
	    (msg->msg_flags & MSG_EOR))
		return -EINVAL;
	err = frpc_wait_send(fs, false, &timeo);
	if (err)
		return err;
	m = frpc_txmsg_build(FASTRPC_FRAME_END, &we, sizeof(we), c->meta,
			     c->meta_len, c->smsg, c->smsg_len, &msg->msg_iter,
			     len);
	if (IS_ERR(m))
		return PTR_ERR(m);

	conn = frpc_sock_call_conn(fs, rp->handle);
	if (!conn) {
		kvfree(m);
		return -ENOENT;
	}
	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_relookup(fs, rp->handle, conn);
	if (!call) {
		spin_unlock(&fs->lock);
		err = -ENOENT;
	} else if (call->state == FRPC_CALL_CANCELLED) {
		/* the client gave up: the reply is dropped, the handle freed */
		__frpc_call_leave_sock(call);
		spin_unlock(&fs->lock);
		list_add(&call->tx_node, &r.calls);
		atomic64_inc(&conn->fn->replies_dropped);
		err = -ECANCELED;
	} else {
		__frpc_call_leave_sock(call);
		frpc_charge_tx(fs, len);
		spin_unlock(&fs->lock);
		call->state = FRPC_CALL_DONE;
		/* request messages the application never read die with it */
		frpc_call_purge_rx(call, &r);
		frpc_call_queue_msg(call, m);
		m = NULL;
		atomic64_inc(&conn->fn->replies_sent);
	}
	spin_unlock_bh(&conn->lock);
	kvfree(m);
	frpc_reap(&r);
	if (!err)
		frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return err ? err : len;
}

static int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	long timeo = sock_sndtimeo(&fs->sk, msg->msg_flags & MSG_DONTWAIT);
	enum frpc_sock_role role = READ_ONCE(fs->role);
	struct frpc_cmsgs c;
	int err;

	/* sendmmsg() marks all but its last message MSG_BATCH */
	if (msg->msg_flags & ~(MSG_DONTWAIT | MSG_EOR | MSG_NOSIGNAL |
			       MSG_CMSG_COMPAT | MSG_BATCH))
		return -EOPNOTSUPP;
	if (role != FRPC_ROLE_CLIENT && role != FRPC_ROLE_SERVER)
		return -ENOTCONN;
	if (len > FASTRPC_MAX_MSG)
		return -EMSGSIZE;
	err = frpc_parse_cmsgs(msg, &c);
	if (err)
		return err;

	switch (c.type) {
	case FASTRPC_CMSG_CALL:
		return role == FRPC_ROLE_CLIENT ?
		       frpc_client_call(fs, &c, msg, len, timeo) : -EINVAL;
	case FASTRPC_CMSG_SEND:
		return frpc_send_more(fs, &c, msg, len, timeo);
	case FASTRPC_CMSG_CANCEL:
		return role == FRPC_ROLE_CLIENT ?
		       frpc_client_cancel(fs, &c, len) : -EINVAL;
	case FASTRPC_CMSG_REPLY:
		return role == FRPC_ROLE_SERVER ?
		       frpc_server_reply(fs, &c, msg, len, timeo) : -EINVAL;
	default:
		return -EINVAL;
	}
}

static int frpc_wait_rx(struct frpc_sock *fs, long *timeo)
{
	long ret;

	if (!*timeo)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
					       !list_empty_careful(&fs->rxq),
					       *timeo);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

static int frpc_put_extra(struct msghdr *msg, struct frpc_rxmsg *m)
{
	int err = 0;

	if (m->meta_len)
		err = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_METADATA,
			       m->meta_len, m->extra);
	if (!err && m->smsg_len)
		err = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_STATUS_MSG,
			       m->smsg_len, m->extra + m->meta_len);
	return err;
}

static int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
			int flags)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	long timeo = sock_rcvtimeo(&fs->sk, flags & MSG_DONTWAIT);
	bool server = READ_ONCE(fs->role) == FRPC_ROLE_SERVER;
	size_t need = CMSG_SPACE(server ? sizeof(struct fastrpc_incoming) :
					  sizeof(struct fastrpc_result));
	struct frpc_conn *conn;
	struct frpc_rxmsg *m;
	bool grant, queued;
	u32 len;
	int ret;

	if (flags & ~(MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC |
		      MSG_CMSG_COMPAT | MSG_WAITALL))
		return -EOPNOTSUPP;
	if (!server && READ_ONCE(fs->role) != FRPC_ROLE_CLIENT)
		return -ENOTCONN;
	/* a message read without its tag or handle would be lost */
	if (msg->msg_controllen < need)
		return -EINVAL;

	for (;;) {
		spin_lock_bh(&fs->lock);
		m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
		if (m)
			break;
		spin_unlock_bh(&fs->lock);
		ret = frpc_wait_rx(fs, &timeo);
		if (ret)
			return ret;
	}
	list_del_init(&m->node);
	list_del_init(&m->call_node);
	fs->rxq_len--;
	fs->rx_bytes -= m->held;
	m->held = 0;
	if (server && !(m->flags & FASTRPC_IN_CONT)) {
		struct frpc_call *call = frpc_sock_find(fs, m->id);

		if (call)
			call->seen = true;
	}
	if (!server && m->eor)
		fs->ncalls--;
	grant = !list_empty(&fs->owed) &&
		!frpc_sock_rx_full(fs);
	spin_unlock_bh(&fs->lock);
	if (!server && m->eor)
		frpc_sock_wake_out(&fs->sk);

	if (server) {
		struct fastrpc_incoming in = {
			.handle = m->id,
			.method = m->method,
			.flags = m->flags,
			.timeout_ns = m->timeout_ns,
		};

		ret = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_INCOMING,
			       sizeof(in), &in);
		if (msg->msg_name) {
			memcpy(msg->msg_name, &m->conn->peer,
			       sizeof(m->conn->peer));
			msg->msg_namelen = sizeof(m->conn->peer);
		}
	} else {
		struct fastrpc_result res = {
			.tag = m->id,
			.status = m->status,
		};

		ret = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_RESULT,
			       sizeof(res), &res);
	}
	if (!ret)
		ret = frpc_put_extra(msg, m);
	len = m->len;
	if (!ret)
		ret = frpc_rxmsg_copy_out(m, msg, min_t(size_t, len, size));

	/* the bytes are consumed: the connection window reopens */
	conn = m->conn;
	spin_lock_bh(&conn->lock);
	queued = conn->ctrl_bytes;
	frpc_rxmsg_consumed(m);
	queued = conn->ctrl_bytes != queued;
	spin_unlock_bh(&conn->lock);
	if (queued)
		frpc_conn_kick(conn);
	if (m->eor)
		msg->msg_flags |= MSG_EOR;
	frpc_rxmsg_free(m);
	if (grant)
		frpc_sock_grant_owed(fs);
	if (ret < 0)
		return ret;

	if (len > size)
		msg->msg_flags |= MSG_TRUNC;
	return flags & MSG_TRUNC ? len : ret;
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

static int frpc_setsockopt(struct socket *sock, int level, int optname,
			   sockptr_t optval, unsigned int optlen)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	u32 val;

	if (level != SOL_FASTRPC)
		return -ENOPROTOOPT;
	switch (optname) {
	case FASTRPC_MAX_CALLS:
		if (optlen != sizeof(val))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		if (!val || val > FRPC_MAX_CALLS_CEIL)
			return -EINVAL;
		WRITE_ONCE(fs->max_calls, val);
		frpc_sock_wake_out(&fs->sk);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int frpc_getsockopt(struct socket *sock, int level, int optname,
			   char __user *optval, int __user *optlen)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	union {
		struct fastrpc_features feat;
		struct fastrpc_sock_info info;
		u32 val;
	} u = {};
	int len, size;

	if (level != SOL_FASTRPC)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case FASTRPC_FEATURES:
		u.feat.size = sizeof(u.feat);
		u.feat.proto_min = FASTRPC_PROTO_MIN;
		u.feat.proto_max = FASTRPC_PROTO_MAX;
		u.feat.max_msg = FASTRPC_MAX_MSG;
		u.feat.max_calls = FRPC_MAX_CALLS_CEIL;
		u.feat.default_calls = FRPC_DEFAULT_CALLS;
		u.feat.features = FASTRPC_FEAT_SHARED_CONN |
				  FASTRPC_FEAT_STREAMING |
				  FASTRPC_FEAT_DEADLINES |
				  FASTRPC_FEAT_METADATA | FASTRPC_FEAT_FLOW;
		if (IS_ENABLED(CONFIG_IPV6))
			u.feat.features |= FASTRPC_FEAT_IPV6;
		/* older callers may know a shorter struct */
		size = min_t(int, len, sizeof(u.feat));
		break;
	case FASTRPC_MAX_CALLS:
		if (len != sizeof(u.val))
			return -EINVAL;
		u.val = READ_ONCE(fs->max_calls);
		size = sizeof(u.val);
		break;
	case FASTRPC_SOCK_INFO:
		if (len != sizeof(u.info))
			return -EINVAL;
		lock_sock(&fs->sk);
		spin_lock_bh(&fs->lock);
		u.info.calls_in_flight = fs->role == FRPC_ROLE_SERVER ?
					 fs->npending : fs->ncalls;
		u.info.rx_queued = fs->rxq_len;
		u.info.tx_queued = fs->tx_queued;
		u.info.rx_bytes = fs->rx_bytes;
		spin_unlock_bh(&fs->lock);
		if (fs->conn) {
			u.info.conn_id = fs->conn->id;
			u.info.rtt_us = READ_ONCE(fs->conn->srtt_us);
		}
		release_sock(&fs->sk);
		size = sizeof(u.info);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (copy_to_user(optval, &u, size) || put_user(size, optlen))
		return -EFAULT;
	return 0;
}

/* Free queued messages; their connections' credit goes back if alive. */
static void frpc_sock_purge_rxq(struct frpc_sock *fs)
{
	struct frpc_rxmsg *m;

	for (;;) {
		spin_lock_bh(&fs->lock);
		m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
		if (m) {
			list_del_init(&m->node);
			list_del_init(&m->call_node);
			fs->rxq_len--;
			fs->rx_bytes -= m->held;
		}
		spin_unlock_bh(&fs->lock);
		if (!m)
			return;
		spin_lock_bh(&m->conn->lock);
		frpc_rxmsg_consumed(m);
		spin_unlock_bh(&m->conn->lock);
		frpc_rxmsg_free(m);
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
		frpc_call_send_cancel(call);
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
	fs->dead = true;
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
	frpc_conn_kick(fs->conn);
	frpc_conn_unuse(fs->conn, fs);
	frpc_conn_put(fs->conn);
	fs->conn = NULL;
}

/* After its connections are gone: free calls cancelled but not answered. */
static void frpc_server_release(struct frpc_sock *fs)
{
	struct frpc_call *call;
	struct hlist_node *n;
	struct frpc_reap r;
	unsigned int taken;
	int bkt;

	spin_lock_bh(&fs->lock);
	fs->dead = true;
	spin_unlock_bh(&fs->lock);
	frpc_server_close(fs);
	frpc_sock_purge_rxq(fs);

	do {
		taken = 0;
		frpc_reap_init(&r);
		spin_lock_bh(&fs->lock);
		hash_for_each_safe(fs->pending, bkt, n, call, sock_node) {
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

	lock_sock(sk);
	if (fs->role == FRPC_ROLE_CLIENT)
		frpc_client_release(fs);
	else
		frpc_server_release(fs);
	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	sock_put(sk);
	return 0;
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
	.mmap		= sock_no_mmap,
};

static void frpc_sock_destruct(struct sock *sk)
{
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
	spin_lock_init(&fs->lock);
	INIT_LIST_HEAD(&fs->rxq);
	INIT_LIST_HEAD(&fs->owed);
	INIT_LIST_HEAD(&fs->conn_node);
	hash_init(fs->tags);
	hash_init(fs->pending);
	fs->max_calls = FRPC_DEFAULT_CALLS;
	mutex_init(&fs->conns_lock);
	INIT_LIST_HEAD(&fs->conns);
	hash_init(fs->shares);
	fs->memcg = frpc_memcg_get();
	sk->sk_destruct = frpc_sock_destruct;
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
