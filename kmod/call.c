// SPDX-License-Identifier: GPL-2.0-only
/*
 * Calls and received messages: allocation, the per-connection table by
 * wire id, and how calls end (normally, cancelled, timed out, connection
 * lost).  Deadlines are timer.c's, credit is flow.c's.
 *
 * A call ends exactly once.  On the client that means exactly one final
 * message with MSG_EOR in the socket; the kernel reserves it when the call
 * starts (call->fin), so ending a call never needs memory.  A server call
 * needs one only once the application has its handle, to tell it of a
 * cancel: the request message it read is kept for that (recvmsg() hands
 * it back, frpc_call_keep_request()), so a unary call costs no second
 * message.
 */
#include <linux/hash.h>
#include <linux/kfence.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "call.h"
#include "conn.h"
#include "flow.h"
#include "frpc.h"
#include "listener.h"
#include "mem.h"
#include "sock.h"
#include "timer.h"
#include "tx.h"

static struct kmem_cache *frpc_call_cache;
static struct kmem_cache *frpc_rxmsg_cache;

int frpc_call_init(void)
{
	/* charged to the memcg active at allocation (see mem.c) */
	frpc_call_cache = KMEM_CACHE(frpc_call, SLAB_ACCOUNT);
	/* recvmsg() copies small messages out of the object itself */
	frpc_rxmsg_cache = KMEM_CACHE_USERCOPY(frpc_rxmsg, SLAB_ACCOUNT, inl);
	if (frpc_call_cache && frpc_rxmsg_cache)
		return 0;
	frpc_call_exit();
	return -ENOMEM;
}

void frpc_call_exit(void)
{
	kmem_cache_destroy(frpc_rxmsg_cache);
	kmem_cache_destroy(frpc_call_cache);
}

/*
 * Each connection keeps the calls and messages it freed for its next
 * allocations.  A unary round trip allocates a call and a message on each
 * side, and the server's are allocated in the receive softirq on one CPU
 * and freed by the application on another: SLUB's slow path both ways,
 * and init_on_alloc (on in Debian's kernels) clearing each object again.
 * With many calls in flight the frees come in bursts on one CPU and the
 * allocations in bursts on the other, and SLUB gives emptied slabs' pages
 * back and takes new ones, each cleared and its free list shuffled with
 * random numbers: with one kept object of each kind, a profile of 64
 * calls in flight found page allocations under frpc_call_alloc().
 *
 * So a connection keeps one of each kind in a slot (xchg, any context),
 * which is all one call at a time needs, and up to FRPC_SPARES more on a
 * stack under spare_lock, which takes a burst: at most what it had
 * allocated at its busiest (65 of each, about 40 KiB), until it has had
 * no calls for a keepalive tick (frpc_call_trim_spares()).  An object
 * stays charged to the memory cgroup that allocated it: on a client
 * connection shared by processes of different cgroups, one cgroup's spares
 * may serve another's calls, within that bound.  Off under KASAN, so that
 * a use after free is still caught.
 */
static bool frpc_spares = !IS_ENABLED(CONFIG_KASAN);	/* KUnit sets it */

/* What a kept object's first bytes become; both are cleared on reuse. */
struct frpc_spare {
	struct frpc_spare *next;
};

static noinline void *frpc_spare_pop(struct frpc_conn *conn,
				     struct frpc_spare **top, u8 *n)
{
	struct frpc_spare *obj;
	unsigned long flags;

	spin_lock_irqsave(&conn->spare_lock, flags);
	obj = *top;
	if (obj) {
		*top = obj->next;
		(*n)--;
	}
	spin_unlock_irqrestore(&conn->spare_lock, flags);
	return obj;
}

static noinline bool frpc_spare_push(struct frpc_conn *conn,
				     struct frpc_spare **top, u8 *n, void *p)
{
	struct frpc_spare *obj = p;
	unsigned long flags;
	bool kept = false;

	BUILD_BUG_ON(FRPC_SPARES > U8_MAX);
	spin_lock_irqsave(&conn->spare_lock, flags);
	/* a double free would hand the object out twice */
	if (*n < FRPC_SPARES && !WARN_ON_ONCE(obj == *top)) {
		obj->next = *top;
		*top = obj;
		(*n)++;
		kept = true;
	}
	spin_unlock_irqrestore(&conn->spare_lock, flags);
	return kept;
}

