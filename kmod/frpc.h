/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared definitions of af_fastrpc: limits, the socket, the connection and
 * the call.
 *
 * Locking, outermost first:
 *   frpc_net.lock (mutex)          the namespace's client connection table
 *   frpc_sock.conns_lock (mutex)   a server socket's accepted connections
 *   frpc_conn.tx_mutex (mutex)     one writer on the TCP socket at a time
 *   frpc_conn.lock (spin, BH)      connection state, its calls, tx queues
 *   frpc_sock.lock (spin, BH)      socket queues and tables
 *
 * Receive runs in softirq context (the frame reader under the TCP
 * data_ready callback) or under the TCP socket's lock in process context
 * (transport.c), and the timers run in softirq, so both spinlocks are
 * always taken with BH disabled.  A call is reachable from its connection's table and from
 * its socket's tables; it is linked and unlinked with both locks held.
 */
#ifndef _FRPC_H
#define _FRPC_H

#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/sock.h>
#include <linux/fastrpc.h>

#include "compat.h"

/*
 * Limits, grouped by what they bound and in which unit.  The constants
 * keep one name each wherever they are used; the enum says the unit.
 */

/* Counts: calls, connections, peers, frames, records. */
enum frpc_count_limits {
	/* calls in flight per socket: default and ceiling of MAX_CALLS */
	FRPC_DEFAULT_CALLS	= 4096,
	FRPC_MAX_CALLS_CEIL	= 65536,
	/* defaults of the limits in mem.c (module parameters) */
	FRPC_CONN_MAX_CALLS	= FRPC_MAX_CALLS_CEIL,
	FRPC_SERVER_MAX_CONNS	= 1024,
	FRPC_PEER_MAX_CONNS	= 8,
	FRPC_PEER_MAX_CALLS	= FRPC_MAX_CALLS_CEIL,
	/* frames one pass of the reader takes before it yields */
	FRPC_RX_BUDGET		= 128,
	/* calls or messages freed in one go before teardown yields */
	FRPC_REAP_BATCH		= 256,
	/* returned credit is batched up to this fraction of the window */
	FRPC_CREDIT_BATCH_DIV	= 4,
	/* backoff records per namespace: past it the oldest are forgotten,
	 * as are records whose backoff ended twice FRPC_BACKOFF_MAX_MS ago
	 */
	FRPC_MAX_PEERS		= 1024,
};

/* Bytes: windows, memory, buffers, transmit budgets. */
enum frpc_byte_limits {
	/* windows this host announces in HELLO */
	FRPC_CALL_WINDOW	= 256 << 10,
	FRPC_CONN_WINDOW	= 4 << 20,
	/* a window may not grow past this */
	FRPC_WINDOW_MAX		= 0x7fffffff,
	/* memory a connection's peer may make us hold (conn_rx_mem), and
	 * all peers of a namespace (net_rx_mem).  Payload counts at most 4x
	 * (frpc_rx_keep), so a full connection window stays well under it.
	 */
	FRPC_CONN_RX_MEM	= 32 << 20,
	FRPC_NET_RX_MEM		= 256 << 20,
	/* past net_rx_mem, connections holding more than this fail */
	FRPC_CONN_RX_FAIR	= 1 << 20,
	/* frames at least this big may be kept as a clone of the TCP skb */
	FRPC_RX_CLONE_MIN	= 2048,
	/* bigger copies go into page frags, not one high-order buffer */
	FRPC_RX_LINEAR_MAX	= 3072,
	/* queued control frame bytes before a connection is failed */
	FRPC_CTRL_MAX		= 1 << 20,
	/* bytes one pass of the transmit loop writes before it yields: a
	 * sender writing inline, the work item
	 */
	FRPC_TX_KICK_BUDGET	= 64 << 10,
	FRPC_TX_WORK_BUDGET	= 256 << 10,
	/* bytes of one call's data in a frame before the sender takes turns */
	FRPC_TX_QUANTUM		= 16 << 10,
};

