// SPDX-License-Identifier: GPL-2.0-only
/*
 * The transport boundary: everything that touches a kernel TCP socket.
 * Connecting, listening and accepting, the socket callbacks, writing
 * frames, reading frames (reader.c cuts them, rx.c acts on them) and
 * closing.  The rest of the module sees a connection that takes frames
 * (frpc_tp_send) and delivers them (frpc_rx_deliver); another transport
 * plugs in here: the same-host short cut (loop.c, a connection with
 * conn->loop instead of conn->tcp), a kTLS socket.
 *
 * Reading.  Frames are read in the TCP receive callback, in softirq, as
 * they arrive.  While the socket is owned (our own sender is writing, or
 * teardown holds it), TCP queues input to the backlog and runs it
 * through the callback from release_sock(); we note it
 * (FRPC_TP_RX_PENDING) and read right after the send, in the sender's
 * context, or from rx_work when the owner was not our sender.  One pass
 * reads at most FRPC_RX_BUDGET frames; a backlog bigger than that goes on
 * in rx_work, which yields between passes, and softirq leaves the socket
 * to it meanwhile (FRPC_TP_RX_WORK) so that frames stay in order.
 *
 * Locking: the reader runs under the TCP socket's lock, BH-locked from
 * softirq or owned from process context; conn->tcp is stable under
 * tx_mutex, and the callbacks find the connection through sk_user_data
 * under sk_callback_lock.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/tcp.h>
#include <net/inet_sock.h>
#include <net/ip.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "loop.h"
#include "netlink.h"
#include "reader.h"
#include "rx.h"
#include "sock.h"
#include "timer.h"
#include "transport.h"
#include "tx.h"

enum frpc_tp_bits {
	FRPC_TP_RX_PENDING,	/* input came while the socket was owned */
	FRPC_TP_TX_ACTIVE,	/* our sender owns it and reads after */
	FRPC_TP_RX_WORK,	/* rx_work has the reading: softirq keeps off */
};

static struct frpc_conn *frpc_tp_conn(struct sock *sk)
{
	/* the NOCOPY bit keeps TCP children from inheriting the pointer */
	return __locked_read_sk_user_data_with_flags(sk, 0);
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

static int frpc_tp_sockaddr(const struct sockaddr_fastrpc *a,
			    struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6;

	memset(ss, 0, sizeof(*ss));
	if (a->sfr_ip_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = a->sfr_port;
		sin->sin_addr.s_addr = a->sfr_addr.v4;
		return sizeof(*sin);
	}
	sin6 = (struct sockaddr_in6 *)ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = a->sfr_port;
	sin6->sin6_addr = a->sfr_addr.v6;
	sin6->sin6_scope_id = a->sfr_scope_id;
	return sizeof(*sin6);
}

/* --- reading ------------------------------------------------------------ */

static int frpc_tp_recv_actor(read_descriptor_t *desc, struct sk_buff *skb,
			      unsigned int off, size_t len)
{
	struct frpc_conn *conn = desc->arg.data;
	struct frpc_reader *r = &conn->rd;
	u32 used;

	used = frpc_reader_feed(r, skb, off, min_t(size_t, len, U32_MAX));
	if (r->dead || !r->budget)
		desc->count = 0;	/* stop: tcp_read_sock ends the pass */
	return used;
}

/*
 * The reader refused a frame, or the peer sent ERROR: fail the
 * connection.  Under the stream's lock, not under conn->lock
 * (frpc_conn_fail takes it).
 */
void frpc_tp_reader_failed(struct frpc_conn *conn)
{
	struct frpc_reader *r = &conn->rd;

	if (r->werr == FRPC_WERR_PEER && READ_ONCE(conn->state) != FRPC_CONN_DEAD)
		frpc_nl_conn_event(conn, FASTRPC_CMD_PROTO_ERROR_NTF, -EPROTO,
				   FRPC_NL_WERR_UNKNOWN, false);
	frpc_conn_fail(conn, r->werr == FASTRPC_WERR_FRAME_SIZE ?
			     -EMSGSIZE : -EPROTO,
		       r->werr == FRPC_WERR_PEER ? 0 : r->werr);
}

/*
 * Urgent data (MSG_OOB, TCP's urgent pointer) is no part of the protocol,
 * and tcp_read_sock() stops at the urgent byte for good (only
 * tcp_recvmsg() steps over it): input would pile up unread until
 * keepalive gave up on the connection.  A peer that sends any fails its
 * connection at once instead.  The socket's lock held.
 */
static bool frpc_tp_urgent(struct sock *sk)
{
	return unlikely(READ_ONCE(tcp_sk(sk)->urg_data));
}

/*
 * One pass over what TCP has queued; the socket's lock held.  Returns
 * true if the budget ran out with input left.
 */
static bool frpc_tp_read_pass(struct frpc_conn *conn, struct sock *sk)
{
	read_descriptor_t desc = { .arg.data = conn, .count = 1 };
	struct frpc_reader *r = &conn->rd;

	if (r->dead)
		return false;
	r->budget = FRPC_RX_BUDGET;
	tcp_read_sock(sk, &desc, frpc_tp_recv_actor);
	if (frpc_tp_urgent(sk) && !r->dead)
		frpc_reader_stop(r, FASTRPC_WERR_PROTOCOL);
	if (r->dead) {
		frpc_tp_reader_failed(conn);
		return false;
	}
	return !r->budget && tcp_inq(sk);
}

static void frpc_tp_queue_rx_work(struct frpc_conn *conn)
{
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, &conn->rx_work))
		frpc_conn_put(conn);
}

