/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recv.c: recvmsg().
 */
#ifndef _FRPC_RECV_H
#define _FRPC_RECV_H

#include <linux/net.h>

struct frpc_sock;
struct frpc_rxmsg;

/* A message taken off a socket's queue, being read. */
struct frpc_rx_taken {
	struct frpc_rxmsg	*m;
	bool			server;
	bool			request;	/* a server call's first */
	bool			grant;		/* owed credit may go now */
	bool			eor;
	bool			call_room;	/* a call slot came free */
	/* a writer's deferred ring delivery: frames it makes go to the
	 * work item, so that the delivery never writes, nor nests another
	 */
	bool			kick_async;
};

void frpc_recv_take(struct frpc_sock *fs, struct frpc_rxmsg *m,
		    struct frpc_rx_taken *t);
void frpc_recv_done(struct frpc_sock *fs, struct frpc_rx_taken *t);
int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		 int flags);

#endif /* _FRPC_RECV_H */
