// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rings: a socket's submission queue (SQ), completion queue (CQ) and
 * buffer area, shared with user space through mmap() (uapi: "Rings" in
 * linux/fastrpc.h, Documentation/rings.rst).
 *
 * The rings are a second way into the verbs of send.c and out of the
 * queue recv.c reads, not a second implementation of them: an SQ entry
 * becomes the same frpc_cmsgs and msghdr a sendmsg() would have built,
 * over the buffer area instead of user memory, and a message arriving at
 * the socket is taken off its queue exactly as recvmsg() takes it, then
 * copied into receive buffers with a CQ entry instead of control messages.
 *
 * Who runs them: send() with no verb (frpc_ring_enter()), and a work item
 * queued whenever a message reaches the socket, which delivers it and
 * then looks at the SQ too, so that user space that sees
 * FASTRPC_RING_NEED_WAKEUP clear may add entries without a system call.
 * Both hold ring->lock, so the kernel is one consumer of the SQ and one
 * producer of the CQ.
 *
 * Everything user space can write is hostile: the kernel reads each SQ
 * entry field once into struct frpc_ring_sqe and checks that copy; it
 * never reads back the indices it writes, clamps the ones it reads, and
 * every offset into the area is checked against the area before use.
 */
#include <linux/bitmap.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uio.h>
#include <linux/vmalloc.h>
#include <net/busy_poll.h>
#include <net/sock.h>

#include "call.h"
#include "cmsg.h"
#include "frpc.h"
#include "loop.h"
#include "recv.h"
#include "ring.h"
#include "send.h"
#include "sock.h"
#include "tx.h"
#include "wire.h"

/*
 * Layout of a queue's region.  The producer and the consumer index sit
 * two cache lines apart, so that the side writing one does not take the
 * other's line away (adjacent-line prefetch pairs lines).  Not ABI:
 * user space gets these from getsockopt(FASTRPC_RING).
 */
enum frpc_ring_layout {
	FRPC_RING_PROD_OFF	= 0,
	FRPC_RING_CONS_OFF	= 128,
	FRPC_RING_FLAGS_OFF	= 256,
	FRPC_RING_DESC_OFF	= 384,
};

int frpc_ring_check_setup(const struct fastrpc_ring_setup *s)
{
	u64 area = (u64)s->buf_size * s->buf_count;

	if (s->flags || s->reserved)
		return -EINVAL;
	if (!is_power_of_2(s->sq_entries) ||
	    s->sq_entries > FASTRPC_RING_MAX_ENTRIES ||
	    !is_power_of_2(s->cq_entries) ||
	    s->cq_entries > FASTRPC_RING_MAX_ENTRIES)
		return -EINVAL;
	if (!is_power_of_2(s->buf_size) || s->buf_size < FASTRPC_RING_MIN_BUF ||
	    s->buf_size > FASTRPC_RING_MAX_BUF)
		return -EINVAL;
	if (!s->buf_count || area > FASTRPC_RING_MAX_AREA)
		return -EINVAL;
	if (!s->rx_bufs || s->rx_bufs > s->buf_count)
		return -EINVAL;
	return 0;
}

/* Entries the SQ holds past @head; a producer index that ran ahead by
 * more than the ring is garbage, and yields no more than a ring's worth.
 */
u32 frpc_ring_sq_avail(u32 prod, u32 head, u32 entries)
{
	return min(prod - head, entries);
}

/* Free CQ entries; a consumer index ahead of the producer is garbage and
 * leaves no room, so the kernel never overwrites what it cannot know is
 * consumed.
 */
u32 frpc_ring_cq_room(u32 tail, u32 cons, u32 entries)
{
	u32 used = tail - cons;

	return used > entries ? 0 : entries - used;
}

/* A receive buffer offset as completions give it: a buffer's start. */
static bool frpc_ring_rx_off_ok(const struct frpc_ring_geom *g, u32 off)
{
	return !(off & ((1U << g->buf_shift) - 1)) &&
	       (off >> g->buf_shift) < g->rx_bufs;
}

/*
 * Is @e an entry the socket's role may submit, with every field in
 * range?  The buffer area bounds are checked here, once, on the copy.
 */
int frpc_ring_sqe_check(const struct frpc_ring_geom *g,
			const struct frpc_ring_sqe *e, bool server)
{
	u8 allowed = FASTRPC_SQE_RETURN_BUF;
	bool data = true;
	u64 end;

	if (e->reserved0 || e->reserved)
		return -EINVAL;
	switch (e->op) {
	case FASTRPC_OP_CALL:
		if (server)
			return -EINVAL;
		allowed |= FASTRPC_SQE_STREAM | FASTRPC_SQE_EOR;
		break;
	case FASTRPC_OP_SEND:
		/* a server ends a call with its REPLY, never a half-close */
		if (!server)
			allowed |= FASTRPC_SQE_EOR;
		break;
	case FASTRPC_OP_CANCEL:
		if (server)
			return -EINVAL;
		data = false;
		break;
	case FASTRPC_OP_REPLY:
		if (!server)
			return -EINVAL;
		break;
	case FASTRPC_OP_BUF_RETURN:
		allowed = 0;
		data = false;
		break;
	default:
		return -EINVAL;
	}
	/* lending is for a payload the kernel may read later */
	if (data)
		allowed |= FASTRPC_SQE_LEND;
	if ((e->flags & ~allowed) ||
	    ((e->flags & FASTRPC_SQE_LEND) && !e->len))
		return -EINVAL;
	/* what an op does not use is zero, so that it can mean more later */
	if (e->method && e->op != FASTRPC_OP_CALL && e->op != FASTRPC_OP_REPLY)
		return -EINVAL;
	if ((e->timeout_ns && e->op != FASTRPC_OP_CALL) ||
	    (e->meta_len && e->op != FASTRPC_OP_CALL &&
	     e->op != FASTRPC_OP_REPLY) ||
	    (e->smsg_len && e->op != FASTRPC_OP_REPLY))
		return -EINVAL;
	if (!data && (e->addr || e->len))
		return -EINVAL;
	if (e->meta_len > FASTRPC_MAX_METADATA ||
	    e->smsg_len > FASTRPC_MAX_STATUS_MSG)
		return -EINVAL;
	if (e->len > FASTRPC_MAX_MSG)
		return -EMSGSIZE;
	end = (u64)e->addr + e->meta_len + e->smsg_len + e->len;
	if (end > g->area_len)
		return -EFAULT;
	if (e->op == FASTRPC_OP_BUF_RETURN ||
	    (e->flags & FASTRPC_SQE_RETURN_BUF))
		return frpc_ring_rx_off_ok(g, e->buf) ? 0 : -EINVAL;
	return e->buf ? -EINVAL : 0;
}

/*
 * Lend a run of receive buffers for @need bytes; ring->lock held.
 * -ENOSPC while user space holds too many.
 */
