// SPDX-License-Identifier: GPL-2.0-only
/*
 * Transmit: control frames, the per-call message queues and the scheduler
 * that cuts them into frames.
 *
 * Control frames (HELLO, CREDIT, CANCEL, PONG, bare END, GOAWAY) go first.
 * Calls with data and credit wait in conn->ready; each turn takes one
 * frame of at most FRPC_TX_QUANTUM data bytes from the call at the head
 * and puts the call back at the tail, so a 64 MiB stream and a 100-byte
 * call share the connection frame by frame instead of one behind the other.
 *
 * The frame being written lives in conn->cur under tx_mutex; TCP may take
 * it in pieces.  Picking the next frame, and freeing what the last one
 * used, happen under conn->lock.  A message whose call goes away while one
 * of its frames is half written is kept (conn->cur_orphan) until that frame
 * is out, so the stream stays well formed.
 */
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "ring.h"
#include "sock.h"
#include "transport.h"
#include "tx.h"
#include "wire.h"

struct frpc_txbuf *frpc_build_ctrl(u8 version, u8 type, u16 flags,
				   u32 call_id, const void *payload, u32 len,
				   gfp_t gfp)
{
	struct frpc_txbuf *buf;

	buf = kmalloc(struct_size(buf, data, FASTRPC_FRAME_HDR_LEN + len), gfp);
	if (!buf)
		return NULL;
	buf->len = FASTRPC_FRAME_HDR_LEN + len;
	frpc_put_hdr(buf->data, version, type, flags, call_id, len);
	if (len)
		memcpy(buf->data + FASTRPC_FRAME_HDR_LEN, payload, len);
	return buf;
}

void frpc_queue_ctrl(struct frpc_conn *conn, struct frpc_txbuf *buf)
{
	lockdep_assert_held(&conn->lock);
	if (conn->torn_down) {
		kfree(buf);
		return;
	}
	/*
	 * A peer that makes us answer (refusals, PONGs, credit) but never
	 * reads would grow this queue without bound: past the cap the
	 * connection is failed instead.
	 */
	if (conn->ctrl_bytes > FRPC_CTRL_MAX) {
		kfree(buf);
		conn->ctrl_overflow = true;
		return;
	}
	list_add_tail(&buf->node, &conn->ctrlq);
	conn->ctrl_bytes += buf->len;
	conn->tx_ctrl_frames++;
}

/* Queue a small control frame from any context; conn->lock held. */
int frpc_queue_simple(struct frpc_conn *conn, u8 type, u16 flags, u32 id,
		      const void *payload, u32 len)
{
	struct frpc_txbuf *buf;

	lockdep_assert_held(&conn->lock);
	/* PONGs are the first thing to give up under a PING flood */
	if (type == FASTRPC_FRAME_PONG && conn->ctrl_bytes > FRPC_CTRL_MAX / 2)
		return -ENOBUFS;
	buf = frpc_build_ctrl(conn->version, type, flags, id, payload, len,
			      GFP_ATOMIC);
	if (!buf) {
		/*
		 * A lost CREDIT would shrink the peer's window for good, a
		 * lost END or CANCEL leave a call waiting: the connection is
		 * failed instead, as for a full queue.  Keepalive's frames
		 * only measure, and the next ones do as well.
		 */
		if (type != FASTRPC_FRAME_PING && type != FASTRPC_FRAME_PONG)
			conn->ctrl_overflow = true;
		return -ENOMEM;
	}
	frpc_queue_ctrl(conn, buf);
	return 0;
}

int frpc_queue_end(struct frpc_conn *conn, u32 id, u32 status)
{
	struct fastrpc_wire_end end = { .status = cpu_to_be32(status) };

	return frpc_queue_simple(conn, FASTRPC_FRAME_END, FASTRPC_FF_EOM, id,
				 &end, sizeof(end));
}

/* @lent: the bytes stay where they are, the caller points @data at them */
static struct frpc_txmsg *frpc_txmsg_alloc(u8 head_type, u32 head_len,
					   u32 len, bool lent, gfp_t gfp)
{
	bool apart = len > FRPC_TX_DATA_APART && !lent;
	struct frpc_txmsg *m;

	m = kvmalloc(struct_size(m, buf, head_len +
				 (apart || lent ? 0 : len)), gfp);
	if (!m)
		return NULL;
	m->data = m->buf + head_len;
	m->lend = NULL;
	if (apart) {
		m->data = kvmalloc(len, gfp);
		if (!m->data) {
			kvfree(m);
			return NULL;
		}
	}
	INIT_LIST_HEAD(&m->node);
	m->head_type = head_type;
	m->head_len = head_len;
	m->len = len;
	m->off = 0;
	m->eos = 0;
	m->head_sent = 0;
	return m;
}

void frpc_txmsg_free(struct frpc_txmsg *m)
{
	if (!m)
		return;
	if (m->lend)
		frpc_lend_put(m->lend, m->off < m->len);
	else if (m->data != m->buf + m->head_len)
		kvfree(m->data);
	kvfree(m);
}

/* Head (CALL or END head), then metadata, then status message, at @to. */
static void frpc_put_heads(u8 *to, const void *head, u32 head_len,
			   const void *meta, u32 meta_len, const void *smsg,
			   u32 smsg_len)
{
	if (head_len)
		memcpy(to, head, head_len);
	if (meta_len)
		memcpy(to + head_len, meta, meta_len);
	if (smsg_len)
		memcpy(to + head_len + meta_len, smsg, smsg_len);
}

/*
 * Copy a message from user space: head (CALL or END head), extra bytes
 * (metadata, status message) and the message itself.  With @lend (a
 * ring entry's FASTRPC_SQE_LEND, @from a kvec over its buffer area) the
 * message's bytes are not copied: the message points at them and keeps
 * the lend until it is freed.
 */
struct frpc_txmsg *frpc_txmsg_build(u8 head_type, const void *head,
				    u32 head_len, const void *meta, u32 meta_len,
				    const void *smsg, u32 smsg_len,
				    struct iov_iter *from, u32 len,
				    struct frpc_lend *lend, gfp_t gfp)
{
	u32 extra_len = meta_len + smsg_len, done, chunk;
	struct frpc_txmsg *m;

