// SPDX-License-Identifier: GPL-2.0-only
/*
 * The generic netlink family "fastrpc", spoken raw (no libnl, so the test
 * checks the kernel and nothing between): module info, counters against
 * /proc/net/fastrpc, socket and connection dumps against a known
 * workload, dumps that span several messages while sockets come and go,
 * connections whole in a dump while peers connect,
 * limits set, reset and in force in one namespace only, refusals
 * (permission, ranges, malformed and unknown attributes, with their
 * extack messages), and events of the multicast group.
 */
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "frpc_test.h"
#include "kselftest_harness.h"

#define BASE_PORT	7900
#define WAIT_MS		10000

/* --- a small generic netlink client -------------------------------------- */

struct nl {
	int fd;
	uint16_t family;
	uint32_t events;	/* multicast group id */
	uint32_t seq;
	char ext[256];		/* extack message of the last error */
};

struct nlbuf {
	union {
		struct nlmsghdr nh;
		char b[1024];
	};
	size_t len;
};

static void nb_init(struct nlbuf *m, uint16_t type, uint16_t flags, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_type = type;
	m->nh.nlmsg_flags = NLM_F_REQUEST | flags;
	g = (struct genlmsghdr *)(m->b + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = 1;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

static void nb_put(struct nlbuf *m, uint16_t type, const void *data, uint16_t len)
{
	struct nlattr *a = (struct nlattr *)(m->b + m->len);

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->len += NLA_ALIGN(a->nla_len);
}

static void nb_u32(struct nlbuf *m, uint16_t type, uint32_t v)
{
	nb_put(m, type, &v, sizeof(v));
}

/* Attributes of one level: tb[type] for types below @max. */
static void nl_parse(struct nlattr **tb, int max, const void *data, int len)
{
	const struct nlattr *a = data;

	memset(tb, 0, sizeof(*tb) * max);
	while (len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len) {
		int t = a->nla_type & NLA_TYPE_MASK;

		if (t < max)
			tb[t] = (struct nlattr *)a;
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

static void *nla_data_(const struct nlattr *a)
{
	return (char *)a + NLA_HDRLEN;
}

static int nla_len_(const struct nlattr *a)
{
	return a->nla_len - NLA_HDRLEN;
}

static uint64_t nla_u64(const struct nlattr *a)
{
	uint64_t v = 0;

	memcpy(&v, nla_data_(a), nla_len_(a) < 8 ? nla_len_(a) : 8);
	return v;
}

static uint32_t nla_u32(const struct nlattr *a)
{
	uint32_t v = 0;

	memcpy(&v, nla_data_(a), nla_len_(a) < 4 ? nla_len_(a) : 4);
	return v;
}

typedef int (*nl_msg_fn)(void *ctx, uint8_t cmd, struct nlattr **tb);

#define TB_MAX 64

/*
 * Send @m and read the answer: each message's attributes to @fn, up to the
 * ack or NLMSG_DONE.  0, or the -errno of the kernel's error (its extack
 * message in n->ext), or of a local failure.
 */
static int nl_talk(struct nl *n, struct nlbuf *m, nl_msg_fn fn, void *ctx)
{
	static char buf[65536];
	struct nlattr *tb[TB_MAX];
	int ret;

	n->ext[0] = 0;
	m->nh.nlmsg_len = m->len;
	m->nh.nlmsg_seq = ++n->seq;
	if (send(n->fd, m->b, m->len, 0) != (ssize_t)m->len)
		return -errno;
	for (;;) {
		ssize_t len = recv(n->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (len < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			if (h->nlmsg_seq != n->seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				size_t off = NLMSG_HDRLEN + sizeof(*e);

				/* the request is echoed unless capped */
				if (!(h->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - NLMSG_HDRLEN;
				if (h->nlmsg_flags & NLM_F_ACK_TLVS &&
				    h->nlmsg_len > off) {
					nl_parse(tb, TB_MAX, (char *)h + off,
						 h->nlmsg_len - off);
					if (tb[NLMSGERR_ATTR_MSG])
						snprintf(n->ext, sizeof(n->ext), "%s",
							 (char *)nla_data_(tb[NLMSGERR_ATTR_MSG]));
				}
				return e->error;
			}
			if (fn) {
				struct genlmsghdr *g = NLMSG_DATA(h);

				nl_parse(tb, TB_MAX, (char *)g + GENL_HDRLEN,
					 h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
				ret = fn(ctx, g->cmd, tb);
				if (ret)
					return ret;
			}
		}
	}
}

static int ctrl_family(void *ctx, uint8_t cmd, struct nlattr **tb)
{
	struct nl *n = ctx;
	struct nlattr *g[TB_MAX];
	const struct nlattr *a;
	int left;

	(void)cmd;
	if (tb[CTRL_ATTR_FAMILY_ID])
		n->family = *(uint16_t *)nla_data_(tb[CTRL_ATTR_FAMILY_ID]);
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 0;
	a = nla_data_(tb[CTRL_ATTR_MCAST_GROUPS]);
	left = nla_len_(tb[CTRL_ATTR_MCAST_GROUPS]);
	while (left >= NLA_HDRLEN) {
		nl_parse(g, TB_MAX, nla_data_(a), nla_len_(a));
		if (g[CTRL_ATTR_MCAST_GRP_NAME] && g[CTRL_ATTR_MCAST_GRP_ID] &&
		    !strcmp(nla_data_(g[CTRL_ATTR_MCAST_GRP_NAME]),
			    FASTRPC_GENL_MCGRP_EVENTS))
			n->events = nla_u32(g[CTRL_ATTR_MCAST_GRP_ID]);
		left -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

/* Open a generic netlink socket and find the family; 0 or -errno. */
static int nl_open(struct nl *n)
{
	struct timeval tv = { .tv_sec = 10 };
	struct nlbuf m;
	int one = 1, ret;

	memset(n, 0, sizeof(*n));
	n->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (n->fd < 0)
		return -errno;
	setsockopt(n->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(n->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(n->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	nb_init(&m, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY);
	nb_put(&m, CTRL_ATTR_FAMILY_NAME, FASTRPC_GENL_NAME,
	       sizeof(FASTRPC_GENL_NAME));
	ret = nl_talk(n, &m, ctrl_family, n);
	if (!ret && !n->family)
		ret = -ENOENT;
	return ret;
}

static void nl_close(struct nl *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

/* A request of the family with no attributes. */
static int nl_cmd(struct nl *n, uint8_t cmd, bool dump, nl_msg_fn fn, void *ctx)
{
	struct nlbuf m;

	nb_init(&m, n->family, dump ? NLM_F_DUMP : NLM_F_ACK, cmd);
	return nl_talk(n, &m, fn, ctx);
}

/* --- what the tests collect -------------------------------------------- */

struct one {
	uint8_t cmd;
	struct nlattr *tb[TB_MAX];
	char raw[2048];
};

/* Keep a copy of a message's attributes (one reply). */
static int keep_one(void *ctx, uint8_t cmd, struct nlattr **tb)
{
	struct one *o = ctx;
	size_t off = 0;
	int i;

	o->cmd = cmd;
	memset(o->tb, 0, sizeof(o->tb));
	for (i = 0; i < TB_MAX; i++) {
		if (!tb[i] || off + tb[i]->nla_len > sizeof(o->raw))
			continue;
		memcpy(o->raw + off, tb[i], tb[i]->nla_len);
		o->tb[i] = (struct nlattr *)(o->raw + off);
		off += NLA_ALIGN(tb[i]->nla_len);
	}
	return 0;
}

#define MAX_ROWS 2048

struct rows {
	int n;
	struct one *r;
};

static int keep_row(void *ctx, uint8_t cmd, struct nlattr **tb)
{
	struct rows *rs = ctx;

	if (rs->n == MAX_ROWS)
		return -E2BIG;
	return keep_one(&rs->r[rs->n++], cmd, tb);
}

static int dump(struct nl *n, uint8_t cmd, struct rows *rs)
{
	if (!rs->r)
		rs->r = calloc(MAX_ROWS, sizeof(*rs->r));
	rs->n = 0;
	return rs->r ? nl_cmd(n, cmd, true, keep_row, rs) : -ENOMEM;
}

static struct one *row_by_u64(struct rows *rs, int attr, uint64_t v)
{
	int i;

	for (i = 0; i < rs->n; i++)
		if (rs->r[i].tb[attr] && nla_u64(rs->r[i].tb[attr]) == v)
			return &rs->r[i];
	return NULL;
}

static uint16_t addr_port(const struct nlattr *nest)
{
	struct nlattr *tb[TB_MAX];

	if (!nest)
		return 0;
	nl_parse(tb, TB_MAX, nla_data_(nest), nla_len_(nest));
	return tb[FASTRPC_A_ADDR_PORT] ?
		*(uint16_t *)nla_data_(tb[FASTRPC_A_ADDR_PORT]) : 0;
}

static uint64_t ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : (uint64_t)st.st_ino;
}

static int echo_call(int fd)
{
	char out[64];
	uint32_t status = 99;
	ssize_t n = fastrpc_call(fd, M_ECHO, "ping", 4, out, sizeof(out), &status);

	return n == 4 && status == FASTRPC_OK ? 0 : (n < 0 ? (int)n : -EIO);
}

/* --- tests ----------------------------------------------------------------- */

FIXTURE(nl) {
	struct nl n;
	struct echo_srv srv;
	struct rows rows;
};

FIXTURE_SETUP(nl)
{
	int ret = nl_open(&self->n);

	ASSERT_EQ(0, ret) TH_LOG("family %s: %s", FASTRPC_GENL_NAME, strerror(-ret));
	ASSERT_EQ(0, echo_srv_start(&self->srv, AF_INET,
				    test_port(BASE_PORT, _metadata->name), 2));
	self->rows.r = NULL;
}

FIXTURE_TEARDOWN(nl)
{
	echo_srv_stop(&self->srv);
	nl_close(&self->n);
	free(self->rows.r);
}

TEST_F(nl, info)
{
	struct fastrpc_features f;
	struct one o;
	int fd;

	ASSERT_EQ(0, nl_cmd(&self->n, FASTRPC_CMD_INFO_GET, false, keep_one, &o));
	ASSERT_EQ(FASTRPC_CMD_INFO_GET, o.cmd);
	ASSERT_NE(NULL, o.tb[FASTRPC_A_INFO_VERSION]);
	EXPECT_LT(0, (int)strlen(nla_data_(o.tb[FASTRPC_A_INFO_VERSION])));
	ASSERT_NE(NULL, o.tb[FASTRPC_A_INFO_FAMILY]);
	EXPECT_EQ(fastrpc_family(), (int)nla_u32(o.tb[FASTRPC_A_INFO_FAMILY]));
	/* the same module answers the socket option */
	fd = fastrpc_socket(SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, fastrpc_get_features(fd, &f));
	close(fd);
	ASSERT_NE(NULL, o.tb[FASTRPC_A_INFO_FEATURES]);
	EXPECT_EQ(f.features, nla_u64(o.tb[FASTRPC_A_INFO_FEATURES]));
	EXPECT_EQ(f.proto_min, nla_u32(o.tb[FASTRPC_A_INFO_PROTO_MIN]));
	EXPECT_EQ(f.proto_max, nla_u32(o.tb[FASTRPC_A_INFO_PROTO_MAX]));
	EXPECT_EQ(f.max_msg, nla_u32(o.tb[FASTRPC_A_INFO_MAX_MSG]));
	EXPECT_EQ(f.max_calls, nla_u32(o.tb[FASTRPC_A_INFO_MAX_CALLS]));
	EXPECT_EQ(f.default_calls, nla_u32(o.tb[FASTRPC_A_INFO_DEFAULT_CALLS]));
}

/* Every counter of /proc/net/fastrpc, by the same name, same value. */
TEST_F(nl, stats_match_proc)
{
	static const struct { const char *name; int attr; } m[] = {
		{ "calls_started", FASTRPC_A_STATS_CALLS_STARTED },
		{ "calls_completed", FASTRPC_A_STATS_CALLS_COMPLETED },
		{ "calls_received", FASTRPC_A_STATS_CALLS_RECEIVED },
		{ "replies_sent", FASTRPC_A_STATS_REPLIES_SENT },
		{ "conns_total", FASTRPC_A_STATS_CONNS_TOTAL },
		{ "loop_calls", FASTRPC_A_STATS_LOOP_CALLS },
		{ "server_sockets", FASTRPC_A_STATS_SERVER_SOCKETS },
	};
	struct one o;
	unsigned int i;
	long long before;
	int fd;

	fd = fastrpc_client_open("127.0.0.1", self->srv.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	before = proc_counter("calls_started");
	for (i = 0; i < 5; i++)
		ASSERT_EQ(0, echo_call(fd));
	/* nothing else runs: /proc and netlink read the same numbers */
	ASSERT_EQ(0, nl_cmd(&self->n, FASTRPC_CMD_STATS_GET, false, keep_one, &o));
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		ASSERT_NE(NULL, o.tb[m[i].attr]) TH_LOG("no %s", m[i].name);
		EXPECT_EQ(proc_counter(m[i].name), (long long)nla_u64(o.tb[m[i].attr]))
			TH_LOG("%s", m[i].name);
	}
	EXPECT_EQ(before + 5, (long long)nla_u64(o.tb[FASTRPC_A_STATS_CALLS_STARTED]));
	EXPECT_LE(1, nla_u64(o.tb[FASTRPC_A_STATS_SERVER_SOCKETS]));
	close(fd);
}

TEST_F(nl, sock_and_conn_dumps)
{
	struct fastrpc_sock_info si;
	struct fastrpc_features f;
	struct one *srv, *cli, *cc, *sc = NULL;
	uint64_t srv_id;
	int fd, i;

	fd = fastrpc_client_open("127.0.0.1", self->srv.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, echo_call(fd));
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	ASSERT_NE(0, si.conn_id);

	ASSERT_EQ(0, dump(&self->n, FASTRPC_CMD_SOCK_GET, &self->rows));
	srv = row_by_u64(&self->rows, FASTRPC_A_SOCK_INODE, ino_of(self->srv.fd));
	ASSERT_NE(NULL, srv) TH_LOG("server socket not in the dump");
	EXPECT_EQ(FASTRPC_ROLE_SERVER, nla_u32(srv->tb[FASTRPC_A_SOCK_ROLE]));
	EXPECT_EQ(self->srv.port, addr_port(srv->tb[FASTRPC_A_SOCK_LOCAL]));
	ASSERT_NE(NULL, srv->tb[FASTRPC_A_SOCK_CONNS]);
	EXPECT_LE(1, nla_u32(srv->tb[FASTRPC_A_SOCK_CONNS]));
	EXPECT_EQ(0, nla_u32(srv->tb[FASTRPC_A_SOCK_UID]));
	srv_id = nla_u64(srv->tb[FASTRPC_A_SOCK_ID]);
	cli = row_by_u64(&self->rows, FASTRPC_A_SOCK_INODE, ino_of(fd));
	ASSERT_NE(NULL, cli) TH_LOG("client socket not in the dump");
	EXPECT_EQ(FASTRPC_ROLE_CLIENT, nla_u32(cli->tb[FASTRPC_A_SOCK_ROLE]));
	EXPECT_EQ(self->srv.port, addr_port(cli->tb[FASTRPC_A_SOCK_PEER]));
	ASSERT_NE(NULL, cli->tb[FASTRPC_A_SOCK_CONN_ID]);
	EXPECT_EQ(si.conn_id, nla_u64(cli->tb[FASTRPC_A_SOCK_CONN_ID]));
	EXPECT_EQ(0, nla_u32(cli->tb[FASTRPC_A_SOCK_CALLS]));
	ASSERT_EQ(0, fastrpc_get_features(fd, &f));
	EXPECT_EQ(f.default_calls, nla_u32(cli->tb[FASTRPC_A_SOCK_MAX_CALLS]));
	EXPECT_EQ(NULL, cli->tb[FASTRPC_A_SOCK_RING]);

	ASSERT_EQ(0, dump(&self->n, FASTRPC_CMD_CONN_GET, &self->rows));
	cc = row_by_u64(&self->rows, FASTRPC_A_CONN_ID, si.conn_id);
	ASSERT_NE(NULL, cc) TH_LOG("client connection not in the dump");
	EXPECT_EQ(NULL, cc->tb[FASTRPC_A_CONN_SERVER]);
	EXPECT_EQ(FASTRPC_CONN_READY, nla_u32(cc->tb[FASTRPC_A_CONN_STATE]));
	EXPECT_EQ(loop_on() ? FASTRPC_PATH_LOOP : FASTRPC_PATH_TCP,
		  nla_u32(cc->tb[FASTRPC_A_CONN_PATH]));
	EXPECT_EQ(self->srv.port, addr_port(cc->tb[FASTRPC_A_CONN_PEER]));
	EXPECT_EQ(1, nla_u32(cc->tb[FASTRPC_A_CONN_USERS]));
	EXPECT_EQ(0, nla_u32(cc->tb[FASTRPC_A_CONN_CALLS]));
	EXPECT_LE(1, nla_u32(cc->tb[FASTRPC_A_CONN_VERSION]));
	/* HELLO and three calls went out, HELLO and three results came back */
	EXPECT_LE(4, nla_u64(cc->tb[FASTRPC_A_CONN_TX_FRAMES]));
	EXPECT_LE(4, nla_u64(cc->tb[FASTRPC_A_CONN_RX_FRAMES]));
	EXPECT_LE(4 * 12 + 3 * 4, nla_u64(cc->tb[FASTRPC_A_CONN_TX_BYTES]));
	EXPECT_LE(4 * 12 + 3 * 4, nla_u64(cc->tb[FASTRPC_A_CONN_RX_BYTES]));
	EXPECT_LT(0, nla_u32(cc->tb[FASTRPC_A_CONN_TX_CREDIT]));
	EXPECT_LT(0, nla_u32(cc->tb[FASTRPC_A_CONN_RX_WINDOW]));
	/* the server's end: ours is the only connection to its socket */
	for (i = 0; i < self->rows.n; i++) {
		struct one *r = &self->rows.r[i];

		if (r->tb[FASTRPC_A_CONN_SERVER] && r->tb[FASTRPC_A_CONN_SOCK_ID] &&
		    nla_u64(r->tb[FASTRPC_A_CONN_SOCK_ID]) == srv_id)
			sc = r;
	}
	ASSERT_NE(NULL, sc) TH_LOG("server connection not in the dump");
	EXPECT_EQ(FASTRPC_CONN_READY, nla_u32(sc->tb[FASTRPC_A_CONN_STATE]));
	EXPECT_EQ(nla_u64(cc->tb[FASTRPC_A_CONN_TX_FRAMES]),
		  nla_u64(sc->tb[FASTRPC_A_CONN_RX_FRAMES]));
	EXPECT_EQ(nla_u64(cc->tb[FASTRPC_A_CONN_TX_BYTES]),
		  nla_u64(sc->tb[FASTRPC_A_CONN_RX_BYTES]));
	close(fd);
}

#define MANY 400

struct churn {
	atomic_int stop;
	atomic_int opened;
};

static void *churn_thread(void *p)
{
	struct churn *c = p;

	while (!atomic_load(&c->stop)) {
		int fd = fastrpc_socket(SOCK_CLOEXEC);

		if (fd >= 0) {
			atomic_fetch_add(&c->opened, 1);
			close(fd);
		}
	}
	return NULL;
}

/*
 * A dump bigger than one message part, while another thread opens and
 * closes sockets: every socket there all along is in it once, and the
 * ids rise strictly (none twice, none out of order).
 */
TEST_F(nl, dump_resumes_while_sockets_churn)
{
	int fds[MANY], i, j, found = 0, round;
	struct churn c = { 0 };
	pthread_t thr;

	for (i = 0; i < MANY; i++) {
		fds[i] = fastrpc_socket(SOCK_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	ASSERT_EQ(0, pthread_create(&thr, NULL, churn_thread, &c));
	for (round = 0; round < 3; round++) {
		ASSERT_EQ(0, dump(&self->n, FASTRPC_CMD_SOCK_GET, &self->rows));
		for (j = 1; j < self->rows.n; j++)
			ASSERT_LT(nla_u64(self->rows.r[j - 1].tb[FASTRPC_A_SOCK_ID]),
				  nla_u64(self->rows.r[j].tb[FASTRPC_A_SOCK_ID]));
		found = 0;
		for (i = 0; i < MANY; i++)
			found += !!row_by_u64(&self->rows, FASTRPC_A_SOCK_INODE,
					      ino_of(fds[i]));
		EXPECT_EQ(MANY, found);
	}
	atomic_store(&c.stop, 1);
	pthread_join(thr, NULL);
	TH_LOG("%d sockets in the last dump; %d opened and closed meanwhile",
	       self->rows.n, atomic_load(&c.opened));
	for (i = 0; i < MANY; i++)
		close(fds[i]);
}

struct accept_churn {
	atomic_int stop;
	atomic_int accepted;
	uint16_t port;
};

/* Plain TCP peers connect and go: each is a new server connection. */
static void *accept_churn_thread(void *p)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct accept_churn *c = p;

	sin.sin_port = htons(c->port);
	while (!atomic_load(&c->stop)) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			break;
		if (!connect(fd, (struct sockaddr *)&sin, sizeof(sin)))
			atomic_fetch_add(&c->accepted, 1);
		close(fd);
	}
	return NULL;
}

/*
 * Connections dumped while peers connect: a server connection is in a
 * dump only whole, with its peer's address and its socket (it joined the
 * dump's list before either was set, and a dump could show it without).
 */
TEST_F(nl, dump_shows_new_connections_whole)
{
	struct accept_churn c = { .port = self->srv.port };
	int round, j, rows = 0, bare = 0;
	pthread_t thr;

	ASSERT_EQ(0, pthread_create(&thr, NULL, accept_churn_thread, &c));
	for (round = 0; round < 400 || atomic_load(&c.accepted) < 200; round++) {
		if (round == 20000)
			break;
		ASSERT_EQ(0, dump(&self->n, FASTRPC_CMD_CONN_GET, &self->rows));
		for (j = 0; j < self->rows.n; j++) {
			struct one *r = &self->rows.r[j];

			if (!r->tb[FASTRPC_A_CONN_SERVER])
				continue;
			rows++;
			bare += !addr_port(r->tb[FASTRPC_A_CONN_PEER]) ||
				!r->tb[FASTRPC_A_CONN_SOCK_ID];
		}
	}
	atomic_store(&c.stop, 1);
	pthread_join(thr, NULL);
	TH_LOG("%d dumps, %d server connections seen, %d peers connected",
	       round, rows, atomic_load(&c.accepted));
	EXPECT_LE(200, atomic_load(&c.accepted));
	EXPECT_LT(0, rows);
	EXPECT_EQ(0, bare) TH_LOG("%d server connections without a peer or socket", bare);
}

struct limits {
	uint32_t v[FASTRPC_A_LIMITS_MAX + 1];
	bool has[FASTRPC_A_LIMITS_MAX + 1];
};

static int get_limits(struct nl *n, struct limits *l)
{
	struct one o;
	int ret = nl_cmd(n, FASTRPC_CMD_LIMITS_GET, false, keep_one, &o);
	int a;

	memset(l, 0, sizeof(*l));
	for (a = 1; !ret && a <= FASTRPC_A_LIMITS_MAX; a++) {
		if (!o.tb[a])
			continue;
		l->has[a] = true;
		l->v[a] = a == FASTRPC_A_LIMITS_LOOPBACK ?
			*(uint8_t *)nla_data_(o.tb[a]) : nla_u32(o.tb[a]);
	}
	return ret;
}

static int set_limit(struct nl *n, uint16_t attr, const void *v, uint16_t len)
{
	struct nlbuf m;

	nb_init(&m, n->family, NLM_F_ACK, FASTRPC_CMD_LIMITS_SET);
	if (len)
		nb_put(&m, attr, v, len);
	return nl_talk(n, &m, NULL, NULL);
}

/*
 * Limits, in a namespace of their own (a child process): each one the
 * module parameter's until set; set, they hold there and only there, and
 * a new connection obeys them; reset, the parameter's again.
 */
static int limits_child(void)
{
	struct echo_srv srv;
	struct limits l;
	struct nl n;
	uint32_t ka = 4321, calls = 7, mask, max = 0, mem;
	uint8_t off = 0;
	struct rows rs = { 0 };
	struct fastrpc_sock_info si;
	int fd, bad = 0, ret;

#define CHILD_CHECK(cond, ...) do { if (!(cond)) { \
		fprintf(stderr, "# limits: " __VA_ARGS__); fprintf(stderr, "\n"); bad++; } } while (0)

	if (unshare(CLONE_NEWNET) || system("ip link set lo up"))
		return 100;
	ret = nl_open(&n);
	if (ret)
		return 101;
	CHILD_CHECK(!get_limits(&n, &l), "get");
	CHILD_CHECK(l.has[FASTRPC_A_LIMITS_OWN] && !l.v[FASTRPC_A_LIMITS_OWN],
		    "own %u in a fresh namespace", l.v[FASTRPC_A_LIMITS_OWN]);
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_KEEPALIVE_MS] ==
		    (uint32_t)frpc_param_long("keepalive_ms"), "keepalive %u",
		    l.v[FASTRPC_A_LIMITS_KEEPALIVE_MS]);
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_CONN_RX_MEM] ==
		    (uint32_t)frpc_param_long("conn_rx_mem"), "conn_rx_mem");
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_LOOPBACK] == (loop_on() ? 1 : 0), "loopback");
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_DEFAULT_CALLS] ==
		    (uint32_t)frpc_param_long("default_calls"), "default_calls");

	CHILD_CHECK(!set_limit(&n, FASTRPC_A_LIMITS_KEEPALIVE_MS, &ka, 4), "set keepalive: %s", n.ext);
	CHILD_CHECK(!set_limit(&n, FASTRPC_A_LIMITS_LOOPBACK, &off, 1), "set loopback: %s", n.ext);
	CHILD_CHECK(!set_limit(&n, FASTRPC_A_LIMITS_DEFAULT_CALLS, &calls, 4),
		    "set default_calls: %s", n.ext);
	CHILD_CHECK(!get_limits(&n, &l), "get");
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_KEEPALIVE_MS] == ka, "keepalive now %u",
		    l.v[FASTRPC_A_LIMITS_KEEPALIVE_MS]);
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_LOOPBACK] == 0, "loopback now %u",
		    l.v[FASTRPC_A_LIMITS_LOOPBACK]);
	mask = (1u << FASTRPC_A_LIMITS_KEEPALIVE_MS) | (1u << FASTRPC_A_LIMITS_LOOPBACK) |
	       (1u << FASTRPC_A_LIMITS_DEFAULT_CALLS);
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_OWN] == mask, "own %#x", l.v[FASTRPC_A_LIMITS_OWN]);
	/* the module parameter is not the namespace's */
	CHILD_CHECK(frpc_param_long("keepalive_ms") != (long)ka, "parameter changed");

	/* the host's caps: lowered, yes; raised above the parameter, no */
	mem = (uint32_t)frpc_param_long("conn_rx_mem") + (1u << 20);
	CHILD_CHECK(set_limit(&n, FASTRPC_A_LIMITS_CONN_RX_MEM, &mem, 4) == -ERANGE,
		    "conn_rx_mem above the parameter taken");
	CHILD_CHECK(strstr(n.ext, "module parameter"), "extack: %s", n.ext);
	mem = 2u << 20;
	CHILD_CHECK(!set_limit(&n, FASTRPC_A_LIMITS_CONN_RX_MEM, &mem, 4),
		    "conn_rx_mem lowered: %s", n.ext);
	CHILD_CHECK(!get_limits(&n, &l) && l.v[FASTRPC_A_LIMITS_CONN_RX_MEM] == mem,
		    "conn_rx_mem now %u", l.v[FASTRPC_A_LIMITS_CONN_RX_MEM]);
	mask |= 1u << FASTRPC_A_LIMITS_CONN_RX_MEM;

	/* in force: a new connection here takes TCP, not the short cut */
	CHILD_CHECK(!echo_srv_start(&srv, AF_INET, 7990, 1), "server");
	fd = fastrpc_client_open("127.0.0.1", srv.port, SOCK_CLOEXEC);
	CHILD_CHECK(fd >= 0, "client");
	/* a new socket takes the namespace's default_calls */
	CHILD_CHECK(!fastrpc_get_max_calls(fd, &max) && max == calls,
		    "new socket's max calls %u", max);
	CHILD_CHECK(!echo_call(fd), "call");
	CHILD_CHECK(!fastrpc_get_sock_info(fd, &si), "info");
	rs.r = NULL;
	CHILD_CHECK(!dump(&n, FASTRPC_CMD_CONN_GET, &rs), "dump");
	CHILD_CHECK(row_by_u64(&rs, FASTRPC_A_CONN_ID, si.conn_id) &&
		    nla_u32(row_by_u64(&rs, FASTRPC_A_CONN_ID, si.conn_id)->tb[FASTRPC_A_CONN_PATH]) ==
		    FASTRPC_PATH_TCP, "connection not on TCP with loopback 0");
	close(fd);
	echo_srv_stop(&srv);
	free(rs.r);

	/* reset: the parameters again */
	CHILD_CHECK(!set_limit(&n, FASTRPC_A_LIMITS_RESET, &mask, 4), "reset: %s", n.ext);
	CHILD_CHECK(!get_limits(&n, &l), "get");
	CHILD_CHECK(!l.v[FASTRPC_A_LIMITS_OWN], "own %#x after reset", l.v[FASTRPC_A_LIMITS_OWN]);
	CHILD_CHECK(l.v[FASTRPC_A_LIMITS_KEEPALIVE_MS] ==
		    (uint32_t)frpc_param_long("keepalive_ms"), "keepalive after reset");
	nl_close(&n);
	return bad;
}