/* Read in process context until TCP has nothing left for us. */
static void frpc_tp_read_all(struct frpc_conn *conn, struct sock *sk)
{
	bool more;

	do {
		clear_bit(FRPC_TP_RX_PENDING, &conn->tp_flags);
		lock_sock(sk);
		more = frpc_tp_read_pass(conn, sk);
		release_sock(sk);
		cond_resched();
	} while (more || test_bit(FRPC_TP_RX_PENDING, &conn->tp_flags));
}

static void frpc_tp_rx_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, rx_work);

	mutex_lock(&conn->tx_mutex);	/* keeps conn->tcp */
	if (conn->tcp) {
		frpc_tp_read_all(conn, conn->tcp->sk);
		/* softirq reads again; what it left us meanwhile is ours */
		clear_bit(FRPC_TP_RX_WORK, &conn->tp_flags);
		/* pairs with data_ready's test of RX_WORK */
		smp_mb__after_atomic();
		frpc_tp_read_all(conn, conn->tcp->sk);
	}
	mutex_unlock(&conn->tx_mutex);
	frpc_conn_put(conn);
}

static void frpc_tp_data_ready(struct sock *sk)
{
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = frpc_tp_conn(sk);
	if (!conn)
		goto out;
	if (sock_owned_by_user_nocheck(sk)) {
		/* release_sock() is running the backlog for its owner */
		set_bit(FRPC_TP_RX_PENDING, &conn->tp_flags);
		/* pairs with frpc_tp_send: one of us sees the other's bit */
		smp_mb__after_atomic();
		if (!test_bit(FRPC_TP_TX_ACTIVE, &conn->tp_flags))
			frpc_tp_queue_rx_work(conn);
		goto out;
	}
	if (test_bit(FRPC_TP_RX_WORK, &conn->tp_flags))
		goto out;	/* the work reads it, in order */
	if (frpc_tp_read_pass(conn, sk)) {
		set_bit(FRPC_TP_RX_WORK, &conn->tp_flags);
		frpc_tp_queue_rx_work(conn);
	}
out:
	read_unlock_bh(&sk->sk_callback_lock);
}

static void frpc_tp_write_space(struct sock *sk)
{
	void (*saved)(struct sock *sk) = NULL;
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = frpc_tp_conn(sk);
	if (conn) {
		saved = conn->saved_write_space;
		frpc_conn_kick_async(conn);
	}
	read_unlock_bh(&sk->sk_callback_lock);
	if (saved)
		saved(sk);
}

