// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Tests against the loaded module.  They skip where /sys/module/af_fastrpc
// is absent (the host never loads it), unless FASTRPC_REQUIRE_MODULE=1, as
// the guest's t_go wrapper sets: there a skip would hide a failure.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func requireModule(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/sys/module/af_fastrpc"); err != nil {
		if os.Getenv("FASTRPC_REQUIRE_MODULE") == "1" {
			t.Fatalf("af_fastrpc is not loaded: %v", err)
		}
		t.Skip("af_fastrpc is not loaded (the tests run in the QEMU guest)")
	}
}

// ringListen makes the tests' listeners take their calls through rings
// (ListenRing): t_go sets FASTRPC_GO_RING_LISTEN=1 for make check's pass
// over TCP, so that every test also covers the ring server.
var ringListen = os.Getenv("FASTRPC_GO_RING_LISTEN") == "1"

// testListen is Listen, with rings when ringListen says so.
func testListen(addr string) (*Listener, error) {
	if ringListen {
		return Listen(addr, ListenRing(0, 0, 0))
	}
	return Listen(addr)
}

// listen opens a server on a free port, closed at the end of the test,
// and returns it with an IPv4 loopback address to dial.
func listen(t *testing.T) (*Listener, string) {
	t.Helper()
	requireModule(t)
	srv, err := testListen(":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, fmt.Sprintf("127.0.0.1:%d", srv.Addr().(Addr).Port())
}

// serve is listen plus a Server that answers every method with h, until
// the end of the test.
func serve(t *testing.T, h Handler, opts ...ServerOption) (*Server, string) {
	t.Helper()
	ln, addr := listen(t)
	srv := NewServer(append([]ServerOption{WithFallback(h)}, opts...)...)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve ended with %v, want ErrServerClosed", err)
		}
	})
	return srv, addr
}

func dial(t testing.TB, addr string, opts ...DialOption) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// debugKernel is set on make check's debug and KCSAN tiers (the guest's
// init exports FASTRPC_GUEST_DEBUG=1), whose kernels run several times
// slower: long loops shrink there, what they assert does not.
var debugKernel = os.Getenv("FASTRPC_GUEST_DEBUG") == "1"

// allocRuns is how many calls an allocation count averages: n, or a
// tenth of it (at least 20) on the debug kernels.
func allocRuns(n int) int {
	if debugKernel {
		return max(n/10, 20)
	}
	return n
}

func echo(ctx context.Context, req *Request) ([]byte, error) {
	return req.Data, nil
}

func TestModuleRoundTrip(t *testing.T) {
	// what the handler saw comes back by channel: the reply's path
	// through the kernel is no happens-before edge for the race detector
	type saw struct {
		md   Metadata
		peer Addr
	}
	seenc := make(chan saw, 16)
	_, addr := serve(t, func(ctx context.Context, req *Request) ([]byte, error) {
		seenc <- saw{req.Metadata, req.Peer}
		if req.Method != 7 {
			return nil, Errorf(InvalidArgument, "method %d", req.Method)
		}
		return append([]byte("echo:"), req.Data...), nil
	})
	c := dial(t, addr)
	r, err := c.Call(context.Background(), 7, []byte("hello"),
		WithMetadata(Metadata{"trace-id": []byte("t1")}))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != "echo:hello" {
		t.Fatalf("reply %q", r.Data)
	}
	s := <-seenc
	seen, peer := s.md, s.peer
	// with rings, the completions do not carry the caller's address
	if string(seen["trace-id"]) != "t1" || peer.Addr().IsLoopback() == ringListen {
		t.Fatalf("server saw metadata %v, peer %v", seen, peer)
	}
	// Empty and large messages; IPv6 to the same dual-stack server.
	_, port, _ := net.SplitHostPort(addr)
	c6 := dial(t, "[::1]:"+port)
	for _, n := range []int{0, 1 << 20} {
		req := bytes.Repeat([]byte{'x'}, n)
		r, err := c6.Call(context.Background(), 7, req)
		if err != nil || len(r.Data) != n+5 {
			t.Fatalf("%d bytes over IPv6: %v", n, err)
		}
	}
}

