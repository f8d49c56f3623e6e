// SPDX-License-Identifier: LGPL-2.1-or-later

// Package fastrpc is the Go binding of FastRPC, the Linux kernel RPC
// transport of the af_fastrpc module (socket family AF_FASTRPC).
//
// The kernel frames, multiplexes and flow-controls calls over one shared
// TCP connection per peer, and enforces deadlines and cancellation; this
// package gives that an idiomatic Go face:
//
//	c, err := fastrpc.Dial(ctx, "server.example:7070")
//	err = c.Invoke(ctx, "kv.Get", &GetRequest{Key: "k"}, &reply)
//	r, err := c.Call(ctx, fastrpc.MethodOf("echo"), []byte("hi"))
//
//	ln, err := fastrpc.Listen(":7070")
//	s := fastrpc.NewServer()
//	s.Handle("echo", func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
//		return req.Data, nil
//	})
//	fastrpc.HandleTyped(s, "kv.Get", get)
//	err = s.Serve(ctx, ln)
//
// # Methods
//
// The wire carries a 32-bit method number.  A named method's number is
// MethodOf(name), 0x80000000 | (FNV-1a-32(name) & 0x7fffffff), so client
// and server agree on it without coordination; numbers below 0x80000000
// are numeric methods (Client.Call, Server.HandleMethod).
//
// # Calls
//
// A Client is safe for concurrent use by many goroutines: each call gets
// its own 64-bit tag and one receive goroutine per Client hands results
// back.  A context's deadline becomes the call's deadline in the kernel,
// and cancelling the context cancels the call at the server too, where
// it ends the handler's context.  Call is the raw path (bytes, no codec,
// no interceptors) and allocates twice per call in steady state; Invoke
// encodes with the client's Codec (JSON by default, Raw for bytes; the
// protobuf codec is package fastrpc.dev/gobind/protocodec, a module of
// its own so that this one needs only the standard library) and runs the
// client's interceptors.  Request headers travel in the context
// (NewOutgoingContext, FromIncomingContext); a handler adds trailers and
// a status message with SetTrailer and SetStatusMessage.
//
// A call that ends with a status other than OK returns a *StatusError
// (code, message, details, trailers), which errors.Is matches against
// the Err* sentinels (and context.DeadlineExceeded / context.Canceled);
// CodeOf gives the code of any error.  Failures of the socket itself are
// *net.OpError values; after Close they match net.ErrClosed.
//
// # Shutdown
//
// Server.Shutdown stops gracefully: every listener sends GOAWAY
// (Listener.Shutdown, shutdown(SHUT_RD)), new calls fail with
// UNAVAILABLE, the admitted ones are still received and handled, and each
// connection closes once its last call is over.  When none is left the
// kernel reports an end of file on the listening socket
// (FASTRPC_FEAT_SHUTDOWN_EOF): Serve returns ErrServerClosed then, and
// Shutdown waits for the handlers still running, then closes the
// listeners; so a program waits for Shutdown to return, not for Serve
// (as with net/http).  With a module without that bit, Shutdown asks the
// kernel every 5 ms how many admitted calls are unanswered instead, and
// Recv after Listener.Shutdown waits until Close.
//
// A Listener taken with Recv is shut down the same way: after
// Listener.Shutdown, Recv hands out the calls received before, in order,
// and then returns io.EOF, itself and not wrapped (as ServerStream.Recv
// and net.Conn's Read do; test it with == or errors.Is), every time until
// Close; a Serve of the Listener returns io.EOF there.  Close is still
// needed, and after it Recv's errors match net.ErrClosed.  io.EOF rather
// than a *net.OpError: the end of file is no failure of the socket, and
// it is the package's end of a sequence of messages already.
//
// Interceptors: Retry makes idempotent calls again on UNAVAILABLE;
// LogClient and LogServer emit log/slog records; ObserveClient and
// ObserveServer feed a Histogram or any Observer.  DialPool spreads calls
// over several sockets; every Server answers HealthMethod (Client.Health).
//
// # Rings
//
// Dial with WithRing(sqEntries, cqEntries, bufBytes) (zeros for 256, 512
// and 2048) makes the Client carry its unary calls, Call and Invoke and
// what is built on them, through the socket's submission and completion
// rings (FASTRPC_RING, Documentation/rings.rst) instead of one sendmsg
// and one recvmsg each; the API and its errors stay the same:
//
//	c, err := fastrpc.Dial(ctx, addr, fastrpc.WithRing(0, 0, 0))
//
// The regions are mapped into the process and driven from Go with
// sync/atomic on the index words (the memory model is in ring.go).  A
// caller writes its request into the transmit buffer of its SQ slot and
// its CALL entry; one goroutine at a time rings the doorbell (a send of
// no bytes) for every entry written meanwhile, and only while the kernel
// sets NEED_WAKEUP, so many goroutines' calls share one system call.  One
// reap goroutine waits for the CQ in the runtime poller, copies each
// result into its Reply, gives the receive buffers back with BUF_RETURN
// entries and wakes the caller by tag.  Deadlines are the entry's
// timeout (counted from when the kernel takes it), cancellation a CANCEL
// entry after the CALL.  A request larger than a buffer goes out with
// sendmsg, a result larger than the receive buffers is read with
// recvmsg.  While the kernel cannot take an entry (SO_SNDBUF, the
// connection opening, the CQ full) the doorbell fails with EAGAIN and
// the client rings again on POLLOUT or CQ room; a full SQ makes callers
// wait; calls beyond FASTRPC_MAX_CALLS wait in the client, before the SQ.
// Completions are checked before use: a malformed one fails its call.
// A unary Call through the rings allocates twice, as without.  Streams
// keep their own sockets without rings.
//
// Listen with ListenRing (the same sizes) does the same for a server:
// one reap goroutine takes incoming calls, streaming messages and
// cancellation notices from the CQ, and Request.Reply (what Serve's
// handlers return) writes a REPLY entry, so replies of many handlers
// share one doorbell.  Request.Peer is zero then, and Reply reports only
// what is wrong before the entry is queued (see ListenRing).  In a
// benchmark, the transport "go-fastrpc-ring" is both options at once.
//
// # Streams
//
// NewStream starts a streaming call on a socket of its own (sharing the
// kernel's connection), so the kernel's per-call flow control holds back
// exactly the stream that is not read.  NewStream sends an empty first
// message at once (the server's handler starts and sees the headers and
// the deadline) and CloseSend an empty last message with MSG_EOR; a
// stream handler is given neither, so C peers that talk to Go streams
// follow the same convention.  On a Listener, the later messages of a
// stream wait for its handler up to the read-ahead limit; past it the
// Listener stops reading and the kernel holds every caller back.
//
// # Sockets
//
// Sockets live in the Go runtime poller, so a goroutine waiting for a
// result, an incoming call or room to send (POLLOUT) is parked, not a
// thread.  Messages are sent and received with raw sendmsg/recvmsg system
// calls from Go, with the control messages of uapi/linux/fastrpc.h built
// and parsed here; those that only copy (every recvmsg, and a sendmsg of
// up to 64 KiB: the socket is non-blocking) as syscall.RawSyscall, which
// keeps the scheduler's P and sysmon out of them (sock.go says why).
//
// Serve takes a Listener's calls without Recv's queue: the goroutine that
// reads the socket hands each call to a handler goroutine that waits for
// work (or starts one), and a handler's goroutine, once it has answered,
// waits for the next call, so its grown stack is reused (handlers must
// not leave a locked thread behind: see Serve).  A handler's context is
// its call's own, derived from Serve's, with the request headers and
// reply state added without allocating.
//
// The package is pure Go (it builds with CGO_ENABLED=0): its numbers and structure layouts are generated from the uapi header
// into zuapi.go by cgo -godefs (go generate; see mkuapi.sh), and a test
// fails when that file no longer matches the header.  It is for Linux.
// Each Client and Listener holds one receive buffer of MaxMessage bytes.
// It builds for the Linux architectures with direct socket system calls:
// not 386, whose socketcall multiplexer it does not use.
//
// The Go module is fastrpc.dev/gobind, in the gobind directory of the
// FastRPC source tree; fastrpc.dev is not served, so a program that uses
// it points the module at a checkout with a replace directive in its
// go.mod ("replace fastrpc.dev/gobind => ../fastrpc/gobind") or vendors
// it.  It needs the standard library only.  Package fastrpctest starts
// servers for tests.
package fastrpc

//go:generate sh -c "sh mkuapi.sh >zuapi.go.tmp && mv zuapi.go.tmp zuapi.go"
