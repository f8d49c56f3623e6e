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
 *  - Each recvmsg() returns exactly one complete message.  MSG_EOR marks
 *    the last message of a call in that direction: the client's result
 *    (which carries the call's final status), or the client's last request
 *    message as seen by the server.  Unary calls have one message each way,
 *    so every message of a unary call has MSG_EOR.  A buffer too small for
 *    a message gets the first part, MSG_TRUNC in msg_flags, and the rest is
 *    discarded; passing MSG_TRUNC in flags makes recvmsg() return the full
 *    length, as packet sockets do.
 *
 *  - Streaming: a call started with FASTRPC_CALL_STREAM stays open after
 *    its first message; the client sends more with FASTRPC_CMSG_SEND and
 *    ends its side with MSG_EOR.  The server may send any number of
 *    messages with FASTRPC_CMSG_SEND before its final FASTRPC_CMSG_REPLY.
 *    Each call is flow controlled on its own (see "Flow control" below).
 *
 *  - Every call ends with exactly one result at the client: the server's
 *    status, or one the kernel made (CANCELLED, DEADLINE_EXCEEDED,
 *    UNAVAILABLE, RESOURCE_EXHAUSTED).
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
 *		wildcard of its family (a server on every address of its
 *		network namespace) or one local address, such as 127.0.0.1
 *		for a server only this host may call
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
	FASTRPC_CMSG_SEND	= 5,	/* sendmsg: struct fastrpc_send */
	FASTRPC_CMSG_CANCEL	= 6,	/* sendmsg, client: __u64 tag, no data */
	FASTRPC_CMSG_METADATA	= 7,	/* both ways: metadata entries */
	FASTRPC_CMSG_STATUS_MSG	= 8,	/* REPLY / last RESULT: UTF-8 text */
	FASTRPC_CMSG_TIMEOUT	= 9,	/* sendmsg, with CALL: __u64 timeout_ns */
};

/*
 * Size of the control messages of sendmsg().  The socket layer copies
 * up to sizeof(struct cmsghdr) + 20 bytes of control data (36 on 64-bit)
 * into a buffer on its stack and allocates for anything larger.  A call
 * and a reply fit (CMSG_SPACE(16) is 32 on 64-bit), so the common call
 * and reply cost no allocation.  Each optional control message
 * (FASTRPC_CMSG_TIMEOUT, FASTRPC_CMSG_METADATA, FASTRPC_CMSG_STATUS_MSG)
 * makes the buffer larger than that: a call with a deadline costs one
 * kmalloc() and kfree() in the socket layer, as every call did before.
 * Give msg_controllen as the sum of the CMSG_SPACE() of the messages
 * actually sent, not the size of a larger buffer.
 */

/*
 * FASTRPC_CMSG_METADATA: request headers (with FASTRPC_CMSG_CALL, and on
 * the first FASTRPC_CMSG_INCOMING) or reply trailers (with
 * FASTRPC_CMSG_REPLY, and on the final FASTRPC_CMSG_RESULT).  The data is
 * a sequence of entries, each a struct fastrpc_meta_entry followed by the
 * key and then the value bytes, with no padding.  Keys are 1..255 bytes,
 * values 0..65535 bytes, and the whole sequence at most
 * FASTRPC_MAX_METADATA bytes; the kernel checks the framing and passes the
 * bytes through unchanged.
 */
struct fastrpc_meta_entry {
	__u8	key_len;	/* key bytes that follow, 1..255 */
	__u8	reserved;	/* zero */
	__be16	value_len;	/* value bytes after the key, big-endian */
};

/* FASTRPC_CMSG_STATUS_MSG: at most this many bytes, no NUL needed. */
#define FASTRPC_MAX_STATUS_MSG	1024
#define FASTRPC_MAX_METADATA	4096

/**
 * struct fastrpc_call - start a call (client sendmsg)
 * @tag:	the caller's name for the call, echoed in its result.  Tags must
 *		be unique among the socket's calls in flight (EEXIST otherwise)
 * @method:	method number, passed to the server untouched
 * @flags:	FASTRPC_CALL_* bits
 *
 * A deadline is a separate, optional control message in the same
 * sendmsg(): FASTRPC_CMSG_TIMEOUT carrying one __u64, the deadline
 * relative to now in nanoseconds (0 for none, as if it were absent).
 * When it passes the call ends with FASTRPC_DEADLINE_EXCEEDED and the
 * server is told to cancel it; the server's socket sees the time left in
 * struct fastrpc_incoming.  FASTRPC_CMSG_TIMEOUT is refused with EINVAL
 * without FASTRPC_CMSG_CALL, when given twice, or with a length other
 * than sizeof(__u64).  Modules that take it report FASTRPC_FEAT_CMSG_TIMEOUT.
 */
struct fastrpc_call {
	__u64	tag;
	__u32	method;
	__u32	flags;
};

/* The call stays open after this message: more follow with CMSG_SEND. */
#define FASTRPC_CALL_STREAM	(1U << 0)
#define FASTRPC_CALL_ALL	FASTRPC_CALL_STREAM

/**
 * struct fastrpc_send - another message on an open call (sendmsg)
 * @id:		client: the call's tag; server: the call's handle
 * @flags:	zero
 * @reserved:	zero
 *
 * A client's MSG_EOR ends its side of the call (half-close).  A server
 * ends the call with FASTRPC_CMSG_REPLY, never with this.
 */
struct fastrpc_send {
	__u64	id;
	__u32	flags;
	__u32	reserved;
};

/**
 * struct fastrpc_result - a message of a call, or how it ended (client recvmsg)
 * @tag:	the tag given in struct fastrpc_call
 * @status:	with MSG_EOR: enum fastrpc_status, the end of the call; the
 *		payload is the server's last message.  Without MSG_EOR: 0,
 *		one message of a streaming reply
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
 * @flags:	FASTRPC_IN_* bits
 * @timeout_ns:	time left before the client's deadline, as this host's
 *		timer counts it, when recvmsg() returns the call (at least 1
 *		once it is due); 0 for none.  The kernel cancels the call then
 * @reserved:	zero
 */
struct fastrpc_incoming {
	__u64	handle;
	__u32	method;
	__u32	flags;
	__u64	timeout_ns;
	__u64	reserved;
};

