package intent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

var (
	// ErrPluginNotFound is returned (wrapped) by Plugins.Unregister for a name
	// that is not registered.
	ErrPluginNotFound = errors.New("intent: plugin not found")
	// ErrPluginExists is returned (wrapped) by Plugins.Register for a name
	// that is already registered.
	ErrPluginExists = errors.New("intent: plugin already registered")
	// ErrInvalidPlugin is returned (wrapped) by Plugins.Register for a plugin
	// without a name, without a Validate or Transform function, or with an
	// empty type name in Types.
	ErrInvalidPlugin = errors.New("intent: invalid plugin")
)

// errNilEnvelope is returned by Plugins.Apply for a nil envelope.
var errNilEnvelope = errors.New("intent: apply plugins: nil envelope")

// Plugin validates and/or transforms intents before they are routed. Plugins
// run in ascending Priority; plugins of equal priority run in registration
// order. For each matching plugin Validate runs first, then Transform.
//
// Validate and Transform may be called from many goroutines at once and must
// be safe for concurrent use. Neither may modify the envelope it is given:
// the caller may still hold it. A transformer that changes anything returns a
// new envelope, typically starting from e.Clone().
type Plugin struct {
	// Name identifies the plugin in Plugins and in rejections; required and
	// unique within one Plugins.
	Name string
	// Priority orders plugins: lower runs first. Zero is an ordinary
	// priority; negative values run before it.
	Priority int
	// Types lists the intent type names (Envelope.Type.Name()) the plugin
	// applies to. Empty means every intent type; an envelope without a type
	// matches only plugins with empty Types.
	Types []string
	// Validate rejects an intent by returning an error; nil accepts it.
	// Optional, but a plugin needs Validate or Transform.
	Validate func(ctx context.Context, e *Envelope) error
	// Transform returns the envelope that continues in place of e, or an
	// error that rejects the intent. Returning nil, an envelope whose Message
	// is nil, or an envelope acting for a different principal or with a
	// different grant set (Context.Grants must be the same *GrantSet) is a
	// rejection too: plugins shape intents, they never change who may do
	// what. Optional, but a plugin needs Validate or Transform.
	Transform func(ctx context.Context, e *Envelope) (*Envelope, error)
}

// RejectedError reports that a plugin refused an intent: its validator or
// transformer returned an error, its transformer returned an unusable
// envelope, or it panicked.
type RejectedError struct {
	// Plugin is the name of the plugin that rejected the intent.
	Plugin string
	// Reason is why: the plugin's own error, or one describing the bad
	// envelope or the panic.
	Reason error
}

// Error returns `intent: rejected by plugin "name": reason`.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("intent: rejected by plugin %q: %v", e.Plugin, e.Reason)
}

// Unwrap returns the reason.
func (e *RejectedError) Unwrap() error { return e.Reason }

// Plugins is a set of plugins that can change while intents flow through
// it. Register and Unregister may be called at any time from any goroutine;
// Apply never waits for them (readers take no lock: the set is an immutable
// sorted slice replaced on each change). An Apply that started before a
// change finishes with the plugins it started with.
//
// The zero value is an empty set ready to use. A Plugins must not be copied
// after first use.
type Plugins struct {
	// mu serialises writers; readers only load current.
	mu      sync.Mutex
	nextSeq uint64

	// current is the immutable run order; nil means no plugins.
	current atomic.Pointer[[]registeredPlugin]
}

// registeredPlugin is a plugin with its registration sequence number, which
// breaks ties between equal priorities.
type registeredPlugin struct {
	Plugin
	seq uint64
}

// Register adds p. It fails, wrapping ErrInvalidPlugin, if p has no name,
// has neither Validate nor Transform, or lists an empty type name, and,
// wrapping ErrPluginExists, if a plugin of that name is registered. p.Types
// is copied, so the caller may reuse it.
func (ps *Plugins) Register(p Plugin) error {
	switch {
	case p.Name == "":
		return fmt.Errorf("%w: plugin has no name", ErrInvalidPlugin)
	case p.Validate == nil && p.Transform == nil:
		return fmt.Errorf("%w: plugin %q has neither Validate nor Transform", ErrInvalidPlugin, p.Name)
	case slices.Contains(p.Types, ""):
		return fmt.Errorf("%w: plugin %q lists an empty intent type name", ErrInvalidPlugin, p.Name)
	}
	p.Types = slices.Clone(p.Types)

	ps.mu.Lock()
	defer ps.mu.Unlock()
	old := ps.load()
	if slices.ContainsFunc(old, func(r registeredPlugin) bool { return r.Name == p.Name }) {
		return fmt.Errorf("%w: %q", ErrPluginExists, p.Name)
	}
	next := make([]registeredPlugin, len(old), len(old)+1)
	copy(next, old)
	next = append(next, registeredPlugin{Plugin: p, seq: ps.nextSeq})
	ps.nextSeq++
	slices.SortStableFunc(next, func(a, b registeredPlugin) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.seq, b.seq))
	})
	ps.current.Store(&next)
	return nil
}

