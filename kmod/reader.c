// SPDX-License-Identifier: GPL-2.0-only
/*
 * The frame reader: cuts frames out of a byte stream handed over one skb
 * range at a time (by tcp_read_sock(), or by KUnit).
 *
 * A frame whose payload lies whole in the skb at hand is passed on as a
 * view of that skb, with no copy and no clone: control frames and heads
 * are parsed in place, and the receive side decides what to keep.  Only a
 * frame that spans skbs is gathered, as a chain (frag_list) of pieces:
 * a piece that is a good part of its skb shares that skb's pages
 * (pskb_extract(), no copy of the bytes); smaller pieces are copied into
 * a buffer of our own sized for the rest of the frame, so a dribble of
 * tiny pieces costs one allocation (page frags above FRPC_RX_LINEAR_MAX,
 * so no high-order allocation in softirq).
 *
 * The same-host short cut hands small writes over as a linear buffer of
 * its own: frames that lie whole in it are passed on as views of that
 * buffer (frpc_reader_feed_buf()), with no skb at all; anything else
 * takes the skb path.
 *
 * Each pass delivers at most @budget frames and then stops mid-stream, so
 * that a peer's backlog is worked through in bounded steps with room to
 * yield between them.  A frame the header check refuses, or a refusal from
 * the receive side, stops the reader for good (@dead) with the ERROR code
 * to send.  Everything here runs under the stream's lock: the TCP socket's,
 * owned or BH-locked.
 */
#include <linux/highmem.h>
#include <linux/skbuff.h>

#include "frpc.h"
#include "reader.h"
#include "wire.h"

/* Copy @len bytes at @off of @src to @dst at @dst_off; @dst may be paged. */
int frpc_skb_fill(struct sk_buff *dst, u32 dst_off, const struct sk_buff *src,
		  u32 off, u32 len)
{
	u32 head = skb_headlen(dst);
	int i, err;

	if (dst_off < head) {
		u32 k = min(len, head - dst_off);

		err = skb_copy_bits(src, off, dst->data + dst_off, k);
		if (err)
			return err;
		off += k;
		len -= k;
		dst_off = 0;
	} else {
		dst_off -= head;
	}
	for (i = 0; len && i < skb_shinfo(dst)->nr_frags; i++) {
		const skb_frag_t *frag = &skb_shinfo(dst)->frags[i];
		u32 size = skb_frag_size(frag), k;
		u8 *vaddr;

		if (dst_off >= size) {
			dst_off -= size;
			continue;
		}
		k = min(len, size - dst_off);
		/* order-0 pages: one mapping covers the piece */
		vaddr = kmap_local_page(skb_frag_page(frag));
		err = skb_copy_bits(src, off, vaddr + skb_frag_off(frag) + dst_off,
				    k);
		kunmap_local(vaddr);
		if (err)
			return err;
		off += k;
		len -= k;
		dst_off = 0;
	}
	return len ? -EFAULT : 0;
}

/* An skb for @len bytes of payload, charged to the active memcg. */
struct sk_buff *frpc_skb_alloc(u32 len, gfp_t gfp)
{
	struct sk_buff *skb;
	int err;

	if (len <= FRPC_RX_LINEAR_MAX) {
		skb = alloc_skb(len, gfp | __GFP_ACCOUNT | __GFP_NOWARN);
		if (skb)
			skb_put(skb, len);
		return skb;
	}
	skb = alloc_skb_with_frags(0, len, 0, &err,
				   gfp | __GFP_ACCOUNT | __GFP_NOWARN);
	if (skb) {
		/* the frags are filled; the lengths are the caller's to set */
		skb->len = len;
		skb->data_len = len;
	}
	return skb;
}

void frpc_reader_init(struct frpc_reader *r, frpc_frame_fn fn, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->frame = fn;
	r->ctx = ctx;
}