/* Not the call's first message: the handle was given before. */
#define FASTRPC_IN_CONT		(1U << 0)
/* The call was cancelled (by the client, its deadline or its connection
 * going away): no data, MSG_EOR set.  A later reply gets ECANCELED.
 */
#define FASTRPC_IN_CANCELLED	(1U << 1)
/* With FASTRPC_IN_CANCELLED: the cause was the call's deadline, seen by
 * this host's timer or by the client's (its CANCEL then says so,
 * FASTRPC_FF_DEADLINE, if its HELLO offered to: a client that does not
 * leaves its deadline's CANCEL unmarked).  Modules that set it report
 * FASTRPC_FEAT_IN_DEADLINE; without that bit, its absence says nothing.
 */
#define FASTRPC_IN_DEADLINE	(1U << 2)

/**
 * struct fastrpc_reply - answer a call (server sendmsg)
 * @handle:	from struct fastrpc_incoming
 * @status:	enum fastrpc_status sent to the client
 * @flags:	zero
 */
struct fastrpc_reply {
	__u64	handle;
	__u32	status;
	__u32	flags;
};

/*
 * Call status, as seen by the client in struct fastrpc_result.  The values
 * are those of gRPC so that gateways map them one to one.  Values 0..16 may
 * be sent by a server; the kernel itself produces CANCELLED, UNAVAILABLE,
 * RESOURCE_EXHAUSTED and DEADLINE_EXCEEDED.
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
	/* get/set: int, 1 (the default) or 0.  Connections this client
	 * socket opens to a server socket in the same network namespace
	 * skip TCP (the same-host short cut) unless it is 0, or the
	 * module parameter "loopback" is 0; then they use TCP, visible in
	 * ss and to netfilter.  Takes effect for the connections opened
	 * after it is set; a socket with 0 never shares a connection that
	 * may take the short cut.  Calls on the short cut bypass
	 * netfilter, tc and packet capture on "lo": see
	 * Documentation/operations.rst.
	 */
	FASTRPC_LOOPBACK	= 4,
	/* set: struct fastrpc_ring_setup, once per socket; get: struct
	 * fastrpc_ring_info (ENXIO before set up).  See "Rings" below.
	 */
	FASTRPC_RING		= 5,
};

/*
 * Flow control, per socket: the bytes of messages accepted by sendmsg()
 * and not yet written to TCP are charged to SO_SNDBUF (one message is
 * always accepted when nothing is queued, so a message larger than the
 * buffer can still go); past it sendmsg() blocks or fails with EAGAIN and
 * poll() drops POLLOUT.  Complete received messages not yet read are
 * charged to SO_RCVBUF; past it the kernel stops granting the peer credit
 * for this socket's calls, so the peer's senders stop, call by call,
 * instead of the connection stalling.
 */

/* Bits of fastrpc_features.features. */
#define FASTRPC_FEAT_IPV6	(1ULL << 0)
#define FASTRPC_FEAT_SHARED_CONN (1ULL << 1)
#define FASTRPC_FEAT_STREAMING	(1ULL << 2)	/* CALL_STREAM, CMSG_SEND */
#define FASTRPC_FEAT_DEADLINES	(1ULL << 3)	/* CMSG_TIMEOUT, CMSG_CANCEL */
#define FASTRPC_FEAT_METADATA	(1ULL << 4)	/* CMSG_METADATA, STATUS_MSG */
#define FASTRPC_FEAT_FLOW	(1ULL << 5)	/* per-call credit windows */
/* 16-byte struct fastrpc_call and fastrpc_reply, the deadline in its own
 * FASTRPC_CMSG_TIMEOUT.  Modules without this bit took 32- and 24-byte
 * structs (the deadline inside struct fastrpc_call) and refuse these
 * with EINVAL.
 */
#define FASTRPC_FEAT_CMSG_TIMEOUT (1ULL << 6)
/* the same-host short cut and FASTRPC_LOOPBACK */
#define FASTRPC_FEAT_LOOPBACK	(1ULL << 7)
/* FASTRPC_RING: submission and completion rings, see "Rings" below */
#define FASTRPC_FEAT_RING	(1ULL << 8)
/* FASTRPC_IN_DEADLINE (FASTRPC_CQE_F_DEADLINE) on cancellation notices */
#define FASTRPC_FEAT_IN_DEADLINE (1ULL << 9)
/* FASTRPC_SQE_LEND and FASTRPC_CQE_SENT */
#define FASTRPC_FEAT_RING_LEND	(1ULL << 10)
/* send(fd, NULL, 0, MSG_WAITALL) on a socket with rings: submit, then wait
 * (spinning first for SO_BUSY_POLL microseconds)
 */
#define FASTRPC_FEAT_RING_WAIT	(1ULL << 11)
/* a server socket after shutdown(SHUT_RD) reads end of file once drained:
 * recvmsg() 0, EPOLLRDHUP, the ring wait ESHUTDOWN
 */
#define FASTRPC_FEAT_SHUTDOWN_EOF (1ULL << 12)

/**
 * struct fastrpc_features - what the loaded module supports
 * @size:	sizeof(struct fastrpc_features) as known to the kernel; a
 *		shorter buffer is filled as far as it goes
 * @proto_min:	lowest wire protocol version spoken
 * @proto_max:	highest wire protocol version spoken
 * @max_msg:	largest message, in bytes, one call may carry each way
 * @max_calls:	upper bound of FASTRPC_MAX_CALLS
 * @features:	FASTRPC_FEAT_* bits
 * @default_calls: FASTRPC_MAX_CALLS of a new socket of the caller's network
 *		namespace (module parameter default_calls, or the namespace's
 *		own value, FASTRPC_A_LIMITS_DEFAULT_CALLS)
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
 * @tx_queued:	bytes of messages accepted by sendmsg() and not yet sent,
 *		plus 256 for each such message (its bookkeeping: empty
 *		messages count too); compare with SO_SNDBUF
 * @rx_bytes:	bytes of complete messages waiting for recvmsg()
 * @rtt_us:	client: smoothed keepalive round trip of the connection, 0
 *		if not measured yet
 * @reserved0:	zero (padding to the next 8-byte field)
 * @reserved:	zero
 */
