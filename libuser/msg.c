// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FastRPC calls and replies: sendmsg()/recvmsg() with control messages.
 *
 * Control buffers live on the stack and are sized with CMSG_SPACE; nothing
 * here allocates.  msg_controllen is exactly the space of the control
 * messages sent: a plain call or reply (CMSG_SPACE(16)) then fits the
 * socket layer's stack buffer, and only calls with extras (a deadline,
 * metadata, a status message) make the kernel allocate a larger one.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <stdbool.h>
#include <stdint.h>
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
	if (frpc_recv_eof(n, &msg))
		return -ESHUTDOWN;
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

/*
 * Streaming, cancellation, deadlines, metadata and status messages.  One
 * control buffer on the stack holds the verb and any extras.
 */
union ctrl_ext {
	char buf[CMSG_SPACE(sizeof(struct fastrpc_call)) +
		 CMSG_SPACE(sizeof(uint64_t)) +
		 CMSG_SPACE(FASTRPC_MAX_METADATA) +
		 CMSG_SPACE(FASTRPC_MAX_STATUS_MSG)];
	struct cmsghdr align;
};

/* Append a control message; returns the space used. */
static size_t put_cmsg(char *at, int type, const void *data, size_t dlen)
{
	struct cmsghdr *cm = (struct cmsghdr *)at;

	cm->cmsg_level = SOL_FASTRPC;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(dlen);
	if (dlen)
		memcpy(CMSG_DATA(cm), data, dlen);
	return CMSG_SPACE(dlen);
}

/*
 * Send @verb with its extras: FASTRPC_CMSG_TIMEOUT when @timeout_ns is
 * not 0 (calls only), METADATA when @meta is given, STATUS_MSG when @smsg
 * is given.
 */
static ssize_t send_ext(int fd, int type, const void *verb, size_t vlen,
			uint64_t timeout_ns, const void *meta,
			size_t meta_len, const char *smsg, size_t smsg_len,
			const void *buf, size_t len, int msgflags)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	union ctrl_ext ctrl;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl.buf,
	};
	size_t used;
	ssize_t n;

	if ((len && !buf) || (meta_len && !meta) || (smsg_len && !smsg))
		return -EFAULT;
	if (meta_len > FASTRPC_MAX_METADATA ||
	    smsg_len > FASTRPC_MAX_STATUS_MSG)
		return -EINVAL;
	/* CMSG_NXTHDR-style walks in the kernel need zeroed padding */
	used = CMSG_SPACE(vlen) +
	       (timeout_ns ? CMSG_SPACE(sizeof(timeout_ns)) : 0) +
	       (meta ? CMSG_SPACE(meta_len) : 0) +
	       (smsg ? CMSG_SPACE(smsg_len) : 0);
	memset(ctrl.buf, 0, used);
	used = put_cmsg(ctrl.buf, type, verb, vlen);
	if (timeout_ns)
		used += put_cmsg(ctrl.buf + used, FASTRPC_CMSG_TIMEOUT,
				 &timeout_ns, sizeof(timeout_ns));
	if (meta)
		used += put_cmsg(ctrl.buf + used, FASTRPC_CMSG_METADATA, meta,
				 meta_len);
	if (smsg)
		used += put_cmsg(ctrl.buf + used, FASTRPC_CMSG_STATUS_MSG,
				 smsg, smsg_len);
	msg.msg_controllen = used;
	n = sendmsg(fd, &msg, msgflags | MSG_NOSIGNAL);
	return n < 0 ? frpc_neg_errno() : n;
}

FASTRPC_EXPORT ssize_t fastrpc_send_call_opts(int fd, uint64_t tag,
					      uint32_t method,
					      const struct fastrpc_call_opts *opts,
					      const void *req, size_t len,
					      int msgflags)
{
	struct fastrpc_call call = { .tag = tag, .method = method };

	if (!opts)
		return fastrpc_send_call(fd, tag, method, req, len, msgflags);
	if (opts->reserved)
		return -EINVAL;
	call.flags = opts->flags;
	return send_ext(fd, FASTRPC_CMSG_CALL, &call, sizeof(call),
			opts->timeout_ns, opts->metadata, opts->metadata_len,
			NULL, 0, req, len, msgflags);
}

FASTRPC_EXPORT ssize_t fastrpc_send_more(int fd, uint64_t id, const void *buf,
					 size_t len, int msgflags)
{
	struct fastrpc_send snd = { .id = id };
	union {
		char buf[CMSG_SPACE(sizeof(struct fastrpc_send))];
		struct cmsghdr align;
	} ctrl;

	memset(&ctrl, 0, sizeof(ctrl));
	return send_with_cmsg(fd, FASTRPC_CMSG_SEND, &snd, sizeof(snd),
			      &ctrl.align, sizeof(ctrl.buf), buf, len,
			      msgflags);
}

FASTRPC_EXPORT int fastrpc_cancel(int fd, uint64_t tag)
{
	union {
		char buf[CMSG_SPACE(sizeof(uint64_t))];
		struct cmsghdr align;
	} ctrl;
	ssize_t n;

	memset(&ctrl, 0, sizeof(ctrl));
	n = send_with_cmsg(fd, FASTRPC_CMSG_CANCEL, &tag, sizeof(tag),
			   &ctrl.align, sizeof(ctrl.buf), NULL, 0, 0);
	return n < 0 ? (int)n : 0;
}

