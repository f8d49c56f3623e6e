/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sock.c: the AF_FASTRPC socket.  struct frpc_sock and the functions
 * other files call on it.
 */
#ifndef _FRPC_SOCK_H
#define _FRPC_SOCK_H

#include <linux/hashtable.h>
#include <linux/rbtree.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "frpc.h"

struct frpc_conn;
struct frpc_call;
struct frpc_rxmsg;
struct frpc_ring;
struct mem_cgroup;

enum frpc_sock_role {
	FRPC_ROLE_NONE,
	FRPC_ROLE_CLIENT,
	FRPC_ROLE_BOUND,
	FRPC_ROLE_SERVER,
};

struct frpc_sock {
	struct sock		sk;		/* must be first */
	enum frpc_sock_role	role;
	unsigned long		ino;		/* names it: trace events, netlink */
	spinlock_t		lock;		/* queues, tables, counts */
	bool			dead;		/* released: no more deliveries */
	bool			shut_rd;	/* server: no new calls */
	struct list_head	rxq;		/* complete messages */
	u32			rxq_len;
	u32			rx_bytes;	/* charged against sk_rcvbuf */
	u32			tx_queued;	/* charged against sk_sndbuf */
	unsigned long		tx_full_since;	/* jiffies a sender first found
						 * it full; 0: room since
						 */
	struct list_head	owed;		/* calls with withheld credit */
	struct work_struct	grant_work;	/* grants it after a purge */
	u32			max_calls;
	u32			ncalls;		/* client: not yet finished */
	/*
	 * threads blocked in sendmsg() or recvmsg(), sleepers that deliver
	 * nothing to the rings (ring.c: the work item delivers for them)
	 */
	atomic_t		waiters;
	/*
	 * Once someone waited in poll() or epoll for events other than
	 * EPOLLIN: a sleeper the wakeup of an arriving message passes by,
	 * so that the rings' work item must deliver (ring.c).  Sticky.
	 */
	bool			blind_poll;
	/* set once under lock_sock(), read with acquire; freed at destruct */
	struct frpc_ring	*ring;

	/* client */
	DECLARE_HASHTABLE(tags, FRPC_SOCK_HASH_BITS);
	struct sockaddr_fastrpc	peer;
	struct frpc_conn	*conn;		/* under lock_sock() */
	struct list_head	conn_node;	/* conn->user_socks, fn->lock */
	bool			connecting;	/* conn not ready yet: no EPOLLOUT */
	bool			loopback;	/* FASTRPC_LOOPBACK */

	/* server */
	struct sockaddr_fastrpc	local;
	bool			v6only;		/* IPv6 listener, no IPv4 */
	struct list_head	server_node;	/* fn->servers, fn->lock */
	struct socket		*ltcp;		/* kernel TCP listener */
	void (*saved_ldata_ready)(struct sock *sk);
	struct work_struct	accept_work;
	struct mutex		conns_lock;	/* conns, nconns */
	struct list_head	conns;
	unsigned int		nconns;
	/*
	 * Accepted connections whose teardown has not finished, under lock:
	 * while there are any, a shut-down socket may still get messages
	 * and completions, so it reads no end of file yet.
	 */
	unsigned int		nlive;
	/*
	 * Cancellation notices owed by readers still copying their calls'
	 * requests out (call->cancel_owed), under lock: each is a message
	 * still to come, so they hold the end of file back too.
	 */
	unsigned int		ncancel_owed;
	DECLARE_HASHTABLE(pending, FRPC_SOCK_HASH_BITS);	/* by handle */
	u32			npending;
	u64			next_handle;
	DECLARE_HASHTABLE(shares, 4);		/* peers, under lock */
	struct mem_cgroup	*memcg;		/* who pays for its peers */

	/* netlink.c: the namespace's list, and admission reject events */
	struct rb_node		nl_node;	/* fn->nl_socks, fn->nl_lock */
	u64			nl_id;
	u32			rejects;	/* since the last event, fs->lock */
	unsigned long		reject_ntf_at;	/* jiffies: the last event */
	struct timer_list	reject_timer;	/* tells the rest of a burst */
};

static inline struct frpc_sock *frpc_sk(struct sock *sk)
{
	return container_of(sk, struct frpc_sock, sk);
}

/* The socket's rings, or NULL; set up once, then there until destruct. */
static inline struct frpc_ring *frpc_sock_ring(struct frpc_sock *fs)
{
	/* pairs with the release in frpc_ring_setsockopt() */
	return smp_load_acquire(&fs->ring);
}

/*
 * A server socket after shutdown(SHUT_RD) whose connections have all
 * closed and whose readers owe no cancellation notice: nothing more can
 * reach it.  Without fs->lock a hint; under it, every message and
 * completion of those connections is there already.
 */
static inline bool frpc_server_drained(struct frpc_sock *fs)
{
	return READ_ONCE(fs->shut_rd) && !READ_ONCE(fs->nlive) &&
	       !READ_ONCE(fs->ncancel_owed);
}

int frpc_sock_register(void);
void frpc_sock_unregister(void);
void frpc_sock_queue(struct frpc_sock *fs, struct frpc_rxmsg *m,
		     struct frpc_call *call);
void frpc_sock_wake_out(struct sock *sk);
void frpc_sock_wake_eof(struct frpc_sock *fs);
bool frpc_sock_can_send(struct frpc_sock *fs);
void frpc_client_ready(struct frpc_sock *fs, struct frpc_conn *conn);
struct frpc_call *frpc_sock_find(struct frpc_sock *fs, u64 key);
void __frpc_sock_unqueue(struct frpc_sock *fs, struct frpc_rxmsg *m);

#endif /* _FRPC_SOCK_H */
