// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// The producer side of a socket's SQ, shared by the ring client
// (ringclient.go) and the ring server (ringserver.go): the SQ lock, buffer
// returns, the doorbell and who rings it, the wait for the kernel to take
// entries it refused (EAGAIN), and the wakeups of goroutines waiting for
// SQ room.  See the package comment in ring.go for the memory model.

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// bell is one doorbell system call, its function bound once.
type bell struct {
	n   int
	err syscall.Errno
	fn  func(fd uintptr)
}

// rawBellMax bounds what one doorbell may copy (every SQ entry's
// transmit buffer) for it to be a RawSyscall: the send never sleeps
// (MSG_DONTWAIT), and up to this much copying is short enough to keep
// the P through, as sock.go's small sendmsg does.
const rawBellMax = 1 << 20

func newBell(g ringGeom) *bell {
	b := &bell{}
	raw := uint64(g.sqEntries)*uint64(g.bufSize) <= rawBellMax
	b.fn = func(fd uintptr) {
		for {
			var n uintptr
			var e syscall.Errno
			if raw {
				n, _, e = syscall.RawSyscall6(syscall.SYS_SENDTO, fd, 0, 0,
					syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
			} else {
				n, _, e = syscall.Syscall6(syscall.SYS_SENDTO, fd, 0, 0,
					syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL, 0, 0)
			}
			if e != syscall.EINTR {
				b.n, b.err = int(n), e
				return
			}
		}
	}
	return b
}

// ringSQ is the SQ of a socket with rings, and what waits on it.
type ringSQ struct {
	m  *ringMap
	g  ringGeom
	s  *sock        // the socket; its rc rings the doorbell
	ww *writeWaiter // POLLOUT for the unstaller

	// sqMu serializes the SQ's producers and guards the mapping: dead
	// is set under it before the regions are unmapped.
	sqMu    sync.Mutex
	dead    bool
	sqTail  uint32   // entries written and published
	returns []uint32 // runs to give back when the SQ has room
	// flushMore, if set, writes the owner's own waiting entries after
	// the returns (sqMu held); reports whether it wrote any
	flushMore func() bool
	// room, if set, says whether the owner's waiters could go on besides
	// SQ room (sqMu held): the client's call slots
	room func() bool

	kickers  atomic.Int32  // kick requests; the one who makes it 1 rings
	bell     *bell         // the kicker's
	ubell    *bell         // the unstaller's
	rbell    *bell         // the reaper's
	stalled  atomic.Bool   // an unstaller waits to ring again
	stalls   atomic.Uint64 // doorbells the kernel refused (EAGAIN): for tests
	pokes    atomic.Uint64 // afterPoll's wakeups: for tests
	bells    atomic.Uint64 // doorbell system calls: for tests and benchmarks
	fatal    atomic.Pointer[error]
	progress atomic.Pointer[chan struct{}] // closed at SQ or call-slot progress
	closed   chan struct{}                 // closed when the reap loop ends
}

// initSQ sets up r for the mapped rings m of socket s.
func (r *ringSQ) initSQ(m *ringMap, s *sock, ww *writeWaiter) {
	r.m, r.g, r.s, r.ww = m, m.g, s, ww
	r.bell, r.ubell, r.rbell = newBell(m.g), newBell(m.g), newBell(m.g)
	r.closed = make(chan struct{})
	r.returns = make([]uint32, 0, m.g.rxBufs)
	r.sqTail = atomicLoad(m.sqProd) // 0 on a new ring
}

// shut marks the rings dead and unmaps them; the reap loop's last act.
func (r *ringSQ) shut() {
	r.sqMu.Lock()
	r.dead = true
	r.sqMu.Unlock()
	r.m.unmap()
	close(r.closed)
}

// notify wakes whoever waits for progress (SQ room, a call slot, CQ room).
func (r *ringSQ) notify() {
	if p := r.progress.Load(); p != nil && r.progress.CompareAndSwap(p, nil) {
		close(*p)
	}
}

// waitProgress returns a channel closed at the next notify.
func (r *ringSQ) waitProgress() <-chan struct{} {
	for {
		if p := r.progress.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{})
		if r.progress.CompareAndSwap(nil, &ch) {
			return ch
		}
	}
}