TEST_F(nl, limits_per_namespace)
{
	struct limits l0, l1;
	int status;
	pid_t pid;

	ASSERT_EQ(0, get_limits(&self->n, &l0));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(limits_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	/* nothing leaked into this namespace */
	ASSERT_EQ(0, get_limits(&self->n, &l1));
	EXPECT_EQ(0, memcmp(&l0, &l1, sizeof(l0)));
}

TEST_F(nl, limits_refused)
{
	uint32_t v;
	uint16_t short_v = 5;
	struct limits l0, l1;
	struct nlbuf m;

	ASSERT_EQ(0, get_limits(&self->n, &l0));
	v = 10;		/* keepalive below 100 ms */
	EXPECT_EQ(-ERANGE, set_limit(&self->n, FASTRPC_A_LIMITS_KEEPALIVE_MS, &v, 4));
	EXPECT_NE(0, self->n.ext[0]) TH_LOG("no extack message for a range");
	TH_LOG("out of range: %s", self->n.ext);
	v = 0;
	EXPECT_EQ(-ERANGE, set_limit(&self->n, FASTRPC_A_LIMITS_SERVER_MAX_CONNS, &v, 4));
	v = 2;
	EXPECT_EQ(-ERANGE, set_limit(&self->n, FASTRPC_A_LIMITS_LOOPBACK, &v, 1));
	/* a u16 where a u32 belongs */
	EXPECT_EQ(-EINVAL, set_limit(&self->n, FASTRPC_A_LIMITS_IDLE_MS, &short_v, 2));
	EXPECT_NE(0, self->n.ext[0]) TH_LOG("no extack message for a bad length");
	/* an attribute the family does not know */
	v = 1;
	EXPECT_EQ(-EINVAL, set_limit(&self->n, FASTRPC_A_LIMITS_MAX + 5, &v, 4));
	/* OWN is what GET says, not something to set */
	EXPECT_EQ(-EINVAL, set_limit(&self->n, FASTRPC_A_LIMITS_OWN, &v, 4));
	/* nothing at all */
	EXPECT_EQ(-EINVAL, set_limit(&self->n, 0, NULL, 0));
	EXPECT_NE(0, self->n.ext[0]);
	TH_LOG("empty: %s", self->n.ext);
	/* both set and reset */
	nb_init(&m, self->n.family, NLM_F_ACK, FASTRPC_CMD_LIMITS_SET);
	nb_u32(&m, FASTRPC_A_LIMITS_IDLE_MS, 5000);
	nb_u32(&m, FASTRPC_A_LIMITS_RESET, 1u << FASTRPC_A_LIMITS_IDLE_MS);
	EXPECT_EQ(-EINVAL, nl_talk(&self->n, &m, NULL, NULL));
	TH_LOG("set and reset: %s", self->n.ext);
	/* a reset bit past the limits */
	v = 1u << 30;
	EXPECT_EQ(-EINVAL, set_limit(&self->n, FASTRPC_A_LIMITS_RESET, &v, 4));
	/* attributes on requests that take none, a dump too */
	nb_init(&m, self->n.family, NLM_F_ACK, FASTRPC_CMD_INFO_GET);
	nb_u32(&m, 1, 1);
	EXPECT_EQ(-EINVAL, nl_talk(&self->n, &m, NULL, NULL));
	nb_init(&m, self->n.family, NLM_F_ACK, FASTRPC_CMD_STATS_GET);
	nb_u32(&m, 7, 1);
	EXPECT_EQ(-EINVAL, nl_talk(&self->n, &m, NULL, NULL));
	nb_init(&m, self->n.family, NLM_F_DUMP, FASTRPC_CMD_CONN_GET);
	nb_u32(&m, 2, 1);
	EXPECT_EQ(-EINVAL, nl_talk(&self->n, &m, NULL, NULL));
	/* a command that does not exist */
	nb_init(&m, self->n.family, NLM_F_ACK, FASTRPC_CMD_MAX + 1);
	EXPECT_EQ(-EOPNOTSUPP, nl_talk(&self->n, &m, NULL, NULL));
	/* none of it changed anything */
	ASSERT_EQ(0, get_limits(&self->n, &l1));
	EXPECT_EQ(0, memcmp(&l0, &l1, sizeof(l0)));
}

/* Without CAP_NET_ADMIN: reading works, setting is refused. */
TEST_F(nl, set_needs_cap_net_admin)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
		struct __user_cap_data_struct d[2];
		struct limits l;
		uint32_t v = 5000;
		struct nl n;
		int ret;

		if (syscall(SYS_capget, &h, d))
			_exit(100);
		d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
		d[CAP_NET_ADMIN / 32].permitted &= ~(1u << (CAP_NET_ADMIN % 32));
		if (syscall(SYS_capset, &h, d))
			_exit(101);
		if (nl_open(&n))
			_exit(102);
		if (get_limits(&n, &l))
			_exit(103);
		ret = set_limit(&n, FASTRPC_A_LIMITS_IDLE_MS, &v, 4);
		_exit(ret == -EPERM ? 0 : 104);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* --- events ------------------------------------------------------------ */

struct evs {
	int n;
	struct one e[64];
};

/* Read events for up to @ms, or until @want of @cmd came. */
static int read_events(struct nl *n, struct evs *ev, uint8_t cmd, int want, int ms)
{
	static char buf[65536];
	uint64_t end = now_ms() + ms;
	int got = 0;

	while (got < want && now_ms() < end) {
		struct nlattr *tb[TB_MAX];
		struct nlmsghdr *h;
		ssize_t len;

		if (wait_events(n->fd, POLLIN, (int)(end - now_ms())) <= 0)
			break;
		len = recv(n->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len < 0)
			continue;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
		     h = NLMSG_NEXT(h, len)) {
			struct genlmsghdr *g = NLMSG_DATA(h);

			if (h->nlmsg_type != n->family || ev->n == 64)
				continue;
			nl_parse(tb, TB_MAX, (char *)g + GENL_HDRLEN,
				 h->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN);
			keep_one(&ev->e[ev->n++], g->cmd, tb);
			got += g->cmd == cmd;
		}
	}
	return got;
}

