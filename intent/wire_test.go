package intent

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/examples/filesystem/filesystempb"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// wireNow is the fixed "now" of the wire specs.
var wireNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// wireGrants compiles grants of the form {capability, window}.
func wireGrants(t testing.TB, cat *capability.Catalog, grants ...capability.Grant) *capability.GrantSet {
	t.Helper()
	gs, err := cat.Grants(grants...)
	require.NoError(t, err)
	return gs
}

func grantOf(t testing.TB, text string, notBefore, notAfter time.Time) capability.Grant {
	t.Helper()
	c, err := capability.Parse(text)
	require.NoError(t, err)
	return capability.Grant{Capability: c, NotBefore: notBefore, NotAfter: notAfter}
}

// fullEnvelope is an envelope that uses every field of the wire format.
func fullEnvelope(t testing.TB, reg *Registry) *Envelope {
	t.Helper()
	msg := &counterpb.Increment{Counter: "c1", UserId: "u1"}
	typ, err := reg.TypeOf(msg)
	require.NoError(t, err)
	berlin := time.FixedZone("CEST", 2*60*60)
	return &Envelope{
		ID:       "intent-1",
		Type:     typ,
		Message:  msg,
		Deadline: time.Date(2025, 6, 1, 14, 0, 5, 123456789, berlin),
		Metadata: map[string]string{"origin": "test", "empty": "", "ünïcode": "✓"},
		Context: &Context{
			Principal: "alice",
			SessionID: "session-1",
			RequestID: "request-1",
			Trace: []Hop{
				{Node: "node-a", Actor: "http", At: wireNow.Add(-2 * time.Second)},
				{Node: "node-b", Actor: "counter/c1", At: time.Date(2025, 6, 1, 13, 59, 59, 999999999, berlin)},
				{Node: "node-c"}, // a hop without a time
			},
			Grants: wireGrants(t, reg.Catalog(),
				grantOf(t, "user:basic", time.Time{}, time.Time{}),
				grantOf(t, "user:admin", wireNow.Add(-time.Hour), wireNow.Add(time.Hour)),
				grantOf(t, "file:read:/docs/*", time.Time{}, wireNow.Add(time.Minute)),
				grantOf(t, "file:write:/docs/a", wireNow.Add(time.Minute), time.Time{}),
				grantOf(t, "file:admin:/srv/*", time.Date(2000, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)),
			),
		},
	}
}

// marshalEnvelope is what a sender does: Encode, then proto.Marshal.
func marshalEnvelope(t testing.TB, e *Envelope) []byte {
	t.Helper()
	pb, err := e.Encode()
	require.NoError(t, err)
	data, err := proto.Marshal(pb)
	require.NoError(t, err)
	return data
}

// sameInstant lets require.Equal compare times by instant, not location.
func sameInstant(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}

func normalGrants(gs *capability.GrantSet) []capability.Grant {
	var out []capability.Grant
	for _, g := range gs.Grants() {
		g.NotBefore, g.NotAfter = sameInstant(g.NotBefore), sameInstant(g.NotAfter)
		out = append(out, g)
	}
	return out
}

func normalTrace(hops []Hop) []Hop {
	var out []Hop
	for _, h := range hops {
		h.At = sameInstant(h.At)
		out = append(out, h)
	}
	return out
}