void frpc_reader_reset(struct frpc_reader *r)
{
	kfree_skb(r->gather);	/* and its frag_list */
	r->gather = NULL;
	r->last = NULL;
	r->copy = NULL;
	r->hdr_len = 0;
	r->need = 0;
}

/* Hang @piece, holding @len of the frame's bytes, on the gathered frame. */
static void frpc_reader_chain(struct frpc_reader *r, struct sk_buff *piece,
			      u32 len)
{
	struct sk_buff *g = r->gather;

	if (r->last)
		r->last->next = piece;
	else
		skb_shinfo(g)->frag_list = piece;
	r->last = piece;
	g->len += len;
	g->data_len += len;
	g->truesize += piece->truesize;
}

/* The copy buffer takes no more bytes: cut it to what it holds. */
static int frpc_reader_copy_done(struct frpc_reader *r)
{
	struct sk_buff *c = r->copy;
	u32 spare;

	if (!c)
		return 0;
	r->copy = NULL;
	spare = c->len - r->copy_used;
	if (!spare)
		return 0;
	r->gather->len -= spare;
	r->gather->data_len -= spare;
	return pskb_trim(c, r->copy_used);
}

/*
 * Add bytes [@off, @off + @len) of @skb to the frame being gathered, by
 * reference where they are a good part of the skb (as frpc_rx_keep()
 * would clone them), else by copy.
 */
static int frpc_reader_gather(struct frpc_reader *r, struct sk_buff *skb,
			      u32 off, u32 len)
{
	const gfp_t gfp = GFP_ATOMIC | __GFP_ACCOUNT | __GFP_NOWARN;
	struct sk_buff *piece;

	if (len >= FRPC_RX_CLONE_MIN &&
	    skb->truesize <= 4 * SKB_TRUESIZE(len)) {
		if (frpc_reader_copy_done(r))
			return -ENOMEM;
		piece = pskb_extract(skb, off, len, gfp);
		if (!piece)
			return -ENOMEM;
		frpc_reader_chain(r, piece, len);
		return 0;
	}
	if (!r->copy) {
		/* room for the rest of the frame: later pieces fill it */
		piece = frpc_skb_alloc(r->need, GFP_ATOMIC);
		if (!piece)
			return -ENOMEM;
		frpc_reader_chain(r, piece, piece->len);
		r->copy = piece;
		r->copy_used = 0;
	}
	if (frpc_skb_fill(r->copy, r->copy_used, skb, off, len))
		return -EFAULT;
	r->copy_used += len;
	return 0;
}

/* Refuse everything from now on, with ERROR code @werr. */
void frpc_reader_stop(struct frpc_reader *r, u8 werr)
{
	r->dead = true;
	r->werr = werr;
	frpc_reader_reset(r);
}

/*
 * Hand one whole frame on; false if the reader must stop.  Inlined in
 * its three callers, as gcc did before it counted bytes for netlink.c:
 * it is on every frame's path.
 */
static __always_inline bool frpc_reader_deliver(struct frpc_reader *r,
						struct sk_buff *skb,
						const u8 *buf, u32 off,
						u32 len, bool owned)
{
	const struct fastrpc_frame_hdr *hdr = (const void *)r->hdr;
	u8 werr;

	r->hdr_len = 0;
	r->budget--;
	r->frames++;
	r->bytes += FASTRPC_FRAME_HDR_LEN + len;
	werr = r->frame(r->ctx, hdr, skb, buf, off, len, owned);
	if (werr) {
		frpc_reader_stop(r, werr);
		return false;
	}
	return true;
}

/*
 * Take bytes [@off, @off + @len) of @skb.  Returns how many were used:
 * fewer than @len when the pass's budget ran out or the reader stopped.
 */
