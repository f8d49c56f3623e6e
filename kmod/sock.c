// SPDX-License-Identifier: GPL-2.0-only
/*
 * The AF_FASTRPC socket: proto_ops, control messages and socket options.
 *
 * A client socket starts calls with sendmsg(FASTRPC_CMSG_CALL) and reads
 * results with recvmsg(); a server socket reads incoming calls and answers
 * them with sendmsg(FASTRPC_CMSG_REPLY).
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

static void frpc_sock_wake_out(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_poll(&wq->wait, EPOLLOUT | EPOLLWRNORM);
	rcu_read_unlock();
}

/* A client call finished: queue its result for recvmsg(). */
void frpc_sock_deliver(struct frpc_sock *fs, struct frpc_call *call)
{
	lockdep_assert_held(&call->conn->lock);
	spin_lock(&fs->lock);
	hash_del(&call->sock_node);
	call->state = FRPC_CALL_QUEUED;
	list_add_tail(&call->rx_node, &fs->rxq);
	fs->rxq_len++;
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
	if (a->sfr_ip_family == AF_INET)
		return 0;
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
	/* a server listens on all addresses of its namespace */
	if (a.sfr_ip_family == AF_INET ? a.sfr_addr.v4 != htonl(INADDR_ANY) :
	    !ipv6_addr_any(&a.sfr_addr.v6))
		return -EADDRNOTAVAIL;

	lock_sock(&fs->sk);
	err = -EINVAL;
	if (fs->role == FRPC_ROLE_NONE) {
		err = frpc_server_bind(fs, &a);
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
		err = frpc_server_listen(fs, backlog);
		if (!err)
			fs->role = FRPC_ROLE_SERVER;
	} else if (fs->role != FRPC_ROLE_SERVER) {
		err = -EINVAL;
	}
	release_sock(&fs->sk);
	return err;
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
		goto out;
	}
	conn = frpc_conn_get_client(frpc_net(sock_net(&fs->sk)), &a);
	if (IS_ERR(conn)) {
		err = PTR_ERR(conn);
		goto out;
	}
	fs->conn = conn;
	fs->peer = a;
	fs->role = FRPC_ROLE_CLIENT;
	sock->state = SS_CONNECTED;
out:
	release_sock(&fs->sk);
	return err;
}

static int frpc_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	int ret = sizeof(struct sockaddr_fastrpc);

	lock_sock(&fs->sk);
	if (peer && fs->role == FRPC_ROLE_CLIENT)
		memcpy(uaddr, &fs->peer, sizeof(fs->peer));
	else if (!peer && fs->ltcp)
		memcpy(uaddr, &fs->local, sizeof(fs->local));
	else
		ret = -ENOTCONN;
	release_sock(&fs->sk);
	return ret;
}

static __poll_t frpc_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	struct frpc_conn *conn;
	__poll_t mask = 0;

	sock_poll_wait(file, sock, wait);
	if (!list_empty_careful(&fs->rxq))
		mask |= EPOLLIN | EPOLLRDNORM;
	switch (fs->role) {
	case FRPC_ROLE_CLIENT:
		conn = fs->conn;
		if (READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls) &&
		    READ_ONCE(conn->tx_queued) < FRPC_CONN_TX_HIGH)
			mask |= EPOLLOUT | EPOLLWRNORM;
		break;
	case FRPC_ROLE_SERVER:
		mask |= EPOLLOUT | EPOLLWRNORM;
		break;
	default:
		break;
	}
	return mask;
}

/* Find the one FastRPC control message a sendmsg() must carry. */
static int frpc_get_cmsg(struct msghdr *msg, int type, void *data, int len)
{
	struct cmsghdr *cmsg;
	bool found = false;

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level != SOL_FASTRPC || cmsg->cmsg_type != type ||
		    cmsg->cmsg_len != CMSG_LEN(len) || found)
			return -EINVAL;
		memcpy(data, CMSG_DATA(cmsg), len);
		found = true;
	}
	return found ? 0 : -EINVAL;
}

/* Use the socket's connection, opening a new one if the old one died. */
static struct frpc_conn *frpc_client_conn(struct frpc_sock *fs)
{
	struct frpc_conn *conn;

