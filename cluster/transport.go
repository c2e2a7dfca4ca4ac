package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// Transport carries intent envelopes from this node to other members and
// serves the envelopes they send here to this node's runtime. The default is
// Proto.Actor remote (Remote, see StartRemote); clustertest provides an
// in-memory one that tests can partition. Implementations are safe for
// concurrent use.
type Transport interface {
	// Address is the host:port peers reach this node at; it is gossiped as
	// Member.Address.
	Address() string
	// Request sends env to the member at address and waits for its reply,
	// with the semantics of Remote.Request. An error wrapping
	// ErrNotDelivered means env certainly reached no reactor there.
	Request(ctx context.Context, address string, env *intent.Envelope) (proto.Message, error)
	// Stop stops serving and sending; intents already taken are answered
	// first, within a bound. Idempotent.
	Stop() error
}

// NewTransport starts a Transport that serves the envelopes peers send to
// rt, for example with HandleEnvelope.
type NewTransport func(rt *actor.Runtime) (Transport, error)

// ErrNotDelivered marks an intent that reached no reactor: its member could
// not be reached or refused it while stopping, or there was no member to
// send it to; from a remote member it also marks one whose new state was
// not committed there. It wraps intent.ErrNotApplied: a Node retries it
// within the caller's deadline.
var ErrNotDelivered = fmt.Errorf("%w: not delivered", intent.ErrNotApplied)

// HandleEnvelope is the receiving half of a Transport that may wait for the
// reactor (clustertest's does; Remote queues the intent instead and builds
// the same reply when the reactor answers): it decodes pb
// with rt's type registry (grants included: the transport vouches for its
// peer, see Remote), delivers it to rt until its deadline, or until timeout
// when it has none, and returns the reply to send back: the intent id, the
// outcome as an intent.Status and the reply message as an Any. Malformed
// envelopes are answered INVALID_ARGUMENT and unknown types NOT_FOUND; they
// never reach a mailbox. ctx cancels the delivery (the node is stopping).
func HandleEnvelope(ctx context.Context, rt *actor.Runtime, pb *intentpb.Envelope, timeout time.Duration) *intentpb.Reply {
	env, err := rt.Types().Decode(pb)
	var msg proto.Message
	if err == nil {
		if env.Deadline.IsZero() {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		msg, err = rt.Deliver(ctx, env)
	}
	return replyFor(pb.GetId(), msg, err)
}

// replyFor is the reply to intent id with outcome (msg, err).
func replyFor(id string, msg proto.Message, err error) *intentpb.Reply {
	reply := &intentpb.Reply{IntentId: id}
	if err == nil && msg != nil {
		if reply.Payload, err = anypb.New(msg); err != nil {
			err = fmt.Errorf("cluster: encoding the reply to %s: %w", id, err)
		}
	}
	reply.Status = intent.Status(err)
	// An intent that changed nothing (say, its state was not committed)
	// may be retried by the sender like one that never arrived.
	reply.NotDelivered = errors.Is(err, intent.ErrNotApplied)
	return reply
}

// ReplyOutcome is the sending half of every Transport: it turns the reply
// that from sent to intent id into Request's result. Errors are rebuilt by
// intent.StatusError, so errors.Is and errors.As work as for a local
// request (a denial is a *capability.DeniedError); a reply marked
// not_delivered wraps ErrNotDelivered. The reply message is decoded from the
// global protobuf registry.
func ReplyOutcome(from, id string, m *intentpb.Reply) (proto.Message, error) {
	if m.GetIntentId() != id {
		return nil, fmt.Errorf("cluster: %s answered intent %s with the reply to %q", from, id, m.GetIntentId())
	}
	if err := intent.StatusError(m.Status); err != nil {
		if m.NotDelivered {
			return nil, fmt.Errorf("%w: %s refused intent %s: %w", ErrNotDelivered, from, id, err)
		}
		return nil, err
	}
	if m.Payload == nil {
		return nil, nil
	}
	msg, err := anypb.UnmarshalNew(m.Payload, proto.UnmarshalOptions{})
	if err != nil {
		return nil, fmt.Errorf("%w: reply to %s from %s: %w", intent.ErrInvalid, id, from, err)
	}
	return msg, nil
}
