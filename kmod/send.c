// SPDX-License-Identifier: GPL-2.0-only
/*
 * sendmsg(): the verbs.  A client starts a call (FASTRPC_CMSG_CALL),
 * streams more of it (FASTRPC_CMSG_SEND) or cancels it
 * (FASTRPC_CMSG_CANCEL); a server streams to a call (FASTRPC_CMSG_SEND)
 * and answers it (FASTRPC_CMSG_REPLY).  Each verb builds its message
 * first, without locks, then finds the call again under conn->lock and
 * fs->lock, since it may have ended in between; what is queued is charged
 * against SO_SNDBUF until tx.c cuts it into frames.
 */
#include <linux/slab.h>
#include <net/sock.h>

#include "call.h"
#include "cmsg.h"
#include "conn.h"
#include "frpc.h"
#include "ring.h"
#include "send.h"
#include "sock.h"
#include "timer.h"
#include "tx.h"
#include "txbulk.h"

/*
 * Use the socket's connection, opening a new one if it died or drains.
 * Waits for a connection still opening without the socket lock, up to
 * @timeo; -EAGAIN if it is not ready by then (at once for MSG_DONTWAIT).
 */
static struct frpc_conn *frpc_client_conn(struct frpc_sock *fs, long timeo)
{
	struct frpc_conn *conn, *old;
	int err;

	lock_sock(&fs->sk);
	conn = fs->conn;
	/* a blocking connect() that failed meanwhile left it unconnected */
	if (fs->role != FRPC_ROLE_CLIENT || !conn) {
		release_sock(&fs->sk);
		return ERR_PTR(-ENOTCONN);
	}
	if (READ_ONCE(conn->state) >= FRPC_CONN_DRAINING) {
		conn = frpc_conn_get_client(frpc_net(sock_net(&fs->sk)),
					    &fs->peer, fs, fs->conn);
		if (IS_ERR(conn)) {
			release_sock(&fs->sk);
			return conn;
		}
		/* replaced before the put: netlink dumps read it (nl_lock) */
		old = fs->conn;
		WRITE_ONCE(fs->conn, conn);
		frpc_conn_put(old);
	}
	kref_get(&conn->ref);
	release_sock(&fs->sk);

	err = frpc_conn_wait_ready(conn, timeo);
	if (err != -EAGAIN)
		frpc_client_ready(fs, conn);
	if (err) {
		frpc_conn_put(conn);
		return ERR_PTR(err);
	}
	return conn;
}

/*
 * The connection of the socket's call @key, referenced, or NULL.  Callers
 * then take conn->lock and fs->lock and find the call again, since it may
 * have ended in between (frpc_sock_relookup()).
 */
static struct frpc_conn *frpc_sock_call_conn(struct frpc_sock *fs, u64 key)
{
	struct frpc_conn *conn = NULL;
	struct frpc_call *call;

	spin_lock_bh(&fs->lock);
	call = frpc_sock_find(fs, key);
	if (call) {
		conn = call->conn;
		kref_get(&conn->ref);
	}
	spin_unlock_bh(&fs->lock);
	return conn;
}

/* The call @key if it still exists on @conn; both locks held. */
static struct frpc_call *frpc_sock_relookup(struct frpc_sock *fs, u64 key,
					    struct frpc_conn *conn)
{
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	call = frpc_sock_find(fs, key);
	return call && call->conn == conn ? call : NULL;
}

/* Does another sender write a message of call @key from its pages? */
static bool frpc_call_bulk_busy(struct frpc_sock *fs, u64 key,
				struct frpc_conn *conn)
{
	struct frpc_call *call;
	bool busy;

	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_relookup(fs, key, conn);
	busy = call && call->tx_bulk && call->state == FRPC_CALL_OPEN;
	spin_unlock(&fs->lock);
	spin_unlock_bh(&conn->lock);
	return busy;
}

/*
 * A call's messages are written one at a time: while another sender
 * writes one from its pages (call->tx_bulk, kmod/txbulk.c), wait until it
 * has queued the rest or the call ended; its owner wakes the socket then.
 * -EAGAIN at once without a timeout, as for SO_SNDBUF.
 */
static int frpc_wait_bulk(struct frpc_sock *fs, u64 key,
			  struct frpc_conn *conn, long *timeo)
{
	long ret;

	if (!*timeo)
		return -EAGAIN;
	/* a sleeper that delivers nothing to the rings (ring.c) */
	atomic_inc(&fs->waiters);
	/* counted before queued to wait: pairs with frpc_ring_queued() */
	smp_mb__after_atomic();
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
					       !frpc_call_bulk_busy(fs, key,
								    conn),
					       *timeo);
	atomic_dec(&fs->waiters);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

