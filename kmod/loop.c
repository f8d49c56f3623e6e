// SPDX-License-Identifier: GPL-2.0-only
/*
 * The same-host short cut.  A client connection whose peer is served by a
 * listening AF_FASTRPC socket of the same namespace skips TCP: it is paired
 * with a server connection made as the TCP accept path makes one (same
 * admission limits), and each frame written on one end goes straight into
 * the other end's frame reader.  Everything above the transport boundary
 * (HELLO, credit, admission, deadlines, GOAWAY, ERROR) runs unchanged.
 *
 * Matched: a listener bound to the target address and port, or to the
 * wildcard address of the target's family (or a dual-stack IPv6 wildcard
 * for an IPv4 target) and that port when the target is an address of
 * this namespace (127.0.0.1, ::1, an address of an interface).  Not
 * matched, so TCP as before: v4-mapped and link-local IPv6 targets.
 *
 * Writing.  frpc_loop_send() copies the bytes into one skb (a big frame
 * into page fragments of the connection's page_frag, as TCP does) and
 * feeds the peer's reader under the peer end's lock with BH disabled, so
 * that the receive handlers run as they do from TCP's data_ready in
 * softirq: they take no mutex and only kick the peer's sender
 * asynchronously.  The writer holds its own tx_mutex, never the peer's;
 * one end lock at a time.
 * The peer takes every byte: frames are whole and in order, and what the
 * receive side keeps is bounded by credit and by rx_mem as for TCP.
 *
 * Small writes (FRPC_LOOP_BUF_MAX) need no skb: the whole frames in one
 * go to the reader as a linear buffer, the writer's own bytes or a copy
 * of them on its stack, and the receive side copies what it keeps; so a
 * small call costs no allocation here.  Only what is not whole frames (a
 * frame cut by a partial write) goes in an skb.
 *
 * Rings.  A message that completes at a socket with rings whose owner is
 * not asleep in poll() (it spins on its CQ) would be delivered by the
 * ring's work item: a switch to a worker and back, on each end of a call.
 * The writer feeding it is in process context already, so it takes that
 * delivery on (frpc_loop_defer_ring()) and does it once it has let go of
 * the end's lock (frpc_ring_deliver_deferred()).
 *
 * Closing.  Detaching an end stops its reading (later frames for it are
 * dropped, as TCP would buffer them for a reader that never comes);
 * closing it tells the other end, as a FIN does, after its last frames
 * went in.  The pair is freed when both ends closed (one reference each).
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/moduleparam.h>
#include <linux/refcount.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <net/addrconf.h>
#include <net/ipv6.h>
#include <net/route.h>

#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "loop.h"
#include "reader.h"
#include "ring.h"
#include "rx.h"
#include "sock.h"
#include "timer.h"
#include "transport.h"

/* 0 or 1, unsigned int like the other limits (enum frpc_limit) */
static int frpc_param_set_loopback(const char *val,
				   const struct kernel_param *kp)
{
	bool on;
	int err = kstrtobool(val, &on);

	if (!err)
		WRITE_ONCE(*(unsigned int *)kp->arg, on);
	return err;
}

static const struct kernel_param_ops frpc_loopback_ops = {
	.set = frpc_param_set_loopback,
	.get = param_get_uint,
};

unsigned int frpc_loopback = 1;
module_param_cb(loopback, &frpc_loopback_ops, &frpc_loopback, 0644);
MODULE_PARM_DESC(loopback, "connections to a server socket of the same namespace skip TCP (default of namespaces without their own)");

enum frpc_loop_side {
	FRPC_LOOP_CLIENT,
	FRPC_LOOP_SERVER,
};

struct frpc_loop_end {
	spinlock_t		lock;		/* conn and its reader */
	struct frpc_conn	*conn;		/* reads; NULL once detached */
	bool			hung_up;	/* the other end closed */
	/* a ring delivery the writer feeding the reader took on (with a
	 * reference on the ring's socket)
	 */
	struct frpc_ring	*ring;
};

struct frpc_loop {
	refcount_t		ref;		/* one per end until it closes */
	struct frpc_loop_end	end[2];
};

static void frpc_loop_put(struct frpc_loop *lp)
{
	if (refcount_dec_and_test(&lp->ref))
		kfree(lp);
}

/* --- finding the server socket -------------------------------------- */

