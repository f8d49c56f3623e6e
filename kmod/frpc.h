/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What every part of af_fastrpc shares: the limits, the per-namespace
 * state, main.c's globals, and the lock order.  Each concern's structures
 * and functions are declared in the header beside its .c file (conn.h,
 * call.h, sock.h, flow.h, timer.h, ...).
 *
 * Locking, outermost first:
 *   frpc_ring.lock (mutex)         a socket's rings: the one consumer of
 *                                  its SQ, the one producer of its CQ
 *   frpc_net.lock (mutex)          the namespace's client connections,
 *                                  backoff records and server sockets
 *   frpc_sock.conns_lock (mutex)   a server socket's accepted connections
 *   frpc_conn.tx_mutex (mutex)     one writer on the TCP socket at a time
 *   frpc_loop_end.lock (spin, BH)  the same-host short cut: the peer end's
 *                                  reader, taken by this end's writer
 *                                  under its own tx_mutex (never the
 *                                  peer's); then the peer's conn locks
 *   frpc_conn.lock (spin, BH)      connection state, its calls, tx queues
 *   frpc_sock.lock (spin, BH)      socket queues and tables
 *
 * Receive runs in softirq context (the frame reader under the TCP
 * data_ready callback) or under the TCP socket's lock in process context
 * (transport.c), and the timers run in softirq, so both spinlocks are
 * always taken with BH disabled.  A call is reachable from its
 * connection's table and from its socket's tables; it is linked and
 * unlinked with both locks held.
 */
#ifndef _FRPC_H
#define _FRPC_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rbtree.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/fastrpc.h>

#include "compat.h"

struct net;

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
	/*
	 * frames one pass of the transmit loop writes, whatever the bytes:
	 * a server closing on 20 000 calls queues as many 20-byte ENDs,
	 * which its byte budget alone would let one pass write by the
	 * thousand on a kernel that yields only where told to
	 */
	FRPC_TX_FRAMES		= 512,
	/* calls or messages freed in one go before teardown yields */
	FRPC_REAP_BATCH		= 256,
	/* GOAWAYs that lower last_id a client takes from its server */
	FRPC_GOAWAY_CUTS	= 4,
	/* freed calls, and messages, a connection keeps for reuse */
	FRPC_SPARES		= 64,
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
	/* credit that ends a stall: this much, or the rest of the message */
	FRPC_STALL_CREDIT	= 4096,
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
	/* message bytes kept in the message itself rather than in skbs */
	FRPC_RX_INLINE		= 256,
	/* ... and a whole small message, from an skb at most this big */
	FRPC_RX_CLONE_TRUESIZE	= 2048,
	/* bigger copies go into page frags, not one high-order buffer */
	FRPC_RX_LINEAR_MAX	= 3072,
	/* queued control frame bytes before a connection is failed */
	FRPC_CTRL_MAX		= 1 << 20,
	/*
	 * what a message queued for sending counts against SO_SNDBUF beyond
	 * its bytes: its struct, head and slab rounding.  Without it empty
	 * messages queued behind one waiting for credit cost nothing, and a
	 * sender could make the kernel hold any number of them.
	 */
	FRPC_TX_MSG_COST	= 256,
	/* bytes one pass of the transmit loop writes before it yields: a
	 * sender writing inline, the work item
	 */
	FRPC_TX_KICK_BUDGET	= 64 << 10,
	FRPC_TX_WORK_BUDGET	= 256 << 10,
	/*
	 * bytes of one call's data in a frame before the sender takes
	 * turns: with its header, one TSO segment (45 x 1448 bytes), so
	 * that a bulk frame costs TCP one skb (design.rst, the scheduler)
	 */
	FRPC_TX_QUANTUM		= 60 << 10,
	/*
	 * short first: a call whose next frame ends a message of at most
	 * FRPC_TX_SHORT bytes goes ahead of a longer frame, found among the
	 * first FRPC_TX_SHORT_SCAN ready calls; after a quantum of such
	 * frames the long one has its turn (design.rst, the scheduler)
	 */
	FRPC_TX_SHORT		= 4096,
	FRPC_TX_SHORT_SCAN	= 16,
	/*
	 * for FRPC_TX_MIXED_MS after a short message went on a connection,
	 * long ones go in frames of FRPC_TX_QUANTUM_MIXED data bytes: a
	 * small call that comes while one is written waits for a quarter of
	 * the time (design.rst, the scheduler)
	 */
	FRPC_TX_QUANTUM_MIXED	= 16 << 10,
	FRPC_TX_MIXED_MS	= 10,
	/* a queued message bigger than this keeps its bytes apart from its
	 * head (struct frpc_txmsg): what kmalloc() would round up to pages
	 */
	FRPC_TX_DATA_APART	= KMALLOC_MAX_CACHE_SIZE,
	/* a flush copies frames up to FRPC_TX_STAGE_FRAME bytes that have
	 * others behind them into one buffer of FRPC_TX_STAGE bytes, written
	 * to TCP at once: one tcp_sendmsg() for a batch, not one per frame
	 */
	FRPC_TX_STAGE		= 4096,
	FRPC_TX_STAGE_FRAME	= 512,
	/* unsent bytes TCP may hold for a connection (TCP_NOTSENT_LOWAT) */
	FRPC_TCP_NOTSENT_LOWAT	= 64 << 10,
	/* a whole frame up to this size is built on the sender's stack and
	 * written straight to TCP when nothing else is half written
	 */
	FRPC_TX_SMALL_MAX	= 512,
	/* short-cut writes up to this size reach the peer's reader with no
	 * skb: a whole frame of any message the receiver keeps in the
	 * message itself (FRPC_RX_INLINE, a CALL head, some metadata), and
	 * little enough to copy onto the writer's stack when it comes in
	 * pieces
	 */
	FRPC_LOOP_BUF_MAX	= 384,
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
	/* smallest and largest keepalive_ms and idle_ms accepted */
	FRPC_TIMER_MIN_MS	= 100,
	FRPC_TIMER_MAX_MS	= 3600 * 1000,
	/* a connection without calls or users closes after this */
	FRPC_IDLE_MS		= 60000,
	/* a connection whose peer leaves data of ours waiting this long
	 * (its credit or TCP) fails (stall_ms, timer.c)
	 */
	FRPC_STALL_MS		= 60000,
	/* how long the sender of a long message waits for its call's credit
	 * before it copies the rest instead (txbulk.c)
	 */
	FRPC_TX_BULK_WAIT_MS	= 2,
};

