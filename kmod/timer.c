// SPDX-License-Identifier: GPL-2.0-only
/*
 * Timers: each connection has two, and they live here together.
 *
 * The deadline timer fires at the soonest call deadline (the leftmost
 * call of the tree conn->deadlines) and ends the calls whose time is
 * up, a batch a tick.
 * The keepalive timer ticks a few times per keepalive_ms or idle_ms: it
 * PINGs a quiet peer, fails a connection whose peer has been silent for
 * three intervals or that never finished HELLO, and closes one without
 * calls (and, on a client, without sockets) for idle_ms.
 *
 * Timers hold no connection reference: teardown sets conn->torn_down
 * under conn->lock, after which neither re-arms, then shuts both down
 * (frpc_conn_stop_timers()) before the owner lets go.
 */
#include <linux/moduleparam.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "sock.h"
#include "timer.h"
#include "tx.h"

static int frpc_param_set_ms(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, FRPC_TIMER_MIN_MS, FRPC_TIMER_MAX_MS);
}

static const struct kernel_param_ops frpc_ms_ops = {
	.set = frpc_param_set_ms,
	.get = param_get_uint,
};

unsigned int frpc_keepalive_ms = FRPC_KEEPALIVE_MS;
module_param_cb(keepalive_ms, &frpc_ms_ops, &frpc_keepalive_ms, 0644);
MODULE_PARM_DESC(keepalive_ms, "PING interval; 3 silent intervals end a connection");

unsigned int frpc_idle_ms = FRPC_IDLE_MS;
module_param_cb(idle_ms, &frpc_ms_ops, &frpc_idle_ms, 0644);
MODULE_PARM_DESC(idle_ms, "close a connection without calls after this long");

unsigned int frpc_stall_ms = FRPC_STALL_MS;
module_param_cb(stall_ms, &frpc_ms_ops, &frpc_stall_ms, 0644);
MODULE_PARM_DESC(stall_ms, "fail a connection whose peer takes none of our waiting data this long");

/*
 * conn->deadlines is a tree, soonest leftmost, not a sorted list: a
 * server's peer chooses its calls' timeouts, and with a list scanned at
 * each insertion, timeouts that shrink call by call made every CALL walk
 * all the calls in flight (65536 at most), in softirq under conn->lock.
 * Equal deadlines go right of each other, so they end in arrival order.
 */
void frpc_call_set_deadline(struct frpc_call *call, u64 timeout_ns)
{
	struct frpc_conn *conn = call->conn;
	struct rb_node **link = &conn->deadlines.rb_root.rb_node;
	struct rb_node *parent = NULL;
	bool leftmost = true;
	struct frpc_call *pos;

	lockdep_assert_held(&conn->lock);
	if (WARN_ON_ONCE(!RB_EMPTY_NODE(&call->dl_node)))
		return;
	/* within half the jiffies range, so time_before() orders them all */
	call->deadline = jiffies + clamp_t(u64, nsecs_to_jiffies64(timeout_ns),
					   1, MAX_JIFFY_OFFSET);
	while (*link) {
		parent = *link;
		pos = rb_entry(parent, struct frpc_call, dl_node);
		if (time_before(call->deadline, pos->deadline)) {
			link = &parent->rb_left;
		} else {
			link = &parent->rb_right;
			leftmost = false;
		}
	}
	rb_link_node(&call->dl_node, parent, link);
	rb_insert_color_cached(&call->dl_node, &conn->deadlines, leftmost);
	if (leftmost && !conn->torn_down)
		mod_timer(&conn->deadline_timer, call->deadline);
}

void frpc_call_clear_deadline(struct frpc_call *call)
{
	lockdep_assert_held(&call->conn->lock);
	if (!RB_EMPTY_NODE(&call->dl_node)) {
		rb_erase_cached(&call->dl_node, &call->conn->deadlines);
		RB_CLEAR_NODE(&call->dl_node);
	}
}

