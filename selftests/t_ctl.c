// SPDX-License-Identifier: GPL-2.0-only
/*
 * fastrpcctl against a known workload: two namespaces joined by veth, a
 * server process with two server sockets in one, client sockets and
 * calls (one held open) in the other.  Every namespace is fresh, so its
 * counters start at zero and the numbers the tool prints can be checked
 * exactly.  The tool's JSON is checked for syntax by a small validator
 * below and read by key; the same run covers the text outputs, the
 * Prometheus format, set and reset, the CAP_NET_ADMIN check, the
 * kernel's extack messages, monitor and dumps while sockets come and go.
 *
 * The tool is "fastrpcctl" on PATH (the guest has build/bin there), or
 * $FASTRPCCTL.
 */
#include <ctype.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define PORT		7480
#define NET		83		/* 10.83.0.1 server, .2 client */
#define SRV_IP		"10.83.0.1"
#define CLI_IP		"10.83.0.2"
#define NCLI		3
#define ECHOS		5		/* per socket, on the first two */
/* the workload's calls: the echoes, one held, one echo after it */
#define STARTED		(2 * ECHOS + 2)
#define ANSWERED	(2 * ECHOS + 1)

/* --- a JSON validator and reader ---------------------------------------- */

static const char *js_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *js_string(const char *p)
{
	int i;

	if (*p++ != '"')
		return NULL;
	while (*p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;	/* NUL (end) and control characters */
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return p + 1;
}

static const char *js_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (isdigit((unsigned char)*p))
			p++;
	else
		return NULL;
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

/* Past the JSON value at @p (no leading space), or NULL if invalid. */
static const char *js_value(const char *p, int depth)
{
	char close;

	if (depth > 32)
		return NULL;
	switch (*p) {
	case '"':
		return js_string(p);
	case 't':
		return strncmp(p, "true", 4) ? NULL : p + 4;
	case 'f':
		return strncmp(p, "false", 5) ? NULL : p + 5;
	case 'n':
		return strncmp(p, "null", 4) ? NULL : p + 4;
	case '{':
	case '[':
		close = *p == '{' ? '}' : ']';
		p = js_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (close == '}') {
				p = js_string(p);
				if (!p)
					return NULL;
				p = js_ws(p);
				if (*p++ != ':')
					return NULL;
				p = js_ws(p);
			}
			p = js_value(p, depth + 1);
			if (!p)
				return NULL;
			p = js_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = js_ws(p);
		}
	default:
		return js_number(p);
	}
}

/* One JSON document, nothing else but white space. */
static bool js_valid(const char *doc)
{
	const char *p = js_value(js_ws(doc), 0);

	return p && !*js_ws(p);
}

/* The value of member @key of the object at @obj, or NULL. */
static const char *js_get(const char *obj, const char *key)
{
	size_t klen = strlen(key);
	const char *p, *k;
	bool hit;

	if (!obj || *obj != '{')
		return NULL;
	p = js_ws(obj + 1);
	while (*p == '"') {
		k = p + 1;
		p = js_string(p);
		if (!p)
			return NULL;
		hit = (size_t)(p - k - 1) == klen && !strncmp(k, key, klen);
		p = js_ws(js_ws(p) + 1);	/* past ':' */
		if (hit)
			return p;
		p = js_value(p, 0);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p == ',')
			p = js_ws(p + 1);
	}
	return NULL;
}

/* Element @i of the array at @arr, or NULL. */
static const char *js_at(const char *arr, int i)
{
	const char *p;

	if (!arr || *arr != '[')
		return NULL;
	p = js_ws(arr + 1);
	if (*p == ']')
		return NULL;
	while (i--) {
		p = js_value(p, 0);
		if (!p)
			return NULL;
		p = js_ws(p);
		if (*p != ',')
			return NULL;
		p = js_ws(p + 1);
	}
	return p;
}

static int js_len(const char *arr)
{
	int n = 0;

	while (js_at(arr, n))
		n++;
	return n;
}

/* Member @key as an integer; -1 when absent or not a number. */
static long long js_num(const char *obj, const char *key)
{
	const char *v = js_get(obj, key);

	if (!v || !isdigit((unsigned char)*v))
		return -1;
	return strtoll(v, NULL, 10);
}

/* Member @key is the string @want. */
static bool js_is(const char *obj, const char *key, const char *want)
{
	const char *v = js_get(obj, key);
	size_t n = strlen(want);

	return v && *v == '"' && !strncmp(v + 1, want, n) && v[n + 1] == '"';
}

/* Member @key: 1 true, 0 false, -1 absent or other. */
static int js_flag(const char *obj, const char *key)
{
	const char *v = js_get(obj, key);

	if (v && !strncmp(v, "true", 4))
		return 1;
	if (v && !strncmp(v, "false", 5))
		return 0;
	return -1;
}

/* The first element of @arr whose @key is @val. */
static const char *js_find(const char *arr, const char *key, long long val)
{
	const char *e;
	int i;

	for (i = 0; (e = js_at(arr, i)); i++)
		if (js_num(e, key) == val)
			return e;
	return NULL;
}

/* --- running the tool --------------------------------------------------- */

struct run {
	char *out;		/* stdout, NUL-terminated */
	size_t len, cap;
	char err[4096];		/* stderr, cut */
	size_t elen;
	int status;		/* exit status, 128 + signal */
};

static const char *ctl_path(void)
{
	const char *p = getenv("FASTRPCCTL");

	return p && *p ? p : "fastrpcctl";
}

/* Drop CAP_NET_ADMIN for good: bounding set and all three sets. */
static int drop_net_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	int i;

	if (prctl(PR_CAPBSET_DROP, CAP_NET_ADMIN, 0, 0, 0))
		return -errno;
	if (syscall(SYS_capget, &h, d))
		return -errno;
	for (i = 0; i < 2; i++) {
		d[i].effective &= ~(i == CAP_NET_ADMIN / 32 ?
				    1u << (CAP_NET_ADMIN % 32) : 0);
		d[i].permitted = d[i].effective;
		d[i].inheritable = 0;
	}
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

