/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * flow.c: flow control, the credit we give and the credit we get.
 */
#ifndef _FRPC_FLOW_H
#define _FRPC_FLOW_H

#include "sock.h"

struct frpc_conn;
struct frpc_call;
struct frpc_rxmsg;

/*
 * Past SO_RCVBUF credit is withheld, but only while the application has
 * whole messages to read: messages in progress count against the buffer
 * too, and a message bigger than it must still be able to complete.
 * fs->lock held.
 */
static inline bool frpc_sock_rx_full(struct frpc_sock *fs)
{
	return fs->rx_bytes >= READ_ONCE(fs->sk.sk_rcvbuf) &&
	       !list_empty(&fs->rxq);
}

void __frpc_credit_conn(struct frpc_conn *conn, u32 bytes);

/*
 * Give @bytes of the connection window back (flow.c).  Half the calls on
 * a small call's path have none to give: those cost no call.
 */
static inline void frpc_credit_conn(struct frpc_conn *conn, u32 bytes)
{
	if (bytes)
		__frpc_credit_conn(conn, bytes);
}

void frpc_credit_call(struct frpc_call *call, u32 bytes);
void frpc_call_rx_credit(struct frpc_call *call, u32 len);
void frpc_call_unhold(struct frpc_call *call, struct frpc_rxmsg *m);
void frpc_sock_grant_owed(struct frpc_sock *fs, bool kick_async);
void frpc_sock_grant_workfn(struct work_struct *work);
void frpc_sock_room_made(struct frpc_sock *fs);
u8 frpc_credit_received(struct frpc_conn *conn, u32 id, u32 inc);

#endif /* _FRPC_FLOW_H */
