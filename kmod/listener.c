// SPDX-License-Identifier: GPL-2.0-only
/*
 * Server sockets: which connections and calls a server socket takes, per
 * socket and per peer address (the TCP listener itself is transport.c's),
 * shutdown and close.  A server socket's port is a plain TCP port:
 * `ss -ltn` shows it.
 */
#include <linux/in.h>
#include <linux/in6.h>
#include <net/ipv6.h>
#include <net/sock.h>

#include "call.h"
#include "conn.h"
#include "frpc.h"
#include "listener.h"
#include "mem.h"
#include "netlink.h"
#include "sock.h"
#include "transport.h"
#include "tx.h"

static bool frpc_share_match(const struct frpc_share *sh,
			     const struct sockaddr_fastrpc *a)
{
	if (sh->addr.sfr_ip_family != a->sfr_ip_family)
		return false;
	if (a->sfr_ip_family == AF_INET)
		return sh->addr.sfr_addr.v4 == a->sfr_addr.v4;
	return ipv6_addr_equal(&sh->addr.sfr_addr.v6, &a->sfr_addr.v6);
}

static u32 frpc_share_hash(const struct sockaddr_fastrpc *a)
{
	if (a->sfr_ip_family == AF_INET)
		return (__force u32)a->sfr_addr.v4;
	return ipv6_addr_hash(&a->sfr_addr.v6);
}

/* A peer's share with nothing left in it goes.  fs->lock held. */
static void frpc_share_put(struct frpc_sock *fs, struct frpc_share *sh)
{
	lockdep_assert_held(&fs->lock);
	if (sh->nconns || sh->ncalls)
		return;
	hash_del(&sh->node);
	kfree(sh);
}

/*
 * A TCP connection (or the same-host short cut) came in from @peer: make
 * it a FastRPC connection, or refuse it (NULL) when the socket stopped
 * listening, or it or that peer address has as many as it may.  Every
 * port of one address is the same peer.  The caller gets a reference of
 * its own and puts it when done: once on the list, the connection is the
 * socket's too, and close() may end and free it at any time.
 */
struct frpc_conn *frpc_server_new_conn(struct frpc_sock *fs,
				       const struct sockaddr_fastrpc *peer)
{
	struct frpc_net *fn = frpc_net(sock_net(&fs->sk));
	u32 key = frpc_share_hash(peer);
	struct frpc_share *sh, *fresh;
	struct frpc_conn *conn;
	bool found = false;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	conn = frpc_conn_alloc(fn, peer, false);
	if (!fresh || !conn)
		goto err;

	mutex_lock(&fs->conns_lock);
	/*
	 * The short cut finds the socket without its accept work: once
	 * close or shutdown stopped listening (before it takes conns_lock
	 * to end the connections), no new one may join the list.
	 */
	if (!frpc_server_listening(fs)) {
		mutex_unlock(&fs->conns_lock);
		goto err;
	}
	spin_lock_bh(&fs->lock);
	/*
	 * Checked again under the lock that shutdown() sets it under: a
	 * connection that joins once it may have found no live one left
	 * would take back the end of file it reported.
	 */
	if (fs->shut_rd || fs->dead) {
		spin_unlock_bh(&fs->lock);
		mutex_unlock(&fs->conns_lock);
		goto err;
	}
	hash_for_each_possible(fs->shares, sh, node, key) {
		if (frpc_share_match(sh, peer)) {
			found = true;
			break;
		}
	}
	if (fs->nconns >= frpc_limit(fn, FRPC_LIM_SERVER_MAX_CONNS) ||
	    (found && sh->nconns >= frpc_limit(fn, FRPC_LIM_PEER_MAX_CONNS))) {
		spin_unlock_bh(&fs->lock);
		mutex_unlock(&fs->conns_lock);
		atomic64_inc(&fn->conns_refused);
		goto err;
	}
	if (!found) {
		sh = fresh;
		fresh = NULL;
		sh->addr = *peer;
		sh->addr.sfr_port = 0;
		hash_add(fs->shares, &sh->node, key);
	}
	sh->nconns++;
	conn->share = sh;
	WRITE_ONCE(fs->nlive, fs->nlive + 1);
	spin_unlock_bh(&fs->lock);
	sock_hold(&fs->sk);
	WRITE_ONCE(conn->server, fs);	/* netlink dumps read it */
	kref_get(&conn->ref);			/* the caller's */
	list_add_tail(&conn->node, &fs->conns);	/* the socket's reference */
	fs->nconns++;
	mutex_unlock(&fs->conns_lock);
	kfree(fresh);
	return conn;

err:
	kfree(fresh);
	if (conn)
		frpc_conn_put(conn);
	return NULL;
}

