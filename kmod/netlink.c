// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic netlink family "fastrpc": the module, a namespace's counters,
 * its sockets and connections, its limits, and events (uapi: "Generic
 * netlink family" in linux/fastrpc.h; Documentation/netlink/specs/
 * fastrpc.yaml).
 *
 * Every request sees the namespace of the netlink socket it came on.
 * Dumps walk the namespace's lists in the order of their ids and resume
 * after the last id sent, so sockets and connections may come and go
 * between the parts of a dump.  The lists' lock is taken alone: a dump
 * reads what it shows with READ_ONCE, a snapshot that may be a frame
 * out of date, never a torn one.
 *
 * Events go to the "events" group from whatever context they happen in,
 * often under conn->lock in softirq: built with GFP_ATOMIC, and only
 * when someone listens.
 */
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "loop.h"
#include "mem.h"
#include "netlink.h"
#include "sock.h"
#include "sockopt.h"
#include "timer.h"

unsigned int *const frpc_limit_param[FRPC_LIM_COUNT] = {
	[FRPC_LIM_CONN_RX_MEM]		= &frpc_conn_rx_mem,
	[FRPC_LIM_NET_RX_MEM]		= &frpc_net_rx_mem,
	[FRPC_LIM_SERVER_MAX_CONNS]	= &frpc_server_max_conns,
	[FRPC_LIM_PEER_MAX_CONNS]	= &frpc_peer_max_conns,
	[FRPC_LIM_PEER_MAX_CALLS]	= &frpc_peer_max_calls,
	[FRPC_LIM_CONN_MAX_CALLS]	= &frpc_conn_max_calls,
	[FRPC_LIM_KEEPALIVE_MS]		= &frpc_keepalive_ms,
	[FRPC_LIM_IDLE_MS]		= &frpc_idle_ms,
	[FRPC_LIM_LOOPBACK]		= &frpc_loopback,
	[FRPC_LIM_DEFAULT_CALLS]	= &frpc_default_calls,
	[FRPC_LIM_STALL_MS]		= &frpc_stall_ms,
};

/* FASTRPC_A_LIMITS_* is enum frpc_limit + 1 */
static_assert(FRPC_LIM_CONN_RX_MEM + 1 == FASTRPC_A_LIMITS_CONN_RX_MEM);
static_assert(FRPC_LIM_LOOPBACK + 1 == FASTRPC_A_LIMITS_LOOPBACK);
static_assert(FRPC_LIM_COUNT + 1 == FASTRPC_A_LIMITS_OWN);

/* the internal enums go out as they are: the same numbers */
static_assert(!(FRPC_ROLE_NONE - FASTRPC_ROLE_NONE) &&
	      !(FRPC_ROLE_CLIENT - FASTRPC_ROLE_CLIENT) &&
	      !(FRPC_ROLE_BOUND - FASTRPC_ROLE_BOUND) &&
	      !(FRPC_ROLE_SERVER - FASTRPC_ROLE_SERVER));
static_assert(!(FRPC_CONN_CONNECTING - FASTRPC_CONN_CONNECTING) &&
	      !(FRPC_CONN_HELLO - FASTRPC_CONN_HELLO) &&
	      !(FRPC_CONN_READY - FASTRPC_CONN_READY) &&
	      !(FRPC_CONN_DRAINING - FASTRPC_CONN_DRAINING) &&
	      !(FRPC_CONN_DEAD - FASTRPC_CONN_DEAD));

/*
 * The same ranges as the module parameters (mem.c, timer.c, loop.c); not
 * const, which 6.1's struct nla_policy would refuse.
 */
static struct netlink_range_validation frpc_nl_bytes = {
	.min = 1 << 20, .max = INT_MAX,
};

static struct netlink_range_validation frpc_nl_count = {
	.min = 1, .max = FRPC_MAX_CALLS_CEIL,
};

static struct netlink_range_validation frpc_nl_ms = {
	.min = FRPC_TIMER_MIN_MS, .max = FRPC_TIMER_MAX_MS,
};

