// SPDX-License-Identifier: LGPL-2.1-or-later

package main

// go-fastrpc-ring: gobind's client through the mmap'd rings
// (Documentation/rings.rst) against the same server as go-fastrpc.
//
// The hook for the ring-backed client that gobind/fastrpc is growing
// (fastrpc.WithRing): until it exists, ringMissing says so and the
// transport is left out of the table (a "# go-fastrpc-ring: left out: ..."
// line, not a failure), so that make bench can list it already.  To plug
// it in, dialRing becomes
//
//	return dialFastRPCWith(addr, fastrpc.WithRing(0, 0, 0))
//
// (default ring sizes; the caller is safe for -c goroutines as
// go-fastrpc's is), ringMissing returns "" (or why this kernel's module
// has no rings), and TestRingHook's skip then applies.  The server stays
// go-fastrpc's unless listenRing is given one with rings.  The rows, the
// report (bench-report.py knows the name) and the docs need nothing more.

import "errors"

var errNoRing = errors.New("gobind/fastrpc has no ring-backed client yet")

func ringMissing() string { return errNoRing.Error() }

func listenRing(addr string) (server, error) { return listenFastRPC(addr) }

func dialRing(addr string) (caller, error) { return nil, errNoRing }