static void frpc_deadline_timer_fn(struct timer_list *t)
{
	struct frpc_conn *conn = from_timer(conn, t, deadline_timer);
	struct frpc_call *call;
	struct rb_node *first;
	unsigned int n = 0;
	struct frpc_reap r;
	bool queued = false;

	frpc_reap_init(&r);
	spin_lock_bh(&conn->lock);
	while ((first = rb_first_cached(&conn->deadlines))) {
		call = rb_entry(first, struct frpc_call, dl_node);
		if (time_before(jiffies, call->deadline) ||
		    ++n > FRPC_REAP_BATCH) {
			/* a batch a tick: thousands may expire together */
			if (!conn->torn_down)
				mod_timer(&conn->deadline_timer,
					  n > FRPC_REAP_BATCH ? jiffies + 1 :
								call->deadline);
			break;
		}
		frpc_call_clear_deadline(call);
		frpc_count(conn->fn, deadlines_exceeded);
		trace_call_deadline(call);
		if (conn->client) {
			frpc_call_send_cancel(call, true);
			frpc_call_finish(call, FASTRPC_DEADLINE_EXCEEDED, &r);
			queued = true;
		} else {
			/* the request's window may go back: a CREDIT */
			frpc_call_cancel_server(call, FASTRPC_DEADLINE_EXCEEDED,
						&r);
			queued = true;
		}
	}
	spin_unlock_bh(&conn->lock);
	frpc_reap(&r);
	if (queued)
		frpc_conn_kick_async(conn);
}

/*
 * Has a call been short of credit for @limit, its peer granting none?
 * Walks the calls only while one was seen short (conn->calls_starved),
 * and forgets the clocks of those no longer short.
 */
static bool frpc_conn_calls_stalled(struct frpc_conn *conn, unsigned long now,
				    unsigned long limit)
{
	struct frpc_call *call;
	bool starved = false;
	unsigned int bkt;

	for (bkt = 0; bkt < FRPC_CALL_BUCKETS; bkt++) {
		hlist_for_each_entry(call, &conn->calls[bkt], conn_node) {
			if (!call->stall_since)
				continue;
			if (!frpc_call_starved(call)) {
				call->stall_since = 0;
				continue;
			}
			if (time_after(now, call->stall_since + limit))
				return true;
			starved = true;
		}
	}
	conn->calls_starved = starved;
	return false;
}

/*
 * Has the server socket that answers this connection's calls been out
 * of SO_SNDBUF for @limit, since a sender first found no room and had to
 * wait or give up (frpc_wait_send_slow()), so that its replies to every
 * peer wait?  A buffer that fills for a moment, or that is full with no
 * one trying to send, is no pressure.
 */
static bool frpc_conn_pressed(const struct frpc_conn *conn,
			      unsigned long now, unsigned long limit)
{
	struct frpc_sock *fs = READ_ONCE(conn->server);
	unsigned long since;

	if (conn->client || !fs)
		return false;
	since = READ_ONCE(fs->tx_full_since);
	return since && time_after(now, since + limit) &&
	       READ_ONCE(fs->tx_queued) >= READ_ONCE(fs->sk.sk_sndbuf);
}

/*
 * Should the connection fail for a peer that takes none of our data?
 *
 * - TCP took nothing (conn->tx_bytes stood still) while control frames,
 *   or calls with credit, waited, from one tick to a tick stall_ms
 *   later.  A peer that follows the protocol always reads: credit, not
 *   TCP's window, bounds what it must hold.  Not on the short cut.
 * - Or the peer's credit: the connection window (conn->stall_since,
 *   started by frpc_tx_pick()) or a call's (call->stall_since) has been
 *   short for stall_ms, as a peer that withholds credit would keep it,
 *   and the server socket behind the connection has been out of
 *   SO_SNDBUF, with senders waiting, for stall_ms too: the data waiting
 *   for that peer then holds up the replies to all the others.  A
 *   reader that only falls behind withholds credit too (SO_RCVBUF, and
 *   credit goes back in batches of a quarter window), so without that
 *   pressure, and on a client, a short window only slows its own calls
 *   and fails nothing.
 *
 * A credit of at least FRPC_STALL_CREDIT, or of the rest of the message,
 * stops a credit clock (frpc_credit_received()).  conn->lock held.
 */
