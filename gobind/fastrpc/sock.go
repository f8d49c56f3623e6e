// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// The socket lives in the Go runtime poller: a non-blocking descriptor
// wrapped by os.NewFile, used through SyscallConn.  sendmsg and recvmsg are
// raw system calls from Go; EAGAIN parks the goroutine, not a thread.
// The functions given to RawConn.Read and Write are method values made
// once per operation object (sendOp, recvOp), so that a call allocates no
// closure.
//
// sendmsg of up to rawSyscallMax bytes and the recvmsg of the receive
// loops are made with syscall.RawSyscall, without telling the scheduler
// that the goroutine enters a system call.  The descriptor is
// non-blocking, so these never wait for the peer: they copy, allocate
// (which may reclaim memory) and take the module's and TCP's locks, all
// brief unless the machine is short of memory.  With syscall.Syscall the
// P sits in _Psyscall meanwhile and, with GOMAXPROCS 1, sysmon takes it
// away whenever a call spans one of its 20 µs ticks: the P is handed to
// another thread, woken for nothing, and the goroutine waits for a P on
// the way out.  Measured: 64-byte calls about 20 % faster
// (Documentation/benchmarks.rst).  The price: a call stalled in the
// kernel (reclaim) holds its P, and a stop-the-world, meanwhile.  Sends
// over rawSyscallMax, and the ring's reads of messages known to be large,
// still use Syscall: their copy is long enough for the P to be worth
// handing over.  A receive loop reads into a MaxMessage buffer without
// knowing the size first; it stays raw, large messages being the rare
// case.

import (
	"errors"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

type sock struct {
	f      *os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// newSocket creates a blocking AF_FASTRPC socket (connect/bind run first).
func newSocket() (int, error) {
	fd, err := syscall.Socket(family(), syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, os.NewSyscallError("socket", err)
	}
	return fd, nil
}

// wrap hands fd to the poller.
func wrap(fd int, name string) (*sock, error) {
	if err := syscall.SetNonblock(fd, true); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("setnonblock", err)
	}
	f := os.NewFile(uintptr(fd), name)
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &sock{f: f, rc: rc}, nil
}

// sockaddrCall runs connect(2) or bind(2) on a raw sockaddr, retrying on
// EINTR (the Go runtime's own signals interrupt the kernel's wait).
func sockaddrCall(trap uintptr, fd int, sa *rawSockaddr) error {
	for {
		_, _, e := syscall.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(sa)), sizeofSockaddr)
		runtime.KeepAlive(sa)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EISCONN && trap == syscall.SYS_CONNECT:
			return nil
		case e != 0:
			return e
		}
		return nil
	}
}

func getsockname(fd int) ([]byte, error) {
	var buf [64]byte
	l := uint32(len(buf))
	_, _, e := syscall.RawSyscall(syscall.SYS_GETSOCKNAME, uintptr(fd),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&l)))
	if e != 0 {
		return nil, e
	}
	return buf[:l], nil
}

// rawSyscallMax is the largest sendmsg made as a RawSyscall.
const rawSyscallMax = 64 << 10

