// SPDX-License-Identifier: GPL-2.0-only
/*
 * Submission and completion rings (FASTRPC_RING, see the "Rings" comment
 * of linux/fastrpc.h), against the raw ABI: setsockopt, getsockopt, mmap
 * and atomics, with the small helpers below and no library ring API.
 *
 * Setup validation and the mapped layout; unary calls between every pair
 * of ring and plain sockets with payloads, metadata, status messages,
 * deadlines, cancellation and streaming; many calls through a tiny CQ;
 * the receive buffers (lending, return errors, exhaustion, messages too
 * large for them); malformed entries; the submission protocol
 * (NEED_WAKEUP, send()'s count and EAGAIN); threads scribbling over
 * every shared word while calls run, after which the kernel must still
 * work; and payloads lent to the kernel (FASTRPC_SQE_LEND): misplaced
 * flags, one FASTRPC_CQE_SENT per lent entry, replies lent from the run
 * their request came in, a lent call cancelled or closed half sent, and
 * a CQ too small for the lent entries in flight.
 */
#include <limits.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	9400
#define M_RING		31	/* answered by the tests themselves */
#define WAIT_MS		10000
#define ANY		UINT64_MAX	/* ring_wait(): any id */
#define ANY_TYPE	0		/* ring_wait(): any completion type */
#define LOCAL_CQES	4096

_Static_assert(sizeof(struct fastrpc_sqe) == 48, "fastrpc_sqe size");
_Static_assert(sizeof(struct fastrpc_cqe) == 40, "fastrpc_cqe size");

/* One socket's rings as this process sees them. */
struct ring {
	int fd;
	struct fastrpc_ring_info info;
	uint8_t *sqr, *cqr, *area;
	uint32_t *sq_prod, *sq_cons, *sq_flags;
	uint32_t *cq_prod, *cq_cons;
	struct fastrpc_sqe *sqes;
	struct fastrpc_cqe *cqes;
	uint32_t sq_n, cq_n;
	uint32_t sq_tail;	/* our SQ producer */
	uint32_t cq_head;	/* our CQ consumer */
	uint32_t bsz;		/* bytes per buffer */
	uint32_t rx_end;	/* first byte after the receive buffers */
	uint32_t area_len;	/* bytes of buffers (not rounded to a page) */
	uint32_t slot_sz;	/* user bytes per SQ position, see ring_stage() */
	bool strict;		/* send() only when NEED_WAKEUP is set */
	int err;		/* first socket error or broken CQ index seen */
	unsigned int sends;
	unsigned int ngot;	/* reaped completions not yet taken */
	struct fastrpc_cqe got[LOCAL_CQES];
};

static uint32_t ld_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void st_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int ring_setup_fd(int fd, uint32_t sq, uint32_t cq, uint32_t bsz,
			 uint32_t count, uint32_t rx)
{
	struct fastrpc_ring_setup s = {
		.sq_entries = sq, .cq_entries = cq, .buf_size = bsz,
		.buf_count = count, .rx_bufs = rx,
	};

	return setsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &s, sizeof(s)) ?
		-errno : 0;
}

/* Does queue @q of @size bytes hold @n entries of @esz bytes sensibly? */
static const char *queue_problem(const struct fastrpc_ring_offsets *q,
				 uint64_t size, uint32_t n, size_t esz)
{
	uint64_t w[3] = { q->producer, q->consumer, q->flags };
	uint64_t dend = q->desc + (uint64_t)n * esz;
	int i, j;

	if (q->desc % 8 || dend > size)
		return "entries misaligned or beyond the region";
	for (i = 0; i < 3; i++) {
		if (w[i] % 4 || w[i] + 4 > size)
			return "index word misaligned or beyond the region";
		if (w[i] + 4 > q->desc && w[i] < dend)
			return "index word inside the entries";
		for (j = 0; j < i; j++)
			if (w[i] == w[j])
				return "two index words at one offset";
	}
	return NULL;
}

/* NULL if @i is what setup @s should give, else what is wrong. */
static const char *info_problem(const struct fastrpc_ring_info *i,
				const struct fastrpc_ring_setup *s)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t area = (uint64_t)i->setup.buf_size * i->setup.buf_count;
	const char *p;

	if (i->size != sizeof(*i))
		return "size is not sizeof(struct fastrpc_ring_info)";
	if (i->reserved0)
		return "reserved0 not zero";
	if (s && memcmp(&i->setup, s, sizeof(*s)))
		return "setup differs from what was set";
	if (!i->sq_size || i->sq_size % page || !i->cq_size ||
	    i->cq_size % page)
		return "queue region sizes not whole pages";
	if (i->buf_size != (area + page - 1) / page * page)
		return "buf_size is not the area rounded up to a page";
	p = queue_problem(&i->sq, i->sq_size, i->setup.sq_entries,
			  sizeof(struct fastrpc_sqe));
	if (p)
		return p;
	return queue_problem(&i->cq, i->cq_size, i->setup.cq_entries,
			     sizeof(struct fastrpc_cqe));
}

/* Does the word at @w share a 64-byte cache line with bytes [@a, @b)? */
static bool line_shared(uint64_t w, uint64_t a, uint64_t b)
{
	return w / 64 >= a / 64 && w / 64 <= (b - 1) / 64;
}

static void ring_unmap(struct ring *r)
{
	if (r->sqr && r->sqr != MAP_FAILED)
		munmap(r->sqr, r->info.sq_size);
	if (r->cqr && r->cqr != MAP_FAILED)
		munmap(r->cqr, r->info.cq_size);
	if (r->area && r->area != MAP_FAILED)
		munmap(r->area, r->info.buf_size);
	r->sqr = r->cqr = r->area = NULL;
}

static void ring_free(struct ring *r)
{
	if (!r)
		return;
	ring_unmap(r);
	free(r);
}

/* Map the rings of @fd (already set up); 0 or -errno. */
static int ring_attach(int fd, struct ring **out)
{
	struct ring *r = calloc(1, sizeof(*r));
	socklen_t len = sizeof(r->info);
	int ret;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->fd = fd;
	if (getsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &r->info, &len)) {
		ret = -errno;
		goto fail;
	}
	if (len != sizeof(r->info) || info_problem(&r->info, NULL)) {
		ret = -EPROTO;
		goto fail;
	}
	r->sqr = mmap(NULL, r->info.sq_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, FASTRPC_RING_OFF_SQ);
	r->cqr = mmap(NULL, r->info.cq_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED, fd, FASTRPC_RING_OFF_CQ);
	r->area = mmap(NULL, r->info.buf_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, (off_t)FASTRPC_RING_OFF_BUF);
	if (r->sqr == MAP_FAILED || r->cqr == MAP_FAILED ||
	    r->area == MAP_FAILED) {
		ret = -errno;
		goto fail;
	}
	r->sq_prod = (uint32_t *)(r->sqr + r->info.sq.producer);
	r->sq_cons = (uint32_t *)(r->sqr + r->info.sq.consumer);
	r->sq_flags = (uint32_t *)(r->sqr + r->info.sq.flags);
	r->sqes = (struct fastrpc_sqe *)(r->sqr + r->info.sq.desc);
	r->cq_prod = (uint32_t *)(r->cqr + r->info.cq.producer);
	r->cq_cons = (uint32_t *)(r->cqr + r->info.cq.consumer);
	r->cqes = (struct fastrpc_cqe *)(r->cqr + r->info.cq.desc);
	r->sq_n = r->info.setup.sq_entries;
	r->cq_n = r->info.setup.cq_entries;
	r->bsz = r->info.setup.buf_size;
	r->rx_end = r->info.setup.rx_bufs * r->bsz;
	r->area_len = r->info.setup.buf_count * r->bsz;
	r->slot_sz = (r->area_len - r->rx_end) / r->sq_n / 8 * 8;
	r->sq_tail = ld_acq(r->sq_prod);
	r->cq_head = ld_acq(r->cq_cons);
	*out = r;
	return 0;
fail:
	ring_free(r);
	return ret;
}

static int ring_new(int fd, uint32_t sq, uint32_t cq, uint32_t bsz,
		    uint32_t count, uint32_t rx, struct ring **out)
{
	int ret = ring_setup_fd(fd, sq, cq, bsz, count, rx);

	*out = NULL;
	return ret ? ret : ring_attach(fd, out);
}

/* send(fd, NULL, 0, MSG_DONTWAIT): entries consumed, or -errno. */
static int ring_enter(struct ring *r)
{
	ssize_t n = send(r->fd, NULL, 0, MSG_DONTWAIT);

	r->sends++;
	return n < 0 ? -errno : (int)n;
}

/* Tell the kernel about new entries (strict: only if it asks). */
static int ring_kick(struct ring *r)
{
	int n;

	if (r->strict) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (!(ld_acq(r->sq_flags) & FASTRPC_RING_NEED_WAKEUP))
			return 0;
	}
	n = ring_enter(r);
	if (n < 0 && n != -EAGAIN && !r->err)
		r->err = n;
	return n;
}

static uint32_t sq_pending(struct ring *r)
{
	return r->sq_tail - ld_acq(r->sq_cons);
}

/* Queue one entry without telling the kernel; -EBUSY if the SQ is full. */
static int sq_put(struct ring *r, const struct fastrpc_sqe *e)
{
	if (sq_pending(r) >= r->sq_n)
		return -EBUSY;
	memcpy(&r->sqes[r->sq_tail & (r->sq_n - 1)], e, sizeof(*e));
	st_rel(r->sq_prod, ++r->sq_tail);
	return 0;
}

/* Copy new completions into r->got; how many, or -errno. */
static int cq_reap(struct ring *r)
{
	uint32_t prod = ld_acq(r->cq_prod);
	int n = 0;

	if (prod - r->cq_head > r->cq_n) {
		if (!r->err)
			r->err = -EOVERFLOW;
		return -EOVERFLOW;
	}
	while (r->cq_head != prod) {
		if (r->ngot == LOCAL_CQES) {
			r->err = -ENOSPC;
			break;
		}
		r->got[r->ngot++] = r->cqes[r->cq_head & (r->cq_n - 1)];
		r->cq_head++;
		n++;
	}
	if (n)
		st_rel(r->cq_cons, r->cq_head);
	return n;
}

/*
 * One step of progress: submit what is queued, reap, and if nothing came
 * wait up to @ms for the socket.  Completions reaped, or -errno.
 */
static int ring_pump(struct ring *r, int ms)
{
	struct pollfd p = { .fd = r->fd, .events = POLLIN };
	int n;

	if (sq_pending(r)) {
		n = ring_kick(r);
		if (n < 0 && n != -EAGAIN)
			return n;
	}
	n = cq_reap(r);
	if (n || !ms)
		return n;
	if (sq_pending(r) && ms > 5)
		ms = 5;		/* entries wait: try again soon */
	if (poll(&p, 1, ms) < 0)
		return errno == EINTR ? 0 : -errno;
	n = cq_reap(r);
	if (!n && (p.revents & POLLIN))
		usleep(1000);	/* a message for recvmsg(): do not spin */
	return n;
}

static bool cqe_match(const struct fastrpc_cqe *c, int type, uint64_t id)
{
	return (type == ANY_TYPE || c->type == type) &&
	       (id == ANY || c->id == id);
}

/* Take the first completion of @type for @id within @ms; 0 or -errno. */
static int ring_wait(struct ring *r, int type, uint64_t id, int ms,
		     struct fastrpc_cqe *out)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	unsigned int i;
	int ret;

	for (;;) {
		for (i = 0; i < r->ngot; i++) {
			if (!cqe_match(&r->got[i], type, id))
				continue;
			*out = r->got[i];
			memmove(&r->got[i], &r->got[i + 1],
				(r->ngot - i - 1) * sizeof(r->got[0]));
			r->ngot--;
			return 0;
		}
		if (now_ms() >= end)
			return -ETIMEDOUT;
		ret = ring_pump(r, (int)(end - now_ms()));
		if (ret < 0)
			return ret;
	}
}

/* Pump for @ms; the number of completions reaped and not taken. */
static unsigned int ring_idle(struct ring *r, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end)
		if (ring_pump(r, (int)(end - now_ms())) < 0)
			break;
	return r->ngot;
}

/* Wait until the kernel consumed everything queued; 0 or -errno. */
static int ring_flush(struct ring *r, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	int ret;

	while (sq_pending(r)) {
		if (now_ms() >= end)
			return -ETIMEDOUT;
		ret = ring_pump(r, 5);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * The user-owned bytes for the next SQ position: the entry that used
 * this position before was consumed (the SQ had room), so the kernel has
 * copied its payload and the bytes are free again.
 */
static uint32_t ring_stage(struct ring *r, const void *a, size_t alen,
			   const void *b, size_t blen)
{
	uint32_t off = r->rx_end + (r->sq_tail & (r->sq_n - 1)) * r->slot_sz;

	if (alen)
		memcpy(r->area + off, a, alen);
	if (blen)
		memcpy(r->area + off + alen, b, blen);
	return off;
}

/*
 * Queue @e (with @hdr then @data staged in the user area and @e->addr
 * set, when there are any bytes) as soon as the SQ has room, and kick.
 */
static int ring_submit(struct ring *r, struct fastrpc_sqe *e,
		       const void *hdr, size_t hlen, const void *data,
		       size_t dlen)
{
	uint64_t end = now_ms() + WAIT_MS;
	int ret;

	while (sq_pending(r) >= r->sq_n) {
		if (now_ms() >= end)
			return -ETIMEDOUT;
		ret = ring_pump(r, 10);
		if (ret < 0)
			return ret;
	}
	if (hlen + dlen) {
		if (hlen + dlen > r->slot_sz)
			return -E2BIG;
		e->addr = ring_stage(r, hdr, hlen, data, dlen);
	}
	ret = sq_put(r, e);
	if (ret)
		return ret;
	ret = ring_kick(r);
	return ret < 0 && ret != -EAGAIN ? ret : 0;
}

static int ring_call(struct ring *r, uint64_t tag, uint32_t method,
		     uint32_t flags, uint64_t timeout_ns, const void *meta,
		     size_t mlen, const void *data, size_t len)
{
	struct fastrpc_sqe e = {
		.op = FASTRPC_OP_CALL, .flags = (uint8_t)flags,
		.meta_len = (uint16_t)mlen, .method = method, .id = tag,
		.len = (uint32_t)len, .timeout_ns = timeout_ns,
	};

	return ring_submit(r, &e, meta, mlen, data, len);
}

static int ring_op(struct ring *r, uint8_t op, uint8_t flags, uint64_t id,
		   uint32_t method, const void *data, size_t len)
{
	struct fastrpc_sqe e = {
		.op = op, .flags = flags, .method = method, .id = id,
		.len = (uint32_t)len,
	};

	return ring_submit(r, &e, NULL, 0, data, len);
}

static int ring_buf_return(struct ring *r, uint32_t buf)
{
	struct fastrpc_sqe e = { .op = FASTRPC_OP_BUF_RETURN, .buf = buf };

	return ring_submit(r, &e, NULL, 0, NULL, 0);
}

/* Give back a completion's buffer if it has one. */
static int ring_put_cqe(struct ring *r, const struct fastrpc_cqe *c)
{
	return c->buf == FASTRPC_RING_NO_BUF ? 0 : ring_buf_return(r, c->buf);
}

/*
 * Does completion @c lend a sensible run of receive buffers holding its
 * metadata, status message and payload?  NULL, or what is wrong.
 */
static const char *cqe_buf_problem(const struct ring *r,
				   const struct fastrpc_cqe *c)
{
	uint64_t bytes = (uint64_t)c->meta_len + c->smsg_len + c->len;

	if (c->flags & FASTRPC_CQE_F_RECVMSG)
		return c->buf == FASTRPC_RING_NO_BUF ? NULL :
			"RECVMSG completion with a buffer";
	if (!bytes)
		return c->buf == FASTRPC_RING_NO_BUF ? NULL :
			"a buffer lent for an empty message";
	if (c->buf == FASTRPC_RING_NO_BUF)
		return "no buffer for a message with bytes";
	if (c->buf % r->bsz)
		return "buffer not at a buffer boundary";
	if ((uint64_t)c->buf + bytes > r->rx_end)
		return "run beyond the receive buffers";
	return NULL;
}

/* The payload of completion @c. */
static const uint8_t *cqe_payload(const struct ring *r,
				  const struct fastrpc_cqe *c)
{
	return r->area + c->buf + c->meta_len + c->smsg_len;
}

static size_t make_meta(uint8_t *m, size_t cap, const char *val)
{
	size_t len = 0;

	fastrpc_meta_add(m, cap, &len, "x-ring", val, strlen(val));
	fastrpc_meta_add(m, cap, &len, "trace-id", "0123456789abcdef", 16);
	return len;
}

/* A reply lent to the kernel (FASTRPC_SQE_LEND), until its SENT. */
struct rsrv_lend {
	uint64_t id;
	uint32_t addr, len;
	bool used;
};

#define RSRV_LENDS	64

/* An echo server on a ring, on its own thread. */
struct rsrv {
	struct ring *r;
	pthread_t thr;
	bool running;
	bool lend;		/* replies with FASTRPC_SQE_LEND */
	atomic_int stop;
	atomic_uint served;
	atomic_uint errors;
	atomic_int last_err;
	atomic_uint lent;	/* replies lent */
	atomic_uint sent;	/* their FASTRPC_CQE_SENT, as expected */
	struct rsrv_lend lends[RSRV_LENDS];	/* the server thread's */
};

static void rsrv_fail(struct rsrv *s, int err)
{
	atomic_store(&s->last_err, err);
	atomic_fetch_add(&s->errors, 1);
}

/* Note a lent reply; false when the table is full. */
static bool rsrv_lend_add(struct rsrv *s, const struct fastrpc_sqe *e)
{
	unsigned int i;

	for (i = 0; i < RSRV_LENDS; i++) {
		if (s->lends[i].used)
			continue;
		s->lends[i] = (struct rsrv_lend){
			.id = e->id, .addr = e->addr, .len = e->len,
			.used = true,
		};
		atomic_fetch_add(&s->lent, 1);
		return true;
	}
	return false;
}

/*
 * The lent reply that completion @c names (for ERROR: any lent reply to
 * its handle), taken off the table; false if there is none.
 */
static bool rsrv_lend_take(struct rsrv *s, const struct fastrpc_cqe *c)
{
	unsigned int i;

	for (i = 0; i < RSRV_LENDS; i++) {
		struct rsrv_lend *l = &s->lends[i];

		if (!l->used || l->id != c->id ||
		    (c->type == FASTRPC_CQE_SENT &&
		     (l->addr != c->buf || l->len != c->len)))
			continue;
		l->used = false;
		return true;
	}
	return false;
}

/*
 * A FASTRPC_CQE_SENT: exactly one per lent reply, naming its handle,
 * offset and length, and with res 0 (no call here ends early).
 */
static void rsrv_sent(struct rsrv *s, const struct fastrpc_cqe *c)
{
	if (c->op != FASTRPC_OP_REPLY || c->res || !rsrv_lend_take(s, c)) {
		rsrv_fail(s, c->res ? c->res : -EPROTO);
		return;
	}
	atomic_fetch_add(&s->sent, 1);
}

/*
 * Answer every call: M_STATUS with status req[0] and req[1..], anything
 * else with OK and the request, both straight from the lent run, which
 * goes back with the reply (FASTRPC_SQE_RETURN_BUF; with s->lend the
 * reply is lent too, so the run goes back at its FASTRPC_CQE_SENT).
 * Messages too large for the receive buffers are read with recvmsg() and
 * answered with sendmsg().
 */
static void *rsrv_thread(void *p)
{
	struct rsrv *s = p;
	struct ring *r = s->r;
	struct fastrpc_cqe c;
	unsigned int i;
	int ret;

	while (!atomic_load(&s->stop)) {
		ret = ring_wait(r, ANY_TYPE, ANY, 50, &c);
		if (ret == -ETIMEDOUT)
			continue;
		if (ret < 0) {
			rsrv_fail(s, ret);
			usleep(10000);
			continue;
		}
		if (c.type == FASTRPC_CQE_SENT) {
			rsrv_sent(s, &c);
			continue;
		}
		if (c.type != FASTRPC_CQE_INCOMING) {
			/* a failed reply: it sends nothing, so no SENT */
			if (c.type == FASTRPC_CQE_ERROR &&
			    c.op == FASTRPC_OP_REPLY)
				rsrv_lend_take(s, &c);
			rsrv_fail(s, c.type == FASTRPC_CQE_ERROR ? c.res :
				  -EPROTO);
			continue;
		}
		if (c.flags & (FASTRPC_CQE_F_CANCELLED | FASTRPC_CQE_F_CONT)) {
			ring_put_cqe(r, &c);
			continue;
		}
		if (c.flags & FASTRPC_CQE_F_RECVMSG) {
			struct fastrpc_incoming_info ii = { 0 };
			size_t cap = FASTRPC_MAX_MSG;
			uint8_t *big = malloc(cap);
			ssize_t n;

			if (!big) {
				rsrv_fail(s, -ENOMEM);
				continue;
			}
			n = fastrpc_recv_call_ex(r->fd, &ii, big, cap, 0);
			if (n < 0 || ii.handle != c.id)
				rsrv_fail(s, n < 0 ? (int)n : -EPROTO);
			else if (fastrpc_send_reply(r->fd, ii.handle,
						    FASTRPC_OK, big,
						    (size_t)n, 0) < 0)
				rsrv_fail(s, -EIO);
			free(big);
			atomic_fetch_add(&s->served, 1);
			continue;
		}
		if (cqe_buf_problem(r, &c)) {
			rsrv_fail(s, -EPROTO);
			continue;
		}
		{
			const uint8_t *pl = cqe_payload(r, &c);
			bool st = c.method == M_STATUS && c.len;
			struct fastrpc_sqe e = {
				.op = FASTRPC_OP_REPLY,
				.id = c.id,
				.method = st ? pl[0] : FASTRPC_OK,
				.addr = (uint32_t)(pl - r->area) + st,
				.len = c.len - st,
			};

			if (c.buf != FASTRPC_RING_NO_BUF) {
				e.flags = FASTRPC_SQE_RETURN_BUF;
				e.buf = c.buf;
			} else {
				e.addr = 0;
			}
			/* only a reply with bytes may be lent */
			if (s->lend && e.len) {
				e.flags |= FASTRPC_SQE_LEND;
				if (!rsrv_lend_add(s, &e))
					rsrv_fail(s, -ENOSPC);
			}
			ret = ring_submit(r, &e, NULL, 0, NULL, 0);
			if (ret)
				rsrv_fail(s, ret);
		}
		atomic_fetch_add(&s->served, 1);
	}
	/* Failed replies would show as errors here, late SENTs as sent. */
	for (i = 0; i < r->ngot; i++) {
		if (r->got[i].type == FASTRPC_CQE_ERROR)
			rsrv_fail(s, r->got[i].res);
		else if (r->got[i].type == FASTRPC_CQE_SENT)
			rsrv_sent(s, &r->got[i]);
	}
	return NULL;
}

static int rsrv_start_opt(struct rsrv *s, struct ring *r, bool lend)
{
	memset(s, 0, sizeof(*s));
	s->r = r;
	s->lend = lend;
	if (pthread_create(&s->thr, NULL, rsrv_thread, s))
		return -EAGAIN;
	s->running = true;
	return 0;
}

static int rsrv_start(struct rsrv *s, struct ring *r)
{
	return rsrv_start_opt(s, r, false);
}

static void rsrv_stop(struct rsrv *s)
{
	if (!s->running)
		return;
	atomic_store(&s->stop, 1);
	pthread_join(s->thr, NULL);
	s->running = false;
}

FIXTURE(rg) {
	int sfd;
	int cfd;
	uint16_t port;
	struct ring *cr;	/* rings of cfd, if set up */
	struct ring *sr;	/* rings of sfd, if set up */
	struct rsrv srv;
};

FIXTURE_SETUP(rg)
{
	int ret;

	self->cr = self->sr = NULL;
	memset(&self->srv, 0, sizeof(self->srv));
	ret = pair_open(BASE_PORT, _metadata->name, 10000, &self->sfd,
			&self->cfd, &self->port);
	ASSERT_EQ(0, ret) TH_LOG("server and client: %s",
				 fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(rg)
{
	rsrv_stop(&self->srv);
	if (self->cr)
		EXPECT_EQ(0, self->cr->err) TH_LOG("client ring: %s",
						   strerror(-self->cr->err));
	if (self->sr)
		EXPECT_EQ(0, self->sr->err) TH_LOG("server ring: %s",
						   strerror(-self->sr->err));
	ring_free(self->cr);
	ring_free(self->sr);
	pair_close(self->sfd, self->cfd);
}

/* ---- setup ----------------------------------------------------------- */

/*
 * The fixture's client replaced by a client of a fresh plain echo server
 * @es, with rings of the sizes given (ring_new()).
 */
static struct ring *echo_ring_client(struct __test_metadata *_metadata,
				     FIXTURE_DATA(rg) *self,
				     struct echo_srv *es, uint32_t sq,
				     uint32_t cq, uint32_t bsz, uint32_t count,
				     uint32_t rx)
{
	int fd;

	ASSERT_EQ(0, echo_srv_start(es, AF_INET,
				    test_port(BASE_PORT + 100, _metadata->name),
				    2));
	fd = fastrpc_client_open("127.0.0.1", es->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	close(self->cfd);
	self->cfd = fd;
	ASSERT_EQ(0, ring_new(fd, sq, cq, bsz, count, rx, &self->cr));
	return self->cr;
}

TEST_F(rg, feature_bit)
{
	struct fastrpc_features f;

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	EXPECT_TRUE(f.features & FASTRPC_FEAT_RING)
		TH_LOG("features %#llx", (unsigned long long)f.features);
}

static int ring_info_errno(int fd)
{
	struct fastrpc_ring_info i;
	socklen_t len = sizeof(i);

	return getsockopt(fd, SOL_FASTRPC, FASTRPC_RING, &i, &len) ? errno : 0;
}

TEST_F(rg, setup_validation)
{
	const struct fastrpc_ring_setup good = {
		.sq_entries = 64, .cq_entries = 64, .buf_size = 1024,
		.buf_count = 16, .rx_bufs = 8,
	};
	const struct {
		const char *what;
		struct fastrpc_ring_setup s;
	} bad[] = {
		{ "sq 0", { 0, 64, 1024, 16, 8, 0, 0 } },
		{ "sq 3", { 3, 64, 1024, 16, 8, 0, 0 } },
		{ "sq 96", { 96, 64, 1024, 16, 8, 0, 0 } },
		{ "sq 2*max", { 2 * FASTRPC_RING_MAX_ENTRIES, 64, 1024, 16, 8,
				0, 0 } },
		{ "sq 2^31", { 1U << 31, 64, 1024, 16, 8, 0, 0 } },
		{ "sq ~0", { ~0U, 64, 1024, 16, 8, 0, 0 } },
		{ "cq 0", { 64, 0, 1024, 16, 8, 0, 0 } },
		{ "cq 5", { 64, 5, 1024, 16, 8, 0, 0 } },
		{ "cq 2*max", { 64, 2 * FASTRPC_RING_MAX_ENTRIES, 1024, 16, 8,
				0, 0 } },
		{ "cq 2^31", { 64, 1U << 31, 1024, 16, 8, 0, 0 } },
		{ "buf_size 0", { 64, 64, 0, 16, 8, 0, 0 } },
		{ "buf_size 32", { 64, 64, FASTRPC_RING_MIN_BUF / 2, 16, 8, 0,
				   0 } },
		{ "buf_size 100", { 64, 64, 100, 16, 8, 0, 0 } },
		{ "buf_size 3000", { 64, 64, 3000, 16, 8, 0, 0 } },
		{ "buf_size 2*max", { 64, 64, 2 * FASTRPC_RING_MAX_BUF, 16, 8,
				      0, 0 } },
		{ "buf_size 2^31", { 64, 64, 1U << 31, 16, 8, 0, 0 } },
		{ "buf_count 0", { 64, 64, 1024, 0, 0, 0, 0 } },
		{ "buf_count 0, rx 1", { 64, 64, 1024, 0, 1, 0, 0 } },
		{ "area max + 1 buffer", { 64, 64, FASTRPC_RING_MAX_BUF,
					   FASTRPC_RING_MAX_AREA /
					   FASTRPC_RING_MAX_BUF + 1, 1, 0, 0 } },
		{ "area 2^32 (0 in 32 bits)", { 64, 64, FASTRPC_RING_MAX_BUF,
						1024, 1, 0, 0 } },
		{ "area 2^32 + 64 KiB", { 64, 64, 65536, 65537, 1, 0, 0 } },
		{ "buf_count ~0", { 64, 64, 64, ~0U, 1, 0, 0 } },
		{ "rx_bufs 0", { 64, 64, 1024, 16, 0, 0, 0 } },
		{ "rx_bufs > buf_count", { 64, 64, 1024, 16, 17, 0, 0 } },
		{ "rx_bufs ~0", { 64, 64, 1024, 16, ~0U, 0, 0 } },
		{ "flags 1", { 64, 64, 1024, 16, 8, 1, 0 } },
		{ "flags 2^31", { 64, 64, 1024, 16, 8, 1U << 31, 0 } },
		{ "reserved 1", { 64, 64, 1024, 16, 8, 0, 1 } },
		{ "reserved 2^63", { 64, 64, 1024, 16, 8, 0, 1ULL << 63 } },
	};
	const socklen_t lens[] = { 0, 4, sizeof(good) - 8, sizeof(good) - 1,
				   sizeof(good) + 1, sizeof(good) + 8 };
	uint8_t big[sizeof(good) + 8];
	unsigned int i;

	/* Before setup: no rings, and no mappings. */
	EXPECT_EQ(ENXIO, ring_info_errno(self->cfd));
	EXPECT_EQ(ENXIO, ring_info_errno(self->sfd));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED, self->cfd, FASTRPC_RING_OFF_SQ));

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING,
				   &bad[i].s, sizeof(bad[i].s));

		EXPECT_EQ(-1, r) TH_LOG("%s: accepted", bad[i].what);
		EXPECT_EQ(EINVAL, r ? errno : 0)
			TH_LOG("%s: %s", bad[i].what, strerror(errno));
		/* a refused setup leaves no rings behind */
		EXPECT_EQ(ENXIO, ring_info_errno(self->cfd))
			TH_LOG("after %s", bad[i].what);
	}
	memset(big, 0, sizeof(big));
	memcpy(big, &good, sizeof(good));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		EXPECT_EQ(-1, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING,
					 big, lens[i]))
			TH_LOG("optlen %u accepted", lens[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("optlen %u", lens[i]);
		EXPECT_EQ(ENXIO, ring_info_errno(self->cfd));
	}

	/* The good one, once. */
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &good,
				sizeof(good))) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(0, ring_info_errno(self->cfd));
	EXPECT_EQ(-1, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &good,
				 sizeof(good)));
	EXPECT_EQ(EBUSY, errno);
	{
		struct fastrpc_ring_setup other = good;

		other.sq_entries = 8;
		EXPECT_EQ(-1, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING,
					 &other, sizeof(other)));
		EXPECT_EQ(EBUSY, errno);
	}
	/* Still the first setup. */
	ASSERT_EQ(0, ring_attach(self->cfd, &self->cr));
	EXPECT_EQ(NULL, info_problem(&self->cr->info, &good));
	/* And a server socket takes rings too. */
	EXPECT_EQ(0, ring_setup_fd(self->sfd, 8, 8, 64, 4, 2));
	EXPECT_EQ(-EBUSY, ring_setup_fd(self->sfd, 8, 8, 64, 4, 2));
}

