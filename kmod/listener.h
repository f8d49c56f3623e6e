/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * listener.c: server sockets.  Their accepted connections, per-peer
 * shares, admission of calls, shutdown and close.
 */
#ifndef _FRPC_LISTENER_H
#define _FRPC_LISTENER_H

#include <linux/types.h>
#include <linux/fastrpc.h>

struct frpc_conn;
struct frpc_call;
struct frpc_net;
struct frpc_sock;

/* A peer address at a server socket: what it holds there.  fs->lock. */
struct frpc_share {
	struct hlist_node	node;		/* fs->shares */
	struct sockaddr_fastrpc	addr;		/* port zeroed */
	u32			nconns;
	u32			ncalls;
};

struct frpc_conn *frpc_server_new_conn(struct frpc_sock *fs,
				       const struct sockaddr_fastrpc *peer);
bool frpc_server_listening(struct frpc_sock *fs);
void frpc_server_conn_gone(struct frpc_conn *conn);
void frpc_server_conn_closed(struct frpc_sock *fs);
void frpc_server_add(struct frpc_sock *fs);
void frpc_server_del(struct frpc_sock *fs);
void frpc_net_count_servers(struct frpc_net *fn, u64 *socks, u64 *conns);
void frpc_server_shutdown(struct frpc_sock *fs);
void frpc_server_close(struct frpc_sock *fs);
u32 frpc_server_admit(struct frpc_conn *conn, struct frpc_call *call);
void __frpc_server_call_gone(struct frpc_call *call);

#endif /* _FRPC_LISTENER_H */