static void run_free(struct run *r)
{
	free(r->out);
	memset(r, 0, sizeof(*r));
}

/*
 * Run "fastrpcctl ARGS" through sh, its output in @r; the exit status,
 * or -errno if it could not be run.  @nocap: without CAP_NET_ADMIN.
 */
static int run_ctl(struct run *r, bool nocap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int run_ctl(struct run *r, bool nocap, const char *fmt, ...)
{
	char args[512], cmd[768];
	int o[2], e[2], st;
	struct pollfd p[2];
	va_list ap;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->cap = 65536;
	r->out = malloc(r->cap);
	if (!r->out)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "exec %s %s", ctl_path(), args);
	if (pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		if (dup2(o[1], 1) < 0 || dup2(e[1], 2) < 0)
			_exit(126);
		if (nocap && drop_net_admin())
			_exit(125);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(o[1]);
	close(e[1]);
	p[0] = (struct pollfd){ .fd = o[0], .events = POLLIN };
	p[1] = (struct pollfd){ .fd = e[0], .events = POLLIN };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents) {
			if (r->len + 4096 + 1 > r->cap) {
				char *b = realloc(r->out, r->cap * 2);

				if (!b)
					break;
				r->out = b;
				r->cap *= 2;
			}
			n = read(o[0], r->out + r->len, r->cap - r->len - 1);
			if (n <= 0) {
				close(o[0]);
				p[0].fd = -1;
			} else {
				r->len += (size_t)n;
			}
		}
		if (p[1].revents) {
			char junk[512];

			if (r->elen + 1 < sizeof(r->err))
				n = read(e[0], r->err + r->elen,
					 sizeof(r->err) - r->elen - 1);
			else
				n = read(e[0], junk, sizeof(junk));
			if (n <= 0) {
				close(e[0]);
				p[1].fd = -1;
			} else if (r->elen + 1 < sizeof(r->err)) {
				r->elen += (size_t)n;
			}
		}
	}
	r->out[r->len] = '\0';
	r->err[r->elen] = '\0';
	if (p[0].fd >= 0)
		close(p[0].fd);
	if (p[1].fd >= 0)
		close(p[1].fd);
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (r->status)
		fprintf(stderr, "# fastrpcctl %s: status %d, stderr: %s\n",
			args, r->status, r->err);
	return r->status;
}

/* A background "fastrpcctl ARGS", output in files under /tmp. */
struct bg {
	pid_t pid;
	char out[64], err[64];
};

static int bg_start(struct bg *b, const char *tag, const char *args)
{
	char cmd[512];
	int fo, fe;

	snprintf(b->out, sizeof(b->out), "/tmp/t_ctl.%d.%s.out", getpid(), tag);
	snprintf(b->err, sizeof(b->err), "/tmp/t_ctl.%d.%s.err", getpid(), tag);
	snprintf(cmd, sizeof(cmd), "exec %s %s", ctl_path(), args);
	fo = open(b->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fe = open(b->err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fo < 0 || fe < 0)
		return -errno;
	b->pid = fork();
	if (b->pid < 0)
		return -errno;
	if (!b->pid) {
		if (dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fo);
	close(fe);
	return 0;
}

/* The whole of file @path into @buf (NUL-terminated); its length. */
static size_t slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

/*
 * Wait until file @path contains @what, for at most @ms (a bound for a
 * hang, not a timing check); false if it never did or @pid ended first.
 */
static bool wait_file(const char *path, const char *what, pid_t pid, int ms)
{
	char buf[8192];
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		slurp(path, buf, sizeof(buf));
		if (strstr(buf, what))
			return true;
		if (pid > 0 && waitpid(pid, NULL, WNOHANG) == pid)
			return slurp(path, buf, sizeof(buf)) &&
			       strstr(buf, what);
		usleep(20000);
	} while (now_ms() < end);
	return false;
}

/* Exit status of @pid once it ends by itself within @ms, else -1. */
static int bg_wait(struct bg *b, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	int st;

	do {
		if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
			b->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) :
					       128 + WTERMSIG(st);
		}
		usleep(20000);
	} while (now_ms() < end);
	return -1;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void bg_kill(struct bg *b)
{
	if (b->pid > 0) {
		kill(b->pid, SIGKILL);
		waitpid(b->pid, NULL, 0);
	}
	b->pid = -1;
	unlink(b->out);
	unlink(b->err);
}

/* --- the fixture ----------------------------------------------------------- */

FIXTURE(ctl) {
	char ns_s[32];
	char ns_c[32];
	pid_t server;
	int cfd[NCLI];
	uint64_t conn_id;
};

FIXTURE_SETUP(ctl)
{
	int sync[2], i;
	char c;

	self->server = -1;
	for (i = 0; i < NCLI; i++)
		self->cfd[i] = -1;
	snprintf(self->ns_s, sizeof(self->ns_s), "frpc_ts%d", getpid());
	snprintf(self->ns_c, sizeof(self->ns_c), "frpc_tc%d", getpid());
	ASSERT_EQ(0, frpc_netns_pair(self->ns_s, self->ns_c, "frpc_ta",
				     "frpc_tb", NET));
	ASSERT_EQ(0, pipe(sync));
	self->server = fork();
	ASSERT_LE(0, self->server);
	if (self->server == 0) {
		struct echo_srv srv;
		int ret, fd2 = -1;

		close(sync[0]);
		ret = frpc_enter_ns(self->ns_s);
		if (!ret)
			ret = echo_srv_start(&srv, AF_INET, PORT, 2);
		/* a second server socket, idle: for the port filters */
		if (!ret)
			fd2 = fastrpc_server_open(AF_INET, PORT + 1, 16,
						  SOCK_CLOEXEC);
		c = ret || srv.port != PORT || fd2 < 0 ? 'E' : 'R';
		if (write(sync[1], &c, 1) != 1 || c != 'R')
			_exit(1);
		for (;;)
			pause();
	}
	close(sync[1]);
	c = 0;
	ASSERT_EQ(1, read(sync[0], &c, 1));
	close(sync[0]);
	ASSERT_EQ('R', c);
	ASSERT_EQ(0, frpc_enter_ns(self->ns_c));
}

