// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Tests of the ring client (WithRing).  The checks of what the kernel
// writes run on the host too; the rest needs the module.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestRingSetupChecks(t *testing.T) {
	for _, tc := range []struct {
		sq, cq, buf int
		ok          bool
	}{
		{0, 0, 0, true},
		{1, 1, 64, true},
		{32768, 32768, 4096, true},
		{3, 0, 0, false},
		{0, 65536, 0, false},
		{0, 0, 32, false},
		{0, 0, 3000, false},
		{0, 0, 8 << 20, false},
		{32768, 32768, 4 << 20, false}, // area over 1 GiB
		{-1, 0, 0, false},
	} {
		_, err := ringOptions{on: true, sq: tc.sq, cq: tc.cq, bufBytes: tc.buf}.setup()
		if (err == nil) != tc.ok {
			t.Errorf("WithRing(%d, %d, %d): %v, want ok=%v", tc.sq, tc.cq, tc.buf, err, tc.ok)
		}
	}
}

// goodInfo is what the kernel describes for 4 SQ and 8 CQ entries and
// 12 buffers of 256 bytes, 8 of them for receiving.
func goodInfo() rawRingInfo {
	info := rawRingInfo{Size: sizeofRingInfo,
		Setup:   rawRingSetup{Sq_entries: 4, Cq_entries: 8, Buf_size: 256, Buf_count: 12, Rx_bufs: 8},
		Sq:      rawRingOffsets{Producer: 0, Consumer: 128, Flags: 256, Desc: 384},
		Cq:      rawRingOffsets{Producer: 0, Consumer: 128, Flags: 256, Desc: 384},
		Sq_size: 4096, Cq_size: 4096, Buf_size: 4096}
	return info
}

