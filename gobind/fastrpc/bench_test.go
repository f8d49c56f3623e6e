// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// go test -bench . -benchmem: a unary 64-byte Call against an echo server
// in another process (startHelper), so that the allocations reported are
// the client's alone.  They need af_fastrpc, as the module tests do: in a
// guest, go-fastrpc.test -test.run '^$' -test.bench . -test.benchmem.
// make bench's Go rows (gobind/bench) put the same calls beside net/rpc
// and grpc-go.

import (
	"context"
	"testing"
	"time"
)

func benchCall(b *testing.B, ctx context.Context) {
	c := dial(b, startHelper(b))
	req := make([]byte, 64)
	for i := 0; i < 100; i++ { // warm the pools
		if _, err := c.Call(ctx, 1, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := c.Call(ctx, 1, req)
		if err != nil || len(r.Data) != len(req) {
			b.Fatalf("call: %v", err)
		}
	}
}

// BenchmarkCall: one call in flight.
func BenchmarkCall(b *testing.B) {
	requireModule(b)
	benchCall(b, context.Background())
}

// BenchmarkCallDeadline: the same with a context deadline (a kernel
// deadline on every call).
func BenchmarkCallDeadline(b *testing.B) {
	requireModule(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	benchCall(b, ctx)
}

// BenchmarkCallParallel: 64 goroutines per GOMAXPROCS share one Client.
func BenchmarkCallParallel(b *testing.B) {
	requireModule(b)
	c := dial(b, startHelper(b))
	req := make([]byte, 64)
	if _, err := c.Call(context.Background(), 1, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	b.SetParallelism(64)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r, err := c.Call(context.Background(), 1, req)
			if err != nil || len(r.Data) != len(req) {
				b.Errorf("call: %v", err)
				return
			}
		}
	})
}