	if (lend && (!iov_iter_is_kvec(from) || from->nr_segs != 1 ||
		     WARN_ON_ONCE(iov_iter_count(from) < len)))
		lend = NULL;
	m = frpc_txmsg_alloc(head_type, head_len + extra_len, len, lend, gfp);
	if (!m)
		return ERR_PTR(-ENOMEM);
	frpc_put_heads(m->buf, head, head_len, meta, meta_len, smsg, smsg_len);
	if (lend) {
		m->data = (u8 *)from->kvec->iov_base + from->iov_offset;
		m->lend = frpc_lend_get(lend);
		iov_iter_advance(from, len);
		return m;
	}
	/* in pieces: a 4 MiB copy should not hold the CPU from a small call */
	for (done = 0; done < len; done += chunk) {
		chunk = min_t(u32, len - done, FRPC_TX_WORK_BUDGET);
		if (copy_from_iter(m->data + done, chunk, from) != chunk) {
			frpc_txmsg_free(m);
			return ERR_PTR(-EFAULT);
		}
		cond_resched();
	}
	return m;
}

/*
 * A ring's entries are read from its buffer area, kernel memory that
 * ring.c checked the bounds of, into a frame on the sender's stack that
 * frpc_txsmall_fits() bounds: copy_from_iter()'s hardened-usercopy check
 * of the destination (a walk of the stack frames) adds nothing there.
 */
static size_t frpc_tx_copy_from(void *to, size_t len, struct iov_iter *from)
{
	if (iov_iter_is_kvec(from))
		return _copy_from_iter(to, len, from);
	return copy_from_iter(to, len, from);
}

/* Build a frame that frpc_txsmall_fits(); -EFAULT from a bad user buffer. */
int frpc_txsmall_build(struct frpc_txsmall *s, u8 head_type, const void *head,
		       u32 head_len, const void *meta, u32 meta_len,
		       const void *smsg, u32 smsg_len, struct iov_iter *from,
		       u32 len)
{
	u8 *p = s->data + FASTRPC_FRAME_HDR_LEN;

	s->head_type = head_type;
	s->head_len = head_len + meta_len + smsg_len;
	s->nr_pages = 0;
	s->ext_len = 0;
	frpc_put_heads(p, head, head_len, meta, meta_len, smsg, smsg_len);
	p += head_len + meta_len + smsg_len;
	if (frpc_tx_copy_from(p, len, from) != len)
		return -EFAULT;
	s->len = p + len - s->data;
	return 0;
}

/*
 * May a message too big for frpc_txsmall_fits() still go as one frame
 * from the sender's own pages?  Up to a quantum of data (what one frame
 * of a busy connection carries, so fairness is as for queued messages),
 * from user memory, with the heads on the stack.
 */
bool frpc_txsmall_ext_fits(u32 head_len, u32 extra_len, u32 len,
			   const struct iov_iter *from)
{
	return len <= FRPC_TX_QUANTUM && user_backed_iter(from) &&
	       frpc_txsmall_fits(head_len, extra_len, 0);
}

/*
 * Take a reference on each page behind the next @len bytes of @from, into
 * @pages and @bvec from *@nr on, at most @max in all; *@got counts the
 * bytes taken and @from moves past them, also on failure, so the caller
 * can let go and revert.  -E2BIG when @max pages are not enough (many
 * iovecs), or iov_iter_get_pages2()'s error.  Shared with txbulk.c.
 */
int frpc_tx_get_pages(struct iov_iter *from, u32 len, struct page **pages,
		      struct bio_vec *bvec, unsigned int max, unsigned int *nr,
		      u32 *got)
{
	size_t start;
	ssize_t n;

	while (*got < len) {
		if (*nr == max)
			return -E2BIG;
		n = iov_iter_get_pages2(from, pages + *nr, len - *got,
					max - *nr, &start);
		if (n <= 0)
			return n ? n : -EFAULT;
		*got += n;
		for (; n > 0; start = 0) {
			u32 l = min_t(size_t, n, PAGE_SIZE - start);

			bvec_set_page(&bvec[*nr], pages[*nr], l, start);
			(*nr)++;
			n -= l;
		}
	}
	return 0;
}

/* Hold the pages behind @len bytes of @from in @s; the iterator moves on. */
static int frpc_txsmall_get_pages(struct frpc_txsmall *s,
				  struct iov_iter *from, u32 len)
{
	unsigned int nr = s->nr_pages;
	int err;

	err = frpc_tx_get_pages(from, len, s->pages, s->bvec,
				FRPC_TX_EXT_PAGES, &nr, &s->ext_len);
	s->nr_pages = nr;
	return err;
}

/*
 * Build a frame that frpc_txsmall_ext_fits(): the heads into @s, and a
 * reference on each page of the message, which is left where it is.
 * False, with @from as it was, when the pages cannot be had: the bytes
 * are scattered over more pages than @s holds, or they are memory that
 * only copying reads (a PFN mapping), or not memory at all; the caller
 * then copies the message, which tells the last case with -EFAULT.
 */
bool frpc_txsmall_build_ext(struct frpc_txsmall *s, u8 head_type,
			    const void *head, u32 head_len, const void *meta,
			    u32 meta_len, const void *smsg, u32 smsg_len,
			    struct iov_iter *from, u32 len)
{
	frpc_txsmall_build(s, head_type, head, head_len, meta, meta_len, smsg,
			   smsg_len, from, 0);
	if (!frpc_txsmall_get_pages(s, from, len))
		return true;
	iov_iter_revert(from, s->ext_len);
	frpc_txsmall_release(s);
	return false;
}

void __frpc_txsmall_release(struct frpc_txsmall *s)
{
	while (s->nr_pages)
		put_page(s->pages[--s->nr_pages]);
}

/* Copy @len bytes of @s's pages, from byte @skip on, to @to. */
static void frpc_txsmall_copy_ext(const struct frpc_txsmall *s, u8 *to,
				  u32 skip, u32 len)
{
	struct iov_iter it;

	iov_iter_bvec(&it, ITER_SOURCE, s->bvec, s->nr_pages, s->ext_len);
	iov_iter_advance(&it, skip);
	/* the pages are held: no fault, no short copy */
	WARN_ON_ONCE(copy_from_iter(to, len, &it) != len);
}

