// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Streaming calls against the loaded module.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upperStream answers each message with its upper case, then ends OK
// with a trailer once the client has closed its side.
func upperStream(ctx context.Context, st *ServerStream) error {
	for n := 0; ; n++ {
		m, err := st.Recv()
		if err == io.EOF {
			return SetTrailer(ctx, Metadata{"count": []byte(fmt.Sprint(n))})
		}
		if err != nil {
			return err
		}
		if err := st.Send(bytes.ToUpper(m)); err != nil {
			return err
		}
	}
}

func TestModuleStreamBidi(t *testing.T) {
	s := NewServer()
	s.HandleStream("upper", upperStream)
	c := dial(t, startServer(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "upper")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "", "hello"} { // an empty message in the middle is a message
		if err := st.Send([]byte(m)); err != nil {
			t.Fatal(err)
		}
		got, err := st.Recv()
		if err != nil || string(got) != strings.ToUpper(m) {
			t.Fatalf("reply to %q: %q %v", m, got, err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if m, err := st.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %q %v, want io.EOF", m, err)
	}
	if got := string(st.Trailer()["count"]); got != "3" {
		t.Fatalf("trailer count %q", got)
	}
	if err := st.Send([]byte("late")); err != io.EOF {
		t.Fatalf("Send after the end: %v, want io.EOF", err)
	}
}

// A server stream: one request, many replies, then a status.
func TestModuleStreamServerSendsThenFails(t *testing.T) {
	s := NewServer()
	s.HandleStream("count", func(ctx context.Context, st *ServerStream) error {
		var n int
		if err := st.RecvMsg(&n); err != nil {
			return err
		}
		if _, err := st.Recv(); err != io.EOF {
			return Errorf(InvalidArgument, "want one request, then EOF: %v", err)
		}
		for i := 0; i < n; i++ {
			if err := st.SendMsg(i); err != nil {
				return err
			}
		}
		return Errorf(Aborted, "sent %d", n)
	})
	c := dial(t, startServer(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "count")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SendMsg(5); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	for i := 0; i < 5; i++ {
		var v int
		if err := st.RecvMsg(&v); err != nil || v != i {
			t.Fatalf("message %d: %d %v", i, v, err)
		}
	}
	_, err = st.Recv()
	var se *StatusError
	if !errors.As(err, &se) || se.Code != Aborted || se.Message != "sent 5" {
		t.Fatalf("end: %v", err)
	}
}

// Cancelling a stream's context cancels the handler's and ends Recv.
func TestModuleStreamCancelAndDeadline(t *testing.T) {
	ended := make(chan error, 2)
	s := NewServer()
	s.HandleStream("wait", func(ctx context.Context, st *ServerStream) error {
		_, err := st.Recv() // the client sends nothing
		ended <- err
		return err
	})
	c := dial(t, startServer(t, s))

	ctx, cancel := context.WithCancel(context.Background())
	st, err := c.NewStream(ctx, "wait")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := st.Recv(); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Recv of a cancelled stream: %v", err)
	}
	if err := <-ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler saw %v", err)
	}

	dctx, dcancel := context.WithTimeout(context.Background(), time.Second)
	defer dcancel()
	st, err = c.NewStream(dctx, "wait")
	if errors.Is(err, ErrDeadlineExceeded) {
		t.Skip("a slow guest spent the deadline opening the stream")
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Recv(); !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("Recv past the deadline: %v", err)
	}
	select {
	case err := <-ended:
		// DeadlineExceeded, or Canceled when the kernel's own notice
		// of the deadline came first
		if err == nil {
			t.Fatal("handler's Recv returned no error past the deadline")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the handler never saw the deadline")
	}
}

// A handler that does not read holds its client back: Send waits for
// the kernel's credit instead of queueing without bound, and the stream's
// context still ends the wait.
func TestModuleStreamFlowControl(t *testing.T) {
	s := NewServer()
	s.HandleStream("sink", func(ctx context.Context, st *ServerStream) error {
		<-ctx.Done()
		return ctx.Err()
	})
	c := dial(t, startServer(t, s))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "sink")
	if err != nil {
		t.Fatal(err)
	}
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		msg := make([]byte, 1<<20)
		for {
			if err := st.Send(msg); err != nil {
				done <- err
				return
			}
			sent.Add(int64(len(msg)))
		}
	}()
	// wait until sending stalls: no progress for a second
	for last := int64(-1); ; {
		time.Sleep(time.Second)
		n := sent.Load()
		if n == last {
			break
		}
		if n > 256<<20 {
			t.Fatalf("%d MiB sent to a handler that reads nothing", n>>20)
		}
		last = n
	}
	t.Logf("sending stalled after %d MiB", sent.Load()>>20)
	cancel()
	if err := <-done; !errors.Is(err, ErrCancelled) {
		t.Fatalf("blocked Send after cancel: %v", err)
	}
}

// Stream interceptors run on both sides.
func TestModuleStreamInterceptors(t *testing.T) {
	var seen atomic.Value
	s := NewServer(WithStreamInterceptors(func(ctx context.Context, st *ServerStream, info *MethodInfo, h StreamHandler) error {
		seen.Store(info.FullName() + " " + string(st.Request().Metadata["who"]))
		return h(ctx, st)
	}))
	s.HandleStream("upper", upperStream)
	c := dial(t, startServer(t, s), WithStreamClientInterceptors(
		func(ctx context.Context, method string, c *Client, next Streamer, opts ...Option) (*ClientStream, error) {
			return next(c, NewOutgoingContext(ctx, Metadata{"who": []byte("ic")}), method, opts...)
		}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "upper")
	if err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Fatal(err)
	}
	if got := seen.Load(); got != "upper ic" {
		t.Fatalf("server interceptor saw %v", got)
	}
}

// A stream's Send and Recv allocate once together in the client (the
// received message); the server runs in another process.
func TestModuleStreamAllocs(t *testing.T) {
	requireModule(t)
	if raceEnabled {
		t.Skip("allocation counts under the race detector say nothing")
	}
	c := dial(t, startHelper(t))
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "echo.stream")
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, 64)
	round := func() {
		if err := st.Send(msg); err != nil {
			t.Fatal(err)
		}
		if m, err := st.Recv(); err != nil || len(m) != len(msg) {
			t.Fatalf("recv: %v", err)
		}
	}
	for i := 0; i < 50; i++ {
		round()
	}
	n := testing.AllocsPerRun(allocRuns(300), round)
	t.Logf("client allocations per stream Send+Recv: %.2f", n)
	if n > 1 {
		t.Errorf("%.2f allocations per Send+Recv, want at most 1", n)
	}
	st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		t.Fatal(err)
	}
}
