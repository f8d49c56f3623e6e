// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
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
	s       *sock
	raddr   Addr
	nextTag atomic.Uint64

	mu    sync.Mutex
	calls map[uint64]chan<- result // calls in flight by tag
	err   error                    // why the receive loop ended
	done  chan struct{}            // closed when the receive loop ended
}

// Reply is the answer to a successful call.
type Reply struct {
	// Data is the reply message.
	Data []byte
	// Trailers are the server's reply trailers, if any.
	Trailers Metadata
}

type result struct {
	status uint32
	data   []byte
	md     Metadata
	msg    string
	err    error
}

// Dial connects to a FastRPC server at addr, an IP literal and a port such
// as "192.0.2.1:7070", "[2001:db8::1]:7070" or "[fe80::1%eth0]:7070" (no
// name resolution).  The kernel shares one TCP connection among all
// sockets of the network namespace that talk to the same server.  ctx
// bounds the wait; the kernel's own connect timeout is about 10 s.
func Dial(ctx context.Context, addr string) (*Client, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "fastrpc", Addr: stringAddr(addr), Err: err}
	}
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, opErr(err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return nil, opErr(&net.AddrError{Err: "invalid port", Addr: addr})
	}
	sa, err := sockaddrFromIP(host, uint16(port))
	if err != nil {
		return nil, opErr(&net.AddrError{Err: "not an IP address literal: " + err.Error(), Addr: addr})
	}
	raddr, _ := decodeSockaddr(sa)
	if err := ctx.Err(); err != nil {
		return nil, opErr(err)
	}
	fd, err := newSocket()
	if err != nil {
		return nil, opErr(err)
	}
	// connect() is synchronous in AF_FASTRPC; run it aside so ctx can end
	// the wait.  An abandoned attempt closes its socket when it returns.
	ch := make(chan error, 1)
	go func() { ch <- sockaddrCall(syscall.SYS_CONNECT, fd, sa) }()
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
	s, err := wrap(fd, "fastrpc:"+addr)
	if err != nil {
		return nil, opErr(err)
	}
	c := &Client{s: s, raddr: raddr, calls: make(map[uint64]chan<- result), done: make(chan struct{})}
	go c.receive()
	return c, nil
}

// RemoteAddr returns the server's address.
func (c *Client) RemoteAddr() net.Addr { return c.raddr }

// Call makes one unary call: it sends req to method and waits for the
// result.  A deadline on ctx becomes the call's kernel-enforced deadline
// (the server sees the time left and a cancellation when it passes);
// cancelling ctx cancels the call on both ends.  While the socket pushes
// back (FASTRPC_MAX_CALLS calls open, SO_SNDBUF full) Call waits for room,
// or until ctx ends.  A status other than OK
// is returned as a *StatusError; network failures and use after Close as
// a *net.OpError (errors.Is(err, net.ErrClosed) after Close).
func (c *Client) Call(ctx context.Context, method uint32, req []byte, opts ...Option) (*Reply, error) {
	o := collect(opts)
	if len(req) > MaxMessage {
		return nil, c.opErr(syscall.EMSGSIZE)
	}
	mdLen, err := checkMetadata(o.md)
	if err != nil {
		return nil, c.opErr(err)
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxStatus(err)
	}

	tag := c.nextTag.Add(1)
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, c.opErr(err)
	}
	c.calls[tag] = ch
	c.mu.Unlock()

	timeout, err := c.start(ctx, tag, method, req, o.md, mdLen)
	if err != nil {
		c.forget(tag)
		return nil, err
	}

	select {
	case r := <-ch:
		return c.finish(r, nil)
	case <-ctx.Done():
	}
	if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t := time.NewTimer(deadlineGrace)
		select {
		case r := <-ch:
			t.Stop()
			return c.finish(r, ctx.Err())
		case <-t.C:
		}
	}
	if err := c.cancel(tag); err != nil && !errors.Is(err, syscall.ENOENT) {
		// not cancelled, so no result will come: stop waiting for one
		c.forget(tag)
		return nil, c.opErr(err)
	}
	return c.finish(<-ch, ctx.Err())
}

// sendBackoffMax bounds the wait between tries of a call that the socket
// pushes back (SO_SNDBUF full, FASTRPC_MAX_CALLS calls open).
const sendBackoffMax = 20 * time.Millisecond

