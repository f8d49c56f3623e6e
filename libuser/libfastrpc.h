/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libfastrpc: C API for AF_FASTRPC sockets.
 *
 * A FastRPC socket is a file descriptor.  Everything here is a thin,
 * allocation-free wrapper over socket(2), connect(2), sendmsg(2) and
 * recvmsg(2) with the control messages defined in <linux/fastrpc.h>; the
 * descriptor can be polled, made non-blocking, given SO_RCVTIMEO, and
 * closed with close(2) like any other socket.
 *
 * Conventions
 *
 *  - Every function returns a value >= 0 on success or a negative errno
 *    value on failure (for example -ECONNREFUSED).  errno itself is left as
 *    the failing system call set it; the library never prints.
 *  - "flags" arguments of the open functions take SOCK_NONBLOCK and
 *    SOCK_CLOEXEC.  "msgflags" arguments are passed to sendmsg()/recvmsg():
 *    MSG_DONTWAIT makes one call non-blocking, and MSG_TRUNC on receive
 *    makes the return value the full message length even when the buffer
 *    was shorter (the excess is discarded either way).
 *  - The library is thread-safe: it keeps no state but an atomic tag
 *    counter for fastrpc_call(), and the state of the rings a caller
 *    maps (struct fastrpc_ring), each of which one thread uses at a time.
 *
 * Client
 *
 *	fd = fastrpc_client_open("192.0.2.1", 7070, SOCK_CLOEXEC);
 *	fastrpc_send_call(fd, tag, method, req, reqlen, 0);
 *	n = fastrpc_recv_result(fd, &tag, &status, resp, sizeof(resp), 0);
 *
 * Many calls may be in flight on one socket; results come back in
 * completion order, each naming the tag its call was sent with.
 *
 * Server
 *
 *	fd = fastrpc_server_open(AF_INET6, 7070, 128, SOCK_CLOEXEC);
 *	n = fastrpc_recv_call(fd, &info, req, sizeof(req), 0);
 *	fastrpc_send_reply(fd, info.handle, FASTRPC_OK, resp, resplen, 0);
 *
 * Several threads may call fastrpc_recv_call() on one server socket; each
 * incoming call is delivered to exactly one of them.
 */
#ifndef LIBFASTRPC_H
#define LIBFASTRPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <linux/fastrpc.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest string fastrpc_addr_str() produces, with its terminating NUL. */
#define FASTRPC_ADDRSTRLEN	72

/**
 * fastrpc_family() - the address family number of AF_FASTRPC
 *
 * Reads the live value from /sys/module/af_fastrpc/parameters/family and
 * falls back to FASTRPC_AF_DEFAULT when the module does not publish one
 * (not loaded, or sysfs not mounted).  Cheap enough to call per socket.
 *
 * Return: the family number (> 0).
 */
int fastrpc_family(void);

/**
 * fastrpc_addr() - build a FastRPC address from an IP literal and port
 * @out:	filled in completely, reserved fields zeroed
 * @ip:		IPv4 ("192.0.2.1") or IPv6 ("2001:db8::1", "[::1]",
 *		"fe80::1%eth0" or "fe80::1%2") literal; no name resolution
 * @port:	TCP port, host byte order
 *
 * Return: 0, or -EINVAL if @ip is not an address literal, -ENODEV if the
 * scope names an unknown interface.
 */
int fastrpc_addr(struct sockaddr_fastrpc *out, const char *ip, uint16_t port);

/**
 * fastrpc_addr_any() - the wildcard address of an IP family, for bind()
 * @out:	filled in completely
 * @ip_family:	AF_INET or AF_INET6
 * @port:	TCP port, host byte order
 *
 * Return: 0, or -EAFNOSUPPORT for another @ip_family.
 */
int fastrpc_addr_any(struct sockaddr_fastrpc *out, int ip_family,
		     uint16_t port);

/**
 * fastrpc_addr_str() - format an address as "ip:port" or "[ip]:port"
 * @addr:	the address
 * @buf:	output, at least FASTRPC_ADDRSTRLEN bytes for any address
 * @len:	size of @buf
 *
 * Return: the string length, -EAFNOSUPPORT for an unknown sfr_ip_family,
 * -ENOSPC if @buf is too small.
 */
int fastrpc_addr_str(const struct sockaddr_fastrpc *addr, char *buf,
		     size_t len);

/**
 * fastrpc_socket() - create an unconnected FastRPC socket
 * @flags:	SOCK_NONBLOCK, SOCK_CLOEXEC
 *
 * Return: the descriptor, or -EAFNOSUPPORT when the module is not loaded,
 * or another socket(2) error.
 */
int fastrpc_socket(int flags);

/**
 * fastrpc_client_open() - create a client socket connected to a server
 * @ip:		server address literal, as for fastrpc_addr()
 * @port:	server port, host byte order
 * @flags:	SOCK_NONBLOCK, SOCK_CLOEXEC
 *
 * The connect is always synchronous: it returns once the kernel has a
 * FastRPC connection to the server (shared with every other socket of
 * this network namespace talking to the same server).  SOCK_NONBLOCK
 * applies to the socket afterwards.
 *
 * Return: the descriptor, or
 *   -EAFNOSUPPORT	the module is not loaded,
 *   -EINVAL/-ENODEV	@ip is not a usable literal (see fastrpc_addr()),
 *   -ECONNREFUSED	nothing listens on @ip:@port,
 *   -EPROTO		the peer does not speak a compatible FastRPC,
 *   -ETIMEDOUT, -ENETUNREACH, ...	as for a TCP connect.
 */
int fastrpc_client_open(const char *ip, uint16_t port, int flags);

/**
 * fastrpc_server_open() - create a listening server socket
 * @ip_family:	AF_INET (IPv4 only) or AF_INET6 (IPv6; IPv4 too where the
 *		kernel's TCP does dual-stack)
 * @port:	TCP port, host byte order; every address of the network
 *		namespace is served
 * @backlog:	passed to listen()
 * @flags:	SOCK_NONBLOCK, SOCK_CLOEXEC
 *
 * Return: the descriptor, or -EAFNOSUPPORT, -EADDRINUSE, -EACCES (a port
 * below 1024 without CAP_NET_BIND_SERVICE), or another socket error.
 */
int fastrpc_server_open(int ip_family, uint16_t port, int backlog, int flags);

/**
 * fastrpc_send_call() - start a call on a client socket
 * @fd:		connected client socket
 * @tag:	caller-chosen name of the call, unique among its calls in flight
 * @method:	method number, delivered to the server untouched
 * @req:	request bytes (may be NULL when @len is 0)
 * @len:	request length, at most FASTRPC_MAX_MSG
 * @msgflags:	MSG_DONTWAIT, or 0
 *
 * Return: @len, or
 *   -EEXIST		@tag is already in flight on @fd,
 *   -EMSGSIZE		@len exceeds FASTRPC_MAX_MSG,
 *   -EAGAIN		FASTRPC_MAX_CALLS calls are in flight and the call is
 *			non-blocking (otherwise it waits for a slot),
 *   -ENOTCONN		@fd is not connected,
 *   -EINTR		a signal arrived while waiting for a slot.
 */
ssize_t fastrpc_send_call(int fd, uint64_t tag, uint32_t method,
			  const void *req, size_t len, int msgflags);

/**
 * fastrpc_recv_result() - receive the result of one call
 * @fd:		client socket
 * @tag:	set to the tag of the call that finished (may be NULL)
 * @status:	set to its enum fastrpc_status (may be NULL)
 * @buf:	reply bytes; a reply longer than @len is truncated and the
 *		rest discarded
 * @len:	size of @buf
 * @msgflags:	MSG_DONTWAIT, MSG_TRUNC, or 0
 *
 * Each call yields exactly one result.  A non-OK status may still carry
 * bytes sent by the server with it.
 *
 * Return: the number of reply bytes stored in @buf, or with MSG_TRUNC in
 * @msgflags the full reply length (greater than @len when truncated), or
 *   -EAGAIN		nothing to receive on a non-blocking call, or
 *			SO_RCVTIMEO expired,
 *   -EINTR		a signal arrived,
 *   -EPROTO		the kernel returned no FASTRPC_CMSG_RESULT.
 */
