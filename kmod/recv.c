// SPDX-License-Identifier: GPL-2.0-only
/*
 * recvmsg(): hand the next complete message to the application, with its
 * tag (client) or handle (server) in a control message so that it is
 * never read without knowing whose it is.  Reading it gives its window
 * back to the connection, and may release credit a full SO_RCVBUF held
 * back (flow.c).  A server call's request, once read, stays with the call
 * as the message that would tell of a cancel (call.c).
 */
#include <net/sock.h>

#include "call.h"
#include "cmsg.h"
#include "conn.h"
#include "flow.h"
#include "recv.h"
#include "ring.h"
#include "sock.h"
#include "tx.h"

/*
 * Where recvmsg() reads: the receive queue, or with rings only the
 * messages too large for their buffers (ring.c moves them there).
 */
static struct list_head *frpc_recv_queue(struct frpc_sock *fs)
{
	struct frpc_ring *ring = frpc_sock_ring(fs);

	return ring ? &ring->big : &fs->rxq;
}

/*
 * End of file: a server socket shut down and drained, and nothing left to
 * read, nor to come from its queue into the rings (a message there may
 * still turn out too large for them and wait for recvmsg()).  Under
 * fs->lock this is the answer; without it, the wait's hint.
 */
static __always_inline bool frpc_recv_eof(struct frpc_sock *fs)
{
	return frpc_server_drained(fs) && list_empty_careful(&fs->rxq) &&
	       list_empty_careful(frpc_recv_queue(fs));
}

static __always_inline int frpc_wait_rx(struct frpc_sock *fs, long *timeo)
{
	struct list_head *q = frpc_recv_queue(fs);
	long ret;

	if (!*timeo)
		return -EAGAIN;
	atomic_inc(&fs->waiters);
	/* counted before queued to wait: pairs with frpc_ring_queued() */
	smp_mb__after_atomic();
	/* frpc_sock_wake_eof() wakes it for the end of file */
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
					       !list_empty_careful(q) ||
					       frpc_recv_eof(fs), *timeo);
	atomic_dec(&fs->waiters);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

/*
 * Take @m, the message about to be read, off its queue and note what
 * reading it means for its call; fs->lock held.  recvmsg() and the ring
 * both read messages this way, then copy them out, then call
 * frpc_recv_done().
 */
static __always_inline void __frpc_recv_take(struct frpc_sock *fs,
					     struct frpc_rxmsg *m,
					     struct frpc_rx_taken *t)
{
	lockdep_assert_held(&fs->lock);
	t->m = m;
	t->server = fs->role == FRPC_ROLE_SERVER;
	t->request = false;
	t->eor = m->eor;
	__frpc_sock_unqueue(fs, m);
	if (t->server && !(m->flags & FASTRPC_IN_CONT)) {
		struct frpc_call *call = frpc_sock_find(fs, m->id);

		if (call) {
			call->seen = true;
			/* not a cancel notice: the call's request */
			t->request = !(m->flags & FASTRPC_IN_CANCELLED);
		}
	}
	/*
	 * Senders wait for a call slot (frpc_wait_send(), EPOLLOUT) only
	 * while none is free: only the call that frees the first one wakes
	 * them, not every call that ends.
	 */
	t->call_room = false;
	if (!t->server && m->eor)
		t->call_room = fs->ncalls-- == READ_ONCE(fs->max_calls);
	t->grant = !list_empty(&fs->owed) && !frpc_sock_rx_full(fs);
	t->kick_async = false;
}

/*
 * The message taken by frpc_recv_take() was copied out: its window goes
 * back to the connection, and it is freed or stays with its call.
 */
static __always_inline void __frpc_recv_done(struct frpc_sock *fs,
					     struct frpc_rx_taken *t)
{
	struct frpc_rxmsg *m = t->m;
	struct frpc_conn *conn = m->conn;
	bool queued;

	if (t->call_room)
		frpc_sock_wake_out(&fs->sk);
	if (t->request) {
		struct sk_buff *skb;

		/*
		 * Read: its buffers go now, not under conn->lock, where
		 * the call may take the emptied message as its fin.
		 */
		while ((skb = __skb_dequeue(&m->frags)))
			consume_skb(skb);
		/* once its call keeps it, @m holds conn for us no more */
		kref_get(&conn->ref);
	}
	spin_lock_bh(&conn->lock);
	queued = conn->ctrl_bytes;
	frpc_rxmsg_consumed(m);
	queued = conn->ctrl_bytes != queued;
	if (t->request)
		m = frpc_call_keep_request(fs, m);
	spin_unlock_bh(&conn->lock);
	if (queued && t->kick_async)
		frpc_conn_kick_async(conn);
	else if (queued)
		frpc_conn_kick(conn);
	if (m)
		frpc_rxmsg_free(m);
	if (t->request)
		frpc_conn_put(conn);
	if (t->grant)
		frpc_sock_grant_owed(fs, t->kick_async);
}

