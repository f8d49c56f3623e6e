// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fastrpc: trace events.  Each test runs a known workload in a
 * network namespace of its own, records the events through a tracefs
 * instance of its own (a private ring buffer, filtered on that
 * namespace's inode number) and checks them: which events, how many,
 * their tags, methods, sockets, statuses and byte counts, latency above
 * zero, the connections' state changes and peers, protocol errors with
 * their codes.  A kernel without event tracing has no tracefs events: the
 * tests skip there, and only there.
 */
#include <sched.h>
#include <sys/mount.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	8700
#define MS		1000000ull
#define MAX_EVENTS	512
#define WAIT_MS		20000	/* events of asynchronous work: a bound */

enum ev_type {
	EV_CALL_START,
	EV_CALL_END,
	EV_CALL_CANCEL,
	EV_CALL_DEADLINE,
	EV_ADMISSION_REJECT,
	EV_CONN_STATE,
	EV_PROTO_ERROR,
	EV_TYPES,
};

static const char *const ev_names[EV_TYPES] = {
	"call_start", "call_end", "call_cancel", "call_deadline",
	"admission_reject", "conn_state", "proto_error",
};

/* One event: its type and its fields as text, " key=value ..." */
struct tev {
	int type;
	char text[400];
};

struct tlog {
	int n;
	struct tev ev[MAX_EVENTS];
};

/* tracefs: where it is mounted, mounting it if need be; NULL if none. */
static const char *tracefs_root(void)
{
	static const char *const roots[] = { "/sys/kernel/tracing",
					     "/sys/kernel/debug/tracing" };
	char path[128];
	unsigned int i;

	if (access("/sys/kernel/tracing/events", F_OK))
		mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL);
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		snprintf(path, sizeof(path), "%s/events", roots[i]);
		if (!access(path, F_OK))
			return roots[i];
	}
	return NULL;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		n = -errno;
	close(fd);
	return n < 0 ? (int)n : 0;
}

