// SPDX-License-Identifier: GPL-2.0-only
/*
 * Receive: strparser cuts frames out of the TCP stream in softirq context,
 * and each frame is checked and acted on here under conn->lock.
 *
 * Everything read from the peer is untrusted.  A frame that breaks the
 * protocol fails the connection with an ERROR frame; the calls on it end
 * with UNAVAILABLE, and nothing else on the host is affected.  What a peer
 * can make us hold is bounded by the windows we announced in HELLO.
 */
#include <linux/slab.h>

#include "frpc.h"

struct frpc_rx {
	struct frpc_conn	*conn;
	struct sk_buff		*skb;
	u32			id;
	u32			len;		/* payload bytes left in skb */
	u16			flags;
	struct frpc_reap	reap;
};

static int frpc_parse_msg(struct strparser *strp, struct sk_buff *skb)
{
	struct frpc_conn *conn = container_of(strp, struct frpc_conn, strp);
	struct strp_msg *stm = strp_msg(skb);
	struct fastrpc_frame_hdr hdr;
	u8 werr;
	int err;

	if (skb->len - stm->offset < FASTRPC_FRAME_HDR_LEN)
		return 0;
	if (skb_copy_bits(skb, stm->offset, &hdr, sizeof(hdr)))
		return -EPROTO;
	err = frpc_hdr_check(&hdr, READ_ONCE(conn->version), &werr);
	if (err) {
		WRITE_ONCE(conn->werr, werr);
		return err;
	}
	return FASTRPC_FRAME_HDR_LEN + be32_to_cpu(hdr.length);
}

