// SPDX-License-Identifier: LGPL-2.1-or-later

//go:build ignore

// Input of mkuapi.sh: cgo -godefs turns it into zuapi.go, so that every
// number and structure layout the package uses comes from
// uapi/linux/fastrpc.h and the package builds without cgo.  A name the
// package needs from the header is added here, never typed in by hand.

package fastrpc

/*
#include <linux/fastrpc.h>
*/
import "C"

// Socket level, address family and control messages.
const (
	afDefault  = C.FASTRPC_AF_DEFAULT
	solFastRPC = C.SOL_FASTRPC

	cmsgCall      = C.FASTRPC_CMSG_CALL
	cmsgResult    = C.FASTRPC_CMSG_RESULT
	cmsgIncoming  = C.FASTRPC_CMSG_INCOMING
	cmsgReply     = C.FASTRPC_CMSG_REPLY
	cmsgSend      = C.FASTRPC_CMSG_SEND
	cmsgCancel    = C.FASTRPC_CMSG_CANCEL
	cmsgMetadata  = C.FASTRPC_CMSG_METADATA
	cmsgStatusMsg = C.FASTRPC_CMSG_STATUS_MSG
	cmsgTimeout   = C.FASTRPC_CMSG_TIMEOUT

	callStream  = C.FASTRPC_CALL_STREAM
	inCont      = C.FASTRPC_IN_CONT
	inCancelled = C.FASTRPC_IN_CANCELLED
	inDeadline  = C.FASTRPC_IN_DEADLINE
)

// Socket options and feature bits.
const (
	optFeatures = C.FASTRPC_FEATURES
	optMaxCalls = C.FASTRPC_MAX_CALLS
	optSockInfo = C.FASTRPC_SOCK_INFO
	optLoopback = C.FASTRPC_LOOPBACK
	optRing     = C.FASTRPC_RING

	featIPv6        = C.FASTRPC_FEAT_IPV6
	featSharedConn  = C.FASTRPC_FEAT_SHARED_CONN
	featStreaming   = C.FASTRPC_FEAT_STREAMING
	featDeadlines   = C.FASTRPC_FEAT_DEADLINES
	featMetadata    = C.FASTRPC_FEAT_METADATA
	featFlow        = C.FASTRPC_FEAT_FLOW
	featCmsgTimout  = C.FASTRPC_FEAT_CMSG_TIMEOUT
	featLoopback    = C.FASTRPC_FEAT_LOOPBACK
	featRing        = C.FASTRPC_FEAT_RING
	featInDeadline  = C.FASTRPC_FEAT_IN_DEADLINE
	featRingLend    = C.FASTRPC_FEAT_RING_LEND
	featShutdownEOF = C.FASTRPC_FEAT_SHUTDOWN_EOF
)

// Limits.
const (
	maxMsg       = C.FASTRPC_MAX_MSG
	maxMetadata  = C.FASTRPC_MAX_METADATA
	maxStatusMsg = C.FASTRPC_MAX_STATUS_MSG
)

// Rings (FASTRPC_RING): mmap() offsets, limits, flags, ops, completion
// types.
const (
	ringOffSQ  = C.FASTRPC_RING_OFF_SQ
	ringOffCQ  = C.FASTRPC_RING_OFF_CQ
	ringOffBuf = C.FASTRPC_RING_OFF_BUF

	ringMaxEntries = C.FASTRPC_RING_MAX_ENTRIES
	ringMinBuf     = C.FASTRPC_RING_MIN_BUF
	ringMaxBuf     = C.FASTRPC_RING_MAX_BUF
	ringMaxArea    = C.FASTRPC_RING_MAX_AREA

	ringNeedWakeup = C.FASTRPC_RING_NEED_WAKEUP
	ringNoBuf      = C.FASTRPC_RING_NO_BUF

	opCall      = C.FASTRPC_OP_CALL
	opSend      = C.FASTRPC_OP_SEND
	opCancel    = C.FASTRPC_OP_CANCEL
	opReply     = C.FASTRPC_OP_REPLY
	opBufReturn = C.FASTRPC_OP_BUF_RETURN

	sqeStream    = C.FASTRPC_SQE_STREAM
	sqeEOR       = C.FASTRPC_SQE_EOR
	sqeReturnBuf = C.FASTRPC_SQE_RETURN_BUF
	sqeLend      = C.FASTRPC_SQE_LEND

	cqeResult   = C.FASTRPC_CQE_RESULT
	cqeIncoming = C.FASTRPC_CQE_INCOMING
	cqeError    = C.FASTRPC_CQE_ERROR
	cqeSent     = C.FASTRPC_CQE_SENT

	cqeFEOR       = C.FASTRPC_CQE_F_EOR
	cqeFCont      = C.FASTRPC_CQE_F_CONT
	cqeFCancelled = C.FASTRPC_CQE_F_CANCELLED
	cqeFRecvmsg   = C.FASTRPC_CQE_F_RECVMSG
	cqeFDeadline  = C.FASTRPC_CQE_F_DEADLINE
)

