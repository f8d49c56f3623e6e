// SPDX-License-Identifier: LGPL-2.1-or-later

package main

// go-fastrpc-ring: gobind's client with fastrpc.WithRing, its unary calls
// through the mmap'd submission and completion rings
// (Documentation/rings.rst), against the same server as go-fastrpc.
// Default ring sizes (256 SQ entries, 512 CQ entries, 2 KiB buffers); one
// client shared by the -c goroutines, as go-fastrpc's is.

import "fastrpc.dev/gobind/fastrpc"

// ringMissing is empty: the ring client is part of gobind.  A module
// without rings fails the row with the kernel's error, as any other.
func ringMissing() string { return "" }

func listenRing(addr string) (server, error) { return listenFastRPC(addr) }

func dialRing(addr string) (caller, error) {
	return dialFastRPCWith(addr, fastrpc.WithRing(0, 0, 0))
}
