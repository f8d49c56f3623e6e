// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Listener is a listening FastRPC server socket.  Incoming calls are
// taken with Recv and answered with Request.Reply, or handled by a
// Server's Serve.
type Listener struct {
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

	// End of file (FASTRPC_FEAT_SHUTDOWN_EOF): after Shutdown, the
	// kernel's word that no message will come any more.  The reader
	// sets atEOF (under mu) and closes eof once it has delivered every
	// message before it; Recv then returns io.EOF when its queue is empty.
	shut       atomic.Bool // Shutdown was called: the ring reaper looks for the end
	shutOK     atomic.Bool // and shutdown() succeeded: the end will come
	eofFeature bool        // the module reports the end of file
	atEOF      bool        // guarded by mu
	eof        chan struct{}

	// exactCause: the module marks cancellation notices that its
	// deadline caused (FASTRPC_FEAT_IN_DEADLINE); cancelNotice trusts
	// the mark instead of guessing
	exactCause bool

	ring *serverRing  // nil without ListenRing
	ww   *writeWaiter // POLLOUT for the ring's doorbell; nil without

	// hook, set by Server.Serve: new calls go straight to its dispatch,
	// not to the queue, with contexts derived from Serve's (guarded by mu)
	hook *serveHook
}

// serveHook is how a Server's Serve takes a Listener's calls: without
// the queue, Recv and the goroutine hand-offs they cost.
type serveHook struct {
	base     context.Context
	dispatch func(*Request)
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
	// Peer is the caller's address; zero on a Listener with rings
	// (ListenRing), whose completions do not carry it.
	Peer Addr
	// Timeout is the time that was left to the client's deadline when the
	// call was read from the socket (with rings, when the kernel posted
	// its completion; by a module without FASTRPC_FEAT_IN_DEADLINE, when
	// it reached the host); 0 for none.
	Timeout time.Duration

	srv      *Listener
	handle   uint64
	ctx      context.Context
	cancel   context.CancelFunc
	replied  atomic.Bool
	deadline time.Time // now + Timeout when it arrived; zero for none
	firstEOR bool      // the first message was the client's last
	in       *streamIn // later messages; guarded by srv.mu
	// hook is the Serve hook that took the call, nil if it was queued
	// for Recv; ctx derives from hook.base then, else from Background
	hook *serveHook
	// hctx and rs are the handler's context and reply state when the
	// call came through the hook of the Serve that handles it
	// (Server.contextFor): part of the Request, so that such a call
	// allocates neither
	hctx handlerCtx
	rs   replyState
}

// streamLocked returns the queue of the call's later messages (s.mu held).
func (r *Request) streamLocked() *streamIn {
	if r.in == nil {
		r.in = &streamIn{signal: make(chan struct{}, 1)}
	}
	return r.in
}

func (r *Request) stream() *streamIn {
	r.srv.mu.Lock()
	defer r.srv.mu.Unlock()
	return r.streamLocked()
}

// Listen opens a server socket on addr: ":7070" or "[::]:7070" (every
// address of the network namespace, IPv6 and, where the namespace allows,
// IPv4 callers), "0.0.0.0:7070" (every IPv4 address), or one local
// address such as "127.0.0.1:7070" or "[::1]:7070" (callers to that
// address only: a loopback-only server).  A host name is resolved and its
// first address used.  Port 0 picks a free port (see Addr).  Options:
// ListenRing.
func Listen(addr string, opts ...ListenOption) (*Listener, error) {
	var o listenOptions
	for _, opt := range opts {
		opt(&o)
	}
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
	srv := &Listener{s: s, laddr: laddr, ready: make(chan struct{}, 1),
		room: make(chan struct{}, 1), active: make(map[uint64]*Request),
		done: make(chan struct{}), closing: make(chan struct{}), eof: make(chan struct{})}
	feat := features(fd)
	srv.exactCause = feat&featInDeadline != 0
	srv.eofFeature = feat&featShutdownEOF != 0
	if o.ring.on {
		if err := srv.startRing(fd, o.ring); err != nil {
			s.close()
			return nil, opErr(err)
		}
		return srv, nil
	}
	go srv.receive()
	return srv, nil
}

// ListenOption configures Listen.
type ListenOption func(*listenOptions)

type listenOptions struct {
	ring ringOptions
}

// Addr returns the address the server listens on, with its actual port.
func (s *Listener) Addr() net.Addr { return s.laddr }

