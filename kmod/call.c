// SPDX-License-Identifier: GPL-2.0-only
/*
 * Calls: allocation, the per-connection table of calls by wire id, and the
 * received frames that make up a call's message.
 */
#include <linux/slab.h>

#include "frpc.h"

static struct kmem_cache *frpc_call_cache;

int __init frpc_call_init(void)
{
	frpc_call_cache = KMEM_CACHE(frpc_call, 0);
	return frpc_call_cache ? 0 : -ENOMEM;
}

void frpc_call_exit(void)
{
	kmem_cache_destroy(frpc_call_cache);
}

struct frpc_call *frpc_call_alloc(struct frpc_conn *conn, gfp_t gfp)
{
	struct frpc_call *call;

	call = kmem_cache_zalloc(frpc_call_cache, gfp);
	if (!call)
		return NULL;
	INIT_HLIST_NODE(&call->conn_node);
	INIT_HLIST_NODE(&call->sock_node);
	INIT_LIST_HEAD(&call->rx_node);
	skb_queue_head_init(&call->frags);
	kref_get(&conn->ref);
	call->conn = conn;
	return call;
}

/* Drop the message frames; returns the bytes they held on the connection. */
u32 frpc_call_drop_frags(struct frpc_call *call)
{
	u32 held = call->held;

	__skb_queue_purge(&call->frags);
	call->held = 0;
	call->len = 0;
	return held;
}

/*
 * Free a call that is in no table or queue.  Must not be called with the
 * connection's lock held: it may release the last connection reference.
 */
void frpc_call_free(struct frpc_call *call)
{
	struct frpc_conn *conn = call->conn;

	WARN_ON_ONCE(call->in_conn || call->in_sock);
	frpc_conn_rx_release(conn, frpc_call_drop_frags(call));
	kmem_cache_free(frpc_call_cache, call);
	frpc_conn_put(conn);
}

struct frpc_call *frpc_call_find(struct frpc_conn *conn, u32 id)
{
	struct frpc_call *call;

	lockdep_assert_held(&conn->lock);
	hash_for_each_possible(conn->calls, call, conn_node, id)
		if (call->id == id)
			return call;
	return NULL;
}

void frpc_call_link(struct frpc_conn *conn, struct frpc_call *call)
{
	lockdep_assert_held(&conn->lock);
	hash_add(conn->calls, &call->conn_node, call->id);
	call->in_conn = true;
	conn->ncalls++;
}

void frpc_call_unlink(struct frpc_call *call)
{
	lockdep_assert_held(&call->conn->lock);
	if (!call->in_conn)
		return;
	hash_del(&call->conn_node);
	call->in_conn = false;
	call->conn->ncalls--;
}

/* Append a received frame (its payload as recorded in the cb). */
void frpc_call_add_frag(struct frpc_call *call, struct sk_buff *skb)
{
	u32 len = frpc_skb_cb(skb)->len;

	if (!len) {
		consume_skb(skb);
		return;
	}
	call->len += len;
	call->held += skb->truesize;
	__skb_queue_tail(&call->frags, skb);
	frpc_conn_rx_hold(call->conn, skb->truesize);
}

/*
 * Copy up to @len bytes of a detached message to user space and free its
 * frames.  Returns bytes copied or a negative errno.
 */
int frpc_frags_copy_out(struct sk_buff_head *frags, struct msghdr *msg, u32 len)
{
	struct sk_buff *skb;
	u32 copied = 0;
	int err = 0;

	while ((skb = __skb_dequeue(frags))) {
		struct frpc_skb_cb *cb = frpc_skb_cb(skb);
		u32 n = min(cb->len, len - copied);

		if (n && !err) {
			err = skb_copy_datagram_msg(skb, cb->off, msg, n);
			if (!err)
				copied += n;
		}
		consume_skb(skb);
	}
	return err ? err : copied;
}
