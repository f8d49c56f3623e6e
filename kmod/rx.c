// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive: the reader (reader.c) cuts frames out of the stream, and each
 * frame is checked and acted on here under conn->lock, mostly in softirq
 * context.  A frame comes as a view of an skb (@skb, @off, @len) that is
 * ours to keep only when the reader gathered it (@owned), or, from the
 * same-host short cut, as a view of a buffer of the writer's (@buf) that
 * is gone when the frame has been handled; a message keeps its payload by
 * coalescing it into the message's last buffer, by copying it, or, for
 * big frames from an skb, by cloning the TCP skb.
 *
 * Everything read from the peer is untrusted.  A frame that breaks the
 * protocol fails the connection with an ERROR frame; the calls on it end
 * with UNAVAILABLE, and nothing else on the host is affected.  What a peer
 * can make us hold is bounded by the windows we announced in HELLO.
 */
#include <linux/slab.h>

#include "call.h"
#include "conn.h"
#include "flow.h"
#include "frpc.h"
#include "listener.h"
#include "mem.h"
#include "netlink.h"
#include "reader.h"
#include "rx.h"
#include "timer.h"
#include "tx.h"
#include "wire.h"

struct frpc_rx {
	struct frpc_conn	*conn;
	struct sk_buff		*skb;		/* the frame's payload is in here */
	const u8		*buf;		/* ... or here, if not NULL */
	u32			off;
	u32			len;		/* payload bytes left */
	bool			owned;		/* skb is ours to keep or free */
	u32			id;
	u16			flags;
	struct frpc_reap	reap;
};

/*
 * Copy @len bytes from where the frame's payload is read to @to.  Inline:
 * most callers pull a head of fixed size, which is then a few moves
 * rather than a call to memcpy().
 */
static __always_inline int frpc_rx_copy(const struct frpc_rx *rx, void *to,
					u32 len)
{
	if (rx->buf) {
		memcpy(to, rx->buf + rx->off, len);
		return 0;
	}
	return frpc_skb_bits(rx->skb, rx->off, to, len);
}

/* Copy a head from the front of the frame's payload. */
static __always_inline int frpc_pull(struct frpc_rx *rx, void *to, u32 len)
{
	if (rx->len < len || frpc_rx_copy(rx, to, len))
		return -EPROTO;
	rx->off += len;
	rx->len -= len;
	return 0;
}

/*
 * Should the frame's payload be kept as a clone of the TCP skb, rather
 * than copied?  A clone costs one allocation, a copy two (head and data)
 * and the bytes; but a clone pins the whole skb, and is charged its whole
 * truesize.  So: a big frame that is a good part of its skb; or a frame
 * that is a whole message (the common small unary call) in a small skb,
 * where the clone pins at most FRPC_RX_CLONE_TRUESIZE.  The pieces of a
 * longer message are copied, so that tiny ones coalesce (frpc_rx_keep).
 */
static bool frpc_rx_clone_ok(const struct frpc_rx *rx,
			     const struct frpc_rxmsg *m)
{
	u32 truesize = rx->skb->truesize;

	if (rx->len >= FRPC_RX_CLONE_MIN)
		return truesize <= 4 * SKB_TRUESIZE(rx->len);
	return truesize <= FRPC_RX_CLONE_TRUESIZE && !m->len &&
	       (rx->flags & FASTRPC_FF_EOM);
}

/*
 * Keep the rest of the frame's payload in message @m.  The first
 * FRPC_RX_INLINE bytes of a message go into the message itself; tiny
 * frames after them go into the tail of its last buffer when it has room;
 * frames that frpc_rx_clone_ok() picks are cloned; the rest, and frames
 * in a writer's buffer, are copied, so that small frames never pin big
 * skbs.  Charged to the connection.
 */
