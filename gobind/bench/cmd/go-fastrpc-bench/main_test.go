// SPDX-License-Identifier: LGPL-2.1-or-later

package main

// Host-side tests: the row format (exactly fastrpc-bench's, and what
// selftests/vm/bench-report.py reads), whole runs of the transports that
// need no module (go-netrpc, go-grpc) fed to bench-report.py, bad input,
// the go-fastrpc-ring hook and -C's pinning.  go-fastrpc itself needs
// af_fastrpc, which only the guests of make bench load.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary is also the server child (startServer runs
// os.Executable()) and the helper of TestPinProcess.
func TestMain(m *testing.M) {
	if name := os.Getenv(envServe); name != "" {
		os.Exit(serverMain(name, os.Stdin, os.Stdout))
	}
	if cpu := os.Getenv("GO_FASTRPC_BENCH_TEST_PIN"); cpu != "" {
		os.Exit(pinHelper(cpu))
	}
	os.Exit(m.Run())
}

// The table line and the FASTRPC-ROW line of one result, byte for byte:
// fastrpc-bench's layout (print_row in libuser/tools/fastrpc-bench.c) and
// nearest-rank percentiles, plus the Go allocations.
func TestPrintRow(t *testing.T) {
	lat := make([]int64, 1000)
	for i := range lat {
		lat[i] = int64(1000-i) * 1000 // 1000 µs down to 1 µs, unsorted
	}
	var b bytes.Buffer
	printRow(&b, true, "netns", "go-grpc", 64, 16, lat, 250*time.Millisecond, 94.5)
	// what C's printf (Python's % here) makes of fastrpc-bench's format
	// and the extra "%9.2f"; p99.9 of 1000 calls is rank
	// ceil(99.9 / 100 * 1000) = 1000 in doubles, in C as here
	want := "go-grpc             64       16    1000     500.0     900.0     990.0    1000.0    1000.0      4000     94.50\n"
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("want a table line and a row line, got %q", b.String())
	}
	if lines[0]+"\n" != want {
		t.Errorf("table line\n got %q\nwant %q", lines[0], want)
	}
	wantRow := `FASTRPC-ROW {"topology": "netns", "transport": "go-grpc", "size": 64, ` +
		`"inflight": 16, "calls": 1000, "p50_us": 500.0, "p90_us": 900.0, "p99_us": 990.0, ` +
		`"p999_us": 1000.0, "max_us": 1000.0, "calls_per_s": 4000, "go_allocs_per_call": 94.50}`
	if lines[1] != wantRow {
		t.Errorf("row line\n got %s\nwant %s", lines[1], wantRow)
	}
	var row map[string]any
	if err := json.Unmarshal([]byte(strings.TrimPrefix(lines[1], "FASTRPC-ROW ")), &row); err != nil {
		t.Fatalf("the row is not JSON: %v", err)
	}
}

