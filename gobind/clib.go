// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Setup-time helpers come from libfastrpc (linked statically), so Go and C
// agree on the family lookup, address parsing and status names.  Nothing
// here runs per message.

/*
#cgo CFLAGS: -I${SRCDIR}/../libuser -I${SRCDIR}/../uapi
#cgo LDFLAGS: ${SRCDIR}/../build/lib/libfastrpc.a
#include <stdlib.h>
#include <sys/socket.h>
#include <libfastrpc.h>
*/
import "C"

import (
	"syscall"
	"unsafe"
)

// family returns the live AF_FASTRPC number (sysfs, else the default).
func family() int {
	return int(C.fastrpc_family())
}

// sockaddrFromIP parses an IP literal (with an optional %scope) and a port
// into a struct sockaddr_fastrpc, as libfastrpc's fastrpc_addr() does.
func sockaddrFromIP(ip string, port uint16) ([]byte, error) {
	var sa C.struct_sockaddr_fastrpc
	cs := C.CString(ip)
	defer C.free(unsafe.Pointer(cs))
	if rc := C.fastrpc_addr(&sa, cs, C.uint16_t(port)); rc < 0 {
		return nil, syscall.Errno(-rc)
	}
	return C.GoBytes(unsafe.Pointer(&sa), C.int(unsafe.Sizeof(sa))), nil
}

// sockaddrAny is the wildcard address of ipFamily (AF_INET or AF_INET6).
func sockaddrAny(ipFamily int, port uint16) ([]byte, error) {
	var sa C.struct_sockaddr_fastrpc
	if rc := C.fastrpc_addr_any(&sa, C.int(ipFamily), C.uint16_t(port)); rc < 0 {
		return nil, syscall.Errno(-rc)
	}
	return C.GoBytes(unsafe.Pointer(&sa), C.int(unsafe.Sizeof(sa))), nil
}

// statusName is fastrpc_status_str().
func statusName(code uint32) string {
	return C.GoString(C.fastrpc_status_str(C.uint32_t(code)))
}

// cLayout reports the C sizes of the uapi structures, so a test can check
// the Go encoders against them.
func cLayout() map[string]int {
	return map[string]int{
		"sockaddr_fastrpc":   int(C.sizeof_struct_sockaddr_fastrpc),
		"fastrpc_call":       int(C.sizeof_struct_fastrpc_call),
		"fastrpc_result":     int(C.sizeof_struct_fastrpc_result),
		"fastrpc_incoming":   int(C.sizeof_struct_fastrpc_incoming),
		"fastrpc_reply":      int(C.sizeof_struct_fastrpc_reply),
		"fastrpc_send":       int(C.sizeof_struct_fastrpc_send),
		"fastrpc_meta_entry": int(C.sizeof_struct_fastrpc_meta_entry),
		"fastrpc_features":   int(C.sizeof_struct_fastrpc_features),
		"SOL_FASTRPC":        int(C.SOL_FASTRPC),
		"MAX_METADATA":       int(C.FASTRPC_MAX_METADATA),
		"MAX_STATUS_MSG":     int(C.FASTRPC_MAX_STATUS_MSG),
		"MAX_MSG":            int(C.FASTRPC_MAX_MSG),
		"CALL_STREAM":        int(C.FASTRPC_CALL_STREAM),
		"IN_CONT":            int(C.FASTRPC_IN_CONT),
		"IN_CANCELLED":       int(C.FASTRPC_IN_CANCELLED),
		"CMSG_CALL":          int(C.FASTRPC_CMSG_CALL),
		"CMSG_RESULT":        int(C.FASTRPC_CMSG_RESULT),
		"CMSG_INCOMING":      int(C.FASTRPC_CMSG_INCOMING),
		"CMSG_REPLY":         int(C.FASTRPC_CMSG_REPLY),
		"CMSG_SEND":          int(C.FASTRPC_CMSG_SEND),
		"CMSG_CANCEL":        int(C.FASTRPC_CMSG_CANCEL),
		"CMSG_METADATA":      int(C.FASTRPC_CMSG_METADATA),
		"CMSG_STATUS_MSG":    int(C.FASTRPC_CMSG_STATUS_MSG),
		"CMSG_TIMEOUT":       int(C.FASTRPC_CMSG_TIMEOUT),
		"STATUS_MAX":         int(C.FASTRPC_STATUS_MAX),
		"AF_DEFAULT":         int(C.FASTRPC_AF_DEFAULT),
		"OPT_MAX_CALLS":      int(C.FASTRPC_MAX_CALLS),
	}
}
