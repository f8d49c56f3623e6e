// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// deadlineGrace is how long Call waits, once its context's deadline has
// passed, for the kernel's own DEADLINE_EXCEEDED result before cancelling.
const deadlineGrace = 200 * time.Millisecond

// Client is a connected FastRPC client socket.  It is safe for concurrent
// use: any number of goroutines may Call at once, each call being named by
// its own tag, and one receive goroutine hands each result to its caller.
type Client struct {
	opts     dialOptions
	invoker  UnaryInvoker // Invoke's chain of interceptors
	streamer Streamer     // NewStream's
	s        *sock
	ww       *writeWaiter
	ring     *clientRing // WithRing: calls through the rings
	raddr    Addr
	nextTag  atomic.Uint64
	pushed   atomic.Uint64 // sends the socket pushed back (EAGAIN): for tests

	mu    sync.Mutex
	calls map[uint64]*call // calls in flight by tag
	err   error            // why the receive loop ended
	done  chan struct{}    // closed when the receive loop ended
}

// Reply is the answer to a successful call.
type Reply struct {
	// Data is the reply message.
	Data []byte
	// Trailers are the server's reply trailers, if any.
	Trailers Metadata
}

// call is the state of one call in flight, pooled: Call takes one, the
// receive loop fills in the result and signals done, Call reads the
// result and puts it back.  Only the receive loop (having taken it out of
// Client.calls) or fail writes the result.
type call struct {
	tag  uint64
	done chan struct{} // capacity 1: the result is in

	status uint32
	data   []byte
	md     Metadata
	msg    string
	err    error

	cb   cmsgBuilder
	send sendOp
}

var callPool = sync.Pool{New: func() any {
	cl := &call{done: make(chan struct{}, 1)}
	cl.cb.b = make([]byte, 0, 128)
	cl.send.init()
	return cl
}}

func (cl *call) release() {
	cl.data, cl.md, cl.msg, cl.err = nil, nil, "", nil
	callPool.Put(cl)
}

// Dial connects to a FastRPC server at addr, "host:port": an IP literal
// ("192.0.2.1:7070", "[2001:db8::1]:7070", "[fe80::1%eth0]:7070") or a
// host name, which is resolved and whose addresses are tried in turn.
// The kernel shares one TCP connection among all sockets of the network
// namespace that talk to the same server.  ctx bounds the resolution and
// the wait; the kernel's own connect timeout is about 10 s.  Failures are
// *net.OpError values.
func Dial(ctx context.Context, addr string, opts ...DialOption) (*Client, error) {
	o := dialOptions{codec: JSON}
	for _, f := range opts {
		f(&o)
	}
	opErr := func(a net.Addr, err error) error {
		return &net.OpError{Op: "dial", Net: "fastrpc", Addr: a, Err: err}
	}
	aps, err := resolve(ctx, addr, false)
	if err != nil {
		return nil, opErr(stringAddr(addr), err)
	}
	var firstErr error
	for _, ap := range aps {
		c, err := dialOne(ctx, ap, &o)
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}

func dialOne(ctx context.Context, ap netip.AddrPort, o *dialOptions) (*Client, error) {
	raddr := Addr{ap}
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "fastrpc", Addr: raddr, Err: err}
	}
	sa, err := encodeSockaddr(ap)
	if err != nil {
		return nil, opErr(&net.AddrError{Err: err.Error(), Addr: ap.String()})
	}
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	fd, err := newSocket()
	if err != nil {
		return nil, opErr(err)
	}
	if err := o.apply(fd); err != nil {
		syscall.Close(fd)
		return nil, opErr(err)
	}
	// connect() is synchronous in AF_FASTRPC; run it aside so ctx can end
	// the wait.  An abandoned attempt closes its socket when it returns.
	ch := make(chan error, 1)
	go func() { ch <- sockaddrCall(syscall.SYS_CONNECT, fd, &sa) }()
	select {
	case err = <-ch:
	case <-ctx.Done():
		go func() { <-ch; syscall.Close(fd) }()
		return nil, opErr(ctx.Err())
	}
	if err != nil {
		syscall.Close(fd)
		return nil, opErr(wrapErrno("connect", err))
	}
	ww, err := newWriteWaiter(fd, "fastrpc-pollout:"+raddr.String())
	if err != nil {
		syscall.Close(fd)
		return nil, opErr(err)
	}
	s, err := wrap(fd, "fastrpc:"+raddr.String())
	if err != nil {
		ww.close()
		return nil, opErr(err)
	}
	c := &Client{opts: *o, s: s, ww: ww, raddr: raddr, calls: make(map[uint64]*call), done: make(chan struct{})}
	c.invoker = chainUnaryClient(o.unary, (*Client).invoke)
	c.streamer = chainStreamClient(o.stream, (*Client).newStream)
	if o.ring.on {
		if c.ring, err = newClientRing(c, fd, o.ring); err != nil {
			s.close()
			ww.close()
			return nil, opErr(err)
		}
		ww.polled = c.ring.afterPoll
		go c.ring.reap()
		return c, nil
	}
	go c.receive()
	return c, nil
}

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.raddr }