// pct agrees with fastrpc-bench's pct_us on small and uneven counts.
func TestPct(t *testing.T) {
	v := []int64{1000, 2000, 3000}
	for _, tc := range []struct {
		p    float64
		want float64
	}{{50, 2}, {90, 3}, {99.9, 3}, {0, 1}, {33.3, 1}, {33.4, 2}} {
		if got := pct(v, tc.p); got != tc.want {
			t.Errorf("pct(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

// run returns its exit status, standard output and error.
func runBench(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	rc := run(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func repoRoot(t *testing.T) string {
	t.Helper()
	// the package directory is gobind/bench/cmd/go-fastrpc-bench (in
	// GOPATH mode reached through a link; ".." is resolved physically)
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if real, err := filepath.EvalSymlinks(wd); err == nil {
		root = filepath.Join(real, "../../../..")
	}
	if _, err := os.Stat(filepath.Join(root, "selftests/vm/bench-report.py")); err != nil {
		t.Fatalf("cannot find the repository from %s: %v", wd, err)
	}
	return root
}

// Whole runs of go-netrpc and go-grpc over loopback, one call in flight
// and several, make rows that bench-report.py takes into results.json
// with every figure, go_allocs_per_call included, in the transports' order.
func TestRowsThroughBenchReport(t *testing.T) {
	if testing.Short() {
		t.Skip("runs servers")
	}
	var log strings.Builder
	log.WriteString("FASTRPC-INIT: 6.12.0-test 6.12.0-test mode=bench\n")
	for _, c := range []string{"1", "8"} {
		rc, out, errs := runBench(t, "-j", "-n", "300", "-w", "30", "-c", c, "-t", "go-grpc,go-netrpc")
		if rc != 0 {
			t.Fatalf("-c %s: exit %d\n%s%s", c, rc, out, errs)
		}
		if n := strings.Count(out, "FASTRPC-ROW "); n != 2 {
			t.Fatalf("-c %s: %d rows, want 2:\n%s", c, n, out)
		}
		log.WriteString(out)
	}
	dir := t.TempDir()
	logf := filepath.Join(dir, "bench.log")
	if err := os.WriteFile(logf, []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("python3", filepath.Join(repoRoot(t), "selftests/vm/bench-report.py"),
		"report", "--out", dir, "icount="+logf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench-report.py: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(data, &rows); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v/%v/%v", r["transport"], r["inflight"], r["topology"]))
		for _, k := range []string{"mode", "size", "calls", "p50_us", "p90_us", "p99_us", "p999_us",
			"max_us", "calls_per_s", "go_allocs_per_call"} {
			if _, ok := r[k]; !ok {
				t.Errorf("results.json row %v lacks %s", r, k)
			}
		}
		if a, _ := r["go_allocs_per_call"].(float64); a <= 0 {
			t.Errorf("%v: go_allocs_per_call %v: net/rpc and grpc-go allocate on every call", got[len(got)-1], a)
		}
		if _, ok := r["allocs_per_call"]; ok {
			t.Errorf("%v: allocs_per_call is the kernel's (perf stat), not the Go rows'", got[len(got)-1])
		}
	}
	want := "[go-netrpc/1/same-host go-grpc/1/same-host go-netrpc/8/same-host go-grpc/8/same-host]"
	if fmt.Sprint(got) != want {
		t.Errorf("results.json rows %v, want %s", got, want)
	}
}

// nullCaller answers every call with the request, allocating nothing.
type nullCaller struct{ calls atomic.Int64 }

func (c *nullCaller) call(req []byte) ([]byte, error) {
	c.calls.Add(1)
	runtime.Gosched() // as a real call would, let the other goroutines run
	return req, nil
}

func (c *nullCaller) close() error { return nil }

// measure adds no allocations of its own to the Go rows: with a caller
// that allocates nothing, the count is (about) zero, and so go_allocs_per_call
// is the client library's.  Also: every call made once, every latency set.
func TestMeasureAllocatesNothing(t *testing.T) {
	req := make([]byte, 64)
	for _, inflight := range []int{1, 64} {
		var c nullCaller
		const n = 20000
		lat := make([]int64, n)
		el, mallocs, err := measure(&c, req, n, inflight, lat)
		if err != nil || el <= 0 {
			t.Fatalf("-c %d: %v, %v", inflight, el, err)
		}
		if c.calls.Load() != n {
			t.Errorf("-c %d: %d calls, want %d", inflight, c.calls.Load(), n)
		}
		if per := float64(mallocs) / n; per > 0.01 {
			t.Errorf("-c %d: %d allocations in %d calls (%.3f per call), want none from the harness",
				inflight, mallocs, n, per)
		}
	}
}

// errCaller fails its third call.  Calls after it take a millisecond, so
// that the goroutines still running while the failing one is descheduled,
// before it tells them to stop, make a few calls, not the whole run (a
// loaded host once let them make all 1000 at full speed).
type errCaller struct{ calls atomic.Int64 }

func (c *errCaller) call(req []byte) ([]byte, error) {
	switch n := c.calls.Add(1); {
	case n == 3:
		return nil, errors.New("call three failed")
	case n > 3:
		time.Sleep(time.Millisecond)
	}
	return req, nil
}

func (c *errCaller) close() error { return nil }

func TestMeasureStopsOnError(t *testing.T) {
	for _, inflight := range []int{1, 8} {
		var c errCaller
		_, _, err := measure(&c, make([]byte, 8), 1000, inflight, nil)
		if err == nil || err.Error() != "call three failed" {
			t.Errorf("-c %d: %v, want the third call's error", inflight, err)
		}
		// without the stop all 1000 are made; with it, the others
		// finish the call they are in, and only a failing goroutine
		// descheduled for tens of milliseconds lets them make more
		if c.calls.Load() >= 100 {
			t.Errorf("-c %d: %d calls made after the error", inflight, c.calls.Load())
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"-t", "go-nope"}, `unknown transport "go-nope"`},
		{[]string{"-t", "go-grpc,fastrpc"}, `unknown transport "fastrpc"`},
		{[]string{"-n", "0"}, "-n and -c must be at least 1"},
		{[]string{"-c", "0"}, "-n and -c must be at least 1"},
		{[]string{"-s", "0"}, "-s 0: want 1 to"},
		{[]string{"-s", strconv.Itoa(maxSize + 1)}, "want 1 to"},
		{[]string{"-p", "70000"}, "not a port"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-x"}, "flag provided but not defined"},
	} {
		rc, out, errs := runBench(t, tc.args...)
		if rc != 2 || !strings.Contains(errs, tc.msg) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want 2 and %q", tc.args, rc, errs, out, tc.msg)
		}
	}
}

// A server that cannot start fails its transport (exit 1, a "failed"
// line, the reason on stderr) and the others still run.
func TestServerFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs servers")
	}
	rc, out, errs := runBench(t, "-n", "20", "-w", "0", "-t", "go-netrpc,go-grpc", "-N", "/nonexistent/netns")
	if rc != 1 || strings.Count(out, " failed\n") != 2 || !strings.Contains(errs, "/nonexistent/netns") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", rc, out, errs)
	}
	rc, out, errs = runBench(t, "-n", "20", "-w", "0", "-t", "go-netrpc", "-a", "192.0.2.1")
	if rc != 1 || !strings.Contains(out, "go-netrpc     failed") || !strings.Contains(errs, "192.0.2.1") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", rc, out, errs)
	}
}

// go-fastrpc without the module fails with the reason (the host never
// loads af_fastrpc).
func TestFastRPCWithoutModule(t *testing.T) {
	if _, err := os.Stat("/sys/module/af_fastrpc"); err == nil {
		t.Skip("af_fastrpc is loaded here")
	}
	rc, out, errs := runBench(t, "-n", "20", "-w", "0", "-t", "go-fastrpc")
	if rc != 1 || !strings.Contains(out, "go-fastrpc    failed") || !strings.Contains(errs, "go-fastrpc: server:") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", rc, out, errs)
	}
}

// go-fastrpc-ring is gobind's ring client: without the module it fails
// as go-fastrpc does, with the reason, and prints no row.
func TestRingWithoutModule(t *testing.T) {
	if ringMissing() != "" {
		t.Fatalf("go-fastrpc-ring left out: %s", ringMissing())
	}
	if _, err := os.Stat("/sys/module/af_fastrpc"); err == nil {
		t.Skip("af_fastrpc is loaded here")
	}
	rc, out, errs := runBench(t, "-j", "-n", "20", "-w", "0", "-t", "go-fastrpc-ring")
	if rc != 1 || !strings.Contains(out, "go-fastrpc-ring failed") ||
		!strings.Contains(errs, "go-fastrpc-ring: server:") || strings.Contains(out, "FASTRPC-ROW") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", rc, out, errs)
	}
}