// requireSameEnvelope checks that got carries everything want does.
func requireSameEnvelope(t testing.TB, want, got *Envelope) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Same(t, want.Type, got.Type)
	require.True(t, proto.Equal(want.Message, got.Message), "message: got %v, want %v", got.Message, want.Message)
	require.True(t, want.Deadline.Equal(got.Deadline), "deadline: got %v, want %v", got.Deadline, want.Deadline)
	require.Equal(t, want.Deadline.IsZero(), got.Deadline.IsZero())
	if len(want.Metadata) == 0 {
		require.Empty(t, got.Metadata)
	} else {
		require.Equal(t, want.Metadata, got.Metadata)
	}
	wc, gc := want.Context, got.Context
	if wc == nil {
		wc = &Context{}
	}
	require.NotNil(t, gc, "a decoded envelope always has a context")
	require.Equal(t, wc.Principal, gc.Principal)
	require.Equal(t, wc.SessionID, gc.SessionID)
	require.Equal(t, wc.RequestID, gc.RequestID)
	require.Equal(t, normalTrace(wc.Trace), normalTrace(gc.Trace))
	require.Equal(t, normalGrants(wc.Grants), normalGrants(gc.Grants))
}

func TestWireRoundTrip(t *testing.T) {
	reg := specRegistry(t)
	reset, err := reg.TypeOf(&counterpb.Reset{})
	require.NoError(t, err)
	readFile, err := reg.Lookup(readFileName)
	require.NoError(t, err)

	tests := []struct {
		name string
		env  *Envelope
	}{
		{name: "every field", env: fullEnvelope(t, reg)},
		{name: "message only", env: &Envelope{ID: "i", Type: reset, Message: &counterpb.Reset{Counter: "c"}}},
		{name: "empty message", env: &Envelope{ID: "i", Type: reset, Message: &counterpb.Reset{}}},
		{name: "empty context", env: &Envelope{ID: "i", Type: reset, Message: &counterpb.Reset{Counter: "c"}, Context: &Context{}}},
		{name: "longest id", env: &Envelope{ID: strings.Repeat("é", MaxIDBytes/2), Type: reset, Message: &counterpb.Reset{}}},
		{name: "path resource and bytes", env: &Envelope{
			ID: "i", Type: readFile, Message: &filesystempb.ReadFile{Volume: "v", Path: "/docs/../etc/passwd"},
			Context: &Context{Grants: wireGrants(t, reg.Catalog(), grantOf(t, "file:read:/docs/../etc/*", time.Time{}, time.Time{}))},
		}},
		{name: "deadline before 1970", env: &Envelope{ID: "i", Type: reset, Message: &counterpb.Reset{}, Deadline: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)}},
		{name: "at the limits", env: &Envelope{
			ID: "i", Type: reset, Message: &counterpb.Reset{},
			Metadata: func() map[string]string {
				m := map[string]string{}
				for i := range MaxMetadata {
					m[strings.Repeat("k", i+1)] = "v"
				}
				return m
			}(),
			Context: &Context{
				Principal: strings.Repeat("p", MaxIDBytes),
				Trace:     make([]Hop, MaxTraceHops),
				Grants: func() *capability.GrantSet {
					var grants []capability.Grant
					for i := range MaxGrants {
						grants = append(grants, grantOf(t, "file:read:/f/"+strings.Repeat("x", i+1), time.Time{}, time.Time{}))
					}
					return wireGrants(t, reg.Catalog(), grants...)
				}(),
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := marshalEnvelope(t, tt.env)
			got, err := reg.Unmarshal(data)
			require.NoError(t, err)
			requireSameEnvelope(t, tt.env, got)

			// Marshal is Encode + proto.Marshal, and the decoded envelope
			// encodes to what the original did.
			viaMarshal, err := tt.env.Marshal()
			require.NoError(t, err)
			again, err := reg.Unmarshal(viaMarshal)
			require.NoError(t, err)
			requireSameEnvelope(t, tt.env, again)
			// A decoded envelope always has a context, if an empty one.
			sent := *tt.env
			if sent.Context == nil {
				sent.Context = &Context{}
			}
			want, err := sent.Encode()
			require.NoError(t, err)
			reencoded, err := got.Encode()
			require.NoError(t, err)
			require.True(t, proto.Equal(want, reencoded), "got %v\nwant %v", reencoded, want)
		})
	}
}