static struct one *event(struct evs *ev, uint8_t cmd, uint64_t conn_id)
{
	int i;

	for (i = 0; i < ev->n; i++)
		if (ev->e[i].cmd == cmd && ev->e[i].tb[FASTRPC_A_CONN_ID] &&
		    (!conn_id || nla_u64(ev->e[i].tb[FASTRPC_A_CONN_ID]) == conn_id))
			return &ev->e[i];
	return NULL;
}

TEST_F(nl, events)
{
	struct fastrpc_sock_info si;
	uint32_t grp = self->n.events;
	struct echo_srv srv2;
	struct evs *ev = calloc(1, sizeof(*ev));
	struct one *up, *e;
	int fd;

	ASSERT_NE(NULL, ev);
	ASSERT_NE(0, grp) TH_LOG("no \"%s\" group", FASTRPC_GENL_MCGRP_EVENTS);
	ASSERT_EQ(0, setsockopt(self->n.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				&grp, sizeof(grp)));
	ASSERT_EQ(0, echo_srv_start(&srv2, AF_INET, 7980, 1));
	fd = fastrpc_client_open("127.0.0.1", srv2.port, SOCK_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, echo_call(fd));
	ASSERT_EQ(0, fastrpc_get_sock_info(fd, &si));
	/* up: the client's end and the server's */
	EXPECT_LE(2, read_events(&self->n, ev, FASTRPC_CMD_CONN_UP_NTF, 2, WAIT_MS));
	up = event(ev, FASTRPC_CMD_CONN_UP_NTF, si.conn_id);
	ASSERT_NE(NULL, up) TH_LOG("no up event for connection %llu",
				   (unsigned long long)si.conn_id);
	EXPECT_EQ(NULL, up->tb[FASTRPC_A_CONN_SERVER]);
	EXPECT_EQ(srv2.port, addr_port(up->tb[FASTRPC_A_CONN_PEER]));

	/* the server goes: GOAWAY from it, then both ends down */
	echo_srv_stop(&srv2);
	read_events(&self->n, ev, FASTRPC_CMD_CONN_DOWN_NTF, 2, WAIT_MS);
	e = event(ev, FASTRPC_CMD_GOAWAY_NTF, si.conn_id);
	ASSERT_NE(NULL, e) TH_LOG("the client end saw no GOAWAY event");
	EXPECT_EQ(NULL, e->tb[FASTRPC_A_CONN_GOAWAY_SENT]);
	ASSERT_NE(NULL, e->tb[FASTRPC_A_CONN_WERR]);
	EXPECT_EQ(FASTRPC_WERR_NONE, nla_u32(e->tb[FASTRPC_A_CONN_WERR]));
	e = event(ev, FASTRPC_CMD_CONN_DOWN_NTF, si.conn_id);
	ASSERT_NE(NULL, e) TH_LOG("no down event for the client end");
	ASSERT_NE(NULL, e->tb[FASTRPC_A_CONN_ERRNO]);
	EXPECT_LT(0, (int)nla_u32(e->tb[FASTRPC_A_CONN_ERRNO]));
	/* the server's end said it sent the GOAWAY */
	for (e = NULL; ev->n; ev->n--) {
		struct one *o = &ev->e[ev->n - 1];

		if (o->cmd == FASTRPC_CMD_GOAWAY_NTF && o->tb[FASTRPC_A_CONN_SERVER])
			e = o;
	}
	ASSERT_NE(NULL, e) TH_LOG("the server end sent no GOAWAY event");
	EXPECT_NE(NULL, e->tb[FASTRPC_A_CONN_GOAWAY_SENT]);
	close(fd);
	free(ev);
}