static int read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while (got + 1 < cap && (n = read(fd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = 0;
	return (int)got;
}

/* The inode number of @fd, or of @path if @fd < 0; 0 on failure. */
static unsigned long long ino_of(const char *path, int fd)
{
	struct stat st;
	int ret = fd >= 0 ? fstat(fd, &st) : stat(path, &st);

	return ret ? 0 : (unsigned long long)st.st_ino;
}

FIXTURE(tr) {
	char inst[160];		/* the tracefs instance, "" if none */
	unsigned long long netns;
	int sfd;
	int cfd;
	uint16_t port;
	unsigned long long sino;
	unsigned long long cino;
	char buf[256 * 1024];	/* the instance's trace, as last read */
};

/*
 * A tracefs instance recording the fastrpc: events of namespace @netns
 * alone.  On failure nothing is left behind: an instance with module
 * events enabled would hold af_fastrpc.ko and make its rmmod fail.
 */
static int instance_open(FIXTURE_DATA(tr) *self, const char *root)
{
	char path[256], val[64];
	int ret;

	snprintf(self->inst, sizeof(self->inst), "%s/instances/frpc_t_trace_%d",
		 root, getpid());
	if (mkdir(self->inst, 0755)) {
		ret = -errno;
		self->inst[0] = 0;
		return ret;
	}
	snprintf(path, sizeof(path), "%s/buffer_size_kb", self->inst);
	ret = write_file(path, "1024");
	snprintf(path, sizeof(path), "%s/events/fastrpc/filter", self->inst);
	snprintf(val, sizeof(val), "netns == %llu", self->netns);
	if (!ret)
		ret = write_file(path, val);
	snprintf(path, sizeof(path), "%s/events/fastrpc/enable", self->inst);
	if (!ret)
		ret = write_file(path, "1");
	if (ret) {
		rmdir(self->inst);
		self->inst[0] = 0;
	}
	return ret;
}

/* Removing an instance disables its events, releasing the module. */
static void instance_close(FIXTURE_DATA(tr) *self)
{
	if (self->inst[0] && rmdir(self->inst))
		fprintf(stderr, "# rmdir %s: %s\n", self->inst, strerror(errno));
	self->inst[0] = 0;
}

FIXTURE_SETUP(tr)
{
	const char *root = tracefs_root();
	char path[160];
	int ret;

	self->sfd = -1;
	self->cfd = -1;
	if (!root)
		SKIP(return, "no tracefs events: kernel built without event tracing (CONFIG_EVENT_TRACING)");
	/* the kernel traces: then the module's events must be there */
	snprintf(path, sizeof(path), "%s/events/fastrpc/call_end", root);
	ASSERT_EQ(0, access(path, F_OK))
		TH_LOG("%s missing: af_fastrpc has no trace events", path);

	/* a namespace of its own: every event in it is this test's */
	ASSERT_EQ(0, unshare(CLONE_NEWNET)) TH_LOG("unshare: %s", strerror(errno));
	ASSERT_EQ(0, frpc_sh("ip link set lo up"));
	self->netns = ino_of("/proc/self/ns/net", -1);
	ASSERT_NE(0, self->netns);

	/* before the connection, so that its first states are seen */
	ret = instance_open(self, root);
	ASSERT_EQ(0, ret) TH_LOG("tracefs instance: %s", strerror(-ret));

	ret = pair_open(BASE_PORT, _metadata->name, 20000, &self->sfd,
			&self->cfd, &self->port);
	if (ret) {
		/* teardown runs only after a setup that completed */
		instance_close(self);
		ASSERT_EQ(0, ret) TH_LOG("server and client: %s",
					 fastrpc_strerror(ret));
	}
	self->sino = ino_of("", self->sfd);
	self->cino = ino_of("", self->cfd);
}

/* In the parent: it runs even if the test was killed. */
FIXTURE_TEARDOWN_PARENT(tr)
{
	instance_close(self);
}

/* Read the instance's trace into @log; its event count, or -errno. */
static int trace_read(FIXTURE_DATA(tr) *self, struct tlog *log)
{
	char path[200], *line, *save = NULL;
	int ret, t;

	snprintf(path, sizeof(path), "%s/trace", self->inst);
	ret = read_file(path, self->buf, sizeof(self->buf));
	if (ret < 0)
		return ret;
	log->n = 0;
	for (line = strtok_r(self->buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		for (t = 0; t < EV_TYPES; t++) {
			char pat[40], *at;

			snprintf(pat, sizeof(pat), " %s: ", ev_names[t]);
			at = strstr(line, pat);
			if (!at || log->n == MAX_EVENTS)
				continue;
			log->ev[log->n].type = t;
			/* keep the space before the first key */
			snprintf(log->ev[log->n].text,
				 sizeof(log->ev[0].text), "%s",
				 at + strlen(pat) - 1);
			log->n++;
			break;
		}
	}
	return log->n;
}

/* Field @key of @e as a number: 1 if present. */
static bool ev_num(const struct tev *e, const char *key, long long *val)
{
	char pat[40];
	const char *at;

	snprintf(pat, sizeof(pat), " %s=", key);
	at = strstr(e->text, pat);
	if (!at)
		return false;
	*val = strtoll(at + strlen(pat), NULL, 10);
	return true;
}

static unsigned long long ev_u(const struct tev *e, const char *key)
{
	long long v;

	return ev_num(e, key, &v) ? (unsigned long long)v : ~0ull;
}

/*
 * Has @e the field " @kv", whole ("tag=1" is not "tag=10"), or, if @kv
 * ends with ':', starting so ("peer=[::1]:" for any port)?
 */
static bool ev_has(const struct tev *e, const char *kv)
{
	size_t len = strlen(kv);
	bool prefix = len && kv[len - 1] == ':';
	const char *at;
	char pat[80];

	snprintf(pat, sizeof(pat), " %s", kv);
	for (at = strstr(e->text, pat); at; at = strstr(at + 1, pat)) {
		char next = at[len + 1];

		if (prefix || next == ' ' || next == 0)
			return true;
	}
	return false;
}

/* conn_state: "OLD -> NEW"; true if it is @from -> @to (NULL: any). */
static bool ev_states(const struct tev *e, const char *from, const char *to)
{
	char old[16], new[16];
	const char *arrow = strstr(e->text, " -> ");
	const char *p;

	if (!arrow)
		return false;
	for (p = arrow; p > e->text && p[-1] != ' '; p--)
		;
	if (sscanf(p, "%15s -> %15s", old, new) != 2)
		return false;
	return (!from || !strcmp(old, from)) && (!to || !strcmp(new, to));
}

/* The @nth (0-based) event of @type whose text has every " k=v" of @kvs. */
static const struct tev *ev_find(const struct tlog *log, int type,
				 const char *const *kvs, int nth)
{
	int i, k;

	for (i = 0; i < log->n; i++) {
		const struct tev *e = &log->ev[i];

		if (e->type != type)
			continue;
		for (k = 0; kvs && kvs[k]; k++)
			if (!ev_has(e, kvs[k]))
				break;
		if (kvs && kvs[k])
			continue;
		if (!nth--)
			return e;
	}
	return NULL;
}

static int ev_count(const struct tlog *log, int type)
{
	int i, n = 0;

	for (i = 0; i < log->n; i++)
		n += log->ev[i].type == type;
	return n;
}

/* Index of @e in @log, to check the order of two events. */
static int ev_index(const struct tlog *log, const struct tev *e)
{
	return e ? (int)(e - log->ev) : -1;
}

static void log_dump(struct __test_metadata *_metadata,
		     const struct tlog *log)
{
	int i;

	for (i = 0; i < log->n; i++)
		TH_LOG("%s:%s", ev_names[log->ev[i].type], log->ev[i].text);
}

/*
 * Re-read the trace until @done(@log, @arg) holds, for up to WAIT_MS:
 * some events come from work items, timers and softirqs after the
 * system call that caused them has returned.
 */
static bool trace_wait(FIXTURE_DATA(tr) *self, struct tlog *log,
		       bool (*done)(const struct tlog *, const void *),
		       const void *arg)
{
	uint64_t t0 = now_ms();

	do {
		if (trace_read(self, log) >= 0 && done(log, arg))
			return true;
		usleep(50000);
	} while (now_ms() - t0 < WAIT_MS);
	return false;
}

struct want {
	int type;
	int n;
	const char *kvs[6];
};

/* Every want (up to one with type -1) has at least n events. */
static bool have_all(const struct tlog *log, const void *arg)
{
	const struct want *w;

	for (w = arg; w->type >= 0; w++)
		if (!ev_find(log, w->type, w->kvs, w->n - 1))
			return false;
	return true;
}

/* conn_state of connection @conn, the @nth one (-1: the last), or NULL. */
static const struct tev *conn_ev(const struct tlog *log, long long conn,
				 int nth)
{
	const struct tev *last = NULL;
	long long c;
	int i;

	for (i = 0; i < log->n; i++) {
		const struct tev *e = &log->ev[i];

		if (e->type != EV_CONN_STATE || !ev_num(e, "conn", &c) ||
		    c != conn)
			continue;
		if (!nth--)
			return e;
		last = e;
	}
	return nth < -1 ? last : NULL;
}

/* The last state of every connection of the -1-ended list is DEAD. */
static bool all_dead(const struct tlog *log, const void *arg)
{
	const long long *c;

	for (c = arg; *c >= 0; c++) {
		const struct tev *e = conn_ev(log, *c, -1);

		if (!e || !ev_states(e, NULL, "DEAD"))
			return false;
	}
	return true;
}

static const char *kv(char *buf, size_t cap, const char *key,
		      unsigned long long val)
{
	snprintf(buf, cap, "%s=%llu", key, val);
	return buf;
}

/* Each event of the system has the fields perf and bpftrace read. */
TEST_F(tr, formats)
{
	static const char *const fields[EV_TYPES][12] = {
		[EV_CALL_START] = { "u32 netns", "u64 conn", "u64 sock",
				    "u8 client", "u32 id", "u64 tag",
				    "u32 method", "u64 timeout_ns" },
		[EV_CALL_END] = { "u32 netns", "u64 conn", "u64 sock",
				  "u8 client", "u32 id", "u64 tag",
				  "u32 method", "u32 status",
				  "u64 latency_ns", "u32 bytes_out",
				  "u32 bytes_in" },
		[EV_CALL_CANCEL] = { "u32 netns", "u64 conn", "u64 sock",
				     "u8 client", "u32 id", "u64 tag",
				     "u32 method" },
		[EV_CALL_DEADLINE] = { "u32 netns", "u64 conn", "u64 sock",
				       "u8 client", "u32 id", "u64 tag",
				       "u32 method" },
		[EV_ADMISSION_REJECT] = { "u32 netns", "u64 conn",
					  "u64 sock", "u32 id", "u32 method",
					  "u32 status", "u16 family",
					  "u16 port", "u8 addr[16]" },
		[EV_CONN_STATE] = { "u32 netns", "u64 conn", "u8 client",
				    "u8 loop", "u8 old_state",
				    "u8 new_state", "s32 err", "u16 family",
				    "u16 port", "u8 addr[16]" },
		[EV_PROTO_ERROR] = { "u32 netns", "u64 conn", "u8 client",
				     "u8 remote", "u32 code", "u16 family",
				     "u16 port", "u8 addr[16]" },
	};
	char path[256], *p;
	int t, f;

	for (t = 0; t < EV_TYPES; t++) {
		snprintf(path, sizeof(path), "%s/events/fastrpc/%s/format",
			 self->inst, ev_names[t]);
		ASSERT_LT(0, read_file(path, self->buf, sizeof(self->buf)))
			TH_LOG("%s", path);
		for (f = 0; fields[t][f]; f++) {
			char want[64];

			snprintf(want, sizeof(want), "field:%s;", fields[t][f]);
			EXPECT_NE(NULL, strstr(self->buf, want))
				TH_LOG("%s: no %s", ev_names[t], want);
		}
		/* nothing names a kernel object by its address */
		for (p = strstr(self->buf, "field:"); p;
		     p = strstr(p + 1, "field:")) {
			char decl[96];

			ASSERT_EQ(1, sscanf(p, "field:%95[^;]", decl));
			EXPECT_EQ(NULL, strchr(decl, '*'))
				TH_LOG("%s: pointer field %s", ev_names[t], decl);
		}
	}
}

/*
 * Unary calls, then the server closes: per call one call_start and one
 * call_end on each side with its tag (the server's handle there), method,
 * socket, status OK, latency and bytes each way; each connection's states
 * from setup to DEAD; nothing else.
 */
TEST_F_TIMEOUT(tr, unary_calls_and_connection, 120)
{
	enum { N = 6 };
	static struct tlog log;
	uint64_t handle[N];
	size_t reqlen[N], replen[N];
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri;
	long long cconn = -1, sconn = -1, v;
	const struct tev *e, *s;
	char req[512], rep[512], b[6][48];
	int i;

	memset(req, 'q', sizeof(req));
	memset(rep, 'r', sizeof(rep));
	for (i = 0; i < N; i++) {
		reqlen[i] = 1 + 37 * (size_t)i;
		replen[i] = 3 + 53 * (size_t)i;
		ASSERT_EQ((ssize_t)reqlen[i],
			  fastrpc_send_call(self->cfd, 1000 + i, 500 + i, req,
					    reqlen[i], 0));
		ASSERT_EQ((ssize_t)reqlen[i],
			  srv_recv(self->sfd, &ii, self->buf, 4096));
		handle[i] = ii.handle;
		ASSERT_EQ((ssize_t)replen[i],
			  fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK,
					     rep, replen[i], 0));
		memset(&ri, 0, sizeof(ri));
		ASSERT_EQ((ssize_t)replen[i],
			  fastrpc_recv_result_ex(self->cfd, &ri, self->buf,
						 4096, 0));
		ASSERT_EQ(1000 + i, ri.tag);
		ASSERT_EQ(FASTRPC_OK, ri.status);
	}
	{
		struct want w[] = {
			{ .type = EV_CALL_START, .n = 2 * N },
			{ .type = EV_CALL_END, .n = 2 * N },
			{ .type = -1 },
		};

		ASSERT_TRUE(trace_wait(self, &log, have_all, w))
			log_dump(_metadata, &log);
	}
	EXPECT_EQ(2 * N, ev_count(&log, EV_CALL_START));
	EXPECT_EQ(2 * N, ev_count(&log, EV_CALL_END));

	for (i = 0; i < N; i++) {
		const char *cside[] = {
			"side=client", kv(b[0], 48, "tag", 1000 + i),
			kv(b[1], 48, "method", 500 + i),
			kv(b[2], 48, "sock", self->cino),
			kv(b[3], 48, "netns", self->netns), NULL,
		};
		const char *sside[] = {
			"side=server", kv(b[4], 48, "tag", handle[i]),
			kv(b[5], 48, "sock", self->sino), cside[2], cside[4],
			NULL,
		};

		/* client */
		s = ev_find(&log, EV_CALL_START, cside, 0);
		ASSERT_NE(NULL, s) TH_LOG("no client call_start %d", i);
		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_START, cside, 1));
		EXPECT_EQ(0, ev_u(s, "timeout_ns"));
		e = ev_find(&log, EV_CALL_END, cside, 0);
		ASSERT_NE(NULL, e) TH_LOG("no client call_end %d", i);
		EXPECT_LT(ev_index(&log, s), ev_index(&log, e));
		EXPECT_EQ(ev_u(s, "id"), ev_u(e, "id"));
		EXPECT_EQ(ev_u(s, "conn"), ev_u(e, "conn"));
		EXPECT_EQ(FASTRPC_OK, ev_u(e, "status"));
		EXPECT_LT(0, ev_u(e, "latency_ns"));
		EXPECT_EQ(reqlen[i], ev_u(e, "bytes_out"));
		EXPECT_EQ(replen[i], ev_u(e, "bytes_in"));
		ASSERT_TRUE(ev_num(e, "conn", &v));
		if (cconn < 0)
			cconn = v;
		EXPECT_EQ(cconn, v);

		/* server */
		s = ev_find(&log, EV_CALL_START, sside, 0);
		ASSERT_NE(NULL, s) TH_LOG("no server call_start %d", i);
		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_START, sside, 1));
		e = ev_find(&log, EV_CALL_END, sside, 0);
		ASSERT_NE(NULL, e) TH_LOG("no server call_end %d", i);
		EXPECT_LT(ev_index(&log, s), ev_index(&log, e));
		EXPECT_EQ(ev_u(s, "id"), ev_u(e, "id"));
		EXPECT_EQ(FASTRPC_OK, ev_u(e, "status"));
		EXPECT_LT(0, ev_u(e, "latency_ns"));
		EXPECT_EQ(reqlen[i], ev_u(e, "bytes_in"));
		EXPECT_EQ(replen[i], ev_u(e, "bytes_out"));
		ASSERT_TRUE(ev_num(e, "conn", &v));
		if (sconn < 0)
			sconn = v;
		EXPECT_EQ(sconn, v);
	}

	/* the connection goes down with its server */
	close(self->sfd);
	self->sfd = -1;
	{
		long long conns[] = { cconn, sconn, -1 };

		ASSERT_TRUE(trace_wait(self, &log, all_dead, conns))
			log_dump(_metadata, &log);
	}
	/* client: CONNECTING -> HELLO -> READY ... -> DEAD, to the server */
	e = conn_ev(&log, cconn, 0);
	ASSERT_NE(NULL, e) log_dump(_metadata, &log);
	EXPECT_TRUE(ev_states(e, "CONNECTING", "HELLO")) TH_LOG("%s", e->text);
	e = conn_ev(&log, cconn, 1);
	ASSERT_NE(NULL, e);
	EXPECT_TRUE(ev_states(e, "HELLO", "READY")) TH_LOG("%s", e->text);
	EXPECT_TRUE(ev_has(e, "side=client"));
	EXPECT_EQ(loop_on(), ev_u(e, "loop")) TH_LOG("%s", e->text);
	EXPECT_EQ(AF_INET, ev_u(e, "family"));
	snprintf(b[0], 48, "peer=[::ffff:127.0.0.1]:%u", self->port);
	EXPECT_TRUE(ev_has(e, b[0])) TH_LOG("%s", e->text);
	e = conn_ev(&log, cconn, -1);
	ASSERT_NE(NULL, e);
	EXPECT_TRUE(ev_states(e, NULL, "DEAD")) log_dump(_metadata, &log);

	/* server: HELLO -> READY ... -> DEAD, closed by its socket */
	e = conn_ev(&log, sconn, 0);
	ASSERT_NE(NULL, e) log_dump(_metadata, &log);
	EXPECT_TRUE(ev_states(e, "HELLO", "READY")) TH_LOG("%s", e->text);
	EXPECT_TRUE(ev_has(e, "side=server"));
	EXPECT_EQ(AF_INET, ev_u(e, "family"));
	EXPECT_TRUE(ev_has(e, "peer=[::ffff:127.0.0.1]:")) TH_LOG("%s", e->text);
	e = conn_ev(&log, sconn, -1);
	ASSERT_NE(NULL, e);
	EXPECT_TRUE(ev_states(e, NULL, "DEAD")) log_dump(_metadata, &log);
	ASSERT_TRUE(ev_num(e, "err", &v));
	EXPECT_EQ(-ESHUTDOWN, v);

	/* an orderly workload: no cancels, deadlines, refusals or errors */
	EXPECT_EQ(0, ev_count(&log, EV_CALL_CANCEL));
	EXPECT_EQ(0, ev_count(&log, EV_CALL_DEADLINE));
	EXPECT_EQ(0, ev_count(&log, EV_ADMISSION_REJECT));
	EXPECT_EQ(0, ev_count(&log, EV_PROTO_ERROR));
	EXPECT_EQ(2 * N, ev_count(&log, EV_CALL_END));
}