func TestRingInfoChecks(t *testing.T) {
	info := goodInfo()
	g, err := checkRingInfo(&info, sizeofRingInfo)
	if err != nil || g.rxLen != 8*256 || g.areaLen != 12*256 {
		t.Fatalf("good info: %+v, %v", g, err)
	}
	for name, bad := range map[string]func(*rawRingInfo) uint32{
		"short":           func(i *rawRingInfo) uint32 { return 100 },
		"sq not pow2":     func(i *rawRingInfo) uint32 { i.Setup.Sq_entries = 5; return sizeofRingInfo },
		"rx over count":   func(i *rawRingInfo) uint32 { i.Setup.Rx_bufs = 13; return sizeofRingInfo },
		"area over map":   func(i *rawRingInfo) uint32 { i.Buf_size = 2048; return sizeofRingInfo },
		"producer out":    func(i *rawRingInfo) uint32 { i.Sq.Producer = 4094; return sizeofRingInfo },
		"misaligned":      func(i *rawRingInfo) uint32 { i.Cq.Consumer = 130; return sizeofRingInfo },
		"entries overrun": func(i *rawRingInfo) uint32 { i.Cq.Desc = 4096 - 8; return sizeofRingInfo },
		"desc misaligned": func(i *rawRingInfo) uint32 { i.Sq.Desc = 388; return sizeofRingInfo },
		"huge region":     func(i *rawRingInfo) uint32 { i.Cq_size = 1 << 40; return sizeofRingInfo },
		"tiny region":     func(i *rawRingInfo) uint32 { i.Sq_size = 2; return sizeofRingInfo },
	} {
		info := goodInfo()
		n := bad(&info)
		if _, err := checkRingInfo(&info, n); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestRingResultChecks(t *testing.T) {
	info := goodInfo()
	g, _ := checkRingInfo(&info, sizeofRingInfo)
	area := make([]byte, g.areaLen)
	copy(area[512:], "MMMMSSpayload")
	m, err := checkResult(&g, area, &rawCQE{Buf: 512, Meta_len: 4, Smsg_len: 2, Len: 7, Type: cqeResult})
	if err != nil || string(m.meta) != "MMMM" || string(m.smsg) != "SS" || string(m.data) != "payload" || m.ret != 512 {
		t.Fatalf("good result: %q %q %q %d %v", m.meta, m.smsg, m.data, m.ret, err)
	}
	// a run of several receive buffers, up to the receive part's end
	if m, err := checkResult(&g, area, &rawCQE{Buf: 256, Len: 7 * 256}); err != nil || len(m.data) != 7*256 {
		t.Fatalf("run to the end: %d, %v", len(m.data), err)
	}
	for _, tc := range []struct {
		name string
		c    rawCQE
		ret  uint32
	}{
		{"misaligned", rawCQE{Buf: 100, Len: 1}, ringNoBuf},
		{"transmit buffer", rawCQE{Buf: 8 * 256, Len: 1}, ringNoBuf},
		{"past the receive part", rawCQE{Buf: 7 * 256, Len: 257}, 7 * 256},
		{"length wraps", rawCQE{Buf: 0, Len: 0xffffffff}, 0},
		{"metadata too long", rawCQE{Buf: 0, Meta_len: 0xffff}, 0},
		{"bytes without a run", rawCQE{Buf: ringNoBuf, Len: 1}, ringNoBuf},
		{"recvmsg with a run", rawCQE{Buf: 0, Len: 1, Flags: cqeFRecvmsg}, 0},
	} {
		m, err := checkResult(&g, area, &tc.c)
		if !errors.Is(err, errRingCQE) || m.ret != tc.ret || m.data != nil {
			t.Errorf("%s: %v, run %#x, data %d bytes", tc.name, err, m.ret, len(m.data))
		}
	}
	if cqeErrno(-int32(syscall.ECONNREFUSED)) != syscall.ECONNREFUSED || cqeErrno(5) != syscall.EPROTO ||
		cqeErrno(-100000) != syscall.EPROTO {
		t.Error("cqeErrno")
	}
}

// Completions with random fields never panic, and a call whose
// completion is bad ends with an error, not a garbage reply.
func TestRingHostileCompletions(t *testing.T) {
	info := goodInfo()
	g, _ := checkRingInfo(&info, sizeofRingInfo)
	c := &Client{calls: make(map[uint64]*call)}
	r := &clientRing{c: c, ringSQ: ringSQ{m: &ringMap{g: g, area: make([]byte, g.areaLen)}, g: g}, maxCalls: 10}
	rnd := rand.New(rand.NewSource(1))
	pick := func(vals ...uint32) uint32 {
		if rnd.Intn(3) == 0 {
			return rnd.Uint32()
		}
		return vals[rnd.Intn(len(vals))]
	}
	for i := 0; i < 20000; i++ {
		tag := uint64(i%4 + 1)
		if c.calls[tag] == nil {
			c.calls[tag] = &call{tag: tag, done: make(chan struct{}, 1)}
		}
		cqe := rawCQE{Id: uint64(rnd.Intn(6)), Buf: pick(0, 256, 1000, 2048, ringNoBuf),
			Len: pick(0, 10, 300, 4096), Res: int32(pick(0, 5, 16, 17, 0xfffffff0)),
			Meta_len: uint16(pick(0, 8, 3)), Smsg_len: uint16(pick(0, 4)),
			Type: uint8(pick(cqeResult, cqeError, cqeIncoming, 9)), Op: uint8(pick(opCall, opCancel, opBufReturn)),
			Flags: uint16(pick(cqeFEOR, 0, cqeFEOR|cqeFRecvmsg))}
		r.complete(-1, &cqe)
		for _, cl := range r.dispatched {
			if cl.err == nil && (cl.status >= statusMax || len(cl.data) > int(g.rxLen)) {
				t.Fatalf("completion %+v gave status %d, %d bytes", cqe, cl.status, len(cl.data))
			}
			*cl = call{}
		}
		r.dispatched = r.dispatched[:0]
		for _, off := range r.pending {
			if off%g.bufSize != 0 || uint64(off) >= g.rxLen {
				t.Fatalf("completion %+v: gives back %#x, not a receive buffer", cqe, off)
			}
		}
		r.pending = r.pending[:0]
	}
	// the specific case: a RESULT whose run lies past the receive part
	cl := &call{tag: 9, done: make(chan struct{}, 1)}
	c.calls[9] = cl
	r.complete(-1, &rawCQE{Id: 9, Type: cqeResult, Flags: cqeFEOR, Buf: 7 * 256, Len: 1000})
	if !errors.Is(cl.err, errRingCQE) || cl.data != nil {
		t.Fatalf("call with a bad completion: err %v, data %q", cl.err, cl.data)
	}
}

// ringDial is dial with the rings on.
func ringDial(t *testing.T, addr string, sq, cq, buf int, opts ...DialOption) *Client {
	t.Helper()
	c := dial(t, addr, append([]DialOption{WithRing(sq, cq, buf)}, opts...)...)
	if c.ring == nil {
		t.Fatal("WithRing gave a client without rings")
	}
	return c
}

// echoCall makes a call of method 7 with n patterned bytes and checks
// that the reply is "echo:" and those bytes; returns the request.
func echoCall(t *testing.T, ctx context.Context, c *Client, n int) []byte {
	t.Helper()
	req := make([]byte, n)
	for i := range req {
		req[i] = byte(i*7 + n)
	}
	r, err := c.Call(ctx, 7, req)
	if err != nil {
		t.Fatalf("%d bytes: %v", n, err)
	}
	if !bytes.Equal(r.Data, append([]byte("echo:"), req...)) {
		t.Fatalf("%d bytes: reply of %d bytes differs", n, len(r.Data))
	}
	return req
}

// Unary calls through the rings: payloads from empty to larger than a
// transmit buffer (sendmsg) and than all receive buffers (recvmsg),
// metadata both ways, status errors with message and trailers.
func TestModuleRingRoundTrip(t *testing.T) {
	_, addr := serve(t, func(ctx context.Context, req *Request) ([]byte, error) {
		if req.Method == MethodOf("typed") {
			return req.Data, nil
		}
		if md, _ := FromIncomingContext(ctx); md != nil && len(md["fail"]) > 0 {
			SetTrailer(ctx, Metadata{"why": md["fail"]})
			return nil, Errorf(NotFound, "no %s", md["fail"])
		}
		if md, _ := FromIncomingContext(ctx); md != nil && len(md["tr"]) > 0 {
			SetTrailer(ctx, Metadata{"tr": md["tr"]})
		}
		return append([]byte("echo:"), req.Data...), nil
	})
	// 8 receive buffers of 1 KiB: 8 KiB to receive in place
	c := ringDial(t, addr, 4, 8, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, n := range []int{0, 1, 100, 1000, 1019, 1020, 1024, 1025, 5000, 8 << 10, 64 << 10, 1 << 20, MaxMessage - 5} {
		echoCall(t, ctx, c, n)
	}
	if _, err := c.Call(ctx, 7, make([]byte, MaxMessage+1)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("request over MaxMessage: %v, want EMSGSIZE", err)
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
	// Invoke runs over the same rings
	var out string
	if err := c.Invoke(ctx, "typed", "hello", &out); err != nil || out != "hello" {
		t.Fatalf("Invoke: %q, %v", out, err)
	}
}

// Many goroutines at once, on small rings (so that the SQ fills, the CQ
// fills and callers wait) and on the default ones; every reply checked.
func TestModuleRingConcurrent(t *testing.T) {
	_, addr := serve(t, echo)
	for _, tc := range []struct {
		name        string
		sq, cq, buf int
	}{{"small", 4, 4, 256}, {"tiny-cq", 8, 2, 128}, {"default", 0, 0, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			c := ringDial(t, addr, tc.sq, tc.cq, tc.buf)
			// Each goroutine makes calls calls, or at least minCalls
			// once the budget is spent: the debug kernels (KASAN,
			// lockdep; KCSAN) run them several times slower, and the
			// budget keeps make check's time bounded there.
			const goroutines, calls = 64, 200
			minCalls, budget := 20, time.Now().Add(3*time.Second)
			if debugKernel {
				minCalls, budget = 5, time.Now().Add(time.Second)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// not an assertion: what a hang looks like, before the
			// calls end with their context
			watchdog := time.AfterFunc(50*time.Second, func() {
				t.Log(c.ring.state())
				buf := make([]byte, 1<<20)
				t.Logf("%s", buf[:runtime.Stack(buf, true)])
			})
			var wg sync.WaitGroup
			var made atomic.Int64
			errs := make(chan error, goroutines)
			for g := 0; g < goroutines; g++ {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					for i := 0; i < calls && (i < minCalls || time.Now().Before(budget)); i++ {
						// sizes around a buffer: in place, runs, sendmsg
						want := bytes.Repeat([]byte(fmt.Sprintf("g%d-i%d;", g, i)), (g*calls+i)%97)
						r, err := c.Call(ctx, uint32(g), want)
						if err == nil && !bytes.Equal(r.Data, want) {
							err = fmt.Errorf("goroutine %d call %d: reply of %d bytes, want %d", g, i, len(r.Data), len(want))
						}
						if err != nil {
							errs <- err
							return
						}
						made.Add(1)
					}
				}(g)
			}
			wg.Wait()
			close(errs)
			watchdog.Stop()
			for err := range errs {
				t.Error(err)
			}
			if n := c.ring.open.Load(); n != 0 {
				t.Errorf("%d calls still counted open", n)
			}
			t.Logf("%d calls, %d doorbell system calls (%d refused), reaper woken after poll %d",
				made.Load(), c.ring.bells.Load(), c.ring.stalls.Load(), c.ring.pokes.Load())
		})
	}
}

func TestModuleRingDeadline(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	deadlineCall(t, ringDial(t, addr, 0, 0, 0), started, ended)
}

func TestModuleRingCancel(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	c := ringDial(t, addr, 0, 0, 0)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	_, err := c.Call(ctx, 1, nil)
	if !errors.Is(err, ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want CANCELLED", err)
	}
	waitCancelled(t, ended)
	if n := c.ring.open.Load(); n > 1 {
		t.Errorf("%d calls counted open", n)
	}
}

// WithMaxCalls(1): the second call waits for the slot (in the client,
// before the SQ) and ends with its context; the slot comes back.
func TestModuleRingMaxCalls(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	_, addr := serve(t, func(ctx context.Context, req *Request) ([]byte, error) {
		if string(req.Data) == "hold" {
			started <- struct{}{}
			<-release
		}
		return req.Data, nil
	})
	unblock := releaseAtEnd(t, release) // cleanup: runs before serve's Server.Close
	c := ringDial(t, addr, 0, 0, 0, WithMaxCalls(1))
	held := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), 1, []byte("hold"))
		held <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Call(ctx, 1, []byte("waits")); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("got %v, want DEADLINE_EXCEEDED", err)
	}
	late := make(chan error, 1)
	go func() {
		r, err := c.Call(context.Background(), 1, []byte("after"))
		if err == nil && string(r.Data) != "after" {
			err = fmt.Errorf("reply %q", r.Data)
		}
		late <- err
	}()
	unblock()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-late:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the call waiting for the slot never went")
	}
}

