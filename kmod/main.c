// SPDX-License-Identifier: GPL-2.0-only
/*
 * af_fastrpc: module init and exit, per-namespace state and counters.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "listener.h"
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

/* /proc/net/fastrpc: one "name value" line per counter and gauge */
static const struct {
	const char	*name;
	size_t		off;
} frpc_stats[] = {
	{ "conns_open", offsetof(struct frpc_net, conns_open) },
	{ "conns_total", offsetof(struct frpc_net, conns_total) },
	{ "connect_failures", offsetof(struct frpc_net, connect_failures) },
	{ "calls_started", offsetof(struct frpc_net, calls_started) },
	{ "calls_completed", offsetof(struct frpc_net, calls_completed) },
	{ "calls_received", offsetof(struct frpc_net, calls_received) },
	{ "replies_sent", offsetof(struct frpc_net, replies_sent) },
	{ "late_replies", offsetof(struct frpc_net, late_replies) },
	{ "replies_dropped", offsetof(struct frpc_net, replies_dropped) },
	{ "calls_cancelled", offsetof(struct frpc_net, calls_cancelled) },
	{ "deadlines_exceeded", offsetof(struct frpc_net, deadlines_exceeded) },
	{ "proto_errors", offsetof(struct frpc_net, proto_errors) },
	{ "rejected_calls", offsetof(struct frpc_net, rejected_calls) },
	{ "pings_sent", offsetof(struct frpc_net, pings_sent) },
	{ "goaways_sent", offsetof(struct frpc_net, goaways_sent) },
	{ "rx_held_bytes", offsetof(struct frpc_net, rx_held_bytes) },
	{ "tx_queued_bytes", offsetof(struct frpc_net, tx_queued_bytes) },
	{ "backoff_peers", offsetof(struct frpc_net, backoff_peers) },
	{ "rx_mem", offsetof(struct frpc_net, rx_mem) },
	{ "mem_failures", offsetof(struct frpc_net, mem_failures) },
	{ "conns_refused", offsetof(struct frpc_net, conns_refused) },
	{ "loop_conns", offsetof(struct frpc_net, loop_conns) },
	{ "loop_calls", offsetof(struct frpc_net, loop_calls) },
	{ "ring_refused", offsetof(struct frpc_net, ring_refused) },
	{ "ring_errors", offsetof(struct frpc_net, ring_errors) },
};

static int frpc_stats_show(struct seq_file *seq, void *v)
{
	struct frpc_net *fn = frpc_net(seq_file_single_net(seq));
	u64 socks, conns;
	int i;

	for (i = 0; i < ARRAY_SIZE(frpc_stats); i++)
		seq_printf(seq, "%s %lld\n", frpc_stats[i].name,
			   atomic64_read((atomic64_t *)((char *)fn +
							frpc_stats[i].off)));
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
	if (!proc_create_net_single("fastrpc", 0444, net->proc_net,
				    frpc_stats_show, NULL))
		return -ENOMEM;
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
	remove_proc_entry("fastrpc", net->proc_net);
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

	err = frpc_sock_register();
	if (err)
		goto err_pernet;

	pr_info("af_fastrpc: protocol v%d, address family %d\n",
		FASTRPC_PROTO_MAX, frpc_family);
	return 0;

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
	unregister_pernet_subsys(&frpc_net_ops);
	destroy_workqueue(frpc_wq);
	frpc_call_exit();
}

module_init(frpc_mod_init);
module_exit(frpc_mod_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_FASTRPC: multiplexed RPC sockets over in-kernel TCP");
MODULE_ALIAS_NETPROTO(FASTRPC_AF_DEFAULT);
