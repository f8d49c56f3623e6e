// SPDX-License-Identifier: LGPL-2.1-or-later

// Command go-fastrpc-bench measures Go RPC clients the way fastrpc-bench
// (libuser/tools/fastrpc-bench.c) measures the C transports, and prints
// its rows in the same format, so that make bench puts both in one
// results.json:
//
//	go-fastrpc-bench [-n calls] [-s bytes] [-c goroutines] [-w warmup]
//	                 [-t go-fastrpc,go-fastrpc-ring,go-netrpc,go-grpc]
//	                 [-p port] [-N netns -a address] [-C] [-j]
//
// For each transport an echo server runs in a child process (this program
// again) and the client makes -n unary calls of -s bytes from -c
// goroutines sharing one client, each call timed from just before the
// call to just after it returned:
//
//	go-fastrpc       gobind's fastrpc.Client.Call over AF_FASTRPC, a
//	                 fastrpc.Server answering (same-host short cut on one
//	                 host, TCP with -N)
//	go-fastrpc-ring  the same client with fastrpc.WithRing and server with
//	                 fastrpc.ListenRing: calls and replies go through the
//	                 mmap'd SQ and CQ on both ends (see ring.go)
//	go-netrpc        the standard library's net/rpc (gob) over TCP
//	go-grpc          grpc-go (Debian's golang-google-grpc-dev) over TCP,
//	                 with a codec that passes bytes through (no protobuf)
//
// The server is a process of its own so that the client's heap counts only
// the client: "go_allocs_per_call" is runtime.MemStats.Mallocs over the
// measured calls divided by their number, Go heap allocations of the
// client process, not kernel allocations.
//
// -N and -a put the server in another network namespace (a name under
// /run/netns or a path) and have the client call it at -a, as
// fastrpc-bench does; the rows then say "netns".  -C pins every thread of
// the client process to CPU 0 and of the server process to CPU 1, with
// GOMAXPROCS 1 in each, so that where the scheduler puts them cannot
// change from run to run.  -j also prints each result as one line
// "FASTRPC-ROW {json}" with fastrpc-bench's keys plus go_allocs_per_call.
// Exit status: 0 if every transport ran, 1 if one failed, 2 on bad usage.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxSize bounds -s: FastRPC's largest message (FASTRPC_MAX_MSG).
const maxSize = 16 << 20

// Environment of the server child process.
const (
	envServe = "GO_FASTRPC_BENCH_SERVE" // transport name: be the server
	envAddr  = "GO_FASTRPC_BENCH_ADDR"  // host:port to listen on
	envNetns = "GO_FASTRPC_BENCH_NETNS" // -N
	envCPU   = "GO_FASTRPC_BENCH_CPU"   // -C: the CPU to pin to
)

// caller is one client, shared by every calling goroutine.
type caller interface {
	// call makes one unary echo call and returns the reply.
	call(req []byte) ([]byte, error)
	close() error
}

// server is the echo server of one transport in the child process.
type server interface {
	port() int
	// serve answers calls until close; then it returns nil.
	serve() error
	close()
}

type transport struct {
	name string
	// listen opens the server on host:port (port 0: any free one); it
	// runs in the server's network namespace.
	listen func(addr string) (server, error)
	dial   func(addr string) (caller, error)
	// missing says why the transport cannot run in this build ("" if it
	// can): it is then reported and left out, not failed.
	missing func() string
}

// transports in the order of their rows, as in bench-report.py.
var transports = []*transport{
	{name: "go-fastrpc", listen: listenFastRPC, dial: dialFastRPC},
	{name: "go-fastrpc-ring", listen: listenRing, dial: dialRing, missing: ringMissing},
	{name: "go-netrpc", listen: listenNetRPC, dial: dialNetRPC},
	{name: "go-grpc", listen: listenGRPC, dial: dialGRPC},
}

func lookup(name string) *transport {
	for _, t := range transports {
		if t.name == name {
			return t
		}
	}
	return nil
}

type config struct {
	n, warmup, size, inflight int
	port                      int
	netns, addr               string
	pin, json                 bool
	which                     []*transport
}

