// Package componenttest is a test kit for code built on package component:
// mock components with scripted behaviour, a recorder of lifecycle calls
// and messages with assertions on their order, and test reports in text,
// JSON and JUnit XML.
package componenttest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/packetflow/packetflow/component"
)

// Recorder records what mocks were asked to do, in order: "init a",
// "start a", "stop a", "receive a <message type>". Safe for concurrent use.
type Recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *Recorder) add(call string) {
	r.mu.Lock()
	r.calls = append(r.calls, call)
	r.mu.Unlock()
}

// Calls returns every call so far.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Of returns the calls whose verb is verb ("start", "stop", ...), as the
// component ids.
func (r *Recorder) Of(verb string) []string {
	var out []string
	for _, c := range r.Calls() {
		if v, id, ok := strings.Cut(c, " "); ok && v == verb {
			id, _, _ = strings.Cut(id, " ")
			out = append(out, id)
		}
	}
	return out
}

// InOrder reports whether want occurs in the calls in this order (other
// calls may come between), and if not, why.
func (r *Recorder) InOrder(want ...string) (bool, string) {
	calls := r.Calls()
	i := 0
	for _, c := range calls {
		if i < len(want) && c == want[i] {
			i++
		}
	}
	if i == len(want) {
		return true, ""
	}
	return false, fmt.Sprintf("calls %q lack %q after %q", calls, want[i], want[:i])
}

// AssertOrder fails t unless want occurs in the calls in this order.
func (r *Recorder) AssertOrder(t testing.TB, want ...string) {
	t.Helper()
	if ok, why := r.InOrder(want...); !ok {
		t.Errorf("componenttest: %s", why)
	}
}

// Mock is a component with scripted behaviour. Set its fields before the
// host starts it; a restarted component is a new Mock from the same
// Script (see Script.New), so scripts count calls across restarts.
type Mock struct {
	id     string
	script *Script
}

// Script is what the mocks of one definition do. Errors are returned in
// order, one per call (nil when the list is exhausted); Healths are
// reported in order, the last one repeated.
type Script struct {
	InitErrs, StartErrs, StopErrs []error
	Healths                       []component.Health
	// OnReceive answers a message; nil: reply nothing.
	OnReceive func(ctx context.Context, msg proto.Message) (proto.Message, error)

	rec *Recorder

	mu                   sync.Mutex
	inits, starts, stops int
	health               int
	received             []proto.Message
	instances            int
}

// NewScript returns a script whose mocks record into rec.
func NewScript(rec *Recorder) *Script { return &Script{rec: rec} }

// Definition is a definition of a mock component of type "mock" with this
// script.
func (s *Script) Definition(id string, dependsOn ...string) component.Definition {
	return component.Definition{ID: id, Type: "mock", Version: "1.0.0", DependsOn: dependsOn,
		New: func() component.Component { return s.New(id) }}
}

// New makes one mock instance with this script.
func (s *Script) New(id string) component.Component {
	s.mu.Lock()
	s.instances++
	s.mu.Unlock()
	return &Mock{id: id, script: s}
}

// Instances is how many mocks were made (the first start and each restart).
func (s *Script) Instances() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.instances
}

// Received returns the messages every mock of this script received.
func (s *Script) Received() []proto.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

func next(errs []error, n *int) error {
	i := *n
	*n++
	if i < len(errs) {
		return errs[i]
	}
	return nil
}

func (m *Mock) record(call string) {
	if m.script.rec != nil {
		m.script.rec.add(call)
	}
}

// Init records "init <id>" and returns the next scripted error.
func (m *Mock) Init(context.Context, *component.Env) error {
	m.record("init " + m.id)
	m.script.mu.Lock()
	defer m.script.mu.Unlock()
	return next(m.script.InitErrs, &m.script.inits)
}

// Start records "start <id>" and returns the next scripted error.
func (m *Mock) Start(context.Context) error {
	m.record("start " + m.id)
	m.script.mu.Lock()
	defer m.script.mu.Unlock()
	return next(m.script.StartErrs, &m.script.starts)
}

// Stop records "stop <id>" and returns the next scripted error.
func (m *Mock) Stop(context.Context) error {
	m.record("stop " + m.id)
	m.script.mu.Lock()
	defer m.script.mu.Unlock()
	return next(m.script.StopErrs, &m.script.stops)
}

// Health returns the next scripted health (healthy without a script).
func (m *Mock) Health(context.Context) component.Health {
	m.script.mu.Lock()
	defer m.script.mu.Unlock()
	if len(m.script.Healths) == 0 {
		return component.Health{Status: component.Healthy}
	}
	h := m.script.Healths[min(m.script.health, len(m.script.Healths)-1)]
	m.script.health++
	return h
}

// Receive records "receive <id> <type>" and answers with OnReceive.
func (m *Mock) Receive(ctx context.Context, msg proto.Message) (proto.Message, error) {
	m.record(fmt.Sprintf("receive %s %s", m.id, msg.ProtoReflect().Descriptor().Name()))
	m.script.mu.Lock()
	m.script.received = append(m.script.received, msg)
	on := m.script.OnReceive
	m.script.mu.Unlock()
	if on == nil {
		return nil, nil
	}
	return on(ctx, msg)
}
