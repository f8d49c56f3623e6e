/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * wire.c: encoding and checks with no state, and the window arithmetic
 * flow.c relies on.  KUnit tests these.
 */
#ifndef _FRPC_WIRE_H
#define _FRPC_WIRE_H

#include <linux/types.h>
#include <linux/fastrpc.h>

int frpc_hdr_check(const struct fastrpc_frame_hdr *hdr, u8 version, u8 *werr);
void frpc_put_hdr(u8 *out, u8 version, u8 type, u16 flags, u32 call_id,
		  u32 length);
void frpc_hello_init(struct fastrpc_wire_hello *h, u8 min_version,
		     u8 max_version);
u8 frpc_hello_check(const struct fastrpc_wire_hello *h, bool from_server,
		    u8 *version);
int frpc_meta_check(const u8 *meta, u32 len);
int frpc_window_add(u32 *window, u32 increment);
int frpc_window_take(u32 *avail, u32 len);
u32 frpc_credit_due(u32 *owed, u32 consumed, u32 window);
u32 frpc_frame_chunk(u32 left, u32 call_credit, u32 conn_credit);
u32 frpc_status_from_wire(u32 status);

#endif /* _FRPC_WIRE_H */
