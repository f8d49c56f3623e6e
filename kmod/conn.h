/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.c: connections.  One kernel TCP socket each (or a same-host pair), its reader and
 * transmit state, its call table, its timers; setup and teardown.
 */
#ifndef _FRPC_CONN_H
#define _FRPC_CONN_H

#include <linux/kref.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "frpc.h"
#include "reader.h"
#include "trace.h"
#include "tx.h"

struct frpc_loop;
struct frpc_sock;
struct frpc_share;
struct frpc_spare;
struct mem_cgroup;

enum frpc_conn_state {
	FRPC_CONN_CONNECTING,	/* client: TCP connect in progress */
	FRPC_CONN_HELLO,	/* waiting for the peer's HELLO */
	FRPC_CONN_READY,
	FRPC_CONN_DRAINING,	/* GOAWAY seen or sent: no new calls */
	FRPC_CONN_DEAD,		/* failed or closed; never leaves this state */
};

struct frpc_conn {
	struct kref		ref;
	struct frpc_net		*fn;
	struct list_head	node;		/* fn->conns or fs->conns */
	struct list_head	close_node;	/* frpc_net_close_all() */
	u64			id;
	bool			client;
	int			users;		/* client sockets, fn->lock */
	struct list_head	user_socks;	/* ... them, fn->lock */
	struct work_struct	connect_work;	/* client: connect, HELLO */
	struct sockaddr_fastrpc	peer;

	/* transport.c: the TCP socket (under tx_mutex) and its reader */
	struct socket		*tcp;
	/* loop.c: or the same-host pair instead (under tx_mutex) */
	struct frpc_loop	*loop;
	u8			loop_side;
	bool			loop_ok;	/* client: may take the short cut */
	bool			via_loop;	/* set once, when paired */
	struct page_frag	loop_frag;	/* big frames' pages, tx_mutex */
	struct frpc_reader	rd;
	unsigned long		tp_flags;
	struct work_struct	rx_work;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);

	spinlock_t		lock;		/* see the top of this file */
	enum frpc_conn_state	state;
	int			err;		/* errno once DEAD */
	u8			werr;		/* ERROR code to send, if any */
	u8			version;	/* negotiated protocol version */
	bool			torn_down;
	wait_queue_head_t	wait;		/* state changes */
	struct hlist_head	*calls;		/* FRPC_CALL_BUCKETS, by wire id */
	u32			hash_mul;	/* odd, random: frpc_call_bucket() */
	u32			ncalls;
	u32			next_id;	/* client: last id used */
	u32			max_id;		/* server: highest id seen */

	/* flow control: what we may send, what the peer may send us */
	u32			tx_credit;
	u32			peer_call_window;
	bool			peer_cancel_deadline; /* HELLO_F_CANCEL_DEADLINE */
	u32			rx_avail;
	u32			rx_owed;	/* consumed, not yet granted */
	atomic_t		rx_mem;		/* held frames and messages */

	/* transmit: control frames first, then calls in turn */
	struct mutex		tx_mutex;
	struct list_head	ctrlq;
	u32			ctrl_bytes;
	/* a control frame lost (the peer does not read, no memory): fail */
	bool			ctrl_overflow;
	struct list_head	ready;		/* calls with data to frame */
	u32			tx_short_run;	/* short bytes ahead of a long */
	unsigned long		tx_mixed_until;	/* jiffies: short messages go */
	/* stalls (timer.c): jiffies, or 0 */
	unsigned long		stall_since;	/* the connection window shut */
	bool			calls_starved;	/* a call's window shut: look */
	u64			stall_tx_bytes;	/* tx_bytes at the last tick */
	unsigned long		stall_tx_since;	/* ... standing still since */
	struct frpc_txframe	cur;		/* under tx_mutex */
	struct frpc_txmsg	*cur_msg;	/* what cur points into */
	struct frpc_txmsg	*cur_orphan;	/* ... after its call went */
	u8			*tx_stage;	/* small frames of a batch */
	u32			tx_stage_len;	/* ... copied, not yet in cur */
	struct work_struct	tx_work;
	struct work_struct	fail_work;
	struct work_struct	eof_work;	/* peer's FIN: read, then fail */
	int			eof_err;	/* why TCP closed, for eof_work */

	/* timers: call deadlines, keepalive and idleness */
	struct rb_root_cached	deadlines;	/* calls by deadline, soonest left */
	struct timer_list	deadline_timer;
	struct timer_list	ka_timer;
	unsigned long		last_rx;	/* jiffies */
	unsigned long		idle_since;	/* jiffies: ncalls last hit 0 */
	u64			ping_sent_ns;
	unsigned long		last_ping;	/* jiffies */
	u32			srtt_us;

	struct frpc_sock	*server;	/* server side: owner, holds a ref */
	struct frpc_share	*share;		/* server side: its peer's share */
	struct mem_cgroup	*memcg;		/* client side: who pays */

	/*
	 * call.c: calls and messages freed, kept for the next allocations:
	 * one of each in a slot (xchg), more on two stacks linked through
	 * the objects, up to FRPC_SPARES each (see frpc_spare_take()).
	 */
	struct frpc_spare	*spare_call;
	struct frpc_spare	*spare_msg;
	spinlock_t		spare_lock;	/* any context, irqsave */
	struct frpc_spare	*spare_call_stack;
	struct frpc_spare	*spare_msg_stack;
	u8			spare_call_n;
	u8			spare_msg_n;

	/* netlink.c: the namespace's list, and what dumps show */
	struct rb_node		nl_node;	/* fn->nl_conns, fn->nl_lock */
	u64			born_ns;
	u64			tx_bytes;	/* under tx_mutex */
	u64			tx_frames;	/* ... calls' frames */
	u64			tx_ctrl_frames;	/* under conn->lock */
	bool			goaway_rx;	/* told once, conn->lock */
	u8			goaway_cuts;	/* GOAWAYs that ended calls */
	u32			goaway_last;	/* ... the lowest last_id of them */
};

