// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Control messages and structures of uapi/linux/fastrpc.h, encoded and
// decoded in Go (native byte order for the structs, network order where
// the header says __be).  A test checks every size against the C header.

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sort"
	"strconv"
	"syscall"
	"unsafe"
)

// Numbers from uapi/linux/fastrpc.h.
const (
	solFastRPC = 0x4652

	cmsgCall      = 1
	cmsgResult    = 2
	cmsgIncoming  = 3
	cmsgReply     = 4
	cmsgSend      = 5
	cmsgCancel    = 6
	cmsgMetadata  = 7
	cmsgStatusMsg = 8
	cmsgTimeout   = 9

	optMaxCalls = 2 // FASTRPC_MAX_CALLS, a socket option at solFastRPC

	callStream   = 1 << 0
	inCont       = 1 << 0
	inCancelled  = 1 << 1
	afDefault    = 25
	statusMax    = 16
	sizeSockaddr = 28

	sizeCall     = 16
	sizeResult   = 16
	sizeIncoming = 32
	sizeReply    = 16
	sizeSend     = 16
	sizeMetaHdr  = 4
	sizeFeatures = 56
	sizeTimeout  = 8 // FASTRPC_CMSG_TIMEOUT: one __u64

	// MaxMessage is the largest message one call carries each way
	// (FASTRPC_MAX_MSG).
	MaxMessage = 4 << 20
	// MaxMetadata is the most bytes of encoded metadata a call or reply
	// carries (FASTRPC_MAX_METADATA).
	MaxMetadata = 4096
	// MaxStatusMessage is the longest status message (FASTRPC_MAX_STATUS_MSG).
	MaxStatusMessage = 1024
)

var ne = binary.NativeEndian

// recvControlSpace holds the verb, metadata and status message of any message.
var recvControlSpace = syscall.CmsgSpace(sizeIncoming) + syscall.CmsgSpace(MaxMetadata) +
	syscall.CmsgSpace(MaxStatusMessage) + 64

// callMsg is struct fastrpc_call.  Its deadline, if any, goes in a
// FASTRPC_CMSG_TIMEOUT of its own (encodeTimeout), so that a call without
// one fits the socket layer's stack buffer for control data.
type callMsg struct {
	tag           uint64
	method, flags uint32
}

func (c callMsg) encode(b []byte) {
	ne.PutUint64(b[0:], c.tag)
	ne.PutUint32(b[8:], c.method)
	ne.PutUint32(b[12:], c.flags)
}

func encodeTimeout(b []byte, timeoutNs uint64) {
	ne.PutUint64(b, timeoutNs)
}

type resultMsg struct {
	tag    uint64
	status uint32
	flags  uint32
}

func decodeResult(b []byte) resultMsg {
	return resultMsg{tag: ne.Uint64(b[0:]), status: ne.Uint32(b[8:]), flags: ne.Uint32(b[12:])}
}

type incomingMsg struct {
	handle    uint64
	method    uint32
	flags     uint32
	timeoutNs uint64
}

func decodeIncoming(b []byte) incomingMsg {
	return incomingMsg{handle: ne.Uint64(b[0:]), method: ne.Uint32(b[8:]),
		flags: ne.Uint32(b[12:]), timeoutNs: ne.Uint64(b[16:])}
}

func encodeReply(b []byte, handle uint64, status uint32) {
	ne.PutUint64(b[0:], handle)
	ne.PutUint32(b[8:], status)
	ne.PutUint32(b[12:], 0)
}

// cmsgBuilder lays out control messages back to back.  The kernel walks
// them CMSG_NXTHDR-style, so the buffer ends exactly after the last one's
// CMSG_SPACE and padding is zero.
type cmsgBuilder struct{ b []byte }

// add appends one SOL_FASTRPC control message of dlen bytes and returns
// its data area.
func (cb *cmsgBuilder) add(typ int32, dlen int) []byte {
	off := len(cb.b)
	space := syscall.CmsgSpace(dlen)
	if cap(cb.b)-off < space {
		nb := make([]byte, off, off+space+64)
		copy(nb, cb.b)
		cb.b = nb
	}
	cb.b = cb.b[:off+space]
	clear(cb.b[off:])
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&cb.b[off]))
	h.Level = solFastRPC
	h.Type = typ
	h.SetLen(syscall.CmsgLen(dlen))
	start := off + syscall.CmsgLen(0)
	return cb.b[start : start+dlen]
}

