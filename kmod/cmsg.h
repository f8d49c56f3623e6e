/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cmsg.c: control messages of sendmsg() and recvmsg().
 */
#ifndef _FRPC_CMSG_H
#define _FRPC_CMSG_H

#include <linux/socket.h>
#include <linux/fastrpc.h>

struct frpc_lend;
struct frpc_rxmsg;
struct frpc_tx_plug;

/* The control messages of one sendmsg(): one verb, optional extras. */
struct frpc_cmsgs {
	int			type;
	union {
		struct fastrpc_call	call;
		struct fastrpc_reply	reply;
		struct fastrpc_send	send;
		u64			tag;
	};
	const void		*meta;
	u32			meta_len;
	const void		*smsg;
	u32			smsg_len;
	bool			has_timeout;
	u64			timeout_ns;	/* CMSG_TIMEOUT, 0 if none */
	/* a ring entry's FASTRPC_SQE_LEND: a queued message keeps the bytes */
	struct frpc_lend	*lend;
	/* a ring batch: small messages may be staged for it (tx.c) */
	struct frpc_tx_plug	*plug;
};

int frpc_parse_cmsgs(struct msghdr *msg, struct frpc_cmsgs *c);
int frpc_put_extra(struct msghdr *msg, struct frpc_rxmsg *m);

#endif /* _FRPC_CMSG_H */
