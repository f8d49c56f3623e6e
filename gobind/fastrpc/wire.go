// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Control messages of uapi/linux/fastrpc.h.  The structures are the types
// cgo -godefs generated from the header (zuapi.go), copied to and from
// the control buffers in native byte order; nothing here allocates on the
// path of a plain call.

import (
	"encoding/binary"
	"errors"
	"slices"
	"syscall"
	"unsafe"
)

const (
	// MaxMessage is the largest message one call carries each way
	// (FASTRPC_MAX_MSG).
	MaxMessage = maxMsg
	// MaxMetadata is the most bytes of encoded metadata a call or reply
	// carries (FASTRPC_MAX_METADATA).
	MaxMetadata = maxMetadata
	// MaxStatusMessage is the longest status message (FASTRPC_MAX_STATUS_MSG).
	MaxStatusMessage = maxStatusMsg
)

var ne = binary.NativeEndian

// structBytes is the memory of *p as bytes.
func structBytes[T any](p *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), unsafe.Sizeof(*p))
}

// recvControlSpace holds the verb, metadata and status message of any message.
var recvControlSpace = syscall.CmsgSpace(sizeofIncoming) + syscall.CmsgSpace(MaxMetadata) +
	syscall.CmsgSpace(MaxStatusMessage) + 64

// cmsgBuilder lays out control messages back to back.  The kernel walks
// them CMSG_NXTHDR-style, so the buffer ends exactly after the last one's
// CMSG_SPACE and padding is zero.
type cmsgBuilder struct{ b []byte }

// add appends one SOL_FASTRPC control message of dlen bytes and returns
// its data area.
func (cb *cmsgBuilder) add(typ int32, dlen int) []byte {
	off := len(cb.b)
	space := syscall.CmsgSpace(dlen)
	cb.b = slices.Grow(cb.b, space)[:off+space]
	clear(cb.b[off:])
	var h syscall.Cmsghdr
	h.Level = solFastRPC
	h.Type = typ
	h.SetLen(syscall.CmsgLen(dlen))
	copy(cb.b[off:], structBytes(&h))
	start := off + syscall.CmsgLen(0)
	return cb.b[start : start+dlen]
}

// put appends one control message holding *v.
func put[T any](cb *cmsgBuilder, typ int32, v *T) {
	copy(cb.add(typ, int(unsafe.Sizeof(*v))), structBytes(v))
}

// putU64 appends one control message holding a bare __u64.
func (cb *cmsgBuilder) putU64(typ int32, v uint64) {
	ne.PutUint64(cb.add(typ, sizeofTimeout), v)
}

// parsedControl is what a recvmsg control buffer held; the slices point
// into that buffer.
type parsedControl struct {
	verb     []byte // the RESULT or INCOMING structure
	meta     []byte
	hasMeta  bool
	status   []byte
	hasState bool
}

var errNoVerb = errors.New("fastrpc: message without its control message")

// parseControl walks the control messages (without allocating) and finds
// the verb want, wantLen bytes long.
func parseControl(oob []byte, want int32, wantLen int) (parsedControl, error) {
	var pc parsedControl
	hdrLen := syscall.CmsgLen(0)
	for len(oob) >= hdrLen {
		var h syscall.Cmsghdr
		copy(structBytes(&h), oob)
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			return pc, syscall.EINVAL
		}
		data := oob[hdrLen:l]
		if h.Level == solFastRPC {
			switch h.Type {
			case want:
				if len(data) >= wantLen {
					pc.verb = data[:wantLen]
				}
			case cmsgMetadata:
				pc.meta, pc.hasMeta = data, true
			case cmsgStatusMsg:
				pc.status, pc.hasState = data, true
			}
		}
		next := syscall.CmsgSpace(l - hdrLen)
		if next >= len(oob) {
			break
		}
		oob = oob[next:]
	}
	if pc.verb == nil {
		return pc, errNoVerb
	}
	return pc, nil
}

// decode copies a received structure out of its control message.
func decode[T any](b []byte) T {
	var v T
	copy(structBytes(&v), b)
	return v
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
		n += sizeofMetaEntry + len(k) + len(v)
	}
	return n
}

// encode writes md's entries, sorted by key, into b (len(b) == encodedLen).
func (md Metadata) encode(b []byte) {
	var small [8]string
	keys := small[:0]
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	off := 0
	for _, k := range keys {
		v := md[k]
		b[off] = byte(len(k))
		b[off+1] = 0
		binary.BigEndian.PutUint16(b[off+2:], uint16(len(v)))
		off += sizeofMetaEntry
		off += copy(b[off:], k)
		off += copy(b[off:], v)
	}
}

// checkMetadata validates md for sending and returns its encoded size.
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
		if len(b) < sizeofMetaEntry {
			return nil, errMetadata
		}
		kl, vl := int(b[0]), int(binary.BigEndian.Uint16(b[2:]))
		if kl == 0 || len(b) < sizeofMetaEntry+kl+vl {
			return nil, errMetadata
		}
		k := string(b[sizeofMetaEntry : sizeofMetaEntry+kl])
		if _, dup := md[k]; !dup {
			md[k] = append([]byte(nil), b[sizeofMetaEntry+kl:sizeofMetaEntry+kl+vl]...)
		}
		b = b[sizeofMetaEntry+kl+vl:]
	}
	return md, nil
}