/* Times, in milliseconds. */
enum frpc_time_limits_ms {
	/* how long connect() waits for TCP and the HELLO answer */
	FRPC_CONNECT_TIMEOUT_MS	= 10000,
	/* reconnect backoff after failed connects: base, ceiling */
	FRPC_BACKOFF_MIN_MS	= 100,
	FRPC_BACKOFF_MAX_MS	= 10000,
	/* how long a closing connection's last frames may take to go out */
	FRPC_LAST_FLUSH_MS	= 1000,
	/* how long a failing connection drains input after its ERROR frame */
	FRPC_DRAIN_MS		= 200,
	/* a PING goes out this often; 3 intervals of silence: peer gone */
	FRPC_KEEPALIVE_MS	= 10000,
	/* smallest keepalive_ms and idle_ms accepted */
	FRPC_TIMER_MIN_MS	= 100,
	/* a connection without calls or users closes after this */
	FRPC_IDLE_MS		= 60000,
};

/* Hash table sizes, as log2 of the bucket count. */
enum frpc_hash_bits {
	/* a connection's calls, by wire id */
	FRPC_CALL_HASH_BITS	= 10,
	/* a socket's calls, by tag (client) or handle (server) */
	FRPC_SOCK_HASH_BITS	= 8,
};

/* Per network namespace state and counters (/proc/net/fastrpc). */
struct frpc_net {
	struct net		*net;
	struct mutex		lock;		/* guards conns and peers */
	struct list_head	conns;		/* client connections */
	struct list_head	peers;		/* reconnect backoff records */
	unsigned int		npeers;
	atomic64_t		next_conn_id;
	atomic64_t		conns_open;
	atomic64_t		conns_total;
	atomic64_t		connect_failures;
	atomic64_t		calls_started;
	atomic64_t		calls_completed;
	atomic64_t		calls_received;
	atomic64_t		replies_sent;
	atomic64_t		late_replies;
	atomic64_t		replies_dropped;
	atomic64_t		calls_cancelled;
	atomic64_t		deadlines_exceeded;
	atomic64_t		proto_errors;
	atomic64_t		rejected_calls;
	atomic64_t		pings_sent;
	atomic64_t		goaways_sent;
	/* gauges: bytes received and not yet consumed or dropped, bytes
	 * accepted by sendmsg() and not yet cut into frames
	 */
	atomic64_t		rx_held_bytes;
	atomic64_t		tx_queued_bytes;
	atomic64_t		backoff_peers;	/* gauge: npeers */
	atomic64_t		rx_mem;		/* gauge: what peers make us hold */
	atomic64_t		mem_failures;	/* connections failed for rx_mem */
	atomic64_t		conns_refused;	/* accepts over a connection limit */
};

/* A peer we failed to connect to recently: when to try again. */
struct frpc_peer {
	struct list_head	node;
	struct sockaddr_fastrpc	addr;
	unsigned int		failures;
	int			err;
	unsigned long		retry_at;	/* jiffies */
};

enum frpc_conn_state {
	FRPC_CONN_CONNECTING,	/* client: TCP connect in progress */
	FRPC_CONN_HELLO,	/* waiting for the peer's HELLO */
	FRPC_CONN_READY,
	FRPC_CONN_DRAINING,	/* GOAWAY seen or sent: no new calls */
	FRPC_CONN_DEAD,		/* failed or closed; never leaves this state */
};

struct frpc_sock;
struct frpc_call;
struct mem_cgroup;

/* reader.c: hands each whole frame to this; returns an ERROR code or 0 */
typedef u8 (*frpc_frame_fn)(void *ctx, const struct fastrpc_frame_hdr *hdr,
			    struct sk_buff *skb, u32 off, u32 len, bool owned);

/* The frame reader's state; under the stream's lock. */
struct frpc_reader {
	u8			hdr[FASTRPC_FRAME_HDR_LEN];
	u8			hdr_len;	/* header bytes gathered */
	u8			version;	/* 0 until HELLO agreed one */
	bool			dead;		/* refused a frame: reads no more */
	u8			werr;		/* ... with this ERROR code */
	u32			need;		/* gathered frame: bytes to come */
	struct sk_buff		*gather;	/* a frame that spans skbs */
	u32			budget;		/* frames left in this pass */
	u64			frames;		/* delivered, for tests */
	frpc_frame_fn		frame;
	void			*ctx;
};

