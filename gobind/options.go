// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

// Option adjusts one call (Client.Call) or one reply (Request.Reply).
type Option func(*options)

type options struct {
	md        Metadata
	statusMsg string
}

// WithMetadata attaches metadata: request headers on a call, trailers on a
// reply.  At most MaxMetadata bytes encoded; keys of 1..255 bytes.
func WithMetadata(md Metadata) Option {
	return func(o *options) { o.md = md }
}

// WithStatusMessage attaches a UTF-8 status message (at most
// MaxStatusMessage bytes) to a reply; calls ignore it.
func WithStatusMessage(msg string) Option {
	return func(o *options) { o.statusMsg = msg }
}

func collect(opts []Option) options {
	var o options
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}
