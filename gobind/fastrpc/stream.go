// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Streaming calls (FASTRPC_CALL_STREAM).
//
// A client stream has a socket of its own, connected to the same server
// (the kernel shares the TCP connection), so that the kernel's per-call
// flow control reaches the caller of Recv exactly: a stream nobody reads
// holds back its own server's sends and no other call.
//
// Framing conventions of this package, which C peers follow to talk to
// it: NewStream starts the call at once with an empty first message (so
// the server's handler starts and gets the headers and deadline before
// the client sends anything), and CloseSend ends the client's side with
// an empty message carrying MSG_EOR.  A server's stream handler is not
// given either empty message; a first or last message with data is
// delivered as usual.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// StreamHandler handles one streaming call: it receives the client's
// messages and sends its own with st, then returns nil for OK or an error
// that gives the final status as for Handler.
type StreamHandler func(ctx context.Context, st *ServerStream) error

// StreamServerInterceptor wraps every stream handler of a Server.
type StreamServerInterceptor func(ctx context.Context, st *ServerStream, info *MethodInfo, handler StreamHandler) error

// Streamer opens a client stream: NewStream's last step, or the next
// interceptor.
type Streamer func(c *Client, ctx context.Context, method string, opts ...Option) (*ClientStream, error)

// StreamClientInterceptor wraps every NewStream of a Client.
type StreamClientInterceptor func(ctx context.Context, method string, c *Client, streamer Streamer, opts ...Option) (*ClientStream, error)

// streamTag names a stream's call on its own socket.
const streamTag = 1

// recvBufPool holds the MaxMessage buffers streams receive into.
var recvBufPool = sync.Pool{New: func() any {
	b := make([]byte, MaxMessage)
	return &b
}}

// ClientStream is the client's side of a streaming call.  Send and
// CloseSend may run in one goroutine while Recv runs in another; neither
// is safe for concurrent use with itself.  Read until Recv returns an
// error (io.EOF after an OK end), or cancel the stream's context: that
// releases its socket.
type ClientStream struct {
	c      *Client
	ctx    context.Context
	s      *sock
	stop   func() bool
	codec  Codec
	sendMu sync.Mutex
	send   sendOp
	cb     cmsgBuilder
	recv   *recvOp

	closeOnce sync.Once
	finished  bool     // the final result was read
	final     error    // what Recv returns once finished
	pending   []byte   // last message, to return before final
	trailers  Metadata // the final result's trailers
	cancelled chan struct{}
}

// NewStream starts a streaming call to the named method (see MethodOf).
// ctx's deadline becomes the call's deadline in the kernel; cancelling
// ctx cancels the call (the server's handler sees its context end) and
// releases the stream.  Request headers come from NewOutgoingContext and
// WithMetadata.  The client's stream interceptors run around it.
func (c *Client) NewStream(ctx context.Context, method string, opts ...Option) (*ClientStream, error) {
	return c.streamer(c, ctx, method, opts...)
}

func (c *Client) newStream(ctx context.Context, method string, opts ...Option) (*ClientStream, error) {
	var o options
	if len(opts) > 0 {
		o = collect(opts)
	}
	md := outgoing(ctx, o.md)
	mdLen, err := checkMetadata(md)
	if err != nil {
		return nil, c.opErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxStatus(err)
	}
	s, err := c.dialAgain(ctx)
	if err != nil {
		return nil, err
	}
	st := &ClientStream{c: c, ctx: ctx, s: s, codec: c.opts.codec, cancelled: make(chan struct{})}
	st.send.init()
	st.send.wait = true
	var cb cmsgBuilder
	put(&cb, cmsgCall, &rawCall{Tag: streamTag, Method: MethodOf(method), Flags: callStream})
	if dl, ok := ctx.Deadline(); ok {
		timeout := time.Until(dl)
		if timeout <= 0 {
			s.close()
			return nil, ctxStatus(context.DeadlineExceeded)
		}
		cb.putU64(cmsgTimeout, uint64(timeout))
	}
	if mdLen > 0 {
		md.encode(cb.add(cmsgMetadata, mdLen))
	}
	if err := s.send(&st.send, nil, cb.b); err != nil {
		s.close()
		return nil, c.opErr(err)
	}
	// The context's end cancels the call: closing the socket does (the
	// kernel cancels its open calls), and wakes Send and Recv.
	st.stop = context.AfterFunc(ctx, func() {
		close(st.cancelled)
		st.release()
	})
	return st, nil
}

