// SPDX-License-Identifier: LGPL-2.1-or-later

package fastrpc

import (
	"encoding/json"
	"fmt"
)

// Codec turns the values of typed calls (Client.Invoke, HandleTyped,
// streams' SendMsg and RecvMsg) into messages and back.  The kernel
// carries bytes; the codec is the application's business, and both ends
// must use the same one.  The protobuf codec, protocodec.Codec, lives in
// the module fastrpc.dev/gobind/protocodec (gobind/protocodec), so that
// this one needs nothing but the standard library.
type Codec interface {
	// Name names the codec, such as "json".
	Name() string
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a pointer.
	Unmarshal(data []byte, v any) error
}

// JSON is the codec of encoding/json, the default.
var JSON Codec = jsonCodec{}

// Raw passes bytes through: Marshal takes []byte (or *[]byte), Unmarshal
// fills a *[]byte with a copy.
var Raw Codec = rawCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string                       { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

type rawCodec struct{}

func (rawCodec) Name() string { return "raw" }

func (rawCodec) Marshal(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("fastrpc: the raw codec takes []byte, not %T", v)
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("fastrpc: the raw codec fills *[]byte, not %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}