int frpc_ring_buf_get(struct frpc_ring *ring, u32 need, u32 *off)
{
	u32 rx = ring->geom.rx_bufs, n, i;

	n = (need + (1U << ring->geom.buf_shift) - 1) >> ring->geom.buf_shift;
	if (n == 1) {
		/* one buffer, most messages: the hint's is usually free */
		i = ring->hint;
		if (i >= rx || test_bit(i, ring->lent))
			i = find_next_zero_bit(ring->lent, rx, i);
		if (i >= rx)
			i = find_first_zero_bit(ring->lent, rx);
		if (i >= rx)
			return -ENOSPC;
		__set_bit(i, ring->lent);
	} else {
		i = bitmap_find_next_zero_area(ring->lent, rx, ring->hint, n, 0);
		if (i >= rx)
			i = bitmap_find_next_zero_area(ring->lent, rx, 0, n, 0);
		if (i >= rx)
			return -ENOSPC;
		bitmap_set(ring->lent, i, n);
	}
	ring->run[i] = n;
	ring->hint = i + n < rx ? i + n : 0;
	*off = i << ring->geom.buf_shift;
	return 0;
}

/*
 * Is @off the start of a run lent to user space, and not promised back
 * already by a lent entry (FRPC_RING_RUN_BACK)?  ring->lock held.
 */
static bool frpc_ring_buf_lent(struct frpc_ring *ring, u32 off)
{
	u32 run;

	if (!frpc_ring_rx_off_ok(&ring->geom, off))
		return false;
	run = ring->run[off >> ring->geom.buf_shift];
	return run && !(run & FRPC_RING_RUN_BACK);
}

/*
 * A run comes back; anything but the start of a lent run is refused,
 * and so is a run a lent entry gives back with its SENT: user space
 * cannot give it twice.
 */
int frpc_ring_buf_put(struct frpc_ring *ring, u32 off)
{
	u32 i;

	if (!frpc_ring_buf_lent(ring, off))
		return -EINVAL;
	i = off >> ring->geom.buf_shift;
	if (ring->run[i] == 1)
		__clear_bit(i, ring->lent);
	else
		bitmap_clear(ring->lent, i, ring->run[i]);
	ring->run[i] = 0;
	return 0;
}

static void frpc_ring_post(struct frpc_ring *ring,
			   const struct fastrpc_cqe *cqe)
{
	u32 mask = ring->setup.cq_entries - 1;

	memcpy(&ring->cqes[ring->cq_tail & mask], cqe, sizeof(*cqe));
	ring->cq_tail++;
}

static u32 frpc_ring_room(struct frpc_ring *ring)
{
	/* pairs with user space's release of the entries it read */
	return frpc_ring_cq_room(ring->cq_tail, smp_load_acquire(ring->cq_cons),
				 ring->setup.cq_entries);
}

/*
 * CQ room for what consuming entries may post: the SENTs waiting for
 * room have it first.
 */
static u32 frpc_ring_sqe_room(struct frpc_ring *ring)
{
	u32 room = frpc_ring_room(ring), n = READ_ONCE(ring->sent_n);

	return room > n ? room - n : 0;
}

/* The completion of a received message, as recvmsg() would describe it. */
static void frpc_ring_post_msg(struct frpc_ring *ring, struct frpc_rxmsg *m,
			       bool server, u32 off, u16 flags)
{
	struct fastrpc_cqe cqe = {
		.id = m->id,
		.buf = off,
		.len = m->len,
		.meta_len = m->meta_len,
		.smsg_len = m->smsg_len,
		.flags = flags | (m->eor ? FASTRPC_CQE_F_EOR : 0),
	};

	if (server) {
		cqe.type = FASTRPC_CQE_INCOMING;
		cqe.method = m->method;
		cqe.timeout_ns = frpc_rxmsg_timeout_left(m);
		if (m->flags & FASTRPC_IN_CONT)
			cqe.flags |= FASTRPC_CQE_F_CONT;
		if (m->flags & FASTRPC_IN_CANCELLED)
			cqe.flags |= FASTRPC_CQE_F_CANCELLED;
		if (m->flags & FASTRPC_IN_DEADLINE)
			cqe.flags |= FASTRPC_CQE_F_DEADLINE;
	} else {
		cqe.type = FASTRPC_CQE_RESULT;
		cqe.res = m->eor ? m->status : 0;
	}
	frpc_ring_post(ring, &cqe);
}

static void frpc_ring_post_error(struct frpc_ring *ring,
				 const struct frpc_ring_sqe *e, u8 op,
				 int err)
{
	struct fastrpc_cqe cqe = {
		.id = e->id,
		.buf = e->buf,
		.res = err,
		.type = FASTRPC_CQE_ERROR,
		.op = op,
	};

	frpc_ring_post(ring, &cqe);
	frpc_count(frpc_net(sock_net(&ring->fs->sk)), ring_errors);
}

static void frpc_ring_sock_put(struct frpc_ring *ring);

/*
 * The last reference to a lent payload went (any context): queue it for
 * its FASTRPC_CQE_SENT (none if its entry failed), and with @kick have
 * the work item post it; the ring's own put does not kick, its caller
 * posts.  Drops the socket reference the lend held.
 */
static void frpc_lend_done(struct frpc_lend *l, bool kick)
{
	struct frpc_ring *ring = l->ring;
	unsigned long flags;
	bool queued = false;

	if (!l->quiet) {
		spin_lock_irqsave(&ring->sent_lock, flags);
		if (!ring->sent_stop) {
			list_add_tail(&l->node, &ring->sent);
			WRITE_ONCE(ring->sent_n, ring->sent_n + 1);
			queued = true;
		}
		spin_unlock_irqrestore(&ring->sent_lock, flags);
	}
	if (!queued)
		kfree(l);
	else if (kick)
		queue_work(system_highpri_wq, &ring->work);
	frpc_ring_sock_put(ring);
}

/*
 * A message that kept a lent payload is freed: written whole, or cut
 * short (@cut) by its call's end or its connection's.  Any context.
 */
void frpc_lend_put(struct frpc_lend *l, bool cut)
{
	if (cut)
		WRITE_ONCE(l->cut, true);
	if (refcount_dec_and_test(&l->ref))
		frpc_lend_done(l, true);
}

/*
 * Post the FASTRPC_CQE_SENT of lent payloads done with, as far as @room
 * goes, giving back the runs they were to give back; returns the room
 * left.  ring->lock held.
 */
