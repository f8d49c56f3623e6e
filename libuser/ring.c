// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rings: the submission and completion queues and the buffer area of a
 * socket set up with FASTRPC_RING, mapped into this process.
 *
 * The hot helpers (taking entries, reaping completions, the buffer
 * lookups) are static inline in libfastrpc.h; what is here runs once per
 * ring or crosses into the kernel: setup and teardown, the wakeup in
 * fastrpc_ring_submit(), the wait, and the free stack of the buffers that
 * belong to user space.  The memory-ordering contract is the one stated
 * in <linux/fastrpc.h> ("Rings"); each barrier below names its half of it.
 */
#define _FILE_OFFSET_BITS 64	/* the mmap() offsets pass 2^32 */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>

#include "internal.h"

static bool frpc_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

/* Do @n entries of @esize bytes at @o fit a region of @size bytes? */
static bool frpc_ring_offsets_ok(const struct fastrpc_ring_offsets *o,
				 uint64_t size, uint32_t n, size_t esize)
{
	const uint64_t idx = sizeof(uint32_t);

	return !(o->producer % idx) && !(o->consumer % idx) &&
	       !(o->flags % idx) && !(o->desc % 8) &&
	       o->producer <= size - idx && o->consumer <= size - idx &&
	       o->flags <= size - idx && o->desc <= size &&
	       (uint64_t)n * esize <= size - o->desc;
}

/* Is what the kernel said about the rings something we can map safely? */
static int frpc_ring_info_check(const struct fastrpc_ring_info *info,
				socklen_t len)
{
	const struct fastrpc_ring_setup *s = &info->setup;
	uint64_t area = (uint64_t)s->buf_size * s->buf_count;

	if (len < sizeof(*info))
		return -EPROTO;
	if (!frpc_pow2(s->sq_entries) || !frpc_pow2(s->cq_entries) ||
	    !frpc_pow2(s->buf_size) || !s->buf_count ||
	    !s->rx_bufs || s->rx_bufs > s->buf_count ||
	    area > FASTRPC_RING_MAX_AREA || area > info->buf_size)
		return -EPROTO;
	if (info->sq_size < sizeof(uint32_t) ||
	    info->cq_size < sizeof(uint32_t) ||
	    !frpc_ring_offsets_ok(&info->sq, info->sq_size, s->sq_entries,
				  sizeof(struct fastrpc_sqe)) ||
	    !frpc_ring_offsets_ok(&info->cq, info->cq_size, s->cq_entries,
				  sizeof(struct fastrpc_cqe)))
		return -EPROTO;
	return 0;
}

/* The free stack of user space's own buffers: the library's one allocation. */
static int frpc_ring_txbufs_init(struct fastrpc_ring *r)
{
	uint32_t n = r->setup.buf_count - r->setup.rx_bufs, i;
	size_t map = ((size_t)n + 7) / 8;

	r->tx_cap = n;
	r->tx_top = 0;
	if (!n)
		return 0;
	r->tx_free = malloc((size_t)n * sizeof(*r->tx_free) + map);
	if (!r->tx_free)
		return -ENOMEM;
	r->tx_out = (uint8_t *)(r->tx_free + n);
	memset(r->tx_out, 0, map);
	/* lowest offsets on top: handed out first */
	for (i = 0; i < n; i++)
		r->tx_free[r->tx_top++] =
			(r->setup.buf_count - 1 - i) * r->setup.buf_size;
	return 0;
}

/* Map @len bytes of the region at @off into *@p; 0 or -errno. */
static int frpc_ring_map(int fd, uint64_t len, uint64_t off, void **p)
{
	*p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, fd, (off_t)off);
	if (*p != MAP_FAILED)
		return 0;
	*p = NULL;
	return frpc_neg_errno();
}

