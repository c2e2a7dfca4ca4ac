package actor

import (
	"fmt"
	"iter"
	"log/slog"
	"strconv"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/intent"
)

// kindSpec is what a Definition contributes to the runtime.
type kindSpec struct {
	name    string
	handles map[string]bool
	// producer returns the actor producer of a new instance; the state
	// cell it creates is shared by every incarnation of that instance.
	producer func(rt *Runtime, identity string) protoactor.Producer
}

// kind is a registered reactor kind and its live instances.
type kind struct {
	kindSpec
	strategy protoactor.SupervisorStrategy

	mu     sync.Mutex // serialises activations of this kind
	active sync.Map   // identity -> *activation
	gen    uint64     // guarded by mu; disambiguates actor names
}

// activation is one live instance of a kind.
type activation struct {
	kind     *kind
	identity string
	pid      *protoactor.PID
	mb       *checkedMailbox
}

// activation returns the live instance kind/identity, activating it if
// needed.
func (rt *Runtime) activation(k *kind, identity string) (*activation, error) {
	if v, ok := k.active.Load(identity); ok {
		return v.(*activation), nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if v, ok := k.active.Load(identity); ok {
		return v.(*activation), nil
	}
	if rt.stopping.Load() {
		return nil, ErrStopped
	}
	if rt.cfg.Admit != nil {
		if err := rt.cfg.Admit(k.name, identity); err != nil {
			return nil, fmt.Errorf("%w: %s/%s is not activated here: %w", intent.ErrNotApplied, k.name, identity, err)
		}
	}
	a := &activation{kind: k, identity: identity}
	a.mb = &checkedMailbox{rt: rt, kind: k, identity: identity}
	inner := k.producer(rt, identity)
	props := protoactor.PropsFromProducer(
		func() protoactor.Actor { return &lifecycle{Actor: inner(), a: a, rt: rt} },
		protoactor.WithMailbox(func() protoactor.Mailbox { return a.mb }),
		protoactor.WithGuardian(k.strategy),
		protoactor.WithDispatcher(rt.dispatcher),
	)
	name := k.name + "/" + identity
	if k.gen > 0 {
		name += "#" + strconv.FormatUint(k.gen, 10)
	}
	k.gen++
	rt.instances.Add(1)
	pid, err := rt.system.Root.SpawnNamed(props, name)
	if err != nil {
		rt.instances.Done()
		return nil, fmt.Errorf("%w: activating %s: %w", intent.ErrUnavailable, name, err)
	}
	a.pid = pid
	k.active.Store(identity, a)
	rt.stats.activations.Add(1)
	return a, nil
}

// Active yields the kind and identity of every active reactor instance, in
// no particular order. Instances activated or stopped while it runs may or
// may not be yielded.
func (rt *Runtime) Active() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, k := range *rt.kinds.Load() {
			more := true
			k.active.Range(func(id, _ any) bool {
				more = yield(k.name, id.(string))
				return more
			})
			if !more {
				return
			}
		}
	}
}

// Deactivate stops the active instance kind/identity, if there is one, and
// reports whether there was. The instance finishes the intent it is
// handling; intents queued behind it go to a fresh activation (subject to
// Config.Admit). Its committed state stays in the store: a durable reactor
// activated again recovers it. A cluster node deactivates the instances it
// no longer owns when its view of the members changes.
func (rt *Runtime) Deactivate(kind, identity string) bool {
	k, err := rt.kind(kind)
	if err != nil {
		return false
	}
	v, ok := k.active.Load(identity)
	if !ok {
		return false
	}
	rt.system.Root.Stop(v.(*activation).pid)
	return true
}

// lifecycle wraps an instance's actor to keep the activation table in step
// with the actor's life.
type lifecycle struct {
	protoactor.Actor
	a  *activation
	rt *Runtime
}

func (l *lifecycle) Receive(ctx protoactor.Context) {
	switch ctx.Message().(type) {
	case *protoactor.Stopping:
		// Leave the table first, then close: an intent routed meanwhile
		// either finds the fresh activation or enters this mailbox and is
		// rerouted when it drains. Closing first let a route find this
		// closed instance again and again until it gave up.
		l.a.kind.active.CompareAndDelete(l.a.identity, l.a)
		l.a.mb.closed.Store(true)
	case *protoactor.Stopped:
		// A stop after a failure leaves the mailbox suspended with intents
		// in it. Resume it so they drain: the closed mailbox re-routes them
		// to a fresh activation instead of losing them.
		l.a.mb.PostSystemMessage(&protoactor.ResumeMailbox{})
		l.rt.instances.Done()
	}
	l.Actor.Receive(ctx)
}

// route posts d to the instance its intent addresses and returns the
// mailbox's verdict; a refused intent is not answered, the caller reports
// the error.
func (rt *Runtime) route(d *delivery) error {
	if rt.stopping.Load() {
		return ErrStopped
	}
	t := d.env.Type
	k, err := rt.kind(t.Kind())
	if err != nil {
		return err
	}
	identity, err := t.Identity(d.env.Message)
	if err != nil {
		rt.stats.rejected.Add(1)
		return err
	}
	a, err := rt.activation(k, identity)
	if err != nil {
		return err
	}
	return a.mb.post(d)
}

// maxReroutes bounds how often one intent follows a stopping instance to
// its next activation.
const maxReroutes = 3

// reroute sends d, which reached an instance that is stopping, to a fresh
// activation, or answers it when that is not possible.
func (rt *Runtime) reroute(d *delivery) {
	d.hops++
	if d.hops > maxReroutes {
		d.answer(nil, fmt.Errorf("%w: %s kept reaching stopped reactors", intent.ErrUnavailable, d.env.ID))
		return
	}
	if err := rt.route(d); err != nil {
		rt.log.Debug("reroute failed", slog.String("intent", d.env.ID), slog.Any("err", err))
		d.answer(nil, err)
	}
}
