// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Server, Invoke, metadata in contexts and interceptors, against the
// loaded module (they skip on the host like the other TestModule tests).

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startServer serves s on a fresh listener until the end of the test.
func startServer(t *testing.T, s *Server) string {
	t.Helper()
	ln, addr := listen(t)
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Close()
		<-done
	})
	return addr
}

type kvReq struct{ Key string }
type kvResp struct {
	Value string
	Found bool
}

func TestModuleInvokeByName(t *testing.T) {
	s := NewServer()
	HandleTyped(s, "kv.Get", func(ctx context.Context, req *kvReq) (*kvResp, error) {
		md, _ := FromIncomingContext(ctx)
		if req.Key == "missing" {
			return nil, &StatusError{Code: NotFound, Message: "no " + req.Key,
				Details: []byte(`{"hint":"try x"}`), Trailers: Metadata{"shard": []byte("3")}}
		}
		SetTrailer(ctx, Metadata{"served-by": []byte("kv")})
		SetStatusMessage(ctx, "fresh")
		return &kvResp{Value: req.Key + "=" + string(md["tenant"]), Found: true}, nil
	})
	s.HandleMethod(9, func(ctx context.Context, req *Request) ([]byte, error) {
		return []byte("numeric"), nil
	})
	c := dial(t, startServer(t, s))
	ctx := NewOutgoingContext(context.Background(), Metadata{"tenant": []byte("acme")})

	var out kvResp
	var tr Metadata
	if err := c.Invoke(ctx, "kv.Get", &kvReq{Key: "a"}, &out, WithTrailer(&tr)); err != nil {
		t.Fatal(err)
	}
	if out != (kvResp{Value: "a=acme", Found: true}) || string(tr["served-by"]) != "kv" {
		t.Fatalf("reply %+v, trailers %v", out, tr)
	}
	// the same call by number, raw, sees the OK reply's status message
	r, err := c.Call(ctx, MethodOf("kv.Get"), []byte(`{"Key":"b"}`))
	if err != nil || string(r.Data) != `{"Value":"b=acme","Found":true}` {
		t.Fatalf("raw call: %q %v", r.Data, err)
	}

	err = c.Invoke(ctx, "kv.Get", &kvReq{Key: "missing"}, &out, WithTrailer(&tr))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != NotFound || se.Message != "no missing" ||
		string(se.Details) != `{"hint":"try x"}` || string(tr["shard"]) != "3" {
		t.Fatalf("error %v (%+v), trailers %v", err, se, tr)
	}
	if err := c.Invoke(ctx, "kv.Nope", &kvReq{}, &out); !errors.Is(err, ErrUnimplemented) {
		t.Fatalf("unknown method: %v", err)
	}
	if err := c.Invoke(ctx, "kv.Get", "not an object", &out); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("bad request: %v", err)
	}
	r, err = c.Call(ctx, 9, nil)
	if err != nil || string(r.Data) != "numeric" {
		t.Fatalf("numeric method: %v", err)
	}
}

// Interceptors run in order on both sides and can change the call.
func TestModuleInterceptors(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	log := func(s string) {
		mu.Lock()
		trace = append(trace, s)
		mu.Unlock()
	}
	srvIc := func(name string) UnaryServerInterceptor {
		return func(ctx context.Context, req *Request, info *MethodInfo, h Handler) ([]byte, error) {
			log("server " + name + " " + info.FullName())
			return h(ctx, req)
		}
	}
	auth := func(ctx context.Context, req *Request, info *MethodInfo, h Handler) ([]byte, error) {
		if string(req.Metadata["token"]) != "ok" {
			return nil, Errorf(Unauthenticated, "no token")
		}
		return h(ctx, req)
	}
	s := NewServer(WithServerCodec(Raw), WithUnaryInterceptors(srvIc("outer"), srvIc("inner"), auth))
	s.Handle("echo", func(ctx context.Context, req *Request) ([]byte, error) {
		log("handler")
		return req.Data, nil
	})
	cliIc := func(name string) UnaryClientInterceptor {
		return func(ctx context.Context, method string, in, out any, c *Client, inv UnaryInvoker, opts ...Option) error {
			log("client " + name + " " + method)
			return inv(c, ctx, method, in, out, opts...)
		}
	}
	token := func(ctx context.Context, method string, in, out any, c *Client, inv UnaryInvoker, opts ...Option) error {
		return inv(c, NewOutgoingContext(ctx, Metadata{"token": []byte("ok")}), method, in, out, opts...)
	}
	addr := startServer(t, s)
	c := dial(t, addr, WithCodec(Raw), WithUnaryClientInterceptors(cliIc("outer"), cliIc("inner"), token))
	var out []byte
	if err := c.Invoke(context.Background(), "echo", []byte("hi"), &out); err != nil || string(out) != "hi" {
		t.Fatalf("invoke: %q %v", out, err)
	}
	want := "client outer echo|client inner echo|server outer echo|server inner echo|handler"
	mu.Lock() // the handler's appends reach us through the kernel: no edge the race detector sees
	got := strings.Join(trace, "|")
	mu.Unlock()
	if got != want {
		t.Fatalf("order %s, want %s", got, want)
	}
	bare := dial(t, addr, WithCodec(Raw))
	if err := bare.Invoke(context.Background(), "echo", []byte("hi"), &out); !errors.Is(err, ErrUnauthenticated) {
		t.Fatalf("without the token: %v", err)
	}
}