/* Room to send: SO_SNDBUF and, for a new call, MAX_CALLS. */
static bool frpc_send_room(struct frpc_sock *fs, bool new_call)
{
	return READ_ONCE(fs->tx_queued) < READ_ONCE(fs->sk.sk_sndbuf) &&
	       (!new_call || READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls));
}

static noinline int frpc_wait_send_slow(struct frpc_sock *fs, bool new_call,
					long *timeo)
{
	long ret;

	/* out of SO_SNDBUF, not only of calls: the stall check's pressure */
	if (READ_ONCE(fs->tx_queued) >= READ_ONCE(fs->sk.sk_sndbuf) &&
	    !READ_ONCE(fs->tx_full_since))
		WRITE_ONCE(fs->tx_full_since, jiffies ?: 1);
	if (!*timeo)
		return -EAGAIN;
	atomic_inc(&fs->waiters);
	/* counted before queued to wait: pairs with frpc_ring_queued() */
	smp_mb__after_atomic();
	ret = wait_event_interruptible_timeout(*sk_sleep(&fs->sk),
					       frpc_send_room(fs, new_call),
					       *timeo);
	atomic_dec(&fs->waiters);
	if (ret < 0)
		return sock_intr_errno(*timeo);
	if (!ret)
		return -EAGAIN;
	*timeo = ret;
	return 0;
}

/* Wait for room; the check inline, as there nearly always is. */
static __always_inline int frpc_wait_send(struct frpc_sock *fs, bool new_call,
					  long *timeo)
{
	if (frpc_send_room(fs, new_call))
		return 0;
	return frpc_wait_send_slow(fs, new_call, timeo);
}

/*
 * Charge one message queued with @len bytes unsent to SO_SNDBUF: the
 * bytes come back as they are framed, FRPC_TX_MSG_COST with its last
 * frame, or all of it when the message is dropped (frpc_call_drop_tx()).
 */
static void frpc_charge_tx(struct frpc_sock *fs, u32 len)
{
	lockdep_assert_held(&fs->lock);
	len += FRPC_TX_MSG_COST;
	WRITE_ONCE(fs->tx_queued, fs->tx_queued + len);
	frpc_count_add(frpc_net(sock_net(&fs->sk)), tx_queued_bytes, len);
}

/*
 * Does staging or queueing a MSG_BATCH message pay on @conn?  Over TCP it
 * lets a burst leave in few writes (the transmit stage); on the short cut a
 * frame costs little more written at once, and the queue's copy and work
 * item are what a batch would save: sendmmsg()'s messages go like single
 * ones there.
 */
static bool frpc_batch_pays(const struct frpc_conn *conn)
{
	return !READ_ONCE(conn->via_loop);
}

/*
 * May a message that goes as one frame be staged (tx.c)?  When more of
 * its batch follows (sendmmsg(), a ring's entries), or a ring batch has
 * staged frames on the same connection already; if the stage is free.
 */
static bool frpc_may_stage(const struct frpc_conn *conn,
			   const struct frpc_cmsgs *c, bool batch)
{
	return frpc_batch_pays(conn) &&
	       (batch || (c->plug && c->plug->conn == conn));
}

/*
 * What frpc_txbulk_write() left of client call @id's message, after its
 * head went: copied from the held pages, without tx_mutex, and queued as
 * DATA frames; the call is then free for its next message (tx_bulk).  The
 * message is half on the wire, so its rest must go whatever memory that
 * takes, unless the call ended meanwhile (a cancel, an early answer, the
 * connection failing): then nothing more of it goes.
 */
static void frpc_client_bulk_rest(struct frpc_sock *fs,
				  struct frpc_conn *conn, u32 id,
				  struct frpc_txbulk *b, bool eos,
				  struct frpc_lend *lend)
{
	u32 rest = iov_iter_count(&b->it);
	struct frpc_txmsg *m = NULL;
	struct frpc_call *call;

	if (rest) {
		m = frpc_txmsg_build(FASTRPC_FRAME_CALL, NULL, 0, NULL, 0,
				     NULL, 0, &b->it, rest, lend,
				     GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
		m->head_sent = 1;
		m->eos = eos;
	}
	spin_lock_bh(&conn->lock);
	call = frpc_call_find(conn, id);
	if (call) {
		call->tx_bulk = false;
		if (m && call->state == FRPC_CALL_OPEN) {
			spin_lock(&fs->lock);
			frpc_charge_tx(fs, rest);
			spin_unlock(&fs->lock);
			frpc_call_queue_msg(call, m);
			m = NULL;
		}
	}
	spin_unlock_bh(&conn->lock);
	frpc_sock_wake_out(&fs->sk);	/* senders waiting for the call */
	frpc_txmsg_free(m);
}

/*
 * The sender that marked call @id (frpc_send_bulk_first()) finds it
 * again, by tag or handle on @conn and by @id: the call, or NULL if that
 * is gone or the tag names another call now.  The mark goes in any case:
 * the rest is queued now or never.  Both locks held.
 */
static struct frpc_call *frpc_bulk_call(struct frpc_sock *fs, u64 key,
					struct frpc_conn *conn, u32 id)
{
	struct frpc_call *call = frpc_sock_relookup(fs, key, conn), *own;

