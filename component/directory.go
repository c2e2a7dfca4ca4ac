package component

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"

	"github.com/packetflow/packetflow/component/componentpb"
)

// Entry describes a component as its member registered it.
type Entry struct {
	ID, Type, Version  string
	Capabilities, Tags []string
	Member             string
	State              string // "running", "stopped", "failed"
	Health             Health
	Queue              int64   // messages waiting in its mailbox
	Weight             float64 // for weighted selection
	Alerts             []string
}

// Address is where the entry's component is reached.
func (e Entry) Address() Address { return Address{Member: e.Member, Component: e.ID} }

func (s *slot) entry(member string) Entry {
	s.mu.Lock()
	state, health := s.state, s.health
	s.mu.Unlock()
	var alerts []string
	for _, a := range s.firing() {
		alerts = append(alerts, a.Rule)
	}
	w := s.def.Weight
	if w == 0 {
		w = 1
	}
	return Entry{ID: s.def.ID, Type: s.def.Type, Version: s.def.Version,
		Capabilities: slices.Clone(s.def.Capabilities), Tags: slices.Clone(s.def.Tags),
		Member: member, State: state, Health: health, Queue: s.queue.Load(), Weight: w, Alerts: alerts}
}

func (e Entry) proto() *componentpb.Entry {
	return &componentpb.Entry{Id: e.ID, Type: e.Type, Version: e.Version, Capabilities: e.Capabilities,
		Tags: e.Tags, Member: e.Member, State: e.State, Health: e.Health.Status.String(),
		HealthDetail: e.Health.Detail, Queue: e.Queue, Weight: e.Weight, Alerts: e.Alerts}
}

func entryOf(p *componentpb.Entry) Entry {
	st := Unknown
	for _, s := range []Status{Healthy, Degraded, Unhealthy} {
		if s.String() == p.GetHealth() {
			st = s
		}
	}
	return Entry{ID: p.GetId(), Type: p.GetType(), Version: p.GetVersion(), Capabilities: p.GetCapabilities(),
		Tags: p.GetTags(), Member: p.GetMember(), State: p.GetState(),
		Health: Health{Status: st, Detail: p.GetHealthDetail()}, Queue: p.GetQueue(), Weight: p.GetWeight(), Alerts: p.GetAlerts()}
}

// Query selects components; zero fields match anything.
type Query struct {
	Type string
	// Version is a semantic-version constraint (">= 1.2, < 2", "^1.4",
	// "~1.2.3"); components without a version never match one.
	Version string
	// Capability and every one of Tags must be among the component's.
	Capability string
	Tags       []string
	// Healthy: only running components whose last check was healthy or
	// degraded.
	Healthy bool
	// Member: only components of that member.
	Member string
}

func (q Query) key() string {
	return fmt.Sprintf("%s|%s|%s|%s|%v|%s", q.Type, q.Version, q.Capability, strings.Join(q.Tags, ","), q.Healthy, q.Member)
}

type matcher struct {
	q          Query
	constraint *semver.Constraints
}

func (q Query) matcher() (*matcher, error) {
	m := &matcher{q: q}
	if q.Version != "" {
		c, err := semver.NewConstraint(q.Version)
		if err != nil {
			return nil, fmt.Errorf("%w: version constraint %q: %v", ErrDefinition, q.Version, err)
		}
		m.constraint = c
	}
	return m, nil
}

func (m *matcher) match(e Entry) bool {
	q := m.q
	switch {
	case q.Type != "" && e.Type != q.Type,
		q.Member != "" && e.Member != q.Member,
		q.Capability != "" && !slices.Contains(e.Capabilities, q.Capability),
		q.Healthy && (e.State != "running" || e.Health.Status != Healthy && e.Health.Status != Degraded):
		return false
	}
	for _, t := range q.Tags {
		if !slices.Contains(e.Tags, t) {
			return false
		}
	}
	if m.constraint != nil {
		v, err := semver.NewVersion(e.Version)
		if err != nil || !m.constraint.Check(v) {
			return false
		}
	}
	return true
}

