// SPDX-License-Identifier: LGPL-2.1-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"time"

	"fastrpc.dev/gobind/fastrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
)

// echoMethod is the numeric method of libuser's echo examples.
const echoMethod = 1

// dialTimeout bounds connection setup; the calls themselves have no
// deadline (a context deadline costs allocations of its own).
const dialTimeout = 60 * time.Second

// --- go-fastrpc ------------------------------------------------------------

type fastrpcServer struct {
	ln  *fastrpc.Listener
	srv *fastrpc.Server
}

func listenFastRPC(addr string) (server, error) { return listenFastRPCWith(addr) }

// listenFastRPCWith is go-fastrpc's server with options: go-fastrpc-ring's
// is the same with the rings (ring.go).
func listenFastRPCWith(addr string, opts ...fastrpc.ListenOption) (server, error) {
	ln, err := fastrpc.Listen(addr, opts...)
	if err != nil {
		return nil, err
	}
	srv := fastrpc.NewServer()
	srv.HandleMethod(echoMethod, func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
		return req.Data, nil
	})
	return &fastrpcServer{ln: ln, srv: srv}, nil
}

func (s *fastrpcServer) port() int { return int(s.ln.Addr().(fastrpc.Addr).Port()) }
func (s *fastrpcServer) close()    { s.srv.Close() }

func (s *fastrpcServer) serve() error {
	if err := s.srv.Serve(context.Background(), s.ln); !errors.Is(err, fastrpc.ErrServerClosed) {
		return err
	}
	return nil
}

type fastrpcCaller struct{ c *fastrpc.Client }

func dialFastRPC(addr string) (caller, error) { return dialFastRPCWith(addr) }

// dialFastRPCWith is go-fastrpc's client with options: go-fastrpc-ring's
// is the same with the rings (ring.go).
func dialFastRPCWith(addr string, opts ...fastrpc.DialOption) (caller, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := fastrpc.Dial(ctx, addr, opts...)
	if err != nil {
		return nil, err
	}
	return &fastrpcCaller{c: c}, nil
}

func (f *fastrpcCaller) call(req []byte) ([]byte, error) {
	r, err := f.c.Call(context.Background(), echoMethod, req)
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

func (f *fastrpcCaller) close() error { return f.c.Close() }

// --- go-netrpc: the standard library's net/rpc (gob over TCP) ---------------

// Echo is the net/rpc service.
type Echo struct{}

// Echo answers with the request.
func (Echo) Echo(req []byte, reply *[]byte) error {
	*reply = req
	return nil
}

type netrpcServer struct {
	ln  net.Listener
	srv *rpc.Server
}

func listenNetRPC(addr string) (server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := rpc.NewServer()
	if err := srv.Register(Echo{}); err != nil {
		ln.Close()
		return nil, err
	}
	return &netrpcServer{ln: ln, srv: srv}, nil
}

func (s *netrpcServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }
func (s *netrpcServer) close()    { s.ln.Close() }

// serve is rpc.Server.Accept, which logs and returns when the listener
// is closed; the connections end with the process.
func (s *netrpcServer) serve() error {
	for {
		conn, err := s.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		go s.srv.ServeConn(conn)
	}
}

type netrpcCaller struct{ c *rpc.Client }

func dialNetRPC(addr string) (caller, error) {
	conn, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	return &netrpcCaller{c: rpc.NewClient(conn)}, nil
}

func (n *netrpcCaller) call(req []byte) ([]byte, error) {
	var reply []byte
	err := n.c.Call("Echo.Echo", req, &reply)
	return reply, err
}

func (n *netrpcCaller) close() error { return n.c.Close() }

// --- go-grpc: grpc-go unary calls over TCP (HTTP/2) ----------------------------

// rawCodec passes byte slices through, so that no protobuf code (and no
// protoc) is needed: a []byte or *[]byte goes out as it is, and a reply
// is copied into a *[]byte.  Calls select it by content subtype
// ("application/grpc+raw"); the server finds it in the same registry.
type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch m := v.(type) {
	case []byte:
		return m, nil
	case *[]byte:
		return *m, nil
	}
	return nil, fmt.Errorf("raw codec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("raw codec: cannot unmarshal into %T", v)
	}
	*p = append((*p)[:0], data...)
	return nil
}

func init() { encoding.RegisterCodec(rawCodec{}) }

const grpcMethod = "/fastrpc.bench.Echo/Echo"

var grpcEcho = grpc.ServiceDesc{
	ServiceName: "fastrpc.bench.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Echo",
		Handler: func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req []byte
			if err := dec(&req); err != nil {
				return nil, err
			}
			return req, nil
		},
	}},
}

type grpcServer struct {
	ln  net.Listener
	srv *grpc.Server
}

func listenGRPC(addr string) (server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := grpc.NewServer()
	srv.RegisterService(&grpcEcho, struct{}{})
	return &grpcServer{ln: ln, srv: srv}, nil
}

func (s *grpcServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }
func (s *grpcServer) close()    { s.srv.Stop() }

func (s *grpcServer) serve() error {
	if err := s.srv.Serve(s.ln); !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

type grpcCaller struct{ cc *grpc.ClientConn }

func dialGRPC(addr string) (caller, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	cc, err := grpc.DialContext(ctx, addr, grpc.WithInsecure(), grpc.WithBlock(),
		grpc.WithDefaultCallOptions(grpc.CallContentSubtype(rawCodec{}.Name())))
	if err != nil {
		return nil, err
	}
	return &grpcCaller{cc: cc}, nil
}

func (g *grpcCaller) call(req []byte) ([]byte, error) {
	var reply []byte
	err := g.cc.Invoke(context.Background(), grpcMethod, req, &reply)
	return reply, err
}

func (g *grpcCaller) close() error { return g.cc.Close() }
