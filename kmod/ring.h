/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ring.c: the mmap'd submission and completion rings of a socket, and its
 * buffer area (uapi: "Rings" in linux/fastrpc.h).
 */
#ifndef _FRPC_RING_H
#define _FRPC_RING_H

#include <linux/bits.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/sockptr.h>
#include <linux/workqueue.h>
#include <linux/fastrpc.h>

struct frpc_conn;
struct frpc_sock;
struct vm_area_struct;

/* Pages shared with user space, mapped in the kernel too. */
struct frpc_ring_region {
	void			*kaddr;
	struct page		**pages;
	unsigned int		nr_pages;
};

/* A submission entry as the kernel read it: each field once. */
struct frpc_ring_sqe {
	u8	op;
	u8	flags;
	u16	meta_len;
	u32	method;
	u64	id;
	u32	addr;
	u32	len;
	u32	buf;
	u16	smsg_len;
	u16	reserved0;
	u64	timeout_ns;
	u64	reserved;
};

/*
 * A FASTRPC_SQE_LEND entry's payload, read in place from the buffer
 * area by the messages that hold a reference (frpc_txmsg.lend) and by
 * the verb while it runs (ring.c's own).  The last put queues it on
 * ring->sent for its FASTRPC_CQE_SENT.  It holds the socket, and so the
 * ring and its area, until then.
 */
struct frpc_lend {
	struct list_head	node;		/* ring->sent */
	refcount_t		ref;
	struct frpc_ring	*ring;
	u64			id;
	u32			addr;
	u32			len;
	u32			buf;		/* run to give back, with give */
	u8			op;
	bool			give;
	bool			quiet;		/* the entry failed: no SENT */
	bool			cut;		/* part of it dropped unsent */
};

/*
 * In ring->run[]: a lent entry gives this run back with its SENT
 * (FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF).  Run lengths are at most
 * FASTRPC_RING_MAX_AREA / FASTRPC_RING_MIN_BUF, far below this bit.
 */
#define FRPC_RING_RUN_BACK	BIT(31)

/* Geometry of the buffer area, what checking an entry needs. */
struct frpc_ring_geom {
	u32	area_len;	/* buf_size * buf_count */
	u32	buf_shift;	/* log2(buf_size) */
	u32	rx_bufs;
};

struct frpc_ring {
	struct frpc_sock	*fs;
	/*
	 * One consumer of the SQ and one producer of the CQ at a time:
	 * send() or the work item.  Outside conn->lock and fs->lock.
	 */
	struct mutex		lock;
	struct work_struct	work;
	struct work_struct	free_work;	/* frpc_ring_free() in softirq */
	struct work_struct	put_work;	/* a deferral's last sock_put() */
	bool			dead;		/* socket closing, under lock */
	/* pollers were woken for messages and have not looked yet */
	bool			poll_woken;
	/*
	 * A reader found ring->lock taken and left its delivery to the
	 * work item: the item wakes the readers even if it publishes
	 * nothing, since the holder may have published for them and woken
	 * nobody (frpc_ring_readable()).
	 */
	bool			poll_missed;
	/* threads spinning in send(MSG_WAITALL) (SO_BUSY_POLL): they deliver */
	atomic_t		spinners;
	struct fastrpc_ring_setup setup;
	struct frpc_ring_geom	geom;

	struct frpc_ring_region	sq_mem, cq_mem, area_mem;
	u32			*sq_prod, *sq_cons, *sq_flags;
	struct fastrpc_sqe	*sqes;
	u32			*cq_prod, *cq_cons;
	struct fastrpc_cqe	*cqes;
	/* the kernel's own copies of the indices it writes */
	u32			sq_head;
	u32			cq_tail;
	u32			cq_published;
	u8			*area;

	/* receive buffers lent to user space, under ring->lock */
	unsigned long		*lent;
	u32			*run;		/* run length, at its first */
	u32			hint;
	/* messages for recvmsg(): larger than every receive buffer */
	struct list_head	big;

	/*
	 * Lent payloads the kernel is done with, waiting for CQ room for
	 * their FASTRPC_CQE_SENT; @sent_n of them.  Any context adds, a
	 * holder of ring->lock posts.  @sent_stop: released, nobody posts.
	 */
	spinlock_t		sent_lock;
	struct list_head	sent;
	u32			sent_n;
	bool			sent_stop;
};

static inline struct frpc_lend *frpc_lend_get(struct frpc_lend *l)
{
	refcount_inc(&l->ref);
	return l;
}

void frpc_lend_put(struct frpc_lend *l, bool cut);

int frpc_ring_setsockopt(struct frpc_sock *fs, sockptr_t optval,
			 unsigned int optlen);
int frpc_ring_getsockopt(struct frpc_sock *fs, char __user *optval,
			 int __user *optlen, int len);
int frpc_ring_mmap(struct frpc_sock *fs, struct vm_area_struct *vma);
int frpc_ring_enter(struct frpc_sock *fs, bool wait, long timeo);
void frpc_ring_queued(struct frpc_ring *ring, struct frpc_conn *conn);
void frpc_ring_deliver_deferred(struct frpc_ring *ring);
bool frpc_ring_readable(struct frpc_ring *ring);
void frpc_ring_stop(struct frpc_sock *fs);
void frpc_ring_free(struct frpc_ring *ring);

/* exposed for KUnit */
int frpc_ring_buf_get(struct frpc_ring *ring, u32 need, u32 *off);
int frpc_ring_buf_put(struct frpc_ring *ring, u32 off);
int frpc_ring_check_setup(const struct fastrpc_ring_setup *s);
int frpc_ring_sqe_check(const struct frpc_ring_geom *g,
			const struct frpc_ring_sqe *e, bool server);
u32 frpc_ring_sq_avail(u32 prod, u32 head, u32 entries);
u32 frpc_ring_cq_room(u32 tail, u32 cons, u32 entries);

#endif /* _FRPC_RING_H */
