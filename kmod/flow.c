// SPDX-License-Identifier: GPL-2.0-only
/*
 * Flow control: the credit windows, both ways, in one place.
 *
 * Each call and each connection has a window (announced in HELLO): the
 * peer may send that many data bytes before it hears from us again.  We
 * give credit back in CREDIT frames as the application consumes what it
 * received, batched to a fraction of the window (frpc_credit_due() in
 * wire.c does the arithmetic).  A socket over SO_RCVBUF withholds its
 * calls' credit (fs->owed) until recvmsg() makes room, so a reader that
 * falls behind slows only its own calls.  CREDIT frames from the peer
 * widen what we may send (frpc_credit_received()).
 */
#include "call.h"
#include "conn.h"
#include "flow.h"
#include "frpc.h"
#include "sock.h"
#include "tx.h"
#include "wire.h"

static void frpc_queue_credit(struct frpc_conn *conn, u32 id, u32 inc)
{
	struct fastrpc_wire_credit c = { .increment = cpu_to_be32(inc) };

	frpc_queue_simple(conn, FASTRPC_FRAME_CREDIT, 0, id, &c, sizeof(c));
}

/*
 * Give @bytes of the connection window back, in batches: bytes the
 * application consumed, the kernel dropped, or a socket under SO_RCVBUF
 * took.  conn->lock held.
 */
void __frpc_credit_conn(struct frpc_conn *conn, u32 bytes)
{
	u32 due;

	lockdep_assert_held(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD)
		return;
	due = frpc_credit_due(&conn->rx_owed, bytes, FRPC_CONN_WINDOW);
	if (due) {
		conn->rx_avail += due;
		frpc_queue_credit(conn, 0, due);
	}
}

/* The call's socket took @bytes: the peer may send that much more. */
void frpc_credit_call(struct frpc_call *call, u32 bytes)
{
	struct frpc_conn *conn = call->conn;
	u32 due;

	lockdep_assert_held(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD || !bytes || call->rx_eos ||
	    call->state != FRPC_CALL_OPEN)
		return;
	due = frpc_credit_due(&call->rx_owed, bytes, FRPC_CALL_WINDOW);
	if (due) {
		call->rx_avail += due;
		frpc_queue_credit(conn, call->id, due);
	}
}

/*
 * The peer may use @len more bytes of the call's window once the socket
 * has room: credit now, or when recvmsg() makes room (SO_RCVBUF).  Bytes
 * a socket takes under SO_RCVBUF also go back to the connection window at
 * once, so that one socket that does not read stalls only its own calls
 * until it holds a whole connection window beyond its buffer.
 */
void frpc_call_rx_credit(struct frpc_call *call, u32 len)
{
	struct frpc_sock *fs = call->fs;
	bool over;

	lockdep_assert_held(&call->conn->lock);
	if (!len)
		return;
	spin_lock(&fs->lock);
	/* the message in progress counts against SO_RCVBUF from now on */
	over = frpc_sock_rx_full(fs);
	fs->rx_bytes += len;
	call->rx->held += len;
	if (over) {
		call->rx_withheld += len;
		if (list_empty(&call->owed_node))
			list_add_tail(&call->owed_node, &fs->owed);
		len = 0;
	}
	spin_unlock(&fs->lock);
	if (!len)
		return;
	frpc_credit_call(call, len);
	frpc_credit_conn(call->conn, len);
	call->rx->conn_credited += len;
}

/*
 * Bytes of a message in progress are charged to the socket as they come
 * (frpc_call_rx_credit); give them back when the message goes unfinished.
 */
void frpc_call_unhold(struct frpc_call *call, struct frpc_rxmsg *m)
{
	struct frpc_sock *fs = call->fs;
	unsigned long flags;

	if (!m->held || !fs)
		return;
	spin_lock_irqsave(&fs->lock, flags);
	fs->rx_bytes -= m->held;
	m->held = 0;
	frpc_sock_room_made(fs);
	spin_unlock_irqrestore(&fs->lock, flags);
}

/*
 * recvmsg() made room under SO_RCVBUF: grant the credit held back from
 * the socket's calls, and the connection window their messages in
 * progress hold.  Each call is found again under its connection's lock,
 * as it may end meanwhile.
 */