func main() {
	if name := os.Getenv(envServe); name != "" {
		os.Exit(serverMain(name, os.Stdin, os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func parse(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("go-fastrpc-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &config{}
	fs.IntVar(&c.n, "n", 10000, "measured calls")
	fs.IntVar(&c.warmup, "w", 1000, "warm-up calls, not measured")
	fs.IntVar(&c.size, "s", 64, "request and reply bytes")
	fs.IntVar(&c.inflight, "c", 1, "calling goroutines (calls in flight)")
	fs.IntVar(&c.port, "p", 0, "server port (0: a free one)")
	which := fs.String("t", "go-fastrpc,go-fastrpc-ring,go-netrpc,go-grpc", "transports")
	fs.StringVar(&c.netns, "N", "", "server network namespace (name under /run/netns, or a path)")
	fs.StringVar(&c.addr, "a", "127.0.0.1", "server address the client calls")
	fs.BoolVar(&c.pin, "C", false, "pin the client to CPU 0 and the server to CPU 1")
	fs.BoolVar(&c.json, "j", false, "also print FASTRPC-ROW json lines")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() != 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case c.n < 1 || c.warmup < 0 || c.inflight < 1:
		return nil, errors.New("-n and -c must be at least 1, -w at least 0")
	case c.size < 1 || c.size > maxSize:
		return nil, fmt.Errorf("-s %d: want 1 to %d bytes", c.size, maxSize)
	case c.port < 0 || c.port > 65535:
		return nil, fmt.Errorf("-p %d: not a port", c.port)
	case c.inflight > 4096:
		return nil, fmt.Errorf("-c %d: at most 4096 goroutines", c.inflight)
	}
	for _, name := range strings.Split(*which, ",") {
		t := lookup(strings.TrimSpace(name))
		if t == nil {
			return nil, fmt.Errorf("-t: unknown transport %q (known: go-fastrpc, go-fastrpc-ring, go-netrpc, go-grpc)", name)
		}
		if !slices.Contains(c.which, t) {
			c.which = append(c.which, t)
		}
	}
	// the table's order, whatever the order of -t
	slices.SortFunc(c.which, func(a, b *transport) int {
		return slices.Index(transports, a) - slices.Index(transports, b)
	})
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "go-fastrpc-bench: %v\n", err)
		}
		return 2
	}
	if c.pin {
		if err := pinProcess(0); err != nil {
			fmt.Fprintf(stderr, "go-fastrpc-bench: -C: %v\n", err)
			return 2
		}
	}
	fmt.Fprintf(stdout, "# go-fastrpc-bench: %s, GOMAXPROCS %d (client), server in a child process\n",
		runtime.Version(), runtime.GOMAXPROCS(0))
	printHeader(stdout, "transport")
	failed := 0
	for _, t := range c.which {
		if t.missing != nil {
			if why := t.missing(); why != "" {
				fmt.Fprintf(stdout, "# %s: left out: %s\n", t.name, why)
				continue
			}
		}
		if err := benchOne(t, c, stdout, stderr); err != nil {
			fmt.Fprintf(stderr, "go-fastrpc-bench: %s: %v\n", t.name, err)
			fmt.Fprintf(stdout, "%-13s %s\n", t.name, "failed")
			failed++
		}
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func topology(c *config) string {
	if c.netns != "" {
		return "netns"
	}
	return "same-host"
}

func benchOne(t *transport, c *config, stdout, stderr io.Writer) (err error) {
	srv, err := startServer(t, c, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); err == nil {
			err = serr
		}
	}()
	addr := joinHostPort(c.addr, srv.port)
	cl, err := t.dial(addr)
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	defer cl.close()

	req := bytes.Repeat([]byte{0x5a}, c.size)
	req[0], req[c.size-1] = 1, 2
	rep, err := cl.call(req)
	if err != nil {
		return fmt.Errorf("first call: %w", err)
	}
	if !bytes.Equal(rep, req) {
		return fmt.Errorf("first call: the reply (%d bytes) is not the request (%d bytes)", len(rep), len(req))
	}
	if c.warmup > 0 {
		if _, _, err := measure(cl, req, c.warmup, c.inflight, nil); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	lat := make([]int64, c.n)
	el, mallocs, err := measure(cl, req, c.n, c.inflight, lat)
	if err != nil {
		return err
	}
	printRow(stdout, c.json, topology(c), t.name, c.size, c.inflight, lat, el,
		float64(mallocs)/float64(c.n))
	return nil
}

func joinHostPort(host string, port int) string {
	if strings.Contains(host, ":") {
		return "[" + host + "]:" + strconv.Itoa(port)
	}
	return host + ":" + strconv.Itoa(port)
}

// measure makes n calls from inflight goroutines and stores each call's
// latency in ns in lat (if not nil).  It returns the time from the first
// call to the last reply and the heap allocations of the process in
// between: the goroutines exist, parked, before the count starts, and
// the loop itself allocates nothing.
func measure(cl caller, req []byte, n, inflight int, lat []int64) (time.Duration, uint64, error) {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	start := make(chan struct{})
	for g := 0; g < inflight; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				t0 := time.Now()
				rep, err := cl.call(req)
				d := time.Since(t0)
				if err == nil && len(rep) != len(req) {
					err = fmt.Errorf("call %d: %d bytes back, %d sent", i, len(rep), len(req))
				}
				if err != nil {
					// a variable of this branch: taking err's
					// address would move err to the heap on
					// every call
					e := err
					first.CompareAndSwap(nil, &e)
					next.Store(int64(n)) // the others stop too
					return
				}
				if lat != nil {
					lat[i] = int64(d)
				}
			}
		}()
	}
	// Each measurement starts from a collected heap, so that a cycle
	// left over from setup or the warm-up does not fall into it.
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	close(start)
	wg.Wait()
	el := time.Since(t0)
	runtime.ReadMemStats(&m1)
	if e := first.Load(); e != nil {
		return 0, 0, *e
	}
	return el, m1.Mallocs - m0.Mallocs, nil
}