static const struct nla_policy frpc_limits_policy[FASTRPC_A_LIMITS_MAX + 1] = {
	[FASTRPC_A_LIMITS_CONN_RX_MEM] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_bytes),
	[FASTRPC_A_LIMITS_NET_RX_MEM] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_bytes),
	[FASTRPC_A_LIMITS_SERVER_MAX_CONNS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_count),
	[FASTRPC_A_LIMITS_PEER_MAX_CONNS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_count),
	[FASTRPC_A_LIMITS_PEER_MAX_CALLS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_count),
	[FASTRPC_A_LIMITS_CONN_MAX_CALLS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_count),
	[FASTRPC_A_LIMITS_KEEPALIVE_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_ms),
	[FASTRPC_A_LIMITS_IDLE_MS] = NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_ms),
	[FASTRPC_A_LIMITS_LOOPBACK] = NLA_POLICY_MAX(NLA_U8, 1),
	[FASTRPC_A_LIMITS_DEFAULT_CALLS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_count),
	[FASTRPC_A_LIMITS_STALL_MS] =
		NLA_POLICY_FULL_RANGE(NLA_U32, &frpc_nl_ms),
	[FASTRPC_A_LIMITS_OWN] = { .type = NLA_REJECT },
	[FASTRPC_A_LIMITS_RESET] =
		NLA_POLICY_MASK(NLA_U32, GENMASK(FRPC_LIM_COUNT, 1)),
};

/*
 * The requests that take no attributes refuse any: the core parses only
 * with a maxattr, and then refuses types above it as unknown.
 */
static const struct nla_policy frpc_none_policy[2] = {
	[1] = { .type = NLA_REJECT },
};

static struct genl_family frpc_genl_family;

enum frpc_nl_mcgrp {
	FRPC_MCGRP_EVENTS,
};

static const struct genl_multicast_group frpc_mcgrps[] = {
	[FRPC_MCGRP_EVENTS] = { .name = FASTRPC_GENL_MCGRP_EVENTS },
};

/* --- the namespace's lists --------------------------------------------- */

void frpc_nl_net_init(struct frpc_net *fn)
{
	spin_lock_init(&fn->nl_lock);
	fn->nl_socks = RB_ROOT;
	fn->nl_conns = RB_ROOT;
}

/*
 * A tree by id rather than a list, so that each part of a dump finds
 * where the last one stopped in O(log n), with BH off, instead of
 * walking past every entry already sent.  Ids are given under nl_lock
 * and only grow: a new entry always goes in at the right end.
 */
static void frpc_nl_add(struct frpc_net *fn, struct rb_root *root,
			struct rb_node *node)
{
	struct rb_node **p = &root->rb_node, *parent = NULL;

	lockdep_assert_held(&fn->nl_lock);
	while (*p) {
		parent = *p;
		p = &parent->rb_right;
	}
	rb_link_node(node, parent, p);
	rb_insert_color(node, root);
}

static void frpc_nl_del(struct frpc_net *fn, struct rb_root *root,
			struct rb_node *node)
{
	spin_lock_bh(&fn->nl_lock);
	if (!RB_EMPTY_NODE(node)) {
		rb_erase(node, root);
		RB_CLEAR_NODE(node);
	}
	spin_unlock_bh(&fn->nl_lock);
}

static u64 frpc_nl_sock_id(const struct rb_node *node)
{
	return rb_entry(node, struct frpc_sock, nl_node)->nl_id;
}

static u64 frpc_nl_conn_id(const struct rb_node *node)
{
	return rb_entry(node, struct frpc_conn, nl_node)->id;
}

