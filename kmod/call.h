/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * call.c: calls and received messages.  What a call is on either side,
 * the messages it receives, and how calls are found and ended.
 */
#ifndef _FRPC_CALL_H
#define _FRPC_CALL_H

#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>

#include "frpc.h"
#include "trace.h"

struct frpc_conn;
struct frpc_sock;
struct msghdr;

enum frpc_call_state {
	FRPC_CALL_OPEN,
	FRPC_CALL_DONE,		/* client: result queued; server: answered */
	FRPC_CALL_CANCELLED,	/* server: told the app, awaiting its reply */
};

/* Where a call's data starts in a received frame skb. */
struct frpc_skb_cb {
	u32	off;
	u32	len;
};

static inline struct frpc_skb_cb *frpc_skb_cb(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct frpc_skb_cb) > sizeof(skb->cb));
	return (struct frpc_skb_cb *)skb->cb;
}

/* A complete received message waiting in a socket's rxq. */
struct frpc_rxmsg {
	struct list_head	node;		/* fs->rxq */
	struct list_head	call_node;	/* server: call->rxmsgs */
	struct frpc_conn	*conn;		/* holds a reference */
	u64			id;		/* client: tag; server: handle */
	u32			method;
	u32			status;
	u32			flags;		/* FASTRPC_IN_* (server) */
	bool			eor;
	u64			timeout_ns;	/* server: left at arrival */
	u64			arrived_ns;	/* ... which was then */
	struct sk_buff_head	frags;
	u32			len;
	u32			held;		/* bytes charged to the socket */
	u32			truesize;	/* charged to conn->rx_mem */
	u32			base_size;	/* ... of it, the message itself */
	u32			conn_credited;	/* window already given back */
	u16			meta_len;
	u16			smsg_len;
	u8			*extra;		/* metadata then status message */
	/*
	 * The first bytes of a small message are copied here, so that it
	 * neither pins the skb it came in nor costs a clone; the rest, if
	 * any, are in @frags.  Last, so that allocation zeroes only the
	 * fields above.
	 */
	u32			inl_len;
	u8			inl[FRPC_RX_INLINE];
};

struct frpc_call {
	struct hlist_node	conn_node;	/* conn->calls, by id */
	struct hlist_node	sock_node;	/* fs->tags or fs->pending */
	struct list_head	tx_node;	/* conn->ready */
	struct rb_node		dl_node;	/* conn->deadlines, if it has one */
	struct list_head	owed_node;	/* fs->owed */
	struct list_head	rxmsgs;		/* server: its queued messages */
	struct frpc_conn	*conn;		/* holds a reference */
	struct frpc_sock	*fs;
	u64			key;		/* client: tag; server: handle */
	u32			id;
	u32			method;
	u8			state;
	bool			tx_closed;	/* client: EOS message queued */
	bool			wire_started;	/* CALL frame picked for TCP */
	bool			in_conn;
	bool			in_sock;
	bool			seen;		/* server: app has the handle */
	bool			cancel_owed;	/* server: cancelled while the app
						 * read its request (no fin yet);
						 * fs->lock, counted in fs->ncancel_owed
						 */
	bool			cancel_deadline; /* server: by its deadline */
	bool			rx_eos;		/* peer finished sending */
	bool			tx_eos;		/* we finished sending */
	bool			tx_waiting;	/* a sender waits for its credit */
	bool			tx_bulk;	/* a sender writes a message of it
						 * from its pages (txbulk.c): the
						 * queued ones wait for its rest
						 */
	bool			stream;		/* client: CALL_STREAM */
	unsigned long		deadline;	/* jiffies, 0 for none */

	/*
	 * The message being received, and the call's last one, reserved:
	 * a client's from the start, a server's (for a cancel notice) once
	 * the application read the request, which then is that message.
	 */
	struct frpc_rxmsg	*rx;
	struct frpc_rxmsg	*fin;
	u32			rx_avail;	/* window the peer may still use */
	u32			rx_owed;	/* consumed, not yet granted */
	u32			rx_withheld;	/* credit held back by SO_RCVBUF */
	u32			tx_bytes;	/* fastrpc:call_end: payload sent */

	/* messages to send */
	struct list_head	txq;
	u32			tx_credit;
	unsigned long		stall_since;	/* jiffies: short of credit; 0 */