static u32 frpc_ring_post_sent(struct frpc_ring *ring, u32 room)
{
	struct frpc_lend *l, *tmp;
	LIST_HEAD(done);

	lockdep_assert_held(&ring->lock);
	if (list_empty_careful(&ring->sent))
		return room;
	spin_lock_irq(&ring->sent_lock);
	while (room && !list_empty(&ring->sent)) {
		list_move_tail(ring->sent.next, &done);
		WRITE_ONCE(ring->sent_n, ring->sent_n - 1);
		room--;
	}
	spin_unlock_irq(&ring->sent_lock);
	list_for_each_entry_safe(l, tmp, &done, node) {
		struct fastrpc_cqe cqe = {
			.id = l->id,
			.buf = l->addr,
			.len = l->len,
			.res = READ_ONCE(l->cut) ? -ECANCELED : 0,
			.type = FASTRPC_CQE_SENT,
			.op = l->op,
		};

		frpc_ring_post(ring, &cqe);
		/* marked when consumed, so it is still the entry's run */
		if (l->give) {
			ring->run[l->buf >> ring->geom.buf_shift] &=
				~FRPC_RING_RUN_BACK;
			WARN_ON_ONCE(frpc_ring_buf_put(ring, l->buf));
		}
		kfree(l);
	}
	return room;
}

/* Copy a taken message into the run at @off: extras, then payload. */
static void frpc_ring_copy_msg(struct frpc_ring *ring, struct frpc_rxmsg *m,
			       u32 off)
{
	u32 extra = m->meta_len + m->smsg_len;
	u8 *dst = ring->area + off;

	if (extra)
		memcpy(dst, m->extra, extra);
	frpc_rxmsg_copy_to(m, dst + extra);
}

static void __frpc_ring_deliver(struct frpc_ring *ring, bool kick_async)
{
	u64 rx_area = (u64)ring->geom.rx_bufs << ring->geom.buf_shift;
	struct frpc_sock *fs = ring->fs;
	bool server = READ_ONCE(fs->role) == FRPC_ROLE_SERVER;
	struct frpc_rx_taken t;
	struct frpc_rxmsg *m;
	u32 room, need, off;

	room = frpc_ring_post_sent(ring, frpc_ring_room(ring));
	while (room && !list_empty_careful(&fs->rxq)) {
		spin_lock_bh(&fs->lock);
		m = list_first_entry_or_null(&fs->rxq, struct frpc_rxmsg, node);
		if (!m) {
			spin_unlock_bh(&fs->lock);
			break;
		}
		need = m->meta_len + m->smsg_len + m->len;
		if (need > rx_area) {
			/* never fits: recvmsg() reads it, the CQ says so */
			list_move_tail(&m->node, &ring->big);
			frpc_ring_post_msg(ring, m, server, FASTRPC_RING_NO_BUF,
					   FASTRPC_CQE_F_RECVMSG);
			spin_unlock_bh(&fs->lock);
			if (!(--room & 63))
				cond_resched();
			continue;
		}
		off = FASTRPC_RING_NO_BUF;
		if (need && frpc_ring_buf_get(ring, need, &off)) {
			spin_unlock_bh(&fs->lock);
			break;
		}
		frpc_recv_take(fs, m, &t);
		t.kick_async = kick_async;
		spin_unlock_bh(&fs->lock);
		if (need)
			frpc_ring_copy_msg(ring, m, off);
		frpc_ring_post_msg(ring, m, server, off, 0);
		frpc_recv_done(fs, &t);
		if (!(--room & 63))
			cond_resched();
	}
}

/*
 * Move complete messages from the socket's queue to the CQ, while the CQ
 * and the receive buffers have room; ring->lock held.  What does not fit
 * waits in the queue, charged to SO_RCVBUF as if recvmsg() were late.
 * Inline up to the look at the queues, which half the calls find empty
 * (the doorbell's pass after its entries, before anything came back).
 */
static __always_inline void frpc_ring_deliver(struct frpc_ring *ring,
					      bool kick_async)
{
	lockdep_assert_held(&ring->lock);
	/*
	 * Whoever delivers has looked (frpc_ring_queued()): not only a
	 * poller, also the doorbell and the work item, for a waiter that
	 * never polls again (io_uring's multishot poll takes the event from
	 * the wakeup itself).  Cleared, then the queue read.
	 */
	WRITE_ONCE(ring->poll_woken, false);
	smp_mb();	/* pairs with skwq_has_sleeper() in frpc_ring_queued() */
	if (list_empty_careful(&ring->fs->rxq) &&
	    list_empty_careful(&ring->sent))
		return;
	__frpc_ring_deliver(ring, kick_async);
}

/* Read entry @head of the SQ, each field once. */
static void frpc_ring_read_sqe(struct frpc_ring *ring, struct frpc_ring_sqe *e)
{
	const struct fastrpc_sqe *s;

	s = &ring->sqes[ring->sq_head & (ring->setup.sq_entries - 1)];
	e->op = READ_ONCE(s->op);
	e->flags = READ_ONCE(s->flags);
	e->meta_len = READ_ONCE(s->meta_len);
	e->method = READ_ONCE(s->method);
	e->id = READ_ONCE(s->id);
	e->addr = READ_ONCE(s->addr);
	e->len = READ_ONCE(s->len);
	e->buf = READ_ONCE(s->buf);
	e->smsg_len = READ_ONCE(s->smsg_len);
	e->reserved0 = READ_ONCE(s->reserved0);
	e->timeout_ns = READ_ONCE(s->timeout_ns);
	e->reserved = READ_ONCE(s->reserved);
}

/*
 * The lend of a FASTRPC_SQE_LEND entry's payload, one reference for the
 * verb; NULL without memory.
 */
static struct frpc_lend *frpc_ring_lend(struct frpc_ring *ring,
					const struct frpc_ring_sqe *e)
{
	struct frpc_lend *l = kmalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);

	if (!l)
		return NULL;
	refcount_set(&l->ref, 1);
	l->ring = ring;
	l->id = e->id;
	l->addr = e->addr;
	l->len = e->len;
	l->buf = e->buf;
	l->op = e->op;
	l->give = false;
	l->quiet = false;
	l->cut = false;
	/* the area lives as long as the socket: messages may outlive close */
	sock_hold(&ring->fs->sk);
	return l;
}

/*
 * Metadata whose framing is bad, found on the kernel's copy: the entry is
 * malformed after all (no RETURN_BUF), though frpc_ring_sqe_check() could
 * not tell.  Never a verb's error.
 */
#define FRPC_RING_BAD_META	(-EBADMSG)

/*
 * Run a checked entry through send.c's verbs; @more: entries follow, so
 * it may wait to go to TCP with them (MSG_BATCH).  -EAGAIN: not now;
 * FRPC_RING_BAD_META: malformed.
 */
