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
// Interceptors: Retry makes idempotent calls again on UNAVAILABLE;
// LogClient and LogServer emit log/slog records; ObserveClient and
// ObserveServer feed a Histogram or any Observer.  DialPool spreads calls
// over several sockets; every Server answers HealthMethod (Client.Health).
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
// and parsed here.  The package is pure Go (it builds with CGO_ENABLED=0):
// its numbers and structure layouts are generated from the uapi header
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
