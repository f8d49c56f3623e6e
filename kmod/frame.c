// SPDX-License-Identifier: GPL-2.0-only
/*
 * The wire: building frames, cutting them out of the TCP stream with
 * strparser, and acting on each received frame.
 *
 * Everything read from the peer is checked here before it is used; a frame
 * that breaks the protocol fails the connection with an ERROR frame.
 */
#include <linux/vmalloc.h>
#include <linux/slab.h>

#include "frpc.h"

static_assert(sizeof(struct fastrpc_frame_hdr) == FASTRPC_FRAME_HDR_LEN);
static_assert(sizeof(struct fastrpc_wire_hello) == 24);
static_assert(sizeof(struct fastrpc_wire_call) == 16);
static_assert(sizeof(struct fastrpc_wire_end) == 8);

struct frpc_txbuf *frpc_txbuf_alloc(u32 len, gfp_t gfp)
{
	struct frpc_txbuf *buf;

	buf = kvmalloc(struct_size(buf, data, len), gfp);
	if (!buf)
		return NULL;
	buf->len = len;
	buf->off = 0;
	return buf;
}

static void frpc_put_hdr(u8 *out, u8 version, u8 type, u16 flags, u32 call_id,
			 u32 length)
{
	struct fastrpc_frame_hdr hdr = {
		.version = version,
		.type = type,
		.flags = cpu_to_be16(flags),
		.call_id = cpu_to_be32(call_id),
		.length = cpu_to_be32(length),
	};

	memcpy(out, &hdr, sizeof(hdr));
}

/*
 * Lay out one message as frames.  The message head (CALL or END payload
 * head) goes in the first frame for requests and in the last for replies,
 * so that END always closes a reply.  With @out NULL only the wire length
 * is computed.
 */
static int frpc_lay_msg(u8 *out, u8 head_type, bool head_last, u32 call_id,
			const void *head, u32 head_len, struct iov_iter *from,
			u32 len, u8 version)
{
	u32 wire = 0, left = len;
	bool first = true;

	for (;;) {
		bool is_head, last;
		u32 chunk, plen;
		u8 type;

		if (head_last) {
			is_head = left <= FASTRPC_MAX_FRAME - head_len;
			chunk = is_head ? left : min_t(u32, left, FASTRPC_MAX_FRAME);
		} else {
			is_head = first;
			chunk = min_t(u32, left, FASTRPC_MAX_FRAME - (is_head ? head_len : 0));
		}
		last = head_last ? is_head : chunk == left;
		type = is_head ? head_type : FASTRPC_FRAME_DATA;
		plen = chunk + (is_head ? head_len : 0);

		if (out) {
			u8 *p = out + wire + FASTRPC_FRAME_HDR_LEN;

			frpc_put_hdr(out + wire, version, type,
				     last ? FASTRPC_FF_EOM : 0, call_id, plen);
			if (is_head) {
				memcpy(p, head, head_len);
				p += head_len;
			}
			if (chunk && copy_from_iter(p, chunk, from) != chunk)
				return -EFAULT;
		}
		wire += FASTRPC_FRAME_HDR_LEN + plen;
		left -= chunk;
		first = false;
		if (last)
			return wire;
	}
}

/*
 * Build a whole message into a new txbuf: a request (CALL, DATA...) when
 * @head_type is CALL, a reply (DATA..., END) when it is END.
 */
struct frpc_txbuf *frpc_build_msg(u8 head_type, u32 call_id, const void *head,
				  u32 head_len, struct iov_iter *from, u32 len,
				  u8 version)
{
	bool head_last = head_type == FASTRPC_FRAME_END;
	struct frpc_txbuf *buf;
	int wire, err;

	wire = frpc_lay_msg(NULL, head_type, head_last, 0, NULL, head_len,
			    NULL, len, version);
	buf = frpc_txbuf_alloc(wire, GFP_KERNEL);
	if (!buf)
		return ERR_PTR(-ENOMEM);
	err = frpc_lay_msg(buf->data, head_type, head_last, call_id, head,
			   head_len, from, len, version);
	if (err < 0) {
		kvfree(buf);
		return ERR_PTR(err);
	}
	return buf;
}

