/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sockopt.c: socket options at SOL_FASTRPC.
 */
#ifndef _FRPC_SOCKOPT_H
#define _FRPC_SOCKOPT_H

#include <linux/net.h>
#include <linux/sockptr.h>

u64 frpc_features(void);
int frpc_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int frpc_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen);

#endif /* _FRPC_SOCKOPT_H */