func TestModuleStatusAndTrailers(t *testing.T) {
	srv, addr := listen(t)
	go func() {
		for {
			req, err := srv.Recv(context.Background())
			if err != nil {
				return
			}
			req.Reply(NotFound, []byte("detail"), WithStatusMessage("no such key"),
				WithMetadata(Metadata{"retry": []byte("no")}))
		}
	}()
	c := dial(t, addr)
	_, err := c.Call(context.Background(), 1, nil)
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want *StatusError", err)
	}
	if se.Code != NotFound || se.Message != "no such key" || string(se.Trailers["retry"]) != "no" ||
		string(se.Details) != "detail" {
		t.Fatalf("status error %+v", se)
	}
}

func TestModuleConcurrentCalls(t *testing.T) {
	_, addr := serve(t, echo)
	c := dial(t, addr)
	const n = 1000
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			want := fmt.Sprintf("call-%d", i)
			r, err := c.Call(ctx, uint32(i), []byte(want))
			if err == nil && string(r.Data) != want {
				err = fmt.Errorf("call %d got %q", i, r.Data)
			}
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// blocking returns a handler that waits for its context and reports, on
// the returned channels, that the call started and how its context ended.
func blocking() (Handler, chan struct{}, chan error) {
	started, ended := make(chan struct{}, 16), make(chan error, 16)
	return func(ctx context.Context, req *Request) ([]byte, error) {
		started <- struct{}{}
		select {
		case <-ctx.Done():
			ended <- ctx.Err()
		case <-time.After(30 * time.Second):
			ended <- errors.New("never cancelled")
		}
		return nil, ctx.Err()
	}, started, ended
}

// releaseAtEnd returns a function that closes ch, on which handlers
// block until the test releases them, and makes it a cleanup of the test
// too (ch is closed once): a test that fails first does not leave them
// blocked for ever.  Call it after the cleanup that closes their Server
// is registered, so that it runs first (cleanups run last first):
// Server.Close waits for the handlers, and would hang the test binary
// until its timeout, hiding the failure.
func releaseAtEnd(t *testing.T, ch chan struct{}) func() {
	var once sync.Once
	release := func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release)
	return release
}

// waitCancelled waits for a blocking() handler to see its context end
// and returns the context's error.
func waitCancelled(t *testing.T, ended chan error) error {
	t.Helper()
	select {
	case err := <-ended:
		if err == nil || err.Error() == "never cancelled" {
			t.Fatalf("server-side context: %v", err)
		}
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("server never saw the cancellation")
	}
	return nil
}

func TestModuleDeadline(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	deadlineCall(t, dial(t, addr), started, ended)
}

// deadlineCall makes calls to a blocking() handler with a deadline until
// one reaches the handler before its deadline (300 ms first; on a slow
// guest, the debug kernel under load, a call can spend that long in
// transit and expire in the kernel, unseen by the server), then checks
// that the handler saw its context end.
func deadlineCall(t *testing.T, c *Client, started chan struct{}, ended chan error) {
	t.Helper()
	for _, d := range []time.Duration{300 * time.Millisecond, 2 * time.Second, 8 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		start := time.Now()
		_, err := c.Call(ctx, 1, []byte("slow"))
		cancel()
		if !errors.Is(err, ErrDeadlineExceeded) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DEADLINE_EXCEEDED", err)
		}
		if took := time.Since(start); took > d+10*time.Second {
			t.Errorf("deadline of %v took %v", d, took)
		}
		select {
		case <-started:
			// The deadline ends the handler's context, as
			// DeadlineExceeded where the module marks the kernel's
			// notice with its cause (Request.cancelNotice); without
			// the mark, the kernel's notice can come first on a slow
			// guest (Canceled): not asserted then.
			err := waitCancelled(t, ended)
			var f uint64
			c.s.control(func(fd int) error { f = features(fd); return nil })
			if f&featInDeadline != 0 && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("the handler's context ended with %v, want DeadlineExceeded", err)
			}
			t.Logf("the handler's context ended with %v", err)
			return
		case <-time.After(100 * time.Millisecond):
		}
		t.Logf("the deadline of %v passed before the handler had the call: again with a longer one", d)
	}
	t.Fatal("no call reached the handler before its deadline")
}

