// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Handler handles one unary call.  The reply is data with status OK when
// err is nil; otherwise a *StatusError (see Errorf) gives its code,
// message, details and trailers, a context error gives CANCELLED or
// DEADLINE_EXCEEDED, and any other error UNKNOWN with err's text.  The
// request headers are in req.Metadata and FromIncomingContext(ctx);
// SetTrailer and SetStatusMessage on ctx add to the reply.
type Handler func(ctx context.Context, req *Request) ([]byte, error)

// MethodInfo names the method a call is for, for interceptors.
type MethodInfo struct {
	// Name is the registered name; "" for a numeric method.
	Name string
	// Method is the wire method number.
	Method uint32
	// Stream is true for a streaming method.
	Stream bool
}

// FullName is Name, or the number for a numeric method.
func (m *MethodInfo) FullName() string {
	if m.Name != "" {
		return m.Name
	}
	return "#" + strconv.FormatUint(uint64(m.Method), 10)
}

// UnaryServerInterceptor wraps the handling of a unary call: it may look
// at or change ctx and req, and calls handler (or not) to get the reply.
type UnaryServerInterceptor func(ctx context.Context, req *Request, info *MethodInfo, handler Handler) ([]byte, error)

// ErrServerClosed is what Serve returns after Shutdown or Close.
var ErrServerClosed = errors.New("fastrpc: server closed")

var errNoHandler = errors.New("fastrpc: not the context of a handler")

// Server dispatches the calls of one or more Listeners to the handlers
// registered by method name (or number), each call in its own goroutine.
// Register handlers before or while serving; a Server is safe for
// concurrent use.
type Server struct {
	opts serverOptions

	// methods is replaced, never changed: handle reads it without mu
	methods atomic.Pointer[map[uint32]*methodEntry]

	mu        sync.Mutex
	listeners map[*Listener]struct{}
	closed    bool
	stopOnce  sync.Once
	stop      chan struct{} // closed by Shutdown and Close: Serve loops end
	running   int           // handlers running
	idle      chan struct{} // closed when running drops to 0
	// Serve calls not returned yet: Shutdown waits for them, so that a
	// call one of them took from its Listener is dispatched (and then
	// counted in running) before Shutdown looks at running.  Added to
	// under mu while !closed only.
	serving sync.WaitGroup
}

type methodEntry struct {
	info   MethodInfo
	unary  Handler
	stream StreamHandler
}

// ServerOption configures a Server.
type ServerOption func(*serverOptions)

type serverOptions struct {
	codec    Codec
	unary    []UnaryServerInterceptor
	stream   []StreamServerInterceptor
	fallback Handler
}

// WithServerCodec sets the codec of HandleTyped's handlers (default JSON).
func WithServerCodec(c Codec) ServerOption {
	return func(o *serverOptions) { o.codec = c }
}

// WithUnaryInterceptors adds interceptors around every unary handler;
// the first is the outermost.
func WithUnaryInterceptors(i ...UnaryServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.unary = append(o.unary, i...) }
}

// WithStreamInterceptors adds interceptors around every stream handler;
// the first is the outermost.
func WithStreamInterceptors(i ...StreamServerInterceptor) ServerOption {
	return func(o *serverOptions) { o.stream = append(o.stream, i...) }
}

// WithFallback handles the unary calls to methods nobody registered
// (default: UNIMPLEMENTED).
func WithFallback(h Handler) ServerOption {
	return func(o *serverOptions) { o.fallback = h }
}

// NewServer returns a Server with no methods but HealthMethod.
func NewServer(opts ...ServerOption) *Server {
	s := &Server{listeners: map[*Listener]struct{}{}, stop: make(chan struct{})}
	s.methods.Store(&map[uint32]*methodEntry{})
	s.opts.codec = JSON
	for _, f := range opts {
		f(&s.opts)
	}
	s.Handle(HealthMethod, func(ctx context.Context, req *Request) ([]byte, error) { return nil, nil })
	return s
}

