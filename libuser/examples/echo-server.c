// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpc-echo-server: answer every call with its request bytes.
 *
 *   fastrpc-echo-server [--port P] [--ipv6]
 *
 * Method 1 is echo; any other method gets FASTRPC_UNIMPLEMENTED.  Runs
 * until killed.  Notices that a call was cancelled (the client gave up or
 * its deadline passed before the answer) are skipped, as are later
 * messages of streaming calls, which this server does not take.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "libfastrpc.h"

#define ECHO_METHOD	1
#define DEFAULT_PORT	7070

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [--port P] [--ipv6]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fastrpc_incoming_info info = { 0 };
	int ipfam = AF_INET, port = DEFAULT_PORT;
	static char buf[FASTRPC_MAX_MSG];
	ssize_t n, r;
	int fd, c;

	while ((c = getopt_long(argc, argv, "p:6h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			if (port <= 0 || port > 65535)
				usage(argv[0]);
			break;
		case '6':
			ipfam = AF_INET6;
			break;
		default:
			usage(argv[0]);
		}
	}

	fd = fastrpc_server_open(ipfam, (uint16_t)port, 128, SOCK_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fastrpc-echo-server: port %d: %s\n", port,
			fastrpc_strerror(fd));
		return 1;
	}
	printf("fastrpc-echo-server: listening on %s port %d\n",
	       ipfam == AF_INET6 ? "IPv6" : "IPv4", port);
	fflush(stdout);

	for (;;) {
		n = fastrpc_recv_call_ex(fd, &info, buf, sizeof(buf), 0);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "fastrpc-echo-server: recv: %s\n",
				fastrpc_strerror((int)n));
			return 1;
		}
		if (info.flags & (FASTRPC_IN_CANCELLED | FASTRPC_IN_CONT))
			continue;
		if (info.method == ECHO_METHOD)
			r = fastrpc_send_reply(fd, info.handle, FASTRPC_OK,
					       buf, (size_t)n, 0);
		else
			r = fastrpc_send_reply(fd, info.handle,
					       FASTRPC_UNIMPLEMENTED, NULL, 0,
					       0);
		/* The caller may have gone away meanwhile: not fatal. */
		if (r < 0 && r != -ENOENT && r != -ECANCELED) {
			char peer[FASTRPC_ADDRSTRLEN] = "?";

			fastrpc_addr_str(&info.peer, peer, sizeof(peer));
			fprintf(stderr, "fastrpc-echo-server: reply to %s: %s\n",
				peer, fastrpc_strerror((int)r));
		}
	}
	return 0;
}
