// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fastrpcctl: the command line of the "fastrpc" generic netlink family
 * (uapi/linux/fastrpc.h, Documentation/netlink/specs/fastrpc.yaml), in
 * the style of ss and ip.
 *
 *   fastrpcctl [-j] [-p] [-n NETNS] show | conn [FILTER] | sock [FILTER] |
 *              stats [--prometheus] | limits | set KEY VALUE... |
 *              reset KEY...|all | monitor [-c COUNT]
 *
 * FILTER: "port N" and "peer ADDR", either or both.  -j prints JSON whose
 * keys are the spec's attribute names; -p indents it.  See fastrpcctl(8).
 *
 * Every attribute set has one table below (name, type, enum names) from
 * which both the parse policy and the JSON output come, so a name is
 * written once.  Exit status: 0, 1 on an error, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <linux/fastrpc.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *prog = "fastrpcctl";

enum ctl_exit {
	CTL_OK		= 0,
	CTL_ERR		= 1,
	CTL_USAGE	= 2,
};

/* --- JSON output ------------------------------------------------------ */

/*
 * A streaming writer: keys and values as they come, commas and (with -p)
 * indentation worked out from the nesting.  Strings are escaped per
 * RFC 8259; numbers are written as integers.
 */
#define JSON_DEPTH 8

struct json {
	FILE *f;
	bool pretty;
	int depth;
	bool first[JSON_DEPTH];
};

static struct json jout;

