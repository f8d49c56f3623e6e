// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Ready-made interceptors: opt-in retries, log/slog records and latency
// histograms.  They are ordinary interceptors; users wire the records and
// numbers to whatever logging, metrics or tracing they run.

import (
	"context"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// RetryPolicy says which calls Retry makes again, and how often.
type RetryPolicy struct {
	// Idempotent reports whether a method may run twice; only these are
	// retried.
	Idempotent func(method string) bool
	// MaxAttempts bounds the tries of one call, the first included
	// (default 3).
	MaxAttempts int
	// Backoff is the longest wait before the first retry (default
	// 50ms); each retry doubles it up to MaxBackoff (default 1s).  The
	// wait is drawn at random below it (full jitter), so that clients
	// turned away together do not come back together.
	Backoff, MaxBackoff time.Duration
}

// Retry returns a client interceptor that makes a call again when it
// fails with UNAVAILABLE (the server went away or drained, or the
// connection died: the kernel opens a new one) and its method is
// idempotent, waiting a random backoff between tries and never past the
// call's context.  Other codes, and socket errors, are returned at once.
func Retry(p RetryPolicy) UnaryClientInterceptor {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.Backoff <= 0 {
		p.Backoff = 50 * time.Millisecond
	}
	if p.MaxBackoff < p.Backoff {
		p.MaxBackoff = max(time.Second, p.Backoff)
	}
	return func(ctx context.Context, method string, in, out any, c *Client, invoke UnaryInvoker, opts ...Option) error {
		err := invoke(c, ctx, method, in, out, opts...)
		if p.Idempotent == nil || !p.Idempotent(method) {
			return err
		}
		for attempt := 1; attempt < p.MaxAttempts && CodeOf(err) == Unavailable; attempt++ {
			t := time.NewTimer(p.backoff(attempt))
			select {
			case <-ctx.Done():
				t.Stop()
				return err
			case <-t.C:
			}
			err = invoke(c, ctx, method, in, out, opts...)
		}
		return err
	}
}

// backoff is the random wait before retry number attempt (1, 2, ...).
func (p *RetryPolicy) backoff(attempt int) time.Duration {
	limit := p.Backoff << min(attempt-1, 30)
	if limit > p.MaxBackoff || limit <= 0 {
		limit = p.MaxBackoff
	}
	return time.Duration(rand.Int64N(int64(limit) + 1))
}

// LogClient returns a client interceptor that logs each Invoke when it
// ends: method, code, duration and, for failures, the error, at Info (OK)
// or Warn level.
func LogClient(l *slog.Logger) UnaryClientInterceptor {
	return func(ctx context.Context, method string, in, out any, c *Client, invoke UnaryInvoker, opts ...Option) error {
		start := time.Now()
		err := invoke(c, ctx, method, in, out, opts...)
		logCall(ctx, l, "fastrpc call", method, err, time.Since(start),
			slog.String("server", c.RemoteAddr().String()))
		return err
	}
}

// LogServer returns a server interceptor that logs each call when its
// handler returns: method, code, duration, peer and, for failures, the
// error.
func LogServer(l *slog.Logger) UnaryServerInterceptor {
	return func(ctx context.Context, req *Request, info *MethodInfo, h Handler) ([]byte, error) {
		start := time.Now()
		reply, err := h(ctx, req)
		logCall(ctx, l, "fastrpc handled", info.FullName(), err, time.Since(start),
			slog.String("peer", req.Peer.String()))
		return reply, err
	}
}

func logCall(ctx context.Context, l *slog.Logger, msg, method string, err error, d time.Duration, peer slog.Attr) {
	code := CodeOf(err)
	level := slog.LevelInfo
	attrs := []slog.Attr{slog.String("method", method), slog.String("code", code.String()),
		slog.Duration("duration", d), peer}
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	l.LogAttrs(ctx, level, msg, attrs...)
}

// Observer receives one observation per finished call.
type Observer interface {
	Observe(method string, code Code, d time.Duration)
}

// ObserveClient returns a client interceptor that reports each Invoke's
// latency and code to o (a *Histogram, or the user's own metrics).
func ObserveClient(o Observer) UnaryClientInterceptor {
	return func(ctx context.Context, method string, in, out any, c *Client, invoke UnaryInvoker, opts ...Option) error {
		start := time.Now()
		err := invoke(c, ctx, method, in, out, opts...)
		o.Observe(method, CodeOf(err), time.Since(start))
		return err
	}
}

// ObserveServer returns a server interceptor that reports each handler's
// latency and code to o.
func ObserveServer(o Observer) UnaryServerInterceptor {
	return func(ctx context.Context, req *Request, info *MethodInfo, h Handler) ([]byte, error) {
		start := time.Now()
		reply, err := h(ctx, req)
		o.Observe(info.FullName(), CodeOf(err), time.Since(start))
		return reply, err
	}
}

// Histogram is a lock-free latency histogram with power-of-two buckets
// from 1µs (bucket i counts latencies in [2^(i-1), 2^i) µs), for all
// methods together.  Its zero value is ready; it is an Observer.
type Histogram struct {
	buckets [histBuckets]atomic.Uint64
	errors  atomic.Uint64
}

const histBuckets = 40 // up to 2^39 µs, about six days

// Observe counts one call.
func (h *Histogram) Observe(method string, code Code, d time.Duration) {
	us := uint64(d / time.Microsecond)
	h.buckets[min(bits.Len64(us), histBuckets-1)].Add(1)
	if code != OK {
		h.errors.Add(1)
	}
}

// Count returns how many calls were observed, and how many did not end OK.
func (h *Histogram) Count() (calls, failed uint64) {
	for i := range h.buckets {
		calls += h.buckets[i].Load()
	}
	return calls, h.errors.Load()
}

// Quantile returns the upper bound of the bucket holding quantile q
// (0 < q <= 1) of the latencies observed: the p99 is Quantile(0.99).
// Zero when nothing was observed.
func (h *Histogram) Quantile(q float64) time.Duration {
	var counts [histBuckets]uint64
	var total uint64
	for i := range h.buckets {
		counts[i] = h.buckets[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	rank = max(rank, 1)
	var seen uint64
	for i, n := range counts {
		if seen += n; seen >= rank {
			return time.Duration(uint64(1)<<i) * time.Microsecond
		}
	}
	return time.Duration(uint64(1)<<(histBuckets-1)) * time.Microsecond
}