FASTRPC_EXPORT ssize_t fastrpc_send_reply_opts(int fd, uint64_t handle,
					       uint32_t status,
					       const struct fastrpc_reply_opts *opts,
					       const void *buf, size_t len,
					       int msgflags)
{
	struct fastrpc_reply reply = { .handle = handle, .status = status };

	if (!opts)
		return fastrpc_send_reply(fd, handle, status, buf, len,
					  msgflags);
	return send_ext(fd, FASTRPC_CMSG_REPLY, &reply, sizeof(reply), 0,
			opts->trailers, opts->trailers_len, opts->status_msg,
			opts->status_msg_len, buf, len, msgflags);
}

/*
 * recvmsg() into @aux (or a small stack buffer when there is none or it
 * is too small for the main control message).  Calls @fn for every
 * SOL_FASTRPC control message.  Returns the length or -errno; -EPROTO
 * when the main control message @type is missing.
 */
struct ext_seen {
	void *main;
	size_t main_len;
	const void *meta;
	size_t meta_len;
	const char *smsg;
	size_t smsg_len;
};

static ssize_t recv_ext(int fd, int type, struct ext_seen *seen,
			void *aux, size_t aux_len,
			struct sockaddr_fastrpc *peer, int *mflags, void *buf,
			size_t len, int msgflags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union ctrl_in small;
	struct msghdr msg = {
		.msg_name = peer,
		.msg_namelen = peer ? sizeof(*peer) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	struct cmsghdr *cm;
	bool found = false;
	ssize_t n;

	if (len && !buf)
		return -EFAULT;
	/* the aux buffer must be aligned for cmsghdr */
	if (aux && aux_len >= sizeof(small.buf) &&
	    !((uintptr_t)aux & (_Alignof(struct cmsghdr) - 1))) {
		msg.msg_control = aux;
		msg.msg_controllen = aux_len;
	} else {
		msg.msg_control = small.buf;
		msg.msg_controllen = sizeof(small.buf);
	}
	n = recvmsg(fd, &msg, msgflags);
	if (n < 0)
		return frpc_neg_errno();
	if (frpc_recv_eof(n, &msg))
		return -ESHUTDOWN;
	*mflags = msg.msg_flags;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t dlen = cm->cmsg_len - CMSG_LEN(0);

		if (cm->cmsg_level != SOL_FASTRPC)
			continue;
		if (cm->cmsg_type == type) {
			if (dlen < seen->main_len)
				return -EPROTO;
			memcpy(seen->main, CMSG_DATA(cm), seen->main_len);
			found = true;
		} else if (cm->cmsg_type == FASTRPC_CMSG_METADATA &&
			   msg.msg_control != small.buf) {
			seen->meta = CMSG_DATA(cm);
			seen->meta_len = dlen;
		} else if (cm->cmsg_type == FASTRPC_CMSG_STATUS_MSG &&
			   msg.msg_control != small.buf) {
			seen->smsg = (const char *)CMSG_DATA(cm);
			seen->smsg_len = dlen;
		}
	}
	/* a cut control message would pass for a whole one: drop extras */
	if (msg.msg_flags & MSG_CTRUNC) {
		seen->meta = NULL;
		seen->meta_len = 0;
		seen->smsg = NULL;
		seen->smsg_len = 0;
	}
	return found ? n : -EPROTO;
}

FASTRPC_EXPORT ssize_t fastrpc_recv_result_ex(int fd,
					      struct fastrpc_result_info *ri,
					      void *buf, size_t len,
					      int msgflags)
{
	struct fastrpc_result res;
	struct ext_seen seen = { .main = &res, .main_len = sizeof(res) };
	void *aux = ri->aux;
	size_t aux_len = ri->aux_len;
	int mflags = 0;
	ssize_t n;

	n = recv_ext(fd, FASTRPC_CMSG_RESULT, &seen, aux, aux_len, NULL,
		     &mflags, buf, len, msgflags);
	if (n < 0)
		return n;
	memset(ri, 0, sizeof(*ri));
	ri->aux = aux;
	ri->aux_len = aux_len;
	ri->tag = res.tag;
	ri->status = res.status;
	ri->eor = !!(mflags & MSG_EOR);
	ri->msg_flags = mflags;
	ri->trailers = seen.meta;
	ri->trailers_len = seen.meta_len;
	ri->status_msg = seen.smsg;
	ri->status_msg_len = seen.smsg_len;
	return n;
}

FASTRPC_EXPORT ssize_t fastrpc_recv_call_ex(int fd,
					    struct fastrpc_incoming_info *ii,
					    void *buf, size_t len,
					    int msgflags)
{
	struct fastrpc_incoming in;
	struct ext_seen seen = { .main = &in, .main_len = sizeof(in) };
	struct sockaddr_fastrpc peer;
	void *aux = ii->aux;
	size_t aux_len = ii->aux_len;
	int mflags = 0;
	ssize_t n;

	memset(&peer, 0, sizeof(peer));
	n = recv_ext(fd, FASTRPC_CMSG_INCOMING, &seen, aux, aux_len, &peer,
		     &mflags, buf, len, msgflags);
	if (n < 0)
		return n;
	memset(ii, 0, sizeof(*ii));
	ii->aux = aux;
	ii->aux_len = aux_len;
	ii->handle = in.handle;
	ii->method = in.method;
	ii->flags = in.flags;
	ii->eor = !!(mflags & MSG_EOR);
	ii->msg_flags = mflags;
	ii->timeout_ns = in.timeout_ns;
	ii->peer = peer;
	ii->metadata = seen.meta;
	ii->metadata_len = seen.meta_len;
	return n;
}
