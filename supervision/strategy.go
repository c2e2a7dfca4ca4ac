package supervision

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Directive is what a supervisor does with a failed child.
type Directive int

const (
	// Restart the child (and, by the strategy, its siblings): it starts
	// over from its initial state; a durable reactor reloads its last
	// committed state.
	Restart Directive = iota
	// Resume the child with its state as it was, dropping the message
	// that failed.
	Resume
	// Stop the child for good.
	Stop
	// Escalate: the supervisor fails itself, and its own supervisor
	// decides (restarting a supervisor restarts its whole subtree).
	Escalate
)

func (d Directive) String() string {
	switch d {
	case Restart:
		return "restart"
	case Resume:
		return "resume"
	case Stop:
		return "stop"
	case Escalate:
		return "escalate"
	}
	return fmt.Sprintf("Directive(%d)", int(d))
}

// Kind says which children a restart affects.
type Kind int

const (
	// OneForOne restarts only the failed child.
	OneForOne Kind = iota
	// AllForOne restarts every child of the supervisor.
	AllForOne
	// RestForOne restarts the failed child and every child started after
	// it (those that may depend on it), as in Erlang/OTP. Proto.Actor has
	// no such strategy.
	RestForOne
)

func (k Kind) String() string {
	switch k {
	case OneForOne:
		return "one-for-one"
	case AllForOne:
		return "all-for-one"
	case RestForOne:
		return "rest-for-one"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// PanicError is the reason of a failure whose panic value was not an
// error.
type PanicError struct{ Value any }

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// reasonError turns a failure reason (a panic value) into an error.
func reasonError(reason any) error {
	if err, ok := reason.(error); ok {
		return err
	}
	return &PanicError{Value: reason}
}

// Decider chooses the directive for a failure by its reason (the value the
// child panicked with, as an error).
type Decider func(reason error) Directive

// Rule is one line of a decider built by Decide.
type Rule struct {
	Match     func(reason error) bool
	Directive Directive
}

// On is the rule "a reason that errors.Is target gets d".
func On(target error, d Directive) Rule {
	return Rule{Match: func(err error) bool { return errors.Is(err, target) }, Directive: d}
}

// Decide is a decider that applies the first rule whose Match holds, and
// Restart when none does.
func Decide(rules ...Rule) Decider {
	return func(reason error) Directive {
		for _, r := range rules {
			if r.Match != nil && r.Match(reason) {
				return r.Directive
			}
		}
		return Restart
	}
}

// Intensity bounds restarts, as Erlang/OTP's intensity and period: a
// supervisor that would restart more than MaxRestarts times within Within
// escalates instead (its children are stopped and it fails itself).
type Intensity struct {
	MaxRestarts int
	Within      time.Duration
}

// DefaultIntensity allows 3 restarts within 5 seconds.
var DefaultIntensity = Intensity{MaxRestarts: 3, Within: 5 * time.Second}

// Backoff delays restarts exponentially: the n-th restart of a child
// within the intensity window waits Min·2^(n-1), at most Max, scaled by a
// random factor in [1-Jitter, 1+Jitter] (from the tree's seeded source).
type Backoff struct {
	Min, Max time.Duration
	Jitter   float64 // 0 to 1
}

// delay is the wait before the n-th (1-based) restart.
func (b *Backoff) delay(n int, rng *rand.Rand) time.Duration {
	d := float64(b.Min) * math.Pow(2, float64(n-1))
	if b.Max > 0 && d > float64(b.Max) {
		d = float64(b.Max)
	}
	if b.Jitter > 0 {
		d *= 1 - b.Jitter + 2*b.Jitter*rng.Float64()
	}
	return time.Duration(d)
}

// Strategy is how a supervisor handles its children's failures.
type Strategy struct {
	Kind Kind
	// Decider picks the directive by reason; nil restarts on every
	// failure.
	Decider Decider
	// Intensity bounds restarts; the zero value is DefaultIntensity. A
	// MaxRestarts below zero forbids restarts (the first one escalates).
	Intensity Intensity
	// Backoff, when set, delays each restart.
	Backoff *Backoff
}

func (s Strategy) validate() error {
	switch {
	case s.Kind < OneForOne || s.Kind > RestForOne:
		return fmt.Errorf("unknown strategy kind %d", int(s.Kind))
	case s.Intensity.MaxRestarts > 0 && s.Intensity.Within <= 0:
		return fmt.Errorf("intensity of %d restarts needs a positive window", s.Intensity.MaxRestarts)
	case s.Backoff != nil && (s.Backoff.Min <= 0 || s.Backoff.Max < 0 || s.Backoff.Jitter < 0 || s.Backoff.Jitter > 1):
		return fmt.Errorf("backoff needs Min > 0, Max ≥ 0 and Jitter in [0, 1]")
	}
	return nil
}

func (s Strategy) intensity() Intensity {
	if s.Intensity == (Intensity{}) {
		return DefaultIntensity
	}
	return s.Intensity
}

func (s Strategy) decide(reason error) Directive {
	if s.Decider == nil {
		return Restart
	}
	return s.Decider(reason)
}

// exceeded reports whether n restarts within the window are too many.
func (in Intensity) exceeded(n int) bool { return in.MaxRestarts < 0 || n > in.MaxRestarts }

// restartLog is the recent restarts of a supervisor (for its intensity) or
// of one child (for its backoff).
type restartLog struct{ times []time.Time }

// add records a restart at now, forgets those older than within, and
// returns how many remain, this one included.
func (l *restartLog) add(now time.Time, within time.Duration) int {
	cut := now.Add(-within)
	kept := l.times[:0]
	for _, t := range l.times {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	l.times = append(kept, now)
	return len(l.times)
}

// idle reports whether the log holds no restart within within of now.
func (l *restartLog) idle(now time.Time, within time.Duration) bool {
	return len(l.times) == 0 || !l.times[len(l.times)-1].After(now.Add(-within))
}
