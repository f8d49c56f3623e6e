// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// A Client whose unary calls go through the socket's rings (WithRing).
//
// Calls: each caller takes the SQ lock, writes its metadata and payload
// into the transmit buffer tied to its SQ slot, writes a CALL entry and
// stores the producer index, then asks for a doorbell (kick).  One
// goroutine at a time rings, send(fd, NULL, 0, MSG_DONTWAIT), and only
// when the kernel set NEED_WAKEUP; callers that arrive while it is in the
// kernel leave their entries for its next round, so many calls share one
// system call.  A request too large for a transmit buffer goes out with
// sendmsg() instead (the two paths share tags); its result still comes
// through the CQ.
//
// Transmit buffers: the area holds rx_bufs receive buffers, then one
// buffer per SQ slot.  The kernel copies an entry's payload while it
// consumes the entry, so a slot's buffer is free again exactly when the
// slot is: no allocator, no return.
//
// Results: the reap goroutine waits for the CQ in the runtime poller
// (EPOLLIN, reported while completions wait; the kernel's poll() is also
// what moves arriving messages into the CQ), copies each result out of
// its receive buffers into the caller's Reply, gives the buffers back
// with BUF_RETURN entries and hands the result to the caller by tag.
// Messages too large for the receive buffers (FASTRPC_CQE_F_RECVMSG) are
// read with recvmsg().
//
// Backpressure: an entry the kernel cannot take yet (SO_SNDBUF full, the
// connection opening, the CQ without room) stays in the SQ and the
// doorbell fails with EAGAIN; one goroutine then waits for POLLOUT (or
// for the reap goroutine to make CQ room) and rings again.  A full SQ
// makes callers wait, never drop.  Calls in flight are kept below the
// socket's FASTRPC_MAX_CALLS here, before they reach the SQ: the SQ is
// consumed strictly in order, so a CALL stalled on the kernel's limit
// would hold back the buffer returns behind it, and with them the very
// results that would lift the limit.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Ring sizes of WithRing's zero values.
const (
	defaultRingSQ  = 256
	defaultRingCQ  = 512
	defaultRingBuf = 2048
)

type ringOptions struct {
	on               bool
	sq, cq, bufBytes int
}

// WithRing makes the client carry its unary calls (Call, Invoke and
// what is built on them) through the socket's submission and completion
// rings instead of one sendmsg and one recvmsg per call: many goroutines'
// calls leave in one system call, or none while the kernel is busy with
// the socket anyway.  sqEntries and cqEntries are the queue sizes (powers
// of two up to 32768; 0 for 256 and 512), bufBytes the size of each
// buffer of the shared area (a power of two, 64 bytes to 4 MiB; 0 for
// 2048).  The area holds cqEntries receive buffers and sqEntries transmit
// buffers, (sqEntries+cqEntries)*bufBytes bytes in all, at most 1 GiB.
// A request whose metadata and payload exceed bufBytes goes out with
// sendmsg; a result larger than the receive buffers together is read
// with recvmsg.  Streams (NewStream) use sockets of their own, without
// rings.  Dial fails if the module has no rings (FASTRPC_FEAT_RING).
func WithRing(sqEntries, cqEntries, bufBytes int) DialOption {
	return func(o *dialOptions) {
		o.ring = ringOptions{on: true, sq: sqEntries, cq: cqEntries, bufBytes: bufBytes}
	}
}

// setup is the fastrpc_ring_setup of the options.
func (o ringOptions) setup() (rawRingSetup, error) {
	sq, cq, b := o.sq, o.cq, o.bufBytes
	if sq == 0 {
		sq = defaultRingSQ
	}
	if cq == 0 {
		cq = defaultRingCQ
	}
	if b == 0 {
		b = defaultRingBuf
	}
	for _, v := range []int{sq, cq, b} {
		if v < 0 || v > ringMaxBuf {
			return rawRingSetup{}, errors.New("fastrpc: WithRing: sizes out of range")
		}
	}
	s := rawRingSetup{Sq_entries: uint32(sq), Cq_entries: uint32(cq), Buf_size: uint32(b),
		Buf_count: uint32(sq + cq), Rx_bufs: uint32(cq)}
	return s, checkRingSetup(&s)
}

