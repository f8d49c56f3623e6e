// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Batches: many calls, results or replies per system call, with
 * sendmmsg() and recvmmsg().
 *
 * sendmmsg() marks every message but its last MSG_BATCH, and the module
 * then writes the batch's frames to TCP together.  sendmmsg() stops at
 * the first message that fails and returns how many went before it,
 * dropping that message's error; to report it, the rest is sent again
 * from the failing entry, which fails again (or goes, if the error was
 * transient) on its own.  The arrays the system calls take live on the
 * stack, FASTRPC_BATCH_MAX entries at a time.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

_Static_assert(sizeof(struct fastrpc_call) == sizeof(struct fastrpc_reply),
	       "one control buffer size serves calls and replies");

union ctrl_verb {
	char buf[CMSG_SPACE(sizeof(struct fastrpc_call))];
	struct cmsghdr align;
};

/* Room for the main control message and a little more, as in msg.c. */
union ctrl_slot {
	char buf[CMSG_SPACE(sizeof(struct fastrpc_incoming)) + 64];
	struct cmsghdr align;
};

struct batch_out {
	struct mmsghdr mm[FASTRPC_BATCH_MAX];
	struct iovec iov[FASTRPC_BATCH_MAX];
	union ctrl_verb ctrl[FASTRPC_BATCH_MAX];
};

struct batch_in {
	struct mmsghdr mm[FASTRPC_BATCH_MAX];
	struct iovec iov[FASTRPC_BATCH_MAX];
	union ctrl_slot ctrl[FASTRPC_BATCH_MAX];
};

/* Entry @i of @b: the verb's control message and the payload. */
static void put_entry(struct batch_out *b, unsigned int i, int type,
		      const void *verb, size_t vlen, const void *buf,
		      size_t len)
{
	struct msghdr *msg = &b->mm[i].msg_hdr;
	struct cmsghdr *cm = &b->ctrl[i].align;

	memset(&b->ctrl[i], 0, sizeof(b->ctrl[i]));
	cm->cmsg_level = SOL_FASTRPC;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(vlen);
	memcpy(CMSG_DATA(cm), verb, vlen);
	b->iov[i].iov_base = (void *)buf;
	b->iov[i].iov_len = len;
	memset(msg, 0, sizeof(*msg));
	msg->msg_iov = &b->iov[i];
	msg->msg_iovlen = 1;
	msg->msg_control = cm;
	msg->msg_controllen = sizeof(b->ctrl[i].buf);
}

/*
 * Send the first @k entries of @b.  Returns how many went; when fewer
 * than @k, *@err is the error of the first that did not.
 */
static unsigned int send_entries(int fd, struct batch_out *b,
				 unsigned int k, int msgflags, int *err)
{
	unsigned int done = 0;
	int r;

	while (done < k) {
		r = sendmmsg(fd, b->mm + done, k - done,
			     msgflags | MSG_NOSIGNAL);
		if (r < 0) {
			*err = frpc_neg_errno();
			break;
		}
		done += (unsigned int)r;
	}
	return done;
}

/* The result of a batch send: entries sent, or the first one's error. */
static int send_result(unsigned int sent, int e, int *err)
{
	if (err)
		*err = e;
	return sent || !e ? (int)sent : e;
}

/*
 * Fill entry @slot of @b from request @idx of @reqs; -EFAULT for a
 * payload without a buffer.
 */
typedef int (*put_fn)(struct batch_out *b, unsigned int slot,
		      const void *reqs, unsigned int idx);

/* The loop both send functions share: FASTRPC_BATCH_MAX at a time. */
static int send_batch(int fd, const void *reqs, unsigned int n, int msgflags,
		      int *err, put_fn put)
{
	struct batch_out b;
	unsigned int sent = 0, k, i;
	int e = 0, bad;

	while (sent < n && !e) {
		k = n - sent < FASTRPC_BATCH_MAX ? n - sent : FASTRPC_BATCH_MAX;
		bad = 0;
		for (i = 0; i < k; i++) {
			bad = put(&b, i, reqs, sent + i);
			if (bad)
				break;
		}
		sent += send_entries(fd, &b, i, msgflags, &e);
		if (!e)
			e = bad;
	}
	return send_result(sent, e, err);
}