/* Set the call id of every frame of a built message. */
void frpc_txbuf_set_id(struct frpc_txbuf *buf, u32 call_id)
{
	u32 off = 0;

	while (off + FASTRPC_FRAME_HDR_LEN <= buf->len) {
		struct fastrpc_frame_hdr *hdr = (void *)(buf->data + off);

		hdr->call_id = cpu_to_be32(call_id);
		off += FASTRPC_FRAME_HDR_LEN + be32_to_cpu(hdr->length);
	}
}

struct frpc_txbuf *frpc_build_ctrl(u8 version, u8 type, u32 call_id,
				   const void *payload, u32 len, gfp_t gfp)
{
	struct frpc_txbuf *buf;

	buf = frpc_txbuf_alloc(FASTRPC_FRAME_HDR_LEN + len, gfp);
	if (!buf)
		return NULL;
	frpc_put_hdr(buf->data, version, type, 0, call_id, len);
	memcpy(buf->data + FASTRPC_FRAME_HDR_LEN, payload, len);
	return buf;
}

struct frpc_txbuf *frpc_build_hello(u8 min_version, u8 max_version, gfp_t gfp)
{
	struct fastrpc_wire_hello hello = {
		.magic = cpu_to_be32(FASTRPC_HELLO_MAGIC),
		.min_version = min_version,
		.max_version = max_version,
		.max_frame = cpu_to_be32(FASTRPC_MAX_FRAME),
		.max_msg = cpu_to_be32(FASTRPC_MAX_MSG),
	};

	return frpc_build_ctrl(max_version, FASTRPC_FRAME_HELLO, 0, &hello,
			       sizeof(hello), gfp);
}

/* Queue an END frame with no data; the caller holds conn->lock. */
int frpc_queue_end(struct frpc_conn *conn, u32 id, u32 status, gfp_t gfp)
{
	struct fastrpc_wire_end end = { .status = cpu_to_be32(status) };
	struct frpc_txbuf *buf;

	lockdep_assert_held(&conn->lock);
	buf = frpc_build_ctrl(conn->version, FASTRPC_FRAME_END, id, &end,
			      sizeof(end), gfp);
	if (!buf)
		return -ENOMEM;
	/* END always closes a message */
	((struct fastrpc_frame_hdr *)buf->data)->flags = cpu_to_be16(FASTRPC_FF_EOM);
	__frpc_conn_queue(conn, buf);
	return 0;
}

/* Header checks that need no connection state beyond the version. */
static int frpc_hdr_check(const struct fastrpc_frame_hdr *hdr, u8 version,
			  u8 *werr)
{
	u16 flags = be16_to_cpu(hdr->flags);

	*werr = FASTRPC_WERR_PROTOCOL;
	if (hdr->type == 0 || hdr->type > FASTRPC_FRAME_TYPE_MAX)
		return -EPROTO;
	if (flags & ~FASTRPC_FF_ALL)
		return -EPROTO;
	if (hdr->type == FASTRPC_FRAME_HELLO) {
		if (hdr->version == 0)
			return -EPROTO;
	} else if (hdr->version != version) {
		/* version is 0 until HELLO is done: nothing else may come first */
		return -EPROTO;
	}
	if (be32_to_cpu(hdr->length) > FASTRPC_MAX_FRAME) {
		*werr = FASTRPC_WERR_FRAME_SIZE;
		return -EMSGSIZE;
	}
	*werr = FASTRPC_WERR_NONE;
	return 0;
}

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

/* Copy a fixed-size head from the front of a frame's payload. */
static int frpc_pull_head(struct sk_buff *skb, void *to, u32 len)
{
	struct frpc_skb_cb *cb = frpc_skb_cb(skb);

	if (cb->len < len || skb_copy_bits(skb, cb->off, to, len))
		return -EPROTO;
	cb->off += len;
	cb->len -= len;
	return 0;
}

static int frpc_rx_hello(struct frpc_conn *conn, struct sk_buff *skb)
{
	struct fastrpc_wire_hello hello;
	u8 lo, hi;

	if (conn->state != FRPC_CONN_HELLO ||
	    frpc_skb_cb(skb)->len != sizeof(hello) ||
	    frpc_pull_head(skb, &hello, sizeof(hello)) ||
	    be32_to_cpu(hello.magic) != FASTRPC_HELLO_MAGIC ||
	    hello.min_version > hello.max_version)
		return FASTRPC_WERR_PROTOCOL;

	lo = max_t(u8, hello.min_version, FASTRPC_PROTO_MIN);
	hi = min_t(u8, hello.max_version, FASTRPC_PROTO_MAX);
	if (lo > hi)
		return FASTRPC_WERR_VERSION;
	/* the accepting side must pick exactly one version */
	if (conn->client && hello.min_version != hello.max_version)
		return FASTRPC_WERR_PROTOCOL;

	if (!conn->client) {
		struct frpc_txbuf *buf = frpc_build_hello(hi, hi, GFP_ATOMIC);

		if (!buf)
			return FASTRPC_WERR_RESOURCE;
		__frpc_conn_queue(conn, buf);
	}
	WRITE_ONCE(conn->version, hi);
	conn->state = FRPC_CONN_READY;
	wake_up_all(&conn->wait);
	return FASTRPC_WERR_NONE;
}