/*
 * A peer over plain TCP whose first frame is garbage: the server's end
 * sends ERROR PROTOCOL and says so, then goes down.
 */
TEST_F(nl, proto_error_event)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_port = htons(self->srv.port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	uint32_t grp = self->n.events;
	struct evs *ev = calloc(1, sizeof(*ev));
	uint8_t junk[FASTRPC_FRAME_HDR_LEN];
	struct one *e = NULL;
	int fd, i;

	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, setsockopt(self->n.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				&grp, sizeof(grp)));
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, connect(fd, (struct sockaddr *)&sin, sizeof(sin)));
	/* frame type 0 exists in no version */
	frpc_put_hdr(junk, FASTRPC_PROTO_V1, 0, 0, 0, 0);
	ASSERT_EQ(0, frpc_send_all(fd, junk, sizeof(junk)));
	EXPECT_LE(1, read_events(&self->n, ev, FASTRPC_CMD_PROTO_ERROR_NTF, 1, WAIT_MS));
	for (i = 0; i < ev->n; i++)
		if (ev->e[i].cmd == FASTRPC_CMD_PROTO_ERROR_NTF)
			e = &ev->e[i];
	ASSERT_NE(NULL, e);
	EXPECT_NE(NULL, e->tb[FASTRPC_A_CONN_SERVER]);
	EXPECT_NE(NULL, e->tb[FASTRPC_A_CONN_GOAWAY_SENT]);
	ASSERT_NE(NULL, e->tb[FASTRPC_A_CONN_WERR]);
	EXPECT_EQ(FASTRPC_WERR_PROTOCOL, nla_u32(e->tb[FASTRPC_A_CONN_WERR]));
	EXPECT_EQ(FASTRPC_PATH_TCP, nla_u32(e->tb[FASTRPC_A_CONN_PATH]));
	close(fd);
	free(ev);
}

