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
// kernel's completions do not carry the caller's address), and Reply
// cannot report what the kernel finds wrong after it queued the reply.
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
		return false
	}
	for i := uint32(0); i < n; i++ {
		c := m.cqes[(head+i)&(g.cqEntries-1)] // copied once, checked below
		atomicStore(m.cqCons, head+i+1)       // release: done reading it
		r.complete(int(fd), &c)
	}
	r.commit()
	if n == g.cqEntries {
		// the kernel may have messages waiting for CQ room, and only
		// a doorbell (or a poll(), which the edge-triggered poller
		// will not make) brings them in
		r.bells.Add(1)
		r.s.rc.Control(r.rbell.fn)
	}
	return true
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
		msg, err = r.recvBig(fd, c)
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

// recvBig reads a message the CQ announced with FASTRPC_CQE_F_RECVMSG
// into r's buffers, valid until the next one.
func (r *serverRing) recvBig(fd int, c *rawCQE) (cqeMsg, error) {
	msg := cqeMsg{ret: ringNoBuf}
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
		if err != nil {
			return msg, os.NewSyscallError("recvmsg", err)
		}
		pc, perr := parseControl(r.bigOOB[:oobn], cmsgIncoming, sizeofIncoming)
		if perr != nil || decode[rawIncoming](pc.verb).Handle != c.Id || n != int(c.Len) {
			return msg, errRingCQE
		}
		msg.data = r.bigP[:n]
		if pc.hasMeta {
			msg.meta = pc.meta
		}
		return msg, nil
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
