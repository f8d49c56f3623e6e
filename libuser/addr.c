// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * FastRPC addresses: family number, parsing and formatting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define FAMILY_PARAM "/sys/module/af_fastrpc/parameters/family"

FASTRPC_EXPORT int fastrpc_family(void)
{
	char buf[16];
	ssize_t n;
	long fam;
	char *end;
	int fd;

	fd = open(FAMILY_PARAM, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return FASTRPC_AF_DEFAULT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return FASTRPC_AF_DEFAULT;
	buf[n] = '\0';
	fam = strtol(buf, &end, 10);
	if (end == buf || fam <= 0 || fam >= 256)
		return FASTRPC_AF_DEFAULT;
	return (int)fam;
}

FASTRPC_EXPORT int fastrpc_addr_any(struct sockaddr_fastrpc *out,
				    int ip_family, uint16_t port)
{
	if (ip_family != AF_INET && ip_family != AF_INET6)
		return -EAFNOSUPPORT;
	memset(out, 0, sizeof(*out));
	out->sfr_family = (__kernel_sa_family_t)fastrpc_family();
	out->sfr_ip_family = (uint16_t)ip_family;
	out->sfr_port = htons(port);
	return 0;
}

/* Scope after '%': an interface name or a decimal index. */
static int parse_scope(const char *scope, uint32_t *out)
{
	unsigned long idx;
	char *end;

	if (!*scope)
		return -EINVAL;
	idx = strtoul(scope, &end, 10);
	if (!*end && idx > 0 && idx <= UINT32_MAX) {
		*out = (uint32_t)idx;
		return 0;
	}
	idx = if_nametoindex(scope);
	if (!idx)
		return -ENODEV;
	*out = (uint32_t)idx;
	return 0;
}

FASTRPC_EXPORT int fastrpc_addr(struct sockaddr_fastrpc *out, const char *ip,
				uint16_t port)
{
	char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
	size_t len;
	char *pct;
	int ret;

	if (!ip)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sfr_family = (__kernel_sa_family_t)fastrpc_family();
	out->sfr_port = htons(port);

	if (inet_pton(AF_INET, ip, &out->sfr_addr.v4) == 1) {
		out->sfr_ip_family = AF_INET;
		return 0;
	}

	len = strlen(ip);
	if (ip[0] == '[') {
		if (len < 3 || ip[len - 1] != ']')
			return -EINVAL;
		ip++;
		len -= 2;
	}
	if (len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, ip, len);
	tmp[len] = '\0';

	pct = strchr(tmp, '%');
	if (pct) {
		*pct = '\0';
		ret = parse_scope(pct + 1, &out->sfr_scope_id);
		if (ret)
			return ret;
	}
	if (inet_pton(AF_INET6, tmp, &out->sfr_addr.v6) != 1)
		return -EINVAL;
	out->sfr_ip_family = AF_INET6;
	return 0;
}

FASTRPC_EXPORT int fastrpc_addr_str(const struct sockaddr_fastrpc *addr,
				    char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	char scope[16] = "";
	int n;

	switch (addr->sfr_ip_family) {
	case AF_INET:
		inet_ntop(AF_INET, &addr->sfr_addr.v4, ip, sizeof(ip));
		n = snprintf(buf, len, "%s:%u", ip, ntohs(addr->sfr_port));
		break;
	case AF_INET6:
		inet_ntop(AF_INET6, &addr->sfr_addr.v6, ip, sizeof(ip));
		if (addr->sfr_scope_id)
			snprintf(scope, sizeof(scope), "%%%u",
				 addr->sfr_scope_id);
		n = snprintf(buf, len, "[%s%s]:%u", ip, scope,
			     ntohs(addr->sfr_port));
		break;
	default:
		return -EAFNOSUPPORT;
	}
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENOSPC;
	return n;
}