/*
 * A burst of admission refusals: the first told at once, the rest counted
 * and told when the second is up, so the counts add up to the refusals
 * even though no refusal follows the burst.
 */
TEST_F(nl, reject_event)
{
	uint32_t grp = self->n.events, status;
	struct evs *ev = calloc(1, sizeof(*ev));
	uint16_t port = test_port(BASE_PORT + 100, _metadata->name);
	int sfd, cfd, i, seen = 0, nev = 0, rejected = 0;
	uint32_t told = 0, first = 0;
	uint64_t end;
	char buf[16];
	struct one *e;
	uint64_t tag;

	ASSERT_NE(NULL, ev);
	ASSERT_EQ(0, setsockopt(self->n.fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP,
				&grp, sizeof(grp)));
	sfd = open_server(AF_INET, &port);
	ASSERT_LE(0, sfd);
	ASSERT_EQ(0, fastrpc_set_max_calls(sfd, 1));
	cfd = fastrpc_client_open("127.0.0.1", port, SOCK_CLOEXEC);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, set_rcvtimeo(cfd, WAIT_MS));
	/* the server never reads: the first call holds its one slot */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(4, fastrpc_send_call(cfd, i + 1, M_HOLD, "hold", 4, 0));
	for (i = 0; i < 3; i++) {
		ASSERT_LE(0, fastrpc_recv_result(cfd, &tag, &status, buf, sizeof(buf), 0));
		rejected += status == FASTRPC_RESOURCE_EXHAUSTED;
	}
	EXPECT_EQ(3, rejected);
	end = now_ms() + WAIT_MS;
	while (told < (uint32_t)rejected && now_ms() < end) {
		read_events(&self->n, ev, FASTRPC_CMD_REJECT_NTF, 1, (int)(end - now_ms()));
		for (; seen < ev->n; seen++) {
			e = &ev->e[seen];
			if (e->cmd != FASTRPC_CMD_REJECT_NTF)
				continue;
			ASSERT_NE(NULL, e->tb[FASTRPC_A_SOCK_INODE]);
			if (nla_u64(e->tb[FASTRPC_A_SOCK_INODE]) != ino_of(sfd))
				continue;
			EXPECT_EQ(port, addr_port(e->tb[FASTRPC_A_SOCK_LOCAL]));
			ASSERT_NE(NULL, e->tb[FASTRPC_A_SOCK_REJECTS]);
			if (!nev++)
				first = nla_u32(e->tb[FASTRPC_A_SOCK_REJECTS]);
			told += nla_u32(e->tb[FASTRPC_A_SOCK_REJECTS]);
		}
	}
	TH_LOG("%d refusals told in %d events, the first with %u", rejected, nev, first);
	/* the first refusal goes out at once, the rest when the second is up */
	EXPECT_LE(1, nev);
	EXPECT_EQ(1, first);
	EXPECT_EQ((uint32_t)rejected, told);
	/* and nothing more: the burst is told once */
	read_events(&self->n, ev, FASTRPC_CMD_REJECT_NTF, 1, 1500);
	for (; seen < ev->n; seen++)
		if (ev->e[seen].cmd == FASTRPC_CMD_REJECT_NTF &&
		    nla_u64(ev->e[seen].tb[FASTRPC_A_SOCK_INODE]) == ino_of(sfd))
			told += nla_u32(ev->e[seen].tb[FASTRPC_A_SOCK_REJECTS]);
	EXPECT_EQ((uint32_t)rejected, told);
	close(cfd);
	close(sfd);
	free(ev);
}

TEST_HARNESS_MAIN