struct fastrpc_sock_info {
	__u32	calls_in_flight;
	__u32	rx_queued;
	__u64	conn_id;
	__u32	tx_queued;
	__u32	rx_bytes;
	__u32	rtt_us;
	__u32	reserved0;
	__u64	reserved[2];
};

/*
 * Rings.  Documentation/rings.rst has the whole story and an example.
 *
 * setsockopt(FASTRPC_RING) gives a socket three shared regions, each
 * mapped with mmap() at its fixed page offset below: a submission queue
 * (SQ) of struct fastrpc_sqe, a completion queue (CQ) of struct
 * fastrpc_cqe, and a buffer area that payloads are read from and written
 * to.  getsockopt(FASTRPC_RING) says where the indices and entries lie in
 * the two queue regions (struct fastrpc_ring_info); nothing else about
 * their layout is ABI.
 *
 * The producer/consumer contract, for both queues: @producer and
 * @consumer are free-running __u32 counts, never reset, compared and
 * subtracted modulo 2^32; entry i lives at index (i & (entries - 1)).
 * The producer writes an entry, then stores @producer + n with release
 * semantics; the consumer loads @producer with acquire semantics, reads
 * the entries up to it, then stores @consumer with release semantics.
 * Each side writes only its own index: user space produces the SQ and
 * consumes the CQ, the kernel the opposite.  The kernel keeps its own
 * copy of the indices it writes and never reads them back; it reads each
 * SQ entry once, checks it, and clamps what it reads of the other side's
 * index, so garbage in the shared pages costs their writer its own calls
 * and nothing else.
 *
 * Submitting: the kernel consumes SQ entries when told to, with
 * send(fd, NULL, 0, flags) and no control message (which returns the
 * number of entries consumed), and on its own while it works for the
 * socket anyway (delivering a message).  The SQ's @flags word holds
 * FASTRPC_RING_NEED_WAKEUP while the kernel is not going to look at the
 * SQ again on its own: after storing @producer, user space issues a full
 * barrier, reads @flags, and calls send() only if the bit is set.
 * send(fd, NULL, 0, MSG_WAITALL) consumes the SQ and then sleeps until a
 * completion is there to reap (or SO_RCVTIMEO, or a signal, or ESHUTDOWN
 * on a server after shutdown(SHUT_RD) once its connections have all
 * closed: no completion will come): submit and
 * wait in one system call; with SO_BUSY_POLL it spins that many
 * microseconds first, delivering what arrives itself.  MSG_WAITALL on
 * anything but this doorbell fails with EOPNOTSUPP.
 *
 * An entry the kernel cannot take yet (SO_SNDBUF or FASTRPC_MAX_CALLS
 * full, the connection still opening, no room in the CQ for the error it
 * might need) stays in the SQ and consumption stops there: send() then
 * fails with EAGAIN if it consumed nothing; poll() says when to retry
 * (EPOLLOUT for send room, EPOLLIN for completions to reap).  An entry
 * that fails for good is consumed and completes with a
 * FASTRPC_CQE_ERROR; the ring goes on.  Completions are never dropped:
 * incoming messages wait in the socket (charged to SO_RCVBUF, so flow
 * control holds the peer back) until the CQ and the buffer area have
 * room; they move on at the next send(), poll() or arriving message.
 *
 * Buffers: the buffer area is @buf_count buffers of @buf_size bytes.  The
 * first @rx_bufs belong to the kernel, which copies each incoming
 * message into a run of free ones and lends them to user space with the
 * message's completion; FASTRPC_OP_BUF_RETURN (or FASTRPC_SQE_RETURN_BUF
 * on any entry) gives a run back.  The others are user space's own.  An
 * outgoing payload may lie anywhere in the area, a lent run included: the
 * kernel has copied it when the entry is consumed, so its bytes may be
 * reused then.  Unless the entry has FASTRPC_SQE_LEND: then the kernel
 * reads the payload from the area as it writes the message, with no copy
 * of its own, and the bytes stay the kernel's until the entry's
 * FASTRPC_CQE_SENT completion; an entry whose operation fails (a
 * FASTRPC_CQE_ERROR with the entry's own op) gets no FASTRPC_CQE_SENT,
 * and its bytes are free again at once.  With FASTRPC_SQE_RETURN_BUF too, the run at @buf
 * goes back when FASTRPC_CQE_SENT is posted, not when the entry is
 * consumed, so that a reply can go straight from the run its request
 * came in.  A FASTRPC_CQE_SENT that finds the CQ full waits in the
 * kernel, ahead of incoming messages, and the room it waits for is not
 * given to new entries, so none is dropped; a CQ sized for the lent
 * entries in flight as well as the calls spares the wait.  Only the
 * payload is lent: metadata and status message are copied at once.
 *
 * Sockets with rings and the socket calls: sendmsg() with control
 * messages works as before.  recvmsg() returns only the messages too
 * large for the kernel's buffers (their completions carry
 * FASTRPC_CQE_F_RECVMSG and no buffer); everything else comes through
 * the CQ.  poll() reports EPOLLIN while the CQ holds completions or such
 * a message waits.  Rings last until the socket is released: close()
 * and the last munmap() of its regions (a mapping holds the file).  The
 * regions must be mapped shared (MAP_SHARED), not executable.
 */
#define FASTRPC_RING_OFF_SQ	0x00000000ULL	/* mmap() page offsets, in bytes */
#define FASTRPC_RING_OFF_CQ	0x80000000ULL
#define FASTRPC_RING_OFF_BUF	0x100000000ULL

/* Limits of struct fastrpc_ring_setup. */
#define FASTRPC_RING_MAX_ENTRIES	32768
#define FASTRPC_RING_MIN_BUF		64
#define FASTRPC_RING_MAX_BUF		(4 << 20)
#define FASTRPC_RING_MAX_AREA		(1U << 30)

/**
 * struct fastrpc_ring_setup - sizes of a socket's rings (setsockopt)
 * @sq_entries:	SQ entries, a power of two, 1..FASTRPC_RING_MAX_ENTRIES
 * @cq_entries:	CQ entries, a power of two, 1..FASTRPC_RING_MAX_ENTRIES
 * @buf_size:	bytes per buffer, a power of two, FASTRPC_RING_MIN_BUF ..
 *		FASTRPC_RING_MAX_BUF
 * @buf_count:	buffers; @buf_size * @buf_count at most FASTRPC_RING_MAX_AREA
 * @rx_bufs:	the first @rx_bufs buffers receive; 1..@buf_count
 * @flags:	zero
 * @reserved:	zero
 *
 * The pages are charged to the memory cgroup of the caller.  EINVAL for
 * sizes out of range, EBUSY if the socket has rings already.
 */
