package actor

import (
	"context"
	"errors"
	"fmt"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
)

// Effect is work a handler asks for that must happen after its state change
// is committed: a notification, a call to another system, an intent to
// another reactor. It runs outside the reactor, under supervision, with a
// context that is cancelled when the runtime stops or the effect times out.
type Effect func(ctx context.Context) error

// Reactor defines a reactor kind whose state has type S: its initial state
// and one handler per intent type. Build it with NewReactor and Handle, then
// register it with Runtime.Register. A Reactor must not be changed after it
// is registered.
type Reactor[S any] struct {
	kind     string
	initial  func(identity string) S
	handlers map[string]handler[S]
	persist  *persistence[S] // nil: state in memory only
	errs     []error
}

type handler[S any] func(c *Call, state S, m proto.Message) (S, proto.Message, error)

// NewReactor starts the definition of a reactor kind. initial returns the
// state of a newly activated instance; nil means the zero value of S.
func NewReactor[S any](kind string, initial func(identity string) S) *Reactor[S] {
	return &Reactor[S]{kind: kind, initial: initial, handlers: map[string]handler[S]{}}
}

// Handle adds the handler for intents of type M. The handler returns the new
// state, the reply (a nil R replies with no payload) and an error. An error
// leaves the state as it was and is returned to the caller wrapped in
// intent.ErrFailed. Handle returns r so definitions chain.
func Handle[S any, M proto.Message, R proto.Message](r *Reactor[S], h func(c *Call, state S, intent M) (S, R, error)) *Reactor[S] {
	var zero M
	name := string(zero.ProtoReflect().Descriptor().FullName())
	if _, dup := r.handlers[name]; dup {
		r.errs = append(r.errs, fmt.Errorf("actor: reactor %q handles %s twice", r.kind, name))
		return r
	}
	r.handlers[name] = func(c *Call, s S, m proto.Message) (S, proto.Message, error) {
		next, reply, err := h(c, s, m.(M))
		if !reply.ProtoReflect().IsValid() {
			return next, nil, err
		}
		return next, reply, err
	}
	return r
}

// Kind is the reactor kind's name.
func (r *Reactor[S]) Kind() string { return r.kind }

func (r *Reactor[S]) definition() (*kindSpec, error) {
	if r.kind == "" {
		return nil, fmt.Errorf("actor: reactor without a kind name")
	}
	if len(r.errs) > 0 {
		return nil, r.errs[0]
	}
	if len(r.handlers) == 0 {
		return nil, fmt.Errorf("actor: reactor %q handles no intent type", r.kind)
	}
	spec := &kindSpec{name: r.kind, handles: make(map[string]bool, len(r.handlers))}
	for name := range r.handlers {
		spec.handles[name] = true
	}
	spec.producer = func(rt *Runtime, identity string) protoactor.Producer {
		c := &cell[S]{}
		if r.initial != nil {
			c.state = r.initial(identity)
		}
		return func() protoactor.Actor {
			return &instance[S]{def: r, rt: rt, identity: identity, cell: c}
		}
	}
	return spec, nil
}

// Definition is implemented by *Reactor[S] for every S.
type Definition interface {
	Kind() string
	definition() (*kindSpec, error)
}

// cell holds an instance's committed state. It outlives restarts of the
// instance's actor, so a restart resumes from the last committed state.
type cell[S any] struct {
	state   S
	durable durableCell     // with a store and Persist
	mb      *checkedMailbox // the activation's, once it handled an intent
}

// instance is the Proto.Actor actor of one reactor instance.
type instance[S any] struct {
	def      *Reactor[S]
	rt       *Runtime
	identity string
	cell     *cell[S]
	call     Call
}

func (a *instance[S]) Receive(pctx protoactor.Context) {
	switch m := pctx.Message().(type) {
	case *delivery:
		a.handle(m)
	case *protoactor.Stopped:
		if mb := a.cell.mb; mb != nil {
			mb.stopped()
		}
	}
}