static void json_indent(struct json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void json_string_body(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	for (; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator and key before a value; @key NULL inside an array. */
static void json_key(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (!j->first[j->depth])
			fputc(',', j->f);
		j->first[j->depth] = false;
		json_indent(j);
	}
	if (key) {
		json_string_body(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void json_open(struct json *j, const char *key, char c)
{
	json_key(j, key);
	fputc(c, j->f);
	if (j->depth + 1 < JSON_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json *j, char c)
{
	bool empty = j->first[j->depth];

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		json_indent(j);
	fputc(c, j->f);
	if (j->depth == 0)
		fputc('\n', j->f);
}

static void json_obj(struct json *j, const char *key)
{
	json_open(j, key, '{');
}

static void json_obj_end(struct json *j)
{
	json_close(j, '}');
}

static void json_arr(struct json *j, const char *key)
{
	json_open(j, key, '[');
}

static void json_arr_end(struct json *j)
{
	json_close(j, ']');
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

static void json_str(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string_body(j->f, s);
}

static void json_bool(struct json *j, const char *key, bool b)
{
	json_key(j, key);
	fputs(b ? "true" : "false", j->f);
}

/* --- attribute tables --------------------------------------------------- */

enum attr_type {
	AT_NONE,	/* unused slot or pad: never printed */
	AT_U8,
	AT_U16,
	AT_U32,
	AT_U64,
	AT_STRING,
	AT_FLAG,
	AT_ADDR,	/* nest of FASTRPC_A_ADDR_* */
	AT_ENUM,	/* u32, named by @names */
};

struct attr_desc {
	const char *name;		/* the spec's attribute name */
	enum attr_type type;
	const char *const *names;	/* AT_ENUM */
	unsigned int nnames;
};

#define ENUM_DESC(n, tab) { n, AT_ENUM, tab, ARRAY_SIZE(tab) }

static const char *const role_names[] = {
	[FASTRPC_ROLE_NONE]	= "none",
	[FASTRPC_ROLE_CLIENT]	= "client",
	[FASTRPC_ROLE_BOUND]	= "bound",
	[FASTRPC_ROLE_SERVER]	= "server",
};

static const char *const state_names[] = {
	[FASTRPC_CONN_CONNECTING] = "connecting",
	[FASTRPC_CONN_HELLO]	= "hello",
	[FASTRPC_CONN_READY]	= "ready",
	[FASTRPC_CONN_DRAINING]	= "draining",
	[FASTRPC_CONN_DEAD]	= "dead",
};

static const char *const path_names[] = {
	[FASTRPC_PATH_NONE]	= "none",
	[FASTRPC_PATH_TCP]	= "tcp",
	[FASTRPC_PATH_LOOP]	= "loop",
};

static const char *const werr_names[] = {
	[FASTRPC_WERR_NONE]	= "none",
	[FASTRPC_WERR_PROTOCOL]	= "protocol",
	[FASTRPC_WERR_VERSION]	= "version",
	[FASTRPC_WERR_FRAME_SIZE] = "frame-size",
	[FASTRPC_WERR_CALL_ID]	= "call-id",
	[FASTRPC_WERR_RESOURCE]	= "resource",
	[FASTRPC_WERR_FLOW]	= "flow",
	[FASTRPC_WERR_IDLE]	= "idle",
};

static const struct attr_desc info_attrs[FASTRPC_A_INFO_MAX + 1] = {
	[FASTRPC_A_INFO_VERSION]	= { "version", AT_STRING },
	[FASTRPC_A_INFO_FAMILY]		= { "family", AT_U32 },
	[FASTRPC_A_INFO_PROTO_MIN]	= { "proto-min", AT_U32 },
	[FASTRPC_A_INFO_PROTO_MAX]	= { "proto-max", AT_U32 },
	[FASTRPC_A_INFO_FEATURES]	= { "features", AT_U64 },
	[FASTRPC_A_INFO_MAX_MSG]	= { "max-msg", AT_U32 },
	[FASTRPC_A_INFO_MAX_CALLS]	= { "max-calls", AT_U32 },
	[FASTRPC_A_INFO_DEFAULT_CALLS]	= { "default-calls", AT_U32 },
};

static const struct attr_desc addr_attrs[FASTRPC_A_ADDR_MAX + 1] = {
	[FASTRPC_A_ADDR_FAMILY]		= { "family", AT_U16 },
	[FASTRPC_A_ADDR_PORT]		= { "port", AT_U16 },
	[FASTRPC_A_ADDR_IP]		= { "ip", AT_NONE },	/* by hand */
	[FASTRPC_A_ADDR_SCOPE_ID]	= { "scope-id", AT_U32 },
};

static const struct attr_desc sock_attrs[FASTRPC_A_SOCK_MAX + 1] = {
	[FASTRPC_A_SOCK_ID]		= { "id", AT_U64 },
	[FASTRPC_A_SOCK_INODE]		= { "inode", AT_U64 },
	[FASTRPC_A_SOCK_UID]		= { "uid", AT_U32 },
	[FASTRPC_A_SOCK_ROLE]		= ENUM_DESC("role", role_names),
	[FASTRPC_A_SOCK_LOCAL]		= { "local", AT_ADDR },
	[FASTRPC_A_SOCK_PEER]		= { "peer", AT_ADDR },
	[FASTRPC_A_SOCK_CALLS]		= { "calls", AT_U32 },
	[FASTRPC_A_SOCK_MAX_CALLS]	= { "max-calls", AT_U32 },
	[FASTRPC_A_SOCK_RX_QUEUED]	= { "rx-queued", AT_U32 },
	[FASTRPC_A_SOCK_RX_BYTES]	= { "rx-bytes", AT_U32 },
	[FASTRPC_A_SOCK_TX_QUEUED]	= { "tx-queued", AT_U32 },
	[FASTRPC_A_SOCK_RCVBUF]		= { "rcvbuf", AT_U32 },
	[FASTRPC_A_SOCK_SNDBUF]		= { "sndbuf", AT_U32 },
	[FASTRPC_A_SOCK_CONN_ID]	= { "conn-id", AT_U64 },
	[FASTRPC_A_SOCK_CONNS]		= { "conns", AT_U32 },
	[FASTRPC_A_SOCK_RING]		= { "ring", AT_FLAG },
	[FASTRPC_A_SOCK_REJECTS]	= { "rejects", AT_U32 },
};

static const struct attr_desc conn_attrs[FASTRPC_A_CONN_MAX + 1] = {
	[FASTRPC_A_CONN_ID]		= { "id", AT_U64 },
	[FASTRPC_A_CONN_SERVER]		= { "server", AT_FLAG },
	[FASTRPC_A_CONN_SOCK_ID]	= { "sock-id", AT_U64 },
	[FASTRPC_A_CONN_USERS]		= { "users", AT_U32 },
	[FASTRPC_A_CONN_STATE]		= ENUM_DESC("state", state_names),
	[FASTRPC_A_CONN_PATH]		= ENUM_DESC("path", path_names),
	[FASTRPC_A_CONN_PEER]		= { "peer", AT_ADDR },
	[FASTRPC_A_CONN_VERSION]	= { "version", AT_U32 },
	[FASTRPC_A_CONN_AGE_MS]		= { "age-ms", AT_U64 },
	[FASTRPC_A_CONN_SRTT_US]	= { "srtt-us", AT_U32 },
	[FASTRPC_A_CONN_CALLS]		= { "calls", AT_U32 },
	[FASTRPC_A_CONN_TX_CREDIT]	= { "tx-credit", AT_U32 },
	[FASTRPC_A_CONN_PEER_CALL_WINDOW] = { "peer-call-window", AT_U32 },
	[FASTRPC_A_CONN_RX_WINDOW]	= { "rx-window", AT_U32 },
	[FASTRPC_A_CONN_RX_OWED]	= { "rx-owed", AT_U32 },
	[FASTRPC_A_CONN_RX_MEM]		= { "rx-mem", AT_U32 },
	[FASTRPC_A_CONN_CTRL_QUEUED]	= { "ctrl-queued", AT_U32 },
	[FASTRPC_A_CONN_TX_BYTES]	= { "tx-bytes", AT_U64 },
	[FASTRPC_A_CONN_RX_BYTES]	= { "rx-bytes", AT_U64 },
	[FASTRPC_A_CONN_TX_FRAMES]	= { "tx-frames", AT_U64 },
	[FASTRPC_A_CONN_RX_FRAMES]	= { "rx-frames", AT_U64 },
	[FASTRPC_A_CONN_ERRNO]		= { "errno", AT_U32 },
	[FASTRPC_A_CONN_WERR]		= ENUM_DESC("werr", werr_names),
	[FASTRPC_A_CONN_GOAWAY_SENT]	= { "goaway-sent", AT_FLAG },
};

static const struct attr_desc limits_attrs[FASTRPC_A_LIMITS_MAX + 1] = {
	[FASTRPC_A_LIMITS_CONN_RX_MEM]	= { "conn-rx-mem", AT_U32 },
	[FASTRPC_A_LIMITS_NET_RX_MEM]	= { "net-rx-mem", AT_U32 },
	[FASTRPC_A_LIMITS_SERVER_MAX_CONNS] = { "server-max-conns", AT_U32 },
	[FASTRPC_A_LIMITS_PEER_MAX_CONNS] = { "peer-max-conns", AT_U32 },
	[FASTRPC_A_LIMITS_PEER_MAX_CALLS] = { "peer-max-calls", AT_U32 },
	[FASTRPC_A_LIMITS_CONN_MAX_CALLS] = { "conn-max-calls", AT_U32 },
	[FASTRPC_A_LIMITS_KEEPALIVE_MS]	= { "keepalive-ms", AT_U32 },
	[FASTRPC_A_LIMITS_IDLE_MS]	= { "idle-ms", AT_U32 },
	[FASTRPC_A_LIMITS_LOOPBACK]	= { "loopback", AT_U8 },
	[FASTRPC_A_LIMITS_DEFAULT_CALLS] = { "default-calls", AT_U32 },
	[FASTRPC_A_LIMITS_STALL_MS]	= { "stall-ms", AT_U32 },
	[FASTRPC_A_LIMITS_OWN]		= { "own", AT_U32 },
	[FASTRPC_A_LIMITS_RESET]	= { "reset", AT_U32 },
};

/* The stats set, with what Prometheus needs: kind and help text. */
struct stat_desc {
	const char *name;
	bool gauge;
	const char *help;
};

static const struct stat_desc stats_attrs[FASTRPC_A_STATS_MAX + 1] = {
	[FASTRPC_A_STATS_CONNS_OPEN] = { "conns-open", true,
		"Connections (client and server) attached to a TCP socket or a same-host pair." },
	[FASTRPC_A_STATS_CONNS_TOTAL] = { "conns-total", false,
		"Connections ever attached." },
	[FASTRPC_A_STATS_CONNECT_FAILURES] = { "connect-failures", false,
		"Failed attempts to open a client connection." },
	[FASTRPC_A_STATS_CALLS_STARTED] = { "calls-started", false,
		"Client calls queued by sendmsg()." },
	[FASTRPC_A_STATS_CALLS_COMPLETED] = { "calls-completed", false,
		"Client calls ended by an END from the server." },
	[FASTRPC_A_STATS_CALLS_RECEIVED] = { "calls-received", false,
		"Server calls admitted." },
	[FASTRPC_A_STATS_REPLIES_SENT] = { "replies-sent", false,
		"Server replies queued by sendmsg()." },
	[FASTRPC_A_STATS_LATE_REPLIES] = { "late-replies", false,
		"Replies that came for calls the client no longer had." },
	[FASTRPC_A_STATS_REPLIES_DROPPED] = { "replies-dropped", false,
		"Server replies to cancelled calls." },
	[FASTRPC_A_STATS_CALLS_CANCELLED] = { "calls-cancelled", false,
		"Client cancels by tag, and CANCEL frames received by servers for live calls." },
	[FASTRPC_A_STATS_DEADLINES_EXCEEDED] = { "deadlines-exceeded", false,
		"Deadline expiries, client and server side." },
	[FASTRPC_A_STATS_PROTO_ERRORS] = { "proto-errors", false,
		"Connections this side failed with an ERROR frame." },
	[FASTRPC_A_STATS_REJECTED_CALLS] = { "rejected-calls", false,
		"Server calls refused at admission." },
	[FASTRPC_A_STATS_PINGS_SENT] = { "pings-sent", false,
		"Keepalive PINGs sent." },
	[FASTRPC_A_STATS_GOAWAYS_SENT] = { "goaways-sent", false,
		"GOAWAY frames sent." },
	[FASTRPC_A_STATS_RX_HELD_BYTES] = { "rx-held-bytes", true,
		"Message bytes of live calls received and not yet read or dropped." },
	[FASTRPC_A_STATS_TX_QUEUED_BYTES] = { "tx-queued-bytes", true,
		"Message bytes accepted by sendmsg() and not yet cut into frames." },
	[FASTRPC_A_STATS_BACKOFF_PEERS] = { "backoff-peers", true,
		"Reconnect backoff records held." },
	[FASTRPC_A_STATS_RX_MEM] = { "rx-mem", true,
		"Bytes all peers make the namespace hold." },
	[FASTRPC_A_STATS_MEM_FAILURES] = { "mem-failures", false,
		"Connections failed for conn-rx-mem or net-rx-mem." },
	[FASTRPC_A_STATS_CONNS_REFUSED] = { "conns-refused", false,
		"TCP connections a server socket closed at accept." },
	[FASTRPC_A_STATS_LOOP_CONNS] = { "loop-conns", false,
		"Same-host pairs made." },
	[FASTRPC_A_STATS_LOOP_CALLS] = { "loop-calls", false,
		"Client calls started on a same-host pair." },
	[FASTRPC_A_STATS_RING_REFUSED] = { "ring-refused", false,
		"Ring passes that stopped at an SQ entry that could not be taken yet." },
	[FASTRPC_A_STATS_RING_ERRORS] = { "ring-errors", false,
		"SQ entries that ended in an error completion." },
	[FASTRPC_A_STATS_SERVER_SOCKETS] = { "server-sockets", true,
		"Listening server sockets." },
	[FASTRPC_A_STATS_SERVER_CONNS] = { "server-conns", true,
		"Connections accepted by the listening server sockets." },
	[FASTRPC_A_STATS_RING_DIRECT] = { "ring-direct", false,
		"Ring deliveries made by a same-host writer instead of the ring's worker." },
	[FASTRPC_A_STATS_TX_BULK_BYTES] = { "tx-bulk-bytes", false,
		"Bytes of long messages written to a connection straight from the sender's memory." },
	[FASTRPC_A_STATS_STALLED_CONNS] = { "stalled-conns", false,
		"Connections failed because the peer took none of the data waiting for it for stall-ms." },
};

/* Every stats attribute but UNSPEC and PAD has an entry. */
static bool stats_table_complete(void)
{
	int i;

	for (i = FASTRPC_A_STATS_PAD + 1; i <= FASTRPC_A_STATS_MAX; i++)
		if (!stats_attrs[i].name)
			return false;
	return true;
}

static const struct {
	uint64_t bit;
	const char *name;
} feature_names[] = {
	{ FASTRPC_FEAT_IPV6,		"ipv6" },
	{ FASTRPC_FEAT_SHARED_CONN,	"shared-conn" },
	{ FASTRPC_FEAT_STREAMING,	"streaming" },
	{ FASTRPC_FEAT_DEADLINES,	"deadlines" },
	{ FASTRPC_FEAT_METADATA,	"metadata" },
	{ FASTRPC_FEAT_FLOW,		"flow" },
	{ FASTRPC_FEAT_CMSG_TIMEOUT,	"cmsg-timeout" },
	{ FASTRPC_FEAT_LOOPBACK,	"loopback" },
	{ FASTRPC_FEAT_RING,		"ring" },
	{ FASTRPC_FEAT_IN_DEADLINE,	"in-deadline" },
	{ FASTRPC_FEAT_RING_LEND,	"ring-lend" },
	{ FASTRPC_FEAT_RING_WAIT,	"ring-wait" },
	{ FASTRPC_FEAT_SHUTDOWN_EOF,	"shutdown-eof" },
};

/*
 * Parse @attr's nest or message into @tb by @desc: lengths are checked by
 * the policy built from the table (a shorter attribute than its type is
 * refused by nla_parse()).
 */
static int attrs_policy(const struct attr_desc *desc, int max,
			struct nla_policy *pol)
{
	int i;

	memset(pol, 0, sizeof(*pol) * (size_t)(max + 1));
	for (i = 0; i <= max; i++) {
		switch (desc[i].type) {
		case AT_U8:
			pol[i].type = NLA_U8;
			break;
		case AT_U16:
			pol[i].type = NLA_U16;
			break;
		case AT_U32:
		case AT_ENUM:
			pol[i].type = NLA_U32;
			break;
		case AT_U64:
			pol[i].type = NLA_U64;
			break;
		case AT_STRING:
			pol[i].type = NLA_STRING;
			break;
		case AT_FLAG:
			pol[i].type = NLA_FLAG;
			break;
		case AT_ADDR:
			pol[i].type = NLA_NESTED;
			break;
		case AT_NONE:
			break;
		}
	}
	return 0;
}

static int parse_msg(struct nl_msg *msg, const struct attr_desc *desc,
		     int max, struct nlattr **tb)
{
	struct nla_policy pol[64];
	int err;

	if (max >= (int)ARRAY_SIZE(pol))
		return -NLE_RANGE;
	attrs_policy(desc, max, pol);
	err = genlmsg_parse(nlmsg_hdr(msg), 0, tb, max, pol);
	return err;
}

static int parse_nest(struct nlattr *nest, const struct attr_desc *desc,
		      int max, struct nlattr **tb)
{
	struct nla_policy pol[64];

	if (max >= (int)ARRAY_SIZE(pol))
		return -NLE_RANGE;
	attrs_policy(desc, max, pol);
	return nla_parse_nested(tb, max, nest, pol);
}

static uint64_t attr_uint(const struct nlattr *a, enum attr_type type)
{
	switch (type) {
	case AT_U8:
		return nla_get_u8((struct nlattr *)a);
	case AT_U16:
		return nla_get_u16((struct nlattr *)a);
	case AT_U32:
	case AT_ENUM:
		return nla_get_u32((struct nlattr *)a);
	case AT_U64:
		return nla_get_u64((struct nlattr *)a);
	default:
		return 0;
	}
}

static uint64_t get_u(struct nlattr **tb, const struct attr_desc *desc,
		      int i, uint64_t dflt)
{
	return tb[i] ? attr_uint(tb[i], desc[i].type) : dflt;
}

static const char *enum_name(const struct attr_desc *d, uint64_t v,
			     char *buf, size_t len)
{
	if (v < d->nnames && d->names[v])
		return d->names[v];
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

/* --- addresses --------------------------------------------------------- */

/* "[" IPv6 "%" scope "]:" port */
#define CTL_ADDRSTRLEN (INET6_ADDRSTRLEN + 24)

struct ctl_addr {
	int family;		/* AF_INET, AF_INET6, 0: none */
	uint16_t port;
	uint8_t ip[16];
	uint32_t scope_id;
};

static int addr_from_nest(struct nlattr *nest, struct ctl_addr *a)
{
	struct nlattr *tb[FASTRPC_A_ADDR_MAX + 1];
	struct nlattr *ip;
	int len;

	memset(a, 0, sizeof(*a));
	if (!nest || parse_nest(nest, addr_attrs, FASTRPC_A_ADDR_MAX, tb))
		return -1;
	a->family = (int)get_u(tb, addr_attrs, FASTRPC_A_ADDR_FAMILY, 0);
	a->port = (uint16_t)get_u(tb, addr_attrs, FASTRPC_A_ADDR_PORT, 0);
	a->scope_id = (uint32_t)get_u(tb, addr_attrs,
				      FASTRPC_A_ADDR_SCOPE_ID, 0);
	ip = tb[FASTRPC_A_ADDR_IP];
	len = ip ? nla_len(ip) : 0;
	if ((a->family == AF_INET && len != 4) ||
	    (a->family == AF_INET6 && len != 16) ||
	    (a->family != AF_INET && a->family != AF_INET6)) {
		a->family = 0;
		return -1;
	}
	memcpy(a->ip, nla_data(ip), (size_t)len);
	return 0;
}

static const char *addr_ip_str(const struct ctl_addr *a, char *buf,
			       size_t len)
{
	if (!a->family || !inet_ntop(a->family, a->ip, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

/* "10.0.0.1:7070", "[fd00::1%2]:7070", or "*" for none. */
static const char *addr_str(const struct ctl_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (!a->family) {
		snprintf(buf, len, "*");
		return buf;
	}
	addr_ip_str(a, ip, sizeof(ip));
	if (a->family == AF_INET6 && a->scope_id)
		snprintf(buf, len, "[%s%%%u]:%u", ip, a->scope_id, a->port);
	else if (a->family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, len, "%s:%u", ip, a->port);
	return buf;
}

static void json_addr(struct json *j, const char *key, struct nlattr *nest)
{
	struct ctl_addr a;
	char ip[INET6_ADDRSTRLEN];

	if (addr_from_nest(nest, &a))
		return;
	json_obj(j, key);
	json_str(j, addr_attrs[FASTRPC_A_ADDR_FAMILY].name,
		 a.family == AF_INET ? "inet" : "inet6");
	json_u64(j, addr_attrs[FASTRPC_A_ADDR_PORT].name, a.port);
	json_str(j, addr_attrs[FASTRPC_A_ADDR_IP].name,
		 addr_ip_str(&a, ip, sizeof(ip)));
	if (a.scope_id)
		json_u64(j, addr_attrs[FASTRPC_A_ADDR_SCOPE_ID].name,
			 a.scope_id);
	json_obj_end(j);
}

/*
 * Every attribute of @tb that @desc names, as members of the open JSON
 * object: flags always (false when absent), the rest when present.
 */
static void json_attrs(struct json *j, struct nlattr **tb,
		       const struct attr_desc *desc, int max)
{
	char buf[24];
	int i;

	for (i = 1; i <= max; i++) {
		const struct attr_desc *d = &desc[i];

		if (!d->name || d->type == AT_NONE)
			continue;
		if (d->type == AT_FLAG) {
			json_bool(j, d->name, tb[i] != NULL);
			continue;
		}
		if (!tb[i])
			continue;
		switch (d->type) {
		case AT_STRING:
			json_str(j, d->name, nla_get_string(tb[i]));
			break;
		case AT_ADDR:
			json_addr(j, d->name, tb[i]);
			break;
		case AT_ENUM:
			json_str(j, d->name,
				 enum_name(d, attr_uint(tb[i], d->type), buf,
					   sizeof(buf)));
			break;
		default:
			json_u64(j, d->name, attr_uint(tb[i], d->type));
			break;
		}
	}
}

/* --- netlink ----------------------------------------------------------- */

struct ctl {
	struct nl_sock *sk;
	int family_id;
	bool json;
	const char *netns;
};

/* What one request came to: done, and the kernel's error if any. */
struct req_state {
	bool done;
	int error;		/* negative errno from the kernel */
	char extack[256];	/* its extack message, if it sent one */
	nl_recvmsg_msg_cb_t parse;
	void *arg;
	int parse_err;
};

/*
 * The extack TLVs of an NLMSG_ERROR (or NLMSG_DONE) payload: they follow
 * struct nlmsgerr and, unless the kernel capped the echo, the request's
 * own payload.  Copy NLMSGERR_ATTR_MSG into @st.
 */
static void extack_take(const struct nlmsghdr *nlh, struct req_state *st)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	const struct nlmsgerr *e = NLMSG_DATA(nlh);
	size_t off, total = nlh->nlmsg_len - NLMSG_HDRLEN;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		off = NLMSG_ALIGN(sizeof(int));
	} else {
		off = sizeof(*e);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
	}
	if (off >= total)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)NLMSG_DATA(nlh) + off),
		      (int)(total - off), NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(st->extack, sizeof(st->extack), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
}

static int cb_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req_state *st = arg;
	const struct nlmsghdr *nlh =
		(const struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);

	(void)nla;
	st->error = e->error;
	st->done = true;
	extack_take(nlh, st);
	return NL_STOP;
}

static int cb_ack(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;

	(void)msg;
	st->done = true;
	return NL_STOP;
}

static int cb_finish(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	int err;

	if (nlmsg_datalen(nlh) >= (int)sizeof(int)) {
		memcpy(&err, nlmsg_data(nlh), sizeof(err));
		if (err < 0) {
			st->error = err;
			extack_take(nlh, st);
		}
	}
	st->done = true;
	return NL_STOP;
}

static int cb_valid(struct nl_msg *msg, void *arg)
{
	struct req_state *st = arg;
	int err;

	if (!st->parse || st->parse_err)
		return NL_OK;
	err = st->parse(msg, st->arg);
	if (err < 0)
		st->parse_err = err;
	return NL_OK;
}

static void ctl_err(const char *what, int err, const char *extack)
{
	fprintf(stderr, "%s: %s: %s", prog, what, strerror(-err));
	if (err == -EPERM)
		fputs(" (needs CAP_NET_ADMIN in the network namespace's user namespace)",
		      stderr);
	if (extack && *extack)
		fprintf(stderr, ": %s", extack);
	fputc('\n', stderr);
}

/*
 * Send @cmd (with @flags, e.g. NLM_F_DUMP) and the attributes @fill puts
 * in, and feed every reply to @parse.  A do request asks for an ACK so
 * that commands without a reply (LIMITS_SET) still end.  0, or a
 * negative errno already reported on stderr.
 */
static int ctl_request(struct ctl *c, const char *what, uint8_t cmd,
		       int flags, int (*fill)(struct nl_msg *, void *),
		       void *fill_arg, nl_recvmsg_msg_cb_t parse, void *arg)
{
	struct req_state st = { .parse = parse, .arg = arg };
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);
	int err = -ENOMEM;

	if (!msg || !cb)
		goto out;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, c->family_id, 0,
			 flags | (flags & NLM_F_DUMP ? 0 : NLM_F_ACK), cmd,
			 FASTRPC_GENL_VERSION))
		goto out;
	if (fill) {
		err = fill(msg, fill_arg);
		if (err < 0)
			goto out;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, cb_valid, &st);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, cb_ack, &st);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, cb_finish, &st);
	nl_cb_err(cb, NL_CB_CUSTOM, cb_error, &st);
	err = nl_send_auto(c->sk, msg);
	if (err < 0) {
		fprintf(stderr, "%s: %s: sending: %s\n", prog, what,
			nl_geterror(err));
		err = -EIO;
		goto out;
	}
	while (!st.done) {
		err = nl_recvmsgs(c->sk, cb);
		if (err < 0 && !st.done) {
			fprintf(stderr, "%s: %s: receiving: %s\n", prog, what,
				nl_geterror(err));
			err = -EIO;
			goto out;
		}
	}
	err = st.error;
	if (err)
		ctl_err(what, err, st.extack);
	else if (st.parse_err) {
		err = st.parse_err;
		fprintf(stderr, "%s: %s: malformed reply\n", prog, what);
	}
out:
	nl_cb_put(cb);
	nlmsg_free(msg);
	return err;
}

/* Into network namespace @name: a name under /run/netns, or a path. */
static int enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot open network namespace \"%s\": %s\n",
			prog, name, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET)) {
		fprintf(stderr, "%s: setting network namespace \"%s\": %s\n",
			prog, name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int ctl_open(struct ctl *c)
{
	int one = 1;
	int err;

	if (c->netns && enter_netns(c->netns))
		return -1;
	c->sk = nl_socket_alloc();
	if (!c->sk) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return -1;
	}
	err = genl_connect(c->sk);
	if (err < 0) {
		fprintf(stderr, "%s: generic netlink socket: %s\n", prog,
			nl_geterror(err));
		return -1;
	}
	/* Dumps of many sockets come in large batches. */
	nl_socket_set_msg_buf_size(c->sk, 65536);
	/* Older kernels lack extack: the messages are a bonus there. */
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(c->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	c->family_id = genl_ctrl_resolve(c->sk, FASTRPC_GENL_NAME);
	if (c->family_id < 0) {
		fprintf(stderr,
			"fastrpc: generic netlink family not found: is af_fastrpc loaded?\n");
		return -1;
	}
	return 0;
}

static void ctl_close(struct ctl *c)
{
	if (c->sk)
		nl_socket_free(c->sk);
	c->sk = NULL;
}

/* --- text formatting ------------------------------------------------------ */

/* 1.234s, 12m05s, 3h07m; ms granularity. */
static const char *fmt_age(uint64_t ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%" PRIu64 ".%03" PRIu64 "s", ms / 1000,
			 ms % 1000);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", ms / 60000,
			 ms / 1000 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", ms / 3600000,
			 ms / 60000 % 60);
	return buf;
}