static int frpc_ring_do(struct frpc_ring *ring, const struct frpc_ring_sqe *e,
			bool more, bool give_later, struct frpc_tx_plug *plug)
{
	u32 xlen = e->meta_len + e->smsg_len;
	struct frpc_cmsgs c = {};
	/* the verbs read only msg_flags and msg_iter, both set below */
	struct msghdr msg __uninitialized;
	struct frpc_lend *lend;
	u8 *extra = NULL;
	struct kvec kv;
	int ret;

	msg.msg_flags = 0;
	switch (e->op) {
	case FASTRPC_OP_BUF_RETURN:
		return frpc_ring_buf_put(ring, e->buf);
	case FASTRPC_OP_CALL:
		c.type = FASTRPC_CMSG_CALL;
		c.call.tag = e->id;
		c.call.method = e->method;
		if (e->flags & FASTRPC_SQE_STREAM)
			c.call.flags = FASTRPC_CALL_STREAM;
		c.has_timeout = e->timeout_ns;
		c.timeout_ns = e->timeout_ns;
		break;
	case FASTRPC_OP_SEND:
		c.type = FASTRPC_CMSG_SEND;
		c.send.id = e->id;
		break;
	case FASTRPC_OP_CANCEL:
		c.type = FASTRPC_CMSG_CANCEL;
		c.tag = e->id;
		break;
	case FASTRPC_OP_REPLY:
		c.type = FASTRPC_CMSG_REPLY;
		c.reply.handle = e->id;
		c.reply.status = e->method;
		break;
	}
	if (e->flags & FASTRPC_SQE_EOR)
		msg.msg_flags |= MSG_EOR;
	if (more)
		msg.msg_flags |= MSG_BATCH;
	if (xlen) {
		/* checked, then used: so copied out of user space's reach */
		extra = kmalloc(xlen, GFP_KERNEL);
		if (!extra)
			return -ENOMEM;
		memcpy(extra, ring->area + e->addr, xlen);
		if (e->meta_len && frpc_meta_check(extra, e->meta_len)) {
			kfree(extra);
			return FRPC_RING_BAD_META;
		}
		if (e->meta_len) {
			c.meta = extra;
			c.meta_len = e->meta_len;
		}
		if (e->smsg_len) {
			c.smsg = extra + e->meta_len;
			c.smsg_len = e->smsg_len;
		}
	}
	kv.iov_base = ring->area + e->addr + xlen;
	kv.iov_len = e->len;
	iov_iter_kvec(&msg.msg_iter, ITER_SOURCE, &kv, 1, e->len);
	lend = e->flags & FASTRPC_SQE_LEND ? frpc_ring_lend(ring, e) : NULL;
	if (e->flags & FASTRPC_SQE_LEND && !lend) {
		kfree(extra);
		return -ENOMEM;
	}
	c.lend = lend;
	c.plug = plug;
	/* one that cannot be staged: what is staged need not wait for it */
	if (e->len + xlen > FRPC_TX_SMALL_MAX)
		frpc_tx_unplug(plug);
	ret = frpc_send_verb(ring->fs, &c, &msg, e->len, 0);
	if (xlen)
		kfree(extra);
	if (lend) {
		/* a failed entry says so in its ERROR; no SENT follows */
		lend->quiet = ret < 0;
		lend->give = give_later && ret >= 0;
		/* promised back: refused if user space gives it too */
		if (lend->give)
			ring->run[e->buf >> ring->geom.buf_shift] |=
				FRPC_RING_RUN_BACK;
		if (refcount_dec_and_test(&lend->ref))
			frpc_lend_done(lend, false);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Consume SQ entries until it is empty or one cannot be taken now
 * (-EAGAIN); ring->lock held.  Each entry needs room in the CQ for the
 * error it may end with (two with FASTRPC_SQE_RETURN_BUF).
 */
static int frpc_ring_submit(struct frpc_ring *ring, u32 *consumed)
{
	struct frpc_net *fn = frpc_net(sock_net(&ring->fs->sk));
	bool server = READ_ONCE(ring->fs->role) == FRPC_ROLE_SERVER;
	struct frpc_tx_plug plug = {};
	u32 avail, room;
	int err = 0;

	/* pairs with user space's release of the entries it wrote */
	avail = frpc_ring_sq_avail(smp_load_acquire(ring->sq_prod),
				   ring->sq_head, ring->setup.sq_entries);
	room = frpc_ring_sqe_room(ring);
	while (avail) {
		struct frpc_ring_sqe e;
		bool give, lend, later;
		int ret;

		frpc_ring_read_sqe(ring, &e);
		ret = frpc_ring_sqe_check(&ring->geom, &e, server);
		give = !ret && e.op != FASTRPC_OP_BUF_RETURN &&
		       (e.flags & FASTRPC_SQE_RETURN_BUF);
		lend = !ret && (e.flags & FASTRPC_SQE_LEND);
		/* left in place: read again, as a new entry, next time */
		if (room < 1 + give) {
			room = frpc_ring_sqe_room(ring);
			if (room < 1 + give) {
				err = -EAGAIN;
				break;
			}
		}
		/* a lent run goes back with the SENT, if it can go back now */
		later = give && lend && frpc_ring_buf_lent(ring, e.buf);
		if (!ret)
			ret = frpc_ring_do(ring, &e, avail > 1, later, &plug);
		if (ret == FRPC_RING_BAD_META) {
			ret = -EINVAL;
			give = false;	/* malformed: does nothing at all */
		}
		if (ret == -EAGAIN) {
			err = ret;
			break;
		}
		if (ret) {
			frpc_ring_post_error(ring, &e, e.op, ret);
			room--;
		} else if (lend) {
			room--;		/* for its SENT, now or later */
		}
		/*
		 * A well-formed entry gives its buffer back whatever became
		 * of the operation; a malformed one does nothing at all.
		 */
		if (give && (ret || !later) && frpc_ring_buf_put(ring, e.buf)) {
			frpc_ring_post_error(ring, &e, FASTRPC_OP_BUF_RETURN,
					     -EINVAL);
			room--;
		}
		ring->sq_head++;
		(*consumed)++;
		avail--;
		/* up to four rings' worth per doorbell: let others run */
		if (!(*consumed & 63))
			cond_resched();
	}
	/* what the batch staged goes to TCP */
	frpc_tx_unplug(&plug);
	/* the entries are read: user space may write over them */
	smp_store_release(ring->sq_cons, ring->sq_head);
	if (err)
		frpc_count(fn, ring_refused);
	return err;
}

/*
 * Deliver and submit until the SQ stays empty, then tell user space that
 * new entries need send() again, unless the work item is queued and will
 * look at them.  The flag is set before the SQ is looked at a last time,
 * and user space stores its producer before it reads the flag, so one
 * of the two sees the other (a full barrier on each side).
 */
static int frpc_ring_run(struct frpc_ring *ring, u32 *consumed)
{
	unsigned int passes = 0;
	int err;

	for (;;) {
		/*
		 * Entries first: were the CQ filled with new messages
		 * before, a server whose SQ holds its replies could not
		 * have them taken until it reaped, and it may reap only
		 * once it can reply.  Then the messages, which the
		 * buffers given back may let in.
		 */
		err = frpc_ring_submit(ring, consumed);
		frpc_ring_deliver(ring, false);
		if (err || ++passes == 4)
			break;
		if (!work_pending(&ring->work))
			WRITE_ONCE(*ring->sq_flags, FASTRPC_RING_NEED_WAKEUP);
		/* flag, then SQ; user space: producer, then flag */
		smp_mb();
		if (!frpc_ring_sq_avail(READ_ONCE(*ring->sq_prod), ring->sq_head,
					ring->setup.sq_entries))
			return 0;
		WRITE_ONCE(*ring->sq_flags, 0);
	}
	/* stalled or out of passes: only a send() is sure to come back */
	WRITE_ONCE(*ring->sq_flags, FASTRPC_RING_NEED_WAKEUP);
	return err;
}

/* Make the new completions visible, then wake pollers; ring->lock held. */
static bool frpc_ring_publish(struct frpc_ring *ring)
{
	if (ring->cq_tail == ring->cq_published)
		return false;
	/* the entries are written before user space can see them */
	smp_store_release(ring->cq_prod, ring->cq_tail);
	WRITE_ONCE(ring->cq_published, ring->cq_tail);
	return true;
}

static void frpc_ring_work(struct work_struct *work)
{
	struct frpc_ring *ring = container_of(work, struct frpc_ring, work);
	struct frpc_sock *fs = ring->fs;
	struct mem_cgroup *old;
	bool wake = false;
	u32 consumed = 0;

	mutex_lock(&ring->lock);
	/*
	 * Released: the socket may be gone by now (frpc_ring_free() waits
	 * for this item, not for the socket), so nothing of it is touched.
	 * Alive: release, which waits for this item, has not passed
	 * frpc_ring_stop(), so the socket stays until the wakeup below.
	 */
	if (ring->dead) {
		mutex_unlock(&ring->lock);
		return;
	}
	/*
	 * Taken before the work: a reader that misses the lock later
	 * queues this item again.  Queueing has a full barrier, and so has
	 * clearing the pending bit before the item runs.
	 */
	if (READ_ONCE(ring->poll_missed)) {
		WRITE_ONCE(ring->poll_missed, false);
		wake = true;
	}
	/* what the entries allocate is the socket owner's, not the worker's */
	old = set_active_memcg(fs->memcg);
	frpc_ring_run(ring, &consumed);
	wake |= frpc_ring_publish(ring);
	set_active_memcg(old);
	mutex_unlock(&ring->lock);
	if (wake)
		fs->sk.sk_data_ready(&fs->sk);
}

/* The doorbell's work: consume the SQ, publish, wake pollers. */
static int frpc_ring_doorbell(struct frpc_ring *ring, u32 *consumed)
{
	bool wake;
	int err;

	if (mutex_lock_interruptible(&ring->lock))
		return -ERESTARTSYS;
	WRITE_ONCE(*ring->sq_flags, 0);
	err = frpc_ring_run(ring, consumed);
	wake = frpc_ring_publish(ring);
	mutex_unlock(&ring->lock);
	if (wake)
		ring->fs->sk.sk_data_ready(&ring->fs->sk);
	return err;
}

/*
 * Something for user space to reap: completions not consumed yet, or a
 * message that waits for recvmsg().  What poll() reports as EPOLLIN.
 */
static bool frpc_ring_ready(struct frpc_ring *ring)
{
	return READ_ONCE(ring->cq_published) != READ_ONCE(*ring->cq_cons) ||
	       !list_empty_careful(&ring->big);
}

/* Entries the doorbell left in the SQ (EAGAIN), now that it could go on? */
static bool frpc_ring_sq_stalled(struct frpc_ring *ring)
{
	return frpc_ring_sq_avail(READ_ONCE(*ring->sq_prod),
				  READ_ONCE(ring->sq_head),
				  ring->setup.sq_entries) &&
	       frpc_sock_can_send(ring->fs);
}

/*
 * A waiter leaves: a message queued after its last look saw it (a
 * sleeper or a spinner) and left the delivery to it.  The work item takes
 * that one.  Leaving, then looking, pairs with queueing, then the barrier
 * in skwq_has_sleeper() and the reads that follow it.
 */
static void frpc_ring_waiter_gone(struct frpc_ring *ring)
{
	smp_mb();	/* left the wait queue or the count, then the queue read */
	if (!list_empty_careful(&ring->fs->rxq))
		queue_work(system_highpri_wq, &ring->work);
}

/*
 * With SO_BUSY_POLL, send(MSG_WAITALL) first spins up to that many
 * microseconds (and no longer than @timeo) for something to reap,
 * delivering arriving messages itself: no wakeup, no switch, and no work
 * item either, which is what a message from TCP would otherwise cost
 * (softirq cannot take ring->lock).  frpc_ring_queued() leaves messages to
 * a spinner as to a poller.  Counted, then the queue read: pairs with
 * queueing, then the barrier in skwq_has_sleeper(), then reading the
 * count.  The spin ends early when another task wants the CPU, a signal
 * comes, or entries left in the SQ could go now (the sleeping wait
 * retries them).  True if something is there to reap; *@timeo is what is
 * left of the wait.
 */
static bool frpc_ring_spin(struct frpc_ring *ring, long *timeo)
{
	struct frpc_sock *fs = ring->fs;
	unsigned long start, start_j = jiffies;
	bool ready = false;

	if (!sk_can_busy_loop(&fs->sk))
		return false;
	start = busy_loop_current_time();
	atomic_inc(&ring->spinners);
	smp_mb__after_atomic();	/* counted, then the queue read */
	do {
		if (!list_empty_careful(&fs->rxq) ||
		    !list_empty_careful(&ring->sent) || frpc_ring_ready(ring)) {
			ready = frpc_ring_readable(ring);
			if (ready)
				break;
		}
		if (need_resched() || signal_pending(current) ||
		    frpc_ring_sq_stalled(ring) || frpc_server_drained(fs))
			break;
		if (*timeo != MAX_SCHEDULE_TIMEOUT &&
		    time_after_eq(jiffies, start_j + *timeo))
			break;
		cpu_relax();
	} while (!sk_busy_loop_timeout(&fs->sk, start));
	atomic_dec(&ring->spinners);
	frpc_ring_waiter_gone(ring);
	if (*timeo != MAX_SCHEDULE_TIMEOUT)
		*timeo = max_t(long, *timeo - (long)(jiffies - start_j), 0);
	return ready;
}

/*
 * A drained server socket (frpc_server_drained()) with no message left
 * on its way to the CQ: no completion will ever come.  Read under
 * fs->lock, which the last connection's close took after its payloads'
 * SENT were queued, and before the CQ is looked at: what it queued is
 * seen there.
 */
static bool frpc_ring_eof(struct frpc_ring *ring)
{
	struct frpc_sock *fs = ring->fs;
	bool eof;

	if (!frpc_server_drained(fs))
		return false;
	spin_lock_bh(&fs->lock);
	eof = frpc_server_drained(fs) && list_empty(&fs->rxq);
	spin_unlock_bh(&fs->lock);
	return eof;
}

/*
 * Deliver and publish in a waiter's or poller's own thread, then let go
 * of ring->lock, which the caller took.  It reports what it delivered
 * itself; only a recvmsg() sleeper may need waking, for a message set
 * aside for it.
 */
static __always_inline void frpc_ring_deliver_unlock(struct frpc_ring *ring)
{
	struct frpc_sock *fs = ring->fs;
	bool posted = false;

	if (!ring->dead) {
		frpc_ring_deliver(ring, false);
		posted = frpc_ring_publish(ring);
	}
	mutex_unlock(&ring->lock);
	if (posted && atomic_read(&fs->waiters))
		fs->sk.sk_data_ready(&fs->sk);
}

/*
 * The end of file seen (frpc_ring_eof()), but another deliverer (the work
 * item, a poller) may still hold the last messages between the socket's
 * queue and the CQ: they land while it holds ring->lock, which is waited
 * for here.  True if there is something to reap after all.
 */
static bool frpc_ring_settle(struct frpc_ring *ring)
{
	mutex_lock(&ring->lock);
	frpc_ring_deliver_unlock(ring);
	return frpc_ring_ready(ring);
}

/*
 * send(MSG_WAITALL): sleep until there is something to reap, as a poller
 * would, and like one deliver what arrives in this thread
 * (frpc_ring_readable()); so not counted in fs->waiters, whose sleepers
 * deliver nothing.  Joining the wait queue, then looking (the barrier in
 * frpc_ring_readable()), pairs with frpc_ring_queued()'s queueing, then
 * skwq_has_sleeper(); wait_woken() keeps a wakeup that comes between the
 * look and the sleep.
 *
 * Entries the doorbell had to leave in the SQ for want of send room or
 * an open connection (EAGAIN) are consumed here once there is room: what
 * wakes EPOLLOUT pollers wakes this wait too, and the first look after
 * joining the queue tries too (the room may have come before).  Once per
 * wakeup, so that a stall for another reason cannot make it spin.  Left
 * for the next send(), they might be what the awaited completion depends
 * on (a reply the peer waits for before it answers).  Entries left for
 * want of CQ room need no such care: the CQ is readable then.
 */
static int frpc_ring_wait(struct frpc_ring *ring, long timeo, u32 *consumed)
{
	struct frpc_sock *fs = ring->fs;
	struct sock *sk = &fs->sk;
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	bool retry = true;
	int err = 0;

	if (timeo && frpc_ring_spin(ring, &timeo))
		return 0;
	add_wait_queue(sk_sleep(sk), &wait);
	/*
	 * Queued, then the counts read below: pairs with skwq_has_sleeper()
	 * in frpc_sock_wake_eof(), which writes them, then looks for us.
	 */
	smp_mb();
	for (;;) {
		/* a shut_rd read, and the counts once shut: no call */
		bool eof = frpc_server_drained(fs) && frpc_ring_eof(ring);

		if (frpc_ring_readable(ring))
			break;
		if (eof) {
			if (!frpc_ring_settle(ring))
				err = -ESHUTDOWN;
			break;
		}
		if (retry && frpc_ring_sq_stalled(ring)) {
			retry = false;
			frpc_ring_doorbell(ring, consumed);
			continue;
		}
		if (!timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(timeo);
			break;
		}
		timeo = wait_woken(&wait, TASK_INTERRUPTIBLE, timeo);
		retry = true;
	}
	remove_wait_queue(sk_sleep(sk), &wait);
	frpc_ring_waiter_gone(ring);
	return err;
}

/*
 * send() with no verb on a socket with rings: consume the SQ; with @wait
 * (MSG_WAITALL), then wait up to @timeo for a completion to reap, so that
 * one system call both submits and sleeps.  The entries consumed; if none
 * were, how the wait ended (timeout, signal, ESHUTDOWN: a drained server
 * gets no more completions), else the SQ's error (EAGAIN: entries left,
 * which user space sees in the SQ too).
 */
int frpc_ring_enter(struct frpc_sock *fs, bool wait, long timeo)
{
	struct frpc_ring *ring = frpc_sock_ring(fs);
	u32 consumed = 0;
	int err, werr = 0;

	err = frpc_ring_doorbell(ring, &consumed);
	if (err == -ERESTARTSYS)
		return err;
	if (wait)
		werr = frpc_ring_wait(ring, timeo, &consumed);
	if (consumed)
		return consumed;
	return werr ? werr : err;
}

/*
 * A message reached the socket (conn->lock held, softirq or not).  A
 * thread asleep in poll() on the socket is woken and delivers it itself
 * (frpc_ring_readable()), which saves a switch to a worker and back.
 * Otherwise, for a process that spins on the CQ, the work item delivers
 * it and looks at the SQ, so until it has run user space need not call
 * send().  The poller's check of the queue after it joined the wait
 * queue pairs with skwq_has_sleeper()'s barrier after the message was
 * queued: it sees the message, or it is seen.  Sleepers in sendmsg() or
 * recvmsg() deliver nothing, so while there are any the worker runs too;
 * and so does it for good once someone has waited for events without
 * EPOLLIN (fs->blind_poll), whom the wakeup passes by.
 */
void frpc_ring_queued(struct frpc_ring *ring, struct frpc_conn *conn)
{
	struct frpc_sock *fs = ring->fs;
	struct sock *sk = &fs->sk;
	bool sleeper;

	/* released: nobody reads the rings any more, the purge frees it */
	if (READ_ONCE(ring->dead))
		return;
	rcu_read_lock();
	sleeper = skwq_has_sleeper(rcu_dereference(sk->sk_wq));
	rcu_read_unlock();
	if (sleeper) {
		/*
		 * Once per look: a poller woken for an earlier message has
		 * yet to clear the flag and read the queue, which holds this
		 * one (frpc_ring_readable()); a burst of frames then costs
		 * one wakeup, not one each.  The message is queued, then the
		 * flag read (skwq_has_sleeper()'s barrier between); the
		 * poller clears it, then reads the queue.
		 */
		if (!READ_ONCE(ring->poll_woken)) {
			WRITE_ONCE(ring->poll_woken, true);
			sk->sk_data_ready(sk);
		}
		/*
		 * queued to wait after counted, or marked blind: pairs with
		 * frpc_wait_rx() and frpc_poll()
		 */
		smp_rmb();
		if (!atomic_read(&fs->waiters) && !READ_ONCE(fs->blind_poll))
			return;
	}
	/* a thread spinning in send(MSG_WAITALL) delivers it (frpc_ring_spin()) */
	if (atomic_read(&ring->spinners) && !atomic_read(&fs->waiters))
		return;
	/* the same-host writer that brought it delivers it, if it can */
	if (frpc_loop_defer_ring(conn, ring, sk))
		return;
	WRITE_ONCE(*ring->sq_flags, 0);
	queue_work(system_highpri_wq, &ring->work);
}

static void frpc_ring_put_workfn(struct work_struct *work)
{
	struct frpc_ring *ring = container_of(work, struct frpc_ring, put_work);

	sock_put(&ring->fs->sk);	/* destruct frees @ring: allowed here */
}

/*
 * Drop the reference frpc_loop_defer_ring() took.  Not the last one in
 * the writer's context: destruct frees the ring and waits for its work
 * item, which must not happen under the writer's locks (its own ring's,
 * maybe); that one goes to a worker.  Only one holder can see itself
 * last, so put_work is never wanted twice at once.
 */
static void frpc_ring_sock_put(struct frpc_ring *ring)
{
	if (!refcount_dec_not_one(&ring->fs->sk.sk_refcnt))
		queue_work(frpc_wq, &ring->put_work);
}

/*
 * Deliver what frpc_ring_queued() left to the same-host writer (NULL:
 * nothing), in that writer's context once it holds no spinlock: no switch
 * to the work item and back.  Only the messages: the SQ is left to
 * user space's send(), whose need the flag still shows.  It writes
 * nothing either: frames that reading the messages makes due (credit)
 * go to the receiving connection's work item, so that one delivery never
 * nests another under this writer's tx_mutex.  The lock may be held by
 * send() or the worker, possibly this very writer further up its stack:
 * then the work item, as before.  Drops the reference the deferral took
 * on the socket.
 */
void frpc_ring_deliver_deferred(struct frpc_ring *ring)
{
	struct frpc_sock *fs;
	struct mem_cgroup *old;
	bool wake = false;

	if (!ring)
		return;
	fs = ring->fs;
	if (mutex_trylock(&ring->lock)) {
		if (!ring->dead) {
			old = set_active_memcg(fs->memcg);
			frpc_ring_deliver(ring, true);
			wake = frpc_ring_publish(ring);
			set_active_memcg(old);
		}
		mutex_unlock(&ring->lock);
		if (wake) {
			frpc_count(frpc_net(sock_net(&fs->sk)), ring_direct);
			fs->sk.sk_data_ready(&fs->sk);
		}
	} else if (!READ_ONCE(ring->dead)) {
		WRITE_ONCE(*ring->sq_flags, 0);
		queue_work(system_highpri_wq, &ring->work);
	}
	frpc_ring_sock_put(ring);
}

/*
 * poll(): EPOLLIN while completions are not yet consumed, or a message
 * waits for recvmsg().  Queued messages are delivered first, here in the
 * poller's context: those frpc_ring_queued() woke it for, and those that
 * waited for CQ room or buffers that user space may have made since
 * without a system call.  If someone else holds the lock, the work item
 * delivers them and wakes the pollers.
 */
bool frpc_ring_readable(struct frpc_ring *ring)
{
	struct frpc_sock *fs = ring->fs;

	/* later messages wake pollers again (frpc_ring_queued()) */
	WRITE_ONCE(ring->poll_woken, false);
	smp_mb();	/* pairs with skwq_has_sleeper() in frpc_ring_queued() */
	if (list_empty_careful(&fs->rxq) && list_empty_careful(&ring->sent))
		goto out;
	if (mutex_trylock(&ring->lock)) {
		frpc_ring_deliver_unlock(ring);
	} else {
		/*
		 * The holder may be past its delivery, or a reader that
		 * wakes only recvmsg() sleepers: the worker wakes us, even
		 * with nothing left to publish (poll_missed).
		 */
		WRITE_ONCE(ring->poll_missed, true);
		queue_work(system_highpri_wq, &ring->work);
	}
out:
	return frpc_ring_ready(ring);
}

static void frpc_region_free(struct frpc_ring_region *r)
{
	unsigned int i;

	if (r->kaddr)
		vunmap(r->kaddr);
	/*
	 * A mapping holds the socket's file, so none is left by now; the
	 * references are dropped all the same, not the pages freed.
	 */
	for (i = 0; i < r->nr_pages; i++) {
		put_page(r->pages[i]);
		/* up to 1 GiB of them; every caller may sleep */
		if (!((i + 1) % FRPC_REAP_BATCH))
			cond_resched();
	}
	kvfree(r->pages);
	memset(r, 0, sizeof(*r));
}

/*
 * Pages charged to the caller's memory cgroup, mapped contiguously in
 * the kernel with VM_USERMAP so that remap_vmalloc_range() maps them to
 * user space (vmalloc_user() cannot charge them).
 */
static int frpc_region_alloc(struct frpc_ring_region *r, size_t size)
{
	unsigned int i, n = PAGE_ALIGN(size) >> PAGE_SHIFT;

	r->pages = kvcalloc(n, sizeof(*r->pages), GFP_KERNEL_ACCOUNT);
	if (!r->pages)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		r->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!r->pages[i])
			break;
		r->nr_pages++;
		cond_resched();
	}
	if (i == n)
		r->kaddr = vmap(r->pages, n, VM_MAP | VM_USERMAP, PAGE_KERNEL);
	if (!r->kaddr) {
		frpc_region_free(r);
		return -ENOMEM;
	}
	return 0;
}

