package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	protoactor "github.com/asynkron/protoactor-go/actor"

	"github.com/packetflow/packetflow/stream/streampb"
)

// Restartable remote legs. ToRemoteRestartable is ToRemote for a stream
// that must survive the loss of its subscriber: it numbers the elements it
// sends (their position: 0, 1, 2, ... in the order it receives them from
// upstream), keeps every element not yet acknowledged by the subscriber's
// pipeline (at most Restartable.Window of them, which is backpressure on
// its upstream), and when the subscriber's stage terminates — its member
// died or left — it asks Restartable.Reconnect for a replacement, connects
// to it in a new session and replays from the first unacknowledged
// position. The subscriber must be a FromRemoteAcked source. See doc.go
// ("Restartable streams") for the delivery guarantee.

// DefaultMaxRestarts is Restartable.MaxRestarts's zero meaning.
const DefaultMaxRestarts = 3

// ErrRestartsExhausted fails a restartable stream whose subscriber was lost
// once more after Restartable.MaxRestarts restarts. The error also wraps
// the loss (ErrStageLost).
var ErrRestartsExhausted = errors.New("stream: restartable stream lost its subscriber more often than MaxRestarts allows")

// Restartable declares a remote leg restartable (ToRemoteRestartable).
type Restartable struct {
	// Reconnect returns the PID of the FromRemoteAcked source that replaces
	// a lost one (it may be the same PID, when the subscriber survived a
	// broken connection). It runs on a goroutine of the stage and must
	// return once ctx ends; an error (or a nil PID) fails the pipeline.
	// Required.
	Reconnect func(ctx context.Context) (*protoactor.PID, error)
	// MaxRestarts is how many times the leg may be re-established over the
	// stream's life; the next loss fails the pipeline with
	// ErrRestartsExhausted. Zero: DefaultMaxRestarts.
	MaxRestarts int
	// Backoff is the wait between a loss and the call to Reconnect; it
	// doubles with every restart, up to MaxBackoff. Zero: no wait. The
	// wait runs on Config.Clock.
	Backoff time.Duration
	// MaxBackoff caps the doubled Backoff. Zero: no cap.
	MaxBackoff time.Duration
	// Window is the most elements the publisher holds unacknowledged
	// (sent and not acknowledged, or not sent yet): the bound on its
	// memory, on what a restart replays, and so on the duplicates a
	// subscriber that does not resume by position can see. Stages between
	// FromRemoteAcked and the acknowledging sink must hold fewer elements
	// than Window, or the stream stalls. Zero: 4 × Config.Batch.
	Window int
}

func (r Restartable) check() error {
	switch {
	case r.Reconnect == nil:
		return invalid("ToRemoteRestartable", "nil Restartable.Reconnect")
	case r.MaxRestarts < 0:
		return invalid("ToRemoteRestartable", "Restartable.MaxRestarts %d is negative", r.MaxRestarts)
	case r.Backoff < 0 || r.MaxBackoff < 0:
		return invalid("ToRemoteRestartable", "negative Restartable backoff")
	case r.Window < 0:
		return invalid("ToRemoteRestartable", "Restartable.Window %d is negative", r.Window)
	}
	return nil
}

// backoff is the wait before the restart-th reconnection (1-based).
func (r Restartable) backoff(restart int) time.Duration {
	d := r.Backoff
	for i := 1; i < restart && d > 0; i++ {
		if d > time.Duration(1<<62)/2 {
			break
		}
		d *= 2
		if r.MaxBackoff > 0 && d >= r.MaxBackoff {
			break
		}
	}
	if r.MaxBackoff > 0 && d > r.MaxBackoff {
		d = r.MaxBackoff
	}
	return d
}

// ToRemoteRestartable sends the stream to the FromRemoteAcked source whose
// PID is to, encoding each element with codec, and re-establishes the leg
// with r when that source is lost: see Restartable. Its StageStats count
// the restarts (Restarts), the elements sent again after a restart
// (Replayed) and the elements skipped because a resuming subscriber
// already had them (Dropped).
func ToRemoteRestartable[T any](to *protoactor.PID, codec Codec[T], r Restartable, opts ...StageOption) Sink[T] {
	if to == nil {
		return failedSink[T](invalid("ToRemoteRestartable", "nil PID"))
	}
	if !codec.valid() {
		return failedSink[T](invalid("ToRemoteRestartable", "codec without Encode or Decode"))
	}
	if err := r.check(); err != nil {
		return failedSink[T](err)
	}
	if r.MaxRestarts == 0 {
		r.MaxRestarts = DefaultMaxRestarts
	}
	return sink("toRemoteRestartable", opts, func(s *stage, in *inlet[T]) (logic, error) {
		if r.Window == 0 {
			r.Window = 4 * s.batch
		}
		return &restartablePub[T]{s: s, in: in, codec: codec, r: r, first: to}, nil
	})
}