/*
 * One of conn's kept objects of a kind, or NULL.  The slot first: one call
 * at a time never needs more, and xchg() costs less than the lock (both
 * helpers are inline for that case, the stack's are not).
 */
static __always_inline void *frpc_spare_take(struct frpc_conn *conn,
					     struct frpc_spare **slot,
					     struct frpc_spare **top, u8 *n)
{
	struct frpc_spare *obj;

	if (!frpc_spares)
		return NULL;
	if (READ_ONCE(*slot)) {
		obj = xchg(slot, NULL);
		if (obj)
			return obj;
	}
	/* a peek: a stale answer costs a slab allocation or the lock */
	return data_race(*top) ? frpc_spare_pop(conn, top, n) : NULL;
}

/*
 * Keep @p in the slot, or on the stack if it has room.  Not when freed
 * memory is to be wiped (init_on_free), nor for one of KFENCE's few
 * sampled objects, which must go back to its pool.
 */
static __always_inline bool frpc_spare_keep(struct frpc_conn *conn,
					    struct frpc_spare **slot,
					    struct frpc_spare **top, u8 *n,
					    void *p)
{
	if (!frpc_spares || want_init_on_free() || is_kfence_address(p))
		return false;
	if (!READ_ONCE(*slot) && !cmpxchg(slot, NULL, (struct frpc_spare *)p))
		return true;
	return frpc_spare_push(conn, top, n, p);
}

static void frpc_spare_free_list(struct kmem_cache *cache,
				 struct frpc_spare *obj)
{
	struct frpc_spare *next;

	for (; obj; obj = next) {
		next = obj->next;
		kmem_cache_free(cache, obj);
	}
}

/*
 * A connection that has had no calls for a while gives its stacks back
 * (timer.c, at a keepalive tick): what a burst left is not held for the
 * connection's life.  The slots stay, for the next single call.
 */
void frpc_call_trim_spares(struct frpc_conn *conn)
{
	struct frpc_spare *calls, *msgs;
	unsigned long flags;

	/* a peek: a stack filled meanwhile waits for the next tick */
	if (!data_race(conn->spare_call_stack || conn->spare_msg_stack))
		return;
	spin_lock_irqsave(&conn->spare_lock, flags);
	calls = conn->spare_call_stack;
	msgs = conn->spare_msg_stack;
	conn->spare_call_stack = NULL;
	conn->spare_msg_stack = NULL;
	conn->spare_call_n = 0;
	conn->spare_msg_n = 0;
	spin_unlock_irqrestore(&conn->spare_lock, flags);
	frpc_spare_free_list(frpc_call_cache, calls);
	frpc_spare_free_list(frpc_rxmsg_cache, msgs);
}

/* The connection is being freed: nobody else can reach its spares. */
void frpc_call_free_spares(struct frpc_conn *conn)
{
	if (conn->spare_call)
		kmem_cache_free(frpc_call_cache, conn->spare_call);
	if (conn->spare_msg)
		kmem_cache_free(frpc_rxmsg_cache, conn->spare_msg);
	frpc_call_trim_spares(conn);
}

/*
 * @charge: a message the peer makes us hold counts against the
 * connection; a client call's reserved last message is the caller's own.
 */
struct frpc_rxmsg *frpc_rxmsg_alloc(struct frpc_conn *conn, gfp_t gfp,
				    bool charge)
{
	struct frpc_rxmsg *m;

	m = frpc_spare_take(conn, &conn->spare_msg, &conn->spare_msg_stack,
			    &conn->spare_msg_n);
	if (!m)
		m = kmem_cache_alloc(frpc_rxmsg_cache, gfp);
	if (!m)
		return NULL;
	memset(m, 0, offsetof(struct frpc_rxmsg, inl));
	INIT_LIST_HEAD(&m->node);
	INIT_LIST_HEAD(&m->call_node);
	__skb_queue_head_init(&m->frags);
	/* a peer's empty messages cost memory too: charge the message */
	if (charge) {
		m->base_size = sizeof(*m);
		m->truesize = m->base_size;
		frpc_conn_charge(conn, m->truesize);
	}
	kref_get(&conn->ref);
	m->conn = conn;
	return m;
}