static void frpc_ring_free_now(struct frpc_ring *ring)
{
	/*
	 * Release cancelled the work item, but a message queued while it
	 * ran may have read ring->dead before it was set and queued it
	 * again after; it finds the ring dead and returns at once.
	 */
	cancel_work_sync(&ring->work);
	frpc_region_free(&ring->sq_mem);
	frpc_region_free(&ring->cq_mem);
	frpc_region_free(&ring->area_mem);
	bitmap_free(ring->lent);
	kvfree(ring->run);
	kfree(ring);
}

static void frpc_ring_free_work(struct work_struct *work)
{
	frpc_ring_free_now(container_of(work, struct frpc_ring, free_work));
}

/*
 * At socket destruct, which can come from softirq or under a spinlock
 * (the last reference of a server socket may go with its last
 * connection, reaped by a timer or the reader): vunmap() sleeps, so it
 * is left to frpc_wq then, which module exit drains.
 */
void frpc_ring_free(struct frpc_ring *ring)
{
	if (!ring)
		return;
	if (preemptible()) {
		frpc_ring_free_now(ring);
		return;
	}
	INIT_WORK(&ring->free_work, frpc_ring_free_work);
	queue_work(frpc_wq, &ring->free_work);
}

static struct frpc_ring *frpc_ring_alloc(struct frpc_sock *fs,
					 const struct fastrpc_ring_setup *s)
{
	struct frpc_ring *ring;
	u8 *sq, *cq;
	int err;

	ring = kzalloc(sizeof(*ring), GFP_KERNEL_ACCOUNT);
	if (!ring)
		return ERR_PTR(-ENOMEM);
	ring->fs = fs;
	ring->setup = *s;
	ring->geom.area_len = s->buf_size * s->buf_count;
	ring->geom.buf_shift = ilog2(s->buf_size);
	ring->geom.rx_bufs = s->rx_bufs;
	mutex_init(&ring->lock);
	INIT_WORK(&ring->work, frpc_ring_work);
	INIT_WORK(&ring->put_work, frpc_ring_put_workfn);
	INIT_LIST_HEAD(&ring->big);
	spin_lock_init(&ring->sent_lock);
	INIT_LIST_HEAD(&ring->sent);

	err = frpc_region_alloc(&ring->sq_mem, FRPC_RING_DESC_OFF +
				(size_t)s->sq_entries *
				sizeof(struct fastrpc_sqe));
	if (!err)
		err = frpc_region_alloc(&ring->cq_mem, FRPC_RING_DESC_OFF +
					(size_t)s->cq_entries *
					sizeof(struct fastrpc_cqe));
	if (!err)
		err = frpc_region_alloc(&ring->area_mem, ring->geom.area_len);
	if (err)
		goto err;
	err = -ENOMEM;
	ring->lent = bitmap_zalloc(s->rx_bufs, GFP_KERNEL_ACCOUNT);
	ring->run = kvcalloc(s->rx_bufs, sizeof(*ring->run),
			     GFP_KERNEL_ACCOUNT);
	if (!ring->lent || !ring->run)
		goto err;

	sq = ring->sq_mem.kaddr;
	cq = ring->cq_mem.kaddr;
	ring->sq_prod = (u32 *)(sq + FRPC_RING_PROD_OFF);
	ring->sq_cons = (u32 *)(sq + FRPC_RING_CONS_OFF);
	ring->sq_flags = (u32 *)(sq + FRPC_RING_FLAGS_OFF);
	ring->sqes = (struct fastrpc_sqe *)(sq + FRPC_RING_DESC_OFF);
	ring->cq_prod = (u32 *)(cq + FRPC_RING_PROD_OFF);
	ring->cq_cons = (u32 *)(cq + FRPC_RING_CONS_OFF);
	ring->cqes = (struct fastrpc_cqe *)(cq + FRPC_RING_DESC_OFF);
	ring->area = ring->area_mem.kaddr;
	*ring->sq_flags = FASTRPC_RING_NEED_WAKEUP;
	return ring;
err:
	frpc_ring_free(ring);
	return ERR_PTR(err);
}