// -C: pinProcess leaves every thread of the process, those the runtime
// starts afterwards included, on the one CPU, with GOMAXPROCS 1.
func TestPinProcess(t *testing.T) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	cpu := -1
	for i := 1023; i >= 0; i-- { // the last CPU we may use, not 0
		if all.IsSet(i) {
			cpu = i
			break
		}
	}
	if all.Count() < 2 {
		t.Skip("one CPU: nothing to pin apart")
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "GO_FASTRPC_BENCH_TEST_PIN="+strconv.Itoa(cpu))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "PINNED ") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// pinHelper pins the process to cpu, makes the runtime start more threads
// (goroutines locked to their threads, blocked), and checks every thread.
func pinHelper(arg string) int {
	cpu, _ := strconv.Atoi(arg)
	if err := pinProcess(cpu); err != nil {
		fmt.Println("pinProcess:", err)
		return 1
	}
	var ready, wg sync.WaitGroup
	stop := make(chan struct{})
	for i := 0; i < 4; i++ {
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			ready.Done()
			<-stop
		}()
	}
	ready.Wait()
	bad := 0
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &set); err != nil || set.Count() != 1 || !set.IsSet(cpu) {
			fmt.Printf("thread %d not on CPU %d only (%v)\n", tid, cpu, err)
			bad++
		}
	}
	close(stop)
	wg.Wait()
	if bad > 0 || len(tasks) < 5 || runtime.GOMAXPROCS(0) != 1 {
		fmt.Printf("%d of %d threads not pinned, GOMAXPROCS %d\n", bad, len(tasks), runtime.GOMAXPROCS(0))
		return 1
	}
	fmt.Printf("PINNED %d threads to CPU %d\n", len(tasks), cpu)
	return 0
}