static bool frpc_loop_ip_equal(const struct sockaddr_fastrpc *a,
			       const struct sockaddr_fastrpc *b)
{
	if (a->sfr_ip_family == AF_INET)
		return a->sfr_addr.v4 == b->sfr_addr.v4;
	return ipv6_addr_equal(&a->sfr_addr.v6, &b->sfr_addr.v6);
}

static bool frpc_loop_ip_any(const struct sockaddr_fastrpc *a)
{
	if (a->sfr_ip_family == AF_INET)
		return a->sfr_addr.v4 == htonl(INADDR_ANY);
	return ipv6_addr_any(&a->sfr_addr.v6);
}

/* Is @a an address of this namespace that the short cut may serve? */
static bool frpc_loop_ip_local(struct net *net, const struct sockaddr_fastrpc *a)
{
	if (a->sfr_ip_family == AF_INET)
		return inet_addr_type(net, a->sfr_addr.v4) == RTN_LOCAL;
#if IS_ENABLED(CONFIG_IPV6)
	if (ipv6_addr_type(&a->sfr_addr.v6) &
	    (IPV6_ADDR_LINKLOCAL | IPV6_ADDR_MAPPED))
		return false;
	return ipv6_chk_addr(net, &a->sfr_addr.v6, NULL, 0);
#else
	return false;
#endif
}

/*
 * How well a listener bound to @l serves target @to (a local address), as
 * TCP would connect it: the very address, or the wildcard of its family,
 * or the IPv6 wildcard for an IPv4 target when the listener is dual-stack
 * (not @v6only).
 */
enum frpc_loop_match {
	FRPC_LOOP_NONE,
	FRPC_LOOP_WILDCARD,
	FRPC_LOOP_EXACT,
};

static enum frpc_loop_match frpc_loop_match(const struct sockaddr_fastrpc *l,
					    bool v6only,
					    const struct sockaddr_fastrpc *to)
{
	if (l->sfr_port != to->sfr_port)
		return FRPC_LOOP_NONE;
	if (l->sfr_ip_family != to->sfr_ip_family) {
		if (l->sfr_ip_family == AF_INET6 && to->sfr_ip_family == AF_INET &&
		    !v6only && frpc_loop_ip_any(l))
			return FRPC_LOOP_WILDCARD;
		return FRPC_LOOP_NONE;
	}
	if (frpc_loop_ip_equal(l, to))
		return FRPC_LOOP_EXACT;
	return frpc_loop_ip_any(l) ? FRPC_LOOP_WILDCARD : FRPC_LOOP_NONE;
}

/*
 * The listening server socket of @fn that TCP would connect @to to, with
 * a reference, or NULL.  A listener bound to the very address wins over a
 * wildcard one.
 */
static struct frpc_sock *frpc_loop_find(struct frpc_net *fn,
					const struct sockaddr_fastrpc *to)
{
	enum frpc_loop_match m, best = FRPC_LOOP_NONE;
	struct frpc_sock *fs, *found = NULL;

	if (!frpc_loop_ip_local(fn->net, to))
		return NULL;
	mutex_lock(&fn->lock);
	list_for_each_entry(fs, &fn->servers, server_node) {
		m = frpc_loop_match(&fs->local, fs->v6only, to);
		if (m > best && frpc_server_listening(fs)) {
			best = m;
			found = fs;
		}
	}
	if (found)
		sock_hold(&found->sk);
	mutex_unlock(&fn->lock);
	return found;
}

/*
 * The address the server sees for a caller on this host: the target
 * address, as TCP picks it for a local destination, and a port from a
 * per-namespace counter, so that each connection has its own.
 */
static void frpc_loop_caller(struct frpc_net *fn, struct sockaddr_fastrpc *from,
			     const struct sockaddr_fastrpc *to)
{
	u32 n = (u32)atomic_inc_return(&fn->loop_port);

	*from = *to;
	from->sfr_port = htons(FRPC_LOOP_PORT_MIN + n % FRPC_LOOP_PORT_SPAN);
}

/* --- pairing ---------------------------------------------------------- */

/* Start reading on @side of @lp; tx_mutex held, the connection not dead. */
static void frpc_loop_attach(struct frpc_conn *conn, struct frpc_loop *lp,
			     enum frpc_loop_side side)
{
	struct frpc_loop_end *e = &lp->end[side];
	bool hung_up;