// sqRoom is the number of free SQ slots; sqMu held, ring alive.
func (r *ringSQ) sqRoom() uint32 {
	used := r.sqTail - atomicLoad(r.m.sqCons)
	if used > r.g.sqEntries { // a consumer the kernel never wrote
		return 0
	}
	return r.g.sqEntries - used
}

// put writes one entry at the tail; sqMu held, room checked.
func (r *ringSQ) put(e *rawSQE) {
	r.m.sqes[r.sqTail&(r.g.sqEntries-1)] = *e
	r.sqTail++
}

// flush moves waiting buffer returns (and the owner's flushMore) into the SQ as far as
// it has room; sqMu held, ring alive.  Reports whether it wrote any.
func (r *ringSQ) flush() bool {
	wrote := false
	for len(r.returns) > 0 && r.sqRoom() > 0 {
		r.put(&rawSQE{Op: opBufReturn, Buf: r.returns[len(r.returns)-1]})
		r.returns = r.returns[:len(r.returns)-1]
		wrote = true
	}
	if r.flushMore != nil && r.flushMore() {
		wrote = true
	}
	return wrote
}

// txBuf returns the transmit buffer tied to the next SQ slot and its
// offset in the area; sqMu held, room checked.  The kernel copies an
// entry's payload while it consumes the entry, so the buffer is free
// again exactly when the slot is.
func (r *ringSQ) txBuf() (uint32, []byte) {
	slot := r.sqTail & (r.g.sqEntries - 1)
	off := (uint64(r.g.rxBufs) + uint64(slot)) * uint64(r.g.bufSize)
	return uint32(off), r.m.area[off : off+uint64(r.g.bufSize)]
}

// submit publishes the entries written, releases sqMu and makes sure the
// kernel looks at them.
func (r *ringSQ) submit() {
	r.publish()
	r.sqMu.Unlock()
	r.kick()
}

// noRoom ends a producer's look that found no room (sqMu held; wrote:
// flush wrote entries): it publishes them, releases sqMu and returns the
// channel to wait on for progress.  The first time (wait nil) the channel
// is new and ready is false: look again with it in hand, so that no
// progress between the look and the wait is missed.  Then ready is true,
// after a kick so that the kernel takes what it can.
func (r *ringSQ) noRoom(wrote bool, wait <-chan struct{}) (_ <-chan struct{}, ready bool) {
	if wrote {
		r.publish()
	}
	r.sqMu.Unlock()
	if wait == nil {
		return r.waitProgress(), false
	}
	r.kick()
	return wait, true
}

// publish stores the producer index (release); sqMu held.
func (r *ringSQ) publish() { atomicStore(r.m.sqProd, r.sqTail) }

// kick makes sure the kernel looks at the SQ: one goroutine at a time
// rings the doorbell, and rings again while others asked meanwhile.
func (r *ringSQ) kick() {
	if r.kickers.Add(1) != 1 {
		return
	}
	// let the goroutines that are ready to run (callers the reaper just
	// woke, say) write their entries first: they then share this
	// doorbell instead of each ringing its own
	runtime.Gosched()
	for {
		seen := r.kickers.Load()
		r.ring()
		if r.kickers.Add(-seen) == 0 {
			return
		}
	}
}

// ring is one round of the kicker: a doorbell if the kernel needs one.
// With NEED_WAKEUP clear the kernel is in the middle of a pass over the
// SQ (a doorbell of another goroutine, or its work item) and will take
// the new entries itself; ring lets it run and looks again, and rings
// anyway if the entries are still there after a few looks: a pass that
// stopped early (EAGAIN) posts nothing, so nobody else would notice
// entries it left.  A doorbell the kernel did not need costs a system
// call and nothing else.
func (r *ringSQ) ring() {
	looks := 0
	for {
		r.sqMu.Lock()
		if r.dead {
			r.sqMu.Unlock()
			return
		}
		if r.flush() {
			r.publish()
		}
		tail := r.sqTail
		// after our producer store (sequentially consistent): see
		// the package comment in ring.go
		need := atomicLoad(r.m.sqFlags)&ringNeedWakeup != 0
		left := tail != atomicLoad(r.m.sqCons)
		waiters := r.progress.Load() != nil
		room := r.sqRoom() > 0 && (r.room == nil || r.room())
		r.sqMu.Unlock()
		if waiters && room {
			r.notify()
		}
		if !left {
			return
		}
		// with waiters, ring even when the kernel said it would look:
		// consumption without completions wakes nobody here
		if !need && !waiters && looks < 16 {
			looks++
			runtime.Gosched()
			continue
		}
		r.bells.Add(1)
		if err := r.s.rc.Control(r.bell.fn); err != nil {
			return // closed: the reap loop fails the calls
		}
		switch {
		case r.bell.err == 0 && r.bell.n > 0:
			r.notify()
			continue // more may have come, or the kernel stopped early
		case r.bell.err == 0, r.bell.err == syscall.EAGAIN:
			r.startUnstall()
		default:
			r.die(os.NewSyscallError("send (ring doorbell)", r.bell.err))
		}
		return
	}
}

