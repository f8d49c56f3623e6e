// SPDX-License-Identifier: LGPL-2.1-or-later

package main

// go-fastrpc-ring: gobind's client with fastrpc.WithRing and its server
// with fastrpc.ListenRing: calls, incoming calls and replies go through
// the mmap'd submission and completion rings (Documentation/rings.rst)
// on both ends, as in fastrpc-bench's fastrpc-ring row.  Default ring
// sizes (256 SQ entries, 512 CQ entries, 2 KiB buffers); one client
// shared by the -c goroutines, as go-fastrpc's is, and the same
// fastrpc.Server and handler.

import "fastrpc.dev/gobind/fastrpc"

// ringMissing is empty: the ring client is part of gobind.  A module
// without rings fails the row with the kernel's error, as any other.
func ringMissing() string { return "" }

func listenRing(addr string) (server, error) {
	return listenFastRPCWith(addr, fastrpc.ListenRing(0, 0, 0))
}

func dialRing(addr string) (caller, error) {
	return dialFastRPCWith(addr, fastrpc.WithRing(0, 0, 0))
}
