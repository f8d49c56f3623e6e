// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
)

// UnaryInvoker makes a typed call: Invoke's last step, or the next
// interceptor.
type UnaryInvoker func(c *Client, ctx context.Context, method string, in, out any, opts ...Option) error

// UnaryClientInterceptor wraps every Invoke of a Client: it may look at or
// change the call, and calls invoker (or not) to make it.
type UnaryClientInterceptor func(ctx context.Context, method string, in, out any, c *Client, invoker UnaryInvoker, opts ...Option) error

// Invoke calls the named method (see MethodOf) with in encoded by the
// client's codec (WithCodec; JSON by default) and decodes the reply into
// out, a pointer (nil: the reply is dropped).  Request headers come from
// NewOutgoingContext and WithMetadata; WithTrailer gets the trailers.
// The client's interceptors run around it.  Errors are as for Call; a
// reply that does not decode is an error of the codec.
func (c *Client) Invoke(ctx context.Context, method string, in, out any, opts ...Option) error {
	return c.invoker(c, ctx, method, in, out, opts...)
}

func (c *Client) invoke(ctx context.Context, method string, in, out any, opts ...Option) error {
	req, err := c.opts.codec.Marshal(in)
	if err != nil {
		return err
	}
	r, err := c.Call(ctx, MethodOf(method), req, opts...)
	var trailers Metadata
	var se *StatusError
	switch {
	case err == nil:
		trailers = r.Trailers
	case errors.As(err, &se):
		trailers = se.Trailers
	}
	if len(opts) > 0 {
		if o := collect(opts); o.trailer != nil {
			*o.trailer = trailers
		}
	}
	if err != nil || out == nil {
		return err
	}
	return c.opts.codec.Unmarshal(r.Data, out)
}

// chainUnaryClient wraps last in the interceptors, the first outermost.
func chainUnaryClient(is []UnaryClientInterceptor, last UnaryInvoker) UnaryInvoker {
	for i := len(is) - 1; i >= 0; i-- {
		ic, next := is[i], last
		last = func(c *Client, ctx context.Context, method string, in, out any, opts ...Option) error {
			return ic(ctx, method, in, out, c, next, opts...)
		}
	}
	return last
}