static const char *fmt_rtt(uint64_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else if (us < 10000)
		snprintf(buf, len, "%" PRIu64 "us", us);
	else
		snprintf(buf, len, "%" PRIu64 ".%01" PRIu64 "ms", us / 1000,
			 us / 100 % 10);
	return buf;
}

/* --- filters --------------------------------------------------------------- */

struct filter {
	bool has_port;
	uint16_t port;
	bool has_peer;
	struct ctl_addr peer;	/* port 0: any */
};

/* A decimal number, or hexadecimal after "0x"; no sign, no octal. */
static int parse_u64(const char *s, uint64_t *v)
{
	int base = 10;
	char *end;

	if (!strncmp(s, "0x", 2)) {
		s += 2;
		base = 16;
	}
	if (!isxdigit((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || *end ? -1 : 0;
}

/* "10.0.0.1", "10.0.0.1:7070", "fd00::1", "[fd00::1]:7070". */
static int parse_peer(const char *s, struct ctl_addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = NULL;
	uint64_t p;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || (size_t)(close - s - 1) >= sizeof(host))
			return -1;
		n = (size_t)(close - s - 1);
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (close[1] == ':')
			port = close + 2;
		else if (close[1])
			return -1;
	} else {
		const char *colon = strchr(s, ':');

		/* one colon: IPv4 with a port; more: a bare IPv6 address */
		if (colon && !strchr(colon + 1, ':')) {
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s);
		}
		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
	}
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->family = AF_INET6;
	else
		return -1;
	if (port) {
		if (parse_u64(port, &p) || !p || p > 65535)
			return -1;
		a->port = (uint16_t)p;
	}
	return 0;
}

