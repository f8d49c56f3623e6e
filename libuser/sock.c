// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FastRPC sockets: creation, connect, listen and socket options.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

FASTRPC_EXPORT int fastrpc_socket(int flags)
{
	int fd;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	fd = socket(fastrpc_family(), SOCK_SEQPACKET | flags, 0);
	return fd < 0 ? frpc_neg_errno() : fd;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return frpc_neg_errno();
	return 0;
}

FASTRPC_EXPORT int fastrpc_client_open(const char *ip, uint16_t port,
				       int flags)
{
	struct sockaddr_fastrpc addr;
	int fd, ret;

	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return -EINVAL;
	ret = fastrpc_addr(&addr, ip, port);
	if (ret)
		return ret;
	/* Connect blocking so that the caller never sees EINPROGRESS. */
	fd = fastrpc_socket(flags & SOCK_CLOEXEC);
	if (fd < 0)
		return fd;
	do {
		ret = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		goto fail;
	if (flags & SOCK_NONBLOCK) {
		ret = set_nonblock(fd);
		if (ret < 0) {
			close(fd);
			return ret;
		}
	}
	return fd;
fail:
	ret = frpc_neg_errno();
	close(fd);
	return ret;
}

FASTRPC_EXPORT int fastrpc_server_open(int ip_family, uint16_t port,
				       int backlog, int flags)
{
	struct sockaddr_fastrpc addr;
	int fd, ret;

	ret = fastrpc_addr_any(&addr, ip_family, port);
	if (ret)
		return ret;
	fd = fastrpc_socket(flags);
	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, backlog) < 0) {
		ret = frpc_neg_errno();
		close(fd);
		return ret;
	}
	return fd;
}

FASTRPC_EXPORT int fastrpc_get_features(int fd, struct fastrpc_features *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockopt(fd, SOL_FASTRPC, FASTRPC_FEATURES, out, &len) < 0)
		return frpc_neg_errno();
	return 0;
}

FASTRPC_EXPORT int fastrpc_get_sock_info(int fd, struct fastrpc_sock_info *out)
{
	socklen_t len = sizeof(*out);

	memset(out, 0, sizeof(*out));
	if (getsockopt(fd, SOL_FASTRPC, FASTRPC_SOCK_INFO, out, &len) < 0)
		return frpc_neg_errno();
	return 0;
}

FASTRPC_EXPORT int fastrpc_set_max_calls(int fd, uint32_t max_calls)
{
	if (setsockopt(fd, SOL_FASTRPC, FASTRPC_MAX_CALLS, &max_calls,
		       sizeof(max_calls)) < 0)
		return frpc_neg_errno();
	return 0;
}

FASTRPC_EXPORT int fastrpc_get_max_calls(int fd, uint32_t *out)
{
	socklen_t len = sizeof(*out);

	if (getsockopt(fd, SOL_FASTRPC, FASTRPC_MAX_CALLS, out, &len) < 0)
		return frpc_neg_errno();
	if (len != sizeof(*out))
		return -EPROTO;
	return 0;
}