/* The ring's way in; recvmsg() has them inlined, one call the less. */
void frpc_recv_take(struct frpc_sock *fs, struct frpc_rxmsg *m,
		    struct frpc_rx_taken *t)
{
	__frpc_recv_take(fs, m, t);
}

void frpc_recv_done(struct frpc_sock *fs, struct frpc_rx_taken *t)
{
	__frpc_recv_done(fs, t);
}

/*
 * recvmsg() could not copy @t's message out (a bad buffer or control
 * buffer: EFAULT): put it back at the head of its queue as it was, so
 * that the next read gets it, rather than lose a call's result or request
 * to the application's mistake.  What the take changed is derived here,
 * not saved by recvmsg(), whose fast path should not pay for its errors:
 * a queued message holds its whole length (frpc_sock_queue()); a server's
 * message is on its call's list unless it is a cancellation notice; and
 * a call's seen was false before its request was read.  A server call's
 * message goes back only while its call is open (one cancelled meanwhile
 * owes a notice, which the read's end turns it into), and nothing goes
 * back to a drained server socket, whose other readers may have read end
 * of file meanwhile.
 * Returns false if it did not go back; the caller then finishes the read.
 */
static noinline __cold bool frpc_recv_untake(struct frpc_sock *fs,
					     struct frpc_rx_taken *t)
{
	struct frpc_rxmsg *m = t->m;
	bool linked = t->server && !(m->flags & FASTRPC_IN_CANCELLED);
	struct frpc_conn *conn = m->conn;
	struct frpc_call *call = NULL;
	bool back = true;

	/* a call's messages and its state change under its conn->lock */
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	if (linked) {
		call = frpc_sock_find(fs, m->id);
		back = call && call->conn == conn &&
		       call->state == FRPC_CALL_OPEN;
	}
	if (t->server && frpc_server_drained(fs))
		back = false;
	if (back) {
		/* with rings set up meanwhile: where recvmsg() reads */
		list_add(&m->node, frpc_recv_queue(fs));
		if (linked)
			list_add(&m->call_node, &call->rxmsgs);
		fs->rxq_len++;
		fs->rx_bytes += m->len;
		m->held = m->len;
		if (t->request)
			call->seen = false;	/* its handle was never told */
		if (!t->server && t->eor)
			fs->ncalls++;		/* its result is still to read */
	}
	spin_unlock(&fs->lock);
	spin_unlock_bh(&conn->lock);
	if (back)
		fs->sk.sk_data_ready(&fs->sk);	/* a reader that slept on it */
	return back;
}

int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		 int flags)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	long timeo = sock_rcvtimeo(&fs->sk, flags & MSG_DONTWAIT);
	bool server = READ_ONCE(fs->role) == FRPC_ROLE_SERVER;
	size_t need = CMSG_SPACE(server ? sizeof(struct fastrpc_incoming) :
					  sizeof(struct fastrpc_result));
	struct frpc_rx_taken t;
	struct frpc_rxmsg *m;
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
		bool eof;

		spin_lock_bh(&fs->lock);
		m = list_first_entry_or_null(frpc_recv_queue(fs),
					     struct frpc_rxmsg, node);
		if (m)
			break;
		/*
		 * Read under the lock that the last connection's close
		 * takes: every message it queued is seen before its end,
		 * and so is a cancellation notice another reader owed
		 * (fs->ncancel_owed, which is uncounted under it once queued).
		 * 0 with no control message, unlike an empty message.
		 */
		eof = frpc_recv_eof(fs);
		spin_unlock_bh(&fs->lock);
		if (eof)
			return 0;
		ret = frpc_wait_rx(fs, &timeo);
		if (ret)
			return ret;
	}
	__frpc_recv_take(fs, m, &t);
	spin_unlock_bh(&fs->lock);

	if (server) {
		struct fastrpc_incoming in = {
			.handle = m->id,
			.method = m->method,
			.flags = m->flags,
			.timeout_ns = frpc_rxmsg_timeout_left(m),
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
	if (unlikely(ret < 0) && frpc_recv_untake(fs, &t))
		return ret;
	__frpc_recv_done(fs, &t);
	if (t.eor)
		msg->msg_flags |= MSG_EOR;
	if (ret < 0)
		return ret;

	if (len > size)
		msg->msg_flags |= MSG_TRUNC;
	return flags & MSG_TRUNC ? len : ret;
}
