package actor_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
)

// The benchmarks compare a capability-checked reactor with a raw Proto.Actor
// actor doing the same work (count, reply with the count). Run them all with
// scripts/bench.sh, which prints the ratios README.md quotes.

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchRuntime is a counter runtime with a caller holding user:basic.
func benchRuntime(b *testing.B, opts ...func(*actor.Config)) (*actor.Runtime, *intent.Context) {
	b.Helper()
	cfg := actor.Config{Logger: discard}
	for _, o := range opts {
		o(&cfg)
	}
	rt, err := actor.NewRuntime(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = rt.Stop() })
	must(b, rt.DefineSchema("user", []string{"basic", "admin"}, capability.Implies("admin", "basic")))
	_, err = intent.Register(rt.Types(), intent.Spec[*counterpb.Increment]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Increment).GetCounter})
	must(b, err)
	_, err = intent.Register(rt.Types(), intent.Spec[*counterpb.Get]{Kind: "counter", Requires: []string{"user:basic"}, Identity: (*counterpb.Get).GetCounter})
	must(b, err)
	r := actor.NewReactor[int64]("counter", nil)
	actor.Handle(r, func(_ *actor.Call, n int64, in *counterpb.Increment) (int64, *counterpb.Value, error) {
		return n + 1, &counterpb.Value{Count: n + 1}, nil
	})
	actor.Handle(r, func(_ *actor.Call, n int64, in *counterpb.Get) (int64, *counterpb.Value, error) {
		return n, &counterpb.Value{Count: n}, nil
	})
	must(b, rt.Register(r))
	caller, err := rt.NewContext("bench", "user:basic")
	must(b, err)
	return rt, caller
}

// rawCounter is the baseline: a plain Proto.Actor actor doing the same work.
type rawCounter struct{ n int64 }

func (c *rawCounter) Receive(ctx protoactor.Context) {
	switch ctx.Message().(type) {
	case *counterpb.Increment:
		c.n++
		if ctx.Sender() != nil {
			ctx.Respond(&counterpb.Value{Count: c.n})
		}
	case *counterpb.Get:
		ctx.Respond(&counterpb.Value{Count: c.n})
	}
}

func rawSystem(b *testing.B) *protoactor.ActorSystem {
	sys := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger { return discard }))
	b.Cleanup(sys.Shutdown)
	return sys
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRequest(b *testing.B) {
	b.Run("impl=packetflow", func(b *testing.B) { benchRequest(b) })
	b.Run("impl=protoactor", func(b *testing.B) {
		sys := rawSystem(b)
		pid := sys.Root.Spawn(protoactor.PropsFromProducer(func() protoactor.Actor { return &rawCounter{} }))
		msg := &counterpb.Increment{Counter: "a"}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := sys.Root.RequestFuture(pid, msg, 30*time.Second).Result(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func benchRequest(b *testing.B, opts ...func(*actor.Config)) {
	rt, caller := benchRuntime(b, opts...)
	ctx := context.Background()
	msg := &counterpb.Increment{Counter: "a"}
	_, err := rt.Request(ctx, caller, msg)
	must(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Request(ctx, caller, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestParallel spreads callers over parallelInstances instances.
const parallelInstances = 64

func BenchmarkRequestParallel(b *testing.B) {
	b.Run("impl=packetflow", func(b *testing.B) { benchRequestParallel(b) })
	b.Run("impl=protoactor", func(b *testing.B) {
		sys := rawSystem(b)
		pids := make([]*protoactor.PID, parallelInstances)
		for i := range pids {
			pids[i] = sys.Root.Spawn(protoactor.PropsFromProducer(func() protoactor.Actor { return &rawCounter{} }))
		}
		var next atomic.Int64
		msg := &counterpb.Increment{Counter: "a"}
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			pid := pids[next.Add(1)%parallelInstances]
			for pb.Next() {
				if _, err := sys.Root.RequestFuture(pid, msg, 30*time.Second).Result(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

func benchRequestParallel(b *testing.B, opts ...func(*actor.Config)) {
	rt, caller := benchRuntime(b, opts...)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		msg := &counterpb.Increment{Counter: strconv.Itoa(int(next.Add(1) % parallelInstances))}
		for pb.Next() {
			if _, err := rt.Request(ctx, caller, msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSend measures one-way throughput: b.N sends, then one request
// that returns once the instance has handled all of them.
func BenchmarkSend(b *testing.B) {
	b.Run("impl=packetflow", func(b *testing.B) { benchSend(b) })
	b.Run("impl=protoactor", func(b *testing.B) {
		sys := rawSystem(b)
		pid := sys.Root.Spawn(protoactor.PropsFromProducer(func() protoactor.Actor { return &rawCounter{} }))
		msg := &counterpb.Increment{Counter: "a"}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			sys.Root.Send(pid, msg)
		}
		reply, err := sys.Root.RequestFuture(pid, &counterpb.Get{}, 30*time.Second).Result()
		must(b, err)
		if got := reply.(*counterpb.Value).Count; got != int64(b.N) {
			b.Fatalf("count %d after %d sends", got, b.N)
		}
	})
}

func benchSend(b *testing.B, opts ...func(*actor.Config)) {
	rt, caller := benchRuntime(b, opts...)
	ctx := context.Background()
	msg := &counterpb.Increment{Counter: "a"}
	_, err := rt.Request(ctx, caller, &counterpb.Get{Counter: "a"})
	must(b, err)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rt.Send(ctx, caller, msg); err != nil {
			b.Fatal(err)
		}
	}
	reply, err := rt.Request(ctx, caller, &counterpb.Get{Counter: "a"})
	must(b, err)
	if got := reply.(*counterpb.Value).Count; got != int64(b.N) {
		b.Fatalf("count %d after %d sends", got, b.N)
	}
}

// BenchmarkIdleReactorMemory activates 100k counter instances and reports
// the live heap per idle instance (B/reactor). Each call measures once,
// whatever b.N; run it with -benchtime=1x.
func BenchmarkIdleReactorMemory(b *testing.B) {
	const n = 100_000
	b.Run("impl=packetflow", func(b *testing.B) {
		{
			rt, caller := benchRuntime(b)
			ctx := context.Background()
			reportPerItem(b, n, func() {
				for j := 0; j < n; j++ {
					if _, err := rt.Request(ctx, caller, &counterpb.Get{Counter: "c" + strconv.Itoa(j)}); err != nil {
						b.Fatal(err)
					}
				}
			})
			if got := rt.Stats().Activations; got != n {
				b.Fatalf("%d activations, want %d", got, n)
			}
			_ = rt.Stop()
		}
	})
	b.Run("impl=protoactor", func(b *testing.B) {
		{
			sys := rawSystem(b)
			props := protoactor.PropsFromProducer(func() protoactor.Actor { return &rawCounter{} })
			pids := make([]*protoactor.PID, 0, n)
			reportPerItem(b, n, func() {
				for j := 0; j < n; j++ {
					pid, err := sys.Root.SpawnNamed(props, "c"+strconv.Itoa(j))
					must(b, err)
					pids = append(pids, pid)
				}
			})
			runtime.KeepAlive(pids)
		}
	})
}

func reportPerItem(b *testing.B, n int, spawn func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	spawn()
	runtime.GC()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "B/reactor")
	b.ReportMetric(0, "ns/op")
}

var _ = fmt.Sprint
