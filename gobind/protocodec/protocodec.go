// SPDX-License-Identifier: LGPL-2.1-or-later

// Package protocodec is the protobuf codec of fastrpc.dev/gobind: the
// binary wire format of proto.Marshal and proto.Unmarshal for the values
// of typed calls and streams.
//
//	c, err := fastrpc.Dial(ctx, addr, fastrpc.WithCodec(protocodec.Codec))
//	err = c.Invoke(ctx, "kv.Get", &pb.GetRequest{Key: "k"}, &reply)
//
//	s := fastrpc.NewServer(fastrpc.WithServerCodec(protocodec.Codec))
//	fastrpc.HandleTyped(s, "kv.Get", get) // func(ctx, *pb.GetRequest) (*pb.GetReply, error)
//
// Values must be proto.Message implementations (pointers to generated
// message structs, *dynamicpb.Message, ...); anything else is an error
// that names its type.  It lives in a module of its own so that
// fastrpc.dev/gobind itself needs nothing but the standard library.
package protocodec

import (
	"fmt"

	"fastrpc.dev/gobind/fastrpc"
	"google.golang.org/protobuf/proto"
)

// Codec is the protobuf codec; its Name is "proto".
var Codec fastrpc.Codec = codec{}

type codec struct{}

func (codec) Name() string { return "proto" }

// Marshal encodes v, a proto.Message.
func (codec) Marshal(v any) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, notMessage("encodes", v)
	}
	return proto.Marshal(m)
}

// Unmarshal decodes data into v, a non-nil proto.Message, which it
// resets first.
func (codec) Unmarshal(data []byte, v any) error {
	m, ok := v.(proto.Message)
	if !ok {
		return notMessage("decodes into", v)
	}
	if !m.ProtoReflect().IsValid() {
		return fmt.Errorf("protocodec: cannot decode into a nil %T", v)
	}
	return proto.Unmarshal(data, m)
}

func notMessage(what string, v any) error {
	if v == nil {
		return fmt.Errorf("protocodec: the proto codec %s a proto.Message, not nil", what)
	}
	return fmt.Errorf("protocodec: the proto codec %s a proto.Message (a pointer to a generated message), not %T", what, v)
}