ssize_t fastrpc_recv_result(int fd, uint64_t *tag, uint32_t *status,
			    void *buf, size_t len, int msgflags);

/**
 * struct fastrpc_call_info - an incoming call, as seen by a server
 * @handle:	kernel call handle, for fastrpc_send_reply()
 * @method:	method number sent by the client
 * @peer:	the caller's address (IP and TCP port of its connection)
 */
struct fastrpc_call_info {
	uint64_t handle;
	uint32_t method;
	struct sockaddr_fastrpc peer;
};

/**
 * fastrpc_recv_call() - receive one incoming call on a server socket
 * @fd:		listening server socket
 * @info:	set to the call's handle, method and caller (may be NULL, but
 *		then the call cannot be answered)
 * @buf:	request bytes; a longer request is truncated, the rest
 *		discarded
 * @len:	size of @buf
 * @msgflags:	MSG_DONTWAIT, MSG_TRUNC, or 0
 *
 * Return: the request length as for fastrpc_recv_result(), or -EAGAIN,
 * -EINTR, -EPROTO as there, or -ESHUTDOWN once the socket, shut down with
 * shutdown(SHUT_RD), has handed over every message and has no connection
 * left (recvmsg() returned 0, end of file).
 */
ssize_t fastrpc_recv_call(int fd, struct fastrpc_call_info *info,
			  void *buf, size_t len, int msgflags);

/**
 * fastrpc_send_reply() - answer an incoming call
 * @fd:		the server socket the call came from
 * @handle:	fastrpc_call_info.handle
 * @status:	enum fastrpc_status, 0..FASTRPC_STATUS_MAX
 * @buf:	reply bytes (may be NULL when @len is 0), sent with any status
 * @len:	reply length, at most FASTRPC_MAX_MSG
 * @msgflags:	MSG_DONTWAIT, or 0
 *
 * Return: @len, or
 *   -ENOENT		@handle is unknown, stale or already answered,
 *   -EINVAL		@status is out of range,
 *   -EMSGSIZE		@len exceeds FASTRPC_MAX_MSG.
 */
ssize_t fastrpc_send_reply(int fd, uint64_t handle, uint32_t status,
			   const void *buf, size_t len, int msgflags);

/**
 * fastrpc_call() - make one call and wait for its result
 * @fd:		client socket used for nothing else concurrently
 * @method:	method number
 * @req:	request bytes
 * @reqlen:	request length
 * @resp:	reply bytes, truncated to @resplen
 * @resplen:	size of @resp
 * @status:	set to the call's enum fastrpc_status
 *
 * Picks a fresh tag itself.  Results of earlier calls on @fd whose wait
 * was interrupted are skipped and dropped, so a call cut short by a
 * signal never answers a later one.  Honours SO_RCVTIMEO and O_NONBLOCK
 * on @fd only in that they end the wait with -EAGAIN, leaving the call in
 * flight (its result is dropped by the next fastrpc_call()).
 *
 * Return: the full reply length (greater than @resplen when truncated),
 * or a negative errno from fastrpc_send_call()/fastrpc_recv_result().
 */
ssize_t fastrpc_call(int fd, uint32_t method, const void *req, size_t reqlen,
		     void *resp, size_t resplen, uint32_t *status);

/*
 * Streaming, deadlines, cancellation, metadata and status messages
 *
 * A call may carry options (struct fastrpc_call_opts): FASTRPC_CALL_STREAM
 * keeps it open after its first message, timeout_ns sets a deadline the
 * kernel enforces, and metadata carries request headers.  More messages
 * of a streaming call go with fastrpc_send_more(); MSG_EOR in its
 * msgflags ends the client's side (half-close).  A server streams reply
 * messages with fastrpc_send_more() on the call's handle (never MSG_EOR)
 * and ends the call with fastrpc_send_reply() or fastrpc_send_reply_opts()
 * (trailers and a status message).
 *
 *	struct fastrpc_call_opts o = { .flags = FASTRPC_CALL_STREAM,
 *				       .timeout_ns = 2000000000 };
 *	fastrpc_send_call_opts(fd, tag, method, &o, first, len, 0);
 *	fastrpc_send_more(fd, tag, more, len, 0);
 *	fastrpc_send_more(fd, tag, last, len, MSG_EOR);
 *	do {
 *		n = fastrpc_recv_result_ex(fd, &ri, buf, sizeof(buf), 0);
 *	} while (n >= 0 && !ri.eor);	(ri.status is the call's end)
 *
 * The _ex receive functions return metadata and status messages as
 * pointers into a caller-supplied auxiliary buffer (@aux in the info
 * structures), which receives the raw control messages: give it
 * FASTRPC_AUX_SPACE bytes, aligned for struct cmsghdr (as malloc() memory
 * is), to never lose any.  Without one, or with one that is misaligned or
 * too small for what arrived, metadata and status messages are discarded
 * whole, never passed on cut short (MSG_CTRUNC in msg_flags when there
 * were some).  Nothing is allocated.
 *
 * Metadata is a sequence of struct fastrpc_meta_entry records (see
 * <linux/fastrpc.h>); build one with fastrpc_meta_add() into any buffer of
 * up to FASTRPC_MAX_METADATA bytes and read one with fastrpc_meta_next()
 * or fastrpc_meta_get().
 */

/* Auxiliary buffer size that holds any metadata and status message. */
#define FASTRPC_AUX_SPACE						\
	(CMSG_SPACE(sizeof(struct fastrpc_incoming)) +			\
	 CMSG_SPACE(FASTRPC_MAX_METADATA) +				\
	 CMSG_SPACE(FASTRPC_MAX_STATUS_MSG) + 64)

/**
 * struct fastrpc_call_opts - options of a call, for fastrpc_send_call_opts()
 * @flags:	FASTRPC_CALL_STREAM, or 0
 * @reserved:	zero
 * @timeout_ns:	deadline relative to now, in nanoseconds; 0 for none.  When
 *		it passes the call ends with FASTRPC_DEADLINE_EXCEEDED and
 *		the server is told to cancel it.  Sent as its own
 *		FASTRPC_CMSG_TIMEOUT control message only when not 0: a
 *		call without a deadline, metadata or other extras fits the
 *		socket layer's stack buffer for control data, one with a
 *		deadline makes the kernel allocate a larger one
 * @metadata:	request headers (entries built with fastrpc_meta_add()), or
 *		NULL
 * @metadata_len: bytes at @metadata, at most FASTRPC_MAX_METADATA
 */
struct fastrpc_call_opts {
	uint32_t flags;
	uint32_t reserved;
	uint64_t timeout_ns;
	const void *metadata;
	size_t metadata_len;
};

/**
 * fastrpc_send_call_opts() - start a call with options
 * @fd:		connected client socket
 * @tag:	as for fastrpc_send_call()
 * @method:	method number
 * @opts:	options, or NULL for none (same as fastrpc_send_call())
 * @req:	first (for a unary call: only) request message
 * @len:	its length, at most FASTRPC_MAX_MSG
 * @msgflags:	MSG_DONTWAIT; MSG_EOR with FASTRPC_CALL_STREAM makes this
 *		first message also the client's last
 *
 * Return: @len, or the errors of fastrpc_send_call(), or -EINVAL for
 * unknown flags, reserved bits set or malformed metadata (checked by the
 * kernel), -EAGAIN also when SO_SNDBUF is full and the call is
 * non-blocking.
 */
