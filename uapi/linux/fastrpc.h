/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * AF_FASTRPC: framed, multiplexed RPC sockets over in-kernel TCP.
 *
 * This header is the single definition of the FastRPC ABI: the socket
 * address, socket options, control messages, status codes and the wire
 * frame format.  The C library and the Go bindings include it; nothing
 * else defines these numbers.
 *
 * Model (in the spirit of AF_RXRPC):
 *
 *  - A socket is socket(AF_FASTRPC, SOCK_SEQPACKET, 0).  The address family
 *    number is not fixed by Linux: the module takes it as a parameter whose
 *    default is FASTRPC_AF_DEFAULT and publishes the live value in
 *    /sys/module/af_fastrpc/parameters/family.
 *
 *  - Client: connect() names the server.  Every sendmsg() starts one call
 *    and must carry a FASTRPC_CMSG_CALL control message holding the caller's
 *    64-bit tag.  The reply comes back through recvmsg() with a
 *    FASTRPC_CMSG_RESULT control message carrying the same tag and a status.
 *    Many calls may be in flight on one socket; replies arrive in completion
 *    order, not submission order.
 *
 *  - Server: bind() to a port, listen().  recvmsg() returns one incoming
 *    call per message, the caller's address in msg_name and a
 *    FASTRPC_CMSG_INCOMING control message with the kernel's call handle.
 *    sendmsg() with a FASTRPC_CMSG_REPLY control message naming that handle
 *    answers the call.  Several threads may recvmsg() on one server socket.
 *
 *  - Every message returned by recvmsg() is complete and has MSG_EOR set.
 *    A buffer too small for it gets the first part, MSG_TRUNC in msg_flags,
 *    and the rest is discarded; passing MSG_TRUNC in flags makes recvmsg()
 *    return the full length, as packet sockets do.
 *
 * All structures are fixed-size; reserved fields must be zero on input and
 * are zero on output.  A structure given with the wrong length is refused
 * with EINVAL.
 */
#ifndef _UAPI_LINUX_FASTRPC_H
#define _UAPI_LINUX_FASTRPC_H

#include <linux/types.h>
#include <linux/socket.h>
#include <linux/in6.h>

/* Address family used when the module is loaded without family=N. */
#define FASTRPC_AF_DEFAULT	25
/* Level for setsockopt()/getsockopt() and for control messages. */
#define SOL_FASTRPC		0x4652

/**
 * struct sockaddr_fastrpc - address of a FastRPC endpoint
 * @sfr_family:	AF_FASTRPC (the live number, see above)
 * @sfr_ip_family: AF_INET or AF_INET6: which member of @sfr_addr is valid
 * @sfr_port:	TCP port, network byte order
 * @sfr_reserved: zero
 * @sfr_addr:	peer (connect) or local (bind) IP address; for bind() the
 *		address must be the wildcard of its family: a server listens
 *		on every address of its network namespace
 * @sfr_scope_id: IPv6 scope (interface index) for link-local addresses
 */
struct sockaddr_fastrpc {
	__kernel_sa_family_t	sfr_family;
	__u16			sfr_ip_family;
	__be16			sfr_port;
	__u16			sfr_reserved;
	union {
		__be32		v4;
		struct in6_addr	v6;
	} sfr_addr;
	__u32			sfr_scope_id;
};

/* Control message types at level SOL_FASTRPC. */
enum fastrpc_cmsg_type {
	FASTRPC_CMSG_CALL	= 1,	/* sendmsg, client: struct fastrpc_call */
	FASTRPC_CMSG_RESULT	= 2,	/* recvmsg, client: struct fastrpc_result */
	FASTRPC_CMSG_INCOMING	= 3,	/* recvmsg, server: struct fastrpc_incoming */
	FASTRPC_CMSG_REPLY	= 4,	/* sendmsg, server: struct fastrpc_reply */
};

/**
 * struct fastrpc_call - start a call (client sendmsg)
 * @tag:	the caller's name for the call, echoed in its result.  Tags must
 *		be unique among the socket's calls in flight (EEXIST otherwise)
 * @method:	method number, passed to the server untouched
 * @flags:	zero (no flags are defined yet)
 * @timeout_ns:	zero; reserved for deadlines
 * @reserved:	zero
 */
struct fastrpc_call {
	__u64	tag;
	__u32	method;
	__u32	flags;
	__u64	timeout_ns;
	__u64	reserved;
};

/**
 * struct fastrpc_result - how a call ended (client recvmsg)
 * @tag:	the tag given in struct fastrpc_call
 * @status:	enum fastrpc_status; the payload is the server's reply for
 *		FASTRPC_OK and whatever the server sent with an error status
 * @flags:	zero
 */
struct fastrpc_result {
	__u64	tag;
	__u32	status;
	__u32	flags;
};

/**
 * struct fastrpc_incoming - a call arriving at a server (server recvmsg)
 * @handle:	the kernel's name for the call; pass it back in
 *		struct fastrpc_reply.  Handles of finished calls are not reused
 *		soon: a stale handle gets ENOENT
 * @method:	method number sent by the client
 * @flags:	zero
 * @timeout_ns:	zero; reserved for deadlines
 * @reserved:	zero
 */