struct fastrpc_ring_setup {
	__u32	sq_entries;
	__u32	cq_entries;
	__u32	buf_size;
	__u32	buf_count;
	__u32	rx_bufs;
	__u32	flags;
	__u64	reserved;
};

/**
 * struct fastrpc_ring_offsets - where a queue's parts lie in its region
 * @producer:	byte offset of the __u32 producer index
 * @consumer:	byte offset of the __u32 consumer index
 * @flags:	byte offset of the __u32 flags word (FASTRPC_RING_*)
 * @desc:	byte offset of entry 0
 */
struct fastrpc_ring_offsets {
	__u64	producer;
	__u64	consumer;
	__u64	flags;
	__u64	desc;
};

/**
 * struct fastrpc_ring_info - a socket's rings (getsockopt)
 * @size:	sizeof(struct fastrpc_ring_info) as known to the kernel; a
 *		shorter buffer (at least up to @cq) is filled as far as it goes
 * @reserved0:	zero
 * @setup:	the sizes set up
 * @sq:		offsets in the region at FASTRPC_RING_OFF_SQ
 * @cq:		offsets in the region at FASTRPC_RING_OFF_CQ
 * @sq_size:	bytes to map at FASTRPC_RING_OFF_SQ
 * @cq_size:	bytes to map at FASTRPC_RING_OFF_CQ
 * @buf_size:	bytes to map at FASTRPC_RING_OFF_BUF
 *		(@setup.buf_size * @setup.buf_count, rounded up to a page)
 */
struct fastrpc_ring_info {
	__u32				size;
	__u32				reserved0;
	struct fastrpc_ring_setup	setup;
	struct fastrpc_ring_offsets	sq;
	struct fastrpc_ring_offsets	cq;
	__u64				sq_size;
	__u64				cq_size;
	__u64				buf_size;
};

/* SQ flags word: send() is needed for the kernel to see new entries. */
#define FASTRPC_RING_NEED_WAKEUP	(1U << 0)

/* No buffer: in struct fastrpc_cqe, @buf of a message without bytes. */
#define FASTRPC_RING_NO_BUF		0xffffffffU

enum fastrpc_ring_op {
	/* client: start a call; @id tag, @method, @timeout_ns,
	 * FASTRPC_SQE_STREAM (and FASTRPC_SQE_EOR to end a stream's
	 * sending side with this first message)
	 */
	FASTRPC_OP_CALL		= 1,
	/* another message on an open call; client: @id tag, FASTRPC_SQE_EOR
	 * ends its side; server: @id handle
	 */
	FASTRPC_OP_SEND		= 2,
	/* client: cancel call @id (tag); no data */
	FASTRPC_OP_CANCEL	= 3,
	/* server: answer call @id (handle) with status @method */
	FASTRPC_OP_REPLY	= 4,
	/* give back the run of receive buffers at @buf; nothing else */
	FASTRPC_OP_BUF_RETURN	= 5,
	FASTRPC_OP_MAX		= FASTRPC_OP_BUF_RETURN,
};

/* struct fastrpc_sqe flags */
#define FASTRPC_SQE_STREAM	(1U << 0)	/* CALL: FASTRPC_CALL_STREAM */
#define FASTRPC_SQE_EOR		(1U << 1)	/* client CALL (stream), SEND */
#define FASTRPC_SQE_RETURN_BUF	(1U << 2)	/* also give back @buf */
/* CALL, SEND, REPLY with @len > 0: payload read in place, see "Buffers" */
#define FASTRPC_SQE_LEND	(1U << 3)
#define FASTRPC_SQE_ALL		(FASTRPC_SQE_STREAM | FASTRPC_SQE_EOR | \
				 FASTRPC_SQE_RETURN_BUF | FASTRPC_SQE_LEND)

/**
 * struct fastrpc_sqe - one submission
 * @op:		enum fastrpc_ring_op
 * @flags:	FASTRPC_SQE_* bits
 * @meta_len:	CALL, REPLY: bytes of metadata entries at @addr (as in
 *		FASTRPC_CMSG_METADATA); zero otherwise
 * @method:	CALL: method number; REPLY: enum fastrpc_status; else zero
 * @id:		CALL, SEND, CANCEL, REPLY: the call's tag (client) or handle
 *		(server)
 * @addr:	offset in the buffer area of the metadata, then the status
 *		message (REPLY), then the @len payload bytes
 * @len:	payload bytes, at most FASTRPC_MAX_MSG
 * @buf:	BUF_RETURN, or with FASTRPC_SQE_RETURN_BUF: the offset of a run
 *		of receive buffers, as its completion gave it
 * @smsg_len:	REPLY: bytes of status message after the metadata
 * @reserved0:	zero
 * @timeout_ns:	CALL: deadline relative to now, 0 for none
 * @reserved:	zero
 *
 * Fields an op does not use must be zero (EINVAL otherwise).  The same
 * rules as sendmsg()'s verbs apply; what sendmsg() would fail with is the
 * error of the entry's FASTRPC_CQE_ERROR; offsets outside the area fail
 * with EFAULT, a @len over FASTRPC_MAX_MSG with EMSGSIZE.  A malformed
 * entry (EINVAL, EFAULT, EMSGSIZE before anything runs) does nothing at
 * all.  A well-formed one with FASTRPC_SQE_RETURN_BUF gives its @buf back
 * whether the operation then succeeds or not.
 */
struct fastrpc_sqe {
	__u8	op;
	__u8	flags;
	__u16	meta_len;
	__u32	method;
	__u64	id;
	__u32	addr;
	__u32	len;
	__u32	buf;
	__u16	smsg_len;
	__u16	reserved0;
	__u64	timeout_ns;
	__u64	reserved;
};

