package stream

import (
	"fmt"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/stream/streampb"
)

// The subscriber of a restartable remote leg. FromRemoteAcked emits each
// element with its position; the pipeline acknowledges what it handled
// (ForEachAck, or RemoteInlet.Ack), and the source tells the publisher, so
// that a publisher that loses this subscriber replays only what was not
// acknowledged. A subscriber that records the positions it handled durably
// can start again from there (FromRemoteAcked's from): the publisher skips
// what it already has, and each element is handled exactly once.

// Positioned is an element of a restartable stream with its position: the
// publisher's count of the elements before it.
type Positioned[T any] struct {
	Pos   int64
	Value T
}

// FromRemoteAcked is the source of a restartable stream, whose publisher
// is a ToRemoteRestartable sink on another actor system. from is the first
// position this subscriber needs: 0 for a whole stream, or one past the
// last position a previous subscriber durably handled. Positions arrive in
// order and each at most once: what a replaying publisher sends again
// below the next expected position is dropped (counted in
// StageStats.Dropped).
//
// The pipeline must acknowledge what it handled, cumulatively: with a
// ForEachAck sink, or by calling RemoteInlet.Ack with the position of the
// last element handled. Once every sink of the pipeline has completed,
// whatever it received counts as acknowledged (elements a Filter dropped
// included). The source completes only when its elements are
// acknowledged.
//
// It answers a publisher that is not restartable (ToRemote) with a
// Failure, and fails with ErrStageLost if its publisher is lost before
// the stream completed: a lost publisher is not replaced.
func FromRemoteAcked[T any](codec Codec[T], from int64, opts ...StageOption) (Source[Positioned[T]], *RemoteInlet) {
	ri := &RemoteInlet{}
	if !codec.valid() {
		return failedSource[Positioned[T]](invalid("FromRemoteAcked", "codec without Encode or Decode")), ri
	}
	if from < 0 {
		return failedSource[Positioned[T]](invalid("FromRemoteAcked", "negative position %d", from)), ri
	}
	return source("fromRemoteAcked", opts, func(s *stage, out *outlet[Positioned[T]]) (logic, error) {
		ri.mu.Lock()
		ri.s = s
		ri.mu.Unlock()
		l := &ackedSub[T]{s: s, out: out, codec: codec, next: from, acked: from, ackSent: from,
			ackEvery: max(int64(s.batch)/4, 1)}
		l.in = newInlet[Positioned[T]](s)
		return l, nil
	}), ri
}

// Ack acknowledges every position up to and including pos to the
// publisher of the FromRemoteAcked source behind r: those elements are
// never sent again, to this subscriber or a replacement. It is safe from
// any goroutine, cheap (one local message) and coalesced on the wire.
// Positions not received yet are not acknowledged. It does nothing for a
// FromRemote source.
func (r *RemoteInlet) Ack(pos int64) {
	r.mu.Lock()
	s := r.s
	r.mu.Unlock()
	if s == nil || pos < 0 {
		return
	}
	s.tell(&ackMsg{next: pos + 1})
}

// ackMsg is RemoteInlet.Ack: every position before next is handled.
type ackMsg struct{ next int64 }

func (*ackMsg) IgnoreDeadLetterLogging() {}

type ackedSub[T any] struct {
	s     *stage
	in    *inlet[Positioned[T]]
	out   *outlet[Positioned[T]]
	codec Codec[T]

	peer    *protoactor.PID
	session uint64

	next     int64 // the next position expected: below it, a duplicate
	acked    int64 // every position before it is acknowledged
	ackSent  int64 // the last acknowledgement sent to the publisher
	ackEvery int64

	sinks     map[string]bool // sink stages of this pipeline not yet stopped
	watching  bool            // sinks are watched
	sinksDone bool            // every sink stopped: all received is handled
	gone      bool            // the publisher stopped after the stream completed
	// fresh is set until the first elements of a session: the publisher
	// starts past next when a previous subscriber acknowledged more.
	fresh bool
}

