/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * peer.c: reconnect backoff records, per peer address and namespace.
 */
#ifndef _FRPC_PEER_H
#define _FRPC_PEER_H

#include <linux/list.h>
#include <linux/fastrpc.h>

#include "frpc.h"

/* A peer we failed to connect to recently: when to try again. */
struct frpc_peer {
	struct list_head	node;
	struct sockaddr_fastrpc	addr;
	unsigned int		failures;
	int			err;
	unsigned long		retry_at;	/* jiffies */
};

bool frpc_addr_equal(const struct sockaddr_fastrpc *a,
		     const struct sockaddr_fastrpc *b);
struct frpc_peer *frpc_peer_find(struct frpc_net *fn,
				 const struct sockaddr_fastrpc *addr);
void frpc_peer_del(struct frpc_net *fn, struct frpc_peer *p);
void frpc_peer_result(struct frpc_net *fn,
		      const struct sockaddr_fastrpc *addr, int err);

#endif /* _FRPC_PEER_H */