func (s *Server) register(e *methodEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	methods := *s.methods.Load()
	if old, ok := methods[e.info.Method]; ok {
		panic(fmt.Sprintf("fastrpc: method %s (%#x) registered twice, or its name hashes as %s's",
			e.info.FullName(), e.info.Method, old.info.FullName()))
	}
	next := make(map[uint32]*methodEntry, len(methods)+1)
	for k, v := range methods {
		next[k] = v
	}
	next[e.info.Method] = e
	s.methods.Store(&next)
}

// Handle registers h for the unary method name (see MethodOf).  It
// panics if the name, or another whose number is the same, is registered.
func (s *Server) Handle(name string, h Handler) {
	s.register(&methodEntry{info: MethodInfo{Name: name, Method: MethodOf(name)}, unary: h})
}

// HandleMethod registers h for a numeric method, below NamedMethodBit.
func (s *Server) HandleMethod(method uint32, h Handler) {
	if method&NamedMethodBit != 0 {
		panic(fmt.Sprintf("fastrpc: numeric method %#x is in the named range", method))
	}
	s.register(&methodEntry{info: MethodInfo{Method: method}, unary: h})
}

// HandleStream registers h for the streaming method name.
func (s *Server) HandleStream(name string, h StreamHandler) {
	s.register(&methodEntry{info: MethodInfo{Name: name, Method: MethodOf(name), Stream: true}, stream: h})
}

// HandleTyped registers a unary handler of typed values for the method
// name: the request is decoded into a new Req with the server's codec and
// the *Resp it returns is encoded with it.  A request that does not decode
// gets INVALID_ARGUMENT.
func HandleTyped[Req, Resp any](s *Server, name string, h func(ctx context.Context, req *Req) (*Resp, error)) {
	codec := s.opts.codec
	s.Handle(name, func(ctx context.Context, r *Request) ([]byte, error) {
		in := new(Req)
		if err := codec.Unmarshal(r.Data, in); err != nil {
			return nil, Errorf(InvalidArgument, "decoding the request (%s): %v", codec.Name(), err)
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, err
		}
		b, err := codec.Marshal(out)
		if err != nil {
			return nil, Errorf(Internal, "encoding the reply (%s): %v", codec.Name(), err)
		}
		return b, nil
	})
}

// Serve receives the calls of ln and handles them concurrently until ctx
// ends (it returns ctx.Err()), the Server is shut down or closed
// (ErrServerClosed), ln reads its end of file after a Listener.Shutdown
// of its own (io.EOF: every call was received; those still in their
// handlers run on), or ln fails (a *net.OpError; net.ErrClosed once ln
// is closed).  Handlers' contexts derive from ctx: they carry its values
// and end with it, as well as when their call is cancelled or its
// deadline passes.  The Server owns ln from then on: Shutdown and Close
// close it.
//
// Serve takes ln's calls as they arrive, without Listener.Recv: while it
// runs, Recv gets none (a second Serve of the same Listener, which takes
// calls through Recv, gets those that arrive after the first returned).
// Each call goes to a handler goroutine that waits for work, or to a new
// one; a handler's goroutine, once it has answered, waits for the next
// call (a few hundred at most wait), so that the stack it grew is reused.
// Handlers must therefore not leave per-goroutine state behind: a
// handler that locks its thread (runtime.LockOSThread) must unlock it
// before it returns (a handler that wants its thread discarded does that
// work in a goroutine of its own), and goroutine labels it sets stay for
// the next call.
func (s *Server) Serve(ctx context.Context, ln *Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.serving.Add(1)
	s.mu.Unlock()
	defer s.serving.Done()
	w := &workers{s: s, ctx: ctx}
	defer w.stop()
	hook := &serveHook{base: ctx, dispatch: w.dispatch}
	// set before the Listener can call dispatch: its workers read it
	w.hook = hook
	queued, ok := ln.setHook(hook)
	if !ok { // another Serve has ln: take what it leaves, through Recv
		w.hook = nil
		return s.serveRecv(ctx, ln, w)
	}
	defer ln.clearHook()
	for _, r := range queued {
		w.dispatch(r)
	}
	select {
	case <-s.stop:
	case <-ctx.Done():
	case <-ln.done:
	case <-ln.drained():
	}
	var lnErr error
	select {
	case <-ln.done: // ln.err is set before done is closed
		lnErr = ln.opErr(ln.err)
	case <-ln.drained(): // every call delivered to the hook before
		lnErr = io.EOF
	default:
	}
	return s.serveErr(ctx, lnErr)
}