ssize_t fastrpc_send_call_opts(int fd, uint64_t tag, uint32_t method,
			       const struct fastrpc_call_opts *opts,
			       const void *req, size_t len, int msgflags);

/**
 * fastrpc_send_more() - another message on an open streaming call
 * @fd:		client or server socket
 * @id:		client: the call's tag; server: the call's handle
 * @buf:	message bytes (may be NULL when @len is 0)
 * @len:	message length, at most FASTRPC_MAX_MSG
 * @msgflags:	MSG_DONTWAIT; client only: MSG_EOR for its last message
 *
 * Each stream is flow controlled on its own: when the peer does not read,
 * its window closes and, once SO_SNDBUF is full, this blocks or fails
 * with -EAGAIN (poll() reports POLLOUT again when there is room).
 *
 * Return: @len, or
 *   -ENOENT		no open call @id on @fd,
 *   -EINVAL		the call is not a stream, its side is already closed,
 *			or MSG_EOR from a server,
 *   -ECANCELED		server: the call was cancelled,
 *   -EAGAIN		no room and non-blocking.
 */
ssize_t fastrpc_send_more(int fd, uint64_t id, const void *buf, size_t len,
			  int msgflags);

/**
 * fastrpc_cancel() - cancel a call in flight by its tag
 * @fd:		client socket
 * @tag:	the call's tag
 *
 * The call ends with FASTRPC_CANCELLED (its one result is queued for
 * fastrpc_recv_result() as usual) and the server is told.
 *
 * Return: 0, or -ENOENT if no call @tag is in flight (it may have just
 * ended: its result is then already queued).
 */
int fastrpc_cancel(int fd, uint64_t tag);

/**
 * struct fastrpc_reply_opts - extras of a final reply
 * @trailers:	reply trailers (metadata entries), or NULL
 * @trailers_len: bytes at @trailers, at most FASTRPC_MAX_METADATA
 * @status_msg:	UTF-8 text explaining the status, or NULL; not
 *		NUL-terminated on the wire
 * @status_msg_len: bytes at @status_msg, at most FASTRPC_MAX_STATUS_MSG
 */
struct fastrpc_reply_opts {
	const void *trailers;
	size_t trailers_len;
	const char *status_msg;
	size_t status_msg_len;
};

/**
 * fastrpc_send_reply_opts() - answer a call with trailers/status message
 * @fd:		server socket
 * @handle:	the call's handle
 * @status:	enum fastrpc_status
 * @opts:	extras, or NULL (same as fastrpc_send_reply())
 * @buf:	last reply message (may be NULL when @len is 0)
 * @len:	its length
 * @msgflags:	MSG_DONTWAIT, or 0
 *
 * Return: @len, or the errors of fastrpc_send_reply(), or
 *   -ECANCELED		the call was cancelled (deadline, client cancel or
 *			lost connection): the reply is dropped and the handle
 *			is released,
 *   -EINVAL		malformed trailers or a status message too long.
 */
ssize_t fastrpc_send_reply_opts(int fd, uint64_t handle, uint32_t status,
				const struct fastrpc_reply_opts *opts,
				const void *buf, size_t len, int msgflags);

/**
 * struct fastrpc_result_info - one message of a call, client side
 * @tag:	the call's tag
 * @status:	with @eor: the call's enum fastrpc_status; else 0
 * @eor:	1 for the call's final message (the call is over), 0 for an
 *		intermediate message of a streaming reply
 * @msg_flags:	recvmsg()'s msg_flags (MSG_EOR, MSG_TRUNC, MSG_CTRUNC)
 * @trailers:	final message: the server's trailers, in @aux; else NULL
 * @trailers_len: their length
 * @status_msg:	final message: the server's status text, in @aux, not
 *		NUL-terminated; else NULL
 * @status_msg_len: its length
 * @aux:	input: buffer for trailers and status message, or NULL
 * @aux_len:	input: its size; FASTRPC_AUX_SPACE holds anything
 */
struct fastrpc_result_info {
	uint64_t tag;
	uint32_t status;
	uint32_t eor;
	int msg_flags;
	const void *trailers;
	size_t trailers_len;
	const char *status_msg;
	size_t status_msg_len;
	void *aux;
	size_t aux_len;
};

/**
 * fastrpc_recv_result_ex() - receive one message of a call, with extras
 * @fd:		client socket
 * @ri:		out (see struct fastrpc_result_info); @ri->aux and
 *		@ri->aux_len are read first
 * @buf:	message bytes, truncated to @len
 * @len:	size of @buf
 * @msgflags:	MSG_DONTWAIT, MSG_TRUNC, or 0
 *
 * Return: as fastrpc_recv_result().
 */
ssize_t fastrpc_recv_result_ex(int fd, struct fastrpc_result_info *ri,
			       void *buf, size_t len, int msgflags);

/**
 * struct fastrpc_incoming_info - one message of a call, server side
 * @handle:	the call's handle
 * @method:	method number
 * @flags:	FASTRPC_IN_CONT for a later message of a streaming call,
 *		FASTRPC_IN_CANCELLED for the notice that the call was
 *		cancelled (no data; a reply now gets -ECANCELED), with
 *		FASTRPC_IN_DEADLINE when its deadline was the cause
 * @eor:	1 for the client's last message of the call (or a
 *		cancellation notice)
 * @msg_flags:	recvmsg()'s msg_flags
 * @timeout_ns:	first message: time left to the client's deadline when the
 *		call arrived, 0 for none
 * @peer:	the caller's address
 * @metadata:	first message: the client's headers, in @aux; else NULL
 * @metadata_len: their length
 * @aux:	input: buffer for the metadata, or NULL
 * @aux_len:	input: its size; FASTRPC_AUX_SPACE holds anything
 */
struct fastrpc_incoming_info {
	uint64_t handle;
	uint32_t method;
	uint32_t flags;
	uint32_t eor;
	int msg_flags;
	uint64_t timeout_ns;
	struct sockaddr_fastrpc peer;
	const void *metadata;
	size_t metadata_len;
	void *aux;
	size_t aux_len;
};

/**
 * fastrpc_recv_call_ex() - receive one message of an incoming call
 * @fd:		server socket
 * @ii:		out (see struct fastrpc_incoming_info); @ii->aux and
 *		@ii->aux_len are read first
 * @buf:	message bytes, truncated to @len
 * @len:	size of @buf
 * @msgflags:	MSG_DONTWAIT, MSG_TRUNC, or 0
 *
 * Unlike fastrpc_recv_call(), which hands every message over too, this
 * tells a call's first message from later ones and from a cancellation
 * notice, which a server must not answer as a new call.
 *
 * Return: as fastrpc_recv_call().
 */
ssize_t fastrpc_recv_call_ex(int fd, struct fastrpc_incoming_info *ii,
			     void *buf, size_t len, int msgflags);

/**
 * fastrpc_meta_add() - append one metadata entry
 * @buf:	the metadata being built
 * @cap:	size of @buf (FASTRPC_MAX_METADATA is the most that is sent)
 * @len:	in: bytes used in @buf; out: after the new entry
 * @key:	NUL-terminated key, 1..255 bytes
 * @val:	value bytes (may be NULL when @vlen is 0)
 * @vlen:	value length, at most 65535
 *
 * Return: 0, -EINVAL for a bad key or value length, -ENOSPC if the entry
 * does not fit in @cap or in FASTRPC_MAX_METADATA.
 */
int fastrpc_meta_add(void *buf, size_t cap, size_t *len, const char *key,
		     const void *val, size_t vlen);

/**
 * struct fastrpc_meta_iter - a position in a metadata sequence
 * @p:		next entry
 * @end:	end of the sequence
 */
struct fastrpc_meta_iter {
	const uint8_t *p;
	const uint8_t *end;
};

/**
 * fastrpc_meta_iter_init() - start iterating over metadata
 * @it:		iterator
 * @meta:	metadata (as received, or built with fastrpc_meta_add())
 * @len:	its length
 */