// A server that goes away ends the calls in flight with UNAVAILABLE and
// later calls with an error, not a hang.
func TestModuleRingServerGone(t *testing.T) {
	requireModule(t)
	srv, err := testListen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h, started, _ := blocking()
	go NewServer(WithFallback(h)).Serve(context.Background(), srv)
	c := ringDial(t, srv.Addr().String(), 0, 0, 0)
	go func() { <-started; srv.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Call(ctx, 1, nil); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("call in flight: %v, want UNAVAILABLE", err)
	}
	for i := 0; i < 3; i++ {
		_, err := c.Call(ctx, 1, []byte("after"))
		if err == nil || ctx.Err() != nil {
			t.Fatalf("call to a closed server: %v (context %v)", err, ctx.Err())
		}
		t.Logf("call %d to a closed server: %v", i, err)
	}
}

// Close while calls are in flight: they end with net.ErrClosed, the
// server sees them cancelled, and the client refuses later calls.
func TestModuleRingClose(t *testing.T) {
	h, started, ended := blocking()
	_, addr := serve(t, h)
	c := ringDial(t, addr, 0, 0, 0)
	const n = 8
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			_, err := c.Call(context.Background(), 1, nil)
			errs <- err
		}()
	}
	for i := 0; i < n; i++ {
		<-started
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case err := <-errs:
			var op *net.OpError
			if !errors.Is(err, net.ErrClosed) || !errors.As(err, &op) {
				t.Fatalf("call in flight at Close: %v, want *net.OpError with net.ErrClosed", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a call in flight at Close never returned")
		}
	}
	for i := 0; i < n; i++ {
		waitCancelled(t, ended)
	}
	if _, err := c.Call(context.Background(), 1, nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

// Close races calls that are being submitted: nothing hangs or crashes.
func TestModuleRingCloseUnderLoad(t *testing.T) {
	_, addr := serve(t, echo)
	for round := 0; round < 5; round++ {
		c := ringDial(t, addr, 8, 8, 256)
		var wg sync.WaitGroup
		for g := 0; g < 16; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if _, err := c.Call(context.Background(), 1, []byte("load")); err != nil {
						if !errors.Is(err, net.ErrClosed) {
							t.Errorf("call: %v", err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(20 * time.Millisecond)
		c.Close()
		wg.Wait()
	}
}

// A unary Call through the rings allocates at most twice in the client
// (the Reply and its data), with and without a deadline.
func TestModuleRingAllocsPerCall(t *testing.T) {
	requireModule(t)
	if raceEnabled {
		t.Skip("allocation counts under the race detector say nothing")
	}
	c := ringDial(t, startHelper(t), 0, 0, 0)
	req := make([]byte, 64)
	ctx := context.Background()
	dctx, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	for i := 0; i < 100; i++ {
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
		t.Logf("client allocations per unary Call through the rings (%s): %.2f", tc.name, n)
		if n > 2 {
			t.Errorf("%s: %.2f allocations per Call, want at most 2", tc.name, n)
		}
	}
}

// benchCalls runs b.N 64-byte calls from GOMAXPROCS*par goroutines
// against an echo server in another process.
func benchCalls(b *testing.B, par int, opts ...DialOption) {
	requireModule(b)
	addr := startHelper(b)
	c, err := Dial(context.Background(), addr, opts...)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := make([]byte, 64)
	b.ReportAllocs()
	b.SetParallelism(par)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(context.Background(), 1, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if c.ring != nil {
		b.ReportMetric(float64(c.ring.bells.Load())/float64(b.N), "doorbells/op")
	}
}

func BenchmarkCallPlain(b *testing.B)  { benchCalls(b, 1) }
func BenchmarkCall64(b *testing.B)     { benchCalls(b, 64) }
func BenchmarkRingCall(b *testing.B)   { benchCalls(b, 1, WithRing(0, 0, 0)) }
func BenchmarkRingCall64(b *testing.B) { benchCalls(b, 64, WithRing(0, 0, 0)) }