/* Hash table sizes, as log2 of the bucket count. */
enum frpc_hash_bits {
	/* a connection's calls, by wire id: in a bucket array of their own
	 * (FRPC_CALL_BUCKETS), so that struct frpc_conn stays small
	 */
	FRPC_CALL_HASH_BITS	= 10,
	FRPC_CALL_BUCKETS	= 1 << FRPC_CALL_HASH_BITS,
	/* a socket's calls, by tag (client) or handle (server) */
	FRPC_SOCK_HASH_BITS	= 8,
};

/* Port numbers the server sees for callers on the same-host short cut. */
enum frpc_loop_ports {
	FRPC_LOOP_PORT_MIN	= 49152,
	FRPC_LOOP_PORT_SPAN	= 65536 - FRPC_LOOP_PORT_MIN,
};

/*
 * Limits and timers a namespace may set for itself (netlink.c); each is
 * also the module parameter of the same name, the value of namespaces
 * that set none.  Numbered as FASTRPC_A_LIMITS_* less one.
 */
enum frpc_limit {
	FRPC_LIM_CONN_RX_MEM,
	FRPC_LIM_NET_RX_MEM,
	FRPC_LIM_SERVER_MAX_CONNS,
	FRPC_LIM_PEER_MAX_CONNS,
	FRPC_LIM_PEER_MAX_CALLS,
	FRPC_LIM_CONN_MAX_CALLS,
	FRPC_LIM_KEEPALIVE_MS,
	FRPC_LIM_IDLE_MS,
	FRPC_LIM_LOOPBACK,		/* 0 or 1 */
	FRPC_LIM_DEFAULT_CALLS,		/* FASTRPC_MAX_CALLS of a new socket */
	FRPC_LIM_STALL_MS,
	FRPC_LIM_COUNT,
};

/*
 * The namespace's counters that calls and messages move, one copy per
 * CPU, summed when read: calls on different CPUs then write no cache line
 * in common, where shared atomics would bounce one between them several
 * times a call.  Those that connections move (rarer, and some compared
 * with limits) stay atomic64_t in struct frpc_net.  The two gauges are
 * right only as the sum: a message is counted on one CPU and given back
 * on another.
 */
struct frpc_net_pcpu {
	u64	calls_started;
	u64	calls_completed;
	u64	calls_received;
	u64	replies_sent;
	u64	late_replies;
	u64	replies_dropped;
	u64	calls_cancelled;
	u64	deadlines_exceeded;
	u64	rejected_calls;
	u64	loop_calls;		/* calls started on a short-cut pair */
	u64	ring_refused;		/* ring passes stopped by EAGAIN */
	u64	ring_errors;		/* ring entries that failed */
	u64	ring_direct;		/* deliveries by same-host writers */
	u64	tx_bulk_bytes;		/* written from senders' memory */
	/* received, not yet consumed or dropped */
	s64	rx_held_bytes;
	/* accepted by sendmsg(), not yet cut into frames */
	s64	tx_queued_bytes;
};