func TestModuleCancel(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	c := dial(t, addr)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := c.Call(ctx, 1, nil)
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want CANCELLED", err)
	}
	waitCancelled(t, ended)
}

func TestModuleServerClose(t *testing.T) {
	requireModule(t)
	srv, err := testListen(":0")
	if err != nil {
		t.Fatal(err)
	}
	h, started, _ := blocking()
	go NewServer(WithFallback(h)).Serve(context.Background(), srv)
	c := dial(t, fmt.Sprintf("127.0.0.1:%d", srv.Addr().(Addr).Port()))
	go func() { <-started; srv.Close() }()
	_, err = c.Call(context.Background(), 1, nil)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want UNAVAILABLE", err)
	}
	if _, err := srv.Recv(context.Background()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
	}
}

func TestModuleClientClose(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	c := dial(t, addr)
	go func() { <-started; c.Close() }()
	_, err := c.Call(context.Background(), 1, nil)
	var op *net.OpError
	if !errors.Is(err, net.ErrClosed) || !errors.As(err, &op) {
		t.Fatalf("call in flight at Close: %v, want *net.OpError with net.ErrClosed", err)
	}
	waitCancelled(t, ended)
	if _, err := c.Call(context.Background(), 1, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestModuleRecvContext(t *testing.T) {
	requireModule(t)
	srv, err := testListen("0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := srv.Recv(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Recv: %v", err)
	}
	// Nothing listens on the port once the server is closed.
	port := srv.Addr().(Addr).Port()
	srv.Close()
	_, err = Dial(context.Background(), fmt.Sprintf("127.0.0.1:%d", port))
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("Dial to a closed server: %v, want ECONNREFUSED", err)
	}
}

func TestModuleReplyAfterCancel(t *testing.T) {
	srv, addr := listen(t)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, 3, []byte("x"))
		errc <- err
	}()
	req, err := srv.Recv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if req.Timeout <= 0 || req.Timeout > 5*time.Second {
		t.Errorf("server sees %v left of a 5s deadline", req.Timeout)
	}
	if req.Method != 3 || string(req.Data) != "x" {
		t.Errorf("request %d %q", req.Method, req.Data)
	}
	cancel()
	if err := <-errc; !errors.Is(err, ErrCancelled) {
		t.Fatalf("client: %v, want CANCELLED", err)
	}
	select {
	case <-req.Context().Done():
	case <-time.After(20 * time.Second):
		t.Fatal("request context not cancelled")
	}
	lateReply(t, srv, req)
	if err := req.Reply(OK, nil); err == nil {
		t.Fatal("second reply accepted")
	}
}

// lateReply answers req, a call the client cancelled: Reply fails with
// ECANCELED, or through the rings returns nil and the kernel's refusal is
// counted.
func lateReply(t *testing.T, srv *Listener, req *Request) {
	t.Helper()
	if srv.ring == nil {
		if err := req.Reply(OK, []byte("late")); !errors.Is(err, syscall.ECANCELED) {
			t.Fatalf("reply to a cancelled call: %v, want ECANCELED", err)
		}
		return
	}
	refused := srv.ring.refused.Load()
	if err := req.Reply(OK, []byte("late")); err != nil {
		t.Fatalf("reply to a cancelled call through the rings: %v", err)
	}
	waitFor(t, "the kernel's refusal of the late reply", func() bool { return srv.ring.refused.Load() > refused })
}

