// SPDX-License-Identifier: LGPL-2.1-or-later

// Command echo is a FastRPC echo server and client in one program.
//
//	echo -server -addr :7070 [-ring]
//	echo -client -addr 127.0.0.1:7070 -n 1000 -c 16 [-ring] hello
//
// The client makes -n calls from -c goroutines sharing one Client, checks
// every reply and prints the median and tail latency.  -ring carries the
// calls through the socket's mmap'd rings (fastrpc.ListenRing on the
// server, fastrpc.WithRing on the client); either end works with the
// other with or without.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"time"

	"fastrpc.dev/gobind/fastrpc"
)

func main() {
	server := flag.Bool("server", false, "run the echo server")
	client := flag.Bool("client", false, "run the client")
	addr := flag.String("addr", "", `address: ":7070" to serve, "127.0.0.1:7070" to call`)
	n := flag.Int("n", 1000, "client: number of calls")
	conc := flag.Int("c", 16, "client: concurrent goroutines")
	timeout := flag.Duration("timeout", 5*time.Second, "client: deadline of each call")
	ring := flag.Bool("ring", false, "calls and replies through the socket's rings")
	flag.Parse()
	log.SetFlags(0)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	switch {
	case *server && !*client:
		if *addr == "" {
			*addr = ":7070"
		}
		var opts []fastrpc.ListenOption
		if *ring {
			opts = append(opts, fastrpc.ListenRing(0, 0, 0))
		}
		runServer(ctx, *addr, opts...)
	case *client && !*server:
		if *addr == "" {
			*addr = "127.0.0.1:7070"
		}
		var opts []fastrpc.DialOption
		if *ring {
			opts = append(opts, fastrpc.WithRing(0, 0, 0))
		}
		runClient(ctx, *addr, strings.Join(flag.Args(), " "), *n, *conc, *timeout, opts...)
	default:
		log.Fatal("give -server or -client")
	}
}

func runServer(ctx context.Context, addr string, opts ...fastrpc.ListenOption) {
	ln, err := fastrpc.Listen(addr, opts...)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("echo server on %v", ln.Addr())
	echo := func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
		return req.Data, nil
	}
	srv := fastrpc.NewServer()
	srv.HandleMethod(echoMethod, echo) // as libuser's examples: C clients call it
	srv.Handle("echo", echo)           // the same by name
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		stopped <- srv.Shutdown(shut)
	}()
	err = srv.Serve(context.Background(), ln)
	if err == fastrpc.ErrServerClosed {
		// Serve returns once drained; the handlers finish first
		if serr := <-stopped; serr != nil {
			log.Printf("shutdown: %v", serr)
		}
	}
	log.Printf("server stopped: %v", err)
}

// echoMethod is the echo method of libuser's C examples, a numeric one,
// so that this client and server talk to theirs.
const echoMethod = 1

func runClient(ctx context.Context, addr, msg string, n, conc int, timeout time.Duration, opts ...fastrpc.DialOption) {
	if msg == "" {
		msg = "hello"
	}
	n, conc = max(n, 1), max(conc, 1)
	c, err := fastrpc.Dial(ctx, addr, opts...)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	lat := make([]time.Duration, n)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed int
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cctx, cancel := context.WithTimeout(ctx, timeout)
				t0 := time.Now()
				r, err := c.Call(cctx, echoMethod, []byte(msg))
				lat[i] = time.Since(t0)
				cancel()
				if err != nil || string(r.Data) != msg {
					mu.Lock()
					failed++
					if failed == 1 {
						log.Printf("call %d: %v", i, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("go echo: %d calls, %d goroutines, %d failed, %.0f calls/s, p50 %v p99 %v p99.9 %v\n",
		n, conc, failed, float64(n)/elapsed.Seconds(), pct(0.5), pct(0.99), pct(0.999))
	if failed > 0 {
		os.Exit(1)
	}
}
