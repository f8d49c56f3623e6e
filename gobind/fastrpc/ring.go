// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// The submission and completion rings of a socket (FASTRPC_RING,
// Documentation/rings.rst), mapped into the process and driven from pure
// Go: setsockopt to create them, getsockopt for where their parts lie,
// three MAP_SHARED mappings, and sync/atomic on the index words.
//
// Memory model.  Each queue is a single-producer, single-consumer ring
// whose indices are free-running uint32 counters in the shared pages:
//
//   - SQ: this process produces, the kernel consumes.  Entries (and the
//     payload they point at in the buffer area) are written with plain
//     stores, then the producer index is stored with atomic.StoreUint32,
//     which is a release (and more) in Go's memory model.  A slot is
//     written again only after atomic.LoadUint32 of the kernel's consumer
//     index (an acquire) shows the kernel has passed it.
//   - CQ: the kernel produces, this process consumes.  The producer index
//     is read with atomic.LoadUint32 (acquire) before the entries it
//     covers; each entry is copied out once and checked; then the
//     consumer index is stored with atomic.StoreUint32 (release), after
//     which the kernel may reuse those slots.
//   - NEED_WAKEUP: after storing the SQ producer, the flags word is read;
//     the contract wants a full barrier between that store and that
//     load.  Go's sync/atomic operations are sequentially consistent, so
//     an atomic store followed by an atomic load (in one goroutine, or
//     ordered by a happens-before edge such as a mutex or another atomic)
//     is never reordered: either the kernel sees the new producer before
//     it stops, or we see the bit and ring the doorbell.
//
// Only one goroutine at a time produces into the SQ (clientRing.sqMu) and
// only the reap goroutine consumes the CQ, as the contract requires.
// Nothing the kernel writes into the shared pages is trusted: completion
// fields are range-checked before any slice is taken from them, and a
// bad completion fails its call (or is skipped), it never panics.

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// atomicLoad and atomicStore are the index accesses of the contract:
// acquire and release (sequentially consistent, in fact) on a word of
// the shared pages.
func atomicLoad(p *uint32) uint32     { return atomic.LoadUint32(p) }
func atomicStore(p *uint32, v uint32) { atomic.StoreUint32(p, v) }

// ringGeom is the validated shape of a socket's rings.
type ringGeom struct {
	sqEntries, cqEntries uint32
	bufSize              uint32
	bufCount, rxBufs     uint32
	rxLen, areaLen       uint64 // bytes of the receive part, of the area
}

// ringMap is a socket's three mapped regions and the words in them.
type ringMap struct {
	g                       ringGeom
	sq, cq, area            []byte
	sqProd, sqCons, sqFlags *uint32
	cqProd, cqCons          *uint32
	sqes                    []rawSQE
	cqes                    []rawCQE
}

var errRingInfo = errors.New("fastrpc: the kernel described rings this package cannot map safely")

func pow2(v uint32) bool { return v != 0 && v&(v-1) == 0 }

// checkRingSetup says what is wrong with s before the kernel sees it.
func checkRingSetup(s *rawRingSetup) error {
	switch {
	case !pow2(s.Sq_entries) || s.Sq_entries > ringMaxEntries:
		return fmt.Errorf("fastrpc: ring SQ entries %d: want a power of two, 1..%d", s.Sq_entries, ringMaxEntries)
	case !pow2(s.Cq_entries) || s.Cq_entries > ringMaxEntries:
		return fmt.Errorf("fastrpc: ring CQ entries %d: want a power of two, 1..%d", s.Cq_entries, ringMaxEntries)
	case !pow2(s.Buf_size) || s.Buf_size < ringMinBuf || s.Buf_size > ringMaxBuf:
		return fmt.Errorf("fastrpc: ring buffer size %d: want a power of two, %d..%d", s.Buf_size, ringMinBuf, ringMaxBuf)
	case s.Buf_count == 0 || uint64(s.Buf_size)*uint64(s.Buf_count) > ringMaxArea:
		return fmt.Errorf("fastrpc: ring area of %d buffers of %d bytes: want 1..%d bytes", s.Buf_count, s.Buf_size, ringMaxArea)
	case s.Rx_bufs == 0 || s.Rx_bufs > s.Buf_count:
		return fmt.Errorf("fastrpc: ring receive buffers %d: want 1..%d", s.Rx_bufs, s.Buf_count)
	}
	return nil
}

// offsetsOK: do n entries of esize bytes at o, and the three index
// words, lie inside a region of size bytes, aligned?
func offsetsOK(o *rawRingOffsets, size uint64, n uint32, esize uint64) bool {
	const w = 4
	return size >= w && o.Producer%w == 0 && o.Consumer%w == 0 && o.Flags%w == 0 && o.Desc%8 == 0 &&
		o.Producer <= size-w && o.Consumer <= size-w && o.Flags <= size-w &&
		o.Desc <= size && uint64(n)*esize <= size-o.Desc
}

// checkRingInfo validates what getsockopt(FASTRPC_RING) returned (n bytes).
func checkRingInfo(info *rawRingInfo, n uint32) (ringGeom, error) {
	var g ringGeom
	s := &info.Setup
	if n < sizeofRingInfo || checkRingSetup(s) != nil {
		return g, errRingInfo
	}
	g = ringGeom{sqEntries: s.Sq_entries, cqEntries: s.Cq_entries, bufSize: s.Buf_size,
		bufCount: s.Buf_count, rxBufs: s.Rx_bufs,
		rxLen: uint64(s.Buf_size) * uint64(s.Rx_bufs), areaLen: uint64(s.Buf_size) * uint64(s.Buf_count)}
	const maxMap = 1 << 31 // more than the kernel ever asks for; fits an int
	if g.areaLen > info.Buf_size || info.Buf_size > maxMap || info.Sq_size > maxMap || info.Cq_size > maxMap ||
		!offsetsOK(&info.Sq, info.Sq_size, g.sqEntries, sizeofSQE) ||
		!offsetsOK(&info.Cq, info.Cq_size, g.cqEntries, sizeofCQE) {
		return g, errRingInfo
	}
	return g, nil
}

