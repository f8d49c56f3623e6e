// SPDX-License-Identifier: LGPL-2.1-or-later

// Package fastrpc is the Go binding of FastRPC, the Linux kernel RPC
// transport of the af_fastrpc module (socket family AF_FASTRPC).
//
// The kernel frames, multiplexes and flow-controls calls over one shared
// TCP connection per peer, and enforces deadlines and cancellation; this
// package gives that an idiomatic Go face:
//
//	c, err := fastrpc.Dial(ctx, "192.0.2.1:7070")
//	reply, err := c.Call(ctx, method, request)
//
//	srv, err := fastrpc.Listen(":7070")
//	err = srv.Serve(ctx, func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
//		return req.Data, nil
//	})
//
// Sockets live in the Go runtime poller, so a goroutine waiting for a
// result or an incoming call is parked, not a thread.  Messages are sent
// and received with raw sendmsg/recvmsg system calls from Go, with the
// control messages of uapi/linux/fastrpc.h built and parsed here; cgo
// (libfastrpc, linked statically) is used only at setup, to find the live
// address family number, to parse address literals and to name statuses.
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