	lockdep_assert_held(&conn->tx_mutex);
	frpc_reader_init(&conn->rd, frpc_rx_deliver, conn);
	conn->rd.version = conn->version;
	conn->loop = lp;
	conn->loop_side = side;
	conn->last_rx = jiffies;
	WRITE_ONCE(conn->via_loop, true);

	spin_lock_bh(&e->lock);
	e->conn = conn;
	hung_up = e->hung_up;
	spin_unlock_bh(&e->lock);

	atomic64_inc(&conn->fn->conns_open);
	atomic64_inc(&conn->fn->conns_total);
	frpc_conn_start_timers(conn);
	/* the other end went before this one was ready to hear it */
	if (hung_up)
		frpc_conn_peer_closed(conn, -ECONNRESET);
}

/* Tell @side of @lp that the other end closed, as a FIN would. */
static void frpc_loop_hangup(struct frpc_loop *lp, enum frpc_loop_side side)
{
	struct frpc_loop_end *e = &lp->end[side];

	spin_lock_bh(&e->lock);
	e->hung_up = true;
	if (e->conn)
		frpc_conn_peer_closed(e->conn, -ECONNRESET);
	spin_unlock_bh(&e->lock);
}

static struct frpc_loop *frpc_loop_alloc(void)
{
	struct frpc_loop *lp;

	lp = kzalloc(sizeof(*lp), GFP_KERNEL_ACCOUNT);
	if (!lp)
		return NULL;
	refcount_set(&lp->ref, 2);
	spin_lock_init(&lp->end[FRPC_LOOP_CLIENT].lock);
	spin_lock_init(&lp->end[FRPC_LOOP_SERVER].lock);
	return lp;
}

/* Attach the server's end, unless the server socket failed it already. */
static bool frpc_loop_attach_server(struct frpc_conn *srv, struct frpc_loop *lp)
{
	bool dead;

	mutex_lock(&srv->tx_mutex);
	spin_lock_bh(&srv->lock);
	dead = srv->state == FRPC_CONN_DEAD;
	spin_unlock_bh(&srv->lock);
	if (!dead)
		frpc_loop_attach(srv, lp, FRPC_LOOP_SERVER);
	mutex_unlock(&srv->tx_mutex);
	return !dead;
}

/*
 * Client connection @conn is opening: if a server socket of the namespace
 * serves its peer, make the server's connection (the admission limits of
 * an accept apply) and return the pair with the server's end reading;
 * frpc_loop_attach_client() or frpc_loop_abandon() then takes the
 * client's end.  NULL: no such socket, or the short cut is off for this
 * connection; TCP then.  ERR_PTR(-ECONNRESET) when the server refused,
 * as a TCP client learns it from the accepted socket's close.
 */
struct frpc_loop *frpc_loop_connect(struct frpc_conn *conn)
{
	struct frpc_net *fn = conn->fn;
	struct sockaddr_fastrpc from;
	struct frpc_conn *srv;
	struct frpc_sock *fs;
	struct frpc_loop *lp;

	if (!conn->loop_ok)
		return NULL;
	fs = frpc_loop_find(fn, &conn->peer);
	if (!fs)
		return NULL;
	lp = frpc_loop_alloc();
	if (!lp) {
		sock_put(&fs->sk);
		return ERR_PTR(-ENOMEM);
	}
	frpc_loop_caller(fn, &from, &conn->peer);
	srv = frpc_server_new_conn(fs, &from);
	sock_put(&fs->sk);	/* a server connection holds its own */
	if (!srv) {
		kfree(lp);
		return ERR_PTR(-ECONNRESET);
	}
	if (!frpc_loop_attach_server(srv, lp)) {
		/* its owner's teardown has it; it never read from the pair */
		frpc_conn_put(srv);
		kfree(lp);
		return ERR_PTR(-ECONNRESET);
	}
	frpc_conn_put(srv);
	atomic64_inc(&fn->loop_conns);
	return lp;
}

/* The client's end of a pair from frpc_loop_connect(); tx_mutex held. */
void frpc_loop_attach_client(struct frpc_conn *conn, struct frpc_loop *lp)
{
	frpc_loop_attach(conn, lp, FRPC_LOOP_CLIENT);
}

/* The client failed before its end was attached: the server end hears EOF. */
void frpc_loop_abandon(struct frpc_loop *lp)
{
	frpc_loop_hangup(lp, FRPC_LOOP_SERVER);
	frpc_loop_put(lp);
}

/* --- frames ----------------------------------------------------------- */