// TestWireRoundTripKeepsGrantWindows checks the decoded grants by what they
// allow, at times around the edges of their windows.
func TestWireRoundTripKeepsGrantWindows(t *testing.T) {
	reg := specRegistry(t)
	sent := fullEnvelope(t, reg)
	got, err := reg.Unmarshal(marshalEnvelope(t, sent))
	require.NoError(t, err)

	cat := reg.Catalog()
	tests := []struct {
		require string
		at      time.Time
		allowed bool
	}{
		{"user:basic", time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"user:admin", wireNow.Add(-time.Hour - time.Nanosecond), false},
		{"user:admin", wireNow.Add(-time.Hour), true}, // not_before is inclusive
		{"user:admin", wireNow.Add(time.Hour - time.Nanosecond), true},
		{"user:admin", wireNow.Add(time.Hour), false}, // not_after is exclusive
		{"file:read:/docs/x", wireNow.Add(time.Minute - time.Nanosecond), true},
		{"file:read:/docs/x", wireNow.Add(time.Minute), false},
		{"file:write:/docs/a", wireNow.Add(time.Minute - time.Nanosecond), false},
		{"file:write:/docs/a", wireNow.Add(time.Minute), true},
		{"file:delete:/srv/x", time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"file:delete:/srv/x", time.Date(2000, 1, 1, 0, 0, 0, 1, time.UTC), true},
		{"file:delete:/srv/x", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"file:read:/srv/x/y", wireNow, true},
		{"file:read:/srv", wireNow, false},
	}
	for _, tt := range tests {
		reqs := requirementsFor(t, cat, tt.require)
		require.Equal(t, tt.allowed, sent.Context.Grants.Satisfies(reqs, tt.at), "%s at %v, as sent", tt.require, tt.at)
		require.Equal(t, tt.allowed, got.Context.Grants.Satisfies(reqs, tt.at), "%s at %v, as received", tt.require, tt.at)
	}
}

func requirementsFor(t testing.TB, cat *capability.Catalog, text string) capability.Requirements {
	t.Helper()
	c, err := capability.Parse(text)
	require.NoError(t, err)
	reqs, err := cat.Require(c)
	require.NoError(t, err)
	return reqs
}

func TestWireDecodeCopiesMetadata(t *testing.T) {
	reg := specRegistry(t)
	pb, err := fullEnvelope(t, reg).Encode()
	require.NoError(t, err)
	got, err := reg.Decode(pb)
	require.NoError(t, err)
	pb.Metadata["origin"] = "changed"
	require.Equal(t, "test", got.Metadata["origin"], "the decoded envelope does not share the wire map")
}

// validWire is the wire form of a small valid envelope, for the bad-input
// specs to break one field at a time.
func validWire(t testing.TB, reg *Registry) *intentpb.Envelope {
	t.Helper()
	pb, err := fullEnvelope(t, reg).Encode()
	require.NoError(t, err)
	_, err = reg.Decode(pb)
	require.NoError(t, err, "the base of the bad-input specs is valid")
	return pb
}

func anyOf(t testing.TB, m proto.Message) *anypb.Any {
	t.Helper()
	a, err := anypb.New(m)
	require.NoError(t, err)
	return a
}

// zeroTime is the earliest valid timestamp; it decodes to time.Time{}.
func zeroTime() *timestamppb.Timestamp { return timestamppb.New(time.Time{}) }