/* Filter words after a conn or sock command; CTL_USAGE when bad. */
static int parse_filter(int argc, char **argv, struct filter *f)
{
	uint64_t v;
	int i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "port") && i + 1 < argc) {
			if (parse_u64(argv[++i], &v) || !v || v > 65535) {
				fprintf(stderr, "%s: bad port \"%s\"\n", prog,
					argv[i]);
				return CTL_USAGE;
			}
			f->has_port = true;
			f->port = (uint16_t)v;
		} else if (!strcmp(argv[i], "peer") && i + 1 < argc) {
			if (parse_peer(argv[++i], &f->peer)) {
				fprintf(stderr, "%s: bad peer address \"%s\"\n",
					prog, argv[i]);
				return CTL_USAGE;
			}
			f->has_peer = true;
		} else {
			fprintf(stderr, "%s: unknown filter \"%s\" (port N, peer ADDR)\n",
				prog, argv[i]);
			return CTL_USAGE;
		}
	}
	return CTL_OK;
}

static bool peer_matches(const struct filter *f, const struct ctl_addr *a)
{
	size_t len;

	if (!f->has_peer)
		return true;
	if (!a->family || a->family != f->peer.family)
		return false;
	len = a->family == AF_INET ? 4 : 16;
	if (memcmp(a->ip, f->peer.ip, len))
		return false;
	return !f->peer.port || f->peer.port == a->port;
}

/* --- show ----------------------------------------------------------------- */

struct blob {
	struct nlattr *tb[64];
	struct nl_msg *msg;	/* held: tb points into it */
};

static int take_blob(struct nl_msg *msg, void *arg, const struct attr_desc *d,
		     int max)
{
	struct blob *b = arg;

	if (b->msg)
		return 0;	/* a do command answers once */
	if (parse_msg(msg, d, max, b->tb))
		return -EINVAL;
	nlmsg_get(msg);
	b->msg = msg;
	return 0;
}

static int take_info(struct nl_msg *msg, void *arg)
{
	return take_blob(msg, arg, info_attrs, FASTRPC_A_INFO_MAX);
}