/*
 * Run @skb from byte *@off on through @conn's reader, one budget's worth
 * of frames; the end's lock held, BH off.  True if frames are left: the
 * caller lets go of the lock and comes back, so that a burst (thousands of
 * CANCELs, each freeing a call) never keeps BH off and the CPU for long.
 */
static bool frpc_loop_feed(struct frpc_conn *conn, struct sk_buff *skb,
			   u32 *off)
{
	struct frpc_reader *r = &conn->rd;

	if (r->dead)
		return false;
	/* a new budget per pass: the pass is for TCP's backlog, not ours */
	r->budget = FRPC_RX_BUDGET;
	*off += frpc_reader_feed(r, skb, *off, skb->len - *off);
	if (r->dead) {
		frpc_tp_reader_failed(conn);
		return false;
	}
	return *off < skb->len && !r->budget;
}

/*
 * The end whose reader this CPU's writer is feeding, set only while the
 * end's lock is held (BH off: no preemption, no softirq in between), so
 * a message queued on this CPU finds its feeder here without looking at
 * the connection's pair, which a closing connection may free meanwhile.
 */
static DEFINE_PER_CPU(struct frpc_loop_end *, frpc_loop_feeding);

/* The writer starts feeding @e's reader; the end's lock held. */
static void frpc_loop_feed_begin(struct frpc_loop_end *e)
{
	lockdep_assert_held(&e->lock);
	this_cpu_write(frpc_loop_feeding, e);
}

/* ... and is done: the ring delivery it took on, if any, is its own. */
static struct frpc_ring *frpc_loop_feed_end(struct frpc_loop_end *e)
{
	struct frpc_ring *ring = e->ring;

	lockdep_assert_held(&e->lock);
	this_cpu_write(frpc_loop_feeding, NULL);
	e->ring = NULL;
	return ring;
}

/*
 * A message reached @ring's socket from @conn's reader (conn->lock held):
 * may the writer feeding that reader deliver it, instead of the ring's
 * work item?  Only a writer, in process context, under the end's lock,
 * is ever the feeder; a timer, TCP's softirq or a reader of the socket
 * that queues a cancel notice never is.  One ring per feed: a second one,
 * rare (two sockets' calls in one write), is left to its work item.
 */
bool frpc_loop_defer_ring(struct frpc_conn *conn, struct frpc_ring *ring,
			  struct sock *sk)
{
	struct frpc_loop_end *e = this_cpu_read(frpc_loop_feeding);

	if (!e || e->conn != conn)
		return false;
	lockdep_assert_held(&e->lock);
	if (e->ring)
		return e->ring == ring;
	sock_hold(sk);
	e->ring = ring;
	return true;
}

/* Copy @len bytes of @iov from byte @skip on to @to. */
static void frpc_loop_copy(u8 *to, const struct kvec *iov, int niov, u32 skip,
			   u32 len)
{
	u32 n;
	int i;

	for (i = 0; i < niov && len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = min_t(size_t, iov[i].iov_len - skip, len);
		memcpy(to, iov[i].iov_base + skip, n);
		to += n;
		len -= n;
		skip = 0;
	}
}

/*
 * An skb holding up to @len bytes: @head of @iov, then the rest from @data,
 * in page fragments of the connection's own page_frag, as tcp_sendmsg()
 * fills its skbs: the pages (32 KiB where it can get them) are reused
 * once the other end let go, so a big frame costs no allocation of its
 * own.  *@len is cut to what fitted.  tx_mutex held.
 */
static struct sk_buff *frpc_loop_skb_frags(struct frpc_conn *conn,
					   const struct kvec *iov, int niov,
					   u32 head, struct iov_iter *data,
					   u32 *len)
{
	struct page_frag *pf = &conn->loop_frag;
	struct sk_buff *skb;
	u32 done = 0, n;
	int f = 0;

	skb = alloc_skb(0, GFP_KERNEL_ACCOUNT);
	if (!skb)
		return NULL;
	while (done < *len && f < MAX_SKB_FRAGS) {
		u8 *to;

		if (!skb_page_frag_refill(1, pf, GFP_KERNEL_ACCOUNT)) {
			kfree_skb(skb);
			return NULL;
		}
		n = min(*len - done, pf->size - pf->offset);
		/* not highmem: skb_page_frag_refill() asks for none */
		to = page_address(pf->page) + pf->offset;
		if (done < head) {
			n = min(n, head - done);
			frpc_loop_copy(to, iov, niov, done, n);
		} else if (copy_from_iter(to, n, data) != n) {
			/* the sender's pages are held: cannot happen */
			kfree_skb(skb);
			return NULL;
		}
		if (f && skb_can_coalesce(skb, f, pf->page, pf->offset)) {
			/* a head and its data: one piece, not two */
			skb_frag_size_add(&skb_shinfo(skb)->frags[f - 1], n);
		} else {
			get_page(pf->page);
			skb_fill_page_desc(skb, f++, pf->page, pf->offset, n);
		}
		pf->offset += n;
		done += n;
	}
	skb->len = done;
	skb->data_len = done;
	skb->truesize += done;
	*len = done;
	return skb;
}