/* Any context: this_cpu ops are safe against interrupts and migration. */
#define frpc_count(fn, field)		this_cpu_inc((fn)->pcpu->field)
#define frpc_count_add(fn, field, n)	this_cpu_add((fn)->pcpu->field, (n))
#define frpc_count_sub(fn, field, n)	this_cpu_sub((fn)->pcpu->field, (n))

/* Per network namespace state and counters (/proc/net/fastrpc). */
struct frpc_net {
	struct net		*net;
	struct mutex		lock;		/* guards conns, peers, servers */
	struct list_head	conns;		/* client connections */
	struct list_head	peers;		/* reconnect backoff records */
	struct list_head	servers;	/* listening server sockets */
	unsigned int		npeers;
	atomic64_t		next_conn_id;
	atomic64_t		conns_open;
	atomic64_t		conns_total;
	atomic64_t		connect_failures;
	atomic64_t		proto_errors;
	atomic64_t		pings_sent;
	atomic64_t		goaways_sent;
	atomic64_t		backoff_peers;	/* gauge: npeers */
	atomic64_t		rx_mem;		/* gauge: what peers make us hold */
	atomic64_t		mem_failures;	/* connections failed for rx_mem */
	atomic64_t		conns_refused;	/* accepts over a connection limit */
	atomic64_t		loop_conns;	/* pairs made by the short cut */
	atomic64_t		stalled_conns;	/* failed: the peer took nothing */
	struct frpc_net_pcpu __percpu *pcpu;	/* what calls move */
	atomic_t		loop_port;	/* loop.c: callers' port numbers */

	/*
	 * netlink.c: every socket and connection of the namespace, by id,
	 * for dumps, which resume after the last id sent; nl_lock is taken
	 * alone (no other lock inside it, so any context may add and
	 * remove).
	 */
	spinlock_t		nl_lock;
	struct rb_root		nl_socks;
	struct rb_root		nl_conns;
	u64			nl_sock_seq;
	/* the namespace's own limits: value + 1, 0 for the module's */
	u32			limits[FRPC_LIM_COUNT];
};

/* main.c: the counters and gauges of struct frpc_net, by name and attribute */
struct frpc_stat {
	const char	*name;		/* as /proc/net/fastrpc shows it */
	size_t		off;		/* in frpc_net, or in frpc_net_pcpu */
	u16		attr;		/* FASTRPC_A_STATS_* */
	bool		pcpu;		/* a struct frpc_net_pcpu field */
};

extern const struct frpc_stat frpc_stats[];	/* ends with a NULL name */

/*
 * list_del_init() of a node that is often on no list (a call's deadline
 * and credit-owed links, a client message's call link): the list checks,
 * out of line in Debian's kernels, are skipped when nothing is linked.
 */
static inline void frpc_list_del_init(struct list_head *e)
{
	if (!list_empty(e))
		list_del_init(e);
}

/*
 * A per-CPU counter is the sum of its copies, each read whole on a 64-bit
 * kernel (a 32-bit one may see a copy torn by a concurrent update).
 */
static inline s64 frpc_pcpu_sum(const struct frpc_net *fn, size_t off)
{
	s64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*(s64 *)((char *)per_cpu_ptr(fn->pcpu, cpu) +
					  off));
	return sum;
}

/*
 * The copies are read one after another: a message counted on a CPU
 * already read and given back on one read later makes a gauge's sum low,
 * even below zero, which is shown as zero (as
 * percpu_counter_sum_positive()).
 */
static inline s64 frpc_stat_read(const struct frpc_net *fn,
				 const struct frpc_stat *st)
{
	if (!st->pcpu)
		return atomic64_read((const atomic64_t *)((const char *)fn +
							  st->off));
	return max_t(s64, frpc_pcpu_sum(fn, st->off), 0);
}

/* reported by netlink (FASTRPC_A_INFO_VERSION) and modinfo */
#define FRPC_MODULE_VERSION	"0.9.0"

/* netlink.c: the module parameters behind enum frpc_limit */
extern unsigned int *const frpc_limit_param[FRPC_LIM_COUNT];

/*
 * Up to FRPC_LIM_CAPS the limits bound what peers make the host hold: a
 * namespace (whose administrator may be anyone with a user namespace)
 * may lower them below the module parameter, never raise them above it.
 */
#define FRPC_LIM_CAPS	FRPC_LIM_CONN_MAX_CALLS

/* The limit @l in force in @fn: its own value, or the module's. */
static inline u32 frpc_limit(const struct frpc_net *fn, enum frpc_limit l)
{
	u32 p = READ_ONCE(*frpc_limit_param[l]);
	u32 v = READ_ONCE(fn->limits[l]);

	if (!v)
		return p;
	return l <= FRPC_LIM_CAPS ? min(v - 1, p) : v - 1;
}

/* main.c */
extern int frpc_family;
extern struct workqueue_struct *frpc_wq;
struct frpc_net *frpc_net(struct net *net);

#endif /* _FRPC_H */
