/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tx.c: transmit.  Control frames, the per-call message queues and the
 * scheduler that cuts them into frames.
 */
#ifndef _FRPC_TX_H
#define _FRPC_TX_H

#include <linux/bvec.h>
#include <linux/list.h>
#include <linux/math.h>
#include <linux/uio.h>
#include <linux/fastrpc.h>

#include "frpc.h"

struct frpc_conn;
struct frpc_call;
struct frpc_lend;
struct frpc_sock;

/* A control frame, built whole and sent before any call data. */
struct frpc_txbuf {
	struct list_head	node;
	u32			len;
	u8			data[];
};

/*
 * One outgoing message of a call.  @buf holds the head (CALL or END head
 * with its metadata); @data the message bytes, right after the head in
 * @buf or, past FRPC_TX_DATA_APART, in a buffer of their own, so that a
 * power-of-two message is not rounded up to twice its size (and memory
 * cleared) for the few bytes of its head.  The scheduler cuts frames from
 * them as credit allows.  frpc_txmsg_free() frees both.
 */
struct frpc_txmsg {
	struct list_head	node;		/* call->txq */
	u32			head_len;
	u32			len;		/* message bytes after the head */
	u32			off;		/* message bytes already framed */
	u8			head_type;	/* CALL, END, or DATA (no head) */
	u8			eos;		/* client's last message */
	u8			head_sent;
	u8			*data;
	struct frpc_lend	*lend;		/* @data lies in a ring's area */
	u8			buf[];
};

void frpc_txmsg_free(struct frpc_txmsg *m);

/* pages a frame's data may span when it stays in the sender's buffer */
#define FRPC_TX_EXT_PAGES	(DIV_ROUND_UP(FRPC_TX_QUANTUM, PAGE_SIZE) + 1)

/*
 * A message that goes as one frame, built on the sender's stack (header
 * first, filled in once the call id is known).  A small one is copied
 * whole into @data; a bigger one, up to a quantum, has only its head
 * there and stays in the sender's pages (@pages, @bvec: references taken,
 * so they cannot fault), to be copied once, into TCP or the short cut's
 * skb.  Either way a bad user pointer fails the send while nothing is on
 * the wire yet.  frpc_txsmall_release() drops the pages.
 */
struct frpc_txsmall {
	u32			len;		/* bytes in @data, header included */
	u32			head_len;	/* head, metadata, status text */
	u8			head_type;
	u8			nr_pages;
	u32			ext_len;	/* message bytes in @pages */
	struct page		*pages[FRPC_TX_EXT_PAGES];
	struct bio_vec		bvec[FRPC_TX_EXT_PAGES];
	u8			data[FRPC_TX_SMALL_MAX];
};

/* The frame being written; TCP may take it in several pieces. */
struct frpc_txframe {
	u8			hdr[FASTRPC_FRAME_HDR_LEN];
	struct kvec		iov[4];		/* [stage,] header, head, data */
	int			niov;
	size_t			left;
	bool			staged;		/* iov[0] is conn->tx_stage */
	size_t			push;		/* first bytes to go alone */
	struct frpc_txbuf	*ctrl;		/* freed when written */
	struct frpc_txmsg	*done;		/* finished message, freed then */
	struct frpc_call	*done_call;	/* server call whose END this is */
};

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
				    struct iov_iter *from, u32 len,
				    struct frpc_lend *lend, gfp_t gfp);
static inline bool frpc_txsmall_fits(u32 head_len, u32 extra_len, u32 len)
{
	return FASTRPC_FRAME_HDR_LEN + head_len + extra_len + len <=
	       FRPC_TX_SMALL_MAX;
}

int frpc_txsmall_build(struct frpc_txsmall *s, u8 head_type, const void *head,
		       u32 head_len, const void *meta, u32 meta_len,
		       const void *smsg, u32 smsg_len, struct iov_iter *from,
		       u32 len);
bool frpc_txsmall_ext_fits(u32 head_len, u32 extra_len, u32 len,
			   const struct iov_iter *from);
bool frpc_txsmall_build_ext(struct frpc_txsmall *s, u8 head_type,
			    const void *head, u32 head_len, const void *meta,
			    u32 meta_len, const void *smsg, u32 smsg_len,
			    struct iov_iter *from, u32 len);
void __frpc_txsmall_release(struct frpc_txsmall *s);

/* Let go of the sender's pages, if it took any; nothing may read them after. */
static inline void frpc_txsmall_release(struct frpc_txsmall *s)
{
	if (s->nr_pages)
		__frpc_txsmall_release(s);
	s->ext_len = 0;
}

struct frpc_txmsg *frpc_txsmall_msg(const struct frpc_txsmall *s, gfp_t gfp);
bool frpc_tx_direct_claim(struct frpc_call *call, const struct frpc_txsmall *s);
void frpc_tx_direct_send(struct frpc_conn *conn, struct frpc_txsmall *s,
			 u32 call_id, u16 flags);

/*
 * A batch of ring entries being sent (frpc_ring_submit()): the connection
 * whose transmit stage holds frames of it, a reference, written out by
 * frpc_tx_unplug() once the batch ends.
 */
struct frpc_tx_plug {
	struct frpc_conn	*conn;
};

bool frpc_tx_stage_begin(struct frpc_conn *conn, u32 len);
bool frpc_tx_stage_claim(struct frpc_call *call, const struct frpc_txsmall *s);
void frpc_tx_stage_put(struct frpc_conn *conn, struct frpc_txsmall *s,
		       u32 call_id, u16 flags, struct frpc_tx_plug *plug);
void frpc_tx_plug_add(struct frpc_tx_plug *plug, struct frpc_conn *conn);
void frpc_tx_unplug(struct frpc_tx_plug *plug);
int frpc_tx_get_pages(struct iov_iter *from, u32 len, struct page **pages,
		      struct bio_vec *bvec, unsigned int max, unsigned int *nr,
		      u32 *got);
bool frpc_tx_write_frame(struct frpc_conn *conn, const u8 *head, u32 hlen,
			 const struct iov_iter *data, u32 dlen, bool more);
void frpc_conn_kick_locked(struct frpc_conn *conn,
			   const struct frpc_sock *fs);
void frpc_tx_note_short(struct frpc_conn *conn);
void frpc_tx_note_small(struct frpc_conn *conn, const struct frpc_txsmall *s);
u32 frpc_tx_quantum(struct frpc_conn *conn);
void frpc_call_queue_msg(struct frpc_call *call, struct frpc_txmsg *m);
bool frpc_call_starved(struct frpc_call *call);
void frpc_call_tx_ready(struct frpc_call *call);
bool frpc_call_mid_message(struct frpc_call *call);
void frpc_call_drop_tx(struct frpc_call *call);
void frpc_conn_kick(struct frpc_conn *conn);
void frpc_conn_kick_async(struct frpc_conn *conn);
bool frpc_conn_tx_flush(struct frpc_conn *conn, size_t budget,
			const unsigned long *until,
			const struct frpc_sock *own);
void frpc_conn_tx_workfn(struct work_struct *work);
void frpc_conn_tx_purge(struct frpc_conn *conn);

#endif /* _FRPC_TX_H */