/* The limits themselves are accepted. */
TEST_F(rg, setup_limits)
{
	const uint32_t max = FASTRPC_RING_MAX_ENTRIES;
	struct ring *r;
	int fd;

	/* the smallest rings */
	ASSERT_EQ(0, ring_new(self->cfd, 1, 1, FASTRPC_RING_MIN_BUF, 1, 1,
			      &self->cr));
	/* the largest queues, and one buffer of the largest size */
	fd = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ring_new(fd, max, max, FASTRPC_RING_MAX_BUF, 1, 1, &r));
	if (r) {
		EXPECT_EQ((uint64_t)FASTRPC_RING_MAX_BUF, r->info.buf_size);
		ring_free(r);
	}
	close(fd);
}

TEST_F(rg, info_and_mmap)
{
	const struct fastrpc_ring_setup s = {
		.sq_entries = 32, .cq_entries = 128, .buf_size = 256,
		.buf_count = 40, .rx_bufs = 40,
	};
	const off_t bad_off[] = { 4096, 0x40000000, 0x80001000,
				  (off_t)0x100001000ULL, (off_t)0x180000000ULL,
				  (off_t)0x200000000ULL, (off_t)0xfffff000ULL };
	const uint64_t size_cut = offsetof(struct fastrpc_ring_info, sq_size);
	const struct fastrpc_ring_info *i;
	struct fastrpc_ring_info i2;
	uint64_t sq_end, cq_end;
	struct ring *r;
	socklen_t len;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned int k;
	void *m;

	ASSERT_EQ(0, setsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &s,
				sizeof(s)));
	ASSERT_EQ(0, ring_attach(self->cfd, &self->cr));
	r = self->cr;
	i = &r->info;
	sq_end = i->sq.desc + s.sq_entries * sizeof(struct fastrpc_sqe);
	cq_end = i->cq.desc + s.cq_entries * sizeof(struct fastrpc_cqe);
	EXPECT_EQ(NULL, info_problem(&r->info, &s));
	TH_LOG("sq %#llx/%#llx/%#llx/%#llx of %llu, cq %#llx/%#llx/%#llx/%#llx of %llu, area %llu",
	       (unsigned long long)r->info.sq.producer,
	       (unsigned long long)r->info.sq.consumer,
	       (unsigned long long)r->info.sq.flags,
	       (unsigned long long)r->info.sq.desc,
	       (unsigned long long)r->info.sq_size,
	       (unsigned long long)r->info.cq.producer,
	       (unsigned long long)r->info.cq.consumer,
	       (unsigned long long)r->info.cq.flags,
	       (unsigned long long)r->info.cq.desc,
	       (unsigned long long)r->info.cq_size,
	       (unsigned long long)r->info.buf_size);
	/* 40 * 256 bytes: rounded up to a page */
	EXPECT_EQ((10240 + page - 1) / page * page, r->info.buf_size);

	/*
	 * Words with different writers lie on different cache lines, or
	 * each write would take the line from the other side: in the SQ
	 * the producer (and the entries) are the process's, the consumer
	 * and the flags the kernel's, which may share; in the CQ the other
	 * way round.  rings.rst gives each index word lines of its own.
	 */
	EXPECT_FALSE(line_shared(i->sq.producer, i->sq.consumer,
				 i->sq.consumer + 4));
	EXPECT_FALSE(line_shared(i->sq.producer, i->sq.flags, i->sq.flags + 4));
	EXPECT_FALSE(line_shared(i->sq.consumer, i->sq.desc, sq_end));
	EXPECT_FALSE(line_shared(i->sq.flags, i->sq.desc, sq_end));
	EXPECT_FALSE(line_shared(i->cq.consumer, i->cq.producer,
				 i->cq.producer + 4));
	EXPECT_FALSE(line_shared(i->cq.consumer, i->cq.desc, cq_end));

	/* Fresh rings: empty queues, and the kernel asks to be woken. */
	EXPECT_EQ(ld_acq(r->sq_prod), ld_acq(r->sq_cons));
	EXPECT_EQ(ld_acq(r->cq_prod), ld_acq(r->cq_cons));
	EXPECT_TRUE(ld_acq(r->sq_flags) & FASTRPC_RING_NEED_WAKEUP)
		TH_LOG("SQ flags %#x on an idle socket", ld_acq(r->sq_flags));

	/* A shorter buffer, as long as up to @cq, is filled that far. */
	memset(&i2, 0xa5, sizeof(i2));
	len = (socklen_t)size_cut;
	ASSERT_EQ(0, getsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &i2,
				&len)) TH_LOG("%s", strerror(errno));
	EXPECT_EQ(size_cut, len);
	EXPECT_EQ(0, memcmp(&i2, &r->info, size_cut));
	EXPECT_EQ(0xa5a5a5a5a5a5a5a5ULL, i2.sq_size);
	len = offsetof(struct fastrpc_ring_info, cq);
	EXPECT_EQ(-1, getsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &i2,
				 &len));
	EXPECT_EQ(EINVAL, errno);
	len = 4;
	EXPECT_EQ(-1, getsockopt(self->cfd, SOL_FASTRPC, FASTRPC_RING, &i2,
				 &len));
	EXPECT_EQ(EINVAL, errno);

	/* Too large a mapping, or an offset that names no region. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r->info.sq_size + page,
				   PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->cfd, FASTRPC_RING_OFF_SQ));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r->info.cq_size + page,
				   PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->cfd, FASTRPC_RING_OFF_CQ));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, r->info.buf_size + page,
				   PROT_READ | PROT_WRITE, MAP_SHARED,
				   self->cfd, (off_t)FASTRPC_RING_OFF_BUF));
	for (k = 0; k < sizeof(bad_off) / sizeof(bad_off[0]); k++) {
		m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
			 self->cfd, bad_off[k]);
		EXPECT_EQ(MAP_FAILED, m)
			TH_LOG("offset %#llx mapped",
			       (unsigned long long)bad_off[k]);
		if (m != MAP_FAILED)
			munmap(m, page);
	}

	/* A private or executable mapping would not share the kernel's view. */
	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE, self->cfd,
		 FASTRPC_RING_OFF_CQ);
	EXPECT_EQ(MAP_FAILED, m);
	EXPECT_EQ(EINVAL, errno);
	if (m != MAP_FAILED)
		munmap(m, page);
	m = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, self->cfd,
		 FASTRPC_RING_OFF_SQ);
	EXPECT_EQ(MAP_FAILED, m);
	if (m != MAP_FAILED)
		munmap(m, page);
	/* nor made executable later */
	m = mmap(NULL, page, PROT_READ, MAP_SHARED, self->cfd,
		 FASTRPC_RING_OFF_SQ);
	ASSERT_NE(MAP_FAILED, m);
	EXPECT_EQ(-1, mprotect(m, page, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(m, page);

	/* A second mapping shows the same pages. */
	m = mmap(NULL, r->info.buf_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->cfd, (off_t)FASTRPC_RING_OFF_BUF);
	ASSERT_NE(MAP_FAILED, m);
	r->area[r->area_len - 1] = 0x5a;
	EXPECT_EQ(0x5a, ((uint8_t *)m)[r->area_len - 1]);
	munmap(m, r->info.buf_size);

	/* The server's rings are its own. */
	EXPECT_EQ(ENXIO, ring_info_errno(self->sfd));
}

/* Rings set up before connect() serve the connection made after. */
TEST_F(rg, setup_before_connect)
{
	struct sockaddr_fastrpc a;
	struct fastrpc_incoming_info ii;
	struct fastrpc_cqe c;
	uint8_t buf[64];
	int fd;

	fd = fastrpc_socket(SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(ENXIO, ring_info_errno(fd));
	ASSERT_EQ(0, ring_new(fd, 8, 8, 256, 8, 4, &self->cr));
	ASSERT_EQ(0, fastrpc_addr(&a, "127.0.0.1", self->port));
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&a, sizeof(a)))
		TH_LOG("connect: %s", strerror(errno));
	ASSERT_EQ(0, ring_call(self->cr, 42, M_RING, 0, 0, NULL, 0, "hi", 2));
	ASSERT_EQ(2, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	ASSERT_EQ(3, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					"yes", 3, 0));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 42, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(3, c.len);
	ASSERT_EQ(NULL, cqe_buf_problem(self->cr, &c));
	EXPECT_EQ(0, memcmp(cqe_payload(self->cr, &c), "yes", 3));
	ring_free(self->cr);
	self->cr = NULL;
	close(fd);
}

/* ---- unary calls ------------------------------------------------------ */

TEST_F(rg, ring_client_plain_server)
{
	static const uint32_t req_len[] = { 0, 1, 1000, 1500, 300, 77 };
	static const uint32_t resp_len[] = { 0, 2, 3000, 1024, 4096, 0 };
	uint8_t req[1600], resp[4096], want[4096], meta[128], *aux;
	struct fastrpc_incoming_info ii;
	struct fastrpc_cqe c;
	struct ring *r;
	unsigned int i;
	ssize_t n;

	aux = malloc(FASTRPC_AUX_SPACE);
	ASSERT_NE(NULL, aux);
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	r = self->cr;
	for (i = 0; i < sizeof(req_len) / sizeof(req_len[0]); i++) {
		const uint64_t tag = 0x5100 + i;
		struct fastrpc_reply_opts ro = { 0 };
		char smsg[64];
		size_t ml = i % 2 ? make_meta(meta, sizeof(meta), "req") : 0;
		size_t rml = i % 3 == 1 ?
			make_meta(meta + 64, 64, "trail") : 0;
		size_t sl = i % 2 ? 0 :
			(size_t)snprintf(smsg, sizeof(smsg), "status %u", i);
		uint32_t status = i * 3 % (FASTRPC_STATUS_MAX + 1);

		fill_pattern(req, req_len[i], tag);
		ASSERT_EQ(0, ring_call(r, tag, M_RING + i, 0, 0, meta, ml, req,
				       req_len[i]));
		ii.aux = aux;
		ii.aux_len = FASTRPC_AUX_SPACE;
		n = fastrpc_recv_call_ex(self->sfd, &ii, resp, sizeof(resp), 0);
		ASSERT_EQ((ssize_t)req_len[i], n) TH_LOG("call %u", i);
		EXPECT_EQ(M_RING + i, ii.method);
		EXPECT_EQ(0, ii.flags);
		EXPECT_EQ(1, ii.eor);
		EXPECT_EQ(0, ii.timeout_ns);
		EXPECT_EQ(0, memcmp(req, resp, req_len[i]));
		EXPECT_EQ(ml, ii.metadata_len);
		if (ml && ii.metadata_len == ml)
			EXPECT_EQ(0, memcmp(meta, ii.metadata, ml));

		fill_pattern(want, resp_len[i], tag + 1);
		ro.trailers = rml ? meta + 64 : NULL;
		ro.trailers_len = rml;
		ro.status_msg = sl ? smsg : NULL;
		ro.status_msg_len = sl;
		ASSERT_EQ((ssize_t)resp_len[i],
			  fastrpc_send_reply_opts(self->sfd, ii.handle, status,
						  &ro, want, resp_len[i], 0));

		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, tag, WAIT_MS, &c));
		EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
		EXPECT_EQ((int32_t)status, c.res);
		EXPECT_EQ(resp_len[i], c.len);
		EXPECT_EQ(rml, c.meta_len);
		EXPECT_EQ(sl, c.smsg_len);
		EXPECT_EQ(0, c.op);
		EXPECT_EQ(0, c.method);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c)) TH_LOG("call %u", i);
		if (rml)
			EXPECT_EQ(0, memcmp(r->area + c.buf, meta + 64, rml));
		if (sl)
			EXPECT_EQ(0, memcmp(r->area + c.buf + c.meta_len, smsg,
					    sl));
		EXPECT_EQ(0, memcmp(cqe_payload(r, &c), want, resp_len[i]))
			TH_LOG("reply %u differs", i);
		ASSERT_EQ(0, ring_put_cqe(r, &c));
	}
	/* Everything came through the CQ: nothing for recvmsg(). */
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, resp,
					       sizeof(resp), MSG_DONTWAIT));
	EXPECT_EQ(0, ring_idle(r, 200));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 0));
	free(aux);
}

/*
 * A ring call over a quantum is written from the buffer area as it is, by
 * the thread that runs the SQ, while the connection has nothing else to
 * send (kmod/txbulk.c; tx_bulk_bytes); the area is overwritten as soon as
 * the completion is in, and the server has the bytes it was sent.
 */
TEST_F(rg, ring_call_bulk)
{
	const uint32_t len = 90000;
	long long b0 = proc_counter("tx_bulk_bytes");
	uint8_t *req = malloc(len), *got = malloc(len + 1);
	struct fastrpc_incoming_info ii = { 0 };
	struct fastrpc_cqe c;
	struct ring *r;
	ssize_t n;

	ASSERT_NE(NULL, req);
	ASSERT_NE(NULL, got);
	ASSERT_LE(0, b0);
	ASSERT_EQ(0, ring_new(self->cfd, 4, 4, 65536, 8, 2, &self->cr));
	r = self->cr;
	ASSERT_LE(len, r->slot_sz);
	fill_pattern(req, len, 0x7a);
	ASSERT_EQ(0, ring_call(r, 0x7a, M_RING, 0, 0, NULL, 0, req, len));
	n = fastrpc_recv_call_ex(self->sfd, &ii, got, len + 1, 0);
	ASSERT_EQ((ssize_t)len, n);
	EXPECT_EQ(1, ii.eor);
	EXPECT_TRUE(check_pattern(got, len, 0x7a));
	EXPECT_LT(b0, proc_counter("tx_bulk_bytes"));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					"ok", 2, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x7a, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(2, c.len);
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	free(req);
	free(got);
}