/* @len bytes of @iov in one skb: linear when small. */
static struct sk_buff *frpc_loop_skb(struct frpc_conn *conn,
				     const struct kvec *iov, int niov, u32 *len)
{
	struct sk_buff *skb;

	if (*len > FRPC_RX_LINEAR_MAX)
		return frpc_loop_skb_frags(conn, iov, niov, *len, NULL, len);
	skb = alloc_skb(*len, GFP_KERNEL_ACCOUNT);
	if (skb)
		frpc_loop_copy(skb_put(skb, *len), iov, niov, 0, *len);
	return skb;
}

/* Feed @skb to the other end's reader, which keeps what it needs. */
static void frpc_loop_push(struct frpc_conn *conn, struct sk_buff *skb)
{
	struct frpc_loop_end *e = &conn->loop->end[!conn->loop_side];
	struct frpc_ring *ring;
	u32 off = 0;
	bool more;

	lockdep_assert_held(&conn->tx_mutex);
	do {
		more = false;
		ring = NULL;
		spin_lock_bh(&e->lock);
		if (e->conn) {
			frpc_loop_feed_begin(e);
			more = frpc_loop_feed(e->conn, skb, &off);
			ring = frpc_loop_feed_end(e);
		}
		spin_unlock_bh(&e->lock);
		frpc_ring_deliver_deferred(ring);
		/*
		 * Between passes the lock may go: this writer alone feeds
		 * that reader (tx_mutex), which is as it was left, or
		 * detached.
		 */
		if (more)
			cond_resched();
	} while (more);
	consume_skb(skb);	/* what the receive side kept, it cloned */
}

/*
 * Run the whole frames at the front of @buf through the reader of @e's
 * connection, with no skb, one budget's worth.  Returns the bytes taken:
 * all @len, or fewer when the rest is not whole frames or the reader is
 * mid-frame (the caller feeds those in an skb), or when the budget ran
 * out (*@more: the caller lets go of the lock and comes back, as
 * frpc_loop_push() does).  Bytes for a detached or stopped end count as
 * taken.
 */
static u32 frpc_loop_feed_buf(struct frpc_loop_end *e, const u8 *buf,
			      u32 len, bool *more)
{
	struct frpc_conn *conn = e->conn;
	struct frpc_reader *r;
	u32 off;

	lockdep_assert_held(&e->lock);
	*more = false;
	if (!conn || conn->rd.dead)
		return len;
	r = &conn->rd;
	/* a new budget per pass, as in frpc_loop_feed() */
	r->budget = FRPC_RX_BUDGET;
	off = frpc_reader_feed_buf(r, buf, len);
	if (r->dead) {
		frpc_tp_reader_failed(conn);
		return len;
	}
	*more = off < len && !r->budget;
	return off;
}

/*
 * Hand @len bytes at @buf, at most FRPC_LOOP_BUF_MAX, to the other end.
 * Returns how many were taken: all, or the whole frames before an skb for
 * the rest failed, or -ENOMEM.  tx_mutex held.
 */