// waitQueued waits until n received calls wait for Recv.
func waitQueued(t *testing.T, srv *Listener, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; {
		srv.mu.Lock()
		got := len(srv.queue)
		srv.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls wait for Recv, want %d", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A call waiting for room on the socket (here FASTRPC_MAX_CALLS of 1, the
// one slot taken by a call the server holds) still ends with its context.
func TestModuleCallWaitsForRoomWithContext(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	c := dial(t, addr)
	err := c.s.control(func(fd int) error {
		return syscall.SetsockoptInt(fd, solFastRPC, optMaxCalls, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	first, cancelFirst := context.WithCancel(context.Background())
	defer cancelFirst()
	go c.Call(first, 1, []byte("holds the slot"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Call(ctx, 1, []byte("waits"))
	if !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v, want DEADLINE_EXCEEDED", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a 300ms deadline took %v while waiting for room", d)
	}
	cancelFirst()
	waitCancelled(t, ended)
}

// A handler's reply the kernel would refuse (code 42) does not leave the
// caller waiting: Serve answers INTERNAL instead.
func TestModuleBadHandlerReply(t *testing.T) {
	_, addr := serve(t, func(ctx context.Context, req *Request) ([]byte, error) {
		return nil, &StatusError{Code: 42, Message: "no such code"}
	})
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := c.Call(ctx, 1, nil)
	if !errors.Is(err, ErrInternal) {
		t.Fatalf("got %v, want INTERNAL", err)
	}
}

// Close returns even when a call arrived that nobody took with Recv.
func TestModuleCloseWithUntakenCall(t *testing.T) {
	srv, addr := listen(t)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, 1, []byte("nobody takes me"))
		errc <- err
	}()
	waitQueued(t, srv, 1) // the call reached the server
	closed := make(chan struct{})
	go func() { srv.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return")
	}
	if err := <-errc; !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call at Close: %v, want UNAVAILABLE", err)
	}
}

// A request the application holds is cancelled when its caller cancels,
// even while the application takes no further request with Recv.
func TestModuleCancelWhileNotReceiving(t *testing.T) {
	srv, addr := listen(t)
	c := dial(t, addr)
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	go c.Call(ctxA, 1, []byte("a"))
	reqA, err := srv.Recv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctxB, cancelB := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancelB()
	errB := make(chan error, 1)
	go func() {
		_, err := c.Call(ctxB, 2, []byte("b"))
		errB <- err
	}()
	waitQueued(t, srv, 1) // B reached the server, nobody takes it
	cancelA()
	select {
	case <-reqA.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the held request's context was not cancelled")
	}
	lateReply(t, srv, reqA)
	reqB, err := srv.Recv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if reqB.Method != 2 || string(reqB.Data) != "b" {
		t.Errorf("second request %d %q", reqB.Method, reqB.Data)
	}
	if err := reqB.Reply(OK, []byte("B")); err != nil {
		t.Fatal(err)
	}
	if err := <-errB; err != nil {
		t.Fatalf("call B: %v", err)
	}
}

// TestMain runs the echo server of TestModuleAllocsPerCall when the test
// binary is started again as its helper process (FASTRPC_HELPER=echo):
// the server then runs in another process, so that only the client's
// allocations are counted.  It prints the port and serves until its
// standard input closes.
func TestMain(m *testing.M) {
	if os.Getenv("FASTRPC_HELPER") == "echo" {
		helperEchoServer()
		return
	}
	os.Exit(m.Run())
}

func helperEchoServer() {
	ln, err := Listen("127.0.0.1:0")
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	fmt.Printf("PORT %d\n", ln.Addr().(Addr).Port())
	s := NewServer(WithFallback(echo))
	s.HandleStream("echo.stream", func(ctx context.Context, st *ServerStream) error {
		for {
			m, err := st.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := st.Send(m); err != nil {
				return err
			}
		}
	})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		s.Close()
	}()
	s.Serve(context.Background(), ln)
}

// startHelper runs helperEchoServer in a child process and returns the
// address to dial.
func startHelper(t testing.TB) string {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "FASTRPC_HELPER=echo")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if port, ok := strings.CutPrefix(sc.Text(), "PORT "); ok {
			go io.Copy(io.Discard, stdout)
			return "127.0.0.1:" + port
		}
	}
	t.Fatalf("helper server printed no port (%v)", sc.Err())
	return ""
}