FIXTURE_TEARDOWN(ctl)
{
	int i;

	for (i = 0; i < NCLI; i++)
		if (self->cfd[i] >= 0)
			close(self->cfd[i]);
	if (self->server > 0) {
		kill(self->server, SIGKILL);
		waitpid(self->server, NULL, 0);
	}
	frpc_sh("ip netns del %s 2>/dev/null", self->ns_s);
	frpc_sh("ip netns del %s 2>/dev/null", self->ns_c);
}

/*
 * The workload: NCLI client sockets to the server (one shared
 * connection), ECHOS calls answered on each of the first two, one call
 * the server holds on the last, and one more echo: its answer says the
 * server took the held call too (one connection keeps frames in order).
 * STARTED calls, ANSWERED of them answered.  0, or -errno.
 */
static int workload(FIXTURE_DATA(ctl) *self)
{
	struct fastrpc_sock_info si;
	uint32_t status;
	char buf[16];
	int i, j;

	for (i = 0; i < NCLI; i++) {
		self->cfd[i] = fastrpc_client_open(SRV_IP, PORT, SOCK_CLOEXEC);
		if (self->cfd[i] < 0)
			return self->cfd[i];
		if (set_rcvtimeo(self->cfd[i], 30000))
			return -errno;
	}
	for (i = 0; i < 2; i++) {
		for (j = 0; j < ECHOS; j++) {
			ssize_t n = fastrpc_call(self->cfd[i], M_ECHO, "hello", 5,
						 buf, sizeof(buf), &status);

			if (n != 5 || status != FASTRPC_OK)
				return n < 0 ? (int)n : -EIO;
		}
	}
	i = (int)fastrpc_send_call(self->cfd[NCLI - 1], 99, M_HOLD, "h", 1, 0);
	if (i < 0)
		return i;
	if (fastrpc_call(self->cfd[0], M_ECHO, "after", 5, buf, sizeof(buf),
			 &status) != 5 || status != FASTRPC_OK)
		return -EIO;
	i = fastrpc_get_sock_info(self->cfd[0], &si);
	if (i < 0)
		return i;
	self->conn_id = si.conn_id;
	return 0;
}

static uint64_t fd_inode(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

/* --- sockets --------------------------------------------------------------- */

TEST_F_TIMEOUT(ctl, sock_dump_and_filters, 120)
{
	const char *s, *peer, *srv, *srv2;
	long long server_id;
	struct run r;
	int i;

	ASSERT_EQ(0, workload(self));
	/* client side: our three sockets, found by inode */
	ASSERT_EQ(0, run_ctl(&r, false, "-j sock"));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	EXPECT_EQ(NCLI, js_len(js_ws(r.out)));
	for (i = 0; i < NCLI; i++) {
		s = js_find(js_ws(r.out), "inode", (long long)fd_inode(self->cfd[i]));
		ASSERT_NE(NULL, s) TH_LOG("socket %d missing: %s", i, r.out);
		EXPECT_TRUE(js_is(s, "role", "client"));
		EXPECT_EQ((long long)getuid(), js_num(s, "uid"));
		EXPECT_EQ((long long)self->conn_id, js_num(s, "conn-id"));
		EXPECT_EQ(i == NCLI - 1 ? 1 : 0, js_num(s, "calls"));
		EXPECT_LT(0, js_num(s, "max-calls"));
		EXPECT_LT(0, js_num(s, "id"));
		EXPECT_EQ(0, js_flag(s, "ring"));
		EXPECT_EQ(NULL, js_get(s, "local"));
		peer = js_get(s, "peer");
		EXPECT_TRUE(js_is(peer, "family", "inet"));
		EXPECT_TRUE(js_is(peer, "ip", SRV_IP));
		EXPECT_EQ(PORT, js_num(peer, "port"));
	}
	run_free(&r);

	/* filters: port and peer, matching and not */
	ASSERT_EQ(0, run_ctl(&r, false, "-j sock port %d", PORT));
	EXPECT_EQ(NCLI, js_len(js_ws(r.out)));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j sock port %d", PORT + 1));
	EXPECT_TRUE(js_valid(r.out));
	EXPECT_EQ(0, js_len(js_ws(r.out)));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j sock peer %s", SRV_IP));
	EXPECT_EQ(NCLI, js_len(js_ws(r.out)));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j sock peer %s:%d", SRV_IP, PORT + 1));
	EXPECT_EQ(0, js_len(js_ws(r.out)));
	run_free(&r);

	/* server side, through -n: two server sockets, one connection */
	ASSERT_EQ(0, run_ctl(&r, false, "-j -p -n %s sock", self->ns_s));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\n  {\n    \"id\": "));	/* -p */
	EXPECT_EQ(2, js_len(js_ws(r.out)));
	srv = NULL;
	srv2 = NULL;
	for (i = 0; (s = js_at(js_ws(r.out), i)); i++) {
		EXPECT_TRUE(js_is(s, "role", "server"));
		EXPECT_EQ(NULL, js_get(s, "peer"));
		if (js_num(js_get(s, "local"), "port") == PORT)
			srv = s;
		else if (js_num(js_get(s, "local"), "port") == PORT + 1)
			srv2 = s;
	}
	ASSERT_NE(NULL, srv);
	ASSERT_NE(NULL, srv2);
	EXPECT_EQ(1, js_num(srv, "conns"));
	EXPECT_EQ(0, js_num(srv2, "conns"));
	EXPECT_TRUE(js_is(js_get(srv, "local"), "ip", "0.0.0.0"));
	server_id = js_num(srv, "id");
	EXPECT_LT(0, server_id);
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s sock port %d", self->ns_s,
			     PORT + 1));
	EXPECT_EQ(1, js_len(js_ws(r.out)));
	run_free(&r);

	/* text: a header and one line per socket */
	ASSERT_EQ(0, run_ctl(&r, false, "sock"));
	EXPECT_EQ(0, strncmp(r.out, "ID ", 3)) TH_LOG("%s", r.out);
	EXPECT_EQ(NCLI + 1, count_lines(r.out));
	EXPECT_NE(NULL, strstr(r.out, SRV_IP ":7480"));
	run_free(&r);
}