	if (call && call->id != id)
		call = NULL;
	own = call ?: frpc_call_find(conn, id);
	if (own)
		own->tx_bulk = false;
	return call;
}

/*
 * Before a long message on an open call (a server's reply or either
 * side's send-more) is built: write what the connection takes now of it
 * as DATA frames, from the sender's own memory (frpc_txbulk).  On success
 * @msg's iterator is left on the rest, in @b's held pages, which cannot
 * fault; returns the bytes written.  If any, the call stays marked
 * (call->tx_bulk: other senders of the call wait, its queue is held) and
 * the verb queues the rest, which clears the mark, before anything else
 * of the call can go: it finds the call as *@idp on *@connp (referenced),
 * since the tag may name another call by then.
 */
static u32 frpc_send_bulk_first(struct frpc_sock *fs, u64 key,
				struct msghdr *msg, u32 len,
				struct frpc_txbulk *b, bool server, long timeo,
				struct frpc_conn **connp, u32 *idp)
{
	struct frpc_conn *conn;
	struct frpc_call *call;
	bool open = false;
	u32 id = 0, sent = 0;

	if (frpc_txbulk_get(b, &msg->msg_iter, len))
		return 0;
	conn = frpc_sock_call_conn(fs, key);
	if (conn && mutex_trylock(&conn->tx_mutex)) {
		spin_lock_bh(&conn->lock);
		spin_lock(&fs->lock);
		call = frpc_sock_relookup(fs, key, conn);
		if (call && call->state == FRPC_CALL_OPEN &&
		    list_empty(&call->txq) && !call->tx_bulk &&
		    (server ? call->seen : call->stream && !call->tx_closed)) {
			open = true;
			id = call->id;
			call->tx_bulk = true;
		}
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		if (open)
			sent = frpc_txbulk_write(conn, fs, id, b, 0, true,
						 timeo);
		frpc_conn_kick_locked(conn, fs);
		if (open && !sent) {
			spin_lock_bh(&conn->lock);
			spin_lock(&fs->lock);
			frpc_bulk_call(fs, key, conn, id);	/* unmarks it */
			spin_unlock(&fs->lock);
			spin_unlock_bh(&conn->lock);
			frpc_sock_wake_out(&fs->sk);
		}
	}
	msg->msg_iter = b->it;
	if (sent) {
		*connp = conn;
		*idp = id;
	} else if (conn) {
		frpc_conn_put(conn);
	}
	return sent;
}

static int frpc_client_call(struct frpc_sock *fs, struct frpc_cmsgs *c,
			    struct msghdr *msg, u32 len, long timeo)
{
	const struct fastrpc_call *fc = &c->call;
	struct fastrpc_wire_call wc = {
		.method = cpu_to_be32(fc->method),
		.meta_len = cpu_to_be16(c->meta_len),
		.timeout_ns = cpu_to_be64(c->timeout_ns),
	};
	bool stream = fc->flags & FASTRPC_CALL_STREAM;
	bool eos = !stream || (msg->msg_flags & MSG_EOR);
	/* sendmmsg(): more follow, to be written to TCP together */
	bool batch = msg->msg_flags & MSG_BATCH;
	/*
	 * Not cleared at entry (INIT_STACK_ALL_ZERO would clear its 900
	 * bytes on every call): frpc_txsmall_build() writes what is read
	 * and sent, and nr_pages is set before any path can release it.
	 */
	struct frpc_txsmall small __uninitialized;
	struct frpc_txmsg *m = NULL;
	struct frpc_txbulk bulk;	/* set up only with bulk_held */
	struct frpc_conn *conn;
	struct frpc_call *call;
	int err, tries = 0;
	bool direct, queue, ext = false, want_bulk = false, bulk_held = false;
	bool stage, full = false, wait;
	u32 id;

