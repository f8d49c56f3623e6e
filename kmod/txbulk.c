// SPDX-License-Identifier: GPL-2.0-only
/*
 * Long messages written by their sender.
 *
 * A message over a quantum used to be copied whole into a kernel buffer,
 * which init_on_alloc clears first, before the scheduler cut it into
 * frames: three passes over each byte where a TCP write makes one.  When
 * the connection has nothing else to send, the sender now writes the
 * frames itself, from its own pages, held for the length of the system
 * call: TCP copies each byte once, as it does for a plain TCP write.
 *
 * It stops at the first frame that should not go yet: another call ready
 * or a control frame queued (fairness: from there on the scheduler takes
 * turns frame by frame, as before), no credit, or TCP full; a blocking
 * sender short of its call's credit waits a moment for the peer's CREDIT
 * frame first (frpc_txbulk_wait()).  What is left
 * is then copied and queued like any message, from the held pages, so a
 * bad user pointer never leaves half a message on the wire: it fails the
 * send before the first frame (frpc_txbulk_get()).
 */
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "sock.h"
#include "transport.h"
#include "tx.h"
#include "txbulk.h"
#include "wire.h"

/*
 * Take the @len bytes at @from, which moves on: kernel memory as it is,
 * user memory by a reference on each of its pages.  An error, with @from
 * as it was, when they cannot be had (a bad address, memory only copying
 * reads): the caller then copies the message as before, which tells a bad
 * address with -EFAULT.
 */
int frpc_txbulk_get(struct frpc_txbulk *b, struct iov_iter *from, u32 len)
{
	unsigned int max;
	u32 got = 0;
	int err;

	b->nr_pages = 0;
	b->pages = NULL;
	b->bvec = NULL;
	if (iov_iter_is_kvec(from)) {
		b->it = *from;
		iov_iter_truncate(&b->it, len);
		iov_iter_advance(from, len);
		return 0;
	}
	max = iov_iter_npages(from, INT_MAX);
	b->pages = kvmalloc_array(max, sizeof(*b->pages), GFP_KERNEL);
	b->bvec = kvmalloc_array(max, sizeof(*b->bvec), GFP_KERNEL);
	err = -ENOMEM;
	if (!b->pages || !b->bvec)
		goto fail;
	err = frpc_tx_get_pages(from, len, b->pages, b->bvec, max,
				&b->nr_pages, &got);
	if (err)
		goto fail;
	iov_iter_bvec(&b->it, ITER_SOURCE, b->bvec, b->nr_pages, len);
	return 0;

fail:
	iov_iter_revert(from, got);
	__frpc_txbulk_release(b);
	return err;
}

void __frpc_txbulk_release(struct frpc_txbulk *b)
{
	while (b->nr_pages)
		put_page(b->pages[--b->nr_pages]);
	kvfree(b->pages);
	kvfree(b->bvec);
	b->pages = NULL;
	b->bvec = NULL;
}

/*
 * May the next frame of call @id, of at most @left bytes, go now, ahead
 * of nothing?  Returns its size, with the credit for it taken, or 0.  The
 * call is found again each time: it may end (a cancel, a deadline, the
 * connection failing) while a frame is written.  @starved: 0 only for
 * want of the call's credit; with @wait the call is then marked to be
 * woken when its credit comes (frpc_credit_received()).  conn->lock held.
 */
static u32 frpc_txbulk_claim(struct frpc_conn *conn, u32 id, u32 left,
			     bool count, bool wait, bool *starved)
{
	struct frpc_call *call;
	u32 chunk;

	lockdep_assert_held(&conn->lock);
	*starved = false;
	if (!frpc_conn_has_tp(conn) || conn->cur.left || conn->tx_stage_len ||
	    !list_empty(&conn->ctrlq) || !list_empty(&conn->ready) ||
	    (conn->state != FRPC_CONN_READY &&
	     conn->state != FRPC_CONN_DRAINING))
		return 0;
	call = frpc_call_find(conn, id);
	/* call->tx_bulk: ours, so what others queued on the call waits */
	if (!call || call->state != FRPC_CALL_OPEN || !call->tx_bulk)
		return 0;
	chunk = min(frpc_frame_chunk(left, call->tx_credit, conn->tx_credit),
		    frpc_tx_quantum(conn));
	if (!chunk && conn->tx_credit) {
		call->tx_waiting = wait;
		*starved = true;
	}
	call->tx_credit -= chunk;
	conn->tx_credit -= chunk;
	if (count)
		frpc_call_count_tx(call, chunk);
	return chunk;
}

/* Has the wait for call @id's credit an end: credit, or no call to send? */
static bool frpc_txbulk_woken(struct frpc_conn *conn, u32 id)
{
	struct frpc_call *call;
	bool woken;

	spin_lock_bh(&conn->lock);
	call = frpc_call_find(conn, id);
	woken = !call || call->tx_credit || call->state != FRPC_CALL_OPEN ||
		(conn->state != FRPC_CONN_READY &&
		 conn->state != FRPC_CONN_DRAINING);
	spin_unlock_bh(&conn->lock);
	return woken;
}