TEST_F(rg, plain_client_ring_server)
{
	struct fastrpc_call_opts o = { .timeout_ns = 10000000000ull };
	struct fastrpc_result_info ri;
	uint8_t req[1500], resp[2048], want[800], meta[128], trail[128];
	size_t ml = make_meta(meta, sizeof(meta), "plain");
	size_t tl = make_meta(trail, sizeof(trail), "ring-trailer");
	const char smsg[] = "partly lost";
	uint8_t hdr[256], *aux;
	struct fastrpc_cqe c;
	struct fastrpc_sqe e;
	struct ring *r;
	ssize_t n;

	aux = malloc(FASTRPC_AUX_SPACE);
	ASSERT_NE(NULL, aux);
	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	r = self->sr;

	/* 1: metadata and a deadline in; trailers, a status message out. */
	o.metadata = meta;
	o.metadata_len = ml;
	fill_pattern(req, sizeof(req), 1);
	ASSERT_EQ((ssize_t)sizeof(req),
		  fastrpc_send_call_opts(self->cfd, 0xa1, M_RING, &o, req,
					 sizeof(req), 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_INCOMING, ANY, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
	EXPECT_EQ(M_RING, c.method);
	EXPECT_LT(0, c.timeout_ns);
	EXPECT_GE(10000000000ull, c.timeout_ns);
	EXPECT_EQ(sizeof(req), c.len);
	EXPECT_EQ(ml, c.meta_len);
	EXPECT_EQ(0, c.smsg_len);
	EXPECT_EQ(0, c.res);
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_EQ(0, memcmp(r->area + c.buf, meta, ml));
	EXPECT_EQ(0, memcmp(cqe_payload(r, &c), req, sizeof(req)));

	memcpy(hdr, trail, tl);
	memcpy(hdr + tl, smsg, sizeof(smsg) - 1);
	fill_pattern(want, sizeof(want), 2);
	e = (struct fastrpc_sqe){
		.op = FASTRPC_OP_REPLY, .flags = FASTRPC_SQE_RETURN_BUF,
		.meta_len = (uint16_t)tl, .method = FASTRPC_DATA_LOSS,
		.id = c.id, .len = sizeof(want), .buf = c.buf,
		.smsg_len = sizeof(smsg) - 1,
	};
	ASSERT_EQ(0, ring_submit(r, &e, hdr, tl + sizeof(smsg) - 1, want,
				 sizeof(want)));
	memset(&ri, 0, sizeof(ri));
	ri.aux = aux;
	ri.aux_len = FASTRPC_AUX_SPACE;
	n = fastrpc_recv_result_ex(self->cfd, &ri, resp, sizeof(resp), 0);
	ASSERT_EQ((ssize_t)sizeof(want), n);
	EXPECT_EQ(0xa1, ri.tag);
	EXPECT_EQ(1, ri.eor);
	EXPECT_EQ(FASTRPC_DATA_LOSS, ri.status);
	EXPECT_EQ(0, memcmp(resp, want, sizeof(want)));
	ASSERT_EQ(tl, ri.trailers_len);
	EXPECT_EQ(0, memcmp(ri.trailers, trail, tl));
	ASSERT_EQ(sizeof(smsg) - 1, ri.status_msg_len);
	EXPECT_EQ(0, memcmp(ri.status_msg, smsg, sizeof(smsg) - 1));

	/* 2: echo straight out of the lent run, which goes back with it. */
	fill_pattern(req, sizeof(req), 3);
	ASSERT_EQ((ssize_t)sizeof(req),
		  fastrpc_send_call(self->cfd, 0xa2, M_ECHO, req, sizeof(req),
				    0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_INCOMING, ANY, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_EQ(0, c.timeout_ns);
	EXPECT_EQ(0, c.meta_len);
	e = (struct fastrpc_sqe){
		.op = FASTRPC_OP_REPLY, .flags = FASTRPC_SQE_RETURN_BUF,
		.method = FASTRPC_OK, .id = c.id, .addr = c.buf,
		.len = c.len, .buf = c.buf,
	};
	ASSERT_EQ(0, ring_submit(r, &e, NULL, 0, NULL, 0));
	/* the bytes were copied when the entry was consumed */
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	memset(r->area + c.buf, 0xee, c.len);
	memset(&ri, 0, sizeof(ri));
	n = fastrpc_recv_result_ex(self->cfd, &ri, resp, sizeof(resp), 0);
	ASSERT_EQ((ssize_t)sizeof(req), n);
	EXPECT_EQ(0xa2, ri.tag);
	EXPECT_EQ(FASTRPC_OK, ri.status);
	EXPECT_EQ(0, memcmp(resp, req, sizeof(req)));

	/* 3: an empty call lends no buffer and gets an empty reply. */
	ASSERT_EQ(0, fastrpc_send_call(self->cfd, 0xa3, M_RING, NULL, 0, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_INCOMING, ANY, WAIT_MS, &c));
	EXPECT_EQ(0, c.len);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c.buf);
	ASSERT_EQ(0, ring_op(r, FASTRPC_OP_REPLY, 0, c.id,
			     FASTRPC_UNAUTHENTICATED, NULL, 0));
	n = fastrpc_recv_result_ex(self->cfd, &ri, resp, sizeof(resp), 0);
	ASSERT_EQ(0, n);
	EXPECT_EQ(0xa3, ri.tag);
	EXPECT_EQ(FASTRPC_UNAUTHENTICATED, ri.status);

	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, resp,
					     sizeof(resp), MSG_DONTWAIT));
	EXPECT_EQ(0, ring_idle(r, 200));
	free(aux);
}

/* Collect @n echo results of calls @base.. with lengths len_of(). */
static uint32_t len_of(uint64_t tag)
{
	return (uint32_t)(tag * 97 % 700);
}

static int collect_echoes(struct ring *r, uint64_t base, unsigned int n,
			  bool with_status, uint8_t *seen)
{
	struct fastrpc_cqe c;
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		uint64_t t;
		uint32_t len;
		bool st;

		ret = ring_wait(r, FASTRPC_CQE_RESULT, ANY, WAIT_MS, &c);
		if (ret)
			return ret;
		t = c.id - base;
		if (t >= n || seen[t]++)
			return -EEXIST;
		len = len_of(c.id);
		st = with_status && t % 2 && len;
		if (c.flags != FASTRPC_CQE_F_EOR || cqe_buf_problem(r, &c))
			return -EPROTO;
		if (st) {
			uint8_t first;

			fill_pattern(&first, 1, c.id);
			if (c.res != (first % 17) || c.len != len - 1)
				return -EBADMSG;
			{
				uint8_t tmp[700];

				fill_pattern(tmp, len, c.id);
				if (memcmp(cqe_payload(r, &c), tmp + 1,
					   len - 1))
					return -EBADMSG;
			}
		} else if (c.res != FASTRPC_OK || c.len != len ||
			   !check_pattern(cqe_payload(r, &c), len, c.id)) {
			return -EBADMSG;
		}
		ret = ring_put_cqe(r, &c);
		if (ret)
			return ret;
	}
	return 0;
}

static int submit_echoes(struct ring *r, uint64_t base, unsigned int n,
			 bool with_status)
{
	uint8_t req[700];
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		uint64_t tag = base + i;
		uint32_t len = len_of(tag);
		bool st = with_status && i % 2 && len;

		fill_pattern(req, len, tag);
		if (st)
			req[0] %= 17;
		ret = ring_call(r, tag, st ? M_STATUS : M_ECHO, 0, 0, NULL, 0,
				req, len);
		if (ret)
			return ret;
	}
	return 0;
}

TEST_F(rg, ring_to_ring)
{
	enum { N = 48 };
	uint8_t seen[N] = { 0 };

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	ASSERT_EQ(0, rsrv_start(&self->srv, self->sr));
	ASSERT_EQ(0, submit_echoes(self->cr, 0x7000, N, true));
	ASSERT_EQ(0, collect_echoes(self->cr, 0x7000, N, true, seen));
	EXPECT_EQ(0, ring_idle(self->cr, 200));
	rsrv_stop(&self->srv);
	EXPECT_EQ(N, atomic_load(&self->srv.served));
	EXPECT_EQ(0, atomic_load(&self->srv.errors))
		TH_LOG("server: %s", strerror(-atomic_load(&self->srv.last_err)));
}

/*
 * On a same-host pair the thread whose write completes a message delivers
 * it to the receiver's ring itself, before its system call returns: the
 * server's CQ holds the call when the client's sendmsg() is back, the
 * client's CQ the result when the server's reply is, though neither ring
 * was polled.  One thread plays both ends, so only the kernel's own work
 * (the ring's setup pass, a keepalive) can hold a lock the writer needs
 * meanwhile and send a delivery to the work item: two of the calls may
 * go that way, no more.  ring_direct counts the writers' deliveries.
 * Over TCP the ring's work item delivers them all, later, and the counter
 * stays.
 */
enum { DIRECT_N = 16, DIRECT_SLACK = 2 };

static void direct_count(struct __test_metadata *_metadata, long long d0,
			 unsigned int at_once)
{
	long long d1 = proc_counter("ring_direct");

	TH_LOG("%u of %u in the CQ when the writer's call returned; "
	       "ring_direct +%lld", at_once, DIRECT_N, d1 - d0);
	if (loop_on()) {
		EXPECT_LE(DIRECT_N - DIRECT_SLACK, at_once);
		EXPECT_LE(d0 + DIRECT_N - DIRECT_SLACK, d1);
	} else {
		EXPECT_EQ(d0, d1);
	}
}

TEST_F(rg, writer_delivers_to_server_ring)
{
	unsigned int i, at_once = 0;
	struct fastrpc_cqe c;
	struct fastrpc_sqe e;
	uint8_t req[100];
	struct ring *r;
	long long d0;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	r = self->sr;
	EXPECT_EQ(0, ring_idle(r, 50));	/* setup's own pass is over */
	d0 = proc_counter("ring_direct");
	for (i = 0; i < DIRECT_N; i++) {
		const uint64_t tag = 0xd100 + i;

		fill_pattern(req, sizeof(req), tag);
		ASSERT_EQ((ssize_t)sizeof(req),
			  fastrpc_send_call(self->cfd, tag, M_RING, req,
					    sizeof(req), 0));
		at_once += cq_reap(r) == 1;
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
				       &c));
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_EQ(sizeof(req), c.len);
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len, tag));
		e = (struct fastrpc_sqe){
			.op = FASTRPC_OP_REPLY,
			.flags = FASTRPC_SQE_RETURN_BUF,
			.method = FASTRPC_OK, .id = c.id, .buf = c.buf,
		};
		ASSERT_EQ(0, ring_submit(r, &e, NULL, 0, NULL, 0));
		ASSERT_EQ(0, fastrpc_recv_result(self->cfd, NULL, NULL, NULL,
						 0, 0));
	}
	direct_count(_metadata, d0, at_once);
}

TEST_F(rg, writer_delivers_to_client_ring)
{
	struct fastrpc_incoming_info ii;
	uint8_t req[100], resp[200];
	unsigned int i, at_once = 0;
	struct fastrpc_cqe c;
	struct ring *r;
	long long d0;

	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	r = self->cr;
	EXPECT_EQ(0, ring_idle(r, 50));
	d0 = proc_counter("ring_direct");
	for (i = 0; i < DIRECT_N; i++) {
		const uint64_t tag = 0xd200 + i;

		fill_pattern(req, sizeof(req), tag);
		ASSERT_EQ(0, ring_call(r, tag, M_RING, 0, 0, NULL, 0, req,
				       sizeof(req)));
		ASSERT_EQ((ssize_t)sizeof(req),
			  srv_recv(self->sfd, &ii, resp, sizeof(resp)));
		fill_pattern(resp, sizeof(resp), tag + 1);
		ASSERT_EQ((ssize_t)sizeof(resp),
			  fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					     resp, sizeof(resp), 0));
		at_once += cq_reap(r) == 1;
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, tag, WAIT_MS,
				       &c));
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_EQ(sizeof(resp), c.len);
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len, tag + 1));
		ASSERT_EQ(0, ring_put_cqe(r, &c));
	}
	direct_count(_metadata, d0, at_once);
}

TEST_F_TIMEOUT(rg, deadline, 60)
{
	struct fastrpc_cqe c, s;
	uint64_t t0, ms;
	uint64_t h;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 256, 16, 8, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 8, &self->cr));
	t0 = now_ms();
	ASSERT_EQ(0, ring_call(self->cr, 0xd1, M_RING, 0, 300000000ull, NULL,
			       0, "x", 1));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &s));
	h = s.id;
	EXPECT_LT(0, s.timeout_ns);
	EXPECT_GE(300000000ull, s.timeout_ns);
	EXPECT_EQ(FASTRPC_CQE_F_EOR, s.flags);
	ASSERT_EQ(0, ring_put_cqe(self->sr, &s));

	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0xd1, WAIT_MS, &c));
	ms = now_ms() - t0;
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, c.res);
	EXPECT_TRUE(c.flags & FASTRPC_CQE_F_EOR);
	EXPECT_EQ(0, c.len);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c.buf);
	EXPECT_LE(250, ms);

	/* The server is told, and why; its late reply fails. */
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, h, WAIT_MS, &s));
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_CANCELLED) TH_LOG("flags %#x", s.flags);
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_DEADLINE) TH_LOG("flags %#x", s.flags);
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_EOR);
	EXPECT_EQ(0, s.len);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, s.buf);
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, h, FASTRPC_OK,
			     "late", 4));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_ERROR, h, WAIT_MS, &s));
	EXPECT_EQ(FASTRPC_OP_REPLY, s.op);
	EXPECT_EQ(-ECANCELED, s.res);

	/* A deadline that does not pass changes nothing. */
	ASSERT_EQ(0, ring_call(self->cr, 0xd2, M_RING, 0, 20000000000ull, NULL,
			       0, "y", 1));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &s));
	EXPECT_LT(0, s.timeout_ns);
	ASSERT_EQ(0, ring_put_cqe(self->sr, &s));
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, s.id, FASTRPC_OK,
			     "in time", 7));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0xd2, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(7, c.len);
	ASSERT_EQ(NULL, cqe_buf_problem(self->cr, &c));
	EXPECT_EQ(0, memcmp(cqe_payload(self->cr, &c), "in time", 7));
	ASSERT_EQ(0, ring_put_cqe(self->cr, &c));
	EXPECT_EQ(0, ring_idle(self->cr, 100));
	EXPECT_EQ(0, ring_idle(self->sr, 100));
}

TEST_F(rg, cancel)
{
	struct fastrpc_cqe c, s;
	uint64_t h;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 256, 16, 8, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 8, &self->cr));
	ASSERT_EQ(0, ring_call(self->cr, 0xc1, M_RING, 0, 0, NULL, 0, "q", 1));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &s));
	h = s.id;
	ASSERT_EQ(0, ring_put_cqe(self->sr, &s));

	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_CANCEL, 0, 0xc1, 0, NULL, 0));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0xc1, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CANCELLED, c.res);
	EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c.buf);
	/* Cancelling again: no such call. */
	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_CANCEL, 0, 0xc1, 0, NULL, 0));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_ERROR, 0xc1, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_CANCEL, c.op);
	EXPECT_EQ(-ENOENT, c.res);

	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, h, WAIT_MS, &s));
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_CANCELLED) TH_LOG("flags %#x", s.flags);
	EXPECT_FALSE(s.flags & FASTRPC_CQE_F_DEADLINE) TH_LOG("flags %#x", s.flags);
	EXPECT_EQ(0, s.len);
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, h, FASTRPC_OK,
			     NULL, 0));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_ERROR, h, WAIT_MS, &s));
	EXPECT_EQ(-ECANCELED, s.res);

	/* Call and cancel in one submission: one CANCELLED result. */
	{
		struct fastrpc_sqe e1 = {
			.op = FASTRPC_OP_CALL, .method = M_RING + 1, .id = 0xc2,
		};
		struct fastrpc_sqe e2 = { .op = FASTRPC_OP_CANCEL, .id = 0xc2 };

		ASSERT_EQ(0, sq_put(self->cr, &e1));
		ASSERT_EQ(0, sq_put(self->cr, &e2));
		ASSERT_EQ(2, ring_enter(self->cr));
	}
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0xc2, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CANCELLED, c.res);
	EXPECT_EQ(0, ring_idle(self->cr, 200));

	/* The tag is free again; the server skips what the cancel left. */
	ASSERT_EQ(0, ring_call(self->cr, 0xc1, M_RING + 2, 0, 0, NULL, 0, "r",
			       1));
	do {
		ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY,
				       WAIT_MS, &s));
		ASSERT_EQ(0, ring_put_cqe(self->sr, &s));
	} while (s.method != M_RING + 2 ||
		 (s.flags & FASTRPC_CQE_F_CANCELLED));
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, s.id, FASTRPC_OK,
			     NULL, 0));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0xc1, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
}

TEST_F(rg, streaming)
{
	const char *in[] = { "m0", "m1-longer", "m2" };
	const char *out[] = { "r0", "r1-also-longer" };
	uint8_t trail[64];
	size_t tl = make_meta(trail, sizeof(trail), "end");
	struct fastrpc_cqe c, s;
	struct fastrpc_sqe e;
	uint64_t h = 0;
	int i;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 256, 32, 16, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 32, 16, &self->cr));

	ASSERT_EQ(0, ring_call(self->cr, 0x51, M_RING, FASTRPC_SQE_STREAM, 0,
			       NULL, 0, in[0], strlen(in[0])));
	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_SEND, 0, 0x51, 0, in[1],
			     strlen(in[1])));
	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_SEND, FASTRPC_SQE_EOR, 0x51,
			     0, in[2], strlen(in[2])));
	/* The client's side is closed. */
	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_SEND, 0, 0x51, 0, "x", 1));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_ERROR, 0x51, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_SEND, c.op);
	EXPECT_EQ(-EINVAL, c.res);

	for (i = 0; i < 3; i++) {
		uint16_t want = (i ? FASTRPC_CQE_F_CONT : 0) |
				(i == 2 ? FASTRPC_CQE_F_EOR : 0);

		ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING,
				       i ? h : ANY, WAIT_MS, &s));
		if (!i)
			h = s.id;
		EXPECT_EQ(want, s.flags) TH_LOG("message %d", i);
		EXPECT_EQ(M_RING, s.method) TH_LOG("message %d", i);
		ASSERT_EQ(strlen(in[i]), s.len);
		ASSERT_EQ(NULL, cqe_buf_problem(self->sr, &s));
		EXPECT_EQ(0, memcmp(cqe_payload(self->sr, &s), in[i], s.len))
			TH_LOG("order at %d", i);
		ASSERT_EQ(0, ring_put_cqe(self->sr, &s));
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_SEND, 0, h, 0, out[i],
				     strlen(out[i])));
	/* A server ends a call with REPLY, never with EOR. */
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_SEND, FASTRPC_SQE_EOR, h, 0,
			     "bad", 3));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_ERROR, h, WAIT_MS, &s));
	EXPECT_EQ(FASTRPC_OP_SEND, s.op);
	EXPECT_EQ(-EINVAL, s.res);
	e = (struct fastrpc_sqe){
		.op = FASTRPC_OP_REPLY, .meta_len = (uint16_t)tl,
		.method = FASTRPC_OK, .id = h, .len = 4,
	};
	ASSERT_EQ(0, ring_submit(self->sr, &e, trail, tl, "done", 4));

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0x51,
				       WAIT_MS, &c));
		ASSERT_EQ(NULL, cqe_buf_problem(self->cr, &c));
		if (i < 2) {
			EXPECT_EQ(0, c.flags) TH_LOG("message %d", i);
			EXPECT_EQ(0, c.res);
			ASSERT_EQ(strlen(out[i]), c.len);
			EXPECT_EQ(0, memcmp(cqe_payload(self->cr, &c), out[i],
					    c.len)) TH_LOG("order at %d", i);
		} else {
			EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
			EXPECT_EQ(FASTRPC_OK, c.res);
			EXPECT_EQ(tl, c.meta_len);
			EXPECT_EQ(0, memcmp(self->cr->area + c.buf, trail, tl));
			ASSERT_EQ(4, c.len);
			EXPECT_EQ(0, memcmp(cqe_payload(self->cr, &c), "done",
					    4));
		}
		ASSERT_EQ(0, ring_put_cqe(self->cr, &c));
	}
	/* The call is over. */
	ASSERT_EQ(0, ring_op(self->cr, FASTRPC_OP_SEND, FASTRPC_SQE_EOR, 0x51,
			     0, "x", 1));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_ERROR, 0x51, WAIT_MS, &c));
	EXPECT_EQ(-ENOENT, c.res);

	/* A stream whose first message is also its last. */
	ASSERT_EQ(0, ring_call(self->cr, 0x52, M_RING + 1,
			       FASTRPC_SQE_STREAM | FASTRPC_SQE_EOR, 0, NULL, 0,
			       "only", 4));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &s));
	EXPECT_EQ(FASTRPC_CQE_F_EOR, s.flags);
	EXPECT_EQ(M_RING + 1, s.method);
	ASSERT_EQ(0, ring_put_cqe(self->sr, &s));
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, s.id,
			     FASTRPC_OK, NULL, 0));
	ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, 0x52, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
	EXPECT_EQ(0, ring_idle(self->cr, 100));
	EXPECT_EQ(0, ring_idle(self->sr, 100));
}

/*
 * 64 calls through a 4-entry CQ and 8 receive buffers: completions wait
 * for room, none is lost or doubled.  The server is a plain echo server
 * or a ring server with the same tiny queues.
 */
static void many_in_flight(struct __test_metadata *_metadata,
			   FIXTURE_DATA(rg) *self, bool ring_server)
{
	enum { N = 64 };
	struct echo_srv es;
	uint8_t seen[N] = { 0 };
	int fd = self->cfd;

	memset(&es, 0, sizeof(es));

	if (ring_server) {
		ASSERT_EQ(0, ring_new(self->sfd, 16, 4, 256, 32, 8, &self->sr));
		ASSERT_EQ(0, rsrv_start(&self->srv, self->sr));
	} else {
		ASSERT_EQ(0, echo_srv_start(&es, AF_INET,
					    test_port(BASE_PORT + 100,
						      _metadata->name), 2));
		close(self->cfd);
		fd = self->cfd = fastrpc_client_open("127.0.0.1", es.port,
						     SOCK_CLOEXEC);
		ASSERT_LE(0, fd);
	}
	ASSERT_EQ(0, fastrpc_set_max_calls(fd, 2 * N));
	ASSERT_EQ(0, ring_new(fd, 16, 4, 256, 64, 8, &self->cr));
	ASSERT_EQ(0, submit_echoes(self->cr, 0x6400, N, false));
	EXPECT_EQ(0, collect_echoes(self->cr, 0x6400, N, false, seen));
	EXPECT_EQ(0, ring_idle(self->cr, 300));
	EXPECT_EQ(0, self->cr->err);
	if (ring_server) {
		rsrv_stop(&self->srv);
		EXPECT_EQ(N, atomic_load(&self->srv.served));
		EXPECT_EQ(0, atomic_load(&self->srv.errors));
	} else {
		echo_srv_stop(&es);
		EXPECT_EQ(N, echo_srv_served(&es));
	}
}

TEST_F_TIMEOUT(rg, many_in_flight_small_cq_plain_server, 90)
{
	many_in_flight(_metadata, self, false);
}

TEST_F_TIMEOUT(rg, many_in_flight_small_cq_ring_server, 90)
{
	many_in_flight(_metadata, self, true);
}

/* ---- buffers ----------------------------------------------------------- */

