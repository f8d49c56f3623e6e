// SPDX-License-Identifier: GPL-2.0-only
/*
 * Socket options at SOL_FASTRPC: FASTRPC_MAX_CALLS (set and get),
 * FASTRPC_FEATURES, what this module supports, so that user space can
 * check before it relies on something, FASTRPC_SOCK_INFO, a socket's
 * own counters, and FASTRPC_LOOPBACK (set and get), whether its
 * connections may take the same-host short cut.
 */
#include <linux/sockptr.h>
#include <linux/uaccess.h>
#include <net/sock.h>

#include "conn.h"
#include "frpc.h"
#include "ring.h"
#include "sock.h"
#include "sockopt.h"

/* FASTRPC_FEAT_* of this module: FASTRPC_FEATURES, and netlink.c */
u64 frpc_features(void)
{
	u64 f = FASTRPC_FEAT_SHARED_CONN | FASTRPC_FEAT_STREAMING |
		FASTRPC_FEAT_DEADLINES | FASTRPC_FEAT_METADATA |
		FASTRPC_FEAT_FLOW | FASTRPC_FEAT_CMSG_TIMEOUT |
		FASTRPC_FEAT_LOOPBACK | FASTRPC_FEAT_RING |
		FASTRPC_FEAT_IN_DEADLINE | FASTRPC_FEAT_RING_LEND |
		FASTRPC_FEAT_RING_WAIT | FASTRPC_FEAT_SHUTDOWN_EOF;

	if (IS_ENABLED(CONFIG_IPV6))
		f |= FASTRPC_FEAT_IPV6;
	return f;
}

int frpc_setsockopt(struct socket *sock, int level, int optname,
		    sockptr_t optval, unsigned int optlen)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	u32 val;
	int on;

	if (level != SOL_FASTRPC)
		return -ENOPROTOOPT;
	switch (optname) {
	case FASTRPC_RING:
		return frpc_ring_setsockopt(fs, optval, optlen);
	case FASTRPC_LOOPBACK:
		if (optlen != sizeof(on))
			return -EINVAL;
		if (copy_from_sockptr(&on, optval, sizeof(on)))
			return -EFAULT;
		WRITE_ONCE(fs->loopback, !!on);
		return 0;
	case FASTRPC_MAX_CALLS:
		if (optlen != sizeof(val))
			return -EINVAL;
		if (copy_from_sockptr(&val, optval, sizeof(val)))
			return -EFAULT;
		if (!val || val > FRPC_MAX_CALLS_CEIL)
			return -EINVAL;
		WRITE_ONCE(fs->max_calls, val);
		frpc_sock_wake_out(&fs->sk);
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

int frpc_getsockopt(struct socket *sock, int level, int optname,
		    char __user *optval, int __user *optlen)
{
	struct frpc_sock *fs = frpc_sk(sock->sk);
	union {
		struct fastrpc_features feat;
		struct fastrpc_sock_info info;
		u32 val;
		int on;
	} u = {};
	int len, size;

	if (level != SOL_FASTRPC)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < 0)
		return -EINVAL;

	switch (optname) {
	case FASTRPC_RING:
		return frpc_ring_getsockopt(fs, optval, optlen, len);
	case FASTRPC_FEATURES:
		u.feat.size = sizeof(u.feat);
		u.feat.proto_min = FASTRPC_PROTO_MIN;
		u.feat.proto_max = FASTRPC_PROTO_MAX;
		u.feat.max_msg = FASTRPC_MAX_MSG;
		u.feat.max_calls = FRPC_MAX_CALLS_CEIL;
		u.feat.default_calls = frpc_limit(frpc_net(sock_net(&fs->sk)),
						  FRPC_LIM_DEFAULT_CALLS);
		u.feat.features = frpc_features();
		/* older callers may know a shorter struct */
		size = min_t(int, len, sizeof(u.feat));
		break;
	case FASTRPC_MAX_CALLS:
		if (len != sizeof(u.val))
			return -EINVAL;
		u.val = READ_ONCE(fs->max_calls);
		size = sizeof(u.val);
		break;
	case FASTRPC_LOOPBACK:
		if (len != sizeof(u.on))
			return -EINVAL;
		u.on = READ_ONCE(fs->loopback);
		size = sizeof(u.on);
		break;
	case FASTRPC_SOCK_INFO:
		if (len != sizeof(u.info))
			return -EINVAL;
		lock_sock(&fs->sk);
		spin_lock_bh(&fs->lock);
		u.info.calls_in_flight = fs->role == FRPC_ROLE_SERVER ?
					 fs->npending : fs->ncalls;
		u.info.rx_queued = fs->rxq_len;
		u.info.tx_queued = fs->tx_queued;
		u.info.rx_bytes = fs->rx_bytes;
		spin_unlock_bh(&fs->lock);
		if (fs->conn) {
			u.info.conn_id = fs->conn->id;
			u.info.rtt_us = READ_ONCE(fs->conn->srtt_us);
		}
		release_sock(&fs->sk);
		size = sizeof(u.info);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (copy_to_user(optval, &u, size) || put_user(size, optlen))
		return -EFAULT;
	return 0;
}