/*
 * The one way to move a connection to another state: under conn->lock,
 * and published for the readers that look without it (READ_ONCE).
 */
static inline void frpc_conn_set_state(struct frpc_conn *conn,
				       enum frpc_conn_state state)
{
	lockdep_assert_held(&conn->lock);
	trace_conn_state(conn, state);
	WRITE_ONCE(conn->state, state);
}

/* Is a transport (a TCP socket or a same-host pair) attached?  tx_mutex. */
static inline bool frpc_conn_has_tp(const struct frpc_conn *conn)
{
	lockdep_assert_held(&conn->tx_mutex);
	return conn->tcp || conn->loop;
}

struct frpc_conn *frpc_conn_alloc(struct frpc_net *fn,
				  const struct sockaddr_fastrpc *peer,
				  bool client);
void frpc_conn_put(struct frpc_conn *conn);
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer,
				       struct frpc_sock *fs,
				       struct frpc_conn *old);
int frpc_conn_wait_ready(struct frpc_conn *conn, long timeo);
void frpc_conn_unuse(struct frpc_conn *conn, struct frpc_sock *fs);
int frpc_conn_attach(struct frpc_conn *conn, struct socket *tcp);
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr);
void frpc_conn_end_all(struct frpc_conn *conn);
void __frpc_conn_goaway(struct frpc_conn *conn, u32 code);
void frpc_conn_goaway(struct frpc_conn *conn, u32 code);
void frpc_conn_peer_closed(struct frpc_conn *conn, int err);
void frpc_conn_pong(struct frpc_conn *conn, u64 sent_ns);
void frpc_net_close_all(struct frpc_net *fn);

/*
 * The call table's bucket of wire id @id.  A server's peer chooses the
 * ids of its calls, so a fixed hash (hash_32()) let it put thousands of
 * open calls in one bucket and make the lookup of each of its frames,
 * in softirq under conn->lock, walk them all.  Multiply-shift with a
 * random odd multiplier per connection (Dietzfelbinger et al.) makes
 * any two ids chosen without knowing it share a bucket with probability
 * at most 2 in FRPC_CALL_BUCKETS, for the cost of hash_32(): one
 * multiplication and one shift.
 */
static inline u32 frpc_call_hash(const struct frpc_conn *conn, u32 id)
{
	return (id * conn->hash_mul) >> (32 - FRPC_CALL_HASH_BITS);
}

#endif /* _FRPC_CONN_H */