/* The plain server answers the next call with @len pattern bytes. */
static int plain_answer(int sfd, uint32_t len, uint64_t seed)
{
	struct fastrpc_incoming_info ii;
	uint8_t *b = malloc(len ? len : 1);
	uint8_t req[64];
	ssize_t n;

	if (!b)
		return -ENOMEM;
	n = srv_recv(sfd, &ii, req, sizeof(req));
	if (n >= 0) {
		fill_pattern(b, len, seed);
		n = fastrpc_send_reply(sfd, ii.handle, FASTRPC_OK, b, len, 0);
	}
	free(b);
	return n < 0 ? (int)n : 0;
}

/* Submit BUF_RETURN @buf and expect an ERROR for it with @err. */
static int bad_return(struct ring *r, uint32_t buf, int err)
{
	struct fastrpc_cqe c;
	int ret = ring_buf_return(r, buf);

	if (ret)
		return ret;
	ret = ring_wait(r, FASTRPC_CQE_ERROR, ANY, WAIT_MS, &c);
	if (ret)
		return ret;
	if (c.op != FASTRPC_OP_BUF_RETURN || c.buf != buf || c.res != err)
		return c.res < 0 ? c.res : -EPROTO;
	return 0;
}

TEST_F(rg, buf_return_errors)
{
	struct fastrpc_cqe c;
	struct ring *r;
	uint32_t b, free_buf;
	int i;

	/* 4 receive buffers of 256 bytes, 12 of the user's */
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 4, &self->cr));
	r = self->cr;
	ASSERT_EQ(0, ring_call(r, 1, M_RING, 0, 0, NULL, 0, "a", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 600, 1));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 1, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	ASSERT_TRUE(check_pattern(cqe_payload(r, &c), 600, 1));
	b = c.buf;	/* a run of three */
	free_buf = b ? 0 : 3 * 256;

	EXPECT_EQ(0, bad_return(r, b + 1, -EINVAL)) TH_LOG("misaligned");
	EXPECT_EQ(0, bad_return(r, b + 256, -EINVAL)) TH_LOG("inside a run");
	EXPECT_EQ(0, bad_return(r, free_buf, -EINVAL)) TH_LOG("not lent");
	EXPECT_EQ(0, bad_return(r, r->rx_end, -EINVAL)) TH_LOG("user's own");
	EXPECT_EQ(0, bad_return(r, r->area_len - 256, -EINVAL))
		TH_LOG("user's own, last");
	EXPECT_EQ(0, bad_return(r, r->area_len, -EINVAL)) TH_LOG("end");
	EXPECT_EQ(0, bad_return(r, 0x7fffff00, -EINVAL)) TH_LOG("far out");
	EXPECT_EQ(0, bad_return(r, FASTRPC_RING_NO_BUF, -EINVAL))
		TH_LOG("NO_BUF");
	/* The right one goes back once. */
	ASSERT_EQ(0, ring_buf_return(r, b));
	EXPECT_EQ(0, bad_return(r, b, -EINVAL)) TH_LOG("double return");

	/* All four buffers work: runs of three, one after the other. */
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, ring_call(r, 10 + i, M_RING, 0, 0, NULL, 0, "b",
				       1));
		ASSERT_EQ(0, plain_answer(self->sfd, 700, 10 + i));
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 10 + i, WAIT_MS,
				       &c)) TH_LOG("call %d", i);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 700, 10 + i));
		if (i < 5) {
			ASSERT_EQ(0, ring_put_cqe(r, &c));
		}
	}
	/*
	 * RETURN_BUF on an entry that fails still gives the run back: the
	 * next reply needs three of the four buffers again.
	 */
	{
		struct fastrpc_sqe e = {
			.op = FASTRPC_OP_CANCEL, .id = 0xbad,
			.flags = FASTRPC_SQE_RETURN_BUF, .buf = c.buf,
		};
		struct fastrpc_cqe x;

		ASSERT_EQ(0, ring_submit(r, &e, NULL, 0, NULL, 0));
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 0xbad, WAIT_MS,
				       &x));
		EXPECT_EQ(FASTRPC_OP_CANCEL, x.op);
		EXPECT_EQ(-ENOENT, x.res);
		EXPECT_EQ(c.buf, x.buf);
	}
	ASSERT_EQ(0, ring_call(r, 20, M_RING, 0, 0, NULL, 0, "c", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 700, 20));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 20, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 700, 20));
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	EXPECT_EQ(0, ring_idle(r, 100));
}

/*
 * Badly framed metadata makes an entry malformed, found only on the
 * kernel's copy of it.  Like every malformed entry it does nothing: its
 * RETURN_BUF leaves the run with the program, which returns it itself
 * (once; a second return is refused, so the run was not freed twice).
 */
TEST_F(rg, bad_meta_keeps_buf)
{
	static const uint8_t m_nokey[] = { 0, 0, 0, 1, 'v' };
	struct fastrpc_sqe e = {
		.op = FASTRPC_OP_CALL, .id = 2, .method = M_RING,
		.flags = FASTRPC_SQE_RETURN_BUF,
		.meta_len = sizeof(m_nokey), .len = 1,
	};
	struct fastrpc_cqe c, x;
	struct ring *r;

	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 4, &self->cr));
	r = self->cr;
	ASSERT_EQ(0, ring_call(r, 1, M_RING, 0, 0, NULL, 0, "a", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 100, 1));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 1, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	e.buf = c.buf;
	ASSERT_EQ(0, ring_submit(r, &e, m_nokey, sizeof(m_nokey), "b", 1));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 2, WAIT_MS, &x));
	EXPECT_EQ(FASTRPC_OP_CALL, x.op);
	EXPECT_EQ(-EINVAL, x.res);
	EXPECT_EQ(c.buf, x.buf);
	/* no second ERROR for a failed return, and no call went out */
	EXPECT_EQ(0, ring_idle(r, 100));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, &x, sizeof(x),
					     MSG_DONTWAIT));
	/* still lent: its return goes through, the next one is refused */
	ASSERT_EQ(0, ring_buf_return(r, c.buf));
	EXPECT_EQ(0, ring_idle(r, 100)) TH_LOG("the run was given back already");
	EXPECT_EQ(0, bad_return(r, c.buf, -EINVAL)) TH_LOG("double return");
}

/* One receive buffer, not given back: messages wait, none is lost. */
TEST_F_TIMEOUT(rg, rx_exhausted, 60)
{
	enum { N = 6 };
	struct fastrpc_cqe c;
	uint8_t seen[N] = { 0 };
	struct echo_srv es;
	uint8_t req[500];
	struct ring *r;
	int i, fd;

	r = echo_ring_client(_metadata, self, &es, 4, 16, 1024, 8, 1);
	fd = self->cfd;
	for (i = 0; i < N; i++) {
		fill_pattern(req, sizeof(req), 0xe0 + i);
		ASSERT_EQ(0, ring_call(r, 0xe0 + i, M_ECHO, 0, 0, NULL, 0, req,
				       sizeof(req)));
	}
	for (i = 0; i < N; i++) {
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, ANY, WAIT_MS, &c))
			TH_LOG("result %d", i);
		ASSERT_LE(0xe0, c.id);
		ASSERT_GT(0xe0 + N, c.id);
		EXPECT_EQ(0, seen[c.id - 0xe0]++);
		EXPECT_EQ(FASTRPC_OK, c.res);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_EQ(0, c.buf);
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 500, c.id));
		if (i == 0) {
			uint64_t end = now_ms() + 5000;

			/* the others are answered by now, and wait */
			while (echo_srv_served(&es) < N && now_ms() < end)
				usleep(10000);
			EXPECT_EQ(N, echo_srv_served(&es));
			EXPECT_EQ(0, ring_idle(r, 300));
			EXPECT_EQ(0, wait_events(fd, POLLIN, 0))
				TH_LOG("EPOLLIN with an empty CQ and nothing for recvmsg()");
		}
		ASSERT_EQ(0, ring_put_cqe(r, &c));
	}
	EXPECT_EQ(0, ring_idle(r, 200));
	echo_srv_stop(&es);
}

/* Too large for all receive buffers: F_RECVMSG, read with recvmsg(). */
TEST_F_TIMEOUT(rg, too_big_for_rx_client, 60)
{
	static const uint32_t sizes[] = { 2048, 2049, 5000, 1 << 20 };
	struct fastrpc_result_info ri;
	struct fastrpc_cqe c;
	struct ring *r;
	uint8_t *big = malloc(FASTRPC_MAX_MSG);
	unsigned int i;

	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 8, 2, &self->cr));
	r = self->cr;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ASSERT_EQ(0, ring_call(r, 0xb0 + i, M_RING, 0, 0, NULL, 0, "z",
				       1));
		ASSERT_EQ(0, plain_answer(self->sfd, sizes[i], 0xb0 + i));
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xb0 + i, WAIT_MS,
				       &c));
		EXPECT_EQ(FASTRPC_OK, c.res);
		EXPECT_TRUE(c.flags & FASTRPC_CQE_F_EOR);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		if (sizes[i] <= 2048) {
			/* exactly the two receive buffers */
			EXPECT_FALSE(c.flags & FASTRPC_CQE_F_RECVMSG);
			EXPECT_EQ(sizes[i], c.len);
			EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len,
						  0xb0 + i));
			ASSERT_EQ(0, ring_put_cqe(r, &c));
			continue;
		}
		EXPECT_TRUE(c.flags & FASTRPC_CQE_F_RECVMSG)
			TH_LOG("%u bytes: flags %#x", sizes[i], c.flags);
		EXPECT_EQ(sizes[i], c.len);
		/* the CQ is empty; the message waiting says EPOLLIN */
		EXPECT_EQ(0, r->ngot);
		EXPECT_EQ(ld_acq(r->cq_prod), r->cq_head);
		EXPECT_EQ(1, wait_events(self->cfd, POLLIN, 0));
		memset(&ri, 0, sizeof(ri));
		ASSERT_EQ((ssize_t)sizes[i],
			  fastrpc_recv_result_ex(self->cfd, &ri, big,
						 FASTRPC_MAX_MSG, 0));
		EXPECT_EQ(0xb0 + i, ri.tag);
		EXPECT_EQ(FASTRPC_OK, ri.status);
		EXPECT_EQ(1, ri.eor);
		EXPECT_TRUE(check_pattern(big, sizes[i], 0xb0 + i));
	}
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(self->cfd, NULL, NULL, big, 16,
					       MSG_DONTWAIT));
	EXPECT_EQ(0, ring_idle(r, 100));
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 0));
	free(big);
}

TEST_F_TIMEOUT(rg, too_big_for_rx_server, 60)
{
	struct fastrpc_call_opts o = { 0 };
	struct fastrpc_incoming_info ii;
	uint8_t meta[64], *big = malloc(8192), *aux = malloc(FASTRPC_AUX_SPACE);
	size_t ml = make_meta(meta, sizeof(meta), "big");
	struct fastrpc_cqe s;
	uint64_t tag;
	uint32_t status;
	ssize_t n;

	ASSERT_NE(NULL, big);
	ASSERT_NE(NULL, aux);
	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 8, 2, &self->sr));
	fill_pattern(big, 5000, 77);
	o.metadata = meta;
	o.metadata_len = ml;
	ASSERT_EQ(5000, fastrpc_send_call_opts(self->cfd, 0x77, M_RING, &o,
					       big, 5000, 0));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &s));
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_RECVMSG) TH_LOG("flags %#x", s.flags);
	EXPECT_TRUE(s.flags & FASTRPC_CQE_F_EOR);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, s.buf);
	EXPECT_EQ(M_RING, s.method);
	memset(big, 0, 8192);
	ii.aux = aux;
	ii.aux_len = FASTRPC_AUX_SPACE;
	n = fastrpc_recv_call_ex(self->sfd, &ii, big, 8192, 0);
	ASSERT_EQ(5000, n);
	EXPECT_EQ(s.id, ii.handle);
	EXPECT_EQ(M_RING, ii.method);
	EXPECT_TRUE(check_pattern(big, 5000, 77));
	ASSERT_EQ(ml, ii.metadata_len);
	EXPECT_EQ(0, memcmp(meta, ii.metadata, ml));
	/* answered through the ring */
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, s.id, FASTRPC_OK,
			     "ok", 2));
	ASSERT_EQ(2, fastrpc_recv_result(self->cfd, &tag, &status, big, 16, 0));
	EXPECT_EQ(0x77, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, big, 16,
					     MSG_DONTWAIT));
	EXPECT_EQ(0, ring_idle(self->sr, 100));
	free(big);
	free(aux);
}

/* ---- malformed entries -------------------------------------------------- */

struct bad_sqe {
	const char *what;
	struct fastrpc_sqe e;
	int err[3];		/* acceptable errors; 0 ends the list */
	const void *data;	/* copied to the user area at e.addr */
	size_t dlen;
};

/*
 * Queue every entry of @b (ids must differ), submit them with one send()
 * and check each ERROR completion, and that the namespace's ring_errors
 * counted exactly these: a malformed entry ends in one error, even with
 * FASTRPC_SQE_RETURN_BUF, and nothing else is submitted meanwhile.
 */
static void run_bad(struct __test_metadata *_metadata, struct ring *r,
		    struct bad_sqe *b, unsigned int n)
{
	long long errors = proc_counter("ring_errors");
	unsigned int i, k;
	uint32_t off = r->rx_end;
	struct fastrpc_cqe c;
	int ret;

	ASSERT_GE(r->sq_n, n);
	for (i = 0; i < n; i++) {
		if (b[i].dlen) {
			ASSERT_GE(r->area_len, off + b[i].dlen);
			memcpy(r->area + off, b[i].data, b[i].dlen);
			b[i].e.addr = off;
			off += (uint32_t)(b[i].dlen + 7) / 8 * 8;
		}
		ASSERT_EQ(0, sq_put(r, &b[i].e));
	}
	ret = ring_enter(r);
	EXPECT_EQ((int)n, ret) TH_LOG("send(): %d (%s)", ret,
				      ret < 0 ? strerror(-ret) : "count");
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	for (i = 0; i < n; i++) {
		bool ok = false;

		ret = ring_wait(r, FASTRPC_CQE_ERROR, b[i].e.id, WAIT_MS, &c);
		EXPECT_EQ(0, ret) TH_LOG("%s: no ERROR completion", b[i].what);
		if (ret)
			continue;
		EXPECT_EQ(b[i].e.op, c.op) TH_LOG("%s", b[i].what);
		EXPECT_EQ(b[i].e.buf, c.buf) TH_LOG("%s", b[i].what);
		for (k = 0; k < 3 && b[i].err[k]; k++)
			ok |= c.res == -b[i].err[k];
		if (!b[i].err[0])
			ok = c.res < 0;
		EXPECT_TRUE(ok) TH_LOG("%s: res %d (%s)", b[i].what, c.res,
				       strerror(-c.res));
		TH_LOG("%s: %s", b[i].what, strerror(-c.res));
	}
	EXPECT_EQ(errors + n, proc_counter("ring_errors"));
}

#define E1(x)		{ x, 0, 0 }
#define RANGE_ERRS	{ EINVAL, EFAULT, 0 }
#define LEN_ERRS	{ EINVAL, EFAULT, EMSGSIZE }

TEST_F(rg, bad_sqes_client)
{
	/* metadata: a zero-length key; a value beyond the end; reserved */
	static const uint8_t m_nokey[] = { 0, 0, 0, 1, 'v' };
	static const uint8_t m_over[] = { 1, 0, 0, 9, 'k', 'v' };
	static const uint8_t m_resv[] = { 1, 1, 0, 1, 'k', 'v' };
	static uint8_t m_big[4097];
	struct ring *r;
	uint32_t A;
	struct fastrpc_incoming_info ii;
	struct fastrpc_cqe c;
	uint8_t buf[16];

	ASSERT_EQ(0, ring_new(self->cfd, 64, 64, 1024, 16, 4, &self->cr));
	r = self->cr;
	A = r->area_len;
	m_big[0] = 1;
	m_big[2] = (4092 >> 8) & 0xff;
	m_big[3] = 4092 & 0xff;
	m_big[4] = 'k';

	/* A unary call in flight, held by the server. */
	ASSERT_EQ(0, ring_call(r, 0x100, M_RING, 0, 0, NULL, 0, "u", 1));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	{
		struct bad_sqe b[] = {
			{ "op 0", { .op = 0, .id = 0x201 }, E1(EINVAL), NULL, 0 },
			{ "op MAX+1", { .op = FASTRPC_OP_MAX + 1, .id = 0x202 },
			  E1(EINVAL), NULL, 0 },
			{ "op 255", { .op = 255, .id = 0x203 }, E1(EINVAL), NULL, 0 },
			{ "flags 1<<4", { .op = FASTRPC_OP_CALL, .flags = 0x10,
					  .id = 0x204 }, E1(EINVAL), NULL, 0 },
			{ "flags 1<<7", { .op = FASTRPC_OP_CALL, .flags = 0x80,
					  .id = 0x205 }, E1(EINVAL), NULL, 0 },
			{ "reserved0", { .op = FASTRPC_OP_CALL, .id = 0x206,
					 .reserved0 = 1 }, E1(EINVAL), NULL, 0 },
			{ "reserved", { .op = FASTRPC_OP_CALL, .id = 0x207,
					.reserved = 1ULL << 40 }, E1(EINVAL), NULL, 0 },
			{ "addr at the end", { .op = FASTRPC_OP_CALL,
					       .id = 0x208, .addr = A,
					       .len = 1 }, RANGE_ERRS, NULL, 0 },
			{ "len past the end", { .op = FASTRPC_OP_CALL,
						.id = 0x209, .addr = A - 8,
						.len = 16 }, RANGE_ERRS, NULL, 0 },
			{ "addr+len wraps", { .op = FASTRPC_OP_CALL,
					      .id = 0x20a,
					      .addr = 0xfffffff0,
					      .len = 0x20 }, RANGE_ERRS, NULL, 0 },
			{ "huge len wraps", { .op = FASTRPC_OP_CALL,
					      .id = 0x20b, .addr = 0x10,
					      .len = 0xfffffff8 }, LEN_ERRS, NULL, 0 },
			{ "len MAX_MSG+1", { .op = FASTRPC_OP_CALL,
					     .id = 0x20c,
					     .len = FASTRPC_MAX_MSG + 1 },
			  LEN_ERRS, NULL, 0 },
			{ "meta past the end", { .op = FASTRPC_OP_CALL,
						 .id = 0x20d, .addr = A - 4,
						 .meta_len = 8 }, RANGE_ERRS, NULL, 0 },
			{ "meta key_len 0", { .op = FASTRPC_OP_CALL,
					      .id = 0x20e,
					      .meta_len = sizeof(m_nokey) },
			  E1(EINVAL), m_nokey, sizeof(m_nokey) },
			{ "meta value overruns", { .op = FASTRPC_OP_CALL,
						   .id = 0x20f,
						   .meta_len = sizeof(m_over) },
			  E1(EINVAL), m_over, sizeof(m_over) },
			{ "meta reserved", { .op = FASTRPC_OP_CALL, .id = 0x210,
					     .meta_len = sizeof(m_resv) },
			  E1(EINVAL), m_resv, sizeof(m_resv) },
			{ "meta > MAX_METADATA", { .op = FASTRPC_OP_CALL,
						   .id = 0x211,
						   .meta_len = sizeof(m_big) },
			  E1(EINVAL), m_big, sizeof(m_big) },
			{ "duplicate tag", { .op = FASTRPC_OP_CALL,
					     .id = 0x100 }, E1(EEXIST), NULL, 0 },
			{ "SEND on a unary call", { .op = FASTRPC_OP_SEND,
						    .id = 0x100, .len = 1 },
			  E1(EINVAL), "s", 1 },
			{ "SEND unknown tag", { .op = FASTRPC_OP_SEND,
						.id = 0x212 }, E1(ENOENT), NULL, 0 },
			{ "CANCEL unknown tag", { .op = FASTRPC_OP_CANCEL,
						  .id = 0x213 }, E1(ENOENT), NULL, 0 },
			{ "REPLY on a client", { .op = FASTRPC_OP_REPLY,
						 .id = 0x214 }, { 0 }, NULL, 0 },
		};

		run_bad(_metadata, r, b, sizeof(b) / sizeof(b[0]));
	}
	/* The held call was not disturbed by its duplicate. */
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x100, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(2, c.len);
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	/* And a good call works. */
	ASSERT_EQ(0, ring_call(r, 0x300, M_RING, 0, 0, NULL, 0, "g", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 100, 0x300));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x300, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 100, 0x300));
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	EXPECT_EQ(0, ring_idle(r, 200));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
}

/* Fields that the header says are zero outside their ops. */
TEST_F(rg, bad_sqes_unused_fields)
{
	struct ring *r;

	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 16, 4, &self->cr));
	r = self->cr;
	{
		struct bad_sqe b[] = {
			{ "CALL smsg_len", { .op = FASTRPC_OP_CALL, .id = 0x401,
					     .smsg_len = 1, .len = 1 },
			  E1(EINVAL), "ab", 2 },
			{ "SEND meta_len", { .op = FASTRPC_OP_SEND, .id = 0x402,
					     .meta_len = 4 }, E1(EINVAL), NULL, 0 },
			{ "CANCEL meta_len", { .op = FASTRPC_OP_CANCEL,
					       .id = 0x403, .meta_len = 4 },
			  E1(EINVAL), NULL, 0 },
			{ "SEND method", { .op = FASTRPC_OP_SEND, .id = 0x404,
					   .method = 1 }, E1(EINVAL), NULL, 0 },
			{ "CANCEL method", { .op = FASTRPC_OP_CANCEL,
					     .id = 0x405, .method = 1 },
			  E1(EINVAL), NULL, 0 },
		};

		run_bad(_metadata, r, b, sizeof(b) / sizeof(b[0]));
	}
}