// Call makes one unary call: it sends req to the numeric method (see
// MethodOf for named ones) and waits for the result.  It is the raw path:
// no codec and no interceptors.  Request headers come from WithMetadata
// and NewOutgoingContext.  A deadline on ctx becomes the call's kernel-enforced deadline
// (the server sees the time left and a cancellation when it passes);
// cancelling ctx cancels the call on both ends.  While the socket pushes
// back (FASTRPC_MAX_CALLS calls open, SO_SNDBUF full) Call waits in the
// runtime poller for room, or until ctx ends.  A status other than OK
// is returned as a *StatusError; network failures and use after Close as
// a *net.OpError (errors.Is(err, net.ErrClosed) after Close).
func (c *Client) Call(ctx context.Context, method uint32, req []byte, opts ...Option) (*Reply, error) {
	var o options
	if len(opts) > 0 { // collect's o escapes: only when there are options
		o = collect(opts)
	}
	if len(req) > MaxMessage {
		return nil, c.opErr(syscall.EMSGSIZE)
	}
	md := outgoing(ctx, o.md)
	mdLen, err := checkMetadata(md)
	if err != nil {
		return nil, c.opErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxStatus(err)
	}

	cl := callPool.Get().(*call)
	cl.tag = c.nextTag.Add(1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		cl.release()
		return nil, c.opErr(err)
	}
	c.calls[cl.tag] = cl
	c.mu.Unlock()

	if c.ring != nil {
		return c.ringCall(ctx, cl, method, req, md, mdLen)
	}
	timeout, err := c.start(ctx, cl, method, req, md, mdLen)
	if err != nil {
		c.abandon(cl)
		return nil, err
	}
	return c.await(ctx, cl, timeout)
}

// await waits for the result of cl, sent with timeout (0: none).  When
// ctx ends first it cancels the call, after giving the kernel's own
// DEADLINE_EXCEEDED deadlineGrace to come if the kernel enforces the
// same deadline (its clock started when it took the call).
func (c *Client) await(ctx context.Context, cl *call, timeout time.Duration) (*Reply, error) {
	done := ctx.Done()
	if done == nil { // a context that never ends: a receive, not a select
		<-cl.done
		return c.finish(cl, nil)
	}
	select {
	case <-cl.done:
		return c.finish(cl, nil)
	case <-done:
	}
	if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t := time.NewTimer(deadlineGrace)
		select {
		case <-cl.done:
			t.Stop()
			return c.finish(cl, ctx.Err())
		case <-t.C:
		}
	}
	if c.ring != nil {
		return c.ring.giveUp(cl, ctx.Err())
	}
	if err := c.cancel(cl.tag); err != nil && !errors.Is(err, syscall.ENOENT) {
		// not cancelled, so no result will come: stop waiting for one
		c.abandon(cl)
		return nil, c.opErr(err)
	}
	<-cl.done
	return c.finish(cl, ctx.Err())
}

// start sends the CALL.  While the socket pushes back it waits for
// POLLOUT in the poller, or until ctx ends; the deadline sent is what is
// left at each try.  Returns the timeout sent with the call (0: none).
func (c *Client) start(ctx context.Context, cl *call, method uint32, req []byte, md Metadata, mdLen int) (time.Duration, error) {
	for {
		var timeout time.Duration
		if dl, ok := ctx.Deadline(); ok {
			if timeout = time.Until(dl); timeout <= 0 {
				return 0, ctxStatus(context.DeadlineExceeded)
			}
		}
		cl.cb.b = cl.cb.b[:0]
		put(&cl.cb, cmsgCall, &rawCall{Tag: cl.tag, Method: method})
		if timeout > 0 {
			cl.cb.putU64(cmsgTimeout, uint64(timeout))
		}
		if mdLen > 0 {
			md.encode(cl.cb.add(cmsgMetadata, mdLen))
		}
		err := c.s.send(&cl.send, req, cl.cb.b)
		if err == nil {
			return timeout, nil
		}
		if !errors.Is(err, syscall.EAGAIN) {
			return 0, c.opErr(err)
		}
		c.pushed.Add(1)
		select {
		case <-c.ww.wakeup():
		case <-ctx.Done():
			return 0, ctxStatus(ctx.Err())
		case <-c.done:
		}
	}
}

