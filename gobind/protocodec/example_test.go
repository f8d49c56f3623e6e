// SPDX-License-Identifier: LGPL-2.1-or-later

package protocodec_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"fastrpc.dev/gobind/fastrpc"
	"fastrpc.dev/gobind/protocodec"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Both ends name the codec: the client for Invoke and streams, the server
// for HandleTyped and its streams.
func Example() {
	ctx := context.Background()
	s := fastrpc.NewServer(fastrpc.WithServerCodec(protocodec.Codec))
	fastrpc.HandleTyped(s, "text.Upper", func(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
		return wrapperspb.String(strings.ToUpper(in.GetValue())), nil
	})
	// ... go s.Serve(ctx, ln)

	c, err := fastrpc.Dial(ctx, "localhost:7070", fastrpc.WithCodec(protocodec.Codec))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	var out wrapperspb.StringValue
	if err := c.Invoke(ctx, "text.Upper", wrapperspb.String("hello"), &out); err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.GetValue())
}

// The codec on its own: protobuf's binary format.
func Example_marshal() {
	b, err := protocodec.Codec.Marshal(wrapperspb.String("hi"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("% x\n", b)
	var back wrapperspb.StringValue
	if err := protocodec.Codec.Unmarshal(b, &back); err != nil {
		log.Fatal(err)
	}
	fmt.Println(back.GetValue())
	_, err = protocodec.Codec.Marshal("hi")
	fmt.Println(err)
	// Output:
	// 0a 02 68 69
	// hi
	// protocodec: the proto codec encodes a proto.Message (a pointer to a generated message), not string
}
