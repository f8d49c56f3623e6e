// SPDX-License-Identifier: LGPL-2.1-or-later

// Package fastrpc is the Go binding of FastRPC, the Linux kernel RPC
// transport of the af_fastrpc module (socket family AF_FASTRPC).
//
// The kernel frames, multiplexes and flow-controls calls over one shared
// TCP connection per peer, and enforces deadlines and cancellation; this
// package gives that an idiomatic Go face:
//
//	c, err := fastrpc.Dial(ctx, "server.example:7070")
//	reply, err := c.Call(ctx, method, request)
//
//	srv, err := fastrpc.Listen(":7070")
//	err = srv.Serve(ctx, func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
//		return req.Data, nil
//	})
//
// Sockets live in the Go runtime poller, so a goroutine waiting for a
// result, an incoming call or room to send (POLLOUT) is parked, not a
// thread.  Messages are sent and received with raw sendmsg/recvmsg system
// calls from Go, with the control messages of uapi/linux/fastrpc.h built
// and parsed here.  The package is pure Go (it builds with CGO_ENABLED=0):
// its numbers and structure layouts are generated from the uapi header
// into zuapi.go by cgo -godefs (go generate; see mkuapi.sh), and a test
// fails when that file no longer matches the header.  It is for Linux.
//
// The Go module is fastrpc.dev/gobind, in the gobind directory of the
// FastRPC source tree; fastrpc.dev is not served, so a program that uses
// it points the module at a checkout with a replace directive in its
// go.mod ("replace fastrpc.dev/gobind => ../fastrpc/gobind") or vendors
// it.  It needs the standard library only.
//
// A Client is safe for concurrent use by many goroutines: each call gets
// its own 64-bit tag and one receive goroutine per Client hands results
// back.  A context's deadline becomes the call's deadline in the kernel,
// and cancelling the context cancels the call at the server too.  A call
// that ends with a status other than OK returns a *StatusError, which
// errors.Is matches against ErrDeadlineExceeded, ErrUnavailable and the
// other sentinels (and context.DeadlineExceeded / context.Canceled).
// Failures of the socket itself are *net.OpError values; after Close they
// match net.ErrClosed.
//
// Each Client and Server holds one receive buffer of MaxMessage bytes.
// Streaming calls (FASTRPC_CALL_STREAM) are not covered by this package
// yet.
package fastrpc

//go:generate sh -c "sh mkuapi.sh >zuapi.go.tmp && mv zuapi.go.tmp zuapi.go"