FASTRPC_EXPORT int fastrpc_ring_setup(int fd,
				      const struct fastrpc_ring_setup *s,
				      struct fastrpc_ring *r)
{
	struct fastrpc_ring_info info;
	socklen_t len = sizeof(info);
	uint8_t *sq, *cq;
	void *area;
	int ret;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	if (s && setsockopt(fd, SOL_FASTRPC, FASTRPC_RING, s, sizeof(*s)) < 0)
		return frpc_neg_errno();
	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &info, &len) < 0)
		return frpc_neg_errno();
	ret = frpc_ring_info_check(&info, len);
	if (ret)
		return ret;
	if ((size_t)info.sq_size != info.sq_size ||
	    (size_t)info.cq_size != info.cq_size ||
	    (size_t)info.buf_size != info.buf_size)
		return -ENOMEM;

	r->setup = info.setup;
	r->sq_map_len = (size_t)info.sq_size;
	r->cq_map_len = (size_t)info.cq_size;
	r->buf_map_len = (size_t)info.buf_size;
	ret = frpc_ring_txbufs_init(r);
	if (ret)
		return ret;
	ret = frpc_ring_map(fd, info.sq_size, FASTRPC_RING_OFF_SQ, &r->sq_map);
	if (ret)
		goto err_sq;
	ret = frpc_ring_map(fd, info.cq_size, FASTRPC_RING_OFF_CQ, &r->cq_map);
	if (ret)
		goto err_cq;
	ret = frpc_ring_map(fd, info.buf_size, FASTRPC_RING_OFF_BUF, &area);
	if (ret)
		goto err_buf;
	r->buf = area;

	sq = r->sq_map;
	cq = r->cq_map;
	r->fd = fd;
	r->sq_producer = (uint32_t *)(sq + info.sq.producer);
	r->sq_consumer = (const uint32_t *)(sq + info.sq.consumer);
	r->sq_flags = (const uint32_t *)(sq + info.sq.flags);
	r->sqes = (struct fastrpc_sqe *)(sq + info.sq.desc);
	r->sq_mask = info.setup.sq_entries - 1;
	r->cq_producer = (const uint32_t *)(cq + info.cq.producer);
	r->cq_consumer = (uint32_t *)(cq + info.cq.consumer);
	r->cqes = (const struct fastrpc_cqe *)(cq + info.cq.desc);
	r->cq_mask = info.setup.cq_entries - 1;
	r->buf_len = info.setup.buf_size * info.setup.buf_count;
	r->rx_len = info.setup.buf_size * info.setup.rx_bufs;
	/*
	 * Our own indices start where the shared ones stand: zero for a
	 * new ring, wherever an earlier user left them for one mapped
	 * again (s == NULL).  Entries handed out but never published by
	 * that user are lost to it, not to us.
	 */
	r->sq_tail = __atomic_load_n(r->sq_producer, __ATOMIC_RELAXED);
	r->sq_pub = r->sq_tail;
	r->sq_head = __atomic_load_n(r->sq_consumer, __ATOMIC_ACQUIRE);
	r->cq_head = __atomic_load_n(r->cq_consumer, __ATOMIC_RELAXED);
	r->cq_tail = r->cq_head;
	return 0;

err_buf:
	munmap(r->cq_map, r->cq_map_len);
err_cq:
	munmap(r->sq_map, r->sq_map_len);
err_sq:
	free(r->tx_free);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	return ret;
}