/* A reply frame for a call this client no longer has: cancelled or closed. */
static u8 frpc_rx_unknown(struct frpc_conn *conn, u32 id)
{
	if (id == 0 || id > conn->next_id)
		return FASTRPC_WERR_CALL_ID;
	atomic64_inc(&conn->fn->late_replies);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_call(struct frpc_conn *conn, u32 id, u16 flags,
		       struct sk_buff *skb, struct frpc_call **done)
{
	struct fastrpc_wire_call wc;
	struct frpc_call *call;

	if (conn->client)
		return FASTRPC_WERR_PROTOCOL;
	if (id == 0 || id <= conn->max_id)
		return FASTRPC_WERR_CALL_ID;
	if (frpc_pull_head(skb, &wc, sizeof(wc)) || wc.flags)
		return FASTRPC_WERR_PROTOCOL;
	if (conn->ncalls >= FRPC_CONN_MAX_CALLS)
		return FASTRPC_WERR_RESOURCE;
	call = frpc_call_alloc(conn, GFP_ATOMIC);
	if (!call)
		return FASTRPC_WERR_RESOURCE;
	conn->max_id = id;
	call->id = id;
	call->method = be32_to_cpu(wc.method);
	frpc_call_link(conn, call);
	frpc_call_add_frag(call, skb);
	if (flags & FASTRPC_FF_EOM)
		*done = frpc_server_deliver(conn, call);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_data(struct frpc_conn *conn, u32 id, u16 flags,
		       struct sk_buff *skb, struct frpc_call **done)
{
	struct frpc_call *call = frpc_call_find(conn, id);

	if (!call) {
		kfree_skb(skb);
		return conn->client ? frpc_rx_unknown(conn, id) :
				      FASTRPC_WERR_CALL_ID;
	}
	/* a reply ends with END; a request's data ends at EOM */
	if (conn->client ? flags & FASTRPC_FF_EOM :
			   call->state != FRPC_CALL_OPEN) {
		kfree_skb(skb);
		return FASTRPC_WERR_PROTOCOL;
	}
	if (call->len + frpc_skb_cb(skb)->len > FASTRPC_MAX_MSG) {
		kfree_skb(skb);
		return FASTRPC_WERR_FRAME_SIZE;
	}
	frpc_call_add_frag(call, skb);
	if (!conn->client && (flags & FASTRPC_FF_EOM))
		*done = frpc_server_deliver(conn, call);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_end(struct frpc_conn *conn, u32 id, u16 flags,
		      struct sk_buff *skb)
{
	struct fastrpc_wire_end we;
	struct frpc_call *call;

	if (!conn->client || !(flags & FASTRPC_FF_EOM) ||
	    frpc_pull_head(skb, &we, sizeof(we))) {
		kfree_skb(skb);
		return FASTRPC_WERR_PROTOCOL;
	}
	call = frpc_call_find(conn, id);
	if (!call) {
		kfree_skb(skb);
		return frpc_rx_unknown(conn, id);
	}
	if (call->len + frpc_skb_cb(skb)->len > FASTRPC_MAX_MSG) {
		kfree_skb(skb);
		return FASTRPC_WERR_FRAME_SIZE;
	}
	call->status = be32_to_cpu(we.status);
	if (call->status > FASTRPC_STATUS_MAX)
		call->status = FASTRPC_UNKNOWN;
	frpc_call_add_frag(call, skb);
	frpc_call_unlink(call);
	atomic64_inc(&conn->fn->calls_completed);
	frpc_sock_deliver(call->fs, call);
	return FASTRPC_WERR_NONE;
}

static u8 frpc_rx_cancel(struct frpc_conn *conn, u32 id, u32 len,
			 struct frpc_call **done)
{
	struct frpc_call *call;

	if (conn->client || len)
		return FASTRPC_WERR_PROTOCOL;
	call = frpc_call_find(conn, id);
	if (!call)
		/* the call may have been answered while CANCEL was in flight */
		return id && id <= conn->max_id ? FASTRPC_WERR_NONE :
						  FASTRPC_WERR_CALL_ID;
	frpc_server_forget(conn, call);
	*done = call;
	return FASTRPC_WERR_NONE;
}

/* Act on one frame; the caller holds conn->lock.  Consumes @skb. */
static u8 frpc_rx_frame(struct frpc_conn *conn, const struct fastrpc_frame_hdr *hdr,
			struct sk_buff *skb, struct frpc_call **done)
{
	u32 id = be32_to_cpu(hdr->call_id);
	u32 len = be32_to_cpu(hdr->length);
	u16 flags = be16_to_cpu(hdr->flags);
	u8 buf[8], werr = FASTRPC_WERR_NONE;
	struct frpc_txbuf *pong;

	lockdep_assert_held(&conn->lock);
	if (conn->state == FRPC_CONN_DEAD) {
		kfree_skb(skb);
		return FASTRPC_WERR_NONE;
	}
	if (hdr->type == FASTRPC_FRAME_HELLO) {
		werr = frpc_rx_hello(conn, skb);
		kfree_skb(skb);
		return werr;
	}
	if (conn->state != FRPC_CONN_READY) {
		kfree_skb(skb);
		return FASTRPC_WERR_PROTOCOL;
	}

	switch (hdr->type) {
	case FASTRPC_FRAME_CALL:
		werr = frpc_rx_call(conn, id, flags, skb, done);
		if (werr)
			kfree_skb(skb);
		return werr;
	case FASTRPC_FRAME_DATA:
		return frpc_rx_data(conn, id, flags, skb, done);
	case FASTRPC_FRAME_END:
		return frpc_rx_end(conn, id, flags, skb);
	case FASTRPC_FRAME_CANCEL:
		werr = frpc_rx_cancel(conn, id, len, done);
		break;
	case FASTRPC_FRAME_PING:
		if (id || len != sizeof(buf) || frpc_pull_head(skb, buf, len)) {
			werr = FASTRPC_WERR_PROTOCOL;
			break;
		}
		pong = frpc_build_ctrl(conn->version, FASTRPC_FRAME_PONG, 0,
				       buf, len, GFP_ATOMIC);
		if (pong)
			__frpc_conn_queue(conn, pong);
		break;
	case FASTRPC_FRAME_PONG:
	case FASTRPC_FRAME_GOAWAY:
		/* keepalive and draining are not used by v1 of this module */
		if (id || len != 8)
			werr = FASTRPC_WERR_PROTOCOL;
		break;
	case FASTRPC_FRAME_ERROR:
		/* the peer gave up on us: close without answering */
		kfree_skb(skb);
		return FRPC_WERR_PEER;
	default:
		/* SETTINGS and CREDIT are reserved: length-checked, ignored */
		if (id)
			werr = FASTRPC_WERR_PROTOCOL;
		break;
	}
	kfree_skb(skb);
	return werr;
}

static void frpc_rcv_msg(struct strparser *strp, struct sk_buff *skb)
{
	struct frpc_conn *conn = container_of(strp, struct frpc_conn, strp);
	struct strp_msg *stm = strp_msg(skb);
	struct fastrpc_frame_hdr hdr;
	struct frpc_call *done = NULL;
	struct frpc_skb_cb *cb;
	u32 queued;
	u8 werr;

	if (skb_copy_bits(skb, stm->offset, &hdr, sizeof(hdr))) {
		kfree_skb(skb);
		werr = FASTRPC_WERR_PROTOCOL;
		goto fail;
	}
	/* strparser is done with its cb; keep where the payload starts */
	cb = frpc_skb_cb(skb);
	cb->off = stm->offset + FASTRPC_FRAME_HDR_LEN;
	cb->len = be32_to_cpu(hdr.length);

	spin_lock_bh(&conn->lock);
	queued = conn->tx_queued;
	werr = frpc_rx_frame(conn, &hdr, skb, &done);
	queued = conn->tx_queued != queued;
	spin_unlock_bh(&conn->lock);

	if (done)
		frpc_call_free(done);
	/* HELLO, PONG or a refusal was queued: send it from process context */
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
