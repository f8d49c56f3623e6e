/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fastrpc: trace events, for perf, trace-cmd and bpftrace: calls
 * starting and ending, cancels, deadlines, admission refusals,
 * connection states and protocol errors.  trace.c creates them.
 *
 * Fields are plain integers, so that filters and BPF programs read them
 * as they are.  Nothing is named by a kernel pointer: a socket by its
 * inode number (what fstat() and /proc/PID/fd show), a connection by its
 * id within its network namespace, a namespace by its inode number (what
 * `lsns -t net` and /proc/PID/ns/net show).  A call is named by its
 * wire id on its connection and by its tag: the user's tag on a client,
 * the kernel's call handle on a server.  Peer addresses are stored as 16
 * bytes, IPv4 ones v4-mapped, with the port in host order.
 *
 * The events are named for what they mark, under the system name
 * (fastrpc:call_end), as users type them; the C names that come with
 * them (trace_call_end()) are seen only by the files that include this
 * header.  TP_fast_assign's helpers (frpc_trace_*()) are trace.c's, the
 * one file that creates the events.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM fastrpc

#if !defined(_FRPC_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _FRPC_TRACE_H

#include <linux/tracepoint.h>

struct frpc_call;
struct frpc_conn;

#define FRPC_TRACE_SIDE(client)	((client) ? "client" : "server")

TRACE_DEFINE_ENUM(FRPC_CONN_CONNECTING);
TRACE_DEFINE_ENUM(FRPC_CONN_HELLO);
TRACE_DEFINE_ENUM(FRPC_CONN_READY);
TRACE_DEFINE_ENUM(FRPC_CONN_DRAINING);
TRACE_DEFINE_ENUM(FRPC_CONN_DEAD);

#define FRPC_TRACE_STATE(s)					\
	__print_symbolic(s,					\
			 { FRPC_CONN_CONNECTING, "CONNECTING" },	\
			 { FRPC_CONN_HELLO, "HELLO" },		\
			 { FRPC_CONN_READY, "READY" },		\
			 { FRPC_CONN_DRAINING, "DRAINING" },	\
			 { FRPC_CONN_DEAD, "DEAD" })

/* What every call event carries. */
DECLARE_EVENT_CLASS(fastrpc_call_class,
	TP_PROTO(const struct frpc_call *call),
	TP_ARGS(call),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u64, sock)
		__field(u8, client)
		__field(u32, id)
		__field(u64, tag)
		__field(u32, method)
	),

	TP_fast_assign(
		frpc_trace_call(call, &__entry->netns, &__entry->conn,
				&__entry->sock, &__entry->client);
		__entry->id = call->id;
		__entry->tag = call->key;
		__entry->method = call->method;
	),

	TP_printk("netns=%u conn=%llu sock=%llu side=%s id=%u tag=%llu method=%u",
		  __entry->netns, __entry->conn, __entry->sock,
		  FRPC_TRACE_SIDE(__entry->client), __entry->id, __entry->tag,
		  __entry->method)
);

/*
 * A call started: a client's sendmsg() took it, or a server admitted
 * the CALL frame.  @timeout_ns: its deadline's timeout, 0 for none.
 */
TRACE_EVENT(call_start,
	TP_PROTO(const struct frpc_call *call, u64 timeout_ns),
	TP_ARGS(call, timeout_ns),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u64, sock)
		__field(u8, client)
		__field(u32, id)
		__field(u64, tag)
		__field(u32, method)
		__field(u64, timeout_ns)
	),

	TP_fast_assign(
		frpc_trace_call(call, &__entry->netns, &__entry->conn,
				&__entry->sock, &__entry->client);
		__entry->id = call->id;
		__entry->tag = call->key;
		__entry->method = call->method;
		__entry->timeout_ns = timeout_ns;
	),

	TP_printk("netns=%u conn=%llu sock=%llu side=%s id=%u tag=%llu method=%u timeout_ns=%llu",
		  __entry->netns, __entry->conn, __entry->sock,
		  FRPC_TRACE_SIDE(__entry->client), __entry->id, __entry->tag,
		  __entry->method, __entry->timeout_ns)
);

/*
 * A call ended with @status (enum fastrpc_status): on a client when its
 * result is queued to the socket, on a server when the application's
 * reply is taken or the call is cancelled.  latency_ns is the time since
 * call_start, bytes_out and bytes_in the payload each way (saturating at
 * U32_MAX); all three are 0 for a call that started before this event
 * was enabled.
 */
TRACE_EVENT(call_end,
	TP_PROTO(const struct frpc_call *call, u32 status),
	TP_ARGS(call, status),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u64, sock)
		__field(u8, client)
		__field(u32, id)
		__field(u64, tag)
		__field(u32, method)
		__field(u32, status)
		__field(u64, latency_ns)
		__field(u32, bytes_out)
		__field(u32, bytes_in)
	),

	TP_fast_assign(
		frpc_trace_call(call, &__entry->netns, &__entry->conn,
				&__entry->sock, &__entry->client);
		__entry->id = call->id;
		__entry->tag = call->key;
		__entry->method = call->method;
		__entry->status = status;
		__entry->latency_ns = frpc_trace_latency(call);
		__entry->bytes_out = call->start_ns ? call->tx_bytes : 0;
		__entry->bytes_in = call->start_ns ? call->rx_bytes : 0;
	),

	TP_printk("netns=%u conn=%llu sock=%llu side=%s id=%u tag=%llu method=%u status=%u latency_ns=%llu bytes_out=%u bytes_in=%u",
		  __entry->netns, __entry->conn, __entry->sock,
		  FRPC_TRACE_SIDE(__entry->client), __entry->id, __entry->tag,
		  __entry->method, __entry->status, __entry->latency_ns,
		  __entry->bytes_out, __entry->bytes_in)
);