static int frpc_loop_send_buf(struct frpc_conn *conn, const u8 *buf, u32 len)
{
	struct frpc_loop_end *e = &conn->loop->end[!conn->loop_side];
	struct frpc_ring *ring;
	struct sk_buff *skb;
	bool more;
	u32 off;

	lockdep_assert_held(&conn->tx_mutex);
	off = 0;
	do {
		spin_lock_bh(&e->lock);
		frpc_loop_feed_begin(e);
		off += frpc_loop_feed_buf(e, buf + off, len - off, &more);
		ring = frpc_loop_feed_end(e);
		spin_unlock_bh(&e->lock);
		frpc_ring_deliver_deferred(ring);
		/* as in frpc_loop_push() */
		if (more)
			cond_resched();
	} while (more);
	if (off == len)
		return len;
	/*
	 * A frame cut by an earlier write, or cut here: the skb path.  The
	 * lock may go meanwhile: this writer alone feeds that reader (under
	 * tx_mutex), so it is as it was left, or detached.
	 */
	skb = alloc_skb(len - off, GFP_KERNEL_ACCOUNT);
	if (!skb)
		return off ? off : -ENOMEM;
	skb_put_data(skb, buf + off, len - off);
	frpc_loop_push(conn, skb);
	return len;
}

/*
 * The same, from pieces: copied onto the stack first, in a frame of its
 * own so that a write that is one piece already (a small frame built on
 * the sender's stack) does not pay for the buffer.
 */
static noinline_for_stack int frpc_loop_send_copy(struct frpc_conn *conn,
						  const struct kvec *iov,
						  int niov, u32 len)
{
	u8 buf[FRPC_LOOP_BUF_MAX];

	frpc_loop_copy(buf, iov, niov, 0, len);
	return frpc_loop_send_buf(conn, buf, len);
}

/*
 * Hand @len bytes of @iov to the other end.  Returns how many were taken:
 * all of them, or as many as fit one skb (a frame's worth at least), or
 * -ENOMEM.  tx_mutex held.
 */
int frpc_loop_send(struct frpc_conn *conn, struct kvec *iov, int niov,
		   size_t len)
{
	struct sk_buff *skb;
	u32 n;

	lockdep_assert_held(&conn->tx_mutex);
	n = min_t(size_t, len, FASTRPC_FRAME_HDR_LEN + FASTRPC_MAX_FRAME);
	if (!n)
		return 0;
	if (n <= FRPC_LOOP_BUF_MAX) {
		if (iov[0].iov_len >= n)
			return frpc_loop_send_buf(conn, iov[0].iov_base, n);
		return frpc_loop_send_copy(conn, iov, niov, n);
	}
	skb = frpc_loop_skb(conn, iov, niov, &n);
	if (!skb)
		return -ENOMEM;
	frpc_loop_push(conn, skb);
	return n;
}

/*
 * One frame: its head in @iov, the rest in @data (pages of the sender,
 * held), copied once, straight into the skb the other end reads.
 * Returns @head_len + @data_len, or -ENOMEM.  tx_mutex held.
 */
int frpc_loop_send_data(struct frpc_conn *conn, struct kvec *iov, int niov,
			size_t head_len, struct iov_iter *data, size_t data_len)
{
	u32 n = head_len + data_len;
	struct sk_buff *skb;

	lockdep_assert_held(&conn->tx_mutex);
	skb = frpc_loop_skb_frags(conn, iov, niov, head_len, data, &n);
	if (!skb)
		return -ENOMEM;
	if (n != head_len + data_len) {
		/* more than MAX_SKB_FRAGS pieces: never for one frame */
		kfree_skb(skb);
		return -EMSGSIZE;
	}
	frpc_loop_push(conn, skb);
	return n;
}

/* --- closing ---------------------------------------------------------- */

/* Stop reading: the end reads no more frames.  tx_mutex held. */
void frpc_loop_detach(struct frpc_conn *conn)
{
	struct frpc_loop_end *e = &conn->loop->end[conn->loop_side];

	lockdep_assert_held(&conn->tx_mutex);
	spin_lock_bh(&e->lock);
	e->conn = NULL;
	frpc_reader_reset(&conn->rd);
	conn->rd.dead = true;
	spin_unlock_bh(&e->lock);
	atomic64_dec(&conn->fn->conns_open);
}

/*
 * After the last frames went in: the other end hears EOF and reads them
 * first (they are in already), like a FIN after data.  Detached first;
 * tx_mutex held.
 */
void frpc_loop_close(struct frpc_conn *conn)
{
	struct frpc_loop *lp = conn->loop;

	lockdep_assert_held(&conn->tx_mutex);
	frpc_loop_hangup(lp, !conn->loop_side);
	conn->loop = NULL;
	frpc_loop_put(lp);
	/* skbs the other end kept hold their own references on the page */
	if (conn->loop_frag.page) {
		put_page(conn->loop_frag.page);
		conn->loop_frag.page = NULL;
	}
}
