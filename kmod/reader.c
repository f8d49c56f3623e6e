// SPDX-License-Identifier: GPL-2.0-only
/*
 * The frame reader: cuts frames out of a byte stream handed over one skb
 * range at a time (by tcp_read_sock(), or by KUnit).
 *
 * A frame whose payload lies whole in the skb at hand is passed on as a
 * view of that skb, with no copy and no clone: control frames and heads
 * are parsed in place, and the receive side decides what to keep.  Only a
 * frame that spans skbs is gathered, into an skb of our own (page frags
 * above FRPC_RX_LINEAR_MAX, so no high-order allocation in softirq).
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
	kfree_skb(r->gather);
	r->gather = NULL;
	r->hdr_len = 0;
	r->need = 0;
}

static void frpc_reader_stop(struct frpc_reader *r, u8 werr)
{
	r->dead = true;
	r->werr = werr;
	frpc_reader_reset(r);
}

/* Hand one whole frame on; false if the reader must stop. */
static bool frpc_reader_deliver(struct frpc_reader *r, struct sk_buff *skb,
				u32 off, u32 len, bool owned)
{
	const struct fastrpc_frame_hdr *hdr = (const void *)r->hdr;
	u8 werr;

	r->hdr_len = 0;
	r->budget--;
	r->frames++;
	werr = r->frame(r->ctx, hdr, skb, off, len, owned);
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

		if (r->hdr_len < FASTRPC_FRAME_HDR_LEN) {
			n = min_t(u32, len - used,
				  FASTRPC_FRAME_HDR_LEN - r->hdr_len);
			if (skb_copy_bits(skb, off + used, r->hdr + r->hdr_len,
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
				if (!frpc_reader_deliver(r, skb, off + used,
							 plen, false))
					break;
				used += plen;
				continue;
			}
			r->gather = frpc_skb_alloc(plen, GFP_ATOMIC);
			if (!r->gather) {
				frpc_reader_stop(r, FASTRPC_WERR_RESOURCE);
				break;
			}
			r->need = plen;
		}
		plen = be32_to_cpu(hdr->length);
		n = min(len - used, r->need);
		if (frpc_skb_fill(r->gather, plen - r->need, skb, off + used, n)) {
			frpc_reader_stop(r, FASTRPC_WERR_PROTOCOL);
			break;
		}
		r->need -= n;
		used += n;
		if (!r->need) {
			struct sk_buff *frame = r->gather;

			r->gather = NULL;
			if (!frpc_reader_deliver(r, frame, 0, plen, true))
				break;
		}
	}
	return used;
}