// abandon drops a call whose result the caller will not wait for: if the
// receive loop has it already, its result is awaited before the call
// state goes back to the pool.
func (c *Client) abandon(cl *call) {
	c.mu.Lock()
	_, pending := c.calls[cl.tag]
	if pending {
		delete(c.calls, cl.tag)
	}
	c.mu.Unlock()
	if !pending {
		<-cl.done
	}
	cl.release()
}

// cancel sends FASTRPC_CMSG_CANCEL; ENOENT means the result is queued.
func (c *Client) cancel(tag uint64) error {
	var cb cmsgBuilder
	cb.putU64(cmsgCancel, tag)
	return c.s.sendmsg(nil, cb.b)
}

// finish turns a call's result into Call's return values and releases
// it.  ctxErr is the context's error when the caller stopped waiting.
func (c *Client) finish(cl *call, ctxErr error) (*Reply, error) {
	status, data, md, msg, err := cl.status, cl.data, cl.md, cl.msg, cl.err
	cl.release()
	if err != nil {
		return nil, c.opErr(err)
	}
	if status == statusOK {
		return &Reply{Data: data, Trailers: md}, nil
	}
	code := Code(status)
	if code == Cancelled && errors.Is(ctxErr, context.DeadlineExceeded) {
		code = DeadlineExceeded
	}
	return nil, &StatusError{Code: code, Message: msg, Trailers: md, Details: data}
}

// receive is the one reader of the socket: it matches results to calls.
func (c *Client) receive() {
	op := newRecvOp(make([]byte, MaxMessage), make([]byte, recvControlSpace), nil)
	for {
		if err := c.s.recv(op); err != nil {
			c.fail(err)
			return
		}
		pc, err := parseControl(op.oob[:op.oobn], cmsgResult, sizeofResult)
		if err != nil {
			continue
		}
		res := decode[rawResult](pc.verb)
		if op.mflags&syscall.MSG_EOR == 0 {
			continue // a streaming reply message: unary calls get none
		}
		c.mu.Lock()
		cl := c.calls[res.Tag]
		delete(c.calls, res.Tag)
		c.mu.Unlock()
		if cl == nil {
			continue
		}
		cl.status = res.Status
		if op.n > 0 {
			cl.data = append([]byte(nil), op.p[:op.n]...)
		}
		if pc.hasMeta {
			cl.md, _ = decodeMetadata(pc.meta)
		}
		if pc.hasState {
			cl.msg = string(pc.status)
		}
		cl.done <- struct{}{}
	}
}

// fail ends every call in flight with err and refuses new ones.
func (c *Client) fail(err error) {
	c.mu.Lock()
	c.err = err
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, cl := range calls {
		cl.err = err
		cl.done <- struct{}{}
	}
	close(c.done)
}

// Close closes the socket: the kernel cancels the calls in flight (the
// server sees each cancelled) and they, and later calls, fail with an
// error that matches net.ErrClosed.
func (c *Client) Close() error {
	err := c.s.close()
	c.ww.close()
	<-c.done
	if err != nil {
		return c.opErr(err)
	}
	return nil
}

func (c *Client) opErr(err error) error {
	return &net.OpError{Op: "call", Net: "fastrpc", Addr: c.raddr, Err: err}
}

// ctxStatus is the error of a call that never started because of ctx.
func ctxStatus(err error) error {
	code := Cancelled
	if errors.Is(err, context.DeadlineExceeded) {
		code = DeadlineExceeded
	}
	return &StatusError{Code: code, Message: err.Error()}
}

func wrapErrno(op string, err error) error {
	if errno, ok := err.(syscall.Errno); ok {
		return os.NewSyscallError(op, errno)
	}
	return err
}

type stringAddr string

func (a stringAddr) Network() string { return "fastrpc" }
func (a stringAddr) String() string  { return string(a) }