/* Free a message that is in no queue; never under conn->lock. */
void frpc_rxmsg_free(struct frpc_rxmsg *m)
{
	struct frpc_conn *conn = m->conn;
	struct sk_buff *skb;

	/* consumed, not dropped: drop monitors should not see these */
	while ((skb = __skb_dequeue(&m->frags)))
		consume_skb(skb);
	frpc_conn_uncharge(conn, m->truesize);
	/* nearly always none: kfree(NULL) is a call and a trace point */
	if (unlikely(m->extra))
		kfree(m->extra);
	if (!frpc_spare_keep(conn, &conn->spare_msg, &conn->spare_msg_stack,
			     &conn->spare_msg_n, m))
		kmem_cache_free(frpc_rxmsg_cache, m);
	frpc_conn_put(conn);
}

/*
 * The connection window that @m's bytes still hold goes back: those not
 * credited on arrival (frpc_call_rx_credit()).  m->conn->lock held.
 */
void frpc_rxmsg_credit_conn(struct frpc_rxmsg *m)
{
	lockdep_assert_held(&m->conn->lock);
	frpc_credit_conn(m->conn, m->len - m->conn_credited);
	m->conn_credited = m->len;
}

/* A message was read or dropped; m->conn->lock held. */
void frpc_rxmsg_consumed(struct frpc_rxmsg *m)
{
	frpc_rxmsg_credit_conn(m);
	frpc_count_sub(m->conn->fn, rx_held_bytes, m->len);
}

/*
 * Empty a message whose window went back already: back to what it was
 * charged when allocated (nothing, if reserved).
 */
static void frpc_rxmsg_empty(struct frpc_rxmsg *m)
{
	__skb_queue_purge(&m->frags);
	frpc_conn_uncharge(m->conn, m->truesize - m->base_size);
	m->truesize = m->base_size;
	if (unlikely(m->extra)) {
		kfree(m->extra);
		m->extra = NULL;
	}
	m->meta_len = 0;
	m->smsg_len = 0;
	m->inl_len = 0;
	m->len = 0;
	m->conn_credited = 0;
	m->status = 0;
}

/*
 * Empty a message that took part of a frame the connection refused, so
 * that it can still carry the call's end.  m->conn->lock held.
 */
void frpc_rxmsg_reset(struct frpc_rxmsg *m)
{
	frpc_rxmsg_consumed(m);
	frpc_rxmsg_empty(m);
}

/* Drop an unread message.  conn->lock held. */
void frpc_rxmsg_drop(struct frpc_rxmsg *m, struct frpc_reap *r)
{
	frpc_rxmsg_consumed(m);
	list_add_tail(&m->node, &r->msgs);
}

/* Add a payload skb (frpc_skb_cb says where) and charge what it pins. */
void frpc_rxmsg_add_frag(struct frpc_rxmsg *m, struct sk_buff *skb)
{
	m->len += frpc_skb_cb(skb)->len;
	m->truesize += skb->truesize;
	frpc_conn_charge(m->conn, skb->truesize);
	__skb_queue_tail(&m->frags, skb);
}

/* Copy up to @len bytes of a message to user space. */
int frpc_rxmsg_copy_out(struct frpc_rxmsg *m, struct msghdr *msg, u32 len)
{
	u32 copied = min(m->inl_len, len);
	struct sk_buff *skb;

	if (copied && copy_to_iter(m->inl, copied, &msg->msg_iter) != copied)
		return -EFAULT;
	skb_queue_walk(&m->frags, skb) {
		struct frpc_skb_cb *cb = frpc_skb_cb(skb);
		u32 n = min(cb->len, len - copied);
		int err;

		if (!n)
			break;
		err = skb_copy_datagram_msg(skb, cb->off, msg, n);
		if (err)
			return err;
		copied += n;
	}
	return copied;
}