// enum fastrpc_status.
const (
	statusOK                 = C.FASTRPC_OK
	statusCancelled          = C.FASTRPC_CANCELLED
	statusUnknown            = C.FASTRPC_UNKNOWN
	statusInvalidArgument    = C.FASTRPC_INVALID_ARGUMENT
	statusDeadlineExceeded   = C.FASTRPC_DEADLINE_EXCEEDED
	statusNotFound           = C.FASTRPC_NOT_FOUND
	statusAlreadyExists      = C.FASTRPC_ALREADY_EXISTS
	statusPermissionDenied   = C.FASTRPC_PERMISSION_DENIED
	statusResourceExhausted  = C.FASTRPC_RESOURCE_EXHAUSTED
	statusFailedPrecondition = C.FASTRPC_FAILED_PRECONDITION
	statusAborted            = C.FASTRPC_ABORTED
	statusOutOfRange         = C.FASTRPC_OUT_OF_RANGE
	statusUnimplemented      = C.FASTRPC_UNIMPLEMENTED
	statusInternal           = C.FASTRPC_INTERNAL
	statusUnavailable        = C.FASTRPC_UNAVAILABLE
	statusDataLoss           = C.FASTRPC_DATA_LOSS
	statusUnauthenticated    = C.FASTRPC_UNAUTHENTICATED
	statusMax                = C.FASTRPC_STATUS_MAX
)

// Structure sizes.
const (
	sizeofSockaddr  = C.sizeof_struct_sockaddr_fastrpc
	sizeofCall      = C.sizeof_struct_fastrpc_call
	sizeofSend      = C.sizeof_struct_fastrpc_send
	sizeofResult    = C.sizeof_struct_fastrpc_result
	sizeofIncoming  = C.sizeof_struct_fastrpc_incoming
	sizeofReply     = C.sizeof_struct_fastrpc_reply
	sizeofMetaEntry = C.sizeof_struct_fastrpc_meta_entry
	sizeofFeatures  = C.sizeof_struct_fastrpc_features
	sizeofSockInfo  = C.sizeof_struct_fastrpc_sock_info
	sizeofRingSetup = C.sizeof_struct_fastrpc_ring_setup
	sizeofRingInfo  = C.sizeof_struct_fastrpc_ring_info
	sizeofSQE       = C.sizeof_struct_fastrpc_sqe
	sizeofCQE       = C.sizeof_struct_fastrpc_cqe
	sizeofTimeout   = C.sizeof___u64 // FASTRPC_CMSG_TIMEOUT and CANCEL carry one __u64
)

// Structures, in native byte order (the __be16 port as the bytes of the
// wire: use binary.BigEndian on its address).
type (
	rawSockaddr C.struct_sockaddr_fastrpc
	rawCall     C.struct_fastrpc_call
	rawSend     C.struct_fastrpc_send
	rawResult   C.struct_fastrpc_result
	rawIncoming C.struct_fastrpc_incoming
	rawReply    C.struct_fastrpc_reply
	rawFeatures C.struct_fastrpc_features
	rawSockInfo C.struct_fastrpc_sock_info

	rawRingSetup   C.struct_fastrpc_ring_setup
	rawRingOffsets C.struct_fastrpc_ring_offsets
	rawRingInfo    C.struct_fastrpc_ring_info
	rawSQE         C.struct_fastrpc_sqe
	rawCQE         C.struct_fastrpc_cqe
)
