// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fastrpc: trace events (trace.h) are created here, with the helpers
 * their fields are filled by.  The helpers run only for an enabled event:
 * a disabled tracepoint is a patched-out jump at its call site.  They
 * are inline so that a kernel without tracepoints, where nothing calls
 * them, builds without warnings.
 */
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "sock.h"

static inline u32 frpc_trace_netns(const struct frpc_conn *conn)
{
	return conn->fn->net->ns.inum;
}

/* The socket of a call: a client's, or the server socket that took it. */
static inline void frpc_trace_call(const struct frpc_call *call,
				   u32 *netns, u64 *conn, u64 *sock,
				   u8 *client)
{
	*netns = frpc_trace_netns(call->conn);
	*conn = call->conn->id;
	*sock = call->fs ? call->fs->ino : 0;
	*client = call->conn->client;
}

static inline u64 frpc_trace_latency(const struct frpc_call *call)
{
	return call->start_ns ? ktime_get_ns() - call->start_ns : 0;
}

/* The connection and its peer, IPv4 addresses v4-mapped. */
static inline void frpc_trace_conn(const struct frpc_conn *conn,
				   u32 *netns, u64 *id, u16 *family,
				   u16 *port, u8 *addr)
{
	const struct sockaddr_fastrpc *peer = &conn->peer;
	struct in6_addr a;

	*netns = frpc_trace_netns(conn);
	*id = conn->id;
	*family = peer->sfr_ip_family;
	*port = be16_to_cpu(peer->sfr_port);
	if (peer->sfr_ip_family == AF_INET6)
		a = peer->sfr_addr.v6;
	else
		ipv6_addr_set_v4mapped(peer->sfr_addr.v4, &a);
	memcpy(addr, &a, sizeof(a));
}

static inline u64 frpc_trace_server_ino(const struct frpc_conn *conn)
{
	return conn->server ? conn->server->ino : 0;
}

static inline u8 frpc_trace_client(const struct frpc_conn *conn)
{
	return conn->client;
}

/* conn->lock held: the state it leaves, and why a dead one died. */
static inline void frpc_trace_conn_state(const struct frpc_conn *conn,
					 u8 *client, u8 *loop, u8 *old_state,
					 s32 *err)
{
	*client = conn->client;
	*loop = READ_ONCE(conn->via_loop);
	*old_state = conn->state;
	*err = conn->err;
}

#define CREATE_TRACE_POINTS
#include "trace.h"