// A unary Call allocates at most twice in the client (the Reply and its
// data), with and without a deadline; the server runs in another process.
func TestModuleAllocsPerCall(t *testing.T) {
	requireModule(t)
	if raceEnabled {
		t.Skip("allocation counts under the race detector say nothing")
	}
	c := dial(t, startHelper(t))
	req := make([]byte, 64)
	ctx := context.Background()
	dctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for i := 0; i < 100; i++ { // warm the pools and the map
		if _, err := c.Call(dctx, 1, req); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"plain", ctx}, {"deadline", dctx}} {
		n := testing.AllocsPerRun(allocRuns(500), func() {
			r, err := c.Call(tc.ctx, 1, req)
			if err != nil || len(r.Data) != len(req) {
				t.Fatalf("call: %v", err)
			}
		})
		t.Logf("client allocations per unary Call (%s): %.2f", tc.name, n)
		if n > 2 {
			t.Errorf("%s: %.2f allocations per Call, want at most 2", tc.name, n)
		}
	}
}

// Calls queued before Serve starts are served; a second Serve of the same
// Listener waits in Recv while the first holds it, and serves the calls
// that come after the first ended.
func TestModuleServeQueuedAndTwice(t *testing.T) {
	ln, addr := listen(t)
	c := dial(t, addr)
	const early = 3
	errs := make(chan error, early)
	for i := 0; i < early; i++ {
		go func() {
			_, err := c.Call(context.Background(), 1, []byte("early"))
			errs <- err
		}()
	}
	waitQueued(t, ln, early)
	s := NewServer(WithFallback(echo))
	ctx1, stop1 := context.WithCancel(context.Background())
	done1, done2 := make(chan error, 1), make(chan error, 1)
	go func() { done1 <- s.Serve(ctx1, ln) }()
	for i := 0; i < early; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("call queued before Serve: %v", err)
		}
	}
	go func() { done2 <- s.Serve(context.Background(), ln) }()
	// Let the second Serve find the Listener taken (should it come
	// later, it takes the hook itself: the test then checks less).
	time.Sleep(50 * time.Millisecond)
	stop1()
	if err := <-done1; !errors.Is(err, context.Canceled) {
		t.Errorf("first Serve ended with %v, want context.Canceled", err)
	}
	for i := 0; i < 5; i++ {
		r, err := c.Call(context.Background(), 1, []byte("late"))
		if err != nil || string(r.Data) != "late" {
			t.Fatalf("call served by the second Serve: %v", err)
		}
	}
	s.Close()
	if err := <-done2; !errors.Is(err, ErrServerClosed) {
		t.Errorf("second Serve ended with %v, want ErrServerClosed", err)
	}
}

// With the read-ahead queue full before Serve starts (the receive loop
// then waits for room, the rest of the calls in the kernel), Serve takes
// the queue and the loop goes on: every call is answered.
func TestModuleServeFullQueue(t *testing.T) {
	ln, addr := listen(t)
	c := dial(t, addr)
	const calls = recvAheadCalls + 36
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errs := make(chan error, calls)
	for i := 0; i < calls; i++ {
		go func(i int) {
			want := fmt.Sprint("call ", i)
			r, err := c.Call(ctx, 1, []byte(want))
			if err == nil && string(r.Data) != want {
				err = fmt.Errorf("reply %q to %q", r.Data, want)
			}
			errs <- err
		}(i)
	}
	waitQueued(t, ln, recvAheadCalls)
	s := NewServer(WithFallback(echo))
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	for i := 0; i < calls; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve ended with %v", err)
	}
}

// uncomparableCtx is a context whose type cannot be compared with ==.
type uncomparableCtx struct {
	context.Context
	tags []string
}

// Serve takes any context, also one of a type that == would panic on.
func TestModuleServeUncomparableContext(t *testing.T) {
	ln, addr := listen(t)
	s := NewServer()
	s.HandleMethod(1, func(ctx context.Context, req *Request) ([]byte, error) {
		v, _ := ctx.Value(ctxKey{}).(string)
		return []byte(v), nil
	})
	ctx := uncomparableCtx{Context: context.WithValue(context.Background(), ctxKey{}, "serve"), tags: []string{"a"}}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	r, err := dial(t, addr).Call(context.Background(), 1, nil)
	if err != nil || string(r.Data) != "serve" {
		t.Errorf("call: %v, %v; want the value of Serve's context", r, err)
	}
	s.Close()
	if err := <-done; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve ended with %v", err)
	}
}