/* Does the socket take new connections (TCP or the short cut)? */
bool frpc_server_listening(struct frpc_sock *fs)
{
	return READ_ONCE(fs->ltcp) && !READ_ONCE(fs->shut_rd) &&
	       !READ_ONCE(fs->dead);
}

/* An accepted connection left the socket's list.  conns_lock held. */
void frpc_server_conn_gone(struct frpc_conn *conn)
{
	struct frpc_sock *fs = conn->server;

	lockdep_assert_held(&fs->conns_lock);
	fs->nconns--;
	spin_lock_bh(&fs->lock);
	conn->share->nconns--;
	frpc_share_put(fs, conn->share);
	spin_unlock_bh(&fs->lock);
}

/*
 * An accepted connection's teardown is over, after it left the socket's
 * list: its calls are ended and its last frames gone, so no message and
 * no completion of a lent payload will come from it any more.  The last
 * one of a shut-down socket makes its end of file readable, unless a
 * reader still owes a cancellation notice (fs->ncancel_owed: the notice's
 * queueing wakes it then, frpc_call_keep_request()).  Process context;
 * the connection holds the socket.
 */
void frpc_server_conn_closed(struct frpc_sock *fs)
{
	bool eof;

	spin_lock_bh(&fs->lock);
	WRITE_ONCE(fs->nlive, fs->nlive - 1);
	eof = frpc_server_drained(fs) && !fs->dead;
	spin_unlock_bh(&fs->lock);
	if (eof)
		frpc_sock_wake_eof(fs);
}

/*
 * A socket started listening: its namespace lists it until it is
 * released, so that the control plane can find every server socket and,
 * through fs->conns, every accepted connection.
 */
void frpc_server_add(struct frpc_sock *fs)
{
	struct frpc_net *fn = frpc_net(sock_net(&fs->sk));

	mutex_lock(&fn->lock);
	list_add_tail(&fs->server_node, &fn->servers);
	mutex_unlock(&fn->lock);
}

void frpc_server_del(struct frpc_sock *fs)
{
	struct frpc_net *fn = frpc_net(sock_net(&fs->sk));

	mutex_lock(&fn->lock);
	list_del_init(&fs->server_node);
	mutex_unlock(&fn->lock);
}

/*
 * Count the namespace's server sockets and their accepted connections by
 * walking the lists, as a dump would.  Each socket's conns_lock nests in
 * fn->lock (the order at the top of frpc.h).
 */
void frpc_net_count_servers(struct frpc_net *fn, u64 *socks, u64 *conns)
{
	struct frpc_conn *conn;
	struct frpc_sock *fs;

	*socks = 0;
	*conns = 0;
	mutex_lock(&fn->lock);
	list_for_each_entry(fs, &fn->servers, server_node) {
		(*socks)++;
		mutex_lock(&fs->conns_lock);
		list_for_each_entry(conn, &fs->conns, node)
			(*conns)++;
		mutex_unlock(&fs->conns_lock);
	}
	mutex_unlock(&fn->lock);
}

