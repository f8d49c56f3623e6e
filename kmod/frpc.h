/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared definitions of af_fastrpc: limits, the socket, the connection and
 * the call.
 *
 * Locking, outermost first:
 *   frpc_net.lock (mutex)          the namespace's client connection table
 *   frpc_sock.conns_lock (mutex)   a server socket's accepted connections
 *   frpc_conn.tx_mutex (mutex)     one writer on the TCP socket at a time
 *   frpc_conn.lock (spin, BH)      connection state, its call table, tx queue
 *   frpc_sock.lock (spin, BH)      socket queues and tables
 *
 * Receive runs in softirq context (strparser under the TCP data_ready
 * callback), so the two spinlocks are always taken with BH disabled.
 * A call is reachable from its connection's table and from its socket's
 * queues; it moves between them only with both spinlocks held.
 */
#ifndef _FRPC_H
#define _FRPC_H

#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <net/strparser.h>
#include <linux/fastrpc.h>

#include "compat.h"

enum frpc_limits {
	/* calls in flight per socket, default and ceiling of MAX_CALLS */
	FRPC_DEFAULT_CALLS	= 4096,
	FRPC_MAX_CALLS_CEIL	= 65536,
	/* calls a peer may have open on one accepted connection */
	FRPC_CONN_MAX_CALLS	= 8192,
	/* received bytes (skb truesize) a connection may hold before it stops
	 * reading the TCP socket; the peer then sees a closed TCP window
	 */
	FRPC_CONN_RX_HIGH	= 16 << 20,
	FRPC_CONN_RX_LOW	= 8 << 20,
	/* queued, unsent bytes per connection before senders wait */
	FRPC_CONN_TX_HIGH	= 8 << 20,
	/* how long connect() waits for TCP and the HELLO answer */
	FRPC_CONNECT_TIMEOUT_MS	= 10000,
	/* how long a failing connection drains input after its ERROR frame */
	FRPC_DRAIN_MS		= 200,
	FRPC_CALL_HASH_BITS	= 10,
	FRPC_SOCK_HASH_BITS	= 8,
};

/* Per network namespace state. */
struct frpc_net {
	struct net		*net;
	struct mutex		lock;		/* guards conns */
	struct list_head	conns;		/* client connections */
	atomic64_t		next_conn_id;
	atomic64_t		conns_open;
	atomic64_t		conns_total;
	atomic64_t		calls_started;
	atomic64_t		calls_completed;
	atomic64_t		calls_received;
	atomic64_t		replies_sent;
	atomic64_t		late_replies;
	atomic64_t		proto_errors;
	atomic64_t		rejected_calls;
};

enum frpc_conn_state {
	FRPC_CONN_CONNECTING,	/* client: TCP connect in progress */
	FRPC_CONN_HELLO,	/* waiting for the peer's HELLO */
	FRPC_CONN_READY,
	FRPC_CONN_DEAD,		/* failed or closed; never leaves this state */
};

struct frpc_sock;

/*
 * One TCP connection.  Client connections are shared by every socket of the
 * namespace talking to the same peer and live in frpc_net.conns; server
 * connections belong to the server socket that accepted them.
 */
struct frpc_conn {
	struct kref		ref;
	struct frpc_net		*fn;
	struct list_head	node;		/* fn->conns or fs->conns */
	u64			id;
	bool			client;
	int			users;		/* client sockets, fn->lock */
	struct sockaddr_fastrpc	peer;

	struct socket		*tcp;
	struct strparser	strp;
	void (*saved_data_ready)(struct sock *sk);
	void (*saved_write_space)(struct sock *sk);
	void (*saved_state_change)(struct sock *sk);

	spinlock_t		lock;
	enum frpc_conn_state	state;
	int			err;		/* errno once DEAD */
	u8			werr;		/* ERROR code to send, if any */
	u8			version;	/* negotiated protocol version */
	int			rx_paused;	/* xchg()ed */
	bool			torn_down;
	wait_queue_head_t	wait;		/* state changes, tx room */
	DECLARE_HASHTABLE(calls, FRPC_CALL_HASH_BITS);
	u32			ncalls;
	u32			next_id;	/* client: last id used */
	u32			max_id;		/* server: highest id seen */
	atomic_t		rx_held;	/* truesize of held frames */

	struct mutex		tx_mutex;
	struct list_head	txq;
	u32			tx_queued;
	struct work_struct	tx_work;
	struct work_struct	fail_work;
	struct frpc_sock	*server;	/* server side: owner, holds a ref */
};

/* A queued piece of output: whole frames, written in order. */
struct frpc_txbuf {
	struct list_head	node;
	u32			len;
	u32			off;
	u8			data[];
};

