/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * send.c: sendmsg(), the call verbs.
 */
#ifndef _FRPC_SEND_H
#define _FRPC_SEND_H

#include <linux/net.h>

struct frpc_cmsgs;
struct frpc_sock;

int frpc_send_verb(struct frpc_sock *fs, struct frpc_cmsgs *c,
		   struct msghdr *msg, u32 len, long timeo);
int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);

#endif /* _FRPC_SEND_H */