static int put_call(struct batch_out *b, unsigned int slot, const void *reqs,
		    unsigned int idx)
{
	const struct fastrpc_call_req *r =
		&((const struct fastrpc_call_req *)reqs)[idx];
	struct fastrpc_call fc = { .tag = r->tag, .method = r->method,
				   .flags = r->flags };

	if (r->len && !r->buf)
		return -EFAULT;
	put_entry(b, slot, FASTRPC_CMSG_CALL, &fc, sizeof(fc), r->buf, r->len);
	return 0;
}

static int put_reply(struct batch_out *b, unsigned int slot, const void *reqs,
		     unsigned int idx)
{
	const struct fastrpc_reply_req *r =
		&((const struct fastrpc_reply_req *)reqs)[idx];
	struct fastrpc_reply rp = { .handle = r->handle, .status = r->status };

	if (r->len && !r->buf)
		return -EFAULT;
	put_entry(b, slot, FASTRPC_CMSG_REPLY, &rp, sizeof(rp), r->buf,
		  r->len);
	return 0;
}

FASTRPC_EXPORT int fastrpc_send_calls(int fd,
				      const struct fastrpc_call_req *reqs,
				      unsigned int n, int msgflags, int *err)
{
	return send_batch(fd, reqs, n, msgflags, err, put_call);
}

FASTRPC_EXPORT int fastrpc_send_replies(int fd,
					const struct fastrpc_reply_req *reps,
					unsigned int n, int msgflags, int *err)
{
	return send_batch(fd, reps, n, msgflags, err, put_reply);
}

/* Slot @i of @b receives into @buf, and the sender's address into @name. */
static int set_slot(struct batch_in *b, unsigned int i, void *buf, size_t len,
		    void *name, socklen_t namelen)
{
	struct msghdr *msg = &b->mm[i].msg_hdr;

	if (len && !buf)
		return -EFAULT;
	b->iov[i].iov_base = buf;
	b->iov[i].iov_len = len;
	memset(msg, 0, sizeof(*msg));
	msg->msg_name = name;
	msg->msg_namelen = namelen;
	msg->msg_iov = &b->iov[i];
	msg->msg_iovlen = 1;
	msg->msg_control = b->ctrl[i].buf;
	msg->msg_controllen = sizeof(b->ctrl[i].buf);
	return 0;
}

/*
 * recvmmsg() into the first @k slots; the first chunk of a batch may wait
 * for its first message, later chunks take only what is there.  Returns
 * the number received or -errno.
 */
static int recv_entries(int fd, struct batch_in *b, unsigned int k,
			int msgflags, bool first)
{
	int r;

	msgflags |= first ? MSG_WAITFORONE : MSG_DONTWAIT;
	r = recvmmsg(fd, b->mm, k, msgflags, NULL);
	return r < 0 ? frpc_neg_errno() : r;
}

/* Copy out the SOL_FASTRPC control message @type; false if absent. */
static bool find_verb(struct msghdr *msg, int type, void *data, size_t dlen)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_FASTRPC || cm->cmsg_type != type)
			continue;
		if (cm->cmsg_len < CMSG_LEN(dlen))
			return false;
		memcpy(data, CMSG_DATA(cm), dlen);
		return true;
	}
	return false;
}

/* What a batch receive returns: slots filled, or the error if none. */
static int recv_result(unsigned int got, int e)
{
	return got || !e ? (int)got : e;
}

/*
 * One kind of batch receive: @slot points slot @i of @b at output @idx;
 * @take fills output @idx from a received message whose verb, @type of
 * @vlen bytes, was found (@verb) or not (NULL).
 */
struct recv_kind {
	int (*slot)(struct batch_in *b, unsigned int i, void *out,
		    unsigned int idx);
	void (*take)(void *out, unsigned int idx, const struct mmsghdr *mm,
		     const void *verb);
	int type;
	size_t vlen;
};

