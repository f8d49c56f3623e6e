/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * send.c: sendmsg(), the call verbs.
 */
#ifndef _FRPC_SEND_H
#define _FRPC_SEND_H

#include <linux/net.h>

int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);

#endif /* _FRPC_SEND_H */
