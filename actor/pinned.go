package actor

import (
	"fmt"

	"github.com/packetflow/packetflow/intent"
)

// Activation is the live instance a handler runs in: one activation of a
// reactor (kind, identity), from its first intent until it stops. Packages
// that keep machinery per activation (temporal's reactor timers) use it to
// send intents back to exactly this activation and to learn when it stops.
// It is comparable, so it can key a map; the zero Activation is none.
type Activation struct{ mb *checkedMailbox }

// Activation is the activation handling the intent.
func (c *Call) Activation() Activation { return Activation{c.mb} }

var (
	// errActivationStopped answers an intent pinned to an activation that
	// stopped before handling it.
	errActivationStopped = fmt.Errorf("%w: the reactor activation it was posted to has stopped", intent.ErrUnavailable)
	// errNotAdmitted answers an intent whose admit function declined it.
	errNotAdmitted = fmt.Errorf("%w: declined by its activation", intent.ErrNotApplied)
)

// Post sends env, which must address this activation's reactor, to this
// activation and no other: it passes the capability check like any intent,
// but it is never re-routed, so if the activation has stopped Post returns
// an error wrapping intent.ErrUnavailable, and if it stops with env queued
// env is dropped. admit, when not nil, runs on the activation's goroutine
// just before the handler would; false drops env unhandled (a tick of a
// timer cancelled since it was queued). env gets no reply: it is one-way.
func (a Activation) Post(env *intent.Envelope, admit func() bool) error {
	if a.mb == nil {
		return fmt.Errorf("%w: no activation", intent.ErrInvalid)
	}
	if env == nil || env.Type == nil || env.Message == nil {
		return fmt.Errorf("%w: envelope without a resolved type or a message", intent.ErrInvalid)
	}
	identity, err := env.Type.Identity(env.Message)
	if err != nil {
		return err
	}
	if env.Type.Kind() != a.mb.kind.name || identity != a.mb.identity {
		return fmt.Errorf("%w: intent for %s/%s posted to activation %s/%s", intent.ErrInvalid, env.Type.Kind(), identity, a.mb.kind.name, a.mb.identity)
	}
	if admit == nil {
		admit = func() bool { return true }
	}
	return a.mb.post(&delivery{env: env, admit: admit})
}

// OnStop registers f to run, on the activation's goroutine, when the
// activation stops (not when it restarts after a panic: that is the same
// activation). Call it only from a handler running in this activation.
func (a Activation) OnStop(f func()) {
	if a.mb != nil && f != nil {
		a.mb.onStop = append(a.mb.onStop, f)
	}
}

// Stopped reports whether the activation is stopping or has stopped.
func (a Activation) Stopped() bool { return a.mb == nil || a.mb.closed.Load() }

// stopped runs the OnStop functions, once.
func (m *checkedMailbox) stopped() {
	fs := m.onStop
	m.onStop = nil
	for _, f := range fs {
		f()
	}
}