int frpc_ring_setsockopt(struct frpc_sock *fs, sockptr_t optval,
			 unsigned int optlen)
{
	struct fastrpc_ring_setup s;
	struct frpc_ring *ring;
	int err;

	if (optlen != sizeof(s))
		return -EINVAL;
	if (copy_from_sockptr(&s, optval, sizeof(s)))
		return -EFAULT;
	err = frpc_ring_check_setup(&s);
	if (err)
		return err;

	lock_sock(&fs->sk);
	if (fs->ring) {
		err = -EBUSY;
		goto out;
	}
	ring = frpc_ring_alloc(fs, &s);
	if (IS_ERR(ring)) {
		err = PTR_ERR(ring);
		goto out;
	}
	/*
	 * From here on, messages go to the CQ, those already queued too.
	 * Published initialised: pairs with frpc_sock_ring().
	 */
	smp_store_release(&fs->ring, ring);
	queue_work(system_highpri_wq, &ring->work);
out:
	release_sock(&fs->sk);
	return err;
}

int frpc_ring_getsockopt(struct frpc_sock *fs, char __user *optval,
			 int __user *optlen, int len)
{
	struct frpc_ring *ring = frpc_sock_ring(fs);
	struct fastrpc_ring_info info = { .size = sizeof(info) };

	if (!ring)
		return -ENXIO;
	/* older callers may know a shorter struct, never one without @cq */
	if (len < (int)offsetofend(struct fastrpc_ring_info, cq))
		return -EINVAL;
	len = min_t(int, len, sizeof(info));
	info.setup = ring->setup;
	info.sq.producer = FRPC_RING_PROD_OFF;
	info.sq.consumer = FRPC_RING_CONS_OFF;
	info.sq.flags = FRPC_RING_FLAGS_OFF;
	info.sq.desc = FRPC_RING_DESC_OFF;
	info.cq = info.sq;
	info.sq_size = (u64)ring->sq_mem.nr_pages << PAGE_SHIFT;
	info.cq_size = (u64)ring->cq_mem.nr_pages << PAGE_SHIFT;
	info.buf_size = (u64)ring->area_mem.nr_pages << PAGE_SHIFT;
	if (copy_to_user(optval, &info, len) || put_user(len, optlen))
		return -EFAULT;
	return 0;
}

