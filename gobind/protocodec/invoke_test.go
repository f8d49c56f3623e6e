// SPDX-License-Identifier: LGPL-2.1-or-later

package protocodec_test

// The codec through real calls: these need the af_fastrpc module (they
// run in the test guests; fastrpctest skips them elsewhere).

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"fastrpc.dev/gobind/fastrpc"
	"fastrpc.dev/gobind/fastrpc/fastrpctest"
	"fastrpc.dev/gobind/protocodec"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func upper(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	if in.GetValue() == "fail" {
		return nil, fastrpc.Errorf(fastrpc.FailedPrecondition, "asked to fail")
	}
	return wrapperspb.String(strings.ToUpper(in.GetValue())), nil
}

func TestModuleInvoke(t *testing.T) {
	ts := fastrpctest.NewServer(t, fastrpc.WithServerCodec(protocodec.Codec))
	fastrpc.HandleTyped(ts.Server, "text.Upper", upper)
	fastrpc.HandleTyped(ts.Server, "conf.Echo", func(ctx context.Context, in *structpb.Struct) (*structpb.Struct, error) {
		return in, nil
	})
	c := ts.Client(fastrpc.WithCodec(protocodec.Codec))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var out wrapperspb.StringValue
	if err := c.Invoke(ctx, "text.Upper", wrapperspb.String("hello"), &out); err != nil || out.GetValue() != "HELLO" {
		t.Fatalf("text.Upper: %q, %v", out.GetValue(), err)
	}
	in, err := structpb.NewStruct(map[string]any{"zones": []any{"a", "b"}, "replicas": 3.0})
	if err != nil {
		t.Fatal(err)
	}
	var back structpb.Struct
	if err := c.Invoke(ctx, "conf.Echo", in, &back); err != nil {
		t.Fatal(err)
	}
	if got := back.AsMap(); got["replicas"] != 3.0 || len(got["zones"].([]any)) != 2 {
		t.Fatalf("conf.Echo: %v", got)
	}
	// A handler's status comes back as it is.
	if err := c.Invoke(ctx, "text.Upper", wrapperspb.String("fail"), &out); !errors.Is(err, fastrpc.ErrFailedPrecondition) {
		t.Fatalf("text.Upper(fail): %v, want FAILED_PRECONDITION", err)
	}
	// A value that is not a message never leaves the client.
	if err := c.Invoke(ctx, "text.Upper", "hello", &out); err == nil || !strings.Contains(err.Error(), "proto.Message") {
		t.Fatalf("Invoke with a string: %v", err)
	}
	// A client speaking JSON to the protobuf server: the request does
	// not decode, and the server says so.
	jc := ts.Client()
	err = jc.Invoke(ctx, "text.Upper", "hi", &out)
	if fastrpc.CodeOf(err) != fastrpc.InvalidArgument || !strings.Contains(err.Error(), "(proto)") {
		t.Fatalf("a JSON request to the proto server: %v, want INVALID_ARGUMENT from the proto codec", err)
	}
}

// Streams' SendMsg and RecvMsg, an empty message (zero bytes on the wire)
// among them.
func TestModuleStream(t *testing.T) {
	ts := fastrpctest.NewServer(t, fastrpc.WithServerCodec(protocodec.Codec))
	ts.HandleStream("text.UpperStream", func(ctx context.Context, st *fastrpc.ServerStream) error {
		for {
			var in wrapperspb.StringValue
			if err := st.RecvMsg(&in); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := st.SendMsg(wrapperspb.String(strings.ToUpper(in.GetValue()))); err != nil {
				return err
			}
		}
	})
	c := ts.Client(fastrpc.WithCodec(protocodec.Codec))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.NewStream(ctx, "text.UpperStream")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"a", "", "stream"} {
		if err := st.SendMsg(wrapperspb.String(m)); err != nil {
			t.Fatal(err)
		}
		out := wrapperspb.String("left over")
		if err := st.RecvMsg(out); err != nil || out.GetValue() != strings.ToUpper(m) {
			t.Fatalf("reply to %q: %q, %v", m, out.GetValue(), err)
		}
	}
	if err := st.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := st.RecvMsg(new(wrapperspb.StringValue)); err != io.EOF {
		t.Fatalf("after CloseSend: %v, want io.EOF", err)
	}
}
