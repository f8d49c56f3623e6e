// SPDX-License-Identifier: LGPL-2.1-or-later

package protocodec_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"fastrpc.dev/gobind/protocodec"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestName(t *testing.T) {
	if got := protocodec.Codec.Name(); got != "proto" {
		t.Fatalf("Name() = %q, want proto", got)
	}
}

// The codec writes protobuf's binary format, the same bytes as
// proto.Marshal: field 1, length-delimited, "hi".
func TestWireFormat(t *testing.T) {
	b, err := protocodec.Codec.Marshal(wrapperspb.String("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x0a, 0x02, 'h', 'i'}; !bytes.Equal(b, want) {
		t.Fatalf("Marshal = % x, want % x", b, want)
	}
}

// kvEntry builds, without protoc, the descriptor of
//
//	message Entry { string key = 1; bytes value = 2; int64 version = 3; repeated string tags = 4; }
//
// as an application's own message would be.
func kvEntry(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, label descriptorpb.FieldDescriptorProto_Label) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(n),
			Type: typ.Enum(), Label: label.Enum(), JsonName: proto.String(name)}
	}
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name:    proto.String("fastrpc/protocodec_test/kv.proto"),
		Package: proto.String("fastrpc.protocodec_test"),
		Syntax:  proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{{
			Name: proto.String("Entry"),
			Field: []*descriptorpb.FieldDescriptorProto{
				field("key", 1, descriptorpb.FieldDescriptorProto_TYPE_STRING, opt),
				field("value", 2, descriptorpb.FieldDescriptorProto_TYPE_BYTES, opt),
				field("version", 3, descriptorpb.FieldDescriptorProto_TYPE_INT64, opt),
				field("tags", 4, descriptorpb.FieldDescriptorProto_TYPE_STRING,
					descriptorpb.FieldDescriptorProto_LABEL_REPEATED),
			},
		}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("Entry")
}

func TestRoundTrip(t *testing.T) {
	st, err := structpb.NewStruct(map[string]any{
		"name": "kv", "replicas": 3.0, "ready": true, "zones": []any{"a", "b"},
		"limits": map[string]any{"rps": 1000.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	md := kvEntry(t)
	entry := dynamicpb.NewMessage(md)
	entry.Set(md.Fields().ByName("key"), protoreflect.ValueOfString("greeting"))
	entry.Set(md.Fields().ByName("value"), protoreflect.ValueOfBytes([]byte{0, 1, 0xff}))
	entry.Set(md.Fields().ByName("version"), protoreflect.ValueOfInt64(-7))
	tags := entry.Mutable(md.Fields().ByName("tags")).List()
	tags.Append(protoreflect.ValueOfString("x"))
	tags.Append(protoreflect.ValueOfString("y"))

	for _, tc := range []struct {
		name string
		in   proto.Message
		out  proto.Message // a fresh message of the same type, with leftovers
	}{
		{"string", wrapperspb.String("hello, world"), wrapperspb.String("left over")},
		{"empty", wrapperspb.String(""), wrapperspb.String("left over")},
		{"int64", wrapperspb.Int64(-1 << 40), new(wrapperspb.Int64Value)},
		{"duration", durationpb.New(90*time.Second + 5), new(durationpb.Duration)},
		{"struct", st, new(structpb.Struct)},
		{"dynamic", entry, dynamicpb.NewMessage(md)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := protocodec.Codec.Marshal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			// protobuf itself reads what the codec wrote (byte order of
			// maps and dynamic messages' fields may vary, so the bytes
			// are not compared).
			check := tc.in.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, check); err != nil || !proto.Equal(tc.in, check) {
				t.Fatalf("proto.Unmarshal of the codec's bytes: %v, %v", check, err)
			}
			if err := protocodec.Codec.Unmarshal(b, tc.out); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(tc.in, tc.out) {
				t.Fatalf("decoded %v, want %v", tc.out, tc.in)
			}
		})
	}
}

// Values that are not proto.Message implementations, and bytes that are
// not a message, are errors that say so.
func TestErrors(t *testing.T) {
	for _, v := range []any{"hi", 42, []byte("raw"), map[string]string{}, struct{}{}, nil} {
		_, err := protocodec.Codec.Marshal(v)
		if err == nil || !strings.Contains(err.Error(), "proto.Message") {
			t.Errorf("Marshal(%#v): %v, want an error naming proto.Message", v, err)
		}
	}
	var s string
	var nilMsg *wrapperspb.StringValue
	for _, v := range []any{&s, s, nil, new(int), new([]byte)} {
		err := protocodec.Codec.Unmarshal([]byte{0x0a, 0x00}, v)
		if err == nil || !strings.Contains(err.Error(), "proto.Message") {
			t.Errorf("Unmarshal into %T: %v, want an error naming proto.Message", v, err)
		}
	}
	if err := protocodec.Codec.Unmarshal([]byte{0x0a, 0x00}, nilMsg); err == nil ||
		!strings.Contains(err.Error(), "nil *wrapperspb.StringValue") {
		t.Errorf("Unmarshal into a nil message: %v", err)
	}
	// Field 1, length 5, but only 2 bytes follow.
	if err := protocodec.Codec.Unmarshal([]byte{0x0a, 0x05, 'h', 'i'}, new(wrapperspb.StringValue)); err == nil {
		t.Error("Unmarshal of a truncated message succeeded")
	}
	// JSON is not the binary format: `"hi"` reads as field 4, length 'h'.
	if err := protocodec.Codec.Unmarshal([]byte(`"hi"`), new(wrapperspb.StringValue)); err == nil {
		t.Error(`Unmarshal of the JSON "hi" succeeded`)
	}
}
