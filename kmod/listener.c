// SPDX-License-Identifier: GPL-2.0-only
/*
 * Server sockets: the kernel TCP listener behind bind() and listen(),
 * accepting connections, and handing complete incoming calls to the
 * socket.  A server socket's port is a plain TCP port: `ss -ltn` shows it.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <net/sock.h>
#include <net/tcp.h>

#include "frpc.h"

static void frpc_listen_data_ready(struct sock *sk)
{
	struct frpc_sock *fs;

	read_lock_bh(&sk->sk_callback_lock);
	fs = sk->sk_user_data;
	/* children in the accept queue were cloned with this callback */
	if (fs && sk->sk_state == TCP_LISTEN)
		queue_work(frpc_wq, &fs->accept_work);
	read_unlock_bh(&sk->sk_callback_lock);
}

static void frpc_accept_one(struct frpc_sock *fs, struct socket *tcp)
{
	struct sock *sk = tcp->sk;
	struct frpc_conn *conn;

	/* The child was cloned from the listener, callbacks and all: give it
	 * back the stock ones, so that nothing of ours outlives the module
	 * on a socket that TCP keeps after we release it.
	 */
	write_lock_bh(&sk->sk_callback_lock);
	sk->sk_user_data = NULL;
	sk->sk_data_ready = fs->saved_ldata_ready;
	write_unlock_bh(&sk->sk_callback_lock);

	if (READ_ONCE(fs->nconns) >= FRPC_SERVER_MAX_CONNS)
		goto err_release;
	conn = frpc_conn_alloc(frpc_net(sock_net(&fs->sk)), false);
	if (!conn)
		goto err_release;
	sock_hold(&fs->sk);
	conn->server = fs;

	mutex_lock(&fs->conns_lock);
	list_add_tail(&conn->node, &fs->conns);	/* the socket's reference */
	fs->nconns++;
	mutex_unlock(&fs->conns_lock);

	if (frpc_conn_attach(conn, tcp)) {
		sock_release(tcp);
		frpc_conn_fail(conn, -ENOMEM, FASTRPC_WERR_NONE);
	}
	return;

err_release:
	sock_release(tcp);
}

void frpc_accept_workfn(struct work_struct *work)
{
	struct frpc_sock *fs = container_of(work, struct frpc_sock, accept_work);
	struct socket *tcp;

	while (!kernel_accept(fs->ltcp, &tcp, O_NONBLOCK))
		frpc_accept_one(fs, tcp);
}

/* bind(): open the TCP socket now so that EADDRINUSE comes from bind. */
int frpc_server_bind(struct frpc_sock *fs, const struct sockaddr_fastrpc *a)
{
	struct net *net = sock_net(&fs->sk);
	struct sockaddr_storage ss = {};
	struct socket *tcp;
	int len, err;

	if (ntohs(a->sfr_port) && ntohs(a->sfr_port) < PROT_SOCK &&
	    !ns_capable(net->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;

	if (a->sfr_ip_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = a->sfr_port;
		len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = a->sfr_port;
		len = sizeof(*sin6);
	}

	err = sock_create_kern(net, a->sfr_ip_family, SOCK_STREAM,
			       IPPROTO_TCP, &tcp);
	if (err)
		return err;
	sock_set_reuseaddr(tcp->sk);
	err = kernel_bind(tcp, (struct sockaddr *)&ss, len);
	if (err) {
		sock_release(tcp);
		return err;
	}
	fs->ltcp = tcp;
	frpc_addr_from_sk(&fs->local, tcp->sk, false);
	return 0;
}

int frpc_server_listen(struct frpc_sock *fs, int backlog)
{
	struct sock *sk = fs->ltcp->sk;
	int err;

	err = kernel_listen(fs->ltcp, backlog);
	if (err)
		return err;
	write_lock_bh(&sk->sk_callback_lock);
	fs->saved_ldata_ready = sk->sk_data_ready;
	sk->sk_user_data = fs;
	sk->sk_data_ready = frpc_listen_data_ready;
	write_unlock_bh(&sk->sk_callback_lock);
	/* connections that completed before the callback was ours */
	queue_work(frpc_wq, &fs->accept_work);
	return 0;
}

static void frpc_server_stop_listener(struct frpc_sock *fs)
{
	struct socket *ltcp = fs->ltcp;

	if (!ltcp)
		return;
	if (fs->saved_ldata_ready) {
		struct sock *sk = ltcp->sk;

		write_lock_bh(&sk->sk_callback_lock);
		sk->sk_user_data = NULL;
		sk->sk_data_ready = fs->saved_ldata_ready;
		write_unlock_bh(&sk->sk_callback_lock);
		cancel_work_sync(&fs->accept_work);
	}
	fs->ltcp = NULL;
	sock_release(ltcp);
}

/*
 * shutdown(SHUT_RD) on a server socket: stop listening and send GOAWAY on
 * every connection.  Calls already taken may still be answered; each
 * connection closes when its last call is done.
 */
void frpc_server_shutdown(struct frpc_sock *fs)
{
	struct frpc_conn *conn;

	spin_lock_bh(&fs->lock);
	fs->shut_rd = true;
	spin_unlock_bh(&fs->lock);
	frpc_server_stop_listener(fs);

	mutex_lock(&fs->conns_lock);
	list_for_each_entry(conn, &fs->conns, node) {
		frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
		frpc_conn_kick(conn);
	}
	mutex_unlock(&fs->conns_lock);
}

/*
 * Close a server socket's listener and connections.  Each connection gets
 * GOAWAY and its open calls END(UNAVAILABLE) before it closes, so that
 * clients learn at once rather than from a timeout.
 */
void frpc_server_close(struct frpc_sock *fs)
{
	struct frpc_conn *conn;

	frpc_server_stop_listener(fs);
	mutex_lock(&fs->conns_lock);
	list_for_each_entry(conn, &fs->conns, node) {
		frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
		frpc_conn_fail(conn, -ESHUTDOWN, FASTRPC_WERR_NONE);
		/*
		 * GOAWAY and the ENDs go out now rather than from the work
		 * item, so that a peer on this host has stopped using the
		 * connection by the time close() returns.
		 */
		frpc_conn_kick(conn);
	}
	mutex_unlock(&fs->conns_lock);
}

/*
 * A new call arrived: give it a handle in the socket, or refuse it with
 * the status to send.  Past the socket's MAX_CALLS new calls fail at once
 * with RESOURCE_EXHAUSTED, so overload sheds load instead of queueing.
 */
u32 frpc_server_admit(struct frpc_conn *conn, struct frpc_call *call)
{
	struct frpc_sock *fs = conn->server;
	u32 status = FASTRPC_OK;

	lockdep_assert_held(&conn->lock);
	spin_lock(&fs->lock);
	if (fs->dead || fs->shut_rd || conn->state != FRPC_CONN_READY)
		status = FASTRPC_UNAVAILABLE;
	else if (fs->npending >= fs->max_calls ||
		 conn->ncalls >= FRPC_CONN_MAX_CALLS)
		status = FASTRPC_RESOURCE_EXHAUSTED;
	if (status == FASTRPC_OK) {
		call->fs = fs;
		call->key = ++fs->next_handle;
		hash_add(fs->pending, &call->sock_node, call->key);
		call->in_sock = true;
		fs->npending++;
	}
	spin_unlock(&fs->lock);
	if (status == FASTRPC_OK) {
		frpc_call_link(conn, call);
		atomic64_inc(&conn->fn->calls_received);
	}
	return status;
}