enum fastrpc_cqe_type {
	/* client: a message of call @id (tag); with FASTRPC_CQE_F_EOR the
	 * call's end, @res its enum fastrpc_status
	 */
	FASTRPC_CQE_RESULT	= 1,
	/* server: a message of call @id (handle), as recvmsg() would give it
	 * with FASTRPC_CMSG_INCOMING: @method, @timeout_ns, and the
	 * FASTRPC_IN_* bits of its flags as FASTRPC_CQE_F_CONT,
	 * FASTRPC_CQE_F_CANCELLED and FASTRPC_CQE_F_DEADLINE
	 */
	FASTRPC_CQE_INCOMING	= 2,
	/* a submission failed: @op, @id (BUF_RETURN: @buf) and @res, a
	 * negative errno
	 */
	FASTRPC_CQE_ERROR	= 3,
	/* the kernel no longer reads the payload of a FASTRPC_SQE_LEND
	 * entry: @op, @id, @buf (the entry's @addr) and @len as the entry
	 * gave them; @res 0, or -ECANCELED if part of the message was
	 * dropped unsent because its call ended or its connection failed
	 * first (0 does not say that the peer has read it)
	 */
	FASTRPC_CQE_SENT	= 4,
};

/* struct fastrpc_cqe flags */
#define FASTRPC_CQE_F_EOR	(1U << 0)	/* as MSG_EOR of recvmsg() */
#define FASTRPC_CQE_F_CONT	(1U << 1)	/* FASTRPC_IN_CONT */
#define FASTRPC_CQE_F_CANCELLED	(1U << 2)	/* FASTRPC_IN_CANCELLED */
/* too large for the receive buffers: read this message with recvmsg() */
#define FASTRPC_CQE_F_RECVMSG	(1U << 3)
#define FASTRPC_CQE_F_DEADLINE	(1U << 4)	/* FASTRPC_IN_DEADLINE */

/**
 * struct fastrpc_cqe - one completion
 * @id:		client: the call's tag; server: the call's handle
 * @timeout_ns:	INCOMING: time left to the client's deadline when the
 *		completion is posted, 0 for none
 * @buf:	offset in the buffer area of the run lent with this message
 *		(metadata, status message, then payload), to be given back;
 *		FASTRPC_RING_NO_BUF if none was needed; ERROR: the entry's @buf;
 *		SENT: the entry's @addr
 * @len:	payload bytes
 * @res:	RESULT with FASTRPC_CQE_F_EOR: status; ERROR: -errno; SENT: 0
 *		or -ECANCELED; else 0
 * @method:	INCOMING: method number; else 0
 * @meta_len:	bytes of metadata at @buf (headers or trailers)
 * @smsg_len:	bytes of status message after the metadata
 * @type:	enum fastrpc_cqe_type
 * @op:		ERROR, SENT: the entry's op; else 0
 * @flags:	FASTRPC_CQE_F_* bits
 */
struct fastrpc_cqe {
	__u64	id;
	__u64	timeout_ns;
	__u32	buf;
	__u32	len;
	__s32	res;
	__u32	method;
	__u16	meta_len;
	__u16	smsg_len;
	__u8	type;
	__u8	op;
	__u16	flags;
};

/*
 * Wire protocol, version 1.  Documentation/wire-protocol.rst
 * describes it byte by byte; this is the reference for the numbers.
 *
 * The TCP stream is a sequence of frames.  Each frame is a 12-byte header
 * followed by @length bytes of payload.  All integers are big-endian.
 * Calls are started by the connecting side only; call ids are chosen by it,
 * are nonzero, strictly increasing and never reused on one connection.
 *
 * Flow control: the message bytes of DATA, CALL and END frames (not their
 * heads) count against two windows of the receiver, one per call and
 * direction, one per connection and direction.  They start at the sizes
 * the receiver announced in HELLO and grow by CREDIT frames.  A sender
 * never exceeds them; a receiver treats excess as FASTRPC_WERR_FLOW.
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
	FASTRPC_FRAME_CANCEL	= 6,	/* call, client to server: no payload */
	FASTRPC_FRAME_CREDIT	= 7,	/* struct fastrpc_wire_credit */
	FASTRPC_FRAME_PING	= 8,	/* connection: 8 opaque bytes */
	FASTRPC_FRAME_PONG	= 9,	/* connection: the PING's 8 bytes */
	FASTRPC_FRAME_GOAWAY	= 10,	/* connection: struct fastrpc_wire_error */
	FASTRPC_FRAME_ERROR	= 11,	/* connection: struct fastrpc_wire_error */
	FASTRPC_FRAME_TYPE_MAX	= FASTRPC_FRAME_ERROR,
};

/* Frame flags. */
#define FASTRPC_FF_EOM		0x0001	/* last fragment of a message */
#define FASTRPC_FF_EOS		0x0002	/* client: its last message (half-close) */
/* CANCEL only, to a peer whose HELLO had FASTRPC_HELLO_F_CANCEL_DEADLINE:
 * the client's deadline for the call passed
 */
#define FASTRPC_FF_DEADLINE	0x0004
#define FASTRPC_FF_ALL		(FASTRPC_FF_EOM | FASTRPC_FF_EOS | \
				 FASTRPC_FF_DEADLINE)

/* Limits of protocol version 1. */
enum fastrpc_wire_limits {
	FASTRPC_FRAME_HDR_LEN	= 12,
	/* largest payload of one frame; bigger messages are fragmented */
	FASTRPC_MAX_FRAME	= 65536,
	/* largest message of one call in either direction */
	FASTRPC_MAX_MSG		= 4 << 20,
	/* smallest windows a receiver may announce */
	FASTRPC_MIN_CALL_WINDOW	= 65536,
	FASTRPC_MIN_CONN_WINDOW	= 1 << 20,
};

/**
 * struct fastrpc_wire_hello - first frame in each direction
 * @magic:	FASTRPC_HELLO_MAGIC
 * @min_version: lowest protocol version the sender speaks
 * @max_version: highest protocol version the sender speaks
 * @reserved:	zero
 * @max_frame:	largest frame payload the sender accepts
 * @max_msg:	largest message the sender accepts
 * @call_window: initial flow-control window of each call, bytes the peer
 *		may send on a call before the sender of this HELLO grants more
 * @conn_window: initial window of the whole connection
 * @features:	FASTRPC_HELLO_F_* bits: optional extensions of the version
 *		that the sender takes; unknown bits are ignored
 *
 * The connecting side sends its HELLO first; the accepting side answers
 * with the highest version both speak in @max_version (== @min_version),
 * or with an ERROR frame (FASTRPC_WERR_VERSION) if there is none.
 */
