// SPDX-License-Identifier: LGPL-2.1-or-later

// The Go benchmark of make bench (go-fastrpc, go-netrpc, go-grpc), a module
// of its own so that fastrpc.dev/gobind keeps to the standard library: only
// this one needs grpc-go.
//
// It is built in GOPATH mode (GO111MODULE=off, see ../Makefile's "bench"
// target) against the Go sources Debian installs under /usr/share/gocode
// (golang-google-grpc-dev, 1.33.3 on bookworm, and what it depends on), as
// Debian builds its own Go packages: in module mode Go would want the go.mod
// of every module in grpc 1.33's unpruned graph (envoyproxy, udpa, uuid,
// x/lint, x/tools, honnef.co...), which Debian does not ship, and there is
// no network.  This file records the module path and what the code needs;
// the file itself also keeps ../ (go vet ./..., go test ./...) off this tree.
module fastrpc.dev/gobind/bench

go 1.22

require (
	fastrpc.dev/gobind v0.0.0
	google.golang.org/grpc v1.33.3
)

replace fastrpc.dev/gobind => ../