static void frpc_tp_state_change(struct sock *sk)
{
	struct frpc_conn *conn;

	read_lock_bh(&sk->sk_callback_lock);
	conn = frpc_tp_conn(sk);
	if (conn && sk->sk_state != TCP_ESTABLISHED)
		frpc_conn_peer_closed(conn, sk->sk_err ? -sk->sk_err :
							 -ECONNRESET);
	read_unlock_bh(&sk->sk_callback_lock);
}

/*
 * The peer closed: read what came before its FIN or RST, in process
 * context, so that a last END, GOAWAY or ERROR is acted on first.
 * Called from conn.c's eof work.
 */
void frpc_tp_read_rest(struct frpc_conn *conn)
{
	mutex_lock(&conn->tx_mutex);
	if (conn->tcp)
		frpc_tp_read_all(conn, conn->tcp->sk);
	mutex_unlock(&conn->tx_mutex);
}

/* --- attaching and closing ------------------------------------------- */

/* Take over a connected TCP socket and start reading frames from it. */
int frpc_tp_attach(struct frpc_conn *conn, struct socket *tcp)
{
	struct sock *sk = tcp->sk;

	tcp_sock_set_nodelay(sk);
	/*
	 * Bulk data waits in our queues, not TCP's: past this many unsent
	 * bytes TCP takes no more (and wakes us below it), so a small call's
	 * frame, which the scheduler puts between bulk frames, is never
	 * behind megabytes of send buffer.
	 */
	WRITE_ONCE(tcp_sk(sk)->notsent_lowat, FRPC_TCP_NOTSENT_LOWAT);
	/*
	 * conn->peer is not written here: it was set when the connection
	 * was made (frpc_conn_alloc()), the address a client opened it for
	 * or the one a server accepted it from, before netlink dumps could
	 * see it, and it never changes.
	 */
	frpc_reader_init(&conn->rd, frpc_rx_deliver, conn);
	conn->rd.version = conn->version;
	INIT_WORK(&conn->rx_work, frpc_tp_rx_workfn);
	conn->tcp = tcp;
	conn->last_rx = jiffies;

	write_lock_bh(&sk->sk_callback_lock);
	conn->saved_data_ready = sk->sk_data_ready;
	conn->saved_write_space = sk->sk_write_space;
	conn->saved_state_change = sk->sk_state_change;
	__rcu_assign_sk_user_data_with_flags(sk, conn, SK_USER_DATA_NOCOPY);
	sk->sk_data_ready = frpc_tp_data_ready;
	sk->sk_write_space = frpc_tp_write_space;
	sk->sk_state_change = frpc_tp_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	atomic64_inc(&conn->fn->conns_open);
	atomic64_inc(&conn->fn->conns_total);
	frpc_conn_start_timers(conn);

	/* bytes or a close that arrived before the callbacks were ours */
	set_bit(FRPC_TP_RX_WORK, &conn->tp_flags);
	frpc_tp_queue_rx_work(conn);
	if (READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		frpc_conn_peer_closed(conn, sk->sk_err ? -sk->sk_err :
							 -ECONNRESET);
	return 0;
}

/* Stop reading: the socket gets its own callbacks back; tx_mutex held. */
void frpc_tp_detach(struct frpc_conn *conn)
{
	struct sock *sk;

	lockdep_assert_held(&conn->tx_mutex);
	if (conn->loop) {
		frpc_loop_detach(conn);
		return;
	}
	sk = conn->tcp->sk;
	write_lock_bh(&sk->sk_callback_lock);
	rcu_assign_sk_user_data(sk, NULL);
	sk->sk_data_ready = conn->saved_data_ready;
	sk->sk_write_space = conn->saved_write_space;
	sk->sk_state_change = conn->saved_state_change;
	write_unlock_bh(&sk->sk_callback_lock);

	/* no callback runs any more: the reader is ours alone */
	lock_sock(sk);
	frpc_reader_reset(&conn->rd);
	conn->rd.dead = true;
	release_sock(sk);
	atomic64_dec(&conn->fn->conns_open);
}

/* Read and drop what the peer still sends, so that close sends FIN, not RST. */
static void frpc_tp_drain(struct socket *tcp)
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

/*
 * Close the socket after its last frames went out: FIN, and after an
 * ERROR a short drain.  Detached first; tx_mutex held.
 */
void frpc_tp_close(struct frpc_conn *conn, bool drain)
{
	struct socket *tcp = conn->tcp;

	lockdep_assert_held(&conn->tx_mutex);
	if (conn->loop) {
		/* nothing of the peer's is left to drain: it is read as sent */
		frpc_loop_close(conn);
		return;
	}
	kernel_sock_shutdown(tcp, SHUT_WR);
	if (drain)
		frpc_tp_drain(tcp);
	conn->tcp = NULL;
	sock_release(tcp);
	/* a queued rx_work finds no socket and only drops its reference */
}

/* --- writing ------------------------------------------------------------ */

/*
 * Our sender owns the socket for a write: input TCP puts in the backlog
 * meanwhile is read right after, in this context, rather than from a
 * work item.
 */
static void frpc_tp_tx_begin(struct frpc_conn *conn)
{
	set_bit(FRPC_TP_TX_ACTIVE, &conn->tp_flags);
}

static void frpc_tp_tx_end(struct frpc_conn *conn, struct sock *sk)
{
	/*
	 * Read what came meanwhile with TX_ACTIVE still set: input landing
	 * in the backlog while this read owns the socket is this loop's
	 * too, and must not wake rx_work only to have it wait for our
	 * tx_mutex.
	 */
	if (test_bit(FRPC_TP_RX_PENDING, &conn->tp_flags) &&
	    !test_bit(FRPC_TP_RX_WORK, &conn->tp_flags))
		frpc_tp_read_all(conn, sk);
	clear_bit(FRPC_TP_TX_ACTIVE, &conn->tp_flags);
	/* pairs with data_ready: one of us sees the other's bit */
	smp_mb__after_atomic();
	if (test_bit(FRPC_TP_RX_PENDING, &conn->tp_flags) &&
	    !test_bit(FRPC_TP_RX_WORK, &conn->tp_flags))
		frpc_tp_read_all(conn, sk);
}

/*
 * What kernel_sendmsg() does, less the socket layer above TCP: the LSM
 * hooks (this is the module's own kernel socket; the application's
 * sendmsg() on the AF_FASTRPC socket went through them) and two indirect
 * calls, a few hundred instructions per frame.  kTLS writes to TCP the
 * same way.  @nmsg messages go under one socket lock.  A protocol layered
 * over TCP (kTLS, a sockmap) has a sendmsg of its own: then that one.
 */
static int frpc_tp_write(struct sock *sk, struct msghdr *msg, size_t *lens,
			 int nmsg)
{
	bool raw = READ_ONCE(sk->sk_prot)->sendmsg == tcp_sendmsg;
	int ret = 0, n, i;

	if (raw)
		lock_sock(sk);
	for (i = 0; i < nmsg; i++) {
		n = raw ? tcp_sendmsg_locked(sk, &msg[i], lens[i]) :
			  sock_sendmsg(sk->sk_socket, &msg[i]);
		if (n < 0) {
			ret = ret ?: n;
			break;
		}
		ret += n;
		if (n < lens[i])
			break;
	}
	if (raw)
		release_sock(sk);
	return ret;
}

/* What the transport took, counted for netlink.c; tx_mutex held. */
static int frpc_tp_sent(struct frpc_conn *conn, int ret)
{
	/* the keepalive timer reads it locklessly (timer.c) */
	if (ret > 0)
		WRITE_ONCE(conn->tx_bytes, conn->tx_bytes + ret);
	return ret;
}

static int frpc_tp_send_tcp(struct frpc_conn *conn, struct kvec *iov,
			    int niov, size_t len, long timeo, int flags)
{
	struct msghdr msg = {
		.msg_flags = (timeo ? 0 : MSG_DONTWAIT) | MSG_NOSIGNAL | flags,
	};
	struct sock *sk = conn->tcp->sk;
	int ret = 0;

	if (timeo)
		WRITE_ONCE(sk->sk_sndtimeo, timeo);
	frpc_tp_tx_begin(conn);
	if (len) {
		iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, iov, niov, len);
		ret = frpc_tp_write(sk, &msg, &len, 1);
	} else {
		tcp_sock_set_cork(sk, false);
	}
	frpc_tp_tx_end(conn, sk);
	return frpc_tp_sent(conn, ret);
}