// pubPhase is where a restartable publisher is with its current subscriber.
type pubPhase uint8

const (
	pubConnecting   pubPhase = iota // Connect sent, waiting for Resume
	pubStreaming                    // Resume received: demand counts
	pubReconnecting                 // subscriber lost: waiting for Reconnect
)

type restartablePub[T any] struct {
	s     *stage
	in    *inlet[T]
	codec Codec[T]
	r     Restartable
	first *protoactor.PID

	peer    *protoactor.PID
	session uint64
	phase   pubPhase
	demand  int64 // the current session's outstanding demand

	// buf holds the encoded elements at positions [next-len(buf), next):
	// every element taken from upstream and not yet acknowledged.
	buf      [][]byte
	next     int64 // position of the next element taken from upstream
	acked    int64 // every position before it is acknowledged (may pass next: skip)
	sent     int64 // next position to send in this session
	highSent int64 // one past the highest position ever sent: below it, a send is a replay

	completeSent bool // Complete sent in this session
	cancelled    bool // the subscriber cancelled
	restarts     int
	lastLoss     error
	timer        Timer
}

// reconnectDue and reconnected drive a restart: the backoff ended, and
// Reconnect returned.
type (
	reconnectDue struct{ session uint64 }
	reconnected  struct {
		session uint64
		pid     *protoactor.PID
		err     error
	}
)

func (*reconnectDue) IgnoreDeadLetterLogging() {}
func (*reconnected) IgnoreDeadLetterLogging()  {}

func (l *restartablePub[T]) start() error {
	l.connect(l.first)
	return nil
}

func (l *restartablePub[T]) connect(pid *protoactor.PID) {
	l.peer = pid
	l.session++
	l.phase = pubConnecting
	l.demand = 0
	l.completeSent = false
	l.s.watch(pid)
	self := l.s.self
	l.s.send(pid, &streampb.Connect{Address: self.Address, Id: self.Id, Session: l.session, Acknowledged: true, Window: int64(l.r.Window)})
}

func (l *restartablePub[T]) base() int64 { return l.next - int64(len(l.buf)) }

// ackTo records that every position before n is acknowledged.
func (l *restartablePub[T]) ackTo(n int64) {
	if n <= l.acked {
		return
	}
	l.acked = n
	base := l.base()
	drop := max(min(n-base, int64(len(l.buf))), 0)
	if unsent := base + drop - max(base, l.highSent); unsent > 0 {
		l.s.stats.dropped.Add(uint64(unsent)) // a resuming subscriber had them
	}
	for i := range drop {
		l.buf[i] = nil
	}
	l.buf = l.buf[drop:]
	if len(l.buf) == 0 {
		l.buf = nil
	}
	l.sent = max(l.sent, l.base())
}

func (l *restartablePub[T]) done() bool {
	return l.cancelled || (l.completeSent && l.acked >= l.next && l.in.completed())
}

func (l *restartablePub[T]) busy() bool { return !l.done() }

func (l *restartablePub[T]) pump() error {
	for int64(len(l.buf)) < int64(l.r.Window) && l.in.available() {
		if l.next < l.acked {
			// A resuming subscriber handled this position already.
			l.in.take()
			l.next++
			l.s.stats.dropped.Add(1)
			continue
		}
		b, err := l.codec.Encode(l.in.take())
		if err != nil {
			return fmt.Errorf("encoding element %d: %w", l.next, err)
		}
		l.buf = append(l.buf, b)
		l.next++
	}
	l.sent = max(l.sent, l.base())
	if l.phase != pubStreaming {
		return nil
	}
	for l.demand > 0 && l.sent < l.next {
		from := l.sent
		n := min(l.demand, l.next-from, int64(l.s.batch))
		off := from - l.base()
		items := make([][]byte, n)
		copy(items, l.buf[off:off+n]) // buf's array is cleared as acks arrive
		l.s.send(l.peer, &streampb.Elements{Items: items, First: from, Session: l.session})
		l.demand -= n
		l.sent += n
		l.s.stats.out.Add(uint64(n))
		if from < l.highSent {
			l.s.stats.replayed.Add(uint64(min(n, l.highSent-from)))
		}
		l.highSent = max(l.highSent, l.sent)
	}
	if !l.completeSent && l.in.completed() && l.sent == l.next {
		l.completeSent = true
		l.s.send(l.peer, &streampb.Complete{Session: l.session})
	}
	return nil
}