/* A peer address at a server socket: what it holds there.  fs->lock. */
struct frpc_share {
	struct hlist_node	node;		/* fs->shares */
	struct sockaddr_fastrpc	addr;		/* port zeroed */
	u32			nconns;
	u32			ncalls;
};

/* A control frame, built whole and sent before any call data. */
struct frpc_txbuf {
	struct list_head	node;
	u32			len;
	u8			data[];
};

/*
 * One outgoing message of a call.  @buf holds the head (CALL or END head
 * with its metadata) followed by the message bytes; the scheduler cuts
 * frames from it as credit allows.
 */
struct frpc_txmsg {
	struct list_head	node;		/* call->txq */
	u32			head_len;
	u32			len;		/* message bytes after the head */
	u32			off;		/* message bytes already framed */
	u8			head_type;	/* CALL, END, or DATA (no head) */
	u8			eos;		/* client's last message */
	u8			head_sent;
	u8			buf[];
};

/* The frame being written; TCP may take it in several pieces. */
struct frpc_txframe {
	u8			hdr[FASTRPC_FRAME_HDR_LEN];
	struct kvec		iov[3];
	int			niov;
	size_t			left;
	struct frpc_txbuf	*ctrl;		/* freed when written */
	struct frpc_txmsg	*done;		/* finished message, freed then */
	struct frpc_call	*done_call;	/* server call whose END this is */
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
	DECLARE_HASHTABLE(calls, FRPC_CALL_HASH_BITS);
	u32			ncalls;
	u32			next_id;	/* client: last id used */
	u32			max_id;		/* server: highest id seen */

	/* flow control: what we may send, what the peer may send us */
	u32			tx_credit;
	u32			peer_call_window;
	u32			rx_avail;
	u32			rx_owed;	/* consumed, not yet granted */
	atomic_t		rx_mem;		/* held frames and messages */

	/* transmit: control frames first, then calls in turn */
	struct mutex		tx_mutex;
	struct list_head	ctrlq;
	u32			ctrl_bytes;
	bool			ctrl_overflow;	/* peer does not read: fail */
	struct list_head	ready;		/* calls with data to frame */
	struct frpc_txframe	cur;		/* under tx_mutex */
	struct frpc_txmsg	*cur_msg;	/* what cur points into */
	struct frpc_txmsg	*cur_orphan;	/* ... after its call went */
	struct work_struct	tx_work;
	struct work_struct	fail_work;
	struct work_struct	eof_work;	/* peer's FIN: read, then fail */
	int			eof_err;	/* why TCP closed, for eof_work */

	/* timers: call deadlines, keepalive and idleness */
	struct list_head	deadlines;	/* calls, soonest first */
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
};

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
	u64			timeout_ns;
	struct sk_buff_head	frags;
	u32			len;
	u32			held;		/* bytes charged to the socket */
	u32			truesize;	/* charged to conn->rx_mem */
	u32			base_size;	/* ... of it, the message itself */
	u32			conn_credited;	/* window already given back */
	u16			meta_len;
	u16			smsg_len;
	u8			*extra;		/* metadata then status message */
};

struct frpc_call {
	struct hlist_node	conn_node;	/* conn->calls, by id */
	struct hlist_node	sock_node;	/* fs->tags or fs->pending */
	struct list_head	tx_node;	/* conn->ready */
	struct list_head	dl_node;	/* conn->deadlines */
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
	bool			rx_eos;		/* peer finished sending */
	bool			tx_eos;		/* we finished sending */
	bool			stream;		/* client: CALL_STREAM */
	unsigned long		deadline;	/* jiffies, 0 for none */

	/* the message being received, and the call's last one, reserved */
	struct frpc_rxmsg	*rx;
	struct frpc_rxmsg	*fin;
	u32			rx_avail;	/* window the peer may still use */
	u32			rx_owed;	/* consumed, not yet granted */
	u32			rx_withheld;	/* credit held back by SO_RCVBUF */

