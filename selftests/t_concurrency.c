// SPDX-License-Identifier: GPL-2.0-only
/*
 * Many calls in flight: 1024 on one client socket, answered by four
 * server threads receiving on one server socket; and several client
 * threads on their own sockets at once.
 */
#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7200
#define NCALLS		1024
#define PAYLOAD		48
#define SRV_THREADS	4

FIXTURE(conc) {
	struct echo_srv srv;
};

FIXTURE_SETUP(conc)
{
	int ret = echo_srv_start(&self->srv, AF_INET,
				 test_port(BASE_PORT, _metadata->name),
				 SRV_THREADS);

	ASSERT_EQ(0, ret) TH_LOG("server: %s", fastrpc_strerror(ret));
}

FIXTURE_TEARDOWN(conc)
{
	echo_srv_stop(&self->srv);
	EXPECT_EQ(0U, atomic_load(&self->srv.errors))
		TH_LOG("server errors, last %d",
		       atomic_load(&self->srv.last_err));
}

/*
 * Send @n calls with tags base..base+n-1 (payload: the tag, then a pattern
 * seeded by it), then receive all; each tag must come back exactly once
 * with its own payload.  Returns the number of faults, or -errno.
 */
static int burst(int fd, uint64_t base, int n)
{
	uint8_t *seen = calloc((size_t)n, 1);
	uint8_t req[PAYLOAD], resp[PAYLOAD + 1];
	int i, faults = 0;
	uint32_t status;
	uint64_t tag;
	ssize_t r;

	if (!seen)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		tag = base + (uint64_t)i;
		memcpy(req, &tag, sizeof(tag));
		fill_pattern(req + 8, PAYLOAD - 8, tag);
		r = fastrpc_send_call(fd, tag, M_ECHO, req, PAYLOAD, 0);
		if (r != PAYLOAD) {
			free(seen);
			return r < 0 ? (int)r : -EIO;
		}
	}
	for (i = 0; i < n; i++) {
		r = fastrpc_recv_result(fd, &tag, &status, resp, sizeof(resp),
					0);
		if (r < 0) {
			free(seen);
			return (int)r;
		}
		if (tag < base || tag >= base + (uint64_t)n ||
		    seen[tag - base]++ || status != FASTRPC_OK ||
		    r != PAYLOAD || memcmp(resp, &tag, sizeof(tag)) ||
		    !check_pattern(resp + 8, PAYLOAD - 8, tag))
			faults++;
	}
	free(seen);
	return faults;
}

TEST_F_TIMEOUT(conc, calls_1024_in_flight, 180)
{
	struct fastrpc_features f;
	struct fastrpc_sock_info si;
	int fd, i, ret;

	fd = fastrpc_client_open("127.0.0.1", self->srv.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("connect: %s", fastrpc_strerror(fd));
	ASSERT_EQ(0, set_rcvtimeo(fd, 60000));
	ASSERT_EQ(0, fastrpc_get_features(fd, &f));
	ASSERT_LE(NCALLS, f.max_calls)
		TH_LOG("the module allows only %u calls in flight", f.max_calls);
	ASSERT_EQ(0, fastrpc_set_max_calls(fd, NCALLS));

	ret = burst(fd, 1000000, NCALLS);
	EXPECT_EQ(0, ret) TH_LOG("%d faults (negative: errno)", ret);
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	EXPECT_EQ(0U, si.calls_in_flight);
	EXPECT_EQ(0U, si.rx_queued);
	/* a server thread counts a call after its reply went out */
	for (i = 0; i < 500 && echo_srv_served(&self->srv) < NCALLS; i++)
		usleep(10000);
	EXPECT_LE(NCALLS, echo_srv_served(&self->srv));
	for (i = 0; i < SRV_THREADS; i++)
		TH_LOG("server thread %d answered %u calls", i,
		       atomic_load(&self->srv.served[i]));
	/* A second burst reuses every tag. */
	EXPECT_EQ(0, burst(fd, 1000000, NCALLS));
	close(fd);
}

struct client_arg {
	uint16_t port;
	int id;
	int result;
};

static void *client_thread(void *p)
{
	struct client_arg *a = p;
	int fd = fastrpc_client_open("127.0.0.1", a->port, SOCK_CLOEXEC);
	int i, ret = 0;

	if (fd < 0) {
		a->result = fd;
		return NULL;
	}
	set_rcvtimeo(fd, 60000);
	for (i = 0; i < 4 && !ret; i++)
		ret = burst(fd, (uint64_t)a->id << 32, 64);
	a->result = ret;
	close(fd);
	return NULL;
}

TEST_F_TIMEOUT(conc, parallel_clients, 180)
{
	struct client_arg args[8];
	pthread_t thr[8];
	int i;

	for (i = 0; i < 8; i++) {
		args[i] = (struct client_arg){ .port = self->srv.port, .id = i };
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, client_thread,
					    &args[i]));
	}
	for (i = 0; i < 8; i++) {
		pthread_join(thr[i], NULL);
		EXPECT_EQ(0, args[i].result)
			TH_LOG("client %d: %d (negative: errno)", i,
			       args[i].result);
	}
	/* a server thread counts a call just after its reply went out */
	for (i = 0; i < 200 && echo_srv_served(&self->srv) < 8U * 4 * 64; i++)
		usleep(10000);
	EXPECT_LE(8U * 4 * 64, echo_srv_served(&self->srv));
}