func (l *restartablePub[T]) receive(msg any) error {
	switch m := msg.(type) {
	case *streampb.Resume:
		if m.GetSession() != l.session || l.phase != pubConnecting {
			return nil
		}
		if m.GetAcked() < 0 || m.GetAcked() > m.GetNext() {
			l.s.fail(fmt.Errorf("%w: Resume with acked %d, next %d", ErrProtocol, m.GetAcked(), m.GetNext()))
			return nil
		}
		l.ackTo(m.GetAcked())
		// What the subscriber received stays buffered until acknowledged:
		// should it be lost too, its replacement gets it again.
		l.sent = max(l.base(), min(m.GetNext(), l.next))
		l.phase = pubStreaming
	case *streampb.Demand:
		switch {
		case m.GetSession() == 0:
			l.s.fail(fmt.Errorf("%w: subscriber %v does not acknowledge positions (a restartable stream needs FromRemoteAcked)", ErrProtocol, l.peer))
		case m.GetSession() != l.session:
		case l.phase != pubStreaming:
			l.s.fail(fmt.Errorf("%w: demand before Resume", ErrProtocol))
		case m.GetN() <= 0:
			l.s.fail(ErrInvalidDemand)
		default:
			l.demand = addDemand(l.demand, m.GetN())
		}
	case *streampb.Ack:
		// Acknowledgements are true whatever session they come from; a
		// subscriber acknowledges only what it was sent.
		l.ackTo(min(m.GetNext(), l.highSent))
	case *streampb.Cancel:
		if m.GetSession() == l.session {
			l.cancelled = true
			l.in.cancel()
		}
	case *streampb.Failure:
		l.s.fail(&RemoteError{Message: m.GetMessage()})
	case *peerLost:
		if l.peer != nil && m.pid.Equal(l.peer) && !l.done() {
			l.lost(m.err())
		}
	case *reconnectDue:
		if m.session == l.session && l.phase == pubReconnecting {
			l.reconnect()
		}
	case *reconnected:
		if m.session != l.session || l.phase != pubReconnecting {
			return nil
		}
		switch {
		case m.err != nil:
			l.s.fail(fmt.Errorf("%w: Reconnect after %w: %w", ErrStageLost, l.lastLoss, m.err))
		case m.pid == nil:
			l.s.fail(fmt.Errorf("%w: Reconnect after %w returned no PID", ErrStageLost, l.lastLoss))
		default:
			l.connect(m.pid)
		}
	}
	return nil
}

// lost handles the loss of the current subscriber: a restart, or the
// pipeline's failure once MaxRestarts are used up.
func (l *restartablePub[T]) lost(err error) {
	// The peer is gone: nothing more is sent to it (its watch ended with
	// its Terminated).
	l.peer = nil
	l.phase = pubReconnecting
	if l.restarts >= l.r.MaxRestarts {
		l.s.fail(fmt.Errorf("%w (after %d restarts): %w", ErrRestartsExhausted, l.restarts, err))
		return
	}
	l.restarts++
	l.s.stats.restarts.Add(1)
	l.lastLoss = err
	l.demand = 0
	l.completeSent = false
	l.sent = l.base() // replay everything unacknowledged
	session := l.session
	if d := l.r.backoff(l.restarts); d > 0 {
		l.timer = l.s.clock.AfterFunc(d, func() { l.s.tell(&reconnectDue{session: session}) })
		return
	}
	l.reconnect()
}

// reconnect calls Reconnect on a goroutine of the stage.
func (l *restartablePub[T]) reconnect() {
	session, f := l.session, l.r.Reconnect
	l.s.goWork(func(ctx context.Context) {
		pid, err := callReconnect(ctx, f)
		l.s.tell(&reconnected{session: session, pid: pid, err: err})
	})
}

func callReconnect(ctx context.Context, f func(context.Context) (*protoactor.PID, error)) (pid *protoactor.PID, err error) {
	defer func() {
		if r := recover(); r != nil {
			pid, err = nil, &PanicError{Value: r}
		}
	}()
	return f(ctx)
}

func (l *restartablePub[T]) failed(err error) {
	if l.peer != nil && l.phase != pubReconnecting {
		l.s.send(l.peer, &streampb.Failure{Message: err.Error()})
	}
}

func (l *restartablePub[T]) restart() {}

func (l *restartablePub[T]) stop() {
	if l.timer != nil {
		l.timer.Stop()
	}
}