void frpc_sock_grant_owed(struct frpc_sock *fs, bool kick_async)
{
	for (;;) {
		struct frpc_conn *conn;
		struct frpc_call *call;
		u32 owed;

		spin_lock_bh(&fs->lock);
		call = list_first_entry_or_null(&fs->owed, struct frpc_call,
						owed_node);
		if (!call || frpc_sock_rx_full(fs)) {
			spin_unlock_bh(&fs->lock);
			return;
		}
		conn = call->conn;
		kref_get(&conn->ref);
		spin_unlock_bh(&fs->lock);

		spin_lock_bh(&conn->lock);
		spin_lock(&fs->lock);
		owed = 0;
		/* the same call, unless it ended and its memory came back */
		if (list_first_entry_or_null(&fs->owed, struct frpc_call,
					     owed_node) == call &&
		    call->conn == conn) {
			list_del_init(&call->owed_node);
			owed = call->rx_withheld;
			call->rx_withheld = 0;
		}
		spin_unlock(&fs->lock);
		if (owed) {
			frpc_credit_call(call, owed);
			/*
			 * The bytes of its message in progress that came
			 * while the socket was full hold connection window
			 * too, which would come back only once the message
			 * is consumed.  But it is consumed only once whole,
			 * and to become whole it may need that very window:
			 * a 4 MiB stream message, withheld a little each time
			 * a short message waited to be read, shut the window
			 * for good.  So it goes back now, as it would have
			 * on arrival had the socket not been full.
			 */
			if (call->rx)
				frpc_rxmsg_credit_conn(call->rx);
		}
		spin_unlock_bh(&conn->lock);
		if (kick_async)
			frpc_conn_kick_async(conn);
		else
			frpc_conn_kick(conn);
		frpc_conn_put(conn);
		/* one round per owed call, up to max_calls of them */
		cond_resched();
	}
}

void frpc_sock_grant_workfn(struct work_struct *work)
{
	struct frpc_sock *fs = container_of(work, struct frpc_sock,
					    grant_work);

	frpc_sock_grant_owed(fs, false);
	sock_put(&fs->sk);
}

/*
 * Room under SO_RCVBUF came back without a read: messages dropped unread
 * (their call cancelled, timed out, answered or lost with its
 * connection), or one left unfinished.  Credit withheld from the socket's
 * other calls would wait for a recvmsg() with nothing to read, and their
 * senders with it, for ever.  So it is granted as after a read, from a
 * work item: here fs->lock is held, and conn->lock often.  A released
 * socket has no calls owed by then.
 */
void frpc_sock_room_made(struct frpc_sock *fs)
{
	lockdep_assert_held(&fs->lock);
	if (list_empty(&fs->owed) || frpc_sock_rx_full(fs))
		return;
	sock_hold(&fs->sk);
	if (!queue_work(frpc_wq, &fs->grant_work))
		sock_put(&fs->sk);
}

/*
 * The peer's CREDIT frame: call id 0 widens the connection window, any
 * other that call's window.  Returns an ERROR code, or 0.  conn->lock held.
 */
u8 frpc_credit_received(struct frpc_conn *conn, u32 id, u32 inc)
{
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	if (!id) {
		if (frpc_window_add(&conn->tx_credit, inc))
			return FASTRPC_WERR_FLOW;
		/* a trickle of a few bytes does not end a stall (timer.c) */
		if (conn->tx_credit >= FRPC_STALL_CREDIT)
			conn->stall_since = 0;
		if (!list_empty(&conn->ready))
			frpc_conn_kick_async(conn);
		return FASTRPC_WERR_NONE;
	}
	call = frpc_call_find(conn, id);
	if (!call) {
		u32 last = conn->client ? conn->next_id : conn->max_id;

		return id <= last ? FASTRPC_WERR_NONE : FASTRPC_WERR_CALL_ID;
	}
	if (frpc_window_add(&call->tx_credit, inc))
		return FASTRPC_WERR_FLOW;
	if (call->stall_since && !frpc_call_starved(call))
		call->stall_since = 0;
	if (call->tx_waiting) {
		/* a long message's sender, out of credit (txbulk.c) */
		call->tx_waiting = false;
		if (call->fs)
			frpc_sock_wake_out(&call->fs->sk);
	}
	frpc_call_tx_ready(call);
	frpc_conn_kick_async(conn);
	return FASTRPC_WERR_NONE;
}