struct fastrpc_incoming {
	__u64	handle;
	__u32	method;
	__u32	flags;
	__u64	timeout_ns;
	__u64	reserved;
};

/**
 * struct fastrpc_reply - answer a call (server sendmsg)
 * @handle:	from struct fastrpc_incoming
 * @status:	enum fastrpc_status sent to the client
 * @flags:	zero
 * @reserved:	zero
 */
struct fastrpc_reply {
	__u64	handle;
	__u32	status;
	__u32	flags;
	__u64	reserved;
};

/*
 * Call status, as seen by the client in struct fastrpc_result.  The values
 * are those of gRPC so that gateways map them one to one.  Values 0..16 may
 * be sent by a server; the kernel itself produces CANCELLED, UNAVAILABLE,
 * RESOURCE_EXHAUSTED, INTERNAL and DEADLINE_EXCEEDED.
 */
enum fastrpc_status {
	FASTRPC_OK			= 0,
	FASTRPC_CANCELLED		= 1,
	FASTRPC_UNKNOWN			= 2,
	FASTRPC_INVALID_ARGUMENT	= 3,
	FASTRPC_DEADLINE_EXCEEDED	= 4,
	FASTRPC_NOT_FOUND		= 5,
	FASTRPC_ALREADY_EXISTS		= 6,
	FASTRPC_PERMISSION_DENIED	= 7,
	FASTRPC_RESOURCE_EXHAUSTED	= 8,
	FASTRPC_FAILED_PRECONDITION	= 9,
	FASTRPC_ABORTED			= 10,
	FASTRPC_OUT_OF_RANGE		= 11,
	FASTRPC_UNIMPLEMENTED		= 12,
	FASTRPC_INTERNAL		= 13,
	FASTRPC_UNAVAILABLE		= 14,
	FASTRPC_DATA_LOSS		= 15,
	FASTRPC_UNAUTHENTICATED		= 16,
	FASTRPC_STATUS_MAX		= FASTRPC_UNAUTHENTICATED,
};

/* Socket options at level SOL_FASTRPC. */
enum fastrpc_sockopt {
	/* get: struct fastrpc_features */
	FASTRPC_FEATURES	= 1,
	/* get/set: __u32, most calls in flight on this socket (client) or
	 * handed to the application and not yet answered (server)
	 */
	FASTRPC_MAX_CALLS	= 2,
	/* get: struct fastrpc_sock_info */
	FASTRPC_SOCK_INFO	= 3,
};

/* Bits of fastrpc_features.features. */
#define FASTRPC_FEAT_IPV6	(1ULL << 0)
#define FASTRPC_FEAT_SHARED_CONN (1ULL << 1)

/**
 * struct fastrpc_features - what the loaded module supports
 * @size:	sizeof(struct fastrpc_features) as known to the kernel; a
 *		shorter buffer is filled as far as it goes
 * @proto_min:	lowest wire protocol version spoken
 * @proto_max:	highest wire protocol version spoken
 * @max_msg:	largest message, in bytes, one call may carry each way
 * @max_calls:	upper bound of FASTRPC_MAX_CALLS
 * @features:	FASTRPC_FEAT_* bits
 * @default_calls: FASTRPC_MAX_CALLS of a new socket
 * @reserved0:	zero
 * @reserved:	zero
 */
struct fastrpc_features {
	__u32	size;
	__u16	proto_min;
	__u16	proto_max;
	__u32	max_msg;
	__u32	max_calls;
	__u64	features;
	__u32	default_calls;
	__u32	reserved0;
	__u64	reserved[3];
};

/**
 * struct fastrpc_sock_info - state of one socket
 * @calls_in_flight: client: calls sent and not yet received; server: calls
 *		delivered to the application and not yet answered
 * @rx_queued:	complete messages waiting for recvmsg()
 * @conn_id:	client: id of the shared connection in use (0 if none);
 *		two sockets with the same conn_id share one TCP connection
 * @reserved:	zero
 */
struct fastrpc_sock_info {
	__u32	calls_in_flight;
	__u32	rx_queued;
	__u64	conn_id;
	__u64	reserved[4];
};

/*
 * Wire protocol, version 1.  Documentation/networking/fastrpc-wire.rst
 * describes it byte by byte; this is the reference for the numbers.
 *
 * The TCP stream is a sequence of frames.  Each frame is a 12-byte header
 * followed by @length bytes of payload.  All integers are big-endian.
 * Calls are started by the connecting side only; call ids are chosen by it,
 * are nonzero, and are never reused on one connection.
 */
#define FASTRPC_PROTO_V1	1
#define FASTRPC_PROTO_MIN	FASTRPC_PROTO_V1
#define FASTRPC_PROTO_MAX	FASTRPC_PROTO_V1
#define FASTRPC_HELLO_MAGIC	0x46525043	/* "FRPC" */

