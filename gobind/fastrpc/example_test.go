// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"fastrpc.dev/gobind/fastrpc"
)

// A client makes calls with a deadline; a status other than OK comes back
// as a *StatusError.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := fastrpc.Dial(ctx, "127.0.0.1:7070")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	reply, err := c.Call(ctx, 1, []byte("ping"),
		fastrpc.WithMetadata(fastrpc.Metadata{"trace-id": []byte("42")}))
	switch {
	case errors.Is(err, fastrpc.ErrDeadlineExceeded):
		log.Print("too slow")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s\n", reply.Data)
	}
}

// A server answers every call in its own goroutine.
func ExampleServer_Serve() {
	srv, err := fastrpc.Listen(":7070")
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	err = srv.Serve(context.Background(), func(ctx context.Context, req *fastrpc.Request) ([]byte, error) {
		if req.Method != 1 {
			return nil, fastrpc.Errorf(fastrpc.Unimplemented, "no method %d", req.Method)
		}
		return req.Data, nil
	})
	log.Print(err)
}

// Errors carry the call's status and match the sentinels.
func ExampleStatusError() {
	err := fmt.Errorf("fetch: %w", fastrpc.Errorf(fastrpc.Unavailable, "server going away"))
	var se *fastrpc.StatusError
	if errors.As(err, &se) {
		fmt.Println(se.Code, se.Message)
	}
	fmt.Println(errors.Is(err, fastrpc.ErrUnavailable))
	// Output:
	// UNAVAILABLE server going away
	// true
}

func ExampleCode_String() {
	fmt.Println(fastrpc.DeadlineExceeded)
	// Output: DEADLINE_EXCEEDED
}