	lock_sock(&fs->sk);
	conn = fs->conn;
	if (READ_ONCE(conn->state) == FRPC_CONN_DEAD) {
		conn = frpc_conn_get_client(frpc_net(sock_net(&fs->sk)),
					    &fs->peer);
		if (IS_ERR(conn))
			goto out;
		frpc_conn_unuse(fs->conn);
		frpc_conn_put(fs->conn);
		fs->conn = conn;
	}
	kref_get(&conn->ref);
out:
	release_sock(&fs->sk);
	return conn;
}

static struct frpc_call *frpc_tag_find(struct frpc_sock *fs, u64 tag)
{
	struct frpc_call *call;

	lockdep_assert_held(&fs->lock);
	hash_for_each_possible(fs->tags, call, sock_node, tag)
		if (call->key == tag)
			return call;
	return NULL;
}

static int frpc_wait_calls(struct frpc_sock *fs, long *timeo)
{
	long ret;

	if (READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls))
		return 0;
	if (!*timeo)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
		READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls), *timeo);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

static int frpc_client_send(struct frpc_sock *fs, struct msghdr *msg, u32 len)
{
	long timeo = sock_sndtimeo(&fs->sk, msg->msg_flags & MSG_DONTWAIT);
	struct fastrpc_wire_call wc = {};
	struct fastrpc_call c;
	struct frpc_txbuf *buf;
	struct frpc_conn *conn;
	struct frpc_call *call;
	int err;

	err = frpc_get_cmsg(msg, FASTRPC_CMSG_CALL, &c, sizeof(c));
	if (err)
		return err;
	if (c.flags || c.timeout_ns || c.reserved)
		return -EINVAL;

	conn = frpc_client_conn(fs);
	if (IS_ERR(conn))
		return PTR_ERR(conn);
	err = frpc_conn_wait_tx(conn, &timeo);
	if (err)
		goto err_put;

	wc.method = cpu_to_be32(c.method);
	buf = frpc_build_msg(FASTRPC_FRAME_CALL, 0, &wc, sizeof(wc),
			     &msg->msg_iter, len, conn->version);
	if (IS_ERR(buf)) {
		err = PTR_ERR(buf);
		goto err_put;
	}
	call = frpc_call_alloc(conn, GFP_KERNEL);
	if (!call) {
		err = -ENOMEM;
		goto err_buf;
	}
	call->key = c.tag;
	call->method = c.method;
	call->fs = fs;

	for (;;) {
		err = frpc_wait_calls(fs, &timeo);
		if (err)
			goto err_call;
		spin_lock_bh(&conn->lock);
		spin_lock(&fs->lock);
		if (conn->state == FRPC_CONN_DEAD) {
			err = -ECONNRESET;
		} else if (frpc_tag_find(fs, c.tag)) {
			err = -EEXIST;
		} else if (fs->ncalls < fs->max_calls) {
			call->id = ++conn->next_id;
			frpc_txbuf_set_id(buf, call->id);
			frpc_call_link(conn, call);
			hash_add(fs->tags, &call->sock_node, c.tag);
			call->in_sock = true;
			fs->ncalls++;
			__frpc_conn_queue(conn, buf);
			spin_unlock(&fs->lock);
			spin_unlock_bh(&conn->lock);
			break;
		}
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		if (err)
			goto err_call;
	}
	atomic64_inc(&conn->fn->calls_started);
	frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return len;

err_call:
	frpc_call_free(call);
err_buf:
	kvfree(buf);
err_put:
	frpc_conn_put(conn);
	return err;
}

static struct frpc_call *frpc_pending_find(struct frpc_sock *fs, u64 handle)
{
	struct frpc_call *call;

	lockdep_assert_held(&fs->lock);
	hash_for_each_possible(fs->pending, call, sock_node, handle)
		if (call->key == handle)
			return call;
	return NULL;
}

