package temporal

import (
	"context"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/intent"
)

// Requester sends an intent on behalf of a caller and waits for its reply.
// *actor.Runtime (this node's reactors) and *cluster.Node (the reactor's
// owner, wherever it is) satisfy it; the capability check applies as for
// any other intent.
type Requester interface {
	Request(ctx context.Context, caller *intent.Context, msg proto.Message) (proto.Message, error)
}

// run is one intent in flight for a schedule or a reminder service. It is
// an actor of its own, a child of its owner, so the owner keeps serving
// ticks while the request waits, and stopping the owner waits for it.
type run struct {
	id      uint64
	target  Requester
	caller  *intent.Context
	msg     proto.Message
	timeout time.Duration
	ctx     context.Context // cancelled by the owner to abandon the run
}

// runDone is what a run reports to its owner.
type runDone struct {
	id    uint64
	reply proto.Message
	err   error
}

func (r *run) Receive(c protoactor.Context) {
	if _, ok := c.Message().(*protoactor.Started); !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, r.timeout)
	reply, err := r.target.Request(ctx, r.caller, r.msg)
	cancel()
	c.Send(c.Parent(), &runDone{id: r.id, reply: reply, err: err})
	c.Stop(c.Self())
}

// startRun spawns r as a child of c.
func startRun(c protoactor.Context, r *run) {
	c.SpawnPrefix(protoactor.PropsFromProducer(func() protoactor.Actor { return r }), "run")
}