func (a *instance[S]) handle(d *delivery) {
	rt := a.rt
	if !d.env.Deadline.IsZero() && !rt.now().Before(d.env.Deadline) {
		rt.stats.expired.Add(1)
		d.answer(nil, intent.ErrDeadlineExceeded)
		return
	}
	a.cell.mb = d.mb
	if d.admit != nil && !d.admit() {
		d.answer(nil, errNotAdmitted)
		return
	}
	durable := a.def.persist != nil && rt.cfg.Store != nil
	if durable && !a.cell.durable.loaded {
		ctx, cancel := rt.storeContext()
		err := a.def.persist.recover(ctx, rt.cfg.Store, a.def.kind, a.identity, a.cell)
		cancel()
		if err != nil {
			rt.stats.failed.Add(1)
			rt.log.Error("reactor state not recovered", "kind", a.def.kind, "identity", a.identity, "err", err)
			d.answer(nil, err)
			return
		}
	}
	h := a.def.handlers[d.env.Type.Name()]
	defer func() {
		if r := recover(); r != nil {
			rt.stats.failed.Add(1)
			rt.publish(&ReactorFailed{At: rt.now(), IntentID: d.env.ID, Kind: a.def.kind, Identity: a.identity, Reason: r})
			d.answer(nil, fmt.Errorf("%w: %s/%s panicked handling %s: %v", intent.ErrFailed, a.def.kind, a.identity, d.env.Type.Name(), r))
			a.call = Call{}
			panic(r) // let the supervisor decide; the cell still holds the committed state
		}
	}()
	if rt.cfg.Intercept != nil && rt.cfg.Intercept(a.def.kind, a.identity, d.env) {
		return // dropped on purpose: the caller's deadline answers it
	}
	var reply proto.Message
	var effects []Effect
	for attempt := 1; ; attempt++ {
		a.call = Call{rt: rt, env: d.env, kind: a.def.kind, identity: a.identity, mb: d.mb}
		next, r, err := h(&a.call, a.cell.state, d.env.Message)
		reply, effects = r, a.call.effects
		a.call = Call{}
		if err != nil {
			rt.stats.failed.Add(1)
			d.answer(nil, fmt.Errorf("%w: %s/%s: %w", intent.ErrFailed, a.def.kind, a.identity, err))
			return
		}
		if !durable {
			a.cell.state = next // commit
			break
		}
		ctx, cancel := rt.storeContext()
		err = a.def.persist.commit(ctx, rt.cfg.Store, a.def.kind, a.identity, a.cell, next, rt.cfg.FencedReads)
		if errors.Is(err, errStale) && attempt < 3 {
			// Another activation committed since this one loaded: handle
			// the intent again on the committed state.
			err = a.def.persist.recover(ctx, rt.cfg.Store, a.def.kind, a.identity, a.cell)
			cancel()
			if err != nil {
				rt.stats.failed.Add(1)
				d.answer(nil, err)
				return
			}
			continue
		}
		cancel()
		if errors.Is(err, errStale) {
			err = fmt.Errorf("%w: %s/%s changed under every attempt to read it", ErrNotCommitted, a.def.kind, a.identity)
		}
		if err != nil {
			rt.stats.failed.Add(1)
			rt.log.Warn("reactor state not committed", "kind", a.def.kind, "identity", a.identity, "intent", d.env.ID, "err", err)
			d.answer(nil, err)
			return
		}
		break
	}
	rt.stats.handled.Add(1)
	d.answer(reply, nil)
	if len(effects) > 0 {
		rt.runEffects(d.env.ID, a.def.kind, a.identity, effects)
	}
}

// Call is what a handler knows about the intent it handles and what it may
// ask of the runtime. It is valid only during the handler call: effects must
// copy what they need from it, never keep the *Call.
type Call struct {
	rt       *Runtime
	env      *intent.Envelope
	kind     string
	identity string
	effects  []Effect
	mb       *checkedMailbox
}

// Identity is the reactor instance handling the intent.
func (c *Call) Identity() string { return c.identity }

// Kind is the reactor kind handling the intent.
func (c *Call) Kind() string { return c.kind }

// Envelope is the intent being handled. Handlers must not modify it.
func (c *Call) Envelope() *intent.Envelope { return c.env }

// Context is the caller's context.
func (c *Call) Context() *intent.Context { return c.env.Context }

// Now is the runtime clock's current time.
func (c *Call) Now() time.Time { return c.rt.now() }

// Effect schedules e to run after the handler's state is committed. If the
// handler returns an error, no effect of it runs.
func (c *Call) Effect(e Effect) { c.effects = append(c.effects, e) }

// Send schedules, as an effect, a one-way intent to another reactor on
// behalf of the same caller: the context is propagated (same principal and
// grants, new request id, this reactor appended to the trace).
func (c *Call) Send(msg proto.Message) {
	rt := c.rt // the Call is reset when the handler returns; effects must not use it
	caller := c.env.Context.Propagate(intent.Inherit, intent.Hop{Node: rt.name, Actor: c.kind + "/" + c.identity, At: rt.now()})
	c.Effect(func(ctx context.Context) error { return rt.Send(ctx, caller, msg) })
}
