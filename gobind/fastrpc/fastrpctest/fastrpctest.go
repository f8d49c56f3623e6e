// SPDX-License-Identifier: LGPL-2.1-or-later

// Package fastrpctest starts FastRPC servers for tests, as httptest does
// for HTTP:
//
//	ts := fastrpctest.NewServer(t)
//	ts.Handle("echo", echo)
//	c := ts.Client()
//
// The server listens on a free port of 127.0.0.1 and is shut down, like
// its clients, when the test ends.  The af_fastrpc module must be loaded;
// where it is not, the test is skipped, or fails when the environment
// variable FASTRPC_REQUIRE_MODULE is 1 (as in FastRPC's own test guests).
package fastrpctest

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"fastrpc.dev/gobind/fastrpc"
)

// Server is a fastrpc.Server serving a loopback listener for one test.
// Register its handlers before or after it starts.
type Server struct {
	*fastrpc.Server
	// Listener is the server's socket.
	Listener *fastrpc.Listener
	// Addr is the address to dial, "127.0.0.1:port".
	Addr string

	t testing.TB
}

// NewServer starts a server for the rest of the test t.
func NewServer(t testing.TB, opts ...fastrpc.ServerOption) *Server {
	t.Helper()
	RequireModule(t)
	ln, err := fastrpc.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatalf("fastrpctest: %v", err)
	}
	s := &Server{Server: fastrpc.NewServer(opts...), Listener: ln,
		Addr: ln.Addr().String(), t: t}
	done := make(chan error, 1)
	go func() { done <- s.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		if err := <-done; !errors.Is(err, fastrpc.ErrServerClosed) {
			t.Errorf("fastrpctest: Serve ended with %v", err)
		}
	})
	return s
}

// Client dials the server; the client is closed when the test ends.
func (s *Server) Client(opts ...fastrpc.DialOption) *fastrpc.Client {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := fastrpc.Dial(ctx, s.Addr, opts...)
	if err != nil {
		s.t.Fatalf("fastrpctest: %v", err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// RequireModule skips t when the af_fastrpc module is not loaded, or
// fails it if FASTRPC_REQUIRE_MODULE is 1.
func RequireModule(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/sys/module/af_fastrpc"); err != nil {
		if os.Getenv("FASTRPC_REQUIRE_MODULE") == "1" {
			t.Fatalf("af_fastrpc is not loaded: %v", err)
		}
		t.Skip("af_fastrpc is not loaded")
	}
}