u32 frpc_reader_feed(struct frpc_reader *r, struct sk_buff *skb, u32 off,
		     u32 len)
{
	u32 used = 0;

	while (used < len && !r->dead && r->budget) {
		const struct fastrpc_frame_hdr *hdr = (const void *)r->hdr;
		u32 n, plen;
		u8 werr;
		int err;

		if (r->hdr_len < FASTRPC_FRAME_HDR_LEN) {
			n = min_t(u32, len - used,
				  FASTRPC_FRAME_HDR_LEN - r->hdr_len);
			/* a whole header, nearly always: a fixed-size copy */
			if (n == FASTRPC_FRAME_HDR_LEN ?
			    frpc_skb_bits(skb, off + used, r->hdr,
					  FASTRPC_FRAME_HDR_LEN) :
			    frpc_skb_bits(skb, off + used, r->hdr + r->hdr_len,
					  n)) {
				frpc_reader_stop(r, FASTRPC_WERR_PROTOCOL);
				break;
			}
			r->hdr_len += n;
			used += n;
			if (r->hdr_len < FASTRPC_FRAME_HDR_LEN)
				break;
			if (frpc_hdr_check(hdr, r->version, &werr)) {
				frpc_reader_stop(r, werr);
				break;
			}
			plen = be32_to_cpu(hdr->length);
			/* the common case: parse in place, no copy */
			if (plen <= len - used) {
				if (!frpc_reader_deliver(r, skb, NULL,
							 off + used, plen,
							 false))
					break;
				used += plen;
				continue;
			}
			r->gather = alloc_skb(0, GFP_ATOMIC | __GFP_ACCOUNT |
						 __GFP_NOWARN);
			if (!r->gather) {
				frpc_reader_stop(r, FASTRPC_WERR_RESOURCE);
				break;
			}
			r->need = plen;
		}
		plen = be32_to_cpu(hdr->length);
		n = min(len - used, r->need);
		if (!n)
			break;	/* the header ended with the skb */
		err = frpc_reader_gather(r, skb, off + used, n);
		if (err) {
			frpc_reader_stop(r, err == -EFAULT ?
					 FASTRPC_WERR_PROTOCOL :
					 FASTRPC_WERR_RESOURCE);
			break;
		}
		r->need -= n;
		used += n;
		if (!r->need) {
			struct sk_buff *frame = r->gather;

			if (frpc_reader_copy_done(r)) {
				frpc_reader_stop(r, FASTRPC_WERR_RESOURCE);
				break;
			}
			r->gather = NULL;
			r->last = NULL;
			if (!frpc_reader_deliver(r, frame, NULL, 0, plen,
						 true))
				break;
		}
	}
	return used;
}

/*
 * Take whole frames from @len bytes at @buf, a linear buffer of the
 * caller's (the short cut's), each handed on as a view of the buffer: no
 * skb, no copy.  Only at a frame boundary, and only frames that lie whole
 * in @buf: the reader mid-frame, or the rest of @buf not a whole frame,
 * and it stops there, leaving those bytes (and its own state) as they
 * were for frpc_reader_feed() in an skb.  Returns how many bytes were
 * used: fewer than @len also when the pass's budget ran out or the reader
 * stopped.
 */
u32 frpc_reader_feed_buf(struct frpc_reader *r, const u8 *buf, u32 len)
{
	const struct fastrpc_frame_hdr *hdr = (const void *)r->hdr;
	u32 used = 0, plen;
	u8 werr;

	if (r->hdr_len || r->gather)
		return 0;
	while (len - used >= FASTRPC_FRAME_HDR_LEN && !r->dead && r->budget) {
		/* hdr_len stays 0: a frame not whole here was never read */
		memcpy(r->hdr, buf + used, FASTRPC_FRAME_HDR_LEN);
		if (frpc_hdr_check(hdr, r->version, &werr)) {
			frpc_reader_stop(r, werr);
			used += FASTRPC_FRAME_HDR_LEN;
			break;
		}
		plen = be32_to_cpu(hdr->length);
		if (plen > len - used - FASTRPC_FRAME_HDR_LEN)
			break;
		used += FASTRPC_FRAME_HDR_LEN;
		if (!frpc_reader_deliver(r, NULL, buf, used, plen, false))
			break;
		used += plen;
	}
	return used;
}