/* The entry of @root with the least id above @after, or NULL; nl_lock. */
static struct rb_node *
frpc_nl_after(struct frpc_net *fn, const struct rb_root *root, u64 after,
	      u64 (*id)(const struct rb_node *))
{
	struct rb_node *node = root->rb_node, *found = NULL;

	lockdep_assert_held(&fn->nl_lock);
	while (node) {
		if (id(node) > after) {
			found = node;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

static void frpc_nl_reject_timer_fn(struct timer_list *t);

void frpc_nl_sock_add(struct frpc_sock *fs)
{
	struct frpc_net *fn = frpc_net(sock_net(&fs->sk));

	timer_setup(&fs->reject_timer, frpc_nl_reject_timer_fn, 0);
	spin_lock_bh(&fn->nl_lock);
	fs->nl_id = ++fn->nl_sock_seq;
	frpc_nl_add(fn, &fn->nl_socks, &fs->nl_node);
	spin_unlock_bh(&fn->nl_lock);
}

void frpc_nl_sock_del(struct frpc_sock *fs)
{
	struct frpc_net *fn = frpc_net(sock_net(&fs->sk));

	frpc_nl_del(fn, &fn->nl_socks, &fs->nl_node);
}

/*
 * Everything a dump shows of the connection that does not change (its
 * peer, its side) is set before it is added, under the lock dumps take.
 */
void frpc_nl_conn_add(struct frpc_conn *conn)
{
	struct frpc_net *fn = conn->fn;

	conn->born_ns = ktime_get_boottime_ns();
	spin_lock_bh(&fn->nl_lock);
	conn->id = atomic64_inc_return(&fn->next_conn_id);
	frpc_nl_add(fn, &fn->nl_conns, &conn->nl_node);
	spin_unlock_bh(&fn->nl_lock);
}

void frpc_nl_conn_del(struct frpc_conn *conn)
{
	frpc_nl_del(conn->fn, &conn->fn->nl_conns, &conn->nl_node);
}

/* --- attributes ---------------------------------------------------------- */

static int frpc_nl_put_addr(struct sk_buff *skb, int type,
			    const struct sockaddr_fastrpc *a)
{
	struct nlattr *nest;
	bool v6 = a->sfr_ip_family == AF_INET6;

	if (a->sfr_ip_family != AF_INET && !v6)
		return 0;
	nest = nla_nest_start(skb, type);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u16(skb, FASTRPC_A_ADDR_FAMILY, a->sfr_ip_family) ||
	    nla_put_u16(skb, FASTRPC_A_ADDR_PORT, ntohs(a->sfr_port)) ||
	    nla_put(skb, FASTRPC_A_ADDR_IP, v6 ? 16 : 4, &a->sfr_addr) ||
	    (v6 && a->sfr_scope_id &&
	     nla_put_u32(skb, FASTRPC_A_ADDR_SCOPE_ID, a->sfr_scope_id))) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static u32 frpc_nl_path(const struct frpc_conn *conn)
{
	/* set under tx_mutex; a snapshot of which is attached */
	if (READ_ONCE(conn->loop))
		return FASTRPC_PATH_LOOP;
	if (READ_ONCE(conn->tcp))
		return FASTRPC_PATH_TCP;
	return FASTRPC_PATH_NONE;
}

/* What every message about a connection says: dumps and events. */
static int frpc_nl_put_conn_id(struct sk_buff *skb, const struct frpc_conn *conn)
{
	struct frpc_sock *srv;

	if (nla_put_u64_64bit(skb, FASTRPC_A_CONN_ID, conn->id,
			      FASTRPC_A_CONN_PAD) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_PATH, frpc_nl_path(conn)) ||
	    frpc_nl_put_addr(skb, FASTRPC_A_CONN_PEER, &conn->peer))
		return -EMSGSIZE;
	if (conn->client)
		return 0;
	/* set at accept, after the list took it; held until its release */
	srv = READ_ONCE(conn->server);
	if (nla_put_flag(skb, FASTRPC_A_CONN_SERVER) ||
	    (srv && nla_put_u64_64bit(skb, FASTRPC_A_CONN_SOCK_ID, srv->nl_id,
				      FASTRPC_A_CONN_PAD)))
		return -EMSGSIZE;
	return 0;
}

static int frpc_nl_put_conn(struct sk_buff *skb, const struct frpc_conn *conn)
{
	u64 age = ktime_get_boottime_ns() - conn->born_ns;
	u32 state = READ_ONCE(conn->state);

	if (frpc_nl_put_conn_id(skb, conn) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_STATE, state) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_VERSION, READ_ONCE(conn->version)) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_CONN_AGE_MS,
			      div_u64(age, NSEC_PER_MSEC), FASTRPC_A_CONN_PAD) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_SRTT_US, READ_ONCE(conn->srtt_us)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_CALLS, READ_ONCE(conn->ncalls)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_TX_CREDIT,
			READ_ONCE(conn->tx_credit)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_PEER_CALL_WINDOW,
			READ_ONCE(conn->peer_call_window)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_RX_WINDOW,
			READ_ONCE(conn->rx_avail)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_RX_OWED, READ_ONCE(conn->rx_owed)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_RX_MEM,
			max(atomic_read(&conn->rx_mem), 0)) ||
	    nla_put_u32(skb, FASTRPC_A_CONN_CTRL_QUEUED,
			READ_ONCE(conn->ctrl_bytes)) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_CONN_TX_BYTES,
			      READ_ONCE(conn->tx_bytes), FASTRPC_A_CONN_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_CONN_RX_BYTES,
			      READ_ONCE(conn->rd.bytes), FASTRPC_A_CONN_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_CONN_TX_FRAMES,
			      READ_ONCE(conn->tx_frames) +
			      READ_ONCE(conn->tx_ctrl_frames),
			      FASTRPC_A_CONN_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_CONN_RX_FRAMES,
			      READ_ONCE(conn->rd.frames), FASTRPC_A_CONN_PAD))
		return -EMSGSIZE;
	if (conn->client &&
	    nla_put_u32(skb, FASTRPC_A_CONN_USERS, READ_ONCE(conn->users)))
		return -EMSGSIZE;
	if (state == FRPC_CONN_DEAD &&
	    nla_put_u32(skb, FASTRPC_A_CONN_ERRNO, -READ_ONCE(conn->err)))
		return -EMSGSIZE;
	return 0;
}

