// Package fault injects failures on purpose, for chaos tests of
// supervision: seeded, composable rules that make reactor handlers panic
// or stall, or stop the reactor instance, at a rate or on matching intents. An Injector plugs into
// a runtime as actor.Config.Intercept; it injects nothing until rules are
// set, and every injection is counted.
//
// Faults between members (delay, drop, partition) and of members (kill,
// pause) belong to the transport and the process: cluster/clustertest
// partitions its in-memory network, and the chaos suite kills members.
package fault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/packetflow/packetflow/intent"
)

// Action is what a rule does to a handler it hits.
type Action int

const (
	// Panic makes the handler panic with an *Injected error (the
	// supervisor restarts the instance from its committed state).
	Panic Action = iota
	// Delay stalls the handler for Rule.Delay before it runs.
	Delay
	// Stop stops the reactor instance once it has handled the intent, as
	// an external stop of its actor would; its next intent activates it
	// afresh from its committed state. It needs Injector.StopWith.
	Stop
	// Drop loses the intent on its way to the handler: it is neither
	// handled nor answered, and its caller's deadline answers it.
	Drop
)

func (a Action) String() string {
	switch a {
	case Panic:
		return "panic"
	case Delay:
		return "delay"
	case Stop:
		return "stop"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Rule is one kind of fault: it hits handlers of reactor kind Kind (empty:
// any) handling intents whose type name contains Type (empty: any), with
// probability Rate (0 to 1; 1 hits every match).
type Rule struct {
	Kind   string
	Type   string
	Rate   float64
	Action Action
	Delay  time.Duration // for Delay
}

func (r Rule) validate() error {
	switch {
	case r.Rate < 0 || r.Rate > 1:
		return fmt.Errorf("fault: rate %v is not within [0, 1]", r.Rate)
	case r.Action < Panic || r.Action > Drop:
		return fmt.Errorf("fault: unknown action %d", int(r.Action))
	case r.Action == Delay && (r.Delay <= 0 || r.Delay > time.Minute):
		return fmt.Errorf("fault: delay %v is not within (0, 1m]", r.Delay)
	}
	return nil
}

func (r Rule) String() string {
	s := fmt.Sprintf("%s at rate %g", r.Action, r.Rate)
	if r.Action == Delay {
		s = fmt.Sprintf("delay %v at rate %g", r.Delay, r.Rate)
	}
	if r.Kind != "" {
		s += " on kind " + r.Kind
	}
	if r.Type != "" {
		s += " on intents matching " + r.Type
	}
	return s
}

// Injected is the error an injected panic carries.
type Injected struct {
	Kind, Identity, Intent string
}

// ErrInjected is what every *Injected is (errors.Is).
var ErrInjected = errors.New("fault: injected")

func (e *Injected) Error() string {
	return fmt.Sprintf("fault: injected panic in %s/%s handling %s", e.Kind, e.Identity, e.Intent)
}

// Unwrap returns ErrInjected.
func (e *Injected) Unwrap() error { return ErrInjected }

// Injector decides, from a seeded source, which handlers a fault hits.
// Safe for concurrent use. The zero value is not usable; see New.
type Injector struct {
	seed uint64

	mu     sync.Mutex
	rng    *rand.Rand
	rules  []Rule
	counts map[Action]int64
	sleep  func(time.Duration)
	stop   func(kind, identity string) bool // StopWith
}

// New returns an injector with no rules, seeded with seed.
func New(seed uint64) *Injector {
	return &Injector{seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0xda942042e4dd58b5)),
		counts: map[Action]int64{}, sleep: time.Sleep}
}

// Seed is the injector's seed, to replay a run.
func (in *Injector) Seed() uint64 { return in.seed }

// StopWith gives the injector the way to stop a reactor instance, for
// Stop rules: normally the runtime's Deactivate.
func (in *Injector) StopWith(stop func(kind, identity string) bool) {
	in.mu.Lock()
	in.stop = stop
	in.mu.Unlock()
}

// Set replaces the rules (none: inject nothing). A bad rule changes
// nothing and is an error.
func (in *Injector) Set(rules ...Rule) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range rules {
		if err := r.validate(); err != nil {
			return err
		}
		if r.Action == Stop && in.stop == nil {
			return errors.New("fault: a stop rule needs a way to stop instances (Injector.StopWith)")
		}
	}
	in.rules = append([]Rule(nil), rules...)
	return nil
}

// Rules returns the current rules.
func (in *Injector) Rules() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Rule(nil), in.rules...)
}

// Counts returns how many faults of each action were injected.
func (in *Injector) Counts() map[Action]int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[Action]int64, len(in.counts))
	for a, n := range in.counts {
		out[a] = n
	}
	return out
}

// Intercept is an actor.Config.Intercept: it applies the first rule that
// matches and fires, and reports whether that rule drops the intent.
func (in *Injector) Intercept(kind, identity string, env *intent.Envelope) (drop bool) {
	typ := ""
	if env != nil && env.Type != nil {
		typ = env.Type.Name()
	}
	in.mu.Lock()
	var hit *Rule
	for i := range in.rules {
		r := &in.rules[i]
		if (r.Kind != "" && r.Kind != kind) || (r.Type != "" && !strings.Contains(typ, r.Type)) {
			continue
		}
		if r.Rate >= 1 || in.rng.Float64() < r.Rate {
			hit = r
			break
		}
	}
	var action Action
	var delay time.Duration
	if hit != nil {
		action, delay = hit.Action, hit.Delay
		in.counts[action]++
	}
	sleep, stop := in.sleep, in.stop
	in.mu.Unlock()
	if hit == nil {
		return false
	}
	switch action {
	case Drop:
		return true
	case Delay:
		sleep(delay)
	case Stop:
		// The stop is a system message: the instance handles this
		// intent, then stops.
		stop(kind, identity)
	case Panic:
		panic(&Injected{Kind: kind, Identity: identity, Intent: typ})
	}
	return false
}