func (l *ackedSub[T]) pump() error {
	relay(l.in, l.out)
	if l.in.state == portCompleted && !l.watching {
		// The stream is complete: once every sink has stopped, all it
		// received is handled.
		l.watching = true
		l.sinks = map[string]bool{}
		for _, st := range l.s.p.stages {
			if st != l.s && st.isSink() && st.self != nil {
				l.sinks[st.self.Id] = true
				l.s.watch(st.self)
			}
		}
		if len(l.sinks) == 0 {
			l.allHandled()
		}
	}
	return nil
}

func (l *ackedSub[T]) busy() bool {
	return l.in.state == portCompleted && !l.gone && !l.sinksDone && l.acked < l.next
}

func (l *ackedSub[T]) allHandled() {
	l.sinksDone = true
	l.acked = l.next
	l.sendAck()
}

func (l *ackedSub[T]) receive(msg any) error {
	switch m := msg.(type) {
	case *streampb.Connect:
		l.connect(m)
	case *streampb.Elements:
		if m.GetSession() != l.session || l.peer == nil {
			return nil // of an earlier session
		}
		return l.elements(m)
	case *streampb.Complete:
		if m.GetSession() == l.session && l.peer != nil {
			l.in.onComplete()
		}
	case *streampb.Failure:
		if l.in.state == portOpen {
			l.in.state = portFailed
			l.s.fail(&RemoteError{Message: m.GetMessage()})
		}
	case *ackMsg:
		if n := min(m.next, l.next); n > l.acked {
			l.acked = n
			if l.acked-l.ackSent >= l.ackEvery || l.acked == l.next {
				l.sendAck()
			}
		}
	case *peerLost:
		switch {
		case l.sinks[m.pid.GetId()] && m.pid.GetAddress() == l.s.self.GetAddress():
			delete(l.sinks, m.pid.GetId())
			if len(l.sinks) == 0 {
				l.allHandled()
			}
		case l.peer == nil || !m.pid.Equal(l.peer):
		case l.in.state == portOpen:
			l.in.state = portFailed
			l.s.fail(m.err())
		default:
			l.gone = true
		}
	}
	return nil
}

func (l *ackedSub[T]) connect(m *streampb.Connect) {
	pid := protoactor.NewPID(m.GetAddress(), m.GetId())
	switch {
	case !m.GetAcknowledged() || m.GetSession() == 0:
		l.s.send(pid, &streampb.Failure{Message: "stream: FromRemoteAcked needs a restartable publisher (ToRemoteRestartable)"})
		return
	case l.peer != nil && !l.peer.Equal(pid):
		l.s.send(pid, &streampb.Failure{Message: "stream: the subscriber already has a publisher"})
		return
	case m.GetSession() <= l.session:
		return // a stale Connect
	}
	if l.peer == nil {
		l.s.watch(pid)
	}
	// The same publisher again, after it lost sight of this subscriber, or
	// the first one: demand of an earlier session is void.
	l.peer, l.session = pid, m.GetSession()
	if w := m.GetWindow(); w > 0 {
		l.ackEvery = max(min(int64(l.s.batch), w)/4, 1)
	}
	l.gone = false
	l.fresh = true
	if l.in.state == portOpen {
		l.in.outstanding = 0
		l.in.link = &ackedUp{s: l.s, to: pid, session: l.session}
	}
	l.s.send(pid, &streampb.Resume{Session: l.session, Next: l.next, Acked: l.acked})
	l.ackSent = l.acked
}

