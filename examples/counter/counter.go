// Package counter is the seed's quick start on PacketFlow: a counter that
// users with user:basic increment and users with user:admin reset, where
// admin implies basic. Copy Define to start a domain of your own.
package counter

import (
	"context"
	"fmt"
	"math"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
)

// Define registers the quick start on rt: the "user" capabilities, the
// counter intents and the counter reactor. notify, if not nil, is called by
// the reactor's effects after each committed change.
func Define(rt *actor.Runtime, notify func(string)) error {
	// Capabilities with implications: admin ⇒ basic.
	if err := rt.DefineSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic")); err != nil {
		return err
	}
	// Intents with capability requirements, routed to the counter they name.
	if err := registerIntents(rt.Types()); err != nil {
		return err
	}
	// The reactor: state is the count.
	counter := actor.NewReactor[int64]("counter", nil)
	actor.Handle(counter, func(c *actor.Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		by := max(in.By, 1)
		if in.By < 0 || n > math.MaxInt64-by {
			return n, nil, fmt.Errorf("cannot add %d to %d", in.By, n)
		}
		say(c, notify, "Incrementing counter %s by %d for user: %s", in.Counter, by, in.UserId)
		return n + by, &counterpb.Value{Counter: in.Counter, Count: n + by}, nil
	})
	actor.Handle(counter, func(c *actor.Call, _ int64, in *counterpb.Reset) (int64, *counterpb.Value, error) {
		say(c, notify, "Resetting counter %s for user: %s", in.Counter, in.UserId)
		return 0, &counterpb.Value{Counter: in.Counter}, nil
	})
	actor.Handle(counter, func(_ *actor.Call, n int64, in *counterpb.Get) (int64, *counterpb.Value, error) {
		return n, &counterpb.Value{Counter: in.Counter, Count: n}, nil
	})
	// Durable when the runtime has a store: committed before each reply,
	// recovered on activation.
	actor.Persist(counter, 1,
		func(n int64) *counterpb.State { return &counterpb.State{Count: n} },
		func(s *counterpb.State) (int64, error) { return s.Count, nil },
		nil)
	return rt.Register(counter)
}

func registerIntents(types *intent.Registry) error {
	_, err1 := intent.Register(types, intent.Spec[*counterpb.Increment]{
		Kind: "counter", Requires: []string{"user:basic"}, IdentityField: "counter"})
	_, err2 := intent.Register(types, intent.Spec[*counterpb.Reset]{
		Kind: "counter", Requires: []string{"user:admin"}, IdentityField: "counter", Idempotent: true})
	_, err3 := intent.Register(types, intent.Spec[*counterpb.Get]{
		Kind: "counter", Requires: []string{"user:basic"}, IdentityField: "counter", Idempotent: true})
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			return err
		}
	}
	return nil
}

// say schedules an effect that tells notify, when there is someone to tell.
func say(c *actor.Call, notify func(string), format string, args ...any) {
	if notify == nil {
		return
	}
	c.Effect(func(context.Context) error {
		notify(fmt.Sprintf(format, args...))
		return nil
	})
}