FASTRPC_EXPORT void fastrpc_ring_unmap(struct fastrpc_ring *r)
{
	if (r->buf)
		munmap(r->buf, r->buf_map_len);
	if (r->cq_map)
		munmap(r->cq_map, r->cq_map_len);
	if (r->sq_map)
		munmap(r->sq_map, r->sq_map_len);
	free(r->tx_free);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* Make the entries taken since the last call visible; how many. */
static uint32_t frpc_ring_publish_sq(struct fastrpc_ring *r)
{
	uint32_t n = r->sq_tail - r->sq_pub;

	if (n) {
		/* release: the entries before the index that names them */
		__atomic_store_n(r->sq_producer, r->sq_tail, __ATOMIC_RELEASE);
		r->sq_pub = r->sq_tail;
	}
	return n;
}

FASTRPC_EXPORT int fastrpc_ring_submit(struct fastrpc_ring *r)
{
	uint32_t n = frpc_ring_publish_sq(r);

	/*
	 * Full barrier between our store of @producer and our load of
	 * @flags, as the wakeup protocol requires: the kernel sets
	 * NEED_WAKEUP before it last looks at @producer, so either it sees
	 * our entries or we see the bit.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(r->sq_flags, __ATOMIC_RELAXED) &
	      FASTRPC_RING_NEED_WAKEUP))
		return (int)n;
	/* Nothing left to consume: no system call. */
	r->sq_head = __atomic_load_n(r->sq_consumer, __ATOMIC_ACQUIRE);
	if (r->sq_head == r->sq_pub)
		return (int)n;
	if (send(r->fd, NULL, 0, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return frpc_neg_errno();
	return (int)n;
}

FASTRPC_EXPORT int fastrpc_ring_submit_wait(struct fastrpc_ring *r)
{
	unsigned int ready;
	int ret;

	ready = fastrpc_ring_cq_ready(r);
	if (ready) {
		/* nothing to wait for: a wakeup only if the kernel wants one */
		ret = fastrpc_ring_submit(r);
		return ret < 0 && ret != -EAGAIN ? ret : (int)ready;
	}
	frpc_ring_publish_sq(r);
	/*
	 * Always a system call, whatever FASTRPC_RING_NEED_WAKEUP says: it
	 * is the sleep.  Its result counts entries consumed, or says why
	 * none were (EAGAIN: they wait in the SQ); what matters here is the
	 * CQ, so an error counts only when no completion came.
	 */
	ret = (int)send(r->fd, NULL, 0, MSG_WAITALL | MSG_NOSIGNAL);
	if (ret < 0)
		ret = frpc_neg_errno();
	ready = fastrpc_ring_cq_ready(r);
	if (ready || ret >= 0)
		return (int)ready;
	return ret;
}

static void frpc_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static uint64_t frpc_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Spin on the CQ producer for up to @spin_us; completions ready, or 0. */
static unsigned int frpc_ring_spin(struct fastrpc_ring *r,
				   unsigned int spin_us)
{
	uint64_t end = frpc_now_ns() + (uint64_t)spin_us * 1000;
	unsigned int n, i;

	do {
		/* the clock costs more than a pause: read it every 32 */
		for (i = 0; i < 32; i++) {
			n = fastrpc_ring_cq_ready(r);
			if (n)
				return n;
			frpc_cpu_relax();
		}
	} while (frpc_now_ns() < end);
	return 0;
}

FASTRPC_EXPORT int fastrpc_ring_wait(struct fastrpc_ring *r,
				     unsigned int spin_us, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN | POLLRDHUP };
	unsigned int n;

	n = fastrpc_ring_cq_ready(r);
	if (!n && spin_us)
		n = frpc_ring_spin(r, spin_us);
	if (n || !timeout_ms)
		return (int)n;
	/*
	 * One poll(), and what it found: never a loop in here, since a
	 * socket can stay readable with nothing in the CQ (a message left
	 * for recvmsg() that the caller has not read yet).
	 */
	if (poll(&pfd, 1, timeout_ms) < 0)
		return frpc_neg_errno();
	if (pfd.revents & POLLNVAL)
		return -EBADF;
	n = fastrpc_ring_cq_ready(r);
	/*
	 * A shut-down server socket with nothing more to come stays
	 * readable: say so, or a caller's loop would spin.
	 */
	if (!n && (pfd.revents & POLLRDHUP))
		return -ESHUTDOWN;
	return (int)n;
}

FASTRPC_EXPORT int fastrpc_ring_txbuf_get(struct fastrpc_ring *r,
					  uint32_t *off)
{
	uint32_t i;

	if (!r->tx_top)
		return -ENOBUFS;
	*off = r->tx_free[--r->tx_top];
	i = *off / r->setup.buf_size - r->setup.rx_bufs;
	r->tx_out[i / 8] |= (uint8_t)(1u << (i % 8));
	return 0;
}

FASTRPC_EXPORT int fastrpc_ring_txbuf_put(struct fastrpc_ring *r,
					  uint32_t off)
{
	uint32_t i;

	if (off < r->rx_len || off >= r->buf_len ||
	    off & (r->setup.buf_size - 1))
		return -EINVAL;
	i = off / r->setup.buf_size - r->setup.rx_bufs;
	if (!(r->tx_out[i / 8] & (1u << (i % 8))))
		return -EINVAL;		/* not handed out: put twice */
	r->tx_out[i / 8] &= (uint8_t)~(1u << (i % 8));
	r->tx_free[r->tx_top++] = off;
	return 0;
}
