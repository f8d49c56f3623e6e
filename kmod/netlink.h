/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netlink.c: the generic netlink family "fastrpc", the namespace's lists
 * of sockets and connections its dumps walk, and its events.
 */
#ifndef _FRPC_NETLINK_H
#define _FRPC_NETLINK_H

#include <linux/types.h>

struct frpc_conn;
struct frpc_net;
struct frpc_sock;

/* frpc_nl_conn_event(): a peer's ERROR frame, whose code is not kept */
#define FRPC_NL_WERR_UNKNOWN	U32_MAX

int frpc_nl_init(void);
void frpc_nl_exit(void);
void frpc_nl_net_init(struct frpc_net *fn);
void frpc_nl_sock_add(struct frpc_sock *fs);
void frpc_nl_sock_del(struct frpc_sock *fs);
void frpc_nl_sock_dead(struct frpc_sock *fs);
void frpc_nl_conn_add(struct frpc_conn *conn);
void frpc_nl_conn_del(struct frpc_conn *conn);
void frpc_nl_conn_event(struct frpc_conn *conn, u8 cmd, int err, u32 werr,
			bool sent);
void frpc_nl_reject(struct frpc_sock *fs);

#endif /* _FRPC_NETLINK_H */
