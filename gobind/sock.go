// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// The socket lives in the Go runtime poller: a non-blocking descriptor
// wrapped by os.NewFile, used through SyscallConn.  sendmsg and recvmsg are
// raw system calls from Go; EAGAIN parks the goroutine, not a thread.

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
func sockaddrCall(trap uintptr, fd int, sa []byte) error {
	for {
		_, _, e := syscall.Syscall(trap, uintptr(fd), uintptr(unsafe.Pointer(&sa[0])), uintptr(len(sa)))
		runtime.KeepAlive(sa)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.EISCONN && trap == syscall.SYS_CONNECT {
			return nil
		}
		if e != 0 {
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
	n, _, e := syscall.Syscall(syscall.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	runtime.KeepAlive(p)
	runtime.KeepAlive(oob)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

func rawRecvmsg(fd int, p, oob, name []byte, flags int) (n, oobn, mflags, namelen int, err error) {
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
	r, _, e := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
	runtime.KeepAlive(p)
	runtime.KeepAlive(oob)
	runtime.KeepAlive(name)
	if e != 0 {
		return 0, 0, 0, 0, e
	}
	return int(r), int(msg.Controllen), int(msg.Flags), int(msg.Namelen), nil
}

// sendmsg sends one message, parking the goroutine while the socket pushes
// back (SO_SNDBUF full, FASTRPC_MAX_CALLS calls open).
func (s *sock) sendmsg(p, oob []byte, flags int) error {
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		for {
			_, serr = rawSendmsg(int(fd), p, oob, flags)
			if serr != syscall.EINTR {
				return serr != syscall.EAGAIN
			}
		}
	})
	if err != nil {
		return s.pollErr(err)
	}
	if serr != nil {
		return os.NewSyscallError("sendmsg", serr)
	}
	return nil
}

// trySendmsg sends one message without waiting: EAGAIN comes back to the
// caller, which waits in its own way (Client.Call, for its context).
func (s *sock) trySendmsg(p, oob []byte) error {
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		for {
			_, serr = rawSendmsg(int(fd), p, oob, 0)
			if serr != syscall.EINTR {
				return true
			}
		}
	})
	if err != nil {
		return s.pollErr(err)
	}
	if serr != nil {
		return os.NewSyscallError("sendmsg", serr)
	}
	return nil
}

// recvmsg receives one message, parking the goroutine until one is queued.
func (s *sock) recvmsg(p, oob, name []byte) (n, oobn, mflags, namelen int, err error) {
	var serr error
	err = s.rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, mflags, namelen, serr = rawRecvmsg(int(fd), p, oob, name, 0)
			if serr != syscall.EINTR {
				return serr != syscall.EAGAIN
			}
		}
	})
	if err != nil {
		return 0, 0, 0, 0, s.pollErr(err)
	}
	if serr != nil {
		return 0, 0, 0, 0, os.NewSyscallError("recvmsg", serr)
	}
	return n, oobn, mflags, namelen, nil
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