/*
 * Write up to @len bytes of @iov.  @timeo: how long to wait for room, 0 to
 * return -EAGAIN at once.  @flags: MSG_MORE when another frame follows at
 * once, so that TCP packs them into full segments; @len 0 then pushes out
 * what such writes left held back.  tx_mutex held.
 */
int frpc_tp_send(struct frpc_conn *conn, struct kvec *iov, int niov,
		 size_t len, long timeo, int flags)
{
	lockdep_assert_held(&conn->tx_mutex);
	/* not a msghdr to clear for the short cut, which takes none */
	if (conn->loop)
		return frpc_tp_sent(conn, frpc_loop_send(conn, iov, niov, len));
	return frpc_tp_send_tcp(conn, iov, niov, len, timeo, flags);
}

/*
 * Write one frame whose first @head_len bytes are in @iov and whose other
 * @data_len come from @data, memory that cannot fault (pages tx.c holds
 * references on, or a ring's buffer area).  @flags: MSG_MORE when another
 * frame follows at once.  Never waits for room; returns the bytes taken,
 * head first, or an error.  tx_mutex held.
 */
int frpc_tp_send_data(struct frpc_conn *conn, struct kvec *iov, int niov,
		      size_t head_len, struct iov_iter *data, size_t data_len,
		      int flags)
{
	/* the head with MSG_MORE; TCP copies the data from the pages */
	struct msghdr msg[2] = {
		{ .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE },
		{ .msg_flags = MSG_DONTWAIT | MSG_NOSIGNAL | flags,
		  .msg_iter = *data },
	};
	size_t lens[2] = { head_len, data_len };
	struct sock *sk;
	int ret;

	lockdep_assert_held(&conn->tx_mutex);
	if (conn->loop)
		return frpc_tp_sent(conn, frpc_loop_send_data(conn, iov, niov,
							      head_len, data,
							      data_len));
	sk = conn->tcp->sk;
	iov_iter_kvec(&msg[0].msg_iter, ITER_SOURCE, iov, niov, head_len);
	frpc_tp_tx_begin(conn);
	ret = frpc_tp_write(sk, msg, lens, 2);
	/* the head went with MSG_MORE but no data after it: let it go */
	if (ret == head_len)
		tcp_sock_set_cork(sk, false);
	frpc_tp_tx_end(conn, sk);
	return frpc_tp_sent(conn, ret);
}