static int frpc_nl_put_sock(struct sk_buff *skb, struct frpc_sock *fs,
			    struct user_namespace *ns)
{
	struct sock *sk = &fs->sk;
	/* pairs with the release in bind: fs->local is set */
	u32 role = smp_load_acquire(&fs->role), calls;
	struct frpc_conn *conn;

	calls = role == FRPC_ROLE_CLIENT ? READ_ONCE(fs->ncalls) :
					   READ_ONCE(fs->npending);
	if (nla_put_u64_64bit(skb, FASTRPC_A_SOCK_ID, fs->nl_id,
			      FASTRPC_A_SOCK_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_SOCK_INODE, fs->ino,
			      FASTRPC_A_SOCK_PAD) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_UID,
			from_kuid_munged(ns, sk->sk_uid)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_ROLE, role) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_CALLS, calls) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_MAX_CALLS,
			READ_ONCE(fs->max_calls)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_RX_QUEUED,
			READ_ONCE(fs->rxq_len)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_RX_BYTES, READ_ONCE(fs->rx_bytes)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_TX_QUEUED,
			READ_ONCE(fs->tx_queued)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_RCVBUF, READ_ONCE(sk->sk_rcvbuf)) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_SNDBUF, READ_ONCE(sk->sk_sndbuf)))
		return -EMSGSIZE;
	if (frpc_sock_ring(fs) &&
	    nla_put_flag(skb, FASTRPC_A_SOCK_RING))
		return -EMSGSIZE;
	if (role == FRPC_ROLE_CLIENT) {
		/*
		 * The peer as the connection has it, set before the
		 * connection was published and never changed: fs->peer is
		 * written again by a connect() after a failed one.  The
		 * connection leaves the tree, under nl_lock, before it goes.
		 */
		conn = READ_ONCE(fs->conn);
		if (conn &&
		    (frpc_nl_put_addr(skb, FASTRPC_A_SOCK_PEER, &conn->peer) ||
		     nla_put_u64_64bit(skb, FASTRPC_A_SOCK_CONN_ID, conn->id,
				       FASTRPC_A_SOCK_PAD)))
			return -EMSGSIZE;
	} else if (role != FRPC_ROLE_NONE) {
		if (frpc_nl_put_addr(skb, FASTRPC_A_SOCK_LOCAL, &fs->local) ||
		    (role == FRPC_ROLE_SERVER &&
		     nla_put_u32(skb, FASTRPC_A_SOCK_CONNS,
				 READ_ONCE(fs->nconns))))
			return -EMSGSIZE;
	}
	return 0;
}