// serveErr is what Serve returns once it stopped taking calls: the
// Server's end first, then ctx's, then lnErr, ln's failure or end of
// file.  An end of file while the Server shuts down is the Server's end:
// Shutdown's own, which may come before Shutdown stops the Serve loops.
func (s *Server) serveErr(ctx context.Context, lnErr error) error {
	select {
	case <-s.stop:
		return ErrServerClosed
	default:
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if lnErr == io.EOF {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return ErrServerClosed
		}
	}
	return lnErr
}

// serveRecv is Serve taking ln's calls through Recv.
func (s *Server) serveRecv(ctx context.Context, ln *Listener, w *workers) error {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-rctx.Done():
		}
	}()
	for {
		req, err := ln.Recv(rctx)
		if err != nil {
			return s.serveErr(ctx, err)
		}
		w.dispatch(req)
	}
}

// maxIdleWorkers is how many handler goroutines of one Serve may wait
// for calls; beyond, a goroutine that has answered its call ends.
const maxIdleWorkers = 256

// workers are the handler goroutines of one Serve.  A worker that has
// answered its call waits on a channel of its own for the next, so that
// dispatch hands a call to one by a plain send, and the worker's wait is a
// plain receive, not a select over a second, quit channel: per call, a
// select costs several times a receive.
type workers struct {
	s    *Server
	ctx  context.Context
	hook *serveHook // Serve's hook on its Listener; nil in serveRecv

	mu    sync.Mutex
	idle  []chan *Request // the waiting workers' channels (capacity 1), last in first out
	ended bool            // Serve returned: workers end after their call
}

// dispatch hands r to a waiting worker, or to a new one.
func (w *workers) dispatch(r *Request) {
	w.s.mu.Lock()
	w.s.running++
	w.s.mu.Unlock()
	w.mu.Lock()
	if n := len(w.idle); n > 0 {
		ch := w.idle[n-1]
		w.idle = w.idle[:n-1]
		w.mu.Unlock()
		ch <- r // never blocks: the worker left it empty
		return
	}
	w.mu.Unlock()
	go w.run(make(chan *Request, 1), r)
}

func (w *workers) run(ch chan *Request, r *Request) {
	for {
		w.s.handle(w.ctx, r, w.hook != nil && r.hook == w.hook)
		w.mu.Lock()
		if w.ended || len(w.idle) >= maxIdleWorkers {
			w.mu.Unlock()
			return
		}
		w.idle = append(w.idle, ch)
		w.mu.Unlock()
		if r = <-ch; r == nil { // stop
			return
		}
	}
}

// stop ends the waiting workers, and the others after their calls.
func (w *workers) stop() {
	w.mu.Lock()
	w.ended = true
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, ch := range idle {
		ch <- nil
	}
}

// handle runs one call's handler and replies with its result.
// viaHook: req came through the hook of this Serve (its context derives
// from ctx already).
func (s *Server) handle(ctx context.Context, req *Request, viaHook bool) {
	defer s.handlerDone()
	e := (*s.methods.Load())[req.Method]
	if e != nil && e.stream != nil {
		s.handleStream(ctx, req, e, viaHook)
		return
	}
	h := s.opts.fallback
	if e != nil {
		h = e.unary
	}
	if h == nil {
		h = unimplemented
	}
	if len(s.opts.unary) > 0 {
		info := &MethodInfo{Method: req.Method} // for interceptors only
		if e != nil {
			info = &e.info
		}
		h = chainUnary(s.opts.unary, h, info)
	}
	hctx, cancel, rs := s.contextFor(ctx, req, viaHook)
	data, herr := h(hctx, req)
	cancel()
	st := statusOf(herr)
	if herr != nil && data == nil {
		data = st.Details
	}
	trailers, msg := mergeReply(rs, st)
	err := req.reply(st.Code, data, trailers, msg)
	if err != nil && !req.replied.Load() {
		// the handler's answer cannot be sent as it is (a code out of
		// range, too much data, bad trailers): the caller still gets one
		_ = req.reply(Internal, nil, nil, "fastrpc: bad reply from handler: "+err.Error())
	}
}