/*
 * Copy a whole message to kernel memory (a ring's buffer area): plain
 * copies, none of the user-copy checks an iov_iter pays for each piece.
 */
void frpc_rxmsg_copy_to(struct frpc_rxmsg *m, u8 *to)
{
	u32 copied = min(m->inl_len, m->len);
	struct sk_buff *skb;

	memcpy(to, m->inl, copied);
	skb_queue_walk(&m->frags, skb) {
		struct frpc_skb_cb *cb = frpc_skb_cb(skb);
		u32 n = min(cb->len, m->len - copied);

		if (!n)
			break;
		/* the frags hold what they were charged for: in range */
		WARN_ON_ONCE(frpc_skb_bits(skb, cb->off, to + copied, n));
		copied += n;
	}
}

struct frpc_call *frpc_call_alloc(struct frpc_conn *conn, gfp_t gfp)
{
	struct frpc_call *call;

	call = frpc_spare_take(conn, &conn->spare_call, &conn->spare_call_stack,
			       &conn->spare_call_n);
	if (call)
		memset(call, 0, sizeof(*call));
	else
		call = kmem_cache_zalloc(frpc_call_cache, gfp);
	if (!call)
		return NULL;
	/* a server call's comes with its request (frpc_call_keep_request) */
	if (conn->client) {
		call->fin = frpc_rxmsg_alloc(conn, gfp, false);
		if (!call->fin) {
			kmem_cache_free(frpc_call_cache, call);
			return NULL;
		}
	}
	INIT_HLIST_NODE(&call->conn_node);
	INIT_HLIST_NODE(&call->sock_node);
	INIT_LIST_HEAD(&call->tx_node);
	RB_CLEAR_NODE(&call->dl_node);
	INIT_LIST_HEAD(&call->owed_node);
	INIT_LIST_HEAD(&call->rxmsgs);
	INIT_LIST_HEAD(&call->txq);
	call->rx_avail = FRPC_CALL_WINDOW;
	kref_get(&conn->ref);
	call->conn = conn;
	if (!conn->client)
		frpc_conn_charge(conn, sizeof(*call));
	return call;
}

/* Free a call that is in no table; never under conn->lock. */
void frpc_call_free(struct frpc_call *call)
{
	struct frpc_conn *conn = call->conn;

	WARN_ON_ONCE(call->in_conn || call->in_sock || call->cancel_owed ||
		     !list_empty(&call->txq));
	if (call->fin)
		frpc_rxmsg_free(call->fin);
	if (call->rx) {
		frpc_call_unhold(call, call->rx);
		frpc_rxmsg_free(call->rx);
	}
	if (!conn->client)
		frpc_conn_uncharge(conn, sizeof(*call));
	if (!frpc_spare_keep(conn, &conn->spare_call, &conn->spare_call_stack,
			     &conn->spare_call_n, call))
		kmem_cache_free(frpc_call_cache, call);
	frpc_conn_put(conn);
}

/*
 * Free what was set aside under the spinlocks.  A connection failing with
 * a huge backlog may hand over tens of thousands of messages: in process
 * context yield every FRPC_REAP_BATCH.
 */
void __frpc_reap(struct frpc_reap *r)
{
	bool may_sleep = preemptible();
	struct frpc_rxmsg *m, *mn;
	struct frpc_call *c, *cn;
	unsigned int n = 0;

	list_for_each_entry_safe(m, mn, &r->msgs, node) {
		list_del(&m->node);
		frpc_rxmsg_free(m);
		if (may_sleep && !(++n % FRPC_REAP_BATCH))
			cond_resched();
	}
	list_for_each_entry_safe(c, cn, &r->calls, tx_node) {
		list_del_init(&c->tx_node);
		frpc_call_free(c);
		if (may_sleep && !(++n % FRPC_REAP_BATCH))
			cond_resched();
	}
}

/*
 * The bucket of the connection's call table that holds wire id @id: the
 * table is an array of its own, so <linux/hashtable.h>'s macros, which
 * want an array they can size, are not used on it.
 */
static struct hlist_head *frpc_call_bucket(struct frpc_conn *conn, u32 id)
{
	return &conn->calls[frpc_call_hash(conn, id)];
}

