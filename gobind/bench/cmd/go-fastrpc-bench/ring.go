// SPDX-License-Identifier: LGPL-2.1-or-later

package main

// go-fastrpc-ring: gobind's client through the mmap'd rings
// (Documentation/rings.rst) against the same server as go-fastrpc.
//
// The hook for the ring-backed client that gobind/fastrpc is growing:
// until it exists, ringMissing says so and the transport is left out of
// the table (a "# go-fastrpc-ring: left out: ..." line, not a failure), so
// make bench can list it already.  To plug the client in, make dialRing
// return a caller over it (call makes one unary echo call of method
// echoMethod and returns the reply's bytes, safe for concurrent use by
// -c goroutines), make ringMissing return "", and, if the server should
// use rings as well, give listenRing a ring-backed server; the rows, the
// report and the docs need nothing more.

import "errors"

var errNoRing = errors.New("gobind/fastrpc has no ring-backed client yet")

func ringMissing() string { return errNoRing.Error() }

func listenRing(addr string) (server, error) { return listenFastRPC(addr) }

func dialRing(addr string) (caller, error) { return nil, errNoRing }