void fastrpc_meta_iter_init(struct fastrpc_meta_iter *it, const void *meta,
			    size_t len);

/**
 * fastrpc_meta_next() - the next metadata entry
 * @it:		iterator
 * @key:	set to the key (not NUL-terminated)
 * @klen:	set to the key length
 * @val:	set to the value
 * @vlen:	set to the value length
 *
 * Return: 1 with an entry, 0 at the end, -EPROTO for a malformed sequence.
 */
int fastrpc_meta_next(struct fastrpc_meta_iter *it, const char **key,
		      size_t *klen, const void **val, size_t *vlen);

/**
 * fastrpc_meta_get() - find the first entry with a key
 * @meta:	metadata
 * @len:	its length
 * @key:	NUL-terminated key
 * @val:	set to the value
 * @vlen:	set to the value length
 *
 * Return: 0, -ENOENT if absent, -EPROTO for a malformed sequence.
 */
int fastrpc_meta_get(const void *meta, size_t len, const char *key,
		     const void **val, size_t *vlen);

/*
 * Batches
 *
 * Many calls in flight move in few system calls: fastrpc_send_calls()
 * starts up to n calls with one sendmmsg(2), fastrpc_recv_results()
 * takes every result that is ready with one recvmmsg(2), and the server
 * side does the same with fastrpc_recv_calls() and fastrpc_send_replies().
 * The kernel writes a batch's frames to TCP together, so a batch of small
 * calls leaves in full segments rather than one segment per call.
 *
 *	struct fastrpc_call_req c[64];		(tag, method, buf, len each)
 *	struct fastrpc_result_buf res[64];	(buf, len each)
 *	int err;
 *
 *	sent = fastrpc_send_calls(fd, c, 64, 0, &err);
 *	got = fastrpc_recv_results(fd, res, 64, 0);
 *
 * The send functions stop at the first entry that fails: they return how
 * many entries went (those calls are in flight, or those replies queued)
 * and store the negative errno of the entry that did not in *err; the
 * entries after it were not tried.  The receive functions block for the
 * first message only (unless MSG_DONTWAIT) and then take what is ready
 * without waiting.  At most FASTRPC_BATCH_MAX entries go per system call;
 * longer arrays are sent in several, received up to the first short one.
 * Nothing is allocated: the system call arguments live on the stack.
 */

/* Entries per sendmmsg()/recvmmsg() of the batch functions. */
#define FASTRPC_BATCH_MAX	64

/**
 * struct fastrpc_call_req - one call of fastrpc_send_calls()
 * @tag:	as for fastrpc_send_call()
 * @method:	method number
 * @flags:	FASTRPC_CALL_* (FASTRPC_CALL_STREAM keeps the call open), or 0
 * @buf:	request bytes (may be NULL when @len is 0)
 * @len:	request length, at most FASTRPC_MAX_MSG
 */
struct fastrpc_call_req {
	uint64_t tag;
	uint32_t method;
	uint32_t flags;
	const void *buf;
	size_t len;
};

/**
 * fastrpc_send_calls() - start several calls with one system call
 * @fd:		connected client socket
 * @reqs:	the calls, in the order they are started
 * @n:		entries in @reqs
 * @msgflags:	MSG_DONTWAIT, or 0
 * @err:	set to 0 when all @n went, else to the negative errno of
 *		@reqs[return value], the first entry that did not (may be NULL)
 *
 * Return: the number of calls started (@n, or fewer when an entry failed),
 * or the negative errno of @reqs[0] when not even the first went.  Each
 * entry's errors are those of fastrpc_send_call_opts(): -EEXIST for a tag
 * in flight, -EINVAL for unknown flags, -EMSGSIZE, -EAGAIN when the socket
 * is full and non-blocking, -EFAULT for a NULL @buf with a length.
 */
int fastrpc_send_calls(int fd, const struct fastrpc_call_req *reqs,
		       unsigned int n, int msgflags, int *err);

/**
 * struct fastrpc_result_buf - one slot of fastrpc_recv_results()
 * @buf:	input: where the message bytes go (truncated to @len)
 * @len:	input: size of @buf
 * @tag:	the call's tag
 * @status:	with @eor: the call's enum fastrpc_status; else 0
 * @eor:	1 for the call's final message, 0 for an intermediate
 *		message of a streaming reply
 * @msg_flags:	recvmsg()'s msg_flags (MSG_EOR, MSG_TRUNC)
 * @n:		bytes stored in @buf, or with MSG_TRUNC the full length;
 *		-EPROTO if the kernel gave no FASTRPC_CMSG_RESULT
 */
struct fastrpc_result_buf {
	void *buf;
	size_t len;
	uint64_t tag;
	uint32_t status;
	uint32_t eor;
	int msg_flags;
	ssize_t n;
};

/**
 * fastrpc_recv_results() - receive every result that is ready
 * @fd:		client socket
 * @out:	slots; @buf and @len of each are read first
 * @n:		number of slots
 * @msgflags:	MSG_DONTWAIT (do not wait for the first either), MSG_TRUNC,
 *		or 0
 *
 * Waits for the first message as fastrpc_recv_result() does, then fills
 * further slots only with what has already arrived.
 *
 * Return: the number of slots filled (1..@n), or -EAGAIN, -EINTR as for
 * fastrpc_recv_result() when none was.
 */
int fastrpc_recv_results(int fd, struct fastrpc_result_buf *out,
			 unsigned int n, int msgflags);

/**
 * struct fastrpc_call_buf - one slot of fastrpc_recv_calls()
 * @buf:	input: where the request bytes go (truncated to @len)
 * @len:	input: size of @buf
 * @handle:	the call's handle, for fastrpc_send_replies()
 * @method:	method number
 * @flags:	FASTRPC_IN_CONT, FASTRPC_IN_CANCELLED, FASTRPC_IN_DEADLINE, as in
 *		struct fastrpc_incoming_info
 * @eor:	1 for the client's last message of the call
 * @msg_flags:	recvmsg()'s msg_flags
 * @peer:	the caller's address
 * @n:		bytes stored in @buf, or with MSG_TRUNC the full length;
 *		-EPROTO if the kernel gave no FASTRPC_CMSG_INCOMING;
 *		-ESHUTDOWN for the end of file of a drained server socket
 *		(fastrpc_recv_call())
 */
struct fastrpc_call_buf {
	void *buf;
	size_t len;
	uint64_t handle;
	uint32_t method;
	uint32_t flags;
	uint32_t eor;
	int msg_flags;
	struct sockaddr_fastrpc peer;
	ssize_t n;
};

/**
 * fastrpc_recv_calls() - receive every incoming call message that is ready
 * @fd:		server socket
 * @out:	slots; @buf and @len of each are read first
 * @n:		number of slots
 * @msgflags:	MSG_DONTWAIT, MSG_TRUNC, or 0
 *
 * Metadata is not returned here: use fastrpc_recv_call_ex() for calls
 * that carry it.
 *
 * Return: the number of slots filled (1..@n), or -EAGAIN, -EINTR as for
 * fastrpc_recv_call() when none was.  A slot with n -ESHUTDOWN (end of
 * file) is the last one filled.
 */
int fastrpc_recv_calls(int fd, struct fastrpc_call_buf *out, unsigned int n,
		       int msgflags);

/**
 * struct fastrpc_reply_req - one reply of fastrpc_send_replies()
 * @handle:	the call's handle
 * @status:	enum fastrpc_status
 * @buf:	reply bytes (may be NULL when @len is 0)
 * @len:	reply length, at most FASTRPC_MAX_MSG
 */
struct fastrpc_reply_req {
	uint64_t handle;
	uint32_t status;
	const void *buf;
	size_t len;
};