// Serve answers a unary call with at most serveAllocs allocations: the
// Request, its data, its context (two: the context and its cancel
// function; two more for a deadline's timer) and one not yet accounted
// for; the handler's context and reply state come with the Request, the
// reply's control buffer from a pool.  Client and server share this
// process, so the count is both sides' together, the client's being at
// most 2 (TestModuleAllocsPerCall).
func TestModuleServeAllocsPerCall(t *testing.T) {
	const serveAllocs = 5
	if raceEnabled {
		t.Skip("allocation counts under the race detector say nothing")
	}
	_, addr := serve(t, echo)
	c := dial(t, addr)
	req := make([]byte, 64)
	for _, tc := range []struct {
		name string
		ctx  context.Context
	}{{"plain", context.Background()}, {"deadline", nil}} {
		ctx := tc.ctx
		extra := 0.0
		if ctx == nil {
			// the server's context then has a timer: two more
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			extra = 2
		}
		for i := 0; i < 100; i++ { // warm the pools, stacks and maps
			if _, err := c.Call(ctx, 1, req); err != nil {
				t.Fatal(err)
			}
		}
		n := testing.AllocsPerRun(allocRuns(500), func() {
			r, err := c.Call(ctx, 1, req)
			if err != nil || len(r.Data) != len(req) {
				t.Fatalf("call: %v", err)
			}
		})
		t.Logf("allocations per unary call, client and Serve (%s): %.2f", tc.name, n)
		if n > 2+serveAllocs+extra {
			t.Errorf("%s: %.2f allocations per call, want at most %v", tc.name, n, 2+serveAllocs+extra)
		}
	}
}

// A call the socket pushes back (FASTRPC_MAX_CALLS of 1, the slot held)
// waits for POLLOUT in the poller: it tries again when room is made, not
// on a timer, so it is pushed back once or twice however long it waits.
func TestModuleWaitsForPollout(t *testing.T) {
	release, started := make(chan struct{}), make(chan struct{})
	_, addr := serve(t, func(ctx context.Context, req *Request) ([]byte, error) {
		if string(req.Data) == "hold" {
			close(started)
			<-release
		}
		return req.Data, nil
	})
	unblock := releaseAtEnd(t, release) // cleanup: runs before serve's Server.Close
	c := dial(t, addr, WithMaxCalls(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	held := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, 1, []byte("hold"))
		held <- err
	}()
	<-started
	waiting := make(chan error, 1)
	go func() {
		r, err := c.Call(ctx, 1, []byte("waits"))
		if err == nil && string(r.Data) != "waits" {
			err = fmt.Errorf("reply %q", r.Data)
		}
		waiting <- err
	}()
	for c.pushed.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a sleeping sender would retry ~15 times
	unblock()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
	t.Logf("the waiting call was pushed back %d times", c.pushed.Load())
	if n := c.pushed.Load(); n > 5 {
		t.Errorf("the waiting call was pushed back %d times: it polls instead of waiting for POLLOUT", n)
	}
}

// Dial resolves host names; a server can listen on the loopback address
// alone.
func TestModuleDialHostNameListenLoopback(t *testing.T) {
	requireModule(t)
	srv, err := testListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if a := srv.Addr().(Addr); a.Addr() != netip.MustParseAddr("127.0.0.1") || a.Port() == 0 {
		t.Fatalf("listening on %v", a)
	}
	go NewServer(WithFallback(echo)).Serve(context.Background(), srv)
	c := dial(t, fmt.Sprintf("localhost:%d", srv.Addr().(Addr).Port()))
	if !c.RemoteAddr().(Addr).Addr().IsLoopback() {
		t.Errorf("connected to %v", c.RemoteAddr())
	}
	r, err := c.Call(context.Background(), 1, []byte("by name"))
	if err != nil || string(r.Data) != "by name" {
		t.Fatalf("call: %v", err)
	}
}