// Unregister removes the plugin called name; an error wrapping
// ErrPluginNotFound says there is none. Apply calls already running may
// still run it.
func (ps *Plugins) Unregister(name string) error {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	old := ps.load()
	i := slices.IndexFunc(old, func(r registeredPlugin) bool { return r.Name == name })
	if i < 0 {
		return fmt.Errorf("%w: %q", ErrPluginNotFound, name)
	}
	if len(old) == 1 {
		ps.current.Store(nil)
		return nil
	}
	next := slices.Concat(old[:i], old[i+1:])
	ps.current.Store(&next)
	return nil
}

// List returns the names of the registered plugins in the order Apply runs
// them.
func (ps *Plugins) List() []string {
	current := ps.load()
	names := make([]string, len(current))
	for i, r := range current {
		names[i] = r.Name
	}
	return names
}

// Apply runs every plugin that matches e's type, in order, each one's
// Validate then its Transform, and returns the envelope that comes out of
// the last transformer (e itself if none ran). The first rejection stops it
// and is returned as a *RejectedError naming the plugin; a panicking plugin
// is recovered and reported the same way. If ctx is done before a plugin
// runs, Apply returns ctx.Err().
//
// Apply never modifies e. With no plugins registered it returns e without
// allocating.
func (ps *Plugins) Apply(ctx context.Context, e *Envelope) (*Envelope, error) {
	if e == nil {
		return nil, errNilEnvelope
	}
	current := ps.current.Load()
	if current == nil {
		return e, nil
	}
	for i := range *current {
		p := &(*current)[i]
		if !p.matches(e) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		next, err := p.run(ctx, e)
		if err != nil {
			return nil, &RejectedError{Plugin: p.Name, Reason: err}
		}
		e = next
	}
	return e, nil
}

// load returns the current run order (nil when empty). Callers must not
// modify it.
func (ps *Plugins) load() []registeredPlugin {
	if current := ps.current.Load(); current != nil {
		return *current
	}
	return nil
}

// matches reports whether p applies to e's intent type.
func (p *registeredPlugin) matches(e *Envelope) bool {
	if len(p.Types) == 0 {
		return true
	}
	if e.Type == nil {
		return false
	}
	return slices.Contains(p.Types, e.Type.Name())
}

// run validates then transforms e, turning a panic into an error.
func (p *registeredPlugin) run(ctx context.Context, e *Envelope) (out *Envelope, err error) {
	defer func() {
		if r := recover(); r != nil {
			out = nil
			if rerr, ok := r.(error); ok {
				err = fmt.Errorf("panic: %w", rerr)
			} else {
				err = fmt.Errorf("panic: %v", r)
			}
		}
	}()
	if p.Validate != nil {
		if err := p.Validate(ctx, e); err != nil {
			return nil, err
		}
	}
	if p.Transform == nil {
		return e, nil
	}
	out, err = p.Transform(ctx, e)
	switch {
	case err != nil:
		return nil, err
	case out == nil:
		return nil, errors.New("transformer returned no envelope")
	case out.Message == nil:
		return nil, errors.New("transformer removed the intent's message")
	case out.Context.principal() != e.Context.principal():
		return nil, errors.New("transformer changed the intent's principal")
	case out.Context.grants() != e.Context.grants():
		return nil, errors.New("transformer changed the intent's grants")
	case out.Type != e.Type:
		return nil, errors.New("transformer changed the intent's type")
	case out.Type != nil && out.Type.check(out.Message) != nil:
		return nil, fmt.Errorf("transformer replaced the message with a %T, which is not a %s", out.Message, out.Type.Name())
	}
	return out, nil
}

// Clone returns a copy of e that a transformer may change: the struct is
// copied and so is the Metadata map. Message, Type and Context are shared
// with e, not copied: replace them rather than modifying them. A nil
// envelope clones to nil.
func (e *Envelope) Clone() *Envelope {
	if e == nil {
		return nil
	}
	out := *e
	out.Metadata = maps.Clone(e.Metadata)
	return &out
}
