// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Tests of the ring server (ListenRing).  With FASTRPC_GO_RING_LISTEN=1
// (make check's pass over TCP) every other module test runs against ring
// listeners as well; these run in every pass.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// ringListenT opens a ring listener with the given sizes, closed at the
// end of the test.
func ringListenT(t *testing.T, sq, cq, buf int) (*Listener, string) {
	t.Helper()
	requireModule(t)
	ln, err := Listen("127.0.0.1:0", ListenRing(sq, cq, buf))
	if err != nil {
		t.Fatal(err)
	}
	if ln.ring == nil {
		t.Fatal("ListenRing gave a listener without rings")
	}
	t.Cleanup(func() { ln.Close() })
	return ln, fmt.Sprintf("127.0.0.1:%d", ln.Addr().(Addr).Port())
}

// serveOn serves s on ln until the end of the test.
func serveOn(t *testing.T, s *Server, ln *Listener) {
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve ended with %v, want ErrServerClosed", err)
		}
	})
}

func TestListenRingSizes(t *testing.T) {
	requireModule(t)
	for _, sz := range [][3]int{{3, 0, 0}, {0, 1 << 16, 0}, {0, 0, 32}, {0, 0, 3000}, {-1, 0, 0}} {
		if ln, err := Listen("127.0.0.1:0", ListenRing(sz[0], sz[1], sz[2])); err == nil {
			ln.Close()
			t.Errorf("ListenRing%v accepted", sz)
		}
	}
}