type ctxKey struct{}

// A handler's context carries Serve's values and ends with Serve's
// context.
func TestModuleHandlerContextFromServe(t *testing.T) {
	srv, addr := listen(t)
	sctx, stop := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "serve"))
	defer stop()
	got := make(chan any, 1)
	ended := make(chan error, 1)
	s := NewServer()
	s.HandleMethod(1, func(ctx context.Context, req *Request) ([]byte, error) {
		got <- ctx.Value(ctxKey{})
		stop()
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	})
	go s.Serve(sctx, srv)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := c.Call(ctx, 1, nil)
	if !errors.Is(err, ErrCancelled) {
		t.Errorf("call: %v, want CANCELLED from the handler", err)
	}
	if v := <-got; v != "serve" {
		t.Errorf("handler context value %v", v)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Errorf("handler context ended with %v", err)
	}
}

// A call that waits in the socket before the server reads it (the
// reader held back by the read-ahead limit): its Timeout is what is left
// then, and where the module marks deadline notices
// (FASTRPC_FEAT_IN_DEADLINE) the request's context ends with
// DeadlineExceeded, not Canceled (the kernel's timer and the context's
// keep the same deadline).  With rings the completion is posted while
// the reader waits, Timeout counts from then, and the context may end
// Canceled: logged, not asserted (ListenRing's documentation).
func TestModuleDeadlineAfterWaitInSocket(t *testing.T) {
	srv, addr := listen(t)
	c := dial(t, addr)
	exact := srv.exactCause && srv.ring == nil
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < recvAheadCalls; i++ {
		go c.Call(ctx, 1, []byte("filler"))
	}
	waitQueued(t, srv, recvAheadCalls)
	for _, d := range []time.Duration{600 * time.Millisecond, 3 * time.Second, 10 * time.Second} {
		dctx, dcancel := context.WithTimeout(ctx, d)
		done := make(chan error, 1)
		go func() {
			_, err := c.Call(dctx, 2, []byte("x"))
			done <- err
		}()
		time.Sleep(d / 3) // the call waits in the socket
		var req *Request
		for req == nil {
			rctx, rcancel := context.WithTimeout(ctx, d)
			r, err := srv.Recv(rctx)
			rcancel()
			if err != nil {
				break
			}
			if r.Method == 2 {
				req = r
			} else {
				r.Reply(OK, nil) // a filler; the next may come in
			}
		}
		if req == nil {
			// expired unseen in the kernel (a slow guest): longer
			dcancel()
			<-done
			t.Logf("no call within %v: again with a longer deadline", d)
			continue
		}
		if exact && req.Timeout > d-d/3 {
			t.Errorf("Timeout %v after the call waited %v of its %v", req.Timeout, d/3, d)
		}
		select {
		case <-req.Context().Done():
		case <-time.After(d + 20*time.Second):
			t.Fatal("the request's context did not end")
		}
		err := req.Context().Err()
		if exact && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("request context ended with %v, want DeadlineExceeded", err)
		}
		t.Logf("waited %v of %v in the socket; Timeout %v; context ended with %v", d/3, d, req.Timeout, err)
		// The reply races the client's own timer (jiffies, so a
		// little later than the context's): either may win.
		req.Reply(OK, nil)
		if err := <-done; err != nil && !errors.Is(err, ErrDeadlineExceeded) {
			t.Errorf("client: %v, want DEADLINE_EXCEEDED or the reply", err)
		}
		dcancel()
		return
	}
	t.Fatal("no call reached the server before its deadline")
}