	/* fastrpc:call_end: received payload, and when the call started */
	u32			rx_bytes;
	u64			start_ns;	/* 0: call_end was off then */
};

/* Things to free once the spinlocks are dropped */
struct frpc_reap {
	struct list_head	calls;
	struct list_head	msgs;
};

static inline void frpc_reap_init(struct frpc_reap *r)
{
	INIT_LIST_HEAD(&r->calls);
	INIT_LIST_HEAD(&r->msgs);
}

/*
 * fastrpc:call_end reports a call's latency and its payload bytes each
 * way.  They are taken only while that event is enabled, from the call's
 * start on, so that calls cost nothing more while it is not: a call that
 * started before reports none.
 */
/*
 * What is left of a server message's timeout now, when the application
 * takes it: at least 1 ns once it is due (0 would say "no deadline"), so
 * that the deadline it computes is the one this host's timer keeps, however
 * long the call waited in the socket.
 */
static inline u64 frpc_rxmsg_timeout_left(const struct frpc_rxmsg *m)
{
	u64 waited;

	if (!m->timeout_ns)
		return 0;
	waited = ktime_get_ns() - m->arrived_ns;
	return waited < m->timeout_ns ? m->timeout_ns - waited : 1;
}

static inline void frpc_call_trace_start(struct frpc_call *call)
{
	if (trace_call_end_enabled())
		call->start_ns = ktime_get_ns();
}

static inline void frpc_call_count_tx(struct frpc_call *call, u32 len)
{
	if (trace_call_end_enabled() && call->start_ns)
		call->tx_bytes = min_t(u64, (u64)call->tx_bytes + len, U32_MAX);
}

static inline void frpc_call_count_rx(struct frpc_call *call, u32 len)
{
	if (trace_call_end_enabled() && call->start_ns)
		call->rx_bytes = min_t(u64, (u64)call->rx_bytes + len, U32_MAX);
}

int frpc_call_init(void);
void frpc_call_exit(void);
void frpc_call_trim_spares(struct frpc_conn *conn);
void frpc_call_free_spares(struct frpc_conn *conn);
struct frpc_call *frpc_call_alloc(struct frpc_conn *conn, gfp_t gfp);
void frpc_call_free(struct frpc_call *call);
struct frpc_call *frpc_call_find(struct frpc_conn *conn, u32 id);
void frpc_call_link(struct frpc_conn *conn, struct frpc_call *call);
void frpc_call_unlink(struct frpc_call *call);
bool __frpc_call_leave_sock(struct frpc_call *call);
void frpc_call_send_cancel(struct frpc_call *call, bool deadline);
void frpc_call_finish(struct frpc_call *call, u32 status,
		      struct frpc_reap *r);
void frpc_call_complete(struct frpc_call *call, u32 status,
			struct frpc_reap *r);
void frpc_call_cancel_server(struct frpc_call *call, u32 status,
			     struct frpc_reap *r);
void frpc_call_purge_rx(struct frpc_call *call, struct frpc_reap *r);
struct frpc_rxmsg *frpc_call_keep_request(struct frpc_sock *fs,
					  struct frpc_rxmsg *m);
void frpc_call_rx_done(struct frpc_call *call, bool eor);
void __frpc_reap(struct frpc_reap *r);

/* Free what @r collected; most calls collect nothing: no call then. */
static inline void frpc_reap(struct frpc_reap *r)
{
	if (!list_empty(&r->msgs) || !list_empty(&r->calls))
		__frpc_reap(r);
}

struct frpc_rxmsg *frpc_rxmsg_alloc(struct frpc_conn *conn, gfp_t gfp,
				    bool charge);
void frpc_rxmsg_free(struct frpc_rxmsg *m);
void frpc_rxmsg_reset(struct frpc_rxmsg *m);
void frpc_rxmsg_drop(struct frpc_rxmsg *m, struct frpc_reap *r);
void frpc_rxmsg_credit_conn(struct frpc_rxmsg *m);
void frpc_rxmsg_consumed(struct frpc_rxmsg *m);
void frpc_rxmsg_add_frag(struct frpc_rxmsg *m, struct sk_buff *skb);
int frpc_rxmsg_copy_out(struct frpc_rxmsg *m, struct msghdr *msg, u32 len);
void frpc_rxmsg_copy_to(struct frpc_rxmsg *m, u8 *to);

#endif /* _FRPC_CALL_H */