int frpc_ring_mmap(struct frpc_sock *fs, struct vm_area_struct *vma)
{
	struct frpc_ring *ring = frpc_sock_ring(fs);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct frpc_ring_region *r;

	if (!ring)
		return -ENXIO;
	if (off == FASTRPC_RING_OFF_SQ)
		r = &ring->sq_mem;
	else if (off == FASTRPC_RING_OFF_CQ)
		r = &ring->cq_mem;
	else if (off == FASTRPC_RING_OFF_BUF)
		r = &ring->area_mem;
	else
		return -EINVAL;
	/*
	 * A private mapping would copy a page at user space's first write
	 * and never see the kernel's writes again; the pages hold no code.
	 */
	if (!(vma->vm_flags & VM_SHARED) || (vma->vm_flags & VM_EXEC))
		return -EINVAL;
	frpc_vma_clear_flags(vma, VM_MAYEXEC);
	if (vma->vm_end - vma->vm_start > (unsigned long)r->nr_pages << PAGE_SHIFT)
		return -EINVAL;
	return remap_vmalloc_range(vma, r->kaddr, 0);
}

/*
 * The socket is being released, before its lock is taken: stop the work
 * item for good, and hand the messages set aside for recvmsg() back to
 * the receive queue that release purges.
 */
void frpc_ring_stop(struct frpc_sock *fs)
{
	struct frpc_ring *ring = fs->ring;
	struct frpc_lend *l, *tmp;
	LIST_HEAD(sent);

	if (!ring)
		return;
	mutex_lock(&ring->lock);
	WRITE_ONCE(ring->dead, true);
	spin_lock_bh(&fs->lock);
	list_splice_init(&ring->big, &fs->rxq);
	spin_unlock_bh(&fs->lock);
	/* nobody reaps SENTs now: the lends still out free themselves */
	spin_lock_irq(&ring->sent_lock);
	ring->sent_stop = true;
	list_splice_init(&ring->sent, &sent);
	ring->sent_n = 0;
	spin_unlock_irq(&ring->sent_lock);
	mutex_unlock(&ring->lock);
	cancel_work_sync(&ring->work);
	list_for_each_entry_safe(l, tmp, &sent, node)
		kfree(l);
}