// startUnstall starts the goroutine that rings again once the kernel may
// take the entries it left in the SQ.
func (r *ringSQ) startUnstall() {
	r.stalls.Add(1)
	if r.stalled.CompareAndSwap(false, true) {
		go r.unstall()
	}
}

func (r *ringSQ) unstall() {
	for {
		wait := r.waitProgress()
		r.sqMu.Lock()
		if r.dead {
			r.sqMu.Unlock()
			r.stalled.Store(false)
			return
		}
		if r.flush() {
			r.publish()
		}
		left := r.sqTail != atomicLoad(r.m.sqCons)
		// the kernel needs two free CQ entries for an entry: with
		// fewer, only the reap loop can help, POLLOUT would not
		cqUsed := atomicLoad(r.m.cqProd) - atomicLoad(r.m.cqCons)
		cqLow := cqUsed+2 > r.g.cqEntries
		r.sqMu.Unlock()
		if !left {
			break
		}
		var out <-chan struct{}
		if !cqLow {
			out = r.ww.wakeup()
		}
		select {
		case <-out:
		case <-wait:
		case <-r.closed:
			r.stalled.Store(false)
			return
		}
		r.bells.Add(1)
		if err := r.s.rc.Control(r.ubell.fn); err != nil {
			r.stalled.Store(false)
			return
		}
		if e := r.ubell.err; e != 0 && e != syscall.EAGAIN {
			r.stalled.Store(false)
			r.die(os.NewSyscallError("send (ring doorbell)", e))
			return
		}
		if r.ubell.n > 0 {
			r.notify()
		}
	}
	r.stalled.Store(false)
	// a kicker that met EAGAIN while we were finishing left it to us
	r.kick()
}

// die ends the socket after a failure of the rings themselves.
func (r *ringSQ) die(err error) {
	r.fatal.CompareAndSwap(nil, &err)
	// the reap loop wakes, fails the calls, unmaps; not from here: the
	// caller may be the reap loop itself, inside the poller's Read,
	// which Close would wait for
	go r.s.close()
}

func (r *ringSQ) deadErr() error {
	if p := r.fatal.Load(); p != nil {
		return *p
	}
	return net.ErrClosed
}

// afterPoll runs after a poll() of the socket outside the runtime
// poller (the POLLOUT check of the write waiter).  That poll() may have
// moved messages into the CQ without waking anyone: the kernel counts on
// the poller to report EPOLLIN, and this one looks at POLLOUT only.  If
// completions wait, the reap goroutine is woken through a read deadline
// in the past.
func (r *ringSQ) afterPoll() {
	r.sqMu.Lock()
	waiting := !r.dead && atomicLoad(r.m.cqProd) != atomicLoad(r.m.cqCons)
	r.sqMu.Unlock()
	if waiting {
		r.pokes.Add(1)
		r.s.f.SetReadDeadline(time.Now())
	}
}

// reapLoop runs the reap pass fn in the runtime poller until the socket
// fails, and returns why (the rings' own failure first).
func (r *ringSQ) reapLoop(fn func(fd uintptr) bool) error {
	for {
		err := r.s.rc.Read(fn)
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// afterPoll's wakeup: clear it, then look
			r.s.f.SetReadDeadline(time.Time{})
			continue
		}
		if p := r.fatal.Load(); p != nil {
			return *p
		}
		return r.s.pollErr(err)
	}
}

// cqWindow returns where the completions to take start and how many
// there are: what the producer index shows (loaded with acquire, so the
// entries before it are written), at most one ring's worth.
func (r *ringSQ) cqWindow() (head, n uint32) {
	head = atomicLoad(r.m.cqCons)
	n = atomicLoad(r.m.cqProd) - head
	return head, min(n, r.g.cqEntries)
}
