// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Host tests of the ready-made interceptors, with stand-in invokers and
// handlers; TestModuleRetry runs Retry against a server.

func TestRetryPolicy(t *testing.T) {
	p := RetryPolicy{Idempotent: func(m string) bool { return m == "get" }, MaxAttempts: 4,
		Backoff: time.Microsecond, MaxBackoff: 4 * time.Microsecond}
	for attempt := 1; attempt < 100; attempt++ {
		limit := min(time.Microsecond<<min(attempt-1, 30), 4*time.Microsecond)
		if b := p.backoff(attempt); b < 0 || b > limit {
			t.Fatalf("backoff %d = %v, over %v", attempt, b, limit)
		}
	}
	ic := Retry(p)
	for _, tc := range []struct {
		method string
		err    error
		tries  int
	}{
		{"get", ErrUnavailable, 4},       // idempotent, UNAVAILABLE: up to MaxAttempts
		{"put", ErrUnavailable, 1},       // not idempotent
		{"get", ErrResourceExhausted, 1}, // another code
		{"get", nil, 1},
	} {
		var tries int
		err := ic(context.Background(), tc.method, nil, nil, nil,
			func(c *Client, ctx context.Context, method string, in, out any, opts ...Option) error {
				tries++
				return tc.err
			})
		if tries != tc.tries || !errors.Is(err, tc.err) && err != tc.err {
			t.Errorf("%s %v: %d tries, %v; want %d", tc.method, tc.err, tries, err, tc.tries)
		}
	}
	// a context that ends stops the retries
	ctx, cancel := context.WithCancel(context.Background())
	var tries int
	slow := Retry(RetryPolicy{Idempotent: func(string) bool { return true }, MaxAttempts: 100,
		Backoff: time.Hour})
	slow(ctx, "get", nil, nil, nil, func(c *Client, ctx context.Context, method string, in, out any, opts ...Option) error {
		tries++
		cancel()
		return ErrUnavailable
	})
	if tries != 1 {
		t.Errorf("%d tries after the context ended", tries)
	}
}

func TestLogServerAndHistogram(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	var h Histogram
	s := NewServer(WithUnaryInterceptors(LogServer(l), ObserveServer(&h)))
	info := &MethodInfo{Name: "kv.Get", Method: MethodOf("kv.Get")}
	handler := chainUnary(s.opts.unary, func(ctx context.Context, req *Request) ([]byte, error) {
		if string(req.Data) == "fail" {
			return nil, Errorf(NotFound, "gone")
		}
		time.Sleep(2 * time.Millisecond)
		return req.Data, nil
	}, info)
	for _, d := range []string{"ok", "ok", "fail"} {
		handler(context.Background(), &Request{Data: []byte(d)})
	}
	out := buf.String()
	if strings.Count(out, "msg=\"fastrpc handled\" method=kv.Get code=OK") != 2 ||
		!strings.Contains(out, "level=WARN msg=\"fastrpc handled\" method=kv.Get code=NOT_FOUND") ||
		!strings.Contains(out, "error=\"fastrpc: NOT_FOUND: gone\"") {
		t.Errorf("log:\n%s", out)
	}
	if calls, failed := h.Count(); calls != 3 || failed != 1 {
		t.Errorf("histogram counted %d calls, %d failed", calls, failed)
	}
	if p := h.Quantile(1); p < 2*time.Millisecond {
		t.Errorf("max bucket %v, below the 2ms the handler slept", p)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 {
		t.Error("empty histogram has a median")
	}
	for i := 0; i < 99; i++ {
		h.Observe("m", OK, 3*time.Microsecond) // bucket [2, 4) µs
	}
	h.Observe("m", OK, time.Second)
	if got := h.Quantile(0.5); got != 4*time.Microsecond {
		t.Errorf("median bucket %v", got)
	}
	if got := h.Quantile(0.999); got < time.Second || got > 2*time.Second {
		t.Errorf("p99.9 bucket %v", got)
	}
}

// Retry against a server that is unavailable twice.
func TestModuleRetry(t *testing.T) {
	var tries atomic.Int32
	s := NewServer(WithServerCodec(Raw))
	s.Handle("flaky", func(ctx context.Context, req *Request) ([]byte, error) {
		if tries.Add(1) <= 2 {
			return nil, Errorf(Unavailable, "not yet")
		}
		return []byte("ok"), nil
	})
	c := dial(t, startServer(t, s), WithCodec(Raw), WithUnaryClientInterceptors(
		Retry(RetryPolicy{Idempotent: func(m string) bool { return m == "flaky" }, Backoff: time.Millisecond})))
	var out []byte
	if err := c.Invoke(context.Background(), "flaky", nil, &out); err != nil || string(out) != "ok" {
		t.Fatalf("%q %v", out, err)
	}
	if n := tries.Load(); n != 3 {
		t.Fatalf("%d tries", n)
	}
}
