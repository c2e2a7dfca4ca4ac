package stream

import (
	"fmt"
	"sync"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/stream/streampb"
)

// Streams across actor systems. A pipeline on one member ends in ToRemote,
// a pipeline on another begins with FromRemote, and the stream between them
// keeps backpressure: demand crosses the wire (streampb.Demand) and the
// publisher never sends more than was demanded, in batches of at most
// Config.Batch elements. Both systems need Proto.Actor remote started. Each
// side watches the other: if the peer's stage terminates (its member died,
// left or stopped the pipeline) before the stream ended, the pipeline
// fails with ErrStageLost naming it. Delivery within one stream is in
// order; a stream does not survive the loss of a member, unless it is
// restartable (ToRemoteRestartable and FromRemoteAcked, restart.go).

// RemoteInlet is the far end of a FromRemote source: after Run, PID is
// where publishers (ToRemote) connect.
type RemoteInlet struct {
	// mu guards s.
	mu sync.Mutex
	s  *stage
}

// PID is the actor ToRemote must be given, once the pipeline holding the
// source has been started (nil before).
func (r *RemoteInlet) PID() *protoactor.PID {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.s == nil {
		return nil
	}
	return r.s.self
}

// FromRemote is a source of the elements a ToRemote sink on another actor
// system sends it. It completes or fails as that stream does. The returned
// RemoteInlet gives its PID after Run; the blueprint follows its latest run.
func FromRemote[T any](codec Codec[T], opts ...StageOption) (Source[T], *RemoteInlet) {
	ri := &RemoteInlet{}
	if !codec.valid() {
		return failedSource[T](invalid("FromRemote", "codec without Encode or Decode")), ri
	}
	return source("fromRemote", opts, func(s *stage, out *outlet[T]) (logic, error) {
		ri.mu.Lock()
		ri.s = s
		ri.mu.Unlock()
		l := &fromRemote[T]{s: s, out: out, codec: codec}
		l.in = newInlet[T](s)
		return l, nil
	}), ri
}

type fromRemote[T any] struct {
	s     *stage
	in    *inlet[T]
	out   *outlet[T]
	codec Codec[T]
	peer  *protoactor.PID
}

func (l *fromRemote[T]) pump() error { relay(l.in, l.out); return nil }

func (l *fromRemote[T]) receive(msg any) error {
	switch m := msg.(type) {
	case *streampb.Connect:
		pid := protoactor.NewPID(m.GetAddress(), m.GetId())
		if l.peer != nil {
			l.s.send(pid, &streampb.Failure{Message: "stream: the subscriber already has a publisher"})
			return nil
		}
		l.peer = pid
		l.in.link = &remoteUp{s: l.s, to: pid}
		l.s.watch(pid)
	case *streampb.Elements:
		items := make([]T, len(m.GetItems()))
		for i, b := range m.GetItems() {
			x, err := l.codec.Decode(b)
			if err != nil {
				l.s.fail(fmt.Errorf("%w: decoding an element from %v: %w", ErrProtocol, l.peer, err))
				return nil
			}
			items[i] = x
		}
		if err := l.in.accept(items); err != nil {
			l.s.fail(err)
		}
	case *streampb.Complete:
		l.in.onComplete()
	case *streampb.Failure:
		if l.in.state == portOpen {
			l.in.state = portFailed
			l.s.fail(&RemoteError{Message: m.GetMessage()})
		}
	case *peerLost:
		if m.pid.Equal(l.peer) && l.in.state == portOpen {
			l.in.state = portFailed
			l.s.fail(m.err())
		}
	}
	return nil
}

func (l *fromRemote[T]) restart() {}

// ToRemote sends the stream to the FromRemote source whose PID is to, on
// another actor system, encoding each element with codec.
func ToRemote[T any](to *protoactor.PID, codec Codec[T], opts ...StageOption) Sink[T] {
	if to == nil {
		return failedSink[T](invalid("ToRemote", "nil PID"))
	}
	if !codec.valid() {
		return failedSink[T](invalid("ToRemote", "codec without Encode or Decode"))
	}
	return sink("toRemote", opts, func(s *stage, in *inlet[T]) (logic, error) {
		l := &toRemote[T]{s: s, in: in, peer: to}
		l.out = newOutlet[T](s)
		l.out.link = &remoteDown[T]{s: s, to: to, codec: codec}
		s.remoteSink = true
		return l, nil
	})
}

type toRemote[T any] struct {
	s    *stage
	in   *inlet[T]
	out  *outlet[T]
	peer *protoactor.PID
	// acked is set once the subscriber's stage stopped after the
	// completion was sent: the stream arrived whole, and only then does
	// this stage finish.
	acked bool
}

func (l *toRemote[T]) busy() bool { return l.out.state == portCompleted && !l.acked }

func (l *toRemote[T]) start() error {
	l.s.send(l.peer, &streampb.Connect{Address: l.s.self.Address, Id: l.s.self.Id})
	l.s.watch(l.peer)
	return nil
}

func (l *toRemote[T]) pump() error { relay(l.in, l.out); return nil }

func (l *toRemote[T]) receive(msg any) error {
	switch m := msg.(type) {
	case *streampb.Demand:
		l.out.onDemand(m.GetN())
	case *streampb.Cancel:
		l.out.onCancel()
	case *streampb.Failure:
		l.s.fail(&RemoteError{Message: m.GetMessage()})
	case *peerLost:
		switch {
		case !m.pid.Equal(l.peer):
		case l.out.state == portCompleted && m.why == protoactor.TerminatedReason_Stopped:
			l.acked = true
		case l.out.state == portOpen || l.out.state == portCompleted:
			l.s.fail(m.err())
		}
	}
	return nil
}

func (l *toRemote[T]) restart() {}

// peerLost is a watched peer's termination, queued behind the messages
// that peer sent before it: Proto.Actor delivers Terminated ahead of them
// (system messages first), which would fail a stream whose Complete is
// still in the mailbox.
type peerLost struct {
	pid *protoactor.PID
	why protoactor.TerminatedReason
}

func (*peerLost) IgnoreDeadLetterLogging() {}

func (m *peerLost) err() error {
	return fmt.Errorf("%w: stage %s at %s terminated (%s)", ErrStageLost, m.pid.GetId(), m.pid.GetAddress(), m.why)
}

// remoteUp and remoteDown link a port to a stage on another actor system.
type remoteUp struct {
	s  *stage
	to *protoactor.PID
}

func (l *remoteUp) request(n int64) { l.s.send(l.to, &streampb.Demand{N: n}) }
func (l *remoteUp) cancel()         { l.s.send(l.to, &streampb.Cancel{}) }

type remoteDown[T any] struct {
	s     *stage
	to    *protoactor.PID
	codec Codec[T]
}

func (l *remoteDown[T]) push(items []T) {
	m := &streampb.Elements{Items: make([][]byte, len(items))}
	for i, x := range items {
		b, err := l.codec.Encode(x)
		if err != nil {
			// The demand for the rest is spent; fail the stream.
			l.s.tell(&encodeFailed{err: err})
			return
		}
		m.Items[i] = b
	}
	l.s.send(l.to, m)
}
func (l *remoteDown[T]) complete()      { l.s.send(l.to, &streampb.Complete{}) }
func (l *remoteDown[T]) fail(err error) { l.s.send(l.to, &streampb.Failure{Message: err.Error()}) }

type encodeFailed struct{ err error }

func (*encodeFailed) IgnoreDeadLetterLogging() {}