func rawSendmsg(fd int, p, oob []byte, flags int) (int, error) {
	var msg syscall.Msghdr
	var iov syscall.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = &iov
		msg.Iovlen = 1
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	var n uintptr
	var e syscall.Errno
	if len(p) <= rawSyscallMax {
		n, _, e = syscall.RawSyscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	} else {
		n, _, e = syscall.Syscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(oob)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRecvmsg is recvmsg(2), a RawSyscall if raw (see the top).
func rawRecvmsg(fd int, p, oob, name []byte, flags int, raw bool) (n, oobn, mflags, namelen int, err error) {
	var msg syscall.Msghdr
	var iov syscall.Iovec
	if len(p) > 0 {
		iov.Base = &p[0]
		iov.SetLen(len(p))
		msg.Iov = &iov
		msg.Iovlen = 1
	}
	if len(oob) > 0 {
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}
	if len(name) > 0 {
		msg.Name = &name[0]
		msg.Namelen = uint32(len(name))
	}
	var r uintptr
	var e syscall.Errno
	if raw {
		r, _, e = syscall.RawSyscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	} else {
		r, _, e = syscall.Syscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	}
	runtime.KeepAlive(p)
	runtime.KeepAlive(oob)
	runtime.KeepAlive(name)
	if e != 0 {
		return 0, 0, 0, 0, e
	}
	return int(r), int(msg.Controllen), int(msg.Flags), int(msg.Namelen), nil
}

// sendOp is one sendmsg: its arguments, its error and the function
// RawConn.Write runs, bound once.  wait: park on EAGAIN (true) or return
// it to the caller (false).
type sendOp struct {
	p, oob []byte
	flags  int
	wait   bool
	err    error
	fn     func(fd uintptr) bool
}

func (o *sendOp) init() { o.fn = o.do }

func (o *sendOp) do(fd uintptr) bool {
	for {
		_, o.err = rawSendmsg(int(fd), o.p, o.oob, o.flags)
		if o.err != syscall.EINTR {
			return !o.wait || o.err != syscall.EAGAIN
		}
	}
}

// send runs o with p and oob.  With o.wait it parks the goroutine while
// the socket pushes back (SO_SNDBUF full); otherwise EAGAIN comes back.
func (s *sock) send(o *sendOp, p, oob []byte) error {
	o.p, o.oob = p, oob
	err := s.rc.Write(o.fn)
	o.p, o.oob = nil, nil
	if err != nil {
		return s.pollErr(err)
	}
	if o.err != nil {
		return os.NewSyscallError("sendmsg", o.err)
	}
	return nil
}

// sendmsg sends one message, parking the goroutine while the socket
// pushes back.  Not for the per-call path: it allocates its sendOp.
func (s *sock) sendmsg(p, oob []byte) error {
	o := &sendOp{wait: true}
	o.init()
	return s.send(o, p, oob)
}

// recvOp is the recvmsg of a receive loop, bound once like sendOp.
type recvOp struct {
	p, oob, name             []byte
	n, oobn, mflags, namelen int
	err                      error
	fn                       func(fd uintptr) bool
}

func newRecvOp(p, oob, name []byte) *recvOp {
	o := &recvOp{p: p, oob: oob, name: name}
	o.fn = o.do
	return o
}

func (o *recvOp) do(fd uintptr) bool {
	for {
		o.n, o.oobn, o.mflags, o.namelen, o.err = rawRecvmsg(int(fd), o.p, o.oob, o.name, 0, true)
		if o.err != syscall.EINTR {
			return o.err != syscall.EAGAIN
		}
	}
}

// recv receives one message into o's buffers, parking the goroutine until
// one is queued.
func (s *sock) recv(o *recvOp) error {
	if err := s.rc.Read(o.fn); err != nil {
		return s.pollErr(err)
	}
	if o.err != nil {
		return os.NewSyscallError("recvmsg", o.err)
	}
	return nil
}

// pollErr turns the poller's "file already closed" into net.ErrClosed.
func (s *sock) pollErr(err error) error {
	if s.closed.Load() || errors.Is(err, os.ErrClosed) {
		return net.ErrClosed
	}
	return err
}

// close closes the descriptor once; goroutines parked on it wake up.
func (s *sock) close() error {
	if s.closed.Swap(true) {
		return net.ErrClosed
	}
	return s.f.Close()
}

// control runs f on the descriptor (setsockopt and friends).
func (s *sock) control(f func(fd int) error) error {
	var ferr error
	if err := s.rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return s.pollErr(err)
	}
	return ferr
}

// pollOut reports whether fd is writable now (ppoll with a zero timeout).
func pollOut(fd int) bool {
	pfd := struct {
		fd             int32
		events, revent int16
	}{fd: int32(fd), events: pollOUT}
	var ts syscall.Timespec
	n, _, e := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&pfd)), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	return e == 0 && n == 1 && pfd.revent&pollOUT != 0
}

const pollOUT = 0x4 // POLLOUT, the same on every Linux architecture

// writeWaiter waits for POLLOUT on a client socket for any number of
// senders at once, each until its own context ends.  One goroutine at a
// time parks in the poller on a duplicate of the descriptor (its own
// poller registration and write lock, so that senders, a CANCEL for
// instance, go on using the socket meanwhile) and wakes them all.
type writeWaiter struct {
	s  *sock // the duplicate descriptor; nothing is sent on it
	ch atomic.Pointer[chan struct{}]
	// polled, if set, runs after each ppoll of the socket: on a socket
	// with rings, poll() also moves arrived messages into the CQ, and
	// the CQ's reader must then be told (clientRing.afterPoll)
	polled func()
}

func newWriteWaiter(fd int, name string) (*writeWaiter, error) {
	dup, err := syscall.Dup(fd)
	if err != nil {
		return nil, os.NewSyscallError("dup", err)
	}
	syscall.CloseOnExec(dup)
	s, err := wrap(dup, name)
	if err != nil {
		return nil, err
	}
	return &writeWaiter{s: s}, nil
}

// wakeup returns a channel closed when the socket may be writable again
// (or the waiter is closed).  Call it after a send failed with EAGAIN.
func (w *writeWaiter) wakeup() <-chan struct{} {
	for {
		if ch := w.ch.Load(); ch != nil {
			return *ch
		}
		ch := make(chan struct{})
		if w.ch.CompareAndSwap(nil, &ch) {
			go w.watch(&ch)
			return ch
		}
	}
}

func (w *writeWaiter) watch(ch *chan struct{}) {
	first := true
	// The poller forgets readiness seen before Write starts waiting: look
	// once first, so that room made after the sender's EAGAIN is not
	// missed; any later change is an edge the poller records.
	_ = w.s.rc.Write(func(fd uintptr) bool {
		if first {
			first = false
			ok := pollOut(int(fd))
			if w.polled != nil {
				w.polled()
			}
			return ok
		}
		return true
	})
	w.ch.CompareAndSwap(ch, nil)
	close(*ch)
}

func (w *writeWaiter) close() error { return w.s.close() }

// features returns the module's FASTRPC_FEAT_* bits (getsockopt
// FASTRPC_FEATURES on fd), 0 if it will not say.
func features(fd int) uint64 {
	var f rawFeatures
	n := uint32(sizeofFeatures)
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solFastRPC, optFeatures,
		uintptr(unsafe.Pointer(&f)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 || n < uint32(unsafe.Offsetof(f.Features)+unsafe.Sizeof(f.Features)) {
		return 0
	}
	return f.Features
}