static bool frpc_conn_stalled(struct frpc_conn *conn, unsigned long now)
{
	unsigned int ms = frpc_limit(conn->fn, FRPC_LIM_STALL_MS);
	unsigned long limit = msecs_to_jiffies(ms);
	u64 tx = READ_ONCE(conn->tx_bytes);

	lockdep_assert_held(&conn->lock);
	if (READ_ONCE(conn->via_loop) || tx != conn->stall_tx_bytes ||
	    (list_empty(&conn->ctrlq) &&
	     (list_empty(&conn->ready) || !conn->tx_credit))) {
		conn->stall_tx_bytes = tx;
		conn->stall_tx_since = 0;
	} else if (!conn->stall_tx_since) {
		/* first seen standing still: the clock starts, late if at all */
		conn->stall_tx_since = now ?: 1;
	} else if (time_after(now, conn->stall_tx_since + limit)) {
		return true;
	}

	if (conn->stall_since &&
	    (list_empty(&conn->ready) || conn->tx_credit >= FRPC_STALL_CREDIT))
		conn->stall_since = 0;
	if (!frpc_conn_pressed(conn, now, limit))
		return false;
	if (conn->stall_since && time_after(now, conn->stall_since + limit))
		return true;
	return conn->calls_starved &&
	       frpc_conn_calls_stalled(conn, now, limit);
}

static unsigned long frpc_ka_tick(const struct frpc_net *fn)
{
	unsigned int ms = min(frpc_limit(fn, FRPC_LIM_KEEPALIVE_MS),
			      frpc_limit(fn, FRPC_LIM_IDLE_MS)) / 4;

	return max_t(unsigned long, HZ / 10, msecs_to_jiffies(ms));
}

/* Keepalive and idleness start with the connection's transport. */
void frpc_conn_start_timers(struct frpc_conn *conn)
{
	mod_timer(&conn->ka_timer, jiffies + frpc_ka_tick(conn->fn));
}

/*
 * Keepalive and idleness, every tick: PING a silent peer, give up on one
 * silent for too long, close a connection that has had no calls for
 * idle_ms (and, on a client, no sockets), and let one without calls for
 * a tick give back the calls and messages it kept (call.c).
 */