/*
 * A call the client cancels and one past its deadline: call_cancel and
 * call_deadline on the client, then call_end CANCELLED and
 * DEADLINE_EXCEEDED; the server's calls end too, told by the CANCEL
 * frame or its own timer.
 */
TEST_F_TIMEOUT(tr, cancel_and_deadline, 120)
{
	static struct tlog log;
	struct fastrpc_call_opts o = { .timeout_ns = 300 * MS };
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri;
	uint64_t h1, h2;
	const struct tev *e, *c, *s;
	char b[4][48];
	long long st;

	/* cancelled while the server holds it */
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 1, 7, "c", 1, 0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, self->buf, 4096));
	h1 = ii.handle;
	ASSERT_EQ(0, fastrpc_cancel(self->cfd, 1));
	memset(&ri, 0, sizeof(ri));
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, self->buf, 4096, 0));
	EXPECT_EQ(1, ri.tag);
	EXPECT_EQ(FASTRPC_CANCELLED, ri.status);
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, self->buf, 4096));
	EXPECT_EQ(FASTRPC_IN_CANCELLED, ii.flags);
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, h1, FASTRPC_OK,
						 "x", 1, 0));

	/* past its deadline */
	ASSERT_EQ(2, fastrpc_send_call_opts(self->cfd, 2, 8, &o, "dd", 2, 0));
	ASSERT_EQ(2, srv_recv(self->sfd, &ii, self->buf, 4096));
	h2 = ii.handle;
	memset(&ri, 0, sizeof(ri));
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, self->buf, 4096, 0));
	EXPECT_EQ(2, ri.tag);
	EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, ri.status);
	ASSERT_EQ(0, srv_recv(self->sfd, &ii, self->buf, 4096));
	EXPECT_EQ(FASTRPC_IN_CANCELLED | FASTRPC_IN_DEADLINE, ii.flags);
	EXPECT_EQ(-ECANCELED, fastrpc_send_reply(self->sfd, h2, FASTRPC_OK,
						 "x", 1, 0));

	{
		struct want w[] = {
			{ .type = EV_CALL_START, .n = 4 },
			{ .type = EV_CALL_END, .n = 4 },
			{ .type = EV_CALL_CANCEL, .n = 1, .kvs = { "side=client" } },
			{ .type = EV_CALL_CANCEL, .n = 1, .kvs = { "side=server" } },
			{ .type = EV_CALL_DEADLINE, .n = 1, .kvs = { "side=client" } },
			{ .type = -1 },
		};

		ASSERT_TRUE(trace_wait(self, &log, have_all, w))
			log_dump(_metadata, &log);
	}

	/* client, cancelled: call_cancel, then call_end CANCELLED */
	{
		const char *k[] = { "side=client", "tag=1", "method=7",
				    kv(b[0], 48, "sock", self->cino), NULL };

		c = ev_find(&log, EV_CALL_CANCEL, k, 0);
		e = ev_find(&log, EV_CALL_END, k, 0);
		ASSERT_NE(NULL, c) log_dump(_metadata, &log);
		ASSERT_NE(NULL, e) log_dump(_metadata, &log);
		EXPECT_LT(ev_index(&log, c), ev_index(&log, e));
		EXPECT_EQ(FASTRPC_CANCELLED, ev_u(e, "status"));
		EXPECT_EQ(1, ev_u(e, "bytes_out"));
		EXPECT_EQ(0, ev_u(e, "bytes_in"));
		EXPECT_LT(0, ev_u(e, "latency_ns"));
		EXPECT_EQ(ev_u(c, "id"), ev_u(e, "id"));
	}
	/* server, cancelled by the CANCEL frame */
	{
		const char *k[] = { "side=server", kv(b[1], 48, "tag", h1),
				    "method=7", kv(b[2], 48, "sock", self->sino),
				    NULL };

		c = ev_find(&log, EV_CALL_CANCEL, k, 0);
		e = ev_find(&log, EV_CALL_END, k, 0);
		ASSERT_NE(NULL, c) log_dump(_metadata, &log);
		ASSERT_NE(NULL, e) log_dump(_metadata, &log);
		EXPECT_EQ(FASTRPC_CANCELLED, ev_u(e, "status"));
		EXPECT_EQ(1, ev_u(e, "bytes_in"));
		EXPECT_EQ(0, ev_u(e, "bytes_out"));
	}
	/* client, past its deadline: call_deadline, then DEADLINE_EXCEEDED */
	{
		const char *k[] = { "side=client", "tag=2", "method=8", NULL };

		s = ev_find(&log, EV_CALL_START, k, 0);
		c = ev_find(&log, EV_CALL_DEADLINE, k, 0);
		e = ev_find(&log, EV_CALL_END, k, 0);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, c) log_dump(_metadata, &log);
		ASSERT_NE(NULL, e) log_dump(_metadata, &log);
		EXPECT_EQ(300 * MS, ev_u(s, "timeout_ns"));
		EXPECT_LT(ev_index(&log, c), ev_index(&log, e));
		EXPECT_EQ(FASTRPC_DEADLINE_EXCEEDED, ev_u(e, "status"));
		EXPECT_EQ(2, ev_u(e, "bytes_out"));
		/* no lower bound: the deadline's slack is the timer's */
		EXPECT_LT(0, ev_u(e, "latency_ns"));
		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_CANCEL, k, 0));
	}
	/* server: its deadline or the client's CANCEL ended it, once */
	{
		const char *k[] = { "side=server", kv(b[3], 48, "tag", h2),
				    "method=8", NULL };

		s = ev_find(&log, EV_CALL_START, k, 0);
		e = ev_find(&log, EV_CALL_END, k, 0);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, e) log_dump(_metadata, &log);
		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_END, k, 1));
		EXPECT_LT(0, ev_u(s, "timeout_ns"));
		EXPECT_GE(300 * MS, ev_u(s, "timeout_ns"));
		/*
		 * Its own timer (call_deadline), or the client's CANCEL for
		 * its deadline (call_cancel; the frame's DEADLINE flag makes
		 * that DEADLINE_EXCEEDED too): on a slow kernel either may
		 * come first.
		 */
		st = (long long)ev_u(e, "status");
		c = ev_find(&log, EV_CALL_CANCEL, k, 0);
		if (st == FASTRPC_DEADLINE_EXCEEDED) {
			EXPECT_TRUE(c || ev_find(&log, EV_CALL_DEADLINE, k, 0))
				log_dump(_metadata, &log);
		} else {
			EXPECT_EQ(FASTRPC_CANCELLED, st);
			EXPECT_NE(NULL, c);
		}
		EXPECT_EQ(2, ev_u(e, "bytes_in"));
	}
	EXPECT_EQ(4, ev_count(&log, EV_CALL_START));
	EXPECT_EQ(4, ev_count(&log, EV_CALL_END));
	EXPECT_EQ(0, ev_count(&log, EV_ADMISSION_REJECT));
	EXPECT_EQ(0, ev_count(&log, EV_PROTO_ERROR));
}

