/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * recv.c: recvmsg().
 */
#ifndef _FRPC_RECV_H
#define _FRPC_RECV_H

#include <linux/net.h>

int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		 int flags);

#endif /* _FRPC_RECV_H */