	if ((fc->flags & ~FASTRPC_CALL_ALL) || c->smsg)
		return -EINVAL;
	err = frpc_wait_send(fs, true, &timeo);
	if (err)
		return err;
	small.nr_pages = 0;
	if (frpc_txsmall_fits(sizeof(wc), c->meta_len, len)) {
		err = frpc_txsmall_build(&small, FASTRPC_FRAME_CALL, &wc,
					 sizeof(wc), c->meta, c->meta_len,
					 NULL, 0, &msg->msg_iter, len);
		if (err)
			return err;
	} else if (frpc_txsmall_ext_fits(sizeof(wc), c->meta_len, len,
					 &msg->msg_iter)) {
		/*
		 * From the caller's pages, taken once the connection is up.
		 * A frame this big is never staged with others, so a batch
		 * would only add a copy into a queued message: not batched.
		 */
		ext = true;
		batch = false;
	} else if (frpc_txbulk_fits(len, &msg->msg_iter) &&
		   frpc_txsmall_fits(sizeof(wc), c->meta_len, 0)) {
		/*
		 * The head alone now; the message from the caller's memory
		 * once the connection is up, in frames of its own, so
		 * nothing is gained by batching it.
		 */
		frpc_txsmall_build(&small, FASTRPC_FRAME_CALL, &wc, sizeof(wc),
				   c->meta, c->meta_len, NULL, 0,
				   &msg->msg_iter, 0);
		want_bulk = true;
		batch = false;
	} else {
		/* queued, or too big for one frame: copied now */
		m = frpc_txmsg_build(FASTRPC_FRAME_CALL, &wc, sizeof(wc),
				     c->meta, c->meta_len, NULL, 0,
				     &msg->msg_iter, len, c->lend,
				     GFP_KERNEL_ACCOUNT);
		if (IS_ERR(m))
			return PTR_ERR(m);
		m->eos = eos;
	}
	queue = batch;

retry:
	err = 0;
	conn = frpc_client_conn(fs, timeo);
	if (IS_ERR(conn)) {
		err = PTR_ERR(conn);
		goto out;
	}
	if (batch && !frpc_batch_pays(conn)) {
		batch = false;
		queue = false;
	}
	/*
	 * Not before: page references held while a connection opens would
	 * keep the pages from migrating for up to the connect timeout.
	 */
	if (ext || want_bulk) {
		bool held = ext ?
			frpc_txsmall_build_ext(&small, FASTRPC_FRAME_CALL, &wc,
					       sizeof(wc), c->meta,
					       c->meta_len, NULL, 0,
					       &msg->msg_iter, len) :
			!frpc_txbulk_get(&bulk, &msg->msg_iter, len);

		bulk_held = want_bulk && held;
		ext = false;
		want_bulk = false;
		if (!held) {
			/* the pages could not be had: copied, or EFAULT */
			m = frpc_txmsg_build(FASTRPC_FRAME_CALL, &wc,
					     sizeof(wc), c->meta, c->meta_len,
					     NULL, 0, &msg->msg_iter, len,
					     c->lend, GFP_KERNEL_ACCOUNT);
			if (IS_ERR(m)) {
				err = PTR_ERR(m);
				m = NULL;
				frpc_conn_put(conn);
				goto out;
			}
			m->eos = eos;
		}
	}
	call = frpc_call_alloc(conn, GFP_KERNEL);
	if (!call) {
		err = -ENOMEM;
		goto err_put;
	}
	call->key = fc->tag;
	call->method = fc->method;
	call->fs = fs;
	call->stream = stream;
	frpc_call_trace_start(call);
	frpc_call_count_tx(call, len);
	stage = !m && !bulk_held && !small.ext_len &&
		frpc_may_stage(conn, c, batch);

again:
	if (stage && !frpc_tx_stage_begin(conn, small.len))
		stage = false;
	direct = stage || (!m && !queue && mutex_trylock(&conn->tx_mutex));
	if (!direct && !m) {
		if (bulk_held) {
			/* the connection is busy: copied and queued after all */
			m = frpc_txmsg_build(FASTRPC_FRAME_CALL, &wc,
					     sizeof(wc), c->meta, c->meta_len,
					     NULL, 0, &bulk.it, len, c->lend,
					     GFP_KERNEL_ACCOUNT);
			if (IS_ERR(m))
				m = NULL;
		} else {
			m = frpc_txsmall_msg(&small, GFP_KERNEL_ACCOUNT);
		}
		if (!m) {
			err = -ENOMEM;
			goto err_call;
		}
		m->eos = eos;
	}
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	if (conn->state == FRPC_CONN_READY && conn->next_id == U32_MAX)
		frpc_conn_set_state(conn, FRPC_CONN_DRAINING);	/* ids used up */
	if (conn->state != FRPC_CONN_READY) {
		err = -EAGAIN;
	} else if (frpc_sock_find(fs, fc->tag)) {
		err = -EEXIST;
	} else if (fs->ncalls >= READ_ONCE(fs->max_calls)) {
		err = -EAGAIN;
		full = true;
	}
	call->tx_credit = conn->peer_call_window;
	if (!err && direct &&
	    !(stage ? frpc_tx_stage_claim(call, &small) :
		      frpc_tx_direct_claim(call, &small))) {
		/* no credit or a frame half written: queue it after all */
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		queue = true;
		stage = false;
		goto again;
	}
	if (err) {
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		if (direct)
			mutex_unlock(&conn->tx_mutex);
		goto err_call;
	}
	id = ++conn->next_id;
	call->id = id;
	call->tx_closed = eos;
	hash_add(fs->tags, &call->sock_node, fc->tag);
	call->in_sock = true;
	fs->ncalls++;
	if (m)
		frpc_charge_tx(fs, len);
	spin_unlock(&fs->lock);
	frpc_call_link(conn, call);
	trace_call_start(call, c->timeout_ns);
	if (c->timeout_ns)
		frpc_call_set_deadline(call, c->timeout_ns);
	if (direct)
		call->tx_eos = eos;
	else
		frpc_call_queue_msg(call, m);
	/* the rest of its message goes before anything else of it */
	call->tx_bulk = direct && bulk_held;
	spin_unlock_bh(&conn->lock);