/**
 * fastrpc_send_replies() - answer several calls with one system call
 * @fd:		server socket
 * @reps:	the replies
 * @n:		entries in @reps
 * @msgflags:	MSG_DONTWAIT, or 0
 * @err:	as for fastrpc_send_calls()
 *
 * Return: as fastrpc_send_calls(); each entry's errors are those of
 * fastrpc_send_reply_opts(): -ENOENT for an unknown or answered handle,
 * -ECANCELED for a cancelled call (its handle is released), -EINVAL for a
 * status out of range.
 */
int fastrpc_send_replies(int fd, const struct fastrpc_reply_req *reps,
			 unsigned int n, int msgflags, int *err);

/*
 * Rings
 *
 * A socket set up with FASTRPC_RING (see "Rings" in <linux/fastrpc.h>)
 * takes its verbs from a submission queue (SQ) and gives its messages
 * and results to a completion queue (CQ), both shared with the kernel,
 * and moves payloads through a shared buffer area: many calls per system
 * call, or none at all while the kernel is busy with the socket anyway.
 *
 *	struct fastrpc_ring_setup s = { .sq_entries = 256, .cq_entries = 512,
 *					.buf_size = 4096, .buf_count = 1024,
 *					.rx_bufs = 768 };
 *	struct fastrpc_ring r;
 *	struct fastrpc_sqe *sqe;
 *	const struct fastrpc_cqe *cqe;
 *	uint32_t off;
 *
 *	fastrpc_ring_setup(fd, &s, &r);
 *	fastrpc_ring_txbuf_get(&r, &off);	(a buffer of our own)
 *	memcpy(fastrpc_ring_buf(&r, off, len), req, len);
 *	sqe = fastrpc_ring_get_sqe(&r);
 *	fastrpc_ring_prep_call(sqe, tag, method, off, len, 0);
 *	fastrpc_ring_submit(&r);		(a system call only if needed)
 *	fastrpc_ring_wait(&r, 0, -1);
 *	while ((cqe = fastrpc_ring_peek_cqe(&r))) {
 *		if (cqe->type == FASTRPC_CQE_RESULT) {
 *			use(fastrpc_ring_cqe_data(&r, cqe), cqe->len);
 *			if (cqe->buf != FASTRPC_RING_NO_BUF)
 *				fastrpc_ring_prep_buf_return(
 *					fastrpc_ring_get_sqe(&r), cqe->buf);
 *		}
 *		fastrpc_ring_advance(&r, 1);
 *	}
 *
 * Entries: fastrpc_ring_get_sqe() hands out the next SQ entry, with
 * whatever an earlier use left in it; a fastrpc_ring_prep_*() helper
 * writes every field, and the caller may then set the optional ones
 * (@timeout_ns, @meta_len, @smsg_len).  Nothing reaches the kernel until
 * fastrpc_ring_submit(), which publishes every entry handed out since the
 * last one.  Completions are read in place: fastrpc_ring_peek() or
 * fastrpc_ring_peek_cqe() point into the CQ, and the entries stay valid
 * until fastrpc_ring_advance() hands them back to the kernel.  Their
 * cqe->type says what each is: FASTRPC_CQE_RESULT (client) and
 * FASTRPC_CQE_INCOMING (server) bring a message; FASTRPC_CQE_ERROR says
 * an entry failed; FASTRPC_CQE_SENT says the kernel is done with the
 * payload of an entry lent with fastrpc_ring_sqe_lend().  Only the first
 * two lend a run: in the others cqe->buf is an offset the entry named
 * (its @buf for ERROR, its @addr for SENT), not a run to give back.
 *
 * Buffers: a completion that brought bytes lends the run of receive
 * buffers at cqe->buf (fastrpc_ring_cqe_data() finds its payload, after
 * any metadata and status message).  Give each run back exactly once,
 * with FASTRPC_OP_BUF_RETURN or by naming it on any later entry with
 * fastrpc_ring_sqe_return_buf(); the kernel receives into returned runs
 * only, so runs kept too long stall incoming messages.  An outgoing
 * payload may be anywhere in the area, a lent run included (a server can
 * echo a request straight from its buffer); the kernel has copied it once
 * the entry is consumed, unless the entry lends it to the kernel
 * (fastrpc_ring_sqe_lend()): then the bytes are the kernel's until the
 * entry's FASTRPC_CQE_SENT completion.  The buffers past the receive
 * ones belong to user space: fastrpc_ring_txbuf_get() and
 * fastrpc_ring_txbuf_put() keep a free stack of them, or the caller
 * manages them itself.
 *
 * Waiting: the descriptor polls as usual (POLLIN while completions wait),
 * so it fits in an epoll set (fastrpc_ring_fd()); fastrpc_ring_wait()
 * polls it, after spinning on the CQ for a while if asked to.
 *
 * Threads: a struct fastrpc_ring is used by one thread at a time; the
 * library takes no lock.  Several threads sharing a ring serialize every
 * call on it themselves.  The socket calls (sendmsg() with control
 * messages, recvmsg() for completions flagged FASTRPC_CQE_F_RECVMSG) may
 * be used from any thread beside the ring.
 *
 * Nothing on the per-call path allocates or makes a system call but
 * fastrpc_ring_submit() when the kernel asked to be woken, and
 * fastrpc_ring_wait() when nothing is ready.  The fields of struct
 * fastrpc_ring are the library's; they are public only so that the hot
 * helpers can be inline, and change only with the library's soname.
 */

/**
 * struct fastrpc_ring - a socket's rings, mapped (fields private)
 * @fd:		the socket
 * @sq_mask:	SQ entries - 1
 * @cq_mask:	CQ entries - 1
 * @sq_producer: shared SQ producer index, written here
 * @sq_consumer: shared SQ consumer index, written by the kernel
 * @sq_flags:	shared SQ flags word (FASTRPC_RING_NEED_WAKEUP)
 * @sqes:	SQ entries
 * @sq_tail:	next SQ entry to hand out
 * @sq_pub:	last value stored in *@sq_producer
 * @sq_head:	*@sq_consumer when last read
 * @cq_producer: shared CQ producer index, written by the kernel
 * @cq_consumer: shared CQ consumer index, written here
 * @cqes:	CQ entries
 * @cq_head:	next completion to reap
 * @cq_tail:	*@cq_producer when last read
 * @buf:	buffer area
 * @buf_len:	bytes of buffers in it (buf_size * buf_count)
 * @rx_len:	bytes of the kernel's receive buffers at its start
 * @setup:	the sizes the kernel set up
 * @sq_map:	mapping of the SQ region
 * @cq_map:	mapping of the CQ region
 * @sq_map_len: its length
 * @cq_map_len: its length
 * @buf_map_len: length of the buffer area's mapping
 * @tx_free:	free stack of user space's own buffers (offsets)
 * @tx_out:	bitmap of those handed out
 * @tx_top:	entries on @tx_free
 * @tx_cap:	user space's own buffers
 */
struct fastrpc_ring {
	int fd;
	uint32_t sq_mask;
	uint32_t cq_mask;
	uint32_t *sq_producer;
	const uint32_t *sq_consumer;
	const uint32_t *sq_flags;
	struct fastrpc_sqe *sqes;
	uint32_t sq_tail;
	uint32_t sq_pub;
	uint32_t sq_head;
	const uint32_t *cq_producer;
	uint32_t *cq_consumer;
	const struct fastrpc_cqe *cqes;
	uint32_t cq_head;
	uint32_t cq_tail;
	uint8_t *buf;
	uint32_t buf_len;
	uint32_t rx_len;
	struct fastrpc_ring_setup setup;
	void *sq_map;
	void *cq_map;
	size_t sq_map_len;
	size_t cq_map_len;
	size_t buf_map_len;
	uint32_t *tx_free;
	uint8_t *tx_out;
	uint32_t tx_top;
	uint32_t tx_cap;
};