static int take_limits(struct nl_msg *msg, void *arg)
{
	return take_blob(msg, arg, limits_attrs, FASTRPC_A_LIMITS_MAX);
}

static void blob_free(struct blob *b)
{
	if (b->msg)
		nlmsg_free(b->msg);
	b->msg = NULL;
}

static int get_limits(struct ctl *c, struct blob *b)
{
	memset(b, 0, sizeof(*b));
	return ctl_request(c, "limits", FASTRPC_CMD_LIMITS_GET, 0, NULL, NULL,
			   take_limits, b);
}

/* Bytes as "32 MiB" when whole mebibytes, else the number. */
static const char *fmt_limit(int i, uint64_t v, char *buf, size_t len)
{
	if ((i == FASTRPC_A_LIMITS_CONN_RX_MEM ||
	     i == FASTRPC_A_LIMITS_NET_RX_MEM) && v && !(v % (1u << 20)))
		snprintf(buf, len, "%" PRIu64 " MiB", v >> 20);
	else if (i == FASTRPC_A_LIMITS_LOOPBACK)
		snprintf(buf, len, "%s", v ? "on" : "off");
	else
		snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

static void print_limits_text(struct blob *b, const char *indent)
{
	uint64_t own = get_u(b->tb, limits_attrs, FASTRPC_A_LIMITS_OWN, 0);
	char buf[32];
	int i;

	for (i = 1; i <= FASTRPC_A_LIMITS_MAX; i++) {
		if (i == FASTRPC_A_LIMITS_OWN || i == FASTRPC_A_LIMITS_RESET ||
		    !b->tb[i])
			continue;
		printf("%s%-18s %-12s %s\n", indent, limits_attrs[i].name,
		       fmt_limit(i, attr_uint(b->tb[i], limits_attrs[i].type),
				 buf, sizeof(buf)),
		       own & (1u << i) ? "(this namespace)" : "(module default)");
	}
}

static int cmd_show(struct ctl *c, int argc, char **argv)
{
	struct blob info = { 0 }, lim;
	uint64_t feat;
	size_t i;
	int err;

	(void)argv;
	if (argc) {
		fprintf(stderr, "%s: show takes no arguments\n", prog);
		return CTL_USAGE;
	}
	if (ctl_open(c))
		return CTL_ERR;
	err = ctl_request(c, "info", FASTRPC_CMD_INFO_GET, 0, NULL, NULL,
			  take_info, &info);
	if (err)
		return CTL_ERR;
	err = get_limits(c, &lim);
	if (err) {
		blob_free(&info);
		return CTL_ERR;
	}
	feat = get_u(info.tb, info_attrs, FASTRPC_A_INFO_FEATURES, 0);
	if (c->json) {
		json_obj(&jout, NULL);
		json_attrs(&jout, info.tb, info_attrs, FASTRPC_A_INFO_MAX);
		json_arr(&jout, "feature-names");
		for (i = 0; i < ARRAY_SIZE(feature_names); i++)
			if (feat & feature_names[i].bit)
				json_str(&jout, NULL, feature_names[i].name);
		json_arr_end(&jout);
		json_obj(&jout, "limits");
		json_attrs(&jout, lim.tb, limits_attrs, FASTRPC_A_LIMITS_MAX);
		json_obj_end(&jout);
		json_obj_end(&jout);
	} else {
		printf("af_fastrpc %s, address family %" PRIu64
		       ", wire protocol %" PRIu64 "..%" PRIu64 "\n",
		       info.tb[FASTRPC_A_INFO_VERSION] ?
		       nla_get_string(info.tb[FASTRPC_A_INFO_VERSION]) : "?",
		       get_u(info.tb, info_attrs, FASTRPC_A_INFO_FAMILY, 0),
		       get_u(info.tb, info_attrs, FASTRPC_A_INFO_PROTO_MIN, 0),
		       get_u(info.tb, info_attrs, FASTRPC_A_INFO_PROTO_MAX, 0));
		printf("features:");
		for (i = 0; i < ARRAY_SIZE(feature_names); i++) {
			if (feat & feature_names[i].bit) {
				printf(" %s", feature_names[i].name);
				feat &= ~feature_names[i].bit;
			}
		}
		if (feat)
			printf(" unknown:0x%" PRIx64, feat);
		printf("\n");
		printf("max-msg %" PRIu64 "  max-calls %" PRIu64
		       "  default-calls %" PRIu64 "\n",
		       get_u(info.tb, info_attrs, FASTRPC_A_INFO_MAX_MSG, 0),
		       get_u(info.tb, info_attrs, FASTRPC_A_INFO_MAX_CALLS, 0),
		       get_u(info.tb, info_attrs,
			     FASTRPC_A_INFO_DEFAULT_CALLS, 0));
		printf("limits:\n");
		print_limits_text(&lim, "  ");
	}
	blob_free(&info);
	blob_free(&lim);
	return CTL_OK;
}

/* --- limits, set, reset ------------------------------------------------------- */

static int cmd_limits(struct ctl *c, int argc, char **argv)
{
	struct blob lim;

	(void)argv;
	if (argc) {
		fprintf(stderr, "%s: limits takes no arguments\n", prog);
		return CTL_USAGE;
	}
	if (ctl_open(c))
		return CTL_ERR;
	if (get_limits(c, &lim))
		return CTL_ERR;
	if (c->json) {
		json_obj(&jout, NULL);
		json_attrs(&jout, lim.tb, limits_attrs, FASTRPC_A_LIMITS_MAX);
		json_obj_end(&jout);
	} else {
		print_limits_text(&lim, "");
	}
	blob_free(&lim);
	return CTL_OK;
}

/* The limit named @key (spec name, or module parameter name with '_'). */
static int limit_by_name(const char *key)
{
	char name[32];
	size_t i;
	int a;

	if (strlen(key) >= sizeof(name))
		return -1;
	for (i = 0; key[i]; i++)
		name[i] = key[i] == '_' ? '-' : key[i];
	name[i] = '\0';
	for (a = 1; a <= FASTRPC_A_LIMITS_MAX; a++) {
		if (a == FASTRPC_A_LIMITS_OWN || a == FASTRPC_A_LIMITS_RESET)
			continue;
		if (limits_attrs[a].name && !strcmp(limits_attrs[a].name, name))
			return a;
	}
	return -1;
}

static void limit_names(FILE *f)
{
	int a;

	for (a = 1; a <= FASTRPC_A_LIMITS_MAX; a++)
		if (a != FASTRPC_A_LIMITS_OWN && a != FASTRPC_A_LIMITS_RESET)
			fprintf(f, " %s", limits_attrs[a].name);
	fputc('\n', f);
}

/*
 * A limit's value: a number, with K, M or G (powers of 1024) for the byte
 * limits, ms, s or m (minutes) for the times, on/off for loopback.  The
 * kernel checks the range; here only that it fits the attribute.
 */
static int parse_limit_value(int a, const char *s, uint64_t *v)
{
	const char *unit;
	uint64_t mul = 1;
	char num[32];
	size_t n;

	if (a == FASTRPC_A_LIMITS_LOOPBACK) {
		if (!strcmp(s, "on") || !strcmp(s, "yes")) {
			*v = 1;
			return 0;
		}
		if (!strcmp(s, "off") || !strcmp(s, "no")) {
			*v = 0;
			return 0;
		}
	}
	for (unit = s; *unit >= '0' && *unit <= '9'; unit++)
		;
	if (unit == s && strncmp(s, "0x", 2))
		return -1;
	if (!strncmp(s, "0x", 2))
		return parse_u64(s, v) || *v > UINT32_MAX ? -1 : 0;
	n = (size_t)(unit - s);
	if (n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (*unit) {
		bool bytes = a == FASTRPC_A_LIMITS_CONN_RX_MEM ||
			     a == FASTRPC_A_LIMITS_NET_RX_MEM;
		bool ms = a == FASTRPC_A_LIMITS_KEEPALIVE_MS ||
			  a == FASTRPC_A_LIMITS_IDLE_MS ||
			  a == FASTRPC_A_LIMITS_STALL_MS;

		if (bytes && (!strcmp(unit, "K") || !strcmp(unit, "k")))
			mul = 1u << 10;
		else if (bytes && (!strcmp(unit, "M") || !strcmp(unit, "m")))
			mul = 1u << 20;
		else if (bytes && (!strcmp(unit, "G") || !strcmp(unit, "g")))
			mul = 1u << 30;
		else if (ms && !strcmp(unit, "ms"))
			mul = 1;
		else if (ms && !strcmp(unit, "s"))
			mul = 1000;
		else if (ms && !strcmp(unit, "m"))
			mul = 60000;
		else
			return -1;
	}
	if (parse_u64(num, v) || *v > UINT32_MAX / mul)
		return -1;
	*v *= mul;
	if (a == FASTRPC_A_LIMITS_LOOPBACK && *v > UINT8_MAX)
		return -1;
	return 0;
}

struct set_req {
	int n;
	int attr[FASTRPC_A_LIMITS_MAX + 1];
	uint64_t val[FASTRPC_A_LIMITS_MAX + 1];
	uint32_t reset;
};

static int fill_set(struct nl_msg *msg, void *arg)
{
	struct set_req *r = arg;
	int i, err = 0;

	for (i = 0; i < r->n && !err; i++) {
		if (r->attr[i] == FASTRPC_A_LIMITS_LOOPBACK)
			err = nla_put_u8(msg, r->attr[i], (uint8_t)r->val[i]);
		else
			err = nla_put_u32(msg, r->attr[i], (uint32_t)r->val[i]);
	}
	if (!err && r->reset)
		err = nla_put_u32(msg, FASTRPC_A_LIMITS_RESET, r->reset);
	return err ? -EMSGSIZE : 0;
}

static int cmd_set(struct ctl *c, int argc, char **argv)
{
	struct set_req r = { 0 };
	int i, a;

	if (!argc || argc % 2) {
		fprintf(stderr, "%s: usage: set KEY VALUE [KEY VALUE...]; keys:",
			prog);
		limit_names(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < argc; i += 2) {
		a = limit_by_name(argv[i]);
		if (a < 0) {
			fprintf(stderr, "%s: unknown limit \"%s\"; one of:",
				prog, argv[i]);
			limit_names(stderr);
			return CTL_USAGE;
		}
		if (r.n >= (int)ARRAY_SIZE(r.attr)) {
			fprintf(stderr, "%s: too many limits\n", prog);
			return CTL_USAGE;
		}
		if (parse_limit_value(a, argv[i + 1], &r.val[r.n])) {
			fprintf(stderr, "%s: bad value \"%s\" for %s\n", prog,
				argv[i + 1], limits_attrs[a].name);
			return CTL_USAGE;
		}
		r.attr[r.n++] = a;
	}
	if (ctl_open(c))
		return CTL_ERR;
	return ctl_request(c, "set", FASTRPC_CMD_LIMITS_SET, 0, fill_set, &r,
			   NULL, NULL) ? CTL_ERR : CTL_OK;
}

static int cmd_reset(struct ctl *c, int argc, char **argv)
{
	struct set_req r = { 0 };
	int i, a;

	if (!argc) {
		fprintf(stderr, "%s: usage: reset KEY... | all; keys:", prog);
		limit_names(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "all")) {
			for (a = 1; a <= FASTRPC_A_LIMITS_MAX; a++)
				if (a != FASTRPC_A_LIMITS_OWN &&
				    a != FASTRPC_A_LIMITS_RESET)
					r.reset |= 1u << a;
			continue;
		}
		a = limit_by_name(argv[i]);
		if (a < 0) {
			fprintf(stderr, "%s: unknown limit \"%s\"; one of:",
				prog, argv[i]);
			limit_names(stderr);
			return CTL_USAGE;
		}
		r.reset |= 1u << a;
	}
	if (ctl_open(c))
		return CTL_ERR;
	return ctl_request(c, "reset", FASTRPC_CMD_LIMITS_SET, 0, fill_set, &r,
			   NULL, NULL) ? CTL_ERR : CTL_OK;
}

/* --- stats ---------------------------------------------------------------- */

/* "conns-open" -> "fastrpc_conns_open", with "_total" on counters. */
static void prom_name(const struct stat_desc *d, char *buf, size_t len)
{
	size_t i, n;

	n = (size_t)snprintf(buf, len, "fastrpc_%s", d->name);
	for (i = 0; i < n && i < len; i++)
		if (buf[i] == '-')
			buf[i] = '_';
	n = strlen(buf);
	if (!d->gauge && (n < 6 || strcmp(buf + n - 6, "_total")))
		snprintf(buf + n, len - n, "_total");
}

/* Label values escape backslash, quote and newline. */
static void prom_label_value(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

static void prom_labels(const struct ctl *c)
{
	if (!c->netns)
		return;
	printf("{netns=\"");
	prom_label_value(c->netns);
	printf("\"}");
}

static int take_stats(struct nl_msg *msg, void *arg)
{
	struct blob *b = arg;
	struct nla_policy pol[FASTRPC_A_STATS_MAX + 1];
	int i;

	if (b->msg)
		return 0;
	memset(pol, 0, sizeof(pol));
	for (i = FASTRPC_A_STATS_PAD + 1; i <= FASTRPC_A_STATS_MAX; i++)
		pol[i].type = NLA_U64;
	if (genlmsg_parse(nlmsg_hdr(msg), 0, b->tb, FASTRPC_A_STATS_MAX, pol))
		return -EINVAL;
	nlmsg_get(msg);
	b->msg = msg;
	return 0;
}

static int cmd_stats(struct ctl *c, int argc, char **argv)
{
	bool prom = false;
	struct blob st = { 0 };
	char name[64];
	int i;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus") || !strcmp(argv[i], "-P")) {
			prom = true;
		} else {
			fprintf(stderr, "%s: stats: unknown argument \"%s\"\n",
				prog, argv[i]);
			return CTL_USAGE;
		}
	}
	if (ctl_open(c))
		return CTL_ERR;
	if (ctl_request(c, "stats", FASTRPC_CMD_STATS_GET, 0, NULL, NULL,
			take_stats, &st))
		return CTL_ERR;
	if (prom) {
		for (i = FASTRPC_A_STATS_PAD + 1; i <= FASTRPC_A_STATS_MAX; i++) {
			const struct stat_desc *d = &stats_attrs[i];

			if (!st.tb[i])
				continue;
			prom_name(d, name, sizeof(name));
			printf("# HELP %s %s\n", name, d->help);
			printf("# TYPE %s %s\n", name,
			       d->gauge ? "gauge" : "counter");
			printf("%s", name);
			prom_labels(c);
			printf(" %" PRIu64 "\n", nla_get_u64(st.tb[i]));
		}
	} else if (c->json) {
		json_obj(&jout, NULL);
		for (i = FASTRPC_A_STATS_PAD + 1; i <= FASTRPC_A_STATS_MAX; i++)
			if (st.tb[i])
				json_u64(&jout, stats_attrs[i].name,
					 nla_get_u64(st.tb[i]));
		json_obj_end(&jout);
	} else {
		for (i = FASTRPC_A_STATS_PAD + 1; i <= FASTRPC_A_STATS_MAX; i++)
			if (st.tb[i])
				printf("%-20s %" PRIu64 "\n",
				       stats_attrs[i].name,
				       nla_get_u64(st.tb[i]));
	}
	blob_free(&st);
	return CTL_OK;
}

/* --- sock ------------------------------------------------------------------- */

/* The local ports of server sockets by id: conn's "port" filter. */
struct sock_ports {
	size_t n, cap;
	uint64_t *id;
	uint16_t *port;
};

struct dump_ctx {
	struct ctl *c;
	struct filter *f;
	struct sock_ports *ports;	/* conn with a port filter */
	unsigned int rows;
};

static int sock_ports_add(struct nl_msg *msg, void *arg)
{
	struct sock_ports *sp = arg;
	struct nlattr *tb[FASTRPC_A_SOCK_MAX + 1];
	struct ctl_addr a;

	if (parse_msg(msg, sock_attrs, FASTRPC_A_SOCK_MAX, tb))
		return -EINVAL;
	if (!tb[FASTRPC_A_SOCK_ID] ||
	    addr_from_nest(tb[FASTRPC_A_SOCK_LOCAL], &a))
		return 0;
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		uint64_t *id = realloc(sp->id, cap * sizeof(*id));
		uint16_t *port;

		if (!id)
			return -ENOMEM;
		sp->id = id;
		port = realloc(sp->port, cap * sizeof(*port));
		if (!port)
			return -ENOMEM;
		sp->port = port;
		sp->cap = cap;
	}
	sp->id[sp->n] = nla_get_u64(tb[FASTRPC_A_SOCK_ID]);
	sp->port[sp->n++] = a.port;
	return 0;
}