TEST_F(rg, bad_sqes_server)
{
	static const uint8_t m_nokey[] = { 0, 0, 0, 1, 'v' };
	static uint8_t smsg[FASTRPC_MAX_STATUS_MSG + 1];
	struct fastrpc_cqe s;
	struct ring *r;
	uint64_t h, tag;
	uint32_t status;
	char buf[16];

	memset(smsg, 'x', sizeof(smsg));
	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 16, 4, &self->sr));
	r = self->sr;
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, M_RING, "q", 1, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_INCOMING, ANY, WAIT_MS, &s));
	h = s.id;
	ASSERT_EQ(0, ring_put_cqe(r, &s));
	{
		struct bad_sqe b[] = {
			{ "REPLY unknown handle", { .op = FASTRPC_OP_REPLY,
						    .id = h + 12345 },
			  E1(ENOENT), NULL, 0 },
			{ "REPLY handle 0", { .op = FASTRPC_OP_REPLY, .id = 0 },
			  E1(ENOENT), NULL, 0 },
			{ "REPLY status 17", { .op = FASTRPC_OP_REPLY, .id = h,
					       .method = FASTRPC_STATUS_MAX + 1 },
			  E1(EINVAL), NULL, 0 },
			{ "REPLY smsg 1025", { .op = FASTRPC_OP_REPLY, .id = h,
					       .smsg_len = sizeof(smsg) },
			  E1(EINVAL), smsg, sizeof(smsg) },
			{ "REPLY broken trailers", { .op = FASTRPC_OP_REPLY,
						     .id = h,
						     .meta_len = sizeof(m_nokey) },
			  E1(EINVAL), m_nokey, sizeof(m_nokey) },
			{ "REPLY smsg past the end", { .op = FASTRPC_OP_REPLY,
						       .id = h,
						       .addr = 0xfffffffc,
						       .smsg_len = 8 },
			  RANGE_ERRS, NULL, 0 },
			{ "SEND with EOR", { .op = FASTRPC_OP_SEND, .id = h,
					     .flags = FASTRPC_SQE_EOR },
			  E1(EINVAL), NULL, 0 },
			{ "CALL on a server", { .op = FASTRPC_OP_CALL,
						.id = h + 1 }, { 0 }, NULL, 0 },
			{ "CANCEL on a server", { .op = FASTRPC_OP_CANCEL,
						  .id = h + 2 }, { 0 }, NULL, 0 },
		};

		run_bad(_metadata, r, b, sizeof(b) / sizeof(b[0]));
	}
	/* The call is still open and answered once. */
	ASSERT_EQ(0, ring_op(r, FASTRPC_OP_REPLY, 0, h, FASTRPC_OK, "fine", 4));
	ASSERT_EQ(4, fastrpc_recv_result(self->cfd, &tag, &status, buf,
					 sizeof(buf), 0));
	EXPECT_EQ(1, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	EXPECT_EQ(0, memcmp(buf, "fine", 4));
	ASSERT_EQ(0, ring_op(r, FASTRPC_OP_REPLY, 0, h, FASTRPC_OK, NULL, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, h, WAIT_MS, &s));
	EXPECT_EQ(-ENOENT, s.res);
	EXPECT_EQ(0, wait_events(self->cfd, POLLIN, 200));
}

/* ---- the submission protocol --------------------------------------------- */

/*
 * Garbage in user space's own indices costs only its own completions:
 * the kernel clamps them, and once they are put right the ring works,
 * while a plain client of the same server is not disturbed.
 */
TEST_F(rg, garbage_indices)
{
	struct fastrpc_cqe c;
	struct ring *r;
	uint32_t cons;
	uint64_t tag;
	uint32_t status;
	char buf[16];
	int n, fd;

	ASSERT_EQ(0, ring_new(self->cfd, 16, 64, 256, 16, 8, &self->cr));
	r = self->cr;
	fd = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_rcvtimeo(fd, 10000));

	/*
	 * A producer 2^31 ahead: the kernel reads a ring's worth at a time,
	 * and never more than the CQ has room for the errors.
	 */
	st_rel(r->sq_prod, ld_acq(r->sq_cons) + 0x7fffffffu);
	n = ring_enter(r);
	EXPECT_TRUE(n == -EAGAIN || (n >= 0 && (uint32_t)n <= r->cq_n))
		TH_LOG("send(): %d", n);
	cons = ld_acq(r->sq_cons);
	/* the zeroed entries it read are op 0: errors, nothing else */
	ASSERT_LE(0, cq_reap(r));
	while (r->ngot) {
		ASSERT_EQ(0, ring_wait(r, ANY_TYPE, ANY, 0, &c));
		EXPECT_EQ(FASTRPC_CQE_ERROR, c.type);
		EXPECT_EQ(-EINVAL, c.res);
	}
	/* put right */
	r->sq_tail = cons;
	st_rel(r->sq_prod, cons);

	/* A consumer far ahead of the kernel's producer: no room at all. */
	ASSERT_EQ(0, ring_call(r, 0x61, M_RING, 0, 0, NULL, 0, "g", 1));
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	st_rel(r->cq_cons, r->cq_head + 0x40000000u);
	ASSERT_EQ(0, plain_answer(self->sfd, 10, 0x61));
	/* meanwhile another socket's call goes through */
	ASSERT_EQ(1, fastrpc_send_call(fd, 0x62, M_RING, "p", 1, 0));
	ASSERT_EQ(0, plain_answer(self->sfd, 5, 0x62));
	ASSERT_EQ(5, fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf),
					 0));
	EXPECT_EQ(0x62, tag);
	EXPECT_TRUE(check_pattern((uint8_t *)buf, 5, 0x62));
	/* put right, and the result comes after the next send() */
	st_rel(r->cq_cons, r->cq_head);
	ASSERT_EQ(0, ring_enter(r));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x61, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 10, 0x61));
	EXPECT_EQ(0, ring_idle(r, 100));
	close(fd);
}

/*
 * Rings on the fixture's client that only this thread's send()s run: a
 * result waits at setup, which here (no send(), no poll()) only the work
 * item setsockopt() queues can deliver, so once it is in the CQ that
 * item is done, and nothing queues it again until a message comes.
 * Counters then move for the test's own doorbells only.
 */
static struct ring *quiet_ring(struct __test_metadata *_metadata,
			       FIXTURE_DATA(rg) *self, uint32_t sq,
			       uint32_t cq, uint32_t bsz, uint32_t count,
			       uint32_t rx)
{
	struct fastrpc_cqe c;
	struct ring *r;
	uint64_t end;

	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 0x51, M_RING, "w", 1, 0));
	ASSERT_EQ(0, plain_answer(self->sfd, 0, 0));
	ASSERT_EQ(1, wait_events(self->cfd, POLLIN, WAIT_MS));
	ASSERT_EQ(0, ring_new(self->cfd, sq, cq, bsz, count, rx, &self->cr));
	r = self->cr;
	end = now_ms() + WAIT_MS;
	while (ld_acq(r->cq_prod) == r->cq_head && now_ms() < end)
		usleep(1000);
	ASSERT_EQ(1, cq_reap(r));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x51, 0, &c));
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c.buf);
	return r;
}

TEST_F(rg, submit_count_and_eagain)
{
	struct fastrpc_incoming_info ii[2];
	struct fastrpc_sqe e = { .op = FASTRPC_OP_CALL, .method = M_RING };
	long long refused;
	struct fastrpc_cqe c;
	struct ring *r;
	char buf[8];
	int i;

	r = quiet_ring(_metadata, self, 16, 16, 256, 16, 8);
	/* Nothing queued: nothing consumed. */
	EXPECT_EQ(0, ring_enter(r));

	/*
	 * FASTRPC_MAX_CALLS 1: the second call waits in the SQ.  Each
	 * send() that stops at it is one refusal; no result is on its way
	 * to start the work item meanwhile.
	 */
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 1));
	refused = proc_counter("ring_refused");
	e.id = 0x20;
	ASSERT_EQ(0, sq_put(r, &e));
	e.id = 0x21;
	ASSERT_EQ(0, sq_put(r, &e));
	EXPECT_EQ(1, ring_enter(r));
	EXPECT_EQ(1, sq_pending(r));
	EXPECT_EQ(-EAGAIN, ring_enter(r));
	EXPECT_EQ(1, sq_pending(r));
	EXPECT_EQ(refused + 2, proc_counter("ring_refused"));
	EXPECT_EQ(0, wait_events(self->cfd, POLLOUT, 0));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii[0], buf, sizeof(buf)));
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii[0].handle, FASTRPC_OK,
					NULL, 0, 0));
	/*
	 * The result frees the slot once it is in the CQ.  The kernel may
	 * then take the waiting entry on its own, as it delivers; if it did
	 * not, POLLOUT says send() will.
	 */
	ASSERT_EQ(1, wait_events(self->cfd, POLLIN, WAIT_MS));
	ASSERT_EQ(1, cq_reap(r));
	if (sq_pending(r)) {
		EXPECT_EQ(1, wait_events(self->cfd, POLLOUT, WAIT_MS));
		EXPECT_EQ(1, ring_enter(r));
	} else {
		TH_LOG("the kernel took the waiting entry as it delivered");
	}
	EXPECT_EQ(0, sq_pending(r));
	ASSERT_EQ(0, srv_recv(self->sfd, &ii[1], buf, sizeof(buf)));
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii[1].handle, FASTRPC_OK,
					NULL, 0, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x20, WAIT_MS, &c));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x21, WAIT_MS, &c));
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 64));

	/* Three entries, one send(): three consumed. */
	for (i = 0; i < 3; i++) {
		e.id = 0x10 + i;
		ASSERT_EQ(0, sq_put(r, &e));
	}
	EXPECT_EQ(3, ring_enter(r));
	EXPECT_EQ(0, sq_pending(r));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, plain_answer(self->sfd, 0, 0));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, ANY, WAIT_MS, &c));
	EXPECT_EQ(0, ring_idle(r, 100));
}

/*
 * A two-entry CQ holding one error has no room for the two errors an
 * entry with FASTRPC_SQE_RETURN_BUF may end with: it must wait, and go
 * once the CQ is reaped.  One refusal, three errors, counted exactly.
 */
TEST_F(rg, cq_full_eagain)
{
	struct fastrpc_sqe e = { .op = 0, .id = 1 };
	struct fastrpc_sqe e2 = {
		.op = FASTRPC_OP_CANCEL, .id = 2,
		.flags = FASTRPC_SQE_RETURN_BUF, .buf = 0,	/* not lent */
	};
	long long refused, errors;
	struct fastrpc_cqe c;
	struct ring *r;

	r = quiet_ring(_metadata, self, 4, 2, 256, 4, 2);
	refused = proc_counter("ring_refused");
	errors = proc_counter("ring_errors");
	ASSERT_EQ(0, sq_put(r, &e));
	EXPECT_EQ(1, ring_enter(r));
	ASSERT_EQ(0, sq_put(r, &e2));
	EXPECT_EQ(-EAGAIN, ring_enter(r));
	EXPECT_EQ(1, sq_pending(r));
	EXPECT_EQ(refused + 1, proc_counter("ring_refused"));
	EXPECT_EQ(errors + 1, proc_counter("ring_errors"));
	EXPECT_EQ(1, wait_events(self->cfd, POLLIN, 0));
	ASSERT_EQ(1, cq_reap(r));
	EXPECT_EQ(1, ring_enter(r));
	EXPECT_EQ(refused + 1, proc_counter("ring_refused"));
	EXPECT_EQ(errors + 3, proc_counter("ring_errors"));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 1, WAIT_MS, &c));
	EXPECT_EQ(0, c.op);
	EXPECT_EQ(-EINVAL, c.res);
	/* the cancel fails, and so does giving back buffer 0 */
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 2, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_CANCEL, c.op);
	EXPECT_EQ(-ENOENT, c.res);
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 2, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_BUF_RETURN, c.op);
	EXPECT_EQ(-EINVAL, c.res);
	EXPECT_EQ(0, c.buf);
	EXPECT_EQ(0, ring_idle(r, 100));
}

/*
 * A process spins on its CQ while the socket sits in an epoll set for
 * EPOLLOUT only.  The EPOLLIN wakeup of an arriving reply passes that
 * entry by, so the kernel must deliver the reply without a poller (the
 * work item, or on this same-host pair the server's writer), or it would
 * wait for the process's next system call; the spin makes none.  Twice:
 * the second reply comes while the first wakeup is still unanswered.
 */
TEST_F(rg, cq_spin_with_epollout_watcher)
{
	struct epoll_event ev = { .events = EPOLLOUT };
	struct fastrpc_cqe c;
	struct ring *r;
	uint64_t tag, end;
	int ep;

	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 4, &self->cr));
	r = self->cr;
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->cfd, &ev));
	for (tag = 1; tag <= 2; tag++) {
		ASSERT_EQ(0, ring_call(r, tag, M_RING, 0, 0, NULL, 0, "a", 1));
		ASSERT_EQ(0, plain_answer(self->sfd, 100, tag));
		end = now_ms() + 3000;
		while (!cq_reap(r) && !r->err && now_ms() < end)
			;
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, tag, 0, &c))
			TH_LOG("reply %llu waited for a system call",
			       (unsigned long long)tag);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 100, tag));
		ASSERT_EQ(0, ring_put_cqe(r, &c));
	}
	close(ep);
	EXPECT_EQ(0, ring_idle(r, 100));
}

/*
 * Setup accepts one CQ entry (1..FASTRPC_RING_MAX_ENTRIES): such rings
 * must work, one completion at a time.
 */
TEST_F(rg, cq_one_entry)
{
	struct fastrpc_sqe e = { .op = 0, .id = 1 };
	struct fastrpc_cqe c;
	struct ring *r;
	int n;

	ASSERT_EQ(0, ring_new(self->cfd, 4, 1, 256, 4, 2, &self->cr));
	r = self->cr;
	ASSERT_EQ(0, sq_put(r, &e));
	n = ring_enter(r);
	ASSERT_EQ(1, n) TH_LOG("send(): %s", n < 0 ? strerror(-n) : "count");
	EXPECT_EQ(0, sq_pending(r));
	e.id = 2;
	ASSERT_EQ(0, sq_put(r, &e));
	/* the CQ is full with the first error: no room for the second */
	EXPECT_EQ(-EAGAIN, ring_enter(r));
	if (ld_acq(r->cq_prod) != r->cq_head) {
		ASSERT_EQ(1, cq_reap(r));
		EXPECT_EQ(1, ring_enter(r));
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 1, WAIT_MS, &c));
		EXPECT_EQ(-EINVAL, c.res);
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 2, WAIT_MS, &c));
		EXPECT_EQ(-EINVAL, c.res);
	}
	/* and a call through it */
	ASSERT_EQ(0, ring_call(r, 3, M_RING, 0, 0, NULL, 0, "c", 1));
	EXPECT_EQ(0, plain_answer(self->sfd, 10, 3));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 3, 3000, &c));
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 10, 3));
	r->err = 0;
}

/*
 * Follow the protocol to the letter: send() only when the SQ flags ask
 * for it.  200 calls, up to 8 in flight, must all complete.
 */
TEST_F_TIMEOUT(rg, need_wakeup_protocol, 90)
{
	enum { N = 200, INFLIGHT = 8 };
	uint8_t seen[N] = { 0 };
	struct echo_srv es;
	struct fastrpc_cqe c;
	uint8_t req[700];
	struct ring *r;
	unsigned int sent = 0, done = 0;

	r = echo_ring_client(_metadata, self, &es, 16, 16, 1024, 64, 32);
	r->strict = true;
	while (done < N) {
		while (sent < N && sent - done < INFLIGHT) {
			uint64_t tag = 0x9000 + sent;

			fill_pattern(req, len_of(tag), tag);
			ASSERT_EQ(0, ring_call(r, tag, M_ECHO, 0, 0, NULL, 0,
					       req, len_of(tag)));
			sent++;
		}
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, ANY, WAIT_MS, &c))
			TH_LOG("%u sent, %u done, SQ %u pending, flags %#x",
			       sent, done, sq_pending(r), ld_acq(r->sq_flags));
		ASSERT_LE(0x9000, c.id);
		ASSERT_GT(0x9000 + N, c.id);
		EXPECT_EQ(0, seen[c.id - 0x9000]++);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len, c.id));
		EXPECT_EQ(len_of(c.id), c.len);
		ASSERT_EQ(0, ring_put_cqe(r, &c));
		done++;
	}
	TH_LOG("%u calls, %u send()s", N, r->sends);
	EXPECT_EQ(0, ring_idle(r, 100));
	/* idle again: the kernel asks to be woken */
	EXPECT_EQ(0, sq_pending(r));
	EXPECT_TRUE(ld_acq(r->sq_flags) & FASTRPC_RING_NEED_WAKEUP);
	echo_srv_stop(&es);
}

static int pin_self(int cpu);

/*
 * NEED_WAKEUP clear lets the process add entries with no send() at all;
 * need_wakeup_protocol cannot tell, as whether its calls ever find the
 * flag clear is a matter of timing.  Here they always do.  A CANCEL ends
 * its call at once, queueing the result and with it the work item,
 * which clears the flag (frpc_ring_queued()); the doorbell that ran the
 * CANCEL finds the item pending and leaves the flag clear
 * (frpc_ring_run()).  The item is queued on this thread's CPU, where
 * this thread, SCHED_FIFO and pinned, keeps the worker off until it
 * sleeps: every entry it writes meanwhile finds the flag clear, and the
 * work item then consumes them, with no doorbell of theirs.
 */
TEST_F(rg, need_wakeup_clear_skips_send)
{
	enum { K = 4 };
	struct sched_param rt = { .sched_priority = 1 }, other = { 0 };
	struct fastrpc_sqe e = { .op = FASTRPC_OP_CANCEL, .id = 0x70 };
	struct fastrpc_incoming_info ii;
	struct fastrpc_cqe c;
	unsigned int sends, i;
	struct ring *r;
	uint32_t flags;
	uint64_t end;
	char buf[8];

	/* before the rings, so that their work item is only ever queued here */
	ASSERT_EQ(0, pin_self(sched_getcpu()));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 8, &self->cr));
	r = self->cr;
	r->strict = true;
	ASSERT_EQ(0, ring_call(r, 0x70, M_RING + 1, 0, 0, NULL, 0, "x", 1));
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	if (sched_setscheduler(0, SCHED_FIFO, &rt))
		SKIP(return, "SCHED_FIFO: %s", strerror(errno));
	/* no sleep from here until SCHED_OTHER again: no worker runs here */
	ASSERT_EQ(0, sq_put(r, &e));
	ASSERT_EQ(1, ring_enter(r));
	flags = ld_acq(r->sq_flags);
	sends = r->sends;
	for (i = 0; i < K; i++)
		ASSERT_EQ(0, ring_call(r, 0x71 + i, M_RING, 0, 0, NULL, 0,
				       "y", 1));
	ASSERT_EQ(0, sched_setscheduler(0, SCHED_OTHER, &other));
	EXPECT_FALSE(flags & FASTRPC_RING_NEED_WAKEUP)
		TH_LOG("SQ flags %#x with the work item pending", flags);
	EXPECT_EQ(sends, r->sends) TH_LOG("%u send()s for %u entries",
					  r->sends - sends, K);
	/* the work item takes them */
	end = now_ms() + WAIT_MS;
	while (sq_pending(r) && now_ms() < end)
		usleep(1000);
	EXPECT_EQ(0, sq_pending(r));
	EXPECT_EQ(sends, r->sends);

	/* and they are calls like any other */
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, WAIT_MS));
	for (i = 0; i < K;) {
		ASSERT_LE(0, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
		/* the cancelled call's request or notice */
		if (ii.method != M_RING || (ii.flags & FASTRPC_IN_CANCELLED))
			continue;
		ASSERT_EQ(0, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, NULL, 0, 0));
		i++;
	}
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x70, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CANCELLED, c.res);
	for (i = 0; i < K; i++) {
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x71 + i,
				       WAIT_MS, &c));
		EXPECT_EQ(FASTRPC_OK, c.res);
	}
	EXPECT_EQ(0, ring_idle(r, 100));
}

/* ---- submit and wait: send(MSG_WAITALL) ------------------------------------ */

struct slow_answer {
	int sfd;
	int delay_ms;
	uint32_t len;
	uint64_t seed;
	int ret;
};

static void *slow_answer_thread(void *p)
{
	struct slow_answer *a = p;

	usleep((useconds_t)a->delay_ms * 1000);
	a->ret = plain_answer(a->sfd, a->len, a->seed);
	return NULL;
}

static int got_sig;

static void wait_sig(int sig)
{
	got_sig = sig;
}

/* SIGUSR1 to @target every @delay_ms until @done: one may come early */
struct kill_after {
	pthread_t target;
	int delay_ms;
	atomic_int done;
};

static void *kill_after_thread(void *p)
{
	struct kill_after *k = p;

	while (!atomic_load(&k->done)) {
		usleep((useconds_t)k->delay_ms * 1000);
		if (!atomic_load(&k->done))
			pthread_kill(k->target, SIGUSR1);
	}
	return NULL;
}

/* Queue a CALL of @len pattern bytes without telling the kernel. */
static int queue_call(struct ring *r, uint64_t tag, uint32_t len)
{
	uint8_t req[256];
	struct fastrpc_sqe e = {
		.op = FASTRPC_OP_CALL, .method = M_ECHO, .id = tag, .len = len,
	};

	fill_pattern(req, len, tag);
	e.addr = ring_stage(r, NULL, 0, req, len);
	return sq_put(r, &e);
}

static long long ms_since(uint64_t t0)
{
	return (long long)(now_ms() - t0);
}

/*
 * send(fd, NULL, 0, MSG_WAITALL) on a socket with rings consumes the SQ,
 * then sleeps until there is a completion to reap: a call queued and a
 * server that answers 300 ms later, and the result is in the CQ when the
 * one system call returns.  Then the ways the wait ends without one:
 * SO_RCVTIMEO, MSG_DONTWAIT, a signal; a completion not reaped yet ends
 * it at once; and the flag belongs to the doorbell alone.
 */
TEST_F_TIMEOUT(rg, submit_and_wait, 60)
{
	struct timeval tv = { .tv_usec = 150 * 1000 };
	struct slow_answer a = { .sfd = self->sfd, .delay_ms = 300,
				 .len = 100, .seed = 0x5a };
	struct kill_after k = { .target = pthread_self(), .delay_ms = 200 };
	struct sigaction sa = { .sa_handler = wait_sig };	/* no SA_RESTART */
	struct fastrpc_cqe c;
	struct ring *r;
	struct fastrpc_features f;
	pthread_t thr;
	uint64_t t0;
	ssize_t n;

	ASSERT_EQ(0, fastrpc_get_features(self->cfd, &f));
	EXPECT_TRUE(f.features & FASTRPC_FEAT_RING_WAIT);
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	r = self->cr;

	/* the call goes, and the one system call comes back with its result */
	ASSERT_EQ(0, pthread_create(&thr, NULL, slow_answer_thread, &a));
	ASSERT_EQ(0, queue_call(r, 0xa1, 50));
	n = send(self->cfd, NULL, 0, MSG_WAITALL);
	EXPECT_EQ(1, n) TH_LOG("send(MSG_WAITALL): %s", strerror(errno));
	ASSERT_EQ(1, cq_reap(r)) TH_LOG("returned before the result came");
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xa1, 0, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(100, c.len);
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len, 0x5a));
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	pthread_join(thr, NULL);
	ASSERT_EQ(0, a.ret);

	/* nothing to wait for: SO_RCVTIMEO ends the wait, MSG_DONTWAIT at once */
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	t0 = now_ms();
	EXPECT_EQ(-1, send(self->cfd, NULL, 0, MSG_WAITALL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(100, ms_since(t0));
	EXPECT_EQ(-1, send(self->cfd, NULL, 0, MSG_WAITALL | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, cq_reap(r));

	/* a completion not reaped yet: no wait at all */
	a.delay_ms = 0;
	a.seed = 0x5b;
	ASSERT_EQ(0, pthread_create(&thr, NULL, slow_answer_thread, &a));
	ASSERT_EQ(0, queue_call(r, 0xa2, 10));
	tv.tv_sec = WAIT_MS / 1000;
	tv.tv_usec = 0;
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	EXPECT_EQ(1, send(self->cfd, NULL, 0, MSG_WAITALL));
	pthread_join(thr, NULL);
	ASSERT_EQ(0, a.ret);
	t0 = now_ms();
	EXPECT_EQ(0, send(self->cfd, NULL, 0, MSG_WAITALL))
		TH_LOG("%s", strerror(errno));
	EXPECT_GT(WAIT_MS / 2, ms_since(t0));
	ASSERT_EQ(1, cq_reap(r));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xa2, 0, &c));
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));

	/* a signal ends it, with EINTR for a handler without SA_RESTART */
	tv.tv_sec = 0;
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	got_sig = 0;
	ASSERT_EQ(0, pthread_create(&thr, NULL, kill_after_thread, &k));
	n = send(self->cfd, NULL, 0, MSG_WAITALL);
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EINTR, errno);
	atomic_store(&k.done, 1);
	pthread_join(thr, NULL);
	EXPECT_EQ(SIGUSR1, got_sig);
	signal(SIGUSR1, SIG_DFL);
	EXPECT_EQ(0, cq_reap(r));

	/* waiting is the doorbell's: not with a verb, not without rings */
	EXPECT_EQ(-EOPNOTSUPP, fastrpc_send_call(self->cfd, 0xa3, M_ECHO, "x",
						 1, MSG_WAITALL));
	EXPECT_EQ(-1, send(self->sfd, NULL, 0, MSG_WAITALL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* and the socket still works */
	a.seed = 0x5c;
	ASSERT_EQ(0, pthread_create(&thr, NULL, slow_answer_thread, &a));
	ASSERT_EQ(0, queue_call(r, 0xa4, 20));
	EXPECT_EQ(1, send(self->cfd, NULL, 0, MSG_WAITALL));
	pthread_join(thr, NULL);
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xa4, WAIT_MS, &c));
	EXPECT_EQ(100, c.len);
	ASSERT_EQ(0, ring_put_cqe(r, &c));
}