// clientRing drives a client socket's rings.
type clientRing struct {
	ringSQ
	c        *Client
	cancels  []uint64 // tags to cancel when the SQ has room; sqMu
	maxCalls int32
	open     atomic.Int32 // calls the kernel may count against FASTRPC_MAX_CALLS

	reapFn     func(fd uintptr) bool
	pending    []uint32 // the reaper's runs to give back, this pass
	bigOOB     []byte
	dispatched []*call
}

// newClientRing sets up and maps the rings of c's socket; the caller
// starts its reap goroutine.
func newClientRing(c *Client, fd int, o ringOptions) (*clientRing, error) {
	s, err := o.setup()
	if err != nil {
		return nil, err
	}
	maxCalls, err := syscall.GetsockoptInt(fd, solFastRPC, optMaxCalls)
	if err != nil {
		return nil, os.NewSyscallError("getsockopt FASTRPC_MAX_CALLS", err)
	}
	m, err := setupRing(fd, &s)
	if err != nil {
		return nil, err
	}
	r := &clientRing{c: c, maxCalls: int32(min(maxCalls, 1<<30)), pending: make([]uint32, 0, m.g.cqEntries)}
	r.initSQ(m, c.s, c.ww)
	r.flushMore = r.flushCancels
	r.room = func() bool { return r.open.Load() < r.maxCalls }
	r.reapFn = r.reapPass
	return r, nil
}

// flushCancels moves waiting cancels into the SQ as far as it has room;
// sqMu held.  Reports whether it wrote any.
func (r *clientRing) flushCancels() bool {
	wrote := false
	for len(r.cancels) > 0 && r.sqRoom() > 0 {
		r.put(&rawSQE{Op: opCancel, Id: r.cancels[0]})
		r.cancels = r.cancels[1:]
		wrote = true
	}
	if len(r.cancels) == 0 {
		r.cancels = r.cancels[:0:0]
	}
	return wrote
}

// start submits the CALL of cl: through the SQ, or with sendmsg when the
// request does not fit a transmit buffer.  It waits while the SQ is full
// or the socket's calls are all in flight, or until ctx ends.  Returns
// the timeout sent with the call.
func (r *clientRing) start(ctx context.Context, cl *call, method uint32, req []byte, md Metadata, mdLen int) (time.Duration, error) {
	fits := mdLen+len(req) <= int(r.g.bufSize)
	var wait <-chan struct{}
	for {
		r.sqMu.Lock()
		if r.dead {
			r.sqMu.Unlock()
			return 0, r.c.opErr(r.deadErr())
		}
		wrote := r.flush()
		if r.open.Load() < r.maxCalls && (!fits || r.sqRoom() > 0) {
			var timeout time.Duration
			if dl, ok := ctx.Deadline(); ok {
				if timeout = time.Until(dl); timeout <= 0 {
					if wrote {
						r.publish()
					}
					r.sqMu.Unlock()
					return 0, ctxStatus(context.DeadlineExceeded)
				}
			}
			r.open.Add(1)
			if !fits {
				if wrote {
					r.publish()
				}
				r.sqMu.Unlock()
				// buffer returns the reaper left in the SQ go
				// in before the result that may need them
				r.kick()
				t, err := r.c.start(ctx, cl, method, req, md, mdLen)
				if err != nil {
					r.open.Add(-1)
					r.notify()
				}
				return t, err
			}
			off, tx := r.txBuf()
			if mdLen > 0 {
				md.encode(tx[:mdLen])
			}
			copy(tx[mdLen:], req)
			r.put(&rawSQE{Op: opCall, Meta_len: uint16(mdLen), Method: method, Id: cl.tag,
				Addr: off, Len: uint32(len(req)), Timeout_ns: uint64(max(timeout, 0))})
			r.submit()
			return timeout, nil
		}
		var ready bool
		if wait, ready = r.noRoom(wrote, wait); !ready {
			continue
		}
		select {
		case <-wait:
			wait = nil
		case <-ctx.Done():
			return 0, ctxStatus(ctx.Err())
		case <-r.closed:
			return 0, r.c.opErr(r.deadErr())
		}
	}
}