/* Copy a head from the front of the frame's payload. */
static int frpc_pull(struct frpc_rx *rx, void *to, u32 len)
{
	struct frpc_skb_cb *cb = frpc_skb_cb(rx->skb);

	if (cb->len < len || skb_copy_bits(rx->skb, cb->off, to, len))
		return -EPROTO;
	cb->off += len;
	cb->len -= len;
	rx->len = cb->len;
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
	m->extra = kmalloc(len, GFP_ATOMIC);
	if (!m->extra)
		return FASTRPC_WERR_RESOURCE;
	/* held until read, like the frames: count it with them */
	m->truesize += len;
	atomic_add(len, &rx->conn->rx_mem);
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
	atomic64_add(rx->len, &rx->conn->fn->rx_held_bytes);
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
		atomic64_sub(rx->len, &conn->fn->rx_held_bytes);
		return FASTRPC_WERR_FRAME_SIZE;
	}
	frpc_rxmsg_add_frag(m, rx->skb);
	rx->skb = NULL;
	/* windows count payload; tiny frames cost far more than that */
	if (atomic_read(&conn->rx_mem) > FRPC_CONN_RX_MEM_MAX)
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
	conn->state = FRPC_CONN_READY;
	/* a server shut down while this HELLO was on its way: go away now */
	if (!conn->client && READ_ONCE(conn->server->shut_rd))
		__frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
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
	m = call ? frpc_rxmsg_alloc(conn, GFP_ATOMIC) : NULL;
	if (!m) {
		if (call)
			list_add(&call->tx_node, &rx->reap.calls);
		return FASTRPC_WERR_RESOURCE;
	}
	call->rx = m;
	call->id = rx->id;
	call->method = be32_to_cpu(wc.method);
	call->tx_credit = conn->peer_call_window;
	m->method = call->method;
	m->timeout_ns = be64_to_cpu(wc.timeout_ns);
	werr = frpc_pull_extra(rx, m, be16_to_cpu(wc.meta_len), 0);
	if (werr)
		goto err_free;
	werr = frpc_rx_take(rx, call);
	if (werr)
		goto err_free;

	/* admission: refuse at once, without troubling the application */
	status = frpc_server_admit(conn, call);
	if (status != FASTRPC_OK) {
		atomic64_inc(&conn->fn->rejected_calls);
		frpc_credit_conn(conn, rx->len);
		atomic64_sub(rx->len, &conn->fn->rx_held_bytes);
		frpc_queue_end(conn, rx->id, status);
		goto err_free_quiet;
	}
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
		call->rx = frpc_rxmsg_alloc(conn, GFP_ATOMIC);
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
			atomic64_inc(&conn->fn->late_replies);
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
			frpc_rxmsg_reset(call->rx);
			call->fin = call->rx;
			call->rx = NULL;
		}
		return werr;
	}
	status = call->rx->status;
	atomic64_inc(&conn->fn->calls_completed);
	frpc_call_rx_done(call, true);
	frpc_call_finish(call, status, &rx->reap);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_credit(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_credit c;
	struct frpc_call *call;
	u32 inc;

	if (rx->len != sizeof(c) || frpc_pull(rx, &c, sizeof(c)))
		return FASTRPC_WERR_PROTOCOL;
	inc = be32_to_cpu(c.increment);
	if (!rx->id) {
		if (frpc_window_add(&conn->tx_credit, inc))
			return FASTRPC_WERR_FLOW;
		if (!list_empty(&conn->ready))
			frpc_conn_kick_async(conn);
		return FASTRPC_WERR_NONE;
	}
	call = frpc_call_find(conn, rx->id);
	if (!call) {
		u32 last = conn->client ? conn->next_id : conn->max_id;

		return rx->id <= last ? FASTRPC_WERR_NONE : FASTRPC_WERR_CALL_ID;
	}
	if (frpc_window_add(&call->tx_credit, inc))
		return FASTRPC_WERR_FLOW;
	frpc_call_tx_ready(call);
	frpc_conn_kick_async(conn);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_cancel(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct frpc_call *call;

	if (conn->client || rx->len)
		return FASTRPC_WERR_PROTOCOL;
	call = frpc_call_find(conn, rx->id);
	if (!call)
		/* answered while the CANCEL was on its way */
		return rx->id && rx->id <= conn->max_id ? FASTRPC_WERR_NONE :
							  FASTRPC_WERR_CALL_ID;
	atomic64_inc(&conn->fn->calls_cancelled);
	frpc_call_cancel_server(call, &rx->reap);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_goaway(struct frpc_rx *rx)
{
	struct frpc_conn *conn = rx->conn;
	struct fastrpc_wire_error ge;
	struct frpc_call *call;
	struct hlist_node *n;
	int bkt;

	if (rx->id || rx->len != sizeof(ge) || frpc_pull(rx, &ge, sizeof(ge)))
		return FASTRPC_WERR_PROTOCOL;
	if (!conn->client)
		return FASTRPC_WERR_NONE;	/* a client promises no more calls */
	if (conn->state == FRPC_CONN_READY)
		conn->state = FRPC_CONN_DRAINING;
	/* calls the server never saw may be retried: end them now */
	hash_for_each_safe(conn->calls, bkt, n, call, conn_node)
		if (call->id > be32_to_cpu(ge.last_id))
			frpc_call_finish(call, FASTRPC_UNAVAILABLE, &rx->reap);
	return FASTRPC_WERR_NONE;
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
		return FRPC_WERR_PEER;
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

static void frpc_rcv_msg(struct strparser *strp, struct sk_buff *skb)
{
	struct frpc_conn *conn = container_of(strp, struct frpc_conn, strp);
	struct strp_msg *stm = strp_msg(skb);
	struct fastrpc_frame_hdr hdr;
	struct frpc_skb_cb *cb;
	struct frpc_rx rx = { .conn = conn, .skb = skb };
	u32 queued;
	u8 werr;

	frpc_reap_init(&rx.reap);
	if (skb_copy_bits(skb, stm->offset, &hdr, sizeof(hdr))) {
		kfree_skb(skb);
		werr = FASTRPC_WERR_PROTOCOL;
		goto fail;
	}
	/* strparser is done with its cb: keep where the payload is */
	cb = frpc_skb_cb(skb);
	cb->off = stm->offset + FASTRPC_FRAME_HDR_LEN;
	cb->len = be32_to_cpu(hdr.length);
	rx.id = be32_to_cpu(hdr.call_id);
	rx.len = cb->len;
	rx.flags = be16_to_cpu(hdr.flags);

	spin_lock_bh(&conn->lock);
	queued = conn->ctrl_bytes;
	conn->last_rx = jiffies;
	werr = frpc_rx_frame(&rx, hdr.type);
	queued = conn->ctrl_bytes != queued;
	if (!werr && conn->ctrl_overflow)
		werr = FASTRPC_WERR_RESOURCE;
	spin_unlock_bh(&conn->lock);

	kfree_skb(rx.skb);	/* unless a message kept it */
	frpc_reap(&rx.reap);
	if (queued)
		frpc_conn_kick_async(conn);
	if (!werr)
		return;
fail:
	strp_pause(strp);
	strp_stop(strp);
	frpc_conn_fail(conn, -EPROTO, werr == FRPC_WERR_PEER ? 0 : werr);
}

static void frpc_abort_parser(struct strparser *strp, int err)
{
	struct frpc_conn *conn = container_of(strp, struct frpc_conn, strp);
	u8 werr = READ_ONCE(conn->werr);

	strp_stop(strp);
	frpc_conn_fail(conn, err == -EMSGSIZE ? -EMSGSIZE : -EPROTO,
		       werr ? werr : FASTRPC_WERR_PROTOCOL);
}

const struct strp_callbacks frpc_strp_cb = {
	.parse_msg	= frpc_parse_msg,
	.rcv_msg	= frpc_rcv_msg,
	.abort_parser	= frpc_abort_parser,
};