// Recv waits for the next incoming call.  After Close it returns an error
// matching net.ErrClosed; when ctx ends first, ctx.Err().  After Shutdown,
// once every connection has closed and the calls received before have
// all been returned, it returns io.EOF (itself, not wrapped, as
// ServerStream.Recv and net.Conn's Read do): nothing more will come, and
// the Listener is left for Close.  That end of file needs a module with
// FASTRPC_FEAT_SHUTDOWN_EOF; with an older one Recv waits until Close.
// While a Server's Serve holds the Listener, calls go to it and Recv
// gets none.
func (s *Listener) Recv(ctx context.Context) (*Request, error) {
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
		// atEOF is set after the last message was queued, under mu
		eof := s.atEOF
		s.mu.Unlock()
		if eof {
			return nil, io.EOF
		}
		select {
		case <-s.ready:
		case <-s.eof:
		case <-s.done:
			return nil, s.opErr(s.err)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// markEOF records the kernel's end of file (FASTRPC_FEAT_SHUTDOWN_EOF):
// the reader calls it after it delivered every message before it.  Once.
func (s *Listener) markEOF() {
	s.mu.Lock()
	already := s.atEOF
	s.atEOF = true
	s.mu.Unlock()
	if !already {
		close(s.eof)
	}
}

// drained returns a channel closed at the end of file: the Listener was
// shut down, every connection is gone and every message was delivered.
// Only modules with FASTRPC_FEAT_SHUTDOWN_EOF report it (eofFeature).
func (s *Listener) drained() <-chan struct{} { return s.eof }

// setHook hands the Listener's calls to h from now on and returns the
// calls queued before; false if another Serve holds it already.
func (s *Listener) setHook(h *serveHook) ([]*Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hook != nil {
		return nil, false
	}
	s.hook = h
	queued := s.queue
	s.queue, s.queueBytes = nil, 0
	signal(s.room) // receive may wait for the queue to shrink
	return queued, true
}

// clearHook queues the Listener's calls for Recv again.
func (s *Listener) clearHook() {
	s.mu.Lock()
	s.hook = nil
	s.mu.Unlock()
	signal(s.room)
}

// deadlineSlack is how close to its deadline a call's context must be
// for an unmarked cancellation notice to be taken for the deadline's and
// left to the context's timer (cancelNotice).
const deadlineSlack = 20 * time.Millisecond

// markedSlack is how far away a call's own deadline may still be when a
// notice the module marks as the deadline's comes, for the notice to be
// left to the context's timer.  The mark is certain; the gap is only how
// late the reader took the time after the kernel measured Timeout (a
// goroutine preempted, a loaded host: more than deadlineSlack was seen
// on a guest sharing its host with another).
const markedSlack = time.Second

// cancelNotice ends r's context for the kernel's cancellation notice.
// A notice the call's deadline caused is left to r's own timer when that
// is near: the timer ends the context with context.DeadlineExceeded, what
// a handler should see and answer, where cancelling now would make it
// Canceled.  The timer keeps the kernel's deadline (Timeout is what was
// left when the call was read) up to how late the reader took the time,
// or how far it fell behind the kernel (rings: Timeout is counted from
// when the kernel posted the completion); a timer further away than the
// slack is not waited for.  Modules that mark the cause (exact,
// FASTRPC_IN_DEADLINE) are believed: a marked notice waits for a timer
// due within markedSlack, an unmarked one cancels at once, however near
// the deadline.  Without the mark, a notice within deadlineSlack of the
// deadline is taken for it: a guess.
func (r *Request) cancelNotice(exact, deadline bool) {
	if !r.deadline.IsZero() {
		left := time.Until(r.deadline)
		if exact && deadline && left < markedSlack ||
			!exact && left < deadlineSlack {
			return
		}
	}
	r.cancel()
}

// signal leaves a token in a channel of capacity 1, if there is none.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Shutdown stops taking new connections and tells every client to go away
// (GOAWAY, shutdown(SHUT_RD)): calls already admitted can still be
// received and answered, new calls fail with UNAVAILABLE.  Each
// connection closes once its last call is over; when none is left and
// every call received has been taken, Recv returns io.EOF (a Serve of
// the Listener returns then too).  Close the listener afterwards.  A
// second Shutdown changes nothing.
func (s *Listener) Shutdown() error {
	// before shutdown(): the end of file it may cause at once wakes the
	// ring reaper, which must know to look for it
	s.shut.Store(true)
	err := s.s.control(func(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_RD) })
	if err != nil {
		return s.opErr(wrapErrno("shutdown", err))
	}
	s.shutOK.Store(true)
	return nil
}

// Close closes the socket and its TCP listener: clients see UNAVAILABLE for
// calls not yet answered, the contexts of received calls are cancelled,
// and Recv returns an error matching net.ErrClosed.
func (s *Listener) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	err := s.s.close()
	<-s.done
	if s.ww != nil {
		s.ww.close()
	}
	if err != nil {
		return s.opErr(err)
	}
	return nil
}

