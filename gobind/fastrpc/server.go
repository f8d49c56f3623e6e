// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Server is a listening FastRPC server socket.  Incoming calls are taken
// with Recv (and answered with Request.Reply) or handled by Serve.
type Server struct {
	s     *sock
	laddr Addr
	ready chan struct{} // one token: queue became non-empty
	room  chan struct{} // one token: Recv took a request

	mu         sync.Mutex
	active     map[uint64]*Request // received, not yet answered
	queue      []*Request          // received, not yet taken by Recv
	queueBytes int
	err        error
	done       chan struct{} // closed when the receive loop ended

	closeOnce sync.Once
	closing   chan struct{} // closed by Close
}

// Request is one incoming unary call.  It must be answered exactly once
// with Reply, also after its context is done, so the kernel frees its
// handle.
type Request struct {
	// Method is the method number the client sent.
	Method uint32
	// Data is the request message.
	Data []byte
	// Metadata are the client's request headers, if any.
	Metadata Metadata
	// Peer is the caller's address.
	Peer Addr
	// Timeout is the time that was left to the client's deadline when the
	// call arrived; 0 for none.
	Timeout time.Duration

	srv     *Server
	handle  uint64
	ctx     context.Context
	cancel  context.CancelFunc
	replied atomic.Bool
}

// Handler handles one call for Serve.  The reply is data with status OK
// when err is nil; otherwise a *StatusError (see Errorf) gives its code,
// message and trailers, a context error gives CANCELLED or
// DEADLINE_EXCEEDED, and any other error UNKNOWN with err's text.
type Handler func(ctx context.Context, req *Request) ([]byte, error)

// Listen opens a server socket on addr: ":7070" or "[::]:7070" (every
// address of the network namespace, IPv6 and, where the namespace allows,
// IPv4 callers), "0.0.0.0:7070" (every IPv4 address), or one local
// address such as "127.0.0.1:7070" or "[::1]:7070" (callers to that
// address only: a loopback-only server).  A host name is resolved and its
// first address used.  Port 0 picks a free port (see Addr).
func Listen(addr string) (*Server, error) {
	opErr := func(err error) error {
		return &net.OpError{Op: "listen", Net: "fastrpc", Addr: stringAddr(addr), Err: err}
	}
	aps, err := resolve(context.Background(), addr, true)
	if err != nil {
		return nil, opErr(err)
	}
	sa, err := encodeSockaddr(aps[0])
	if err != nil {
		return nil, opErr(&net.AddrError{Err: err.Error(), Addr: addr})
	}
	fd, err := newSocket()
	if err != nil {
		return nil, opErr(err)
	}
	if err := sockaddrCall(syscall.SYS_BIND, fd, &sa); err != nil {
		syscall.Close(fd)
		return nil, opErr(wrapErrno("bind", err))
	}
	if err := syscall.Listen(fd, 128); err != nil {
		syscall.Close(fd)
		return nil, opErr(wrapErrno("listen", err))
	}
	name, err := getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, opErr(wrapErrno("getsockname", err))
	}
	laddr, _ := decodeSockaddr(name)
	s, err := wrap(fd, "fastrpc-listen:"+addr)
	if err != nil {
		return nil, opErr(err)
	}
	srv := &Server{s: s, laddr: laddr, ready: make(chan struct{}, 1),
		room: make(chan struct{}, 1), active: make(map[uint64]*Request),
		done: make(chan struct{}), closing: make(chan struct{})}
	go srv.receive()
	return srv, nil
}

// Addr returns the address the server listens on, with its actual port.
func (s *Server) Addr() net.Addr { return s.laddr }