	/* messages to send */
	struct list_head	txq;
	u32			tx_credit;
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
	spinlock_t		lock;		/* queues, tables, counts */
	bool			dead;		/* released: no more deliveries */
	bool			shut_rd;	/* server: no new calls */
	struct list_head	rxq;		/* complete messages */
	u32			rxq_len;
	u32			rx_bytes;	/* charged against sk_rcvbuf */
	u32			tx_queued;	/* charged against sk_sndbuf */
	struct list_head	owed;		/* calls with withheld credit */
	u32			max_calls;
	u32			ncalls;		/* client: not yet finished */

	/* client */
	DECLARE_HASHTABLE(tags, FRPC_SOCK_HASH_BITS);
	struct sockaddr_fastrpc	peer;
	struct frpc_conn	*conn;		/* under lock_sock() */
	struct list_head	conn_node;	/* conn->user_socks, fn->lock */
	bool			connecting;	/* conn not ready yet: no EPOLLOUT */

	/* server */
	struct sockaddr_fastrpc	local;
	struct socket		*ltcp;		/* kernel TCP listener */
	void (*saved_ldata_ready)(struct sock *sk);
	struct work_struct	accept_work;
	struct mutex		conns_lock;	/* conns, nconns */
	struct list_head	conns;
	unsigned int		nconns;
	DECLARE_HASHTABLE(pending, FRPC_SOCK_HASH_BITS);	/* by handle */
	u32			npending;
	u64			next_handle;
	DECLARE_HASHTABLE(shares, 4);		/* peers, under lock */
	struct mem_cgroup	*memcg;		/* who pays for its peers */
};

/*
 * The one way to move a connection to another state: under conn->lock,
 * and published for the readers that look without it (READ_ONCE).
 */
static inline void frpc_conn_set_state(struct frpc_conn *conn,
				       enum frpc_conn_state state)
{
	lockdep_assert_held(&conn->lock);
	WRITE_ONCE(conn->state, state);
}

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

/* wire.c: encoding and checks with no state; KUnit tests these */
int frpc_hdr_check(const struct fastrpc_frame_hdr *hdr, u8 version, u8 *werr);
void frpc_put_hdr(u8 *out, u8 version, u8 type, u16 flags, u32 call_id,
		  u32 length);
void frpc_hello_init(struct fastrpc_wire_hello *h, u8 min_version,
		     u8 max_version);
u8 frpc_hello_check(const struct fastrpc_wire_hello *h, bool from_server,
		    u8 *version);
int frpc_meta_check(const u8 *meta, u32 len);
int frpc_window_add(u32 *window, u32 increment);
int frpc_window_take(u32 *avail, u32 len);
u32 frpc_credit_due(u32 *owed, u32 consumed, u32 window);
u32 frpc_frame_chunk(u32 left, u32 call_credit, u32 conn_credit);
u32 frpc_status_from_wire(u32 status);

/* sock.c */
int frpc_sock_register(void);
void frpc_sock_unregister(void);
void frpc_sock_queue(struct frpc_sock *fs, struct frpc_rxmsg *m,
		     struct frpc_call *call);
void frpc_sock_wake_out(struct sock *sk);
void frpc_client_ready(struct frpc_sock *fs, struct frpc_conn *conn);
struct frpc_call *frpc_sock_find(struct frpc_sock *fs, u64 key);

/* The control messages of one sendmsg(): one verb, optional extras. */
struct frpc_cmsgs {
	int			type;
	union {
		struct fastrpc_call	call;
		struct fastrpc_reply	reply;
		struct fastrpc_send	send;
		u64			tag;
	};
	const void		*meta;
	u32			meta_len;
	const void		*smsg;
	u32			smsg_len;
};

/* cmsg.c */
int frpc_parse_cmsgs(struct msghdr *msg, struct frpc_cmsgs *c);
int frpc_put_extra(struct msghdr *msg, struct frpc_rxmsg *m);

/* send.c, recv.c, sockopt.c: the proto_ops that are more than glue */
int frpc_sendmsg(struct socket *sock, struct msghdr *msg, size_t len);
int frpc_recvmsg(struct socket *sock, struct msghdr *msg, size_t size,
		 int flags);
int frpc_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen);
int frpc_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen);

/* conn.c */
struct frpc_conn *frpc_conn_alloc(struct frpc_net *fn, bool client);
void frpc_conn_put(struct frpc_conn *conn);
struct frpc_conn *frpc_conn_get_client(struct frpc_net *fn,
				       const struct sockaddr_fastrpc *peer,
				       struct frpc_sock *fs,
				       struct frpc_conn *old);
