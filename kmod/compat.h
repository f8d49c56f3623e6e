/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one place where kernel versions differ for af_fastrpc.  Everything
 * else is written against the API common to 6.1 and 6.12.
 */
#ifndef _FRPC_COMPAT_H
#define _FRPC_COMPAT_H

#include <linux/version.h>

#endif /* _FRPC_COMPAT_H */
