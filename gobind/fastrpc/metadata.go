// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import "context"

// Metadata in contexts, in the manner of gRPC: a client attaches request
// headers to the context of its calls, a handler reads them from its own
// and sets trailers on it.

type outgoingKey struct{}
type incomingKey struct{}
type replyKey struct{}

// NewOutgoingContext returns a context whose calls carry md as request
// headers (merged with, and overridden by, a call's WithMetadata).
func NewOutgoingContext(ctx context.Context, md Metadata) context.Context {
	return context.WithValue(ctx, outgoingKey{}, md)
}

// FromOutgoingContext returns the request headers attached to ctx.
func FromOutgoingContext(ctx context.Context) (Metadata, bool) {
	md, ok := ctx.Value(outgoingKey{}).(Metadata)
	return md, ok
}

// FromIncomingContext returns the request headers of the call a handler's
// context belongs to.
func FromIncomingContext(ctx context.Context) (Metadata, bool) {
	md, ok := ctx.Value(incomingKey{}).(Metadata)
	return md, ok && md != nil
}

// replyState is what a handler sets for its reply through its context.
type replyState struct {
	trailers  Metadata
	statusMsg string
}

// SetTrailer adds md to the trailers of the reply to the call ctx belongs
// to (a handler's context); later keys replace earlier ones.  It sends
// trailers with OK replies as well as with errors.  It fails outside a
// handler.
func SetTrailer(ctx context.Context, md Metadata) error {
	rs, ok := ctx.Value(replyKey{}).(*replyState)
	if !ok {
		return errNoHandler
	}
	if rs.trailers == nil {
		rs.trailers = Metadata{}
	}
	for k, v := range md {
		rs.trailers[k] = v
	}
	return nil
}

// SetStatusMessage sets the status message of the reply to the call ctx
// belongs to, for an OK reply too (an error's own message wins).  It
// fails outside a handler.
func SetStatusMessage(ctx context.Context, msg string) error {
	rs, ok := ctx.Value(replyKey{}).(*replyState)
	if !ok {
		return errNoHandler
	}
	rs.statusMsg = msg
	return nil
}

// outgoing merges the context's headers with a call's own.
func outgoing(ctx context.Context, own Metadata) Metadata {
	md, ok := FromOutgoingContext(ctx)
	if !ok || len(md) == 0 {
		return own
	}
	if len(own) == 0 {
		return md
	}
	merged := make(Metadata, len(md)+len(own))
	for k, v := range md {
		merged[k] = v
	}
	for k, v := range own {
		merged[k] = v
	}
	return merged
}