// dialAgain opens another socket to the client's server, with its options.
func (c *Client) dialAgain(ctx context.Context) (*sock, error) {
	sa, err := encodeSockaddr(c.raddr.AddrPort)
	if err != nil {
		return nil, c.opErr(err)
	}
	fd, err := newSocket()
	if err != nil {
		return nil, c.opErr(err)
	}
	if err := c.opts.apply(fd); err != nil {
		syscall.Close(fd)
		return nil, c.opErr(err)
	}
	// the connection is shared and normally open already: connect()
	// returns at once
	if err := sockaddrCall(syscall.SYS_CONNECT, fd, &sa); err != nil {
		syscall.Close(fd)
		return nil, c.opErr(wrapErrno("connect", err))
	}
	s, err := wrap(fd, "fastrpc-stream:"+c.raddr.String())
	if err != nil {
		return nil, c.opErr(err)
	}
	return s, nil
}

func (st *ClientStream) release() {
	st.closeOnce.Do(func() { st.s.close() })
}

// Context returns the stream's context.
func (st *ClientStream) Context() context.Context { return st.ctx }

// Send sends one message, waiting while the kernel's flow control holds
// the stream back.  Once the call has ended, Send returns io.EOF and Recv
// tells how it ended.
func (st *ClientStream) Send(msg []byte) error {
	return st.sendFlags(msg, 0)
}

// SendMsg sends v encoded by the client's codec.
func (st *ClientStream) SendMsg(v any) error {
	b, err := st.codec.Marshal(v)
	if err != nil {
		return err
	}
	return st.Send(b)
}

// CloseSend ends the client's side of the stream (half-close); the
// server's messages can still be received.
func (st *ClientStream) CloseSend() error {
	return st.sendFlags(nil, syscall.MSG_EOR)
}

func (st *ClientStream) sendFlags(msg []byte, flags int) error {
	if len(msg) > MaxMessage {
		return st.c.opErr(syscall.EMSGSIZE)
	}
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	st.cb.b = st.cb.b[:0]
	put(&st.cb, cmsgSend, &rawSend{Id: streamTag})
	st.send.flags = flags
	err := st.s.send(&st.send, msg, st.cb.b)
	switch {
	case err == nil:
		return nil
	case st.isCancelled():
		return ctxStatus(st.ctx.Err())
	case errors.Is(err, syscall.ENOENT), errors.Is(err, syscall.EINVAL), errors.Is(err, net.ErrClosed):
		return io.EOF // the call has ended, or this side was closed
	}
	return st.c.opErr(err)
}

func (st *ClientStream) isCancelled() bool {
	select {
	case <-st.cancelled:
		return true
	default:
		return false
	}
}

// Recv returns the server's next message.  After the server's last one
// it returns io.EOF if the call ended OK, or the call's *StatusError;
// a cancelled or expired context gives CANCELLED or DEADLINE_EXCEEDED.
func (st *ClientStream) Recv() ([]byte, error) {
	if st.pending != nil {
		m := st.pending
		st.pending = nil
		return m, nil
	}
	if st.finished {
		return nil, st.final
	}
	bp := recvBufPool.Get().(*[]byte)
	defer recvBufPool.Put(bp)
	if st.recv == nil {
		st.recv = newRecvOp(nil, make([]byte, recvControlSpace), nil)
	}
	op := st.recv
	op.p = *bp
	defer func() { op.p = nil }()
	for {
		if err := st.s.recv(op); err != nil {
			st.finish()
			if st.isCancelled() {
				st.final = ctxStatus(st.ctx.Err())
			} else {
				st.final = st.c.opErr(err)
			}
			return nil, st.final
		}
		pc, err := parseControl(op.oob[:op.oobn], cmsgResult, sizeofResult)
		if err != nil {
			continue
		}
		res := decode[rawResult](pc.verb)
		var data []byte
		if op.n > 0 {
			data = append([]byte(nil), op.p[:op.n]...)
		}
		if op.mflags&syscall.MSG_EOR == 0 {
			if data == nil {
				data = []byte{}
			}
			return data, nil
		}
		// the final result
		if pc.hasMeta {
			st.trailers, _ = decodeMetadata(pc.meta)
		}
		st.finish()
		if res.Status == statusOK {
			st.final = io.EOF
			if data != nil {
				return data, nil
			}
			return nil, io.EOF
		}
		code := Code(res.Status)
		if code == Cancelled && errors.Is(st.ctx.Err(), context.DeadlineExceeded) {
			code = DeadlineExceeded
		}
		var msg string
		if pc.hasState {
			msg = string(pc.status)
		}
		st.final = &StatusError{Code: code, Message: msg, Details: data, Trailers: st.trailers}
		return nil, st.final
	}
}

// finish notes the end of the call and releases the socket.
func (st *ClientStream) finish() {
	st.finished = true
	st.stop()
	st.release()
}

