package stream

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Probe is a sink driven by hand, for tests of stages and of the protocol
// (like Akka's TestSink): it requests only what Request asks, exactly as
// asked — including n <= 0, which its upstream must answer with
// ErrInvalidDemand — and keeps what arrives for Next. It checks the
// upstream never sends more than requested (ErrProtocol fails the run).
type Probe[T any] struct {
	// mu guards the fields below.
	mu       sync.Mutex
	s        *stage // of the latest run
	items    []T
	err      error // the terminal signal: io.EOF once completed
	received int64
	changed  chan struct{} // closed and replaced on every change
}

// ProbeSink returns a sink and the probe that drives it. The probe follows
// the latest run of the sink.
func ProbeSink[T any]() (Sink[T], *Probe[T]) {
	pr := &Probe[T]{changed: make(chan struct{})}
	return sink("probe", nil, func(s *stage, in *inlet[T]) (logic, error) {
		in.manual = true
		pr.mu.Lock()
		pr.s, pr.items, pr.err, pr.received = s, nil, nil, 0
		pr.mu.Unlock()
		return &probeLogic[T]{pr: pr, in: in}, nil
	}), pr
}

type (
	probeRequest struct{ n int64 }
	probeCancel  struct{}
)

func (*probeRequest) IgnoreDeadLetterLogging() {}
func (*probeCancel) IgnoreDeadLetterLogging()  {}

// Request sends request(n) upstream, as is.
func (pr *Probe[T]) Request(n int64) { pr.tell(&probeRequest{n: n}) }

// Cancel cancels the subscription; calling it again does nothing more.
func (pr *Probe[T]) Cancel() { pr.tell(&probeCancel{}) }

func (pr *Probe[T]) tell(msg any) {
	pr.mu.Lock()
	s := pr.s
	pr.mu.Unlock()
	if s != nil && s.self != nil {
		s.tell(msg)
	}
}

// Received reports how many elements arrived.
func (pr *Probe[T]) Received() int64 {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return pr.received
}

// Next returns the next element that arrived, waiting for one until ctx
// ends. After the last element it returns io.EOF if the stream completed,
// or the error it failed with (also when the pipeline was stopped before
// the signal reached the probe).
func (pr *Probe[T]) Next(ctx context.Context) (T, error) {
	var zero T
	for {
		pr.mu.Lock()
		if len(pr.items) > 0 {
			x := pr.items[0]
			pr.items = pr.items[1:]
			pr.mu.Unlock()
			return x, nil
		}
		err, changed, s := pr.err, pr.changed, pr.s
		pr.mu.Unlock()
		if err != nil {
			return zero, err
		}
		var done <-chan struct{}
		if s != nil {
			done = s.p.done
		}
		select {
		case <-changed:
		case <-done:
			pr.mu.Lock()
			if pr.err == nil && len(pr.items) == 0 {
				pr.err = s.p.Err()
				if pr.err == nil {
					pr.err = io.EOF
				}
			}
			pr.mu.Unlock()
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

// ExpectEnd waits for the terminal signal and returns nil for completion,
// the error otherwise; an element arriving instead is an error.
func (pr *Probe[T]) ExpectEnd(ctx context.Context) error {
	x, err := pr.Next(ctx)
	if err == nil {
		return errors.New("stream: probe: an element arrived, not the end: " + anyString(x))
	}
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

func (pr *Probe[T]) record(items []T, end error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	pr.items = append(pr.items, items...)
	pr.received += int64(len(items))
	if end != nil && pr.err == nil {
		pr.err = end
	}
	close(pr.changed)
	pr.changed = make(chan struct{})
}

type probeLogic[T any] struct {
	pr *Probe[T]
	in *inlet[T]
}

func (l *probeLogic[T]) receive(msg any) error {
	switch m := msg.(type) {
	case *probeRequest:
		if l.in.state == portOpen && l.in.link != nil {
			if m.n > 0 {
				l.in.outstanding = addDemand(l.in.outstanding, m.n)
			}
			l.in.link.request(m.n)
		}
	case *probeCancel:
		l.in.cancel()
	}
	return nil
}

func (l *probeLogic[T]) pump() error {
	var got []T
	for l.in.available() {
		got = append(got, l.in.take())
	}
	var end error
	if l.in.completed() {
		end = io.EOF
	}
	if len(got) > 0 || end != nil {
		l.pr.record(got, end)
	}
	return nil
}

func (l *probeLogic[T]) restart() {}

// failed records the error the stage fails with.
func (l *probeLogic[T]) failed(err error) { l.pr.record(nil, err) }