/*
 * A server with room for one call refuses the second: admission_reject
 * with RESOURCE_EXHAUSTED, the client's call_end with it too, and no
 * call_start on the server for it.
 */
TEST_F_TIMEOUT(tr, admission_reject, 120)
{
	static struct tlog log;
	struct fastrpc_incoming_info ii;
	struct fastrpc_result_info ri;
	const struct tev *e, *r, *s;
	char b[2][48];

	ASSERT_EQ(0, fastrpc_set_max_calls(self->sfd, 1));
	ASSERT_EQ(1, fastrpc_send_call(self->cfd, 3, 9, "a", 1, 0));
	ASSERT_EQ(1, srv_recv(self->sfd, &ii, self->buf, 4096));
	ASSERT_EQ(2, fastrpc_send_call(self->cfd, 4, 10, "bb", 2, 0));
	memset(&ri, 0, sizeof(ri));
	ASSERT_EQ(0, fastrpc_recv_result_ex(self->cfd, &ri, self->buf, 4096, 0));
	EXPECT_EQ(4, ri.tag);
	EXPECT_EQ(FASTRPC_RESOURCE_EXHAUSTED, ri.status);
	ASSERT_EQ(2, fastrpc_send_reply(self->sfd, ii.handle, FASTRPC_OK, "ok",
					2, 0));
	memset(&ri, 0, sizeof(ri));
	ASSERT_EQ(2, fastrpc_recv_result_ex(self->cfd, &ri, self->buf, 4096, 0));
	EXPECT_EQ(3, ri.tag);

	{
		struct want w[] = {
			{ .type = EV_ADMISSION_REJECT, .n = 1 },
			{ .type = EV_CALL_END, .n = 3 },
			{ .type = -1 },
		};

		ASSERT_TRUE(trace_wait(self, &log, have_all, w))
			log_dump(_metadata, &log);
	}
	EXPECT_EQ(1, ev_count(&log, EV_ADMISSION_REJECT));
	r = ev_find(&log, EV_ADMISSION_REJECT, NULL, 0);
	ASSERT_NE(NULL, r);
	EXPECT_EQ(10, ev_u(r, "method"));
	EXPECT_EQ(FASTRPC_RESOURCE_EXHAUSTED, ev_u(r, "status"));
	EXPECT_EQ(self->sino, ev_u(r, "sock"));
	EXPECT_EQ(AF_INET, ev_u(r, "family"));
	EXPECT_TRUE(ev_has(r, "peer=[::ffff:127.0.0.1]:")) TH_LOG("%s", r->text);
	{
		const char *k[] = { "side=client", "tag=4", "method=10",
				    kv(b[0], 48, "sock", self->cino), NULL };

		s = ev_find(&log, EV_CALL_START, k, 0);
		e = ev_find(&log, EV_CALL_END, k, 0);
		ASSERT_NE(NULL, s);
		ASSERT_NE(NULL, e) log_dump(_metadata, &log);
		/* the refused call is the client's, by its wire id */
		EXPECT_EQ(ev_u(s, "id"), ev_u(r, "id"));
		EXPECT_EQ(FASTRPC_RESOURCE_EXHAUSTED, ev_u(e, "status"));
		EXPECT_EQ(2, ev_u(e, "bytes_out"));
		EXPECT_EQ(0, ev_u(e, "bytes_in"));
	}
	{
		const char *k[] = { "side=server", "method=10", NULL };
		const char *k9[] = { "side=server", "method=9",
				     kv(b[1], 48, "sock", self->sino), NULL };

		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_START, k, 0));
		EXPECT_EQ(NULL, ev_find(&log, EV_CALL_END, k, 0));
		e = ev_find(&log, EV_CALL_END, k9, 0);
		ASSERT_NE(NULL, e);
		EXPECT_EQ(FASTRPC_OK, ev_u(e, "status"));
		EXPECT_EQ(1, ev_u(e, "bytes_in"));
		EXPECT_EQ(2, ev_u(e, "bytes_out"));
	}
	EXPECT_EQ(3, ev_count(&log, EV_CALL_START));
}

