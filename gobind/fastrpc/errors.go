// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// Code is a call status, enum fastrpc_status: the gRPC code values.
type Code uint32

// Status codes.  The kernel itself produces Cancelled, Unavailable,
// ResourceExhausted and DeadlineExceeded; a server may send any of them.
// The values come from uapi/linux/fastrpc.h (zuapi.go).
const (
	OK                 Code = statusOK                 // not an error
	Cancelled          Code = statusCancelled          // the caller cancelled
	Unknown            Code = statusUnknown            // an error without a better code
	InvalidArgument    Code = statusInvalidArgument    // the request is wrong whatever the state
	DeadlineExceeded   Code = statusDeadlineExceeded   // the deadline passed first
	NotFound           Code = statusNotFound           // something requested was not found
	AlreadyExists      Code = statusAlreadyExists      // something to create exists already
	PermissionDenied   Code = statusPermissionDenied   // the caller may not do this
	ResourceExhausted  Code = statusResourceExhausted  // a quota or the server's admission limit
	FailedPrecondition Code = statusFailedPrecondition // the system is not in the state needed
	Aborted            Code = statusAborted            // a conflict, such as a failed transaction
	OutOfRange         Code = statusOutOfRange         // past the valid range
	Unimplemented      Code = statusUnimplemented      // no such method at the server
	Internal           Code = statusInternal           // an invariant broke at the server
	Unavailable        Code = statusUnavailable        // the server cannot be reached now; retry may work
	DataLoss           Code = statusDataLoss           // unrecoverable data loss
	Unauthenticated    Code = statusUnauthenticated    // no valid credentials
)

// codeNames spells each status as the header names it, without the
// FASTRPC_ prefix (TestCodeNamesMatchHeader checks them).
var codeNames = [...]string{
	OK: "OK", Cancelled: "CANCELLED", Unknown: "UNKNOWN",
	InvalidArgument: "INVALID_ARGUMENT", DeadlineExceeded: "DEADLINE_EXCEEDED",
	NotFound: "NOT_FOUND", AlreadyExists: "ALREADY_EXISTS",
	PermissionDenied: "PERMISSION_DENIED", ResourceExhausted: "RESOURCE_EXHAUSTED",
	FailedPrecondition: "FAILED_PRECONDITION", Aborted: "ABORTED",
	OutOfRange: "OUT_OF_RANGE", Unimplemented: "UNIMPLEMENTED", Internal: "INTERNAL",
	Unavailable: "UNAVAILABLE", DataLoss: "DATA_LOSS", Unauthenticated: "UNAUTHENTICATED",
}

// String returns the status name as the uapi header spells it, e.g.
// "UNAVAILABLE", or "Code(N)" for a value outside the enum.
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}

// StatusError is the error of a call that ended with a status other than
// OK: sent by the server, or made by the kernel (deadline, cancellation,
// lost connection, admission limit).  Use errors.As to get it, errors.Is
// with the Err* sentinels to test its code, or CodeOf.
type StatusError struct {
	// Code is the call's status.
	Code Code
	// Message is the server's status message, if any.
	Message string
	// Details is the reply payload that came with the status, if any:
	// machine-readable details, encoded as the server chose (a handler
	// sets it with WithDetails).
	Details []byte
	// Trailers are the server's reply trailers, if any.
	Trailers Metadata
}

// Error formats the status and message.
func (e *StatusError) Error() string {
	if e.Message == "" {
		return "fastrpc: " + e.Code.String()
	}
	return "fastrpc: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is a *StatusError with the same Code (such as
// the Err* sentinels), or context.DeadlineExceeded / context.Canceled for
// the DeadlineExceeded and Cancelled codes.
func (e *StatusError) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == DeadlineExceeded
	case context.Canceled:
		return e.Code == Cancelled
	}
	t, ok := target.(*StatusError)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per code but OK: any *StatusError with the
// same Code matches.
var (
	ErrCancelled          error = &StatusError{Code: Cancelled}
	ErrUnknown            error = &StatusError{Code: Unknown}
	ErrInvalidArgument    error = &StatusError{Code: InvalidArgument}
	ErrDeadlineExceeded   error = &StatusError{Code: DeadlineExceeded}
	ErrNotFound           error = &StatusError{Code: NotFound}
	ErrAlreadyExists      error = &StatusError{Code: AlreadyExists}
	ErrPermissionDenied   error = &StatusError{Code: PermissionDenied}
	ErrResourceExhausted  error = &StatusError{Code: ResourceExhausted}
	ErrFailedPrecondition error = &StatusError{Code: FailedPrecondition}
	ErrAborted            error = &StatusError{Code: Aborted}
	ErrOutOfRange         error = &StatusError{Code: OutOfRange}
	ErrUnimplemented      error = &StatusError{Code: Unimplemented}
	ErrInternal           error = &StatusError{Code: Internal}
	ErrUnavailable        error = &StatusError{Code: Unavailable}
	ErrDataLoss           error = &StatusError{Code: DataLoss}
	ErrUnauthenticated    error = &StatusError{Code: Unauthenticated}
)

// Errorf returns a *StatusError with code and a formatted message, for a
// handler to return.
func Errorf(code Code, format string, args ...any) error {
	return &StatusError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the status of err: OK for nil, the code of a
// *StatusError in its chain, DeadlineExceeded or Cancelled for the
// context errors, and Unknown for anything else.
func CodeOf(err error) Code {
	return statusOf(err).Code
}

// okStatus is statusOf(nil), shared: its callers only read it.
var okStatus = StatusError{Code: OK}

// statusOf maps a handler's error to what the server sends.
func statusOf(err error) *StatusError {
	var se *StatusError
	switch {
	case err == nil:
		return &okStatus
	case errors.As(err, &se):
		return se
	case errors.Is(err, context.DeadlineExceeded):
		return &StatusError{Code: DeadlineExceeded, Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &StatusError{Code: Cancelled, Message: err.Error()}
	}
	return &StatusError{Code: Unknown, Message: err.Error()}
}