int frpc_conn_wait_ready(struct frpc_conn *conn, long timeo);
void frpc_conn_unuse(struct frpc_conn *conn, struct frpc_sock *fs);
int frpc_conn_attach(struct frpc_conn *conn, struct socket *tcp);
void frpc_conn_fail(struct frpc_conn *conn, int err, u8 werr);
void __frpc_conn_goaway(struct frpc_conn *conn, u32 code);
void frpc_conn_goaway(struct frpc_conn *conn, u32 code);
void frpc_conn_peer_closed(struct frpc_conn *conn, int err);
void frpc_conn_pong(struct frpc_conn *conn, u64 sent_ns);
void frpc_net_close_all(struct frpc_net *fn);

/* tx.c */
struct frpc_txbuf *frpc_build_ctrl(u8 version, u8 type, u16 flags,
				   u32 call_id, const void *payload, u32 len,
				   gfp_t gfp);
void frpc_queue_ctrl(struct frpc_conn *conn, struct frpc_txbuf *buf);
int frpc_queue_simple(struct frpc_conn *conn, u8 type, u16 flags, u32 id,
		      const void *payload, u32 len);
int frpc_queue_end(struct frpc_conn *conn, u32 id, u32 status);
struct frpc_txmsg *frpc_txmsg_build(u8 head_type, const void *head,
				    u32 head_len, const void *meta, u32 meta_len,
				    const void *smsg, u32 smsg_len,
				    struct iov_iter *from, u32 len);
void frpc_call_queue_msg(struct frpc_call *call, struct frpc_txmsg *m);
void frpc_call_tx_ready(struct frpc_call *call);
bool frpc_call_mid_message(struct frpc_call *call);
void frpc_call_drop_tx(struct frpc_call *call);
void frpc_conn_kick(struct frpc_conn *conn);
void frpc_conn_kick_async(struct frpc_conn *conn);
bool frpc_conn_tx_flush(struct frpc_conn *conn, size_t budget,
			const unsigned long *until);
void frpc_conn_tx_workfn(struct work_struct *work);
void frpc_conn_tx_purge(struct frpc_conn *conn);

/* flow.c: credit we give, credit we get */
/*
 * Past SO_RCVBUF credit is withheld, but only while the application has
 * whole messages to read: messages in progress count against the buffer
 * too, and a message bigger than it must still be able to complete.
 * fs->lock held.
 */
static inline bool frpc_sock_rx_full(struct frpc_sock *fs)
{
	return fs->rx_bytes >= READ_ONCE(fs->sk.sk_rcvbuf) &&
	       !list_empty(&fs->rxq);
}

void frpc_credit_conn(struct frpc_conn *conn, u32 bytes);
void frpc_credit_call(struct frpc_call *call, u32 bytes);
void frpc_call_rx_credit(struct frpc_call *call, u32 len);
void frpc_call_unhold(struct frpc_call *call, struct frpc_rxmsg *m);
void frpc_sock_grant_owed(struct frpc_sock *fs);
u8 frpc_credit_received(struct frpc_conn *conn, u32 id, u32 inc);

/* rx.c */
u8 frpc_rx_deliver(void *ctx, const struct fastrpc_frame_hdr *hdr,
		   struct sk_buff *skb, u32 off, u32 len, bool owned);

/* reader.c */
void frpc_reader_init(struct frpc_reader *r, frpc_frame_fn fn, void *ctx);
void frpc_reader_reset(struct frpc_reader *r);
u32 frpc_reader_feed(struct frpc_reader *r, struct sk_buff *skb, u32 off,
		     u32 len);
int frpc_skb_fill(struct sk_buff *dst, u32 dst_off, const struct sk_buff *src,
		  u32 off, u32 len);
struct sk_buff *frpc_skb_alloc(u32 len, gfp_t gfp);