/*
 * The client application cancelled a call (FASTRPC_CMSG_CANCEL), or a
 * server received the client's CANCEL.  Calls ended by close() or a lost
 * connection show only in call_end's status.
 */
DEFINE_EVENT(fastrpc_call_class, call_cancel,
	TP_PROTO(const struct frpc_call *call),
	TP_ARGS(call)
);

/* A call's deadline passed, on the side whose timer fired. */
DEFINE_EVENT(fastrpc_call_class, call_deadline,
	TP_PROTO(const struct frpc_call *call),
	TP_ARGS(call)
);

/*
 * A server refused a new call at once with @status (RESOURCE_EXHAUSTED
 * past its admission limits, UNAVAILABLE when shutting down).  The call
 * never started: no call_start or call_end for it.
 */
TRACE_EVENT(admission_reject,
	TP_PROTO(const struct frpc_conn *conn, u32 id, u32 method, u32 status),
	TP_ARGS(conn, id, method, status),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u64, sock)
		__field(u32, id)
		__field(u32, method)
		__field(u32, status)
		__field(u16, family)
		__field(u16, port)
		__array(u8, addr, 16)
	),

	TP_fast_assign(
		frpc_trace_conn(conn, &__entry->netns, &__entry->conn,
				&__entry->family, &__entry->port,
				__entry->addr);
		__entry->sock = frpc_trace_server_ino(conn);
		__entry->id = id;
		__entry->method = method;
		__entry->status = status;
	),

	TP_printk("netns=%u conn=%llu sock=%llu id=%u method=%u status=%u family=%u peer=[%pI6c]:%u",
		  __entry->netns, __entry->conn, __entry->sock, __entry->id,
		  __entry->method, __entry->status, __entry->family,
		  __entry->addr, __entry->port)
);

/*
 * A connection moves from one state to another (enum frpc_conn_state):
 * a client's CONNECTING -> HELLO -> READY, a server's HELLO -> READY,
 * then DRAINING after a GOAWAY, and DEAD, with the errno that ended it.
 * loop: the same-host short cut rather than TCP.
 */
TRACE_EVENT(conn_state,
	TP_PROTO(const struct frpc_conn *conn, u8 new_state),
	TP_ARGS(conn, new_state),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u8, client)
		__field(u8, loop)
		__field(u8, old_state)
		__field(u8, new_state)
		__field(s32, err)
		__field(u16, family)
		__field(u16, port)
		__array(u8, addr, 16)
	),

	TP_fast_assign(
		frpc_trace_conn(conn, &__entry->netns, &__entry->conn,
				&__entry->family, &__entry->port,
				__entry->addr);
		frpc_trace_conn_state(conn, &__entry->client, &__entry->loop,
				      &__entry->old_state, &__entry->err);
		__entry->new_state = new_state;
	),

	TP_printk("netns=%u conn=%llu side=%s loop=%u family=%u peer=[%pI6c]:%u %s -> %s err=%d",
		  __entry->netns, __entry->conn,
		  FRPC_TRACE_SIDE(__entry->client), __entry->loop,
		  __entry->family, __entry->addr, __entry->port,
		  FRPC_TRACE_STATE(__entry->old_state),
		  FRPC_TRACE_STATE(__entry->new_state), __entry->err)
);

/*
 * A connection fails for a protocol error with ERROR code @code (enum
 * fastrpc_wire_error_code): found here, and sent to the peer (remote 0),
 * or sent by the peer (remote 1).
 */
TRACE_EVENT(proto_error,
	TP_PROTO(const struct frpc_conn *conn, u32 code, bool remote),
	TP_ARGS(conn, code, remote),

	TP_STRUCT__entry(
		__field(u32, netns)
		__field(u64, conn)
		__field(u8, client)
		__field(u8, remote)
		__field(u32, code)
		__field(u16, family)
		__field(u16, port)
		__array(u8, addr, 16)
	),

	TP_fast_assign(
		frpc_trace_conn(conn, &__entry->netns, &__entry->conn,
				&__entry->family, &__entry->port,
				__entry->addr);
		__entry->client = frpc_trace_client(conn);
		__entry->remote = remote;
		__entry->code = code;
	),

	TP_printk("netns=%u conn=%llu side=%s family=%u peer=[%pI6c]:%u code=%u remote=%u",
		  __entry->netns, __entry->conn,
		  FRPC_TRACE_SIDE(__entry->client), __entry->family,
		  __entry->addr, __entry->port, __entry->code, __entry->remote)
);

#endif /* _FRPC_TRACE_H */

/* Out of the kernel tree: trace.c is built with -I of this directory. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