/* The queued form of a small frame, when it cannot go straight out. */
struct frpc_txmsg *frpc_txsmall_msg(const struct frpc_txsmall *s, gfp_t gfp)
{
	u32 plen = s->len - FASTRPC_FRAME_HDR_LEN;
	struct frpc_txmsg *m;

	m = frpc_txmsg_alloc(s->head_type, s->head_len,
			     plen - s->head_len + s->ext_len, false, gfp);
	if (!m)
		return NULL;
	memcpy(m->buf, s->data + FASTRPC_FRAME_HDR_LEN, s->head_len);
	memcpy(m->data, s->data + FASTRPC_FRAME_HDR_LEN + s->head_len,
	       plen - s->head_len);
	if (s->ext_len)
		frpc_txsmall_copy_ext(s, m->data + plen - s->head_len, 0,
				      s->ext_len);
	return m;
}

/*
 * May @s, the whole of @call's next message, go to TCP now, ahead of
 * what is queued?  Only with tx_mutex held and no frame half written, with
 * nothing of the call's own queued or being written from a sender's pages
 * (call->tx_bulk) before it, and with credit for all of
 * its data; the credit is taken.  Frames of other calls may be overtaken
 * (order is kept within a call, and a small reply should not wait behind
 * bulk), except CALL frames: the server takes call ids in rising order,
 * and a call with its head unsent is always in conn->ready.  Control
 * frames are never overtaken: a server's HELLO must be its first frame.
 * conn->lock held.
 */
static bool __frpc_tx_claim(struct frpc_call *call,
			    const struct frpc_txsmall *s)
{
	struct frpc_conn *conn = call->conn;
	u32 len = s->len - FASTRPC_FRAME_HDR_LEN - s->head_len + s->ext_len;

	lockdep_assert_held(&conn->lock);
	lockdep_assert_held(&conn->tx_mutex);
	if (!frpc_conn_has_tp(conn) || conn->cur.left || !list_empty(&call->txq) ||
	    call->tx_bulk || !list_empty(&conn->ctrlq) ||
	    (s->head_type == FASTRPC_FRAME_CALL && !list_empty(&conn->ready)) ||
	    (conn->state != FRPC_CONN_READY &&
	     conn->state != FRPC_CONN_DRAINING) ||
	    len > call->tx_credit || len > conn->tx_credit)
		return false;
	call->tx_credit -= len;
	conn->tx_credit -= len;
	call->wire_started = true;
	return true;
}

/* Nothing may go in front of staged frames (frpc_tx_stage_claim()). */
bool frpc_tx_direct_claim(struct frpc_call *call, const struct frpc_txsmall *s)
{
	return !call->conn->tx_stage_len && __frpc_tx_claim(call, s);
}

/*
 * After a frame of @hlen bytes at @head (its header first) and @dlen bytes
 * of @data was written and TCP took @ret of it: false, unless all of it
 * went.  What TCP did not take is copied and becomes the frame in
 * progress, finished by the next writer before any other frame; an error
 * fails the connection.  tx_mutex held, no spinlock.
 */