func (l *ackedSub[T]) elements(m *streampb.Elements) error {
	items := m.GetItems()
	n := int64(len(items))
	if l.in.state != portOpen || n == 0 {
		return nil
	}
	if n > l.in.outstanding {
		l.s.fail(fmt.Errorf("%w: %d elements arrived, %d requested", ErrProtocol, n, l.in.outstanding))
		return nil
	}
	first := m.GetFirst()
	if l.fresh && first > l.next {
		// Positions before first were acknowledged to the publisher by a
		// subscriber before this one.
		l.next, l.acked, l.ackSent = first, first, first
	}
	l.fresh = false
	if first > l.next {
		l.s.fail(fmt.Errorf("%w: position %d arrived, %d expected", ErrProtocol, first, l.next))
		return nil
	}
	dup := min(l.next-first, n)
	if dup > 0 {
		l.in.outstanding -= dup
		l.s.stats.dropped.Add(uint64(dup))
	}
	fresh := make([]Positioned[T], 0, n-dup)
	for i, b := range items[dup:] {
		x, err := l.codec.Decode(b)
		if err != nil {
			l.s.fail(fmt.Errorf("%w: decoding element %d from %v: %w", ErrProtocol, first+dup+int64(i), l.peer, err))
			return nil
		}
		fresh = append(fresh, Positioned[T]{Pos: first + dup + int64(i), Value: x})
	}
	l.next += int64(len(fresh))
	if err := l.in.accept(fresh); err != nil {
		l.s.fail(err)
	}
	return nil
}

func (l *ackedSub[T]) sendAck() {
	if l.peer == nil || l.gone || l.acked <= l.ackSent {
		return
	}
	l.ackSent = l.acked
	l.s.send(l.peer, &streampb.Ack{Session: l.session, Next: l.acked})
}

func (l *ackedSub[T]) restart() {}

// ackedUp carries demand and cancellation to a restartable publisher,
// tagged with the session they belong to.
type ackedUp struct {
	s       *stage
	to      *protoactor.PID
	session uint64
}

func (l *ackedUp) request(n int64) {
	l.s.send(l.to, &streampb.Demand{N: n, Session: l.session})
}
func (l *ackedUp) cancel() { l.s.send(l.to, &streampb.Cancel{Session: l.session}) }

// ForEachAck calls f with the value of every element of a FromRemoteAcked
// source, on the sink's actor, and acknowledges it to ri once f returned
// (acknowledgements are cumulative; they are sent at least every 32
// elements and whenever the sink has taken all it has). An element whose
// f failed is not acknowledged; if the decider resumes, the next
// acknowledgement covers it. ri must be the
// RemoteInlet FromRemoteAcked returned with the source.
func ForEachAck[T any](ri *RemoteInlet, f func(T) error, opts ...StageOption) Sink[Positioned[T]] {
	if ri == nil {
		return failedSink[Positioned[T]](invalid("ForEachAck", "nil RemoteInlet"))
	}
	if f == nil {
		return failedSink[Positioned[T]](invalid("ForEachAck", "nil function"))
	}
	return sink("forEachAck", opts, func(_ *stage, in *inlet[Positioned[T]]) (logic, error) {
		return &ackSink[T]{in: in, f: f, ri: ri, last: -1}, nil
	})
}

type ackSink[T any] struct {
	in   *inlet[Positioned[T]]
	f    func(T) error
	ri   *RemoteInlet
	last int64 // position of the last element handled and not acknowledged; -1: none
	n    int
}

const ackSinkEvery = 32

func (l *ackSink[T]) pump() error {
	defer l.flush()
	for l.in.available() {
		e := l.in.take()
		if err := l.f(e.Value); err != nil {
			// Not acknowledged: if the decider resumes, the next element's
			// acknowledgement (or the sink's completion) covers it.
			return err
		}
		l.last = e.Pos
		if l.n++; l.n >= ackSinkEvery {
			l.flush()
		}
	}
	return nil
}

func (l *ackSink[T]) flush() {
	if l.last >= 0 {
		l.ri.Ack(l.last)
		l.last = -1
	}
	l.n = 0
}

func (l *ackSink[T]) restart() {}