/* --- connections ------------------------------------------------------------ */

TEST_F_TIMEOUT(ctl, conn_dump_both_sides, 120)
{
	struct echo_srv local;
	const char *c, *p;
	long long sid;
	struct run r;
	int fd, i;

	ASSERT_EQ(0, workload(self));
	ASSERT_EQ(0, run_ctl(&r, false, "-j conn"));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	ASSERT_EQ(1, js_len(js_ws(r.out)));
	c = js_at(js_ws(r.out), 0);
	EXPECT_EQ((long long)self->conn_id, js_num(c, "id"));
	EXPECT_EQ(0, js_flag(c, "server"));
	EXPECT_TRUE(js_is(c, "state", "ready"));
	EXPECT_TRUE(js_is(c, "path", "tcp"));
	EXPECT_EQ(NCLI, js_num(c, "users"));
	EXPECT_EQ(1, js_num(c, "calls"));
	EXPECT_LE(1, js_num(c, "version"));
	EXPECT_LE(0, js_num(c, "age-ms"));
	EXPECT_LE(0, js_num(c, "srtt-us"));
	EXPECT_LT(0, js_num(c, "tx-credit"));
	EXPECT_LT(0, js_num(c, "peer-call-window"));
	EXPECT_LT(0, js_num(c, "rx-window"));
	EXPECT_LE(0, js_num(c, "rx-owed"));
	EXPECT_LE(0, js_num(c, "rx-mem"));
	EXPECT_LE(0, js_num(c, "ctrl-queued"));
	/* calls out, replies in: at least a frame header each */
	EXPECT_LE(STARTED, js_num(c, "tx-frames"));
	EXPECT_LE(ANSWERED, js_num(c, "rx-frames"));
	EXPECT_LE(FASTRPC_FRAME_HDR_LEN * STARTED, js_num(c, "tx-bytes"));
	EXPECT_LE(FASTRPC_FRAME_HDR_LEN * ANSWERED, js_num(c, "rx-bytes"));
	EXPECT_EQ(NULL, js_get(c, "sock-id"));
	p = js_get(c, "peer");
	EXPECT_TRUE(js_is(p, "ip", SRV_IP));
	EXPECT_EQ(PORT, js_num(p, "port"));
	run_free(&r);

	/* the server's side: accepted, its socket named, the client's address */
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s sock port %d", self->ns_s, PORT));
	sid = js_num(js_at(js_ws(r.out), 0), "id");
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s conn", self->ns_s));
	ASSERT_TRUE(js_valid(r.out));
	ASSERT_EQ(1, js_len(js_ws(r.out)));
	c = js_at(js_ws(r.out), 0);
	EXPECT_EQ(1, js_flag(c, "server"));
	EXPECT_EQ(sid, js_num(c, "sock-id"));
	EXPECT_EQ(NULL, js_get(c, "users"));
	EXPECT_TRUE(js_is(js_get(c, "peer"), "ip", CLI_IP));
	EXPECT_TRUE(js_is(c, "state", "ready"));
	EXPECT_EQ(1, js_num(c, "calls"));
	run_free(&r);
	/* port N finds an accepted connection by its server socket's port */
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s conn port %d", self->ns_s, PORT));
	EXPECT_EQ(1, js_len(js_ws(r.out)));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s conn port %d", self->ns_s,
			     PORT + 1));
	EXPECT_EQ(0, js_len(js_ws(r.out)));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j conn peer %s", CLI_IP));
	EXPECT_EQ(0, js_len(js_ws(r.out)));
	run_free(&r);

	/*
	 * A server in this namespace: its connection takes the same-host
	 * short cut when that is on (path loop), TCP otherwise; both ends
	 * show, the accepted one with this socket's id.
	 */
	ASSERT_EQ(0, echo_srv_start(&local, AF_INET, PORT + 10, 1));
	fd = fastrpc_client_open("127.0.0.1", local.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, run_ctl(&r, false, "-j conn port %d", local.port));
	ASSERT_TRUE(js_valid(r.out));
	EXPECT_EQ(2, js_len(js_ws(r.out))) TH_LOG("%s", r.out);
	for (i = 0; (c = js_at(js_ws(r.out), i)); i++) {
		EXPECT_TRUE(js_is(c, "path", loop_on() ? "loop" : "tcp"));
		EXPECT_TRUE(js_is(js_get(c, "peer"), "ip", "127.0.0.1"));
	}
	run_free(&r);
	/* text: a header and the two lines */
	ASSERT_EQ(0, run_ctl(&r, false, "conn port %d", local.port));
	EXPECT_EQ(0, strncmp(r.out, "ID ", 3)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, loop_on() ? " loop " : " tcp "));
	EXPECT_NE(NULL, strstr(r.out, " client "));
	EXPECT_NE(NULL, strstr(r.out, " server "));
	run_free(&r);
	close(fd);
	echo_srv_stop(&local);
}

/* --- counters --------------------------------------------------------------- */

/*
 * Each sample line of Prometheus text follows its own # HELP and # TYPE
 * lines and reads NAME[{LABELS}] VALUE; every counter ends in _total.
 */