static void frpc_ka_timer_fn(struct timer_list *t)
{
	struct frpc_conn *conn = from_timer(conn, t, ka_timer);
	unsigned long ka = msecs_to_jiffies(frpc_limit(conn->fn, FRPC_LIM_KEEPALIVE_MS));
	unsigned long now = jiffies;
	u8 werr = FASTRPC_WERR_NONE;
	bool kick = false, trim;
	int fail = 0;

	spin_lock_bh(&conn->lock);
	if (conn->torn_down || conn->state == FRPC_CONN_DEAD) {
		spin_unlock_bh(&conn->lock);
		return;
	}
	if (conn->ctrl_overflow) {
		fail = -ENOBUFS;
		werr = FASTRPC_WERR_RESOURCE;
	} else if (conn->state != FRPC_CONN_HELLO &&
		   frpc_conn_stalled(conn, now)) {
		fail = -ETIMEDOUT;
		werr = FASTRPC_WERR_RESOURCE;
		atomic64_inc(&conn->fn->stalled_conns);
	} else if (conn->state == FRPC_CONN_HELLO &&
		   time_after(now, conn->last_rx +
		       msecs_to_jiffies(FRPC_CONNECT_TIMEOUT_MS))) {
		fail = -ETIMEDOUT;
	} else if (time_after(now, conn->last_rx +
			      msecs_to_jiffies(3 * frpc_limit(conn->fn, FRPC_LIM_KEEPALIVE_MS)))) {
		fail = -ETIMEDOUT;
	} else if (conn->state != FRPC_CONN_HELLO) {
		/*
		 * On a schedule, so that busy connections get an RTT too; a
		 * PONG that never came (peers may skip them) stops nothing.
		 */
		if ((!conn->ping_sent_ns ||
		     time_after(now, conn->last_ping + 2 * ka)) &&
		    time_after(now, conn->last_ping + ka)) {
			__be64 ns;

			conn->last_ping = now;
			conn->ping_sent_ns = ktime_get_ns();
			ns = cpu_to_be64(conn->ping_sent_ns);
			frpc_queue_simple(conn, FASTRPC_FRAME_PING, 0, 0, &ns,
					  sizeof(ns));
			atomic64_inc(&conn->fn->pings_sent);
			kick = true;
		}
		if (conn->state == FRPC_CONN_DRAINING && !conn->ncalls)
			fail = -ESHUTDOWN;	/* GOAWAY done: its calls are over */
		else if (!conn->ncalls &&
			 (!conn->client || !READ_ONCE(conn->users)) &&
			 time_after(now, conn->idle_since +
				    msecs_to_jiffies(frpc_limit(conn->fn, FRPC_LIM_IDLE_MS)))) {
			if (!conn->client)
				__frpc_conn_goaway(conn, FASTRPC_WERR_IDLE);
			fail = -ESHUTDOWN;
		}
	}
	/* no calls since before the last tick: give spare objects back */
	trim = !conn->ncalls &&
	       time_after(now, conn->idle_since + frpc_ka_tick(conn->fn));
	if (!fail)
		mod_timer(&conn->ka_timer, now + frpc_ka_tick(conn->fn));
	spin_unlock_bh(&conn->lock);

	if (fail)
		frpc_conn_fail(conn, fail, werr);
	else if (kick)
		frpc_conn_kick_async(conn);
	if (trim && !fail)
		frpc_call_trim_spares(conn);
}

/* Both timers start unarmed; the keepalive timer with the transport. */
void frpc_conn_init_timers(struct frpc_conn *conn)
{
	timer_setup(&conn->deadline_timer, frpc_deadline_timer_fn, 0);
	timer_setup(&conn->ka_timer, frpc_ka_timer_fn, 0);
}

/*
 * A server connection draining after our GOAWAY, without calls, closes
 * from the keepalive timer: now, not up to a tick later (a quarter of
 * keepalive_ms), so that a shut-down server reads its end of file as soon
 * as its calls are over.  Not one the peer closed: its EOF work reports
 * how (conn->eof_err).  Client connections wait for the tick as before.
 * conn->lock held; any context.
 */
void frpc_conn_drained(struct frpc_conn *conn)
{
	lockdep_assert_held(&conn->lock);
	/*
	 * Only a pending timer is moved: one whose callback runs meanwhile
	 * takes conn->lock after us and closes the connection itself, and
	 * one never started (KUnit's connections) stays so.
	 */
	if (!conn->client && conn->state == FRPC_CONN_DRAINING &&
	    !conn->ncalls && !conn->eof_err && !conn->torn_down &&
	    timer_pending(&conn->ka_timer))
		mod_timer(&conn->ka_timer, jiffies);
}

/* Teardown: neither timer re-arms from now on, and neither runs again. */
void frpc_conn_stop_timers(struct frpc_conn *conn)
{
	spin_lock_bh(&conn->lock);
	conn->torn_down = true;		/* timers stop re-arming */
	spin_unlock_bh(&conn->lock);
	timer_shutdown_sync(&conn->ka_timer);
	timer_shutdown_sync(&conn->deadline_timer);
}