// Unary calls to a ring listener from a plain and a ring client: in place
// through small buffers, requests larger than every receive buffer
// (recvmsg), replies larger than a buffer (sendmsg), metadata, trailers
// and status messages; Request.Peer is zero.
func TestModuleRingServerRoundTrip(t *testing.T) {
	// 8 receive buffers of 256 bytes: 2 KiB to receive in place
	ln, addr := ringListenT(t, 8, 8, 256)
	peers := make(chan Addr, 64)
	s := NewServer(WithFallback(func(ctx context.Context, req *Request) ([]byte, error) {
		select {
		case peers <- req.Peer:
		default:
		}
		md, _ := FromIncomingContext(ctx)
		if len(md["fail"]) > 0 {
			SetTrailer(ctx, Metadata{"why": md["fail"]})
			return nil, Errorf(NotFound, "no %s", md["fail"])
		}
		if len(md["tr"]) > 0 {
			SetTrailer(ctx, Metadata{"tr": md["tr"]})
		}
		if req.Method == 2 { // a reply of the requested size
			return bytes.Repeat([]byte{'r'}, len(req.Data)), nil
		}
		return append([]byte("echo:"), req.Data...), nil
	}))
	serveOn(t, s, ln)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, c := range []*Client{dial(t, addr), ringDial(t, addr, 4, 8, 1024)} {
		for _, n := range []int{0, 1, 100, 251, 252, 256, 257, 2000, 2048, 5000, 64 << 10, 1 << 20} {
			req := echoCall(t, ctx, c, n)
			if r, err := c.Call(ctx, 2, req); err != nil || len(r.Data) != n {
				t.Fatalf("reply of %d bytes: %v", n, err)
			}
		}
		r, err := c.Call(NewOutgoingContext(ctx, Metadata{"tr": []byte("t1")}), 7, []byte("x"))
		if err != nil || string(r.Data) != "echo:x" || string(r.Trailers["tr"]) != "t1" {
			t.Fatalf("trailers: %v, %+v", err, r)
		}
		_, err = c.Call(NewOutgoingContext(ctx, Metadata{"fail": []byte("key")}), 7, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.Code != NotFound || se.Message != "no key" || string(se.Trailers["why"]) != "key" {
			t.Fatalf("status error: %v", err)
		}
	}
	if p := <-peers; p != (Addr{}) {
		t.Errorf("Peer %v through the rings, want the zero Addr", p)
	}
	if n := ln.ring.reaped.Load(); n < 50 {
		t.Errorf("%d calls came through the CQ", n)
	}
	if n := ln.ring.malformed.Load(); n != 0 {
		t.Errorf("%d malformed completions", n)
	}
}

// Many goroutines on small rings: the server's SQ fills with replies and
// buffer returns, its CQ with calls; every reply checked.
func TestModuleRingServerConcurrent(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sq, cq, buf int
		ring        bool
	}{{"small", 4, 4, 128, false}, {"small-ring-client", 4, 8, 256, true}, {"default", 0, 0, 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			ln, addr := ringListenT(t, tc.sq, tc.cq, tc.buf)
			serveOn(t, NewServer(WithFallback(echo)), ln)
			var c *Client
			if tc.ring {
				c = ringDial(t, addr, 0, 0, 0)
			} else {
				c = dial(t, addr)
			}
			const goroutines = 64
			calls := 100
			if debugKernel {
				calls = 10
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, goroutines)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < calls; i++ {
						want := bytes.Repeat([]byte(fmt.Sprintf("g%d-i%d;", g, i)), (g*calls+i)%61)
						r, err := c.Call(ctx, uint32(g), want)
						if err == nil && !bytes.Equal(r.Data, want) {
							err = fmt.Errorf("goroutine %d call %d: reply of %d bytes, want %d", g, i, len(r.Data), len(want))
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			r := ln.ring
			if n := r.reaped.Load(); n != uint64(goroutines*calls) {
				t.Errorf("%d calls through the CQ, want %d", n, goroutines*calls)
			}
			t.Logf("%d calls: %d doorbells (%d refused), %d replies refused, %d malformed",
				goroutines*calls, r.bells.Load(), r.stalls.Load(), r.refused.Load(), r.malformed.Load())
		})
	}
}

// Recv and Reply on a ring listener, a stream, and a cancellation that
// reaches the handler through the CQ.
func TestModuleRingServerRecvStreamCancel(t *testing.T) {
	ln, addr := ringListenT(t, 0, 0, 0)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		req, err := ln.Recv(ctx)
		if err == nil {
			req.Reply(OK, append([]byte("got:"), req.Data...), WithStatusMessage("fine"))
		}
	}()
	if r, err := c.Call(ctx, 1, []byte("a")); err != nil || string(r.Data) != "got:a" {
		t.Fatalf("Recv/Reply: %v %+v", err, r)
	}

	s := NewServer()
	s.HandleStream("upper", upperStream)
	h, started, ended := blocking()
	s.Handle("block", h)
	serveOn(t, s, ln)
	st, err := c.NewStream(ctx, "upper")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "", strings.Repeat("x", 10000)} {
		if err := st.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.Recv(); err != nil || string(got) != strings.ToUpper(m) {
			t.Fatalf("stream reply to %d bytes: %d bytes, %v", len(m), len(got), err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); err != io.EOF || string(st.Trailer()["count"]) != "3" {
		t.Fatalf("stream end: %v, trailer %q", err, st.Trailer()["count"])
	}

	cctx, ccancel := context.WithCancel(ctx)
	go func() { <-started; ccancel() }()
	var out []byte
	if err := c.Invoke(cctx, "block", []byte("x"), &out); !errors.Is(err, ErrCancelled) {
		t.Fatalf("cancelled call: %v", err)
	}
	waitCancelled(t, ended)
}

// Completions with random fields never panic the reaper; well-formed
// INCOMING ones are delivered with the right bytes, every lent run looks
// returned once, bad ones are counted.
func TestRingServerHostileCompletions(t *testing.T) {
	info := goodInfo()
	g, _ := checkRingInfo(&info, sizeofRingInfo)
	var got []*Request
	l := &Listener{active: make(map[uint64]*Request), room: make(chan struct{}, 1),
		ready: make(chan struct{}, 1), closing: make(chan struct{})}
	l.hook = &serveHook{base: context.Background(), dispatch: func(r *Request) { got = append(got, r) }}
	r := &serverRing{l: l, ringSQ: ringSQ{m: &ringMap{g: g, area: make([]byte, g.areaLen)}, g: g, dead: true}}
	r.closed = make(chan struct{})
	close(r.closed)
	l.ring = r
	rnd := rand.New(rand.NewSource(2))
	pick := func(vals ...uint32) uint32 {
		if rnd.Intn(3) == 0 {
			return rnd.Uint32()
		}
		return vals[rnd.Intn(len(vals))]
	}
	for i := range r.m.area {
		r.m.area[i] = byte(i)
	}
	good := 0
	for i := 0; i < 50000; i++ {
		c := rawCQE{Id: uint64(i + 1), Buf: pick(0, g.bufSize, 3*g.bufSize, ringNoBuf), Len: pick(0, 10, 300),
			Method: rnd.Uint32(), Meta_len: uint16(pick(0, 4, 9)), Smsg_len: uint16(pick(0, 0, 0, 3)),
			Type:  uint8(pick(cqeIncoming, cqeIncoming, cqeError, 0, 9)),
			Flags: uint16(pick(0, cqeFEOR, cqeFEOR, cqeFCancelled, cqeFCont|cqeFEOR, cqeFRecvmsg))}
		wellFormed := c.Type == cqeIncoming && c.Flags == cqeFEOR && c.Meta_len == 0 && c.Smsg_len == 0 &&
			((c.Buf == ringNoBuf && c.Len == 0) ||
				(c.Buf != ringNoBuf && c.Buf%g.bufSize == 0 && uint64(c.Buf)+uint64(c.Len) <= g.rxLen))
		before := len(got)
		r.complete(-1, &c)
		if wellFormed {
			good++
			if len(got) != before+1 {
				t.Fatalf("well-formed completion %+v not delivered", c)
			}
			req := got[len(got)-1]
			var want []byte
			if c.Len > 0 {
				want = r.m.area[c.Buf : c.Buf+c.Len]
			}
			if req.handle != c.Id || req.Method != c.Method || !bytes.Equal(req.Data, want) {
				t.Fatalf("completion %+v delivered as %d/%d/%d bytes", c, req.handle, req.Method, len(req.Data))
			}
		}
		r.pending = r.pending[:0]
	}
	if good < 50 || r.malformed.Load() == 0 || r.refused.Load() == 0 {
		t.Fatalf("%d well-formed, %d malformed, %d errors: the generator misses a kind", good, r.malformed.Load(), r.refused.Load())
	}
}

// A ring wait (lookForEOF's send) that fails for another reason than
// the end of file (ESHUTDOWN) or nothing yet (EAGAIN) fails the
// Listener: Recv returns the error, where it would wait for ever for an
// end of file that a broken socket never brings.  No module needed: the
// rings are empty fakes, the socket one end of a socketpair, the ring
// wait a stub.
func TestRingServerWaitFails(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[1]) })
	s, err := wrap(fds[0], "fastrpc-ring-wait-test")
	if err != nil {
		t.Fatal(err)
	}
	l := &Listener{s: s, ready: make(chan struct{}, 1), room: make(chan struct{}, 1),
		active: make(map[uint64]*Request), done: make(chan struct{}),
		closing: make(chan struct{}), eof: make(chan struct{}), eofFeature: true}
	t.Cleanup(func() { l.Close() })
	info := goodInfo()
	g, _ := checkRingInfo(&info, sizeofRingInfo)
	var cqProd, cqCons uint32
	r := &serverRing{l: l, ringSQ: ringSQ{m: &ringMap{g: g, cqProd: &cqProd, cqCons: &cqCons}, g: g, s: s,
		closed: make(chan struct{})}}
	r.reapFn = r.reapPass
	r.waitFn = func(fd uintptr) (uintptr, syscall.Errno) { return 0, syscall.EINVAL }
	r.later = time.AfterFunc(time.Hour, func() {})
	r.later.Stop()
	l.ring = r
	if err := l.Shutdown(); err != nil {
		t.Fatal(err)
	}
	go r.reap()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = l.Recv(ctx)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "serve" || op.Net != "fastrpc" || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Recv after a failed ring wait: %v, want a *net.OpError wrapping EINVAL", err)
	}
}