struct frpc_call *frpc_call_find(struct frpc_conn *conn, u32 id)
{
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	hlist_for_each_entry(call, frpc_call_bucket(conn, id), conn_node)
		if (call->id == id)
			return call;
	return NULL;
}

void frpc_call_link(struct frpc_conn *conn, struct frpc_call *call)
{
	lockdep_assert_held(&conn->lock);
	hlist_add_head(&call->conn_node, frpc_call_bucket(conn, call->id));
	call->in_conn = true;
	conn->ncalls++;
}

void frpc_call_unlink(struct frpc_call *call)
{
	struct frpc_conn *conn = call->conn;

	lockdep_assert_held(&conn->lock);
	if (call->in_conn) {
		hlist_del_init(&call->conn_node);
		call->in_conn = false;
		if (!--conn->ncalls) {
			conn->idle_since = jiffies;
			frpc_conn_drained(conn);
		}
	}
	if (!RB_EMPTY_NODE(&call->dl_node))
		frpc_call_clear_deadline(call);
}

/*
 * A server call is cancelled while a reader copies its request out (the
 * application has the handle, the call no reserved message yet): the
 * notice is owed until the reader is done (frpc_call_keep_request()).
 * Counted in fs->ncancel_owed meanwhile, so that a drained socket reads no end
 * of file before it (frpc_server_drained()).  fs->lock and conn->lock
 * held.
 */
static void __frpc_call_owe_cancel(struct frpc_call *call)
{
	struct frpc_sock *fs = call->fs;

	lockdep_assert_held(&fs->lock);
	call->cancel_owed = true;
	WRITE_ONCE(fs->ncancel_owed, fs->ncancel_owed + 1);
}

/*
 * The notice @call owed is queued, or the call leaves its socket without
 * it (answered, or the socket released).  fs->lock held.  True if it was
 * all that a shut-down socket still waited for: the caller wakes its end
 * of file (frpc_sock_wake_eof()) once it dropped fs->lock.
 */
static bool __frpc_call_owed_paid(struct frpc_call *call)
{
	struct frpc_sock *fs = call->fs;

	lockdep_assert_held(&fs->lock);
	call->cancel_owed = false;
	if (WARN_ON_ONCE(!fs->ncancel_owed))
		return false;
	WRITE_ONCE(fs->ncancel_owed, fs->ncancel_owed - 1);
	return frpc_server_drained(fs) && !fs->dead;
}

/*
 * Take a call out of its socket's tables, the list of calls owed credit
 * included, before it can be freed.  fs->lock held.  True if the end of
 * file of a shut-down server socket waited for a cancellation notice the
 * call owed, which now will not come: the caller wakes it
 * (frpc_sock_wake_eof()) once it dropped fs->lock.
 */
bool __frpc_call_leave_sock(struct frpc_call *call)
{
	struct frpc_sock *fs = call->fs;

	lockdep_assert_held(&fs->lock);
	if (call->in_sock) {
		hash_del(&call->sock_node);
		call->in_sock = false;
		if (!call->conn->client)
			__frpc_server_call_gone(call);
	}
	frpc_list_del_init(&call->owed_node);
	call->rx_withheld = 0;
	/* only a server call answered while its request is being read */
	if (unlikely(call->cancel_owed))
		return __frpc_call_owed_paid(call);
	return false;
}

/*
 * The same, with conn->lock held, for a call that owes no notice (a
 * client call, a server call the application has no handle of, or any
 * call of a released socket).
 */
static void frpc_call_leave_sock(struct frpc_call *call)
{
	struct frpc_sock *fs = call->fs;
	bool eof;

	if (!fs)
		return;
	spin_lock(&fs->lock);
	eof = __frpc_call_leave_sock(call);
	spin_unlock(&fs->lock);
	WARN_ON_ONCE(eof);
}

/* Drop a partly received message. */
static void frpc_call_drop_rx(struct frpc_call *call, struct frpc_reap *r)
{
	if (call->rx) {
		frpc_call_unhold(call, call->rx);
		frpc_rxmsg_drop(call->rx, r);
		call->rx = NULL;
	}
}

