/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * reader.c: the frame reader.  It cuts whole frames out of the TCP byte
 * stream (or the short cut's buffers) and hands each to a callback; KUnit
 * feeds it byte by byte.
 */
#ifndef _FRPC_READER_H
#define _FRPC_READER_H

#include <linux/skbuff.h>
#include <linux/fastrpc.h>

/*
 * reader.c: hands each whole frame to this; returns an ERROR code or 0.
 * The payload is @len bytes at @off of @skb, or, with @skb NULL, at
 * @buf + @off: a buffer that is the caller's, valid for this call only.
 */
typedef u8 (*frpc_frame_fn)(void *ctx, const struct fastrpc_frame_hdr *hdr,
			    struct sk_buff *skb, const u8 *buf, u32 off,
			    u32 len, bool owned);

/*
 * skb_copy_bits() for the few bytes of a header or a small payload: when
 * they lie in the skb's head or in one page fragment, as nearly every
 * frame's do, one memcpy().  skb_copy_bits() walks the fragments with a
 * kmap each, about 90 instructions a call against some 30 here, and a
 * call takes six such copies over TCP.  Anything else (highmem, a frag
 * list, bytes across fragments, fragments that are not pages, which
 * skb_frag_address() gives as NULL) takes skb_copy_bits().
 */
static __always_inline int frpc_skb_bits(const struct sk_buff *skb, u32 off,
					 void *to, u32 len)
{
	u32 hlen = skb_headlen(skb), pos;
	const skb_frag_t *f;
	void *from;
	int i;

	if (likely(off + len <= hlen)) {
		memcpy(to, skb->data + off, len);
		return 0;
	}
	if (IS_ENABLED(CONFIG_HIGHMEM) || off < hlen || skb_has_frag_list(skb))
		return skb_copy_bits(skb, off, to, len);
	pos = hlen;
	for (i = 0; i < skb_shinfo(skb)->nr_frags; i++) {
		f = &skb_shinfo(skb)->frags[i];
		if (off - pos < skb_frag_size(f)) {
			from = skb_frag_address(f);
			if (!from || off - pos + len > skb_frag_size(f))
				break;
			memcpy(to, from + (off - pos), len);
			return 0;
		}
		pos += skb_frag_size(f);
	}
	return skb_copy_bits(skb, off, to, len);
}

/* The frame reader's state; under the stream's lock. */
struct frpc_reader {
	u8			hdr[FASTRPC_FRAME_HDR_LEN];
	u8			hdr_len;	/* header bytes gathered */
	u8			version;	/* 0 until HELLO agreed one */
	bool			dead;		/* refused a frame: reads no more */
	u8			werr;		/* ... with this ERROR code */
	u32			need;		/* gathered frame: bytes to come */
	struct sk_buff		*gather;	/* a frame that spans skbs */
	struct sk_buff		*last;		/* ... its last piece */
	struct sk_buff		*copy;		/* ... a piece that copies */
	u32			copy_used;	/* ... bytes in it so far */
	u32			budget;		/* frames left in this pass */
	u64			frames;		/* delivered: tests, netlink.c */
	u64			bytes;		/* ... with their headers */
	frpc_frame_fn		frame;
	void			*ctx;
};

void frpc_reader_init(struct frpc_reader *r, frpc_frame_fn fn, void *ctx);
void frpc_reader_reset(struct frpc_reader *r);
void frpc_reader_stop(struct frpc_reader *r, u8 werr);
u32 frpc_reader_feed(struct frpc_reader *r, struct sk_buff *skb, u32 off,
		     u32 len);
u32 frpc_reader_feed_buf(struct frpc_reader *r, const u8 *buf, u32 len);
int frpc_skb_fill(struct sk_buff *dst, u32 dst_off, const struct sk_buff *src,
		  u32 off, u32 len);
struct sk_buff *frpc_skb_alloc(u32 len, gfp_t gfp);

#endif /* _FRPC_READER_H */
