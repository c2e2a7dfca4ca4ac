package temporal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/packetflow/packetflow/capability"
	"github.com/packetflow/packetflow/intent"
)

// ErrOutsideWindow: an intent was refused because a time constraint on
// its type or on the grants it needs does not hold now. Every
// *ConstraintError matches it.
var ErrOutsideWindow = errors.New("temporal: outside the allowed time")

// ConstraintError reports an intent refused by a time constraint. When the
// constraint is on grants, it also matches capability.ErrPermissionDenied
// and Missing lists what the remaining grants do not cover.
type ConstraintError struct {
	IntentType string
	Constraint string
	At         time.Time
	Missing    []capability.Capability
}

func (e *ConstraintError) Error() string {
	if len(e.Missing) > 0 {
		return fmt.Sprintf("permission denied: %s: grants usable only %q, not at %s: missing %v", e.IntentType, e.Constraint, e.At.Format(time.RFC3339), e.Missing)
	}
	return fmt.Sprintf("%v: %s may be sent only %q, not at %s", ErrOutsideWindow, e.IntentType, e.Constraint, e.At.Format(time.RFC3339))
}

// Unwrap returns ErrOutsideWindow.
func (e *ConstraintError) Unwrap() error { return ErrOutsideWindow }

// Is matches capability.ErrPermissionDenied for a constraint on grants.
func (e *ConstraintError) Is(target error) bool {
	return target == capability.ErrPermissionDenied && len(e.Missing) > 0
}

// Policy holds the time constraints of a node: on intent types (an intent
// of the type is handled only when the constraint holds) and on grants (a
// grant of a capability is usable only when the constraint holds; other
// grants the caller holds still count). Its Plugin enforces them on every
// intent that enters the node's runtime, before routing, against the
// policy's clock with its skew tolerance. Safe for concurrent use; rules
// added after the plugin is registered apply to later intents.
type Policy struct {
	clock Clock
	skew  time.Duration

	// mu guards the rules.
	mu     sync.RWMutex
	byType map[string]*Constraint
	grants []grantRule
}

type grantRule struct {
	capability capability.Capability
	constraint *Constraint
}

// MaxSkew bounds a Policy's skew tolerance.
const MaxSkew = time.Hour

// NewPolicy returns an empty policy checked against clock (nil: the real
// clock), allowing skew of clock difference between members (0 to
// MaxSkew).
func NewPolicy(clock Clock, skew time.Duration) (*Policy, error) {
	if skew < 0 || skew > MaxSkew {
		return nil, fmt.Errorf("%w: skew tolerance %v is not between 0 and %v", ErrInvalid, skew, MaxSkew)
	}
	return &Policy{clock: orReal(clock), skew: skew, byType: map[string]*Constraint{}}, nil
}

// Intent constrains the intent type typeName (its full protobuf name). A
// constraint that does not parse is an error and adds nothing.
func (p *Policy) Intent(typeName, constraint string) error {
	c, err := ParseConstraint(constraint)
	if err != nil {
		return err
	}
	if typeName == "" {
		return fmt.Errorf("%w: constraint %q on an intent type without a name", ErrInvalid, constraint)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byType[typeName] = c
	return nil
}

// Grant constrains grants of capability (text form): a grant with the same
// domain and operation whose resource the capability's covers is usable
// only when the constraint holds. Grants of other operations, even ones
// that imply it, are not constrained.
func (p *Policy) Grant(capabilityText, constraint string) error {
	c, err := ParseConstraint(constraint)
	if err != nil {
		return err
	}
	cp, err := capability.Parse(capabilityText)
	if err != nil {
		return fmt.Errorf("%w: constraint %q: %w", ErrInvalid, constraint, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.grants = append(p.grants, grantRule{capability: cp, constraint: c})
	return nil
}

// Plugin is the policy as an intent plugin, to register in the runtime's
// plugins (Runtime.Plugins().Register). It runs early (priority -100).
func (p *Policy) Plugin() intent.Plugin {
	return intent.Plugin{Name: "temporal.constraints", Priority: -100, Validate: p.validate}
}

func (p *Policy) validate(_ context.Context, env *intent.Envelope) error {
	if env.Type == nil {
		return nil
	}
	p.mu.RLock()
	typeRule, grants := p.byType[env.Type.Name()], p.grants
	p.mu.RUnlock()
	if typeRule == nil && len(grants) == 0 {
		return nil
	}
	now := p.clock.Now()
	if typeRule != nil && !typeRule.Allows(now, p.skew) {
		return &ConstraintError{IntentType: env.Type.Name(), Constraint: typeRule.String(), At: now}
	}
	if len(grants) == 0 || env.Context == nil {
		return nil
	}
	reqs, err := env.Type.Requirements(env.Message)
	if err != nil || !env.Context.Grants.Satisfies(reqs, now) {
		return nil // the mailbox refuses it, and says why
	}
	var broken *grantRule
	usable := env.Context.Grants.Filter(func(g capability.Grant) bool {
		for i := range grants {
			r := &grants[i]
			if r.matches(g.Capability) && !r.constraint.Allows(now, p.skew) {
				broken = r
				return false
			}
		}
		return true
	})
	if broken == nil || usable.Satisfies(reqs, now) {
		return nil
	}
	return &ConstraintError{IntentType: env.Type.Name(), Constraint: broken.constraint.String(), At: now, Missing: usable.Missing(reqs, now)}
}

func (r *grantRule) matches(g capability.Capability) bool {
	return g.Domain == r.capability.Domain && g.Op == r.capability.Op && capability.Covers(r.capability.Resource, g.Resource)
}
