// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpc-echo-client: make echo calls and check the replies.
 *
 *   fastrpc-echo-client [--host IP] [--port P] [-n N] [--size S]
 *
 * Prints each call (tag, status, bytes) when N is at most 20, then a
 * summary.  Exits 0 only if every call came back OK with its own bytes.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "libfastrpc.h"

#define ECHO_METHOD	1
#define DEFAULT_PORT	7070
#define VERBOSE_MAX	20

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--host IP] [--port P] [-n N] [--size S]\n", prog);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1";
	long n = 5, size = 32, ok = 0, bad = 0, i;
	int port = DEFAULT_PORT, fd, c;
	double t0, t1, total_us = 0;
	char *req, *resp;

	while ((c = getopt_long(argc, argv, "H:p:n:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			port = atoi(optarg);
			if (port <= 0 || port > 65535)
				usage(argv[0]);
			break;
		case 'n':
			n = atol(optarg);
			if (n <= 0)
				usage(argv[0]);
			break;
		case 's':
			size = atol(optarg);
			if (size < 0 || size > FASTRPC_MAX_MSG)
				usage(argv[0]);
			break;
		default:
			usage(argv[0]);
		}
	}

	req = malloc((size_t)size + 1);
	resp = malloc((size_t)size + 1);
	if (!req || !resp) {
		fprintf(stderr, "fastrpc-echo-client: out of memory\n");
		return 1;
	}
	fd = fastrpc_client_open(host, (uint16_t)port, SOCK_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fastrpc-echo-client: %s port %d: %s\n", host,
			port, fastrpc_strerror(fd));
		return 1;
	}

	for (i = 0; i < n; i++) {
		uint64_t tag;
		uint32_t status;
		ssize_t got, sent;
		long j;

		for (j = 0; j < size; j++)
			req[j] = (char)('a' + (i + j) % 26);
		t0 = now_us();
		sent = fastrpc_send_call(fd, (uint64_t)i, ECHO_METHOD, req,
					 (size_t)size, 0);
		if (sent < 0) {
			fprintf(stderr, "fastrpc-echo-client: send: %s\n",
				fastrpc_strerror((int)sent));
			return 1;
		}
		got = fastrpc_recv_result(fd, &tag, &status, resp,
					  (size_t)size + 1, 0);
		t1 = now_us();
		if (got < 0) {
			fprintf(stderr, "fastrpc-echo-client: recv: %s\n",
				fastrpc_strerror((int)got));
			return 1;
		}
		total_us += t1 - t0;
		if (n <= VERBOSE_MAX)
			printf("call tag=%llu status=%s bytes=%zd rtt=%.1fus\n",
			       (unsigned long long)tag,
			       fastrpc_status_str(status), got, t1 - t0);
		if (tag == (uint64_t)i && status == FASTRPC_OK &&
		    got == size && !memcmp(req, resp, (size_t)size))
			ok++;
		else
			bad++;
	}
	printf("fastrpc-echo-client: %s port %d: %ld calls, %ld ok, %ld failed, "
	       "mean rtt %.1f us\n", host, port, n, ok, bad, total_us / (double)n);
	free(req);
	free(resp);
	return bad ? 1 : 0;
}
