/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * rx.c: receive.  Checking and acting on every frame the reader cuts.
 */
#ifndef _FRPC_RX_H
#define _FRPC_RX_H

#include <linux/skbuff.h>
#include <linux/fastrpc.h>

/* Internal marker: the peer sent ERROR, close without answering. */
#define FRPC_WERR_PEER	0xff

u8 frpc_rx_deliver(void *ctx, const struct fastrpc_frame_hdr *hdr,
		   struct sk_buff *skb, const u8 *buf, u32 off, u32 len,
		   bool owned);

#endif /* _FRPC_RX_H */