static int frpc_rx_keep(struct frpc_rx *rx, struct frpc_rxmsg *m)
{
	struct sk_buff *tail = skb_peek_tail(&m->frags), *skb;
	u32 len = rx->len, off;

	if (!len)
		return 0;
	if (!tail && m->inl_len + len <= FRPC_RX_INLINE) {
		if (frpc_rx_copy(rx, m->inl + m->inl_len, len))
			return -EFAULT;
		m->inl_len += len;
		m->len += len;
		return 0;
	}
	if (tail && !skb_cloned(tail) && skb_tailroom(tail) >= len &&
	    frpc_skb_cb(tail)->off + frpc_skb_cb(tail)->len == tail->len) {
		if (frpc_rx_copy(rx, skb_put(tail, len), len))
			return -EFAULT;
		frpc_skb_cb(tail)->len += len;
		m->len += len;
		return 0;
	}
	off = rx->off;
	if (rx->owned) {
		skb = rx->skb;
		rx->skb = NULL;
	} else if (!rx->buf && frpc_rx_clone_ok(rx, m)) {
		skb = skb_clone(rx->skb, GFP_ATOMIC | __GFP_NOWARN);
		if (!skb)
			return -ENOMEM;
		/*
		 * The message's last piece is a clone of the same skb (frames
		 * written back to back share TCP's segments): its data is
		 * charged already, and goes with the message as this does.
		 * Charge the new clone's own struct only, or a long message
		 * would count up to four times its size (conn_rx_mem).
		 */
		if (tail && tail->head == skb->head)
			skb->truesize = SKB_TRUESIZE(0);
	} else {
		/* also the only way to keep bytes of a writer's buffer */
		skb = frpc_skb_alloc(len, GFP_ATOMIC);
		if (!skb)
			return -ENOMEM;
		if (rx->buf ? skb_store_bits(skb, 0, rx->buf + rx->off, len) :
			      frpc_skb_fill(skb, 0, rx->skb, rx->off, len)) {
			kfree_skb(skb);
			return -EFAULT;
		}
		off = 0;
	}
	frpc_skb_cb(skb)->off = off;
	frpc_skb_cb(skb)->len = len;
	frpc_rxmsg_add_frag(m, skb);
	return 0;
}

/*
 * Pull a head's metadata and status text into a buffer of the message's
 * own.  Returns the ERROR code: RESOURCE without memory, PROTOCOL for
 * lengths over the limits or malformed metadata.
 */
static u8 frpc_pull_extra(struct frpc_rx *rx, struct frpc_rxmsg *m,
			  u16 meta_len, u16 smsg_len)
{
	u32 len = meta_len + smsg_len;

	if (!len)
		return FASTRPC_WERR_NONE;
	if (meta_len > FASTRPC_MAX_METADATA || smsg_len > FASTRPC_MAX_STATUS_MSG)
		return FASTRPC_WERR_PROTOCOL;
	m->extra = kmalloc(len, GFP_ATOMIC | __GFP_ACCOUNT);
	if (!m->extra)
		return FASTRPC_WERR_RESOURCE;
	/* held until read, like the frames: count it with them */
	m->truesize += len;
	frpc_conn_charge(rx->conn, len);
	if (frpc_pull(rx, m->extra, len) ||
	    frpc_meta_check(m->extra, meta_len))
		return FASTRPC_WERR_PROTOCOL;
	m->meta_len = meta_len;
	m->smsg_len = smsg_len;
	return FASTRPC_WERR_NONE;
}

/* Charge a data frame to the connection and call windows. */
static u8 frpc_rx_take(struct frpc_rx *rx, struct frpc_call *call)
{
	if (call && rx->len > call->rx_avail)
		return FASTRPC_WERR_FLOW;
	if (frpc_window_take(&rx->conn->rx_avail, rx->len))
		return FASTRPC_WERR_FLOW;
	if (call)
		call->rx_avail -= rx->len;
	frpc_count_add(rx->conn->fn, rx_held_bytes, rx->len);
	return FASTRPC_WERR_NONE;
}

