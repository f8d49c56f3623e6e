/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one place where kernel versions differ for af_fastrpc.  Everything
 * else is written against the API common to 6.1 and 6.12.
 */
#ifndef _FRPC_COMPAT_H
#define _FRPC_COMPAT_H

#include <linux/version.h>
#include <linux/mm.h>

/* vm_flags became read-only outside the helpers in 6.3. */
static inline void frpc_vma_clear_flags(struct vm_area_struct *vma,
					unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

#endif /* _FRPC_COMPAT_H */