/*
 * An entry the doorbell has to leave in the SQ for want of send room is
 * consumed by the wait once there is room, not left for a send() that
 * never comes: here the server answers only after the third call came,
 * and the third is the entry left behind.  The server's socket holds the
 * first call unread over its SO_RCVBUF, so it gives no credit for the
 * second, 1 MiB, of which the call's window goes at once and the rest
 * fills the client's send buffer.  300 ms later the server reads.
 */
struct three_calls_srv {
	int sfd;
	ssize_t n[3];
	uint64_t h[3];
	int err;
};

static void *three_calls_thread(void *p)
{
	struct three_calls_srv *s = p;
	struct fastrpc_incoming_info ii;
	size_t cap = (1 << 20) + 1;
	uint8_t *b = malloc(cap);
	int i;

	usleep(300 * 1000);
	for (i = 0; i < 3; i++) {
		s->n[i] = b ? srv_recv(s->sfd, &ii, b, cap) : -ENOMEM;
		s->h[i] = ii.handle;
		if (s->n[i] < 0)
			break;
	}
	/* those that came are answered in any case, so that the client ends */
	for (i = 2; i >= 0; i--)
		if (s->n[i] >= 0)
			s->err |= fastrpc_send_reply(s->sfd, s->h[i], FASTRPC_OK,
						     "r", 1, 0) != 1;
	free(b);
	return NULL;
}

TEST_F_TIMEOUT(rg, submit_and_wait_stalled_entry, 60)
{
	struct timeval tv = { .tv_sec = 5 };
	struct three_calls_srv s = { .sfd = self->sfd, .n = { -1, -1, -1 } };
	struct pollfd pfd = { .fd = self->cfd, .events = POLLOUT };
	struct pollfd spfd = { .fd = self->sfd, .events = POLLIN };
	int sndbuf = 64 << 10, rcvbuf = 4096;
	struct fastrpc_cqe c;
	pthread_t thr;
	uint64_t tag;
	uint8_t *big;
	ssize_t n;
	int i;

	big = calloc(1, 1 << 20);
	ASSERT_NE(NULL, big);
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				sizeof(sndbuf)));
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
				sizeof(rcvbuf)));
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	tv.tv_sec = 20;
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	/* the first call, unread, puts the server's socket over SO_RCVBUF */
	ASSERT_EQ(16 << 10, fastrpc_send_call(self->cfd, 0xc0, M_RING, big,
					      16 << 10, 0));
	ASSERT_EQ(1, poll(&spfd, 1, WAIT_MS));
	ASSERT_EQ(0, pthread_create(&thr, NULL, three_calls_thread, &s));
	ASSERT_EQ(1 << 20, fastrpc_send_call(self->cfd, 0xc1, M_RING, big,
					     1 << 20, 0));
	/* no send room now: the third call has to wait in the SQ */
	ASSERT_EQ(0, poll(&pfd, 1, 0)) TH_LOG("the second call left room");
	ASSERT_EQ(0, queue_call(self->cr, 0xc2, 10));
	n = send(self->cfd, NULL, 0, MSG_WAITALL);
	pthread_join(thr, NULL);
	free(big);
	EXPECT_EQ(1, n) TH_LOG("%s", n < 0 ? strerror(errno) : "");
	/*
	 * In the order they completed: over TCP the third can overtake
	 * the second, whose tail still waited for credit when it went.
	 */
	EXPECT_EQ(16 << 10, s.n[0]);
	EXPECT_EQ((1 << 20) + 10, s.n[1] + s.n[2])
		TH_LOG("the third call never came: %zd, %zd", s.n[1], s.n[2]);
	EXPECT_TRUE(s.n[1] == 10 || s.n[2] == 10);
	EXPECT_EQ(0, s.err);
	for (i = 0; i < 3; i++) {
		tag = i == 0 ? 0xc2 : i == 1 ? 0xc1 : 0xc0;
		ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, tag,
				       WAIT_MS, &c));
		EXPECT_EQ(1, c.len);
		ASSERT_EQ(0, ring_put_cqe(self->cr, &c));
	}
}

/*
 * A client asleep in send(MSG_WAITALL) while other threads poll() the same
 * socket: a poller that holds the ring's lock delivers the result and
 * wakes only recvmsg() sleepers, and a waiter that found the lock held
 * must then be woken by the work item (ring->poll_missed), or it sleeps
 * with the result in its CQ.  Each call waits at most 5 s (SO_RCVTIMEO);
 * a wait that ends empty-handed with a completion in the CQ is a lost
 * wakeup.  The pollers spin on poll() with a 0 timeout to meet the lock
 * often.  The server answers on a ring thread of its own.
 */
struct poller {
	int fd;
	atomic_int stop;
	atomic_uint polls;
};

static void *poller_thread(void *p)
{
	struct poller *pl = p;
	struct pollfd pfd = { .fd = pl->fd, .events = POLLIN };

	while (!atomic_load(&pl->stop)) {
		poll(&pfd, 1, 0);
		atomic_fetch_add(&pl->polls, 1);
	}
	return NULL;
}

TEST_F_TIMEOUT(rg, submit_and_wait_with_pollers, 120)
{
	enum { N = 1000, POLLERS = 2 };
	struct timeval tv = { .tv_sec = 5 };
	struct poller pl = { .fd = self->cfd };
	pthread_t thr[POLLERS];
	unsigned int i, lost = 0, empty = 0;
	struct fastrpc_cqe c;
	ssize_t n;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	ASSERT_EQ(0, rsrv_start(&self->srv, self->sr));
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	for (i = 0; i < POLLERS; i++)
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, poller_thread, &pl));
	for (i = 0; i < N && !lost; i++) {
		uint64_t tag = 0xd000 + i;

		ASSERT_EQ(0, queue_call(self->cr, tag, (uint32_t)(i % 200)));
		for (;;) {
			n = send(self->cfd, NULL, 0, MSG_WAITALL);
			if (cq_reap(self->cr) > 0)
				break;
			if (n < 0 && errno == EAGAIN) {
				/* 5 s and nothing: lost if it is there now */
				usleep(100 * 1000);
				lost += cq_reap(self->cr) > 0;
				break;
			}
			empty++;
		}
		ASSERT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, tag, WAIT_MS,
				       &c)) TH_LOG("call %u", i);
		EXPECT_EQ(i % 200, c.len);
		ASSERT_EQ(0, ring_put_cqe(self->cr, &c));
	}
	atomic_store(&pl.stop, 1);
	for (i = 0; i < POLLERS; i++)
		pthread_join(thr[i], NULL);
	TH_LOG("%u calls, %u polls, %u waits woken with nothing new",
	       N, atomic_load(&pl.polls), empty);
	EXPECT_EQ(0, lost) TH_LOG("a wait slept with its result in the CQ");
	rsrv_stop(&self->srv);
	EXPECT_EQ(N, atomic_load(&self->srv.served));
	EXPECT_EQ(0, atomic_load(&self->srv.errors));
}

/*
 * With SO_BUSY_POLL, send(MSG_WAITALL) spins for its completion instead of
 * sleeping: the client thread, pinned to a CPU of its own, makes no
 * voluntary context switch while a server pinned to the other answers 5 ms
 * later; with SO_BUSY_POLL 0 the same wait sleeps (the control).  Another
 * task on the client's CPU ends a spin early (need_resched()), so the
 * spin is tried up to ten times and one clean try is enough; without it
 * every try sleeps.
 */
static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Two CPUs this thread may run on, in @cpu[]; false if there are not. */
static bool two_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	return n == 2;
}

/*
 * A server thread pinned to @cpu that answers @n calls, each 5 ms after
 * it came, with 8 bytes: created and pinned before the client measures,
 * so that nothing but the answers wakes on the client's CPU.
 */
struct pinned_server {
	int sfd;
	int cpu;
	int n;
	int err;
};

static void *pinned_server_thread(void *p)
{
	struct pinned_server *ps = p;
	struct fastrpc_incoming_info ii;
	uint8_t req[64];
	ssize_t n;
	int i;

	ps->err = pin_self(ps->cpu);
	for (i = 0; i < ps->n && !ps->err; i++) {
		n = srv_recv(ps->sfd, &ii, req, sizeof(req));
		if (n < 0) {
			ps->err = (int)n;
			break;
		}
		usleep(5000);
		n = fastrpc_send_reply(ps->sfd, ii.handle, FASTRPC_OK, "answered",
				       8, 0);
		if (n != 8)
			ps->err = n < 0 ? (int)n : -EPROTO;
	}
	return NULL;
}

static long voluntary_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* One call answered 5 ms later: the client's voluntary switches meanwhile */
static long busy_try(struct __test_metadata *_metadata, FIXTURE_DATA(rg) *self,
		     uint64_t tag)
{
	struct fastrpc_cqe c;
	long before, after;
	ssize_t n;

	if (queue_call(self->cr, tag, 8))
		return -1;
	before = voluntary_switches();
	n = send(self->cfd, NULL, 0, MSG_WAITALL);
	after = voluntary_switches();
	EXPECT_EQ(1, n) TH_LOG("%s", n < 0 ? strerror(errno) : "");
	EXPECT_EQ(1, cq_reap(self->cr));
	EXPECT_EQ(0, ring_wait(self->cr, FASTRPC_CQE_RESULT, tag, 0, &c));
	EXPECT_EQ(8, c.len);
	EXPECT_EQ(0, ring_put_cqe(self->cr, &c));
	return after - before;
}

TEST_F_TIMEOUT(rg, submit_and_wait_busy_poll, 60)
{
	enum { TRIES = 10 };
	struct pinned_server ps = { .sfd = self->sfd, .n = 1 + TRIES };
	int us = 2000000, off = 0, cpu[2], i;
	long sw, min_sw = LONG_MAX;
	pthread_t thr;

	if (!two_cpus(cpu))
		SKIP(return, "needs two CPUs: the spinner's and the server's");
	ASSERT_EQ(0, pin_self(cpu[0]));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 64, 32, &self->cr));
	ps.cpu = cpu[1];
	ASSERT_EQ(0, pthread_create(&thr, NULL, pinned_server_thread, &ps));
	/* the control: asleep, the wait switches away (net.core.busy_read off) */
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_BUSY_POLL, &off,
				sizeof(off)));
	sw = busy_try(_metadata, self, 0xe0);
	EXPECT_LE(1, sw) TH_LOG("a sleeping wait made no voluntary switch");
	if (setsockopt(self->cfd, SOL_SOCKET, SO_BUSY_POLL, &us, sizeof(us))) {
		/* the server still waits for its calls: send them */
		for (i = 0; i < TRIES; i++)
			busy_try(_metadata, self, 0xe1 + i);
		pthread_join(thr, NULL);
		SKIP(return, "SO_BUSY_POLL: %s", strerror(errno));
	}
	for (i = 0; i < TRIES; i++) {
		sw = busy_try(_metadata, self, 0xe1 + i);
		if (sw >= 0 && sw < min_sw)
			min_sw = sw;
	}
	pthread_join(thr, NULL);
	EXPECT_EQ(0, ps.err) TH_LOG("server: %s", strerror(-ps.err));
	EXPECT_EQ(0, min_sw) TH_LOG("every wait slept (%d tries)", TRIES);
	ASSERT_EQ(0, setsockopt(self->cfd, SOL_SOCKET, SO_BUSY_POLL, &off,
				sizeof(off)));
}

/*
 * A server with rings asleep in send(MSG_WAITALL) is woken by a call that
 * arrives (the writer does not deliver to a ring whose owner sleeps: the
 * sleeper does), and one more such send() both replies and waits.
 */
struct ring_waiter {
	struct ring *r;
	ssize_t n;
	int err;
	unsigned int reaped;
};

static void *ring_waiter_thread(void *p)
{
	struct ring_waiter *w = p;

	w->n = send(w->r->fd, NULL, 0, MSG_WAITALL);
	w->err = errno;
	w->reaped = (unsigned int)cq_reap(w->r);
	return NULL;
}

TEST_F_TIMEOUT(rg, submit_and_wait_server, 60)
{
	struct ring_waiter w = { 0 };
	struct fastrpc_cqe c;
	uint32_t status = 0;
	uint8_t rep[64];
	pthread_t thr;
	uint64_t tag;
	ssize_t n;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	w.r = self->sr;
	ASSERT_EQ(0, pthread_create(&thr, NULL, ring_waiter_thread, &w));
	usleep(200 * 1000);	/* most likely asleep by now; either way works */
	ASSERT_EQ(5, fastrpc_send_call(self->cfd, 0xb1, M_RING, "hello", 5,
				       0));
	pthread_join(thr, NULL);
	EXPECT_EQ(0, w.n) TH_LOG("%s", strerror(w.err));
	ASSERT_EQ(1, w.reaped);
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, 0, &c));
	EXPECT_EQ(M_RING, c.method);
	EXPECT_EQ(5, c.len);

	/* the reply, from the request's own bytes, and the wait for the next */
	{
		struct fastrpc_sqe e = {
			.op = FASTRPC_OP_REPLY, .id = c.id, .len = c.len,
			.addr = fastrpc_ring_cqe_data_off(&c),
			.flags = FASTRPC_SQE_RETURN_BUF, .buf = c.buf,
		};

		ASSERT_EQ(0, sq_put(self->sr, &e));
	}
	w.n = -2;
	ASSERT_EQ(0, pthread_create(&thr, NULL, ring_waiter_thread, &w));
	n = fastrpc_recv_result(self->cfd, &tag, &status, rep, sizeof(rep), 0);
	ASSERT_EQ(5, n);
	EXPECT_EQ(0xb1, tag);
	EXPECT_EQ(0, memcmp(rep, "hello", 5));
	ASSERT_EQ(6, fastrpc_send_call(self->cfd, 0xb2, M_RING, "hello2", 6,
				       0));
	pthread_join(thr, NULL);
	/* consumed the reply, then slept until the second call came */
	EXPECT_EQ(1, w.n) TH_LOG("%s", strerror(w.err));
	ASSERT_EQ(1, w.reaped);
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, 0, &c));
	EXPECT_EQ(6, c.len);
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, c.id, 0, NULL, 0));
	ASSERT_EQ(0, ring_buf_return(self->sr, c.buf));
	n = fastrpc_recv_result(self->cfd, &tag, &status, rep, sizeof(rep), 0);
	EXPECT_EQ(0, n);
	EXPECT_EQ(0xb2, tag);
}

/*
 * A server with rings shut down with shutdown(SHUT_RD): while its call is
 * open, send(MSG_WAITALL) waits as before; once the reply has gone and the
 * connection closed, a wait asleep since before wakes with ESHUTDOWN, and
 * later ones return it at once.  recvmsg() reads 0, poll() says so.
 */
TEST_F_TIMEOUT(rg, submit_and_wait_server_shutdown, 60)
{
	struct ring_waiter w = { 0 };
	struct pollfd p = { .events = POLLIN | POLLRDNORM | POLLRDHUP };
	struct fastrpc_incoming in;
	struct fastrpc_cqe c;
	uint32_t status = 0;
	uint8_t rep[64];
	pthread_t thr;
	bool cfound = true;
	uint64_t tag = 0;
	int mflags;
	ssize_t n;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 64, 32, &self->sr));
	/* a hang shows as EAGAIN at SO_RCVTIMEO, not as a stuck test */
	ASSERT_EQ(0, set_rcvtimeo(self->sfd, 20000));
	ASSERT_EQ(5, fastrpc_send_call(self->cfd, 0xc1, M_RING, "hello", 5,
				       0));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &c));
	ASSERT_EQ(0, shutdown(self->sfd, SHUT_RD));

	/* the call is open: no end of file, the wait is the usual one */
	errno = 0;
	EXPECT_EQ(-1, send(self->sfd, NULL, 0, MSG_WAITALL | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	p.fd = self->sfd;
	EXPECT_EQ(0, poll(&p, 1, 0));

	/* asleep before the reply goes */
	w.r = self->sr;
	w.n = -2;
	ASSERT_EQ(0, pthread_create(&thr, NULL, ring_waiter_thread, &w));
	usleep(200 * 1000);
	ASSERT_EQ(0, ring_op(self->sr, FASTRPC_OP_REPLY, 0, c.id, 0, NULL, 0));
	ASSERT_EQ(0, ring_buf_return(self->sr, c.buf));
	n = fastrpc_recv_result(self->cfd, &tag, &status, rep, sizeof(rep), 0);
	EXPECT_EQ(0, n);
	EXPECT_EQ(0xc1, tag);
	EXPECT_EQ(FASTRPC_OK, status);
	pthread_join(thr, NULL);
	EXPECT_EQ(-1, w.n);
	EXPECT_EQ(ESHUTDOWN, w.err) TH_LOG("%s", strerror(w.err));
	EXPECT_EQ(0, w.reaped);

	/* and from now on at once, with or without MSG_DONTWAIT */
	errno = 0;
	EXPECT_EQ(-1, send(self->sfd, NULL, 0, MSG_WAITALL));
	EXPECT_EQ(ESHUTDOWN, errno);
	errno = 0;
	EXPECT_EQ(-1, send(self->sfd, NULL, 0, MSG_WAITALL | MSG_DONTWAIT));
	EXPECT_EQ(ESHUTDOWN, errno);
	/* the doorbell alone is unchanged: nothing to consume */
	EXPECT_EQ(0, send(self->sfd, NULL, 0, MSG_DONTWAIT));
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLRDHUP, p.revents);
	EXPECT_EQ(0, raw_recvmsg(self->sfd, FASTRPC_CMSG_INCOMING, &in,
				 sizeof(in), &cfound, rep, sizeof(rep),
				 MSG_DONTWAIT, &mflags, NULL));
	EXPECT_FALSE(cfound);
	EXPECT_EQ(0, cq_reap(self->sr));
}

/* ---- the scribbler ------------------------------------------------------- */

/*
 * A ring client and a ring server make calls while other threads write
 * random values over every word the two processes' views share with the
 * kernel: indices, flags, entries and buffers.  The kernel must keep
 * answering system calls with documented results only, never hang, and
 * afterwards work for fresh sockets.  The debug tier's KASAN, kmemleak
 * and unload checks see what else it did.
 */
#define SCRIB_SECS	6
#define SCRIB_WRITES	1000000u
#define SCRIB_THREADS	3

struct scrib {
	struct ring *r[2];	/* client, server */
	atomic_int stop;
	atomic_ullong writes;
	atomic_uint calls, results, incoming, errors_cqe, recvmsgs, sends;
	atomic_uint bad;	/* undocumented socket results */
	atomic_int bad_err;
	atomic_int bad_where;
};

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void scrib_bad(struct scrib *sc, int where, int err)
{
	atomic_fetch_add(&sc->bad, 1);
	atomic_store(&sc->bad_err, err);
	atomic_store(&sc->bad_where, where);
}

static uint32_t scrib_value(uint64_t *s, const struct ring *r)
{
	uint64_t x = xs(s);

	switch (x % 8) {
	case 0:
		return 0;
	case 1:
		return ~0U;
	case 2:	/* near the kernel's indices */
		return r->sq_tail + (uint32_t)(x >> 8) % (2 * r->sq_n) -
		       r->sq_n;
	case 3:
		return 0x80000000U + (uint32_t)(x >> 32) % 4;
	case 4:	/* a plausible offset in the area */
		return (uint32_t)(x >> 16) % (r->area_len + 64);
	case 5:
		return FASTRPC_RING_NO_BUF;
	default:
		return (uint32_t)(x >> 20);
	}
}

/* Write one random word somewhere in @r's shared regions. */
static void scrib_write(uint64_t *s, struct ring *r)
{
	uint64_t x = xs(s);
	uint32_t v = scrib_value(s, r);
	uint32_t *w;

	switch (x % 10) {
	case 0: w = r->sq_prod; break;
	case 1: w = r->sq_cons; break;
	case 2: w = r->sq_flags; break;
	case 3: w = r->cq_prod; break;
	case 4: w = r->cq_cons; break;
	case 5: w = (uint32_t *)(r->sqr + 4 * ((x >> 8) %
					      (r->info.sq_size / 4)));
		break;
	case 6: w = (uint32_t *)(r->cqr + 4 * ((x >> 8) %
					      (r->info.cq_size / 4)));
		break;
	case 7: /* an SQE field: op, flags, lengths */
		w = (uint32_t *)&r->sqes[(x >> 8) % r->sq_n] + (x >> 40) % 12;
		break;
	case 8:
		w = (uint32_t *)&r->cqes[(x >> 8) % r->cq_n] + (x >> 40) % 10;
		break;
	default:
		w = (uint32_t *)(r->area + 4 * ((x >> 8) %
					       (r->info.buf_size / 4)));
		break;
	}
	__atomic_store_n(w, v, __ATOMIC_RELAXED);
}

static void *scrib_thread(void *p)
{
	struct scrib *sc = p;
	uint64_t s = now_ns() | 1, n = 0;

	s ^= (uint64_t)pthread_self();
	while (!atomic_load(&sc->stop)) {
		scrib_write(&s, sc->r[xs(&s) & 1]);
		if (!(++n % 1024)) {
			atomic_fetch_add(&sc->writes, 1024);
			sched_yield();
		}
	}
	return NULL;
}

