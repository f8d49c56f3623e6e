#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# mkuapi.sh: write zuapi.go, the Go view of uapi/linux/fastrpc.h, to
# stdout.  go generate runs it; TestGeneratedUapiIsFresh runs it again and
# compares.  Needs the Go toolchain and a C compiler; the package does not.
#
#   GO=go sh mkuapi.sh > zuapi.go
set -eu
cd "$(dirname "$0")"
go=${GO:-go}
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
"$go" tool cgo -godefs -objdir "$obj" -- -I../../uapi uapi_defs.go >"$obj/z.go"
echo "// SPDX-License-Identifier: LGPL-2.1-or-later"
echo
# cgo names its temporary directory in the second line: keep it stable.
"$("$go" env GOROOT)/bin/gofmt" "$obj/z.go" |
	sed '2s|^// cgo -godefs .*|// cgo -godefs -- -I../../uapi uapi_defs.go (mkuapi.sh)|'
