// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// A Listener whose calls come and go through the socket's rings
// (ListenRing).
//
// Incoming: the reap goroutine waits for the CQ in the runtime poller
// (EPOLLIN), takes every INCOMING completion, copies each message out of
// its receive buffers and delivers it as the recvmsg loop does (a new
// call to Serve or Recv, a streaming call's later message to its stream,
// a cancellation notice to the call's context).  The buffers go back in
// BUF_RETURN entries, many per pass.  A message too large for the
// receive buffers (FASTRPC_CQE_F_RECVMSG) is read with recvmsg().
//
// Replies: Request.Reply writes the trailers, status message and payload
// into the transmit buffer tied to its SQ slot and a REPLY entry, and
// kicks (ringsq.go): while the kernel is busy with the socket anyway, a
// new call arriving for instance, it takes the entries without a system
// call, and otherwise one doorbell carries every reply written
// meanwhile.  A reply larger than a buffer goes out with sendmsg(), as
// without rings.  The kernel's verdict on a REPLY comes later as an
// ERROR completion (ECANCELED for a call cancelled meanwhile): counted,
// since the handler that sent it has moved on.

import (
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// ListenRing makes the Listener take its calls and send its replies
// through the socket's submission and completion rings instead of one
// recvmsg and one sendmsg per call: under load, many calls arrive and
// many replies leave per system call, or with none at all.  The sizes
// are those of WithRing: sqEntries and cqEntries powers of two up to
// 32768 (0 for 256 and 512), bufBytes the size of each buffer (a power
// of two, 64 bytes to 4 MiB; 0 for 2048).  A call whose request exceeds
// the receive buffers together is read with recvmsg, a reply whose
// trailers, status message and payload exceed bufBytes is sent with
// sendmsg.  What changes for the application: Request.Peer is zero (the
// kernel's completions do not carry the caller's address); Reply cannot
// report what the kernel finds wrong after it queued the reply; and
// Timeout counts from when the kernel posted the call's completion, so a
// call whose completion waited while the reader was held back (Recv's
// read-ahead limit) can see its deadline end its context as Canceled
// rather than DeadlineExceeded.
// Listen fails if the module has no rings (FASTRPC_FEAT_RING).
func ListenRing(sqEntries, cqEntries, bufBytes int) ListenOption {
	return func(o *listenOptions) {
		o.ring = ringOptions{on: true, sq: sqEntries, cq: cqEntries, bufBytes: bufBytes}
	}
}

// serverRing drives a listening socket's rings.
type serverRing struct {
	ringSQ
	l       *Listener
	reapFn  func(fd uintptr) bool
	pending []uint32 // the reaper's runs to give back, not yet in returns
	bigP    []byte   // recvmsg buffers for FASTRPC_CQE_F_RECVMSG messages
	bigOOB  []byte
	// bigAhead: a message recvmsg() returned before its completion
	// came (the one announced first was dropped with its call)
	bigAhead *bigMsg
	// lookForEOF's ring wait: ringWait (a test's stub)
	waitFn func(fd uintptr) (uintptr, syscall.Errno)

	later      *time.Timer // kickLater's backstop
	laterArmed atomic.Bool

	reaped    atomic.Uint64 // INCOMING completions taken: for tests
	refused   atomic.Uint64 // ERROR completions (a REPLY the kernel refused)
	malformed atomic.Uint64 // completions that failed the checks
}

// startRing sets up and maps the rings of the Listener's socket fd and
// starts its reap goroutine in place of the recvmsg loop.
func (l *Listener) startRing(fd int, o ringOptions) error {
	s, err := o.setup()
	if err != nil {
		return err
	}
	ww, err := newWriteWaiter(fd, "fastrpc-pollout:"+l.laddr.String())
	if err != nil {
		return err
	}
	m, err := setupRing(fd, &s)
	if err != nil {
		ww.close()
		return err
	}
	r := &serverRing{l: l, pending: make([]uint32, 0, m.g.cqEntries)}
	r.initSQ(m, l.s, ww)
	r.reapFn = r.reapPass
	r.waitFn = ringWait
	r.later = time.AfterFunc(time.Hour, r.lateKick)
	r.later.Stop()
	ww.polled = r.afterPoll
	l.ring, l.ww = r, ww
	go r.reap()
	return nil
}

// reap takes completions until the socket is closed, then unmaps the
// rings and fails what is left.
func (r *serverRing) reap() {
	err := r.reapLoop(r.reapFn)
	r.later.Stop()
	r.shut()
	r.l.fail(err)
}

// reapPass takes the completions the CQ holds; false (wait for EPOLLIN)
// when there were none.  The consumer index moves past each entry as it
// is copied out, before the entry is delivered: delivery may wait for the
// application (the read-ahead limits), and the kernel may go on filling
// the CQ meanwhile.
func (r *serverRing) reapPass(fd uintptr) bool {
	m, g := r.m, &r.g
	head, n := r.cqWindow()
	if n == 0 {
		return r.l.shut.Load() && r.l.eofFeature && r.lookForEOF(fd)
	}
	for i := uint32(0); i < n; i++ {
		c := m.cqes[(head+i)&(g.cqEntries-1)] // copied once, checked below
		atomicStore(m.cqCons, head+i+1)       // release: done reading it
		r.complete(int(fd), &c)
	}
	r.commit()
	// CQ room for the kernel's entries: whoever waits for it (an
	// unstaller with a nearly full CQ, a Reply on a full SQ)
	r.notify()
	// The kernel may have filled the CQ during the pass (the consumer
	// moves entry by entry) or before it: messages that found no room
	// then wait in the socket, and only a doorbell (or a poll(), which
	// the edge-triggered poller will not make) brings them in.
	if atomicLoad(m.cqProd)-head >= g.cqEntries {
		r.bells.Add(1)
		if r.s.rc.Control(r.rbell.fn) == nil && r.rbell.n > 0 {
			r.notify()
		}
	}
	return true
}

// lookForEOF asks the kernel, on a Listener shut down (Shutdown) with
// the CQ found empty, whether nothing more will come: the ring wait,
// send(MSG_WAITALL) without waiting, fails with ESHUTDOWN then (the end of
// file, FASTRPC_FEAT_SHUTDOWN_EOF), and the Listener is told (markEOF).
// Every reap pass with nothing to take asks, after the poller's
// readiness was reset (RawConn.Read), so the wakeup of the end of file
// cannot be missed; the reaper then stays, for Close.  Any other error
// than EAGAIN (nothing yet) fails the Listener (die), as a doorbell's
// does: no end of file would come to wake the poller.  True when the
// look brought completions into the CQ: the pass runs again.
func (r *serverRing) lookForEOF(fd uintptr) bool {
	r.l.mu.Lock()
	at := r.l.atEOF
	r.l.mu.Unlock()
	if at {
		return false
	}
	for {
		n, e := r.waitFn(fd)
		if e == syscall.EINTR {
			continue
		}
		if e == syscall.ESHUTDOWN {
			r.l.markEOF()
			return false
		}
		if e != 0 && e != syscall.EAGAIN {
			// a broken socket: Recv would wait for ever
			r.die(os.NewSyscallError("send (ring wait)", e))
			return false
		}
		if atomicLoad(r.m.cqProd) != atomicLoad(r.m.cqCons) {
			return true
		}
		if e == 0 && n > 0 {
			// it took SQ entries (the doorbell) instead of
			// answering: ask again
			r.notify()
			continue
		}
		// EAGAIN: not yet; the end of file wakes the poller
		return false
	}
}

// ringWait is the ring wait without waiting: send(MSG_WAITALL) of
// nothing, made with MSG_DONTWAIT.
func ringWait(fd uintptr) (uintptr, syscall.Errno) {
	n, _, e := syscall.Syscall6(syscall.SYS_SENDTO, fd, 0, 0,
		syscall.MSG_DONTWAIT|syscall.MSG_NOSIGNAL|syscall.MSG_WAITALL, 0, 0)
	return n, e
}

// commit hands the runs of the messages delivered so far back to the
// kernel, through the SQ.
func (r *serverRing) commit() {
	if len(r.pending) == 0 {
		return
	}
	r.sqMu.Lock()
	r.returns = append(r.returns, r.pending...)
	r.pending = r.pending[:0]
	wrote := !r.dead && r.flush()
	if wrote {
		r.publish()
	}
	few := r.sqTail-atomicLoad(r.m.sqCons) <= r.g.rxBufs/4
	r.sqMu.Unlock()
	switch {
	case !wrote:
	case few:
		r.kickLater()
	default:
		r.kick()
	}
}

// returnDelay is how long buffer returns may wait in the SQ for a
// doorbell of a reply before they get one of their own.
const returnDelay = time.Millisecond

// kickLater leaves the buffer returns just written to the next doorbell,
// that of the reply the handler is about to send, with a timer as the
// backstop: a system call per call saved where calls come one at a time,
// and no message kept waiting for buffers while a handler takes its time
// (the kernel brings in messages that wait for buffers when it takes the
// returns).  Only while few entries wait (commit): most of the receive
// buffers stay the kernel's.
func (r *serverRing) kickLater() {
	if r.laterArmed.CompareAndSwap(false, true) {
		r.later.Reset(returnDelay)
	}
}

// kickDeferred rings now for returns kickLater left waiting.
func (r *serverRing) kickDeferred() {
	if r.laterArmed.Load() {
		r.kick()
	}
}

func (r *serverRing) lateKick() {
	r.laterArmed.Store(false)
	r.kick()
}

// complete delivers one completion.
func (r *serverRing) complete(fd int, c *rawCQE) {
	lent := func() {
		if c.Buf != ringNoBuf && c.Buf%r.g.bufSize == 0 && uint64(c.Buf) < r.g.rxLen {
			r.pending = append(r.pending, c.Buf)
		}
	}
	switch c.Type {
	case cqeIncoming:
	case cqeError:
		r.refused.Add(1)
		return
	default: // not a server's completion
		r.malformed.Add(1)
		lent()
		return
	}
	msg, err := checkResult(&r.g, r.m.area, c)
	if msg.ret != ringNoBuf {
		r.pending = append(r.pending, msg.ret)
	}
	if err == nil && c.Smsg_len != 0 {
		err = errRingCQE
	}
	if err == nil && c.Flags&cqeFRecvmsg != 0 {
		var gone bool
		if msg, gone, err = r.recvBig(fd, c); gone {
			return // dropped in the kernel with its cancelled call
		}
	}
	in := incoming{handle: c.Id, method: c.Method, ns: c.Timeout_ns,
		cancelled: c.Flags&cqeFCancelled != 0, cont: c.Flags&cqeFCont != 0, eor: c.Flags&cqeFEOR != 0,
		deadline: c.Flags&cqeFDeadline != 0,
		data:     msg.data, meta: msg.meta, hasMeta: msg.meta != nil}
	if err != nil {
		r.malformed.Add(1)
		if in.cancelled || in.cont {
			return
		}
		// a new call that cannot be read: answer it, or its handle
		// would stay open until the client gives up
		r.reply(c.Id, Internal, nil, nil, 0, "fastrpc: malformed ring completion")
		return
	}
	if !in.cancelled && !in.cont {
		r.reaped.Add(1)
	}
	r.l.deliver(&in)
}

// bigMsg is a message read with recvmsg() ahead of its completion.
type bigMsg struct {
	handle     uint64
	data, meta []byte
}

// recvBig returns the message a FASTRPC_CQE_F_RECVMSG completion
// announced, read with recvmsg() into r's buffers (valid until the next
// one).  The kernel drops such a message when its call is cancelled
// before it is read (Documentation/rings.rst), so recvmsg() may return a
// later one, whose completion comes later, or nothing (EAGAIN): the
// first is kept for its completion, and gone reports the second.
func (r *serverRing) recvBig(fd int, c *rawCQE) (msg cqeMsg, gone bool, err error) {
	msg = cqeMsg{ret: ringNoBuf}
	if b := r.bigAhead; b != nil {
		if b.handle != c.Id {
			return msg, true, nil // c's was dropped; b waits for its own
		}
		r.bigAhead = nil
		if uint32(len(b.data)) != c.Len {
			return msg, false, errRingCQE
		}
		msg.data, msg.meta = b.data, b.meta
		return msg, false, nil
	}
	if r.bigOOB == nil {
		r.bigOOB = make([]byte, recvControlSpace)
	}
	if len(r.bigP) < int(c.Len) || len(r.bigP) == 0 {
		r.bigP = make([]byte, max(c.Len, 1))
	}
	for {
		n, oobn, _, _, err := rawRecvmsg(fd, r.bigP, r.bigOOB, nil, syscall.MSG_DONTWAIT, len(r.bigP) <= rawSyscallMax)
		if err == syscall.EINTR {
			continue
		}
		if err == syscall.EAGAIN {
			return msg, true, nil
		}
		if err != nil {
			return msg, false, os.NewSyscallError("recvmsg", err)
		}
		if n == 0 && oobn == 0 {
			// end of file (drained after Shutdown): the message is
			// gone, as with EAGAIN; the reap pass that finds the CQ
			// empty reads the end itself (lookForEOF)
			return msg, true, nil
		}
		pc, perr := parseControl(r.bigOOB[:oobn], cmsgIncoming, sizeofIncoming)
		if perr != nil || n > len(r.bigP) {
			return msg, false, errRingCQE
		}
		h := decode[rawIncoming](pc.verb).Handle
		if h != c.Id {
			// a later call's: keep a copy for its completion
			b := &bigMsg{handle: h, data: append([]byte(nil), r.bigP[:n]...)}
			if pc.hasMeta {
				b.meta = append([]byte(nil), pc.meta...)
			}
			r.bigAhead = b
			return msg, true, nil
		}
		if n != int(c.Len) {
			return msg, false, errRingCQE
		}
		msg.data = r.bigP[:n]
		if pc.hasMeta {
			msg.meta = pc.meta
		}
		return msg, false, nil
	}
}

// reply queues the REPLY of call handle in the SQ, waiting while the SQ
// is full.  Reports false, with nothing done, when trailers, status
// message and payload do not fit a buffer: the caller sends it with
// sendmsg.
func (r *serverRing) reply(handle uint64, code Code, data []byte, md Metadata, mdLen int, msg string) (bool, error) {
	if mdLen+len(msg)+len(data) > int(r.g.bufSize) {
		return false, nil
	}
	var wait <-chan struct{}
	for {
		r.sqMu.Lock()
		if r.dead {
			r.sqMu.Unlock()
			return true, r.deadErr()
		}
		wrote := r.flush()
		if r.sqRoom() > 0 {
			off, tx := r.txBuf()
			if mdLen > 0 {
				md.encode(tx[:mdLen])
			}
			copy(tx[mdLen:], msg)
			copy(tx[mdLen+len(msg):], data)
			r.put(&rawSQE{Op: opReply, Meta_len: uint16(mdLen), Method: uint32(code), Id: handle,
				Addr: off, Len: uint32(len(data)), Smsg_len: uint16(len(msg))})
			r.submit()
			return true, nil
		}
		var ready bool
		if wait, ready = r.noRoom(wrote, wait); !ready {
			continue
		}
		select {
		case <-wait:
			wait = nil
		case <-r.closed:
			return true, r.deadErr()
		case <-r.l.closing: // the reaper itself may wait here
			return true, net.ErrClosed
		}
	}
}

// state describes the rings for diagnostics (tests print it on failure).
func (r *serverRing) state() string {
	r.sqMu.Lock()
	defer r.sqMu.Unlock()
	if r.dead {
		return "rings: closed"
	}
	return fmt.Sprintf("rings: SQ tail %d cons %d flags %#x; CQ prod %d cons %d; returns waiting %d, "+
		"deferred %v; stalled %v, kickers %d, doorbells %d (refused %d); reaped %d, refused %d, malformed %d",
		r.sqTail, atomicLoad(r.m.sqCons), atomicLoad(r.m.sqFlags), atomicLoad(r.m.cqProd), atomicLoad(r.m.cqCons),
		len(r.returns), r.laterArmed.Load(), r.stalled.Load(), r.kickers.Load(), r.bells.Load(), r.stalls.Load(),
		r.reaped.Load(), r.refused.Load(), r.malformed.Load())
}