	frpc_count(conn->fn, calls_started);
	if (READ_ONCE(conn->via_loop))
		frpc_count(conn->fn, loop_calls);
	if (stage || (direct && !bulk_held))
		frpc_tx_note_small(conn, &small);
	if (stage) {
		frpc_tx_stage_put(conn, &small, id, FASTRPC_FF_EOM |
				  (eos ? FASTRPC_FF_EOS : 0), c->plug);
	} else if (direct && bulk_held) {
		/* the head, then the message straight from the caller */
		frpc_tx_direct_send(conn, &small, id, 0);
		frpc_txbulk_write(conn, fs, id, &bulk, FASTRPC_FF_EOM |
				  (eos ? FASTRPC_FF_EOS : 0), false, timeo);
		/* others' frames meanwhile: ours wait for the rest's copy */
		frpc_conn_kick_locked(conn, fs);
		frpc_client_bulk_rest(fs, conn, id, &bulk, eos, c->lend);
		frpc_conn_kick(conn);
	} else if (direct) {
		frpc_tx_direct_send(conn, &small, id, FASTRPC_FF_EOM |
				    (eos ? FASTRPC_FF_EOS : 0));
		frpc_conn_kick_locked(conn, fs);
	} else if (batch) {
		frpc_conn_kick_async(conn);
	} else {
		frpc_conn_kick(conn);
	}
	frpc_conn_put(conn);
	frpc_txsmall_release(&small);
	if (bulk_held)
		frpc_txbulk_release(&bulk);
	return len;

err_call:
	frpc_call_free(call);
err_put:
	frpc_conn_put(conn);
	/*
	 * Try again, holding none of the caller's pages meanwhile: another
	 * sender took the slot that frpc_wait_send() saw free (or the limit
	 * came down), and a blocking socket waits for one again, as if it
	 * had found none; or the connection began draining or died under us,
	 * and a new one may have to open: one more try.
	 */
	wait = full && timeo;
	full = false;
	if (wait || (err == -EAGAIN &&
		     READ_ONCE(fs->ncalls) < READ_ONCE(fs->max_calls) &&
		     !tries++)) {
		if (bulk_held) {
			frpc_txbulk_release(&bulk);
			bulk_held = false;
			if (!m) {
				iov_iter_revert(&msg->msg_iter, len);
				want_bulk = true;
			}
		}
		if (small.ext_len) {
			/* unless @m holds a copy already */
			if (!m) {
				iov_iter_revert(&msg->msg_iter, small.ext_len);
				ext = true;
			}
			frpc_txsmall_release(&small);
		}
		if (wait) {
			err = frpc_wait_send(fs, true, &timeo);
			if (err)
				goto out;
		}
		goto retry;
	}
out:
	frpc_txmsg_free(m);
	frpc_txsmall_release(&small);
	if (bulk_held)
		frpc_txbulk_release(&bulk);
	return err;
}

/* Another message on an open call: client by tag, server by handle. */
static int frpc_send_more(struct frpc_sock *fs, struct frpc_cmsgs *c,
			  struct msghdr *msg, u32 len, long timeo)
{
	bool server = fs->role == FRPC_ROLE_SERVER;
	bool eor = msg->msg_flags & MSG_EOR;
	bool lng = frpc_txbulk_fits(len, &msg->msg_iter);
	struct frpc_txbulk bulk;	/* set up only for a long message */
	struct frpc_conn *conn = NULL;
	struct frpc_call *call;
	struct frpc_txmsg *m;
	u32 sent, bid = 0;
	int err;

