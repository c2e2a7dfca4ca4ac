package intent

import (
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// Limits on what Decode accepts from the wire. A peer that exceeds them gets
// ErrTooLarge or ErrInvalid and nothing is handled.
const (
	MaxEnvelopeBytes = 4 << 20
	MaxIDBytes       = 128
	MaxGrants        = 256
	MaxTraceHops     = 64
	MaxMetadata      = 64
)

// Encode turns the envelope into its wire form.
func (e *Envelope) Encode() (*intentpb.Envelope, error) {
	if e == nil || e.Message == nil {
		return nil, fmt.Errorf("%w: envelope without message", ErrInvalid)
	}
	payload, err := anypb.New(e.Message)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrInvalid, err)
	}
	pb := &intentpb.Envelope{
		Id:       e.ID,
		Type:     string(e.Message.ProtoReflect().Descriptor().FullName()),
		Payload:  payload,
		Metadata: e.Metadata,
	}
	if !e.Deadline.IsZero() {
		pb.Deadline = timestamppb.New(e.Deadline)
	}
	if c := e.Context; c != nil {
		pc := &intentpb.Context{Principal: c.Principal, SessionId: c.SessionID, RequestId: c.RequestID}
		for _, h := range c.Trace {
			pc.Trace = append(pc.Trace, &intentpb.Hop{Node: h.Node, Actor: h.Actor, At: timestamppb.New(h.At)})
		}
		for _, g := range c.Grants.Grants() {
			pg := &intentpb.Grant{Capability: g.Capability.String()}
			if !g.NotBefore.IsZero() {
				pg.NotBefore = timestamppb.New(g.NotBefore)
			}
			if !g.NotAfter.IsZero() {
				pg.NotAfter = timestamppb.New(g.NotAfter)
			}
			pc.Grants = append(pc.Grants, pg)
		}
		pb.Context = pc
	}
	return pb, nil
}

// Marshal encodes the envelope to bytes.
func (e *Envelope) Marshal() ([]byte, error) {
	pb, err := e.Encode()
	if err != nil {
		return nil, err
	}
	return proto.Marshal(pb)
}

// Unmarshal decodes wire bytes into an envelope; see Decode.
func (r *Registry) Unmarshal(data []byte) (*Envelope, error) {
	if len(data) > MaxEnvelopeBytes {
		return nil, fmt.Errorf("%w: envelope is %d bytes, limit %d", ErrTooLarge, len(data), MaxEnvelopeBytes)
	}
	var pb intentpb.Envelope
	if err := proto.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("%w envelope: %w", ErrInvalid, err)
	}
	return r.Decode(&pb)
}

// Decode validates a wire envelope and turns it into a live one: the type
// must be registered and match the payload, the payload must decode, and
// every grant must parse and name a defined domain and operation.
//
// Decode compiles the grants the envelope carries. Call it only for
// envelopes from an authenticated source (a member of the cluster, a
// verified token); the grants of anyone else must be dropped or replaced
// before the envelope reaches a mailbox.
func (r *Registry) Decode(pb *intentpb.Envelope) (*Envelope, error) {
	if pb == nil {
		return nil, fmt.Errorf("%w: nil envelope", ErrInvalid)
	}
	if err := checkID("id", pb.Id); err != nil {
		return nil, err
	}
	t, err := r.Lookup(pb.Type)
	if err != nil {
		return nil, err
	}
	if pb.Payload == nil {
		return nil, fmt.Errorf("%w envelope %s: no payload", ErrInvalid, pb.Id)
	}
	if got := string(pb.Payload.MessageName()); got != pb.Type {
		return nil, fmt.Errorf("%w envelope %s: payload is %q, envelope says %q", ErrInvalid, pb.Id, got, pb.Type)
	}
	msg := t.New()
	if err := proto.Unmarshal(pb.Payload.Value, msg); err != nil {
		return nil, fmt.Errorf("%w envelope %s: payload %s: %w", ErrInvalid, pb.Id, pb.Type, err)
	}
	e := &Envelope{ID: pb.Id, Type: t, Message: msg}
	if pb.Deadline != nil {
		if e.Deadline, err = instant(pb.Deadline); err != nil {
			return nil, fmt.Errorf("%w envelope %s: deadline: %w", ErrInvalid, pb.Id, err)
		}
	}
	if len(pb.Metadata) > MaxMetadata {
		return nil, fmt.Errorf("%w envelope %s: %d metadata entries, limit %d", ErrInvalid, pb.Id, len(pb.Metadata), MaxMetadata)
	}
	if len(pb.Metadata) > 0 {
		e.Metadata = make(map[string]string, len(pb.Metadata))
		for k, v := range pb.Metadata {
			e.Metadata[k] = v
		}
	}
	if e.Context, err = r.decodeContext(pb.Id, pb.Context); err != nil {
		return nil, err
	}
	return e, nil
}