func (s *Server) handlerDone() {
	s.mu.Lock()
	if s.running--; s.running == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
	s.mu.Unlock()
}

// idleCh returns a channel closed once no handler runs.
func (s *Server) idleCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	return s.idle
}

func unimplemented(ctx context.Context, req *Request) ([]byte, error) {
	return nil, Errorf(Unimplemented, "no method %#x", req.Method)
}

// contextFor returns the context of req's handler, the function that
// ends it and the handler's reply state.  When req's own context derives
// from ctx already (viaHook: it came through this Serve's hook), the
// handler's context is req's with the values added by handlerCtx,
// allocated with req; it ends when the call is answered.  (Contexts are
// not compared: a context type may not be comparable.)
func (s *Server) contextFor(ctx context.Context, req *Request, viaHook bool) (context.Context, context.CancelFunc, *replyState) {
	if !viaHook {
		return s.handlerContext(ctx, req)
	}
	req.hctx = handlerCtx{Context: req.ctx, rs: &req.rs, md: req.Metadata}
	return &req.hctx, noCancel, &req.rs
}

func noCancel() {}

// handlerCtx is a handler's context made of its call's: it adds the
// reply state and the request headers, the values handlerContext adds
// with context.WithValue.  It hides nothing else: cancellation, deadline
// and context.Cause are the call's.
type handlerCtx struct {
	context.Context
	rs *replyState
	md Metadata // the request headers as the call arrived
}

func (c *handlerCtx) Value(key any) any {
	switch key.(type) {
	case replyKey:
		return c.rs
	case incomingKey:
		if c.md != nil {
			return c.md
		}
	}
	return c.Context.Value(key)
}

// handlerContext is the context of a call's handler: Serve's, ended also
// by the call's own (cancellation, deadline), with the request headers
// and the handler's reply state.
func (s *Server) handlerContext(ctx context.Context, req *Request) (context.Context, context.CancelFunc, *replyState) {
	hctx, cancelBase := context.WithCancel(ctx)
	cancel := cancelBase
	// The call's cancellation ends hctx as Canceled; its deadline ends it
	// as DeadlineExceeded through hctx's own deadline below (the two
	// timers fire together, and the first must not make a deadline look
	// like a cancellation: the handler would answer CANCELLED).  The
	// function runs in a goroutine of its own: it uses cancelBase, which
	// ends the deadline's child too, never the cancel reassigned below.
	stop := context.AfterFunc(req.ctx, func() {
		if !errors.Is(req.ctx.Err(), context.DeadlineExceeded) {
			cancelBase()
		}
	})
	if dl, ok := req.ctx.Deadline(); ok {
		var c2 context.CancelFunc
		hctx, c2 = context.WithDeadline(hctx, dl)
		prev := cancel
		cancel = func() { c2(); prev() }
	}
	rs := &replyState{}
	hctx = context.WithValue(hctx, replyKey{}, rs)
	if req.Metadata != nil {
		hctx = context.WithValue(hctx, incomingKey{}, req.Metadata)
	}
	return hctx, func() { stop(); cancel() }, rs
}

// mergeReply combines what the handler set through its context with its
// error's trailers and message (which win).
func mergeReply(rs *replyState, st *StatusError) (Metadata, string) {
	trailers := rs.trailers
	if len(st.Trailers) > 0 {
		if trailers == nil {
			trailers = st.Trailers
		} else {
			for k, v := range st.Trailers {
				trailers[k] = v
			}
		}
	}
	msg := rs.statusMsg
	if st.Message != "" {
		msg = st.Message
	}
	return trailers, msg
}

// chainUnary wraps h in the interceptors, the first outermost.
func chainUnary(is []UnaryServerInterceptor, h Handler, info *MethodInfo) Handler {
	for i := len(is) - 1; i >= 0; i-- {
		ic, next := is[i], h
		h = func(ctx context.Context, req *Request) ([]byte, error) {
			return ic(ctx, req, info, next)
		}
	}
	return h
}