// Tiny rings (4 SQ, 4 CQ entries) under a Recv server whose goroutines
// reply while the reader waits for Recv (the read-ahead limit): replies
// fill the SQ, empty requests need no buffer and fill the CQ quickly.
// Every call must complete; a lost wakeup hangs here until the context
// ends.
func TestModuleRingServerTinyRecv(t *testing.T) {
	ln, addr := ringListenT(t, 4, 4, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		go func() {
			for {
				req, err := ln.Recv(ctx)
				if err != nil {
					return
				}
				req.Reply(OK, req.Data)
			}
		}()
	}
	c := dial(t, addr)
	const goroutines = 64
	calls := 50
	if debugKernel {
		calls = 5
	}
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < calls; i++ {
				var req []byte
				if i%2 == 1 {
					req = []byte{byte(g), byte(i)}
				}
				r, err := c.Call(ctx, 1, req)
				if err == nil && !bytes.Equal(r.Data, req) {
					err = fmt.Errorf("goroutine %d call %d: reply %q, want %q", g, i, r.Data, req)
				}
				if err != nil {
					errs <- fmt.Errorf("goroutine %d call %d: %w (%s)", g, i, err, ln.ring.state())
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A message too big for the receive buffers is read with recvmsg when
// its completion is taken; if its call was cancelled first, the kernel
// dropped it, and recvmsg returns the next such message, of another
// call.  That message must reach its own call, not fail it.
func TestModuleRingServerBigMessageOfCancelledCall(t *testing.T) {
	// 8 receive buffers of 256 bytes: 64 KiB requests go by recvmsg
	ln, addr := ringListenT(t, 8, 8, 256)
	c := dial(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Fill the read-ahead queue: the reader then waits in the middle of
	// a pass, and the completions that follow stay in the CQ.
	for i := 0; i < recvAheadCalls; i++ {
		go c.Call(ctx, 1, []byte("small"))
	}
	waitQueued(t, ln, recvAheadCalls)
	// waitPosted waits until the CQ holds an INCOMING completion of
	// method m, not yet taken (the reader waits)
	waitPosted := func(what string, m uint32) {
		t.Helper()
		waitFor(t, what, func() bool {
			r := ln.ring
			head, n := atomicLoad(r.m.cqCons), atomicLoad(r.m.cqProd)-atomicLoad(r.m.cqCons)
			for i := uint32(0); i < min(n, r.g.cqEntries); i++ {
				c := r.m.cqes[(head+i)&(r.g.cqEntries-1)]
				if c.Type == cqeIncoming && c.Method == m && c.Flags&cqeFCancelled == 0 {
					return true
				}
			}
			return false
		})
	}
	actx, acancel := context.WithCancel(ctx)
	aerr := make(chan error, 1)
	go func() {
		_, err := c.Call(actx, 2, bytes.Repeat([]byte{'a'}, 64<<10))
		aerr <- err
	}()
	waitPosted("call A's completion", 2)
	// The kernel drops A's message with the call; the completion is out
	// already (and no notice comes: A's handle was never taken).
	acancel()
	if err := <-aerr; !errors.Is(err, ErrCancelled) {
		t.Fatalf("call A: %v, want CANCELLED", err)
	}
	bdata := bytes.Repeat([]byte{'b'}, 64<<10)
	berr := make(chan error, 1)
	go func() {
		r, err := c.Call(ctx, 3, bdata)
		if err == nil && !bytes.Equal(r.Data, bdata) {
			err = fmt.Errorf("reply of %d bytes", len(r.Data))
		}
		berr <- err
	}()
	waitPosted("call B's completion", 3)
	// Now let the reader go on, answering everything it hands over.
	go func() {
		for {
			req, err := ln.Recv(ctx)
			if err != nil {
				return
			}
			req.Reply(OK, req.Data)
		}
	}()
	if err := <-berr; err != nil {
		t.Fatalf("call B, after A's message was dropped: %v", err)
	}
	if n := ln.ring.malformed.Load(); n != 0 {
		t.Errorf("%d completions taken for malformed", n)
	}
}