/**
 * fastrpc_ring_setup() - give a socket rings and map them
 * @fd:		a FastRPC socket (client, or listening server)
 * @s:		sizes, as for setsockopt(FASTRPC_RING); NULL maps the
 *		rings @fd already has (set up by this or another process)
 * @r:		filled in; untouched fields zeroed
 *
 * Sets the rings up, asks the kernel where their parts lie and maps the
 * three regions.  The only allocation is the free stack of user space's
 * buffers (4 bytes and a bit per buffer past @s->rx_bufs).  On failure
 * every mapping made is undone, but rings once set up stay with the
 * socket until it is closed (map them again with @s NULL).
 *
 * Return: 0, or
 *   -EINVAL		sizes out of range (see struct fastrpc_ring_setup),
 *   -EBUSY		@fd has rings already (pass @s NULL to map them),
 *   -ENOPROTOOPT	the module has no rings (FASTRPC_FEAT_RING),
 *   -ENXIO		@s NULL and @fd has no rings,
 *   -EPROTO		the kernel described rings this library cannot use,
 *   -ENOMEM		no memory for the free stack or the mappings.
 */
int fastrpc_ring_setup(int fd, const struct fastrpc_ring_setup *s,
		       struct fastrpc_ring *r);

/**
 * fastrpc_ring_unmap() - unmap a ring and free the library's part of it
 * @r:		from fastrpc_ring_setup(); left zeroed, fd -1
 *
 * The socket keeps its rings (and stays open): close it to end them.
 * Completions not reaped and runs not given back stay as they are.
 */
void fastrpc_ring_unmap(struct fastrpc_ring *r);

/**
 * fastrpc_ring_fd() - the ring's socket, for poll() and epoll
 * @r:		the ring
 *
 * Return: the descriptor given to fastrpc_ring_setup().
 */
static inline int fastrpc_ring_fd(const struct fastrpc_ring *r)
{
	return r->fd;
}

/**
 * fastrpc_ring_get_sqe() - the next free submission entry
 * @r:		the ring
 *
 * The entry holds stale bytes: fill it with a fastrpc_ring_prep_*()
 * helper.  It goes to the kernel with the next fastrpc_ring_submit();
 * every entry handed out must be filled before that.
 *
 * Return: the entry, or NULL when the SQ is full (the kernel has not
 * consumed enough yet: submit, then retry after reaping or polling).
 */
static inline struct fastrpc_sqe *fastrpc_ring_get_sqe(struct fastrpc_ring *r)
{
	if (r->sq_tail - r->sq_head > r->sq_mask) {
		/* acquire: the kernel is done reading what it consumed */
		r->sq_head = __atomic_load_n(r->sq_consumer, __ATOMIC_ACQUIRE);
		if (r->sq_tail - r->sq_head > r->sq_mask)
			return NULL;
	}
	return &r->sqes[r->sq_tail++ & r->sq_mask];
}

/**
 * fastrpc_ring_sq_pending() - entries published and not yet consumed
 * @r:		the ring
 *
 * Nonzero after fastrpc_ring_submit() returned -EAGAIN until the kernel
 * takes them: submit again once completions were reaped or POLLOUT says
 * there is send room.
 *
 * Return: the number of entries the kernel still has to take.
 */
static inline unsigned int fastrpc_ring_sq_pending(struct fastrpc_ring *r)
{
	r->sq_head = __atomic_load_n(r->sq_consumer, __ATOMIC_ACQUIRE);
	return r->sq_pub - r->sq_head;
}

/**
 * fastrpc_ring_submit() - hand the new entries to the kernel
 * @r:		the ring
 *
 * Publishes every entry taken with fastrpc_ring_get_sqe() since the last
 * call, then wakes the kernel with send(fd, NULL, 0, MSG_DONTWAIT) only if
 * it asked to be woken (FASTRPC_RING_NEED_WAKEUP) and entries wait; while
 * the kernel is busy with the socket it takes them on its own, and no
 * system call is made.  Entries the kernel could not take yet stay in the
 * SQ in order; calling this again (with or without new entries) retries
 * them.  An entry that fails for good is consumed and completes with a
 * FASTRPC_CQE_ERROR.
 *
 * Return: the number of entries published by this call (0 is fine:
 * nothing new, or only a retry), or
 *   -EAGAIN		published, but the kernel could take none now (its
 *			send buffer or FASTRPC_MAX_CALLS is full, the CQ has
 *			no room for what it might have to report): reap
 *			completions, wait for POLLOUT, and submit again,
 *   -EBADF, -ENOTSOCK	the descriptor is gone,
 *   or another error of the kernel's wakeup.
 */
int fastrpc_ring_submit(struct fastrpc_ring *r);

/* Write every field of @sqe: the prep helpers start from a clean entry. */
static inline void fastrpc_ring__prep(struct fastrpc_sqe *sqe, uint8_t op,
				      uint32_t flags, uint64_t id,
				      uint32_t method, uint32_t addr,
				      uint32_t len)
{
	sqe->op = op;
	sqe->flags = (uint8_t)flags;
	sqe->meta_len = 0;
	sqe->method = method;
	sqe->id = id;
	sqe->addr = addr;
	sqe->len = len;
	sqe->buf = 0;
	sqe->smsg_len = 0;
	sqe->reserved0 = 0;
	sqe->timeout_ns = 0;
	sqe->reserved = 0;
}

/**
 * fastrpc_ring_prep_call() - start a call (client)
 * @sqe:	from fastrpc_ring_get_sqe()
 * @tag:	the call's tag, unique among the socket's calls in flight
 * @method:	method number
 * @addr:	offset of the request bytes in the buffer area (after
 *		@sqe->meta_len bytes of request headers, if the caller sets
 *		that)
 * @len:	request bytes, at most FASTRPC_MAX_MSG
 * @flags:	FASTRPC_SQE_STREAM, FASTRPC_SQE_EOR (with STREAM), or 0
 *
 * Set @sqe->timeout_ns afterwards for a deadline.  The result comes as
 * FASTRPC_CQE_RESULT completions with @tag in cqe->id, the last one with
 * FASTRPC_CQE_F_EOR and the call's status in cqe->res.
 */
static inline void fastrpc_ring_prep_call(struct fastrpc_sqe *sqe,
					  uint64_t tag, uint32_t method,
					  uint32_t addr, uint32_t len,
					  uint32_t flags)
{
	fastrpc_ring__prep(sqe, FASTRPC_OP_CALL, flags, tag, method, addr,
			   len);
}

/**
 * fastrpc_ring_prep_send() - another message on an open streaming call
 * @sqe:	from fastrpc_ring_get_sqe()
 * @id:		client: the call's tag; server: the call's handle
 * @addr:	offset of the message in the buffer area
 * @len:	message bytes
 * @flags:	client: FASTRPC_SQE_EOR for its last message; else 0
 */
static inline void fastrpc_ring_prep_send(struct fastrpc_sqe *sqe,
					  uint64_t id, uint32_t addr,
					  uint32_t len, uint32_t flags)
{
	fastrpc_ring__prep(sqe, FASTRPC_OP_SEND, flags, id, 0, addr, len);
}

/**
 * fastrpc_ring_prep_cancel() - cancel a call in flight (client)
 * @sqe:	from fastrpc_ring_get_sqe()
 * @tag:	the call's tag
 *
 * The call's last completion then carries FASTRPC_CANCELLED (unless it
 * had ended already; the entry then fails with -ENOENT).
 */
static inline void fastrpc_ring_prep_cancel(struct fastrpc_sqe *sqe,
					    uint64_t tag)
{
	fastrpc_ring__prep(sqe, FASTRPC_OP_CANCEL, 0, tag, 0, 0, 0);
}