static int frpc_server_send(struct frpc_sock *fs, struct msghdr *msg, u32 len)
{
	long timeo = sock_sndtimeo(&fs->sk, msg->msg_flags & MSG_DONTWAIT);
	struct fastrpc_wire_end we = {};
	struct fastrpc_reply r;
	struct frpc_txbuf *buf;
	struct frpc_conn *conn;
	struct frpc_call *call;
	int err;

	err = frpc_get_cmsg(msg, FASTRPC_CMSG_REPLY, &r, sizeof(r));
	if (err)
		return err;
	if (r.flags || r.reserved || r.status > FASTRPC_STATUS_MAX)
		return -EINVAL;

	spin_lock_bh(&fs->lock);
	call = frpc_pending_find(fs, r.handle);
	conn = call ? call->conn : NULL;
	if (conn)
		kref_get(&conn->ref);
	spin_unlock_bh(&fs->lock);
	if (!conn)
		return -ENOENT;

	err = frpc_conn_wait_tx(conn, &timeo);
	if (err)
		goto out_put;
	we.status = cpu_to_be32(r.status);
	buf = frpc_build_msg(FASTRPC_FRAME_END, 0, &we, sizeof(we),
			     &msg->msg_iter, len, conn->version);
	if (IS_ERR(buf)) {
		err = PTR_ERR(buf);
		goto out_put;
	}

	spin_lock_bh(&conn->lock);
	/* the connection may have died, or another thread replied */
	spin_lock(&fs->lock);
	call = frpc_pending_find(fs, r.handle);
	spin_unlock(&fs->lock);
	if (!call) {
		spin_unlock_bh(&conn->lock);
		kvfree(buf);
		err = -ENOENT;
		goto out_put;
	}
	frpc_server_forget(conn, call);
	frpc_txbuf_set_id(buf, call->id);
	__frpc_conn_queue(conn, buf);
	spin_unlock_bh(&conn->lock);

	frpc_call_free(call);
	atomic64_inc(&conn->fn->replies_sent);
	frpc_conn_kick(conn);
	err = len;
out_put:
	frpc_conn_put(conn);
	return err;
}

static int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);

	if (msg->msg_flags & ~(MSG_DONTWAIT | MSG_EOR | MSG_NOSIGNAL |
			       MSG_CMSG_COMPAT))
		return -EOPNOTSUPP;
	if (len > FASTRPC_MAX_MSG)
		return -EMSGSIZE;
	switch (READ_ONCE(fs->role)) {
	case FRPC_ROLE_CLIENT:
		return frpc_client_send(fs, msg, len);
	case FRPC_ROLE_SERVER:
		return frpc_server_send(fs, msg, len);
	default:
		return -ENOTCONN;
	}
}

static int frpc_wait_rx(struct frpc_sock *fs, long *timeo)
{
	long ret;

	if (!*timeo)
		return -EAGAIN;
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
		!list_empty_careful(&fs->rxq), *timeo);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