/* A TCP listener that answers a FastRPC client's HELLO with @answer. */
struct fake_peer {
	int lfd;
	uint16_t port;
	const uint8_t *answer;
	size_t len;
	pthread_t thr;
};

static void *fake_thread(void *p)
{
	struct fake_peer *f = p;
	uint8_t buf[256];
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	set_rcvtimeo(fd, 10000);
	if (recv(fd, buf, sizeof(buf), 0) > 0)
		frpc_send_all(fd, f->answer, f->len);
	/* the client reads the ERROR before it sees the close */
	usleep(300000);
	close(fd);
	return NULL;
}

static int fake_start(struct fake_peer *f)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);

	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)) ||
	    getsockname(f->lfd, (struct sockaddr *)&sin, &slen) ||
	    listen(f->lfd, 4))
		return -errno;
	f->port = ntohs(sin.sin_port);
	return pthread_create(&f->thr, NULL, fake_thread, f) ? -EAGAIN : 0;
}

/*
 * Protocol errors both ways: a raw TCP client sends CALL before HELLO to
 * the server (proto_error PROTOCOL, found by the server), and a fake
 * server answers a client's HELLO with ERROR RESOURCE (proto_error sent
 * by the peer).  Each with its connection's peer and its end.
 */
TEST_F_TIMEOUT(tr, protocol_errors, 120)
{
	static struct tlog log;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t slen = sizeof(sin);
	struct fastrpc_wire_error werr = {
		.code = htonl(FASTRPC_WERR_RESOURCE),
	};
	struct fastrpc_wire_call wc = { .method = htonl(1) };
	uint8_t frame[64], *p;
	struct fake_peer f;
	const struct tev *e, *d;
	long long conn;
	char b[2][48];
	uint32_t status;
	int raw, fd;

	/* a raw client breaks the protocol at the server */
	raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, raw);
	sin.sin_port = htons(self->port);
	ASSERT_EQ(0, connect(raw, (struct sockaddr *)&sin, sizeof(sin)));
	ASSERT_EQ(0, getsockname(raw, (struct sockaddr *)&sin, &slen));
	p = frpc_put_hdr(frame, FASTRPC_PROTO_V1, FASTRPC_FRAME_CALL,
			 FASTRPC_FF_EOM, 1, sizeof(wc));
	memcpy(p, &wc, sizeof(wc));
	ASSERT_EQ(0, frpc_send_all(raw, frame, (size_t)(p - frame) + sizeof(wc)));
	{
		struct want w[] = {
			{ .type = EV_PROTO_ERROR, .n = 1, .kvs = { "side=server" } },
			{ .type = -1 },
		};

		ASSERT_TRUE(trace_wait(self, &log, have_all, w))
			log_dump(_metadata, &log);
	}
	close(raw);
	{
		const char *k[] = { "side=server", NULL };

		e = ev_find(&log, EV_PROTO_ERROR, k, 0);
		ASSERT_NE(NULL, e);
		EXPECT_EQ(NULL, ev_find(&log, EV_PROTO_ERROR, k, 1));
	}
	EXPECT_EQ(FASTRPC_WERR_PROTOCOL, ev_u(e, "code"));
	EXPECT_EQ(0, ev_u(e, "remote"));
	EXPECT_EQ(AF_INET, ev_u(e, "family"));
	snprintf(b[0], 48, "peer=[::ffff:127.0.0.1]:%u", ntohs(sin.sin_port));
	EXPECT_TRUE(ev_has(e, b[0])) TH_LOG("%s", e->text);
	ASSERT_TRUE(ev_num(e, "conn", &conn));
	d = conn_ev(&log, conn, -1);
	ASSERT_NE(NULL, d) log_dump(_metadata, &log);
	EXPECT_TRUE(ev_states(d, "HELLO", "DEAD")) TH_LOG("%s", d->text);

	/* a fake server sends ERROR to a client */
	p = frpc_put_hdr(frame, FASTRPC_PROTO_V1, FASTRPC_FRAME_ERROR, 0, 0,
			 sizeof(werr));
	memcpy(p, &werr, sizeof(werr));
	f.answer = frame;
	f.len = (size_t)(p - frame) + sizeof(werr);
	ASSERT_EQ(0, fake_start(&f));
	fd = fastrpc_client_open("127.0.0.1", f.port, SOCK_CLOEXEC);
	if (fd >= 0) {
		set_rcvtimeo(fd, 10000);
		status = FASTRPC_OK;
		fastrpc_call(fd, 1, "x", 1, self->buf, 16, &status);
		close(fd);
	}
	pthread_join(f.thr, NULL);
	close(f.lfd);
	{
		struct want w[] = {
			{ .type = EV_PROTO_ERROR, .n = 1, .kvs = { "side=client" } },
			{ .type = -1 },
		};

		ASSERT_TRUE(trace_wait(self, &log, have_all, w))
			log_dump(_metadata, &log);
	}
	{
		const char *k[] = { "side=client", NULL };

		e = ev_find(&log, EV_PROTO_ERROR, k, 0);
		ASSERT_NE(NULL, e);
		EXPECT_EQ(NULL, ev_find(&log, EV_PROTO_ERROR, k, 1));
	}
	EXPECT_EQ(FASTRPC_WERR_RESOURCE, ev_u(e, "code"));
	EXPECT_EQ(1, ev_u(e, "remote"));
	snprintf(b[1], 48, "peer=[::ffff:127.0.0.1]:%u", f.port);
	EXPECT_TRUE(ev_has(e, b[1])) TH_LOG("%s", e->text);
	EXPECT_EQ(2, ev_count(&log, EV_PROTO_ERROR));
}