// cancel asks the kernel to cancel tag, after its CALL (the SQ is
// consumed in order).  It never waits: without SQ room the cancel is
// queued and goes with the next entries.
func (r *clientRing) cancel(tag uint64) {
	r.sqMu.Lock()
	if r.dead {
		r.sqMu.Unlock()
		return
	}
	r.flush()
	if len(r.cancels) == 0 && r.sqRoom() > 0 {
		r.put(&rawSQE{Op: opCancel, Id: tag})
	} else {
		r.cancels = append(r.cancels, tag)
	}
	r.publish()
	r.sqMu.Unlock()
	r.kick()
}

// reap is the reap goroutine: it takes completions until the socket is
// closed, then fails what is left and unmaps the rings.
func (r *clientRing) reap() {
	err := r.reapLoop(r.reapFn)
	r.shut()
	r.c.fail(err)
}

// reapPass takes the completions the CQ holds; false (wait for EPOLLIN)
// when there were none.
func (r *clientRing) reapPass(fd uintptr) bool {
	m, g := r.m, &r.g
	head, n := r.cqWindow()
	if n == 0 {
		return false
	}
	full := n == g.cqEntries
	for i := uint32(0); i < n; i++ {
		c := m.cqes[(head+i)&(g.cqEntries-1)] // copied once, checked below
		r.complete(int(fd), &c)
	}
	// release: we are done reading the entries we pass
	atomicStore(m.cqCons, head+n)

	r.sqMu.Lock()
	r.returns = append(r.returns, r.pending...)
	r.pending = r.pending[:0]
	wrote := r.flush()
	if wrote {
		r.publish()
	}
	left := r.sqTail != atomicLoad(m.sqCons)
	r.sqMu.Unlock()
	// Looked at before the callers are woken, who would open new calls:
	// with no call open, no result waits for these buffers, and the
	// returns go with the next doorbell, that of the next call (every
	// submission kicks), not with a system call now.
	idle := r.open.Load() == 0
	for _, cl := range r.dispatched {
		cl.done <- struct{}{}
	}
	clear(r.dispatched)
	r.dispatched = r.dispatched[:0]
	// call slots or CQ room: whoever waits for either
	r.notify()
	switch {
	case full && !left:
		// the kernel may have messages waiting for CQ room, and only
		// a doorbell (or poll) brings them in
		r.bells.Add(1)
		r.c.s.rc.Control(r.rbell.fn)
	case wrote && idle && !full:
	case wrote || left:
		// results on their way may need the buffers; entries left in
		// the SQ may fit now
		r.kick()
	}
	return true
}

// complete handles one completion; reports whether it ended a call slot.
func (r *clientRing) complete(fd int, c *rawCQE) bool {
	switch c.Type {
	case cqeResult:
	case cqeError:
		if c.Op != opCall {
			// CANCEL: ENOENT is a result on its way, other errors
			// leave the call to its result; BUF_RETURN: not ours
			return false
		}
		if cl := r.take(c.Id); cl != nil {
			cl.err = os.NewSyscallError("fastrpc ring CALL", cqeErrno(c.Res))
			r.dispatched = append(r.dispatched, cl)
		}
		r.open.Add(-1)
		return true
	default:
		// not a client's completion; give back what looks lent
		if c.Buf != ringNoBuf && c.Buf%r.g.bufSize == 0 && uint64(c.Buf) < r.g.rxLen {
			r.pending = append(r.pending, c.Buf)
		}
		return false
	}
	msg, err := checkResult(&r.g, r.m.area, c)
	if msg.ret != ringNoBuf {
		r.pending = append(r.pending, msg.ret)
	}
	eor := c.Flags&cqeFEOR != 0
	if err == nil && c.Flags&cqeFRecvmsg != 0 {
		msg, err = r.recvBig(fd, c)
	}
	if !eor && err == nil {
		return false // a streaming message: unary calls get none
	}
	if eor {
		r.open.Add(-1)
	}
	cl := r.take(c.Id)
	if cl == nil {
		return eor
	}
	switch {
	case err != nil:
		cl.err = err
	case c.Res < 0 || c.Res >= statusMax:
		cl.err = errRingCQE
	default:
		cl.status = uint32(c.Res)
		if len(msg.data) > 0 {
			cl.data = append([]byte(nil), msg.data...)
		}
		if msg.meta != nil {
			cl.md, _ = decodeMetadata(msg.meta)
		}
		if msg.smsg != nil {
			cl.msg = string(msg.smsg)
		}
	}
	r.dispatched = append(r.dispatched, cl)
	return eor
}

