package actor

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
)

// NewEnvelope wraps msg for delivery on behalf of caller: it resolves the
// intent type, assigns an id, takes the deadline from ctx and runs the
// plugins. Request and Send call it; entry points that need the envelope
// itself (to log its id, to encode it) call it and then Deliver.
func (rt *Runtime) NewEnvelope(ctx context.Context, caller *intent.Context, msg proto.Message) (*intent.Envelope, error) {
	p, err := rt.prepare(ctx, caller, msg, false)
	if err != nil {
		return nil, err
	}
	return p.env, nil
}

// prepared is an envelope and its delivery in one allocation, with room for
// the envelope's id: the hot path allocates once per intent.
type prepared struct {
	delivery
	envelope intent.Envelope
	id       [idBytes]byte
}

func (rt *Runtime) prepare(ctx context.Context, caller *intent.Context, msg proto.Message, wantReply bool) (*prepared, error) {
	t, err := rt.types.TypeOf(msg)
	if err != nil {
		rt.stats.rejected.Add(1)
		return nil, err
	}
	p := &prepared{}
	p.envelope = intent.Envelope{ID: rt.writeID(&p.id), Type: t, Message: msg, Context: caller}
	p.env = &p.envelope
	if dl, ok := ctx.Deadline(); ok {
		p.envelope.Deadline = dl
	}
	if wantReply {
		p.replies = make(chan outcome, 1)
	}
	env, err := rt.plugins.Apply(ctx, p.env)
	if err != nil {
		rt.stats.rejected.Add(1)
		return nil, err
	}
	p.env = env // a transformer may have replaced it
	return p, nil
}

// Request sends msg as an intent on behalf of caller and waits for the
// reply. The intent's deadline is ctx's, or Config.RequestTimeout from now.
//
// Errors: intent.ErrUnknownType for an unregistered message type, a
// *intent.RejectedError from a plugin, a *capability.DeniedError (matching
// capability.ErrPermissionDenied) listing the missing capabilities,
// intent.ErrUnsupported, intent.ErrDeadlineExceeded, intent.ErrFailed
// wrapping the handler's error, or ErrStopped.
func (rt *Runtime) Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rt.cfg.RequestTimeout)
		defer cancel()
	}
	p, err := rt.prepare(ctx, caller, msg, true)
	if err != nil {
		return nil, err
	}
	return rt.await(ctx, &p.delivery)
}

// Deliver sends an envelope built by NewEnvelope (or decoded from an
// authenticated peer) and waits for its reply until ctx is done or the
// envelope's deadline passes.
func (rt *Runtime) Deliver(ctx context.Context, env *intent.Envelope) (proto.Message, error) {
	if env == nil || env.Type == nil || env.Message == nil {
		rt.stats.rejected.Add(1)
		return nil, fmt.Errorf("%w: envelope without a resolved type or a message", intent.ErrInvalid)
	}
	return rt.await(ctx, &delivery{env: env, replies: make(chan outcome, 1)})
}

// DeliverFunc sends env like Deliver but does not wait: done is called
// once with the outcome, on the goroutine that decides it — the reactor's,
// or this one when the intent is refused before it is queued — so it must
// not block. An intent queued to an instance that stops while the runtime
// shuts down may never be answered: callers bound their wait themselves
// (Deliver does so with its context).
func (rt *Runtime) DeliverFunc(env *intent.Envelope, done func(proto.Message, error)) {
	if env == nil || env.Type == nil || env.Message == nil {
		rt.stats.rejected.Add(1)
		done(nil, fmt.Errorf("%w: envelope without a resolved type or a message", intent.ErrInvalid))
		return
	}
	d := &delivery{env: env, done: done}
	if err := rt.route(d); err != nil {
		d.answer(nil, err)
	}
}

func (rt *Runtime) await(ctx context.Context, d *delivery) (proto.Message, error) {
	env := d.env
	if err := rt.route(d); err != nil {
		return nil, err
	}
	var expired <-chan time.Time
	if !env.Deadline.IsZero() {
		if _, ok := ctx.Deadline(); !ok {
			t := time.NewTimer(time.Until(env.Deadline))
			defer t.Stop()
			expired = t.C
		}
	}
	select {
	case o := <-d.replies:
		return o.reply, o.err
	case <-ctx.Done():
		if ctx.Err() == context.DeadlineExceeded {
			return nil, intent.ErrDeadlineExceeded
		}
		return nil, ctx.Err()
	case <-expired:
		return nil, intent.ErrDeadlineExceeded
	}
}

// Send sends msg as a one-way intent on behalf of caller. It returns once
// the target's mailbox has admitted or refused the intent: a capability
// denial, an unsupported type or a plugin rejection is returned here; what
// the handler later does is not.
func (rt *Runtime) Send(ctx context.Context, caller *intent.Context, msg proto.Message) error {
	p, err := rt.prepare(ctx, caller, msg, false)
	if err != nil {
		return err
	}
	return rt.route(&p.delivery)
}

// As returns an intent.Requester that sends intents on behalf of caller,
// for composing intents with intent.Sequential, Parallel, Pipeline,
// Conditional and FanOut.
func (rt *Runtime) As(caller *intent.Context) intent.Requester {
	return intent.RequesterFunc(func(ctx context.Context, msg proto.Message) (proto.Message, error) {
		return rt.Request(ctx, caller, msg)
	})
}
