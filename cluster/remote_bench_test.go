package cluster_test

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/examples/counter"
	"github.com/packetflow/packetflow/examples/counter/counterpb"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// The remote benchmarks compare a counter Increment sent from one runtime to
// another over cluster.Remote (encode, capability check on arrival, reply
// with status and payload) with raw Proto.Actor remote request/reply of
// messages of the same encoded sizes between two plain actor systems, to an
// actor that counts and replies. Both run on loopback, plaintext, in one
// process. They start four remotes in one process, so they must run without
// -race (Proto.Actor's remote.Start races with running gRPC; see
// remote_test.go).

var benchLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// benchParallelInstances spreads parallel callers over this many counters
// (and raw actors).
const benchParallelInstances = 64

func BenchmarkRemoteRequest(b *testing.B) {
	b.Run("impl=packetflow", func(b *testing.B) {
		bench := newRemoteBench(b)
		msg := &counterpb.Increment{Counter: "c", By: 1}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			must(b, bench.request(msg))
		}
	})
	b.Run("impl=protoactor", func(b *testing.B) {
		raw := newRawRemoteBench(b, 1)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			must(b, raw.request(0))
		}
	})
}

func BenchmarkRemoteRequestParallel(b *testing.B) {
	b.Run("impl=packetflow", func(b *testing.B) {
		bench := newRemoteBench(b)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			msg := &counterpb.Increment{Counter: strconv.Itoa(int(next.Add(1) % benchParallelInstances)), By: 1}
			for pb.Next() {
				if err := bench.request(msg); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("impl=protoactor", func(b *testing.B) {
		raw := newRawRemoteBench(b, benchParallelInstances)
		var next atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(1) % benchParallelInstances)
			for pb.Next() {
				if err := raw.request(i); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// remoteBench is two counter runtimes on loopback; requests go from a to b.
type remoteBench struct {
	a, b *remoteNode
	ctx  context.Context
}

func newRemoteBench(b *testing.B) *remoteBench {
	checkGoroutines(b)
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	b.Cleanup(cancel)
	bench := &remoteBench{
		a:   startRemoteNode(b, "a", cluster.RemoteConfig{Logger: benchLog}),
		b:   startRemoteNode(b, "b", cluster.RemoteConfig{Logger: benchLog}),
		ctx: ctx,
	}
	must(b, bench.request(&counterpb.Increment{Counter: "warm-up"})) // connect
	return bench
}

func (r *remoteBench) request(msg *counterpb.Increment) error {
	env, err := r.a.rt.NewEnvelope(r.ctx, r.a.basic, msg)
	if err != nil {
		return err
	}
	_, err = r.a.remote.Request(r.ctx, r.b.remote.Address(), env)
	return err
}

// rawRemoteBench is two plain actor systems with remotes; requests go from
// a to counting actors on b.
type rawRemoteBench struct {
	a       *protoactor.ActorSystem
	targets []*protoactor.PID
	msg     proto.Message
}

// rawCounter counts what it is sent and replies with a message of the size
// of a PacketFlow reply.
type rawCounter struct {
	n     int64
	reply proto.Message
}

func (c *rawCounter) Receive(ctx protoactor.Context) {
	if _, ok := ctx.Message().(*wrapperspb.BytesValue); ok {
		c.n++
		ctx.Respond(c.reply)
	}
}

func newRawRemoteBench(b *testing.B, actors int) *rawRemoteBench {
	checkGoroutines(b)
	envSize, replySize := packetflowWireSizes(b)
	start := func() *protoactor.ActorSystem {
		sys := protoactor.NewActorSystem(protoactor.WithLoggerFactory(func(*protoactor.ActorSystem) *slog.Logger { return benchLog }))
		rm := remote.NewRemote(sys, remote.Configure("127.0.0.1", 0))
		rm.Start()
		b.Cleanup(func() { rm.Shutdown(true); sys.Shutdown() })
		return sys
	}
	a, to := start(), start()
	reply := bytesOfSize(replySize)
	raw := &rawRemoteBench{a: a, msg: bytesOfSize(envSize)}
	for i := 0; i < actors; i++ {
		pid, err := to.Root.SpawnNamed(protoactor.PropsFromProducer(func() protoactor.Actor { return &rawCounter{reply: reply} }), "raw"+strconv.Itoa(i))
		if err != nil {
			b.Fatal(err)
		}
		raw.targets = append(raw.targets, pid)
	}
	must(b, raw.request(0)) // connect
	return raw
}

func (r *rawRemoteBench) request(i int) error {
	_, err := r.a.Root.RequestFuture(r.targets[i], r.msg, 30*time.Second).Result()
	return err
}

// packetflowWireSizes returns the encoded sizes of the envelope and the
// reply of a counter Increment as remoteBench sends them.
func packetflowWireSizes(b *testing.B) (envelope, reply int) {
	rt, err := actor.NewRuntime(actor.Config{Logger: benchLog})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rt.Stop() }()
	if err := counter.Define(rt, nil); err != nil {
		b.Fatal(err)
	}
	caller, err := rt.NewContext("alice", "user:basic")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	env, err := rt.NewEnvelope(ctx, caller, &counterpb.Increment{Counter: "c", By: 1})
	if err != nil {
		b.Fatal(err)
	}
	pb, err := env.Encode()
	if err != nil {
		b.Fatal(err)
	}
	payload, err := anypb.New(&counterpb.Value{Counter: "c", Count: 1000})
	if err != nil {
		b.Fatal(err)
	}
	r := &intentpb.Reply{IntentId: env.ID, Status: intent.Status(nil), Payload: payload}
	return proto.Size(pb), proto.Size(r)
}

func must(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// bytesOfSize is a BytesValue whose encoding is size bytes long.
func bytesOfSize(size int) *wrapperspb.BytesValue {
	for n := size; n > 0; n-- {
		m := wrapperspb.Bytes(make([]byte, n))
		if proto.Size(m) <= size {
			return m
		}
	}
	return wrapperspb.Bytes(nil)
}