	if (c->send.flags || c->send.reserved || c->meta || c->smsg ||
	    (server && eor))
		return -EINVAL;
	err = frpc_wait_send(fs, false, &timeo);
	if (err)
		return err;
	/* once part of it is on the wire, the rest must go */
	sent = lng ? frpc_send_bulk_first(fs, c->send.id, msg, len, &bulk,
					  server, timeo, &conn, &bid) : 0;
	m = frpc_txmsg_build(FASTRPC_FRAME_DATA, NULL, 0, NULL, 0, NULL, 0,
			     &msg->msg_iter, len - sent, c->lend, sent ?
			     GFP_KERNEL_ACCOUNT | __GFP_NOFAIL :
			     GFP_KERNEL_ACCOUNT);
	if (lng)
		frpc_txbulk_release(&bulk);
	if (IS_ERR(m))
		return PTR_ERR(m);
	m->eos = eor;
	/* part of it on the wire: the message is started (mid_message) */
	m->head_sent = !!sent;

	if (!sent)
		conn = frpc_sock_call_conn(fs, c->send.id);
	if (!conn) {
		frpc_txmsg_free(m);
		return -ENOENT;
	}
again:
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = sent ? frpc_bulk_call(fs, c->send.id, conn, bid) :
		      frpc_sock_relookup(fs, c->send.id, conn);
	if (call && call->tx_bulk && !sent) {
		/* another sender's message of the call is half written */
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		err = frpc_wait_bulk(fs, c->send.id, conn, &timeo);
		if (!err)
			goto again;
		frpc_txmsg_free(m);
		frpc_conn_put(conn);
		return err;
	}
	err = 0;
	if (!call)
		err = -ENOENT;
	else if (server ? call->state != FRPC_CALL_OPEN || !call->seen :
			  !call->stream || call->tx_closed)
		err = server && call->state == FRPC_CALL_CANCELLED ?
		      -ECANCELED : -EINVAL;
	if (!err) {
		call->tx_closed = eor;
		frpc_charge_tx(fs, len - sent);
		frpc_call_count_tx(call, len - sent);
	}
	spin_unlock(&fs->lock);
	if (!err)
		frpc_call_queue_msg(call, m);
	spin_unlock_bh(&conn->lock);
	if (sent)
		frpc_sock_wake_out(&fs->sk);	/* senders waiting for the call */
	if (err)
		frpc_txmsg_free(m);
	else
		frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return err ? err : len;
}

static int frpc_client_cancel(struct frpc_sock *fs, struct frpc_cmsgs *c,
			      u32 len)
{
	struct frpc_conn *conn;
	struct frpc_call *call;
	struct frpc_reap r;

	if (len || c->meta || c->smsg)
		return -EINVAL;
	conn = frpc_sock_call_conn(fs, c->tag);
	if (!conn)
		return -ENOENT;
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_relookup(fs, c->tag, conn);
	spin_unlock(&fs->lock);
	if (!call) {
		spin_unlock_bh(&conn->lock);
		frpc_conn_put(conn);
		return -ENOENT;
	}
	frpc_reap_init(&r);
	trace_call_cancel(call);
	frpc_call_send_cancel(call, false);
	frpc_call_finish(call, FASTRPC_CANCELLED, &r);
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
	frpc_count(conn->fn, calls_cancelled);
	frpc_conn_kick(conn);
	frpc_conn_put(conn);
	return 0;
}

static int frpc_server_reply(struct frpc_sock *fs, struct frpc_cmsgs *c,
			     struct msghdr *msg, u32 len, long timeo)
{
	const struct fastrpc_reply *rp = &c->reply;
	struct fastrpc_wire_end we = {
		.status = cpu_to_be32(rp->status),
		.meta_len = cpu_to_be16(c->meta_len),
		.msg_len = cpu_to_be16(c->smsg_len),
	};
	bool batch = msg->msg_flags & MSG_BATCH, queue = batch, stage;
	struct frpc_call *call, *done = NULL;
	bool lng = frpc_txbulk_fits(len, &msg->msg_iter);
	struct frpc_txbulk bulk;	/* set up only for a long message */
	struct frpc_txsmall small __uninitialized;	/* see frpc_client_call() */
	struct frpc_txmsg *m = NULL;
	struct frpc_conn *conn = NULL;
	u32 id = 0, sent, total = len, bid = 0;
	struct frpc_reap r;
	bool eof = false;
	gfp_t gfp;
	bool direct;
	int err = 0;