/**
 * fastrpc_ring_prep_reply() - answer a call (server)
 * @sqe:	from fastrpc_ring_get_sqe()
 * @handle:	the call's handle (cqe->id of its FASTRPC_CQE_INCOMING)
 * @status:	enum fastrpc_status
 * @addr:	offset of the reply in the buffer area (after trailers and
 *		status message, if the caller sets @sqe->meta_len and
 *		@sqe->smsg_len)
 * @len:	reply bytes
 *
 * A reply to a cancelled call completes with a FASTRPC_CQE_ERROR of
 * -ECANCELED; one to an unknown handle with -ENOENT.
 */
static inline void fastrpc_ring_prep_reply(struct fastrpc_sqe *sqe,
					   uint64_t handle, uint32_t status,
					   uint32_t addr, uint32_t len)
{
	fastrpc_ring__prep(sqe, FASTRPC_OP_REPLY, 0, handle, status, addr,
			   len);
}

/**
 * fastrpc_ring_prep_buf_return() - give a lent run back, and nothing else
 * @sqe:	from fastrpc_ring_get_sqe()
 * @buf:	cqe->buf of the completion that lent it
 */
static inline void fastrpc_ring_prep_buf_return(struct fastrpc_sqe *sqe,
						uint32_t buf)
{
	fastrpc_ring__prep(sqe, FASTRPC_OP_BUF_RETURN, 0, 0, 0, 0, 0);
	sqe->buf = buf;
}

/**
 * fastrpc_ring_sqe_return_buf() - have a prepared entry give a run back too
 * @sqe:	an entry filled by a fastrpc_ring_prep_*() helper
 * @buf:	cqe->buf of the completion that lent the run; nothing is
 *		done for FASTRPC_RING_NO_BUF
 *
 * The run goes back once the entry is consumed, whether its operation
 * succeeds or not, and after its payload was copied: a reply may echo
 * the bytes of the run it returns.  For an entry lent with
 * fastrpc_ring_sqe_lend() it goes back when the entry's FASTRPC_CQE_SENT
 * is posted instead.  An entry the kernel refuses as malformed (a
 * FASTRPC_CQE_ERROR of -EINVAL, -EFAULT, -EMSGSIZE) gives nothing back.
 */
static inline void fastrpc_ring_sqe_return_buf(struct fastrpc_sqe *sqe,
					       uint32_t buf)
{
	if (buf == FASTRPC_RING_NO_BUF)
		return;
	sqe->flags |= FASTRPC_SQE_RETURN_BUF;
	sqe->buf = buf;
}

/**
 * fastrpc_ring_sqe_lend() - lend a prepared entry's payload to the kernel
 * @sqe:	a CALL, SEND or REPLY entry filled by a fastrpc_ring_prep_*()
 *		helper, with a payload (@len > 0)
 *
 * Without this the kernel copies the payload out of the buffer area when
 * it consumes the entry.  With it (FASTRPC_SQE_LEND, FASTRPC_FEAT_RING_LEND
 * in fastrpc_get_features()) the kernel reads the bytes from the area
 * while it writes the message, and they stay the kernel's until the
 * entry's FASTRPC_CQE_SENT completion (cqe->op, cqe->id as the entry's,
 * cqe->buf its @addr, cqe->len its @len): do not write them, nor put
 * their buffer back with fastrpc_ring_txbuf_put(), before then.  cqe->res
 * is 0, or -ECANCELED when part of the message was dropped unsent because
 * its call ended or its connection failed first; SENT may come before or
 * after the call's result.  An entry whose operation fails gets its
 * FASTRPC_CQE_ERROR instead, no SENT, and its bytes are free at once.
 * With fastrpc_ring_sqe_return_buf() too, the run goes back when SENT is
 * posted, so a reply can go straight from the run its request came in
 * (a run that cannot go back fails at once, with an ERROR of op
 * FASTRPC_OP_BUF_RETURN, and the SENT still follows).
 *
 * A SENT that finds the CQ full waits in the kernel, ahead of messages
 * and of new entries: none is lost, but a CQ sized for the lent entries
 * in flight as well spares the wait.  Lending pays for large payloads
 * (above about 16 KiB), where it saves the kernel's copy and the memory
 * for it; smaller ones are copied anyway.  On a CANCEL or BUF_RETURN
 * entry, or with @len 0, the entry is malformed (a FASTRPC_CQE_ERROR of
 * -EINVAL).
 */
static inline void fastrpc_ring_sqe_lend(struct fastrpc_sqe *sqe)
{
	sqe->flags |= FASTRPC_SQE_LEND;
}

/* Read the kernel's CQ producer index; the completions ready. */
static inline unsigned int fastrpc_ring__cq_load(struct fastrpc_ring *r)
{
	/* acquire: the entries before the index that names them */
	uint32_t tail = __atomic_load_n(r->cq_producer, __ATOMIC_ACQUIRE);

	/* more than the CQ holds is no count the kernel can have written */
	if (tail - r->cq_head <= r->cq_mask + 1)
		r->cq_tail = tail;
	return r->cq_tail - r->cq_head;
}

/**
 * fastrpc_ring_cq_ready() - completions ready to reap
 * @r:		the ring
 *
 * Reads the kernel's CQ producer index only when the completions seen
 * before are all reaped.
 *
 * Return: the number of completions fastrpc_ring_peek() would give.
 */
static inline unsigned int fastrpc_ring_cq_ready(struct fastrpc_ring *r)
{
	uint32_t n = r->cq_tail - r->cq_head;

	return n ? n : fastrpc_ring__cq_load(r);
}

/**
 * fastrpc_ring_peek() - point at the completions ready, without waiting
 * @r:		the ring
 * @cqes:	set to up to @max completions, oldest first
 * @max:	size of @cqes
 *
 * The completions stay valid and in place until fastrpc_ring_advance().
 *
 * Return: the number of pointers stored (0 when none is ready).
 */
static inline unsigned int fastrpc_ring_peek(struct fastrpc_ring *r,
					     const struct fastrpc_cqe **cqes,
					     unsigned int max)
{
	unsigned int n = r->cq_tail - r->cq_head, i;

	if (n < max)
		n = fastrpc_ring__cq_load(r);	/* newer ones too */
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		cqes[i] = &r->cqes[(r->cq_head + i) & r->cq_mask];
	return n;
}

/**
 * fastrpc_ring_peek_cqe() - the oldest completion ready, without waiting
 * @r:		the ring
 *
 * Return: the completion (valid until fastrpc_ring_advance()), or NULL.
 */
static inline const struct fastrpc_cqe *
fastrpc_ring_peek_cqe(struct fastrpc_ring *r)
{
	if (!fastrpc_ring_cq_ready(r))
		return NULL;
	return &r->cqes[r->cq_head & r->cq_mask];
}

/**
 * fastrpc_ring_advance() - hand reaped completions back to the kernel
 * @r:		the ring
 * @n:		how many of the oldest, at most what peek gave
 *
 * Their CQ entries may be overwritten from then on; the runs they lent
 * stay lent until given back.
 */
static inline void fastrpc_ring_advance(struct fastrpc_ring *r,
					unsigned int n)
{
	r->cq_head += n;
	/* release: done reading the entries before the kernel reuses them */
	__atomic_store_n(r->cq_consumer, r->cq_head, __ATOMIC_RELEASE);
}

/**
 * fastrpc_ring_wait() - wait for completions
 * @r:		the ring
 * @spin_us:	first spin on the CQ for up to this many microseconds
 *		(busy polling: no sleep and wakeup when completions come
 *		soon, a CPU burnt when they do not); 0 for none
 * @timeout_ms:	then sleep in poll(POLLIN) for up to this long; -1 for no
 *		limit, 0 to only spin
 *
 * Does not submit: entries still waiting in the SQ (fastrpc_ring_submit()
 * returned -EAGAIN) need another fastrpc_ring_submit().
 *
 * Return: the number of completions ready; 0 when @timeout_ms passed, or
 * when poll() woke without any (the socket stays readable while a
 * message flagged FASTRPC_CQE_F_RECVMSG waits for recvmsg(): read it),
 * so callers wait in a loop; -ESHUTDOWN when the CQ is empty and nothing
 * more can come (a server socket after shutdown(SHUT_RD), drained: see
 * fastrpc_ring_submit_wait()); or -EINTR for a signal, -EBADF.
 */