// Shutdown stops the Server gracefully: every listener stops taking calls
// and tells its clients to go away (GOAWAY: new calls fail with
// UNAVAILABLE, and a client's next call opens a new connection), calls
// already admitted are still received and handled, and Shutdown returns
// once they are all answered and no handler runs; then the listeners are
// closed.  Serve returns ErrServerClosed as soon as its Listener is
// drained, before Shutdown's wait for handlers ends: a program that
// stops the Server with Shutdown waits for Shutdown to return, not for
// Serve, as with net/http.  With a module that reports
// the end of file of a shut-down socket (FASTRPC_FEAT_SHUTDOWN_EOF), it
// waits for each listener's (see Listener.Shutdown); with an older one,
// it asks the kernel every 5 ms how many admitted calls are left
// unanswered.  If ctx ends first, Shutdown closes the Server (the calls
// left get UNAVAILABLE) and returns ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closed = true
	lns := make([]*Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	var firstErr error
	for _, ln := range lns {
		if err := ln.Shutdown(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	// Serve goes on receiving what was admitted; wait until each
	// listener has nothing admitted left unanswered and no handler runs.
	for _, ln := range lns {
		if err := ln.waitDrained(ctx); err != nil {
			s.closeAll(lns)
			return err
		}
	}
	s.stopServing()
	// Every Serve returns at once now, after dispatching what it took
	// (a call a serveRecv loop had just received, or the calls queued
	// when Serve started): then running counts every handler left.
	served := make(chan struct{})
	go func() {
		s.serving.Wait()
		close(served)
	}()
	select {
	case <-served:
	case <-ctx.Done():
		s.closeAll(lns)
		return ctx.Err()
	}
	select {
	case <-s.idleCh():
	case <-ctx.Done():
		s.closeAll(lns)
		return ctx.Err()
	}
	s.closeAll(lns)
	return firstErr
}

// Close stops the Server at once: its listeners are closed (clients get
// UNAVAILABLE for calls not yet answered, handlers' contexts are
// cancelled) and Serve returns ErrServerClosed.  Close waits for running
// handlers to return.
func (s *Server) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	lns := make([]*Listener, 0, len(s.listeners))
	for ln := range s.listeners {
		lns = append(lns, ln)
	}
	s.mu.Unlock()
	s.closeAll(lns)
	<-s.idleCh()
	if already {
		return ErrServerClosed
	}
	return nil
}

func (s *Server) stopServing() { s.stopOnce.Do(func() { close(s.stop) }) }

func (s *Server) closeAll(lns []*Listener) {
	s.stopServing()
	for _, ln := range lns {
		ln.Close()
	}
}

// drainPoll is how often waitDrained asks a module without the end of
// file how many admitted calls are left.
const drainPoll = 5 * time.Millisecond

// waitDrained waits, after Shutdown, until the kernel has no call of the
// Listener left that it admitted and the application did not answer, or
// the Listener failed or was closed; ctx.Err() if ctx ends first.  With
// FASTRPC_FEAT_SHUTDOWN_EOF that is the end of file: every connection has
// closed, so each admitted call was answered (or cancelled, its notice
// delivered), and every message was delivered; else FASTRPC_SOCK_INFO's
// calls_in_flight, asked every drainPoll.  Handlers still running after
// they answered (or after their call was cancelled) are the caller's to
// wait for.
func (s *Listener) waitDrained(ctx context.Context) error {
	if s.eofFeature && s.shutOK.Load() {
		select {
		case <-s.drained():
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		n, err := s.admitted()
		if err != nil || n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// admitted returns how many calls the kernel admitted on the listener and
// the application has not answered (FASTRPC_SOCK_INFO calls_in_flight).
func (s *Listener) admitted() (int, error) {
	var info rawSockInfo
	err := s.s.control(func(fd int) error {
		l := uint32(sizeofSockInfo)
		_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solFastRPC, optSockInfo,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&l)), 0)
		if e != 0 {
			return e
		}
		return nil
	})
	if err != nil {
		return 0, s.opErr(wrapErrno("getsockopt FASTRPC_SOCK_INFO", err))
	}
	return int(info.Calls_in_flight), nil
}

var _ net.Addr = Addr{}