/* A message of the call is complete: hand it to the socket. */
void frpc_call_rx_done(struct frpc_call *call, bool eor)
{
	struct frpc_rxmsg *m = call->rx;

	lockdep_assert_held(&call->conn->lock);
	call->rx = NULL;
	m->eor = eor;
	m->id = call->key;
	if (eor)
		call->rx_eos = true;
	frpc_call_count_rx(call, m->len);
	frpc_sock_queue(call->fs, m, call->conn->client ? NULL : call);
}

/*
 * Tell the server to stop a client call.  Not before its CALL frame went
 * to TCP: the server would take the unknown id for a protocol error, and
 * dropping the unsent CALL is cancel enough.  conn->lock held.
 */
void frpc_call_send_cancel(struct frpc_call *call, bool deadline)
{
	lockdep_assert_held(&call->conn->lock);
	/* the mark only to a peer that said it takes it (HELLO) */
	deadline = deadline && call->conn->peer_cancel_deadline;
	if (call->wire_started && !call->rx_eos)
		frpc_queue_simple(call->conn, FASTRPC_FRAME_CANCEL,
				  deadline ? FASTRPC_FF_DEADLINE : 0, call->id,
				  NULL, 0);
}

/* The rest of a client call's end, its result queued.  conn->lock held. */
static void frpc_call_forget(struct frpc_call *call, u32 status,
			     struct frpc_reap *r)
{
	trace_call_end(call, status);
	call->state = FRPC_CALL_DONE;
	frpc_call_unlink(call);
	frpc_call_drop_tx(call);
	list_add_tail(&call->tx_node, &r->calls);
}

/*
 * End a client call with @status unless its result is already queued,
 * and forget it.  conn->lock held; the call goes to @r.
 *
 * The call leaves its socket's tag table before its result is queued,
 * here and in frpc_call_complete(): the reader may reuse the tag the
 * moment it has the result, and its next call may go on another
 * connection (this one draining after a GOAWAY, or lost), which this
 * connection's lock does not order with us.  It found the tag taken
 * (EEXIST) in that window.
 */
void frpc_call_finish(struct frpc_call *call, u32 status, struct frpc_reap *r)
{
	lockdep_assert_held(&call->conn->lock);
	frpc_call_leave_sock(call);
	if (!call->rx_eos) {
		struct frpc_rxmsg *m = call->fin;

		frpc_call_drop_rx(call, r);
		call->fin = NULL;
		m->status = status;
		if (call->fs && READ_ONCE(call->fs->dead)) {
			/*
			 * A released client reads no more results: its tens
			 * of thousands of calls at close() are not queued
			 * one by one only to be purged one by one.
			 */
			call->rx_eos = true;
			frpc_rxmsg_drop(m, r);
		} else {
			call->rx = m;
			frpc_call_rx_done(call, true);
		}
	}
	frpc_call_forget(call, status, r);
}

/*
 * A client call's result came whole (its END, in call->rx): queue it and
 * end the call.  conn->lock held; the call goes to @r.
 */
void frpc_call_complete(struct frpc_call *call, u32 status,
			struct frpc_reap *r)
{
	lockdep_assert_held(&call->conn->lock);
	frpc_call_leave_sock(call);
	frpc_call_rx_done(call, true);
	frpc_call_forget(call, status, r);
}

/* Drop a server call's unread messages. */
void frpc_call_purge_rx(struct frpc_call *call, struct frpc_reap *r)
{
	struct frpc_sock *fs = call->fs;
	struct frpc_rxmsg *m, *tmp;

	frpc_call_drop_rx(call, r);
	spin_lock(&fs->lock);
	list_for_each_entry_safe(m, tmp, &call->rxmsgs, call_node) {
		__frpc_sock_unqueue(fs, m);
		list_add_tail(&m->node, &r->msgs);
		frpc_rxmsg_consumed(m);
	}
	frpc_sock_room_made(fs);
	spin_unlock(&fs->lock);
}

