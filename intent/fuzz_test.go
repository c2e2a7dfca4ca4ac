package intent

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// fuzzRegistry knows the counter intents and the "user" domain only.
func fuzzRegistry(t testing.TB) *Registry {
	t.Helper()
	cat := capability.NewCatalog()
	user, err := capability.NewSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic"))
	require.NoError(t, err)
	require.NoError(t, cat.Define(user))
	reg := NewRegistry(cat)
	_, err = Register(reg, Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Reset]{Kind: "counter", Requires: []string{"user:admin"}, Identity: (*counterpb.Reset).GetCounter})
	require.NoError(t, err)
	_, err = Register(reg, Spec[*counterpb.Get]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Get).GetCounter})
	require.NoError(t, err)
	return reg
}

// fuzzSeeds are valid envelopes and near misses.
func fuzzSeeds(t testing.TB, reg *Registry) [][]byte {
	t.Helper()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	grants := func(gs ...capability.Grant) *capability.GrantSet {
		set, err := reg.Catalog().Grants(gs...)
		require.NoError(t, err)
		return set
	}
	typeOf := func(m proto.Message) *Type {
		typ, err := reg.TypeOf(m)
		require.NoError(t, err)
		return typ
	}
	inc := &counterpb.Increment{Counter: "c1", UserId: "u1"}
	valid := []*Envelope{
		{
			ID: "intent-1", Type: typeOf(inc), Message: inc,
			Deadline: now.Add(5 * time.Second),
			Metadata: map[string]string{"origin": "fuzz"},
			Context: &Context{
				Principal: "alice", SessionID: "s1", RequestID: "r1",
				Trace: []Hop{{Node: "a", Actor: "http", At: now}, {Node: "b", Actor: "counter/c1", At: now.Add(time.Millisecond)}},
				Grants: grants(
					capability.Grant{Capability: capability.MustParse("user:basic")},
					capability.Grant{Capability: capability.MustParse("user:admin:*"), NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)},
					capability.Grant{Capability: capability.MustParse("user:basic:/home/alice/*"), NotAfter: now},
				),
			},
		},
		{ID: "r", Type: typeOf(&counterpb.Reset{}), Message: &counterpb.Reset{Counter: "c2"}},
		{
			ID: "g", Type: typeOf(&counterpb.Get{}), Message: &counterpb.Get{Counter: "c3"},
			Deadline: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC),
			Context:  &Context{Trace: []Hop{{Node: "n"}}, Grants: grants(capability.Grant{Capability: capability.MustParse("user:admin"), NotBefore: now})},
		},
	}
	var seeds [][]byte
	for _, e := range valid {
		pb, err := e.Encode()
		require.NoError(t, err)
		data, err := proto.Marshal(pb)
		require.NoError(t, err)
		seeds = append(seeds, data, data[:len(data)/2], append(append([]byte(nil), data...), 0xff))

		// Near misses: each breaks one rule of Decode.
		for _, change := range []func(*intentpb.Envelope){
			func(pb *intentpb.Envelope) { pb.Type = "packetflow.examples.counter.v1.Value" },
			func(pb *intentpb.Envelope) {
				pb.Payload.TypeUrl = "type.googleapis.com/packetflow.examples.counter.v1.Value"
			},
			func(pb *intentpb.Envelope) { pb.Deadline = timestamppb.New(time.Time{}) },
			func(pb *intentpb.Envelope) { pb.Deadline = &timestamppb.Timestamp{Nanos: -1} },
			func(pb *intentpb.Envelope) {
				pb.Context.Grants = append(pb.Context.Grants, &intentpb.Grant{Capability: "file:read:/etc/passwd"})
			},
			func(pb *intentpb.Envelope) {
				pb.Context.Grants = append(pb.Context.Grants, &intentpb.Grant{Capability: "user:basic", NotAfter: timestamppb.New(time.Time{})})
			},
			func(pb *intentpb.Envelope) {
				pb.Context.Trace = append(pb.Context.Trace, &intentpb.Hop{Node: "x", At: &timestamppb.Timestamp{Seconds: 1 << 62}})
			},
		} {
			bad := proto.Clone(pb).(*intentpb.Envelope)
			if bad.Context == nil {
				bad.Context = &intentpb.Context{}
			}
			change(bad)
			data, err := proto.Marshal(bad)
			require.NoError(t, err)
			seeds = append(seeds, data)
		}
	}
	return append(seeds,
		nil,
		[]byte{0},
		[]byte{0xff, 0xff, 0xff, 0xff},
		[]byte("not an envelope at all"),
		[]byte{0x0a, 0x80, 0x80, 0x80, 0x80, 0x10},
		[]byte{0x32, 0x02, 0x22, 0x00}, // a context with one empty grant
	)
}

// FuzzUnmarshalEnvelope: whatever bytes arrive, Unmarshal never panics; it
// returns an envelope or an error of this package's kinds, and an envelope it
// returns encodes to bytes it decodes again to the same envelope.
func FuzzUnmarshalEnvelope(f *testing.F) {
	reg := fuzzRegistry(f)
	for _, seed := range fuzzSeeds(f, reg) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := reg.Unmarshal(data)
		if err != nil {
			require.Nil(t, env)
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnknownType) {
				t.Fatalf("error of no known kind: %v", err)
			}
			return
		}
		require.NotNil(t, env)
		require.NotNil(t, env.Type)
		require.NotNil(t, env.Message)
		require.NotNil(t, env.Context)
		require.Equal(t, env.Type.Name(), string(env.Message.ProtoReflect().Descriptor().FullName()))

		// What was on the wire is what was decoded.
		var wire intentpb.Envelope
		require.NoError(t, proto.Unmarshal(data, &wire))
		require.Equal(t, wire.GetDeadline() == nil, env.Deadline.IsZero(), "a deadline is decoded exactly when one was sent")
		require.Len(t, env.Context.Trace, len(wire.GetContext().GetTrace()))
		require.LessOrEqual(t, env.Context.Grants.Len(), len(wire.GetContext().GetGrants()))
		for _, g := range env.Context.Grants.Grants() {
			if !g.NotBefore.IsZero() && !g.NotAfter.IsZero() {
				require.True(t, g.NotAfter.After(g.NotBefore), "grant %v has an empty window", g)
			}
		}

		// Requirements and identity of a decoded intent never panic.
		_, _ = env.Type.Requirements(env.Message)
		_, _ = env.Type.Identity(env.Message)

		first, err := env.Encode()
		require.NoError(t, err)
		again, err := proto.Marshal(first)
		require.NoError(t, err)
		env2, err := reg.Unmarshal(again)
		require.NoError(t, err, "re-decoding %v", first)
		second, err := env2.Encode()
		require.NoError(t, err)
		require.True(t, proto.Equal(first, second), "first %v\nsecond %v", first, second)
		require.True(t, env.Deadline.Equal(env2.Deadline))
	})
}