/**
 * struct fastrpc_frame_hdr - header of every frame on the wire
 * @version:	protocol version in use (HELLO: the sender's highest)
 * @type:	enum fastrpc_frame_type
 * @flags:	FASTRPC_FF_* bits; unknown bits are a protocol error
 * @call_id:	call the frame belongs to; 0 for connection frames
 * @length:	payload bytes following this header
 */
struct fastrpc_frame_hdr {
	__u8	version;
	__u8	type;
	__be16	flags;
	__be32	call_id;
	__be32	length;
};

enum fastrpc_frame_type {
	FASTRPC_FRAME_HELLO	= 1,	/* connection: struct fastrpc_wire_hello */
	FASTRPC_FRAME_SETTINGS	= 2,	/* connection: reserved */
	FASTRPC_FRAME_CALL	= 3,	/* call: struct fastrpc_wire_call + data */
	FASTRPC_FRAME_DATA	= 4,	/* call: message bytes */
	FASTRPC_FRAME_END	= 5,	/* call: struct fastrpc_wire_end + data */
	FASTRPC_FRAME_CANCEL	= 6,	/* call: no payload */
	FASTRPC_FRAME_CREDIT	= 7,	/* reserved */
	FASTRPC_FRAME_PING	= 8,	/* connection: 8 opaque bytes */
	FASTRPC_FRAME_PONG	= 9,	/* connection: the PING's 8 bytes */
	FASTRPC_FRAME_GOAWAY	= 10,	/* connection: struct fastrpc_wire_error */
	FASTRPC_FRAME_ERROR	= 11,	/* connection: struct fastrpc_wire_error */
	FASTRPC_FRAME_TYPE_MAX	= FASTRPC_FRAME_ERROR,
};

/* Frame flags. */
#define FASTRPC_FF_EOM		0x0001	/* last fragment of a message */
#define FASTRPC_FF_ALL		FASTRPC_FF_EOM

/* Limits of protocol version 1. */
enum fastrpc_wire_limits {
	FASTRPC_FRAME_HDR_LEN	= 12,
	/* largest payload of one frame; bigger messages are fragmented */
	FASTRPC_MAX_FRAME	= 65536,
	/* largest message of one call in either direction */
	FASTRPC_MAX_MSG		= 4 << 20,
};

/**
 * struct fastrpc_wire_hello - first frame in each direction
 * @magic:	FASTRPC_HELLO_MAGIC
 * @min_version: lowest protocol version the sender speaks
 * @max_version: highest protocol version the sender speaks
 * @reserved:	zero
 * @max_frame:	largest frame payload the sender accepts
 * @max_msg:	largest message the sender accepts
 * @features:	reserved feature bits, zero in v1
 *
 * The connecting side sends its HELLO first; the accepting side answers
 * with the highest version both speak in @max_version (== @min_version),
 * or with an ERROR frame (FASTRPC_WERR_VERSION) if there is none.
 */
struct fastrpc_wire_hello {
	__be32	magic;
	__u8	min_version;
	__u8	max_version;
	__be16	reserved;
	__be32	max_frame;
	__be32	max_msg;
	__be64	features;
};

/**
 * struct fastrpc_wire_call - payload head of a CALL frame
 * @method:	method number
 * @flags:	zero in v1
 * @timeout_ns:	zero in v1
 *
 * Request bytes follow in the same frame; if the request does not fit,
 * the CALL frame lacks FASTRPC_FF_EOM and DATA frames carry the rest.
 */
struct fastrpc_wire_call {
	__be32	method;
	__be32	flags;
	__be64	timeout_ns;
};

/**
 * struct fastrpc_wire_end - payload head of an END frame (server to client)
 * @status:	enum fastrpc_status
 * @reserved:	zero
 *
 * Reply bytes follow.  A reply that does not fit in one frame is sent as
 * DATA frames first; the END frame carries the last fragment and always
 * has FASTRPC_FF_EOM.  END finishes the call.
 */
struct fastrpc_wire_end {
	__be32	status;
	__be32	reserved;
};

/**
 * struct fastrpc_wire_error - payload of ERROR and GOAWAY frames
 * @code:	enum fastrpc_wire_error_code
 * @reserved:	zero
 */
struct fastrpc_wire_error {
	__be32	code;
	__be32	reserved;
};

enum fastrpc_wire_error_code {
	FASTRPC_WERR_NONE	= 0,	/* GOAWAY: orderly shutdown */
	FASTRPC_WERR_PROTOCOL	= 1,	/* malformed frame or bad sequence */
	FASTRPC_WERR_VERSION	= 2,	/* no common protocol version */
	FASTRPC_WERR_FRAME_SIZE	= 3,	/* frame or message over the limit */
	FASTRPC_WERR_CALL_ID	= 4,	/* unknown, zero or reused call id */
	FASTRPC_WERR_RESOURCE	= 5,	/* peer exceeded a resource limit */
};

#endif /* _UAPI_LINUX_FASTRPC_H */
