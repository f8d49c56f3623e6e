/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfastrpc internals shared by its source files.
 */
#ifndef LIBFASTRPC_INTERNAL_H
#define LIBFASTRPC_INTERNAL_H

#include <errno.h>

#include "libfastrpc.h"

/* Only symbols marked so leave the shared object. */
#define FASTRPC_EXPORT __attribute__((visibility("default")))

/* errno of the failed system call, as the library's negative return. */
static inline int frpc_neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

#endif /* LIBFASTRPC_INTERNAL_H */
