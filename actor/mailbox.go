package actor

import (
	"fmt"
	"sync/atomic"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
)

// delivery is an intent in flight to a reactor instance, with the way back
// to its caller. It never leaves the process: remote transports carry the
// intentpb.Envelope and build a delivery on arrival.
type delivery struct {
	env *intent.Envelope
	// replies receives exactly one outcome; nil for one-way sends.
	// Buffered (1) and written without blocking, so a late answer after the
	// caller gave up is dropped, never raced with.
	replies chan outcome
	// refused is set by the mailbox, on the posting goroutine and before the
	// delivery is enqueued, when the intent is not admitted.
	refused error
	// hops counts re-routings after the target instance stopped.
	hops int
}

type outcome struct {
	reply proto.Message
	err   error
}

func (d *delivery) answer(reply proto.Message, err error) {
	if d.replies == nil {
		return
	}
	select {
	case d.replies <- outcome{reply, err}:
	default:
	}
}

// checkedMailbox is the mailbox of every reactor instance. It admits an
// intent only after the capability check and refuses anything that is not an
// intent, so nothing reaches reactor code unchecked. The check runs on the
// sender's goroutine, so a denied intent costs the reactor nothing.
type checkedMailbox struct {
	protoactor.Mailbox
	rt       *Runtime
	kind     *kind
	identity string
	// closed is set once the instance is stopping; later intents are
	// re-routed to a fresh activation instead of being lost.
	closed atomic.Bool
}

func (m *checkedMailbox) PostUserMessage(msg any) {
	switch d := msg.(type) {
	case *delivery:
		if m.closed.Load() {
			m.rt.reroute(d)
			return
		}
		if err := m.rt.admit(m.kind, m.identity, d); err != nil {
			d.refused = err
			d.answer(nil, err)
			return
		}
		m.Mailbox.PostUserMessage(d)
	case protoactor.AutoReceiveMessage, protoactor.SystemMessage:
		m.Mailbox.PostUserMessage(msg)
	default:
		m.rt.stats.nonIntent.Add(1)
		m.rt.log.Warn("reactor mailbox refused a message that is not an intent",
			"kind", m.kind.name, "identity", m.identity, "type", fmt.Sprintf("%T", msg))
	}
}

// RegisterHandlers wraps the invoker so intents still queued when the
// instance stops are answered instead of silently dropped.
func (m *checkedMailbox) RegisterHandlers(invoker protoactor.MessageInvoker, dispatcher protoactor.Dispatcher) {
	m.Mailbox.RegisterHandlers(&closingInvoker{MessageInvoker: invoker, mb: m}, dispatcher)
}

type closingInvoker struct {
	protoactor.MessageInvoker
	mb *checkedMailbox
}

func (i *closingInvoker) InvokeUserMessage(msg any) {
	if d, ok := msg.(*delivery); ok && i.mb.closed.Load() {
		i.mb.rt.reroute(d)
		return
	}
	i.MessageInvoker.InvokeUserMessage(msg)
}

// admit decides whether d may enter the mailbox of kind/identity: its
// deadline has not passed, the kind handles its type, and the context's
// grants satisfy the type's requirements for this message.
func (rt *Runtime) admit(k *kind, identity string, d *delivery) error {
	env := d.env
	var ctx *intent.Context
	if ctx = env.Context; ctx == nil {
		ctx = &intent.Context{}
	}
	// Read the clock only when the verdict depends on it: reading it is a
	// noticeable part of a one-way send.
	var now time.Time
	if !env.Deadline.IsZero() || ctx.Grants.Timed() {
		now = rt.now()
	}
	if !env.Deadline.IsZero() && !now.Before(env.Deadline) {
		rt.stats.expired.Add(1)
		return intent.ErrDeadlineExceeded
	}
	if !k.handles[env.Type.Name()] {
		rt.stats.unsupported.Add(1)
		return fmt.Errorf("%w: reactor kind %q has no handler for %s", intent.ErrUnsupported, k.name, env.Type.Name())
	}
	reqs, err := env.Type.Requirements(env.Message)
	if err != nil {
		rt.stats.rejected.Add(1)
		return err
	}
	if err := ctx.Grants.Check(reqs, now); err != nil {
		if now.IsZero() {
			now = rt.now() // for the audit record
		}
		rt.stats.denied.Add(1)
		ev := &PermissionDenied{At: now, IntentID: env.ID, IntentType: env.Type.Name(), Kind: k.name, Identity: identity, Principal: ctx.Principal}
		ev.Missing = ctx.Grants.Missing(reqs, now)
		rt.publish(ev)
		rt.log.Info("audit: permission denied", "intent", env.ID, "type", ev.IntentType, "reactor", k.name+"/"+identity,
			"principal", ev.Principal, "missing", fmt.Sprint(ev.Missing))
		return err
	}
	return nil
}