static int prom_check(const char *text, char *why, size_t len)
{
	char help[128] = "", type[128] = "", kind[16], name[128];
	const char *line = text, *nl;
	int samples = 0;

	for (; *line; line = nl + 1) {
		char buf[512];
		size_t n;

		nl = strchr(line, '\n');
		if (!nl) {
			snprintf(why, len, "no newline at the end");
			return -1;
		}
		n = (size_t)(nl - line);
		if (n >= sizeof(buf)) {
			snprintf(why, len, "long line");
			return -1;
		}
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (sscanf(buf, "# HELP %127s", help) == 1)
			continue;
		if (sscanf(buf, "# TYPE %127s %15s", type, kind) == 2) {
			if (strcmp(type, help) ||
			    (strcmp(kind, "counter") && strcmp(kind, "gauge"))) {
				snprintf(why, len, "bad TYPE: %.160s", buf);
				return -1;
			}
			n = strlen(type);
			if (!strcmp(kind, "counter") &&
			    (n < 6 || strcmp(type + n - 6, "_total"))) {
				snprintf(why, len, "counter without _total: %.160s",
					 buf);
				return -1;
			}
			continue;
		}
		n = strspn(buf, "abcdefghijklmnopqrstuvwxyz"
			   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
		memcpy(name, buf, n < sizeof(name) ? n : sizeof(name) - 1);
		name[n < sizeof(name) ? n : sizeof(name) - 1] = '\0';
		if (!n || isdigit((unsigned char)buf[0]) || strcmp(name, type) ||
		    strcmp(name, help)) {
			snprintf(why, len, "sample without HELP/TYPE: %.160s", buf);
			return -1;
		}
		if (buf[n] == '{') {
			char *close = strchr(buf + n, '}');

			if (!close || !strstr(buf + n, "=\"")) {
				snprintf(why, len, "bad labels: %.160s", buf);
				return -1;
			}
			n = (size_t)(close - buf) + 1;
		}
		if (buf[n] != ' ' || !buf[n + 1] ||
		    strspn(buf + n + 1, "0123456789") != strlen(buf + n + 1)) {
			snprintf(why, len, "bad value: %.160s", buf);
			return -1;
		}
		samples++;
		help[0] = '\0';	/* one sample per HELP/TYPE pair */
	}
	return samples;
}

TEST_F_TIMEOUT(ctl, stats_counts_and_prometheus, 120)
{
	char why[256], line[160];
	const char *o;
	struct run r;
	int n;

	ASSERT_EQ(0, workload(self));
	/* fresh namespaces: exactly this workload */
	ASSERT_EQ(0, run_ctl(&r, false, "-j stats"));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	o = js_ws(r.out);
	EXPECT_EQ(STARTED, js_num(o, "calls-started"));
	EXPECT_EQ(ANSWERED, js_num(o, "calls-completed"));
	EXPECT_EQ(1, js_num(o, "conns-open"));
	EXPECT_EQ(1, js_num(o, "conns-total"));
	EXPECT_EQ(0, js_num(o, "calls-received"));
	EXPECT_EQ(0, js_num(o, "loop-conns"));
	EXPECT_EQ(0, js_num(o, "server-sockets"));
	EXPECT_EQ(0, js_num(o, "proto-errors"));
	EXPECT_LE(0, js_num(o, "rx-mem"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s stats", self->ns_s));
	o = js_ws(r.out);
	EXPECT_EQ(STARTED, js_num(o, "calls-received"));
	EXPECT_EQ(ANSWERED, js_num(o, "replies-sent"));
	EXPECT_EQ(0, js_num(o, "calls-started"));
	EXPECT_EQ(2, js_num(o, "server-sockets"));
	EXPECT_EQ(1, js_num(o, "server-conns"));
	EXPECT_EQ(1, js_num(o, "conns-open"));
	run_free(&r);

	/* text: "name value" lines */
	ASSERT_EQ(0, run_ctl(&r, false, "stats"));
	snprintf(line, sizeof(line), "\ncalls-completed ");
	EXPECT_NE(NULL, strstr(r.out, line)) TH_LOG("%s", r.out);
	run_free(&r);

	/* Prometheus */
	ASSERT_EQ(0, run_ctl(&r, false, "stats --prometheus"));
	n = prom_check(r.out, why, sizeof(why));
	EXPECT_LT(20, n) TH_LOG("%s\n%s", why, r.out);
	snprintf(line, sizeof(line), "\nfastrpc_calls_started_total %d\n",
		 STARTED);
	EXPECT_NE(NULL, strstr(r.out, line)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "# TYPE fastrpc_calls_started_total counter\n"));
	EXPECT_NE(NULL, strstr(r.out, "# TYPE fastrpc_conns_open gauge\n"));
	EXPECT_NE(NULL, strstr(r.out, "\nfastrpc_conns_open 1\n"));
	/* conns-total is a counter already named so: no _total_total */
	EXPECT_NE(NULL, strstr(r.out, "\nfastrpc_conns_total 1\n"));
	EXPECT_EQ(NULL, strstr(r.out, "_total_total"));
	EXPECT_NE(NULL, strstr(r.out, "# TYPE fastrpc_rx_held_bytes gauge\n"));
	EXPECT_NE(NULL, strstr(r.out, "# TYPE fastrpc_server_conns gauge\n"));
	EXPECT_NE(NULL, strstr(r.out, "# TYPE fastrpc_pings_sent_total counter\n"));
	run_free(&r);
	/* with -n, a netns label */
	ASSERT_EQ(0, run_ctl(&r, false, "-n %s stats --prometheus", self->ns_s));
	EXPECT_LT(20, prom_check(r.out, why, sizeof(why))) TH_LOG("%s", why);
	snprintf(line, sizeof(line),
		 "\nfastrpc_calls_received_total{netns=\"%s\"} %d\n",
		 self->ns_s, STARTED);
	EXPECT_NE(NULL, strstr(r.out, line)) TH_LOG("%s", r.out);
	run_free(&r);
}

/* --- the module ------------------------------------------------------------- */

TEST_F_TIMEOUT(ctl, show_module, 60)
{
	struct fastrpc_features ft;
	const char *o, *lim;
	char want[64];
	struct run r;
	int fd;

	fd = fastrpc_socket(SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastrpc_get_features(fd, &ft));
	close(fd);

	ASSERT_EQ(0, run_ctl(&r, false, "-j show"));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	o = js_ws(r.out);
	EXPECT_EQ('"', *js_get(o, "version"));
	EXPECT_EQ(fastrpc_family(), js_num(o, "family"));
	EXPECT_EQ(ft.proto_min, js_num(o, "proto-min"));
	EXPECT_EQ(ft.proto_max, js_num(o, "proto-max"));
	EXPECT_EQ((long long)ft.features, js_num(o, "features"));
	EXPECT_EQ(ft.max_msg, js_num(o, "max-msg"));
	EXPECT_EQ(ft.max_calls, js_num(o, "max-calls"));
	EXPECT_EQ(ft.default_calls, js_num(o, "default-calls"));
	EXPECT_EQ(!!(ft.features & FASTRPC_FEAT_RING),
		  !!strstr(js_get(o, "feature-names"), "\"ring\""));
	lim = js_get(o, "limits");
	EXPECT_EQ(frpc_param_long("keepalive_ms"), js_num(lim, "keepalive-ms"));
	EXPECT_EQ(frpc_param_long("conn_rx_mem"), js_num(lim, "conn-rx-mem"));
	run_free(&r);

	ASSERT_EQ(0, run_ctl(&r, false, "show"));
	snprintf(want, sizeof(want), "address family %d,", fastrpc_family());
	EXPECT_NE(NULL, strstr(r.out, want)) TH_LOG("%s", r.out);
	EXPECT_NE(NULL, strstr(r.out, "\nfeatures: ipv6 "));
	EXPECT_NE(NULL, strstr(r.out, "\nlimits:\n  conn-rx-mem "));
	run_free(&r);

	/* usage errors: status 2, before any request */
	EXPECT_EQ(2, run_ctl(&r, false, "frobnicate"));
	run_free(&r);
	EXPECT_EQ(2, run_ctl(&r, false, "set no-such-limit 1"));
	EXPECT_NE(NULL, strstr(r.err, "unknown limit"));
	run_free(&r);
	EXPECT_EQ(2, run_ctl(&r, false, "conn port 0"));
	run_free(&r);
}

/* --- limits ----------------------------------------------------------------- */

TEST_F_TIMEOUT(ctl, limits_set_reset_round_trip, 90)
{
	long ka = frpc_param_long("keepalive_ms");
	long cmc = frpc_param_long("conn_max_calls");
	const int own = (1 << FASTRPC_A_LIMITS_KEEPALIVE_MS) |
			(1 << FASTRPC_A_LIMITS_CONN_MAX_CALLS) |
			(1 << FASTRPC_A_LIMITS_LOOPBACK);
	const char *o;
	struct run r;

	ASSERT_LT(0, ka);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	ASSERT_TRUE(js_valid(r.out)) TH_LOG("not JSON: %s", r.out);
	o = js_ws(r.out);
	EXPECT_EQ(0, js_num(o, "own"));
	EXPECT_EQ(ka, js_num(o, "keepalive-ms"));
	EXPECT_EQ(cmc, js_num(o, "conn-max-calls"));
	EXPECT_EQ(frpc_param_long("idle_ms"), js_num(o, "idle-ms"));
	EXPECT_EQ(frpc_param_long("net_rx_mem"), js_num(o, "net-rx-mem"));
	EXPECT_EQ(frpc_param_long("server_max_conns"),
		  js_num(o, "server-max-conns"));
	EXPECT_EQ(frpc_param_long("peer_max_conns"), js_num(o, "peer-max-conns"));
	EXPECT_EQ(frpc_param_long("peer_max_calls"), js_num(o, "peer-max-calls"));
	EXPECT_EQ(loop_on(), js_num(o, "loopback"));
	run_free(&r);

	/* several at once, with units and the parameter spelling */
	ASSERT_EQ(0, run_ctl(&r, false,
			     "set keepalive-ms 2500 conn_max_calls 77 loopback %s",
			     loop_on() ? "off" : "on"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	o = js_ws(r.out);
	EXPECT_EQ(2500, js_num(o, "keepalive-ms"));
	EXPECT_EQ(77, js_num(o, "conn-max-calls"));
	EXPECT_EQ(!loop_on(), js_num(o, "loopback"));
	EXPECT_EQ(own, js_num(o, "own"));
	run_free(&r);
	/* this namespace only: the module and the other namespace keep theirs */
	EXPECT_EQ(ka, frpc_param_long("keepalive_ms"));
	ASSERT_EQ(0, run_ctl(&r, false, "-j -n %s limits", self->ns_s));
	EXPECT_EQ(ka, js_num(js_ws(r.out), "keepalive-ms"));
	EXPECT_EQ(0, js_num(js_ws(r.out), "own"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "limits"));
	EXPECT_NE(NULL, strstr(r.out, "keepalive-ms       2500         (this namespace)\n"))
		TH_LOG("%s", r.out);
	run_free(&r);

	ASSERT_EQ(0, run_ctl(&r, false, "set keepalive-ms 3s conn-rx-mem 2M"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	EXPECT_EQ(3000, js_num(js_ws(r.out), "keepalive-ms"));
	EXPECT_EQ(2 << 20, js_num(js_ws(r.out), "conn-rx-mem"));
	run_free(&r);

	/* reset one: back to the parameter, its bit gone */
	ASSERT_EQ(0, run_ctl(&r, false, "reset keepalive-ms"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	o = js_ws(r.out);
	EXPECT_EQ(ka, js_num(o, "keepalive-ms"));
	EXPECT_EQ(77, js_num(o, "conn-max-calls"));
	EXPECT_EQ((own | 1 << FASTRPC_A_LIMITS_CONN_RX_MEM) &
		  ~(1 << FASTRPC_A_LIMITS_KEEPALIVE_MS), js_num(o, "own"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "reset all"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	o = js_ws(r.out);
	EXPECT_EQ(0, js_num(o, "own"));
	EXPECT_EQ(cmc, js_num(o, "conn-max-calls"));
	EXPECT_EQ(loop_on(), js_num(o, "loopback"));
	run_free(&r);
}

TEST_F_TIMEOUT(ctl, set_refused_with_extack, 60)
{
	struct run r;

	/*
	 * Out of range: the error, then the kernel's own words after it
	 * (the policy's "integer out of range"), which only extack carries.
	 */
	EXPECT_EQ(1, run_ctl(&r, false, "set keepalive-ms 5"));
	EXPECT_EQ(0, strncmp(r.err, "fastrpcctl: set: ", 17)) TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, ": integer out of range\n"))
		TH_LOG("%s", r.err);
	run_free(&r);
	EXPECT_EQ(1, run_ctl(&r, false, "set loopback 2"));
	EXPECT_NE(NULL, strstr(r.err, ": integer out of range\n"))
		TH_LOG("%s", r.err);
	run_free(&r);
	/* all or nothing: a good value next to a bad one is not taken */
	EXPECT_EQ(1, run_ctl(&r, false, "set idle-ms 5000 peer-max-conns 0"));
	run_free(&r);
	ASSERT_EQ(0, run_ctl(&r, false, "-j limits"));
	EXPECT_EQ(0, js_num(js_ws(r.out), "own"));
	EXPECT_EQ(frpc_param_long("idle_ms"), js_num(js_ws(r.out), "idle-ms"));
	run_free(&r);
}

TEST_F_TIMEOUT(ctl, set_needs_cap_net_admin, 60)
{
	struct run r;

	EXPECT_EQ(1, run_ctl(&r, true, "set keepalive-ms 2000"));
	EXPECT_NE(NULL, strstr(r.err, "set: Operation not permitted"))
		TH_LOG("%s", r.err);
	EXPECT_NE(NULL, strstr(r.err, "CAP_NET_ADMIN"));
	run_free(&r);
	EXPECT_EQ(1, run_ctl(&r, true, "reset all"));
	EXPECT_NE(NULL, strstr(r.err, "Operation not permitted"));
	run_free(&r);
	/* reading needs no privilege; and nothing changed */
	ASSERT_EQ(0, run_ctl(&r, true, "-j limits"));
	EXPECT_EQ(0, js_num(js_ws(r.out), "own"));
	EXPECT_EQ(frpc_param_long("keepalive_ms"),
		  js_num(js_ws(r.out), "keepalive-ms"));
	run_free(&r);
	/* the same request with the capability goes through */
	EXPECT_EQ(0, run_ctl(&r, false, "set keepalive-ms 2000"));
	run_free(&r);
}

/* --- events ----------------------------------------------------------------- */

TEST_F_TIMEOUT(ctl, monitor_conn_up_down, 180)
{
	char out[8192], args[96], *line, *save;
	struct bg one, all, srv;
	const char *o;
	bool up = false, down = false;
	int i;

	/*
	 * Here -c 1 and one until SIGTERM; in the server's namespace -c 1,
	 * in text.
	 */
	ASSERT_EQ(0, bg_start(&one, "one", "-j monitor -c 1"));
	ASSERT_EQ(0, bg_start(&all, "all", "-j monitor"));
	snprintf(args, sizeof(args), "-n %s monitor -c 1", self->ns_s);
	ASSERT_EQ(0, bg_start(&srv, "srv", args));
	EXPECT_TRUE(wait_file(one.err, "listening for events", one.pid, 60000));
	EXPECT_TRUE(wait_file(all.err, "listening for events", all.pid, 60000));
	EXPECT_TRUE(wait_file(srv.err, "listening for events", srv.pid, 60000));

	ASSERT_EQ(0, workload(self));
	/* -c 1: the connection's coming up, then it exits by itself */
	EXPECT_EQ(0, bg_wait(&one, 60000));
	slurp(one.err, out, sizeof(out));
	TH_LOG("monitor -c 1 stderr: %s", out);
	slurp(one.out, out, sizeof(out));
	EXPECT_TRUE(js_valid(out)) TH_LOG("%s", out);
	EXPECT_EQ(1, count_lines(out));
	o = js_ws(out);
	EXPECT_TRUE(js_is(o, "event", "conn-up")) TH_LOG("%s", out);
	EXPECT_EQ((long long)self->conn_id, js_num(o, "id"));
	EXPECT_EQ(0, js_flag(o, "server"));
	EXPECT_TRUE(js_is(o, "path", "tcp"));
	EXPECT_TRUE(js_is(js_get(o, "peer"), "ip", SRV_IP));
	EXPECT_EQ(PORT, js_num(js_get(o, "peer"), "port"));

	EXPECT_EQ(0, bg_wait(&srv, 60000));
	slurp(srv.out, out, sizeof(out));
	EXPECT_EQ(1, count_lines(out));
	EXPECT_EQ(0, strncmp(out, "conn-up conn ", 13)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, " server tcp peer " CLI_IP ":"));
	EXPECT_NE(NULL, strstr(out, " sock "));

	/* the server goes: the client's connection goes down */
	kill(self->server, SIGKILL);
	waitpid(self->server, NULL, 0);
	self->server = -1;
	EXPECT_TRUE(wait_file(all.out, "\"event\":\"conn-down\"", all.pid, 90000));
	ASSERT_EQ(0, kill(all.pid, SIGTERM));
	EXPECT_EQ(0, bg_wait(&all, 60000));
	slurp(all.out, out, sizeof(out));
	/* one JSON object a line: up first, down last, all about our conn */
	i = 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		EXPECT_TRUE(js_valid(line)) TH_LOG("%s", line);
		EXPECT_EQ((long long)self->conn_id, js_num(line, "id"));
		if (!i)
			up = js_is(line, "event", "conn-up");
		down = js_is(line, "event", "conn-down");
		if (down)
			EXPECT_LE(0, js_num(line, "errno"));
	}
	EXPECT_TRUE(up);
	EXPECT_TRUE(down);
	bg_kill(&one);
	bg_kill(&all);
	bg_kill(&srv);
}

/* A line of @text containing @what, copied into @line; false if none. */
static bool find_line(const char *text, const char *what, char *line,
		      size_t len)
{
	const char *hit = strstr(text, what), *start, *end;

	if (!hit)
		return false;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	end = strchr(hit, '\n');
	if (!end)
		end = hit + strlen(hit);
	snprintf(line, len, "%.*s", (int)(end - start), start);
	return true;
}

TEST_F_TIMEOUT(ctl, monitor_admission_reject, 120)
{
	char out[8192], line[1024], want[64];
	uint16_t port = PORT + 20;
	struct bg js, txt;
	int sfd, cfd, i;

	/* a server that admits one call at a time and reads none */
	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, fastrpc_set_max_calls(sfd, 1));
	cfd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, bg_start(&js, "rj", "-j monitor"));
	ASSERT_EQ(0, bg_start(&txt, "rt", "monitor"));
	EXPECT_TRUE(wait_file(js.err, "listening for events", js.pid, 60000));
	EXPECT_TRUE(wait_file(txt.err, "listening for events", txt.pid, 60000));
	for (i = 1; i <= 3; i++)
		ASSERT_EQ(1, fastrpc_send_call(cfd, (uint64_t)i, M_ECHO, "x", 1,
					       0));
	EXPECT_TRUE(wait_file(js.out, "\"event\":\"reject\"", js.pid, 60000));
	EXPECT_TRUE(wait_file(txt.out, "reject sock ", txt.pid, 60000));
	/* SIGTERM ends one, SIGINT the other, both cleanly */
	ASSERT_EQ(0, kill(js.pid, SIGTERM));
	ASSERT_EQ(0, kill(txt.pid, SIGINT));
	EXPECT_EQ(0, bg_wait(&js, 60000));
	EXPECT_EQ(0, bg_wait(&txt, 60000));

	slurp(js.out, out, sizeof(out));
	ASSERT_TRUE(find_line(out, "\"event\":\"reject\"", line, sizeof(line)))
		TH_LOG("%s", out);
	EXPECT_TRUE(js_valid(line)) TH_LOG("%s", line);
	EXPECT_EQ((long long)fd_inode(sfd), js_num(line, "inode"));
	EXPECT_LT(0, js_num(line, "id"));
	EXPECT_LE(1, js_num(line, "rejects"));
	EXPECT_GE(2, js_num(line, "rejects"));
	EXPECT_EQ(port, js_num(js_get(line, "local"), "port"));
	EXPECT_EQ(0, js_flag(line, "ring"));

	slurp(txt.out, out, sizeof(out));
	snprintf(want, sizeof(want), " local 0.0.0.0:%u rejects ", port);
	ASSERT_TRUE(find_line(out, "reject sock ", line, sizeof(line)))
		TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(line, want)) TH_LOG("%s", line);
	bg_kill(&js);
	bg_kill(&txt);
	close(cfd);
	close(sfd);
}

/* --- dumps while sockets come and go ----------------------------------------- */

#define STABLE		600
#define CHURN		100

struct churn {
	atomic_int stop;
	atomic_uint cycles;
};

static void *churn_thread(void *p)
{
	struct churn *c = p;
	int fds[CHURN], i;

	while (!atomic_load(&c->stop)) {
		for (i = 0; i < CHURN; i++)
			fds[i] = fastrpc_socket(SOCK_CLOEXEC);
		for (i = 0; i < CHURN; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		atomic_fetch_add(&c->cycles, 1);
	}
	return NULL;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

TEST_F_TIMEOUT(ctl, sock_dump_while_sockets_come_and_go, 240)
{
	static int fds[STABLE];
	/*
	 * Each part of a dump may hold up to CHURN sockets the churn thread
	 * opened after the part before: room for many parts.
	 */
	static long long ino[STABLE], seen[1 << 16];
	struct churn ch = { 0 };
	const char *arr, *e;
	long long id, last;
	pthread_t thr;
	struct run r;
	int i, k, n, found;

	for (i = 0; i < STABLE; i++) {
		fds[i] = fastrpc_socket(SOCK_CLOEXEC);
		ASSERT_LE(0, fds[i]);
		ino[i] = (long long)fd_inode(fds[i]);
	}
	ASSERT_EQ(0, pthread_create(&thr, NULL, churn_thread, &ch));
	for (k = 0; k < 3; k++) {
		ASSERT_EQ(0, run_ctl(&r, false, "-j sock"));
		ASSERT_TRUE(js_valid(r.out)) TH_LOG("dump %d is not JSON", k);
		arr = js_ws(r.out);
		/* ids only grow (none twice), and every stable socket is there */
		last = 0;
		found = 0;
		e = js_at(arr, 0);
		for (n = 0; e; n++) {
			id = js_num(e, "id");
			EXPECT_LT(last, id);
			last = id;
			if (n < (int)ARRAY_SIZE(seen))
				seen[n] = js_num(e, "inode");
			/* the next element, without walking from the start */
			e = js_ws(js_value(e, 0));
			e = *e == ',' ? js_ws(e + 1) : NULL;
		}
		ASSERT_GE((int)ARRAY_SIZE(seen), n);
		qsort(seen, (size_t)n, sizeof(seen[0]), cmp_ll);
		for (i = 0; i < STABLE; i++)
			found += bsearch(&ino[i], seen, (size_t)n,
					 sizeof(seen[0]), cmp_ll) != NULL;
		EXPECT_EQ(STABLE, found);
		EXPECT_LE(STABLE, n);
		TH_LOG("dump %d: %d sockets, %zu bytes, churn cycles %u", k, n,
		       r.len, atomic_load(&ch.cycles));
		run_free(&r);
	}
	atomic_store(&ch.stop, 1);
	pthread_join(thr, NULL);
	EXPECT_LT(0, atomic_load(&ch.cycles));
	for (i = 0; i < STABLE; i++)
		close(fds[i]);
}

TEST_HARNESS_MAIN
