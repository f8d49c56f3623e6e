/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * txbulk.c: a long message written to TCP by its sender, straight from
 * the sender's own memory, as long as the connection has nothing else to
 * send.
 */
#ifndef _FRPC_TXBULK_H
#define _FRPC_TXBULK_H

#include <linux/bvec.h>
#include <linux/uio.h>
#include <linux/fastrpc.h>

#include "frpc.h"

struct frpc_conn;
struct frpc_sock;

/*
 * The message bytes not written yet, in memory that cannot fault while
 * the sender's system call lasts: user pages held by reference (@pages,
 * @bvec), or kernel memory as it is (a ring's buffer area, @nr_pages 0).
 */
struct frpc_txbulk {
	struct iov_iter		it;
	struct page		**pages;
	struct bio_vec		*bvec;
	unsigned int		nr_pages;
};

/*
 * Is a message of @len bytes at @from one for frpc_txbulk?  Over a
 * quantum (a shorter one goes as one frame, frpc_txsmall), from user
 * memory or from the kernel's (a ring's buffer area).
 */
static inline bool frpc_txbulk_fits(u32 len, const struct iov_iter *from)
{
	return len > FRPC_TX_QUANTUM && len <= FASTRPC_MAX_MSG &&
	       (user_backed_iter(from) || iov_iter_is_kvec(from));
}

int frpc_txbulk_get(struct frpc_txbulk *b, struct iov_iter *from, u32 len);
void __frpc_txbulk_release(struct frpc_txbulk *b);

/* Let go of the sender's pages, if any; nothing may read them after. */
static inline void frpc_txbulk_release(struct frpc_txbulk *b)
{
	if (b->pages || b->bvec)
		__frpc_txbulk_release(b);
}

u32 frpc_txbulk_write(struct frpc_conn *conn, struct frpc_sock *fs, u32 id,
		      struct frpc_txbulk *b, u16 last_flags, bool count,
		      long timeo);

#endif /* _FRPC_TXBULK_H */