/* Forge plausible entries into the SQ and submit them. */
static void *forge_thread(void *p)
{
	struct scrib *sc = p;
	uint64_t s = now_ns() ^ 0x5eed;

	while (!atomic_load(&sc->stop)) {
		struct ring *r = sc->r[xs(&s) & 1];
		uint64_t x = xs(&s);
		struct fastrpc_sqe e = {
			.op = (uint8_t)(x % 7),
			.flags = (uint8_t)((x >> 3) % 16),	/* LEND too */
			.meta_len = (x >> 6) % 4 ? 0 : (uint16_t)(x >> 8) % 64,
			.method = (uint32_t)(x >> 16) % 20,
			.id = (x >> 24) % 4 ? (x >> 24) % 64 : xs(&s),
			.addr = scrib_value(&s, r),
			.len = (uint32_t)(xs(&s) % (r->area_len + 16)),
			.buf = (x >> 32) % 2 ? FASTRPC_RING_NO_BUF :
			       (uint32_t)((x >> 34) % (r->rx_end / r->bsz + 1)) *
			       r->bsz,
			.smsg_len = (x >> 50) % 8 ? 0 : (uint16_t)(x >> 52) % 32,
			.timeout_ns = (x >> 60) % 2 ? 0 : 1000000,
		};
		uint32_t i = __atomic_load_n(r->sq_prod, __ATOMIC_RELAXED);
		ssize_t n;

		memcpy(&r->sqes[i & (r->sq_n - 1)], &e, sizeof(e));
		st_rel(r->sq_prod, i + 1);
		n = send(r->fd, NULL, 0, MSG_DONTWAIT);
		atomic_fetch_add(&sc->sends, 1);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			scrib_bad(sc, 1, errno);
		if (!(x % 4))
			usleep(100);
	}
	return NULL;
}

/*
 * One side's worker: keep calls going (client) or answer them (server)
 * through a ring whose every word may be garbage.  Nothing read from
 * the shared pages is trusted further than the pages themselves.
 */
static void *scrib_worker(void *p, int side)
{
	struct scrib *sc = p;
	struct ring *r = sc->r[side];
	size_t cap = 1 << 20;
	uint8_t *big = malloc(cap);
	uint64_t tag = (uint64_t)side << 32;

	while (big && !atomic_load(&sc->stop)) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		uint32_t prod, k;
		ssize_t n;

		if (!side && (r->sq_tail - ld_acq(r->sq_cons)) < r->sq_n) {
			struct fastrpc_sqe e = {
				.op = FASTRPC_OP_CALL, .method = M_ECHO,
				.id = ++tag,
				.len = tag % 5 ? (uint32_t)(tag % 300) : 3000,
				.addr = r->rx_end,
			};

			memcpy(&r->sqes[r->sq_tail & (r->sq_n - 1)], &e,
			       sizeof(e));
			st_rel(r->sq_prod, ++r->sq_tail);
			atomic_fetch_add(&sc->calls, 1);
		}
		n = send(r->fd, NULL, 0, MSG_DONTWAIT);
		atomic_fetch_add(&sc->sends, 1);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			scrib_bad(sc, 10 + side, errno);
		/* reap at most a CQ's worth; a garbage index costs only us */
		prod = ld_acq(r->cq_prod);
		if (prod - r->cq_head > r->cq_n)
			r->cq_head = prod - r->cq_n;
		for (k = 0; r->cq_head != prod && k < r->cq_n; k++) {
			struct fastrpc_cqe c = r->cqes[r->cq_head++ &
						       (r->cq_n - 1)];
			struct fastrpc_sqe e = { 0 };

			if (c.type == FASTRPC_CQE_ERROR) {
				atomic_fetch_add(&sc->errors_cqe, 1);
				continue;
			}
			/* a forged lent entry's: names no run */
			if (c.type == FASTRPC_CQE_SENT)
				continue;
			if (c.type == FASTRPC_CQE_RESULT)
				atomic_fetch_add(&sc->results, 1);
			if (c.type == FASTRPC_CQE_INCOMING) {
				atomic_fetch_add(&sc->incoming, 1);
				e.op = FASTRPC_OP_REPLY;
				e.id = c.id;
				e.addr = c.buf + c.meta_len;
				e.len = c.len;
				if (c.buf != FASTRPC_RING_NO_BUF) {
					e.flags = FASTRPC_SQE_RETURN_BUF;
					e.buf = c.buf;
				}
			} else if (c.buf != FASTRPC_RING_NO_BUF) {
				e.op = FASTRPC_OP_BUF_RETURN;
				e.buf = c.buf;
			} else {
				continue;
			}
			if (r->sq_tail - ld_acq(r->sq_cons) < r->sq_n) {
				memcpy(&r->sqes[r->sq_tail & (r->sq_n - 1)],
				       &e, sizeof(e));
				st_rel(r->sq_prod, ++r->sq_tail);
			}
		}
		st_rel(r->cq_cons, r->cq_head);
		/* messages for recvmsg() */
		{
			union {
				struct fastrpc_incoming in;
				struct fastrpc_result res;
			} cm;
			bool found;
			int mflags;

			n = raw_recvmsg(r->fd, side ? FASTRPC_CMSG_INCOMING :
					FASTRPC_CMSG_RESULT, &cm,
					side ? sizeof(cm.in) : sizeof(cm.res),
					&found, big, cap,
					MSG_DONTWAIT | MSG_TRUNC, &mflags,
					NULL);
			if (n < 0)
				errno = (int)-n;
			/* answer a call too large for the ring */
			if (n >= 0 && side && found) {
				ssize_t rr = fastrpc_send_reply(
					r->fd, cm.in.handle, FASTRPC_OK, big,
					(size_t)n < cap ? (size_t)n : cap,
					MSG_DONTWAIT);

				if (rr < 0 && rr != -EAGAIN && rr != -ENOENT &&
				    rr != -ECANCELED)
					scrib_bad(sc, 40, (int)-rr);
			}
		}
		if (n >= 0)
			atomic_fetch_add(&sc->recvmsgs, 1);
		else if (errno != EAGAIN && errno != EINTR)
			scrib_bad(sc, 20 + side, errno);
		if (poll(&pfd, 1, 5) < 0 && errno != EINTR)
			scrib_bad(sc, 30 + side, errno);
	}
	free(big);
	return NULL;
}

static void *scrib_client(void *p)
{
	return scrib_worker(p, 0);
}

static void *scrib_server(void *p)
{
	return scrib_worker(p, 1);
}

/* A correct call between fresh sockets, both on rings; 0 or -errno. */
static int fresh_ring_call(uint16_t base, const char *name)
{
	struct ring *cr = NULL, *sr = NULL;
	struct rsrv srv;
	struct fastrpc_cqe c;
	uint8_t req[1000];
	uint16_t port;
	int sfd, cfd, ret;

	ret = pair_open(base, name, 10000, &sfd, &cfd, &port);
	if (!ret)
		ret = ring_new(sfd, 8, 8, 1024, 16, 4, &sr);
	if (!ret)
		ret = ring_new(cfd, 8, 8, 1024, 16, 4, &cr);
	if (!ret)
		ret = rsrv_start(&srv, sr);
	if (!ret) {
		fill_pattern(req, sizeof(req), 0xf5);
		ret = ring_call(cr, 0xf5, M_ECHO, 0, 0, NULL, 0, req,
				sizeof(req));
		if (!ret)
			ret = ring_wait(cr, FASTRPC_CQE_RESULT, 0xf5, WAIT_MS,
					&c);
		if (!ret && (c.res != FASTRPC_OK || c.len != sizeof(req) ||
			     cqe_buf_problem(cr, &c) ||
			     memcmp(cqe_payload(cr, &c), req, sizeof(req))))
			ret = -EBADMSG;
		rsrv_stop(&srv);
		if (!ret && atomic_load(&srv.errors))
			ret = atomic_load(&srv.last_err);
	}
	ring_free(cr);
	ring_free(sr);
	pair_close(sfd, cfd);
	return ret;
}

TEST_F_TIMEOUT(rg, scribbler, 120)
{
	struct scrib sc;
	pthread_t thr[SCRIB_THREADS + 3];
	struct fastrpc_ring_info before[2], after;
	uint8_t *maps[2][3];
	size_t sizes[2][3];
	uint64_t t0 = now_ms(), s = 12345;
	socklen_t len;
	int i, k, nthr = 0;

	memset(&sc, 0, sizeof(sc));
	/* 2 KiB of receive buffers: calls of 3000 bytes go to recvmsg() */
	ASSERT_EQ(0, ring_new(self->sfd, 32, 32, 256, 64, 8, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 32, 32, 256, 64, 8, &self->cr));
	sc.r[0] = self->cr;
	sc.r[1] = self->sr;
	before[0] = self->cr->info;
	before[1] = self->sr->info;

	ASSERT_EQ(0, pthread_create(&thr[nthr++], NULL, scrib_client, &sc));
	ASSERT_EQ(0, pthread_create(&thr[nthr++], NULL, scrib_server, &sc));
	/* calls flow before the garbage starts */
	usleep(300000);
	ASSERT_EQ(0, pthread_create(&thr[nthr++], NULL, forge_thread, &sc));
	for (i = 0; i < SCRIB_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&thr[nthr++], NULL, scrib_thread,
					    &sc));
	while ((now_ms() - t0 < SCRIB_SECS * 1000 ||
		atomic_load(&sc.writes) < SCRIB_WRITES) &&
	       now_ms() - t0 < 60000)
		usleep(50000);
	atomic_store(&sc.stop, 1);
	for (i = 0; i < nthr; i++)
		pthread_join(thr[i], NULL);

	TH_LOG("%llu writes in %llu ms; %u calls, %u results, %u incoming, %u error CQEs, %u recvmsg, %u send()",
	       (unsigned long long)atomic_load(&sc.writes),
	       (unsigned long long)(now_ms() - t0), atomic_load(&sc.calls),
	       atomic_load(&sc.results), atomic_load(&sc.incoming),
	       atomic_load(&sc.errors_cqe), atomic_load(&sc.recvmsgs),
	       atomic_load(&sc.sends));
	EXPECT_LE(SCRIB_WRITES, atomic_load(&sc.writes));
	EXPECT_EQ(0, atomic_load(&sc.bad))
		TH_LOG("undocumented result at %d: %s",
		       atomic_load(&sc.bad_where),
		       strerror(atomic_load(&sc.bad_err)));
	/* Calls did run. */
	EXPECT_LT(0, atomic_load(&sc.results));

	/* The kernel kept its own view of the rings. */
	for (k = 0; k < 2; k++) {
		len = sizeof(after);
		ASSERT_EQ(0, getsockopt(k ? self->sfd : self->cfd, SOL_FASTRPC,
					FASTRPC_RING, &after, &len));
		EXPECT_EQ(0, memcmp(&before[k], &after, sizeof(after)));
	}

	/*
	 * Close both sockets with the maps still there, then scribble on
	 * the pages the kernel let go of, then unmap.
	 */
	for (k = 0; k < 2; k++) {
		struct ring *r = sc.r[k];

		maps[k][0] = r->sqr;
		maps[k][1] = r->cqr;
		maps[k][2] = r->area;
		sizes[k][0] = r->info.sq_size;
		sizes[k][1] = r->info.cq_size;
		sizes[k][2] = r->info.buf_size;
	}
	close(self->cfd);
	close(self->sfd);
	self->cfd = self->sfd = -1;
	for (i = 0; i < 100000; i++) {
		uint64_t x = xs(&s);
		int a = (int)(x % 2), b = (int)((x >> 1) % 3);

		((uint32_t *)maps[a][b])[(x >> 8) % (sizes[a][b] / 4)] =
			(uint32_t)(x >> 32);
	}
	/* ring_free() in the teardown unmaps; CQ errors are expected here */
	self->cr->err = self->sr->err = 0;

	/* A fresh pair still does a correct call, on rings and without. */
	EXPECT_EQ(0, fresh_ring_call(BASE_PORT + 200, "scribbler-after"));
	{
		struct echo_srv es;
		uint8_t req[64], resp[64];
		uint32_t status;
		int fd;

		ASSERT_EQ(0, echo_srv_start(&es, AF_INET, BASE_PORT + 300, 1));
		fd = fastrpc_client_open("127.0.0.1", es.port, SOCK_CLOEXEC);
		ASSERT_LE(0, fd);
		set_rcvtimeo(fd, 10000);
		fill_pattern(req, sizeof(req), 9);
		EXPECT_EQ((ssize_t)sizeof(req),
			  fastrpc_call(fd, M_ECHO, req, sizeof(req), resp,
				       sizeof(resp), &status));
		EXPECT_EQ(FASTRPC_OK, status);
		EXPECT_EQ(0, memcmp(req, resp, sizeof(req)));
		close(fd);
		echo_srv_stop(&es);
	}
}

/*
 * Close with lent buffers, unconsumed entries and calls in flight on
 * both sides; the mappings stay valid memory afterwards.
 */
TEST_F(rg, close_with_everything_in_flight)
{
	struct fastrpc_cqe s;
	struct ring *cr, *sr;
	int i;

	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 256, 16, 8, &self->sr));
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 256, 16, 8, &self->cr));
	cr = self->cr;
	sr = self->sr;
	for (i = 0; i < 6; i++)
		ASSERT_EQ(0, ring_call(cr, 0x600 + i, M_RING, 0, 0, NULL, 0,
				       "held", 4));
	/* the server takes them (lent buffers) and answers two */
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(0, ring_wait(sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
				       &s));
		if (i < 2)
			ASSERT_EQ(0, ring_op(sr, FASTRPC_OP_REPLY, 0, s.id,
					     FASTRPC_OK, "abc", 3));
	}
	ASSERT_EQ(0, ring_flush(sr, WAIT_MS));
	/* results lent to the client, not returned; entries left queued */
	usleep(100000);
	{
		struct fastrpc_sqe e = { .op = FASTRPC_OP_CALL, .id = 0x700 };

		ASSERT_EQ(0, sq_put(cr, &e));
		e.id = 0x701;
		ASSERT_EQ(0, sq_put(sr, &e));
	}
	close(self->sfd);
	close(self->cfd);
	self->sfd = self->cfd = -1;
	memset(cr->area, 0x11, cr->area_len);
	memset(sr->area, 0x22, sr->area_len);
	*cr->sq_prod += 5;
	EXPECT_EQ(0, fresh_ring_call(BASE_PORT + 200, "close-after"));
}

/* ---- lending (FASTRPC_SQE_LEND) ------------------------------------------ */

/* Does the module take FASTRPC_SQE_LEND and post FASTRPC_CQE_SENT? */
static bool lend_supported(int fd)
{
	struct fastrpc_features f;

	return !fastrpc_get_features(fd, &f) &&
	       (f.features & FASTRPC_FEAT_RING_LEND);
}

/*
 * Keep ring_stage() (ring_call() and ring_op() with bytes) to @slot bytes
 * per SQ position at the start of the user's buffers, and return the
 * first offset after them: the bytes from there on are the test's own,
 * for payloads lent to the kernel, which must stay put until their
 * FASTRPC_CQE_SENT however many entries go through the SQ meanwhile.
 */
static uint32_t ring_reserve(struct ring *r, uint32_t slot)
{
	r->slot_sz = slot / 8 * 8;
	return r->rx_end + r->sq_n * r->slot_sz;
}

/* Queue an entry whose payload already lies at @addr, and kick. */
static int ring_entry(struct ring *r, uint8_t op, uint8_t flags, uint64_t id,
		      uint32_t method, uint32_t addr, uint32_t len,
		      uint32_t buf)
{
	struct fastrpc_sqe e = {
		.op = op, .flags = flags, .method = method, .id = id,
		.addr = addr, .len = len, .buf = buf,
	};

	return ring_submit(r, &e, NULL, 0, NULL, 0);
}

/* Write @len pattern bytes for @tag at @off and lend them to CALL @tag. */
static int lend_call(struct ring *r, uint64_t tag, uint32_t method,
		     uint32_t off, uint32_t len)
{
	fill_pattern(r->area + off, len, tag);
	return ring_entry(r, FASTRPC_OP_CALL, FASTRPC_SQE_LEND, tag, method,
			  off, len, 0);
}

/*
 * NULL if @c is the FASTRPC_CQE_SENT of the entry with @op, @id, @addr
 * and @len, with @res; else what differs.
 */
static const char *sent_problem(const struct fastrpc_cqe *c, uint8_t op,
				uint64_t id, uint32_t addr, uint32_t len,
				int32_t res)
{
	if (c->type != FASTRPC_CQE_SENT)
		return "not a SENT completion";
	if (c->op != op)
		return "op is not the entry's";
	if (c->id != id)
		return "id is not the entry's";
	if (c->buf != addr)
		return "buf is not the entry's addr";
	if (c->len != len)
		return "len is not the entry's";
	if (c->res != res)
		return "unexpected res";
	return NULL;
}

#define SENT_LOG(c)	TH_LOG("SENT op %u id %#llx buf %#x len %u res %d", \
			       (c).op, (unsigned long long)(c).id, (c).buf, \
			       (c).len, (c).res)

#define LEND_OR_SKIP(fd) do { \
	if (!lend_supported(fd)) \
		SKIP(return, "module without FASTRPC_FEAT_RING_LEND"); \
} while (0)

/*
 * FASTRPC_SQE_LEND where it does not belong: on CANCEL and BUF_RETURN,
 * on a CALL or REPLY without payload.  Each entry is malformed: one ERROR
 * of -EINVAL, nothing else (no SENT, no call, no run given back).  Then
 * how lending and RETURN_BUF go together when part of an entry fails,
 * and the entries that are right work.
 */
TEST_F_TIMEOUT(rg, lend_bad_sqes, 60)
{
	uint8_t meta[128], buf[4096];
	size_t ml = make_meta(meta, sizeof(meta), "lend");
	struct fastrpc_incoming_info ii;
	struct fastrpc_cqe c;
	struct ring *r;
	uint32_t run, lend;
	uint64_t held;
	ssize_t n;
	int fd;

	LEND_OR_SKIP(self->cfd);
	/* 4 receive buffers of 1 KiB; 1 KiB for ring_stage(), then ours */
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 1024, 16, 4, &self->cr));
	r = self->cr;
	lend = ring_reserve(r, 64);
	ASSERT_LE(lend + 4096, r->area_len);

	/* a run lent to us, for the entries that name one */
	ASSERT_EQ(0, ring_call(r, 1, M_RING, 0, 0, NULL, 0, "a", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 100, 1));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 1, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	run = c.buf;
	{
		struct bad_sqe b[] = {
			{ "CANCEL with LEND", { .op = FASTRPC_OP_CANCEL,
						.flags = FASTRPC_SQE_LEND,
						.id = 0x501 }, E1(EINVAL), NULL, 0 },
			{ "CANCEL with LEND and RETURN_BUF",
			  { .op = FASTRPC_OP_CANCEL,
			    .flags = FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF,
			    .id = 0x502, .buf = run }, E1(EINVAL), NULL, 0 },
			{ "BUF_RETURN with LEND", { .op = FASTRPC_OP_BUF_RETURN,
						    .flags = FASTRPC_SQE_LEND,
						    .id = 0x503, .buf = run },
			  E1(EINVAL), NULL, 0 },
			{ "CALL with LEND, len 0", { .op = FASTRPC_OP_CALL,
						     .flags = FASTRPC_SQE_LEND,
						     .method = M_RING,
						     .id = 0x504 },
			  E1(EINVAL), NULL, 0 },
			{ "CALL with LEND, metadata, len 0",
			  { .op = FASTRPC_OP_CALL, .flags = FASTRPC_SQE_LEND,
			    .method = M_RING, .id = 0x505,
			    .meta_len = (uint16_t)ml }, E1(EINVAL), meta, ml },
			{ "streaming CALL with LEND, len 0",
			  { .op = FASTRPC_OP_CALL,
			    .flags = FASTRPC_SQE_STREAM | FASTRPC_SQE_LEND,
			    .method = M_RING, .id = 0x506 }, E1(EINVAL), NULL, 0 },
			{ "CALL with LEND and RETURN_BUF, len 0",
			  { .op = FASTRPC_OP_CALL,
			    .flags = FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF,
			    .method = M_RING, .id = 0x507, .buf = run },
			  E1(EINVAL), NULL, 0 },
		};

		run_bad(_metadata, r, b, sizeof(b) / sizeof(b[0]));
	}
	/* Nothing else happened: no SENT, no call at the server. */
	EXPECT_EQ(0, ring_idle(r, 200));
	EXPECT_EQ(-EAGAIN, fastrpc_recv_call(self->sfd, NULL, buf, sizeof(buf),
					     MSG_DONTWAIT));
	/* The run is still lent: it goes back now, and only once. */
	ASSERT_EQ(0, ring_buf_return(r, run));
	EXPECT_EQ(0, ring_idle(r, 100));
	EXPECT_EQ(0, bad_return(r, run, -EINVAL));
	/* The refused calls' tags are free, and a plain call works. */
	ASSERT_EQ(0, ring_call(r, 0x504, M_RING, 0, 0, NULL, 0, "p", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 10, 0x504));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x504, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_TRUE(check_pattern(cqe_payload(r, &c), 10, 0x504));
	ASSERT_EQ(0, ring_put_cqe(r, &c));

	/*
	 * A lent CALL that fails (a tag in use): its ERROR and no SENT; the
	 * bytes are free at once, and so is the run it names with
	 * RETURN_BUF, which must not wait for a SENT that never comes.
	 */
	ASSERT_EQ(0, ring_call(r, 0x600, M_RING, 0, 0, NULL, 0, "h", 1));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, buf, sizeof(buf)));
	held = ii.handle;
	ASSERT_EQ(0, ring_call(r, 0x601, M_RING, 0, 0, NULL, 0, "b", 1));
	ASSERT_EQ(0, plain_answer(self->sfd, 100, 0x601));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x601, WAIT_MS, &c));
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	run = c.buf;
	fill_pattern(r->area + lend, 2000, 0x600);
	ASSERT_EQ(0, ring_entry(r, FASTRPC_OP_CALL,
				FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF,
				0x600, M_RING, lend, 2000, run));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 0x600, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_CALL, c.op);
	EXPECT_EQ(-EEXIST, c.res);
	EXPECT_EQ(run, c.buf);
	EXPECT_EQ(0, ring_idle(r, 200)) TH_LOG("a SENT for a failed entry?");
	EXPECT_EQ(0, bad_return(r, run, -EINVAL)) TH_LOG("run not given back");

	/*
	 * A lent CALL whose RETURN_BUF names a run not lent (the one just
	 * given back): the return fails at once with its own ERROR, the
	 * call goes on, and its bytes come back with a SENT as usual.
	 */
	fill_pattern(r->area + lend, 3000, 0x602);
	ASSERT_EQ(0, ring_entry(r, FASTRPC_OP_CALL,
				FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF,
				0x602, M_RING + 1, lend, 3000, run));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_ERROR, 0x602, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OP_BUF_RETURN, c.op);
	EXPECT_EQ(-EINVAL, c.res);
	EXPECT_EQ(run, c.buf);
	do {
		n = srv_recv(self->sfd, &ii, buf, sizeof(buf));
		ASSERT_LE(0, n);
	} while (ii.method != M_RING + 1);
	ASSERT_EQ(3000, n);
	EXPECT_TRUE(check_pattern(buf, 3000, 0x602));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_SENT, 0x602, WAIT_MS, &c));
	EXPECT_EQ(NULL, sent_problem(&c, FASTRPC_OP_CALL, 0x602, lend, 3000,
				     0)) SENT_LOG(c);
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x602, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	/* the held call is undisturbed by its failed twin */
	ASSERT_EQ(0, fastrpc_send_reply(self->sfd, held, FASTRPC_OK, NULL, 0,
					0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0x600, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	EXPECT_EQ(0, ring_idle(r, 200));

	/* A server's REPLY with LEND and no payload, then a right one. */
	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 1024, 8, 4, &self->sr));
	fd = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_rcvtimeo(fd, WAIT_MS));
	fill_pattern(buf, 500, 0x700);
	ASSERT_EQ(500, fastrpc_send_call(fd, 0x700, M_RING, buf, 500, 0));
	ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_INCOMING, ANY, WAIT_MS,
			       &c));
	ASSERT_EQ(NULL, cqe_buf_problem(self->sr, &c));
	ASSERT_EQ(0, ring_entry(self->sr, FASTRPC_OP_REPLY, FASTRPC_SQE_LEND,
				c.id, FASTRPC_OK, 0, 0, 0));
	{
		struct fastrpc_cqe e;

		ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_ERROR, c.id,
				       WAIT_MS, &e));
		EXPECT_EQ(FASTRPC_OP_REPLY, e.op);
		EXPECT_EQ(-EINVAL, e.res);
		EXPECT_EQ(0, ring_idle(self->sr, 100));
	}
	EXPECT_EQ(-EAGAIN, fastrpc_recv_result(fd, NULL, NULL, buf, sizeof(buf),
					       MSG_DONTWAIT));
	/*
	 * The call is still open: echo it from its run, lent, and in the
	 * same doorbell try to give that run back once more.  It is
	 * promised back with the SENT, so the second return is refused
	 * and the kernel cannot lend the run to a new message while the
	 * reply still reads it.
	 */
	lend = (uint32_t)(cqe_payload(self->sr, &c) - self->sr->area);
	{
		struct fastrpc_sqe e = {
			.op = FASTRPC_OP_REPLY,
			.flags = FASTRPC_SQE_LEND | FASTRPC_SQE_RETURN_BUF,
			.method = FASTRPC_OK, .id = c.id, .addr = lend,
			.len = c.len, .buf = c.buf,
		};

		ASSERT_EQ(0, sq_put(self->sr, &e));
	}
	EXPECT_EQ(0, bad_return(self->sr, c.buf, -EINVAL))
		TH_LOG("a run promised back was given back twice");
	{
		uint8_t back[600];
		uint32_t status;
		uint64_t tag;
		struct fastrpc_cqe s;

		ASSERT_EQ(500, fastrpc_recv_result(fd, &tag, &status, back,
						   sizeof(back), 0));
		EXPECT_EQ(0x700, tag);
		EXPECT_EQ(FASTRPC_OK, status);
		EXPECT_TRUE(check_pattern(back, 500, 0x700));
		ASSERT_EQ(0, ring_wait(self->sr, FASTRPC_CQE_SENT, c.id,
				       WAIT_MS, &s));
		EXPECT_EQ(NULL, sent_problem(&s, FASTRPC_OP_REPLY, c.id, lend,
					     500, 0)) SENT_LOG(s);
	}
	/* its run went back with the SENT: not twice */
	EXPECT_EQ(0, bad_return(self->sr, c.buf, -EINVAL));
	EXPECT_EQ(0, ring_idle(self->sr, 100));
	close(fd);
}