// Shutdown lets the calls in progress finish, refuses new ones, and
// returns when they are answered: waiting for the listener's end of file
// (eof), and as on a module without FASTRPC_FEAT_SHUTDOWN_EOF, asking the
// kernel every 5 ms (poll).
func TestModuleShutdown(t *testing.T) {
	t.Run("eof", func(t *testing.T) { testShutdown(t, false) })
	t.Run("poll", func(t *testing.T) { testShutdown(t, true) })
}

func testShutdown(t *testing.T, poll bool) {
	ln, addr := listen(t)
	if poll {
		ln.eofFeature = false // before Shutdown, which the reaper reads it after
	} else if !ln.eofFeature {
		t.Fatal("the module does not report FASTRPC_FEAT_SHUTDOWN_EOF")
	}
	started, release := make(chan struct{}), make(chan struct{})
	s := NewServer()
	s.Handle("slow", func(ctx context.Context, req *Request) ([]byte, error) {
		close(started)
		<-release
		return []byte("done"), nil
	})
	s.Handle("fast", func(ctx context.Context, req *Request) ([]byte, error) { return nil, nil })
	unblock := releaseAtEnd(t, release)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	c := dial(t, addr, WithCodec(Raw))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	slow := make(chan error, 1)
	var out []byte
	go func() { slow <- c.Invoke(ctx, "slow", nil, &out) }()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	// new calls fail once the listener is shut down (GOAWAY); until
	// then they are still answered
	for i := 0; ; i++ {
		cctx, ccancel := context.WithTimeout(ctx, 20*time.Second)
		err := c.Invoke(cctx, "fast", nil, nil)
		ccancel()
		if err != nil {
			t.Logf("a call after Shutdown: %v", err)
			break
		}
		if i > 1000 {
			t.Fatal("calls are still taken after Shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) with a call in progress", err)
	default:
	}
	unblock()
	if err := <-slow; err != nil || string(out) != "done" {
		t.Fatalf("call in progress: %q %v", out, err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v", err)
	}
	if !poll {
		select {
		case <-ln.drained():
		default:
			t.Fatal("Shutdown returned before the listener's end of file")
		}
	}
}

// Shutdown waits for the listener's end of file (FASTRPC_FEAT_SHUTDOWN_EOF)
// and still for the handlers: here the only call was cancelled by its
// caller, so the connection closes and the end of file comes while its
// handler, which ignores the cancellation, still runs.  Shutdown returns
// only after the handler did, and Serve with ErrServerClosed.
func TestModuleShutdownEOF(t *testing.T) {
	ln, addr := listen(t)
	if !ln.eofFeature {
		t.Fatal("the module does not report FASTRPC_FEAT_SHUTDOWN_EOF")
	}
	started, release := make(chan struct{}), make(chan struct{})
	var returned atomic.Bool
	s := NewServer()
	s.Handle("stubborn", func(ctx context.Context, req *Request) ([]byte, error) {
		close(started)
		<-ctx.Done()
		<-release
		returned.Store(true)
		return nil, ctx.Err()
	})
	unblock := releaseAtEnd(t, release)
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	c := dial(t, addr, WithCodec(Raw))
	cctx, ccancel := context.WithCancel(context.Background())
	called := make(chan error, 1)
	go func() { called <- c.Invoke(cctx, "stubborn", nil, nil) }()
	<-started
	ccancel()
	if err := <-called; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	// guards against a hang only, not timings
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(ctx) }()
	select {
	case <-ln.drained():
	case <-ctx.Done():
		t.Fatal("no end of file two minutes after Shutdown, with no call left")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned (%v) while a handler runs", err)
	default:
	}
	unblock()
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(120 * time.Second):
		t.Fatal("Shutdown did not return after the end of file and the last handler")
	}
	if !returned.Load() {
		t.Fatal("Shutdown returned before the handler")
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v, want ErrServerClosed", err)
	}
}

// Serve returns io.EOF when its Listener, shut down by itself (not by the
// Server), reads the end of file; before that, calls are still answered.
func TestModuleServeListenerEOF(t *testing.T) {
	ln, addr := listen(t)
	s := NewServer(WithFallback(echo))
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() { s.Close() })
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if r, err := c.Call(ctx, 1, []byte("x")); err != nil || string(r.Data) != "x" {
		t.Fatalf("call: %v", err)
	}
	if err := ln.Shutdown(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != io.EOF {
			t.Fatalf("Serve: %v, want io.EOF", err)
		}
	case <-time.After(60 * time.Second): // a guard against a hang only
		t.Fatal("Serve still runs a minute after its Listener's Shutdown")
	}
}