// Recv waits for the next incoming call.  After Close it returns an error
// matching net.ErrClosed; when ctx ends first, ctx.Err().
func (s *Server) Recv(ctx context.Context) (*Request, error) {
	for {
		select {
		case <-s.done:
			return nil, s.opErr(s.err)
		default:
		}
		s.mu.Lock()
		if s.err != nil {
			s.mu.Unlock()
			return nil, s.opErr(s.err)
		}
		if len(s.queue) > 0 {
			r := s.queue[0]
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.queueBytes -= len(r.Data)
			more := len(s.queue) > 0
			s.mu.Unlock()
			signal(s.room)
			if more {
				signal(s.ready) // for another Recv
			}
			return r, nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-s.done:
			return nil, s.opErr(s.err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// signal leaves a token in a channel of capacity 1, if there is none.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Serve receives calls until ctx ends or the server is closed, runs h for
// each in its own goroutine and replies with its result.  A handler's
// context derives from ctx (its values, its end) and also ends when the
// call is cancelled or its deadline passes.  It returns once
// the running handlers have returned.
func (s *Server) Serve(ctx context.Context, h Handler) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		req, err := s.Recv(ctx)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// the handler's context carries Serve's values and ends
			// with Serve's context as well as with the call
			hctx, cancel := context.WithCancel(ctx)
			stop := context.AfterFunc(req.ctx, cancel)
			if dl, ok := req.ctx.Deadline(); ok {
				hctx, cancel = withDeadline(hctx, dl, cancel)
			}
			data, herr := h(hctx, req)
			stop()
			cancel()
			st := statusOf(herr)
			if herr != nil && data == nil {
				data = st.Details
			}
			err := req.Reply(st.Code, data, WithMetadata(st.Trailers), WithStatusMessage(st.Message))
			if err != nil && !req.replied.Load() {
				// the handler's answer cannot be sent as it is (a
				// code out of range, too much data): the caller
				// still gets one
				_ = req.Reply(Internal, nil, WithStatusMessage("fastrpc: bad reply from handler: "+err.Error()))
			}
		}()
	}
}

// Shutdown stops taking new connections and tells every client to go away
// (GOAWAY): calls already received can still be answered, new calls fail
// with UNAVAILABLE.  Close the server afterwards.
func (s *Server) Shutdown() error {
	err := s.s.control(func(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_RD) })
	if err != nil {
		return s.opErr(wrapErrno("shutdown", err))
	}
	return nil
}

// Close closes the socket and its listener: clients see UNAVAILABLE for
// calls not yet answered, the contexts of received calls are cancelled,
// and Recv returns an error matching net.ErrClosed.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	err := s.s.close()
	<-s.done
	if err != nil {
		return s.opErr(err)
	}
	return nil
}

func (s *Server) opErr(err error) error {
	return &net.OpError{Op: "serve", Net: "fastrpc", Addr: s.laddr, Err: err}
}

// How far receive reads ahead of Recv.  It keeps reading while the
// application is busy, so that a cancellation notice reaches a request
// the application holds; beyond these, calls wait in the kernel, under its
// flow control and admission limit.
const (
	recvAheadCalls = 64
	recvAheadBytes = 8 << 20
)

// receive is the one reader of the socket.  It queues each new call for
// Recv and turns cancellation notices into cancelled request contexts.
func (s *Server) receive() {
	op := newRecvOp(make([]byte, MaxMessage), make([]byte, recvControlSpace), make([]byte, 64))
	for {
		if err := s.s.recv(op); err != nil {
			s.fail(err)
			return
		}
		pc, err := parseControl(op.oob[:op.oobn], cmsgIncoming, sizeofIncoming)
		if err != nil {
			continue
		}
		in := decode[rawIncoming](pc.verb)
		if in.Flags&inCancelled != 0 {
			s.mu.Lock()
			r := s.active[in.Handle]
			s.mu.Unlock()
			if r != nil {
				r.cancel()
			}
			continue
		}
		if in.Flags&inCont != 0 {
			continue // later messages of a streaming call: not handled here
		}
		r := &Request{Method: in.Method, Timeout: time.Duration(in.Ns), srv: s, handle: in.Handle}
		if op.n > 0 {
			r.Data = append([]byte(nil), op.p[:op.n]...)
		}
		if pc.hasMeta {
			r.Metadata, _ = decodeMetadata(pc.meta)
		}
		r.Peer, _ = decodeSockaddr(op.name[:op.namelen])
		if r.Timeout > 0 {
			r.ctx, r.cancel = context.WithTimeout(context.Background(), r.Timeout)
		} else {
			r.ctx, r.cancel = context.WithCancel(context.Background())
		}
		s.mu.Lock()
		s.active[in.Handle] = r
		s.queue = append(s.queue, r)
		s.queueBytes += len(r.Data)
		full := len(s.queue) >= recvAheadCalls || s.queueBytes >= recvAheadBytes
		s.mu.Unlock()
		signal(s.ready)
		if full && !s.waitRoom() {
			// closing: the next recvmsg fails and fail() cancels
			// what is queued with the rest
			continue
		}
	}
}