// take removes the call of tag from the calls in flight.
func (r *clientRing) take(tag uint64) *call {
	c := r.c
	c.mu.Lock()
	cl := c.calls[tag]
	delete(c.calls, tag)
	c.mu.Unlock()
	return cl
}

// recvBig reads a message the CQ announced with FASTRPC_CQE_F_RECVMSG.
// Its data is the caller's already; metadata and status message point
// into r.bigOOB until the next one.
func (r *clientRing) recvBig(fd int, c *rawCQE) (cqeMsg, error) {
	msg := cqeMsg{ret: ringNoBuf}
	if r.bigOOB == nil {
		r.bigOOB = make([]byte, recvControlSpace)
	}
	p := make([]byte, max(c.Len, 1))
	for {
		n, oobn, _, _, err := rawRecvmsg(fd, p, r.bigOOB, nil, syscall.MSG_DONTWAIT, len(p) <= rawSyscallMax)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return msg, os.NewSyscallError("recvmsg", err)
		}
		pc, perr := parseControl(r.bigOOB[:oobn], cmsgResult, sizeofResult)
		if perr != nil || decode[rawResult](pc.verb).Tag != c.Id || n != int(c.Len) {
			return msg, errRingCQE
		}
		msg.data = p[:n]
		if pc.hasMeta {
			msg.meta = pc.meta
		}
		if pc.hasState {
			msg.smsg = pc.status
		}
		return msg, nil
	}
}

// ringCall is Call for a call started through the rings.
func (c *Client) ringCall(ctx context.Context, cl *call, method uint32, req []byte, md Metadata, mdLen int) (*Reply, error) {
	timeout, err := c.ring.start(ctx, cl, method, req, md, mdLen)
	if err != nil {
		c.abandon(cl)
		return nil, err
	}
	return c.await(ctx, cl, timeout)
}

// giveUp ends Call's wait for cl once its context ended (ctxErr): it
// cancels the call in the kernel (the server's handler sees it) and stops
// waiting; the result, when it comes, finds no call and is dropped.
func (r *clientRing) giveUp(cl *call, ctxErr error) (*Reply, error) {
	c := r.c
	r.cancel(cl.tag)
	c.mu.Lock()
	_, pending := c.calls[cl.tag]
	delete(c.calls, cl.tag)
	c.mu.Unlock()
	if !pending {
		<-cl.done // the result raced the cancel: it is in
		return c.finish(cl, ctxErr)
	}
	cl.release()
	return nil, ctxStatus(ctxErr)
}

// state describes the rings for diagnostics (tests print it on failure).
func (r *clientRing) state() string {
	r.sqMu.Lock()
	defer r.sqMu.Unlock()
	if r.dead {
		return "rings: closed"
	}
	var info rawSockInfo
	l := uint32(sizeofSockInfo)
	r.c.s.control(func(fd int) error {
		syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solFastRPC, optSockInfo,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&l)), 0)
		return nil
	})
	return fmt.Sprintf("rings: SQ tail %d cons %d flags %#x; CQ prod %d cons %d; open %d/%d; "+
		"returns waiting %d, cancels %d; stalled %v, kickers %d, refused %d, pokes %d; "+
		"socket: calls %d, rx queued %d (%d bytes), tx queued %d",
		r.sqTail, atomicLoad(r.m.sqCons), atomicLoad(r.m.sqFlags), atomicLoad(r.m.cqProd), atomicLoad(r.m.cqCons),
		r.open.Load(), r.maxCalls, len(r.returns), len(r.cancels), r.stalled.Load(), r.kickers.Load(),
		r.stalls.Load(), r.pokes.Load(), info.Calls_in_flight, info.Rx_queued, info.Rx_bytes, info.Tx_queued)
}
