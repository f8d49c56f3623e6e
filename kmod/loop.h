/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * loop.c: the same-host short cut.  A client connection to a server
 * socket of its own namespace is paired with the server's connection
 * directly; frames skip TCP.
 */
#ifndef _FRPC_LOOP_H
#define _FRPC_LOOP_H

#include <linux/types.h>
#include <linux/uio.h>

struct frpc_conn;
struct frpc_loop;
struct frpc_ring;
struct sock;

extern unsigned int frpc_loopback;

struct frpc_loop *frpc_loop_connect(struct frpc_conn *conn);
void frpc_loop_attach_client(struct frpc_conn *conn, struct frpc_loop *lp);
void frpc_loop_abandon(struct frpc_loop *lp);
int frpc_loop_send(struct frpc_conn *conn, struct kvec *iov, int niov,
		   size_t len);
int frpc_loop_send_data(struct frpc_conn *conn, struct kvec *iov, int niov,
			size_t head_len, struct iov_iter *data, size_t data_len);
bool frpc_loop_defer_ring(struct frpc_conn *conn, struct frpc_ring *ring,
			  struct sock *sk);
void frpc_loop_detach(struct frpc_conn *conn);
void frpc_loop_close(struct frpc_conn *conn);

#endif /* _FRPC_LOOP_H */
