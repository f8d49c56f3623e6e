// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reconnect backoff, per peer address and namespace.
 *
 * A failed connect leaves a record (fn->peers, under fn->lock): until its
 * retry time, new connections to that peer fail at once with the last
 * error instead of hammering it.  The delay doubles with each failure, from
 * FRPC_BACKOFF_MIN_MS to FRPC_BACKOFF_MAX_MS, with jitter; a success
 * forgets the record.  The list is bounded (FRPC_MAX_PEERS), so connects to
 * ever new addresses cannot grow it.
 */
#include <linux/in.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <net/ipv6.h>

#include "frpc.h"
#include "peer.h"

/* The same peer: family, address, port and, for IPv6, scope. */
bool frpc_addr_equal(const struct sockaddr_fastrpc *a,
		     const struct sockaddr_fastrpc *b)
{
	if (a->sfr_ip_family != b->sfr_ip_family || a->sfr_port != b->sfr_port)
		return false;
	if (a->sfr_ip_family == AF_INET)
		return a->sfr_addr.v4 == b->sfr_addr.v4;
	return ipv6_addr_equal(&a->sfr_addr.v6, &b->sfr_addr.v6) &&
	       a->sfr_scope_id == b->sfr_scope_id;
}

struct frpc_peer *frpc_peer_find(struct frpc_net *fn,
				 const struct sockaddr_fastrpc *addr)
{
	struct frpc_peer *p;

	lockdep_assert_held(&fn->lock);
	list_for_each_entry(p, &fn->peers, node)
		if (frpc_addr_equal(&p->addr, addr))
			return p;
	return NULL;
}

void frpc_peer_del(struct frpc_net *fn, struct frpc_peer *p)
{
	lockdep_assert_held(&fn->lock);
	list_del(&p->node);
	kfree(p);
	fn->npeers--;
	atomic64_set(&fn->backoff_peers, fn->npeers);
}

/*
 * Make room for a new record: a peer whose backoff ended long ago starts
 * afresh, and past FRPC_MAX_PEERS the oldest records go, so that connects
 * to ever new addresses cannot grow the list without bound.
 */
static void frpc_peer_prune(struct frpc_net *fn)
{
	unsigned long stale = msecs_to_jiffies(2 * FRPC_BACKOFF_MAX_MS);
	struct frpc_peer *p, *pn;

	list_for_each_entry_safe(p, pn, &fn->peers, node)
		if (time_after(jiffies, p->retry_at + stale))
			frpc_peer_del(fn, p);
	while (fn->npeers >= FRPC_MAX_PEERS)
		frpc_peer_del(fn, list_last_entry(&fn->peers, struct frpc_peer,
						  node));
}

void frpc_peer_result(struct frpc_net *fn,
		      const struct sockaddr_fastrpc *addr, int err)
{
	struct frpc_peer *p;
	unsigned long delay;

	mutex_lock(&fn->lock);
	p = frpc_peer_find(fn, addr);
	if (!err || err == -EINTR) {
		if (p && !err)
			frpc_peer_del(fn, p);
		goto out;
	}
	atomic64_inc(&fn->connect_failures);
	if (!p) {
		frpc_peer_prune(fn);
		p = kzalloc(sizeof(*p), GFP_KERNEL);
		if (!p)
			goto out;
		p->addr = *addr;
		list_add(&p->node, &fn->peers);	/* newest first */
		fn->npeers++;
		atomic64_set(&fn->backoff_peers, fn->npeers);
	}
	p->failures = min(p->failures + 1, 16U);
	p->err = err;
	delay = min_t(unsigned long, FRPC_BACKOFF_MAX_MS,
		      FRPC_BACKOFF_MIN_MS << (p->failures - 1));
	/* up to half again, so that many clients do not retry in step */
	delay += get_random_u32() % (delay / 2 + 1);
	p->retry_at = jiffies + msecs_to_jiffies(delay);
out:
	mutex_unlock(&fn->lock);
}