/*
 * Two instances of our own, outside the tests, keep every fastrpc: event
 * enabled (recording nothing, tracing_on 0) while the tests run.  A
 * tracepoint's code is patched when its probes go from 0 to 1 and from
 * 1 to 2 (a static key, then a static call); from 2 to 3 it is not.
 * With the two holders, the tests' own instances patch no kernel text:
 * the patching happens twice per run instead of twice per test.  Why it
 * matters: multi-threaded TCG, where these tests run, has twice lost the
 * race between one vCPU patching code and the other running it (an
 * "Oops: int3" on 2026-12-04, a hung text_poke_bp_batch on 2026-12-05),
 * both while this program switched events on.  A holder that cannot be
 * made changes nothing the tests check.
 */
#define HOLDERS 2

static char holder[HOLDERS][128];

static void holders_open(void)
{
	const char *root = tracefs_root();
	char path[384];
	int i;

	if (!root)
		return;
	snprintf(path, sizeof(path), "%s/events/fastrpc", root);
	if (access(path, F_OK))
		return;
	for (i = 0; i < HOLDERS; i++) {
		snprintf(holder[i], sizeof(holder[i]),
			 "%s/instances/frpc_t_trace_hold%d", root, i);
		rmdir(holder[i]);	/* one a killed run left */
		if (mkdir(holder[i], 0755)) {
			fprintf(stderr, "# holder %s: %s\n", holder[i],
				strerror(errno));
			holder[i][0] = 0;
			continue;
		}
		snprintf(path, sizeof(path), "%s/tracing_on", holder[i]);
		write_file(path, "0");
		snprintf(path, sizeof(path), "%s/events/fastrpc/enable",
			 holder[i]);
		if (write_file(path, "1"))
			fprintf(stderr, "# holder %s: events not enabled\n",
				holder[i]);
	}
}

/* Removing the holders releases the module for its rmmod. */
static void holders_close(void)
{
	int i;

	for (i = HOLDERS - 1; i >= 0; i--)
		if (holder[i][0] && rmdir(holder[i]))
			fprintf(stderr, "# rmdir %s: %s\n", holder[i],
				strerror(errno));
}

int main(int argc, char **argv)
{
	int ret;

	holders_open();
	ret = test_harness_run(argc, argv);
	holders_close();
	return ret;
}