/* The sender takes FASTRPC_FF_DEADLINE on CANCEL frames. */
#define FASTRPC_HELLO_F_CANCEL_DEADLINE	(1ULL << 0)

struct fastrpc_wire_hello {
	__be32	magic;
	__u8	min_version;
	__u8	max_version;
	__be16	reserved;
	__be32	max_frame;
	__be32	max_msg;
	__be32	call_window;
	__be32	conn_window;
	__be64	features;
};

/**
 * struct fastrpc_wire_call - payload head of a CALL frame
 * @method:	method number
 * @meta_len:	bytes of metadata entries following this head
 * @reserved:	zero
 * @timeout_ns:	time left to the client's deadline when sent; 0 for none
 *
 * Metadata, then the first request bytes, follow in the same frame; if
 * the first message does not fit, the CALL frame lacks FASTRPC_FF_EOM and
 * DATA frames carry the rest.  Later messages of a streaming call are
 * DATA frames; the client's last frame has FASTRPC_FF_EOS.
 */
struct fastrpc_wire_call {
	__be32	method;
	__be16	meta_len;
	__be16	reserved;
	__be64	timeout_ns;
};

/**
 * struct fastrpc_wire_end - payload head of an END frame (server to client)
 * @status:	enum fastrpc_status
 * @meta_len:	bytes of trailer entries following this head
 * @msg_len:	bytes of status message following the trailers
 *
 * Trailers, status message and then the last reply bytes follow.  A last
 * message that does not fit in one frame is sent as DATA frames first;
 * the END frame carries its last fragment and always has FASTRPC_FF_EOM.
 * END finishes the call.  Earlier reply messages of a streaming call are
 * DATA frames, each message ending with FASTRPC_FF_EOM.
 */
struct fastrpc_wire_end {
	__be32	status;
	__be16	meta_len;
	__be16	msg_len;
};

/**
 * struct fastrpc_wire_error - payload of ERROR and GOAWAY frames
 * @code:	enum fastrpc_wire_error_code
 * @last_id:	GOAWAY: the highest call id the sender will still answer;
 *		calls above it were not seen and may be retried elsewhere.
 *		ERROR: zero
 */
struct fastrpc_wire_error {
	__be32	code;
	__be32	last_id;
};

/**
 * struct fastrpc_wire_credit - payload of a CREDIT frame
 * @increment:	bytes added to the window: the call's if the frame's call id
 *		is nonzero, else the connection's.  Zero is an error; a window
 *		may not exceed 2^31 - 1
 */
struct fastrpc_wire_credit {
	__be32	increment;
};

enum fastrpc_wire_error_code {
	FASTRPC_WERR_NONE	= 0,	/* GOAWAY: orderly shutdown */
	FASTRPC_WERR_PROTOCOL	= 1,	/* malformed frame or bad sequence */
	FASTRPC_WERR_VERSION	= 2,	/* no common protocol version */
	FASTRPC_WERR_FRAME_SIZE	= 3,	/* frame or message over the limit */
	FASTRPC_WERR_CALL_ID	= 4,	/* unknown, zero or reused call id */
	FASTRPC_WERR_RESOURCE	= 5,	/* peer exceeded a resource limit */
	FASTRPC_WERR_FLOW	= 6,	/* data beyond the flow-control window */
	FASTRPC_WERR_IDLE	= 7,	/* GOAWAY: connection idle too long */
};

/*
 * Generic netlink family "fastrpc": the control plane.  Its YNL spec is
 * Documentation/netlink/specs/fastrpc.yaml, and a test holds this header
 * to it.  Every command works on the caller's network namespace only.
 *
 *  - FASTRPC_CMD_INFO_GET (do): the module, FASTRPC_A_INFO_*.
 *  - FASTRPC_CMD_STATS_GET (do): the namespace's counters and gauges,
 *    FASTRPC_A_STATS_* (what /proc/net/fastrpc shows), all u64.
 *  - FASTRPC_CMD_SOCK_GET (dump): one message per socket, FASTRPC_A_SOCK_*.
 *  - FASTRPC_CMD_CONN_GET (dump): one message per connection, client and
 *    server side alike, FASTRPC_A_CONN_*.
 *    Dumps resume by id: a socket or connection that comes while a dump
 *    runs is in it if its id is above the last one sent, one that goes is
 *    left out, and none appears twice.
 *  - FASTRPC_CMD_LIMITS_GET (do) and FASTRPC_CMD_LIMITS_SET (do): the
 *    limits and timers in force in the namespace, FASTRPC_A_LIMITS_*.
 *    SET needs CAP_NET_ADMIN in the user namespace that owns the network
 *    namespace; each attribute given becomes the namespace's own value
 *    (the six that bound what peers make the host hold, CONN_RX_MEM to
 *    CONN_MAX_CALLS, only at or below the module parameter, which stays
 *    a ceiling: ERANGE above it),
 *    and FASTRPC_A_LIMITS_RESET (a mask of 1 << FASTRPC_A_LIMITS_*)
 *    returns those to the module parameter of the same name.  A value out
 *    of range fails the whole request with ERANGE, a malformed or unknown
 *    attribute with EINVAL, each with an extack message; a request that
 *    fails changes nothing.
 *  - The multicast group FASTRPC_GENL_MCGRP_EVENTS carries the
 *    FASTRPC_CMD_*_NTF notifications: connection up and down, GOAWAY
 *    sent or received, a protocol error, and bursts of calls a server
 *    socket refused for its admission limit (at most one message a second
 *    per socket, with the count since the last: the first refusal of a
 *    burst at once, the rest when that second is up).
 */
#define FASTRPC_GENL_NAME		"fastrpc"
#define FASTRPC_GENL_VERSION		1
#define FASTRPC_GENL_MCGRP_EVENTS	"events"

