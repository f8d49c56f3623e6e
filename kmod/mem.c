// SPDX-License-Identifier: GPL-2.0-only
/*
 * What peers may make this host hold, and who pays for it.
 *
 * Every byte kept for a connection's peer (frames, messages in progress
 * and queued, their metadata, and on a server the calls the peer opened)
 * is charged to conn->rx_mem and to its namespace's total.  A connection
 * past conn_rx_mem fails with ERROR RESOURCE_EXHAUSTED; while the
 * namespace is past net_rx_mem, so does any connection holding more than
 * FRPC_CONN_RX_FAIR, so that the peers holding the most give way and a
 * well-behaved peer's small calls go on.  At a server socket one peer
 * address may hold peer_max_conns connections and peer_max_calls calls.
 * Documentation/design.rst turns these into the worst case a remote peer
 * can cause.
 *
 * Allocations for a connection are charged to the memory cgroup of its
 * owner: the process that opened a client connection, the process that
 * created the server socket for an accepted one.
 */
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>

#include "conn.h"
#include "frpc.h"
#include "mem.h"
#include "sock.h"

static int frpc_param_set_bytes(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1 << 20, INT_MAX);
}

static const struct kernel_param_ops frpc_bytes_ops = {
	.set = frpc_param_set_bytes,
	.get = param_get_uint,
};

static int frpc_param_set_count(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, FRPC_MAX_CALLS_CEIL);
}

static const struct kernel_param_ops frpc_count_ops = {
	.set = frpc_param_set_count,
	.get = param_get_uint,
};

unsigned int frpc_conn_rx_mem = FRPC_CONN_RX_MEM;
module_param_cb(conn_rx_mem, &frpc_bytes_ops, &frpc_conn_rx_mem, 0644);
MODULE_PARM_DESC(conn_rx_mem, "bytes one connection's peer may make the host hold");

unsigned int frpc_net_rx_mem = FRPC_NET_RX_MEM;
module_param_cb(net_rx_mem, &frpc_bytes_ops, &frpc_net_rx_mem, 0644);
MODULE_PARM_DESC(net_rx_mem, "bytes all peers of a namespace may make it hold");

unsigned int frpc_server_max_conns = FRPC_SERVER_MAX_CONNS;
module_param_cb(server_max_conns, &frpc_count_ops, &frpc_server_max_conns, 0644);
MODULE_PARM_DESC(server_max_conns, "connections one server socket accepts");

unsigned int frpc_peer_max_conns = FRPC_PEER_MAX_CONNS;
module_param_cb(peer_max_conns, &frpc_count_ops, &frpc_peer_max_conns, 0644);
MODULE_PARM_DESC(peer_max_conns, "connections one peer address may have to one server socket");

unsigned int frpc_peer_max_calls = FRPC_PEER_MAX_CALLS;
module_param_cb(peer_max_calls, &frpc_count_ops, &frpc_peer_max_calls, 0644);
MODULE_PARM_DESC(peer_max_calls, "calls one peer address may have open at one server socket");

unsigned int frpc_default_calls = FRPC_DEFAULT_CALLS;
module_param_cb(default_calls, &frpc_count_ops, &frpc_default_calls, 0644);
MODULE_PARM_DESC(default_calls, "FASTRPC_MAX_CALLS of a new socket: the calls it may have in flight");

unsigned int frpc_conn_max_calls = FRPC_CONN_MAX_CALLS;
module_param_cb(conn_max_calls, &frpc_count_ops, &frpc_conn_max_calls, 0644);
MODULE_PARM_DESC(conn_max_calls, "calls a peer may have open on one accepted connection");

void frpc_conn_charge(struct frpc_conn *conn, u32 bytes)
{
	atomic_add(bytes, &conn->rx_mem);
	atomic64_add(bytes, &conn->fn->rx_mem);
}

void frpc_conn_uncharge(struct frpc_conn *conn, u32 bytes)
{
	atomic_sub(bytes, &conn->rx_mem);
	atomic64_sub(bytes, &conn->fn->rx_mem);
}

/* Has the connection's peer made us hold more than it may? */
bool frpc_conn_over_mem(struct frpc_conn *conn)
{
	int held = atomic_read(&conn->rx_mem);
	bool over;

	over = held > (int)frpc_limit(conn->fn, FRPC_LIM_CONN_RX_MEM) ||
	       (held > FRPC_CONN_RX_FAIR &&
		atomic64_read(&conn->fn->rx_mem) >
		frpc_limit(conn->fn, FRPC_LIM_NET_RX_MEM));
	if (over)
		atomic64_inc(&conn->fn->mem_failures);
	return over;
}

/* The memory cgroup that pays for what @conn's peer makes us hold. */
struct mem_cgroup *frpc_conn_memcg(struct frpc_conn *conn)
{
	return conn->client ? conn->memcg : conn->server->memcg;
}

/* The caller's memory cgroup, with a reference; NULL without memcg. */
struct mem_cgroup *frpc_memcg_get(void)
{
	return current->mm ? get_mem_cgroup_from_mm(current->mm) : NULL;
}

void frpc_memcg_put(struct mem_cgroup *memcg)
{
	if (memcg)
		mem_cgroup_put(memcg);
}