// waitRoom waits until Recv has taken enough of the queue; false when the
// server is closing instead.
func (s *Server) waitRoom() bool {
	for {
		s.mu.Lock()
		full := len(s.queue) >= recvAheadCalls || s.queueBytes >= recvAheadBytes
		s.mu.Unlock()
		if !full {
			return true
		}
		select {
		case <-s.room:
		case <-s.closing:
			return false
		}
	}
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	s.err = err
	active := s.active
	s.active = map[uint64]*Request{}
	s.queue = nil
	s.queueBytes = 0
	s.mu.Unlock()
	for _, r := range active {
		r.cancel()
	}
	close(s.done)
}

// Context is cancelled when the call is cancelled (by the client, its
// deadline or the loss of its connection), when it is answered, or when
// the server is closed.
func (r *Request) Context() context.Context { return r.ctx }

// Reply answers the call with a status and a reply message; options add
// trailers (WithMetadata) and a status message (WithStatusMessage).  A
// call that was cancelled meanwhile gets an error matching
// syscall.ECANCELED (the reply is dropped and the call released).
//
// Arguments the kernel would refuse (a code above the last status, data
// over MaxMessage, bad trailers) are refused before anything is sent, and
// the call stays open for a Reply that is right.
func (r *Request) Reply(code Code, data []byte, opts ...Option) error {
	if code > statusMax {
		return r.opErr(syscall.EINVAL)
	}
	if len(data) > MaxMessage {
		return r.opErr(syscall.EMSGSIZE)
	}
	o := collect(opts)
	mdLen, err := checkMetadata(o.md)
	if err != nil {
		return r.opErr(err)
	}
	if r.replied.Swap(true) {
		return r.opErr(errors.New("fastrpc: call already answered"))
	}
	defer func() {
		r.srv.mu.Lock()
		delete(r.srv.active, r.handle)
		r.srv.mu.Unlock()
		r.cancel()
	}()
	msg := o.statusMsg
	if len(msg) > MaxStatusMessage {
		msg = msg[:MaxStatusMessage]
	}
	var cb cmsgBuilder
	cb.b = make([]byte, 0, syscall.CmsgSpace(sizeofReply)+syscall.CmsgSpace(mdLen)+syscall.CmsgSpace(len(msg)))
	put(&cb, cmsgReply, &rawReply{Handle: r.handle, Status: uint32(code)})
	if mdLen > 0 {
		o.md.encode(cb.add(cmsgMetadata, mdLen))
	}
	if msg != "" {
		copy(cb.add(cmsgStatusMsg, len(msg)), msg)
	}
	if err := r.srv.s.sendmsg(data, cb.b); err != nil {
		return r.opErr(err)
	}
	return nil
}

func (r *Request) opErr(err error) error {
	return &net.OpError{Op: "reply", Net: "fastrpc", Addr: r.Peer, Err: err}
}

// withDeadline is context.WithDeadline whose cancel also runs prev.
func withDeadline(parent context.Context, dl time.Time, prev context.CancelFunc) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithDeadline(parent, dl)
	return ctx, func() { cancel(); prev() }
}