// parsedControl is what a recvmsg control buffer held.
type parsedControl struct {
	verb     []byte // the RESULT or INCOMING structure
	meta     []byte
	hasMeta  bool
	status   []byte
	hasState bool
}

var errNoVerb = errors.New("fastrpc: message without its control message")

// parseControl walks the control messages and finds the verb want.
func parseControl(oob []byte, want int32, wantLen int) (parsedControl, error) {
	var pc parsedControl
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return pc, err
	}
	for _, m := range msgs {
		if m.Header.Level != solFastRPC {
			continue
		}
		switch m.Header.Type {
		case want:
			if len(m.Data) >= wantLen {
				pc.verb = m.Data[:wantLen]
			}
		case cmsgMetadata:
			pc.meta, pc.hasMeta = m.Data, true
		case cmsgStatusMsg:
			pc.status, pc.hasState = m.Data, true
		}
	}
	if pc.verb == nil {
		return pc, errNoVerb
	}
	return pc, nil
}

// Metadata holds request headers or reply trailers: keys of 1..255 bytes,
// values of up to 65535 bytes, at most MaxMetadata bytes encoded.  The
// kernel passes it through unchanged.
type Metadata map[string][]byte

var errMetadata = errors.New("fastrpc: malformed metadata")

// encodedLen is the wire size of md, or -1 if a key or value is out of range.
func (md Metadata) encodedLen() int {
	n := 0
	for k, v := range md {
		if len(k) < 1 || len(k) > 255 || len(v) > 65535 {
			return -1
		}
		n += sizeMetaHdr + len(k) + len(v)
	}
	return n
}

// appendTo writes md's entries, sorted by key, into b (len(b) == encodedLen).
func (md Metadata) encode(b []byte) {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	off := 0
	for _, k := range keys {
		v := md[k]
		b[off] = byte(len(k))
		b[off+1] = 0
		binary.BigEndian.PutUint16(b[off+2:], uint16(len(v)))
		off += sizeMetaHdr
		off += copy(b[off:], k)
		off += copy(b[off:], v)
	}
}

// checkMetadata validates md for sending.
func checkMetadata(md Metadata) (int, error) {
	n := md.encodedLen()
	if n < 0 || n > MaxMetadata {
		return 0, errMetadata
	}
	return n, nil
}

// decodeMetadata parses received entries; the first of repeated keys wins.
func decodeMetadata(b []byte) (Metadata, error) {
	md := Metadata{}
	for len(b) > 0 {
		if len(b) < sizeMetaHdr {
			return nil, errMetadata
		}
		kl, vl := int(b[0]), int(binary.BigEndian.Uint16(b[2:]))
		if kl == 0 || len(b) < sizeMetaHdr+kl+vl {
			return nil, errMetadata
		}
		k := string(b[sizeMetaHdr : sizeMetaHdr+kl])
		if _, dup := md[k]; !dup {
			md[k] = append([]byte(nil), b[sizeMetaHdr+kl:sizeMetaHdr+kl+vl]...)
		}
		b = b[sizeMetaHdr+kl+vl:]
	}
	return md, nil
}

// decodeSockaddr turns a struct sockaddr_fastrpc into an Addr.
func decodeSockaddr(b []byte) (Addr, bool) {
	if len(b) < sizeSockaddr {
		return Addr{}, false
	}
	port := binary.BigEndian.Uint16(b[4:])
	switch ne.Uint16(b[2:]) {
	case syscall.AF_INET:
		ip := netip.AddrFrom4([4]byte(b[8:12]))
		return Addr{netip.AddrPortFrom(ip, port)}, true
	case syscall.AF_INET6:
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := ne.Uint32(b[24:]); scope != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return Addr{netip.AddrPortFrom(ip, port)}, true
	}
	return Addr{}, false
}

// Addr is the address of a FastRPC endpoint: an IP address (with an IPv6
// zone given as an interface index) and a TCP port.  It implements net.Addr.
type Addr struct {
	netip.AddrPort
}

// Network returns "fastrpc".
func (a Addr) Network() string { return "fastrpc" }