// RecvMsg receives the next message into v with the client's codec.
func (st *ClientStream) RecvMsg(v any) error {
	b, err := st.Recv()
	if err != nil {
		return err
	}
	return st.codec.Unmarshal(b, v)
}

// Trailer returns the server's trailers, once Recv has returned an error.
func (st *ClientStream) Trailer() Metadata { return st.trailers }

// chainStreamClient wraps last in the interceptors, the first outermost.
func chainStreamClient(is []StreamClientInterceptor, last Streamer) Streamer {
	for i := len(is) - 1; i >= 0; i-- {
		ic, next := is[i], last
		last = func(c *Client, ctx context.Context, method string, opts ...Option) (*ClientStream, error) {
			return ic(ctx, method, c, next, opts...)
		}
	}
	return last
}

// ServerStream is the server's side of a streaming call.  Recv may run in
// one goroutine while Send runs in another.
type ServerStream struct {
	req   *Request
	ctx   context.Context
	codec Codec
	send  sendOp
	cb    cmsgBuilder
	mu    sync.Mutex
}

// Request returns the call: method, peer, request headers, deadline.
func (st *ServerStream) Request() *Request { return st.req }

// Context returns the handler's context.
func (st *ServerStream) Context() context.Context { return st.ctx }

// Recv returns the client's next message; io.EOF once the client has
// closed its side; the context's error once the call is cancelled.
func (st *ServerStream) Recv() ([]byte, error) {
	return st.req.stream().next(st.ctx, st.req.srv)
}

// RecvMsg receives the next message into v with the server's codec.
func (st *ServerStream) RecvMsg(v any) error {
	b, err := st.Recv()
	if err != nil {
		return err
	}
	return st.codec.Unmarshal(b, v)
}

// Send sends one message to the client, waiting while the kernel's flow
// control holds it back.  A cancelled call gives an error matching
// syscall.ECANCELED.
func (st *ServerStream) Send(msg []byte) error {
	if len(msg) > MaxMessage {
		return st.req.opErr(syscall.EMSGSIZE)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.cb.b = st.cb.b[:0]
	put(&st.cb, cmsgSend, &rawSend{Id: st.req.handle})
	if err := st.req.srv.s.send(&st.send, msg, st.cb.b); err != nil {
		return st.req.opErr(err)
	}
	return nil
}

// SendMsg sends v encoded by the server's codec.
func (st *ServerStream) SendMsg(v any) error {
	b, err := st.codec.Marshal(v)
	if err != nil {
		return err
	}
	return st.Send(b)
}

// streamIn queues the messages of a call after its first (FASTRPC_IN_CONT),
// guarded by the Listener's mu.
type streamIn struct {
	msgs   [][]byte
	bytes  int
	eof    bool          // the client's last message came
	signal chan struct{} // capacity 1: something was queued
}

// next waits for the next message of the stream.
func (in *streamIn) next(ctx context.Context, l *Listener) ([]byte, error) {
	for {
		l.mu.Lock()
		if len(in.msgs) > 0 {
			m := in.msgs[0]
			in.msgs[0] = nil
			in.msgs = in.msgs[1:]
			in.bytes -= len(m)
			l.mu.Unlock()
			signal(l.room)
			return m, nil
		}
		eof := in.eof
		l.mu.Unlock()
		if eof {
			return nil, io.EOF
		}
		select {
		case <-in.signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// handleStream runs a stream handler and ends the call with its status.
func (s *Server) handleStream(ctx context.Context, req *Request, e *methodEntry, viaHook bool) {
	hctx, cancel, rs := s.contextFor(ctx, req, viaHook)
	st := &ServerStream{req: req, ctx: hctx, codec: s.opts.codec}
	// the first message, unless it is the empty one that opens a stream
	// of this package's clients
	req.srv.mu.Lock()
	in := req.streamLocked()
	if len(req.Data) > 0 {
		in.msgs = append([][]byte{req.Data}, in.msgs...)
		in.bytes += len(req.Data)
	}
	if req.firstEOR {
		in.eof = true
	}
	req.srv.mu.Unlock()
	st.send.init()
	st.send.wait = true
	h := e.stream
	for i := len(s.opts.stream) - 1; i >= 0; i-- {
		ic, next := s.opts.stream[i], h
		h = func(ctx context.Context, st *ServerStream) error { return ic(ctx, st, &e.info, next) }
	}
	herr := h(hctx, st)
	cancel()
	st.mu.Lock() // no Send in flight past this point
	defer st.mu.Unlock()
	status := statusOf(herr)
	trailers, msg := mergeReply(rs, status)
	err := req.reply(status.Code, status.Details, trailers, msg)
	if err != nil && !req.replied.Load() {
		_ = req.reply(Internal, nil, nil, "fastrpc: bad reply from handler: "+err.Error())
	}
}