/*
 * Lent calls of 64 bytes to 1 MiB against the plain echo server, each
 * with bytes of its own, from eight payload regions: every echo is
 * exact, and every call gets exactly one SENT naming its entry.  A
 * region is written again for the next call as soon as its SENT is in,
 * whether the call's result is or not: after SENT the kernel no longer
 * reads it, so the echoes stay exact.  The receive buffers hold every
 * result of a size, so no run has to wait for a return queued behind a
 * call that waits itself.
 */
#define LEND_SLOTS	8
#define LEND_CALLS	12

TEST_F_TIMEOUT(rg, lend_calls, 240)
{
	static const uint32_t sizes[] = { 64, 16 << 10, 100000, 1 << 20 };
	const uint32_t mib = 1 << 20;
	struct echo_srv es;
	struct fastrpc_cqe c;
	struct ring *r;
	unsigned int k;

	LEND_OR_SKIP(self->cfd);
	/* buffers of 1 MiB: LEND_CALLS + 4 to receive, LEND_SLOTS ours */
	r = echo_ring_client(_metadata, self, &es, 16, 64, mib,
			     LEND_CALLS + 4 + LEND_SLOTS, LEND_CALLS + 4);
	ASSERT_EQ(0, fastrpc_set_max_calls(self->cfd, 64));
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		const uint32_t len = sizes[k];
		const uint64_t base = (uint64_t)(k + 1) << 32;
		unsigned int slot_of[LEND_CALLS], free_slot[LEND_SLOTS];
		bool got_result[LEND_CALLS] = { false };
		bool got_sent[LEND_CALLS] = { false };
		unsigned int next = 0, results = 0, sents = 0, nfree, i;

		for (nfree = 0; nfree < LEND_SLOTS; nfree++)
			free_slot[nfree] = LEND_SLOTS - 1 - nfree;
		while (results < LEND_CALLS || sents < LEND_CALLS) {
			/* a call for every free region */
			while (next < LEND_CALLS && nfree) {
				slot_of[next] = free_slot[--nfree];
				ASSERT_EQ(0, lend_call(r, base + next, M_ECHO,
						       r->rx_end +
						       slot_of[next] * mib,
						       len));
				next++;
			}
			ASSERT_EQ(0, ring_wait(r, ANY_TYPE, ANY, WAIT_MS, &c))
				TH_LOG("%u bytes: %u of %u started, %u results, %u SENT",
				       len, next, LEND_CALLS, results, sents);
			ASSERT_NE(FASTRPC_CQE_ERROR, c.type)
				TH_LOG("op %u id %#llx: %s", c.op,
				       (unsigned long long)c.id,
				       strerror(-c.res));
			ASSERT_LE(base, c.id);
			ASSERT_GT(base + next, c.id);
			i = (unsigned int)(c.id - base);
			if (c.type == FASTRPC_CQE_SENT) {
				ASSERT_FALSE(got_sent[i])
					TH_LOG("%u bytes: call %u sent twice",
					       len, i);
				got_sent[i] = true;
				sents++;
				EXPECT_EQ(NULL, sent_problem(&c,
						FASTRPC_OP_CALL, base + i,
						r->rx_end + slot_of[i] * mib,
						len, 0)) SENT_LOG(c);
				/* the region is ours again */
				free_slot[nfree++] = slot_of[i];
				continue;
			}
			ASSERT_EQ(FASTRPC_CQE_RESULT, c.type);
			ASSERT_FALSE(got_result[i])
				TH_LOG("%u bytes: call %u answered twice",
				       len, i);
			got_result[i] = true;
			results++;
			EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
			EXPECT_EQ(FASTRPC_OK, c.res);
			ASSERT_EQ(len, c.len);
			ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
			EXPECT_TRUE(check_pattern(cqe_payload(r, &c), len,
						  c.id))
				TH_LOG("%u bytes: echo of call %u differs",
				       len, i);
			ASSERT_EQ(0, ring_put_cqe(r, &c));
		}
	}
	EXPECT_EQ(0, ring_idle(r, 200));
	echo_srv_stop(&es);
	EXPECT_EQ(4 * LEND_CALLS, echo_srv_served(&es));
	EXPECT_EQ(0, atomic_load(&es.errors))
		TH_LOG("echo server: %s", strerror(atomic_load(&es.last_err)));
}

/*
 * A ring server that answers every call with REPLY, LEND and RETURN_BUF
 * straight from the run the request came in, with four receive buffers
 * of 16 KiB and requests up to 64 KiB: a run goes back only with its
 * reply's SENT, so if one were kept the server would stop receiving.
 * 200 calls, eight in flight; every echo exact, one SENT per lent reply.
 */
static uint32_t rx_run_len(unsigned int i)
{
	if (i % 25 == 0)
		return 0;		/* nothing to lend: a plain reply */
	if (i % 25 == 1)
		return 65536;		/* all four receive buffers */
	return (uint32_t)(i * 7919u % 65536u) + 1;
}

TEST_F_TIMEOUT(rg, lend_reply_from_rx_run, 180)
{
	enum { N = 200, INFLIGHT = 8 };
	unsigned int sent = 0, done = 0, lent = 0, i;
	uint8_t seen[N] = { 0 };
	uint8_t *req = malloc(65536);
	struct fastrpc_cqe c;
	struct ring *r;
	uint64_t t0;

	LEND_OR_SKIP(self->cfd);
	ASSERT_NE(NULL, req);
	ASSERT_EQ(0, ring_new(self->sfd, 16, 16, 16384, 4, 4, &self->sr));
	ASSERT_EQ(0, rsrv_start_opt(&self->srv, self->sr, true));
	/* 16 receive buffers of 64 KiB; 64 KiB per SQ position to stage */
	ASSERT_EQ(0, ring_new(self->cfd, 16, 32, 65536, 32, 16, &self->cr));
	r = self->cr;
	ASSERT_LE(65536, r->slot_sz);
	while (done < N) {
		while (sent < N && sent - done < INFLIGHT) {
			uint64_t tag = 0x8000 + sent;

			fill_pattern(req, rx_run_len(sent), tag);
			ASSERT_EQ(0, ring_call(r, tag, M_ECHO, 0, 0, NULL, 0,
					       req, rx_run_len(sent)));
			lent += rx_run_len(sent) != 0;
			sent++;
		}
		ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, ANY, WAIT_MS, &c))
			TH_LOG("%u sent, %u done; server: %u served, %u lent, %u SENT",
			       sent, done, atomic_load(&self->srv.served),
			       atomic_load(&self->srv.lent),
			       atomic_load(&self->srv.sent));
		ASSERT_LE(0x8000, c.id);
		ASSERT_GT(0x8000 + N, c.id);
		i = (unsigned int)(c.id - 0x8000);
		EXPECT_EQ(0, seen[i]++);
		EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
		EXPECT_EQ(FASTRPC_OK, c.res);
		ASSERT_EQ(rx_run_len(i), c.len);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), c.len, c.id))
			TH_LOG("echo of call %u (%u bytes) differs", i, c.len);
		ASSERT_EQ(0, ring_put_cqe(r, &c));
		done++;
	}
	/* a SENT may come after its result: wait for the last ones */
	for (t0 = now_ms(); atomic_load(&self->srv.sent) <
	     atomic_load(&self->srv.lent) && now_ms() - t0 < WAIT_MS;)
		usleep(10000);
	rsrv_stop(&self->srv);
	EXPECT_EQ(N, atomic_load(&self->srv.served));
	EXPECT_EQ(lent, atomic_load(&self->srv.lent));
	EXPECT_EQ(lent, atomic_load(&self->srv.sent));
	EXPECT_EQ(0, atomic_load(&self->srv.errors))
		TH_LOG("server: %s", strerror(-atomic_load(&self->srv.last_err)));
	EXPECT_EQ(0, ring_idle(r, 100));
	free(req);
}

/*
 * A lent streaming CALL of FASTRPC_MAX_MSG bytes to a server that holds
 * an unread call and is over its SO_RCVBUF: the server grants the stream
 * no credit past its first window (256 KiB), so the message cannot be
 * framed whole.  Cancelled, it completes CANCELLED and its SENT says
 * -ECANCELED.  The socket goes on: the held call is answered, a plain
 * call and a lent call from the same region work.
 */
TEST_F_TIMEOUT(rg, lend_cancelled, 120)
{
	const uint32_t len = FASTRPC_MAX_MSG, blk = 16 << 10, cap = 128 << 10;
	struct fastrpc_incoming_info ii;
	struct fastrpc_sock_info ss;
	struct fastrpc_cqe c;
	uint8_t *buf = malloc(cap);
	unsigned int answered;
	struct ring *r;
	uint32_t lend;
	uint64_t t0;
	int one = 1;
	ssize_t n;

	LEND_OR_SKIP(self->cfd);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &one,
				sizeof(one)));
	/* 8 receive buffers of 64 KiB, 512 KiB to stage, 4 MiB to lend */
	ASSERT_EQ(0, ring_new(self->cfd, 16, 16, 65536, 8 + 8 + 64, 8,
			      &self->cr));
	r = self->cr;
	lend = ring_reserve(r, 32 << 10);
	ASSERT_LE((uint64_t)lend + len, r->area_len);

	/* the call the server holds unread */
	fill_pattern(buf, blk, 0xc0);
	ASSERT_EQ(0, ring_call(r, 0xc0, M_RING, 0, 0, NULL, 0, buf, blk));
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		if (ss.rx_queued == 1)
			break;
		ASSERT_GT(WAIT_MS, now_ms() - t0)
			TH_LOG("the first call did not arrive");
	}
	fill_pattern(r->area + lend, len, 0xc1);
	ASSERT_EQ(0, ring_entry(r, FASTRPC_OP_CALL,
				FASTRPC_SQE_STREAM | FASTRPC_SQE_LEND, 0xc1,
				M_RING, lend, len, 0));
	ASSERT_EQ(0, ring_flush(r, WAIT_MS));
	/* stuck on credit: no SENT while the server does not read */
	ASSERT_EQ(0, ring_idle(r, 300))
		TH_LOG("%u bytes framed past a window the server never opened?",
		       len);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	TH_LOG("server holds %u bytes in %u messages", ss.rx_bytes,
	       ss.rx_queued);
	EXPECT_GT(len, ss.rx_bytes);

	ASSERT_EQ(0, ring_op(r, FASTRPC_OP_CANCEL, 0, 0xc1, 0, NULL, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xc1, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_CANCELLED, c.res);
	EXPECT_EQ(FASTRPC_CQE_F_EOR, c.flags);
	EXPECT_EQ(FASTRPC_RING_NO_BUF, c.buf);
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_SENT, 0xc1, WAIT_MS, &c));
	EXPECT_EQ(NULL, sent_problem(&c, FASTRPC_OP_CALL, 0xc1, lend, len,
				     -ECANCELED)) SENT_LOG(c);
	EXPECT_EQ(0, ring_idle(r, 200));

	/* the server answers the held call; the cancelled one holds nothing */
	ASSERT_EQ((ssize_t)blk, srv_recv(self->sfd, &ii, buf, cap));
	EXPECT_EQ(M_RING, ii.method);
	EXPECT_TRUE(check_pattern(buf, blk, 0xc0));
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xc0, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(0, ring_put_cqe(r, &c));

	/* a plain call, then a lent one from the region the SENT gave back */
	ASSERT_EQ(0, ring_call(r, 0xc2, M_RING + 1, 0, 0, NULL, 0, "after", 5));
	ASSERT_EQ(0, lend_call(r, 0xc3, M_RING + 2, lend, 100000));
	for (answered = 0; answered < 2;) {
		n = srv_recv(self->sfd, &ii, buf, cap);
		ASSERT_LE(0, n);
		if (ii.flags & FASTRPC_IN_CANCELLED)
			continue;	/* what is left of 0xc1 */
		if (ii.method == M_RING + 1) {
			ASSERT_EQ(5, n);
			EXPECT_EQ(0, memcmp(buf, "after", 5));
		} else {
			ASSERT_EQ(M_RING + 2, ii.method);
			ASSERT_EQ(100000, n);
			EXPECT_TRUE(check_pattern(buf, 100000, 0xc3));
		}
		ASSERT_EQ(4, fastrpc_send_reply(self->sfd, ii.handle,
						FASTRPC_OK, "fine", 4, 0));
		answered++;
	}
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xc2, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
	EXPECT_EQ(0, memcmp(cqe_payload(r, &c), "fine", 4));
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_RESULT, 0xc3, WAIT_MS, &c));
	EXPECT_EQ(FASTRPC_OK, c.res);
	ASSERT_EQ(0, ring_put_cqe(r, &c));
	ASSERT_EQ(0, ring_wait(r, FASTRPC_CQE_SENT, 0xc3, WAIT_MS, &c));
	EXPECT_EQ(NULL, sent_problem(&c, FASTRPC_OP_CALL, 0xc3, lend, 100000,
				     0)) SENT_LOG(c);
	EXPECT_EQ(0, ring_idle(r, 200));
	free(buf);
}

/*
 * Lent calls of 1 MiB to a server over its SO_RCVBUF that does not read,
 * then the clients go without waiting for anything: one closes its
 * socket and then unmaps the rings, the other unmaps and then closes.
 * Nothing may crash or hang (the debug tier's KASAN and kmemleak see the
 * rest), and a fresh pair works after.
 */
TEST_F_TIMEOUT(rg, lend_close_in_flight, 120)
{
	enum { CALLS = 6 };
	const uint32_t len = 1 << 20;
	struct fastrpc_sock_info ss;
	struct ring *r[2] = { NULL, NULL };
	int fd[2], one = 1;
	unsigned int k, i;
	uint64_t t0;

	LEND_OR_SKIP(self->cfd);
	ASSERT_EQ(0, setsockopt(self->sfd, SOL_SOCKET, SO_RCVBUF, &one,
				sizeof(one)));
	fd[0] = self->cfd;
	fd[1] = fastrpc_client_open("127.0.0.1", self->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd[1]);
	for (k = 0; k < 2; k++) {
		/* 4 receive buffers of 64 KiB, then 1 MiB per call */
		ASSERT_EQ(0, ring_new(fd[k], 16, 16, 65536, 4 + CALLS * 16, 4,
				      &r[k]));
		for (i = 0; i < CALLS; i++)
			ASSERT_EQ(0, lend_call(r[k], 0x100 * (k + 1) + i,
					       M_RING, r[k]->rx_end + i * len,
					       len));
	}
	/* one call is whole at the server, which stops the others' credit */
	for (t0 = now_ms();; usleep(10000)) {
		ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
		if (ss.rx_queued)
			break;
		ASSERT_GT(WAIT_MS, now_ms() - t0)
			TH_LOG("no call arrived whole");
	}
	usleep(100000);
	ASSERT_EQ(0, fastrpc_get_sock_info(self->sfd, &ss));
	TH_LOG("server holds %u bytes in %u messages, %u calls", ss.rx_bytes,
	       ss.rx_queued, ss.calls_in_flight);

	close(fd[0]);
	self->cfd = -1;
	ring_free(r[0]);
	ring_free(r[1]);
	close(fd[1]);
	EXPECT_EQ(0, fresh_ring_call(BASE_PORT + 200, "lend-close-after"));
}

/*
 * 64 lent calls of 64 KiB each through a CQ of four entries, then two,
 * as fast as the SQ takes them: results, SENTs and the room new entries
 * need compete for the CQ, SENTs that find it full wait in the kernel
 * and the doorbell says EAGAIN (retried) until completions are reaped;
 * none may be lost.  Every call gets exactly one RESULT and one SENT.
 * The receive buffers hold all the results, so a run never has to wait
 * for a return queued behind a stalled call.
 */
static void lend_small_cq(struct __test_metadata *_metadata,
			  struct echo_srv *es, uint32_t cq, uint64_t base)
{
	enum { N = 64 };
	const uint32_t len = 64 << 10;
	bool got_result[N] = { false }, got_sent[N] = { false };
	unsigned int started = 0, results = 0, sents = 0, i;
	struct fastrpc_cqe c;
	struct ring *r;
	int fd;

	fd = fastrpc_client_open("127.0.0.1", es->port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastrpc_set_max_calls(fd, 2 * N));
	/* N receive buffers of 64 KiB, then N of ours */
	ASSERT_EQ(0, ring_new(fd, 16, cq, len, 2 * N, N, &r));
	for (i = 0; i < N; i++)
		fill_pattern(r->area + r->rx_end + i * len, len, base + i);
	while (results < N || sents < N) {
		while (started < N && sq_pending(r) < r->sq_n) {
			struct fastrpc_sqe e = {
				.op = FASTRPC_OP_CALL,
				.flags = FASTRPC_SQE_LEND,
				.method = M_ECHO, .id = base + started,
				.addr = r->rx_end + started * len, .len = len,
			};

			ASSERT_EQ(0, sq_put(r, &e));
			started++;
		}
		/* kicks (EAGAIN is retried), reaps, waits */
		ASSERT_EQ(0, ring_wait(r, ANY_TYPE, ANY, WAIT_MS, &c))
			TH_LOG("CQ %u: %u started, %u results, %u SENT, SQ %u pending",
			       cq, started, results, sents, sq_pending(r));
		ASSERT_NE(FASTRPC_CQE_ERROR, c.type)
			TH_LOG("op %u id %#llx: %s", c.op,
			       (unsigned long long)c.id, strerror(-c.res));
		ASSERT_LE(base, c.id);
		ASSERT_GT(base + started, c.id);
		i = (unsigned int)(c.id - base);
		if (c.type == FASTRPC_CQE_SENT) {
			ASSERT_FALSE(got_sent[i])
				TH_LOG("call %u sent twice", i);
			got_sent[i] = true;
			sents++;
			EXPECT_EQ(NULL, sent_problem(&c, FASTRPC_OP_CALL,
						     base + i,
						     r->rx_end + i * len, len,
						     0)) SENT_LOG(c);
			continue;
		}
		ASSERT_EQ(FASTRPC_CQE_RESULT, c.type);
		ASSERT_FALSE(got_result[i])
			TH_LOG("call %u answered twice", i);
		got_result[i] = true;
		results++;
		EXPECT_EQ(FASTRPC_OK, c.res);
		ASSERT_EQ(len, c.len);
		ASSERT_EQ(NULL, cqe_buf_problem(r, &c));
		EXPECT_TRUE(check_pattern(cqe_payload(r, &c), len, c.id))
			TH_LOG("echo of call %u differs", i);
		ASSERT_EQ(0, ring_put_cqe(r, &c));
	}
	TH_LOG("CQ %u: %u calls, %u send()s", cq, N, r->sends);
	EXPECT_EQ(0, ring_idle(r, 200));
	EXPECT_EQ(0, r->err) TH_LOG("%s", strerror(-r->err));
	ring_free(r);
	close(fd);
}

TEST_F_TIMEOUT(rg, lend_cq_small, 180)
{
	struct echo_srv es;

	LEND_OR_SKIP(self->cfd);
	ASSERT_EQ(0, echo_srv_start(&es, AF_INET,
				    test_port(BASE_PORT + 100,
					      _metadata->name), 2));
	lend_small_cq(_metadata, &es, 4, 0x4000);
	lend_small_cq(_metadata, &es, 2, 0x2000);
	echo_srv_stop(&es);
	EXPECT_EQ(128, echo_srv_served(&es));
	EXPECT_EQ(0, atomic_load(&es.errors))
		TH_LOG("echo server: %s", strerror(atomic_load(&es.last_err)));
}

TEST_HARNESS_MAIN