/* --- requests ------------------------------------------------------------ */

static struct sk_buff *frpc_nl_reply(struct genl_info *info, u8 cmd,
				     void **hdr)
{
	struct sk_buff *skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);

	if (!skb)
		return NULL;
	*hdr = genlmsg_put_reply(skb, info, &frpc_genl_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

static int frpc_nl_info_get(struct sk_buff *in, struct genl_info *info)
{
	struct sk_buff *skb;
	void *hdr;

	skb = frpc_nl_reply(info, FASTRPC_CMD_INFO_GET, &hdr);
	if (!skb)
		return -ENOMEM;
	if (nla_put_string(skb, FASTRPC_A_INFO_VERSION, FRPC_MODULE_VERSION) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_FAMILY, frpc_family) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_PROTO_MIN, FASTRPC_PROTO_MIN) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_PROTO_MAX, FASTRPC_PROTO_MAX) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_INFO_FEATURES, frpc_features(),
			      FASTRPC_A_INFO_PAD) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_MAX_MSG, FASTRPC_MAX_MSG) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_MAX_CALLS, FRPC_MAX_CALLS_CEIL) ||
	    nla_put_u32(skb, FASTRPC_A_INFO_DEFAULT_CALLS,
			frpc_limit(frpc_net(genl_info_net(info)),
				   FRPC_LIM_DEFAULT_CALLS)))
		goto err;
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
err:
	nlmsg_free(skb);
	return -EMSGSIZE;
}

static int frpc_nl_stats_get(struct sk_buff *in, struct genl_info *info)
{
	struct frpc_net *fn = frpc_net(genl_info_net(info));
	const struct frpc_stat *st;
	struct sk_buff *skb;
	u64 socks, conns;
	void *hdr;

	skb = frpc_nl_reply(info, FASTRPC_CMD_STATS_GET, &hdr);
	if (!skb)
		return -ENOMEM;
	for (st = frpc_stats; st->name; st++)
		if (nla_put_u64_64bit(skb, st->attr, frpc_stat_read(fn, st),
				      FASTRPC_A_STATS_PAD))
			goto err;
	frpc_net_count_servers(fn, &socks, &conns);
	if (nla_put_u64_64bit(skb, FASTRPC_A_STATS_SERVER_SOCKETS, socks,
			      FASTRPC_A_STATS_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_STATS_SERVER_CONNS, conns,
			      FASTRPC_A_STATS_PAD))
		goto err;
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
err:
	nlmsg_free(skb);
	return -EMSGSIZE;
}

/*
 * Dumps: the entries of a tree after id cb->args[0], in id order, as
 * many as fit in @skb.  A full skb ends this part of the dump; the next
 * part resumes after the last entry sent, found in O(log n), so a part
 * holds nl_lock (BH off) for the entries it sends and no others.
 */
static void *frpc_nl_dump_hdr(struct sk_buff *skb, struct netlink_callback *cb,
			      u8 cmd)
{
	return genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			   &frpc_genl_family, NLM_F_MULTI, cmd);
}

static int frpc_nl_dump_end(struct sk_buff *skb, int err)
{
	return err && !skb->len ? err : skb->len;
}

static int frpc_nl_sock_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	/* the uid as the requester's user namespace sees it, like ss */
	struct user_namespace *ns = sk_user_ns(NETLINK_CB(cb->skb).sk);
	struct frpc_net *fn = frpc_net(sock_net(skb->sk));
	struct frpc_sock *fs;
	struct rb_node *node;
	int err = 0;
	void *hdr;

	spin_lock_bh(&fn->nl_lock);
	for (node = frpc_nl_after(fn, &fn->nl_socks, cb->args[0],
				  frpc_nl_sock_id);
	     node; node = rb_next(node)) {
		fs = rb_entry(node, struct frpc_sock, nl_node);
		hdr = frpc_nl_dump_hdr(skb, cb, FASTRPC_CMD_SOCK_GET);
		err = hdr ? frpc_nl_put_sock(skb, fs, ns) : -EMSGSIZE;
		if (err) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = fs->nl_id;
	}
	spin_unlock_bh(&fn->nl_lock);
	return frpc_nl_dump_end(skb, err);
}

