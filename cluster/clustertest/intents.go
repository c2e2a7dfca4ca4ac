package clustertest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/actor"
	"github.com/packetflow/packetflow/cluster"
	"github.com/packetflow/packetflow/intent"
	"github.com/packetflow/packetflow/intent/intentpb"
)

// IntentTransport returns a cluster.NewTransport for node name that carries
// intents over the network in memory, subject to its partitions. Envelopes
// and replies are marshalled to protobuf bytes and back, as on the wire, and
// served with cluster.HandleEnvelope, as by the remote transport. An
// envelope to a stopped, unknown or partitioned node fails with
// cluster.ErrNotDelivered; one whose node stops before it answers fails with
// intent.ErrUnavailable (outcome unknown).
//
// It exists because Proto.Actor's remote cannot run twice in one process
// under the race detector (its Start replaces gRPC's global logger while
// another remote's goroutines read it); the multi-process tests of cmd/
// cover the real transport between nodes.
func (n *Network) IntentTransport(name string) cluster.NewTransport {
	return func(rt *actor.Runtime) (cluster.Transport, error) {
		t := &intents{net: n, name: name, address: name + ".clustertest:8090", rt: rt, down: make(chan struct{})}
		t.work, t.cancel = context.WithCancel(context.Background())
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.intents[t.address] != nil {
			t.cancel()
			return nil, fmt.Errorf("clustertest: node %q already has an open intent transport", name)
		}
		n.intents[t.address] = t
		return t, nil
	}
}

// IntentFault is what happens to one intent between two nodes (see
// Network.SetIntentFaults).
type IntentFault struct {
	// Delay holds the envelope back before it is delivered.
	Delay time.Duration
	// DropRequest loses the envelope: it is never handled, and the caller
	// waits for its deadline (an outcome it cannot tell from DropReply).
	DropRequest bool
	// DropReply handles the envelope and loses its reply: the caller
	// waits for its deadline.
	DropReply bool
}

// SetIntentFaults makes fault decide, for each intent sent between two
// nodes (by name), whether it is delayed or dropped; nil removes it. fault
// is called concurrently and must be safe for that. Gossip is not
// affected (see Partition).
func (n *Network) SetIntentFaults(fault func(from, to string) IntentFault) {
	n.mu.Lock()
	n.faults = fault
	n.mu.Unlock()
}

func (n *Network) intentFault(from, to string) IntentFault {
	n.mu.Lock()
	f := n.faults
	n.mu.Unlock()
	if f == nil {
		return IntentFault{}
	}
	return f(from, to)
}

// intents is one node's in-memory intent transport.
type intents struct {
	net     *Network
	name    string
	address string
	rt      *actor.Runtime
	work    context.Context // cancelled when Stop gives up draining
	cancel  context.CancelFunc
	down    chan struct{} // closed once Stop has drained

	mu       sync.Mutex // guards closed and the Add side of inflight
	closed   bool
	inflight sync.WaitGroup
	stopOnce sync.Once
}

func (t *intents) Address() string { return t.address }

// drainTimeout bounds how long Stop lets intents in flight finish.
const drainTimeout = time.Second

func (t *intents) Request(ctx context.Context, address string, env *intent.Envelope) (proto.Message, error) {
	if t.isClosed() {
		return nil, cluster.ErrRemoteStopped
	}
	pb, err := env.Encode()
	if err != nil {
		return nil, err
	}
	b, err := proto.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", intent.ErrInvalid, err)
	}
	target := t.net.intentRoute(t.name, address)
	if target == nil {
		return nil, fmt.Errorf("%w: %s is unreachable from %s", cluster.ErrNotDelivered, address, t.name)
	}
	var expired <-chan time.Time
	if !env.Deadline.IsZero() {
		timer := time.NewTimer(time.Until(env.Deadline))
		defer timer.Stop()
		expired = timer.C
	}
	fault := t.net.intentFault(t.name, target.name)
	if fault.Delay > 0 {
		delay := time.NewTimer(fault.Delay)
		select {
		case <-delay.C:
		case <-ctx.Done():
			delay.Stop()
			return nil, intent.ErrDeadlineExceeded
		case <-expired:
			delay.Stop()
			return nil, intent.ErrDeadlineExceeded
		}
	}
	var replies <-chan []byte
	if !fault.DropRequest {
		var ok bool
		if replies, ok = target.serve(b); !ok {
			return nil, fmt.Errorf("%w: %s is stopping", cluster.ErrNotDelivered, address)
		}
		if fault.DropReply {
			replies = nil // handled; its answer never arrives
		}
	}
	select {
	case b := <-replies:
		var reply intentpb.Reply
		if err := proto.Unmarshal(b, &reply); err != nil {
			return nil, fmt.Errorf("clustertest: reply from %s: %w", address, err)
		}
		return cluster.ReplyOutcome(address, env.ID, &reply)
	case <-ctx.Done():
		return nil, intent.ErrDeadlineExceeded
	case <-expired:
		return nil, intent.ErrDeadlineExceeded
	case <-target.down:
		return nil, fmt.Errorf("%w: %s stopped before it answered intent %s (outcome unknown)", intent.ErrUnavailable, address, env.ID)
	}
}

// serve starts serving the envelope b on a goroutine the transport owns
// and returns the channel its marshalled reply arrives on; false once the
// transport is stopping.
func (t *intents) serve(b []byte) (<-chan []byte, bool) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, false
	}
	t.inflight.Add(1)
	t.mu.Unlock()
	replies := make(chan []byte, 1)
	go func() {
		defer t.inflight.Done()
		var reply *intentpb.Reply
		var pb intentpb.Envelope
		if err := proto.Unmarshal(b, &pb); err != nil {
			reply = &intentpb.Reply{Status: intent.Status(fmt.Errorf("%w: %w", intent.ErrInvalid, err))}
		} else {
			reply = cluster.HandleEnvelope(t.work, t.rt, &pb, 30*time.Second)
		}
		out, err := proto.Marshal(reply)
		if err != nil {
			out, _ = proto.Marshal(&intentpb.Reply{IntentId: pb.GetId(), Status: intent.Status(err)})
		}
		replies <- out
	}()
	return replies, true
}

func (t *intents) isClosed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// Stop refuses new intents, lets those in flight finish for up to
// drainTimeout, then cancels them.
func (t *intents) Stop() error {
	t.stopOnce.Do(func() {
		t.mu.Lock()
		t.closed = true
		t.mu.Unlock()
		t.net.mu.Lock()
		if t.net.intents[t.address] == t {
			delete(t.net.intents, t.address)
		}
		t.net.mu.Unlock()
		done := make(chan struct{})
		go func() { t.inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(drainTimeout):
			t.cancel()
			<-done
		}
		t.cancel()
		close(t.down)
	})
	return nil
}

// intentRoute returns the open intent transport at address if from may
// reach it.
func (n *Network) intentRoute(from, address string) *intents {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.intents[address]
	if t == nil || n.cut(from, t.name) {
		return nil
	}
	return t
}
