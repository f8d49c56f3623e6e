// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import "syscall"

// Option adjusts one call (Client.Call) or one reply (Request.Reply).
type Option func(*options)

type options struct {
	md        Metadata
	statusMsg string
	trailer   *Metadata
}

// WithMetadata attaches metadata: request headers on a call, trailers on a
// reply.  At most MaxMetadata bytes encoded; keys of 1..255 bytes.
func WithMetadata(md Metadata) Option {
	return func(o *options) { o.md = md }
}

// WithStatusMessage attaches a UTF-8 status message (at most
// MaxStatusMessage bytes) to a reply, whatever its code; calls ignore it.
func WithStatusMessage(msg string) Option {
	return func(o *options) { o.statusMsg = msg }
}

// WithTrailer makes Invoke store the reply's trailers in *md, when the
// call ends with OK or with a status (Call returns them in Reply and
// StatusError).
func WithTrailer(md *Metadata) Option {
	return func(o *options) { o.trailer = md }
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// DialOption sets a knob of the socket Dial creates.
type DialOption func(*dialOptions)

type dialOptions struct {
	codec          Codec
	unary          []UnaryClientInterceptor
	stream         []StreamClientInterceptor
	maxCalls       int
	sndBuf, rcvBuf int
	noLoopback     bool
	ring           ringOptions
}

// WithCodec sets the codec of Invoke (default JSON).
func WithCodec(c Codec) DialOption {
	return func(o *dialOptions) { o.codec = c }
}

// WithUnaryClientInterceptors adds interceptors around every Invoke; the
// first is the outermost.
func WithUnaryClientInterceptors(i ...UnaryClientInterceptor) DialOption {
	return func(o *dialOptions) { o.unary = append(o.unary, i...) }
}

// WithStreamClientInterceptors adds interceptors around every NewStream;
// the first is the outermost.
func WithStreamClientInterceptors(i ...StreamClientInterceptor) DialOption {
	return func(o *dialOptions) { o.stream = append(o.stream, i...) }
}

// WithMaxCalls sets how many calls the client may have open at once
// (FASTRPC_MAX_CALLS, 1..65536; the module's default is 4096).  Past it,
// calls wait for room.
func WithMaxCalls(n int) DialOption {
	return func(o *dialOptions) { o.maxCalls = n }
}

// WithBuffers sets SO_SNDBUF and SO_RCVBUF of the client socket (0 keeps
// the system default): how much the socket queues before sends wait, and
// how much of received replies it holds before it stops granting the
// server credit.
func WithBuffers(send, receive int) DialOption {
	return func(o *dialOptions) { o.sndBuf, o.rcvBuf = send, receive }
}

// WithoutLoopback makes the client use TCP even to a server in its own
// network namespace (FASTRPC_LOOPBACK 0), so that netfilter and packet
// capture see its calls.
func WithoutLoopback() DialOption {
	return func(o *dialOptions) { o.noLoopback = true }
}

// apply sets the options on a socket not yet connected.
func (o *dialOptions) apply(fd int) error {
	if o.maxCalls != 0 {
		if err := syscall.SetsockoptInt(fd, solFastRPC, optMaxCalls, o.maxCalls); err != nil {
			return wrapErrno("setsockopt FASTRPC_MAX_CALLS", err)
		}
	}
	if o.sndBuf > 0 {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, o.sndBuf); err != nil {
			return wrapErrno("setsockopt SO_SNDBUF", err)
		}
	}
	if o.rcvBuf > 0 {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, o.rcvBuf); err != nil {
			return wrapErrno("setsockopt SO_RCVBUF", err)
		}
	}
	if o.noLoopback {
		if err := syscall.SetsockoptInt(fd, solFastRPC, optLoopback, 0); err != nil {
			return wrapErrno("setsockopt FASTRPC_LOOPBACK", err)
		}
	}
	return nil
}