static int frpc_nl_conn_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct frpc_net *fn = frpc_net(sock_net(skb->sk));
	struct frpc_conn *conn;
	struct rb_node *node;
	int err = 0;
	void *hdr;

	spin_lock_bh(&fn->nl_lock);
	for (node = frpc_nl_after(fn, &fn->nl_conns, cb->args[0],
				  frpc_nl_conn_id);
	     node; node = rb_next(node)) {
		conn = rb_entry(node, struct frpc_conn, nl_node);
		/* a server's, once accepted: whole, with its socket */
		if (!conn->client && !READ_ONCE(conn->server))
			continue;
		hdr = frpc_nl_dump_hdr(skb, cb, FASTRPC_CMD_CONN_GET);
		err = hdr ? frpc_nl_put_conn(skb, conn) : -EMSGSIZE;
		if (err) {
			if (hdr)
				genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		cb->args[0] = conn->id;
	}
	spin_unlock_bh(&fn->nl_lock);
	return frpc_nl_dump_end(skb, err);
}

static int frpc_nl_limits_get(struct sk_buff *in, struct genl_info *info)
{
	struct frpc_net *fn = frpc_net(genl_info_net(info));
	struct sk_buff *skb;
	u32 own = 0;
	void *hdr;
	int l;

	skb = frpc_nl_reply(info, FASTRPC_CMD_LIMITS_GET, &hdr);
	if (!skb)
		return -ENOMEM;
	for (l = 0; l < FRPC_LIM_COUNT; l++) {
		u32 v = frpc_limit(fn, l);
		int err;

		if (READ_ONCE(fn->limits[l]))
			own |= BIT(l + 1);
		if (l == FRPC_LIM_LOOPBACK)
			err = nla_put_u8(skb, l + 1, !!v);
		else
			err = nla_put_u32(skb, l + 1, v);
		if (err)
			goto err;
	}
	if (nla_put_u32(skb, FASTRPC_A_LIMITS_OWN, own))
		goto err;
	genlmsg_end(skb, hdr);
	return genlmsg_reply(skb, info);
err:
	nlmsg_free(skb);
	return -EMSGSIZE;
}

/*
 * The policy checked every range already, so nothing can fail half way.
 * A limit lowered below what is in use now stops new things only:
 * connections and calls already there stay.
 */
static int frpc_nl_limits_set(struct sk_buff *in, struct genl_info *info)
{
	struct frpc_net *fn = frpc_net(genl_info_net(info));
	struct nlattr **a = info->attrs;
	u32 reset = 0;
	int l, n = 0;

	if (a[FASTRPC_A_LIMITS_RESET])
		reset = nla_get_u32(a[FASTRPC_A_LIMITS_RESET]);
	for (l = 0; l < FRPC_LIM_COUNT; l++) {
		struct nlattr *v = a[l + 1];

		if (v && (reset & BIT(l + 1))) {
			NL_SET_ERR_MSG_ATTR(info->extack, v,
					    "limit both set and reset");
			return -EINVAL;
		}
		if (v && l <= FRPC_LIM_CAPS &&
		    nla_get_u32(v) > READ_ONCE(*frpc_limit_param[l])) {
			NL_SET_ERR_MSG_ATTR(info->extack, v,
					    "above the module parameter: a namespace may only lower it");
			return -ERANGE;
		}
		n += v || (reset & BIT(l + 1));
	}
	if (!n) {
		NL_SET_ERR_MSG(info->extack, "no limit to set or reset");
		return -EINVAL;
	}
	for (l = 0; l < FRPC_LIM_COUNT; l++) {
		struct nlattr *v = a[l + 1];

		if (reset & BIT(l + 1))
			WRITE_ONCE(fn->limits[l], 0);
		else if (v && l == FRPC_LIM_LOOPBACK)
			WRITE_ONCE(fn->limits[l], nla_get_u8(v) + 1);
		else if (v)
			WRITE_ONCE(fn->limits[l], nla_get_u32(v) + 1);
	}
	return 0;
}

