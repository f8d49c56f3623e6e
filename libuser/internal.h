/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfastrpc internals shared by its source files.
 */
#ifndef LIBFASTRPC_INTERNAL_H
#define LIBFASTRPC_INTERNAL_H

#include <errno.h>
#include <stdbool.h>

#include "libfastrpc.h"

/* Only symbols marked so leave the shared object. */
#define FASTRPC_EXPORT __attribute__((visibility("default")))

/* errno of the failed system call, as the library's negative return. */
static inline int frpc_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * recvmsg() read the end of file of a server socket shut down and
 * drained: 0 bytes and no control message, where even an empty message
 * comes with its FASTRPC_CMSG_INCOMING.
 */
static inline bool frpc_recv_eof(ssize_t n, const struct msghdr *msg)
{
	return n == 0 && msg->msg_controllen == 0;
}

#endif /* LIBFASTRPC_INTERNAL_H */
