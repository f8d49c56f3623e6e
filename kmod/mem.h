/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mem.c: what peers may make us hold: the limits (module parameters),
 * charging, and the memory cgroup that pays.
 */
#ifndef _FRPC_MEM_H
#define _FRPC_MEM_H

#include <linux/types.h>

struct frpc_conn;
struct mem_cgroup;

extern unsigned int frpc_conn_rx_mem, frpc_net_rx_mem, frpc_server_max_conns,
		    frpc_peer_max_conns, frpc_peer_max_calls, frpc_conn_max_calls,
		    frpc_default_calls;
void frpc_conn_charge(struct frpc_conn *conn, u32 bytes);
void frpc_conn_uncharge(struct frpc_conn *conn, u32 bytes);
bool frpc_conn_over_mem(struct frpc_conn *conn);
struct mem_cgroup *frpc_conn_memcg(struct frpc_conn *conn);
struct mem_cgroup *frpc_memcg_get(void);
void frpc_memcg_put(struct mem_cgroup *memcg);

#endif /* _FRPC_MEM_H */
