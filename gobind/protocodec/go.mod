// SPDX-License-Identifier: LGPL-2.1-or-later

// fastrpc.dev/gobind/protocodec: the protobuf codec of fastrpc.dev/gobind,
// a module of its own so that fastrpc.dev/gobind keeps no dependencies.
//
// Built offline from Debian's golang-google-protobuf-dev (its sources in
// /usr/share/gocode/src): a directory replacement needs no go.sum entry
// and no download.  Builds, vet and tests load only the packages they
// import; "go list -m all" and "go mod tidy" would want the go.mod files
// of google.golang.org/protobuf's own requirements and fail offline.
module fastrpc.dev/gobind/protocodec

go 1.22

require (
	fastrpc.dev/gobind v0.0.0
	google.golang.org/protobuf v1.28.1
)

replace (
	fastrpc.dev/gobind => ../
	google.golang.org/protobuf => /usr/share/gocode/src/google.golang.org/protobuf
)