static const struct genl_ops frpc_genl_ops[] = {
	{
		.cmd = FASTRPC_CMD_INFO_GET,
		.doit = frpc_nl_info_get,
		.policy = frpc_none_policy,
		.maxattr = 1,
	},
	{
		.cmd = FASTRPC_CMD_STATS_GET,
		.doit = frpc_nl_stats_get,
		.policy = frpc_none_policy,
		.maxattr = 1,
	},
	{
		.cmd = FASTRPC_CMD_SOCK_GET,
		.dumpit = frpc_nl_sock_dump,
		.policy = frpc_none_policy,
		.maxattr = 1,
	},
	{
		.cmd = FASTRPC_CMD_CONN_GET,
		.dumpit = frpc_nl_conn_dump,
		.policy = frpc_none_policy,
		.maxattr = 1,
	},
	{
		.cmd = FASTRPC_CMD_LIMITS_GET,
		.doit = frpc_nl_limits_get,
		.policy = frpc_none_policy,
		.maxattr = 1,
	},
	{
		.cmd = FASTRPC_CMD_LIMITS_SET,
		.doit = frpc_nl_limits_set,
		.policy = frpc_limits_policy,
		.maxattr = FASTRPC_A_LIMITS_MAX,
		/* CAP_NET_ADMIN in the user namespace of the netns */
		.flags = GENL_UNS_ADMIN_PERM,
	},
};

static struct genl_family frpc_genl_family __ro_after_init = {
	.name		= FASTRPC_GENL_NAME,
	.version	= FASTRPC_GENL_VERSION,
	.netnsok	= true,
	.module		= THIS_MODULE,
	.ops		= frpc_genl_ops,
	.n_ops		= ARRAY_SIZE(frpc_genl_ops),
	.mcgrps		= frpc_mcgrps,
	.n_mcgrps	= ARRAY_SIZE(frpc_mcgrps),
};

/* --- events -------------------------------------------------------------- */

/*
 * Registered: events may go (never in KUnit, which does not register).
 * Events look at it and send under rcu_read_lock(); frpc_nl_exit()
 * clears it and waits for them before it unregisters the family.
 */
static bool frpc_nl_up;

static bool frpc_nl_listened(struct net *net)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "events send under RCU");
	return READ_ONCE(frpc_nl_up) && net &&
	       genl_has_listeners(&frpc_genl_family, net, FRPC_MCGRP_EVENTS);
}

/* Room for any event: a few integers and one address. */
#define FRPC_NL_EVENT_SIZE	256

static void frpc_nl_send_event(struct net *net, struct sk_buff *skb)
{
	genlmsg_multicast_netns(&frpc_genl_family, net, skb, 0,
				FRPC_MCGRP_EVENTS, GFP_ATOMIC);
}

/*
 * @cmd about @conn, any context: @err for CONN_DOWN, @werr and @sent
 * (this host sent the frame) for GOAWAY and PROTO_ERROR.
 */
void frpc_nl_conn_event(struct frpc_conn *conn, u8 cmd, int err, u32 werr,
			bool sent)
{
	struct net *net = conn->fn->net;
	struct sk_buff *skb;
	void *hdr;

	rcu_read_lock();
	if (!frpc_nl_listened(net))
		goto out;
	skb = genlmsg_new(FRPC_NL_EVENT_SIZE, GFP_ATOMIC);
	if (!skb)
		goto out;
	hdr = genlmsg_put(skb, 0, 0, &frpc_genl_family, 0, cmd);
	if (!hdr || frpc_nl_put_conn_id(skb, conn))
		goto err;
	if (cmd == FASTRPC_CMD_CONN_DOWN_NTF &&
	    nla_put_u32(skb, FASTRPC_A_CONN_ERRNO, -err))
		goto err;
	if ((cmd == FASTRPC_CMD_GOAWAY_NTF ||
	     cmd == FASTRPC_CMD_PROTO_ERROR_NTF) &&
	    ((werr != FRPC_NL_WERR_UNKNOWN &&
	      nla_put_u32(skb, FASTRPC_A_CONN_WERR, werr)) ||
	     (sent && nla_put_flag(skb, FASTRPC_A_CONN_GOAWAY_SENT))))
		goto err;
	genlmsg_end(skb, hdr);
	frpc_nl_send_event(net, skb);
	goto out;
err:
	nlmsg_free(skb);
out:
	rcu_read_unlock();
}