func (r *Registry) decodeContext(id string, pc *intentpb.Context) (*Context, error) {
	if pc == nil {
		return &Context{}, nil
	}
	if len(pc.Trace) > MaxTraceHops {
		return nil, fmt.Errorf("%w envelope %s: trace of %d hops, limit %d", ErrInvalid, id, len(pc.Trace), MaxTraceHops)
	}
	if len(pc.Grants) > MaxGrants {
		return nil, fmt.Errorf("%w envelope %s: %d grants, limit %d", ErrInvalid, id, len(pc.Grants), MaxGrants)
	}
	for _, f := range []struct{ name, v string }{{"principal", pc.Principal}, {"session id", pc.SessionId}, {"request id", pc.RequestId}} {
		if len(f.v) > MaxIDBytes || !utf8.ValidString(f.v) {
			return nil, fmt.Errorf("%w envelope %s: %s is not valid UTF-8 of at most %d bytes", ErrInvalid, id, f.name, MaxIDBytes)
		}
	}
	c := &Context{Principal: pc.Principal, SessionID: pc.SessionId, RequestID: pc.RequestId}
	for i, h := range pc.Trace {
		if h == nil {
			return nil, fmt.Errorf("%w envelope %s: trace hop %d is empty", ErrInvalid, id, i)
		}
		at, err := optionalTime(h.At)
		if err != nil {
			return nil, fmt.Errorf("%w envelope %s: trace hop %d: %w", ErrInvalid, id, i, err)
		}
		c.Trace = append(c.Trace, Hop{Node: h.Node, Actor: h.Actor, At: at})
	}
	grants := make([]capability.Grant, 0, len(pc.Grants))
	for i, pg := range pc.Grants {
		if pg == nil {
			return nil, fmt.Errorf("%w envelope %s: grant %d is empty", ErrInvalid, id, i)
		}
		capa, err := capability.Parse(pg.Capability)
		if err != nil {
			return nil, fmt.Errorf("%w envelope %s: grant %d: %w", ErrInvalid, id, i, err)
		}
		g := capability.Grant{Capability: capa}
		if g.NotBefore, err = optionalTime(pg.NotBefore); err != nil {
			return nil, fmt.Errorf("%w envelope %s: grant %d not_before: %w", ErrInvalid, id, i, err)
		}
		if pg.NotAfter != nil {
			if g.NotAfter, err = instant(pg.NotAfter); err != nil {
				return nil, fmt.Errorf("%w envelope %s: grant %d not_after: %w", ErrInvalid, id, i, err)
			}
		}
		grants = append(grants, g)
	}
	gs, err := r.catalog.Grants(grants...)
	if err != nil {
		return nil, fmt.Errorf("%w envelope %s: grants: %w", ErrInvalid, id, err)
	}
	c.Grants = gs
	return c, nil
}

func optionalTime(ts *timestamppb.Timestamp) (time.Time, error) {
	if ts == nil {
		return time.Time{}, nil
	}
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, err
	}
	return ts.AsTime(), nil
}

// instant decodes a timestamp that is set and must name a point in time.
// The earliest valid timestamp, 0001-01-01T00:00:00Z, decodes to the zero
// time.Time, which in an Envelope or a Grant means "none": a deadline or a
// not_after there would turn from "long past" into "never", so it is
// rejected.
func instant(ts *timestamppb.Timestamp) (time.Time, error) {
	if err := ts.CheckValid(); err != nil {
		return time.Time{}, err
	}
	t := ts.AsTime()
	if t.IsZero() {
		return time.Time{}, fmt.Errorf("%s is the zero time, which means unset; omit the field instead", t.Format(time.RFC3339))
	}
	return t, nil
}

func checkID(field, v string) error {
	if v == "" {
		return fmt.Errorf("%w envelope: empty %s", ErrInvalid, field)
	}
	if len(v) > MaxIDBytes || !utf8.ValidString(v) {
		return fmt.Errorf("%w envelope: %s is not valid UTF-8 of at most %d bytes", ErrInvalid, field, MaxIDBytes)
	}
	return nil
}
