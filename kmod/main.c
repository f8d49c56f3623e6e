// SPDX-License-Identifier: GPL-2.0-only
/*
 * af_fastrpc: module init and exit, per-namespace state and counters.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/genetlink.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "netlink.h"
#include "sock.h"

int frpc_family = FASTRPC_AF_DEFAULT;
module_param_named(family, frpc_family, int, 0444);
MODULE_PARM_DESC(family, "address family number of AF_FASTRPC (13, 18, 19, 22 or 25)");

struct workqueue_struct *frpc_wq;
static unsigned int frpc_net_id __read_mostly;

struct frpc_net *frpc_net(struct net *net)
{
	return net_generic(net, frpc_net_id);
}

#define FRPC_STAT(attr, field) \
	{ #field, offsetof(struct frpc_net, field), FASTRPC_A_STATS_##attr }
#define FRPC_STAT_PCPU(attr, field) \
	{ #field, offsetof(struct frpc_net_pcpu, field), \
	  FASTRPC_A_STATS_##attr, true }

/* /proc/net/fastrpc and FASTRPC_CMD_STATS_GET: every counter and gauge */
const struct frpc_stat frpc_stats[] = {
	FRPC_STAT(CONNS_OPEN, conns_open),
	FRPC_STAT(CONNS_TOTAL, conns_total),
	FRPC_STAT(CONNECT_FAILURES, connect_failures),
	FRPC_STAT_PCPU(CALLS_STARTED, calls_started),
	FRPC_STAT_PCPU(CALLS_COMPLETED, calls_completed),
	FRPC_STAT_PCPU(CALLS_RECEIVED, calls_received),
	FRPC_STAT_PCPU(REPLIES_SENT, replies_sent),
	FRPC_STAT_PCPU(LATE_REPLIES, late_replies),
	FRPC_STAT_PCPU(REPLIES_DROPPED, replies_dropped),
	FRPC_STAT_PCPU(CALLS_CANCELLED, calls_cancelled),
	FRPC_STAT_PCPU(DEADLINES_EXCEEDED, deadlines_exceeded),
	FRPC_STAT(PROTO_ERRORS, proto_errors),
	FRPC_STAT_PCPU(REJECTED_CALLS, rejected_calls),
	FRPC_STAT(PINGS_SENT, pings_sent),
	FRPC_STAT(GOAWAYS_SENT, goaways_sent),
	FRPC_STAT_PCPU(RX_HELD_BYTES, rx_held_bytes),
	FRPC_STAT_PCPU(TX_QUEUED_BYTES, tx_queued_bytes),
	FRPC_STAT(BACKOFF_PEERS, backoff_peers),
	FRPC_STAT(RX_MEM, rx_mem),
	FRPC_STAT(MEM_FAILURES, mem_failures),
	FRPC_STAT(CONNS_REFUSED, conns_refused),
	FRPC_STAT(LOOP_CONNS, loop_conns),
	FRPC_STAT_PCPU(LOOP_CALLS, loop_calls),
	FRPC_STAT_PCPU(RING_REFUSED, ring_refused),
	FRPC_STAT_PCPU(RING_ERRORS, ring_errors),
	FRPC_STAT_PCPU(RING_DIRECT, ring_direct),
	FRPC_STAT_PCPU(TX_BULK_BYTES, tx_bulk_bytes),
	FRPC_STAT(STALLED_CONNS, stalled_conns),
	{ }
};

static int frpc_stats_show(struct seq_file *seq, void *v)
{
	struct frpc_net *fn = frpc_net(seq_file_single_net(seq));
	const struct frpc_stat *st;
	u64 socks, conns;

	for (st = frpc_stats; st->name; st++)
		seq_printf(seq, "%s %lld\n", st->name, frpc_stat_read(fn, st));
	/* not counters: what the namespace's server lists hold right now */
	frpc_net_count_servers(fn, &socks, &conns);
	seq_printf(seq, "server_sockets %llu\n", socks);
	seq_printf(seq, "server_conns %llu\n", conns);
	return 0;
}

static int __net_init frpc_net_init(struct net *net)
{
	struct frpc_net *fn = frpc_net(net);

	fn->net = net;
	mutex_init(&fn->lock);
	INIT_LIST_HEAD(&fn->conns);
	INIT_LIST_HEAD(&fn->peers);
	INIT_LIST_HEAD(&fn->servers);
	frpc_nl_net_init(fn);
	fn->pcpu = alloc_percpu(struct frpc_net_pcpu);
	if (!fn->pcpu)
		return -ENOMEM;
	if (!proc_create_net_single("fastrpc", 0444, net->proc_net,
				    frpc_stats_show, NULL)) {
		free_percpu(fn->pcpu);
		return -ENOMEM;
	}
	return 0;
}

static void __net_exit frpc_net_exit(struct net *net)
{
	struct frpc_net *fn = frpc_net(net);

	/* Sockets hold their namespace, so only idle client connections and
	 * teardown work can still refer to it: GOAWAY and close the former,
	 * wait for the latter, before the namespace goes.
	 */
	frpc_net_close_all(fn);
	flush_workqueue(frpc_wq);
	WARN_ON(!list_empty(&fn->conns));
	WARN_ON(!list_empty(&fn->servers));	/* sockets hold the namespace */
	WARN_ON(!RB_EMPTY_ROOT(&fn->nl_socks) || !RB_EMPTY_ROOT(&fn->nl_conns));
	remove_proc_entry("fastrpc", net->proc_net);
	free_percpu(fn->pcpu);
}

static struct pernet_operations frpc_net_ops = {
	.init = frpc_net_init,
	.exit = frpc_net_exit,
	.id   = &frpc_net_id,
	.size = sizeof(struct frpc_net),
};

static int __init frpc_mod_init(void)
{
	int err;

	if (frpc_family <= 0 || frpc_family >= NPROTO) {
		pr_err("af_fastrpc: family %d out of range\n", frpc_family);
		return -EINVAL;
	}

	frpc_wq = alloc_workqueue("fastrpc", WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!frpc_wq)
		return -ENOMEM;

	err = frpc_call_init();
	if (err)
		goto err_wq;

	err = register_pernet_subsys(&frpc_net_ops);
	if (err)
		goto err_call;

	err = frpc_nl_init();
	if (err)
		goto err_pernet;

	err = frpc_sock_register();
	if (err)
		goto err_nl;

	pr_info("af_fastrpc: protocol v%d, address family %d\n",
		FASTRPC_PROTO_MAX, frpc_family);
	return 0;

err_nl:
	frpc_nl_exit();
err_pernet:
	unregister_pernet_subsys(&frpc_net_ops);
err_call:
	frpc_call_exit();
err_wq:
	destroy_workqueue(frpc_wq);
	return err;
}

static void __exit frpc_mod_exit(void)
{
	frpc_sock_unregister();
	/* first: its requests use the namespaces' state, freed next */
	frpc_nl_exit();
	unregister_pernet_subsys(&frpc_net_ops);
	destroy_workqueue(frpc_wq);
	frpc_call_exit();
}

module_init(frpc_mod_init);
module_exit(frpc_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_FASTRPC: multiplexed RPC sockets over in-kernel TCP");
MODULE_ALIAS_NETPROTO(FASTRPC_AF_DEFAULT);
MODULE_VERSION(FRPC_MODULE_VERSION);
/* a lookup of the netlink family loads an installed module */
MODULE_ALIAS_GENL_FAMILY(FASTRPC_GENL_NAME);
