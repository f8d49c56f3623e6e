// SPDX-License-Identifier: LGPL-2.1-or-later

// Command kv is a small key-value service over FastRPC: typed calls by
// method name (JSON), metadata in the context (a tenant header, a trailer
// back), status codes, and a streaming Watch.
//
//	kv                          server and client in one process
//	kv -server -addr :7072      the server alone
//	kv -client -addr localhost:7072
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"sync"
	"time"

	"fastrpc.dev/gobind/fastrpc"
)

// PutRequest stores Value under Key; GetRequest and WatchRequest name a key.
type PutRequest struct{ Key, Value string }
type GetRequest struct{ Key string }
type GetReply struct{ Value string }
type WatchRequest struct{ Key string }

// Event is one change of a watched key.
type Event struct {
	Key, Value string
	Version    int
}

// store keeps the values per tenant and wakes watchers on a change.
type store struct {
	mu      sync.Mutex
	data    map[string]string
	version int
	changed chan struct{}
}

func newStore() *store {
	return &store{data: map[string]string{}, changed: make(chan struct{})}
}

func tenant(ctx context.Context) (string, error) {
	md, _ := fastrpc.FromIncomingContext(ctx)
	if len(md["tenant"]) == 0 {
		return "", fastrpc.Errorf(fastrpc.Unauthenticated, "no tenant header")
	}
	return string(md["tenant"]), nil
}

func (s *store) put(ctx context.Context, req *PutRequest) (*struct{}, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.data[t+"/"+req.Key] = req.Value
	s.version++
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	return &struct{}{}, nil
}

func (s *store) get(ctx context.Context, req *GetRequest) (*GetReply, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	v, ok := s.data[t+"/"+req.Key]
	version := s.version
	s.mu.Unlock()
	if !ok {
		return nil, fastrpc.Errorf(fastrpc.NotFound, "no key %q", req.Key)
	}
	fastrpc.SetTrailer(ctx, fastrpc.Metadata{"version": []byte(fmt.Sprint(version))})
	return &GetReply{Value: v}, nil
}

// watch sends the key's value each time it changes, until the client
// goes away or its deadline passes.
func (s *store) watch(ctx context.Context, st *fastrpc.ServerStream) error {
	t, err := tenant(ctx)
	if err != nil {
		return err
	}
	var req WatchRequest
	if err := st.RecvMsg(&req); err != nil {
		return err
	}
	last := ""
	for {
		s.mu.Lock()
		v, version, changed := s.data[t+"/"+req.Key], s.version, s.changed
		s.mu.Unlock()
		if v != last {
			last = v
			if err := st.SendMsg(&Event{Key: req.Key, Value: v, Version: version}); err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func serve(ctx context.Context, ln *fastrpc.Listener) error {
	s := newStore()
	srv := fastrpc.NewServer()
	fastrpc.HandleTyped(srv, "kv.Put", s.put)
	fastrpc.HandleTyped(srv, "kv.Get", s.get)
	srv.HandleStream("kv.Watch", s.watch)
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(shut)
	}()
	err := srv.Serve(context.Background(), ln)
	if err == fastrpc.ErrServerClosed {
		// Serve returns once drained; the handlers finish first
		if serr := <-stopped; serr != nil {
			return serr
		}
	}
	return err
}

func client(ctx context.Context, addr string) error {
	c, err := fastrpc.Dial(ctx, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx = fastrpc.NewOutgoingContext(ctx, fastrpc.Metadata{"tenant": []byte("acme")})

	put := func(v string) error {
		return c.Invoke(ctx, "kv.Put", &PutRequest{Key: "greeting", Value: v}, nil)
	}
	if err := put("hello"); err != nil {
		return err
	}
	// watch "greeting": its value now, then each change
	wctx, stop := context.WithTimeout(ctx, 30*time.Second)
	defer stop()
	w, err := c.NewStream(wctx, "kv.Watch")
	if err != nil {
		return err
	}
	if err := w.SendMsg(&WatchRequest{Key: "greeting"}); err != nil {
		return err
	}
	w.CloseSend()
	want := "hello"
	for _, next := range []string{"bonjour", ""} {
		var ev Event
		if err := w.RecvMsg(&ev); err != nil {
			return err
		}
		fmt.Printf("watch: %s = %q (version %d)\n", ev.Key, ev.Value, ev.Version)
		if ev.Value != want {
			return fmt.Errorf("watch: %q, want %q", ev.Value, want)
		}
		want = next
		if next != "" {
			if err := put(next); err != nil {
				return err
			}
		}
	}
	stop() // ends the watch: the server's handler sees its context end

	var reply GetReply
	var trailers fastrpc.Metadata
	if err := c.Invoke(ctx, "kv.Get", &GetRequest{Key: "greeting"}, &reply, fastrpc.WithTrailer(&trailers)); err != nil {
		return err
	}
	fmt.Printf("get: greeting = %q (version %s)\n", reply.Value, trailers["version"])
	if reply.Value != "bonjour" {
		return fmt.Errorf("kv.Get: %q, want the last value put, \"bonjour\"", reply.Value)
	}
	err = c.Invoke(ctx, "kv.Get", &GetRequest{Key: "nothing"}, &reply)
	fmt.Printf("get: nothing: %v (NotFound: %v)\n", err, errors.Is(err, fastrpc.ErrNotFound))
	if !errors.Is(err, fastrpc.ErrNotFound) {
		return fmt.Errorf("kv.Get of a missing key: %v, want NOT_FOUND", err)
	}
	err = c.Invoke(context.Background(), "kv.Get", &GetRequest{Key: "greeting"}, &reply)
	fmt.Printf("get without a tenant: %v\n", fastrpc.CodeOf(err))
	if fastrpc.CodeOf(err) != fastrpc.Unauthenticated {
		return fmt.Errorf("kv.Get without a tenant: %v, want UNAUTHENTICATED", err)
	}
	return nil
}

func main() {
	server := flag.Bool("server", false, "run the server alone")
	cl := flag.Bool("client", false, "run the client alone")
	addr := flag.String("addr", "", `address: ":7072" to serve, "localhost:7072" to call`)
	flag.Parse()
	log.SetFlags(0)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case *server:
		ln, err := fastrpc.Listen(*addr)
		if err != nil {
			log.Fatal(err)
		}
		log.Printf("kv server on %v", ln.Addr())
		log.Print(serve(ctx, ln))
	case *cl:
		if err := client(ctx, *addr); err != nil {
			log.Fatal(err)
		}
	default:
		ln, err := fastrpc.Listen("127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- serve(sctx, ln) }()
		err = client(ctx, ln.Addr().String())
		cancel()
		<-done
		if err != nil {
			log.Fatal(err)
		}
	}
}