// start sends the CALL.  While the socket pushes back it tries again after
// a short, growing pause until ctx ends, so that a call waiting for room
// honours its context; the deadline sent is what is left at each try.
// Returns the timeout sent with the call (0: none).
func (c *Client) start(ctx context.Context, tag uint64, method uint32, req []byte, md Metadata, mdLen int) (time.Duration, error) {
	var cb cmsgBuilder
	cb.b = make([]byte, 0, syscall.CmsgSpace(sizeCall)+syscall.CmsgSpace(sizeTimeout)+syscall.CmsgSpace(mdLen))
	for pause := time.Millisecond; ; pause = min(2*pause, sendBackoffMax) {
		var timeout time.Duration
		if dl, ok := ctx.Deadline(); ok {
			if timeout = time.Until(dl); timeout <= 0 {
				return 0, ctxStatus(context.DeadlineExceeded)
			}
		}
		cb.b = cb.b[:0]
		callMsg{tag: tag, method: method}.encode(cb.add(cmsgCall, sizeCall))
		if timeout > 0 {
			encodeTimeout(cb.add(cmsgTimeout, sizeTimeout), uint64(timeout))
		}
		if mdLen > 0 {
			md.encode(cb.add(cmsgMetadata, mdLen))
		}
		err := c.s.trySendmsg(req, cb.b)
		if err == nil {
			return timeout, nil
		}
		if !errors.Is(err, syscall.EAGAIN) {
			return 0, c.opErr(err)
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctxStatus(ctx.Err())
		case <-t.C:
		}
	}
}

// forget drops a call that will get no result.
func (c *Client) forget(tag uint64) {
	c.mu.Lock()
	if c.calls != nil {
		delete(c.calls, tag)
	}
	c.mu.Unlock()
}

// cancel sends FASTRPC_CMSG_CANCEL; ENOENT means the result is queued.
func (c *Client) cancel(tag uint64) error {
	var cb cmsgBuilder
	ne.PutUint64(cb.add(cmsgCancel, 8), tag)
	return c.s.sendmsg(nil, cb.b, 0)
}

// finish turns a result into Call's return values.  ctxErr is the
// context's error when the caller stopped waiting.
func (c *Client) finish(r result, ctxErr error) (*Reply, error) {
	if r.err != nil {
		return nil, c.opErr(r.err)
	}
	if r.status == uint32(OK) {
		return &Reply{Data: r.data, Trailers: r.md}, nil
	}
	code := Code(r.status)
	if code == Cancelled && errors.Is(ctxErr, context.DeadlineExceeded) {
		code = DeadlineExceeded
	}
	return nil, &StatusError{Code: code, Message: r.msg, Trailers: r.md, Data: r.data}
}

// receive is the one reader of the socket: it matches results to calls.
func (c *Client) receive() {
	buf := make([]byte, MaxMessage)
	oob := make([]byte, recvControlSpace)
	for {
		n, oobn, mflags, _, err := c.s.recvmsg(buf, oob, nil)
		if err != nil {
			c.fail(err)
			return
		}
		pc, err := parseControl(oob[:oobn], cmsgResult, sizeResult)
		if err != nil {
			continue
		}
		res := decodeResult(pc.verb)
		if mflags&syscall.MSG_EOR == 0 {
			continue // a streaming reply message: unary calls get none
		}
		r := result{status: res.status}
		if n > 0 {
			r.data = append([]byte(nil), buf[:n]...)
		}
		if pc.hasMeta {
			r.md, _ = decodeMetadata(pc.meta)
		}
		if pc.hasState {
			r.msg = string(pc.status)
		}
		c.mu.Lock()
		ch := c.calls[res.tag]
		delete(c.calls, res.tag)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// fail ends every call in flight with err and refuses new ones.
func (c *Client) fail(err error) {
	c.mu.Lock()
	c.err = err
	calls := c.calls
	c.calls = nil
	c.mu.Unlock()
	for _, ch := range calls {
		ch <- result{err: err}
	}
	close(c.done)
}

// Close closes the socket: the kernel cancels the calls in flight (the
// server sees each cancelled) and they, and later calls, fail with an
// error that matches net.ErrClosed.
func (c *Client) Close() error {
	err := c.s.close()
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