/*
 * Several threads send on one blocking client socket whose
 * FASTRPC_MAX_CALLS is 1, while one thread reads the results.  Each free
 * slot wakes every sender, and all of them may see it before one takes
 * it: the others must wait again, as blocking sockets do, not fail with
 * EAGAIN.
 */
#define SLOT_SENDERS	4
#define SLOT_CALLS	100

struct slot_arg {
	int fd;
	int id;
	atomic_int *failed;
	int err;
};

static void *slot_sender(void *p)
{
	struct slot_arg *a = p;
	uint64_t tag;
	ssize_t r;
	int i;

	for (i = 0; i < SLOT_CALLS && !atomic_load(a->failed); i++) {
		tag = (uint64_t)a->id << 32 | (uint64_t)i;
		r = fastrpc_send_call(a->fd, tag, M_ECHO, &tag, sizeof(tag), 0);
		if (r != sizeof(tag)) {
			a->err = r < 0 ? (int)r : -EIO;
			atomic_store(a->failed, 1);
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, blocking_senders_share_one_slot, 120)
{
	struct slot_arg args[SLOT_SENDERS];
	pthread_t thr[SLOT_SENDERS];
	/* senders left waiting once the reader stopped give up in time */
	struct timeval tv = { .tv_sec = 30 };
	atomic_int failed = 0;
	int fd, i, got = 0;
	uint32_t status;
	uint64_t tag;
	char buf[16];
	ssize_t r;

	fd = fastrpc_client_open("127.0.0.1", self->srv.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_rcvtimeo(fd, 2000));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)));
	ASSERT_EQ(0, fastrpc_set_max_calls(fd, 1));
	for (i = 0; i < SLOT_SENDERS; i++) {
		args[i] = (struct slot_arg){ .fd = fd, .id = i + 1,
					     .failed = &failed };
		ASSERT_EQ(0, pthread_create(&thr[i], NULL, slot_sender,
					    &args[i]));
	}
	while (got < SLOT_SENDERS * SLOT_CALLS) {
		r = fastrpc_recv_result(fd, &tag, &status, buf, sizeof(buf), 0);
		if (r < 0)
			break;	/* a sender failed and stopped, or a stall */
		EXPECT_EQ(FASTRPC_OK, status);
		got++;
	}
	atomic_store(&failed, 1);
	for (i = 0; i < SLOT_SENDERS; i++) {
		pthread_join(thr[i], NULL);
		EXPECT_EQ(0, args[i].err)
			TH_LOG("sender %d: %s", i, strerror(-args[i].err));
	}
	EXPECT_EQ(SLOT_SENDERS * SLOT_CALLS, got);
	close(fd);
}

TEST_HARNESS_MAIN