// listenKinds runs f for a plain Listener and for one with rings
// (ListenRing), each on a free port closed at the end of its subtest.
func listenKinds(t *testing.T, f func(t *testing.T, srv *Listener, addr string)) {
	for _, ring := range []bool{false, true} {
		name := "recvmsg"
		if ring {
			name = "rings"
		}
		t.Run(name, func(t *testing.T) {
			requireModule(t)
			var opts []ListenOption
			if ring {
				opts = append(opts, ListenRing(0, 0, 0))
			}
			srv, err := Listen("127.0.0.1:0", opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			f(t, srv, fmt.Sprintf("127.0.0.1:%d", srv.Addr().(Addr).Port()))
		})
	}
}

// recvGuard is Recv with a context that only keeps a broken test from
// hanging: it is no timing assertion.
func recvGuard(t *testing.T, srv *Listener) (*Request, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := srv.Recv(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("Recv still waits a minute after Shutdown: no end of file")
	}
	return r, err
}

// After Shutdown, once the kernel reads the end of file, Recv returns
// io.EOF: at once where no connection was left, waking a Recv that waited
// already, again on each later Recv, and Close afterwards still works
// (twice: the second matches net.ErrClosed).
func TestModuleListenerShutdownEOF(t *testing.T) {
	listenKinds(t, func(t *testing.T, srv *Listener, addr string) {
		recvd := make(chan error, 1)
		go func() { // no t.Fatal here: the test waits for recvd
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			_, err := srv.Recv(ctx)
			recvd <- err
		}()
		if err := srv.Shutdown(); err != nil {
			t.Fatal(err)
		}
		if err := <-recvd; err != io.EOF {
			t.Fatalf("Recv waiting at Shutdown: %v, want io.EOF", err)
		}
		for i := 0; i < 2; i++ {
			if _, err := recvGuard(t, srv); err != io.EOF {
				t.Fatalf("Recv %d after the end of file: %v, want io.EOF", i, err)
			}
		}
		if err := srv.Shutdown(); err != nil {
			t.Fatalf("a second Shutdown: %v", err)
		}
		if err := srv.Close(); err != nil {
			t.Fatalf("Close after the end of file: %v", err)
		}
		if _, err := srv.Recv(context.Background()); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Recv after Close: %v, want net.ErrClosed", err)
		}
		if err := srv.Close(); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("a second Close: %v, want net.ErrClosed", err)
		}
	})
}

// Calls received before the end of file come out of Recv first, in
// order, and only then io.EOF.  The two calls wait in the Listener's
// queue, untaken, and are cancelled by their callers, so that the
// connection has no call left: Shutdown closes it and the end of file
// follows while they still wait for Recv.
func TestModuleListenerShutdownEOFAfterQueued(t *testing.T) {
	listenKinds(t, func(t *testing.T, srv *Listener, addr string) {
		c := dial(t, addr)
		var cancels []context.CancelFunc
		errc := make(chan error, 2)
		for i, data := range []string{"first", "second"} {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cancels = append(cancels, cancel)
			go func() {
				_, err := c.Call(ctx, uint32(i+1), []byte(data))
				errc <- err
			}()
			waitQueued(t, srv, i+1) // in this order
		}
		for _, cancel := range cancels {
			cancel()
		}
		for range cancels {
			if err := <-errc; !errors.Is(err, context.Canceled) && !errors.Is(err, ErrCancelled) {
				t.Fatalf("cancelled call: %v", err)
			}
		}
		if err := srv.Shutdown(); err != nil {
			t.Fatal(err)
		}
		// the end of file, then the queue still as it was
		select {
		case <-srv.drained():
		case <-time.After(60 * time.Second):
			t.Fatal("no end of file a minute after Shutdown")
		}
		for i, want := range []string{"first", "second"} {
			r, err := recvGuard(t, srv)
			if err != nil {
				t.Fatalf("Recv %d: %v, want the call %q queued before the end of file", i, err, want)
			}
			if r.Method != uint32(i+1) || string(r.Data) != want {
				t.Fatalf("Recv %d: method %d %q, want %d %q", i, r.Method, r.Data, i+1, want)
			}
			select {
			case <-r.Context().Done():
			case <-time.After(60 * time.Second):
				t.Fatalf("the context of cancelled call %q did not end", want)
			}
			// what the kernel says to it does not matter here: it
			// must not hang
			t.Logf("reply to cancelled call %q after the end of file: %v", want, r.Reply(OK, nil))
		}
		if _, err := recvGuard(t, srv); err != io.EOF {
			t.Fatalf("Recv after the queued calls: %v, want io.EOF", err)
		}
	})
}