// Found is the answer to Find: the matching components of every member
// that answered, and the members that did not.
type Found struct {
	Entries     []Entry
	Unreachable map[string]error // by member name
}

// Find returns the components matching q on every live member hosting
// components (this one included), asking each member in parallel within
// ctx. A member declared dead is not asked, so its components drop out of
// the results once the cluster has detected its loss.
func (h *Host) Find(ctx context.Context, q Query) (Found, error) {
	m, err := q.matcher()
	if err != nil {
		return Found{}, err
	}
	members := []string{h.member}
	if r := h.router(); r != nil {
		members = members[:0]
		for _, mem := range r.Members() {
			if slices.Contains(mem.Kinds, ServiceKind) {
				members = append(members, mem.Name)
			}
		}
	}
	if q.Member != "" {
		members = slices.DeleteFunc(members, func(n string) bool { return n != q.Member })
	}
	var mu sync.Mutex
	found := Found{Unreachable: map[string]error{}}
	var wg sync.WaitGroup
	for _, name := range members {
		wg.Go(func() {
			entries, err := h.list(ctx, name)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				found.Unreachable[name] = err
				return
			}
			for _, e := range entries {
				if m.match(e) {
					found.Entries = append(found.Entries, e)
				}
			}
		})
	}
	wg.Wait()
	sort.Slice(found.Entries, func(i, j int) bool {
		a, b := found.Entries[i], found.Entries[j]
		if a.Member != b.Member {
			return a.Member < b.Member
		}
		return a.ID < b.ID
	})
	return found, nil
}

func (h *Host) list(ctx context.Context, member string) ([]Entry, error) {
	if member == h.member {
		return h.Local(), nil
	}
	h.mu.Lock()
	caller := h.caller
	h.mu.Unlock()
	if caller == nil {
		return nil, ErrHostStopped
	}
	reply, err := h.router().Request(ctx, caller, &componentpb.List{Member: member})
	if err != nil {
		return nil, err
	}
	listing, ok := reply.(*componentpb.Listing)
	if !ok {
		return nil, fmt.Errorf("component: member %s answered %T to a listing", member, reply)
	}
	out := make([]Entry, 0, len(listing.GetEntries()))
	for _, p := range listing.GetEntries() {
		out = append(out, entryOf(p))
	}
	return out, nil
}

// Selection picks one of the components a query found.
type Selection int

const (
	RoundRobin  Selection = iota // in turn, per query
	LeastLoaded                  // the shortest mailbox
	Random                       // uniformly
	Weighted                     // at random in proportion to Definition.Weight
)

// Select finds the components matching q and picks one by how. No match is
// ErrNotFound.
func (h *Host) Select(ctx context.Context, q Query, how Selection) (Entry, error) {
	found, err := h.Find(ctx, q)
	if err != nil {
		return Entry{}, err
	}
	return h.pick(found.Entries, q, how)
}

func (h *Host) pick(entries []Entry, q Query, how Selection) (Entry, error) {
	if len(entries) == 0 {
		return Entry{}, fmt.Errorf("%w: no component matches %+v", ErrNotFound, q)
	}
	switch how {
	case LeastLoaded:
		best := entries[0]
		for _, e := range entries[1:] {
			if e.Queue < best.Queue {
				best = e
			}
		}
		return best, nil
	case Random:
		return entries[rand.IntN(len(entries))], nil
	case Weighted:
		total := 0.0
		for _, e := range entries {
			total += e.Weight
		}
		x := rand.Float64() * total
		for _, e := range entries {
			if x < e.Weight {
				return e, nil
			}
			x -= e.Weight
		}
		return entries[len(entries)-1], nil
	default:
		h.mu.Lock()
		k := q.key()
		i := h.rr[k]
		h.rr[k] = i + 1
		h.mu.Unlock()
		return entries[i%uint64(len(entries))], nil
	}
}