static int sock_row(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *dc = arg;
	struct nlattr *tb[FASTRPC_A_SOCK_MAX + 1];
	struct ctl_addr local, peer;
	const struct attr_desc *d = sock_attrs;
	char role[16], addr[CTL_ADDRSTRLEN];
	uint64_t r;

	if (parse_msg(msg, sock_attrs, FASTRPC_A_SOCK_MAX, tb))
		return -EINVAL;
	addr_from_nest(tb[FASTRPC_A_SOCK_LOCAL], &local);
	addr_from_nest(tb[FASTRPC_A_SOCK_PEER], &peer);
	if (dc->f->has_port && local.port != dc->f->port &&
	    peer.port != dc->f->port)
		return 0;
	if (!peer_matches(dc->f, &peer))
		return 0;
	if (dc->c->json) {
		json_obj(&jout, NULL);
		json_attrs(&jout, tb, sock_attrs, FASTRPC_A_SOCK_MAX);
		json_obj_end(&jout);
		dc->rows++;
		return 0;
	}
	if (!dc->rows++)
		printf("%-6s %-7s %-24s %6s %6s %6s %9s %9s %6s %6s %10s %s\n",
		       "ID", "Role", "Local/Peer", "Calls", "Max", "RxQ",
		       "RxBytes", "TxQueued", "Conns", "UID", "Inode", "Ring");
	r = get_u(tb, d, FASTRPC_A_SOCK_ROLE, 0);
	if (peer.family)
		addr_str(&peer, addr, sizeof(addr));
	else
		addr_str(&local, addr, sizeof(addr));
	printf("%-6" PRIu64 " %-7s %-24s %6" PRIu64 " %6" PRIu64 " %6" PRIu64
	       " %9" PRIu64 " %9" PRIu64 " %6" PRIu64 " %6" PRIu64
	       " %10" PRIu64 " %s\n",
	       get_u(tb, d, FASTRPC_A_SOCK_ID, 0),
	       enum_name(&d[FASTRPC_A_SOCK_ROLE], r, role, sizeof(role)),
	       addr,
	       get_u(tb, d, FASTRPC_A_SOCK_CALLS, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_MAX_CALLS, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_RX_QUEUED, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_RX_BYTES, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_TX_QUEUED, 0),
	       tb[FASTRPC_A_SOCK_CONNS] ?
	       get_u(tb, d, FASTRPC_A_SOCK_CONNS, 0) :
	       get_u(tb, d, FASTRPC_A_SOCK_CONN_ID, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_UID, 0),
	       get_u(tb, d, FASTRPC_A_SOCK_INODE, 0),
	       tb[FASTRPC_A_SOCK_RING] ? "yes" : "no");
	return 0;
}

