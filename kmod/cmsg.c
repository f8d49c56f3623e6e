// SPDX-License-Identifier: GPL-2.0-only
/*
 * Control messages: what sendmsg() is told to do (one verb: CALL, SEND,
 * CANCEL or REPLY, with optional METADATA and STATUS_MSG, and TIMEOUT
 * only with CALL), checked here
 * before any work is done, and the metadata and status message recvmsg()
 * hands back.  The layouts are uapi (linux/fastrpc.h).
 */
#include <linux/socket.h>

#include "call.h"
#include "cmsg.h"
#include "wire.h"

static int frpc_verb_len(int type)
{
	switch (type) {
	case FASTRPC_CMSG_CALL:
		return sizeof(struct fastrpc_call);
	case FASTRPC_CMSG_REPLY:
		return sizeof(struct fastrpc_reply);
	case FASTRPC_CMSG_SEND:
		return sizeof(struct fastrpc_send);
	case FASTRPC_CMSG_CANCEL:
		return sizeof(u64);
	default:
		return -1;
	}
}

int frpc_parse_cmsgs(struct msghdr *msg, struct frpc_cmsgs *c)
{
	struct cmsghdr *cmsg;

	/* fits ____sys_sendmsg()'s stack buffer: no kmalloc per call */
	BUILD_BUG_ON(CMSG_SPACE(sizeof(struct fastrpc_call)) >
		     sizeof(struct cmsghdr) + 20);
	BUILD_BUG_ON(CMSG_SPACE(sizeof(struct fastrpc_reply)) >
		     sizeof(struct cmsghdr) + 20);
	memset(c, 0, sizeof(*c));
	for_each_cmsghdr(cmsg, msg) {
		int len;

		if (!CMSG_OK(msg, cmsg) || cmsg->cmsg_level != SOL_FASTRPC)
			return -EINVAL;
		len = cmsg->cmsg_len - CMSG_LEN(0);
		switch (cmsg->cmsg_type) {
		case FASTRPC_CMSG_METADATA:
			if (c->meta || len > FASTRPC_MAX_METADATA ||
			    frpc_meta_check(CMSG_DATA(cmsg), len))
				return -EINVAL;
			c->meta = CMSG_DATA(cmsg);
			c->meta_len = len;
			break;
		case FASTRPC_CMSG_STATUS_MSG:
			if (c->smsg || len > FASTRPC_MAX_STATUS_MSG)
				return -EINVAL;
			c->smsg = CMSG_DATA(cmsg);
			c->smsg_len = len;
			break;
		case FASTRPC_CMSG_TIMEOUT:
			if (c->has_timeout || len != sizeof(c->timeout_ns))
				return -EINVAL;
			c->has_timeout = true;
			memcpy(&c->timeout_ns, CMSG_DATA(cmsg), len);
			break;
		default:
			if (c->type || len != frpc_verb_len(cmsg->cmsg_type))
				return -EINVAL;
			c->type = cmsg->cmsg_type;
			memcpy(&c->call, CMSG_DATA(cmsg), len);
			break;
		}
	}
	if (!c->type || (c->has_timeout && c->type != FASTRPC_CMSG_CALL))
		return -EINVAL;
	return 0;
}

int frpc_put_extra(struct msghdr *msg, struct frpc_rxmsg *m)
{
	int err = 0;

	if (m->meta_len)
		err = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_METADATA,
			       m->meta_len, m->extra);
	if (!err && m->smsg_len)
		err = put_cmsg(msg, SOL_FASTRPC, FASTRPC_CMSG_STATUS_MSG,
			       m->smsg_len, m->extra + m->meta_len);
	return err;
}
