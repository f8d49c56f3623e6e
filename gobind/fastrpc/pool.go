// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"context"
	"errors"
	"sync/atomic"
)

// Pool spreads calls over several client sockets to one server, each with
// its own receive goroutine, so that a busy client uses more than one
// core to take its results in.  The kernel still shares one connection
// among them.  It is safe for concurrent use.
type Pool struct {
	clients []*Client
	next    atomic.Uint32
}

// DialPool dials n sockets (at least 1) to addr, as Dial does.
func DialPool(ctx context.Context, addr string, n int, opts ...DialOption) (*Pool, error) {
	p := &Pool{clients: make([]*Client, 0, max(n, 1))}
	for i := 0; i < max(n, 1); i++ {
		c, err := Dial(ctx, addr, opts...)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.clients = append(p.clients, c)
	}
	return p, nil
}

// Client returns the next socket in turn.
func (p *Pool) Client() *Client {
	return p.clients[int(p.next.Add(1)-1)%len(p.clients)]
}

// Call is Client.Call on the next socket.
func (p *Pool) Call(ctx context.Context, method uint32, req []byte, opts ...Option) (*Reply, error) {
	return p.Client().Call(ctx, method, req, opts...)
}

// Invoke is Client.Invoke on the next socket.
func (p *Pool) Invoke(ctx context.Context, method string, in, out any, opts ...Option) error {
	return p.Client().Invoke(ctx, method, in, out, opts...)
}

// NewStream is Client.NewStream on the next socket.
func (p *Pool) NewStream(ctx context.Context, method string, opts ...Option) (*ClientStream, error) {
	return p.Client().NewStream(ctx, method, opts...)
}

// Close closes every socket.
func (p *Pool) Close() error {
	var errs []error
	for _, c := range p.clients {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// HealthMethod is the method every Server answers with OK while it takes
// calls: load balancers and Client.Health probe it.
const HealthMethod = "fastrpc.Health"

// Health probes the server's HealthMethod: nil while it serves, else the
// call's error (UNAVAILABLE once it shuts down, for instance).
func (c *Client) Health(ctx context.Context) error {
	_, err := c.Call(ctx, MethodOf(HealthMethod), nil)
	return err
}