/* The loop both receive functions share: FASTRPC_BATCH_MAX at a time. */
static int recv_batch(int fd, void *out, unsigned int n, int msgflags,
		      const struct recv_kind *kind)
{
	union {
		struct fastrpc_result res;
		struct fastrpc_incoming in;
	} verb;
	struct batch_in b;
	unsigned int got = 0, k, i;
	int r = 0;

	while (got < n) {
		k = n - got < FASTRPC_BATCH_MAX ? n - got : FASTRPC_BATCH_MAX;
		for (i = 0; i < k; i++) {
			r = kind->slot(&b, i, out, got + i);
			if (r)
				break;
		}
		if (!i)
			break;
		k = i;
		r = recv_entries(fd, &b, k, msgflags, !got);
		if (r <= 0)
			break;
		for (i = 0; i < (unsigned int)r; i++) {
			struct msghdr *msg = &b.mm[i].msg_hdr;
			bool found = find_verb(msg, kind->type, &verb,
					       kind->vlen);

			kind->take(out, got + i, &b.mm[i], found ? &verb : NULL);
			/*
			 * End of file fills every entry recvmmsg() was given:
			 * one slot says it, and no more system calls follow.
			 */
			if (frpc_recv_eof(b.mm[i].msg_len, msg)) {
				got += i + 1;
				return recv_result(got, 0);
			}
		}
		got += (unsigned int)r;
		if ((unsigned int)r < k)
			break;
	}
	return recv_result(got, r < 0 ? r : 0);
}

static int slot_result(struct batch_in *b, unsigned int i, void *out,
		       unsigned int idx)
{
	struct fastrpc_result_buf *o = &((struct fastrpc_result_buf *)out)[idx];

	return set_slot(b, i, o->buf, o->len, NULL, 0);
}

static void take_result(void *out, unsigned int idx, const struct mmsghdr *mm,
			const void *verb)
{
	struct fastrpc_result_buf *o = &((struct fastrpc_result_buf *)out)[idx];
	const struct fastrpc_result *res = verb;

	o->msg_flags = mm->msg_hdr.msg_flags;
	o->eor = !!(mm->msg_hdr.msg_flags & MSG_EOR);
	if (!res) {
		o->n = -EPROTO;
		return;
	}
	o->tag = res->tag;
	o->status = res->status;
	o->n = mm->msg_len;
}

static int slot_call(struct batch_in *b, unsigned int i, void *out,
		     unsigned int idx)
{
	struct fastrpc_call_buf *o = &((struct fastrpc_call_buf *)out)[idx];

	memset(&o->peer, 0, sizeof(o->peer));
	return set_slot(b, i, o->buf, o->len, &o->peer, sizeof(o->peer));
}

static void take_call(void *out, unsigned int idx, const struct mmsghdr *mm,
		      const void *verb)
{
	struct fastrpc_call_buf *o = &((struct fastrpc_call_buf *)out)[idx];
	const struct fastrpc_incoming *in = verb;

	o->msg_flags = mm->msg_hdr.msg_flags;
	o->eor = !!(mm->msg_hdr.msg_flags & MSG_EOR);
	if (!in) {
		o->n = frpc_recv_eof(mm->msg_len, &mm->msg_hdr) ? -ESHUTDOWN :
								 -EPROTO;
		return;
	}
	o->handle = in->handle;
	o->method = in->method;
	o->flags = in->flags;
	o->n = mm->msg_len;
}

static const struct recv_kind recv_results_kind = {
	.slot = slot_result, .take = take_result,
	.type = FASTRPC_CMSG_RESULT, .vlen = sizeof(struct fastrpc_result),
};

static const struct recv_kind recv_calls_kind = {
	.slot = slot_call, .take = take_call,
	.type = FASTRPC_CMSG_INCOMING, .vlen = sizeof(struct fastrpc_incoming),
};

FASTRPC_EXPORT int fastrpc_recv_results(int fd, struct fastrpc_result_buf *out,
					unsigned int n, int msgflags)
{
	return recv_batch(fd, out, n, msgflags, &recv_results_kind);
}

FASTRPC_EXPORT int fastrpc_recv_calls(int fd, struct fastrpc_call_buf *out,
				      unsigned int n, int msgflags)
{
	return recv_batch(fd, out, n, msgflags, &recv_calls_kind);
}
