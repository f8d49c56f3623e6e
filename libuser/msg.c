// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FastRPC calls and replies: sendmsg()/recvmsg() with control messages.
 *
 * Control buffers live on the stack and are sized with CMSG_SPACE; nothing
 * here allocates.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>

#include "internal.h"

/*
 * Room for the control message we expect plus a little for ones a newer
 * kernel may add, so that they do not truncate ours.
 */
#define CTRL_SPACE (CMSG_SPACE(sizeof(struct fastrpc_incoming)) + 64)

union ctrl_call {
	char buf[CMSG_SPACE(sizeof(struct fastrpc_call))];
	struct cmsghdr align;
};

union ctrl_reply {
	char buf[CMSG_SPACE(sizeof(struct fastrpc_reply))];
	struct cmsghdr align;
};

union ctrl_in {
	char buf[CTRL_SPACE];
	struct cmsghdr align;
};

static ssize_t send_with_cmsg(int fd, int type, const void *data,
			      size_t dlen, struct cmsghdr *cm, size_t space,
			      const void *buf, size_t len, int msgflags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cm,
		.msg_controllen = space,
	};
	ssize_t n;

	if (len && !buf)
		return -EFAULT;
	cm->cmsg_level = SOL_FASTRPC;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(dlen);
	memcpy(CMSG_DATA(cm), data, dlen);
	n = sendmsg(fd, &msg, msgflags | MSG_NOSIGNAL);
	return n < 0 ? frpc_neg_errno() : n;
}

FASTRPC_EXPORT ssize_t fastrpc_send_call(int fd, uint64_t tag,
					 uint32_t method, const void *req,
					 size_t len, int msgflags)
{
	struct fastrpc_call call = { .tag = tag, .method = method };
	union ctrl_call ctrl;

	memset(&ctrl, 0, sizeof(ctrl));
	return send_with_cmsg(fd, FASTRPC_CMSG_CALL, &call, sizeof(call),
			      &ctrl.align, sizeof(ctrl.buf), req, len,
			      msgflags);
}

FASTRPC_EXPORT ssize_t fastrpc_send_reply(int fd, uint64_t handle,
					  uint32_t status, const void *buf,
					  size_t len, int msgflags)
{
	struct fastrpc_reply reply = { .handle = handle, .status = status };
	union ctrl_reply ctrl;

	memset(&ctrl, 0, sizeof(ctrl));
	return send_with_cmsg(fd, FASTRPC_CMSG_REPLY, &reply, sizeof(reply),
			      &ctrl.align, sizeof(ctrl.buf), buf, len,
			      msgflags);
}

/*
 * Receive one message and copy out the SOL_FASTRPC control message of
 * @type.  Returns recvmsg()'s length or -errno; -EPROTO if the control
 * message is missing or short.
 */
static ssize_t recv_with_cmsg(int fd, int type, void *data, size_t dlen,
			      struct sockaddr_fastrpc *peer, void *buf,
			      size_t len, int msgflags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union ctrl_in ctrl;
	struct msghdr msg = {
		.msg_name = peer,
		.msg_namelen = peer ? sizeof(*peer) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
		.msg_controllen = sizeof(ctrl.buf),
	};
	struct cmsghdr *cm;
	ssize_t n;

	if (len && !buf)
		return -EFAULT;
	n = recvmsg(fd, &msg, msgflags);
	if (n < 0)
		return frpc_neg_errno();
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_FASTRPC || cm->cmsg_type != type)
			continue;
		if (cm->cmsg_len < CMSG_LEN(dlen))
			return -EPROTO;
		memcpy(data, CMSG_DATA(cm), dlen);
		return n;
	}
	return -EPROTO;
}

FASTRPC_EXPORT ssize_t fastrpc_recv_result(int fd, uint64_t *tag,
					   uint32_t *status, void *buf,
					   size_t len, int msgflags)
{
	struct fastrpc_result res;
	ssize_t n;

	n = recv_with_cmsg(fd, FASTRPC_CMSG_RESULT, &res, sizeof(res), NULL,
			   buf, len, msgflags);
	if (n < 0)
		return n;
	if (tag)
		*tag = res.tag;
	if (status)
		*status = res.status;
	return n;
}

FASTRPC_EXPORT ssize_t fastrpc_recv_call(int fd,
					 struct fastrpc_call_info *info,
					 void *buf, size_t len, int msgflags)
{
	struct sockaddr_fastrpc peer;
	struct fastrpc_incoming in;
	ssize_t n;

	memset(&peer, 0, sizeof(peer));
	n = recv_with_cmsg(fd, FASTRPC_CMSG_INCOMING, &in, sizeof(in), &peer,
			   buf, len, msgflags);
	if (n < 0)
		return n;
	if (info) {
		info->handle = in.handle;
		info->method = in.method;
		info->peer = peer;
	}
	return n;
}

/*
 * Tags of fastrpc_call() come from one process-wide counter with the top
 * bit set, so they never collide with each other and are unlikely to
 * collide with small tags an application picks itself.
 */
static _Atomic uint64_t frpc_next_tag = 1;

FASTRPC_EXPORT ssize_t fastrpc_call(int fd, uint32_t method, const void *req,
				    size_t reqlen, void *resp, size_t resplen,
				    uint32_t *status)
{
	uint64_t tag = (1ULL << 63) | atomic_fetch_add(&frpc_next_tag, 1);
	uint64_t got;
	uint32_t st;
	ssize_t n;

	n = fastrpc_send_call(fd, tag, method, req, reqlen, 0);
	if (n < 0)
		return n;
	do {
		n = fastrpc_recv_result(fd, &got, &st, resp, resplen,
					MSG_TRUNC);
		if (n < 0)
			return n;
	} while (got != tag);	/* a stale result of an interrupted call */
	if (status)
		*status = st;
	return n;
}
