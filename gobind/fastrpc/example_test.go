// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"fastrpc.dev/gobind/fastrpc"
)

// A client makes raw calls with a deadline; a status other than OK comes
// back as a *StatusError.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := fastrpc.Dial(ctx, "localhost:7070")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx = fastrpc.NewOutgoingContext(ctx, fastrpc.Metadata{"trace-id": []byte("42")})
	reply, err := c.Call(ctx, fastrpc.MethodOf("echo"), []byte("ping"))
	switch {
	case errors.Is(err, fastrpc.ErrDeadlineExceeded):
		log.Print("too slow")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s\n", reply.Data)
	}
}

// A client whose unary calls go through the socket's rings: the calls of
// all its goroutines share doorbell system calls.  Default sizes: 256 SQ
// and 512 CQ entries, 2 KiB buffers.
func ExampleWithRing() {
	ctx := context.Background()
	c, err := fastrpc.Dial(ctx, "localhost:7070", fastrpc.WithRing(0, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	done := make(chan error)
	for i := 0; i < 64; i++ {
		go func() {
			_, err := c.Call(ctx, fastrpc.MethodOf("echo"), []byte("ping"))
			done <- err
		}()
	}
	for i := 0; i < 64; i++ {
		if err := <-done; err != nil {
			log.Print(err)
		}
	}
}

type getRequest struct{ Key string }
type getReply struct{ Value string }

// Typed calls by method name, with the JSON codec (the default).
func ExampleClient_Invoke() {
	ctx := context.Background()
	c, err := fastrpc.Dial(ctx, "localhost:7070")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var out getReply
	var trailers fastrpc.Metadata
	err = c.Invoke(ctx, "kv.Get", &getRequest{Key: "k"}, &out, fastrpc.WithTrailer(&trailers))
	if fastrpc.CodeOf(err) == fastrpc.NotFound {
		log.Print("no such key")
	}
}

// A server answers the methods registered by name, each call in its own
// goroutine, and stops gracefully.
func ExampleServer_Serve() {
	ln, err := fastrpc.Listen("127.0.0.1:7070") // loopback callers only
	if err != nil {
		log.Fatal(err)
	}
	s := fastrpc.NewServer()
	s.Handle("echo", func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
		return req.Data, nil
	})
	fastrpc.HandleTyped(s, "kv.Get", func(ctx context.Context, req *getRequest) (*getReply, error) {
		if md, _ := fastrpc.FromIncomingContext(ctx); md["tenant"] == nil {
			return nil, fastrpc.Errorf(fastrpc.PermissionDenied, "no tenant")
		}
		fastrpc.SetTrailer(ctx, fastrpc.Metadata{"cache": []byte("hit")})
		return &getReply{Value: "v"}, nil
	})
	go func() {
		time.Sleep(time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx) // GOAWAY, then wait for the calls in progress
	}()
	log.Print(s.Serve(context.Background(), ln))
}

// Errors carry the call's status and match the sentinels.
func ExampleStatusError() {
	err := fmt.Errorf("fetch: %w", fastrpc.Errorf(fastrpc.Unavailable, "server going away"))
	var se *fastrpc.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.Code, se.Message)
	}
	fmt.Println(errors.Is(err, fastrpc.ErrUnavailable), fastrpc.CodeOf(err))
	// Output:
	// UNAVAILABLE server going away
	// true UNAVAILABLE
}

func ExampleCode_String() {
	fmt.Println(fastrpc.DeadlineExceeded)
	// Output: DEADLINE_EXCEEDED
}

// Both ends agree on a named method's number without coordination.
func ExampleMethodOf() {
	fmt.Printf("%#x\n", fastrpc.MethodOf("kv.Get"))
	// Output: 0xe580159a
}

// A bidirectional stream: each message is answered as it comes.
func ExampleClient_NewStream() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel() // also ends the stream if it is left early
	c, err := fastrpc.Dial(ctx, "localhost:7070")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	st, err := c.NewStream(ctx, "chat")
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range []string{"hi", "how are you?"} {
		if err := st.Send([]byte(line)); err != nil {
			log.Fatal(err)
		}
		answer, err := st.Recv()
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s\n", answer)
	}
	st.CloseSend()
	if _, err := st.Recv(); err != io.EOF {
		log.Fatal(err) // the call's status, a *StatusError
	}
}

// A stream handler: it reads the client's messages until io.EOF and
// sends its own; its return value is the call's status.
func ExampleServer_HandleStream() {
	s := fastrpc.NewServer()
	s.HandleStream("chat", func(ctx context.Context, st *fastrpc.ServerStream) error {
		for {
			msg, err := st.Recv()
			if err == io.EOF {
				return nil // OK
			}
			if err != nil {
				return err
			}
			if err := st.Send(append([]byte("you said: "), msg...)); err != nil {
				return err
			}
		}
	})
}
