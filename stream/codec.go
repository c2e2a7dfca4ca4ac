package stream

import (
	"google.golang.org/protobuf/proto"
)

// Codec turns elements into bytes and back, for streams that cross actor
// systems (ToRemote, FromRemote). Both functions must be safe for
// concurrent use; Decode gets bytes it may keep.
type Codec[T any] struct {
	Encode func(T) ([]byte, error)
	Decode func([]byte) (T, error)
}

func (c Codec[T]) valid() bool { return c.Encode != nil && c.Decode != nil }

// ProtoCodec encodes protobuf messages of type M.
func ProtoCodec[M proto.Message]() Codec[M] {
	return Codec[M]{
		Encode: func(m M) ([]byte, error) { return proto.Marshal(m) },
		Decode: func(b []byte) (M, error) {
			var zero M
			m := zero.ProtoReflect().New().Interface().(M)
			return m, proto.Unmarshal(b, m)
		},
	}
}

// BytesCodec passes byte slices as they are.
func BytesCodec() Codec[[]byte] {
	return Codec[[]byte]{
		Encode: func(b []byte) ([]byte, error) { return b, nil },
		Decode: func(b []byte) ([]byte, error) { return b, nil },
	}
}
