// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Addresses: struct sockaddr_fastrpc, the live address family number and
// name resolution, in Go (no libfastrpc, no cgo).

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// familyParam publishes the module's live AF_FASTRPC number.
const familyParam = "/sys/module/af_fastrpc/parameters/family"

// family returns the live AF_FASTRPC number: the module parameter, or the
// header's default when the module does not publish one (as libfastrpc's
// fastrpc_family()).  Read per socket: a reloaded module may use another.
func family() int {
	b, err := os.ReadFile(familyParam)
	if err != nil {
		return afDefault
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 || n >= 256 {
		return afDefault
	}
	return n
}

// Addr is the address of a FastRPC endpoint: an IP address (with an IPv6
// zone given as an interface index) and a TCP port.  It implements net.Addr.
type Addr struct {
	netip.AddrPort
}

// Network returns "fastrpc".
func (a Addr) Network() string { return "fastrpc" }

// rawSockaddr as bytes.
func (sa *rawSockaddr) bytes() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(sa)), sizeofSockaddr)
}

// encodeSockaddr builds the struct sockaddr_fastrpc of ap.  A zone that
// is not a number names an interface.
func encodeSockaddr(ap netip.AddrPort) (rawSockaddr, error) {
	var sa rawSockaddr
	sa.Family = uint16(family())
	binary.BigEndian.PutUint16(unsafe.Slice((*byte)(unsafe.Pointer(&sa.Port)), 2), ap.Port())
	ip := ap.Addr()
	switch {
	case ip.Is4():
		sa.Ip_family = syscall.AF_INET
		a4 := ip.As4()
		copy(sa.Addr[:], a4[:])
	case ip.Is6():
		sa.Ip_family = syscall.AF_INET6
		a16 := ip.As16()
		copy(sa.Addr[:], a16[:])
		if z := ip.Zone(); z != "" {
			idx, err := strconv.ParseUint(z, 10, 32)
			if err != nil || idx == 0 {
				ifi, ierr := net.InterfaceByName(z)
				if ierr != nil {
					return sa, syscall.ENODEV
				}
				idx = uint64(ifi.Index)
			}
			sa.Scope_id = uint32(idx)
		}
	default:
		return sa, syscall.EINVAL
	}
	return sa, nil
}

// decodeSockaddr turns a struct sockaddr_fastrpc into an Addr.
func decodeSockaddr(b []byte) (Addr, bool) {
	if len(b) < sizeofSockaddr {
		return Addr{}, false
	}
	var sa rawSockaddr
	copy(sa.bytes(), b)
	port := binary.BigEndian.Uint16(unsafe.Slice((*byte)(unsafe.Pointer(&sa.Port)), 2))
	switch sa.Ip_family {
	case syscall.AF_INET:
		ip := netip.AddrFrom4([4]byte(sa.Addr[:4]))
		return Addr{netip.AddrPortFrom(ip, port)}, true
	case syscall.AF_INET6:
		ip := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(sa.Scope_id), 10))
		}
		return Addr{netip.AddrPortFrom(ip, port)}, true
	}
	return Addr{}, false
}

// resolve turns "host:port" into the addresses to try, in the resolver's
// order.  host is an IP literal (with an optional %zone, in brackets or
// not) or a name the resolver looks up; an empty host is the wildcard
// when wildcardOK (Listen), an error otherwise.
func resolve(ctx context.Context, addr string, wildcardOK bool) ([]netip.AddrPort, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || (port == 0 && !wildcardOK) {
		return nil, &net.AddrError{Err: "invalid port", Addr: addr}
	}
	if host == "" {
		if !wildcardOK {
			return nil, &net.AddrError{Err: "missing host", Addr: addr}
		}
		return []netip.AddrPort{netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))}, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.AddrPort{netip.AddrPortFrom(ip, uint16(port))}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	aps := make([]netip.AddrPort, 0, len(ips))
	for _, ip := range ips {
		aps = append(aps, netip.AddrPortFrom(ip.Unmap(), uint16(port)))
	}
	return aps, nil
}
