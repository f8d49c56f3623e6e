// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"fmt"
)

// Code is a call status, enum fastrpc_status: the gRPC code values.
type Code uint32

// Status codes.  The kernel itself produces Cancelled, Unavailable,
// ResourceExhausted and DeadlineExceeded; a server may send any of them.
const (
	OK                 Code = 0
	Cancelled          Code = 1
	Unknown            Code = 2
	InvalidArgument    Code = 3
	DeadlineExceeded   Code = 4
	NotFound           Code = 5
	AlreadyExists      Code = 6
	PermissionDenied   Code = 7
	ResourceExhausted  Code = 8
	FailedPrecondition Code = 9
	Aborted            Code = 10
	OutOfRange         Code = 11
	Unimplemented      Code = 12
	Internal           Code = 13
	Unavailable        Code = 14
	DataLoss           Code = 15
	Unauthenticated    Code = 16
)

// String returns the status name as libfastrpc spells it, e.g. "UNAVAILABLE",
// or "?" for a value outside the enum.
func (c Code) String() string { return statusName(uint32(c)) }

// StatusError is the error of a call that ended with a status other than
// OK: sent by the server, or made by the kernel (deadline, cancellation,
// lost connection, admission limit).
type StatusError struct {
	// Code is the call's status.
	Code Code
	// Message is the server's status message, if any.
	Message string
	// Trailers are the server's reply trailers, if any.
	Trailers Metadata
	// Data is the reply payload that came with the status, if any.
	Data []byte
}

// Error formats the status and message.
func (e *StatusError) Error() string {
	if e.Message == "" {
		return "fastrpc: " + e.Code.String()
	}
	return fmt.Sprintf("fastrpc: %s: %s", e.Code, e.Message)
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
	var t *StatusError
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// Sentinels for errors.Is: any *StatusError with the same Code matches.
var (
	ErrCancelled         error = &StatusError{Code: Cancelled}
	ErrDeadlineExceeded  error = &StatusError{Code: DeadlineExceeded}
	ErrUnavailable       error = &StatusError{Code: Unavailable}
	ErrResourceExhausted error = &StatusError{Code: ResourceExhausted}
	ErrUnimplemented     error = &StatusError{Code: Unimplemented}
	ErrInternal          error = &StatusError{Code: Internal}
)

// Errorf returns a *StatusError with code and a formatted message, for a
// handler to return.
func Errorf(code Code, format string, args ...any) error {
	return &StatusError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// statusOf maps a handler's error to what the server sends.
func statusOf(err error) *StatusError {
	var se *StatusError
	switch {
	case err == nil:
		return &StatusError{Code: OK}
	case errors.As(err, &se):
		return se
	case errors.Is(err, context.DeadlineExceeded):
		return &StatusError{Code: DeadlineExceeded, Message: err.Error()}
	case errors.Is(err, context.Canceled):
		return &StatusError{Code: Cancelled, Message: err.Error()}
	}
	return &StatusError{Code: Unknown, Message: err.Error()}
}