func (s *Listener) opErr(err error) error {
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

// receive is the one reader of a socket without rings: it reads each
// message with recvmsg and delivers it.
func (s *Listener) receive() {
	op := newRecvOp(make([]byte, MaxMessage), make([]byte, recvControlSpace), make([]byte, 64))
	for {
		if err := s.s.recv(op); err != nil {
			s.fail(err)
			return
		}
		if op.n == 0 && op.oobn == 0 {
			// End of file: shut down (Shutdown) and drained, every
			// message before it delivered.  Nothing more will come and
			// recvmsg would return it at once again: Recv returns
			// io.EOF once its queue is empty, and the reader waits for
			// Close.
			s.markEOF()
			<-s.closing
			s.fail(net.ErrClosed)
			return
		}
		pc, err := parseControl(op.oob[:op.oobn], cmsgIncoming, sizeofIncoming)
		if err != nil {
			continue
		}
		in := decode[rawIncoming](pc.verb)
		msg := incoming{handle: in.Handle, method: in.Method, ns: in.Ns,
			cancelled: in.Flags&inCancelled != 0, cont: in.Flags&inCont != 0,
			deadline: in.Flags&inDeadline != 0,
			eor:      op.mflags&syscall.MSG_EOR != 0, data: op.p[:op.n], peer: op.name[:op.namelen]}
		if pc.hasMeta {
			msg.meta, msg.hasMeta = pc.meta, true
		}
		s.deliver(&msg)
	}
}

// incoming is one message of a call as the kernel handed it over, through
// recvmsg or the CQ.  Its slices are the reader's: deliver copies them.
type incoming struct {
	handle, ns           uint64
	method               uint32
	cancelled, cont, eor bool
	deadline             bool // a cancellation notice's cause
	hasMeta              bool
	data, meta, peer     []byte
}

// deliver queues a new call for Recv or hands it to Serve's hook, queues
// a later message of a streaming call for its ServerStream, and turns a
// cancellation notice into a cancelled request context.  It may wait for
// the read-ahead limits (waitRoom, queueStream).
func (s *Listener) deliver(in *incoming) {
	if in.cancelled {
		s.mu.Lock()
		r := s.active[in.handle]
		s.mu.Unlock()
		if r != nil {
			r.cancelNotice(s.exactCause, in.deadline)
		}
		return
	}
	if in.cont {
		s.queueStream(in.handle, in.data, in.eor)
		return
	}
	r := &Request{Method: in.method, Timeout: time.Duration(in.ns), srv: s, handle: in.handle,
		firstEOR: in.eor}
	if len(in.data) > 0 {
		r.Data = append([]byte(nil), in.data...)
	}
	if in.hasMeta {
		r.Metadata, _ = decodeMetadata(in.meta)
	}
	r.Peer, _ = decodeSockaddr(in.peer)
	// The context is made under mu, where the hook is read: a call
	// queued for Recv must not derive from a Serve that ends.
	s.mu.Lock()
	hook := s.hook
	base := context.Background()
	if hook != nil {
		base, r.hook = hook.base, hook
	}
	if r.Timeout > 0 {
		r.deadline = time.Now().Add(r.Timeout)
		r.ctx, r.cancel = context.WithDeadline(base, r.deadline)
	} else {
		r.ctx, r.cancel = context.WithCancel(base)
	}
	s.active[in.handle] = r
	if hook != nil {
		s.mu.Unlock()
		hook.dispatch(r)
		return
	}
	s.queue = append(s.queue, r)
	s.queueBytes += len(r.Data)
	full := len(s.queue) >= recvAheadCalls || s.queueBytes >= recvAheadBytes
	s.mu.Unlock()
	signal(s.ready)
	if full {
		// closing otherwise: the next read fails and fail() cancels
		// what is queued with the rest
		s.waitRoom()
	}
}

// queueStream queues a later message of a streaming call for its
// ServerStream; an empty last message only ends the client's side.  Past
// the read-ahead limits it waits until the handler takes some, or the
// call is answered (its later messages are then dropped).
func (s *Listener) queueStream(handle uint64, data []byte, eor bool) {
	s.mu.Lock()
	r := s.active[handle]
	if r == nil {
		s.mu.Unlock()
		return
	}
	in := r.streamLocked()
	if len(data) > 0 || !eor {
		in.msgs = append(in.msgs, append([]byte{}, data...))
		in.bytes += len(data)
	}
	if eor {
		in.eof = true
	}
	s.mu.Unlock()
	signal(in.signal)
	for {
		s.mu.Lock()
		full := s.active[handle] == r && (len(in.msgs) >= recvAheadCalls || in.bytes >= recvAheadBytes)
		s.mu.Unlock()
		if !full {
			return
		}
		s.beforeWait()
		select {
		case <-s.room:
		case <-s.closing:
			return
		}
	}
}

// beforeWait runs before the reader waits for the read-ahead limits: with
// rings, the buffers of the messages delivered so far go back first.
func (s *Listener) beforeWait() {
	if s.ring != nil {
		s.ring.commit()
	}
}

// waitRoom waits until Recv has taken enough of the queue; false when the
// server is closing instead.
func (s *Listener) waitRoom() bool {
	for {
		s.mu.Lock()
		full := len(s.queue) >= recvAheadCalls || s.queueBytes >= recvAheadBytes
		s.mu.Unlock()
		if !full {
			return true
		}
		s.beforeWait()
		select {
		case <-s.room:
		case <-s.closing:
			return false
		}
	}
}

func (s *Listener) fail(err error) {
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
// the server is closed; for a call taken by a Server's Serve also when
// Serve's context ends (it derives from it).
func (r *Request) Context() context.Context { return r.ctx }

// Reply answers the call with a status and a reply message; options add
// trailers (WithMetadata) and a status message (WithStatusMessage).  A
// call that was cancelled meanwhile gets an error matching
// syscall.ECANCELED (the reply is dropped and the call released).  On a
// Listener with rings (ListenRing), a reply that fits a ring buffer is
// queued in the SQ and Reply returns nil once it is: what the kernel
// finds wrong later (the call cancelled meanwhile) is counted, not
// returned.
//
// Arguments the kernel would refuse (a code above the last status, data
// over MaxMessage, bad trailers) are refused before anything is sent, and
// the call stays open for a Reply that is right.
func (r *Request) Reply(code Code, data []byte, opts ...Option) error {
	o := collect(opts)
	return r.reply(code, data, o.md, o.statusMsg)
}

// replyBuf is the control buffer and sendOp of one Reply, pooled.
type replyBuf struct {
	cb   cmsgBuilder
	send sendOp
}

var replyPool = sync.Pool{New: func() any {
	b := &replyBuf{}
	b.cb.b = make([]byte, 0, 128)
	b.send.init()
	b.send.wait = true
	return b
}}

// reply is Reply without its options: what Server's handlers use.
func (r *Request) reply(code Code, data []byte, md Metadata, msg string) error {
	if code > statusMax {
		return r.opErr(syscall.EINVAL)
	}
	if len(data) > MaxMessage {
		return r.opErr(syscall.EMSGSIZE)
	}
	mdLen, err := checkMetadata(md)
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
		signal(r.srv.room) // a stream's messages may wait for room
	}()
	if len(msg) > MaxStatusMessage {
		msg = msg[:MaxStatusMessage]
	}
	if ring := r.srv.ring; ring != nil {
		if queued, err := ring.reply(r.handle, code, data, md, mdLen, msg); queued {
			if err != nil {
				return r.opErr(err)
			}
			return nil
		}
		// sent with sendmsg below: the buffer returns left for this
		// reply's doorbell (kickLater) need one of their own
		defer ring.kickDeferred()
	}
	b := replyPool.Get().(*replyBuf)
	cb := &b.cb
	cb.b = cb.b[:0]
	put(cb, cmsgReply, &rawReply{Handle: r.handle, Status: uint32(code)})
	if mdLen > 0 {
		md.encode(cb.add(cmsgMetadata, mdLen))
	}
	if msg != "" {
		copy(cb.add(cmsgStatusMsg, len(msg)), msg)
	}
	err = r.srv.s.send(&b.send, data, cb.b)
	if cap(cb.b) <= 1024 { // not the buffer of a reply with big trailers
		replyPool.Put(b)
	}
	if err != nil {
		return r.opErr(err)
	}
	return nil
}

func (r *Request) opErr(err error) error {
	return &net.OpError{Op: "reply", Net: "fastrpc", Addr: r.Peer, Err: err}
}