static int cmd_sock(struct ctl *c, int argc, char **argv)
{
	struct filter f;
	struct dump_ctx dc = { .c = c, .f = &f };
	int err;

	err = parse_filter(argc, argv, &f);
	if (err)
		return err;
	if (ctl_open(c))
		return CTL_ERR;
	if (c->json)
		json_arr(&jout, NULL);
	err = ctl_request(c, "sock", FASTRPC_CMD_SOCK_GET, NLM_F_DUMP, NULL,
			  NULL, sock_row, &dc);
	if (c->json)
		json_arr_end(&jout);
	return err ? CTL_ERR : CTL_OK;
}

/* --- conn ------------------------------------------------------------------- */

static bool conn_port_matches(const struct dump_ctx *dc, struct nlattr **tb,
			      const struct ctl_addr *peer)
{
	uint64_t sid;
	size_t i;

	if (!dc->f->has_port || peer->port == dc->f->port)
		return true;
	if (!tb[FASTRPC_A_CONN_SERVER] || !tb[FASTRPC_A_CONN_SOCK_ID])
		return false;
	/* a server side connection: the port its socket serves */
	sid = nla_get_u64(tb[FASTRPC_A_CONN_SOCK_ID]);
	for (i = 0; i < dc->ports->n; i++)
		if (dc->ports->id[i] == sid)
			return dc->ports->port[i] == dc->f->port;
	return false;
}

static int conn_row(struct nl_msg *msg, void *arg)
{
	struct dump_ctx *dc = arg;
	struct nlattr *tb[FASTRPC_A_CONN_MAX + 1];
	const struct attr_desc *d = conn_attrs;
	struct ctl_addr peer;
	char state[16], path[16], addr[CTL_ADDRSTRLEN], age[24];
	char rtt[24];

	if (parse_msg(msg, conn_attrs, FASTRPC_A_CONN_MAX, tb))
		return -EINVAL;
	addr_from_nest(tb[FASTRPC_A_CONN_PEER], &peer);
	if (!conn_port_matches(dc, tb, &peer) || !peer_matches(dc->f, &peer))
		return 0;
	if (dc->c->json) {
		json_obj(&jout, NULL);
		json_attrs(&jout, tb, conn_attrs, FASTRPC_A_CONN_MAX);
		json_obj_end(&jout);
		dc->rows++;
		return 0;
	}
	if (!dc->rows++)
		printf("%-6s %-6s %-10s %-4s %-24s %9s %7s %5s %9s %9s %9s %8s %6s %12s %9s %12s %9s\n",
		       "ID", "Side", "State", "Path", "Peer", "Age", "SRTT",
		       "Calls", "TxCredit", "PeerWin", "RxWindow", "RxMem",
		       "CtrlQ", "TxBytes", "TxFrames", "RxBytes", "RxFrames");
	printf("%-6" PRIu64 " %-6s %-10s %-4s %-24s %9s %7s %5" PRIu64
	       " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %8" PRIu64
	       " %6" PRIu64 " %12" PRIu64 " %9" PRIu64 " %12" PRIu64 " %9" PRIu64 "\n",
	       get_u(tb, d, FASTRPC_A_CONN_ID, 0),
	       tb[FASTRPC_A_CONN_SERVER] ? "server" : "client",
	       enum_name(&d[FASTRPC_A_CONN_STATE],
			 get_u(tb, d, FASTRPC_A_CONN_STATE, 0), state,
			 sizeof(state)),
	       enum_name(&d[FASTRPC_A_CONN_PATH],
			 get_u(tb, d, FASTRPC_A_CONN_PATH, 0), path,
			 sizeof(path)),
	       addr_str(&peer, addr, sizeof(addr)),
	       fmt_age(get_u(tb, d, FASTRPC_A_CONN_AGE_MS, 0), age,
		       sizeof(age)),
	       fmt_rtt(get_u(tb, d, FASTRPC_A_CONN_SRTT_US, 0), rtt,
		       sizeof(rtt)),
	       get_u(tb, d, FASTRPC_A_CONN_CALLS, 0),
	       get_u(tb, d, FASTRPC_A_CONN_TX_CREDIT, 0),
	       get_u(tb, d, FASTRPC_A_CONN_PEER_CALL_WINDOW, 0),
	       get_u(tb, d, FASTRPC_A_CONN_RX_WINDOW, 0),
	       get_u(tb, d, FASTRPC_A_CONN_RX_MEM, 0),
	       get_u(tb, d, FASTRPC_A_CONN_CTRL_QUEUED, 0),
	       get_u(tb, d, FASTRPC_A_CONN_TX_BYTES, 0),
	       get_u(tb, d, FASTRPC_A_CONN_TX_FRAMES, 0),
	       get_u(tb, d, FASTRPC_A_CONN_RX_BYTES, 0),
	       get_u(tb, d, FASTRPC_A_CONN_RX_FRAMES, 0));
	return 0;
}

static int cmd_conn(struct ctl *c, int argc, char **argv)
{
	struct sock_ports sp = { 0 };
	struct filter f;
	struct dump_ctx dc = { .c = c, .f = &f, .ports = &sp };
	int err;

	err = parse_filter(argc, argv, &f);
	if (err)
		return err;
	if (ctl_open(c))
		return CTL_ERR;
	if (f.has_port) {
		err = ctl_request(c, "sock", FASTRPC_CMD_SOCK_GET, NLM_F_DUMP,
				  NULL, NULL, sock_ports_add, &sp);
		if (err)
			goto out;
	}
	if (c->json)
		json_arr(&jout, NULL);
	err = ctl_request(c, "conn", FASTRPC_CMD_CONN_GET, NLM_F_DUMP, NULL,
			  NULL, conn_row, &dc);
	if (c->json)
		json_arr_end(&jout);
out:
	free(sp.id);
	free(sp.port);
	return err ? CTL_ERR : CTL_OK;
}

/* --- monitor ---------------------------------------------------------------- */

struct mon {
	struct ctl *c;
	unsigned long count;	/* 0: no limit */
	unsigned long seen;
};