func TestWireRejectsBadEnvelopes(t *testing.T) {
	reg := specRegistry(t)
	tests := []struct {
		name     string
		change   func(pb *intentpb.Envelope)
		wantErr  []error
		mentions string
	}{
		{name: "empty id", change: func(pb *intentpb.Envelope) { pb.Id = "" }, wantErr: []error{ErrInvalid}, mentions: "empty id"},
		{name: "id too long", change: func(pb *intentpb.Envelope) { pb.Id = strings.Repeat("x", MaxIDBytes+1) }, wantErr: []error{ErrInvalid}, mentions: "id"},
		{name: "unknown type", change: func(pb *intentpb.Envelope) { pb.Type = "packetflow.examples.counter.v1.Nope" }, wantErr: []error{ErrUnknownType}, mentions: "Nope"},
		{name: "no type", change: func(pb *intentpb.Envelope) { pb.Type = "" }, wantErr: []error{ErrUnknownType}},
		{name: "payload of another type", change: func(pb *intentpb.Envelope) { pb.Payload = anyOf(t, &counterpb.Reset{Counter: "c1"}) }, wantErr: []error{ErrInvalid}, mentions: resetName},
		{name: "type names another type than the payload", change: func(pb *intentpb.Envelope) { pb.Type = resetName }, wantErr: []error{ErrInvalid}, mentions: incrementName},
		{name: "payload type URL is not a message name", change: func(pb *intentpb.Envelope) { pb.Payload.TypeUrl = "not a type" }, wantErr: []error{ErrInvalid}, mentions: "payload"},
		{name: "no payload", change: func(pb *intentpb.Envelope) { pb.Payload = nil }, wantErr: []error{ErrInvalid}, mentions: "no payload"},
		{name: "payload bytes do not decode", change: func(pb *intentpb.Envelope) { pb.Payload.Value = []byte{0xff, 0xff, 0xff} }, wantErr: []error{ErrInvalid}, mentions: "payload"},
		{name: "payload string is not UTF-8", change: func(pb *intentpb.Envelope) {
			pb.Payload.Value = protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte{0xff})
		}, wantErr: []error{ErrInvalid}, mentions: "payload"},
		{name: "deadline nanos out of range", change: func(pb *intentpb.Envelope) { pb.Deadline.Nanos = 1e9 }, wantErr: []error{ErrInvalid}, mentions: "deadline"},
		{name: "deadline negative nanos", change: func(pb *intentpb.Envelope) { pb.Deadline.Nanos = -1 }, wantErr: []error{ErrInvalid}, mentions: "deadline"},
		{name: "deadline after year 9999", change: func(pb *intentpb.Envelope) { pb.Deadline.Seconds = 253402300800 }, wantErr: []error{ErrInvalid}, mentions: "deadline"},
		{name: "deadline at the zero time", change: func(pb *intentpb.Envelope) { pb.Deadline = zeroTime() }, wantErr: []error{ErrInvalid}, mentions: "deadline"},
		{name: "too many metadata entries", change: func(pb *intentpb.Envelope) {
			for i := range MaxMetadata + 1 {
				pb.Metadata[strings.Repeat("m", i+1)] = ""
			}
		}, wantErr: []error{ErrInvalid}, mentions: "metadata"},
		{name: "principal too long", change: func(pb *intentpb.Envelope) { pb.Context.Principal = strings.Repeat("p", MaxIDBytes+1) }, wantErr: []error{ErrInvalid}, mentions: "principal"},
		{name: "session id too long", change: func(pb *intentpb.Envelope) { pb.Context.SessionId = strings.Repeat("s", MaxIDBytes+1) }, wantErr: []error{ErrInvalid}, mentions: "session"},
		{name: "request id too long", change: func(pb *intentpb.Envelope) { pb.Context.RequestId = strings.Repeat("r", MaxIDBytes+1) }, wantErr: []error{ErrInvalid}, mentions: "request"},
		{name: "too many trace hops", change: func(pb *intentpb.Envelope) {
			for len(pb.Context.Trace) <= MaxTraceHops {
				pb.Context.Trace = append(pb.Context.Trace, &intentpb.Hop{Node: "n"})
			}
		}, wantErr: []error{ErrInvalid}, mentions: "trace"},
		{name: "hop time out of range", change: func(pb *intentpb.Envelope) { pb.Context.Trace[0].At.Nanos = -5 }, wantErr: []error{ErrInvalid}, mentions: "trace hop 0"},
		{name: "too many grants", change: func(pb *intentpb.Envelope) {
			for len(pb.Context.Grants) <= MaxGrants {
				pb.Context.Grants = append(pb.Context.Grants, &intentpb.Grant{Capability: "user:basic"})
			}
		}, wantErr: []error{ErrInvalid}, mentions: "grants"},
		{name: "malformed grant capability", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].Capability = "user" }, wantErr: []error{ErrInvalid, capability.ErrInvalid}, mentions: "grant 1"},
		{name: "upper-case grant domain", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].Capability = "User:basic" }, wantErr: []error{ErrInvalid, capability.ErrInvalid}, mentions: "grant 1"},
		{name: "grant path escapes its root", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].Capability = "file:read:../x" }, wantErr: []error{ErrInvalid, capability.ErrInvalid}, mentions: "grant 1"},
		{name: "grant of an unknown domain", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].Capability = "bank:transfer" }, wantErr: []error{ErrInvalid, capability.ErrUnknownDomain}, mentions: "bank"},
		{name: "grant of an unknown operation", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].Capability = "user:root" }, wantErr: []error{ErrInvalid, capability.ErrUnknownOperation}, mentions: "root"},
		{name: "grant not_after equals not_before", change: func(pb *intentpb.Envelope) {
			g := pb.Context.Grants[1]
			g.NotAfter = proto.Clone(g.NotBefore).(*timestamppb.Timestamp)
		}, wantErr: []error{ErrInvalid, capability.ErrInvalid}, mentions: "not_after"},
		{name: "grant not_after before not_before", change: func(pb *intentpb.Envelope) {
			g := pb.Context.Grants[1]
			g.NotBefore, g.NotAfter = g.NotAfter, g.NotBefore
		}, wantErr: []error{ErrInvalid, capability.ErrInvalid}, mentions: "not_after"},
		{name: "grant not_after at the zero time", change: func(pb *intentpb.Envelope) {
			pb.Context.Grants[1].NotBefore = nil
			pb.Context.Grants[1].NotAfter = zeroTime()
		}, wantErr: []error{ErrInvalid}, mentions: "not_after"},
		{name: "grant not_after at the zero time, after a not_before", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].NotAfter = zeroTime() }, wantErr: []error{ErrInvalid}, mentions: "not_after"},
		{name: "grant not_before out of range", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].NotBefore.Nanos = 1e9 }, wantErr: []error{ErrInvalid}, mentions: "not_before"},
		{name: "grant not_after out of range", change: func(pb *intentpb.Envelope) { pb.Context.Grants[1].NotAfter.Seconds = -62135596801 }, wantErr: []error{ErrInvalid}, mentions: "not_after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := validWire(t, reg)
			tt.change(pb)
			data, err := proto.Marshal(pb)
			require.NoError(t, err)
			for how, decode := range map[string]func() (*Envelope, error){
				"Unmarshal": func() (*Envelope, error) { return reg.Unmarshal(data) },
				"Decode":    func() (*Envelope, error) { return reg.Decode(pb) },
			} {
				env, err := decode()
				require.Nil(t, env, how)
				requireErrorIs(t, err, tt.wantErr...)
				require.Contains(t, err.Error(), tt.mentions, how)
			}
		})
	}
}