int fastrpc_ring_wait(struct fastrpc_ring *r, unsigned int spin_us,
		      int timeout_ms);

/**
 * fastrpc_ring_submit_wait() - hand the new entries over and wait, in one
 *				system call
 * @r:		the ring
 *
 * What a loop of fastrpc_ring_submit() then fastrpc_ring_wait() does with
 * no time limit, in one send(fd, NULL, 0, MSG_WAITALL) instead of a
 * send() and a poll(): the kernel consumes the SQ, then sleeps until a
 * completion is there to reap, delivering arriving messages in this
 * thread.  A client with one call in flight, or a server that replies
 * and waits for the next request, makes one system call per call.  If
 * completions are ready already it only submits, as fastrpc_ring_submit()
 * does.  With SO_BUSY_POLL on the socket the kernel spins that many
 * microseconds for a completion before it sleeps, and delivers what
 * arrives meanwhile itself (busy polling without the work item a spin in
 * user space waits for across TCP; rings.rst, "Busy polling").  The wait
 * ends at SO_RCVTIMEO if the socket has one; use
 * fastrpc_ring_wait() for a limit of its own, or poll() and epoll when
 * other descriptors matter too.  Entries the kernel could not take for
 * want of send room or an open connection are taken while it waits, once
 * there is room; those it could not take for want of CQ room, or with
 * FASTRPC_MAX_CALLS calls in flight, stay in the SQ
 * (fastrpc_ring_sq_pending()): submit again after reaping.
 *
 * Return: the number of completions ready; 0 when the wait ended without
 * any after entries were consumed (SO_RCVTIMEO, a signal), or when a
 * message flagged FASTRPC_CQE_F_RECVMSG waits for recvmsg(), so callers
 * wait in a loop; or -EAGAIN (SO_RCVTIMEO passed and nothing was
 * consumed, or no entry could be taken and none came), -EINTR (a signal,
 * for a handler without SA_RESTART), -ESHUTDOWN (a server socket shut
 * down with shutdown(SHUT_RD) whose connections have all closed: no
 * completion will come any more), -EBADF, -ENOTSOCK, or another error of
 * the kernel's.
 */
int fastrpc_ring_submit_wait(struct fastrpc_ring *r);

/**
 * fastrpc_ring_buf() - bytes of the buffer area, bounds-checked
 * @r:		the ring
 * @off:	offset in the area (an SQE's @addr, a CQE's @buf)
 * @len:	bytes wanted from there
 *
 * Return: a pointer to @off, or NULL unless [@off, @off + @len) lies
 * inside the area's buffers.
 */
static inline void *fastrpc_ring_buf(const struct fastrpc_ring *r,
				     uint32_t off, uint32_t len)
{
	if (off >= r->buf_len || len > r->buf_len - off)
		return NULL;
	return r->buf + off;
}

/**
 * fastrpc_ring_cqe_data_off() - offset of a completion's payload
 * @cqe:	a completion with a run (cqe->buf not FASTRPC_RING_NO_BUF)
 *
 * Return: the offset in the buffer area of its cqe->len payload bytes,
 * after the metadata and status message; as @addr of a reply, it echoes
 * them without a copy.
 */
static inline uint32_t fastrpc_ring_cqe_data_off(const struct fastrpc_cqe *cqe)
{
	return cqe->buf + cqe->meta_len + cqe->smsg_len;
}

/**
 * fastrpc_ring_cqe_data() - a completion's payload
 * @r:		the ring
 * @cqe:	the completion
 *
 * Metadata (cqe->meta_len bytes) is at fastrpc_ring_buf(r, cqe->buf, ..),
 * the status message (cqe->smsg_len bytes) right after it.
 *
 * Return: a pointer to the cqe->len payload bytes, or NULL when the
 * completion lent no run (no bytes, FASTRPC_CQE_F_RECVMSG, or not a
 * message at all: FASTRPC_CQE_ERROR and FASTRPC_CQE_SENT name an entry's
 * offsets in cqe->buf) or its run is not inside the area.
 */
static inline void *fastrpc_ring_cqe_data(const struct fastrpc_ring *r,
					  const struct fastrpc_cqe *cqe)
{
	uint32_t run = (uint32_t)cqe->meta_len + cqe->smsg_len + cqe->len;

	if ((cqe->type != FASTRPC_CQE_RESULT &&
	     cqe->type != FASTRPC_CQE_INCOMING) ||
	    cqe->buf == FASTRPC_RING_NO_BUF ||
	    !fastrpc_ring_buf(r, cqe->buf, run))
		return NULL;
	return r->buf + fastrpc_ring_cqe_data_off(cqe);
}

/**
 * fastrpc_ring_txbuf_get() - take one of user space's own buffers
 * @r:		the ring
 * @off:	set to its offset in the buffer area; setup.buf_size bytes
 *		there are the caller's until fastrpc_ring_txbuf_put()
 *
 * Buffers are handed out lowest offset first at the start, then last
 * put, first got.
 *
 * Return: 0, or -ENOBUFS when every buffer is taken (or there are none:
 * rx_bufs == buf_count).
 */
int fastrpc_ring_txbuf_get(struct fastrpc_ring *r, uint32_t *off);

/**
 * fastrpc_ring_txbuf_put() - give back a buffer from fastrpc_ring_txbuf_get()
 * @r:		the ring
 * @off:	its offset
 *
 * Put it back only once the entries whose payload it holds are consumed
 * (fastrpc_ring_sq_pending() is 0 or their completions came), and for
 * entries lent with fastrpc_ring_sqe_lend() once their FASTRPC_CQE_SENT
 * came.
 *
 * Return: 0, or -EINVAL if @off is not a buffer of user space's that is
 * handed out (a receive buffer, an offset inside a buffer, a second put).
 */
int fastrpc_ring_txbuf_put(struct fastrpc_ring *r, uint32_t off);

/**
 * fastrpc_get_features() - ask the module what it supports
 * @fd:		any FastRPC socket
 * @out:	filled as far as the kernel's structure goes, rest zeroed
 *
 * Return: 0 or a negative errno.
 */
int fastrpc_get_features(int fd, struct fastrpc_features *out);

/**
 * fastrpc_get_sock_info() - calls in flight, queued results, connection id
 * @fd:		any FastRPC socket
 * @out:	filled by the kernel
 *
 * Return: 0 or a negative errno.
 */
int fastrpc_get_sock_info(int fd, struct fastrpc_sock_info *out);

/**
 * fastrpc_set_max_calls() - limit the calls in flight on a socket
 * @fd:		client or server socket
 * @max_calls:	1..fastrpc_features.max_calls
 *
 * Return: 0, or -EINVAL for 0 or a value over the module's bound.
 */
int fastrpc_set_max_calls(int fd, uint32_t max_calls);

/**
 * fastrpc_get_max_calls() - read the limit on calls in flight of a socket
 * @fd:		client or server socket
 * @out:	set to the limit
 *
 * Return: 0 or a negative errno.
 */
int fastrpc_get_max_calls(int fd, uint32_t *out);

/**
 * fastrpc_status_str() - name of an enum fastrpc_status value
 * @status:	a status from fastrpc_recv_result()
 *
 * Return: a static string such as "OK" or "UNAVAILABLE"; "?" for values
 * outside the enum.
 */
const char *fastrpc_status_str(uint32_t status);

/**
 * fastrpc_strerror() - message for a negative errno returned by this library
 * @err:	-errno (a positive errno is accepted too)
 *
 * Return: a static string, safe to use from any thread.
 */
const char *fastrpc_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* LIBFASTRPC_H */