/*
 * The call's window is used up and the rest of the message is waiting:
 * give the peer's CREDIT frame a moment to come back, without tx_mutex
 * (which writes what we owe the peer, our own CREDIT frames among it),
 * instead of copying all of the rest at once.  The peer grants as bytes
 * arrive unless its application does not read, so the wait is short, and
 * bounded by FRPC_TX_BULK_WAIT_MS and the send timeout; a signal ends it
 * too.  True with tx_mutex held again when the sender should go on.
 */
static bool frpc_txbulk_wait(struct frpc_conn *conn, struct frpc_sock *fs,
			     u32 id, long *timeo)
{
	long t = min_t(long, *timeo, msecs_to_jiffies(FRPC_TX_BULK_WAIT_MS));
	bool more;

	mutex_unlock(&conn->tx_mutex);
	/*
	 * Counted as a sleeper that delivers nothing to the rings, so that
	 * a message arriving meanwhile has the ring's work item deliver it
	 * (frpc_ring_queued()).
	 */
	atomic_inc(&fs->waiters);
	/* counted before queued to wait: pairs with frpc_ring_queued() */
	smp_mb__after_atomic();
	more = t > 0 &&
	       wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
						frpc_txbulk_woken(conn, id),
						t) > 0;
	atomic_dec(&fs->waiters);
	mutex_lock(&conn->tx_mutex);
	return more;
}

/*
 * Write DATA frames of call @id from @b while frpc_txbulk_claim() lets
 * them go; the one that ends the message carries @last_flags.  @b moves
 * past what was written, which is returned.  @count: the bytes are not
 * counted for fastrpc:call_end yet.  @timeo: how long a blocking sender
 * of @fs may wait for credit (frpc_txbulk_wait()), 0 for not at all.
 * tx_mutex held (it may be let go and taken again), no spinlock.
 */
u32 frpc_txbulk_write(struct frpc_conn *conn, struct frpc_sock *fs, u32 id,
		      struct frpc_txbulk *b, u16 last_flags, bool count,
		      long timeo)
{
	u32 left = iov_iter_count(&b->it), sent = 0;
	bool more = false, flushed = false;

	lockdep_assert_held(&conn->tx_mutex);
	while (left) {
		u8 hdr[FASTRPC_FRAME_HDR_LEN];
		struct iov_iter fi;
		bool whole, starved;
		u32 chunk;

		spin_lock_bh(&conn->lock);
		chunk = frpc_txbulk_claim(conn, id, left, count, timeo,
					  &starved);
		spin_unlock_bh(&conn->lock);
		if (!chunk && starved && timeo) {
			/* what was written goes out while we wait */
			if (more && conn->tcp)
				frpc_tp_send(conn, NULL, 0, 0, 0, 0);
			more = false;
			if (frpc_txbulk_wait(conn, fs, id, &timeo))
				continue;
			break;
		}
		/*
		 * Others' frames are waiting: write the control frames and
		 * the short messages (frpc_conn_tx_flush() takes them first
		 * and stops before another socket's long frame), then go on
		 * with ours.  Stopping here instead meant copying the rest
		 * of the message and leaving it to the work item, which then
		 * wrote the stream on whatever CPU the small calls had.
		 */
		if (!chunk && !starved && !flushed && frpc_conn_has_tp(conn)) {
			flushed = true;
			/*
			 * @more stays: if the flush wrote nothing, our last
			 * frame is still corked, and is pushed below when
			 * nothing of ours follows.
			 */
			frpc_conn_tx_flush(conn, FRPC_TX_KICK_BUDGET, NULL, fs);
			continue;
		}
		if (!chunk)
			break;
		flushed = false;
		frpc_put_hdr(hdr, conn->version, FASTRPC_FRAME_DATA,
			     chunk == left ? last_flags : 0, id, chunk);
		conn->tx_frames++;
		fi = b->it;
		iov_iter_truncate(&fi, chunk);
		more = chunk < left;
		whole = frpc_tx_write_frame(conn, hdr, sizeof(hdr), &fi, chunk,
					    more);
		iov_iter_advance(&b->it, chunk);
		left -= chunk;
		sent += chunk;
		if (!whole)
			break;	/* the rest of the frame is in conn->cur */
		/*
		 * Between frames: if another task wants the CPU, let it have
		 * tx_mutex too (a small call's sender that runs meanwhile
		 * writes its frame itself), after pushing what is corked.
		 */
		if (need_resched()) {
			if (more && conn->tcp)
				frpc_tp_send(conn, NULL, 0, 0, 0, 0);
			more = false;
			mutex_unlock(&conn->tx_mutex);
			cond_resched();
			mutex_lock(&conn->tx_mutex);
		}
	}
	/* the last frame went with MSG_MORE for one that does not follow */
	if (more && conn->tcp)
		frpc_tp_send(conn, NULL, 0, 0, 0, 0);
	if (sent)
		frpc_count_add(conn->fn, tx_bulk_bytes, sent);
	return sent;
}