/* --- connecting --------------------------------------------------------- */

/* Open a TCP connection to the connection's peer; blocks. */
int frpc_tp_connect(struct frpc_conn *conn, struct socket **tcpp)
{
	struct sockaddr_storage ss;
	struct socket *tcp;
	int len, err;

	len = frpc_tp_sockaddr(&conn->peer, &ss);
	err = sock_create_kern(conn->fn->net, conn->peer.sfr_ip_family,
			       SOCK_STREAM, IPPROTO_TCP, &tcp);
	if (err)
		return err;
	tcp->sk->sk_sndtimeo = msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS);
	err = kernel_connect(tcp, (struct sockaddr *)&ss, len, 0);
	if (err == -EINPROGRESS)	/* the send timeout ran out */
		err = -ETIMEDOUT;
	if (err) {
		sock_release(tcp);
		return err;
	}
	tcp->sk->sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
	*tcpp = tcp;
	return 0;
}

/* --- listening ---------------------------------------------------------- */

static void frpc_tp_listen_data_ready(struct sock *sk)
{
	struct frpc_sock *fs;

	read_lock_bh(&sk->sk_callback_lock);
	fs = __locked_read_sk_user_data_with_flags(sk, 0);
	if (fs && sk->sk_state == TCP_LISTEN)
		queue_work(frpc_wq, &fs->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void frpc_tp_accept_workfn(struct work_struct *work)
{
	struct frpc_sock *fs = container_of(work, struct frpc_sock, accept_work);
	struct sockaddr_fastrpc peer;
	struct frpc_conn *conn;
	struct socket *tcp;
	struct sock *sk;

	while (!kernel_accept(fs->ltcp, &tcp, O_NONBLOCK)) {
		/* a connect flood over the caps takes the continue below */
		cond_resched();
		sk = tcp->sk;
		/*
		 * The child was cloned from the listener with its callback;
		 * give it the stock one back, so that nothing of ours
		 * outlives the module on a socket TCP keeps after release.
		 */
		write_lock_bh(&sk->sk_callback_lock);
		sk->sk_data_ready = fs->saved_ldata_ready;
		write_unlock_bh(&sk->sk_callback_lock);

		frpc_addr_from_sk(&peer, sk, true);
		conn = frpc_server_new_conn(fs, &peer);
		if (!conn) {
			sock_release(tcp);
			continue;
		}
		if (frpc_tp_attach(conn, tcp)) {
			sock_release(tcp);
			frpc_conn_fail(conn, -ENOMEM, FASTRPC_WERR_NONE);
		}
		frpc_conn_put(conn);
	}
}

/*
 * bind(): open the TCP socket now so that EADDRINUSE comes from bind.
 * Ports under the namespace's ip_unprivileged_port_start need
 * CAP_NET_BIND_SERVICE, as for the user's own TCP sockets.
 */
int frpc_tp_bind(struct frpc_sock *fs, const struct sockaddr_fastrpc *a)
{
	struct net *net = sock_net(&fs->sk);
	struct sockaddr_storage ss;
	struct socket *tcp;
	int len, err;

	if (a->sfr_port &&
	    inet_port_requires_bind_service(net, ntohs(a->sfr_port)) &&
	    !ns_capable(net->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;

	len = frpc_tp_sockaddr(a, &ss);
	err = sock_create_kern(net, a->sfr_ip_family, SOCK_STREAM,
			       IPPROTO_TCP, &tcp);
	if (err)
		return err;
	sock_set_reuseaddr(tcp->sk);
	err = kernel_bind(tcp, (struct sockaddr *)&ss, len);
	if (err) {
		sock_release(tcp);
		return err;
	}
	INIT_WORK(&fs->accept_work, frpc_tp_accept_workfn);
	fs->ltcp = tcp;
	frpc_addr_from_sk(&fs->local, tcp->sk, false);
	/* the short cut serves IPv4 callers of a dual-stack listener too */
	fs->v6only = tcp->sk->sk_family == AF_INET6 && tcp->sk->sk_ipv6only;
	return 0;
}

int frpc_tp_listen(struct frpc_sock *fs, int backlog)
{
	struct sock *sk = fs->ltcp->sk;
	int err;

	err = kernel_listen(fs->ltcp, backlog);
	if (err)
		return err;
	write_lock_bh(&sk->sk_callback_lock);
	fs->saved_ldata_ready = sk->sk_data_ready;
	__rcu_assign_sk_user_data_with_flags(sk, fs, SK_USER_DATA_NOCOPY);
	sk->sk_data_ready = frpc_tp_listen_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	/* connections that completed before the callback was ours */
	queue_work(frpc_wq, &fs->accept_work);
	return 0;
}

void frpc_tp_unlisten(struct frpc_sock *fs)
{
	struct socket *ltcp = fs->ltcp;

	if (!ltcp)
		return;
	if (fs->saved_ldata_ready) {
		struct sock *sk = ltcp->sk;

		write_lock_bh(&sk->sk_callback_lock);
		rcu_assign_sk_user_data(sk, NULL);
		sk->sk_data_ready = fs->saved_ldata_ready;
		write_unlock_bh(&sk->sk_callback_lock);
		cancel_work_sync(&fs->accept_work);
	}
	WRITE_ONCE(fs->ltcp, NULL);	/* frpc_server_listening() */
	sock_release(ltcp);
}
