// SPDX-License-Identifier: LGPL-2.1-or-later

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pinProcess puts every thread of the process on cpu and sets GOMAXPROCS
// to 1 (-C).  Threads the runtime starts later are cloned from pinned ones
// and inherit the mask, so one pass over /proc/self/task that finds
// nothing left to move is enough.
func pinProcess(cpu int) error {
	// Not runtime.NumCPU(): that counts the CPUs this process started
	// on, and a server is started from a client pinned to CPU 0.
	if cpu < 0 || cpu >= 1024 {
		return fmt.Errorf("CPU %d: no such CPU", cpu)
	}
	runtime.GOMAXPROCS(1)
	var want unix.CPUSet
	want.Set(cpu)
	for pass := 0; pass < 100; pass++ {
		tasks, err := os.ReadDir("/proc/self/task")
		if err != nil {
			return err
		}
		moved := 0
		for _, e := range tasks {
			tid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			var have unix.CPUSet
			if unix.SchedGetaffinity(tid, &have) == nil && have == want {
				continue
			}
			err = unix.SchedSetaffinity(tid, &want)
			if errors.Is(err, unix.ESRCH) { // the thread ended
				continue
			}
			if err != nil {
				return fmt.Errorf("sched_setaffinity(thread %d, CPU %d): %w (-C needs CPUs 0 and 1)", tid, cpu, err)
			}
			moved++
		}
		if moved == 0 {
			return nil
		}
	}
	return errors.New("threads kept appearing unpinned")
}

// inNetns runs f on a thread that is in the network namespace ns (a name
// under /run/netns, or a path; "" runs f as it is): sockets f creates
// belong to that namespace for good, whichever thread uses them later.
func inNetns(ns string, f func() error) error {
	if ns == "" {
		return f()
	}
	path := ns
	if !strings.Contains(ns, "/") {
		path = "/run/netns/" + ns
	}
	target, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("-N %s: %w", path, err)
	}
	defer unix.Close(target)
	runtime.LockOSThread()
	home, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("own network namespace: %w", err)
	}
	defer unix.Close(home)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("setns %s: %w", path, err)
	}
	ferr := f()
	if err := unix.Setns(home, unix.CLONE_NEWNET); err != nil {
		// The thread stays locked to this goroutine and in the other
		// namespace; the caller gives up.
		return fmt.Errorf("setns back from %s: %w", path, err)
	}
	runtime.UnlockOSThread()
	return ferr
}