// pct is the nearest-rank percentile of sorted v, in microseconds, as
// fastrpc-bench computes it.
func pct(v []int64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(v))))
	rank = max(1, min(rank, len(v)))
	return float64(v[rank-1]) / 1000
}

func printHeader(w io.Writer, first string) {
	fmt.Fprintf(w, "%-13s %8s %8s %7s %9s %9s %9s %9s %9s %9s %9s\n", first, "bytes",
		"inflight", "calls", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us", "calls/s",
		"go_allocs")
}

// printRow prints one result as fastrpc-bench does (a table line and,
// with json, a FASTRPC-ROW line with the same keys) plus the client's Go
// heap allocations per call.
func printRow(w io.Writer, json bool, topo, name string, size, inflight int, lat []int64,
	el time.Duration, allocs float64) {
	slices.Sort(lat)
	n := len(lat)
	p50, p90, p99, p999 := pct(lat, 50), pct(lat, 90), pct(lat, 99), pct(lat, 99.9)
	maxUs := float64(lat[n-1]) / 1000
	rate := float64(n) * 1e9 / float64(el.Nanoseconds())
	fmt.Fprintf(w, "%-13s %8d %8d %7d %9.1f %9.1f %9.1f %9.1f %9.1f %9.0f %9.2f\n",
		name, size, inflight, n, p50, p90, p99, p999, maxUs, rate, allocs)
	if json {
		fmt.Fprintf(w, "FASTRPC-ROW {\"topology\": \"%s\", \"transport\": \"%s\", "+
			"\"size\": %d, \"inflight\": %d, \"calls\": %d, "+
			"\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, "+
			"\"p999_us\": %.1f, \"max_us\": %.1f, "+
			"\"calls_per_s\": %.0f, \"go_allocs_per_call\": %.2f}\n",
			topo, name, size, inflight, n, p50, p90, p99, p999, maxUs, rate, allocs)
	}
}

// child is a running server process.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	port  int
}

// startServer runs this program again as t's server (see serverMain) and
// waits for the port it listens on.
func startServer(t *transport, c *config, stderr io.Writer) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), envServe+"="+t.name, envAddr+"="+joinHostPort(c.addr, c.port),
		envNetns+"="+c.netns, envCPU+"=")
	if c.pin {
		cmd.Env[len(cmd.Env)-1] = envCPU + "=1"
	}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{cmd: cmd, stdin: stdin}
	line, rerr := bufio.NewReader(stdout).ReadString('\n')
	line = strings.TrimSpace(line)
	if p, ok := strings.CutPrefix(line, "LISTEN "); ok {
		if ch.port, err = strconv.Atoi(p); err == nil {
			go io.Copy(io.Discard, stdout)
			return ch, nil
		}
	}
	werr := ch.stop()
	if msg, ok := strings.CutPrefix(line, "ERROR "); ok {
		return nil, fmt.Errorf("server: %s", msg)
	}
	return nil, fmt.Errorf("server: no port (%q, read: %v, exit: %v)", line, rerr, werr)
}

// stop closes the server's standard input, which ends it, and waits for
// it (killing it after 30 s).
func (ch *child) stop() error {
	ch.stdin.Close()
	kill := time.AfterFunc(30*time.Second, func() { ch.cmd.Process.Kill() })
	defer kill.Stop()
	if err := ch.cmd.Wait(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// serverMain is the server process: it listens (in the -N namespace, on
// the -C CPU), prints "LISTEN <port>" and serves until its standard
// input closes; on failure it prints "ERROR <why>" and returns 1.
func serverMain(name string, stdin io.Reader, stdout io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stdout, "ERROR %v\n", err)
		return 1
	}
	t := lookup(name)
	if t == nil {
		return fail(fmt.Errorf("unknown transport %q", name))
	}
	if cpu := os.Getenv(envCPU); cpu != "" {
		n, err := strconv.Atoi(cpu)
		if err != nil {
			return fail(fmt.Errorf("%s=%q", envCPU, cpu))
		}
		if err := pinProcess(n); err != nil {
			return fail(fmt.Errorf("-C: %w", err))
		}
	}
	var srv server
	err := inNetns(os.Getenv(envNetns), func() (err error) {
		srv, err = t.listen(os.Getenv(envAddr))
		return err
	})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "LISTEN %d\n", srv.port())
	go func() {
		io.Copy(io.Discard, stdin)
		srv.close()
	}()
	if err := srv.serve(); err != nil {
		fmt.Fprintf(os.Stderr, "go-fastrpc-bench: %s server: %v\n", name, err)
		return 1
	}
	return 0
}