	if (rp->flags || rp->status > FASTRPC_STATUS_MAX ||
	    (msg->msg_flags & MSG_EOR))
		return -EINVAL;
	err = frpc_wait_send(fs, false, &timeo);
	if (err)
		return err;
	/* DATA frames first; once part of it is on the wire, the rest must go */
	sent = lng ? frpc_send_bulk_first(fs, rp->handle, msg, len, &bulk,
					  true, timeo, &conn, &bid) : 0;
	len -= sent;
	gfp = sent ? GFP_KERNEL_ACCOUNT | __GFP_NOFAIL : GFP_KERNEL_ACCOUNT;
	small.nr_pages = 0;
	if (frpc_txsmall_fits(sizeof(we), c->meta_len + c->smsg_len, len)) {
		/* held pages or user memory not yet touched: EFAULT is clean */
		err = frpc_txsmall_build(&small, FASTRPC_FRAME_END, &we,
					 sizeof(we), c->meta, c->meta_len,
					 c->smsg, c->smsg_len, &msg->msg_iter,
					 len);
		if (err)
			goto out_bulk;
	} else if (!frpc_txsmall_ext_fits(sizeof(we),
					  c->meta_len + c->smsg_len, len,
					  &msg->msg_iter) ||
		   !frpc_txsmall_build_ext(&small, FASTRPC_FRAME_END, &we,
					   sizeof(we), c->meta, c->meta_len,
					   c->smsg, c->smsg_len,
					   &msg->msg_iter, len)) {
		/* queued, or too big for one frame: copied now */
		m = frpc_txmsg_build(FASTRPC_FRAME_END, &we, sizeof(we),
				     c->meta, c->meta_len, c->smsg,
				     c->smsg_len, &msg->msg_iter, len, c->lend,
				     gfp);
		if (IS_ERR(m)) {
			err = PTR_ERR(m);
			goto out_bulk;
		}
	} else {
		/* from the pages, never staged: a batch gains nothing */
		batch = false;
		queue = false;
	}
	if (lng)
		frpc_txbulk_release(&bulk);
	/* part of it on the wire: the END is a started message */
	if (m)
		m->head_sent = !!sent;