/* Data for a call that has ended here: drop it, give its credit back. */
static u8 frpc_rx_ignore(struct frpc_rx *rx, u32 last_id)
{
	if (rx->id == 0 || rx->id > last_id)
		return FASTRPC_WERR_CALL_ID;
	if (frpc_window_take(&rx->conn->rx_avail, rx->len))
		return FASTRPC_WERR_FLOW;
	frpc_credit_conn(rx->conn, rx->len);
	return FASTRPC_WERR_NONE;
}

/* Add the frame's data to the call's message in progress. */
static u8 frpc_rx_append(struct frpc_rx *rx, struct frpc_call *call)
{
	struct frpc_conn *conn = rx->conn;
	struct frpc_rxmsg *m = call->rx;

	if (m->len + rx->len > FASTRPC_MAX_MSG) {
		frpc_count_sub(conn->fn, rx_held_bytes, rx->len);
		return FASTRPC_WERR_FRAME_SIZE;
	}
	if (frpc_rx_keep(rx, m)) {
		frpc_count_sub(conn->fn, rx_held_bytes, rx->len);
		return FASTRPC_WERR_RESOURCE;
	}
	/* windows count payload; tiny frames and calls cost more than that */
	if (frpc_conn_over_mem(conn))
		return FASTRPC_WERR_RESOURCE;
	frpc_call_rx_credit(call, rx->len);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_hello(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_hello h;
	u8 werr, version;

	if (conn->state != FRPC_CONN_HELLO || rx->len != sizeof(h) ||
	    frpc_pull(rx, &h, sizeof(h)))
		return FASTRPC_WERR_PROTOCOL;
	werr = frpc_hello_check(&h, conn->client, &version);
	if (werr)
		return werr;

	conn->tx_credit = be32_to_cpu(h.conn_window);
	conn->peer_call_window = be32_to_cpu(h.call_window);
	conn->peer_cancel_deadline = be64_to_cpu(h.features) &
				     FASTRPC_HELLO_F_CANCEL_DEADLINE;
	conn->rx_avail = FRPC_CONN_WINDOW;
	if (!conn->client) {
		struct fastrpc_wire_hello reply;

		frpc_hello_init(&reply, version, version);
		/* HELLO's header carries the version it offers */
		conn->version = version;
		if (frpc_queue_simple(conn, FASTRPC_FRAME_HELLO, 0, 0, &reply,
				      sizeof(reply)))
			return FASTRPC_WERR_RESOURCE;
	}
	WRITE_ONCE(conn->version, version);
	conn->rd.version = version;
	frpc_conn_set_state(conn, FRPC_CONN_READY);
	frpc_nl_conn_event(conn, FASTRPC_CMD_CONN_UP_NTF, 0, 0, false);
	/* a server shut down while this HELLO was on its way: go away now */
	if (!conn->client && READ_ONCE(conn->server->shut_rd)) {
		__frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
		frpc_conn_drained(conn);
	}
	wake_up_all(&conn->wait);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_call(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_call wc;
	struct frpc_call *call;
	struct frpc_rxmsg *m;
	u32 status;
	u8 werr;

	if (conn->client)
		return FASTRPC_WERR_PROTOCOL;
	if (rx->id == 0 || rx->id <= conn->max_id)
		return FASTRPC_WERR_CALL_ID;
	if (frpc_pull(rx, &wc, sizeof(wc)) || wc.reserved)
		return FASTRPC_WERR_PROTOCOL;
	if (be16_to_cpu(wc.meta_len) > rx->len)
		return FASTRPC_WERR_PROTOCOL;
	conn->max_id = rx->id;

	call = frpc_call_alloc(conn, GFP_ATOMIC);
	m = call ? frpc_rxmsg_alloc(conn, GFP_ATOMIC, true) : NULL;
	if (!m) {
		if (call)
			list_add(&call->tx_node, &rx->reap.calls);
		return FASTRPC_WERR_RESOURCE;
	}
	call->rx = m;
	call->id = rx->id;
	call->method = be32_to_cpu(wc.method);
	call->tx_credit = conn->peer_call_window;
	frpc_call_trace_start(call);
	m->method = call->method;
	m->timeout_ns = be64_to_cpu(wc.timeout_ns);
	if (m->timeout_ns)
		m->arrived_ns = ktime_get_ns();
	werr = frpc_pull_extra(rx, m, be16_to_cpu(wc.meta_len), 0);
	if (werr)
		goto err_free;
	werr = frpc_rx_take(rx, call);
	if (werr)
		goto err_free;

	/* admission: refuse at once, without troubling the application */
	status = frpc_server_admit(conn, call);
	if (status != FASTRPC_OK) {
		trace_admission_reject(conn, rx->id, call->method, status);
		frpc_count(conn->fn, rejected_calls);
		frpc_credit_conn(conn, rx->len);
		frpc_count_sub(conn->fn, rx_held_bytes, rx->len);
		frpc_queue_end(conn, rx->id, status);
		goto err_free_quiet;
	}
	trace_call_start(call, m->timeout_ns);
	if (m->timeout_ns)
		frpc_call_set_deadline(call, m->timeout_ns);
	werr = frpc_rx_append(rx, call);
	if (werr)
		return werr;
	if (rx->flags & FASTRPC_FF_EOM)
		frpc_call_rx_done(call, rx->flags & FASTRPC_FF_EOS);
	return FASTRPC_WERR_NONE;

err_free_quiet:
	werr = FASTRPC_WERR_NONE;
err_free:
	call->rx = NULL;
	list_add(&m->node, &rx->reap.msgs);
	list_add(&call->tx_node, &rx->reap.calls);
	return werr;
}

static u8 frpc_rx_data(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct frpc_call *call = frpc_call_find(conn, rx->id);
	u8 werr;

	/* an answered server call may still get the client's late data */
	if (!call || (!conn->client && call->state != FRPC_CALL_OPEN))
		return frpc_rx_ignore(rx, conn->client ? conn->next_id :
							  conn->max_id);
	/* only a client half-closes; nothing may follow its EOS */
	if (call->rx_eos || (conn->client && (rx->flags & FASTRPC_FF_EOS)))
		return FASTRPC_WERR_PROTOCOL;
	if (!call->rx) {
		call->rx = frpc_rxmsg_alloc(conn, GFP_ATOMIC, true);
		if (!call->rx)
			return FASTRPC_WERR_RESOURCE;
		call->rx->flags = FASTRPC_IN_CONT;
		call->rx->method = call->method;
	}
	werr = frpc_rx_take(rx, call);
	if (werr)
		return werr;
	werr = frpc_rx_append(rx, call);
	if (werr)
		return werr;
	if (rx->flags & FASTRPC_FF_EOM)
		frpc_call_rx_done(call, rx->flags & FASTRPC_FF_EOS);
	return FASTRPC_WERR_NONE;
}

/* Take an END's trailers, status message and data into the call's result. */
static u8 frpc_rx_result(struct frpc_rx *rx, struct frpc_call *call,
			 const struct fastrpc_wire_end *we)
{
	struct frpc_rxmsg *m = call->rx;
	u8 werr;

	werr = frpc_pull_extra(rx, m, be16_to_cpu(we->meta_len),
			       be16_to_cpu(we->msg_len));
	if (werr)
		return werr;
	werr = frpc_rx_take(rx, call);
	if (werr)
		return werr;
	m->status = frpc_status_from_wire(be32_to_cpu(we->status));
	return frpc_rx_append(rx, call);
}

static u8 frpc_rx_end(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_end we;
	struct frpc_call *call;
	bool reserved;
	u32 status;
	u8 werr;

	if (!conn->client || !(rx->flags & FASTRPC_FF_EOM) ||
	    (rx->flags & FASTRPC_FF_EOS) || frpc_pull(rx, &we, sizeof(we)))
		return FASTRPC_WERR_PROTOCOL;
	if (be16_to_cpu(we.meta_len) + be16_to_cpu(we.msg_len) > rx->len)
		return FASTRPC_WERR_PROTOCOL;
	call = frpc_call_find(conn, rx->id);
	if (!call) {
		/* only the data after trailers and text counts against windows */
		rx->len -= be16_to_cpu(we.meta_len) + be16_to_cpu(we.msg_len);
		werr = frpc_rx_ignore(rx, conn->next_id);
		if (!werr)
			frpc_count(conn->fn, late_replies);
		return werr;
	}
	/* the reserved last message takes the result */
	reserved = !call->rx;
	if (reserved) {
		call->rx = call->fin;
		call->fin = NULL;
	}
	werr = frpc_rx_result(rx, call, &we);
	if (werr) {
		/*
		 * The connection fails next, and the call must still end
		 * with a message of its own: give the reservation back empty.
		 */
		if (reserved) {
			frpc_call_unhold(call, call->rx);
			frpc_rxmsg_reset(call->rx);
			call->fin = call->rx;
			call->rx = NULL;
		}
		return werr;
	}
	status = call->rx->status;
	frpc_count(conn->fn, calls_completed);
	frpc_call_complete(call, status, &rx->reap);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_credit(struct frpc_rx *rx)
{
	struct fastrpc_wire_credit c;

	if (rx->len != sizeof(c) || frpc_pull(rx, &c, sizeof(c)))
		return FASTRPC_WERR_PROTOCOL;
	return frpc_credit_received(rx->conn, rx->id, be32_to_cpu(c.increment));
}

static u8 frpc_rx_cancel(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct frpc_call *call;
	bool deadline;

	if (conn->client || rx->len)
		return FASTRPC_WERR_PROTOCOL;
	deadline = rx->flags & FASTRPC_FF_DEADLINE;
	call = frpc_call_find(conn, rx->id);
	if (!call)
		/* answered while the CANCEL was on its way */
		return rx->id && rx->id <= conn->max_id ? FASTRPC_WERR_NONE :
							  FASTRPC_WERR_CALL_ID;
	frpc_count(conn->fn, calls_cancelled);
	trace_call_cancel(call);
	frpc_call_cancel_server(call, deadline ? FASTRPC_DEADLINE_EXCEEDED :
						 FASTRPC_CANCELLED, &rx->reap);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_goaway(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_error ge;
	struct frpc_call *call;
	struct hlist_node *n;
	u32 last;
	int bkt;

	if (rx->id || rx->len != sizeof(ge) || frpc_pull(rx, &ge, sizeof(ge)))
		return FASTRPC_WERR_PROTOCOL;
	last = be32_to_cpu(ge.last_id);
	/* once: a peer repeating it must not flood the listeners */
	if (!conn->goaway_rx) {
		conn->goaway_rx = true;
		frpc_nl_conn_event(conn, FASTRPC_CMD_GOAWAY_NTF, 0,
				   be32_to_cpu(ge.code), false);
	}
	if (!conn->client)
		return FASTRPC_WERR_NONE;	/* a client promises no more calls */
	if (conn->state == FRPC_CONN_READY)
		frpc_conn_set_state(conn, FRPC_CONN_DRAINING);
	/*
	 * Only a GOAWAY that lowers last_id below a call ends more calls,
	 * and each walks the whole table: a server repeating it may not
	 * make each repeat cost that, nor lower it one id at a time.
	 */
	if (last >= conn->next_id ||
	    (conn->goaway_cuts && last >= conn->goaway_last))
		return FASTRPC_WERR_NONE;
	if (conn->goaway_cuts++ == FRPC_GOAWAY_CUTS)
		return FASTRPC_WERR_PROTOCOL;
	conn->goaway_last = last;
	/* calls the server never saw may be retried: end them now */
	for (bkt = 0; bkt < FRPC_CALL_BUCKETS; bkt++) {
		hlist_for_each_entry_safe(call, n, &conn->calls[bkt], conn_node)
			if (call->id > last)
				frpc_call_finish(call, FASTRPC_UNAVAILABLE,
						 &rx->reap);
	}
	return FASTRPC_WERR_NONE;
}

/*
 * The peer sent ERROR and the connection fails.  Its code is read only
 * for the trace.
 */
static u8 frpc_rx_error(struct frpc_rx *rx)
{
	struct fastrpc_wire_error we;

	if (trace_proto_error_enabled()) {
		if (frpc_pull(rx, &we, sizeof(we)))
			we.code = 0;	/* too short: no code to tell */
		trace_proto_error(rx->conn, be32_to_cpu(we.code), true);
	}
	return FRPC_WERR_PEER;
}

/* Act on one frame; conn->lock held. */
static u8 frpc_rx_frame(struct frpc_rx *rx, u8 type)
{
	struct frpc_conn *conn = rx->conn;
	__be64 ping;

	lockdep_assert_held(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD)
		return FASTRPC_WERR_NONE;
	if (type == FASTRPC_FRAME_HELLO)
		return frpc_rx_hello(rx);
	if (type == FASTRPC_FRAME_ERROR)
		return frpc_rx_error(rx);
	if (conn->state != FRPC_CONN_READY && conn->state != FRPC_CONN_DRAINING)
		return FASTRPC_WERR_PROTOCOL;

	switch (type) {
	case FASTRPC_FRAME_CALL:
		return frpc_rx_call(rx);
	case FASTRPC_FRAME_DATA:
		return frpc_rx_data(rx);
	case FASTRPC_FRAME_END:
		return frpc_rx_end(rx);
	case FASTRPC_FRAME_CANCEL:
		return frpc_rx_cancel(rx);
	case FASTRPC_FRAME_CREDIT:
		return frpc_rx_credit(rx);
	case FASTRPC_FRAME_GOAWAY:
		return frpc_rx_goaway(rx);
	case FASTRPC_FRAME_PING:
	case FASTRPC_FRAME_PONG:
		if (rx->id || rx->len != sizeof(ping) ||
		    frpc_pull(rx, &ping, sizeof(ping)))
			return FASTRPC_WERR_PROTOCOL;
		if (type == FASTRPC_FRAME_PING)
			frpc_queue_simple(conn, FASTRPC_FRAME_PONG, 0, 0, &ping,
					  sizeof(ping));
		else
			frpc_conn_pong(conn, be64_to_cpu(ping));
		return FASTRPC_WERR_NONE;
	default:
		/* SETTINGS is reserved: length-checked by the parser, ignored */
		return rx->id ? FASTRPC_WERR_PROTOCOL : FASTRPC_WERR_NONE;
	}
}

/*
 * The reader has a whole frame: act on it.  Returns the ERROR code that
 * fails the connection, FRPC_WERR_PEER for a peer's ERROR, or 0.  Runs
 * under the stream's lock, charging what it keeps to the memory cgroup of
 * the connection's owner.
 */
u8 frpc_rx_deliver(void *ctx, const struct fastrpc_frame_hdr *hdr,
		   struct sk_buff *skb, const u8 *buf, u32 off, u32 len,
		   bool owned)
{
	struct frpc_conn *conn = ctx;
	struct frpc_rx rx = {
		.conn = conn, .skb = skb, .buf = buf, .off = off, .len = len,
		.owned = owned, .id = be32_to_cpu(hdr->call_id),
		.flags = be16_to_cpu(hdr->flags),
	};
	struct mem_cgroup *old_memcg;
	u32 queued;
	u8 werr;

	frpc_reap_init(&rx.reap);
	old_memcg = set_active_memcg(frpc_conn_memcg(conn));
	spin_lock_bh(&conn->lock);
	queued = conn->ctrl_bytes;
	conn->last_rx = jiffies;
	werr = frpc_rx_frame(&rx, hdr->type);
	queued = conn->ctrl_bytes != queued;
	if (!werr && conn->ctrl_overflow)
		werr = FASTRPC_WERR_RESOURCE;
	spin_unlock_bh(&conn->lock);
	set_active_memcg(old_memcg);

	if (rx.owned)
		consume_skb(rx.skb);	/* unless a message kept it */
	frpc_reap(&rx.reap);
	if (queued)
		frpc_conn_kick_async(conn);
	return werr;
}
