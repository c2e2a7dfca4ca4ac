package actor

import (
	"context"
	"testing"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
)

// BenchmarkSendPath measures the work a one-way send does on the sender
// before the enqueue, without a consumer: prepare (type, envelope, plugins)
// and admit (kind, requirements, capability check).
func BenchmarkSendPath(b *testing.B) {
	rt, err := NewRuntime(Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Stop()
	if err := rt.DefineSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic")); err != nil {
		b.Fatal(err)
	}
	if _, err := intent.Register(rt.Types(), intent.Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter}); err != nil {
		b.Fatal(err)
	}
	r := NewReactor[int64]("counter", nil)
	Handle(r, func(_ *Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		return n + 1, nil, nil
	})
	if err := rt.Register(r); err != nil {
		b.Fatal(err)
	}
	caller, _ := rt.NewContext("bench", "user:basic")
	msg := &counterpb.Increment{Counter: "a"}
	ctx := context.Background()
	k, _ := rt.kind("counter")
	a, _ := rt.activation(k, "a")
	b.Run("prepare", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := rt.prepare(ctx, caller, msg, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	p, _ := rt.prepare(ctx, caller, msg, false)
	b.Run("resolve", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			k, _ := rt.kind(p.env.Type.Kind())
			id, _ := p.env.Type.Identity(p.env.Message)
			if _, err := rt.activation(k, id); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("admit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := rt.admit(k, "a", &p.delivery); err != nil {
				b.Fatal(err)
			}
		}
	})
	_ = a
}