// Shutdown with a context that ends first closes the server.
func TestModuleShutdownTimeout(t *testing.T) {
	h, started, ended := blocking()
	s := NewServer(WithFallback(h))
	c := dial(t, startServer(t, s))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), 1, nil)
		errc <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v", err)
	}
	waitCancelled(t, ended)
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call: %v, want UNAVAILABLE", err)
	}
}

// A Pool spreads calls over its sockets; every server answers Health.
func TestModulePoolAndHealth(t *testing.T) {
	s := NewServer(WithFallback(echo))
	addr := startServer(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := DialPool(ctx, addr, 3)
	if err != nil {
		t.Fatal(err)
	}
	used := map[*Client]bool{}
	for i := 0; i < 9; i++ {
		c := p.Client()
		used[c] = true
		if r, err := c.Call(ctx, 1, []byte("x")); err != nil || string(r.Data) != "x" {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if len(used) != 3 {
		t.Errorf("%d sockets used of 3", len(used))
	}
	if err := p.Client().Health(ctx); err != nil {
		t.Errorf("health: %v", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Call(ctx, 1, nil); !errors.Is(err, net.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

// A call's deadline ends its handler's context as DeadlineExceeded, never
// as Canceled, though the call's own context and the handler's have
// timers that fire together (the handler would answer CANCELLED).
func TestHandlerContextDeadline(t *testing.T) {
	s := NewServer()
	for i := 0; i < 200; i++ {
		rctx, rcancel := context.WithTimeout(context.Background(), 100*time.Microsecond)
		req := &Request{ctx: rctx, cancel: rcancel}
		hctx, cancel, _ := s.handlerContext(context.Background(), req)
		<-hctx.Done()
		err := hctx.Err()
		cancel()
		rcancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("try %d: the handler's context ended with %v at the call's deadline", i, err)
		}
	}
	// a cancelled call cancels it
	rctx, rcancel := context.WithTimeout(context.Background(), time.Hour)
	hctx, cancel, _ := s.handlerContext(context.Background(), &Request{ctx: rctx, cancel: rcancel})
	defer cancel()
	rcancel()
	<-hctx.Done()
	if !errors.Is(hctx.Err(), context.Canceled) {
		t.Fatalf("cancelled call: %v", hctx.Err())
	}
}

// A cancellation notice the deadline caused ends the context with
// DeadlineExceeded (what the handler should answer), through the
// context's own timer when that is near (within markedSlack for a
// marked notice); any other cancels at once, Canceled.  Modules that
// mark the cause (exact) are believed; without the mark, a notice within
// deadlineSlack of the deadline is taken for it.
func TestCancelNoticeCause(t *testing.T) {
	for _, tc := range []struct {
		name            string
		exact, deadline bool          // the module marks causes; this notice is the deadline's
		left            time.Duration // to the deadline when the notice comes; 0: none
		want            error
	}{
		{"guess, no deadline", false, false, 0, context.Canceled},
		{"guess, deadline far", false, false, time.Hour, context.Canceled},
		{"guess, deadline near", false, false, deadlineSlack / 4, context.DeadlineExceeded},
		{"guess, deadline passed", false, false, -time.Millisecond, context.DeadlineExceeded},
		{"exact, cancelled near the deadline", true, false, deadlineSlack / 4, context.Canceled},
		{"exact, deadline", true, true, deadlineSlack / 4, context.DeadlineExceeded},
		// the reader took the time late: a goroutine preempted on a
		// loaded host (a guest beside another made it Canceled)
		{"exact, deadline, reader late", true, true, 10 * deadlineSlack, context.DeadlineExceeded},
		{"exact, deadline, reader far behind", true, true, time.Hour, context.Canceled},
		{"exact, deadline passed", true, true, -time.Millisecond, context.DeadlineExceeded},
		{"exact, deadline mark without a deadline", true, true, 0, context.Canceled},
	} {
		r := &Request{}
		if tc.left != 0 {
			r.deadline = time.Now().Add(tc.left)
			r.ctx, r.cancel = context.WithDeadline(context.Background(), r.deadline)
		} else {
			r.ctx, r.cancel = context.WithCancel(context.Background())
		}
		r.cancelNotice(tc.exact, tc.deadline)
		select {
		case <-r.ctx.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the context did not end", tc.name)
		}
		if err := r.ctx.Err(); !errors.Is(err, tc.want) {
			t.Errorf("%s: context ended with %v, want %v", tc.name, err, tc.want)
		}
		r.cancel()
	}
}