/*
 * Tell the refusals of server socket @fs counted since its last event;
 * fs->lock held, under RCU.  Without memory the count stays for the next.
 */
static void frpc_nl_reject_send(struct frpc_sock *fs)
{
	struct net *net = sock_net(&fs->sk);
	struct sk_buff *skb;
	void *hdr;

	lockdep_assert_held(&fs->lock);
	skb = genlmsg_new(FRPC_NL_EVENT_SIZE, GFP_ATOMIC);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &frpc_genl_family, 0,
			  FASTRPC_CMD_REJECT_NTF);
	if (!hdr ||
	    nla_put_u64_64bit(skb, FASTRPC_A_SOCK_ID, fs->nl_id,
			      FASTRPC_A_SOCK_PAD) ||
	    nla_put_u64_64bit(skb, FASTRPC_A_SOCK_INODE, fs->ino,
			      FASTRPC_A_SOCK_PAD) ||
	    frpc_nl_put_addr(skb, FASTRPC_A_SOCK_LOCAL, &fs->local) ||
	    nla_put_u32(skb, FASTRPC_A_SOCK_REJECTS, fs->rejects)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_end(skb, hdr);
	fs->rejects = 0;
	fs->reject_ntf_at = jiffies;
	frpc_nl_send_event(net, skb);
}

/*
 * Server socket @fs refused a call for its admission limit; fs->lock
 * held.  Refusals come in bursts, so they are counted and told at most
 * once a second, with the count: the first of a burst at once, the rest
 * when the second since that event is up (reject_timer), so that the
 * end of a burst is told too and the counts add up to the refusals.
 */
void frpc_nl_reject(struct frpc_sock *fs)
{
	lockdep_assert_held(&fs->lock);
	rcu_read_lock();
	if (!frpc_nl_listened(sock_net(&fs->sk))) {
		/* nobody to tell: a listener that comes hears from now on */
		fs->rejects = 0;
		goto out;
	}
	fs->rejects++;
	if (time_before(jiffies, fs->reject_ntf_at + HZ)) {
		/* a pending timer holds a reference on the socket */
		if (!timer_pending(&fs->reject_timer))
			sk_reset_timer(&fs->sk, &fs->reject_timer,
				       fs->reject_ntf_at + HZ);
		goto out;
	}
	frpc_nl_reject_send(fs);
out:
	rcu_read_unlock();
}

static void frpc_nl_reject_timer_fn(struct timer_list *t)
{
	struct frpc_sock *fs = from_timer(fs, t, reject_timer);

	spin_lock_bh(&fs->lock);
	rcu_read_lock();
	if (!fs->dead && fs->rejects) {
		if (frpc_nl_listened(sock_net(&fs->sk)))
			frpc_nl_reject_send(fs);
		else
			fs->rejects = 0;
	}
	rcu_read_unlock();
	spin_unlock_bh(&fs->lock);
	sock_put(&fs->sk);
}

/*
 * A released socket tells no more refusals: fs->dead is set (under
 * fs->lock), so none re-arms the timer after this.
 */
void frpc_nl_sock_dead(struct frpc_sock *fs)
{
	sk_stop_timer_sync(&fs->sk, &fs->reject_timer);
}

int __init frpc_nl_init(void)
{
	int err = genl_register_family(&frpc_genl_family);

	WRITE_ONCE(frpc_nl_up, !err);
	return err;
}

/*
 * Before the namespaces' state goes: requests in progress finish first
 * (unregistering waits for them), later ones find no family, and events
 * of connections torn down afterwards are not sent.
 */
void frpc_nl_exit(void)
{
	WRITE_ONCE(frpc_nl_up, false);
	synchronize_rcu();	/* events that saw it set are sent */
	genl_unregister_family(&frpc_genl_family);
}