static int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
			int flags)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	long timeo = sock_rcvtimeo(&fs->sk, flags & MSG_DONTWAIT);
	bool server = READ_ONCE(fs->role) == FRPC_ROLE_SERVER;
	struct sk_buff_head frags;
	struct sockaddr_fastrpc peer;
	struct frpc_conn *conn;
	struct frpc_call *call;
	u32 len, held;
	int ret;

	if (flags & ~(MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC |
		      MSG_CMSG_COMPAT | MSG_WAITALL))
		return -EOPNOTSUPP;
	if (!server && READ_ONCE(fs->role) != FRPC_ROLE_CLIENT)
		return -ENOTCONN;

	__skb_queue_head_init(&frags);
	for (;;) {
		spin_lock_bh(&fs->lock);
		call = list_first_entry_or_null(&fs->rxq, struct frpc_call,
						rx_node);
		if (call)
			break;
		spin_unlock_bh(&fs->lock);
		ret = frpc_wait_rx(fs, &timeo);
		if (ret)
			return ret;
	}

	/* Take the message; a server call stays, answerable by its handle. */
	list_del_init(&call->rx_node);
	fs->rxq_len--;
	skb_queue_splice_init(&call->frags, &frags);
	len = call->len;
	held = call->held;
	call->len = 0;
	call->held = 0;
	conn = call->conn;
	if (server) {
		struct fastrpc_incoming in = {
			.handle = ++fs->next_handle,
			.method = call->method,
		};

		call->key = in.handle;
		call->state = FRPC_CALL_PENDING;
		hash_add(fs->pending, &call->sock_node, in.handle);
		fs->npending++;
		kref_get(&conn->ref);
		peer = conn->peer;
		spin_unlock_bh(&fs->lock);
		ret = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_INCOMING,
			       sizeof(in), &in);
		if (msg->msg_name) {
			memcpy(msg->msg_name, &peer, sizeof(peer));
			msg->msg_namelen = sizeof(peer);
		}
	} else {
		struct fastrpc_result res = {
			.tag = call->key,
			.status = call->status,
		};

		call->in_sock = false;
		fs->ncalls--;
		spin_unlock_bh(&fs->lock);
		frpc_sock_wake_out(&fs->sk);
		ret = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_RESULT,
			       sizeof(res), &res);
	}

	if (!ret)
		ret = frpc_frags_copy_out(&frags, msg, min_t(size_t, len, size));
	else
		__skb_queue_purge(&frags);
	frpc_conn_rx_release(conn, held);
	if (server)
		frpc_conn_put(conn);
	else
		frpc_call_free(call);
	if (ret < 0)
		return ret;

	msg->msg_flags |= MSG_EOR;
	if (len > size)
		msg->msg_flags |= MSG_TRUNC;
	return flags & MSG_TRUNC ? len : ret;
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
		u.feat.features = FASTRPC_FEAT_SHARED_CONN;
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
		spin_unlock_bh(&fs->lock);
		if (fs->conn)
			u.info.conn_id = fs->conn->id;
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

/* Cancel a client socket's calls and drop its queued results. */
static void frpc_client_release(struct frpc_sock *fs)
{
	struct frpc_conn *conn = fs->conn;
	struct frpc_call *call, *tmp;
	struct hlist_node *n;
	LIST_HEAD(dead);
	int bkt;

	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	fs->dead = true;
	hash_for_each_safe(fs->tags, bkt, n, call, sock_node) {
		struct frpc_txbuf *buf;

		hash_del(&call->sock_node);
		call->in_sock = false;
		frpc_call_unlink(call);
		buf = frpc_build_ctrl(conn->version, FASTRPC_FRAME_CANCEL,
				      call->id, NULL, 0, GFP_ATOMIC);
		if (buf)
			__frpc_conn_queue(conn, buf);
		list_add_tail(&call->rx_node, &dead);
	}
	list_for_each_entry_safe(call, tmp, &fs->rxq, rx_node)
		list_move_tail(&call->rx_node, &dead);
	fs->rxq_len = 0;
	fs->ncalls = 0;
	spin_unlock(&fs->lock);
	spin_unlock_bh(&conn->lock);

	list_for_each_entry_safe(call, tmp, &dead, rx_node) {
		list_del_init(&call->rx_node);
		call->in_sock = false;
		frpc_call_free(call);
	}
	frpc_conn_kick(conn);
	frpc_conn_unuse(conn);
	frpc_conn_put(conn);
	fs->conn = NULL;
}

static int frpc_release(struct socket *sock)
{
	struct sock *sk = sock->sk;
	struct frpc_sock *fs;

	if (!sk)
		return 0;
	fs = frpc_sk(sk);

	lock_sock(sk);
	if (fs->role == FRPC_ROLE_CLIENT) {
		frpc_client_release(fs);
	} else {
		spin_lock_bh(&fs->lock);
		fs->dead = true;
		spin_unlock_bh(&fs->lock);
		/* fails every accepted connection, which empties our queues */
		frpc_server_close(fs);
	}
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
	.shutdown	= sock_no_shutdown,
	.setsockopt	= frpc_setsockopt,
	.getsockopt	= frpc_getsockopt,
	.sendmsg	= frpc_sendmsg,
	.recvmsg	= frpc_recvmsg,
	.mmap		= sock_no_mmap,
};

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
	hash_init(fs->tags);
	hash_init(fs->pending);
	fs->max_calls = FRPC_DEFAULT_CALLS;
	mutex_init(&fs->conns_lock);
	INIT_LIST_HEAD(&fs->conns);
	INIT_WORK(&fs->accept_work, frpc_accept_workfn);
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
