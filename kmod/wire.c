// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wire encoding and the checks that need no connection state: frame
 * headers, HELLO negotiation, metadata framing and window arithmetic.
 * Kept free of locks and sockets so that KUnit can test every branch.
 */
#include <linux/kernel.h>
#include <linux/overflow.h>
#include <linux/string.h>

#include "frpc.h"
#include "wire.h"

static_assert(sizeof(struct fastrpc_frame_hdr) == FASTRPC_FRAME_HDR_LEN);
static_assert(sizeof(struct fastrpc_wire_hello) == 32);
static_assert(sizeof(struct fastrpc_wire_call) == 16);
static_assert(sizeof(struct fastrpc_wire_end) == 8);
static_assert(sizeof(struct fastrpc_meta_entry) == 4);

/*
 * Check a received frame header.  @version is the negotiated version, 0
 * before HELLO, when nothing but HELLO may arrive.  Returns 0 or a negative
 * errno with the ERROR code to send in @werr.
 */
int frpc_hdr_check(const struct fastrpc_frame_hdr *hdr, u8 version, u8 *werr)
{
	u16 flags = be16_to_cpu(hdr->flags);

	*werr = FASTRPC_WERR_PROTOCOL;
	if (hdr->type == 0 || hdr->type > FASTRPC_FRAME_TYPE_MAX)
		return -EPROTO;
	if (flags & ~FASTRPC_FF_ALL)
		return -EPROTO;
	if ((flags & FASTRPC_FF_DEADLINE) && hdr->type != FASTRPC_FRAME_CANCEL)
		return -EPROTO;
	if (hdr->type == FASTRPC_FRAME_HELLO ||
	    (hdr->type == FASTRPC_FRAME_ERROR && !version)) {
		/* HELLO carries the version offered; a peer refusing ours
		 * answers ERROR before any version is agreed
		 */
		if (hdr->version == 0)
			return -EPROTO;
	} else if (!version || hdr->version != version) {
		return -EPROTO;
	}
	if (be32_to_cpu(hdr->length) > FASTRPC_MAX_FRAME) {
		*werr = FASTRPC_WERR_FRAME_SIZE;
		return -EMSGSIZE;
	}
	*werr = FASTRPC_WERR_NONE;
	return 0;
}

void frpc_put_hdr(u8 *out, u8 version, u8 type, u16 flags, u32 call_id,
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

void frpc_hello_init(struct fastrpc_wire_hello *h, u8 min_version,
		     u8 max_version)
{
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_be32(FASTRPC_HELLO_MAGIC);
	h->min_version = min_version;
	h->max_version = max_version;
	h->max_frame = cpu_to_be32(FASTRPC_MAX_FRAME);
	h->max_msg = cpu_to_be32(FASTRPC_MAX_MSG);
	h->call_window = cpu_to_be32(FRPC_CALL_WINDOW);
	h->conn_window = cpu_to_be32(FRPC_CONN_WINDOW);
	h->features = cpu_to_be64(FASTRPC_HELLO_F_CANCEL_DEADLINE);
}

/*
 * Check a peer's HELLO and pick the version.  The accepting side answers
 * with exactly one version, so a HELLO from a server must name one.
 * Returns FASTRPC_WERR_NONE and the version, or the ERROR code.
 */
u8 frpc_hello_check(const struct fastrpc_wire_hello *h, bool from_server,
		    u8 *version)
{
	u8 lo, hi;

	if (be32_to_cpu(h->magic) != FASTRPC_HELLO_MAGIC ||
	    h->min_version > h->max_version || h->reserved)
		return FASTRPC_WERR_PROTOCOL;
	/* we send whole messages: the peer must take our largest */
	if (be32_to_cpu(h->max_frame) < FASTRPC_MAX_FRAME ||
	    be32_to_cpu(h->max_msg) < FASTRPC_MAX_MSG)
		return FASTRPC_WERR_FRAME_SIZE;
	if (be32_to_cpu(h->call_window) < FASTRPC_MIN_CALL_WINDOW ||
	    be32_to_cpu(h->call_window) > FRPC_WINDOW_MAX ||
	    be32_to_cpu(h->conn_window) < FASTRPC_MIN_CONN_WINDOW ||
	    be32_to_cpu(h->conn_window) > FRPC_WINDOW_MAX)
		return FASTRPC_WERR_FLOW;
	lo = max_t(u8, h->min_version, FASTRPC_PROTO_MIN);
	hi = min_t(u8, h->max_version, FASTRPC_PROTO_MAX);
	if (lo > hi)
		return FASTRPC_WERR_VERSION;
	if (from_server && h->min_version != h->max_version)
		return FASTRPC_WERR_PROTOCOL;
	*version = hi;
	return FASTRPC_WERR_NONE;
}

/* Check the framing of a metadata block; 0 or -EINVAL. */
int frpc_meta_check(const u8 *meta, u32 len)
{
	u32 off = 0;

	if (len > FASTRPC_MAX_METADATA)
		return -EINVAL;
	while (off < len) {
		struct fastrpc_meta_entry e;

		if (len - off < sizeof(e))
			return -EINVAL;
		memcpy(&e, meta + off, sizeof(e));
		off += sizeof(e);
		if (!e.key_len || e.reserved ||
		    len - off < (u32)e.key_len + be16_to_cpu(e.value_len))
			return -EINVAL;
		off += e.key_len + be16_to_cpu(e.value_len);
	}
	return 0;
}

/* Grow a window by a peer's CREDIT; -EOVERFLOW past FRPC_WINDOW_MAX. */
int frpc_window_add(u32 *window, u32 increment)
{
	u32 sum;

	if (!increment)
		return -EINVAL;
	if (check_add_overflow(*window, increment, &sum) ||
	    sum > FRPC_WINDOW_MAX)
		return -EOVERFLOW;
	*window = sum;
	return 0;
}

/* Use @len bytes of a receive window; -ENOSPC if the peer overran it. */
int frpc_window_take(u32 *avail, u32 len)
{
	if (len > *avail)
		return -ENOSPC;
	*avail -= len;
	return 0;
}

/*
 * Account @consumed bytes given back by the application.  Credit goes back
 * in batches of a quarter window, so that a stream of small messages does
 * not cost a CREDIT frame each.  Returns the credit to send now, or 0.
 */
u32 frpc_credit_due(u32 *owed, u32 consumed, u32 window)
{
	u32 due;

	if (check_add_overflow(*owed, consumed, owed))
		*owed = U32_MAX;
	if (*owed < window / FRPC_CREDIT_BATCH_DIV)
		return 0;
	due = min_t(u32, *owed, FRPC_WINDOW_MAX);
	*owed -= due;
	return due;
}

/* Data bytes of one call that may go in the next frame. */
u32 frpc_frame_chunk(u32 left, u32 call_credit, u32 conn_credit)
{
	return min(min(left, (u32)FRPC_TX_QUANTUM),
		   min(call_credit, conn_credit));
}

/* A status from the wire: unknown values become UNKNOWN. */
u32 frpc_status_from_wire(u32 status)
{
	return status > FASTRPC_STATUS_MAX ? FASTRPC_UNKNOWN : status;
}