static bool frpc_tx_frame_sent(struct frpc_conn *conn, const u8 *head,
			       u32 hlen, const struct iov_iter *data, u32 dlen,
			       int ret)
{
	u32 total = hlen + dlen, skip = 0;
	struct frpc_txframe *f = &conn->cur;
	struct frpc_txbuf *rest;
	struct iov_iter it;

	if (ret == total)
		return true;
	if (ret == -EAGAIN)
		ret = 0;
	if (ret < 0) {
		frpc_conn_fail(conn, ret, FASTRPC_WERR_NONE);
		return false;
	}
	/*
	 * The frame is half on the wire and must be finished before any
	 * other, or the stream is broken for every socket on the connection:
	 * wait for the memory (at most a quantum and a head, in process
	 * context).  The sender's pages go back when sendmsg() returns.
	 */
	rest = kvmalloc(struct_size(rest, data, total - ret),
			GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	rest->len = total - ret;
	if (ret < hlen) {
		memcpy(rest->data, head + ret, hlen - ret);
		skip = hlen - ret;
	}
	if (dlen) {
		it = *data;
		iov_iter_advance(&it, ret + skip - hlen);
		/* held pages or kernel memory: no fault, no short copy */
		WARN_ON_ONCE(copy_from_iter(rest->data + skip, rest->len - skip,
					    &it) != rest->len - skip);
	}
	f->ctrl = rest;
	f->iov[0].iov_base = rest->data;
	f->iov[0].iov_len = rest->len;
	f->niov = 1;
	f->left = rest->len;
	return false;
}

/*
 * Write one frame: @hlen bytes at @head (its header first), then @dlen
 * bytes of @data, memory that cannot fault (pages held, or the ring's
 * buffer area), which is not advanced.  @more: another frame follows at
 * once.  Returns true when all of it went (frpc_tx_frame_sent()).
 * tx_mutex held, no spinlock.
 */
bool frpc_tx_write_frame(struct frpc_conn *conn, const u8 *head, u32 hlen,
			 const struct iov_iter *data, u32 dlen, bool more)
{
	struct kvec iov = { .iov_base = (void *)head, .iov_len = hlen };
	struct iov_iter it = *data;
	int ret;

	lockdep_assert_held(&conn->tx_mutex);
	ret = frpc_tp_send_data(conn, &iov, 1, hlen, &it, dlen,
				more ? MSG_MORE : 0);
	return frpc_tx_frame_sent(conn, head, hlen, data, dlen, ret);
}

/* Write a claimed frame.  tx_mutex held, no spinlock. */
void frpc_tx_direct_send(struct frpc_conn *conn, struct frpc_txsmall *s,
			 u32 call_id, u16 flags)
{
	struct kvec iov = { .iov_base = s->data, .iov_len = s->len };
	struct iov_iter data;
	int ret;

	lockdep_assert_held(&conn->tx_mutex);
	frpc_put_hdr(s->data, conn->version, s->head_type, flags, call_id,
		     s->len + s->ext_len - FASTRPC_FRAME_HDR_LEN);
	conn->tx_frames++;
	if (s->ext_len) {
		iov_iter_bvec(&data, ITER_SOURCE, s->bvec, s->nr_pages,
			      s->ext_len);
		ret = frpc_tp_send_data(conn, &iov, 1, s->len, &data,
					s->ext_len, 0);
	} else {
		ret = frpc_tp_send(conn, &iov, 1, s->len, 0, 0);
	}
	if (ret != s->len + s->ext_len)
		frpc_tx_frame_sent(conn, s->data, s->len, &data, s->ext_len,
				   ret);
}

/* Can the call's next frame go out with the credit it has? */
static bool frpc_call_sendable(struct frpc_call *call)
{
	struct frpc_txmsg *m;

	m = list_first_entry_or_null(&call->txq, struct frpc_txmsg, node);
	if (!m || call->tx_bulk)
		return false;
	/* a head, an empty message or an END's last piece may need none */
	if (m->off == m->len || (m->head_type == FASTRPC_FRAME_CALL && !m->head_sent))
		return true;
	return call->tx_credit > 0;
}

/* Has part of the call's current message gone out already? */
bool frpc_call_mid_message(struct frpc_call *call)
{
	struct frpc_txmsg *m;

	if (call->tx_bulk)
		return true;	/* its sender writes frames of it (txbulk.c) */
	m = list_first_entry_or_null(&call->txq, struct frpc_txmsg, node);
	return m && (m->off || m->head_sent);
}

/*
 * Is the call short of credit for what it has queued: less than
 * FRPC_STALL_CREDIT, and less than the rest of its next message?  Only
 * the peer can end that (frpc_conn_stalled()).
 */
bool frpc_call_starved(struct frpc_call *call)
{
	struct frpc_txmsg *m;

	m = list_first_entry_or_null(&call->txq, struct frpc_txmsg, node);
	if (!m || (m->head_type == FASTRPC_FRAME_CALL && !m->head_sent))
		return false;	/* nothing queued, or a head, which needs none */
	return call->tx_credit < min_t(u32, m->len - m->off, FRPC_STALL_CREDIT);
}

/* The stall clock of a call short of credit starts, if it is not running. */
static void frpc_call_note_starved(struct frpc_call *call)
{
	if (!call->stall_since && frpc_call_starved(call)) {
		call->stall_since = jiffies ?: 1;
		call->conn->calls_starved = true;
	}
}

void frpc_call_tx_ready(struct frpc_call *call)
{
	struct frpc_conn *conn = call->conn;

	lockdep_assert_held(&conn->lock);
	if (!list_empty(&call->tx_node))
		return;
	if (frpc_call_sendable(call))
		list_add_tail(&call->tx_node, &conn->ready);
	else if (!list_empty(&call->txq))
		frpc_call_note_starved(call);
}

static void frpc_sock_tx_done(struct frpc_sock *fs, u32 bytes)
{
	bool wake;

	if (!fs || !bytes)
		return;
	frpc_count_sub(frpc_net(sock_net(&fs->sk)), tx_queued_bytes, bytes);
	spin_lock(&fs->lock);
	WRITE_ONCE(fs->tx_queued, fs->tx_queued - bytes);
	wake = fs->tx_queued < READ_ONCE(fs->sk.sk_sndbuf);
	if (wake && READ_ONCE(fs->tx_full_since))
		WRITE_ONCE(fs->tx_full_since, 0);
	spin_unlock(&fs->lock);
	if (wake)
		frpc_sock_wake_out(&fs->sk);
}

void frpc_call_queue_msg(struct frpc_call *call, struct frpc_txmsg *m)
{
	lockdep_assert_held(&call->conn->lock);
	list_add_tail(&m->node, &call->txq);
	frpc_call_tx_ready(call);
}

/* Forget what a call had left to send; conn->lock held. */
void frpc_call_drop_tx(struct frpc_call *call)
{
	struct frpc_conn *conn = call->conn;
	struct frpc_txmsg *m, *tmp;
	u32 unsent = 0;

	lockdep_assert_held(&conn->lock);
	frpc_list_del_init(&call->tx_node);
	list_for_each_entry_safe(m, tmp, &call->txq, node) {
		list_del_init(&m->node);
		/* its last frame not cut yet: the cost is still charged */
		unsent += m->len - m->off + FRPC_TX_MSG_COST;
		if (m == conn->cur_msg)
			conn->cur_orphan = m;	/* its frame is half written */
		else
			frpc_txmsg_free(m);
	}
	frpc_sock_tx_done(call->fs, unsent);
}

/*
 * A short message goes: for a while, long messages on the connection are
 * cut into smaller frames, so that the next short one does not wait for
 * a whole quantum in the middle of being written.  A connection that
 * carries only long messages keeps frames of a quantum, one TCP skb each.
 */
void frpc_tx_note_short(struct frpc_conn *conn)
{
	/* + 1: at least the whole while, whatever part of a tick is left */
	unsigned long until = jiffies + msecs_to_jiffies(FRPC_TX_MIXED_MS) + 1;

	if (READ_ONCE(conn->tx_mixed_until) != until)
		WRITE_ONCE(conn->tx_mixed_until, until);
}

/* A whole message built on the stack goes: short? */
void frpc_tx_note_small(struct frpc_conn *conn, const struct frpc_txsmall *s)
{
	if (s->len + s->ext_len <= FRPC_TX_SHORT)
		frpc_tx_note_short(conn);
}

/* The data bytes of a call's frame at most, now. */
u32 frpc_tx_quantum(struct frpc_conn *conn)
{
	return time_before(jiffies, READ_ONCE(conn->tx_mixed_until)) ?
	       FRPC_TX_QUANTUM_MIXED : FRPC_TX_QUANTUM;
}

/*
 * Is the call's next frame a whole message of FRPC_TX_SHORT at most?  Not
 * the short tail of a long one: that takes its turn like the rest of it.
 */
static bool frpc_call_next_short(struct frpc_call *call)
{
	struct frpc_txmsg *m;

	m = list_first_entry(&call->txq, struct frpc_txmsg, node);
	return !m->off && !m->head_sent &&
	       m->head_len + m->len <= FRPC_TX_SHORT;
}

/* Is the call's next frame its CALL frame? */
static bool frpc_call_next_head(struct frpc_call *call)
{
	struct frpc_txmsg *m;

	m = list_first_entry(&call->txq, struct frpc_txmsg, node);
	return m->head_type == FASTRPC_FRAME_CALL && !m->head_sent;
}

/*
 * Short first.  Taking turns frame by frame, a small call's frame still
 * waited behind a whole quantum of every long message ahead of it in
 * conn->ready, written in the same TCP write (about 100 us per 60 KiB
 * across namespaces under icount).  A call whose next frame is a whole
 * short message therefore goes ahead of a long frame at the head; the
 * scan looks at a few calls only, and once FRPC_TX_QUANTUM /
 * FRPC_TX_SHORT of them went ahead of a waiting long frame, that one
 * goes, so a flood of small calls cannot starve a stream.  A CALL frame
 * never passes another call's unsent CALL frame: the server takes new
 * calls in the order of their ids only (wire-protocol.rst).  Calls being
 * written by their bulk sender are never in conn->ready.  conn->lock held.
 */
static void frpc_tx_short_first(struct frpc_conn *conn)
{
	struct frpc_call *head, *call;
	int scan = FRPC_TX_SHORT_SCAN;
	bool heads;

	lockdep_assert_held(&conn->lock);
	head = list_first_entry_or_null(&conn->ready, struct frpc_call,
					tx_node);
	if (!head || list_is_singular(&conn->ready) ||
	    frpc_call_next_short(head))
		return;
	if (conn->tx_short_run < FRPC_TX_QUANTUM) {
		heads = frpc_call_next_head(head);
		call = head;
		list_for_each_entry_continue(call, &conn->ready, tx_node) {
			bool call_head = frpc_call_next_head(call);

			if (!scan--)
				break;
			if (frpc_call_next_short(call) && !(heads && call_head)) {
				list_move(&call->tx_node, &conn->ready);
				conn->tx_short_run += FRPC_TX_SHORT;
				return;
			}
			heads |= call_head;
		}
	}
	/* else the long frame's turn: frpc_tx_pick() resets the count */
}

/*
 * Pick the next frame into conn->cur.  Returns false when nothing can go:
 * queues empty, or every call with data is waiting for credit; or, with
 * @own, when the next frame is a long one of another socket's call
 * (*@yielded set).
 */
static bool frpc_tx_pick(struct frpc_conn *conn, const struct frpc_sock *own,
			 bool *yielded)
{
	struct frpc_txframe *f = &conn->cur;
	struct frpc_txbuf *buf;
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	buf = list_first_entry_or_null(&conn->ctrlq, struct frpc_txbuf, node);
	if (buf) {
		list_del(&buf->node);
		conn->ctrl_bytes -= buf->len;
		f->ctrl = buf;
		f->iov[0].iov_base = buf->data;
		f->iov[0].iov_len = buf->len;
		f->niov = 1;
		f->left = buf->len;
		return true;
	}
	if (conn->state != FRPC_CONN_READY && conn->state != FRPC_CONN_DRAINING)
		return false;

	frpc_tx_short_first(conn);
	while ((call = list_first_entry_or_null(&conn->ready, struct frpc_call,
						tx_node))) {
		struct frpc_txmsg *m;
		u32 left, chunk, plen;
		bool head, last, whole_short;
		u16 flags;
		u8 type;

		if (WARN_ON_ONCE(call->tx_bulk)) {
			/* not sendable (frpc_call_sendable()): never here */
			list_del_init(&call->tx_node);
			continue;
		}
		whole_short = frpc_call_next_short(call);
		/* an inline writer leaves another socket's long frame */
		if (own && call->fs != own && !whole_short) {
			*yielded = true;
			return false;
		}
		m = list_first_entry(&call->txq, struct frpc_txmsg, node);
		left = m->len - m->off;
		chunk = frpc_frame_chunk(left, call->tx_credit, conn->tx_credit);
		chunk = min(chunk, frpc_tx_quantum(conn));
		if (left && !chunk && !conn->tx_credit) {
			/* the connection window is shut */
			if (!conn->stall_since)
				conn->stall_since = jiffies ?: 1;
			return false;
		}
		list_del_init(&call->tx_node);

		if (m->head_type == FASTRPC_FRAME_END) {
			/*
			 * END carries the last piece; DATA frames go before.
			 * With its head (trailers, status text: up to 5 KiB)
			 * a piece of a quantum may not fit one frame: a DATA
			 * frame takes what would not.
			 */
			if (chunk == left &&
			    left > FASTRPC_MAX_FRAME - m->head_len)
				chunk = left - (FASTRPC_MAX_FRAME - m->head_len);
			head = chunk == left;
			if (!head && !chunk) {
				/* wait for this call's credit */
				frpc_call_note_starved(call);
				continue;
			}
		} else {
			head = m->head_type == FASTRPC_FRAME_CALL && !m->head_sent;
			if (head) {
				chunk = min(chunk, (u32)FASTRPC_MAX_FRAME - m->head_len);
			} else if (left && !chunk) {
				frpc_call_note_starved(call);
				continue;
			}
		}
		last = chunk == left;
		if (whole_short)
			frpc_tx_note_short(conn);
		else
			conn->tx_short_run = 0;	/* the long frame went */
		type = head ? m->head_type : FASTRPC_FRAME_DATA;
		flags = last ? FASTRPC_FF_EOM : 0;
		if (last && m->eos)
			flags |= FASTRPC_FF_EOS;
		plen = chunk + (head ? m->head_len : 0);

		frpc_put_hdr(f->hdr, conn->version, type, flags, call->id, plen);
		conn->tx_frames++;
		f->iov[0].iov_base = f->hdr;
		f->iov[0].iov_len = FASTRPC_FRAME_HDR_LEN;
		f->niov = 1;
		if (head) {
			f->iov[f->niov].iov_base = m->buf;
			f->iov[f->niov++].iov_len = m->head_len;
			m->head_sent = 1;
			call->wire_started = true;
		}
		if (chunk) {
			f->iov[f->niov].iov_base = m->data + m->off;
			f->iov[f->niov++].iov_len = chunk;
		}
		f->left = FASTRPC_FRAME_HDR_LEN + plen;
		m->off += chunk;
		call->tx_credit -= chunk;
		conn->tx_credit -= chunk;
		conn->cur_msg = m;
		frpc_sock_tx_done(call->fs,
				  chunk + (last ? FRPC_TX_MSG_COST : 0));
		if (last) {
			list_del_init(&m->node);
			f->done = m;
			if (m->eos || m->head_type == FASTRPC_FRAME_END)
				call->tx_eos = true;
			if (m->head_type == FASTRPC_FRAME_END) {
				/* an answered server call ends with its END */
				frpc_call_unlink(call);
				f->done_call = call;
				return true;
			}
		}
		frpc_call_tx_ready(call);
		return true;
	}
	return false;
}

/*
 * Is another frame ready to follow the one just picked?  Then that one
 * goes with MSG_MORE, and TCP packs both into one segment instead of one
 * segment each.  This follows frpc_tx_pick() but does not repeat it: a
 * call whose turn finds no credit is skipped there, and a call may be
 * cancelled before its turn.  A wrong guess costs one push
 * (frpc_tx_uncork()), never a frame held back.  conn->lock held.
 */
static bool frpc_tx_more(struct frpc_conn *conn)
{
	lockdep_assert_held(&conn->lock);
	if (!list_empty(&conn->ctrlq))
		return true;
	if (conn->state != FRPC_CONN_READY && conn->state != FRPC_CONN_DRAINING)
		return false;
	return !list_empty(&conn->ready) && conn->tx_credit;
}

/*
 * The last write went with MSG_MORE but the flush ends without the frame
 * it announced: push out what TCP holds back for it.  tx_mutex held.
 */
static void frpc_tx_uncork(struct frpc_conn *conn, bool corked)
{
	lockdep_assert_held(&conn->tx_mutex);
	if (corked && conn->tcp)
		frpc_tp_send(conn, NULL, 0, 0, 0, 0);
}

/* Step the iovecs of the current frame past @n written bytes. */
static void frpc_txframe_advance(struct frpc_txframe *f, size_t n)
{
	int i = 0;

	f->left -= n;
	while (n && i < f->niov) {
		size_t k = min(n, f->iov[i].iov_len);

		f->iov[i].iov_base += k;
		f->iov[i].iov_len -= k;
		n -= k;
		if (!f->iov[i].iov_len)
			i++;
	}
	if (i) {
		memmove(f->iov, f->iov + i, (f->niov - i) * sizeof(f->iov[0]));
		f->niov -= i;
	}
}

/*
 * Copy the frame just picked into the stage instead of writing it, if it
 * is small and others are ready behind it (or staged before it): a batch
 * then costs one tcp_sendmsg() per FRPC_TX_STAGE bytes instead of one per
 * frame, a few hundred instructions each.  The frame counts as written
 * from here: its buffers go at the next turn of the loop, and the stage
 * goes out in front of the next frame that is not staged, or alone when
 * nothing follows (frpc_tx_stage_attach()).  tx_mutex held.
 */
/* The stage, once per connection that batches; without it, no staging. */
static bool frpc_tx_stage_alloc(struct frpc_conn *conn)
{
	if (!conn->tx_stage)
		conn->tx_stage = kmalloc(FRPC_TX_STAGE, GFP_KERNEL_ACCOUNT |
					 __GFP_NOWARN);
	return conn->tx_stage;
}

static bool frpc_tx_stage(struct frpc_conn *conn, bool more)
{
	struct frpc_txframe *f = &conn->cur;
	u8 *to;
	int i;

	lockdep_assert_held(&conn->tx_mutex);
	if ((!more && !conn->tx_stage_len) || f->left > FRPC_TX_STAGE_FRAME ||
	    conn->tx_stage_len + f->left > FRPC_TX_STAGE)
		return false;
	if (!frpc_tx_stage_alloc(conn))
		return false;
	to = conn->tx_stage + conn->tx_stage_len;
	for (i = 0; i < f->niov; i++) {
		memcpy(to, f->iov[i].iov_base, f->iov[i].iov_len);
		to += f->iov[i].iov_len;
	}
	conn->tx_stage_len += f->left;
	f->niov = 0;
	f->left = 0;
	return true;
}

/*
 * Put what is staged in front of the frame in cur, or make it the frame
 * when none was picked; it is written, and partly written kept, like any
 * frame.  In front of a long frame it is pushed alone first (f->push):
 * in one write with it, small frames would leave only once TCP has
 * copied the long one too.  tx_mutex held.
 */
static void frpc_tx_stage_attach(struct frpc_conn *conn)
{
	struct frpc_txframe *f = &conn->cur;

	lockdep_assert_held(&conn->tx_mutex);
	f->push = f->left > FRPC_TX_SHORT ? conn->tx_stage_len : 0;
	memmove(f->iov + 1, f->iov, f->niov * sizeof(f->iov[0]));
	f->iov[0].iov_base = conn->tx_stage;
	f->iov[0].iov_len = conn->tx_stage_len;
	f->niov++;
	f->left += conn->tx_stage_len;
	f->staged = true;
}

/*
 * Batches: ring entries (struct frpc_tx_plug) and sendmmsg().  The small,
 * whole message of an entry with others behind it is copied straight into
 * the transmit stage rather than queued as a txmsg, for the flush to cut
 * into a frame and copy there: TCP then takes a batch in one write per
 * FRPC_TX_STAGE bytes and none of its messages is allocated, queued or
 * picked.  Staged frames count as written, so every writer puts them in front of its own: the
 * flush attaches them, and direct and bulk claims are refused while any
 * wait.  CALL frames thus still reach the server in the order of their
 * ids, and each call's frames in their order.
 *
 * frpc_tx_stage_begin(): tx_mutex, and room in the stage for @len bytes;
 * what is staged goes out first if the frame does not fit.  False, with
 * tx_mutex not held, when not now: another writer, a frame half written,
 * no stage.
 */
bool frpc_tx_stage_begin(struct frpc_conn *conn, u32 len)
{
	struct frpc_txframe *f = &conn->cur;
	int ret;

	if (len > FRPC_TX_STAGE_FRAME || !mutex_trylock(&conn->tx_mutex))
		return false;
	if (f->left || !frpc_conn_has_tp(conn) || !frpc_tx_stage_alloc(conn))
		goto not_now;
	if (conn->tx_stage_len + len <= FRPC_TX_STAGE)
		return true;
	/* full: written now, pushed (no MSG_MORE: nothing may follow) */
	f->niov = 0;
	frpc_tx_stage_attach(conn);
	ret = frpc_tp_send(conn, f->iov, f->niov, f->left, 0, 0);
	if (ret < 0 && ret != -EAGAIN) {
		frpc_conn_fail(conn, ret, FASTRPC_WERR_NONE);
		goto not_now;
	}
	if (ret > 0)
		frpc_txframe_advance(f, ret);
	if (f->left)
		goto not_now;	/* the flush writes the rest, then frees it */
	f->staged = false;
	conn->tx_stage_len = 0;
	return true;

not_now:
	mutex_unlock(&conn->tx_mutex);
	return false;
}

/* frpc_tx_direct_claim() for a frame to be staged; conn->lock held. */
bool frpc_tx_stage_claim(struct frpc_call *call, const struct frpc_txsmall *s)
{
	return !s->ext_len && __frpc_tx_claim(call, s);
}

/*
 * Copy a claimed frame into the stage (frpc_tx_stage_begin() made room),
 * then let tx_mutex go.  A ring batch writes the stage when it ends
 * (@plug).  A sendmmsg() batch has no end the socket sees, only its last
 * message, which finds frames staged, is queued behind them and kicks
 * the flush that writes them; but that message may fail before it gets
 * so far, so the first frame staged also queues the work item, which
 * writes whatever it finds.
 */
void frpc_tx_stage_put(struct frpc_conn *conn, struct frpc_txsmall *s,
		       u32 call_id, u16 flags, struct frpc_tx_plug *plug)
{
	bool first = !conn->tx_stage_len;

	lockdep_assert_held(&conn->tx_mutex);
	frpc_put_hdr(s->data, conn->version, s->head_type, flags, call_id,
		     s->len - FASTRPC_FRAME_HDR_LEN);
	memcpy(conn->tx_stage + conn->tx_stage_len, s->data, s->len);
	conn->tx_stage_len += s->len;
	conn->tx_frames++;
	mutex_unlock(&conn->tx_mutex);
	if (plug)
		frpc_tx_plug_add(plug, conn);
	else if (first)
		frpc_conn_kick_async(conn);
}

/* @conn staged frames of the batch: it is written out at the end. */
void frpc_tx_plug_add(struct frpc_tx_plug *plug, struct frpc_conn *conn)
{
	if (plug->conn == conn)
		return;
	frpc_tx_unplug(plug);	/* a server's batch: replies to another peer */
	kref_get(&conn->ref);
	plug->conn = conn;
}

/*
 * The batch ends: what it staged goes to TCP, from here unless another
 * writer holds tx_mutex (its flush, or the work item, takes it along).
 */
void frpc_tx_unplug(struct frpc_tx_plug *plug)
{
	struct frpc_conn *conn = plug->conn;

	if (!conn)
		return;
	plug->conn = NULL;
	frpc_conn_kick(conn);
	frpc_conn_put(conn);
}

/*
 * Write frames until the queues are empty, TCP is full or @budget bytes
 * are out, or FRPC_TX_FRAMES frames.  With @until (jiffies), wait for TCP
 * to take them until then instead of stopping when it is full, and
 * write any number of frames.  With @own (a sender of that
 * socket writing inline), stop before a long frame of another socket's
 * call: the sender sends its own frames and the short ones waiting, and
 * goes back to its caller rather than spend 100 us on somebody else's
 * stream, which the work item writes.  Returns true if it stopped for
 * the budget or before such a frame, with more to send.
 *
 * A frame with another ready behind it goes with MSG_MORE, so that a
 * batch (sendmmsg(), or calls queued while a writer was busy) leaves in
 * full segments; the last frame of a flush goes without, which pushes
 * everything.  No exit leaves bytes held back: see each return.
 */
bool frpc_conn_tx_flush(struct frpc_conn *conn, size_t budget,
			const unsigned long *until,
			const struct frpc_sock *own)
{
	struct frpc_txframe *f = &conn->cur;
	bool more = false, corked = false, yielded = false, wrote = false;
	unsigned int frames = 0;

	lockdep_assert_held(&conn->tx_mutex);
	for (;;) {
		struct frpc_txmsg *done, *orphan;
		struct frpc_call *done_call;
		struct frpc_txbuf *ctrl;
		bool picked;
		long timeo;
		int ret, flags;

		if (!f->left) {
			bool stop;

			spin_lock_bh(&conn->lock);
			ctrl = f->ctrl;
			done = f->done;
			orphan = conn->cur_orphan;
			done_call = f->done_call;
			f->ctrl = NULL;
			f->done = NULL;
			f->done_call = NULL;
			conn->cur_msg = NULL;
			conn->cur_orphan = NULL;
			if (f->staged) {
				f->staged = false;
				conn->tx_stage_len = 0;
			}
			/*
			 * Another task wants the CPU: stop between frames
			 * rather than yield it holding tx_mutex, or a small
			 * call's sender that runs meanwhile would find the
			 * connection taken and wait for us to be scheduled
			 * again.  The caller queues the work item for the
			 * rest.  Not before control frames: close() counts
			 * on its GOAWAY and ENDs going out now.
			 */
			stop = wrote && !until && need_resched() &&
			       list_empty(&conn->ctrlq);
			picked = !stop && frpc_conn_has_tp(conn) &&
				 frpc_tx_pick(conn, own, &yielded);
			more = picked && frpc_tx_more(conn);
			spin_unlock_bh(&conn->lock);
			kvfree(ctrl);	/* a frame's rest may be big */
			frpc_txmsg_free(done);
			frpc_txmsg_free(orphan);
			if (done_call)
				frpc_call_free(done_call);
			if (stop) {
				frpc_tx_uncork(conn, corked);
				return true;
			}
			if (!picked &&
			    (!conn->tx_stage_len || !frpc_conn_has_tp(conn))) {
				/* the guess behind the last MSG_MORE was wrong */
				frpc_tx_uncork(conn, corked);
				return yielded;
			}
			if (!picked) {
				/* the staged frames are the last */
				frpc_tx_stage_attach(conn);
			} else {
				/*
				 * Never corked here: a frame goes with
				 * MSG_MORE only when the budget outlasts it;
				 * and nothing is staged, as staging does not
				 * spend the budget.
				 */
				if (!budget)
					return true;
				/*
				 * This frame goes first in the next pass;
				 * frames staged before it must not wait.
				 */
				if (!until && ++frames > FRPC_TX_FRAMES &&
				    !conn->tx_stage_len) {
					frpc_tx_uncork(conn, corked);
					return true;
				}
				if (!until && frpc_tx_stage(conn, more))
					continue;
				if (conn->tx_stage_len)
					frpc_tx_stage_attach(conn);
			}
		}
		timeo = 0;
		if (until) {
			/* a deadline for all, not each send: a peer that
			 * reads a byte at a time cannot hold us
			 */
			timeo = (long)(*until - jiffies);
			/* never corked: no MSG_MORE with a deadline */
			if (timeo <= 0)
				return false;
		}
		flags = more && !until && budget > f->left && !f->push ?
			MSG_MORE : 0;
		ret = frpc_tp_send(conn, f->iov, f->niov, f->push ?: f->left,
				   timeo, flags);
		if (ret == -EAGAIN) {
			/* TCP is full and sends on as ACKs come; push anyway */
			frpc_tx_uncork(conn, corked);
			return false;
		}
		if (ret < 0) {
			/* the connection is failed: nothing held back matters */
			frpc_conn_fail(conn, ret, FASTRPC_WERR_NONE);
			return false;
		}
		/* a write without MSG_MORE pushes what came before it too */
		corked = flags;
		f->push -= min_t(size_t, f->push, ret);
		wrote = true;
		frpc_txframe_advance(f, ret);
		budget -= min_t(size_t, budget, ret);
	}
}

static void frpc_conn_queue_tx_work(struct frpc_conn *conn)
{
	kref_get(&conn->ref);
	if (!queue_work(frpc_wq, &conn->tx_work))
		frpc_conn_put(conn);
}

void frpc_conn_tx_workfn(struct work_struct *work)
{
	struct frpc_conn *conn = container_of(work, struct frpc_conn, tx_work);
	bool more = false;

	mutex_lock(&conn->tx_mutex);
	if (frpc_conn_has_tp(conn))
		more = frpc_conn_tx_flush(conn, FRPC_TX_WORK_BUDGET, NULL, NULL);
	mutex_unlock(&conn->tx_mutex);
	/* let other connections' work run between bulk batches */
	if (more)
		frpc_conn_queue_tx_work(conn);
	frpc_conn_put(conn);
}

/*
 * Is there anything for a flush to write?  A look without conn->lock, for
 * the writer that just sent its own frame directly and usually finds
 * nothing: whoever queues a frame kicks after it, and that kick either
 * gets tx_mutex once we let it go or leaves the frame to the work item.
 * tx_mutex held.
 */
static bool frpc_tx_pending(struct frpc_conn *conn)
{
	lockdep_assert_held(&conn->tx_mutex);
	return conn->cur.left || conn->tx_stage_len ||
	       !list_empty_careful(&conn->ctrlq) ||
	       !list_empty_careful(&conn->ready);
}

/*
 * frpc_conn_kick() for a caller that took tx_mutex; releases it.  The
 * caller writes a little, not everybody's bulk data: a sender of @fs
 * leaves other sockets' long frames to the work item.
 */
void frpc_conn_kick_locked(struct frpc_conn *conn,
			   const struct frpc_sock *fs)
{
	bool more = false;

	lockdep_assert_held(&conn->tx_mutex);
	if (frpc_conn_has_tp(conn) && frpc_tx_pending(conn))
		more = frpc_conn_tx_flush(conn, FRPC_TX_KICK_BUDGET, NULL, fs);
	mutex_unlock(&conn->tx_mutex);
	if (more)
		frpc_conn_queue_tx_work(conn);
}

/*
 * Push frames out.  From process context the caller writes them itself
 * unless another writer is busy, which saves a context switch on the
 * latency path; the busy writer's loop, or the work item, sends ours.
 */
void frpc_conn_kick(struct frpc_conn *conn)
{
	if (mutex_trylock(&conn->tx_mutex))
		frpc_conn_kick_locked(conn, NULL);
	else
		frpc_conn_queue_tx_work(conn);
}

/*
 * From softirq context (receive, timers, write_space), and for a writer
 * that must not wait for tx_mutex (a staged sendmmsg() batch).
 */
void frpc_conn_kick_async(struct frpc_conn *conn)
{
	frpc_conn_queue_tx_work(conn);
}

/* Teardown: free everything queued; tx_mutex held, socket gone. */
void frpc_conn_tx_purge(struct frpc_conn *conn)
{
	struct frpc_txframe *f = &conn->cur;
	struct frpc_txbuf *buf, *next;
	struct frpc_txmsg *orphan;
	unsigned int n = 0;
	LIST_HEAD(ctrl);

	lockdep_assert_held(&conn->tx_mutex);
	spin_lock_bh(&conn->lock);
	list_splice_init(&conn->ctrlq, &ctrl);
	conn->ctrl_bytes = 0;
	orphan = conn->cur_orphan;
	conn->cur_orphan = NULL;
	conn->cur_msg = NULL;
	spin_unlock_bh(&conn->lock);

	/* up to FRPC_CTRL_MAX bytes of small frames: yield now and then */
	list_for_each_entry_safe(buf, next, &ctrl, node) {
		kfree(buf);
		if (!(++n % FRPC_REAP_BATCH))
			cond_resched();
	}
	kvfree(f->ctrl);
	frpc_txmsg_free(f->done);
	frpc_txmsg_free(orphan);
	if (f->done_call)
		frpc_call_free(f->done_call);
	memset(f, 0, sizeof(*f));
	conn->tx_stage_len = 0;
}