enum fastrpc_nl_cmd {
	FASTRPC_CMD_UNSPEC,
	FASTRPC_CMD_INFO_GET,
	FASTRPC_CMD_STATS_GET,
	FASTRPC_CMD_SOCK_GET,
	FASTRPC_CMD_CONN_GET,
	FASTRPC_CMD_LIMITS_GET,
	FASTRPC_CMD_LIMITS_SET,
	FASTRPC_CMD_CONN_UP_NTF,	/* FASTRPC_A_CONN_* */
	FASTRPC_CMD_CONN_DOWN_NTF,	/* ... with FASTRPC_A_CONN_ERRNO */
	FASTRPC_CMD_GOAWAY_NTF,		/* ... with _WERR, _GOAWAY_SENT */
	FASTRPC_CMD_PROTO_ERROR_NTF,	/* ... with _WERR, _GOAWAY_SENT */
	FASTRPC_CMD_REJECT_NTF,		/* FASTRPC_A_SOCK_*, with _REJECTS */

	__FASTRPC_CMD_MAX,
	FASTRPC_CMD_MAX = __FASTRPC_CMD_MAX - 1
};

enum fastrpc_a_info {
	FASTRPC_A_INFO_UNSPEC,
	FASTRPC_A_INFO_VERSION,		/* string: the module's version */
	FASTRPC_A_INFO_FAMILY,		/* u32: the AF_FASTRPC number */
	FASTRPC_A_INFO_PROTO_MIN,	/* u32: wire protocol versions */
	FASTRPC_A_INFO_PROTO_MAX,	/* u32 */
	FASTRPC_A_INFO_FEATURES,	/* u64: FASTRPC_FEAT_* */
	FASTRPC_A_INFO_MAX_MSG,		/* u32: bytes */
	FASTRPC_A_INFO_MAX_CALLS,	/* u32: ceiling of FASTRPC_MAX_CALLS */
	FASTRPC_A_INFO_DEFAULT_CALLS,	/* u32: FASTRPC_MAX_CALLS of a new socket */
	FASTRPC_A_INFO_PAD,

	__FASTRPC_A_INFO_MAX,
	FASTRPC_A_INFO_MAX = __FASTRPC_A_INFO_MAX - 1
};

/* All u64; the counters only grow, the gauges say what is now. */
enum fastrpc_a_stats {
	FASTRPC_A_STATS_UNSPEC,
	FASTRPC_A_STATS_PAD,
	FASTRPC_A_STATS_CONNS_OPEN,		/* gauge */
	FASTRPC_A_STATS_CONNS_TOTAL,
	FASTRPC_A_STATS_CONNECT_FAILURES,
	FASTRPC_A_STATS_CALLS_STARTED,
	FASTRPC_A_STATS_CALLS_COMPLETED,
	FASTRPC_A_STATS_CALLS_RECEIVED,
	FASTRPC_A_STATS_REPLIES_SENT,
	FASTRPC_A_STATS_LATE_REPLIES,
	FASTRPC_A_STATS_REPLIES_DROPPED,
	FASTRPC_A_STATS_CALLS_CANCELLED,
	FASTRPC_A_STATS_DEADLINES_EXCEEDED,
	FASTRPC_A_STATS_PROTO_ERRORS,
	FASTRPC_A_STATS_REJECTED_CALLS,
	FASTRPC_A_STATS_PINGS_SENT,
	FASTRPC_A_STATS_GOAWAYS_SENT,
	FASTRPC_A_STATS_RX_HELD_BYTES,		/* gauge */
	FASTRPC_A_STATS_TX_QUEUED_BYTES,	/* gauge */
	FASTRPC_A_STATS_BACKOFF_PEERS,		/* gauge */
	FASTRPC_A_STATS_RX_MEM,			/* gauge */
	FASTRPC_A_STATS_MEM_FAILURES,
	FASTRPC_A_STATS_CONNS_REFUSED,
	FASTRPC_A_STATS_LOOP_CONNS,
	FASTRPC_A_STATS_LOOP_CALLS,
	FASTRPC_A_STATS_RING_REFUSED,
	FASTRPC_A_STATS_RING_ERRORS,
	FASTRPC_A_STATS_SERVER_SOCKETS,		/* gauge */
	FASTRPC_A_STATS_SERVER_CONNS,		/* gauge */
	FASTRPC_A_STATS_RING_DIRECT,
	FASTRPC_A_STATS_TX_BULK_BYTES,
	FASTRPC_A_STATS_STALLED_CONNS,

	__FASTRPC_A_STATS_MAX,
	FASTRPC_A_STATS_MAX = __FASTRPC_A_STATS_MAX - 1
};

/* An endpoint: FASTRPC_A_SOCK_LOCAL, _PEER and FASTRPC_A_CONN_PEER. */
enum fastrpc_a_addr {
	FASTRPC_A_ADDR_UNSPEC,
	FASTRPC_A_ADDR_FAMILY,		/* u16: AF_INET or AF_INET6 */
	FASTRPC_A_ADDR_PORT,		/* u16: host byte order */
	FASTRPC_A_ADDR_IP,		/* binary: 4 or 16 bytes, network order */
	FASTRPC_A_ADDR_SCOPE_ID,	/* u32: IPv6 link-local only */

	__FASTRPC_A_ADDR_MAX,
	FASTRPC_A_ADDR_MAX = __FASTRPC_A_ADDR_MAX - 1
};

/* FASTRPC_A_SOCK_ROLE */
enum fastrpc_nl_role {
	FASTRPC_ROLE_NONE,		/* neither connected nor bound */
	FASTRPC_ROLE_CLIENT,
	FASTRPC_ROLE_BOUND,		/* bound, not listening yet */
	FASTRPC_ROLE_SERVER,
};

