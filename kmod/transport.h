/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * transport.c: everything that touches a TCP socket, and the dispatch to
 * the same-host short cut (loop.c) for a connection that has none.
 */
#ifndef _FRPC_TRANSPORT_H
#define _FRPC_TRANSPORT_H

#include <linux/net.h>
#include <linux/uio.h>
#include <linux/fastrpc.h>

struct frpc_conn;
struct frpc_sock;

void frpc_addr_from_sk(struct sockaddr_fastrpc *a, struct sock *sk, bool peer);
int frpc_tp_attach(struct frpc_conn *conn, struct socket *tcp);
void frpc_tp_detach(struct frpc_conn *conn);
void frpc_tp_close(struct frpc_conn *conn, bool drain);
void frpc_tp_read_rest(struct frpc_conn *conn);
void frpc_tp_reader_failed(struct frpc_conn *conn);
int frpc_tp_send(struct frpc_conn *conn, struct kvec *iov, int niov,
		 size_t len, long timeo, int flags);
int frpc_tp_send_data(struct frpc_conn *conn, struct kvec *iov, int niov,
		      size_t head_len, struct iov_iter *data, size_t data_len,
		      int flags);
int frpc_tp_connect(struct frpc_conn *conn, struct socket **tcpp);
int frpc_tp_bind(struct frpc_sock *fs, const struct sockaddr_fastrpc *a);
int frpc_tp_listen(struct frpc_sock *fs, int backlog);
void frpc_tp_unlisten(struct frpc_sock *fs);

#endif /* _FRPC_TRANSPORT_H */