enum frpc_call_state {
	FRPC_CALL_OPEN,		/* client: sent; server: request arriving */
	FRPC_CALL_QUEUED,	/* complete, in the socket's rxq */
	FRPC_CALL_PENDING,	/* server: handed to the application */
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

struct frpc_call {
	struct hlist_node	conn_node;	/* conn->calls, by id */
	struct hlist_node	sock_node;	/* fs->tags or fs->pending */
	struct list_head	rx_node;	/* fs->rxq */
	struct frpc_conn	*conn;		/* holds a reference */
	struct frpc_sock	*fs;
	u64			key;		/* client: tag; server: handle */
	u32			id;
	u32			method;
	u32			status;
	u8			state;
	bool			in_conn;
	bool			in_sock;
	struct sk_buff_head	frags;		/* the message, frame by frame */
	u32			len;		/* message bytes */
	u32			held;		/* truesize of frags */
};

enum frpc_sock_role {
	FRPC_ROLE_NONE,
	FRPC_ROLE_CLIENT,
	FRPC_ROLE_BOUND,
	FRPC_ROLE_SERVER,
};

struct frpc_sock {
	struct sock		sk;		/* must be first */
	enum frpc_sock_role	role;
	spinlock_t		lock;
	bool			dead;		/* released: no more deliveries */
	struct list_head	rxq;		/* complete messages */
	u32			rxq_len;
	u32			max_calls;
	u32			ncalls;		/* client: sent, not yet read */
	DECLARE_HASHTABLE(tags, FRPC_SOCK_HASH_BITS);	/* client */

	/* client */
	struct sockaddr_fastrpc	peer;
	struct frpc_conn	*conn;		/* under lock_sock() */

	/* server */
	struct sockaddr_fastrpc	local;
	struct socket		*ltcp;		/* kernel TCP listener */
	void (*saved_ldata_ready)(struct sock *sk);
	struct work_struct	accept_work;
	struct mutex		conns_lock;
	struct list_head	conns;
	unsigned int		nconns;
	DECLARE_HASHTABLE(pending, FRPC_SOCK_HASH_BITS);	/* by handle */
	u32			npending;
	u64			next_handle;
};

static inline struct frpc_sock *frpc_sk(struct sock *sk)
{
	return container_of(sk, struct frpc_sock, sk);
}

/* Internal marker: the peer sent ERROR, close without answering. */
#define FRPC_WERR_PEER	0xff

/* main.c */
extern int frpc_family;
extern struct workqueue_struct *frpc_wq;
struct frpc_net *frpc_net(struct net *net);

/* sock.c */
int frpc_sock_register(void);
void frpc_sock_unregister(void);
void frpc_sock_deliver(struct frpc_sock *fs, struct frpc_call *call);

/* conn.c */
struct frpc_conn *frpc_conn_alloc(struct frpc_net *fn, bool client);
void frpc_conn_put(struct frpc_conn *conn);
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer);
void frpc_conn_unuse(struct frpc_conn *conn);
int frpc_conn_attach(struct frpc_conn *conn, struct socket *tcp);
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr);
void __frpc_conn_queue(struct frpc_conn *conn, struct frpc_txbuf *buf);
void frpc_conn_kick(struct frpc_conn *conn);
void frpc_conn_kick_async(struct frpc_conn *conn);
int frpc_conn_wait_tx(struct frpc_conn *conn, long *timeo);
void frpc_conn_rx_hold(struct frpc_conn *conn, u32 bytes);
void frpc_conn_rx_release(struct frpc_conn *conn, u32 bytes);
void frpc_addr_from_sk(struct sockaddr_fastrpc *a, struct sock *sk, bool peer);

/* frame.c */
extern const struct strp_callbacks frpc_strp_cb;
struct frpc_txbuf *frpc_txbuf_alloc(u32 len, gfp_t gfp);
struct frpc_txbuf *frpc_build_msg(u8 head_type, u32 call_id, const void *head,
				  u32 head_len, struct iov_iter *from, u32 len,
				  u8 version);
void frpc_txbuf_set_id(struct frpc_txbuf *buf, u32 call_id);
struct frpc_txbuf *frpc_build_ctrl(u8 version, u8 type, u32 call_id,
				   const void *payload, u32 len, gfp_t gfp);
struct frpc_txbuf *frpc_build_hello(u8 min_version, u8 max_version, gfp_t gfp);
int frpc_queue_end(struct frpc_conn *conn, u32 id, u32 status, gfp_t gfp);

/* call.c */
int frpc_call_init(void);
void frpc_call_exit(void);
struct frpc_call *frpc_call_alloc(struct frpc_conn *conn, gfp_t gfp);
void frpc_call_free(struct frpc_call *call);
u32 frpc_call_drop_frags(struct frpc_call *call);
struct frpc_call *frpc_call_find(struct frpc_conn *conn, u32 id);
void frpc_call_link(struct frpc_conn *conn, struct frpc_call *call);
void frpc_call_unlink(struct frpc_call *call);
void frpc_call_add_frag(struct frpc_call *call, struct sk_buff *skb);
int frpc_frags_copy_out(struct sk_buff_head *frags, struct msghdr *msg, u32 len);

/* listener.c */
int frpc_server_bind(struct frpc_sock *fs, const struct sockaddr_fastrpc *a);
int frpc_server_listen(struct frpc_sock *fs, int backlog);
void frpc_server_close(struct frpc_sock *fs);
void frpc_accept_workfn(struct work_struct *work);
struct frpc_call *frpc_server_deliver(struct frpc_conn *conn,
				      struct frpc_call *call);
void frpc_server_forget(struct frpc_conn *conn, struct frpc_call *call);
void frpc_conn_finish_calls(struct frpc_conn *conn, struct list_head *dead);

#endif /* _FRPC_H */