/*
 * shutdown(SHUT_RD) on a server socket: stop listening and send GOAWAY on
 * every connection.  Calls already taken may still be answered; each
 * connection closes when its last call is done, and once the last one has
 * (frpc_server_conn_closed()), or now if there is none, the socket reads
 * end of file after what is queued.
 */
void frpc_server_shutdown(struct frpc_sock *fs)
{
	struct frpc_conn *conn;
	bool eof;

	spin_lock_bh(&fs->lock);
	WRITE_ONCE(fs->shut_rd, true);
	eof = frpc_server_drained(fs);
	spin_unlock_bh(&fs->lock);
	if (eof)
		frpc_sock_wake_eof(fs);
	frpc_tp_unlisten(fs);

	mutex_lock(&fs->conns_lock);
	list_for_each_entry(conn, &fs->conns, node) {
		frpc_conn_goaway(conn, FASTRPC_WERR_NONE);
		frpc_conn_kick(conn);
		cond_resched();
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

	frpc_tp_unlisten(fs);
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
		/*
		 * A connection that failed in softirq before may have calls
		 * its work item has not ended yet: end them here, so that the
		 * socket's release finds in its table only calls no connection
		 * holds any more, and never frees one a connection still does.
		 */
		frpc_conn_end_all(conn);
	}
	mutex_unlock(&fs->conns_lock);
}

/*
 * A new call arrived: give it a handle in the socket, or refuse it with
 * the status to send.  Past the socket's MAX_CALLS new calls fail at once
 * with RESOURCE_EXHAUSTED, so overload sheds load instead of queueing.
 */
/*
 * May this peer open one more call?  Never past peer_max_calls, and on a
 * socket with room for 64 calls or more never past three quarters of
 * them, so that one peer cannot take the last quarter from the others.
 * @conn: the peer's connection (its share, its namespace).  fs->lock held.
 */
static bool frpc_share_full(struct frpc_sock *fs, struct frpc_conn *conn)
{
	/* setsockopt(FASTRPC_MAX_CALLS) writes it without fs->lock */
	u32 cap = READ_ONCE(fs->max_calls);

	lockdep_assert_held(&fs->lock);
	if (cap >= 64)
		cap -= cap / 4;
	return conn->share->ncalls >=
	       min(cap, frpc_limit(conn->fn, FRPC_LIM_PEER_MAX_CALLS));
}

u32 frpc_server_admit(struct frpc_conn *conn, struct frpc_call *call)
{
	struct frpc_sock *fs = conn->server;
	u32 status = FASTRPC_OK;

	lockdep_assert_held(&conn->lock);
	spin_lock(&fs->lock);
	if (fs->dead || fs->shut_rd || conn->state != FRPC_CONN_READY) {
		status = FASTRPC_UNAVAILABLE;
	} else if (fs->npending >= READ_ONCE(fs->max_calls) ||
		 conn->ncalls >= frpc_limit(conn->fn, FRPC_LIM_CONN_MAX_CALLS) ||
		 frpc_share_full(fs, conn)) {
		status = FASTRPC_RESOURCE_EXHAUSTED;
		frpc_nl_reject(fs);
	}
	if (status == FASTRPC_OK) {
		call->fs = fs;
		call->key = ++fs->next_handle;
		hash_add(fs->pending, &call->sock_node, call->key);
		call->in_sock = true;
		fs->npending++;
		conn->share->ncalls++;
	}
	spin_unlock(&fs->lock);
	if (status == FASTRPC_OK) {
		frpc_call_link(conn, call);
		frpc_count(conn->fn, calls_received);
	}
	return status;
}

/* A server call left its socket's table.  fs->lock held. */
void __frpc_server_call_gone(struct frpc_call *call)
{
	struct frpc_sock *fs = call->fs;
	struct frpc_share *sh = call->conn->share;

	lockdep_assert_held(&fs->lock);
	fs->npending--;
	sh->ncalls--;
	frpc_share_put(fs, sh);
}