static const char *event_name(uint8_t cmd)
{
	switch (cmd) {
	case FASTRPC_CMD_CONN_UP_NTF:
		return "conn-up";
	case FASTRPC_CMD_CONN_DOWN_NTF:
		return "conn-down";
	case FASTRPC_CMD_GOAWAY_NTF:
		return "goaway";
	case FASTRPC_CMD_PROTO_ERROR_NTF:
		return "proto-error";
	case FASTRPC_CMD_REJECT_NTF:
		return "reject";
	default:
		return NULL;
	}
}

static void print_conn_event(const char *ev, struct nlattr **tb)
{
	const struct attr_desc *d = conn_attrs;
	struct ctl_addr peer;
	char path[16], addr[CTL_ADDRSTRLEN], werr[16];

	addr_from_nest(tb[FASTRPC_A_CONN_PEER], &peer);
	printf("%s conn %" PRIu64 " %s %s peer %s", ev,
	       get_u(tb, d, FASTRPC_A_CONN_ID, 0),
	       tb[FASTRPC_A_CONN_SERVER] ? "server" : "client",
	       enum_name(&d[FASTRPC_A_CONN_PATH],
			 get_u(tb, d, FASTRPC_A_CONN_PATH, 0), path,
			 sizeof(path)),
	       addr_str(&peer, addr, sizeof(addr)));
	if (tb[FASTRPC_A_CONN_SOCK_ID])
		printf(" sock %" PRIu64, get_u(tb, d, FASTRPC_A_CONN_SOCK_ID, 0));
	if (tb[FASTRPC_A_CONN_WERR])
		printf(" %s %s",
		       tb[FASTRPC_A_CONN_GOAWAY_SENT] ? "sent" : "received",
		       enum_name(&d[FASTRPC_A_CONN_WERR],
				 get_u(tb, d, FASTRPC_A_CONN_WERR, 0), werr,
				 sizeof(werr)));
	if (tb[FASTRPC_A_CONN_ERRNO]) {
		uint64_t e = get_u(tb, d, FASTRPC_A_CONN_ERRNO, 0);

		printf(" errno %" PRIu64 " (%s)", e,
		       e ? strerror((int)e) : "closed");
	}
	printf("\n");
}

/* Events carry sequence number 0: no request of ours to match. */
static int mon_seq_any(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

static int mon_event(struct nl_msg *msg, void *arg)
{
	struct mon *m = arg;
	struct genlmsghdr *g = genlmsg_hdr(nlmsg_hdr(msg));
	struct nlattr *tb[64];
	const char *ev = event_name(g->cmd);
	bool sock = g->cmd == FASTRPC_CMD_REJECT_NTF;
	const struct attr_desc *d = sock ? sock_attrs : conn_attrs;
	int max = sock ? FASTRPC_A_SOCK_MAX : FASTRPC_A_CONN_MAX;

	if (!ev || parse_msg(msg, d, max, tb))
		return NL_SKIP;
	if (m->c->json) {
		json_obj(&jout, NULL);
		json_str(&jout, "event", ev);
		json_attrs(&jout, tb, d, max);
		json_obj_end(&jout);
	} else if (sock) {
		struct ctl_addr local;
		char addr[CTL_ADDRSTRLEN];

		addr_from_nest(tb[FASTRPC_A_SOCK_LOCAL], &local);
		printf("%s sock %" PRIu64 " local %s rejects %" PRIu64
		       " inode %" PRIu64 "\n", ev,
		       get_u(tb, d, FASTRPC_A_SOCK_ID, 0),
		       addr_str(&local, addr, sizeof(addr)),
		       get_u(tb, d, FASTRPC_A_SOCK_REJECTS, 0),
		       get_u(tb, d, FASTRPC_A_SOCK_INODE, 0));
	} else {
		print_conn_event(ev, tb);
	}
	fflush(stdout);
	m->seen++;
	return m->count && m->seen >= m->count ? NL_STOP : NL_OK;
}

static int cmd_monitor(struct ctl *c, int argc, char **argv)
{
	struct mon m = { .c = c };
	struct pollfd p[2];
	struct nl_cb *cb;
	sigset_t sigs;
	uint64_t v;
	int grp, err, i, rc = CTL_OK;

	for (i = 0; i < argc; i++) {
		if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "count")) &&
		    i + 1 < argc && !parse_u64(argv[i + 1], &v) && v) {
			m.count = (unsigned long)v;
			i++;
		} else {
			fprintf(stderr, "%s: monitor: bad argument \"%s\" (-c COUNT)\n",
				prog, argv[i]);
			return CTL_USAGE;
		}
	}
	if (ctl_open(c))
		return CTL_ERR;
	grp = genl_ctrl_resolve_grp(c->sk, FASTRPC_GENL_NAME,
				    FASTRPC_GENL_MCGRP_EVENTS);
	if (grp < 0) {
		fprintf(stderr, "%s: no multicast group \"%s\": %s\n", prog,
			FASTRPC_GENL_MCGRP_EVENTS, nl_geterror(grp));
		return CTL_ERR;
	}
	/* SIGINT and SIGTERM arrive as readable data, never mid-receive. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	p[1].fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	p[1].events = POLLIN;
	if (p[1].fd < 0) {
		fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
		return CTL_ERR;
	}
	err = nl_socket_add_membership(c->sk, grp);
	if (err < 0) {
		fprintf(stderr, "%s: joining \"%s\": %s\n", prog,
			FASTRPC_GENL_MCGRP_EVENTS, nl_geterror(err));
		close(p[1].fd);
		return CTL_ERR;
	}
	nl_socket_set_nonblocking(c->sk);
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		close(p[1].fd);
		return CTL_ERR;
	}
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, mon_seq_any, NULL);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, mon_event, &m);
	/* Scripts wait for this line before they cause events. */
	fprintf(stderr, "%s: listening for events\n", prog);
	p[0].fd = nl_socket_get_fd(c->sk);
	p[0].events = POLLIN;
	while (!m.count || m.seen < m.count) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: poll: %s\n", prog, strerror(errno));
			rc = CTL_ERR;
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		err = nl_recvmsgs(c->sk, cb);
		if (err == -NLE_NOMEM) {
			/* ENOBUFS: the socket overran, events were lost */
			fprintf(stderr, "%s: events lost (receive buffer overrun)\n",
				prog);
		} else if (err < 0 && err != -NLE_AGAIN) {
			fprintf(stderr, "%s: receiving events: %s\n", prog,
				nl_geterror(err));
			rc = CTL_ERR;
			break;
		}
	}
	nl_cb_put(cb);
	close(p[1].fd);
	return rc;
}

/* --- main ------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [-j] [-p] [-n NETNS] COMMAND [ARGS]\n"
		"  show                       module version, protocol, features, limits\n"
		"  conn [port N] [peer ADDR]  connections\n"
		"  sock [port N] [peer ADDR]  sockets\n"
		"  stats [--prometheus]       the namespace's counters and gauges\n"
		"  limits                     limits and timers in force\n"
		"  set KEY VALUE...           set limits (CAP_NET_ADMIN)\n"
		"  reset KEY...|all           back to the module parameters\n"
		"  monitor [-c COUNT]         print events as they happen\n"
		"options: -j JSON, -p pretty JSON, -n NETNS run in that network namespace\n"
		"see fastrpcctl(8)\n", prog);
}

static const struct {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
} commands[] = {
	{ "show", cmd_show },
	{ "conn", cmd_conn },
	{ "sock", cmd_sock },
	{ "stats", cmd_stats },
	{ "limits", cmd_limits },
	{ "set", cmd_set },
	{ "reset", cmd_reset },
	{ "monitor", cmd_monitor },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "netns", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { 0 };
	bool pretty = false;
	size_t i;
	int opt, rc;

	if (!stats_table_complete()) {
		fprintf(stderr, "%s: internal error: stats table incomplete\n",
			prog);
		return CTL_ERR;
	}
	while ((opt = getopt_long(argc, argv, "+jpn:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			c.json = true;
			break;
		case 'p':
			pretty = true;
			break;
		case 'n':
			c.netns = optarg;
			break;
		case 'h':
			usage(stdout);
			return CTL_OK;
		default:
			usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[optind], commands[i].name))
			break;
	if (i == ARRAY_SIZE(commands)) {
		fprintf(stderr, "%s: unknown command \"%s\"\n", prog,
			argv[optind]);
		usage(stderr);
		return CTL_USAGE;
	}
	jout.f = stdout;
	jout.pretty = pretty;
	rc = commands[i].fn(&c, argc - optind - 1, argv + optind + 1);
	ctl_close(&c);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "%s: writing output: %s\n", prog,
			strerror(errno));
		rc = CTL_ERR;
	}
	return rc;
}