	if (!sent)
		conn = frpc_sock_call_conn(fs, rp->handle);
	if (!conn) {
		frpc_txmsg_free(m);
		frpc_txsmall_release(&small);
		return -ENOENT;
	}
	if (batch && !frpc_batch_pays(conn)) {
		batch = false;
		queue = false;
	}
	/* then the END, queued under the lock that clears call->tx_bulk */
	queue = queue || sent;
	stage = !m && !sent && !small.ext_len && frpc_may_stage(conn, c, batch);
	frpc_reap_init(&r);
again:
	if (stage && !frpc_tx_stage_begin(conn, small.len))
		stage = false;
	direct = stage || (!m && !queue && mutex_trylock(&conn->tx_mutex));
	if (!direct && !m) {
		m = frpc_txsmall_msg(&small, gfp);
		if (!m) {
			frpc_txsmall_release(&small);
			frpc_conn_put(conn);
			return -ENOMEM;
		}
		m->head_sent = !!sent;
	}
	spin_lock_bh(&conn->lock);
	spin_lock(&fs->lock);
	call = sent ? frpc_bulk_call(fs, rp->handle, conn, bid) :
		      frpc_sock_relookup(fs, rp->handle, conn);
	if (call && call->tx_bulk && !sent) {
		/* another sender's message of the call is half written */
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		if (direct)
			mutex_unlock(&conn->tx_mutex);
		err = frpc_wait_bulk(fs, rp->handle, conn, &timeo);
		if (!err)
			goto again;
		frpc_txmsg_free(m);
		frpc_txsmall_release(&small);
		frpc_conn_put(conn);
		return err;
	}
	if (!call) {
		spin_unlock(&fs->lock);
		err = -ENOENT;
	} else if (call->state == FRPC_CALL_CANCELLED) {
		/* the client gave up: the reply is dropped, the handle freed */
		eof = __frpc_call_leave_sock(call);
		spin_unlock(&fs->lock);
		list_add(&call->tx_node, &r.calls);
		frpc_count(conn->fn, replies_dropped);
		err = -ECANCELED;
	} else if (direct && !(stage ? frpc_tx_stage_claim(call, &small) :
				       frpc_tx_direct_claim(call, &small))) {
		/* no credit, or frames before it: queue it after all */
		spin_unlock(&fs->lock);
		spin_unlock_bh(&conn->lock);
		mutex_unlock(&conn->tx_mutex);
		queue = true;
		stage = false;
		goto again;
	} else {
		__frpc_call_leave_sock(call);
		if (m)
			frpc_charge_tx(fs, len);
		spin_unlock(&fs->lock);
		frpc_call_count_tx(call, len);
		trace_call_end(call, rp->status);
		call->state = FRPC_CALL_DONE;
		/* request messages the application never read die with it */
		frpc_call_purge_rx(call, &r);
		if (direct) {
			/* an answered server call ends with its END */
			call->tx_eos = true;
			id = call->id;
			frpc_call_unlink(call);
			done = call;
		} else {
			frpc_call_queue_msg(call, m);
			m = NULL;
		}
		frpc_count(conn->fn, replies_sent);
	}
	spin_unlock_bh(&conn->lock);
	/* its owed cancellation notice was all the end of file waited for */
	if (unlikely(eof))
		frpc_sock_wake_eof(fs);
	if (sent)
		frpc_sock_wake_out(&fs->sk);	/* senders waiting for the call */
	else if (done)
		frpc_tx_note_small(conn, &small);
	if (done && stage)
		frpc_tx_stage_put(conn, &small, id, FASTRPC_FF_EOM, c->plug);
	else if (done)
		frpc_tx_direct_send(conn, &small, id, FASTRPC_FF_EOM);
	frpc_txsmall_release(&small);
	/* a staged END let tx_mutex go (frpc_tx_stage_put()) */
	if (direct && !(done && stage))
		frpc_conn_kick_locked(conn, fs);
	else if (!direct && !err && batch)
		frpc_conn_kick_async(conn);
	else if (!direct && !err)
		frpc_conn_kick(conn);
	frpc_txmsg_free(m);
	if (done)
		frpc_call_free(done);
	frpc_reap(&r);
	frpc_conn_put(conn);
	return err ? err : total;

out_bulk:
	if (lng)
		frpc_txbulk_release(&bulk);
	return err;
}

/*
 * One verb of sendmsg() or of a ring entry, its control messages checked.
 * @role: as the caller read it, once: a connect() failing meanwhile puts
 * the socket back to FRPC_ROLE_NONE, and a second look would take the
 * ENOTCONN the verb gets for that (frpc_client_conn()) for EINVAL.
 */
static __always_inline int __frpc_send_verb(struct frpc_sock *fs,
					    enum frpc_sock_role role,
					    struct frpc_cmsgs *c,
					    struct msghdr *msg, u32 len,
					    long timeo)
{
	switch (c->type) {
	case FASTRPC_CMSG_CALL:
		return role == FRPC_ROLE_CLIENT ?
		       frpc_client_call(fs, c, msg, len, timeo) : -EINVAL;
	case FASTRPC_CMSG_SEND:
		return frpc_send_more(fs, c, msg, len, timeo);
	case FASTRPC_CMSG_CANCEL:
		return role == FRPC_ROLE_CLIENT ?
		       frpc_client_cancel(fs, c, len) : -EINVAL;
	case FASTRPC_CMSG_REPLY:
		return role == FRPC_ROLE_SERVER ?
		       frpc_server_reply(fs, c, msg, len, timeo) : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* The ring's way in; sendmsg() has it inlined, one call the less. */
int frpc_send_verb(struct frpc_sock *fs, struct frpc_cmsgs *c,
		   struct msghdr *msg, u32 len, long timeo)
{
	return __frpc_send_verb(fs, READ_ONCE(fs->role), c, msg, len, timeo);
}

int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	long timeo = sock_sndtimeo(&fs->sk, msg->msg_flags & MSG_DONTWAIT);
	enum frpc_sock_role role = READ_ONCE(fs->role);
	struct frpc_cmsgs c __uninitialized;	/* frpc_parse_cmsgs() clears it */
	int err;

	/* sendmmsg() marks all but its last message MSG_BATCH */
	if (msg->msg_flags & ~(MSG_DONTWAIT | MSG_EOR | MSG_NOSIGNAL |
			       MSG_CMSG_COMPAT | MSG_BATCH | MSG_WAITALL))
		return -EOPNOTSUPP;
	if (role != FRPC_ROLE_CLIENT && role != FRPC_ROLE_SERVER)
		return -ENOTCONN;
	/*
	 * Nothing to send and no verb: the submission ring's doorbell, and
	 * with MSG_WAITALL the wait for a completion too (SO_RCVTIMEO's).
	 */
	if (!len && !msg->msg_controllen && READ_ONCE(fs->ring))
		return frpc_ring_enter(fs, msg->msg_flags & MSG_WAITALL,
				       sock_rcvtimeo(&fs->sk, msg->msg_flags &
							      MSG_DONTWAIT));
	if (msg->msg_flags & MSG_WAITALL)
		return -EOPNOTSUPP;
	if (len > FASTRPC_MAX_MSG)
		return -EMSGSIZE;
	err = frpc_parse_cmsgs(msg, &c);
	if (err)
		return err;
	return __frpc_send_verb(fs, role, &c, msg, len, timeo);
}