enum fastrpc_a_sock {
	FASTRPC_A_SOCK_UNSPEC,
	FASTRPC_A_SOCK_PAD,
	FASTRPC_A_SOCK_ID,		/* u64: the namespace's, never reused */
	FASTRPC_A_SOCK_INODE,		/* u64: as ss and /proc/PID/fd show it */
	FASTRPC_A_SOCK_UID,		/* u32: owner, in the requester's user ns */
	FASTRPC_A_SOCK_ROLE,		/* u32: enum fastrpc_nl_role */
	FASTRPC_A_SOCK_LOCAL,		/* nest: FASTRPC_A_ADDR_*, server */
	FASTRPC_A_SOCK_PEER,		/* nest: FASTRPC_A_ADDR_*, client */
	FASTRPC_A_SOCK_CALLS,		/* u32: in flight (fastrpc_sock_info) */
	FASTRPC_A_SOCK_MAX_CALLS,	/* u32: FASTRPC_MAX_CALLS */
	FASTRPC_A_SOCK_RX_QUEUED,	/* u32: messages waiting for recvmsg() */
	FASTRPC_A_SOCK_RX_BYTES,	/* u32: ... their bytes */
	FASTRPC_A_SOCK_TX_QUEUED,	/* u32: bytes accepted, not yet sent */
	FASTRPC_A_SOCK_RCVBUF,		/* u32: SO_RCVBUF */
	FASTRPC_A_SOCK_SNDBUF,		/* u32: SO_SNDBUF */
	FASTRPC_A_SOCK_CONN_ID,		/* u64: client: FASTRPC_A_CONN_ID */
	FASTRPC_A_SOCK_CONNS,		/* u32: server: accepted connections */
	FASTRPC_A_SOCK_RING,		/* flag: rings are set up */
	FASTRPC_A_SOCK_REJECTS,		/* u32: FASTRPC_CMD_REJECT_NTF only */

	__FASTRPC_A_SOCK_MAX,
	FASTRPC_A_SOCK_MAX = __FASTRPC_A_SOCK_MAX - 1
};

/* FASTRPC_A_CONN_STATE */
enum fastrpc_nl_conn_state {
	FASTRPC_CONN_CONNECTING,	/* client: TCP connect in progress */
	FASTRPC_CONN_HELLO,		/* waiting for the peer's HELLO */
	FASTRPC_CONN_READY,
	FASTRPC_CONN_DRAINING,		/* GOAWAY seen or sent */
	FASTRPC_CONN_DEAD,
};

/* FASTRPC_A_CONN_PATH */
enum fastrpc_nl_path {
	FASTRPC_PATH_NONE,		/* not attached yet, or detached */
	FASTRPC_PATH_TCP,
	FASTRPC_PATH_LOOP,		/* the same-host short cut */
};

enum fastrpc_a_conn {
	FASTRPC_A_CONN_UNSPEC,
	FASTRPC_A_CONN_PAD,
	FASTRPC_A_CONN_ID,		/* u64: as in fastrpc_sock_info */
	FASTRPC_A_CONN_SERVER,		/* flag: accepted, not opened */
	FASTRPC_A_CONN_SOCK_ID,		/* u64: server side: its socket */
	FASTRPC_A_CONN_USERS,		/* u32: client side: sockets using it */
	FASTRPC_A_CONN_STATE,		/* u32: enum fastrpc_nl_conn_state */
	FASTRPC_A_CONN_PATH,		/* u32: enum fastrpc_nl_path */
	FASTRPC_A_CONN_PEER,		/* nest: FASTRPC_A_ADDR_* */
	FASTRPC_A_CONN_VERSION,		/* u32: protocol version, 0 before HELLO */
	FASTRPC_A_CONN_AGE_MS,		/* u64 */
	FASTRPC_A_CONN_SRTT_US,		/* u32: 0 until a PONG came */
	FASTRPC_A_CONN_CALLS,		/* u32: calls in flight */
	FASTRPC_A_CONN_TX_CREDIT,	/* u32: bytes we may still send */
	FASTRPC_A_CONN_PEER_CALL_WINDOW, /* u32: the peer's per-call window */
	FASTRPC_A_CONN_RX_WINDOW,	/* u32: bytes the peer may still send */
	FASTRPC_A_CONN_RX_OWED,		/* u32: consumed, credit not yet sent */
	FASTRPC_A_CONN_RX_MEM,		/* u32: bytes the peer makes us hold */
	FASTRPC_A_CONN_CTRL_QUEUED,	/* u32: control frame bytes queued */
	FASTRPC_A_CONN_TX_BYTES,	/* u64: frame bytes written, headers too */
	FASTRPC_A_CONN_RX_BYTES,	/* u64: frame bytes read */
	FASTRPC_A_CONN_TX_FRAMES,	/* u64 */
	FASTRPC_A_CONN_RX_FRAMES,	/* u64 */
	FASTRPC_A_CONN_ERRNO,		/* u32: why it is dead, positive */
	FASTRPC_A_CONN_WERR,		/* u32: enum fastrpc_wire_error_code */
	FASTRPC_A_CONN_GOAWAY_SENT,	/* flag: this host sent it, not the peer */

	__FASTRPC_A_CONN_MAX,
	FASTRPC_A_CONN_MAX = __FASTRPC_A_CONN_MAX - 1
};

/*
 * Each is also a module parameter of the same name, the default of every
 * namespace without a value of its own.  Ranges: bytes 1 MiB to 2^31 - 1,
 * counts 1 to 65536, times 100 ms to one hour, loopback 0 or 1.
 */
enum fastrpc_a_limits {
	FASTRPC_A_LIMITS_UNSPEC,
	FASTRPC_A_LIMITS_CONN_RX_MEM,		/* u32: bytes */
	FASTRPC_A_LIMITS_NET_RX_MEM,		/* u32: bytes */
	FASTRPC_A_LIMITS_SERVER_MAX_CONNS,	/* u32 */
	FASTRPC_A_LIMITS_PEER_MAX_CONNS,	/* u32 */
	FASTRPC_A_LIMITS_PEER_MAX_CALLS,	/* u32 */
	FASTRPC_A_LIMITS_CONN_MAX_CALLS,	/* u32 */
	FASTRPC_A_LIMITS_KEEPALIVE_MS,		/* u32 */
	FASTRPC_A_LIMITS_IDLE_MS,		/* u32 */
	FASTRPC_A_LIMITS_LOOPBACK,		/* u8: the same-host short cut */
	FASTRPC_A_LIMITS_DEFAULT_CALLS,		/* u32: FASTRPC_MAX_CALLS of a new socket */
	FASTRPC_A_LIMITS_STALL_MS,		/* u32: data of ours waits, then fail */
	FASTRPC_A_LIMITS_OWN,			/* u32, GET: mask of own values */
	FASTRPC_A_LIMITS_RESET,			/* u32, SET: mask to reset */

	__FASTRPC_A_LIMITS_MAX,
	FASTRPC_A_LIMITS_MAX = __FASTRPC_A_LIMITS_MAX - 1
};

#endif /* _UAPI_LINUX_FASTRPC_H */
