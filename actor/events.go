package actor

import (
	"sync/atomic"
	"time"

	"github.com/packetflow/packetflow/capability"
)

// Event is anything the runtime publishes on its event stream: a
// *PermissionDenied, *EffectFailed or *ReactorFailed.
type Event interface{ event() }

// PermissionDenied is the audit record of an intent refused by a mailbox.
type PermissionDenied struct {
	At         time.Time
	IntentID   string
	IntentType string
	Kind       string
	Identity   string
	Principal  string
	Missing    []capability.Capability
}

// EffectFailed reports an effect that returned an error or panicked.
type EffectFailed struct {
	At       time.Time
	IntentID string
	Kind     string
	Identity string
	Err      error
}

// ReactorFailed reports a handler panic; the reactor's supervisor decides
// what happens next (by default it restarts from the committed state).
type ReactorFailed struct {
	At       time.Time
	IntentID string
	Kind     string
	Identity string
	Reason   any
}

func (*PermissionDenied) event() {}
func (*EffectFailed) event()     {}
func (*ReactorFailed) event()    {}

// Stats are the runtime's counters since it started.
type Stats struct {
	Handled        uint64 // intents a handler accepted (state committed)
	Failed         uint64 // intents whose handler returned an error or panicked
	Denied         uint64 // intents refused by a capability check
	Unsupported    uint64 // intents of a type the target reactor does not handle
	Rejected       uint64 // intents refused by a plugin or as invalid
	Expired        uint64 // intents whose deadline passed before handling
	EffectsRun     uint64
	EffectsFailed  uint64
	Activations    uint64 // reactor instances activated
	NonIntentDrops uint64 // foreign messages a reactor mailbox refused
}

type counters struct {
	handled, failed, denied, unsupported, rejected, expired atomic.Uint64
	effectsRun, effectsFailed, activations, nonIntent       atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Handled: c.handled.Load(), Failed: c.failed.Load(), Denied: c.denied.Load(),
		Unsupported: c.unsupported.Load(), Rejected: c.rejected.Load(), Expired: c.expired.Load(),
		EffectsRun: c.effectsRun.Load(), EffectsFailed: c.effectsFailed.Load(),
		Activations: c.activations.Load(), NonIntentDrops: c.nonIntent.Load(),
	}
}