// setupRing creates the rings of fd with s (nil: they exist already) and
// maps them.
func setupRing(fd int, s *rawRingSetup) (*ringMap, error) {
	if s != nil {
		if err := checkRingSetup(s); err != nil {
			return nil, err
		}
		_, _, e := syscall.Syscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), solFastRPC, optRing,
			uintptr(unsafe.Pointer(s)), sizeofRingSetup, 0)
		runtime.KeepAlive(s)
		if e != 0 {
			return nil, os.NewSyscallError("setsockopt FASTRPC_RING", e)
		}
	}
	var info rawRingInfo
	n := uint32(sizeofRingInfo)
	_, _, e := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), solFastRPC, optRing,
		uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0)
	if e != 0 {
		return nil, os.NewSyscallError("getsockopt FASTRPC_RING", e)
	}
	g, err := checkRingInfo(&info, n)
	if err != nil {
		return nil, err
	}
	m := &ringMap{g: g}
	mmap := func(off int64, size uint64) ([]byte, error) {
		b, err := syscall.Mmap(fd, off, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_SHARED|syscall.MAP_POPULATE)
		if err != nil {
			return nil, os.NewSyscallError("mmap", err)
		}
		return b, nil
	}
	if m.sq, err = mmap(ringOffSQ, info.Sq_size); err == nil {
		if m.cq, err = mmap(ringOffCQ, info.Cq_size); err == nil {
			m.area, err = mmap(ringOffBuf, info.Buf_size)
		}
	}
	if err != nil {
		m.unmap()
		return nil, err
	}
	word := func(b []byte, off uint64) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	m.sqProd, m.sqCons, m.sqFlags = word(m.sq, info.Sq.Producer), word(m.sq, info.Sq.Consumer), word(m.sq, info.Sq.Flags)
	m.cqProd, m.cqCons = word(m.cq, info.Cq.Producer), word(m.cq, info.Cq.Consumer)
	m.sqes = unsafe.Slice((*rawSQE)(unsafe.Pointer(&m.sq[info.Sq.Desc])), g.sqEntries)
	m.cqes = unsafe.Slice((*rawCQE)(unsafe.Pointer(&m.cq[info.Cq.Desc])), g.cqEntries)
	m.area = m.area[:g.areaLen]
	return m, nil
}

// unmap drops the mappings; nothing may touch them afterwards.
func (m *ringMap) unmap() {
	for _, b := range []*[]byte{&m.area, &m.cq, &m.sq} {
		if *b != nil {
			syscall.Munmap((*b)[:cap(*b)])
			*b = nil
		}
	}
	m.sqes, m.cqes = nil, nil
	m.sqProd, m.sqCons, m.sqFlags, m.cqProd, m.cqCons = nil, nil, nil, nil, nil
}

var errRingCQE = errors.New("fastrpc: malformed ring completion")

// cqeMsg is where a RESULT completion's parts lie in the area.
type cqeMsg struct {
	meta, smsg, data []byte // nil when empty or when the message is read with recvmsg
	ret              uint32 // run to give back, or ringNoBuf
}

// checkResult validates a RESULT completion against the geometry and
// returns its parts.  A run that looks lent is returned in ret even when
// the rest is bad, so that it goes back to the kernel.
func checkResult(g *ringGeom, area []byte, c *rawCQE) (cqeMsg, error) {
	m := cqeMsg{ret: ringNoBuf}
	total := uint64(c.Meta_len) + uint64(c.Smsg_len) + uint64(c.Len)
	if c.Buf != ringNoBuf {
		if c.Buf%g.bufSize != 0 || uint64(c.Buf) >= g.rxLen {
			return m, errRingCQE
		}
		m.ret = c.Buf
	}
	if c.Len > maxMsg || c.Meta_len > maxMetadata || c.Smsg_len > maxStatusMsg {
		return m, errRingCQE
	}
	if c.Flags&cqeFRecvmsg != 0 {
		if c.Buf != ringNoBuf {
			return m, errRingCQE
		}
		return m, nil
	}
	if c.Buf == ringNoBuf {
		if total != 0 {
			return m, errRingCQE
		}
		return m, nil
	}
	end := uint64(c.Buf) + total
	if end > g.rxLen || end > uint64(len(area)) {
		return m, errRingCQE
	}
	p := uint64(c.Buf)
	if c.Meta_len > 0 {
		m.meta = area[p : p+uint64(c.Meta_len)]
	}
	p += uint64(c.Meta_len)
	if c.Smsg_len > 0 {
		m.smsg = area[p : p+uint64(c.Smsg_len)]
	}
	p += uint64(c.Smsg_len)
	if c.Len > 0 {
		m.data = area[p:end]
	}
	return m, nil
}

// cqeErrno is the errno of an ERROR completion (res is -errno).
func cqeErrno(res int32) syscall.Errno {
	if res >= 0 || res < -4095 {
		return syscall.EPROTO
	}
	return syscall.Errno(-res)
}