// TestWireRejectsBadBytes covers what only bytes can carry and what only a
// Go value can: invalid UTF-8 never survives proto.Unmarshal, nil list
// entries never come out of it.
func TestWireRejectsBadBytes(t *testing.T) {
	reg := specRegistry(t)
	valid := marshalEnvelope(t, fullEnvelope(t, reg))
	field := func(num protowire.Number, v []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), v)
	}

	tests := []struct {
		name     string
		data     []byte
		wantErr  error
		mentions string
	}{
		{name: "over MaxEnvelopeBytes", data: make([]byte, MaxEnvelopeBytes+1), wantErr: ErrTooLarge, mentions: "limit"},
		{name: "valid but over MaxEnvelopeBytes", data: append(field(99, make([]byte, MaxEnvelopeBytes)), valid...), wantErr: ErrTooLarge, mentions: "limit"},
		{name: "empty", data: nil, wantErr: ErrInvalid, mentions: "empty id"},
		{name: "garbage", data: []byte{0xff, 0xff, 0xff, 0xff}, wantErr: ErrInvalid, mentions: "envelope"},
		{name: "text", data: []byte("hello, world"), wantErr: ErrInvalid, mentions: "envelope"},
		{name: "truncated", data: valid[:len(valid)-1], wantErr: ErrInvalid, mentions: "envelope"},
		{name: "length past the end", data: protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.BytesType), 100), wantErr: ErrInvalid, mentions: "envelope"},
		{name: "id of the wrong wire type", data: protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 7), wantErr: ErrInvalid, mentions: "envelope"},
		{name: "id not UTF-8", data: append(field(1, []byte{'a', 0xff}), valid...), wantErr: ErrInvalid, mentions: "envelope"},
		{name: "metadata key not UTF-8", data: append(field(5, field(1, []byte{0xc0})), valid...), wantErr: ErrInvalid, mentions: "envelope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := reg.Unmarshal(tt.data)
			require.Nil(t, env)
			require.ErrorIs(t, err, tt.wantErr)
			require.Contains(t, err.Error(), tt.mentions)
		})
	}

	t.Run("just under MaxEnvelopeBytes", func(t *testing.T) {
		pad := field(99, make([]byte, MaxEnvelopeBytes-len(valid)-8))
		data := append(pad, valid...)
		require.LessOrEqual(t, len(data), MaxEnvelopeBytes)
		_, err := reg.Unmarshal(data)
		require.NoError(t, err, "unknown fields are skipped; the size limit is on bytes")
	})

	pbTests := []struct {
		name     string
		pb       func(pb *intentpb.Envelope) *intentpb.Envelope
		mentions string
	}{
		{"nil envelope", func(*intentpb.Envelope) *intentpb.Envelope { return nil }, "nil envelope"},
		{"id not UTF-8", func(pb *intentpb.Envelope) *intentpb.Envelope { pb.Id = "a\xff"; return pb }, "id"},
		{"principal not UTF-8", func(pb *intentpb.Envelope) *intentpb.Envelope { pb.Context.Principal = "\xff"; return pb }, "principal"},
		{"nil trace hop", func(pb *intentpb.Envelope) *intentpb.Envelope {
			pb.Context.Trace = append(pb.Context.Trace, nil)
			return pb
		}, "trace hop 3"},
		{"nil grant", func(pb *intentpb.Envelope) *intentpb.Envelope {
			pb.Context.Grants = append([]*intentpb.Grant{nil}, pb.Context.Grants...)
			return pb
		}, "grant 0"},
	}
	for _, tt := range pbTests {
		t.Run(tt.name, func(t *testing.T) {
			var env *Envelope
			var err error
			require.NotPanics(t, func() { env, err = reg.Decode(tt.pb(validWire(t, reg))) })
			require.Nil(t, env)
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tt.mentions)
		})
	}
}

func TestWireEncodeRejectsEmptyEnvelopes(t *testing.T) {
	reg := specRegistry(t)
	increment, err := reg.Lookup(incrementName)
	require.NoError(t, err)
	tests := []struct {
		name string
		env  *Envelope
	}{
		{"nil envelope", nil},
		{"zero envelope", &Envelope{}},
		{"no message", &Envelope{ID: "i", Type: increment, Context: &Context{Principal: "alice"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb, err := tt.env.Encode()
			require.ErrorIs(t, err, ErrInvalid)
			require.Nil(t, pb)
			data, err := tt.env.Marshal()
			require.ErrorIs(t, err, ErrInvalid)
			require.Nil(t, data)
		})
	}
}