/* transport.c: everything that touches a TCP socket */
void frpc_addr_from_sk(struct sockaddr_fastrpc *a, struct sock *sk, bool peer);
int frpc_tp_attach(struct frpc_conn *conn, struct socket *tcp);
void frpc_tp_detach(struct frpc_conn *conn);
void frpc_tp_close(struct frpc_conn *conn, bool drain);
void frpc_tp_read_rest(struct frpc_conn *conn);
int frpc_tp_send(struct frpc_conn *conn, struct kvec *iov, int niov,
		 size_t len, long timeo);
int frpc_tp_connect(struct frpc_conn *conn, struct socket **tcpp);
int frpc_tp_bind(struct frpc_sock *fs, const struct sockaddr_fastrpc *a);
int frpc_tp_listen(struct frpc_sock *fs, int backlog);
void frpc_tp_unlisten(struct frpc_sock *fs);

/* mem.c: limits and charging */
extern unsigned int frpc_conn_rx_mem, frpc_net_rx_mem, frpc_server_max_conns,
		    frpc_peer_max_conns, frpc_peer_max_calls, frpc_conn_max_calls;
void frpc_conn_charge(struct frpc_conn *conn, u32 bytes);
void frpc_conn_uncharge(struct frpc_conn *conn, u32 bytes);
bool frpc_conn_over_mem(struct frpc_conn *conn);
struct mem_cgroup *frpc_conn_memcg(struct frpc_conn *conn);
struct mem_cgroup *frpc_memcg_get(void);
void frpc_memcg_put(struct mem_cgroup *memcg);

/* call.c: things to free once the spinlocks are dropped */
struct frpc_reap {
	struct list_head	calls;
	struct list_head	msgs;
};

static inline void frpc_reap_init(struct frpc_reap *r)
{
	INIT_LIST_HEAD(&r->calls);
	INIT_LIST_HEAD(&r->msgs);
}

int frpc_call_init(void);
void frpc_call_exit(void);
struct frpc_call *frpc_call_alloc(struct frpc_conn *conn, gfp_t gfp);
void frpc_call_free(struct frpc_call *call);
struct frpc_call *frpc_call_find(struct frpc_conn *conn, u32 id);
void frpc_call_link(struct frpc_conn *conn, struct frpc_call *call);
void frpc_call_unlink(struct frpc_call *call);
void __frpc_call_leave_sock(struct frpc_call *call);
void frpc_call_send_cancel(struct frpc_call *call);
void frpc_call_finish(struct frpc_call *call, u32 status,
		      struct frpc_reap *r);
void frpc_call_cancel_server(struct frpc_call *call, struct frpc_reap *r);
void frpc_call_purge_rx(struct frpc_call *call, struct frpc_reap *r);
void frpc_call_rx_done(struct frpc_call *call, bool eor);
void frpc_reap(struct frpc_reap *r);
struct frpc_rxmsg *frpc_rxmsg_alloc(struct frpc_conn *conn, gfp_t gfp,
				    bool charge);
void frpc_rxmsg_free(struct frpc_rxmsg *m);
void frpc_rxmsg_reset(struct frpc_rxmsg *m);
void frpc_rxmsg_drop(struct frpc_rxmsg *m, struct frpc_reap *r);
void frpc_rxmsg_consumed(struct frpc_rxmsg *m);
void frpc_rxmsg_add_frag(struct frpc_rxmsg *m, struct sk_buff *skb);
int frpc_rxmsg_copy_out(struct frpc_rxmsg *m, struct msghdr *msg, u32 len);

/* timer.c: call deadlines, keepalive and idleness */
void frpc_conn_init_timers(struct frpc_conn *conn);
void frpc_conn_start_timers(struct frpc_conn *conn);
void frpc_conn_stop_timers(struct frpc_conn *conn);
void frpc_call_set_deadline(struct frpc_call *call, u64 timeout_ns);

/* listener.c */
struct frpc_conn *frpc_server_new_conn(struct frpc_sock *fs,
				       const struct sockaddr_fastrpc *peer);
void frpc_server_conn_gone(struct frpc_conn *conn);
void frpc_server_shutdown(struct frpc_sock *fs);
void frpc_server_close(struct frpc_sock *fs);
u32 frpc_server_admit(struct frpc_conn *conn, struct frpc_call *call);
void __frpc_server_call_gone(struct frpc_call *call);

#endif /* _FRPC_H */