/* Tell the application, with @m, that server call @call was cancelled. */
static void frpc_call_notify_cancel(struct frpc_call *call,
				    struct frpc_rxmsg *m)
{
	m->flags = FASTRPC_IN_CANCELLED;
	if (call->cancel_deadline)
		m->flags |= FASTRPC_IN_DEADLINE;
	m->method = call->method;
	m->eor = true;
	m->id = call->key;
	frpc_sock_queue(call->fs, m, NULL);
}

/*
 * The application read @m, the request of a server call on @fs (recvmsg()
 * set seen, so it has the handle), and the window @m held went back: @m
 * becomes the call's reserved last message, emptied, or, if the call was
 * cancelled while @m was read, the notice it owes.  Returns @m when the
 * call needs it no more (answered or gone), for the caller to free.
 * m->conn->lock held.
 */
struct frpc_rxmsg *frpc_call_keep_request(struct frpc_sock *fs,
					  struct frpc_rxmsg *m)
{
	struct frpc_conn *conn = m->conn;
	struct frpc_call *call;
	struct sk_buff *skb;

	lockdep_assert_held(&conn->lock);
	spin_lock(&fs->lock);
	call = frpc_sock_find(fs, m->id);
	spin_unlock(&fs->lock);
	/* a server call leaves its socket only under conn->lock: it stays */
	if (!call || call->conn != conn || call->fin ||
	    (call->state != FRPC_CALL_OPEN && !call->cancel_owed))
		return m;
	while ((skb = __skb_dequeue(&m->frags)))
		consume_skb(skb);	/* read, not dropped */
	frpc_rxmsg_empty(m);
	m->flags = 0;
	m->eor = false;
	m->timeout_ns = 0;
	if (call->cancel_owed) {
		bool eof;

		frpc_call_notify_cancel(call, m);
		/*
		 * Uncounted only once queued: under fs->lock a reader sees
		 * the notice, or no end of file yet.  With conn->lock held
		 * the call cannot leave the socket meanwhile.  The wakeup of
		 * the notice is not enough: the reader it woke may take it
		 * before the count went, and the others sleep again.
		 */
		spin_lock(&fs->lock);
		eof = __frpc_call_owed_paid(call);
		spin_unlock(&fs->lock);
		if (eof)
			frpc_sock_wake_eof(fs);
	} else {
		call->fin = m;
	}
	return NULL;
}

/*
 * A server call is cancelled: by the client, its deadline or the loss of
 * its connection, which @status (CANCELLED, DEADLINE_EXCEEDED,
 * UNAVAILABLE) tells the trace.  If the application holds the handle it
 * is told with a FASTRPC_IN_CANCELLED message and the call waits for its
 * (ignored) reply; otherwise the call simply goes.  conn->lock held.
 */
void frpc_call_cancel_server(struct frpc_call *call, u32 status,
			     struct frpc_reap *r)
{
	struct frpc_sock *fs = call->fs;
	struct frpc_rxmsg *m;

	lockdep_assert_held(&call->conn->lock);
	frpc_call_unlink(call);
	frpc_call_drop_tx(call);
	if (call->state == FRPC_CALL_DONE) {
		/* answered, END not yet sent: nothing left to tell anyone */
		list_add_tail(&call->tx_node, &r->calls);
		return;
	}
	trace_call_end(call, status);
	frpc_call_purge_rx(call, r);
	call->cancel_deadline = status == FASTRPC_DEADLINE_EXCEEDED;
	spin_lock(&fs->lock);
	if (call->seen && !fs->dead) {
		call->state = FRPC_CALL_CANCELLED;
		/*
		 * It stays in the socket for its notice, but gets no more
		 * data: no credit to grant it (frpc_sock_grant_owed()).
		 */
		frpc_list_del_init(&call->owed_node);
		call->rx_withheld = 0;
		m = call->fin;
		call->fin = NULL;
		/* recvmsg() is reading the request, which says it */
		if (!m && !call->cancel_owed)
			__frpc_call_owe_cancel(call);
		spin_unlock(&fs->lock);
		if (m)
			frpc_call_notify_cancel(call, m);
		return;
	}
	spin_unlock(&fs->lock);
	frpc_call_leave_sock(call);
	list_add_tail(&call->tx_node, &r->calls);
}
